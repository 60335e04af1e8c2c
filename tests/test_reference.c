/*
 * test_reference.c - deepc against reference values computed with PyTorch
 * (tests/fixtures/core.txt, written by tests/fixtures/make_fixtures.py).
 *
 * Covers the dense op (forward and the gradients of x, W and b), every loss
 * (value and d loss / d prediction), every activation (value and gradient)
 * and three steps of every optimiser.  Gradients with respect to an upstream
 * gradient gy are obtained by back-propagating loss = sum(y * gy), with gy
 * held in a constant (non-batched) input node.
 */
#include "testutil.h"

#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-6

static int setup(void **state)
{
    *state = fx_load("core.txt");
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static const dc_init ZEROS = {DC_INIT_ZEROS, 0.0f, 0.0f};

/* A parameter of the fixture array's shape (zeros until overwritten). */
static dc_node *param_like(dc_graph *g, const fx_array *a, const char *name)
{
    dc_node *n = dc_param(g, a->ndim, a->shape, ZEROS, name);
    assert_non_null(n);
    return n;
}

/* A constant (non-batched) input of the fixture array's shape. */
static dc_node *input_like(dc_graph *g, const fx_array *a, const char *name)
{
    dc_node *n = dc_input(g, 0, a->ndim, a->shape, name);
    assert_non_null(n);
    return n;
}

/* Copies a fixture array into a compiled node (parameter or input). */
static void fill(dc_node *n, const fx_array *a)
{
    assert_int_equal(dc_node_size(n), a->size);
    assert_int_equal(dc_node_set(n, a->data, a->size), DC_OK);
}

/* Compares a node's value (or gradient) with a fixture array, shape too. */
static void check(const float *got, const dc_node *n, const fx_array *want, const char *what)
{
    assert_non_null(got);
    assert_int_equal(dc_node_size(n), want->size);
    assert_close(got, want->data, want->size, RTOL, ATOL, what);
}

static const fx_array *get(const fx_file *f, const char *prefix, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    return fx_get(f, name);
}

/* loss = sum(y * gy) with gy a constant input of y's shape. */
static dc_node *dot_with(dc_graph *g, dc_node *y, const fx_array *gy, dc_node **gy_node)
{
    *gy_node = input_like(g, gy, "gy");
    dc_node *prod = dc_mul(g, y, *gy_node);
    assert_non_null(prod);
    dc_node *loss = dc_sum(g, prod);
    assert_non_null(loss);
    return loss;
}

/* ------------------------------------------------------------------ dense */

static void test_dense(void **state)
{
    const fx_file *f = *state;
    const fx_array *x = fx_get(f, "dense.x"), *w = fx_get(f, "dense.w"), *b = fx_get(f, "dense.b");
    const fx_array *gy = fx_get(f, "dense.gy");
    dc_graph *g = dc_graph_new();
    assert_non_null(g);
    dc_node *xn = param_like(g, x, "x"), *wn = param_like(g, w, "w"), *bn = param_like(g, b, "b");
    dc_node *y = dc_dense(g, xn, wn, bn);
    assert_non_null(y);
    dc_node *gyn;
    dc_node *loss = dot_with(g, y, gy, &gyn);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    fill(xn, x);
    fill(wn, w);
    fill(bn, b);
    fill(gyn, gy);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    check(dc_node_value(y), y, fx_get(f, "dense.y"), "dense.y");
    check(dc_node_grad(xn), xn, fx_get(f, "dense.gx"), "dense.gx");
    check(dc_node_grad(wn), wn, fx_get(f, "dense.gw"), "dense.gw");
    check(dc_node_grad(bn), bn, fx_get(f, "dense.gb"), "dense.gb");
    dc_graph_free(g);
}

static void test_dense_shape_mismatch(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    assert_non_null(g);
    dc_node *x = dc_input(g, 0, 2, (const int[]){4, 5}, "x");
    dc_node *w = dc_param(g, 2, (const int[]){6, 3}, ZEROS, "w");
    dc_node *b = dc_param(g, 1, (const int[]){3}, ZEROS, "b");
    assert_non_null(x);
    assert_non_null(w);
    assert_non_null(b);
    assert_null(dc_dense(g, x, w, b));
    assert_errmsg_contains("dense");
    assert_errmsg_contains("(4, 5)");
    assert_errmsg_contains("5 features");
    assert_errmsg_contains("expects 6");
    /* Without a bias too. */
    assert_null(dc_dense(g, x, w, NULL));
    assert_errmsg_contains("5 features");
    assert_errmsg_contains("expects 6");
    dc_graph_free(g);
}

/* ----------------------------------------------------------------- losses */

typedef struct loss_case {
    const char *prefix;
    dc_loss_kind kind;
    const char *pred, *target;
} loss_case;

static const loss_case LOSSES[] = {
    {"mse", DC_LOSS_MSE, "pred", "target"},
    {"mae", DC_LOSS_MAE, "pred", "target"},
    {"bce", DC_LOSS_BINARY_CE, "pred", "target"},
    {"bce2", DC_LOSS_BINARY_CE, "pred", "target"},
    {"bce_logits", DC_LOSS_BINARY_CE_LOGITS, "logits", "target"},
    {"cce", DC_LOSS_CATEGORICAL_CE, "pred", "target"},
    {"sparse", DC_LOSS_SPARSE_CE, "pred", "labels"},
    {"cce_logits", DC_LOSS_CATEGORICAL_CE_LOGITS, "logits", "target"},
    {"sparse_logits", DC_LOSS_SPARSE_CE_LOGITS, "logits", "labels"},
};

static void test_losses(void **state)
{
    const fx_file *f = *state;
    for (size_t i = 0; i < sizeof LOSSES / sizeof LOSSES[0]; i++) {
        const loss_case *c = &LOSSES[i];
        const fx_array *p = get(f, c->prefix, c->pred), *t = get(f, c->prefix, c->target);
        const fx_array *want_loss = get(f, c->prefix, "loss"), *want_grad = get(f, c->prefix, "grad");
        char what[160];
        dc_graph *g = dc_graph_new();
        assert_non_null(g);
        dc_node *pn = param_like(g, p, c->pred), *tn = input_like(g, t, c->target);
        dc_node *loss = dc_loss(g, c->kind, pn, tn);
        if (!loss)
            fail_msg("%s: dc_loss failed: %s", c->prefix, dc_errmsg());
        assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
        fill(pn, p);
        fill(tn, t);
        if (dc_graph_forward(g, loss, 1) != DC_OK || dc_graph_backward(g, loss) != DC_OK)
            fail_msg("%s: run failed: %s", c->prefix, dc_errmsg());
        snprintf(what, sizeof what, "%s.loss", c->prefix);
        check(dc_node_value(loss), loss, want_loss, what);
        snprintf(what, sizeof what, "%s.grad", c->prefix);
        check(dc_node_grad(pn), pn, want_grad, what);
        dc_graph_free(g);
    }
}

/* ------------------------------------------------------------ activations */

typedef struct act_case {
    const char *name;
    dc_act act;
    float alpha; /* < 0: the default (dc_activation) */
} act_case;

static const act_case ACTS[] = {
    {"sigmoid", DC_ACT_SIGMOID, -1.0f},  {"tanh", DC_ACT_TANH, -1.0f},
    {"relu", DC_ACT_RELU, -1.0f},        {"softmax", DC_ACT_SOFTMAX, -1.0f},
    {"leaky_relu", DC_ACT_LEAKY_RELU, 0.3f}, {"elu", DC_ACT_ELU, -1.0f},
    {"selu", DC_ACT_SELU, -1.0f},        {"gelu", DC_ACT_GELU, -1.0f},
    {"softplus", DC_ACT_SOFTPLUS, -1.0f}, {"swish", DC_ACT_SWISH, -1.0f},
};

static void test_activations(void **state)
{
    const fx_file *f = *state;
    const fx_array *x = fx_get(f, "act.x"), *gy = fx_get(f, "act.gy");
    for (size_t i = 0; i < sizeof ACTS / sizeof ACTS[0]; i++) {
        const act_case *c = &ACTS[i];
        char prefix[64], what[160];
        snprintf(prefix, sizeof prefix, "act.%s", c->name);
        dc_graph *g = dc_graph_new();
        assert_non_null(g);
        dc_node *xn = param_like(g, x, "x");
        dc_node *y = c->alpha < 0.0f ? dc_activation(g, xn, c->act) : dc_activation_alpha(g, xn, c->act, c->alpha);
        if (!y)
            fail_msg("%s: activation failed: %s", prefix, dc_errmsg());
        dc_node *gyn;
        dc_node *loss = dot_with(g, y, gy, &gyn);
        assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
        fill(xn, x);
        fill(gyn, gy);
        assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
        snprintf(what, sizeof what, "%s.y", prefix);
        check(dc_node_value(y), y, get(f, prefix, "y"), what);
        snprintf(what, sizeof what, "%s.gx", prefix);
        check(dc_node_grad(xn), xn, get(f, prefix, "gx"), what);
        dc_graph_free(g);
    }
}

/* ------------------------------------------------------------- optimisers */

typedef struct opt_case {
    const char *name;
    dc_opt_kind kind;
    float lr, momentum;
    int nesterov;
} opt_case;

/* The hyper-parameters of make_fixtures.py; the rest are Keras' defaults
 * (beta_1 0.9, beta_2 0.999, epsilon 1e-7, rho 0.9, initial accumulator 0.1,
 * AdamW weight decay 0.004), set explicitly below. */
static const opt_case OPTS[] = {
    {"sgd", DC_OPT_SGD, 0.1f, 0.0f, 0},
    {"sgd_momentum", DC_OPT_SGD, 0.1f, 0.9f, 0},
    {"sgd_nesterov", DC_OPT_SGD, 0.1f, 0.9f, 1},
    {"adam", DC_OPT_ADAM, 0.01f, 0.0f, 0},
    {"adamw", DC_OPT_ADAMW, 0.01f, 0.0f, 0},
    {"rmsprop", DC_OPT_RMSPROP, 0.01f, 0.0f, 0},
    {"adagrad", DC_OPT_ADAGRAD, 0.01f, 0.0f, 0},
};

static void test_optimizers(void **state)
{
    const fx_file *f = *state;
    const fx_array *w0 = fx_get(f, "opt.w0");
    assert_int_equal(w0->size, 12);
    float w[12];
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++) {
        const opt_case *c = &OPTS[i];
        dc_optimizer_config cfg = dc_optimizer_defaults(c->kind);
        cfg.learning_rate = c->lr;
        cfg.momentum = c->momentum;
        cfg.nesterov = c->nesterov;
        cfg.beta_1 = 0.9f;
        cfg.beta_2 = 0.999f;
        cfg.epsilon = 1e-7f;
        cfg.rho = 0.9f;
        cfg.initial_accumulator_value = 0.1f;
        cfg.weight_decay = c->kind == DC_OPT_ADAMW ? 0.004f : 0.0f;
        dc_optimizer *o = dc_optimizer_new(&cfg, 12);
        if (!o)
            fail_msg("%s: dc_optimizer_new failed: %s", c->name, dc_errmsg());
        memcpy(w, w0->data, sizeof w);
        for (int step = 1; step <= 3; step++) {
            char gname[32], wname[64];
            snprintf(gname, sizeof gname, "opt.g%d", step);
            snprintf(wname, sizeof wname, "opt.%s.w%d", c->name, step);
            const fx_array *gr = fx_get(f, gname), *want = fx_get(f, wname);
            assert_int_equal(gr->size, 12);
            assert_int_equal(want->size, 12);
            dc_optimizer_step(o, w, gr->data);
            assert_close(w, want->data, 12, RTOL, ATOL, wname);
        }
        assert_int_equal(dc_optimizer_iterations(o), 3);
        dc_optimizer_free(o);
    }
}

/* ---- convolutional layers (cnn.txt) ---- */

static int setup_cnn(void **state)
{
    *state = fx_load("cnn.txt");
    return 0;
}

/* Runs y = op(x, params...) and L = sum(y * gy); checks y and every gradient. */
typedef struct grad_check {
    dc_node *node;
    const char *suffix; /* fixture array of its gradient */
} grad_check;

static void run_and_check(const fx_file *f, const char *prefix, dc_graph *g, dc_node *y, grad_check *grads, int n_grads,
                          const char *const *fills, dc_node *const *fill_nodes, int n_fills, int training)
{
    dc_node *gy;
    dc_node *loss = dot_with(g, y, get(f, prefix, "gy"), &gy);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    fill(gy, get(f, prefix, "gy"));
    for (int i = 0; i < n_fills; i++)
        fill(fill_nodes[i], get(f, prefix, fills[i]));
    assert_int_equal(dc_graph_forward(g, loss, training), DC_OK);
    char what[128];
    snprintf(what, sizeof what, "%s.y%s", prefix, training ? "" : "_infer");
    check(dc_node_value(y), y, fx_get(f, what), what);
    if (!training)
        return;
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    for (int i = 0; i < n_grads; i++) {
        snprintf(what, sizeof what, "%s.%s", prefix, grads[i].suffix);
        check(dc_node_grad(grads[i].node), grads[i].node, fx_get(f, what), what);
    }
}

static void test_conv2d(void **state)
{
    static const struct { const char *name; int stride, same, dilation; } cases[] = {
        {"conv.valid_s1", 1, 0, 1}, {"conv.same_s1", 1, 1, 1},   {"conv.valid_s2", 2, 0, 1},
        {"conv.same_s2", 2, 1, 1},  {"conv.valid_d2", 1, 0, 2},  {"conv.same_k2s1", 1, 1, 1},
    };
    const fx_file *f = *state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *p = cases[c].name;
        dc_graph *g = dc_graph_new();
        dc_node *x = param_like(g, get(f, p, "x"), "x"), *k = param_like(g, get(f, p, "k"), "k");
        dc_node *b = param_like(g, get(f, p, "b"), "b");
        dc_node *y = dc_conv2d(g, x, k, b, cases[c].stride, cases[c].stride, cases[c].same, cases[c].dilation,
                               cases[c].dilation);
        assert_non_null(y);
        grad_check grads[] = {{x, "gx"}, {k, "gk"}, {b, "gb"}};
        const char *fills[] = {"x", "k", "b"};
        dc_node *nodes[] = {x, k, b};
        run_and_check(f, p, g, y, grads, 3, fills, nodes, 3, 1);
        dc_graph_free(g);
    }
}

static void test_pooling(void **state)
{
    static const struct { const char *name; int max, pool, stride, same; } cases[] = {
        {"maxpool.valid", 1, 2, 2, 0}, {"avgpool.valid", 0, 2, 2, 0},
        {"maxpool.same_p3s2", 1, 3, 2, 1}, {"avgpool.same_p3s2", 0, 3, 2, 1},
    };
    const fx_file *f = *state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *p = cases[c].name;
        dc_graph *g = dc_graph_new();
        dc_node *x = param_like(g, get(f, p, "x"), "x");
        dc_node *y = dc_pool2d(g, x, cases[c].max, cases[c].pool, cases[c].pool, cases[c].stride, cases[c].stride,
                               cases[c].same);
        assert_non_null(y);
        grad_check grads[] = {{x, "gx"}};
        const char *fills[] = {"x"};
        run_and_check(f, p, g, y, grads, 1, fills, &x, 1, 1);
        dc_graph_free(g);
    }
    for (int is_max = 0; is_max < 2; is_max++) {
        const char *p = is_max ? "gmp" : "gap";
        dc_graph *g = dc_graph_new();
        dc_node *x = param_like(g, fx_get(f, "gap.x"), "x");
        dc_node *y = dc_global_pool(g, x, is_max);
        grad_check grads[] = {{x, "gx"}};
        const char *fills[] = {"x"};
        run_and_check(f, p, g, y, grads, 1, fills, &x, 1, 1);
        dc_graph_free(g);
    }
}

static void test_batchnorm(void **state)
{
    const fx_file *f = *state;
    for (int training = 1; training >= 0; training--) {
        dc_graph *g = dc_graph_new();
        dc_node *x = param_like(g, fx_get(f, "bn.x"), "x");
        dc_node *gamma = param_like(g, fx_get(f, "bn.gamma"), "gamma");
        dc_node *beta = param_like(g, fx_get(f, "bn.beta"), "beta");
        int c = 2;
        dc_node *mm = dc_param_ex(g, 1, &c, ZEROS, "mm", 0);
        dc_node *mv = dc_param_ex(g, 1, &c, (dc_init){DC_INIT_ONES, 0, 0}, "mv", 0);
        dc_node *y = dc_batchnorm(g, x, gamma, beta, mm, mv, 0.99f, 1e-3f);
        assert_non_null(y);
        grad_check grads[] = {{x, "gx"}, {gamma, "ggamma"}, {beta, "gbeta"}};
        const char *fills_train[] = {"x", "gamma", "beta"};
        const char *fills_infer[] = {"x", "gamma", "beta", "infer_mean", "infer_var"};
        dc_node *nodes[] = {x, gamma, beta, mm, mv};
        if (training) {
            run_and_check(f, "bn", g, y, grads, 3, fills_train, nodes, 3, 1);
            check(dc_node_value(mm), mm, fx_get(f, "bn.moving_mean"), "bn.moving_mean");
            check(dc_node_value(mv), mv, fx_get(f, "bn.moving_var"), "bn.moving_var");
        } else {
            run_and_check(f, "bn", g, y, grads, 3, fills_infer, nodes, 5, 0);
        }
        dc_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dense, setup, teardown),
        cmocka_unit_test(test_dense_shape_mismatch),
        cmocka_unit_test_setup_teardown(test_losses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimizers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conv2d, setup_cnn, teardown),
        cmocka_unit_test_setup_teardown(test_pooling, setup_cnn, teardown),
        cmocka_unit_test_setup_teardown(test_batchnorm, setup_cnn, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
