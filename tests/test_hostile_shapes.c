/*
 * test_hostile_shapes.c - shapes and sizes that would overflow an int or a
 * size_t, asked for by a caller (layer constructors, the graph API) or by a
 * model file (dc_model_from_json): each must fail with a clear error naming
 * the layer (or op) and the key, never wrap, read out of bounds or report
 * "out of memory" for a shape problem (src/core/checked.h holds the rule
 * and the limits).  Also: an orthogonal initialiser that cannot get its
 * scratch makes compile fail instead of leaving zeros.
 */
#include "testutil.h"
#include "graph/graph.h"
#include "model/model.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Fails unless the last call failed with `want` and a message holding each
 * of the NULL-terminated needles in ap. */
static void expect_failure(dc_status got, dc_status want, va_list ap)
{
    if (got != want)
        fail_msg("status %d (%s), expected %d", (int)got, dc_errmsg(), (int)want);
    for (const char *needle; (needle = va_arg(ap, const char *)) != NULL;)
        if (!strstr(dc_errmsg(), needle))
            fail_msg("message \"%s\" lacks \"%s\"", dc_errmsg(), needle);
}

static void expect_error(dc_status got, dc_status want, ...)
{
    va_list ap;
    va_start(ap, want);
    expect_failure(got, want, ap);
    va_end(ap);
}

/* A constructor's NULL with its status and message. */
#define expect_null(layer, want, ...)                                                                                   \
    do {                                                                                                                \
        dc_layer *l_ = (layer);                                                                                         \
        if (l_) {                                                                                                       \
            dc_layer_free(l_);                                                                                          \
            fail_msg("%s made a layer", #layer);                                                                        \
        }                                                                                                               \
        expect_error(dc_last_status(), want, __VA_ARGS__, NULL);                                                        \
    } while (0)

/* Loads a Sequential model file: an InputLayer of batch_shape [null, shape]
 * then one layer, and builds it (dc_model_from_json reads the layers'
 * configs; their shapes meet when the model is built, as by summary,
 * compile or predict); expects the load or the build to fail. */
static void expect_bad_sequential(const char *shape, const char *class_name, const char *config, dc_status want, ...)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":[{\"class_name\":"
             "\"InputLayer\",\"config\":{\"batch_shape\":[null,%s]}},{\"class_name\":\"%s\",\"config\":{%s}}]}}",
             shape, class_name, config);
    dc_model *m = (dc_model *)1;
    dc_status st = dc_model_from_json(json, strlen(json), &m);
    if (st == DC_OK) {
        st = dc_model_build(m);
        dc_model_free(m);
        if (st == DC_OK)
            fail_msg("%s {%s} on (%s) loaded and built", class_name, config, shape);
    } else {
        assert_null(m);
    }
    va_list ap;
    va_start(ap, want);
    expect_failure(st, want, ap);
    va_end(ap);
}

/* Adds `layer` to a Sequential model on `shape`; expects the add to fail. */
static void expect_bad_add(int ndim, const int *shape, dc_layer *layer, dc_status want, ...)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    assert_non_null(m);
    dc_status st = dc_model_add(m, layer);
    if (st == DC_OK)
        st = dc_model_build(m);
    dc_model_free(m);
    va_list ap;
    va_start(ap, want);
    expect_failure(st, want, ap);
    va_end(ap);
}

/* The reproducer: kernel 4097 taps dilated by 2^20 spans 2^32 + 1
 * pixels, which wrapped to 1, so an 8x8 input "fit" and predict read far out
 * of bounds. */
static void test_conv_dilation_overflow(void **state)
{
    (void)state;
    dc_conv_config c = dc_conv_defaults(2, 4097, 1);
    c.dilation[0] = 1048576;
    expect_null(dc_layer_conv2d_ex(&c), DC_ERR_ARG, "Conv2D", "dilation_rate[0] 1048576 x (kernel_size[0] 4097 - 1) + 1 overflows");
    c.dilation[0] = 4096; /* 4096 * 4096 + 1 fits an int but exceeds the limit */
    expect_null(dc_layer_conv2d_ex(&c), DC_ERR_ARG, "Conv2D", "dilation_rate[0] 4096", "exceeds the limit 16777216");
    expect_bad_sequential("8,8,16", "Conv2D",
                          "\"name\":\"big\",\"filters\":2,\"kernel_size\":[4097,1],\"dilation_rate\":[1048576,1]",
                          DC_ERR_FORMAT, "layer 1 (Conv2D)", "dilation_rate[0] 1048576 x (kernel_size[0] 4097 - 1) + 1 overflows",
                          NULL);
    /* the graph API checks the same in the op's shape inference */
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){8, 8, 16}, "x");
    dc_node *k = dc_param(g, 4, (int[]){4097, 1, 16, 2}, dc_init_make(DC_INIT_ZEROS), "k");
    assert_null(dc_conv2d(g, x, k, NULL, 1, 1, 0, 1048576, 1));
    expect_error(dc_last_status(), DC_ERR_SHAPE, "conv2d", "dilation 1048576 x (kernel 4097 - 1) + 1 overflows", NULL);
    dc_graph_free(g);
}

/* UpSampling2D: a size past the limit, and sizes within it whose output
 * holds more than 2^31 values per sample. */
static void test_upsampling_overflow(void **state)
{
    (void)state;
    expect_null(dc_layer_upsampling2d(1 << 30, 1, NULL), DC_ERR_ARG, "UpSampling2D", "size[0] 1073741824 exceeds the limit 16777216");
    expect_bad_sequential("8,8,16", "UpSampling2D", "\"size\":[33554432,1]", DC_ERR_FORMAT, "layer 1 (UpSampling2D)",
                          "key \"size\"[0] is 33554432, expected an integer from 1 to 16777216", NULL);
    expect_bad_sequential("8,8,16", "UpSampling2D", "\"name\":\"upsampler\",\"size\":[1048576,1048576]", DC_ERR_SHAPE,
                          "upsampler: ", "(None, 8388608, 8388608, 16)", "more than 2147483647 values per sample", NULL);
    expect_bad_add(3, (int[]){256, 8, 1}, dc_layer_upsampling2d(1 << 24, 1, NULL), DC_ERR_SHAPE, "up_sampling2d",
                   "height 256 x size 16777216 overflows", NULL);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){256, 8, 1}, "x");
    assert_null(dc_upsample2d(g, x, INT_MAX / 2, 1, 0));
    expect_error(dc_last_status(), DC_ERR_SHAPE, "upsample2d", "256 x size 1073741823 overflows", NULL);
    dc_graph_free(g);
}

/* "same" padding with a huge stride: (n + s - 1) / s wrapped. */
static void test_same_padding_huge_strides(void **state)
{
    (void)state;
    dc_conv_config c = dc_conv_defaults(2, 3, 3);
    c.strides[0] = INT_MAX;
    c.padding = DC_PADDING_SAME;
    expect_null(dc_layer_conv2d_ex(&c), DC_ERR_ARG, "Conv2D", "strides[0] 2147483647 exceeds the limit 16777216");
    expect_null(dc_layer_pooling2d_ex(1, 2, 2, INT_MAX, 1, DC_PADDING_SAME), DC_ERR_ARG, "MaxPooling2D",
                "strides[0] 2147483647 exceeds the limit 16777216");
    expect_bad_sequential("8,8,16", "MaxPooling2D", "\"pool_size\":[2,2],\"strides\":[2147483647,1],\"padding\":\"same\"",
                          DC_ERR_FORMAT, "layer 1 (MaxPooling2D)",
                          "key \"strides\"[0] is 2147483647, expected an integer from 1 to 16777216", NULL);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){8, 8, 16}, "x");
    assert_null(dc_pool2d(g, x, 1, 2, 2, INT_MAX, 1, 1));
    expect_error(dc_last_status(), DC_ERR_SHAPE, "max_pooling2d", "input 8 + stride 2147483647 + window 2 overflows", NULL);
    dc_graph_free(g);
}

/* Conv2DTranspose: the output is input x strides. */
static void test_conv_transpose_strides(void **state)
{
    (void)state;
    expect_null(dc_layer_conv2d_transpose(2, 3, 3, 1 << 30, DC_PADDING_VALID, NULL), DC_ERR_ARG, "Conv2DTranspose",
                "strides[0] 1073741824 exceeds the limit 16777216");
    expect_bad_sequential("8,8,16", "Conv2DTranspose",
                          "\"name\":\"deconv\",\"filters\":2,\"kernel_size\":[3,3],\"strides\":[1048576,1048576]",
                          DC_ERR_SHAPE, "deconv: ", "more than 2147483647 values per sample", NULL);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){256, 8, 1}, "x");
    dc_node *k = dc_param(g, 4, (int[]){3, 3, 1, 1}, dc_init_make(DC_INIT_ZEROS), "k");
    assert_null(dc_conv2d_transpose(g, x, k, NULL, (int[]){1 << 24, 1}, 1, (int[]){1, 1}, NULL));
    expect_error(dc_last_status(), DC_ERR_SHAPE, "conv2d_transpose", "256 x stride 16777216 overflows", NULL);
    dc_graph_free(g);
}

/* ZeroPadding2D: input + padding. */
static void test_zero_padding_overflow(void **state)
{
    (void)state;
    expect_null(dc_layer_zero_padding2d(INT_MAX, 0, 0, 0), DC_ERR_ARG, "ZeroPadding2D",
                "padding[0] 2147483647 exceeds the limit 16777216");
    expect_bad_sequential("8,8,16", "ZeroPadding2D", "\"name\":\"zeropad\",\"padding\":[[1048576,1048576],[1048576,1048576]]",
                          DC_ERR_SHAPE, "zeropad: ", "more than 2147483647 values per sample", NULL);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){8, 8, 1}, "x");
    assert_null(dc_pad2d(g, x, INT_MAX, 0, 0, 0));
    expect_error(dc_last_status(), DC_ERR_SHAPE, "pad2d", "8 + 2147483647 + 0 overflows", NULL);
    dc_graph_free(g);
}

/* Recurrent units of 2^30: 4 * units wrapped. */
static void test_recurrent_units(void **state)
{
    (void)state;
    expect_null(dc_layer_lstm(1 << 30), DC_ERR_ARG, "LSTM", "units 1073741824 exceeds the limit 16777216");
    expect_null(dc_layer_gru(-4), DC_ERR_ARG, "GRU", "units -4 is below 1");
    expect_bad_sequential("5,3", "LSTM", "\"units\":1073741824", DC_ERR_FORMAT, "layer 1 (LSTM)",
                          "key \"units\" is 1073741824, expected an integer from 1 to 16777216", NULL);
    /* within the limit, the recurrent kernel (2^24, 2^26) is too big a parameter */
    expect_bad_sequential("5,3", "LSTM", "\"name\":\"lstm_big\",\"units\":16777216", DC_ERR_SHAPE,
                          "lstm_big/recurrent_kernel: shape (16777216, 67108864) has more than 2147483647 values", NULL);
}

/* Concatenate: an input of 1.5e9 values (allowed: below 2^31 per sample)
 * joined with itself holds more than an int counts. */
static void test_concatenate_widths(void **state)
{
    (void)state;
    int wide = 1500000000;
    dc_model *m = dc_functional_new(1, &wide);
    /* merge records the call; the shapes meet when the model is built */
    dc_status st = dc_model_merge(m, dc_layer_concatenate(-1), 2, (int[]){0, 0}) < 0 ? dc_last_status() : dc_model_build(m);
    expect_error(st, DC_ERR_SHAPE, "concatenate", "axis 1 of 1500000000 + 1500000000 overflows", NULL);
    dc_model_free(m);
    static const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
        "{\"batch_shape\": [null, 1500000000], \"name\": \"a\"}, \"name\": \"a\", \"inbound_nodes\": []}, "
        "{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"joined\", \"axis\": -1}, \"name\": \"joined\", "
        "\"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"a\", 0, 0, {}]]]}], "
        "\"input_layers\": [[\"a\", 0, 0]], \"output_layers\": [[\"joined\", 0, 0]]}}";
    m = (dc_model *)1;
    st = dc_model_from_json(json, strlen(json), &m);
    if (st == DC_OK) {
        st = dc_model_build(m);
        dc_model_free(m);
    } else {
        assert_null(m);
    }
    expect_error(st, DC_ERR_SHAPE, "joined: ", "axis 1 of 1500000000 + 1500000000 overflows", NULL);
}

/* Pooling with a window of 2^40 positions under "same" padding: the window
 * position recorded for max pooling's backward (an int32) wrapped in predict. */
static void test_pooling_window(void **state)
{
    (void)state;
    expect_bad_add(3, (int[]){8, 8, 16}, dc_layer_pooling2d_ex(1, 1 << 20, 1 << 20, 1, 1, DC_PADDING_SAME),
                   DC_ERR_SHAPE, "max_pooling2d", "pool 1048576 x 1048576 overflows", NULL);
    expect_bad_sequential("8,8,16", "MaxPooling2D",
                          "\"name\":\"pool\",\"pool_size\":[1048576,1048576],\"strides\":[1,1],\"padding\":\"same\"",
                          DC_ERR_SHAPE, "pool: ", "pool 1048576 x 1048576 overflows", NULL);
    expect_null(dc_layer_max_pooling2d(0, 2), DC_ERR_ARG, "MaxPooling2D", "pool_size[0] 0 is below 1");
}

/* An orthogonal initialiser whose scratch cannot be allocated: compile fails
 * and says so, instead of leaving the kernel zero and returning OK. */
static void test_orthogonal_alloc_failure(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *w = dc_param(g, 2, (int[]){4, 16}, dc_init_make(DC_INIT_ORTHOGONAL), "recurrent_kernel");
    assert_non_null(w);
    g->opts.fail_init_scratch = 1;
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    expect_error(dc_graph_compile(g, 1, &rng), DC_ERR_NOMEM, "recurrent_kernel", "orthogonal", NULL);
    dc_graph_free(g);
    /* through a model: compile returns the failure */
    dc_model *m = dc_sequential_new(2, (int[]){5, 3});
    assert_int_equal(dc_model_add(m, dc_layer_lstm(4)), DC_OK);
    assert_int_equal(dc_model_build(m), DC_OK);
    m->g->opts.fail_init_scratch = 1;
    dc_status st = dc_model_compile(m, "adam", "mse", NULL, 0);
    expect_error(st, DC_ERR_NOMEM, "orthogonal", NULL);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_dilation_overflow), cmocka_unit_test(test_upsampling_overflow),
        cmocka_unit_test(test_same_padding_huge_strides), cmocka_unit_test(test_conv_transpose_strides),
        cmocka_unit_test(test_zero_padding_overflow),  cmocka_unit_test(test_recurrent_units),
        cmocka_unit_test(test_concatenate_widths),     cmocka_unit_test(test_pooling_window),
        cmocka_unit_test(test_orthogonal_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
