/* memory_budget.c — the per-rank memory budget (memory_budget.h): run.memory_budget_mb or a share
 * of the node's available memory, agreed over the ranks. */
#include "parallel/memory_budget.h"

#include <stdio.h>

double pd_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024.0;
}

double pd_memory_budget(const pd_config *cfg, MPI_Comm world, int node_size, char *how, size_t how_len)
{
    const long long budget_mb = pd_cfg_int(cfg, "run.memory_budget_mb");
    double budget = (double)budget_mb * 1048576.0;
    if (budget_mb == 0) {
        if (node_size <= 0) {
            MPI_Comm node;
            int rank;
            MPI_Comm_rank(world, &rank);
            node_size = 1;
            if (MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
                MPI_Comm_size(node, &node_size);
                MPI_Comm_free(&node);
            }
        }
        const double avail = pd_memory_available();
        budget = avail > 0 ? 0.85 * avail / (double)node_size : 1e18;
        if (how) snprintf(how, how_len, "0.85 x %.0f MiB available / %d rank(s) on the node", avail / 1048576.0, node_size);
    } else if (how) {
        snprintf(how, how_len, "run.memory_budget_mb");
    }
    MPI_Allreduce(MPI_IN_PLACE, &budget, 1, MPI_DOUBLE, MPI_MIN, world);
    return budget;
}
