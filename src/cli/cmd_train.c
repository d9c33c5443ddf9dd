/* cmd_train.c — `proteindiff train RUN.cfg --stage NAME [--resume]`: argument parsing only; the
 * training loop is pd_train_run (src/train/loop.c). */
#include <string.h>

#include "cli/commands.h"
#include "parallel/comm.h"
#include "train/stage.h"
#include "train/train.h"

pd_status pd_cmd_train(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    pd_train_options opt = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) {
            opt.resume = 1;
        } else if (!strcmp(argv[i], "--stage")) {
            if (i + 1 >= argc) return pd_fail(PD_ERR_USAGE, "train: --stage needs a stage name (sc_vae, bb_vae, ...)");
            opt.stage = argv[++i];
        } else if (!strncmp(argv[i], "--stage=", 8)) {
            opt.stage = argv[i] + 8;
        } else if (argv[i][0] == '-') {
            return pd_fail(PD_ERR_USAGE, "train: unknown option '%s' (see proteindiff train --help)", argv[i]);
        } else if (!run_file) {
            run_file = argv[i];
        } else {
            return pd_fail(PD_ERR_USAGE, "train: one run file expected, got '%s' and '%s'", run_file, argv[i]);
        }
    }
    if (!run_file || !opt.stage)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff train RUN.cfg --stage NAME [--resume] [--set KEY=VALUE ...]");
    const pd_stage_ops *ops;
    PD_TRY(pd_stage_find(opt.stage, &ops));
    PD_TRY(pd_app_load_config(app, run_file, 1));
    PD_TRY(pd_app_start_run(app));
    return pd_train_run(&app->cfg, &opt, MPI_COMM_WORLD);
}
