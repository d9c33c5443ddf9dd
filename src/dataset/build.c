/* build.c — the featurize driver; see build.h. Rounds are contiguous slices of the sorted
 * input list (featurize.files_per_round files per rank), cut into one contiguous run per rank
 * balanced by expected work (so each rank writes one block per dataset); the writer places every input's output at its position in the sorted order, so the
 * dataset's content is the same for any number of ranks. */
#include "dataset/build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "dataset/inputs.h"
#include "dataset/reader.h"
#include "dataset/reasons.h"
#include "dataset/schema.h"
#include "dataset/writer.h"
#include "features/featurize.h"
#include "features/split.h"
#include "parallel/comm.h"

/* Longest author chain id we make room for in /entries/name (mmCIF allows 4; be generous).
 * featurize.c records a longer one as a failure (PD_MAX_CHAIN_ID, the same 32). */
#define CHAIN_ID_ROOM 32

/* Rank 0: is `path` a complete, valid dataset? Prints why not when it exists. */
static int dataset_is_complete(const char *path, int64_t *entries)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    pd_dataset *ds = NULL;
    if (pd_dataset_open(&ds, path, MPI_COMM_NULL) != PD_OK) {
        pd_info("featurize: existing %s is not a usable dataset (%s); rebuilding it", path, pd_last_error());
        pd_clear_error();
        return 0;
    }
    *entries = pd_dataset_n_entries(ds);
    pd_dataset_close(ds);
    return 1;
}

/* mkdir -p of the folder holding `path`. */
static pd_status make_parent_folder(const char *path)
{
    char *dir = pd_strdup(path);
    if (!dir) return PD_ERR_NOMEM;
    char *slash = strrchr(dir, '/');
    pd_status st = PD_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; st == PD_OK; p++) {
            if (*p == '/' || *p == '\0') {
                char c = *p;
                *p = '\0';
                struct stat sb;
                if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                    st = pd_fail(PD_ERR_IO, "cannot create folder '%s' for data.dataset: %s", dir, strerror(errno));
                else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
                    st = pd_fail(PD_ERR_IO, "'%s' (on the way to data.dataset) exists but is not a folder", dir);
                *p = c;
                if (c == '\0') break;
            }
        }
    }
    free(dir);
    return st;
}

static void field_widths(const pd_input_list *in, size_t *name_w, size_t *source_w)
{
    size_t src = 1, stem_max = 1;
    for (int i = 0; i < in->n; i++) {
        size_t n = strlen(in->items[i].path);
        if (n > src) src = n;
        char stem[4096];
        pd_featurize_stem(in->items[i].path, stem, sizeof stem);
        if (strlen(stem) > stem_max) stem_max = strlen(stem);
    }
    *source_w = src;
    *name_w = stem_max + 1 + CHAIN_ID_ROOM;
}

typedef struct run_state {
    const pd_config *cfg;
    MPI_Comm comm;
    int rank, nranks;
    pd_input_list inputs;
    int *owner;
    pd_featurize_opts opts;
    pd_charge_table charges;
    pd_featurize_stats stats;
    pd_split_table split_table;
    int have_split_table;
    double valid_fraction, test_fraction;
    double write_s, wait_s;
} run_state;

/* Featurize this rank's files of round [first, first + n) and write the round collectively. */
static pd_status run_round(run_state *rs, pd_writer *w, int first, int n)
{
    pd_entry_list entries = {0};
    pd_failure_list failures = {0};
    int mine = 0;
    for (int i = 0; i < n; i++) mine += rs->owner[first + i] == rs->rank;
    pd_file_output *outs = pd_calloc((size_t)mine + 1, sizeof *outs);
    int *entry_start = pd_calloc((size_t)mine + 1, sizeof(int)), *failure_start = pd_calloc((size_t)mine + 1, sizeof(int));
    pd_status st = outs && entry_start && failure_start ? PD_OK : PD_ERR_NOMEM;
    int k = 0;
    for (int i = 0; st == PD_OK && i < n; i++) {
        if (rs->owner[first + i] != rs->rank) continue;
        entry_start[k] = entries.n;
        failure_start[k] = failures.n;
        outs[k].slot = i;
        st = pd_featurize_file(rs->inputs.items[first + i].path, &rs->opts, &entries, &failures);
        if (st != PD_OK) pd_error_context("featurizing %s", rs->inputs.items[first + i].path);
        k++;
    }
    uint8_t *splits = pd_calloc((size_t)entries.n + 1, 1);
    if (st == PD_OK && !splits) st = PD_ERR_NOMEM;
    for (int e = 0; st == PD_OK && e < entries.n; e++)
        splits[e] = (uint8_t)pd_split_assign(rs->have_split_table ? &rs->split_table : NULL, entries.items[e].name,
                                             rs->valid_fraction, rs->test_fraction);
    /* The lists are complete now (no more reallocation): slice them per input. */
    for (int j = 0; st == PD_OK && j < k; j++) {
        int e_end = j + 1 < k ? entry_start[j + 1] : entries.n, f_end = j + 1 < k ? failure_start[j + 1] : failures.n;
        outs[j].entries = entries.items + entry_start[j];
        outs[j].n_entries = e_end - entry_start[j];
        outs[j].splits = splits + entry_start[j];
        outs[j].failures = failures.items + failure_start[j];
        outs[j].n_failures = f_end - failure_start[j];
    }
    st = pd_agree(rs->comm, st);
    if (st == PD_OK) {
        st = pd_writer_write_round(w, n, outs, k);
    }
    pd_entry_list_clear(&entries);
    pd_failure_list_clear(&failures);
    free(entries.items);
    free(failures.items);
    free(splits);
    free(outs);
    free(entry_start);
    free(failure_start);
    return st;
}

/* Rank 0: the closing summary, from the finished file itself (which also validates it). */
static void print_summary(const run_state *rs, const char *path, double seconds, pd_build_summary *sum)
{
    pd_dataset *ds = NULL;
    if (pd_dataset_open(&ds, path, MPI_COMM_NULL) != PD_OK) {
        pd_error("featurize: the dataset just written does not validate: %s", pd_last_error());
        return;
    }
    struct stat sb;
    sum->bytes_on_disk = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    int64_t splits[3] = {0};
    for (int64_t i = 0; i < pd_dataset_n_entries(ds); i++) {
        pd_entry_info info;
        if (pd_dataset_entry_info(ds, i, &info) == PD_OK) splits[info.split]++;
    }
    char dur[32];
    pd_format_duration(seconds, dur, sizeof dur);
    pd_info("featurize: done in %s: %lld files -> %lld entries (train %lld, valid %lld, test %lld), %lld residues, "
            "%lld skipped inputs/chains",
            dur, (long long)sum->files, (long long)sum->entries, (long long)splits[0], (long long)splits[1],
            (long long)splits[2], (long long)sum->residues, (long long)sum->failures);
    pd_info("featurize: %.1f files/s, %.0f residues/s on %d rank%s (featurize %.1f s, parse %.1f s, distograms %.1f s, "
            "voxels %.1f s summed over ranks; HDF5 writes %.1f s, waiting for other ranks up to %.1f s)",
            seconds > 0 ? sum->files / seconds : 0.0, seconds > 0 ? sum->residues / seconds : 0.0, rs->nranks,
            rs->nranks == 1 ? "" : "s", rs->stats.parse_s + rs->stats.distogram_s + rs->stats.voxels_s + rs->stats.other_s,
            rs->stats.parse_s, rs->stats.distogram_s, rs->stats.voxels_s, rs->write_s, rs->wait_s);
    pd_info("featurize: wrote %s: %.1f MB on disk, %.0f bytes/residue%s", path, sum->bytes_on_disk / 1e6,
            sum->residues > 0 ? (double)sum->bytes_on_disk / (double)sum->residues : 0.0,
            pd_cfg_int(rs->cfg, "featurize.compression") > 0 ? " (voxels gzip-compressed)" : "");
    if (pd_dataset_n_failures(ds) > 0) {
        pd_reason_tally tally = {0};
        for (int64_t i = 0; i < pd_dataset_n_failures(ds); i++) {
            const char *src, *reason;
            if (pd_dataset_failure(ds, i, &src, &reason) == PD_OK) pd_reason_tally_add(&tally, reason);
        }
        pd_reason_tally_sort(&tally);
        pd_info("featurize: skipped, by reason (details in /failed of the dataset):");
        for (int i = 0; i < tally.n && i < 12; i++) pd_info("  %6ld  %s", tally.counts[i], tally.kinds[i]);
        if (tally.n > 12) pd_info("  ... and %d more kinds (proteindiff inspect %s)", tally.n - 12, path);
        pd_reason_tally_free(&tally);
    }
    pd_dataset_close(ds);
}

static pd_status prepare(run_state *rs)
{
    const pd_config *cfg = rs->cfg;
    pd_status st = PD_OK;
    if (rs->rank == 0) {
        int n = pd_cfg_list_len(cfg, "data.inputs");
        char **patterns = pd_calloc((size_t)n + 1, sizeof(char *));
        if (!patterns) st = PD_ERR_NOMEM;
        for (int i = 0; st == PD_OK && i < n; i++) patterns[i] = (char *)pd_cfg_list_str(cfg, "data.inputs", i);
        if (st == PD_OK) st = pd_inputs_expand(n, patterns, &rs->inputs);
        if (st == PD_OK && rs->inputs.n == 0)
            st = pd_fail(PD_ERR_CONFIG, "data.inputs names no structure file (.pdb .ent .cif .mmcif, optionally .gz)");
        free(patterns);
        if (st == PD_OK) {
            rs->owner = pd_malloc((size_t)rs->inputs.n * sizeof(int));
            if (!rs->owner) st = PD_ERR_NOMEM;
            else pd_inputs_assign_rounds(&rs->inputs, rs->nranks, (int)pd_cfg_int(cfg, "featurize.files_per_round"), rs->owner);
        }
        if (st == PD_OK) st = make_parent_folder(pd_cfg_str(cfg, "data.dataset"));
    }
    PD_TRY(pd_agree(rs->comm, st));
    PD_TRY(pd_inputs_bcast(rs->comm, &rs->inputs, &rs->owner, 0));

    st = pd_featurize_opts_from_config(cfg, &rs->opts, &rs->charges);
    rs->opts.stats = &rs->stats;
    const char *split_file = pd_cfg_str(cfg, "data.split_file");
    if (st == PD_OK && split_file && split_file[0]) {
        st = pd_split_table_load(split_file, &rs->split_table);
        rs->have_split_table = st == PD_OK;
    }
    rs->valid_fraction = pd_cfg_float(cfg, "data.valid_fraction");
    rs->test_fraction = pd_cfg_float(cfg, "data.test_fraction");
    if (st == PD_OK && rs->valid_fraction + rs->test_fraction > 1.0)
        st = pd_fail(PD_ERR_CONFIG, "data.valid_fraction + data.test_fraction = %g exceeds 1",
                     rs->valid_fraction + rs->test_fraction);
    return pd_agree(rs->comm, st);
}

static void release(run_state *rs)
{
    pd_inputs_free(&rs->inputs);
    free(rs->owner);
    if (rs->have_split_table) pd_split_table_free(&rs->split_table);
}

/* Sum the per-rank timing of featurization onto rank 0 for the summary. */
static void reduce_stats(run_state *rs)
{
    double mine[6] = {rs->stats.parse_s, rs->stats.distogram_s, rs->stats.voxels_s, rs->stats.other_s, rs->write_s, rs->wait_s};
    double sum[6] = {0}, mx[6] = {0};
    MPI_Reduce(mine, sum, 6, MPI_DOUBLE, MPI_SUM, 0, rs->comm);
    MPI_Reduce(mine, mx, 6, MPI_DOUBLE, MPI_MAX, 0, rs->comm);
    if (rs->rank == 0) {
        rs->stats.parse_s = sum[0];
        rs->stats.distogram_s = sum[1];
        rs->stats.voxels_s = sum[2];
        rs->stats.other_s = sum[3];
        rs->write_s = mx[4];
        rs->wait_s = mx[5];
    }
}

pd_status pd_dataset_build(const pd_config *cfg, MPI_Comm comm, int force, const char *created_by, pd_build_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    run_state rs = {0};
    rs.cfg = cfg;
    rs.comm = comm;
    MPI_Comm_rank(comm, &rs.rank);
    MPI_Comm_size(comm, &rs.nranks);
    const char *path = pd_cfg_str(cfg, "data.dataset");
    double t0 = pd_now();

    int complete = 0;
    int64_t existing = 0;
    if (rs.rank == 0 && !force) complete = dataset_is_complete(path, &existing);
    MPI_Bcast(&complete, 1, MPI_INT, 0, comm);
    if (complete) {
        pd_info("featurize: %s is complete (%lld entries); nothing to do (--force rebuilds it)", path, (long long)existing);
        sum->skipped = 1;
        sum->entries = existing;
        return PD_OK;
    }

    pd_status st = prepare(&rs);
    if (st != PD_OK) { release(&rs); return st; }
    int per_round = (int)pd_cfg_int(cfg, "featurize.files_per_round");
    int group = per_round * rs.nranks;
    pd_info("featurize: %d structure files on %d rank%s, rounds of %d files (%d per rank), writing %s%s", rs.inputs.n,
            rs.nranks, rs.nranks == 1 ? "" : "s", group, per_round, path, PD_DATASET_PARTIAL_SUFFIX);

    char *config_text = pd_config_effective_text(cfg);
    pd_dataset_params params = {
        .voxel_size = rs.opts.voxel_size,
        .voxel_cell = rs.opts.voxel_cell,
        .distogram_dmax = PD_DATASET_DISTOGRAM_DMAX,
        .compression = (int)pd_cfg_int(cfg, "featurize.compression"),
        .config_text = config_text,
        .created_by = created_by,
    };
    field_widths(&rs.inputs, &params.name_width, &params.source_width);
    pd_writer *w = NULL;
    st = pd_writer_create(&w, path, comm, &params);
    free(config_text);
    if (st != PD_OK) { release(&rs); return st; }

    pd_progress prog;
    pd_progress_start(&prog, "files", rs.inputs.n, rs.rank == 0);
    prog.interval = pd_cfg_float(cfg, "run.progress_interval");
    for (int first = 0; st == PD_OK && first < rs.inputs.n; first += group) {
        int n = rs.inputs.n - first < group ? rs.inputs.n - first : group;
        st = run_round(&rs, w, first, n);
        if (st == PD_OK) {
            pd_dataset_totals t = pd_writer_totals(w);
            char extra[128];
            snprintf(extra, sizeof extra, "entries %lld  residues %lld  skipped %lld", (long long)t.entries,
                     (long long)t.residues, (long long)t.failures);
            pd_progress_update(&prog, first + n, extra);
        }
    }
    if (st != PD_OK) {
        pd_writer_abort(w);
        release(&rs);
        return st;
    }
    pd_dataset_totals totals = pd_writer_totals(w);
    pd_progress_finish(&prog, NULL);
    pd_writer_seconds(w, &rs.wait_s, &rs.write_s);
    reduce_stats(&rs);
    st = pd_writer_finish(w);
    if (st != PD_OK) { release(&rs); return st; }

    sum->files = rs.inputs.n;
    sum->entries = totals.entries;
    sum->residues = totals.residues;
    sum->failures = totals.failures;
    sum->seconds = pd_now() - t0;
    if (rs.rank == 0) print_summary(&rs, path, sum->seconds, sum);
    MPI_Bcast(&sum->bytes_on_disk, 1, MPI_INT64_T, 0, comm);
    release(&rs);
    if (totals.entries == 0)
        return pd_agree(comm, pd_fail(PD_ERR, "no usable entry came out of %lld input files (%lld skipped inputs/chains are listed in /failed "
                       "of %s; `proteindiff inspect %s` summarises them)", (long long)sum->files, (long long)sum->failures,
                       path, path));
    return PD_OK;
}
