/* residues.c — the residue tables behind residues.h: one-letter vocabulary, three-letter names
 * and the atom14 slot names (identical to AlphaFold's restype_name_to_atom14_names, with X
 * keeping the backbone slots so unknown residues still carry N, CA, C, O). */
#include "structure/residues.h"

#include <string.h>

const char pd_aa_letters[] = "ACDEFGHIKLMNPQRSTVWYX";

static const char *const aa_three[PD_AA_STANDARD + 1] = {
    "ALA", "CYS", "ASP", "GLU", "PHE", "GLY", "HIS", "ILE", "LYS", "LEU",
    "MET", "ASN", "PRO", "GLN", "ARG", "SER", "THR", "VAL", "TRP", "TYR", "UNK"};

static const char *const atom14_names[PD_AA_STANDARD + 1][PD_SLOTS] = {
    /* A */ {"N", "CA", "C", "O", "CB"},
    /* C */ {"N", "CA", "C", "O", "CB", "SG"},
    /* D */ {"N", "CA", "C", "O", "CB", "CG", "OD1", "OD2"},
    /* E */ {"N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "OE2"},
    /* F */ {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"},
    /* G */ {"N", "CA", "C", "O"},
    /* H */ {"N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2"},
    /* I */ {"N", "CA", "C", "O", "CB", "CG1", "CG2", "CD1"},
    /* K */ {"N", "CA", "C", "O", "CB", "CG", "CD", "CE", "NZ"},
    /* L */ {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2"},
    /* M */ {"N", "CA", "C", "O", "CB", "CG", "SD", "CE"},
    /* N */ {"N", "CA", "C", "O", "CB", "CG", "OD1", "ND2"},
    /* P */ {"N", "CA", "C", "O", "CB", "CG", "CD"},
    /* Q */ {"N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2"},
    /* R */ {"N", "CA", "C", "O", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"},
    /* S */ {"N", "CA", "C", "O", "CB", "OG"},
    /* T */ {"N", "CA", "C", "O", "CB", "OG1", "CG2"},
    /* V */ {"N", "CA", "C", "O", "CB", "CG1", "CG2"},
    /* W */ {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"},
    /* Y */ {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"},
    /* X */ {"N", "CA", "C", "O"},
};

static const struct { const char *name; char letter; } protonation_variants[] = {
    {"HID", 'H'}, {"HIE", 'H'}, {"HIP", 'H'}, {"HSD", 'H'}, {"HSE", 'H'}, {"HSP", 'H'},
    {"CYX", 'C'}, {"CYM", 'C'}, {"ASH", 'D'}, {"GLH", 'E'}, {"LYN", 'K'},
};

int pd_aa_from_letter(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (int i = 0; i < PD_AA_STANDARD; i++)
        if (pd_aa_letters[i] == c)
            return i;
    return PD_AA_UNKNOWN;
}

int pd_aa_from_three(const char *name)
{
    for (int i = 0; i < PD_AA_STANDARD; i++)
        if (strcmp(aa_three[i], name) == 0)
            return i;
    for (size_t i = 0; i < sizeof protonation_variants / sizeof protonation_variants[0]; i++)
        if (strcmp(protonation_variants[i].name, name) == 0)
            return pd_aa_from_letter(protonation_variants[i].letter);
    return -1;
}

const char *pd_aa_three(int aa)
{
    if (aa < 0 || aa > PD_AA_UNKNOWN)
        return "UNK";
    return aa_three[aa];
}

int pd_atom14_count(int aa)
{
    if (aa < 0 || aa > PD_AA_UNKNOWN)
        return 0;
    int n = 0;
    while (n < PD_SLOTS && atom14_names[aa][n])
        n++;
    return n;
}

const char *pd_atom14_name(int aa, int slot)
{
    if (aa < 0 || aa > PD_AA_UNKNOWN || slot < 0 || slot >= PD_SLOTS)
        return 0;
    return atom14_names[aa][slot];
}

int pd_atom14_slot(int aa, const char *atom_name)
{
    if (aa < 0 || aa > PD_AA_UNKNOWN)
        return -1;
    for (int s = 0; s < PD_SLOTS && atom14_names[aa][s]; s++)
        if (strcmp(atom14_names[aa][s], atom_name) == 0)
            return s;
    return -1;
}
