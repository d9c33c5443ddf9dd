/* latent_file.h — reading the frozen per-residue latents that `proteindiff encode` writes
 * (run.dir/latents/<stage>.h5, docs/latents-format.md) for the diffusion stage and the `run`
 * pipeline: open with every provenance check (format, complete marker, stage, latent size,
 * the dataset it was made from and its residue count), then read rows of whole entries. */
#ifndef PD_DESIGN_LATENT_FILE_H
#define PD_DESIGN_LATENT_FILE_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_latent_file {
    char path[4200];
    char stage[32];
    char checkpoint[4200];     /* the checkpoint it was encoded from (attribute) */
    int64_t rows;              /* R: residues of the dataset */
    int dim;                   /* latent_dim */
    int64_t file, mu, valid;   /* HDF5 ids (hid_t) */
} pd_latent_file;

/* run.dir/latents/<stage>.h5 */
void pd_latent_file_path(const pd_config *cfg, const char *stage, char *buf, size_t len);

/* Open `path` serially read-only and check it is a complete proteindiff-latents file of `stage`
 * with latent_dim == dim (dim <= 0: any) made from the dataset `dataset_path` (same file, by
 * real path when both exist, else by name). A missing file says which `proteindiff encode`
 * command makes it. */
pd_status pd_latent_file_open(pd_latent_file *lf, const char *path, const char *stage, int dim,
                              const char *dataset_path);
void pd_latent_file_close(pd_latent_file *lf);

/* Rows [first, first + n): means into mu [n, dim] and the encoded flags into valid [n]. */
pd_status pd_latent_file_read(pd_latent_file *lf, int64_t first, int64_t n, float *mu, uint8_t *valid);

/* 1 when `path` is a complete latents file of `stage` (no messages; for skip decisions), and
 * its checkpoint attribute in ckpt (may be NULL). */
int pd_latent_file_complete(const char *path, const char *stage, char *ckpt, size_t len);

#endif
