/* designer.c — one backbone through the three models (designer.h): the §5 graph and the BB-VAE
 * encoder mean (and sequence head), the DiT sampler over the samples as entries of one batch (in
 * groups that fit the memory budget), then the SC-VAE decoder + classifier in blocks of
 * design.decode_rows residues (fewer when the budget asks). */
#include "design/designer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "features/graph.h"
#include "nn/ops.h"
#include "parallel/memory_budget.h"

static double mib(double bytes) { return bytes / 1048576.0; }

/* The memory plan: estimates of the three networks' calls, the budget, the room they share. */
static pd_status plan_memory(pd_designer *d, const pd_config *cfg)
{
    PD_TRY(pd_stage_memory_infer("bb_vae", "encode", cfg, &d->mem_bb));
    PD_TRY(pd_stage_memory_infer("diffusion", "denoise", cfg, &d->mem_denoise));
    PD_TRY(pd_stage_memory_infer("sc_vae", "decode", cfg, &d->mem_decode));
    d->budget = pd_memory_budget(cfg, MPI_COMM_WORLD, 0, d->budget_how, sizeof d->budget_how);
    d->model_bytes = 4.0 * (double)(pd_params_count(pd_sc_vae_params(d->models->sc)) +
                                    pd_params_count(pd_bb_vae_params(d->models->bb)) +
                                    pd_params_count(pd_diffusion_params(d->models->dit)));
    d->room = d->budget - d->model_bytes;
    const int32_t one = 1;
    const double per_row = pd_stage_memory_bytes(&d->mem_decode, &one, 1) - d->mem_decode.fixed;
    const double rows = per_row > 0 ? (d->room - d->mem_decode.fixed) / per_row : 1e18;
    const int configured = d->decode_rows;
    if (rows < d->decode_rows) d->decode_rows = rows >= 1 ? (int)rows : 1;
    const int32_t L = 100;
    const double dit100 = pd_stage_memory_bytes(&d->mem_denoise, &L, 1);
    pd_info("design memory plan (per rank): budget %.1f MiB (%s); models %.1f MiB; one sample of a 100-residue chain "
            "%.1f MiB per DiT call [%s], %.0f sample(s) of it per call; SC-VAE decode %d residues per call "
            "(design.decode_rows = %d) [%s]", mib(d->budget), d->budget_how, mib(d->model_bytes), mib(dit100),
            d->mem_denoise.basis, dit100 > 0 ? floor(d->room / dit100) : 0, d->decode_rows, configured, d->mem_decode.basis);
    return PD_OK;
}

/* One DiT call on n samples of an L-residue backbone (n entries of the same length). */
static double samples_bytes(const pd_stage_memory *m, int64_t L, int n)
{
    return pd_stage_memory_bytes_uniform(m, (double)L, n);
}

/* A backbone none of whose samples fits: the error names it, its length and the bytes. */
static pd_status too_long(const pd_designer *d, const pd_design_backbone *bb, const char *what, double need)
{
    return pd_fail(PD_ERR_NOMEM,
                   "design memory plan: %s%s%s(%d residues) does not fit the budget of %.1f MiB per rank (%s): %s needs "
                   "~%.1f MiB besides %.1f MiB of models. Raise run.memory_budget_mb, run fewer ranks per node, or leave "
                   "the chain out", d->name ? "backbone " : "", d->name ? d->name : "", d->name ? " " : "a backbone ",
                   (int)bb->length, mib(d->budget), d->budget_how, what, mib(need), mib(d->model_bytes));
}

pd_status pd_designer_init(pd_designer *d, pd_design_models *models, const pd_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->models = models;
    d->decode_rows = (int)pd_cfg_int(cfg, "design.decode_rows");
    d->classifier_temperature = pd_cfg_float(cfg, "design.classifier_temperature");
    d->latent_classifier = strcmp(pd_cfg_str(cfg, "design.classifier"), "latent") == 0;
    d->hidden_classifier = strcmp(pd_cfg_str(cfg, "design.classifier"), "hidden") == 0;
    if (d->latent_classifier && pd_diffusion_get_config(models->dit)->sequence_loss <= 0)
        return pd_fail(PD_ERR_CONFIG, "design.classifier = \"latent\" needs a diffusion model trained with "
                                      "model.diffusion.sequence_loss > 0 (this one has none)");
    if (d->hidden_classifier && pd_diffusion_get_config(models->dit)->sequence_head != PD_SEQ_HEAD_HIDDEN)
        return pd_fail(PD_ERR_CONFIG, "design.classifier = \"hidden\" needs a diffusion model trained with "
                                      "model.diffusion.sequence_head = \"hidden\" (this one has none)");
    PD_TRY(pd_sampler_config_from(cfg, &d->sampler));
    const int T = pd_diffusion_get_config(models->dit)->timesteps;
    pd_status st = d->sampler.kind == PD_SAMPLER_DDIM && d->sampler.steps > T
                       ? pd_fail(PD_ERR_CONFIG, "design.steps = %d exceeds model.diffusion.timesteps = %d", d->sampler.steps, T)
                       : PD_OK;
    /* collective: every rank reaches it, whatever the local status */
    const pd_status plan = plan_memory(d, cfg);
    if (st == PD_OK) st = plan;
    if (st == PD_OK) st = pd_graph_create(&d->g, 0);
    return st;
}

void pd_designer_free(pd_designer *d)
{
    if (d->runs > 0 && d->peak_plan > 0) {
        char decode[160] = "no SC-VAE decode (design.classifier = \"latent\" or \"hidden\")";
        if (!d->latent_classifier && !d->hidden_classifier)
            snprintf(decode, sizeof decode, "largest SC-VAE decode call %.2f MiB against %.2f MiB (%+.0f %%)",
                     mib(d->decode_peak), mib(d->decode_plan),
                     d->decode_plan > 0 ? 100.0 * (d->decode_peak / d->decode_plan - 1) : 0);
        pd_info("design memory: largest arena peak of a sampler run %.2f MiB against the plan's %.2f MiB (%+.0f %%); %lld "
                "backbone(s) in %lld sampler group(s); %s",
                mib(d->peak_bytes), mib(d->peak_plan), 100.0 * (d->peak_bytes / d->peak_plan - 1), (long long)d->runs,
                (long long)d->groups, decode);
    }
    if (d->g) pd_graph_destroy(d->g);
    d->g = NULL;
}

/* log-softmax of logits / temperature, row by row */
static void log_softmax_rows(const pd_real *logits, int64_t rows, double temperature, float *out)
{
    for (int64_t r = 0; r < rows; r++) {
        const pd_real *l = logits + r * PD_DESIGN_AA;
        double mx = l[0] / temperature, sum = 0;
        for (int a = 1; a < PD_DESIGN_AA; a++) mx = fmax(mx, l[a] / temperature);
        for (int a = 0; a < PD_DESIGN_AA; a++) sum += exp(l[a] / temperature - mx);
        double lse = mx + log(sum);
        for (int a = 0; a < PD_DESIGN_AA; a++) out[r * PD_DESIGN_AA + a] = (float)(l[a] / temperature - lse);
    }
}

/* The same for float logits [rows, 20], a row at a time through a copy (out may be logits). */
static void log_softmax_float_rows(const float *logits, int64_t rows, double temperature, float *out)
{
    for (int64_t r = 0; r < rows; r++) {
        pd_real l[PD_DESIGN_AA];
        for (int a = 0; a < PD_DESIGN_AA; a++) l[a] = (pd_real)logits[r * PD_DESIGN_AA + a];
        log_softmax_rows(l, 1, temperature, out + r * PD_DESIGN_AA);
    }
}

/* BB-VAE: μ [L, bb] (and the head's log-probabilities) of the backbone's graph. */
static pd_status encode_backbone(pd_designer *d, const pd_design_backbone *bb, float *mu, uint8_t *valid,
                                 float *head_logp)
{
    pd_bb_vae *m = d->models->bb;
    const int L = bb->length;
    pd_bb_backbone view = {.length = L, .atom14 = bb->atom14, .mask = NULL, .chain = bb->chain};
    pd_bb_graph graph;
    PD_TRY(pd_bb_graph_build(&graph, 1, &view, m->cfg.neighbors, 0));
    float *seq = head_logp ? pd_malloc((size_t)L * PD_DESIGN_AA * sizeof *seq) : NULL;
    pd_status st = head_logp && !seq ? PD_ERR_NOMEM : PD_OK;
    pd_graph_reset(d->g);
    if (st == PD_OK) st = head_logp ? pd_bb_vae_predict(d->g, m, &graph, mu, seq) : pd_bb_vae_encode(d->g, m, &graph, mu);
    pd_graph_reset(d->g);
    if (st == PD_OK) {
        for (int i = 0; i < L; i++) valid[i] = graph.node_valid[i] ? 1 : 0;
        if (head_logp) log_softmax_float_rows(seq, L, 1.0, head_logp);
    }
    free(seq);
    pd_bb_graph_free(&graph);
    return st;
}

void pd_designer_logits_to_logp(const pd_designer *d, const float *logits, int64_t n, float *logp)
{
    log_softmax_float_rows(logits, n, d->classifier_temperature, logp);
}

pd_status pd_designer_decode_classify(pd_designer *d, const float *x0, int64_t n, float *logp)
{
    const int D = pd_sc_vae_get_config(d->models->sc)->latent;
    for (int64_t at = 0; at < n; at += d->decode_rows) {
        const int64_t rows = n - at < d->decode_rows ? n - at : d->decode_rows;
        pd_graph_reset(d->g);
        if (d->latent_classifier) {
            /* the latent classifier's logits go through the caller's rows, then in place */
            float *rows_logp = logp + at * PD_DESIGN_AA;
            PD_TRY(pd_diffusion_classify(d->g, d->models->dit, x0 + at * D, rows, rows_logp));
            pd_designer_logits_to_logp(d, rows_logp, rows, rows_logp);
            continue;
        }
        pd_arena_window_start(pd_graph_arena(d->g));
        pd_tensor *z = pd_tensor_from_floats(d->g, 2, (int64_t[]){rows, D}, x0 + at * D);
        pd_tensor *logits = NULL;
        pd_status st = z ? pd_sc_vae_decode_classify(d->g, d->models->sc, z, NULL, &logits) : pd_graph_status(d->g);
        if (st != PD_OK) return st;
        const double peak = (double)pd_arena_window_peak(pd_graph_arena(d->g));
        if (peak > d->decode_peak) {
            const int32_t r = (int32_t)rows;
            d->decode_peak = peak;
            d->decode_plan = pd_stage_memory_bytes(&d->mem_decode, &r, 1);
        }
        log_softmax_rows(logits->data, rows, d->classifier_temperature, logp + at * PD_DESIGN_AA);
    }
    pd_graph_reset(d->g);
    return PD_OK;
}

pd_status pd_designer_run(pd_designer *d, const pd_design_backbone *bb, int n_samples, uint64_t seed, float *logp,
                          uint8_t *valid, float *head_logp)
{
    const int64_t L = bb->length;
    if (L < 1 || n_samples < 1) return pd_fail(PD_ERR, "design: %lld residues, %d samples", (long long)L, n_samples);
    const pd_diffusion_config *dc = pd_diffusion_get_config(d->models->dit);
    const int D = dc->sc_latent, B = dc->bb_latent;
    /* The plan: the encoder on the backbone, and how many samples one DiT call can hold. */
    const int32_t len = (int32_t)L;
    const double need_bb = pd_stage_memory_bytes(&d->mem_bb, &len, 1), need_one = samples_bytes(&d->mem_denoise, L, 1);
    if (need_bb > d->room) return too_long(d, bb, "the BB-VAE encoder on it", need_bb);
    if (need_one > d->room) return too_long(d, bb, "one diffusion sample of it (a DiT call)", need_one);
    int lo = 1, hi = n_samples;
    while (lo < hi) {   /* the largest group of samples whose DiT call fits */
        const int mid = lo + (hi - lo + 1) / 2;
        if (samples_bytes(&d->mem_denoise, L, mid) <= d->room) lo = mid;
        else hi = mid - 1;
    }
    const int group = lo;
    const int64_t N = L * group;
    float *mu = pd_malloc((size_t)L * (size_t)B * sizeof *mu);
    float *bb_rows = pd_malloc((size_t)N * (size_t)B * sizeof *bb_rows);
    float *x0 = pd_malloc((size_t)N * (size_t)D * sizeof *x0);
    float *seq_logits = d->hidden_classifier ? pd_malloc((size_t)N * PD_DESIGN_AA * sizeof *seq_logits) : NULL;
    int32_t *tokens = pd_malloc((size_t)N * sizeof *tokens);
    uint8_t *valid_rows = pd_malloc((size_t)N);
    uint64_t *row_ids = pd_malloc((size_t)N * sizeof *row_ids);
    int64_t *offset = pd_malloc((size_t)(group + 1) * sizeof *offset);
    /* the backbone of every sample, when the DiT reads geometry */
    float *atom14 = dc->geometry ? pd_malloc((size_t)N * 14 * 3 * sizeof *atom14) : NULL;
    uint8_t *chain = dc->geometry ? pd_malloc((size_t)N) : NULL;
    pd_status st = mu && bb_rows && x0 && (!d->hidden_classifier || seq_logits) && tokens && valid_rows && row_ids && offset &&
                   (!dc->geometry || (atom14 && chain)) ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK) st = encode_backbone(d, bb, mu, valid, head_logp);
    if (st == PD_OK) {
        /* every sample of a group is one entry of the batch: same backbone and conditioning, own noise */
        for (int s = 0; s <= group; s++) offset[s] = (int64_t)s * L;
        for (int s = 0; s < group; s++)
            for (int64_t i = 0; i < L; i++) {
                const int64_t r = s * L + i;
                memcpy(bb_rows + r * B, mu + i * B, (size_t)B * sizeof *mu);
                tokens[r] = bb->tokens[i];
                valid_rows[r] = valid[i];
            }
        if (atom14)
            for (int s = 0; s < group; s++) {
                memcpy(atom14 + (size_t)s * L * 14 * 3, bb->atom14, (size_t)L * 14 * 3 * sizeof *atom14);
                memcpy(chain + (size_t)s * L, bb->chain, (size_t)L);
            }
    }
    pd_arena *arena = pd_graph_arena(d->g);
    for (int first = 0; st == PD_OK && first < n_samples; first += group) {
        const int n = n_samples - first < group ? n_samples - first : group;
        for (int s = 0; s < n; s++)
            for (int64_t i = 0; i < L; i++) row_ids[s * L + i] = ((uint64_t)(first + s) << 32) | (uint64_t)i;
        pd_diffusion_cond cond = {.n_entries = n, .offset = offset, .bb_mu = bb_rows, .tokens = tokens,
                                  .valid = valid_rows, .atom14 = atom14, .chain = chain};
        pd_arena_window_start(arena);
        st = pd_diffusion_sample_seq(d->g, d->models->dit, &cond, &d->sampler, seed, row_ids, x0, seq_logits);
        const double peak = (double)pd_arena_window_peak(arena);
        if (st == PD_OK && peak > d->peak_bytes) {
            d->peak_bytes = peak;
            d->peak_plan = samples_bytes(&d->mem_denoise, L, n);
        }
        d->groups++;
        const int64_t rows = (int64_t)n * L;
        float *out = logp + (int64_t)first * L * PD_DESIGN_AA;
        if (st == PD_OK && seq_logits) pd_designer_logits_to_logp(d, seq_logits, rows, out);
        else if (st == PD_OK) st = pd_designer_decode_classify(d, x0, rows, out);
        if (st == PD_OK)
            for (int64_t r = 0; r < rows; r++)
                if (!valid_rows[r]) memset(logp + ((int64_t)first * L + r) * PD_DESIGN_AA, 0, PD_DESIGN_AA * sizeof *logp);
    }
    d->runs++;
    free(mu);
    free(bb_rows);
    free(x0);
    free(seq_logits);
    free(tokens);
    free(valid_rows);
    free(row_ids);
    free(offset);
    free(atom14);
    free(chain);
    return st;
}
