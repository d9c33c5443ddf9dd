/* pipeline.c — `proteindiff run` (pipeline.h): the library calls of featurize, train, encode
 * and evaluate in order, on the same communicator, with the skip rules that make a second run
 * (or a run after an interruption) continue where the first stopped. It is its own room, above
 * train and design, because it drives both. */
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dataset/build.h"
#include "design/evaluate.h"
#include "design/models.h"
#include "parallel/comm.h"
#include "train/checkpoint.h"
#include "train/latents.h"
#include "train/train.h"

enum { P_FEATURIZE, P_SC_VAE, P_ENCODE_SC, P_BB_VAE, P_ENCODE_BB, P_DIFFUSION, P_EVALUATE };

/* Step of a checkpoint path ".../<stage>-step<N>.h5"; -1 when it does not parse. */
static long long checkpoint_step(const char *path)
{
    const char *p = strrchr(path, '-');
    long long step = -1;
    if (p && sscanf(p, "-step%lld.h5", &step) != 1) step = -1;
    return step;
}

/* Train `stage` unless its newest complete checkpoint is at train.<stage>.steps; a partial
 * stage resumes from its newest checkpoint. *ran = 1 when training happened. */
static pd_status train_stage(const pd_config *cfg, const char *stage, MPI_Comm comm, int *ran)
{
    *ran = 0;
    const long long steps = pd_cfg_stage_int(cfg, stage, "steps");
    char dir[4200], *latest = NULL;
    snprintf(dir, sizeof dir, "%s/checkpoints", pd_cfg_str(cfg, "run.dir"));
    PD_TRY(pd_checkpoint_find_latest(dir, stage, comm, &latest));
    const long long at = latest ? checkpoint_step(latest) : -1;
    if (latest && at >= steps) {
        pd_info("run: %s is trained (%s, train.%s.steps = %lld); skipping", stage, latest, stage, steps);
        free(latest);
        return PD_OK;
    }
    if (latest) pd_info("run: %s stopped at step %lld of %lld; resuming from %s", stage, at, steps, latest);
    else pd_info("run: training %s (%lld steps)", stage, steps);
    free(latest);
    pd_train_options opt = {.stage = stage, .resume = 1};
    *ran = 1;
    return pd_train_run(cfg, &opt, comm);
}

/* Encode `stage` unless its latents are complete and came from the newest checkpoint. */
static pd_status encode_stage(const pd_config *cfg, const char *stage, MPI_Comm comm, const char *created_by, int force,
                              int *ran)
{
    *ran = 0;
    char *ckpt = NULL;
    PD_TRY(pd_design_checkpoint_for(cfg, stage, comm, &ckpt));
    char path[4300];
    pd_latents_path(cfg, stage, path, sizeof path);
    int up_to_date = !force && ckpt && pd_latents_up_to_date(path, stage, NULL, ckpt);
    int agreed = up_to_date;
    MPI_Allreduce(&up_to_date, &agreed, 1, MPI_INT, MPI_MIN, comm);
    if (agreed) {
        pd_info("run: %s latents %s are up to date (from %s); skipping", stage, path, ckpt);
        free(ckpt);
        return PD_OK;
    }
    pd_info("run: encoding %s latents from %s", stage, ckpt ? ckpt : "(no checkpoint)");
    pd_encode_options opt = {.stage = stage, .checkpoint = ckpt, .force = 1, .created_by = created_by};
    *ran = 1;
    pd_status st = pd_latents_encode(cfg, &opt, comm);
    free(ckpt);
    return st;
}

pd_status pd_pipeline_run(const pd_config *cfg, MPI_Comm comm, const char *created_by, pd_pipeline_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    const double t0 = pd_now();
    pd_build_summary built;
    PD_TRY(pd_dataset_build(cfg, comm, 0, created_by, &built));
    summary->ran[P_FEATURIZE] = !built.skipped;

    /* A stage that did work makes the outputs of later steps stale: their encodes are redone
     * (the checkpoint changed) and the evaluation is repeated. */
    int upstream = summary->ran[P_FEATURIZE];
    PD_TRY(train_stage(cfg, "sc_vae", comm, &summary->ran[P_SC_VAE]));
    upstream |= summary->ran[P_SC_VAE];
    PD_TRY(encode_stage(cfg, "sc_vae", comm, created_by, summary->ran[P_FEATURIZE], &summary->ran[P_ENCODE_SC]));
    upstream |= summary->ran[P_ENCODE_SC];
    PD_TRY(train_stage(cfg, "bb_vae", comm, &summary->ran[P_BB_VAE]));
    upstream |= summary->ran[P_BB_VAE];
    PD_TRY(encode_stage(cfg, "bb_vae", comm, created_by, summary->ran[P_FEATURIZE], &summary->ran[P_ENCODE_BB]));
    upstream |= summary->ran[P_ENCODE_BB];
    if (upstream && !summary->ran[P_FEATURIZE]) {
        /* the diffusion model trained before on older latents would be stale */
        char dir[4200], *latest = NULL;
        snprintf(dir, sizeof dir, "%s/checkpoints", pd_cfg_str(cfg, "run.dir"));
        PD_TRY(pd_checkpoint_find_latest(dir, "diffusion", comm, &latest));
        if (latest)
            pd_warn("run: earlier stages changed in this run but a diffusion checkpoint (%s) exists; it is kept. Delete "
                    "run.dir/checkpoints/diffusion-* to retrain diffusion on the new latents", latest);
        free(latest);
    }
    PD_TRY(train_stage(cfg, "diffusion", comm, &summary->ran[P_DIFFUSION]));
    upstream |= summary->ran[P_DIFFUSION];

    char json[4200];
    pd_evaluate_json_path(cfg, json, sizeof json);
    int have_json = access(json, R_OK) == 0;
    MPI_Bcast(&have_json, 1, MPI_INT, 0, comm);
    if (have_json && !upstream) {
        pd_info("run: %s exists and nothing before it changed; skipping evaluate", json);
    } else {
        pd_eval_result result;
        summary->ran[P_EVALUATE] = 1;
        PD_TRY(pd_evaluate_run(cfg, comm, &result));
    }
    summary->seconds = pd_now() - t0;
    static const char *const names[7] = {"featurize", "sc_vae", "encode sc_vae", "bb_vae", "encode bb_vae", "diffusion",
                                         "evaluate"};
    char done[256] = "", skipped[256] = "";
    for (int i = 0; i < 7; i++) {
        char *b = summary->ran[i] ? done : skipped;
        snprintf(b + strlen(b), 256 - strlen(b), "%s%s", b[0] ? ", " : "", names[i]);
    }
    char dur[32];
    pd_format_duration(summary->seconds, dur, sizeof dur);
    pd_info("run: finished in %s; ran: %s; skipped (complete): %s", dur, done[0] ? done : "nothing",
            skipped[0] ? skipped : "nothing");
    return PD_OK;
}
