/* probs_file.c — packing per-structure distributions and writing the proteindiff-probs HDF5 file
 * (probs_file.h). Rank 0 writes it serially (the arrays are small next to the design work),
 * with the protocol every proteindiff file follows (dataset/h5file.h). */
#include "design/probs_file.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/h5array.h"
#include "dataset/h5file.h"
#include "dataset/h5util.h"
#include "design/target.h"

static void put_str(pd_text *out, const char *s)
{
    uint16_t n = (uint16_t)strlen(s);
    pd_text_add_bytes(out, &n, sizeof n);
    pd_text_add_bytes(out, s, n);
}

void pd_probs_pack(const pd_design_target *t, const float *probs, const uint8_t *valid, pd_text *out)
{
    const int64_t L = t->length;
    pd_text_add_bytes(out, &L, sizeof L);
    put_str(out, t->name);
    put_str(out, t->source);
    uint16_t nc = (uint16_t)t->n_chains;
    pd_text_add_bytes(out, &nc, sizeof nc);
    for (int c = 0; c < t->n_chains; c++) put_str(out, t->chain_ids[c]);
    pd_text_add_bytes(out, t->chain, (size_t)L);
    pd_text_add_bytes(out, t->resnum, (size_t)L * sizeof *t->resnum);
    pd_text_add_bytes(out, t->icode, (size_t)L);
    pd_text_add_bytes(out, valid, (size_t)L);
    pd_text_add_bytes(out, probs, (size_t)L * 20 * sizeof *probs);
}

/* A packed structure read back (views into the bytes; strings copied). */
typedef struct unpacked {
    int64_t L;
    char name[1024], source[4200];
    int n_chains;
    char chain_ids[256][64];
    const uint8_t *chain, *valid;
    const char *icode;
    const unsigned char *resnum, *probs;   /* unaligned: read with memcpy */
} unpacked;

static int get_str(const unsigned char **p, const unsigned char *end, char *buf, size_t cap)
{
    uint16_t n;
    if (end - *p < (long)sizeof n) return 0;
    memcpy(&n, *p, sizeof n);
    *p += sizeof n;
    if (end - *p < n || n >= cap) return 0;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p += n;
    return 1;
}

static int unpack(const char *bytes, size_t len, unpacked *u)
{
    const unsigned char *p = (const unsigned char *)bytes, *end = p + len;
    if (len < sizeof u->L) return 0;
    memcpy(&u->L, p, sizeof u->L);
    p += sizeof u->L;
    if (u->L < 1 || !get_str(&p, end, u->name, sizeof u->name) || !get_str(&p, end, u->source, sizeof u->source)) return 0;
    uint16_t nc;
    if (end - p < (long)sizeof nc) return 0;
    memcpy(&nc, p, sizeof nc);
    p += sizeof nc;
    if (nc > 256) return 0;
    u->n_chains = nc;
    for (int c = 0; c < nc; c++)
        if (!get_str(&p, end, u->chain_ids[c], sizeof u->chain_ids[c])) return 0;
    const size_t need = (size_t)u->L * (1 + 4 + 1 + 1 + 80);
    if ((size_t)(end - p) != need) return 0;
    u->chain = p;
    u->resnum = p + u->L;
    u->icode = (const char *)(p + 5 * u->L);
    u->valid = p + 6 * u->L;
    u->probs = p + 7 * u->L;
    return 1;
}

static pd_status write_array(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank, const int64_t *dims,
                             const void *data, const char *description)
{
    PD_TRY(pd_h5_array_put(loc, name, file_type, mem_type, rank, dims, data));
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    pd_status st = ds >= 0 ? pd_h5_attr_write_string(ds, "description", description)
                           : pd_h5_fail(PD_ERR_IO, "cannot open /%s", name);
    if (ds >= 0) H5Dclose(ds);
    return st;
}

static pd_status write_strings(hid_t loc, const char *name, const char *data, size_t n, size_t width, const char *description)
{
    hid_t type = pd_h5_string_type(width);
    const int64_t dims[1] = {(int64_t)n};
    pd_status st = write_array(loc, name, type, type, 1, dims, data, description);
    H5Tclose(type);
    return st;
}

pd_status pd_probs_write(const char *path, int n, const char *const *packed, const size_t *packed_len, int samples,
                         const char *created_by)
{
    /* two passes over the packed bytes (sizes, then rows), one structure unpacked at a time */
    unpacked *u = pd_malloc(sizeof *u);
    if (!u) return PD_ERR_NOMEM;
    int64_t R = 0;
    size_t chain_w = 1, name_w = 1, source_w = 1;
    pd_status st = PD_OK;
    for (int e = 0; st == PD_OK && e < n; e++) {
        if (!unpack(packed[e], packed_len[e], u)) st = pd_fail(PD_ERR_FORMAT, "--probs: the distribution of structure %d is damaged", e);
        else {
            R += u->L;
            for (int c = 0; c < u->n_chains; c++)
                if (strlen(u->chain_ids[c]) > chain_w) chain_w = strlen(u->chain_ids[c]);
            if (strlen(u->name) > name_w) name_w = strlen(u->name);
            if (strlen(u->source) > source_w) source_w = strlen(u->source);
        }
    }
    float *probs = NULL;
    uint8_t *valid = NULL;
    int32_t *resnum = NULL;
    char *chain = NULL, *icode = NULL, *names = NULL, *sources = NULL;
    int64_t *offset = NULL, *length = NULL;
    if (st == PD_OK) {
        probs = pd_malloc((size_t)R * 20 * sizeof *probs);
        valid = pd_malloc((size_t)R);
        resnum = pd_malloc((size_t)R * sizeof *resnum);
        chain = pd_calloc((size_t)R, chain_w);
        icode = pd_calloc((size_t)R, 1);
        names = pd_calloc((size_t)n, name_w);
        sources = pd_calloc((size_t)n, source_w);
        offset = pd_malloc((size_t)n * sizeof *offset);
        length = pd_malloc((size_t)n * sizeof *length);
        if (!probs || !valid || !resnum || !chain || !icode || !names || !sources || !offset || !length) st = PD_ERR_NOMEM;
    }
    for (int e = 0, r = 0; st == PD_OK && e < n; e++) {
        unpack(packed[e], packed_len[e], u);
        offset[e] = r;
        length[e] = u->L;
        memcpy(names + (size_t)e * name_w, u->name, strlen(u->name));
        memcpy(sources + (size_t)e * source_w, u->source, strlen(u->source));
        memcpy(probs + (size_t)r * 20, u->probs, (size_t)u->L * 20 * sizeof *probs);
        memcpy(resnum + r, u->resnum, (size_t)u->L * sizeof *resnum);
        memcpy(valid + r, u->valid, (size_t)u->L);
        for (int64_t i = 0; i < u->L; i++, r++) {
            const char *id = u->chain_ids[u->chain[i] < u->n_chains ? u->chain[i] : 0];
            memcpy(chain + (size_t)r * chain_w, id, strlen(id));
            icode[r] = u->icode[i] == ' ' ? '\0' : u->icode[i];
        }
    }
    /* The shared protocol (dataset/h5file.h) on rank 0 alone: FILE.h5.partial, complete = 1
     * last, renamed to FILE.h5. */
    pd_h5_output out = {.file = -1};
    if (st == PD_OK) {
        st = pd_h5_output_create(&out, path, PD_H5_PARTIAL_SUFFIX, 0, MPI_COMM_SELF);
        if (st != PD_OK) pd_error_context("--probs");
    }
    const hid_t f = out.file;
    hid_t g = -1;
    if (st == PD_OK) st = pd_h5_output_stamp(&out, "proteindiff-probs", 1, created_by, NULL);
    if (st == PD_OK) st = pd_h5_attr_write_string(f, "alphabet", "ACDEFGHIKLMNPQRSTVWY");
    if (st == PD_OK) st = pd_h5_attr_write_int(f, "samples", samples);
    const int64_t d2[2] = {R, 20}, d1[1] = {R}, de[1] = {n};
    if (st == PD_OK)
        st = write_array(f, "probs", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d2, probs,
                         "per residue: the mean over samples of the model's 20-way distribution (columns in the order of the "
                         "alphabet attribute), after --symmetry ties, before omit/bias; zeros where valid = 0");
    if (st == PD_OK) st = write_array(f, "valid", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, valid, "1 where the residue has N, CA and C");
    if (st == PD_OK) st = write_array(f, "resnum", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, resnum, "author residue number");
    if (st == PD_OK) st = write_strings(f, "chain", chain, (size_t)R, chain_w, "author chain id");
    if (st == PD_OK) st = write_strings(f, "icode", icode, (size_t)R, 1, "insertion code, empty when none");
    if (st == PD_OK && (g = H5Gcreate2(f, "entries", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        st = pd_h5_fail(PD_ERR_IO, "cannot create /entries in %s", out.partial);
    if (st == PD_OK) st = write_strings(g, "name", names, (size_t)n, name_w, "the structure's file stem");
    if (st == PD_OK) st = write_strings(g, "source", sources, (size_t)n, source_w, "the structure file");
    if (st == PD_OK)
        st = write_array(g, "residue_offset", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, de, offset, "first row of the entry");
    if (st == PD_OK) st = write_array(g, "length", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, de, length, "rows of the entry");
    if (g >= 0) H5Gclose(g);
    if (f >= 0) {
        char *partial = pd_strdup(out.partial);
        st = pd_h5_output_finish(&out, st);
        if (st != PD_OK && partial) remove(partial);
        free(partial);
    }
    free(u);
    free(probs);
    free(valid);
    free(resnum);
    free(chain);
    free(icode);
    free(names);
    free(sources);
    free(offset);
    free(length);
    return st;
}
