/*
 * dataset.c - the dc_loader object: what a source must say (the per-sample
 * shapes of x and y, the number of samples or batches, how to fill a row or
 * a batch), the accessors, reading one batch (dc_loader_get_batch,
 * dc_loader_fill) and two sources: tensors in memory (copied) and a user's
 * callback that yields whole batches (Keras' PyDataset).  Folders are in
 * image_dir.c, .npy mappings in dataset_npy.c, the prefetching threads in
 * dataset_pipe.c and fit / evaluate / predict over a dataset in
 * src/model/fit_dataset.c.
 *
 * A batch is batch_size rows of x (batch, x_shape...) and y (batch,
 * y_shape...); the last batch of a pass may be shorter.  A per-sample
 * source fills rows independently, so several threads may fill the rows of
 * one batch or of different batches at once (fill_row and fill_rows must be
 * thread-safe; the sources here only read what was set up when the dataset
 * was made).
 */
#include "data/dataset_internal.h"
#include "core/checked.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t per_sample(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n = dc_size_mul(n, (size_t)shape[i]);
    return n;
}

static dc_status check_shape(const char *kind, const char *what, int ndim, const int *shape, int allow_none)
{
    if (allow_none && ndim < 0)
        return DC_OK;
    if (ndim < 0 || ndim >= DC_MAX_DIMS)
        return dc_fail(DC_ERR_ARG, "%s: %s has %d dimensions per sample, expected 0 to %d", kind, what, ndim,
                       DC_MAX_DIMS - 1);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_ARG, "%s: %s dimension %d is %d, expected 1 to %d", kind, what, i, shape[i],
                           DC_DIM_LIMIT);
    if (per_sample(ndim, shape) > (size_t)DC_NUMEL_LIMIT)
        return dc_fail(DC_ERR_ARG, "%s: %s has more than %d values per sample", kind, what, DC_NUMEL_LIMIT);
    return DC_OK;
}

dc_loader *dc_loader_alloc(const char *kind, int batch_size, int x_ndim, const int *x_shape, int y_ndim,
                             const int *y_shape)
{
    if (batch_size < 1)
        return dc_fail_null(DC_ERR_ARG, "%s: batch_size %d, expected at least 1", kind, batch_size);
    if (check_shape(kind, "x", x_ndim, x_shape, 0) != DC_OK || check_shape(kind, "y", y_ndim, y_shape, 1) != DC_OK)
        return NULL;
    size_t xb = dc_size_mul(per_sample(x_ndim, x_shape), (size_t)batch_size);
    if (xb > (size_t)1 << 32)
        return dc_fail_null(DC_ERR_ARG, "%s: a batch of %d samples would hold %zu values; use a smaller batch_size",
                            kind, batch_size, xb);
    dc_loader *ds = calloc(1, sizeof *ds);
    if (!ds)
        return dc_fail_null(DC_ERR_NOMEM, "%s: out of memory", kind);
    ds->kind = kind;
    ds->batch_size = batch_size;
    ds->x_ndim = x_ndim;
    memcpy(ds->x_shape, x_shape, (size_t)x_ndim * sizeof(int));
    ds->y_ndim = y_ndim;
    if (y_ndim > 0)
        memcpy(ds->y_shape, y_shape, (size_t)y_ndim * sizeof(int));
    ds->x_per = per_sample(x_ndim, x_shape);
    ds->y_per = y_ndim >= 0 ? per_sample(y_ndim, y_shape) : 0;
    ds->workers = 1;
    ds->depth = 4;
    return ds;
}

void dc_loader_free(dc_loader *ds)
{
    if (!ds)
        return;
    if (ds->free_source)
        ds->free_source(ds);
    for (int i = 0; i < ds->n_classes && ds->class_names; i++)
        free(ds->class_names[i]);
    free(ds->class_names);
    for (int i = 0; i < ds->n && ds->paths; i++)
        free(ds->paths[i]);
    free(ds->paths);
    free(ds->labels);
    free(ds);
}

int dc_loader_count(const dc_loader *ds)
{
    DC_CHECK_NULL_OR(ds, -1);
    return ds->n;
}

int dc_loader_cardinality(const dc_loader *ds)
{
    DC_CHECK_NULL_OR(ds, -1);
    return dc_loader_batches(ds);
}

int dc_loader_num_classes(const dc_loader *ds)
{
    DC_CHECK_NULL_OR(ds, 0);
    return ds->n_classes;
}

const char *dc_loader_class_name(const dc_loader *ds, int i)
{
    DC_CHECK_NULL_OR(ds, NULL);
    if (i < 0 || i >= ds->n_classes)
        return dc_fail_null(DC_ERR_ARG, "dc_loader_class_name: class %d of %d", i, ds->n_classes);
    return ds->class_names[i];
}

const char *dc_loader_file_path(const dc_loader *ds, int i)
{
    DC_CHECK_NULL_OR(ds, NULL);
    if (!ds->paths || i < 0 || i >= ds->n)
        return dc_fail_null(DC_ERR_ARG, "dc_loader_file_path: sample %d of %d (%s)", i, ds->paths ? ds->n : 0,
                            ds->paths ? "out of range" : "the dataset has no files");
    return ds->paths[i];
}

int dc_loader_label(const dc_loader *ds, int i)
{
    DC_CHECK_NULL_OR(ds, -1);
    if (!ds->labels || i < 0 || i >= ds->n)
        return -1;
    return ds->labels[i];
}

dc_status dc_loader_set_prefetch(dc_loader *ds, int workers, int depth)
{
    DC_CHECK_NULL(ds);
    if (workers < 1 || workers > 64 || depth < 1 || depth > 1024)
        return dc_fail(DC_ERR_ARG, "dc_loader_set_prefetch: workers %d and depth %d, expected 1 to 64 and 1 to 1024",
                       workers, depth);
    ds->workers = ds->fill_batch ? 1 : workers;
    ds->depth = depth;
    return DC_OK;
}

dc_status dc_loader_fill(const dc_loader *ds, const int *order, int first, int b, int off, int len, int index,
                          dc_tensor *x, dc_tensor *y, int *rows)
{
    if (ds->fill_batch) {
        *rows = 0;
        dc_status st = ds->fill_batch(ds, index, x, y, rows);
        if (st == DC_OK && (*rows < 1 || *rows > ds->batch_size))
            st = dc_fail(DC_ERR_ARG, "%s: batch %d has %d rows, expected 1 to batch_size %d", ds->kind, index, *rows,
                         ds->batch_size);
        return st;
    }
    *rows = b;
    if (ds->fill_rows)
        return ds->fill_rows(ds, order, first, off, len, x, y);
    for (int r = off; r < off + len; r++) {
        int i = order ? order[first + r] : first + r;
        dc_status st = ds->fill_row(ds, i, x->data + (size_t)r * ds->x_per, y ? y->data + (size_t)r * ds->y_per : NULL);
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

/* New (batch_size, shape...) tensors for a batch (y NULL without targets). */
static dc_status batch_tensors(const dc_loader *ds, int rows, dc_tensor **x, dc_tensor **y)
{
    int shape[DC_MAX_DIMS];
    shape[0] = rows;
    memcpy(shape + 1, ds->x_shape, (size_t)ds->x_ndim * sizeof(int));
    *x = dc_tensor_new(1 + ds->x_ndim, shape);
    *y = NULL;
    if (!*x)
        return dc_last_status();
    if (dc_loader_has_y(ds)) {
        memcpy(shape + 1, ds->y_shape, (size_t)(ds->y_ndim > 0 ? ds->y_ndim : 0) * sizeof(int));
        *y = dc_tensor_new(1 + ds->y_ndim, shape);
        if (!*y) {
            dc_tensor_free(*x);
            *x = NULL;
            return dc_last_status();
        }
    }
    return DC_OK;
}

dc_status dc_loader_get_batch(const dc_loader *ds, int index, dc_tensor **x, dc_tensor **y)
{
    DC_CHECK_NULL(ds);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    *x = *y = NULL;
    int nb = dc_loader_batches(ds);
    if (index < 0 || index >= nb)
        return dc_fail(DC_ERR_ARG, "dc_loader_get_batch: batch %d of %d", index, nb);
    int b = ds->n ? (index == nb - 1 ? ds->n - index * ds->batch_size : ds->batch_size) : ds->batch_size;
    dc_tensor *bx, *by;
    dc_status st = batch_tensors(ds, ds->batch_size, &bx, &by);
    if (st != DC_OK)
        return st;
    int rows = 0;
    st = dc_loader_fill(ds, NULL, index * ds->batch_size, b, 0, b, index, bx, by, &rows);
    if (st == DC_OK && rows < ds->batch_size) { /* the short last batch */
        bx->shape[0] = rows;
        bx->size = (size_t)rows * ds->x_per;
        if (by) {
            by->shape[0] = rows;
            by->size = (size_t)rows * ds->y_per;
        }
    }
    if (st != DC_OK) {
        dc_tensor_free(bx);
        dc_tensor_free(by);
        return st;
    }
    *x = bx;
    *y = by;
    return DC_OK;
}

/* ---- tensors ---- */

typedef struct tensor_source {
    dc_tensor *x, *y;
} tensor_source;

static dc_status tensor_row(const dc_loader *ds, int i, float *x, float *y)
{
    const tensor_source *s = ds->source;
    memcpy(x, s->x->data + (size_t)i * ds->x_per, ds->x_per * sizeof(float));
    if (y)
        memcpy(y, s->y->data + (size_t)i * ds->y_per, ds->y_per * sizeof(float));
    return DC_OK;
}

static void tensor_free(dc_loader *ds)
{
    tensor_source *s = ds->source;
    if (s) {
        dc_tensor_free(s->x);
        dc_tensor_free(s->y);
        free(s);
    }
}

dc_status dc_loader_from_tensors(const dc_tensor *x, const dc_tensor *y, int batch_size, int shuffle,
                                  dc_loader **out)
{
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (x->ndim < 1 || x->shape[0] < 1)
        return dc_fail(DC_ERR_SHAPE, "dc_loader_from_tensors: x needs at least one sample");
    if (y && (y->ndim < 1 || y->shape[0] != x->shape[0]))
        return dc_fail(DC_ERR_SHAPE, "dc_loader_from_tensors: x has %d samples but y has %d", x->shape[0],
                       y->ndim ? y->shape[0] : 0);
    dc_loader *ds = dc_loader_alloc("dc_loader_from_tensors", batch_size, x->ndim - 1, x->shape + 1,
                                      y ? y->ndim - 1 : -1, y ? y->shape + 1 : NULL);
    if (!ds)
        return dc_last_status();
    tensor_source *s = calloc(1, sizeof *s);
    ds->source = s;
    ds->free_source = tensor_free;
    if (!s || !(s->x = dc_tensor_clone(x)) || (y && !(s->y = dc_tensor_clone(y)))) {
        dc_loader_free(ds);
        return dc_fail(DC_ERR_NOMEM, "dc_loader_from_tensors: out of memory copying the tensors");
    }
    ds->n = x->shape[0];
    ds->shuffle = shuffle != 0;
    ds->fill_row = tensor_row;
    *out = ds;
    return DC_OK;
}

/* ---- a user's callback ---- */

typedef struct callback_source {
    dc_batch_fn fn;
    void *user;
} callback_source;

static dc_status callback_batch(const dc_loader *ds, int index, dc_tensor *x, dc_tensor *y, int *rows)
{
    const callback_source *s = ds->source;
    dc_status st = s->fn(s->user, index, x, y, rows);
    if (st != DC_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", dc_errmsg());
        return dc_fail(st, "%s: the callback failed on batch %d (status %d): %s", ds->kind, index, (int)st, why);
    }
    return st;
}

static void callback_free(dc_loader *ds) { free(ds->source); }

dc_status dc_loader_from_callback(int n_batches, int batch_size, int x_ndim, const int *x_shape, int y_ndim,
                                   const int *y_shape, dc_batch_fn fn, void *user, dc_loader **out)
{
    DC_CHECK_NULL(x_shape);
    DC_CHECK_NULL(fn);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (n_batches < 1)
        return dc_fail(DC_ERR_ARG, "dc_loader_from_callback: n_batches %d, expected at least 1", n_batches);
    if (y_ndim > 0 && !y_shape)
        return dc_fail(DC_ERR_ARG, "dc_loader_from_callback: y_shape is NULL with y_ndim %d", y_ndim);
    dc_loader *ds = dc_loader_alloc("dc_loader_from_callback", batch_size, x_ndim, x_shape, y_ndim, y_shape);
    if (!ds)
        return dc_last_status();
    callback_source *s = calloc(1, sizeof *s);
    if (!s) {
        dc_loader_free(ds);
        return dc_fail(DC_ERR_NOMEM, "dc_loader_from_callback: out of memory");
    }
    s->fn = fn;
    s->user = user;
    ds->source = s;
    ds->free_source = callback_free;
    ds->n_batches = n_batches;
    ds->fill_batch = callback_batch;
    *out = ds;
    return DC_OK;
}
