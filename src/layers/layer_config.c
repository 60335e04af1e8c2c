/*
 * layer_config.c - reading and writing layer arguments as Keras-style JSON
 * configs, shared by every layer's to_config / from_config hooks.
 *
 * Configs come from untrusted files: every reader checks the JSON type and
 * the range before storing, and names the key in its message.  Initialisers
 * and regularisers are written as Keras writes them
 * ({"class_name": "GlorotUniform", "config": {...}}); a plain string such as
 * "glorot_uniform" is accepted too.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

dc_status dc_cfg_need(const dc_json *cfg, const char *key)
{
    return dc_json_get(cfg, key) ? DC_OK : dc_fail(DC_ERR_FORMAT, "missing key \"%s\"", key);
}

/* A failure while reading the value of `key`: the message gains the key. */
static dc_status at_key(const char *key, dc_status st)
{
    if (st != DC_OK) {
        char where[64];
        snprintf(where, sizeof where, "key \"%s\"", key);
        dc_err_prefix(where);
    }
    return st;
}

static dc_status bad(const char *key, const dc_json *v, const char *expected)
{
    return dc_fail(DC_ERR_FORMAT, "key \"%s\" is %s, expected %s", key, dc_json_type_name(v->type), expected);
}

dc_status dc_cfg_int(const dc_json *cfg, const char *key, int lo, int hi, int *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (!dc_json_is_int(v, lo, hi))
        return v->type == DC_JSON_NUMBER
                   ? dc_fail(DC_ERR_FORMAT, "key \"%s\" is %.15g, expected an integer from %d to %d", key, v->num, lo, hi)
                   : bad(key, v, "an integer");
    *out = (int)v->num;
    return DC_OK;
}

dc_status dc_cfg_float(const dc_json *cfg, const char *key, float *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (v->type != DC_JSON_NUMBER || !isfinite((float)v->num))
        return v->type == DC_JSON_NUMBER ? dc_fail(DC_ERR_FORMAT, "key \"%s\" is %g, outside the float range", key, v->num)
                                         : bad(key, v, "a number");
    *out = (float)v->num;
    return DC_OK;
}

dc_status dc_cfg_bool(const dc_json *cfg, const char *key, int *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (v->type != DC_JSON_BOOL)
        return bad(key, v, "true or false");
    *out = v->boolean;
    return DC_OK;
}

dc_status dc_cfg_ints(const dc_json *cfg, const char *key, int n, int lo, int hi, int *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (v->type == DC_JSON_NUMBER) {
        int x = 0;
        dc_status st = dc_cfg_int(cfg, key, lo, hi, &x);
        for (int i = 0; st == DC_OK && i < n; i++)
            out[i] = x;
        return st;
    }
    if (v->type != DC_JSON_ARRAY || v->len != (size_t)n)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be an integer or an array of %d integers", key, n);
    for (int i = 0; i < n; i++) {
        if (!dc_json_is_int(&v->items[i], lo, hi))
            return v->items[i].type == DC_JSON_NUMBER
                       ? dc_fail(DC_ERR_FORMAT, "key \"%s\"[%d] is %.15g, expected an integer from %d to %d", key, i,
                                 v->items[i].num, lo, hi)
                       : dc_fail(DC_ERR_FORMAT, "key \"%s\"[%d] must be an integer from %d to %d", key, i, lo, hi);
        out[i] = (int)v->items[i].num;
    }
    return DC_OK;
}

dc_status dc_cfg_act(const dc_json *cfg, const char *key, const char **out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (v->type != DC_JSON_NULL && v->type != DC_JSON_STRING)
        return bad(key, v, "an activation name");
    dc_act a = DC_ACT_LINEAR; /* null: Keras' None, linear */
    dc_status st = v->type == DC_JSON_STRING ? dc_act_parse(v->str, &a) : DC_OK;
    if (st == DC_OK)
        *out = dc_act_name(a);
    return at_key(key, st);
}

dc_status dc_cfg_padding(const dc_json *cfg, const char *key, dc_padding *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v)
        return DC_OK;
    if (v->type != DC_JSON_STRING || (strcmp(v->str, "valid") != 0 && strcmp(v->str, "same") != 0))
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be \"valid\" or \"same\"", key);
    *out = strcmp(v->str, "same") == 0 ? DC_PADDING_SAME : DC_PADDING_VALID;
    return DC_OK;
}

/* Keras' class names of the initialisers, in dc_init_kind order. */
static const char *const init_classes[] = {
    "Zeros", "Ones", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
    "LecunNormal", "LecunUniform", "RandomNormal", "RandomUniform", "Constant", "Orthogonal",
    "UnitForgetBias", /* deepc's name for LSTM's zeros with unit_forget_bias */
};
_Static_assert(sizeof init_classes / sizeof init_classes[0] == DC_INIT_COUNT, "one class name per dc_init_kind");

static dc_status read_init(const char *key, const dc_json *v, dc_init *out)
{
    const char *name = v->type == DC_JSON_STRING ? v->str : NULL;
    const dc_json *args = NULL;
    if (v->type == DC_JSON_OBJECT) {
        const dc_json *cn = dc_json_get(v, "class_name");
        name = cn && cn->type == DC_JSON_STRING ? cn->str : NULL;
        args = dc_json_get(v, "config");
        if (args && args->type != DC_JSON_OBJECT && args->type != DC_JSON_NULL)
            return dc_fail(DC_ERR_FORMAT, "key \"%s\": \"config\" must be an object", key);
    }
    if (!name)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be an initializer name or {\"class_name\": ...}", key);
    int kind = -1;
    for (int i = 0; i < DC_INIT_COUNT; i++)
        if (strcmp(name, init_classes[i]) == 0)
            kind = i;
    if (kind < 0) {
        if (dc_init_parse(name, out) != DC_OK)
            return dc_fail(DC_ERR_FORMAT, "key \"%s\": unknown initializer \"%s\"", key, name);
    } else {
        *out = dc_init_make((dc_init_kind)kind);
    }
    dc_status st = DC_OK;
    if (out->kind == DC_INIT_RANDOM_NORMAL) {
        st = dc_cfg_float(args, "mean", &out->a);
        if (st == DC_OK)
            st = dc_cfg_float(args, "stddev", &out->b);
    } else if (out->kind == DC_INIT_RANDOM_UNIFORM) {
        st = dc_cfg_float(args, "minval", &out->a);
        if (st == DC_OK)
            st = dc_cfg_float(args, "maxval", &out->b);
    } else if (out->kind == DC_INIT_CONSTANT) {
        st = dc_cfg_float(args, "value", &out->a);
    }
    return at_key(key, st);
}

dc_status dc_cfg_init(const dc_json *cfg, const char *key, dc_init *out)
{
    const dc_json *v = dc_json_get(cfg, key);
    return v ? read_init(key, v, out) : DC_OK;
}

void dc_cfg_write_init(dc_jw *w, const char *key, dc_init init)
{
    dc_jw_object(w, key);
    dc_jw_str(w, "class_name", (unsigned)init.kind < DC_INIT_COUNT ? init_classes[init.kind] : "Zeros");
    dc_jw_object(w, "config");
    if (init.kind == DC_INIT_RANDOM_NORMAL) {
        dc_jw_float(w, "mean", init.a);
        dc_jw_float(w, "stddev", init.b);
    } else if (init.kind == DC_INIT_RANDOM_UNIFORM) {
        dc_jw_float(w, "minval", init.a);
        dc_jw_float(w, "maxval", init.b);
    } else if (init.kind == DC_INIT_CONSTANT) {
        dc_jw_float(w, "value", init.a);
    }
    dc_jw_end(w);
    dc_jw_end(w);
}

static dc_status read_reg(const char *key, const dc_json *v, float *l1, float *l2)
{
    if (v->type == DC_JSON_NULL) {
        *l1 = *l2 = 0.0f;
        return DC_OK;
    }
    const dc_json *cn = dc_json_get(v, "class_name"), *args = dc_json_get(v, "config");
    if (!cn || cn->type != DC_JSON_STRING ||
        (strcmp(cn->str, "L1L2") != 0 && strcmp(cn->str, "L1") != 0 && strcmp(cn->str, "L2") != 0))
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be null or {\"class_name\": \"L1L2\" (or \"L1\", \"L2\"), "
                                      "\"config\": {\"l1\": ..., \"l2\": ...}}",
                       key);
    *l1 = *l2 = 0.0f;
    dc_status st = dc_cfg_float(args, "l1", l1);
    if (st == DC_OK)
        st = dc_cfg_float(args, "l2", l2);
    if (st == DC_OK && (*l1 < 0.0f || *l2 < 0.0f))
        st = dc_fail(DC_ERR_FORMAT, "key \"%s\": l1 %g and l2 %g must not be negative", key, (double)*l1, (double)*l2);
    return st;
}

dc_status dc_cfg_kernel_args(const dc_json *cfg, const dc_kernel_args *a)
{
    dc_status st = dc_cfg_act(cfg, "activation", a->activation);
    if (st == DC_OK)
        st = dc_cfg_bool(cfg, "use_bias", a->use_bias);
    const dc_json *v;
    if (st == DC_OK)
        st = dc_cfg_init(cfg, "kernel_initializer", a->kernel_init);
    if (st == DC_OK)
        st = dc_cfg_init(cfg, "bias_initializer", a->bias_init);
    if (st == DC_OK && (v = dc_json_get(cfg, "kernel_regularizer")))
        st = read_reg("kernel_regularizer", v, a->l1, a->l2);
    return st;
}

dc_status dc_cfg_reg(const dc_json *cfg, const char *key, float *l1, float *l2)
{
    const dc_json *v = dc_json_get(cfg, key);
    return v ? read_reg(key, v, l1, l2) : DC_OK;
}

void dc_cfg_write_reg(dc_jw *w, const char *key, float l1, float l2)
{
    if (l1 == 0.0f && l2 == 0.0f) {
        dc_jw_null(w, key);
        return;
    }
    dc_jw_object(w, key);
    dc_jw_str(w, "class_name", "L1L2");
    dc_jw_object(w, "config");
    dc_jw_float(w, "l1", l1);
    dc_jw_float(w, "l2", l2);
    dc_jw_end(w);
    dc_jw_end(w);
}

void dc_cfg_write_kernel_args(dc_jw *w, const dc_kernel_args *a)
{
    dc_jw_str(w, "activation", *a->activation);
    dc_jw_bool(w, "use_bias", *a->use_bias);
    dc_cfg_write_init(w, "kernel_initializer", *a->kernel_init);
    dc_cfg_write_init(w, "bias_initializer", *a->bias_init);
    dc_cfg_write_reg(w, "kernel_regularizer", *a->l1, *a->l2);
}
