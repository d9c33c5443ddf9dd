/* pdb_writer.c — designed sequences as PDB files (pdb_writer.h): fixed-column ATOM records, TER
 * after each chain, END; written through a .tmp name so a killed run never leaves half a file. */
#include "design/pdb_writer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "design/target.h"
#include "structure/residues.h"

void pd_pdb_design_path(const char *dir, const char *entry, double temperature, int sample, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s_T%g_s%d.pdb", dir, entry, temperature, sample);
}

static int write_atom(FILE *f, int serial, const char *atom, const char *resname, const char *chain, int resnum, char icode,
                      const float *xyz)
{
    /* atom names of one-letter elements start in column 14; every protein heavy atom has one */
    char name[8];
    snprintf(name, sizeof name, " %-3s", atom);
    return fprintf(f, "ATOM  %5d %-4s %3s%2s%4d%c   %8.3f%8.3f%8.3f%6.2f%6.2f          %2c\n", serial % 100000, name, resname,
                   chain, resnum, icode, (double)xyz[0], (double)xyz[1], (double)xyz[2], 1.0, 0.0, atom[0]) < 0;
}

pd_status pd_pdb_write_design(const char *path, const pd_design_target *t, const uint8_t *aa, const char *remark)
{
    for (int c = 0; c < t->n_chains; c++)
        if (strlen(t->chain_ids[c]) > 2)
            return pd_fail(PD_ERR_UNSUPPORTED, "--pdb-out: chain id '%s' of %s has more than 2 characters and does not fit a "
                           "PDB file", t->chain_ids[c], t->source);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return pd_fail(PD_ERR_IO, "--pdb-out: cannot write %s (does the folder exist?)", tmp);
    int bad = fprintf(f, "REMARK   1 %s\n", remark) < 0;
    int serial = 1;
    for (int64_t i = 0; i < t->length && !bad; i++) {
        const int a = aa[i] < 20 ? aa[i] : PD_AA_UNKNOWN;
        const char *resname = pd_aa_three(a);
        const char *chain = t->chain_ids[t->chain[i]];
        const float *xyz = t->atom14 + i * PD_SLOTS * 3;
        /* side chains only where the residue is fixed to the file's own amino acid */
        const int keep_side = t->fixed[i] >= 0 && t->fixed[i] == a && t->native[i] == a;
        const int slots = keep_side ? pd_atom14_count(a) : 4;
        for (int s = 0; s < slots && !bad; s++) {
            const float *p = xyz + s * 3;
            if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) continue;
            bad |= write_atom(f, serial++, pd_atom14_name(keep_side ? a : PD_AA_UNKNOWN, s), resname, chain, t->resnum[i],
                              t->icode[i], p);
        }
        if (i + 1 == t->length || t->chain[i + 1] != t->chain[i])
            bad |= fprintf(f, "TER   %5d      %3s%2s%4d%c\n", serial++ % 100000, resname, chain, t->resnum[i], t->icode[i]) < 0;
    }
    bad |= fprintf(f, "END\n") < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return pd_fail(PD_ERR_IO, "--pdb-out: cannot write %s", path);
    }
    return PD_OK;
}
