/* arena.c — chunked bump allocator (see arena.h). */
#include "nn/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64
#define ARENA_DEFAULT_CHUNK ((size_t)64 << 20)

struct pd_arena_chunk {
    pd_arena_chunk *next;
    size_t size;   /* usable bytes in `base` */
    size_t used;
    unsigned char *base;
};

void pd_arena_init(pd_arena *a, size_t chunk_bytes)
{
    memset(a, 0, sizeof *a);
    a->chunk_bytes = chunk_bytes ? chunk_bytes : ARENA_DEFAULT_CHUNK;
}

void pd_arena_free(pd_arena *a)
{
    pd_arena_chunk *c = a->chunks;
    while (c) {
        pd_arena_chunk *next = c->next;
        pd_device_free(a->device, c->base);
        free(c);
        c = next;
    }
    a->chunks = a->current = NULL;
    a->used = a->reserved = 0;
}

static pd_arena_chunk *arena_new_chunk(pd_arena *a, size_t min_bytes)
{
    size_t size = a->chunk_bytes > min_bytes ? a->chunk_bytes : min_bytes;
    pd_arena_chunk *c = pd_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base = pd_device_alloc(a->device, size); /* 64-byte aligned (host) or 256 (managed) */
    if (!c->base) {
        free(c);
        pd_fail(PD_ERR_NOMEM, "activation arena: cannot allocate a chunk of %zu bytes on the %s; reduce the batch size",
                size, pd_device_name(a->device));
        return NULL;
    }
    c->size = size;
    c->next = a->chunks;
    a->chunks = c;
    a->reserved += size;
    return c;
}

void pd_arena_set_device(pd_arena *a, pd_device d)
{
    pd_arena_free(a);
    a->device = d;
}

void *pd_arena_alloc(pd_arena *a, size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    pd_arena_chunk *c = a->current;
    /* A full chunk stays as it is (its memory is still in use this step); take an empty one a
     * rewind left behind, or grow. reset() merges the chunks, so steady state is one chunk and
     * no growth. */
    if (!c || c->used + need > c->size) {
        for (c = a->chunks; c && !(c->used == 0 && c->size >= need); c = c->next) {}
        if (!c) c = arena_new_chunk(a, need);
        if (!c) return NULL;
    }
    a->current = c;
    void *p = c->base + c->used;
    c->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    if (a->used > a->window_peak) a->window_peak = a->used;
    return p;
}

void *pd_arena_calloc(pd_arena *a, size_t bytes)
{
    void *p = pd_arena_alloc(a, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

pd_arena_mark pd_arena_mark_here(const pd_arena *a)
{
    return (pd_arena_mark){a->current, a->current ? a->current->used : 0, a->used};
}

void pd_arena_rewind(pd_arena *a, pd_arena_mark m)
{
    /* Chunks created since the mark sit before m.chunk in the newest-first list. */
    for (pd_arena_chunk *c = a->chunks; c && c != m.chunk; c = c->next) c->used = 0;
    if (m.chunk) m.chunk->used = m.chunk_used;
    a->current = m.chunk;
    a->used = m.used;
}

void pd_arena_reset(pd_arena *a)
{
    /* If one step needed several chunks, replace them by one big enough for the peak so the
     * next step runs from a single block. */
    if (a->chunks && a->chunks->next) {
        size_t want = a->peak > a->chunk_bytes ? a->peak : a->chunk_bytes;
        size_t keep_chunk = a->chunk_bytes;
        pd_arena_free(a);
        a->chunk_bytes = want;
        if (!arena_new_chunk(a, want)) pd_clear_error(); /* allocate lazily on next use instead */
        a->chunk_bytes = keep_chunk;
    }
    for (pd_arena_chunk *c = a->chunks; c; c = c->next) c->used = 0;
    a->current = a->chunks;
    a->used = 0;
}

size_t pd_arena_peak(const pd_arena *a) { return a->peak; }

void pd_arena_window_start(pd_arena *a) { a->window_peak = a->used; }

size_t pd_arena_window_peak(const pd_arena *a) { return a->window_peak; }
