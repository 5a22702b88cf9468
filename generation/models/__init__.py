"""Model families (one folder each) and what they share: the event RNN, sampling, bundles.

Only this layer imports TensorFlow.
"""
