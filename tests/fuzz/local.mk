# tests/fuzz/local.mk — fuzz targets (libFuzzer, clang). `make fuzz` builds every target with
# -fsanitize=fuzzer,address,undefined and runs each for FUZZ_SECONDS on its seed corpus;
# crashes land in tests/fuzz/crashes/ and belong in tests/fuzz/regressions/<target>/ once fixed.
# `make check` replays every saved input through the normal build (tests/fuzz/replay.c).
# Targets: runfile (run-file loader), structure (structure reader + featurize of one file),
# dataset (dataset reader against a valid file made to lie; base from make_dataset_base.sh).
#   make fuzz FUZZ_SECONDS=300 FUZZ_TARGETS=structure    # one target, five minutes
FUZZ_CC = clang
FUZZ_CXX = clang++
FUZZ_SECONDS = 60
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
FUZZ_RUN_FLAGS = -max_len=65536 -timeout=60 -rss_limit_mb=3072
FUZZ_TARGETS = runfile structure dataset
EXTRA_DIST += tests/fuzz

check_PROGRAMS += tests/fuzz/replay-runfile tests/fuzz/replay-structure tests/fuzz/replay-dataset
tests_fuzz_replay_runfile_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_runfile.c
tests_fuzz_replay_runfile_LDADD = $(PD_TEST_LDADD)
tests_fuzz_replay_structure_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_structure.c
tests_fuzz_replay_structure_LDADD = $(PD_TEST_LDADD)
tests_fuzz_replay_dataset_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_dataset.c
tests_fuzz_replay_dataset_LDADD = $(PD_TEST_LDADD)
TESTS += tests/fuzz/replay_runfile.sh tests/fuzz/replay_structure.sh tests/fuzz/replay_dataset.sh

# The fuzz library: what the targets reach (core, the MPI helpers of parallel/comm.c, structure,
# features, dataset) recompiled with clang and the fuzzer's instrumentation, one object per
# source, rebuilt only when the source or a header it includes changes.
fuzz_objdir = tests/fuzz/obj
fuzz_lib_srcs = $(filter src/core/% src/parallel/comm.c src/structure/% src/features/% src/dataset/%,$(libproteindiff_a_SOURCES))
fuzz_objs = $(patsubst %,$(fuzz_objdir)/%.o,$(filter %.c %.cc,$(fuzz_lib_srcs)))

$(fuzz_objdir)/%.c.o: %.c
	@$(MKDIR_P) $(@D); echo "  FUZZCC   $<"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_FILE_FLAGS) -std=gnu11 $(DEFS) $(AM_CPPFLAGS) -MD -MP -MF $@.d -c $< -o $@
$(fuzz_objdir)/%.cc.o: %.cc
	@$(MKDIR_P) $(@D); echo "  FUZZCXX  $<"
	@$(FUZZ_CXX) $(FUZZ_FLAGS) $(FUZZ_FILE_FLAGS) -std=c++17 $(DEFS) $(AM_CPPFLAGS) -MD -MP -MF $@.d -c $< -o $@
-include $(patsubst %,%.d,$(fuzz_objs))
# clang 14 does not know "f16c" in __builtin_cpu_supports (GCC does): the fuzz build of
# half.c takes its portable path, which gives the same bits.
$(fuzz_objdir)/src/features/half.c.o: FUZZ_FILE_FLAGS = '-D__builtin_cpu_supports(feature)=0'
# gemmi's headers shift negative values left (see src/structure/local.mk): that check is off
# for the shim, as in the --enable-sanitizers build.
$(fuzz_objdir)/src/structure/gemmi_shim.cc.o: FUZZ_FILE_FLAGS = -fno-sanitize=shift-base

tests/fuzz/libfuzzpd.a: $(fuzz_objs)
	@rm -f $@
	$(AM_V_AR)$(AR) rcs $@ $(fuzz_objs)

fuzz-build: tests/fuzz/libfuzzpd.a
	@for t in $(FUZZ_TARGETS); do echo "  FUZZLD   tests/fuzz/fuzz-$$t"; \
	  $(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEFS) $(AM_CPPFLAGS) -x c -std=gnu11 \
	    $(srcdir)/tests/fuzz/fuzz_$$t.c -x none tests/fuzz/libfuzzpd.a $(PD_LIBS) -lgomp \
	    -o tests/fuzz/fuzz-$$t || exit 1; done

# The dataset target starts every run from a small dataset that featurize writes here.
tests/fuzz/dataset-base.h5: proteindiff $(srcdir)/tests/fuzz/make_dataset_base.sh
	@echo "  FEATURIZE $@"
	@top_srcdir='$(abs_top_srcdir)' PROTEINDIFF='$(abs_top_builddir)/proteindiff' \
	  $(SHELL) $(srcdir)/tests/fuzz/make_dataset_base.sh $@

fuzz: fuzz-build tests/fuzz/dataset-base.h5
	@$(MKDIR_P) tests/fuzz/crashes
	@status=0; for t in $(FUZZ_TARGETS); do \
	  $(MKDIR_P) tests/fuzz/work-$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  dirs=tests/fuzz/work-$$t; \
	  for d in $(srcdir)/tests/fuzz/corpus-$$t $(srcdir)/tests/fuzz/regressions/$$t; do \
	    if test -d $$d; then dirs="$$dirs $$d"; fi; done; \
	  extra=; case $$t in structure) extra=$(srcdir)/tests/data/broken;; dataset) extra="-len_control=0 -max_len=250";; esac; \
	  PD_FUZZ_DATASET_BASE=$(abs_top_builddir)/tests/fuzz/dataset-base.h5 \
	  LSAN_OPTIONS=suppressions=$(abs_top_srcdir)/tests/fuzz/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) $(FUZZ_RUN_FLAGS) -artifact_prefix=tests/fuzz/crashes/$$t- \
	    -print_final_stats=1 $$dirs $$extra > tests/fuzz/fuzz-$$t.log 2>&1 || { status=1; tail -20 tests/fuzz/fuzz-$$t.log; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done' tests/fuzz/fuzz-$$t.log; \
	done; ls tests/fuzz/crashes/ 2>/dev/null | sed 's/^/crash: /'; \
	test $$status = 0 && test -z "`ls tests/fuzz/crashes/ 2>/dev/null`"
.PHONY: fuzz fuzz-build
clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(fuzz_objdir) tests/fuzz/libfuzzpd.a tests/fuzz/fuzz-* tests/fuzz/work-* tests/fuzz/crashes tests/fuzz/dataset-base.h5
.PHONY: clean-fuzz
