#!/bin/sh
# cli_doc.sh — docs/cli.md is exactly what tools/gen-cli-doc makes from the binary's --help
# texts (so the CLI reference cannot drift), and the generator covers every listed command.
. "$top_srcdir/tests/testlib.sh"
"$top_srcdir/tools/gen-cli-doc" "$PROTEINDIFF" > "$TMP/cli.md" 2> "$TMP/err" || { fail "gen-cli-doc failed"; cat "$TMP/err" >&2; }
if diff -u "$top_srcdir/docs/cli.md" "$TMP/cli.md" > "$TMP/diff"; then
    pass "docs/cli.md matches the binary's help texts"
else
    fail "docs/cli.md is stale: regenerate with tools/gen-cli-doc ./proteindiff > docs/cli.md"
    head -40 "$TMP/diff" >&2
fi
# Every command named by `proteindiff --help` has its own section with its usage line.
"$PROTEINDIFF" --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && !/^  / { f = 0 }' > "$TMP/commands"
[ -s "$TMP/commands" ] || fail "no commands parsed from proteindiff --help"
while read -r cmd; do
    if grep -q "^## proteindiff $cmd\$" "$TMP/cli.md" && grep -q "^usage: proteindiff $cmd" "$TMP/cli.md"; then
        pass "section and usage for '$cmd'"
    else
        fail "no section or usage line for '$cmd' in the generated page"
    fi
done < "$TMP/commands"
# A broken binary is an error, not an empty page.
if "$top_srcdir/tools/gen-cli-doc" /nonexistent/proteindiff > "$TMP/none.md" 2> "$TMP/none.err"; then
    fail "gen-cli-doc succeeded without a binary"
else
    expect_contains "$TMP/none.err" "build proteindiff" "a missing binary is a clear error"
fi
finish
