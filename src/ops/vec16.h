/*
 * vec16.h - 16 floats as one value (GCC / clang vector extension): one
 * AVX-512 register, or 2-4 narrower ones; a * b + c contracts to an FMA.
 * Shared by the hand-blocked kernels (conv_blocked.c, conv_narrow.c,
 * ops_depthwise.c).  Include it in .c files only: built without AVX-512
 * (DEEPC_NATIVE=OFF) the compiler warns that passing such a vector by
 * value has another ABI there (-Wpsabi); the functions taking them are
 * static and inlined, so no call crosses an ABI boundary, and the warning
 * is off for the including file.
 */
#ifndef DEEPC_OPS_VEC16_H
#define DEEPC_OPS_VEC16_H

#include <string.h>

#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float v16 __attribute__((vector_size(64)));

static inline v16 load16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

#endif
