# src/structure/local.mk — sources of src/structure (see DESIGN.md for what belongs here):
# the gemmi shim (the only C++), residue tables and ff19SB charges.
libproteindiff_a_SOURCES += \
	src/structure/structure.h src/structure/gemmi_shim.cc \
	src/structure/residues.h src/structure/residues.c \
	src/structure/charges.h src/structure/charges.c src/structure/charges_table.c
