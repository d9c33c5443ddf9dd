/* structure.h — the plain C view of a structure file, produced by the gemmi shim
 * (gemmi_shim.cc, the only C++ in the tree): the protein chains of the first model as
 * arrays of residues with their amino-acid index and atom14 coordinates (SPEC.md section 1). */
#ifndef PD_STRUCTURE_STRUCTURE_H
#define PD_STRUCTURE_STRUCTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "structure/residues.h"

/* Per-residue flags describing how the residue was read. */
enum {
    PD_RES_HETATM = 1,    /* read from HETATM records */
    PD_RES_MODIFIED = 2,  /* non-standard name mapped to its parent (MSE -> M) or to X */
    PD_RES_ALTLOC = 4     /* at least one atom had alternate locations; one was chosen */
};

typedef struct pd_chain {
    char *id;            /* author chain id */
    int n;               /* residues */
    uint8_t *aa;         /* [n] 0..19, PD_AA_UNKNOWN = 20 */
    int32_t *resnum;     /* [n] author residue number */
    char *icode;         /* [n] insertion code, ' ' when none */
    uint8_t *flags;      /* [n] PD_RES_* */
    float *atom14;       /* [n*14*3] coordinates in Angstrom, NaN where the atom is missing */
} pd_chain;

typedef struct pd_structure {
    char format[8];      /* "pdb", "mmcif" or "mmjson", detected from the content */
    int n_models;        /* models in the file; only the first is read */
    long n_atoms;        /* atoms of the first model before any filtering */
    int n_chains;        /* protein chains, in order of first appearance */
    pd_chain *chains;
} pd_structure;

/* Read a PDB/mmCIF file, gzipped or not (both detected from the content, never the name).
 * Rules (SPEC.md section 1): first model only; hydrogens, waters and non-polymer ligands
 * dropped; per atom the highest-occupancy alternate location (first on a tie); modified
 * residues mapped to their parent through gemmi's residue table (MSE's SE plays SD);
 * a residue is protein when the table calls it an amino acid or it is an ATOM record with
 * N, CA and C. Chains with the same author id are merged in file order.
 * Errors (the message is a reason fit for /failed): PD_ERR_IO (cannot open or decompress),
 * PD_ERR_PARSE ("empty file", "not a structure: ...", "parse error at line N: ..."),
 * PD_ERR_NOMEM. On error *out is left empty (safe to free). */
pd_status pd_structure_read(const char *path, pd_structure *out);
void pd_structure_free(pd_structure *s);

#endif
