/*
 * layers_attention.c - Keras 3's attention layers: MultiHeadAttention
 * (keras/src/layers/attention/multi_head_attention.py).
 *
 * They take several inputs, so their class has build_merge (the hook of
 * layers of several inputs, called by dc_model_merge) and no build; each
 * input's own mask comes in call->in_masks (token ids), as Keras hands an
 * attention layer query_mask, value_mask and key_mask.
 *
 * MultiHeadAttention builds from the graph's ops:
 *     q = dense(query, Wq (dim, H*Dk), bq) -> (B, Tq, H, Dk), times 1/sqrt(Dk)
 *     k = dense(key, Wk, bk) -> (B, Tk, H, Dk);  v = dense(value, Wv, bv) -> (B, Tk, H, Dv)
 *     mha_core: (B, H, Tq, Dk) x (B, H, Tk, Dk)^T -> scores (B, H, Tq, Tk),
 *               masked softmax over Tk, dropout, x (B, H, Tk, Dv) -> (B, Tq, H, Dv)
 *     out = dense((B, Tq, H*Dv), Wo (H*Dv, out), bo) -> (B, Tq, output_shape...)
 * The kernels are Keras' (dim, H, Dk) ... arrays seen as 2-D matrices
 * (reshape shares the parameter's buffers), so the weights, their names and
 * their initialisation fans are Keras' own.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *layer_name(const dc_layer *l) { return l->name[0] ? l->name : l->cls->snake; }

static dc_status built(const dc_layer *l, dc_node *n)
{
    if (n)
        return DC_OK;
    dc_err_prefix(layer_name(l));
    return dc_last_status();
}

/* ---- MultiHeadAttention ---- */

/* The attention of q (B, Tq, H, Dk) already scaled, k (B, Tk, H, Dk), v (B,
 * Tk, H, Dv) under the masks (query, value, key token ids, attention mask;
 * each may be NULL) and the causal flag -> (B, Tq, H, Dv); the attention
 * probabilities (B, H, Tq, Tk) into *probs.  One function, so that the
 * fused attention op can take its place where no probabilities are wanted
 * and dropout is off. */
static dc_node *mha_core(dc_graph *g, dc_node *q, dc_node *k, dc_node *v, dc_node *const masks[4], int causal,
                         float dropout, dc_node **probs)
{
    int tq = q->shape[1], tk = k->shape[1];
    const int perm[3] = {1, 0, 2}; /* (T, H, D) <-> (H, T, D) */
    dc_node *qh = dc_permute(g, q, 3, perm), *kh = qh ? dc_permute(g, k, 3, perm) : NULL;
    dc_node *vh = kh ? dc_permute(g, v, 3, perm) : NULL;
    dc_node *scores = vh ? dc_batched_matmul(g, qh, kh, 0, 1) : NULL; /* (B, H, Tq, Tk) */
    if (!scores)
        return NULL;
    dc_node *mask = NULL;
    if (causal || masks[0] || masks[1] || masks[2] || masks[3]) {
        mask = dc_attention_mask(g, masks[0], masks[1], masks[2], masks[3], tq, tk, causal);
        if (mask && mask->ndim == 3) /* (B, Tq, Tk) -> (B, 1, Tq, Tk): every head */
            mask = dc_reshape(g, mask, 3, (int[]){1, tq, tk});
        if (!mask)
            return NULL;
    }
    dc_node *p = dc_softmax_axis(g, scores, -1, mask, DC_SOFTMAX_MASK_BOOL);
    *probs = p;
    if (p && dropout > 0.0f)
        p = dc_dropout(g, p, dropout);
    dc_node *o = p ? dc_batched_matmul(g, p, vh, 0, 0) : NULL; /* (B, H, Tq, Dv) */
    return o ? dc_permute(g, o, 3, perm) : NULL;
}

/* Adds l1 |w| + l2 w^2 of w to the call's regularisation loss. */
static dc_status add_reg(dc_graph *g, dc_layer_call *call, dc_node *w, float l1, float l2)
{
    if (call->frozen || (l1 == 0.0f && l2 == 0.0f) || !w)
        return DC_OK;
    dc_node *r = dc_regularizer(g, w, l1, l2);
    if (r && call->reg)
        r = dc_add(g, call->reg, r);
    if (!r)
        return dc_last_status();
    call->reg = r;
    return DC_OK;
}

/* One of Keras' EinsumDense projections "<layer>/<what>": kernel of
 * kshape (k_nd axes, the first `in` of them contracted), bias of the rest;
 * x (B, T, ...) whose last axis, or last two, hold `in` values -> (B, T,
 * rest...) as (B, T, rest_nd axes). */
static dc_node *projection(const dc_layer *l, dc_graph *g, dc_layer_call *call, const char *what, dc_node *x,
                           int k_nd, const int *kshape, int in_nd)
{
    const dc_mha_config *c = &l->cfg.mha;
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s/%s", layer_name(l), what);
    int in = 1, out = 1;
    for (int i = 0; i < k_nd; i++)
        *(i < in_nd ? &in : &out) *= kshape[i];
    dc_node *w = dc_layer_weight(g, call, prefix, "kernel", k_nd, kshape, c->kernel_initializer, 1, 1);
    dc_node *b = w && c->use_bias ? dc_layer_weight(g, call, prefix, "bias", k_nd - in_nd, kshape + in_nd,
                                                     c->bias_initializer, 1, 1)
                                  : NULL;
    if (!w || (c->use_bias && !b))
        return NULL;
    if (add_reg(g, call, w, c->kernel_l1, c->kernel_l2) != DC_OK || add_reg(g, call, b, c->bias_l1, c->bias_l2) != DC_OK)
        return NULL;
    int T = x->shape[1];
    dc_node *x2 = x->ndim == 3 ? x : dc_reshape(g, x, 2, (int[]){T, in});
    dc_node *w2 = x2 ? dc_reshape(g, w, 2, (int[]){in, out}) : NULL;
    dc_node *b1 = w2 && b ? dc_reshape(g, b, 1, &out) : NULL;
    dc_node *y = w2 && (b1 || !b) ? dc_dense(g, x2, w2, b1) : NULL;
    int shape[DC_MAX_DIMS] = {T};
    memcpy(shape + 1, kshape + in_nd, (size_t)(k_nd - in_nd) * sizeof(int));
    return y && k_nd - in_nd > 1 ? dc_reshape(g, y, 1 + k_nd - in_nd, shape) : y;
}

static dc_status mha_check_inputs(const dc_layer *l, int n, dc_node *const *xs)
{
    const char *name = layer_name(l);
    static const char *const what[4] = {"query", "value", "key", "attention mask"};
    char s[96];
    if (n < 2 || n > 4 || !xs)
        return dc_fail(DC_ERR_ARG, "%s: got %d inputs; MultiHeadAttention takes query, value and optionally key and "
                                   "an attention mask (2 to 4)", name, n);
    for (int i = 0; i < n; i++) {
        if (!xs[i])
            return dc_fail(DC_ERR_ARG, "%s: input %d (%s) is NULL", name, i, what[i]);
        if (xs[i]->ndim != 3)
            return dc_fail(DC_ERR_SHAPE, "%s: %s has shape %s; expected (batch, steps, features) (deepc attends over "
                                         "axis 1 only)", name, what[i],
                           dc_batch_shape_str(xs[i]->ndim, xs[i]->shape, s, sizeof s));
    }
    int tq = xs[0]->shape[1], tk = xs[1]->shape[1];
    if (n >= 3 && xs[2]->shape[1] != tk)
        return dc_fail(DC_ERR_SHAPE, "%s: key has %d steps, value %d; they must be equal", name, xs[2]->shape[1], tk);
    if (n == 4 && (xs[3]->shape[1] != tq || xs[3]->shape[2] != tk))
        return dc_fail(DC_ERR_SHAPE, "%s: attention mask has shape %s; expected (None, %d, %d) (query steps, value "
                                     "steps)", name, dc_batch_shape_str(3, xs[3]->shape, s, sizeof s), tq, tk);
    return DC_OK;
}

static dc_status mha_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    const dc_mha_config *c = &l->cfg.mha;
    dc_status st = mha_check_inputs(l, n, xs);
    if (st != DC_OK)
        return st;
    dc_node *query = xs[0], *value = xs[1], *key = n >= 3 ? xs[2] : xs[1];
    int H = c->num_heads, Dk = c->key_dim, Dv = c->value_dim ? c->value_dim : c->key_dim;
    int dim = query->shape[2], tq = query->shape[1];
    dc_node *q = projection(l, g, call, "query", query, 3, (int[]){dim, H, Dk}, 1);
    dc_node *k = q ? projection(l, g, call, "key", key, 3, (int[]){key->shape[2], H, Dk}, 1) : NULL;
    dc_node *v = k ? projection(l, g, call, "value", value, 3, (int[]){value->shape[2], H, Dv}, 1) : NULL;
    if (!v)
        return built(l, NULL);
    q = dc_scale(g, q, (float)(1.0 / sqrt((double)Dk)));
    dc_node *masks[4] = {call->in_masks[0], call->in_masks[1], n >= 3 ? call->in_masks[2] : NULL,
                         n == 4 ? xs[3] : NULL};
    dc_node *probs = NULL;
    dc_node *o = q ? mha_core(g, q, k, v, masks, c->use_causal_mask, c->dropout, &probs) : NULL;
    if (!o)
        return built(l, NULL);
    int oshape[1 + 2 + 4] = {H, Dv}, ond = c->output_ndim ? c->output_ndim : 1;
    if (c->output_ndim)
        memcpy(oshape + 2, c->output_shape, (size_t)c->output_ndim * sizeof(int));
    else
        oshape[2] = dim;
    dc_node *y = projection(l, g, call, "attention_output", o, 2 + ond, oshape, 2);
    if (!y)
        return built(l, NULL);
    (void)tq;
    call->out = y;
    call->mask = call->in_masks[0]; /* Keras: the output keeps the query's mask */
    return DC_OK;
}

dc_mha_config dc_mha_defaults(int num_heads, int key_dim)
{
    dc_mha_config c = {0};
    c.num_heads = num_heads;
    c.key_dim = key_dim;
    c.use_bias = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.bias_initializer = dc_init_make(DC_INIT_ZEROS);
    return c;
}

static void mha_to_config(const dc_layer *l, dc_jw *w)
{
    const dc_mha_config *c = &l->cfg.mha;
    dc_jw_int(w, "num_heads", c->num_heads);
    dc_jw_int(w, "key_dim", c->key_dim);
    dc_jw_int(w, "value_dim", c->value_dim ? c->value_dim : c->key_dim);
    dc_jw_float(w, "dropout", c->dropout);
    dc_jw_bool(w, "use_bias", c->use_bias);
    dc_jw_bool(w, "use_gate", 0);
    if (c->output_ndim)
        dc_jw_ints(w, "output_shape", c->output_ndim, c->output_shape);
    else
        dc_jw_null(w, "output_shape");
    dc_jw_null(w, "attention_axes");
    dc_jw_null(w, "sliding_window");
    dc_cfg_write_init(w, "kernel_initializer", c->kernel_initializer);
    dc_cfg_write_init(w, "bias_initializer", c->bias_initializer);
    dc_cfg_write_reg(w, "kernel_regularizer", c->kernel_l1, c->kernel_l2);
    dc_cfg_write_reg(w, "bias_regularizer", c->bias_l1, c->bias_l2);
    dc_jw_null(w, "activity_regularizer");
    dc_jw_null(w, "kernel_constraint");
    dc_jw_null(w, "bias_constraint");
    dc_jw_null(w, "seed");
    if (c->use_causal_mask)
        dc_jw_bool(w, "use_causal_mask", 1);
}

/* Keras' output_shape: null, an integer or a list of up to 4. */
static dc_status read_output_shape(const dc_json *cfg, dc_mha_config *c)
{
    const dc_json *v = dc_json_get(cfg, "output_shape");
    if (!v || v->type == DC_JSON_NULL)
        return DC_OK;
    if (v->type == DC_JSON_NUMBER) {
        c->output_ndim = 1;
        return dc_cfg_int(cfg, "output_shape", 1, DC_DIM_LIMIT, c->output_shape);
    }
    if (v->type != DC_JSON_ARRAY || v->len < 1 || v->len > 4)
        return dc_fail(DC_ERR_FORMAT, "key \"output_shape\": expected null, an integer or a list of 1 to 4 integers");
    c->output_ndim = (int)v->len;
    return dc_cfg_ints(cfg, "output_shape", c->output_ndim, 1, DC_DIM_LIMIT, c->output_shape);
}

/* A key Keras writes that deepc supports only at its default (null / false). */
static dc_status cfg_unsupported(const dc_json *cfg, const char *key)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v || v->type == DC_JSON_NULL || (v->type == DC_JSON_BOOL && !v->boolean))
        return DC_OK;
    return dc_fail(DC_ERR_UNSUPPORTED, "key \"%s\": only null (or false) is supported", key);
}

static dc_layer *mha_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    dc_mha_config c = dc_mha_defaults(1, 1);
    if (dc_cfg_need(cfg, "num_heads") || dc_cfg_need(cfg, "key_dim") ||
        dc_cfg_int(cfg, "num_heads", 1, DC_DIM_LIMIT, &c.num_heads) ||
        dc_cfg_int(cfg, "key_dim", 1, DC_DIM_LIMIT, &c.key_dim))
        return NULL;
    const dc_json *vd = dc_json_get(cfg, "value_dim");
    if (vd && vd->type != DC_JSON_NULL && dc_cfg_int(cfg, "value_dim", 1, DC_DIM_LIMIT, &c.value_dim))
        return NULL;
    if (dc_cfg_float(cfg, "dropout", &c.dropout) || dc_cfg_bool(cfg, "use_bias", &c.use_bias) ||
        read_output_shape(cfg, &c) || dc_cfg_init(cfg, "kernel_initializer", &c.kernel_initializer) ||
        dc_cfg_init(cfg, "bias_initializer", &c.bias_initializer) ||
        dc_cfg_reg(cfg, "kernel_regularizer", &c.kernel_l1, &c.kernel_l2) ||
        dc_cfg_reg(cfg, "bias_regularizer", &c.bias_l1, &c.bias_l2) ||
        dc_cfg_bool(cfg, "use_causal_mask", &c.use_causal_mask) || cfg_unsupported(cfg, "use_gate") ||
        cfg_unsupported(cfg, "attention_axes") || cfg_unsupported(cfg, "sliding_window") ||
        cfg_unsupported(cfg, "activity_regularizer") || cfg_unsupported(cfg, "kernel_constraint") ||
        cfg_unsupported(cfg, "bias_constraint"))
        return NULL;
    return dc_layer_multi_head_attention_ex(&c);
}

const dc_layer_class dc_class_multi_head_attention = {.type = "MultiHeadAttention", .snake = "multi_head_attention",
                                                      .to_config = mha_to_config, .from_config = mha_from_config,
                                                      .build_merge = mha_build};

dc_layer *dc_layer_multi_head_attention(int num_heads, int key_dim)
{
    dc_mha_config c = dc_mha_defaults(num_heads, key_dim);
    return dc_layer_multi_head_attention_ex(&c);
}

dc_layer *dc_layer_multi_head_attention_ex(const dc_mha_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    const char *bad = cfg->num_heads < 1 || cfg->num_heads > DC_DIM_LIMIT ? "num_heads"
                      : cfg->key_dim < 1 || cfg->key_dim > DC_DIM_LIMIT   ? "key_dim"
                      : cfg->value_dim < 0 || cfg->value_dim > DC_DIM_LIMIT ? "value_dim"
                      : !(cfg->dropout >= 0.0f && cfg->dropout < 1.0f)     ? "dropout"
                      : cfg->output_ndim < 0 || cfg->output_ndim > 4       ? "output_ndim"
                                                                           : NULL;
    for (int i = 0; !bad && i < cfg->output_ndim; i++)
        if (cfg->output_shape[i] < 1 || cfg->output_shape[i] > DC_DIM_LIMIT)
            bad = "output_shape";
    if (bad)
        return dc_fail_null(DC_ERR_ARG, "MultiHeadAttention: %s is out of range (num_heads, key_dim >= 1; value_dim "
                                        ">= 0, 0 = key_dim; 0 <= dropout < 1; up to 4 positive output_shape sizes)",
                            bad);
    dc_layer *l = dc_layer_new(&dc_class_multi_head_attention);
    if (l)
        l->cfg.mha = *cfg;
    return l;
}
