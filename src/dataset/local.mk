# src/dataset/local.mk — sources of src/dataset (see DESIGN.md for what belongs here):
# the HDF5 schema, the output-file protocol every proteindiff HDF5 file follows (h5file),
# input expansion, the collective writer, the reader, export and inspect.
libproteindiff_a_SOURCES += \
	src/dataset/schema.h \
	src/dataset/h5util.c src/dataset/h5util.h src/dataset/h5file.c src/dataset/h5file.h \
	src/dataset/h5array.c src/dataset/h5array.h \
	src/dataset/inputs.c src/dataset/inputs.h \
	src/dataset/writer.c src/dataset/writer.h \
	src/dataset/reader.c src/dataset/reader.h
libproteindiff_a_SOURCES += \
	src/dataset/reasons.c src/dataset/reasons.h \
	src/dataset/build.c src/dataset/build.h
libproteindiff_a_SOURCES += \
	src/dataset/export.h src/dataset/export_png.c src/dataset/export_fasta.c \
	src/dataset/inspect.c src/dataset/inspect.h
