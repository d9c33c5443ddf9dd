# tests/design/local.mk — design, evaluate and the whole-pipeline `run` on real structures and
# real ranks, with tiny models trained in the test (tests/design/designlib.sh).
DESIGN_TESTS = tests/design/design.sh tests/design/pipeline.sh tests/design/features.sh tests/design/resume.sh tests/design/design_input.sh tests/design/score.sh
TESTS += $(DESIGN_TESTS)
EXTRA_DIST += $(DESIGN_TESTS) tests/design/designlib.sh tests/data/design-input/README.md \
	tests/data/design-input/plain.pdb tests/data/design-input/protonation.pdb tests/data/design-input/protonation-hid.pdb \
	tests/data/design-input/ligand.pdb tests/data/design-input/two-chains.cif tests/data/design-input/multiletter-chains.cif
# dump_target: the design input of a structure file, for the twin-file and --pdb-out tests.
check_PROGRAMS += tests/design/dump_target
tests_design_dump_target_SOURCES = tests/design/dump_target.c
tests_design_dump_target_LDADD = $(PD_TEST_LDADD)
# Inference within run.memory_budget_mb: design's sampler groups (same bytes), the estimates
# against the arena's peak, a chain too long for the budget on 2 ranks, encode refusing an entry.
TESTS += tests/design/memory.sh
EXTRA_DIST += tests/design/memory.sh
