/* split.h — the train/valid/test assignment of SPEC.md section 6: a stable hash split by
 * entry name (FNV-1a-64), or an explicit list from `data.split_file`. */
#ifndef PD_FEATURES_SPLIT_H
#define PD_FEATURES_SPLIT_H

#include <stdint.h>

#include "core/error.h"

typedef enum { PD_SPLIT_TRAIN = 0, PD_SPLIT_VALID = 1, PD_SPLIT_TEST = 2 } pd_split;

/* The entry name's position in [0, 1): u = (h >> 11) * 2^-53 with h = FNV-1a-64 of the name's
 * bytes (no terminator), i.e. h / 2^64 truncated to 53 bits so that u < 1 exactly. */
double pd_split_unit(const char *name);
/* u < 1 - valid - test -> train; u < 1 - test -> valid; else test. */
pd_split pd_split_by_hash(const char *name, double valid_fraction, double test_fraction);
const char *pd_split_name(pd_split s);   /* "train", "valid", "test" */

/* An explicit assignment read from a split file: lines `<entry name> train|valid|test`
 * (whitespace separated), blank lines and '#' comments ignored. */
typedef struct pd_split_table {
    int n;
    char **names;        /* sorted */
    uint8_t *splits;
} pd_split_table;

/* Errors name the file and line: unknown split word, missing field, a name listed twice with
 * different splits. */
pd_status pd_split_table_load(const char *path, pd_split_table *t);
void pd_split_table_free(pd_split_table *t);
/* The listed split of a name, or -1 when the file does not list it. */
int pd_split_table_find(const pd_split_table *t, const char *name);
/* Split of an entry: the table's value when t lists it, else the hash split (names missing
 * from a split file are split by hash). t may be NULL. */
pd_split pd_split_assign(const pd_split_table *t, const char *name, double valid_fraction, double test_fraction);

#endif
