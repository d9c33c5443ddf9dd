/* test_bb_vae_data.h — real backbones for the bb_vae tests and benchmark: the protein chains of a
 * structure file in /work/shared/data/pdb read through the gemmi shim into one entry's arrays. */
#ifndef PD_TESTS_MODELS_BB_VAE_DATA_H
#define PD_TESTS_MODELS_BB_VAE_DATA_H

#include <stdint.h>

#include "features/graph.h"

typedef struct test_backbone {
    int32_t length;
    float *atom14;     /* [L*14*3] */
    uint8_t *mask;     /* PD_MASK_BACKBONE when N, CA, C are present */
    uint8_t *chain;    /* chain index within the entry */
    uint8_t *aa;       /* 0..20 */
} test_backbone;

/* Chains first_chain .. first_chain+n_chains-1 (n_chains <= 0: all from first_chain) of
 * $PD_SHARED/data/pdb/<file>, residues [first, first+max_len) of their concatenation
 * (max_len <= 0: all). Returns 0 on success, 77 when the data folder is missing, 1 on error. */
int test_backbone_load(test_backbone *t, const char *file, int first_chain, int n_chains, int first, int max_len);
void test_backbone_free(test_backbone *t);
pd_bb_backbone test_backbone_view(const test_backbone *t);
/* Path of a shared data file (static buffer). */
const char *test_shared_path(const char *file);

#endif
