/*
 * onnx_predict.c - deepc's side of bench/onnx_predict.sh: seed 003's CNN
 * (cnn.c) or MLP (mnist_mlp.c), exported with dc_model_save_onnx, and
 * deepc's predict timed on the same inputs ONNX Runtime gets.
 *
 *   onnx_predict cnn|mlp DIR [--threads N] [--repeat1 R] [--repeat1000 R] [--seed S]
 *
 * Writes DIR/<model>.onnx and DIR/<model>_b1.f32, DIR/<model>_b1000.f32
 * (uniform [0, 1) images, (1, 28, 28, 1) and (1000, 28, 28, 1)), then
 * prints "deepc <model> batch <b> seconds_per_run S": the median over R
 * calls of dc_model_predict on the whole batch (one batch of b rows) after
 * one warm-up call, as ort_run.js --repeat times ONNX Runtime.  The
 * weights are the initialiser's (timing does not depend on them); the
 * model's threads are --threads (OpenMP and OpenBLAS).
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double time_predict(dc_model *m, const dc_tensor *x, int repeat)
{
    dc_tensor *y = NULL;
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!t || dc_model_predict(m, x, x->shape[0], &y) != DC_OK) /* warm-up: plans the arena for this batch */
        return -1;
    dc_tensor_free(y);
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_now();
        if (dc_model_predict(m, x, x->shape[0], &y) != DC_OK)
            return -1;
        t[r] = bench_now() - t0;
        dc_tensor_free(y);
    }
    qsort(t, (size_t)repeat, sizeof *t, bench_cmp_double);
    double med = t[repeat / 2];
    free(t);
    return med;
}

int main(int argc, char **argv)
{
    int threads = 1, rep1 = 300, rep1000 = 10;
    unsigned long seed = 3;
    if (argc < 3 || (strcmp(argv[1], "cnn") && strcmp(argv[1], "mlp"))) {
        fprintf(stderr, "usage: onnx_predict cnn|mlp DIR [--threads N] [--repeat1 R] [--repeat1000 R] [--seed S]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat1"))
            rep1 = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat1000"))
            rep1000 = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoul(argv[i + 1], NULL, 10);
    }
    const char *name = argv[1], *dir = argv[2];
    int cnn = !strcmp(name, "cnn");
    dc_model *m = dc_sequential_new(3, (int[]){28, 28, 1});
    if (cnn) {
        bench_add_cnn2_body(m);
    } else {
        dc_model_add(m, dc_layer_flatten());
        dc_model_add(m, dc_layer_dense(128, "relu"));
    }
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, threads);
    if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0) != DC_OK) {
        fprintf(stderr, "onnx_predict: %s\n", dc_errmsg());
        return 1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (dc_model_save_onnx(m, path, NULL) != DC_OK) {
        fprintf(stderr, "onnx_predict: %s\n", dc_errmsg());
        return 1;
    }
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    int batches[2] = {1, 1000}, reps[2] = {rep1, rep1000};
    for (int b = 0; b < 2; b++) {
        dc_tensor *x = dc_tensor_new4(4, batches[b], 28, 28, 1);
        for (size_t i = 0; i < x->size; i++)
            x->data[i] = dc_rng_uniform(&rng);
        snprintf(path, sizeof path, "%s/%s_b%d.f32", dir, name, batches[b]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(x->data, sizeof(float), x->size, f) != x->size || fclose(f) != 0) {
            fprintf(stderr, "onnx_predict: cannot write %s\n", path);
            return 1;
        }
        double s = time_predict(m, x, reps[b]);
        if (s < 0) {
            fprintf(stderr, "onnx_predict: predict: %s\n", dc_errmsg());
            return 1;
        }
        printf("deepc %s batch %d seconds_per_run %.9f\n", name, batches[b], s);
        dc_tensor_free(x);
    }
    dc_model_free(m);
    return 0;
}
