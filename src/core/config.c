/* config.c — loading, validating and querying run files against the schema in
 * config_schema.c. Validation is complete before any work starts: the first problem found is
 * reported with file, line and key, and with the nearest valid key for a misspelling. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libconfig.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ small helpers */

int pd_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int *prev = malloc((lb + 1) * sizeof *prev), *cur = malloc((lb + 1) * sizeof *cur);
    if (!prev || !cur) { free(prev); free(cur); return 1 << 20; }
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        int *t = prev; prev = cur; cur = t;
    }
    int d = prev[lb];
    free(prev);
    free(cur);
    return d;
}

const char *pd_cfg_type_name(pd_cfg_type t)
{
    switch (t) {
    case PD_CFG_INT: return "an integer";
    case PD_CFG_FLOAT: return "a number";
    case PD_CFG_BOOL: return "true or false";
    case PD_CFG_STRING: return "a string";
    case PD_CFG_STRING_LIST: return "a list of strings";
    case PD_CFG_FLOAT_LIST: return "a list of numbers";
    }
    return "?";
}

static void free_value(pd_cfg_value *v)
{
    free(v->s);
    v->s = NULL;
    for (int i = 0; i < v->n && v->list; i++) free(v->list[i]);
    free(v->list);
    v->list = NULL;
    free(v->flist);
    v->flist = NULL;
    v->n = 0;
    v->has_value = 0;
}

static pd_cfg_value *find_value(const pd_config *cfg, const char *path)
{
    for (int i = 0; i < cfg->n; i++)
        if (strcmp(cfg->values[i].path, path) == 0) return &cfg->values[i];
    return NULL;
}

const pd_cfg_value *pd_cfg_find(const pd_config *cfg, const char *path) { return find_value(cfg, path); }

/* The nearest known key to `path`, for "did you mean" messages. */
static const char *nearest_key(const pd_config *cfg, const char *path)
{
    const char *best = NULL;
    int bestd = 1 << 20;
    for (int i = 0; i < cfg->n; i++) {
        int d = pd_edit_distance(path, cfg->values[i].path);
        if (d < bestd) { bestd = d; best = cfg->values[i].path; }
    }
    return best;
}

/* Any key that starts with "prefix." (so `prefix` names a group). */
static int is_group_prefix(const pd_config *cfg, const char *prefix)
{
    size_t n = strlen(prefix);
    for (int i = 0; i < cfg->n; i++)
        if (strncmp(cfg->values[i].path, prefix, n) == 0 && cfg->values[i].path[n] == '.') return 1;
    return 0;
}

/* ------------------------------------------------------------------ value checks */

static pd_status check_range(const char *where, const pd_cfg_value *v, double x)
{
    const pd_cfg_key *k = v->key;
    if (k->min <= k->max && (x < k->min || x > k->max || x != x))
        return pd_fail(PD_ERR_CONFIG, "%s: '%s' = %g is out of range [%g, %g] (%s)", where, v->path, x, k->min,
                       k->max, k->doc);
    return PD_OK;
}

static pd_status check_choice(const char *where, const pd_cfg_value *v)
{
    const char *c = v->key->choices;
    if (!c) return PD_OK;
    size_t n = strlen(v->s);
    for (const char *p = c; *p;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, v->s, n) == 0) return PD_OK;
        if (!e) break;
        p = e + 1;
    }
    return pd_fail(PD_ERR_CONFIG, "%s: '%s' = \"%s\" is not one of %s", where, v->path, v->s, c);
}

static pd_status check_value(const char *where, pd_cfg_value *v)
{
    switch (v->key->type) {
    case PD_CFG_INT: return check_range(where, v, (double)v->i);
    case PD_CFG_FLOAT: return check_range(where, v, v->f);
    case PD_CFG_STRING: return check_choice(where, v);
    case PD_CFG_FLOAT_LIST:
        for (int i = 0; i < v->n; i++) PD_TRY(check_range(where, v, v->flist[i]));
        return PD_OK;
    default: return PD_OK;
    }
}

/* ------------------------------------------------------------------ from libconfig settings */

static pd_status set_from_setting(pd_cfg_value *v, config_setting_t *s, const char *where)
{
    int t = config_setting_type(s);
    free_value(v);
    switch (v->key->type) {
    case PD_CFG_INT:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) break;
        v->i = config_setting_get_int64(s);
        goto ok;
    case PD_CFG_FLOAT:
        if (t == CONFIG_TYPE_FLOAT) v->f = config_setting_get_float(s);
        else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) v->f = (double)config_setting_get_int64(s);
        else break;
        goto ok;
    case PD_CFG_BOOL:
        if (t != CONFIG_TYPE_BOOL) break;
        v->b = config_setting_get_bool(s);
        goto ok;
    case PD_CFG_STRING:
        if (t != CONFIG_TYPE_STRING) break;
        v->s = strdup(config_setting_get_string(s));
        goto ok;
    case PD_CFG_STRING_LIST:
        if (t == CONFIG_TYPE_STRING) {
            v->n = 1;
            v->list = calloc(1, sizeof(char *));
            v->list[0] = strdup(config_setting_get_string(s));
            goto ok;
        }
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) break;
        v->n = config_setting_length(s);
        v->list = calloc(v->n ? v->n : 1, sizeof(char *));
        for (int i = 0; i < v->n; i++) {
            config_setting_t *e = config_setting_get_elem(s, i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                v->n = i;
                return pd_fail(PD_ERR_CONFIG, "%s: '%s' element %d must be a string", where, v->path, i);
            }
            v->list[i] = strdup(config_setting_get_string(e));
        }
        goto ok;
    case PD_CFG_FLOAT_LIST:
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) break;
        v->n = config_setting_length(s);
        v->flist = calloc(v->n ? v->n : 1, sizeof(double));
        for (int i = 0; i < v->n; i++) {
            config_setting_t *e = config_setting_get_elem(s, i);
            int et = config_setting_type(e);
            if (et == CONFIG_TYPE_FLOAT) v->flist[i] = config_setting_get_float(e);
            else if (et == CONFIG_TYPE_INT || et == CONFIG_TYPE_INT64) v->flist[i] = (double)config_setting_get_int64(e);
            else return pd_fail(PD_ERR_CONFIG, "%s: '%s' element %d must be a number", where, v->path, i);
        }
        goto ok;
    }
    return pd_fail(PD_ERR_CONFIG, "%s: '%s' must be %s (%s)", where, v->path, pd_cfg_type_name(v->key->type), v->key->doc);
ok:
    v->has_value = 1;
    return check_value(where, v);
}

/* Walk the parsed file; every leaf must be a schema key. */
static pd_status walk(pd_config *cfg, config_setting_t *group, const char *prefix, const char *file)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, i);
        const char *name = config_setting_name(s);
        char path[512], where[1024];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name ? name : "?");
        snprintf(where, sizeof where, "%s:%d", file, config_setting_source_line(s));
        pd_cfg_value *v = find_value(cfg, path);
        if (v) {
            PD_TRY(set_from_setting(v, s, where));
            v->origin = PD_ORIGIN_FILE;
            v->line = config_setting_source_line(s);
        } else if (config_setting_is_group(s) && is_group_prefix(cfg, path)) {
            PD_TRY(walk(cfg, s, path, file));
        } else {
            const char *near = nearest_key(cfg, path);
            return pd_fail(PD_ERR_CONFIG, "%s: unknown key '%s'; did you mean '%s'? (`proteindiff config --reference` lists every key)",
                           where, path, near ? near : "?");
        }
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ --set overrides */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static void unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

static pd_status parse_number(const char *arg, const char *text, int integer, long long *iv, double *fv)
{
    char *end;
    errno = 0;
    if (integer) {
        *iv = strtoll(text, &end, 0);
        if (*end == '\0' && errno == 0 && end != text) return PD_OK;
        double d = strtod(text, &end); /* accept 1e6 for integers when exact */
        if (*end == '\0' && end != text && d == (double)(long long)d) { *iv = (long long)d; return PD_OK; }
    } else {
        *fv = strtod(text, &end);
        if (*end == '\0' && errno == 0 && end != text) return PD_OK;
    }
    return pd_fail(PD_ERR_CONFIG, "--set %s: '%s' is not %s", arg, text, integer ? "an integer" : "a number");
}

static pd_status apply_override(pd_config *cfg, const char *arg)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", arg);
    char *eq = strchr(buf, '=');
    if (!eq) return pd_fail(PD_ERR_CONFIG, "--set %s: expected KEY=VALUE", arg);
    *eq = '\0';
    char *key = trim(buf), *val = trim(eq + 1);
    pd_cfg_value *v = find_value(cfg, key);
    if (!v) {
        const char *near = nearest_key(cfg, key);
        return pd_fail(PD_ERR_CONFIG, "--set %s: unknown key '%s'; did you mean '%s'?", arg, key, near ? near : "?");
    }
    char where[4200];
    snprintf(where, sizeof where, "--set %s", arg);
    free_value(v);
    switch (v->key->type) {
    case PD_CFG_INT: PD_TRY(parse_number(arg, val, 1, &v->i, NULL)); break;
    case PD_CFG_FLOAT: PD_TRY(parse_number(arg, val, 0, NULL, &v->f)); break;
    case PD_CFG_BOOL:
        if (!strcasecmp(val, "true") || !strcmp(val, "1") || !strcasecmp(val, "yes")) v->b = 1;
        else if (!strcasecmp(val, "false") || !strcmp(val, "0") || !strcasecmp(val, "no")) v->b = 0;
        else return pd_fail(PD_ERR_CONFIG, "--set %s: '%s' is not true or false", arg, val);
        break;
    case PD_CFG_STRING:
        unquote(val);
        v->s = strdup(val);
        break;
    case PD_CFG_STRING_LIST:
    case PD_CFG_FLOAT_LIST: {
        size_t n = strlen(val);
        if (n >= 2 && (val[0] == '[' || val[0] == '(')) { val[n - 1] = '\0'; val++; }
        int cap = 8;
        v->list = calloc(cap, sizeof(char *));
        v->flist = calloc(cap, sizeof(double));
        for (char *save = NULL, *tok = strtok_r(val, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            tok = trim(tok);
            if (!*tok) continue;
            if (v->n == cap) {
                cap *= 2;
                v->list = realloc(v->list, cap * sizeof(char *));
                v->flist = realloc(v->flist, cap * sizeof(double));
            }
            unquote(tok);
            if (v->key->type == PD_CFG_FLOAT_LIST) {
                long long dummy;
                (void)dummy;
                PD_TRY(parse_number(arg, tok, 0, NULL, &v->flist[v->n]));
                v->list[v->n] = NULL;
            } else {
                v->list[v->n] = strdup(tok);
            }
            v->n++;
        }
        if (v->key->type == PD_CFG_FLOAT_LIST) { free(v->list); v->list = NULL; }
        else { free(v->flist); v->flist = NULL; }
        break;
    }
    }
    v->has_value = 1;
    v->origin = PD_ORIGIN_OVERRIDE;
    v->line = 0;
    return check_value(where, v);
}

/* ------------------------------------------------------------------ defaults and cross-checks */

static pd_status set_default(pd_cfg_value *v)
{
    config_t c;
    config_init(&c);
    char text[1024];
    snprintf(text, sizeof text, "x = %s;", v->key->def);
    pd_status st = PD_OK;
    if (config_read_string(&c, text) != CONFIG_TRUE)
        st = pd_fail(PD_ERR, "internal: bad default for %s: %s", v->path, v->key->def);
    else
        st = set_from_setting(v, config_lookup(&c, "x"), "default");
    config_destroy(&c);
    v->origin = PD_ORIGIN_DEFAULT;
    return st;
}

static pd_status init_values(pd_config *cfg)
{
    size_t n = (size_t)pd_cfg_schema_len;
    for (int i = 0; i < pd_cfg_schema_len; i++)
        if (pd_cfg_schema[i].per_stage) n += (size_t)pd_cfg_n_stages;
    cfg->values = calloc(n, sizeof *cfg->values);
    if (!cfg->values) return pd_fail(PD_ERR_NOMEM, "out of memory");
    cfg->n = 0;
    for (int i = 0; i < pd_cfg_schema_len; i++) {
        pd_cfg_value *v = &cfg->values[cfg->n++];
        v->key = &pd_cfg_schema[i];
        v->path = strdup(pd_cfg_schema[i].path);
        PD_TRY(set_default(v));
    }
    for (int i = 0; i < pd_cfg_schema_len; i++) {
        if (!pd_cfg_schema[i].per_stage) continue;
        const char *name = strrchr(pd_cfg_schema[i].path, '.') + 1;
        for (int s = 0; s < pd_cfg_n_stages; s++) {
            pd_cfg_value *v = &cfg->values[cfg->n++];
            char path[256];
            snprintf(path, sizeof path, "train.%s.%s", pd_cfg_stages[s], name);
            v->key = &pd_cfg_schema[i];
            v->path = strdup(path);
            v->has_value = 0;
        }
    }
    return PD_OK;
}

static pd_status where_of(const pd_config *cfg, const char *path, char *buf, size_t len)
{
    const pd_cfg_value *v = find_value(cfg, path);
    if (v && v->origin == PD_ORIGIN_FILE) snprintf(buf, len, "%s:%d", cfg->file, v->line);
    else if (v && v->origin == PD_ORIGIN_OVERRIDE) snprintf(buf, len, "--set %s", path);
    else snprintf(buf, len, "%s", cfg->file);
    return PD_OK;
}

static pd_status cross_checks(pd_config *cfg)
{
    char w[1100];
    if (pd_cfg_int(cfg, "featurize.min_len") > pd_cfg_int(cfg, "featurize.max_len")) {
        where_of(cfg, "featurize.min_len", w, sizeof w);
        return pd_fail(PD_ERR_CONFIG, "%s: 'featurize.min_len' (%lld) is larger than 'featurize.max_len' (%lld)", w,
                       pd_cfg_int(cfg, "featurize.min_len"), pd_cfg_int(cfg, "featurize.max_len"));
    }
    long long vs = pd_cfg_int(cfg, "featurize.voxel_size");
    if (vs & (vs - 1)) {
        where_of(cfg, "featurize.voxel_size", w, sizeof w);
        return pd_fail(PD_ERR_CONFIG, "%s: 'featurize.voxel_size' = %lld must be a power of two (e.g. 16)", w, vs);
    }
    long long cls = pd_cfg_stage_int(cfg, "sc_vae", "classifier_steps"), steps = pd_cfg_stage_int(cfg, "sc_vae", "steps");
    if (cls > 0 && cls >= steps) {
        where_of(cfg, find_value(cfg, "train.sc_vae.classifier_steps") ? "train.sc_vae.classifier_steps"
                                                                        : "train.classifier_steps", w, sizeof w);
        return pd_fail(PD_ERR_CONFIG, "%s: 'train.sc_vae.classifier_steps' = %lld must be less than 'train.sc_vae.steps' = "
                       "%lld: the VAE phase needs at least one step (0 trains both parts every step; when cutting the "
                       "steps, cut it too, e.g. --set train.sc_vae.classifier_steps=1)", w, cls, steps);
    }
    if (pd_cfg_float(cfg, "data.valid_fraction") + pd_cfg_float(cfg, "data.test_fraction") >= 1.0) {
        where_of(cfg, "data.valid_fraction", w, sizeof w);
        return pd_fail(PD_ERR_CONFIG, "%s: 'data.valid_fraction' + 'data.test_fraction' must leave room for training (< 1)", w);
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ public API */

pd_status pd_config_defaults(pd_config *cfg, int n_sets, char *const *sets)
{
    return pd_config_load(cfg, NULL, "", n_sets, sets);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pd_fail(PD_ERR_CONFIG, "cannot open run file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static pd_status load_values(pd_config *cfg, const char *file, const char *text, int n_sets, char *const *sets)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->file = strdup(file ? file : "<defaults>");
    if (text) cfg->text = strdup(text);
    else if (!(cfg->text = read_file(file))) return PD_ERR_CONFIG;
    PD_TRY(init_values(cfg));

    config_t c;
    config_init(&c);
    if (config_read_string(&c, cfg->text) != CONFIG_TRUE) {
        pd_status st = pd_fail(PD_ERR_CONFIG, "%s:%d: %s (libconfig syntax: `key = value;` inside `group = { ... };`)",
                               cfg->file, config_error_line(&c), config_error_text(&c));
        config_destroy(&c);
        return st;
    }
    pd_status st = walk(cfg, config_root_setting(&c), "", cfg->file);
    config_destroy(&c);
    PD_TRY(st);
    for (int i = 0; i < n_sets; i++) PD_TRY(apply_override(cfg, sets[i]));
    return cross_checks(cfg);
}

pd_status pd_config_load(pd_config *cfg, const char *file, const char *text, int n_sets, char *const *sets)
{
    pd_status st = load_values(cfg, file, text, n_sets, sets);
    if (st != PD_OK) pd_config_free(cfg);   /* a failed load owns nothing (freeing it again is harmless) */
    return st;
}

void pd_config_free(pd_config *cfg)
{
    for (int i = 0; i < cfg->n; i++) {
        free_value(&cfg->values[i]);
        free(cfg->values[i].path);
    }
    free(cfg->values);
    free(cfg->file);
    free(cfg->text);
    memset(cfg, 0, sizeof *cfg);
}

static const pd_cfg_value *must(const pd_config *cfg, const char *path, pd_cfg_type t)
{
    const pd_cfg_value *v = find_value(cfg, path);
    if (!v || v->key->type != t) {
        fprintf(stderr, "internal error: run-file key '%s' is not in the schema as %s\n", path, pd_cfg_type_name(t));
        abort();
    }
    return v;
}

long long pd_cfg_int(const pd_config *cfg, const char *path) { return must(cfg, path, PD_CFG_INT)->i; }
double pd_cfg_float(const pd_config *cfg, const char *path) { return must(cfg, path, PD_CFG_FLOAT)->f; }
int pd_cfg_bool(const pd_config *cfg, const char *path) { return must(cfg, path, PD_CFG_BOOL)->b; }
const char *pd_cfg_str(const pd_config *cfg, const char *path) { return must(cfg, path, PD_CFG_STRING)->s; }

int pd_cfg_list_len(const pd_config *cfg, const char *path)
{
    const pd_cfg_value *v = find_value(cfg, path);
    if (!v || (v->key->type != PD_CFG_STRING_LIST && v->key->type != PD_CFG_FLOAT_LIST)) {
        fprintf(stderr, "internal error: run-file key '%s' is not a list in the schema\n", path);
        abort();
    }
    return v->n;
}

const char *pd_cfg_list_str(const pd_config *cfg, const char *path, int i)
{
    const pd_cfg_value *v = must(cfg, path, PD_CFG_STRING_LIST);
    return i >= 0 && i < v->n ? v->list[i] : NULL;
}

double pd_cfg_list_float(const pd_config *cfg, const char *path, int i)
{
    const pd_cfg_value *v = must(cfg, path, PD_CFG_FLOAT_LIST);
    return i >= 0 && i < v->n ? v->flist[i] : 0.0;
}

int pd_cfg_is_set(const pd_config *cfg, const char *path)
{
    const pd_cfg_value *v = find_value(cfg, path);
    return v && v->has_value && v->origin != PD_ORIGIN_DEFAULT;
}

static const pd_cfg_value *stage_value(const pd_config *cfg, const char *stage, const char *name, pd_cfg_type t)
{
    char path[256];
    snprintf(path, sizeof path, "train.%s.%s", stage, name);
    const pd_cfg_value *v = find_value(cfg, path);
    if (v && v->has_value) return must(cfg, path, t);
    snprintf(path, sizeof path, "train.%s", name);
    return must(cfg, path, t);
}

long long pd_cfg_stage_int(const pd_config *cfg, const char *stage, const char *name)
{
    return stage_value(cfg, stage, name, PD_CFG_INT)->i;
}
double pd_cfg_stage_float(const pd_config *cfg, const char *stage, const char *name)
{
    return stage_value(cfg, stage, name, PD_CFG_FLOAT)->f;
}
int pd_cfg_stage_bool(const pd_config *cfg, const char *stage, const char *name)
{
    return stage_value(cfg, stage, name, PD_CFG_BOOL)->b;
}

pd_status pd_config_check_inputs(const pd_config *cfg)
{
    const pd_cfg_value *v = must(cfg, "data.inputs", PD_CFG_STRING_LIST);
    char w[1100];
    where_of(cfg, "data.inputs", w, sizeof w);
    if (v->n == 0)
        return pd_fail(PD_ERR_CONFIG, "%s: 'data.inputs' is empty; give structure files, folders or globs, "
                       "e.g. --set data.inputs=../shared/data/pdb", w);
    for (int i = 0; i < v->n; i++) {
        struct stat st;
        if (stat(v->list[i], &st) == 0) continue;
        glob_t g;
        int r = glob(v->list[i], 0, NULL, &g);
        size_t matches = r == 0 ? g.gl_pathc : 0;
        globfree(&g);
        if (matches == 0)
            return pd_fail(PD_ERR_CONFIG, "%s: 'data.inputs' entry \"%s\" matches no file or folder", w, v->list[i]);
    }
    return PD_OK;
}
