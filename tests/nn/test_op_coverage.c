/* test_op_coverage.c — walks the op enum (src/nn/op.h) and checks that every op has a CPU
 * kernel, a double-precision finite-difference check and a PyTorch parity case; prints, per
 * op, where each was found and which backends of this build support it. The gradient checks
 * (test_gradcheck, test_conv_ops) and parity programs (test_parity, test_conv_parity) leave
 * the ops on the tapes of the cases they passed in tests/nn/<program>.ops (tests/nn/op_seen.h);
 * make check runs them first (tests/nn/local.mk). SKIPs (77) when one of them did not run
 * (the parity programs need torch), naming it. */
#include <stdio.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/backend_cpu.h"
#include "nn/op.h"
#include "test.h"

typedef struct source {
    const char *program;   /* writes tests/nn/<program>.ops */
    int kind;              /* 0 = finite differences, 1 = PyTorch parity */
    unsigned char ops[PD_OP_COUNT];
} source;

static source sources[] = {
    {"test_gradcheck", 0, {0}},
    {"test_conv_ops", 0, {0}},
    {"test_parity", 1, {0}},
    {"test_conv_parity", 1, {0}},
};
#define N_SOURCES ((int)(sizeof sources / sizeof sources[0]))

static int load(source *s)
{
    char path[256], line[128];
    snprintf(path, sizeof path, "tests/nn/%s.ops", s->program);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        const pd_op op = pd_op_from_name(line);
        if (op >= 0) s->ops[op] = 1;
        else fprintf(stderr, "%s names '%s', which is not in the op enum\n", path, line);
    }
    fclose(f);
    return 1;
}

/* The programs of `kind` that exercised op, comma-separated, or "-". */
static const char *found_in(pd_op op, int kind, char *buf, size_t size)
{
    buf[0] = 0;
    for (int i = 0; i < N_SOURCES; i++)
        if (sources[i].kind == kind && sources[i].ops[op])
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "", sources[i].program + 5);
    if (!buf[0]) snprintf(buf, size, "-");
    return buf;
}

int main(void)
{
    int missing_source = 0;
    for (int i = 0; i < N_SOURCES; i++)
        if (!load(&sources[i])) {
            printf("tests/nn/%s.ops is missing: %s did not run or did not pass\n", sources[i].program,
                   sources[i].program);
            missing_source = 1;
        }
    if (missing_source) {
        printf("SKIP: run make check (it runs those first) from the build directory\n");
        return 77;
    }

    printf("%-22s %-7s %-28s %-28s", "op", "cpu", "finite differences", "PyTorch parity");
    for (int b = 0; b < pd_backend_count(); b++) printf(" %-5s", pd_backend_at(b)->name);
    printf("\n");
    int incomplete = 0, in_table = 0;
    for (int i = 0; i < PD_OP_COUNT; i++) {
        const pd_op op = (pd_op)i;
        char fd[64], par[64];
        const int cpu = pd_backend_cpu()->supports(op);
        found_in(op, 0, fd, sizeof fd);
        found_in(op, 1, par, sizeof par);
        in_table += pd_backend_cpu_in_table(op);
        printf("%-22s %-7s %-28s %-28s", pd_op_name(op), cpu ? (pd_backend_cpu_in_table(op) ? "table" : "inline") : "-",
               fd, par);
        for (int b = 0; b < pd_backend_count(); b++) {
            const pd_backend *be = pd_backend_at(b);
            printf(" %-5s", be->supports(op) ? "yes" : pd_op_host_side(op) ? "host" : "-");
        }
        printf("\n");
        const int complete = cpu && strcmp(fd, "-") != 0 && strcmp(par, "-") != 0;
        CHECK_MSG(complete, "op '%s' lacks %s%s%s", pd_op_name(op), cpu ? "" : "a CPU kernel ",
                  strcmp(fd, "-") ? "" : "a finite-difference check ", strcmp(par, "-") ? "" : "a PyTorch parity case");
        incomplete += !complete;
    }
    printf("%d ops, %d without all three checks; %d CPU kernels in the backend table, %d inline in their op "
           "functions\n",
           PD_OP_COUNT, incomplete, in_table, PD_OP_COUNT - in_table);
    return pd_test_finish("test_op_coverage");
}
