/*
 * test_attention.c - the attention layers against PyTorch, and the batched
 * matmul's threaded paths against a plain loop.
 *
 * tests/fixtures/attention/make_fixtures.py writes Keras 3's
 * MultiHeadAttention, Attention and AdditiveAttention by hand in PyTorch
 * (float64 einsums in Keras' weight layout): inputs, weights, token-id
 * masks, the output and the gradient of sum(out * r) with respect to every
 * input and weight.  Each case builds the layer's ops on input nodes that
 * keep a gradient, loads the weights by their Keras names, and compares
 * everything within 1e-5 of the array's largest magnitude.
 */
#include "testutil.h"

#include "graph/graph.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

enum { MAX_IN = 4 };

/* Within 1e-5 of want's largest magnitude; an array that is zero in exact
 * arithmetic (the key bias's gradient: softmax ignores a shift common to a
 * row) within 1e-6 of zero: float32 rounding of the terms that cancel,
 * which are of the order of the other gradients here (0.1 to 1), left
 * 1.2e-7 in the ASan build (-O1, another summation order) and 0 to 6e-8 in
 * Release. */
static void assert_near(const float *got, const fx_array *want, const char *what)
{
    double big = 0;
    for (size_t i = 0; i < want->size; i++)
        big = fmax(big, fabs(want->data[i]));
    assert_close(got, want->data, want->size, 0.0, big > 1e-6 ? 1e-5 * big : 1e-6, what);
}

/* A batched input node holding fixture array a (its first axis the batch),
 * keeping a gradient when `grad`. */
static dc_node *input_of(dc_graph *g, const fx_array *a, int grad)
{
    dc_node *n = dc_input(g, 1, a->ndim - 1, a->shape + 1, a->name);
    assert_non_null(n);
    n->requires_grad = grad; /* set before any consumer is made: the consumers need a gradient too */
    return n;
}

/* One fixture case through a layer of several inputs: `names` the inputs in
 * the layer's order ("query", "value", ...; the same name twice feeds one
 * node twice), `masks` the fixture arrays of each input's token ids (NULL:
 * none). */
static void check_layer(const fx_file *f, const char *c, dc_layer *l, int n, const char *const *names,
                        const char *const *masks)
{
    char key[160];
    assert_non_null(l);
    snprintf(l->name, sizeof l->name, "layer");
    const fx_array *q = fx_get_part(f, c, "query");
    int B = q->shape[0];
    dc_graph *g = dc_graph_new();
    dc_node *xs[MAX_IN] = {0}, *ids[MAX_IN] = {0};
    const fx_array *src[MAX_IN] = {0}, *idsrc[MAX_IN] = {0};
    dc_layer_call call = {.out_act = DC_ACT_LINEAR};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i && !xs[i]; j++)
            if (!strcmp(names[i], names[j]))
                xs[i] = xs[j];
        if (!xs[i]) {
            src[i] = fx_get_part(f, c, names[i]);
            xs[i] = input_of(g, src[i], strcmp(names[i], "amask") != 0);
        }
        if (masks[i]) {
            for (int j = 0; j < i && !ids[i]; j++)
                if (masks[j] && !strcmp(masks[i], masks[j]))
                    ids[i] = ids[j];
            if (!ids[i]) {
                idsrc[i] = fx_get_part(f, c, masks[i]);
                ids[i] = input_of(g, idsrc[i], 0);
            }
        }
        call.in_masks[i] = ids[i];
    }
    if (l->cls->build_merge(l, g, n, xs, &call) != DC_OK)
        fail_msg("%s: build: %s", c, dc_errmsg());
    const fx_array *want = fx_get_part(f, c, "out"), *r = fx_get_part(f, c, "r");
    dc_node *rn = input_of(g, r, 0);
    dc_node *loss = dc_sum(g, dc_mul(g, call.out, rn));
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, B, NULL), DC_OK);
    assert_int_equal(dc_graph_set_batch(g, B), DC_OK);
    for (int i = 0; i < n; i++) {
        if (src[i])
            assert_int_equal(dc_node_set(xs[i], src[i]->data, src[i]->size), DC_OK);
        if (idsrc[i])
            assert_int_equal(dc_node_set(ids[i], idsrc[i]->data, idsrc[i]->size), DC_OK);
    }
    assert_int_equal(dc_node_set(rn, r->data, r->size), DC_OK);
    for (int i = 0; i < call.n_params; i++) { /* "layer/query/kernel" is the fixture's "<case>.query/kernel" */
        const fx_array *w = fx_get_part(f, c, call.params[i]->name + strlen("layer/"));
        assert_int_equal(dc_node_size(call.params[i]), w->size);
        memcpy(call.params[i]->val, w->data, w->size * sizeof(float));
    }
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    snprintf(key, sizeof key, "%s forward", c);
    assert_int_equal(dc_node_size(call.out), want->size);
    assert_near(call.out->val, want, key);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    for (int i = 0; i < n; i++)
        if (src[i] && strcmp(names[i], "amask") != 0) {
            snprintf(key, sizeof key, "grad.%s", names[i]);
            const fx_array *gw = fx_get_part(f, c, key);
            snprintf(key, sizeof key, "%s d/d%s", c, names[i]);
            assert_near(xs[i]->grad, gw, key);
        }
    for (int i = 0; i < call.n_params; i++) {
        snprintf(key, sizeof key, "grad.%s", call.params[i]->name + strlen("layer/"));
        const fx_array *gw = fx_get_part(f, c, key);
        snprintf(key, sizeof key, "%s d/d%s", c, call.params[i]->name);
        assert_near(call.params[i]->grad, gw, key);
    }
    dc_graph_free(g);
    dc_layer_free(l);
}

static dc_layer *mha(int heads, int key_dim, int value_dim, int out, int use_bias, int causal)
{
    dc_mha_config c = dc_mha_defaults(heads, key_dim);
    c.value_dim = value_dim;
    c.use_bias = use_bias;
    c.use_causal_mask = causal;
    if (out) {
        c.output_ndim = 1;
        c.output_shape[0] = out;
    }
    return dc_layer_multi_head_attention_ex(&c);
}

static void test_mha_against_pytorch(void **state)
{
    const fx_file *f = *state;
    check_layer(f, "mha_self", mha(2, 3, 4, 0, 1, 0), 2, (const char *[]){"query", "query"},
                (const char *[]){"q_ids", "q_ids"});
    check_layer(f, "mha_cross", mha(2, 3, 2, 0, 1, 1), 3, (const char *[]){"query", "value", "key"},
                (const char *[]){"q_ids", "v_ids", "k_ids"});
    check_layer(f, "mha_causal", mha(3, 2, 0, 7, 0, 1), 2, (const char *[]){"query", "query"},
                (const char *[]){NULL, NULL});
    check_layer(f, "mha_amask", mha(2, 2, 3, 0, 1, 0), 4, (const char *[]){"query", "value", "key", "amask"},
                (const char *[]){NULL, NULL, NULL, NULL});
}

static dc_layer *attention(const char *mode, int use_scale, int causal, int additive)
{
    dc_attention_config c = {.use_scale = use_scale, .score_mode = mode, .use_causal_mask = causal};
    return additive ? dc_layer_additive_attention_ex(&c) : dc_layer_attention_ex(&c);
}

static void test_attention_against_pytorch(void **state)
{
    const fx_file *f = *state;
    const char *qv[] = {"query", "value"}, *qvk[] = {"query", "value", "key"};
    check_layer(f, "att_dot", attention("dot", 0, 0, 0), 2, qv, (const char *[]){"q_ids", "v_ids"});
    check_layer(f, "att_scale_key", attention("dot", 1, 1, 0), 3, qvk, (const char *[]){NULL, NULL, NULL});
    check_layer(f, "att_concat", attention("concat", 1, 0, 0), 2, qv, (const char *[]){NULL, "v_ids"});
    check_layer(f, "att_concat_noscale", attention("concat", 0, 0, 0), 2, qv, (const char *[]){NULL, NULL});
    check_layer(f, "add_scale", attention(NULL, 1, 0, 1), 3, qvk, (const char *[]){"q_ids", "v_ids", NULL});
    check_layer(f, "add_noscale", attention(NULL, 0, 1, 1), 2, qv, (const char *[]){NULL, NULL});
}

static void test_dot_against_pytorch(void **state)
{
    const fx_file *f = *state;
    const char *qv[] = {"query", "value"}, *none[] = {NULL, NULL};
    check_layer(f, "dot_2d_cos", dc_layer_dot(1, 1, 1), 2, qv, none);
    check_layer(f, "dot_22", dc_layer_dot(2, 2, 0), 2, qv, none);
    check_layer(f, "dot_11_cos", dc_layer_dot(1, 1, 1), 2, qv, none);
    check_layer(f, "dot_21", dc_layer_dot(-1, 1, 0), 2, qv, none);
    check_layer(f, "dot_12", dc_layer_dot(1, -1, 0), 2, qv, none);
}

/* Embedding(mask_zero) + PositionEmbedding + Add in a functional model: the
 * output is each token's row plus the table's row of its position. */
static void test_position_embedding(void **state)
{
    (void)state;
    enum { T = 4, D = 3, V = 6, L = 5 };
    dc_model *m = dc_functional_new(1, (int[]){T});
    int e = dc_model_apply(m, dc_layer_embedding(V, D, 0), DC_MODEL_INPUT);
    int p = dc_model_apply(m, dc_layer_position_embedding(L), e);
    assert_true(dc_model_merge(m, dc_layer_add(), 2, (int[]){e, p}) >= 0);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    float emb[V * D], table[L * D];
    for (int i = 0; i < V * D; i++)
        emb[i] = 0.1f * (float)i;
    for (int i = 0; i < L * D; i++)
        table[i] = -1.0f - (float)i;
    assert_int_equal(dc_model_set_weight(m, 0, 0, emb, V * D), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 1, 0, table, L * D), DC_OK);
    dc_tensor *x = dc_tensor_from(2, (int[]){2, T}, (float[]){1, 2, 3, 4, 5, 0, 2, 1}), *y = NULL;
    assert_int_equal(dc_model_predict(m, x, 2, &y), DC_OK);
    assert_int_equal(y->size, 2 * T * D);
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                int tok = (int)x->data[b * T + t];
                assert_float_equal(y->data[(b * T + t) * D + d], emb[tok * D + d] + table[t * D + d], 1e-6);
            }
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    /* more steps than sequence_length */
    m = dc_functional_new(2, (int[]){6, 3});
    assert_true(dc_model_apply(m, dc_layer_position_embedding(5), DC_MODEL_INPUT) >= 0);
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("more than sequence_length 5");
    dc_model_free(m);
}

/* Embedding(mask_zero) -> MultiHeadAttention(x, x) in a functional model:
 * the model hands the layer the embedding's mask, so the padding token's
 * embedding row cannot reach any unpadded position's output; without
 * mask_zero it does.  Then one training step runs and moves the weights. */
static dc_model *masked_mha_model(int mask_zero)
{
    dc_model *m = dc_functional_new(1, (int[]){6});
    int e = dc_model_apply(m, dc_layer_embedding(8, 8, mask_zero), DC_MODEL_INPUT);
    dc_mha_config c = dc_mha_defaults(2, 4);
    assert_true(dc_model_merge(m, dc_layer_multi_head_attention_ex(&c), 2, (int[]){e, e}) >= 0);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    return m;
}

static void test_mha_model_masks(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_from(2, (int[]){2, 6}, (float[]){3, 1, 4, 0, 0, 0, 5, 2, 6, 7, 1, 0}), *y[2] = {0},
              *y2[2] = {0};
    for (int mz = 0; mz < 2; mz++) {
        dc_model *m = masked_mha_model(mz);
        assert_int_equal(dc_model_predict(m, x, 2, &y[mz]), DC_OK);
        float row0[8] = {5, -4, 3, -2, 1, 0, -1, 2};
        dc_tensor *emb = NULL;
        assert_int_equal(dc_model_get_weight(m, 0, 0, &emb), DC_OK);
        memcpy(emb->data, row0, sizeof row0); /* a new embedding for the padding token 0 */
        assert_int_equal(dc_model_set_weight(m, 0, 0, emb->data, emb->size), DC_OK);
        dc_tensor_free(emb);
        assert_int_equal(dc_model_predict(m, x, 2, &y2[mz]), DC_OK);
        int changed = 0;
        for (int r = 0; r < 12; r++)
            for (int d = 0; d < 8 && x->data[r] != 0; d++)
                changed |= y[mz]->data[r * 8 + d] != y2[mz]->data[r * 8 + d];
        if (changed != !mz)
            fail_msg("mask_zero %d: the unpadded outputs %s when the padding token's embedding changed", mz,
                     changed ? "changed" : "did not change");
        dc_tensor *t = dc_tensor_new(3, (int[]){2, 6, 8});
        for (size_t i = 0; i < t->size; i++)
            t->data[i] = 0.1f * (float)(i % 7);
        double loss = 0;
        dc_tensor *before = NULL, *after = NULL;
        assert_int_equal(dc_model_get_weight(m, 1, 0, &before), DC_OK);
        assert_int_equal(dc_model_train_on_batch(m, x, t, NULL, &loss, 1), DC_OK);
        assert_int_equal(dc_model_get_weight(m, 1, 0, &after), DC_OK);
        assert_true(isfinite(loss) && memcmp(before->data, after->data, before->size * sizeof(float)) != 0);
        dc_tensor_free(before);
        dc_tensor_free(after);
        dc_tensor_free(t);
        dc_model_free(m);
    }
    for (int i = 0; i < 2; i++) {
        dc_tensor_free(y[i]);
        dc_tensor_free(y2[i]);
    }
    dc_tensor_free(x);
}

/* return_attention_scores: MultiHeadAttention's probabilities (N, H, Tq, Tk)
 * from a model: 0 at padded keys, rows of unpadded queries summing to 1,
 * rows of padded queries all 0 (Keras 3's Softmax(mask)); errors. */
static void test_attention_scores(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_from(2, (int[]){3, 6}, (float[]){3, 1, 4, 0, 0, 0, 5, 2, 6, 7, 1, 0, 1, 1, 1, 1, 1, 1});
    dc_tensor *s = NULL;
    dc_model *m = masked_mha_model(1);
    assert_int_equal(dc_model_attention_scores(m, 1, x, &s), DC_OK);
    assert_int_equal(s->ndim, 4);
    assert_int_equal(s->shape[0], 3);
    assert_int_equal(s->shape[1], 2);
    assert_int_equal(s->shape[2], 6);
    assert_int_equal(s->shape[3], 6);
    for (int b = 0; b < 3; b++)
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 6; i++) {
                double sum = 0;
                for (int j = 0; j < 6; j++) {
                    float v = s->data[((b * 2 + h) * 6 + i) * 6 + j];
                    if (x->data[b * 6 + j] == 0)
                        assert_float_equal(v, 0.0f, 0.0f);
                    sum += v;
                }
                assert_float_equal(sum, x->data[b * 6 + i] != 0 ? 1.0 : 0.0, 1e-5);
            }
    dc_tensor_free(s);
    assert_int_not_equal(dc_model_attention_scores(m, 0, x, &s), DC_OK);
    assert_errmsg_contains("computes no attention scores");
    assert_int_not_equal(dc_model_attention_scores(m, 2, x, &s), DC_OK);
    assert_errmsg_contains("layers 0 to 1");
    dc_model_free(m);
    dc_tensor_free(x);
}

/* ---- batched matmul: the threaded paths against a plain loop ---- */

/* a (nb, m, k) or broadcast (m, k), b (nb, k, n): y and both gradients of
 * sum(y * r) by loops in double, against the op at a size that threads. */
static void check_bmm_large(int trans_a, int trans_b, int a_shared)
{
    enum { NB = 6, M = 40, K = 33, N = 37 };
    dc_graph *g = dc_graph_new();
    int ashape[3] = {NB, trans_a ? K : M, trans_a ? M : K}, bshape[3] = {NB, trans_b ? N : K, trans_b ? K : N};
    dc_node *a = a_shared ? dc_param(g, 2, ashape + 1, (dc_init){DC_INIT_RANDOM_UNIFORM, -1, 1}, "a")
                          : dc_param(g, 3, ashape, (dc_init){DC_INIT_RANDOM_UNIFORM, -1, 1}, "a");
    dc_node *b = dc_param(g, 3, bshape, (dc_init){DC_INIT_RANDOM_UNIFORM, -1, 1}, "b");
    dc_node *y = dc_batched_matmul(g, a, b, trans_a, trans_b);
    assert_non_null(y);
    dc_node *r = dc_param_ex(g, 3, (int[]){NB, M, N}, (dc_init){DC_INIT_RANDOM_UNIFORM, -1, 1}, "r", 0);
    dc_node *loss = dc_sum(g, dc_mul(g, y, r));
    dc_rng rng;
    dc_rng_seed(&rng, 5);
    assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    size_t asz = dc_node_size(a), bsz = dc_node_size(b), ysz = (size_t)NB * M * N;
    double *wy = calloc(ysz, sizeof(double)), *ga = calloc(asz, sizeof(double)), *gb = calloc(bsz, sizeof(double));
    float *fy = malloc(ysz * sizeof(float)), *fga = malloc(asz * sizeof(float)), *fgb = malloc(bsz * sizeof(float));
    for (int s = 0; s < NB; s++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                for (int p = 0; p < K; p++) {
                    size_t ia = (a_shared ? 0 : (size_t)s * M * K) + (trans_a ? (size_t)p * M + i : (size_t)i * K + p);
                    size_t ib = (size_t)s * K * N + (trans_b ? (size_t)j * K + p : (size_t)p * N + j);
                    size_t iy = ((size_t)s * M + i) * N + j;
                    wy[iy] += (double)a->val[ia] * b->val[ib];
                    ga[ia] += (double)r->val[iy] * b->val[ib];
                    gb[ib] += (double)r->val[iy] * a->val[ia];
                }
    for (size_t i = 0; i < ysz; i++)
        fy[i] = (float)wy[i];
    for (size_t i = 0; i < asz; i++)
        fga[i] = (float)ga[i];
    for (size_t i = 0; i < bsz; i++)
        fgb[i] = (float)gb[i];
    assert_close(y->val, fy, ysz, 1e-5, 1e-4, "batched_matmul forward");
    assert_close(a->grad, fga, asz, 1e-5, 1e-4, "batched_matmul d/da");
    assert_close(b->grad, fgb, bsz, 1e-5, 1e-4, "batched_matmul d/db");
    free(wy), free(ga), free(gb), free(fy), free(fga), free(fgb);
    dc_graph_free(g);
}

static void test_bmm_threaded_paths(void **state)
{
    (void)state;
    for (int v = 0; v < 8; v++)
        check_bmm_large(v & 1, v >> 1 & 1, v >> 2 & 1);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *a = dc_input(g, 1, 2, (int[]){3, 4}, "a"), *b = dc_input(g, 1, 2, (int[]){5, 4}, "b");
    assert_null(dc_batched_matmul(g, a, b, 0, 0));
    assert_errmsg_contains("inner sizes 4 and 5 differ");
    assert_non_null(dc_batched_matmul(g, a, b, 0, 1));
    dc_node *h = dc_input(g, 1, 3, (int[]){2, 3, 4}, "h");
    assert_null(dc_batched_matmul(g, a, h, 0, 1)); /* batch axis of a meets h's axis of size 2 */
    assert_errmsg_contains("batch axis");
    assert_null(dc_softmax_axis(g, a, 0, NULL, DC_SOFTMAX_MASK_NONE));
    assert_errmsg_contains("the batch axis");
    assert_null(dc_softmax_axis(g, a, -1, dc_input(g, 0, 1, (int[]){3}, "m"), DC_SOFTMAX_MASK_BOOL));
    assert_errmsg_contains("does not broadcast");
    assert_null(dc_attention_mask(g, dc_input(g, 1, 1, (int[]){4}, "ids"), NULL, NULL, NULL, 3, 5, 0));
    assert_errmsg_contains("query mask has shape");
    dc_graph_free(g);

    dc_mha_config c = dc_mha_defaults(0, 4);
    assert_null(dc_layer_multi_head_attention_ex(&c));
    assert_errmsg_contains("num_heads");
    c = dc_mha_defaults(2, 4);
    c.dropout = 1.0f;
    assert_null(dc_layer_multi_head_attention_ex(&c));
    assert_errmsg_contains("dropout");

    /* a model: one input is too few; a 2-D query is refused with its shape */
    dc_model *m = dc_functional_new(2, (int[]){5, 4});
    assert_true(dc_model_merge(m, dc_layer_multi_head_attention(2, 2), 1, (int[]){DC_MODEL_INPUT}) < 0);
    dc_model_free(m);
    m = dc_functional_new(1, (int[]){4});
    int k = dc_model_input(m, 1, (int[]){4});
    assert_true(dc_model_merge(m, dc_layer_multi_head_attention(2, 2), 2, (int[]){DC_MODEL_INPUT, k}) >= 0);
    assert_int_not_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    assert_errmsg_contains("expected (batch, steps, features)");
    dc_model_free(m);
}

/* A layer config as a built Keras 3 MultiHeadAttention writes it
 * (get_config after build: attention_axes [1], the initialisers as
 * objects), in a Sequential-free functional file of two inputs. */
static void test_mha_keras_config(void **state)
{
    (void)state;
    static const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": [{\"class_name\": "
        "\"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 4], \"name\": \"q\"}, \"name\": \"q\", "
        "\"inbound_nodes\": []}, {\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 6], "
        "\"name\": \"v\"}, \"name\": \"v\", \"inbound_nodes\": []}, {\"module\": \"keras.layers\", "
        "\"class_name\": \"MultiHeadAttention\", \"config\": {\"name\": \"mha\", \"trainable\": true, "
        "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": "
        "\"float32\"}, \"registered_name\": null}, \"num_heads\": 2, \"key_dim\": 3, \"value_dim\": 3, "
        "\"dropout\": 0.0, \"use_bias\": true, \"use_gate\": false, \"output_shape\": null, "
        "\"attention_axes\": [1], \"sliding_window\": null, \"kernel_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}, "
        "\"registered_name\": null}, \"bias_initializer\": {\"module\": \"keras.initializers\", "
        "\"class_name\": \"Zeros\", \"config\": {}, \"registered_name\": null}, \"kernel_regularizer\": null, "
        "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, "
        "\"bias_constraint\": null, \"seed\": null}, \"name\": \"mha\", \"inbound_nodes\": [{\"args\": "
        "[[{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 5, 4], \"keras_history\": "
        "[\"q\", 0, 0]}}, {\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 3, 6], "
        "\"keras_history\": [\"v\", 0, 0]}}]], \"kwargs\": {}}]}], \"input_layers\": [[\"q\", 0, 0], [\"v\", 0, "
        "0]], \"output_layers\": [[\"mha\", 0, 0]]}}";
    dc_model *m = NULL;
    if (dc_model_from_json(json, strlen(json), &m) != DC_OK)
        fail_msg("from_json: %s", dc_errmsg());
    assert_int_equal(dc_model_param_count(m), (4 * 6 + 6) + (6 * 6 + 6) + (6 * 6 + 6) + (6 * 4 + 4));
    dc_model_free(m);
    /* attention over another axis is refused, naming the key */
    char *bad = strdup(json), *at = strstr(bad, "\"attention_axes\": [1]");
    memcpy(at, "\"attention_axes\": [2]", strlen("\"attention_axes\": [2]"));
    assert_int_not_equal(dc_model_from_json(bad, strlen(bad), &m), DC_OK);
    assert_errmsg_contains("attention_axes");
    free(bad);
}

static int setup(void **state)
{
    *state = fx_load("attention/attention.txt");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mha_against_pytorch),
        cmocka_unit_test(test_attention_against_pytorch),
        cmocka_unit_test(test_dot_against_pytorch),
        cmocka_unit_test(test_position_embedding),
        cmocka_unit_test(test_mha_model_masks),
        cmocka_unit_test(test_attention_scores),
        cmocka_unit_test(test_mha_keras_config),
        cmocka_unit_test(test_bmm_threaded_paths),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
