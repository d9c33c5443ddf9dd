/* export.h — a dataset out to files people and other tools read: each entry's distogram
 * image as an RGB PNG in length-bin folders (SPEC.md section 3), and the sequences as FASTA. */
#ifndef PD_DATASET_EXPORT_H
#define PD_DATASET_EXPORT_H

#include <stdint.h>

#include "core/error.h"
#include "dataset/reader.h"

/* SPEC.md section 3 length bins: (40,64), (65,128), then 64 wide up to (961,1024), continued
 * 64 wide beyond 1024; lengths under 40 fall in (1,39). */
void pd_length_bin(int length, int *lo, int *hi);

/* One RGB image (height rows of width·3 bytes, 8 bit) as a PNG file. */
pd_status pd_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

/* Write DIR/bin_<lo>_<hi>/<name>.png (L x L, RGB, 8 bit) for every entry. */
pd_status pd_export_png(pd_dataset *ds, const char *dir, int64_t *written);
/* Write one record per entry: ">name length=L source=PATH", then the sequence on one line
 * (one-letter codes, X unknown, chains separated by '/'). */
pd_status pd_export_fasta(pd_dataset *ds, const char *file, int64_t *written);

#endif
