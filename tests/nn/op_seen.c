/* op_seen.c — the list of exercised ops a check program leaves for the coverage test (op_seen.h). */
#include "op_seen.h"

#include <stdio.h>

static unsigned char seen[PD_OP_COUNT];

static void path_of(const char *program, char *out, size_t size) { snprintf(out, size, "tests/nn/%s.ops", program); }

void pd_test_ops_seen_begin(const char *program)
{
    char path[256];
    path_of(program, path, sizeof path);
    remove(path);
}

void pd_test_ops_seen_mark(pd_op op)
{
    if (op >= 0 && op < PD_OP_COUNT) seen[op] = 1;
}

void pd_test_ops_seen_graph(const pd_graph *g)
{
    for (int i = 0; i < pd_tape_length(g); i++) pd_test_ops_seen_mark(pd_tape_node(g, i)->op_id);
}

int pd_test_ops_seen_end(const char *program, int exit_code)
{
    if (exit_code != 0) return exit_code;
    char path[256];
    path_of(program, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "note: cannot write %s (run from the build directory to feed test_op_coverage)\n", path);
        return exit_code;
    }
    for (int op = 0; op < PD_OP_COUNT; op++)
        if (seen[op]) fprintf(f, "%s\n", pd_op_name((pd_op)op));
    fclose(f);
    return exit_code;
}
