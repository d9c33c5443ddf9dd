/* tokenize.h — `proteindiff tokenize`: every dataset entry up to the trained maximum length
 * through a trained tokenizer's encoder, its per-level codes written into one HDF5 file
 * (docs/tokens-format.md), the decoded reconstruction checked by classical MDS against the true
 * Cβ, and optionally original | reconstruction PNGs; the library side of the command, next to
 * `encode` (latents.h). */
#ifndef PD_TRAIN_TOKENIZE_H
#define PD_TRAIN_TOKENIZE_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_tokenize_options {
    const char *checkpoint;   /* a tokenizer checkpoint */
    const char *out;          /* the tokens file */
    const char *png_dir;      /* NULL: no PNGs */
    int png_count;            /* PNGs of the first png_count tokenized entries */
} pd_tokenize_options;

/* Collective over comm: load the checkpoint, split the tokenized entries into contiguous
 * ranges (one per rank), encode, write the file and log the MDS check's summary. */
pd_status pd_tokenize_run(const pd_config *cfg, const pd_tokenize_options *o, MPI_Comm comm);

#endif
