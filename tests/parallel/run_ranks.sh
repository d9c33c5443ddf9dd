# tests/parallel/run_ranks.sh — sourced by the MPI tests of this folder: run_ranks NP PROGRAM
# [ARGS...] runs a C test binary on NP real ranks and records a failure (with its output) if
# any rank fails or the run hangs.
. "$top_srcdir/tests/testlib.sh"
: "${PD_TEST_TIMEOUT:=120}"; export PD_TEST_TIMEOUT
run_ranks() {
    np=$1; prog=$2; shift 2
    "$MPIRUN_SH" "$np" "$top_builddir/tests/parallel/$prog" "$@" > "$TMP/out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$prog $* on $np rank(s)"
        grep -v 'checks, 0 failed' "$TMP/out" | sed 's/^/  /'
    elif [ "$rc" -eq 77 ]; then
        echo "skip: $prog on $np rank(s): $(head -1 "$TMP/out")"
        skipped=1
    else
        fail "$prog $* on $np rank(s) (exit $rc)"
        sed 's/^/  | /' "$TMP/out" >&2
    fi
}
