/*
 * attn_avx512.c - the fused attention's AVX-512 kernels: one (batch, head)
 * task's forward and backward (ops_attention.c describes the algorithm and
 * runs the plain-C path where the build has no AVX-512).
 *
 * Why kernels of its own: the attention's products are small (a reduction
 * of Dk = 32 for the scores, 128 rows at a time) and each was followed by
 * a pass over its result (the online softmax; p = exp(s - lse) and ds); as
 * separate block products and passes, the passes and the products' stores
 * and reloads took about half the time.  Here the scores stay in registers
 * until their softmax is done:
 *   forward: a band of 3 queries x up to 128 keys (24 accumulators) gets
 *     its row max, the rescale factor of the rows' earlier partial output,
 *     exp and row sums in registers, and only p is stored; then
 *     out (12 queries x Dv) = alpha * acc + p v, the last key block of a
 *     row writing (alpha * acc + p v) / l straight into out;
 *   backward: a band of 3 queries x up to 128 keys computes s = q k^T and
 *     stores p = 2^(log2(e) s - lse2), then dp = dout v^T in the same
 *     registers and stores ds = scale p (dp - delta); then dv += p^T dout,
 *     dk += ds^T q and dq += ds k, each gradient's first contribution
 *     written, not added, when the op is its input's one reader (no zeroing
 *     pass).
 * The softmax works in base 2 (k is transposed once per task and scaled
 * by scale log2(e)), so each exp is a rounding, a degree-5 polynomial of
 * the fraction and a scalef; masked lanes are zeroed by the scalef's mask,
 * so a masked score gives exactly 0.  lse2 is the forward's log2-sum, read
 * only by this file's backward.
 *
 * The products' register tiles are gemm_avx512.c's (tile_avx512.h: 12 x 32
 * where the output has at most 32 columns, else 6 x 64) with their own epilogues,
 * A's strides constants (the p and ds blocks).  Tried and dropped (no gain
 * or a loss, one thread, bench/attention_bench's encoder shape): the FMAs
 * with A's broadcast folded in ({1to16}: more loads), dv and dk as
 * dv^T = dout^T p in 3 x 128 tiles, rows copied into packed blocks, and
 * software prefetch of the next task's rows.
 */
#include "graph/graph.h"
#include "ops/attn_internal.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include "ops/tile_avx512.h"
#include <math.h>
#include <string.h>

enum { BAND = 3, SUB = 12 }; /* queries per scores band, per output tile of the forward */

/* 2^x in the lanes of k, 0 in the others and, with guard, where x <= -125
 * (so -inf, a masked score or an empty_zero row's, gives 0, and no result
 * is subnormal; without guard x must be finite, and below -125 gives
 * scalef's tiny or 0 result): x = n + f with n an integer (x rounded by
 * adding and subtracting 1.5 * 2^23; below -2^22 n = x, f = 0, and the
 * result is still 0) and |f| <= 1/2, 2^f by a degree-5 polynomial
 * (relative error 1.9e-7; a least-squares fit weighted towards the largest
 * error, made with numpy), scaled by 2^n. */
static inline __attribute__((always_inline)) __m512 exp2_16(__mmask16 k, __m512 x, int guard)
{
    __m512 magic = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23: x + magic rounds x to an integer */
    __m512 n = _mm512_sub_ps(_mm512_add_ps(x, magic), magic);
    __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(1.326472731e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.671512991e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550733581e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402224243e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931470037e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    if (guard)
        k = _mm512_mask_cmp_ps_mask(k, x, _mm512_set1_ps(-125.0f), _CMP_GT_OQ);
    return _mm512_maskz_scalef_ps(k, p, n);
}

/* The largest and the sum of v's lanes, in every lane (a butterfly:
 * no trip through a scalar). */
static inline __m512 all_max(__m512 v)
{
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));
    v = _mm512_max_ps(v, _mm512_permute_ps(v, 0x4e));
    return _mm512_max_ps(v, _mm512_permute_ps(v, 0xb1));
}

static inline __m512 all_sum(__m512 v)
{
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4e));
    return _mm512_add_ps(v, _mm512_permute_ps(v, 0xb1));
}

/* v, kept in a register: the loops below use each vector of B for several
 * rows, and gcc would otherwise fold a load of it into every FMA (more
 * loads than the load ports serve in the FMAs' time). */
static inline __m512 in_register(__m512 v)
{
    __asm__("" : "+v"(v));
    return v;
}

/* The largest and the sum of the first n (2, 4 or 8: a constant) of x,
 * by pairs. */
static inline __attribute__((always_inline)) __m512 tree_max(const __m512 *x, int n)
{
    __m512 a = _mm512_max_ps(x[0], x[1]);
    if (n >= 4)
        a = _mm512_max_ps(a, _mm512_max_ps(x[2], x[3]));
    if (n == 8)
        a = _mm512_max_ps(a, _mm512_max_ps(_mm512_max_ps(x[4], x[5]), _mm512_max_ps(x[6], x[7])));
    return a;
}

static inline __attribute__((always_inline)) __m512 tree_sum(const __m512 *x, int n)
{
    __m512 a = _mm512_add_ps(x[0], x[1]);
    if (n >= 4)
        a = _mm512_add_ps(a, _mm512_add_ps(x[2], x[3]));
    if (n == 8)
        a = _mm512_add_ps(a, _mm512_add_ps(_mm512_add_ps(x[4], x[5]), _mm512_add_ps(x[6], x[7])));
    return a;
}

/* The allowed columns among the nv vectors of row i's scores against keys
 * j0 .. j0 + 16 nv: those below nb, and unless the whole block is allowed
 * (masked 0) or the row attends to all (empty), those the causal limit and
 * the mask allow. */
static inline __attribute__((always_inline)) void allowed(const attn_task *t, const attn_geom *a, const float *empty,
                                                          int masked, int i, int j0, int nb, int nv, __mmask16 *mk)
{
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
        mk[v] = cols_mask(16 * v, nb);
    if (!masked || empty[i] != 0.0f)
        return;
    const float *mr = t->mask ? t->mask + (size_t)i * a->Tk + j0 : NULL;
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
        if (t->causal) /* keys j <= i */
            mk[v] &= cols_mask(16 * v, i - j0 + 1);
        if (mr) /* nonzero (NaN included, as != 0 is in C) = attend */
            mk[v] = _mm512_mask_cmp_ps_mask(mk[v], _mm512_maskz_loadu_ps(mk[v], mr + 16 * v), _mm512_setzero_ps(),
                                            _CMP_NEQ_UQ);
    }
}

/* Whether every (i, j) of the block of queries from i0 and keys below j1 is
 * allowed (no masking needed). */
static int all_allowed(const attn_task *t, int i0, int j1) { return !t->mask && (!t->causal || j1 - 1 <= i0); }

/* ---- products ---- */

/* d's mr rows (ldd apart, nr columns) = (A B + cmode's term) * df[r]: A's
 * element (r, p) at a[r * sa_i + p * sa_p] (mr x kc), B's kc rows ldb apart
 * (nv vectors, masked to nr unless full: B has nv * 16 readable columns);
 * cmode 0: nothing added, 1: + c, 2 (cf not NULL): + cf[r] * c (c's rows
 * ldc apart); df NULL: no factor.  mr, nv, full and the strides are constants
 * where it is called, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void prod_tile(const float *a, size_t sa_i, size_t sa_p, const float *b,
                                                            size_t ldb, int kc, int mr, int nv, int nr, int full,
                                                            int cmode, const float *c, size_t ldc, const float *cf,
                                                            float *d, size_t ldd, const float *df)
{
    __m512 acc[TILE_ROWS][4];
    __mmask16 cm[4];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
        cm[v] = full ? 0xffff : cols_mask(16 * v, nr);
    tile_accumulate(acc, a, sa_i, sa_p, b, ldb, kc, mr, nv, cm, full, NULL);
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        const float *cr = c + (size_t)r * ldc;
        float *dr = d + (size_t)r * ldd;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __mmask16 k = cm[v];
            __m512 y = acc[r][v];
            if (cmode == 1)
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(k, cr + 16 * v));
            else if (cmode == 2 && cf)
                y = _mm512_fmadd_ps(_mm512_set1_ps(cf[r]), _mm512_maskz_loadu_ps(k, cr + 16 * v), y);
            if (df)
                y = _mm512_mul_ps(y, _mm512_set1_ps(df[r]));
            _mm512_mask_storeu_ps(dr + 16 * v, k, y);
        }
    }
}

/* The product d (m x n) = (A B + cmode's term) * df as prod_tile, A's
 * strides sa_i, sa_p: 12 x 32 tiles where n <= 32, else 6 x 64; the last
 * rows in one tile. */
static inline __attribute__((always_inline)) void product(const float *a, size_t sa_i, size_t sa_p, int m, int n,
                                                          int k, const float *b, size_t ldb, int cmode,
                                                          const float *c, size_t ldc, const float *cf, float *d,
                                                          size_t ldd, const float *df)
{
/* rows [i, i + MR_) and columns [j, j + nr) */
#define TILE(MR_, NV_, FULL_)                                                                                          \
    prod_tile(a + (size_t)i * sa_i, sa_i, sa_p, b + j, ldb, k, MR_, NV_, nr, FULL_, cmode, c + (size_t)i * ldc + j,    \
              ldc, cf ? cf + i : NULL, d + (size_t)i * ldd + j, ldd, df ? df + i : NULL)
    if (n <= 32) {
        int i = 0, j = 0, nr = n;
        for (; i + SUB <= m; i += SUB) {
            if (nr == 32)
                TILE(SUB, 2, 1);
            else
                TILE(SUB, 2, 0);
        }
        switch (m - i) {
        case 11: TILE(11, 2, 0); break;
        case 10: TILE(10, 2, 0); break;
        case 9: TILE(9, 2, 0); break;
        case 8: TILE(8, 2, 0); break;
        case 7: TILE(7, 2, 0); break;
        case 6: TILE(6, 2, 0); break;
        case 5: TILE(5, 2, 0); break;
        case 4: TILE(4, 2, 0); break;
        case 3: TILE(3, 2, 0); break;
        case 2: TILE(2, 2, 0); break;
        case 1: TILE(1, 2, 0); break;
        default: break;
        }
        return;
    }
    for (int j = 0; j < n; j += 64) {
        int i = 0, nr = n - j < 64 ? n - j : 64;
        for (; i + 6 <= m; i += 6) {
            if (nr == 64)
                TILE(6, 4, 1);
            else
                TILE(6, 4, 0);
        }
        switch (m - i) {
        case 5: TILE(5, 4, 0); break;
        case 4: TILE(4, 4, 0); break;
        case 3: TILE(3, 4, 0); break;
        case 2: TILE(2, 4, 0); break;
        case 1: TILE(1, 4, 0); break;
        default: break;
        }
    }
#undef TILE
}

/* A (rows ATTN_BK apart) times B, for p v and ds k. */
static void product_rows(const float *a, int m, int n, int k, const float *b, size_t ldb, int cmode, const float *c,
                         size_t ldc, const float *cf, float *d, size_t ldd, const float *df)
{
    product(a, ATTN_BK, 1, m, n, k, b, ldb, cmode, c, ldc, cf, d, ldd, df);
}

/* A^T (A's rows ATTN_BK apart) times B, for p^T dout and ds^T q. */
static void product_cols(const float *a, int m, int n, int k, const float *b, size_t ldb, int cmode, float *d,
                         size_t ldd)
{
    product(a, 1, ATTN_BK, m, n, k, b, ldb, cmode, d, ldd, NULL, d, ldd, NULL);
}

/* ---- forward ---- */

/* Rows [i, i + R) of the scores against keys [j0, j0 + nb) (NV vectors,
 * masked to nb unless full: nb = 16 NV and nothing masked) through the
 * online softmax: u = q kt (kt holds scale log2(e) k^T), m and l updated,
 * alpha = the rescale factor of the rows' earlier output, p's rows
 * (ATTN_BK apart) = 2^(u - m) (0 where not allowed). */
static inline __attribute__((always_inline)) void fwd_band(const attn_task *t, const attn_geom *a,
                                                           const float *empty, int masked, int i, int j0, int nb,
                                                           int R, int NV, int full, float *m, float *l,
                                                           float *alpha, float *p)
{
    __m512 acc[BAND][8];
    __mmask16 cm[8];
    const float *q = t->q + (size_t)i * t->ldq, *b = t->kt + j0;
    size_t ldq = t->ldq;
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++)
        cm[v] = full ? 0xffff : cols_mask(16 * v, nb);
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (int d = 0; d < a->Dk; d++) {
        __m512 x[BAND];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++)
            x[r] = _mm512_set1_ps(q[r * ldq + d]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            __m512 bv = in_register(full ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(cm[v], b + 16 * v));
#pragma GCC unroll 3
            for (int r = 0; r < R; r++)
                acc[r][v] = _mm512_fmadd_ps(x[r], bv, acc[r][v]);
        }
        b += a->Tk;
    }
    /* Row by row, but each step for the R rows together, so that their
     * reductions' latencies overlap: the row max (masked lanes -inf), then
     * p = 2^(u - m) (masked lanes 0) and the row sums.  A row with nothing
     * allowed yet (m = -inf; never when full) gets p = 0, alpha = 1. */
    __m512 ninf = _mm512_set1_ps(-INFINITY), vm[BAND], sum[BAND];
    __mmask16 mk[BAND][8];
#pragma GCC unroll 3
    for (int r = 0; r < R; r++) {
        __m512 y[8];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            mk[r][v] = 0xffff;
        if (!full)
            allowed(t, a, empty, masked, i + r, j0, nb, NV, mk[r]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            y[v] = full ? acc[r][v] : _mm512_mask_mov_ps(ninf, mk[r][v], acc[r][v]);
        vm[r] = tree_max(y, NV);
    }
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
        vm[r] = _mm512_max_ps(_mm512_set1_ps(m[r]), all_max(vm[r]));
#pragma GCC unroll 3
    for (int r = 0; r < R; r++) {
        __m512 y[8];
        float *pr = p + (size_t)r * ATTN_BK;
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            y[v] = exp2_16(mk[r][v], _mm512_sub_ps(acc[r][v], vm[r]), !full);
            _mm512_storeu_ps(pr + 16 * v, y[v]);
        }
        sum[r] = tree_sum(y, NV);
    }
#pragma GCC unroll 3
    for (int r = 0; r < R; r++) {
        float mnew = _mm512_cvtss_f32(vm[r]);
        float al = _mm512_cvtss_f32(exp2_16(0xffff, _mm512_sub_ps(_mm512_set1_ps(m[r]), vm[r]), 1)); /* m = -inf: 0 */
        alpha[r] = mnew == -INFINITY ? 1.0f : al;
        l[r] = l[r] * alpha[r] + _mm512_cvtss_f32(all_sum(sum[r]));
        m[r] = mnew;
    }
}

/* fwd_band for R rows and nb keys: NV the vectors nb needs (2, 4 or 8). */
static void fwd_band_any(const attn_task *t, const attn_geom *a, const float *empty, int masked, int i, int j0,
                         int nb, int R, float *m, float *l, float *alpha, float *p)
{
#define FB(R_, NV_, FULL_) fwd_band(t, a, empty, masked, i, j0, nb, R_, NV_, FULL_, m, l, alpha, p)
#define FB_NB(R_)                                                                                                      \
    do {                                                                                                               \
        if (nb == 128 && !masked)                                                                                      \
            FB(R_, 8, 1);                                                                                              \
        else if (nb > 64)                                                                                              \
            FB(R_, 8, 0);                                                                                              \
        else if (nb > 32)                                                                                              \
            FB(R_, 4, 0);                                                                                              \
        else                                                                                                           \
            FB(R_, 2, 0);                                                                                              \
    } while (0)
    switch (R) {
    case 3: FB_NB(3); break;
    case 2: FB_NB(2); break;
    default: FB_NB(1); break;
    }
#undef FB_NB
#undef FB
}

/* log2(x) for positive normal x: x = f 2^e with f in [0.75, 1.5), and
 * log2(f) = 2 atanh(z) / ln 2 with z = (f - 1) / (f + 1), |z| <= 0.2, by
 * its series to z^9 (relative error below 2e-9). */
static inline __m512 log2_16(__m512 x)
{
    __m512 f = _mm512_getmant_ps(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_zero);
    __m512 e = _mm512_getexp_ps(_mm512_div_ps(x, f)); /* x / f = 2^e exactly */
    __m512 z = _mm512_div_ps(_mm512_sub_ps(f, _mm512_set1_ps(1.0f)), _mm512_add_ps(f, _mm512_set1_ps(1.0f)));
    __m512 z2 = _mm512_mul_ps(z, z), s = _mm512_set1_ps(1.0f / 9);
    s = _mm512_fmadd_ps(s, z2, _mm512_set1_ps(1.0f / 7));
    s = _mm512_fmadd_ps(s, z2, _mm512_set1_ps(1.0f / 5));
    s = _mm512_fmadd_ps(s, z2, _mm512_set1_ps(1.0f / 3));
    s = _mm512_fmadd_ps(s, z2, _mm512_set1_ps(1.0f));
    return _mm512_fmadd_ps(_mm512_mul_ps(z, s), _mm512_set1_ps(2.0f * 1.44269504088896341f), e);
}

/* For the `rows` (<= 16) rows whose keys are all seen: inv = 1 / l and
 * lse2 = m + log2(l), or 0 and +inf where l = 0. */
static void row_stats(int rows, const float *m, const float *l, float *inv, float *lse2)
{
    __mmask16 k = cols_mask(0, rows);
    __m512 vl = _mm512_maskz_loadu_ps(k, l), vm = _mm512_maskz_loadu_ps(k, m);
    __mmask16 pos = _mm512_mask_cmp_ps_mask(k, vl, _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 one = _mm512_set1_ps(1.0f), safe = _mm512_mask_mov_ps(one, pos, vl); /* no log or 1/x of 0 */
    _mm512_mask_storeu_ps(inv, k, _mm512_maskz_div_ps(pos, one, safe));
    _mm512_mask_storeu_ps(lse2, k,
                          _mm512_mask_add_ps(_mm512_set1_ps(INFINITY), pos, vm, log2_16(safe)));
}

/* The keys rows [i0, i1) need: up to the last row's diagonal when causal
 * and none of them attends to all, else all. */
static int keys_needed(const attn_task *t, const attn_geom *a, const float *empty, int i0, int i1)
{
    if (!t->causal)
        return a->Tk;
    for (int i = i0; i < i1; i++)
        if (empty[i] != 0.0f)
            return a->Tk;
    return i1 < a->Tk ? i1 : a->Tk;
}

/* The task's k transposed into kt (Dk x Tk) and scaled by scale log2(e),
 * so that q kt is the scores in base 2; and its v transposed into vt. */
static attn_task transposed(const attn_task *t, const attn_geom *a, const attn_scratch *w, int with_v)
{
    attn_task tt = *t;
    size_t n = (size_t)a->Dk * a->Tk, e = 0;
    dc_transpose(t->k, t->ldk, a->Tk, a->Dk, w->kt, (size_t)a->Tk);
    __m512 vs = _mm512_set1_ps(t->scale * 1.44269504088896341f);
    for (; e + 16 <= n; e += 16)
        _mm512_storeu_ps(w->kt + e, _mm512_mul_ps(vs, _mm512_loadu_ps(w->kt + e)));
    for (; e < n; e++)
        w->kt[e] *= t->scale * 1.44269504088896341f;
    tt.kt = w->kt;
    if (with_v) {
        dc_transpose(t->v, t->ldv, a->Tk, a->Dv, w->vt, (size_t)a->Tk);
        tt.vt = w->vt;
    }
    return tt;
}

int dc_attn_forward_avx512(const attn_task *task, const attn_geom *a, const float *empty, float *out, size_t ldo,
                           float *lse2, const attn_scratch *w)
{
    attn_task tt = transposed(task, a, w, 0);
    const attn_task *t = &tt;
    int dv = a->Dv;
    for (int i0 = 0; i0 < a->Tq; i0 += ATTN_BQ) {
        int nq = a->Tq - i0 < ATTN_BQ ? a->Tq - i0 : ATTN_BQ;
        for (int r = 0; r < nq; r++) {
            w->m[r] = -INFINITY;
            w->l[r] = 0.0f;
        }
        for (int j0 = 0; j0 < a->Tk && dc_attn_block_needed(t, empty, i0, i0 + nq, j0); j0 += ATTN_BK) {
            int nb = a->Tk - j0 < ATTN_BK ? a->Tk - j0 : ATTN_BK;
            for (int s0 = 0; s0 < nq; s0 += SUB) { /* 12 queries: their scores band by band, then p v */
                int rows = nq - s0 < SUB ? nq - s0 : SUB, i = i0 + s0, end = keys_needed(t, a, empty, i, i + rows);
                if (j0 >= end)
                    continue;
                int masked = !all_allowed(t, i, j0 + nb), first = j0 == 0, final = j0 + nb >= end;
                float *m = w->m + s0, *l = w->l + s0, *alpha = w->alpha + s0, *inv = w->inv + s0;
                for (int r = 0; r < rows; r += BAND)
                    fwd_band_any(t, a, empty, masked, i + r, j0, nb, rows - r < BAND ? rows - r : BAND, m + r, l + r,
                                 alpha + r, w->p + (size_t)r * ATTN_BK);
                if (final) /* l = 0: no allowed key (empty_zero only), output 0, lse2 +inf */
                    row_stats(rows, m, l, inv, lse2 + i);
                /* acc = alpha acc + p v; the last block: out = that / l */
                float *acc = w->acc + (size_t)s0 * dv;
                product_rows(w->p, rows, dv, nb, t->v + (size_t)j0 * t->ldv, t->ldv, first ? 0 : 2, acc, (size_t)dv,
                             alpha, final ? out + (size_t)i * ldo : acc, final ? ldo : (size_t)dv,
                             final ? inv : NULL);
            }
        }
    }
    return 1;
}

/* ---- backward ---- */

/* Rows [i, i + R) against keys [j0, j0 + nb) (NV vectors, full as in
 * fwd_band): u = q kt (the scores in base 2) in registers, p = 2^(u -
 * lse2) into p's rows (ATTN_BK apart); then dp = dout v^T in the same
 * registers, and ds = scale p (dp - delta) into ds's rows, p read back from
 * L1 (two passes of 24 accumulators: fewer loads per FMA than s and dp of
 * 64 keys side by side). */
static inline __attribute__((always_inline)) void bwd_band(const attn_task *t, const attn_geom *a,
                                                           const float *empty, int masked, int i, int j0, int nb,
                                                           int R, int NV, int full, const float *gout, size_t ldo,
                                                           const float *lse2, const float *delta, float *p, float *ds)
{
    __m512 acc[BAND][8];
    __mmask16 cm[8];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++)
        cm[v] = full ? 0xffff : cols_mask(16 * v, nb);
    for (int pass = 0; pass < 2; pass++) { /* 0: s and p, 1: dp and ds */
        const float *x = pass ? gout + (size_t)i * ldo : t->q + (size_t)i * t->ldq, *b = (pass ? t->vt : t->kt) + j0;
        size_t ldx = pass ? ldo : t->ldq;
        int depth = pass ? a->Dv : a->Dk;
#pragma GCC unroll 3
        for (int r = 0; r < R; r++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_setzero_ps();
        for (int d = 0; d < depth; d++) {
            __m512 xr[BAND];
#pragma GCC unroll 3
            for (int r = 0; r < R; r++)
                xr[r] = _mm512_set1_ps(x[r * ldx + d]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                __m512 bv =
                    in_register(full ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(cm[v], b + 16 * v));
#pragma GCC unroll 3
                for (int r = 0; r < R; r++)
                    acc[r][v] = _mm512_fmadd_ps(xr[r], bv, acc[r][v]);
            }
            b += a->Tk;
        }
        __m512 vs = _mm512_set1_ps(t->scale);
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) {
            float *pr = p + (size_t)r * ATTN_BK, *dr = ds + (size_t)r * ATTN_BK;
            if (pass) {
                __m512 vd = _mm512_set1_ps(t->scale * delta[i + r]);
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++)
                    _mm512_storeu_ps(dr + 16 * v,
                                     _mm512_mul_ps(_mm512_loadu_ps(pr + 16 * v), _mm512_fmsub_ps(acc[r][v], vs, vd)));
                continue;
            }
            __mmask16 mk[8];
            allowed(t, a, empty, masked, i + r, j0, nb, NV, mk);
            __m512 vl = _mm512_set1_ps(lse2[i + r]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) /* masked, empty_zero's rows: 0 */
                _mm512_storeu_ps(pr + 16 * v, exp2_16(mk[v], _mm512_sub_ps(acc[r][v], vl), !full));
        }
    }
}

/* bwd_band for R rows and nb keys: NV the vectors nb needs (2, 4 or 8). */
static void bwd_band_any(const attn_task *t, const attn_geom *a, const float *empty, int masked, int i, int j0,
                         int nb, int R, const float *gout, size_t ldo, const float *lse2, const float *delta,
                         float *p, float *ds)
{
#define BB(R_, NV_, FULL_) bwd_band(t, a, empty, masked, i, j0, nb, R_, NV_, FULL_, gout, ldo, lse2, delta, p, ds)
#define BB_NB(R_)                                                                                                      \
    do {                                                                                                               \
        if (nb == 128 && !masked)                                                                                      \
            BB(R_, 8, 1);                                                                                              \
        else if (nb > 64)                                                                                              \
            BB(R_, 8, 0);                                                                                              \
        else if (nb > 32)                                                                                              \
            BB(R_, 4, 0);                                                                                              \
        else                                                                                                           \
            BB(R_, 2, 0);                                                                                              \
    } while (0)
    switch (R) {
    case 3: BB_NB(3); break;
    case 2: BB_NB(2); break;
    default: BB_NB(1); break;
    }
#undef BB_NB
#undef BB
}

/* Zeroes `rows` rows of `cols` floats, `ld` apart. */
static void zero_rows(float *dst, int rows, size_t ld, int cols)
{
    for (int r = 0; r < rows; r++)
        memset(dst + (size_t)r * ld, 0, (size_t)cols * sizeof(float));
}

int dc_attn_backward_avx512(const attn_task *task, const attn_geom *a, const float *empty, const float *lse2,
                            const float *delta, const attn_grads *g, const attn_scratch *w)
{
    attn_task tt = transposed(task, a, w, 1);
    const attn_task *t = &tt;
    int dk = a->Dk, dv = a->Dv;
    for (int j0 = 0; j0 < a->Tk; j0 += ATTN_BK) {
        int nb = a->Tk - j0 < ATTN_BK ? a->Tk - j0 : ATTN_BK, first = 1;
        for (int i0 = 0; i0 < a->Tq; i0 += ATTN_BQ) {
            int nq = a->Tq - i0 < ATTN_BQ ? a->Tq - i0 : ATTN_BQ;
            if (!dc_attn_block_needed(t, empty, i0, i0 + nq, j0))
                continue;
            for (int s0 = 0; s0 < nq; s0 += SUB) { /* 12 queries: their bands, then their dq while ds is in L1 */
                int rows = nq - s0 < SUB ? nq - s0 : SUB;
                for (int r = s0; r < s0 + rows; r += BAND) {
                    int i = i0 + r, R = s0 + rows - r < BAND ? s0 + rows - r : BAND;
                    bwd_band_any(t, a, empty, !all_allowed(t, i, j0 + nb), i, j0, nb, R, g->gout, g->ldo, lse2, delta,
                                 w->p + (size_t)r * ATTN_BK, w->ds + (size_t)r * ATTN_BK);
                }
                if (g->q) { /* dq_i += scale sum_j ds_ij k_j; every query sees the first key block */
                    float *gq = g->q + (size_t)(i0 + s0) * t->ldq;
                    product_rows(w->ds + (size_t)s0 * ATTN_BK, rows, dk, nb, t->k + (size_t)j0 * t->ldk, t->ldk,
                                 j0 == 0 && g->zero_q ? 0 : 1, gq, t->ldq, NULL, gq, t->ldq, NULL);
                }
            }
            const float *gob = g->gout + (size_t)i0 * g->ldo;
            if (g->v) /* dv_j += sum_i p_ij dout_i */
                product_cols(w->p, nb, dv, nq, gob, g->ldo, first && g->zero_v ? 0 : 1, g->v + (size_t)j0 * t->ldv,
                             t->ldv);
            if (g->k) /* dk_j += scale sum_i ds_ij q_i (ds holds the scale) */
                product_cols(w->ds, nb, dk, nq, t->q + (size_t)i0 * t->ldq, t->ldq, first && g->zero_k ? 0 : 1,
                             g->k + (size_t)j0 * t->ldk, t->ldk);
            first = 0;
        }
        if (first && g->v && g->zero_v) /* keys no query reaches (causal, Tk > Tq) */
            zero_rows(g->v + (size_t)j0 * t->ldv, nb, t->ldv, dv);
        if (first && g->k && g->zero_k)
            zero_rows(g->k + (size_t)j0 * t->ldk, nb, t->ldk, dk);
    }
    return 1;
}

#else

int dc_attn_forward_avx512(const attn_task *t, const attn_geom *a, const float *empty, float *out, size_t ldo,
                           float *lse2, const attn_scratch *w)
{
    (void)t, (void)a, (void)empty, (void)out, (void)ldo, (void)lse2, (void)w;
    return 0;
}

int dc_attn_backward_avx512(const attn_task *t, const attn_geom *a, const float *empty, const float *lse2,
                            const float *delta, const attn_grads *g, const attn_scratch *w)
{
    (void)t, (void)a, (void)empty, (void)lse2, (void)delta, (void)g, (void)w;
    return 0;
}

#endif
