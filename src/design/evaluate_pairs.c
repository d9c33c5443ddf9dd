/* evaluate_pairs.c — pd_evaluate_bb_pairs: two passes over this rank's test entries (labelled
 * section 5 graphs built once and kept): the distance-class counts per relative-position class,
 * summed over ranks (the marginal and the oracle are the test split's own: an upper bound for
 * any baseline that does not see the structure), then the model's per-pair predictions scored
 * against them. Per-entry sums are added in entry order, so the figures do not depend on the
 * rank count, to the bit. */
#include "design/evaluate_pairs.h"

#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"

pd_status pd_evaluate_bb_pairs(pd_bb_vae *m, pd_dataset *ds, const int64_t *test, const int *owner, int64_t n_test,
                               MPI_Comm comm, pd_bb_pair_sums *out)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(out, 0, sizeof *out);
    pd_bb_pair_marginals *mg = pd_calloc(1, sizeof *mg);
    pd_bb_graph *graphs = pd_calloc((size_t)n_test + 1, sizeof *graphs);
    pd_status st = mg && graphs ? PD_OK : PD_ERR_NOMEM;
    for (int64_t k = 0; st == PD_OK && k < n_test; k++) {
        if (owner[k] != rank) continue;
        pd_entry e;
        st = pd_dataset_read_entry(ds, test[k], &e);
        if (st != PD_OK) break;
        pd_bb_backbone view = pd_bb_backbone_of_entry(&e);
        st = pd_bb_graph_build(&graphs[k], 1, &view, m->cfg.neighbors, 1);
        if (st == PD_OK) pd_bb_pair_marginals_add(mg, &graphs[k], 0);
        else pd_error_context("bb_vae pair evaluation of %s", e.name);
        pd_entry_free(&e);
    }
    st = pd_agree(comm, st);
    if (st == PD_OK)
        MPI_Allreduce(MPI_IN_PLACE, mg, (int)(sizeof *mg / sizeof(double)), MPI_DOUBLE, MPI_SUM, comm);
    /* per-entry sums, exchanged and then added in entry order: the same bits on any rank count */
    pd_bb_pair_sums *per_entry = pd_calloc((size_t)n_test + 1, sizeof *per_entry);
    if (st == PD_OK && !per_entry) st = PD_ERR_NOMEM;
    pd_graph *g = NULL;
    if (st == PD_OK) st = pd_graph_create(&g, 0);
    for (int64_t k = 0; st == PD_OK && k < n_test; k++) {
        if (owner[k] != rank) continue;
        const int64_t n_pairs = graphs[k].pair_offset[1];
        float *logp = malloc((size_t)(n_pairs + 1) * sizeof *logp), *contact = malloc((size_t)(n_pairs + 1) * sizeof *contact);
        st = logp && contact ? PD_OK : PD_ERR_NOMEM;
        pd_graph_reset(g);
        if (st == PD_OK) st = pd_bb_vae_predict_pairs(g, m, &graphs[k], logp, contact);
        if (st == PD_OK) st = pd_bb_pair_eval_entry(&graphs[k], 0, logp, contact, mg, &per_entry[k]);
        free(logp);
        free(contact);
    }
    st = pd_agree(comm, st);
    if (st == PD_OK) {
        const int fields = (int)(sizeof *per_entry / sizeof(double));
        MPI_Allreduce(MPI_IN_PLACE, per_entry, (int)n_test * fields, MPI_DOUBLE, MPI_SUM, comm);
        for (int64_t k = 0; k < n_test; k++) {
            const double *src = (const double *)&per_entry[k];
            double *dst = (double *)out;
            for (int f = 0; f < fields; f++) dst[f] += src[f];
        }
    }
    free(per_entry);
    if (g) pd_graph_destroy(g);
    for (int64_t k = 0; graphs && k < n_test; k++) pd_bb_graph_free(&graphs[k]);
    free(graphs);
    free(mg);
    return st;
}
