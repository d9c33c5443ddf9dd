# src/features/local.mk — sources of src/features (see DESIGN.md for what belongs here).
