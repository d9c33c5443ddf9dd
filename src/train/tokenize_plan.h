/* tokenize_plan.h — what the three parts of `proteindiff tokenize` share (tokenize.c runs it,
 * tokenize_encode.c encodes a rank's range, tokens_file.c writes the file): the plan of which
 * dataset entries are tokenized and where their codes go, and what each rank produced. Not for
 * use outside src/train/tokenize*.c and tokens_file.c; the interface is tokenize.h. */
#ifndef PD_TRAIN_TOKENIZE_PLAN_H
#define PD_TRAIN_TOKENIZE_PLAN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "dataset/reader.h"
#include "models/tokenizer.h"
#include "train/stage.h"
#include "train/tokenize.h"

/* The entries tokenized (dataset order) and where their codes go. */
typedef struct pd_tokenize_plan {
    int levels;
    int64_t n;                         /* tokenized entries */
    int64_t *index;                    /* [n] dataset entry */
    int32_t *length;                   /* [n] */
    uint8_t *split;                    /* [n] */
    int64_t *offset[PD_TOKENIZER_MAX_LEVELS];  /* [n + 1] first code of each entry per level */
    int64_t n_skipped;
    int64_t *skipped;                  /* [n_skipped] dataset entries longer than max_length */
    size_t name_width;
} pd_tokenize_plan;

/* What each rank produced for its contiguous range [lo, hi) of the plan. */
typedef struct pd_tokenize_results {
    int64_t lo, hi;
    int32_t *codes[PD_TOKENIZER_MAX_LEVELS];  /* this range's codes, plan offsets minus offset[lo] */
    double *rmsd, *frac_1a, *image_mae;       /* [hi - lo] */
} pd_tokenize_results;

/* The memory plan (issue 21): batches of images of one side hold at most `room` bytes of
 * activations (encoder + decoder, eval mode); the largest image must fit alone. */
typedef struct pd_tokenize_memory {
    pd_stage_memory mem;
    double budget, room, params;
    char how[160];
    double peak_bytes, peak_plan;   /* the largest arena peak of a batch and its estimate */
} pd_tokenize_memory;

/* Activations of n images of side x side pixels under the plan's estimate. */
static inline double pd_tokenize_images_bytes(const pd_stage_memory *m, int side, int64_t n)
{
    return pd_stage_memory_bytes_uniform(m, (double)side * side, n);
}

/* Side of the level-`level` token grid of a length-L entry: ceil(L / 2^(level+1)). */
static inline int64_t pd_tokenize_grid(int L, int level) { return (L + (1 << (level + 1)) - 1) >> (level + 1); }

/* tokenize_encode.c: encode plan entries [r->lo, r->hi) batch by batch of one side (at most
 * batch_pixels pixels and tm->room bytes of activations), decode, check the reconstruction by
 * MDS, and write the PNGs o->png_dir asks for; records the largest arena peak in tm. */
pd_status pd_tokenize_encode_range(pd_stage *s, pd_dataset *ds, const pd_tokenize_plan *p, const pd_tokenize_options *o,
                                   int64_t batch_pixels, pd_tokenize_memory *tm, pd_tokenize_results *r);
/* tokens_file.c: the tokens file (docs/tokens-format.md), collective over comm: every rank its
 * rows, rank 0 the codebooks, the last offsets and the skipped list. */
pd_status pd_tokens_file_write(const char *path, MPI_Comm comm, int rank, const pd_tokenize_plan *p,
                               const pd_tokenize_results *r, pd_dataset *ds, pd_tokenizer *m, const char *checkpoint,
                               const char *config_text);

#endif
