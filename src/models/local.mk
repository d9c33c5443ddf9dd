# src/models/local.mk — sources of src/models (see ../shared/DESIGN.md for what belongs here).
