/*
 * bench_layernorm.c - times the fused layer_normalization op (forward, and
 * forward + backward) on a (rows, cols) input, against a naive reference
 * (mean, variance, normalise as separate passes, serial) that it is first
 * checked against.  bench/torch_layernorm.py times F.layer_norm on the same
 * shape for the side-by-side.
 *
 * Prints the medians in ms and the forward's effective bandwidth.
 *
 * Usage: bench_layernorm [--rows N] [--cols N] [--reps N] [--threads N]
 */
#include <deepc.h>

#include "bench_util.h"
#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference: three passes per row, in float, serial. */
static void naive(const float *x, const float *gamma, const float *beta, float *y, int rows, int cols, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float mean = 0, var = 0;
        for (int j = 0; j < cols; j++)
            mean += xr[j];
        mean /= cols;
        for (int j = 0; j < cols; j++)
            var += (xr[j] - mean) * (xr[j] - mean);
        var /= cols;
        for (int j = 0; j < cols; j++)
            y[(size_t)r * cols + j] = (xr[j] - mean) / sqrtf(var + eps) * gamma[j] + beta[j];
    }
}

static double median_ms(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return 1e3 * t[n / 2];
}

int main(int argc, char **argv)
{
    int rows = 8192, cols = 512, reps = 21, threads = 2;
    for (int i = 1; i < argc; i++) {
        int *dst = !strcmp(argv[i], "--rows") ? &rows : !strcmp(argv[i], "--cols") ? &cols
                 : !strcmp(argv[i], "--reps") ? &reps : !strcmp(argv[i], "--threads") ? &threads : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "usage: %s [--rows N] [--cols N] [--reps N] [--threads N]\n", argv[0]);
            return 2;
        }
        *dst = atoi(argv[++i]);
    }
    if (rows < 1 || cols < 1 || reps < 1 || reps > 1000 || threads < 1) {
        fprintf(stderr, "bench_layernorm: rows, cols, threads >= 1, reps 1..1000\n");
        return 2;
    }
    omp_set_num_threads(threads);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_param(g, 2, (int[]){rows, cols}, dc_init_make(DC_INIT_ZEROS), "x");
    dc_node *gamma = dc_param(g, 1, &cols, dc_init_make(DC_INIT_ONES), "gamma");
    dc_node *beta = dc_param(g, 1, &cols, dc_init_make(DC_INIT_ZEROS), "beta");
    dc_node *y = dc_layernorm(g, x, gamma, beta, 1e-3f), *loss = y ? dc_sum(g, y) : NULL;
    if (!loss || dc_graph_compile(g, 1, NULL) != DC_OK) {
        fprintf(stderr, "bench_layernorm: %s\n", dc_errmsg());
        return 1;
    }
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        x->val[i] = 3.0f * dc_rng_normal(&rng) + 1.0f;
    for (int j = 0; j < cols; j++) {
        gamma->val[j] = 0.5f + dc_rng_uniform(&rng);
        beta->val[j] = dc_rng_uniform(&rng) - 0.5f;
    }
    float *ref = malloc((size_t)rows * cols * sizeof(float));
    double *tf = malloc((size_t)reps * sizeof(double)), *tb = malloc((size_t)reps * sizeof(double));
    naive(x->val, gamma->val, beta->val, ref, rows, cols, 1e-3f);
    dc_graph_forward(g, y, 1);
    double worst = 0;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        worst = fmax(worst, fabs(y->val[i] - ref[i]) / (1.0 + fabs(ref[i])));
    printf("rows %d cols %d threads %d max_rel_diff_vs_naive %.2e\n", rows, cols, threads, worst);
    double tn = bench_now();
    naive(x->val, gamma->val, beta->val, ref, rows, cols, 1e-3f);
    tn = bench_now() - tn;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        dc_graph_forward(g, y, 1);
        double t1 = bench_now();
        dc_graph_backward(g, loss);
        tb[r] = bench_now() - t0;
        tf[r] = t1 - t0;
    }
    double fwd = median_ms(tf, reps), both = median_ms(tb, reps);
    printf("naive_forward_ms %.3f\nforward_ms %.3f\nforward_backward_ms %.3f\nforward_GB_per_s %.1f\n", 1e3 * tn, fwd,
           both, 2.0 * rows * cols * sizeof(float) / (fwd * 1e-3) / 1e9);
    free(ref);
    free(tf);
    free(tb);
    dc_graph_free(g);
    return 0;
}
