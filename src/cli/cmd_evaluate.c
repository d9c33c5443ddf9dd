/* cmd_evaluate.c — `proteindiff evaluate RUN.cfg`: argument parsing only; the evaluation is
 * pd_evaluate_run (src/design/evaluate.c). */
#include <string.h>

#include "cli/commands.h"
#include "design/evaluate.h"
#include "parallel/comm.h"

pd_status pd_cmd_evaluate(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-') return pd_fail(PD_ERR_USAGE, "evaluate: unknown option '%s' (see proteindiff evaluate --help)", argv[i]);
        if (run_file) return pd_fail(PD_ERR_USAGE, "evaluate: one run file expected, got '%s' and '%s'", run_file, argv[i]);
        run_file = argv[i];
    }
    if (!run_file) return pd_fail(PD_ERR_USAGE, "usage: proteindiff evaluate RUN.cfg [--set KEY=VALUE ...]");
    PD_TRY(pd_app_load_config(app, run_file, 0));
    PD_TRY(pd_app_start_run(app));
    pd_eval_result result;
    return pd_evaluate_run(&app->cfg, MPI_COMM_WORLD, &result);
}
