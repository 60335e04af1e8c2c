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
 *     q = dense(query, Wq (dim, H*Dk), bq) -> (B, Tq, H, Dk), the scores times 1/sqrt(Dk)
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
 * probabilities (B, H, Tq, Tk) into *probs.
 *
 * Without dropout the output is the fused attention op's (dc_attention: the
 * (B, H, Tq, Tk) scores are never stored, and the permutes around the
 * products go), with DC_ATTENTION_EMPTY_ROWS_ZERO so that a wholly masked
 * query gets all-zero probabilities as Keras 3's Softmax(mask=) gives it.
 * *probs is then a side branch (batched_matmul + masked softmax) that no
 * training or predict step reaches (the graph runs only a target's
 * ancestors): dc_model_attention_scores alone computes it.  With dropout
 * the probabilities are dropped out before the product, so the output goes
 * through them.  q comes unscaled: the fused op scales its scores (alpha of
 * its score product, no pass over q and its gradient), the scores branch
 * scales q. */
static dc_node *mha_core(dc_graph *g, dc_node *q, dc_node *k, dc_node *v, dc_node *const masks[4], int causal,
                         float scale, float dropout, dc_node **probs)
{
    int tq = q->shape[1], tk = k->shape[1];
    const int perm[3] = {1, 0, 2}; /* (T, H, D) <-> (H, T, D) */
    dc_node *mask = NULL;          /* (B, Tq, Tk), without the causal part */
    if (masks[0] || masks[1] || masks[2] || masks[3]) {
        mask = dc_attention_mask(g, masks[0], masks[1], masks[2], masks[3], tq, tk, 0);
        if (!mask)
            return NULL;
    }
    dc_node *fused = NULL;
    if (dropout <= 0.0f) {
        fused = dc_attention(g, q, k, v, mask, (causal ? DC_ATTENTION_CAUSAL : 0) | DC_ATTENTION_EMPTY_ROWS_ZERO,
                             scale);
        if (!fused)
            return NULL;
    }
    q = dc_scale(g, q, scale);
    dc_node *qh = q ? dc_permute(g, q, 3, perm) : NULL, *kh = qh ? dc_permute(g, k, 3, perm) : NULL;
    dc_node *scores = kh ? dc_batched_matmul(g, qh, kh, 0, 1) : NULL; /* (B, H, Tq, Tk) */
    if (!scores)
        return NULL;
    dc_node *smask = NULL;
    if (causal || mask) {
        smask = dc_attention_mask(g, masks[0], masks[1], masks[2], masks[3], tq, tk, causal);
        if (smask && smask->ndim == 3) /* (B, Tq, Tk) -> (B, 1, Tq, Tk): every head */
            smask = dc_reshape(g, smask, 3, (int[]){1, tq, tk});
        if (!smask)
            return NULL;
    }
    dc_node *p = dc_softmax_axis(g, scores, -1, smask, DC_SOFTMAX_MASK_BOOL);
    *probs = p;
    if (fused || !p)
        return p ? fused : NULL;
    p = dc_dropout(g, p, dropout);
    dc_node *vh = p ? dc_permute(g, v, 3, perm) : NULL;
    dc_node *o = vh ? dc_batched_matmul(g, p, vh, 0, 0) : NULL; /* (B, H, Tq, Dv) */
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
    dc_node *w = dc_layer_weight(g, call, prefix, "kernel", k_nd, kshape, c->kernel_initializer, 1, 1);
    int in = 1, out = 1; /* after the weight: its size check keeps in * out within an int */
    for (int i = 0; w && i < k_nd; i++)
        *(i < in_nd ? &in : &out) *= kshape[i];
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
    int dim = query->shape[2];
    dc_node *q = projection(l, g, call, "query", query, 3, (int[]){dim, H, Dk}, 1);
    dc_node *k = q ? projection(l, g, call, "key", key, 3, (int[]){key->shape[2], H, Dk}, 1) : NULL;
    dc_node *v = k ? projection(l, g, call, "value", value, 3, (int[]){value->shape[2], H, Dv}, 1) : NULL;
    if (!v)
        return built(l, NULL);
    dc_node *masks[4] = {call->in_masks[0], call->in_masks[1], n >= 3 ? call->in_masks[2] : NULL,
                         n == 4 ? xs[3] : NULL};
    dc_node *probs = NULL;
    dc_node *o = mha_core(g, q, k, v, masks, c->use_causal_mask, (float)(1.0 / sqrt((double)Dk)), c->dropout, &probs);
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
    call->out = y;
    call->scores = probs;
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

/* attention_axes: null, or what a built Keras layer writes for rank-3
 * inputs, [1] (or 1, or -2: axis 1 of the projected (B, T, H, D)). */
static dc_status read_attention_axes(const dc_json *cfg)
{
    const dc_json *v = dc_json_get(cfg, "attention_axes");
    if (!v || v->type == DC_JSON_NULL)
        return DC_OK;
    const dc_json *a = v->type == DC_JSON_ARRAY && v->len == 1 ? &v->items[0] : v;
    if (a->type == DC_JSON_NUMBER && (a->num == 1 || a->num == -2))
        return DC_OK;
    return dc_fail(DC_ERR_UNSUPPORTED, "key \"attention_axes\": only null or [1] (attention over the steps of "
                                       "(batch, steps, features) inputs) is supported");
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
        read_attention_axes(cfg) || cfg_unsupported(cfg, "sliding_window") ||
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

/* ---- Attention, AdditiveAttention ---- */

static int is_additive(const dc_layer *l) { return l->cls == &dc_class_additive_attention; }
static int score_concat(const dc_attention_config *c) { return c->score_mode && !strcmp(c->score_mode, "concat"); }

static dc_status attention_check_inputs(const dc_layer *l, int n, dc_node *const *xs)
{
    const char *name = layer_name(l);
    static const char *const what[3] = {"query", "value", "key"};
    char s[96];
    if (n < 2 || n > 3 || !xs)
        return dc_fail(DC_ERR_ARG, "%s: got %d inputs; %s takes [query, value] or [query, value, key]", name, n,
                       l->cls->type);
    for (int i = 0; i < n; i++) {
        if (!xs[i])
            return dc_fail(DC_ERR_ARG, "%s: input %d (%s) is NULL", name, i, what[i]);
        if (xs[i]->ndim != 3)
            return dc_fail(DC_ERR_SHAPE, "%s: %s has shape %s; expected (batch, steps, features)", name, what[i],
                           dc_batch_shape_str(xs[i]->ndim, xs[i]->shape, s, sizeof s));
    }
    const dc_node *q = xs[0], *v = xs[1], *k = n == 3 ? xs[2] : xs[1];
    if (k->shape[1] != v->shape[1])
        return dc_fail(DC_ERR_SHAPE, "%s: key has %d steps, value %d; they must be equal", name, k->shape[1],
                       v->shape[1]);
    if (k->shape[2] != q->shape[2])
        return dc_fail(DC_ERR_SHAPE, "%s: query has %d features, %s %d; the scores need them equal", name,
                       q->shape[2], n == 3 ? "key" : "value (the key)", k->shape[2]);
    return DC_OK;
}

/* scores (B, Tq, Tv) -> softmax with the value's mask and the causal mask
 * as Keras' _apply_scores adds them (scores - 1e9 where masked), dropout,
 * times value, rows of a masked query zeroed (Keras' where(q_mask, out, 0)). */
static dc_status attention_finish(const dc_layer *l, dc_graph *g, dc_node *scores, dc_node *value,
                                  dc_layer_call *call)
{
    const dc_attention_config *c = &l->cfg.attn;
    int tq = scores->shape[1], tv = scores->shape[2];
    dc_node *mask = NULL, *vmask = call->in_masks[1], *qmask = call->in_masks[0];
    if (vmask || c->use_causal_mask) {
        mask = dc_attention_mask(g, NULL, vmask, NULL, NULL, tq, tv, c->use_causal_mask);
        mask = mask ? dc_scale_offset(g, mask, 1e9f, -1e9f) : NULL; /* 0 kept, -1e9 masked */
        if (!mask)
            return built(l, NULL);
    }
    dc_node *w = dc_softmax_axis(g, scores, -1, mask, DC_SOFTMAX_MASK_ADD);
    call->scores = w;
    if (w && c->dropout > 0.0f)
        w = dc_dropout(g, w, c->dropout);
    dc_node *out = w ? dc_batched_matmul(g, w, value, 0, 0) : NULL;
    if (out && qmask)
        out = dc_mask_steps(g, out, qmask);
    if (!out)
        return built(l, NULL);
    call->out = out;
    call->mask = qmask; /* Keras' compute_mask: the query's */
    return DC_OK;
}

static dc_status attention_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    const dc_attention_config *c = &l->cfg.attn;
    dc_status st = attention_check_inputs(l, n, xs);
    if (st != DC_OK)
        return st;
    dc_node *q = xs[0], *v = xs[1], *k = n == 3 ? xs[2] : xs[1], *scores;
    const char *name = layer_name(l);
    if (is_additive(l)) { /* sum(scale * tanh(q + k)), scale (dim,) */
        int dim = q->shape[2];
        dc_node *scale = c->use_scale ? dc_layer_weight(g, call, name, "scale", 1, &dim,
                                                        dc_init_make(DC_INIT_GLOROT_UNIFORM), 1, 1)
                                      : NULL;
        if (c->use_scale && !scale)
            return built(l, NULL);
        scores = dc_additive_score(g, q, k, scale, NULL, NULL);
    } else {
        int one = 1;
        dc_node *scale = c->use_scale ? dc_layer_weight(g, call, name, "scale", 1, &one, dc_init_make(DC_INIT_ONES),
                                                        1, 1)
                                      : NULL;
        dc_node *cw = score_concat(c) && (scale || !c->use_scale)
                          ? dc_layer_weight(g, call, name, "concat_score_weight", 1, &one, dc_init_make(DC_INIT_ONES),
                                            1, 1)
                          : NULL;
        if ((c->use_scale && !scale) || (score_concat(c) && !cw))
            return built(l, NULL);
        if (score_concat(c)) { /* concat_score_weight * sum(tanh(scale * (q + k))) */
            scores = dc_additive_score(g, q, k, NULL, scale, cw);
        } else { /* q k^T (times scale) */
            scores = dc_batched_matmul(g, q, k, 0, 1);
            if (scores && scale)
                scores = dc_mul_scalar(g, scores, scale);
        }
    }
    if (!scores)
        return built(l, NULL);
    return attention_finish(l, g, scores, v, call);
}

static void attention_to_config(const dc_layer *l, dc_jw *w)
{
    const dc_attention_config *c = &l->cfg.attn;
    dc_jw_bool(w, "use_scale", c->use_scale);
    if (!is_additive(l))
        dc_jw_str(w, "score_mode", score_concat(c) ? "concat" : "dot");
    dc_jw_float(w, "dropout", c->dropout);
    dc_jw_null(w, "seed");
    if (c->use_causal_mask)
        dc_jw_bool(w, "use_causal_mask", 1);
}

static dc_layer *attention_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int additive = cls == &dc_class_additive_attention;
    dc_attention_config c = {.use_scale = additive, .score_mode = "dot"};
    const dc_json *mode = dc_json_get(cfg, "score_mode");
    if (!additive && mode) {
        if (mode->type != DC_JSON_STRING)
            return dc_fail_null(DC_ERR_FORMAT, "key \"score_mode\": expected \"dot\" or \"concat\"");
        c.score_mode = mode->str;
    }
    if (dc_cfg_bool(cfg, "use_scale", &c.use_scale) || dc_cfg_float(cfg, "dropout", &c.dropout) ||
        dc_cfg_bool(cfg, "use_causal_mask", &c.use_causal_mask) || dc_cfg_bool(cfg, "causal", &c.use_causal_mask))
        return NULL;
    return additive ? dc_layer_additive_attention_ex(&c) : dc_layer_attention_ex(&c);
}

const dc_layer_class dc_class_attention = {.type = "Attention", .snake = "attention", .to_config = attention_to_config,
                                           .from_config = attention_from_config, .build_merge = attention_build};
const dc_layer_class dc_class_additive_attention = {.type = "AdditiveAttention", .snake = "additive_attention",
                                                    .to_config = attention_to_config,
                                                    .from_config = attention_from_config,
                                                    .build_merge = attention_build};

static dc_layer *attention_new(const dc_layer_class *cls, const dc_attention_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    const char *mode = cfg->score_mode ? cfg->score_mode : "dot";
    if (cls == &dc_class_attention && strcmp(mode, "dot") != 0 && strcmp(mode, "concat") != 0)
        return dc_fail_null(DC_ERR_ARG, "Attention: score_mode \"%.40s\"; expected \"dot\" or \"concat\"", mode);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return dc_fail_null(DC_ERR_ARG, "%s: dropout %g; expected 0 <= dropout < 1", cls->type, (double)cfg->dropout);
    dc_layer *l = dc_layer_new(cls);
    if (l) {
        l->cfg.attn = *cfg;
        l->cfg.attn.score_mode = strcmp(mode, "concat") == 0 ? "concat" : "dot"; /* static storage */
    }
    return l;
}

dc_layer *dc_layer_attention(int use_scale, const char *score_mode)
{
    dc_attention_config c = {.use_scale = use_scale, .score_mode = score_mode};
    return attention_new(&dc_class_attention, &c);
}

dc_layer *dc_layer_attention_ex(const dc_attention_config *cfg) { return attention_new(&dc_class_attention, cfg); }

dc_layer *dc_layer_additive_attention(int use_scale)
{
    dc_attention_config c = {.use_scale = use_scale};
    return attention_new(&dc_class_additive_attention, &c);
}

dc_layer *dc_layer_additive_attention_ex(const dc_attention_config *cfg)
{
    return attention_new(&dc_class_additive_attention, cfg);
}

/* ---- PositionEmbedding (keras_hub) ---- */

static dc_status posemb_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    int L = l->cfg.posemb.sequence_length;
    char s[96];
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s; expected (batch, steps, features)", layer_name(l),
                       dc_batch_shape_str(x->ndim, x->shape, s, sizeof s));
    int T = x->shape[x->ndim - 2], D = x->shape[x->ndim - 1];
    if (T > L)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d steps, more than sequence_length %d (keras_hub's "
                                     "hierarchical extension past it is not supported)", layer_name(l),
                       dc_batch_shape_str(x->ndim, x->shape, s, sizeof s), T, L);
    dc_node *table = dc_layer_weight(g, call, layer_name(l), "embeddings", 2, (int[]){L, D}, l->cfg.posemb.init, 1, 1);
    dc_node *y = table ? dc_position_embedding(g, x, table, 0) : NULL;
    if (!y)
        return built(l, NULL);
    call->out = y;
    call->mask = NULL; /* keras_hub: "This layer does not support masking" */
    return DC_OK;
}

static void posemb_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_int(w, "sequence_length", l->cfg.posemb.sequence_length);
    dc_jw_float(w, "hierarchical_alpha", 0.4f);
    dc_cfg_write_init(w, "initializer", l->cfg.posemb.init);
}

static dc_layer *posemb_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int L = 0;
    dc_init init = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    if (dc_cfg_need(cfg, "sequence_length") || dc_cfg_int(cfg, "sequence_length", 1, DC_DIM_LIMIT, &L) ||
        dc_cfg_init(cfg, "initializer", &init))
        return NULL;
    return dc_layer_position_embedding_ex(L, init);
}

const dc_layer_class dc_class_position_embedding = {.type = "PositionEmbedding", .snake = "position_embedding",
                                                    .build = posemb_build, .to_config = posemb_to_config,
                                                    .from_config = posemb_from_config};

dc_layer *dc_layer_position_embedding(int sequence_length)
{
    return dc_layer_position_embedding_ex(sequence_length, dc_init_make(DC_INIT_GLOROT_UNIFORM));
}

dc_layer *dc_layer_position_embedding_ex(int sequence_length, dc_init initializer)
{
    if (sequence_length < 1 || sequence_length > DC_DIM_LIMIT)
        return dc_fail_null(DC_ERR_ARG, "PositionEmbedding: sequence_length %d; expected 1 to %d", sequence_length,
                            DC_DIM_LIMIT);
    dc_layer *l = dc_layer_new(&dc_class_position_embedding);
    if (l) {
        l->cfg.posemb.sequence_length = sequence_length;
        l->cfg.posemb.init = initializer;
    }
    return l;
}

/* ---- Dot ---- */

static dc_status dot_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    const char *name = layer_name(l);
    char sa[96], sb[96];
    if (n != 2 || !xs || !xs[0] || !xs[1])
        return dc_fail(DC_ERR_ARG, "%s: got %d inputs%s; Dot takes exactly 2", name, n,
                       n == 2 ? " (one NULL)" : "");
    dc_node *a = xs[0], *b = xs[1];
    int nd = a->ndim, axes[2];
    dc_batch_shape_str(a->ndim, a->shape, sa, sizeof sa);
    dc_batch_shape_str(b->ndim, b->shape, sb, sizeof sb);
    for (int i = 0; i < 2; i++) {
        int ax = l->cfg.dot.axes[i];
        axes[i] = ax < 0 ? ax + xs[i]->ndim : ax;
    }
    if (b->ndim != nd || nd < 2 || nd > 3 || axes[0] < 1 || axes[0] >= nd || axes[1] < 1 || axes[1] >= nd)
        return dc_fail(DC_ERR_SHAPE, "%s: inputs %s and %s with axes (%d, %d); deepc's Dot takes two inputs of rank 2 "
                                     "or 3 (batch included) and axes after the batch axis", name, sa, sb,
                       l->cfg.dot.axes[0], l->cfg.dot.axes[1]);
    if (a->shape[axes[0]] != b->shape[axes[1]])
        return dc_fail(DC_ERR_SHAPE, "%s: axis %d of %s has %d values, axis %d of %s %d; they must be equal", name,
                       axes[0], sa, a->shape[axes[0]], axes[1], sb, b->shape[axes[1]]);
    if (l->cfg.dot.normalize) {
        a = dc_l2_normalize(g, a, axes[0]);
        b = a ? dc_l2_normalize(g, b, axes[1]) : NULL;
    }
    dc_node *y;
    if (nd == 2) { /* (B, k) . (B, k) -> (B, 1, k) x (B, k, 1) -> (B, 1) */
        int k = a ? a->shape[1] : 0;
        dc_node *a3 = b ? dc_reshape(g, a, 2, (int[]){1, k}) : NULL, *b3 = a3 ? dc_reshape(g, b, 2, (int[]){k, 1}) : NULL;
        y = b3 ? dc_batched_matmul(g, a3, b3, 0, 0) : NULL;
        y = y ? dc_reshape(g, y, 1, (int[]){1}) : NULL;
    } else {
        y = b ? dc_batched_matmul(g, a, b, axes[0] == 1, axes[1] == 2) : NULL;
    }
    if (!y)
        return built(l, NULL);
    call->out = y;
    call->mask = NULL; /* Keras' Dot.compute_mask: None */
    return DC_OK;
}

static void dot_to_config(const dc_layer *l, dc_jw *w)
{
    if (l->cfg.dot.axes[0] == l->cfg.dot.axes[1])
        dc_jw_int(w, "axes", l->cfg.dot.axes[0]);
    else
        dc_jw_ints(w, "axes", 2, l->cfg.dot.axes);
    dc_jw_bool(w, "normalize", l->cfg.dot.normalize);
}

static dc_layer *dot_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int axes[2] = {0, 0}, normalize = 0;
    if (dc_cfg_need(cfg, "axes") || dc_cfg_ints(cfg, "axes", 2, -DC_MAX_DIMS, DC_MAX_DIMS - 1, axes) ||
        dc_cfg_bool(cfg, "normalize", &normalize))
        return NULL;
    return dc_layer_dot(axes[0], axes[1], normalize);
}

const dc_layer_class dc_class_dot = {.type = "Dot", .snake = "dot", .to_config = dot_to_config,
                                     .from_config = dot_from_config, .build_merge = dot_build};

dc_layer *dc_layer_dot(int axis_a, int axis_b, int normalize)
{
    if (axis_a == 0 || axis_b == 0 || axis_a < -DC_MAX_DIMS || axis_b < -DC_MAX_DIMS || axis_a >= DC_MAX_DIMS ||
        axis_b >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "Dot: axes (%d, %d); axis 0 is the batch axis, give axes after it (1, 2) or "
                                        "count from the end (-1)", axis_a, axis_b);
    dc_layer *l = dc_layer_new(&dc_class_dot);
    if (l) {
        l->cfg.dot.axes[0] = axis_a;
        l->cfg.dot.axes[1] = axis_b;
        l->cfg.dot.normalize = normalize != 0;
    }
    return l;
}
