/* tokenizer_chains.h — test helper: one protein chain of a real structure file as the inputs the
 * tokenizer tests need (atom14, virtual Cβ, backbone validity, SPEC §3 distogram image). */
#ifndef PD_TESTS_MODELS_TOKENIZER_CHAINS_H
#define PD_TESTS_MODELS_TOKENIZER_CHAINS_H

#include <stdint.h>

typedef struct tok_chain {
    int L;
    float *atom14;    /* [L*14*3], NaN where missing */
    float *cb;        /* [L*3] virtual Cβ, NaN for residues without N, CA, C */
    uint8_t *valid;   /* [L] 1 = N, CA and C present */
    uint8_t *img;     /* [L*L*3] distogram image */
} tok_chain;

/* Chain `chain_index` of $PD_SHARED/data/pdb/<file>, its first `max_len` residues (0 = all).
 * Returns 1, or 0 with a message on stderr. */
int tok_chain_load(const char *file, int chain_index, int max_len, tok_chain *out);
void tok_chain_free(tok_chain *c);
/* $PD_SHARED/data/pdb exists (else the test skips). */
int tok_have_pdb(void);

#endif
