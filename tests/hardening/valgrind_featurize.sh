#!/bin/sh
# valgrind_featurize.sh — `proteindiff featurize` of 3 small structures (mmCIF, gzipped PDB,
# one-residue chains) on 1 rank under valgrind memcheck: no invalid read or write, no use of
# uninitialised memory and no definite leak from our code (Open MPI start-up noise is in
# tests/hardening/valgrind.supp). Skipped without valgrind and under --enable-sanitizers.
. "$top_srcdir/tests/testlib.sh"
need_shared
command -v valgrind > /dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
[ "${PD_SANITIZERS:-no}" = yes ] && { echo "SKIP: valgrind cannot run an ASan build"; exit 77; }
PD_TEST_TIMEOUT=240; export PD_TEST_TIMEOUT
PDB="$PD_SHARED/data/pdb"
cat > "$TMP/run.cfg" <<CFG
data = { inputs = ["$PDB/1CRN.cif", "$PDB/1vii.pdb.gz", "$top_srcdir/tests/data/broken/one-residue-chains.pdb"];
         dataset = "$TMP/d.h5"; };
featurize = { min_len = 1; voxel_size = 4; files_per_round = 2; };
CFG
OMPI_MCA_mca_base_component_disable_dlclose=1; export OMPI_MCA_mca_base_component_disable_dlclose
"$MPIRUN_SH" 1 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 \
    --suppressions="$top_srcdir/tests/hardening/valgrind.supp" "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/log" 2>&1
rc=$?
[ $rc -eq 0 ] && pass "featurize under valgrind: exit 0, no error" || { fail "valgrind run exited $rc"; grep -A30 -E "Invalid|uninitialised|Conditional|definitely lost in" "$TMP/log" | head -80 >&2; }
expect_contains "$TMP/log" "ERROR SUMMARY: 0 errors" "valgrind counts 0 errors"
expect_contains "$TMP/log" "definitely lost: 0 bytes" "no definite leak"
expect_contains "$TMP/log" "featurize: done" "the run finished"
finish
