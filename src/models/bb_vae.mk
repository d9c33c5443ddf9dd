# src/models/bb_vae.mk — the bb_vae model.
