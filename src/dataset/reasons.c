/* reasons.c — grouping failure reasons into kinds; see reasons.h. */
#include "dataset/reasons.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void pd_reason_kind(const char *reason, char *kind, size_t len)
{
    const char *s = reason;
    const char *colon = strstr(s, ": ");
    if (colon && (!strncmp(s, "chain ", 6) || !strncmp(s, "assembly: ", 10))) s = colon + 2;
    const char *paren = strstr(s, " (");
    size_t end = paren ? (size_t)(paren - s) : strlen(s);
    size_t o = 0;
    for (size_t i = 0; i < end && o + 1 < len; i++) {
        if (isdigit((unsigned char)s[i])) {
            kind[o++] = 'N';
            while (i + 1 < end && isdigit((unsigned char)s[i + 1])) i++;
        } else {
            kind[o++] = s[i];
        }
    }
    kind[o] = '\0';
}

void pd_reason_tally_add(pd_reason_tally *t, const char *reason)
{
    char kind[256];
    pd_reason_kind(reason, kind, sizeof kind);
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->kinds[i], kind)) { t->counts[i]++; return; }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **k = realloc(t->kinds, (size_t)cap * sizeof *k);
        if (!k) return;
        t->kinds = k;
        long *c = realloc(t->counts, (size_t)cap * sizeof *c);
        if (!c) return;
        t->counts = c;
        t->cap = cap;
    }
    t->kinds[t->n] = strdup(kind);
    if (!t->kinds[t->n]) return;
    t->counts[t->n++] = 1;
}

void pd_reason_tally_sort(pd_reason_tally *t)
{
    /* Insertion sort: tallies are short. */
    for (int i = 1; i < t->n; i++)
        for (int j = i; j > 0; j--) {
            int swap = t->counts[j] > t->counts[j - 1] ||
                       (t->counts[j] == t->counts[j - 1] && strcmp(t->kinds[j], t->kinds[j - 1]) < 0);
            if (!swap) break;
            char *k = t->kinds[j]; t->kinds[j] = t->kinds[j - 1]; t->kinds[j - 1] = k;
            long c = t->counts[j]; t->counts[j] = t->counts[j - 1]; t->counts[j - 1] = c;
        }
}

void pd_reason_tally_free(pd_reason_tally *t)
{
    for (int i = 0; i < t->n; i++) free(t->kinds[i]);
    free(t->kinds);
    free(t->counts);
    memset(t, 0, sizeof *t);
}
