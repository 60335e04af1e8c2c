/*
 * bench_gemm.c - times the tutorial MLP's GEMMs alone, as deepc issues them
 * (one call, or one slice per thread), to report their GFLOP/s and their
 * share of a training step.  Usage: bench_gemm [--batch N] [--threads N]
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Slice [lo, hi) of n for this thread, multiples of 16. */
static void range(int n, int *lo, int *hi)
{
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    int chunk = ((n + nt - 1) / nt + 15) / 16 * 16;
    *lo = id * chunk < n ? id * chunk : n;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}

int main(int argc, char **argv)
{
    int m = 32, threads = 2, k = 784, u = 128, reps = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batch"))
            m = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    omp_set_num_threads(threads);
    float *x = calloc((size_t)m * k, 4), *w = calloc((size_t)k * u, 4), *y = calloc((size_t)m * u, 4);
    float *gw = calloc((size_t)k * u, 4);
    for (int i = 0; i < m * k; i++)
        x[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < k * u; i++)
        w[i] = (float)(i % 5) * 0.01f;
    double best_f = 1e9, best_b = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
#pragma omp parallel
            {
                int lo, hi;
                range(u, &lo, &hi);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hi - lo, k, 1.0f, x, k, w + lo, u, 0.0f, y + lo, u);
            }
        }
        double t1 = now();
        for (int i = 0; i < reps; i++) {
#pragma omp parallel
            {
                int lo, hi;
                range(k, &lo, &hi);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, u, m, 1.0f, x + lo, k, y, u, 1.0f,
                            gw + (size_t)lo * u, u);
            }
        }
        double t2 = now();
        best_f = (t1 - t0) / reps < best_f ? (t1 - t0) / reps : best_f;
        best_b = (t2 - t1) / reps < best_b ? (t2 - t1) / reps : best_b;
    }
    double flops = 2.0 * m * k * u;
    printf("batch %d threads %d blas_core %s\n", m, threads, openblas_get_corename());
    printf("forward  x W   (%d x %d x %d): %.1f us, %.0f GFLOP/s\n", m, k, u, best_f * 1e6, flops / best_f * 1e-9);
    printf("backward x^T gy (%d x %d x %d): %.1f us, %.0f GFLOP/s\n", k, u, m, best_b * 1e6, flops / best_b * 1e-9);
    printf("gemm_us_per_step %.1f\n", (best_f + best_b) * 1e6);
    free(x);
    free(w);
    free(y);
    free(gw);
    return 0;
}
