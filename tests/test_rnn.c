/*
 * test_rnn.c - the recurrent ops and layers: LSTM and GRU forward and
 * backward against PyTorch (tests/fixtures/rnn.txt, written by
 * make_fixtures_rnn.py, gate layouts converted there), masking semantics
 * (padded steps change neither the state nor the gradients), Keras'
 * initialisers and weight shapes, a small sequence model that learns, and
 * the error paths.
 */
#include "testutil.h"

#include "graph/graph.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-6

static const dc_init ZEROS = {DC_INIT_ZEROS, 0.0f, 0.0f};

static dc_node *param_like(dc_graph *g, const fx_array *a)
{
    dc_node *n = dc_param(g, a->ndim, a->shape, ZEROS, NULL);
    assert_non_null(n);
    return n;
}

static void set(dc_node *n, const fx_array *a) { assert_int_equal(dc_node_set(n, a->data, a->size), DC_OK); }

static void check(const float *got, const fx_array *want, const char *what)
{
    assert_close(got, want->data, want->size, RTOL, ATOL, what);
}

static const fx_array *get(const fx_file *f, const char *prefix, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    return fx_get(f, name);
}

/* y = rnn(x) as a sequence, h its final state; loss = sum(y gy) + sum(h ghn). */
static void reference_case(const char *prefix, dc_rnn_kind kind, int backwards)
{
    fx_file *f = fx_load("rnn.txt");
    char what[96];
    dc_graph *g = dc_graph_new();
    dc_node *x = param_like(g, get(f, prefix, "x")), *k = param_like(g, get(f, prefix, "kernel"));
    dc_node *r = param_like(g, get(f, prefix, "recurrent")), *b = param_like(g, get(f, prefix, "bias"));
    dc_rnn_config cfg = dc_rnn_defaults(kind, get(f, prefix, "recurrent")->shape[0]);
    cfg.return_sequences = 1;
    cfg.go_backwards = backwards;
    dc_node *y = dc_rnn(g, x, k, r, b, NULL, &cfg);
    assert_non_null(y);
    dc_node *h = dc_rnn_state(g, y, 0), *c = kind == DC_RNN_LSTM ? dc_rnn_state(g, y, 1) : NULL;
    dc_node *gy = dc_input(g, 0, 3, y->shape, "gy"), *ghn = dc_input(g, 0, 2, h->shape, "ghn");
    dc_node *loss = dc_add(g, dc_sum(g, dc_mul(g, y, gy)), dc_sum(g, dc_mul(g, h, ghn)));
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    set(x, get(f, prefix, "x"));
    set(k, get(f, prefix, "kernel"));
    set(r, get(f, prefix, "recurrent"));
    set(b, get(f, prefix, "bias"));
    set(gy, get(f, prefix, "gy"));
    set(ghn, get(f, prefix, "ghn"));
    if (c)
        assert_int_equal(dc_graph_forward(g, c, 0), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 0), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    const char *names[] = {"y", "h", "gx", "gkernel", "grecurrent", "gbias"};
    const float *got[] = {y->val, h->val, x->grad, k->grad, r->grad, b->grad};
    for (int i = 0; i < 6; i++) {
        snprintf(what, sizeof what, "%s.%s", prefix, names[i]);
        check(got[i], get(f, prefix, names[i]), what);
    }
    if (c) {
        snprintf(what, sizeof what, "%s.c", prefix);
        check(c->val, get(f, prefix, "c"), what);
    }
    dc_graph_free(g);
    fx_free(f);
}

static void test_lstm_matches_pytorch(void **state)
{
    (void)state;
    reference_case("lstm", DC_RNN_LSTM, 0);
}

static void test_gru_matches_pytorch(void **state)
{
    (void)state;
    reference_case("gru", DC_RNN_GRU, 0);
}

static void test_lstm_go_backwards_matches_pytorch(void **state)
{
    (void)state;
    reference_case("lstm_back", DC_RNN_LSTM, 1);
}

/* ---- masking ---- */

enum { T_FULL = 6, T_REAL = 3, F = 2, U = 4 };

/* The final h of an LSTM/GRU over x (1, T, F) with fixed weights; with ids
 * (1, T) when masked.  gx receives d(sum h)/dx. */
static void final_state(dc_rnn_kind kind, int T, const float *x, const float *ids, float *h, float *gx)
{
    dc_graph *g = dc_graph_new();
    int G = kind == DC_RNN_LSTM ? 4 : 3, GU = G * U;
    dc_rnn_config cfg = dc_rnn_defaults(kind, U);
    dc_node *xn = dc_param(g, 3, (int[]){1, T, F}, ZEROS, NULL);
    dc_node *k = dc_param(g, 2, (int[]){F, GU}, ZEROS, NULL), *r = dc_param(g, 2, (int[]){U, GU}, ZEROS, NULL);
    dc_node *b = kind == DC_RNN_GRU ? dc_param(g, 2, (int[]){2, GU}, ZEROS, NULL) : dc_param(g, 1, &GU, ZEROS, NULL);
    dc_node *idn = ids ? dc_input(g, 0, 2, (int[]){1, T}, "ids") : NULL;
    dc_node *y = dc_rnn(g, xn, k, r, b, idn, &cfg), *loss = dc_sum(g, y);
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    dc_node *ps[3] = {k, r, b};
    for (int p = 0; p < 3; p++) /* deterministic weights */
        for (size_t i = 0; i < dc_node_size(ps[p]); i++)
            ps[p]->val[i] = 0.5f * sinf(1.7f * (float)i + (float)p);
    memcpy(xn->val, x, (size_t)T * F * sizeof(float));
    if (ids)
        memcpy(idn->val, ids, (size_t)T * sizeof(float));
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    memcpy(h, y->val, U * sizeof(float));
    memcpy(gx, xn->grad, (size_t)T * F * sizeof(float));
    dc_graph_free(g);
}

/* Padding before (pre) or after (post) the 3 real steps must leave the final
 * state as it is without the padding, and give the padded steps no gradient. */
static void test_masked_padding_changes_nothing(void **state)
{
    (void)state;
    float real[T_REAL * F] = {0.3f, -0.7f, 1.1f, 0.2f, -0.4f, 0.9f};
    for (int kind = DC_RNN_LSTM; kind <= DC_RNN_GRU; kind++) {
        float h_ref[U], gx_ref[T_REAL * F];
        final_state((dc_rnn_kind)kind, T_REAL, real, NULL, h_ref, gx_ref);
        for (int post = 0; post < 2; post++) {
            float x[T_FULL * F], ids[T_FULL], h[U], gx[T_FULL * F];
            int off = post ? 0 : T_FULL - T_REAL;
            for (int t = 0; t < T_FULL; t++) {
                int real_step = t >= off && t < off + T_REAL;
                ids[t] = real_step ? (float)(t + 1) : 0.0f;
                for (int j = 0; j < F; j++) /* padded steps hold garbage: the mask must hide it */
                    x[t * F + j] = real_step ? real[(t - off) * F + j] : 5.0f;
            }
            final_state((dc_rnn_kind)kind, T_FULL, x, ids, h, gx);
            assert_close(h, h_ref, U, 1e-6, 1e-7, post ? "post-padded h" : "pre-padded h");
            assert_close(gx + off * F, gx_ref, T_REAL * F, 1e-5, 1e-7, "gradient of the real steps");
            for (int t = 0; t < T_FULL; t++)
                if (ids[t] == 0.0f)
                    for (int j = 0; j < F; j++)
                        assert_true(gx[t * F + j] == 0.0f);
        }
    }
}

/* A model with Embedding(mask_zero): a pre-padded input predicts exactly
 * what the unpadded tokens predict in a model of the shorter length (same
 * seed, so the same weights); Bidirectional too. */
static dc_model *masked_model(int steps, int bidirectional)
{
    dc_model *m = dc_sequential_new(1, &steps);
    dc_model_set_seed(m, 3);
    assert_int_equal(dc_model_add(m, dc_layer_embedding(10, 4, 1)), DC_OK);
    if (bidirectional) {
        dc_rnn_config c = dc_rnn_defaults(DC_RNN_GRU, 3);
        c.return_sequences = 1;
        assert_int_equal(dc_model_add(m, dc_layer_bidirectional(dc_layer_rnn_ex(&c), "concat")), DC_OK);
        assert_int_equal(dc_model_add(m, dc_layer_bidirectional(dc_layer_lstm(3), NULL)), DC_OK);
    } else {
        assert_int_equal(dc_model_add(m, dc_layer_lstm(5)), DC_OK);
    }
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, "sigmoid")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "binary_crossentropy", NULL, 0), DC_OK);
    return m;
}

static void test_mask_zero_model(void **state)
{
    (void)state;
    for (int bi = 0; bi < 2; bi++) {
        dc_model *full = masked_model(5, bi), *short_m = masked_model(3, bi);
        dc_tensor *xf = dc_tensor_from(2, (int[]){1, 5}, (float[]){0, 0, 7, 2, 9});
        dc_tensor *xs = dc_tensor_from(2, (int[]){1, 3}, (float[]){7, 2, 9});
        dc_tensor *pf, *ps;
        assert_int_equal(dc_model_predict(full, xf, 1, &pf), DC_OK);
        assert_int_equal(dc_model_predict(short_m, xs, 1, &ps), DC_OK);
        assert_close(pf->data, ps->data, 1, 1e-6, 1e-7, bi ? "Bidirectional masked prediction" : "masked prediction");
        dc_tensor_free(xf);
        dc_tensor_free(xs);
        dc_tensor_free(pf);
        dc_tensor_free(ps);
        dc_model_free(full);
        dc_model_free(short_m);
    }
}

/* A per-step loss over a masked sequence leaves the padded steps out: the
 * loss of [0, 0, 7, 2, 9] equals that of [7, 2, 9] in a shorter model,
 * whatever the targets at the padded steps. */
static double per_step_loss(int steps, const float *ids, const float *targets)
{
    dc_model *m = dc_sequential_new(1, &steps);
    dc_model_set_seed(m, 4);
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, 4);
    c.return_sequences = 1;
    assert_int_equal(dc_model_add(m, dc_layer_embedding(10, 3, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&c)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_from(2, (int[]){1, steps}, ids), *y = dc_tensor_from(3, (int[]){1, steps, 2}, targets);
    double loss;
    assert_int_equal(dc_model_evaluate(m, x, y, 1, 0, &loss, 1), DC_OK);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    return loss;
}

static void test_masked_per_step_loss(void **state)
{
    (void)state;
    double want = per_step_loss(3, (float[]){7, 2, 9}, (float[]){1, -1, 2, 0, 0.5f, 1});
    double a = per_step_loss(5, (float[]){0, 0, 7, 2, 9}, (float[]){0, 0, 0, 0, 1, -1, 2, 0, 0.5f, 1});
    double b = per_step_loss(5, (float[]){0, 0, 7, 2, 9}, (float[]){9, 9, -9, 3, 1, -1, 2, 0, 0.5f, 1});
    assert_true(want > 0.1);
    assert_close((float[]){(float)a, (float)b}, (float[]){(float)want, (float)want}, 2, 1e-6, 1e-7, "masked loss");
}

/* ---- layers: Keras' shapes and initialisers ---- */

static void test_layer_shapes_and_init(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){7});
    assert_int_equal(dc_model_add(m, dc_layer_embedding(50, 8, 0)), DC_OK);
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, 6);
    c.return_sequences = 1;
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&c)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_gru(5)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    /* Keras: 50*8; LSTM 4*6*(8+6+1); GRU reset_after 3*5*(6+5+2); Dense 5+1 */
    assert_int_equal(dc_model_param_count(m), 400 + 360 + 195 + 6);
    dc_graph *g = dc_model_graph(m);
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (!strcmp(n->name, "lstm/bias")) { /* unit_forget_bias: the forget quarter is ones */
            for (int j = 0; j < 24; j++)
                assert_true(n->val[j] == (j >= 6 && j < 12 ? 1.0f : 0.0f));
        } else if (!strcmp(n->name, "lstm/recurrent_kernel")) { /* orthogonal: rows orthonormal */
            for (int a = 0; a < 6; a++)
                for (int b = 0; b < 6; b++) {
                    double d = 0;
                    for (int j = 0; j < 24; j++)
                        d += (double)n->val[a * 24 + j] * n->val[b * 24 + j];
                    assert_true(fabs(d - (a == b)) < 1e-5);
                }
        } else if (!strcmp(n->name, "embedding/embeddings")) {
            for (int j = 0; j < 400; j++)
                assert_true(fabsf(n->val[j]) <= 0.05f);
        }
    }
    dc_model_free(m);
}

/* A GRU learns to tell whether a token appears in a sequence. */
static void test_sequence_model_learns(void **state)
{
    (void)state;
    enum { N = 256, T = 8 };
    dc_tensor *x = dc_tensor_new(2, (int[]){N, T}), *y = dc_tensor_new(1, (int[]){N});
    dc_rng rng;
    dc_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        int has = 0;
        for (int t = 0; t < T; t++) {
            int id = 1 + (int)dc_rng_below(&rng, 9);
            x->data[i * T + t] = (float)id;
            has |= id == 3;
        }
        y->data[i] = (float)has;
    }
    dc_model *m = dc_sequential_new(1, (int[]){T});
    dc_model_set_seed(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_embedding(10, 8, 0)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_gru(8)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, "sigmoid")), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "binary_crossentropy", metrics, 1), DC_OK);
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = 30;
    fit.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fit, NULL), DC_OK);
    double res[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 64, 0, res, 2), DC_OK);
    if (res[1] < 0.95)
        fail_msg("accuracy %.3f after 30 epochs, expected >= 0.95", res[1]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ---- errors ---- */

static void test_token_id_out_of_range(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){3});
    assert_int_equal(dc_model_add(m, dc_layer_embedding(10, 4, 0)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_lstm(2)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    float bad[2][6] = {{1, 2, 3, 4, 10, 0}, {1, 2, 3, 4, 2.5f, 0}};
    const char *want[2] = {"token id 10 at sample 1, step 1 is not an integer in [0, 10)", "token id 2.5"};
    for (int i = 0; i < 2; i++) {
        dc_tensor *x = dc_tensor_from(2, (int[]){2, 3}, bad[i]), *p = NULL;
        assert_int_equal(dc_model_predict(m, x, 2, &p), DC_ERR_RANGE);
        assert_null(p);
        assert_errmsg_contains(want[i]);
        assert_errmsg_contains("embedding");
        dc_tensor_free(x);
    }
    dc_model_free(m);
}

static void test_rnn_wrong_rank(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(1, (int[]){12});
    assert_int_equal(dc_model_add(m, dc_layer_gru(4)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("gru: input (None, 12) has 2 axes, expected 3: (batch, timesteps, features)");
    dc_model_free(m);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 3, (int[]){2, 3, 4}, "x"), *w = dc_param(g, 2, (int[]){4, 4}, ZEROS, NULL);
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_SIMPLE, 4);
    assert_null(dc_rnn(g, x, w, w, dc_param(g, 1, (int[]){4}, ZEROS, NULL), NULL, &c));
    assert_errmsg_contains("expected 3: (batch, timesteps, features)");
    dc_graph_free(g);
}

static void test_bad_layer_arguments(void **state)
{
    (void)state;
    assert_null(dc_layer_embedding(0, 4, 0));
    assert_errmsg_contains("input_dim 0");
    assert_null(dc_layer_bidirectional(dc_layer_dense(3, NULL), NULL));
    assert_errmsg_contains("wraps a SimpleRNN, LSTM or GRU layer, got Dense");
    assert_null(dc_layer_bidirectional(dc_layer_lstm(3), "max"));
    assert_errmsg_contains("merge_mode \"max\"");
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, 3);
    c.activation = "gelu";
    assert_null(dc_layer_rnn_ex(&c));
    assert_errmsg_contains("linear, sigmoid, tanh or relu");
    c = dc_rnn_defaults(DC_RNN_LSTM, 3);
    c.return_state = 1;
    dc_model *m = dc_sequential_new(2, (int[]){4, 2});
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&c)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_UNSUPPORTED);
    assert_errmsg_contains("dc_rnn_state");
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lstm_matches_pytorch),
        cmocka_unit_test(test_gru_matches_pytorch),
        cmocka_unit_test(test_lstm_go_backwards_matches_pytorch),
        cmocka_unit_test(test_masked_padding_changes_nothing),
        cmocka_unit_test(test_mask_zero_model),
        cmocka_unit_test(test_masked_per_step_loss),
        cmocka_unit_test(test_layer_shapes_and_init),
        cmocka_unit_test(test_sequence_model_learns),
        cmocka_unit_test(test_token_id_out_of_range),
        cmocka_unit_test(test_rnn_wrong_rank),
        cmocka_unit_test(test_bad_layer_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
