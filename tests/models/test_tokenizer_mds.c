/* test_tokenizer_mds.c — the structure check behind the tokenizer's reconstructions: classical
 * MDS recovers real Cβ coordinates from their exact distance matrix (RMSD ≈ 0 after Kabsch, the
 * mirror image allowed and reported), its error grows with distance noise, Kabsch itself is
 * right on rotated / reflected copies, and a true distogram image (uint8, 0.31 Å bins) comes
 * back within the quantisation error. Real chains of $PD_SHARED/data/pdb. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "features/mds.h"
#include "test.h"
#include "tokenizer_chains.h"

/* The valid residues' Cβ as doubles [n*3]; returns n. */
static int valid_cb(const tok_chain *c, double *xyz)
{
    int n = 0;
    for (int i = 0; i < c->L; i++)
        if (c->valid[i]) {
            for (int k = 0; k < 3; k++) xyz[n * 3 + k] = c->cb[i * 3 + k];
            n++;
        }
    return n;
}

static void distances(int n, const double *x, double *d)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += (x[i * 3 + k] - x[j * 3 + k]) * (x[i * 3 + k] - x[j * 3 + k]);
            d[(size_t)i * n + j] = sqrt(s);
        }
}

/* RMSD comes from sqrt((Σ|x|² + Σ|y|² − 2Σσ)/n): cancellation leaves ~1e-6 Å for chains spanning
 * tens of Å, so "zero" is tested as < 1e-5 Å. */
static void check_kabsch(int n, const double *x)
{
    /* A proper rotation (about a random-ish axis) plus a translation, then its mirror image. */
    double *y = malloc((size_t)n * 3 * sizeof *y);
    const double a = 0.7, b = -1.1, cz = 0.4;
    const double r[9] = {cos(a) * cos(b), cos(a) * sin(b) * sin(cz) - sin(a) * cos(cz), cos(a) * sin(b) * cos(cz) + sin(a) * sin(cz),
                         sin(a) * cos(b), sin(a) * sin(b) * sin(cz) + cos(a) * cos(cz), sin(a) * sin(b) * cos(cz) - cos(a) * sin(cz),
                         -sin(b), cos(b) * sin(cz), cos(b) * cos(cz)};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            y[i * 3 + k] = r[k * 3] * x[i * 3] + r[k * 3 + 1] * x[i * 3 + 1] + r[k * 3 + 2] * x[i * 3 + 2] + 10.0 * (k + 1);
    int mirrored = -1;
    double rmsd = pd_kabsch_rmsd(n, x, y, 1, &mirrored);
    CHECK_MSG(rmsd < 1e-5 && mirrored == 0, "rotated copy: rmsd %.3g, mirrored %d", rmsd, mirrored);
    for (int i = 0; i < n; i++) y[i * 3] = -y[i * 3];
    rmsd = pd_kabsch_rmsd(n, x, y, 1, &mirrored);
    const double proper = pd_kabsch_rmsd(n, x, y, 0, NULL);
    printf("  Kabsch: mirrored copy rmsd %.2e (reflection allowed, mirrored = %d), %.2f Å without reflection\n", rmsd,
           mirrored, proper);
    CHECK_MSG(rmsd < 1e-5 && mirrored == 1, "mirrored copy: rmsd %.3g, mirrored %d", rmsd, mirrored);
    CHECK_MSG(proper > 1.0, "a mirror image cannot be superposed by a rotation, got %.3g Å", proper);
    free(y);
}

static void check_chain(const char *file, int chain, double noise_rmsd_cap)
{
    tok_chain c;
    CHECK_MSG(tok_chain_load(file, chain, 0, &c), "loading %s", file);
    if (!c.L) return;
    double *x = malloc((size_t)c.L * 3 * sizeof *x), *y = malloc((size_t)c.L * 3 * sizeof *y);
    double *d = malloc((size_t)c.L * c.L * sizeof *d), *dn = malloc((size_t)c.L * c.L * sizeof *dn);
    const int n = valid_cb(&c, x);
    distances(n, x, d);
    double eig[3];
    CHECK_MSG(pd_mds(n, d, y, eig) == PD_OK, "%s", pd_last_error());
    int mirrored = -1;
    const double rmsd = pd_kabsch_rmsd(n, y, x, 1, &mirrored);
    printf("%s: %d residues, exact distances: MDS Cβ RMSD %.2e Å (mirror image: %s), eigenvalues %.0f %.0f %.0f\n", file,
           n, rmsd, mirrored ? "yes" : "no", eig[0], eig[1], eig[2]);
    CHECK_MSG(rmsd < 1e-5, "%s: exact distances give RMSD %.3g", file, rmsd);
    CHECK(eig[0] >= eig[1] && eig[1] >= eig[2] && eig[2] > 0);
    check_kabsch(n, x);

    /* Symmetric Gaussian noise of σ Å on every distance: the recovered structure degrades with σ. */
    const double sigmas[4] = {0.25, 1.0, 4.0, 16.0};
    double prev = 0;
    for (int s = 0; s < 4; s++) {
        pd_rng r;
        pd_rng_init(&r, 7, (uint64_t)s, 0, PD_RNG_NOISE);
        for (int i = 0; i < n; i++) {
            dn[(size_t)i * n + i] = 0;
            for (int j = 0; j < i; j++) {
                double v = d[(size_t)i * n + j] + sigmas[s] * pd_rng_normal(&r);
                dn[(size_t)i * n + j] = dn[(size_t)j * n + i] = v > 0 ? v : 0;
            }
        }
        CHECK(pd_mds(n, dn, y, NULL) == PD_OK);
        const double e = pd_kabsch_rmsd(n, y, x, 1, NULL);
        printf("  distance noise σ = %5.2f Å -> Cβ RMSD %.3f Å\n", sigmas[s], e);
        CHECK_MSG(e > prev, "RMSD should grow with the noise: σ %.2f gives %.3f after %.3f", sigmas[s], e, prev);
        if (s == 0) CHECK_MSG(e < noise_rmsd_cap, "σ 0.25 Å noise gives RMSD %.3f >= %.3f", e, noise_rmsd_cap);
        prev = e;
    }

    /* The true distogram image through the reconstruction metric: only pixel quantisation left. */
    pd_structure_check chk;
    CHECK_MSG(pd_distogram_structure_check(c.img, c.L, c.cb, c.valid, &chk) == PD_OK, "%s", pd_last_error());
    printf("  true image: Cβ RMSD %.3f Å (mirrored %d, %.2f Å without reflection), pairs under 1 Å: %.4f "
           "(image distances %.4f), image MAE %.3f Å\n",
           chk.rmsd, chk.mirrored, chk.rmsd_proper, chk.frac_pairs_1a, chk.frac_image_pairs_1a, chk.image_mae);
    CHECK_MSG(chk.residues == n, "%d residues checked, %d valid", chk.residues, n);
    /* Truncation bins are 80/255 = 0.314 Å wide: the mid-bin error is uniform in ±0.157 Å. */
    CHECK_MSG(chk.image_mae < 0.1, "image distances MAE %.3f Å (quantisation alone gives ~0.08)", chk.image_mae);
    free(x);
    free(y);
    free(d);
    free(dn);
    tok_chain_free(&c);
}

int main(void)
{
    if (!tok_have_pdb()) {
        printf("SKIP: no $PD_SHARED/data/pdb\n");
        return 77;
    }
    check_chain("1CRN.cif", 0, 0.5);     /* crambin, 46 residues */
    check_chain("1acj.pdb", 0, 0.5);     /* acetylcholinesterase, 528 residues: LAPACK at a realistic size */
    return pd_test_finish("test_tokenizer_mds");
}
