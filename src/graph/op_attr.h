/*
 * op_attr.h - the typed attributes of every op family.
 *
 * A node's attributes are one member of the union dc_attr, named after its
 * op family: a conv2d node reads n->attr.conv.stride_h, a pooling node
 * n->attr.pool.is_max.  The op's constructor fills its member (the rest of
 * the union stays zero) and dc_node_make copies it into the node; an op's
 * infer may complete it with what it derives once (a convolution's path).
 * The member is the accessor: a field load at a fixed offset, as cheap as the
 * numbered slots it replaces, and a misspelt field does not compile.  An op
 * reads only its own family's member; ops without attributes leave it zero.
 */
#ifndef DC_OP_ATTR_H
#define DC_OP_ATTR_H

#include "deepc.h"

/* activation: the function fn (dc_act) and its alpha (elu, leaky_relu). */
typedef struct dc_act_attr {
    int fn;
    float alpha;
} dc_act_attr;

/* scale: y = scale * x + offset (offset: Rescaling's). */
typedef struct dc_scale_attr {
    float scale, offset;
} dc_scale_attr;

/* reshape: the per-sample shape. */
typedef struct dc_reshape_attr {
    int ndim;
    int shape[DC_MAX_DIMS];
} dc_reshape_attr;

/* columns: [off, off + len) of each row. */
typedef struct dc_columns_attr {
    int off, len;
} dc_columns_attr;

/* conv2d.  slots and path are set by its infer: the per-thread scratch
 * slots planned, and how it runs (ops_conv.c). */
typedef struct dc_conv_attr {
    int stride_h, stride_w, same, dilation_h, dilation_w;
    int relu; /* a ReLU fused into the output */
    int slots, path;
} dc_conv_attr;

/* pool2d: a pool_h x pool_w window; max or average. */
typedef struct dc_pool_attr {
    int stride_h, stride_w, same, pool_h, pool_w;
    int is_max;
} dc_pool_attr;

/* global_pool: max or average over the image. */
typedef struct dc_global_pool_attr {
    int is_max;
} dc_global_pool_attr;

/* conv2d_transpose, per axis (height, width); out_pad -1: Keras'
 * output_padding None.  slots and blocked are set by its infer: the
 * per-thread scratch slots planned, and whether it runs the blocked kernels
 * (ops_conv_transpose.c). */
typedef struct dc_deconv_attr {
    int stride[2], same, dilation[2], out_pad[2];
    int slots, blocked;
} dc_deconv_attr;

/* loss: the kind (dc_loss_kind) and its arguments (dc_loss_args). */
typedef struct dc_loss_attr {
    int kind;
    float label_smoothing, huber_delta;
} dc_loss_attr;

/* regularizer: l1 sum|w| + l2 sum w^2. */
typedef struct dc_regularizer_attr {
    float l1, l2;
} dc_regularizer_attr;

/* batchnorm.  frozen: always the moving statistics (a frozen layer);
 * relu: a ReLU fused in by the compile pass (dc_batchnorm_fuse_relu). */
typedef struct dc_batchnorm_attr {
    int frozen, relu;
    float momentum, epsilon;
} dc_batchnorm_attr;

/* dropout, spatial_dropout. */
typedef struct dc_dropout_attr {
    float rate;
} dc_dropout_attr;

/* rnn: flags are ops_rnn.c's F_* bits; act and recurrent_act dc_act. */
typedef struct dc_rnn_attr {
    int kind, units, flags, act, recurrent_act;
    float dropout, recurrent_dropout;
} dc_rnn_attr;

/* rnn_state: 0 the final h, 1 the final c (LSTM). */
typedef struct dc_rnn_state_attr {
    int which;
} dc_rnn_state_attr;

/* concat: the axis. */
typedef struct dc_concat_attr {
    int axis;
} dc_concat_attr;

/* layer_normalization. */
typedef struct dc_layernorm_attr {
    float epsilon;
} dc_layernorm_attr;

/* prelu, set by its infer: alpha's stride along each per-sample axis (0
 * where alpha is shared along it), and whether alpha covers the whole sample. */
typedef struct dc_prelu_attr {
    int stride[DC_MAX_DIMS - 1];
    int whole_sample;
} dc_prelu_attr;

/* relu_ex: max_value (+inf: none), negative slope, threshold. */
typedef struct dc_relu_ex_attr {
    float max_value, slope, threshold;
} dc_relu_ex_attr;

/* normalize: invert = 1 maps back (mean + x * std). */
typedef struct dc_normalize_attr {
    int invert;
} dc_normalize_attr;

/* gaussian_noise: x + n (GaussianNoise) or x * n (GaussianDropout). */
typedef struct dc_noise_attr {
    int multiplicative;
    float stddev;
} dc_noise_attr;

/* repeat: the number of copies. */
typedef struct dc_repeat_attr {
    int n;
} dc_repeat_attr;

/* permute: y's axis i (after the batch) is x's axis perm[i]. */
typedef struct dc_permute_attr {
    int ndims;
    int perm[DC_MAX_DIMS - 1];
} dc_permute_attr;

/* step_mask: a step is masked where every feature equals mask_value. */
typedef struct dc_step_mask_attr {
    float mask_value;
} dc_step_mask_attr;

/* time_unfold: the steps folded into the batch. */
typedef struct dc_time_unfold_attr {
    int steps;
} dc_time_unfold_attr;

/* upsample2d: factors, nearest or bilinear. */
typedef struct dc_upsample_attr {
    int size_h, size_w, bilinear;
} dc_upsample_attr;

/* pad2d: pixels added (> 0) or cropped (< 0) on each side. */
typedef struct dc_pad_attr {
    int top, bottom, left, right;
} dc_pad_attr;

/* random_flip: DC_FLIP_HORIZONTAL | DC_FLIP_VERTICAL. */
typedef struct dc_flip_attr {
    int mode;
} dc_flip_attr;

/* random_affine: kind dc_affine_kind, fill dc_fill_mode; zoom_same: no
 * width range (a zoom's height factor on both axes).  height (rotation: the
 * factor range) and width are [lo, hi]. */
typedef struct dc_affine_attr {
    int kind, fill, bilinear, zoom_same;
    float height[2], width[2], fill_value;
} dc_affine_attr;

/* random_color: brightness (contrast 0) or contrast; the factor's range and
 * the values' range, each [lo, hi]. */
typedef struct dc_color_attr {
    int contrast;
    float range[2], value_range[2];
} dc_color_attr;

/* attention (ops_attention.c): causal mask, the scale of the scores; slots
 * set by its infer (the per-thread scratch slots planned); empty_zero: a
 * query with no allowed key gives 0 (else it attends to every key). */
typedef struct dc_attention_attr {
    int causal, slots, empty_zero;
    float scale;
} dc_attention_attr;

/* ---- attention (ops_matmul.c, ops_softmax.c, ops_attn_misc.c) ---- */

/* batched_matmul: a or b taken transposed (its last two axes swapped). */
typedef struct dc_bmm_attr {
    int trans_a, trans_b;
} dc_bmm_attr;

/* softmax: over `axis` (resolved, 0-based over the node's axes); mask
 * dc_softmax_mask (none, boolean keep > 0.5, additive). */
typedef struct dc_softmax_attr {
    int axis, mask;
} dc_softmax_attr;

/* attention_mask: the (Tq, Tk) of the mask and whether it is causal. */
typedef struct dc_attn_mask_attr {
    int tq, tk, causal;
} dc_attn_mask_attr;

/* l2_normalize: over `axis` (resolved); position_embedding: the first row. */
typedef struct dc_axis_attr {
    int axis;
} dc_axis_attr;

typedef union dc_attr {
    dc_act_attr act;
    dc_scale_attr scale;
    dc_reshape_attr reshape;
    dc_columns_attr columns;
    dc_conv_attr conv;
    dc_pool_attr pool;
    dc_global_pool_attr global_pool;
    dc_deconv_attr deconv;
    dc_loss_attr loss;
    dc_regularizer_attr regularizer;
    dc_batchnorm_attr batchnorm;
    dc_dropout_attr dropout;
    dc_rnn_attr rnn;
    dc_rnn_state_attr rnn_state;
    dc_concat_attr concat;
    dc_layernorm_attr layernorm;
    dc_prelu_attr prelu;
    dc_relu_ex_attr relu_ex;
    dc_normalize_attr normalize;
    dc_noise_attr noise;
    dc_repeat_attr repeat;
    dc_permute_attr permute;
    dc_step_mask_attr step_mask;
    dc_time_unfold_attr time_unfold;
    dc_upsample_attr upsample;
    dc_pad_attr pad;
    dc_flip_attr flip;
    dc_affine_attr affine;
    dc_color_attr color;
    dc_attention_attr attention;
    /* attention */
    dc_bmm_attr bmm;
    dc_softmax_attr softmax;
    dc_attn_mask_attr attn_mask;
    dc_axis_attr axis;
} dc_attr;

#endif
