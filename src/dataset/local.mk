# src/dataset/local.mk — sources of src/dataset (see DESIGN.md for what belongs here).
