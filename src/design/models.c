/* models.c — finding and loading the checkpoints of the three stages design needs (see
 * models.h): each is loaded serially onto an unpadded model with pd_checkpoint_load_params
 * (train/checkpoint.h), which checks the file and ignores the optimizer state. */
#include "design/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "parallel/comm.h"
#include "train/checkpoint.h"

pd_status pd_design_checkpoint_for(const pd_config *cfg, const char *stage, MPI_Comm comm, char **path)
{
    *path = NULL;
    char key[64];
    snprintf(key, sizeof key, "design.%s_checkpoint", stage);
    const char *given = pd_cfg_str(cfg, key);
    if (given && given[0]) {
        *path = pd_strdup(given);
        return *path ? PD_OK : PD_ERR_NOMEM;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", pd_cfg_str(cfg, "run.dir"));
    return pd_checkpoint_find_latest(dir, stage, comm, path);
}

static pd_status resolve(const pd_config *cfg, const char *stage, MPI_Comm comm, char *out, size_t len)
{
    char *path = NULL;
    PD_TRY(pd_design_checkpoint_for(cfg, stage, comm, &path));
    if (!path)
        return pd_fail(PD_ERR_CONFIG, "no complete %s checkpoint in %s/checkpoints: train it first (`proteindiff train "
                       "RUN.cfg --stage %s` or `proteindiff run RUN.cfg`) or set design.%s_checkpoint", stage,
                       pd_cfg_str(cfg, "run.dir"), stage, stage);
    snprintf(out, len, "%s", path);
    free(path);
    return PD_OK;
}

static pd_status load_all(pd_design_models *m, const pd_config *cfg)
{
    pd_sc_vae_config scc;
    PD_TRY(pd_sc_vae_config_from(cfg, &scc));
    PD_TRY(pd_sc_vae_create(&m->sc, &scc, NULL));
    PD_TRY(pd_checkpoint_load_params(m->sc_path, "sc_vae", pd_sc_vae_params(m->sc)));

    pd_bb_vae_config bbc;
    PD_TRY(pd_bb_vae_config_from(cfg, &bbc));
    PD_TRY(pd_bb_vae_create(&m->bb, &bbc, NULL));
    PD_TRY(pd_checkpoint_load_params(m->bb_path, "bb_vae", pd_bb_vae_params(m->bb)));

    pd_diffusion_config dc;
    PD_TRY(pd_diffusion_config_from(cfg, &dc));
    PD_TRY(pd_diffusion_create(&m->dit, &dc, NULL));
    return pd_checkpoint_load_params(m->dit_path, "diffusion", pd_diffusion_params(m->dit));
}

pd_status pd_design_models_load(pd_design_models *m, const pd_config *cfg, MPI_Comm comm)
{
    memset(m, 0, sizeof *m);
    PD_TRY(pd_agree(comm, resolve(cfg, "sc_vae", comm, m->sc_path, sizeof m->sc_path)));
    PD_TRY(pd_agree(comm, resolve(cfg, "bb_vae", comm, m->bb_path, sizeof m->bb_path)));
    PD_TRY(pd_agree(comm, resolve(cfg, "diffusion", comm, m->dit_path, sizeof m->dit_path)));
    pd_status st = pd_agree(comm, load_all(m, cfg));
    if (st != PD_OK) {
        pd_design_models_free(m);
        return st;
    }
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0)
        pd_info("models: sc_vae %s, bb_vae %s, diffusion %s", m->sc_path, m->bb_path, m->dit_path);
    return PD_OK;
}

void pd_design_models_free(pd_design_models *m)
{
    pd_sc_vae_destroy(m->sc);
    pd_bb_vae_destroy(m->bb);
    pd_diffusion_destroy(m->dit);
    m->sc = NULL;
    m->bb = NULL;
    m->dit = NULL;
}
