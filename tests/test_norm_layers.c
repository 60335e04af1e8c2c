/*
 * test_norm_layers.c - LayerNormalization, the activation layers (ReLU,
 * LeakyReLU, ELU, Softmax, PReLU), Rescaling, Normalization (adapt) and
 * GaussianNoise / GaussianDropout.
 *
 * The ops against PyTorch fixtures (tests/fixtures/norm_layers.txt, from
 * make_fixtures_norm_layers.py) forward and backward; Keras' summary names
 * and Param #; save -> load -> the same predictions and config; the noise's
 * statistics over many draws, identity at inference and the same noise for
 * the same seed; SpatialDropout's whole-channel masks; Rescaling(1/255) inside the model training exactly as
 * dividing beforehand; every error path with its message.
 */
#include "iotest.h"

#include "graph/graph.h"

#include <math.h>

static int setup(void **state)
{
    *state = fx_load("norm_layers.txt");
    return 0;
}

/* Graph for one fixture case: x and the weights as parameters (so every
 * gradient is kept), op applied, forward, then backward of sum(y * dy). */
typedef dc_node *(*make_op)(dc_graph *g, dc_node *x, dc_node *const *w);

static void check_case(const fx_file *f, const char *p, int n_w, const char *const *wnames, make_op make)
{
    char what[64];
    dc_graph *g = dc_graph_new();
    const fx_array *x = fx_get_part(f, p, "x"), *dy = fx_get_part(f, p, "dy");
    dc_node *xn = dc_param(g, x->ndim, x->shape, dc_init_make(DC_INIT_ZEROS), "x"), *w[4];
    for (int i = 0; i < n_w; i++) {
        const fx_array *a = fx_get_part(f, p, wnames[i]);
        w[i] = dc_param(g, a->ndim, a->shape, dc_init_make(DC_INIT_ZEROS), wnames[i]);
    }
    dc_node *y = make(g, xn, w);
    assert_non_null(y);
    dc_node *r = dc_input(g, 0, y->ndim, y->shape, "dy");
    dc_node *loss = dc_sum(g, dc_mul(g, y, r));
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    memcpy(xn->val, x->data, x->size * sizeof(float));
    for (int i = 0; i < n_w; i++)
        memcpy(w[i]->val, fx_get_part(f, p, wnames[i])->data, dc_node_numel(w[i]) * sizeof(float));
    memcpy(r->val, dy->data, dy->size * sizeof(float));
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    snprintf(what, sizeof what, "%s forward", p);
    assert_close(y->val, fx_get_part(f, p, "y")->data, x->size, 1e-5, 1e-6, what);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    snprintf(what, sizeof what, "%s dx", p);
    assert_close(xn->grad, fx_get_part(f, p, "dx")->data, x->size, 1e-5, 1e-6, what);
    for (int i = 0; i < n_w; i++) {
        char dname[32];
        snprintf(dname, sizeof dname, "d%s", wnames[i]);
        snprintf(what, sizeof what, "%s %s", p, dname);
        assert_close(w[i]->grad, fx_get_part(f, p, dname)->data, dc_node_numel(w[i]), 1e-5, 1e-6, what);
    }
    dc_graph_free(g);
}

static dc_node *make_ln(dc_graph *g, dc_node *x, dc_node *const *w) { return dc_layernorm(g, x, w[0], w[1], 1e-3f); }
static dc_node *make_prelu(dc_graph *g, dc_node *x, dc_node *const *w) { return dc_prelu(g, x, w[0]); }
static dc_node *make_relu(dc_graph *g, dc_node *x, dc_node *const *w)
{
    (void)w;
    return dc_relu_ex(g, x, 1.5f, 0.1f, 0.5f);
}

static void test_ops_match_pytorch(void **state)
{
    const fx_file *f = *state;
    const char *ln[] = {"gamma", "beta"}, *pr[] = {"alpha"};
    check_case(f, "ln2", 2, ln, make_ln);
    check_case(f, "ln3", 2, ln, make_ln);
    check_case(f, "ln_chunks", 2, ln, make_ln); /* 150 rows: the backward's chunks of 64 and a part one */
    check_case(f, "prelu", 1, pr, make_prelu);
    check_case(f, "prelu_shared", 1, pr, make_prelu);
    check_case(f, "relu", 0, NULL, make_relu);
}

static dc_tensor *tensor_of(const fx_array *a) { return dc_tensor_from(a->ndim, a->shape, a->data); }

static dc_model *compiled(int in, dc_layer **layers, int n, const char *loss)
{
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    if (dc_model_compile(m, "adam", loss, NULL, 0) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    return m;
}

/* Normalization adapted on the fixture's data: the statistics and the output. */
static void test_normalization_adapt_matches_numpy(void **state)
{
    const fx_file *f = *state;
    dc_tensor *data = tensor_of(fx_get(f, "norm.data")), *x = tensor_of(fx_get(f, "norm.x")), *out = NULL, *w = NULL;
    dc_layer *norm = dc_layer_normalization();
    assert_int_equal(dc_layer_normalization_adapt(norm, data), DC_OK);
    dc_model *m = compiled(3, &norm, 1, "mse");
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_OK);
    assert_close(w->data, fx_get(f, "norm.mean")->data, 3, 1e-6, 1e-7, "adapted mean");
    dc_tensor_free(w);
    assert_int_equal(dc_model_get_weight(m, 0, 1, &w), DC_OK);
    assert_close(w->data, fx_get(f, "norm.var")->data, 3, 1e-6, 1e-7, "adapted variance (population)");
    dc_tensor_free(w);
    assert_int_equal(dc_model_predict(m, x, 32, &out), DC_OK);
    assert_close(out->data, fx_get(f, "norm.y")->data, out->size, 1e-5, 1e-6, "normalized");
    dc_tensor_free(out);
    /* adapt again on other data, in the compiled model: the weights follow */
    for (size_t i = 0; i < data->size; i++)
        data->data[i] = 2.0f * data->data[i] + 1.0f;
    assert_int_equal(dc_layer_normalization_adapt(norm, data), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_OK);
    for (int j = 0; j < 3; j++)
        assert_float_equal(w->data[j], 2.0f * fx_get(f, "norm.mean")->data[j] + 1.0f, 1e-4);
    dc_tensor_free(w);
    /* given statistics, a scalar broadcast, and invert */
    dc_layer *l2[] = {dc_layer_normalization_ex(1, (float[]){3.0f}, (float[]){2.0f}, 0)};
    dc_model *m2 = compiled(3, l2, 1, "mse");
    dc_tensor *t = dc_tensor_from(2, (int[]){1, 3}, (float[]){1, 2, 3});
    assert_int_equal(dc_model_predict(m2, t, 32, &out), DC_OK);
    assert_float_equal(out->data[0], -1.4142135f, 1e-6); /* Keras' docstring example */
    assert_float_equal(out->data[1], -0.70710677f, 1e-6);
    assert_float_equal(out->data[2], 0.0f, 1e-7);
    dc_tensor_free(out);
    dc_layer *l3[] = {dc_layer_normalization_ex(3, (float[]){1, 2, 3}, (float[]){4, 0, 1}, 1)};
    dc_model *m3 = compiled(3, l3, 1, "mse");
    assert_int_equal(dc_model_predict(m3, t, 32, &out), DC_OK);
    assert_float_equal(out->data[0], 1 + 1 * 2.0f, 1e-6);
    assert_float_equal(out->data[1], 2 + 2 * 1e-7f, 1e-6); /* sqrt(0) clamped to 1e-7 */
    assert_float_equal(out->data[2], 3 + 3 * 1.0f, 1e-6);
    dc_tensor_free(out);
    dc_tensor_free(t);
    dc_tensor_free(data);
    dc_tensor_free(x);
    dc_model_free(m);
    dc_model_free(m2);
    dc_model_free(m3);
}

#define IN 6

static dc_tensor *random_x(int n, int cols, float scale, uint64_t seed)
{
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    dc_tensor *x = dc_tensor_new(2, (int[]){n, cols});
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = scale * (2.0f * dc_rng_uniform(&rng) - 1.0f) + (float)(i % (size_t)cols);
    return x;
}

/* Every layer of this file in one model. */
static dc_model *every_layer_model(const dc_tensor *adapt_on)
{
    dc_layer *norm = dc_layer_normalization();
    assert_int_equal(dc_layer_normalization_adapt(norm, adapt_on), DC_OK);
    dc_layer *l[] = {dc_layer_rescaling(0.5f, 0.25f),
                     norm,
                     dc_layer_relu_ex(6.0f, 0.0f, 0.0f),
                     dc_layer_dense(8, NULL),
                     dc_layer_layer_normalization(),
                     dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0.0f, 0.01f, 0, NULL),
                     dc_layer_leaky_relu(0.3f),
                     dc_layer_elu(1.0f),
                     dc_layer_gaussian_noise(0.1f),
                     dc_layer_gaussian_dropout(0.2f),
                     dc_layer_dense(3, NULL),
                     dc_layer_relu(),
                     dc_layer_dense(3, NULL),
                     dc_layer_softmax(-1)};
    return compiled(IN, l, (int)(sizeof l / sizeof l[0]), "sparse_categorical_crossentropy");
}

static void test_summary_names_and_params(void **state)
{
    (void)state;
    dc_tensor *x = random_x(20, IN, 1.0f, 1);
    dc_model *m = every_layer_model(x);
    char *s = summary_of(m);
    static const struct {
        const char *field, *shape;
        long params;
    } rows[] = {
        {"rescaling (Rescaling)", "(None, 6)", 0},
        {"normalization (Normalization)", "(None, 6)", 13}, /* mean, variance, count */
        {"re_lu (ReLU)", "(None, 6)", 0},
        {"layer_normalization (LayerNormalization)", "(None, 8)", 16},
        {"p_re_lu (PReLU)", "(None, 8)", 8},
        {"leaky_re_lu (LeakyReLU)", "(None, 8)", 0},
        {"elu (ELU)", "(None, 8)", 0},
        {"gaussian_noise (GaussianNoise)", "(None, 8)", 0},
        {"gaussian_dropout (GaussianDropout)", "(None, 8)", 0},
        {"re_lu_1 (ReLU)", "(None, 3)", 0},
        {"softmax (Softmax)", "(None, 3)", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!summary_has_row(s, rows[i].field, rows[i].shape, rows[i].params))
            fail_msg("summary lacks %s %s %ld:\n%s", rows[i].field, rows[i].shape, rows[i].params, s);
    }
    static const char *const totals[] = {"Total params: 132\n", "Trainable params: 119\n", "Non-trainable params: 13\n"};
    for (int i = 0; i < 3; i++)
        if (!strstr(s, totals[i]))
            fail_msg("summary lacks %s:\n%s", totals[i], s);
    free(s);
    dc_model_free(m);
    /* center / scale off: no beta / gamma */
    dc_layer_norm_config c = dc_layer_norm_defaults();
    c.center = 0;
    dc_layer *l[] = {dc_layer_layer_normalization_ex(&c)};
    m = compiled(IN, l, 1, "mse");
    assert_int_equal(dc_model_param_count(m), IN);
    dc_model_free(m);
    /* PReLU on (steps, channels) with the steps shared: one alpha per channel */
    int in2[2] = {5, 4};
    m = dc_sequential_new(2, in2);
    assert_int_equal(dc_model_add(m, dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0, 0, 1, (int[]){1})), DC_OK);
    assert_int_equal(dc_model_param_count(m), 4);
    dc_model_free(m);
    dc_tensor_free(x);
}

static dc_tensor *labels(const dc_tensor *x)
{
    dc_tensor *y = dc_tensor_new(1, (int[]){x->shape[0]});
    for (int i = 0; i < x->shape[0]; i++)
        y->data[i] = (float)((x->data[i * x->shape[1]] > 0) + (x->data[i * x->shape[1] + 1] > 1));
    return y;
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_tensor *x = random_x(40, IN, 2.0f, 2), *y = labels(x);
    dc_model *m = every_layer_model(x);
    dc_fit_config c = quiet_fit(2, 8);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK); /* PReLU's alpha moves */
    dc_tensor *alpha;
    assert_int_equal(dc_model_get_weight(m, 5, 0, &alpha), DC_OK);
    float amax = 0;
    for (size_t i = 0; i < alpha->size; i++)
        amax = fmaxf(amax, fabsf(alpha->data[i]));
    assert_true(amax > 0.0f); /* trained away from its zeros */
    dc_tensor_free(alpha);
    char *a = assert_save_load_same(m, join(dir, "m.safetensors"), x);
    static const char *const keys[] = {
        "\"class_name\":\"LayerNormalization\"", "\"epsilon\":0.001", "\"center\":true", "\"rms_scaling\":false",
        "\"gamma_initializer\"", "\"class_name\":\"PReLU\"", "\"alpha_initializer\"", "\"shared_axes\":null",
        "\"alpha_regularizer\":{\"class_name\":\"L1L2\"", "\"max_value\":6", "\"negative_slope\":0.3",
        "\"class_name\":\"ELU\"", "\"alpha\":1", "\"class_name\":\"Softmax\"", "\"axis\":-1",
        "\"stddev\":0.1", "\"rate\":0.2", "\"seed\":null", "\"scale\":0.5", "\"offset\":0.25",
        "\"invert\":false", "\"mean\":null", "\"max_value\":null",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(a, keys[i]))
            fail_msg("config lacks %s:\n%s", keys[i], a);
    free(a);
    /* Normalization with constants: they travel in the config */
    dc_layer *l[] = {dc_layer_normalization_ex(IN, (float[]){1, 2, 3, 4, 5, 6}, (float[]){1, 4, 9, 1, 1, 0.25f}, 0),
                     dc_layer_dense(2, NULL)};
    dc_model *k = compiled(IN, l, 2, "mse");
    assert_int_equal(dc_model_param_count(k), IN * 2 + 2); /* no weights for the constants */
    a = assert_save_load_same(k, join(dir, "k.safetensors"), x);
    assert_non_null(strstr(a, "\"variance\":[1,4,9,1,1,0.25]"));
    free(a);
    dc_model_free(k);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* One forward of the noise op on `x` (rows x cols) with training and an RNG. */
static void expect_null(dc_layer *l, const char *needle);
static void expect_build_error(int ndim, const int *in, dc_layer *l, const char *needle);

static void noise_forward(dc_graph *g, dc_node *out, int training, uint64_t seed)
{
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    dc_run run = {.training = training, .rng = &rng};
    assert_int_equal(dc_graph_forward_run(g, out, &run), DC_OK);
}

static void test_noise_statistics(void **state)
{
    (void)state;
    enum { ROWS = 200, COLS = 100 };
    for (int mul = 0; mul < 2; mul++) {
        float sd = mul ? sqrtf(0.3f / 0.7f) : 0.25f, base = mul ? 1.0f : 0.0f;
        dc_graph *g = dc_graph_new();
        dc_node *x = dc_input(g, 0, 2, (int[]){ROWS, COLS}, "x");
        dc_node *out = dc_gaussian_noise(g, x, sd, mul);
        assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
        for (size_t i = 0; i < ROWS * COLS; i++)
            x->val[i] = mul ? 1.0f : 0.0f; /* the output is then the noise itself */
        noise_forward(g, out, 1, 42);
        double s = 0, s2 = 0;
        for (size_t i = 0; i < ROWS * COLS; i++) {
            s += out->val[i];
            s2 += (out->val[i] - base) * (out->val[i] - base);
        }
        double mean = s / (ROWS * COLS), var = s2 / (ROWS * COLS) - (mean - base) * (mean - base);
        /* 20000 draws: the mean's standard error is sd / 141, the variance's about 1% */
        assert_true(fabs(mean - base) < 4 * sd / 141.0);
        if (fabs(var / (sd * sd) - 1.0) > 0.05)
            fail_msg("noise %d: variance %g, expected %g", mul, var, (double)(sd * sd));
        float *first = malloc(ROWS * COLS * sizeof(float));
        memcpy(first, out->val, ROWS * COLS * sizeof(float));
        noise_forward(g, out, 1, 42); /* same seed, same noise */
        assert_memory_equal(first, out->val, ROWS * COLS * sizeof(float));
        noise_forward(g, out, 1, 43);
        assert_true(memcmp(first, out->val, ROWS * COLS * sizeof(float)) != 0);
        for (size_t i = 0; i < ROWS * COLS; i++)
            x->val[i] = (float)i * 0.01f;
        noise_forward(g, out, 0, 42); /* inference: the identity */
        assert_memory_equal(x->val, out->val, ROWS * COLS * sizeof(float));
        free(first);
        dc_graph_free(g);
    }
}

/* SpatialDropout: whole channels of a sample dropped together, at the rate
 * asked; identity at inference; in a model, its names, config and errors. */
static void test_spatial_dropout(void **state)
{
    (void)state;
    enum { B = 50, T = 8, C = 20 };
    const float rate = 0.3f, keep = 1.0f / (1.0f - rate);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 0, 3, (int[]){B, T, C}, "x"), *out = dc_spatial_dropout(g, x, rate);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    for (size_t i = 0; i < B * T * C; i++)
        x->val[i] = 1.0f + (float)(i % 7);
    noise_forward(g, out, 1, 11);
    int dropped = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float m = out->val[(size_t)b * T * C + c] / x->val[(size_t)b * T * C + c];
            assert_true(m == 0.0f || fabsf(m - keep) < 1e-6f);
            dropped += m == 0.0f;
            for (int t = 1; t < T; t++) { /* the same factor at every step */
                size_t i = ((size_t)b * T + (size_t)t) * C + (size_t)c;
                assert_float_equal(out->val[i], m * x->val[i], 1e-5);
            }
        }
    double frac = (double)dropped / (B * C); /* 1000 channels: standard error 0.0145 */
    if (fabs(frac - rate) > 0.06)
        fail_msg("spatial dropout dropped %.3f of the channels, expected %.2f", frac, (double)rate);
    noise_forward(g, out, 0, 11);
    assert_memory_equal(out->val, x->val, B * T * C * sizeof(float));
    dc_graph_free(g);

    int in[3] = {4, 4, 3};
    dc_model *m = dc_sequential_new(3, in);
    assert_int_equal(dc_model_add(m, dc_layer_spatial_dropout2d(0.5f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_reshape(2, (int[]){16, 3})), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_spatial_dropout1d(0.25f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_flatten()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    char *s = summary_of(m);
    assert_true(summary_has_row(s, "spatial_dropout2d (SpatialDropout2D)", "(None, 4, 4, 3)", 0));
    assert_true(summary_has_row(s, "spatial_dropout1d (SpatialDropout1D)", "(None, 16, 3)", 0));
    free(s);
    dc_tensor *xs = dc_tensor_new(4, (int[]){10, 4, 4, 3}), *ys = dc_tensor_new(1, (int[]){10});
    for (size_t i = 0; i < xs->size; i++)
        xs->data[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < 10; i++)
        ys->data[i] = (float)(i % 2);
    dc_fit_config c = quiet_fit(1, 4);
    assert_int_equal(dc_model_fit(m, xs, ys, &c, NULL), DC_OK);
    char *dir = make_dir();
    char *a = assert_save_load_same(m, join(dir, "s.safetensors"), xs);
    assert_non_null(strstr(a, "\"class_name\":\"SpatialDropout2D\""));
    assert_non_null(strstr(a, "\"data_format\":\"channels_last\""));
    assert_non_null(strstr(a, "\"rate\":0.25"));
    free(a);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(xs);
    dc_tensor_free(ys);

    expect_null(dc_layer_spatial_dropout1d(1.0f), "SpatialDropout1D: rate 1, expected 0 <= rate < 1");
    expect_null(dc_layer_spatial_dropout2d(-0.1f), "SpatialDropout2D: rate -0.1");
    int in2[1] = {6};
    expect_build_error(1, in2, dc_layer_spatial_dropout1d(0.1f),
                       "spatial_dropout1d: input (None, 6), expected (batch, steps, channels)");
    expect_build_error(2, (int[]){6, 2}, dc_layer_spatial_dropout2d(0.1f),
                       "spatial_dropout2d: input (None, 6, 2), expected (batch, height, width, channels)");
    static const char *const cf =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 4, 3]}},"
        "{\"class_name\": \"SpatialDropout2D\", \"config\": {\"name\": \"s\", \"rate\": 0.1, "
        "\"data_format\": \"channels_first\"}}]}}";
    dc_model *bad = NULL;
    assert_int_not_equal(dc_model_from_json(cf, strlen(cf), &bad), DC_OK);
    assert_errmsg_contains("only \"channels_last\" is supported");
}

/* In a model: predict and evaluate see no noise; fit with the same seed
 * gives the same weights, and the noise does change them. */
static void test_noise_in_model(void **state)
{
    (void)state;
    dc_tensor *x = random_x(32, IN, 1.0f, 5), *y = labels(x);
    dc_model *runs[3];
    for (int r = 0; r < 2; r++) {
        dc_layer *noisy[] = {dc_layer_gaussian_noise(0.5f), dc_layer_gaussian_dropout(0.4f),
                             dc_layer_dense(3, "softmax")};
        runs[r] = compiled(IN, noisy, 3, "sparse_categorical_crossentropy");
    }
    dc_layer *plain[] = {dc_layer_dense(3, "softmax")};
    runs[2] = compiled(IN, plain, 1, "sparse_categorical_crossentropy");
    /* before training: the same Dense weights, and predict ignores the noise */
    assert_same_predictions(runs[0], runs[2], x);
    double e0, e2;
    assert_int_equal(dc_model_evaluate(runs[0], x, y, 32, 0, &e0, 1), DC_OK);
    assert_int_equal(dc_model_evaluate(runs[2], x, y, 32, 0, &e2, 1), DC_OK);
    assert_true(e0 == e2);
    dc_fit_config c = quiet_fit(2, 8);
    for (int r = 0; r < 3; r++)
        assert_int_equal(dc_model_fit(runs[r], x, y, &c, NULL), DC_OK);
    assert_same_predictions(runs[0], runs[1], x);
    dc_tensor *p0, *p2;
    assert_int_equal(dc_model_predict(runs[0], x, 32, &p0), DC_OK);
    assert_int_equal(dc_model_predict(runs[2], x, 32, &p2), DC_OK);
    assert_true(memcmp(p0->data, p2->data, p0->size * sizeof(float)) != 0);
    dc_tensor_free(p0);
    dc_tensor_free(p2);
    for (int r = 0; r < 3; r++)
        dc_model_free(runs[r]);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* The MNIST recipe with Rescaling(1/255) as the first layer reading raw
 * pixel values trains exactly as the model fed pixels divided beforehand. */
static void test_rescaling_equals_dividing_first(void **state)
{
    (void)state;
    enum { N = 64, PIX = 49 };
    dc_rng rng;
    dc_rng_seed(&rng, 9);
    dc_tensor *raw = dc_tensor_new(2, (int[]){N, PIX}), *scaled = dc_tensor_new(2, (int[]){N, PIX});
    dc_tensor *y = dc_tensor_new(1, (int[]){N});
    for (int i = 0; i < N; i++) {
        y->data[i] = (float)(i % 3);
        for (int j = 0; j < PIX; j++) {
            float v = (float)dc_rng_below(&rng, 256);
            raw->data[i * PIX + j] = v;
            scaled->data[i * PIX + j] = v * (1 / 255.0f); /* as dc_tensor_from_u8(d, 1 / 255.0f) */
        }
    }
    dc_layer *with[] = {dc_layer_rescaling(1 / 255.0f, 0.0f), dc_layer_dense(16, "relu"), dc_layer_dense(3, "softmax")};
    dc_layer *without[] = {dc_layer_dense(16, "relu"), dc_layer_dense(3, "softmax")};
    dc_model *a = compiled(PIX, with, 3, "sparse_categorical_crossentropy");
    dc_model *b = compiled(PIX, without, 2, "sparse_categorical_crossentropy");
    dc_fit_config c = quiet_fit(3, 8);
    assert_int_equal(dc_model_fit(a, raw, y, &c, NULL), DC_OK);
    assert_int_equal(dc_model_fit(b, scaled, y, &c, NULL), DC_OK);
    dc_tensor *pa, *pb;
    assert_int_equal(dc_model_predict(a, raw, 32, &pa), DC_OK);
    assert_int_equal(dc_model_predict(b, scaled, 32, &pb), DC_OK);
    assert_memory_equal(pa->data, pb->data, pa->size * sizeof(float));
    dc_tensor_free(pa);
    dc_tensor_free(pb);
    dc_model_free(a);
    dc_model_free(b);
    dc_tensor_free(raw);
    dc_tensor_free(scaled);
    dc_tensor_free(y);
}

/* Softmax after a Dense: the loss fuses with the logits, as after Dense(softmax). */
static void test_activation_layers_values(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_from(2, (int[]){1, 5}, (float[]){-10, -5, 0, 0.5f, 10});
    struct {
        dc_layer *l;
        float want[5];
    } cases[] = {
        {dc_layer_leaky_relu(0.5f), {-5, -2.5f, 0, 0.5f, 10}}, /* Keras' docstring example */
        {dc_layer_relu_ex(6.0f, 0.0f, 0.0f), {0, 0, 0, 0.5f, 6}},
        {dc_layer_relu_ex(INFINITY, 0.0f, 1.0f), {0, 0, 0, 0, 10}},
        {dc_layer_relu_ex(INFINITY, 0.1f, 0.0f), {-1, -0.5f, 0, 0.5f, 10}},
        {dc_layer_elu(0.5f), {0.5f * expm1f(-10), 0.5f * expm1f(-5), 0, 0.5f, 10}},
        {dc_layer_prelu(), {0, 0, 0, 0.5f, 10}},
        {dc_layer_rescaling(2.0f, 1.0f), {-19, -9, 1, 2, 21}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_model *m = compiled(5, &cases[i].l, 1, "mse");
        dc_tensor *out;
        assert_int_equal(dc_model_predict(m, x, 32, &out), DC_OK);
        char what[32];
        snprintf(what, sizeof what, "activation case %zu", i);
        assert_close(out->data, cases[i].want, 5, 1e-6, 1e-7, what);
        dc_tensor_free(out);
        dc_model_free(m);
    }
    dc_layer *l[] = {dc_layer_dense(4, NULL), dc_layer_softmax(1)};
    dc_model *m = compiled(5, l, 2, "sparse_categorical_crossentropy");
    dc_tensor *out;
    assert_int_equal(dc_model_predict(m, x, 32, &out), DC_OK);
    assert_float_equal(out->data[0] + out->data[1] + out->data[2] + out->data[3], 1.0f, 1e-6);
    dc_tensor_free(out);
    dc_model_free(m);
    dc_tensor_free(x);
}

static void expect_null(dc_layer *l, const char *needle)
{
    assert_null(l);
    assert_errmsg_contains(needle);
}

/* A model on input `in` with `l` fails to build (summary) with `needle`. */
static void expect_build_error(int ndim, const int *in, dc_layer *l, const char *needle)
{
    assert_non_null(l);
    dc_model *m = dc_sequential_new(ndim, in);
    assert_int_equal(dc_model_add(m, l), DC_OK);
    FILE *fp = tmpfile();
    assert_int_not_equal(dc_model_summary(m, fp), DC_OK);
    fclose(fp);
    assert_errmsg_contains(needle);
    dc_model_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    expect_null(dc_layer_relu_ex(-1.0f, 0, 0), "ReLU: max_value -1");
    expect_null(dc_layer_relu_ex(INFINITY, -0.1f, 0), "each must be >= 0");
    expect_null(dc_layer_relu_ex(INFINITY, 0, NAN), "ReLU");
    expect_null(dc_layer_leaky_relu(-0.3f), "LeakyReLU: negative_slope -0.3");
    expect_null(dc_layer_elu(INFINITY), "ELU: alpha inf");
    expect_null(dc_layer_softmax(0), "Softmax: axis 0");
    expect_null(dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0, 0, 1, (int[]){0}), "PReLU: shared axis 0");
    expect_null(dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), -1, 0, 0, NULL), "PReLU: alpha_regularizer");
    expect_null(dc_layer_rescaling(NAN, 0), "Rescaling: scale nan");
    expect_null(dc_layer_gaussian_noise(2.0f), "GaussianNoise: stddev 2");
    expect_null(dc_layer_gaussian_dropout(1.0f), "GaussianDropout: rate 1");
    expect_null(dc_layer_normalization_ex(2, (float[]){0, 0}, NULL, 0), "both mean and variance must be set");
    expect_null(dc_layer_normalization_ex(1, (float[]){0}, (float[]){-1}, 0), "variance -1");
    dc_layer_norm_config c = dc_layer_norm_defaults();
    c.epsilon = 0;
    expect_null(dc_layer_layer_normalization_ex(&c), "LayerNormalization: epsilon 0");
    expect_null(dc_layer_layer_normalization_ex(NULL), "cfg is NULL");

    int in3[2] = {4, 5}, in1 = 6;
    c = dc_layer_norm_defaults();
    c.axis = 1;
    expect_build_error(2, in3, dc_layer_layer_normalization_ex(&c),
                       "layer_normalization: axis 1 on input (None, 4, 5); only the last axis (-1) is supported");
    expect_build_error(2, in3, dc_layer_softmax(1), "softmax: axis 1 on input (None, 4, 5)");
    expect_build_error(1, &in1, dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0, 0, 1, (int[]){2}),
                       "p_re_lu: shared axis 2, the input (None, 6) has axes 1 to 1");
    expect_build_error(1, &in1, dc_layer_normalization(),
                       "normalization: no mean and variance; call dc_layer_normalization_adapt");
    expect_build_error(1, &in1, dc_layer_normalization_ex(2, (float[]){0, 0}, (float[]){1, 1}, 0),
                       "normalization: mean/variance has 2 features, the input (None, 6) has 6");

    /* adapt: wrong layer, bad data, a feature count that does not fit */
    dc_layer *d = dc_layer_dense(2, NULL), *n = dc_layer_normalization(), *given;
    dc_tensor *t = dc_tensor_new(2, (int[]){4, 3}), *v = dc_tensor_new(1, (int[]){4});
    assert_int_equal(dc_layer_normalization_adapt(d, t), DC_ERR_ARG);
    assert_errmsg_contains("the layer is Dense, expected a Normalization layer");
    assert_int_equal(dc_layer_normalization_adapt(n, NULL), DC_ERR_ARG);
    assert_errmsg_contains("NULL data");
    assert_int_equal(dc_layer_normalization_adapt(n, v), DC_ERR_SHAPE);
    assert_errmsg_contains("data (4,) has no feature axis; reshape it to (4, 1)");
    t->data[5] = NAN;
    assert_int_equal(dc_layer_normalization_adapt(n, t), DC_ERR_NAN);
    assert_errmsg_contains("data value 5 (sample 1, feature 2) is nan");
    t->data[5] = 0;
    given = dc_layer_normalization_ex(1, (float[]){0}, (float[]){1}, 0);
    assert_int_equal(dc_layer_normalization_adapt(given, t), DC_ERR_STATE);
    assert_errmsg_contains("was given mean and variance");
    assert_int_equal(dc_layer_normalization_adapt(n, t), DC_OK);
    dc_model *m = dc_sequential_new(1, (int[]){3});
    assert_int_equal(dc_model_add(m, n), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *wide = dc_tensor_new(2, (int[]){4, 5});
    assert_int_equal(dc_layer_normalization_adapt(n, wide), DC_ERR_SHAPE);
    assert_errmsg_contains("normalization was built for 3 features, data (4, 5) has 5");
    /* a 4-feature input to a model adapted for 3 */
    dc_model *m4 = dc_sequential_new(1, (int[]){4});
    dc_layer *n4 = dc_layer_normalization();
    assert_int_equal(dc_layer_normalization_adapt(n4, t), DC_OK);
    assert_int_equal(dc_model_add(m4, n4), DC_OK);
    assert_int_not_equal(dc_model_compile(m4, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("normalization: the adapted data has 3 features, the input (None, 4) has 4");
    dc_model_free(m4);
    dc_model_free(m);
    dc_layer_free(d);
    dc_layer_free(given);
    dc_tensor_free(t);
    dc_tensor_free(v);
    dc_tensor_free(wide);
}

/* Keras-written configs load: LeakyReLU's old "alpha", axis as an int. */
static void test_keras_configs_load(void **state)
{
    (void)state;
    static const char *const json =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4]}},"
        "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"leaky_re_lu\", \"alpha\": 0.1}},"
        "{\"class_name\": \"LayerNormalization\", \"config\": {\"name\": \"layer_normalization\", \"axis\": -1}},"
        "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"normalization\", \"axis\": [-1], "
        "\"invert\": false, \"mean\": [0, 1, 2, 3], \"variance\": [1, 1, 4, 4]}},"
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu\", \"max_value\": null, \"negative_slope\": 0.0, "
        "\"threshold\": 0.0}},"
        "{\"class_name\": \"GaussianNoise\", \"config\": {\"name\": \"gaussian_noise\", \"stddev\": 0.1, \"seed\": null}}"
        "]}}";
    dc_model *m = NULL;
    if (dc_model_from_json(json, strlen(json), &m) != DC_OK)
        fail_msg("from_json: %s", dc_errmsg());
    char *out;
    assert_int_equal(dc_model_to_json(m, &out), DC_OK);
    if (!strstr(out, "\"negative_slope\":0.1"))
        fail_msg("%s", out);
    assert_non_null(strstr(out, "\"mean\":[0,1,2,3]"));
    free(out);
    dc_model_free(m);
    static const char *const bad =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4]}},"
        "{\"class_name\": \"LayerNormalization\", \"config\": {\"name\": \"ln\", \"rms_scaling\": true}}]}}";
    assert_int_not_equal(dc_model_from_json(bad, strlen(bad), &m), DC_OK);
    assert_errmsg_contains("rms_scaling");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops_match_pytorch, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_normalization_adapt_matches_numpy, setup, fx_teardown),
        cmocka_unit_test(test_summary_names_and_params),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_noise_statistics),
        cmocka_unit_test(test_noise_in_model),
        cmocka_unit_test(test_spatial_dropout),
        cmocka_unit_test(test_rescaling_equals_dividing_first),
        cmocka_unit_test(test_activation_layers_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_keras_configs_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
