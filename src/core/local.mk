# src/core/local.mk — errors, logging, run files, RNG, timers, progress.
libproteindiff_a_SOURCES += \
	src/core/error.c src/core/error.h \
	src/core/log.c src/core/log.h \
	src/core/config.c src/core/config_print.c src/core/config_schema.c src/core/config.h \
	src/core/rng.c src/core/rng.h src/core/half.h \
	src/core/timer.c src/core/timer.h \
	src/core/progress.c src/core/progress.h
