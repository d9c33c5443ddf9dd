#!/bin/sh
# nccl.sh — the NCCL collectives (cuda/nccl_collectives.cu) against the MPI ones on 2 real
# ranks with one GPU each. SKIPs (77) without CUDA in the build or with fewer than 2 GPUs.
bin="$top_builddir/tests/gpu/test_gpu_nccl"
"$bin" --probe || exit $?
exec "$top_srcdir/tests/mpirun.sh" 2 "$bin"
