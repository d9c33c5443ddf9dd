#!/bin/sh
# check-includes.sh — the rule of which room (folder of src/, and cuda/) may include which is
# the table in docs/architecture.md; this test reads it from there and checks every
# `#include "..."` line of src/ and cuda/ against it, failing with FILE:LINE for each arrow
# against the rule. The same document names the rooms that may include <hdf5.h> (the rooms
# that write or read proteindiff's files); an `#include <hdf5.h>` elsewhere fails too. It also
# checks that the rule itself has no cycle, and that the checker catches arrows planted in a
# scratch tree (so it cannot pass by checking nothing).
. "$top_srcdir/tests/testlib.sh"
RULE_DOC="$top_srcdir/docs/architecture.md"
[ -f "$RULE_DOC" ] || { fail "no $RULE_DOC"; finish; }

# The rule: one line per room, "room allowed1 allowed2 ...", from the table rows between the
# include-rule markers ("| `room` | `a`, `b` | what it holds |").
sed -n '/<!-- include-rule: begin -->/,/<!-- include-rule: end -->/p' "$RULE_DOC" |
    grep -E '^\| `[a-z]+` \|' |
    awk -F'|' '{ room = $2; gsub(/[ `]/, "", room); may = $3; gsub(/[`,]/, " ", may);
                 n = split(may, w, " "); line = room;
                 for (i = 1; i <= n; i++) if (w[i] ~ /^[a-z]+$/) line = line " " w[i];
                 print line }' > "$TMP/rule"
[ "$(wc -l < "$TMP/rule")" -ge 5 ] || { fail "no include-rule table found between the markers in $RULE_DOC"; finish; }
echo "the rule (room: may include):"
sed 's/^\([a-z]*\)/  \1:/' "$TMP/rule"
# The rooms that may include <hdf5.h>: the room names on the line between the hdf5-rule markers.
HDF5_ROOMS=$(sed -n '/<!-- hdf5-rule: begin -->/,/<!-- hdf5-rule: end -->/p' "$RULE_DOC" | grep -v '<!--' |
    grep -o '`[a-z]*`' | tr -d '`' | tr '\n' ' ')
HDF5_ROOMS=$(echo $HDF5_ROOMS)
[ -n "$HDF5_ROOMS" ] || { fail "no hdf5-rule line found between the markers in $RULE_DOC"; finish; }
echo "may include <hdf5.h>: $HDF5_ROOMS"

# check_tree ROOT: print one line per arrow against the rule, "FILE:LINE: ...", for every
# #include "..." in ROOT/src and ROOT/cuda. "config.h" is the build's generated configuration.
check_tree() {
    (cd "$1" && find src cuda -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cu' \
        -o -name '*.cuh' \) 2>/dev/null | LC_ALL=C sort) > "$TMP/files"
    [ -s "$TMP/files" ] || { echo "$1: no source files under src/ or cuda/"; return; }
    (cd "$1" && xargs awk -v rulefile="$TMP/rule" -v hdf5_rooms="$HDF5_ROOMS" '
        BEGIN {
            while ((getline l < rulefile) > 0) {
                n = split(l, w, " "); known[w[1]] = 1
                for (i = 2; i <= n; i++) may[w[1], w[i]] = 1
            }
            n = split(hdf5_rooms, w, " ")
            for (i = 1; i <= n; i++) hdf5[w[i]] = 1
        }
        function room_of(path,   p) {
            if (path ~ /^cuda\//) return "cuda"
            if (path ~ /^src\/[^\/]+\//) { p = path; sub(/^src\//, "", p); sub(/\/.*/, "", p); return p }
            return ""
        }
        # dir/../x and ./x resolved, as the preprocessor does for a relative include
        function normalize(path,   n, part, out, k, i) {
            n = split(path, part, "/"); k = 0
            for (i = 1; i <= n; i++) {
                if (part[i] == "." || part[i] == "") continue
                if (part[i] == ".." && k > 0 && out[k] != "..") { k--; continue }
                out[++k] = part[i]
            }
            path = ""
            for (i = 1; i <= k; i++) path = path (i > 1 ? "/" : "") out[i]
            return path
        }
        FNR == 1 { from = room_of(FILENAME); dir = FILENAME; sub(/\/[^\/]*$/, "", dir)
                   if (!(from in known)) print FILENAME ":1: the room \"" from "\" is not in the rule (docs/architecture.md)" }
        /^[ \t]*#[ \t]*include[ \t]*<hdf5\.h>/ {
            if (!(from in hdf5)) print FILENAME ":" FNR ": " from " may not include <hdf5.h> (only " hdf5_rooms "); see docs/architecture.md"
            next
        }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            t = $0; sub(/^[^"]*"/, "", t); sub(/".*$/, "", t)
            if (t == "config.h") next
            if (t ~ /^\.\.?\//) to = room_of(normalize(dir "/" t))
            else if (t !~ /\//) to = from
            else { to = t; sub(/\/.*/, "", to) }
            if (to == from) next
            if (!(to in known)) { print FILENAME ":" FNR ": #include \"" t "\" names no room of the rule"; next }
            if (!((from, to) in may))
                print FILENAME ":" FNR ": " from " may not include " to " (#include \"" t "\"); see docs/architecture.md"
        }' < "$TMP/files")
}

# 1. The rule has no cycle (nn and cuda are one room in two folders, checked as one).
awk '{ a = ($1 == "cuda" ? "nn" : $1); for (i = 2; i <= NF; i++) { b = ($i == "cuda" ? "nn" : $i); if (a != b) print b, a } }' \
    "$TMP/rule" > "$TMP/edges"
if tsort "$TMP/edges" > /dev/null 2> "$TMP/tsort"; then pass "the rule has no cycle"; else fail "the rule has a cycle: $(cat "$TMP/tsort")"; fi

# 2. The tree follows the rule.
check_tree "$top_srcdir" > "$TMP/violations"
n=$(wc -l < "$TMP/files")
if [ -s "$TMP/violations" ]; then
    cat "$TMP/violations" >&2
    fail "$(wc -l < "$TMP/violations") include(s) against the rule in docs/architecture.md"
else
    pass "$n files of src/ and cuda/: every #include \"...\" follows the rule"
fi
[ "$n" -ge 100 ] || fail "only $n source files found under $top_srcdir/src and cuda/"

# 3. Each room's Makefile fragments (src/ROOM/*.mk) list only that room's files.
for mk in "$top_srcdir"/src/*/*.mk; do
    room=$(basename "$(dirname "$mk")")
    awk -v room="$room" -v name="${mk#"$top_srcdir"/}" '{
            sub(/#.*/, "")   # comments may name other rooms
            while (match($0, /src\/[a-z_]+\/[A-Za-z0-9_.]+/)) {
                f = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
                if (index(f, "src/" room "/") != 1) print name ":" NR ": " f
            }
        }' "$mk" >> "$TMP/mk"
done
if [ -s "$TMP/mk" ]; then
    sed 's/$/: a file of another room/' "$TMP/mk" >&2
    fail "a room's Makefile fragment compiles another room's files"
else
    pass "every src/ROOM/*.mk lists only its own room's files"
fi

# 4. The checker catches a planted arrow against the rule, naming its file and line.
mkdir -p "$TMP/tree/src/train" "$TMP/tree/src/design" "$TMP/tree/src/nn" "$TMP/tree/cuda"
printf '/* x.c */\n#include "design/models.h"\n#include "train/stage.h"\n' > "$TMP/tree/src/train/x.c"
printf '/* y.c */\n#include "../train/stage.h"\n' > "$TMP/tree/src/design/y.c"
printf '/* z.cu */\n#include "device.h"\n#include "design/models.h"\n' > "$TMP/tree/cuda/z.cu"
printf '/* w.c */\n#include <stdio.h>\n#include <hdf5.h>\n' > "$TMP/tree/src/nn/w.c"
printf '/* v.c */\n#include <hdf5.h>\n' > "$TMP/tree/src/train/v.c"
check_tree "$TMP/tree" > "$TMP/planted"
expect_contains "$TMP/planted" "src/train/x.c:2: train may not include design" "a planted train -> design include is caught"
expect_contains "$TMP/planted" "cuda/z.cu:3: cuda may not include design" "a planted cuda -> design include is caught"
expect_contains "$TMP/planted" "src/nn/w.c:3: nn may not include <hdf5.h>" "a planted <hdf5.h> in src/nn is caught"
[ "$(wc -l < "$TMP/planted")" -eq 3 ] || { fail "the planted tree gave other lines than the three arrows:"; cat "$TMP/planted" >&2; }
finish
