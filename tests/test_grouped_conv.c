/*
 * test_grouped_conv.c - DepthwiseConv2D, SeparableConv2D and Conv2D's groups.
 *
 * The ops and the layers against PyTorch (tests/fixtures/grouped_conv/
 * grouped_conv.txt, written by make_fixtures.py there in float64): forward
 * and every gradient within 1e-5 of the array's largest magnitude, in Keras'
 * layouts (the script converts to PyTorch's).  The layers with the
 * fixture's weights (set through dc_model_set_weight in Keras' order) give
 * the fixture's outputs; then Keras' weight names, shapes, Param #, glorot
 * fans, configs (groups written, old Conv2D configs without it still load),
 * a save / load round trip with the same predictions, more threads giving
 * the same results, and the error paths.
 */
#include "iotest.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>

#define TOL 1e-5

static int setup(void **state)
{
    *state = fx_load("grouped_conv/grouped_conv.txt");
    return 0;
}

/* max |got - want| <= TOL * max |want|. */
static void assert_near(const float *got, const fx_array *want, const char *what)
{
    double top = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < want->size; i++)
        top = fmax(top, fabs(want->data[i]));
    for (size_t i = 0; i < want->size; i++) {
        double d = fabs((double)got[i] - want->data[i]);
        if (!(d <= worst)) { /* NaN counts */
            worst = d;
            at = i;
        }
    }
    if (!(worst <= TOL * top))
        fail_msg("%s: |got - want| = %g at %zu (got %g, want %g), largest |want| %g", what, worst, at, got[at],
                 want->data[at], top);
}

static dc_node *fx_param(dc_graph *g, const fx_file *f, const char *prefix, const char *name)
{
    const fx_array *a = fx_get_part(f, prefix, name);
    dc_node *n = dc_param(g, a->ndim, a->shape, dc_init_make(DC_INIT_ZEROS), name);
    assert_non_null(n);
    return n;
}

/* L = sum(y * gy): forward, backward, then y and g<name> of every input against the fixture. */
static void check_against(const fx_file *f, const char *prefix, dc_graph *g, dc_node *y, dc_node *const *inputs,
                          const char *const *names, int n)
{
    if (!y)
        fail_msg("%s: build failed: %s", prefix, dc_errmsg());
    const fx_array *gya = fx_get_part(f, prefix, "gy");
    dc_node *gy = dc_input(g, 0, gya->ndim, gya->shape, "gy");
    dc_node *loss = dc_sum(g, dc_mul(g, y, gy));
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    assert_int_equal(dc_node_set(gy, gya->data, gya->size), DC_OK);
    for (int i = 0; i < n; i++) {
        const fx_array *a = fx_get_part(f, prefix, names[i]);
        assert_int_equal(dc_node_set(inputs[i], a->data, a->size), DC_OK);
    }
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    char what[160], gname[16];
    const fx_array *want = fx_get_part(f, prefix, "y");
    snprintf(what, sizeof what, "%s.y", prefix);
    assert_int_equal(dc_node_size(y), want->size);
    assert_near(dc_node_value(y), want, what);
    for (int i = 0; i < n; i++) {
        snprintf(gname, sizeof gname, "g%s", names[i]);
        snprintf(what, sizeof what, "%s.%s", prefix, gname);
        assert_near(dc_node_grad(inputs[i]), fx_get_part(f, prefix, gname), what);
    }
    dc_graph_free(g);
}

typedef struct conv_case {
    const char *name;
    int stride, same, dilation, groups;
} conv_case;

static const conv_case dw_cases[] = {
    {"m1_same_s1", 1, 1, 1, 0},  {"m2_valid_s1", 1, 0, 1, 0}, {"m1_same_s2", 2, 1, 1, 0},
    {"m2_valid_s2", 2, 0, 1, 0}, {"m2_same_s2", 2, 1, 1, 0},  {"m1_same_d2", 1, 1, 2, 0},
    {"m2_valid_d2", 1, 0, 2, 0}, {"m1_valid_k5s2_c19", 2, 0, 1, 0}, {"m1_same_s1_c32_wide", 1, 1, 1, 0},
    {"m1_same_s2_c16_wide", 2, 1, 1, 0}, {"m1_valid_d2_c16_wide", 1, 0, 2, 0},
};
static const conv_case sep_cases[] = {{"m1_same_s1", 1, 1, 1, 0}, {"m2_valid_s2", 2, 0, 1, 0}};
static const conv_case grp_cases[] = {
    {"g2_same_s1", 1, 1, 1, 2}, {"g2_valid_s2", 2, 0, 1, 2}, {"g3_same_s2_d2", 2, 1, 2, 3}, {"g4_valid_k1", 1, 0, 1, 4}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- ops against PyTorch ---- */

static void test_depthwise_vs_torch(void **state)
{
    const fx_file *f = *state;
    for (size_t i = 0; i < COUNT(dw_cases); i++) {
        const conv_case *c = &dw_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "dw.%s", c->name);
        dc_graph *g = dc_graph_new();
        dc_node *in[3] = {fx_param(g, f, prefix, "x"), fx_param(g, f, prefix, "k"), fx_param(g, f, prefix, "b")};
        dc_node *y = dc_depthwise_conv2d(g, in[0], in[1], in[2], c->stride, c->stride, c->same, c->dilation, c->dilation);
        check_against(f, prefix, g, y, in, (const char *[]){"x", "k", "b"}, 3);
    }
}

static void test_separable_vs_torch(void **state)
{
    const fx_file *f = *state;
    for (size_t i = 0; i < COUNT(sep_cases); i++) {
        const conv_case *c = &sep_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "sep.%s", c->name);
        dc_graph *g = dc_graph_new();
        dc_node *in[4] = {fx_param(g, f, prefix, "x"), fx_param(g, f, prefix, "dk"), fx_param(g, f, prefix, "pk"),
                          fx_param(g, f, prefix, "b")};
        dc_node *mid = dc_depthwise_conv2d(g, in[0], in[1], NULL, c->stride, c->stride, c->same, c->dilation, c->dilation);
        dc_node *y = dc_conv2d(g, mid, in[2], in[3], 1, 1, 0, 1, 1);
        check_against(f, prefix, g, y, in, (const char *[]){"x", "dk", "pk", "b"}, 4);
    }
}

static void test_grouped_vs_torch(void **state)
{
    const fx_file *f = *state;
    for (size_t i = 0; i < COUNT(grp_cases); i++) {
        const conv_case *c = &grp_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "grp.%s", c->name);
        dc_graph *g = dc_graph_new();
        dc_node *in[3] = {fx_param(g, f, prefix, "x"), fx_param(g, f, prefix, "k"), fx_param(g, f, prefix, "b")};
        dc_node *y = dc_conv2d_grouped(g, in[0], in[1], in[2], c->groups, c->stride, c->stride, c->same, c->dilation,
                                       c->dilation);
        check_against(f, prefix, g, y, in, (const char *[]){"x", "k", "b"}, 3);
    }
}

/* ---- layers against PyTorch ---- */

static dc_model *model_for(const fx_array *x)
{
    dc_model *m = dc_sequential_new(3, x->shape + 1);
    assert_non_null(m);
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    return m;
}

static dc_tensor *tensor_of(const fx_array *a)
{
    dc_tensor *t = dc_tensor_new(a->ndim, a->shape);
    assert_non_null(t);
    memcpy(t->data, a->data, a->size * sizeof(float));
    return t;
}

/* The layer added to a model on the fixture's x, its weights set from the
 * fixture's arrays `weights` (Keras' order), predicts the fixture's y. */
static void check_layer(const fx_file *f, const char *prefix, dc_layer *layer, const char *const *weights, int n)
{
    const fx_array *x = fx_get_part(f, prefix, "x");
    dc_model *m = model_for(x);
    assert_int_equal(dc_model_add(m, layer), DC_OK);
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    for (int i = 0; i < n; i++) {
        const fx_array *w = fx_get_part(f, prefix, weights[i]);
        if (dc_model_set_weight(m, 0, i, w->data, w->size) != DC_OK)
            fail_msg("%s: weight %d (%s): %s", prefix, i, weights[i], dc_errmsg());
    }
    dc_tensor *xt = tensor_of(x), *out;
    assert_int_equal(dc_model_predict(m, xt, 2, &out), DC_OK);
    char what[96];
    snprintf(what, sizeof what, "%s layer y", prefix);
    const fx_array *want = fx_get_part(f, prefix, "y");
    assert_int_equal(out->size, want->size);
    assert_near(out->data, want, what);
    dc_tensor_free(out);
    dc_tensor_free(xt);
    dc_model_free(m);
}

static void test_layers_vs_torch(void **state)
{
    const fx_file *f = *state;
    for (size_t i = 0; i < COUNT(dw_cases); i++) {
        const conv_case *c = &dw_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "dw.%s", c->name);
        const fx_array *k = fx_get_part(f, prefix, "k");
        dc_depthwise_config cfg = dc_depthwise_defaults(k->shape[0], k->shape[1]);
        cfg.depth_multiplier = k->shape[3];
        cfg.strides[0] = cfg.strides[1] = c->stride;
        cfg.dilation[0] = cfg.dilation[1] = c->dilation;
        cfg.padding = c->same ? DC_PADDING_SAME : DC_PADDING_VALID;
        check_layer(f, prefix, dc_layer_depthwise_conv2d_ex(&cfg), (const char *[]){"k", "b"}, 2);
    }
    for (size_t i = 0; i < COUNT(sep_cases); i++) {
        const conv_case *c = &sep_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "sep.%s", c->name);
        const fx_array *k = fx_get_part(f, prefix, "dk"), *pk = fx_get_part(f, prefix, "pk");
        dc_depthwise_config cfg = dc_depthwise_defaults(k->shape[0], k->shape[1]);
        cfg.filters = pk->shape[3];
        cfg.depth_multiplier = k->shape[3];
        cfg.strides[0] = cfg.strides[1] = c->stride;
        cfg.padding = c->same ? DC_PADDING_SAME : DC_PADDING_VALID;
        check_layer(f, prefix, dc_layer_separable_conv2d_ex(&cfg), (const char *[]){"dk", "pk", "b"}, 3);
    }
    for (size_t i = 0; i < COUNT(grp_cases); i++) {
        const conv_case *c = &grp_cases[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "grp.%s", c->name);
        const fx_array *k = fx_get_part(f, prefix, "k");
        dc_conv_config cfg = dc_conv_defaults(k->shape[3], k->shape[0], k->shape[1]);
        cfg.groups = c->groups;
        cfg.strides[0] = cfg.strides[1] = c->stride;
        cfg.dilation[0] = cfg.dilation[1] = c->dilation;
        cfg.padding = c->same ? DC_PADDING_SAME : DC_PADDING_VALID;
        check_layer(f, prefix, dc_layer_conv2d_ex(&cfg), (const char *[]){"k", "b"}, 2);
    }
}

/* ---- Keras' names, shapes, summary, fans, configs, save / load ---- */

/* Input (8, 8, 6), the five layers below (output shapes and parameter counts beside them). */
static dc_model *grouped_model(void)
{
    dc_model *m = dc_sequential_new(3, (int[]){8, 8, 6});
    assert_non_null(m);
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    dc_depthwise_config d = dc_depthwise_defaults(3, 3);
    d.depth_multiplier = 2;
    d.padding = DC_PADDING_SAME;
    d.activation = "relu";
    d.depthwise_l2 = 0.01f;
    dc_depthwise_config s = dc_depthwise_defaults(3, 3);
    s.filters = 6;
    s.strides[0] = s.strides[1] = 2;
    s.use_bias = 0;
    s.activation = "tanh";
    dc_conv_config c = dc_conv_defaults(4, 3, 3);
    c.groups = 2;
    c.padding = DC_PADDING_SAME;
    c.activation = "relu";
    dc_layer *layers[] = {
        dc_layer_depthwise_conv2d_ex(&d),                    /* (8, 8, 12): 3*3*6*2 + 12 = 120 */
        dc_layer_separable_conv2d_ex(&s),                    /* (3, 3, 6): 3*3*12 + 12*6 = 180 */
        dc_layer_conv2d_ex(&c),                              /* (3, 3, 4): 3*3*3*4 + 4 = 112 */
        dc_layer_depthwise_conv2d(2, 2, NULL),               /* (2, 2, 4): 2*2*4 + 4 = 20 */
        dc_layer_separable_conv2d(3, 1, 1, "relu"),          /* (2, 2, 3): 4 + 4*3 + 3 = 19 */
    };
    for (size_t i = 0; i < COUNT(layers); i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    return m;
}

static void test_summary_and_weights(void **state)
{
    (void)state;
    dc_model *m = grouped_model();
    char *s = summary_of(m);
    assert_true(summary_has_row(s, "depthwise_conv2d (DepthwiseConv2D)", "(None, 8, 8, 12)", 120));
    assert_true(summary_has_row(s, "separable_conv2d (SeparableConv2D)", "(None, 3, 3, 6)", 180));
    assert_true(summary_has_row(s, "conv2d (Conv2D)", "(None, 3, 3, 4)", 112));
    assert_true(summary_has_row(s, "depthwise_conv2d_1 (DepthwiseConv2D)", "(None, 2, 2, 4)", 20));
    assert_true(summary_has_row(s, "separable_conv2d_1 (SeparableConv2D)", "(None, 2, 2, 3)", 19));
    if (!strstr(s, "Total params: 451\n"))
        fail_msg("summary:\n%s", s);
    free(s);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    static const struct { int layer, index, ndim, shape[4]; } w[] = {
        {0, 0, 4, {3, 3, 6, 2}}, {0, 1, 1, {12}}, {1, 0, 4, {3, 3, 12, 1}}, {1, 1, 4, {1, 1, 12, 6}},
        {2, 0, 4, {3, 3, 3, 4}}, {2, 1, 1, {4}},  {4, 2, 1, {3}},
    };
    for (size_t i = 0; i < COUNT(w); i++) {
        dc_tensor *t;
        assert_int_equal(dc_model_get_weight(m, w[i].layer, w[i].index, &t), DC_OK);
        assert_int_equal(t->ndim, w[i].ndim);
        for (int a = 0; a < t->ndim; a++)
            assert_int_equal(t->shape[a], w[i].shape[a]);
        dc_tensor_free(t);
    }
    dc_tensor *none;
    assert_int_not_equal(dc_model_get_weight(m, 1, 2, &none), DC_OK); /* use_bias=False: no third weight */
    dc_model_free(m);
}

/* glorot_uniform's limit sqrt(6 / (fan_in + fan_out)) with Keras' fans of the
 * depthwise kernel (kh, kw, C, M): fan_in = kh*kw*C, fan_out = kh*kw*M. */
static void test_depthwise_fans(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(3, (int[]){5, 5, 8});
    dc_model_set_seed(m, 3);
    dc_depthwise_config d = dc_depthwise_defaults(3, 3);
    d.depth_multiplier = 4;
    assert_int_equal(dc_model_add(m, dc_layer_depthwise_conv2d_ex(&d)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *k;
    assert_int_equal(dc_model_get_weight(m, 0, 0, &k), DC_OK);
    double limit = sqrt(6.0 / (9 * 8 + 9 * 4)), top = 0;
    for (size_t i = 0; i < k->size; i++)
        top = fmax(top, fabs(k->data[i]));
    if (!(top <= limit && top > 0.9 * limit))
        fail_msg("largest |w| %g, expected just under %g", top, limit);
    dc_tensor_free(k);
    dc_model_free(m);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_model *m = grouped_model();
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(4, 3, 8, 8, 6);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)sin(0.37 * (double)i);
    char *a = assert_round_trip(m, x, dir, 1, "mse", NULL);
    assert_non_null(strstr(a, "\"class_name\":\"DepthwiseConv2D\""));
    assert_non_null(strstr(a, "\"depth_multiplier\":2"));
    assert_non_null(strstr(a, "\"depthwise_regularizer\":{"));
    assert_non_null(strstr(a, "\"pointwise_initializer\":"));
    assert_non_null(strstr(a, "\"groups\":2"));
    free(a);
    dc_tensor_free(x);
    dc_model_free(m);
    rm_dir(dir);
}

/* A one-layer model on (6, 6, 4) from a config; the summary, or NULL with the status. */
static dc_status from_config(const char *class_name, const char *config, char **summary)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":[{\"class_name\":"
             "\"InputLayer\",\"config\":{\"batch_shape\":[null,6,6,4]}},{\"class_name\":\"%s\",\"config\":{%s}}]}}",
             class_name, config);
    dc_model *m;
    *summary = NULL;
    dc_status st = dc_model_from_json(json, strlen(json), &m);
    if (st != DC_OK)
        return st;
    FILE *fp = tmpfile(); /* the model builds here: shapes that do not fit fail */
    assert_non_null(fp);
    st = dc_model_summary(m, fp);
    fclose(fp);
    if (st == DC_OK)
        *summary = summary_of(m);
    dc_model_free(m);
    return st;
}

static void test_config_forms_and_errors(void **state)
{
    (void)state;
    static const struct { const char *cls, *config, *shape; long params; } cases[] = {
        {"DepthwiseConv2D", "\"kernel_size\":3", "(None, 4, 4, 4)", 40},
        {"DepthwiseConv2D", "\"kernel_size\":[3,2],\"depth_multiplier\":3,\"strides\":2,\"padding\":\"same\"",
         "(None, 3, 3, 12)", 84},
        {"DepthwiseConv2D", "\"kernel_size\":3,\"dilation_rate\":2,\"use_bias\":false", "(None, 2, 2, 4)", 36},
        {"SeparableConv2D", "\"filters\":5,\"kernel_size\":3", "(None, 4, 4, 5)", 36 + 20 + 5},
        {"SeparableConv2D", "\"filters\":2,\"kernel_size\":1,\"depth_multiplier\":2", "(None, 6, 6, 2)", 8 + 16 + 2},
        {"Conv2D", "\"filters\":6,\"kernel_size\":3", "(None, 4, 4, 6)", 3 * 3 * 4 * 6 + 6}, /* no "groups": 1 */
        {"Conv2D", "\"filters\":6,\"kernel_size\":3,\"groups\":2", "(None, 4, 4, 6)", 3 * 3 * 2 * 6 + 6},
        {"Conv1D", "\"filters\":4,\"kernel_size\":3,\"groups\":4", "(None, 6, 4)", 3 * 1 * 4 + 4},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char *s;
        const char *cfg = cases[i].config;
        char json[256];
        if (!strcmp(cases[i].cls, "Conv1D")) { /* a (6, 6, 4) input is 2D: give Conv1D its own */
            snprintf(json, sizeof json,
                     "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[{\"class_name\":"
                     "\"InputLayer\",\"config\":{\"batch_shape\":[null,6,4]}},{\"class_name\":\"Conv1D\","
                     "\"config\":{%s,\"padding\":\"same\"}}]}}",
                     cfg);
            dc_model *m;
            if (dc_model_from_json(json, strlen(json), &m) != DC_OK)
                fail_msg("Conv1D {%s}: %s", cfg, dc_errmsg());
            s = summary_of(m);
            dc_model_free(m);
        } else if (from_config(cases[i].cls, cfg, &s) != DC_OK) {
            fail_msg("%s {%s}: %s", cases[i].cls, cfg, dc_errmsg());
        }
        const char *row = strstr(s, cases[i].shape);
        if (!row)
            fail_msg("%s {%s}: expected %s in\n%s", cases[i].cls, cfg, cases[i].shape, s);
        char total[64];
        snprintf(total, sizeof total, "Total params: %ld\n", cases[i].params);
        if (!strstr(s, total))
            fail_msg("%s {%s}: expected %s in\n%s", cases[i].cls, cfg, total, s);
        free(s);
    }
    static const struct { const char *cls, *config, *msg; } bad[] = {
        {"DepthwiseConv2D", "", "kernel_size"},
        {"DepthwiseConv2D", "\"kernel_size\":3,\"depth_multiplier\":0", "depth_multiplier"},
        {"DepthwiseConv2D", "\"kernel_size\":3,\"data_format\":\"channels_first\"", "only \"channels_last\""},
        {"DepthwiseConv2D", "\"kernel_size\":7", "empty output"},
        {"SeparableConv2D", "\"kernel_size\":3", "filters"},
        {"SeparableConv2D", "\"filters\":2,\"kernel_size\":3,\"strides\":0", "strides"},
        {"Conv2D", "\"filters\":6,\"kernel_size\":3,\"groups\":4", "groups 4"},    /* 6 filters */
        {"Conv2D", "\"filters\":6,\"kernel_size\":3,\"groups\":3", "not a multiple of groups 3"}, /* 4 channels */
        {"Conv2D", "\"filters\":6,\"kernel_size\":3,\"groups\":0", "groups"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        char *s;
        if (from_config(bad[i].cls, bad[i].config, &s) == DC_OK)
            fail_msg("%s {%s}: loaded, expected an error", bad[i].cls, bad[i].config);
        assert_errmsg_contains(bad[i].msg);
    }
}

/* The graph ops' own errors: shapes that do not fit, groups that do not divide. */
static void test_op_errors(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_init z = dc_init_make(DC_INIT_ZEROS);
    dc_node *x = dc_param(g, 4, (int[]){1, 5, 5, 4}, z, "x");
    dc_node *k3 = dc_param(g, 4, (int[]){3, 3, 3, 1}, z, "k3"), *k2 = dc_param(g, 4, (int[]){3, 3, 2, 6}, z, "k2");
    dc_node *b5 = dc_param(g, 1, (int[]){5}, z, "b5"), *x3 = dc_param(g, 3, (int[]){1, 5, 4}, z, "x3");
    assert_null(dc_depthwise_conv2d(g, x, k3, NULL, 1, 1, 0, 1, 1));
    assert_errmsg_contains("expected (kh, kw, 4, depth_multiplier)");
    assert_null(dc_depthwise_conv2d(g, x, dc_param(g, 4, (int[]){3, 3, 4, 1}, z, NULL), b5, 1, 1, 0, 1, 1));
    assert_errmsg_contains("bias has 5 values, expected 4");
    assert_null(dc_depthwise_conv2d(g, x3, k3, NULL, 1, 1, 0, 1, 1));
    assert_errmsg_contains("(batch, height, width, channels)");
    assert_null(dc_depthwise_conv2d(g, x, dc_param(g, 4, (int[]){3, 3, 4, 1}, z, NULL), NULL, 0, 1, 0, 1, 1));
    assert_errmsg_contains("stride 0");
    assert_null(dc_conv2d_grouped(g, x, k2, NULL, 3, 1, 1, 0, 1, 1));
    assert_errmsg_contains("3 groups of a kernel with 2 input channels need 6 channels");
    assert_null(dc_conv2d_grouped(g, x, k2, NULL, 0, 1, 1, 0, 1, 1));
    assert_errmsg_contains("groups 0");
    assert_null(dc_conv2d_grouped(g, x, dc_param(g, 4, (int[]){3, 3, 2, 5}, z, NULL), NULL, 2, 1, 1, 0, 1, 1));
    assert_errmsg_contains("filters a multiple of the groups");
    assert_null(dc_conv2d_grouped(g, x, k2, b5, 2, 1, 1, 0, 1, 1));
    assert_errmsg_contains("bias has 5 values, expected 6");
    assert_null(dc_conv2d_grouped(g, NULL, k2, NULL, 2, 1, 1, 0, 1, 1));
    dc_graph_free(g);
}

/* The ops on 4 threads equal the ops on 1, bit for bit: the gradient sums run in a fixed order. */
static void test_threads_same_results(void **state)
{
    (void)state;
    float *first[2][3] = {{NULL}};
    size_t sizes[3];
    for (int run = 0; run < 2; run++) {
        dc_graph *g = dc_graph_new();
        dc_init u = {DC_INIT_RANDOM_UNIFORM, -1, 1};
        dc_node *x = dc_param(g, 4, (int[]){8, 12, 12, 40}, u, "x");
        dc_node *dk = dc_param(g, 4, (int[]){3, 3, 40, 2}, u, "dk"), *db = dc_param(g, 1, (int[]){80}, u, "db");
        dc_node *gk = dc_param(g, 4, (int[]){3, 3, 20, 8}, u, "gk");
        dc_node *y = dc_conv2d_grouped(g, dc_depthwise_conv2d(g, x, dk, db, 2, 2, 1, 1, 1), gk, NULL, 4, 1, 1, 1, 1, 1);
        dc_node *loss = dc_sum(g, dc_mul(g, y, y));
        assert_non_null(loss);
        dc_rng rng;
        dc_rng_seed(&rng, 7);
        int threads = run ? 4 : 1;
        omp_set_num_threads(threads);
        assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
        assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
        dc_node *ps[3] = {x, dk, db};
        for (int i = 0; i < 3; i++) {
            sizes[i] = dc_node_size(ps[i]);
            first[run][i] = malloc(sizes[i] * sizeof(float));
            memcpy(first[run][i], dc_node_grad(ps[i]), sizes[i] * sizeof(float));
        }
        dc_graph_free(g);
    }
    omp_set_num_threads(1);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(first[0][i], first[1][i], sizes[i] * sizeof(float));
        free(first[0][i]);
        free(first[1][i]);
    }
}

/* The depthwise forward at batch 1 with few output rows (a network's last
 * stages): on 2 threads each row's columns are shared out (ops_depthwise.c's
 * row_parts); the outputs equal 1 thread's bit for bit.  Multiplier 1 and 2,
 * "same" and "valid", strides 1 and 2, a channel count not a multiple of 16. */
static void test_depthwise_batch1_rows_threads(void **state)
{
    (void)state;
    static const struct { int h, w, c, m, k, stride, same; } cases[] = {
        {3, 160, 64, 1, 3, 1, 1}, {6, 161, 32, 1, 5, 2, 1}, {2, 200, 24, 2, 3, 1, 1}, {4, 150, 40, 1, 3, 1, 0},
        {1, 300, 48, 1, 3, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float *out[2] = {NULL, NULL};
        size_t n = 0;
        for (int run = 0; run < 2; run++) {
            omp_set_num_threads(run ? 2 : 1);
            dc_graph *g = dc_graph_new();
            dc_init u = {DC_INIT_RANDOM_UNIFORM, -1, 1};
            dc_node *x = dc_param(g, 4, (int[]){1, cases[i].h, cases[i].w, cases[i].c}, u, "x");
            dc_node *k = dc_param(g, 4, (int[]){cases[i].k, cases[i].k, cases[i].c, cases[i].m}, u, "k");
            dc_node *b = dc_param(g, 1, (int[]){cases[i].c * cases[i].m}, u, "b");
            dc_node *y = dc_depthwise_conv2d(g, x, k, b, cases[i].stride, cases[i].stride, cases[i].same, 1, 1);
            assert_non_null(y);
            dc_rng rng;
            dc_rng_seed(&rng, 11);
            assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
            assert_int_equal(dc_graph_forward(g, y, 1), DC_OK);
            n = dc_node_size(y);
            out[run] = malloc(n * sizeof(float));
            assert_non_null(out[run]);
            memcpy(out[run], y->val, n * sizeof(float));
            dc_graph_free(g);
        }
        assert_memory_equal(out[0], out[1], n * sizeof(float));
        free(out[0]);
        free(out[1]);
    }
    omp_set_num_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_vs_torch),
        cmocka_unit_test(test_separable_vs_torch),
        cmocka_unit_test(test_grouped_vs_torch),
        cmocka_unit_test(test_layers_vs_torch),
        cmocka_unit_test(test_summary_and_weights),
        cmocka_unit_test(test_depthwise_fans),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_config_forms_and_errors),
        cmocka_unit_test(test_op_errors),
        cmocka_unit_test(test_threads_same_results),
        cmocka_unit_test(test_depthwise_batch1_rows_threads),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
