/* evaluate.c — `proteindiff evaluate` (evaluate.h). Each test entry's backbone goes through the
 * same chain as `design` with every residue masked (nothing of the native sequence is shown);
 * the diffusion prediction is the argmax of the classifier distribution (averaged over
 * design.eval_samples samples), its perplexity exp(mean −log p(native)). The BB-VAE head is read
 * the same way from its logits, and the composition baseline always predicts the most frequent
 * train-split amino acid with the train-split frequencies as its distribution. */
#include "design/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"
#include "dataset/export.h"
#include "dataset/inputs.h"
#include "dataset/reader.h"
#include "design/design_run.h"
#include "design/designer.h"
#include "design/evaluate_pairs.h"
#include "models/diffusion.h"
#include "parallel/comm.h"

#define MAX_BINS 64
enum { M_DIFFUSION, M_HEAD, M_COMPOSITION };
enum { Q_CORRECT, Q_NLL, Q_N, N_Q };
static const char *const method_names[PD_EVAL_METHODS] = {"diffusion", "bb_vae_head", "composition"};

/* Sums over residues: [bin][method][quantity], plus entries per bin. */
typedef struct eval_sums {
    double q[MAX_BINS][PD_EVAL_METHODS][N_Q];
    double entries[MAX_BINS];
} eval_sums;

static int bin_index(int length)
{
    int b = length < 40 ? 0 : length <= 64 ? 1 : length <= 128 ? 2 : 3 + (length - 129) / 64;
    return b < MAX_BINS ? b : MAX_BINS - 1;
}

/* A length that falls in bin b (for its label). */
static int bin_example(int b)
{
    return b == 0 ? 1 : b == 1 ? 40 : b == 2 ? 65 : 129 + 64 * (b - 3);
}

void pd_evaluate_json_path(const pd_config *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "%s/evaluate.json", pd_cfg_str(cfg, "run.dir"));
}

/* Train-split amino-acid frequencies (Laplace-smoothed), the composition baseline. */
static pd_status composition(pd_dataset *ds, const pd_entry_info *info, int64_t n, double freq[20])
{
    double count[20];
    for (int a = 0; a < 20; a++) count[a] = 1;
    uint8_t *aa = NULL, *chain = NULL;
    pd_status st = PD_OK;
    for (int64_t i = 0; st == PD_OK && i < n; i++) {
        if (info[i].split != 0) continue;
        uint8_t *a2 = realloc(aa, (size_t)info[i].length), *c2 = realloc(chain, (size_t)info[i].length);
        if (a2) aa = a2;
        if (c2) chain = c2;
        if (!a2 || !c2) st = PD_ERR_NOMEM;
        if (st == PD_OK) st = pd_dataset_read_sequence(ds, i, aa, chain);
        for (int r = 0; st == PD_OK && r < info[i].length; r++)
            if (aa[r] < 20) count[aa[r]]++;
    }
    free(aa);
    free(chain);
    double total = 0;
    for (int a = 0; a < 20; a++) total += count[a];
    for (int a = 0; a < 20; a++) freq[a] = count[a] / total;
    return st;
}

static int argmax20(const float *p)
{
    int best = 0;
    for (int a = 1; a < 20; a++)
        if (p[a] > p[best]) best = a;
    return best;
}

static void add_residue(eval_sums *s, int bin, int method, const float *logp, int native)
{
    s->q[bin][method][Q_CORRECT] += argmax20(logp) == native;
    s->q[bin][method][Q_NLL] += -(double)logp[native];
    s->q[bin][method][Q_N] += 1;
}

/* One test entry: design distributions with everything masked, and the three methods' sums. */
static pd_status evaluate_entry(pd_designer *d, pd_dataset *ds, int64_t index, const pd_entry_info *info, int samples,
                                uint64_t seed, const float comp_logp[20], eval_sums *s)
{
    pd_entry e;
    PD_TRY(pd_dataset_read_entry(ds, index, &e));
    const int64_t L = e.length;
    int32_t *tokens = pd_malloc((size_t)L * sizeof *tokens);
    float *logp = pd_malloc((size_t)samples * (size_t)L * 20 * sizeof *logp);
    float *head = pd_malloc((size_t)L * 20 * sizeof *head), *mean = pd_malloc((size_t)L * 20 * sizeof *mean);
    uint8_t *valid = pd_malloc((size_t)L);
    pd_status st = tokens && logp && head && mean && valid ? PD_OK : PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < L; i++) tokens[i] = PD_DIFFUSION_TOKEN_MASK;
    if (st == PD_OK) {
        pd_design_backbone bb = {(int32_t)L, e.atom14, e.chain, tokens};
        st = pd_designer_run(d, &bb, samples, pd_design_entry_seed(seed, info->name), logp, valid, head);
    }
    if (st == PD_OK) {
        /* the distribution averaged over samples (log of the mean probability) */
        for (int64_t i = 0; i < L * 20; i++) {
            double p = 0;
            for (int k = 0; k < samples; k++) p += exp((double)logp[(int64_t)k * L * 20 + i]);
            mean[i] = (float)log(fmax(p / samples, 1e-30));
        }
        const int bin = bin_index((int)L);
        s->entries[bin] += 1;
        for (int64_t i = 0; i < L; i++) {
            if (!valid[i] || e.aa[i] >= 20) continue;
            add_residue(s, bin, M_DIFFUSION, mean + i * 20, e.aa[i]);
            add_residue(s, bin, M_HEAD, head + i * 20, e.aa[i]);
            add_residue(s, bin, M_COMPOSITION, comp_logp, e.aa[i]);
        }
    } else {
        pd_error_context("evaluating test entry %s", info->name);
    }
    free(tokens);
    free(logp);
    free(head);
    free(mean);
    free(valid);
    pd_entry_free(&e);
    return st;
}

static double recovery_of(const double *q) { return q[Q_N] > 0 ? q[Q_CORRECT] / q[Q_N] : NAN; }
static double perplexity_of(const double *q) { return q[Q_N] > 0 ? exp(q[Q_NLL] / q[Q_N]) : NAN; }

static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fprintf(f, "null");
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void bin_label(int b, char *buf, size_t len)
{
    int lo, hi;
    pd_length_bin(bin_example(b), &lo, &hi);
    snprintf(buf, len, "%d-%d", lo, hi);
}

/* The pair head's figures (pd_bb_pair_sums) as "bb_vae_pair" in evaluate.json. */
static void write_pairs_json(FILE *f, const pd_bb_pair_sums *p)
{
    const double n = p->pairs > 0 ? p->pairs : 1, e = p->entries > 0 ? p->entries : 1;
    fprintf(f, ",\n  \"bb_vae_pair\": {\"pairs\": %.0f, \"distance_ce\": ", p->pairs);
    json_num(f, p->model_ce / n);
    fprintf(f, ", \"marginal_ce\": ");
    json_num(f, p->marginal_ce / n);
    fprintf(f, ", \"relpos_oracle_ce\": ");
    json_num(f, p->relpos_ce / n);
    fprintf(f, ",\n    \"contacts\": {\"definition\": \"CB-CB < 7.87 A, separation >= %d, same chain, top L/5 per entry\", "
            "\"entries\": %.0f, \"precision\": ", PD_BB_CONTACT_MIN_SEP, p->entries);
    json_num(f, p->model_precision / e);
    fprintf(f, ", \"relpos_oracle_precision\": ");
    json_num(f, p->oracle_precision / e);
    fprintf(f, ", \"random_precision\": ");
    json_num(f, p->random_precision / e);
    fprintf(f, "}}");
}

static pd_status write_json(const pd_config *cfg, const pd_designer *d, const eval_sums *s, const double total[][N_Q],
                            double entries, int samples, double seconds, const pd_bb_pair_sums *pairs)
{
    char path[4200], tmp[4300];
    pd_evaluate_json_path(cfg, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write %s (does run.dir exist?)", tmp);
    fprintf(f, "{\n  \"format\": \"proteindiff-evaluate\",\n  \"version\": 1,\n  \"split\": \"test\",\n  \"dataset\": ");
    json_string(f, pd_cfg_str(cfg, "data.dataset"));
    fprintf(f, ",\n  \"entries\": %.0f,\n  \"residues\": %.0f,\n  \"checkpoints\": {\"sc_vae\": ", entries,
            total[M_DIFFUSION][Q_N]);
    json_string(f, d->models->sc_path);
    fprintf(f, ", \"bb_vae\": ");
    json_string(f, d->models->bb_path);
    fprintf(f, ", \"diffusion\": ");
    json_string(f, d->models->dit_path);
    fprintf(f, "},\n  \"diffusion_settings\": {\"sampler\": \"%s\", \"steps\": %d, \"samples\": %d, \"decision\": \"argmax\", "
            "\"seed\": %lld},\n  \"seconds\": ", d->sampler.kind == PD_SAMPLER_DDIM ? "ddim" : "ddpm",
            d->sampler.kind == PD_SAMPLER_DDIM ? d->sampler.steps : pd_diffusion_get_config(d->models->dit)->timesteps,
            samples, (long long)pd_cfg_int(cfg, "design.seed"));
    json_num(f, seconds);
    for (int m = 0; m < PD_EVAL_METHODS; m++) {
        fprintf(f, ",\n  \"%s\": {\"recovery\": ", method_names[m]);
        json_num(f, recovery_of(total[m]));
        fprintf(f, ", \"perplexity\": ");
        json_num(f, perplexity_of(total[m]));
        fprintf(f, ", \"residues\": %.0f,\n    \"by_length\": {", total[m][Q_N]);
        int first = 1;
        for (int b = 0; b < MAX_BINS; b++) {
            if (s->entries[b] == 0) continue;
            char label[32];
            bin_label(b, label, sizeof label);
            fprintf(f, "%s\n      \"%s\": {\"recovery\": ", first ? "" : ",", label);
            json_num(f, recovery_of(s->q[b][m]));
            fprintf(f, ", \"perplexity\": ");
            json_num(f, perplexity_of(s->q[b][m]));
            fprintf(f, ", \"entries\": %.0f, \"residues\": %.0f}", s->entries[b], s->q[b][m][Q_N]);
            first = 0;
        }
        fprintf(f, "\n    }\n  }");
    }
    write_pairs_json(f, pairs);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return pd_fail(PD_ERR_IO, "cannot write %s", path);
    }
    return PD_OK;
}

static void print_table(const eval_sums *s, const double total[][N_Q], double entries)
{
    printf("%-11s %7s %8s   %-17s %-17s %-17s\n", "length", "entries", "residues", "diffusion", "bb_vae_head",
           "composition");
    printf("%-11s %7s %8s   %-17s %-17s %-17s\n", "", "", "", "recovery  ppl", "recovery  ppl", "recovery  ppl");
    for (int b = 0; b <= MAX_BINS; b++) {
        const double(*q)[N_Q] = b < MAX_BINS ? s->q[b] : total;
        const double n_entries = b < MAX_BINS ? s->entries[b] : entries;
        if (n_entries == 0) continue;
        char label[32];
        if (b < MAX_BINS) bin_label(b, label, sizeof label);
        else snprintf(label, sizeof label, "all");
        printf("%-11s %7.0f %8.0f", label, n_entries, q[M_DIFFUSION][Q_N]);
        for (int m = 0; m < PD_EVAL_METHODS; m++) printf("   %8.4f %7.2f", recovery_of(q[m]), perplexity_of(q[m]));
        printf("\n");
    }
    fflush(stdout);
}

pd_status pd_evaluate_run(const pd_config *cfg, MPI_Comm comm, pd_eval_result *out)
{
    memset(out, 0, sizeof *out);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const double t0 = pd_now();
    pd_dataset *ds = NULL;
    const char *path = pd_cfg_str(cfg, "data.dataset");
    PD_TRY(pd_agree(comm, pd_dataset_open(&ds, path, comm)));
    const int64_t n = pd_dataset_n_entries(ds);
    pd_entry_info *info = pd_calloc((size_t)n + 1, sizeof *info);
    int64_t *test = pd_calloc((size_t)n + 1, sizeof *test), *work = pd_calloc((size_t)n + 1, sizeof *work);
    int *owner = pd_calloc((size_t)n + 1, sizeof *owner);
    int64_t n_test = 0;
    pd_status st = info && test && work && owner ? PD_OK : PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < n; i++) {
        st = pd_dataset_entry_info(ds, i, &info[i]);
        if (st == PD_OK && info[i].split == 2) {
            work[n_test] = info[i].length;
            test[n_test++] = i;
        }
    }
    if (st == PD_OK && n_test == 0)
        st = pd_fail(PD_ERR_CONFIG, "the dataset %s has no test entries; set data.test_fraction > 0 (or a split file) "
                     "and featurize again", path);
    double freq[20];
    float comp_logp[20];
    if (st == PD_OK) st = composition(ds, info, n, freq);
    for (int a = 0; a < 20; a++) comp_logp[a] = (float)log(freq[a]);
    st = pd_agree(comm, st);
    pd_design_models models;
    int have_models = 0;
    if (st == PD_OK) {
        st = pd_design_models_load(&models, cfg, comm);
        have_models = st == PD_OK;
    }
    pd_designer d = {0};
    if (st == PD_OK) st = pd_agree(comm, pd_designer_init(&d, &models, cfg));
    eval_sums *sums = pd_calloc(1, sizeof *sums);
    if (!sums) st = pd_agree(comm, PD_ERR_NOMEM);
    const int samples = (int)pd_cfg_int(cfg, "design.eval_samples");
    const uint64_t seed = (uint64_t)pd_cfg_int(cfg, "design.seed");
    if (st == PD_OK) {
        pd_inputs_partition(work, (int)n_test, size, owner);
        pd_info("evaluate: %lld test entries of %s on %d rank(s); diffusion %s, %d step(s), %d sample(s) per entry, argmax",
                (long long)n_test, path, size, d.sampler.kind == PD_SAMPLER_DDIM ? "ddim" : "ddpm",
                d.sampler.kind == PD_SAMPLER_DDIM ? d.sampler.steps : pd_diffusion_get_config(models.dit)->timesteps,
                samples);
    }
    for (int64_t k = 0; st == PD_OK && k < n_test; k++) {
        if (owner[k] != rank) continue;
        st = evaluate_entry(&d, ds, test[k], &info[test[k]], samples, seed, comp_logp, sums);
    }
    st = pd_agree(comm, st);
    if (st == PD_OK)
        MPI_Allreduce(MPI_IN_PLACE, sums, (int)(sizeof *sums / sizeof(double)), MPI_DOUBLE, MPI_SUM, comm);
    pd_bb_pair_sums pairs = {0};
    if (st == PD_OK) st = pd_evaluate_bb_pairs(models.bb, ds, test, owner, n_test, comm, &pairs);
    const double seconds = pd_now() - t0;
    if (st == PD_OK) {
        double total[PD_EVAL_METHODS][N_Q] = {{0}};
        double entries = 0;
        for (int b = 0; b < MAX_BINS; b++) {
            entries += sums->entries[b];
            for (int m = 0; m < PD_EVAL_METHODS; m++)
                for (int q = 0; q < N_Q; q++) total[m][q] += sums->q[b][m][q];
        }
        for (int m = 0; m < PD_EVAL_METHODS; m++) {
            out->recovery[m] = recovery_of(total[m]);
            out->perplexity[m] = perplexity_of(total[m]);
        }
        out->entries = (long long)entries;
        out->residues = (long long)total[M_DIFFUSION][Q_N];
        out->seconds = seconds;
        if (rank == 0) {
            print_table(sums, total, entries);
            st = write_json(cfg, &d, sums, total, entries, samples, seconds, &pairs);
            const double np = pairs.pairs > 0 ? pairs.pairs : 1, ne = pairs.entries > 0 ? pairs.entries : 1;
            printf("bb_vae pair head: distance CE %.3f (marginal %.3f, relative-position oracle %.3f) over %.0f pairs; "
                   "top-L/5 contact precision (separation >= %d) %.3f (oracle %.3f, random %.3f) over %.0f entries\n",
                   pairs.model_ce / np, pairs.marginal_ce / np, pairs.relpos_ce / np, pairs.pairs, PD_BB_CONTACT_MIN_SEP,
                   pairs.model_precision / ne, pairs.oracle_precision / ne, pairs.random_precision / ne, pairs.entries);
        }
        st = pd_agree(comm, st);
        if (st == PD_OK) {
            char json[4200];
            pd_evaluate_json_path(cfg, json, sizeof json);
            pd_info("evaluate: recovery diffusion %.4f, bb_vae_head %.4f, composition %.4f over %lld residues of %lld "
                    "test entries in %.1f s; %s", out->recovery[M_DIFFUSION], out->recovery[M_HEAD],
                    out->recovery[M_COMPOSITION], out->residues, out->entries, seconds, json);
        }
    }
    free(sums);
    pd_designer_free(&d);
    if (have_models) pd_design_models_free(&models);
    free(info);
    free(test);
    free(work);
    free(owner);
    pd_dataset_close(ds);
    return st;
}
