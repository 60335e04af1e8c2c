/*
 * gemm_avx512.c - deepc's own sgemm for the shapes of training: C (m x n) =
 * alpha op(A) op(B) + beta C (+ a bias row), with m in the thousands (batch
 * x tokens, or the reduction of a weight gradient) and n, k a few hundred;
 * and the same register tiles for the fused attention's small blocks.
 *
 * Why not OpenBLAS for these: it packs both operands on every call and its
 * kernels are tuned for large square products; on the encoder block's
 * (4096 x 128) x (128 x 512) and their gradients it ran at 115-150 GFLOP/s
 * on one core here, with ~15% of its time in the packing copies.  The
 * kernel below reads A where it lies (a broadcast per element, the next
 * tile's rows prefetched) and packs only a kc x 64 slice of B at a time
 * into a buffer on the stack, which every 6-row block of the thread's rows
 * then streams past (bench/gemm_encoder: 156-165 GFLOP/s against a 175
 * FMA peak, A coming from L3).
 *
 * Register block: 6 rows x 64 columns = 24 zmm accumulators; per step of
 * the reduction 4 loads of B, 6 broadcasts of A, 24 FMAs (12 cycles on two
 * FMA ports, 5 on the load ports).  op(A)'s element (i, p) sits at
 * a[i * sa_i + p * sa_p]: (lda, 1) for A, (1, lda) for A transposed, so a
 * weight gradient X^T dY reads X's rows as they are.  The attention's
 * head-wide products (32 columns) use 12 x 32 tiles instead.
 *
 * Epilogues: the bias (dense's forward) is added in each tile's first pass
 * over the reduction, with beta, instead of a broadcast of it into C before
 * the product; the column sums of op(B) (dense's bias gradient, B = dY) are
 * taken as B is packed.
 *
 * Built without AVX-512 (DEEPC_NATIVE=OFF) dc_gemm_avx512 declines every
 * product and dc_sgemm uses OpenBLAS.
 */
#include "graph/graph.h"
#include "ops/gelu.h"

#include <stdint.h>
#include <omp.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

#include "ops/tile_avx512.h"

/* Blocking: a pass over the reduction is at most KC deep (B's slice, KC x
 * 64 floats = 64 KB on the stack, next to A's MC rows in L2); C gets each
 * pass's partial sums.  512 was ~5% faster on the k = 512 products, but
 * its longer float sums moved a trained CNN's outputs 1.1e-5 from ONNX
 * Runtime's (test_onnx_export's limit is 1e-5; 256: 7.5e-6, OpenBLAS
 * 6.3e-6).  Measured with bench/gemm_encoder (COLD=1) on the Xeon. */
enum { MR = 6, NR = 64, KC = 256, MC = 1020 };

typedef struct {
    const float *a;
    size_t sa_i, sa_p; /* op(A)(i, p) = a[i * sa_i + p * sa_p] */
    const float *b;
    int ldb, trans_b; /* op(B)(p, j) = b[p * ldb + j], or b[j * ldb + p] */
    float *c;
    int ldc;
    float alpha, beta;
    const float *bias;
    float *colsum; /* column sums of op(B) added here, or NULL */
    int m, n, k;
    int epi;   /* DC_EPI_*: applied to each tile after its last pass over the reduction */
    float *aux; /* the epilogue's second matrix (ldc apart): GELU's derivative out, or the factor in */
} gemm_args;

/* op(B)'s rows [p0, p0 + kc) and columns [j0, j0 + nr) into bp (kc x 64,
 * columns past nr zero): B's rows as they are, or with B transposed (a
 * gradient dY W^T) the block of W's rows transposed in registers.  With
 * colsum (those columns' sums) the slice's rows are then added in, in row
 * order: a bias gradient for free, the same sums dense's own column loop
 * gave. */
static void pack_b(const gemm_args *g, int p0, int kc, int j0, int nr, float *bp, float *colsum)
{
    if (g->trans_b) {
        dc_transpose(g->b + (size_t)j0 * g->ldb + p0, (size_t)g->ldb, nr, kc, bp, NR);
        for (int p = 0; nr < NR && p < kc; p++)
            memset(bp + (size_t)p * NR + nr, 0, (size_t)(NR - nr) * sizeof *bp);
    } else {
        for (int p = 0; p < kc; p++) {
            const float *src = g->b + (size_t)(p0 + p) * g->ldb + j0;
            for (int v = 0; v < NR / 16; v++)
                _mm512_store_ps(bp + (size_t)p * NR + v * 16, _mm512_maskz_loadu_ps(cols_mask(v * 16, nr), src + v * 16));
        }
    }
    if (!colsum)
        return;
    __m512 s[NR / 16];
    for (int v = 0; v < NR / 16; v++)
        s[v] = _mm512_maskz_loadu_ps(cols_mask(v * 16, nr), colsum + v * 16);
    for (int p = 0; p < kc; p++)
        for (int v = 0; v < NR / 16; v++)
            s[v] = _mm512_add_ps(s[v], _mm512_load_ps(bp + (size_t)p * NR + v * 16));
    for (int v = 0; v < NR / 16; v++)
        _mm512_mask_storeu_ps(colsum + v * 16, cols_mask(v * 16, nr), s[v]);
}

/* One register tile: C's mr x nr block at c (rows ldc apart) (+)= alpha *
 * A's mr rows (element (r, p) at a[r * sa_i + p * sa_p]) times B's kc rows
 * (ldb apart, nv vectors of 16 columns each, the last nr masked).  first:
 * the tile's first pass over the reduction (beta and the bias apply);
 * later passes add to C.  full_loads: B has nv * 16 readable columns (a
 * packed slice padded with zeros), only C's stores are masked.  pf: the
 * next tile's A (rows sa_i apart, each contiguous) to prefetch into L1, a
 * line of each row every 16 steps (tile_accumulate), or NULL.  mr, nv and
 * full_loads are constants where it is called, so the accumulators stay in
 * registers. */
static inline __attribute__((always_inline)) void tile(const float *a, size_t sa_i, size_t sa_p, const float *b,
                                                       size_t ldb, int kc, int mr, int nv, int nr, float *c,
                                                       size_t ldc, float alpha, float beta, const float *bias,
                                                       int first, int full_loads, const float *pf)
{
    __m512 acc[TILE_ROWS][4];
    __mmask16 mk[4];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
        mk[v] = cols_mask(v * 16, nr);
    tile_accumulate(acc, a, sa_i, sa_p, b, ldb, kc, mr, nv, mk, full_loads, pf);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        __m512 bias_v = first && bias ? _mm512_maskz_loadu_ps(mk[v], bias + v * 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            float *cr = c + (size_t)r * ldc + v * 16;
            __m512 y = _mm512_fmadd_ps(va, acc[r][v], bias_v);
            if (!first)
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mk[v], cr));
            else if (beta != 0.0f)
                y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cr), y);
            _mm512_mask_storeu_ps(cr, mk[v], y);
        }
    }
}

/* The epilogue on C's mr x nr block at row i0, column j0, just stored (in
 * L1): DC_EPI_GELU turns each z into gelu(z) and writes gelu'(z) to aux;
 * DC_EPI_MUL multiplies each value by aux's. */
static void epilogue(const gemm_args *g, int i0, int mr, int j0, int nr)
{
    for (int r = 0; r < mr; r++) {
        float *c = g->c + (size_t)(i0 + r) * g->ldc + j0, *d = g->aux + (size_t)(i0 + r) * g->ldc + j0;
        if (g->epi == DC_EPI_GELU) {
            gelu_forward_deriv_n(c, c, d, (size_t)nr);
        } else {
            for (int j = 0; j < nr; j += 16) {
                __mmask16 mk = cols_mask(j, nr);
                _mm512_mask_storeu_ps(c + j, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, c + j),
                                                               _mm512_maskz_loadu_ps(mk, d + j)));
            }
        }
    }
}

/* The big product's tile at row i0, column j0 from the packed slice bp. */
static inline __attribute__((always_inline)) void big_tile(const gemm_args *g, const float *bp, int i0, int p0,
                                                           int kc, int j0, int nr, int mr, int first)
{
    if (g->sa_i == 1) /* A transposed: the tile's rows are contiguous floats, a constant stride the compiler sees */
        tile(g->a + (size_t)i0 + (size_t)p0 * g->sa_p, 1, g->sa_p, bp, NR, kc, mr, 4, nr,
             g->c + (size_t)i0 * g->ldc + j0, (size_t)g->ldc, g->alpha, g->beta, g->bias ? g->bias + j0 : NULL, first,
             1, g->a);
    else
        tile(g->a + (size_t)i0 * g->sa_i + (size_t)p0, g->sa_i, 1, bp, NR, kc, mr, 4, nr,
             g->c + (size_t)i0 * g->ldc + j0, (size_t)g->ldc, g->alpha, g->beta, g->bias ? g->bias + j0 : NULL, first,
             1, g->a + (size_t)(i0 + MR) * g->sa_i + (size_t)p0);
    if (g->epi != DC_EPI_NONE && p0 + kc == g->k)
        epilogue(g, i0, mr, j0, nr);
}

/* The tiles of rows [i_lo, i_hi) for one packed slice of B. */
static void row_blocks(const gemm_args *g, const float *bp, int i_lo, int i_hi, int p0, int kc, int j0, int nr,
                       int first, const float *next, int next_rows)
{
    int i = i_lo, tiles = (i_hi - i_lo) / MR, done = 0;
    for (; i + MR <= i_hi; i += MR) {
        /* the next slice of B into L2 while this one is used, a share per tile */
        int to = tiles ? (int)((long)next_rows * (done + 1) / tiles) : 0;
        for (int r = (int)((long)next_rows * done / tiles); next && r < to; r++)
            for (int v = 0; v < NR; v += 16)
                _mm_prefetch((const char *)(next + (size_t)r * g->ldb + v), _MM_HINT_T1);
        done++;
        big_tile(g, bp, i, p0, kc, j0, nr, MR, first);
    }
    switch (i_hi - i) { /* the last rows: a constant mr for each, so the loops unroll */
    case 5: big_tile(g, bp, i, p0, kc, j0, nr, 5, first); break;
    case 4: big_tile(g, bp, i, p0, kc, j0, nr, 4, first); break;
    case 3: big_tile(g, bp, i, p0, kc, j0, nr, 3, first); break;
    case 2: big_tile(g, bp, i, p0, kc, j0, nr, 2, first); break;
    case 1: big_tile(g, bp, i, p0, kc, j0, nr, 1, first); break;
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
                /* the column sums once: the thread holding row 0, its first row block */
                pack_b(g, p0, kc, j0, nr, bp, g->colsum && i0 == 0 ? g->colsum + j0 : NULL);
                /* the slice packed next: B's rows as they lie only (W^T's W is small and cached) */
                int pn = j0 + NR < j_hi ? p0 : p0 + kc, jn = j0 + NR < j_hi ? j0 + NR : j_lo;
                const float *next = !g->trans_b && pn < g->k ? g->b + (size_t)pn * g->ldb + jn : NULL;
                int next_rows = g->k - pn < KC ? g->k - pn : KC;
                row_blocks(g, bp, i0, i1, p0, kc, j0, nr, p0 == 0, next, next_rows);
            }
        }
    }
}

/* How many parts a weight gradient's reduction is cut into: X^T dY with a
 * small C (weights) and a long reduction (batch x tokens).  Split by C's
 * panels alone, every thread would stream all of X (the A operand, read
 * transposed) from L3 for its few panels: at two threads the 128 x 128
 * products ran at 170-210 GFLOP/s against 250 for twice one thread.  With
 * the reduction in parts each thread reads its part of X and dY once.  The
 * number of parts depends on the shape only, never on the thread count,
 * and the parts are added in a fixed order, so results stay the same at
 * every thread count. */
static int reduction_parts(int trans_a, int m, int n, int k, const float *bias, int epi)
{
    return trans_a && !bias && epi == DC_EPI_NONE && k >= 2048 && k >= 8 * (m > n ? m : n) &&
                   (size_t)m * n <= DC_GEMM_SPLIT_MAX ? 2 : 1;
}

/* C (+)= part p of the reduction, for the columns the thread's share of its
 * part's team covers.  Part 0 goes to C itself (beta, colsum as asked),
 * later parts to their scratch (beta 0, their own column sums). */
static void part_product(const gemm_args *g, int parts, int p, int t_in_part, int team, float *scratch)
{
    int k0 = (int)((long)g->k * p / parts), k1 = (int)((long)g->k * (p + 1) / parts);
    gemm_args s = *g;
    s.a = g->a + (size_t)k0 * g->sa_p;
    s.b = g->trans_b ? g->b + k0 : g->b + (size_t)k0 * g->ldb;
    s.k = k1 - k0;
    if (p > 0) {
        s.c = scratch + (size_t)(p - 1) * ((size_t)g->m * g->n + g->n);
        s.ldc = g->n;
        s.beta = 0.0f;
        s.colsum = g->colsum ? s.c + (size_t)g->m * g->n : NULL;
    }
    int panels = (g->n + NR - 1) / NR, per = (panels + team - 1) / team;
    int j_lo = t_in_part * per * NR, j_hi = (t_in_part + 1) * per * NR;
    j_hi = j_hi < g->n ? j_hi : g->n;
    if (s.colsum && p > 0 && j_lo < j_hi)
        memset(s.colsum + j_lo, 0, (size_t)(j_hi - j_lo) * sizeof(float));
    gemm_block(&s, 0, g->m, j_lo, j_hi);
}

/* The reduction in `parts` parts over the team, then the parts added to C
 * (and to colsum) in order. */
static void split_reduction(const gemm_args *g, int parts, float *scratch)
{
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    if (nt >= parts) { /* each part a team of threads sharing its panels */
        int p = id * parts / nt, first = (p * nt + parts - 1) / parts, next = ((p + 1) * nt + parts - 1) / parts;
        part_product(g, parts, p, id - first, next - first, scratch);
    } else {
        for (int p = id; p < parts; p += nt)
            part_product(g, parts, p, 0, 1, scratch);
    }
#pragma omp barrier
    size_t lo, hi, part_floats = (size_t)g->m * g->n + g->n;
    dc_thread_range((size_t)g->m, 1, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        for (int p = 1; p < parts; p++) {
            const float *src = scratch + (size_t)(p - 1) * part_floats + i * g->n;
            float *dst = g->c + i * g->ldc;
#pragma omp simd
            for (int j = 0; j < g->n; j++)
                dst[j] += src[j];
        }
    if (g->colsum && id == 0)
        for (int p = 1; p < parts; p++)
            for (int j = 0; j < g->n; j++)
                g->colsum[j] += scratch[(size_t)(p - 1) * part_floats + (size_t)g->m * g->n + j];
}

static int gemm_run(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc, const float *bias, float *colsum_b, int epi,
                    float *aux, float *scratch)
{
    /* Small products (and thin ones: few rows, or a short reduction) stay
     * with OpenBLAS, whose small-matrix kernels suit them. */
    if (m < 4 * MR || n < 32 || k < 32 || (double)m * n * k < 1 << 20)
        return 0;
    gemm_args g = {.a = a,
                   .sa_i = trans_a ? 1 : (size_t)lda,
                   .sa_p = trans_a ? (size_t)lda : 1,
                   .b = b,
                   .ldb = ldb,
                   .trans_b = trans_b,
                   .c = c,
                   .ldc = ldc,
                   .alpha = alpha,
                   .beta = beta,
                   .bias = bias,
                   .colsum = colsum_b,
                   .m = m,
                   .n = n,
                   .k = k,
                   .epi = epi,
                   .aux = aux};
    int parts = scratch ? reduction_parts(trans_a, m, n, k, bias, epi) : 1;
    /* Threads split C's rows when it has many (each streams its rows of A
     * past all of B), else its 64-column panels (each streams all of A). */
    int split_rows = m >= 2 * n;
#pragma omp parallel if (dc_worth_parallel(2.0 * m * n * k))
    {
        size_t lo, hi;
        if (parts > 1) {
            split_reduction(&g, parts, scratch);
        } else if (split_rows) {
            dc_thread_range((size_t)m, MR, &lo, &hi);
            gemm_block(&g, (int)lo, (int)hi, 0, n);
        } else {
            dc_thread_range((size_t)n, NR, &lo, &hi);
            gemm_block(&g, 0, m, (int)lo, (int)hi);
        }
    }
    return 1;
}

/* One row band of a small product: rows [i0, i0 + mr) of C, every column,
 * in panels of nv vectors. */
static inline __attribute__((always_inline)) void small_rows(const float *a, size_t sa_i, size_t sa_p, const float *b,
                                                             int ldb, int n, int k, int mr, int nv, float *c, int ldc,
                                                             float alpha, float beta)
{
    for (int j0 = 0; j0 < n; j0 += nv * 16) {
        if (n - j0 >= nv * 16)
            tile(a, sa_i, sa_p, b + j0, (size_t)ldb, k, mr, nv, nv * 16, c + j0, (size_t)ldc, alpha, beta, NULL, 1, 1, NULL);
        else
            tile(a, sa_i, sa_p, b + j0, (size_t)ldb, k, mr, nv, n - j0, c + j0, (size_t)ldc, alpha, beta, NULL, 1, 0, NULL);
    }
}

int dc_gemm_avx512_available(void) { return 1; }

/* dst's 16 rows (ldd apart) = the 16 x 16 block at src (rows ld apart)
 * transposed: three rounds of shuffles in registers. */
static void transpose16(const float *src, size_t ld, float *dst, size_t ldd)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(src + (size_t)i * ld);
    for (int i = 0; i < 16; i += 2) { /* pairs of rows interleaved */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* then pairs of pairs */
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]), c = _mm512_castps_pd(t[i + 2]),
                d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int h = 0; h < 16; h += 8) /* then the 128-bit lanes, twice */
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    for (int i = 0; i < 16; i++)
        _mm512_storeu_ps(dst + (size_t)i * ldd, r[i]);
}

void dc_transpose(const float *src, size_t ld, int rows, int cols, float *dst, size_t ldd)
{
    int r16 = rows / 16 * 16, c16 = cols / 16 * 16;
    for (int r = 0; r < r16; r += 16)
        for (int c = 0; c < c16; c += 16)
            transpose16(src + (size_t)r * ld + c, ld, dst + (size_t)c * ldd + r, ldd);
    for (int r = 0; r < rows; r++) /* the edges */
        for (int c = r < r16 ? c16 : 0; c < cols; c++)
            dst[(size_t)c * ldd + r] = src[(size_t)r * ld + c];
}

int dc_gemm_block_avx512(int trans_a, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc)
{
    size_t sa_i = trans_a ? 1 : (size_t)lda, sa_p = trans_a ? (size_t)lda : 1;
    int i = 0;
/* the rows [i, i + MR_) as one band; MR_ a constant, so its tile unrolls */
#define BAND(MR_, NV_) small_rows(a + i * sa_i, sa_i, sa_p, b, ldb, n, k, MR_, NV_, c + (size_t)i * ldc, ldc, alpha, beta)
    if (n <= 32) { /* 12 x 32: two vectors of B, twelve rows of broadcasts */
        for (; i + 2 * MR <= m; i += 2 * MR)
            BAND(2 * MR, 2);
        switch (m - i) { /* the last rows in one band (a row at a time would leave the FMAs waiting) */
        case 11: BAND(11, 2); break;
        case 10: BAND(10, 2); break;
        case 9: BAND(9, 2); break;
        case 8: BAND(8, 2); break;
        case 7: BAND(7, 2); break;
        case 6: BAND(6, 2); break;
        case 5: BAND(5, 2); break;
        case 4: BAND(4, 2); break;
        case 3: BAND(3, 2); break;
        case 2: BAND(2, 2); break;
        case 1: BAND(1, 2); break;
        default: break;
        }
    } else {
        for (; i + MR <= m; i += MR)
            BAND(MR, 4);
        switch (m - i) {
        case 5: BAND(5, 4); break;
        case 4: BAND(4, 4); break;
        case 3: BAND(3, 4); break;
        case 2: BAND(2, 4); break;
        case 1: BAND(1, 4); break;
        default: break;
        }
    }
#undef BAND
    return 1;
}

#else

static int gemm_run(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc, const float *bias, float *colsum_b, int epi,
                    float *aux, float *scratch)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb;
    (void)beta, (void)c, (void)ldc, (void)bias, (void)colsum_b, (void)epi, (void)aux, (void)scratch;
    return 0;
}

int dc_gemm_avx512_available(void) { return 0; }

void dc_transpose(const float *src, size_t ld, int rows, int cols, float *dst, size_t ldd)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[(size_t)c * ldd + r] = src[(size_t)r * ld + c];
}

int dc_gemm_block_avx512(int trans_a, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc)
{
    (void)trans_a, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta;
    (void)c, (void)ldc;
    return 0;
}

#endif

int dc_gemm_avx512(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc, const float *bias)
{
    return gemm_run(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, NULL, DC_EPI_NONE, NULL,
                    NULL);
}

int dc_gemm_avx512_ex(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc, const float *bias, float *colsum_b,
                      float *scratch)
{
    return gemm_run(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, colsum_b, DC_EPI_NONE, NULL,
                    scratch);
}

int dc_gemm_avx512_epi(int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                       int ldc, const float *bias, int epi, float *aux)
{
    if ((epi != DC_EPI_GELU && epi != DC_EPI_MUL) || !aux)
        return 0;
    return gemm_run(0, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, bias, NULL, epi, aux, NULL);
}
