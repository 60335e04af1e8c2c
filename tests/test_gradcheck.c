/*
 * test_gradcheck.c - finite-difference gradient check of every op in the
 * registry.
 *
 * Each case builds a small graph whose parameters feed the op under test;
 * the harness reduces the op's output to L = sum(out * R) with a fixed random
 * R, compares every analytic gradient dL/dparam with a central difference
 * (computed in double from float forwards), and keeps inputs away from the
 * kinks of relu, abs and the clips.  A registry op without a case fails the
 * test, as does an op with optional inputs (a bias, a mask) when some
 * combination of them present and absent is in no case: a new op, or a new
 * optional input, cannot be forgotten.
 */
#include "testutil.h"

#include "graph/graph.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

typedef dc_node *(*build_fn)(dc_graph *g, int variant);

/* ONNX import's LogSoftmax op (layers/layers_onnx.c) */
dc_node *dc_log_softmax(dc_graph *g, dc_node *x);
/* ONNX import's Broadcast op (layers/layers_onnx.c): op 0 + 1 - 2 * 3 / */
dc_node *dc_broadcast_binary(dc_graph *g, dc_node *a, dc_node *b, int op);
dc_node *dc_onnx_unary(dc_graph *g, dc_node *x, float p, int is_sqrt);
dc_node *dc_onnx_hard_swish(dc_graph *g, dc_node *x, float scale, float offset);
dc_node *dc_reduce_mean_last(dc_graph *g, dc_node *x);

static dc_init uniform(float lo, float hi) { return (dc_init){DC_INIT_RANDOM_UNIFORM, lo, hi}; }

static dc_node *p2(dc_graph *g, int a, int b) { return dc_param(g, 2, (int[]){a, b}, uniform(-1, 1), NULL); }

static dc_node *build_matmul(dc_graph *g, int v)
{
    (void)v;
    return dc_matmul(g, p2(g, 3, 4), p2(g, 4, 2));
}

/* variant 1: a per-step input (2, 3, 4), as Dense after return_sequences */
static dc_node *build_dense(dc_graph *g, int v)
{
    dc_node *x = v ? dc_param(g, 3, (int[]){2, 3, 4}, uniform(-1, 1), NULL) : p2(g, 3, 4);
    return dc_dense(g, x, p2(g, 4, 5), dc_param(g, 1, (int[]){5}, uniform(-1, 1), NULL));
}

static dc_node *build_dense_nobias(dc_graph *g, int v)
{
    (void)v;
    return dc_dense(g, p2(g, 3, 4), p2(g, 4, 5), NULL);
}

static dc_node *build_add(dc_graph *g, int v)
{
    /* variant 1 broadcasts a bias over the rows */
    return dc_add(g, p2(g, 3, 4), v ? dc_param(g, 1, (int[]){4}, uniform(-1, 1), NULL) : p2(g, 3, 4));
}

static dc_node *build_sub(dc_graph *g, int v)
{
    (void)v;
    return dc_sub(g, p2(g, 3, 4), p2(g, 3, 4));
}

static dc_node *build_mul(dc_graph *g, int v)
{
    (void)v;
    return dc_mul(g, p2(g, 3, 4), p2(g, 3, 4));
}

static dc_node *build_scale(dc_graph *g, int v)
{
    (void)v;
    return dc_scale(g, p2(g, 3, 4), -1.5f);
}

/* variant DC_ACT_COUNT: softmax over the last axis of a per-step (2, 3, 5) input */
static dc_node *build_act(dc_graph *g, int v)
{
    if (v == DC_ACT_COUNT)
        return dc_activation(g, dc_param(g, 3, (int[]){2, 3, 5}, uniform(-2.5f, 2.5f), NULL), DC_ACT_SOFTMAX);
    return dc_activation(g, dc_param(g, 2, (int[]){3, 5}, uniform(-2.5f, 2.5f), NULL), (dc_act)v);
}

static dc_node *build_reshape(dc_graph *g, int v)
{
    (void)v;
    /* a reshape shares buffers; follow it with an op so the gradient flows through */
    return dc_scale(g, dc_reshape(g, p2(g, 2, 6), 2, (int[]){3, 4}), 2.0f);
}

static dc_node *build_columns(dc_graph *g, int v)
{
    (void)v;
    return dc_columns(g, p2(g, 3, 7), 2, 4);
}

static dc_node *build_sum(dc_graph *g, int v)
{
    (void)v;
    return dc_sum(g, p2(g, 3, 4));
}

static dc_node *build_mean(dc_graph *g, int v)
{
    (void)v;
    return dc_mean(g, p2(g, 3, 4));
}

/* Targets are inputs filled by the harness according to their name; with
 * `mask`, ids (one per row, some of them zero) leave rows out.  Variants
 * below DC_LOSS_COUNT: predictions (4, 3), one row per sample; from
 * DC_LOSS_COUNT on: per-step predictions (2, 3, 4) of a tagger, with (2, 3)
 * labels or (2, 3, 4) one-hot targets and a (2, 3) mask.  The hinges take
 * 0/1 targets (converted to -1/1), KLDivergence and Poisson probabilities. */
static dc_node *loss_case_ex(dc_graph *g, dc_loss_kind k, int steps, int mask, int weighted, const dc_loss_args *args)
{
    int probs = k == DC_LOSS_BINARY_CE || k == DC_LOSS_CATEGORICAL_CE || k == DC_LOSS_SPARSE_CE ||
                k == DC_LOSS_KL_DIVERGENCE || k == DC_LOSS_POISSON;
    int pshape[3] = {4, 3, 0}, pnd = 2;
    if (steps) {
        memcpy(pshape, (int[]){2, 3, 4}, sizeof pshape);
        pnd = 3;
    }
    dc_node *pred = dc_param(g, pnd, pshape, probs ? uniform(0.1f, 0.9f) : uniform(-2, 2), NULL);
    const char *tname = "uniform";
    int tnd = pnd;
    if (k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS) {
        tname = "labels";
        tnd = pnd - 1;
    } else if (k == DC_LOSS_CATEGORICAL_CE || k == DC_LOSS_CATEGORICAL_CE_LOGITS) {
        tname = "onehot";
    } else if (k == DC_LOSS_BINARY_CE || k == DC_LOSS_BINARY_CE_LOGITS || k == DC_LOSS_HINGE ||
               k == DC_LOSS_SQUARED_HINGE) {
        tname = "binary";
    }
    dc_node *ids = mask ? dc_input(g, 0, 2, steps ? (int[]){2, 3} : (int[]){2, 2}, "tokens") : NULL;
    dc_node *w = weighted ? dc_input(g, 0, 2, steps ? (int[]){2, 3} : (int[]){4, 1}, "weights") : NULL;
    return dc_loss_ex(g, k, pred, dc_input(g, 0, tnd, pshape, tname), ids, w, args);
}

static dc_node *loss_case(dc_graph *g, int v, int mask, int weighted)
{
    return loss_case_ex(g, (dc_loss_kind)(v % DC_LOSS_COUNT), v >= DC_LOSS_COUNT, mask, weighted, NULL);
}

/* The loss arguments: label smoothing on each cross-entropy that takes it
 * (on probabilities and fused), per row (variants 0-3) and per step (4-7);
 * Huber's delta below and above 1 (8, 9).  With `mw` (variants 0-3 only)
 * per step under a mask with weights. */
static dc_node *loss_args_case(dc_graph *g, int v, int mw)
{
    static const dc_loss_kind smoothed[4] = {DC_LOSS_BINARY_CE, DC_LOSS_BINARY_CE_LOGITS, DC_LOSS_CATEGORICAL_CE,
                                             DC_LOSS_CATEGORICAL_CE_LOGITS};
    if (v >= 8)
        return loss_case_ex(g, DC_LOSS_HUBER, v == 9, 0, 0, &(dc_loss_args){0.0f, v == 8 ? 0.5f : 2.0f});
    return loss_case_ex(g, smoothed[v % 4], v >= 4 || mw, mw, mw, &(dc_loss_args){v >= 4 ? 0.3f : 0.2f, 0.0f});
}

static dc_node *build_loss_args(dc_graph *g, int v) { return loss_args_case(g, v, 0); }

static dc_node *build_loss_args_masked_weighted(dc_graph *g, int v) { return loss_args_case(g, v, 1); }

static dc_node *build_loss(dc_graph *g, int v) { return loss_case(g, v, 0, 0); }

static dc_node *build_loss_masked(dc_graph *g, int v) { return loss_case(g, v, 1, 0); }

static dc_node *build_loss_weighted(dc_graph *g, int v) { return loss_case(g, v, 0, 1); }

static dc_node *build_loss_masked_weighted(dc_graph *g, int v) { return loss_case(g, v, 1, 1); }

static dc_node *build_regularizer(dc_graph *g, int v)
{
    return dc_regularizer(g, p2(g, 3, 4), v == 0 ? 0.1f : 0.0f, v == 1 ? 0.2f : 0.0f);
}

static dc_node *image(dc_graph *g, int h, int w, int c, const char *name)
{
    return dc_param(g, 4, (int[]){2, h, w, c}, uniform(-1, 1), name);
}

/* variants: valid s1, same s1, valid s2, same s2, valid dilation 2, same 2x2 kernel with 3 channels (the
 * direct path for small kernels), then the same six with 5 channels (im2col + GEMM); 12 and 13: fused
 * ReLU on each path, the direct one with 32 filters (its register-blocked interior and its border pixels) */
static dc_node *build_conv(dc_graph *g, int v)
{
    static const int stride[] = {1, 1, 2, 2, 1, 1}, same[] = {0, 1, 0, 1, 0, 1}, dil[] = {1, 1, 1, 1, 2, 1};
    int relu = v >= 12, c = relu ? (v == 12 ? 3 : 5) : v < 6 ? 3 : 5, f = v == 12 ? 32 : 4;
    v = relu ? 1 : v % 6;
    int k = v == 5 ? 2 : 3;
    dc_node *kern = dc_param(g, 4, (int[]){k, k, c, f}, uniform(-1, 1), NULL);
    return (relu ? dc_conv2d_relu : dc_conv2d)(g, image(g, 7, 6, c, NULL), kern,
                                               dc_param(g, 1, (int[]){f}, uniform(-1, 1), NULL), stride[v], stride[v],
                                               same[v], dil[v], dil[v]);
}

static dc_node *build_conv_nobias(dc_graph *g, int v)
{
    (void)v;
    return dc_conv2d(g, image(g, 5, 5, 2, NULL), dc_param(g, 4, (int[]){3, 3, 2, 3}, uniform(-1, 1), NULL), NULL, 1, 1, 0,
                     1, 1);
}

/* variants: max valid 2x2, avg valid 2x2, max same 3/2, avg same 3/2 */
static dc_node *build_pool(dc_graph *g, int v)
{
    int p = v < 2 ? 2 : 3, s = 2;
    return dc_pool2d(g, image(g, 6, 7, 3, "distinct"), v % 2 == 0, p, p, s, s, v >= 2);
}

static dc_node *build_global_pool(dc_graph *g, int v)
{
    return dc_global_pool(g, image(g, 3, 4, 5, "distinct"), v);
}

/* ---- image-to-image ops (upsampling, padding / cropping, transposed convolution) ---- */

/* variants: nearest 2x2, nearest 2x3, bilinear 2x2, bilinear 3x2 */
static dc_node *build_upsample(dc_graph *g, int v)
{
    static const int sh[] = {2, 2, 2, 3}, sw[] = {2, 3, 2, 2};
    return dc_upsample2d(g, image(g, 3, 4, 2, NULL), sh[v], sw[v], v >= 2);
}

/* variants: padding, cropping, both at once */
static dc_node *build_pad(dc_graph *g, int v)
{
    static const int a[3][4] = {{1, 2, 0, 3}, {-1, 0, -2, -1}, {1, -1, -1, 2}};
    return dc_pad2d(g, image(g, 4, 5, 2, NULL), a[v][0], a[v][1], a[v][2], a[v][3]);
}

/* variants: valid s1, same s1, valid s2, same s2, same s2 output_padding 1, valid s2 output_padding 1,
 * valid dilation 2, same s2 with a 2x2 kernel and output_padding 1, valid s3 (stride > kernel); 9: five
 * 9x9 images, which the op takes in two chunks (3 + 2 images of 81 pixels) */
static dc_node *build_conv_transpose(dc_graph *g, int v)
{
    if (v == 9)
        return dc_conv2d_transpose(g, dc_param(g, 4, (int[]){5, 9, 9, 2}, uniform(-1, 1), NULL),
                                   dc_param(g, 4, (int[]){3, 3, 2, 2}, uniform(-1, 1), NULL),
                                   dc_param(g, 1, (int[]){2}, uniform(-1, 1), NULL), (int[]){2, 2}, 1, (int[]){1, 1},
                                   NULL);
    static const int st[] = {1, 1, 2, 2, 2, 2, 1, 2, 3}, same[] = {0, 1, 0, 1, 1, 0, 0, 1, 0};
    static const int dil[] = {1, 1, 1, 1, 1, 1, 2, 1, 1}, opad[] = {-1, -1, -1, -1, 1, 1, -1, 1, -1};
    int k = v == 7 ? 2 : 3, f = 2, c = 3;
    dc_node *kern = dc_param(g, 4, (int[]){k, k, f, c}, uniform(-1, 1), NULL);
    int strides[2] = {st[v], st[v]}, d[2] = {dil[v], dil[v]}, op[2] = {opad[v], opad[v]};
    return dc_conv2d_transpose(g, image(g, 3, 4, c, NULL), kern, dc_param(g, 1, &f, uniform(-1, 1), NULL), strides,
                               same[v], d, opad[v] < 0 ? NULL : op);
}

static dc_node *build_conv_transpose_nobias(dc_graph *g, int v)
{
    (void)v;
    return dc_conv2d_transpose(g, image(g, 2, 3, 2, NULL), dc_param(g, 4, (int[]){3, 2, 4, 2}, uniform(-1, 1), NULL), NULL,
                               (int[]){2, 1}, 1, (int[]){1, 1}, NULL);
}

/* variant 1: frozen, so the moving statistics normalise in training too */
static dc_node *build_batchnorm(dc_graph *g, int v)
{
    int c = 3;
    dc_node *x = dc_param(g, 2, (int[]){6, c}, uniform(-2, 2), NULL);
    dc_node *gamma = dc_param(g, 1, &c, uniform(0.5f, 1.5f), NULL), *beta = dc_param(g, 1, &c, uniform(-1, 1), NULL);
    dc_node *mm = dc_param_ex(g, 1, &c, v ? uniform(-1, 1) : dc_init_make(DC_INIT_ZEROS), NULL, 0);
    dc_node *mv = dc_param_ex(g, 1, &c, v ? uniform(0.5f, 2) : dc_init_make(DC_INIT_ONES), NULL, 0);
    return dc_batchnorm_ex(g, x, gamma, beta, mm, mv, 0.99f, 1e-3f, v);
}

static dc_node *build_dropout(dc_graph *g, int v)
{
    (void)v;
    return dc_dropout(g, p2(g, 4, 5), 0.4f);
}

/* ---- normalisation, activation and noise layers (ops_normact.c) ---- */

/* variant 1: per-step input (2, 3, 4) */
static dc_node *build_layernorm(dc_graph *g, int v)
{
    int c = v ? 4 : 5;
    dc_node *x = v ? dc_param(g, 3, (int[]){2, 3, 4}, uniform(-2, 2), NULL) : p2(g, 4, 5);
    return dc_layernorm(g, x, dc_param(g, 1, &c, uniform(0.5f, 1.5f), NULL), dc_param(g, 1, &c, uniform(-1, 1), NULL),
                        1e-3f);
}

/* variant 0: alpha per feature of (3, 4); 1: (2, 3, 4) with axis 1 shared, alpha (1, 4) */
static dc_node *build_prelu(dc_graph *g, int v)
{
    if (v)
        return dc_prelu(g, dc_param(g, 3, (int[]){2, 3, 4}, uniform(-2, 2), NULL),
                        dc_param(g, 2, (int[]){1, 4}, uniform(0.1f, 0.5f), NULL));
    return dc_prelu(g, dc_param(g, 2, (int[]){3, 4}, uniform(-2, 2), NULL),
                    dc_param(g, 1, (int[]){4}, uniform(0.1f, 0.5f), NULL));
}

/* variant 0: max_value, slope and threshold; 1: threshold only; 2: max_value only */
/* variant 1: a rank-3 input, the last axis reduced */
static dc_node *build_log_softmax(dc_graph *g, int v)
{
    return dc_log_softmax(g, v ? dc_param(g, 3, (int[]){2, 3, 4}, uniform(-2, 2), NULL) : p2(g, 3, 5));
}

/* variant = the op (+ - * /): a (2, 3, 4) op b (2, 1, 4), b away from 0 */
static dc_node *build_broadcast_binary(dc_graph *g, int v)
{
    return dc_broadcast_binary(g, dc_param(g, 3, (int[]){2, 3, 4}, uniform(-2, 2), NULL),
                               dc_param(g, 3, (int[]){2, 1, 4}, uniform(0.5f, 1.5f), NULL), v);
}

/* variant 0: sqrt; 1: x^2; 2: x^1.5 (x in [0.5, 2]: away from sqrt's pole) */
static dc_node *build_onnx_unary(dc_graph *g, int v)
{
    static const float p[3] = {0.5f, 2.0f, 1.5f};
    return dc_onnx_unary(g, dc_param(g, 3, (int[]){2, 3, 4}, uniform(0.5f, 2.0f), NULL), p[v], v == 0);
}

/* variant 0: plain; 1: scaled and offset (x inside the kinks at -3 and 3) */
static dc_node *build_onnx_hard_swish(dc_graph *g, int v)
{
    return dc_onnx_hard_swish(g, dc_param(g, 3, (int[]){2, 3, 4}, uniform(-2.5f, 2.5f), NULL), v ? 0.7f : 1.0f,
                              v ? 0.2f : 0.0f);
}

static dc_node *build_reduce_mean_last(dc_graph *g, int v)
{
    (void)v;
    return dc_reduce_mean_last(g, dc_param(g, 3, (int[]){2, 3, 5}, uniform(-2, 2), NULL));
}

static dc_node *build_relu_ex(dc_graph *g, int v)
{
    static const float args[3][3] = {{1.45f, 0.2f, 0.35f}, {INFINITY, 0.0f, 0.55f}, {0.75f, 0.0f, 0.0f}};
    return dc_relu_ex(g, p2(g, 4, 5), args[v][0], args[v][1], args[v][2]);
}

/* variant 1: invert */
static dc_node *build_normalize(dc_graph *g, int v)
{
    int c = 4;
    return dc_normalize(g, p2(g, 3, 4), dc_param_ex(g, 1, &c, uniform(-1, 1), NULL, 0),
                        dc_param_ex(g, 1, &c, uniform(0.2f, 3), NULL, 0), v);
}

/* variant 0: additive (GaussianNoise); 1: multiplicative (GaussianDropout) */
static dc_node *build_gaussian_noise(dc_graph *g, int v) { return dc_gaussian_noise(g, p2(g, 4, 5), 0.3f, v); }

/* variant 0: (2, 3, 4), channels of each sample dropped; 1: (2, 2, 2, 3) */
static dc_node *build_spatial_dropout(dc_graph *g, int v)
{
    return dc_spatial_dropout(g, v ? dc_param(g, 4, (int[]){2, 2, 2, 3}, uniform(-1, 1), NULL)
                                   : dc_param(g, 3, (int[]){2, 3, 4}, uniform(-1, 1), NULL),
                              0.4f);
}

static dc_node *build_scale_offset(dc_graph *g, int v)
{
    (void)v;
    return dc_scale_offset(g, p2(g, 3, 4), 1.0f / 255.0f, -0.5f);
}

/* Token ids 1..4 with zeros (masked steps) at fixed interior positions. */
static dc_node *tokens(dc_graph *g, int b, int t) { return dc_input(g, 0, 2, (int[]){b, t}, "tokens"); }

static dc_node *build_embedding(dc_graph *g, int v)
{
    (void)v;
    return dc_embedding(g, tokens(g, 2, 5), dc_param(g, 2, (int[]){5, 3}, uniform(-1, 1), NULL));
}

static dc_node *build_concat(dc_graph *g, int v)
{
    (void)v;
    return dc_concat(g, p2(g, 3, 2), p2(g, 3, 4));
}

/* A recurrent op over x (2, 4, 3) with 3 units. */
static dc_node *rnn_case(dc_graph *g, const dc_rnn_config *c, int masked)
{
    int G = c->kind == DC_RNN_LSTM ? 4 : c->kind == DC_RNN_GRU ? 3 : 1, GU = G * c->units;
    int two = c->kind == DC_RNN_GRU && c->reset_after;
    dc_node *x = dc_param(g, 3, (int[]){2, 4, 3}, uniform(-1, 1), NULL);
    dc_node *w = dc_param(g, 2, (int[]){3, GU}, uniform(-0.8f, 0.8f), NULL);
    dc_node *r = dc_param(g, 2, (int[]){c->units, GU}, uniform(-0.8f, 0.8f), NULL);
    dc_node *b = two ? dc_param(g, 2, (int[]){2, GU}, uniform(-0.5f, 0.5f), NULL)
                     : dc_param(g, 1, &GU, uniform(-0.5f, 0.5f), NULL);
    return dc_rnn(g, x, w, r, b, masked ? tokens(g, 2, 4) : NULL, c);
}

/* variants: kind (SimpleRNN, LSTM, GRU) x {last output, sequence, backwards,
 * backwards sequence, sequence with dropout and recurrent dropout}, then GRU
 * with reset_after off (last output, sequence with dropout) */
static dc_node *build_rnn(dc_graph *g, int v)
{
    dc_rnn_config c = dc_rnn_defaults((dc_rnn_kind)(v < 15 ? v / 5 : DC_RNN_GRU), 3);
    int m = v < 15 ? v % 5 : (v == 15 ? 0 : 4);
    c.return_sequences = m == 1 || m == 3 || m == 4;
    c.go_backwards = m == 2 || m == 3;
    if (m == 4)
        c.dropout = c.recurrent_dropout = 0.3f;
    c.reset_after = v < 15;
    return rnn_case(g, &c, 0);
}

/* variants: kind x {last output, sequence, backwards sequence in input order
 * with zeros at masked steps (Bidirectional's backward half)}, then GRU with
 * reset_after off */
static dc_node *build_rnn_masked(dc_graph *g, int v)
{
    dc_rnn_config c = dc_rnn_defaults((dc_rnn_kind)(v < 9 ? v / 3 : DC_RNN_GRU), 3);
    int m = v < 9 ? v % 3 : 1;
    c.return_sequences = m >= 1;
    c.go_backwards = c.reverse_output = c.zero_output_for_mask = m == 2;
    c.reset_after = v < 9;
    return rnn_case(g, &c, 1);
}

/* variants: LSTM h, LSTM c (masked, backwards), GRU h */
static dc_node *build_rnn_state(dc_graph *g, int v)
{
    dc_rnn_config c = dc_rnn_defaults(v < 2 ? DC_RNN_LSTM : DC_RNN_GRU, 3);
    c.go_backwards = v == 1;
    return dc_rnn_state(g, rnn_case(g, &c, v == 1), v == 1);
}

/* Embedding -> Bidirectional, through the layer's own build.  variants: LSTM
 * concat sequence; the same masked; GRU sum of the last outputs, masked;
 * SimpleRNN average sequence, masked. */
static dc_node *build_bidirectional(dc_graph *g, int v)
{
    static const dc_rnn_kind kinds[] = {DC_RNN_LSTM, DC_RNN_LSTM, DC_RNN_GRU, DC_RNN_SIMPLE};
    static const char *const merge[] = {"concat", "concat", "sum", "ave"};
    dc_node *ids = tokens(g, 2, 4);
    dc_node *x = dc_embedding(g, ids, dc_param(g, 2, (int[]){5, 3}, uniform(-1, 1), NULL));
    dc_rnn_config c = dc_rnn_defaults(kinds[v], 3);
    c.return_sequences = v != 2;
    dc_layer *l = dc_layer_bidirectional(dc_layer_rnn_ex(&c), merge[v]);
    if (!l)
        return NULL;
    snprintf(l->name, sizeof l->name, "bidirectional");
    dc_layer_call call = {.mask = v ? ids : NULL};
    dc_status st = l->cls->build(l, g, x, &call);
    dc_node *out = st == DC_OK ? call.out : NULL;
    dc_layer_free(l); /* its nodes belong to the graph */
    return out;
}

/* ---- sequence-to-sequence ops (ops_seq2seq.c) ---- */

/* variants: (3, 4) -> (3, 2, 4); (2, 3, 2) -> (2, 3, 3, 2) */
static dc_node *build_repeat(dc_graph *g, int v)
{
    return dc_repeat(g, v ? dc_param(g, 3, (int[]){2, 3, 2}, uniform(-1, 1), NULL) : p2(g, 3, 4), v ? 3 : 2);
}

/* variants: (2, 3, 4, 5) by (2, 0, 1); (2, 3, 4) by (1, 0); (2, 5) by (0) */
static dc_node *build_permute(dc_graph *g, int v)
{
    static const int perms[3][3] = {{2, 0, 1}, {1, 0}, {0}};
    dc_node *x = v == 0   ? dc_param(g, 4, (int[]){2, 3, 4, 5}, uniform(-1, 1), NULL)
                 : v == 1 ? dc_param(g, 3, (int[]){2, 3, 4}, uniform(-1, 1), NULL)
                          : p2(g, 2, 5);
    return dc_permute(g, x, 3 - v, perms[v]);
}

/* x (2, 4, 3) with the steps whose token is 0 zeroed: variant 0 the mask is
 * the tokens, 1 step_mask of the tokens as one feature per step */
static dc_node *build_mask_steps(dc_graph *g, int v)
{
    dc_node *x = dc_param(g, 3, (int[]){2, 4, 3}, uniform(-1, 1), NULL);
    dc_node *mask = v ? dc_step_mask(g, dc_input(g, 0, 3, (int[]){2, 4, 1}, "tokens"), 0.0f) : tokens(g, 2, 4);
    return dc_mask_steps(g, x, mask);
}

static dc_node *build_step_mask(dc_graph *g, int v)
{
    (void)v;
    return build_mask_steps(g, 1);
}

/* (2, 3, 5, 4, 2) -> fold -> conv 3x3 -> unfold: a Conv2D inside TimeDistributed */
static dc_node *build_time_fold(dc_graph *g, int v)
{
    (void)v;
    dc_node *x = dc_param(g, 5, (int[]){2, 3, 5, 4, 2}, uniform(-1, 1), NULL);
    dc_node *c = dc_conv2d(g, dc_time_fold(g, x), dc_param(g, 4, (int[]){3, 3, 2, 3}, uniform(-1, 1), NULL),
                           dc_param(g, 1, (int[]){3}, uniform(-1, 1), NULL), 1, 1, 0, 1, 1);
    return dc_time_unfold(g, c, 3);
}

/* ---- image augmentation (ops_augment.c), with the fixed draws of no RNG ---- */

static dc_node *image_param(dc_graph *g) { return dc_param(g, 4, (int[]){3, 4, 5, 2}, uniform(-1, 1), NULL); }

/* variant v: mode v + 1 (horizontal, vertical, both) */
static dc_node *build_random_flip(dc_graph *g, int v) { return dc_random_flip(g, image_param(g), v + 1); }

/* variants 0-7: translation, fill mode v % 4, bilinear for v < 4, nearest
 * after; 8-11: rotation, bilinear, each fill mode; 12: zoom, one factor,
 * reflect, bilinear; 13: zoom per axis, constant, nearest */
static dc_node *build_random_affine(dc_graph *g, int v)
{
    const float *h = (float[]){-0.4f, 0.3f}, *w = (float[]){-0.35f, 0.45f};
    dc_affine_kind kind = v < 8 ? DC_AFFINE_TRANSLATE : (v < 12 ? DC_AFFINE_ROTATE : DC_AFFINE_ZOOM);
    return dc_random_affine(g, image_param(g), kind, h, v == 12 ? NULL : w, (dc_fill_mode)(v % 4), v < 4 || v >= 8,
                            0.7f);
}

/* variant 0: brightness, 1: contrast; value range (-0.8, 0.9) clips some */
static dc_node *build_random_color(dc_graph *g, int v)
{
    const float *range = v ? (float[]){0.6f, 1.5f} : (float[]){-0.2f, 0.3f};
    return dc_random_color(g, image_param(g), v, range, (float[]){-0.8f, 0.9f});
}

/* ---- merge layers' ops (ops_merge.c) ---- */

/* a and b (3, 4) with no ties and at least 0.05 apart (eps is 1e-3), each
 * winning some elements, and away from the harness's kinks at 0. */
static const float merge_a[12] = {0.5f, -0.3f, 0.9f, -0.7f, 0.2f, 0.45f, -0.15f, 0.8f, -0.6f, 0.35f, -0.25f, 0.65f};
static const float merge_b[12] = {-0.4f, 0.6f, 0.3f, -0.2f, 0.75f, 0.15f, -0.55f, 0.95f, -0.35f, 0.1f, 0.4f, -0.8f};

static dc_node *merge_operand(dc_graph *g, const float *values)
{
    dc_node *p = p2(g, 3, 4);
    if (p)
        p->init_values = values;
    return p;
}

/* variant 1: the operands swapped */
static dc_node *build_maximum(dc_graph *g, int v)
{
    dc_node *a = merge_operand(g, merge_a), *b = merge_operand(g, merge_b);
    return v ? dc_maximum(g, b, a) : dc_maximum(g, a, b);
}

static dc_node *build_minimum(dc_graph *g, int v)
{
    dc_node *a = merge_operand(g, merge_a), *b = merge_operand(g, merge_b);
    return v ? dc_minimum(g, b, a) : dc_minimum(g, a, b);
}

/* variants: (3, 2) + (3, 4) on axis 1; 4D (2, 3, 4, 2) + (2, 1, 4, 2) on axis 1 and (2, 3, 4, 2) + (2, 3, 2, 2)
 * on the middle axis 2 */
static dc_node *build_concat_axis(dc_graph *g, int v)
{
    if (v == 0)
        return dc_concat_axis(g, p2(g, 3, 2), p2(g, 3, 4), 1);
    dc_node *a = dc_param(g, 4, (int[]){2, 3, 4, 2}, uniform(-1, 1), NULL);
    dc_node *b = dc_param(g, 4, v == 1 ? (int[]){2, 1, 4, 2} : (int[]){2, 3, 2, 2}, uniform(-1, 1), NULL);
    return dc_concat_axis(g, a, b, v);
}

/* ---- depthwise and grouped convolutions (ops_depthwise.c, ops_conv_grouped.c) ---- */

/* variants: multiplier 1 valid s1, same s1, valid s2, same s2, valid dilation 2, then multiplier 2 the same
 * five; 10: 19 channels (a full block of 16 and a partial one), same s2; 11: a 2x3 kernel, strides 2x1;
 * 12, 13: 16 channels, 4x10 same s1 and 6x12 valid s2 dilation 2 */
static dc_node *build_depthwise(dc_graph *g, int v)
{
    static const int stride[] = {1, 1, 2, 2, 1}, same[] = {0, 1, 0, 1, 0}, dil[] = {1, 1, 1, 1, 2};
    if (v == 10)
        return dc_depthwise_conv2d(g, image(g, 5, 6, 19, NULL), dc_param(g, 4, (int[]){3, 3, 19, 1}, uniform(-1, 1), NULL),
                                   dc_param(g, 1, (int[]){19}, uniform(-1, 1), NULL), 2, 2, 1, 1, 1);
    if (v == 12 || v == 13) /* 16 channels over wide rows: the multiplier-1 blocks of 4 interior pixels */
        return dc_depthwise_conv2d(g, dc_param(g, 4, (int[]){1, v == 12 ? 4 : 6, v == 12 ? 10 : 12, 16}, uniform(-1, 1), NULL),
                                   dc_param(g, 4, (int[]){3, 3, 16, 1}, uniform(-1, 1), NULL),
                                   dc_param(g, 1, (int[]){16}, uniform(-1, 1), NULL), v == 12 ? 1 : 2, v == 12 ? 1 : 2,
                                   v == 12, v == 12 ? 1 : 2, v == 12 ? 1 : 2);
    if (v == 11)
        return dc_depthwise_conv2d(g, image(g, 5, 6, 3, NULL), dc_param(g, 4, (int[]){2, 3, 3, 2}, uniform(-1, 1), NULL),
                                   dc_param(g, 1, (int[]){6}, uniform(-1, 1), NULL), 2, 1, 1, 1, 1);
    int m = v < 5 ? 1 : 2, c = 3, u = v % 5;
    return dc_depthwise_conv2d(g, image(g, 7, 6, c, NULL), dc_param(g, 4, (int[]){3, 3, c, m}, uniform(-1, 1), NULL),
                               dc_param(g, 1, (int[]){c * m}, uniform(-1, 1), NULL), stride[u], stride[u], same[u],
                               dil[u], dil[u]);
}

static dc_node *build_depthwise_nobias(dc_graph *g, int v)
{
    (void)v;
    return dc_depthwise_conv2d(g, image(g, 5, 5, 2, NULL), dc_param(g, 4, (int[]){3, 3, 2, 2}, uniform(-1, 1), NULL),
                               NULL, 1, 1, 1, 1, 1);
}

/* variants: 2 groups valid s1, same s2, valid dilation 2; 3: 3 groups of 2 channels and 2 filters, same s1 */
static dc_node *build_conv_grouped(dc_graph *g, int v)
{
    static const int stride[] = {1, 2, 1}, same[] = {0, 1, 0}, dil[] = {1, 1, 2};
    if (v == 3)
        return dc_conv2d_grouped(g, image(g, 5, 5, 6, NULL), dc_param(g, 4, (int[]){3, 3, 2, 6}, uniform(-1, 1), NULL),
                                 dc_param(g, 1, (int[]){6}, uniform(-1, 1), NULL), 3, 1, 1, 1, 1, 1);
    return dc_conv2d_grouped(g, image(g, 7, 6, 4, NULL), dc_param(g, 4, (int[]){3, 3, 2, 6}, uniform(-1, 1), NULL),
                             dc_param(g, 1, (int[]){6}, uniform(-1, 1), NULL), 2, stride[v], stride[v], same[v], dil[v],
                             dil[v]);
}

static dc_node *build_conv_grouped_nobias(dc_graph *g, int v)
{
    (void)v;
    return dc_conv2d_grouped(g, image(g, 5, 5, 4, NULL), dc_param(g, 4, (int[]){3, 3, 2, 4}, uniform(-1, 1), NULL),
                             NULL, 2, 1, 1, 0, 1, 1);
}

/* attention: q (2, Tq, 2, 4), k (2, 5, 2, 4), v (2, 5, 2, 3), scale 0.7.  Variants: 0 plain, 1 causal,
 * 2 a 0/1 mask (some rows wholly masked: they attend to every key), 3 mask + causal, 4 causal with
 * Tq 6 > Tk 5 and a mask */
static dc_node *build_attention(dc_graph *g, int v)
{
    int tq = v == 4 ? 6 : 3, tk = 5;
    dc_node *q = dc_param(g, 4, (int[]){2, tq, 2, 4}, uniform(-1, 1), NULL);
    dc_node *k = dc_param(g, 4, (int[]){2, tk, 2, 4}, uniform(-1, 1), NULL);
    dc_node *val = dc_param(g, 4, (int[]){2, tk, 2, 3}, uniform(-1, 1), NULL);
    dc_node *mask = v >= 2 ? dc_input(g, 0, 3, (int[]){2, tq, tk}, "binary") : NULL;
    return dc_attention(g, q, k, val, mask, v == 1 || v >= 3, 0.7f);
}

/* ---- attention (ops_matmul.c, ops_softmax.c, ops_attn_misc.c) ---- */

static dc_node *pn(dc_graph *g, int nd, const int *shape) { return dc_param(g, nd, shape, uniform(-1, 1), NULL); }

/* variants: plain, trans_a, trans_b, both on (2, ., .); 4: (2, 2, 3, 4) x a (4, 5) weight; 5: (2, 1, 3, 4) x
 * (1, 3, 4, 2), both broadcast; 6: (2, 3, 3, 4) x (3, 5, 4)^T; 7: a (4, 3)^T broadcast over (2, 2, 4, 5);
 * 8: a batched input (B, 2, 3, 4) x a (4, 5) weight */
static dc_node *build_batched_matmul(dc_graph *g, int v)
{
    switch (v) {
    case 4: return dc_batched_matmul(g, pn(g, 4, (int[]){2, 2, 3, 4}), p2(g, 4, 5), 0, 0);
    case 5: return dc_batched_matmul(g, pn(g, 4, (int[]){2, 1, 3, 4}), pn(g, 4, (int[]){1, 3, 4, 2}), 0, 0);
    case 6: return dc_batched_matmul(g, pn(g, 4, (int[]){2, 3, 3, 4}), pn(g, 3, (int[]){3, 5, 4}), 0, 1);
    case 7: return dc_batched_matmul(g, p2(g, 4, 3), pn(g, 4, (int[]){2, 2, 4, 5}), 1, 0);
    case 8: return dc_batched_matmul(g, dc_input(g, 1, 3, (int[]){2, 3, 4}, "uniform"), p2(g, 4, 5), 0, 0);
    default: break;
    }
    int ta = v & 1, tb = v >> 1 & 1;
    dc_node *a = pn(g, 3, ta ? (int[]){2, 4, 3} : (int[]){2, 3, 4});
    dc_node *b = pn(g, 3, tb ? (int[]){2, 5, 4} : (int[]){2, 4, 5});
    return dc_batched_matmul(g, a, b, ta, tb);
}

/* x (2, 3, 4); variants: last axis, axis 1, axis 0 of (3, 4); 3: boolean token mask (3, 4) with zeros; 4: a 0/1
 * mask (2, 3, 4), some rows entirely masked; 5: additive mask (1, 4), a weight; 6: additive (3, 4) on axis 1 */
static dc_node *build_softmax(dc_graph *g, int v)
{
    static const int axis[] = {-1, 1, 0, -1, -1, -1, 1};
    dc_node *x = v == 2 ? p2(g, 3, 4) : pn(g, 3, (int[]){2, 3, 4});
    x->init = uniform(-2.5f, 2.5f);
    dc_node *m = NULL;
    if (v == 3)
        m = dc_input(g, 0, 2, (int[]){3, 4}, "tokens");
    else if (v == 4)
        m = dc_input(g, 0, 3, (int[]){2, 3, 4}, "binary");
    else if (v >= 5)
        m = v == 5 ? p2(g, 1, 4) : p2(g, 3, 4);
    return dc_softmax_axis(g, x, axis[v], m, v >= 5 ? DC_SOFTMAX_MASK_ADD : DC_SOFTMAX_MASK_BOOL);
}

/* scores (2, 2, 3, 4) through a boolean softmax masked by attention_mask; variant bits: query, value, key and
 * attention masks present; causal in variants 0, 3, 6 ... */
static dc_node *build_attention_mask(dc_graph *g, int v)
{
    dc_node *qm = v & 1 ? dc_input(g, 0, 2, (int[]){2, 3}, "tokens") : NULL;
    dc_node *vm = v & 2 ? dc_input(g, 0, 2, (int[]){2, 4}, "tokens") : NULL;
    dc_node *km = v & 4 ? dc_input(g, 0, 2, (int[]){2, 4}, "tokens") : NULL;
    dc_node *am = v & 8 ? dc_input(g, 0, 3, (int[]){2, 3, 4}, "binary") : NULL;
    dc_node *mask = dc_attention_mask(g, qm, vm, km, am, 3, 4, v % 3 == 0);
    if (mask && mask->ndim == 3)
        mask = dc_reshape(g, mask, 4, (int[]){2, 1, 3, 4});
    dc_node *x = pn(g, 4, (int[]){2, 2, 3, 4});
    x->init = uniform(-2.5f, 2.5f);
    return dc_softmax_axis(g, x, -1, mask, DC_SOFTMAX_MASK_BOOL);
}

static dc_node *build_mul_scalar(dc_graph *g, int v)
{
    (void)v;
    return dc_mul_scalar(g, p2(g, 3, 4), dc_param(g, 1, (int[]){1}, uniform(0.5f, 1.5f), NULL));
}

/* variant bits: the scale vector w, the inner scalar s, the outer scalar c present */
static dc_node *build_additive_score(dc_graph *g, int v)
{
    dc_node *q = pn(g, 3, (int[]){2, 3, 4}), *k = pn(g, 3, (int[]){2, 2, 4});
    dc_node *w = v & 1 ? pn(g, 1, (int[]){4}) : NULL;
    dc_node *s = v & 2 ? dc_param(g, 1, (int[]){1}, uniform(0.5f, 1.5f), NULL) : NULL;
    dc_node *c = v & 4 ? dc_param(g, 1, (int[]){1}, uniform(0.5f, 1.5f), NULL) : NULL;
    return dc_additive_score(g, q, k, w, s, c);
}

/* x (2, 3, 4) gives the shape; table (5, 4) from row 0, then row 2 */
static dc_node *build_position_embedding(dc_graph *g, int v)
{
    return dc_position_embedding(g, pn(g, 3, (int[]){2, 3, 4}), p2(g, 5, 4), 2 * v);
}

/* (2, 3, 4) along the last axis, then along axis 1 */
static dc_node *build_l2_normalize(dc_graph *g, int v) { return dc_l2_normalize(g, pn(g, 3, (int[]){2, 3, 4}), v ? 1 : -1); }

typedef struct gradcase {
    const char *op;  /* registry name */
    build_fn build;  /* NULL for leaves: nothing to differentiate */
    int variants;
} gradcase;

static const gradcase cases[] = {
    {"input", NULL, 0},
    {"param", NULL, 0},
    {"matmul", build_matmul, 1},
    {"dense", build_dense, 2},
    {"dense", build_dense_nobias, 1},
    {"add", build_add, 2},
    {"sub", build_sub, 1},
    {"mul", build_mul, 1},
    {"scale", build_scale, 1},
    {"activation", build_act, DC_ACT_COUNT + 1},
    {"reshape", build_reshape, 1},
    {"columns", build_columns, 1},
    {"sum", build_sum, 1},
    {"mean", build_mean, 1},
    {"loss", build_loss, 2 * DC_LOSS_COUNT},
    {"loss", build_loss_masked, 2 * DC_LOSS_COUNT},
    {"loss", build_loss_weighted, 2 * DC_LOSS_COUNT},
    {"loss", build_loss_masked_weighted, 2 * DC_LOSS_COUNT},
    {"loss", build_loss_args, 10},
    {"loss", build_loss_args_masked_weighted, 4},
    {"regularizer", build_regularizer, 2},
    {"conv2d", build_conv, 14},
    {"conv2d", build_conv_nobias, 1},
    {"pool2d", build_pool, 4},
    {"global_pool", build_global_pool, 2},
    {"batchnorm", build_batchnorm, 2},
    {"dropout", build_dropout, 1},
    {"embedding", build_embedding, 1},
    {"concat", build_concat, 1},
    {"embedding", build_bidirectional, 4},
    {"rnn", build_rnn, 17},
    {"rnn", build_rnn_masked, 10},
    {"rnn_state", build_rnn_state, 3},
    /* normalisation, activation and noise layers */
    {"layer_normalization", build_layernorm, 2},
    {"prelu", build_prelu, 2},
    {"relu_ex", build_relu_ex, 3},
    {"normalize", build_normalize, 2},
    {"gaussian_noise", build_gaussian_noise, 2},
    {"spatial_dropout", build_spatial_dropout, 2},
    {"scale", build_scale_offset, 1},
    {"repeat", build_repeat, 2},
    {"permute", build_permute, 3},
    {"mask_steps", build_mask_steps, 2},
    {"step_mask", build_step_mask, 1},
    {"time_fold", build_time_fold, 1},
    {"time_unfold", build_time_fold, 1},
    {"upsample2d", build_upsample, 4},
    {"pad2d", build_pad, 3},
    {"conv2d_transpose", build_conv_transpose, 10},
    {"conv2d_transpose", build_conv_transpose_nobias, 1},
    /* image augmentation */
    {"random_flip", build_random_flip, 3},
    {"random_affine", build_random_affine, 14},
    {"random_color", build_random_color, 2},
    /* merge layers */
    {"maximum", build_maximum, 2},
    {"minimum", build_minimum, 2},
    {"concat", build_concat_axis, 3},
    /* depthwise and grouped convolutions */
    {"depthwise_conv2d", build_depthwise, 14},
    {"depthwise_conv2d", build_depthwise_nobias, 1},
    {"conv2d_grouped", build_conv_grouped, 4},
    {"conv2d_grouped", build_conv_grouped_nobias, 1},
    /* ONNX import */
    {"log_softmax", build_log_softmax, 2},
    {"broadcast_binary", build_broadcast_binary, 4},
    {"onnx_unary", build_onnx_unary, 3},
    {"onnx_hard_swish", build_onnx_hard_swish, 2},
    {"reduce_mean_last", build_reduce_mean_last, 1},
    /* fused attention */
    {"attention", build_attention, 5},
    /* attention */
    {"batched_matmul", build_batched_matmul, 9},
    {"softmax", build_softmax, 7},
    {"attention_mask", build_attention_mask, 16},
    {"mul_scalar", build_mul_scalar, 1},
    {"additive_score", build_additive_score, 8},
    {"position_embedding", build_position_embedding, 2},
    {"l2_normalize", build_l2_normalize, 2},
};

static void fill_input(dc_node *n, dc_rng *rng)
{
    size_t total = dc_node_numel(n);
    int cols = dc_node_cols(n);
    for (size_t i = 0; i < total; i++) {
        if (!strcmp(n->name, "labels"))
            n->val[i] = (float)dc_rng_below(rng, 3);
        else if (!strcmp(n->name, "onehot"))
            n->val[i] = (i % (size_t)cols) == (i / (size_t)cols) % (size_t)cols ? 1.0f : 0.0f;
        else if (!strcmp(n->name, "tokens"))
            n->val[i] = (i * 7) % 5 == 2 ? 0.0f : (float)(1 + dc_rng_below(rng, 4));
        else if (!strcmp(n->name, "weights")) /* sample weights: some 0, one negative (Keras allows any) */
            n->val[i] = i % 4 == 1 ? 0.0f : (i % 5 == 3 ? -0.5f : 0.25f + 2.0f * dc_rng_uniform(rng));
        else if (!strcmp(n->name, "binary"))
            n->val[i] = (float)dc_rng_below(rng, 2);
        else
            n->val[i] = 2.0f * dc_rng_uniform(rng) - 1.0f;
    }
}

static double eval_loss(dc_graph *g, dc_node *loss)
{
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    return loss->val[0];
}

static void check_case(const gradcase *c, int variant)
{
    char what[128];
    snprintf(what, sizeof what, "%s variant %d", c->op, variant);
    dc_graph *g = dc_graph_new();
    dc_node *out = c->build(g, variant);
    if (!out)
        fail_msg("%s: build failed: %s", what, dc_errmsg());
    int found = 0;
    for (int i = 0; i < g->n_nodes; i++)
        found |= strcmp(g->nodes[i]->op->name, c->op) == 0;
    if (!found)
        fail_msg("%s: the case does not use op %s", what, c->op);
    dc_node *r = dc_input(g, 0, out->ndim, out->shape, "uniform");
    dc_node *loss = dc_sum(g, dc_mul(g, out, r));
    assert_non_null(loss);
    dc_rng rng;
    dc_rng_seed(&rng, 1234 + (uint64_t)variant);
    assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (n->op == &dc_op_input)
            fill_input(n, &rng);
        if (n->is_param && !strcmp(n->name, "distinct")) {
            /* max ops: shuffled values 0.01 apart, so no perturbation changes a winner */
            size_t total = dc_node_numel(n);
            for (size_t k = 0; k < total; k++)
                n->val[k] = 0.01f * (float)k - 0.005f * (float)total;
            for (size_t k = total - 1; k > 0; k--) {
                size_t j = dc_rng_below(&rng, (uint32_t)k + 1);
                float t = n->val[k];
                n->val[k] = n->val[j];
                n->val[j] = t;
            }
        } else if (n->is_param) { /* away from kinks at 0 */
            for (size_t k = 0; k < dc_node_numel(n); k++)
                if (fabsf(n->val[k]) < 0.1f)
                    n->val[k] = n->val[k] < 0 ? -0.1f : 0.1f;
        }
    }
    eval_loss(g, loss);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    size_t np;
    float *grads = dc_graph_grads(g, &np);
    float *analytic = malloc(np * sizeof(float));
    memcpy(analytic, grads, np * sizeof(float));
    const double eps = 1e-3;
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (!n->is_param || !n->trainable) /* moving statistics get no gradient */
            continue;
        for (size_t k = 0; k < dc_node_numel(n); k++) {
            float v0 = n->val[k];
            n->val[k] = (float)(v0 + eps);
            double lp = eval_loss(g, loss);
            n->val[k] = (float)(v0 - eps);
            double lm = eval_loss(g, loss);
            n->val[k] = v0;
            /* the perturbation actually applied, after rounding to float */
            double h = ((double)(float)(v0 + eps) - (double)(float)(v0 - eps));
            double num = (lp - lm) / h, ana = analytic[n->param_offset + k];
            if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(num))
                fail_msg("%s: d/d%s[%zu]: analytic %.6g, numeric %.6g", what, n->name, k, ana, num);
        }
    }
    free(analytic);
    dc_graph_free(g);
}

static void test_every_registry_op_has_a_case(void **state)
{
    (void)state;
    size_t ncases = sizeof cases / sizeof cases[0];
    for (int i = 0; i < dc_op_registry_count; i++) {
        int found = 0;
        for (size_t c = 0; c < ncases; c++)
            found |= strcmp(cases[c].op, dc_op_registry[i]->name) == 0;
        if (!found)
            fail_msg("op \"%s\" is in the registry but has no gradient check case", dc_op_registry[i]->name);
    }
}

/* DC_OPTIONAL(i) for each optional input i that n has. */
static unsigned optional_present(const dc_node *n)
{
    unsigned present = 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && (n->op->optional & DC_OPTIONAL(i)))
            present |= DC_OPTIONAL(i);
    return present;
}

/* Builds every case (no gradients) and records, per registry op, which
 * combinations of its optional inputs the nodes of the op under test have:
 * bit `present` of seen[op]. */
static void optional_combinations_seen(uint64_t *seen)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int v = 0; cases[c].build && v < cases[c].variants; v++) {
            dc_graph *g = dc_graph_new();
            if (!cases[c].build(g, v))
                fail_msg("%s variant %d: build failed: %s", cases[c].op, v, dc_errmsg());
            for (int i = 0; i < g->n_nodes; i++)
                for (int r = 0; r < dc_op_registry_count; r++)
                    if (g->nodes[i]->op == dc_op_registry[r] && !strcmp(dc_op_registry[r]->name, cases[c].op))
                        seen[r] |= (uint64_t)1 << optional_present(g->nodes[i]);
            dc_graph_free(g);
        }
}

static void test_every_optional_input_combination_has_a_case(void **state)
{
    (void)state;
    uint64_t seen[64] = {0};
    assert_true(dc_op_registry_count <= 64);
    assert_true(DC_MAX_INPUTS <= 6); /* a combination is a bit of a uint64_t */
    optional_combinations_seen(seen);
    for (int r = 0; r < dc_op_registry_count; r++) {
        unsigned opt = dc_op_registry[r]->optional, s = opt;
        if (!opt)
            continue;
        do { /* every subset s of opt, opt itself first, 0 last */
            if (!(seen[r] >> s & 1))
                fail_msg("op \"%s\": no gradient check case has exactly the optional inputs 0x%x present (optional: "
                         "0x%x)", dc_op_registry[r]->name, s, opt);
            s = (s - 1) & opt;
        } while (s != opt);
    }
}

static void test_gradients(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int v = 0; cases[c].build && v < cases[c].variants; v++)
            check_case(&cases[c], v);
}

/* ---- gradients with respect to input nodes (dc_graph_input_grad) ----
 * The same check with the differentiated values in an input node that asks
 * for its gradient: graphs without parameters (pooling, upsampling,
 * padding, activations, masking) and with them (convolution, dense,
 * batch normalisation, an LSTM), forward and backward in training (1) and
 * in inference (0: batch normalisation's moving statistics).  The input
 * holds distinct values 0.01 apart, shuffled, so no perturbation changes a
 * max's winner. */
static dc_node *x_in(dc_graph *g, int ndim, const int *shape)
{
    return dc_input(g, 1, ndim, shape, "x_in");
}

static dc_node *ibuild_pool(dc_graph *g, int v)
{
    return dc_pool2d(g, x_in(g, 3, (int[]){5, 6, 2}), v % 2 == 0, v < 2 ? 2 : 3, v < 2 ? 2 : 3, 2, 2, v >= 2);
}

static dc_node *ibuild_global_pool(dc_graph *g, int v) { return dc_global_pool(g, x_in(g, 3, (int[]){3, 4, 2}), v); }

static dc_node *ibuild_conv(dc_graph *g, int v)
{
    dc_node *k = dc_param(g, 4, (int[]){3, 3, 2, 3}, uniform(-1, 1), NULL);
    return (v ? dc_conv2d_relu : dc_conv2d)(g, x_in(g, 3, (int[]){5, 5, 2}), k,
                                            dc_param(g, 1, (int[]){3}, uniform(-1, 1), NULL), 1, 1, v, 1, 1);
}

static dc_node *ibuild_dense(dc_graph *g, int v)
{
    (void)v;
    return dc_dense(g, x_in(g, 1, (int[]){4}), p2(g, 4, 3), dc_param(g, 1, (int[]){3}, uniform(-1, 1), NULL));
}

static dc_node *ibuild_batchnorm(dc_graph *g, int v)
{
    int c = 3;
    dc_node *gamma = dc_param(g, 1, &c, uniform(0.5f, 1.5f), NULL), *beta = dc_param(g, 1, &c, uniform(-1, 1), NULL);
    dc_node *mm = dc_param_ex(g, 1, &c, uniform(-1, 1), NULL, 0), *mv = dc_param_ex(g, 1, &c, uniform(0.5f, 2), NULL, 0);
    dc_node *bn = dc_batchnorm_ex(g, x_in(g, 2, (int[]){2, c}), gamma, beta, mm, mv, 0.99f, 1e-3f, 0);
    return v ? dc_activation(g, bn, DC_ACT_RELU) : bn; /* 1: fused with its ReLU at compile */
}

static dc_node *ibuild_lstm(dc_graph *g, int v)
{
    (void)v;
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, 3);
    dc_node *w = dc_param(g, 2, (int[]){2, 12}, uniform(-0.8f, 0.8f), NULL);
    dc_node *r = dc_param(g, 2, (int[]){3, 12}, uniform(-0.8f, 0.8f), NULL);
    return dc_rnn(g, x_in(g, 2, (int[]){4, 2}), w, r, dc_param(g, 1, (int[]){12}, uniform(-0.5f, 0.5f), NULL), NULL, &c);
}

static dc_node *ibuild_act(dc_graph *g, int v)
{
    static const dc_act acts[] = {DC_ACT_SOFTMAX, DC_ACT_TANH, DC_ACT_GELU};
    return dc_activation(g, x_in(g, 1, (int[]){5}), acts[v]);
}

static dc_node *ibuild_image(dc_graph *g, int v)
{
    dc_node *x = x_in(g, 3, (int[]){3, 4, 2});
    return v == 0 ? dc_upsample2d(g, x, 2, 2, 1) : dc_pad2d(g, x, 1, 0, -1, 2);
}

static dc_node *ibuild_masked(dc_graph *g, int v)
{
    (void)v;
    dc_node *x = x_in(g, 2, (int[]){4, 3});
    return dc_mask_steps(g, dc_scale(g, x, 2.0f), dc_step_mask(g, x, 0.0f));
}

static const gradcase input_cases[] = {
    {"pool2d", ibuild_pool, 4},   {"global_pool", ibuild_global_pool, 2}, {"conv2d", ibuild_conv, 2},
    {"dense", ibuild_dense, 1},   {"batchnorm", ibuild_batchnorm, 2},     {"rnn", ibuild_lstm, 1},
    {"activation", ibuild_act, 3}, {"upsample2d", ibuild_image, 2},       {"mask_steps", ibuild_masked, 1},
};

static double eval_mode(dc_graph *g, dc_node *loss, int training)
{
    assert_int_equal(dc_graph_forward(g, loss, training), DC_OK);
    return loss->val[0];
}

static void check_input_case(const gradcase *c, int variant, int training)
{
    char what[128];
    snprintf(what, sizeof what, "%s input variant %d, training %d", c->op, variant, training);
    dc_graph *g = dc_graph_new();
    dc_node *out = c->build(g, variant);
    if (!out)
        fail_msg("%s: build failed: %s", what, dc_errmsg());
    dc_node *x = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i]->name, "x_in"))
            x = g->nodes[i];
    assert_non_null(x);
    dc_node *r = dc_input(g, 1, out->ndim - 1, out->shape + 1, "uniform");
    dc_node *loss = dc_sum(g, dc_mul(g, out, r));
    assert_int_equal(dc_graph_input_grad(g, x, 1), DC_OK); /* before compile */
    dc_rng rng;
    dc_rng_seed(&rng, 99 + (uint64_t)variant);
    assert_int_equal(dc_graph_compile(g, 2, &rng), DC_OK);
    assert_int_equal(dc_graph_set_batch(g, 2), DC_OK);
    fill_input(r, &rng);
    size_t nx = dc_node_numel(x);
    for (size_t k = 0; k < nx; k++)
        x->val[k] = 0.01f * (float)k - 0.005f * (float)nx + 0.003f;
    for (size_t k = nx - 1; k > 0; k--) {
        size_t j = dc_rng_below(&rng, (uint32_t)k + 1);
        float t = x->val[k];
        x->val[k] = x->val[j];
        x->val[j] = t;
    }
    for (int i = 0; i < g->n_nodes; i++) /* parameters away from kinks at 0 */
        for (size_t k = 0; g->nodes[i]->is_param && k < dc_node_numel(g->nodes[i]); k++)
            if (fabsf(g->nodes[i]->val[k]) < 0.1f)
                g->nodes[i]->val[k] = g->nodes[i]->val[k] < 0 ? -0.1f : 0.1f;
    eval_mode(g, loss, training);
    assert_int_equal(dc_graph_backward_seed(g, loss, NULL, 0, training), DC_OK);
    float *analytic = malloc(nx * sizeof(float));
    memcpy(analytic, x->grad, nx * sizeof(float));
    const double eps = 1e-3;
    for (size_t k = 0; k < nx; k++) {
        float v0 = x->val[k];
        x->val[k] = (float)(v0 + eps);
        double lp = eval_mode(g, loss, training);
        x->val[k] = (float)(v0 - eps);
        double lm = eval_mode(g, loss, training);
        x->val[k] = v0;
        double h = ((double)(float)(v0 + eps) - (double)(float)(v0 - eps));
        double num = (lp - lm) / h, ana = analytic[k];
        if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(num))
            fail_msg("%s: d/dx[%zu]: analytic %.6g, numeric %.6g", what, k, ana, num);
    }
    free(analytic);
    dc_graph_free(g);
}

static void test_input_gradients(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof input_cases / sizeof input_cases[0]; c++)
        for (int v = 0; v < input_cases[c].variants; v++)
            for (int training = 0; training < 2; training++)
                check_input_case(&input_cases[c], v, training);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registry_op_has_a_case),
        cmocka_unit_test(test_every_optional_input_combination_has_a_case),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_input_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
