/*
 * layers_preproc.c - Keras 3's Normalization preprocessing layer and its
 * adapt (keras/src/layers/preprocessing/normalization.py).
 *
 * (x - mean) / max(sqrt(variance), 1e-7) per feature of the last axis
 * (invert: mean + x * max(...)).  Two forms, as in Keras:
 *  - mean= and variance= given: constants, written into the config, no
 *    weights (Param # 0);
 *  - adapt: the layer computes the mean and population variance (numpy's
 *    var) of every feature over the data, and holds them as the
 *    non-trainable weights mean, variance and count (Keras keeps count,
 *    always 0, for old saved models): Param # 2 n + 1, saved with the
 *    model.  Its config has mean and variance null; loading builds it with
 *    zeros and ones and the weights file fills them.
 * The layer keeps its statistics (2 n floats, owned, freed with the layer);
 * the graph's parameters start from them (dc_node.init_values), or, for a
 * scalar mean and variance, are constants over the features.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A non-trainable weight "<layer>/<what>" of n values starting from
 * `values` (borrowed from the layer) or, when NULL, from init. */
static dc_node *stat_param(const dc_layer *l, dc_graph *g, dc_layer_call *call, const char *what, int n,
                           const float *values, dc_init init, int listed)
{
    dc_node *p = dc_layer_weight(g, call, l->name, what, 1, &n, init, 0, listed);
    if (p)
        p->init_values = values;
    return p;
}

static dc_status norm_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    int c = dc_node_cols(x), n = l->cfg.norm.n;
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has no feature axis", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
    if (!l->cfg.norm.stats && !l->cfg.norm.from_file)
        return dc_fail(DC_ERR_STATE, "%s: no mean and variance; call dc_layer_normalization_adapt(layer, data) "
                                     "before the model is built, or give them to dc_layer_normalization_ex",
                       l->name);
    if (l->cfg.norm.stats && n != c && !(n == 1 && !l->cfg.norm.adapt))
        return dc_fail(DC_ERR_SHAPE, "%s: %s has %d features, the input %s has %d", l->name,
                       l->cfg.norm.adapt ? "the adapted data" : "mean/variance", n,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), c);
    const float *stats = l->cfg.norm.stats;
    int listed = l->cfg.norm.adapt;
    /* from a file: zeros and ones until the weights are read */
    dc_init mean_init = dc_init_make(DC_INIT_ZEROS), var_init = dc_init_make(DC_INIT_ONES);
    if (stats && n == 1 && c > 1) { /* a scalar: a constant over the features */
        mean_init = (dc_init){DC_INIT_CONSTANT, stats[0], 0.0f};
        var_init = (dc_init){DC_INIT_CONSTANT, stats[1], 0.0f};
        stats = NULL;
    }
    dc_node *mean = stat_param(l, g, call, "mean", c, stats, mean_init, listed);
    dc_node *var = stat_param(l, g, call, "variance", c, stats ? stats + c : NULL, var_init, listed);
    /* count: Keras' shape () int, here one float (always 0, as Keras leaves it) */
    if (!mean || !var || (listed && !stat_param(l, g, call, "count", 1, NULL, dc_init_make(DC_INIT_ZEROS), 1)))
        return dc_last_status();
    call->out = dc_normalize(g, x, mean, var, l->cfg.norm.invert);
    return call->out ? DC_OK : dc_last_status();
}

static void write_floats(dc_jw *w, const char *key, int n, const float *v)
{
    dc_jw_array(w, key);
    for (int i = 0; i < n; i++)
        dc_jw_float(w, NULL, v[i]);
    dc_jw_end(w);
}

static void norm_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_ints(w, "axis", 1, (int[]){-1});
    dc_jw_bool(w, "invert", l->cfg.norm.invert);
    if (l->cfg.norm.adapt || !l->cfg.norm.stats) {
        dc_jw_null(w, "mean");
        dc_jw_null(w, "variance");
        return;
    }
    write_floats(w, "mean", l->cfg.norm.n, l->cfg.norm.stats);
    write_floats(w, "variance", l->cfg.norm.n, l->cfg.norm.stats + l->cfg.norm.n);
}

/* "mean" / "variance": null (*n stays 0), a number, or an array of numbers. */
static dc_status read_floats(const dc_json *cfg, const char *key, int *n, float **out)
{
    const dc_json *v = dc_json_get(cfg, key);
    *out = NULL;
    *n = 0;
    if (!v || v->type == DC_JSON_NULL)
        return DC_OK;
    const dc_json *items = v->type == DC_JSON_ARRAY ? v->items : v;
    size_t len = v->type == DC_JSON_ARRAY ? v->len : 1;
    if (len < 1 || len > (1u << 24))
        return dc_fail(DC_ERR_FORMAT, "key \"%s\": %zu values, expected 1 to %u", key, len, 1u << 24);
    *out = malloc(len * sizeof(float));
    if (!*out)
        return dc_fail(DC_ERR_NOMEM, "key \"%s\": out of memory", key);
    for (size_t i = 0; i < len; i++) {
        if (items[i].type != DC_JSON_NUMBER || !isfinite((float)items[i].num)) {
            free(*out);
            *out = NULL;
            return dc_fail(DC_ERR_FORMAT, "key \"%s\"[%zu] must be a finite number", key, i);
        }
        (*out)[i] = (float)items[i].num;
    }
    *n = (int)len;
    return DC_OK;
}

static dc_layer *norm_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int axis = -1, invert = 0, nm = 0, nv = 0;
    float *mean = NULL, *var = NULL;
    const dc_json *a = dc_json_get(cfg, "axis");
    if (a && a->type == DC_JSON_ARRAY && a->len != 1)
        return dc_fail_null(DC_ERR_UNSUPPORTED, "key \"axis\": %zu axes; only the last axis (-1) is supported", a->len);
    if ((a && a->type == DC_JSON_ARRAY ? dc_cfg_ints(cfg, "axis", 1, -1, -1, &axis)
                                       : dc_cfg_int(cfg, "axis", -1, -1, &axis)) ||
        dc_cfg_bool(cfg, "invert", &invert))
        return NULL;
    dc_layer *l = NULL;
    if (read_floats(cfg, "mean", &nm, &mean) == DC_OK && read_floats(cfg, "variance", &nv, &var) == DC_OK) {
        if (nm != nv)
            dc_fail(DC_ERR_FORMAT, "keys \"mean\" and \"variance\": %d and %d values", nm, nv);
        else if (!(l = dc_layer_normalization_ex(nm, mean, var, invert)))
            dc_err_prefix("Normalization");
        else if (!nm)
            l->cfg.norm.from_file = 1;
    }
    free(mean);
    free(var);
    return l;
}

static void norm_free(dc_layer *l) { free(l->cfg.norm.stats); }

const dc_layer_class dc_class_normalization = {.type = "Normalization", .snake = "normalization", .build = norm_build,
                                               .to_config = norm_to_config, .from_config = norm_from_config,
                                               .free = norm_free};

dc_layer *dc_layer_normalization_ex(int n, const float *mean, const float *variance, int invert)
{
    if (!mean != !variance)
        return dc_fail_null(DC_ERR_ARG, "Normalization: when setting values directly, both mean and variance must "
                                        "be set (mean %s, variance %s)",
                            mean ? "given" : "NULL", variance ? "given" : "NULL");
    if (mean && n < 1)
        return dc_fail_null(DC_ERR_ARG, "Normalization: n is %d, expected >= 1 values of mean and variance", n);
    for (int i = 0; mean && i < n; i++)
        if (!isfinite(mean[i]) || !(variance[i] >= 0.0f) || !isfinite(variance[i]))
            return dc_fail_null(DC_ERR_ARG, "Normalization: feature %d has mean %g, variance %g; expected finite, "
                                            "variance >= 0",
                                i, (double)mean[i], (double)variance[i]);
    dc_layer *l = dc_layer_new(&dc_class_normalization);
    if (!l)
        return NULL;
    l->cfg.norm.invert = invert != 0;
    l->cfg.norm.adapt = !mean;
    if (mean) {
        l->cfg.norm.stats = malloc(2 * (size_t)n * sizeof(float));
        if (!l->cfg.norm.stats) {
            free(l);
            return dc_fail_null(DC_ERR_NOMEM, "Normalization: out of memory");
        }
        memcpy(l->cfg.norm.stats, mean, (size_t)n * sizeof(float));
        memcpy(l->cfg.norm.stats + n, variance, (size_t)n * sizeof(float));
        l->cfg.norm.n = n;
    }
    return l;
}

dc_layer *dc_layer_normalization(void) { return dc_layer_normalization_ex(0, NULL, NULL, 0); }

dc_status dc_layer_normalization_adapt(dc_layer *l, const dc_tensor *data)
{
    char sd[96];
    if (!l || l->cls != &dc_class_normalization)
        return dc_fail(DC_ERR_ARG, "normalization_adapt: the layer is %s, expected a Normalization layer",
                       l ? l->cls->type : "NULL");
    if (!l->cfg.norm.adapt)
        return dc_fail(DC_ERR_STATE, "normalization_adapt: %s was given mean and variance; adapt needs a layer "
                                     "made by dc_layer_normalization()",
                       l->name[0] ? l->name : "Normalization");
    if (!data || data->ndim < 1 || data->size == 0)
        return dc_fail(DC_ERR_ARG, "normalization_adapt: %s data", data ? "empty" : "NULL");
    if (data->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "normalization_adapt: data %s has no feature axis; reshape it to (%d, 1)",
                       dc_shape_str(data->ndim, data->shape, sd, sizeof sd), data->shape[0]);
    int c = data->shape[data->ndim - 1];
    size_t rows = data->size / (size_t)c;
    const dc_layer_call *built = l->built;
    int want = built ? built->params[0]->shape[0] : c;
    if (c != want)
        return dc_fail(DC_ERR_SHAPE, "normalization_adapt: %s was built for %d features, data %s has %d", l->name,
                       want, dc_shape_str(data->ndim, data->shape, sd, sizeof sd), c);
    for (size_t i = 0; i < data->size; i++)
        if (!isfinite(data->data[i]))
            return dc_fail(DC_ERR_NAN, "normalization_adapt: data value %zu (sample %zu, feature %zu) is %g", i,
                           i / (data->size / (size_t)data->shape[0]), i % (size_t)c,
                           (double)data->data[i]);
    float *s = l->cfg.norm.stats;
    if (!s && !(s = malloc(2 * (size_t)c * sizeof(float))))
        return dc_fail(DC_ERR_NOMEM, "normalization_adapt: out of memory");
    if (l->cfg.norm.stats && c != l->cfg.norm.n) {
        float *t = realloc(s, 2 * (size_t)c * sizeof(float));
        if (!t)
            return dc_fail(DC_ERR_NOMEM, "normalization_adapt: out of memory");
        s = t;
    }
    for (int j = 0; j < c; j++) { /* numpy's mean and var (ddof 0) */
        double mu, var;
        dc_column_moments(data->data, rows, c, j, &mu, &var);
        s[j] = (float)mu;
        s[c + j] = (float)var;
    }
    l->cfg.norm.stats = s;
    l->cfg.norm.n = c;
    l->cfg.norm.from_file = 0;
    if (built && built->params[0]->val) { /* in a compiled model: the weights change now */
        memcpy(built->params[0]->val, s, (size_t)c * sizeof(float));
        memcpy(built->params[1]->val, s + c, (size_t)c * sizeof(float));
    }
    return DC_OK;
}
