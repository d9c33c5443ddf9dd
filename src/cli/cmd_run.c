/* cmd_run.c — `proteindiff run`. Not implemented yet: it says so and exits non-zero. */
#include "cli/commands.h"

pd_status pd_cmd_run(pd_app *app, int argc, char **argv)
{
    (void)app;
    (void)argc;
    (void)argv;
    return pd_not_implemented("run", "issue 8");
}
