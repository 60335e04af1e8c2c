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

void dc_layer_free(dc_layer *l) { free(l); }

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
    if (l1 != 0.0f || l2 != 0.0f) {
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

static const dc_layer_class dense_class = {"Dense", "dense", dense_build};

dc_layer *dc_layer_dense_ex(const dc_dense_config *cfg)
{
    if (cfg->units < 1)
        return dc_fail_null(DC_ERR_ARG, "Dense: units is %d, expected >= 1", cfg->units);
    if ((unsigned)cfg->activation >= DC_ACT_COUNT)
        return dc_fail_null(DC_ERR_ARG, "Dense: unknown activation %d", (int)cfg->activation);
    dc_layer *l = dc_layer_new(&dense_class);
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

static const dc_layer_class flatten_class = {"Flatten", "flatten", flatten_build};

dc_layer *dc_layer_flatten(void) { return dc_layer_new(&flatten_class); }

/* ---- Activation ---- */

static dc_status activation_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    return dc_layer_finish_activation(l, g, x, l->cfg.activation);
}

static const dc_layer_class activation_class = {"Activation", "activation", activation_build};

dc_layer *dc_layer_activation(const char *activation)
{
    dc_act a;
    if (dc_act_parse(activation, &a) != DC_OK) {
        dc_err_prefix("Activation");
        return NULL;
    }
    dc_layer *l = dc_layer_new(&activation_class);
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

static const dc_layer_class reshape_class = {"Reshape", "reshape", reshape_build};

dc_layer *dc_layer_reshape(int ndim, const int *shape)
{
    if (ndim < 1 || ndim >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "Reshape: %d dimensions, expected 1 to %d", ndim, DC_MAX_DIMS - 1);
    dc_layer *l = dc_layer_new(&reshape_class);
    if (l) {
        l->cfg.reshape.ndim = ndim;
        memcpy(l->cfg.reshape.shape, shape, (size_t)ndim * sizeof(int));
    }
    return l;
}
