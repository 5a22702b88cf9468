"""Drums RNN: Magenta's drum_kit (9 drum classes, 512-way events, binary counters, attention) and Groove MIDI data."""
