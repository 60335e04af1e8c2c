/*
 * test_seq2seq.c - RepeatVector, Permute, Masking and TimeDistributed.
 *
 * Every expected value is computed here independently of the ops: copies
 * and index loops for repeat and permute (forward and the gradient of
 * sum(y R)), the same model on the unpadded sequences for Masking (an LSTM
 * on float sequences padded with zeros, before, after or inside, gives the
 * final output of the LSTM on the unpadded ones), and the wrapped layer
 * run on every step as its own sample for TimeDistributed.  Then names,
 * summary lines, save/load round trips and the error paths.
 */
#include "iotest.h"

#include "graph/graph.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const dc_init ZEROS = {DC_INIT_ZEROS, 0.0f, 0.0f};

static dc_tensor *tensor(int ndim, const int *shape, unsigned seed)
{
    dc_tensor *t = dc_tensor_new(ndim, shape);
    assert_non_null(t);
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
    return t;
}

static void compile(dc_model *m)
{
    assert_int_equal(dc_model_compile(m, "adam", "mean_squared_error", NULL, 0), DC_OK);
}

static dc_tensor *predict(dc_model *m, const dc_tensor *x, int batch)
{
    dc_tensor *p = NULL;
    assert_int_equal(dc_model_predict(m, x, batch, &p), DC_OK);
    return p;
}

/* Copies every weight of layer `from` of a into layer `to` of b. */
static void copy_weights(dc_model *a, int from, dc_model *b, int to, int count)
{
    for (int i = 0; i < count; i++) {
        dc_tensor *w = NULL;
        assert_int_equal(dc_model_get_weight(a, from, i, &w), DC_OK);
        assert_int_equal(dc_model_set_weight(b, to, i, w->data, w->size), DC_OK);
        dc_tensor_free(w);
    }
}

/* The summary as text. */
static char *summary(dc_model *m)
{
    static char buf[8192];
    char *s = summary_of(m);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    return buf;
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, text);
}

/* The summary has the row, a name (type) too long for its column wrapped
 * onto the next line as tf-keras does. */
static void assert_row(const char *text, const char *field, const char *shape, long params)
{
    if (!summary_has_row(text, field, shape, params))
        fail_msg("expected the row %s %s %ld in:\n%s", field, shape, params, text);
}

/* ---- PyTorch fixtures (make_fixtures_seq2seq.py) ---- */

/* y = op(x) and the gradient of sum(y r) against <prefix>.y and .gx; which: 0
 * repeat, 1 permute, 2 Masking (step_mask then mask_steps). */
static void fixture_case(const fx_file *f, const char *prefix, int which)
{
    const fx_array *ax = fx_get_part(f, prefix, "x"), *ar = fx_get_part(f, prefix, "r");
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_param(g, ax->ndim, ax->shape, ZEROS, NULL), *mask = NULL, *y;
    if (which == 0)
        y = dc_repeat(g, x, 3);
    else if (which == 1)
        y = dc_permute(g, x, 3, (int[]){2, 0, 1});
    else
        y = dc_mask_steps(g, x, mask = dc_step_mask(g, x, 0.0f));
    assert_non_null(y);
    dc_node *r = dc_input(g, 0, ar->ndim, ar->shape, "r"), *loss = dc_sum(g, dc_mul(g, y, r));
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    assert_int_equal(dc_node_set(x, ax->data, ax->size), DC_OK);
    assert_int_equal(dc_node_set(r, ar->data, ar->size), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    const fx_array *ay = fx_get_part(f, prefix, "y"), *agx = fx_get_part(f, prefix, "gx");
    assert_int_equal(dc_node_numel(y), ay->size);
    assert_close(y->val, ay->data, ay->size, 1e-5, 1e-7, prefix);
    assert_close(x->grad, agx->data, agx->size, 1e-5, 1e-7, prefix);
    if (mask)
        assert_close(mask->val, fx_get_part(f, prefix, "mask")->data, dc_node_numel(mask), 0, 0, "masking.mask");
    dc_graph_free(g);
}

static void test_pytorch_fixtures(void **state)
{
    (void)state;
    fx_file *f = fx_load("seq2seq.txt");
    fixture_case(f, "repeat", 0);
    fixture_case(f, "permute", 1);
    fixture_case(f, "masking", 2);
    fx_free(f);
}

/* ---- RepeatVector ---- */

static void test_repeat_op(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_param(g, 2, (int[]){2, 3}, ZEROS, NULL), *y = dc_repeat(g, x, 4);
    assert_non_null(y);
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[1], 4);
    dc_node *r = dc_input(g, 0, 3, y->shape, "r"), *loss = dc_sum(g, dc_mul(g, y, r));
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    float xv[6] = {1, -2, 3, 0.5f, 4, -6}, rv[24], want[24], gx[6] = {0};
    for (int i = 0; i < 24; i++)
        rv[i] = 0.25f * (float)(i % 7) - 0.5f;
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 4; k++)
            for (int f = 0; f < 3; f++) {
                want[(b * 4 + k) * 3 + f] = xv[b * 3 + f];
                gx[b * 3 + f] += rv[(b * 4 + k) * 3 + f];
            }
    assert_int_equal(dc_node_set(x, xv, 6), DC_OK);
    assert_int_equal(dc_node_set(r, rv, 24), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_close(y->val, want, 24, 0, 0, "repeat forward");
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    assert_close(x->grad, gx, 6, 1e-6, 1e-6, "repeat backward");
    dc_graph_free(g);
}

static void test_repeat_vector_layer(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){3});
    assert_int_equal(dc_model_add(m, dc_layer_repeat_vector(4)), DC_OK);
    compile(m);
    assert_row(summary(m), "repeat_vector (RepeatVector)", "(None, 4, 3)", 0);
    dc_tensor *x = tensor(2, (int[]){5, 3}, 1), *p = predict(m, x, 2);
    assert_int_equal(p->ndim, 3);
    for (int b = 0; b < 5; b++)
        for (int k = 0; k < 4; k++)
            assert_close(p->data + (b * 4 + k) * 3, x->data + b * 3, 3, 0, 0, "RepeatVector copy");
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* ---- Permute ---- */

/* Keras' Permute((3, 1, 2)) on (B, 3, 4, 5): y[b, i, j, k] = x[b, j, k, i]. */
static void test_permute(void **state)
{
    (void)state;
    enum { B = 2, D1 = 3, D2 = 4, D3 = 5, N = B * D1 * D2 * D3 };
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_param(g, 4, (int[]){B, D1, D2, D3}, ZEROS, NULL), *y = dc_permute(g, x, 3, (int[]){2, 0, 1});
    assert_non_null(y);
    assert_int_equal(y->shape[1], D3);
    assert_int_equal(y->shape[2], D1);
    assert_int_equal(y->shape[3], D2);
    dc_node *r = dc_input(g, 0, 4, y->shape, "r"), *loss = dc_sum(g, dc_mul(g, y, r));
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    static float xv[N], rv[N], want[N], gx[N];
    for (int i = 0; i < N; i++) {
        xv[i] = (float)i;
        rv[i] = (float)((i * 13) % 17) - 8.0f;
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < D3; i++)
            for (int j = 0; j < D1; j++)
                for (int k = 0; k < D2; k++) {
                    int yo = ((b * D3 + i) * D1 + j) * D2 + k, xo = ((b * D1 + j) * D2 + k) * D3 + i;
                    want[yo] = xv[xo];
                    gx[xo] = rv[yo];
                }
    assert_int_equal(dc_node_set(x, xv, N), DC_OK);
    assert_int_equal(dc_node_set(r, rv, N), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_close(y->val, want, N, 0, 0, "permute forward");
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    assert_close(x->grad, gx, N, 0, 0, "permute backward");
    dc_graph_free(g);

    /* the layer: Permute((2, 1)) swaps steps and features */
    dc_model *m = dc_sequential_new(2, (int[]){3, 4});
    assert_int_equal(dc_model_add(m, dc_layer_permute(2, (int[]){2, 1})), DC_OK);
    compile(m);
    assert_contains(summary(m), " permute (Permute)           (None, 4, 3)");
    dc_tensor *t = tensor(3, (int[]){2, 3, 4}, 2), *p = predict(m, t, 32);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                assert_true(p->data[(b * 4 + i) * 3 + j] == t->data[(b * 3 + j) * 4 + i]);
    dc_tensor_free(p);
    dc_tensor_free(t);
    dc_model_free(m);

    /* large enough for the threaded path: Permute((2, 3, 1)) on (64, 16, 32, 8), two threads */
    enum { NB = 64, E1 = 16, E2 = 32, E3 = 8 };
    m = dc_sequential_new(3, (int[]){E1, E2, E3});
    dc_model_set_threads(m, 2);
    assert_int_equal(dc_model_add(m, dc_layer_permute(3, (int[]){2, 3, 1})), DC_OK);
    compile(m);
    t = tensor(4, (int[]){NB, E1, E2, E3}, 3);
    p = predict(m, t, NB);
    for (int b = 0; b < NB; b++)
        for (int i = 0; i < E2; i++)
            for (int j = 0; j < E3; j++)
                for (int k = 0; k < E1; k++)
                    if (p->data[((b * E2 + i) * E3 + j) * E1 + k] != t->data[((b * E1 + k) * E2 + i) * E3 + j])
                        fail_msg("Permute((2, 3, 1)) on two threads: wrong value at (%d, %d, %d, %d)", b, i, j, k);
    dc_tensor_free(p);
    dc_tensor_free(t);
    dc_model_free(m);
}

/* ---- Masking ---- */

enum { T = 6, F = 3, U = 4 };

/* Sample i of the padded batch: its unpadded length and where its steps go. */
static const int LEN[4] = {6, 3, 4, 2};
/* 0: pre-padding, 1: post-padding, 2: a zero step inside (after step 1), 3: pre */
static int padded_step(int i, int s)
{
    switch (i) {
    case 1: return s;                /* post */
    case 2: return s < 2 ? s : s + 1; /* step 2 is zeros; the padding after */
    default: return T - LEN[i] + s;  /* pre (sample 0 has none) */
    }
}

/* An LSTM(U) after `pre` layers on (T, F) inputs: padded with mask_value
 * (0 or -1), its outputs equal those of the same LSTM on each sample alone. */
static void masking_case(float mask_value, int dense_between)
{
    dc_tensor *raw = tensor(3, (int[]){4, T, F}, 7), *x = dc_tensor_new(3, (int[]){4, T, F});
    for (size_t k = 0; k < x->size; k++)
        x->data[k] = mask_value;
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < LEN[i]; s++)
            memcpy(x->data + ((size_t)i * T + (size_t)padded_step(i, s)) * F,
                   raw->data + ((size_t)i * T + (size_t)s) * F, F * sizeof(float));
    dc_model *m = dc_sequential_new(2, (int[]){T, F});
    assert_int_equal(dc_model_add(m, dc_layer_masking(mask_value)), DC_OK);
    if (dense_between)
        assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_dense(5, "tanh"))), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_lstm(U)), DC_OK);
    compile(m);
    dc_tensor *p = predict(m, x, 3);
    for (int i = 0; i < 4; i++) {
        dc_model *one = dc_sequential_new(2, (int[]){LEN[i], F});
        if (dense_between)
            assert_int_equal(dc_model_add(one, dc_layer_dense(5, "tanh")), DC_OK);
        assert_int_equal(dc_model_add(one, dc_layer_lstm(U)), DC_OK);
        compile(one);
        if (dense_between)
            copy_weights(m, 1, one, 0, 2);
        copy_weights(m, 1 + dense_between, one, dense_between, 3);
        dc_tensor *xi = dc_tensor_new(3, (int[]){1, LEN[i], F});
        memcpy(xi->data, raw->data + (size_t)i * T * F, (size_t)LEN[i] * F * sizeof(float));
        dc_tensor *pi = predict(one, xi, 1);
        char what[64];
        snprintf(what, sizeof what, "sample %d, mask_value %g", i, mask_value);
        assert_close(p->data + i * U, pi->data, U, 1e-5, 1e-6, what);
        dc_tensor_free(xi);
        dc_tensor_free(pi);
        dc_model_free(one);
    }
    dc_tensor_free(p);
    dc_tensor_free(raw);
    dc_tensor_free(x);
    dc_model_free(m);
}

static void test_masking_lstm_equals_unpadded(void **state)
{
    (void)state;
    masking_case(0.0f, 0);
    masking_case(-1.0f, 0);
    masking_case(0.0f, 1); /* the mask passes through TimeDistributed(Dense) */
}

/* The output is zeroed where every feature equals mask_value, kept where
 * only some do; the summary and the config. */
static void test_masking_output(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(2, (int[]){3, 2});
    assert_int_equal(dc_model_add(m, dc_layer_masking(0.5f)), DC_OK);
    compile(m);
    assert_contains(summary(m), " masking (Masking)           (None, 3, 2)              0");
    dc_tensor *x = dc_tensor_new(3, (int[]){1, 3, 2});
    const float xv[6] = {0.5f, 0.5f, 0.5f, 2.0f, 0.0f, 0.5f}, want[6] = {0, 0, 0.5f, 2.0f, 0.0f, 0.5f};
    memcpy(x->data, xv, sizeof xv);
    dc_tensor *p = predict(m, x, 1);
    assert_close(p->data, want, 6, 0, 0, "Masking output");
    char *json = NULL;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    assert_contains(json, "\"mask_value\":0.5");
    free(json);
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* A per-step loss leaves the masked steps out: their targets do not count.
 * After a Permute (which, as in Keras, does not support masking) they do. */
static void masking_loss_case(int permute)
{
    dc_tensor *x = tensor(3, (int[]){4, T, F}, 3), *y = tensor(3, (int[]){4, T, 2}, 4);
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < T - LEN[i]; s++)
            memset(x->data + ((size_t)i * T + (size_t)s) * F, 0, F * sizeof(float));
    dc_model *m = dc_sequential_new(2, (int[]){T, F});
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, U);
    c.return_sequences = 1;
    assert_int_equal(dc_model_add(m, dc_layer_masking(0.0f)), DC_OK);
    if (permute)
        assert_int_equal(dc_model_add(m, dc_layer_permute(2, (int[]){1, 2})), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&c)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    compile(m);
    double a, b;
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, &a, 1), DC_OK);
    for (int i = 0; i < 4; i++) /* change the targets of the padded steps only */
        for (int s = 0; s < (T - LEN[i]) * 2; s++)
            y->data[(size_t)i * T * 2 + (size_t)s] += 100.0f;
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, &b, 1), DC_OK);
    assert_true(permute ? a != b : a == b);
    y->data[(size_t)(T - 1) * 2] += 1.0f; /* an unpadded step's target does count */
    double b2;
    assert_int_equal(dc_model_evaluate(m, x, y, 32, 0, &b2, 1), DC_OK);
    assert_true(b2 != b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_masking_loss(void **state)
{
    (void)state;
    masking_loss_case(0);
    masking_loss_case(1);
}

/* ---- TimeDistributed ---- */

static int has_node(dc_model *m, const char *name)
{
    dc_graph *g = dc_model_graph(m);
    for (int i = 0; g && i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->name, name) == 0)
            return 1;
    return 0;
}

static void test_time_distributed_dense(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(2, (int[]){4, 3}), *plain = dc_sequential_new(2, (int[]){4, 3});
    assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_dense(5, "relu"))), DC_OK);
    assert_int_equal(dc_model_add(plain, dc_layer_dense(5, "relu")), DC_OK);
    compile(m);
    compile(plain);
    assert_row(summary(m), "time_distributed (TimeDistributed)", "(None, 4, 5)", 20);
    assert_true(has_node(m, "time_distributed/dense/kernel"));
    assert_true(has_node(m, "time_distributed/dense/bias"));
    copy_weights(m, 0, plain, 0, 2);
    dc_tensor *x = tensor(3, (int[]){3, 4, 3}, 5), *p = predict(m, x, 2), *q = predict(plain, x, 2);
    assert_close(p->data, q->data, p->size, 0, 0, "TimeDistributed(Dense)");
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_tensor_free(x);
    dc_model_free(m);
    dc_model_free(plain);
}

enum { TS = 3, H = 6, W = 5, C = 2 };

static dc_model *video_model(int with_dropout)
{
    dc_model *m = dc_sequential_new(4, (int[]){TS, H, W, C});
    assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_conv2d(4, 3, 3, "relu"))), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_max_pooling2d(2, 2))), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_flatten())), DC_OK);
    if (with_dropout)
        assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_dropout(0.3f))), DC_OK);
    return m;
}

/* Video-like input (N, T, H, W, C): Conv2D, MaxPooling2D and Flatten on
 * every frame equal the same layers on the N*T frames as images. */
static void test_time_distributed_video(void **state)
{
    (void)state;
    dc_model *m = video_model(0), *img = dc_sequential_new(3, (int[]){H, W, C});
    assert_int_equal(dc_model_add(img, dc_layer_conv2d(4, 3, 3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(img, dc_layer_max_pooling2d(2, 2)), DC_OK);
    assert_int_equal(dc_model_add(img, dc_layer_flatten()), DC_OK);
    compile(m);
    compile(img);
    char *s = summary(m);
    assert_row(s, "time_distributed (TimeDistributed)", "(None, 3, 4, 3, 4)", 76);
    assert_row(s, "time_distributed_1 (TimeDistributed)", "(None, 3, 2, 1, 4)", 0);
    assert_row(s, "time_distributed_2 (TimeDistributed)", "(None, 3, 8)", 0);
    assert_true(has_node(m, "time_distributed/conv2d/kernel"));
    copy_weights(m, 0, img, 0, 2);
    dc_tensor *x = tensor(5, (int[]){5, TS, H, W, C}, 6), *p = predict(m, x, 2); /* batches 2, 2, 1 */
    dc_tensor *frames = dc_tensor_new(4, (int[]){5 * TS, H, W, C});
    memcpy(frames->data, x->data, x->size * sizeof(float));
    dc_tensor *q = predict(img, frames, 7);
    assert_int_equal(p->size, q->size);
    assert_close(p->data, q->data, p->size, 1e-6, 1e-6, "TimeDistributed(Conv2D, MaxPooling2D, Flatten)");
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_tensor_free(frames);
    dc_tensor_free(x);
    dc_model_free(m);
    dc_model_free(img);
}

/* Trains (Dropout inside the wrapper, an LSTM over the frames), then a save /
 * load round trip gives the same predictions; the config holds the wrapped
 * layer under "layer". */
static void test_time_distributed_train_save_load(void **state)
{
    (void)state;
    dc_model *m = video_model(1);
    assert_int_equal(dc_model_add(m, dc_layer_lstm(3)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_repeat_vector(2)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_permute(2, (int[]){2, 1})), DC_OK);
    dc_model_set_seed(m, 3);
    compile(m);
    assert_int_equal(dc_model_set_lr(m, 0.01f), DC_OK);
    dc_tensor *x = tensor(5, (int[]){9, TS, H, W, C}, 8), *y = tensor(3, (int[]){9, 3, 2}, 9);
    double before, after;
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, &before, 1), DC_OK);
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = 20;
    fit.batch_size = 4; /* the last batch has 1 sample */
    fit.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fit, NULL), DC_OK);
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, &after, 1), DC_OK);
    if (!(after < 0.9 * before))
        fail_msg("loss %g before training, %g after", before, after);

    char *json = NULL;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    assert_contains(json, "\"class_name\":\"TimeDistributed\"");
    assert_contains(json, "\"layer\":{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"conv2d\"");
    assert_contains(json, "\"class_name\":\"RepeatVector\",\"config\":{\"name\":\"repeat_vector\"");
    assert_contains(json, "\"dims\":[2,1]");
    free(json);
    assert_int_equal(dc_model_save(m, "test_seq2seq.safetensors", 1), DC_OK);
    dc_model *loaded = NULL;
    assert_int_equal(dc_model_load("test_seq2seq.safetensors", &loaded), DC_OK);
    dc_tensor *p = predict(m, x, 5), *q = predict(loaded, x, 5);
    assert_close(p->data, q->data, p->size, 0, 0, "predictions after load");
    remove("test_seq2seq.safetensors");
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    dc_model_free(loaded);
}

/* ---- errors ---- */

static void expect_build_error(dc_model *m, const char *needle)
{
    assert_int_not_equal(dc_model_compile(m, "adam", "mean_squared_error", NULL, 0), DC_OK);
    assert_errmsg_contains(needle);
    dc_model_free(m);
}

static dc_model *model_with(int ndim, const int *shape, dc_layer *l)
{
    dc_model *m = dc_sequential_new(ndim, shape);
    assert_int_equal(dc_model_add(m, l), DC_OK);
    return m;
}

static void from_json_error(const char *json, const char *needle)
{
    dc_model *m = NULL;
    assert_int_not_equal(dc_model_from_json(json, strlen(json), &m), DC_OK);
    assert_null(m);
    assert_errmsg_contains(needle);
}

#define LAYER_JSON(cls, cfg)                                                                                          \
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": [{\"class_name\": "        \
    "\"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 4], \"name\": \"input_layer\"}}, {\"class_name\": \"" cls \
    "\", \"config\": " cfg "}]}}"

#define SIXTY "time_distributed_with_a_name_of_sixty_characters_xxxxxxxxxxx"

static void test_errors(void **state)
{
    (void)state;
    assert_null(dc_layer_repeat_vector(0));
    assert_errmsg_contains("RepeatVector: n 0 is below 1");
    assert_null(dc_layer_permute(2, (int[]){1, 1}));
    assert_errmsg_contains("Permute: dims[1] is 1");
    assert_null(dc_layer_permute(2, (int[]){0, 1}));
    assert_errmsg_contains("Permute: dims[0] is 0");
    assert_null(dc_layer_permute(2, (int[]){1, 3}));
    assert_errmsg_contains("each of 1..2 once");
    assert_null(dc_layer_masking(NAN));
    assert_errmsg_contains("Masking: mask_value is NaN");
    assert_null(dc_layer_time_distributed(NULL));
    assert_errmsg_contains("TimeDistributed: layer is NULL");
    assert_null(dc_layer_time_distributed(dc_layer_time_distributed(dc_layer_dense(2, NULL))));
    assert_errmsg_contains("TimeDistributed: cannot wrap TimeDistributed");
    assert_null(dc_layer_time_distributed(dc_layer_masking(0)));
    assert_errmsg_contains("cannot wrap Masking");

    expect_build_error(model_with(2, (int[]){3, 4}, dc_layer_repeat_vector(2)),
                       "repeat_vector: input (None, 3, 4) has 3 axes, expected 2");
    expect_build_error(model_with(2, (int[]){3, 4}, dc_layer_permute(3, (int[]){1, 3, 2})),
                       "permute: input (None, 3, 4) has 2 axes after the batch, dims has 3");
    expect_build_error(model_with(1, (int[]){4}, dc_layer_masking(0)),
                       "masking: input (None, 4) has 2 axes, expected 3");
    expect_build_error(model_with(1, (int[]){4}, dc_layer_time_distributed(dc_layer_dense(2, NULL))),
                       "time_distributed: input (None, 4) has 2 axes, expected at least 3");
    dc_model *m = dc_sequential_new(2, (int[]){3, 4});
    assert_int_equal(dc_model_add(m, dc_layer_time_distributed(dc_layer_dense(2, NULL))), DC_OK);
    char *json = NULL, *at;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    dc_model_free(m);
    assert_non_null(at = strstr(json, "\"name\":\"time_distributed\""));
    char *longer = malloc(strlen(json) + 64);
    snprintf(longer, strlen(json) + 64, "%.*s\"name\":\"%s\"%s", (int)(at - json), json, SIXTY,
             at + strlen("\"name\":\"time_distributed\""));
    assert_int_equal(dc_model_from_json(longer, strlen(longer), &m), DC_OK);
    expect_build_error(m, "the name \"" SIXTY "/dense\" of its weights is longer than 63 characters");
    free(longer);
    free(json);
    /* the wrapped layer's own error names it inside the wrapper */
    expect_build_error(model_with(2, (int[]){3, 4}, dc_layer_time_distributed(dc_layer_conv2d(2, 3, 3, NULL))),
                       "time_distributed/conv2d");

    from_json_error(LAYER_JSON("RepeatVector", "{}"), "\"n\"");
    from_json_error(LAYER_JSON("RepeatVector", "{\"n\": 0}"), "\"n\"");
    from_json_error(LAYER_JSON("Permute", "{\"dims\": 2}"), "key \"dims\" must be an array");
    from_json_error(LAYER_JSON("Permute", "{\"dims\": [2, 2]}"), "Permute: dims[1] is 2");
    from_json_error(LAYER_JSON("Masking", "{\"mask_value\": \"x\"}"), "mask_value");
    from_json_error(LAYER_JSON("TimeDistributed", "{}"), "key \"layer\" must be");
    from_json_error(LAYER_JSON("TimeDistributed", "{\"layer\": {\"class_name\": \"Nope\", \"config\": {}}}"),
                    "unknown layer class \"Nope\"");
    from_json_error(LAYER_JSON("TimeDistributed", "{\"layer\": {\"class_name\": \"Dense\", \"config\": {}}}"),
                    "layer: missing key \"units\"");
    from_json_error(LAYER_JSON("TimeDistributed",
                               "{\"layer\": {\"class_name\": \"Dense\", "
                               "\"config\": {\"name\": \"a/b\", \"units\": 2}}}"),
                    "its \"name\" must be 1 to 31 letters");

    /* graph ops name the shapes */
    dc_graph *g = dc_graph_new();
    dc_node *v = dc_param(g, 1, (int[]){4}, ZEROS, NULL), *s = dc_param(g, 3, (int[]){2, 3, 4}, ZEROS, NULL);
    assert_null(dc_repeat(g, v, 2));
    assert_errmsg_contains("repeat: input (4,)");
    assert_null(dc_permute(g, s, 2, (int[]){0, 0}));
    assert_errmsg_contains("permute: axis 1 of the permutation is 0");
    assert_null(dc_mask_steps(g, s, dc_param(g, 2, (int[]){2, 4}, ZEROS, NULL)));
    assert_errmsg_contains("mask_steps: input (2, 3, 4) and mask (2, 4)");
    assert_null(dc_time_unfold(g, s, 5));
    assert_errmsg_contains("time_unfold: input (2, 3, 4) cannot be split into 5 steps");
    assert_null(dc_step_mask(g, v, 0));
    assert_errmsg_contains("step_mask: input (4,)");
    dc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pytorch_fixtures),
        cmocka_unit_test(test_repeat_op),
        cmocka_unit_test(test_repeat_vector_layer),
        cmocka_unit_test(test_permute),
        cmocka_unit_test(test_masking_lstm_equals_unpadded),
        cmocka_unit_test(test_masking_output),
        cmocka_unit_test(test_masking_loss),
        cmocka_unit_test(test_time_distributed_dense),
        cmocka_unit_test(test_time_distributed_video),
        cmocka_unit_test(test_time_distributed_train_save_load),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
