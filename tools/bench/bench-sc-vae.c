/* bench-sc-vae.c — time one training step (forward + backward) of the side-chain VAE at the
 * run file's sizes (defaults: V 16, width 8, latent 16) on a batch of random voxels, to compare
 * with tools/bench/bench-sc-vae-torch.py on the same batch and threads (bench-sc-vae.sh).
 * Usage: bench-sc-vae [BATCH [STEPS]]  (threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS). */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/rng.h"
#include "bench_clock.h"
#include "core/timer.h"
#include "models/sc_vae.h"
#include "nn/ops.h"

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 256, steps = argc > 2 ? atoi(argv[2]) : 5;
    pd_config cfg;
    pd_sc_vae_config c;
    pd_sc_vae *m;
    pd_graph *g;
    if (pd_config_defaults(&cfg, 0, NULL) != PD_OK || pd_sc_vae_config_from(&cfg, &c) != PD_OK ||
        pd_sc_vae_create(&m, &c, &(pd_model_opts){.seed = 1}) != PD_OK || pd_graph_create(&g, 0) != PD_OK) {
        fprintf(stderr, "bench-sc-vae: %s\n", pd_last_error());
        return 1;
    }
    int64_t cells = (int64_t)c.voxel * c.voxel * c.voxel;
    float *vox = malloc((size_t)(batch * cells) * sizeof *vox);
    int32_t *aa = malloc((size_t)batch * sizeof *aa);
    pd_rng rng;
    pd_rng_init(&rng, 1, 0, 0, PD_RNG_NOISE);
    for (int64_t i = 0; i < batch * cells; i++) vox[i] = (float)pd_rng_normal(&rng);
    for (int i = 0; i < batch; i++) aa[i] = i % 20;
    pd_params *P = pd_sc_vae_params(m);
    double best = 1e30, total = 0;
    for (int s = -1; s < steps; s++) {   /* step -1 warms up (arena growth, first-touch) */
        double t0 = bench_clock();
        pd_graph_reset(g);
        pd_params_zero_grad(P);
        pd_tensor *x = pd_tensor_from_floats(g, 5, (int64_t[]){batch, 1, c.voxel, c.voxel, c.voxel}, vox);
        pd_tensor *loss = pd_sc_vae_loss(g, m, x, aa, NULL, 1, (uint64_t)(s + 1), 0, NULL);
        if (!loss || pd_backward(g, loss) != PD_OK) {
            fprintf(stderr, "bench-sc-vae: %s\n", pd_last_error());
            return 1;
        }
        double dt = bench_clock() - t0;
        if (s >= 0) {
            total += dt;
            if (dt < best) best = dt;
        }
    }
    printf("c: V %d width %d latent %d, %lld parameters, batch %d: step %.1f ms best, %.1f ms mean of %d\n", c.voxel,
           c.width, c.latent, (long long)pd_params_count(P), batch, best * 1e3, total / steps * 1e3, steps);
    free(vox);
    free(aa);
    pd_graph_destroy(g);
    pd_sc_vae_destroy(m);
    pd_config_free(&cfg);
    return 0;
}
