/*
 * int8_bench.c - int8 against float on this machine (docs/benchmarks.md):
 *
 *   throughput: deepc's predict on the MNIST test set (10000 images) at
 *   batch 1000, float and int8 (dc_model_quantize, calibrated on the first
 *   1000 training images; AVX-512 VNNI when the CPU has it), the median of
 *   --reps runs (5), per 1000 images, for seed 003's CNN and mnist_mlp;
 *   latency at batch 1: deepc's predict on one sample against the C that
 *   dc_model_export_c generates (built with cc -O3 -march=native, timed by
 *   tests/export_c/latency_main.c), float and int8.
 *
 * Times are CPU time with one thread (--threads 1, the default here), so a
 * busy shared machine does not distort them; the generated C is timed the
 * same way (tests/export_c/latency_main.c).
 * Weights are the initial ones (timing does not depend on them).  Prints a
 * markdown table.  bench/int8_bench.sh runs it as docs/benchmarks.md did.
 * Usage: int8_bench [--threads N] [--dir D] [--cc CC] [--models cnn,mlp] [--reps N] [--no-c]
 *                   [--only float|int8] (time one side only: for perf record)
 */
#include "bench_util.h"
#include "quant/quant.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return t[n / 2];
}

/* CPU seconds of this process: with one thread, the work done, whatever
 * else the machine runs (a shared machine's wall clock is not). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Median CPU seconds of predict on x at batch `batch`. */
static double time_predict(dc_model *m, const dc_tensor *x, int batch, int reps)
{
    double t[9];
    dc_tensor *y = NULL;
    dc_model_predict(m, x, batch, &y); /* warm-up, plans the buffers */
    dc_tensor_free(y);
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        dc_model_predict(m, x, batch, &y);
        t[r] = cpu_now() - t0;
        dc_tensor_free(y);
    }
    return median(t, reps);
}

/* Microseconds per call of the generated C for m, or -1. */
static double time_generated(dc_model *m, const char *dir, const char *name, const char *cc)
{
    char here[PATH_MAX], abs_here[PATH_MAX], cmd[8192], up[64];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    if (realpath(here, abs_here))
        snprintf(here, sizeof here, "%s", abs_here);
    if (dc_model_export_c(m, dir, name, NULL) != DC_OK)
        return -1;
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof up; k++)
        up[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
    up[k] = '\0';
    snprintf(cmd, sizeof cmd,
             "cd %s && %s -std=c99 -O3 -march=native -I. -DMODEL=%s -DMODEL_UP=%s -D'MODEL_H=\"%s.h\"' -o lat_%s "
             "%s/../tests/export_c/latency_main.c %s.c -lm && ./lat_%s 300",
             dir, cc, name, up, name, name, here, name, name);
    FILE *p = popen(cmd, "r");
    double us = -1;
    if (p) {
        if (fscanf(p, "%lf", &us) != 1)
            us = -1;
        pclose(p);
    }
    return us;
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 5, skip_c = 0, only = 0; /* only: 1 float, 2 int8 (for perf) */
    const char *dir = "int8_bench", *cc = "cc", *models = "cnn,mlp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--cc") && i + 1 < argc)
            cc = argv[++i];
        else if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-c"))
            skip_c = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) /* perf record one side: the other is not timed */
            only = !strcmp(argv[++i], "float") ? 1 : 2;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--dir D] [--cc CC] [--models cnn,mlp] [--reps N] [--no-c] [--only float|int8]\n",
                    argv[0]);
            return 2;
        }
    }
    reps = reps < 1 ? 1 : reps > 9 ? 9 : reps;
    mkdir(dir, 0755);
    dc_dataset d;
    if (dc_mnist_load(NULL, &d) != DC_OK) {
        fprintf(stderr, "MNIST: %s\n", dc_errmsg());
        return 1;
    }
    /* the whole test set, and the first 1000 training images for calibration, as (N, 28, 28, 1) */
    dc_tensor *xt = dc_tensor_from_u8(d.x_test, 1.0f / 255.0f), *xc = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f);
    int n_test = d.x_test->shape[0];
    dc_tensor *x = dc_tensor_new4(4, n_test, 28, 28, 1), *cal = dc_tensor_new4(4, 1000, 28, 28, 1);
    memcpy(x->data, xt->data, x->size * sizeof(float));
    memcpy(cal->data, xc->data, cal->size * sizeof(float));
    dc_tensor_free(xt);
    dc_tensor_free(xc);
    dc_dataset_free(&d);
    dc_tensor *one = dc_tensor_from(4, (int[]){1, 28, 28, 1}, x->data);
    printf("int8 dot products: %s; threads %d (0: all); MNIST test set, %d images\n\n",
           dq_have_vnni() ? "AVX-512 VNNI" : "portable C", threads, n_test);
    printf("| model | float predict, batch 1000 (ms per 1000 images) | int8 predict, batch 1000 (ms per 1000) | int8 speed-up | "
           "batch 1: deepc float (us) | generated C float (us) | deepc int8 (us) | generated C int8 (us) |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int which = 0; which < 2; which++) {
        const char *name = which ? "mlp" : "cnn";
        if (!strstr(models, name))
            continue;
        dc_model *m = dc_sequential_new(3, (int[]){28, 28, 1});
        if (which) { /* examples/mnist_mlp.c */
            dc_model_add(m, dc_layer_flatten());
            dc_model_add(m, dc_layer_dense(128, "relu"));
        } else { /* seed 003's CNN (examples/example_util.h's example_cnn003) */
            bench_add_cnn2_body(m);
        }
        dc_model_add(m, dc_layer_dense(10, "softmax"));
        dc_model_set_seed(m, 3);
        dc_model_set_threads(m, threads);
        if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0) != DC_OK)
            return 1;
        double per = 1000.0 / n_test; /* the times per 1000 images */
        double tf = only == 2 ? -1 : time_predict(m, x, 1000, reps) * per, lf = only == 2 ? -1 : time_predict(m, one, 1, 9);
        char fname[64], qname[64];
        snprintf(fname, sizeof fname, "%s_float", name);
        snprintf(qname, sizeof qname, "%s_int8", name);
        double cf = skip_c ? -1 : time_generated(m, dir, fname, cc);
        dc_quantize_config qc = dc_quantize_defaults();
        qc.calibration = cal;
        if (dc_model_quantize(m, &qc) != DC_OK) {
            fprintf(stderr, "quantize: %s\n", dc_errmsg());
            return 1;
        }
        double tq = only == 1 ? -1 : time_predict(m, x, 1000, reps) * per, lq = only == 1 ? -1 : time_predict(m, one, 1, 9);
        double cq = skip_c ? -1 : time_generated(m, dir, qname, cc);
        printf("| %s | %.2f | %.2f | %.2fx | %.1f | %.1f | %.1f | %.1f |\n", which ? "MNIST MLP" : "seed 003 CNN",
               tf * 1e3, tq * 1e3, tf / tq, lf * 1e6, cf, lq * 1e6, cq);
        fflush(stdout);
        dc_model_free(m);
    }
    dc_tensor_free(x);
    dc_tensor_free(cal);
    dc_tensor_free(one);
    return 0;
}
