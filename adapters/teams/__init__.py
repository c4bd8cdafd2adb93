"""Microsoft Teams: the Bot Framework adapter. Every botbuilder import lives in this folder."""
