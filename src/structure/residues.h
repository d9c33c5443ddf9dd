/* residues.h — the amino-acid vocabulary (SPEC.md section 1) and the 14-slot heavy-atom
 * layout per residue type (N, CA, C, O, then the side chain in PDB order, as in AlphaFold's
 * restype_name_to_atom14_names), shared by the structure reader, charges and features. */
#ifndef PD_STRUCTURE_RESIDUES_H
#define PD_STRUCTURE_RESIDUES_H

#define PD_AA_STANDARD 20   /* A C D E F G H I K L M N P Q R S T V W Y = 0..19 */
#define PD_AA_UNKNOWN 20    /* X */
#define PD_AA_MASK 21       /* <mask>, a conditioning token only */
#define PD_SLOTS 14         /* atom14 slots per residue */

/* "ACDEFGHIKLMNPQRSTVWYX": index -> one-letter code. */
extern const char pd_aa_letters[];

/* One-letter code (either case) -> 0..19; anything else -> PD_AA_UNKNOWN. */
int pd_aa_from_letter(char c);
/* Standard three-letter names and the AMBER/CHARMM protonation variants (HID, HIE, HIP, HSD,
 * HSE, HSP, CYX, CYM, ASH, GLH, LYN) -> 0..19; -1 for any other name. */
int pd_aa_from_three(const char *name);
/* 0..19 -> "ALA".."VAL"; PD_AA_UNKNOWN -> "UNK". */
const char *pd_aa_three(int aa);

/* Number of used slots for a residue type (4 for GLY and X, up to 14 for TRP). */
int pd_atom14_count(int aa);
/* Atom name in a slot, NULL when the slot is unused for this type. */
const char *pd_atom14_name(int aa, int slot);
/* Slot of an atom name for a type, -1 when the type has no such heavy atom. */
int pd_atom14_slot(int aa, const char *atom_name);

#endif
