/* inputs.h — what a featurize run reads: rank 0 expands data.inputs (files, folders walked
 * recursively, globs, list files) into one sorted list of structure files with their expected
 * work, cuts it into rounds, cuts each round into one contiguous run per rank balanced by
 * expected work, and broadcasts the list and the assignment. */
#ifndef PD_DATASET_INPUTS_H
#define PD_DATASET_INPUTS_H

#include <mpi.h>
#include <stdint.h>

#include "core/error.h"

typedef struct pd_input {
    char *path;
    int64_t bytes;  /* size on disk */
    int64_t work;   /* expected work: bytes, times PD_GZIP_WORK_FACTOR for .gz */
} pd_input;

typedef struct pd_input_list {
    pd_input *items;
    int n, cap;
} pd_input_list;

/* Uncompressed-size estimate for gzipped structures. */
#define PD_GZIP_WORK_FACTOR 4

/* True for names ending in .pdb .ent .cif .mmcif, optionally followed by .gz (any case). */
int pd_input_is_structure_name(const char *name);
/* True for list files: *.txt or *.list. */
int pd_input_is_list_name(const char *name);

/* Expand the patterns into `out` (appending), sorted by path with duplicates removed.
 * Explicitly named files are taken whatever their extension; inside folders only structure
 * files are. List files name one path per line (blank lines and '#' comments skipped),
 * relative to the list file's folder. */
pd_status pd_inputs_expand(int n_patterns, char *const *patterns, pd_input_list *out);
void pd_inputs_free(pd_input_list *l);

/* Contiguous balance: items [0, n) with `work` (0 counts as 1) are cut into at most `nranks`
 * consecutive runs, run r going to rank r (owner[] is non-decreasing), with the smallest
 * possible largest run; each run is filled greedily from the left up to that bound. A rank
 * owning one run of the round writes one hyperslab per dataset (docs/dataset-format.md,
 * figures: scattered ownership made HDF5 map irregular selections element by element). */
void pd_inputs_partition(const int64_t *work, int n, int nranks, int *owner);
/* Rounds of `per_round` files per rank: round r covers sorted items [r*G, (r+1)*G) with
 * G = per_round * nranks, partitioned within the round. Fills owner[0..n). */
void pd_inputs_assign_rounds(const pd_input_list *l, int nranks, int per_round, int *owner);

/* Collective: rank 0's list (and `owner`, n ints, when not NULL) reach every rank. */
pd_status pd_inputs_bcast(MPI_Comm comm, pd_input_list *l, int **owner, int root);

#endif
