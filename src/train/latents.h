/* latents.h — per-residue latents of a trained VAE stage in one HDF5 file beside the dataset
 * (docs/latents-format.md), so later stages (diffusion) read them instead of re-running the
 * encoder. The whole format in one place: its path, the collective writer (latents.c:
 * NAME.partial + complete marker + rename), the reader with its provenance checks
 * (latents_read.c) and `proteindiff encode` (latents_encode.c), which loads a checkpoint and
 * runs the stage's encode hook. */
#ifndef PD_TRAIN_LATENTS_H
#define PD_TRAIN_LATENTS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

#define PD_LATENTS_FORMAT "proteindiff-latents"
#define PD_LATENTS_VERSION 1

/* The file of a stage: run.dir/latents/<stage>.h5 */
void pd_latents_path(const pd_config *cfg, const char *stage, char *buf, size_t len);

/* What the root attributes say about where the latents came from. */
typedef struct pd_latents_meta {
    const char *stage;        /* "sc_vae" */
    const char *dataset;      /* path of the dataset whose residue rows index the file */
    const char *checkpoint;   /* path of the checkpoint whose weights encoded them */
    const char *config_text;  /* effective run file */
    const char *created_by;   /* "proteindiff 0.1.0" */
    int64_t latent_dim;
    int64_t rows;             /* R: residues of the dataset */
} pd_latents_meta;

typedef struct pd_latents_writer pd_latents_writer;

/* Collective over comm: create `path`.partial (truncating a stale one) with /mu, /logvar
 * [rows, latent_dim] float32 and /valid [rows] uint8, the root attributes and complete = 0. */
pd_status pd_latents_writer_create(pd_latents_writer **w, const char *path, MPI_Comm comm, const pd_latents_meta *meta);
/* Independent (any rank, any number of calls): rows [first_row, first_row + n) of the three
 * datasets. Every row of the file must be written by exactly one rank before finish. */
pd_status pd_latents_writer_put(pd_latents_writer *w, int64_t first_row, int64_t n, const float *mu,
                                const float *logvar, const uint8_t *valid);
/* Collective: after every rank's `local` status agreed OK, write complete = 1, close and let
 * rank 0 rename NAME.partial to NAME. With a failing status the file is closed and left as
 * NAME.partial, and the agreed status is returned. The writer is freed either way. */
pd_status pd_latents_writer_finish(pd_latents_writer *w, pd_status local);

/* ---- reading (serial: every rank reads its own rows) ------------------------------------------- */

typedef struct pd_latent_file {
    char path[4200];
    char stage[32];
    char checkpoint[4200];     /* the checkpoint it was encoded from (attribute) */
    int64_t rows;              /* R: residues of the dataset */
    int dim;                   /* latent_dim */
    int64_t file, mu, valid;   /* HDF5 ids (hid_t) */
} pd_latent_file;

/* Open `path` serially read-only and check it is a complete proteindiff-latents file of `stage`
 * with latent_dim == dim (dim <= 0: any) made from the dataset `dataset_path` (same file, by
 * real path when both exist, else by name). A missing file says which `proteindiff encode`
 * command makes it. */
pd_status pd_latent_file_open(pd_latent_file *lf, const char *path, const char *stage, int dim,
                              const char *dataset_path);
void pd_latent_file_close(pd_latent_file *lf);

/* Rows [first, first + n): means into mu [n, dim] and the encoded flags into valid [n]. */
pd_status pd_latent_file_read(pd_latent_file *lf, int64_t first, int64_t n, float *mu, uint8_t *valid);

/* 1 when `path` is a complete latents file of `stage` encoded from the checkpoint `checkpoint`
 * and, when dataset != NULL, made from the dataset `dataset` (files compared by real path).
 * No messages: this is a skip decision for encode and run. */
int pd_latents_up_to_date(const char *path, const char *stage, const char *dataset, const char *checkpoint);

/* ---- `proteindiff encode` ------------------------------------------------------------------------ */

/* `proteindiff encode`: options after parsing. */
typedef struct pd_encode_options {
    const char *stage;        /* sc_vae, bb_vae */
    const char *checkpoint;   /* NULL: the newest complete checkpoint of the stage in run.dir/checkpoints */
    int force;                /* rewrite even if an up-to-date complete file exists */
    const char *created_by;
} pd_encode_options;

/* Collective over world: load the checkpoint into the stage's model, split the dataset's
 * entries into contiguous ranges of about equal residue counts (one per rank), encode each
 * entry with the stage's hook and write the file. Deterministic: the bytes of /mu do not
 * depend on the number of ranks (every entry is encoded on its own). */
pd_status pd_latents_encode(const pd_config *cfg, const pd_encode_options *opt, MPI_Comm world);

#endif
