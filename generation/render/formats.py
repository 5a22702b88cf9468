"""The audio formats we render to, apart from the renderer so a command's --help offers them without numpy."""

AUDIO_FORMATS = ("ogg", "mp3", "wav")
