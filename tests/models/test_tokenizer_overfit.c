/* test_tokenizer_overfit.c — the tokenizer learns: 40 AdamW steps (with the EMA codebook update
 * after every step) on 4 real distogram images, cropped to 32×32, bring the reconstruction MSE
 * in normalised space clearly below the mean-image baseline (predicting the per-pixel mean of
 * the 4 images). Small model so it runs in a few seconds on one core. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "features/mds.h"
#include "models/tokenizer.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "test.h"
#include "tokenizer_chains.h"

enum { N_IMAGES = 4, SIDE = 32, STEPS = 40 };
static const char *const FILES[N_IMAGES] = {"1CRN.cif", "1A8O.cif", "1bpi.pdb", "1aki.cif"};

int main(void)
{
    if (!tok_have_pdb()) {
        printf("SKIP: no $PD_SHARED/data/pdb\n");
        return 77;
    }
    const double t0 = pd_now();
    tok_chain chains[N_IMAGES];
    const uint8_t *imgs[N_IMAGES];
    int32_t lengths[N_IMAGES];
    for (int i = 0; i < N_IMAGES; i++) {
        if (!tok_chain_load(FILES[i], 0, SIDE, &chains[i]) || chains[i].L != SIDE) {
            fprintf(stderr, "%s: need a chain of at least %d residues\n", FILES[i], SIDE);
            return 1;
        }
        imgs[i] = chains[i].img;
        lengths[i] = SIDE;
    }
    static float input[N_IMAGES * 3 * SIDE * SIDE];
    CHECK(pd_tokenizer_prepare(imgs, lengths, N_IMAGES, SIDE, input) == PD_OK);

    /* Baseline: the per-pixel mean image of the batch, MSE in normalised space. */
    const int64_t plane = 3 * SIDE * SIDE;
    double baseline = 0;
    for (int64_t p = 0; p < plane; p++) {
        double mean = 0;
        for (int i = 0; i < N_IMAGES; i++) mean += input[i * plane + p] / N_IMAGES;
        for (int i = 0; i < N_IMAGES; i++) baseline += (input[i * plane + p] - mean) * (input[i * plane + p] - mean);
    }
    baseline /= (double)(N_IMAGES * plane);

    pd_tokenizer_config c;
    pd_tokenizer_config_default(&c);
    c.levels = 3;
    c.width = 32;
    c.mlp = 64;
    c.heads = 2;
    c.latent_dim = 16;
    c.rope_dim = 4;
    c.codebook = 256;        /* 2×2×3-pixel level-0 patches of 4 images need codes: 32 stalls at ~0.6 of the baseline */
    c.blocks = 1;
    c.ema_decay = 0.8;       /* 40 steps: the codebooks must follow the encoder faster than 0.99 allows */
    pd_tokenizer *m;
    pd_graph *g;
    CHECK(pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = 11}) == PD_OK);
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_params *P = pd_tokenizer_params(m);
    pd_adamw opt;
    pd_adamw_config oc;
    pd_adamw_config_default(&oc);
    oc.weight_decay = 0;
    CHECK(pd_adamw_init(&opt, P, &oc, 0, P->total) == PD_OK);
    double *stats = malloc((size_t)pd_tokenizer_vq_stats_numel(m) * sizeof *stats);
    pd_tokenizer_terms terms;
    double first = NAN;
    for (int step = 0; step < STEPS && pd_test_failures == 0; step++) {
        pd_graph_reset(g);
        pd_tensor *x = pd_tensor_from_floats(g, 4, (int64_t[]){N_IMAGES, 3, SIDE, SIDE}, input);
        pd_tokenizer_vq_batch vq;
        pd_tensor *loss = pd_tokenizer_loss(g, m, x, lengths, NULL, &terms, &vq, NULL);
        CHECK_MSG(loss != NULL, "%s", pd_last_error());
        if (!loss) break;
        if (step == 0) first = terms.mse;
        pd_params_zero_grad(P);
        CHECK(pd_backward(g, loss) == PD_OK);
        pd_adamw_step(&opt, P->data, P->grad, 3e-3, 1.0);
        pd_tokenizer_vq_stats(m, &vq, stats);
        int64_t reseeded[PD_TOKENIZER_MAX_LEVELS];
        CHECK(pd_tokenizer_codebook_update(m, stats, &vq, 11, (uint64_t)step, reseeded) == PD_OK);
        if (step % 10 == 0 || step == STEPS - 1)
            printf("step %2d  loss %.4f  mse %.4f  used %lld/%lld/%lld codes  reseeded %lld/%lld/%lld\n", step, terms.loss,
                   terms.mse, (long long)terms.used[0], (long long)terms.used[1], (long long)terms.used[2],
                   (long long)reseeded[0], (long long)reseeded[1], (long long)reseeded[2]);
    }
    /* The reconstruction after the last update (training-mode BatchNorm: the batch is the data). */
    pd_graph_reset(g);
    pd_graph_set_grad(g, 0);
    pd_tensor *x = pd_tensor_from_floats(g, 4, (int64_t[]){N_IMAGES, 3, SIDE, SIDE}, input);
    CHECK(pd_tokenizer_loss(g, m, x, lengths, NULL, &terms, NULL, NULL) != NULL);
    const double seconds = pd_now() - t0;
    printf("mean-image baseline MSE %.4f; tokenizer MSE %.4f at step 0 -> %.4f after %d steps (%.2f of the baseline), %.1f s\n",
           baseline, first, terms.mse, STEPS, terms.mse / baseline, seconds);
    CHECK_MSG(terms.mse < 0.5 * baseline, "MSE %.4f is not clearly below the mean-image baseline %.4f", terms.mse, baseline);
    CHECK_MSG(seconds < 20, "took %.1f s (budget 20 s)", seconds);

    /* Tokens -> decoder -> uint8 image -> distances -> MDS: the structure metric of issue 9 on the
     * reconstructions, beside the same metric on the mean image. */
    static int32_t codes0[N_IMAGES * 16 * 16], codes1[N_IMAGES * 8 * 8], codes2[N_IMAGES * 4 * 4];
    int32_t *codes[3] = {codes0, codes1, codes2};
    pd_graph_reset(g);
    x = pd_tensor_from_floats(g, 4, (int64_t[]){N_IMAGES, 3, SIDE, SIDE}, input);
    CHECK(pd_tokenizer_encode(g, m, x, lengths, codes, NULL) == PD_OK);
    pd_tensor *recon = NULL;
    CHECK(pd_tokenizer_decode(g, m, (const int32_t *const *)codes, lengths, N_IMAGES, SIDE, &recon) == PD_OK);
    static uint8_t rec_img[N_IMAGES][SIDE * SIDE * 3], mean_img[SIDE * SIDE * 3];
    static pd_real mean_norm[3 * SIDE * SIDE];
    for (int64_t p = 0; p < plane; p++) {
        double mean = 0;
        for (int i = 0; i < N_IMAGES; i++) mean += input[i * plane + p] / N_IMAGES;
        mean_norm[p] = (pd_real)mean;
    }
    uint8_t *outs[N_IMAGES] = {rec_img[0], rec_img[1], rec_img[2], rec_img[3]}, *mean_out[1] = {mean_img};
    if (recon) pd_tokenizer_to_uint8(recon->data, lengths, N_IMAGES, SIDE, outs);
    pd_tokenizer_to_uint8(mean_norm, lengths, 1, SIDE, mean_out);
    double rec_rmsd = 0, mean_rmsd = 0;
    for (int i = 0; i < N_IMAGES && recon; i++) {
        pd_structure_check rc, mc;
        CHECK(pd_distogram_structure_check(rec_img[i], SIDE, chains[i].cb, chains[i].valid, &rc) == PD_OK);
        CHECK(pd_distogram_structure_check(mean_img, SIDE, chains[i].cb, chains[i].valid, &mc) == PD_OK);
        printf("  %-9s reconstruction: Cβ RMSD %5.2f Å (mirrored %d), pairs under 1 Å %.3f, image MAE %.2f Å | "
               "mean image: RMSD %5.2f Å, pairs under 1 Å %.3f\n", FILES[i], rc.rmsd, rc.mirrored, rc.frac_pairs_1a,
               rc.image_mae, mc.rmsd, mc.frac_pairs_1a);
        rec_rmsd += rc.rmsd / N_IMAGES;
        mean_rmsd += mc.rmsd / N_IMAGES;
    }
    /* Reported, not asserted: after 40 steps the distance channel (1/6 of the values, 1 Å = 0.05
     * normalised units) is still about as far off as the mean image's; after 200 steps the
     * reconstructions are at 3.2-3.7 Å against 4.0-5.9 Å (docs/models/tokenizer.md). */
    printf("mean Cβ RMSD: reconstructions %.2f Å, mean image %.2f Å\n", rec_rmsd, mean_rmsd);
    CHECK(isfinite(rec_rmsd) && rec_rmsd > 0);
    free(stats);
    pd_adamw_free(&opt);
    pd_graph_destroy(g);
    pd_tokenizer_destroy(m);
    for (int i = 0; i < N_IMAGES; i++) tok_chain_free(&chains[i]);
    return pd_test_finish("test_tokenizer_overfit");
}
