#!/bin/sh
# tools/bench/run-all.sh — `make bench`: every benchmark in one run, so ratios (against
# OpenBLAS sgemm peak, against PyTorch on the same shapes and threads) are measured together.
# Run from the build folder. Results also go to bench-results.txt there.
# PD_SHARED points at ../shared (structures); BENCH_THREADS lists thread counts ("1 2").
set -u
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${PD_SHARED:=$top_srcdir/../shared}"
: "${BENCH_THREADS:=1 2}"
out=bench-results.txt
: > "$out"
run() { # run TITLE COMMAND...
    echo "== $1" | tee -a "$out"; shift
    if [ -x "$1" ] || command -v "$1" >/dev/null 2>&1; then "$@" 2>&1 | tee -a "$out"
    else echo "(skipped: $1 not built)" | tee -a "$out"; fi
}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run "featurize phases (single process)" tools/bench/bench-features "$PD_SHARED/data/pdb"
[ -f "$top_srcdir/tools/bench/bench-featurize.sh" ] && run "featurize end to end (1 and 2 ranks)" sh "$top_srcdir/tools/bench/bench-featurize.sh"
run "NN op set vs sgemm" tools/bench/bench-nn --threads "$BENCH_THREADS"
[ -x /usr/bin/python3 ] && run "NN blocks in PyTorch (same shapes)" /usr/bin/python3 "$top_srcdir/tools/bench/bench-nn-torch.py" --threads "$BENCH_THREADS"
run "conv3d / conv-transpose vs sgemm" tools/bench/bench-conv 256
echo "results in $(pwd)/$out"
