/*
 * test_generate.c - the KV-cache decoder and the sampler (src/model/generate.c).
 *
 * A small decoder-only Transformer (vocabulary 7, 6 positions, dim 8, 2
 * heads, 2 blocks, GELU and ReLU feed-forwards), compiled with its random
 * initial weights and with biases and norms made non-trivial by
 * dc_model_set_weight: the decoder's step-by-step probabilities must equal
 * predict's over the whole sequence (the model's own forward, batched
 * matmul and masked softmax) at every position.  Then the error paths (a
 * token out of range, the context full, a spec naming a missing layer or
 * the wrong kind, bad n_blocks and epsilon), and the sampler: top_k 1 is
 * the argmax, top_k 2 never draws a third token, frequencies follow the
 * tempered softmax, bad temperature / top_k / NaN are refused.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

enum { V = 7, T = 6, DIM = 8, HEADS = 2, KD = 4, FF = 12 };

static dc_model *tiny_model(dc_act act)
{
    dc_model *m = dc_functional_new(1, (int[]){T});
    int tok = dc_model_apply(m, dc_layer_embedding(V, DIM, 0), DC_MODEL_INPUT);
    int pos = dc_model_apply(m, dc_layer_position_embedding(T), tok);
    int h = dc_model_merge(m, dc_layer_add(), 2, (int[]){tok, pos});
    dc_layer_norm_config lc = dc_layer_norm_defaults();
    lc.epsilon = 1e-5f;
    for (int b = 0; b < 2; b++) {
        dc_mha_config mc = dc_mha_defaults(HEADS, KD);
        mc.use_causal_mask = 1;
        int a = dc_model_merge(m, dc_layer_multi_head_attention_ex(&mc), 2, (int[]){h, h});
        h = dc_model_apply(m, dc_layer_layer_normalization_ex(&lc), dc_model_merge(m, dc_layer_add(), 2, (int[]){h, a}));
        int f = dc_model_apply(m, dc_layer_dense(FF, act == DC_ACT_GELU ? "gelu" : "relu"), h);
        f = dc_model_apply(m, dc_layer_dense(DIM, NULL), f);
        h = dc_model_apply(m, dc_layer_layer_normalization_ex(&lc), dc_model_merge(m, dc_layer_add(), 2, (int[]){h, f}));
    }
    dc_model_apply(m, dc_layer_dense(V, "softmax"), h);
    dc_model_set_seed(m, 3);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    /* every weight of every layer perturbed (zero biases, unit gammas would hide mistakes) */
    dc_rng rng;
    dc_rng_seed(&rng, 9);
    for (int l = 0; l < dc_model_layer_count(m); l++)
        for (int w = 0;; w++) {
            dc_tensor *t = NULL;
            if (dc_model_get_weight(m, l, w, &t) != DC_OK)
                break;
            for (size_t i = 0; i < t->size; i++)
                t->data[i] += 0.3f * (2.0f * dc_rng_uniform(&rng) - 1.0f);
            assert_int_equal(dc_model_set_weight(m, l, w, t->data, t->size), DC_OK);
            dc_tensor_free(t);
        }
    return m;
}

static dc_decoder_spec spec_of(const dc_model *m, dc_act act)
{
    dc_decoder_spec s = {0};
    s.token_embedding = dc_model_layer_name(m, 0);
    s.position_embedding = dc_model_layer_name(m, 1);
    s.n_blocks = 2;
    for (int b = 0; b < 2; b++) {
        int at = 3 + 7 * b;
        s.blocks[b] = (dc_decoder_block_names){dc_model_layer_name(m, at), dc_model_layer_name(m, at + 2),
                                               dc_model_layer_name(m, at + 3), dc_model_layer_name(m, at + 4),
                                               dc_model_layer_name(m, at + 6)};
    }
    s.head = dc_model_layer_name(m, 17);
    s.ffn_activation = act;
    s.norm_epsilon = 1e-5f;
    return s;
}

static void check_against_predict(dc_act act)
{
    dc_model *m = tiny_model(act);
    dc_decoder_spec s = spec_of(m, act);
    dc_decoder *d = dc_decoder_new(m, &s);
    assert_non_null(d);
    assert_int_equal(dc_decoder_vocab(d), V);
    assert_int_equal(dc_decoder_max_len(d), T);
    static const float seqs[3][T] = {{1, 4, 2, 6, 3, 5}, {0, 0, 1, 1, 6, 2}, {5, 3, 3, 3, 0, 4}};
    dc_tensor *x = dc_tensor_from(2, (int[]){3, T}, &seqs[0][0]), *p = NULL;
    assert_int_equal(dc_model_predict(m, x, 3, &p), DC_OK);
    for (int r = 0; r < 3; r++) {
        dc_decoder_reset(d);
        for (int t = 0; t < T; t++) {
            float logits[V], mx = -INFINITY, sum = 0.0f, probs[V];
            assert_int_equal(dc_decoder_step(d, (int)seqs[r][t], logits), DC_OK);
            for (int c = 0; c < V; c++)
                mx = fmaxf(mx, logits[c]);
            for (int c = 0; c < V; c++)
                sum += expf(logits[c] - mx);
            for (int c = 0; c < V; c++)
                probs[c] = expf(logits[c] - mx) / sum;
            assert_close(probs, p->data + ((size_t)r * T + t) * V, V, 1e-4, 1e-6, "decoder step vs predict");
        }
        float logits[V];
        assert_int_equal(dc_decoder_step(d, 1, logits), DC_ERR_RANGE); /* the context is full */
        assert_errmsg_contains("reset");
    }
    float logits[V];
    dc_decoder_reset(d);
    assert_int_equal(dc_decoder_step(d, V, logits), DC_ERR_RANGE);
    assert_errmsg_contains("token 7, expected in [0, 7)");
    assert_int_equal(dc_decoder_step(d, -1, logits), DC_ERR_RANGE);
    dc_decoder_free(d);
    dc_tensor_free(x);
    dc_tensor_free(p);
    dc_model_free(m);
}

static void test_decoder_gelu(void **state)
{
    (void)state;
    check_against_predict(DC_ACT_GELU);
}

static void test_decoder_relu(void **state)
{
    (void)state;
    check_against_predict(DC_ACT_RELU);
}

static void test_decoder_bad_specs(void **state)
{
    (void)state;
    dc_model *m = tiny_model(DC_ACT_GELU);
    dc_decoder_spec s = spec_of(m, DC_ACT_GELU);
    s.blocks[1].attention = "no_such_layer";
    assert_null(dc_decoder_new(m, &s));
    assert_errmsg_contains("no layer \"no_such_layer\"");
    s = spec_of(m, DC_ACT_GELU);
    s.blocks[0].norm1 = s.blocks[0].ffn_in; /* a Dense where a LayerNormalization belongs */
    assert_null(dc_decoder_new(m, &s));
    assert_errmsg_contains("not what a decoder block needs");
    s = spec_of(m, DC_ACT_GELU);
    s.n_blocks = 0;
    assert_null(dc_decoder_new(m, &s));
    assert_errmsg_contains("n_blocks 0");
    s = spec_of(m, DC_ACT_GELU);
    s.norm_epsilon = 0.0f;
    assert_null(dc_decoder_new(m, &s));
    assert_errmsg_contains("norm_epsilon");
    s = spec_of(m, DC_ACT_GELU);
    s.head = NULL;
    assert_null(dc_decoder_new(m, &s));
    dc_model_free(m);
}

static void test_sampler(void **state)
{
    (void)state;
    dc_rng rng;
    dc_rng_seed(&rng, 5);
    const float logits[5] = {0.5f, 2.0f, -1.0f, 1.5f, 0.0f};
    int tok, counts[5] = {0};
    for (int i = 0; i < 50; i++) {
        assert_int_equal(dc_sample_logits(logits, 5, 0.7f, 1, &rng, &tok), DC_OK);
        assert_int_equal(tok, 1);
    }
    for (int i = 0; i < 4000; i++) {
        assert_int_equal(dc_sample_logits(logits, 5, 1.0f, 2, &rng, &tok), DC_OK);
        counts[tok]++;
    }
    assert_int_equal(counts[0] + counts[2] + counts[4], 0);
    double p1 = 1.0 / (1.0 + exp(-0.5)); /* softmax over {2.0, 1.5} */
    assert_true(fabs(counts[1] / 4000.0 - p1) < 0.03);
    memset(counts, 0, sizeof counts);
    for (int i = 0; i < 4000; i++) {
        assert_int_equal(dc_sample_logits(logits, 5, 2.0f, 0, &rng, &tok), DC_OK);
        counts[tok]++;
    }
    double z = 0.0;
    for (int c = 0; c < 5; c++)
        z += exp(logits[c] / 2.0);
    for (int c = 0; c < 5; c++)
        assert_true(fabs(counts[c] / 4000.0 - exp(logits[c] / 2.0) / z) < 0.03);
    assert_int_equal(dc_sample_logits(logits, 5, 0.0f, 0, &rng, &tok), DC_ERR_ARG);
    assert_errmsg_contains("temperature");
    assert_int_equal(dc_sample_logits(logits, 5, INFINITY, 0, &rng, &tok), DC_ERR_ARG);
    assert_int_equal(dc_sample_logits(logits, 5, 1.0f, -1, &rng, &tok), DC_ERR_ARG);
    assert_errmsg_contains("top_k -1");
    assert_int_equal(dc_sample_logits(logits, 0, 1.0f, 0, &rng, &tok), DC_ERR_ARG);
    const float bad[2] = {0.0f, NAN};
    assert_int_equal(dc_sample_logits(bad, 2, 1.0f, 0, &rng, &tok), DC_ERR_NAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder_gelu),
        cmocka_unit_test(test_decoder_relu),
        cmocka_unit_test(test_decoder_bad_specs),
        cmocka_unit_test(test_sampler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
