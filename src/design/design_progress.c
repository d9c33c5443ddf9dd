/* design_progress.c — rank 0's progress line over every rank's designs (design_progress.h). */
#include "design/design_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"

enum { TAG_STEP = 1, TAG_DONE = 2 };

pd_status pd_design_progress_start(pd_design_progress *p, MPI_Comm comm, int64_t total)
{
    memset(p, 0, sizeof *p);
    MPI_Comm_rank(comm, &p->rank);
    MPI_Comm_size(comm, &p->size);
    if (MPI_Comm_dup(comm, &p->comm) != MPI_SUCCESS) return pd_fail(PD_ERR_MPI, "design: cannot duplicate the communicator");
    pd_progress_start(&p->bar, "structures", total, p->rank == 0);
    return PD_OK;
}

static void show(pd_design_progress *p)
{
    char extra[96];
    const double dt = pd_now() - p->bar.t_start;
    snprintf(extra, sizeof extra, "%.0f residues/s", dt > 0 ? (double)p->residues / dt : 0.0);
    pd_progress_update(&p->bar, p->done, extra);
}

/* Rank 0: take one message (blocking when wait) and count it; -1 when none was waiting. */
static int take(pd_design_progress *p, int wait)
{
    MPI_Status status;
    int flag = 1;
    if (!wait) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, p->comm, &flag, &status);
    if (!flag) return -1;
    int64_t msg[2];
    MPI_Recv(msg, 2, MPI_INT64_T, MPI_ANY_SOURCE, MPI_ANY_TAG, p->comm, &status);
    p->done += msg[0];
    p->residues += msg[1];
    p->finished += status.MPI_TAG == TAG_DONE;
    return 1;
}

static void send(pd_design_progress *p, int64_t structures, int64_t residues, int tag)
{
    if (p->n_req == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        /* buffers of pending sends must not move: wait for them before growing */
        if (p->n_req) MPI_Waitall(p->n_req, p->req, MPI_STATUSES_IGNORE);
        p->n_req = 0;
        int64_t(*s)[2] = realloc(p->sent, (size_t)cap * sizeof *s);
        MPI_Request *r = realloc(p->req, (size_t)cap * sizeof *r);
        if (s) p->sent = s;
        if (r) p->req = r;
        if (!s || !r) { /* no memory for a buffer: send synchronously */
            int64_t msg[2] = {structures, residues};
            MPI_Send(msg, 2, MPI_INT64_T, 0, tag, p->comm);
            return;
        }
        p->cap = cap;
    }
    p->sent[p->n_req][0] = structures;
    p->sent[p->n_req][1] = residues;
    MPI_Isend(p->sent[p->n_req], 2, MPI_INT64_T, 0, tag, p->comm, &p->req[p->n_req]);
    p->n_req++;
}

void pd_design_progress_step(pd_design_progress *p, int64_t residues)
{
    if (p->rank != 0) {
        send(p, 1, residues, TAG_STEP);
        return;
    }
    p->done++;
    p->residues += residues;
    while (take(p, 0) >= 0) {
    }
    show(p);
}

void pd_design_progress_finish(pd_design_progress *p)
{
    if (p->rank != 0) {
        send(p, 0, 0, TAG_DONE);
        MPI_Waitall(p->n_req, p->req, MPI_STATUSES_IGNORE);
    } else {
        while (p->finished < p->size - 1) {
            const int64_t before = p->done;
            take(p, 1);
            if (p->done > before) show(p);
        }
        pd_progress_finish(&p->bar, NULL);
    }
    free(p->sent);
    free(p->req);
    MPI_Comm_free(&p->comm);
}
