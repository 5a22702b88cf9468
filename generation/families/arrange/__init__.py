"""The arrange family: a melody played by a band in a style (DeepComposer-style), from our trained models."""
