/*
 * tensor.c - float32 tensors of up to DC_MAX_DIMS axes, and uint8 arrays as
 * datasets arrive.  A tensor owns its data; ops inside a graph do not use
 * dc_tensor (their buffers are planned by the graph), this is the type users
 * hand to fit / evaluate / predict.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

static dc_status check_shape(int ndim, const int *shape, size_t *size)
{
    char buf[96];
    if (ndim < 1 || ndim > DC_MAX_DIMS)
        return dc_fail(DC_ERR_SHAPE, "tensor: %d dimensions requested, expected 1 to %d", ndim, DC_MAX_DIMS);
    *size = dc_shape_size(ndim, shape);
    if (*size == 0)
        return dc_fail(DC_ERR_SHAPE, "tensor: shape %s has a non-positive dimension or is too large",
                       dc_shape_str(ndim, shape, buf, sizeof buf));
    return DC_OK;
}

dc_tensor *dc_tensor_new(int ndim, const int *shape)
{
    DC_CHECK_NULL_OR(shape, NULL);
    size_t size = 0;
    if (check_shape(ndim, shape, &size) != DC_OK)
        return NULL;
    if (size > SIZE_MAX / sizeof(float))
        return dc_fail_null(DC_ERR_NOMEM, "tensor: %zu elements do not fit in memory", size);
    dc_tensor *t = dc_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->data = dc_malloc_aligned(size * sizeof(float));
    if (!t->data) {
        free(t);
        return NULL;
    }
    memset(t->data, 0, size * sizeof(float));
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int));
    t->size = size;
    return t;
}

dc_tensor *dc_tensor_new4(int ndim, int d0, int d1, int d2, int d3)
{
    int shape[4] = {d0, d1, d2, d3};
    if (ndim > 4)
        return dc_fail_null(DC_ERR_ARG, "dc_tensor_new4: %d dimensions, expected at most 4", ndim);
    return dc_tensor_new(ndim, shape);
}

dc_tensor *dc_tensor_from(int ndim, const int *shape, const float *data)
{
    DC_CHECK_NULL_OR(shape, NULL);
    DC_CHECK_NULL_OR(data, NULL);
    dc_tensor *t = dc_tensor_new(ndim, shape);
    if (t)
        memcpy(t->data, data, t->size * sizeof(float));
    return t;
}

dc_tensor *dc_tensor_clone(const dc_tensor *src)
{
    DC_CHECK_NULL_OR(src, NULL);
    return dc_tensor_from(src->ndim, src->shape, src->data);
}

void dc_tensor_free(dc_tensor *t)
{
    if (!t)
        return;
    dc_free_aligned(t->data);
    free(t);
}

dc_status dc_tensor_reshape(dc_tensor *t, int ndim, const int *shape)
{
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(shape);
    size_t size;
    char a[96], b[96];
    dc_status st = check_shape(ndim, shape, &size);
    if (st != DC_OK)
        return st;
    if (size != t->size)
        return dc_fail(DC_ERR_SHAPE, "reshape: cannot reshape %s (%zu values) to %s (%zu values)",
                       dc_shape_str(t->ndim, t->shape, a, sizeof a), t->size,
                       dc_shape_str(ndim, shape, b, sizeof b), size);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int));
    return DC_OK;
}

char *dc_shape_str(int ndim, const int *shape, char *buf, size_t bufsize)
{
    DC_CHECK_NULL_OR(shape, NULL);
    DC_CHECK_NULL_OR(buf, NULL);
    size_t used = 0;
    if (bufsize == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, bufsize - used, "(");
    for (int i = 0; i < ndim && used < bufsize; i++)
        used += (size_t)snprintf(buf + used, bufsize - used, i ? ", %d" : "%d", shape[i]);
    if (used < bufsize)
        snprintf(buf + used, bufsize - used, ndim == 1 ? ",)" : ")");
    return buf;
}

/* "(lead, d0, d1 ...)" for the n dims. */
static char *lead_shape_str(const char *lead, int n, const int *dims, char *buf, size_t bufsize)
{
    size_t used = (size_t)snprintf(buf, bufsize, "(%s", lead);
    for (int i = 0; i < n && used < bufsize; i++)
        used += (size_t)snprintf(buf + used, bufsize - used, ", %d", dims[i]);
    if (used < bufsize)
        snprintf(buf + used, bufsize - used, ")");
    return buf;
}

char *dc_batch_shape_str(int ndim, const int *shape, char *buf, size_t bufsize)
{
    return lead_shape_str("None", ndim - 1, shape + 1, buf, bufsize);
}

char *dc_samples_shape_str(int ndim, const int *shape, char *buf, size_t bufsize)
{
    return lead_shape_str("N", ndim, shape, buf, bufsize);
}

void dc_u8array_free(dc_u8array *a)
{
    if (!a)
        return;
    free(a->data);
    free(a);
}

dc_tensor *dc_tensor_from_u8(const dc_u8array *a, float scale)
{
    DC_CHECK_NULL_OR(a, NULL);
    dc_tensor *t = dc_tensor_new(a->ndim, a->shape);
    if (!t)
        return NULL;
    for (size_t i = 0; i < a->size; i++)
        t->data[i] = (float)a->data[i] * scale;
    return t;
}
