#!/bin/sh
# check_readme.sh — every command in README.md and docs/walkthrough.md names real proteindiff
# commands, options, run-file keys and repository files (tools/check-readme), and the checker
# really catches each kind of mistake in a Markdown file written here with known errors.
. "$top_srcdir/tests/testlib.sh"
CHECK="$top_srcdir/tools/check-readme"
export PROTEINDIFF

if "$CHECK" "$top_srcdir/README.md" "$top_srcdir/docs/walkthrough.md" > "$TMP/real" 2>&1; then
    pass "README.md and docs/walkthrough.md: $(tail -1 "$TMP/real")"
else
    fail "commands in README.md or docs/walkthrough.md are wrong:"; sed 's/^/  | /' "$TMP/real" >&2
fi

cat > "$TMP/bad.md" <<'MD'
# a page with one mistake of each kind

```sh
mpirun -np 2 build/proteindiff featurize input/quickstart.cfg --bogus
build/proteindiff frob
proteindiff config input/quickstart.cfg \
   --set data.inptus=x
cd tools && ./plot-voxels ../docs/missing.md --frobnicate
```

```
$ ./proteindiff export x.h5 --pgn out
error: this line is output, not a command
```

```python
proteindiff frob   # not a shell block, never checked
```

```sh
build/proteindiff inspect runs/quickstart/dataset.h5   # correct: runs/ is made by running
PROTEINDIFF=build/proteindiff tools/check-jobs
```
MD
"$CHECK" --list "$TMP/bad.md" | sed "s|^$TMP/||" > "$TMP/list"
cat > "$TMP/want" <<'LIST'
bad.md:4: mpirun -np 2 build/proteindiff featurize input/quickstart.cfg --bogus
bad.md:5: build/proteindiff frob
bad.md:6: proteindiff config input/quickstart.cfg  --set data.inptus=x
bad.md:8: cd tools && ./plot-voxels ../docs/missing.md --frobnicate
bad.md:12: ./proteindiff export x.h5 --pgn out
bad.md:21: build/proteindiff inspect runs/quickstart/dataset.h5   # correct: runs/ is made by running
bad.md:22: PROTEINDIFF=build/proteindiff tools/check-jobs
LIST
if diff -u "$TMP/want" "$TMP/list" >&2; then pass "--list extracts shell lines, joins '\\', takes '\$ ' lines, skips output and python"
else fail "--list extracted the wrong commands"; fi

if "$CHECK" "$TMP/bad.md" > "$TMP/out" 2>&1; then fail "check-readme passed a page with 6 mistakes"; else pass "a page with mistakes fails"; fi
expect_contains "$TMP/out" "bad.md:4: 'proteindiff featurize --bogus': no such option" "unknown option (through a build/ path)"
expect_contains "$TMP/out" "bad.md:5: 'proteindiff frob' is not a command" "unknown command"
expect_contains "$TMP/out" "bad.md:6: --set data.inptus: not a run-file key" "unknown run-file key on a continuation line"
expect_contains "$TMP/out" "bad.md:8: '../docs/missing.md' names docs/missing.md, which is not in the repository" "missing file after cd"
expect_contains "$TMP/out" "bad.md:8: 'tools/plot-voxels --frobnicate': no such option" "unknown option of a tools/ script"
expect_contains "$TMP/out" "bad.md:12: 'proteindiff export --pgn'" "option typo in a \$ prompt line"
expect_contains "$TMP/out" "check-readme: 6 problem(s)" "exactly those 6 problems, nothing from the python block or the correct lines"
finish
