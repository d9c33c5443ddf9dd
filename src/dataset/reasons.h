/* reasons.h — failure reasons grouped into kinds for summaries ("N residues < min_len N"
 * rather than one line per chain), used by the featurize summary and by inspect. */
#ifndef PD_DATASET_REASONS_H
#define PD_DATASET_REASONS_H

#include <stddef.h>

/* The kind of a reason: a leading "chain X: " or "assembly: " is dropped, digit runs become
 * 'N', and text from the first " (" on is cut. */
void pd_reason_kind(const char *reason, char *kind, size_t len);

typedef struct pd_reason_tally {
    int n, cap;
    char **kinds;
    long *counts;
} pd_reason_tally;

void pd_reason_tally_add(pd_reason_tally *t, const char *reason);
/* Sort by count (descending, then by kind) for printing. */
void pd_reason_tally_sort(pd_reason_tally *t);
void pd_reason_tally_free(pd_reason_tally *t);

#endif
