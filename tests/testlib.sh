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
