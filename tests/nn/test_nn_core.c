/* test_nn_core.c — the machinery under the ops: f32<->bf16/f16 conversions, the arena, sticky
 * graph errors, detach, grad mode, FSDP unit hooks, the parameter store (layout, padding,
 * rank-independent init, HDF5 round trip and mismatch errors), AdamW range equivalence and
 * decay rules, the lr schedule, and rank-independent reparameterisation noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/half.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/params.h"
#include "nn/pointwise_simd.h"
#include "train/checkpoint_params.h"
#include "test.h"

/* ---- 16-bit conversions: properties checked against exact double arithmetic ---- */

static int bf16_nearest_ok(float x, uint16_t h)
{
    double v = pd_bf16_to_f32(h), dv = fabs(v - (double)x);
    for (int d = -1; d <= 1; d += 2) {
        uint16_t n = (uint16_t)(h + d);
        if ((n & 0x7f80) == 0x7f80) continue;   /* skip inf/NaN neighbours */
        double dn = fabs((double)pd_bf16_to_f32(n) - (double)x);
        if (dn < dv) return 0;
        if (dn == dv && (h & 1)) return 0;     /* tie must go to even */
    }
    return 1;
}

static int f16_nearest_ok(float x, uint16_t h)
{
    double v = pd_f16_to_f32(h), dv = fabs(v - (double)x);
    for (int d = -1; d <= 1; d += 2) {
        uint16_t n = (uint16_t)(h + d);
        if ((n & 0x7c00) == 0x7c00 || ((n ^ h) & 0x8000)) continue;
        double dn = fabs((double)pd_f16_to_f32(n) - (double)x);
        if (dn < dv) return 0;
        if (dn == dv && (h & 1)) return 0;
    }
    return 1;
}

static void test_half(void)
{
    CHECK(pd_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(pd_f32_to_bf16(-2.0f) == 0xc000);
    CHECK(pd_f32_to_bf16(3.14159265f) == 0x4049);
    CHECK(pd_f32_to_f16(1.0f) == 0x3c00);
    CHECK(pd_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(pd_f32_to_f16(65520.0f) == 0x7c00);            /* rounds to inf */
    CHECK(pd_f32_to_f16(5.9604645e-8f) == 0x0001);       /* smallest subnormal */
    CHECK(pd_f32_to_f16(-0.0f) == 0x8000);
    CHECK(isnan(pd_f16_to_f32(pd_f32_to_f16(NAN))));
    CHECK(isnan(pd_bf16_to_f32(pd_f32_to_bf16(NAN))));
    int bad_rt = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;   /* NaN payloads */
        if (pd_f32_to_f16(pd_f16_to_f32((uint16_t)h)) != h) bad_rt++;
        if (pd_f32_to_bf16(pd_bf16_to_f32((uint16_t)h)) != h && !((h & 0x7f80) == 0x7f80 && (h & 0x7f))) bad_rt++;
    }
    CHECK_MSG(bad_rt == 0, "%d 16-bit values do not round-trip", bad_rt);
    pd_rng r;
    pd_rng_init(&r, 9, 0, 0, PD_RNG_INIT);
    int bad_bf = 0, bad_f16 = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = pd_rng_u32(&r);
        float x = pd_bits_f32(u);
        if (!isfinite(x) || fabsf(x) > 3.3e38f) continue;
        if (!bf16_nearest_ok(x, pd_f32_to_bf16(x))) bad_bf++;
        float y = (float)((pd_rng_uniform(&r) * 2 - 1) * 70000.0 * pow(2.0, -30.0 * pd_rng_uniform(&r)));
        if (fabsf(y) < 65504.0f && !f16_nearest_ok(y, pd_f32_to_f16(y))) bad_f16++;
    }
    /* exact ties */
    CHECK(pd_f32_to_bf16(pd_bits_f32(0x3f808000u)) == 0x3f80);   /* tie, even below */
    CHECK(pd_f32_to_bf16(pd_bits_f32(0x3f818000u)) == 0x3f82);   /* tie, even above */
    CHECK_MSG(bad_bf == 0, "%d values not rounded to the nearest bf16 (ties to even)", bad_bf);
    CHECK_MSG(bad_f16 == 0, "%d values not rounded to the nearest f16 (ties to even)", bad_f16);
}

/* ---- arena ---- */

static void test_arena(void)
{
    pd_arena a;
    pd_arena_init(&a, 1024);
    void *p1 = pd_arena_alloc(&a, 10), *p2 = pd_arena_alloc(&a, 100), *p3 = pd_arena_alloc(&a, 5000);
    CHECK(p1 && p2 && p3);
    CHECK(((uintptr_t)p1 % 64) == 0 && ((uintptr_t)p2 % 64) == 0 && ((uintptr_t)p3 % 64) == 0);
    memset(p3, 1, 5000);   /* a chunk bigger than chunk_bytes */
    CHECK(pd_arena_peak(&a) >= 5000 + 128 + 64);
    size_t peak = pd_arena_peak(&a);
    pd_arena_reset(&a);
    CHECK(a.reserved == peak);   /* the step's chunks were merged into one of the peak size */
    void *q = pd_arena_alloc(&a, 5000);
    CHECK(q && ((uintptr_t)q % 64) == 0);
    CHECK(pd_arena_peak(&a) == peak);
    pd_arena_free(&a);

    /* Scratch by mark and rewind: memory handed out after the mark comes back, including a chunk
     * that the scratch made the arena grow by, and is used again rather than grown again. */
    pd_arena_init(&a, 1024);
    void *keep = pd_arena_alloc(&a, 512);
    pd_arena_mark m = pd_arena_mark_here(&a);
    void *s1 = pd_arena_alloc(&a, 256), *big = pd_arena_alloc(&a, 4096);
    CHECK(keep && s1 && big && a.used == 512 + 256 + 4096);
    size_t reserved = a.reserved;
    pd_arena_rewind(&a, m);
    CHECK(a.used == 512);
    CHECK(pd_arena_alloc(&a, 256) == s1);           /* the same place in the same chunk */
    CHECK(pd_arena_alloc(&a, 4096) == big);         /* the emptied chunk, not a new one */
    CHECK(a.reserved == reserved);
    pd_arena_mark empty = {0};
    pd_arena_rewind(&a, empty);                     /* a mark taken before the first chunk */
    CHECK(a.used == 0 && pd_arena_alloc(&a, 100) != NULL && a.reserved == reserved);
    pd_arena_free(&a);
}

/* ---- graph: errors, detach, grad mode ---- */

static void test_graph(void)
{
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_tensor *x = pd_tensor_zeros(g, 2, (int64_t[]){3, 4}), *w = pd_tensor_zeros(g, 2, (int64_t[]){5, 6});
    pd_tensor *y = pd_linear(g, x, w, NULL);
    CHECK(y == NULL);
    CHECK(pd_graph_status(g) != PD_OK);
    CHECK_MSG(strstr(pd_last_error(), "[3, 4]") && strstr(pd_last_error(), "[5, 6]"), "message: %s", pd_last_error());
    CHECK(pd_gelu(g, x) == NULL);   /* sticky */
    pd_graph_reset(g);
    CHECK(pd_graph_status(g) == PD_OK);

    /* detach stops the gradient; grad mode off records nothing */
    x = pd_tensor_new2(g, 2, 3);
    for (int i = 0; i < 6; i++) x->data[i] = (pd_real)(i + 1);
    x->requires_grad = 1;
    pd_tensor *l = pd_sum(g, pd_add(g, pd_mul(g, x, x), pd_detach(g, pd_mul(g, x, x))));
    CHECK(pd_backward(g, l) == PD_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(x->grad[i], 2.0 * (i + 1), 1e-6);   /* only the attached path */
    pd_graph_reset(g);
    x = pd_tensor_new2(g, 2, 3);
    x->requires_grad = 1;
    int old = pd_graph_set_grad(g, 0);
    CHECK(old == 1);
    pd_tensor *z = pd_gelu(g, x);
    CHECK(z && !z->requires_grad && pd_tape_length(g) == 0);
    pd_graph_set_grad(g, 1);
    pd_graph_destroy(g);
}

/* ---- FSDP unit hooks ---- */

typedef struct hook_log { char events[64][24]; int n; } hook_log;
static pd_status log_event(hook_log *h, const char *what, int unit)
{
    snprintf(h->events[h->n++], sizeof h->events[0], "%s%d", what, unit);
    return PD_OK;
}
static pd_status bf(void *u, int unit) { return log_event(u, "gather", unit); }
static pd_status af(void *u, int unit) { return log_event(u, "free", unit); }
static pd_status bb(void *u, int unit) { return log_event(u, "regather", unit); }
static pd_status ab(void *u, int unit) { return log_event(u, "reduce", unit); }

static void test_units(void)
{
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    hook_log log = {0};
    pd_unit_hooks hooks = {bf, af, bb, ab, &log};
    pd_graph_set_unit_hooks(g, &hooks);
    pd_tensor *x = pd_tensor_zeros(g, 2, (int64_t[]){2, 2});
    x->requires_grad = 1;
    pd_unit_begin(g, 0);
    pd_tensor *h = pd_gelu(g, x);
    pd_unit_end(g, 0);
    pd_unit_begin(g, 1);
    h = pd_silu(g, h);
    pd_unit_end(g, 1);
    CHECK(pd_backward(g, pd_sum(g, h)) == PD_OK);
    const char *want[] = {"gather0", "free0", "gather1", "free1", "regather1", "reduce1", "regather0", "reduce0"};
    CHECK(log.n == 8);
    for (int i = 0; i < 8 && i < log.n; i++) CHECK_MSG(!strcmp(log.events[i], want[i]), "event %d: %s, want %s", i, log.events[i], want[i]);
    /* nesting is an error */
    pd_graph_reset(g);
    pd_unit_begin(g, 0);
    pd_unit_begin(g, 1);
    CHECK(pd_graph_status(g) != PD_OK);
    pd_graph_destroy(g);
}

/* ---- parameter store ---- */

static void declare_model(pd_params *P, int extra_first)
{
    if (extra_first) pd_param_new(P, "other", 1, (int64_t[]){7}, PD_INIT_NORMAL, 1.0);
    pd_params_unit_begin(P, "block0");
    pd_param_new(P, "block0.w", 2, (int64_t[]){33, 17}, PD_INIT_KAIMING_NORMAL, 1.0);
    pd_param_new(P, "block0.b", 1, (int64_t[]){33}, PD_INIT_ZEROS, 0);
    pd_params_unit_end(P);
    pd_params_unit_begin(P, "block1");
    pd_param_new(P, "block1.w", 3, (int64_t[]){5, 4, 3}, PD_INIT_XAVIER_UNIFORM, 1.0);
    pd_param_new(P, "block1.g", 1, (int64_t[]){5}, PD_INIT_ONES, 0);
    pd_params_unit_end(P);
}

static void test_params(const char *scratch)
{
    pd_params A, B;
    pd_params_init(&A);
    pd_params_init(&B);
    declare_model(&A, 0);
    declare_model(&B, 1);
    CHECK(pd_params_finalize(&A, 1) == PD_OK);
    CHECK(pd_params_finalize(&B, 3) == PD_OK);
    pd_params_init_values(&A, 5);
    pd_params_init_values(&B, 5);
    CHECK(B.n_units == 3 && !strcmp(B.units[2].name, "rest"));
    for (int u = 0; u < B.n_units; u++) CHECK(B.units[u].size % (PD_PARAM_ALIGN * 3) == 0);
    for (int i = 0; i < B.n_params; i++) CHECK(B.params[i]->offset % PD_PARAM_ALIGN == 0);
    CHECK(pd_params_count(&A) == 33 * 17 + 33 + 60 + 5);
    /* same values whatever the layout, padding or other parameters */
    const char *names[] = {"block0.w", "block0.b", "block1.w", "block1.g"};
    for (int k = 0; k < 4; k++) {
        pd_param *pa = pd_params_find(&A, names[k]), *pb = pd_params_find(&B, names[k]);
        CHECK(pa && pb);
        if (pa && pb) CHECK(memcmp(pa->t.data, pb->t.data, (size_t)pa->t.numel * sizeof(pd_real)) == 0);
    }
    pd_param *w = pd_params_find(&A, "block0.w");
    double s2 = 0;
    for (int64_t i = 0; i < w->t.numel; i++) s2 += w->t.data[i] * w->t.data[i];
    double std = sqrt(s2 / (double)w->t.numel);
    CHECK_MSG(fabs(std - 1.0 / sqrt(17.0)) < 0.03, "kaiming normal std %.4f, want %.4f", std, 1.0 / sqrt(17.0));
    pd_param *x = pd_params_find(&A, "block1.w");
    double bound = sqrt(6.0 / (4 * 3 + 5 * 3)), mx = 0;
    for (int64_t i = 0; i < x->t.numel; i++) mx = fmax(mx, fabs(x->t.data[i]));
    CHECK(mx <= bound && mx > 0.5 * bound);
    CHECK(w->decay == 1 && pd_params_find(&A, "block0.b")->decay == 0);

    /* bind a unit elsewhere and back */
    pd_real *copy = malloc((size_t)A.units[1].size * sizeof(pd_real));
    memcpy(copy, A.data + A.units[1].begin, (size_t)A.units[1].size * sizeof(pd_real));
    pd_params_bind_unit(&A, 1, copy, NULL);
    CHECK(x->t.data == copy + (x->offset - A.units[1].begin) && x->t.data[3] == A.data[x->offset + 3]);
    pd_params_bind_flat(&A);
    CHECK(x->t.data == A.data + x->offset);
    free(copy);

    /* HDF5 round trip (across different layouts) and errors */
    char path[1024];
    snprintf(path, sizeof path, "%s/params.h5", scratch);
    CHECK_MSG(pd_ckpt_params_save(&A, path) == PD_OK, "%s", pd_last_error());
    pd_params C;
    pd_params_init(&C);
    declare_model(&C, 0);
    CHECK(pd_params_finalize(&C, 7) == PD_OK);
    CHECK_MSG(pd_ckpt_params_load(&C, path) == PD_OK, "%s", pd_last_error());
    for (int k = 0; k < 4; k++) {
        pd_param *pa = pd_params_find(&A, names[k]), *pc = pd_params_find(&C, names[k]);
        CHECK(memcmp(pa->t.data, pc->t.data, (size_t)pa->t.numel * sizeof(pd_real)) == 0);
    }
    pd_params D;
    pd_params_init(&D);
    pd_params_unit_begin(&D, "block0");
    pd_param_new(&D, "block0.w", 2, (int64_t[]){33, 18}, PD_INIT_ZEROS, 0);
    pd_param_new(&D, "block0.b", 1, (int64_t[]){33}, PD_INIT_ZEROS, 0);
    pd_params_unit_end(&D);
    pd_params_unit_begin(&D, "block1");
    pd_param_new(&D, "block1.w", 3, (int64_t[]){5, 4, 3}, PD_INIT_ZEROS, 0);
    pd_param_new(&D, "block1.g", 1, (int64_t[]){5}, PD_INIT_ZEROS, 0);
    pd_params_unit_end(&D);
    CHECK(pd_params_finalize(&D, 1) == PD_OK);
    CHECK(pd_ckpt_params_load(&D, path) == PD_ERR_FORMAT);
    const char *msg = pd_last_error();
    CHECK_MSG(strstr(msg, "block0.w") && strstr(msg, "[33, 17]") && strstr(msg, "[33, 18]"), "message: %s", msg);
    printf("mismatch message: %s\n", msg);
    CHECK(pd_ckpt_params_load(&B, path) == PD_ERR_FORMAT);   /* B has an extra parameter "other" */
    CHECK_MSG(strstr(pd_last_error(), "other"), "message: %s", pd_last_error());
    pd_params E;
    pd_params_init(&E);
    pd_param_new(&E, "x", 1, (int64_t[]){2}, PD_INIT_ZEROS, 0);
    pd_param_new(&E, "x", 1, (int64_t[]){2}, PD_INIT_ZEROS, 0);
    CHECK(pd_params_finalize(&E, 1) != PD_OK);
    CHECK(strstr(pd_last_error(), "declared twice") != NULL);
    unlink(path);

    /* AdamW: two optimizers over sub-ranges equal one over the whole buffer; decay only >= 2-D */
    pd_params_init_values(&C, 5);
    for (int64_t i = 0; i < A.total; i++) A.grad[i] = C.grad[i] = 0;
    pd_adamw_config cfg;
    pd_adamw_config_default(&cfg);
    cfg.weight_decay = 0.5;
    pd_adamw whole, lo, hi;
    CHECK(pd_adamw_init(&whole, &A, &cfg, 0, A.total) == PD_OK);
    pd_real *before = malloc((size_t)A.total * sizeof(pd_real));
    memcpy(before, A.data, (size_t)A.total * sizeof(pd_real));
    pd_adamw_step(&whole, A.data, A.grad, 0.1, 1.0);   /* zero grads: decay only */
    pd_param *b0 = pd_params_find(&A, "block0.b"), *g1 = pd_params_find(&A, "block1.g");
    CHECK(g1->t.data[0] == 1 && b0->t.data[0] == 0);
    CHECK_NEAR(w->t.data[0], before[w->offset] * (pd_real)0.95, 1e-7);
    free(before);
    pd_rng r;
    pd_rng_init(&r, 3, 0, 0, PD_RNG_INIT);
    for (int i = 0; i < A.n_params; i++)
        for (int64_t j = 0; j < A.params[i]->t.numel; j++) A.params[i]->t.grad[j] = (pd_real)pd_rng_normal(&r);
    pd_real *start = malloc((size_t)A.total * sizeof(pd_real)), *ref = malloc((size_t)A.total * sizeof(pd_real));
    memcpy(start, A.data, (size_t)A.total * sizeof(pd_real));
    pd_adamw_step(&whole, A.data, A.grad, 0.01, 0.7);
    memcpy(ref, A.data, (size_t)A.total * sizeof(pd_real));
    memcpy(A.data, start, (size_t)A.total * sizeof(pd_real));
    int64_t cut = A.units[1].begin + 8;   /* inside a tensor, as an uneven shard would be */
    CHECK(pd_adamw_init(&lo, &A, &cfg, 0, cut) == PD_OK && pd_adamw_init(&hi, &A, &cfg, cut, A.total) == PD_OK);
    lo.step = hi.step = 1;
    /* the moments after the decay-only step are zero, as in fresh optimizers: only the step count differs */
    pd_adamw_step(&lo, A.data, A.grad, 0.01, 0.7);
    pd_adamw_step(&hi, A.data + cut, A.grad + cut, 0.01, 0.7);
    CHECK_MSG(memcmp(A.data, ref, (size_t)A.total * sizeof(pd_real)) == 0, "sharded AdamW differs from the whole-buffer one");
    free(start);
    free(ref);
    pd_adamw_free(&whole);
    pd_adamw_free(&lo);
    pd_adamw_free(&hi);
    pd_params_free(&A);
    pd_params_free(&B);
    pd_params_free(&C);
    pd_params_free(&D);
    pd_params_free(&E);
}

static void test_schedule(void)
{
    pd_lr_schedule s = {1e-3, 10, 110, 0.1};
    CHECK_NEAR(pd_lr_at(&s, 0), 1e-4, 1e-15);
    CHECK_NEAR(pd_lr_at(&s, 9), 1e-3, 1e-15);
    CHECK_NEAR(pd_lr_at(&s, 10), 1e-3, 1e-15);
    CHECK_NEAR(pd_lr_at(&s, 60), 1e-3 * (0.1 + 0.9 * 0.5), 1e-15);
    CHECK_NEAR(pd_lr_at(&s, 110), 1e-4, 1e-15);
    CHECK_NEAR(pd_lr_at(&s, 500), 1e-4, 1e-15);
    CHECK_NEAR(pd_clip_factor(10.0, 1.0), 1.0 / (10.0 + 1e-6), 1e-12);
    CHECK(pd_clip_factor(0.5, 1.0) == 1.0 && pd_clip_factor(5, 0) == 1.0);
}

/* The same residue gets the same noise wherever it sits in the batch. */
static void test_noise(void)
{
    pd_graph *g;
    CHECK(pd_graph_create(&g, 0) == PD_OK);
    pd_tensor *mu = pd_tensor_zeros(g, 2, (int64_t[]){3, 4}), *lv = pd_tensor_zeros(g, 2, (int64_t[]){3, 4});
    uint64_t ids_a[] = {7, 8, 9}, ids_b[] = {9, 100, 7};
    pd_tensor *za = pd_reparameterize(g, mu, lv, 11, 2, ids_a), *zb = pd_reparameterize(g, mu, lv, 11, 2, ids_b);
    CHECK(za && zb && memcmp(za->data, zb->data + 8, 4 * sizeof(pd_real)) == 0 &&
          memcmp(za->data + 8, zb->data, 4 * sizeof(pd_real)) == 0);
    pd_tensor *zc = pd_reparameterize(g, mu, lv, 11, 3, ids_a);
    CHECK(zc && memcmp(za->data, zc->data, 4 * sizeof(pd_real)) != 0);   /* next step: new noise */
    pd_graph_destroy(g);
}

/* The vectorisable exp and erf of nn/pointwise_simd.h hold the error bounds their comments
 * state: pd_verf within 1e-7 absolute of erf in double on every 101st float of [1e-30, 8] and
 * their negatives,
 * pd_vexp within 3e-7 relative of exp on [-87, 88] (the clamp is the documented limit), the
 * special values as stated. */
static void test_vector_math(void)
{
    double worst_erf = 0, worst_exp = 0;
    int32_t bits;
    for (float x = 1e-30f; x <= 8.0f;) {
        double e = fabs((double)pd_verf(x) - erf((double)x));
        double eneg = fabs((double)pd_verf(-x) + erf((double)x));
        worst_erf = fmax(worst_erf, fmax(e, eneg));
        memcpy(&bits, &x, sizeof bits);
        bits += 101;
        memcpy(&x, &bits, sizeof x);
    }
    for (double x = -87.0; x <= 88.0; x += 0.000731) {
        double r = fabs((double)pd_vexp((float)x) / exp((double)(float)x) - 1.0);
        worst_exp = fmax(worst_exp, r);
    }
    printf("pd_verf: worst absolute error %.3g on [-8, 8]; pd_vexp: worst relative error %.3g on [-87, 88]\n",
           worst_erf, worst_exp);
    CHECK(worst_erf <= 1e-7);
    CHECK(worst_exp <= 3e-7);
    CHECK(isnan(pd_verf(NAN)) && pd_verf(INFINITY) == 1.0f && pd_verf(-INFINITY) == -1.0f);
    CHECK(isnan(pd_vexp(NAN)) && pd_vexp(-INFINITY) > 0 && pd_vexp(-INFINITY) < 2e-38f);
}

int main(int argc, char **argv)
{
    const char *scratch = argc > 1 ? argv[1] : ".";
    test_half();
    test_arena();
    test_graph();
    test_units();
    test_params(scratch);
    test_schedule();
    test_noise();
    test_vector_math();
    return pd_test_finish("test_nn_core");
}
