/*
 * checked.h - checked integer arithmetic for shapes and sizes, and the
 * limits on what a config or a caller may ask for.
 *
 * The rule: every shape, element count and scratch size that deepc computes
 * from values a caller or a file gave (layer arguments, input shapes, model
 * JSON) goes through these helpers, so no product or sum wraps silently.
 *   - int shapes: dc_ckd_add / dc_ckd_mul (C23's ckd_add / ckd_mul) store the
 *     result and return nonzero when it does not fit an int; the caller then
 *     fails with a message naming the operands.
 *   - size_t counts (scratch floats, numel): dc_size_add / dc_size_mul
 *     saturate at SIZE_MAX (as the Linux kernel's size_add / size_mul do), so
 *     a chain of them needs one check at its end: a result of SIZE_MAX means
 *     it overflowed.  dc_node_make refuses any node whose scratch saturated,
 *     naming the node, so an op's infer may just compute with them.
 * These run when a layer is made and when a node's shape is inferred, never
 * per element.
 *
 * The limits, checked where values enter:
 *   DC_DIM_LIMIT    any one size a layer argument gives (kernel, strides,
 *                   dilation, pool size, upsampling size, padding, units,
 *                   filters ...): 1 to 2^24.  Layer constructors and
 *                   from_config check it (dc_check_dim), naming the layer,
 *                   the key and the value.
 *   DC_NUMEL_LIMIT  elements per sample of any node (all of them for a node
 *                   without a batch axis, such as a parameter): below 2^31,
 *                   so a per-sample offset fits an int.  dc_node_make checks
 *                   it after every op's shape inference.
 */
#ifndef DC_CHECKED_H
#define DC_CHECKED_H

#include "core/core.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DC_DIM_LIMIT (1 << 24)
#define DC_NUMEL_LIMIT INT_MAX

/* *r = a + b; returns nonzero (and leaves *r unspecified) if it does not fit an int. */
static inline int dc_ckd_add(int *r, int a, int b)
{
#if defined(__GNUC__)
    return __builtin_add_overflow(a, b, r);
#else
    if ((b > 0 && a > INT_MAX - b) || (b < 0 && a < INT_MIN - b))
        return 1;
    *r = a + b;
    return 0;
#endif
}

/* *r = a * b; returns nonzero if it does not fit an int. */
static inline int dc_ckd_mul(int *r, int a, int b)
{
#if defined(__GNUC__)
    return __builtin_mul_overflow(a, b, r);
#else
    long long p = (long long)a * b;
    if (p > INT_MAX || p < INT_MIN)
        return 1;
    *r = (int)p;
    return 0;
#endif
}

/* a + b, or SIZE_MAX when that overflows (SIZE_MAX stays SIZE_MAX). */
static inline size_t dc_size_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* a * b, or SIZE_MAX when that overflows (SIZE_MAX times anything but 0 stays SIZE_MAX). */
static inline size_t dc_size_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* The product of shape[0..ndim), saturating at SIZE_MAX. */
static inline size_t dc_size_prod(int ndim, const int *shape)
{
    size_t s = 1;
    for (int i = 0; i < ndim; i++)
        s = dc_size_mul(s, shape[i] > 0 ? (size_t)shape[i] : 0);
    return s;
}

/* The span of a window of k taps, d apart: d * (k - 1) + 1 (a dilated
 * kernel's extent).  Returns nonzero if it does not fit an int. */
static inline int dc_ckd_span(int *r, int k, int d)
{
    return dc_ckd_mul(r, d, k - 1) || dc_ckd_add(r, *r, 1);
}

/* Checks 1 <= value <= DC_DIM_LIMIT for one layer argument (lo: 0 where 0
 * is allowed, as for padding): on failure a DC_ERR_ARG whose message names
 * the layer (`who`), the key and, for index >= 0, the element:
 * "Conv2D: strides[0] 0 is below 1" or "... exceeds the limit 16777216". */
static inline dc_status dc_check_dim(const char *who, const char *key, int index, int value, int lo)
{
    char at[16] = "";
    if (index >= 0)
        snprintf(at, sizeof at, "[%d]", index);
    if (value < lo)
        return dc_fail(DC_ERR_ARG, "%s: %s%s %d is below %d", who, key, at, value, lo);
    if (value > DC_DIM_LIMIT)
        return dc_fail(DC_ERR_ARG, "%s: %s%s %d exceeds the limit %d", who, key, at, value, DC_DIM_LIMIT);
    return DC_OK;
}

/* dc_check_dim on each of values[0..n). */
static inline dc_status dc_check_dims(const char *who, const char *key, int n, const int *values, int lo)
{
    for (int i = 0; i < n; i++)
        if (dc_check_dim(who, key, n > 1 ? i : -1, values[i], lo) != DC_OK)
            return dc_last_status();
    return DC_OK;
}

/* Checks that a window of kernel[i] taps, dilation[i] apart, spans at most
 * DC_DIM_LIMIT positions, naming the layer and both keys:
 * "Conv2D: dilation_rate[0] 1048576 x (kernel_size[0] 4097 - 1) + 1 overflows". */
static inline dc_status dc_check_spans(const char *who, int n, const int *kernel, const int *dilation)
{
    for (int i = 0; i < n; i++) {
        int span;
        char at[16] = "";
        if (n > 1)
            snprintf(at, sizeof at, "[%d]", i);
        if (dc_ckd_span(&span, kernel[i], dilation[i]))
            return dc_fail(DC_ERR_ARG, "%s: dilation_rate%s %d x (kernel_size%s %d - 1) + 1 overflows", who, at,
                           dilation[i], at, kernel[i]);
        if (span > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_ARG, "%s: dilation_rate%s %d x (kernel_size%s %d - 1) + 1 = %d exceeds the limit %d",
                           who, at, dilation[i], at, kernel[i], span, DC_DIM_LIMIT);
    }
    return DC_OK;
}

#endif
