/* tokenizer_image.c — between distogram images (SPEC §3, uint8 L×L×3) and the tokenizer's
 * input/output tensors: the §7 per-channel normalisation, zero padding to a square side that
 * is a multiple of 2^levels, the way back to uint8, and the valid-pixel/token counts that
 * normalise the loss. */
#include "models/tokenizer.h"

#include <math.h>
#include <string.h>

int pd_tokenizer_side(const pd_tokenizer_config *c, int max_len)
{
    const int unit = 1 << c->levels;
    if (max_len < 1) max_len = 1;
    return (max_len + unit - 1) / unit * unit;
}

pd_status pd_tokenizer_prepare(const uint8_t *const *images, const int32_t *lengths, int n, int side, float *out)
{
    const int64_t plane = (int64_t)side * side;
    for (int b = 0; b < n; b++) {
        const int L = lengths[b];
        if (L < 1 || L > side)
            return pd_fail(PD_ERR_USAGE, "tokenizer: image %d has length %d, outside 1..%d (the batch side)", b, L, side);
        float *o = out + (int64_t)b * 3 * plane;
        memset(o, 0, (size_t)(3 * plane) * sizeof *o);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++) {
                    const float v = (float)images[b][((int64_t)i * L + j) * 3 + c] / 255.0f;
                    o[c * plane + (int64_t)i * side + j] = (v - pd_tokenizer_mean[c]) / pd_tokenizer_std[c];
                }
    }
    return PD_OK;
}

void pd_tokenizer_to_uint8(const pd_real *recon, const int32_t *lengths, int n, int side, uint8_t *const *out)
{
    const int64_t plane = (int64_t)side * side;
    for (int b = 0; b < n; b++) {
        const int L = lengths[b];
        const pd_real *x = recon + (int64_t)b * 3 * plane;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++) {
                    double v = ((double)x[c * plane + (int64_t)i * side + j] * pd_tokenizer_std[c] + pd_tokenizer_mean[c]) * 255.0;
                    v = v < 0 ? 0 : v > 255 ? 255 : v;
                    out[b][((int64_t)i * L + j) * 3 + c] = (uint8_t)lround(v);
                }
    }
}

void pd_tokenizer_count(const pd_tokenizer_config *c, const int32_t *lengths, int n, int side, pd_tokenizer_norm *out)
{
    memset(out, 0, sizeof *out);
    (void)side;
    for (int b = 0; b < n; b++) {
        out->pixels += (double)lengths[b] * lengths[b];
        for (int l = 0; l < c->levels; l++) {
            const int64_t ext = (lengths[b] + ((int64_t)1 << (l + 1)) - 1) >> (l + 1);
            out->tokens[l] += (double)(ext * ext);
        }
    }
}

void pd_tokenizer_channel_errors(const pd_real *recon, const pd_real *target, int channels_last, const int32_t *lengths,
                                 int n, int side, double sum[4], double count[4])
{
    const int64_t plane = (int64_t)side * side;
    for (int b = 0; b < n; b++)
        for (int i = 0; i < lengths[b]; i++)
            for (int j = 0; j < lengths[b]; j++) {
                const int64_t p = (int64_t)i * side + j;
                for (int c = 0; c < 3; c++) {
                    const int64_t at = channels_last ? (b * plane + p) * 3 + c : (b * 3 + c) * plane + p;
                    const double dv = fabs((double)recon[at] - (double)target[at]) * pd_tokenizer_std[c];
                    int what;       /* 0 distance, 1 omega, 2 theta, 3 phi */
                    double err;
                    if (c == 0 && i >= j) {
                        what = 0;
                        err = 80.0 * dv;
                    } else if (c == 2) {
                        what = 3;
                        err = 180.0 * dv;
                    } else {
                        what = c == 0 ? 1 : 2;
                        err = fmod(360.0 * dv, 360.0);
                        if (err > 180.0) err = 360.0 - err;
                    }
                    sum[what] += err;
                    count[what] += 1;
                }
            }
}
