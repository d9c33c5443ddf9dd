#!/bin/sh
# make_dataset_base.sh OUT.h5 — the small valid dataset fuzz_dataset starts every run from:
# `proteindiff featurize` on three real structures (one entry of 1CRN, the short chains of
# 1kqe, 1vii) and an empty file (a /failed row), with 4^3 voxels so the file stays small.
# Needs PROTEINDIFF, top_srcdir and PD_SHARED (as in `make check`).
set -e
out=$1
: "${PD_SHARED:=$top_srcdir/../shared}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/pdfuzzbase.XXXXXX")
trap 'rm -rf "$dir"' EXIT
: > "$dir/empty.pdb"
cat > "$dir/run.cfg" <<CFG
data = { inputs = ["$PD_SHARED/data/pdb/1CRN.cif", "$PD_SHARED/data/pdb/1kqe.cif",
                   "$PD_SHARED/data/pdb/1vii.pdb.gz", "$dir/empty.pdb"];
         dataset = "$dir/base.h5"; valid_fraction = 0.3; test_fraction = 0.3; };
featurize = { min_len = 5; voxel_size = 4; files_per_round = 2; };
CFG
"$top_srcdir/tests/mpirun.sh" 1 "$PROTEINDIFF" featurize "$dir/run.cfg" > "$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
cp "$dir/base.h5" "$out"
