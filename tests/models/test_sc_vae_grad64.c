/* test_sc_vae_grad64.c — central finite differences of the whole side-chain VAE loss w.r.t.
 * elements of every parameter tensor, in double precision (the model and src/nn compiled with
 * pd_real = double). The classifier reads the DETACHED reconstruction through the trunk with its
 * features DETACHED, so the function whose derivative backward computes is
 * F(θ) = MSE(θ) + β·KL(θ) + CE(Linear(θ; trunk(θ₀; recon₀))): the reconstruction is held at its
 * unperturbed value recon₀ and, for trunk parameters, the CE term is held at θ₀. A missing detach
 * of either fails this test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "models/sc_vae.h"
#include "nn/ops.h"
#include "test.h"

#ifndef PD_REAL_DOUBLE
#error "test_sc_vae_grad64 must be built with -DPD_REAL_DOUBLE against the double test libraries"
#endif

enum { VOXEL = 4, WIDTH = 2, LATENT = 4, BATCH = 3, PER_TENSOR = 4 };
static const double BETA_KL = 0.25, NORMALISER = 4.0;
/* Five-point central difference, error O(h⁴ F⁽⁵⁾) (GroupNorm makes F curved; with groups of two
 * values, an earlier group rule, the plain 3-point difference was off by 1e-4 relative at the 1³
 * bottleneck). With h = 1e-6 truncation is far below 1e-7 relative (the test passes with h up to
 * 1e-4) and rounding is ~1e-16·|F|/h ~ 1e-10, so 1e-6 relative plus 1e-8 absolute leaves an order
 * of magnitude of margin that a wrong term (a missing detach, a dropped KL path: errors of order
 * 1e-2..1 relative) cannot pass. PD_FD_STEP overrides h for experiments. */
static double H = 1e-6; static const double RTOL = 1e-6, ATOL = 1e-8;

typedef struct fixture {
    pd_sc_vae *m;
    pd_graph *g;
    pd_real vox[BATCH * VOXEL * VOXEL * VOXEL];
    pd_real eps[BATCH * LATENT];
    int32_t aa[BATCH];
    pd_real recon0[BATCH * VOXEL * VOXEL * VOXEL];
} fixture;

static const int64_t VOX_SHAPE[5] = {BATCH, 1, VOXEL, VOXEL, VOXEL};

/* F(θ) as described at the top (grad off, no tape). With ce_fixed >= 0 (a trunk parameter is
 * perturbed) the CE term is that constant instead of the classifier on recon₀. */
static double objective(fixture *fx, double ce_fixed)
{
    pd_graph_reset(fx->g);
    int grad = pd_graph_set_grad(fx->g, 0);
    pd_tensor *vox = pd_tensor_wrap(fx->g, 5, VOX_SHAPE, fx->vox);
    pd_tensor *eps = pd_tensor_wrap(fx->g, 2, (int64_t[]){BATCH, LATENT}, fx->eps);
    pd_sc_vae_terms t;
    pd_tensor *loss = pd_sc_vae_loss_eps(fx->g, fx->m, vox, fx->aa, eps, NORMALISER, &t);
    pd_tensor *recon0 = pd_tensor_wrap(fx->g, 5, VOX_SHAPE, fx->recon0);
    pd_tensor *logits = NULL;
    pd_status s = pd_sc_vae_classify(fx->g, fx->m, recon0, &logits);
    pd_tensor *ce = s == PD_OK ? pd_cross_entropy(fx->g, logits, fx->aa, -1, NORMALISER) : NULL;
    pd_graph_set_grad(fx->g, grad);
    if (!loss || !ce) {
        fprintf(stderr, "objective: %s\n", pd_last_error());
        return NAN;
    }
    return t.mse + BETA_KL * t.kl + (ce_fixed >= 0 ? ce_fixed : ce->data[0]);
}

int main(void)
{
    if (getenv("PD_FD_STEP")) H = atof(getenv("PD_FD_STEP"));
    fixture fx;
    pd_sc_vae_config c;
    pd_sc_vae_config_default(&c);
    c.voxel = VOXEL;
    c.width = WIDTH;
    c.latent = LATENT;
    c.beta_kl = BETA_KL;
    CHECK(pd_sc_vae_create(&fx.m, &c, &(pd_model_opts){.seed = 7}) == PD_OK);
    CHECK(pd_graph_create(&fx.g, 0) == PD_OK);
    if (pd_test_failures) return pd_test_finish("sc_vae finite differences");
    pd_params *P = pd_sc_vae_params(fx.m);

    pd_rng rng;
    pd_rng_init(&rng, 99, 0, 0, PD_RNG_NOISE);
    for (int i = 0; i < BATCH * VOXEL * VOXEL * VOXEL; i++) fx.vox[i] = pd_rng_normal(&rng) * 0.5;
    for (int i = 0; i < BATCH * LATENT; i++) fx.eps[i] = pd_rng_normal(&rng);
    fx.aa[0] = 4;
    fx.aa[1] = 19;
    fx.aa[2] = -1;

    /* analytic gradients, and the reconstruction at θ0 */
    pd_params_zero_grad(P);
    pd_tensor *vox = pd_tensor_wrap(fx.g, 5, VOX_SHAPE, fx.vox);
    pd_tensor *eps = pd_tensor_wrap(fx.g, 2, (int64_t[]){BATCH, LATENT}, fx.eps);
    pd_tensor *loss = pd_sc_vae_loss_eps(fx.g, fx.m, vox, fx.aa, eps, NORMALISER, NULL);
    CHECK_MSG(loss && pd_backward(fx.g, loss) == PD_OK, "%s", pd_last_error());
    double loss0 = loss ? loss->data[0] : NAN;
    pd_tensor *mu, *logvar, *recon;
    CHECK_MSG(pd_sc_vae_encode(fx.g, fx.m, vox, &mu, &logvar) == PD_OK, "%s", pd_last_error());
    pd_tensor *z = pd_tensor_new2(fx.g, BATCH, LATENT);
    for (int i = 0; i < BATCH * LATENT; i++) z->data[i] = mu->data[i] + exp(logvar->data[i] / 2) * fx.eps[i];
    CHECK_MSG(pd_sc_vae_decode_classify(fx.g, fx.m, z, &recon, NULL) == PD_OK, "%s", pd_last_error());
    for (int i = 0; i < BATCH * VOXEL * VOXEL * VOXEL; i++) fx.recon0[i] = recon->data[i];
    CHECK_NEAR(objective(&fx, -1), loss0, 1e-12 * fabs(loss0));   /* F(θ0) is the model's loss */
    /* the CE term at θ0 on recon₀, held while trunk parameters move */
    pd_tensor *logits0 = NULL, *recon0 = pd_tensor_wrap(fx.g, 5, VOX_SHAPE, fx.recon0);
    CHECK_MSG(pd_sc_vae_classify(fx.g, fx.m, recon0, &logits0) == PD_OK, "%s", pd_last_error());
    pd_tensor *ce0 = logits0 ? pd_cross_entropy(fx.g, logits0, fx.aa, -1, NORMALISER) : NULL;
    double ce_at_theta0 = ce0 ? ce0->data[0] : NAN;

    int checked = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int p = 0; p < P->n_params; p++) {
        pd_tensor *t = &P->params[p]->t;
        const char *name = P->params[p]->name;
        int in_trunk = strncmp(name, "enc.stem.", 9) == 0 || strncmp(name, "enc.down.", 9) == 0;
        pd_rng pick;
        pd_rng_init(&pick, 5, 0, (uint64_t)p, PD_RNG_SAMPLER);
        for (int k = 0; k < PER_TENSOR && k < t->numel; k++) {
            int64_t i = k == 0 ? 0 : (int64_t)pd_rng_below(&pick, (uint64_t)t->numel);
            pd_real keep = t->data[i];
            double f[4];
            const double offsets[4] = {2 * H, H, -H, -2 * H};
            for (int o = 0; o < 4; o++) {
                t->data[i] = keep + offsets[o];
                f[o] = objective(&fx, in_trunk ? ce_at_theta0 : -1);
            }
            t->data[i] = keep;
            double numeric = (8 * (f[1] - f[2]) - (f[0] - f[3])) / (12 * H), analytic = t->grad[i];
            double err = fabs(numeric - analytic), tol = ATOL + RTOL * fmax(fabs(numeric), fabs(analytic));
            CHECK_MSG(err <= tol, "%s[%lld]: analytic %.12g, numeric %.12g", P->params[p]->name, (long long)i, analytic,
                      numeric);
            if (err / tol > worst) worst = err / tol, worst_name = P->params[p]->name;
            checked++;
        }
    }
    printf("%d elements of %d parameter tensors checked; worst error/tolerance %.3g (%s)\n", checked, P->n_params, worst,
           worst_name);
    pd_graph_destroy(fx.g);
    pd_sc_vae_destroy(fx.m);
    return pd_test_finish("sc_vae finite differences (f64)");
}
