/*
 * bench_mlp.c - times the tutorial MLP (Flatten, Dense 128 relu, Dense 10
 * softmax, Adam, sparse categorical cross-entropy) epoch by epoch, and
 * inference over the test set.  Run side by side with bench/torch_mlp.py by
 * bench/run_mlp.sh; prints the same machine-readable lines.
 *
 * Usage: bench_mlp --data DIR [--batch N] [--epochs N] [--threads N] [--infer]
 */
#include <deepc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dc_tensor *load(const char *dir, const char *name, float scale)
{
    char path[1024];
    dc_u8array *a = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (dc_idx_load(path, &a) != DC_OK) {
        fprintf(stderr, "bench_mlp: %s\n", dc_errmsg());
        exit(1);
    }
    dc_tensor *t = dc_tensor_from_u8(a, scale);
    dc_u8array_free(a);
    return t;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int batch = 32, epochs = 3, threads = 2, infer = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--infer"))
            infer = 1;
        else {
            fprintf(stderr, "usage: %s --data DIR [--batch N] [--epochs N] [--threads N] [--infer]\n", argv[0]);
            return 2;
        }
    }
    if (!dir || epochs < 1 || epochs > 100) {
        fprintf(stderr, "bench_mlp: --data DIR is required, epochs 1..100\n");
        return 2;
    }
    dc_tensor *x = load(dir, "train-images-idx3-ubyte", 1.0f / 255.0f);
    dc_tensor *y = load(dir, "train-labels-idx1-ubyte", 1.0f);
    dc_tensor *xt = load(dir, "t10k-images-idx3-ubyte", 1.0f / 255.0f);
    dc_tensor *yt = load(dir, "t10k-labels-idx1-ubyte", 1.0f);

    dc_model *m = dc_sequential_new(2, (int[]){28, 28});
    dc_model_set_seed(m, 1);
    dc_model_set_threads(m, threads);
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(128, "relu"));
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    const char *metrics[] = {"accuracy"};
    if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1)) {
        fprintf(stderr, "bench_mlp: %s\n", dc_errmsg());
        return 1;
    }
    printf("blas_core %s\n", dc_blas_core());
    dc_fit_config fit = dc_fit_defaults();
    fit.batch_size = batch;
    fit.verbose = 0;
    double secs[100];
    for (int e = 0; e < epochs; e++) {
        dc_history *h = NULL;
        double t0 = now();
        if (dc_model_fit(m, x, y, &fit, &h)) {
            fprintf(stderr, "bench_mlp: %s\n", dc_errmsg());
            return 1;
        }
        secs[e] = now() - t0;
        printf("epoch %d seconds %.3f loss %.4f acc %.4f\n", e + 1, secs[e], dc_history_get(h, "loss")[0],
               dc_history_get(h, "accuracy")[0]);
        dc_history_free(h);
    }
    qsort(secs, (size_t)epochs, sizeof secs[0], cmp_double);
    printf("median_epoch_seconds %.4f\n", secs[epochs / 2]);
    double res[2];
    dc_model_evaluate(m, xt, yt, 1000, 0, res, 2);
    printf("test_acc %.4f\n", res[1]);
    if (infer) {
        double best[7];
        for (int r = 0; r < 7; r++) {
            dc_tensor *p = NULL;
            double t0 = now();
            dc_model_predict(m, xt, 1000, &p);
            best[r] = now() - t0;
            dc_tensor_free(p);
        }
        qsort(best, 7, sizeof best[0], cmp_double);
        printf("infer_images_per_second %.0f\n", xt->shape[0] / best[3]);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb %.1f\n", ru.ru_maxrss / 1024.0);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xt);
    dc_tensor_free(yt);
    return 0;
}
