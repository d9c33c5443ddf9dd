/* metrics.c — building JSON lines and preparing metrics.jsonl for a (resumed) run; see metrics.h. */
#include "train/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void put(pd_json_line *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(pd_json_line *j, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = j->cap - j->len;
        int n = vsnprintf(j->buf ? j->buf + j->len : NULL, j->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (j->buf && (size_t)n < room) {
            j->len += (size_t)n;
            return;
        }
        size_t cap = j->cap ? j->cap : 256;
        while (cap - j->len <= (size_t)n) cap *= 2;
        char *grown = realloc(j->buf, cap);
        if (!grown) return;
        j->buf = grown;
        j->cap = cap;
    }
}

static void key(pd_json_line *j, const char *k) { put(j, "%s\"%s\": ", j->fields++ ? ", " : "", k); }

void pd_json_begin(pd_json_line *j)
{
    j->len = 0;
    j->fields = 0;
    put(j, "{");
}

void pd_json_str(pd_json_line *j, const char *k, const char *value)
{
    key(j, k);
    put(j, "\"");
    for (const char *c = value; *c; c++) {
        if (*c == '"' || *c == '\\') put(j, "\\%c", *c);
        else if ((unsigned char)*c < 0x20) put(j, "\\u%04x", (unsigned)*c);
        else put(j, "%c", *c);
    }
    put(j, "\"");
}

static void number(pd_json_line *j, double v)
{
    if (isfinite(v)) put(j, "%.17g", v);
    else put(j, "null");
}

void pd_json_num(pd_json_line *j, const char *k, double value)
{
    key(j, k);
    number(j, value);
}

void pd_json_int(pd_json_line *j, const char *k, int64_t value)
{
    key(j, k);
    put(j, "%lld", (long long)value);
}

void pd_json_list(pd_json_line *j, const char *k, int n, const double *values)
{
    key(j, k);
    put(j, "[");
    for (int i = 0; i < n; i++) {
        if (i) put(j, ", ");
        number(j, values[i]);
    }
    put(j, "]");
}

const char *pd_json_end(pd_json_line *j)
{
    put(j, "}");
    return j->buf ? j->buf : "{}";
}

void pd_json_free(pd_json_line *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

/* The stage and step of a metrics line written by pd_json_*; 0 if absent. */
static int line_of(const char *line, const char *stage, int64_t *step)
{
    char want[80];
    snprintf(want, sizeof want, "\"stage\": \"%s\"", stage);
    if (!strstr(line, want)) return 0;
    const char *s = strstr(line, "\"step\": ");
    if (!s) return 0;
    *step = strtoll(s + 8, NULL, 10);
    return 1;
}

pd_status pd_metrics_open(const char *path, const char *stage, int64_t keep_upto, FILE **out)
{
    *out = NULL;
    FILE *old = fopen(path, "r");
    if (old) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *kept = fopen(tmp, "w");
        if (!kept) {
            fclose(old);
            return pd_fail(PD_ERR_IO, "cannot write %s", tmp);
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, old)) > 0) {
            int64_t step;
            if (line_of(line, stage, &step) && step > keep_upto) continue;
            fwrite(line, 1, (size_t)n, kept);
        }
        free(line);
        fclose(old);
        if (fclose(kept) != 0 || rename(tmp, path) != 0) return pd_fail(PD_ERR_IO, "cannot rewrite %s", path);
    }
    *out = fopen(path, "a");
    if (!*out) return pd_fail(PD_ERR_IO, "cannot open %s for writing (is run.dir writable?)", path);
    return PD_OK;
}
