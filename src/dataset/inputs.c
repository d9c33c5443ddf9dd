/* inputs.c — input expansion and per-round balancing for featurize; see inputs.h. */
#include "dataset/inputs.h"

#include "parallel/comm.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_LIST_DEPTH 8

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

int pd_input_is_structure_name(const char *name)
{
    size_t n = strlen(name);
    if (ends_with_ci(name, n, ".gz")) n -= 3;
    return ends_with_ci(name, n, ".pdb") || ends_with_ci(name, n, ".ent") || ends_with_ci(name, n, ".cif") ||
           ends_with_ci(name, n, ".mmcif");
}

int pd_input_is_list_name(const char *name)
{
    size_t n = strlen(name);
    return ends_with_ci(name, n, ".txt") || ends_with_ci(name, n, ".list");
}

void pd_inputs_free(pd_input_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->items[i].path);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static pd_status add_file(pd_input_list *l, const char *path, int64_t bytes)
{
    if (strchr(path, '\n')) return pd_fail(PD_ERR_CONFIG, "input path contains a newline: '%s'", path);
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        pd_input *p = pd_realloc(l->items, (size_t)cap * sizeof *p);
        if (!p) return PD_ERR_NOMEM;
        l->items = p;
        l->cap = cap;
    }
    pd_input *it = &l->items[l->n];
    it->path = pd_strdup(path);
    if (!it->path) return PD_ERR_NOMEM;
    it->bytes = bytes;
    it->work = ends_with_ci(path, strlen(path), ".gz") ? bytes * PD_GZIP_WORK_FACTOR : bytes;
    l->n++;
    return PD_OK;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = pd_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (a > 0 && dir[a - 1] != '/') p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

static pd_status walk_folder(const char *dir, pd_input_list *l)
{
    DIR *d = opendir(dir);
    if (!d) return pd_fail(PD_ERR_IO, "cannot read folder '%s'", dir);
    pd_status st = PD_OK;
    struct dirent *ent;
    while (st == PD_OK && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue; /* ., .. and hidden files */
        char *p = join_path(dir, ent->d_name);
        if (!p) { st = PD_ERR_NOMEM; break; }
        struct stat sb;
        if (stat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) st = walk_folder(p, l);
            else if (S_ISREG(sb.st_mode) && pd_input_is_structure_name(ent->d_name)) st = add_file(l, p, sb.st_size);
        }
        free(p);
    }
    closedir(d);
    return st;
}

static pd_status expand_one(const char *pattern, pd_input_list *l, int depth);

static pd_status read_list_file(const char *list, pd_input_list *l, int depth)
{
    if (depth >= MAX_LIST_DEPTH) return pd_fail(PD_ERR_CONFIG, "list file '%s': list files nest deeper than %d", list, MAX_LIST_DEPTH);
    FILE *f = fopen(list, "r");
    if (!f) return pd_fail(PD_ERR_IO, "cannot open list file '%s'", list);
    char *dir = pd_strdup(list);
    if (!dir) { fclose(f); return PD_ERR_NOMEM; }
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = '\0';
    else dir[0] = '\0';
    char line[8192];
    int lineno = 0;
    pd_status st = PD_OK;
    while (st == PD_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
        if (n == 0 || s[0] == '#') continue;
        char *p = s[0] == '/' || !dir[0] ? pd_strdup(s) : join_path(dir, s);
        if (!p) { st = PD_ERR_NOMEM; break; }
        st = expand_one(p, l, depth + 1);
        if (st != PD_OK) pd_error_context("%s:%d", list, lineno);
        free(p);
    }
    fclose(f);
    free(dir);
    return st;
}

static pd_status expand_path(const char *path, const struct stat *sb, pd_input_list *l, int depth)
{
    if (S_ISDIR(sb->st_mode)) return walk_folder(path, l);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (pd_input_is_list_name(base)) return read_list_file(path, l, depth);
    return add_file(l, path, sb->st_size);
}

static pd_status expand_one(const char *pattern, pd_input_list *l, int depth)
{
    struct stat sb;
    if (stat(pattern, &sb) == 0) return expand_path(pattern, &sb, l, depth);
    glob_t g;
    int r = glob(pattern, 0, NULL, &g);
    if (r != 0 || g.gl_pathc == 0) {
        if (r == 0) globfree(&g);
        return pd_fail(PD_ERR_CONFIG, "input \"%s\" matches no file or folder", pattern);
    }
    pd_status st = PD_OK;
    for (size_t i = 0; st == PD_OK && i < g.gl_pathc; i++)
        if (stat(g.gl_pathv[i], &sb) == 0) st = expand_path(g.gl_pathv[i], &sb, l, depth);
    globfree(&g);
    return st;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const pd_input *)a)->path, ((const pd_input *)b)->path);
}

pd_status pd_inputs_expand(int n_patterns, char *const *patterns, pd_input_list *out)
{
    for (int i = 0; i < n_patterns; i++) PD_TRY(expand_one(patterns[i], out, 0));
    if (out->n > 1) qsort(out->items, (size_t)out->n, sizeof *out->items, cmp_path);
    int w = 0;
    for (int i = 0; i < out->n; i++) {
        if (w > 0 && !strcmp(out->items[w - 1].path, out->items[i].path)) {
            free(out->items[i].path);
            continue;
        }
        out->items[w++] = out->items[i];
    }
    out->n = w;
    return PD_OK;
}

/* ------------------------------------------------------------------ balancing */

static int64_t item_work(int64_t w)
{
    return w > 0 ? w : 1; /* an empty file still costs an open and a failure record */
}

/* Greedy left-to-right cut with at most `limit` work per part: how many parts it takes. */
static int parts_needed(const int64_t *work, int n, int64_t limit)
{
    int parts = 1;
    int64_t load = 0;
    for (int i = 0; i < n; i++) {
        int64_t w = item_work(work[i]);
        if (load + w > limit && load > 0) {
            parts++;
            load = 0;
        }
        load += w;
    }
    return parts;
}

void pd_inputs_partition(const int64_t *work, int n, int nranks, int *owner)
{
    int64_t lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        int64_t w = item_work(work[i]);
        hi += w;
        if (w > lo) lo = w;
    }
    if (hi < lo) hi = lo;
    /* Smallest bottleneck that `nranks` contiguous parts can achieve (feasibility is monotone). */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (parts_needed(work, n, mid) <= nranks) hi = mid;
        else lo = mid + 1;
    }
    int rank = 0;
    int64_t load = 0;
    for (int i = 0; i < n; i++) {
        int64_t w = item_work(work[i]);
        if (load + w > lo && load > 0 && rank + 1 < nranks) {
            rank++;
            load = 0;
        }
        load += w;
        owner[i] = rank;
    }
}

void pd_inputs_assign_rounds(const pd_input_list *l, int nranks, int per_round, int *owner)
{
    int g = per_round * nranks;
    int64_t *work = malloc((size_t)(g > 0 ? g : 1) * sizeof *work);
    for (int first = 0; first < l->n; first += g) {
        int n = l->n - first < g ? l->n - first : g;
        if (!work) {
            /* Out of memory for one small array: equal counts, still contiguous and deterministic. */
            for (int i = 0; i < n; i++) owner[first + i] = (int)((int64_t)i * nranks / n);
            continue;
        }
        for (int i = 0; i < n; i++) work[i] = l->items[first + i].work;
        pd_inputs_partition(work, n, nranks, owner + first);
    }
    free(work);
}

/* ------------------------------------------------------------------ broadcast */

pd_status pd_inputs_bcast(MPI_Comm comm, pd_input_list *l, int **owner, int root)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int n = l->n;
    if (MPI_Bcast(&n, 1, MPI_INT, root, comm) != MPI_SUCCESS) return pd_fail(PD_ERR_MPI, "broadcast of the input count failed");
    /* Paths travel as one newline-joined string, sizes as two int64 arrays. */
    char *joined = NULL;
    if (rank == root) {
        size_t len = 1;
        for (int i = 0; i < n; i++) len += strlen(l->items[i].path) + 1;
        joined = pd_malloc(len);
        if (!joined) return PD_ERR_NOMEM;
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            size_t m = strlen(l->items[i].path);
            memcpy(joined + at, l->items[i].path, m);
            joined[at + m] = '\n';
            at += m + 1;
        }
        joined[at] = '\0';
    }
    PD_TRY(pd_bcast_string(comm, &joined, root));
    int64_t *sizes = pd_malloc(2 * (size_t)(n > 0 ? n : 1) * sizeof *sizes);
    if (!sizes) { free(joined); return PD_ERR_NOMEM; }
    if (rank == root)
        for (int i = 0; i < n; i++) { sizes[2 * i] = l->items[i].bytes; sizes[2 * i + 1] = l->items[i].work; }
    pd_status st = PD_OK;
    if (MPI_Bcast(sizes, 2 * n, MPI_INT64_T, root, comm) != MPI_SUCCESS) st = pd_fail(PD_ERR_MPI, "broadcast of input sizes failed");
    if (st == PD_OK && rank != root) {
        pd_inputs_free(l);
        char *s = joined;
        for (int i = 0; st == PD_OK && i < n; i++) {
            char *nl = strchr(s, '\n');
            *nl = '\0';
            st = add_file(l, s, sizes[2 * i]);
            if (st == PD_OK) l->items[i].work = sizes[2 * i + 1];
            s = nl + 1;
        }
    }
    free(sizes);
    free(joined);
    if (st == PD_OK && owner) {
        if (rank != root) {
            *owner = pd_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
            if (!*owner) return PD_ERR_NOMEM;
        }
        if (MPI_Bcast(*owner, n, MPI_INT, root, comm) != MPI_SUCCESS) st = pd_fail(PD_ERR_MPI, "broadcast of the input assignment failed");
    }
    return st;
}
