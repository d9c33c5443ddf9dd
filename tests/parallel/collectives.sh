#!/bin/sh
# collectives.sh — allreduce, reduce-scatter, all-gather, broadcast against serial sums on 1 to 4
# real ranks (3 is the odd, non-power-of-two case).
. "$top_srcdir/tests/parallel/run_ranks.sh"
for np in 1 2 3 4; do run_ranks "$np" test_collectives; done
finish
