# src/cli/local.mk — `proteindiff <command>`: one file per subcommand.
libproteindiff_a_SOURCES += \
	src/cli/app.c src/cli/app.h src/cli/commands.c src/cli/commands.h \
	src/cli/cmd_version.c src/cli/cmd_config.c \
	src/cli/cmd_featurize.c src/cli/cmd_export.c src/cli/cmd_inspect.c \
	src/cli/cmd_train.c src/cli/cmd_encode.c src/cli/cmd_design.c src/cli/cmd_score.c src/cli/cmd_tokenize.c \
	src/cli/cmd_evaluate.c src/cli/cmd_run.c
