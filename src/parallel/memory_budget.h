/* memory_budget.h — the per-rank memory budget every command plans against (issue 21): training's
 * micro-batches and memory plan, and the batches of entries of encode, design, evaluate and
 * tokenize. One rule for all, so a run file that trains on a machine also encodes and designs. */
#ifndef PD_PARALLEL_MEMORY_BUDGET_H
#define PD_PARALLEL_MEMORY_BUDGET_H

#include <mpi.h>
#include <stddef.h>

#include "core/config.h"

/* Collective over `world`: run.memory_budget_mb (MiB), or when it is 0, 0.85 x MemAvailable of
 * /proc/meminfo / the ranks of this node (MPI_COMM_TYPE_SHARED); the smallest rank's value, in
 * bytes, on every rank (1e18 when nothing is known). `how` (may be NULL) receives where the figure
 * came from, for messages ("run.memory_budget_mb" or "0.85 x ... MiB available / N rank(s) on the
 * node"). node_size: the ranks on this node, or 0 to find them. */
double pd_memory_budget(const pd_config *cfg, MPI_Comm world, int node_size, char *how, size_t how_len);

/* MemAvailable of /proc/meminfo in bytes; 0 when unknown. */
double pd_memory_available(void);

#endif
