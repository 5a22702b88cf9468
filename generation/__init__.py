"""Music generation: models, data, rendering. Never imports `bot`."""
