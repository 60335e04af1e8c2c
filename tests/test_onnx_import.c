/*
 * test_onnx_import.c - ONNX files exported by PyTorch (torch.onnx.export,
 * opsets 13 to 17; tests/fixtures/onnx/make_fixtures.py) import as deepc
 * models that reproduce PyTorch's outputs: within 1e-5 of the largest
 * output magnitude, and the same argmax wherever the top two differ by more
 * than that.  The fixtures cover an MLP (Gemm, LeakyRelu, LogSoftmax), an
 * MLP on sequences (MatMul + Add, LayerNormalization, the exact-GELU Erf
 * pattern, Softmax), a CNN with BatchNormalization and a Flatten after the
 * convolutions (NCHW -> NHWC), a residual CNN (Add of branches, strided
 * 1 x 1 and padded convolutions, ConvTranspose, GlobalAveragePool and the
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain) and text models
 * with Embedding + LSTM / GRU / RNN (batch_first Transposes, Squeeze,
 * ConstantOfShape initial states, Gather of the last step or of Y_h).
 * Three are exported again at opsets 9 and 11 (Unsqueeze / Squeeze / Pad
 * attributes, Softmax's old axis).  An imported model is fine-tuned (its loss goes down), saved and loaded
 * back with the same predictions, and an unsupported op is refused by name.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ONNX_DIR DEEPC_FIXTURES "/onnx/"

/* The fixture's input as deepc takes it: NCHW images become NHWC. */
static dc_tensor *input_of(const fx_array *x)
{
    if (x->ndim != 4)
        return dc_tensor_from(x->ndim, x->shape, x->data);
    int n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
    dc_tensor *t = dc_tensor_new(4, (int[]){n, h, w, c});
    assert_non_null(t);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
            for (int y = 0; y < h; y++)
                for (int z = 0; z < w; z++)
                    t->data[((i * h + y) * w + z) * c + k] = x->data[((i * c + k) * h + y) * w + z];
    return t;
}

/* got within tol * max|want| of want, and the same argmax per row where the
 * top two of want differ by more than that. */
static void assert_matches(const float *got, const float *want, size_t n, int cols, const char *what)
{
    double big = 0;
    for (size_t i = 0; i < n; i++)
        big = fmax(big, fabs(want[i]));
    assert_close(got, want, n, 0, 1e-5 * big, what);
    for (size_t r = 0; r < n / (size_t)cols; r++) {
        const float *g = got + r * cols, *w = want + r * cols;
        int bg = 0, bw = 0, second = -1;
        for (int j = 1; j < cols; j++) {
            bg = g[j] > g[bg] ? j : bg;
            bw = w[j] > w[bw] ? j : bw;
        }
        for (int j = 0; j < cols; j++)
            if (j != bw && (second < 0 || w[j] > w[second]))
                second = j;
        if (second >= 0 && w[bw] - w[second] > 1e-5 * big && bg != bw)
            fail_msg("%s: row %zu: argmax %d, PyTorch's %d", what, r, bg, bw);
    }
}

static dc_model *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, ONNX_DIR "%s.onnx", name);
    dc_model *m = NULL;
    if (dc_model_load_onnx(path, &m) != DC_OK)
        fail_msg("%s: %s", name, dc_errmsg());
    dc_model_set_threads(m, 1);
    return m;
}

static void check_fixture(const char *name)
{
    char fx_name[128];
    snprintf(fx_name, sizeof fx_name, "onnx/%s.txt", name);
    fx_file *f = fx_load(fx_name);
    const fx_array *x = fx_get(f, "x"), *y = fx_get(f, "y");
    dc_model *m = load(name);
    dc_tensor *in = input_of(x), *out = NULL;
    if (dc_model_predict(m, in, 32, &out) != DC_OK)
        fail_msg("%s: predict: %s", name, dc_errmsg());
    assert_int_equal(out->size, y->size);
    assert_matches(out->data, y->data, y->size, y->shape[y->ndim - 1], name);
    dc_tensor_free(in);
    dc_tensor_free(out);
    dc_model_free(m);
    fx_free(f);
}

static void test_mlp(void **s) { (void)s; check_fixture("mlp"); }
static void test_mlp_norm(void **s) { (void)s; check_fixture("mlp_norm"); }
static void test_cnn_bn(void **s) { (void)s; check_fixture("cnn_bn"); }
static void test_res_cnn(void **s) { (void)s; check_fixture("res_cnn"); }
static void test_text_lstm(void **s) { (void)s; check_fixture("text_lstm"); }
static void test_text_gru(void **s) { (void)s; check_fixture("text_gru"); }
static void test_text_rnn(void **s) { (void)s; check_fixture("text_rnn"); }
/* torch.cat of two convolution branches, scalar and value arithmetic, a
 * mean over H and W, a slice of the output */
static void test_branches(void **s) { (void)s; check_fixture("branches"); }
/* older operator sets: attributes where later sets take inputs */
static void test_opset_9_11(void **s)
{
    (void)s;
    check_fixture("mlp_op9");
    check_fixture("res_cnn_op11");
    check_fixture("text_lstm_op11");
}

/* The imported CNN fine-tunes: one epoch on labels it gets partly wrong
 * lowers the loss; saved and loaded, it predicts the same bits. */
static void test_fine_tune_save_load(void **s)
{
    (void)s;
    fx_file *f = fx_load("onnx/cnn_bn.txt");
    dc_tensor *x = input_of(fx_get(f, "x")), *p0 = NULL, *p1 = NULL, *p2 = NULL;
    dc_compile_config cc = {0};
    cc.optimizer = dc_optimizer_defaults(DC_OPT_ADAM);
    cc.optimizer.learning_rate = 0.01f;
    cc.loss = DC_LOSS_SPARSE_CE_LOGITS;
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.compile = &cc;
    dc_model *m = NULL;
    if (dc_model_load_onnx_ex(ONNX_DIR "cnn_bn.onnx", &ic, &m) != DC_OK)
        fail_msg("%s", dc_errmsg());
    dc_model_set_threads(m, 1);
    dc_model_set_seed(m, 1);
    int n = x->shape[0];
    dc_tensor *y = dc_tensor_new(1, &n);
    for (int i = 0; i < n; i++)
        y->data[i] = (float)(i % 10);
    double before, after;
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, &before, 1), DC_OK);
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 1;
    fc.verbose = 0;
    fc.batch_size = n;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, &after, 1), DC_OK);
    if (!(after < before))
        fail_msg("loss %g -> %g after an epoch of fine-tuning", before, after);
    char path[] = "/tmp/deepc_onnx_ftXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dc_model_predict(m, x, 32, &p0), DC_OK);
    if (dc_model_save(m, path, 1) != DC_OK)
        fail_msg("save: %s", dc_errmsg());
    dc_model *back = NULL;
    if (dc_model_load(path, &back) != DC_OK)
        fail_msg("load: %s", dc_errmsg());
    dc_model_set_threads(back, 1);
    assert_int_equal(dc_model_predict(back, x, 32, &p1), DC_OK);
    assert_memory_equal(p0->data, p1->data, p0->size * sizeof(float));
    (void)p2;
    unlink(path);
    dc_tensor_free(p0);
    dc_tensor_free(p1);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    dc_model_free(back);
    fx_free(f);
}

/* ---- deepc -> ONNX (dc_model_save_onnx) -> deepc: the same bits ---- */

static dc_model *seq(int ndim, const int *shape, dc_layer *const *layers, int n)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    for (int i = 0; i < n; i++)
        dc_model_add(m, layers[i]);
    return m;
}

static dc_model *round_trip_model(int which)
{
    dc_conv_config same = dc_conv_defaults(6, 3, 3);
    same.padding = DC_PADDING_SAME;
    same.activation = "relu";
    switch (which) {
    case 0: /* the tutorial MLP */
        return seq(2, (int[]){6, 5},
                   (dc_layer *[]){dc_layer_flatten(), dc_layer_dense(16, "relu"), dc_layer_dropout(0.2f),
                                  dc_layer_dense(4, "softmax")}, 4);
    case 1: /* a CNN with BatchNormalization, pooling and a Flatten after the convolutions */
        return seq(3, (int[]){8, 8, 2},
                   (dc_layer *[]){dc_layer_conv2d(4, 3, 3, "relu"), dc_layer_batch_normalization(),
                                  dc_layer_max_pooling2d(2, 2), dc_layer_conv2d_ex(&same), dc_layer_flatten(),
                                  dc_layer_dense(3, NULL)}, 6);
    case 2: /* a text model: Embedding, LSTM, Dense */
        return seq(1, (int[]){7},
                   (dc_layer *[]){dc_layer_embedding(20, 5, 0), dc_layer_lstm(6), dc_layer_dense(2, "sigmoid")}, 3);
    case 3: /* GRU returning sequences, then a per-step Dense and global pooling */
        return seq(1, (int[]){6},
                   (dc_layer *[]){dc_layer_embedding(15, 4, 0), dc_layer_gru(5), dc_layer_dense(3, "tanh")}, 3);
    default: { /* a residual block (functional, Add) with LayerNormalization and global pooling */
        dc_model *m = dc_functional_new(3, (int[]){6, 6, 3});
        int a = dc_model_apply(m, dc_layer_conv2d_ex(&same), DC_MODEL_INPUT);
        int b = dc_model_apply(m, dc_layer_conv2d_ex(&same), a);
        int c = dc_model_merge(m, dc_layer_add(), 2, (int[]){a, b});
        int d = dc_model_apply(m, dc_layer_global_average_pooling2d(), c);
        int e = dc_model_apply(m, dc_layer_layer_normalization(), d);
        dc_model_apply(m, dc_layer_dense(3, "softmax"), e);
        return m;
    }
    }
}

static void test_round_trip(void **s)
{
    (void)s;
    for (int which = 0; which < 5; which++) {
        dc_model *m = round_trip_model(which);
        dc_model_set_seed(m, (uint64_t)which + 1);
        dc_model_set_threads(m, 1);
        if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
            fail_msg("model %d: %s", which, dc_errmsg());
        int nd = 0, shape[DC_MAX_DIMS] = {5};
        dc_tensor *w0 = NULL;
        /* the input: ids for the text models, values otherwise */
        int text = which == 2 || which == 3;
        int dims[4][4] = {{6, 5}, {8, 8, 2}, {7}, {6}}, ndims[4] = {2, 3, 1, 1};
        if (which < 4) {
            nd = ndims[which];
            memcpy(shape + 1, dims[which], (size_t)nd * sizeof(int));
        } else {
            nd = 3;
            memcpy(shape + 1, (int[]){6, 6, 3}, 3 * sizeof(int));
        }
        dc_tensor *x = dc_tensor_new(nd + 1, shape), *a = NULL, *b = NULL;
        for (size_t i = 0; i < x->size; i++)
            x->data[i] = text ? (float)((i * 7 + 3) % 15) : (float)((i * 37) % 17) / 8.0f - 1.0f;
        /* a few steps of training so BatchNormalization's statistics move */
        dc_tensor *y = NULL;
        assert_int_equal(dc_model_predict(m, x, 8, &y), DC_OK);
        for (size_t i = 0; i < y->size; i++)
            y->data[i] = (float)(i % 2);
        double loss;
        if (dc_model_train_on_batch(m, x, y, NULL, &loss, 1) != DC_OK)
            fail_msg("model %d: train: %s", which, dc_errmsg());
        assert_int_equal(dc_model_predict(m, x, 8, &a), DC_OK);
        char path[] = "/tmp/deepc_onnx_rtXXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        if (dc_model_save_onnx(m, path, NULL) != DC_OK)
            fail_msg("model %d: save_onnx: %s", which, dc_errmsg());
        dc_model *back = NULL;
        if (dc_model_load_onnx(path, &back) != DC_OK)
            fail_msg("model %d: load_onnx: %s", which, dc_errmsg());
        dc_model_set_threads(back, 1);
        if (dc_model_predict(back, x, 8, &b) != DC_OK)
            fail_msg("model %d: predict: %s", which, dc_errmsg());
        assert_int_equal(a->size, b->size);
        if (memcmp(a->data, b->data, a->size * sizeof(float)) != 0) {
            size_t i = 0;
            while (a->data[i] == b->data[i])
                i++;
            fail_msg("model %d: value %zu: %.9g before, %.9g after the round trip", which, i, a->data[i], b->data[i]);
        }
        unlink(path);
        (void)w0;
        dc_tensor_free(x), dc_tensor_free(y), dc_tensor_free(a), dc_tensor_free(b);
        dc_model_free(m), dc_model_free(back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),          cmocka_unit_test(test_mlp_norm),  cmocka_unit_test(test_cnn_bn),
        cmocka_unit_test(test_res_cnn),      cmocka_unit_test(test_text_lstm), cmocka_unit_test(test_text_gru),
        cmocka_unit_test(test_text_rnn),     cmocka_unit_test(test_fine_tune_save_load),
        cmocka_unit_test(test_branches),     cmocka_unit_test(test_opset_9_11),   cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
