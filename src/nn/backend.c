/* backend.c — the registry: which backends this build has. The only file of src/nn that knows
 * whether the CUDA backend is compiled in; cuda/backend.cu defines its table. */
#include "nn/backend.h"

#include "config.h"

/* The CUDA backend exists in a --with-cuda build, in the float library only (the
 * double-precision test library of src/nn always computes on the CPU). */
#if defined(PD_HAVE_CUDA) && !defined(PD_REAL_DOUBLE)
#define HAVE_CUDA_BACKEND 1
extern const pd_backend pd_cuda_backend;
#endif

static const pd_backend *const backends[] = {
    NULL, /* the cpu, filled in by pd_backend_at (its table lives in backend_cpu.c) */
#ifdef HAVE_CUDA_BACKEND
    &pd_cuda_backend,
#endif
};

int pd_backend_count(void) { return (int)(sizeof backends / sizeof backends[0]); }

const pd_backend *pd_backend_at(int i)
{
    if (i == 0) return pd_backend_cpu();
    return i > 0 && i < pd_backend_count() ? backends[i] : NULL;
}

const pd_backend *pd_backend_for(pd_device d)
{
    for (int i = 0; i < pd_backend_count(); i++) {
        const pd_backend *b = pd_backend_at(i);
        if (b->device == d) return b;
    }
    return NULL;
}
