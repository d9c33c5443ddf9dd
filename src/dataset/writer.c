/* writer.c — collective parallel-HDF5 writer of the dataset file; see writer.h. Each round:
 * per-slot sizes are summed over ranks, prefix sums in slot order give every input's global
 * offsets, every dataset is extended to the new totals, and each rank writes its inputs' rows
 * block by block: collective H5Dwrite call i writes every rank's i-th block of consecutive
 * rows (a single hyperslab), ranks with fewer blocks take part with empty selections. With
 * one contiguous run of slots per rank (pd_inputs_partition) that is one call per dataset.
 * Never a union of hyperslabs: HDF5 1.10 maps such irregular selections onto chunks element
 * by element, which made 2 ranks several times slower than 1 (docs/dataset-format.md). */
#include "dataset/writer.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timer.h"
#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "dataset/schema.h"
#include "parallel/comm.h"

/* Which running total a dataset's first dimension follows. */
enum { K_ENTRIES = 0, K_RESIDUES = 1, K_DISTOGRAM = 2, K_FAILURES = 3, K_COUNT = 4 };

enum {
    D_NAME, D_SOURCE, D_LENGTH, D_RESIDUE_OFFSET, D_DISTOGRAM_OFFSET, D_SPLIT,
    D_AA, D_CHAIN, D_RESNUM, D_ICODE, D_MASK, D_ATOM14, D_CB, D_VOXELS,
    D_DISTOGRAM, D_FAILED_SOURCE, D_FAILED_REASON, D_N
};

typedef struct ds_slot {
    hid_t id;
    hid_t type;        /* file and memory type (we never convert) */
    int kind;          /* K_* */
    int n_inner;
    hsize_t inner[3];
    size_t row_bytes;  /* bytes of one row in memory */
} ds_slot;

struct pd_writer {
    MPI_Comm comm;
    int rank, nranks;
    pd_h5_output out;  /* the file, NAME.partial until finished (dataset/h5file.h) */
    hid_t dxpl;
    pd_dataset_params params;
    ds_slot ds[D_N];
    pd_dataset_totals totals;
    double wait_s, io_s;
    double extend_s[D_N], write_s[D_N]; /* per dataset, printed under --verbose */
    int fail_rank;     /* test hook PD_DEBUG_FAIL_WRITE_RANK (writer.h), -1 when unset */
};

static int64_t total_of(const pd_dataset_totals *t, int kind)
{
    switch (kind) {
    case K_ENTRIES: return t->entries;
    case K_RESIDUES: return t->residues;
    case K_DISTOGRAM: return t->distogram_bytes;
    default: return t->failures;
    }
}

static void close_all(pd_writer *w)
{
    for (int i = 0; i < D_N; i++) {
        if (w->ds[i].id > 0) H5Dclose(w->ds[i].id);
        if (w->ds[i].type > 0) H5Tclose(w->ds[i].type);
        w->ds[i].id = w->ds[i].type = 0;
    }
    if (w->dxpl > 0) H5Pclose(w->dxpl);
    w->dxpl = 0;
}

static void free_writer(pd_writer *w)
{
    close_all(w);
    pd_h5_output_abandon(&w->out);
    free(w);
}

static pd_status define(pd_writer *w, int id, const char *path, hid_t type, int kind, int n_inner,
                        const hsize_t *inner, hsize_t chunk, int gzip, const char *desc)
{
    ds_slot *d = &w->ds[id];
    d->type = type;
    d->kind = kind;
    d->n_inner = n_inner;
    size_t row = H5Tget_size(type);
    for (int i = 0; i < n_inner; i++) { d->inner[i] = inner[i]; row *= (size_t)inner[i]; }
    d->row_bytes = row;
    return pd_h5_create_growable(w->out.file, path, type, n_inner, inner, chunk, gzip, desc, &d->id);
}

static pd_status create_layout(pd_writer *w)
{
    const pd_dataset_params *p = &w->params;
    hsize_t atom[2] = {PD_ATOM14, 3}, xyz[1] = {3};
    hsize_t v = (hsize_t)p->voxel_size, vox[3] = {v, v, v};
    hsize_t vchunk = PD_CHUNK_VOXEL_RESIDUES;
    PD_TRY(define(w, D_NAME, PD_DS_NAME, pd_h5_string_type(p->name_width), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_NAME));
    PD_TRY(define(w, D_SOURCE, PD_DS_SOURCE, pd_h5_string_type(p->source_width), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_SOURCE));
    PD_TRY(define(w, D_LENGTH, PD_DS_LENGTH, H5Tcopy(H5T_STD_I32LE), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_LENGTH));
    PD_TRY(define(w, D_RESIDUE_OFFSET, PD_DS_RESIDUE_OFFSET, H5Tcopy(H5T_STD_I64LE), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_RESIDUE_OFFSET));
    PD_TRY(define(w, D_DISTOGRAM_OFFSET, PD_DS_DISTOGRAM_OFFSET, H5Tcopy(H5T_STD_I64LE), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_DISTOGRAM_OFFSET));
    PD_TRY(define(w, D_SPLIT, PD_DS_SPLIT, H5Tcopy(H5T_STD_U8LE), K_ENTRIES, 0, NULL, PD_CHUNK_ENTRIES, 0, PD_DESC_SPLIT));
    PD_TRY(define(w, D_AA, PD_DS_AA, H5Tcopy(H5T_STD_U8LE), K_RESIDUES, 0, NULL, PD_CHUNK_RESIDUES, 0, PD_DESC_AA));
    PD_TRY(define(w, D_CHAIN, PD_DS_CHAIN, H5Tcopy(H5T_STD_U8LE), K_RESIDUES, 0, NULL, PD_CHUNK_RESIDUES, 0, PD_DESC_CHAIN));
    PD_TRY(define(w, D_RESNUM, PD_DS_RESNUM, H5Tcopy(H5T_STD_I32LE), K_RESIDUES, 0, NULL, PD_CHUNK_RESIDUES, 0, PD_DESC_RESNUM));
    PD_TRY(define(w, D_ICODE, PD_DS_ICODE, pd_h5_string_type(1), K_RESIDUES, 0, NULL, PD_CHUNK_RESIDUES, 0, PD_DESC_ICODE));
    PD_TRY(define(w, D_MASK, PD_DS_MASK, H5Tcopy(H5T_STD_U8LE), K_RESIDUES, 0, NULL, PD_CHUNK_RESIDUES, 0, PD_DESC_MASK));
    PD_TRY(define(w, D_ATOM14, PD_DS_ATOM14, H5Tcopy(H5T_IEEE_F32LE), K_RESIDUES, 2, atom, PD_CHUNK_RESIDUES, 0, PD_DESC_ATOM14));
    PD_TRY(define(w, D_CB, PD_DS_CB, H5Tcopy(H5T_IEEE_F32LE), K_RESIDUES, 1, xyz, PD_CHUNK_RESIDUES, 0, PD_DESC_CB));
    PD_TRY(define(w, D_VOXELS, PD_DS_VOXELS, pd_h5_float16_type(), K_RESIDUES, 3, vox, vchunk, p->compression, PD_DESC_VOXELS));
    PD_TRY(define(w, D_DISTOGRAM, PD_DS_DISTOGRAM, H5Tcopy(H5T_STD_U8LE), K_DISTOGRAM, 0, NULL, PD_CHUNK_DISTOGRAM_BYTES, 0, PD_DESC_DISTOGRAM));
    PD_TRY(define(w, D_FAILED_SOURCE, PD_DS_FAILED_SOURCE, pd_h5_string_type(p->source_width), K_FAILURES, 0, NULL, PD_CHUNK_FAILURES, 0, PD_DESC_FAILED_SOURCE));
    PD_TRY(define(w, D_FAILED_REASON, PD_DS_FAILED_REASON, pd_h5_string_type(PD_DATASET_REASON_WIDTH), K_FAILURES, 0, NULL, PD_CHUNK_FAILURES, 0, PD_DESC_FAILED_REASON));

    PD_TRY(pd_h5_output_stamp(&w->out, PD_DATASET_FORMAT, PD_DATASET_VERSION, p->created_by,
                              p->config_text ? p->config_text : ""));
    hid_t root = w->out.file;
    PD_TRY(pd_h5_attr_write_int(root, "voxel_size", p->voxel_size));
    PD_TRY(pd_h5_attr_write_double(root, "voxel_cell", p->voxel_cell));
    return pd_h5_attr_write_double(root, "distogram_dmax", p->distogram_dmax);
}

pd_status pd_writer_create(pd_writer **out, const char *path, MPI_Comm comm, const pd_dataset_params *p)
{
    pd_h5_quiet();
    *out = NULL;
    if (p->voxel_size < 1 || p->name_width < 1 || p->source_width < 1)
        return pd_fail(PD_ERR, "dataset writer: voxel_size, name_width and source_width must be positive");
    pd_writer *w = pd_calloc(1, sizeof *w);
    if (!w) return PD_ERR_NOMEM;
    w->comm = comm;
    MPI_Comm_rank(comm, &w->rank);
    MPI_Comm_size(comm, &w->nranks);
    w->params = *p;
    const char *hook = getenv("PD_DEBUG_FAIL_WRITE_RANK");
    w->fail_rank = hook && hook[0] ? atoi(hook) : -1;
    w->out.file = -1;
    pd_status st = pd_h5_output_create(&w->out, path, PD_DATASET_PARTIAL_SUFFIX, PD_H5_COLLECTIVE_METADATA, comm);
    if (st != PD_OK) {
        free_writer(w);
        return st;
    }
    w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE);
    st = create_layout(w);
    if (st != PD_OK) pd_error_context("creating %s", w->out.partial);
    st = pd_agree(comm, st);
    if (st != PD_OK) {
        free_writer(w);
        return st;
    }
    *out = w;
    return PD_OK;
}

pd_dataset_totals pd_writer_totals(const pd_writer *w)
{
    return w->totals;
}

/* ------------------------------------------------------------------ one round */

typedef struct block { int64_t start, count; } block;

typedef struct round_plan {
    /* Per kind: this rank's rows as merged blocks of global rows, and the row count. */
    block *blocks[K_COUNT];
    int n_blocks[K_COUNT];
    int64_t local_rows[K_COUNT];
    int max_blocks[K_COUNT]; /* over all ranks: the number of collective write calls */
    pd_dataset_totals new_totals;
} round_plan;

static void plan_free(round_plan *p)
{
    for (int k = 0; k < K_COUNT; k++) free(p->blocks[k]);
}

static void add_block(round_plan *p, int kind, int64_t start, int64_t count)
{
    if (count <= 0) return;
    int n = p->n_blocks[kind];
    if (n > 0 && p->blocks[kind][n - 1].start + p->blocks[kind][n - 1].count == start) {
        p->blocks[kind][n - 1].count += count;
    } else {
        p->blocks[kind][n].start = start;
        p->blocks[kind][n].count = count;
        p->n_blocks[kind]++;
    }
    p->local_rows[kind] += count;
}

static int64_t distogram_bytes(int32_t length)
{
    return (int64_t)length * length * 3;
}

static int cmp_slot(const void *a, const void *b)
{
    const pd_file_output *x = *(const pd_file_output *const *)a, *y = *(const pd_file_output *const *)b;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Exchange per-slot sizes and turn them into this rank's global blocks. */
static pd_status plan_round(pd_writer *w, int n_slots, const pd_file_output *const *outs, int n_outs, round_plan *plan,
                            int64_t **slot_start_out)
{
    const int per = K_COUNT + 1; /* four sizes and a claim count */
    int64_t *counts = pd_calloc((size_t)n_slots * per + 1, sizeof(int64_t));
    int64_t *sums = pd_calloc((size_t)n_slots * per + 1, sizeof(int64_t));
    int64_t *starts = pd_calloc((size_t)n_slots * K_COUNT + 1, sizeof(int64_t));
    pd_status st = counts && sums && starts ? PD_OK : PD_ERR_NOMEM;
    for (int i = 0; st == PD_OK && i < n_outs; i++) {
        const pd_file_output *o = outs[i];
        if (o->slot < 0 || o->slot >= n_slots) {
            st = pd_fail(PD_ERR, "dataset writer: slot %d outside the round's %d inputs", o->slot, n_slots);
            break;
        }
        int64_t *c = counts + (size_t)o->slot * per;
        c[K_ENTRIES] += o->n_entries;
        c[K_FAILURES] += o->n_failures;
        for (int e = 0; e < o->n_entries; e++) {
            c[K_RESIDUES] += o->entries[e].length;
            c[K_DISTOGRAM] += distogram_bytes(o->entries[e].length);
        }
        c[K_COUNT] += 1;
    }
    st = pd_agree(w->comm, st);
    if (st == PD_OK && MPI_Allreduce(counts, sums, n_slots * per, MPI_INT64_T, MPI_SUM, w->comm) != MPI_SUCCESS)
        st = pd_fail(PD_ERR_MPI, "dataset writer: MPI_Allreduce of the round sizes failed");
    for (int s = 0; st == PD_OK && s < n_slots; s++)
        if (sums[(size_t)s * per + K_COUNT] > 1)
            st = pd_fail(PD_ERR, "dataset writer: input slot %d of the round was claimed by %lld ranks", s,
                         (long long)sums[(size_t)s * per + K_COUNT]);
    if (st == PD_OK) {
        int64_t run[K_COUNT];
        for (int k = 0; k < K_COUNT; k++) run[k] = total_of(&w->totals, k);
        for (int s = 0; s < n_slots; s++)
            for (int k = 0; k < K_COUNT; k++) {
                starts[(size_t)s * K_COUNT + k] = run[k];
                run[k] += sums[(size_t)s * per + k];
            }
        plan->new_totals = (pd_dataset_totals){run[K_ENTRIES], run[K_RESIDUES], run[K_DISTOGRAM], run[K_FAILURES]};
        for (int k = 0; k < K_COUNT; k++) {
            plan->blocks[k] = pd_calloc((size_t)n_outs + 1, sizeof(block));
            if (!plan->blocks[k]) st = PD_ERR_NOMEM;
        }
        for (int i = 0; st == PD_OK && i < n_outs; i++) {
            const int64_t *c = counts + (size_t)outs[i]->slot * per;
            const int64_t *b = starts + (size_t)outs[i]->slot * K_COUNT;
            for (int k = 0; k < K_COUNT; k++) add_block(plan, k, b[k], c[k]);
        }
    }
    st = pd_agree(w->comm, st);
    if (st == PD_OK &&
        MPI_Allreduce(plan->n_blocks, plan->max_blocks, K_COUNT, MPI_INT, MPI_MAX, w->comm) != MPI_SUCCESS)
        st = pd_fail(PD_ERR_MPI, "dataset writer: MPI_Allreduce of the block counts failed");
    free(counts);
    free(sums);
    if (st != PD_OK) { free(starts); return st; }
    *slot_start_out = starts;
    return PD_OK;
}

/* Copy a string into a fixed-width field; too long is an error unless `cut` (then it is cut
 * at a UTF-8 character boundary). */
static pd_status put_string(char *dst, size_t width, const char *s, int cut, const char *what)
{
    size_t n = s ? strlen(s) : 0;
    if (n > width) {
        if (!cut) return pd_fail(PD_ERR, "%s '%s' is longer than the dataset's %zu-byte field", what, s, width);
        n = width;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    memset(dst, 0, width);
    if (n) memcpy(dst, s, n);
    return PD_OK;
}

typedef struct packed {
    void *buf[D_N];
} packed;

static void packed_free(packed *pk)
{
    for (int i = 0; i < D_N; i++) free(pk->buf[i]);
}

static pd_status pack_round(pd_writer *w, const pd_file_output *const *outs, int n_outs, const round_plan *plan,
                            const int64_t *slot_start, packed *pk)
{
    for (int i = 0; i < D_N; i++) {
        size_t rows = (size_t)plan->local_rows[w->ds[i].kind];
        pk->buf[i] = pd_malloc(rows * w->ds[i].row_bytes + 1);
        if (!pk->buf[i]) return PD_ERR_NOMEM;
    }
    const pd_dataset_params *p = &w->params;
    const size_t vox = (size_t)p->voxel_size * p->voxel_size * p->voxel_size;
    int64_t e_at = 0, r_at = 0, d_at = 0, f_at = 0;
    for (int i = 0; i < n_outs; i++) {
        const pd_file_output *o = outs[i];
        int64_t res_off = slot_start[(size_t)o->slot * K_COUNT + K_RESIDUES];
        int64_t dis_off = slot_start[(size_t)o->slot * K_COUNT + K_DISTOGRAM];
        for (int e = 0; e < o->n_entries; e++, e_at++) {
            const pd_entry *en = &o->entries[e];
            size_t L = (size_t)en->length;
            if (en->length < 1) return pd_fail(PD_ERR, "entry '%s' has length %d", en->name, en->length);
            if (en->voxel_size != p->voxel_size)
                return pd_fail(PD_ERR, "entry '%s' has %d^3 voxels but the dataset stores %d^3", en->name, en->voxel_size, p->voxel_size);
            if (o->splits[e] > 2) return pd_fail(PD_ERR, "entry '%s' has split %d (0, 1 or 2 expected)", en->name, o->splits[e]);
            PD_TRY(put_string((char *)pk->buf[D_NAME] + e_at * p->name_width, p->name_width, en->name, 0, "entry name"));
            PD_TRY(put_string((char *)pk->buf[D_SOURCE] + e_at * p->source_width, p->source_width, en->source, 0, "source path"));
            ((int32_t *)pk->buf[D_LENGTH])[e_at] = en->length;
            ((int64_t *)pk->buf[D_RESIDUE_OFFSET])[e_at] = res_off;
            ((int64_t *)pk->buf[D_DISTOGRAM_OFFSET])[e_at] = dis_off;
            ((uint8_t *)pk->buf[D_SPLIT])[e_at] = o->splits[e];
            res_off += en->length;
            dis_off += distogram_bytes(en->length);

            memcpy((uint8_t *)pk->buf[D_AA] + r_at, en->aa, L);
            memcpy((uint8_t *)pk->buf[D_CHAIN] + r_at, en->chain, L);
            memcpy((int32_t *)pk->buf[D_RESNUM] + r_at, en->resnum, L * sizeof(int32_t));
            memcpy((char *)pk->buf[D_ICODE] + r_at, en->icode, L);
            memcpy((uint8_t *)pk->buf[D_MASK] + r_at, en->mask, L);
            memcpy((float *)pk->buf[D_ATOM14] + r_at * PD_ATOM14 * 3, en->atom14, L * PD_ATOM14 * 3 * sizeof(float));
            memcpy((float *)pk->buf[D_CB] + r_at * 3, en->cb, L * 3 * sizeof(float));
            memcpy((uint16_t *)pk->buf[D_VOXELS] + r_at * vox, en->voxels, L * vox * sizeof(uint16_t));
            r_at += en->length;
            memcpy((uint8_t *)pk->buf[D_DISTOGRAM] + d_at, en->distogram, (size_t)distogram_bytes(en->length));
            d_at += distogram_bytes(en->length);
        }
        for (int f = 0; f < o->n_failures; f++, f_at++) {
            PD_TRY(put_string((char *)pk->buf[D_FAILED_SOURCE] + f_at * p->source_width, p->source_width,
                              o->failures[f].source, 0, "failed source path"));
            PD_TRY(put_string((char *)pk->buf[D_FAILED_REASON] + f_at * PD_DATASET_REASON_WIDTH, PD_DATASET_REASON_WIDTH,
                              o->failures[f].reason, 1, "failure reason"));
        }
    }
    return PD_OK;
}

/* Collective: grow one dataset to the new total and write this rank's blocks, one collective
 * H5Dwrite per block index (each a single hyperslab of consecutive rows). */
static pd_status write_dataset(pd_writer *w, int id, const round_plan *plan, const void *buf)
{
    ds_slot *d = &w->ds[id];
    int rank_n = 1 + d->n_inner;
    hsize_t dims[4], start[4] = {0}, count[4];
    dims[0] = (hsize_t)total_of(&plan->new_totals, d->kind);
    for (int i = 0; i < d->n_inner; i++) dims[i + 1] = count[i + 1] = d->inner[i];
    double t0 = pd_now();
    /* A rank whose extend failed still makes every collective write call below (with nothing
     * selected) before it reports, so no other rank is left waiting inside H5Dwrite. */
    pd_status st = PD_OK;
    char name[256] = "?";
    H5Iget_name(d->id, name, sizeof name);
    if (H5Dset_extent(d->id, dims) < 0)
        st = pd_h5_fail(PD_ERR_IO, "cannot extend %s in %s to %llu rows", name, w->out.partial, (unsigned long long)dims[0]);
    else if (w->fail_rank == w->rank && id == D_VOXELS)
        st = pd_fail(PD_ERR_IO, "cannot extend %s in %s to %llu rows: failure injected by the test hook "
                     "PD_DEBUG_FAIL_WRITE_RANK=%d", name, w->out.partial, (unsigned long long)dims[0], w->fail_rank);
    double t1 = pd_now();
    w->extend_s[id] += t1 - t0;
    hid_t fspace = H5Dget_space(d->id);
    int nb = st == PD_OK ? plan->n_blocks[d->kind] : 0;
    size_t mem_row = 0; /* first row of the current block in `buf` */
    herr_t r = 0;
    for (int b = 0; b < plan->max_blocks[d->kind]; b++) {
        hid_t mspace;
        const char *from = buf;
        if (b >= nb) {
            H5Sselect_none(fspace);
            hsize_t one[4] = {1, 1, 1, 1};
            mspace = H5Screate_simple(rank_n, one, NULL);
            H5Sselect_none(mspace);
        } else {
            start[0] = (hsize_t)plan->blocks[d->kind][b].start;
            count[0] = (hsize_t)plan->blocks[d->kind][b].count;
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
            mspace = H5Screate_simple(rank_n, count, NULL);
            from += mem_row * d->row_bytes;
            mem_row += (size_t)count[0];
        }
        /* Every rank makes every call, even after a local failure, so none is left waiting. */
        if (H5Dwrite(d->id, d->type, mspace, fspace, w->dxpl, from) < 0 && r == 0) r = -1;
        H5Sclose(mspace);
    }
    w->write_s[id] += pd_now() - t1;
    H5Sclose(fspace);
    if (st == PD_OK && r < 0) st = pd_h5_fail(PD_ERR_IO, "collective write of %s in %s failed", name, w->out.partial);
    return st;
}

pd_status pd_writer_write_round(pd_writer *w, int n_slots, const pd_file_output *outs, int n_outs)
{
    const pd_file_output **sorted = pd_calloc((size_t)n_outs + 1, sizeof *sorted);
    pd_status st = sorted ? PD_OK : PD_ERR_NOMEM;
    for (int i = 0; st == PD_OK && i < n_outs; i++) sorted[i] = &outs[i];
    if (st == PD_OK) qsort(sorted, (size_t)n_outs, sizeof *sorted, cmp_slot);
    st = pd_agree(w->comm, st);
    if (st != PD_OK) { free(sorted); return st; }

    round_plan plan = {0};
    int64_t *slot_start = NULL;
    double t0 = pd_now();
    st = plan_round(w, n_slots, sorted, n_outs, &plan, &slot_start);
    double t1 = pd_now();
    w->wait_s += t1 - t0;
    if (st != PD_OK) { free(sorted); plan_free(&plan); return st; }

    packed pk = {0};
    st = pd_agree(w->comm, pack_round(w, sorted, n_outs, &plan, slot_start, &pk));
    for (int i = 0; st == PD_OK && i < D_N; i++) {
        /* Every rank makes every call; a local failure is agreed after the collective. */
        st = pd_agree(w->comm, write_dataset(w, i, &plan, pk.buf[i]));
    }
    if (st == PD_OK) w->totals = plan.new_totals;
    w->io_s += pd_now() - t1;
    packed_free(&pk);
    plan_free(&plan);
    free(slot_start);
    free(sorted);
    return st;
}

void pd_writer_seconds(const pd_writer *w, double *wait_s, double *io_s)
{
    *wait_s = w->wait_s;
    *io_s = w->io_s;
}

pd_status pd_writer_finish(pd_writer *w)
{
    for (int i = 0; i < D_N; i++) {
        char name[256] = "?";
        H5Iget_name(w->ds[i].id, name, sizeof name);
        pd_debug("writer: %-28s extend %.3f s, write %.3f s", name, w->extend_s[i], w->write_s[i]);
    }
    close_all(w);
    pd_status st = pd_h5_output_finish(&w->out, PD_OK);
    free_writer(w);
    return st;
}

void pd_writer_abort(pd_writer *w)
{
    if (w) free_writer(w);
}
