/*
 * layers_core.c - Dense, Flatten and Activation.
 *
 * Dense(units, activation) is kernel (in, units), glorot_uniform, and bias
 * (units), zeros, as in Keras; it acts on the last axis of its input.
 */
#include "layers/layer.h"

#include <string.h>

dc_layer *dc_layer_new(const dc_layer_class *cls)
{
    dc_layer *l = dc_calloc(1, sizeof *l);
    if (l)
        l->cls = cls;
    return l;
}

void dc_layer_free(dc_layer *l)
{
    if (l && l->cls == &dc_class_normalization)
        free(l->cfg.norm.stats);
    if (l && l->cls == &dc_class_time_distributed)
        dc_layer_free(l->cfg.td.inner);
    free(l);
}

/* Appends the activation; remembers the logits for fused losses. */
dc_status dc_layer_finish_activation(dc_layer *l, dc_graph *g, dc_node *pre, dc_act act)
{
    l->out_act = act;
    if (act == DC_ACT_LINEAR) {
        l->out = pre;
        return DC_OK;
    }
    l->out = dc_activation(g, pre, act);
    if (!l->out)
        return DC_ERR_SHAPE;
    if (act == DC_ACT_SOFTMAX || act == DC_ACT_SIGMOID)
        l->logits = pre;
    return DC_OK;
}

/* ---- Dense ---- */

dc_init dc_init_make(dc_init_kind kind)
{
    dc_init i = {kind, 0.0f, 0.0f};
    if (kind == DC_INIT_RANDOM_NORMAL)
        i.b = 0.05f;
    if (kind == DC_INIT_RANDOM_UNIFORM) {
        i.a = -0.05f;
        i.b = 0.05f;
    }
    return i;
}

dc_status dc_init_parse(const char *name, dc_init *out)
{
    static const char *const names[DC_INIT_COUNT] = {
        "zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
        "lecun_normal", "lecun_uniform", "random_normal", "random_uniform", "constant", "orthogonal",
        "unit_forget_bias",
    };
    for (int i = 0; name && i < DC_INIT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = dc_init_make((dc_init_kind)i);
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "unknown initializer \"%s\"", name ? name : "(null)");
}

dc_dense_config dc_dense_defaults(int units)
{
    dc_dense_config c;
    memset(&c, 0, sizeof c);
    c.units = units;
    c.activation = DC_ACT_LINEAR;
    c.use_bias = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.bias_initializer = dc_init_make(DC_INIT_ZEROS);
    return c;
}

dc_status dc_layer_add_kernel(dc_layer *l, dc_graph *g, int ndim, const int *shape, dc_init kernel_init, int use_bias,
                              dc_init bias_init, float l1, float l2, dc_node **kernel, dc_node **bias)
{
    char pname[96];
    int units = shape[ndim - 1];
    snprintf(pname, sizeof pname, "%s/kernel", l->name);
    *kernel = dc_param(g, ndim, shape, kernel_init, pname);
    *bias = NULL;
    if (*kernel && use_bias) {
        snprintf(pname, sizeof pname, "%s/bias", l->name);
        *bias = dc_param(g, 1, &units, bias_init, pname);
    }
    if (!*kernel || (use_bias && !*bias))
        return DC_ERR_NOMEM;
    l->params[l->n_params++] = *kernel;
    if (*bias)
        l->params[l->n_params++] = *bias;
    /* Keras sums the regularisers of trainable weights only */
    if (!l->frozen && (l1 != 0.0f || l2 != 0.0f)) {
        l->reg = dc_regularizer(g, *kernel, l1, l2);
        if (!l->reg)
            return DC_ERR_NOMEM;
    }
    return DC_OK;
}

static dc_status dense_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    const dc_dense_config *c = &l->cfg.dense;
    char sx[96];
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has no feature axis", l->name,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    dc_node *w, *b;
    dc_status st = dc_layer_add_kernel(l, g, 2, (int[]){x->shape[x->ndim - 1], c->units}, c->kernel_initializer,
                                       c->use_bias, c->bias_initializer, c->kernel_l1, c->kernel_l2, &w, &b);
    if (st != DC_OK)
        return st;
    dc_node *pre = dc_dense(g, x, w, b);
    if (!pre)
        return DC_ERR_SHAPE;
    return dc_layer_finish_activation(l, g, pre, c->activation);
}

static void dense_args(dc_dense_config *c, dc_kernel_args *a)
{
    *a = (dc_kernel_args){&c->activation, &c->use_bias, &c->kernel_initializer, &c->bias_initializer, &c->kernel_l1,
                          &c->kernel_l2};
}

static void dense_to_config(const dc_layer *l, dc_jw *w)
{
    dc_dense_config c = l->cfg.dense;
    dc_kernel_args a;
    dense_args(&c, &a);
    dc_jw_int(w, "units", c.units);
    dc_cfg_write_kernel_args(w, &a);
}

static dc_layer *dense_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    dc_dense_config c = dc_dense_defaults(1);
    dc_kernel_args a;
    dense_args(&c, &a);
    if (dc_cfg_need(cfg, "units") || dc_cfg_int(cfg, "units", 1, 1 << 30, &c.units) || dc_cfg_kernel_args(cfg, &a))
        return NULL;
    return dc_layer_dense_ex(&c);
}

const dc_layer_class dc_class_dense = {"Dense", "dense", dense_build, dense_to_config, dense_from_config, NULL};

dc_layer *dc_layer_dense_ex(const dc_dense_config *cfg)
{
    if (cfg->units < 1)
        return dc_fail_null(DC_ERR_ARG, "Dense: units is %d, expected >= 1", cfg->units);
    if ((unsigned)cfg->activation >= DC_ACT_COUNT)
        return dc_fail_null(DC_ERR_ARG, "Dense: unknown activation %d", (int)cfg->activation);
    dc_layer *l = dc_layer_new(&dc_class_dense);
    if (l)
        l->cfg.dense = *cfg;
    return l;
}

dc_layer *dc_layer_dense(int units, const char *activation)
{
    dc_dense_config c = dc_dense_defaults(units);
    if (dc_act_parse(activation, &c.activation) != DC_OK) {
        dc_err_prefix("Dense");
        return NULL;
    }
    return dc_layer_dense_ex(&c);
}

/* ---- Flatten ---- */

static dc_status flatten_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    int n = (int)dc_node_sample_size(x);
    l->out = dc_reshape(g, x, 1, &n);
    l->out_act = DC_ACT_LINEAR;
    return l->out ? DC_OK : DC_ERR_SHAPE;
}

/* For layers without arguments. */
void dc_no_config(const dc_layer *l, dc_jw *w)
{
    (void)l;
    (void)w;
}

static dc_layer *flatten_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    (void)cfg;
    return dc_layer_flatten();
}

const dc_layer_class dc_class_flatten = {"Flatten", "flatten", flatten_build, dc_no_config, flatten_from_config, NULL};

dc_layer *dc_layer_flatten(void) { return dc_layer_new(&dc_class_flatten); }

/* ---- Activation ---- */

static dc_status activation_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    return dc_layer_finish_activation(l, g, x, l->cfg.activation);
}

static void activation_to_config(const dc_layer *l, dc_jw *w) { dc_jw_str(w, "activation", dc_act_name(l->cfg.activation)); }

static dc_layer *activation_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    dc_act a = DC_ACT_LINEAR;
    if (dc_cfg_need(cfg, "activation") || dc_cfg_act(cfg, "activation", &a))
        return NULL;
    return dc_layer_activation(dc_act_name(a));
}

const dc_layer_class dc_class_activation = {"Activation", "activation", activation_build, activation_to_config,
                                            activation_from_config, NULL};

dc_layer *dc_layer_activation(const char *activation)
{
    dc_act a;
    if (dc_act_parse(activation, &a) != DC_OK) {
        dc_err_prefix("Activation");
        return NULL;
    }
    dc_layer *l = dc_layer_new(&dc_class_activation);
    if (l)
        l->cfg.activation = a;
    return l;
}

/* ---- Reshape ---- */

static dc_status reshape_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    l->out = dc_reshape(g, x, l->cfg.reshape.ndim, l->cfg.reshape.shape);
    return l->out ? DC_OK : DC_ERR_SHAPE;
}

static void reshape_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_ints(w, "target_shape", l->cfg.reshape.ndim, l->cfg.reshape.shape);
}

static dc_layer *reshape_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const dc_json *t = dc_json_get(cfg, "target_shape");
    int shape[DC_MAX_DIMS];
    if (!t || t->type != DC_JSON_ARRAY || t->len < 1 || t->len >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_FORMAT, "key \"target_shape\" must be an array of 1 to %d integers", DC_MAX_DIMS - 1);
    if (dc_cfg_ints(cfg, "target_shape", (int)t->len, 1, 1 << 30, shape))
        return NULL;
    return dc_layer_reshape((int)t->len, shape);
}

const dc_layer_class dc_class_reshape = {"Reshape", "reshape", reshape_build, reshape_to_config, reshape_from_config, NULL};

dc_layer *dc_layer_reshape(int ndim, const int *shape)
{
    if (ndim < 1 || ndim >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "Reshape: %d dimensions, expected 1 to %d", ndim, DC_MAX_DIMS - 1);
    dc_layer *l = dc_layer_new(&dc_class_reshape);
    if (l) {
        l->cfg.reshape.ndim = ndim;
        memcpy(l->cfg.reshape.shape, shape, (size_t)ndim * sizeof(int));
    }
    return l;
}
