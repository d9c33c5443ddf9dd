# tests/models/sc_vae.mk — tests of the sc_vae model.
