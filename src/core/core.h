/*
 * core.h - internal helpers shared by every part of deepc: error reporting,
 * checked allocation, and small numeric utilities.  Not part of the public API.
 */
#ifndef DC_CORE_H
#define DC_CORE_H

#include "deepc.h"

#include <stdarg.h>
#include <stdlib.h>

#if defined(__GNUC__)
#define DC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DC_PRINTF(a, b)
#endif

/* Records a message for this thread (see dc_errmsg) and returns `st`, so a
 * failure reads: return dc_fail(DC_ERR_SHAPE, "dense_1: input has %d ...", n); */
dc_status dc_fail(dc_status st, const char *fmt, ...) DC_PRINTF(2, 3);
/* Same, for constructors that return NULL on failure. */
void *dc_fail_null(dc_status st, const char *fmt, ...) DC_PRINTF(2, 3);
/* The NULL policy (include/deepc.h), at the top of a public function: a
 * NULL pointer argument `p` fails with DC_ERR_ARG and the message
 * "<function>: <p> is NULL"; DC_CHECK_NULL returns the status (functions
 * returning dc_status), DC_CHECK_NULL_OR returns `value` (NULL for a
 * constructor, the documented neutral value for a getter), DC_CHECK_NULL_VOID
 * returns nothing. */
#define DC_CHECK_NULL(p)                                                  \
    do {                                                                  \
        if (!(p))                                                         \
            return dc_fail(DC_ERR_ARG, "%s: %s is NULL", __func__, #p);   \
    } while (0)
#define DC_CHECK_NULL_OR(p, value)                                        \
    do {                                                                  \
        if (!(p)) {                                                       \
            dc_fail(DC_ERR_ARG, "%s: %s is NULL", __func__, #p);          \
            return value;                                                 \
        }                                                                 \
    } while (0)
#define DC_CHECK_NULL_VOID(p)                                             \
    do {                                                                  \
        if (!(p)) {                                                       \
            dc_fail(DC_ERR_ARG, "%s: %s is NULL", __func__, #p);          \
            return;                                                       \
        }                                                                 \
    } while (0)
/* Prepends "where: " to the current message (for context added by callers). */
void dc_err_prefix(const char *where);

/* Checked allocation: on failure records DC_ERR_NOMEM and returns NULL. */
void *dc_malloc(size_t n);
void *dc_calloc(size_t count, size_t size);
/* 64-byte aligned, for vectorised loops; free with dc_free_aligned. */
void *dc_malloc_aligned(size_t n);
void dc_free_aligned(void *p);
char *dc_strdup(const char *s);

/* Keras' way of showing a batched shape: (batch, 28, 28) -> "(None, 28, 28)". */
char *dc_batch_shape_str(int ndim, const int *shape, char *buf, size_t bufsize);
/* A per-sample shape as x must have it: (3) -> "(N, 3)". */
char *dc_samples_shape_str(int ndim, const int *shape, char *buf, size_t bufsize);

/* size = product of shape; 0 on overflow or a non-positive dimension. */
size_t dc_shape_size(int ndim, const int *shape);

#endif
