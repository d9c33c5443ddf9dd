/* config.h — run files. One schema table (config_schema.c) lists every key with its type,
 * default, range and meaning; the loader validates a whole libconfig file against it before
 * any work starts (unknown keys with a suggestion, wrong types, out-of-range values, each
 * naming file, line and key), applies --set overrides, and answers typed lookups. The same
 * table prints the run-file reference (docs/run-file.md), so the docs cannot drift. */
#ifndef PD_CORE_CONFIG_H
#define PD_CORE_CONFIG_H

#include <stdio.h>

#include "core/error.h"

typedef enum {
    PD_CFG_INT,
    PD_CFG_FLOAT,
    PD_CFG_BOOL,
    PD_CFG_STRING,
    PD_CFG_STRING_LIST,
    PD_CFG_FLOAT_LIST
} pd_cfg_type;

typedef struct pd_cfg_key {
    const char *path;     /* "featurize.min_len" */
    pd_cfg_type type;
    const char *def;      /* default, in libconfig value syntax ("40", "\"chain\"", "[0.9, 0.05]") */
    double min, max;      /* inclusive numeric range; ignored when min > max */
    const char *choices;  /* "chain|assembly" for enumerated strings, NULL otherwise */
    int per_stage;        /* also valid as train.<stage>.<name>; the stage value wins */
    const char *doc;
} pd_cfg_key;

/* The schema (config_schema.c) and the training stages that per-stage keys expand to. */
extern const pd_cfg_key pd_cfg_schema[];
extern const int pd_cfg_schema_len;
extern const char *const pd_cfg_stages[];
extern const int pd_cfg_n_stages;

typedef enum { PD_ORIGIN_DEFAULT = 0, PD_ORIGIN_FILE, PD_ORIGIN_OVERRIDE } pd_cfg_origin;

typedef struct pd_cfg_value {
    char *path;                 /* expanded path, e.g. "train.sc_vae.lr" */
    const pd_cfg_key *key;
    pd_cfg_origin origin;
    int line;                   /* line in the run file (0 if not from the file) */
    int has_value;              /* stage variants have none until set */
    long long i;
    double f;
    int b;
    char *s;
    int n;                      /* list length */
    char **list;
    double *flist;
} pd_cfg_value;

typedef struct pd_config {
    char *file;                 /* run-file path as given ("<none>" when built from defaults) */
    char *text;                 /* run-file text as read */
    int n;
    pd_cfg_value *values;
} pd_config;

/* Parse `text` (the content of run file `file`; NULL text reads the file), apply the
 * `n_sets` overrides "key=value", and validate everything. On failure the message names
 * the file, line and key (or the --set argument), and *cfg holds nothing (pd_config_free on it
 * is harmless). */
pd_status pd_config_load(pd_config *cfg, const char *file, const char *text, int n_sets, char *const *sets);
/* Defaults only, plus overrides (for tests and commands that need no run file). */
pd_status pd_config_defaults(pd_config *cfg, int n_sets, char *const *sets);
void pd_config_free(pd_config *cfg);

/* Typed lookups. Asking for a key that is not in the schema is a programming error: abort. */
long long pd_cfg_int(const pd_config *cfg, const char *path);
double pd_cfg_float(const pd_config *cfg, const char *path);
int pd_cfg_bool(const pd_config *cfg, const char *path);
const char *pd_cfg_str(const pd_config *cfg, const char *path);
int pd_cfg_list_len(const pd_config *cfg, const char *path);
const char *pd_cfg_list_str(const pd_config *cfg, const char *path, int i);
double pd_cfg_list_float(const pd_config *cfg, const char *path, int i);
int pd_cfg_is_set(const pd_config *cfg, const char *path);
/* Per-stage training settings: train.<stage>.<name> if set, else train.<name>. */
long long pd_cfg_stage_int(const pd_config *cfg, const char *stage, const char *name);
double pd_cfg_stage_float(const pd_config *cfg, const char *stage, const char *name);
int pd_cfg_stage_bool(const pd_config *cfg, const char *stage, const char *name);
const pd_cfg_value *pd_cfg_find(const pd_config *cfg, const char *path);

/* Every input pattern in data.inputs must match something; the error names file, line, key. */
pd_status pd_config_check_inputs(const pd_config *cfg);

/* The effective configuration in libconfig syntax (every key, its value and where it came
 * from), printed at the top of run logs and stored in outputs. Caller frees. */
char *pd_config_effective_text(const pd_config *cfg);
/* The run-file reference in Markdown, generated from the schema. */
void pd_config_write_reference(FILE *out);
/* "an integer", "a list of strings", ... for messages. */
const char *pd_cfg_type_name(pd_cfg_type t);
/* Levenshtein distance, exposed for tests and for command-name suggestions. */
int pd_edit_distance(const char *a, const char *b);

#endif
