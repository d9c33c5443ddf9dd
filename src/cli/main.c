/* main.c — `proteindiff <command>`: start MPI, pick the subcommand, report its outcome.
 * No logic lives here that a test cannot reach through a command. */
#include <stdio.h>
#include <string.h>

#include "cli/app.h"
#include "core/log.h"
#include "parallel/comm.h"

static void usage(FILE *out)
{
    fprintf(out, "proteindiff — protein structure learning on MPI clusters\n\n"
                 "usage: proteindiff <command> [options]   (under mpirun/srun for many ranks)\n\n"
                 "commands:\n");
    for (int i = 0; i < pd_n_commands; i++) fprintf(out, "  %-10s %s\n", pd_commands[i].name, pd_commands[i].summary);
    fprintf(out, "\n`proteindiff <command> --help` explains each. Run files: input/*.cfg, docs/run-file.md.\n");
}

int main(int argc, char **argv)
{
    if (pd_mpi_init(&argc, &argv) != PD_OK) {
        fprintf(stderr, "error: %s\n", pd_last_error());
        return 1;
    }
    pd_app app = {0};
    app.rank = pd_world_rank();
    app.nranks = pd_world_size();
    pd_log_init(app.rank, app.nranks, 0);

    pd_status st = PD_OK;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (app.rank == 0) usage(stdout);
        st = argc < 2 ? PD_ERR_USAGE : PD_OK;
        if (argc < 2) pd_fail(PD_ERR_USAGE, "no command given");
        goto done;
    }
    if (!strcmp(argv[1], "--version")) argv[1] = "version";

    const pd_command *cmd = NULL;
    for (int i = 0; i < pd_n_commands; i++)
        if (!strcmp(argv[1], pd_commands[i].name)) cmd = &pd_commands[i];
    if (!cmd) {
        const char *best = pd_commands[0].name;
        int bestd = 1 << 20;
        for (int i = 0; i < pd_n_commands; i++) {
            int d = pd_edit_distance(argv[1], pd_commands[i].name);
            if (d < bestd) { bestd = d; best = pd_commands[i].name; }
        }
        st = pd_fail(PD_ERR_USAGE, "unknown command '%s'; did you mean '%s'? (proteindiff --help lists them)", argv[1], best);
        goto done;
    }
    app.command = cmd->name;
    int cargc = argc - 2, help = 0;
    char **cargv = argv + 2;
    st = pd_app_parse_common(&app, &cargc, cargv, &help);
    if (st == PD_OK && help) {
        if (app.rank == 0) pd_app_usage(cmd, stdout);
        goto done;
    }
    if (st == PD_OK) st = cmd->run(&app, cargc, cargv);

done:
    if (st != PD_OK) {
        if (st == PD_ERR_USAGE || pd_error_agreed() || app.nranks == 1) {
            /* Usage errors are the same on every rank; agreed errors are held by every rank. */
            if (app.rank == 0) pd_error("%s", pd_last_error());
        } else {
            /* A failure this rank alone knows about: never leave the others waiting. */
            pd_abort_all(st);
        }
    }
    pd_app_free(&app);
    pd_mpi_finalize();
    return pd_exit_code(st);
}
