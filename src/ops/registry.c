/*
 * registry.c - the table of every op.  The gradient-check test walks it and
 * fails on any op it has no check for, or on any combination of an op's
 * optional inputs that no check uses, so a new op must be listed here and
 * given a check in tests/test_gradcheck.c.
 */
#include "graph/graph.h"

/* ONNX import's LogSoftmax (layers/layers_onnx.c) */
extern const dc_op dc_op_log_softmax;
extern const dc_op dc_op_broadcast_binary, dc_op_onnx_unary, dc_op_onnx_hard_swish, dc_op_reduce_mean_last;

const dc_op *const dc_op_registry[] = {
    &dc_op_input, &dc_op_param, &dc_op_columns, &dc_op_matmul, &dc_op_dense, &dc_op_add, &dc_op_sub, &dc_op_mul,
    &dc_op_scale, &dc_op_act, &dc_op_reshape, &dc_op_sum, &dc_op_mean, &dc_op_loss, &dc_op_regularizer,
    &dc_op_conv2d, &dc_op_pool2d, &dc_op_global_pool, &dc_op_batchnorm, &dc_op_dropout, &dc_op_embedding,
    &dc_op_concat, &dc_op_rnn, &dc_op_rnn_state,
    /* normalisation, activation and noise layers (ops_normact.c) */
    &dc_op_layernorm, &dc_op_prelu, &dc_op_relu_ex, &dc_op_normalize, &dc_op_gaussian_noise, &dc_op_spatial_dropout,
    &dc_op_repeat, &dc_op_permute, &dc_op_step_mask, &dc_op_mask_steps, &dc_op_time_fold, &dc_op_time_unfold,
    &dc_op_upsample2d, &dc_op_pad2d, &dc_op_conv2d_transpose,
    /* image augmentation (ops_augment.c) */
    &dc_op_random_flip, &dc_op_random_affine, &dc_op_random_color,
    /* merge layers (ops_merge.c) */
    &dc_op_maximum, &dc_op_minimum,
    /* depthwise and grouped convolutions (ops_depthwise.c, ops_conv_grouped.c) */
    &dc_op_depthwise_conv2d, &dc_op_conv2d_grouped,
    /* ONNX import (layers_onnx.c) */
    &dc_op_log_softmax, &dc_op_broadcast_binary, &dc_op_onnx_unary, &dc_op_onnx_hard_swish, &dc_op_reduce_mean_last,
    /* fused attention (ops_attention.c) */
    &dc_op_attention,
    /* attention (ops_matmul.c, ops_softmax.c, ops_attn_misc.c) */
    &dc_op_batched_matmul, &dc_op_softmax, &dc_op_attention_mask, &dc_op_mul_scalar, &dc_op_additive_score,
    &dc_op_position_embedding, &dc_op_l2_normalize,
};

const int dc_op_registry_count = (int)(sizeof dc_op_registry / sizeof dc_op_registry[0]);
