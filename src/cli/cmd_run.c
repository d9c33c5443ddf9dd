/* cmd_run.c — `proteindiff run RUN.cfg`: argument parsing only; the pipeline is
 * pd_pipeline_run (src/pipeline/pipeline.c), which calls every stage in this one MPI job. */
#include <string.h>

#include "cli/commands.h"
#include "config.h"
#include "pipeline/pipeline.h"
#include "parallel/comm.h"

pd_status pd_cmd_run(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-') return pd_fail(PD_ERR_USAGE, "run: unknown option '%s' (see proteindiff run --help)", argv[i]);
        if (run_file) return pd_fail(PD_ERR_USAGE, "run: one run file expected, got '%s' and '%s'", run_file, argv[i]);
        run_file = argv[i];
    }
    if (!run_file) return pd_fail(PD_ERR_USAGE, "usage: proteindiff run RUN.cfg [--set KEY=VALUE ...]");
    PD_TRY(pd_app_load_config(app, run_file, 1));
    PD_TRY(pd_app_start_run(app));
    pd_pipeline_summary summary;
    return pd_pipeline_run(&app->cfg, MPI_COMM_WORLD, "proteindiff " PACKAGE_VERSION, &summary);
}
