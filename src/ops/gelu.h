/*
 * gelu.h - the exact GELU (Keras' gelu(approximate=False)),
 * x * Phi(x) with Phi(x) = 0.5 * erfc(-x / sqrt 2), written so that loops
 * over it vectorise: glibc's erff is scalar, and was ~30% of a Transformer
 * encoder block's training step.
 *
 * Phi is computed in double from erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 +
 * z / 2), P of degree 9 (the Chebyshev fit of Numerical Recipes' erfcc:
 * relative error of erfc below 1.05e-7 for every z >= 0, checked against
 * double erfc), so Phi has that relative error on both sides (1 - erfc / 2
 * for x >= 0, erfc / 2 for x < 0: the negative tail keeps its relative
 * accuracy, unlike 1 + erf(x)).  The exp is gelu_exp below (range reduction
 * by ln 2 and a degree-8 Taylor polynomial, |r| <= ln 2 / 2: ~2e-10
 * relative, far below float32's spacing), with 2^k
 * built from the bits of the rounding constant, so no double -> int64
 * conversion is needed.  After the final rounding to float the GELU is
 * within 2.2 ulp of the double reference and its derivative within 1.9 ulp
 * of the size of its terms (tests/test_gelu.c: 5.8M floats in [-14, 14]).  NaN stays NaN; +-inf give what
 * erff gave (inf, NaN).
 */
#ifndef DEEPC_OPS_GELU_H
#define DEEPC_OPS_GELU_H

#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 708 (0 below -708); NaN stays NaN. */
static inline double gelu_exp(double x)
{
    double xc = x < -708.0 ? -708.0 : x > 708.0 ? 708.0 : x;
    const double magic = 6755399441055744.0; /* 1.5 * 2^52: x + magic rounds to an integer in the low bits */
    double kd = xc * 1.4426950408889634 + magic;
    uint64_t bits;
    memcpy(&bits, &kd, sizeof bits);
    kd -= magic; /* round(x / ln 2) */
    double r = xc - kd * 6.93147180369123816490e-01 - kd * 1.90821492927058770002e-10;
    double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 +
               r * (1.0 / 5040 + r * (1.0 / 40320))))))));
    uint64_t e = (bits + 1023u) << 52; /* 2^k: the integer's low bits plus the bias, into the exponent field */
    double scale;
    memcpy(&scale, &e, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

/* Phi(x) = 0.5 * (1 + erf(x / sqrt 2)), in double. */
static inline double gelu_phi(float x)
{
    double z = (x < 0.0f ? -(double)x : (double)x) * 0.70710678118654752440;
    double t = 1.0 / (1.0 + 0.5 * z);
    double p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
               t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    double half_erfc = 0.5 * t * gelu_exp(p - z * z);
    return x < 0.0f ? half_erfc : 1.0 - half_erfc;
}

/* x * Phi(x): Keras' gelu(x, approximate=False). */
static inline float gelu_value(float x) { return (float)((double)x * gelu_phi(x)); }

/* Its derivative Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi). */
static inline float gelu_deriv(float x)
{
    double xd = x;
    return (float)(gelu_phi(x) + xd * gelu_exp(-0.5 * xd * xd) * 0.39894228040143267794);
}

#endif
