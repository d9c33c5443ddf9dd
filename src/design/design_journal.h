/* design_journal.h — resuming `design`: while designing, each rank appends every finished
 * structure (its FASTA records and, with --probs, its packed distribution) to its own file in
 * OUT.parts/, flushed to disk; a run that is killed leaves them behind, and the next run with the
 * same --out and the same settings reads them and designs only the structures not in them. The
 * folder is removed once OUT is written. */
#ifndef PD_DESIGN_DESIGN_JOURNAL_H
#define PD_DESIGN_DESIGN_JOURNAL_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "design/run_common.h"

typedef struct pd_journal_entry {
    const char *path;          /* the structure file */
    size_t path_len;
    const char *fasta, *probs; /* its FASTA records and packed distribution (probs_len 0: none) */
    size_t fasta_len, probs_len;
} pd_journal_entry;

/* Append one structure's frame to `out`. */
void pd_journal_frame(pd_text *out, const char *path, const char *fasta, size_t fasta_len, const char *probs,
                      size_t probs_len);

/* Call fn for every complete frame of buf (a frame cut short by a kill ends the parse). Returns
 * the number of frames. */
int pd_journal_parse(const char *buf, size_t len, void (*fn)(const pd_journal_entry *e, void *arg), void *arg);

/* Rank 0: the frames of every journal file in `dir` (a missing folder is no journal) into *all,
 * and in *next_run a number no file there uses yet. A file written with other settings is an
 * error naming it and both settings. */
pd_status pd_journal_load(const char *dir, const char *settings, pd_text *all, int *next_run, int *files);

/* This rank's new journal file dir/r<rank>-<run>.journal, with its settings header (rank 0 makes
 * the folder first). */
pd_status pd_journal_open(const char *dir, int rank, int run, const char *settings, FILE **f);
/* Write one frame and flush it to disk (fsync). */
pd_status pd_journal_append(FILE *f, const char *dir, const pd_text *frame);
/* Remove dir's journal files and the folder. */
void pd_journal_remove(const char *dir);

#endif
