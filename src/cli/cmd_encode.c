/* cmd_encode.c — `proteindiff encode RUN.cfg --stage sc_vae|bb_vae [--checkpoint FILE] [--force]`:
 * argument parsing only; loading the checkpoint and writing run.dir/latents/<stage>.h5 is
 * pd_latents_encode (src/train/latents_encode.c). */
#include <string.h>

#include "cli/commands.h"
#include "config.h"
#include "parallel/comm.h"
#include "train/latents.h"
#include "train/stage.h"

pd_status pd_cmd_encode(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    pd_encode_options opt = {.created_by = "proteindiff " PACKAGE_VERSION};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            opt.force = 1;
        } else if (!strcmp(argv[i], "--stage") || !strcmp(argv[i], "--checkpoint")) {
            if (i + 1 >= argc) return pd_fail(PD_ERR_USAGE, "encode: %s needs a value (see proteindiff encode --help)", argv[i]);
            if (!strcmp(argv[i], "--stage")) opt.stage = argv[++i];
            else opt.checkpoint = argv[++i];
        } else if (!strncmp(argv[i], "--stage=", 8)) {
            opt.stage = argv[i] + 8;
        } else if (!strncmp(argv[i], "--checkpoint=", 13)) {
            opt.checkpoint = argv[i] + 13;
        } else if (argv[i][0] == '-') {
            return pd_fail(PD_ERR_USAGE, "encode: unknown option '%s' (see proteindiff encode --help)", argv[i]);
        } else if (!run_file) {
            run_file = argv[i];
        } else {
            return pd_fail(PD_ERR_USAGE, "encode: one run file expected, got '%s' and '%s'", run_file, argv[i]);
        }
    }
    if (!run_file || !opt.stage)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff encode RUN.cfg --stage sc_vae|bb_vae [--checkpoint FILE] "
                       "[--force] [--set KEY=VALUE ...]");
    const pd_stage_ops *ops;
    PD_TRY(pd_stage_find(opt.stage, &ops));
    PD_TRY(pd_app_load_config(app, run_file, 0));
    PD_TRY(pd_app_start_run(app));
    return pd_latents_encode(&app->cfg, &opt, MPI_COMM_WORLD);
}
