"""The Slack adapter: slack-bolt (async) behind laurel's own aiohttp route."""
