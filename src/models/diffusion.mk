# src/models/diffusion.mk — the diffusion model.
