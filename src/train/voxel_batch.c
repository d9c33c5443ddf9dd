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

/* Entry i's residue range [*from, *from + *n) within its `length` residues. */
static pd_status entry_range(const pd_entry_info *info, const int32_t *first, const int32_t *len, int64_t i,
                             int64_t *from, int64_t *n)
{
    *from = first ? first[i] : 0;
    *n = first ? len[i] : info->length;
    if (*from < 0 || *n < 0 || *from + *n > info->length)
        return pd_fail(PD_ERR, "residues [%lld, %lld) of entry %s, which has %lld", (long long)*from,
                       (long long)(*from + *n), info->name, (long long)info->length);
    return PD_OK;
}

pd_status pd_voxel_batch_read(pd_dataset *ds, const int64_t *entries, int64_t n_entries, const int32_t *first,
                              const int32_t *len, pd_voxel_batch *out)
{
    memset(out, 0, sizeof *out);
    const int V = pd_dataset_voxel_size(ds);
    const int64_t cells = (int64_t)V * V * V;
    out->voxel = V;
    int64_t total = 0;
    for (int64_t i = 0; i < n_entries; i++) {
        pd_entry_info info;
        PD_TRY(pd_dataset_entry_info(ds, entries[i], &info));
        int64_t from, n;
        PD_TRY(entry_range(&info, first, len, i, &from, &n));
        total += n;
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
        int64_t from = 0, L = 0;
        if (st == PD_OK) st = entry_range(&info, first, len, i, &from, &L);
        if (st != PD_OK) break;
        const int64_t n_seq = info.length;
        uint16_t *b2 = realloc(bits, (size_t)(L > 0 ? L : 1) * (size_t)cells * sizeof *bits);
        uint8_t *a2 = realloc(aa, (size_t)n_seq), *c2 = realloc(chain, (size_t)n_seq);
        if (b2) bits = b2;
        if (a2) aa = a2;
        if (c2) chain = c2;
        if (!b2 || !a2 || !c2) {
            st = pd_fail(PD_ERR_NOMEM, "reading entry %s: %lld residues of voxels", info.name, (long long)L);
            break;
        }
        st = pd_dataset_read_sequence(ds, entries[i], aa, chain);
        if (st == PD_OK && L > 0) st = pd_dataset_read_voxels(ds, info.residue_offset + from, L, bits);
        if (st != PD_OK) {
            pd_error_context("training batch, entry %lld (%s)", (long long)entries[i], info.name);
            break;
        }
        for (int64_t r = 0; r < L; r++) {
            const uint16_t *src = bits + r * cells;
            int any = 0;
            for (int64_t c = 0; c < cells && !any; c++) any = (src[c] & 0x7fffu) != 0;
            if (aa[from + r] >= 20 || !any) continue;
            float *dst = out->voxels + out->n * cells;
            for (int64_t c = 0; c < cells; c++) dst[c] = pd_f16_to_f32(src[c]);
            out->aa[out->n] = aa[from + r];
            out->row_ids[out->n] = (uint64_t)(info.residue_offset + from + r);
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
    pd_status st = pd_voxel_batch_read(ds, b->entries, b->n_entries, b->range_first, b->range_len, vb);
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
