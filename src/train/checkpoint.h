/* checkpoint.h — resumable training state in one HDF5 file per checkpoint (format in
 * docs/checkpoint-format.md): dense per-parameter datasets for the parameters and AdamW
 * moments, written collectively (each rank its owned range), so any rank count or strategy
 * can load it; sampler and RNG state, stage state, the run file. Written as NAME.tmp and
 * renamed by rank 0 once complete, so a crash mid-write never leaves a file that looks whole. */
#ifndef PD_TRAIN_CHECKPOINT_H
#define PD_TRAIN_CHECKPOINT_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/params.h"
#include "parallel/sampler.h"
#include "train/engine.h"
#include "train/stage.h"

#define PD_CHECKPOINT_FORMAT "proteindiff-checkpoint"
#define PD_CHECKPOINT_VERSION 1

typedef struct pd_ckpt_meta {
    char stage[32];
    int64_t step;              /* optimizer steps completed; training continues at this index */
    pd_sampler_state sampler;  /* after the last completed step */
    uint64_t seed;             /* train.seed: every random draw is keyed by (seed, step, item) */
    char strategy[16];         /* who wrote it (informational: any strategy can load it) */
    int nranks;
    double elapsed;            /* training wall seconds before this checkpoint */
} pd_ckpt_meta;

/* Collective over comm. Writes DIR/<stage>-step<N>.h5 (N = meta->step, 8 digits) via a .tmp
 * name; rank 0 renames it and then deletes the oldest complete checkpoints of the stage beyond
 * `keep`. stall_seconds > 0 pauses before the file is complete (tests kill a writer there).
 * path_out (may be NULL) gets the final path. */
pd_status pd_checkpoint_write(const char *dir, const pd_ckpt_meta *meta, const char *config_text, pd_engine *e,
                              pd_stage *s, MPI_Comm comm, int keep, double stall_seconds, char *path_out,
                              size_t path_len);
/* Collective: the newest complete checkpoint of `stage` in dir (malloc'd path, same on every
 * rank), or *path = NULL when there is none. Unfinished (.tmp) or unreadable files are skipped. */
pd_status pd_checkpoint_find_latest(const char *dir, const char *stage, MPI_Comm comm, char **path);
/* DIR/<stage>-step<N>.h5 for step N. */
void pd_checkpoint_path(const char *dir, const char *stage, int64_t step, char *buf, size_t len);
/* Rank 0: delete the oldest complete checkpoints of `stage` beyond the newest `keep`. */
void pd_checkpoint_prune(const char *dir, const char *stage, int keep);
/* Rank 0, when a run starts: delete this stage's unfinished .tmp checkpoints (a writer was
 * killed); they are never read. */
void pd_checkpoint_remove_unfinished(const char *dir, const char *stage);
/* The one check every reader makes of an open checkpoint file (hid_t): format, version,
 * complete = 1 and, when stage != NULL, the stage; fails naming `path` and what is wrong. */
pd_status pd_checkpoint_verify(int64_t file, const char *path, const char *stage);
/* The stage state (group /stage) of an open checkpoint into s through s->ops->load_state (nothing
 * when the stage keeps none). */
pd_status pd_checkpoint_load_state(int64_t file, const char *path, pd_stage *s);
/* Inference (serial, read-only; every rank may call it): the parameters of a complete checkpoint
 * of `stage` into P, an unpadded model built from the run file; optimizer state is ignored. A
 * parameter of another shape is named, with a hint at the run file's model.<stage> settings. */
pd_status pd_checkpoint_load_params(const char *path, const char *stage, const pd_params *P);
/* The same for a created stage: its parameters and its stage state (codebooks, statistics). */
pd_status pd_checkpoint_load_stage(const char *path, pd_stage *s);
/* Collective: load parameters, AdamW moments (resharded onto e's layout), stage state and meta. */
pd_status pd_checkpoint_read(const char *path, pd_ckpt_meta *meta, pd_engine *e, pd_stage *s, MPI_Comm comm);

#endif
