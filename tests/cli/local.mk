# tests/cli/local.mk — the command line: help, run-file errors, collective failure.
CLI_TESTS = tests/cli/help.sh tests/cli/config_errors.sh tests/cli/collective_fail.sh \
	tests/cli/reference_doc.sh tests/cli/fetch_pdb.sh tests/cli/plot_metrics.py
TESTS += $(CLI_TESTS)
EXTRA_DIST += $(CLI_TESTS)
