/*
 * layers_normact.c - LayerNormalization; the activation layers ReLU,
 * LeakyReLU, ELU, Softmax and PReLU; the preprocessing layer Rescaling;
 * GaussianNoise, GaussianDropout, SpatialDropout1D and SpatialDropout2D.
 *
 * Each follows its Keras 3 class (keras/src/layers/...): the same argument
 * names, defaults and config keys.  ReLU, LeakyReLU, ELU and Softmax reuse
 * the activation op where it computes the function; ReLU with max_value or
 * threshold and PReLU have their own ops (ops_normact.c).
 */
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The input's feature count, or an error naming the layer and the shape. */
static dc_status features(const dc_layer *l, const dc_node *x, int *c)
{
    char sx[96];
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has no feature axis", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
    *c = dc_node_cols(x);
    return DC_OK;
}

/* An axis argument that must name the last axis: -1 or ndim - 1. */
static dc_status last_axis(const dc_layer *l, const dc_node *x, int axis)
{
    char sx[96];
    if (axis == -1 || axis == x->ndim - 1)
        return DC_OK;
    return dc_fail(DC_ERR_UNSUPPORTED, "%s: axis %d on input %s; only the last axis (-1) is supported", l->name, axis,
                   dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
}

/* "axis": an integer or a list of one integer ([-1], as Keras saves it). */
static dc_status read_axis(const dc_json *cfg, int *axis)
{
    const dc_json *v = dc_json_get(cfg, "axis");
    if (v && v->type == DC_JSON_ARRAY) {
        if (v->len != 1)
            return dc_fail(DC_ERR_UNSUPPORTED, "key \"axis\": %zu axes; only one (the last) is supported", v->len);
        return dc_cfg_ints(cfg, "axis", 1, -DC_MAX_DIMS, DC_MAX_DIMS, axis);
    }
    return dc_cfg_int(cfg, "axis", -DC_MAX_DIMS, DC_MAX_DIMS, axis);
}

/* A layer of class cls, or NULL (out of memory). */
#define NEW_LAYER(cls) dc_layer_new(&(cls))

/* ---- LayerNormalization ---- */

dc_layer_norm_config dc_layer_norm_defaults(void)
{
    dc_layer_norm_config c = {-1, 1e-3f, 1, 1, dc_init_make(DC_INIT_ZEROS), dc_init_make(DC_INIT_ONES)};
    return c;
}

static dc_status layer_norm_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const dc_layer_norm_config *c = &l->cfg.layer_norm;
    int n = 0;
    dc_status st = features(l, x, &n);
    if (st == DC_OK)
        st = last_axis(l, x, c->axis);
    if (st != DC_OK)
        return st;
    /* Keras' order: gamma, then beta; a disabled one is a constant */
    dc_node *gamma = dc_layer_weight(g, call, l->name, "gamma", 1, &n,
                                     c->scale ? c->gamma_initializer : dc_init_make(DC_INIT_ONES), c->scale, c->scale);
    dc_node *beta = dc_layer_weight(g, call, l->name, "beta", 1, &n,
                                    c->center ? c->beta_initializer : dc_init_make(DC_INIT_ZEROS), c->center, c->center);
    if (!gamma || !beta)
        return dc_last_status();
    call->out = dc_layernorm(g, x, gamma, beta, c->epsilon);
    return call->out ? DC_OK : dc_last_status();
}

static void layer_norm_to_config(const dc_layer *l, dc_jw *w)
{
    const dc_layer_norm_config *c = &l->cfg.layer_norm;
    dc_jw_ints(w, "axis", 1, &c->axis);
    dc_jw_float(w, "epsilon", c->epsilon);
    dc_jw_bool(w, "center", c->center);
    dc_jw_bool(w, "scale", c->scale);
    dc_jw_bool(w, "rms_scaling", 0);
    dc_cfg_write_init(w, "beta_initializer", c->beta_initializer);
    dc_cfg_write_init(w, "gamma_initializer", c->gamma_initializer);
    dc_jw_null(w, "beta_regularizer");
    dc_jw_null(w, "gamma_regularizer");
}

static dc_layer *layer_norm_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    dc_layer_norm_config c = dc_layer_norm_defaults();
    int rms = 0;
    if (read_axis(cfg, &c.axis) || dc_cfg_float(cfg, "epsilon", &c.epsilon) || dc_cfg_bool(cfg, "center", &c.center) ||
        dc_cfg_bool(cfg, "scale", &c.scale) || dc_cfg_bool(cfg, "rms_scaling", &rms) ||
        dc_cfg_init(cfg, "beta_initializer", &c.beta_initializer) ||
        dc_cfg_init(cfg, "gamma_initializer", &c.gamma_initializer))
        return NULL;
    if (rms)
        return dc_fail_null(DC_ERR_UNSUPPORTED, "key \"rms_scaling\": true is not supported");
    return dc_layer_layer_normalization_ex(&c);
}

const dc_layer_class dc_class_layer_norm = {.type = "LayerNormalization", .snake = "layer_normalization",
                                            .build = layer_norm_build, .to_config = layer_norm_to_config,
                                            .from_config = layer_norm_from_config};

dc_layer *dc_layer_layer_normalization_ex(const dc_layer_norm_config *cfg)
{
    if (!cfg)
        return dc_fail_null(DC_ERR_ARG, "LayerNormalization: cfg is NULL");
    if (!(cfg->epsilon > 0.0f) || !isfinite(cfg->epsilon))
        return dc_fail_null(DC_ERR_ARG, "LayerNormalization: epsilon %g, expected > 0", (double)cfg->epsilon);
    if (cfg->axis < -DC_MAX_DIMS || cfg->axis >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "LayerNormalization: axis %d out of range", cfg->axis);
    dc_layer *l = NEW_LAYER(dc_class_layer_norm);
    if (l)
        l->cfg.layer_norm = *cfg;
    return l;
}

dc_layer *dc_layer_layer_normalization(void)
{
    dc_layer_norm_config c = dc_layer_norm_defaults();
    return dc_layer_layer_normalization_ex(&c);
}

/* ---- ReLU, LeakyReLU, ELU ---- */

static dc_status relu_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    float mx = l->cfg.relu.max_value, slope = l->cfg.relu.negative_slope, th = l->cfg.relu.threshold;
    call->out_act = DC_ACT_LINEAR;
    if (isinf(mx) && th == 0.0f) /* plain relu or leaky relu: the activation op */
        call->out = slope == 0.0f ? dc_activation(g, x, DC_ACT_RELU) : dc_activation_alpha(g, x, DC_ACT_LEAKY_RELU, slope);
    else
        call->out = dc_relu_ex(g, x, mx, slope, th);
    return call->out ? DC_OK : dc_last_status();
}

static void relu_to_config(const dc_layer *l, dc_jw *w)
{
    if (isinf(l->cfg.relu.max_value))
        dc_jw_null(w, "max_value");
    else
        dc_jw_float(w, "max_value", l->cfg.relu.max_value);
    dc_jw_float(w, "negative_slope", l->cfg.relu.negative_slope);
    dc_jw_float(w, "threshold", l->cfg.relu.threshold);
}

static dc_layer *relu_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    float mx = INFINITY, slope = 0.0f, th = 0.0f;
    const dc_json *v = dc_json_get(cfg, "max_value");
    if ((v && v->type != DC_JSON_NULL && dc_cfg_float(cfg, "max_value", &mx)) ||
        dc_cfg_float(cfg, "negative_slope", &slope) || dc_cfg_float(cfg, "threshold", &th))
        return NULL;
    return dc_layer_relu_ex(mx, slope, th);
}

const dc_layer_class dc_class_relu = {.type = "ReLU", .snake = "re_lu", .build = relu_build,
                                      .to_config = relu_to_config, .from_config = relu_from_config};

dc_layer *dc_layer_relu_ex(float max_value, float negative_slope, float threshold)
{
    if (!(max_value >= 0.0f) || !(negative_slope >= 0.0f) || !(threshold >= 0.0f) || isinf(negative_slope) ||
        isinf(threshold))
        return dc_fail_null(DC_ERR_ARG, "ReLU: max_value %g, negative_slope %g, threshold %g; each must be >= 0 "
                                        "(max_value INFINITY for None)",
                            (double)max_value, (double)negative_slope, (double)threshold);
    dc_layer *l = NEW_LAYER(dc_class_relu);
    if (l) {
        l->cfg.relu.max_value = max_value;
        l->cfg.relu.negative_slope = negative_slope;
        l->cfg.relu.threshold = threshold;
    }
    return l;
}

dc_layer *dc_layer_relu(void) { return dc_layer_relu_ex(INFINITY, 0.0f, 0.0f); }

/* LeakyReLU and ELU: one argument kept in relu.negative_slope. */
static dc_status slope_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    dc_act a = l->cls == &dc_class_elu ? DC_ACT_ELU : DC_ACT_LEAKY_RELU;
    call->out_act = DC_ACT_LINEAR;
    call->out = dc_activation_alpha(g, x, a, l->cfg.relu.negative_slope);
    return call->out ? DC_OK : dc_last_status();
}

static const char *slope_key(const dc_layer_class *cls) { return cls == &dc_class_elu ? "alpha" : "negative_slope"; }

static void slope_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_float(w, slope_key(l->cls), l->cfg.relu.negative_slope);
}

static dc_layer *slope_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int elu = cls == &dc_class_elu;
    float v = elu ? 1.0f : 0.3f;
    /* Keras 3's LeakyReLU still takes Keras 2's "alpha" */
    if ((!elu && dc_cfg_float(cfg, "alpha", &v)) || dc_cfg_float(cfg, slope_key(cls), &v))
        return NULL;
    return elu ? dc_layer_elu(v) : dc_layer_leaky_relu(v);
}

const dc_layer_class dc_class_leaky_relu = {.type = "LeakyReLU", .snake = "leaky_re_lu", .build = slope_build,
                                            .to_config = slope_to_config, .from_config = slope_from_config};
const dc_layer_class dc_class_elu = {.type = "ELU", .snake = "elu", .build = slope_build, .to_config = slope_to_config,
                                     .from_config = slope_from_config};

static dc_layer *slope_layer(const dc_layer_class *cls, float v, int must_be_nonneg)
{
    if (!isfinite(v) || (must_be_nonneg && v < 0.0f))
        return dc_fail_null(DC_ERR_ARG, "%s: %s %g, expected a finite value%s", cls->type, slope_key(cls), (double)v,
                            must_be_nonneg ? " >= 0" : "");
    dc_layer *l = dc_layer_new(cls);
    if (l)
        l->cfg.relu.negative_slope = v;
    return l;
}

dc_layer *dc_layer_leaky_relu(float negative_slope) { return slope_layer(&dc_class_leaky_relu, negative_slope, 1); }
dc_layer *dc_layer_elu(float alpha) { return slope_layer(&dc_class_elu, alpha, 0); }

/* ---- Softmax ---- */

static dc_status softmax_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    dc_status st = last_axis(l, x, l->cfg.softmax.axis);
    if (st != DC_OK)
        return st;
    /* out_act softmax: a following cross-entropy fuses with the logits, as after Dense(softmax) */
    return dc_layer_finish_activation(call, g, x, DC_ACT_SOFTMAX);
}

static void softmax_to_config(const dc_layer *l, dc_jw *w) { dc_jw_int(w, "axis", l->cfg.softmax.axis); }

static dc_layer *softmax_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int axis = -1;
    return read_axis(cfg, &axis) ? NULL : dc_layer_softmax(axis);
}

const dc_layer_class dc_class_softmax = {.type = "Softmax", .snake = "softmax", .build = softmax_build,
                                         .to_config = softmax_to_config, .from_config = softmax_from_config};

dc_layer *dc_layer_softmax(int axis)
{
    if (axis < -1 || axis >= DC_MAX_DIMS || axis == 0)
        return dc_fail_null(DC_ERR_UNSUPPORTED, "Softmax: axis %d; only the last axis (-1) is supported", axis);
    dc_layer *l = NEW_LAYER(dc_class_softmax);
    if (l)
        l->cfg.softmax.axis = axis;
    return l;
}

/* ---- PReLU ---- */

static dc_status prelu_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    int shape[DC_MAX_DIMS], nd = x->ndim - 1;
    if (nd < 1)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has no axis besides the batch", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
    memcpy(shape, x->shape + 1, (size_t)nd * sizeof(int));
    for (int i = 0; i < l->cfg.prelu.n_shared; i++) {
        int a = l->cfg.prelu.shared[i];
        if (a < 1 || a > nd)
            return dc_fail(DC_ERR_SHAPE, "%s: shared axis %d, the input %s has axes 1 to %d besides the batch", l->name,
                           a, dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), nd);
        shape[a - 1] = 1;
    }
    dc_node *alpha = dc_layer_weight(g, call, l->name, "alpha", nd, shape, l->cfg.prelu.init, 1, 1);
    if (!alpha)
        return dc_last_status();
    if (!call->frozen && (l->cfg.prelu.l1 != 0.0f || l->cfg.prelu.l2 != 0.0f) &&
        !(call->reg = dc_regularizer(g, alpha, l->cfg.prelu.l1, l->cfg.prelu.l2)))
        return dc_last_status();
    call->out = dc_prelu(g, x, alpha);
    return call->out ? DC_OK : dc_last_status();
}

static void prelu_to_config(const dc_layer *l, dc_jw *w)
{
    dc_cfg_write_init(w, "alpha_initializer", l->cfg.prelu.init);
    dc_cfg_write_reg(w, "alpha_regularizer", l->cfg.prelu.l1, l->cfg.prelu.l2);
    dc_jw_null(w, "alpha_constraint");
    if (l->cfg.prelu.n_shared)
        dc_jw_ints(w, "shared_axes", l->cfg.prelu.n_shared, l->cfg.prelu.shared);
    else
        dc_jw_null(w, "shared_axes");
}

static dc_layer *prelu_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    dc_init init = dc_init_make(DC_INIT_ZEROS);
    float l1 = 0, l2 = 0;
    int shared[DC_MAX_DIMS], n = 0;
    const dc_json *v = dc_json_get(cfg, "shared_axes");
    if (v && v->type == DC_JSON_NUMBER) {
        n = 1;
        if (dc_cfg_int(cfg, "shared_axes", 1, DC_MAX_DIMS - 1, shared))
            return NULL;
    } else if (v && v->type == DC_JSON_ARRAY) {
        if (v->len >= DC_MAX_DIMS)
            return dc_fail_null(DC_ERR_FORMAT, "key \"shared_axes\": %zu axes, at most %d", v->len, DC_MAX_DIMS - 1);
        n = (int)v->len;
        if (dc_cfg_ints(cfg, "shared_axes", n, 1, DC_MAX_DIMS - 1, shared))
            return NULL;
    } else if (v && v->type != DC_JSON_NULL) {
        return dc_fail_null(DC_ERR_FORMAT, "key \"shared_axes\" must be null, an integer or an array of integers");
    }
    if (dc_cfg_init(cfg, "alpha_initializer", &init) || dc_cfg_reg(cfg, "alpha_regularizer", &l1, &l2))
        return NULL;
    return dc_layer_prelu_ex(init, l1, l2, n, shared);
}

const dc_layer_class dc_class_prelu = {.type = "PReLU", .snake = "p_re_lu", .build = prelu_build,
                                       .to_config = prelu_to_config, .from_config = prelu_from_config};

dc_layer *dc_layer_prelu_ex(dc_init alpha_initializer, float alpha_l1, float alpha_l2, int n_shared_axes,
                            const int *shared_axes)
{
    if ((unsigned)alpha_initializer.kind >= DC_INIT_COUNT)
        return dc_fail_null(DC_ERR_ARG, "PReLU: unknown alpha_initializer %d", (int)alpha_initializer.kind);
    if (!(alpha_l1 >= 0.0f) || !(alpha_l2 >= 0.0f))
        return dc_fail_null(DC_ERR_ARG, "PReLU: alpha_regularizer l1 %g, l2 %g; expected >= 0", (double)alpha_l1,
                            (double)alpha_l2);
    if (n_shared_axes < 0 || n_shared_axes >= DC_MAX_DIMS || (n_shared_axes && !shared_axes))
        return dc_fail_null(DC_ERR_ARG, "PReLU: %d shared axes%s, expected 0 to %d", n_shared_axes,
                            n_shared_axes && !shared_axes ? " (NULL array)" : "", DC_MAX_DIMS - 1);
    for (int i = 0; i < n_shared_axes; i++)
        if (shared_axes[i] < 1 || shared_axes[i] >= DC_MAX_DIMS)
            return dc_fail_null(DC_ERR_ARG, "PReLU: shared axis %d; axes count from 1 (0 is the batch)",
                                shared_axes[i]);
    dc_layer *l = NEW_LAYER(dc_class_prelu);
    if (l) {
        l->cfg.prelu.init = alpha_initializer;
        l->cfg.prelu.l1 = alpha_l1;
        l->cfg.prelu.l2 = alpha_l2;
        l->cfg.prelu.n_shared = n_shared_axes;
        if (n_shared_axes)
            memcpy(l->cfg.prelu.shared, shared_axes, (size_t)n_shared_axes * sizeof(int));
    }
    return l;
}

dc_layer *dc_layer_prelu(void) { return dc_layer_prelu_ex(dc_init_make(DC_INIT_ZEROS), 0.0f, 0.0f, 0, NULL); }

/* ---- Rescaling ---- */

static dc_status rescaling_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    call->out = dc_scale_offset(g, x, l->cfg.rescaling.scale, l->cfg.rescaling.offset);
    return call->out ? DC_OK : dc_last_status();
}

static void rescaling_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_float(w, "scale", l->cfg.rescaling.scale);
    dc_jw_float(w, "offset", l->cfg.rescaling.offset);
}

static dc_layer *rescaling_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    float scale = 1.0f, offset = 0.0f;
    if (dc_cfg_need(cfg, "scale") || dc_cfg_float(cfg, "scale", &scale) || dc_cfg_float(cfg, "offset", &offset))
        return NULL;
    return dc_layer_rescaling(scale, offset);
}

const dc_layer_class dc_class_rescaling = {.type = "Rescaling", .snake = "rescaling", .build = rescaling_build,
                                           .to_config = rescaling_to_config, .from_config = rescaling_from_config};

dc_layer *dc_layer_rescaling(float scale, float offset)
{
    if (!isfinite(scale) || !isfinite(offset))
        return dc_fail_null(DC_ERR_ARG, "Rescaling: scale %g, offset %g; both must be finite", (double)scale,
                            (double)offset);
    dc_layer *l = NEW_LAYER(dc_class_rescaling);
    if (l) {
        l->cfg.rescaling.scale = scale;
        l->cfg.rescaling.offset = offset;
    }
    return l;
}

/* ---- GaussianNoise, GaussianDropout ---- */

static dc_status noise_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    call->out = dc_gaussian_noise(g, x, l->cfg.noise.stddev, l->cfg.noise.multiplicative);
    return call->out ? DC_OK : dc_last_status();
}

/* GaussianDropout keeps its rate in stddev's place until build: rate. */
static void noise_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_float(w, l->cfg.noise.multiplicative ? "rate" : "stddev", l->cfg.noise.stddev);
    dc_jw_null(w, "seed");
}

static dc_layer *noise_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int mul = cls == &dc_class_gaussian_dropout;
    const char *key = mul ? "rate" : "stddev";
    float v = 0.0f;
    if (dc_cfg_need(cfg, key) || dc_cfg_float(cfg, key, &v))
        return NULL;
    return mul ? dc_layer_gaussian_dropout(v) : dc_layer_gaussian_noise(v);
}

static dc_status dropout_noise_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    float rate = l->cfg.noise.stddev;
    call->out = dc_gaussian_noise(g, x, sqrtf(rate / (1.0f - rate)), 1);
    return call->out ? DC_OK : dc_last_status();
}

const dc_layer_class dc_class_gaussian_noise = {.type = "GaussianNoise", .snake = "gaussian_noise",
                                                .build = noise_build, .to_config = noise_to_config,
                                                .from_config = noise_from_config};
const dc_layer_class dc_class_gaussian_dropout = {.type = "GaussianDropout", .snake = "gaussian_dropout",
                                                  .build = dropout_noise_build, .to_config = noise_to_config,
                                                  .from_config = noise_from_config};

dc_layer *dc_layer_gaussian_noise(float stddev)
{
    if (!(stddev >= 0.0f && stddev <= 1.0f))
        return dc_fail_null(DC_ERR_ARG, "GaussianNoise: stddev %g, expected a value from 0 to 1 (as Keras)",
                            (double)stddev);
    dc_layer *l = NEW_LAYER(dc_class_gaussian_noise);
    if (l)
        l->cfg.noise.stddev = stddev;
    return l;
}

dc_layer *dc_layer_gaussian_dropout(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return dc_fail_null(DC_ERR_ARG, "GaussianDropout: rate %g, expected 0 <= rate < 1", (double)rate);
    dc_layer *l = NEW_LAYER(dc_class_gaussian_dropout);
    if (l) {
        l->cfg.noise.stddev = rate;
        l->cfg.noise.multiplicative = 1;
    }
    return l;
}

/* ---- SpatialDropout1D, SpatialDropout2D ---- */

static int spatial_rank(const dc_layer_class *cls) { return cls == &dc_class_spatial_dropout2d ? 4 : 3; }

static dc_status spatial_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    int rank = spatial_rank(l->cls);
    if (x->ndim != rank)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s, expected %s", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx),
                       rank == 3 ? "(batch, steps, channels)" : "(batch, height, width, channels)");
    call->out = dc_spatial_dropout(g, x, l->cfg.dropout.rate);
    return call->out ? DC_OK : dc_last_status();
}

static void spatial_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_float(w, "rate", l->cfg.dropout.rate);
    dc_jw_null(w, "seed");
    if (spatial_rank(l->cls) == 4)
        dc_jw_str(w, "data_format", "channels_last");
}

static dc_layer *spatial_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float rate = 0.0f;
    if (dc_cfg_channels_last(cfg) || dc_cfg_need(cfg, "rate") || dc_cfg_float(cfg, "rate", &rate))
        return NULL;
    return spatial_rank(cls) == 4 ? dc_layer_spatial_dropout2d(rate) : dc_layer_spatial_dropout1d(rate);
}

const dc_layer_class dc_class_spatial_dropout1d = {.type = "SpatialDropout1D", .snake = "spatial_dropout1d",
                                                   .build = spatial_build, .to_config = spatial_to_config,
                                                   .from_config = spatial_from_config};
const dc_layer_class dc_class_spatial_dropout2d = {.type = "SpatialDropout2D", .snake = "spatial_dropout2d",
                                                   .build = spatial_build, .to_config = spatial_to_config,
                                                   .from_config = spatial_from_config};

static dc_layer *spatial_layer(const dc_layer_class *cls, float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return dc_fail_null(DC_ERR_ARG, "%s: rate %g, expected 0 <= rate < 1", cls->type, (double)rate);
    dc_layer *l = dc_layer_new(cls);
    if (l)
        l->cfg.dropout.rate = rate;
    return l;
}

dc_layer *dc_layer_spatial_dropout1d(float rate) { return spatial_layer(&dc_class_spatial_dropout1d, rate); }
dc_layer *dc_layer_spatial_dropout2d(float rate) { return spatial_layer(&dc_class_spatial_dropout2d, rate); }
