/* export_fasta.c — the dataset's sequences as FASTA; see export.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/export.h"

static const char aa_letters[] = "ACDEFGHIKLMNPQRSTVWYX";

pd_status pd_export_fasta(pd_dataset *ds, const char *file, int64_t *written)
{
    *written = 0;
    FILE *f = fopen(file, "w");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write '%s': %s", file, strerror(errno));
    int64_t n = pd_dataset_n_entries(ds);
    uint8_t *aa = NULL, *chain = NULL;
    char *line = NULL;
    size_t cap = 0;
    pd_status st = PD_OK;
    for (int64_t i = 0; st == PD_OK && i < n; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, i, &info);
        if (st != PD_OK) break;
        size_t L = (size_t)info.length;
        if (L > cap) {
            free(aa); free(chain); free(line);
            aa = pd_malloc(L);
            chain = pd_malloc(L);
            line = pd_malloc(2 * L + 2);
            if (!aa || !chain || !line) { st = PD_ERR_NOMEM; cap = 0; break; }
            cap = L;
        }
        st = pd_dataset_read_sequence(ds, i, aa, chain);
        if (st != PD_OK) break;
        size_t o = 0;
        for (size_t r = 0; r < L; r++) {
            if (r > 0 && chain[r] != chain[r - 1]) line[o++] = '/';
            line[o++] = aa[r] <= 20 ? aa_letters[aa[r]] : 'X';
        }
        line[o] = '\0';
        fprintf(f, ">%s length=%d source=%s\n%s\n", info.name, info.length, info.source, line);
        (*written)++;
    }
    free(aa);
    free(chain);
    free(line);
    if (fclose(f) != 0 && st == PD_OK) st = pd_fail(PD_ERR_IO, "cannot finish '%s': %s", file, strerror(errno));
    return st;
}
