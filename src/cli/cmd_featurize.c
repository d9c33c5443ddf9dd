/* cmd_featurize.c — `proteindiff featurize RUN.cfg [--force]`: argument parsing only; the
 * run itself is pd_dataset_build (src/dataset/build.c). */
#include <string.h>

#include "cli/commands.h"
#include "config.h"
#include "dataset/build.h"
#include "parallel/comm.h"

pd_status pd_cmd_featurize(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (argv[i][0] == '-') return pd_fail(PD_ERR_USAGE, "featurize: unknown option '%s' (see proteindiff featurize --help)", argv[i]);
        else if (!run_file) run_file = argv[i];
        else return pd_fail(PD_ERR_USAGE, "featurize: one run file expected, got '%s' and '%s'", run_file, argv[i]);
    }
    if (!run_file) return pd_fail(PD_ERR_USAGE, "usage: proteindiff featurize RUN.cfg [--force] [--set KEY=VALUE ...]");
    PD_TRY(pd_app_load_config(app, run_file, 1));
    PD_TRY(pd_agree(MPI_COMM_WORLD, pd_config_check_inputs(&app->cfg)));
    PD_TRY(pd_app_start_run(app));
    pd_build_summary summary;
    return pd_dataset_build(&app->cfg, MPI_COMM_WORLD, force, "proteindiff " PACKAGE_VERSION, &summary);
}
