/*
 * layers_conv.c - Conv2D, Conv1D, pooling (2D, 1D, global), Dropout and
 * BatchNormalization, with Keras' arguments and defaults.
 *
 * The 1D layers are the 2D ops on a (batch, 1, steps, channels) view: a
 * reshape shares buffers, so the view costs nothing.  Conv1D's kernel keeps
 * Keras' shape (k, in, filters) and is viewed as (1, k, in, filters).
 */
#include "layers/layer.h"

#include <string.h>

dc_conv_config dc_conv_defaults(int filters, int kernel_h, int kernel_w)
{
    dc_conv_config c;
    memset(&c, 0, sizeof c);
    c.filters = filters;
    c.kernel[0] = kernel_h;
    c.kernel[1] = kernel_w;
    c.strides[0] = c.strides[1] = 1;
    c.dilation[0] = c.dilation[1] = 1;
    c.padding = DC_PADDING_VALID;
    c.activation = NULL;
    c.use_bias = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.bias_initializer = dc_init_make(DC_INIT_ZEROS);
    c.groups = 1;
    return c;
}

/* (B, steps, C) -> (B, 1, steps, C), or back. */
dc_node *dc_layer_view_1d(dc_graph *g, dc_node *x, int to_2d)
{
    int s[3] = {1, x->shape[1], x->shape[2]};
    if (!to_2d) {
        s[0] = x->shape[2];
        s[1] = x->shape[3];
    }
    return dc_reshape(g, x, to_2d ? 3 : 2, s);
}

dc_status dc_layer_rank_error(const dc_layer *l, const dc_node *x, int want)
{
    char sx[96];
    return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected %d: %s", l->name,
                   dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim, want,
                   want == 4 ? "(batch, height, width, channels); an image without a channel axis needs a "
                               "Reshape to (height, width, 1)"
                             : "(batch, steps, channels)");
}

/* ---- Conv2D / Conv1D ---- */

static dc_status conv_build_common(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call, int one_d)
{
    const dc_conv_config *c = &l->cfg.conv;
    if (x->ndim != (one_d ? 3 : 4))
        return dc_layer_rank_error(l, x, one_d ? 3 : 4);
    int in = x->shape[x->ndim - 1], groups = c->groups > 1 ? c->groups : 1;
    if (in % groups != 0)
        return dc_fail(DC_ERR_SHAPE, "%s: input has %d channels, not a multiple of groups %d", l->name, in, groups);
    in /= groups; /* the kernel's input channels */
    dc_node *k, *b;
    int kshape[4] = {c->kernel[0], c->kernel[1], in, c->filters};
    if (one_d) {
        kshape[1] = in;
        kshape[2] = c->filters;
    }
    dc_status st = dc_layer_add_kernel(l, g, call, one_d ? 3 : 4, kshape, c->kernel_initializer, c->use_bias,
                                       c->bias_initializer, c->kernel_l1, c->kernel_l2, &k, &b);
    if (st != DC_OK)
        return st;
    /* ReLU runs inside the convolution */
    dc_act act = dc_layer_act(c->activation);
    int relu = act == DC_ACT_RELU && groups == 1;
    dc_node *(*conv)(dc_graph *, dc_node *, dc_node *, dc_node *, int, int, int, int, int) =
        relu ? dc_conv2d_relu : dc_conv2d;
    dc_node *xin = x, *kin = k, *y;
    int sh = c->strides[0], sw = c->strides[1], dh = c->dilation[0], dw = c->dilation[1];
    if (one_d) {
        xin = dc_layer_view_1d(g, x, 1);
        kin = dc_reshape(g, k, 4, (int[]){1, c->kernel[0], in, c->filters});
        sh = dh = 1;
        sw = c->strides[0];
        dw = c->dilation[0];
    }
    if (groups > 1) /* Keras' groups: ops_conv_grouped.c */
        y = xin && kin ? dc_conv2d_grouped(g, xin, kin, b, groups, sh, sw, c->padding == DC_PADDING_SAME, dh, dw) : NULL;
    else
        y = conv(g, xin, kin, b, sh, sw, c->padding == DC_PADDING_SAME, dh, dw);
    if (y && one_d)
        y = dc_layer_view_1d(g, y, 0);
    if (!y)
        return dc_last_status();
    dc_status st2 = dc_layer_finish_activation(call, g, y, relu ? DC_ACT_LINEAR : act);
    call->out_act = act;
    return st2;
}

static dc_status conv2d_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    return conv_build_common(l, g, x, call, 0);
}
static dc_status conv1d_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    return conv_build_common(l, g, x, call, 1);
}

static dc_layer *conv_new(const dc_layer_class *cls, const dc_conv_config *cfg, int dims);

static void conv_args(dc_conv_config *c, dc_kernel_args *a)
{
    *a = (dc_kernel_args){&c->activation, &c->use_bias, &c->kernel_initializer, &c->bias_initializer, &c->kernel_l1,
                          &c->kernel_l2};
}

static int dims_of(const dc_layer_class *cls) { return strstr(cls->type, "1D") ? 1 : 2; }

void dc_conv_write_config(const dc_layer *l, const dc_conv_config *cfg, dc_jw *w)
{
    dc_conv_config c = *cfg;
    dc_kernel_args a;
    int dims = dims_of(l->cls);
    conv_args(&c, &a);
    dc_jw_int(w, "filters", c.filters);
    dc_jw_ints(w, "kernel_size", dims, c.kernel);
    dc_jw_ints(w, "strides", dims, c.strides);
    dc_jw_str(w, "padding", c.padding == DC_PADDING_SAME ? "same" : "valid");
    dc_jw_str(w, "data_format", "channels_last");
    dc_jw_ints(w, "dilation_rate", dims, c.dilation);
    dc_cfg_write_kernel_args(w, &a);
}

/* data_format, when given, must be channels_last: the only layout deepc has. */
dc_status dc_cfg_channels_last(const dc_json *cfg)
{
    const dc_json *v = dc_json_get(cfg, "data_format");
    if (v && !(v->type == DC_JSON_NULL || (v->type == DC_JSON_STRING && strcmp(v->str, "channels_last") == 0)))
        return dc_fail(DC_ERR_UNSUPPORTED, "key \"data_format\": only \"channels_last\" is supported");
    return DC_OK;
}

dc_status dc_conv_read_config(const dc_json *cfg, int dims, dc_conv_config *c)
{
    dc_kernel_args a;
    *c = dc_conv_defaults(1, 1, 1);
    conv_args(c, &a);
    if (dc_cfg_need(cfg, "filters") || dc_cfg_need(cfg, "kernel_size") || dc_cfg_int(cfg, "filters", 1, DC_DIM_LIMIT, &c->filters) ||
        dc_cfg_ints(cfg, "kernel_size", dims, 1, DC_DIM_LIMIT, c->kernel) ||
        dc_cfg_ints(cfg, "strides", dims, 1, DC_DIM_LIMIT, c->strides) ||
        dc_cfg_padding(cfg, "padding", &c->padding) || dc_cfg_ints(cfg, "dilation_rate", dims, 1, DC_DIM_LIMIT, c->dilation) ||
        dc_cfg_channels_last(cfg) || dc_cfg_kernel_args(cfg, &a))
        return DC_ERR_FORMAT;
    return DC_OK;
}

static void conv_to_config(const dc_layer *l, dc_jw *w)
{
    dc_conv_write_config(l, &l->cfg.conv, w);
    dc_jw_int(w, "groups", l->cfg.conv.groups); /* Conv1D / Conv2D only (not the transposed ones) */
}

static dc_layer *conv_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    dc_conv_config c;
    if (dc_conv_read_config(cfg, dims_of(cls), &c) || dc_cfg_int(cfg, "groups", 1, DC_DIM_LIMIT, &c.groups))
        return NULL;
    return conv_new(cls, &c, dims_of(cls));
}

const dc_layer_class dc_class_conv2d = {.type = "Conv2D", .snake = "conv2d", .build = conv2d_build,
                                        .to_config = conv_to_config, .from_config = conv_from_config};
const dc_layer_class dc_class_conv1d = {.type = "Conv1D", .snake = "conv1d", .build = conv1d_build,
                                        .to_config = conv_to_config, .from_config = conv_from_config};

dc_status dc_conv_check(const char *name, const dc_conv_config *cfg, int dims, dc_conv_config *out)
{
    if (dc_check_dim(name, "filters", -1, cfg->filters, 1) || dc_check_dims(name, "kernel_size", dims, cfg->kernel, 1) ||
        dc_check_dims(name, "strides", dims, cfg->strides, 1) ||
        dc_check_dims(name, "dilation_rate", dims, cfg->dilation, 1) ||
        dc_check_spans(name, dims, cfg->kernel, cfg->dilation))
        return dc_last_status();
    *out = *cfg;
    return dc_layer_act_name(name, cfg->activation, NULL, &out->activation);
}

static dc_layer *conv_new(const dc_layer_class *cls, const dc_conv_config *cfg, int dims)
{
    dc_conv_config c;
    if (dc_conv_check(cls->type, cfg, dims, &c) != DC_OK)
        return NULL;
    if (c.groups == 0) /* a config made without dc_conv_defaults */
        c.groups = 1;
    if (c.groups < 0 || c.filters % c.groups != 0)
        return dc_fail_null(DC_ERR_ARG, "%s: groups %d, expected >= 1 and dividing filters %d", cls->type, c.groups,
                            c.filters);
    dc_layer *l = dc_layer_new(cls);
    if (l)
        l->cfg.conv = c;
    return l;
}

dc_layer *dc_layer_conv2d_ex(const dc_conv_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return conv_new(&dc_class_conv2d, cfg, 2);
}
dc_layer *dc_layer_conv1d_ex(const dc_conv_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return conv_new(&dc_class_conv1d, cfg, 1);
}

static dc_layer *conv_named(const dc_layer_class *cls, int filters, int kh, int kw, const char *activation, int dims)
{
    dc_conv_config c = dc_conv_defaults(filters, kh, kw);
    c.activation = activation;
    return conv_new(cls, &c, dims);
}

dc_layer *dc_layer_conv2d(int filters, int kernel_h, int kernel_w, const char *activation)
{
    return conv_named(&dc_class_conv2d, filters, kernel_h, kernel_w, activation, 2);
}

dc_layer *dc_layer_conv1d(int filters, int kernel, const char *activation)
{
    return conv_named(&dc_class_conv1d, filters, kernel, 1, activation, 1);
}

/* ---- pooling ---- */

static dc_status pool_build_common(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call, int one_d)
{
    const int *p = l->cfg.pool.pool, *s = l->cfg.pool.strides;
    if (x->ndim != (one_d ? 3 : 4))
        return dc_layer_rank_error(l, x, one_d ? 3 : 4);
    dc_node *y;
    if (one_d) {
        y = dc_pool2d(g, dc_layer_view_1d(g, x, 1), l->cfg.pool.is_max, 1, p[0], 1, s[0], l->cfg.pool.same);
        if (y)
            y = dc_layer_view_1d(g, y, 0);
    } else {
        y = dc_pool2d(g, x, l->cfg.pool.is_max, p[0], p[1], s[0], s[1], l->cfg.pool.same);
    }
    call->out = y;
    return y ? DC_OK : dc_last_status();
}

static dc_status pool2d_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    return pool_build_common(l, g, x, call, 0);
}
static dc_status pool1d_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    return pool_build_common(l, g, x, call, 1);
}

static void pool_to_config(const dc_layer *l, dc_jw *w)
{
    int dims = dims_of(l->cls);
    dc_jw_ints(w, "pool_size", dims, l->cfg.pool.pool);
    dc_jw_ints(w, "strides", dims, l->cfg.pool.strides);
    dc_jw_str(w, "padding", l->cfg.pool.same ? "same" : "valid");
    dc_jw_str(w, "data_format", "channels_last");
}

static dc_layer *pool_new(int is_max, int dims, const int *pool, const int *strides, dc_padding padding);

static dc_layer *pool_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int dims = dims_of(cls), pool[2] = {2, 2}, strides[2] = {0, 0};
    dc_padding padding = DC_PADDING_VALID;
    const dc_json *s = dc_json_get(cfg, "strides");
    if (dc_cfg_ints(cfg, "pool_size", dims, 1, DC_DIM_LIMIT, pool) ||
        (s && s->type != DC_JSON_NULL && dc_cfg_ints(cfg, "strides", dims, 1, DC_DIM_LIMIT, strides)) ||
        dc_cfg_padding(cfg, "padding", &padding) || dc_cfg_channels_last(cfg))
        return NULL;
    return pool_new(strstr(cls->type, "Max") != NULL, dims, pool, strides, padding);
}

const dc_layer_class dc_class_maxpool2d = {.type = "MaxPooling2D", .snake = "max_pooling2d", .build = pool2d_build,
                                           .to_config = pool_to_config, .from_config = pool_from_config};
const dc_layer_class dc_class_avgpool2d = {.type = "AveragePooling2D", .snake = "average_pooling2d",
                                           .build = pool2d_build, .to_config = pool_to_config,
                                           .from_config = pool_from_config};
const dc_layer_class dc_class_maxpool1d = {.type = "MaxPooling1D", .snake = "max_pooling1d", .build = pool1d_build,
                                           .to_config = pool_to_config, .from_config = pool_from_config};
const dc_layer_class dc_class_avgpool1d = {.type = "AveragePooling1D", .snake = "average_pooling1d",
                                           .build = pool1d_build, .to_config = pool_to_config,
                                           .from_config = pool_from_config};

static dc_layer *pool_new(int is_max, int dims, const int *pool, const int *strides, dc_padding padding)
{
    const dc_layer_class *cls =
        dims == 2 ? (is_max ? &dc_class_maxpool2d : &dc_class_avgpool2d) : (is_max ? &dc_class_maxpool1d : &dc_class_avgpool1d);
    if (dc_check_dims(cls->type, "pool_size", dims, pool, 1) || dc_check_dims(cls->type, "strides", dims, strides, 0))
        return NULL; /* strides 0: the pool size */
    dc_layer *l = dc_layer_new(cls);
    if (!l)
        return NULL;
    l->cfg.pool.is_max = is_max;
    l->cfg.pool.same = padding == DC_PADDING_SAME;
    for (int i = 0; i < dims; i++) {
        l->cfg.pool.pool[i] = pool[i];
        l->cfg.pool.strides[i] = strides[i] ? strides[i] : pool[i];
    }
    return l;
}

dc_layer *dc_layer_pooling2d_ex(int is_max, int pool_h, int pool_w, int stride_h, int stride_w, dc_padding padding)
{
    return pool_new(is_max, 2, (int[]){pool_h, pool_w}, (int[]){stride_h, stride_w}, padding);
}

dc_layer *dc_layer_pooling1d_ex(int is_max, int pool, int stride, dc_padding padding)
{
    return pool_new(is_max, 1, &pool, &stride, padding);
}

dc_layer *dc_layer_max_pooling2d(int pool_h, int pool_w) { return dc_layer_pooling2d_ex(1, pool_h, pool_w, 0, 0, DC_PADDING_VALID); }
dc_layer *dc_layer_average_pooling2d(int pool_h, int pool_w) { return dc_layer_pooling2d_ex(0, pool_h, pool_w, 0, 0, DC_PADDING_VALID); }
dc_layer *dc_layer_max_pooling1d(int pool) { return dc_layer_pooling1d_ex(1, pool, 0, DC_PADDING_VALID); }
dc_layer *dc_layer_average_pooling1d(int pool) { return dc_layer_pooling1d_ex(0, pool, 0, DC_PADDING_VALID); }

static dc_status global_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    int want = strstr(l->cls->type, "1D") ? 3 : 4;
    if (x->ndim != want)
        return dc_layer_rank_error(l, x, want);
    call->out = dc_global_pool(g, x, l->cfg.global.is_max);
    return call->out ? DC_OK : dc_last_status();
}

static dc_layer *global_new(const dc_layer_class *cls, int is_max)
{
    dc_layer *l = dc_layer_new(cls);
    if (l)
        l->cfg.global.is_max = is_max;
    return l;
}

static dc_layer *global_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    const dc_json *k = dc_json_get(cfg, "keepdims");
    if (dc_cfg_channels_last(cfg))
        return NULL;
    if (k && !(k->type == DC_JSON_BOOL && !k->boolean))
        return dc_fail_null(DC_ERR_UNSUPPORTED, "key \"keepdims\": only false is supported");
    return global_new(cls, strstr(cls->type, "Max") != NULL);
}

const dc_layer_class dc_class_gap2d = {.type = "GlobalAveragePooling2D", .snake = "global_average_pooling2d",
                                       .build = global_build, .to_config = dc_no_config,
                                       .from_config = global_from_config};
const dc_layer_class dc_class_gmp2d = {.type = "GlobalMaxPooling2D", .snake = "global_max_pooling2d",
                                       .build = global_build, .to_config = dc_no_config,
                                       .from_config = global_from_config};
const dc_layer_class dc_class_gap1d = {.type = "GlobalAveragePooling1D", .snake = "global_average_pooling1d",
                                       .build = global_build, .to_config = dc_no_config,
                                       .from_config = global_from_config};
const dc_layer_class dc_class_gmp1d = {.type = "GlobalMaxPooling1D", .snake = "global_max_pooling1d",
                                       .build = global_build, .to_config = dc_no_config,
                                       .from_config = global_from_config};

dc_layer *dc_layer_global_average_pooling2d(void) { return global_new(&dc_class_gap2d, 0); }
dc_layer *dc_layer_global_max_pooling2d(void) { return global_new(&dc_class_gmp2d, 1); }
dc_layer *dc_layer_global_average_pooling1d(void) { return global_new(&dc_class_gap1d, 0); }
dc_layer *dc_layer_global_max_pooling1d(void) { return global_new(&dc_class_gmp1d, 1); }

/* ---- Dropout ---- */

static dc_status dropout_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    call->out = dc_dropout(g, x, l->cfg.dropout.rate);
    return call->out ? DC_OK : dc_last_status();
}

static void dropout_to_config(const dc_layer *l, dc_jw *w) { dc_jw_float(w, "rate", l->cfg.dropout.rate); }

static dc_layer *dropout_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float rate = 0.0f;
    (void)cls;
    if (dc_cfg_need(cfg, "rate") || dc_cfg_float(cfg, "rate", &rate))
        return NULL;
    return dc_layer_dropout(rate);
}

const dc_layer_class dc_class_dropout = {.type = "Dropout", .snake = "dropout", .build = dropout_build,
                                         .to_config = dropout_to_config, .from_config = dropout_from_config};

dc_layer *dc_layer_dropout(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return dc_fail_null(DC_ERR_ARG, "Dropout: rate %g, expected 0 <= rate < 1", (double)rate);
    dc_layer *l = dc_layer_new(&dc_class_dropout);
    if (l)
        l->cfg.dropout.rate = rate;
    return l;
}

/* ---- BatchNormalization ---- */

static dc_status bn_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    int c = dc_node_cols(x);
    static const char *const names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    static const dc_init_kind inits[4] = {DC_INIT_ONES, DC_INIT_ZEROS, DC_INIT_ZEROS, DC_INIT_ONES};
    dc_node *p[4];
    for (int i = 0; i < 4; i++)
        if (!(p[i] = dc_layer_weight(g, call, l->name, names[i], 1, &c, dc_init_make(inits[i]), i < 2, 1)))
            return dc_last_status();
    /* frozen: inference mode, also in fit (Keras) */
    call->out = dc_batchnorm_ex(g, x, p[0], p[1], p[2], p[3], l->cfg.bn.momentum, l->cfg.bn.epsilon, l->frozen);
    if (!call->out)
        return dc_last_status();
    return DC_OK;
}

static void bn_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_int(w, "axis", -1);
    dc_jw_float(w, "momentum", l->cfg.bn.momentum);
    dc_jw_float(w, "epsilon", l->cfg.bn.epsilon);
}

static dc_layer *bn_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float momentum = 0.99f, epsilon = 1e-3f;
    int axis = -1;
    (void)cls;
    if (dc_cfg_int(cfg, "axis", -1, -1, &axis) || dc_cfg_float(cfg, "momentum", &momentum) ||
        dc_cfg_float(cfg, "epsilon", &epsilon))
        return NULL;
    return dc_layer_batch_normalization_ex(momentum, epsilon);
}

const dc_layer_class dc_class_bn = {.type = "BatchNormalization", .snake = "batch_normalization", .build = bn_build,
                                    .to_config = bn_to_config, .from_config = bn_from_config};

dc_layer *dc_layer_batch_normalization_ex(float momentum, float epsilon)
{
    if (!(momentum >= 0.0f && momentum <= 1.0f) || !(epsilon > 0.0f))
        return dc_fail_null(DC_ERR_ARG, "BatchNormalization: momentum %g (expected 0..1), epsilon %g (expected > 0)",
                            (double)momentum, (double)epsilon);
    dc_layer *l = dc_layer_new(&dc_class_bn);
    if (l) {
        l->cfg.bn.momentum = momentum;
        l->cfg.bn.epsilon = epsilon;
    }
    return l;
}

dc_layer *dc_layer_batch_normalization(void) { return dc_layer_batch_normalization_ex(0.99f, 1e-3f); }
