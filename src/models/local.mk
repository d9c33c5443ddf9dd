# src/models/local.mk — sources of src/models (see ../shared/DESIGN.md for what belongs here).
libproteindiff_a_SOURCES += src/models/model_opts.h
