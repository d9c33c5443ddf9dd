/* test_h5file.c — the output-file protocol of src/dataset/h5file.h on every rank of the run:
 * a file is NAME.partial with complete = 0 until finish, then NAME with complete = 1; a failing
 * rank leaves only NAME.partial on every rank; and the open-verified check refuses another
 * format, another version, an unfinished file and another stage with messages naming each. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "parallel/comm.h"
#include "test.h"

static const pd_h5_expect want = {.format = "proteindiff-test", .version = 3, .what = "test file", .stage = "sc_vae",
                                  .remedy = "write it again"};

/* Expect pd_h5_open_verified(path, e) to fail with a message containing `text`. */
static void expect_refused(const char *path, const pd_h5_expect *e, const char *text)
{
    hid_t f = -1;
    pd_status st = pd_h5_open_verified(path, e, &f);
    CHECK_MSG(st == PD_ERR_FORMAT && f < 0, "%s: status %d", text, (int)st);
    CHECK_MSG(strstr(pd_last_error(), text) != NULL, "message '%s' lacks '%s'", pd_last_error(), text);
    CHECK_MSG(strstr(pd_last_error(), path) != NULL, "message '%s' lacks the path", pd_last_error());
    pd_clear_error();
}

/* Write a file with the protocol; the root attribute "stage" = sc_vae; `fail_rank` fails. */
static pd_status write_one(const char *path, int fail_rank, int rank)
{
    pd_h5_output out;
    PD_TRY(pd_h5_output_create(&out, path, PD_H5_PARTIAL_SUFFIX, PD_H5_COLLECTIVE_METADATA, MPI_COMM_WORLD));
    CHECK(out.file >= 0 && strstr(out.partial, ".partial") != NULL);
    pd_status st = pd_h5_output_stamp(&out, want.format, want.version, "test_h5file", "run file text");
    if (st == PD_OK) st = pd_h5_attr_write_string(out.file, "stage", "sc_vae");
    st = pd_agree(MPI_COMM_WORLD, st);
    /* Before finish: only the partial name exists, and it is unfinished. */
    MPI_Barrier(MPI_COMM_WORLD);
    char partial[512];
    snprintf(partial, sizeof partial, "%s%s", path, PD_H5_PARTIAL_SUFFIX);
    if (rank == 0) CHECK(access(partial, F_OK) == 0 && access(path, F_OK) != 0);
    if (st == PD_OK && rank == fail_rank) st = pd_fail(PD_ERR_IO, "rank %d fails on purpose", rank);
    return pd_h5_output_finish(&out, st);
}

int main(int argc, char **argv)
{
    pd_mpi_init(&argc, &argv);
    pd_h5_quiet();
    const int rank = pd_world_rank();
    char dir[] = "/tmp/pd_test_h5file.XXXXXX";
    if (rank == 0 && !mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    char path[256], partial[300];
    snprintf(path, sizeof path, "%s/good.h5", dir);
    snprintf(partial, sizeof partial, "%s.partial", path);

    /* 1. A finished file: renamed, complete, and accepted by open-verified. */
    pd_status st = write_one(path, -1, rank);
    CHECK_MSG(st == PD_OK, "write: %s", pd_last_error());
    if (rank == 0) {
        CHECK(access(path, F_OK) == 0 && access(partial, F_OK) != 0);
        hid_t f = -1;
        st = pd_h5_open_verified(path, &want, &f);
        CHECK_MSG(st == PD_OK && f >= 0, "open-verified: %s", pd_last_error());
        long long complete = 0;
        char *created = NULL, *config = NULL;
        CHECK(pd_h5_attr_read_int(f, "complete", &complete) == PD_OK && complete == 1);
        CHECK(pd_h5_attr_read_string(f, "created_by", &created) == PD_OK && !strcmp(created, "test_h5file"));
        CHECK(pd_h5_attr_read_string(f, "config", &config) == PD_OK && !strcmp(config, "run file text"));
        free(created);
        free(config);
        if (f >= 0) H5Fclose(f);

        /* 2. What a reader refuses, each with its own message. */
        pd_h5_expect other = want;
        other.format = "proteindiff-other";
        expect_refused(path, &other, "format is \"proteindiff-test\", expected \"proteindiff-other\"");
        other = want;
        other.version = 4;
        expect_refused(path, &other, "test file format version 3, this proteindiff reads version 4");
        other = want;
        other.stage = "bb_vae";
        expect_refused(path, &other, "stage \"sc_vae\", expected stage \"bb_vae\"");
        other.stage = NULL;
        CHECK(pd_h5_open_verified(path, &other, &f) == PD_OK);
        if (f >= 0) H5Fclose(f);
        f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        CHECK(f >= 0 && pd_h5_attr_write_int(f, "complete", 0) == PD_OK);
        if (f >= 0) H5Fclose(f);
        expect_refused(path, &want, "incomplete test file (no 'complete = 1' attribute): write it again");
        unlink(path);
        CHECK(pd_h5_open_verified(path, &want, &f) == PD_ERR_IO && f < 0);
        CHECK_MSG(strstr(pd_last_error(), path) != NULL, "message: %s", pd_last_error());
        pd_clear_error();
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* 3. One failing rank: every rank gets the failure, only NAME.partial is left. */
    st = write_one(path, pd_world_size() - 1, rank);
    CHECK(st != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "fails on purpose") != NULL, "message: %s", pd_last_error());
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        CHECK(access(path, F_OK) != 0 && access(partial, F_OK) == 0);
        unlink(partial);
        rmdir(dir);
    }
    /* 4. A folder that does not exist: refused on every rank, naming the file. */
    snprintf(path, sizeof path, "%s/no/such/folder/x.h5", dir);
    pd_h5_output out;
    st = pd_h5_output_create(&out, path, PD_H5_PARTIAL_SUFFIX, PD_H5_COLLECTIVE_METADATA, MPI_COMM_WORLD);
    CHECK(st == PD_ERR_IO && out.file < 0);
    CHECK_MSG(strstr(pd_last_error(), "x.h5.partial") != NULL, "message: %s", pd_last_error());
    int any = 0;
    MPI_Allreduce(&pd_test_failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    pd_test_failures = any;
    const int code = pd_test_finish(rank == 0 ? "test_h5file" : "test_h5file (rank > 0)");
    pd_mpi_finalize();
    return code;
}
