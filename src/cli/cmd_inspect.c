/* cmd_inspect.c — `proteindiff inspect FILE.h5`: argument parsing; the summary and the
 * validation are src/dataset/inspect.c. Rank 0 prints; other ranks wait for the outcome. */
#include <stdio.h>

#include "cli/commands.h"
#include "dataset/inspect.h"
#include "parallel/comm.h"

pd_status pd_cmd_inspect(pd_app *app, int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') return pd_fail(PD_ERR_USAGE, "usage: proteindiff inspect FILE.h5");
    pd_status st = app->rank == 0 ? pd_inspect_file(argv[0], stdout) : PD_OK;
    return pd_agree(MPI_COMM_WORLD, st);
}
