/* design_run.c — `proteindiff design` (design_run.h): rank 0 expands --structure (leaving out
 * what OUT.parts/ of an interrupted run already holds) and every rank gets a contiguous,
 * size-balanced run of the remaining structures; each structure is read (backbone only, residue
 * names used only at fixed positions), designed with all its samples in one diffusion batch, tied
 * and turned into FASTA records (and --probs rows, --pdb-out files), journaled, and finally
 * gathered to rank 0, which writes the outputs in input order via NAME.tmp + rename. */
#include "design/design_run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rng.h"
#include "core/timer.h"
#include "dataset/inputs.h"
#include "design/design_journal.h"
#include "design/design_progress.h"
#include "design/designer.h"
#include "design/pdb_writer.h"
#include "design/probs_file.h"
#include "design/residue_rules.h"
#include "design/run_common.h"
#include "design/sequence.h"
#include "design/symmetry.h"
#include "design/target.h"
#include "parallel/comm.h"

uint64_t pd_design_entry_seed(uint64_t seed, const char *name)
{
    return (seed * 0x9E3779B97F4A7C15ull) ^ pd_fnv1a64(name, strlen(name));
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
    pd_residue_rules by_residue;
    pd_design_target_opts target_opts;
    pd_fasta_records prefill;
    int want_probs;
    const char *pdb_out;
} design_settings;

/* Mean over samples of the (tied) distributions: probs [L, 20], zeros where invalid. */
static void mean_probs(const float *logp, int samples, int64_t L, const uint8_t *valid, float *probs)
{
    for (int64_t i = 0; i < L; i++)
        for (int a = 0; a < 20; a++) {
            double sum = 0;
            for (int smp = 0; valid[i] && smp < samples; smp++) sum += exp((double)logp[((int64_t)smp * L + i) * 20 + a]);
            probs[i * 20 + a] = (float)(sum / samples);
        }
}

/* Design one structure: its FASTA records into fasta, its packed distribution into probs. */
static pd_status design_one(pd_designer *d, const design_settings *s, const char *path, pd_text *fasta, pd_text *probs,
                            int64_t *residues, int64_t *records)
{
    pd_design_target t;
    PD_TRY(pd_design_target_read(path, &s->target_opts, &t));
    const int64_t L = t.length;
    float *logp = pd_malloc((size_t)s->samples * (size_t)L * 20 * sizeof *logp);
    float *mean = s->want_probs ? pd_malloc((size_t)L * 20 * sizeof *mean) : NULL;
    uint8_t *valid = pd_malloc((size_t)L), *aa = pd_malloc((size_t)L);
    char *seq = pd_malloc((size_t)L + (size_t)t.n_chains + 1);
    pd_status st = logp && valid && aa && seq && (mean || !s->want_probs) ? PD_OK : PD_ERR_NOMEM;
    const uint64_t seed = pd_design_entry_seed(s->seed, t.name);
    const double t0 = pd_now();
    d->name = t.name;
    if (st == PD_OK) st = pd_designer_run(d, &(pd_design_backbone){L, t.atom14, t.chain, t.tokens}, s->samples, seed, logp, valid, NULL);
    d->name = NULL;
    for (int smp = 0; st == PD_OK && smp < s->samples && t.n_tied; smp++)
        st = pd_symmetry_tie_logp(logp + (int64_t)smp * L * 20, L, valid, t.tie);
    if (st == PD_OK && mean) {
        mean_probs(logp, s->samples, L, valid, mean);
        pd_probs_pack(&t, mean, valid, probs);
    }
    if (st == PD_OK) {
        char chains[512] = "";
        for (int c = 0; c < t.n_chains; c++)
            snprintf(chains + strlen(chains), sizeof chains - strlen(chains), "%s%s", c ? "/" : "", t.chain_ids[c]);
        int64_t n_valid = 0;
        for (int64_t i = 0; i < L; i++) n_valid += valid[i];
        if (t.native_known) {
            pd_design_target_format(&t, t.native, seq);
            pd_text_add(fasta, ">%s, native, chains=%s, length=%lld, designed=%lld, fixed=%lld, source=%s\n%s\n", t.name, chains,
                        (long long)L, (long long)(L - t.n_fixed), (long long)t.n_fixed, t.source, seq);
            (*records)++;
        }
        for (int k = 0; st == PD_OK && k < s->n_temps; k++)
            for (int smp = 0; st == PD_OK && smp < s->samples; smp++) {
                const float *lp = logp + (int64_t)smp * L * 20;
                st = pd_choose_sequence(lp, L, valid, t.fixed, t.rules, t.n_tied ? t.tie : NULL, s->temps[k],
                                        seed ^ 0x53455155454e4345ull, (uint64_t)smp * 4096 + (uint64_t)k, aa);
                if (st != PD_OK) break;
                pd_sequence_scores sc;
                pd_score_sequence(lp, L, valid, t.fixed, aa, t.native_known ? t.native : NULL, &sc);
                char nd[32], na[32], rec[32];
                fmt_num(nd, sizeof nd, sc.nll_designed);
                fmt_num(na, sizeof na, sc.nll_all);
                fmt_num(rec, sizeof rec, sc.recovery);
                pd_design_target_format(&t, aa, seq);
                pd_text_add(fasta, ">%s, T=%g, sample=%d, seed=%llu, nll_designed=%s, nll_all=%s, recovery=%s\n%s\n", t.name,
                            s->temps[k], smp + 1, (unsigned long long)s->seed, nd, na, rec, seq);
                (*records)++;
                if (s->pdb_out) {
                    char file[4400], remark[1200];
                    pd_pdb_design_path(s->pdb_out, t.name, s->temps[k], smp + 1, file, sizeof file);
                    snprintf(remark, sizeof remark, "proteindiff design %s T=%g sample=%d seed=%llu nll_designed=%s", t.name,
                             s->temps[k], smp + 1, (unsigned long long)s->seed, nd);
                    st = pd_pdb_write_design(file, &t, aa, remark);
                }
            }
        if (st == PD_OK && (fasta->failed || probs->failed)) st = pd_fail(PD_ERR_NOMEM, "design: output of %s", path);
        pd_debug("designed %s: %lld residues (%lld with a backbone), %d samples in %.2f s", t.name, (long long)L,
                 (long long)n_valid, s->samples, pd_now() - t0);
        *residues += L;
    }
    free(logp);
    free(mean);
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
    PD_TRY(pd_residue_rules_read(o->bias_by_residue, o->omit_by_residue, &s->by_residue));
    s->target_opts.chains = o->chains;
    s->target_opts.fixed = o->fixed;
    s->target_opts.symmetry = o->symmetry;
    s->target_opts.homo_oligomer = o->homo_oligomer;
    s->target_opts.rules = &s->rules;
    s->target_opts.by_residue = &s->by_residue;
    s->want_probs = o->probs != NULL;
    s->pdb_out = o->pdb_out;
    if (o->prefill) {
        PD_TRY(pd_fasta_read(o->prefill, &s->prefill));
        s->target_opts.prefill = &s->prefill;
    }
    return PD_OK;
}

/* Everything a design's bytes depend on besides the structure, for the journal's header: a
 * journal written with other settings is refused instead of mixed in. */
static void settings_line(const pd_config *cfg, const pd_design_options *o, const design_settings *s,
                          const pd_design_models *m, pd_text *out)
{
    pd_text_add(out, "samples=%d temperatures=", s->samples);
    for (int k = 0; k < s->n_temps; k++) pd_text_add(out, "%s%.17g", k ? "," : "", s->temps[k]);
    pd_text_add(out, " seed=%llu sampler=%s steps=%lld", (unsigned long long)s->seed, pd_cfg_str(cfg, "design.sampler"),
                pd_cfg_int(cfg, "design.steps"));
    const char *names[] = {"chains", "fixed", "prefill", "omit", "bias", "symmetry", "bias_by_residue", "omit_by_residue",
                           "probs", "pdb_out", "sc_vae", "bb_vae", "diffusion"};
    const char *values[] = {o->chains, o->fixed, o->prefill, o->omit, o->bias, o->symmetry, o->bias_by_residue,
                            o->omit_by_residue, o->probs ? "yes" : NULL, o->pdb_out, m->sc_path, m->bb_path, m->dit_path};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (values[k]) pd_text_add(out, " %s=%s", names[k], values[k]);
    if (o->homo_oligomer) pd_text_add(out, " homo_oligomer=yes");
    for (size_t i = 0; i < out->len; i++)
        if (out->s[i] == '\n' || out->s[i] == '\r') out->s[i] = ' ';
}

/* Rank 0's view of every structure's results, from the journal and from this run. */
typedef struct result_table {
    const pd_input_list *list;
    int *sorted;                  /* list indices sorted by path, for lookups */
    const char **fasta, **probs;
    size_t *fasta_len, *probs_len;
    uint8_t *have;
    int found;
} result_table;

static const pd_input_list *sort_list;
static int by_path(const void *a, const void *b)
{
    return strcmp(sort_list->items[*(const int *)a].path, sort_list->items[*(const int *)b].path);
}

static pd_status table_init(result_table *rt, const pd_input_list *list)
{
    memset(rt, 0, sizeof *rt);
    rt->list = list;
    const size_t n = (size_t)list->n + 1;
    rt->sorted = pd_malloc(n * sizeof *rt->sorted);
    rt->fasta = pd_calloc(n, sizeof *rt->fasta);
    rt->probs = pd_calloc(n, sizeof *rt->probs);
    rt->fasta_len = pd_calloc(n, sizeof *rt->fasta_len);
    rt->probs_len = pd_calloc(n, sizeof *rt->probs_len);
    rt->have = pd_calloc(n, 1);
    if (!rt->sorted || !rt->fasta || !rt->probs || !rt->fasta_len || !rt->probs_len || !rt->have) return PD_ERR_NOMEM;
    for (int i = 0; i < list->n; i++) rt->sorted[i] = i;
    sort_list = list;
    qsort(rt->sorted, (size_t)list->n, sizeof *rt->sorted, by_path);
    return PD_OK;
}

static void table_free(result_table *rt)
{
    free(rt->sorted);
    free(rt->fasta);
    free(rt->probs);
    free(rt->fasta_len);
    free(rt->probs_len);
    free(rt->have);
}

static void table_add(const pd_journal_entry *e, void *arg)
{
    result_table *rt = arg;
    int lo = 0, hi = rt->list->n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2, i = rt->sorted[mid];
        const char *p = rt->list->items[i].path;
        int c = strncmp(e->path, p, e->path_len);
        if (c == 0) c = p[e->path_len] ? -1 : 0;
        if (c == 0) {
            if (!rt->have[i]) rt->found++;
            rt->have[i] = 1;
            rt->fasta[i] = e->fasta;
            rt->fasta_len[i] = e->fasta_len;
            rt->probs[i] = e->probs;
            rt->probs_len[i] = e->probs_len;
            return;
        }
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
}

typedef struct resume_state {
    const char *parts;        /* OUT.parts, NULL: no journal (--out -) */
    const char *settings;
    pd_text journal;          /* rank 0: the frames of earlier runs */
    result_table table;       /* rank 0 */
    int next_run, files;
} resume_state;

/* Rank 0, once the list is known: the structures an earlier run already journaled. */
static pd_status skip_journaled(const pd_input_list *list, uint8_t *done, void *arg)
{
    resume_state *rs = arg;
    PD_TRY(table_init(&rs->table, list));
    if (!rs->parts) return PD_OK;
    PD_TRY(pd_journal_load(rs->parts, rs->settings, &rs->journal, &rs->next_run, &rs->files));
    pd_journal_parse(rs->journal.s, rs->journal.len, table_add, &rs->table);
    for (int i = 0; i < list->n; i++) done[i] = rs->table.have[i];
    if (rs->table.found)
        pd_info("design: resuming: %d of %d structure(s) already designed in %s", rs->table.found, list->n, rs->parts);
    return PD_OK;
}

/* Rank 0: the FASTA (and --probs) from the table, in input order. */
static pd_status write_outputs(const result_table *rt, const pd_design_options *o, const design_settings *s)
{
    pd_text fasta = {0};
    const char **packed = pd_calloc((size_t)rt->list->n + 1, sizeof *packed);
    size_t *packed_len = pd_calloc((size_t)rt->list->n + 1, sizeof *packed_len);
    if (!packed || !packed_len) {
        free(packed);
        free(packed_len);
        return PD_ERR_NOMEM;
    }
    int n_packed = 0;
    for (int i = 0; i < rt->list->n; i++) {
        if (!rt->have[i]) continue;
        pd_text_add_bytes(&fasta, rt->fasta[i], rt->fasta_len[i]);
        if (rt->probs_len[i]) {
            packed[n_packed] = rt->probs[i];
            packed_len[n_packed++] = rt->probs_len[i];
        }
    }
    pd_status st = fasta.failed ? pd_fail(PD_ERR_NOMEM, "design: the FASTA text") : PD_OK;
    if (st == PD_OK) st = pd_write_file_atomic(o->out, fasta.s ? fasta.s : "", fasta.len);
    if (st == PD_OK && o->probs) st = pd_probs_write(o->probs, n_packed, packed, packed_len, s->samples, "proteindiff " PACKAGE_VERSION);
    pd_text_free(&fasta);
    free(packed);
    free(packed_len);
    return st;
}

/* Test hook: PD_DEBUG_DESIGN_STALL=SECONDS pauses after every journaled structure, so a test can
 * kill a run part-way (tests/design/resume.sh). */
static void debug_stall(int rank)
{
    const char *v = getenv("PD_DEBUG_DESIGN_STALL");
    const double seconds = v ? atof(v) : 0;
    if (seconds <= 0) return;
    fprintf(stderr, "[r%d] design: PD_DEBUG_DESIGN_STALL: pausing %.1f s\n", rank, seconds);   /* every rank says it */
    fflush(stderr);
    const double until = pd_now() + seconds;
    while (pd_now() < until) usleep(20000);
}

static pd_status make_folder(const char *dir, const char *what)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return pd_fail(PD_ERR_IO, "%s: cannot create the folder %s: %s", what, dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return pd_fail(PD_ERR_IO, "%s: %s is not a folder", what, dir);
    return PD_OK;
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
    pd_design_models models;
    int have_models = 0;
    if (st == PD_OK) st = pd_design_models_load(&models, cfg, comm);
    have_models = st == PD_OK;
    char parts[4200];
    snprintf(parts, sizeof parts, "%s.parts", o->out);
    pd_text settings = {0};
    if (have_models) settings_line(cfg, o, &s, &models, &settings);
    resume_state rs = {strcmp(o->out, "-") ? parts : NULL, settings.s ? settings.s : "", {0}, {0}, 0, 0};
    pd_input_list list = {0};
    int *owner = NULL;
    uint8_t *done = NULL;
    st = pd_agree(comm, st == PD_OK && settings.failed ? PD_ERR_NOMEM : st);
    if (st == PD_OK) st = pd_structures_share(o->structure, comm, skip_journaled, &rs, &list, &owner, &done);
    if (st == PD_OK) MPI_Bcast(&rs.next_run, 1, MPI_INT, 0, comm);
    if (st == PD_OK && rank == 0 && o->pdb_out) st = make_folder(o->pdb_out, "--pdb-out");
    if (st == PD_OK && rank == 0 && rs.parts) st = make_folder(rs.parts, "design journal");
    st = pd_agree(comm, st);   /* every rank, whichever failed */
    pd_designer d;
    memset(&d, 0, sizeof d);
    if (st == PD_OK) st = pd_agree(comm, pd_designer_init(&d, &models, cfg));
    FILE *journal = NULL;
    int64_t to_do = 0, mine_to_do = 0;
    for (int i = 0; i < list.n; i++) {
        to_do += !done[i];
        mine_to_do += owner[i] == rank;
    }
    if (st == PD_OK && rs.parts && mine_to_do) st = pd_journal_open(rs.parts, rank, rs.next_run, rs.settings, &journal);
    st = pd_agree(comm, st);
    pd_text out = {0};
    double counts[4] = {0, 0, 0, 0};   /* structures, failed, residues, records */
    const double t0 = pd_now();
    if (st == PD_OK)
        pd_info("design: %lld structure(s) to design on %d rank(s), %d sample(s) x %d temperature(s), %s with %d steps",
                (long long)to_do, size, s.samples, s.n_temps, d.sampler.kind == PD_SAMPLER_DDIM ? "ddim" : "ddpm",
                d.sampler.kind == PD_SAMPLER_DDIM ? d.sampler.steps : pd_diffusion_get_config(models.dit)->timesteps);
    pd_design_progress progress;
    const int have_progress = st == PD_OK && pd_design_progress_start(&progress, comm, to_do) == PD_OK;
    if (st == PD_OK && !have_progress) st = PD_ERR_MPI;
    for (int i = 0; st == PD_OK && i < list.n; i++) {
        if (owner[i] != rank) continue;
        int64_t residues = 0, records = 0;
        pd_text fasta = {0}, probs = {0}, frame = {0};
        pd_status one = design_one(&d, &s, list.items[i].path, &fasta, &probs, &residues, &records);
        counts[0]++;
        if (one == PD_OK) {
            pd_journal_frame(&frame, list.items[i].path, fasta.s ? fasta.s : "", fasta.len, probs.s, probs.len);
            pd_text_add_bytes(&out, frame.s, frame.len);
            if (frame.failed || out.failed) one = pd_fail(PD_ERR_NOMEM, "design: output of %s", list.items[i].path);
            else if (journal) one = pd_journal_append(journal, rs.parts, &frame);
            if (one != PD_OK) st = one;
        }
        pd_text_free(&fasta);
        pd_text_free(&probs);
        pd_text_free(&frame);
        if (one == PD_ERR_NOMEM || st != PD_OK) {
            st = one;
            break;
        }
        if (one != PD_OK) {
            pd_warn("design: skipping %s: %s", list.items[i].path, pd_last_error());
            pd_clear_error();
            counts[1]++;
        } else {
            counts[2] += (double)residues;
            counts[3] += (double)records;
        }
        pd_design_progress_step(&progress, residues);
        debug_stall(rank);
    }
    if (have_progress) pd_design_progress_finish(&progress);
    if (journal) fclose(journal);
    st = pd_agree(comm, st);
    if (st == PD_OK) MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPI_DOUBLE, MPI_SUM, comm);
    const double seconds = pd_now() - t0;
    char *all = NULL;
    size_t all_len = 0;
    if (st == PD_OK) st = pd_gather_bytes(comm, &out, &all, &all_len);
    if (st == PD_OK && rank == 0) {
        pd_journal_parse(all, all_len, table_add, &rs.table);
        if (rs.table.found == 0)
            st = pd_fail(PD_ERR, "design: none of the %d structure(s) could be designed (see the warnings above)", list.n);
        if (st == PD_OK) st = write_outputs(&rs.table, o, &s);
        if (st == PD_OK && rs.parts) pd_journal_remove(rs.parts);
    }
    st = pd_agree(comm, st);
    if (st == PD_OK) {
        summary->structures = (int64_t)counts[0];
        summary->failed = (int64_t)counts[1];
        summary->residues = (int64_t)counts[2];
        summary->records = (int64_t)counts[3];
        summary->resumed = list.n - to_do;
        summary->seconds = seconds;
        const double designs = (counts[0] - counts[1]) * s.samples;
        pd_info("design: %lld structure(s) (%lld skipped, %lld from an earlier run), %lld residues, %.0f design(s) in %.2f s "
                "on %d rank(s): %.3g designs/s, %.3g rank-seconds per 100 residues per design; %lld FASTA records in %s",
                (long long)summary->structures, (long long)summary->failed, (long long)summary->resumed,
                (long long)summary->residues, designs, seconds, size, seconds > 0 ? designs / seconds : 0,
                counts[2] > 0 ? seconds * size * 100.0 / (counts[2] * s.samples) : 0, (long long)summary->records, o->out);
    }
    free(all);
    pd_text_free(&out);
    pd_text_free(&settings);
    pd_text_free(&rs.journal);
    if (rank == 0 && rs.table.sorted) table_free(&rs.table);
    pd_designer_free(&d);
    if (have_models) pd_design_models_free(&models);
    pd_inputs_free(&list);
    free(owner);
    free(done);
    pd_fasta_free(&s.prefill);
    pd_residue_rules_free(&s.by_residue);
    return st;
}
