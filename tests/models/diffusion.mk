# tests/models/diffusion.mk — tests of the diffusion model.
