#!/bin/sh
# topology.sh — shard and replica groups on 4 real ranks (S = 1, 2, 4, node) and the S = 3 error.
. "$top_srcdir/tests/parallel/run_ranks.sh"
run_ranks 4 test_topology
finish
