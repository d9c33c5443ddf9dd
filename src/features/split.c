/* split.c — hash split and split-file reader (split.h). */
#include "features/split.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

double pd_split_unit(const char *name)
{
    uint64_t h = pd_fnv1a64(name, strlen(name));
    return (double)(h >> 11) * 0x1p-53;
}

pd_split pd_split_by_hash(const char *name, double valid_fraction, double test_fraction)
{
    double u = pd_split_unit(name);
    double train = 1.0 - valid_fraction - test_fraction;
    if (u < train)
        return PD_SPLIT_TRAIN;
    if (u < train + valid_fraction)
        return PD_SPLIT_VALID;
    return PD_SPLIT_TEST;
}

const char *pd_split_name(pd_split s)
{
    switch (s) {
    case PD_SPLIT_TRAIN: return "train";
    case PD_SPLIT_VALID: return "valid";
    case PD_SPLIT_TEST: return "test";
    }
    return "?";
}

typedef struct named_split {
    char *name;
    uint8_t split;
    int line;
} named_split;

static int compare_named(const void *a, const void *b)
{
    const named_split *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

void pd_split_table_free(pd_split_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->splits);
    memset(t, 0, sizeof *t);
}

static pd_status read_split_lines(const char *path, FILE *f, named_split **out, int *n_out)
{
    named_split *items = NULL;
    int n = 0, cap = 0, line_no = 0;
    char line[4096];
    pd_status st = PD_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char name[2048], word[64], extra[8];
        int got = sscanf(line, "%2047s %63s %7s", name, word, extra);
        if (got <= 0)
            continue;
        if (got != 2) {
            st = pd_fail(PD_ERR_PARSE, "%s:%d: expected `<entry name> train|valid|test`", path, line_no);
            break;
        }
        int split = strcmp(word, "train") == 0 ? PD_SPLIT_TRAIN
                  : strcmp(word, "valid") == 0 ? PD_SPLIT_VALID
                  : strcmp(word, "test") == 0 ? PD_SPLIT_TEST : -1;
        if (split < 0) {
            st = pd_fail(PD_ERR_PARSE, "%s:%d: split \"%s\" is not one of train, valid, test", path, line_no, word);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            named_split *grown = pd_realloc(items, (size_t)cap * sizeof *grown);
            if (!grown) {
                st = PD_ERR_NOMEM;
                break;
            }
            items = grown;
        }
        items[n].name = pd_strdup(name);
        items[n].split = (uint8_t)split;
        items[n].line = line_no;
        if (!items[n++].name) {
            st = PD_ERR_NOMEM;
            break;
        }
    }
    if (st != PD_OK) {
        for (int i = 0; i < n; i++)
            free(items[i].name);
        free(items);
        return st;
    }
    *out = items;
    *n_out = n;
    return PD_OK;
}

pd_status pd_split_table_load(const char *path, pd_split_table *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return pd_fail(PD_ERR_IO, "cannot open split file %s: %s (data.split_file)", path, strerror(errno));
    named_split *items = NULL;
    int n = 0;
    pd_status st = read_split_lines(path, f, &items, &n);
    fclose(f);
    if (st != PD_OK)
        return st;
    qsort(items, (size_t)n, sizeof *items, compare_named);
    int unique = 0;
    for (int i = 0; i < n; i++) {
        if (unique > 0 && strcmp(items[unique - 1].name, items[i].name) == 0) {
            if (items[unique - 1].split != items[i].split && st == PD_OK)
                st = pd_fail(PD_ERR_PARSE, "%s:%d: entry %s is already listed as %s on line %d", path,
                             items[i].line, items[i].name, pd_split_name(items[unique - 1].split),
                             items[unique - 1].line);
            free(items[i].name);
            continue;
        }
        items[unique++] = items[i];
    }
    if (st == PD_OK) {
        t->names = pd_calloc((size_t)unique + 1, sizeof *t->names);
        t->splits = pd_calloc((size_t)unique + 1, 1);
        if (!t->names || !t->splits)
            st = PD_ERR_NOMEM;
    }
    if (st != PD_OK) {
        for (int i = 0; i < unique; i++)
            free(items[i].name);
        free(items);
        free(t->names);
        free(t->splits);
        memset(t, 0, sizeof *t);
        return st;
    }
    for (int i = 0; i < unique; i++) {
        t->names[i] = items[i].name;
        t->splits[i] = items[i].split;
    }
    t->n = unique;
    free(items);
    return PD_OK;
}

int pd_split_table_find(const pd_split_table *t, const char *name)
{
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(t->names[mid], name);
        if (c == 0)
            return t->splits[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

pd_split pd_split_assign(const pd_split_table *t, const char *name, double valid_fraction, double test_fraction)
{
    if (t) {
        int s = pd_split_table_find(t, name);
        if (s >= 0)
            return (pd_split)s;
    }
    return pd_split_by_hash(name, valid_fraction, test_fraction);
}
