/*
 * tabular.c - what a tabular dataset needs between loading and fitting: a
 * seeded train/test split and per-feature standardisation (sklearn's
 * train_test_split and StandardScaler).  Statistics are accumulated in
 * double, so a column of large values (areas in the thousands) keeps its
 * small variance.
 */
#include "core/core.h"

#include <math.h>
#include <string.h>

/* New tensor with rows idx[0..n) of t. */
static dc_tensor *take_rows(const dc_tensor *t, const int *idx, int n)
{
    int shape[DC_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = n;
    dc_tensor *out = dc_tensor_new(t->ndim, shape);
    if (!out)
        return NULL;
    size_t per = t->size / (size_t)t->shape[0];
    for (int i = 0; i < n; i++)
        memcpy(out->data + (size_t)i * per, t->data + (size_t)idx[i] * per, per * sizeof(float));
    return out;
}

dc_status dc_train_test_split(const dc_tensor *x, const dc_tensor *y, float test_size, uint64_t seed,
                              dc_tensor **x_train, dc_tensor **x_test, dc_tensor **y_train, dc_tensor **y_test)
{
    if (!x || !x_train || !x_test || (y && (!y_train || !y_test)))
        return dc_fail(DC_ERR_ARG, "train_test_split: x and the outputs for x (and for y, when y is given) must not be "
                                   "NULL");
    *x_train = *x_test = NULL;
    if (y)
        *y_train = *y_test = NULL;
    int n = x->shape[0];
    if (y && y->shape[0] != n)
        return dc_fail(DC_ERR_SHAPE, "train_test_split: x has %d samples but y has %d; they must have the same length",
                       n, y->shape[0]);
    if (!(test_size > 0.0f && test_size < 1.0f))
        return dc_fail(DC_ERR_ARG, "train_test_split: test_size %g, expected 0 < test_size < 1", (double)test_size);
    /* test_size arrives as a float (0.2f is 0.2000000030): taken to 7
     * significant digits, 0.2 of 150 is 30 samples as in sklearn, not 31. */
    double frac = round((double)test_size * 1e7) / 1e7;
    int n_test = (int)ceil(frac * n - 1e-9), n_train = n - n_test;
    if (n_train < 1 || n_test < 1)
        return dc_fail(DC_ERR_ARG, "train_test_split: test_size %g of %d samples leaves %d for training and %d for "
                                   "testing; both need at least one",
                       (double)test_size, n, n_train, n_test);
    int *perm = dc_malloc((size_t)n * sizeof *perm);
    if (!perm)
        return DC_ERR_NOMEM;
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    dc_rng_shuffle(&rng, perm, n);
    *x_train = take_rows(x, perm, n_train);
    *x_test = take_rows(x, perm + n_train, n_test);
    int ok = *x_train && *x_test;
    if (y) {
        *y_train = take_rows(y, perm, n_train);
        *y_test = take_rows(y, perm + n_train, n_test);
        ok = ok && *y_train && *y_test;
    }
    free(perm);
    if (ok)
        return DC_OK;
    dc_tensor_free(*x_train);
    dc_tensor_free(*x_test);
    *x_train = *x_test = NULL;
    if (y) {
        dc_tensor_free(*y_train);
        dc_tensor_free(*y_test);
        *y_train = *y_test = NULL;
    }
    return DC_ERR_NOMEM;
}

void dc_scaler_free(dc_scaler *s)
{
    if (!s)
        return;
    free(s->mean);
    free(s->scale);
    free(s);
}

dc_status dc_scaler_fit(const dc_tensor *x, dc_scaler **out)
{
    if (!x || !out)
        return dc_fail(DC_ERR_ARG, "scaler_fit: %s is NULL", x ? "out" : "x");
    *out = NULL;
    int f = x->shape[x->ndim - 1];
    size_t rows = x->size / (size_t)f;
    dc_scaler *s = dc_calloc(1, sizeof *s);
    if (!s)
        return DC_ERR_NOMEM;
    s->n_features = f;
    s->mean = dc_calloc((size_t)f, sizeof(double));
    s->scale = dc_calloc((size_t)f, sizeof(double));
    if (!s->mean || !s->scale) {
        dc_scaler_free(s);
        return DC_ERR_NOMEM;
    }
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < f; j++)
            s->mean[j] += x->data[r * (size_t)f + (size_t)j];
    for (int j = 0; j < f; j++)
        s->mean[j] /= (double)rows;
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < f; j++) {
            double d = x->data[r * (size_t)f + (size_t)j] - s->mean[j];
            s->scale[j] += d * d;
        }
    for (int j = 0; j < f; j++) {
        double sd = sqrt(s->scale[j] / (double)rows);
        s->scale[j] = sd > 0 ? sd : 1.0;
    }
    *out = s;
    return DC_OK;
}

dc_status dc_scaler_transform(const dc_scaler *s, dc_tensor *x)
{
    if (!s || !x)
        return dc_fail(DC_ERR_ARG, "scaler_transform: %s is NULL", s ? "x" : "the scaler");
    int f = x->shape[x->ndim - 1];
    if (f != s->n_features)
        return dc_fail(DC_ERR_SHAPE, "scaler_transform: x has %d features (last axis), the scaler was fitted on %d", f,
                       s->n_features);
    for (size_t i = 0; i < x->size; i++) {
        size_t j = i % (size_t)f;
        x->data[i] = (float)((x->data[i] - s->mean[j]) / s->scale[j]);
    }
    return DC_OK;
}
