/* cmd_export.c — `proteindiff export DATASET.h5 [--png DIR] [--fasta FILE]`: argument parsing;
 * the work is in src/dataset/export_*.c. Rank 0 does it; other ranks wait for the outcome. */
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "dataset/export.h"
#include "dataset/reader.h"
#include "parallel/comm.h"

static pd_status export_on_rank0(const char *dataset, const char *png_dir, const char *fasta)
{
    pd_dataset *ds = NULL;
    PD_TRY(pd_dataset_open(&ds, dataset, MPI_COMM_NULL));
    pd_status st = PD_OK;
    int64_t n = 0;
    if (png_dir) {
        st = pd_export_png(ds, png_dir, &n);
        if (st == PD_OK) pd_info("export: %lld distogram PNGs in %s/bin_<lo>_<hi>/", (long long)n, png_dir);
    }
    if (st == PD_OK && fasta) {
        st = pd_export_fasta(ds, fasta, &n);
        if (st == PD_OK) pd_info("export: %lld FASTA records in %s", (long long)n, fasta);
    }
    pd_dataset_close(ds);
    return st;
}

pd_status pd_cmd_export(pd_app *app, int argc, char **argv)
{
    const char *dataset = NULL, *png_dir = NULL, *fasta = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--png") && i + 1 < argc) png_dir = argv[++i];
        else if (!strcmp(argv[i], "--fasta") && i + 1 < argc) fasta = argv[++i];
        else if (argv[i][0] == '-') return pd_fail(PD_ERR_USAGE, "export: unknown or incomplete option '%s' (see proteindiff export --help)", argv[i]);
        else if (!dataset) dataset = argv[i];
        else return pd_fail(PD_ERR_USAGE, "export: one dataset expected, got '%s' and '%s'", dataset, argv[i]);
    }
    if (!dataset || (!png_dir && !fasta))
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff export DATASET.h5 [--png DIR] [--fasta FILE] (at least one of them)");
    pd_status st = app->rank == 0 ? export_on_rank0(dataset, png_dir, fasta) : PD_OK;
    return pd_agree(MPI_COMM_WORLD, st);
}
