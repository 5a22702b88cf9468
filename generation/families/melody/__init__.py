"""Melody RNN (Magenta's basic_rnn, mono_rnn, lookback_rnn, attention_rnn): monophonic melodies from a primer."""
