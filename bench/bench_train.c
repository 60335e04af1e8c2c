/*
 * bench_train.c - times the tutorials' models on MNIST epoch by epoch (Adam,
 * sparse categorical cross-entropy), and inference over the test set:
 *   mlp   Flatten, Dense 128 relu, Dense 10 softmax          (seeds 000/001/004)
 *   cnn1  Conv2D 32 3x3 relu, Flatten, Dense 10 softmax      (seed 002)
 *   cnn2  Conv 32, MaxPool, Conv 64, MaxPool, Dense 128, 10   (seed 003)
 *   autoencoder  the Keras blog's convolutional autoencoder (examples/
 *         autoencoder.c), x -> x, binary cross-entropy; test_loss, no accuracy
 *   resnet  the small residual CNN of examples/resnet.c (functional API:
 *         Conv-BN-ReLU blocks with Add shortcuts, GlobalAveragePooling2D)
 * Run side by side with PyTorch by bench/run_mlp.sh, bench/run_cnn.sh and
 * bench/run_autoencoder.sh and bench/run_resnet.sh;
 * prints the same machine-readable lines as bench/torch_*.py.
 *
 * Usage: bench_train --data DIR [--model mlp|cnn1|cnn2|autoencoder|resnet] [--batch N] [--epochs N]
 *                    [--threads N] [--max-steps N] [--infer]
 */
#include <deepc.h>

#include "bench_util.h"
#include "../examples/autoencoder_model.h"
#include "../examples/resnet_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>


static dc_tensor *load(const char *dir, const char *name, float scale)
{
    char path[1024];
    dc_u8array *a = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (dc_idx_load(path, &a) != DC_OK) {
        fprintf(stderr, "bench_train: %s\n", dc_errmsg());
        exit(1);
    }
    dc_tensor *t = dc_tensor_from_u8(a, scale);
    dc_u8array_free(a);
    return t;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *model = "mlp";
    int batch = 32, epochs = 3, threads = 2, infer = 0, max_steps = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--max-steps") && i + 1 < argc)
            max_steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--infer"))
            infer = 1;
        else {
            fprintf(stderr, "usage: %s --data DIR [--model mlp|cnn1|cnn2|autoencoder|resnet] [--batch N] [--epochs N] [--threads N] "
                            "[--max-steps N] [--infer]\n", argv[0]);
            return 2;
        }
    }
    if (!dir || epochs < 1 || epochs > 100) {
        fprintf(stderr, "bench_train: --data DIR is required, epochs 1..100\n");
        return 2;
    }
    dc_tensor *x = load(dir, "train-images-idx3-ubyte", 1.0f / 255.0f);
    dc_tensor *y = load(dir, "train-labels-idx1-ubyte", 1.0f);
    dc_tensor *xt = load(dir, "t10k-images-idx3-ubyte", 1.0f / 255.0f);
    dc_tensor *yt = load(dir, "t10k-labels-idx1-ubyte", 1.0f);

    int cnn = strcmp(model, "mlp") != 0, ae = !strcmp(model, "autoencoder"), resnet = !strcmp(model, "resnet");
    if (cnn) {
        int s[4] = {x->shape[0], 28, 28, 1}, st[4] = {xt->shape[0], 28, 28, 1};
        dc_tensor_reshape(x, 4, s);
        dc_tensor_reshape(xt, 4, st);
    }
    dc_model *m = resnet ? dc_functional_new(3, (int[]){28, 28, 1})
                  : cnn  ? dc_sequential_new(3, (int[]){28, 28, 1})
                         : dc_sequential_new(2, (int[]){28, 28});
    dc_model_set_seed(m, 1);
    dc_model_set_threads(m, threads);
    if (!strcmp(model, "mlp")) {
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(128, "relu"));
    } else if (!strcmp(model, "cnn1")) {
        dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
        dc_model_add(m, dc_layer_flatten());
    } else if (!strcmp(model, "cnn2")) {
        bench_add_cnn2_body(m);
    } else if (ae) {
        autoencoder_build(m, 0); /* it learns to reproduce its input: the targets are x */
    } else if (resnet) {
        resnet_build(m, 1, 0.99f); /* ends in its own Dense(10, softmax) */
    } else {
        fprintf(stderr, "bench_train: unknown model %s (mlp, cnn1, cnn2, autoencoder, resnet)\n", model);
        return 2;
    }
    if (!ae && !resnet)
        dc_model_add(m, dc_layer_dense(10, "softmax"));
    /* --max-steps: time the first N batches of an epoch and scale to the full epoch */
    dc_tensor *xfit = x, *yfit = ae ? x : y; /* the autoencoder's targets are its inputs */
    double scale = 1.0;
    if (max_steps > 0 && (size_t)max_steps * (size_t)batch < (size_t)x->shape[0]) {
        int n = max_steps * batch;
        xfit = dc_tensor_from(x->ndim, cnn ? (int[]){n, 28, 28, 1} : (int[]){n, 28, 28}, x->data);
        yfit = ae ? xfit : dc_tensor_from(1, &n, y->data);
        scale = (double)((x->shape[0] + batch - 1) / batch) / max_steps;
        printf("timing %d steps per epoch, scaled by %.2f to a full epoch\n", max_steps, scale);
    }
    const char *metrics[] = {"accuracy"};
    if (ae) {
        dc_tensor_free(yt);
        yt = xt;
    }
    if (dc_model_compile(m, "adam", ae ? "binary_crossentropy" : "sparse_categorical_crossentropy", metrics, !ae)) {
        fprintf(stderr, "bench_train: %s\n", dc_errmsg());
        return 1;
    }
    printf("blas_core %s\n", dc_blas_core());
    dc_fit_config fit = dc_fit_defaults();
    fit.batch_size = batch;
    fit.verbose = 0;
    double secs[100];
    for (int e = 0; e < epochs; e++) {
        dc_history *h = NULL;
        double t0 = bench_now();
        if (dc_model_fit(m, xfit, yfit, &fit, &h)) {
            fprintf(stderr, "bench_train: %s\n", dc_errmsg());
            return 1;
        }
        secs[e] = (bench_now() - t0) * scale;
        printf("epoch %d seconds %.3f loss %.4f", e + 1, secs[e], dc_history_get(h, "loss")[0]);
        if (!ae)
            printf(" acc %.4f", dc_history_get(h, "accuracy")[0]);
        printf("\n");
        dc_history_free(h);
    }
    qsort(secs, (size_t)epochs, sizeof secs[0], bench_cmp_double);
    printf("median_epoch_seconds %.4f\n", secs[epochs / 2]);
    double res[2];
    if (scale != 1.0) { /* a few steps say nothing of accuracy (BatchNormalization's moving statistics least) */
        printf("# --max-steps: partial epochs, no test metric\n");
    } else {
        dc_model_evaluate(m, xt, yt, 100, 0, res, ae ? 1 : 2); /* batch 100, as torch_*.py evaluate */
        if (ae)
            printf("test_loss %.4f\n", res[0]);
        else
            printf("test_acc %.4f\n", res[1]);
    }
    if (infer) {
        double best[7];
        for (int r = 0; r < 7; r++) {
            dc_tensor *p = NULL;
            double t0 = bench_now();
            dc_model_predict(m, xt, 1000, &p);
            best[r] = bench_now() - t0;
            dc_tensor_free(p);
        }
        qsort(best, 7, sizeof best[0], bench_cmp_double);
        printf("infer_images_per_second %.0f\n", xt->shape[0] / best[3]);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb %.1f\n", ru.ru_maxrss / 1024.0);
    dc_model_free(m);
    if (xfit != x) {
        if (yfit != xfit)
            dc_tensor_free(yfit);
        dc_tensor_free(xfit);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    if (yt != xt)
        dc_tensor_free(yt);
    dc_tensor_free(xt);
    return 0;
}
