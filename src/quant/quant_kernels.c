/*
 * quant_kernels.c - the int8 arithmetic of the quantized layers: the u8 x s8
 * dot products (portable C, and AVX-512 VNNI chosen at run time), TFLite's
 * fixed-point requantization, input quantization and the packed layout's
 * views (quant.h).
 *
 * Integer sums are exact, so both dot-product paths give the same int32s
 * (tests/test_quantize.c compares them on every shape class: K a multiple
 * of 64 or not, U a multiple of 4 or not).  The VNNI path is compiled with
 * a target attribute, so a build for any x86-64 carries it and a CPU
 * without VNNI (checked once per call with __builtin_cpu_supports) runs the
 * portable path.
 */
#include "quant/quant.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DQ_X86 1
#endif

size_t dq_packed_bytes(int U, int K)
{
    size_t Kp = ((size_t)K + 3) & ~(size_t)3;
    return sizeof(dq_header) + (size_t)U * (4 * sizeof(int32_t)) + (size_t)U * Kp;
}

int dq_view(const void *p, dq_layer *q)
{
    const dq_header *h = p;
    if (!p || h->magic != DQ_MAGIC)
        return 1;
    const char *b = (const char *)p + sizeof *h;
    size_t U = (size_t)h->U;
    q->h = h;
    q->m0 = (const int32_t *)(const void *)b;
    q->shift = q->m0 + U;
    q->bias = q->shift + U;
    q->wsum = q->bias + U;
    q->w = (const int8_t *)(const void *)(q->wsum + U);
    q->wt = NULL;
    return 0;
}

size_t dq_tiled_bytes(int U, int Kp) { return (((size_t)U + 15) & ~(size_t)15) * (size_t)Kp; }

void dq_tile(const int8_t *w, int U, int Kp, int8_t *wt)
{
    int G = Kp / 4;
    for (int j0 = 0; j0 < U; j0 += 16)
        for (int g = 0; g < G; g++)
            for (int o = 0; o < 16; o++)
                for (int t = 0; t < 4; t++)
                    *wt++ = j0 + o < U ? w[(size_t)(j0 + o) * Kp + 4 * g + t] : 0;
}

int dq_view_sized(const void *p, size_t bytes, dq_layer *q)
{
    if (dq_view(p, q))
        return 1;
    size_t base = dq_packed_bytes(q->h->U, q->h->K);
    if (bytes >= base + dq_tiled_bytes(q->h->U, q->h->Kp))
        q->wt = (const int8_t *)p + base;
    return 0;
}

void dq_quantize_multiplier(double m, int32_t *m0, int32_t *shift)
{
    if (m <= 0.0) {
        *m0 = 0;
        *shift = 0;
        return;
    }
    int e;
    double q = frexp(m, &e);
    int64_t f = (int64_t)llround(q * (double)(1LL << 31));
    if (f == (1LL << 31)) {
        f /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        f = 0;
    }
    *m0 = (int32_t)f;
    *shift = e;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT. */
static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

static int32_t rdbpot(int32_t x, int e)
{
    int32_t mask = (int32_t)((1LL << e) - 1), rem = x & mask, thr = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (rem > thr ? 1 : 0);
}

int32_t dq_requantize(int32_t acc, int32_t m0, int32_t shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t v = (int64_t)acc * ((int64_t)1 << left);
    int32_t x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
    return rdbpot(srdhm(x, m0), right > 31 ? 31 : right);
}

void dq_quantize_row_scalar(const float *x, size_t n, float inv_scale, int32_t zp, uint8_t *out)
{
    for (size_t k = 0; k < n; k++)
        out[k] = dq_quantize_u8(x[k], inv_scale, zp);
}

#ifdef DQ_X86
/* dq_quantize_u8 16 values at a time, step for step: the product, the
 * clamp to [-256, 256] (max_ps gives its second operand for a NaN, so NaN
 * becomes -256 as there), truncation, the exact fraction deciding the
 * rounding away from zero, the zero point, the clamp, + 128. */
__attribute__((target("avx512f,avx512vl,avx512bw"))) static void quantize_row_avx512(const float *x, size_t n,
                                                                              float inv_scale, int32_t zp,
                                                                              uint8_t *out)
{
    const __m512 inv = _mm512_set1_ps(inv_scale), lo = _mm512_set1_ps(-256.0f), hi = _mm512_set1_ps(256.0f),
                 half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
    const __m512i one = _mm512_set1_epi32(1), z = _mm512_set1_epi32(zp), qlo = _mm512_set1_epi32(-128),
                  qhi = _mm512_set1_epi32(127), off = _mm512_set1_epi32(128);
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - k)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), inv);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        __m512i i = _mm512_cvttps_epi32(v);
        __m512 f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(i));
        i = _mm512_mask_add_epi32(i, _mm512_cmp_ps_mask(f, half, _CMP_GE_OQ), i, one);
        i = _mm512_mask_sub_epi32(i, _mm512_cmp_ps_mask(f, mhalf, _CMP_LE_OQ), i, one);
        i = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(i, z), qlo), qhi);
        _mm_mask_storeu_epi8(out + k, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(i, off)));
    }
}
#endif

void dq_quantize_row(const float *x, size_t n, float inv_scale, int32_t zp, uint8_t *out)
{
#ifdef DQ_X86
    if (dq_have_vnni()) {
        quantize_row_avx512(x, n, inv_scale, zp, out);
        return;
    }
#endif
    dq_quantize_row_scalar(x, n, inv_scale, zp, out);
}

/* Output j's int8 value: the accumulator requantized, the zero point, the clamp. */
static inline int32_t finish_one(const dq_layer *q, const int32_t *dot, int j, int32_t lo, int32_t xzp)
{
    int32_t acc = q->bias[j] + dot[j] - xzp * q->wsum[j];
    int32_t v = dq_requantize(acc, q->m0[j], q->shift[j]) + q->h->out_zp;
    return v < lo ? lo : v > 127 ? 127 : v;
}

void dq_finish_row(const dq_layer *q, const int32_t *dot, float *y)
{
    const dq_header *h = q->h;
    int32_t lo = h->relu && h->out_zp > -128 ? h->out_zp : -128, xzp = 128 + h->in_zp;
    for (int j = 0; j < h->U; j++)
        y[j] = (float)(finish_one(q, dot, j, lo, xzp) - h->out_zp) * h->out_scale;
}

void dq_finish_row_u8(const dq_layer *q, const int32_t *dot, uint8_t *y)
{
    const dq_header *h = q->h;
    int32_t lo = h->relu && h->out_zp > -128 ? h->out_zp : -128, xzp = 128 + h->in_zp;
    for (int j = 0; j < h->U; j++)
        y[j] = (uint8_t)(finish_one(q, dot, j, lo, xzp) + 128);
}

void dq_dot_rows_portable(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out)
{
    for (int j = 0; j < U; j++) {
        const int8_t *wr = w + (size_t)j * Kp;
        int32_t s = 0;
        for (int k = 0; k < Kp; k++)
            s += (int32_t)xu[k] * (int32_t)wr[k];
        out[j] = s;
    }
}

#ifdef DQ_X86
/* Four output rows at a time: 64 bytes of x (u8) against 64 of each row
 * (s8), vpdpbusd adding groups of four products into 16 int32 lanes; the
 * tail of a row is a masked load (zeros beyond Kp). */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void dq_dot_rows_vnni(const uint8_t *xu, const int8_t *w,
                                                                             int U, int Kp, int32_t *out)
{
    int j = 0;
    for (; j + 4 <= U; j += 4) {
        const int8_t *w0 = w + (size_t)j * Kp, *w1 = w0 + Kp, *w2 = w1 + Kp, *w3 = w2 + Kp;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < Kp; k += 64) {
            __mmask64 m = Kp - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (Kp - k)) - 1);
            __m512i x = _mm512_maskz_loadu_epi8(m, xu + k);
            a0 = _mm512_dpbusd_epi32(a0, x, _mm512_maskz_loadu_epi8(m, w0 + k));
            a1 = _mm512_dpbusd_epi32(a1, x, _mm512_maskz_loadu_epi8(m, w1 + k));
            a2 = _mm512_dpbusd_epi32(a2, x, _mm512_maskz_loadu_epi8(m, w2 + k));
            a3 = _mm512_dpbusd_epi32(a3, x, _mm512_maskz_loadu_epi8(m, w3 + k));
        }
        out[j] = _mm512_reduce_add_epi32(a0);
        out[j + 1] = _mm512_reduce_add_epi32(a1);
        out[j + 2] = _mm512_reduce_add_epi32(a2);
        out[j + 3] = _mm512_reduce_add_epi32(a3);
    }
    for (; j < U; j++) {
        const int8_t *wr = w + (size_t)j * Kp;
        __m512i a = _mm512_setzero_si512();
        for (int k = 0; k < Kp; k += 64) {
            __mmask64 m = Kp - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (Kp - k)) - 1);
            a = _mm512_dpbusd_epi32(a, _mm512_maskz_loadu_epi8(m, xu + k), _mm512_maskz_loadu_epi8(m, wr + k));
        }
        out[j] = _mm512_reduce_add_epi32(a);
    }
}

/* 16 outputs per block, their sums in the 16 lanes of one register; four
 * accumulators over the groups (g mod 4) so the vpdpbusd chains overlap. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void dq_dot_tiled_vnni(const uint8_t *xu, const int8_t *wt,
                                                                              int U, int Kp, int32_t *out)
{
    int G = Kp / 4;
    for (int j = 0; j < U; j += 16) {
        const int8_t *b = wt + (size_t)j * Kp;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        int g = 0;
        for (; g + 4 <= G; g += 4) {
            int32_t x4[4];
            memcpy(x4, xu + 4 * g, sizeof x4);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32(x4[0]), _mm512_loadu_si512(b + 64 * g));
            a1 = _mm512_dpbusd_epi32(a1, _mm512_set1_epi32(x4[1]), _mm512_loadu_si512(b + 64 * g + 64));
            a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32(x4[2]), _mm512_loadu_si512(b + 64 * g + 128));
            a3 = _mm512_dpbusd_epi32(a3, _mm512_set1_epi32(x4[3]), _mm512_loadu_si512(b + 64 * g + 192));
        }
        for (; g < G; g++) {
            int32_t x1;
            memcpy(&x1, xu + 4 * g, sizeof x1);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32(x1), _mm512_loadu_si512(b + 64 * g));
        }
        __m512i sum = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
        if (U - j >= 16)
            _mm512_storeu_si512(out + j, sum);
        else
            _mm512_mask_storeu_epi32(out + j, (__mmask16)((1u << (U - j)) - 1), sum);
    }
}

/* dq_finish_row eight outputs at a time in 64-bit lanes: every step is the
 * scalar one's (the left shift saturated to int32, the product m0 * x in
 * 64 bits plus the nudge, the division by 2^31 toward zero, the rounding
 * right shift, the zero point, the clamp), so the outputs are the same
 * bits (test_quantize compares them).  finish8: outputs j .. j + 7 (mask m)
 * as int32, clamped, zero point included. */
#define DQ_AVX512_FINISH __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
DQ_AVX512_FINISH static inline __m256i finish8(const dq_layer *q, const int32_t *dot, int j, __mmask8 m, __m512i xz,
                                               __m512i zp, __m512i vlo)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1), i32max = _mm512_set1_epi64(INT32_MAX),
                  i32min = _mm512_set1_epi64(INT32_MIN), n31 = _mm512_set1_epi64(31),
                  pos_nudge = _mm512_set1_epi64(1LL << 30), neg_nudge = _mm512_set1_epi64(1 - (1LL << 30)),
                  toward0 = _mm512_set1_epi64((1LL << 31) - 1), vhi = _mm512_set1_epi64(127);
#define DQ_LOAD(p) _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(m, (p) + j))
    __m512i acc = _mm512_sub_epi64(_mm512_add_epi64(DQ_LOAD(q->bias), DQ_LOAD(dot)),
                                   _mm512_mullo_epi64(xz, DQ_LOAD(q->wsum)));
    __m512i shift = DQ_LOAD(q->shift), m0 = DQ_LOAD(q->m0);
#undef DQ_LOAD
    __m512i left = _mm512_max_epi64(shift, zero), right = _mm512_min_epi64(_mm512_sub_epi64(zero, shift), n31);
    right = _mm512_max_epi64(right, zero);
    __m512i x = _mm512_min_epi64(_mm512_max_epi64(_mm512_sllv_epi64(acc, left), i32min), i32max);
    __m512i ab = _mm512_mul_epi32(x, m0); /* signed 32 x 32 -> 64 of the low halves */
    __mmask8 neg = _mm512_cmplt_epi64_mask(ab, zero);
    __m512i sum = _mm512_add_epi64(ab, _mm512_mask_blend_epi64(neg, pos_nudge, neg_nudge));
    neg = _mm512_cmplt_epi64_mask(sum, zero);
    __m512i r = _mm512_srai_epi64(_mm512_mask_add_epi64(sum, neg, sum, toward0), 31);
    __m512i mask = _mm512_sub_epi64(_mm512_sllv_epi64(one, right), one);
    __m512i rem = _mm512_and_si512(r, mask);
    __m512i thr = _mm512_add_epi64(_mm512_srai_epi64(mask, 1),
                                   _mm512_maskz_mov_epi64(_mm512_cmplt_epi64_mask(r, zero), one));
    __m512i v = _mm512_add_epi64(_mm512_srav_epi64(r, right),
                                 _mm512_maskz_mov_epi64(_mm512_cmpgt_epi64_mask(rem, thr), one));
    v = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(v, zp), vlo), vhi);
    return _mm512_cvtepi64_epi32(v);
}

DQ_AVX512_FINISH void dq_finish_row_avx512(const dq_layer *q, const int32_t *dot, float *y)
{
    const dq_header *h = q->h;
    int32_t lo = h->relu && h->out_zp > -128 ? h->out_zp : -128, xzp = 128 + h->in_zp;
    const __m512i xz = _mm512_set1_epi64(xzp), zp = _mm512_set1_epi64(h->out_zp), vlo = _mm512_set1_epi64(lo);
    const __m256 scale = _mm256_set1_ps(h->out_scale);
    const __m256i zp32 = _mm256_set1_epi32(h->out_zp);
    for (int j = 0; j < h->U; j += 8) {
        __mmask8 m = h->U - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (h->U - j)) - 1);
        __m256i v = finish8(q, dot, j, m, xz, zp, vlo);
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp32)), scale);
        _mm256_mask_storeu_ps(y + j, m, f);
    }
}

/* The high product of srdhm for the int32 lanes whose 64-bit lane is ab
 * (x * m0 of the low halves): the nudge, the division by 2^31 toward zero;
 * the int32 result in the low half. */
DQ_AVX512_FINISH static inline __m512i srdhm64(__m512i ab)
{
    const __m512i zero = _mm512_setzero_si512(), pos_nudge = _mm512_set1_epi64(1LL << 30),
                  neg_nudge = _mm512_set1_epi64(1 - (1LL << 30)), toward0 = _mm512_set1_epi64((1LL << 31) - 1);
    __m512i sum = _mm512_add_epi64(ab, _mm512_mask_blend_epi64(_mm512_cmplt_epi64_mask(ab, zero), pos_nudge, neg_nudge));
    return _mm512_srai_epi64(_mm512_mask_add_epi64(sum, _mm512_cmplt_epi64_mask(sum, zero), sum, toward0), 31);
}

/* Sixteen outputs j .. j + 15 (mask m) as bytes when none of their shifts
 * is positive (a multiplier below 1, the usual case: no left shift, so the
 * accumulator is x as it is): the accumulator in int32 as the scalar code
 * has it, the 64-bit products of the even and the odd lanes, then the
 * rounding right shift, zero point and clamp in int32 lanes; else 0. */
DQ_AVX512_FINISH static inline int finish16_u8(const dq_layer *q, const int32_t *dot, int j, __mmask16 m, int32_t xzp,
                                                int32_t lo, uint8_t *y)
{
    __m512i shift = _mm512_maskz_loadu_epi32(m, q->shift + j), zero = _mm512_setzero_si512();
    if (_mm512_cmpgt_epi32_mask(shift, zero))
        return 0;
    __m512i acc = _mm512_sub_epi32(_mm512_add_epi32(_mm512_maskz_loadu_epi32(m, q->bias + j),
                                                    _mm512_maskz_loadu_epi32(m, dot + j)),
                                   _mm512_mullo_epi32(_mm512_set1_epi32(xzp), _mm512_maskz_loadu_epi32(m, q->wsum + j)));
    __m512i m0 = _mm512_maskz_loadu_epi32(m, q->m0 + j);
    __m512i even = srdhm64(_mm512_mul_epi32(acc, m0));
    __m512i odd = srdhm64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), _mm512_srli_epi64(m0, 32)));
    __m512i hi = _mm512_mask_blend_epi32((__mmask16)0xAAAA, even, _mm512_slli_epi64(odd, 32));
    __m512i right = _mm512_min_epi32(_mm512_sub_epi32(zero, shift), _mm512_set1_epi32(31)), one = _mm512_set1_epi32(1);
    __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one), rem = _mm512_and_si512(hi, mask);
    __m512i thr = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_maskz_mov_epi32(_mm512_cmplt_epi32_mask(hi, zero), one));
    __m512i v = _mm512_add_epi32(_mm512_srav_epi32(hi, right), _mm512_maskz_mov_epi32(_mm512_cmpgt_epi32_mask(rem, thr), one));
    v = _mm512_add_epi32(v, _mm512_set1_epi32(q->h->out_zp));
    v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(lo)), _mm512_set1_epi32(127));
    _mm_mask_storeu_epi8(y + j, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(v, _mm512_set1_epi32(128))));
    return 1;
}

DQ_AVX512_FINISH void dq_finish_row_u8_avx512(const dq_layer *q, const int32_t *dot, uint8_t *y)
{
    const dq_header *h = q->h;
    int32_t lo = h->relu && h->out_zp > -128 ? h->out_zp : -128, xzp = 128 + h->in_zp;
    const __m512i xz = _mm512_set1_epi64(xzp), zp = _mm512_set1_epi64(h->out_zp), vlo = _mm512_set1_epi64(lo);
    const __m256i off = _mm256_set1_epi32(128);
    for (int j = 0; j < h->U; j += 8) {
        if (!(j & 15)) { /* sixteen at once where the shifts allow */
            __mmask16 m16 = h->U - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (h->U - j)) - 1);
            if (finish16_u8(q, dot, j, m16, xzp, lo, y)) {
                j += 8;
                continue;
            }
        }
        __mmask8 m = h->U - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (h->U - j)) - 1);
        __m256i v = _mm256_add_epi32(finish8(q, dot, j, m, xz, zp, vlo), off);
        _mm_mask_storeu_epi8(y + j, (__mmask16)m, _mm256_cvtepi32_epi8(v));
    }
}

/* Four input rows (xu, xu + Kp, ...) at once, against up to four blocks
 * of 16 outputs per pass: 16 accumulators in registers, each 64-byte
 * group of weights loaded once for the four rows and each row's 4 input
 * bytes broadcast once for the blocks (8 loads per 16 vpdpbusd, 16
 * independent chains); out holds 4 rows of U. */
#define DQ_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define DQ_STORE4(a, jb)                                                                                              \
    do {                                                                                                              \
        int j_ = (jb);                                                                                                \
        __mmask16 m_ = U - j_ >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (U - j_)) - 1);                        \
        _mm512_mask_storeu_epi32(out + j_, m_, a[0]);                                                                \
        _mm512_mask_storeu_epi32(out + U + j_, m_, a[1]);                                                            \
        _mm512_mask_storeu_epi32(out + 2 * U + j_, m_, a[2]);                                                        \
        _mm512_mask_storeu_epi32(out + 3 * U + j_, m_, a[3]);                                                        \
    } while (0)

DQ_VNNI void dq_dot_tiled_vnni4(const uint8_t *xu, const int8_t *wt, int U, int Kp, int32_t *out)
{
    int G = Kp / 4, j = 0;
    const uint8_t *x0 = xu, *x1 = xu + Kp, *x2 = x1 + Kp, *x3 = x2 + Kp;
    for (; j + 64 <= ((U + 15) & ~15); j += 64) { /* four blocks */
        const int8_t *b0 = wt + (size_t)j * Kp, *b1 = b0 + (size_t)16 * Kp, *b2 = b1 + (size_t)16 * Kp,
                     *b3 = b2 + (size_t)16 * Kp;
        __m512i a0[4], a1[4], a2[4], a3[4];
        for (int r = 0; r < 4; r++)
            a0[r] = a1[r] = a2[r] = a3[r] = _mm512_setzero_si512();
        for (int g = 0; g < G; g++) {
            int32_t v[4];
            memcpy(&v[0], x0 + 4 * g, 4);
            memcpy(&v[1], x1 + 4 * g, 4);
            memcpy(&v[2], x2 + 4 * g, 4);
            memcpy(&v[3], x3 + 4 * g, 4);
            __m512i w0 = _mm512_loadu_si512(b0 + 64 * g), w1 = _mm512_loadu_si512(b1 + 64 * g),
                    w2 = _mm512_loadu_si512(b2 + 64 * g), w3 = _mm512_loadu_si512(b3 + 64 * g);
            for (int r = 0; r < 4; r++) {
                __m512i x = _mm512_set1_epi32(v[r]);
                a0[r] = _mm512_dpbusd_epi32(a0[r], x, w0);
                a1[r] = _mm512_dpbusd_epi32(a1[r], x, w1);
                a2[r] = _mm512_dpbusd_epi32(a2[r], x, w2);
                a3[r] = _mm512_dpbusd_epi32(a3[r], x, w3);
            }
        }
        __m512i *a = a0;
        DQ_STORE4(a, j);
        a = a1;
        DQ_STORE4(a, j + 16);
        a = a2;
        DQ_STORE4(a, j + 32);
        a = a3;
        DQ_STORE4(a, j + 48);
    }
    for (; j < U; j += 16) { /* the blocks left, one at a time */
        const int8_t *b = wt + (size_t)j * Kp;
        __m512i a[4];
        for (int r = 0; r < 4; r++)
            a[r] = _mm512_setzero_si512();
        for (int g = 0; g < G; g++) {
            int32_t v[4];
            memcpy(&v[0], x0 + 4 * g, 4);
            memcpy(&v[1], x1 + 4 * g, 4);
            memcpy(&v[2], x2 + 4 * g, 4);
            memcpy(&v[3], x3 + 4 * g, 4);
            __m512i wv = _mm512_loadu_si512(b + 64 * g);
            for (int r = 0; r < 4; r++)
                a[r] = _mm512_dpbusd_epi32(a[r], _mm512_set1_epi32(v[r]), wv);
        }
        DQ_STORE4(a, j);
    }
}
#undef DQ_STORE4

int dq_have_vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#else
void dq_dot_rows_vnni(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out)
{
    dq_dot_rows_portable(xu, w, U, Kp, out);
}

void dq_finish_row_avx512(const dq_layer *q, const int32_t *dot, float *y) { dq_finish_row(q, dot, y); }

void dq_finish_row_u8_avx512(const dq_layer *q, const int32_t *dot, uint8_t *y) { dq_finish_row_u8(q, dot, y); }

void dq_dot_tiled_vnni4(const uint8_t *xu, const int8_t *wt, int U, int Kp, int32_t *out)
{
    (void)xu;
    (void)wt;
    (void)Kp;
    memset(out, 0, (size_t)4 * U * sizeof *out); /* never called: dq_have_vnni() is 0 here */
}

void dq_dot_tiled_vnni(const uint8_t *xu, const int8_t *wt, int U, int Kp, int32_t *out)
{
    (void)xu;
    (void)wt;
    (void)Kp;
    memset(out, 0, (size_t)U * sizeof *out); /* never called: dq_have_vnni() is 0 here */
}

int dq_have_vnni(void) { return 0; }
#endif

void dq_dot_rows(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out)
{
    if (dq_have_vnni())
        dq_dot_rows_vnni(xu, w, U, Kp, out);
    else
        dq_dot_rows_portable(xu, w, U, Kp, out);
}
