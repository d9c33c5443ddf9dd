/* signals.c — the stop flag behind SIGTERM/SIGUSR1; see signals.h. */
#include "train/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t pending;
static struct sigaction old_term, old_usr1;

static void on_signal(int sig) { pending = sig; }

void pd_train_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    pending = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGUSR1, &sa, &old_usr1);
}

void pd_train_signals_restore(void)
{
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
}

int pd_train_signal_pending(void) { return (int)pending; }
