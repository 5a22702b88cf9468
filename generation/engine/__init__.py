"""What every family shares: the event RNN, bundles (ours and Magenta's .mag), one sampler, one trainer.

With the families' network and train modules, the only layer that imports TensorFlow.
"""
