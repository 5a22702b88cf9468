"""Music data types and conversions: chord symbols, primers, MIDI."""

import warnings

# note-seq imports pydub, which warns at import time that ffmpeg is missing; we never use it for audio.
warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning)
