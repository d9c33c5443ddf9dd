/* app.h — what every subcommand shares: ranks, the common options (--set, --verbose,
 * --help), and loading the run file on rank 0 and broadcasting it, validated on every rank
 * before any work starts. Commands are `pd_status cmd(pd_app *, int argc, char **argv)`. */
#ifndef PD_CLI_APP_H
#define PD_CLI_APP_H

#include <stdio.h>

#include "core/config.h"
#include "core/error.h"

typedef struct pd_app {
    int rank, nranks;
    int verbose;
    int n_sets;
    char **sets;          /* --set KEY=VALUE, in order */
    pd_config cfg;
    int have_cfg;
    const char *command;  /* "featurize" */
} pd_app;

typedef pd_status (*pd_command_fn)(pd_app *app, int argc, char **argv);

typedef struct pd_command {
    const char *name;
    pd_command_fn run;
    const char *summary;  /* one line for `proteindiff --help` */
    const char *usage;    /* full text for `proteindiff <cmd> --help` */
} pd_command;

extern const pd_command pd_commands[];
extern const int pd_n_commands;

/* Remove the common options from argv (in place); returns PD_ERR_USAGE on a bad one.
 * Sets *help when --help/-h was given. */
pd_status pd_app_parse_common(pd_app *app, int *argc, char **argv, int *help);
/* Rank 0 reads `path`, every rank gets the text, validates it with the --set overrides and
 * agrees on the outcome. Prints the effective configuration on rank 0 when `print` is set. */
pd_status pd_app_load_config(pd_app *app, const char *path, int print);
/* Run-time checks every run performs after loading (debug.fail_rank, thread settings). */
pd_status pd_app_start_run(pd_app *app);
void pd_app_free(pd_app *app);
/* Print a command's usage text. */
void pd_app_usage(const pd_command *cmd, FILE *out);
/* For commands whose issue has not landed: a clear message and a non-zero exit. */
pd_status pd_not_implemented(const char *what, const char *issue);
/* Threads per rank: run.threads, or cores on the node / ranks on the node. Applies to
 * OpenBLAS and OpenMP. */
int pd_app_threads(const pd_app *app);

#endif
