/* cmd_score.c — `proteindiff score RUN.cfg --structure P [--sequences FASTA] --out FILE.tsv`:
 * argument parsing only; the work is pd_score_run (src/design/score_run.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "design/score_run.h"

pd_status pd_cmd_score(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    pd_score_options o = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = !strcmp(a, "--structure") ? &o.structure
                            : !strcmp(a, "--sequences") ? &o.sequences
                            : !strcmp(a, "--chains")    ? &o.chains
                            : !strcmp(a, "--out")       ? &o.out
                                                        : NULL;
        if (slot) {
            if (!v || (v[0] == '-' && v[1] == '-')) return pd_fail(PD_ERR_USAGE, "score: %s needs a value", a);
            *slot = v;
            i++;
        } else if (a[0] == '-') {
            return pd_fail(PD_ERR_USAGE, "score: unknown option '%s' (see proteindiff score --help)", a);
        } else {
            if (run_file) return pd_fail(PD_ERR_USAGE, "score: one run file expected, got '%s' and '%s'", run_file, a);
            run_file = a;
        }
    }
    if (!run_file || !o.structure || !o.out)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff score RUN.cfg --structure FILE|DIR|LIST [--sequences FASTA] "
                       "--out scores.tsv (see proteindiff score --help)");
    PD_TRY(pd_app_load_config(app, run_file, 0));
    PD_TRY(pd_app_start_run(app));
    pd_score_summary summary;
    return pd_score_run(&app->cfg, &o, MPI_COMM_WORLD, &summary);
}
