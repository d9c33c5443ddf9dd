/* mds.c — classical MDS (top-3 eigenpairs of the double-centred squared-distance matrix through
 * OpenBLAS's LAPACK dsyevr), Kabsch RMSD, and the distogram-image structure check that the
 * tokenizer's reconstructions are judged by (Cβ RMSD, fraction of pairs under 1 Å). */
#include "features/mds.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (Fortran ABI, exported by OpenBLAS; no lapacke.h needed). The trailing size_t
 * arguments are gfortran's hidden lengths of the three character arguments. */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t jobz_len, size_t range_len, size_t uplo_len);

/* Eigenpairs il..iu (1-based, ascending) of the symmetric n×n matrix a (destroyed). */
static pd_status symmetric_eigen(int n, double *a, int il, int iu, double *w, double *z)
{
    const double zero = 0, abstol = 0;
    int found = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0;
    int *isuppz = malloc((size_t)(2 * n) * sizeof *isuppz);
    if (!isuppz) return pd_fail(PD_ERR_NOMEM, "mds: out of memory for %d eigenvectors", n);
    dsyevr_("V", "I", "U", &n, a, &n, &zero, &zero, &il, &iu, &abstol, &found, w, z, &n, isuppz, &work_query, &lwork,
            &iwork_query, &liwork, &info, 1, 1, 1);
    lwork = (int)work_query;
    liwork = iwork_query;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        free(isuppz);
        return pd_fail(PD_ERR_NOMEM, "mds: out of memory for the LAPACK workspace (n = %d)", n);
    }
    dsyevr_("V", "I", "U", &n, a, &n, &zero, &zero, &il, &iu, &abstol, &found, w, z, &n, isuppz, work, &lwork, iwork,
            &liwork, &info, 1, 1, 1);
    free(work);
    free(iwork);
    free(isuppz);
    if (info != 0 || found != iu - il + 1)
        return pd_fail(PD_ERR_UNSUPPORTED, "mds: LAPACK dsyevr failed (info %d, %d of %d eigenpairs) on a %d×%d matrix",
                       info, found, iu - il + 1, n, n);
    return PD_OK;
}

pd_status pd_mds(int n, const double *dist, double *coords, double eig[3])
{
    if (n < 3) return pd_fail(PD_ERR_USAGE, "mds: need at least 3 points, got %d", n);
    double *b = malloc((size_t)n * n * sizeof *b), *row = malloc((size_t)n * sizeof *row);
    double *z = malloc((size_t)n * 3 * sizeof *z);
    if (!b || !row || !z) {
        free(b);
        free(row);
        free(z);
        return pd_fail(PD_ERR_NOMEM, "mds: out of memory for a %d×%d matrix", n, n);
    }
    /* B = −½ (D² − row means − column means + grand mean); D is symmetric so row = column means. */
    double grand = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += dist[(size_t)i * n + j] * dist[(size_t)i * n + j];
        row[i] = s / n;
        grand += s;
    }
    grand /= (double)n * n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const double d2 = dist[(size_t)i * n + j] * dist[(size_t)i * n + j];
            b[(size_t)i * n + j] = -0.5 * (d2 - row[i] - row[j] + grand);
        }
    double w[3];
    pd_status s = symmetric_eigen(n, b, n - 2, n, w, z);
    if (s == PD_OK)
        for (int k = 0; k < 3; k++) {
            const double lambda = w[2 - k], scale = sqrt(lambda > 0 ? lambda : 0);
            if (eig) eig[k] = lambda;
            for (int i = 0; i < n; i++) coords[i * 3 + k] = z[(size_t)(2 - k) * n + i] * scale;
        }
    free(b);
    free(row);
    free(z);
    return s;
}

double pd_kabsch_rmsd(int n, const double *a, const double *b, int allow_mirror, int *mirrored)
{
    double ca[3] = {0}, cb[3] = {0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            ca[k] += a[i * 3 + k] / n;
            cb[k] += b[i * 3 + k] / n;
        }
    double h[9] = {0}, ga = 0, gb = 0;
    for (int i = 0; i < n; i++) {
        double x[3], y[3];
        for (int k = 0; k < 3; k++) {
            x[k] = a[i * 3 + k] - ca[k];
            y[k] = b[i * 3 + k] - cb[k];
            ga += x[k] * x[k];
            gb += y[k] * y[k];
        }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) h[r * 3 + c] += x[r] * y[c];
    }
    /* Singular values of H = square roots of the eigenvalues of HᵀH. */
    double hth[9], w[3], z[9];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += h[k * 3 + r] * h[k * 3 + c];
            hth[r * 3 + c] = s;
        }
    if (symmetric_eigen(3, hth, 1, 3, w, z) != PD_OK) return NAN;
    const double s3 = sqrt(w[0] > 0 ? w[0] : 0), s2 = sqrt(w[1] > 0 ? w[1] : 0), s1 = sqrt(w[2] > 0 ? w[2] : 0);
    const double det = h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) +
                       h[2] * (h[3] * h[7] - h[4] * h[6]);
    const int reflect = det < 0;   /* the best orthogonal map is improper */
    if (mirrored) *mirrored = allow_mirror && reflect;
    const double sum = s1 + s2 + (reflect && !allow_mirror ? -s3 : s3);
    const double msd = (ga + gb - 2 * sum) / n;
    return sqrt(msd > 0 ? msd : 0);
}

void pd_distogram_distances(const uint8_t *img, int L, double *dist)
{
    for (int i = 0; i < L; i++) {
        dist[(size_t)i * L + i] = 0;
        for (int j = 0; j < i; j++) {
            double d = (img[((size_t)i * L + j) * 3] + 0.5) * 80.0 / 255.0;
            if (d > 80) d = 80;
            dist[(size_t)i * L + j] = dist[(size_t)j * L + i] = d;
        }
    }
}

pd_status pd_distogram_structure_check(const uint8_t *img, int L, const float *cb, const uint8_t *valid,
                                       pd_structure_check *out)
{
    memset(out, 0, sizeof *out);
    int *use = malloc((size_t)L * sizeof *use);
    if (!use) return pd_fail(PD_ERR_NOMEM, "structure check: out of memory");
    int n = 0;
    for (int i = 0; i < L; i++)
        if (valid[i] && !isnan(cb[i * 3]) && !isnan(cb[i * 3 + 1]) && !isnan(cb[i * 3 + 2])) use[n++] = i;
    if (n < 4) {
        free(use);
        return pd_fail(PD_ERR_USAGE, "structure check: %d valid residues, need at least 4", n);
    }
    double *full = malloc((size_t)L * L * sizeof *full), *d = malloc((size_t)n * n * sizeof *d);
    double *x = malloc((size_t)n * 3 * sizeof *x), *y = malloc((size_t)n * 3 * sizeof *y);
    if (!full || !d || !x || !y) {
        free(use);
        free(full);
        free(d);
        free(x);
        free(y);
        return pd_fail(PD_ERR_NOMEM, "structure check: out of memory for L = %d", L);
    }
    pd_distogram_distances(img, L, full);
    for (int a = 0; a < n; a++) {
        for (int k = 0; k < 3; k++) y[a * 3 + k] = cb[use[a] * 3 + k];
        for (int b = 0; b < n; b++) d[(size_t)a * n + b] = full[(size_t)use[a] * L + use[b]];
    }
    pd_status s = pd_mds(n, d, x, NULL);
    if (s == PD_OK) {
        out->residues = n;
        out->rmsd = pd_kabsch_rmsd(n, x, y, 1, &out->mirrored);
        out->rmsd_proper = pd_kabsch_rmsd(n, x, y, 0, NULL);
        int64_t pairs = 0, good = 0, good_img = 0, near = 0;
        double abs_err = 0;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) {
                double dt = 0, dm = 0;
                for (int k = 0; k < 3; k++) {
                    dt += (y[a * 3 + k] - y[b * 3 + k]) * (y[a * 3 + k] - y[b * 3 + k]);
                    dm += (x[a * 3 + k] - x[b * 3 + k]) * (x[a * 3 + k] - x[b * 3 + k]);
                }
                dt = sqrt(dt);
                dm = sqrt(dm);
                const double di = d[(size_t)a * n + b];
                pairs++;
                good += fabs(dm - dt) < 1.0;
                good_img += fabs(di - dt) < 1.0;
                if (dt < 80) {
                    near++;
                    abs_err += fabs(di - dt);
                }
            }
        out->pairs = pairs;
        out->frac_pairs_1a = (double)good / (double)pairs;
        out->frac_image_pairs_1a = (double)good_img / (double)pairs;
        out->image_mae = near ? abs_err / (double)near : 0;
    }
    free(use);
    free(full);
    free(d);
    free(x);
    free(y);
    return s;
}
