#!/bin/sh
# valgrind_train.sh — two sc_vae training steps (with validation and a checkpoint) on 1 rank
# under valgrind memcheck: no invalid read or write, no use of uninitialised memory and no
# definite leak from our code (Open MPI start-up noise is in tests/hardening/valgrind.supp).
# Skipped without valgrind and under --enable-sanitizers.
. "$top_srcdir/tests/testlib.sh"
need_shared
command -v valgrind > /dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
[ "${PD_SANITIZERS:-no}" = yes ] && { echo "SKIP: valgrind cannot run an ASan build"; exit 77; }
PD_TEST_TIMEOUT=240; export PD_TEST_TIMEOUT
PDB="$PD_SHARED/data/pdb"
cat > "$TMP/run.cfg" <<CFG
data = { inputs = ["$PDB/1CRN.cif", "$PDB/1bpi.pdb", "$PDB/1aki.cif", "$PDB/1aku.pdb", "$PDB/1AJJ.pdb"];
         dataset = "$TMP/d.h5"; valid_fraction = 0.2; test_fraction = 0.0; };
run = { dir = "$TMP/run"; };
featurize = { min_len = 20; voxel_size = 4; };
model = { sc_vae = { width = 2; latent = 4; }; };
train = { steps = 2; batch_residues = 64; val_every = 2; checkpoint_every = 0; };
CFG
"$MPIRUN_SH" 1 "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/featurize.log" 2>&1 || { fail "featurize"; cat "$TMP/featurize.log" >&2; finish; }
OMPI_MCA_mca_base_component_disable_dlclose=1; export OMPI_MCA_mca_base_component_disable_dlclose
"$MPIRUN_SH" 1 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 \
    --suppressions="$top_srcdir/tests/hardening/valgrind.supp" "$PROTEINDIFF" train "$TMP/run.cfg" --stage sc_vae > "$TMP/log" 2>&1
rc=$?
[ $rc -eq 0 ] && pass "train under valgrind: exit 0, no error" || { fail "valgrind run exited $rc"; grep -A30 -E "Invalid|uninitialised|Conditional|definitely lost in" "$TMP/log" | head -80 >&2; }
expect_contains "$TMP/log" "ERROR SUMMARY: 0 errors" "valgrind counts 0 errors"
expect_contains "$TMP/log" "definitely lost: 0 bytes" "no definite leak"
expect_contains "$TMP/log" "sc_vae validation at step 2" "validation ran"
expect_contains "$TMP/log" "checkpoint: " "a checkpoint was written"
finish
