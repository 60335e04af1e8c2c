/*
 * gemm_avx512.c - deepc's own sgemm for the shapes of training: C (m x n) =
 * alpha op(A) op(B) + beta C (+ a bias row), with m in the thousands (batch
 * x tokens, or the reduction of a weight gradient) and n, k a few hundred.
 *
 * Why not OpenBLAS for these: it packs both operands on every call and its
 * kernels are tuned for large square products; on the encoder block's
 * (4096 x 128) x (128 x 512) and their gradients it ran at 115-150 GFLOP/s
 * on one core here, with ~15% of its time in the packing copies.  The
 * kernel below reads A where it lies (a broadcast per element) and packs
 * only a kc x 64 slice of B at a time into a buffer on the stack that stays
 * in L1 while every 6-row block of the thread's rows streams past it.
 *
 * Register block: 6 rows x 64 columns = 24 zmm accumulators; per step of
 * the reduction 4 loads of B, 6 broadcasts of A, 24 FMAs (12 cycles on two
 * FMA ports, 5 on the load ports).  op(A)'s element (i, p) sits at
 * a[i * sa_i + p * sa_p]: (lda, 1) for A, (1, lda) for A transposed, so a
 * weight gradient X^T dY reads X's rows as they are.
 *
 * The bias (dense's forward) is added in the last pass over each tile
 * instead of a separate broadcast of it into C before the product.
 *
 * Built without AVX-512 (DEEPC_NATIVE=OFF) dc_gemm_avx512 declines every
 * product and dc_sgemm uses OpenBLAS.
 */
#include "graph/graph.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__AVX512F__)
#include <immintrin.h>

#ifndef GEMM_KC
#define GEMM_KC 256
#endif
#ifndef GEMM_MC
#define GEMM_MC 1020
#endif
enum { MR = 6, NR = 64, KC = GEMM_KC, MC = GEMM_MC };

typedef struct {
    const float *a;
    size_t sa_i, sa_p; /* op(A)(i, p) = a[i * sa_i + p * sa_p] */
    const float *b;
    int ldb; /* op(B)(p, j) = b[p * ldb + j] */
    float *c;
    int ldc;
    float alpha, beta;
    const float *bias;
    int m, n, k;
} gemm_args;

/* op(B)'s rows [p0, p0 + kc) and columns [j0, j0 + nr) into bp (kc x 64,
 * columns past nr zero). */
static void pack_b(const gemm_args *g, int p0, int kc, int j0, int nr, float *bp)
{
    for (int p = 0; p < kc; p++) {
        const float *src = g->b + (size_t)(p0 + p) * g->ldb + j0;
        float *dst = bp + (size_t)p * NR;
        for (int j = 0; j < NR; j += 16) {
            __mmask16 mk = j >= nr ? 0 : nr - j >= 16 ? 0xffff : (__mmask16)((1u << (nr - j)) - 1);
            _mm512_store_ps(dst + j, _mm512_maskz_loadu_ps(mk, src + j));
        }
    }
}

/* C's tile (mr x nr at row i0, column j0) (+)= alpha op(A)[i0.., p0..p0+kc) bp.
 * first: the tile's first pass (beta and the bias apply); later passes add. */
static inline __attribute__((always_inline)) void tile(const gemm_args *g, const float *bp, int i0, int p0, int kc,
                                                       int j0, int nr, int mr, int first)
{
    __m512 acc[MR][4];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < 4; v++)
            acc[r][v] = _mm512_setzero_ps();
    const float *a = g->a + (size_t)i0 * g->sa_i + (size_t)p0 * g->sa_p;
    size_t sa_i = g->sa_i, sa_p = g->sa_p;
    for (int p = 0; p < kc; p++) {
        const float *bq = bp + (size_t)p * NR;
        __m512 b0 = _mm512_load_ps(bq), b1 = _mm512_load_ps(bq + 16), b2 = _mm512_load_ps(bq + 32),
               b3 = _mm512_load_ps(bq + 48);
        for (int r = 0; r < mr; r++) {
            __m512 x = _mm512_set1_ps(a[r * sa_i]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(x, b3, acc[r][3]);
        }
        a += sa_p;
    }
    __m512 alpha = _mm512_set1_ps(g->alpha), beta = _mm512_set1_ps(g->beta);
    for (int v = 0; v < 4; v++) {
        int j = v * 16;
        __mmask16 mk = j >= nr ? 0 : nr - j >= 16 ? 0xffff : (__mmask16)((1u << (nr - j)) - 1);
        if (!mk)
            break;
        __m512 bias = first && g->bias ? _mm512_maskz_loadu_ps(mk, g->bias + j0 + j) : _mm512_setzero_ps();
        for (int r = 0; r < mr; r++) {
            float *cr = g->c + (size_t)(i0 + r) * g->ldc + j0 + j;
            __m512 y = _mm512_fmadd_ps(alpha, acc[r][v], bias);
            if (!first)
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mk, cr));
            else if (g->beta != 0.0f)
                y = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mk, cr), y);
            _mm512_mask_storeu_ps(cr, mk, y);
        }
    }
}

/* The tiles of rows [i_lo, i_hi) for one packed slice of B. */
static void row_blocks(const gemm_args *g, const float *bp, int i_lo, int i_hi, int p0, int kc, int j0, int nr,
                       int first)
{
    int i = i_lo;
    for (; i + MR <= i_hi; i += MR)
        tile(g, bp, i, p0, kc, j0, nr, MR, first);
    switch (i_hi - i) { /* the last rows: a constant mr for each, so the loops unroll */
    case 5: tile(g, bp, i, p0, kc, j0, nr, 5, first); break;
    case 4: tile(g, bp, i, p0, kc, j0, nr, 4, first); break;
    case 3: tile(g, bp, i, p0, kc, j0, nr, 3, first); break;
    case 2: tile(g, bp, i, p0, kc, j0, nr, 2, first); break;
    case 1: tile(g, bp, i, p0, kc, j0, nr, 1, first); break;
    default: break;
    }
}

/* This thread's block of C: rows [i_lo, i_hi), columns [j_lo, j_hi). */
static void gemm_block(const gemm_args *g, int i_lo, int i_hi, int j_lo, int j_hi)
{
    float bp[KC * NR] __attribute__((aligned(64)));
    if (i_lo >= i_hi || j_lo >= j_hi)
        return;
    for (int i0 = i_lo; i0 < i_hi; i0 += MC) {
        int i1 = i_hi - i0 < MC ? i_hi : i0 + MC;
        for (int p0 = 0; p0 < g->k; p0 += KC) {
            int kc = g->k - p0 < KC ? g->k - p0 : KC;
            for (int j0 = j_lo; j0 < j_hi; j0 += NR) {
                int nr = j_hi - j0 < NR ? j_hi - j0 : NR;
                pack_b(g, p0, kc, j0, nr, bp);
                row_blocks(g, bp, i0, i1, p0, kc, j0, nr, p0 == 0);
            }
        }
    }
}

int dc_gemm_avx512(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc, const float *bias)
{
    /* Small products (and thin ones: few rows, or a short reduction) stay
     * with OpenBLAS, whose small-matrix kernels suit them. */
    if (m < 4 * MR || n < 32 || k < 32 || (double)m * n * k < 1 << 20)
        return 0;
    /* op(B) = B^T (a gradient dY W^T): B transposed once into a (k x n)
     * buffer, a 1% of the product's time at these sizes. */
    float *bt = NULL;
    if (trans_b) {
        bt = malloc((size_t)k * n * sizeof *bt);
        if (!bt)
            return 0;
        for (int j0 = 0; j0 < n; j0 += 16) /* 16 rows of B at a time: 16 lines in flight, writes in runs of 16 */
            for (int p = 0; p < k; p++)
                for (int j = j0; j < n && j < j0 + 16; j++)
                    bt[(size_t)p * n + j] = b[(size_t)j * ldb + p];
        b = bt;
        ldb = n;
    }
    gemm_args g = {.a = a,
                   .sa_i = trans_a ? 1 : (size_t)lda,
                   .sa_p = trans_a ? (size_t)lda : 1,
                   .b = b,
                   .ldb = ldb,
                   .c = c,
                   .ldc = ldc,
                   .alpha = alpha,
                   .beta = beta,
                   .bias = bias,
                   .m = m,
                   .n = n,
                   .k = k};
    /* Threads split C's rows when it has many (each streams its rows of A
     * past all of B), else its 64-column panels (each streams all of A). */
    int split_rows = m >= 2 * n;
#pragma omp parallel if (dc_worth_parallel(2.0 * m * n * k))
    {
        size_t lo, hi;
        if (split_rows) {
            dc_thread_range((size_t)m, MR, &lo, &hi);
            gemm_block(&g, (int)lo, (int)hi, 0, n);
        } else {
            dc_thread_range((size_t)n, NR, &lo, &hi);
            gemm_block(&g, 0, m, (int)lo, (int)hi);
        }
    }
    free(bt);
    return 1;
}

#else

int dc_gemm_avx512(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc, const float *bias)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb;
    (void)beta, (void)c, (void)ldc, (void)bias;
    return 0;
}

#endif
