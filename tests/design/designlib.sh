# tests/design/designlib.sh — sourced by the design tests: a tiny run file over 12 structures of
# ../shared/data/pdb (4^3 voxels, widths of a few channels, 6 steps per stage, valid and test
# splits of 25 %; run directory and dataset relative to $TMP), and `run_pipeline NP LOG`, which
# runs `proteindiff run` on NP real ranks in $TMP.
. "$top_srcdir/tests/testlib.sh"
need_shared
: "${PD_TEST_TIMEOUT:=120}"; export PD_TEST_TIMEOUT
PY=${PYTHON_REF:-/usr/bin/python3}
PDB="$PD_SHARED/data/pdb"

write_run_file() {
    files=$(small_structure_set)
    cat > "$TMP/run.cfg" <<CFG
run = { dir = "run"; threads = 1; };
data = { inputs = [$files]; dataset = "ds.h5"; valid_fraction = 0.25; test_fraction = 0.25; };
featurize = { voxel_size = 4; };
train = { steps = 6; batch_residues = 250; lr = 1e-3; warmup = 2; val_every = 3; log_every = 3; checkpoint_every = 3; };
model = { sc_vae = { width = 2; latent = 4; };
          bb_vae = { width = 8; layers = 1; neighbors = 8; latent = 4; decoder_layers = 1; heads = 2; };
          diffusion = { depth = 1; width = 16; heads = 2; timesteps = 100; }; };
design = { steps = 10; samples = 2; temperatures = [0.0, 0.5]; };
CFG
}

# run_pipeline NP LOG [ARGS...]: `proteindiff run` on NP ranks in $TMP (the run file's paths are
# relative, as in input/quickstart.cfg); output in $TMP/LOG.
run_pipeline() {
    np=$1; log=$2; shift 2
    (cd "$TMP" && "$MPIRUN_SH" "$np" "$PROTEINDIFF" run run.cfg "$@") > "$TMP/$log" 2>&1
}
