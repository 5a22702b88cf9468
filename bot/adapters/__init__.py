"""Front-end adapters: thin glue between chat platforms and bot.service."""
