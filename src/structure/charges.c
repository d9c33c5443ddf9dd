/* charges.c — turns ff19SB united-atom charge rows (built-in or a TSV file) into the
 * (residue type, atom14 slot) table the voxel field uses; see charges.h. */
#include "structure/charges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The AMBER residue name whose charges a residue type uses: HIS is HIE (SPEC.md section 4). */
static const char *amber_name(int aa)
{
    if (aa == pd_aa_from_letter('H'))
        return "HIE";
    return pd_aa_three(aa);
}

pd_status pd_charges_from_rows(const pd_charge_row *rows, int n, const char *origin, pd_charge_table *t)
{
    memset(t, 0, sizeof *t);
    for (int aa = 0; aa < PD_AA_STANDARD; aa++) {
        const char *res = amber_name(aa);
        for (int s = 0; s < pd_atom14_count(aa); s++) {
            const char *atom = pd_atom14_name(aa, s);
            int found = 0;
            for (int r = 0; r < n && !found; r++) {
                if (strcmp(rows[r].residue, res) == 0 && strcmp(rows[r].atom, atom) == 0) {
                    t->q[aa][s] = (float)rows[r].charge;
                    found = 1;
                }
            }
            if (!found)
                return pd_fail(PD_ERR_CONFIG, "charge table %s has no charge for %s atom %s; "
                               "it needs every heavy atom of the 20 residue types (HIS as HIE)",
                               origin, res, atom);
        }
    }
    return PD_OK;
}

const pd_charge_table *pd_charges_builtin(void)
{
    static pd_charge_table table;
    static int built;
    if (!built) {
        /* The generated rows are complete (tests/structure/test_charges); a failure here would be
         * a broken build, so it is reported loudly rather than returned. */
        if (pd_charges_from_rows(pd_charge_builtin_rows, pd_charge_builtin_count, "built-in", &table) != PD_OK) {
            fprintf(stderr, "proteindiff: %s\n", pd_last_error());
            abort();
        }
        built = 1;
    }
    return &table;
}

void pd_charge_rows_free(pd_charge_row *rows, int n)
{
    if (!rows)
        return;
    for (int i = 0; i < n; i++) {
        free((char *)rows[i].residue);
        free((char *)rows[i].atom);
    }
    free(rows);
}

pd_status pd_charges_read_rows(const char *path, pd_charge_row **rows_out, int *n_out)
{
    *rows_out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return pd_fail(PD_ERR_IO, "cannot open charge table %s: %s (featurize.charges)", path, strerror(errno));
    pd_charge_row *rows = NULL;
    int n = 0, cap = 0, line_no = 0;
    char line[512];
    pd_status st = PD_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#' || strncmp(line, "residue\t", 8) == 0)
            continue;
        char res[32], atom[32], charge_text[64], extra[8];
        if (sscanf(line, "%31s %31s %63s %7s", res, atom, charge_text, extra) != 3) {
            st = pd_fail(PD_ERR_PARSE, "%s:%d: expected `residue<TAB>atom<TAB>charge`, got \"%s\"", path, line_no, line);
            break;
        }
        char *end;
        double q = strtod(charge_text, &end);
        if (*end != '\0') {
            st = pd_fail(PD_ERR_PARSE, "%s:%d: charge \"%s\" is not a number", path, line_no, charge_text);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            pd_charge_row *grown = pd_realloc(rows, (size_t)cap * sizeof *rows);
            if (!grown) {
                st = PD_ERR_NOMEM;
                break;
            }
            rows = grown;
        }
        rows[n].residue = pd_strdup(res);
        rows[n].atom = pd_strdup(atom);
        rows[n].charge = q;
        n++;
        if (!rows[n - 1].residue || !rows[n - 1].atom) {
            st = PD_ERR_NOMEM;
            break;
        }
    }
    fclose(f);
    if (st != PD_OK) {
        pd_charge_rows_free(rows, n);
        return st;
    }
    *rows_out = rows;
    *n_out = n;
    return PD_OK;
}

pd_status pd_charges_load(const char *path, pd_charge_table *t)
{
    pd_charge_row *rows;
    int n;
    PD_TRY(pd_charges_read_rows(path, &rows, &n));
    pd_status st = pd_charges_from_rows(rows, n, path, t);
    pd_charge_rows_free(rows, n);
    return st;
}
