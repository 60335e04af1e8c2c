/*
 * layers_depthwise.c - DepthwiseConv2D and SeparableConv2D, with Keras 3's
 * arguments, defaults, weight names and config keys
 * (keras/src/layers/convolutional/base_depthwise_conv.py,
 * base_separable_conv.py).  channels_last only.
 *
 * DepthwiseConv2D: x (B, H, W, C) -> depthwise_conv2d (ops_depthwise.c) with
 * weights "kernel" (kh, kw, C, depth_multiplier) and "bias" (C *
 * depth_multiplier), then the activation.  Keras 3 names the kernel
 * "kernel" (Keras 2: "depthwise_kernel").
 *
 * SeparableConv2D: the same depthwise convolution without bias (weight
 * "depthwise_kernel"), then a 1x1 conv2d over its C * depth_multiplier
 * channels (weight "pointwise_kernel" (1, 1, C*M, filters)) with "bias"
 * (filters), then the activation (a ReLU runs inside the conv2d).  Each
 * kernel's regulariser, when set, adds its loss (the two summed).
 */
#include "layers/layer.h"
#include "core/checked.h"

#include <string.h>

dc_depthwise_config dc_depthwise_defaults(int kernel_h, int kernel_w)
{
    dc_depthwise_config c;
    memset(&c, 0, sizeof c);
    c.filters = 0;
    c.kernel[0] = kernel_h;
    c.kernel[1] = kernel_w;
    c.strides[0] = c.strides[1] = 1;
    c.padding = DC_PADDING_VALID;
    c.depth_multiplier = 1;
    c.dilation[0] = c.dilation[1] = 1;
    c.activation = NULL;
    c.use_bias = 1;
    c.depthwise_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.pointwise_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.bias_initializer = dc_init_make(DC_INIT_ZEROS);
    return c;
}

static int is_separable(const dc_layer *l) { return l->cls == &dc_class_separable_conv2d; }

/* reg = reg + l1/l2 regularisation of w, when set and the call trains. */
static dc_status add_reg(dc_graph *g, dc_layer_call *call, dc_node *w, float l1, float l2)
{
    if (call->frozen || (l1 == 0.0f && l2 == 0.0f))
        return DC_OK;
    dc_node *r = dc_regularizer(g, w, l1, l2);
    if (r && call->reg)
        r = dc_add(g, call->reg, r);
    if (!r)
        return dc_last_status();
    call->reg = r;
    return DC_OK;
}

static dc_status depthwise_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const dc_depthwise_config *c = &l->cfg.depthwise;
    int sep = is_separable(l);
    if (x->ndim != 4)
        return dc_layer_rank_error(l, x, 4);
    int in = x->shape[3], mid;
    if (dc_ckd_mul(&mid, in, c->depth_multiplier))
        return dc_fail(DC_ERR_SHAPE, "%s: %d channels x depth_multiplier %d overflows", l->name, in,
                       c->depth_multiplier);
    dc_node *dk = dc_layer_weight(g, call, l->name, sep ? "depthwise_kernel" : "kernel", 4,
                                  (int[]){c->kernel[0], c->kernel[1], in, c->depth_multiplier},
                                  c->depthwise_initializer, 1, 1);
    dc_node *pk = NULL, *b = NULL;
    if (dk && sep)
        pk = dc_layer_weight(g, call, l->name, "pointwise_kernel", 4, (int[]){1, 1, mid, c->filters},
                             c->pointwise_initializer, 1, 1);
    int units = sep ? c->filters : mid;
    if (dk && (pk || !sep) && c->use_bias)
        b = dc_layer_weight(g, call, l->name, "bias", 1, &units, c->bias_initializer, 1, 1);
    if (!dk || (sep && !pk) || (c->use_bias && !b))
        return dc_last_status();
    dc_status st = add_reg(g, call, dk, c->depthwise_l1, c->depthwise_l2);
    if (st == DC_OK && sep)
        st = add_reg(g, call, pk, c->pointwise_l1, c->pointwise_l2);
    if (st != DC_OK)
        return st;
    dc_act act = dc_layer_act(c->activation);
    int same = c->padding == DC_PADDING_SAME, relu = sep && act == DC_ACT_RELU;
    dc_node *y = dc_depthwise_conv2d(g, x, dk, sep ? NULL : b, c->strides[0], c->strides[1], same, c->dilation[0],
                                     c->dilation[1]);
    if (y && sep)
        y = (relu ? dc_conv2d_relu : dc_conv2d)(g, y, pk, b, 1, 1, 0, 1, 1);
    if (!y)
        return dc_last_status();
    st = dc_layer_finish_activation(call, g, y, relu ? DC_ACT_LINEAR : act);
    call->out_act = act;
    return st;
}

static void write_config(const dc_layer *l, dc_jw *w)
{
    const dc_depthwise_config *c = &l->cfg.depthwise;
    if (is_separable(l))
        dc_jw_int(w, "filters", c->filters);
    dc_jw_int(w, "depth_multiplier", c->depth_multiplier);
    dc_jw_ints(w, "kernel_size", 2, c->kernel);
    dc_jw_ints(w, "strides", 2, c->strides);
    dc_jw_str(w, "padding", c->padding == DC_PADDING_SAME ? "same" : "valid");
    dc_jw_str(w, "data_format", "channels_last");
    dc_jw_ints(w, "dilation_rate", 2, c->dilation);
    dc_jw_str(w, "activation", c->activation);
    dc_jw_bool(w, "use_bias", c->use_bias);
    dc_cfg_write_init(w, "depthwise_initializer", c->depthwise_initializer);
    if (is_separable(l))
        dc_cfg_write_init(w, "pointwise_initializer", c->pointwise_initializer);
    dc_cfg_write_init(w, "bias_initializer", c->bias_initializer);
    dc_cfg_write_reg(w, "depthwise_regularizer", c->depthwise_l1, c->depthwise_l2);
    if (is_separable(l))
        dc_cfg_write_reg(w, "pointwise_regularizer", c->pointwise_l1, c->pointwise_l2);
}

static dc_layer *depthwise_new(const dc_layer_class *cls, const dc_depthwise_config *cfg);

static dc_layer *from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int sep = cls == &dc_class_separable_conv2d;
    dc_depthwise_config c = dc_depthwise_defaults(1, 1);
    if ((sep && (dc_cfg_need(cfg, "filters") || dc_cfg_int(cfg, "filters", 1, DC_DIM_LIMIT, &c.filters))) ||
        dc_cfg_need(cfg, "kernel_size") || dc_cfg_ints(cfg, "kernel_size", 2, 1, DC_DIM_LIMIT, c.kernel) ||
        dc_cfg_int(cfg, "depth_multiplier", 1, DC_DIM_LIMIT, &c.depth_multiplier) ||
        dc_cfg_ints(cfg, "strides", 2, 1, DC_DIM_LIMIT, c.strides) || dc_cfg_padding(cfg, "padding", &c.padding) ||
        dc_cfg_ints(cfg, "dilation_rate", 2, 1, DC_DIM_LIMIT, c.dilation) || dc_cfg_channels_last(cfg) ||
        dc_cfg_act(cfg, "activation", &c.activation) || dc_cfg_bool(cfg, "use_bias", &c.use_bias) ||
        dc_cfg_init(cfg, "depthwise_initializer", &c.depthwise_initializer) ||
        dc_cfg_init(cfg, "bias_initializer", &c.bias_initializer) ||
        dc_cfg_reg(cfg, "depthwise_regularizer", &c.depthwise_l1, &c.depthwise_l2) ||
        (sep && (dc_cfg_init(cfg, "pointwise_initializer", &c.pointwise_initializer) ||
                 dc_cfg_reg(cfg, "pointwise_regularizer", &c.pointwise_l1, &c.pointwise_l2))))
        return NULL;
    return depthwise_new(cls, &c);
}

const dc_layer_class dc_class_depthwise_conv2d = {.type = "DepthwiseConv2D", .snake = "depthwise_conv2d",
                                                  .build = depthwise_build, .to_config = write_config,
                                                  .from_config = from_config};
const dc_layer_class dc_class_separable_conv2d = {.type = "SeparableConv2D", .snake = "separable_conv2d",
                                                  .build = depthwise_build, .to_config = write_config,
                                                  .from_config = from_config};

static dc_layer *depthwise_new(const dc_layer_class *cls, const dc_depthwise_config *cfg)
{
    const char *name = cls->type;
    if ((cls == &dc_class_separable_conv2d && dc_check_dim(name, "filters", -1, cfg->filters, 1)) ||
        dc_check_dim(name, "depth_multiplier", -1, cfg->depth_multiplier, 1) ||
        dc_check_dims(name, "kernel_size", 2, cfg->kernel, 1) || dc_check_dims(name, "strides", 2, cfg->strides, 1) ||
        dc_check_dims(name, "dilation_rate", 2, cfg->dilation, 1) ||
        dc_check_spans(name, 2, cfg->kernel, cfg->dilation))
        return NULL;
    dc_depthwise_config c = *cfg;
    if (dc_layer_act_name(name, cfg->activation, NULL, &c.activation) != DC_OK)
        return NULL;
    dc_layer *l = dc_layer_new(cls);
    if (l)
        l->cfg.depthwise = c;
    return l;
}

dc_layer *dc_layer_depthwise_conv2d_ex(const dc_depthwise_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return depthwise_new(&dc_class_depthwise_conv2d, cfg);
}

dc_layer *dc_layer_separable_conv2d_ex(const dc_depthwise_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return depthwise_new(&dc_class_separable_conv2d, cfg);
}

dc_layer *dc_layer_depthwise_conv2d(int kernel_h, int kernel_w, const char *activation)
{
    dc_depthwise_config c = dc_depthwise_defaults(kernel_h, kernel_w);
    c.activation = activation;
    return depthwise_new(&dc_class_depthwise_conv2d, &c);
}

dc_layer *dc_layer_separable_conv2d(int filters, int kernel_h, int kernel_w, const char *activation)
{
    dc_depthwise_config c = dc_depthwise_defaults(kernel_h, kernel_w);
    c.filters = filters;
    c.activation = activation;
    return depthwise_new(&dc_class_separable_conv2d, &c);
}
