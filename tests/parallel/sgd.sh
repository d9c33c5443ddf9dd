#!/bin/sh
# sgd.sh — data-parallel least squares: every strategy on 1, 2, 3 and 4 real ranks reaches the
# serial run's losses and parameters to 1e-5, resumes bit for bit and reshards onto ddp.
. "$top_srcdir/tests/parallel/run_ranks.sh"
run_ranks 1 test_sgd ddp zero1 zero2 fsdp hsdp:1
run_ranks 2 test_sgd ddp zero2 fsdp hsdp:1
run_ranks 3 test_sgd zero1 fsdp
run_ranks 4 test_sgd ddp zero1 zero2 fsdp hsdp:4 hsdp:2 hsdp:1
finish
