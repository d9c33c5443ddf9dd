/* cmd_version.c — `proteindiff version`: version and what this build was configured with. */
#include <hdf5.h>
#include <libconfig.h>
#include <mpi.h>
#include <png.h>
#include <stdio.h>

#include "cli/commands.h"
#include "config.h"
#ifdef PD_HAVE_CUDA
#include "../cuda/device.h"
#endif

pd_status pd_cmd_version(pd_app *app, int argc, char **argv)
{
    if (argc > 0) return pd_fail(PD_ERR_USAGE, "version takes no arguments (got '%s')", argv[0]);
    if (app->rank != 0) return PD_OK;
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char mpiver[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpiver, &len);
    for (int i = 0; i < len; i++) if (mpiver[i] == '\n' || mpiver[i] == ',') { mpiver[i] = '\0'; break; }
    printf("proteindiff %s\n", PACKAGE_VERSION);
#ifdef PD_HAVE_CUDA
    printf("  backends : cpu, cuda (%d GPU(s) visible)\n", pd_cuda_device_count());
#else
    printf("  backends : cpu (configure --with-cuda for GPUs)\n");
#endif
    printf("  MPI      : %s (%d ranks)\n", mpiver, app->nranks);
    printf("  HDF5     : %u.%u.%u (parallel)\n", maj, min, rel);
    printf("  libconfig: %d.%d.%d\n", LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
    printf("  libpng   : %s\n", PNG_LIBPNG_VER_STRING);
    return PD_OK;
}
