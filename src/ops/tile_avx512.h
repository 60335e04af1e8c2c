/*
 * tile_avx512.h - the register tile shared by deepc's AVX-512 kernels
 * (gemm_avx512.c's sgemm and block products, attn_avx512.c's attention
 * products): up to 12 rows x 4 vectors of 16 columns of sums, A broadcast
 * where it lies, B's rows loaded as they lie.  Each kernel adds its own
 * epilogue (bias, beta, GELU; the attention's rescale and 1/l).
 */
#ifndef DEEPC_OPS_TILE_AVX512_H
#define DEEPC_OPS_TILE_AVX512_H

#if defined(__AVX512F__)
#include <immintrin.h>
#include <stddef.h>

enum { TILE_ROWS = 12 }; /* the most rows of a tile: acc is acc[TILE_ROWS][4] */

/* The mask of the columns j .. j + 15 below nr. */
static inline __mmask16 cols_mask(int j, int nr)
{
    return j >= nr ? 0 : nr - j >= 16 ? 0xffff : (__mmask16)((1u << (nr - j)) - 1);
}

/* acc[r][v] = sum over p < kc of A(r, p) B(p, v's 16 columns), r < mr,
 * v < nv: A's element (r, p) at a[r * sa_i + p * sa_p], B's rows ldb apart,
 * loaded whole when full (nv * 16 readable columns), else masked by mk[v]
 * (a masked load costs an ALU port as well: only where B ends).  pf: with
 * A transposed (sa_i 1) prefetch the line 16 columns on, for the tiles to
 * come; with A's rows contiguous, the next tile's rows (sa_i apart) a line
 * of each every 16 steps; NULL: nothing (7-10% on the row-major products
 * with A coming from L3).  mr, nv, full and the strides are constants
 * where it is called (always inlined), so the sums stay in registers. */
static inline __attribute__((always_inline)) void tile_accumulate(__m512 acc[TILE_ROWS][4], const float *a,
                                                                  size_t sa_i, size_t sa_p, const float *b,
                                                                  size_t ldb, int kc, int mr, int nv,
                                                                  const __mmask16 *mk, int full, const float *pf)
{
    __m512 bv[4];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            bv[v] = full ? _mm512_loadu_ps(b + v * 16) : _mm512_maskz_loadu_ps(mk[v], b + v * 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m512 x = _mm512_set1_ps(a[r * sa_i]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
        if (pf && sa_i == 1)
            _mm_prefetch((const char *)(a + 16), _MM_HINT_T0);
        else if (pf && (p & 15) == 0)
            for (int r = 0; r < mr; r++)
                _mm_prefetch((const char *)(pf + r * sa_i + p), _MM_HINT_T0);
        a += sa_p;
        b += ldb;
    }
}
#endif

#endif
