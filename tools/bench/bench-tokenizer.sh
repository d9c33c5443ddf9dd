#!/bin/sh
# bench-tokenizer.sh — structure-tokenizer training-step time (forward + backward, CPU-default
# model: 3 levels, width 128) of the C model against the PyTorch reference on the same number of
# threads (default 1). Usage: tools/bench/bench-tokenizer.sh BUILD_DIR [BATCH [SIDE [STEPS [THREADS]]]]
# (build the driver first: make -C BUILD_DIR tools/bench/bench-tokenizer).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench-tokenizer.sh BUILD_DIR [BATCH [SIDE [STEPS [THREADS]]]]}
batch=${2:-8}
side=${3:-64}
steps=${4:-3}
threads=${5:-1}
python=${PYTHON_REF:-/usr/bin/python3}
c_line=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$build/tools/bench/bench-tokenizer" "$batch" "$side" "$steps")
t_line=$(OMP_NUM_THREADS=$threads "$python" "$here/bench-tokenizer-torch.py" "$batch" "$side" "$steps" "$threads" 2>/dev/null)
echo "$c_line"
echo "$t_line"
c_ms=$(echo "$c_line" | sed 's/.*step \([0-9.]*\) ms best.*/\1/')
t_ms=$(echo "$t_line" | sed 's/.*step \([0-9.]*\) ms best.*/\1/')
awk -v c="$c_ms" -v t="$t_ms" 'BEGIN { printf "C / torch step time (best): %.2f\n", c / t }'
