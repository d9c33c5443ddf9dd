/* h5file.c — the one implementation of proteindiff's output-file protocol (NAME.partial, stamp,
 * complete = 1 last, rename by rank 0) and of the format / version / complete / stage check
 * every reader makes; see h5file.h. */
#include "dataset/h5file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/h5util.h"
#include "parallel/comm.h"

#define COMPLETE_ATTR "complete"

static void clear(pd_h5_output *o)
{
    free(o->path);
    free(o->partial);
    o->path = o->partial = NULL;
    o->file = -1;
}

pd_status pd_h5_output_create(pd_h5_output *o, const char *path, const char *suffix, int flags, MPI_Comm comm)
{
    memset(o, 0, sizeof *o);
    o->file = -1;
    o->comm = comm;
    MPI_Comm_rank(comm, &o->rank);
    pd_h5_quiet();
    o->path = pd_strdup(path);
    o->partial = pd_malloc(strlen(path) + strlen(suffix) + 1);
    pd_status st = o->path && o->partial ? PD_OK : PD_ERR_NOMEM;
    if (st == PD_OK) {
        sprintf(o->partial, "%s%s", path, suffix);
        if (flags & PD_H5_COLLECTIVE_METADATA) {
            o->file = pd_h5_create_collective(o->partial, comm);
        } else {
            hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
            H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
            o->file = H5Fcreate(o->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
            H5Pclose(fapl);
        }
        if (o->file < 0)
            st = pd_h5_fail(PD_ERR_IO, "cannot create %s (check that its folder exists and is writable)", o->partial);
    }
    st = pd_agree(comm, st);
    if (st != PD_OK) pd_h5_output_abandon(o);
    return st;
}

pd_status pd_h5_output_stamp(pd_h5_output *o, const char *format, long long version, const char *created_by,
                             const char *config_text)
{
    PD_TRY(pd_h5_attr_write_string(o->file, "format", format));
    PD_TRY(pd_h5_attr_write_int(o->file, "version", version));
    PD_TRY(pd_h5_attr_write_string(o->file, "created_by", created_by ? created_by : "proteindiff"));
    if (config_text) PD_TRY(pd_h5_attr_write_string(o->file, "config", config_text));
    return pd_h5_attr_write_int(o->file, COMPLETE_ATTR, 0);
}

pd_status pd_h5_output_finish(pd_h5_output *o, pd_status local)
{
    pd_status st = pd_agree(o->comm, local);
    /* The last thing written: a reader treats any file without it as unfinished. */
    if (st == PD_OK) st = pd_agree(o->comm, pd_h5_attr_write_int(o->file, COMPLETE_ATTR, 1));
    if (H5Fclose(o->file) < 0 && st == PD_OK) st = pd_h5_fail(PD_ERR_IO, "cannot close %s (disk full?)", o->partial);
    o->file = -1;
    st = pd_agree(o->comm, st);
    if (st == PD_OK && o->rank == 0 && rename(o->partial, o->path) != 0)
        st = pd_fail(PD_ERR_IO, "cannot rename %s to %s: %s", o->partial, o->path, strerror(errno));
    st = pd_agree(o->comm, st);
    clear(o);
    return st;
}

void pd_h5_output_abandon(pd_h5_output *o)
{
    if (o->file >= 0) H5Fclose(o->file);
    clear(o);
}

/* The message of the attribute read that just failed, for the one that explains it. */
static void last_reason(char *why, size_t len)
{
    snprintf(why, len, "%s", pd_last_error());
    pd_clear_error();
}

pd_status pd_h5_verify(hid_t file, const char *path, const pd_h5_expect *e)
{
    char why[512];
    char *format = NULL;
    if (pd_h5_attr_read_string(file, "format", &format) != PD_OK) {
        last_reason(why, sizeof why);
        return pd_fail(PD_ERR_FORMAT, "%s: not a proteindiff %s (%s)", path, e->what, why);
    }
    const int other = strcmp(format, e->format) != 0;
    pd_status st = other ? pd_fail(PD_ERR_FORMAT, "%s: format is \"%s\", expected \"%s\"", path, format, e->format) : PD_OK;
    free(format);
    if (other) return st;
    long long version = 0, complete = 0;
    if (pd_h5_attr_read_int(file, "version", &version) != PD_OK) {
        last_reason(why, sizeof why);
        return pd_fail(PD_ERR_FORMAT, "%s: no usable format version (%s); this proteindiff reads version %lld", path, why,
                       e->version);
    }
    if (version != e->version)
        return pd_fail(PD_ERR_FORMAT, "%s: %s format version %lld, this proteindiff reads version %lld", path, e->what,
                       version, e->version);
    if (pd_h5_attr_read_int(file, COMPLETE_ATTR, &complete) != PD_OK || complete != 1) {
        pd_clear_error();
        return pd_fail(PD_ERR_FORMAT, "%s: incomplete %s (no '%s = 1' attribute): %s", path, e->what, COMPLETE_ATTR,
                       e->remedy ? e->remedy : "the run that wrote it did not finish");
    }
    if (!e->stage) return PD_OK;
    char *stage = NULL;
    if (pd_h5_attr_read_string(file, "stage", &stage) != PD_OK) {
        last_reason(why, sizeof why);
        return pd_fail(PD_ERR_FORMAT, "%s: a %s without a usable stage (%s), expected stage \"%s\"", path, e->what, why,
                       e->stage);
    }
    const int wrong = strcmp(stage, e->stage) != 0;
    st = wrong ? pd_fail(PD_ERR_FORMAT, "%s: a %s of stage \"%s\", expected stage \"%s\"", path, e->what, stage, e->stage)
               : PD_OK;
    free(stage);
    return st;
}

pd_status pd_h5_open_verified(const char *path, const pd_h5_expect *e, hid_t *file)
{
    *file = -1;
    pd_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return pd_h5_fail(PD_ERR_IO, "cannot open the %s %s", e->what, path);
    pd_status st = pd_h5_verify(f, path, e);
    if (st != PD_OK) {
        H5Fclose(f);
        return st;
    }
    *file = f;
    return PD_OK;
}
