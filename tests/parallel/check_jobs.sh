#!/bin/sh
# check_jobs.sh — the sbatch templates in jobs/ pass tools/check-jobs, and the checker really
# catches what it claims to: a syntax error, an unknown command, an unknown option, an unknown
# run-file key and a value of the wrong type, each reported with file and line.
. "$top_srcdir/tests/testlib.sh"
PROTEINDIFF=${PROTEINDIFF:-$top_builddir/proteindiff}; export PROTEINDIFF
check="$top_srcdir/tools/check-jobs"

if bash "$check" > "$TMP/good" 2>&1; then pass "jobs/*.sbatch pass check-jobs"; else fail "jobs/*.sbatch fail check-jobs:"; sed 's/^/  | /' "$TMP/good" >&2; fi
for t in featurize train-cpu train-gpu design; do
    [ -f "$top_srcdir/jobs/$t.sbatch" ] && pass "jobs/$t.sbatch exists" || fail "jobs/$t.sbatch missing"
done
expect_contains "$top_srcdir/jobs/train-cpu.sbatch" "--signal=B:USR1@" "train-cpu asks for a signal before the wall time"
expect_contains "$top_srcdir/jobs/train-cpu.sbatch" "scontrol requeue" "train-cpu requeues itself"
expect_contains "$top_srcdir/jobs/train-gpu.sbatch" "run.device=cuda" "train-gpu runs on cuda"
expect_contains "$top_srcdir/jobs/train-gpu.sbatch" "NCCL_DEBUG" "train-gpu sets the NCCL variables"

# A template with one mistake per line.
cat > "$TMP/bad.sbatch" <<'BAD'
#!/bin/bash
# bad.sbatch — deliberately wrong, for the checker's test
STAGE=${STAGE:-sc_vae}
srun proteindiff train run.cfg --stage "$STAGE" --resum
srun proteindiff trian run.cfg
proteindiff config run.cfg --set train.stepz=5
proteindiff config run.cfg \
    --set "train.$STAGE.steps=many"
proteindiff train run.cfg --set run.dir="$X" --set train.steps=10 --stage sc_vae
BAD
bash "$check" "$TMP/bad.sbatch" > "$TMP/bad" 2>&1 && fail "a bad template passes the checker"
expect_contains "$TMP/bad" "bad.sbatch:4: 'proteindiff train --resum': no such option" "unknown option, with its line"
expect_contains "$TMP/bad" "bad.sbatch:5: 'proteindiff trian' is not a command" "unknown command"
expect_contains "$TMP/bad" "bad.sbatch:6: --set train.stepz: not a run-file key" "unknown --set key"
expect_contains "$TMP/bad" "bad.sbatch:7: --set train.sc_vae.steps=many" "wrong value type on a continued line"
n=$(grep -c 'bad.sbatch:9' "$TMP/bad")
[ "$n" -eq 0 ] && pass "a correct line raises nothing" || fail "correct line 9 reported $n time(s)"
printf '#!/bin/bash\n# syntax.sbatch — broken\nif then fi\n' > "$TMP/syntax.sbatch"
bash "$check" "$TMP/syntax.sbatch" > "$TMP/syntax" 2>&1 && fail "a syntax error passes the checker"
expect_contains "$TMP/syntax" "not valid bash" "syntax error reported"
finish
