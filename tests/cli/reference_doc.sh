#!/bin/sh
# reference_doc.sh — docs/run-file.md is exactly what the schema generates (it cannot drift).
. "$top_srcdir/tests/testlib.sh"
"$PROTEINDIFF" config --reference > "$TMP/ref.md" 2>&1 || fail "config --reference"
if diff -u "$top_srcdir/docs/run-file.md" "$TMP/ref.md" > "$TMP/diff"; then
    pass "docs/run-file.md matches the schema"
else
    fail "docs/run-file.md is stale: regenerate with ./proteindiff config --reference > docs/run-file.md"
    head -40 "$TMP/diff" >&2
fi
finish
