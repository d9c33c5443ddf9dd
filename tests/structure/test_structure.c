/* test_structure.c — the reader and pd_featurize_file on awkward inputs from shared/data/pdb
 * (NMR multi-model .gz, altlocs, insertion codes, MSE, ligands, a cif.gz and a pdb.gz, a wrong
 * extension) and on made-up broken files (empty, garbage, CA-only, a truncated ATOM line, a
 * broken mmCIF loop, an altloc tie). Expected coordinates were read off the files by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "features/featurize.h"
#include "structure/structure.h"
#include "test.h"

static char data_dir[4096];
static char tmp_dir[] = "/tmp/pd_structure_test_XXXXXX";

static const char *data(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    return path;
}

static const char *write_tmp(const char *name, const void *bytes, size_t n)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    return path;
}

static const char *copy_to_tmp(const char *src, const char *name)
{
    FILE *f = fopen(src, "rb");
    static char buf[1 << 22];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    return write_tmp(name, buf, n);
}

/* Featurize one path with min_len 1; returns entries and failures through the lists. */
static void featurize(const char *path, pd_unit unit, pd_entry_list *e, pd_failure_list *f)
{
    pd_featurize_opts o;
    pd_featurize_opts_default(&o);
    o.unit = unit;
    o.min_len = 1;
    pd_entry_list_clear(e);
    pd_failure_list_clear(f);
    CHECK(pd_featurize_file(path, &o, e, f) == PD_OK);
}

static int residue_index(const pd_chain *c, int resnum, char icode)
{
    for (int i = 0; i < c->n; i++)
        if (c->resnum[i] == resnum && c->icode[i] == icode)
            return i;
    return -1;
}

static void test_real_files(pd_entry_list *e, pd_failure_list *f)
{
    pd_structure s;
    /* NMR, gzipped PDB, 3 models: first model only (THR A 19 CA of MODEL 1, not MODEL 2). */
    CHECK(pd_structure_read(data("1ggr.pdb.gz"), &s) == PD_OK);
    CHECK(s.n_models == 3 && strcmp(s.format, "pdb") == 0 && s.n_chains == 2);
    CHECK(s.n_atoms == 3595); /* MANIFEST atoms_model1 */
    int i = residue_index(&s.chains[0], 19, ' ');
    CHECK(i == 0 && s.chains[0].atom14[3] == 51.464f && s.chains[0].atom14[4] == 47.969f);
    pd_structure_free(&s);

    /* Altlocs: VAL A 871 CB, B (0.54) beats A. */
    CHECK(pd_structure_read(data("1TEN_A.pdb"), &s) == PD_OK);
    i = residue_index(&s.chains[0], 871, ' ');
    CHECK(i >= 0 && s.chains[0].atom14[i * 42 + 4 * 3] == 29.532f && (s.chains[0].flags[i] & PD_RES_ALTLOC));
    pd_structure_free(&s);
    /* GLU A 12 CB: A (0.70) beats B. */
    CHECK(pd_structure_read(data("1CZP_A.pdb"), &s) == PD_OK);
    i = residue_index(&s.chains[0], 12, ' ');
    CHECK(i >= 0 && s.chains[0].atom14[i * 42 + 4 * 3] == 1.089f);
    pd_structure_free(&s);

    /* Insertion codes: file order 183, 184A, 184 in 1bju (chymotrypsin numbering). */
    CHECK(pd_structure_read(data("1bju.pdb"), &s) == PD_OK);
    i = residue_index(&s.chains[0], 184, 'A');
    CHECK(i > 0 && s.chains[0].resnum[i - 1] == 183 && s.chains[0].resnum[i + 1] == 184 && s.chains[0].icode[i + 1] == ' ');
    CHECK(i >= 0 && s.chains[0].aa[i] == pd_aa_from_letter('G'));
    pd_structure_free(&s);

    /* MSE -> M with SE as SD (1A8O residue 151). */
    CHECK(pd_structure_read(data("1A8O.cif"), &s) == PD_OK);
    CHECK(strcmp(s.format, "mmcif") == 0);
    i = residue_index(&s.chains[0], 151, ' ');
    CHECK(i >= 0 && s.chains[0].aa[i] == pd_aa_from_letter('M') && (s.chains[0].flags[i] & PD_RES_MODIFIED));
    CHECK(i >= 0 && s.chains[0].atom14[i * 42 + 6 * 3] == 21.718f); /* slot 6 of MET is SD */
    pd_structure_free(&s);

    /* Ligands (NAP, TES) and waters dropped: 1AFS has 2 chains of protein only. */
    featurize(data("1AFS.pdb"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 2 && f->n == 0);
    CHECK(e->n == 2 && e->items[0].length + e->items[1].length == 638); /* MANIFEST std_aa */
    CHECK(e->n == 2 && strcmp(e->items[0].name, "1AFS_A") == 0 && strcmp(e->items[1].name, "1AFS_B") == 0);
    /* Assembly mode: one entry with both chains. */
    featurize(data("1AFS.pdb"), PD_UNIT_ASSEMBLY, e, f);
    CHECK(e->n == 1 && e->items[0].length == 638 && strcmp(e->items[0].name, "1AFS") == 0);
    CHECK(e->n == 1 && e->items[0].chain[0] == 0 && e->items[0].chain[637] == 1);

    /* Free arginines after TER are ligands; ATOM records after a mid-chain TER are protein. */
    featurize(data("3ems.pdb"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 129);
    featurize(data("1K1I.pdb"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 223);

    /* Chain break (1acj): residues stay in order, numbering jumps, all backbones valid. */
    featurize(data("1acj.pdb"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 528);

    /* cif.gz and pdb.gz. */
    featurize(data("1cbs.cif.gz"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 137 && strcmp(e->items[0].name, "1cbs_A") == 0);
    featurize(data("1ctf.pdb.gz"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 68);

    /* Wrong extensions: content decides (a .cif that is gzipped PDB, a .pdb that is mmCIF). */
    featurize(copy_to_tmp(data("1ctf.pdb.gz"), "odd.name.cif"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 68 && strcmp(e->items[0].name, "odd_A") == 0);
    featurize(copy_to_tmp(data("1CRN.cif"), "crambin.pdb"), PD_UNIT_CHAIN, e, f);
    CHECK(e->n == 1 && e->items[0].length == 46);

    /* Length limits are reported with the numbers (1a4w: L 26, H 248, I 9 with DAR). H was 249
     * before the reader's ligand rule (fea6ccc, LigandMPNN#32): a fragment of HETATM residues
     * under chain H's name that is not peptide-bonded to anything is now read as a ligand. */
    pd_featurize_opts o;
    pd_featurize_opts_default(&o);
    pd_entry_list_clear(e);
    pd_failure_list_clear(f);
    CHECK(pd_featurize_file(data("1a4w.cif"), &o, e, f) == PD_OK);
    CHECK(e->n == 1 && f->n == 2);
    CHECK(f->n == 2 && strcmp(f->items[0].reason, "chain L: 26 residues < min_len 40") == 0);
    o.max_len = 100;
    pd_entry_list_clear(e);
    pd_failure_list_clear(f);
    CHECK(pd_featurize_file(data("1a4w.cif"), &o, e, f) == PD_OK);
    CHECK(e->n == 0 && f->n == 3 && strcmp(f->items[1].reason, "chain H: 248 residues > max_len 100") == 0);
}

static void expect_failure(const char *path, const char *reason_part, pd_entry_list *e, pd_failure_list *f)
{
    featurize(path, PD_UNIT_CHAIN, e, f);
    CHECK_MSG(e->n == 0 && f->n == 1 && strstr(f->items[0].reason, reason_part),
              "%s: %d entries, %d failures, reason \"%s\" (wanted \"%s\")", path, e->n, f->n,
              f->n ? f->items[0].reason : "", reason_part);
    CHECK(f->n == 0 || strcmp(f->items[0].source, path) == 0);
}

static void test_broken_inputs(pd_entry_list *e, pd_failure_list *f)
{
    expect_failure(write_tmp("empty.pdb", "", 0), "empty file", e, f);
    expect_failure(write_tmp("blank.cif", "\n  \n\t\n", 6), "empty file", e, f);
    unsigned char garbage[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof garbage; i++) {
        x = x * 1103515245u + 12345u;
        garbage[i] = (unsigned char)(x >> 16);
    }
    expect_failure(write_tmp("garbage.pdb", garbage, sizeof garbage), "not a structure", e, f);
    expect_failure(data("nonexistent-file.pdb"), "cannot open", e, f);

    const char *short_line = "ATOM      1  N   ALA A   1      11.104   6.134\n";
    expect_failure(write_tmp("short.pdb", short_line, strlen(short_line)), "parse error at line 1", e, f);
    const char *bad_cif = "data_x\nloop_\n_atom_site.id\n_atom_site.type_symbol\n1 N\n2\n";
    expect_failure(write_tmp("bad.cif", bad_cif, strlen(bad_cif)), "parse error at line", e, f);
    const char *waters = "HETATM    1  O   HOH A   1      11.104   6.134  -6.504  1.00 20.00           O\nEND\n";
    expect_failure(write_tmp("water.pdb", waters, strlen(waters)), "no protein chain", e, f);

    /* CA-only model: protein by the residue table, but no residue has N, CA and C. */
    FILE *in = fopen(data("1bpi.pdb"), "r");
    char line[256], ca_only[1 << 16];
    size_t used = 0;
    while (in && fgets(line, sizeof line, in))
        if (strncmp(line, "ATOM", 4) == 0 && strncmp(line + 12, " CA ", 4) == 0 && used + strlen(line) < sizeof ca_only) {
            memcpy(ca_only + used, line, strlen(line));
            used += strlen(line);
        }
    if (in)
        fclose(in);
    expect_failure(write_tmp("ca_only.pdb", ca_only, used), "chain A: no valid backbone (none of its 58 residues", e, f);

    /* Altloc tie: the first conformer in the file wins; microheterogeneity keeps the more
     * occupied residue name. */
    const char *tie =
        "ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00 10.00           N\n"
        "ATOM      2  CA AGLY A   1       1.000   0.000   0.000  0.50 10.00           C\n"
        "ATOM      3  CA BGLY A   1       1.100   0.000   0.000  0.50 10.00           C\n"
        "ATOM      4  C   GLY A   1       1.000   1.000   0.000  1.00 10.00           C\n"
        "ATOM      5  N  ASER A   2       2.000   1.000   0.000  0.40 10.00           N\n"
        "ATOM      6  CA ASER A   2       3.000   1.000   0.000  0.40 10.00           C\n"
        "ATOM      7  C  ASER A   2       3.000   2.000   0.000  0.40 10.00           C\n"
        "ATOM      8  N  BTHR A   2       2.000   1.000   0.000  0.60 10.00           N\n"
        "ATOM      9  CA BTHR A   2       3.000   1.000   0.500  0.60 10.00           C\n"
        "ATOM     10  C  BTHR A   2       3.000   2.000   0.000  0.60 10.00           C\n"
        "END\n";
    pd_structure s;
    CHECK(pd_structure_read(write_tmp("tie.pdb", tie, strlen(tie)), &s) == PD_OK);
    CHECK(s.n_chains == 1 && s.chains[0].n == 2);
    CHECK(s.n_chains == 1 && s.chains[0].atom14[3] == 1.0f);
    CHECK(s.n_chains == 1 && s.chains[0].n == 2 && s.chains[0].aa[1] == pd_aa_from_letter('T') &&
          s.chains[0].atom14[42 + 5] == 0.5f);
    pd_structure_free(&s);
}

int main(void)
{
    const char *shared = getenv("PD_SHARED");
    snprintf(data_dir, sizeof data_dir, "%s/data/pdb", shared ? shared : "../shared");
    if (access(data_dir, R_OK) != 0) {
        fprintf(stderr, "skip: %s not readable (set PD_SHARED)\n", data_dir);
        return 77;
    }
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    pd_entry_list e = {0};
    pd_failure_list f = {0};
    test_real_files(&e, &f);
    test_broken_inputs(&e, &f);
    pd_entry_list_clear(&e);
    pd_failure_list_clear(&f);
    free(e.items);
    free(f.items);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return pd_test_finish("test_structure");
}
