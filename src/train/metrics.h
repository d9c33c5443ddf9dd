/* metrics.h — RUN_DIR/metrics.jsonl: one JSON object per line (stage, step, loss, terms, lr,
 * grad_norm, residues_per_s, step_ms, comm_ms, val_* when evaluated), written by rank 0 and
 * flushed per line so a killed run keeps every finished step. */
#ifndef PD_TRAIN_METRICS_H
#define PD_TRAIN_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef struct pd_json_line {
    char *buf;
    size_t len, cap;
    int fields;
} pd_json_line;

void pd_json_begin(pd_json_line *j);
void pd_json_str(pd_json_line *j, const char *key, const char *value);
void pd_json_num(pd_json_line *j, const char *key, double value);   /* non-finite -> null */
void pd_json_int(pd_json_line *j, const char *key, int64_t value);
void pd_json_list(pd_json_line *j, const char *key, int n, const double *values);
/* Closes the object; the text stays in j->buf until pd_json_free. */
const char *pd_json_end(pd_json_line *j);
void pd_json_free(pd_json_line *j);

/* Rank 0: open path for appending after dropping the lines of `stage` whose step is > keep_upto
 * (a resumed run repeats the steps after its checkpoint; a fresh run passes 0). */
pd_status pd_metrics_open(const char *path, const char *stage, int64_t keep_upto, FILE **out);

#endif
