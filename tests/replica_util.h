/*
 * replica_util.h - models, data and comparisons shared by the data-parallel
 * tests (test_replica.c in every build, test_mpi.c under mpiexec).  Include
 * after testutil.h.
 */
#ifndef DC_REPLICA_UTIL_H
#define DC_REPLICA_UTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* Gaussian blobs: class k centred at k on every feature (features x per
 * sample, `per` floats each), labels 0..classes-1. */
static inline void replica_data(int n, int ndim, const int *shape, int classes, uint64_t seed, dc_tensor **x,
                                dc_tensor **y)
{
    int xs[DC_MAX_DIMS] = {n};
    memcpy(xs + 1, shape, (size_t)ndim * sizeof(int));
    *x = dc_tensor_new(ndim + 1, xs);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    assert_non_null(*x);
    assert_non_null(*y);
    size_t per = (*x)->size / (size_t)n;
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (int)dc_rng_below(&r, (uint32_t)classes);
        for (size_t j = 0; j < per; j++)
            (*x)->data[(size_t)i * per + j] = (float)k * (j % 2 ? 1.0f : -0.5f) + 0.8f * dc_rng_normal(&r);
        (*y)->data[i] = (float)k;
    }
}

static inline void replica_compile(dc_model *m)
{
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
}

/* Dense(16, relu) -> Dropout(0.3) -> Dense(3, softmax) on 6 features. */
static inline dc_model *replica_mlp(uint64_t seed)
{
    int in = 6;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(16, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dropout(0.3f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    replica_compile(m);
    return m;
}

/* Conv2D(4, 3x3, relu) [-> BatchNormalization (batchnorm 1; 2: frozen)] ->
 * MaxPool(2) -> Flatten -> Dropout(0.25) -> Dense(3, softmax) on 6x6x1 images. */
static inline dc_model *replica_cnn(uint64_t seed, int batchnorm)
{
    int in[3] = {6, 6, 1};
    dc_model *m = dc_sequential_new(3, in);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_conv2d(4, 3, 3, "relu")), DC_OK);
    if (batchnorm) {
        dc_layer *bn = dc_layer_batch_normalization();
        assert_int_equal(dc_layer_set_trainable(bn, batchnorm != 2), DC_OK);
        assert_int_equal(dc_model_add(m, bn), DC_OK);
    }
    assert_int_equal(dc_model_add(m, dc_layer_max_pooling2d(2, 2)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_flatten()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dropout(0.25f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    replica_compile(m);
    return m;
}

static inline dc_fit_config replica_fit_config(int epochs, int batch, float validation_split)
{
    dc_fit_config c = dc_fit_defaults();
    c.epochs = epochs;
    c.batch_size = batch;
    c.validation_split = validation_split;
    c.verbose = 0;
    return c;
}

/* Same keys and epochs, every value within atol + rtol * |want|. */
static inline void replica_assert_history(const dc_history *got, const dc_history *want, double rtol, double atol)
{
    assert_int_equal(got->epochs, want->epochs);
    assert_int_equal(got->n_keys, want->n_keys);
    for (int k = 0; k < want->n_keys; k++) {
        const double *g = dc_history_get(got, want->keys[k]), *w = want->values[k];
        assert_non_null(g);
        for (int e = 0; e < want->epochs; e++) {
            if (!(fabs(g[e] - w[e]) <= atol + rtol * fabs(w[e])))
                fail_msg("history %s, epoch %d: got %.9g, single process %.9g", want->keys[k], e + 1, g[e], w[e]);
        }
    }
}

/* The flat parameter buffers of two models within tolerance. */
static inline void replica_assert_weights(dc_model *got, dc_model *want, double rtol, double atol)
{
    size_t ng, nw;
    const float *g = dc_graph_params(dc_model_graph(got), &ng), *w = dc_graph_params(dc_model_graph(want), &nw);
    assert_int_equal(ng, nw);
    assert_close(g, w, nw, rtol, atol, "weights against a single process");
}

#endif
