# src/pipeline/local.mk — `proteindiff run`: the pipeline over featurize, train, encode and
# evaluate. Its own room, above train and design, which it drives (docs/architecture.md).
libproteindiff_a_SOURCES += src/pipeline/pipeline.c src/pipeline/pipeline.h
