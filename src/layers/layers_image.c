/*
 * layers_image.c - the layers of image-to-image networks (autoencoders,
 * U-Net decoders), channels last, with Keras' arguments, defaults, names
 * and configs: UpSampling2D/1D, ZeroPadding2D/1D, Cropping2D/1D,
 * Conv2DTranspose and Conv1DTranspose.
 *
 * The 1D layers are the 2D ops on a (batch, 1, steps, channels) view, as in
 * layers_conv.c.  Zero padding and cropping are the one pad2d op (cropping
 * pads by negative amounts).
 */
#include "layers/layer.h"

#include <string.h>

static int dims_of(const dc_layer_class *cls) { return strstr(cls->type, "1D") ? 1 : 2; }

/* ---- UpSampling2D / UpSampling1D ---- */

static dc_status upsampling_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const int *s = l->cfg.upsample.size;
    int one_d = dims_of(l->cls) == 1;
    if (x->ndim != (one_d ? 3 : 4))
        return dc_layer_rank_error(l, x, one_d ? 3 : 4);
    if (one_d) {
        dc_node *y = dc_upsample2d(g, dc_layer_view_1d(g, x, 1), 1, s[0], 0);
        call->out = y ? dc_layer_view_1d(g, y, 0) : NULL;
    } else {
        call->out = dc_upsample2d(g, x, s[0], s[1], l->cfg.upsample.bilinear);
    }
    return call->out ? DC_OK : dc_last_status();
}

static void upsampling_to_config(const dc_layer *l, dc_jw *w)
{
    if (dims_of(l->cls) == 1) {
        dc_jw_int(w, "size", l->cfg.upsample.size[0]);
        return;
    }
    dc_jw_ints(w, "size", 2, l->cfg.upsample.size);
    dc_jw_str(w, "data_format", "channels_last");
    dc_jw_str(w, "interpolation", l->cfg.upsample.bilinear ? "bilinear" : "nearest");
}

static dc_layer *upsampling_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int size[2] = {2, 2};
    if (dims_of(cls) == 1)
        return dc_cfg_int(cfg, "size", 1, DC_DIM_LIMIT, size) ? NULL : dc_layer_upsampling1d(size[0]);
    const dc_json *interp = dc_json_get(cfg, "interpolation");
    if (interp && interp->type != DC_JSON_STRING)
        return dc_fail_null(DC_ERR_FORMAT, "key \"interpolation\" must be a string");
    if (dc_cfg_ints(cfg, "size", 2, 1, DC_DIM_LIMIT, size) || dc_cfg_channels_last(cfg))
        return NULL;
    return dc_layer_upsampling2d(size[0], size[1], interp ? interp->str : NULL);
}

const dc_layer_class dc_class_upsampling2d = {.type = "UpSampling2D", .snake = "up_sampling2d",
                                              .build = upsampling_build, .to_config = upsampling_to_config,
                                              .from_config = upsampling_from_config};
const dc_layer_class dc_class_upsampling1d = {.type = "UpSampling1D", .snake = "up_sampling1d",
                                              .build = upsampling_build, .to_config = upsampling_to_config,
                                              .from_config = upsampling_from_config};

static dc_layer *upsampling_new(const dc_layer_class *cls, int size_h, int size_w, int bilinear)
{
    if (dc_check_dims(cls->type, "size", cls == &dc_class_upsampling1d ? 1 : 2, (int[]){size_h, size_w}, 1))
        return NULL;
    dc_layer *l = dc_layer_new(cls);
    if (l) {
        l->cfg.upsample.size[0] = size_h;
        l->cfg.upsample.size[1] = size_w;
        l->cfg.upsample.bilinear = bilinear;
    }
    return l;
}

dc_layer *dc_layer_upsampling2d(int size_h, int size_w, const char *interpolation)
{
    int bilinear = interpolation && strcmp(interpolation, "bilinear") == 0;
    if (interpolation && !bilinear && strcmp(interpolation, "nearest") != 0)
        return dc_fail_null(DC_ERR_UNSUPPORTED,
                            "UpSampling2D: interpolation \"%s\" is not supported; expected \"nearest\" or \"bilinear\"",
                            interpolation);
    return upsampling_new(&dc_class_upsampling2d, size_h, size_w, bilinear);
}

dc_layer *dc_layer_upsampling1d(int size) { return upsampling_new(&dc_class_upsampling1d, size, 1, 0); }

/* ---- ZeroPadding2D/1D, Cropping2D/1D ---- */

static int is_cropping(const dc_layer_class *cls) { return strncmp(cls->type, "Cropping", 8) == 0; }

static dc_status pad_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const int *a = l->cfg.pad.amount;
    int one_d = dims_of(l->cls) == 1, sign = is_cropping(l->cls) ? -1 : 1;
    if (x->ndim != (one_d ? 3 : 4))
        return dc_layer_rank_error(l, x, one_d ? 3 : 4);
    /* each amount is at most DC_DIM_LIMIT (pad_new), so a pair's sum fits; the sum with the input may not */
    int h = 1, w;
    if ((!one_d && dc_ckd_add(&h, x->shape[1], sign * (a[0] + a[1]))) ||
        dc_ckd_add(&w, x->shape[one_d ? 1 : 2], sign * (a[2] + a[3])))
        return dc_fail(DC_ERR_SHAPE, "%s: input (None, %d, %d, ...) padded by %d and %d overflows", l->name,
                       x->shape[1], one_d ? x->shape[2] : x->shape[2], a[0] + a[1], a[2] + a[3]);
    if (h < 1 || w < 1) {
        char sx[96], sy[96], amounts[64];
        int out[4] = {x->shape[0], h, w, x->shape[x->ndim - 1]};
        if (one_d)
            snprintf(amounts, sizeof amounts, "(%d, %d)", a[2], a[3]);
        else
            snprintf(amounts, sizeof amounts, "((%d, %d), (%d, %d))", a[0], a[1], a[2], a[3]);
        return dc_fail(DC_ERR_SHAPE, "%s: cropping %s leaves an empty output %s of input %s", l->name, amounts,
                       one_d ? dc_batch_shape_str(3, (int[]){out[0], w, out[3]}, sy, sizeof sy)
                             : dc_batch_shape_str(4, out, sy, sizeof sy),
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
    }
    dc_node *y = one_d ? dc_layer_view_1d(g, x, 1) : x;
    if (y)
        y = dc_pad2d(g, y, sign * a[0], sign * a[1], sign * a[2], sign * a[3]);
    if (y && one_d)
        y = dc_layer_view_1d(g, y, 0);
    call->out = y;
    return y ? DC_OK : dc_last_status();
}

static void pad_to_config(const dc_layer *l, dc_jw *w)
{
    const int *a = l->cfg.pad.amount;
    const char *key = is_cropping(l->cls) ? "cropping" : "padding";
    if (dims_of(l->cls) == 1) {
        dc_jw_ints(w, key, 2, a + 2);
        return;
    }
    dc_jw_array(w, key);
    dc_jw_ints(w, NULL, 2, a);
    dc_jw_ints(w, NULL, 2, a + 2);
    dc_jw_end(w);
    dc_jw_str(w, "data_format", "channels_last");
}

/* Keras' forms: an int (every side), (h, w) / (left, right), or ((top,
 * bottom), (left, right)); into amount[4] (1D: left, right at 2 and 3). */
static dc_status read_amounts(const dc_json *cfg, const char *key, int dims, int *amount)
{
    const dc_json *v = dc_json_get(cfg, key);
    int pair[2][2];
    if (!v)
        return DC_OK;
    if (v->type == DC_JSON_NUMBER || (v->type == DC_JSON_ARRAY && v->len == 2 && v->items[0].type == DC_JSON_NUMBER)) {
        int two[2];
        dc_status st = dc_cfg_ints(cfg, key, 2, 0, DC_DIM_LIMIT, two);
        if (st != DC_OK)
            return st;
        if (dims == 1) {
            amount[2] = two[0];
            amount[3] = two[1];
        } else {
            amount[0] = amount[1] = two[0];
            amount[2] = amount[3] = two[1];
        }
        return DC_OK;
    }
    if (dims == 2 && v->type == DC_JSON_ARRAY && v->len == 2) {
        for (int i = 0; i < 2; i++) {
            const dc_json *p = &v->items[i];
            if (p->type != DC_JSON_ARRAY || p->len != 2 || !dc_json_is_int(&p->items[0], 0, DC_DIM_LIMIT) ||
                !dc_json_is_int(&p->items[1], 0, DC_DIM_LIMIT))
                break;
            pair[i][0] = (int)p->items[0].num;
            pair[i][1] = (int)p->items[1].num;
            if (i == 1) {
                memcpy(amount, pair, sizeof pair);
                return DC_OK;
            }
        }
    }
    return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be an integer >= 0, %s", key,
                   dims == 1 ? "or an array of 2" : "an array of 2, or an array of 2 arrays of 2");
}

static dc_layer *pad_new(const dc_layer_class *cls, const int *amount)
{
    /* amount: (top, bottom, left, right); a 1D layer's (left, right) are 2 and 3 */
    int from = dims_of(cls) == 1 ? 2 : 0;
    for (int i = from; i < 4; i++)
        if (dc_check_dim(cls->type, is_cropping(cls) ? "cropping" : "padding", i - from, amount[i], 0))
            return NULL;
    dc_layer *l = dc_layer_new(cls);
    if (l)
        memcpy(l->cfg.pad.amount, amount, sizeof l->cfg.pad.amount);
    return l;
}

static dc_layer *pad_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int dims = dims_of(cls), amount[4] = {0, 0, 0, 0};
    if (!is_cropping(cls) || dims == 1) /* ZeroPadding's default 1, Cropping1D's (1, 1) */
        for (int i = 4 - 2 * dims; i < 4; i++)
            amount[i] = 1;
    if (read_amounts(cfg, is_cropping(cls) ? "cropping" : "padding", dims, amount) ||
        (dims == 2 && dc_cfg_channels_last(cfg)))
        return NULL;
    return pad_new(cls, amount);
}

const dc_layer_class dc_class_zero_padding2d = {.type = "ZeroPadding2D", .snake = "zero_padding2d", .build = pad_build,
                                                .to_config = pad_to_config, .from_config = pad_from_config};
const dc_layer_class dc_class_zero_padding1d = {.type = "ZeroPadding1D", .snake = "zero_padding1d", .build = pad_build,
                                                .to_config = pad_to_config, .from_config = pad_from_config};
const dc_layer_class dc_class_cropping2d = {.type = "Cropping2D", .snake = "cropping2d", .build = pad_build,
                                            .to_config = pad_to_config, .from_config = pad_from_config};
const dc_layer_class dc_class_cropping1d = {.type = "Cropping1D", .snake = "cropping1d", .build = pad_build,
                                            .to_config = pad_to_config, .from_config = pad_from_config};

dc_layer *dc_layer_zero_padding2d(int top, int bottom, int left, int right)
{
    return pad_new(&dc_class_zero_padding2d, (int[]){top, bottom, left, right});
}

dc_layer *dc_layer_zero_padding1d(int left, int right) { return pad_new(&dc_class_zero_padding1d, (int[]){0, 0, left, right}); }

dc_layer *dc_layer_cropping2d(int top, int bottom, int left, int right)
{
    return pad_new(&dc_class_cropping2d, (int[]){top, bottom, left, right});
}

dc_layer *dc_layer_cropping1d(int left, int right) { return pad_new(&dc_class_cropping1d, (int[]){0, 0, left, right}); }

/* ---- Conv2DTranspose / Conv1DTranspose ---- */

static dc_status convt_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const dc_conv_config *c = &l->cfg.convt.conv;
    const int *op = l->cfg.convt.output_padding;
    int one_d = dims_of(l->cls) == 1;
    if (x->ndim != (one_d ? 3 : 4))
        return dc_layer_rank_error(l, x, one_d ? 3 : 4);
    int in = x->shape[x->ndim - 1];
    int kshape[4] = {c->kernel[0], c->kernel[1], c->filters, in};
    if (one_d) {
        kshape[1] = c->filters;
        kshape[2] = in;
    }
    dc_node *k, *b = NULL;
    dc_status st = dc_layer_add_kernel(l, g, call, one_d ? 3 : 4, kshape, c->kernel_initializer, 0, c->bias_initializer,
                                       c->kernel_l1, c->kernel_l2, &k, &b);
    if (st != DC_OK)
        return st;
    if (c->use_bias && !(b = dc_layer_weight(g, call, l->name, "bias", 1, &c->filters, c->bias_initializer, 1, 1)))
        return dc_last_status();
    int strides[2] = {c->strides[0], c->strides[1]}, dil[2] = {c->dilation[0], c->dilation[1]};
    int pads[2] = {op[0], op[1]}, same = c->padding == DC_PADDING_SAME;
    dc_node *xin = x, *y;
    if (one_d) {
        strides[0] = dil[0] = 1;
        strides[1] = c->strides[0];
        dil[1] = c->dilation[0];
        pads[0] = op[0] < 0 ? -1 : 0;
        pads[1] = op[0];
        xin = dc_layer_view_1d(g, x, 1);
        k = dc_reshape(g, k, 4, (int[]){1, c->kernel[0], c->filters, in});
    }
    y = xin && k ? dc_conv2d_transpose(g, xin, k, b, strides, same, dil, pads) : NULL;
    if (y && one_d)
        y = dc_layer_view_1d(g, y, 0);
    if (!y) {
        if (strcmp(l->name, "conv2d_transpose") != 0) /* the op's message starts with its own name */
            dc_err_prefix(l->name);
        return dc_last_status();
    }
    return dc_layer_finish_activation(call, g, y, dc_layer_act(c->activation));
}

static void convt_to_config(const dc_layer *l, dc_jw *w)
{
    const int *op = l->cfg.convt.output_padding;
    dc_conv_write_config(l, &l->cfg.convt.conv, w);
    if (op[0] < 0)
        dc_jw_null(w, "output_padding");
    else
        dc_jw_ints(w, "output_padding", dims_of(l->cls), op);
}

static dc_layer *convt_new(const dc_layer_class *cls, const dc_conv_config *cfg, const int *output_padding)
{
    int dims = dims_of(cls);
    dc_conv_config c;
    if (dc_conv_check(cls->type, cfg, dims, &c) != DC_OK)
        return NULL;
    for (int i = 0; output_padding && i < dims; i++)
        if (output_padding[i] < 0 || output_padding[i] >= cfg->strides[i])
            return dc_fail_null(DC_ERR_ARG, "%s: output_padding %d must be >= 0 and smaller than the stride %d",
                                cls->type, output_padding[i], cfg->strides[i]);
    dc_layer *l = dc_layer_new(cls);
    if (!l)
        return NULL;
    l->cfg.convt.conv = c;
    for (int i = 0; i < 2; i++)
        l->cfg.convt.output_padding[i] = output_padding && i < dims ? output_padding[i] : -1;
    return l;
}

static dc_layer *convt_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int dims = dims_of(cls), op[2] = {0, 0};
    dc_conv_config c;
    const dc_json *v = dc_json_get(cfg, "output_padding");
    int has_op = v && v->type != DC_JSON_NULL;
    if (dc_conv_read_config(cfg, dims, &c) || (has_op && dc_cfg_ints(cfg, "output_padding", dims, 0, DC_DIM_LIMIT, op)))
        return NULL;
    return convt_new(cls, &c, has_op ? op : NULL);
}

const dc_layer_class dc_class_conv2d_transpose = {.type = "Conv2DTranspose", .snake = "conv2d_transpose",
                                                  .build = convt_build, .to_config = convt_to_config,
                                                  .from_config = convt_from_config};
const dc_layer_class dc_class_conv1d_transpose = {.type = "Conv1DTranspose", .snake = "conv1d_transpose",
                                                  .build = convt_build, .to_config = convt_to_config,
                                                  .from_config = convt_from_config};

dc_layer *dc_layer_conv2d_transpose_ex(const dc_conv_config *cfg, const int *output_padding)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return convt_new(&dc_class_conv2d_transpose, cfg, output_padding);
}

dc_layer *dc_layer_conv1d_transpose_ex(const dc_conv_config *cfg, const int *output_padding)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    return convt_new(&dc_class_conv1d_transpose, cfg, output_padding);
}

static dc_layer *convt_named(const dc_layer_class *cls, int filters, int kh, int kw, int stride, dc_padding padding,
                             const char *activation)
{
    dc_conv_config c = dc_conv_defaults(filters, kh, kw);
    c.strides[0] = c.strides[1] = stride;
    c.padding = padding;
    c.activation = activation;
    return convt_new(cls, &c, NULL);
}

dc_layer *dc_layer_conv2d_transpose(int filters, int kernel_h, int kernel_w, int stride, dc_padding padding,
                                    const char *activation)
{
    return convt_named(&dc_class_conv2d_transpose, filters, kernel_h, kernel_w, stride, padding, activation);
}

dc_layer *dc_layer_conv1d_transpose(int filters, int kernel, int stride, dc_padding padding, const char *activation)
{
    return convt_named(&dc_class_conv1d_transpose, filters, kernel, 1, stride, padding, activation);
}
