/*
 * explain_ig.c - the deepc half of bench/explain_ig.sh: integrated gradients
 * (50 steps from a black image, the midpoint rule, the predicted class's
 * softmax output) on the first 100 MNIST test digits with seed 003's CNN,
 * each digit's 50 path points one batch.  The weights are the model's
 * seeded initialisation (or --model PATH's trained ones: the time does not
 * depend on them); they, the digits' classes and the attributions are
 * written as .npy files into --out DIR, so that explain_ig.py runs the same
 * loop in PyTorch on the same weights and checks its attributions against
 * these.
 *
 * Usage: explain_ig [--out DIR] [--threads N] [--digits N] [--steps N] [--rounds N] [--model PATH]
 * Prints "deepc_seconds S" (the median of the rounds) and "per_digit_ms".
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "explain_ig: %s: %s\n", what, dc_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    const char *out = "bench/results", *model_path = NULL;
    int threads = 2, digits = 100, steps = 50, rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--digits") && i + 1 < argc)
            digits = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--out DIR] [--threads N] [--digits N] [--steps N] [--rounds N] [--model PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    if (digits < 1 || digits > 10000 || steps < 1 || rounds < 1 || rounds > 99)
        return fprintf(stderr, "explain_ig: bad --digits, --steps or --rounds\n"), 2;
    dc_dataset d;
    if (dc_mnist_load(NULL, &d) != DC_OK)
        return fail("loading MNIST");
    dc_tensor *x = dc_tensor_new(4, (int[]){digits, 28, 28, 1});
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)d.x_test->data[i] / 255.0f;
    dc_model *m = NULL;
    if (model_path) {
        if (dc_model_load(model_path, &m) != DC_OK)
            return fail("loading the model");
    } else {
        m = dc_sequential_new(3, (int[]){28, 28, 1});
        bench_add_cnn2_body(m);
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        dc_model_set_seed(m, 3);
        if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0) != DC_OK)
            return fail("compile");
    }
    dc_model_set_threads(m, threads);
    dc_explain_target t = dc_explain_class(-1);
    t.batch_size = steps; /* one digit's path a batch, as the PyTorch loop */
    dc_tensor *ig = NULL, *p = NULL;
    double times[99];
    for (int r = 0; r < rounds; r++) {
        dc_tensor_free(ig);
        double t0 = bench_now();
        if (dc_explain_integrated_gradients(m, x, NULL, steps, &t, &ig) != DC_OK)
            return fail("integrated gradients");
        times[r] = bench_now() - t0;
        fprintf(stderr, "round %d: %.3f s\n", r + 1, times[r]);
    }
    qsort(times, (size_t)rounds, sizeof *times, bench_cmp_double);
    double med = times[rounds / 2];
    printf("deepc_seconds %.4f\nper_digit_ms %.3f\n", med, 1000 * med / digits);
    /* the weights, classes and attributions for explain_ig.py */
    char path[512];
    const char *names[] = {"conv2d", "conv2d_1", "dense", "dense_1"};
    for (int l = 0; l < 4; l++)
        for (int k = 0; k < 2; k++) {
            dc_tensor *w = NULL;
            if (dc_model_get_weight(m, dc_model_layer_index(m, names[l]), k, &w) != DC_OK)
                return fail("get_weight");
            snprintf(path, sizeof path, "%s/explain_ig_%s_%d.npy", out, names[l], k);
            if (dc_npy_save(path, w) != DC_OK)
                return fail("saving the weights");
            dc_tensor_free(w);
        }
    if (dc_model_predict(m, x, 100, &p) != DC_OK)
        return fail("predict");
    snprintf(path, sizeof path, "%s/explain_ig_attr.npy", out);
    if (dc_npy_save(path, ig) != DC_OK)
        return fail("saving the attributions");
    snprintf(path, sizeof path, "%s/explain_ig_probs.npy", out);
    if (dc_npy_save(path, p) != DC_OK)
        return fail("saving the outputs");
    dc_tensor_free(p);
    dc_tensor_free(ig);
    dc_tensor_free(x);
    dc_model_free(m);
    dc_dataset_free(&d);
    return 0;
}
