"""The chat grammar shared by every text surface (console, Slack, Teams) and its replies."""
