/* stage_tokenizer.c — the structure tokenizer (src/models/tokenizer.h) plugged into the training
 * loop: batches of distogram images of ONE length bin, padded to the bin's side; chains longer
 * than model.tokenizer.max_length as windows of it; global pixel/token counts and BatchNorm
 * statistics summed over ranks; after each step the EMA codebook update from the global
 * statistics with re-seeding candidates gathered in a rank-independent order; validation against
 * the mean image of the bin (from the train split), physical errors, code usage and perplexity. */
#include "train/stage_tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rng.h"
#include "dataset/export.h"

/* Window offsets of training crops: a Philox stream of its own (rng.h's purposes stop at 6). */
enum { CROP_STREAM = 17 };

/* Validation sums (the engine adds them over ranks), then levels·K code counts. */
enum {
    V_IMAGES, V_PIXELS, V_SQ, V_BASE_SQ,
    V_ERR, V_CNT = V_ERR + 4, V_BASE_ERR = V_CNT + 4, V_BASE_CNT = V_BASE_ERR + 4,
    V_CODES = V_BASE_CNT + 4
};

/* The mean training image of one side (normalised space), for the baseline. */
typedef struct mean_image {
    int side;
    float *mean;     /* [3, S, S]; 0 where no training image has a pixel */
} mean_image;

typedef struct tok_priv {
    pd_tokenizer_config c;
    int max_length, crop;
    int64_t n_dataset;                  /* entries of the dataset (the gather's index space) */
    double *stats;                      /* codebook statistics of one step */
    pd_tokenizer_vq_batch vq;           /* the last training forward's quantiser inputs */
    int have_vq;
    int64_t reseeds[PD_TOKENIZER_MAX_LEVELS];   /* dead-code re-seeds so far (data init excluded) */
    int n_means;
    mean_image means[64];
} tok_priv;

/* A batch: every image of this rank (whole distograms; windows are cut when the input is built). */
typedef struct tok_batch {
    int n, side, window;        /* window: length images are cut to (= max_length), 0 = whole */
    int64_t *entries;
    int32_t *full_length;       /* [n] entry length */
    int32_t *length;            /* [n] image length after the window */
    int64_t *pixel_offset;      /* [n] into pixels */
    uint8_t *pixels;            /* whole distograms, one after the other */
    uint8_t *cut;               /* [n, window·window·3] when windows apply */
    float *input;               /* [n, 3, S, S] */
} tok_batch;

/* ---- entries, bins, windows ------------------------------------------------------------------ */

int pd_tokstage_side(const pd_tokenizer_config *c, int L)
{
    int lo, hi;
    pd_length_bin(L, &lo, &hi);
    return pd_tokenizer_side(c, hi);
}

/* The image length an entry trains at: itself, a window of max_length, or 0 (not used). */
static int image_length(int L, int max_length, int crop)
{
    if (L <= max_length) return L;
    return crop ? max_length : 0;
}

void pd_tokstage_plan(const pd_config *cfg, int32_t length, int32_t *cost, int32_t *group)
{
    pd_tokenizer_config c;
    pd_tokenizer_config_default(&c);
    c.levels = (int)pd_cfg_int(cfg, "model.tokenizer.levels");
    const int w = image_length(length, (int)pd_cfg_int(cfg, "model.tokenizer.max_length"),
                               pd_cfg_bool(cfg, "model.tokenizer.crop"));
    if (w == 0) {
        *cost = 0;
        *group = 0;
        return;
    }
    const int side = pd_tokstage_side(&c, w);
    *cost = side * side;
    *group = side;
}

void pd_tokstage_window(const uint8_t *image, int L, int offset, int w, uint8_t *out)
{
    for (int i = 0; i < w; i++)
        memcpy(out + (size_t)i * w * 3, image + ((size_t)(offset + i) * L + offset) * 3, (size_t)w * 3);
}

/* ---- model lifetime ------------------------------------------------------------------------------- */

static pd_status tok_create(pd_stage *s, const pd_config *cfg, uint64_t seed, int64_t pad_multiple)
{
    tok_priv *p = pd_calloc(1, sizeof *p);
    if (!p) return PD_ERR_NOMEM;
    pd_status st = pd_tokenizer_config_from(cfg, &p->c);
    pd_tokenizer *m = NULL;
    if (st == PD_OK) st = pd_tokenizer_create(&m, &p->c, &(pd_model_opts){.seed = seed, .pad_multiple = pad_multiple});
    if (st != PD_OK) {
        free(p);
        return st;
    }
    p->max_length = (int)pd_cfg_int(cfg, "model.tokenizer.max_length");
    p->crop = pd_cfg_bool(cfg, "model.tokenizer.crop");
    p->stats = pd_calloc((size_t)pd_tokenizer_vq_stats_numel(m), sizeof *p->stats);
    if (!p->stats) {
        pd_tokenizer_destroy(m);
        free(p);
        return PD_ERR_NOMEM;
    }
    s->model = m;
    s->params = pd_tokenizer_params(m);
    s->priv = p;
    return PD_OK;
}

static void tok_destroy(pd_stage *s)
{
    tok_priv *p = s->priv;
    if (p) {
        for (int i = 0; i < p->n_means; i++) free(p->means[i].mean);
        free(p->stats);
        free(p);
    }
    pd_tokenizer_destroy(s->model);
    s->model = NULL;
    s->params = NULL;
    s->priv = NULL;
}

/* ---- batches -------------------------------------------------------------------------------------- */

static void batch_free(tok_batch *tb)
{
    if (!tb) return;
    free(tb->entries);
    free(tb->full_length);
    free(tb->length);
    free(tb->pixel_offset);
    free(tb->pixels);
    free(tb->cut);
    free(tb->input);
    free(tb);
}

/* Read the whole distograms of `entries` (one bin after the stage's plan). */
static pd_status read_images(tok_priv *p, pd_dataset *ds, const int64_t *entries, int n, tok_batch **out)
{
    tok_batch *tb = pd_calloc(1, sizeof *tb);
    if (!tb) return PD_ERR_NOMEM;
    tb->n = n;
    tb->entries = pd_malloc((size_t)(n + 1) * sizeof *tb->entries);
    tb->full_length = pd_malloc((size_t)(n + 1) * sizeof *tb->full_length);
    tb->length = pd_malloc((size_t)(n + 1) * sizeof *tb->length);
    tb->pixel_offset = pd_malloc((size_t)(n + 1) * sizeof *tb->pixel_offset);
    pd_status st = tb->entries && tb->full_length && tb->length && tb->pixel_offset ? PD_OK : PD_ERR_NOMEM;
    int64_t total = 0;
    for (int i = 0; st == PD_OK && i < n; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, entries[i], &info);
        if (st != PD_OK) break;
        const int w = image_length(info.length, p->max_length, p->crop);
        if (w == 0) {
            st = pd_fail(PD_ERR_CONFIG, "tokenizer: entry %s has %d residues, more than model.tokenizer.max_length = "
                         "%d, and model.tokenizer.crop is off", info.name, info.length, p->max_length);
            break;
        }
        const int side = pd_tokstage_side(&p->c, w);
        if (i == 0) tb->side = side;
        if (side != tb->side) {
            st = pd_fail(PD_ERR, "tokenizer: a batch mixes length bins (entry %s of side %d with side %d); the "
                         "sampler must group entries by bin (stage entry_plan)", info.name, side, tb->side);
            break;
        }
        tb->entries[i] = entries[i];
        tb->full_length[i] = info.length;
        tb->length[i] = w;
        if (w < info.length) tb->window = w;
        tb->pixel_offset[i] = total;
        total += (int64_t)info.length * info.length * 3;
    }
    if (st == PD_OK) {
        tb->pixels = pd_malloc((size_t)(total > 0 ? total : 1));
        const int64_t plane = (int64_t)tb->side * tb->side;
        tb->input = pd_malloc((size_t)(n > 0 ? n : 1) * 3 * (size_t)plane * sizeof *tb->input);
        if (!tb->pixels || !tb->input) st = PD_ERR_NOMEM;
    }
    for (int i = 0; st == PD_OK && i < n; i++) {
        st = pd_dataset_read_distogram(ds, tb->entries[i], tb->pixels + tb->pixel_offset[i]);
        if (st != PD_OK) pd_error_context("tokenizer batch, entry %lld", (long long)tb->entries[i]);
    }
    if (st != PD_OK) {
        batch_free(tb);
        return st;
    }
    *out = tb;
    return PD_OK;
}

/* Window offset of image i: random per (seed, step, entry) in training (step >= 0), centred in
 * validation and tokenisation (step < 0). */
static int window_offset(const tok_batch *tb, int i, uint64_t seed, int64_t step)
{
    const int spare = tb->full_length[i] - tb->length[i];
    if (spare <= 0) return 0;
    if (step < 0) return spare / 2;
    pd_rng r;
    pd_rng_init(&r, seed, (uint64_t)step, (uint64_t)tb->entries[i], CROP_STREAM);
    return (int)pd_rng_below(&r, (uint64_t)spare + 1);
}

/* The images as the model sees them (windows cut), then the normalised, padded input. */
static pd_status build_input(tok_batch *tb, uint64_t seed, int64_t step, const uint8_t **images)
{
    const int n = tb->n;
    if (tb->window && !tb->cut) {
        tb->cut = pd_malloc((size_t)n * tb->window * tb->window * 3);
        if (!tb->cut) return PD_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        const uint8_t *whole = tb->pixels + tb->pixel_offset[i];
        if (tb->length[i] == tb->full_length[i]) {
            images[i] = whole;
        } else {
            uint8_t *dst = tb->cut + (size_t)i * tb->window * tb->window * 3;
            pd_tokstage_window(whole, tb->full_length[i], window_offset(tb, i, seed, step), tb->length[i], dst);
            images[i] = dst;
        }
    }
    return pd_tokenizer_prepare(images, tb->length, n, tb->side, tb->input);
}

/* The mean normalised training image of each side the train split uses (centred windows for
 * long chains), computed once, identically on every rank. */
static pd_status compute_means(pd_stage *s, pd_dataset *ds)
{
    tok_priv *p = s->priv;
    const int64_t n = pd_dataset_n_entries(ds);
    double *sum[64] = {0}, *count[64] = {0};
    pd_status st = PD_OK;
    for (int64_t e = 0; st == PD_OK && e < n; e++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, e, &info);
        if (st != PD_OK || info.split != 0) continue;
        const int w = image_length(info.length, p->max_length, p->crop);
        if (w == 0) continue;
        const int side = pd_tokstage_side(&p->c, w);
        int k = 0;
        while (k < p->n_means && p->means[k].side != side) k++;
        if (k == p->n_means) {
            if (k == 64) continue;
            const size_t plane = (size_t)side * side;
            p->means[k].side = side;
            p->means[k].mean = pd_calloc(3 * plane, sizeof(float));
            sum[k] = pd_calloc(3 * plane, sizeof(double));
            count[k] = pd_calloc(plane, sizeof(double));
            p->n_means++;
            if (!p->means[k].mean || !sum[k] || !count[k]) {
                st = PD_ERR_NOMEM;
                break;
            }
        }
        tok_batch *tb = NULL;
        st = read_images(p, ds, &e, 1, &tb);
        const uint8_t *img[1];
        if (st == PD_OK) st = build_input(tb, s->seed, -1, img);
        if (st == PD_OK) {
            const int64_t plane = (int64_t)side * side;
            for (int i = 0; i < w; i++)
                for (int j = 0; j < w; j++) {
                    count[k][i * side + j] += 1;
                    for (int ch = 0; ch < 3; ch++) sum[k][ch * plane + i * side + j] += tb->input[ch * plane + i * side + j];
                }
        }
        batch_free(tb);
    }
    for (int k = 0; k < p->n_means; k++) {
        const int64_t plane = (int64_t)p->means[k].side * p->means[k].side;
        for (int64_t q = 0; st == PD_OK && q < plane; q++)
            for (int ch = 0; ch < 3; ch++)
                p->means[k].mean[ch * plane + q] = count[k][q] > 0 ? (float)(sum[k][ch * plane + q] / count[k][q]) : 0.0f;
        free(sum[k]);
        free(count[k]);
    }
    return st;
}

static pd_status tok_load(pd_stage *s, pd_dataset *ds, pd_stage_batch *b)
{
    tok_priv *p = s->priv;
    p->n_dataset = pd_dataset_n_entries(ds);
    if (p->n_means == 0) PD_TRY(compute_means(s, ds));
    tok_batch *tb = NULL;
    PD_TRY(read_images(p, ds, b->entries, (int)b->n_entries, &tb));
    pd_tokenizer_norm norm;
    pd_tokenizer_count(&p->c, tb->length, tb->n, tb->side, &norm);
    b->data = tb;
    b->count = (int64_t)norm.pixels;
    b->residues = 0;
    for (int i = 0; i < tb->n; i++) b->residues += tb->length[i];
    return PD_OK;
}

static void tok_free_batch(pd_stage *s, pd_stage_batch *b)
{
    (void)s;
    batch_free(b->data);
    b->data = NULL;
}

/* ---- training ------------------------------------------------------------------------------------- */

static pd_status sum_over_ranks(void *user, double *buf, int64_t n)
{
    pd_stage *s = user;
    return s->comm ? s->comm->sum_f64(s->comm->user, buf, n) : PD_OK;
}

static pd_tensor *input_tensor(pd_graph *g, const tok_batch *tb)
{
    return pd_tensor_from_floats(g, 4, (int64_t[]){tb->n, 3, tb->side, tb->side}, tb->input);
}

static pd_tensor *tok_loss(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, double normaliser,
                           pd_stage_terms *terms)
{
    (void)normaliser; /* the tokenizer has several normalisers: summed here over ranks */
    tok_priv *p = s->priv;
    tok_batch *tb = b->data;
    const uint8_t **images = pd_graph_alloc(g, (size_t)tb->n * sizeof *images);
    if (!images) return NULL;
    pd_status st = build_input(tb, s->seed, step, images);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return NULL;
    }
    /* Global counts of valid pixels and tokens (a phantom batch counts nothing). */
    pd_tokenizer_norm norm;
    pd_tokenizer_count(&p->c, tb->length, tb->n, tb->side, &norm);
    const double weight = b->phantom ? 0.0 : 1.0;
    double counts[1 + PD_TOKENIZER_MAX_LEVELS];
    counts[0] = weight * norm.pixels;
    for (int l = 0; l < p->c.levels; l++) counts[1 + l] = weight * norm.tokens[l];
    st = sum_over_ranks(s, counts, 1 + p->c.levels);
    if (st != PD_OK) {
        pd_graph_set_status(g, st);
        return NULL;
    }
    norm.pixels = counts[0];
    for (int l = 0; l < p->c.levels; l++) norm.tokens[l] = counts[1 + l];
    /* BatchNorm statistics of the whole global batch (synchronised BatchNorm). */
    pd_tokenizer_batch_sum sum = {s->comm ? sum_over_ranks : NULL, s, weight};
    pd_tokenizer_set_batch_sum(s->model, &sum);
    pd_tokenizer_terms t;
    p->have_vq = 0;
    pd_tensor *loss = pd_tokenizer_loss(g, s->model, input_tensor(g, tb), tb->length, &norm, &t, &p->vq, NULL);
    if (!loss) return NULL;
    p->have_vq = 1;
    terms->n = 0;
    double commit = 0;
    for (int l = 0; l < p->c.levels; l++) commit += t.commit[l];
    pd_stage_term_add(terms, "mse", t.mse);
    pd_stage_term_add(terms, "commit", commit);
    return loss;
}

/* Every rank's valid quantiser inputs of level l in one order that does not depend on the ranks
 * (ascending dataset entry), so re-seeding picks the same vectors on 1 or N ranks. */
static pd_status gather_candidates(pd_stage *s, pd_stage_batch *b, const pd_stage_comm *comm, pd_real **x_out,
                                   int64_t *rows_out, uint8_t **valid_out)
{
    tok_priv *p = s->priv;
    const tok_batch *tb = b->data;
    const int n_levels = p->c.levels;
    const int64_t D = p->c.latent_dim, E = p->n_dataset;
    double *len = pd_calloc((size_t)E + 1, sizeof *len);
    if (!len) return PD_ERR_NOMEM;
    if (!b->phantom)
        for (int i = 0; i < tb->n; i++) len[tb->entries[i]] = tb->length[i];
    pd_status st = comm->sum_f64(comm->user, len, E);
    for (int l = 0; st == PD_OK && l < n_levels; l++) {
        const int64_t cell = (int64_t)1 << (l + 1), h = tb->side / cell;
        int64_t total = 0;
        int64_t *first = pd_malloc((size_t)E * sizeof *first + 1);
        if (!first) {
            st = PD_ERR_NOMEM;
            break;
        }
        for (int64_t e = 0; e < E; e++) {
            const int64_t g = ((int64_t)len[e] + cell - 1) / cell;
            first[e] = total;
            total += g * g;
        }
        double *buf = pd_calloc((size_t)(total * D) + 1, sizeof *buf);
        if (!buf) {
            free(first);
            st = PD_ERR_NOMEM;
            break;
        }
        for (int i = 0; !b->phantom && i < tb->n; i++) {
            int64_t o = first[tb->entries[i]];
            for (int64_t r = (int64_t)i * h * h; r < (int64_t)(i + 1) * h * h; r++) {
                if (!p->vq.valid[l][r]) continue;
                for (int64_t d = 0; d < D; d++) buf[o * D + d] = p->vq.x[l][r * D + d];
                o++;
            }
        }
        st = comm->sum_f64(comm->user, buf, total * D);
        x_out[l] = pd_malloc((size_t)(total * D) * sizeof(pd_real) + 1);
        valid_out[l] = pd_malloc((size_t)total + 1);
        if (st == PD_OK && (!x_out[l] || !valid_out[l])) st = PD_ERR_NOMEM;
        if (st == PD_OK) {
            for (int64_t q = 0; q < total * D; q++) x_out[l][q] = (pd_real)buf[q];
            memset(valid_out[l], 1, (size_t)total);
            rows_out[l] = total;
        }
        free(buf);
        free(first);
    }
    free(len);
    return st;
}

static pd_status tok_after_step(pd_stage *s, pd_graph *g, pd_stage_batch *b, int64_t step, const pd_stage_comm *comm)
{
    (void)g;
    tok_priv *p = s->priv;
    if (!p->have_vq)
        return pd_fail(PD_ERR, "tokenizer: codebook update without a training forward at step %lld", (long long)step);
    const int64_t numel = pd_tokenizer_vq_stats_numel(s->model);
    pd_tokenizer_vq_stats(s->model, &p->vq, p->stats);
    if (b->phantom) memset(p->stats, 0, (size_t)numel * sizeof *p->stats);
    PD_TRY(comm->sum_f64(comm->user, p->stats, numel));
    pd_real *x[PD_TOKENIZER_MAX_LEVELS] = {0};
    uint8_t *valid[PD_TOKENIZER_MAX_LEVELS] = {0};
    pd_tokenizer_vq_batch global = {.levels = p->c.levels};
    pd_status st = gather_candidates(s, b, comm, x, global.rows, valid);
    const int first = pd_tokenizer_codebook_updates(s->model) == 0;
    int64_t reseeded[PD_TOKENIZER_MAX_LEVELS] = {0};
    if (st == PD_OK) {
        for (int l = 0; l < p->c.levels; l++) {
            global.x[l] = x[l];
            global.valid[l] = valid[l];
        }
        st = pd_tokenizer_codebook_update(s->model, p->stats, &global, s->seed, (uint64_t)step, reseeded);
    }
    for (int l = 0; l < p->c.levels; l++) {
        if (!(first && p->c.data_init)) p->reseeds[l] += reseeded[l];
        free(x[l]);
        free(valid[l]);
    }
    p->have_vq = 0;
    pd_tokenizer_set_batch_sum(s->model, NULL);
    return st;
}

/* ---- validation ----------------------------------------------------------------------------------- */

static int64_t tok_n_val_sums(pd_stage *s)
{
    tok_priv *p = s->priv;
    return V_CODES + (int64_t)p->c.levels * p->c.codebook;
}

static const mean_image *find_mean(const tok_priv *p, int side)
{
    for (int k = 0; k < p->n_means; k++)
        if (p->means[k].side == side) return &p->means[k];
    return NULL;
}

static pd_status tok_val_accumulate(pd_stage *s, pd_graph *g, pd_stage_batch *b, double *sums)
{
    tok_priv *p = s->priv;
    tok_batch *tb = b->data;
    const int n = tb->n, S = tb->side;
    const int64_t plane = (int64_t)S * S;
    const uint8_t **images = pd_graph_alloc(g, (size_t)n * sizeof *images);
    if (!images) return pd_graph_status(g);
    PD_TRY(build_input(tb, s->seed, -1, images));
    pd_tokenizer_set_batch_sum(s->model, NULL);
    pd_tokenizer_vq_batch vq;
    pd_tensor *recon = NULL;
    pd_tensor *loss = pd_tokenizer_loss(g, s->model, input_tensor(g, tb), tb->length, NULL, NULL, &vq, &recon);
    if (!loss || !recon) return pd_graph_status(g);
    /* Reconstruction [B, S², 3] -> [B, 3, S, S]; the baseline: the bin's mean image for each. */
    pd_real *rec_r = pd_graph_alloc(g, (size_t)(n * 3 * plane) * sizeof *rec_r);
    pd_real *base_r = pd_graph_alloc(g, (size_t)(n * 3 * plane) * sizeof *base_r);
    pd_real *target = pd_graph_alloc(g, (size_t)(n * 3 * plane) * sizeof *target);
    if (!rec_r || !base_r || !target) return pd_graph_status(g);
    const mean_image *mi = find_mean(p, S);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int64_t q = 0; q < plane; q++) {
                const int64_t o = ((int64_t)i * 3 + ch) * plane + q;
                rec_r[o] = recon->data[((int64_t)i * plane + q) * 3 + ch];
                base_r[o] = mi ? mi->mean[ch * plane + q] : 0;
                target[o] = tb->input[o];
            }
    for (int i = 0; i < n; i++) {
        const int L = tb->length[i];
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < L; r++)
                for (int c = 0; c < L; c++) {
                    const int64_t o = ((int64_t)i * 3 + ch) * plane + (int64_t)r * S + c;
                    const double e = (double)rec_r[o] - target[o], eb = (double)base_r[o] - target[o];
                    sums[V_SQ] += e * e;
                    sums[V_BASE_SQ] += eb * eb;
                }
        sums[V_PIXELS] += (double)L * L;
    }
    sums[V_IMAGES] += n;
    pd_tokenizer_channel_errors(rec_r, target, 0, tb->length, n, S, sums + V_ERR, sums + V_CNT);
    pd_tokenizer_channel_errors(base_r, target, 0, tb->length, n, S, sums + V_BASE_ERR, sums + V_BASE_CNT);
    pd_tokenizer_vq_stats(s->model, &vq, p->stats);
    const int64_t K = p->c.codebook, D = p->c.latent_dim;
    for (int l = 0; l < p->c.levels; l++)
        for (int64_t k = 0; k < K; k++) sums[V_CODES + l * K + k] += p->stats[l * K * (1 + D) + k];
    return PD_OK;
}

static void add_list(pd_stage_metrics *out, const char *name, int n, const double *v)
{
    pd_stage_metric_add(out, name, v[0]);
    pd_stage_metric *m = &out->m[out->n - 1];
    m->n_values = n;
    for (int i = 0; i < n && i < 16; i++) m->values[i] = v[i];
}

static void tok_val_finish(pd_stage *s, const double *sums, pd_stage_metrics *out)
{
    tok_priv *p = s->priv;
    const int n_levels = p->c.levels;
    const int64_t K = p->c.codebook, D = p->c.latent_dim;
    const double values = sums[V_PIXELS] > 0 ? 3 * sums[V_PIXELS] : 1;
    pd_stage_metric_add(out, "val_mse", sums[V_SQ] / values);
    pd_stage_metric_add(out, "val_baseline_mse", sums[V_BASE_SQ] / values);
    static const char *err_name[4] = {"val_dist_err_A", "val_omega_err_deg", "val_theta_err_deg", "val_phi_err_deg"};
    for (int c = 0; c < 4; c++) pd_stage_metric_add(out, err_name[c], sums[V_CNT + c] > 0 ? sums[V_ERR + c] / sums[V_CNT + c] : 0);
    pd_stage_metric_add(out, "val_baseline_dist_err_A", sums[V_BASE_CNT] > 0 ? sums[V_BASE_ERR] / sums[V_BASE_CNT] : 0);
    /* Usage and perplexity from the accumulated code histogram (the sums part is not needed). */
    memset(p->stats, 0, (size_t)pd_tokenizer_vq_stats_numel(s->model) * sizeof *p->stats);
    for (int l = 0; l < n_levels; l++)
        for (int64_t k = 0; k < K; k++) p->stats[l * K * (1 + D) + k] = sums[V_CODES + l * K + k];
    int64_t used[PD_TOKENIZER_MAX_LEVELS];
    double perplexity[PD_TOKENIZER_MAX_LEVELS] = {0}, usage[PD_TOKENIZER_MAX_LEVELS] = {0},
           reseeds[PD_TOKENIZER_MAX_LEVELS] = {0};
    pd_tokenizer_usage(s->model, p->stats, used, perplexity);
    for (int l = 0; l < n_levels; l++) {
        usage[l] = (double)used[l] / (double)K;
        reseeds[l] = (double)p->reseeds[l];
    }
    add_list(out, "val_code_usage", n_levels, usage);
    add_list(out, "val_perplexity", n_levels, perplexity);
    add_list(out, "val_reseeds", n_levels, reseeds);
    pd_stage_metric_add(out, "val_images", sums[V_IMAGES]);
}

/* ---- checkpoint state ------------------------------------------------------------------------------ */

/* Every non-parameter array of the stage, as doubles (exact for float32): visit(name, n, values). */
typedef pd_status (*state_visit)(const pd_stage_store *store, const char *name, int64_t n, pd_real *data);

static pd_status put_reals(const pd_stage_store *store, const char *name, int64_t n, pd_real *data)
{
    double *tmp = pd_malloc((size_t)n * sizeof *tmp + 1);
    if (!tmp) return PD_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) tmp[i] = data[i];
    pd_status st = store->put_f64(store->user, name, n, tmp);
    free(tmp);
    return st;
}

static pd_status get_reals(const pd_stage_store *store, const char *name, int64_t n, pd_real *data)
{
    double *tmp = pd_malloc((size_t)n * sizeof *tmp + 1);
    if (!tmp) return PD_ERR_NOMEM;
    pd_status st = store->get_f64(store->user, name, n, tmp);
    if (st == PD_OK)
        for (int64_t i = 0; i < n; i++) data[i] = (pd_real)tmp[i];
    free(tmp);
    return st;
}

static pd_status visit_state(pd_stage *s, const pd_stage_store *store, state_visit visit, int saving)
{
    tok_priv *p = s->priv;
    pd_tokenizer *m = s->model;
    char name[96];
    for (int l = 0; l < p->c.levels; l++) {
        pd_vq_codebook *book = pd_tokenizer_codebook(m, l);
        snprintf(name, sizeof name, "vq.%d.embed", l);
        PD_TRY(visit(store, name, book->codes * book->dim, book->embed));
        snprintf(name, sizeof name, "vq.%d.ema_count", l);
        PD_TRY(visit(store, name, book->codes, book->ema_count));
        snprintf(name, sizeof name, "vq.%d.ema_sum", l);
        PD_TRY(visit(store, name, book->codes * book->dim, book->ema_sum));
    }
    const int n_bn = pd_tokenizer_n_batchnorms(m);
    double counters[2 * PD_TOKENIZER_MAX_LEVELS + 1 + PD_TOKENIZER_MAX_LEVELS];
    for (int i = 0; i < n_bn; i++) {
        const char *bn_name;
        pd_batchnorm_stats *bn = pd_tokenizer_batchnorm(m, i, &bn_name);
        snprintf(name, sizeof name, "%s.running_mean", bn_name);
        PD_TRY(visit(store, name, bn->channels, bn->running_mean));
        snprintf(name, sizeof name, "%s.running_var", bn_name);
        PD_TRY(visit(store, name, bn->channels, bn->running_var));
        counters[i] = (double)bn->batches_tracked;
    }
    /* Counters: BatchNorm batches tracked, codebook updates, re-seeds per level. */
    const int64_t n_counters = n_bn + 1 + p->c.levels;
    counters[n_bn] = (double)pd_tokenizer_codebook_updates(m);
    for (int l = 0; l < p->c.levels; l++) counters[n_bn + 1 + l] = (double)p->reseeds[l];
    if (saving) return store->put_f64(store->user, "counters", n_counters, counters);
    PD_TRY(store->get_f64(store->user, "counters", n_counters, counters));
    for (int i = 0; i < n_bn; i++) pd_tokenizer_batchnorm(m, i, NULL)->batches_tracked = (int64_t)counters[i];
    pd_tokenizer_set_codebook_updates(m, (int64_t)counters[n_bn]);
    for (int l = 0; l < p->c.levels; l++) p->reseeds[l] = (int64_t)counters[n_bn + 1 + l];
    return PD_OK;
}

static pd_status tok_save_state(pd_stage *s, const pd_stage_store *store) { return visit_state(s, store, put_reals, 1); }
static pd_status tok_load_state(pd_stage *s, const pd_stage_store *store) { return visit_state(s, store, get_reals, 0); }

const pd_stage_ops pd_stage_tokenizer = {
    .name = "tokenizer",
    .count_name = "pixels",
    .create = tok_create,
    .destroy = tok_destroy,
    .load_batch = tok_load,
    .free_batch = tok_free_batch,
    .loss = tok_loss,
    .after_step = tok_after_step,
    .n_val_sums = tok_n_val_sums,
    .val_accumulate = tok_val_accumulate,
    .val_finish = tok_val_finish,
    .entry_plan = pd_tokstage_plan,
    .save_state = tok_save_state,
    .load_state = tok_load_state,
};
