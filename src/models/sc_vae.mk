# src/models/sc_vae.mk — the sc_vae model.
