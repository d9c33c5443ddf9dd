#!/bin/sh
# bench-featurize.sh — end-to-end featurize timing over a folder of structures (default: the
# whole ../shared/data/pdb set): 1 and 2 ranks, without and with gzip (level 4) on the voxels.
# Prints wall time, CPU time of all ranks (user+sys, so a loaded machine can be told apart
# from slow code), the load average before each run, structures/s and residues/s per rank,
# the HDF5 write time and bytes/residue on disk.
# usage: tools/bench/bench-featurize.sh [BUILD_DIR] [INPUT_DIR]   (not a test; takes minutes)
#   PD_BENCH_EXE=/path/to/proteindiff  benchmark another binary (e.g. an older build)
#   PD_BENCH_SETTINGS="1 0;2 0"         "ranks gzip" pairs to run (default "1 0;2 0;1 4;2 4")
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top}
input=${2:-$top/../shared/data/pdb}
exe=${PD_BENCH_EXE:-$build/proteindiff}
[ -x "$exe" ] || { echo "no $exe: build first (or pass the build folder)"; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/pdbench.XXXXXX")
trap 'rm -rf "$out"' EXIT
printf 'data = { inputs = ["%s"]; dataset = "%s/d.h5"; };\n' "$input" "$out" > "$out/run.cfg"
echo "featurize benchmark: $input ($(ls "$input" | wc -l) entries in the folder), $(nproc --all) cores"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS OMPI_MCA_btl
settings=${PD_BENCH_SETTINGS:-"1 0;2 0;1 4;2 4"}
IFS=';'
for setting in $settings; do
    IFS=' '
    set -- $setting
    np=$1; gz=$2
    rm -f "$out/d.h5"
    load=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    : > "$out/cpu"
    # Each rank under its own /usr/bin/time (mpirun does not pass the ranks' rusage up).
    PD_TEST_TIMEOUT=1800 "$top/tests/mpirun.sh" "$np" /usr/bin/time -a -f "%U %S" -o "$out/cpu" "$exe" featurize \
        "$out/run.cfg" --force --set featurize.compression="$gz" --set run.threads=1 > "$out/log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc)
    cpu=$(awk '{ s += $1 + $2 } END { printf "%.1f", s }' "$out/cpu")
    echo "--- $np rank(s), voxel gzip level $gz: exit $rc, wall $wall s, CPU (user+sys, all ranks) $cpu s, load before $load"
    grep -E "^(\[r0\] )?featurize: (done|[0-9.]+ files/s|wrote)" "$out/log" | sed 's/^\[r0\] //; s/^/  /'
    sed -n 's/^\(\[r0\] \)\{0,1\}featurize: \([0-9.]*\) files\/s, \([0-9]*\) residues\/s on \([0-9]*\) rank.*HDF5 writes \([0-9.]*\) s.*/\2 \3 \4 \5/p' "$out/log" |
        awk '{ printf "  per rank: %.2f files/s, %.0f residues/s; HDF5 writes %s s\n", $1 / $3, $2 / $3, $4 }'
done
