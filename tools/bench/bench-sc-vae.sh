#!/bin/sh
# bench-sc-vae.sh — side-chain VAE training-step time (forward + backward, CPU-default model,
# batch of 256 residues) of the C model against the PyTorch reference, both on the same number
# of threads (default 1). Usage: tools/bench/bench-sc-vae.sh BUILD_DIR [BATCH [STEPS [THREADS]]]
# (build the driver first: make -C BUILD_DIR tools/bench/bench-sc-vae).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench-sc-vae.sh BUILD_DIR [BATCH [STEPS [THREADS]]]}
batch=${2:-256}
steps=${3:-5}
threads=${4:-1}
python=${PYTHON_REF:-/usr/bin/python3}
c_line=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$build/tools/bench/bench-sc-vae" "$batch" "$steps")
t_line=$(OMP_NUM_THREADS=$threads "$python" "$here/bench-sc-vae-torch.py" "$batch" "$steps" "$threads" 2>/dev/null)
echo "$c_line"
echo "$t_line"
c_ms=$(echo "$c_line" | sed 's/.*step \([0-9.]*\) ms best.*/\1/')
t_ms=$(echo "$t_line" | sed 's/.*step \([0-9.]*\) ms best.*/\1/')
awk -v c="$c_ms" -v t="$t_ms" 'BEGIN { printf "C / torch step time (best): %.2f\n", c / t }'
