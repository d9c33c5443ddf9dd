/* arena.h — bump allocator for activations, gradients and saved state of one step: every
 * allocation is 64-byte aligned, memory grows by chunks, reset() frees nothing but rewinds,
 * and the peak is reported so a run can print its activation footprint. */
#ifndef PD_NN_ARENA_H
#define PD_NN_ARENA_H

#include <stddef.h>

#include "core/error.h"
#include "nn/device.h"

typedef struct pd_arena_chunk pd_arena_chunk;

typedef struct pd_arena {
    pd_arena_chunk *chunks;  /* list of chunks, newest first */
    pd_arena_chunk *current; /* the chunk being filled */
    size_t chunk_bytes;      /* minimum size of a new chunk */
    size_t used;             /* bytes handed out since the last reset (incl. alignment) */
    size_t peak;             /* max of `used` over the arena's life */
    size_t window_peak;      /* max of `used` since the last pd_arena_window_start (a training step) */
    size_t reserved;         /* bytes held in chunks */
    pd_device device;        /* where chunks are allocated (host memory, or managed GPU memory) */
} pd_arena;

/* chunk_bytes = 0 picks 64 MiB. */
void pd_arena_init(pd_arena *a, size_t chunk_bytes);
void pd_arena_free(pd_arena *a);
/* Move an arena to device d: frees its chunks (nothing may be allocated from it now); later
 * chunks come from pd_device_alloc(d). */
void pd_arena_set_device(pd_arena *a, pd_device d);
/* Uninitialised, 64-byte aligned; NULL (with PD_ERR_NOMEM recorded) when memory runs out. */
void *pd_arena_alloc(pd_arena *a, size_t bytes);
void *pd_arena_calloc(pd_arena *a, size_t bytes);
/* Scratch for one call: take a mark, allocate, use, rewind. Everything allocated after the
 * mark is given back (chunks created since then stay, empty, for the next allocations). */
typedef struct pd_arena_mark {
    pd_arena_chunk *chunk;
    size_t chunk_used, used;
} pd_arena_mark;
pd_arena_mark pd_arena_mark_here(const pd_arena *a);
void pd_arena_rewind(pd_arena *a, pd_arena_mark m);
/* Rewind to empty; chunks are kept (merged into one on the next growth-free step). */
void pd_arena_reset(pd_arena *a);
size_t pd_arena_peak(const pd_arena *a);
/* The peak of a window of use spanning several resets (a training step of several micro-batches):
 * start the window, then read the largest `used` seen since (the memory plan compares it with its
 * estimate; metrics.jsonl reports it as peak_mb). */
void pd_arena_window_start(pd_arena *a);
size_t pd_arena_window_peak(const pd_arena *a);

#endif
