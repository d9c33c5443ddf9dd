/* score_run.c — `proteindiff score` (score_run.h): structures shared over the ranks as in design,
 * one masked design pass per structure averaged over samples, and one TSV row per residue and
 * sequence plus a per-sequence mean row, gathered to rank 0 in input order. */
#include "design/score_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"
#include "design/design_run.h"
#include "design/designer.h"
#include "design/run_common.h"
#include "design/sequence.h"
#include "design/target.h"
#include "parallel/comm.h"

typedef struct score_totals {
    double nll_sum;
    int64_t residues, sequences;
} score_totals;

/* Rows of one sequence (letters, no '/', length L) of target t under logp [L, 20]. */
static void score_rows(const pd_design_target *t, const float *logp, const uint8_t *valid, const char *label,
                       const char *letters, pd_text *out, score_totals *tot)
{
    double sum = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < t->length; i++) {
        const int a = pd_aa_index(letters[i]);
        const char ic[2] = {t->icode[i] == ' ' ? '\0' : t->icode[i], '\0'};
        pd_text_add(out, "%s\t%s\t%s\t%d\t%s\t%c\t", t->name, label, t->chain_ids[t->chain[i]], t->resnum[i], ic,
                    a >= 0 ? PD_AA_LETTERS[a] : 'X');
        if (a < 0 || !valid[i]) {
            pd_text_add(out, "NA\n");
            continue;
        }
        const double nll = -(double)logp[i * 20 + a];
        pd_text_add(out, "%.4f\n", nll);
        sum += nll;
        n++;
    }
    if (n) pd_text_add(out, "%s\t%s\t*\t*\t\tmean\t%.4f\n", t->name, label, sum / (double)n);
    else pd_text_add(out, "%s\t%s\t*\t*\t\tmean\tNA\n", t->name, label);
    tot->nll_sum += sum;
    tot->residues += n;
    tot->sequences++;
}

static pd_status score_one(pd_designer *d, const pd_config *cfg, const pd_score_options *o, const pd_fasta_records *seqs,
                           const char *path, pd_text *out, score_totals *tot)
{
    pd_design_target t;
    pd_design_target_opts opts = {.chains = o->chains};
    PD_TRY(pd_design_target_read(path, &opts, &t));
    const int64_t L = t.length;
    const int samples = (int)pd_cfg_int(cfg, "design.samples");
    pd_status st = PD_OK;
    /* the sequences first, so a wrong length is found before the model runs */
    int n_named = 0;
    for (int k = 0; seqs && k < seqs->n; k++) {
        if (strcmp(seqs->name[k], t.name) && seqs->n != 1) continue;
        n_named++;
        if ((int64_t)strlen(seqs->seq[k]) != L)
            st = pd_fail(PD_ERR_USAGE, "--sequences: record %d ('%s') has %zu residues but the chains of %s have %lld", k + 1,
                         seqs->name[k], strlen(seqs->seq[k]), path, (long long)L);
    }
    if (st == PD_OK && seqs && !n_named)
        st = pd_fail(PD_ERR_USAGE, "--sequences: no record is named '%s' (records are matched by the file stem)", t.name);
    if (st == PD_OK && !seqs && !t.native_known)
        st = pd_fail(PD_ERR_USAGE, "%s has no residue names to score; give the sequences with --sequences", path);
    float *logp = st == PD_OK ? pd_malloc((size_t)samples * (size_t)L * 20 * sizeof *logp) : NULL;
    uint8_t *valid = st == PD_OK ? pd_malloc((size_t)L) : NULL;
    char *letters = st == PD_OK ? pd_malloc((size_t)L + 1) : NULL;
    if (st == PD_OK && (!logp || !valid || !letters)) st = PD_ERR_NOMEM;
    d->name = t.name;
    if (st == PD_OK)
        st = pd_designer_run(d, &(pd_design_backbone){L, t.atom14, t.chain, t.tokens}, samples,
                             pd_design_entry_seed((uint64_t)pd_cfg_int(cfg, "design.seed"), t.name), logp, valid, NULL);
    d->name = NULL;
    if (st == PD_OK) {
        /* the mean distribution over samples, as log-probabilities in the first sample's rows */
        for (int64_t r = 0; r < L * 20; r++) {
            double p = 0;
            for (int s = 0; s < samples; s++) p += exp((double)logp[(int64_t)s * L * 20 + r]);
            logp[r] = (float)log(p / samples);
        }
        if (!seqs) {
            for (int64_t i = 0; i < L; i++) letters[i] = t.native[i] < 20 ? PD_AA_LETTERS[t.native[i]] : 'X';
            letters[L] = '\0';
            score_rows(&t, logp, valid, "native", letters, out, tot);
        }
        for (int k = 0; seqs && k < seqs->n; k++) {
            if (strcmp(seqs->name[k], t.name) && seqs->n != 1) continue;
            char label[32];
            snprintf(label, sizeof label, "#%d", k + 1);
            score_rows(&t, logp, valid, label, seqs->seq[k], out, tot);
        }
        if (out->failed) st = pd_fail(PD_ERR_NOMEM, "score: rows of %s", path);
    }
    free(logp);
    free(valid);
    free(letters);
    pd_design_target_free(&t);
    return st;
}

pd_status pd_score_run(const pd_config *cfg, const pd_score_options *o, MPI_Comm comm, pd_score_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (!o->structure || !o->out) return pd_agree(comm, pd_fail(PD_ERR_USAGE, "score needs --structure and --out"));
    pd_fasta_records seqs = {0};
    pd_status st = pd_agree(comm, o->sequences ? pd_fasta_read(o->sequences, &seqs) : PD_OK);
    pd_input_list list = {0};
    int *owner = NULL;
    uint8_t *done = NULL;
    if (st == PD_OK) st = pd_structures_share(o->structure, comm, NULL, NULL, &list, &owner, &done);
    pd_design_models models;
    const int have_models = st == PD_OK && (st = pd_design_models_load(&models, cfg, comm)) == PD_OK;
    pd_designer d;
    memset(&d, 0, sizeof d);
    if (st == PD_OK) st = pd_agree(comm, pd_designer_init(&d, &models, cfg));
    pd_text out = {0};
    if (rank == 0) pd_text_add(&out, "entry\tsequence\tchain\tresnum\ticode\taa\tnll\n");
    score_totals tot = {0, 0, 0};
    double counts[2] = {0, 0};   /* structures, failed */
    const double t0 = pd_now();
    for (int i = 0; st == PD_OK && i < list.n; i++) {
        if (owner[i] != rank) continue;
        const size_t mark = out.len;
        score_totals one_tot = {0, 0, 0};
        pd_status one = score_one(&d, cfg, o, o->sequences ? &seqs : NULL, list.items[i].path, &out, &one_tot);
        counts[0]++;
        if (one == PD_ERR_NOMEM) {
            st = one;
            break;
        }
        if (one != PD_OK) {
            pd_warn("score: skipping %s: %s", list.items[i].path, pd_last_error());
            pd_clear_error();
            out.len = mark;   /* no partial rows */
            if (out.s) out.s[mark] = '\0';
            counts[1]++;
            continue;
        }
        tot.nll_sum += one_tot.nll_sum;
        tot.residues += one_tot.residues;
        tot.sequences += one_tot.sequences;
    }
    st = pd_agree(comm, st);
    double sums[5] = {counts[0], counts[1], tot.nll_sum, (double)tot.residues, (double)tot.sequences};
    if (st == PD_OK) MPI_Allreduce(MPI_IN_PLACE, sums, 5, MPI_DOUBLE, MPI_SUM, comm);
    char *all = NULL;
    size_t all_len = 0;
    if (st == PD_OK) st = pd_gather_bytes(comm, &out, &all, &all_len);
    if (st == PD_OK && sums[0] == sums[1])
        st = pd_fail(PD_ERR, "score: none of the %d structure(s) could be scored (see the warnings above)", list.n);
    if (st == PD_OK && rank == 0) st = pd_write_file_atomic(o->out, all, all_len);
    st = pd_agree(comm, st);
    if (st == PD_OK) {
        summary->structures = (int64_t)sums[0];
        summary->failed = (int64_t)sums[1];
        summary->residues = (int64_t)sums[3];
        summary->sequences = (int64_t)sums[4];
        summary->mean_nll = sums[3] > 0 ? sums[2] / sums[3] : NAN;
        pd_info("score: %lld structure(s) (%lld skipped), %lld sequence(s), %lld residues scored, mean nll %.4f, in %.2f s "
                "on %d rank(s); %s", (long long)summary->structures, (long long)summary->failed, (long long)summary->sequences,
                (long long)summary->residues, summary->mean_nll, pd_now() - t0, size, o->out);
    }
    free(all);
    pd_text_free(&out);
    pd_designer_free(&d);
    if (have_models) pd_design_models_free(&models);
    pd_inputs_free(&list);
    free(owner);
    free(done);
    pd_fasta_free(&seqs);
    return st;
}
