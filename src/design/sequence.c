/* sequence.c — omit/bias parsing, temperature sampling and header scores (sequence.h). */
#include "design/sequence.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

int pd_aa_index(char letter)
{
    const char *p = strchr(PD_AA_LETTERS, toupper((unsigned char)letter));
    return letter && p ? (int)(p - PD_AA_LETTERS) : -1;
}

pd_status pd_aa_rules_parse(const char *omit, const char *bias, pd_aa_rules *out)
{
    memset(out, 0, sizeof *out);
    for (const char *c = omit; c && *c; c++) {
        if (*c == ',' || isspace((unsigned char)*c)) continue;
        int a = pd_aa_index(*c);
        if (a < 0)
            return pd_fail(PD_ERR_USAGE, "--omit-aa: '%c' is not one of the 20 amino-acid letters %s", *c, PD_AA_LETTERS);
        out->omit[a] = 1;
    }
    int omitted = 0;
    for (int a = 0; a < 20; a++) omitted += out->omit[a];
    if (omitted == 20) return pd_fail(PD_ERR_USAGE, "--omit-aa leaves no amino acid to choose from");
    const char *p = bias;
    while (p && *p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        int a = pd_aa_index(*p);
        if (a < 0 || p[1] != ':')
            return pd_fail(PD_ERR_USAGE, "--bias-aa: expected LETTER:VALUE pairs like \"W:-1.0,A:0.5\", got '%s'", p);
        char *end;
        double v = strtod(p + 2, &end);
        if (end == p + 2 || !isfinite(v))
            return pd_fail(PD_ERR_USAGE, "--bias-aa: '%s' has no number after '%c:'", p, *p);
        out->bias[a] += v;
        p = end;
        if (*p && *p != ',' && !isspace((unsigned char)*p))
            return pd_fail(PD_ERR_USAGE, "--bias-aa: unexpected '%s' (separate pairs with commas)", p);
    }
    return PD_OK;
}

/* adj [20]: log-probability + bias, -INFINITY where omitted (at least one finite). */
static int choose_one(const double *adj, double temperature, pd_rng *rng)
{
    double best = -INFINITY;
    int arg = -1;
    for (int a = 0; a < 20; a++)
        if (adj[a] > best) best = adj[a], arg = a;
    const double u = pd_rng_uniform(rng);   /* drawn at every residue, so streams stay aligned */
    if (arg < 0) return 0;
    if (temperature <= 0) return arg;
    double w[20], total = 0;
    for (int a = 0; a < 20; a++) {
        w[a] = isfinite(adj[a]) ? exp((adj[a] - best) / temperature) : 0;
        total += w[a];
    }
    double target = u * total, acc = 0;
    int last = arg;
    for (int a = 0; a < 20; a++) {
        if (w[a] <= 0) continue;
        acc += w[a];
        last = a;
        if (target < acc) return a;
    }
    return last;
}

/* The adjusted logits of residue i: logp + bias, -INFINITY where omitted. Every allowed letter
 * of a residue whose allowed letters all have probability 0 gets 0, so one is still chosen. */
static void adjusted(const float *lp, const pd_aa_rules *r, double *adj)
{
    int finite = 0;
    for (int a = 0; a < 20; a++) {
        adj[a] = r->omit[a] ? -INFINITY : (double)lp[a] + r->bias[a];
        finite += isfinite(adj[a]) != 0;
    }
    if (!finite)
        for (int a = 0; a < 20; a++) adj[a] = r->omit[a] ? -INFINITY : 0;
}

pd_status pd_choose_sequence(const float *logp, int64_t L, const uint8_t *valid, const int32_t *fixed,
                             const pd_aa_rules *rules, const int32_t *tie, double temperature, uint64_t seed,
                             uint64_t stream, uint8_t *aa_out)
{
    /* group sums of the adjusted logits (members' mean; a letter omitted at any member is out) */
    double *gsum = NULL;
    int32_t *gcount = NULL;
    if (tie) {
        gsum = pd_calloc((size_t)L * 20, sizeof *gsum);
        gcount = pd_calloc((size_t)L, sizeof *gcount);
        if (!gsum || !gcount) {
            free(gsum);
            free(gcount);
            return PD_ERR_NOMEM;
        }
        for (int64_t i = 0; i < L; i++) {
            if (!valid[i]) continue;
            double adj[20];
            adjusted(logp + i * 20, &rules[i], adj);
            for (int a = 0; a < 20; a++) gsum[(int64_t)tie[i] * 20 + a] += adj[a];
            gcount[tie[i]]++;
        }
    }
    for (int64_t i = 0; i < L; i++) {
        const int64_t rep = tie ? tie[i] : i;
        if (fixed[i] >= 0 && fixed[i] < 20) {
            aa_out[i] = (uint8_t)fixed[i];
        } else if (!valid[i]) {
            aa_out[i] = 20;
        } else if (rep < i && valid[rep]) {
            aa_out[i] = aa_out[rep];   /* the group's amino acid, chosen at its first residue */
        } else {
            double adj[20];
            if (tie && gcount[rep] > 1)
                for (int a = 0; a < 20; a++) adj[a] = gsum[rep * 20 + a] / gcount[rep];
            else adjusted(logp + i * 20, &rules[i], adj);
            pd_rng rng;
            pd_rng_init(&rng, seed, stream, (uint64_t)rep, PD_RNG_DESIGN);
            /* keyed by the group's first residue: members whose first residue has no backbone draw
             * the same number from the same group logits, so they agree too */
            aa_out[i] = (uint8_t)choose_one(adj, temperature, &rng);
        }
    }
    free(gsum);
    free(gcount);
    return PD_OK;
}

void pd_score_sequence(const float *logp, int64_t L, const uint8_t *valid, const int32_t *fixed, const uint8_t *aa,
                       const uint8_t *native, pd_sequence_scores *out)
{
    memset(out, 0, sizeof *out);
    double sum_designed = 0, sum_all = 0;
    int64_t same = 0;
    for (int64_t i = 0; i < L; i++) {
        if (!valid[i] || aa[i] >= 20) continue;
        const double nll = -(double)logp[i * 20 + aa[i]];
        const int designed = !(fixed[i] >= 0 && fixed[i] < 20);
        sum_all += nll;
        out->n_all++;
        if (!designed) continue;
        sum_designed += nll;
        out->n_designed++;
        if (native && native[i] < 20) {
            out->n_native++;
            same += native[i] == aa[i];
        }
    }
    out->nll_designed = out->n_designed ? sum_designed / (double)out->n_designed : NAN;
    out->nll_all = out->n_all ? sum_all / (double)out->n_all : NAN;
    out->recovery = out->n_native ? (double)same / (double)out->n_native : NAN;
}
