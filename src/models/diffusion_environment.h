/* diffusion_environment.h — the local environment the DiT reads when model.diffusion.environment
 * is K > 0: for every residue, its K nearest residues (Cβ–Cβ distance, same entry) described in
 * the residue's own frame — where their N, CA, C, O, Cβ atoms are, how their frames are turned,
 * how far along the chain they are — plus the residue's own backbone atoms in its frame. These are
 * constants of the backbone (no gradient); the model turns each neighbour's features into a
 * vector with a shared MLP and pools them (attention-weighted and mean), the way one
 * message-passing layer of ProteinMPNN reads a residue's neighbourhood. Formulas:
 * docs/models/diffusion.md, "Environment". */
#ifndef PD_MODELS_DIFFUSION_ENVIRONMENT_H
#define PD_MODELS_DIFFUSION_ENVIRONMENT_H

#include <stdint.h>

#include "models/diffusion_geometry.h"

/* per neighbour slot: N, CA, C, O, Cβ of j in i's frame relative to CA_i / 10 Å (15), the
 * rotation between the frames, frame_i · frame_jᵀ (9), the chain separation j − i clipped to
 * ±32 / 32, |j − i| = 1, log(1 + |j − i|) / 6 (3; 0, 0, 1 across chains), d(Cβ_i, Cβ_j) / 10 Å (1) */
#define PD_DIFFUSION_ENV_EDGE 28
/* per residue: its own N, CA, C, O, Cβ in its frame relative to CA / 10 Å */
#define PD_DIFFUSION_ENV_NODE 15
#define PD_DIFFUSION_ENV_MAX_K 64
#define PD_DIFFUSION_ENV_MAX_LAYERS 8
#define PD_DIFFUSION_ENV_LN_EPS 1e-5   /* the message-passing layers' LayerNorm (PyTorch's default) */

/* Packed rows (N residues of the input, entry after entry); k neighbour slots per residue.
 * edge [N, k, ENV_EDGE]; node [N, ENV_NODE]; score_mask [N, k] 0 for a real neighbour, -1e9 for
 * an empty slot (fewer than k other valid residues in the entry); mean_weight [N, k]
 * 1 / (real neighbours) or 0; neighbour [N, k] (NULL: not wanted) the neighbour's packed row, the
 * residue's own row in an empty slot. A residue without a backbone has zero features and empty
 * slots. A missing O is replaced by the residue's CA. Returns 0 when out of memory. */
int pd_diffusion_environment(const pd_diffusion_geo_input *in, int k, float *edge, float *node, float *score_mask,
                             float *mean_weight, int32_t *neighbour);

#endif
