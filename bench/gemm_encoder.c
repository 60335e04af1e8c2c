/*
 * gemm_encoder.c - the encoder block's dense products (batch 32 x 128
 * tokens = 4096 rows, dim 128, feed-forward 512), forward and both
 * gradients, timed through OpenBLAS (cblas_sgemm, as dc_sgemm called it)
 * and through deepc's dc_gemm_avx512, side by side, GFLOP/s of the best of
 * REPS calls; and each result's largest difference from the other as a
 * fraction of the largest |C|.
 *
 * Usage: gemm_encoder [--threads N] [--reps N]   (OPENBLAS_CORETYPE=SkylakeX)
 */
#include "graph/graph.h"

#include <cblas.h>
#include <math.h>
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

static float *rnd(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n && p; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* OpenBLAS as dc_sgemm calls it: one single-threaded call per thread slice. */
static void blas(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                 int ldc)
{
    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    int split_rows = m >= n;
#pragma omp parallel
    {
        size_t lo, hi;
        dc_thread_range((size_t)(split_rows ? m : n), 16, &lo, &hi);
        int part = (int)(hi - lo);
        if (part > 0 && split_rows)
            cblas_sgemm(CblasRowMajor, TA, TB, part, n, k, 1.0f, ta ? a + lo : a + lo * (size_t)lda, lda, b, ldb,
                        0.0f, c + lo * (size_t)ldc, ldc);
        else if (part > 0)
            cblas_sgemm(CblasRowMajor, TA, TB, m, part, k, 1.0f, a, lda, tb ? b + lo * (size_t)ldb : b + lo, ldb,
                        0.0f, c + lo, ldc);
    }
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
    }
    omp_set_num_threads(threads);
    /* name, trans_a, trans_b, m, n, k */
    static const struct {
        const char *name;
        int ta, tb, m, n, k;
    } shapes[] = {
        {"fwd  x W      (4096x128)(128x512)", 0, 0, 4096, 512, 128},
        {"fwd  x W      (4096x512)(512x128)", 0, 0, 4096, 128, 512},
        {"fwd  x W      (4096x128)(128x128)", 0, 0, 4096, 128, 128},
        {"gX   dY W^T   (4096x512)(512x128)", 0, 1, 4096, 128, 512},
        {"gX   dY W^T   (4096x128)(128x512)", 0, 1, 4096, 512, 128},
        {"gX   dY W^T   (4096x128)(128x128)", 0, 1, 4096, 128, 128},
        {"gW   X^T dY   (128x4096)(4096x512)", 1, 0, 128, 512, 4096},
        {"gW   X^T dY   (512x4096)(4096x128)", 1, 0, 512, 128, 4096},
        {"gW   X^T dY   (128x4096)(4096x128)", 1, 0, 128, 128, 4096},
    };
    printf("%d thread(s), best of %d calls, GFLOP/s\n", threads, reps);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int ta = shapes[s].ta, tb = shapes[s].tb, m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        int lda = ta ? m : k, ldb = tb ? k : n;
        /* COLD rotates over 24 copies of A (as in a training step, where A
         * was written by the op before and is in L3, not L2) */
        enum { COPIES = 24 };
        int copies = getenv("COLD") ? COPIES : 1;
        float *as[COPIES], *b = rnd((size_t)k * n, 2);
        for (int i = 0; i < copies; i++)
            as[i] = rnd((size_t)m * k, 1);
        float *a = as[0];
        float *c1 = calloc((size_t)m * n, 4), *c2 = calloc((size_t)m * n, 4);
        double best1 = 1e9, best2 = 1e9;
        for (int r = 0; r < reps; r++) {
            a = as[r % copies];
            double t0 = now();
            blas(ta, tb, m, n, k, a, lda, b, ldb, c1, n);
            double t1 = now();
            if (!dc_gemm_avx512(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c2, n, NULL)) {
                printf("dc_gemm_avx512 declined %s\n", shapes[s].name);
                return 1;
            }
            double t2 = now();
            best1 = t1 - t0 < best1 ? t1 - t0 : best1;
            best2 = t2 - t1 < best2 ? t2 - t1 : best2;
        }
        double big = 0, diff = 0;
        for (size_t i = 0; i < (size_t)m * n; i++) {
            big = fmax(big, fabs(c1[i]));
            diff = fmax(diff, fabs(c1[i] - c2[i]));
        }
        double fl = 2.0 * m * n * k * 1e-9;
        printf("%-38s OpenBLAS %6.1f  deepc %6.1f  (%.2fx)  diff %.1e\n", shapes[s].name, fl / best1, fl / best2,
               best1 / best2, diff / big);
        for (int i = 0; i < copies; i++)
            free(as[i]);
        free(b), free(c1), free(c2);
    }
    return 0;
}
