/*
 * test_layer_classes.c - every registered layer class (layers/registry.c)
 * through the whole public life of a model: a small model holding the layer
 * is built and summarised, its JSON config goes to a new model and back to
 * the same text, it is saved and loaded, and the loaded model predicts the
 * same outputs bit for bit with the same summary.
 *
 * The cases are keyed by class type; a class in the registry without a case
 * fails the test, so a new layer class cannot skip it (as test_gradcheck.c
 * does for ops).
 */
#include "testutil.h"

#include "layers/layer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const float SMALL[2] = {-0.1f, 0.1f}, RANGE[2] = {0.0f, 1.0f};

/* One case: the layer, the input shape one sample has, and how its values
 * are drawn.  A merge layer is called on two inputs of that shape. */
typedef struct layer_case {
    const char *type;
    dc_layer *(*make)(void);
    int ndim, shape[3];
    int token_ids; /* the input holds token ids 0 .. 9 (Embedding) */
} layer_case;

static dc_layer *make_dense(void) { return dc_layer_dense(3, "relu"); }
static dc_layer *make_flatten(void) { return dc_layer_flatten(); }
static dc_layer *make_activation(void) { return dc_layer_activation("tanh"); }
static dc_layer *make_reshape(void) { return dc_layer_reshape(2, (int[]){2, 3}); }
static dc_layer *make_conv2d(void) { return dc_layer_conv2d(3, 3, 3, "relu"); }
static dc_layer *make_conv1d(void) { return dc_layer_conv1d(3, 3, "sigmoid"); }
static dc_layer *make_maxpool2d(void) { return dc_layer_max_pooling2d(2, 2); }
static dc_layer *make_avgpool2d(void) { return dc_layer_average_pooling2d(2, 2); }
static dc_layer *make_maxpool1d(void) { return dc_layer_max_pooling1d(2); }
static dc_layer *make_avgpool1d(void) { return dc_layer_average_pooling1d(2); }
static dc_layer *make_gap2d(void) { return dc_layer_global_average_pooling2d(); }
static dc_layer *make_gmp2d(void) { return dc_layer_global_max_pooling2d(); }
static dc_layer *make_gap1d(void) { return dc_layer_global_average_pooling1d(); }
static dc_layer *make_gmp1d(void) { return dc_layer_global_max_pooling1d(); }
static dc_layer *make_dropout(void) { return dc_layer_dropout(0.5f); }
static dc_layer *make_bn(void) { return dc_layer_batch_normalization(); }
static dc_layer *make_embedding(void) { return dc_layer_embedding(10, 3, 1); }
static dc_layer *make_simple_rnn(void) { return dc_layer_simple_rnn(4); }
static dc_layer *make_lstm(void) { return dc_layer_lstm(4); }
static dc_layer *make_gru(void) { return dc_layer_gru(4); }
static dc_layer *make_bidirectional(void) { return dc_layer_bidirectional(dc_layer_lstm(3), "concat"); }
static dc_layer *make_layer_norm(void) { return dc_layer_layer_normalization(); }
static dc_layer *make_relu(void) { return dc_layer_relu_ex(0.5f, 0.1f, 0.0f); }
static dc_layer *make_leaky_relu(void) { return dc_layer_leaky_relu(0.2f); }
static dc_layer *make_elu(void) { return dc_layer_elu(1.0f); }
static dc_layer *make_prelu(void) { return dc_layer_prelu(); }
static dc_layer *make_softmax(void) { return dc_layer_softmax(-1); }
static dc_layer *make_rescaling(void) { return dc_layer_rescaling(0.5f, 0.25f); }
static dc_layer *make_gaussian_noise(void) { return dc_layer_gaussian_noise(0.1f); }
static dc_layer *make_gaussian_dropout(void) { return dc_layer_gaussian_dropout(0.2f); }
static dc_layer *make_spatial_dropout1d(void) { return dc_layer_spatial_dropout1d(0.2f); }
static dc_layer *make_spatial_dropout2d(void) { return dc_layer_spatial_dropout2d(0.2f); }
static dc_layer *make_repeat_vector(void) { return dc_layer_repeat_vector(3); }
static dc_layer *make_permute(void) { return dc_layer_permute(2, (int[]){2, 1}); }
static dc_layer *make_masking(void) { return dc_layer_masking(0.0f); }
static dc_layer *make_time_distributed(void) { return dc_layer_time_distributed(dc_layer_dense(2, "softmax")); }
static dc_layer *make_upsampling2d(void) { return dc_layer_upsampling2d(2, 2, "bilinear"); }
static dc_layer *make_upsampling1d(void) { return dc_layer_upsampling1d(2); }
static dc_layer *make_zero_padding2d(void) { return dc_layer_zero_padding2d(1, 0, 1, 2); }
static dc_layer *make_zero_padding1d(void) { return dc_layer_zero_padding1d(1, 2); }
static dc_layer *make_cropping2d(void) { return dc_layer_cropping2d(1, 0, 0, 1); }
static dc_layer *make_cropping1d(void) { return dc_layer_cropping1d(1, 1); }
/* depthwise and grouped convolutions (layers_depthwise.c) */
static dc_layer *make_depthwise_conv2d(void)
{
    dc_depthwise_config c = dc_depthwise_defaults(3, 3);
    c.depth_multiplier = 2;
    c.padding = DC_PADDING_SAME;
    c.activation = "relu";
    return dc_layer_depthwise_conv2d_ex(&c);
}
static dc_layer *make_separable_conv2d(void) { return dc_layer_separable_conv2d(3, 3, 3, "tanh"); }
static dc_layer *make_conv2d_groups(void)
{
    dc_conv_config c = dc_conv_defaults(4, 3, 3);
    c.groups = 2;
    return dc_layer_conv2d_ex(&c);
}
static dc_layer *make_conv2d_transpose(void) { return dc_layer_conv2d_transpose(3, 3, 3, 2, DC_PADDING_SAME, "relu"); }
static dc_layer *make_conv1d_transpose(void) { return dc_layer_conv1d_transpose(2, 3, 2, DC_PADDING_VALID, NULL); }
static dc_layer *make_random_flip(void) { return dc_layer_random_flip("horizontal"); }
static dc_layer *make_random_translation(void) { return dc_layer_random_translation(SMALL, SMALL, "reflect", NULL, 0); }
static dc_layer *make_random_rotation(void) { return dc_layer_random_rotation(SMALL, "constant", "nearest", 0.5f); }
static dc_layer *make_random_zoom(void) { return dc_layer_random_zoom(SMALL, NULL, "nearest", "bilinear", 0); }
static dc_layer *make_random_brightness(void) { return dc_layer_random_brightness(SMALL, RANGE); }
static dc_layer *make_random_contrast(void) { return dc_layer_random_contrast((float[]){0.2f, 0.2f}, RANGE); }
static dc_layer *make_add(void) { return dc_layer_add(); }
static dc_layer *make_subtract(void) { return dc_layer_subtract(); }
static dc_layer *make_multiply(void) { return dc_layer_multiply(); }
static dc_layer *make_average(void) { return dc_layer_average(); }
static dc_layer *make_maximum(void) { return dc_layer_maximum(); }
static dc_layer *make_minimum(void) { return dc_layer_minimum(); }
static dc_layer *make_concatenate(void) { return dc_layer_concatenate(-1); }
static dc_layer *make_log_softmax(void) { return dc_layer_log_softmax(); }
static dc_layer *make_broadcast(void) { return dc_layer_broadcast(2); }
static dc_layer *make_constant_op(void) { return dc_layer_constant_op(2, 1, (int[]){4}); }
static dc_layer *make_unary(void) { return dc_layer_hard_swish(2.0f, 0.5f); }
static dc_layer *make_reduce_mean(void) { return dc_layer_reduce_mean(); }
static dc_layer *make_matmul(void) { return dc_layer_matmul(0, 1); }
/* attention layers: called on two inputs (query, value) of the case's shape */
static dc_layer *make_multi_head_attention(void)
{
    dc_mha_config c = dc_mha_defaults(2, 3);
    c.value_dim = 2;
    c.kernel_l2 = 0.01f;
    return dc_layer_multi_head_attention_ex(&c);
}
static dc_layer *make_attention(void) { return dc_layer_attention(1, "concat"); }
static dc_layer *make_additive_attention(void) { return dc_layer_additive_attention(1); }
static dc_layer *make_position_embedding(void) { return dc_layer_position_embedding(7); }
static dc_layer *make_dot(void) { return dc_layer_dot(2, -1, 1); }

/* Normalization adapted on fixed data: its statistics are saved weights. */
static dc_layer *make_normalization(void)
{
    dc_tensor *data = dc_tensor_from(2, (int[]){2, 3}, (float[]){1, 2, 3, 3, 6, 9});
    dc_layer *l = dc_layer_normalization();
    assert_int_equal(dc_layer_normalization_adapt(l, data), DC_OK);
    dc_tensor_free(data);
    return l;
}

static const layer_case cases[] = {
    {"Dense", make_dense, 1, {4}, 0},
    {"Flatten", make_flatten, 2, {2, 3}, 0},
    {"Activation", make_activation, 1, {4}, 0},
    {"Reshape", make_reshape, 1, {6}, 0},
    {"Conv2D", make_conv2d, 3, {5, 5, 2}, 0},
    {"Conv1D", make_conv1d, 2, {6, 2}, 0},
    {"MaxPooling2D", make_maxpool2d, 3, {4, 4, 2}, 0},
    {"AveragePooling2D", make_avgpool2d, 3, {4, 4, 2}, 0},
    {"MaxPooling1D", make_maxpool1d, 2, {6, 2}, 0},
    {"AveragePooling1D", make_avgpool1d, 2, {6, 2}, 0},
    {"GlobalAveragePooling2D", make_gap2d, 3, {4, 4, 2}, 0},
    {"GlobalMaxPooling2D", make_gmp2d, 3, {4, 4, 2}, 0},
    {"GlobalAveragePooling1D", make_gap1d, 2, {6, 2}, 0},
    {"GlobalMaxPooling1D", make_gmp1d, 2, {6, 2}, 0},
    {"Dropout", make_dropout, 1, {4}, 0},
    {"BatchNormalization", make_bn, 1, {4}, 0},
    {"Embedding", make_embedding, 1, {5}, 1},
    {"SimpleRNN", make_simple_rnn, 2, {5, 3}, 0},
    {"LSTM", make_lstm, 2, {5, 3}, 0},
    {"GRU", make_gru, 2, {5, 3}, 0},
    {"Bidirectional", make_bidirectional, 2, {5, 3}, 0},
    {"LayerNormalization", make_layer_norm, 1, {4}, 0},
    {"ReLU", make_relu, 1, {4}, 0},
    {"LeakyReLU", make_leaky_relu, 1, {4}, 0},
    {"ELU", make_elu, 1, {4}, 0},
    {"PReLU", make_prelu, 1, {4}, 0},
    {"Softmax", make_softmax, 1, {4}, 0},
    {"Rescaling", make_rescaling, 1, {4}, 0},
    {"Normalization", make_normalization, 1, {3}, 0},
    {"GaussianNoise", make_gaussian_noise, 1, {4}, 0},
    {"GaussianDropout", make_gaussian_dropout, 1, {4}, 0},
    {"SpatialDropout1D", make_spatial_dropout1d, 2, {6, 2}, 0},
    {"SpatialDropout2D", make_spatial_dropout2d, 3, {4, 4, 2}, 0},
    {"RepeatVector", make_repeat_vector, 1, {4}, 0},
    {"Permute", make_permute, 2, {2, 3}, 0},
    {"Masking", make_masking, 2, {5, 3}, 0},
    {"TimeDistributed", make_time_distributed, 2, {5, 3}, 0},
    {"UpSampling2D", make_upsampling2d, 3, {3, 3, 2}, 0},
    {"UpSampling1D", make_upsampling1d, 2, {4, 2}, 0},
    {"ZeroPadding2D", make_zero_padding2d, 3, {3, 3, 2}, 0},
    {"ZeroPadding1D", make_zero_padding1d, 2, {4, 2}, 0},
    {"Cropping2D", make_cropping2d, 3, {4, 4, 2}, 0},
    {"Cropping1D", make_cropping1d, 2, {5, 2}, 0},
    {"Conv2DTranspose", make_conv2d_transpose, 3, {3, 3, 2}, 0},
    {"Conv1DTranspose", make_conv1d_transpose, 2, {4, 2}, 0},
    {"RandomFlip", make_random_flip, 3, {4, 4, 3}, 0},
    {"RandomTranslation", make_random_translation, 3, {4, 4, 3}, 0},
    {"RandomRotation", make_random_rotation, 3, {4, 4, 3}, 0},
    {"RandomZoom", make_random_zoom, 3, {4, 4, 3}, 0},
    {"RandomBrightness", make_random_brightness, 3, {4, 4, 3}, 0},
    {"RandomContrast", make_random_contrast, 3, {4, 4, 3}, 0},
    {"Add", make_add, 1, {4}, 0},
    {"Subtract", make_subtract, 1, {4}, 0},
    {"Multiply", make_multiply, 1, {4}, 0},
    {"Average", make_average, 1, {4}, 0},
    {"Maximum", make_maximum, 1, {4}, 0},
    {"Minimum", make_minimum, 1, {4}, 0},
    {"Concatenate", make_concatenate, 1, {4}, 0},
    {"DepthwiseConv2D", make_depthwise_conv2d, 3, {5, 5, 2}, 0},
    {"SeparableConv2D", make_separable_conv2d, 3, {5, 5, 2}, 0},
    {"Conv2D", make_conv2d_groups, 3, {5, 5, 4}, 0}, /* groups 2 */
    {"LogSoftmax", make_log_softmax, 1, {4}, 0},
    {"Broadcast", make_broadcast, 1, {4}, 0},
    {"ConstantOp", make_constant_op, 1, {4}, 0},
    {"Unary", make_unary, 1, {4}, 0},
    {"ReduceMean", make_reduce_mean, 2, {3, 4}, 0},
    {"MatMul", make_matmul, 2, {5, 4}, 0},
    {"MultiHeadAttention", make_multi_head_attention, 2, {5, 4}, 0},
    {"Attention", make_attention, 2, {5, 4}, 0},
    {"AdditiveAttention", make_additive_attention, 2, {5, 4}, 0},
    {"PositionEmbedding", make_position_embedding, 2, {5, 4}, 0},
    {"Dot", make_dot, 2, {5, 4}, 0},
};
enum { N_CASES = sizeof cases / sizeof cases[0], ROWS = 3 };

static const layer_case *case_of(const char *type)
{
    for (int c = 0; c < N_CASES; c++)
        if (strcmp(cases[c].type, type) == 0)
            return &cases[c];
    return NULL;
}

static void test_every_registered_class_has_a_case(void **state)
{
    (void)state;
    for (int i = 0; i < dc_layer_registry_count; i++)
        if (!case_of(dc_layer_registry[i]->type))
            fail_msg("layer class \"%s\" is in the registry but has no case in test_layer_classes.c",
                     dc_layer_registry[i]->type);
    for (int c = 0; c < N_CASES; c++) /* and no case names a class that is not registered */
        assert_non_null(dc_layer_class_find(cases[c].type));
}

/* Whether case c's layer is a merge layer (two inputs). */
static int is_merge(const layer_case *c) { return dc_layer_class_find(c->type)->build == NULL; }

/* The model of case c: Sequential around the layer, or a functional model
 * joining two inputs for a merge layer. */
static dc_model *model_of(const layer_case *c)
{
    dc_layer *l = c->make();
    assert_non_null(l);
    assert_string_equal(l->cls->type, c->type);
    if (!is_merge(c)) {
        dc_model *m = dc_sequential_new(c->ndim, c->shape);
        assert_int_equal(dc_model_add(m, l), DC_OK);
        return m;
    }
    dc_model *m = dc_functional_new(c->ndim, c->shape);
    int second = dc_model_input(m, c->ndim, c->shape);
    assert_int_equal(dc_model_merge(m, l, 2, (int[]){DC_MODEL_INPUT, second}), 2);
    return m;
}

/* ROWS samples for the input of case c's model: token ids 0..9, or values in [-1, 1). */
static dc_tensor *input_of(const layer_case *c)
{
    int shape[DC_MAX_DIMS] = {ROWS};
    int merge = is_merge(c), cols = (int)dc_shape_size(c->ndim, c->shape);
    if (merge) /* two inputs, packed side by side */
        shape[1] = 2 * cols;
    else
        memcpy(shape + 1, c->shape, (size_t)c->ndim * sizeof(int));
    dc_tensor *x = dc_tensor_new(merge ? 2 : c->ndim + 1, shape);
    dc_rng rng;
    dc_rng_seed(&rng, 7);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = c->token_ids ? (float)(i * 7 % 10) : 2.0f * dc_rng_uniform(&rng) - 1.0f;
    return x;
}

static char *json_of(dc_model *m)
{
    char *json = NULL;
    if (dc_model_to_json(m, &json) != DC_OK)
        fail_msg("to_json: %s", dc_errmsg());
    return json;
}

/* Summary, JSON round trip, save, load, predict for one case. */
static void check_case(const layer_case *c, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, c->type);
    dc_model *m = model_of(c), *again = NULL, *loaded = NULL;
    char *summary = summary_of(m);
    if (!strstr(summary, dc_layer_class_find(c->type)->snake)) /* the layer's name leads its row */
        fail_msg("%s: the summary does not list the layer:\n%s", c->type, summary);

    char *json = json_of(m);
    if (dc_model_from_json(json, strlen(json), &again) != DC_OK)
        fail_msg("%s: from_json: %s\n%s", c->type, dc_errmsg(), json);
    char *json2 = json_of(again);
    if (strcmp(json, json2) != 0)
        fail_msg("%s: the JSON changed on a round trip:\n%s\n%s", c->type, json, json2);

    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail_msg("%s: compile: %s", c->type, dc_errmsg());
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    if (dc_model_load(path, &loaded) != DC_OK)
        fail_msg("%s: load: %s", c->type, dc_errmsg());
    char *summary2 = summary_of(loaded);
    assert_string_equal(summary, summary2);

    dc_tensor *x = input_of(c), *y = NULL, *y2 = NULL;
    if (dc_model_predict(m, x, ROWS, &y) != DC_OK || dc_model_predict(loaded, x, ROWS, &y2) != DC_OK)
        fail_msg("%s: predict: %s", c->type, dc_errmsg());
    assert_int_equal(y->size, y2->size);
    if (memcmp(y->data, y2->data, y->size * sizeof(float)) != 0)
        fail_msg("%s: the loaded model predicts other values", c->type);

    unlink(path);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(y2);
    free(summary);
    free(summary2);
    free(json);
    free(json2);
    dc_model_free(m);
    dc_model_free(again);
    dc_model_free(loaded);
}

static void test_every_class_round_trips(void **state)
{
    (void)state;
    char dir[] = "/tmp/deepc_layer_classes_XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int c = 0; c < N_CASES; c++)
        check_case(&cases[c], dir);
    rmdir(dir);
}

/* Expects constructor `made` to have failed on the activation name "rleu". */
static void expect_unknown_activation(dc_layer *made, const char *who)
{
    char want[96];
    assert_null(made);
    assert_int_equal(dc_last_status(), DC_ERR_ARG);
    snprintf(want, sizeof want, "%s: unknown activation \"rleu\"; expected one of linear, sigmoid", who);
    assert_errmsg_contains(want);
}

/* The configs take activation names: resolved and copied by the _ex
 * constructor (the caller's string may change after), NULL for Keras'
 * default, an unknown name refused there. */
static void test_activation_names_in_configs(void **state)
{
    (void)state;
    char name[] = "relu";
    dc_dense_config d = dc_dense_defaults(2);
    d.activation = name;
    dc_layer *dense = dc_layer_dense_ex(&d);
    name[0] = 'X';
    dc_rnn_config r = dc_rnn_defaults(DC_RNN_GRU, 2);
    r.activation = NULL;
    r.recurrent_activation = "sigmoid";
    dc_model *m = dc_sequential_new(2, (int[]){3, 4});
    assert_int_equal(dc_model_add(m, dense), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&r)), DC_OK);
    char *json = json_of(m);
    if (!strstr(json, "\"units\":2,\"activation\":\"relu\"") ||
        !strstr(json, "\"activation\":\"tanh\",\"recurrent_activation\":\"sigmoid\""))
        fail_msg("the activations are not the ones given:\n%s", json);
    free(json);
    dc_model_free(m);

    d.activation = "rleu";
    expect_unknown_activation(dc_layer_dense_ex(&d), "Dense");
    dc_conv_config c = dc_conv_defaults(2, 3, 3);
    c.activation = "rleu";
    expect_unknown_activation(dc_layer_conv2d_ex(&c), "Conv2D");
    expect_unknown_activation(dc_layer_conv1d_ex(&c), "Conv1D");
    expect_unknown_activation(dc_layer_conv2d_transpose_ex(&c, NULL), "Conv2DTranspose");
    expect_unknown_activation(dc_layer_conv1d_transpose_ex(&c, NULL), "Conv1DTranspose");
    dc_depthwise_config dw = dc_depthwise_defaults(3, 3);
    dw.filters = 2;
    dw.activation = "rleu";
    expect_unknown_activation(dc_layer_depthwise_conv2d_ex(&dw), "DepthwiseConv2D");
    expect_unknown_activation(dc_layer_separable_conv2d_ex(&dw), "SeparableConv2D");
    r.recurrent_activation = "rleu";
    expect_unknown_activation(dc_layer_rnn_ex(&r), "GRU");
    r.recurrent_activation = NULL;
    r.activation = "rleu";
    expect_unknown_activation(dc_layer_rnn_ex(&r), "GRU");
    expect_unknown_activation(dc_layer_dense(2, "rleu"), "Dense");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_class_has_a_case),
        cmocka_unit_test(test_every_class_round_trips),
        cmocka_unit_test(test_activation_names_in_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
