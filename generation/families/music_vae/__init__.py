"""MusicVAE (Roberts et al. 2018): a variational autoencoder of 2-bar melodies and drum patterns."""
