/* models.h — the three trained models design and evaluate run (BB-VAE encoder + sequence head,
 * latent DiT, SC-VAE decoder + classifier), built from the run file's model.* settings and
 * loaded from checkpoints: design.<stage>_checkpoint when set, else the newest complete
 * checkpoint of the stage in run.dir/checkpoints. */
#ifndef PD_DESIGN_MODELS_H
#define PD_DESIGN_MODELS_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"
#include "models/bb_vae.h"
#include "models/diffusion.h"
#include "models/sc_vae.h"

typedef struct pd_design_models {
    pd_sc_vae *sc;
    pd_bb_vae *bb;
    pd_diffusion *dit;
    char sc_path[4200], bb_path[4200], dit_path[4200];   /* the checkpoints loaded */
} pd_design_models;

/* Collective over comm (every rank gets the same checkpoints and loads them serially). Fails
 * naming the stage, the checkpoint folder and the command that makes a missing checkpoint, or
 * the parameter whose shape does not match the run file's model settings. */
pd_status pd_design_models_load(pd_design_models *m, const pd_config *cfg, MPI_Comm comm);
void pd_design_models_free(pd_design_models *m);

/* The checkpoint a stage would be loaded from (design.<stage>_checkpoint or the newest complete
 * one in run.dir/checkpoints); *path = NULL when there is none. Collective; *path malloc'd. */
pd_status pd_design_checkpoint_for(const pd_config *cfg, const char *stage, MPI_Comm comm, char **path);

#endif
