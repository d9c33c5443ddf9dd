/* designer.c — one backbone through the three models (designer.h): the §5 graph and the BB-VAE
 * encoder mean (and sequence head), the DiT sampler over all samples as entries of one batch,
 * then the SC-VAE decoder + classifier in blocks of design.decode_rows residues. */
#include "design/designer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/graph.h"
#include "nn/ops.h"

pd_status pd_designer_init(pd_designer *d, pd_design_models *models, const pd_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->models = models;
    d->decode_rows = (int)pd_cfg_int(cfg, "design.decode_rows");
    d->classifier_temperature = pd_cfg_float(cfg, "design.classifier_temperature");
    d->latent_classifier = strcmp(pd_cfg_str(cfg, "design.classifier"), "latent") == 0;
    if (d->latent_classifier && pd_diffusion_get_config(models->dit)->sequence_loss <= 0)
        return pd_fail(PD_ERR_CONFIG, "design.classifier = \"latent\" needs a diffusion model trained with "
                                      "model.diffusion.sequence_loss > 0 (this one has none)");
    PD_TRY(pd_sampler_config_from(cfg, &d->sampler));
    const int T = pd_diffusion_get_config(models->dit)->timesteps;
    if (d->sampler.kind == PD_SAMPLER_DDIM && d->sampler.steps > T)
        return pd_fail(PD_ERR_CONFIG, "design.steps = %d exceeds model.diffusion.timesteps = %d", d->sampler.steps, T);
    return pd_graph_create(&d->g, 0);
}

void pd_designer_free(pd_designer *d)
{
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

/* BB-VAE: μ [L, bb] (and the head's log-probabilities) of the backbone's graph. */
static pd_status encode_backbone(pd_designer *d, const pd_design_backbone *bb, float *mu, uint8_t *valid,
                                 float *head_logp)
{
    pd_bb_vae *m = &d->models->bb;
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
        if (head_logp) {
            pd_real *tmp = pd_malloc((size_t)L * PD_DESIGN_AA * sizeof *tmp);
            if (!tmp) st = PD_ERR_NOMEM;
            for (int64_t i = 0; tmp && i < (int64_t)L * PD_DESIGN_AA; i++) tmp[i] = (pd_real)seq[i];
            if (tmp) log_softmax_rows(tmp, L, 1.0, head_logp);
            free(tmp);
        }
    }
    free(seq);
    pd_bb_graph_free(&graph);
    return st;
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
            for (int64_t r = 0; r < rows; r++) {
                pd_real l[PD_DESIGN_AA];
                for (int a = 0; a < PD_DESIGN_AA; a++) l[a] = rows_logp[r * PD_DESIGN_AA + a];
                log_softmax_rows(l, 1, d->classifier_temperature, rows_logp + r * PD_DESIGN_AA);
            }
            continue;
        }
        pd_tensor *z = pd_tensor_from_floats(d->g, 2, (int64_t[]){rows, D}, x0 + at * D);
        pd_tensor *logits = NULL;
        pd_status st = z ? pd_sc_vae_decode_classify(d->g, d->models->sc, z, NULL, &logits) : pd_graph_status(d->g);
        if (st != PD_OK) return st;
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
    const int64_t N = L * n_samples;
    float *mu = pd_malloc((size_t)L * (size_t)B * sizeof *mu);
    float *bb_rows = pd_malloc((size_t)N * (size_t)B * sizeof *bb_rows);
    float *x0 = pd_malloc((size_t)N * (size_t)D * sizeof *x0);
    int32_t *tokens = pd_malloc((size_t)N * sizeof *tokens);
    uint8_t *valid_rows = pd_malloc((size_t)N);
    uint64_t *row_ids = pd_malloc((size_t)N * sizeof *row_ids);
    int64_t *offset = pd_malloc((size_t)(n_samples + 1) * sizeof *offset);
    /* the backbone of every sample, when the DiT reads geometry */
    float *atom14 = dc->geometry ? pd_malloc((size_t)N * 14 * 3 * sizeof *atom14) : NULL;
    uint8_t *chain = dc->geometry ? pd_malloc((size_t)N) : NULL;
    pd_status st = mu && bb_rows && x0 && tokens && valid_rows && row_ids && offset &&
                   (!dc->geometry || (atom14 && chain)) ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK) st = encode_backbone(d, bb, mu, valid, head_logp);
    if (st == PD_OK) {
        /* every sample is one entry of the batch: same backbone and conditioning, own noise */
        for (int s = 0; s <= n_samples; s++) offset[s] = (int64_t)s * L;
        for (int s = 0; s < n_samples; s++)
            for (int64_t i = 0; i < L; i++) {
                const int64_t r = s * L + i;
                memcpy(bb_rows + r * B, mu + i * B, (size_t)B * sizeof *mu);
                tokens[r] = bb->tokens[i];
                valid_rows[r] = valid[i];
                row_ids[r] = ((uint64_t)s << 32) | (uint64_t)i;
            }
        if (atom14)
            for (int s = 0; s < n_samples; s++) {
                memcpy(atom14 + (size_t)s * L * 14 * 3, bb->atom14, (size_t)L * 14 * 3 * sizeof *atom14);
                memcpy(chain + (size_t)s * L, bb->chain, (size_t)L);
            }
        pd_diffusion_cond cond = {.n_entries = n_samples, .offset = offset, .bb_mu = bb_rows, .tokens = tokens,
                                  .valid = valid_rows, .atom14 = atom14, .chain = chain};
        st = pd_diffusion_sample(d->g, d->models->dit, &cond, &d->sampler, seed, row_ids, x0);
    }
    if (st == PD_OK) st = pd_designer_decode_classify(d, x0, N, logp);
    if (st == PD_OK)
        for (int64_t r = 0; r < N; r++)
            if (!valid_rows[r]) memset(logp + r * PD_DESIGN_AA, 0, PD_DESIGN_AA * sizeof *logp);
    free(mu);
    free(bb_rows);
    free(x0);
    free(tokens);
    free(valid_rows);
    free(row_ids);
    free(offset);
    free(atom14);
    free(chain);
    return st;
}
