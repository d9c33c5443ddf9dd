/* test_charges.c — the built-in ff19SB table equals shared/data/ff19SB_united_atom.tsv row for
 * row, every residue type's united-atom charges sum to an integer (0, or +1/-1 for the charged
 * side chains), HIS uses HIE, and a table missing an atom is refused with its name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "structure/charges.h"
#include "test.h"

int main(void)
{
    const char *shared = getenv("PD_SHARED");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/ff19SB_united_atom.tsv", shared ? shared : "../shared");
    pd_charge_row *rows;
    int n;
    if (pd_charges_read_rows(path, &rows, &n) != PD_OK) {
        fprintf(stderr, "%s\n", pd_last_error());
        return 77;
    }
    CHECK_MSG(n == pd_charge_builtin_count, "file has %d rows, built-in %d", n, pd_charge_builtin_count);
    for (int i = 0; i < n && i < pd_charge_builtin_count; i++) {
        const pd_charge_row *a = &rows[i], *b = &pd_charge_builtin_rows[i];
        CHECK_MSG(strcmp(a->residue, b->residue) == 0 && strcmp(a->atom, b->atom) == 0 && a->charge == b->charge,
                  "row %d: file %s %s %g vs built-in %s %s %g", i, a->residue, a->atom, a->charge, b->residue,
                  b->atom, b->charge);
    }
    pd_charge_table from_file;
    CHECK(pd_charges_load(path, &from_file) == PD_OK);
    CHECK(memcmp(&from_file, pd_charges_builtin(), sizeof from_file) == 0);

    const pd_charge_table *t = pd_charges_builtin();
    for (int aa = 0; aa < PD_AA_STANDARD; aa++) {
        double total = 0;
        for (int s = 0; s < PD_SLOTS; s++)
            total += t->q[aa][s];
        char letter = pd_aa_letters[aa];
        double expected = (letter == 'K' || letter == 'R') ? 1 : (letter == 'D' || letter == 'E') ? -1 : 0;
        CHECK_MSG(fabs(total - expected) < 1e-3, "%s total charge %.4f, expected %g", pd_aa_three(aa), total, expected);
    }
    /* HIS = HIE: compare with the file's HIE rows directly. */
    int his = pd_aa_from_letter('H');
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].residue, "HIE") == 0) {
            int slot = pd_atom14_slot(his, rows[i].atom);
            CHECK(slot >= 0 && t->q[his][slot] == (float)rows[i].charge);
        }
    for (int s = 0; s < PD_SLOTS; s++)
        CHECK(t->q[PD_AA_UNKNOWN][s] == 0.0f);

    /* Drop MET SD from the rows: refused, naming it. */
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].residue, "MET") == 0 && strcmp(rows[i].atom, "SD") == 0)
            ((char *)rows[i].atom)[0] = 'X';
    pd_charge_table broken;
    CHECK(pd_charges_from_rows(rows, n, "test", &broken) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "MET atom SD") != NULL, "%s", pd_last_error());
    pd_charge_rows_free(rows, n);

    char bad[] = "/tmp/pd_charges_XXXXXX";
    int fd = mkstemp(bad);
    FILE *f = fdopen(fd, "w");
    fputs("residue\tatom\tcharge\nALA\tN\t-0.1\nALA\tCA\tabc\n", f);
    fclose(f);
    CHECK(pd_charges_read_rows(bad, &rows, &n) == PD_ERR_PARSE);
    CHECK_MSG(strstr(pd_last_error(), ":3:") != NULL, "%s", pd_last_error());
    unlink(bad);
    return pd_test_finish("test_charges");
}
