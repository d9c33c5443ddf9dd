# tests/train/trainlib.sh — sourced by the training-engine tests: a small real dataset
# (12 structures of ../shared/data/pdb featurized with 4^3 voxels), a tiny run file, and
# `train NP RUN [ARGS...]`, which runs `proteindiff train` on NP real ranks with run.dir
# $TMP/RUN and leaves the output in $TMP/RUN.log.
. "$top_srcdir/tests/testlib.sh"
need_shared
: "${PD_TEST_TIMEOUT:=120}"; export PD_TEST_TIMEOUT
PY=${PYTHON_REF:-/usr/bin/python3}
COMPARE="$top_srcdir/tests/train/compare_runs.py"
PDB="$PD_SHARED/data/pdb"

make_dataset() {
    files=$(small_structure_set)
    cat > "$TMP/run.cfg" <<CFG
data = { inputs = [$files]; dataset = "$TMP/ds.h5"; valid_fraction = 0.25; test_fraction = 0.0; };
featurize = { voxel_size = 4; };
run = { threads = 1; };
train = { steps = 20; batch_residues = 250; lr = 1e-3; warmup = 3; val_every = 10; log_every = 5;
          checkpoint_every = 10; keep_checkpoints = 5; };
model = { sc_vae = { width = 2; latent = 4; }; };
CFG
    if ! "$PROTEINDIFF" featurize "$TMP/run.cfg" > "$TMP/featurize.log" 2>&1; then
        fail "featurize of the test dataset"
        sed 's/^/  | /' "$TMP/featurize.log" >&2
        finish
    fi
}

# train NP RUN [ARGS...]: exit status of the run; output in $TMP/RUN.log.
train() {
    np=$1; run=$2; shift 2
    "$MPIRUN_SH" "$np" "$PROTEINDIFF" train "$TMP/run.cfg" --set "run.dir=\"$TMP/$run\"" "$@" > "$TMP/$run.log" 2>&1
}

# train_ok NP RUN [ARGS...]: a run that must succeed.
train_ok() {
    np=$1; run=$2
    if train "$@"; then
        pass "train $run on $np rank(s)"
    else
        fail "train $run on $np rank(s) (exit $?)"
        sed 's/^/  | /' "$TMP/$run.log" >&2
    fi
}

# compare MODE STAGE STEP RUN_A RUN_B: compare_runs.py, a failure if they differ.
compare() {
    if out=$("$PY" "$COMPARE" "$@" 2>&1); then
        pass "$out"
    else
        fail "compare_runs.py $*"
        echo "$out" | sed 's/^/  | /' >&2
    fi
}
