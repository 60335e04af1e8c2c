/*
 * export_ops.c - how each deepc op is written as ONNX nodes (the table
 * dc_ox_export_node looks up), for inference.
 *
 * Every tensor keeps its deepc node's shape (channels last).  The ops ONNX
 * defines channels-first (Conv, ConvTranspose, MaxPool, AveragePool,
 * BatchNormalization, Resize) are written between two Transposes; kernels
 * are stored already in ONNX's layout (OIHW for Conv, IOHW for
 * ConvTranspose).  "same" padding is written as the explicit pads deepc
 * computes (the odd pixel after, as Keras / TensorFlow); average pooling
 * leaves the padding out of the mean (count_include_pad 0, as Keras).
 * Training-only ops (dropout, noise, augmentation) are the identity.
 * Reshapes, TimeDistributed's folds and views use Reshape with the batch
 * axis -1, so the batch stays dynamic.
 *
 * Shapes in the comments are deepc's, batch first.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

typedef dc_status (*export_fn)(dc_ox *w, const dc_node *n, const char **out);

/* NHWC <-> NCHW */
static const int TO_NCHW[4] = {0, 3, 1, 2}, TO_NHWC[4] = {0, 2, 3, 1};
/* deepc's conv kernel (kh, kw, C, F) -> ONNX's (F, C, kh, kw); the same
 * permutation takes conv2d_transpose's (kh, kw, F, C) to ONNX's (C, F, kh, kw). */
static const int KERNEL_PERM[4] = {3, 2, 0, 1};

static const char *ints_attr_pair(dc_ox *w, const char *name, int a, int b)
{
    dc_ox_attr_ints(w, name, 2, (int64_t[]){a, b});
    return NULL;
}

/* Output size and leading pad of one axis, as ops_conv.c computes them. */
static void same_pads(int n, int k, int s, int d, int same, int *before, int *after)
{
    int span = d * (k - 1) + 1;
    int o = same ? (n + s - 1) / s : (n - span) / s + 1;
    int total = (o - 1) * s + span - n;
    *before = *after = 0;
    if (same && total > 0) {
        *before = total / 2;
        *after = total - *before;
    }
}

/* ---- elementwise and shapes ---- */

static dc_status ex_identity(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_in(w, n, 0); /* dropout, noise, augmentation: nothing at inference */
    return DC_OK;
}

static dc_status ex_binary(dc_ox *w, const dc_node *n, const char **out)
{
    const char *op = n->op == &dc_op_add       ? "Add"
                     : n->op == &dc_op_sub     ? "Sub"
                     : n->op == &dc_op_mul     ? "Mul"
                     : n->op == &dc_op_maximum ? "Max"
                     : n->op == &dc_op_minimum ? "Min"
                                               : "MatMul";
    *out = dc_ox_op2(w, op, dc_ox_in(w, n, 0), dc_ox_in(w, n, 1));
    return DC_OK;
}

/* The ONNX import's Broadcast layer (layers/layers_onnx.c) as Add / Sub /
 * Mul / Div, whose numpy broadcasting is the op's (both operands stored with
 * the batch first, one rank). */

static dc_status ex_broadcast_binary(dc_ox *w, const dc_node *n, const char **out)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Sub", "Div"}; /* 4, 5: b - a, b / a */
    int op = n->attr.axis.axis;
    if (op < 0 || op > 5)
        return dc_fail(DC_ERR_ARG, "broadcast_binary: op %d, expected 0 to 5", op);
    const char *a = dc_ox_in(w, n, 0), *b = dc_ox_in(w, n, 1);
    *out = op < 4 ? dc_ox_op2(w, ops[op], a, b) : dc_ox_op2(w, ops[op], b, a);
    return DC_OK;
}

static dc_status ex_dense(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (..., in) W (in, units) + b (units) */
    const char *x = dc_ox_in(w, n, 0), *k = dc_ox_in(w, n, 1);
    if (n->ndim == 2) {
        const char *in[3] = {x, k, n->in[2] ? dc_ox_in(w, n, 2) : NULL};
        *out = dc_ox_op(w, "Gemm", n->in[2] ? 3 : 2, in, 1);
        return DC_OK;
    }
    *out = dc_ox_op2(w, "MatMul", x, k);
    if (n->in[2])
        *out = dc_ox_op2(w, "Add", *out, dc_ox_in(w, n, 2));
    return DC_OK;
}

static dc_status ex_scale(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_op2(w, "Mul", dc_ox_in(w, n, 0), dc_ox_scalar(w, n->attr.scale.scale));
    if (n->attr.scale.offset != 0.0f)
        *out = dc_ox_op2(w, "Add", *out, dc_ox_scalar(w, n->attr.scale.offset));
    return DC_OK;
}

const char *dc_ox_act(dc_ox *w, const char *x, dc_act a, float alpha)
{
    const char *y;
    switch (a) {
    case DC_ACT_LINEAR: return x;
    case DC_ACT_SIGMOID: return dc_ox_op1(w, "Sigmoid", x);
    case DC_ACT_TANH: return dc_ox_op1(w, "Tanh", x);
    case DC_ACT_RELU: return dc_ox_op1(w, "Relu", x);
    case DC_ACT_SOFTPLUS: return dc_ox_op1(w, "Softplus", x);
    case DC_ACT_SOFTMAX:
        y = dc_ox_op1(w, "Softmax", x);
        dc_ox_attr_int(w, "axis", -1);
        return y;
    case DC_ACT_LEAKY_RELU:
        y = dc_ox_op1(w, "LeakyRelu", x);
        dc_ox_attr_float(w, "alpha", alpha);
        return y;
    case DC_ACT_ELU:
        y = dc_ox_op1(w, "Elu", x);
        dc_ox_attr_float(w, "alpha", alpha);
        return y;
    case DC_ACT_SELU: /* Keras' constants (ONNX's defaults differ in the last digits) */
        y = dc_ox_op1(w, "Selu", x);
        dc_ox_attr_float(w, "alpha", 1.6732632423543772f);
        dc_ox_attr_float(w, "gamma", 1.0507009873554805f);
        return y;
    case DC_ACT_GELU: { /* exact: x / 2 (1 + erf(x / sqrt 2)) */
        const char *e = dc_ox_op1(w, "Erf", dc_ox_op2(w, "Mul", x, dc_ox_scalar(w, 0.70710678118654752f)));
        const char *h = dc_ox_op2(w, "Mul", x, dc_ox_scalar(w, 0.5f));
        return dc_ox_op2(w, "Mul", h, dc_ox_op2(w, "Add", e, dc_ox_scalar(w, 1.0f)));
    }
    case DC_ACT_SWISH: return dc_ox_op2(w, "Mul", x, dc_ox_op1(w, "Sigmoid", x));
    default: return NULL;
    }
}

static dc_status ex_act(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_act(w, dc_ox_in(w, n, 0), (dc_act)n->attr.act.fn, n->attr.act.alpha);
    if (!*out)
        return dc_fail(DC_ERR_UNSUPPORTED, "activation %d has no ONNX form", n->attr.act.fn);
    return DC_OK;
}

static dc_status ex_relu_ex(dc_ox *w, const dc_node *n, const char **out)
{
    /* x > threshold ? min(x, max_value) : slope (x - threshold) */
    const dc_relu_ex_attr *a = &n->attr.relu_ex;
    const char *x = dc_ox_in(w, n, 0), *th = dc_ox_scalar(w, a->threshold);
    const char *pos = isinf(a->max_value) ? x : dc_ox_op2(w, "Min", x, dc_ox_scalar(w, a->max_value));
    const char *neg = dc_ox_op2(w, "Mul", dc_ox_op2(w, "Sub", x, th), dc_ox_scalar(w, a->slope));
    const char *in[3] = {dc_ox_op2(w, "Greater", x, th), pos, neg};
    *out = dc_ox_op(w, "Where", 3, in, 1);
    return DC_OK;
}

static dc_status ex_prelu(dc_ox *w, const dc_node *n, const char **out)
{
    /* alpha (per-sample shape, 1 on shared axes) broadcasts against (B, ...) */
    *out = dc_ox_op2(w, "PRelu", dc_ox_in(w, n, 0), dc_ox_in(w, n, 1));
    return DC_OK;
}

static dc_status ex_reshape(dc_ox *w, const dc_node *n, const char **out)
{
    /* reshape, time_fold, time_unfold, views: to the node's shape */
    const dc_node *x = n->in[0];
    if (x->ndim == n->ndim && memcmp(x->shape + 1, n->shape + 1, (size_t)(n->ndim - 1) * sizeof(int)) == 0 &&
        x->batched == n->batched && (n->batch_mult ? n->batch_mult : 1) == (x->batch_mult ? x->batch_mult : 1)) {
        *out = dc_ox_in(w, n, 0); /* a fused BatchNormalization -> ReLU left the ReLU as this */
        return DC_OK;
    }
    *out = dc_ox_reshape_as(w, dc_ox_in(w, n, 0), n);
    return DC_OK;
}

static dc_status ex_concat(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_op2(w, "Concat", dc_ox_in(w, n, 0), dc_ox_in(w, n, 1));
    dc_ox_attr_int(w, "axis", n->attr.concat.axis);
    return DC_OK;
}

static dc_status ex_permute(dc_ox *w, const dc_node *n, const char **out)
{
    int perm[DC_MAX_DIMS] = {0};
    for (int i = 0; i < n->attr.permute.ndims; i++)
        perm[i + 1] = n->attr.permute.perm[i] + 1;
    *out = dc_ox_transpose(w, dc_ox_in(w, n, 0), n->attr.permute.ndims + 1, perm);
    return DC_OK;
}

static dc_status ex_repeat(dc_ox *w, const dc_node *n, const char **out)
{
    /* (B, F...) -> (B, n, F...): a new axis 1, tiled n times */
    int64_t reps[DC_MAX_DIMS];
    for (int i = 0; i < n->ndim; i++)
        reps[i] = i == 1 ? n->attr.repeat.n : 1;
    const char *u = dc_ox_op2(w, "Unsqueeze", dc_ox_in(w, n, 0), dc_ox_int64s(w, "axes", 1, (int64_t[]){1}));
    *out = dc_ox_op2(w, "Tile", u, dc_ox_int64s(w, "repeats", n->ndim, reps));
    return DC_OK;
}

/* ---- masks ---- */

/* The axes 2 .. ndim - 1 (the features of (B, T, ...)). */
static int feature_axes(int ndim, int64_t *axes)
{
    for (int i = 2; i < ndim; i++)
        axes[i - 2] = i;
    return ndim - 2;
}

static dc_status ex_step_mask(dc_ox *w, const dc_node *n, const char **out)
{
    /* (B, T, ...) -> (B, T): 1 where some feature differs from mask_value */
    const dc_node *x = n->in[0];
    int64_t axes[DC_MAX_DIMS];
    int na = feature_axes(x->ndim, axes);
    const char *ne = dc_ox_op1(w, "Not", dc_ox_op2(w, "Equal", dc_ox_in(w, n, 0),
                                                   dc_ox_scalar(w, n->attr.step_mask.mask_value)));
    const char *f = dc_ox_op1(w, "Cast", ne);
    dc_ox_attr_int(w, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    *out = dc_ox_op1(w, "ReduceMax", f);
    dc_ox_attr_ints(w, "axes", na, axes);
    dc_ox_attr_int(w, "keepdims", 0);
    return DC_OK;
}

static dc_status ex_mask_steps(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (B, T, ...) with the steps whose mask (B, T) is 0 set to 0 */
    const dc_node *x = n->in[0];
    int64_t axes[DC_MAX_DIMS];
    int na = feature_axes(x->ndim, axes);
    const char *keep = dc_ox_op1(w, "Not", dc_ox_op2(w, "Equal", dc_ox_in(w, n, 1), dc_ox_scalar(w, 0.0f)));
    keep = dc_ox_op2(w, "Unsqueeze", keep, dc_ox_int64s(w, "axes", na, axes));
    const char *in[3] = {keep, dc_ox_in(w, n, 0), dc_ox_scalar(w, 0.0f)};
    *out = dc_ox_op(w, "Where", 3, in, 1);
    return DC_OK;
}

static dc_status ex_embedding(dc_ox *w, const dc_node *n, const char **out)
{
    /* ids (B, T) as floats -> Gather(table, int64 ids) (B, T, dim) */
    const char *ids = dc_ox_op1(w, "Cast", dc_ox_in(w, n, 0));
    dc_ox_attr_int(w, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    *out = dc_ox_op2(w, "Gather", dc_ox_in(w, n, 1), ids);
    dc_ox_attr_int(w, "axis", 0);
    return DC_OK;
}

/* ---- normalisation ---- */

/* The permutation moving the last axis to 1 (channels first), or its inverse. */
static void last_to_1(int nd, int inverse, int *perm)
{
    for (int i = 0; i < nd; i++)
        perm[i] = i;
    if (nd < 3)
        return;
    for (int i = 0; i < nd; i++)
        perm[i] = inverse ? (i == 0 ? 0 : i == nd - 1 ? 1 : i + 1) : (i == 0 ? 0 : i == 1 ? nd - 1 : i - 1);
}

static dc_status ex_batchnorm(dc_ox *w, const dc_node *n, const char **out)
{
    /* inference: the moving statistics; channels (the last axis) moved to 1 */
    int nd = n->ndim, perm[DC_MAX_DIMS], back[DC_MAX_DIMS];
    last_to_1(nd, 0, perm);
    last_to_1(nd, 1, back);
    const char *x = dc_ox_in(w, n, 0);
    if (nd >= 3)
        x = dc_ox_transpose(w, x, nd, perm);
    const char *in[5] = {x, dc_ox_in(w, n, 1), dc_ox_in(w, n, 2), dc_ox_in(w, n, 3), dc_ox_in(w, n, 4)};
    const char *y = dc_ox_op(w, "BatchNormalization", 5, in, 1);
    dc_ox_attr_float(w, "epsilon", n->attr.batchnorm.epsilon);
    if (n->attr.batchnorm.relu)
        y = dc_ox_op1(w, "Relu", y);
    *out = nd >= 3 ? dc_ox_transpose(w, y, nd, back) : y;
    return DC_OK;
}

static dc_status ex_layernorm(dc_ox *w, const dc_node *n, const char **out)
{
    if (w->opset < 17)
        return dc_fail(DC_ERR_UNSUPPORTED, "ONNX's LayerNormalization needs opset 17, the export asks for %d",
                       w->opset);
    const char *in[3] = {dc_ox_in(w, n, 0), dc_ox_in(w, n, 1), dc_ox_in(w, n, 2)};
    *out = dc_ox_op(w, "LayerNormalization", 3, in, 1);
    dc_ox_attr_int(w, "axis", -1);
    dc_ox_attr_float(w, "epsilon", n->attr.layernorm.epsilon);
    return DC_OK;
}

static dc_status ex_normalize(dc_ox *w, const dc_node *n, const char **out)
{
    /* (x - mean) / d, or mean + x d, d = max(sqrt(variance), 1e-7) */
    const dc_node *mean = n->in[1], *var = n->in[2];
    const float *v = dc_ox_const_values(var);
    if (!v || !dc_ox_const_values(mean))
        return dc_fail(DC_ERR_UNSUPPORTED, "Normalization's statistics are not weights");
    size_t c = dc_node_size(var);
    float *d = malloc(c * sizeof *d);
    if (!d)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c; i++) {
        float s = sqrtf(v[i]);
        d[i] = s > 1e-7f ? s : 1e-7f;
    }
    int64_t dim = (int64_t)c;
    const char *dn = dc_ox_floats(w, dc_ox_str(w, "%s/std", var->name), 1, &dim, d);
    free(d);
    const char *x = dc_ox_in(w, n, 0), *m = dc_ox_in(w, n, 1);
    *out = n->attr.normalize.invert ? dc_ox_op2(w, "Add", m, dc_ox_op2(w, "Mul", x, dn))
                                    : dc_ox_op2(w, "Div", dc_ox_op2(w, "Sub", x, m), dn);
    return DC_OK;
}

/* ---- convolution and pooling (channels first between Transposes) ---- */

static void conv_pads(dc_ox *w, const dc_node *x, int kh, int kw, int sh, int sw, int dh, int dw, int same)
{
    int t, b, l, r;
    same_pads(x->shape[1], kh, sh, dh, same, &t, &b);
    same_pads(x->shape[2], kw, sw, dw, same, &l, &r);
    dc_ox_attr_ints(w, "pads", 4, (int64_t[]){t, l, b, r});
}

static dc_status ex_conv2d(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (B, H, W, C), kernel (kh, kw, C / groups, F), bias (F): conv2d and
     * conv2d_grouped (ONNX's group = C / the kernel's input channels);
     * depthwise_conv2d's kernel (kh, kw, C, M) is ONNX's group = C with the
     * weight (C*M, 1, kh, kw), output channel c*M + m from kernel[:, :, c, m] */
    const dc_conv_attr *a = &n->attr.conv;
    const dc_node *x = n->in[0], *k = n->in[1];
    if (!dc_ox_const_values(k))
        return dc_fail(DC_ERR_UNSUPPORTED, "the convolution's kernel is not a weight");
    int depthwise = n->op == &dc_op_depthwise_conv2d;
    int groups = depthwise ? x->shape[3] : x->shape[3] / k->shape[2];
    static const int DW_PERM[4] = {2, 3, 0, 1}; /* (kh, kw, C, M) -> (C, M, kh, kw) */
    const int64_t dw_dims[4] = {(int64_t)k->shape[2] * k->shape[3], 1, k->shape[0], k->shape[1]};
    const char *kn = depthwise ? dc_ox_weight_as(w, "oihw", k, DW_PERM, 4, dw_dims) : dc_ox_weight(w, "oihw", k, KERNEL_PERM);
    const char *in[3] = {dc_ox_transpose(w, dc_ox_in(w, n, 0), 4, TO_NCHW), kn, n->in[2] ? dc_ox_in(w, n, 2) : NULL};
    const char *y = dc_ox_op(w, "Conv", n->in[2] ? 3 : 2, in, 1);
    if (groups > 1)
        dc_ox_attr_int(w, "group", groups);
    ints_attr_pair(w, "kernel_shape", k->shape[0], k->shape[1]);
    ints_attr_pair(w, "strides", a->stride_h, a->stride_w);
    ints_attr_pair(w, "dilations", a->dilation_h, a->dilation_w);
    conv_pads(w, x, k->shape[0], k->shape[1], a->stride_h, a->stride_w, a->dilation_h, a->dilation_w, a->same);
    if (a->relu)
        y = dc_ox_op1(w, "Relu", y);
    *out = dc_ox_transpose(w, y, 4, TO_NHWC);
    return DC_OK;
}

static dc_status ex_conv2d_transpose(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (B, H, W, C), kernel (kh, kw, F, C), bias (F) -> (B, OH, OW, F) */
    const dc_deconv_attr *a = &n->attr.deconv;
    const dc_node *x = n->in[0], *k = n->in[1];
    if (!dc_ox_const_values(k))
        return dc_fail(DC_ERR_UNSUPPORTED, "the kernel is not a weight");
    int pads[2][2], extra[2];
    for (int i = 0; i < 2; i++) { /* TensorFlow's placing: max(full - out, 0) cropped, half before */
        int full = (x->shape[1 + i] - 1) * a->stride[i] + a->dilation[i] * (k->shape[i] - 1) + 1;
        int o = n->shape[1 + i], total = full - o;
        pads[i][0] = total > 0 ? total / 2 : 0;
        pads[i][1] = total > 0 ? total - pads[i][0] : 0;
        extra[i] = total < 0 ? -total : 0; /* output_padding beyond the full size: zeros after */
    }
    const char *kn = dc_ox_weight(w, "iohw", k, KERNEL_PERM);
    const char *in[3] = {dc_ox_transpose(w, dc_ox_in(w, n, 0), 4, TO_NCHW), kn, n->in[2] ? dc_ox_in(w, n, 2) : NULL};
    const char *y = dc_ox_op(w, "ConvTranspose", n->in[2] ? 3 : 2, in, 1);
    ints_attr_pair(w, "kernel_shape", k->shape[0], k->shape[1]);
    ints_attr_pair(w, "strides", a->stride[0], a->stride[1]);
    ints_attr_pair(w, "dilations", a->dilation[0], a->dilation[1]);
    dc_ox_attr_ints(w, "pads", 4, (int64_t[]){pads[0][0], pads[1][0], pads[0][1], pads[1][1]});
    if (extra[0] || extra[1])
        ints_attr_pair(w, "output_padding", extra[0], extra[1]);
    *out = dc_ox_transpose(w, y, 4, TO_NHWC);
    return DC_OK;
}

static dc_status ex_pool2d(dc_ox *w, const dc_node *n, const char **out)
{
    const dc_pool_attr *a = &n->attr.pool;
    const char *y = dc_ox_op1(w, a->is_max ? "MaxPool" : "AveragePool", dc_ox_transpose(w, dc_ox_in(w, n, 0), 4, TO_NCHW));
    ints_attr_pair(w, "kernel_shape", a->pool_h, a->pool_w);
    ints_attr_pair(w, "strides", a->stride_h, a->stride_w);
    conv_pads(w, n->in[0], a->pool_h, a->pool_w, a->stride_h, a->stride_w, 1, 1, a->same);
    *out = dc_ox_transpose(w, y, 4, TO_NHWC);
    return DC_OK;
}

static dc_status ex_global_pool(dc_ox *w, const dc_node *n, const char **out)
{
    /* (B, ..., C) -> (B, C): over the axes between */
    const dc_node *x = n->in[0];
    int64_t axes[DC_MAX_DIMS];
    for (int i = 1; i < x->ndim - 1; i++)
        axes[i - 1] = i;
    *out = dc_ox_op1(w, n->attr.global_pool.is_max ? "ReduceMax" : "ReduceMean", dc_ox_in(w, n, 0));
    dc_ox_attr_ints(w, "axes", x->ndim - 2, axes);
    dc_ox_attr_int(w, "keepdims", 0);
    return DC_OK;
}

/* ---- image-to-image ---- */

static dc_status ex_upsample2d(dc_ox *w, const dc_node *n, const char **out)
{
    const dc_upsample_attr *a = &n->attr.upsample;
    float scales[4] = {1.0f, 1.0f, (float)a->size_h, (float)a->size_w};
    const char *in[3] = {dc_ox_transpose(w, dc_ox_in(w, n, 0), 4, TO_NCHW), "",
                         dc_ox_floats(w, NULL, 1, (int64_t[]){4}, scales)};
    const char *y = dc_ox_op(w, "Resize", 3, in, 1);
    if (a->bilinear) { /* half-pixel centres, as tf.image.resize */
        dc_ox_attr_str(w, "mode", "linear");
        dc_ox_attr_str(w, "coordinate_transformation_mode", "half_pixel");
    } else { /* every pixel repeated */
        dc_ox_attr_str(w, "mode", "nearest");
        dc_ox_attr_str(w, "coordinate_transformation_mode", "asymmetric");
        dc_ox_attr_str(w, "nearest_mode", "floor");
    }
    *out = dc_ox_transpose(w, y, 4, TO_NHWC);
    return DC_OK;
}

static dc_status ex_pad2d(dc_ox *w, const dc_node *n, const char **out)
{
    /* NHWC: negative amounts crop (Slice), positive ones pad zeros (Pad) */
    const dc_pad_attr *a = &n->attr.pad;
    const dc_node *x = n->in[0];
    const char *y = dc_ox_in(w, n, 0);
    int amt[4] = {a->top, a->bottom, a->left, a->right};
    if (amt[0] < 0 || amt[1] < 0 || amt[2] < 0 || amt[3] < 0) {
        int64_t starts[2], ends[2];
        for (int i = 0; i < 2; i++) {
            starts[i] = amt[2 * i] < 0 ? -amt[2 * i] : 0;
            ends[i] = x->shape[1 + i] - (amt[2 * i + 1] < 0 ? -amt[2 * i + 1] : 0);
        }
        const char *in[4] = {y, dc_ox_int64s(w, "starts", 2, starts), dc_ox_int64s(w, "ends", 2, ends),
                             dc_ox_int64s(w, "axes", 2, (int64_t[]){1, 2})};
        y = dc_ox_op(w, "Slice", 4, in, 1);
    }
    if (amt[0] > 0 || amt[1] > 0 || amt[2] > 0 || amt[3] > 0) {
        int64_t pads[8] = {0};
        pads[1] = amt[0] > 0 ? amt[0] : 0;
        pads[2] = amt[2] > 0 ? amt[2] : 0;
        pads[5] = amt[1] > 0 ? amt[1] : 0;
        pads[6] = amt[3] > 0 ? amt[3] : 0;
        y = dc_ox_op2(w, "Pad", y, dc_ox_int64s(w, "pads", 8, pads));
    }
    *out = y;
    return DC_OK;
}

/* ---- the table ---- */

static const struct {
    const dc_op *op;
    export_fn fn;
} TABLE[] = {
    {&dc_op_dense, ex_dense},
    {&dc_op_matmul, ex_binary},
    {&dc_op_add, ex_binary},
    {&dc_op_sub, ex_binary},
    {&dc_op_mul, ex_binary},
    {&dc_op_maximum, ex_binary},
    {&dc_op_minimum, ex_binary},
    {&dc_op_broadcast_binary, ex_broadcast_binary},
    {&dc_op_onnx_unary, dc_ox_export_unary},
    {&dc_op_onnx_hard_swish, dc_ox_export_hard_swish},
    {&dc_op_reduce_mean_last, dc_ox_export_reduce_mean},
    {&dc_op_scale, ex_scale},
    {&dc_op_act, ex_act},
    {&dc_op_relu_ex, ex_relu_ex},
    {&dc_op_prelu, ex_prelu},
    {&dc_op_reshape, ex_reshape},
    {&dc_op_time_fold, ex_reshape},
    {&dc_op_time_unfold, ex_reshape},
    {&dc_op_concat, ex_concat},
    {&dc_op_permute, ex_permute},
    {&dc_op_repeat, ex_repeat},
    {&dc_op_step_mask, ex_step_mask},
    {&dc_op_mask_steps, ex_mask_steps},
    {&dc_op_embedding, ex_embedding},
    {&dc_op_batchnorm, ex_batchnorm},
    {&dc_op_layernorm, ex_layernorm},
    {&dc_op_normalize, ex_normalize},
    {&dc_op_conv2d, ex_conv2d},
    {&dc_op_conv2d_grouped, ex_conv2d},
    {&dc_op_depthwise_conv2d, ex_conv2d},
    {&dc_op_conv2d_transpose, ex_conv2d_transpose},
    {&dc_op_pool2d, ex_pool2d},
    {&dc_op_global_pool, ex_global_pool},
    {&dc_op_upsample2d, ex_upsample2d},
    {&dc_op_pad2d, ex_pad2d},
    {&dc_op_rnn, dc_ox_export_rnn},
    /* attention (export_attn.c) */
    {&dc_op_batched_matmul, dc_ox_export_bmm},
    {&dc_op_softmax, dc_ox_export_softmax},
    {&dc_op_attention_mask, dc_ox_export_attn_mask},
    {&dc_op_mul_scalar, dc_ox_export_mul_scalar},
    {&dc_op_additive_score, dc_ox_export_additive_score},
    {&dc_op_position_embedding, dc_ox_export_posemb},
    {&dc_op_l2_normalize, dc_ox_export_l2_normalize},
    {&dc_op_log_softmax, dc_ox_export_log_softmax},
    {&dc_op_attention, dc_ox_export_attention},
    /* training only: the identity at inference */
    {&dc_op_dropout, ex_identity},
    {&dc_op_spatial_dropout, ex_identity},
    {&dc_op_gaussian_noise, ex_identity},
    {&dc_op_random_flip, ex_identity},
    {&dc_op_random_affine, ex_identity},
    {&dc_op_random_color, ex_identity},
};

dc_status dc_ox_export_node(dc_ox *w, const dc_node *n, const char **out)
{
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].op == n->op)
            return TABLE[i].fn(w, n, out);
    if (n->op == &dc_op_rnn_state)
        return dc_fail(DC_ERR_UNSUPPORTED, "a recurrent layer's final state (return_state) has no ONNX export yet");
    return dc_fail(DC_ERR_UNSUPPORTED, "its op %s has no ONNX counterpart", n->op->name);
}
