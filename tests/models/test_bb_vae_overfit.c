/* test_bb_vae_overfit.c — the CPU-default backbone VAE must start fitting one real chain (crambin,
 * 1CRN): 40 AdamW steps with fresh reparameterisation noise each step must cut the loss by more
 * than 10%, the sequence CE by half a nat and the pair CE below its start (full-width gradients
 * that the tiny parity model could miss). PD_OVERFIT_STEPS / PD_OVERFIT_LR change the run by hand
 * (400 steps memorise the chain: see docs/models/bb_vae.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/bb_vae.h"
#include "models/bb_vae_pair_eval.h"
#include "nn/optim.h"
#include "test.h"
#include "test_bb_vae_data.h"

#define STEPS 40
#define LR 3e-3

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    int steps = getenv("PD_OVERFIT_STEPS") ? atoi(getenv("PD_OVERFIT_STEPS")) : STEPS;
    double lr = getenv("PD_OVERFIT_LR") ? atof(getenv("PD_OVERFIT_LR")) : LR;
    test_backbone bb;
    int rc = test_backbone_load(&bb, "1CRN.cif", 0, 1, 0, 0);
    if (rc) return rc;
    /* the run-file defaults are the CPU defaults; a head count that does not divide the width is refused */
    pd_bb_vae_config cfg, from_run;
    pd_bb_vae_config_default(&cfg);
    pd_config run;
    CHECK(pd_config_defaults(&run, 0, NULL) == PD_OK && pd_bb_vae_config_from(&run, &from_run) == PD_OK);
    CHECK(memcmp(&cfg, &from_run, sizeof cfg) == 0);
    pd_config_free(&run);
    char *bad_heads[] = {"model.bb_vae.heads=3"};
    CHECK(pd_config_defaults(&run, 1, bad_heads) == PD_OK && pd_bb_vae_config_from(&run, &from_run) != PD_OK);
    pd_config_free(&run);
    pd_bb_backbone view = test_backbone_view(&bb);
    pd_bb_graph graph;
    CHECK_MSG(pd_bb_graph_build(&graph, 1, &view, cfg.neighbors, 1) == PD_OK, "%s", pd_last_error());
    pd_bb_vae *m = NULL;
    CHECK_MSG(pd_bb_vae_create(&m, &cfg, &(pd_model_opts){.seed = 7}) == PD_OK, "%s", pd_last_error());
    pd_adamw opt;
    pd_adamw_config acfg;
    pd_adamw_config_default(&acfg);
    CHECK(pd_adamw_init(&opt, &m->params, &acfg, 0, m->params.total) == PD_OK);
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    printf("1CRN: %lld residues, %lld labelled pairs, %lld parameters\n", (long long)graph.n_nodes,
           (long long)graph.n_valid_pairs, (long long)pd_params_count(&m->params));

    double first = 0, last5 = 0, acc0 = 0, acc_last = 0, seq0 = 0, seq_last = 0, pair0 = 0, pair_last = 0, t0 = now();
    for (int step = 0; step < steps; step++) {
        pd_graph_reset(g);
        pd_params_zero_grad(&m->params);
        pd_bb_vae_batch batch = {.graph = &graph, .aa = bb.aa, .seed = 11, .step = (uint64_t)step};
        pd_bb_vae_output out;
        if (pd_bb_vae_forward(g, m, &batch, NULL, &out) != PD_OK || pd_backward(g, out.loss) != PD_OK) {
            CHECK_MSG(0, "step %d: %s", step, pd_last_error());
            break;
        }
        double loss = out.loss->data[0], acc = (double)out.stats.dist_correct / (double)out.stats.pairs;
        if (step == 0) first = loss, acc0 = acc, seq0 = out.seq_loss->data[0], pair0 = out.pair_loss->data[0];
        seq_last = out.seq_loss->data[0], pair_last = out.pair_loss->data[0];
        if (step >= steps - 5) last5 += loss / 5;
        acc_last = acc;
        if (step % (steps >= 4 ? steps / 4 : 1) == 0 || step == steps - 1)
            printf("step %2d loss %.4f (pair %.4f seq %.4f kl %.4f) dist acc %.3f seq acc %.3f\n", step, loss,
                   out.pair_loss->data[0], out.seq_loss->data[0], out.kl_loss->data[0], acc,
                   (double)out.stats.seq_correct / (double)out.stats.seq_residues);
        pd_adamw_step(&opt, m->params.data, m->params.grad, lr, 1.0);
    }
    double seconds = now() - t0;
    printf("loss %.4f -> %.4f (mean of the last 5), distance-bin accuracy %.3f -> %.3f, %.1f s\n", first, last5, acc0,
           acc_last, seconds);
    CHECK_MSG(last5 < 0.9 * first, "loss did not drop clearly: %.4f -> %.4f", first, last5);
    CHECK_MSG(seq_last < seq0 - 0.5, "sequence CE did not drop: %.4f -> %.4f", seq0, seq_last);
    CHECK_MSG(pair_last < pair0 - 0.1, "pair CE did not drop: %.4f -> %.4f", pair0, pair_last);
    CHECK_MSG(acc_last > acc0, "distance accuracy did not rise: %.3f -> %.3f", acc0, acc_last);

    /* the pair head's evaluation path: per-pair log p(label) sums to the loss's distance CE (eval
     * mode, z = mu), contact probabilities are probabilities, and after overfitting the top-L/5
     * contacts of 1CRN are found clearly better than at random */
    pd_graph_reset(g);
    pd_graph_set_training(g, 0);
    pd_bb_vae_batch eval_batch = {.graph = &graph, .aa = bb.aa};
    pd_bb_vae_output eval_out;
    CHECK(pd_bb_vae_forward(g, m, &eval_batch, NULL, &eval_out) == PD_OK);
    const int64_t n_pairs = graph.pair_offset[1];
    float *logp = malloc((size_t)n_pairs * sizeof *logp), *contact = malloc((size_t)n_pairs * sizeof *contact);
    pd_graph_reset(g);
    CHECK_MSG(pd_bb_vae_predict_pairs(g, m, &graph, logp, contact) == PD_OK, "%s", pd_last_error());
    double ce = 0;
    int64_t labelled = 0, probs_ok = 1;
    for (int64_t p = 0; p < n_pairs; p++) {
        if (graph.dist_label[p] == PD_BB_LABEL_IGNORE) {
            probs_ok &= isnan(logp[p]) && isnan(contact[p]);
            continue;
        }
        ce -= logp[p];
        labelled++;
        probs_ok &= contact[p] >= 0 && contact[p] <= 1 && logp[p] <= 0;
    }
    CHECK(probs_ok && labelled == eval_out.stats.pairs);
    CHECK_NEAR(ce, eval_out.stats.dist_ce, 1e-4 * eval_out.stats.dist_ce);
    pd_bb_pair_marginals *mg = calloc(1, sizeof *mg);
    pd_bb_pair_sums sums = {0};
    pd_bb_pair_marginals_add(mg, &graph, 0);
    CHECK(pd_bb_pair_eval_entry(&graph, 0, logp, contact, mg, &sums) == PD_OK);
    printf("pair head after overfitting: distance CE %.3f (marginal %.3f, relative-position oracle %.3f); top-L/5 "
           "contact precision %.2f (oracle %.2f, random %.2f) over %.0f pairs\n", sums.model_ce / sums.pairs,
           sums.marginal_ce / sums.pairs, sums.relpos_ce / sums.pairs, sums.model_precision, sums.oracle_precision,
           sums.random_precision, sums.top_pairs);
    CHECK(sums.entries == 1 && sums.top_pairs == graph.n_nodes / 5);
    CHECK_MSG(sums.model_ce < sums.relpos_ce && sums.relpos_ce < sums.marginal_ce, "CE %.3f, oracle %.3f, marginal %.3f",
              sums.model_ce, sums.relpos_ce, sums.marginal_ce);
    /* (the oracle here knows this very protein's contact rate per separation: no bar for 40 steps) */
    CHECK_MSG(sums.model_precision > 2 * sums.random_precision, "contact precision %.2f not above twice the random %.2f",
              sums.model_precision, sums.random_precision);
    free(mg);
    free(logp);
    free(contact);

    pd_graph_destroy(g);
    pd_adamw_free(&opt);
    pd_bb_vae_destroy(m);
    pd_bb_graph_free(&graph);
    test_backbone_free(&bb);
    return pd_test_finish("test_bb_vae_overfit");
}
