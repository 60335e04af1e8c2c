/*
 * test_cnn.c - the convolutional layers through the Sequential model: error
 * messages for shapes that cannot work, summary counts (BatchNormalization's
 * moving statistics are non-trainable), training versus inference behaviour
 * of Dropout and BatchNormalization, and a small CNN that learns.
 */
#include "testutil.h"

#include "graph/graph.h" /* grad_set, opts.no_grad_set */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dc_model *model_for(int ndim, const int *shape)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    assert_non_null(m);
    dc_model_set_seed(m, 3);
    dc_model_set_threads(m, 1);
    return m;
}

static dc_status compile(dc_model *m)
{
    const char *metrics[] = {"accuracy"};
    return dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1);
}

static void test_conv_without_channel_axis(void **state)
{
    (void)state;
    dc_model *m = model_for(2, (int[]){28, 28});
    dc_model_add(m, dc_layer_conv2d(8, 3, 3, "relu"));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    assert_int_equal(compile(m), DC_ERR_SHAPE);
    assert_errmsg_contains("conv2d: input (None, 28, 28) has 3 axes, expected 4");
    assert_errmsg_contains("Reshape to (height, width, 1)");
    dc_model_free(m);
}

static void test_kernel_larger_than_input(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){3, 3, 1});
    dc_model_add(m, dc_layer_conv2d(4, 5, 5, NULL));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    assert_int_equal(compile(m), DC_ERR_SHAPE);
    assert_true(strncmp(dc_errmsg(), "conv2d: ", 8) == 0); /* the layer */
    assert_errmsg_contains("a 5x5 kernel with strides 1x1");
    assert_errmsg_contains("empty output on a 3x3 input under \"valid\" padding");
    dc_model_free(m);
}

static void test_pool_leaves_empty_output(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){1, 1, 3});
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    assert_int_equal(compile(m), DC_ERR_SHAPE);
    assert_true(strncmp(dc_errmsg(), "max_pooling2d: ", 15) == 0);
    assert_errmsg_contains("a 2x2 pool with strides 2x2");
    assert_errmsg_contains("on a 1x1 input");
    dc_model_free(m);

    m = model_for(3, (int[]){4, 4, 1});
    assert_null(dc_layer_conv2d(4, 3, 0, NULL));
    assert_errmsg_contains("Conv2D: kernel_size[1] 0 is below 1");
    assert_null(dc_layer_dropout(1.0f));
    assert_errmsg_contains("rate 1, expected 0 <= rate < 1");
    dc_model_free(m);
}

static void test_dense_after_conv_without_flatten(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){28, 28, 1});
    dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    assert_int_equal(compile(m), DC_ERR_SHAPE);
    assert_errmsg_contains("the last layer dense outputs (26, 26, 10) per sample");
    assert_errmsg_contains("add a Flatten");
    dc_model_free(m);
}

static void test_summary_seed_003_and_batchnorm(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){28, 28, 1});
    dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_conv2d(64, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_dropout(0.5f));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(128, "relu"));
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    char *s = summary_of(m);
    assert_non_null(strstr(s, " conv2d (Conv2D)             (None, 26, 26, 32)        320       \n"));
    assert_non_null(strstr(s, " conv2d_1 (Conv2D)           (None, 11, 11, 64)        18496     \n"));
    /* a name and type longer than the column go on as tf-keras wraps them */
    assert_non_null(strstr(s, " batch_normalization (Batch  (None, 5, 5, 64)          256       \n"
                              " Normalization)                                                  \n"
                              " dropout (Dropout) "));
    assert_non_null(strstr(s, " dense (Dense)               (None, 128)               204928    \n"));
    assert_non_null(strstr(s, "Total params: 225,290\n"));
    assert_non_null(strstr(s, "Trainable params: 225,162\n"));
    assert_non_null(strstr(s, "Non-trainable params: 128\n"));
    free(s);
    dc_model_free(m);
}

/* Dropout is the identity in predict; BatchNormalization uses its moving
 * statistics there, which fit moved away from (0, 1). */
static void test_training_versus_inference(void **state)
{
    (void)state;
    int in = 4;
    dc_model *m = model_for(1, &in);
    dc_model_add(m, dc_layer_dropout(0.5f));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    assert_int_equal(compile(m), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 64, 4, 0, 0), *y = dc_tensor_new4(1, 64, 0, 0, 0);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = 3.0f + (float)(i % 7);
    for (int i = 0; i < 64; i++)
        y->data[i] = (float)(i % 2);
    dc_tensor *p1 = NULL, *p2 = NULL;
    assert_int_equal(dc_model_predict(m, x, 16, &p1), DC_OK);
    assert_int_equal(dc_model_predict(m, x, 16, &p2), DC_OK);
    assert_memory_equal(p1->data, p2->data, p1->size * sizeof(float)); /* no dropout at inference */
    dc_fit_config c = dc_fit_defaults();
    c.verbose = 0;
    c.epochs = 2;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    size_t n;
    float *params = dc_graph_params(dc_model_graph(m), &n);
    size_t t = dc_graph_trainable_count(dc_model_graph(m));
    /* non-trainable after trainable: moving_mean (4, padded to 16) then moving_variance */
    assert_true(params[t] > 0.1f);           /* moving mean moved towards the data (mean 3..9) */
    assert_true(fabsf(params[t + 16] - 1.0f) > 1e-3f); /* moving variance moved */
    dc_tensor_free(p1);
    dc_tensor_free(p2);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* 8x8 images with a vertical or a horizontal bar: a small CNN tells them apart. */
static void test_small_cnn_learns(void **state)
{
    (void)state;
    int n = 256;
    dc_tensor *x = dc_tensor_new4(4, n, 8, 8, 1), *y = dc_tensor_new4(1, n, 0, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, 5);
    for (int i = 0; i < n; i++) {
        int cls = (int)dc_rng_below(&r, 2), pos = (int)dc_rng_below(&r, 8);
        for (int k = 0; k < 8; k++) {
            int row = cls ? pos : k, col = cls ? k : pos;
            x->data[(size_t)i * 64 + (size_t)row * 8 + col] = 1.0f;
        }
        for (int k = 0; k < 64; k++)
            x->data[(size_t)i * 64 + k] += 0.1f * dc_rng_normal(&r);
        y->data[i] = (float)cls;
    }
    dc_model *m = model_for(3, (int[]){8, 8, 1});
    dc_model_add(m, dc_layer_conv2d(8, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    assert_int_equal(compile(m), DC_OK);
    dc_fit_config c = dc_fit_defaults();
    c.verbose = 0;
    c.epochs = 30;
    c.batch_size = 16;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    double res[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, res, 2), DC_OK);
    if (res[1] < 0.95)
        fail_msg("accuracy %.3f after 30 epochs", res[1]);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* Conv(16, relu) 9x9 -> 7x7, MaxPooling2D(2) (3x3: the last row and column
 * in no window), Conv(16, 2, same, relu), AveragePooling2D(2, same) ->
 * 2x2, Flatten, Dense(3, softmax); backward writes the pools' input
 * gradients (grad_set) or, with it off, zeroes them and adds. */
static dc_model *pooled_cnn(void)
{
    dc_model *m = model_for(3, (int[]){9, 9, 1});
    dc_conv_config c2 = dc_conv_defaults(16, 2, 2);
    c2.padding = DC_PADDING_SAME;
    c2.activation = "relu";
    assert_int_equal(dc_model_add(m, dc_layer_conv2d(16, 3, 3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_max_pooling2d(2, 2)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_conv2d_ex(&c2)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_pooling2d_ex(0, 2, 2, 2, 2, DC_PADDING_SAME)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_flatten()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(compile(m), DC_OK);
    return m;
}

static void test_pool_writes_input_gradient(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 4);
    dc_tensor *x = dc_tensor_new4(4, 40, 9, 9, 1), *y = dc_tensor_new4(1, 40, 0, 0, 0);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = dc_rng_uniform(&r);
    for (int i = 0; i < 40; i++)
        y->data[i] = (float)(i % 3);
    dc_model *set = pooled_cnn(), *add = pooled_cnn();
    dc_fit_config c = dc_fit_defaults();
    c.epochs = 2;
    c.batch_size = 8;
    c.verbose = 0;
    dc_history *hs = NULL, *ha = NULL;
    assert_int_equal(dc_model_fit(set, x, y, &c, &hs), DC_OK);
    int marked = 0;
    const dc_graph *g = dc_model_graph(set);
    for (int i = 0; i < g->n_nodes; i++)
        marked += g->nodes[i]->grad_set;
    /* both pools' inputs, and the last pool's output with the flatten
     * sharing its buffer: the Dense after them writes their gradient */
    assert_int_equal(marked, 4);
    dc_model_graph(add)->opts.no_grad_set = 1;
    assert_int_equal(dc_model_fit(add, x, y, &c, &ha), DC_OK);
    size_t ns, na;
    const float *ps = dc_graph_params(dc_model_graph(set), &ns), *pa = dc_graph_params(dc_model_graph(add), &na);
    assert_int_equal(ns, na);
    assert_memory_equal(ps, pa, ns * sizeof(float));
    dc_history_free(hs);
    dc_history_free(ha);
    dc_model_free(set);
    dc_model_free(add);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_without_channel_axis),
        cmocka_unit_test(test_kernel_larger_than_input),
        cmocka_unit_test(test_pool_leaves_empty_output),
        cmocka_unit_test(test_dense_after_conv_without_flatten),
        cmocka_unit_test(test_summary_seed_003_and_batchnorm),
        cmocka_unit_test(test_training_versus_inference),
        cmocka_unit_test(test_small_cnn_learns),
        cmocka_unit_test(test_pool_writes_input_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
