/*
 * layers_core.c - Dense, Flatten and Activation.
 *
 * Dense(units, activation) is kernel (in, units), glorot_uniform, and bias
 * (units), zeros, as in Keras; it acts on the last axis of its input.
 */
#include "layers/layer.h"

#include <assert.h>
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
    if (l && l->cls->free)
        l->cls->free(l);
    free(l);
}

dc_status dc_layer_finish_activation(dc_layer_call *call, dc_graph *g, dc_node *pre, dc_act act)
{
    call->out_act = act;
    if (act == DC_ACT_LINEAR) {
        call->out = pre;
        return DC_OK;
    }
    call->out = dc_activation(g, pre, act);
    if (!call->out)
        return dc_last_status();
    if (act == DC_ACT_SOFTMAX || act == DC_ACT_SIGMOID)
        call->logits = pre;
    return DC_OK;
}

dc_act dc_layer_act(const char *name)
{
    dc_act a = DC_ACT_LINEAR;
    dc_status st = dc_act_parse(name, &a);
    assert(st == DC_OK); /* the constructor resolved it */
    (void)st;
    return a;
}

dc_status dc_layer_act_name(const char *who, const char *name, const char *fallback, const char **out)
{
    dc_act a;
    if (dc_act_parse(name ? name : fallback, &a) != DC_OK) {
        dc_err_prefix(who);
        return DC_ERR_ARG;
    }
    *out = dc_act_name(a);
    return DC_OK;
}

/* A later call of a shared layer takes the weights its first call made. */
static dc_node *shared_weight(dc_layer_call *call, int ndim, const int *shape, const char *name)
{
    char want[96], have[96];
    if (call->next_shared >= call->n_shared)
        return dc_fail_null(DC_ERR_SHAPE, "called again, it asks for a weight %s its first call did not make", name);
    dc_node *n = call->shared[call->next_shared];
    if (n->ndim != ndim || memcmp(n->shape, shape, (size_t)ndim * sizeof(int)) != 0)
        return dc_fail_null(DC_ERR_SHAPE, "called again on an input of another shape: its weight %s is %s, this call "
                                          "needs %s", n->name, dc_shape_str(n->ndim, n->shape, have, sizeof have),
                            dc_shape_str(ndim, shape, want, sizeof want));
    call->next_shared++;
    return n;
}

dc_node *dc_layer_weight(dc_graph *g, dc_layer_call *call, const char *prefix, const char *what, int ndim,
                         const int *shape, dc_init init, int trainable, int listed)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", prefix, what);
    if (listed && call->n_params >= DC_LAYER_MAX_PARAMS)
        return dc_fail_null(DC_ERR_ARG, "%s: more than %d weights", prefix, DC_LAYER_MAX_PARAMS);
    dc_node *p = call->shared ? shared_weight(call, ndim, shape, name)
                              : dc_param_ex(g, ndim, shape, init, name, trainable && !call->frozen);
    if (p && listed)
        call->params[call->n_params++] = p;
    return p;
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
    DC_CHECK_NULL(name);
    DC_CHECK_NULL(out);
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
    c.activation = NULL;
    c.use_bias = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.bias_initializer = dc_init_make(DC_INIT_ZEROS);
    return c;
}

dc_status dc_layer_add_kernel(const dc_layer *l, dc_graph *g, dc_layer_call *call, int ndim, const int *shape,
                              dc_init kernel_init, int use_bias, dc_init bias_init, float l1, float l2,
                              dc_node **kernel, dc_node **bias)
{
    int units = shape[ndim - 1];
    *kernel = dc_layer_weight(g, call, l->name, "kernel", ndim, shape, kernel_init, 1, 1);
    *bias = NULL;
    if (*kernel && use_bias)
        *bias = dc_layer_weight(g, call, l->name, "bias", 1, &units, bias_init, 1, 1);
    if (!*kernel || (use_bias && !*bias))
        return dc_last_status();
    /* Keras sums the regularisers of trainable weights only */
    if (!call->frozen && (l1 != 0.0f || l2 != 0.0f)) {
        call->reg = dc_regularizer(g, *kernel, l1, l2);
        if (!call->reg)
            return dc_last_status();
    }
    return DC_OK;
}

static dc_status dense_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const dc_dense_config *c = &l->cfg.dense;
    char sx[96];
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has no feature axis", l->name,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    dc_node *w, *b;
    dc_status st = dc_layer_add_kernel(l, g, call, 2, (int[]){x->shape[x->ndim - 1], c->units}, c->kernel_initializer,
                                       c->use_bias, c->bias_initializer, c->kernel_l1, c->kernel_l2, &w, &b);
    if (st != DC_OK)
        return st;
    dc_node *pre = dc_dense(g, x, w, b);
    if (!pre)
        return dc_last_status();
    return dc_layer_finish_activation(call, g, pre, dc_layer_act(c->activation));
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
    if (dc_cfg_need(cfg, "units") || dc_cfg_int(cfg, "units", 1, DC_DIM_LIMIT, &c.units) || dc_cfg_kernel_args(cfg, &a))
        return NULL;
    return dc_layer_dense_ex(&c);
}

const dc_layer_class dc_class_dense = {.type = "Dense", .snake = "dense", .build = dense_build,
                                       .to_config = dense_to_config, .from_config = dense_from_config};

dc_layer *dc_layer_dense_ex(const dc_dense_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    if (dc_check_dim("Dense", "units", -1, cfg->units, 1) != DC_OK)
        return NULL;
    dc_dense_config c = *cfg;
    if (dc_layer_act_name("Dense", cfg->activation, NULL, &c.activation) != DC_OK)
        return NULL;
    dc_layer *l = dc_layer_new(&dc_class_dense);
    if (l)
        l->cfg.dense = c;
    return l;
}

dc_layer *dc_layer_dense(int units, const char *activation)
{
    dc_dense_config c = dc_dense_defaults(units);
    c.activation = activation;
    return dc_layer_dense_ex(&c);
}

/* ---- Flatten ---- */

static dc_status flatten_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    (void)l;
    int n = (int)dc_node_sample_size(x);
    call->out = dc_reshape(g, x, 1, &n);
    call->out_act = DC_ACT_LINEAR;
    return call->out ? DC_OK : dc_last_status();
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

const dc_layer_class dc_class_flatten = {.type = "Flatten", .snake = "flatten", .build = flatten_build,
                                         .to_config = dc_no_config, .from_config = flatten_from_config};

dc_layer *dc_layer_flatten(void) { return dc_layer_new(&dc_class_flatten); }

/* ---- Activation ---- */

static dc_status activation_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    return dc_layer_finish_activation(call, g, x, l->cfg.activation);
}

static void activation_to_config(const dc_layer *l, dc_jw *w) { dc_jw_str(w, "activation", dc_act_name(l->cfg.activation)); }

static dc_layer *activation_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const char *a = NULL;
    if (dc_cfg_need(cfg, "activation") || dc_cfg_act(cfg, "activation", &a))
        return NULL;
    return dc_layer_activation(a);
}

const dc_layer_class dc_class_activation = {.type = "Activation", .snake = "activation", .build = activation_build,
                                            .to_config = activation_to_config, .from_config = activation_from_config};

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

static dc_status reshape_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    call->out = dc_reshape(g, x, l->cfg.reshape.ndim, l->cfg.reshape.shape);
    return call->out ? DC_OK : dc_last_status();
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

const dc_layer_class dc_class_reshape = {.type = "Reshape", .snake = "reshape", .build = reshape_build,
                                         .to_config = reshape_to_config, .from_config = reshape_from_config};

dc_layer *dc_layer_reshape(int ndim, const int *shape)
{
    DC_CHECK_NULL_OR(shape, NULL);
    if (ndim < 1 || ndim >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "Reshape: %d dimensions, expected 1 to %d", ndim, DC_MAX_DIMS - 1);
    dc_layer *l = dc_layer_new(&dc_class_reshape);
    if (l) {
        l->cfg.reshape.ndim = ndim;
        memcpy(l->cfg.reshape.shape, shape, (size_t)ndim * sizeof(int));
    }
    return l;
}
