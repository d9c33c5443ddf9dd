/* voxel_batch.c — reads the voxels and labels of a batch's entries for the voxel stages;
 * see voxel_batch.h for which residues are kept and why. */
#include "train/voxel_batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/rng.h"

void pd_voxel_batch_free(pd_voxel_batch *b)
{
    free(b->voxels);
    free(b->aa);
    free(b->row_ids);
    memset(b, 0, sizeof *b);
}

pd_status pd_voxel_batch_read(pd_dataset *ds, const int64_t *entries, int64_t n_entries, pd_voxel_batch *out)
{
    memset(out, 0, sizeof *out);
    const int V = pd_dataset_voxel_size(ds);
    const int64_t cells = (int64_t)V * V * V;
    out->voxel = V;
    int64_t total = 0;
    for (int64_t i = 0; i < n_entries; i++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(ds, entries[i], &info));
        total += info.length;
    }
    out->residues = total;
    out->voxels = pd_malloc((size_t)(total > 0 ? total : 1) * (size_t)cells * sizeof(float));
    out->aa = pd_malloc((size_t)(total > 0 ? total : 1) * sizeof(int32_t));
    out->row_ids = pd_malloc((size_t)(total > 0 ? total : 1) * sizeof(uint64_t));
    uint16_t *bits = NULL;
    uint8_t *aa = NULL, *chain = NULL;
    pd_status st = out->voxels && out->aa && out->row_ids ? PD_OK : PD_ERR_NOMEM;
    for (int64_t i = 0; st == PD_OK && i < n_entries; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, entries[i], &info);
        if (st != PD_OK) break;
        const int64_t L = info.length;
        uint16_t *b2 = realloc(bits, (size_t)L * (size_t)cells * sizeof *bits);
        uint8_t *a2 = realloc(aa, (size_t)L), *c2 = realloc(chain, (size_t)L);
        if (b2) bits = b2;
        if (a2) aa = a2;
        if (c2) chain = c2;
        if (!b2 || !a2 || !c2) {
            st = pd_fail(PD_ERR_NOMEM, "reading entry %s: %lld residues of voxels", info.name, (long long)L);
            break;
        }
        st = pd_dataset_read_sequence(ds, entries[i], aa, chain);
        if (st == PD_OK) st = pd_dataset_read_voxels(ds, info.residue_offset, L, bits);
        if (st != PD_OK) {
            pd_error_context("training batch, entry %lld (%s)", (long long)entries[i], info.name);
            break;
        }
        for (int64_t r = 0; r < L; r++) {
            const uint16_t *src = bits + r * cells;
            int any = 0;
            for (int64_t c = 0; c < cells && !any; c++) any = (src[c] & 0x7fffu) != 0;
            if (aa[r] >= 20 || !any) continue;
            float *dst = out->voxels + out->n * cells;
            for (int64_t c = 0; c < cells; c++) dst[c] = pd_f16_to_f32(src[c]);
            out->aa[out->n] = aa[r];
            out->row_ids[out->n] = (uint64_t)(info.residue_offset + r);
            out->n++;
        }
    }
    free(bits);
    free(aa);
    free(chain);
    if (st != PD_OK) pd_voxel_batch_free(out);
    return st;
}

pd_status pd_voxel_stage_load(pd_dataset *ds, int voxel, pd_stage_batch *b)
{
    if (pd_dataset_voxel_size(ds) != voxel)
        return pd_fail(PD_ERR_CONFIG, "the dataset %s has %d^3 voxels but featurize.voxel_size = %d in the run "
                       "file; use the run file the dataset was built with", pd_dataset_path(ds),
                       pd_dataset_voxel_size(ds), voxel);
    pd_voxel_batch *vb = pd_calloc(1, sizeof *vb);
    if (!vb) return PD_ERR_NOMEM;
    pd_status st = pd_voxel_batch_read(ds, b->entries, b->n_entries, vb);
    if (st != PD_OK) {
        free(vb);
        return st;
    }
    b->data = vb;
    b->count = vb->n;
    b->residues = vb->residues;
    return PD_OK;
}

void pd_voxel_stage_free(pd_stage_batch *b)
{
    if (b->data) pd_voxel_batch_free(b->data);
    free(b->data);
    b->data = NULL;
}

void pd_voxel_batch_subsample(pd_voxel_batch *b, double keep, uint64_t seed, int64_t step)
{
    if (keep >= 1) return;
    const int64_t cells = (int64_t)b->voxel * b->voxel * b->voxel;
    int64_t kept = 0;
    for (int64_t r = 0; r < b->n; r++) {
        pd_rng rng;
        pd_rng_init(&rng, seed, (uint64_t)step, b->row_ids[r], PD_RNG_SUBSAMPLE);
        if (pd_rng_uniform(&rng) >= keep) continue;
        if (kept != r) {
            memmove(b->voxels + kept * cells, b->voxels + r * cells, (size_t)cells * sizeof(float));
            b->aa[kept] = b->aa[r];
            b->row_ids[kept] = b->row_ids[r];
        }
        kept++;
    }
    b->n = kept > 0 ? kept : (b->n > 0 ? 1 : 0);   /* never an empty batch: keep the first */
}
