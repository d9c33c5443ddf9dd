#!/bin/sh
# shard.sh — flat-buffer sharding round trips on 1, 3 and 4 real ranks (3: every unit padded).
. "$top_srcdir/tests/parallel/run_ranks.sh"
for np in 1 3 4; do run_ranks "$np" test_shard; done
finish
