/*
 * test_merge.c - Keras' merge layers (Add, Subtract, Multiply, Average,
 * Maximum, Minimum, Concatenate) and their ops (maximum, minimum, concat
 * on any axis).
 *
 * The layers are built through their class's build_merge hook on graphs made
 * here, as a functional model will build them.  Forward values are checked
 * against numbers worked out by hand, ties of maximum / minimum against
 * TensorFlow's rule (the gradient goes to the first input), forward and
 * backward of maximum, minimum, Average and a middle-axis Concatenate against
 * PyTorch fixtures (make_fixtures_merge.py), the threaded paths of large
 * inputs against index loops, then names, configs and every error path.
 */
#include "testutil.h"

#include "graph/graph.h"
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

static const dc_init ZEROS = {DC_INIT_ZEROS, 0.0f, 0.0f};

typedef dc_layer *(*ctor_fn)(void);

static dc_layer *concat_last(void) { return dc_layer_concatenate(-1); }

/* Builds layer l on xs[0..n) of g into *call (its mask set by the caller);
 * the layer is freed by the caller. */
static dc_node *merge_call(dc_layer *l, dc_graph *g, int n, dc_node **xs, dc_layer_call *call)
{
    assert_non_null(l);
    assert_null(l->cls->build);
    assert_non_null(l->cls->build_merge);
    if (l->cls->build_merge(l, g, n, xs, call) != DC_OK)
        return NULL;
    assert_non_null(call->out);
    assert_int_equal(call->n_params, 0);
    return call->out;
}

/* The same without a mask. */
static dc_node *merge(dc_layer *l, dc_graph *g, int n, dc_node **xs)
{
    dc_layer_call call = {0};
    return merge_call(l, g, n, xs, &call);
}

/* build_merge with a fresh record, expected to fail: nothing is recorded. */
static dc_status merge_fails(dc_layer *l, dc_graph *g, int n, dc_node **xs)
{
    dc_layer_call call = {0};
    dc_status st = l->cls->build_merge(l, g, n, xs, &call);
    assert_null(call.out);
    return st;
}

/* ---- forward on values worked out by hand ---- */

static void test_forward_by_hand(void **state)
{
    (void)state;
    /* three batched inputs (None, 3), batch 2 */
    static const float x[3][6] = {{1, -2, 3, 0.5f, 4, -1}, {2, -3, 3, -0.5f, 1, 6}, {0, 5, -1, 2, 2, -4}};
    static const struct {
        ctor_fn make;
        int n, cols;
        float want[12];
    } cases[] = {
        {dc_layer_add, 3, 3, {3, 0, 5, 2, 7, 1}},
        {dc_layer_add, 2, 3, {3, -5, 6, 0, 5, 5}},
        {dc_layer_subtract, 2, 3, {-1, 1, 0, 1, 3, -7}},
        {dc_layer_multiply, 3, 3, {0, 30, -9, -0.5f, 8, 24}},
        {dc_layer_average, 3, 3, {1, 0, 5.0f / 3, 2.0f / 3, 7.0f / 3, 1.0f / 3}},
        {dc_layer_average, 2, 3, {1.5f, -2.5f, 3, 0, 2.5f, 2.5f}},
        {dc_layer_maximum, 3, 3, {2, 5, 3, 2, 4, 6}},
        {dc_layer_minimum, 3, 3, {0, -3, -1, -0.5f, 1, -4}},
        {dc_layer_maximum, 2, 3, {2, -2, 3, 0.5f, 4, 6}},
        {concat_last, 2, 6, {1, -2, 3, 2, -3, 3, 0.5f, 4, -1, -0.5f, 1, 6}},
        {concat_last, 3, 9, {0}}, /* checked by the index loop below */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dc_graph *g = dc_graph_new();
        dc_node *xs[3];
        for (int i = 0; i < 3; i++)
            xs[i] = dc_input(g, 1, 1, (int[]){3}, NULL);
        dc_layer *l = cases[c].make();
        dc_node *y = merge(l, g, cases[c].n, xs);
        if (!y)
            fail_msg("case %zu: %s", c, dc_errmsg());
        int shape[DC_MAX_DIMS];
        assert_int_equal(dc_node_shape(y, shape), 2);
        assert_int_equal(shape[1], cases[c].cols);
        assert_int_equal(dc_graph_compile(g, 2, NULL), DC_OK);
        assert_int_equal(dc_graph_set_batch(g, 2), DC_OK);
        for (int i = 0; i < 3; i++)
            assert_int_equal(dc_node_set(xs[i], x[i], 6), DC_OK);
        assert_int_equal(dc_graph_forward(g, y, 0), DC_OK);
        float want[18];
        memcpy(want, cases[c].want, sizeof cases[c].want);
        if (cases[c].cols == 9)
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < 9; j++)
                    want[r * 9 + j] = x[j / 3][r * 3 + j % 3];
        char what[64];
        snprintf(what, sizeof what, "case %zu (%s of %d)", c, l->cls->type, cases[c].n);
        assert_close(dc_node_value(y), want, (size_t)(2 * cases[c].cols), 1e-6, 0, what);
        dc_layer_free(l);
        dc_graph_free(g);
    }
}

/* Ties: the gradient goes all to the first input, as TensorFlow's
 * _MaximumMinimumGrad (PyTorch would split it). */
static void test_ties_go_to_the_first_input(void **state)
{
    (void)state;
    static const float a[4] = {1, 2, -1, 5}, b[4] = {1, 3, -1, 4};
    for (int is_max = 0; is_max < 2; is_max++) {
        dc_graph *g = dc_graph_new();
        dc_node *pa = dc_param(g, 1, (int[]){4}, ZEROS, NULL), *pb = dc_param(g, 1, (int[]){4}, ZEROS, NULL);
        dc_node *y = is_max ? dc_maximum(g, pa, pb) : dc_minimum(g, pa, pb);
        dc_node *loss = dc_sum(g, y);
        assert_non_null(loss);
        assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
        memcpy(dc_node_value(pa), a, sizeof a);
        memcpy(dc_node_value(pb), b, sizeof b);
        assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
        static const float want_y[2][4] = {{1, 2, -1, 4}, {1, 3, -1, 5}};
        static const float want_ga[2][4] = {{1, 1, 1, 0}, {1, 0, 1, 1}};
        static const float want_gb[2][4] = {{0, 0, 0, 1}, {0, 1, 0, 0}};
        assert_close(dc_node_value(y), want_y[is_max], 4, 0, 0, "tie value");
        assert_close(dc_node_grad(pa), want_ga[is_max], 4, 0, 0, "tie gradient of a");
        assert_close(dc_node_grad(pb), want_gb[is_max], 4, 0, 0, "tie gradient of b");
        dc_graph_free(g);
    }
}

/* ---- PyTorch fixtures (make_fixtures_merge.py) ---- */

/* The layer on <prefix>.x0.. (parameters), y and the gradients of sum(y r). */
static void fixture_case(const fx_file *f, const char *prefix, dc_layer *l, int n)
{
    char name[32];
    dc_graph *g = dc_graph_new();
    dc_node *xs[3];
    const fx_array *ax[3];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "x%d", i);
        ax[i] = fx_get_part(f, prefix, name);
        xs[i] = dc_param(g, ax[i]->ndim, ax[i]->shape, ZEROS, NULL);
    }
    const fx_array *ar = fx_get_part(f, prefix, "r"), *ay = fx_get_part(f, prefix, "y");
    dc_node *y = merge(l, g, n, xs);
    if (!y)
        fail_msg("%s: %s", prefix, dc_errmsg());
    dc_node *r = dc_input(g, 0, ar->ndim, ar->shape, "r"), *loss = dc_sum(g, dc_mul(g, y, r));
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    for (int i = 0; i < n; i++)
        memcpy(dc_node_value(xs[i]), ax[i]->data, ax[i]->size * sizeof(float));
    assert_int_equal(dc_node_set(r, ar->data, ar->size), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    assert_int_equal(dc_node_size(y), ay->size);
    int shape[DC_MAX_DIMS];
    assert_int_equal(dc_node_shape(y, shape), ay->ndim);
    assert_memory_equal(shape, ay->shape, (size_t)ay->ndim * sizeof(int));
    assert_close(dc_node_value(y), ay->data, ay->size, 1e-5, 1e-7, prefix);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "g%d", i);
        const fx_array *ag = fx_get_part(f, prefix, name);
        char what[64];
        snprintf(what, sizeof what, "%s.%s", prefix, name);
        assert_close(dc_node_grad(xs[i]), ag->data, ag->size, 1e-5, 1e-7, what);
    }
    dc_layer_free(l);
    dc_graph_free(g);
}

static void test_pytorch_fixtures(void **state)
{
    (void)state;
    fx_file *f = fx_load("merge.txt");
    fixture_case(f, "max2", dc_layer_maximum(), 2);
    fixture_case(f, "min2", dc_layer_minimum(), 2);
    fixture_case(f, "max3", dc_layer_maximum(), 3);
    fixture_case(f, "min3", dc_layer_minimum(), 3);
    fixture_case(f, "avg3", dc_layer_average(), 3);
    fixture_case(f, "cat2", dc_layer_concatenate(2), 2);
    fixture_case(f, "cat3", dc_layer_concatenate(-2), 3);
    fx_free(f);
}

/* ---- the threaded paths: inputs large enough to run in parallel ---- */

enum { BIG_ROWS = 4, BIG_COLS = 20000 };

static void test_large_inputs_threaded(void **state)
{
    (void)state;
    static const ctor_fn makers[] = {dc_layer_add, dc_layer_subtract, dc_layer_multiply, dc_layer_maximum,
                                     dc_layer_minimum, concat_last};
    size_t total = (size_t)BIG_ROWS * BIG_COLS;
    float *want = malloc(2 * total * sizeof(float)), *wa = malloc(total * sizeof(float));
    float *wb = malloc(total * sizeof(float));
    assert_true(want && wa && wb);
    for (size_t k = 0; k < sizeof makers / sizeof makers[0]; k++) {
        dc_graph *g = dc_graph_new();
        dc_node *xs[2] = {dc_param(g, 2, (int[]){BIG_ROWS, BIG_COLS}, ZEROS, NULL),
                          dc_param(g, 2, (int[]){BIG_ROWS, BIG_COLS}, ZEROS, NULL)};
        dc_layer *l = makers[k]();
        dc_node *y = merge(l, g, 2, xs);
        assert_non_null(y);
        size_t ny = dc_node_size(y);
        dc_node *r = dc_input(g, 0, 1, (int[]){(int)ny}, NULL);
        dc_node *loss = dc_sum(g, dc_mul(g, dc_reshape(g, y, 1, (int[]){(int)ny}), r));
        assert_non_null(loss);
        assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
        float *a = dc_node_value(xs[0]), *b = dc_node_value(xs[1]), *rv = dc_node_value(r);
        for (size_t i = 0; i < total; i++) {
            a[i] = (float)((i * 37) % 101) * 0.25f - 12.0f;
            b[i] = (float)((i * 53) % 97) * 0.25f - 12.125f; /* never equal to a */
        }
        for (size_t i = 0; i < ny; i++)
            rv[i] = (float)((i * 13) % 7) - 3.0f;
        assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
        for (size_t i = 0; i < total; i++) {
            int row = (int)(i / BIG_COLS), col = (int)(i % BIG_COLS);
            size_t ia = (size_t)row * 2 * BIG_COLS + (size_t)col, ib = ia + BIG_COLS; /* concat's places */
            int to_a = k == 3 ? a[i] >= b[i] : a[i] <= b[i];
            switch (k) {
            case 0: want[i] = a[i] + b[i], wa[i] = rv[i], wb[i] = rv[i]; break;
            case 1: want[i] = a[i] - b[i], wa[i] = rv[i], wb[i] = -rv[i]; break;
            case 2: want[i] = a[i] * b[i], wa[i] = rv[i] * b[i], wb[i] = rv[i] * a[i]; break;
            case 3:
            case 4:
                want[i] = to_a ? a[i] : b[i];
                wa[i] = to_a ? rv[i] : 0.0f;
                wb[i] = to_a ? 0.0f : rv[i];
                break;
            default: want[ia] = a[i], want[ib] = b[i], wa[i] = rv[ia], wb[i] = rv[ib]; break;
            }
        }
        assert_close(dc_node_value(y), want, ny, 0, 0, l->cls->type);
        assert_close(dc_node_grad(xs[0]), wa, total, 0, 0, "gradient of input 0");
        assert_close(dc_node_grad(xs[1]), wb, total, 0, 0, "gradient of input 1");
        dc_layer_free(l);
        dc_graph_free(g);
    }
    free(want);
    free(wa);
    free(wb);
}

/* ---- names and configs ---- */

/* The layer's to_config as a JSON object; the caller frees it. */
static char *config_of(const dc_layer *l)
{
    dc_jw w;
    dc_jw_init(&w);
    dc_jw_object(&w, NULL);
    l->cls->to_config(l, &w);
    dc_jw_end(&w);
    char *s = dc_jw_take(&w, NULL);
    assert_non_null(s);
    return s;
}

/* from_config of the class on `json`; NULL with the message when it fails. */
static dc_layer *from_json(const dc_layer_class *cls, const char *json)
{
    dc_json *cfg = NULL;
    assert_int_equal(dc_json_parse(json, strlen(json), "test", &cfg), DC_OK);
    dc_layer *l = cls->from_config(cls, cfg);
    dc_json_free(cfg);
    return l;
}

static void test_names_and_configs(void **state)
{
    (void)state;
    static const struct {
        ctor_fn make;
        const char *type, *snake, *config;
    } cases[] = {
        {dc_layer_add, "Add", "add", "{}"},
        {dc_layer_subtract, "Subtract", "subtract", "{}"},
        {dc_layer_multiply, "Multiply", "multiply", "{}"},
        {dc_layer_average, "Average", "average", "{}"},
        {dc_layer_maximum, "Maximum", "maximum", "{}"},
        {dc_layer_minimum, "Minimum", "minimum", "{}"},
        {concat_last, "Concatenate", "concatenate", "{\"axis\":-1}"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dc_layer *l = cases[c].make();
        assert_non_null(l);
        assert_string_equal(l->cls->type, cases[c].type);
        assert_string_equal(l->cls->snake, cases[c].snake);
        assert_ptr_equal(dc_layer_class_find(cases[c].type), l->cls);
        char *json = config_of(l);
        assert_string_equal(json, cases[c].config);
        /* round trip, with the keys the model writes around the layer's own */
        char full[256];
        snprintf(full, sizeof full, "{\"name\": \"m\", \"trainable\": true, \"dtype\": \"float32\"%s%s",
                 strcmp(json, "{}") ? ", " : "", json + 1);
        dc_layer *back = from_json(l->cls, full);
        if (!back)
            fail_msg("%s: from_config failed: %s", cases[c].type, dc_errmsg());
        assert_ptr_equal(back->cls, l->cls);
        char *again = config_of(back);
        assert_string_equal(again, json);
        free(json);
        free(again);
        dc_layer_free(back);
        dc_layer_free(l);
    }
    /* Concatenate's axis: given, absent (Keras' default -1) */
    dc_layer *l = from_json(&dc_class_concatenate, "{\"axis\": 2}");
    assert_non_null(l);
    assert_int_equal(l->cfg.merge.axis, 2);
    char *json = config_of(l);
    assert_string_equal(json, "{\"axis\":2}");
    free(json);
    dc_layer_free(l);
    l = from_json(&dc_class_concatenate, "{}");
    assert_non_null(l);
    assert_int_equal(l->cfg.merge.axis, -1);
    dc_layer_free(l);
}

/* Concatenate on the steps of a sequence ends its (batch, steps) mask; the
 * other axes and the elementwise layers pass it on. */
static void test_masks(void **state)
{
    (void)state;
    static const struct {
        ctor_fn make;
        int axis, keeps;
    } cases[] = {{NULL, 1, 0}, {NULL, -2, 0}, {NULL, -1, 1}, {dc_layer_add, 0, 1}, {dc_layer_maximum, 0, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dc_graph *g = dc_graph_new();
        dc_node *xs[2] = {dc_input(g, 1, 2, (int[]){5, 3}, NULL), dc_input(g, 1, 2, (int[]){5, 3}, NULL)};
        dc_node *mask = dc_input(g, 1, 1, (int[]){5}, NULL);
        dc_layer *l = cases[c].make ? cases[c].make() : dc_layer_concatenate(cases[c].axis);
        dc_layer_call call = {.mask = mask};
        assert_non_null(merge_call(l, g, 2, xs, &call));
        assert_ptr_equal(call.mask, cases[c].keeps ? mask : NULL);
        dc_layer_free(l);
        dc_graph_free(g);
    }
}

/* ---- errors ---- */

/* Builds l on inputs of the given batched shapes (each ndim axes after the
 * batch) and expects it to fail with `needle` in the message. */
static void expect_build_error(dc_layer *l, int n, int ndim, const int (*shapes)[3], const char *needle)
{
    dc_graph *g = dc_graph_new();
    dc_node *xs[DC_MERGE_MAX + 1];
    for (int i = 0; i < n; i++)
        xs[i] = dc_input(g, 1, ndim, shapes[i < 3 ? i : 0], NULL);
    assert_non_null(l);
    assert_int_not_equal(merge_fails(l, g, n, xs), DC_OK);
    assert_errmsg_contains(needle);
    dc_layer_free(l);
    dc_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    static const int same[3][3] = {{4, 3}, {4, 3}, {4, 3}};
    static const int last[3][3] = {{4, 3}, {4, 2}, {4, 3}};
    static const int third[3][3] = {{4, 3}, {4, 3}, {4, 2}};
    static const int mid[3][3] = {{4, 3}, {5, 2}};
    expect_build_error(dc_layer_add(), 2, 2, last,
                       "add: inputs have shapes (None, 4, 3) and (None, 4, 2); Add needs equal shapes");
    expect_build_error(dc_layer_maximum(), 3, 2, third,
                       "maximum: inputs have shapes (None, 4, 3), (None, 4, 3) and (None, 4, 2); Maximum needs "
                       "equal shapes");
    /* Keras would broadcast a size-1 axis; deepc refuses it */
    static const int ones[3][3] = {{4, 3}, {1, 3}};
    expect_build_error(dc_layer_multiply(), 2, 2, ones, "(None, 4, 3) and (None, 1, 3); Multiply needs equal shapes");
    /* different ranks */
    static const int rank[3][3] = {{4, 3}, {4, 3}};
    dc_graph *g = dc_graph_new();
    dc_node *xr[2] = {dc_input(g, 1, 2, rank[0], NULL), dc_input(g, 1, 1, (int[]){4}, NULL)};
    dc_layer *l = dc_layer_average();
    assert_int_not_equal(merge_fails(l, g, 2, xr), DC_OK);
    assert_errmsg_contains("average: inputs have shapes (None, 4, 3) and (None, 4); Average needs equal shapes");
    dc_layer_free(l);
    dc_graph_free(g);
    /* the layer's own name leads the message */
    l = dc_layer_add();
    snprintf(l->name, sizeof l->name, "%s", "residual_3");
    expect_build_error(l, 2, 2, last, "residual_3: inputs have shapes");
    /* how many inputs */
    expect_build_error(dc_layer_subtract(), 3, 2, same, "subtract: got 3 inputs; Subtract takes exactly 2");
    expect_build_error(dc_layer_subtract(), 1, 2, same, "subtract: got 1 inputs; Subtract takes exactly 2");
    expect_build_error(dc_layer_add(), 1, 2, same, "add: got 1 inputs; Add takes 2 to 8");
    expect_build_error(dc_layer_concatenate(-1), DC_MERGE_MAX + 1, 2, same,
                       "concatenate: got 9 inputs; Concatenate takes 2 to 8");
    /* a NULL input (an earlier layer failed) */
    g = dc_graph_new();
    dc_node *xn[2] = {dc_input(g, 1, 2, same[0], NULL), NULL};
    l = dc_layer_minimum();
    assert_int_not_equal(merge_fails(l, g, 2, xn), DC_OK);
    assert_errmsg_contains("minimum: input 1 is NULL");
    dc_layer_free(l);
    dc_graph_free(g);
    /* Concatenate: shapes, axis out of range or on the batch axis */
    expect_build_error(dc_layer_concatenate(-1), 2, 2, mid,
                       "concatenate: inputs have shapes (None, 4, 3) and (None, 5, 2); Concatenate needs equal shapes "
                       "except on axis -1");
    expect_build_error(dc_layer_concatenate(1), 2, 2, last, "needs equal shapes except on axis 1");
    expect_build_error(dc_layer_concatenate(3), 2, 2, same,
                       "concatenate: axis 3 of inputs with shapes (None, 4, 3) and (None, 4, 3) is out of range; "
                       "expected 1 to 2 or -2 to -1");
    expect_build_error(dc_layer_concatenate(-3), 2, 2, same, "axis -3 of inputs with shapes (None, 4, 3) and "
                                                             "(None, 4, 3) is the batch axis");
    expect_build_error(dc_layer_concatenate(-5), 2, 2, same, "axis -5 of inputs with shapes");
    assert_null(dc_layer_concatenate(0));
    assert_errmsg_contains("Concatenate: axis 0 is the batch axis");
    assert_null(dc_layer_concatenate(DC_MAX_DIMS));
    assert_errmsg_contains("Concatenate: axis 6 is out of range");
    assert_null(dc_layer_concatenate(-DC_MAX_DIMS - 1));
    assert_errmsg_contains("Concatenate: axis -7 is out of range");
    /* configs */
    assert_null(from_json(&dc_class_concatenate, "{\"axis\": 0}"));
    assert_errmsg_contains("axis 0 is the batch axis");
    assert_null(from_json(&dc_class_concatenate, "{\"axis\": \"last\"}"));
    assert_errmsg_contains("key \"axis\"");
    assert_null(from_json(&dc_class_concatenate, "{\"axis\": 1.5}"));
    assert_errmsg_contains("key \"axis\"");
    assert_null(from_json(&dc_class_concatenate, "{\"axis\": 99}"));
    assert_errmsg_contains("key \"axis\"");
    /* the ops themselves */
    g = dc_graph_new();
    dc_node *a = dc_input(g, 1, 2, (int[]){4, 3}, NULL), *b = dc_input(g, 1, 2, (int[]){4, 2}, NULL);
    assert_null(dc_maximum(g, a, b));
    assert_errmsg_contains("maximum: shapes (1, 4, 3) and (1, 4, 2) do not match");
    assert_null(dc_minimum(g, a, NULL));
    assert_errmsg_contains("minimum: input 1 is NULL");
    assert_null(dc_concat_axis(g, a, b, 1));
    assert_errmsg_contains("differ on axis 2 (concatenating on axis 1)");
    assert_null(dc_concat_axis(g, a, b, 0));
    assert_errmsg_contains("concat: axis 0 is out of range for shape (None, 4, 3): expected 1 to 2 (not the batch "
                           "axis 0)");
    assert_null(dc_concat_axis(g, a, b, 3));
    assert_errmsg_contains("axis 3 is out of range");
    assert_null(dc_concat_axis(g, a, dc_input(g, 1, 1, (int[]){4}, NULL), 1));
    assert_errmsg_contains("have different ranks");
    assert_null(dc_concat_axis(g, a, dc_input(g, 0, 3, (int[]){2, 4, 3}, NULL), 1));
    assert_errmsg_contains("have different ranks or batch axes");
    dc_graph_free(g);
    /* wrappers refuse a merge layer */
    assert_null(dc_layer_time_distributed(dc_layer_add()));
    assert_errmsg_contains("TimeDistributed: cannot wrap Add (a merge layer: it takes several inputs)");
    assert_null(dc_layer_bidirectional(dc_layer_concatenate(-1), NULL));
    assert_errmsg_contains("Bidirectional: wraps a SimpleRNN, LSTM or GRU layer, got Concatenate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_by_hand),
        cmocka_unit_test(test_ties_go_to_the_first_input),
        cmocka_unit_test(test_pytorch_fixtures),
        cmocka_unit_test(test_large_inputs_threaded),
        cmocka_unit_test(test_names_and_configs),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
