#!/bin/sh
# bench-featurize.sh — end-to-end featurize timing over a folder of structures (default: the
# whole ../shared/data/pdb set): 1 and 2 ranks without compression, 2 ranks with gzip on the
# voxels. Prints structures/s, residues/s, the time split and bytes/residue on disk.
# usage: tools/bench/bench-featurize.sh [BUILD_DIR] [INPUT_DIR]   (not a test; takes minutes)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top}
input=${2:-$top/../shared/data/pdb}
exe="$build/proteindiff"
[ -x "$exe" ] || { echo "no $exe: build first (or pass the build folder)"; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/pdbench.XXXXXX")
trap 'rm -rf "$out"' EXIT
printf 'data = { inputs = ["%s"]; dataset = "%s/d.h5"; };\n' "$input" "$out" > "$out/run.cfg"
echo "featurize benchmark: $input ($(ls "$input" | wc -l) entries in the folder), $(nproc --all) cores"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS OMPI_MCA_btl
for setting in "1 0" "2 0" "2 4"; do
    set -- $setting
    np=$1; gz=$2
    rm -f "$out/d.h5"
    start=$(date +%s.%N)
    PD_TEST_TIMEOUT=1800 "$top/tests/mpirun.sh" "$np" "$exe" featurize "$out/run.cfg" --force \
        --set featurize.compression="$gz" --set run.threads=1 > "$out/log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    echo "--- $np rank(s), voxel gzip level $gz: exit $rc, wall $(echo "$end - $start" | bc) s"
    grep -E "^featurize: (done|[0-9.]+ files/s|wrote)" "$out/log" | sed 's/^/  /'
done
