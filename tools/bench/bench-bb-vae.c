/* bench-bb-vae.c — step time of the CPU-default backbone VAE (one forward + backward on ~2048
 * residues of real chains) and graph-construction time per 1000 residues. With --dump FILE it
 * writes the same batch, weights and noise for tools/bench/bench-bb-vae-torch.py to time PyTorch.
 * Usage: bench-bb-vae [--residues N] [--steps S] [--dump FILE]   (threads: OMP/OPENBLAS_NUM_THREADS) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "core/rng.h"
#include "models/bb_vae.h"
#include "test_bb_vae_bundle.h"
#include "test_bb_vae_data.h"

#define MAX_ENTRIES 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Single chains of 80..512 residues from MANIFEST.tsv order until `target` residues. */
static int pick_chains(test_backbone *bb, int target)
{
    FILE *f = fopen(test_shared_path("MANIFEST.tsv"), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", test_shared_path("MANIFEST.tsv"));
        return 0;
    }
    char line[8192];
    int n = 0, total = 0;
    while (total < target && n < MAX_ENTRIES && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab || strncmp(line, "file\t", 5) == 0) continue;
        *tab = 0;
        test_backbone t;
        if (test_backbone_load(&t, line, 0, 1, 0, 512) != 0) continue;
        if (t.length < 80) {
            test_backbone_free(&t);
            continue;
        }
        bb[n++] = t;
        total += t.length;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    int target = 2048, steps = 3;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--residues") && i + 1 < argc) target = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--residues N] [--steps S] [--dump FILE]\n", argv[0]);
            return 2;
        }
    }
    test_backbone bb[MAX_ENTRIES];
    int n = pick_chains(bb, target);
    if (n == 0) return 1;
    pd_bb_backbone views[MAX_ENTRIES];
    int64_t total = 0;
    printf("batch: %d chains, lengths", n);
    for (int i = 0; i < n; i++) {
        views[i] = test_backbone_view(&bb[i]);
        total += bb[i].length;
        printf(" %d", bb[i].length);
    }
    printf(" (%lld residues)\n", (long long)total);

    pd_bb_vae_config cfg;
    pd_bb_vae_config_default(&cfg);
    pd_bb_graph graph;
    double t_graph[5], t_knn[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        if (pd_bb_graph_build(&graph, n, views, cfg.neighbors, 0) != PD_OK) return 1;
        t_knn[r] = now() - t0;
        pd_bb_graph_free(&graph);
        t0 = now();
        if (pd_bb_graph_build(&graph, n, views, cfg.neighbors, 1) != PD_OK) return 1;
        t_graph[r] = now() - t0;
        if (r < 4) pd_bb_graph_free(&graph);
    }
    qsort(t_graph, 5, sizeof(double), cmp_double);
    qsort(t_knn, 5, sizeof(double), cmp_double);
    printf("graph (kNN + edge features): %.2f ms per 1000 residues; with decoder labels: %.2f ms per 1000 residues\n",
           t_knn[2] * 1e3 * 1000 / (double)total, t_graph[2] * 1e3 * 1000 / (double)total);

    pd_bb_vae *m = NULL;
    if (pd_bb_vae_create(&m, &cfg, &(pd_model_opts){.seed = 1}) != PD_OK) {
        fprintf(stderr, "%s\n", pd_last_error());
        return 1;
    }
    uint8_t *aa = malloc((size_t)total);
    float *eps = malloc(sizeof(float) * (size_t)(total * cfg.latent));
    for (int i = 0, o = 0; i < n; i++)
        for (int r = 0; r < bb[i].length; r++) aa[o++] = bb[i].aa[r];
    for (int64_t i = 0; i < total; i++) {
        pd_rng rng;
        pd_rng_init(&rng, 5, 0, (uint64_t)i, PD_RNG_NOISE);
        for (int j = 0; j < cfg.latent; j++) eps[i * cfg.latent + j] = (float)pd_rng_normal(&rng);
    }
    pd_graph *g;
    if (pd_graph_create(&g, 0) != PD_OK) return 1;
    double *t_step = malloc(sizeof(double) * (size_t)(steps + 1)), loss = 0;
    for (int s = 0; s <= steps; s++) {   /* step 0 warms up the arena */
        pd_graph_reset(g);
        pd_params_zero_grad(&m->params);
        double t0 = bench_clock();
        pd_tensor *e = pd_tensor_from_floats(g, 2, (int64_t[]){total, cfg.latent}, eps);
        pd_bb_vae_batch batch = {.graph = &graph, .aa = aa, .eps = e};
        pd_bb_vae_output out;
        if (pd_bb_vae_forward(g, m, &batch, NULL, &out) != PD_OK || pd_backward(g, out.loss) != PD_OK) {
            fprintf(stderr, "%s\n", pd_last_error());
            return 1;
        }
        t_step[s] = bench_clock() - t0;
        loss = out.loss->data[0];
    }
    double mean = 0;
    for (int s = 1; s <= steps; s++) mean += t_step[s] / steps;
    qsort(t_step + 1, (size_t)steps, sizeof(double), cmp_double);
    printf("model: width %d, %d layers, k %d, latent %d, %d decoder layers, %lld parameters, %lld labelled pairs\n",
           cfg.width, cfg.layers, cfg.neighbors, cfg.latent, cfg.decoder_layers, (long long)pd_params_count(&m->params),
           (long long)graph.n_valid_pairs);
    printf("forward+backward: median %.1f ms over %d steps (loss %.5f); step %.1f ms best, %.1f ms mean of %d\n",
           t_step[1 + steps / 2] * 1e3, steps, loss, t_step[1] * 1e3, mean * 1e3, steps);
    if (dump && bundle_write_bb_vae_input(dump, m, &graph, aa, eps) != 0) {
        fprintf(stderr, "cannot write %s\n", dump);
        return 1;
    }
    pd_graph_destroy(g);
    pd_bb_vae_destroy(m);
    pd_bb_graph_free(&graph);
    for (int i = 0; i < n; i++) test_backbone_free(&bb[i]);
    free(aa), free(eps), free(t_step);
    return 0;
}
