# tests/models/bb_vae.mk — tests of the bb_vae model.
