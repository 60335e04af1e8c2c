/*
 * export_c_models.c - issue 18's checks on the example models, on their
 * whole test sets (too long for ctest; results in docs/export-c.md):
 *
 *   for each model: train as its example does (epochs: --epochs, else the
 *   example's), evaluate; export it as C, build that with cc -std=c99
 *   -Wall -Wextra -Werror -pedantic -O2, run it on the whole test set and
 *   compare with predict (the largest difference over the largest output
 *   magnitude: the acceptance is 1e-5); then quantize it with calibration
 *   samples from the training data only (the first --calib, 1000), evaluate
 *   the int8 model (the accuracy cost), export it, build and run it, and
 *   count the outputs equal to the int8 model's bit for bit; the sizes of
 *   the generated .c files and of their weights.
 *
 * Models: mnist_mlp, mnist_cnn, cnn (seed 003's, MNIST), cnn_fashion (the
 * same on Fashion-MNIST), spam_lstm, resnet, autoencoder.
 * Usage: export_c_models [--models a,b,...] [--epochs N] [--calib N] [--dir D] [--threads N] [--train N]
 * (--train N: fit on the first N training samples only; the test set stays whole)
 * After the table: the acceptance checks (float C within 1e-5; int8 C equal
 * to the int8 model; int8 .c <= 30% of float; int8 cost <= 0.3 points for
 * cnn / cnn_fashion, <= 0.5 for mnist_mlp / spam_lstm); exit 1 when one fails.
 */
#include "deepc.h"

#include "../examples/autoencoder_model.h"
#include "../examples/resnet_model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { NUM_WORDS = 10000, MAXLEN = 200 };

typedef struct data {
    dc_tensor *x_train, *y_train, *x_test, *y_test;
} data;

static void data_free(data *d)
{
    dc_tensor_free(d->x_train);
    dc_tensor_free(d->y_train);
    dc_tensor_free(d->x_test);
    dc_tensor_free(d->y_test);
    memset(d, 0, sizeof *d);
}

static int load_images(int fashion, int channels, data *out)
{
    dc_dataset d;
    if ((fashion ? dc_fashion_mnist_load(NULL, &d) : dc_mnist_load(NULL, &d)) != DC_OK)
        return 1;
    out->x_train = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f);
    out->y_train = dc_tensor_from_u8(d.y_train, 1.0f);
    out->x_test = dc_tensor_from_u8(d.x_test, 1.0f / 255.0f);
    out->y_test = dc_tensor_from_u8(d.y_test, 1.0f);
    dc_dataset_free(&d);
    if (channels) {
        dc_tensor_reshape(out->x_train, 4, (int[]){out->x_train->shape[0], 28, 28, 1});
        dc_tensor_reshape(out->x_test, 4, (int[]){out->x_test->shape[0], 28, 28, 1});
    }
    return !out->x_train || !out->x_test;
}

static dc_tensor *padded(const dc_tokenizer *tok, char **texts, const int *idx, int n)
{
    const char **sel = malloc((size_t)n * sizeof *sel);
    dc_sequences *seqs = NULL;
    dc_tensor *x = NULL;
    dc_pad_config pad = dc_pad_defaults();
    pad.maxlen = MAXLEN;
    for (int i = 0; sel && i < n; i++)
        sel[i] = texts[idx[i]];
    if (sel && dc_tokenizer_texts_to_sequences(tok, sel, n, &seqs) == DC_OK)
        dc_pad_sequences(seqs, &pad, &x);
    dc_sequences_free(seqs);
    free(sel);
    return x;
}

/* spam_lstm's data: its seeded 80/20 split, the tokenizer fit on training texts. */
static int load_spam(data *out)
{
    dc_text_dataset d;
    if (dc_spam_assassin_load(NULL, &d) != DC_OK)
        return 1;
    int n = d.count, n_train = n * 8 / 10, *perm = malloc((size_t)n * sizeof *perm);
    dc_rng rng;
    dc_rng_seed(&rng, 42);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    dc_rng_shuffle(&rng, perm, n);
    dc_tokenizer_config tc = dc_tokenizer_defaults();
    tc.num_words = NUM_WORDS;
    dc_tokenizer *tok = dc_tokenizer_new(&tc);
    const char **tr = malloc((size_t)n_train * sizeof *tr);
    for (int i = 0; i < n_train; i++)
        tr[i] = d.texts[perm[i]];
    dc_tokenizer_fit_on_texts(tok, tr, n_train);
    out->x_train = padded(tok, d.texts, perm, n_train);
    out->x_test = padded(tok, d.texts, perm + n_train, n - n_train);
    out->y_train = dc_tensor_new(1, &n_train);
    int nt = n - n_train;
    out->y_test = dc_tensor_new(1, &nt);
    for (int i = 0; i < n_train; i++)
        out->y_train->data[i] = (float)d.labels[perm[i]];
    for (int i = 0; i < nt; i++)
        out->y_test->data[i] = (float)d.labels[perm[n_train + i]];
    free(tr);
    free(perm);
    dc_tokenizer_free(tok);
    dc_text_dataset_free(&d);
    return !out->x_train || !out->x_test;
}

/* The model of example `name`, compiled; its epochs and batch into *epochs, *batch. */
static dc_model *make(const char *name, int *epochs, int *batch, int *autoenc)
{
    dc_model *m = NULL;
    const char *metrics[] = {"accuracy"};
    *autoenc = 0;
    *batch = 32;
    if (!strcmp(name, "mnist_mlp")) {
        m = dc_sequential_new(2, (int[]){28, 28});
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(128, "relu"));
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        *epochs = 5;
    } else if (!strcmp(name, "mnist_cnn")) {
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        *epochs = 5;
    } else if (!strcmp(name, "cnn") || !strcmp(name, "cnn_fashion")) {
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
        dc_model_add(m, dc_layer_max_pooling2d(2, 2));
        dc_model_add(m, dc_layer_conv2d(64, 3, 3, "relu"));
        dc_model_add(m, dc_layer_max_pooling2d(2, 2));
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(128, "relu"));
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        *epochs = strcmp(name, "cnn") ? 10 : 5;
    } else if (!strcmp(name, "spam_lstm")) {
        m = dc_sequential_new(1, (int[]){MAXLEN});
        dc_model_add(m, dc_layer_embedding(NUM_WORDS, 64, 0));
        dc_model_add(m, dc_layer_lstm(64));
        dc_model_add(m, dc_layer_dense(1, "sigmoid"));
        *epochs = 5;
    } else if (!strcmp(name, "resnet")) {
        m = dc_functional_new(3, (int[]){28, 28, 1});
        resnet_build(m, 1, 0.99f);
        *epochs = 5;
        *batch = 64;
    } else if (!strcmp(name, "autoencoder")) {
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        autoencoder_build(m, 0);
        *epochs = 10;
        *batch = 128;
        *autoenc = 1;
    }
    if (!m)
        return NULL;
    dc_model_set_seed(m, 42);
    const char *loss = *autoenc ? "binary_crossentropy"
                       : !strcmp(name, "spam_lstm") ? "binary_crossentropy" : "sparse_categorical_crossentropy";
    if (dc_model_compile(m, "adam", loss, *autoenc ? NULL : metrics, *autoenc ? 0 : 1) != DC_OK) {
        dc_model_free(m);
        return NULL;
    }
    return m;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* Exports m as <dir>/<name>, builds and runs it on x; compares with want:
 * *rel the largest difference over the largest |want|, *same the count
 * equal bit for bit.  Returns 0 on success. */
static int run_export(dc_model *m, const char *dir, const char *name, const dc_tensor *x, const dc_tensor *want,
                      double *rel, size_t *same, long *csize)
{
    char d[1200], cmd[8192], path[1400], up[64], here[PATH_MAX];
    snprintf(d, sizeof d, "%s/%s", dir, name);
    mkdir(d, 0755);
    if (dc_model_export_c(m, d, name, NULL) != DC_OK) {
        fprintf(stderr, "export %s: %s\n", name, dc_errmsg());
        return 1;
    }
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/'), abs_here[PATH_MAX];
    if (slash)
        *slash = '\0';
    else
        snprintf(here, sizeof here, ".");
    if (realpath(here, abs_here)) /* __FILE__ may be relative to the build folder */
        snprintf(here, sizeof here, "%s", abs_here);
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof up; k++)
        up[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
    up[k] = '\0';
    snprintf(path, sizeof path, "%s/in.bin", d);
    FILE *f = fopen(path, "wb");
    fwrite(x->data, sizeof(float), x->size, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd %s && cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I. -DMODEL=%s -DMODEL_UP=%s -D'MODEL_H=\"%s.h\"' "
             "-o run %s/../tests/export_c/runner.c %s.c -lm && ./run in.bin out.bin %d",
             d, name, up, name, here, name, x->shape[0]);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        return 1;
    }
    snprintf(path, sizeof path, "%s/out.bin", d);
    float *got = malloc(want->size * sizeof *got);
    f = fopen(path, "rb");
    size_t n = f ? fread(got, sizeof *got, want->size, f) : 0;
    if (f)
        fclose(f);
    if (n != want->size) {
        free(got);
        return 1;
    }
    double big = 0, diff = 0;
    *same = 0;
    for (size_t i = 0; i < n; i++) {
        big = fmax(big, fabs(want->data[i]));
        diff = fmax(diff, fabs((double)got[i] - want->data[i]));
        *same += memcmp(&got[i], &want->data[i], sizeof(float)) == 0;
    }
    *rel = diff / big;
    free(got);
    snprintf(path, sizeof path, "%s/%s.c", d, name);
    *csize = file_size(path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *models = "mnist_mlp,mnist_cnn,cnn,cnn_fashion,spam_lstm,resnet,autoencoder", *dir = "export_c_models";
    int epochs = 0, calib = 1000, threads = 0, n_train = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calib") && i + 1 < argc)
            calib = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train") && i + 1 < argc)
            n_train = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--models a,b] [--epochs N] [--calib N] [--dir D] [--threads N] [--train N]\n", argv[0]);
            return 2;
        }
    }
    mkdir(dir, 0755);
    char list[512];
    snprintf(list, sizeof list, "%s", models);
    char fails[4096] = "";
    int n_fail = 0;
    printf("| model | epochs | train samples | test samples | float C vs predict (max diff / max out) | float metric | int8 metric | "
           "cost | int8 C = int8 model | float .c bytes | int8 .c bytes | int8/float |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        int ep, batch, autoenc;
        dc_model *m = make(name, &ep, &batch, &autoenc);
        if (!m) {
            fprintf(stderr, "%s: unknown model or compile failed: %s\n", name, dc_errmsg());
            continue;
        }
        dc_model_set_threads(m, threads);
        data d = {0};
        int bad = !strcmp(name, "spam_lstm") ? load_spam(&d)
                                              : load_images(!strcmp(name, "cnn_fashion"), strcmp(name, "mnist_mlp") != 0, &d);
        if (bad) {
            fprintf(stderr, "%s: loading the data: %s\n", name, dc_errmsg());
            dc_model_free(m);
            continue;
        }
        if (n_train > 0 && n_train < d.x_train->shape[0]) {
            int shape[DC_MAX_DIMS];
            memcpy(shape, d.x_train->shape, sizeof shape);
            shape[0] = n_train;
            dc_tensor *x = dc_tensor_from(d.x_train->ndim, shape, d.x_train->data);
            dc_tensor *y = dc_tensor_from(1, &n_train, d.y_train->data);
            dc_tensor_free(d.x_train);
            dc_tensor_free(d.y_train);
            d.x_train = x;
            d.y_train = y;
        }
        dc_tensor *y_train = autoenc ? d.x_train : d.y_train, *y_test = autoenc ? d.x_test : d.y_test;
        dc_fit_config fc = dc_fit_defaults();
        fc.epochs = epochs > 0 ? epochs : ep;
        fc.batch_size = batch;
        fc.verbose = 0;
        if (dc_model_fit(m, d.x_train, y_train, &fc, NULL) != DC_OK) {
            fprintf(stderr, "%s: fit: %s\n", name, dc_errmsg());
            return 1;
        }
        double ef[2] = {0}, eq[2] = {0}, rel = 0, relq = 0;
        size_t same = 0, sameq = 0;
        long cf = 0, cq = 0;
        dc_tensor *pf = NULL, *pq = NULL;
        char qname[80];
        snprintf(qname, sizeof qname, "%s_int8", name);
        int ok = dc_model_evaluate(m, d.x_test, y_test, 256, 0, ef, autoenc ? 1 : 2) == DC_OK &&
                 dc_model_predict(m, d.x_test, 256, &pf) == DC_OK &&
                 run_export(m, dir, name, d.x_test, pf, &rel, &same, &cf) == 0;
        if (!ok) {
            fprintf(stderr, "%s: float export: %s\n", name, dc_errmsg());
            return 1;
        }
        dc_quantize_config qc = dc_quantize_defaults();
        qc.calibration = d.x_train; /* the training data only */
        qc.max_samples = calib;
        int qok = dc_model_quantize(m, &qc) == DC_OK;
        if (!qok)
            fprintf(stderr, "%s: quantize: %s\n", name, dc_errmsg());
        qok = qok && dc_model_evaluate(m, d.x_test, y_test, 256, 0, eq, autoenc ? 1 : 2) == DC_OK &&
              dc_model_predict(m, d.x_test, 256, &pq) == DC_OK &&
              run_export(m, dir, qname, d.x_test, pq, &relq, &sameq, &cq) == 0;
        double mf = autoenc ? ef[0] : ef[1], mq = autoenc ? eq[0] : eq[1];
        char cost[64] = "-", qm[32] = "-", qs[64] = "-", ratio[32] = "-", cqs[32] = "-";
        if (qok) {
            snprintf(cost, sizeof cost, autoenc ? "%+.4f loss" : "%.2f points", autoenc ? mq - mf : 100 * (mf - mq));
            snprintf(qm, sizeof qm, "%.4f", mq);
            snprintf(qs, sizeof qs, "%zu / %zu", sameq, pq->size);
            snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * cq / cf);
            snprintf(cqs, sizeof cqs, "%ld", cq);
        }
        printf("| %s | %d | %d | %d | %.2e | %.4f%s | %s | %s | %s | %ld | %s | %s |\n", name, fc.epochs, d.x_train->shape[0], d.x_test->shape[0],
               rel, mf, autoenc ? " (loss)" : "", qm, cost, qs, cf, cqs, ratio);
        /* the acceptance (issue 18): failures listed after the table, exit 1 */
        double limit = !strcmp(name, "cnn") || !strcmp(name, "cnn_fashion") ? 0.3
                       : !strcmp(name, "mnist_mlp") || !strcmp(name, "spam_lstm") ? 0.5 : -1;
        if (!(rel <= 1e-5))
            n_fail += snprintf(fails + strlen(fails), sizeof fails - strlen(fails), "%s: float C vs predict %.2e > 1e-5\n",
                               name, rel) > 0;
        if (qok && !(100.0 * cq <= 30.0 * cf))
            n_fail += snprintf(fails + strlen(fails), sizeof fails - strlen(fails), "%s: int8 .c is %.1f%% of float > 30%%\n",
                               name, 100.0 * cq / cf) > 0;
        if (qok && sameq != pq->size)
            n_fail += snprintf(fails + strlen(fails), sizeof fails - strlen(fails), "%s: int8 C = int8 model on %zu of %zu\n",
                               name, sameq, pq->size) > 0;
        if (qok && limit > 0 && !(100 * (mf - mq) <= limit))
            n_fail += snprintf(fails + strlen(fails), sizeof fails - strlen(fails), "%s: int8 cost %.2f points > %.1f\n",
                               name, 100 * (mf - mq), limit) > 0;
        if (!qok && !autoenc) /* only the autoencoder is refused (UpSampling2D) */
            n_fail += snprintf(fails + strlen(fails), sizeof fails - strlen(fails), "%s: not quantized\n", name) > 0;
        fflush(stdout);
        dc_tensor_free(pf);
        dc_tensor_free(pq);
        data_free(&d);
        dc_model_free(m);
    }
    if (n_fail)
        printf("\nacceptance: %d check(s) failed:\n%s", n_fail, fails);
    else
        printf("\nacceptance: every check passed (float C within 1e-5, int8 C = int8 model, int8 .c <= 30%% of float, "
               "int8 cost <= 0.3 points for cnn / cnn_fashion, <= 0.5 for mnist_mlp / spam_lstm)\n");
    return n_fail ? 1 : 0;
}
