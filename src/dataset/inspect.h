/* inspect.h — a readable summary of any proteindiff HDF5 file: datasets get the full
 * validation of reader.h and a summary (entries, residues, splits, failures, length bins,
 * attributes); other proteindiff formats (checkpoints, tokens) get their attributes and a
 * listing of their datasets. */
#ifndef PD_DATASET_INSPECT_H
#define PD_DATASET_INSPECT_H

#include <stdio.h>

#include "core/error.h"

pd_status pd_inspect_file(const char *path, FILE *out);

#endif
