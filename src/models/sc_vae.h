/* sc_vae.h — stage 1: the side-chain VAE over one residue's divergence voxel (1×V³) and the
 * amino-acid classifier that reads the encoder trunk's features of the detached reconstruction
 * (SPEC §7). Forward code on the op set; the training engine owns steps, batches and ranks.
 * Architecture, loss and how it is verified: docs/models/sc_vae.md. */
#ifndef PD_MODELS_SC_VAE_H
#define PD_MODELS_SC_VAE_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "models/model_opts.h"
#include "nn/params.h"
#include "nn/tape.h"

/* Classes of the classifier: the 20 standard amino acids in the §1 order. */
#define PD_SC_VAE_CLASSES 20

typedef struct pd_sc_vae_config {
    int voxel;          /* V: side of the voxel grid, a power of two >= 2 (featurize.voxel_size) */
    int width;          /* channels after the stem, doubling per down stage (model.sc_vae.width) */
    int latent;         /* latent size (model.sc_vae.latent) */
    double beta_kl;     /* KL weight (model.sc_vae.beta_kl) */
    int classifier_own_trunk; /* 1: the classifier has its own copy of the trunk, trained by its CE
                               * (model.sc_vae.classifier_own_trunk); 0: it reuses the encoder's,
                               * features detached, and CE trains only its Linear */
    double classifier_input_weight; /* > 0: the classifier also learns from the input voxels, the loss
                                     * gaining this weight x its CE on them (model.sc_vae.
                                     * classifier_input_weight); 0 (SPEC §7): reconstructions only */
    int max_groups;     /* GroupNorm: groups = largest divisor of C that is <= min(max_groups, C/4), so
                         * every group has >= 4 channels (1 if none) */
    double gn_eps;      /* GroupNorm epsilon (1e-5, PyTorch's default) */
} pd_sc_vae_config;

/* What one loss call measured. mse, kl, ce are the terms as they enter the loss (already divided
 * by the normaliser, so summing them over ranks gives the global mean); ce excludes unlabelled
 * residues (aa < 0) from the sum but not from the normaliser. */
typedef struct pd_sc_vae_terms {
    double loss;            /* mse + beta_kl * kl + ce (+ classifier_input_weight * ce_input) */
    double mse, kl, ce;
    double ce_input;        /* the classifier's CE on the input voxels (0 unless classifier_input_weight > 0) */
    int64_t n;              /* residues in this batch */
    int64_t n_labelled;     /* residues with aa in 0..19 */
    int64_t n_correct;      /* labelled residues whose argmax logit is their aa */
    double acc;             /* n_correct / n_labelled in this batch (0 if none) */
} pd_sc_vae_terms;

typedef struct pd_sc_vae pd_sc_vae;

/* Defaults of the schema (V 16, width 8, latent 16, beta_kl 1e-3). */
void pd_sc_vae_config_default(pd_sc_vae_config *c);
/* From the run file: model.sc_vae.{width,latent,beta_kl} and featurize.voxel_size. Fails with a
 * message naming the key when V is not a power of two. */
pd_status pd_sc_vae_config_from(const pd_config *cfg, pd_sc_vae_config *out);
/* Check a configuration (V power of two >= 2, width/latent >= 1, beta_kl >= 0). */
pd_status pd_sc_vae_config_check(const pd_sc_vae_config *c);
/* GroupNorm group count used for C channels under config c. */
int pd_sc_vae_groups(const pd_sc_vae_config *c, int channels);

/* Declare every parameter (one unit per encoder/decoder stage, see the docs), finalize the
 * store with units padded for opts->pad_multiple ranks and fill it with PyTorch-default
 * initialisation from opts->seed (values depend on seed and names only, not on the padding). */
pd_status pd_sc_vae_create(pd_sc_vae **m, const pd_sc_vae_config *c, const pd_model_opts *opts);
void pd_sc_vae_destroy(pd_sc_vae *m);
pd_params *pd_sc_vae_params(pd_sc_vae *m);
const pd_sc_vae_config *pd_sc_vae_get_config(const pd_sc_vae *m);

/* Training/validation loss of a batch. voxels [N, 1, V, V, V] (no grad), aa [N] with 0..19 or
 * -1 (not classified), row_ids [N] global residue ids keying the reparameterisation noise with
 * (seed, step) so a residue draws the same ε on any rank count (NULL: 0..N-1).
 * normaliser: the global residue count every term is divided by (0: N).
 * In eval mode (pd_graph_training(g) == 0) z = μ: validation is deterministic.
 * Returns the scalar loss [1] (NULL when the graph failed: pd_graph_status says why); fills
 * `terms` if non-NULL. Call pd_backward on it to accumulate parameter gradients. */
pd_tensor *pd_sc_vae_loss(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa,
                          const uint64_t *row_ids, uint64_t seed, uint64_t step, double normaliser,
                          pd_sc_vae_terms *terms);
/* Which part of the model a loss trains (train.sc_vae.classifier_steps trains them in phases). */
typedef enum pd_sc_vae_part {
    PD_SC_VAE_ALL,            /* SPEC §7: MSE + β KL + CE on the detached reconstruction */
    PD_SC_VAE_RECONSTRUCTION, /* MSE + β KL; the classifier is not run (ce, acc = 0) */
    PD_SC_VAE_CLASSIFIER      /* CE of the classifier on decode(μ), the VAE run without gradients
                               * (mse, kl reported for z = μ, not trained) */
} pd_sc_vae_part;
pd_tensor *pd_sc_vae_loss_part(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa,
                               const uint64_t *row_ids, uint64_t seed, uint64_t step, double normaliser,
                               pd_sc_vae_part part, pd_sc_vae_terms *terms);
/* The same with the reparameterisation noise given: eps [N, latent] (PyTorch parity tests). */
pd_tensor *pd_sc_vae_loss_eps(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, const int32_t *aa, pd_tensor *eps,
                              double normaliser, pd_sc_vae_terms *terms);

/* Inference (no gradients recorded): latent means and log-variances [N, latent] of voxels
 * [N, 1, V, V, V]. Results live in g's arena until pd_graph_reset. */
pd_status pd_sc_vae_encode(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, pd_tensor **mu, pd_tensor **logvar);
/* Inference: latents z [N, latent] -> reconstructed voxels [N, 1, V, V, V] and classifier
 * logits [N, 20] (either output pointer may be NULL). */
pd_status pd_sc_vae_decode_classify(pd_graph *g, pd_sc_vae *m, pd_tensor *z, pd_tensor **voxels, pd_tensor **logits);
/* Inference: the classifier alone on given voxels [N, 1, V, V, V] -> logits [N, 20]
 * (accuracy on true voxels; the finite-difference test holds its input fixed with it). */
pd_status pd_sc_vae_classify(pd_graph *g, pd_sc_vae *m, pd_tensor *voxels, pd_tensor **logits);

#endif
