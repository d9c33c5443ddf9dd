/* sampler.h — global batches by a residue budget, independent of the number of ranks. Each
 * epoch visits the split in a permutation keyed by (seed, epoch) on the counter-based RNG; a
 * batch takes consecutive entries of that permutation while their residues fit the budget,
 * so the batch at step k is the same on 1 or 512 ranks. Every rank computes the same global
 * batch and takes its slice, balanced by residues. The state is three integers plus checks:
 * a checkpoint saves it and a resumed run continues with the same batches. */
#ifndef PD_PARALLEL_SAMPLER_H
#define PD_PARALLEL_SAMPLER_H

#include <stdint.h>

#include "core/error.h"

/* What a checkpoint stores. epoch/position/step say where we are; seed and lengths_hash
 * guard against resuming onto another seed or another split. */
typedef struct pd_sampler_state {
    int64_t epoch;          /* current epoch (0-based) */
    int64_t position;       /* next index into this epoch's permutation */
    int64_t step;           /* global batches drawn so far */
    uint64_t seed;
    int64_t batch_residues; /* budget in force when saved (a resume may change it) */
    uint64_t lengths_hash;  /* FNV-1a-64 of the split's int32 lengths */
} pd_sampler_state;

typedef struct pd_sampler {
    int64_t n;              /* entries in the split */
    int32_t *lengths;       /* residues per entry (copied) */
    int shuffle;            /* 0: identity order every epoch (validation) */
    int64_t *perm;          /* this epoch's order, cached */
    int64_t perm_epoch;     /* which epoch perm holds (-1: none) */
    pd_sampler_state state;
    /* Optional groups (pd_sampler_set_groups): a batch never mixes groups. Then the epoch's
     * batches are formed up front and state.position counts batches, not entries. */
    int32_t *groups;        /* [n] or NULL */
    int64_t *batch_start;   /* [n_batches + 1] offsets into batch_entries */
    int64_t *batch_entries; /* [n] the epoch's entries, batch after batch */
    int64_t n_batches;
    int64_t batches_budget; /* budget the batch list was formed with */
} pd_sampler;

/* A list of entries: indices into the sampler's lengths (the split's own order). */
typedef struct pd_batch {
    int64_t *entries;
    int64_t n, cap;
    int64_t residues;       /* sum of the entries' lengths */
    int64_t step, epoch;    /* which global batch this is (or is a slice of) */
    int oversize;           /* a single entry longer than the budget: it forms a batch alone,
                             * uncropped (cropping is the model's business, e.g. max_len) */
    int last_in_epoch;      /* the epoch's permutation is exhausted after this batch */
} pd_batch;

/* `lengths` of the split's n entries (each >= 1); shuffle = 1 for training. */
pd_status pd_sampler_init(pd_sampler *s, const int32_t *lengths, int64_t n, uint64_t seed, int64_t batch_residues,
                          int shuffle);
void pd_sampler_free(pd_sampler *s);
/* The next global batch: consecutive entries of the epoch's permutation whose residues sum to
 * at most the budget (at least one entry). A batch never spans two epochs; the last batch of
 * an epoch may be short (losses are normalised by the batch's global counts, so a short batch
 * is a smaller sample, not a bias). */
pd_status pd_sampler_next(pd_sampler *s, pd_batch *global);
pd_sampler_state pd_sampler_get_state(const pd_sampler *s);
/* Continue from a saved state. Fails (PD_ERR_CONFIG) when the seed or the split's lengths
 * differ; a different budget is accepted and applies from the next batch. */
pd_status pd_sampler_set_state(pd_sampler *s, const pd_sampler_state *st);
/* Batches never mix groups (e.g. the tokenizer's image-length bins): each epoch walks the
 * permutation and appends each entry to its group's open batch, closing that batch (in the
 * order batches close) when the entry would overflow the budget; the groups' last batches close
 * at the end in order of their first entry. Deterministic in (seed, epoch, budget, lengths,
 * groups), so rank-count independent; call right after init (groups copied). */
pd_status pd_sampler_set_groups(pd_sampler *s, const int32_t *groups);
/* Change the residue budget (e.g. a resumed run with a new train.batch_residues). */
pd_status pd_sampler_set_budget(pd_sampler *s, int64_t batch_residues);

/* owner[i] = the rank that processes global->entries[i]: longest entries first (ties by entry
 * index), each to the rank with the fewest residues so far (ties to the lowest rank). A pure
 * function of the batch and nranks; a rank may get nothing when entries < ranks. */
pd_status pd_batch_assign(const pd_batch *global, const int32_t *lengths, int nranks, int *owner);
/* This rank's slice, its entries in global-batch order. */
pd_status pd_batch_split(const pd_batch *global, const int32_t *lengths, int nranks, int rank, pd_batch *mine);
void pd_batch_free(pd_batch *b);

#endif
