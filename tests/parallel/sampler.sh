#!/bin/sh
# sampler.sh — rank-count-independent global batches on the real structures' residue counts,
# on 1, 2 and 4 real ranks.
. "$top_srcdir/tests/parallel/run_ranks.sh"
need_shared
for np in 1 2 4; do run_ranks "$np" test_sampler "$PD_SHARED/data/pdb/MANIFEST.tsv"; done
finish
