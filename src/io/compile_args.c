/*
 * compile_args.c - the loss and metric arguments in a model file's
 * compile_config (model_io.c writes and reads the rest).
 *
 * Keras serialises a configured loss or metric as an object,
 *   "loss": {"class_name": "CategoricalCrossentropy",
 *            "config": {"from_logits": false, "label_smoothing": 0.1}}
 *   "metrics": [{"class_name": "top_k_categorical_accuracy", "config": {"k": 3}}]
 * and a plain one by its name.  deepc writes the name whenever every
 * argument is Keras' default (so files stay byte-identical to those written
 * before arguments existed) and the object otherwise; it reads both.  A
 * metric's class_name is the name it was compiled with (its history key).
 * Read keys: the loss's label_smoothing, delta and from_logits, the
 * metrics' k, threshold and thresholds (a number or a list of one); Keras'
 * name and dtype are ignored, reduction must be sum_over_batch_size, axis
 * -1, top_k and class_id null; any other key is an error naming it, as is a
 * wrong type or a value out of range.
 */
#include "io/compile_args.h"
#include "layers/layer.h"

#include <limits.h>
#include <string.h>

static int is_logits(dc_loss_kind k)
{
    return k == DC_LOSS_BINARY_CE_LOGITS || k == DC_LOSS_CATEGORICAL_CE_LOGITS || k == DC_LOSS_SPARSE_CE_LOGITS;
}

void dc_write_loss(dc_jw *w, dc_loss_kind k, const dc_loss_args *a)
{
    int binary = k == DC_LOSS_BINARY_CE || k == DC_LOSS_BINARY_CE_LOGITS;
    if (a->label_smoothing == 0.0f && (a->huber_delta == 0.0f || a->huber_delta == 1.0f)) {
        dc_jw_str(w, "loss", dc_loss_name(k));
        return;
    }
    dc_jw_object(w, "loss");
    if (k == DC_LOSS_HUBER) {
        dc_jw_str(w, "class_name", "Huber");
        dc_jw_object(w, "config");
        dc_jw_float(w, "delta", a->huber_delta);
    } else { /* only the binary / categorical cross-entropies smooth labels */
        dc_jw_str(w, "class_name", binary ? "BinaryCrossentropy" : "CategoricalCrossentropy");
        dc_jw_object(w, "config");
        dc_jw_bool(w, "from_logits", is_logits(k));
        dc_jw_float(w, "label_smoothing", a->label_smoothing);
    }
    dc_jw_end(w);
    dc_jw_end(w);
}

void dc_write_metric(dc_jw *w, const char *name, const dc_metric *m)
{
    if (!dc_metric_has_args(m)) {
        dc_jw_str(w, NULL, name);
        return;
    }
    dc_jw_object(w, NULL);
    dc_jw_str(w, "class_name", name);
    dc_jw_object(w, "config");
    if (m->kind == DC_METRIC_TOP_K || m->kind == DC_METRIC_SPARSE_TOP_K)
        dc_jw_int(w, "k", m->k);
    else /* Keras' BinaryAccuracy says threshold, Precision and Recall thresholds */
        dc_jw_float(w, m->kind == DC_METRIC_BINARY_ACC ? "threshold" : "thresholds", m->threshold);
    dc_jw_end(w);
    dc_jw_end(w);
}

/* Keys of a config that carry nothing deepc uses: Keras' defaults. */
static dc_status check_other_key(const char *key, const dc_json *v)
{
    if (!strcmp(key, "name") || !strcmp(key, "dtype"))
        return DC_OK;
    if (!strcmp(key, "reduction") && (v->type == DC_JSON_NULL || (v->type == DC_JSON_STRING &&
                                                                   !strcmp(v->str, "sum_over_batch_size"))))
        return DC_OK;
    if (!strcmp(key, "axis") && dc_json_is_int(v, -1, -1))
        return DC_OK;
    if ((!strcmp(key, "top_k") || !strcmp(key, "class_id")) && v->type == DC_JSON_NULL)
        return DC_OK;
    if (!strcmp(key, "reduction") || !strcmp(key, "axis") || !strcmp(key, "top_k") || !strcmp(key, "class_id"))
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" is not supported with a value other than Keras' default", key);
    return dc_fail(DC_ERR_FORMAT, "unknown key \"%s\"", key);
}

/* {"class_name": string, "config": object (optional)}: the class name and
 * the config (NULL when absent). */
static dc_status class_and_config(const dc_json *v, const char **cls, const dc_json **cfg)
{
    const dc_json *cn = dc_json_get(v, "class_name");
    *cls = NULL;
    *cfg = dc_json_get(v, "config");
    if (!cn || cn->type != DC_JSON_STRING)
        return dc_fail(DC_ERR_FORMAT, "key \"class_name\" must be a string");
    if (*cfg && (*cfg)->type != DC_JSON_OBJECT)
        return dc_fail(DC_ERR_FORMAT, "key \"config\" is %s, expected an object", dc_json_type_name((*cfg)->type));
    *cls = cn->str;
    return DC_OK;
}

/* A positive float at key (absent: *out unchanged). */
static dc_status positive_float(const dc_json *cfg, const char *key, float *out)
{
    float v = *out;
    dc_status st = dc_cfg_float(cfg, key, &v);
    if (st == DC_OK && dc_json_get(cfg, key) && !(v > 0.0f))
        st = dc_fail(DC_ERR_FORMAT, "key \"%s\" is %g, expected a number > 0", key, (double)v);
    if (st == DC_OK)
        *out = v;
    return st;
}

static dc_status read_loss_object(const dc_json *v, dc_compile_config *cfg)
{
    const char *cls = NULL;
    const dc_json *c;
    int from_logits = 0;
    dc_status st = class_and_config(v, &cls, &c);
    if (st == DC_OK)
        st = dc_loss_parse(cls, &cfg->loss);
    for (size_t i = 0; st == DC_OK && c && i < c->len; i++) {
        const char *key = c->keys[i];
        if (!strcmp(key, "label_smoothing"))
            st = dc_cfg_float(c, key, &cfg->label_smoothing);
        else if (!strcmp(key, "delta"))
            st = positive_float(c, key, &cfg->huber_delta);
        else if (!strcmp(key, "from_logits"))
            st = dc_cfg_bool(c, key, &from_logits);
        else
            st = check_other_key(key, &c->items[i]);
    }
    if (st == DC_OK && from_logits) {
        dc_loss_kind k = cfg->loss;
        if (k == DC_LOSS_BINARY_CE || k == DC_LOSS_CATEGORICAL_CE || k == DC_LOSS_SPARSE_CE)
            cfg->loss = k == DC_LOSS_BINARY_CE   ? DC_LOSS_BINARY_CE_LOGITS
                        : k == DC_LOSS_SPARSE_CE ? DC_LOSS_SPARSE_CE_LOGITS
                                                 : DC_LOSS_CATEGORICAL_CE_LOGITS;
        else if (!is_logits(k))
            st = dc_fail(DC_ERR_FORMAT, "key \"from_logits\": %s has no from_logits", cls);
    }
    return st;
}

dc_status dc_read_loss(const dc_json *loss, dc_compile_config *cfg)
{
    dc_status st;
    if (loss && loss->type == DC_JSON_OBJECT) {
        st = read_loss_object(loss, cfg);
    } else if (!loss || loss->type != DC_JSON_STRING) {
        st = dc_fail(DC_ERR_FORMAT, "must be a string or {\"class_name\": ..., \"config\": {...}}");
    } else { /* deepc's own names first: they include "...(from_logits)" */
        int k = 0;
        while (k < DC_LOSS_COUNT && strcmp(dc_loss_name((dc_loss_kind)k), loss->str) != 0)
            k++;
        cfg->loss = (dc_loss_kind)k;
        st = k < DC_LOSS_COUNT ? DC_OK : dc_loss_parse(loss->str, &cfg->loss);
    }
    if (st != DC_OK)
        dc_err_prefix("loss");
    return st;
}

/* Keras' thresholds: a number, or a list of exactly one. */
static dc_status read_threshold(const dc_json *c, const char *key, float *out)
{
    const dc_json *v = dc_json_get(c, key);
    if (v->type == DC_JSON_ARRAY && v->len != 1)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" holds %zu thresholds; deepc takes one", key, v->len);
    if (v->type == DC_JSON_ARRAY && v->items[0].type != DC_JSON_NUMBER)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" holds %s, expected a number", key,
                       dc_json_type_name(v->items[0].type));
    double x = v->type == DC_JSON_ARRAY ? v->items[0].num : v->num;
    if (v->type != DC_JSON_NUMBER && v->type != DC_JSON_ARRAY)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" is %s, expected a number", key, dc_json_type_name(v->type));
    if (!(x > 0.0 && x <= 1.0))
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" is %g, expected a number in (0, 1]", key, x);
    *out = (float)x;
    return DC_OK;
}

/* Reads item i of the array `key` into *name and *a. */
static dc_status read_metric(const dc_json *v, const char *key, size_t i, const char **name, dc_metric_args *a)
{
    dc_status st = DC_OK;
    const dc_json *c = NULL;
    if (v->type == DC_JSON_STRING)
        *name = v->str;
    else if (v->type == DC_JSON_OBJECT)
        st = class_and_config(v, name, &c);
    else
        st = dc_fail(DC_ERR_FORMAT, "is %s, expected a name or {\"class_name\": ..., \"config\": {...}}",
                     dc_json_type_name(v->type));
    for (size_t j = 0; st == DC_OK && c && j < c->len; j++) {
        const char *k = c->keys[j];
        if (!strcmp(k, "k"))
            st = dc_cfg_int(c, k, 1, INT_MAX, &a->k);
        else if (!strcmp(k, "threshold") || !strcmp(k, "thresholds"))
            st = read_threshold(c, k, &a->threshold);
        else
            st = check_other_key(k, &c->items[j]);
    }
    if (st != DC_OK) {
        char where[40];
        snprintf(where, sizeof where, "%s[%zu]", key, i);
        dc_err_prefix(where);
    }
    return st;
}

dc_status dc_read_metrics(const dc_json *arr, const char *key, const char **names, dc_metric_args *args)
{
    if (!arr || arr->type == DC_JSON_NULL)
        return DC_OK;
    if (arr->type != DC_JSON_ARRAY)
        return dc_fail(DC_ERR_FORMAT, "%s is %s, expected an array of at most 4 names", key,
                       dc_json_type_name(arr->type));
    if (arr->len > 4)
        return dc_fail(DC_ERR_FORMAT, "%s holds %zu metrics, at most 4", key, arr->len);
    dc_status st = DC_OK;
    for (size_t i = 0; st == DC_OK && i < arr->len; i++)
        st = read_metric(&arr->items[i], key, i, &names[i], &args[i]);
    return st;
}
