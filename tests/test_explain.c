/*
 * test_explain.c - explaining a model (src/model/explain*.c, deepc.h's
 * "explaining" sections):
 *   - input gradients of a CNN (pooling, BatchNormalization fused with its
 *     ReLU, in inference), an LSTM text model (with respect to the embedded
 *     vectors) and an MLP, for a class, the logits, the loss and a callback's
 *     weights, against PyTorch autograd on the same weights
 *     (fixtures/explain/, make_fixtures_explain.py), within 1e-5 of each
 *     array's largest magnitude;
 *   - the graph API: a graph without parameters runs backward once its input
 *     asks for a gradient, and refuses before and after;
 *   - asking for input gradients between two fits leaves training bit for
 *     bit what it was;
 *   - integrated gradients' completeness within 1% at 50 steps, on the
 *     inputs and over embeddings; Grad-CAM against its definition computed
 *     here from PyTorch's conv output and gradient; SmoothGrad without noise
 *     is the gradient; occlusion of one patch is the drop of the score;
 *   - clear errors for a missing layer, a class out of range, a Grad-CAM
 *     layer that is not a convolution, zero steps and a baseline of the
 *     wrong shape.
 */
#include "testutil.h"
#include "graph/graph.h"
#include "model/model.h"
#include "../examples/resnet_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const fx_file *fx;

static int setup(void **state)
{
    (void)state;
    fx = fx_load("explain/explain.txt");
    return fx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fx_free((fx_file *)fx);
    return 0;
}

static const fx_array *get(const char *name) { return fx_get(fx, name); }

static dc_tensor *tensor_of(const char *name)
{
    const fx_array *a = get(name);
    dc_tensor *t = dc_tensor_from(a->ndim, a->shape, a->data);
    assert_non_null(t);
    return t;
}

static void set_weight(dc_model *m, int layer, int index, const char *name)
{
    const fx_array *a = get(name);
    if (dc_model_set_weight(m, layer, index, a->data, a->size) != DC_OK)
        fail_msg("set_weight %s: %s", name, dc_errmsg());
}

/* got vs want within 1e-5 of want's largest magnitude. */
static void assert_vs(const dc_tensor *got, const char *name)
{
    const fx_array *a = get(name);
    assert_int_equal(got->size, a->size);
    double big = 0;
    for (size_t i = 0; i < a->size; i++)
        big = fabs(a->data[i]) > big ? fabs(a->data[i]) : big;
    assert_true(big > 0);
    assert_close(got->data, a->data, a->size, 0.0, 1e-5 * big, name);
}

static dc_model *cnn_model(void)
{
    dc_model *m = dc_sequential_new(3, (int[]){6, 6, 2});
    dc_model_add(m, dc_layer_conv2d(3, 3, 3, NULL));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_activation("relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_conv2d(4, 1, 1, "relu"));
    dc_model_add(m, dc_layer_average_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    if (dc_model_compile(m, "sgd", "sparse_categorical_crossentropy", NULL, 0) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    set_weight(m, 0, 0, "cnn.k1");
    set_weight(m, 0, 1, "cnn.b1");
    set_weight(m, 1, 0, "cnn.gamma");
    set_weight(m, 1, 1, "cnn.beta");
    set_weight(m, 1, 2, "cnn.mmean");
    set_weight(m, 1, 3, "cnn.mvar");
    set_weight(m, 4, 0, "cnn.k2");
    set_weight(m, 4, 1, "cnn.b2");
    set_weight(m, 7, 0, "cnn.w3");
    set_weight(m, 7, 1, "cnn.b3");
    return m;
}

static dc_tensor *grad_for(dc_model *m, const dc_tensor *x, const dc_explain_target *t)
{
    dc_tensor *g = NULL;
    if (dc_model_input_gradient(m, x, t, &g) != DC_OK)
        fail_msg("input_gradient: %s", dc_errmsg());
    return g;
}

static void test_cnn_input_gradients_match_pytorch(void **state)
{
    (void)state;
    dc_model *m = cnn_model();
    dc_tensor *x = tensor_of("cnn.x"), *y = tensor_of("cnn.labels");
    y->ndim = 2; /* (N, 1) labels */
    y->shape[1] = 1;
    dc_explain_target t = dc_explain_class(1);
    t.batch_size = 3; /* two passes, the second short */
    dc_tensor *g = grad_for(m, x, &t);
    assert_vs(g, "cnn.grad_class1");
    dc_tensor_free(g);
    t = dc_explain_class(2);
    t.logits = 1;
    g = grad_for(m, x, &t);
    assert_vs(g, "cnn.grad_logit2");
    dc_tensor_free(g);
    t = (dc_explain_target){.kind = DC_EXPLAIN_LOSS, .y = y};
    g = grad_for(m, x, &t);
    assert_vs(g, "cnn.grad_loss");
    dc_tensor_free(g);
    /* the second convolution's output and the gradient there (ReLU fused into the conv) */
    dc_tensor *a = NULL, *ga = NULL;
    t = dc_explain_class(1);
    assert_int_equal(dc_model_layer_gradient(m, x, "conv2d_1", &t, &a, &ga), DC_OK);
    assert_vs(a, "cnn.conv2_out");
    assert_vs(ga, "cnn.conv2_grad");
    dc_tensor *a2 = NULL;
    assert_int_equal(dc_model_layer_output(m, x, "conv2d_1", 0, &a2), DC_OK);
    assert_memory_equal(a->data, a2->data, a->size * sizeof(float));
    dc_tensor_free(a);
    dc_tensor_free(a2);
    dc_tensor_free(ga);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* Grad-CAM at conv2d_1 against ReLU(sum_k mean(dA_k) A_k) from PyTorch's A and dA. */
static void test_grad_cam_is_its_definition(void **state)
{
    (void)state;
    dc_model *m = cnn_model();
    dc_tensor *x = tensor_of("cnn.x"), *cam = NULL;
    dc_explain_target t = dc_explain_class(1);
    assert_int_equal(dc_explain_grad_cam(m, x, "conv2d_1", &t, &cam), DC_OK);
    const fx_array *A = get("cnn.conv2_out"), *G = get("cnn.conv2_grad");
    int n = A->shape[0], h = A->shape[1], w = A->shape[2], k = A->shape[3];
    assert_int_equal(cam->ndim, 3);
    assert_int_equal(cam->shape[1], h);
    assert_int_equal(cam->shape[2], w);
    float want[64];
    double big = 0;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < h * w; p++) {
            double v = 0;
            for (int c = 0; c < k; c++) {
                double mean = 0;
                for (int q = 0; q < h * w; q++)
                    mean += G->data[((size_t)i * h * w + q) * k + c];
                v += mean / (h * w) * A->data[((size_t)i * h * w + p) * k + c];
            }
            want[i * h * w + p] = v > 0 ? (float)v : 0.0f;
            big = fabs(v) > big ? fabs(v) : big;
        }
    assert_true(big > 0);
    assert_close(cam->data, want, cam->size, 0.0, 1e-5 * big, "grad_cam");
    /* a layer that is not a convolution, a name that is not there */
    dc_tensor *bad = NULL;
    assert_int_equal(dc_explain_grad_cam(m, x, "dense", &t, &bad), DC_ERR_ARG);
    assert_errmsg_contains("Grad-CAM takes a 2D convolution layer");
    assert_null(bad);
    assert_int_equal(dc_explain_grad_cam(m, x, "no_such_layer", &t, &bad), DC_ERR_ARG);
    assert_errmsg_contains("no layer called \"no_such_layer\"");
    dc_tensor_free(cam);
    dc_tensor_free(x);
    dc_model_free(m);
}

static dc_model *lstm_model(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){6});
    dc_model_add(m, dc_layer_embedding(12, 5, 0));
    dc_model_add(m, dc_layer_lstm(4));
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    if (dc_model_compile(m, "sgd", "binary_crossentropy", NULL, 0) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    set_weight(m, 0, 0, "lstm.table");
    set_weight(m, 1, 0, "lstm.kernel");
    set_weight(m, 1, 1, "lstm.recurrent");
    set_weight(m, 1, 2, "lstm.bias");
    set_weight(m, 2, 0, "lstm.wd");
    set_weight(m, 2, 1, "lstm.bd");
    return m;
}

static void test_lstm_embedding_gradients_match_pytorch(void **state)
{
    (void)state;
    dc_model *m = lstm_model();
    dc_tensor *ids = tensor_of("lstm.ids"), *y = tensor_of("lstm.y"), *e = NULL, *g = NULL;
    dc_explain_target t = dc_explain_class(0);
    assert_int_equal(dc_model_layer_gradient(m, ids, "embedding", &t, &e, &g), DC_OK);
    assert_vs(e, "lstm.emb");
    assert_vs(g, "lstm.grad_prob");
    dc_tensor_free(e);
    dc_tensor_free(g);
    t.logits = 1;
    assert_int_equal(dc_model_layer_gradient(m, ids, "embedding", &t, NULL, &g), DC_OK);
    assert_vs(g, "lstm.grad_logit");
    dc_tensor_free(g);
    t = (dc_explain_target){.kind = DC_EXPLAIN_LOSS, .y = y};
    assert_int_equal(dc_model_layer_gradient(m, ids, "embedding", &t, NULL, &g), DC_OK);
    assert_vs(g, "lstm.grad_loss");
    dc_tensor_free(g);
    /* token ids get a zero gradient */
    t = dc_explain_class(0);
    g = grad_for(m, ids, &t);
    for (size_t i = 0; i < g->size; i++)
        assert_true(g->data[i] == 0.0f);
    dc_tensor_free(g);
    dc_tensor_free(ids);
    dc_tensor_free(y);
    dc_model_free(m);
}

static dc_model *mlp_model(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){5});
    dc_model_add(m, dc_layer_dense(6, "tanh"));
    dc_model_add(m, dc_layer_dense(4, "relu"));
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    if (dc_model_compile(m, "sgd", "categorical_crossentropy", NULL, 0) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    const char *names[] = {"mlp.w1", "mlp.b1", "mlp.w2", "mlp.b2", "mlp.w3", "mlp.b3"};
    for (int i = 0; i < 6; i++)
        set_weight(m, i / 2, i % 2, names[i]);
    return m;
}

static dc_status weigh_fixture(const float *out, int rows, int cols, float *w, void *user)
{
    (void)out;
    const fx_array *a = user;
    if ((size_t)rows * (size_t)cols > a->size)
        return dc_fail(DC_ERR_SHAPE, "weigh: %d x %d", rows, cols);
    memcpy(w, a->data, (size_t)rows * (size_t)cols * sizeof(float));
    return DC_OK;
}

static void test_mlp_gradients_match_pytorch(void **state)
{
    (void)state;
    dc_model *m = mlp_model();
    dc_tensor *x = tensor_of("mlp.x"), *y = tensor_of("mlp.y");
    dc_explain_target t = dc_explain_class(2);
    dc_tensor *g = grad_for(m, x, &t);
    assert_vs(g, "mlp.grad_class2");
    dc_tensor_free(g);
    t = (dc_explain_target){.kind = DC_EXPLAIN_LOSS, .y = y};
    g = grad_for(m, x, &t);
    assert_vs(g, "mlp.grad_loss");
    dc_tensor_free(g);
    t = (dc_explain_target){.kind = DC_EXPLAIN_WEIGHTS, .weigh = weigh_fixture, .user = (void *)get("mlp.weigh")};
    g = grad_for(m, x, &t);
    assert_vs(g, "mlp.grad_weighed");
    dc_tensor_free(g);
    t = dc_explain_class(-1);
    g = grad_for(m, x, &t);
    assert_vs(g, "mlp.grad_pred");
    dc_tensor_free(g);
    /* saliency is |g|, gradient x input is x g */
    t = dc_explain_class(2);
    dc_tensor *s = NULL, *gx = NULL;
    g = grad_for(m, x, &t);
    assert_int_equal(dc_explain_saliency(m, x, &t, &s), DC_OK);
    assert_int_equal(dc_explain_grad_x_input(m, x, &t, &gx), DC_OK);
    for (size_t i = 0; i < g->size; i++) {
        assert_true(s->data[i] == fabsf(g->data[i]));
        assert_true(gx->data[i] == g->data[i] * x->data[i]);
    }
    /* SmoothGrad without noise is the gradient */
    dc_tensor *sg = NULL;
    assert_int_equal(dc_explain_smoothgrad(m, x, &t, 4, 0.0f, 1, &sg), DC_OK);
    assert_close(sg->data, g->data, g->size, 1e-6, 1e-7, "smoothgrad, noise 0");
    dc_tensor_free(sg);
    /* with noise: a different map, still of the same sign mostly (a smoothing) */
    assert_int_equal(dc_explain_smoothgrad(m, x, &t, 8, 0.1f, 1, &sg), DC_OK);
    assert_memory_not_equal(sg->data, g->data, g->size * sizeof(float));
    dc_tensor_free(sg);
    dc_tensor_free(s);
    dc_tensor_free(gx);
    dc_tensor_free(g);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* sum of attributions vs f(x) - f(baseline), within 1% of |f(x) - f(baseline)|. */
static void assert_complete(const dc_tensor *attr, const dc_tensor *fx_, const dc_tensor *fb, const char *what)
{
    int n = attr->shape[0];
    size_t per = attr->size / (size_t)n;
    for (int i = 0; i < n; i++) {
        double sum = 0, want = (double)fx_->data[i] - (double)fb->data[fb->size == 1 ? 0 : i];
        for (size_t j = 0; j < per; j++)
            sum += attr->data[(size_t)i * per + j];
        if (fabs(sum - want) > 0.01 * fabs(want))
            fail_msg("%s sample %d: attributions sum to %.6g, f(x) - f(baseline) = %.6g", what, i, sum, want);
    }
}

static void test_integrated_gradients_complete(void **state)
{
    (void)state;
    dc_model *m = cnn_model();
    dc_tensor *x = tensor_of("cnn.x"), *ig = NULL, *fx_ = NULL, *fb = NULL;
    dc_explain_target t = dc_explain_class(1);
    dc_tensor *base = dc_tensor_new(3, (int[]){6, 6, 2}); /* one baseline for all: 0.1 */
    for (size_t i = 0; i < base->size; i++)
        base->data[i] = 0.1f;
    assert_int_equal(dc_explain_integrated_gradients(m, x, base, 50, &t, &ig), DC_OK);
    assert_int_equal(dc_explain_score(m, x, &t, &fx_), DC_OK);
    dc_tensor *b1 = dc_tensor_new(4, (int[]){1, 6, 6, 2});
    memcpy(b1->data, base->data, base->size * sizeof(float));
    assert_int_equal(dc_explain_score(m, b1, &t, &fb), DC_OK);
    assert_complete(ig, fx_, fb, "integrated gradients (cnn, class 1)");
    /* a baseline per sample, (N, ...): the same as the shared one */
    dc_tensor *bn = dc_tensor_new(4, (int[]){4, 6, 6, 2}), *ig2 = NULL;
    for (size_t i = 0; i < bn->size; i++)
        bn->data[i] = 0.1f;
    assert_int_equal(dc_explain_integrated_gradients(m, x, bn, 50, &t, &ig2), DC_OK);
    assert_close(ig2->data, ig->data, ig->size, 1e-6, 1e-7, "per-sample baseline");
    /* errors: zero steps, a baseline of the wrong shape, a class out of range */
    dc_tensor *bad = NULL, *wrong = dc_tensor_new(3, (int[]){6, 5, 2});
    assert_int_equal(dc_explain_integrated_gradients(m, x, base, 0, &t, &bad), DC_ERR_ARG);
    assert_errmsg_contains("steps is 0");
    assert_int_equal(dc_explain_integrated_gradients(m, x, wrong, 10, &t, &bad), DC_ERR_SHAPE);
    assert_errmsg_contains("the baseline has shape (6, 5, 2)");
    dc_explain_target t9 = dc_explain_class(9);
    assert_int_equal(dc_explain_integrated_gradients(m, x, NULL, 10, &t9, &bad), DC_ERR_ARG);
    assert_errmsg_contains("class index 9 is out of range: the output has 3 units");
    assert_int_equal(dc_model_input_gradient(m, x, &t9, &bad), DC_ERR_ARG);
    assert_null(bad);
    assert_int_equal(dc_model_layer_output(m, x, "conv9", 0, &bad), DC_ERR_ARG);
    assert_errmsg_contains("no layer called \"conv9\"");
    dc_tensor_free(wrong);
    dc_tensor_free(bn);
    dc_tensor_free(ig2);
    dc_tensor_free(b1);
    dc_tensor_free(base);
    dc_tensor_free(ig);
    dc_tensor_free(fx_);
    dc_tensor_free(fb);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* Over the embedded vectors: the attributions of a text sum to f(ids) - f(zero vectors). */
static void test_integrated_gradients_over_embeddings_complete(void **state)
{
    (void)state;
    dc_model *m = lstm_model();
    dc_tensor *ids = tensor_of("lstm.ids"), *ig = NULL, *fx_ = NULL;
    dc_explain_target t = dc_explain_class(0);
    t.logits = 1;
    assert_int_equal(dc_explain_integrated_gradients_layer(m, ids, "embedding", NULL, 50, &t, &ig), DC_OK);
    assert_int_equal(ig->ndim, 3);
    assert_int_equal(dc_explain_score(m, ids, &t, &fx_), DC_OK);
    /* f at the baseline, computed here: the LSTM on zero vectors gives h from the biases alone */
    const fx_array *bias = get("lstm.bias"), *wd = get("lstm.wd"), *bd = get("lstm.bd"), *rec = get("lstm.recurrent");
    double h[4] = {0}, c[4] = {0};
    for (int step = 0; step < 6; step++) {
        double z[16], hn[4];
        for (int j = 0; j < 16; j++) {
            z[j] = bias->data[j];
            for (int u = 0; u < 4; u++)
                z[j] += h[u] * rec->data[u * 16 + j];
        }
        for (int u = 0; u < 4; u++) {
            double i = 1 / (1 + exp(-z[u])), f = 1 / (1 + exp(-z[4 + u])), g = tanh(z[8 + u]),
                   o = 1 / (1 + exp(-z[12 + u]));
            c[u] = f * c[u] + i * g;
            hn[u] = o * tanh(c[u]);
        }
        memcpy(h, hn, sizeof h);
    }
    double fb = bd->data[0];
    for (int u = 0; u < 4; u++)
        fb += h[u] * wd->data[u];
    dc_tensor *fbt = dc_tensor_new(1, (int[]){1});
    fbt->data[0] = (float)fb;
    assert_complete(ig, fx_, fbt, "integrated gradients over embeddings (lstm logit)");
    dc_tensor_free(fbt);
    dc_tensor_free(ig);
    dc_tensor_free(fx_);
    dc_tensor_free(ids);
    dc_model_free(m);
}

/* Occlusion with one patch covering the whole image: f(x) - f(fill everywhere). */
static void test_occlusion_is_the_score_drop(void **state)
{
    (void)state;
    dc_model *m = cnn_model();
    dc_tensor *x = tensor_of("cnn.x"), *occ = NULL, *fx_ = NULL, *ff = NULL;
    dc_explain_target t = dc_explain_class(0);
    assert_int_equal(dc_explain_occlusion(m, x, &t, 6, 6, 1, 0.5f, &occ), DC_OK);
    assert_int_equal(dc_explain_score(m, x, &t, &fx_), DC_OK);
    dc_tensor *filled = dc_tensor_new(4, (int[]){4, 6, 6, 2});
    for (size_t i = 0; i < filled->size; i++)
        filled->data[i] = 0.5f;
    assert_int_equal(dc_explain_score(m, filled, &t, &ff), DC_OK);
    for (int i = 0; i < 4; i++)
        for (int p = 0; p < 36; p++)
            assert_float_equal(occ->data[i * 36 + p], fx_->data[i] - ff->data[i], 1e-6);
    dc_tensor_free(occ);
    /* 2x2 patches every 2 pixels: each pixel in one patch */
    assert_int_equal(dc_explain_occlusion(m, x, &t, 2, 2, 2, 0.0f, &occ), DC_OK);
    assert_int_equal(occ->shape[1], 6);
    dc_tensor_free(occ);
    occ = NULL;
    assert_int_equal(dc_explain_occlusion(m, x, &t, 7, 2, 1, 0.0f, &occ), DC_ERR_ARG);
    assert_null(occ);
    dc_tensor_free(filled);
    dc_tensor_free(ff);
    dc_tensor_free(fx_);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* A graph without parameters: backward refuses until its input asks for a
 * gradient, then max pooling's input gradient is reachable; turning it off
 * puts the graph back. */
static void test_graph_input_grad_without_parameters(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){4, 4, 1}, "x");
    dc_node *p = dc_pool2d(g, x, 1, 2, 2, 2, 2, 0);
    dc_node *s = dc_sum(g, dc_activation(g, p, DC_ACT_TANH));
    assert_int_equal(dc_graph_compile(g, 2, NULL), DC_OK);
    assert_int_equal(dc_graph_set_batch(g, 2), DC_OK);
    float v[32];
    for (int i = 0; i < 32; i++)
        v[i] = (float)((i * 7) % 32) / 16.0f - 1.0f;
    assert_int_equal(dc_node_set(x, v, 32), DC_OK);
    assert_int_equal(dc_graph_forward(g, s, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, s), DC_ERR_ARG);
    assert_errmsg_contains("dc_graph_input_grad");
    assert_null(dc_node_grad(x));
    assert_int_equal(dc_graph_input_grad(g, x, 1), DC_OK);
    assert_int_equal(dc_node_set(x, v, 32), DC_OK); /* the arena was planned anew */
    assert_int_equal(dc_graph_forward(g, s, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, s), DC_OK);
    const float *gx = dc_node_grad(x);
    assert_non_null(gx);
    for (int b = 0; b < 2; b++)
        for (int py = 0; py < 2; py++)
            for (int px = 0; px < 2; px++) { /* the window's largest gets 1 - tanh^2, the rest 0 */
                int best = -1;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int i = b * 16 + (2 * py + dy) * 4 + 2 * px + dx;
                        if (best < 0 || v[i] > v[best])
                            best = i;
                    }
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int i = b * 16 + (2 * py + dy) * 4 + 2 * px + dx;
                        double t = tanh(v[best]), want = i == best ? 1 - t * t : 0;
                        assert_float_equal(gx[i], want, 1e-6);
                    }
            }
    /* a seed on a non-scalar node: d(sum seed * p)/dx */
    float seed[8] = {1, 0, 0, 2, 0, 0, 0, -1};
    assert_int_equal(dc_graph_backward_seed(g, p, seed, 7, 0), DC_ERR_SHAPE);
    assert_int_equal(dc_graph_backward_seed(g, p, seed, 8, 0), DC_OK);
    double total = 0;
    for (int i = 0; i < 32; i++)
        total += gx[i];
    assert_float_equal(total, 2.0, 1e-6);
    assert_int_equal(dc_graph_input_grad(g, x, 0), DC_OK);
    assert_false(p->requires_grad);
    assert_null(p->grad);
    assert_int_equal(dc_graph_backward(g, s), DC_ERR_ARG);
    assert_int_equal(dc_graph_input_grad(g, p, 1), DC_ERR_ARG); /* not an input */
    dc_graph_free(g);
}

/* fit, explain, fit gives the weights that fit, fit gives: explaining leaves training bit for bit alone. */
static void test_training_unchanged_by_explaining(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_new(4, (int[]){24, 6, 6, 2}), *y = dc_tensor_new(2, (int[]){24, 1});
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)sin((double)i * 0.37);
    for (int i = 0; i < 24; i++)
        y->data[i] = (float)(i % 3);
    float *w[2];
    size_t np = 0;
    for (int run = 0; run < 2; run++) {
        dc_model *m = cnn_model();
        dc_fit_config cfg = dc_fit_defaults();
        cfg.epochs = 1;
        cfg.batch_size = 8;
        cfg.verbose = 0;
        assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
        if (run == 1) {
            dc_tensor *g = NULL;
            dc_explain_target t = dc_explain_class(-1);
            t.batch_size = 40; /* more than compile planned */
            assert_int_equal(dc_model_input_gradient(m, x, &t, &g), DC_OK);
            dc_tensor_free(g);
            for (int i = 0; i < m->g->n_nodes; i++) /* back as it was: no gradient from the input */
                assert_false(m->g->nodes[i]->grad_from_input);
            assert_false(m->input->requires_grad);
        }
        assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
        float *p = dc_graph_params(dc_model_graph(m), &np);
        w[run] = malloc(np * sizeof(float));
        memcpy(w[run], p, np * sizeof(float));
        dc_model_free(m);
    }
    assert_memory_equal(w[0], w[1], np * sizeof(float));
    free(w[0]);
    free(w[1]);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_bad_targets(void **state)
{
    (void)state;
    dc_model *m = mlp_model();
    dc_tensor *x = tensor_of("mlp.x"), *g = NULL;
    dc_explain_target t = {.kind = DC_EXPLAIN_LOSS};
    assert_int_equal(dc_model_input_gradient(m, x, &t, &g), DC_ERR_ARG);
    assert_errmsg_contains("needs y");
    t = (dc_explain_target){.kind = DC_EXPLAIN_WEIGHTS};
    assert_int_equal(dc_model_input_gradient(m, x, &t, &g), DC_ERR_ARG);
    assert_errmsg_contains("weigh function is NULL");
    t = dc_explain_class(0);
    t.logits = 0;
    dc_tensor *x2 = dc_tensor_new(2, (int[]){3, 4});
    assert_int_equal(dc_model_input_gradient(m, x2, &t, &g), DC_ERR_SHAPE);
    assert_errmsg_contains("x has shape (3, 4)");
    assert_int_equal(dc_explain_smoothgrad(m, x, &t, 0, 0.1f, 1, &g), DC_ERR_ARG);
    assert_int_equal(dc_explain_occlusion(m, x, &t, 1, 1, 1, 0, &g), DC_ERR_SHAPE);
    assert_null(g);
    dc_model *raw = dc_sequential_new(1, (int[]){5});
    dc_model_add(raw, dc_layer_dense(2, NULL));
    assert_int_equal(dc_model_input_gradient(raw, x, &t, &g), DC_ERR_STATE);
    assert_errmsg_contains("not compiled");
    dc_model_free(raw);
    dc_tensor_free(x2);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* ---- the sanity check of Adebayo et al. (2018), on a small CNN trained here ---- */

/* Spearman's rank correlation of |a| and |b| (n <= 64, ties get their mean rank). */
static double rank_corr(const float *a, const float *b, int n)
{
    double ra[64], rb[64];
    const float *v[2] = {a, b};
    double *r[2] = {ra, rb};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < n; i++) {
            int below = 0, equal = 0;
            for (int j = 0; j < n; j++) {
                below += fabsf(v[s][j]) < fabsf(v[s][i]);
                equal += fabsf(v[s][j]) == fabsf(v[s][i]);
            }
            r[s][i] = below + 0.5 * (equal - 1);
        }
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += ra[i] / n;
        mb += rb[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

static double mean_rank_corr(const dc_tensor *a, const dc_tensor *b)
{
    int n = a->shape[0], per = (int)(a->size / (size_t)n);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += rank_corr(a->data + (size_t)i * per, b->data + (size_t)i * per, per);
    return sum / n;
}

/* 8x8 images, a bright 2x2 blob on the left (class 0) or the right (1), in noise. */
static void blobs(dc_tensor *x, dc_tensor *y, dc_rng *rng)
{
    int n = x->shape[0];
    for (int i = 0; i < n; i++) {
        float *img = x->data + (size_t)i * 64;
        for (int p = 0; p < 64; p++)
            img[p] = 0.2f * dc_rng_uniform(rng);
        int c = i % 2, r0 = (int)dc_rng_below(rng, 7), c0 = (int)dc_rng_below(rng, 3) + (c ? 4 : 0);
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
                img[(r0 + dy) * 8 + c0 + dx] = 1.0f;
        y->data[i] = (float)c;
    }
}

static void redraw(dc_model *m, int layer, dc_rng *rng)
{
    for (int k = 0; k < 2; k++) {
        dc_tensor *w = NULL;
        assert_int_equal(dc_model_get_weight(m, layer, k, &w), DC_OK);
        for (size_t i = 0; i < w->size; i++)
            w->data[i] = w->ndim == 1 ? 0.0f : 0.5f * (2.0f * dc_rng_uniform(rng) - 1.0f);
        assert_int_equal(dc_model_set_weight(m, layer, k, w->data, w->size), DC_OK);
        dc_tensor_free(w);
    }
}

/* Saliency and integrated gradients of the trained model change as its
 * layers are re-drawn from the top; the correlations are printed. */
static void test_sanity_check_randomised_weights(void **state)
{
    (void)state;
    dc_rng rng;
    dc_rng_seed(&rng, 2018);
    dc_tensor *x = dc_tensor_new(4, (int[]){256, 8, 8, 1}), *y = dc_tensor_new(2, (int[]){256, 1});
    blobs(x, y, &rng);
    dc_model *m = dc_sequential_new(3, (int[]){8, 8, 1});
    dc_model_add(m, dc_layer_conv2d(4, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    dc_model_set_seed(m, 7);
    assert_int_equal(dc_model_compile_lr(m, "adam", 0.01f, "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    dc_fit_config cfg = dc_fit_defaults();
    cfg.epochs = 15;
    cfg.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
    double res[1];
    assert_int_equal(dc_model_evaluate(m, x, y, 64, 0, res, 1), DC_OK);
    dc_tensor *xs = tensor_rows(x, 0, 16), *sal0 = NULL, *ig0 = NULL;
    dc_explain_target t = dc_explain_class(-1);
    assert_int_equal(dc_explain_saliency(m, xs, &t, &sal0), DC_OK);
    assert_int_equal(dc_explain_integrated_gradients(m, xs, NULL, 20, &t, &ig0), DC_OK);
    double corr[2][2];
    const int layers[2] = {3, 0}; /* dense, then also conv2d */
    for (int l = 0; l < 2; l++) {
        redraw(m, layers[l], &rng);
        dc_tensor *sal = NULL, *ig = NULL;
        assert_int_equal(dc_explain_saliency(m, xs, &t, &sal), DC_OK);
        assert_int_equal(dc_explain_integrated_gradients(m, xs, NULL, 20, &t, &ig), DC_OK);
        corr[l][0] = mean_rank_corr(sal0, sal);
        corr[l][1] = mean_rank_corr(ig0, ig);
        dc_tensor_free(sal);
        dc_tensor_free(ig);
    }
    print_message("sanity check: trained loss %.3f; rank correlation with the trained maps, saliency / integrated "
                  "gradients: dense re-drawn %.3f / %.3f, all re-drawn %.3f / %.3f\n",
                  res[0], corr[0][0], corr[0][1], corr[1][0], corr[1][1]);
    assert_true(res[0] < 0.3);
    for (int k = 0; k < 2; k++) { /* each falls well below 1, further with more layers re-drawn */
        assert_true(corr[0][k] < 0.9);
        assert_true(corr[1][k] < corr[0][k]);
    }
    assert_true(corr[1][0] < 0.45); /* saliency: little left; integrated gradients keep x's own structure (x * ...) */
    dc_tensor_free(sal0);
    dc_tensor_free(ig0);
    dc_tensor_free(xs);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* A slice up to conv2d_1 gives that layer's output and, trained, moves the
 * model's own weights (shared), leaving the layers above alone. */
static void test_slice_shares_the_weights(void **state)
{
    (void)state;
    dc_model *m = cnn_model(), *s = NULL;
    dc_tensor *x = tensor_of("cnn.x"), *feat = NULL, *a = NULL;
    assert_int_equal(dc_model_slice(m, "conv2d_9", &s), DC_ERR_ARG);
    assert_errmsg_contains("no layer called \"conv2d_9\"");
    assert_null(s);
    assert_int_equal(dc_model_slice(m, "conv2d_1", &s), DC_OK);
    assert_int_equal(dc_model_layer_count(s), 5);
    assert_int_equal(dc_model_compile_lr(s, "sgd", 0.1f, "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_predict(s, x, 4, &feat), DC_OK);
    assert_int_equal(dc_model_layer_output(m, x, "conv2d_1", 0, &a), DC_OK);
    assert_int_equal(feat->size, a->size);
    assert_memory_equal(feat->data, a->data, a->size * sizeof(float));
    /* one step towards zero features */
    dc_tensor *k_before = NULL, *d_before = NULL, *k_after = NULL, *d_after = NULL, *k_slice = NULL;
    assert_int_equal(dc_model_get_weight(m, 4, 0, &k_before), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 7, 0, &d_before), DC_OK);
    dc_tensor *zeros = dc_tensor_new(4, (int[]){4, 2, 2, 4});
    memset(zeros->data, 0, zeros->size * sizeof(float));
    dc_fit_config cfg = dc_fit_defaults();
    cfg.verbose = 0;
    cfg.shuffle = 0;
    assert_int_equal(dc_model_fit(s, x, zeros, &cfg, NULL), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 4, 0, &k_after), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 7, 0, &d_after), DC_OK);
    assert_int_equal(dc_model_get_weight(s, 4, 0, &k_slice), DC_OK);
    assert_memory_not_equal(k_before->data, k_after->data, k_after->size * sizeof(float));
    assert_memory_equal(k_slice->data, k_after->data, k_after->size * sizeof(float));
    assert_memory_equal(d_before->data, d_after->data, d_after->size * sizeof(float));
    dc_tensor_free(k_before);
    dc_tensor_free(d_before);
    dc_tensor_free(k_after);
    dc_tensor_free(d_after);
    dc_tensor_free(k_slice);
    dc_tensor_free(zeros);
    dc_tensor_free(feat);
    dc_tensor_free(a);
    dc_model_free(s);
    /* the model itself still runs after its slice is gone */
    dc_tensor *p = NULL;
    assert_int_equal(dc_model_predict(m, x, 4, &p), DC_OK);
    dc_tensor_free(p);
    dc_model *raw = dc_sequential_new(1, (int[]){5});
    dc_model_add(raw, dc_layer_dense(2, NULL));
    assert_int_equal(dc_model_slice(raw, "dense", &s), DC_ERR_STATE);
    dc_model_free(raw);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* ---- slices and methods of functional models ---- */

static dc_tensor *random_tensor(int ndim, const int *shape, uint64_t seed)
{
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    dc_tensor *t = dc_tensor_new(ndim, shape);
    assert_non_null(t);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
    return t;
}

/* got vs want within 1e-6 of want's largest magnitude (the same sums, maybe
 * blocked otherwise for another batch). */
static void assert_same(const dc_tensor *got, const dc_tensor *want, const char *what)
{
    assert_int_equal(got->size, want->size);
    double big = 0;
    for (size_t i = 0; i < want->size; i++)
        big = fabs(want->data[i]) > big ? fabs(want->data[i]) : big;
    assert_true(big > 0);
    assert_close(got->data, want->data, want->size, 0.0, 1e-6 * big, what);
}

/* The slice of m at `layer` predicts what dc_model_layer_output gives on m;
 * returns the slice, compiled for mse. */
static dc_model *slice_checked(dc_model *m, const char *layer, const dc_tensor *x, int n_layers)
{
    dc_model *s = NULL;
    dc_tensor *feat = NULL, *want = NULL;
    if (dc_model_slice(m, layer, &s) != DC_OK)
        fail_msg("slice %s: %s", layer, dc_errmsg());
    assert_int_equal(dc_model_layer_count(s), n_layers);
    if (dc_model_compile_lr(s, "sgd", 0.05f, "mse", NULL, 0) != DC_OK)
        fail_msg("compile the slice at %s: %s", layer, dc_errmsg());
    assert_int_equal(dc_model_predict(s, x, 3, &feat), DC_OK);
    assert_int_equal(dc_model_layer_output(m, x, layer, 0, &want), DC_OK);
    assert_same(feat, want, layer);
    dc_tensor_free(feat);
    dc_tensor_free(want);
    return s;
}

/* A residual network of examples/resnet_model.h's blocks on 8x8x2 images:
 * conv2d, batch_normalization, activation; block (4 -> 4: conv2d_1 ..
 * add, activation_2); block (4 -> 8, stride 2, projection conv2d_5: conv2d_3
 * .. add_1, activation_4); global_average_pooling2d, dense (3, softmax). */
static dc_model *residual_model(void)
{
    dc_model *m = dc_functional_new(3, (int[]){8, 8, 2});
    int x = resnet_conv_bn(m, DC_MODEL_INPUT, 4, 1, 0.9f);
    x = dc_model_apply(m, dc_layer_activation("relu"), x);
    x = resnet_block(m, x, 4, 4, 1, 1, 0.9f);
    x = resnet_block(m, x, 4, 8, 2, 1, 0.9f);
    x = dc_model_apply(m, dc_layer_global_average_pooling2d(), x);
    x = dc_model_apply(m, dc_layer_dense(3, "softmax"), x);
    assert_true(x >= 0);
    dc_model_set_seed(m, 11);
    if (dc_model_compile(m, "sgd", "sparse_categorical_crossentropy", NULL, 0) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    /* BatchNormalization's moving statistics away from 0 and 1, so inference differs from identity */
    for (int l = 0; l < dc_model_layer_count(m); l++)
        if (!strncmp(dc_model_layer_name(m, l), "batch_normalization", 19))
            for (int k = 2; k < 4; k++) {
                dc_tensor *w = NULL;
                assert_int_equal(dc_model_get_weight(m, l, k, &w), DC_OK);
                for (size_t i = 0; i < w->size; i++)
                    w->data[i] = k == 2 ? 0.1f * (float)(i % 3) : 0.5f + 0.25f * (float)(i % 4);
                assert_int_equal(dc_model_set_weight(m, l, k, w->data, w->size), DC_OK);
                dc_tensor_free(w);
            }
    return m;
}

static dc_tensor *weight_of(dc_model *m, const char *layer, int k)
{
    dc_tensor *w = NULL;
    if (dc_model_get_weight(m, dc_model_layer_index(m, layer), k, &w) != DC_OK)
        fail_msg("get_weight %s %d: %s", layer, k, dc_errmsg());
    return w;
}

static void test_slice_functional_residual(void **state)
{
    (void)state;
    dc_model *m = residual_model(), *s = NULL;
    dc_tensor *x = random_tensor(4, (int[]){5, 8, 8, 2}, 3);
    assert_int_equal(dc_model_slice(m, "conv2d_9", &s), DC_ERR_ARG);
    assert_errmsg_contains("no layer called \"conv2d_9\"");
    assert_null(s);
    /* the second block's sum, and its projection shortcut alone (the main path of the block dropped) */
    s = slice_checked(m, "add_1", x, 17);
    dc_model_free(s);
    s = slice_checked(m, "add", x, 9);
    dc_model_free(s);
    s = slice_checked(m, "conv2d_5", x, 11);
    assert_int_equal(dc_model_layer_index(s, "conv2d_4"), -1);
    /* fitting the slice moves m's weights on its path and leaves the others */
    dc_tensor *k0 = weight_of(m, "conv2d", 0), *k4 = weight_of(m, "conv2d_4", 0), *k5 = weight_of(m, "conv2d_5", 0);
    dc_tensor *zeros = dc_tensor_new(4, (int[]){5, 4, 4, 8});
    memset(zeros->data, 0, zeros->size * sizeof(float));
    dc_fit_config cfg = dc_fit_defaults();
    cfg.verbose = 0;
    cfg.shuffle = 0;
    assert_int_equal(dc_model_fit(s, x, zeros, &cfg, NULL), DC_OK);
    dc_tensor *k0a = weight_of(m, "conv2d", 0), *k4a = weight_of(m, "conv2d_4", 0), *k5a = weight_of(m, "conv2d_5", 0);
    dc_tensor *k5s = weight_of(s, "conv2d_5", 0);
    assert_memory_not_equal(k0->data, k0a->data, k0->size * sizeof(float));
    assert_memory_not_equal(k5->data, k5a->data, k5->size * sizeof(float));
    assert_memory_equal(k5s->data, k5a->data, k5->size * sizeof(float));
    assert_memory_equal(k4->data, k4a->data, k4->size * sizeof(float));
    /* after the fit the slice still gives m's layer output */
    dc_tensor *feat = NULL, *want = NULL;
    assert_int_equal(dc_model_predict(s, x, 5, &feat), DC_OK);
    assert_int_equal(dc_model_layer_output(m, x, "conv2d_5", 0, &want), DC_OK);
    assert_same(feat, want, "conv2d_5 after fit");
    dc_tensor *trash[] = {k0, k4, k5, k0a, k4a, k5a, k5s, zeros, feat, want, x};
    for (size_t i = 0; i < sizeof trash / sizeof *trash; i++)
        dc_tensor_free(trash[i]);
    dc_model_free(s);
    dc_model_free(m);
}

/* Two inputs (4,) a and b; dense (tanh) shared: dense(a), dense(b);
 * dense_1 on dense(b), dense_2 on dense(a), add, dense_3 (softmax). */
static void test_slice_functional_two_inputs_shared_layer(void **state)
{
    (void)state;
    dc_model *m = dc_functional_new(1, (int[]){4});
    int b = dc_model_input(m, 1, (int[]){4});
    dc_layer *sh = dc_layer_dense(5, "tanh");
    int ya = dc_model_apply(m, sh, DC_MODEL_INPUT), yb = dc_model_apply(m, sh, b);
    int c = dc_model_apply(m, dc_layer_dense(3, NULL), yb), d = dc_model_apply(m, dc_layer_dense(3, NULL), ya);
    int add = dc_model_merge(m, dc_layer_add(), 2, (int[]){c, d});
    assert_true(dc_model_apply(m, dc_layer_dense(2, "softmax"), add) >= 0);
    dc_model_set_seed(m, 5);
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    dc_tensor *xa = random_tensor(2, (int[]){6, 4}, 1), *xb = random_tensor(2, (int[]){6, 4}, 2);
    const dc_tensor *xs[2] = {xa, xb};
    dc_tensor *x = dc_model_pack_inputs(m, 2, xs);
    assert_non_null(x);
    dc_model *s = slice_checked(m, "add", x, 4);
    dc_model_free(s);
    /* the shared layer: its first call's output, tanh(a W + bias), computed here */
    s = slice_checked(m, "dense", x, 1);
    dc_tensor *feat = NULL, *w = weight_of(m, "dense", 0), *bias = weight_of(m, "dense", 1);
    assert_int_equal(dc_model_predict(s, x, 0, &feat), DC_OK);
    dc_tensor *want = dc_tensor_new(2, (int[]){6, 5});
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 5; j++) {
            double z = bias->data[j];
            for (int k = 0; k < 4; k++)
                z += (double)xa->data[i * 4 + k] * w->data[k * 5 + j];
            want->data[i * 5 + j] = (float)tanh(z);
        }
    assert_same(feat, want, "the shared layer's first call");
    dc_model_free(s);
    /* dense_1 takes the shared layer's second call only: the slice's one call of it */
    s = slice_checked(m, "dense_1", x, 2);
    dc_tensor *zeros = dc_tensor_new(2, (int[]){6, 3});
    memset(zeros->data, 0, zeros->size * sizeof(float));
    dc_fit_config cfg = dc_fit_defaults();
    cfg.verbose = 0;
    dc_tensor *w2 = weight_of(m, "dense_2", 0);
    assert_int_equal(dc_model_fit(s, x, zeros, &cfg, NULL), DC_OK);
    dc_tensor *wa = weight_of(m, "dense", 0), *w2a = weight_of(m, "dense_2", 0);
    assert_memory_not_equal(w->data, wa->data, w->size * sizeof(float));
    assert_memory_equal(w2->data, w2a->data, w2->size * sizeof(float));
    assert_int_equal(dc_model_layer_index(s, "dense_2"), -1);
    dc_tensor *trash[] = {xa, xb, x, feat, w, bias, want, zeros, wa, w2, w2a};
    for (size_t i = 0; i < sizeof trash / sizeof *trash; i++)
        dc_tensor_free(trash[i]);
    dc_model_free(s);
    dc_model_free(m);
}

/* Grad-CAM, saliency, SmoothGrad, integrated gradients and occlusion on the
 * functional residual model. */
static void test_methods_on_functional_model(void **state)
{
    (void)state;
    dc_model *m = residual_model();
    dc_tensor *x = random_tensor(4, (int[]){3, 8, 8, 2}, 9);
    dc_explain_target t = dc_explain_class(-1);
    t.logits = 1;
    /* Grad-CAM at conv2d_4 (4x4x8) against its definition from the layer's output and gradient */
    dc_tensor *cam = NULL, *a = NULL, *g = NULL;
    assert_int_equal(dc_explain_grad_cam(m, x, "conv2d_4", &t, &cam), DC_OK);
    assert_int_equal(dc_model_layer_gradient(m, x, "conv2d_4", &t, &a, &g), DC_OK);
    assert_int_equal(cam->size, (size_t)3 * 16);
    dc_tensor *want = dc_tensor_new(3, (int[]){3, 4, 4});
    for (int i = 0; i < 3; i++) {
        double wk[8] = {0};
        for (int p = 0; p < 16; p++)
            for (int k = 0; k < 8; k++)
                wk[k] += g->data[(i * 16 + p) * 8 + k] / 16.0;
        for (int p = 0; p < 16; p++) {
            double v = 0;
            for (int k = 0; k < 8; k++)
                v += wk[k] * a->data[(i * 16 + p) * 8 + k];
            want->data[i * 16 + p] = v > 0 ? (float)v : 0.0f;
        }
    }
    assert_same(cam, want, "Grad-CAM on the functional model");
    /* saliency is |gradient|; SmoothGrad without noise is the gradient */
    dc_tensor *grad = NULL, *sal = NULL, *sg = NULL;
    assert_int_equal(dc_model_input_gradient(m, x, &t, &grad), DC_OK);
    assert_int_equal(dc_explain_saliency(m, x, &t, &sal), DC_OK);
    assert_int_equal(dc_explain_smoothgrad(m, x, &t, 2, 0.0f, 1, &sg), DC_OK);
    for (size_t i = 0; i < grad->size; i++)
        assert_true(sal->data[i] == fabsf(grad->data[i]));
    assert_same(sg, grad, "SmoothGrad without noise");
    /* integrated gradients: completeness (the gradients through the Add and the shortcut right) */
    dc_tensor *ig = NULL, *fx_ = NULL, *fb = NULL, *zero = dc_tensor_new(4, (int[]){1, 8, 8, 2});
    memset(zero->data, 0, zero->size * sizeof(float));
    dc_explain_target t1 = dc_explain_class(1);
    t1.logits = 1;
    assert_int_equal(dc_explain_integrated_gradients(m, x, NULL, 50, &t1, &ig), DC_OK);
    assert_int_equal(dc_explain_score(m, x, &t1, &fx_), DC_OK);
    assert_int_equal(dc_explain_score(m, zero, &t1, &fb), DC_OK);
    assert_complete(ig, fx_, fb, "integrated gradients (functional residual model)");
    /* occlusion of the whole image by one patch is the drop of the score to the zero image's */
    dc_tensor *occ = NULL;
    assert_int_equal(dc_explain_occlusion(m, x, &t1, 8, 8, 8, 0.0f, &occ), DC_OK);
    for (int i = 0; i < 3; i++)
        assert_float_equal(occ->data[i * 64 + 17], fx_->data[i] - fb->data[0], 1e-5 * (1 + fabs(fx_->data[i])));
    dc_tensor *trash[] = {x, cam, a, g, want, grad, sal, sg, ig, fx_, fb, zero, occ};
    for (size_t i = 0; i < sizeof trash / sizeof *trash; i++)
        dc_tensor_free(trash[i]);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_input_gradients_match_pytorch),
        cmocka_unit_test(test_grad_cam_is_its_definition),
        cmocka_unit_test(test_lstm_embedding_gradients_match_pytorch),
        cmocka_unit_test(test_mlp_gradients_match_pytorch),
        cmocka_unit_test(test_integrated_gradients_complete),
        cmocka_unit_test(test_integrated_gradients_over_embeddings_complete),
        cmocka_unit_test(test_occlusion_is_the_score_drop),
        cmocka_unit_test(test_graph_input_grad_without_parameters),
        cmocka_unit_test(test_training_unchanged_by_explaining),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_sanity_check_randomised_weights),
        cmocka_unit_test(test_slice_shares_the_weights),
        cmocka_unit_test(test_slice_functional_residual),
        cmocka_unit_test(test_slice_functional_two_inputs_shared_layer),
        cmocka_unit_test(test_methods_on_functional_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
