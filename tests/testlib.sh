# tests/testlib.sh — sourced by shell tests: paths, a scratch folder, assertions.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${PROTEINDIFF:=$top_builddir/proteindiff}"
: "${PD_SHARED:=$top_srcdir/../shared}"
MPIRUN_SH="$top_srcdir/tests/mpirun.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pdtest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# expect_contains FILE TEXT DESCRIPTION
expect_contains() { if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no '$2' in output:)"; sed 's/^/  | /' "$1" >&2; fi; }
finish() { if [ "$failures" -eq 0 ]; then exit 0; else echo "$failures check(s) failed" >&2; exit 1; fi; }
need_shared() { [ -d "$PD_SHARED/data/pdb" ] || { echo "SKIP: $PD_SHARED/data/pdb not found"; exit 77; }; }

# small_structure_set: twelve small real structures of ../shared/data/pdb as a libconfig list body
# ("path", "path", ...), for run files of the training and design tests.
small_structure_set() {
    set -- 1CRN.cif 1cbn.cif 1LCD.cif 1bpi.pdb 1tap.pdb 1FAS.cif 1unu.cif 1UCS_A.pdb 1CKB.pdb 1A8O.cif 1vfy.pdb 6MRR.pdb
    _pd_list=""
    for f in "$@"; do _pd_list="$_pd_list${_pd_list:+, }\"$PD_SHARED/data/pdb/$f\""; done
    echo "$_pd_list"
}
