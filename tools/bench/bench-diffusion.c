/* bench-diffusion.c — time one training step (forward + backward) of the DiT at the run file's
 * sizes (defaults: depth 4, width 128, heads 4) on ~2048 residues in entries of ~150, and the DDIM
 * sampler per 100 residues, to compare with tools/bench/bench-diffusion-torch.py (same batch,
 * same threads). Usage: bench-diffusion [RESIDUES [STEPS [SAMPLE_LEN]]] (SAMPLE_LEN 0: no sampling)
 * (threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS). */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/rng.h"
#include "bench_clock.h"
#include "core/timer.h"
#include "models/diffusion.h"
#include "nn/ops.h"

/* Entry lengths 130, 140, ..., 170 repeated until `residues` are covered (the same rule as the
 * torch bench). */
static int entry_lengths(int residues, int *len, int cap)
{
    int n = 0, total = 0;
    while (total < residues && n < cap) {
        len[n] = 130 + 10 * (n % 5);
        if (total + len[n] > residues) len[n] = residues - total;
        total += len[n++];
    }
    return n;
}

int main(int argc, char **argv)
{
    int residues = argc > 1 ? atoi(argv[1]) : 2048, steps = argc > 2 ? atoi(argv[2]) : 5;
    int sample_len = argc > 3 ? atoi(argv[3]) : 300;
    pd_config cfg;
    pd_diffusion_config c;
    pd_diffusion *m;
    pd_graph *g;
    if (pd_config_defaults(&cfg, 0, NULL) != PD_OK || pd_diffusion_config_from(&cfg, &c) != PD_OK ||
        pd_diffusion_create(&m, &c, &(pd_model_opts){.seed = 1}) != PD_OK || pd_graph_create(&g, 0) != PD_OK) {
        fprintf(stderr, "bench-diffusion: %s\n", pd_last_error());
        return 1;
    }
    int len[4096];
    int n_entries = entry_lengths(residues, len, 4096);
    int64_t *offset = malloc((size_t)(n_entries + 1) * sizeof *offset);
    offset[0] = 0;
    for (int e = 0; e < n_entries; e++) offset[e + 1] = offset[e] + len[e];
    int64_t N = offset[n_entries];
    float *sc = malloc((size_t)(N * c.sc_latent) * sizeof *sc), *bb = malloc((size_t)(N * c.bb_latent) * sizeof *bb);
    uint8_t *aa = malloc((size_t)N);
    pd_rng rng;
    pd_rng_init(&rng, 1, 0, 0, PD_RNG_NOISE);
    for (int64_t i = 0; i < N * c.sc_latent; i++) sc[i] = (float)pd_rng_normal(&rng);
    for (int64_t i = 0; i < N * c.bb_latent; i++) bb[i] = (float)pd_rng_normal(&rng);
    for (int64_t i = 0; i < N; i++) aa[i] = (uint8_t)(i % 20);
    pd_diffusion_batch batch = {.n_entries = n_entries, .offset = offset, .sc_mu = sc, .bb_mu = bb, .aa = aa};
    pd_params *P = pd_diffusion_params(m);
    /* adaLN-Zero makes most gradients zero at init; time a model with non-zero weights so the
     * work is representative of training (zero weights change no op's cost, but stay honest) */
    for (int i = 0; i < P->n_params; i++) {
        pd_param *p = P->params[i];
        for (int64_t k = 0; k < p->t.numel; k++)
            if (p->t.data[k] == 0) p->t.data[k] = (pd_real)(0.01 * pd_rng_normal(&rng));
    }
    double best = 1e30, total = 0;
    for (int s = -1; s < steps; s++) {   /* step -1 warms up (arena growth, first touch) */
        double t0 = bench_clock();
        pd_graph_reset(g);
        pd_params_zero_grad(P);
        pd_tensor *loss = pd_diffusion_loss(g, m, &batch, 1, (uint64_t)(s + 1), 0, NULL);
        if (!loss || pd_backward(g, loss) != PD_OK) {
            fprintf(stderr, "bench-diffusion: %s\n", pd_last_error());
            return 1;
        }
        double dt = bench_clock() - t0;
        if (s >= 0) {
            total += dt;
            if (dt < best) best = dt;
        }
    }
    printf("c: depth %d width %d heads %d, %lld parameters, %lld residues in %d entries: step %.1f ms best, "
           "%.1f ms mean of %d\n",
           c.depth, c.width, c.heads, (long long)pd_params_count(P), (long long)N, n_entries, best * 1e3,
           total / steps * 1e3, steps);

    /* design: one chain of sample_len residues, DDIM 50 steps, nothing fixed (SAMPLE_LEN 0: skip) */
    if (sample_len > 0) {
        int32_t *tokens = malloc((size_t)sample_len * sizeof *tokens);
        float *x0 = malloc((size_t)(sample_len * c.sc_latent) * sizeof *x0);
        for (int i = 0; i < sample_len; i++) tokens[i] = PD_DIFFUSION_TOKEN_MASK;
        int64_t one[2] = {0, sample_len};
        pd_diffusion_cond cond = {.n_entries = 1, .offset = one, .bb_mu = bb, .tokens = tokens};
        pd_sampler_config sc_cfg;
        pd_sampler_config_default(&sc_cfg);
        double t0 = pd_now();
        if (sample_len > N || pd_diffusion_sample(g, m, &cond, &sc_cfg, 1, NULL, x0) != PD_OK) {
            fprintf(stderr, "bench-diffusion: sampling: %s\n", sample_len > N ? "SAMPLE_LEN > RESIDUES" : pd_last_error());
            return 1;
        }
        double dt = pd_now() - t0;
        printf("c: DDIM %d steps, one chain of %d residues: %.3f s (%.3f s per 100 residues)\n", sc_cfg.steps, sample_len, dt,
               dt * 100.0 / sample_len);
        free(tokens);
        free(x0);
    }
    free(offset);
    free(sc);
    free(bb);
    free(aa);
    pd_graph_destroy(g);
    pd_diffusion_destroy(m);
    pd_config_free(&cfg);
    return 0;
}
