/* app.c — common options, run-file loading and broadcast, thread settings; see app.h. */
#include "cli/app.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/log.h"
#include "parallel/comm.h"

pd_status pd_app_parse_common(pd_app *app, int *argc, char **argv, int *help)
{
    int out = 0;
    *help = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--set") || !strcmp(a, "-s")) {
            if (i + 1 >= *argc) return pd_fail(PD_ERR_USAGE, "%s needs KEY=VALUE", a);
            app->sets = realloc(app->sets, (app->n_sets + 1) * sizeof(char *));
            app->sets[app->n_sets++] = argv[++i];
        } else if (!strncmp(a, "--set=", 6)) {
            app->sets = realloc(app->sets, (app->n_sets + 1) * sizeof(char *));
            app->sets[app->n_sets++] = (char *)a + 6;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            app->verbose = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    pd_log_init(app->rank, app->nranks, app->verbose);
    return PD_OK;
}

pd_status pd_app_load_config(pd_app *app, const char *path, int print)
{
    char *text = NULL;
    pd_status st = PD_OK;
    if (app->rank == 0) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            st = pd_fail(PD_ERR_CONFIG, "cannot open run file '%s'; give a path such as input/quickstart.cfg", path);
        } else {
            size_t cap = 1 << 16, n = 0, r;
            text = malloc(cap);
            while ((r = fread(text + n, 1, cap - n - 1, f)) > 0) {
                n += r;
                if (n + 1 == cap) text = realloc(text, cap *= 2);
            }
            text[n] = '\0';
            fclose(f);
        }
    }
    PD_TRY(pd_agree(MPI_COMM_WORLD, st));
    PD_TRY(pd_bcast_string(MPI_COMM_WORLD, &text, 0));
    st = pd_config_load(&app->cfg, path, text, app->n_sets, app->sets);
    free(text);
    app->have_cfg = 1;
    PD_TRY(pd_agree(MPI_COMM_WORLD, st));
    if (print && app->rank == 0) {
        char *eff = pd_config_effective_text(&app->cfg);
        pd_info("%s", eff);
        free(eff);
    }
    return PD_OK;
}

int pd_app_threads(const pd_app *app)
{
    long long t = app->have_cfg ? pd_cfg_int(&app->cfg, "run.threads") : 0;
    if (t > 0) return (int)t;
    /* Cores on this node divided by the ranks on this node. */
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && atoi(env) > 0) return atoi(env);
    int per = (int)(cores / (local > 0 ? local : 1));
    return per > 0 ? per : 1;
}

pd_status pd_app_start_run(pd_app *app)
{
    int threads = pd_app_threads(app);
    openblas_set_num_threads(threads);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    pd_status st = PD_OK;
    if (app->have_cfg && pd_cfg_int(&app->cfg, "debug.fail_rank") == app->rank)
        st = pd_fail(PD_ERR, "forced failure on rank %d (debug.fail_rank = %d)", app->rank, app->rank);
    return pd_agree(MPI_COMM_WORLD, st);
}

void pd_app_free(pd_app *app)
{
    if (app->have_cfg) pd_config_free(&app->cfg);
    free(app->sets);
    app->sets = NULL;
}

void pd_app_usage(const pd_command *cmd, FILE *out)
{
    fprintf(out, "%s\n", cmd->usage);
    fprintf(out, "\nCommon options:\n"
                 "  --set KEY=VALUE   override a run-file setting (repeatable)\n"
                 "  -v, --verbose     log from every rank, prefixed [rN]\n"
                 "  -h, --help        this text\n");
}

pd_status pd_not_implemented(const char *what, const char *issue)
{
    return pd_fail(PD_ERR_NOT_IMPLEMENTED, "`proteindiff %s` is not implemented yet (tracked in %s); "
                   "nothing was run", what, issue);
}
