/*
 * gelu.h - the exact GELU (Keras' gelu(approximate=False)),
 * x * Phi(x) with Phi(x) = 0.5 * erfc(-x / sqrt 2), written so that loops
 * over it vectorise: glibc's erff is scalar, and was ~30% of a Transformer
 * encoder block's training step.
 *
 * Phi comes from erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), P of
 * degree 9 (the Chebyshev fit of Numerical Recipes' erfcc: relative error
 * of erfc below 1.05e-7 for every z >= 0), so Phi keeps a relative accuracy
 * on both sides (1 - erfc / 2 for x >= 0, erfc / 2 for x < 0: the negative
 * tail is not the cancelled 1 + erf(x) of erff's formula).  All in float32,
 * erfc(z) = t exp(P(t)) exp(-z^2): z^2 = x^2 / 2 is carried exactly as a sum
 * of two floats (an FMA gives x^2's rounding error), which gelu_expf takes
 * as hi + lo and reduces by ln 2 in two parts, so the tail's exp(-z^2) does
 * not lose the ~ulp(z^2) that a rounded exponent (or a rounded x / sqrt 2)
 * would; exp(-z^2) is then the derivative's density too.  After rounding GELU is within a
 * few ulp of the double reference and its derivative within a few ulp of
 * the size of its terms (tests/test_gelu.c: 5.8M floats in [-14, 14]).  NaN
 * stays NaN; +-inf give what erff gave (inf, NaN).
 */
#ifndef DEEPC_OPS_GELU_H
#define DEEPC_OPS_GELU_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define GELU_LN2_HI 0.693145751953125f  /* ln 2 to 16 bits: k * GELU_LN2_HI is exact for |k| < 2^8 */
#define GELU_LN2_LO 1.42860682030941723e-06f
#define GELU_RSQRT2 0.70710678118654752440f
#define GELU_RSQRT2PI 0.39894228040143267794f

/* The fit's polynomial P(t), Horner's rule. */
#define GELU_ERFC_POLY(T, FMA, SET)                                                                                   \
    FMA(FMA(FMA(FMA(FMA(FMA(FMA(FMA(FMA(SET(0.17087277f), T, SET(-0.82215223f)), T, SET(1.48851587f)), T,         \
                            SET(-1.13520398f)),                                                                      \
                        T, SET(0.27886807f)),                                                                        \
                    T, SET(-0.18628806f)),                                                                           \
                T, SET(0.09678418f)),                                                                                \
            T, SET(0.37409196f)),                                                                                    \
        T, SET(1.00002368f)),                                                                                        \
        T, SET(-1.26551223f))

/* exp(r) - 1 + 1 for |r| <= ~0.35 + |lo|: Taylor to r^7 (5e-9 relative at 0.35). */
#define GELU_EXP_POLY(R, FMA, SET)                                                                                    \
    FMA(FMA(FMA(FMA(FMA(FMA(FMA(SET(1.0f / 5040), R, SET(1.0f / 720)), R, SET(1.0f / 120)), R, SET(1.0f / 24)), R, \
                    SET(1.0f / 6)),                                                                                  \
                R, SET(0.5f)),                                                                                       \
            R, SET(1.0f)),                                                                                           \
        R, SET(1.0f))

/* Phi(x) - 1/2 = x Q(x^2) for |x| < 1, Q(u) = sum_n (-u / 2)^n / (n! (2n + 1)) / sqrt(2 pi)
 * to n = 8 (the next term is 3e-10): erf's Taylor series, free of the fit's
 * cancellation near t = 1 (P(1) ~ 0 from terms of size ~1.5). */
#define GELU_SMALL_POLY(U, FMA, SET)                                                                                  \
    FMA(FMA(FMA(FMA(FMA(FMA(FMA(FMA(SET(GELU_RSQRT2PI / 175472640.0f), U, SET(-GELU_RSQRT2PI / 9676800.0f)), U,     \
                                SET(GELU_RSQRT2PI / 599040.0f)),                                                     \
                            U, SET(-GELU_RSQRT2PI / 42240.0f)),                                                      \
                        U, SET(GELU_RSQRT2PI / 3456.0f)),                                                            \
                    U, SET(-GELU_RSQRT2PI / 336.0f)),                                                                \
                U, SET(GELU_RSQRT2PI / 40.0f)),                                                                      \
            U, SET(-GELU_RSQRT2PI / 6.0f)),                                                                          \
        U, SET(GELU_RSQRT2PI))

static inline float gelu_fma1(float a, float b, float c) { return a * b + c; }
static inline float gelu_set1(float a) { return a; }

/* exp(hi + lo) for hi <= 0, |lo| <= ~1e-5 |hi| + 1e-6: 0 below about -104.
 * 2^k as two normal factors, so the subnormal results need no ldexp. */
static inline float gelu_expf(float hi, float lo)
{
    float h = hi < -104.0f ? -104.0f : hi;
    float kf = nearbyintf(h * 1.44269504088896341f);
    float r = (h - kf * GELU_LN2_HI) - kf * GELU_LN2_LO + lo;
    float p = GELU_EXP_POLY(r, gelu_fma1, gelu_set1);
    int32_t k = (int32_t)kf, k1 = k / 2, k2 = k - k1;
    uint32_t b1 = (uint32_t)(k1 + 127) << 23, b2 = (uint32_t)(k2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return hi < -104.0f ? 0.0f : p * s1 * s2;
}

/* erfc(z) / 2 = *pre * *ez for z = |x| / sqrt 2 (at most 30: Phi's tail is
 * 0 in float there already), with *ez = exp(-z^2) from z^2 as a sum of two
 * floats.  Kept apart so that the tail multiplies x in before the tiny
 * factor: one rounding where the result goes subnormal. */
static inline void gelu_parts(float x, float *pre, float *ez)
{
    float z = fminf(fabsf(x) * GELU_RSQRT2, 30.0f); /* NaN -> 30: x * Phi stays NaN */
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = GELU_ERFC_POLY(t, gelu_fma1, gelu_set1);
    float xc = fminf(fabsf(x), 42.5f), xx = xc * xc, xl = fmaf(xc, xc, -xx); /* z^2 = x^2 / 2 exactly as xx / 2 + xl / 2 */
    *ez = gelu_expf(-0.5f * xx, -0.5f * xl);
    *pre = 0.5f * t * gelu_expf(p, 0.0f);
}

/* Phi(x) for |x| < 1. */
static inline float gelu_phi_small(float x) { return 0.5f + x * GELU_SMALL_POLY(x * x, gelu_fma1, gelu_set1); }

/* x * Phi(x): Keras' gelu(x, approximate=False). */
static inline float gelu_value(float x)
{
    float pre, ez;
    gelu_parts(x, &pre, &ez);
    if (fabsf(x) < 1.0f)
        return x * gelu_phi_small(x);
    return x < 0.0f ? x * pre * ez : x * (1.0f - pre * ez);
}

/* Its derivative Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi). */
static inline float gelu_deriv(float x)
{
    float pre, ez;
    gelu_parts(x, &pre, &ez);
    float xc = x * GELU_RSQRT2PI;
    if (fabsf(x) < 1.0f)
        return gelu_phi_small(x) + xc * ez;
    return x < 0.0f ? (pre + xc) * ez : 1.0f + (xc - pre) * ez;
}

/*
 * Whole arrays: y = gelu(x), and gx = gy * gelu'(x) (gx += with !set).  On
 * AVX-512 the same float arithmetic sixteen at a time, with t = 1 / (1 +
 * z / 2) by vrcp14ps and one Newton step (2^-28 relative, in place of a
 * vdivps) and 2^k by vscalefps (0 and the subnormals as they come).  In
 * double precision (the first version) the GELU was ~10% of an encoder
 * block's training step at one thread.
 */
#if defined(__AVX512F__)
#include <immintrin.h>

/* exp(hi + lo) for hi <= 0 (0 below about -104). */
static inline __m512 gelu_exp16(__m512 hi, __m512 lo)
{
    __m512 h = _mm512_max_ps(hi, _mm512_set1_ps(-104.0f));
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(h, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(GELU_LN2_HI), h);
    r = _mm512_add_ps(_mm512_fnmadd_ps(k, _mm512_set1_ps(GELU_LN2_LO), r), lo); /* lo: exact halves, contracted or not */
    __m512 p = GELU_EXP_POLY(r, _mm512_fmadd_ps, _mm512_set1_ps);
    return _mm512_scalef_ps(p, k);
}

/* gelu_parts for sixteen x; returns the mask of the negative ones. */
static inline __mmask16 gelu_parts16(__m512 x, __m512 *pre, __m512 *ez)
{
    __m512 z = _mm512_min_ps(_mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(GELU_RSQRT2)), _mm512_set1_ps(30.0f));
    __m512 d = _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)), one = _mm512_set1_ps(1.0f);
    __m512 t = _mm512_rcp14_ps(d);
    t = _mm512_fmadd_ps(t, _mm512_fnmadd_ps(d, t, one), t);
    __m512 p = GELU_ERFC_POLY(t, _mm512_fmadd_ps, _mm512_set1_ps);
    __m512 xc = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(42.5f)), zero = _mm512_setzero_ps();
    __m512 xx = _mm512_mul_ps(xc, xc), xl = _mm512_fmsub_ps(xc, xc, xx), mhalf = _mm512_set1_ps(-0.5f);
    *ez = gelu_exp16(_mm512_mul_ps(xx, mhalf), _mm512_mul_ps(xl, mhalf)); /* exp(-z^2), z^2 = x^2 / 2 exactly */
    *pre = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), t), gelu_exp16(p, zero));
    return _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
}

/* Phi(x) for |x| < 1 (sixteen x), and the mask of those x. */
static inline __m512 gelu_phi_small16(__m512 x, __mmask16 *small)
{
    *small = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(1.0f), _CMP_LT_OQ);
    __m512 q = GELU_SMALL_POLY(_mm512_mul_ps(x, x), _mm512_fmadd_ps, _mm512_set1_ps);
    return _mm512_fmadd_ps(x, q, _mm512_set1_ps(0.5f));
}

/* x * Phi(x) from the parts (phs: Phi for the lanes in `small`). */
static inline __m512 gelu_value16(__m512 x, __mmask16 neg, __m512 pre, __m512 ez, __mmask16 small, __m512 phs)
{
    __m512 tail = _mm512_mul_ps(_mm512_mul_ps(x, pre), ez);
    __m512 body = _mm512_mul_ps(x, _mm512_fnmadd_ps(pre, ez, _mm512_set1_ps(1.0f)));
    return _mm512_mask_blend_ps(small, _mm512_mask_blend_ps(neg, body, tail), _mm512_mul_ps(x, phs));
}

/* gelu'(x) from the parts. */
static inline __m512 gelu_deriv16(__m512 x, __mmask16 neg, __m512 pre, __m512 ez, __mmask16 small, __m512 phs)
{
    /* explicit FMAs throughout: the training forward's kept derivative and
     * the backward's must round alike, whatever the compiler contracts */
    __m512 c = _mm512_set1_ps(GELU_RSQRT2PI), xc = _mm512_mul_ps(x, c);
    __m512 tail = _mm512_mul_ps(_mm512_fmadd_ps(x, c, pre), ez);
    __m512 body = _mm512_fmadd_ps(_mm512_fmsub_ps(x, c, pre), ez, _mm512_set1_ps(1.0f));
    return _mm512_mask_blend_ps(small, _mm512_mask_blend_ps(neg, body, tail), _mm512_fmadd_ps(xc, ez, phs));
}

static inline __mmask16 gelu_mask(size_t i, size_t n)
{
    return n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
}

static inline void gelu_forward_n(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = gelu_mask(i, n);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i), pre, ez;
        __mmask16 neg = gelu_parts16(xv, &pre, &ez), small;
        __m512 phs = gelu_phi_small16(xv, &small);
        _mm512_mask_storeu_ps(y + i, m, gelu_value16(xv, neg, pre, ez, small, phs));
    }
}

/* y = gelu(x) and d = gelu'(x) in one pass (a training forward keeps d for
 * the backward: one Phi per element and step instead of two).  y may be x
 * (a GEMM's epilogue, in place on its tile). */
static inline void gelu_forward_deriv_n(const float *x, float *y, float *restrict d, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = gelu_mask(i, n);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i), pre, ez;
        __mmask16 neg = gelu_parts16(xv, &pre, &ez), small;
        __m512 phs = gelu_phi_small16(xv, &small); /* once for both */
        _mm512_mask_storeu_ps(y + i, m, gelu_value16(xv, neg, pre, ez, small, phs));
        _mm512_mask_storeu_ps(d + i, m, gelu_deriv16(xv, neg, pre, ez, small, phs));
    }
}

static inline void gelu_backward_n(const float *restrict x, const float *restrict gy, float *restrict gx, size_t n,
                                   int set)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = gelu_mask(i, n);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i), pre, ez;
        __mmask16 neg = gelu_parts16(xv, &pre, &ez), small;
        __m512 phs = gelu_phi_small16(xv, &small);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gy + i), gelu_deriv16(xv, neg, pre, ez, small, phs));
        if (!set)
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, gx + i), v);
        _mm512_mask_storeu_ps(gx + i, m, v);
    }
}
#else
static inline void gelu_forward_n(const float *restrict x, float *restrict y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y[i] = gelu_value(x[i]);
}

static inline void gelu_forward_deriv_n(const float *restrict x, float *restrict y, float *restrict d, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        y[i] = gelu_value(x[i]);
        d[i] = gelu_deriv(x[i]);
    }
}

static inline void gelu_backward_n(const float *restrict x, const float *restrict gy, float *restrict gx, size_t n,
                                   int set)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = gy[i] * gelu_deriv(x[i]);
        gx[i] = set ? v : gx[i] + v;
    }
}
#endif

#endif
