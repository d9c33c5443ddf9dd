/* featurize.c — pd_featurize_file: structure file -> entries (entry.h) or recorded failures.
 * The order of work per unit is: residue arrays and masks, virtual CB and frames, distogram,
 * voxels; timings go to the optional stats for progress lines and benchmarks. */
#include "features/featurize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "features/distogram.h"
#include "features/geometry.h"
#include "features/voxels.h"
#include "structure/structure.h"

void pd_featurize_opts_default(pd_featurize_opts *o)
{
    memset(o, 0, sizeof *o);
    o->unit = PD_UNIT_CHAIN;
    o->min_len = 40;
    o->max_len = 1024;
    o->voxel_size = 16;
    o->voxel_cell = 0.75f;
}

pd_status pd_featurize_opts_from_config(const pd_config *cfg, pd_featurize_opts *o, pd_charge_table *charges_storage)
{
    pd_featurize_opts_default(o);
    o->unit = strcmp(pd_cfg_str(cfg, "featurize.unit"), "assembly") == 0 ? PD_UNIT_ASSEMBLY : PD_UNIT_CHAIN;
    o->min_len = (int)pd_cfg_int(cfg, "featurize.min_len");
    o->max_len = (int)pd_cfg_int(cfg, "featurize.max_len");
    o->voxel_size = (int)pd_cfg_int(cfg, "featurize.voxel_size");
    o->voxel_cell = (float)pd_cfg_float(cfg, "featurize.voxel_cell");
    const char *charges = pd_cfg_str(cfg, "featurize.charges");
    if (charges && charges[0]) {
        PD_TRY(pd_charges_load(charges, charges_storage));
        o->charges = charges_storage;
    }
    return PD_OK;
}

void pd_featurize_stem(const char *path, char *stem, int len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n >= (size_t)len)
        n = (size_t)len - 1;
    memcpy(stem, base, n);
    stem[n] = '\0';
}

/* An atom is present when all three coordinates are finite (the reader marks missing atoms
 * NaN and drops non-finite ones; this keeps entries from any other source safe too). */
/* Longest author chain id an entry name carries (mmCIF allows 4; files from elsewhere may
 * hold anything). build.c sizes /entries/name with the same bound (CHAIN_ID_ROOM). */
#define PD_MAX_CHAIN_ID 32

static int present(const float *xyz)
{
    return isfinite(xyz[0]) && isfinite(xyz[1]) && isfinite(xyz[2]);
}

/* Mask bits of one residue (SPEC.md section 6). X has no known side chain, so never bit 2. */
static uint8_t residue_mask(int aa, const float *atom14)
{
    uint8_t m = 0;
    if (present(atom14) && present(atom14 + 3) && present(atom14 + 6))
        m |= PD_MASK_BACKBONE;
    if (present(atom14 + 9))
        m |= PD_MASK_O;
    if (aa < PD_AA_STANDARD) {
        int all = 1;
        for (int s = 4; s < pd_atom14_count(aa); s++)
            all &= present(atom14 + s * 3);
        if (all)
            m |= PD_MASK_SIDECHAIN;
    }
    return m;
}

static pd_status alloc_entry_arrays(pd_entry *e, int L, int V)
{
    size_t l = (size_t)L;
    e->length = L;
    e->voxel_size = V;
    e->aa = pd_malloc(l);
    e->chain = pd_malloc(l);
    e->resnum = pd_malloc(l * sizeof(int32_t));
    e->icode = pd_malloc(l);
    e->mask = pd_malloc(l);
    e->atom14 = pd_malloc(l * PD_ATOM14 * 3 * sizeof(float));
    e->cb = pd_malloc(l * 3 * sizeof(float));
    e->voxels = pd_calloc(l * (size_t)V * V * V, sizeof(uint16_t));
    e->distogram = pd_malloc(l * l * 3);
    if (!e->aa || !e->chain || !e->resnum || !e->icode || !e->mask || !e->atom14 || !e->cb || !e->voxels || !e->distogram)
        return PD_ERR_NOMEM;
    return PD_OK;
}

/* Geometry, distogram and voxels of an entry whose residue arrays are filled. */
static pd_status compute_features(pd_entry *e, const pd_featurize_opts *opts, pd_featurize_stats *stats)
{
    int L = e->length, V = opts->voxel_size;
    const pd_charge_table *charges = opts->charges ? opts->charges : pd_charges_builtin();
    uint8_t *valid = pd_malloc((size_t)L);
    float *work = pd_malloc((size_t)pd_voxels_workspace_floats(V) * sizeof(float));
    if (!valid || !work) {
        free(valid);
        free(work);
        return PD_ERR_NOMEM;
    }
    for (int i = 0; i < L; i++) {
        const float *a = e->atom14 + (size_t)i * PD_ATOM14 * 3;
        valid[i] = (e->mask[i] & PD_MASK_BACKBONE) != 0;
        float *cb = e->cb + (size_t)i * 3;
        if (valid[i])
            pd_virtual_cb(a, a + 3, a + 6, cb);
        else
            cb[0] = cb[1] = cb[2] = NAN;
    }
    double t0 = pd_now();
    pd_distogram(L, e->atom14, e->cb, valid, e->distogram);
    double t1 = pd_now();
    long cells = (long)V * V * V;
    for (int i = 0; i < L; i++) {
        if (!valid[i])
            continue; /* stays zero (calloc) and masked */
        const float *a = e->atom14 + (size_t)i * PD_ATOM14 * 3;
        const float *cb = e->cb + (size_t)i * 3;
        float frame[9];
        pd_residue_frame(a, a + 3, a + 6, cb, frame);
        pd_voxels_residue(V, opts->voxel_cell, a, e->aa[i], cb, frame, charges, work, e->voxels + (size_t)i * cells);
    }
    double t2 = pd_now();
    if (stats) {
        stats->distogram_s += t1 - t0;
        stats->voxels_s += t2 - t1;
    }
    free(valid);
    free(work);
    return PD_OK;
}

/* One entry from `n` chains (one in chain mode). `label` names the unit in failure reasons. */
static pd_status featurize_unit(const char *path, const char *name, const char *label, pd_chain *const *chains,
                                int n, const pd_featurize_opts *opts, pd_entry_list *entries,
                                pd_failure_list *failures, pd_featurize_stats *stats)
{
    long total = 0;
    for (int c = 0; c < n; c++)
        total += chains[c]->n;
    if (total < opts->min_len)
        return pd_failure_list_add(failures, path, "%s: %ld residues < min_len %d", label, total, opts->min_len);
    if (total > opts->max_len)
        return pd_failure_list_add(failures, path, "%s: %ld residues > max_len %d", label, total, opts->max_len);
    if (n > 256)
        return pd_failure_list_add(failures, path, "%s: %d protein chains > 256 (chain index is 8-bit)", label, n);

    pd_entry e;
    memset(&e, 0, sizeof e);
    pd_status st = alloc_entry_arrays(&e, (int)total, opts->voxel_size);
    if (st == PD_OK && (!(e.name = pd_strdup(name)) || !(e.source = pd_strdup(path))))
        st = PD_ERR_NOMEM;
    if (st != PD_OK) {
        pd_entry_free(&e);
        return st;
    }
    int row = 0, n_valid = 0;
    for (int c = 0; c < n; c++) {
        const pd_chain *ch = chains[c];
        for (int r = 0; r < ch->n; r++, row++) {
            e.aa[row] = ch->aa[r];
            e.chain[row] = (uint8_t)c;
            e.resnum[row] = ch->resnum[r];
            e.icode[row] = ch->icode[r];
            memcpy(e.atom14 + (size_t)row * PD_ATOM14 * 3, ch->atom14 + (size_t)r * PD_SLOTS * 3,
                   PD_ATOM14 * 3 * sizeof(float));
            e.mask[row] = residue_mask(ch->aa[r], ch->atom14 + (size_t)r * PD_SLOTS * 3);
            n_valid += (e.mask[row] & PD_MASK_BACKBONE) != 0;
        }
    }
    if (n_valid == 0) {
        pd_entry_free(&e);
        return pd_failure_list_add(failures, path, "%s: no valid backbone (none of its %ld residues has N, CA and C)",
                                   label, total);
    }
    st = compute_features(&e, opts, stats);
    if (st == PD_OK)
        st = pd_entry_list_push(entries, &e);
    if (st != PD_OK) {
        pd_entry_free(&e);
        return st;
    }
    if (stats) {
        stats->entries++;
        stats->residues += total;
    }
    return PD_OK;
}

static pd_status check_opts(const pd_featurize_opts *o)
{
    if (o->voxel_size < 2 || o->voxel_size > 64)
        return pd_fail(PD_ERR_USAGE, "featurize: voxel_size %d is outside 2..64", o->voxel_size);
    if (!(o->voxel_cell > 0.0f))
        return pd_fail(PD_ERR_USAGE, "featurize: voxel_cell %g must be positive", (double)o->voxel_cell);
    if (o->min_len < 1 || o->max_len < o->min_len)
        return pd_fail(PD_ERR_USAGE, "featurize: need 1 <= min_len (%d) <= max_len (%d)", o->min_len, o->max_len);
    return PD_OK;
}

pd_status pd_featurize_file(const char *path, const pd_featurize_opts *opts, pd_entry_list *entries,
                            pd_failure_list *failures)
{
    PD_TRY(check_opts(opts));
    pd_featurize_stats *stats = opts->stats;
    int failures_before = failures->n;
    double t0 = pd_now();
    pd_structure s;
    pd_status st = pd_structure_read(path, &s);
    double t1 = pd_now();
    if (stats) {
        stats->parse_s += t1 - t0;
        stats->files++;
    }
    if (st == PD_ERR_NOMEM)
        return st;
    if (st != PD_OK) {
        st = pd_failure_list_add(failures, path, "%s", pd_last_error());
    } else if (s.n_chains == 0) {
        st = pd_failure_list_add(failures, path, "no protein chain (%ld atoms in the first model, none in an amino-acid residue)",
                                 s.n_atoms);
    } else {
        char stem[512], name[600], label[300];
        pd_featurize_stem(path, stem, sizeof stem);
        if (opts->unit == PD_UNIT_CHAIN) {
            for (int c = 0; c < s.n_chains && st == PD_OK; c++) {
                pd_chain *one = &s.chains[c];
                if (strlen(one->id) > PD_MAX_CHAIN_ID) {
                    /* The dataset's name field has room for this much (src/dataset/build.c). */
                    st = pd_failure_list_add(failures, path, "chain '%.*s...': author chain id longer than %d characters",
                                             PD_MAX_CHAIN_ID, one->id, PD_MAX_CHAIN_ID);
                    continue;
                }
                snprintf(name, sizeof name, "%s_%s", stem, one->id);
                snprintf(label, sizeof label, "chain %s", one->id);
                st = featurize_unit(path, name, label, &one, 1, opts, entries, failures, stats);
            }
        } else {
            pd_chain **all = pd_malloc((size_t)s.n_chains * sizeof *all);
            if (!all) {
                st = PD_ERR_NOMEM;
            } else {
                for (int c = 0; c < s.n_chains; c++)
                    all[c] = &s.chains[c];
                st = featurize_unit(path, stem, "assembly", all, s.n_chains, opts, entries, failures, stats);
                free(all);
            }
        }
    }
    pd_structure_free(&s);
    if (stats) {
        stats->failures += failures->n - failures_before;
        stats->other_s += pd_now() - t1;
    }
    return st;
}
