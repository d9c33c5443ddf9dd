/* conv_refdata.h — reads the reference arrays that tests/reference/nn_conv_reference.py writes
 * (format "PDREF001", documented in that script) and compares our results against them. */
#ifndef PD_TEST_CONV_REFDATA_H
#define PD_TEST_CONV_REFDATA_H

#include <stdint.h>

#include "core/error.h"

typedef struct ref_array {
    char name[128];
    int ndim;
    int64_t shape[8];
    int64_t numel;
    float *data;
} ref_array;

typedef struct ref_file {
    int n;
    ref_array *arrays;
} ref_file;

pd_status ref_load(const char *path, ref_file *f);
void ref_free(ref_file *f);
/* The array "<case>.<what>", or NULL after printing that it is missing. */
const ref_array *ref_get(const ref_file *f, const char *case_name, const char *what);

/* Relative error max|got − ref| / max|ref| over n values (0 when both are all zero). */
double ref_rel_error(const float *got, const float *ref, int64_t n);

#endif
