# tests/design/local.mk — design, evaluate and the whole-pipeline `run` on real structures and
# real ranks, with tiny models trained in the test (tests/design/designlib.sh).
DESIGN_TESTS = tests/design/design.sh tests/design/pipeline.sh
TESTS += $(DESIGN_TESTS)
EXTRA_DIST += $(DESIGN_TESTS) tests/design/designlib.sh
