/*
 * gemm_encoder.c - the encoder block's dense products (batch 32 x 128
 * tokens = 4096 rows, dim 128, feed-forward 512), forward and both
 * gradients, timed through OpenBLAS (cblas_sgemm, as dc_sgemm called it)
 * and through deepc's dc_gemm_avx512, side by side, GFLOP/s of the best of
 * REPS calls; and each result's largest difference from the other as a
 * fraction of the largest |C|.
 *
 * Then the fused attention's block products (OpenBLAS against
 * dc_gemm_block_avx512) and the FMA peak of the thread count.
 *
 * Usage: gemm_encoder [--threads N] [--reps N]   (OPENBLAS_CORETYPE=SkylakeX)
 *        PEAK_ONLY=1 gemm_encoder [--threads N]: the FMA peak line alone (a
 *        check of how much of the cores a shared machine gives right now;
 *        bench/transformer_block.sh prints it before each round)
 */
#include "graph/graph.h"

#include <cblas.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
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

/* The fused attention's block products (batch 32, 128 tokens, 4 heads of
 * 32: rows H * D = 128 floats apart), one at a time on this thread as the
 * op's tasks run them: OpenBLAS's sgemm against dc_gemm_block_avx512, in
 * cache, best of 9 rounds of 2,000 calls. */
static void attention_blocks(void)
{
    static const struct {
        const char *name;
        int ta, m, n, k, lda, ldb, ldc;
        float beta;
    } blocks[] = {
        {"scores  q k^T  (64x32)(32x128)", 0, 64, 128, 32, 128, 128, 128, 0.0f},
        {"out += p v     (64x128)(128x32)", 0, 64, 32, 128, 128, 128, 32, 1.0f},
        {"dv += p^T dout (128x64)(64x32)", 1, 128, 32, 64, 128, 128, 128, 1.0f},
        {"dq += ds k     (64x128)(128x32)", 0, 64, 32, 128, 128, 128, 128, 1.0f},
    };
    float *a = rnd(1 << 16, 3), *b = rnd(1 << 16, 4), *c = calloc(1 << 16, sizeof *c);
    printf("attention blocks, one thread, in cache, GFLOP/s\n");
    for (size_t s = 0; s < sizeof blocks / sizeof blocks[0]; s++) {
        int ta = blocks[s].ta, m = blocks[s].m, n = blocks[s].n, k = blocks[s].k;
        double best1 = 1e9, best2 = 1e9;
        for (int round = 0; round < 9; round++) {
            double t0 = now();
            for (int r = 0; r < 2000; r++)
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a,
                            blocks[s].lda, b, blocks[s].ldb, blocks[s].beta, c, blocks[s].ldc);
            double t1 = now();
            for (int r = 0; r < 2000; r++)
                if (!dc_gemm_block_avx512(ta, m, n, k, 1.0f, a, blocks[s].lda, b, blocks[s].ldb, blocks[s].beta, c,
                                          blocks[s].ldc))
                    return; /* a build without AVX-512 */
            double t2 = now();
            best1 = t1 - t0 < best1 ? t1 - t0 : best1;
            best2 = t2 - t1 < best2 ? t2 - t1 : best2;
        }
        double fl = 2.0 * m * n * k * 2000 * 1e-9;
        printf("%-38s OpenBLAS %6.1f  deepc %6.1f  (%.2fx)\n", blocks[s].name, fl / best1, fl / best2, best1 / best2);
    }
    free(a), free(b), free(c);
}

/* The FMA peak the GFLOP/s above compare with: 24 independent chains of
 * 16-float FMAs per thread, nothing loaded, best of 5. */
static void fma_peak(int threads)
{
#if defined(__AVX512F__)
    double best = 1e9, sink = 0.0;
    long n = 8000000;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
#pragma omp parallel reduction(+ : sink)
        {
            __m512 acc[24], x = _mm512_set1_ps(0.9999f), y = _mm512_set1_ps(1e-5f);
            for (int i = 0; i < 24; i++)
                acc[i] = _mm512_set1_ps((float)i * 1e-3f);
            for (long it = 0; it < n; it++)
#pragma GCC unroll 24
                for (int i = 0; i < 24; i++)
                    acc[i] = _mm512_fmadd_ps(acc[i], x, y);
            for (int i = 0; i < 24; i++)
                sink += _mm512_reduce_add_ps(acc[i]);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("FMA peak, %d thread(s): %.1f GFLOP/s (%g)\n", threads, 2.0 * 16 * 24 * n * threads / best * 1e-9, sink);
#else
    (void)threads;
#endif
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
    if (getenv("PEAK_ONLY")) {
        fma_peak(threads);
        return 0;
    }
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
        float *scratch = malloc(((size_t)m * n + n) * sizeof *scratch);
        double best1 = 1e9, best2 = 1e9;
        for (int r = 0; r < reps; r++) {
            a = as[r % copies];
            double t0 = now();
            blas(ta, tb, m, n, k, a, lda, b, ldb, c1, n);
            double t1 = now();
            /* with the scratch a dense reserves: the weight gradients split their reduction */
            if (!dc_gemm_avx512_ex(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c2, n, NULL, NULL, scratch)) {
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
        free(b), free(c1), free(c2), free(scratch);
    }
    attention_blocks();
    fma_peak(threads);
    return 0;
}
