/* cmd_design.c — `proteindiff design RUN.cfg --structure ... --out designs.fasta`: argument
 * parsing only. Sampling options become design.* overrides (so they are validated and shown in
 * the effective configuration); the work is pd_design_run (src/design/design_run.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "design/design_run.h"
#include "parallel/comm.h"

/* "0.1 0.3" or "0.1,0.3" -> "design.temperatures=[0.1, 0.3]" */
static pd_status temperatures_override(const char *text, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "design.temperatures=[");
    int n = 0;
    for (const char *p = text; *p && k < len;) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        char *end;
        double v = strtod(p, &end);
        if (end == p) return pd_fail(PD_ERR_USAGE, "design: --temperatures expects numbers like \"0.1 0.3\", got '%s'", text);
        k += (size_t)snprintf(buf + k, len - k, "%s%.17g", n ? ", " : "", v);
        n++;
        p = end;
    }
    if (!n) return pd_fail(PD_ERR_USAGE, "design: --temperatures needs at least one value");
    if (k + 2 >= len) return pd_fail(PD_ERR_USAGE, "design: --temperatures: too many values");
    snprintf(buf + k, len - k, "]");
    return PD_OK;
}

pd_status pd_cmd_design(pd_app *app, int argc, char **argv)
{
    const char *run_file = NULL;
    pd_design_options o = {0};
    enum { MAX_OVERRIDES = 8 };
    static char overrides[MAX_OVERRIDES][1024];
    int n_over = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--structure")) o.structure = v;
        else if (!strcmp(a, "--chains")) o.chains = v;
        else if (!strcmp(a, "--fixed")) o.fixed = v;
        else if (!strcmp(a, "--sequence-prefill")) o.prefill = v;
        else if (!strcmp(a, "--omit-aa")) o.omit = v;
        else if (!strcmp(a, "--bias-aa")) o.bias = v;
        else if (!strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "--symmetry")) o.symmetry = v;
        else if (!strcmp(a, "--bias-by-residue")) o.bias_by_residue = v;
        else if (!strcmp(a, "--omit-by-residue")) o.omit_by_residue = v;
        else if (!strcmp(a, "--probs")) o.probs = v;
        else if (!strcmp(a, "--pdb-out")) o.pdb_out = v;
        else if (!strcmp(a, "--homo-oligomer")) {
            o.homo_oligomer = 1;
            takes = 0;
        }
        else if (!strcmp(a, "--samples")) snprintf(overrides[n_over++], 1024, "design.samples=%s", v ? v : "");
        else if (!strcmp(a, "--seed")) snprintf(overrides[n_over++], 1024, "design.seed=%s", v ? v : "");
        else if (!strcmp(a, "--steps")) snprintf(overrides[n_over++], 1024, "design.steps=%s", v ? v : "");
        else if (!strcmp(a, "--sampler")) snprintf(overrides[n_over++], 1024, "design.sampler=\"%s\"", v ? v : "");
        else if (!strcmp(a, "--temperatures")) {
            if (v) PD_TRY(temperatures_override(v, overrides[n_over++], 1024));
        } else if (a[0] == '-') {
            return pd_fail(PD_ERR_USAGE, "design: unknown option '%s' (see proteindiff design --help)", a);
        } else {
            takes = 0;
            if (run_file) return pd_fail(PD_ERR_USAGE, "design: one run file expected, got '%s' and '%s'", run_file, a);
            run_file = a;
        }
        if (takes) {
            if (!v || (v[0] == '-' && v[1] == '-')) return pd_fail(PD_ERR_USAGE, "design: %s needs a value", a);
            i++;
        }
        if (n_over >= MAX_OVERRIDES) return pd_fail(PD_ERR_USAGE, "design: an option was given more than once");
    }
    if (!run_file || !o.structure || !o.out)
        return pd_fail(PD_ERR_USAGE, "usage: proteindiff design RUN.cfg --structure FILE|DIR|LIST --out designs.fasta "
                       "[options] (see proteindiff design --help)");
    /* the command's sampling options go after the user's --set overrides, so they win */
    char **sets = realloc(app->sets, (size_t)(app->n_sets + n_over) * sizeof *sets);
    if (!sets && app->n_sets + n_over > 0) return pd_fail(PD_ERR_NOMEM, "design: options");
    app->sets = sets;
    for (int k = 0; k < n_over; k++) app->sets[app->n_sets++] = overrides[k];
    PD_TRY(pd_app_load_config(app, run_file, 0));
    PD_TRY(pd_app_start_run(app));
    pd_design_summary summary;
    return pd_design_run(&app->cfg, &o, MPI_COMM_WORLD, &summary);
}
