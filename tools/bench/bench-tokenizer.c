/* bench-tokenizer.c — time of one training step (forward + backward, codebook update excluded)
 * of the CPU-default structure tokenizer (3 levels, width 128) on a batch of random normalised
 * images, for comparison with tools/bench/bench-tokenizer-torch.py (run both through
 * bench-tokenizer.sh). Usage: bench-tokenizer [BATCH [SIDE [STEPS]]] */
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "bench_clock.h"
#include "core/timer.h"
#include "models/tokenizer.h"
#include "nn/ops.h"

int main(int argc, char **argv)
{
    const int batch = argc > 1 ? atoi(argv[1]) : 8, side = argc > 2 ? atoi(argv[2]) : 64,
              steps = argc > 3 ? atoi(argv[3]) : 3;
    pd_tokenizer_config c;
    pd_tokenizer_config_default(&c);
    pd_tokenizer *m;
    pd_graph *g;
    if (pd_tokenizer_create(&m, &c, &(pd_model_opts){.seed = 1}) != PD_OK || pd_graph_create(&g, 0) != PD_OK) {
        fprintf(stderr, "bench-tokenizer: %s\n", pd_last_error());
        return 1;
    }
    const int64_t n = (int64_t)batch * 3 * side * side;
    float *x = malloc((size_t)n * sizeof *x);
    int32_t *lengths = malloc((size_t)batch * sizeof *lengths);
    pd_rng r;
    pd_rng_init(&r, 1, 0, 0, PD_RNG_NOISE);
    for (int64_t i = 0; i < n; i++) x[i] = (float)pd_rng_normal(&r);
    for (int b = 0; b < batch; b++) lengths[b] = side;
    pd_params *P = pd_tokenizer_params(m);
    double best = 1e30, total = 0;
    for (int s = -1; s < steps; s++) {
        const double t0 = bench_clock();
        pd_graph_reset(g);
        pd_tensor *in = pd_tensor_from_floats(g, 4, (int64_t[]){batch, 3, side, side}, x);
        pd_tensor *loss = pd_tokenizer_loss(g, m, in, lengths, NULL, NULL, NULL, NULL);
        if (!loss) {
            fprintf(stderr, "bench-tokenizer: %s\n", pd_last_error());
            return 1;
        }
        pd_params_zero_grad(P);
        if (pd_backward(g, loss) != PD_OK) {
            fprintf(stderr, "bench-tokenizer: %s\n", pd_last_error());
            return 1;
        }
        const double dt = bench_clock() - t0;
        if (s >= 0) {
            total += dt;
            if (dt < best) best = dt;
        }
    }
    printf("C: %lld parameters, batch %d of %dx%d: step %.1f ms best, %.1f ms mean of %d\n",
           (long long)pd_params_count(P), batch, side, side, best * 1e3, total / steps * 1e3, steps);
    free(x);
    free(lengths);
    pd_graph_destroy(g);
    pd_tokenizer_destroy(m);
    return 0;
}
