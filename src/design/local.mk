# src/design/local.mk — sources of src/design: design (inverse folding), score, evaluate and
# the trained models they load (docs/architecture.md says which rooms it may include).
libproteindiff_a_SOURCES += \
	src/design/models.c src/design/models.h \
	src/design/designer.c src/design/designer.h \
	src/design/evaluate_pairs.c src/design/evaluate_pairs.h \
	src/design/sequence.c src/design/sequence.h \
	src/design/target.c src/design/target.h \
	src/design/selection.c src/design/selection.h \
	src/design/symmetry.c src/design/symmetry.h \
	src/design/residue_rules.c src/design/residue_rules.h \
	src/design/run_common.c src/design/run_common.h \
	src/design/probs_file.c src/design/probs_file.h \
	src/design/pdb_writer.c src/design/pdb_writer.h \
	src/design/design_journal.c src/design/design_journal.h \
	src/design/design_progress.c src/design/design_progress.h \
	src/design/design_run.c src/design/design_run.h \
	src/design/score_run.c src/design/score_run.h \
	src/design/evaluate.c src/design/evaluate.h \
	src/design/diagnose.c src/design/diagnose.h
