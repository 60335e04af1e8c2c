/*
 * attn_cases.h - part of tests/test_onnx_export.c (included once, after
 * layer_cases.h): the attention layers (MultiHeadAttention, Attention,
 * AdditiveAttention, PositionEmbedding, Dot), issue 19's Transformer text
 * classifier, the depthwise, separable and grouped convolutions and
 * LogSoftmax, each compared with ONNX Runtime by the test's main.
 * Masks: Embedding(mask_zero) inputs (rand_ids pads some rows at the start,
 * some at the end, some with holes), the causal mask and an attention-mask
 * input.
 */

/* Compiles and randomises functional model m and queues it with its inputs. */
static void add_functional(suite *s, const char *name, dc_model *m, int n_in, dc_tensor **xs, int classify)
{
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK) {
        fail(s, "%s: compile: %s", name, dc_errmsg());
        dc_model_free(m);
        for (int k = 0; k < n_in; k++)
            dc_tensor_free(xs[k]);
        return;
    }
    randomize(s, m);
    add_case(s, name, m, n_in, xs, classify, NULL);
}

/* Keras' "Text classification with Transformer" encoder block on x (T, dim):
 * MultiHeadAttention (self), Dropout, Add + LayerNormalization, Dense(ff,
 * gelu), Dense(dim), Dropout, Add + LayerNormalization. */
static int encoder_block(dc_model *m, int x, const dc_mha_config *mc, int ff, int dim)
{
    int a = dc_model_merge(m, dc_layer_multi_head_attention_ex(mc), 2, V(x, x));
    a = dc_model_apply(m, dc_layer_dropout(0.1f), a);
    int o1 = dc_model_apply(m, dc_layer_layer_normalization(), dc_model_merge(m, dc_layer_add(), 2, V(x, a)));
    int f = dc_model_apply(m, dc_layer_dense(ff, "gelu"), o1);
    f = dc_model_apply(m, dc_layer_dense(dim, NULL), f);
    f = dc_model_apply(m, dc_layer_dropout(0.1f), f);
    return dc_model_apply(m, dc_layer_layer_normalization(), dc_model_merge(m, dc_layer_add(), 2, V(o1, f)));
}

/* Token Embedding + PositionEmbedding (added) on ids (T). */
static int token_and_position(dc_model *m, int ids, int vocab, int dim, int mask_zero, int seq_len)
{
    int tok = dc_model_apply(m, dc_layer_embedding(vocab, dim, mask_zero), ids);
    int pos = dc_model_apply(m, dc_layer_position_embedding(seq_len), tok);
    return dc_model_merge(m, dc_layer_add(), 2, V(tok, pos));
}

static void attention_models(suite *s)
{
    /* issue 19's classifier: ids (16) -> embedding 16 + positions -> encoder
     * block (2 heads, feed-forward 32) -> GlobalAveragePooling1D -> Dropout
     * -> Dense(2, softmax) */
    dc_model *m = dc_functional_new(1, V(16));
    dc_mha_config mc = dc_mha_defaults(2, 16);
    int x = encoder_block(m, token_and_position(m, DC_MODEL_INPUT, 50, 16, 0, 16), &mc, 32, 16);
    x = dc_model_apply(m, dc_layer_global_average_pooling1d(), x);
    x = dc_model_apply(m, dc_layer_dropout(0.1f), x);
    dc_model_apply(m, dc_layer_dense(2, "softmax"), x);
    dc_tensor *ids = rand_ids(s, 6, 16, 50, 0);
    add_functional(s, "transformer_classifier", m, 1, &ids, 1);

    /* a causal decoder block on padded ids (mask_zero: query, value and key
     * masks), a table longer than the sequence, per-step outputs */
    m = dc_functional_new(1, V(12));
    mc = dc_mha_defaults(2, 8);
    mc.use_causal_mask = 1;
    x = encoder_block(m, token_and_position(m, DC_MODEL_INPUT, 30, 12, 1, 20), &mc, 16, 12);
    dc_model_apply(m, dc_layer_dense(5, NULL), x);
    ids = rand_ids(s, 6, 12, 30, 1);
    add_functional(s, "transformer_causal_masked", m, 1, &ids, 0);

    /* cross attention: query ids (5) and value ids (7) with mask_zero, a key
     * of its own, an attention-mask input (5, 7); 3 heads, value_dim 5, no
     * bias, output_shape (2, 3) */
    m = dc_functional_new(1, V(5));
    int vin = dc_model_input(m, 1, V(7)), kin = dc_model_input(m, 2, V(7, 4)), amin = dc_model_input(m, 2, V(5, 7));
    int q = dc_model_apply(m, dc_layer_embedding(9, 6, 1), DC_MODEL_INPUT);
    int v = dc_model_apply(m, dc_layer_embedding(9, 3, 1), vin);
    mc = dc_mha_defaults(3, 4);
    mc.value_dim = 5;
    mc.use_bias = 0;
    mc.output_ndim = 2;
    mc.output_shape[0] = 2;
    mc.output_shape[1] = 3;
    dc_model_merge(m, dc_layer_multi_head_attention_ex(&mc), 4, V(q, v, kin, amin));
    dc_tensor *xs[4] = {rand_ids(s, 6, 5, 9, 1), rand_ids(s, 6, 7, 9, 1), X(6, 2, 7, 4), dc_tensor_new(3, V(6, 5, 7))};
    for (size_t i = 0; i < xs[3]->size; i++)
        xs[3]->data[i] = dc_rng_uniform(&s->rng) < 0.7f ? 1.0f : 0.0f;
    add_functional(s, "mha_cross_masks", m, 4, xs, 0);

    /* MultiHeadAttention with bias, float inputs, query 4 steps and value 6 */
    m = dc_functional_new(2, V(4, 5));
    vin = dc_model_input(m, 2, V(6, 3));
    dc_model_merge(m, dc_layer_multi_head_attention(2, 3), 2, V(DC_MODEL_INPUT, vin));
    dc_tensor *two[2] = {X(5, 2, 4, 5), X(5, 2, 6, 3)};
    add_functional(s, "mha_cross_float", m, 2, two, 0);

    /* Attention: dot with a scale, causal, query and value masks; concat
     * with a key input; AdditiveAttention with and without its scale */
    struct {
        const char *name;
        int additive, use_scale, causal, key;
        const char *mode;
    } at[] = {
        {"attention_dot_scale_causal_masked", 0, 1, 1, 0, "dot"},
        {"attention_dot_key", 0, 0, 0, 1, "dot"},
        {"attention_concat_scale_masked", 0, 1, 0, 0, "concat"},
        {"attention_concat_key", 0, 0, 1, 1, "concat"},
        {"additive_attention_masked", 1, 1, 0, 0, NULL},
        {"additive_attention_noscale_key_causal", 1, 0, 1, 1, NULL},
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        dc_attention_config ac = {.use_scale = at[i].use_scale, .score_mode = at[i].mode,
                                  .use_causal_mask = at[i].causal};
        dc_layer *l = at[i].additive ? dc_layer_additive_attention_ex(&ac) : dc_layer_attention_ex(&ac);
        m = dc_functional_new(1, V(6));
        vin = dc_model_input(m, 1, V(8));
        kin = at[i].key ? dc_model_input(m, 2, V(8, 4)) : 0;
        q = dc_model_apply(m, dc_layer_embedding(9, 4, 1), DC_MODEL_INPUT);
        v = dc_model_apply(m, dc_layer_embedding(9, 4, 1), vin);
        if (at[i].key) {
            dc_model_merge(m, l, 3, V(q, v, kin));
        } else {
            dc_model_merge(m, l, 2, V(q, v));
        }
        dc_tensor *in3[3] = {rand_ids(s, 6, 6, 9, 1), rand_ids(s, 6, 8, 9, 1), at[i].key ? X(6, 2, 8, 4) : NULL};
        add_functional(s, at[i].name, m, at[i].key ? 3 : 2, in3, 0);
    }

    /* Dot: (B, k) with normalize, (B, m, k) . (B, n, k) on the last axes,
     * axes (1, 1) normalised, (2, 1) */
    struct {
        const char *name;
        int ndim, sa[2], sb[2], ax[2], normalize;
    } dots[] = {
        {"dot_2d_normalize", 1, {5, 0}, {5, 0}, {1, 1}, 1},
        {"dot_3d_last", 2, {4, 3}, {5, 3}, {-1, -1}, 0},
        {"dot_3d_axes11_normalize", 2, {4, 3}, {4, 5}, {1, 1}, 1},
        {"dot_3d_axes21", 2, {4, 3}, {3, 5}, {2, 1}, 0},
    };
    for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
        m = dc_functional_new(dots[i].ndim, dots[i].sa);
        int b = dc_model_input(m, dots[i].ndim, dots[i].sb);
        dc_model_merge(m, dc_layer_dot(dots[i].ax[0], dots[i].ax[1], dots[i].normalize), 2, V(DC_MODEL_INPUT, b));
        dc_tensor *d2[2] = {rand_x(s, 5, dots[i].ndim, dots[i].sa, -1, 1), rand_x(s, 5, dots[i].ndim, dots[i].sb, -1, 1)};
        add_functional(s, dots[i].name, m, 2, d2, 0);
    }

    /* DepthwiseConv2D (multiplier 2, same, strides 2, relu; dilated, valid,
     * no bias), SeparableConv2D (relu inside the pointwise conv; tanh),
     * Conv2D and Conv1D with groups */
    dc_depthwise_config dw = dc_depthwise_defaults(3, 3);
    dw.depth_multiplier = 2;
    dw.padding = DC_PADDING_SAME;
    dw.strides[0] = dw.strides[1] = 2;
    dw.activation = "relu";
    dc_depthwise_config dw2 = dc_depthwise_defaults(2, 3);
    dw2.dilation[0] = dw2.dilation[1] = 2;
    dw2.use_bias = 0;
    add_random(s, "depthwise_conv2d",
               seq_model(3, V(12, 11, 3), dc_layer_depthwise_conv2d_ex(&dw), dc_layer_depthwise_conv2d_ex(&dw2), NULL),
               X(3, 3, 12, 11, 3));
    dc_depthwise_config sp = dc_depthwise_defaults(3, 3);
    sp.filters = 5;
    sp.depth_multiplier = 2;
    sp.padding = DC_PADDING_SAME;
    sp.activation = "relu";
    add_random(s, "separable_conv2d",
               seq_model(3, V(7, 7, 3), dc_layer_separable_conv2d_ex(&sp), dc_layer_separable_conv2d(4, 2, 2, "tanh"),
                         NULL),
               X(3, 3, 7, 7, 3));
    dc_conv_config gc = dc_conv_defaults(6, 3, 3);
    gc.groups = 2;
    gc.padding = DC_PADDING_SAME;
    gc.activation = "relu";
    dc_conv_config gc1 = dc_conv_defaults(4, 3, 1);
    gc1.groups = 2;
    add_random(s, "conv2d_groups", seq_model(3, V(6, 5, 4), dc_layer_conv2d_ex(&gc), NULL), X(3, 3, 6, 5, 4));
    add_random(s, "conv1d_groups", seq_model(2, V(9, 4), dc_layer_conv1d_ex(&gc1), NULL), X(3, 2, 9, 4));

    /* LogSoftmax on (B, k) and on (B, T, k) */
    add_random(s, "log_softmax",
               seq_model(2, V(3, 4), dc_layer_dense(5, NULL), dc_layer_log_softmax(), dc_layer_flatten(),
                         dc_layer_dense(6, NULL), dc_layer_log_softmax(), NULL),
               X(4, 2, 3, 4));
}
