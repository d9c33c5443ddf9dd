/* cmd_tokenize.c — `proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5 [--png DIR
 * --png-count N]`: argument parsing only; the work is pd_tokenize_run (src/train/tokenize.c):
 * every dataset entry up to the trained maximum length through the tokenizer's encoder, its
 * per-level codes in one HDF5 file (docs/tokens-format.md), an MDS check of the
 * reconstructions, and optionally original | reconstruction PNGs. */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/tokenize.h"

typedef struct tok_options {
    const char *run_file;
    pd_tokenize_options run;
} tok_options;

static pd_status parse(int argc, char **argv, tok_options *o)
{
    memset(o, 0, sizeof *o);
    o->run.png_count = 4;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        if (!strcmp(a, "--checkpoint") && has_value) o->run.checkpoint = argv[++i];
        else if (!strcmp(a, "--out") && has_value) o->run.out = argv[++i];
        else if (!strcmp(a, "--png") && has_value) o->run.png_dir = argv[++i];
        else if (!strcmp(a, "--png-count") && has_value) o->run.png_count = atoi(argv[++i]);
        else if (a[0] == '-') return pd_fail(PD_ERR_USAGE, "tokenize: unknown option or missing value '%s' (see "
                                             "proteindiff tokenize --help)", a);
        else if (!o->run_file) o->run_file = a;
        else return pd_fail(PD_ERR_USAGE, "tokenize: one run file expected, got '%s' and '%s'", o->run_file, a);
    }
    if (!o->run_file || !o->run.checkpoint || !o->run.out)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5 "
                       "[--png DIR --png-count N]");
    if (o->run.png_count < 0) return pd_fail(PD_ERR_USAGE, "tokenize: --png-count must be >= 0");
    return PD_OK;
}

pd_status pd_cmd_tokenize(pd_app *app, int argc, char **argv)
{
    tok_options o;
    PD_TRY(parse(argc, argv, &o));
    PD_TRY(pd_app_load_config(app, o.run_file, 0));
    PD_TRY(pd_app_start_run(app));
    return pd_tokenize_run(&app->cfg, &o.run, MPI_COMM_WORLD);
}
