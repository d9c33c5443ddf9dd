/* checkpoint_files.c — checkpoint names on disk: which files of a stage exist, which are
 * complete (renamed from .tmp and tagged complete = 1), the newest one to resume from, and
 * removing the oldest beyond train.keep_checkpoints. Rank 0 looks, every rank is told. */
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "dataset/h5util.h"
#include "parallel/comm.h"
#include "train/checkpoint.h"

/* Steps of `stage`'s finished-looking files (name <stage>-step<N>.h5) in dir, ascending. */
static int list_steps(const char *dir, const char *stage, int64_t **steps)
{
    *steps = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s-step", stage);
    size_t plen = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (strncmp(name, prefix, plen) || len < plen + 4 || strcmp(name + len - 3, ".h5")) continue;
        char *end;
        long long step = strtoll(name + plen, &end, 10);
        if (end != name + len - 3 || step < 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            int64_t *grown = realloc(*steps, (size_t)cap * sizeof **steps);
            if (!grown) break;
            *steps = grown;
        }
        (*steps)[n++] = step;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            int64_t t = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1];
            (*steps)[j - 1] = t;
        }
    return n;
}

static void checkpoint_name(const char *dir, const char *stage, int64_t step, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s-step%08lld.h5", dir, stage, (long long)step);
}

/* A complete checkpoint opens and carries format, version and complete = 1. */
static int is_complete(const char *path)
{
    pd_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int ok = 0;
    if (f >= 0) {
        ok = pd_checkpoint_verify(f, path, NULL) == PD_OK;
        H5Fclose(f);
    }
    pd_clear_error(); /* an unfinished or foreign file is an answer here, not an error */
    return ok;
}

pd_status pd_checkpoint_find_latest(const char *dir, const char *stage, MPI_Comm comm, char **path)
{
    *path = NULL;
    int rank;
    MPI_Comm_rank(comm, &rank);
    char *found = NULL;
    if (rank == 0) {
        int64_t *steps;
        int n = list_steps(dir, stage, &steps);
        for (int i = n - 1; i >= 0 && !found; i--) {
            char buf[4096];
            checkpoint_name(dir, stage, steps[i], buf, sizeof buf);
            if (is_complete(buf)) found = pd_strdup(buf);
            else pd_warn("checkpoint %s is incomplete or unreadable; looking at an older one", buf);
        }
        free(steps);
    }
    PD_TRY(pd_bcast_string(comm, &found, 0));
    *path = found;
    return PD_OK;
}

/* Rank 0, after a successful write: remove the oldest complete checkpoints beyond `keep`. */
void pd_checkpoint_prune(const char *dir, const char *stage, int keep)
{
    int64_t *steps;
    int n = list_steps(dir, stage, &steps);
    for (int i = 0; i + keep < n; i++) {
        char buf[4096];
        checkpoint_name(dir, stage, steps[i], buf, sizeof buf);
        if (unlink(buf) != 0) pd_warn("cannot remove old checkpoint %s", buf);
    }
    free(steps);
}

void pd_checkpoint_path(const char *dir, const char *stage, int64_t step, char *buf, size_t len)
{
    checkpoint_name(dir, stage, step, buf, len);
}

void pd_checkpoint_remove_unfinished(const char *dir, const char *stage)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s-step", stage);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, strlen(prefix)) || len < 8 || strcmp(de->d_name + len - 7, ".h5.tmp")) continue;
        char buf[8192];
        snprintf(buf, sizeof buf, "%s/%s", dir, de->d_name);
        pd_warn("removing %s: a checkpoint whose writer stopped before it was complete", buf);
        unlink(buf);
    }
    closedir(d);
}
