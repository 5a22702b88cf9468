"""Music generation: models, data, rendering. Never imports `bot`."""

import os

# TensorFlow's C++ start-up notices are noise to a CLI user (its errors reach us as exceptions). oneDNN off
# also makes float results match Magenta's golden numbers bit for bit; our small LSTMs run no slower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
