/*
 * test_image.c - the image-to-image layers: UpSampling2D/1D, ZeroPadding2D/1D,
 * Cropping2D/1D, Conv2DTranspose/Conv1DTranspose.
 *
 * The ops against PyTorch (tests/fixtures/image.txt, written by
 * make_fixtures_image.py): forward and every gradient within 1e-5 relative;
 * the layers' Keras names, summary shapes and Param #, Keras' kernel layout
 * and glorot / he fans for Conv2DTranspose, configs in Keras' forms, a
 * save / load round trip with the same predictions, and every error path.
 */
#include "iotest.h"

#include <math.h>

#define RTOL 1e-5
#define ATOL 1e-6

/* ---- ops against PyTorch ---- */

static int setup(void **state)
{
    *state = fx_load("image.txt");
    return 0;
}

/* The fixture's <prefix>.<name> as a parameter node. */
static dc_node *fx_param(dc_graph *g, const fx_file *f, const char *prefix, const char *name)
{
    const fx_array *a = fx_get_part(f, prefix, name);
    dc_node *n = dc_param(g, a->ndim, a->shape, dc_init_make(DC_INIT_ZEROS), name);
    assert_non_null(n);
    return n;
}

/* Compiles y's graph with L = sum(y * gy), loads the inputs, runs forward
 * and backward, and checks y and the gradient of every input (gx, gk, gb). */
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
    char what[160], gname[8];
    const fx_array *want = fx_get_part(f, prefix, "y");
    snprintf(what, sizeof what, "%s.y", prefix);
    assert_int_equal(dc_node_size(y), want->size);
    assert_close(dc_node_value(y), want->data, want->size, RTOL, ATOL, what);
    for (int i = 0; i < n; i++) {
        snprintf(gname, sizeof gname, "g%s", names[i]);
        snprintf(what, sizeof what, "%s.%s", prefix, gname);
        want = fx_get_part(f, prefix, gname);
        assert_close(dc_node_grad(inputs[i]), want->data, want->size, RTOL, ATOL, what);
    }
    dc_graph_free(g);
}

static void test_conv_transpose_vs_torch(void **state)
{
    static const struct { const char *name; int stride, same, dilation, out_pad; } cases[] = {
        {"valid_s1", 1, 0, 1, -1},    {"same_s1", 1, 1, 1, -1},     {"valid_s2", 2, 0, 1, -1},
        {"same_s2", 2, 1, 1, -1},     {"same_s2_op1", 2, 1, 1, 1},  {"valid_s2_op1", 2, 0, 1, 1},
        {"same_s2_op0", 2, 1, 1, 0},  {"valid_d2", 1, 0, 2, -1},    {"same_k4s2", 2, 1, 1, -1},
        {"valid_k2s3", 3, 0, 1, -1},
    };
    const fx_file *f = *state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "convt.%s", cases[c].name);
        dc_graph *g = dc_graph_new();
        dc_node *in[3] = {fx_param(g, f, prefix, "x"), fx_param(g, f, prefix, "k"), fx_param(g, f, prefix, "b")};
        int s[2] = {cases[c].stride, cases[c].stride}, d[2] = {cases[c].dilation, cases[c].dilation};
        int op[2] = {cases[c].out_pad, cases[c].out_pad};
        dc_node *y = dc_conv2d_transpose(g, in[0], in[1], in[2], s, cases[c].same, d, op[0] < 0 ? NULL : op);
        check_against(f, prefix, g, y, in, (const char *[]){"x", "k", "b"}, 3);
    }
}

static void test_upsampling_vs_torch(void **state)
{
    static const struct { const char *name; int sh, sw, bilinear; } cases[] = {
        {"nearest_2x2", 2, 2, 0}, {"nearest_3x2", 3, 2, 0}, {"bilinear_2x2", 2, 2, 1}, {"bilinear_3x4", 3, 4, 1}};
    const fx_file *f = *state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "up.%s", cases[c].name);
        dc_graph *g = dc_graph_new();
        dc_node *x = fx_param(g, f, prefix, "x");
        check_against(f, prefix, g, dc_upsample2d(g, x, cases[c].sh, cases[c].sw, cases[c].bilinear), &x,
                      (const char *[]){"x"}, 1);
    }
}

static void test_padding_cropping_vs_torch(void **state)
{
    static const struct { const char *name; int a[4]; } cases[] = {
        {"pad", {1, 2, 3, 0}}, {"crop", {-1, -2, 0, -3}}, {"mixed", {2, -1, -1, 1}}};
    const fx_file *f = *state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "pad.%s", cases[c].name);
        dc_graph *g = dc_graph_new();
        dc_node *x = fx_param(g, f, prefix, "x");
        const int *a = cases[c].a;
        check_against(f, prefix, g, dc_pad2d(g, x, a[0], a[1], a[2], a[3]), &x, (const char *[]){"x"}, 1);
    }
}

/* ---- layers ---- */

static dc_model *model_for(int ndim, const int *shape)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    assert_non_null(m);
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    return m;
}

static void assert_has(const char *s, const char *line)
{
    if (!strstr(s, line))
        fail_msg("summary lacks \"%s\":\n%s", line, s);
}

/* Every layer kind of this file in one model, input (6, 5, 2). */
static dc_model *image_model(void)
{
    dc_model *m = model_for(3, (int[]){6, 5, 2});
    dc_conv_config c = dc_conv_defaults(3, 3, 3);
    c.strides[0] = c.strides[1] = 2;
    c.padding = DC_PADDING_SAME;
    c.activation = "relu";
    c.kernel_l2 = 0.01f;
    dc_conv_config c1 = dc_conv_defaults(2, 4, 1);
    c1.use_bias = 0;
    dc_layer *layers[] = {
        dc_layer_zero_padding2d(1, 1, 2, 1),                           /* (8, 8, 2) */
        dc_layer_conv2d_transpose_ex(&c, (int[]){1, 0}),               /* (16, 15, 3) */
        dc_layer_cropping2d(1, 2, 0, 3),                               /* (13, 12, 3) */
        dc_layer_upsampling2d(2, 1, "bilinear"),                       /* (26, 12, 3) */
        dc_layer_upsampling2d(1, 2, NULL),                             /* (26, 24, 3) */
        dc_layer_conv2d_transpose(4, 2, 3, 1, DC_PADDING_VALID, NULL), /* (27, 26, 4) */
        dc_layer_reshape(2, (int[]){27 * 26, 4}),
        dc_layer_cropping1d(2, 600),                                   /* (100, 4) */
        dc_layer_zero_padding1d(1, 3),                                 /* (104, 4) */
        dc_layer_upsampling1d(2),                                      /* (208, 4) */
        dc_layer_conv1d_transpose(2, 3, 2, DC_PADDING_SAME, "tanh"),   /* (416, 2) */
        dc_layer_conv1d_transpose_ex(&c1, NULL),                       /* (419, 2) */
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    return m;
}

static void test_summary_names_shapes_params(void **state)
{
    (void)state;
    dc_model *m = image_model();
    char *s = summary_of(m);
    assert_true(summary_has_row(s, "zero_padding2d (ZeroPadding2D)", "(None, 8, 8, 2)", 0));
    assert_true(summary_has_row(s, "conv2d_transpose (Conv2DTranspose)", "(None, 16, 15, 3)", 57)); /* 3*3*3*2 + 3 */
    assert_true(summary_has_row(s, "cropping2d (Cropping2D)", "(None, 13, 12, 3)", 0));
    assert_true(summary_has_row(s, "up_sampling2d (UpSampling2D)", "(None, 26, 12, 3)", 0));
    assert_true(summary_has_row(s, "up_sampling2d_1 (UpSampling2D)", "(None, 26, 24, 3)", 0));
    assert_true(summary_has_row(s, "conv2d_transpose_1 (Conv2DTranspose)", "(None, 27, 26, 4)", 76)); /* 2*3*4*3 + 4 */
    assert_true(summary_has_row(s, "cropping1d (Cropping1D)", "(None, 100, 4)", 0));
    assert_true(summary_has_row(s, "zero_padding1d (ZeroPadding1D)", "(None, 104, 4)", 0));
    assert_true(summary_has_row(s, "up_sampling1d (UpSampling1D)", "(None, 208, 4)", 0));
    assert_true(summary_has_row(s, "conv1d_transpose (Conv1DTranspose)", "(None, 416, 2)", 26)); /* 3*2*4 + 2 */
    assert_true(summary_has_row(s, "conv1d_transpose_1 (Conv1DTranspose)", "(None, 419, 2)", 16)); /* 4*2*2, no bias */
    assert_has(s, "Total params: 175\n");
    free(s);
    dc_model_free(m);
}

/* Keras' layout (kh, kw, filters, in_channels), bias (filters), and the fans
 * Keras computes from that shape: fan_in = kh*kw*filters, fan_out =
 * kh*kw*in_channels (he_uniform's limit sqrt(6 / fan_in) tells them apart). */
static void test_conv_transpose_kernel_layout_and_fans(void **state)
{
    (void)state;
    for (int he = 0; he < 2; he++) {
        dc_model *m = model_for(3, (int[]){4, 4, 3});
        dc_conv_config c = dc_conv_defaults(5, 3, 2);
        if (he)
            c.kernel_initializer = dc_init_make(DC_INIT_HE_UNIFORM);
        c.bias_initializer = dc_init_make(DC_INIT_ONES);
        assert_int_equal(dc_model_add(m, dc_layer_conv2d_transpose_ex(&c, NULL)), DC_OK);
        assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
        dc_tensor *k, *b;
        assert_int_equal(dc_model_get_weight(m, 0, 0, &k), DC_OK);
        assert_int_equal(dc_model_get_weight(m, 0, 1, &b), DC_OK);
        assert_int_equal(k->ndim, 4);
        assert_int_equal(k->shape[0], 3);
        assert_int_equal(k->shape[1], 2);
        assert_int_equal(k->shape[2], 5);
        assert_int_equal(k->shape[3], 3);
        assert_int_equal(b->ndim, 1);
        assert_int_equal(b->shape[0], 5);
        for (int i = 0; i < 5; i++)
            assert_float_equal(b->data[i], 1.0f, 0.0f);
        double limit = he ? sqrt(6.0 / (3 * 2 * 5)) : sqrt(6.0 / (3 * 2 * (5 + 3))), top = 0;
        for (size_t i = 0; i < k->size; i++)
            top = fmax(top, fabs(k->data[i]));
        if (!(top <= limit && top > 0.85 * limit))
            fail_msg("%s: largest |w| %g, expected just under %g", he ? "he_uniform" : "glorot_uniform", top, limit);
        dc_tensor_free(k);
        dc_tensor_free(b);
        dc_model_free(m);
    }
}

/* kernel_regularizer: L2(0.5) of a 1x1 kernel set to 2 adds 0.5 * 4 to a zero loss. */
static void test_conv_transpose_regularizer(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){2, 2, 1});
    dc_conv_config c = dc_conv_defaults(1, 1, 1);
    c.use_bias = 0;
    c.kernel_l2 = 0.5f;
    assert_int_equal(dc_model_add(m, dc_layer_conv2d_transpose_ex(&c, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 0, 0, (const float[]){2.0f}, 1), DC_OK);
    dc_tensor *x = dc_tensor_new4(4, 3, 2, 2, 1), *y = dc_tensor_new4(4, 3, 2, 2, 1);
    double loss;
    assert_int_equal(dc_model_evaluate(m, x, y, 3, 0, &loss, 1), DC_OK);
    assert_float_equal(loss, 2.0, 1e-6);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* Saved and loaded (and rebuilt from its JSON): the same predictions. */
static void test_save_load_round_trip(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_model *m = image_model();
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(4, 3, 6, 5, 2);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)sin(0.37 * (double)i);
    char *a = assert_round_trip(m, x, dir, 1, "mse", NULL);
    assert_non_null(strstr(a, "\"padding\":[[1,1],[2,1]]"));
    assert_non_null(strstr(a, "\"cropping\":[[1,2],[0,3]]"));
    assert_non_null(strstr(a, "\"cropping\":[2,600]"));
    assert_non_null(strstr(a, "\"interpolation\":\"bilinear\""));
    assert_non_null(strstr(a, "\"output_padding\":[1,0]"));
    assert_non_null(strstr(a, "\"output_padding\":null"));
    assert_non_null(strstr(a, "\"kernel_regularizer\":{"));
    free(a);
    dc_tensor_free(x);
    dc_model_free(m);
    rm_dir(dir);
}

/* A one-layer model on (6, 5, 2) from JSON whose layer config is `config`;
 * returns the status of from_json (and of the summary, on success) and puts
 * the summary in *summary (NULL on failure). */
static dc_status from_config(const char *class_name, const char *config, char **summary)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":[{\"class_name\":"
             "\"InputLayer\",\"config\":{\"batch_shape\":[null,6,5,2]}},{\"class_name\":\"%s\",\"config\":{%s}}]}}",
             class_name, config);
    dc_model *m;
    *summary = NULL;
    dc_status st = dc_model_from_json(json, strlen(json), &m);
    if (st != DC_OK)
        return st;
    *summary = summary_of(m);
    dc_model_free(m);
    return DC_OK;
}

/* Keras' argument forms and defaults, read from configs. */
static void test_config_forms(void **state)
{
    (void)state;
    static const struct { const char *cls, *config, *shape; } cases[] = {
        {"ZeroPadding2D", "", "(None, 8, 7, 2)"}, /* padding=(1, 1) */
        {"ZeroPadding2D", "\"padding\":2", "(None, 10, 9, 2)"},
        {"ZeroPadding2D", "\"padding\":[1,3]", "(None, 8, 11, 2)"},
        {"ZeroPadding2D", "\"padding\":[[0,1],[2,3]]", "(None, 7, 10, 2)"},
        {"Cropping2D", "", "(None, 6, 5, 2)"}, /* cropping=((0, 0), (0, 0)) */
        {"Cropping2D", "\"cropping\":1", "(None, 4, 3, 2)"},
        {"Cropping2D", "\"cropping\":[[1,2],[0,4]]", "(None, 3, 1, 2)"},
        {"UpSampling2D", "", "(None, 12, 10, 2)"}, /* size=(2, 2) */
        {"UpSampling2D", "\"size\":3,\"interpolation\":\"bilinear\"", "(None, 18, 15, 2)"},
        {"Conv2DTranspose", "\"filters\":4,\"kernel_size\":3", "(None, 8, 7, 4)"},
        {"Conv2DTranspose", "\"filters\":4,\"kernel_size\":[3,2],\"strides\":2,\"padding\":\"same\"",
         "(None, 12, 10, 4)"},
        {"Conv2DTranspose",
         "\"filters\":4,\"kernel_size\":3,\"strides\":[2,3],\"padding\":\"same\",\"output_padding\":[0,2]",
         "(None, 11, 15, 4)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s;
        if (from_config(cases[i].cls, cases[i].config, &s) != DC_OK)
            fail_msg("%s {%s}: %s", cases[i].cls, cases[i].config, dc_errmsg());
        if (!strstr(s, cases[i].shape))
            fail_msg("%s {%s}: expected %s in\n%s", cases[i].cls, cases[i].config, cases[i].shape, s);
        free(s);
    }
    static const struct { const char *cls, *config, *msg; } bad[] = {
        {"ZeroPadding2D", "\"padding\":[[1,2]]", "key \"padding\" must be"},
        {"ZeroPadding2D", "\"padding\":[[1,2],[3]]", "key \"padding\" must be"},
        {"ZeroPadding2D", "\"padding\":-1", "key \"padding\""},
        {"Cropping2D", "\"cropping\":\"1\"", "key \"cropping\" must be"},
        {"UpSampling2D", "\"interpolation\":\"bicubic\"", "interpolation \"bicubic\" is not supported"},
        {"UpSampling2D", "\"interpolation\":3", "key \"interpolation\" must be a string"},
        {"UpSampling2D", "\"data_format\":\"channels_first\"", "only \"channels_last\""},
        {"Conv2DTranspose", "\"filters\":4", "kernel_size"},
        {"Conv2DTranspose", "\"filters\":4,\"kernel_size\":3,\"output_padding\":[1,0]",
         "output_padding 1 must be >= 0 and smaller than the stride 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *s;
        if (from_config(bad[i].cls, bad[i].config, &s) == DC_OK)
            fail_msg("%s {%s} loaded", bad[i].cls, bad[i].config);
        assert_errmsg_contains(bad[i].msg);
    }
}

/* 1D layers compute what the 2D ops on a (1, steps) view do, values too. */
static void test_1d_values(void **state)
{
    (void)state;
    dc_model *m = model_for(2, (int[]){4, 1});
    assert_int_equal(dc_model_add(m, dc_layer_cropping1d(1, 0)), DC_OK);   /* 2 3 4 */
    assert_int_equal(dc_model_add(m, dc_layer_upsampling1d(2)), DC_OK);    /* 2 2 3 3 4 4 */
    assert_int_equal(dc_model_add(m, dc_layer_zero_padding1d(2, 1)), DC_OK); /* 0 0 2 2 3 3 4 4 0 */
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(3, 1, 4, 1, 0), *y;
    for (int i = 0; i < 4; i++)
        x->data[i] = (float)(i + 1);
    assert_int_equal(dc_model_predict(m, x, 1, &y), DC_OK);
    static const float want[] = {0, 0, 2, 2, 3, 3, 4, 4, 0};
    assert_int_equal(y->size, 9);
    assert_close(y->data, want, 9, 0, 0, "1D pipeline");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);

    /* Conv1DTranspose(stride 2, kernel 2) of a one-hot step is the kernel at 2i */
    m = model_for(2, (int[]){3, 1});
    dc_conv_config c = dc_conv_defaults(1, 2, 1);
    c.strides[0] = 2;
    assert_int_equal(dc_model_add(m, dc_layer_conv1d_transpose_ex(&c, (int[]){1})), DC_OK); /* 3*2 + 1 = 7 steps */
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 0, 0, (const float[]){0.5f, -2.0f}, 2), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 0, 1, (const float[]){0.25f}, 1), DC_OK);
    x = dc_tensor_new4(3, 1, 3, 1, 0);
    x->data[1] = 1.0f;
    assert_int_equal(dc_model_predict(m, x, 1, &y), DC_OK);
    static const float want_t[] = {0.25f, 0.25f, 0.75f, -1.75f, 0.25f, 0.25f, 0.25f};
    assert_int_equal(y->size, 7);
    assert_close(y->data, want_t, 7, 0, 0, "Conv1DTranspose");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* One and two threads agree (the parallel paths: chunks of images, private
 * kernel and bias sums added in slot order), after a training epoch too. */
static void test_threads_agree(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_new4(4, 24, 8, 8, 6), *p[2];
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)cos(0.11 * (double)i);
    for (int t = 0; t < 2; t++) {
        dc_model *m = model_for(3, (int[]){8, 8, 6});
        dc_model_set_threads(m, t + 1);
        dc_conv_config c = dc_conv_defaults(8, 3, 3);
        c.strides[0] = c.strides[1] = 2;
        c.padding = DC_PADDING_SAME;
        c.activation = "relu";
        assert_int_equal(dc_model_add(m, dc_layer_conv2d_transpose_ex(&c, NULL)), DC_OK); /* (16, 16, 8) */
        assert_int_equal(dc_model_add(m, dc_layer_upsampling2d(2, 2, "bilinear")), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_cropping2d(1, 2, 3, 4)), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_zero_padding2d(1, 2, 3, 4)), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_upsampling2d(1, 2, NULL)), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_conv2d_transpose(1, 3, 3, 1, DC_PADDING_SAME, "sigmoid")), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_cropping2d(0, 0, 0, 32)), DC_OK); /* (32, 32, 1) */
        assert_int_equal(dc_model_compile(m, "adam", "binary_crossentropy", NULL, 0), DC_OK);
        dc_tensor *y = dc_tensor_new4(4, 24, 32, 32, 1);
        for (size_t i = 0; i < y->size; i++)
            y->data[i] = (float)(i % 7) / 6.0f;
        dc_fit_config f = quiet_fit(1, 8);
        assert_int_equal(dc_model_fit(m, x, y, &f, NULL), DC_OK);
        assert_int_equal(dc_model_predict(m, x, 24, &p[t]), DC_OK);
        dc_tensor_free(y);
        dc_model_free(m);
    }
    assert_close(p[1]->data, p[0]->data, p[0]->size, 1e-5, 1e-6, "2 threads vs 1");
    dc_tensor_free(p[0]);
    dc_tensor_free(p[1]);
    dc_tensor_free(x);
}

/* Each error names the layer and the shapes. */
static void test_errors(void **state)
{
    (void)state;
    dc_model *m = model_for(3, (int[]){4, 5, 1});
    assert_int_equal(dc_model_add(m, dc_layer_cropping2d(1, 1, 3, 2)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("cropping2d: cropping ((1, 1), (3, 2)) leaves an empty output (None, 2, 0, 1) of input "
                           "(None, 4, 5, 1)");
    dc_model_free(m);

    m = model_for(2, (int[]){4, 3});
    assert_int_equal(dc_model_add(m, dc_layer_cropping1d(2, 2)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("cropping1d: cropping (2, 2) leaves an empty output (None, 0, 3) of input (None, 4, 3)");
    dc_model_free(m);

    m = model_for(2, (int[]){4, 3});
    assert_int_equal(dc_model_add(m, dc_layer_upsampling2d(2, 2, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("up_sampling2d: input (None, 4, 3) has 3 axes, expected 4");
    dc_model_free(m);

    m = model_for(3, (int[]){4, 4, 2});
    assert_int_equal(dc_model_add(m, dc_layer_conv1d_transpose(2, 3, 1, DC_PADDING_VALID, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("conv1d_transpose: input (None, 4, 4, 2) has 4 axes, expected 3");
    dc_model_free(m);

    /* "same" with an even kernel and output_padding 0 on one pixel: (1 - 1)*2 + 2 - 2 + 0 = 0 */
    m = model_for(3, (int[]){1, 3, 2});
    dc_conv_config c = dc_conv_defaults(2, 2, 2);
    c.strides[0] = c.strides[1] = 2;
    c.padding = DC_PADDING_SAME;
    assert_int_equal(dc_model_add(m, dc_layer_conv2d_transpose_ex(&c, (int[]){0, 1})), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("conv2d_transpose: a 2x2 kernel with strides 2x2 gives an empty 0x5 output on a 1x3 input");
    assert_true(strncmp(dc_errmsg(), "conv2d_transpose: a", 19) == 0);
    dc_model_free(m);

    assert_null(dc_layer_upsampling2d(2, 2, "bicubic"));
    assert_errmsg_contains("UpSampling2D: interpolation \"bicubic\" is not supported");
    assert_null(dc_layer_upsampling2d(0, 2, NULL));
    assert_errmsg_contains("UpSampling2D: size[0] 0 is below 1");
    assert_null(dc_layer_upsampling1d(-1));
    assert_errmsg_contains("UpSampling1D: size");
    assert_null(dc_layer_zero_padding2d(1, -1, 0, 0));
    assert_errmsg_contains("ZeroPadding2D: padding[1] -1 is below 0");
    assert_null(dc_layer_cropping1d(0, -2));
    assert_errmsg_contains("Cropping1D: cropping[1] -2 is below 0");
    c = dc_conv_defaults(2, 3, 3);
    c.strides[0] = 2;
    assert_null(dc_layer_conv2d_transpose_ex(&c, (int[]){2, 0}));
    assert_errmsg_contains("Conv2DTranspose: output_padding 2 must be >= 0 and smaller than the stride 2");
    assert_null(dc_layer_conv2d_transpose(0, 3, 3, 1, DC_PADDING_VALID, NULL));
    assert_errmsg_contains("Conv2DTranspose: filters 0 is below 1");
    assert_null(dc_layer_conv1d_transpose(2, 3, 1, DC_PADDING_VALID, "swishy"));
    assert_errmsg_contains("Conv1DTranspose");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_transpose_vs_torch),
        cmocka_unit_test(test_upsampling_vs_torch),
        cmocka_unit_test(test_padding_cropping_vs_torch),
        cmocka_unit_test(test_summary_names_shapes_params),
        cmocka_unit_test(test_conv_transpose_kernel_layout_and_fans),
        cmocka_unit_test(test_conv_transpose_regularizer),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_config_forms),
        cmocka_unit_test(test_1d_values),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
