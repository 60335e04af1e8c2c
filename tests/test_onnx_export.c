/*
 * test_onnx_export.c - dc_model_save_onnx checked against real ONNX tools:
 * every model is exported, passes the onnx package's checker
 * (check_model(full_check=True)) and strict shape inference
 * (tests/onnx/check_model.py, Debian's python3-onnx), and ONNX Runtime
 * (onnxruntime-node, tests/onnx/ort_run.js) run on the same inputs gives
 * deepc's predict within 1e-5 of the largest output magnitude, with the
 * same argmax on every sample whose top two differ by more than 1e-5.
 *
 * Models: the example models of issue 17 (mnist_mlp, mnist_cnn, cnn with
 * and without its augmentation layers, spam_lstm and its Conv1D variant,
 * resnet, autoencoder with both decoders, siamese, addition_rnn,
 * seq_tagging), on MNIST test images where the examples' cache has them
 * and on seeded random inputs otherwise; then small models covering every
 * exportable layer class and their variants (padding, strides, dilation,
 * go_backwards, reset_after, masks, merge modes ...).  Every weight is set
 * to seeded random values (biases and BatchNormalization statistics
 * included), so a layout mistake cannot hide behind zeros or ones; the MLP
 * is also trained for an epoch.  Then: refusal of a layer that cannot be
 * exported (its name and the reason), bad configs, an unwritable path, a
 * failed save leaving the previous file whole, and the names a config
 * asks for.
 *
 * The batch: every model runs on several samples in one call, through the
 * file's dynamic batch axis.  All files go to onnx_export_tmp/ in the
 * working directory (the build folder).  Exit 77 (skipped, and saying why)
 * when node, onnxruntime-node (NODE_PATH or tests/onnx/install_ort.sh's
 * cache folder) or python3-onnx is absent.
 */
#include "deepc.h"
#include "model/model.h" /* the layer classes a model holds: the coverage check */

#include "../examples/autoencoder_model.h"
#include "../examples/resnet_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOOLS DEEPC_FIXTURES "/../onnx"
#define TMP "onnx_export_tmp"
#define MAX_CASES 128

typedef struct ocase {
    char name[64];
    int n_in;
    dc_tensor *y;   /* deepc's predict */
    int classify;   /* compare the argmax per row of the last axis (asked for, or a softmax output) */
} ocase;

typedef struct suite {
    ocase cases[MAX_CASES];
    int n;
    int failed;
    FILE *jobs;
    char node_path[1024];
    dc_rng rng;
    int have_mnist;
    unsigned char seen[128]; /* layer classes exported, by registry index */
    dc_tensor *mnist_x; /* 64 test images (64, 28, 28, 1) / 255 */
    dc_tensor *mnist_train_x, *mnist_train_y;
} suite;

static void fail(suite *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    s->failed++;
}

/* ---- models ---- */

static void fill_uniform(dc_rng *r, float *v, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * dc_rng_uniform(r);
}

/* Every weight of m set to uniform(-0.5, 0.5); the variances of
 * BatchNormalization and Normalization to uniform(0.5, 1.5). */
static void randomize(suite *s, dc_model *m)
{
    for (int l = 0; l < dc_model_layer_count(m); l++) {
        const char *name = dc_model_layer_name(m, l);
        for (int i = 0;; i++) {
            dc_tensor *t = NULL;
            if (dc_model_get_weight(m, l, i, &t) != DC_OK)
                break;
            int var = (strstr(name, "batch_normalization") && i == 3) || (strstr(name, "normalization") &&
                                                                           !strstr(name, "batch") && i == 1);
            fill_uniform(&s->rng, t->data, t->size, var ? 0.5f : -0.5f, var ? 1.5f : 0.5f);
            if (dc_model_set_weight(m, l, i, t->data, t->size) != DC_OK)
                fail(s, "set_weight %s %d: %s", name, i, dc_errmsg());
            dc_tensor_free(t);
        }
    }
}

/* A Sequential model of the NULL-terminated layers, compiled. */
static dc_model *seq_model(int ndim, const int *shape, ...)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    va_list ap;
    va_start(ap, shape);
    for (dc_layer *l; (l = va_arg(ap, dc_layer *));)
        dc_model_add(m, l);
    va_end(ap);
    dc_model_set_seed(m, 3);
    return m;
}

/* A new (n, shape...) tensor of uniform(lo, hi). */
static dc_tensor *rand_x(suite *s, int n, int ndim, const int *shape, float lo, float hi)
{
    int full[DC_MAX_DIMS];
    full[0] = n;
    memcpy(full + 1, shape, (size_t)ndim * sizeof *full);
    dc_tensor *t = dc_tensor_new(ndim + 1, full);
    fill_uniform(&s->rng, t->data, t->size, lo, hi);
    return t;
}

/* (n, steps) token ids in [1, vocab) with zeros (padding) at the start of
 * some rows, the end of others, and, with holes, in the middle. */
static dc_tensor *rand_ids(suite *s, int n, int steps, int vocab, int holes)
{
    dc_tensor *t = dc_tensor_new(2, (int[]){n, steps});
    for (int i = 0; i < n; i++) {
        int pad = (int)(dc_rng_uniform(&s->rng) * (float)steps / 2);
        for (int j = 0; j < steps; j++) {
            float id = (float)(1 + (int)(dc_rng_uniform(&s->rng) * (float)(vocab - 1)));
            int padded = i % 3 == 0 ? j < pad : i % 3 == 1 ? j >= steps - pad : holes && j % 4 == 1;
            t->data[i * steps + j] = padded ? 0.0f : id;
        }
    }
    return t;
}

static void write_f32(suite *s, const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v, sizeof *v, n, f) != n)
        fail(s, "cannot write %s", path);
    if (f)
        fclose(f);
}

/* Marks the classes of m's layers (and of a TimeDistributed's inner one) as exported. */
static void mark_classes(suite *s, const dc_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        for (int r = 0; r < dc_layer_registry_count && r < 128; r++) {
            const dc_layer *l = m->layers[i];
            if (dc_layer_registry[r] == l->cls ||
                (l->cls == &dc_class_time_distributed && dc_layer_registry[r] == l->cfg.td.inner->cls))
                s->seen[r] = 1;
        }
}

/* Predicts, exports and queues the model for the tools; frees m and the xs. */
static void add_case(suite *s, const char *name, dc_model *m, int n_in, dc_tensor **xs, int classify,
                     const dc_onnx_export_config *cfg)
{
    if (s->n == MAX_CASES) {
        fail(s, "too many cases");
        return;
    }
    ocase *c = &s->cases[s->n];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->n_in = n_in;
    c->classify = classify || (m->n_calls && m->calls[m->n_calls - 1].made.out_act == DC_ACT_SOFTMAX);
    dc_tensor *packed = n_in == 1 ? NULL : dc_model_pack_inputs(m, n_in, (const dc_tensor *const *)xs);
    char path[256], in[256];
    snprintf(path, sizeof path, TMP "/%s.onnx", name);
    if (dc_model_predict(m, packed ? packed : xs[0], 0, &c->y) != DC_OK) {
        fail(s, "%s: predict: %s", name, dc_errmsg());
    } else if (dc_model_save_onnx(m, path, cfg) != DC_OK) {
        fail(s, "%s: save_onnx: %s", name, dc_errmsg());
        dc_tensor_free(c->y);
        c->y = NULL;
    } else {
        fprintf(s->jobs, "%s " TMP "/%s_out", path, name);
        for (int k = 0; k < n_in; k++) {
            snprintf(in, sizeof in, TMP "/%s_in%d.f32", name, k);
            write_f32(s, in, xs[k]->data, xs[k]->size);
            fprintf(s->jobs, " %s:", in);
            for (int d = 0; d < xs[k]->ndim; d++)
                fprintf(s->jobs, "%s%d", d ? "x" : "", xs[k]->shape[d]);
        }
        fprintf(s->jobs, "\n");
        s->n++;
        mark_classes(s, m);
    }
    dc_tensor_free(packed);
    for (int k = 0; k < n_in; k++)
        dc_tensor_free(xs[k]);
    dc_model_free(m);
}

/* Compiles (mse: the loss does not matter to predict), randomises the
 * weights and adds the model with one input x. */
static void add_random(suite *s, const char *name, dc_model *m, dc_tensor *x)
{
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK) {
        fail(s, "%s: compile: %s", name, dc_errmsg());
        dc_model_free(m);
        dc_tensor_free(x);
        return;
    }
    randomize(s, m);
    add_case(s, name, m, 1, &x, 0, NULL);
}

/* ---- the example models ---- */

/* MNIST test images, or (saying so) uniform noise in [0, 1). */
static dc_tensor *images(suite *s, int flat)
{
    int n = 64;
    dc_tensor *x = s->have_mnist ? NULL : rand_x(s, n, 3, (int[]){28, 28, 1}, 0.0f, 1.0f);
    if (s->have_mnist) {
        x = dc_tensor_new(4, (int[]){n, 28, 28, 1});
        memcpy(x->data, s->mnist_x->data, x->size * sizeof(float));
    }
    if (flat) { /* (n, 784) */
        x->ndim = 2;
        x->shape[1] = 784;
    }
    return x;
}

static dc_layer *conv_k(int filters, int k, int stride, const char *act)
{
    dc_conv_config c = dc_conv_defaults(filters, k, 1);
    c.strides[0] = stride;
    c.activation = act;
    return dc_layer_conv1d_ex(&c);
}

static void example_models(suite *s)
{
    /* mnist_mlp, trained for an epoch on 2000 images */
    dc_model *m = seq_model(3, (int[]){28, 28, 1}, dc_layer_flatten(), dc_layer_dense(128, "relu"),
                            dc_layer_dense(10, "softmax"), NULL);
    const char *acc[] = {"accuracy"};
    if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", acc, 1) != DC_OK)
        fail(s, "mnist_mlp: compile: %s", dc_errmsg());
    if (s->have_mnist) {
        dc_fit_config fc = dc_fit_defaults();
        fc.verbose = 0;
        if (dc_model_fit(m, s->mnist_train_x, s->mnist_train_y, &fc, NULL) != DC_OK)
            fail(s, "mnist_mlp: fit: %s", dc_errmsg());
    } else {
        randomize(s, m);
    }
    dc_tensor *x = images(s, 0);
    add_case(s, "mnist_mlp", m, 1, &x, 1, NULL);

    m = seq_model(3, (int[]){28, 28, 1}, dc_layer_conv2d(32, 3, 3, "relu"), dc_layer_flatten(),
                  dc_layer_dense(10, "softmax"), NULL);
    add_random(s, "mnist_cnn", m, images(s, 0));

    for (int augment = 0; augment < 2; augment++) { /* cnn.c (seed 003), with its --augment layers */
        const float t[2] = {-0.1f, 0.1f}, r[2] = {-0.05f, 0.05f};
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        if (augment) {
            dc_model_add(m, dc_layer_random_flip("horizontal"));
            dc_model_add(m, dc_layer_random_translation(t, t, NULL, NULL, 0.0f));
            dc_model_add(m, dc_layer_random_rotation(r, NULL, NULL, 0.0f));
        }
        dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
        dc_model_add(m, dc_layer_max_pooling2d(2, 2));
        dc_model_add(m, dc_layer_conv2d(64, 3, 3, "relu"));
        dc_model_add(m, dc_layer_max_pooling2d(2, 2));
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(128, "relu"));
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        add_random(s, augment ? "cnn_augment" : "cnn", m, images(s, 0));
    }

    /* spam_lstm and its Conv1D variant: 200 ids of a 10000-word vocabulary */
    m = seq_model(1, (int[]){200}, dc_layer_embedding(10000, 64, 0), dc_layer_lstm(64),
                  dc_layer_dense(1, "sigmoid"), NULL);
    add_random(s, "spam_lstm", m, rand_ids(s, 8, 200, 10000, 0));
    m = seq_model(1, (int[]){200}, dc_layer_embedding(10000, 64, 0), dc_layer_dropout(0.5f),
                  conv_k(128, 7, 3, "relu"), conv_k(128, 7, 3, "relu"), dc_layer_global_max_pooling1d(),
                  dc_layer_dense(128, "relu"), dc_layer_dropout(0.5f), dc_layer_dense(1, "sigmoid"), NULL);
    add_random(s, "spam_conv1d", m, rand_ids(s, 8, 200, 10000, 0));

    m = dc_functional_new(3, (int[]){28, 28, 1});
    dc_model_set_seed(m, 3);
    if (resnet_build(m, 1, 0.99f))
        fail(s, "resnet: build: %s", dc_errmsg());
    add_random(s, "resnet", m, images(s, 0));

    for (int transpose = 0; transpose < 2; transpose++) {
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        if (autoencoder_build(m, transpose))
            fail(s, "autoencoder: build: %s", dc_errmsg());
        add_random(s, transpose ? "autoencoder_transpose" : "autoencoder", m, images(s, 0));
    }

    /* siamese: two inputs through the same two Dense layers */
    int f = 784;
    m = dc_functional_new(1, &f);
    int b = dc_model_input(m, 1, &f);
    dc_layer *enc1 = dc_layer_dense(128, "relu"), *enc2 = dc_layer_dense(64, "relu");
    int ea = dc_model_apply(m, enc2, dc_model_apply(m, enc1, DC_MODEL_INPUT));
    int eb = dc_model_apply(m, enc2, dc_model_apply(m, enc1, b));
    int d = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){ea, eb});
    int sq = dc_model_merge(m, dc_layer_multiply(), 2, (int[]){d, d});
    dc_model_apply(m, dc_layer_dense(1, "sigmoid"), sq);
    if (dc_model_compile(m, "adam", "binary_crossentropy", NULL, 0) != DC_OK)
        fail(s, "siamese: compile: %s", dc_errmsg());
    randomize(s, m);
    dc_tensor *pair[2] = {images(s, 1), images(s, 1)};
    memmove(pair[1]->data, pair[1]->data + 784, (pair[1]->size - 784) * sizeof(float)); /* other pairs */
    add_case(s, "siamese", m, 2, pair, 0, NULL);

    /* addition_rnn (3 digits): LSTM(128), RepeatVector(4), LSTM(128, return_sequences), Dense(12, softmax) */
    dc_rnn_config dec = dc_rnn_defaults(DC_RNN_LSTM, 128);
    dec.return_sequences = 1;
    m = seq_model(2, (int[]){7, 12}, dc_layer_lstm(128), dc_layer_repeat_vector(4), dc_layer_rnn_ex(&dec),
                  dc_layer_dense(12, "softmax"), NULL);
    x = dc_tensor_new(3, (int[]){16, 7, 12});
    for (int i = 0; i < 16 * 7; i++) /* one-hot characters */
        x->data[i * 12 + (int)(dc_rng_uniform(&s->rng) * 12)] = 1.0f;
    if (dc_model_compile(m, "adam", "categorical_crossentropy", NULL, 0) != DC_OK)
        fail(s, "addition_rnn: compile: %s", dc_errmsg());
    randomize(s, m);
    add_case(s, "addition_rnn", m, 1, &x, 1, NULL);

    /* seq_tagging: Embedding(11, 16, mask_zero), LSTM(64, return_sequences), Dense(2, softmax) */
    dc_rnn_config tag = dc_rnn_defaults(DC_RNN_LSTM, 64);
    tag.return_sequences = 1;
    m = seq_model(1, (int[]){16}, dc_layer_embedding(11, 16, 1), dc_layer_rnn_ex(&tag), dc_layer_dense(2, "softmax"),
                  NULL);
    add_random(s, "seq_tagging", m, rand_ids(s, 12, 16, 11, 0));
}

#include "onnx/ort_util.h"
#include "onnx/layer_cases.h"
#include "onnx/attn_cases.h"

/* ---- running the tools ---- */

/* n floats from ORT's raw output file as a tensor, or NULL. */
static dc_tensor *read_output(const char *path, size_t n)
{
    float *d = read_f32(path, n);
    dc_tensor *t = d ? dc_tensor_new(1, (int[]){(int)n}) : NULL;
    if (t)
        memcpy(t->data, d, n * sizeof *d);
    free(d);
    return t;
}

/* Compares case c's ORT output with deepc's. */
static void compare(suite *s, const ocase *c)
{
    char path[256];
    snprintf(path, sizeof path, TMP "/%s_out0.f32", c->name);
    dc_tensor *got = read_output(path, c->y->size);
    if (!got) {
        fail(s, "%s: no output from ONNX Runtime of %zu floats (%s)", c->name, c->y->size, path);
        return;
    }
    double big = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < c->y->size; i++)
        big = fmax(big, fabs(c->y->data[i]));
    for (size_t i = 0; i < c->y->size; i++) {
        double e = fabs((double)got->data[i] - c->y->data[i]);
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    int bad_argmax = 0, cols = c->y->shape[c->y->ndim - 1];
    for (size_t r = 0; c->classify && cols > 1 && r < c->y->size / (size_t)cols; r++) {
        const float *a = c->y->data + r * cols, *o = got->data + r * cols;
        int ia = 0, io = 0;
        for (int j = 1; j < cols; j++) {
            ia = a[j] > a[ia] ? j : ia;
            io = o[j] > o[io] ? j : io;
        }
        float second = -INFINITY;
        for (int j = 0; j < cols; j++)
            if (j != ia)
                second = fmaxf(second, a[j]);
        bad_argmax += ia != io && a[ia] - second > 1e-5f;
    }
    int ok = worst <= 1e-5 * big && !bad_argmax;
    printf("%s %-28s max|ORT - deepc| %.3g (%.3g of the largest %.3g)%s\n", ok ? "ok  " : "FAIL", c->name, worst,
           big > 0 ? worst / big : worst, big,
           !c->classify ? "" : bad_argmax ? ", the argmax differs" : ", the same argmax");
    if (!ok) {
        printf("     at %zu: deepc %.9g, ORT %.9g\n", at, c->y->data[at], got->data[at]);
        s->failed++;
    }
    dc_tensor_free(got);
}

static void load_mnist(suite *s)
{
    dc_dataset d;
    memset(&d, 0, sizeof d);
    if (getenv("DEEPC_OFFLINE") == NULL && setenv("DEEPC_OFFLINE", "1", 0) != 0) /* the cache only */
        return;
    if (dc_mnist_load(NULL, &d) != DC_OK) {
        printf("note: MNIST is not in the cache (%s): the image models run on seeded random images\n", dc_errmsg());
        return;
    }
    s->mnist_x = dc_tensor_new(4, (int[]){64, 28, 28, 1});
    for (size_t i = 0; i < s->mnist_x->size; i++)
        s->mnist_x->data[i] = (float)d.x_test->data[i] / 255.0f;
    s->mnist_train_x = dc_tensor_new(4, (int[]){2000, 28, 28, 1});
    s->mnist_train_y = dc_tensor_new(1, (int[]){2000});
    for (size_t i = 0; i < s->mnist_train_x->size; i++)
        s->mnist_train_x->data[i] = (float)d.x_train->data[i] / 255.0f;
    for (int i = 0; i < 2000; i++)
        s->mnist_train_y->data[i] = (float)d.y_train->data[i];
    s->have_mnist = 1;
    dc_dataset_free(&d);
}

int main(void)
{
    static suite s;
    char cmd[4096];
    if (!have("command -v node"))
        return printf("SKIPPED: node is not installed (Debian: nodejs)\n"), 77;
    if (!find_ort(s.node_path, sizeof s.node_path))
        return printf("SKIPPED: onnxruntime-node not found in NODE_PATH, $DEEPC_ORT_DIR or "
                      "~/.cache/deepc/onnxruntime-node (run tests/onnx/install_ort.sh)\n"),
               77;
    if (!have("/usr/bin/python3 -c 'import onnx'"))
        return printf("SKIPPED: /usr/bin/python3 cannot import onnx (Debian: python3-onnx)\n"), 77;
    mkdir(TMP, 0777);
    s.jobs = fopen(TMP "/jobs.txt", "w");
    if (!s.jobs)
        return printf("FAIL: cannot write " TMP "/jobs.txt\n"), 1;
    dc_rng_seed(&s.rng, 17);
    load_mnist(&s);
    example_models(&s);
    layer_models(&s);
    attention_models(&s);
    error_cases(&s);
    fclose(s.jobs);

    /* the checker on every file, then ONNX Runtime on every job */
    int n = snprintf(cmd, sizeof cmd, "/usr/bin/python3 " TOOLS "/check_model.py");
    for (int i = 0; i < s.n && n < (int)sizeof cmd - 200; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " " TMP "/%s.onnx", s.cases[i].name);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " > " TMP "/check.txt 2>&1");
    if (system(cmd) != 0)
        fail(&s, "the onnx checker refused a model: see below");
    snprintf(cmd, sizeof cmd, "cat " TMP "/check.txt");
    if (system(cmd) != 0)
        fail(&s, "cannot show " TMP "/check.txt");
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' node " TOOLS "/ort_run.js --jobs " TMP "/jobs.txt > " TMP "/ort.txt",
             s.node_path);
    if (system(cmd) != 0)
        fail(&s, "ONNX Runtime failed on a model (messages above)");
    for (int i = 0; i < s.n; i++)
        compare(&s, &s.cases[i]);
    check_names(&s);
    for (int r = 0; r < dc_layer_registry_count; r++) /* a new class needs its case here */
        if (r >= 128 || !s.seen[r])
            fail(&s, "layer class %s is in no exported model", dc_layer_registry[r]->type);
    for (int i = 0; i < s.n; i++)
        dc_tensor_free(s.cases[i].y);
    dc_tensor_free(s.mnist_x);
    dc_tensor_free(s.mnist_train_x);
    dc_tensor_free(s.mnist_train_y);
    printf("%d models exported and compared, %d failure(s)\n", s.n, s.failed);
    return s.failed ? 1 : 0;
}
