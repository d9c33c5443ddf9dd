# src/design/local.mk — sources of src/design (see ../shared/DESIGN.md for what belongs here).
