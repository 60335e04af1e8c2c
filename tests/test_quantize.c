/*
 * test_quantize.c - post-training int8 quantization (dc_model_quantize).
 *
 * - the kernels: the AVX-512 VNNI dot products (row layout and the tiled
 *   one) equal the portable C ones
 *   on every shape class (K a multiple of 64 or not, U a multiple of 4 or
 *   not), built into this one binary;
 * - the AVX-512 requantization and input quantization equal the scalar ones
 *   bit for bit;
 * - TFLite's fixed-point requantization against the real product it
 *   approximates (within one unit, exact on ties away from them);
 * - a quantized Dense against an independent computation of the same
 *   scheme in double (the calibration ranges recomputed here), to the unit;
 * - a model trained on a separable problem keeps its accuracy (<= 1 point
 *   lost) and its outputs stay within a few quantization steps;
 * - BatchNormalization folding and a fused ReLU in a small CNN;
 * - weight-only int8 (Embedding per row, recurrent kernels per column): the
 *   packing against double, a text model's predictions near the float ones;
 * - errors: an empty or constant calibration set, NaN weights, a layer with
 *   no int8 kernel, quantizing twice, a model not compiled: each with its
 *   message, the model left float;
 * - a quantized model refuses, naming why, what it cannot do: fit,
 *   train_on_batch, save, save_weights, load_weights, load_checkpoint (and
 *   so ModelCheckpoint), set_weight, get_weight of a packed kernel; predict,
 *   evaluate and test_on_batch still run and give the same outputs.
 */
#include "iotest.h"

#include "model/model.h"
#include "quant/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fill(dc_tensor *t, uint64_t seed, float lo, float hi)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = lo + (hi - lo) * dc_rng_uniform(&r);
}

static void test_vnni_equals_portable(void **state)
{
    (void)state;
    if (!dq_have_vnni())
        print_message("no AVX-512 VNNI here: the portable path is compared with itself\n");
    dc_rng r;
    dc_rng_seed(&r, 7);
    int Ks[] = {4, 12, 64, 68, 128, 288, 788}, Us[] = {1, 3, 4, 5, 16, 33, 64, 70, 130}; /* 64+: four blocks a pass */
    for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
        for (size_t b = 0; b < sizeof Us / sizeof *Us; b++) {
            int Kp = Ks[a], U = Us[b];
            uint8_t *x = malloc((size_t)Kp);
            int8_t *w = malloc((size_t)Kp * U);
            int32_t *p = malloc((size_t)U * sizeof *p), *v = malloc((size_t)U * sizeof *v);
            for (int k = 0; k < Kp; k++)
                x[k] = (uint8_t)(dc_rng_uniform(&r) * 256);
            for (int k = 0; k < Kp * U; k++)
                w[k] = (int8_t)((int)(dc_rng_uniform(&r) * 255) - 127);
            x[0] = 255; /* the extremes */
            w[0] = -127;
            dq_dot_rows_portable(x, w, U, Kp, p);
            dq_dot_rows_vnni(x, w, U, Kp, v);
            int8_t *wt = malloc(dq_tiled_bytes(U, Kp));
            int32_t *t = malloc((size_t)U * sizeof *t);
            dq_tile(w, U, Kp, wt);
            if (dq_have_vnni())
                dq_dot_tiled_vnni(x, wt, U, Kp, t);
            for (int j = 0; j < U; j++) {
                int32_t want = 0;
                for (int k = 0; k < Kp; k++)
                    want += x[k] * w[(size_t)j * Kp + k];
                assert_int_equal(p[j], want);
                assert_int_equal(v[j], want);
                if (dq_have_vnni()) /* the tiled layout (16 outputs per vpdpbusd) */
                    assert_int_equal(t[j], want);
            }
            if (dq_have_vnni()) { /* four rows at once: rows x, x reversed, x + 1, x / 2 */
                uint8_t *x4 = malloc((size_t)4 * Kp);
                int32_t *t4 = malloc((size_t)4 * U * sizeof *t4), *one = malloc((size_t)U * sizeof *one);
                for (int k = 0; k < Kp; k++) {
                    x4[k] = x[k];
                    x4[Kp + k] = x[Kp - 1 - k];
                    x4[2 * Kp + k] = (uint8_t)(x[k] + 1);
                    x4[3 * Kp + k] = (uint8_t)(x[k] / 2);
                }
                dq_dot_tiled_vnni4(x4, wt, U, Kp, t4);
                for (int i = 0; i < 4; i++) {
                    dq_dot_rows_portable(x4 + (size_t)i * Kp, w, U, Kp, one);
                    assert_memory_equal(t4 + (size_t)i * U, one, (size_t)U * sizeof *one);
                }
                free(x4);
                free(t4);
                free(one);
            }
            free(wt);
            free(t);
            free(x);
            free(w);
            free(p);
            free(v);
        }
}

/* The AVX-512 requantization equals the scalar one bit for bit: random
 * accumulators (extremes included), multipliers below and above 1 (shifts
 * of both signs), zero points, with and without the fused ReLU, U not a
 * multiple of 8. */
static void test_finish_avx512_equals_scalar(void **state)
{
    (void)state;
    if (!dq_have_vnni()) {
        print_message("no AVX-512 VNNI here: nothing to compare\n");
        return;
    }
    dc_rng r;
    dc_rng_seed(&r, 11);
    enum { U = 37 };
    int32_t m0[U], shift[U], bias[U], wsum[U], dot[U];
    float a[U], b[U];
    uint8_t au[U], bu[U];
    for (int trial = 0; trial < 400; trial++) {
        dq_header h = {DQ_MAGIC, U, 64, 64, 0.02f, (int32_t)(dc_rng_uniform(&r) * 255) - 128, 0.013f,
                       (int32_t)(dc_rng_uniform(&r) * 255) - 128, trial % 2, 0, 0};
        for (int j = 0; j < U; j++) { /* outputs mostly inside [-128, 127], so the rounding shows */
            /* every other trial: multipliers below 1 only (no left shift: the 16-lane path) */
            double mult = ldexp(0.5 + 0.5 * dc_rng_uniform(&r), (int)(dc_rng_uniform(&r) * (trial % 2 ? 20 : 24)) - 20);
            dq_quantize_multiplier(mult, &m0[j], &shift[j]);
            double target = (dc_rng_uniform(&r) - 0.5) * 300.0, acc = target / mult;
            acc = acc > 1.0e9 ? 1.0e9 : acc < -1.0e9 ? -1.0e9 : acc;
            wsum[j] = (int32_t)((dc_rng_uniform(&r) - 0.5) * 8000);
            bias[j] = (int32_t)((dc_rng_uniform(&r) - 0.5) * 1000);
            dot[j] = (int32_t)acc - bias[j] + (128 + h.in_zp) * wsum[j];
        }
        if (trial == 0) {
            bias[0] = INT32_MAX / 2;
            dot[0] = INT32_MAX / 2;
            wsum[0] = 0;
            bias[1] = -(INT32_MAX / 2);
            dot[1] = 0;
            wsum[1] = 0;
        }
        dq_layer q = {&h, m0, shift, bias, wsum, NULL, NULL};
        dq_finish_row(&q, dot, a);
        dq_finish_row_avx512(&q, dot, b);
        assert_memory_equal(a, b, sizeof a);
        dq_finish_row_u8(&q, dot, au); /* the bytes handed to the next int8 layer */
        dq_finish_row_u8_avx512(&q, dot, bu);
        assert_memory_equal(au, bu, sizeof au);
        for (int j = 0; j < U; j++) /* the same values as the dequantized floats */
            assert_true((float)((int32_t)au[j] - 128 - h.out_zp) * h.out_scale == a[j]);
    }
}

static void test_requantize(void **state)
{
    (void)state;
    double ms[] = {0.75, 0.0123, 3.1e-4, 1.5, 0.5};
    int32_t accs[] = {0, 1, -1, 1000, -1000, 123456, -98765, 2000000, -2000000};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        int32_t m0, sh;
        dq_quantize_multiplier(ms[i], &m0, &sh);
        assert_true(fabs(ldexp((double)m0, sh - 31) - ms[i]) <= ms[i] * 1e-9);
        for (size_t j = 0; j < sizeof accs / sizeof *accs; j++) {
            double want = accs[j] * ms[i];
            int32_t got = dq_requantize(accs[j], m0, sh);
            assert_true(fabs(got - want) <= 0.5 + 1e-6);
        }
    }
    assert_int_equal(dq_quantize_u8(0.0f, 0.1f, -3), 125);
    assert_int_equal(dq_quantize_u8(1e9f, 0.1f, 0), 255);
    assert_int_equal(dq_quantize_u8(-1e9f, 0.1f, 0), 0);
    assert_int_equal(dq_quantize_u8(NAN, 0.1f, 5), 0);
    /* the vector quantization (AVX-512 where the CPU has it) == the scalar one, bit for bit: halves,
     * the clamps, NaN and infinities, every tail length */
    enum { N = 1000 };
    float v[N];
    uint8_t a[N], b[N];
    dc_rng r;
    dc_rng_seed(&r, 9);
    for (int i = 0; i < N; i++)
        v[i] = i % 7 == 0 ? (float)(i % 50) * 0.05f - 1.25f : (dc_rng_uniform(&r) - 0.5f) * (i % 3 ? 30.0f : 3000.0f);
    v[5] = NAN;
    v[6] = INFINITY;
    v[8] = -INFINITY;
    v[9] = -0.0f;
    for (int n = 0; n <= 40; n++) {
        size_t len = n < 40 ? (size_t)n : N;
        dq_quantize_row(v, len, 1.0f / 0.05f, -7, a);
        dq_quantize_row_scalar(v, len, 1.0f / 0.05f, -7, b);
        assert_memory_equal(a, b, len ? len : 1);
    }
}

/* Two Gaussian blobs per class in 8 dimensions. */
static void blobs(int n, uint64_t seed, dc_tensor **x, dc_tensor **y)
{
    *x = dc_tensor_new4(2, n, 8, 0, 0);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        for (int f = 0; f < 8; f++)
            (*x)->data[i * 8 + f] = (f % 3 == c ? 1.5f : 0.0f) + (dc_rng_uniform(&r) - 0.5f);
        (*y)->data[i] = (float)c;
    }
}

static dc_model *mlp(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){8});
    dc_model_add(m, dc_layer_dense(16, "relu"));
    dc_model_add(m, dc_layer_dropout(0.1f));
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    dc_model_set_seed(m, 3);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1),
                     DC_OK);
    return m;
}

static void test_mlp_accuracy_and_reference(void **state)
{
    (void)state;
    dc_tensor *x, *y, *xt, *yt;
    blobs(600, 1, &x, &y);
    blobs(300, 2, &xt, &yt);
    dc_model *m = mlp();
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 5;
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    double before[2], after[2];
    assert_int_equal(dc_model_evaluate(m, xt, yt, 32, 0, before, 2), DC_OK);
    /* the float weights, for the reference below */
    dc_tensor *w0, *b0, *w1, *b1;
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w0), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 0, 1, &b0), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 2, 0, &w1), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 2, 1, &b1), DC_OK);
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    qc.max_samples = 200;
    assert_false(dc_model_is_quantized(m));
    assert_int_equal(dc_model_quantize(m, &qc), DC_OK);
    assert_true(dc_model_is_quantized(m));
    assert_int_equal(dc_model_evaluate(m, xt, yt, 32, 0, after, 2), DC_OK);
    printf("  blobs: accuracy %.4f float, %.4f int8\n", before[1], after[1]);
    assert_true(before[1] > 0.9);
    assert_true(after[1] >= before[1] - 0.01);
    /* reference: the scheme in double, ranges from the first 200 samples */
    float in_lo = 0, in_hi = 0, h_lo = 0, h_hi = 0, o_lo = 0, o_hi = 0;
    float *h = malloc(200 * 16 * sizeof *h), *o = malloc(200 * 3 * sizeof *o);
    for (int i = 0; i < 200; i++) {
        for (int f = 0; f < 8; f++) {
            in_lo = fminf(in_lo, x->data[i * 8 + f]);
            in_hi = fmaxf(in_hi, x->data[i * 8 + f]);
        }
        for (int j = 0; j < 16; j++) {
            float s = b0->data[j];
            for (int f = 0; f < 8; f++)
                s += x->data[i * 8 + f] * w0->data[f * 16 + j];
            h[i * 16 + j] = s > 0 ? s : 0;
            h_hi = fmaxf(h_hi, h[i * 16 + j]);
        }
        for (int j = 0; j < 3; j++) {
            float s = b1->data[j];
            for (int f = 0; f < 16; f++)
                s += h[i * 16 + f] * w1->data[f * 3 + j];
            o_lo = fminf(o_lo, s);
            o_hi = fmaxf(o_hi, s);
        }
    }
    (void)h_lo;
    dc_tensor *probs = NULL;
    dc_tensor *x1 = tensor_rows(xt, 0, 20);
    assert_int_equal(dc_model_predict(m, x1, 0, &probs), DC_OK);
    double si = (in_hi - in_lo) / 255.0, sh = h_hi / 255.0, so = (o_hi - o_lo) / 255.0;
    double zi = -128 - round(in_lo / si), zh = -128, zo = -128 - round(o_lo / so);
    int worst = 0;
    for (int i = 0; i < 20; i++) {
        double hq[16], logits[3];
        for (int j = 0; j < 16; j++) {
            double amax = 0, acc = 0;
            for (int f = 0; f < 8; f++)
                amax = fmax(amax, fabs(w0->data[f * 16 + j]));
            double sw = (float)(amax / 127);
            for (int f = 0; f < 8; f++) {
                double q = fmin(127, fmax(-128, round(x1->data[i * 8 + f] / si) + zi));
                acc += (q - zi) * round(w0->data[f * 16 + j] / sw);
            }
            acc += nearbyint(b0->data[j] / (si * sw));
            double v = fmin(127, fmax(zh, round(acc * si * sw / sh) + zh));
            hq[j] = (v - zh) * sh;
        }
        for (int j = 0; j < 3; j++) {
            double amax = 0, acc = 0;
            for (int f = 0; f < 16; f++)
                amax = fmax(amax, fabs(w1->data[f * 3 + j]));
            double sw = (float)(amax / 127);
            for (int f = 0; f < 16; f++)
                acc += (round(hq[f] / sh) + zh - zh) * round(w1->data[f * 3 + j] / sw);
            acc += nearbyint(b1->data[j] / (sh * sw));
            logits[j] = (fmin(127, fmax(-128, round(acc * sh * sw / so) + zo)) - zo) * so;
        }
        /* compare through the softmax: both sides' probabilities */
        double mx = fmax(logits[0], fmax(logits[1], logits[2])), sum = 0, p[3];
        for (int j = 0; j < 3; j++)
            sum += (p[j] = exp(logits[j] - mx));
        for (int j = 0; j < 3; j++) {
            double d = fabs(p[j] / sum - probs->data[i * 3 + j]);
            /* one output step (so) moves a probability by at most so / 4 */
            if (d > so / 4 + 1e-6)
                fail_msg("sample %d output %d: int8 %g, reference %g", i, j, probs->data[i * 3 + j], p[j] / sum);
            worst = d > 1e-6 ? worst + 1 : worst;
        }
    }
    printf("  reference: %d of 60 probabilities differ by more than 1e-6 (one rounding step at most)\n", worst);
    free(h);
    free(o);
    dc_tensor *all[] = {x, y, xt, yt, w0, b0, w1, b1, probs, x1};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        dc_tensor_free(all[i]);
    dc_model_free(m);
}

/* Conv -> BN -> ReLU -> pool -> Conv1D-free CNN: folding and the fused ReLU. */
static void test_cnn_bn(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(3, (int[]){8, 8, 2}); /* 2 channels: 18 inputs per output, int8 */
    dc_conv_config c = dc_conv_defaults(8, 3, 3);
    c.padding = DC_PADDING_SAME;
    dc_model_add(m, dc_layer_conv2d_ex(&c));
    dc_model_add(m, dc_layer_batch_normalization_ex(0.5f, 1e-3f));
    dc_model_add(m, dc_layer_activation("relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_conv2d(8, 3, 3, "relu"));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(4, NULL));
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(4, 64, 8, 8, 2), *y = dc_tensor_new4(2, 64, 4, 0, 0);
    fill(x, 11, 0, 1);
    fill(y, 12, -1, 1);
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    dc_tensor *pf = NULL, *pq = NULL;
    assert_int_equal(dc_model_predict(m, x, 0, &pf), DC_OK);
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    assert_int_equal(dc_model_quantize(m, &qc), DC_OK);
    /* int8 end to end: conv (BN, ReLU folded) -> int8 max pooling -> conv -> Flatten -> Dense read the
     * layer before's bytes; only the Dense dequantizes */
    int pools = 0, passes = 0, linked = 0, u8_out = 0;
    for (int i = 0; i < m->g->n_nodes; i++) {
        dc_node *n = m->g->nodes[i];
        dq_layer ql;
        pools += n->op == &dc_op_qmaxpool;
        passes += n->op == &dc_op_qpass;
        if ((n->op == &dc_op_qconv2d || n->op == &dc_op_qdense) && !dq_view(n->in[1]->val, &ql)) {
            linked += ql.h->in_u8;
            u8_out += ql.h->out_u8;
        }
    }
    assert_int_equal(pools, 1);
    assert_int_equal(passes, 0); /* the ReLU is fused into the BatchNormalization here: a view */
    assert_int_equal(linked, 2);
    assert_int_equal(u8_out, 2);
    assert_int_equal(dc_model_predict(m, x, 0, &pq), DC_OK);
    double big = 0, diff = 0;
    for (size_t i = 0; i < pf->size; i++) {
        big = fmax(big, fabs(pf->data[i]));
        diff = fmax(diff, fabs(pf->data[i] - pq->data[i]));
    }
    printf("  cnn with BatchNormalization: int8 vs float, largest difference %.3g of %.3g\n", diff, big);
    assert_true(diff < 0.05 * big);
    /* predict on any batch gives the same rows (threads, batch sizes) */
    dc_tensor *one = tensor_rows(x, 5, 1), *p1 = NULL;
    assert_int_equal(dc_model_predict(m, one, 0, &p1), DC_OK);
    assert_memory_equal(p1->data, pq->data + 5 * 4, 4 * sizeof(float));
    dc_tensor *all[] = {x, y, pf, pq, one, p1};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        dc_tensor_free(all[i]);
    dc_model_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    blobs(50, 3, &x, &y);
    dc_model *m = dc_sequential_new(1, (int[]){8});
    dc_model_add(m, dc_layer_dense(4, NULL));
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_STATE);
    assert_errmsg_contains("not compiled");
    dc_model_free(m);

    m = mlp();
    qc.calibration = NULL;
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_ARG);
    assert_errmsg_contains("calibration set is empty");
    dc_tensor *flat = dc_tensor_new4(2, 10, 8, 0, 0);
    for (size_t i = 0; i < flat->size; i++)
        flat->data[i] = 0.25f;
    qc.calibration = flat;
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_ARG);
    assert_errmsg_contains("constant");
    dc_tensor *wrong = dc_tensor_new4(2, 10, 7, 0, 0);
    fill(wrong, 1, 0, 1);
    qc.calibration = wrong;
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_SHAPE);
    float w[8 * 16];
    for (int i = 0; i < 8 * 16; i++)
        w[i] = i == 17 ? NAN : 0.01f * i;
    assert_int_equal(dc_model_set_weight(m, 0, 0, w, 8 * 16), DC_OK);
    qc.calibration = x;
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_NAN);
    assert_errmsg_contains("dense");
    assert_false(dc_model_is_quantized(m));
    w[17] = 0.5f;
    assert_int_equal(dc_model_set_weight(m, 0, 0, w, 8 * 16), DC_OK);
    assert_int_equal(dc_model_quantize(m, &qc), DC_OK);
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_STATE);
    assert_errmsg_contains("quantized already");
    dc_model_free(m);

    /* a layer with no int8 kernel, named */
    m = dc_sequential_new(1, (int[]){8});
    dc_model_add(m, dc_layer_dense(16, "relu"));
    dc_model_add(m, dc_layer_layer_normalization());
    dc_model_add(m, dc_layer_dense(3, NULL));
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_ARG);
    assert_errmsg_contains("layer_normalization");
    assert_errmsg_contains("no int8 kernel");
    assert_false(dc_model_is_quantized(m));
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(flat);
    dc_tensor_free(wrong);
}

/* Weight-only int8 (Embedding per row, recurrent kernels per column):
 * the packing against a direct computation in double; a text model's
 * quantized predictions near the float ones; NaN in the table refused by
 * name; the packed table not readable as floats. */
static void test_weight_only(void **state)
{
    (void)state;
    enum { R = 7, C = 5 };
    float w[R * C];
    for (int i = 0; i < R * C; i++)
        w[i] = (float)sin(0.7 * i) * (1.0f + (float)(i % C));
    for (int per_row = 0; per_row < 2; per_row++) {
        unsigned char buf[sizeof(dq_wo_header) + R * sizeof(float) + R * C];
        assert_true(dq_wo_bytes(R, C, per_row) <= sizeof buf);
        dq_wo_pack(w, R, C, per_row, buf);
        dq_wo q;
        assert_int_equal(dq_wo_view(buf, &q), 0);
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                double amax = 0;
                for (int k = 0; k < (per_row ? C : R); k++)
                    amax = fmax(amax, fabs(w[per_row ? r * C + k : k * C + c]));
                double s = amax / 127.0, want = nearbyint(w[r * C + c] / s);
                assert_float_equal(q.scale[per_row ? r : c], (float)s, 1e-6 * s);
                assert_true(fabs(q.q[r * C + c] - want) <= (fabs(fabs(w[r * C + c] / s - want) - 0.5) < 1e-6));
                assert_true(fabs(q.q[r * C + c] * s - w[r * C + c]) <= 0.5 * s + 1e-7);
            }
    }

    dc_model *m = dc_sequential_new(1, (int[]){9});
    dc_model_add(m, dc_layer_embedding(60, 16, 1));
    dc_rnn_config rc = dc_rnn_defaults(DC_RNN_LSTM, 12);
    rc.return_sequences = 1;
    dc_model_add(m, dc_layer_rnn_ex(&rc));
    dc_model_add(m, dc_layer_gru(8));
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 40, 9, 0, 0);
    dc_rng g;
    dc_rng_seed(&g, 4);
    for (int i = 0; i < 40 * 9; i++)
        x->data[i] = i % 9 < 2 + i / 9 % 7 ? (float)(1 + (int)(dc_rng_uniform(&g) * 59)) : 0.0f;
    dc_tensor *want = NULL, *got = NULL;
    assert_int_equal(dc_model_predict(m, x, 0, &want), DC_OK);
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    float table[60 * 16];
    dc_tensor *tw = NULL;
    assert_int_equal(dc_model_get_weight(m, 0, 0, &tw), DC_OK);
    assert_int_equal((int)tw->size, 60 * 16);
    memcpy(table, tw->data, sizeof table);
    dc_tensor_free(tw);
    tw = NULL;
    float bad = table[33];
    table[33] = NAN;
    assert_int_equal(dc_model_set_weight(m, 0, 0, table, 60 * 16), DC_OK);
    assert_int_equal(dc_model_quantize(m, &qc), DC_ERR_NAN);
    assert_errmsg_contains("embedding");
    assert_false(dc_model_is_quantized(m));
    table[33] = bad;
    assert_int_equal(dc_model_set_weight(m, 0, 0, table, 60 * 16), DC_OK);
    assert_int_equal(dc_model_quantize(m, &qc), DC_OK);
    assert_true(dc_model_is_quantized(m));
    assert_int_equal(dc_model_predict(m, x, 0, &got), DC_OK);
    double big = 0, diff = 0;
    for (size_t i = 0; i < want->size; i++) {
        big = fmax(big, fabs(want->data[i]));
        diff = fmax(diff, fabs((double)got->data[i] - want->data[i]));
    }
    printf("  weight-only int8 text model: largest |difference| %.3g of largest |output| %.3g\n", diff, big);
    assert_true(diff > 0 && diff <= 0.02 * big); /* quantized, and near */
    assert_int_equal(dc_model_get_weight(m, 0, 0, &tw), DC_ERR_STATE);
    assert_errmsg_contains("packed int8");
    dc_tensor_free(want);
    dc_tensor_free(got);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Each refusal of a quantized model, by name; what it can do still works. */
static void test_quantized_refuses(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    blobs(300, 5, &x, &y);
    dc_model *m = mlp();
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    char *dir = make_dir();
    char full[512], weights[512], ckpt[512];
    snprintf(full, sizeof full, "%s", join(dir, "float.deepc"));
    snprintf(weights, sizeof weights, "%s", join(dir, "float.weights"));
    snprintf(ckpt, sizeof ckpt, "%s", join(dir, "int8.deepc"));
    assert_int_equal(dc_model_save(m, full, 1), DC_OK); /* the float model saves */
    assert_int_equal(dc_model_save_weights(m, weights), DC_OK);
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    assert_false(dc_model_is_quantized(m));
    assert_int_equal(dc_model_quantize(m, &qc), DC_OK);
    assert_true(dc_model_is_quantized(m));
    dc_tensor *p0 = NULL, *p1 = NULL;
    assert_int_equal(dc_model_predict(m, x, 32, &p0), DC_OK);

    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_ERR_STATE);
    assert_errmsg_contains("fit: the model is quantized");
    double res[2];
    assert_int_equal(dc_model_train_on_batch(m, x, y, NULL, res, 2), DC_ERR_STATE);
    assert_errmsg_contains("train_on_batch: the model is quantized");
    assert_int_equal(dc_model_save(m, ckpt, 1), DC_ERR_STATE);
    assert_errmsg_contains("save: the model is quantized");
    assert_int_equal(dc_model_save(m, ckpt, 0), DC_ERR_STATE);
    assert_int_equal(dc_model_save_weights(m, ckpt), DC_ERR_STATE);
    assert_errmsg_contains("save_weights: the model is quantized");
    assert_int_equal(access(ckpt, F_OK), -1); /* nothing written */
    assert_int_equal(dc_model_load_weights(m, weights), DC_ERR_STATE);
    assert_errmsg_contains("load_weights: the model is quantized");
    assert_int_equal(dc_model_load_checkpoint(m, full), DC_ERR_STATE);
    assert_errmsg_contains("load_checkpoint: the model is quantized");
    float w[8 * 16] = {0};
    assert_int_equal(dc_model_set_weight(m, 0, 0, w, 8 * 16), DC_ERR_STATE);
    assert_errmsg_contains("set_weight: the model is quantized");
    assert_int_equal(dc_model_set_weight(m, 0, 1, w, 16), DC_ERR_STATE); /* a bias too: the scales would be stale */
    dc_tensor *t = (dc_tensor *)1;
    assert_int_equal(dc_model_get_weight(m, 2, 0, &t), DC_ERR_STATE);
    assert_errmsg_contains("packed int8 layer");
    assert_null(t);
    assert_int_equal(dc_model_get_weight(m, 0, 0, &t), DC_ERR_STATE);
    assert_int_equal(dc_model_get_weight(m, 0, 1, &t), DC_OK); /* a bias is floats still */
    dc_tensor_free(t);

    /* inference still runs, unchanged by the refused calls */
    double ev[2];
    assert_int_equal(dc_model_test_on_batch(m, x, y, NULL, res, 2), DC_OK);
    assert_int_equal(dc_model_evaluate(m, x, y, 300, 0, ev, 2), DC_OK);
    assert_true(isfinite(res[0]) && res[1] > 0.0);
    assert_true(fabs(res[0] - ev[0]) <= 1e-5 * fabs(ev[0]) && res[1] == ev[1]);
    assert_int_equal(dc_model_predict(m, x, 32, &p1), DC_OK);
    assert_memory_equal(p0->data, p1->data, p0->size * sizeof(float));

    /* the float model saved before quantizing loads and quantizes the same */
    dc_model *f = NULL;
    assert_int_equal(dc_model_load(full, &f), DC_OK);
    assert_int_equal(dc_model_quantize(f, &qc), DC_OK);
    dc_tensor *p2 = NULL;
    assert_int_equal(dc_model_predict(f, x, 32, &p2), DC_OK);
    assert_memory_equal(p0->data, p2->data, p0->size * sizeof(float));
    dc_model_free(f);
    dc_tensor_free(p0);
    dc_tensor_free(p1);
    dc_tensor_free(p2);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vnni_equals_portable),
        cmocka_unit_test(test_requantize),
        cmocka_unit_test(test_finish_avx512_equals_scalar),
        cmocka_unit_test(test_mlp_accuracy_and_reference),
        cmocka_unit_test(test_cnn_bn),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_weight_only),
        cmocka_unit_test(test_quantized_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
