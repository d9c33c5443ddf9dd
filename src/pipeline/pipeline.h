/* pipeline.h — `proteindiff run RUN.cfg`: featurize → train sc_vae → encode sc_vae → train
 * bb_vae → encode bb_vae → train diffusion → evaluate in one MPI job, each step skipped when its
 * output is complete, so an interrupted run is continued by running it again. */
#ifndef PD_PIPELINE_PIPELINE_H
#define PD_PIPELINE_PIPELINE_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_pipeline_summary {
    int ran[7];       /* per step (featurize, sc_vae, encode sc_vae, bb_vae, encode bb_vae, diffusion,
                       * evaluate): 1 when it did work, 0 when it was skipped as complete */
    double seconds;
} pd_pipeline_summary;

/* Collective over comm. Skip rules (docs/design.md): the dataset opens as complete; a stage's
 * newest complete checkpoint is at train.<stage>.steps (a partial stage resumes from its newest
 * checkpoint); a latents file is complete and was encoded from that stage's newest checkpoint;
 * evaluate.json exists and nothing before it ran in this invocation. */
pd_status pd_pipeline_run(const pd_config *cfg, MPI_Comm comm, const char *created_by, pd_pipeline_summary *summary);

#endif
