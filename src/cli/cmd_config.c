/* cmd_config.c — `proteindiff config`: validate a run file and print the effective settings,
 * or print the run-file reference / a complete default run file from the schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

pd_status pd_cmd_config(pd_app *app, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "--reference")) {
        if (app->rank == 0) pd_config_write_reference(stdout);
        return PD_OK;
    }
    if (argc == 1 && !strcmp(argv[0], "--defaults")) {
        pd_config cfg;
        pd_status st = pd_config_defaults(&cfg, app->n_sets, app->sets);
        if (st == PD_OK) {
            char *t = pd_config_effective_text(&cfg);
            if (app->rank == 0) fputs(t, stdout);
            free(t);
        }
        pd_config_free(&cfg); /* also after a failed load: it frees what was built */
        return st;
    }
    if (argc != 1 || argv[0][0] == '-')
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff config RUN.cfg | --reference | --defaults");
    PD_TRY(pd_app_load_config(app, argv[0], 1));
    PD_TRY(pd_app_start_run(app));
    if (app->rank == 0) printf("# %s: valid\n", argv[0]);
    return PD_OK;
}
