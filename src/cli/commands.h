/* commands.h — one function per subcommand, each in its own cmd_<name>.c. */
#ifndef PD_CLI_COMMANDS_H
#define PD_CLI_COMMANDS_H

#include "cli/app.h"

pd_status pd_cmd_featurize(pd_app *app, int argc, char **argv);
pd_status pd_cmd_train(pd_app *app, int argc, char **argv);
pd_status pd_cmd_encode(pd_app *app, int argc, char **argv);
pd_status pd_cmd_design(pd_app *app, int argc, char **argv);
pd_status pd_cmd_score(pd_app *app, int argc, char **argv);
pd_status pd_cmd_tokenize(pd_app *app, int argc, char **argv);
pd_status pd_cmd_evaluate(pd_app *app, int argc, char **argv);
pd_status pd_cmd_export(pd_app *app, int argc, char **argv);
pd_status pd_cmd_inspect(pd_app *app, int argc, char **argv);
pd_status pd_cmd_run(pd_app *app, int argc, char **argv);
pd_status pd_cmd_config(pd_app *app, int argc, char **argv);
pd_status pd_cmd_version(pd_app *app, int argc, char **argv);

#endif
