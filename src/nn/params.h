/* params.h — the parameter store of one model: ONE flat pd_real buffer (and a parallel
 * gradient buffer) holding every parameter as a named view, grouped into units (a block each)
 * that are contiguous ranges padded so a shard group of S ranks can split each unit evenly.
 * Collectives are then single calls on contiguous slices; init depends on (seed, name) only. */
#ifndef PD_NN_PARAMS_H
#define PD_NN_PARAMS_H

#include <stdint.h>

#include "core/error.h"
#include "nn/device.h"
#include "nn/tensor.h"

typedef enum pd_init {
    PD_INIT_ZEROS = 0,
    PD_INIT_ONES,
    PD_INIT_CONSTANT,        /* arg = value */
    PD_INIT_NORMAL,          /* arg = std */
    PD_INIT_UNIFORM,         /* U(-arg, arg) */
    PD_INIT_XAVIER_UNIFORM,  /* arg = gain; bound = gain sqrt(6 / (fan_in + fan_out)) */
    PD_INIT_XAVIER_NORMAL,   /* arg = gain; std = gain sqrt(2 / (fan_in + fan_out)) */
    PD_INIT_KAIMING_UNIFORM, /* arg = gain; bound = gain sqrt(3 / fan_in) */
    PD_INIT_KAIMING_NORMAL,  /* arg = gain; std = gain / sqrt(fan_in) */
    PD_INIT_TORCH_DEFAULT    /* PyTorch's Linear/Conv default for weights AND biases:
                              * U(-1/sqrt(arg), 1/sqrt(arg)) with arg = the layer's fan_in */
} pd_init;

/* Alignment of each parameter inside its unit, in elements (64 bytes of f32). */
#define PD_PARAM_ALIGN 16

typedef struct pd_param {
    char *name;
    pd_tensor t;            /* the view: t.data / t.grad point into the flat buffers */
    int index;              /* position in pd_params.params */
    int unit;               /* unit id */
    int64_t offset;         /* element offset in the flat buffers */
    pd_init init;
    double init_arg;
    int decay;              /* AdamW weight decay applies (default: ndim >= 2) */
} pd_param;

typedef struct pd_param_unit {
    char *name;
    int64_t begin;          /* element offset of the unit in the flat buffers */
    int64_t size;           /* padded size: a multiple of PD_PARAM_ALIGN * pad_multiple */
    int first_param, n_params;
} pd_param_unit;

typedef struct pd_params {
    int n_params, cap_params;
    pd_param **params;      /* stable pointers: models keep &params[i]->t */
    int n_units, cap_units;
    pd_param_unit *units;
    int open_unit;          /* unit being declared, -1 if none */
    int64_t pad_multiple;   /* from finalize */
    int64_t total;          /* elements in each flat buffer (padded) */
    pd_real *data;          /* NULL until finalize */
    pd_real *grad;
    pd_device device;       /* where data/grad live: the default placement at pd_params_init
                             * (managed GPU memory for cuda; free them with pd_device_free) */
    pd_status status;       /* sticky error while declaring */
} pd_params;

void pd_params_init(pd_params *P);
void pd_params_free(pd_params *P);

/* Declaring (before finalize). Parameters declared outside any unit join a unit named "rest"
 * placed after the others. Names must be unique. On error the store's status becomes sticky
 * (returned by pd_params_finalize) and NULL / -1 is returned. */
int pd_params_unit_begin(pd_params *P, const char *name);
void pd_params_unit_end(pd_params *P);
pd_tensor *pd_param_new(pd_params *P, const char *name, int ndim, const int64_t *shape, pd_init init,
                        double init_arg);
/* Override the default decay choice (ndim >= 2) of a parameter. */
void pd_param_set_decay(pd_tensor *param, pd_params *P, int decay);

/* Lay out units (each padded to a multiple of PD_PARAM_ALIGN * pad_multiple elements; pass
 * the shard-group size, or 1), allocate zeroed data and grad buffers, bind the views. */
pd_status pd_params_finalize(pd_params *P, int64_t pad_multiple);
/* Fill every parameter by its init scheme from the counter RNG keyed by (seed, FNV-1a of the
 * parameter name, PD_RNG_INIT): values do not depend on layout, padding or rank count. */
void pd_params_init_values(pd_params *P, uint64_t seed);

pd_param *pd_params_find(const pd_params *P, const char *name);
pd_param *pd_params_of(const pd_params *P, const pd_tensor *param); /* NULL if not a parameter */
int64_t pd_params_count(const pd_params *P);   /* real (unpadded) elements */
void pd_params_zero_grad(pd_params *P);

/* FSDP: point the views of one unit at other memory (a gathered copy) laid out as the unit's
 * range of the flat buffers: data_base[i] is element begin+i. grad_base may be NULL (keep). */
void pd_params_bind_unit(pd_params *P, int unit, pd_real *data_base, pd_real *grad_base);
/* Point every view back at the store's own flat buffers. */
void pd_params_bind_flat(pd_params *P);

/* Files: src/nn knows no HDF5. A store (or any buffer in its layout) is saved and loaded as a
 * parameter group of a checkpoint by train/checkpoint_params.h. */

#endif
