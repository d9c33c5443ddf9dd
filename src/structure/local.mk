# src/structure/local.mk — sources of src/structure (see DESIGN.md for what belongs here).
