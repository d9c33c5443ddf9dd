/* entry.h — the contract between featurization and the dataset writer: one featurized unit
 * of data (a protein chain, or every protein chain of a model in assembly mode) with every
 * per-residue array of SPEC.md section 6, and the record of an input or chain that could not
 * be used. Featurize fills these; src/dataset writes them collectively. */
#ifndef PD_FEATURES_ENTRY_H
#define PD_FEATURES_ENTRY_H

#include <stdint.h>

#include "core/error.h"

#define PD_ATOM14 14

/* Residue mask bits (SPEC.md section 6, /residues/mask). */
enum { PD_MASK_BACKBONE = 1, PD_MASK_O = 2, PD_MASK_SIDECHAIN = 4 };

typedef struct pd_entry {
    char *name;          /* "<file stem>_<chain id>"; assembly mode: "<file stem>" */
    char *source;        /* input path as expanded by rank 0 */
    int32_t length;      /* L residues */
    uint8_t *aa;         /* [L] index in ACDEFGHIKLMNPQRSTVWY (0..19), X = 20 */
    uint8_t *chain;      /* [L] chain index within the entry (0 in chain mode) */
    int32_t *resnum;     /* [L] author residue number */
    char *icode;         /* [L] insertion code, ' ' when none */
    uint8_t *mask;       /* [L] PD_MASK_* bits */
    float *atom14;       /* [L*14*3] heavy atoms in 14-slot order, NaN where missing */
    float *cb;           /* [L*3] virtual C-beta (NaN for residues without a valid backbone) */
    int voxel_size;      /* V */
    uint16_t *voxels;    /* [L*V*V*V] IEEE-754 binary16 bits; zeros for invalid residues */
    uint8_t *distogram;  /* [L*L*3] SPEC.md section 3 image, row-major (i, j, channel) */
} pd_entry;

typedef struct pd_failure {
    char *source;        /* input path */
    char *reason;        /* e.g. "chain B: 12 residues < min_len 40", "parse error at line 88: ..." */
} pd_failure;

typedef struct pd_entry_list {
    pd_entry *items;
    int n, cap;
} pd_entry_list;

typedef struct pd_failure_list {
    pd_failure *items;
    int n, cap;
} pd_failure_list;

void pd_entry_free(pd_entry *e);
void pd_entry_list_clear(pd_entry_list *l);      /* frees the entries, keeps the list usable */
void pd_failure_list_clear(pd_failure_list *l);
pd_status pd_entry_list_push(pd_entry_list *l, pd_entry *e);   /* takes ownership of e's arrays */
pd_status pd_failure_list_add(pd_failure_list *l, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
