/* signals.h — SIGTERM and SIGUSR1 (what Slurm sends before the wall time) only set a flag;
 * the training loop reads it at the end of each step, agrees on it across ranks, writes a
 * checkpoint and stops cleanly. */
#ifndef PD_TRAIN_SIGNALS_H
#define PD_TRAIN_SIGNALS_H

void pd_train_signals_install(void);
void pd_train_signals_restore(void);
/* The signal received since install (0 if none). */
int pd_train_signal_pending(void);

#endif
