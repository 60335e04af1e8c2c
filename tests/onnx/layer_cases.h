/*
 * layer_cases.h - part of tests/test_onnx_export.c (included once, after
 * its helpers): small models covering every exportable layer class and its
 * variants, the errors of dc_model_save_onnx, and the names a config asks
 * for.  Each model is queued with add_random / add_case and compared with
 * ONNX Runtime by the test's main.
 */

static dc_layer *conv2d_cfg(int f, int kh, int kw, int sh, int sw, int dil, dc_padding pad, const char *act, int bias)
{
    dc_conv_config c = dc_conv_defaults(f, kh, kw);
    c.strides[0] = sh;
    c.strides[1] = sw;
    c.dilation[0] = c.dilation[1] = dil;
    c.padding = pad;
    c.activation = act;
    c.use_bias = bias;
    return dc_layer_conv2d_ex(&c);
}

static dc_layer *conv1d_cfg(int f, int k, int s, int dil, dc_padding pad)
{
    dc_conv_config c = dc_conv_defaults(f, k, 1);
    c.strides[0] = s;
    c.dilation[0] = dil;
    c.padding = pad;
    c.activation = "tanh";
    return dc_layer_conv1d_ex(&c);
}

static dc_layer *rnn(dc_rnn_kind kind, int units, int seq, int back, const char *act, int reset_after)
{
    dc_rnn_config c = dc_rnn_defaults(kind, units);
    c.return_sequences = seq;
    c.go_backwards = back;
    c.activation = act;
    c.reset_after = reset_after;
    return dc_layer_rnn_ex(&c);
}

/* A functional model joining two (or three) inputs of `shape` with `merge`. */
static void merge_case(suite *s, const char *name, dc_layer *merge, int n_in, int ndim, const int *shape)
{
    dc_model *m = dc_functional_new(ndim, shape);
    int refs[3] = {DC_MODEL_INPUT, 0, 0};
    for (int k = 1; k < n_in; k++)
        refs[k] = dc_model_input(m, ndim, shape);
    int j = dc_model_merge(m, merge, n_in, refs);
    dc_model_apply(m, dc_layer_dense(3, NULL), j);
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK) {
        fail(s, "%s: compile: %s", name, dc_errmsg());
        dc_model_free(m);
        return;
    }
    randomize(s, m);
    dc_tensor *xs[3];
    for (int k = 0; k < n_in; k++)
        xs[k] = rand_x(s, 6, ndim, shape, -1.0f, 1.0f);
    add_case(s, name, m, n_in, xs, 0, NULL);
}

#define V(...) (int[]){__VA_ARGS__}
#define X(n, ndim, ...) rand_x(s, n, ndim, V(__VA_ARGS__), -1.0f, 1.0f)

static void layer_models(suite *s)
{
    dc_model *m;
    /* Dense on (steps, features); every activation, by Dense and Activation */
    add_random(s, "dense_3d", seq_model(2, V(5, 6), dc_layer_dense(4, "tanh"), NULL), X(7, 2, 5, 6));
    m = seq_model(1, V(6), dc_layer_dense(8, "relu"), dc_layer_dense(8, "sigmoid"), dc_layer_dense(8, "tanh"),
                  dc_layer_dense(8, "leaky_relu"), dc_layer_dense(8, "elu"), dc_layer_dense(8, "selu"),
                  dc_layer_dense(8, "gelu"), dc_layer_dense(8, "softplus"), dc_layer_dense(8, "swish"),
                  dc_layer_dense(8, NULL), dc_layer_activation("silu"), dc_layer_activation("gelu"),
                  dc_layer_dense(5, "softmax"), NULL);
    add_random(s, "activations", m, X(9, 1, 6));
    add_random(s, "reshape_permute_flatten",
               seq_model(2, V(4, 6), dc_layer_reshape(2, V(3, 8)), dc_layer_permute(2, V(2, 1)), dc_layer_flatten(),
                         dc_layer_dense(3, NULL), NULL),
               X(5, 2, 4, 6));

    /* convolutions: same / valid, strides, dilation, no bias, the fused ReLU */
    add_random(s, "conv2d_same_s2", seq_model(3, V(9, 7, 3), conv2d_cfg(5, 3, 3, 2, 2, 1, DC_PADDING_SAME, "relu", 1), NULL),
               X(4, 3, 9, 7, 3));
    add_random(s, "conv2d_dilated",
               seq_model(3, V(10, 9, 2), conv2d_cfg(4, 3, 2, 1, 1, 2, DC_PADDING_VALID, "elu", 1), NULL), X(4, 3, 10, 9, 2));
    add_random(s, "conv2d_nobias_same_s12",
               seq_model(3, V(8, 8, 3), conv2d_cfg(6, 2, 3, 1, 2, 1, DC_PADDING_SAME, NULL, 0), NULL), X(4, 3, 8, 8, 3));
    add_random(s, "conv1d",
               seq_model(2, V(20, 3), conv1d_cfg(4, 3, 2, 1, DC_PADDING_SAME), conv1d_cfg(5, 3, 1, 2, DC_PADDING_VALID),
                         NULL),
               X(4, 2, 20, 3));
    add_random(s, "conv2d_transpose",
               seq_model(3, V(5, 4, 3), dc_layer_conv2d_transpose(4, 3, 3, 2, DC_PADDING_SAME, "relu"),
                         dc_layer_conv2d_transpose(2, 3, 2, 2, DC_PADDING_VALID, NULL), NULL),
               X(3, 3, 5, 4, 3));
    dc_conv_config ct = dc_conv_defaults(3, 3, 3);
    ct.strides[0] = ct.strides[1] = 3;
    add_random(s, "conv2d_transpose_outpad",
               seq_model(3, V(4, 3, 2), dc_layer_conv2d_transpose_ex(&ct, V(2, 1)), NULL), X(3, 3, 4, 3, 2));
    add_random(s, "conv1d_transpose",
               seq_model(2, V(7, 3), dc_layer_conv1d_transpose(4, 3, 2, DC_PADDING_SAME, "tanh"),
                         dc_layer_conv1d_transpose(2, 4, 1, DC_PADDING_VALID, NULL), NULL),
               X(3, 2, 7, 3));

    /* pooling */
    add_random(s, "pool2d",
               seq_model(3, V(9, 9, 2), dc_layer_pooling2d_ex(1, 3, 3, 2, 2, DC_PADDING_SAME),
                         dc_layer_pooling2d_ex(0, 2, 2, 1, 1, DC_PADDING_SAME), dc_layer_average_pooling2d(2, 2),
                         dc_layer_max_pooling2d(2, 1), NULL),
               X(4, 3, 9, 9, 2));
    add_random(s, "pool1d",
               seq_model(2, V(11, 3), dc_layer_pooling1d_ex(1, 3, 2, DC_PADDING_SAME),
                         dc_layer_pooling1d_ex(0, 2, 1, DC_PADDING_SAME), dc_layer_average_pooling1d(2),
                         dc_layer_max_pooling1d(2), NULL),
               X(4, 2, 11, 3));
    add_random(s, "global_avg_pool2d", seq_model(3, V(5, 4, 3), dc_layer_global_average_pooling2d(), NULL), X(4, 3, 5, 4, 3));
    add_random(s, "global_max_pool2d", seq_model(3, V(5, 4, 3), dc_layer_global_max_pooling2d(), NULL), X(4, 3, 5, 4, 3));
    add_random(s, "global_avg_pool1d", seq_model(2, V(5, 3), dc_layer_global_average_pooling1d(), NULL), X(4, 2, 5, 3));
    add_random(s, "global_max_pool1d", seq_model(2, V(5, 3), dc_layer_global_max_pooling1d(), NULL), X(4, 2, 5, 3));

    /* normalisation: BatchNormalization (fused with the ReLU after it, and
     * on (batch, features)), LayerNormalization, Normalization */
    add_random(s, "batchnorm_relu",
               seq_model(3, V(6, 6, 2), dc_layer_conv2d(4, 3, 3, NULL), dc_layer_batch_normalization(),
                         dc_layer_activation("relu"), NULL),
               X(4, 3, 6, 6, 2));
    add_random(s, "batchnorm_dense",
               seq_model(1, V(5), dc_layer_dense(6, NULL), dc_layer_batch_normalization_ex(0.9f, 0.01f), NULL), X(6, 1, 5));
    dc_layer_norm_config lnc = dc_layer_norm_defaults();
    lnc.center = 0;
    lnc.epsilon = 0.01f;
    add_random(s, "layer_norm",
               seq_model(2, V(3, 6), dc_layer_layer_normalization(), dc_layer_dense(4, NULL),
                         dc_layer_layer_normalization_ex(&lnc), NULL),
               X(5, 2, 3, 6));
    dc_tensor *adapt = X(50, 1, 4);
    dc_layer *nl = dc_layer_normalization();
    if (dc_layer_normalization_adapt(nl, adapt) != DC_OK)
        fail(s, "normalization: adapt: %s", dc_errmsg());
    dc_tensor_free(adapt);
    add_random(s, "normalization",
               seq_model(1, V(4), nl, dc_layer_normalization_ex(1, (float[]){0.5f}, (float[]){2.0f}, 0),
                         dc_layer_normalization_ex(4, (float[]){1, 2, 3, 4}, (float[]){0.5f, 1, 0, 4}, 1), NULL),
               X(5, 1, 4));

    /* activation layers */
    add_random(s, "relu_layers",
               seq_model(1, V(7), dc_layer_dense(8, NULL), dc_layer_relu_ex(0.6f, 0.1f, 0.2f), dc_layer_dense(8, NULL),
                         dc_layer_relu_ex(INFINITY, 0.0f, 0.3f), dc_layer_dense(8, NULL), dc_layer_relu(),
                         dc_layer_dense(8, NULL), dc_layer_relu_ex(0.5f, 0.0f, 0.0f), dc_layer_dense(8, NULL),
                         dc_layer_leaky_relu(0.3f), dc_layer_dense(8, NULL), dc_layer_elu(0.7f), dc_layer_dense(8, NULL),
                         dc_layer_softmax(-1), NULL),
               X(6, 1, 7));
    add_random(s, "prelu",
               seq_model(3, V(4, 5, 3), dc_layer_prelu(),
                         dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0, 0, 2, V(1, 2)), NULL),
               X(4, 3, 4, 5, 3));
    add_random(s, "rescaling", seq_model(1, V(5), dc_layer_rescaling(1.0f / 255, -0.5f), NULL),
               rand_x(s, 4, 1, V(5), 0.0f, 255.0f));

    /* identity at inference: dropout, noise, augmentation */
    const float f2[2] = {-0.2f, 0.3f}, c2[2] = {0.2f, 0.4f}, vr[2] = {0.0f, 1.0f};
    add_random(s, "inference_identity",
               seq_model(3, V(6, 6, 3), dc_layer_random_flip(NULL), dc_layer_random_translation(f2, f2, NULL, NULL, 0),
                         dc_layer_random_rotation(f2, NULL, NULL, 0), dc_layer_random_zoom(f2, NULL, NULL, NULL, 0),
                         dc_layer_random_brightness(f2, vr), dc_layer_random_contrast(c2, vr), dc_layer_dropout(0.3f),
                         dc_layer_gaussian_noise(0.5f), dc_layer_gaussian_dropout(0.3f),
                         dc_layer_spatial_dropout2d(0.4f), dc_layer_reshape(2, V(36, 3)),
                         dc_layer_spatial_dropout1d(0.4f), NULL),
               rand_x(s, 3, 3, V(6, 6, 3), 0.0f, 1.0f));

    /* image-to-image */
    add_random(s, "upsampling",
               seq_model(3, V(3, 4, 2), dc_layer_upsampling2d(2, 3, NULL), dc_layer_upsampling2d(2, 2, "bilinear"), NULL),
               X(3, 3, 3, 4, 2));
    add_random(s, "upsampling1d", seq_model(2, V(5, 2), dc_layer_upsampling1d(3), NULL), X(3, 2, 5, 2));
    add_random(s, "padding_cropping2d",
               seq_model(3, V(5, 6, 2), dc_layer_zero_padding2d(1, 2, 0, 3), dc_layer_cropping2d(1, 0, 2, 1), NULL),
               X(3, 3, 5, 6, 2));
    add_random(s, "padding_cropping1d",
               seq_model(2, V(6, 2), dc_layer_zero_padding1d(2, 1), dc_layer_cropping1d(1, 3), NULL), X(3, 2, 6, 2));

    /* sequences: Embedding, RepeatVector, TimeDistributed, Masking */
    add_random(s, "embedding",
               seq_model(1, V(6), dc_layer_embedding(20, 4, 0), dc_layer_flatten(), dc_layer_dense(3, NULL), NULL),
               rand_ids(s, 5, 6, 20, 1));
    add_random(s, "repeat_vector", seq_model(1, V(4), dc_layer_repeat_vector(3), dc_layer_dense(2, NULL), NULL), X(5, 1, 4));
    add_random(s, "time_distributed_dense",
               seq_model(2, V(5, 4), dc_layer_time_distributed(dc_layer_dense(3, "relu")), NULL), X(4, 2, 5, 4));
    add_random(s, "time_distributed_conv",
               seq_model(4, V(3, 6, 6, 2), dc_layer_time_distributed(dc_layer_conv2d(3, 3, 3, "relu")),
                         dc_layer_time_distributed(dc_layer_max_pooling2d(2, 2)),
                         dc_layer_time_distributed(dc_layer_flatten()), dc_layer_lstm(4), NULL),
               X(3, 4, 3, 6, 6, 2));
    dc_tensor *mx = X(6, 2, 7, 3);
    for (int i = 0; i < 6; i++) /* some steps all 0: masked */
        for (int t = 0; t < 7; t++)
            if ((i + t) % 3 == 0)
                memset(mx->data + (i * 7 + t) * 3, 0, 3 * sizeof(float));
    add_random(s, "masking_lstm",
               seq_model(2, V(7, 3), dc_layer_masking(0.0f), rnn(DC_RNN_LSTM, 5, 1, 0, NULL, 1),
                         dc_layer_time_distributed(dc_layer_dense(2, NULL)), NULL),
               mx);

    /* recurrent layers: the ONNX ops (every kind, direction, output form) */
    add_random(s, "simple_rnn_relu_seq", seq_model(2, V(6, 3), rnn(DC_RNN_SIMPLE, 4, 1, 0, "relu", 1), NULL), X(5, 2, 6, 3));
    add_random(s, "simple_rnn_back", seq_model(2, V(6, 3), rnn(DC_RNN_SIMPLE, 4, 0, 1, NULL, 1), NULL), X(5, 2, 6, 3));
    add_random(s, "lstm_last", seq_model(2, V(6, 3), rnn(DC_RNN_LSTM, 5, 0, 0, NULL, 1), NULL), X(5, 2, 6, 3));
    add_random(s, "lstm_back_seq", seq_model(2, V(6, 3), rnn(DC_RNN_LSTM, 5, 1, 1, NULL, 1), NULL), X(5, 2, 6, 3));
    add_random(s, "gru_seq", seq_model(2, V(6, 3), rnn(DC_RNN_GRU, 4, 1, 0, NULL, 1), NULL), X(5, 2, 6, 3));
    add_random(s, "gru_reset_before_back", seq_model(2, V(6, 3), rnn(DC_RNN_GRU, 4, 1, 1, NULL, 0), NULL), X(5, 2, 6, 3));
    /* unrolled: a linear activation; masks from Embedding(mask_zero) */
    add_random(s, "gru_linear_unrolled", seq_model(2, V(5, 3), rnn(DC_RNN_GRU, 4, 1, 0, "linear", 1), NULL), X(5, 2, 5, 3));
    add_random(s, "lstm_linear_unrolled", seq_model(2, V(5, 3), rnn(DC_RNN_LSTM, 4, 0, 1, "linear", 1), NULL), X(5, 2, 5, 3));
    struct {
        const char *name;
        dc_rnn_kind kind;
        int seq, back, reset_after;
    } masked[] = {
        {"masked_simple_seq", DC_RNN_SIMPLE, 1, 0, 1}, {"masked_simple_back_last", DC_RNN_SIMPLE, 0, 1, 1},
        {"masked_lstm_back_seq", DC_RNN_LSTM, 1, 1, 1}, {"masked_lstm_last", DC_RNN_LSTM, 0, 0, 1},
        {"masked_gru_seq", DC_RNN_GRU, 1, 0, 1},       {"masked_gru_before_back", DC_RNN_GRU, 1, 1, 0},
        {"masked_gru_before_last", DC_RNN_GRU, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
        add_random(s, masked[i].name,
                   seq_model(1, V(7), dc_layer_embedding(9, 3, 1),
                             rnn(masked[i].kind, 4, masked[i].seq, masked[i].back, NULL, masked[i].reset_after), NULL),
                   rand_ids(s, 6, 7, 9, 1));
    add_random(s, "bidirectional_concat",
               seq_model(2, V(6, 3), dc_layer_bidirectional(rnn(DC_RNN_LSTM, 4, 1, 0, NULL, 1), NULL), NULL), X(5, 2, 6, 3));
    add_random(s, "bidirectional_sum",
               seq_model(2, V(6, 3), dc_layer_bidirectional(rnn(DC_RNN_GRU, 4, 0, 0, NULL, 1), "sum"), NULL), X(5, 2, 6, 3));
    add_random(s, "bidirectional_mul",
               seq_model(2, V(6, 3), dc_layer_bidirectional(rnn(DC_RNN_SIMPLE, 4, 1, 0, NULL, 1), "mul"), NULL),
               X(5, 2, 6, 3));
    add_random(s, "bidirectional_ave_masked",
               seq_model(1, V(7), dc_layer_embedding(9, 3, 1),
                         dc_layer_bidirectional(rnn(DC_RNN_LSTM, 4, 1, 0, NULL, 1), "ave"), NULL),
               rand_ids(s, 6, 7, 9, 1));
    add_random(s, "bidirectional_concat_masked_last",
               seq_model(1, V(7), dc_layer_embedding(9, 3, 1),
                         dc_layer_bidirectional(rnn(DC_RNN_GRU, 4, 0, 0, NULL, 1), NULL), NULL),
               rand_ids(s, 6, 7, 9, 1));

    /* merge layers, and a layer shared by two inputs */
    merge_case(s, "merge_add", dc_layer_add(), 2, 1, V(5));
    merge_case(s, "merge_subtract", dc_layer_subtract(), 2, 2, V(3, 4));
    merge_case(s, "merge_multiply", dc_layer_multiply(), 2, 1, V(5));
    merge_case(s, "merge_average", dc_layer_average(), 3, 1, V(5));
    merge_case(s, "merge_maximum", dc_layer_maximum(), 2, 1, V(5));
    merge_case(s, "merge_minimum", dc_layer_minimum(), 3, 1, V(5));
    merge_case(s, "merge_concatenate", dc_layer_concatenate(-1), 2, 2, V(3, 4));
    merge_case(s, "merge_concatenate_axis1", dc_layer_concatenate(1), 2, 2, V(3, 4));
    /* grouped and depthwise convolutions (Conv with group) */
    {
        dc_conv_config gc = dc_conv_defaults(6, 3, 3);
        gc.groups = 2;
        gc.padding = DC_PADDING_SAME;
        dc_depthwise_config dwc = dc_depthwise_defaults(3, 3);
        dwc.strides[0] = dwc.strides[1] = 2;
        add_random(s, "grouped_depthwise_separable",
                   seq_model(3, V(9, 8, 4), dc_layer_conv2d_ex(&gc), dc_layer_depthwise_conv2d_ex(&dwc),
                             dc_layer_separable_conv2d(5, 3, 3, "relu"), NULL),
                   X(3, 3, 9, 8, 4));
    }
    merge_case(s, "merge_broadcast_multiply", dc_layer_broadcast(2), 2, 2, V(3, 4));
    /* Broadcast (ONNX import's layer): (3, 4) - (1, 4); LogSoftmax after a Dense */
    m = dc_functional_new(2, V(3, 4));
    int bc = dc_model_input(m, 2, V(1, 4));
    dc_model_apply(m, dc_layer_log_softmax(), dc_model_merge(m, dc_layer_broadcast(1), 2, V(DC_MODEL_INPUT, bc)));
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "broadcast_subtract: compile: %s", dc_errmsg());
    randomize(s, m);
    add_case(s, "broadcast_subtract_log_softmax", m, 2, (dc_tensor *[]){X(6, 2, 3, 4), X(6, 2, 1, 4)}, 0, NULL);
    /* the layers the ONNX import adds for written-out ops: ReduceMean, x - mean,
     * Pow, Sqrt, hard_swish, ConstantOp (a (3, 1) and a (1, 4) constant:
     * c + x, c * x, c - x), and MatMul of two values (one transposed) */
    m = dc_functional_new(2, V(3, 4));
    {
        int mean = dc_model_apply(m, dc_layer_reduce_mean(), DC_MODEL_INPUT);
        int d = dc_model_merge(m, dc_layer_broadcast(1), 2, V(DC_MODEL_INPUT, mean));
        int sq = dc_model_apply(m, dc_layer_unary(1, 2.0f), d);
        int cube = dc_model_apply(m, dc_layer_hard_swish(1.5f, -0.25f),
                                  dc_model_apply(m, dc_layer_rescaling(4.0f, 0.0f),
                                                 dc_model_apply(m, dc_layer_unary(1, 3.0f), d)));
        int sd = dc_model_apply(m, dc_layer_unary(0, 0.5f), sq);
        int a = dc_model_apply(m, dc_layer_constant_op(0, 2, V(3, 1)), sd);
        int g = dc_model_apply(m, dc_layer_constant_op(2, 2, V(1, 4)), a);
        int r = dc_model_apply(m, dc_layer_constant_op(4, 2, V(1, 4)), g);
        int cat = dc_model_merge(m, dc_layer_concatenate(-1), 2, V(r, cube));
        dc_model_merge(m, dc_layer_matmul(0, 1), 2, V(cat, cat));
    }
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "onnx_layers: compile: %s", dc_errmsg());
    randomize(s, m);
    add_case(s, "onnx_layers_reduce_pow_sqrt_const_matmul", m, 1, (dc_tensor *[]){X(6, 2, 3, 4)}, 0, NULL);
    m = dc_functional_new(3, V(6, 6, 2));
    int b = dc_model_input(m, 3, V(6, 6, 2));
    dc_layer *shared = dc_layer_conv2d(3, 3, 3, "relu");
    int ja = dc_model_apply(m, shared, DC_MODEL_INPUT), jb = dc_model_apply(m, shared, b);
    int cat = dc_model_merge(m, dc_layer_concatenate(-1), 2, V(ja, jb));
    dc_model_apply(m, dc_layer_dense(2, NULL), dc_model_apply(m, dc_layer_flatten(), cat));
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "shared_conv: compile: %s", dc_errmsg());
    randomize(s, m);
    dc_tensor *two[2] = {X(3, 3, 6, 6, 2), X(3, 3, 6, 6, 2)};
    add_case(s, "shared_conv", m, 2, two, 0, NULL);

    /* two masked sequences joined: the merge's mask is the elementwise max of both (Keras' OR) */
    m = dc_functional_new(1, V(7));
    b = dc_model_input(m, 1, V(7));
    int ea = dc_model_apply(m, dc_layer_embedding(9, 3, 1), DC_MODEL_INPUT);
    int eb = dc_model_apply(m, dc_layer_embedding(9, 3, 1), b);
    dc_model_apply(m, rnn(DC_RNN_GRU, 4, 1, 0, NULL, 1), dc_model_merge(m, dc_layer_add(), 2, V(ea, eb)));
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "merged_masks: compile: %s", dc_errmsg());
    randomize(s, m);
    dc_tensor *ids[2] = {rand_ids(s, 6, 7, 9, 1), rand_ids(s, 6, 7, 9, 0)};
    add_case(s, "merged_masks_gru", m, 2, ids, 0, NULL);

    /* opset 13, a fixed batch and the names a config asks for */
    dc_onnx_export_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.opset = 13;
    cfg.batch = 5;
    cfg.input_names[0] = "pixels";
    cfg.output_name = "probabilities";
    m = seq_model(3, V(8, 8, 1), dc_layer_conv2d(4, 3, 3, "relu"), dc_layer_batch_normalization(),
                  dc_layer_max_pooling2d(2, 2), dc_layer_flatten(), dc_layer_dense(4, "softmax"),
                  NULL);
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "opset13: compile: %s", dc_errmsg());
    randomize(s, m);
    dc_tensor *x13 = X(5, 3, 8, 8, 1);
    add_case(s, "opset13_named", m, 1, &x13, 1, &cfg);
}

/* The output names ONNX Runtime reported (ort.txt), defaults and asked for,
 * and the headers the checker read (check.txt). */
static void check_names(suite *s)
{
    FILE *f = fopen(TMP "/ort.txt", "r");
    char line[512];
    int mlp = 0, named = 0, siamese = 0;
    while (f && fgets(line, sizeof line, f)) {
        mlp |= strstr(line, "/mnist_mlp.onnx 0 dense_1 64x10") != NULL;
        named |= strstr(line, "/opset13_named.onnx 0 probabilities 5x4") != NULL;
        siamese |= strstr(line, "/siamese.onnx 0 dense_2 64x1") != NULL;
    }
    if (f)
        fclose(f);
    if (!mlp || !named || !siamese)
        fail(s, "output names: mnist_mlp's dense_1 %d, opset13_named's probabilities %d, siamese's dense_2 %d", mlp,
             named, siamese);
    /* what the checker read: opset, producer, IR version, the inputs' names and dims */
    f = fopen(TMP "/check.txt", "r");
    mlp = named = siamese = 0;
    while (f && fgets(line, sizeof line, f)) {
        mlp |= strstr(line, "/mnist_mlp.onnx 17 ") && strstr(line, " deepc " DC_VERSION " ir8 input_layer:batch,28,28,1");
        named |= strstr(line, "/opset13_named.onnx 13 ") && strstr(line, " pixels:5,8,8,1");
        siamese |= strstr(line, "/siamese.onnx 17 ") && strstr(line, " input_layer:batch,784;input_layer_1:batch,784");
    }
    if (f)
        fclose(f);
    if (!mlp || !named || !siamese)
        fail(s, "model headers: mnist_mlp %d, opset13_named %d, siamese %d (see " TMP "/check.txt)", mlp, named,
             siamese);
}

/* Files equal byte for byte. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void expect(suite *s, const char *what, dc_status got, dc_status want, const char *needle1, const char *needle2)
{
    const char *msg = dc_errmsg();
    if (got != want || (needle1 && !strstr(msg, needle1)) || (needle2 && !strstr(msg, needle2)))
        fail(s, "%s: status %s, expected %s; message \"%s\" should name \"%s\" and \"%s\"", what, dc_status_str(got),
             dc_status_str(want), msg, needle1 ? needle1 : "", needle2 ? needle2 : "");
    else
        printf("ok   %-28s %s\n", what, msg);
}

static void error_cases(suite *s)
{
    dc_onnx_export_config cfg;
    memset(&cfg, 0, sizeof cfg);
    dc_model *m = seq_model(1, V(4), dc_layer_dense(3, NULL), dc_layer_layer_normalization(), NULL);
    expect(s, "not compiled", dc_model_save_onnx(m, TMP "/never.onnx", NULL), DC_ERR_STATE, "compile", NULL);
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "errors: compile: %s", dc_errmsg());
    /* a good file, then a refused layer: the file stays as it was */
    const char *path = TMP "/refused.onnx";
    if (dc_model_save_onnx(m, path, NULL) != DC_OK || dc_model_save_onnx(m, TMP "/refused_copy.onnx", NULL) != DC_OK)
        fail(s, "errors: save: %s", dc_errmsg());
    cfg.opset = 13;
    expect(s, "refused layer", dc_model_save_onnx(m, path, &cfg), DC_ERR_UNSUPPORTED, "layer_normalization",
           "opset 17");
    if (!same_file(path, TMP "/refused_copy.onnx"))
        fail(s, "a refused export changed the file already there");
    cfg.opset = 12;
    expect(s, "opset 12", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "opset 12", "13 to 17");
    cfg.opset = 18;
    expect(s, "opset 18", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "opset 18", NULL);
    cfg.opset = 0;
    cfg.batch = -2;
    expect(s, "batch -2", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "batch -2", NULL);
    cfg.batch = 0;
    cfg.output_name = "";
    expect(s, "empty output name", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "output_name", NULL);
    cfg.output_name = NULL;
    expect(s, "missing folder", dc_model_save_onnx(m, TMP "/no/such/folder/m.onnx", NULL), DC_ERR_IO, "no/such", NULL);
    dc_model_free(m);
    m = dc_functional_new(1, V(3));
    int b = dc_model_input(m, 1, V(3));
    dc_model_apply(m, dc_layer_dense(2, NULL), dc_model_merge(m, dc_layer_add(), 2, V(DC_MODEL_INPUT, b)));
    if (dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK)
        fail(s, "errors: compile: %s", dc_errmsg());
    cfg.input_names[0] = cfg.input_names[1] = "same";
    expect(s, "duplicate input names", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "input_names", "same");
    cfg.input_names[0] = "add";
    cfg.input_names[1] = NULL;
    expect(s, "input named like a layer", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "input_names[0]", "add");
    cfg.input_names[0] = NULL;
    cfg.output_name = "add";
    expect(s, "output named like a layer", dc_model_save_onnx(m, path, &cfg), DC_ERR_ARG, "output_name", "add");
    dc_model_free(m);
}
