# src/train/local.mk — sources of src/train (see ../shared/DESIGN.md for what belongs here).
