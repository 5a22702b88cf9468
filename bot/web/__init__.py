"""The aiohttp app: local web chat, JSON API, share pages, and the Slack events endpoint."""
