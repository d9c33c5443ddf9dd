/* cmd_inspect.c — `proteindiff inspect`. Not implemented yet: it says so and exits non-zero. */
#include "cli/commands.h"

pd_status pd_cmd_inspect(pd_app *app, int argc, char **argv)
{
    (void)app;
    (void)argc;
    (void)argv;
    return pd_not_implemented("inspect", "issue 3");
}
