# tests/fuzz/local.mk — fuzz targets (libFuzzer, clang). `make fuzz` builds every target with
# -fsanitize=fuzzer,address,undefined and runs each for FUZZ_SECONDS on its seed corpus;
# crashes land in tests/fuzz/crashes/ and belong in tests/fuzz/regressions/<target>/ once fixed.
# `make check` replays every saved input through the normal build (tests/fuzz/replay.c).
FUZZ_CC = clang
FUZZ_CXX = clang++
FUZZ_SECONDS = 60
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
FUZZ_TARGETS = runfile
EXTRA_DIST += tests/fuzz

check_PROGRAMS += tests/fuzz/replay-runfile
tests_fuzz_replay_runfile_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_runfile.c
tests_fuzz_replay_runfile_LDADD = $(PD_TEST_LDADD)
TESTS += tests/fuzz/replay_runfile.sh

fuzz_objdir = tests/fuzz/obj
fuzz_c_srcs = $(filter %.c,$(libproteindiff_a_SOURCES))
fuzz_cc_srcs = $(filter %.cc,$(libproteindiff_a_SOURCES))

tests/fuzz/libfuzzpd.a: $(fuzz_c_srcs) $(fuzz_cc_srcs)
	@rm -rf $(fuzz_objdir); $(MKDIR_P) $(fuzz_objdir)
	@for s in $(fuzz_c_srcs); do echo "  FUZZCC   $$s"; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 $(DEFS) $(AM_CPPFLAGS) -c $(srcdir)/$$s \
	    -o $(fuzz_objdir)/`echo $$s | tr / _`.o || exit 1; done
	@for s in $(fuzz_cc_srcs); do echo "  FUZZCXX  $$s"; \
	  $(FUZZ_CXX) $(FUZZ_FLAGS) -std=c++17 $(DEFS) $(AM_CPPFLAGS) -c $(srcdir)/$$s \
	    -o $(fuzz_objdir)/`echo $$s | tr / _`.o || exit 1; done
	$(AM_V_AR)$(AR) rcs $@ $(fuzz_objdir)/*.o

fuzz-build: tests/fuzz/libfuzzpd.a
	@for t in $(FUZZ_TARGETS); do echo "  FUZZLD   tests/fuzz/fuzz-$$t"; \
	  $(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEFS) $(AM_CPPFLAGS) -x c -std=gnu11 \
	    $(srcdir)/tests/fuzz/fuzz_$$t.c -x none tests/fuzz/libfuzzpd.a $(PD_LIBS) -lgomp \
	    -o tests/fuzz/fuzz-$$t || exit 1; done

fuzz: fuzz-build
	@$(MKDIR_P) tests/fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
	  $(MKDIR_P) tests/fuzz/work-$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  LSAN_OPTIONS=suppressions=$(abs_top_srcdir)/tests/fuzz/lsan.supp \
	  tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=tests/fuzz/crashes/$$t- \
	    -print_final_stats=1 tests/fuzz/work-$$t $(srcdir)/tests/fuzz/corpus-$$t \
	    $(srcdir)/tests/fuzz/regressions/$$t 2>&1 | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done' ; \
	done; ls tests/fuzz/crashes/ 2>/dev/null | sed 's/^/crash: /'; test -z "`ls tests/fuzz/crashes/ 2>/dev/null`"
.PHONY: fuzz fuzz-build
clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(fuzz_objdir) tests/fuzz/libfuzzpd.a tests/fuzz/fuzz-* tests/fuzz/work-* tests/fuzz/crashes
.PHONY: clean-fuzz
