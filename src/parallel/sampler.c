/* sampler.c — epoch permutations, residue-budget batches, resumable state and the balanced
 * per-rank split; see sampler.h. */
#include "parallel/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

pd_status pd_sampler_init(pd_sampler *s, const int32_t *lengths, int64_t n, uint64_t seed, int64_t batch_residues,
                          int shuffle)
{
    memset(s, 0, sizeof *s);
    s->perm_epoch = -1;
    if (n <= 0) return pd_fail(PD_ERR_CONFIG, "the split to sample from has no entries; featurize more structures "
                               "or check data.valid_fraction/data.test_fraction");
    if (batch_residues < 1)
        return pd_fail(PD_ERR_CONFIG, "train.batch_residues = %lld; it must be at least 1", (long long)batch_residues);
    for (int64_t i = 0; i < n; i++)
        if (lengths[i] < 1)
            return pd_fail(PD_ERR_FORMAT, "entry %lld of the split has %d residues; every entry needs at least one",
                           (long long)i, lengths[i]);
    s->lengths = pd_malloc((size_t)n * sizeof *s->lengths);
    s->perm = pd_malloc((size_t)n * sizeof *s->perm);
    if (!s->lengths || !s->perm) {
        pd_sampler_free(s);
        return PD_ERR_NOMEM;
    }
    memcpy(s->lengths, lengths, (size_t)n * sizeof *s->lengths);
    s->n = n;
    s->shuffle = shuffle;
    s->state.seed = seed;
    s->state.batch_residues = batch_residues;
    s->state.lengths_hash = pd_fnv1a64(lengths, (uint64_t)n * sizeof *lengths);
    return PD_OK;
}

void pd_sampler_free(pd_sampler *s)
{
    free(s->lengths);
    free(s->perm);
    free(s->groups);
    free(s->batch_start);
    free(s->batch_entries);
    memset(s, 0, sizeof *s);
    s->perm_epoch = -1;
}

/* Fisher-Yates driven by the (seed, epoch) stream: the same order on every rank. */
static void make_permutation(pd_sampler *s, int64_t epoch)
{
    for (int64_t i = 0; i < s->n; i++) s->perm[i] = i;
    if (s->shuffle) {
        pd_rng r;
        pd_rng_init(&r, s->state.seed, (uint64_t)epoch, 0, PD_RNG_SAMPLER);
        for (int64_t i = s->n - 1; i > 0; i--) {
            int64_t j = (int64_t)pd_rng_below(&r, (uint64_t)i + 1);
            int64_t t = s->perm[i];
            s->perm[i] = s->perm[j];
            s->perm[j] = t;
        }
    }
    s->perm_epoch = epoch;
}

static pd_status batch_push(pd_batch *b, int64_t entry)
{
    if (b->n == b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 64;
        int64_t *e = pd_realloc(b->entries, (size_t)cap * sizeof *e);
        if (!e) return PD_ERR_NOMEM;
        b->entries = e;
        b->cap = cap;
    }
    b->entries[b->n++] = entry;
    return PD_OK;
}

static void batch_reset(pd_batch *b)
{
    b->n = 0;
    b->residues = 0;
    b->oversize = 0;
    b->last_in_epoch = 0;
}

static pd_status next_group_batch(pd_sampler *s, pd_batch *global); /* batches of one group: below */

pd_status pd_sampler_next(pd_sampler *s, pd_batch *global)
{
    if (s->groups) return next_group_batch(s, global);
    pd_sampler_state *st = &s->state;
    if (st->position >= s->n) {
        st->epoch++;
        st->position = 0;
    }
    if (s->perm_epoch != st->epoch) make_permutation(s, st->epoch);
    batch_reset(global);
    global->step = st->step;
    global->epoch = st->epoch;
    while (st->position < s->n) {
        int64_t e = s->perm[st->position];
        int64_t len = s->lengths[e];
        if (global->n > 0 && global->residues + len > st->batch_residues) break;
        PD_TRY(batch_push(global, e));
        global->residues += len;
        st->position++;
        if (len > st->batch_residues) {
            global->oversize = 1;
            break;
        }
    }
    global->last_in_epoch = st->position >= s->n;
    st->step++;
    return PD_OK;
}

pd_status pd_sampler_set_groups(pd_sampler *s, const int32_t *groups)
{
    s->groups = pd_malloc((size_t)s->n * sizeof *s->groups);
    s->batch_start = pd_malloc((size_t)(s->n + 1) * sizeof *s->batch_start);
    s->batch_entries = pd_malloc((size_t)s->n * sizeof *s->batch_entries);
    if (!s->groups || !s->batch_start || !s->batch_entries) return PD_ERR_NOMEM;
    memcpy(s->groups, groups, (size_t)s->n * sizeof *s->groups);
    /* A checkpoint over another grouping of the same lengths is another split. */
    s->state.lengths_hash ^= pd_fnv1a64(groups, (uint64_t)s->n * sizeof *groups);
    s->perm_epoch = -1;
    return PD_OK;
}

/* The epoch's batches under groups (see pd_sampler_set_groups), from s->perm. */
static pd_status form_group_batches(pd_sampler *s)
{
    const int64_t n = s->n, budget = s->state.batch_residues;
    int64_t *batch_of = pd_malloc((size_t)n * sizeof *batch_of), *residues = pd_calloc((size_t)n, sizeof *residues);
    int64_t *close_rank = pd_malloc((size_t)n * sizeof *close_rank), *open_batch = pd_malloc((size_t)n * sizeof *open_batch);
    int32_t *open_group = pd_malloc((size_t)n * sizeof *open_group);
    int64_t *order = pd_malloc((size_t)(n + 1) * sizeof *order);
    pd_status st = batch_of && residues && close_rank && open_batch && open_group && order ? PD_OK : PD_ERR_NOMEM;
    int64_t n_batches = 0, n_open = 0, n_closed = 0;
    for (int64_t p = 0; st == PD_OK && p < n; p++) {
        const int64_t e = s->perm[p], len = s->lengths[e];
        int64_t o = 0;
        while (o < n_open && open_group[o] != s->groups[e]) o++;
        if (o == n_open) {
            open_group[n_open] = s->groups[e];
            open_batch[n_open++] = n_batches++;
        } else if (residues[open_batch[o]] + len > budget) {
            close_rank[open_batch[o]] = n_closed++;
            open_batch[o] = n_batches++;
        }
        batch_of[p] = open_batch[o];
        residues[open_batch[o]] += len;
        if (len > budget) { /* alone (oversize): close it now; the group's next entry opens another */
            close_rank[open_batch[o]] = n_closed++;
            open_batch[o] = open_batch[--n_open];
            open_group[o] = open_group[n_open];
        }
    }
    /* The groups' last batches, in order of their first entry (= batch id order). */
    if (st == PD_OK) {
        for (int64_t i = 0; i < n_open; i++) order[i] = open_batch[i];
        for (int64_t i = 1; i < n_open; i++)
            for (int64_t j = i; j > 0 && order[j - 1] > order[j]; j--) {
                int64_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (int64_t i = 0; i < n_open; i++) close_rank[order[i]] = n_closed++;
        /* Sizes by close rank, then offsets, then the entries in permutation order. */
        memset(s->batch_start, 0, (size_t)(n + 1) * sizeof *s->batch_start);
        for (int64_t p = 0; p < n; p++) s->batch_start[close_rank[batch_of[p]] + 1]++;
        for (int64_t b = 0; b < n_batches; b++) s->batch_start[b + 1] += s->batch_start[b];
        for (int64_t b = 0; b <= n_batches; b++) order[b] = s->batch_start[b];
        for (int64_t p = 0; p < n; p++) s->batch_entries[order[close_rank[batch_of[p]]]++] = s->perm[p];
        s->n_batches = n_batches;
        s->batches_budget = budget;
    }
    free(batch_of);
    free(residues);
    free(close_rank);
    free(open_batch);
    free(open_group);
    free(order);
    return st;
}

static pd_status next_group_batch(pd_sampler *s, pd_batch *global)
{
    pd_sampler_state *st = &s->state;
    if (s->perm_epoch != st->epoch || s->batches_budget != st->batch_residues) {
        make_permutation(s, st->epoch);
        PD_TRY(form_group_batches(s));
    }
    if (st->position >= s->n_batches) {
        st->epoch++;
        st->position = 0;
        make_permutation(s, st->epoch);
        PD_TRY(form_group_batches(s));
    }
    batch_reset(global);
    global->step = st->step;
    global->epoch = st->epoch;
    for (int64_t i = s->batch_start[st->position]; i < s->batch_start[st->position + 1]; i++) {
        PD_TRY(batch_push(global, s->batch_entries[i]));
        global->residues += s->lengths[s->batch_entries[i]];
    }
    global->oversize = global->n == 1 && global->residues > st->batch_residues;
    st->position++;
    global->last_in_epoch = st->position >= s->n_batches;
    st->step++;
    return PD_OK;
}

pd_sampler_state pd_sampler_get_state(const pd_sampler *s) { return s->state; }

pd_status pd_sampler_set_state(pd_sampler *s, const pd_sampler_state *st)
{
    if (st->seed != s->state.seed)
        return pd_fail(PD_ERR_CONFIG, "the checkpoint's sampler used train.seed = %llu but this run has %llu; "
                       "resume with the same seed or start a new run.dir",
                       (unsigned long long)st->seed, (unsigned long long)s->state.seed);
    if (st->lengths_hash != s->state.lengths_hash)
        return pd_fail(PD_ERR_CONFIG, "the checkpoint's sampler was over a different split (entry lengths differ, "
                       "hash %016llx vs %016llx); resume on the dataset the run started with",
                       (unsigned long long)st->lengths_hash, (unsigned long long)s->state.lengths_hash);
    if (st->epoch < 0 || st->position < 0 || st->position > s->n || st->step < 0)
        return pd_fail(PD_ERR_FORMAT, "sampler state (epoch %lld, position %lld, step %lld) is impossible for a "
                       "split of %lld entries; the checkpoint is damaged", (long long)st->epoch,
                       (long long)st->position, (long long)st->step, (long long)s->n);
    int64_t budget = s->state.batch_residues;
    s->state = *st;
    s->state.batch_residues = budget;
    return PD_OK;
}

pd_status pd_sampler_set_budget(pd_sampler *s, int64_t batch_residues)
{
    if (batch_residues < 1)
        return pd_fail(PD_ERR_CONFIG, "train.batch_residues = %lld; it must be at least 1", (long long)batch_residues);
    s->state.batch_residues = batch_residues;
    return PD_OK;
}

typedef struct by_length {
    int64_t pos;    /* position in the global batch */
    int64_t entry;
    int32_t len;
} by_length;

static int longest_first(const void *a, const void *b)
{
    const by_length *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

pd_status pd_batch_assign(const pd_batch *global, const int32_t *lengths, int nranks, int *owner)
{
    if (nranks < 1) return pd_fail(PD_ERR, "cannot split a batch over %d ranks", nranks);
    if (global->n == 0) return PD_OK;
    by_length *order = pd_malloc((size_t)global->n * sizeof *order);
    int64_t *load = pd_calloc((size_t)nranks, sizeof *load);
    if (!order || !load) {
        free(order);
        free(load);
        return PD_ERR_NOMEM;
    }
    for (int64_t i = 0; i < global->n; i++) {
        order[i].pos = i;
        order[i].entry = global->entries[i];
        order[i].len = lengths[global->entries[i]];
    }
    qsort(order, (size_t)global->n, sizeof *order, longest_first);
    for (int64_t i = 0; i < global->n; i++) {
        int best = 0;
        for (int r = 1; r < nranks; r++)
            if (load[r] < load[best]) best = r;
        owner[order[i].pos] = best;
        load[best] += order[i].len;
    }
    free(order);
    free(load);
    return PD_OK;
}

pd_status pd_batch_split(const pd_batch *global, const int32_t *lengths, int nranks, int rank, pd_batch *mine)
{
    if (rank < 0 || rank >= nranks) return pd_fail(PD_ERR, "rank %d is not one of %d ranks", rank, nranks);
    batch_reset(mine);
    mine->step = global->step;
    mine->epoch = global->epoch;
    mine->oversize = global->oversize;
    mine->last_in_epoch = global->last_in_epoch;
    if (global->n == 0) return PD_OK;
    int *owner = pd_malloc((size_t)global->n * sizeof *owner);
    if (!owner) return PD_ERR_NOMEM;
    pd_status st = pd_batch_assign(global, lengths, nranks, owner);
    for (int64_t i = 0; st == PD_OK && i < global->n; i++)
        if (owner[i] == rank) {
            st = batch_push(mine, global->entries[i]);
            mine->residues += lengths[global->entries[i]];
        }
    free(owner);
    return st;
}

void pd_batch_free(pd_batch *b)
{
    free(b->entries);
    memset(b, 0, sizeof *b);
}
