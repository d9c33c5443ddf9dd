/* test_sgd.c — the strategy plumbing end to end before the real models exist: data-parallel
 * training of a linear least-squares model (23 parameters in 3 units of 5, 11 and 7, so units
 * are padded on 2, 3 and 4 ranks) with momentum SGD, weight decay and gradient clipping.
 * Every strategy given on the command line ("ddp", "zero1", "zero2", "fsdp", "hsdp:2") runs 20
 * steps on the real ranks and must reach the losses and parameters of a serial loop (no MPI,
 * no sharding) to 1e-5; 10 steps + resume + 10 steps must equal 20 steps bit for bit; and a
 * run resumed under ddp from another strategy's state must stay on the serial trajectory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rng.h"
#include "parallel/collectives.h"
#include "parallel/comm.h"
#include "parallel/sampler.h"
#include "parallel/shard.h"
#include "parallel/topology.h"
#include "test.h"

#define D 23
#define N_UNITS 3
#define N_ENTRIES 48
#define STEPS 20
static const size_t unit_len[N_UNITS] = {5, 11, 7};
static const float LR = 0.05f, MOMENTUM = 0.9f, WEIGHT_DECAY = 0.01f, CLIP = 2.0f;
static const int64_t BUDGET = 60;
static const uint64_t SEED = 31;

static int rank, size;

/* ------------------------------------------------------------------ data */

static int32_t len[N_ENTRIES];
static int64_t row0[N_ENTRIES];
static float *X, *Y; /* rows of D features and their targets */

static void make_data(void)
{
    int64_t rows = 0;
    for (int e = 0; e < N_ENTRIES; e++) {
        pd_rng r;
        pd_rng_init(&r, 5, 0, (uint64_t)e, PD_RNG_INIT);
        len[e] = 1 + (int32_t)pd_rng_below(&r, 30);
        row0[e] = rows;
        rows += len[e];
    }
    X = malloc((size_t)rows * D * sizeof *X);
    Y = malloc((size_t)rows * sizeof *Y);
    for (int e = 0; e < N_ENTRIES; e++) {
        pd_rng r;
        pd_rng_init(&r, 6, 0, (uint64_t)e, PD_RNG_INIT);
        for (int j = 0; j < len[e]; j++) {
            float *x = X + (row0[e] + j) * D, y = 0;
            for (int i = 0; i < D; i++) {
                x[i] = (float)pd_rng_normal(&r);
                y += x[i] * (float)sin(0.7 * i + 0.3);
            }
            Y[row0[e] + j] = y + 0.1f * (float)pd_rng_normal(&r);
        }
    }
}

/* ------------------------------------------------------------------ state */

typedef struct sim_state {
    float w[D], m[D]; /* dense parameters and momentum */
    pd_sampler_state sampler;
    int have_sampler;
} sim_state;

static void initial_state(sim_state *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < D; i++) s->w[i] = 0.01f * (float)(i % 5);
}

/* ------------------------------------------------------------------ serial reference */

static void serial_run(const sim_state *start, int steps, sim_state *end, double *losses)
{
    sim_state s = *start;
    pd_sampler smp;
    pd_sampler_init(&smp, len, N_ENTRIES, SEED, BUDGET, 1);
    if (s.have_sampler) pd_sampler_set_state(&smp, &s.sampler);
    pd_batch b = {0};
    for (int step = 0; step < steps; step++) {
        pd_sampler_next(&smp, &b);
        float g[D] = {0}, inv = 1.0f / (float)b.residues;
        double loss = 0;
        for (int64_t k = 0; k < b.n; k++)
            for (int j = 0; j < len[b.entries[k]]; j++) {
                const float *x = X + (row0[b.entries[k]] + j) * D;
                float pred = 0;
                for (int i = 0; i < D; i++) pred += x[i] * s.w[i];
                float r = pred - Y[row0[b.entries[k]] + j];
                loss += (double)(r * r * inv);
                for (int i = 0; i < D; i++) g[i] += 2 * r * x[i] * inv;
            }
        double norm2 = 0;
        for (int i = 0; i < D; i++) norm2 += (double)g[i] * g[i];
        float scale = sqrt(norm2) > CLIP ? (float)(CLIP / sqrt(norm2)) : 1.0f;
        for (int i = 0; i < D; i++) {
            s.m[i] = MOMENTUM * s.m[i] + scale * g[i];
            s.w[i] -= LR * (s.m[i] + WEIGHT_DECAY * s.w[i]);
        }
        losses[step] = loss;
    }
    s.sampler = pd_sampler_get_state(&smp);
    s.have_sampler = 1;
    *end = s;
    pd_batch_free(&b);
    pd_sampler_free(&smp);
}

/* ------------------------------------------------------------------ distributed */

typedef struct sim {
    pd_strategy strategy;
    pd_topology topo;
    pd_coll_set cs;
    pd_shard_layout l;      /* over the plan's partition group */
    float *wf, *gf;         /* full padded parameters and gradients (ddp, zero1, zero2) */
    float *ws, *gs, *ms;    /* shards: parameters (fsdp/hsdp), gradients, momentum */
    float *work;            /* one padded unit */
    pd_bucket *buckets;
    int n_buckets;
} sim;

static pd_status sim_open(sim *s, pd_strategy strategy, int shard_group)
{
    memset(s, 0, sizeof *s);
    s->strategy = strategy;
    PD_TRY(pd_topology_create(&s->topo, MPI_COMM_WORLD, strategy, shard_group));
    PD_TRY(pd_coll_set_create(&s->cs, &s->topo, PD_COLL_MPI, NULL));
    const pd_group *part = s->topo.plan.partition;
    PD_TRY(pd_shard_layout_init(&s->l, N_UNITS, unit_len, part->size, part->rank));
    size_t total = s->l.total + 1, shard = s->l.shard_total + 1;
    s->wf = calloc(total, sizeof(float));
    s->gf = calloc(total, sizeof(float));
    s->ws = calloc(shard, sizeof(float));
    s->gs = calloc(shard, sizeof(float));
    s->ms = calloc(s->topo.plan.shard_optimizer ? shard : total, sizeof(float));
    s->work = calloc(s->l.max_padded + 1, sizeof(float));
    return pd_shard_buckets(&s->l, 18, &s->buckets, &s->n_buckets);
}

static void sim_close(sim *s)
{
    free(s->wf);
    free(s->gf);
    free(s->ws);
    free(s->gs);
    free(s->ms);
    free(s->work);
    free(s->buckets);
    pd_shard_layout_free(&s->l);
    pd_coll_set_free(&s->cs);
    pd_topology_free(&s->topo);
}

/* Load a dense state into this strategy's buffers (what resharding on load does). */
static void sim_load(sim *s, const sim_state *st)
{
    const pd_plan *p = &s->topo.plan;
    if (p->shard_parameters) pd_shard_dense_to_shard(&s->l, st->w, s->ws);
    else pd_shard_dense_to_padded(&s->l, st->w, s->wf);
    if (p->shard_optimizer) pd_shard_dense_to_shard(&s->l, st->m, s->ms);
    else pd_shard_dense_to_padded(&s->l, st->m, s->ms);
}

/* Dense parameters and momentum on every rank (what a checkpoint writes). */
static pd_status sim_save(sim *s, sim_state *st)
{
    const pd_plan *p = &s->topo.plan;
    if (p->shard_parameters) {
        for (int u = 0; u < N_UNITS; u++) {
            PD_TRY(pd_shard_gather_unit(s->cs.partition, &s->l, u, s->ws, s->work));
            memcpy(st->w + s->l.units[u].dense_offset, s->work, unit_len[u] * sizeof(float));
        }
    } else {
        pd_shard_padded_to_dense(&s->l, s->wf, st->w);
    }
    if (p->shard_optimizer) {
        /* Owned parts summed over the partition: every element comes from exactly one rank. */
        memset(st->m, 0, sizeof st->m);
        pd_shard_shard_to_dense(&s->l, s->ms, st->m);
        PD_TRY(pd_coll_allreduce_sum(s->cs.partition, st->m, D, PD_DT_F32));
    } else {
        pd_shard_padded_to_dense(&s->l, s->ms, st->m);
    }
    return PD_OK;
}

/* Rows of my slice: residual r = x.w - y, with the unit-wise forward of fsdp. */
static pd_status forward(sim *s, const pd_batch *mine, float *resid)
{
    int64_t k = 0;
    for (int64_t e = 0; e < mine->n; e++)
        for (int j = 0; j < len[mine->entries[e]]; j++) resid[k++] = -Y[row0[mine->entries[e]] + j];
    for (int u = 0; u < N_UNITS; u++) {
        const pd_unit_layout *x = &s->l.units[u];
        const float *w;
        if (s->topo.plan.shard_parameters) {
            /* fsdp: gather the unit, use it, let it go. */
            PD_TRY(pd_shard_gather_unit(s->cs.partition, &s->l, u, s->ws, s->work));
            w = s->work;
        } else {
            w = s->wf + x->offset;
        }
        k = 0;
        for (int64_t e = 0; e < mine->n; e++)
            for (int j = 0; j < len[mine->entries[e]]; j++, k++) {
                const float *row = X + (row0[mine->entries[e]] + j) * D + x->dense_offset;
                for (size_t i = 0; i < x->length; i++) resid[k] += row[i] * w[i];
            }
    }
    return PD_OK;
}

/* Unit u's local gradient (already divided by the global residue count) into `g`. */
static void unit_grad(const sim *s, int u, const pd_batch *mine, const float *resid, float inv, float *g)
{
    const pd_unit_layout *x = &s->l.units[u];
    memset(g, 0, x->padded * sizeof(float));
    int64_t k = 0;
    for (int64_t e = 0; e < mine->n; e++)
        for (int j = 0; j < len[mine->entries[e]]; j++, k++) {
            const float *row = X + (row0[mine->entries[e]] + j) * D + x->dense_offset;
            for (size_t i = 0; i < x->length; i++) g[i] += 2 * resid[k] * row[i] * inv;
        }
}

static pd_status sim_step(sim *s, pd_sampler *smp, pd_batch *global, pd_batch *mine, double *loss_out)
{
    const pd_plan *p = &s->topo.plan;
    PD_TRY(pd_sampler_next(smp, global));
    /* Data parallel over every rank of the world, whatever the strategy. */
    PD_TRY(pd_batch_split(global, len, size, rank, mine));
    const float inv = 1.0f / (float)global->residues; /* global count: same update on any rank count */
    float *resid = malloc((size_t)(mine->residues + 1) * sizeof *resid);
    PD_TRY(forward(s, mine, resid));
    double loss = 0;
    for (int64_t k = 0; k < mine->residues; k++) loss += (double)(resid[k] * resid[k] * inv);
    PD_TRY(pd_coll_allreduce_sum(s->cs.world, &loss, 1, PD_DT_F64));
    *loss_out = loss;

    /* Backward, last unit first, with each strategy's gradient synchronisation. */
    if (p->strategy == PD_STRATEGY_DDP) {
        pd_coll_request *req = calloc((size_t)s->n_buckets, sizeof *req);
        int next = 0;
        for (int u = N_UNITS - 1; u >= 0; u--) {
            unit_grad(s, u, mine, resid, inv, s->gf + s->l.units[u].offset);
            /* A bucket is complete when its first unit is done: start its allreduce. */
            if (next < s->n_buckets && s->buckets[next].first_unit == u) {
                PD_TRY(pd_coll_iallreduce_sum(s->cs.replicate, s->gf + s->buckets[next].offset,
                                              s->buckets[next].count, PD_DT_F32, &req[next]));
                next++;
            }
        }
        for (int b = 0; b < s->n_buckets; b++) PD_TRY(pd_coll_wait(&req[b]));
        free(req);
    } else if (p->strategy == PD_STRATEGY_ZERO1) {
        for (int u = N_UNITS - 1; u >= 0; u--) unit_grad(s, u, mine, resid, inv, s->gf + s->l.units[u].offset);
        PD_TRY(pd_shard_reduce_grads_in_place(s->cs.partition, s->cs.replicate, &s->l, s->gf));
        for (int u = 0; u < N_UNITS; u++)
            memcpy(s->gs + s->l.units[u].shard_offset, pd_shard_slot(&s->l, u, s->gf), s->l.units[u].shard_len * sizeof(float));
    } else {
        for (int u = N_UNITS - 1; u >= 0; u--) {
            unit_grad(s, u, mine, resid, inv, s->work);
            PD_TRY(pd_shard_reduce_unit_grads(s->cs.partition, s->cs.replicate, &s->l, u, s->work, s->gs));
        }
    }
    free(resid);

    /* Global gradient norm: the squares of what this rank owns, summed over the partition. */
    const float *g = p->shard_optimizer ? s->gs : s->gf;
    const size_t owned = p->shard_optimizer ? s->l.shard_total : s->l.total;
    double norm2 = 0;
    for (size_t i = 0; i < owned; i++) norm2 += (double)g[i] * g[i];
    PD_TRY(pd_coll_allreduce_sum(s->cs.partition, &norm2, 1, PD_DT_F64));
    float scale = sqrt(norm2) > CLIP ? (float)(CLIP / sqrt(norm2)) : 1.0f;

    /* Optimizer on the owned elements. */
    for (int u = 0; u < N_UNITS; u++) {
        const pd_unit_layout *x = &s->l.units[u];
        float *w, *m;
        const float *gu;
        size_t n;
        if (!p->shard_optimizer) {
            w = s->wf + x->offset, m = s->ms + x->offset, gu = s->gf + x->offset, n = x->padded;
        } else {
            w = p->shard_parameters ? s->ws + x->shard_offset : pd_shard_slot(&s->l, u, s->wf);
            m = s->ms + x->shard_offset, gu = s->gs + x->shard_offset, n = x->shard_len;
        }
        for (size_t i = 0; i < n; i++) {
            m[i] = MOMENTUM * m[i] + scale * gu[i];
            w[i] -= LR * (m[i] + WEIGHT_DECAY * w[i]);
        }
    }
    if (p->gather_after_step) PD_TRY(pd_shard_gather_params_in_place(s->cs.partition, &s->l, s->wf));
    return PD_OK;
}

static pd_status sim_run(pd_strategy strategy, int shard_group, const sim_state *start, int steps, sim_state *end,
                         double *losses, double *comm_seconds)
{
    sim s;
    pd_status st = sim_open(&s, strategy, shard_group);
    pd_sampler smp;
    if (st == PD_OK) st = pd_sampler_init(&smp, len, N_ENTRIES, SEED, BUDGET, 1);
    if (st == PD_OK && start->have_sampler) st = pd_sampler_set_state(&smp, &start->sampler);
    if (st == PD_OK) sim_load(&s, start);
    pd_batch global = {0}, mine = {0};
    pd_coll_set_stats_take(&s.cs);
    for (int step = 0; st == PD_OK && step < steps; step++) st = sim_step(&s, &smp, &global, &mine, &losses[step]);
    if (comm_seconds) *comm_seconds = pd_coll_set_stats_take(&s.cs).seconds;
    if (st == PD_OK) st = sim_save(&s, end);
    end->sampler = pd_sampler_get_state(&smp);
    end->have_sampler = 1;
    pd_batch_free(&global);
    pd_batch_free(&mine);
    pd_sampler_free(&smp);
    sim_close(&s);
    return st;
}

/* ------------------------------------------------------------------ checks */

static int close_rel(double a, double b) { return fabs(a - b) <= 1e-5 * fmax(1.0, fabs(b)); }

static void run_case(const char *spec, const sim_state *init, const sim_state *ref_end, const double *ref_loss)
{
    char name[32];
    int shard_group = 0;
    snprintf(name, sizeof name, "%s", spec);
    char *colon = strchr(name, ':');
    if (colon) {
        *colon = '\0';
        shard_group = atoi(colon + 1);
    }
    pd_strategy strategy;
    if (pd_strategy_parse(name, &strategy) != PD_OK) {
        CHECK_MSG(0, "%s", pd_last_error());
        return;
    }
    sim_state end, half, resumed, cross;
    double loss[STEPS], loss2[STEPS], comm = 0;
    CHECK_MSG(sim_run(strategy, shard_group, init, STEPS, &end, loss, &comm) == PD_OK, "%s: %s", spec, pd_last_error());
    int bad = 0;
    for (int k = 0; k < STEPS; k++) bad += !close_rel(loss[k], ref_loss[k]);
    CHECK_MSG(bad == 0, "%s: %d of %d losses differ from the serial run by more than 1e-5", spec, bad, STEPS);
    double worst = 0;
    for (int i = 0; i < D; i++) worst = fmax(worst, fabs(end.w[i] - ref_end->w[i]) / fmax(1.0, fabs(ref_end->w[i])));
    CHECK_MSG(worst <= 1e-5, "%s: parameters differ from the serial run by %.3g", spec, worst);
    const double direct_worst = worst;
    CHECK(ref_loss[STEPS - 1] < 0.5 * ref_loss[0]); /* the model learned something */
    int same = 0;
    pd_coll *world;
    pd_coll_create_mpi(MPI_COMM_WORLD, "world", &world);
    CHECK(pd_coll_check_identical(world, end.w, sizeof end.w, &same) == PD_OK);
    CHECK_MSG(same, "%s: ranks hold different parameters", spec);

    /* 10 + resume + 10 == 20, bit for bit (same strategy, same ranks). */
    CHECK(sim_run(strategy, shard_group, init, STEPS / 2, &half, loss2, NULL) == PD_OK);
    CHECK(sim_run(strategy, shard_group, &half, STEPS / 2, &resumed, loss2 + STEPS / 2, NULL) == PD_OK);
    CHECK_MSG(!memcmp(resumed.w, end.w, sizeof end.w) && !memcmp(resumed.m, end.m, sizeof end.m),
              "%s: resumed run differs from the uninterrupted one", spec);
    CHECK(!memcmp(loss2, loss, sizeof loss));
    CHECK(resumed.sampler.step == STEPS && resumed.sampler.position == end.sampler.position);

    /* Resharding: this strategy's state continued under ddp stays on the serial trajectory. */
    CHECK(sim_run(PD_STRATEGY_DDP, 0, &half, STEPS / 2, &cross, loss2, NULL) == PD_OK);
    worst = 0;
    for (int i = 0; i < D; i++) worst = fmax(worst, fabs(cross.w[i] - ref_end->w[i]) / fmax(1.0, fabs(ref_end->w[i])));
    CHECK_MSG(worst <= 1e-5, "%s -> ddp resume: parameters off by %.3g", spec, worst);
    if (rank == 0)
        printf("%-8s on %d ranks: final loss %.6f (serial %.6f), max parameter difference %.2g "
               "(after resharding onto ddp %.2g), comm %.2f ms\n",
               spec, size, loss[STEPS - 1], ref_loss[STEPS - 1], direct_worst, worst, comm * 1e3);
    pd_coll_free(world);
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) return 1;
    rank = pd_world_rank();
    size = pd_world_size();
    pd_log_init(rank, size, 0);
    make_data();
    sim_state init, ref_end;
    double ref_loss[STEPS];
    initial_state(&init);
    serial_run(&init, STEPS, &ref_end, ref_loss);
    if (argc < 2) CHECK_MSG(0, "usage: test_sgd STRATEGY[:SHARD_GROUP]...");
    for (int i = 1; i < argc; i++) run_case(argv[i], &init, &ref_end, ref_loss);
    free(X);
    free(Y);
    int rc = pd_test_finish("test_sgd");
    pd_mpi_finalize();
    return rc;
}
