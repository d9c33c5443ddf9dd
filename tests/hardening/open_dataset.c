/* open_dataset.c — opens each dataset named on the command line the way the training engine
 * will (pd_dataset_open on MPI_COMM_WORLD, collectively, then every entry read) and prints one
 * line per file: "OPEN <path>" when everything read, else "REFUSED <path>: <message>". Used by
 * tests/hardening/lying_h5.py; the exit code is the number of refused files. */
#include <stdio.h>

#include "dataset/reader.h"
#include "parallel/comm.h"

static pd_status read_all_entries(pd_dataset *ds)
{
    for (int64_t i = 0; i < pd_dataset_n_entries(ds); i++) {
        pd_entry e;
        PD_TRY(pd_dataset_read_entry(ds, i, &e));
        pd_entry_free(&e);
    }
    return PD_OK;
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) {
        fprintf(stderr, "open_dataset: %s\n", pd_last_error());
        return 100;
    }
    int refused = 0, rank = pd_world_rank();
    for (int i = 1; i < argc; i++) {
        pd_dataset *ds = NULL;
        pd_status st = pd_dataset_open(&ds, argv[i], MPI_COMM_WORLD);
        if (st == PD_OK) {
            st = read_all_entries(ds);
            pd_dataset_close(ds);
        }
        /* Every rank must come to the same verdict (the file is the same for all). */
        st = pd_agree(MPI_COMM_WORLD, st);
        if (rank == 0) {
            if (st == PD_OK) printf("OPEN %s\n", argv[i]);
            else printf("REFUSED %s: %s\n", argv[i], pd_last_error());
            fflush(stdout);
        }
        refused += st != PD_OK;
        pd_clear_error();
    }
    pd_mpi_finalize();
    return refused;
}
