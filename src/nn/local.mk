# src/nn/local.mk — sources of src/nn (see DESIGN.md for what belongs here).
