/* cmd_evaluate.c — `proteindiff evaluate RUN.cfg [--diagnose [--split S]]`: argument parsing only; the
 * evaluation is pd_evaluate_run (src/design/evaluate.c), the diagnosis of where the design chain
 * loses information pd_diagnose_run (src/design/diagnose.c). */
#include <string.h>

#include "cli/commands.h"
#include "design/diagnose.h"
#include "design/evaluate.h"
#include "parallel/comm.h"

pd_status pd_cmd_evaluate(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    int diagnose = 0, split = 2;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--diagnose") == 0) {
            diagnose = 1;
            continue;
        }
        if (strcmp(argv[i], "--split") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            split = strcmp(v, "train") == 0 ? 0 : strcmp(v, "valid") == 0 ? 1 : strcmp(v, "test") == 0 ? 2 : -1;
            if (split < 0) return pd_fail(PD_ERR_USAGE, "evaluate: --split takes train, valid or test, not '%s'", v);
            continue;
        }
        if (argv[i][0] == '-') return pd_fail(PD_ERR_USAGE, "evaluate: unknown option '%s' (see proteindiff evaluate --help)", argv[i]);
        if (run_file) return pd_fail(PD_ERR_USAGE, "evaluate: one run file expected, got '%s' and '%s'", run_file, argv[i]);
        run_file = argv[i];
    }
    if (!run_file)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff evaluate RUN.cfg [--diagnose [--split train|valid|test]] [--set KEY=VALUE ...]");
    if (split != 2 && !diagnose) return pd_fail(PD_ERR_USAGE, "evaluate: --split goes with --diagnose (evaluate itself scores the test split)");
    PD_TRY(pd_app_load_config(app, run_file, 0));
    PD_TRY(pd_app_start_run(app));
    if (diagnose) return pd_diagnose_run(&app->cfg, split, MPI_COMM_WORLD);
    pd_eval_result result;
    return pd_evaluate_run(&app->cfg, MPI_COMM_WORLD, &result);
}
