/*
 * test_functional.c - the functional API: layers wired by references.
 *
 * A chain built with dc_model_apply is the Sequential model built with
 * dc_model_add, bit for bit in training; the summary and the JSON follow
 * Keras' Functional layout, and files written in Keras 3's and Keras 2's
 * inbound_nodes forms load.  Every misuse (a wrong reference, a failed call
 * later ignored, a layer whose output goes nowhere, a shared layer) and
 * every hostile file gets an error naming it.  A model that branches and
 * joins trains as its PyTorch twin (tests/fixtures/make_fixtures_functional.py):
 * a layer whose output feeds three layers gets the sum of their gradients.
 */
#include "iotest.h"
#include "modeltest.h"

#include "graph/graph.h"
#include "model/model.h" /* no_fuse */

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FEATURES 6
#define CLASSES 3

/* Dense(16, relu) -> BatchNormalization -> Dropout(0.3) -> Dense(3,
 * softmax), as a Sequential model or a functional chain. */
static dc_model *chain(int functional)
{
    int f = FEATURES;
    dc_model *m = functional ? dc_functional_new(1, &f) : dc_sequential_new(1, &f);
    assert_non_null(m);
    dc_model_set_seed(m, 11);
    dc_model_set_threads(m, 1);
    dc_layer *layers[] = {dc_layer_dense(16, "relu"), dc_layer_batch_normalization(), dc_layer_dropout(0.3f),
                          dc_layer_dense(CLASSES, "softmax")};
    int ref = DC_MODEL_INPUT;
    for (int i = 0; i < 4; i++) {
        if (functional)
            assert_int_equal(ref = dc_model_apply(m, layers[i], ref), i + 1);
        else
            assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    }
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    return m;
}

/* Fits a and b alike (batch 16, quiet; b's graph with opts.no_grad_set =
 * !b_grad_set) and asserts the same weights, the moving statistics included,
 * and the same predictions, bit for bit. */
static void assert_train_alike(dc_model *a, dc_model *b, const dc_tensor *x, const dc_tensor *y, int epochs,
                               int b_grad_set)
{
    dc_fit_config c = quiet_fit(epochs, 16);
    dc_history *ha = NULL, *hb = NULL;
    assert_int_equal(dc_model_fit(a, x, y, &c, &ha), DC_OK);
    dc_model_graph(b)->opts.no_grad_set = !b_grad_set;
    assert_int_equal(dc_model_fit(b, x, y, &c, &hb), DC_OK);
    size_t na, nb;
    const float *pa = dc_graph_params(dc_model_graph(a), &na), *pb = dc_graph_params(dc_model_graph(b), &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na * sizeof(float));
    assert_same_predictions(a, b, x);
    dc_history_free(ha);
    dc_history_free(hb);
}

static void test_chain_trains_as_sequential(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(96, FEATURES, CLASSES, 5, &x, &y);
    dc_model *s = chain(0), *f = chain(1);
    assert_true(dc_model_is_functional(f));
    assert_false(dc_model_is_functional(s));
    assert_train_alike(s, f, x, y, 3, 1);
    dc_model_free(s);
    dc_model_free(f);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_chain_summary(void **state)
{
    (void)state;
    dc_model *m = chain(1);
    char *s = summary_of(m);
    /* a chain prints tf-keras' Sequential table, with the InputLayer first */
    const char *want = "Model: \"functional\"\n"
                       "_________________________________________________________________\n"
                       " Layer (type)                Output Shape              Param #   \n"
                       "=================================================================\n"
                       " input_layer (InputLayer)    [(None, 6)]               0         \n"
                       " dense (Dense)               (None, 16)                112       \n";
    assert_memory_equal(s, want, strlen(want));
    assert_true(summary_has_row(s, "dense_1 (Dense)", "(None, 3)", 51));
    assert_non_null(strstr(s, "Total params: 227\nTrainable params: 195\nNon-trainable params: 32\n"));
    free(s);
    dc_model_free(m);
}

static void test_chain_round_trip(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(40, FEATURES, CLASSES, 6, &x, &y);
    dc_model *m = chain(1);
    dc_fit_config c = quiet_fit(1, 8);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    char *dir = make_dir();
    char *json = assert_round_trip(m, x, dir, 1, "sparse_categorical_crossentropy", "accuracy");
    assert_non_null(strstr(json, "\"class_name\":\"Functional\""));
    assert_non_null(strstr(json, "\"input_layers\":[\"input_layer\",0,0],\"output_layers\":[\"dense_1\",0,0]"));
    assert_non_null(strstr(json, "\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":"
                                 "{\"shape\":[null,16],\"dtype\":\"float32\",\"keras_history\":[\"dense\",0,0]}}],"
                                 "\"kwargs\":{}}]"));
    free(json);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* A Keras 3 file (as model.to_json() writes it, with keys deepc ignores)
 * and the Keras 2 form of the same graph load into the same model. */
static void test_loads_keras_forms(void **state)
{
    (void)state;
    static const char *keras3 =
        "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": \"functional\", "
        "\"trainable\": true, \"layers\": [{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", "
        "\"config\": {\"batch_shape\": [null, 4], \"dtype\": \"float32\", \"sparse\": false, \"name\": \"x\"}, "
        "\"registered_name\": null, \"name\": \"x\", \"inbound_nodes\": []}, {\"module\": \"keras.layers\", "
        "\"class_name\": \"Dense\", \"config\": {\"name\": \"hidden\", \"trainable\": true, \"units\": 5, "
        "\"activation\": \"relu\"}, \"registered_name\": null, \"build_config\": {\"input_shape\": [null, 4]}, "
        "\"name\": \"hidden\", \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": "
        "{\"shape\": [null, 4], \"dtype\": \"float32\", \"keras_history\": [\"x\", 0, 0]}}], \"kwargs\": {}}]}, "
        "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 2}, "
        "\"name\": \"out\", \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": "
        "{\"shape\": [null, 5], \"dtype\": \"float32\", \"keras_history\": [\"hidden\", 0, 0]}}], \"kwargs\": "
        "{}}]}], \"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}";
    static const char *keras2 =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"model\", \"layers\": [{\"class_name\": "
        "\"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": \"x\"}, \"name\": \"x\", "
        "\"inbound_nodes\": []}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"hidden\", \"units\": 5, "
        "\"activation\": \"relu\"}, \"name\": \"hidden\", \"inbound_nodes\": [[[\"x\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 2}, \"name\": \"out\", "
        "\"inbound_nodes\": [[[\"hidden\", 0, 0, {}]]]}], \"input_layers\": [[\"x\", 0, 0]], \"output_layers\": "
        "[[\"out\", 0, 0]]}}";
    dc_model *a = NULL, *b = NULL;
    if (dc_model_from_json(keras3, strlen(keras3), &a) != DC_OK)
        fail_msg("keras 3 form: %s", dc_errmsg());
    if (dc_model_from_json(keras2, strlen(keras2), &b) != DC_OK)
        fail_msg("keras 2 form: %s", dc_errmsg());
    char *ja, *jb;
    assert_int_equal(dc_model_to_json(a, &ja), DC_OK);
    assert_int_equal(dc_model_to_json(b, &jb), DC_OK);
    assert_string_equal(ja, jb);
    assert_int_equal(dc_model_layer_count(a), 2);
    assert_true(dc_model_is_functional(a));
    /* the input keeps deepc's name: a weight file names layers, not the input */
    assert_non_null(strstr(ja, "\"keras_history\":[\"input_layer\",0,0]"));
    assert_non_null(strstr(ja, "\"output_layers\":[\"out\",0,0]"));
    free(ja);
    free(jb);
    dc_model_free(a);
    dc_model_free(b);
}

/* A functional JSON around one layers array: input x (4,), then `layers`. */
static void expect_bad_file(const char *layers, const char *io, const char *needle)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"InputLayer\", "
             "\"config\": {\"batch_shape\": [null, 4], \"name\": \"x\"}, \"name\": \"x\", \"inbound_nodes\": []}%s], "
             "%s}}",
             layers, io ? io : "\"input_layers\": [\"x\", 0, 0], \"output_layers\": [\"b\", 0, 0]");
    dc_model *m = (dc_model *)1;
    dc_status st = dc_model_from_json(json, strlen(json), &m);
    if (st == DC_OK)
        fail_msg("loaded, expected \"%s\"", needle);
    assert_null(m);
    assert_errmsg_contains(needle);
}

#define DENSE(name, from) \
    ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"" name "\", \"units\": 3}, \"name\": \"" name "\", " \
    "\"inbound_nodes\": [[[\"" from "\", 0, 0, {}]]]}"

static void test_hostile_files(void **state)
{
    (void)state;
    expect_bad_file(DENSE("a", "x") DENSE("b", "nowhere"), NULL,
                    "layer 2: inbound tensor [\"nowhere\", 0, 0] is not an input or the output of a layer");
    expect_bad_file(DENSE("a", "b") DENSE("b", "a"), NULL, "layer 1: inbound tensor [\"b\", 0, 0] is not an input or "
                                                           "the output of a layer of the model (or the layers form a "
                                                           "cycle)");
    /* listed out of order: made when its input exists, so the output is not the last call */
    expect_bad_file(DENSE("a", "b") DENSE("b", "x"), NULL,
                    "output_layers: the output must be the last call made, of \"a\"");
    expect_bad_file(DENSE("a", "x") DENSE("b", "x"), NULL, "the output of a goes to no layer");
    expect_bad_file(DENSE("a", "x") DENSE("b", "a"), "\"input_layers\": [\"x\", 0, 0], \"output_layers\": [\"a\", 0, 0]",
                    "output_layers: the output must be the last call made, of \"b\"");
    expect_bad_file(DENSE("a", "x") DENSE("b", "a"), "\"input_layers\": [[\"x\", 0, 0], [\"a\", 0, 0]], "
                                                     "\"output_layers\": [\"b\", 0, 0]",
                    "input_layers[1]: \"a\" is not an InputLayer of the model");
    expect_bad_file(DENSE("a", "x") DENSE("b", "a"), "\"input_layers\": [\"x\", 0, 0], "
                                                     "\"output_layers\": [[\"b\", 0, 0], [\"a\", 0, 0]]",
                    "output_layers: more than 1 tensors (a model with several outputs is not supported)");
    expect_bad_file(DENSE("a", "x") DENSE("b", "a"), "\"output_layers\": [\"b\", 0, 0]",
                    "input_layers: expected [\"name\", 0, 0] or a list of them");
    expect_bad_file(", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, \"name\": \"b\", "
                    "\"inbound_nodes\": [[[\"x\", 1, 0, {}]]]}",
                    NULL, "layer 1: inbound tensor [\"x\", 1, 0] is not an input or the output");
    /* a layer called twice whose first call leads nowhere */
    expect_bad_file(", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, \"name\": \"b\", "
                    "\"inbound_nodes\": [[[\"x\", 0, 0, {}]], [[\"x\", 0, 0, {}]]]}",
                    "\"input_layers\": [\"x\", 0, 0], \"output_layers\": [\"b\", 1, 0]",
                    "the output of b goes to no layer");
    expect_bad_file(", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, \"name\": \"b\"}", NULL,
                    "layer 1: missing \"inbound_nodes\"");
    expect_bad_file(DENSE("a", "x") ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, "
                                    "\"name\": \"b\", \"inbound_nodes\": [[[\"x\", 0, 0, {}], [\"a\", 0, 0, {}]]]}",
                    NULL, "layer 2 (Dense): takes one input tensor, inbound_nodes names 2");
    expect_bad_file(", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, \"name\": \"b\", "
                    "\"inbound_nodes\": [{\"args\": [{\"class_name\": \"tensor\"}], \"kwargs\": {}}]}",
                    NULL, "class_name must be \"__keras_tensor__\"");
    expect_bad_file(", {\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 3}, \"name\": \"b\", "
                    "\"inbound_nodes\": [{\"args\": [], \"kwargs\": {}}]}",
                    NULL, "args must hold one tensor or one list of tensors");
    expect_bad_file(", {\"class_name\": \"Add\", \"config\": {\"name\": \"b\"}, \"name\": \"b\", "
                    "\"inbound_nodes\": [[[\"x\", 0, 0, {}]]]}",
                    NULL, "layer 1 (Add): merge: Add: it takes 2 to 8 inputs, not 1");
    static const char *seq = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
                             "\"InputLayer\", \"config\": {\"batch_shape\": [null, 4]}}, {\"class_name\": "
                             "\"Add\", \"config\": {}}]}}";
    dc_model *m = NULL;
    assert_int_not_equal(dc_model_from_json(seq, strlen(seq), &m), DC_OK);
    assert_null(m);
    assert_errmsg_contains("layer 1 (Add): add: Add is a merge layer");
}

static dc_model *functional(void)
{
    int f = FEATURES;
    dc_model *m = dc_functional_new(1, &f);
    assert_non_null(m);
    return m;
}

static void test_misuse(void **state)
{
    (void)state;
    int f = FEATURES;
    dc_model *s = dc_sequential_new(1, &f), *m = functional();
    /* each way of building wants its own model kind */
    assert_int_equal(dc_model_apply(s, dc_layer_dense(2, NULL), DC_MODEL_INPUT), -1);
    assert_errmsg_contains("apply: Dense: a Sequential model takes its layers by dc_model_add");
    assert_int_not_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    assert_errmsg_contains("add: a functional model takes its layers by dc_model_apply");
    assert_int_not_equal(dc_model_add(s, dc_layer_add()), DC_OK);
    assert_errmsg_contains("add: Add is a merge layer, joining several outputs: make the model with dc_functional_new");
    assert_int_equal(dc_model_apply(m, dc_layer_concatenate(-1), DC_MODEL_INPUT), -1);
    assert_errmsg_contains("apply: Concatenate: it is a merge layer: join several outputs with dc_model_merge");
    dc_model_free(m);
    m = functional();
    assert_int_equal(dc_model_merge(m, dc_layer_add(), 1, (int[]){0}), -1);
    assert_errmsg_contains("merge: Add: it takes 2 to 8 inputs, not 1");
    dc_model_free(m);
    m = functional();
    assert_int_equal(dc_model_merge(m, dc_layer_add(), 2, NULL), -1);
    assert_errmsg_contains("merge: Add: inputs is NULL");
    assert_int_equal(dc_model_merge(m, dc_layer_dense(2, NULL), 2, (int[]){0, 0}), -1);
    assert_errmsg_contains("merge: Dense: it takes one input: use dc_model_apply");
    dc_model_free(m);
    /* a reference that does not exist */
    m = functional();
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), 0), 1);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), 2), -1);
    assert_errmsg_contains("apply: Dense: input 0 is 2, but the model has references 0 to 1 (1 input, then its "
                           "layers)");
    /* ... marks the model: a later build names the first failure */
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("model: an earlier dc_model_input / apply / merge failed (apply: Dense: input 0 is 2,");
    dc_model_free(m);
    /* a chain of unchecked calls after a failed constructor */
    m = functional();
    int a = dc_model_apply(m, dc_layer_dense(0, NULL), DC_MODEL_INPUT); /* units 0: the constructor fails */
    int b = dc_model_apply(m, dc_layer_dense(3, NULL), a);
    assert_int_equal(a, -1);
    assert_int_equal(b, -1);
    assert_errmsg_contains("apply: Dense: input 0 is -1, the result of a call that failed");
    assert_int_not_equal(dc_model_summary(m, stdout), DC_OK);
    /* the constructor's own message, once, with where it surfaced */
    assert_errmsg_contains("apply: Dense: units 0 is below 1");
    dc_model_free(m);
    /* a layer of another model */
    m = functional();
    dc_model *other = functional();
    dc_layer *d = dc_layer_dense(4, NULL);
    assert_int_equal(dc_model_apply(other, d, DC_MODEL_INPUT), 1);
    assert_int_equal(dc_model_apply(m, d, DC_MODEL_INPUT), -1);
    assert_errmsg_contains("apply: layer dense is already in another model");
    assert_int_not_equal(dc_model_add(s, d), DC_OK);
    assert_errmsg_contains("add: layer dense is already in a model");
    assert_int_not_equal(dc_model_add(m, d), DC_OK); /* m is functional: refused, d not freed */
    assert_errmsg_contains("add: layer dense is already in a model");
    dc_model_free(m);
    dc_model_free(other); /* frees d once */
    /* an output that goes nowhere */
    m = functional();
    assert_int_equal(dc_model_apply(m, dc_layer_dense(4, NULL), DC_MODEL_INPUT), 1);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), DC_MODEL_INPUT), 2);
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("model: the output of dense goes to no layer; the model's output is the last layer "
                           "applied (dense_1)");
    dc_model_free(m);
    /* after compile */
    m = functional();
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), DC_MODEL_INPUT), 1);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), 1), -1);
    assert_errmsg_contains("apply: Dense: the model is already built");
    dc_model_free(m);
    /* NULL model, no layers */
    assert_int_equal(dc_model_apply(NULL, dc_layer_dense(2, NULL), 0), -1);
    assert_errmsg_contains("apply: model is NULL");
    m = functional();
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("no layers");
    dc_model_free(m);
    assert_null(dc_functional_new(0, &f));
    assert_errmsg_contains("functional: input has 0 dimensions");
    dc_model_free(s);
}

/* The model of make_fixtures_functional.py: a residual branch (a feeds
 * conv2d_1, add and concatenate), a concatenation and a sigmoid gate. */
static dc_model *branching_model(void)
{
    dc_model *m = dc_functional_new(3, (int[]){6, 6, 2});
    assert_non_null(m);
    dc_conv_config same = dc_conv_defaults(4, 3, 3);
    same.padding = DC_PADDING_SAME;
    dc_conv_config same_relu = same;
    same_relu.activation = "relu";
    same.use_bias = 0; /* before BatchNormalization (see the fixture script) */
    int a = dc_model_apply(m, dc_layer_conv2d_ex(&same_relu), DC_MODEL_INPUT);
    int b = dc_model_apply(m, dc_layer_conv2d_ex(&same), a);
    int c = dc_model_apply(m, dc_layer_batch_normalization(), b);
    int d = dc_model_merge(m, dc_layer_add(), 2, (int[]){a, c});
    int e = dc_model_apply(m, dc_layer_activation("relu"), d);
    int f = dc_model_merge(m, dc_layer_concatenate(-1), 2, (int[]){a, e});
    int g = dc_model_apply(m, dc_layer_max_pooling2d(2, 2), f);
    int h = dc_model_apply(m, dc_layer_global_average_pooling2d(), g);
    int s = dc_model_apply(m, dc_layer_dense(8, "sigmoid"), h);
    int t = dc_model_merge(m, dc_layer_multiply(), 2, (int[]){h, s});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(3, "softmax"), t), 11);
    dc_model_set_threads(m, 1);
    return m;
}

/* See test_train.c's TOLERANCES: the same bounds, the same reasons. */
static void test_branching_model_matches_reference(void **state)
{
    (void)state;
    fx_file *f = fx_load("functional.txt");
    dc_model *m = branching_model();
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    assert_int_equal(dc_model_set_lr(m, 0.01f), DC_OK);
    fit_vs_fixture(m, f, 11);

    /* the graph saves and loads: same predictions, same JSON */
    char *dir = make_dir();
    const fx_array *axt = fx_get(f, "x_test");
    dc_tensor *xt = dc_tensor_from(axt->ndim, axt->shape, axt->data);
    char *json = assert_round_trip(m, xt, dir, 1, "sparse_categorical_crossentropy", NULL);
    assert_non_null(strstr(json, "{\"class_name\":\"Add\",\"config\":{\"name\":\"add\",\"trainable\":true,"
                                 "\"dtype\":\"float32\"},\"name\":\"add\",\"inbound_nodes\":[{\"args\":[["
                                 "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null,6,6,4],\"dtype\":"
                                 "\"float32\",\"keras_history\":[\"conv2d\",0,0]}},{\"class_name\":"
                                 "\"__keras_tensor__\",\"config\":{\"shape\":[null,6,6,4],\"dtype\":\"float32\","
                                 "\"keras_history\":[\"batch_normalization\",0,0]}}]],\"kwargs\":{}}]}"));
    free(json);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(xt);
    fx_free(f);
}

static void test_branching_summary(void **state)
{
    (void)state;
    dc_model *m = branching_model();
    char *s = summary_of(m);
    /* tf-keras' table for a graph: 98 wide, with "Connected to" */
    const char *want =
        "Model: \"functional\"\n"
        "__________________________________________________________________________________________________\n"
        " Layer (type)                Output Shape                 Param #   Connected to                  \n"
        "==================================================================================================\n"
        " input_layer (InputLayer)    [(None, 6, 6, 2)]            0         []                            \n"
        " conv2d (Conv2D)             (None, 6, 6, 4)              76        ['input_layer[0][0]']         \n"
        " conv2d_1 (Conv2D)           (None, 6, 6, 4)              144       ['conv2d[0][0]']              \n"
        " batch_normalization (Batch  (None, 6, 6, 4)              16        ['conv2d_1[0][0]']            \n"
        " Normalization)                                                                                   \n"
        " add (Add)                   (None, 6, 6, 4)              0         ['conv2d[0][0]',              \n"
        "                                                                     'batch_normalization[0][0]'] \n"
        " activation (Activation)     (None, 6, 6, 4)              0         ['add[0][0]']                 \n"
        " concatenate (Concatenate)   (None, 6, 6, 8)              0         ['conv2d[0][0]',              \n"
        "                                                                     'activation[0][0]']          \n";
    assert_memory_equal(s, want, strlen(want));
    /* a long reference is cut where tf-keras cuts it, after 30 characters */
    assert_non_null(strstr(s, " multiply (Multiply)         (None, 8)                    0         "
                              "['global_average_pooling2d[0][\n"
                              "                                                                    0]',"));
    assert_non_null(strstr(s, "Total params: 335\nTrainable params: 327\nNon-trainable params: 8\n"));
    free(s);
    dc_model_free(m);
}

/* Inputs a (3,) and b (2, 2): Dense(4, relu) on a, Flatten on b,
 * Concatenate, Dense(2, softmax). */
static dc_model *two_inputs(void)
{
    dc_model *m = dc_functional_new(1, (int[]){3});
    assert_non_null(m);
    dc_model_set_seed(m, 4);
    dc_model_set_threads(m, 1);
    int b = dc_model_input(m, 2, (int[]){2, 2});
    assert_int_equal(b, 1);
    int d = dc_model_apply(m, dc_layer_dense(4, "relu"), DC_MODEL_INPUT);
    int f = dc_model_apply(m, dc_layer_flatten(), b);
    int c = dc_model_merge(m, dc_layer_concatenate(-1), 2, (int[]){d, f});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, "softmax"), c), 5);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    return m;
}

/* n samples: a in [-1, 1)^3, b in [-1, 1)^(2x2); label 1 when a0 + b00 > 0. */
static void two_input_data(int n, uint64_t seed, dc_tensor **a, dc_tensor **b, dc_tensor **y)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    *a = dc_tensor_new4(2, n, 3, 0, 0);
    *b = dc_tensor_new4(3, n, 2, 2, 0);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    for (size_t i = 0; i < (*a)->size; i++)
        (*a)->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < (*b)->size; i++)
        (*b)->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < n; i++)
        (*y)->data[i] = (*a)->data[3 * i] + (*b)->data[4 * i] > 0.0f;
}

static void test_two_inputs(void **state)
{
    (void)state;
    dc_tensor *a, *b, *y;
    two_input_data(200, 8, &a, &b, &y);
    dc_model *m = two_inputs();
    dc_tensor *x = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){a, b});
    assert_non_null(x);
    assert_int_equal(x->ndim, 2);
    assert_int_equal(x->shape[1], 7);
    assert_int_equal(dc_model_input_count(m), 2);

    /* predict by hand from the weights: softmax(concat(relu(a W + c), flat b) V + e) */
    dc_tensor *p = NULL, *w[4];
    assert_int_equal(dc_model_predict(m, x, 32, &p), DC_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(dc_model_get_weight(m, i < 2 ? 0 : 3, i % 2, &w[i]), DC_OK);
    for (int s = 0; s < 5; s++) {
        float h[8], z[2];
        for (int j = 0; j < 4; j++) {
            float v = w[1]->data[j];
            for (int k = 0; k < 3; k++)
                v += a->data[3 * s + k] * w[0]->data[4 * k + j];
            h[j] = v > 0.0f ? v : 0.0f;
        }
        for (int j = 0; j < 4; j++)
            h[4 + j] = b->data[4 * s + j];
        for (int o = 0; o < 2; o++) {
            z[o] = w[3]->data[o];
            for (int j = 0; j < 8; j++)
                z[o] += h[j] * w[2]->data[2 * j + o];
        }
        float e1 = 1.0f / (1.0f + expf(z[0] - z[1]));
        assert_close(&p->data[2 * s + 1], &e1, 1, 1e-5, 1e-6, "two-input prediction");
    }
    for (int i = 0; i < 4; i++)
        dc_tensor_free(w[i]);
    dc_tensor_free(p);

    /* fit with a validation split of the packed x: it learns, from both inputs */
    dc_fit_config c = quiet_fit(30, 16);
    c.validation_split = 0.25f;
    assert_int_equal(dc_model_set_lr(m, 0.01f), DC_OK);
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    const double *acc = dc_history_get(h, "val_accuracy");
    assert_non_null(acc);
    assert_true(acc[29] >= 0.9); /* 0.94 seen; from a alone no model gets past 0.75 */
    dc_history_free(h);

    /* the summary lists both inputs; the file keeps them */
    char *s = summary_of(m);
    assert_non_null(strstr(s, " input_layer (InputLayer)    [(None, 3)]                  0         []"));
    assert_non_null(strstr(s, " input_layer_1 (InputLayer)  [(None, 2, 2)]               0         []"));
    assert_non_null(strstr(s, " flatten (Flatten)           (None, 4)                    0         "
                              "['input_layer_1[0][0]']"));
    free(s);
    char *dir = make_dir();
    char *json = assert_round_trip(m, x, dir, 1, "sparse_categorical_crossentropy", "accuracy");
    assert_non_null(strstr(json, "\"input_layers\":[[\"input_layer\",0,0],[\"input_layer_1\",0,0]]"));
    free(json);
    rm_dir(dir);

    /* unpacked or badly packed inputs */
    assert_int_not_equal(dc_model_predict(m, a, 32, &p), DC_OK);
    assert_errmsg_contains("predict: x has shape (200, 3); the model's 2 inputs take x packed by "
                           "dc_model_pack_inputs, (N, 7)");
    assert_null(dc_model_pack_inputs(m, 1, (const dc_tensor *[]){a}));
    assert_errmsg_contains("pack_inputs: 1 tensors for a model with 2 inputs");
    assert_null(dc_model_pack_inputs(m, 2, (const dc_tensor *[]){b, a}));
    assert_errmsg_contains("pack_inputs: xs[0] has shape (200, 2, 2), input 0 expects (N, 3)");
    dc_tensor *a5 = tensor_rows(a, 0, 5);
    assert_null(dc_model_pack_inputs(m, 2, (const dc_tensor *[]){a5, b}));
    assert_errmsg_contains("pack_inputs: xs[1] has 200 samples, xs[0] has 5");
    dc_tensor_free(a5);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(a);
    dc_tensor_free(b);
    dc_tensor_free(y);
}

static void test_input_misuse(void **state)
{
    (void)state;
    int f = 3;
    dc_model *s = dc_sequential_new(1, &f), *m = functional();
    assert_int_equal(dc_model_input(s, 1, &f), -1);
    assert_errmsg_contains("input 1: a Sequential model has one input");
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), DC_MODEL_INPUT), 1);
    assert_int_equal(dc_model_input(m, 1, &f), -1);
    assert_errmsg_contains("input 1: add the inputs before the first layer");
    dc_model_free(m);
    m = functional();
    assert_int_equal(dc_model_input(m, 0, &f), -1);
    assert_errmsg_contains("input 1: the shape needs 1 to 7 dimensions");
    dc_model_free(m);
    /* an input no layer reads */
    m = functional();
    assert_int_equal(dc_model_input(m, 1, &f), 1);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(2, NULL), DC_MODEL_INPUT), 2);
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("model: the output of input_layer_1 goes to no layer");
    dc_model_free(m);
    for (int k = 1; k <= DC_MODEL_MAX_INPUTS; k++) {
        if (k == 1)
            m = functional();
        int r = dc_model_input(m, 1, &f);
        assert_int_equal(r, k < DC_MODEL_MAX_INPUTS ? k : -1);
    }
    assert_errmsg_contains("input 8: the model has the most inputs it can take");
    dc_model_free(m);
    /* the expected x is (N, ...) once closed (it printed "(N, 4, 4, 1))") */
    dc_model_free(s);
    s = dc_sequential_new(3, (int[]){4, 4, 1});
    assert_int_equal(dc_model_add(s, dc_layer_flatten()), DC_OK);
    assert_int_equal(dc_model_compile(s, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 3, 5, 0, 0), *p = NULL;
    assert_int_not_equal(dc_model_predict(s, x, 3, &p), DC_OK);
    assert_string_equal(dc_errmsg(), "predict: x has shape (3, 5), the model expects (N, 4, 4, 1)");
    dc_tensor_free(x);
    dc_model_free(s);
}

/* Keras lists an InputLayer where its depth puts it: here the second input
 * after the Dense that reads the first. */
static void test_loads_two_input_file(void **state)
{
    (void)state;
    static const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"functional\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3], \"name\": \"a\"}, \"name\": \"a\", "
        "\"inbound_nodes\": []}, "
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}, \"name\": \"d\", \"inbound_nodes\": "
        "[{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 3], \"dtype\": "
        "\"float32\", \"keras_history\": [\"a\", 0, 0]}}], \"kwargs\": {}}]}, "
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 2], \"name\": \"b\"}, \"name\": \"b\", "
        "\"inbound_nodes\": []}, "
        "{\"class_name\": \"Add\", \"config\": {\"name\": \"s\"}, \"name\": \"s\", \"inbound_nodes\": [{\"args\": [["
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"d\", 0, 0]}}, "
        "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"b\", 0, 0]}}]], \"kwargs\": {}}]}], "
        "\"input_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]], \"output_layers\": [[\"s\", 0, 0]]}}";
    dc_model *m = NULL;
    if (dc_model_from_json(json, strlen(json), &m) != DC_OK)
        fail_msg("%s", dc_errmsg());
    assert_int_equal(dc_model_input_count(m), 2);
    assert_int_equal(dc_model_layer_count(m), 2);
    char *s = summary_of(m);
    assert_non_null(strstr(s, " input_layer_1 (InputLayer)  [(None, 2)]                  0         []"));
    assert_non_null(strstr(s, " s (Add)                     (None, 2)                    0         ['d[0][0]',"
                              "                   \n                                                                "
                              "     'input_layer_1[0][0]']"));
    free(s);
    dc_model_free(m);
    /* input_layers must name every InputLayer */
    expect_bad_file(", {\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 2], \"name\": \"z\"}, "
                    "\"name\": \"z\", \"inbound_nodes\": []}" DENSE("b", "x"),
                    NULL, "input_layers names 1 inputs, the model lists 2 InputLayers");
    /* a shared layer called on inputs of two shapes fails at load (found by fuzz_json) */
    expect_bad_file(", {\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 2], \"name\": \"z\"}, "
                    "\"name\": \"z\", \"inbound_nodes\": []}, {\"class_name\": \"Dense\", \"config\": {\"name\": "
                    "\"a\", \"units\": 3}, \"name\": \"a\", \"inbound_nodes\": [[[\"x\", 0, 0, {}]], [[\"z\", 0, 0, "
                    "{}]]]}, {\"class_name\": \"Add\", \"config\": {\"name\": \"b\"}, \"name\": \"b\", "
                    "\"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"a\", 1, 0, {}]]]}",
                    "\"input_layers\": [[\"x\", 0, 0], [\"z\", 0, 0]], \"output_layers\": [\"b\", 0, 0]",
                    "model JSON: a: called again on an input of another shape: its weight a/kernel is (4, 3), this "
                    "call needs (2, 3)");
}

/* A Siamese pair: inputs a and b (4,), the same Dense(3, tanh) on each
 * (Keras' shared layer: one kernel, two calls), Subtract, Dense(1,
 * sigmoid); plain SGD with learning rate 1, so a step moves every weight by
 * minus its gradient. */
static dc_model *siamese(void)
{
    dc_model *m = dc_functional_new(1, (int[]){4});
    assert_non_null(m);
    dc_model_set_seed(m, 9);
    dc_model_set_threads(m, 1);
    int b = dc_model_input(m, 1, (int[]){4});
    dc_layer *shared = dc_layer_dense(3, "tanh");
    int ea = dc_model_apply(m, shared, DC_MODEL_INPUT);
    int eb = dc_model_apply(m, shared, b); /* the same layer again */
    assert_int_equal(eb, 3);
    int d = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){ea, eb});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(1, "sigmoid"), d), 5);
    assert_int_equal(dc_model_compile(m, "sgd", "binary_crossentropy", NULL, 0), DC_OK);
    assert_int_equal(dc_model_set_lr(m, 1.0f), DC_OK);
    return m;
}

static double batch_loss(dc_model *m, const dc_tensor *x, const dc_tensor *y)
{
    double r[1];
    assert_int_equal(dc_model_test_on_batch(m, x, y, NULL, r, 1), DC_OK);
    return r[0];
}

/* Both calls' gradients reach the one kernel: a step of fit moves every
 * weight as the finite differences of the loss say it should. */
static void test_shared_layer_gradient(void **state)
{
    (void)state;
    dc_tensor *a, *b, *y, *y_b;
    random_data(8, 4, 2, 21, &a, &y);
    random_data(8, 4, 2, 22, &b, &y_b);
    dc_tensor_free(y_b);
    dc_model *m = siamese();
    dc_tensor *x = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){a, b});
    size_t n;
    float *p = dc_graph_params(dc_model_graph(m), &n);
    assert_int_equal(dc_model_param_count(m), 4 * 3 + 3 + 3 + 1); /* the shared kernel once */
    assert_true(n <= 128); /* the flat buffer pads each weight */
    double fd[128];
    const float h = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + h;
        double up = batch_loss(m, x, y);
        p[i] = keep - h;
        double down = batch_loss(m, x, y);
        p[i] = keep;
        fd[i] = (up - down) / (2.0 * h);
    }
    float before[128], step[128], want[128];
    memcpy(before, p, n * sizeof(float));
    double r[1];
    assert_int_equal(dc_model_train_on_batch(m, x, y, NULL, r, 1), DC_OK);
    for (size_t i = 0; i < n; i++) {
        step[i] = before[i] - p[i];
        want[i] = (float)fd[i];
    }
    assert_close(step, want, n, 2e-2, 1e-3, "SGD step of a shared layer vs finite differences");
    double norm = 0; /* the kernel's gradient is not ~0, or the check would be empty */
    for (size_t i = 0; i < 12; i++)
        norm += fabs(fd[i]);
    assert_true(norm > 1e-2);

    /* Keras' get_layer: the shared layer is one layer */
    assert_int_equal(dc_model_layer_count(m), 3);
    assert_int_equal(dc_model_layer_index(m, "subtract"), 1);
    assert_string_equal(dc_model_layer_name(m, 2), "dense_1");
    assert_null(dc_model_layer_name(m, 3));
    assert_int_equal(dc_model_layer_index(m, "dense_2"), -1);
    assert_errmsg_contains("get_layer: no layer is called \"dense_2\" (the model has 3 layers: dense ...)");

    /* one row for the layer, both calls connected; the file keeps both calls */
    char *s = summary_of(m);
    assert_non_null(strstr(s, " dense (Dense)               (None, 3)                    15        "
                              "['input_layer[0][0]',"));
    assert_non_null(strstr(s, "'input_layer_1[0][0]']"));
    assert_non_null(strstr(s, " subtract (Subtract)         (None, 3)                    0         "
                              "['dense[0][0]',               \n"
                              "                                                                     'dense[1][0]']"));
    assert_non_null(strstr(s, "Total params: 19\n"));
    free(s);
    char *dir = make_dir();
    char *json = assert_round_trip(m, x, dir, 1, "binary_crossentropy", NULL);
    assert_non_null(strstr(json, "\"keras_history\":[\"dense\",1,0]"));
    free(json);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(a);
    dc_tensor_free(b);
    dc_tensor_free(y);
}

static void test_shared_layer_misuse(void **state)
{
    (void)state;
    /* the second call's input does not fit the weights of the first */
    dc_model *m = dc_functional_new(1, (int[]){4});
    int b = dc_model_input(m, 1, (int[]){5});
    dc_layer *shared = dc_layer_dense(3, NULL);
    int ea = dc_model_apply(m, shared, DC_MODEL_INPUT), eb = dc_model_apply(m, shared, b);
    assert_int_equal(dc_model_merge(m, dc_layer_add(), 2, (int[]){ea, eb}), 4);
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("dense: called again on an input of another shape: its weight dense/kernel is (4, 3), "
                           "this call needs (5, 3)");
    /* a failed second call does not free the layer the model owns */
    assert_int_equal(dc_model_merge(m, shared, 2, (int[]){0, 1}), -1);
    assert_errmsg_contains("merge: dense: it takes one input: use dc_model_apply");
    dc_model_free(m);
}

/* Layers whose weights are not all listed (a fixed Normalization's
 * statistics), recurrent ones and BatchNormalization, each called twice:
 * they build, train, and save and load with one set of weights. */
static void test_shared_layers_of_other_kinds(void **state)
{
    (void)state;
    dc_model *m = dc_functional_new(2, (int[]){5, 3});
    int b = dc_model_input(m, 2, (int[]){5, 3});
    dc_layer *norm = dc_layer_normalization_ex(3, (const float[]){0.5f, 0.0f, -0.5f}, (const float[]){4.0f, 1.0f, 0.25f}, 0);
    dc_layer *lstm = dc_layer_lstm(4), *bn = dc_layer_batch_normalization();
    int na = dc_model_apply(m, norm, DC_MODEL_INPUT), nb = dc_model_apply(m, norm, b);
    int la = dc_model_apply(m, lstm, na), lb = dc_model_apply(m, lstm, nb);
    int ba = dc_model_apply(m, bn, la), bb = dc_model_apply(m, bn, lb);
    int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){ba, bb});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(1, NULL), s), 9);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    /* 4 x (3 + 4 + 1) x 4 LSTM weights + 4 x 4 BatchNormalization + 5 Dense, once each */
    assert_int_equal(dc_model_param_count(m), 4 * 4 * 8 + 16 + 5);
    dc_tensor *xa = dc_tensor_new4(3, 12, 5, 3, 0), *xb = dc_tensor_new4(3, 12, 5, 3, 0);
    dc_tensor *y = dc_tensor_new4(2, 12, 1, 0, 0);
    for (size_t i = 0; i < xa->size; i++) {
        xa->data[i] = (float)((i * 7) % 11) / 11.0f;
        xb->data[i] = (float)((i * 5) % 13) / 13.0f;
    }
    for (int i = 0; i < 12; i++)
        y->data[i] = xa->data[15 * i] - xb->data[15 * i];
    dc_tensor *x = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){xa, xb});
    dc_fit_config c = quiet_fit(2, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    char *dir = make_dir();
    free(assert_round_trip(m, x, dir, 1, "mse", NULL));
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(xa);
    dc_tensor_free(xb);
    dc_tensor_free(y);
}

/* Two token inputs, each with Embedding(mask_zero), added: as Keras'
 * Merge.compute_mask, a step is kept when either input keeps it (OR), so
 * the LSTM after the Add sees the steps where a or b has a token. */
static void test_merge_ors_masks(void **state)
{
    (void)state;
    dc_model *m = dc_functional_new(1, (int[]){5});
    dc_model_set_seed(m, 3);
    dc_model_set_threads(m, 1);
    int b = dc_model_input(m, 1, (int[]){5});
    int ea = dc_model_apply(m, dc_layer_embedding(10, 3, 1), DC_MODEL_INPUT);
    int eb = dc_model_apply(m, dc_layer_embedding(10, 3, 1), b);
    int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){ea, eb});
    int h = dc_model_apply(m, dc_layer_lstm(3), s);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(1, NULL), h), 6);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    /* rows: (a, b) with tokens at steps 0 (a only) and 3 (both); the same two
     * steps moved to the front; only the step where both have a token */
    static const float a[3][5] = {{1, 0, 0, 2, 0}, {1, 2, 0, 0, 0}, {2, 0, 0, 0, 0}};
    static const float bb[3][5] = {{0, 0, 0, 3, 0}, {0, 3, 0, 0, 0}, {3, 0, 0, 0, 0}};
    dc_tensor *xa = dc_tensor_from(2, (int[]){3, 5}, &a[0][0]), *xb = dc_tensor_from(2, (int[]){3, 5}, &bb[0][0]);
    dc_tensor *x = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){xa, xb}), *p = NULL;
    assert_int_equal(dc_model_predict(m, x, 3, &p), DC_OK);
    assert_close(&p->data[0], &p->data[1], 1, 1e-6, 1e-7, "the same kept steps, moved");
    assert_true(fabsf(p->data[0] - p->data[2]) > 1e-4); /* AND would keep one step: row 2 */
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_tensor_free(xa);
    dc_tensor_free(xb);
    dc_model_free(m);
}

/* Conv-BN-ReLU whose BN feeds only the ReLU (fused at compile), then Conv-BN
 * whose BN feeds both a ReLU and an Add (not fused), ReLU, GAP, Dense(8),
 * tanh, Dense(3).  The BNs, the ReLU after the Add and the tanh are their
 * inputs' only readers: with grad_set they write those gradients. */
static dc_model *bn_relu_model(int fuse)
{
    int in[3] = {8, 8, 1};
    dc_model *m = dc_functional_new(3, in);
    assert_non_null(m);
    m->no_fuse = !fuse;
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 2);
    dc_conv_config c = dc_conv_defaults(16, 3, 3);
    c.padding = DC_PADDING_SAME;
    int a = dc_model_apply(m, dc_layer_conv2d_ex(&c), DC_MODEL_INPUT);
    a = dc_model_apply(m, dc_layer_batch_normalization(), a);
    a = dc_model_apply(m, dc_layer_activation("relu"), a);
    int b = dc_model_apply(m, dc_layer_conv2d_ex(&c), a);
    b = dc_model_apply(m, dc_layer_batch_normalization(), b);
    int r = dc_model_apply(m, dc_layer_activation("relu"), b);
    int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){r, b});
    s = dc_model_apply(m, dc_layer_activation("relu"), s);
    s = dc_model_apply(m, dc_layer_global_average_pooling2d(), s);
    s = dc_model_apply(m, dc_layer_dense(8, NULL), s);
    s = dc_model_apply(m, dc_layer_activation("tanh"), s);
    assert_true(dc_model_apply(m, dc_layer_dense(3, "softmax"), s) > 0);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    return m;
}

/* The fused BatchNormalization -> ReLU, and the gradients their one reader
 * writes (grad_set), train bit for bit as the plain ops; a BN read by
 * another layer too stays unfused. */
static void test_bn_relu_fusion_changes_nothing(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 3);
    dc_tensor *x = dc_tensor_new4(4, 48, 8, 8, 1), *y = dc_tensor_new4(1, 48, 0, 0, 0);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = dc_rng_uniform(&r);
    for (int i = 0; i < 48; i++)
        y->data[i] = (float)(i % 3);
    dc_model *fused = bn_relu_model(1), *plain = bn_relu_model(0);
    int fused_bn = 0, plain_bn = 0;
    const dc_graph *gf = dc_model_graph(fused), *gp = dc_model_graph(plain);
    for (int i = 0; i < gf->n_nodes; i++)
        fused_bn += gf->nodes[i]->op == &dc_op_batchnorm && gf->nodes[i]->attr.batchnorm.relu;
    for (int i = 0; i < gp->n_nodes; i++)
        plain_bn += gp->nodes[i]->op == &dc_op_batchnorm && gp->nodes[i]->attr.batchnorm.relu;
    assert_int_equal(fused_bn, 1); /* the first BN only: the second also feeds the Add */
    assert_int_equal(plain_bn, 0);
    assert_train_alike(fused, plain, x, y, 2, 0);
    int set = 0;
    for (int i = 0; i < gf->n_nodes; i++)
        set += gf->nodes[i]->grad_set;
    /* the two convolutions' outputs, the Add's, the Dense(8)'s (read by activations), and those
     * read by a Dense or the Add's first input (relu -> Add, pooling -> Dense(8), tanh -> Dense(3)) */
    assert_int_equal(set, 7);
    dc_model_free(fused);
    dc_model_free(plain);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Dense(64, gelu) -> Dense(300) (GELU fused into the first's GEMM, the
 * gradient through it into the second's), input features and units 300 so
 * both products take two passes over the reduction; then Dense(64, gelu)
 * whose GELU feeds a Dense and an Add (its forward fused, its backward
 * not: two readers), pooling, Dense(3, softmax). */
static dc_model *dense_gelu_model(int fuse)
{
    dc_model *m = dc_functional_new(2, (int[]){12, 300});
    assert_non_null(m);
    m->no_fuse = !fuse;
    dc_model_set_seed(m, 6);
    dc_model_set_threads(m, 2);
    int a = dc_model_apply(m, dc_layer_dense(64, "gelu"), DC_MODEL_INPUT);
    a = dc_model_apply(m, dc_layer_dense(300, NULL), a);
    int e = dc_model_apply(m, dc_layer_dense(64, "gelu"), a);
    int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){dc_model_apply(m, dc_layer_dense(64, NULL), e), e});
    s = dc_model_apply(m, dc_layer_global_average_pooling1d(), s);
    assert_true(dc_model_apply(m, dc_layer_dense(3, "softmax"), s) > 0);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    return m;
}

/* Dense -> GELU fused (dc_dense_fuse_gelu) trains bit for bit as the plain
 * ops, and predicts alike (inference runs the plain ops). */
static void test_dense_gelu_fusion_changes_nothing(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 4);
    dc_tensor *x = dc_tensor_new4(3, 40, 12, 300, 0), *y = dc_tensor_new4(1, 40, 0, 0, 0);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < 40; i++)
        y->data[i] = (float)(i % 3);
    dc_model *fused = dense_gelu_model(1), *plain = dense_gelu_model(0);
    int linked = 0;
    const dc_graph *gf = dc_model_graph(fused), *gp = dc_model_graph(plain);
    for (int i = 0; i < gf->n_nodes; i++)
        linked += gf->nodes[i]->epilogue != NULL;
    for (int i = 0; i < gp->n_nodes; i++)
        assert_null(gp->nodes[i]->epilogue);
    if (dc_gemm_avx512_available())
        assert_int_equal(linked, 2);
    else
        printf("no AVX-512 kernels in this build: Dense -> GELU is not fused, the two models are the same ops\n");
    assert_train_alike(fused, plain, x, y, 2, 1);
    dc_model_free(fused);
    dc_model_free(plain);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_trains_as_sequential),
        cmocka_unit_test(test_chain_summary),
        cmocka_unit_test(test_chain_round_trip),
        cmocka_unit_test(test_loads_keras_forms),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_branching_model_matches_reference),
        cmocka_unit_test(test_branching_summary),
        cmocka_unit_test(test_two_inputs),
        cmocka_unit_test(test_input_misuse),
        cmocka_unit_test(test_loads_two_input_file),
        cmocka_unit_test(test_shared_layer_gradient),
        cmocka_unit_test(test_shared_layer_misuse),
        cmocka_unit_test(test_shared_layers_of_other_kinds),
        cmocka_unit_test(test_merge_ors_masks),
        cmocka_unit_test(test_bn_relu_fusion_changes_nothing),
        cmocka_unit_test(test_dense_gelu_fusion_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
