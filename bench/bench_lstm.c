/*
 * bench_lstm.c - times training steps of Embedding(10000, 64) -> LSTM(64) ->
 * Dense(1, sigmoid) (Adam, binary cross-entropy) on sequences of length 100
 * at batch 32: the model of examples/spam_lstm.c at the benchmark's shape.
 * The data are random token ids and labels, the same recipe as
 * bench/torch_lstm.py; run side by side by bench/run_lstm.sh.
 *
 * Prints "epoch I ms_per_step X" per timed epoch, then median_ms_per_step.
 *
 * Usage: bench_lstm [--batch N] [--steps N] [--epochs N] [--seq N] [--threads N]
 */
#include <deepc.h>

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int main(int argc, char **argv)
{
    int batch = 32, steps = 50, epochs = 5, seq = 100, threads = 2;
    for (int i = 1; i < argc; i++) {
        int *dst = !strcmp(argv[i], "--batch") ? &batch : !strcmp(argv[i], "--steps") ? &steps
                 : !strcmp(argv[i], "--epochs") ? &epochs : !strcmp(argv[i], "--seq") ? &seq
                 : !strcmp(argv[i], "--threads") ? &threads : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "usage: %s [--batch N] [--steps N] [--epochs N] [--seq N] [--threads N]\n", argv[0]);
            return 2;
        }
        *dst = atoi(argv[++i]);
    }
    if (batch < 1 || steps < 1 || epochs < 1 || epochs > 100 || seq < 1) {
        fprintf(stderr, "bench_lstm: batch, steps, seq >= 1 and epochs 1..100\n");
        return 2;
    }
    int n = batch * steps;
    dc_tensor *x = dc_tensor_new(2, (int[]){n, seq}), *y = dc_tensor_new(1, &n);
    dc_rng rng;
    dc_rng_seed(&rng, 7);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)(1 + dc_rng_below(&rng, 9999));
    for (int i = 0; i < n; i++)
        y->data[i] = (float)dc_rng_below(&rng, 2);

    dc_model *m = dc_sequential_new(1, &seq);
    dc_model_set_seed(m, 1);
    dc_model_set_threads(m, threads);
    dc_model_add(m, dc_layer_embedding(10000, 64, 0));
    dc_model_add(m, dc_layer_lstm(64));
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    const char *metrics[] = {"accuracy"};
    if (dc_model_compile(m, "adam", "binary_crossentropy", metrics, 1)) {
        fprintf(stderr, "bench_lstm: %s\n", dc_errmsg());
        return 1;
    }
    printf("blas_core %s\n", dc_blas_core());
    dc_fit_config fit = dc_fit_defaults();
    fit.batch_size = batch;
    fit.verbose = 0;
    double ms[100];
    for (int e = 0; e <= epochs; e++) { /* epoch 0 warms up */
        double t0 = bench_now();
        if (dc_model_fit(m, x, y, &fit, NULL)) {
            fprintf(stderr, "bench_lstm: %s\n", dc_errmsg());
            return 1;
        }
        double per = (bench_now() - t0) * 1e3 / steps;
        if (e > 0) {
            ms[e - 1] = per;
            printf("epoch %d ms_per_step %.3f\n", e, per);
        }
    }
    qsort(ms, (size_t)epochs, sizeof ms[0], bench_cmp_double);
    printf("median_ms_per_step %.3f\n", ms[epochs / 2]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    return 0;
}
