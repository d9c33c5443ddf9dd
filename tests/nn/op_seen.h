/* op_seen.h — which ops (src/nn/op.h) a gradient-check or parity program exercised: the
 * programs mark the ops on the tape of every case they checked and, when all passed, write
 * the list to tests/nn/<program>.ops, which tests/nn/test_op_coverage reads. */
#ifndef PD_TEST_OP_SEEN_H
#define PD_TEST_OP_SEEN_H

#include "nn/tape.h"

/* Forget an earlier run's list (call first: a failing or skipped run leaves none). */
void pd_test_ops_seen_begin(const char *program);
/* Mark the ops on g's tape (after a case's backward), or one op. */
void pd_test_ops_seen_graph(const pd_graph *g);
void pd_test_ops_seen_mark(pd_op op);
/* Write the list when the program passed (exit code 0); returns exit_code unchanged. */
int pd_test_ops_seen_end(const char *program, int exit_code);

#endif
