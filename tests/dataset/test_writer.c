/* test_writer.c — the collective writer and the reader on synthetic entries: inputs of three
 * rounds (some with no entries, some with failures, ranks owning scattered slots) are written
 * on however many ranks this runs on, read back through reader.h, and every array compared
 * with the same synthetic generator, so 1, 2 and 3 ranks must all give the global order.
 * Run plain and with gzip on /voxels/divergence (collective filtered writes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/reader.h"
#include "dataset/writer.h"
#include "parallel/comm.h"
#include "test.h"

#define V 4
#define N_ROUNDS 3
static const int slots_per_round[N_ROUNDS] = {5, 3, 6};

/* Global input number g (over all rounds) -> how many entries and failures it yields. */
static int entries_of(int g) { return g % 4 == 1 ? 0 : 1 + g % 3; }
static int failures_of(int g) { return g % 3 == 0 ? 1 : 0; }
static int length_of(int g, int e) { return 3 + (g * 7 + e * 5) % 11; }

static void make_entry(pd_entry *en, int g, int e)
{
    int L = length_of(g, e);
    memset(en, 0, sizeof *en);
    char buf[128];
    snprintf(buf, sizeof buf, "in%02d_%c", g, 'A' + e);
    en->name = strdup(buf);
    snprintf(buf, sizeof buf, "data/input_%02d.pdb", g);
    en->source = strdup(buf);
    en->length = L;
    en->voxel_size = V;
    en->aa = malloc(L);
    en->chain = malloc(L);
    en->resnum = malloc(L * sizeof(int32_t));
    en->icode = malloc(L);
    en->mask = malloc(L);
    en->atom14 = malloc(L * PD_ATOM14 * 3 * sizeof(float));
    en->cb = malloc(L * 3 * sizeof(float));
    en->voxels = malloc(L * V * V * V * sizeof(uint16_t));
    en->distogram = malloc((size_t)L * L * 3);
    for (int r = 0; r < L; r++) {
        en->aa[r] = (uint8_t)((g + r) % 21);
        en->chain[r] = (uint8_t)(r * 2 / L);
        en->resnum[r] = 1000 * g + r - 5;
        en->icode[r] = r % 7 == 3 ? 'A' : ' ';
        en->mask[r] = (uint8_t)((g + r) % 8);
        for (int k = 0; k < PD_ATOM14 * 3; k++)
            en->atom14[r * PD_ATOM14 * 3 + k] = k % 17 == 16 ? NAN : (float)(g * 100 + e * 10 + r) + 0.25f * k;
        for (int k = 0; k < 3; k++) en->cb[r * 3 + k] = (float)(g - r) * 0.5f + k;
        for (int k = 0; k < V * V * V; k++) en->voxels[r * V * V * V + k] = (uint16_t)(0x3C00 + ((g * 31 + r * 7 + k) % 1024));
    }
    for (int k = 0; k < L * L * 3; k++) en->distogram[k] = (uint8_t)(g * 13 + e * 7 + k);
}

static int owner_of(int g, int nranks) { return (g * 7 + 3) % nranks; }

static int check_file(const char *path, int n_inputs)
{
    pd_dataset *ds = NULL;
    pd_status st = pd_dataset_open(&ds, path, MPI_COMM_NULL);
    CHECK_MSG(st == PD_OK, "open %s: %s", path, pd_last_error());
    if (st != PD_OK) return 1;
    int64_t idx = 0, fidx = 0, res = 0;
    for (int g = 0; g < n_inputs; g++) {
        for (int e = 0; e < entries_of(g); e++, idx++) {
            pd_entry want, got;
            make_entry(&want, g, e);
            st = pd_dataset_read_entry(ds, idx, &got);
            CHECK_MSG(st == PD_OK, "read entry %lld: %s", (long long)idx, pd_last_error());
            if (st != PD_OK) { pd_entry_free(&want); continue; }
            int L = want.length;
            pd_entry_info info;
            pd_dataset_entry_info(ds, idx, &info);
            CHECK(info.residue_offset == res);
            CHECK(info.split == (uint8_t)(idx % 3));
            res += L;
            CHECK_MSG(!strcmp(got.name, want.name), "entry %lld name %s vs %s", (long long)idx, got.name, want.name);
            CHECK(!strcmp(got.source, want.source));
            CHECK(got.length == L);
            CHECK(!memcmp(got.aa, want.aa, L));
            CHECK(!memcmp(got.chain, want.chain, L));
            CHECK(!memcmp(got.resnum, want.resnum, L * sizeof(int32_t)));
            CHECK(!memcmp(got.icode, want.icode, L));
            CHECK(!memcmp(got.mask, want.mask, L));
            /* NaN != NaN, so compare the bits. */
            CHECK(!memcmp(got.atom14, want.atom14, L * PD_ATOM14 * 3 * sizeof(float)));
            CHECK(!memcmp(got.cb, want.cb, L * 3 * sizeof(float)));
            CHECK(!memcmp(got.voxels, want.voxels, L * V * V * V * sizeof(uint16_t)));
            CHECK(!memcmp(got.distogram, want.distogram, (size_t)L * L * 3));
            pd_entry_free(&want);
            pd_entry_free(&got);
        }
        for (int f = 0; f < failures_of(g); f++, fidx++) {
            const char *src, *reason;
            CHECK(pd_dataset_failure(ds, fidx, &src, &reason) == PD_OK);
            char want[64];
            snprintf(want, sizeof want, "data/input_%02d.pdb", g);
            CHECK(!strcmp(src, want));
            CHECK(strncmp(reason, "synthetic failure of input", 26) == 0);
            CHECK(strlen(reason) == 255 || strlen(reason) == 256); /* the long reason was cut */
        }
    }
    CHECK(pd_dataset_n_entries(ds) == idx);
    CHECK(pd_dataset_n_failures(ds) == fidx);
    CHECK(pd_dataset_n_residues(ds) == res);
    CHECK(pd_dataset_voxel_size(ds) == V);
    CHECK(!strcmp(pd_dataset_created_by(ds), "test_writer"));
    CHECK(strstr(pd_dataset_config_text(ds), "synthetic = 1;") != NULL);
    pd_dataset_close(ds);
    return 0;
}

static void write_file(const char *path, int gzip, int rank, int nranks)
{
    pd_dataset_params p = {.voxel_size = V, .voxel_cell = 0.75, .distogram_dmax = 80, .compression = gzip,
                           .name_width = 16, .source_width = 24, .config_text = "synthetic = 1;\n", .created_by = "test_writer"};
    pd_writer *w = NULL;
    pd_status st = pd_writer_create(&w, path, MPI_COMM_WORLD, &p);
    CHECK_MSG(st == PD_OK, "create: %s", pd_last_error());
    if (st != PD_OK) return;
    char partial[512];
    snprintf(partial, sizeof partial, "%s.partial", path);
    if (rank == 0) CHECK(access(partial, F_OK) == 0 && access(path, F_OK) != 0);
    int g0 = 0;
    int64_t global_entry = 0;
    char long_reason[400];
    memset(long_reason, 'x', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    for (int r = 0; r < N_ROUNDS; r++) {
        int n = slots_per_round[r];
        pd_file_output outs[16];
        pd_entry ents[16][3];
        pd_failure fails[16];
        uint8_t splits[16][3];
        char reasons[16][512];
        int k = 0;
        /* Mine in reverse slot order: the writer must sort them. */
        for (int s = n - 1; s >= 0; s--) {
            int g = g0 + s;
            if (owner_of(g, nranks) != rank) continue;
            int64_t before = global_entry;
            for (int gg = g0; gg < g; gg++) before += entries_of(gg);
            for (int e = 0; e < entries_of(g); e++) {
                make_entry(&ents[k][e], g, e);
                splits[k][e] = (uint8_t)((before + e) % 3);
            }
            snprintf(reasons[k], sizeof reasons[k], "synthetic failure of input %d %s", g, long_reason);
            char *src = malloc(32);
            snprintf(src, 32, "data/input_%02d.pdb", g);
            fails[k].source = src;
            fails[k].reason = reasons[k];
            outs[k] = (pd_file_output){.slot = s, .entries = ents[k], .n_entries = entries_of(g), .splits = splits[k],
                                       .failures = &fails[k], .n_failures = failures_of(g)};
            k++;
        }
        st = pd_writer_write_round(w, n, outs, k);
        CHECK_MSG(st == PD_OK, "round %d: %s", r, pd_last_error());
        for (int j = 0; j < k; j++) {
            for (int e = 0; e < outs[j].n_entries; e++) pd_entry_free(&ents[j][e]);
            free(fails[j].source);
        }
        for (int s = 0; s < n; s++) global_entry += entries_of(g0 + s);
        g0 += n;
    }
    pd_dataset_totals t = pd_writer_totals(w);
    CHECK(t.entries == global_entry);
    st = pd_writer_finish(w);
    CHECK_MSG(st == PD_OK, "finish: %s", pd_last_error());
    if (rank == 0) CHECK(access(partial, F_OK) != 0 && access(path, F_OK) == 0);
}

int main(int argc, char **argv)
{
    pd_mpi_init(&argc, &argv);
    int rank = pd_world_rank(), nranks = pd_world_size();
    char dir[] = "/tmp/pd_test_writer.XXXXXX";
    if (rank == 0 && !mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    int n_inputs = 0;
    for (int r = 0; r < N_ROUNDS; r++) n_inputs += slots_per_round[r];
    for (int gzip = 0; gzip <= 4; gzip += 4) {
        char path[256];
        snprintf(path, sizeof path, "%s/synthetic_gzip%d.h5", dir, gzip);
        write_file(path, gzip, rank, nranks);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) check_file(path, n_inputs);
        if (rank == 0) unlink(path);
    }
    /* A string longer than its field is refused on every rank, with the name. */
    pd_dataset_params p = {.voxel_size = V, .voxel_cell = 0.75, .distogram_dmax = 80, .name_width = 4, .source_width = 24,
                           .config_text = "", .created_by = "test_writer"};
    char path[256];
    snprintf(path, sizeof path, "%s/too_long.h5", dir);
    pd_writer *w = NULL;
    if (pd_writer_create(&w, path, MPI_COMM_WORLD, &p) == PD_OK) {
        pd_entry en;
        make_entry(&en, 2, 0);
        uint8_t split = 0;
        pd_file_output o = {.slot = 0, .entries = &en, .n_entries = 1, .splits = &split};
        pd_status st = pd_writer_write_round(w, 1, &o, rank == 0 ? 1 : 0);
        CHECK(st != PD_OK);
        CHECK_MSG(strstr(pd_last_error(), "in02_A") != NULL, "message: %s", pd_last_error());
        pd_entry_free(&en);
        pd_writer_abort(w);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        char partial[300];
        snprintf(partial, sizeof partial, "%s.partial", path);
        unlink(partial);
        rmdir(dir);
    }
    int failed = 0, any = 0;
    failed = pd_test_failures;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    pd_test_failures = any;
    int code = pd_test_finish(rank == 0 ? "test_writer" : "test_writer (rank > 0)");
    pd_mpi_finalize();
    return code;
}
