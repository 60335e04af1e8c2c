/*
 * test_export_c.c - dc_model_export_c: small models of every layer family,
 * trained briefly on random data (so BatchNormalization's moving statistics
 * are not the identity), exported, compiled with the system's C compiler
 * under -std=c99 -Wall -Wextra -Werror -pedantic (and clang when present),
 * run on the same inputs, and compared with deepc's predict: the largest
 * difference within 1e-5 of the largest output magnitude.  Then the errors:
 * a name that is no C identifier, a model not compiled, NaN weights.
 *
 * With --keep DIR (or DEEPC_EXPORT_C_KEEP=DIR) the exported files, inputs
 * and x86 outputs of every case stay in DIR/<case>/
 * (tests/export_c/cross_check.sh builds them for ARM and runs them under
 * qemu-arm).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[1024];
static int g_keep;

#define N_SAMPLES 12

static void fill_uniform(dc_tensor *t, uint64_t seed, float lo, float hi)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = lo + (hi - lo) * dc_rng_uniform(&r);
}

/* Compiles m, fits it one epoch on x against random targets (moving the
 * normalisation statistics), as the example models are trained. */
static void compile_fit(dc_model *m, const dc_tensor *x)
{
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *y0 = NULL;
    assert_int_equal(dc_model_predict(m, x, 0, &y0), DC_OK);
    dc_tensor *y = dc_tensor_new(y0->ndim, y0->shape);
    fill_uniform(y, 99, 0.0f, 1.0f);
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.batch_size = 4;
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    dc_tensor_free(y0);
    dc_tensor_free(y);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    if (st != 0)
        fprintf(stderr, "command failed (%d): %s\n", st, cmd);
    return st;
}

static int write_raw(const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t k = fwrite(v, sizeof *v, n, f);
    return fclose(f) || k != n ? -1 : 0;
}

static int read_raw(const char *path, float *v, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t k = fread(v, sizeof *v, n, f);
    fclose(f);
    return k == n ? 0 : -1;
}

/* Whether DIR/name/file holds text. */
static int file_has(const char *name, const char *file, const char *text)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, name, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* Exports m as <name>, builds it with cc (and clang), runs it on x and
 * compares with deepc's predict. */
static void check_export_tol(dc_model *m, const dc_tensor *x, const char *name, double tol)
{
    char dir[1200], cmd[4096], path[1400], up[64];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
    mkdir(dir, 0755);
    if (dc_model_export_c(m, dir, name, NULL) != DC_OK)
        fail_msg("export of %s: %s", name, dc_errmsg());
    dc_tensor *want = NULL;
    assert_int_equal(dc_model_predict(m, x, 0, &want), DC_OK);
    snprintf(path, sizeof path, "%s/in.bin", dir);
    assert_int_equal(write_raw(path, x->data, x->size), 0);
    snprintf(path, sizeof path, "%s/want.bin", dir);
    assert_int_equal(write_raw(path, want->data, want->size), 0);
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof up; k++)
        up[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
    up[k] = '\0';
    const char *ccs[2] = {"cc", "clang"};
    for (int c = 0; c < 2; c++) {
        if (c == 1 && system("command -v clang > /dev/null 2>&1") != 0) {
            printf("  %s: clang not found, built with cc only\n", name);
            continue;
        }
        snprintf(cmd, sizeof cmd,
                 "cd %s && %s -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I. -DMODEL=%s -DMODEL_UP=%s "
                 "-D'MODEL_H=\"%s.h\"' -o run_%s %s/../export_c/runner.c %s.c -lm && ./run_%s in.bin out_%s.bin %d",
                 dir, ccs[c], name, up, name, ccs[c], DEEPC_FIXTURES, name, ccs[c], ccs[c], x->shape[0]);
        assert_int_equal(run(cmd), 0);
        float *got = malloc(want->size * sizeof *got);
        assert_non_null(got);
        snprintf(path, sizeof path, "%s/out_%s.bin", dir, ccs[c]);
        assert_int_equal(read_raw(path, got, want->size), 0);
        double big = 0, diff = 0;
        for (size_t i = 0; i < want->size; i++) {
            big = fmax(big, fabs(want->data[i]));
            diff = fmax(diff, fabs((double)got[i] - want->data[i]));
        }
        printf("  %s (%s): %zu outputs, largest |difference| %.3g, largest |output| %.3g\n", name, ccs[c],
               want->size, diff, big);
        if (!(diff <= tol * big))
            fail_msg("%s built with %s: difference %g > %g x %g", name, ccs[c], diff, tol, big);
        free(got);
    }
    dc_tensor_free(want);
}

static void check_export(dc_model *m, const dc_tensor *x, const char *name) { check_export_tol(m, x, name, 1e-5); }

/* Quantizes m calibrated on x, then exports it: the generated int8 program
 * must give deepc's int8 outputs exactly (tol 0), or within tol where a
 * float layer (an LSTM) runs before an int8 one. */
static void check_quantized(dc_model *m, const dc_tensor *x, const char *name, double tol)
{
    dc_quantize_config qc = dc_quantize_defaults();
    qc.calibration = x;
    if (dc_model_quantize(m, &qc) != DC_OK)
        fail_msg("quantize %s: %s", name, dc_errmsg());
    check_export_tol(m, x, name, tol);
}

/* ---- the models ---- */

static void test_mlp(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){20});
    dc_model_add(m, dc_layer_dense(32, "relu"));
    dc_model_add(m, dc_layer_dropout(0.3f));
    dc_model_add(m, dc_layer_dense(16, "tanh"));
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    dc_tensor *x = dc_tensor_new4(2, N_SAMPLES, 20, 0, 0);
    fill_uniform(x, 1, -1, 1);
    compile_fit(m, x);
    check_export(m, x, "mlp");
    check_quantized(m, x, "mlp_q", 0.0);
    dc_tensor_free(x);
    dc_model_free(m);
}

static void test_cnn(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(3, (int[]){12, 12, 1});
    dc_conv_config c = dc_conv_defaults(6, 3, 3);
    c.padding = DC_PADDING_SAME;
    c.strides[0] = c.strides[1] = 2;
    dc_conv_config c1 = dc_conv_defaults(16, 3, 3); /* 16 filters, same padding: in the int8 model a float */
    c1.padding = DC_PADDING_SAME;                  /* Conv2D (9 inputs) on qfconv2d's vector path, borders too */
    c1.activation = "relu";
    dc_model_add(m, dc_layer_random_flip("horizontal"));
    dc_model_add(m, dc_layer_conv2d_ex(&c1));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_conv2d_ex(&c));
    dc_model_add(m, dc_layer_pooling2d_ex(0, 2, 2, 1, 1, DC_PADDING_SAME));
    dc_model_add(m, dc_layer_spatial_dropout2d(0.2f));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    dc_tensor *x = dc_tensor_new4(4, N_SAMPLES, 12, 12, 1);
    fill_uniform(x, 2, 0, 1);
    compile_fit(m, x);
    check_export(m, x, "cnn");
    check_quantized(m, x, "cnn_q", 0.0);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Conv -> BN -> ReLU twice with a projected shortcut: folding, fused ReLU, Add. */
static void test_resnet(void **state)
{
    (void)state;
    dc_model *m = dc_functional_new(3, (int[]){8, 8, 2});
    dc_conv_config c = dc_conv_defaults(4, 3, 3);
    c.padding = DC_PADDING_SAME;
    int x = dc_model_apply(m, dc_layer_conv2d_ex(&c), DC_MODEL_INPUT);
    x = dc_model_apply(m, dc_layer_batch_normalization_ex(0.5f, 1e-3f), x);
    x = dc_model_apply(m, dc_layer_activation("relu"), x);
    int y = dc_model_apply(m, dc_layer_conv2d_ex(&c), x);
    y = dc_model_apply(m, dc_layer_batch_normalization_ex(0.5f, 1e-3f), y);
    int s = dc_model_apply(m, dc_layer_conv2d(4, 1, 1, NULL), DC_MODEL_INPUT);
    s = dc_model_apply(m, dc_layer_conv2d_ex(&(dc_conv_config){.filters = 4, .kernel = {3, 3}, .strides = {1, 1},
                                                                 .padding = DC_PADDING_SAME, .dilation = {2, 2},
                                                                 .use_bias = 1}),
                       s);
    int z = dc_model_merge(m, dc_layer_add(), 2, (int[]){y, s});
    z = dc_model_apply(m, dc_layer_activation("relu"), z);
    z = dc_model_apply(m, dc_layer_batch_normalization(), z); /* after an Add: not folded */
    z = dc_model_apply(m, dc_layer_global_average_pooling2d(), z);
    dc_model_apply(m, dc_layer_dense(3, "softmax"), z);
    dc_tensor *in = dc_tensor_new4(4, N_SAMPLES, 8, 8, 2);
    fill_uniform(in, 3, -1, 1);
    compile_fit(m, in);
    check_export(m, in, "resnet");
    dc_tensor_free(in);
    dc_model_free(m);
}

static void test_autoencoder(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(3, (int[]){8, 8, 1});
    dc_conv_config c = dc_conv_defaults(4, 3, 3);
    c.padding = DC_PADDING_SAME;
    c.activation = "relu";
    dc_model_add(m, dc_layer_conv2d_ex(&c));
    dc_model_add(m, dc_layer_pooling2d_ex(1, 2, 2, 0, 0, DC_PADDING_SAME));
    dc_model_add(m, dc_layer_conv2d_transpose(4, 3, 3, 2, DC_PADDING_SAME, "relu"));
    dc_model_add(m, dc_layer_conv2d_transpose(3, 3, 3, 1, DC_PADDING_VALID, "relu"));
    dc_model_add(m, dc_layer_upsampling2d(2, 2, "bilinear"));
    dc_model_add(m, dc_layer_upsampling2d(2, 1, NULL));
    dc_model_add(m, dc_layer_zero_padding2d(1, 0, 2, 1));
    dc_model_add(m, dc_layer_cropping2d(2, 1, 0, 3));
    dc_model_add(m, dc_layer_conv2d(1, 3, 3, "sigmoid"));
    dc_tensor *x = dc_tensor_new4(4, N_SAMPLES, 8, 8, 1);
    fill_uniform(x, 4, 0, 1);
    compile_fit(m, x);
    check_export(m, x, "autoencoder");
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Token ids with trailing zeros: Embedding(mask_zero) -> LSTM -> GRU -> Dense. */
static void test_lstm(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){7});
    dc_model_add(m, dc_layer_embedding(20, 6, 1));
    dc_rnn_config r = dc_rnn_defaults(DC_RNN_LSTM, 5);
    r.return_sequences = 1;
    dc_model_add(m, dc_layer_rnn_ex(&r));
    dc_model_add(m, dc_layer_gru(12));
    dc_model_add(m, dc_layer_dense(8, "relu"));
    dc_model_add(m, dc_layer_dense(1, "sigmoid")); /* too small for int8: stays float */
    dc_tensor *x = dc_tensor_new4(2, N_SAMPLES, 7, 0, 0);
    dc_rng g;
    dc_rng_seed(&g, 5);
    for (int i = 0; i < N_SAMPLES; i++) {
        int len = 2 + i % 6;
        for (int t = 0; t < 7; t++)
            x->data[i * 7 + t] = t < len ? (float)(1 + (int)(dc_rng_uniform(&g) * 19)) : 0.0f;
    }
    compile_fit(m, x);
    check_export(m, x, "lstm");
    check_quantized(m, x, "lstm_q", 0.0); /* weight-only int8 Embedding, LSTM, GRU: the same arithmetic */
    assert_true(file_has("lstm_q", "lstm_q.c", "qembedding(") && file_has("lstm_q", "lstm_q.c", "qrnn(&g"));
    dc_tensor_free(x);
    dc_model_free(m);
}

static long file_size(const char *name, const char *file)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, name, file);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* A text model the size of a small vocabulary: Embedding (per-row int8),
 * LSTM (per-column int8 kernels), Dense; the int8 .c file must be at most
 * 30% of the float one (the acceptance for every example model) and give
 * the int8 model's outputs exactly.  The output is the LSTM's sequence, so
 * nothing float after it hides a difference. */
static void test_text_size(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){10});
    dc_model_add(m, dc_layer_embedding(1000, 64, 1));
    dc_rnn_config r = dc_rnn_defaults(DC_RNN_LSTM, 16);
    r.return_sequences = 1;
    dc_model_add(m, dc_layer_rnn_ex(&r));
    dc_rnn_config gr = dc_rnn_defaults(DC_RNN_GRU, 8);
    gr.reset_after = 0;
    gr.return_sequences = 1;
    dc_model_add(m, dc_layer_rnn_ex(&gr));
    dc_model_add(m, dc_layer_simple_rnn(6));
    dc_tensor *x = dc_tensor_new4(2, N_SAMPLES, 10, 0, 0);
    dc_rng g;
    dc_rng_seed(&g, 11);
    for (int i = 0; i < N_SAMPLES; i++)
        for (int t = 0; t < 10; t++)
            x->data[i * 10 + t] = t < 3 + i % 7 ? (float)(1 + (int)(dc_rng_uniform(&g) * 999)) : 0.0f;
    compile_fit(m, x);
    check_export(m, x, "text");
    check_quantized(m, x, "text_q", 0.0);
    long f = file_size("text", "text.c"), q = file_size("text_q", "text_q.c");
    printf("  text: float .c %ld bytes, int8 .c %ld bytes (%.1f%%)\n", f, q, 100.0 * (double)q / (double)f);
    assert_true(f > 0 && q > 0);
    if (!((double)q <= 0.30 * (double)f))
        fail_msg("the int8 text model's .c is %ld bytes, %.1f%% of the float one's %ld (at most 30%%)", q,
                 100.0 * (double)q / (double)f, f);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Masking -> Bidirectional(SimpleRNN) -> GRU (reset before) backwards -> Dense. */
static void test_bidirectional(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(2, (int[]){5, 3});
    dc_model_add(m, dc_layer_masking(0.0f));
    dc_rnn_config s = dc_rnn_defaults(DC_RNN_SIMPLE, 4);
    s.return_sequences = 1;
    dc_model_add(m, dc_layer_bidirectional(dc_layer_rnn_ex(&s), "concat"));
    dc_rnn_config gr = dc_rnn_defaults(DC_RNN_GRU, 3);
    gr.reset_after = 0;
    gr.go_backwards = 1;
    gr.return_sequences = 1;
    dc_model_add(m, dc_layer_rnn_ex(&gr));
    dc_model_add(m, dc_layer_bidirectional(dc_layer_lstm(3), "sum"));
    dc_model_add(m, dc_layer_dense(2, NULL));
    dc_tensor *x = dc_tensor_new4(3, N_SAMPLES, 5, 3, 0);
    fill_uniform(x, 6, -1, 1);
    for (int i = 0; i < N_SAMPLES; i++) /* masked tails */
        for (int t = 5 - i % 3; t < 5; t++)
            for (int f = 0; f < 3; f++)
                x->data[(i * 5 + t) * 3 + f] = 0.0f;
    compile_fit(m, x);
    check_export(m, x, "birnn");
    check_quantized(m, x, "birnn_q", 0.0); /* every recurrent layer weight-only int8, Dense(2) float */
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Conv1D, the normalisation and activation layers, 1D padding and pooling,
 * RepeatVector, Permute, Rescaling, Normalization, TimeDistributed. */
static void test_misc(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(2, (int[]){9, 4});
    dc_model_add(m, dc_layer_conv1d(6, 3, "relu"));
    dc_model_add(m, dc_layer_layer_normalization());
    dc_model_add(m, dc_layer_prelu());
    dc_model_add(m, dc_layer_leaky_relu(0.1f));
    dc_model_add(m, dc_layer_zero_padding1d(1, 2));
    dc_model_add(m, dc_layer_cropping1d(1, 0));
    dc_model_add(m, dc_layer_average_pooling1d(2));
    dc_model_add(m, dc_layer_upsampling1d(2));
    dc_model_add(m, dc_layer_time_distributed(dc_layer_dense(3, "elu")));
    dc_model_add(m, dc_layer_gaussian_noise(0.1f));
    dc_model_add(m, dc_layer_permute(2, (int[]){2, 1}));
    dc_model_add(m, dc_layer_global_max_pooling1d());
    dc_model_add(m, dc_layer_repeat_vector(2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(5, "gelu"));
    dc_model_add(m, dc_layer_rescaling(2.0f, -0.5f));
    dc_model_add(m, dc_layer_normalization_ex(5, (float[]){0.1f, 0.2f, -0.3f, 0.0f, 1.0f},
                                              (float[]){1.0f, 4.0f, 0.25f, 0.0f, 2.0f}, 0));
    dc_model_add(m, dc_layer_activation("swish"));
    dc_model_add(m, dc_layer_dense(4, "softplus"));
    dc_model_add(m, dc_layer_relu_ex(1.5f, 0.1f, 0.2f));
    dc_model_add(m, dc_layer_activation("selu"));
    dc_tensor *x = dc_tensor_new4(3, N_SAMPLES, 9, 4, 0);
    fill_uniform(x, 7, -1, 1);
    compile_fit(m, x);
    check_export(m, x, "misc");
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Two inputs and every merge layer. */
static void test_merges(void **state)
{
    (void)state;
    dc_model *m = dc_functional_new(1, (int[]){6});
    int in2 = dc_model_input(m, 1, (int[]){4});
    int a = dc_model_apply(m, dc_layer_dense(5, "tanh"), DC_MODEL_INPUT);
    int b = dc_model_apply(m, dc_layer_dense(5, "sigmoid"), in2);
    int s = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){a, b});
    int p = dc_model_merge(m, dc_layer_multiply(), 2, (int[]){a, b});
    int mx = dc_model_merge(m, dc_layer_maximum(), 2, (int[]){s, p});
    int mn = dc_model_merge(m, dc_layer_minimum(), 2, (int[]){s, p});
    int av = dc_model_merge(m, dc_layer_average(), 3, (int[]){a, mx, mn});
    int c = dc_model_merge(m, dc_layer_concatenate(-1), 3, (int[]){av, s, b});
    dc_model_apply(m, dc_layer_dense(3, NULL), c);
    dc_tensor *x = dc_tensor_new4(2, N_SAMPLES, 10, 0, 0);
    fill_uniform(x, 8, -1, 1);
    compile_fit(m, x);
    check_export(m, x, "merges");
    dc_tensor_free(x);
    dc_model_free(m);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(2, NULL));
    assert_int_equal(dc_model_export_c(m, g_dir, "notyet", NULL), DC_ERR_STATE);
    assert_errmsg_contains("not compiled");
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_export_c(m, g_dir, "1model", NULL), DC_ERR_ARG);
    assert_errmsg_contains("not a C identifier");
    assert_int_equal(dc_model_export_c(m, g_dir, "a-b", NULL), DC_ERR_ARG);
    assert_int_equal(dc_model_export_c(m, "/nonexistent/folder", "ok", NULL), DC_ERR_IO);
    float w[6] = {1, 2, 3, NAN, 5, 6};
    assert_int_equal(dc_model_set_weight(m, 0, 0, w, 6), DC_OK);
    assert_int_equal(dc_model_export_c(m, g_dir, "nanmodel", NULL), DC_ERR_NAN);
    assert_errmsg_contains("dense");
    char path[1200];
    snprintf(path, sizeof path, "%s/nanmodel.c", g_dir);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing written */
    dc_model_free(m);
}

/* The layer-by-layer comments and the scratch macro a reader relies on. */
static void test_readable(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/cnn/cnn.c", g_dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        skip(); /* test_cnn did not run */
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "/* conv2d (Conv2D, conv2d): (12, 12, 1) -> (12, 12, 16) */"));
    assert_non_null(strstr(buf, "static const float"));
    assert_null(strstr(buf, "malloc"));
    snprintf(path, sizeof path, "%s/cnn/cnn.h", g_dir);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "#define CNN_SCRATCH_BYTES"));
    assert_non_null(strstr(buf, "int cnn_predict(const float *in, float *out, void *scratch);"));
}

static int rm_tree(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd);
}

int main(int argc, char **argv)
{
    const char *keep = getenv("DEEPC_EXPORT_C_KEEP"); /* ctest: export_c_cross reads the files there */
    if ((argc == 3 && !strcmp(argv[1], "--keep")) || (keep && *keep)) {
        snprintf(g_dir, sizeof g_dir, "%s", argc == 3 ? argv[2] : keep);
        mkdir(g_dir, 0755);
        g_keep = 1;
    } else {
        snprintf(g_dir, sizeof g_dir, "/tmp/test_export_c_XXXXXX");
        if (!mkdtemp(g_dir))
            return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),        cmocka_unit_test(test_cnn),          cmocka_unit_test(test_resnet),
        cmocka_unit_test(test_autoencoder), cmocka_unit_test(test_lstm),        cmocka_unit_test(test_bidirectional),
        cmocka_unit_test(test_text_size),  cmocka_unit_test(test_misc),       cmocka_unit_test(test_merges),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_readable),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (!g_keep)
        rm_tree();
    return rc;
}
