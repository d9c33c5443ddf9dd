/* residue_rules.c — a small JSON reader for exactly the two per-residue rule shapes of
 * residue_rules.h (an object of selector keys whose values are an object of letter -> number, or
 * a string of letters), and their resolution against a target. No JSON library is a dependency of
 * proteindiff; this reader accepts standard JSON and refuses anything else with a line number. */
#include "design/residue_rules.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design/selection.h"
#include "design/target.h"

typedef struct json_in {
    const char *path, *s;
    size_t at, len;
    int line;
} json_in;

static void skip_ws(json_in *in)
{
    while (in->at < in->len && isspace((unsigned char)in->s[in->at])) {
        if (in->s[in->at] == '\n') in->line++;
        in->at++;
    }
}

static pd_status expect(json_in *in, char c, const char *context)
{
    skip_ws(in);
    if (in->at >= in->len || in->s[in->at] != c)
        return pd_fail(PD_ERR_PARSE, "%s:%d: expected '%c' %s, found %s%.12s%s", in->path, in->line, c, context,
                       in->at < in->len ? "'" : "the end of the file", in->at < in->len ? in->s + in->at : "",
                       in->at < in->len ? "'" : "");
    in->at++;
    return PD_OK;
}

static int peek(json_in *in)
{
    skip_ws(in);
    return in->at < in->len ? (unsigned char)in->s[in->at] : -1;
}

/* A JSON string (escapes \" \\ \/ and \uXXXX below 128 only; selectors and letters are ASCII). */
static pd_status read_string(json_in *in, char *buf, size_t cap, const char *context)
{
    PD_TRY(expect(in, '"', context));
    size_t k = 0;
    while (in->at < in->len && in->s[in->at] != '"') {
        char c = in->s[in->at++];
        if (c == '\n') return pd_fail(PD_ERR_PARSE, "%s:%d: a string is not closed on its line", in->path, in->line);
        if (c == '\\' && in->at < in->len) {
            c = in->s[in->at++];
            if (c == 'u' && in->at + 4 <= in->len) {
                char hex[5] = {0};
                memcpy(hex, in->s + in->at, 4);
                long v = strtol(hex, NULL, 16);
                in->at += 4;
                if (v <= 0 || v > 127) return pd_fail(PD_ERR_PARSE, "%s:%d: only ASCII is allowed in keys and letters", in->path, in->line);
                c = (char)v;
            } else if (c != '"' && c != '\\' && c != '/') {
                return pd_fail(PD_ERR_PARSE, "%s:%d: unsupported escape '\\%c' in a string", in->path, in->line, c);
            }
        }
        if (k + 1 >= cap) return pd_fail(PD_ERR_PARSE, "%s:%d: string too long (%s)", in->path, in->line, context);
        buf[k++] = c;
    }
    if (in->at >= in->len) return pd_fail(PD_ERR_PARSE, "%s:%d: a string is not closed", in->path, in->line);
    in->at++;
    buf[k] = '\0';
    return PD_OK;
}

static pd_status read_number(json_in *in, double *v, const char *key, const char *letter)
{
    skip_ws(in);
    const char *p = in->s + in->at;
    char *end;
    *v = strtod(p, &end);
    if (end == p || !isfinite(*v))
        return pd_fail(PD_ERR_PARSE, "%s:%d: key '%s', letter '%s': the bias must be a finite number", in->path, in->line, key,
                       letter);
    in->at += (size_t)(end - p);
    return PD_OK;
}

static pd_status add_rule(pd_residue_rules *r, const char *selector, const char *path, int line, pd_residue_rule **out)
{
    pd_residue_rule *g = realloc(r->rule, (size_t)(r->n + 1) * sizeof *g);
    if (!g) return pd_fail(PD_ERR_NOMEM, "reading %s", path);
    r->rule = g;
    pd_residue_rule *x = &r->rule[r->n];
    memset(x, 0, sizeof *x);
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", path, line);
    x->selector = pd_strdup(selector);
    x->where = pd_strdup(where);
    if (!x->selector || !x->where) {
        free(x->selector);
        free(x->where);
        return PD_ERR_NOMEM;
    }
    r->n++;
    *out = x;
    return PD_OK;
}

/* One file: {"SEL": VALUE, ...}; VALUE is an object of letter -> number (bias) or a string (omit). */
static pd_status read_file(const char *path, int is_bias, pd_residue_rules *r)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pd_fail(PD_ERR_IO, "cannot open %s (%s)", path, is_bias ? "--bias-by-residue" : "--omit-by-residue");
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *g = realloc(text, cap);
            if (!g) {
                free(text);
                fclose(f);
                return pd_fail(PD_ERR_NOMEM, "reading %s", path);
            }
            text = g;
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    fclose(f);
    json_in in = {path, text ? text : "", 0, len, 1};
    const char *shape = is_bias ? "{\"A12\": {\"W\": 2.0}}" : "{\"A12\": \"CW\"}";
    pd_status st = expect(&in, '{', is_bias ? "(the file is an object like {\"A12\": {\"W\": 2.0}})"
                                            : "(the file is an object like {\"A12\": \"CW\"})");
    int first = 1;
    while (st == PD_OK && peek(&in) != '}') {
        if (!first) st = expect(&in, ',', "between keys");
        first = 0;
        char key[128], letters[256];
        if (st == PD_OK) st = read_string(&in, key, sizeof key, "(a residue key like \"A12\")");
        const int line = in.line;
        if (st == PD_OK) st = expect(&in, ':', "after a key");
        pd_residue_rule *rule = NULL;
        if (st == PD_OK) st = add_rule(r, key, path, line, &rule);
        if (st != PD_OK) break;
        if (!is_bias) {
            if (peek(&in) != '"') {
                st = pd_fail(PD_ERR_PARSE, "%s:%d: key '%s': the value must be a string of letters (%s)", path, line, key, shape);
                break;
            }
            st = read_string(&in, letters, sizeof letters, "(letters to omit)");
            for (const char *c = letters; st == PD_OK && *c; c++) {
                if (isspace((unsigned char)*c) || *c == ',') continue;
                const int a = pd_aa_index(*c);
                if (a < 0) st = pd_fail(PD_ERR_PARSE, "%s:%d: key '%s': '%c' is not one of the 20 amino-acid letters %s", path, line,
                                        key, *c, PD_AA_LETTERS);
                else rule->omit[a] = 1;
            }
            continue;
        }
        if (peek(&in) != '{') {
            st = pd_fail(PD_ERR_PARSE, "%s:%d: key '%s': the value must be an object of letter: bias (%s)", path, line, key, shape);
            break;
        }
        st = expect(&in, '{', "");
        int first_letter = 1;
        while (st == PD_OK && peek(&in) != '}') {
            if (!first_letter) st = expect(&in, ',', "between letters");
            first_letter = 0;
            if (st == PD_OK) st = read_string(&in, letters, sizeof letters, "(an amino-acid letter)");
            if (st == PD_OK) st = expect(&in, ':', "after a letter");
            double v = 0;
            if (st == PD_OK) st = read_number(&in, &v, key, letters);
            if (st != PD_OK) break;
            const int a = strlen(letters) == 1 ? pd_aa_index(letters[0]) : -1;
            if (a < 0)
                st = pd_fail(PD_ERR_PARSE, "%s:%d: key '%s': '%s' is not one of the 20 amino-acid letters %s", path, in.line, key,
                             letters, PD_AA_LETTERS);
            else rule->bias[a] += v;
        }
        if (st == PD_OK) st = expect(&in, '}', "to close the letters");
    }
    if (st == PD_OK) st = expect(&in, '}', "to close the file's object");
    if (st == PD_OK && peek(&in) != -1) st = pd_fail(PD_ERR_PARSE, "%s:%d: text after the closing '}'", path, in.line);
    free(text);
    return st;
}

void pd_residue_rules_free(pd_residue_rules *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->rule[i].selector);
        free(r->rule[i].where);
    }
    free(r->rule);
    memset(r, 0, sizeof *r);
}

pd_status pd_residue_rules_read(const char *bias_path, const char *omit_path, pd_residue_rules *out)
{
    memset(out, 0, sizeof *out);
    pd_status st = bias_path ? read_file(bias_path, 1, out) : PD_OK;
    if (st == PD_OK && omit_path) st = read_file(omit_path, 0, out);
    if (st != PD_OK) pd_residue_rules_free(out);
    return st;
}

pd_status pd_residue_rules_resolve(const pd_residue_rules *r, const pd_design_target *t, const pd_aa_rules *global,
                                   pd_aa_rules *per_residue)
{
    const int64_t L = t->length;
    for (int64_t i = 0; i < L; i++) per_residue[i] = *global;
    if (!r || r->n == 0) return PD_OK;
    uint8_t *mark = pd_malloc((size_t)L);
    if (!mark) return PD_ERR_NOMEM;
    pd_status st = PD_OK;
    for (int k = 0; st == PD_OK && k < r->n; k++) {
        const pd_residue_rule *rule = &r->rule[k];
        char what[4300];
        snprintf(what, sizeof what, "%s key '%s'", rule->where, rule->selector);
        memset(mark, 0, (size_t)L);
        int64_t hits = 0;
        st = pd_select_residues(t, rule->selector, strlen(rule->selector), what, mark, &hits);
        for (int64_t i = 0; st == PD_OK && i < L; i++) {
            if (!mark[i]) continue;
            int left = 0;
            for (int a = 0; a < 20; a++) {
                per_residue[i].bias[a] += rule->bias[a];
                per_residue[i].omit[a] |= rule->omit[a];
                left += !per_residue[i].omit[a];
            }
            if (!left) {
                char label[64];
                pd_residue_label(t, i, label, sizeof label);
                st = pd_fail(PD_ERR_USAGE, "%s: residue %s of %s is left with no amino acid to choose from", what, label, t->source);
            }
        }
    }
    free(mark);
    return st;
}
