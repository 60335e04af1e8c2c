/*
 * layers_seq2seq.c - RepeatVector, Permute, Masking and TimeDistributed,
 * with Keras 3's arguments, config keys and masks.
 *
 * Masking sets its call's mask to a (batch, steps) node of 0/1 (0 where
 * every feature equals mask_value) and zeroes the output there: the model
 * passes call->mask on exactly as it passes Embedding(mask_zero)'s token ids,
 * and every consumer (recurrent ops, the masked loss, the metrics) reads a
 * step as padded where the mask is 0, whichever layer made it.
 *
 * TimeDistributed(layer) builds the wrapped layer once, named
 * "<wrapper>/<layer>" so its weights are "<wrapper>/<layer>/kernel" (Keras 3
 * paths).  Layers that already act on the last axis alone (Dense, Dropout,
 * Activation) are built on the (batch, steps, ...) input as it is, which is
 * the same computation; any other layer sees the steps folded into the batch
 * (time_fold, a view) and its output is unfolded again.  The incoming mask
 * passes through (Keras' TimeDistributed supports_masking).
 */
#include "layers/layer.h"

#include <string.h>

/* ---- RepeatVector ---- */

static dc_status repeat_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    if (x->ndim != 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected 2: (batch, features)", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    call->out = dc_repeat(g, x, l->cfg.repeat.n);
    call->mask = NULL; /* Keras' RepeatVector does not support masking */
    return call->out ? DC_OK : dc_last_status();
}

static void repeat_to_config(const dc_layer *l, dc_jw *w) { dc_jw_int(w, "n", l->cfg.repeat.n); }

static dc_layer *repeat_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int n = 0;
    (void)cls;
    if (dc_cfg_need(cfg, "n") || dc_cfg_int(cfg, "n", 1, DC_DIM_LIMIT, &n))
        return NULL;
    return dc_layer_repeat_vector(n);
}

const dc_layer_class dc_class_repeat_vector = {.type = "RepeatVector", .snake = "repeat_vector", .build = repeat_build,
                                               .to_config = repeat_to_config, .from_config = repeat_from_config};

dc_layer *dc_layer_repeat_vector(int n)
{
    if (dc_check_dim("RepeatVector", "n", -1, n, 1) != DC_OK)
        return NULL;
    dc_layer *l = dc_layer_new(&dc_class_repeat_vector);
    if (l)
        l->cfg.repeat.n = n;
    return l;
}

/* ---- Permute ---- */

static dc_status permute_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    int k = l->cfg.permute.ndims, perm[DC_MAX_DIMS];
    if (x->ndim != k + 1)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes after the batch, dims has %d", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim - 1, k);
    for (int i = 0; i < k; i++)
        perm[i] = l->cfg.permute.dims[i] - 1;
    call->out = dc_permute(g, x, k, perm);
    call->mask = NULL; /* Keras' Permute does not support masking: the mask ends here */
    return call->out ? DC_OK : dc_last_status();
}

static void permute_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_ints(w, "dims", l->cfg.permute.ndims, l->cfg.permute.dims);
}

static dc_layer *permute_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const dc_json *t = dc_json_get(cfg, "dims");
    int dims[DC_MAX_DIMS];
    if (!t || t->type != DC_JSON_ARRAY || t->len < 1 || t->len >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_FORMAT, "key \"dims\" must be an array of 1 to %d integers", DC_MAX_DIMS - 1);
    if (dc_cfg_ints(cfg, "dims", (int)t->len, 1, DC_MAX_DIMS, dims))
        return NULL;
    return dc_layer_permute((int)t->len, dims);
}

const dc_layer_class dc_class_permute = {.type = "Permute", .snake = "permute", .build = permute_build,
                                         .to_config = permute_to_config, .from_config = permute_from_config};

dc_layer *dc_layer_permute(int ndims, const int *dims)
{
    DC_CHECK_NULL_OR(dims, NULL);
    int seen = 0;
    if (ndims < 1 || ndims >= DC_MAX_DIMS || !dims)
        return dc_fail_null(DC_ERR_ARG, "Permute: %d dims, expected 1 to %d", ndims, DC_MAX_DIMS - 1);
    for (int i = 0; i < ndims; i++) {
        if (dims[i] < 1 || dims[i] > ndims || (seen >> dims[i] & 1))
            return dc_fail_null(DC_ERR_ARG, "Permute: dims[%d] is %d; dims must hold each of 1..%d once (1-based, "
                                            "the batch axis left out)",
                                i, dims[i], ndims);
        seen |= 1 << dims[i];
    }
    dc_layer *l = dc_layer_new(&dc_class_permute);
    if (l) {
        l->cfg.permute.ndims = ndims;
        memcpy(l->cfg.permute.dims, dims, (size_t)ndims * sizeof(int));
    }
    return l;
}

/* ---- Masking ---- */

static dc_status masking_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    if (x->ndim != 3)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected 3: (batch, timesteps, features)", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    dc_node *mask = dc_step_mask(g, x, l->cfg.masking.mask_value);
    call->out = mask ? dc_mask_steps(g, x, mask) : NULL;
    if (!call->out)
        return dc_last_status();
    call->mask = mask; /* replaces any incoming mask, as Keras' compute_mask does */
    return DC_OK;
}

static void masking_to_config(const dc_layer *l, dc_jw *w) { dc_jw_float(w, "mask_value", l->cfg.masking.mask_value); }

static dc_layer *masking_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float v = 0.0f;
    (void)cls;
    if (dc_cfg_float(cfg, "mask_value", &v))
        return NULL;
    return dc_layer_masking(v);
}

const dc_layer_class dc_class_masking = {.type = "Masking", .snake = "masking", .build = masking_build,
                                         .to_config = masking_to_config, .from_config = masking_from_config};

dc_layer *dc_layer_masking(float mask_value)
{
    if (mask_value != mask_value)
        return dc_fail_null(DC_ERR_ARG, "Masking: mask_value is NaN, which no value equals");
    dc_layer *l = dc_layer_new(&dc_class_masking);
    if (l)
        l->cfg.masking.mask_value = mask_value;
    return l;
}

/* ---- TimeDistributed ---- */

/* Layers whose op already treats every leading axis alike. */
static int acts_per_row(const dc_layer *in)
{
    return in->cls == &dc_class_dense || in->cls == &dc_class_dropout || in->cls == &dc_class_activation;
}

static dc_status td_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    dc_layer in = *l->cfg.td.inner; /* a copy, named for this build */
    char sx[96];
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected at least 3: (batch, timesteps, ...)", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    int direct = acts_per_row(&in), T = x->shape[1];
    dc_node *xin = direct ? x : dc_time_fold(g, x);
    if (!xin)
        return dc_last_status();
    size_t outer = strlen(l->name), inner = strlen(in.name);
    if (outer + 1 + inner >= sizeof in.name)
        return dc_fail(DC_ERR_ARG, "%s: the name \"%s/%s\" of its weights is longer than %zu characters", l->name,
                       l->name, in.name, sizeof in.name - 1);
    memcpy(in.name, l->name, outer); /* "<wrapper>/<layer>" */
    in.name[outer] = '/';
    memcpy(in.name + outer + 1, l->cfg.td.inner->name, inner + 1);
    /* the wrapped layer records its weights and output in this call; the incoming mask passes it by */
    dc_node *mask = call->mask;
    call->mask = direct ? mask : NULL;
    dc_status st = in.cls->build(&in, g, xin, call);
    call->mask = mask;
    if (st != DC_OK || direct)
        return st;
    dc_node *logits = call->logits;
    call->out = dc_time_unfold(g, call->out, T);
    call->logits = logits ? dc_time_unfold(g, logits, T) : NULL;
    return call->out && (call->logits || !logits) ? DC_OK : dc_last_status();
}

/* {"layer": {"class_name": ..., "config": {"name": ..., ...}}}, Keras'
 * serialize_keras_object of the wrapped layer. */
static void td_to_config(const dc_layer *l, dc_jw *w)
{
    const dc_layer *in = l->cfg.td.inner;
    dc_jw_object(w, "layer");
    dc_jw_str(w, "class_name", in->cls->type);
    dc_jw_object(w, "config");
    dc_jw_str(w, "name", in->name);
    dc_jw_bool(w, "trainable", !l->frozen);
    dc_jw_str(w, "dtype", "float32");
    in->cls->to_config(in, w);
    dc_jw_end(w);
    dc_jw_end(w);
}

static dc_layer *td_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    const dc_json *inner = dc_json_get(cfg, "layer");
    const dc_json *cn = dc_json_get(inner, "class_name"), *icfg = dc_json_get(inner, "config");
    const dc_json *name = dc_json_get(icfg, "name");
    (void)cls;
    if (!cn || cn->type != DC_JSON_STRING || !icfg || icfg->type != DC_JSON_OBJECT)
        return dc_fail_null(DC_ERR_FORMAT, "key \"layer\" must be {\"class_name\": ..., \"config\": {...}}");
    const dc_layer_class *ic = dc_layer_class_find(cn->str);
    if (!ic)
        return dc_fail_null(DC_ERR_UNSUPPORTED, "key \"layer\": unknown layer class \"%.64s\"", cn->str);
    int name_ok = !name || (name->type == DC_JSON_STRING && name->len >= 1 && name->len <= 31);
    for (size_t i = 0; name && name_ok && i < name->len; i++) /* it becomes part of weight names */
        name_ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", name->str[i]) != NULL &&
                  name->str[i] != '\0';
    if (!name_ok)
        return dc_fail_null(DC_ERR_FORMAT, "key \"layer\": its \"name\" must be 1 to 31 letters, digits, '_', '-' "
                                           "or '.'");
    dc_layer *in = ic->from_config(ic, icfg);
    if (!in) {
        dc_err_prefix("layer");
        return NULL;
    }
    if (name)
        snprintf(in->name, sizeof in->name, "%s", name->str);
    return dc_layer_time_distributed(in);
}

static void td_free(dc_layer *l) { dc_layer_free(l->cfg.td.inner); }

const dc_layer_class dc_class_time_distributed = {.type = "TimeDistributed", .snake = "time_distributed",
                                                  .build = td_build, .to_config = td_to_config,
                                                  .from_config = td_from_config, .free = td_free};

dc_layer *dc_layer_time_distributed(dc_layer *layer)
{
    if (!layer)
        return dc_fail_null(DC_ERR_ARG, "TimeDistributed: layer is NULL (did its constructor fail? %s)", dc_errmsg());
    if (layer->built || layer->cls == &dc_class_time_distributed || layer->cls == &dc_class_masking ||
        !layer->cls->build) {
        const char *type = layer->cls->type;
        int built = layer->built != NULL, merge = !layer->cls->build;
        if (!built)
            dc_layer_free(layer);
        return dc_fail_null(DC_ERR_ARG, "TimeDistributed: cannot wrap %s%s", built ? "a layer already in a model" : type,
                            merge && !built ? " (a merge layer: it takes several inputs)" : "");
    }
    dc_layer *l = dc_layer_new(&dc_class_time_distributed);
    if (!l) {
        dc_layer_free(layer);
        return NULL;
    }
    if (!layer->name[0])
        snprintf(layer->name, sizeof layer->name, "%s", layer->cls->snake);
    l->cfg.td.inner = layer;
    return l;
}
