/* design_run.c — `proteindiff design` (design_run.h): rank 0 expands --structure and every
 * rank gets a contiguous, size-balanced run of the structures; each structure is read (backbone
 * only, residue names used only at fixed positions), designed with all its samples in one
 * diffusion batch, and turned into FASTA records; the records are gathered to rank 0 in rank
 * order, which is input order, and written via NAME.tmp + rename. */
#include "design/design_run.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rng.h"
#include "core/timer.h"
#include "dataset/inputs.h"
#include "design/designer.h"
#include "design/sequence.h"
#include "design/target.h"
#include "parallel/comm.h"

uint64_t pd_design_entry_seed(uint64_t seed, const char *name)
{
    return (seed * 0x9E3779B97F4A7C15ull) ^ pd_fnv1a64(name, strlen(name));
}

/* A growing text buffer. */
typedef struct text_buf {
    char *s;
    size_t len, cap;
    int failed;
} text_buf;

static void text_add(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text_buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + (size_t)n + 1 > cap) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) {
            b->failed = 1;
            va_end(ap2);
            return;
        }
        b->s = g;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

static void fmt_num(char *buf, size_t len, double v)
{
    if (isfinite(v)) snprintf(buf, len, "%.4f", v);
    else snprintf(buf, len, "NA");
}

typedef struct design_settings {
    int samples, n_temps;
    double temps[64];
    uint64_t seed;
    pd_aa_rules rules;
    pd_design_target_opts target_opts;
    pd_fasta_records prefill;
} design_settings;

/* Design one structure and append its records. */
static pd_status design_one(pd_designer *d, const design_settings *s, const char *path, text_buf *out, int64_t *residues,
                            int64_t *records)
{
    pd_design_target t;
    PD_TRY(pd_design_target_read(path, &s->target_opts, &t));
    const int64_t L = t.length;
    float *logp = pd_malloc((size_t)s->samples * (size_t)L * 20 * sizeof *logp);
    uint8_t *valid = pd_malloc((size_t)L), *aa = pd_malloc((size_t)L);
    char *seq = pd_malloc((size_t)L + (size_t)t.n_chains + 1);
    pd_status st = logp && valid && aa && seq ? PD_OK : PD_ERR_NOMEM;
    const uint64_t seed = pd_design_entry_seed(s->seed, t.name);
    const double t0 = pd_now();
    if (st == PD_OK) st = pd_designer_run(d, &(pd_design_backbone){L, t.atom14, t.chain, t.tokens}, s->samples, seed, logp, valid, NULL);
    if (st == PD_OK) {
        char chains[512] = "";
        for (int c = 0; c < t.n_chains; c++)
            snprintf(chains + strlen(chains), sizeof chains - strlen(chains), "%s%s", c ? "/" : "", t.chain_ids[c]);
        int64_t n_valid = 0;
        for (int64_t i = 0; i < L; i++) n_valid += valid[i];
        if (t.native_known) {
            pd_design_target_format(&t, t.native, seq);
            text_add(out, ">%s, native, chains=%s, length=%lld, designed=%lld, fixed=%lld, source=%s\n%s\n", t.name, chains,
                     (long long)L, (long long)(L - t.n_fixed), (long long)t.n_fixed, t.source, seq);
            (*records)++;
        }
        for (int k = 0; k < s->n_temps; k++)
            for (int smp = 0; smp < s->samples; smp++) {
                const float *lp = logp + (int64_t)smp * L * 20;
                pd_choose_sequence(lp, L, valid, t.fixed, &s->rules, s->temps[k], seed ^ 0x53455155454e4345ull,
                                   (uint64_t)smp * 4096 + (uint64_t)k, aa);
                pd_sequence_scores sc;
                pd_score_sequence(lp, L, valid, t.fixed, aa, t.native_known ? t.native : NULL, &sc);
                char nd[32], na[32], rec[32];
                fmt_num(nd, sizeof nd, sc.nll_designed);
                fmt_num(na, sizeof na, sc.nll_all);
                fmt_num(rec, sizeof rec, sc.recovery);
                pd_design_target_format(&t, aa, seq);
                text_add(out, ">%s, T=%g, sample=%d, seed=%llu, nll_designed=%s, nll_all=%s, recovery=%s\n%s\n", t.name,
                         s->temps[k], smp + 1, (unsigned long long)s->seed, nd, na, rec, seq);
                (*records)++;
            }
        if (out->failed) st = pd_fail(PD_ERR_NOMEM, "design: FASTA text of %s", path);
        pd_debug("designed %s: %lld residues (%lld with a backbone), %d samples in %.2f s", t.name, (long long)L,
                 (long long)n_valid, s->samples, pd_now() - t0);
        *residues += L;
    }
    free(logp);
    free(valid);
    free(aa);
    free(seq);
    pd_design_target_free(&t);
    return st;
}

static pd_status read_settings(const pd_config *cfg, const pd_design_options *o, design_settings *s)
{
    memset(s, 0, sizeof *s);
    s->samples = (int)pd_cfg_int(cfg, "design.samples");
    s->n_temps = pd_cfg_list_len(cfg, "design.temperatures");
    if (s->n_temps < 1 || s->n_temps > 64)
        return pd_fail(PD_ERR_CONFIG, "design.temperatures needs 1 to 64 values, has %d", s->n_temps);
    for (int k = 0; k < s->n_temps; k++) s->temps[k] = pd_cfg_list_float(cfg, "design.temperatures", k);
    s->seed = (uint64_t)pd_cfg_int(cfg, "design.seed");
    PD_TRY(pd_aa_rules_parse(o->omit, o->bias, &s->rules));
    s->target_opts.chains = o->chains;
    s->target_opts.fixed = o->fixed;
    if (o->prefill) {
        PD_TRY(pd_fasta_read(o->prefill, &s->prefill));
        s->target_opts.prefill = &s->prefill;
    }
    return PD_OK;
}

/* Rank 0 gets every rank's text concatenated in rank order. */
static pd_status gather_text(MPI_Comm comm, const text_buf *mine, char **all, size_t *all_len)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    long long n = (long long)mine->len;
    long long *lens = rank == 0 ? pd_calloc((size_t)size, sizeof *lens) : NULL;
    MPI_Gather(&n, 1, MPI_LONG_LONG, lens, 1, MPI_LONG_LONG, 0, comm);
    int *counts = NULL, *displs = NULL;
    pd_status st = PD_OK;
    if (rank == 0) {
        counts = pd_calloc((size_t)size, sizeof *counts);
        displs = pd_calloc((size_t)size, sizeof *displs);
        long long total = 0;
        for (int r = 0; r < size; r++) {
            if (total + lens[r] > 2000000000LL) st = pd_fail(PD_ERR_UNSUPPORTED, "design: more than 2 GB of FASTA in one run");
            displs[r] = (int)total;
            counts[r] = (int)lens[r];
            total += lens[r];
        }
        *all = pd_malloc((size_t)total + 1);
        *all_len = (size_t)total;
        if (!*all || !counts || !displs) st = PD_ERR_NOMEM;
    }
    PD_TRY(pd_agree(comm, st));
    MPI_Gatherv(mine->s ? mine->s : "", (int)mine->len, MPI_CHAR, rank == 0 ? *all : NULL, counts, displs, MPI_CHAR, 0, comm);
    free(lens);
    free(counts);
    free(displs);
    return PD_OK;
}

static pd_status write_fasta(const char *path, const char *text, size_t len)
{
    if (!strcmp(path, "-")) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        return PD_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write %s (does the folder exist?)", tmp);
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return pd_fail(PD_ERR_IO, "cannot write %s", path);
    }
    return PD_OK;
}

static pd_status expand_structures(const char *pattern, MPI_Comm comm, pd_input_list *list, int **owner)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(list, 0, sizeof *list);
    *owner = NULL;
    pd_status st = PD_OK;
    if (rank == 0) {
        char *patterns[1] = {(char *)pattern};
        st = pd_inputs_expand(1, patterns, list);
        if (st == PD_OK && list->n == 0) st = pd_fail(PD_ERR_USAGE, "--structure %s: no structure file found", pattern);
        if (st == PD_OK) {
            *owner = pd_calloc((size_t)list->n + 1, sizeof **owner);
            int64_t *work = pd_calloc((size_t)list->n + 1, sizeof *work);
            if (!*owner || !work) st = PD_ERR_NOMEM;
            else {
                for (int i = 0; i < list->n; i++) work[i] = list->items[i].work;
                pd_inputs_partition(work, list->n, size, *owner);
            }
            free(work);
        }
    }
    PD_TRY(pd_agree(comm, st));
    return pd_inputs_bcast(comm, list, owner, 0);
}

pd_status pd_design_run(const pd_config *cfg, const pd_design_options *o, MPI_Comm comm, pd_design_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (!o->structure || !o->out) return pd_agree(comm, pd_fail(PD_ERR_USAGE, "design needs --structure and --out"));
    design_settings s;
    pd_status st = pd_agree(comm, read_settings(cfg, o, &s));
    if (st != PD_OK) {
        pd_fasta_free(&s.prefill);
        return st;
    }
    pd_input_list list;
    int *owner = NULL;
    st = expand_structures(o->structure, comm, &list, &owner);
    pd_design_models models;
    if (st == PD_OK) st = pd_design_models_load(&models, cfg, comm);
    if (st != PD_OK) {
        pd_inputs_free(&list);
        free(owner);
        pd_fasta_free(&s.prefill);
        return st;
    }
    pd_designer d;
    st = pd_agree(comm, pd_designer_init(&d, &models, cfg));
    text_buf out = {0};
    double counts[4] = {0, 0, 0, 0};   /* structures, failed, residues, records */
    const double t0 = pd_now();
    if (st == PD_OK)
        pd_info("design: %d structure(s) on %d rank(s), %d sample(s) x %d temperature(s), %s with %d steps", list.n, size,
                s.samples, s.n_temps, d.sampler.kind == PD_SAMPLER_DDIM ? "ddim" : "ddpm",
                d.sampler.kind == PD_SAMPLER_DDIM ? d.sampler.steps : pd_diffusion_get_config(models.dit)->timesteps);
    for (int i = 0; st == PD_OK && i < list.n; i++) {
        if (owner[i] != rank) continue;
        int64_t residues = 0, records = 0;
        pd_status one = design_one(&d, &s, list.items[i].path, &out, &residues, &records);
        if (one == PD_ERR_NOMEM) {
            st = one;
            break;
        }
        counts[0]++;
        if (one != PD_OK) {
            pd_warn("design: skipping %s: %s", list.items[i].path, pd_last_error());
            pd_clear_error();
            counts[1]++;
            continue;
        }
        counts[2] += (double)residues;
        counts[3] += (double)records;
    }
    st = pd_agree(comm, st);
    if (st == PD_OK) MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPI_DOUBLE, MPI_SUM, comm);
    const double seconds = pd_now() - t0;
    char *all = NULL;
    size_t all_len = 0;
    if (st == PD_OK) st = gather_text(comm, &out, &all, &all_len);
    if (st == PD_OK && counts[0] == counts[1])
        st = pd_fail(PD_ERR, "design: none of the %d structure(s) could be designed (see the warnings above)", list.n);
    if (st == PD_OK && rank == 0) st = write_fasta(o->out, all, all_len);
    st = pd_agree(comm, st);
    if (st == PD_OK) {
        summary->structures = (int64_t)counts[0];
        summary->failed = (int64_t)counts[1];
        summary->residues = (int64_t)counts[2];
        summary->records = (int64_t)counts[3];
        summary->seconds = seconds;
        const double designs = (counts[0] - counts[1]) * s.samples;
        pd_info("design: %lld structure(s) (%lld skipped), %lld residues, %.0f design(s) in %.2f s on %d rank(s): %.3g "
                "designs/s, %.3g rank-seconds per 100 residues per design; %lld FASTA records in %s",
                (long long)summary->structures, (long long)summary->failed, (long long)summary->residues, designs,
                seconds, size, seconds > 0 ? designs / seconds : 0,
                counts[2] > 0 ? seconds * size * 100.0 / (counts[2] * s.samples) : 0, (long long)summary->records, o->out);
    }
    free(all);
    free(out.s);
    pd_designer_free(&d);
    pd_design_models_free(&models);
    pd_inputs_free(&list);
    free(owner);
    pd_fasta_free(&s.prefill);
    return st;
}
