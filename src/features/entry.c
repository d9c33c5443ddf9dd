/* entry.c — ownership helpers of the featurize/dataset contract (entry.h): lists of entries
 * and of failures that grow by doubling and free everything they own. */
#include "features/entry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pd_entry_free(pd_entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->source);
    free(e->aa);
    free(e->chain);
    free(e->resnum);
    free(e->icode);
    free(e->mask);
    free(e->atom14);
    free(e->cb);
    free(e->voxels);
    free(e->distogram);
    memset(e, 0, sizeof *e);
}

void pd_entry_list_clear(pd_entry_list *l)
{
    for (int i = 0; i < l->n; i++)
        pd_entry_free(&l->items[i]);
    l->n = 0;
}

void pd_failure_list_clear(pd_failure_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].source);
        free(l->items[i].reason);
    }
    l->n = 0;
}

pd_status pd_entry_list_push(pd_entry_list *l, pd_entry *e)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        pd_entry *grown = pd_realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return PD_ERR_NOMEM;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = *e;
    memset(e, 0, sizeof *e);
    return PD_OK;
}

pd_status pd_failure_list_add(pd_failure_list *l, const char *source, const char *fmt, ...)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        pd_failure *grown = pd_realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return PD_ERR_NOMEM;
        l->items = grown;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *reason = NULL;
    int len = vasprintf(&reason, fmt, ap);
    va_end(ap);
    char *src = pd_strdup(source ? source : "");
    if (len < 0 || !src) {
        free(reason);
        free(src);
        return pd_fail(PD_ERR_NOMEM, "out of memory recording a failure for %s", source ? source : "?");
    }
    l->items[l->n].source = src;
    l->items[l->n].reason = reason;
    l->n++;
    return PD_OK;
}
