/* train.h — `proteindiff train RUN.cfg --stage NAME`: the training loop shared by every stage,
 * on 1 to N ranks with any parallel.strategy (docs/training.md). */
#ifndef PD_TRAIN_TRAIN_H
#define PD_TRAIN_TRAIN_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_train_options {
    const char *stage;   /* "sc_vae", ... */
    int resume;          /* --resume (train.<stage>.resume also turns it on) */
} pd_train_options;

/* Collective over world. Returns PD_ERR_INTERRUPTED (exit status 130) on every rank after a
 * SIGTERM/SIGUSR1 was handled with a checkpoint. */
pd_status pd_train_run(const pd_config *cfg, const pd_train_options *opt, MPI_Comm world);

#endif
