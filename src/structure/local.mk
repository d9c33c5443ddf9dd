# src/structure/local.mk — sources of src/structure (see DESIGN.md for what belongs here):
# the gemmi shim (the only C++), residue tables and ff19SB charges.
libproteindiff_a_SOURCES += \
	src/structure/structure.h src/structure/gemmi_shim.cc \
	src/structure/residues.h src/structure/residues.c \
	src/structure/charges.h src/structure/charges.c src/structure/charges_table.c
# gemmi 0.5's headers, compiled into the shim, shift negative values left (residue numbers in
# std::hash<ResidueId>, bytes >= 0x80 of record and residue names): undefined before C++20 and
# harmless, but fatal under --enable-sanitizers (-fno-sanitize-recover). That one check is off
# for this object only; every other UBSan check stays on (found by fuzz-structure, issue 12).
src/structure/gemmi_shim.$(OBJEXT): AM_CXXFLAGS += -fno-sanitize=shift-base
