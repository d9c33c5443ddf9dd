#!/bin/sh
# docs_index.sh — docs/index.md has one row, with a description, for every document under docs/
# (so a new page cannot go unlisted), and every relative link in docs/index.md and
# docs/walkthrough.md points to a file that exists.
. "$top_srcdir/tests/testlib.sh"
DOCS="$top_srcdir/docs"
(cd "$DOCS" && find . -name '*.md' ! -name index.md | sed 's|^\./||' | sort) > "$TMP/pages"
[ -s "$TMP/pages" ] || fail "no documents found under $DOCS"
while read -r page; do
    if grep -qE "^\| \[$page\]\($page\) \| .{10,} \|\$" "$DOCS/index.md"; then
        pass "index.md lists $page with a description"
    else
        fail "docs/index.md has no row '| [$page]($page) | what it is for |'"
    fi
done < "$TMP/pages"
for md in index.md walkthrough.md; do
    grep -oE '\]\([^)#]+' "$DOCS/$md" | sed 's/^](//' | grep -vE '^[a-z]+:' | sort -u | while read -r target; do
        if [ -e "$DOCS/$target" ]; then echo "ok: $md links to $target"; else echo "FAIL: $md links to missing $target"; fi
    done
done > "$TMP/links"
cat "$TMP/links"
if grep -q '^FAIL' "$TMP/links"; then fail "broken links"; fi
[ -s "$TMP/links" ] || fail "no links found in index.md and walkthrough.md"
finish
