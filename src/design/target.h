/* target.h — what `design` reads for one structure: the backbone of the selected chains (the
 * structure reader; only N, CA, C are used), the positions the user fixes (--fixed, with their
 * amino acids from the file or from --sequence-prefill) and, for reporting only, the native
 * sequence. The model never sees a native residue name except at fixed positions. */
#ifndef PD_DESIGN_TARGET_H
#define PD_DESIGN_TARGET_H

#include <stdint.h>

#include "core/error.h"
#include "design/residue_rules.h"
#include "design/sequence.h"

/* Records of a FASTA file (--sequence-prefill). */
typedef struct pd_fasta_records {
    int n;
    char **name;   /* first word of the header */
    char **seq;    /* residues, '/' chain separators removed, whitespace dropped */
} pd_fasta_records;

pd_status pd_fasta_read(const char *path, pd_fasta_records *out);
void pd_fasta_free(pd_fasta_records *f);

typedef struct pd_design_target_opts {
    const char *chains;               /* "A,B": these chains, in file order (NULL: every protein chain) */
    const char *fixed;                /* "A1-20 A45 B A52A": selectors (selection.h; NULL: none) */
    const pd_fasta_records *prefill;  /* NULL: none */
    const char *symmetry;             /* "A12,B12|A13,B13" (NULL: none) */
    int homo_oligomer;                /* tie every position across chains of equal length */
    const pd_aa_rules *rules;         /* --omit-aa/--bias-aa for every residue (NULL: none) */
    const pd_residue_rules *by_residue; /* --bias-by-residue/--omit-by-residue (NULL: none) */
} pd_design_target_opts;

typedef struct pd_design_target {
    char *name;          /* the file stem */
    char *source;        /* the path */
    int32_t length;
    int n_chains;
    char **chain_ids;    /* [n_chains] author ids of the chains used, in order */
    int32_t *chain_len;  /* [n_chains] */
    float *atom14;       /* [L*14*3] */
    uint8_t *chain;      /* [L] 0..n_chains-1 */
    int32_t *resnum;     /* [L] author numbers */
    char *icode;         /* [L] insertion codes, ' ' when none */
    uint8_t *native;     /* [L] residue names of the file (REPORTING ONLY: native record, recovery) */
    int native_known;    /* some residue of the file has a standard name */
    int32_t *fixed;      /* [L] the kept amino acid 0..19, or -1 (designed) */
    int32_t *tokens;     /* [L] conditioning: fixed amino acid or PD_DIFFUSION_TOKEN_MASK */
    int64_t n_fixed;
    int32_t *tie;        /* [L] first residue of the residue's tied group, or its own index (symmetry.h) */
    int64_t n_tied;      /* residues in a group of two or more */
    pd_aa_rules *rules;  /* [L] omit/bias per residue: the global rules plus the residue's own */
} pd_design_target;

/* Read `path` and build the target. Errors name the file and the bad option part: an unknown
 * chain (listing the file's chains), a --fixed, --symmetry or JSON selector that matches no
 * residue, a fixed residue whose amino acid is unknown (X in the file and no prefill letter), a
 * prefill of the wrong length, a tied group whose fixed residues disagree. A tied group with a
 * fixed residue is fixed as a whole to that amino acid. */
pd_status pd_design_target_read(const char *path, const pd_design_target_opts *o, pd_design_target *t);
void pd_design_target_free(pd_design_target *t);

/* The sequence aa [L] as text with '/' between chains (X for 20); buf needs L + n_chains bytes. */
void pd_design_target_format(const pd_design_target *t, const uint8_t *aa, char *buf);

#endif
