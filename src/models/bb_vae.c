/* bb_vae.c — parameters and forward code of the backbone VAE (SPEC.md section 7): edge
 * embedding, message-passing encoder with edge updates, Gaussian latent head, post-LN
 * transformer decoder over each entry (padding-masked), pairwise and sequence heads, loss. */
#include "models/bb_vae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

void pd_bb_vae_config_default(pd_bb_vae_config *c)
{
    *c = (pd_bb_vae_config){.width = 64, .layers = 3, .neighbors = 16, .latent = 32, .decoder_layers = 2,
                            .heads = 4, .beta_kl = 1e-3};
}

pd_status pd_bb_vae_config_from(const pd_config *cfg, pd_bb_vae_config *c)
{
    c->width = (int)pd_cfg_int(cfg, "model.bb_vae.width");
    c->layers = (int)pd_cfg_int(cfg, "model.bb_vae.layers");
    c->neighbors = (int)pd_cfg_int(cfg, "model.bb_vae.neighbors");
    c->latent = (int)pd_cfg_int(cfg, "model.bb_vae.latent");
    c->decoder_layers = (int)pd_cfg_int(cfg, "model.bb_vae.decoder_layers");
    c->heads = (int)pd_cfg_int(cfg, "model.bb_vae.heads");
    c->beta_kl = pd_cfg_float(cfg, "model.bb_vae.beta_kl");
    if (c->heads < 1 || c->width % c->heads != 0)
        return pd_fail(PD_ERR_CONFIG, "%s: model.bb_vae.heads = %d must divide model.bb_vae.width = %d",
                       cfg->file ? cfg->file : "run file", c->heads, c->width);
    if ((c->width / c->heads) % 2 != 0)
        return pd_fail(PD_ERR_CONFIG, "%s: the decoder head dimension model.bb_vae.width / model.bb_vae.heads = %d / %d "
                       "= %d must be even (rotary position embeddings rotate pairs of dimensions)",
                       cfg->file ? cfg->file : "run file", c->width, c->heads, c->width / c->heads);
    return PD_OK;
}

/* ---- parameters ---- */

void pd_bb_vae_destroy(pd_bb_vae *m)
{
    if (!m) return;
    pd_params_free(&m->params);
    free(m->enc);
    free(m->dec);
    free(m->unit_of_enc_layer);
    free(m->unit_of_dec_layer);
    free(m);
}

pd_params *pd_bb_vae_params(pd_bb_vae *m) { return &m->params; }
const pd_bb_vae_config *pd_bb_vae_get_config(const pd_bb_vae *m) { return &m->cfg; }

pd_status pd_bb_vae_create(pd_bb_vae **out, const pd_bb_vae_config *cfg, const pd_model_opts *opts)
{
    *out = NULL;
    if (cfg->width < 1 || cfg->layers < 1 || cfg->neighbors < 1 || cfg->latent < 1 || cfg->decoder_layers < 1 ||
        cfg->heads < 1 || cfg->width % cfg->heads != 0 || (cfg->width / cfg->heads) % 2 != 0)
        return pd_fail(PD_ERR_CONFIG, "bb_vae: width %d, layers %d, neighbors %d, latent %d, decoder_layers %d, heads %d: "
                       "every size must be >= 1, heads must divide width and width / heads must be even "
                       "(model.bb_vae.*)",
                       cfg->width, cfg->layers, cfg->neighbors, cfg->latent, cfg->decoder_layers, cfg->heads);
    pd_bb_vae *m = pd_calloc(1, sizeof *m);
    if (!m) return pd_fail(PD_ERR_NOMEM, "bb_vae: out of memory creating the model");
    m->cfg = *cfg;
    int64_t W = cfg->width, F = PD_BB_VAE_FFN_MULT * W;
    m->enc = calloc((size_t)cfg->layers, sizeof *m->enc);
    m->dec = calloc((size_t)cfg->decoder_layers, sizeof *m->dec);
    m->unit_of_enc_layer = calloc((size_t)cfg->layers, sizeof(int));
    m->unit_of_dec_layer = calloc((size_t)cfg->decoder_layers, sizeof(int));
    if (!m->enc || !m->dec || !m->unit_of_enc_layer || !m->unit_of_dec_layer) {
        pd_bb_vae_destroy(m);
        return pd_fail(PD_ERR_NOMEM, "bb_vae: out of memory for %d + %d layers", cfg->layers, cfg->decoder_layers);
    }
    pd_params *P = &m->params;
    pd_params_init(P);

    m->unit_of_enc_embed = pd_params_unit_begin(P, "enc.embed");
    m->rbf_norm = pd_declare_norm(P, "enc.embed", "rbf_norm", PD_BB_EDGE_RBF, PD_BIAS);
    m->rbf_proj = pd_declare_linear(P, "enc.embed", "rbf_proj", W, PD_BB_EDGE_RBF, PD_BIAS);
    m->rot_proj = pd_declare_linear(P, "enc.embed", "rot_proj", W, PD_BB_EDGE_ROT, PD_BIAS);
    m->relpos = pd_param_new(P, "enc.embed.relpos.weight", 2, (int64_t[]){PD_BB_RELPOS_CLASSES, W}, PD_INIT_NORMAL, 1.0);
    m->edge_norm = pd_declare_norm(P, "enc.embed", "edge_norm", 3 * W, PD_BIAS);
    m->edge_mlp1 = pd_declare_linear(P, "enc.embed", "edge_mlp1", W, 3 * W, PD_BIAS);
    m->edge_mlp2 = pd_declare_linear(P, "enc.embed", "edge_mlp2", W, W, PD_BIAS);
    /* Zeros (as ProteinMPNN's node features start), not N(0, 1): a random start vector of norm ~sqrt(W)
     * dominates LN(h + messages) in every layer, so every residue got nearly the same latent (measured
     * after 25 steps: std of mu across residues 0.3 % of its mean) and training stalled at the
     * marginals; from zero, the first LayerNorm sees only the edge-driven messages. Still learned. */
    m->node_start = pd_param_new(P, "enc.embed.node_start", 2, (int64_t[]){1, W}, PD_INIT_ZEROS, 0.0);
    pd_params_unit_end(P);

    for (int l = 0; l < cfg->layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "enc.layers.%d", l);
        pd_bb_vae_enc_layer *L = &m->enc[l];
        m->unit_of_enc_layer[l] = pd_params_unit_begin(P, prefix);
        L->msg1 = pd_declare_linear(P, prefix, "msg1", W, 3 * W, PD_BIAS);
        L->msg2 = pd_declare_linear(P, prefix, "msg2", W, W, PD_BIAS);
        L->msg3 = pd_declare_linear(P, prefix, "msg3", W, W, PD_BIAS);
        L->norm1 = pd_declare_norm(P, prefix, "norm1", W, PD_BIAS);
        L->ffn1 = pd_declare_linear(P, prefix, "ffn1", F, W, PD_BIAS);
        L->ffn2 = pd_declare_linear(P, prefix, "ffn2", W, F, PD_BIAS);
        L->norm2 = pd_declare_norm(P, prefix, "norm2", W, PD_BIAS);
        L->has_edge_update = l + 1 < cfg->layers;
        if (L->has_edge_update) {
            L->edge1 = pd_declare_linear(P, prefix, "edge1", W, 3 * W, PD_BIAS);
            L->edge2 = pd_declare_linear(P, prefix, "edge2", W, W, PD_BIAS);
            L->edge3 = pd_declare_linear(P, prefix, "edge3", W, W, PD_BIAS);
            L->norm3 = pd_declare_norm(P, prefix, "norm3", W, PD_BIAS);
        }
        pd_params_unit_end(P);
    }

    m->unit_of_enc_head = pd_params_unit_begin(P, "enc.head");
    m->head = pd_declare_linear(P, "enc", "head", 2 * (int64_t)cfg->latent, W, PD_BIAS);
    pd_params_unit_end(P);

    m->unit_of_dec_embed = pd_params_unit_begin(P, "dec.embed");
    m->dec_in = pd_declare_linear(P, "dec", "in_proj", W, cfg->latent, PD_BIAS);
    pd_params_unit_end(P);

    for (int l = 0; l < cfg->decoder_layers; l++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "dec.layers.%d", l);
        pd_bb_vae_dec_layer *L = &m->dec[l];
        m->unit_of_dec_layer[l] = pd_params_unit_begin(P, prefix);
        L->q = pd_declare_linear(P, prefix, "q", W, W, PD_BIAS);
        L->k = pd_declare_linear(P, prefix, "k", W, W, PD_BIAS);
        L->v = pd_declare_linear(P, prefix, "v", W, W, PD_BIAS);
        L->o = pd_declare_linear(P, prefix, "o", W, W, PD_BIAS);
        L->norm1 = pd_declare_norm(P, prefix, "norm1", W, PD_BIAS);
        L->ffn1 = pd_declare_linear(P, prefix, "ffn1", F, W, PD_BIAS);
        L->ffn2 = pd_declare_linear(P, prefix, "ffn2", W, F, PD_BIAS);
        L->norm2 = pd_declare_norm(P, prefix, "norm2", W, PD_BIAS);
        pd_params_unit_end(P);
    }

    m->unit_of_dec_heads = pd_params_unit_begin(P, "dec.heads");
    m->pair_q = pd_declare_linear(P, "dec", "pair_q", W, W, PD_BIAS);
    m->pair_k = pd_declare_linear(P, "dec", "pair_k", W, W, PD_BIAS);
    m->pair1 = pd_declare_linear(P, "dec", "pair1", W, 2 * W, PD_BIAS);
    m->pair2 = pd_declare_linear(P, "dec", "pair2", PD_BB_VAE_PAIR_CLASSES, W, PD_BIAS);
    /* One offset of pair1's pre-activation per relative-position class, N(0, 1) like an Embedding
     * (it learned faster than a bias-sized init; docs/models/bb_vae.md). */
    m->pair_relpos = pd_param_new(P, "dec.pair_relpos", 2, (int64_t[]){PD_BB_RELPOS_CLASSES, W},
                                  PD_INIT_NORMAL, 1.0);
    m->seq = pd_declare_linear(P, "dec", "seq", PD_BB_VAE_AA, W, PD_BIAS);
    pd_params_unit_end(P);

    pd_status st = pd_params_finalize(P, pd_model_pad(opts));
    if (st != PD_OK) {
        pd_bb_vae_destroy(m);
        return st;
    }
    pd_params_init_values(P, pd_model_seed(opts));
    *out = m;
    return PD_OK;
}

/* ---- forward pieces ---- */


static pd_tensor *layernorm(pd_graph *g, pd_tensor *x, const pd_norm_layer *n)
{
    return pd_apply_layernorm(g, x, n, PD_BB_VAE_LN_EPS);
}

/* l3(gelu(l2(gelu(l1(x))))) — the message and edge-update MLPs. */
static pd_tensor *mlp3(pd_graph *g, pd_tensor *x, const pd_linear_layer *l1, const pd_linear_layer *l2,
                       const pd_linear_layer *l3)
{
    return pd_apply_linear(g, pd_gelu(g, pd_apply_linear(g, pd_gelu(g, pd_apply_linear(g, x, l1)), l2)), l3);
}

/* [h_i, h_j, e_ij] for every edge slot: [E, 3W]. */
static pd_tensor *edge_inputs(pd_graph *g, pd_tensor *h, pd_tensor *e, const int32_t *source, const pd_bb_graph *graph)
{
    pd_tensor *hi = pd_gather_rows(g, h, source, graph->n_edges);
    pd_tensor *hj = pd_gather_rows(g, h, graph->neighbor, graph->n_edges);
    return pd_concat(g, 3, (pd_tensor *[]){hi, hj, e}, 1);
}

pd_tensor *pd_bb_vae_encoder(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph)
{
    if (pd_graph_status(g) != PD_OK) return NULL;
    if (graph->k != m->cfg.neighbors)
        return pd_graph_fail(g, "bb_vae encoder: graph built with k = %d but model.bb_vae.neighbors = %d", graph->k,
                             m->cfg.neighbors);
    int64_t N = graph->n_nodes, E = graph->n_edges;
    int32_t *source = pd_graph_alloc(g, (size_t)(E + 1) * sizeof(int32_t));
    int32_t *zeros = pd_graph_alloc(g, (size_t)(N + 1) * sizeof(int32_t));
    if (!source || !zeros) return NULL;
    for (int64_t e = 0; e < E; e++) source[e] = (int32_t)(e / graph->k);
    memset(zeros, 0, (size_t)(N + 1) * sizeof(int32_t));

    pd_unit_begin(g, m->unit_of_enc_embed);
    pd_tensor *rbf = pd_tensor_from_floats(g, 2, (int64_t[]){E, PD_BB_EDGE_RBF}, graph->edge_rbf);
    pd_tensor *rot = pd_tensor_from_floats(g, 2, (int64_t[]){E, PD_BB_EDGE_ROT}, graph->edge_rot);
    pd_tensor *e_rbf = pd_apply_linear(g, layernorm(g, rbf, &m->rbf_norm), &m->rbf_proj);
    pd_tensor *e_rot = pd_apply_linear(g, rot, &m->rot_proj);
    pd_tensor *e_pos = pd_embedding(g, m->relpos, graph->edge_relpos, E);
    pd_tensor *e = layernorm(g, pd_concat(g, 3, (pd_tensor *[]){e_rbf, e_rot, e_pos}, 1), &m->edge_norm);
    e = pd_apply_linear(g, pd_gelu(g, pd_apply_linear(g, e, &m->edge_mlp1)), &m->edge_mlp2);
    pd_tensor *h = pd_embedding(g, m->node_start, zeros, N);
    pd_unit_end(g, m->unit_of_enc_embed);

    for (int l = 0; l < m->cfg.layers; l++) {
        const pd_bb_vae_enc_layer *L = &m->enc[l];
        pd_unit_begin(g, m->unit_of_enc_layer[l]);
        pd_tensor *msg = mlp3(g, edge_inputs(g, h, e, source, graph), &L->msg1, &L->msg2, &L->msg3);
        pd_tensor *agg = pd_scale(g, pd_scatter_add_rows(g, msg, graph->edge_target, N), 1.0 / graph->k);
        h = layernorm(g, pd_add(g, h, agg), &L->norm1);
        pd_tensor *ffn = pd_apply_linear(g, pd_gelu(g, pd_apply_linear(g, h, &L->ffn1)), &L->ffn2);
        h = layernorm(g, pd_add(g, h, ffn), &L->norm2);
        if (L->has_edge_update) {
            pd_tensor *upd = mlp3(g, edge_inputs(g, h, e, source, graph), &L->edge1, &L->edge2, &L->edge3);
            e = layernorm(g, pd_add(g, e, upd), &L->norm3);
        }
        pd_unit_end(g, m->unit_of_enc_layer[l]);
    }

    pd_unit_begin(g, m->unit_of_enc_head);
    pd_tensor *out = pd_apply_linear(g, h, &m->head);
    pd_unit_end(g, m->unit_of_enc_head);
    return out;
}

pd_tensor *pd_bb_vae_decoder(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, pd_tensor *z)
{
    if (!pd_graph_ok(g, z)) return NULL;
    int64_t N = graph->n_nodes, B = graph->n_entries, Lmax = graph->max_length > 0 ? graph->max_length : 1;
    int64_t W = m->cfg.width;
    int32_t *slot = pd_graph_alloc(g, (size_t)(N + 1) * sizeof(int32_t));
    uint8_t *key_valid = pd_graph_alloc(g, (size_t)(B * Lmax + 1));
    int32_t *position = pd_graph_alloc(g, (size_t)(B * Lmax + 1) * sizeof(int32_t));
    if (!slot || !key_valid || !position) return NULL;
    memset(key_valid, 0, (size_t)(B * Lmax));
    memset(position, 0, (size_t)(B * Lmax) * sizeof(int32_t));   /* padding rows: any position (masked) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = graph->node_offset[b]; i < graph->node_offset[b + 1]; i++) {
            int64_t local = i - graph->node_offset[b];
            slot[i] = (int32_t)(b * Lmax + local);
            key_valid[slot[i]] = graph->node_valid[i];
            position[slot[i]] = (int32_t)(local + (int64_t)PD_BB_VAE_ROPE_CHAIN_GAP * graph->node_chain[i]);
        }
    int heads = m->cfg.heads, head_dim = (int)(W / heads);

    pd_unit_begin(g, m->unit_of_dec_embed);
    pd_tensor *x = pd_apply_linear(g, z, &m->dec_in);
    pd_unit_end(g, m->unit_of_dec_embed);
    x = pd_reshape(g, pd_scatter_add_rows(g, x, slot, B * Lmax), 3, (int64_t[]){B, Lmax, W});

    for (int l = 0; l < m->cfg.decoder_layers; l++) {
        const pd_bb_vae_dec_layer *L = &m->dec[l];
        pd_unit_begin(g, m->unit_of_dec_layer[l]);
        /* rotary positions on Q and K: attention scores depend on the residues' separation */
        pd_tensor *q = pd_rope(g, pd_apply_linear(g, x, &L->q), position, heads, head_dim, PD_BB_VAE_ROPE_BASE);
        pd_tensor *k = pd_rope(g, pd_apply_linear(g, x, &L->k), position, heads, head_dim, PD_BB_VAE_ROPE_BASE);
        pd_tensor *att = pd_attention(g, q, k, pd_apply_linear(g, x, &L->v), heads, key_valid, 0);
        x = layernorm(g, pd_add(g, x, pd_apply_linear(g, att, &L->o)), &L->norm1);
        pd_tensor *ffn = pd_apply_linear(g, pd_gelu(g, pd_apply_linear(g, x, &L->ffn1)), &L->ffn2);
        x = layernorm(g, pd_add(g, x, ffn), &L->norm2);
        pd_unit_end(g, m->unit_of_dec_layer[l]);
    }
    return pd_gather_rows(g, pd_reshape(g, x, 2, (int64_t[]){B * Lmax, W}), slot, N);
}

/* ---- loss ---- */

static void sequence_stats(const pd_tensor *logits, const int32_t *target, pd_bb_vae_stats *st)
{
    int64_t C = pd_tensor_cols(logits), R = pd_tensor_rows(logits);
    for (int64_t r = 0; r < R; r++) {
        if (target[r] < 0) continue;
        const pd_real *z = logits->data + r * C;
        int arg = 0;
        double mx = z[0], sum = 0;
        for (int64_t c = 1; c < C; c++)
            if (z[c] > mx) {
                mx = z[c];
                arg = (int)c;
            }
        for (int64_t c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        st->seq_ce += mx + log(sum) - z[target[r]];
        st->seq_residues++;
        st->seq_correct += arg == target[r];
    }
}

static void kl_stats(const pd_tensor *mu, const pd_tensor *logvar, const uint8_t *valid, pd_bb_vae_stats *st)
{
    int64_t D = pd_tensor_cols(mu), R = pd_tensor_rows(mu);
    for (int64_t r = 0; r < R; r++) {
        if (!valid[r]) continue;
        for (int64_t j = 0; j < D; j++) {
            double mm = mu->data[r * D + j], lv = logvar->data[r * D + j];
            st->kl += -0.5 * (1 + lv - mm * mm - exp(lv));
        }
        st->kl_residues++;
    }
}

pd_status pd_bb_vae_forward(pd_graph *g, pd_bb_vae *m, const pd_bb_vae_batch *batch,
                            const pd_bb_vae_normaliser *norm, pd_bb_vae_output *out)
{
    memset(out, 0, sizeof *out);
    const pd_bb_graph *graph = batch->graph;
    pd_bb_vae_normaliser zero_norm = {0, 0, 0};
    if (!norm) norm = &zero_norm;
    int64_t N = graph->n_nodes, Z = m->cfg.latent;
    if (N == 0) return pd_fail(PD_ERR, "bb_vae forward: the batch has no residues");
    if (!batch->aa) return pd_fail(PD_ERR, "bb_vae forward: no amino acids given (batch->aa)");

    pd_tensor *enc = pd_bb_vae_encoder(g, m, graph);
    pd_tensor *halves[2] = {NULL, NULL};
    if (enc) pd_split(g, enc, 1, 2, (int64_t[]){Z, Z}, halves);
    pd_tensor *mu = halves[0], *logvar = halves[1];
    /* Given eps (tests) wins; otherwise training samples z and evaluation decodes z = mu, as the
     * engine's validation and the other VAE stage do. */
    pd_tensor *z = batch->eps ? pd_reparameterize_eps(g, mu, logvar, batch->eps)
                   : !pd_graph_training(g) ? mu
                                           : pd_reparameterize(g, mu, logvar, batch->seed, batch->step, batch->row_ids);
    pd_tensor *x = pd_bb_vae_decoder(g, m, graph, z);

    int32_t *target = pd_graph_alloc(g, (size_t)(N + 1) * sizeof(int32_t));
    if (!target) return pd_graph_status(g) != PD_OK ? pd_graph_status(g) : pd_fail(PD_ERR_NOMEM, "bb_vae forward");
    for (int64_t i = 0; i < N; i++)
        target[i] = graph->node_valid[i] && batch->aa[i] < PD_BB_VAE_AA ? (int32_t)batch->aa[i] : -1;

    pd_unit_begin(g, m->unit_of_dec_heads);
    pd_tensor *q = pd_apply_linear(g, x, &m->pair_q), *k = pd_apply_linear(g, x, &m->pair_k);
    pd_tensor *pair_loss = pd_bb_vae_pair_loss(g, graph, q, k, &m->pair1, &m->pair2, m->pair_relpos, norm->pairs,
                                               &out->stats);
    pd_tensor *seq_logits = pd_apply_linear(g, x, &m->seq);
    pd_tensor *seq_loss = pd_cross_entropy(g, seq_logits, target, -1, norm->seq_residues);
    pd_unit_end(g, m->unit_of_dec_heads);
    pd_tensor *kl_loss = pd_kl_normal(g, mu, logvar, graph->node_valid, norm->kl_residues);
    pd_tensor *loss = pd_add(g, pd_add(g, pair_loss, seq_loss), pd_scale(g, kl_loss, m->cfg.beta_kl));
    pd_status st = pd_graph_status(g);
    if (st != PD_OK) return st;
    if (!loss) return pd_fail(PD_ERR, "bb_vae forward: the loss was not formed");
    out->loss = loss;
    out->pair_loss = pair_loss;
    out->seq_loss = seq_loss;
    out->kl_loss = kl_loss;
    out->mu = mu;
    out->logvar = logvar;
    out->seq_logits = seq_logits;
    sequence_stats(seq_logits, target, &out->stats);
    kl_stats(mu, logvar, graph->node_valid, &out->stats);
    return PD_OK;
}

/* ---- inference ---- */

pd_status pd_bb_vae_predict(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *mu_out, float *seq_logits)
{
    int was_grad = pd_graph_set_grad(g, 0);
    int64_t N = graph->n_nodes, Z = m->cfg.latent;
    pd_tensor *enc = pd_bb_vae_encoder(g, m, graph);
    pd_tensor *mu = enc ? pd_slice(g, enc, 1, 0, Z) : NULL;
    pd_tensor *logits = NULL;
    if (seq_logits && mu) {
        pd_tensor *x = pd_bb_vae_decoder(g, m, graph, mu);
        pd_unit_begin(g, m->unit_of_dec_heads);
        logits = pd_apply_linear(g, x, &m->seq);
        pd_unit_end(g, m->unit_of_dec_heads);
    }
    pd_graph_set_grad(g, was_grad);
    pd_status st = pd_graph_status(g);
    if (st != PD_OK) return st;
    if (!mu || (seq_logits && !logits)) return pd_fail(PD_ERR, "bb_vae predict: forward produced no output");
    if (mu_out)
        for (int64_t i = 0; i < N * Z; i++) mu_out[i] = (float)mu->data[i];
    if (seq_logits)
        for (int64_t i = 0; i < N * PD_BB_VAE_AA; i++) seq_logits[i] = (float)logits->data[i];
    return PD_OK;
}

pd_status pd_bb_vae_encode(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *mu)
{
    return pd_bb_vae_predict(g, m, graph, mu, NULL);
}

pd_status pd_bb_vae_predict_pairs(pd_graph *g, pd_bb_vae *m, const pd_bb_graph *graph, float *label_logp,
                                  float *contact_p)
{
    int was_grad = pd_graph_set_grad(g, 0);
    pd_tensor *enc = pd_bb_vae_encoder(g, m, graph);
    pd_tensor *mu = enc ? pd_slice(g, enc, 1, 0, m->cfg.latent) : NULL;
    pd_tensor *x = mu ? pd_bb_vae_decoder(g, m, graph, mu) : NULL;
    pd_unit_begin(g, m->unit_of_dec_heads);
    pd_tensor *q = x ? pd_apply_linear(g, x, &m->pair_q) : NULL, *k = x ? pd_apply_linear(g, x, &m->pair_k) : NULL;
    pd_status st = pd_graph_status(g);
    if (st == PD_OK && (!q || !k)) st = pd_fail(PD_ERR, "bb_vae predict pairs: forward produced no output");
    if (st == PD_OK) st = pd_bb_vae_pair_probs(graph, q, k, &m->pair1, &m->pair2, m->pair_relpos, label_logp, contact_p);
    pd_unit_end(g, m->unit_of_dec_heads);
    pd_graph_set_grad(g, was_grad);
    return st;
}
