/* test_train.c — ten AdamW steps of a tiny model (input Linear -> pre-LN transformer block ->
 * head -> masked cross-entropy; warmup + cosine lr, decay on >= 2-D tensors, global-norm
 * clipping) must reproduce PyTorch's losses step by step (bundle from
 * tests/reference/nn_train_reference.py, argv[1]); then 5 steps + save to HDF5 + load into a fresh
 * store + 5 steps must equal the 10 uninterrupted steps bit for bit (argv[2]: scratch folder). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blocks.h"
#include "bundle.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "train/checkpoint_optim.h"
#include "train/checkpoint_params.h"
#include "test.h"

enum { STEPS = 10, BATCH = 3, LEN = 9, DIN = 12, D = 32, HEADS = 4, MLP = 64, ROPE = 8, CLASSES = 7 };
static const double LR = 3e-3, MIN_RATIO = 0.1, WD = 0.1, CLIP = 0.5;
static const int WARMUP = 3;

typedef struct tiny {
    pd_params P;
    pd_tensor *inp_w, *inp_b, *head_w, *head_b;
    pd_test_transformer block;
    pd_adamw opt;
} tiny;

static int tiny_init(tiny *m, const pd_bundle *b)
{
    pd_params_init(&m->P);
    pd_params_unit_begin(&m->P, "inp");
    m->inp_w = pd_param_new(&m->P, "inp.weight", 2, (int64_t[]){D, DIN}, PD_INIT_TORCH_DEFAULT, DIN);
    m->inp_b = pd_param_new(&m->P, "inp.bias", 1, (int64_t[]){D}, PD_INIT_TORCH_DEFAULT, DIN);
    pd_params_unit_end(&m->P);
    pd_params_unit_begin(&m->P, "block");
    pd_test_transformer_declare(&m->block, &m->P, "block.", D, HEADS, MLP, ROPE);
    pd_params_unit_end(&m->P);
    pd_params_unit_begin(&m->P, "head");
    m->head_w = pd_param_new(&m->P, "head.weight", 2, (int64_t[]){CLASSES, D}, PD_INIT_TORCH_DEFAULT, D);
    m->head_b = pd_param_new(&m->P, "head.bias", 1, (int64_t[]){CLASSES}, PD_INIT_TORCH_DEFAULT, D);
    pd_params_unit_end(&m->P);
    /* pad units as a 4-rank shard group would: layout must not change the numbers */
    if (pd_params_finalize(&m->P, 4) != PD_OK) return 0;
    pd_params_init_values(&m->P, 1);   /* overwritten below; exercises the init path */
    char key[256];
    for (int i = 0; i < m->P.n_params; i++) {
        snprintf(key, sizeof key, "train.param.%s", m->P.params[i]->name);
        if (!pd_bundle_copy(b, key, m->P.params[i]->t.data, m->P.params[i]->t.numel)) return 0;
    }
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    cfg.weight_decay = WD;
    return pd_adamw_init(&m->opt, &m->P, &cfg, 0, m->P.total) == PD_OK;
}

static void tiny_free(tiny *m)
{
    pd_adamw_free(&m->opt);
    pd_params_free(&m->P);
}

/* One training step on batch `step`; returns the loss (NAN on error). */
static double tiny_step(tiny *m, pd_graph *g, const pd_bundle *b, int step)
{
    char key[64];
    pd_graph_reset(g);
    snprintf(key, sizeof key, "train.x%d", step);
    pd_tensor *x = pd_bundle_tensor(g, b, key, 0);
    snprintf(key, sizeof key, "train.target%d", step);
    const int32_t *target = pd_bundle_i32(b, key);
    pd_tensor *h = pd_linear(g, x, m->inp_w, m->inp_b);
    h = pd_test_transformer_forward(g, &m->block, h, pd_bundle_i32(b, "train.pos"), pd_bundle_u8(b, "train.key_valid"));
    pd_tensor *logits = pd_linear(g, h, m->head_w, m->head_b);
    pd_tensor *loss = pd_cross_entropy(g, logits, target, -100, 0);
    pd_params_zero_grad(&m->P);
    if (!loss || pd_backward(g, loss) != PD_OK) {
        fprintf(stderr, "step %d: %s\n", step, pd_last_error());
        return NAN;
    }
    double norm = sqrt(pd_grad_sumsq(m->P.grad, m->P.total));
    pd_lr_schedule sched = {LR, WARMUP, STEPS, MIN_RATIO};
    pd_adamw_step(&m->opt, m->P.data, m->P.grad, pd_lr_at(&sched, step), pd_clip_factor(norm, CLIP));
    return loss->data[0];
}

static pd_status save_state(const tiny *m, const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return pd_fail(PD_ERR_IO, "cannot create %s", path);
    pd_status st = pd_ckpt_params_write(f, "params", &m->P, m->P.data);
    if (st == PD_OK) st = pd_ckpt_adamw_write(f, "adamw", &m->opt, &m->P);
    H5Fclose(f);
    return st;
}

static pd_status load_state(tiny *m, const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return pd_fail(PD_ERR_IO, "cannot open %s", path);
    pd_status st = pd_ckpt_params_read(f, "params", &m->P, m->P.data);
    if (st == PD_OK) st = pd_ckpt_adamw_read(f, "adamw", &m->opt, &m->P);
    H5Fclose(f);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_train BUNDLE SCRATCH_DIR\n");
        return 2;
    }
    pd_bundle b;
    if (pd_bundle_read(&b, argv[1]) != PD_OK) {
        fprintf(stderr, "%s\n", pd_last_error());
        return 1;
    }
    const pd_bundle_item *ref_losses = pd_bundle_get(&b, "train.losses");
    if (!ref_losses) return 1;
    const float *ref = ref_losses->data;
    pd_graph *g;
    if (pd_graph_create(&g, 0) != PD_OK) return 1;

    tiny a;
    CHECK_MSG(tiny_init(&a, &b), "%s", pd_last_error());
    printf("step   C loss        torch loss    rel diff\n");
    for (int s = 0; s < STEPS; s++) {
        double loss = tiny_step(&a, g, &b, s);
        double rel = fabs(loss - ref[s]) / fabs(ref[s]);
        printf("%4d   %.9f   %.9f   %.2e\n", s, loss, ref[s], rel);
        CHECK_MSG(rel <= 1e-5, "step %d: loss %.9g vs torch %.9g", s, loss, ref[s]);
    }
    char key[256];
    for (int i = 0; i < a.P.n_params; i++) {
        snprintf(key, sizeof key, "train.final.%s", a.P.params[i]->name);
        pd_bundle_compare(&b, key, a.P.params[i]->t.data, a.P.params[i]->t.numel, 1e-5);
    }

    /* 5 steps, save, load into a fresh model and optimizer, 5 more: bitwise equal to 10 steps. */
    char path[1024];
    snprintf(path, sizeof path, "%s/tiny_step5.h5", argv[2]);
    tiny first, resumed;
    CHECK(tiny_init(&first, &b));
    for (int s = 0; s < 5; s++) tiny_step(&first, g, &b, s);
    CHECK_MSG(save_state(&first, path) == PD_OK, "%s", pd_last_error());
    CHECK(tiny_init(&resumed, &b));   /* starts from the initial weights: load must overwrite everything */
    CHECK_MSG(load_state(&resumed, path) == PD_OK, "%s", pd_last_error());
    CHECK(resumed.opt.step == 5);
    for (int s = 5; s < STEPS; s++) tiny_step(&resumed, g, &b, s);
    CHECK_MSG(memcmp(resumed.P.data, a.P.data, (size_t)a.P.total * sizeof(pd_real)) == 0,
              "save/load/continue differs from the uninterrupted run");
    CHECK(memcmp(resumed.opt.m, a.opt.m, (size_t)a.P.total * sizeof(pd_real)) == 0);
    CHECK(memcmp(resumed.opt.v, a.opt.v, (size_t)a.P.total * sizeof(pd_real)) == 0);
    printf("5 steps + save + load + 5 steps == 10 steps, bit for bit: %s\n",
           memcmp(resumed.P.data, a.P.data, (size_t)a.P.total * sizeof(pd_real)) == 0 ? "yes" : "NO");

    tiny_free(&a);
    tiny_free(&first);
    tiny_free(&resumed);
    pd_graph_destroy(g);
    pd_bundle_free(&b);
    return pd_test_finish("test_train");
}
