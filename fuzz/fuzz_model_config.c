/*
 * fuzz_model_config.c - model configs made of edge-case values, not mutated
 * bytes: the input is read as a sequence of choices that pick an input
 * shape, then 1 to 6 layer classes from the registry, and for each key of
 * the class's config a value: kept, or replaced by an edge case of its kind
 * (0, 1, -1, 2^15, 2^16 - 1, 2^24, 2^30, 2^31 - 1, INT_MIN, 2^31, 2^53 + 1,
 * +-1e308, denormals, NaN, Infinity; arrays resized or filled with those;
 * strings from the names deepc knows and a few it does not).  The JSON so
 * written goes to dc_model_from_json; a model that loads must write JSON
 * that loads again, and one whose plan stays within 2^20 activation floats
 * per sample and 2^20 weights (the budget fuzz_model gives a model file)
 * is compiled, predicts a batch of 2 and trains one step on it.
 *
 * Each class's keys come from the class itself: the class's from_config on
 * a "bag" of typical arguments (unknown keys are ignored), then its
 * to_config, so a class added to the registry is fuzzed without a change
 * here.  The fuzzer keeps those templates in statics of its own (made on
 * the first input); the library keeps no state.
 */
#include "fuzz.h"
#include "graph/graph.h"
#include "io/json.h"
#include "layers/layer.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the choices ---- */

typedef struct choices {
    const uint8_t *p;
    size_t left;
} choices;

/* A choice in [0, n); 0 once the input is used up. */
static unsigned pick(choices *c, unsigned n)
{
    if (!c->left || n <= 1)
        return 0;
    c->left--;
    return *c->p++ % n;
}

static const char *const edge_numbers[] = {
    "0", "1", "-1", "2", "3", "7", "32768", "65535", "65536", "16777216", "1073741824", "2147483647",
    "-2147483648", "2147483648", "4294967296", "9007199254740993", "1e308", "-1e308", "1e-320", "0.5",
    "-0.5", "1.5", "-0", "3.4028235e38", "1e39", "NaN", "Infinity", "-Infinity", "1e400",
};
#define N_EDGE_NUMBERS (sizeof edge_numbers / sizeof edge_numbers[0])

static const char *const edge_strings[] = {
    "same", "valid", "causal", "relu", "softmax", "sigmoid", "linear", "tanh", "gelu", "glorot_uniform",
    "orthogonal", "zeros", "ones", "he_normal", "", "channels_first", "channels_last", "nearest", "bilinear",
    "reflect", "wrap", "constant", "concat", "sum", "mul", "ave", "horizontal", "vertical",
    "horizontal_and_vertical", "float64", "no such name",
};
#define N_EDGE_STRINGS (sizeof edge_strings / sizeof edge_strings[0])

/* Input dimensions: small ones mostly, an edge case one time in eight. */
static const char *const small_dims[] = {"1", "2", "3", "4", "5", "8", "16"};
static const char *const edge_dims[] = {"0", "65535", "16777216", "2147483647", "-1"};

static const char *pick_dim(choices *c)
{
    if (pick(c, 8) == 0)
        return edge_dims[pick(c, sizeof edge_dims / sizeof edge_dims[0])];
    return small_dims[pick(c, sizeof small_dims / sizeof small_dims[0])];
}

/* ---- the text being written ---- */

typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

static void put_json_string(text *t, const char *s)
{
    put(t, "\"");
    for (; *s; s++) {
        char one[8];
        if (*s == '"' || *s == '\\')
            snprintf(one, sizeof one, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            snprintf(one, sizeof one, "\\u%04x", (unsigned char)*s);
        else
            snprintf(one, sizeof one, "%c", *s);
        put(t, one);
    }
    put(t, "\"");
}

/* The template value v as it is. */
static void put_value(text *t, const dc_json *v)
{
    char num[40];
    switch (v->type) {
    case DC_JSON_NULL: put(t, "null"); return;
    case DC_JSON_BOOL: put(t, v->boolean ? "true" : "false"); return;
    case DC_JSON_NUMBER:
        snprintf(num, sizeof num, "%.17g", v->num);
        put(t, num);
        return;
    case DC_JSON_STRING: put_json_string(t, v->str); return;
    case DC_JSON_ARRAY:
    case DC_JSON_OBJECT:
        put(t, v->type == DC_JSON_ARRAY ? "[" : "{");
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                put(t, ",");
            if (v->type == DC_JSON_OBJECT) {
                put_json_string(t, v->keys[i]);
                put(t, ":");
            }
            put_value(t, &v->items[i]);
        }
        put(t, v->type == DC_JSON_ARRAY ? "]" : "}");
        return;
    }
}

static void put_edge_number(text *t, choices *c) { put(t, edge_numbers[pick(c, N_EDGE_NUMBERS)]); }

/* v, or an edge case of its kind (sometimes of another kind). */
static void put_choice(text *t, const dc_json *v, choices *c, int depth)
{
    unsigned how = pick(c, 16);
    if (how < 10) {
        put_value(t, v);
        return;
    }
    if (how == 15) { /* any kind at all */
        static const char *const any[] = {"null", "true", "[]", "{}", "\"\"", "[null]", "[[1]]"};
        put(t, any[pick(c, sizeof any / sizeof any[0])]);
        return;
    }
    switch (v->type) {
    case DC_JSON_NUMBER:
    case DC_JSON_NULL: put_edge_number(t, c); return;
    case DC_JSON_BOOL: put(t, pick(c, 2) ? "2" : v->boolean ? "false" : "true"); return;
    case DC_JSON_STRING: put_json_string(t, edge_strings[pick(c, N_EDGE_STRINGS)]); return;
    case DC_JSON_ARRAY: { /* the same items, each perhaps changed, or another length */
        size_t n = pick(c, 3) ? v->len : pick(c, 6);
        put(t, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                put(t, ",");
            if (i < v->len && depth < 4)
                put_choice(t, &v->items[i], c, depth + 1);
            else
                put_edge_number(t, c);
        }
        put(t, "]");
        return;
    }
    case DC_JSON_OBJECT: /* each member perhaps changed (an initializer's config, a wrapped layer) */
        put(t, "{");
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                put(t, ",");
            put_json_string(t, v->keys[i]);
            put(t, ":");
            if (depth < 4)
                put_choice(t, &v->items[i], c, depth + 1);
            else
                put_value(t, &v->items[i]);
        }
        put(t, "}");
        return;
    }
}

/* ---- each class's keys ---- */

/* Typical arguments of every class; a class reads the keys it knows. */
static const char *const bags[] = {
    "{\"units\": 3, \"filters\": 2, \"kernel_size\": 2, \"pool_size\": 2, \"rate\": 0.5, \"target_shape\": [2, 2],"
    " \"dims\": [1], \"n\": 2, \"input_dim\": 5, \"output_dim\": 3, \"scale\": 0.5, \"offset\": 0.1,"
    " \"stddev\": 0.1, \"size\": 2, \"cropping\": 1, \"factor\": 0.1, \"height_factor\": 0.1,"
    " \"width_factor\": 0.1, \"activation\": \"relu\", \"axis\": -1,"
    " \"layer\": {\"class_name\": \"LSTM\", \"config\": {\"units\": 2}}}",
    "{\"units\": 3, \"filters\": 2, \"kernel_size\": 2, \"pool_size\": 2, \"rate\": 0.5, \"target_shape\": [4],"
    " \"dims\": [1], \"n\": 2, \"input_dim\": 5, \"output_dim\": 3, \"scale\": 0.5, \"size\": 2, \"factor\": 0.1,"
    " \"layer\": {\"class_name\": \"Dense\", \"config\": {\"units\": 2}}, \"padding\": 1, \"mean\": 0.0,"
    " \"variance\": 1.0}",
    "{}",
};

typedef struct template_set {
    int ready, n;
    const dc_layer_class *cls[128];
    dc_json *config[128];
} template_set;

static void make_templates(template_set *ts)
{
    ts->ready = 1;
    for (int i = 0; i < dc_layer_registry_count && ts->n < 128; i++) {
        const dc_layer_class *cls = dc_layer_registry[i];
        if (!cls->build) /* merge layers: not in a Sequential model */
            continue;
        for (size_t b = 0; b < sizeof bags / sizeof bags[0]; b++) {
            dc_json *bag = NULL;
            if (dc_json_parse(bags[b], strlen(bags[b]), "bag", &bag) != DC_OK)
                abort(); /* the bags above are valid JSON */
            dc_layer *l = cls->from_config(cls, bag);
            dc_json_free(bag);
            if (!l)
                continue;
            dc_jw w;
            dc_jw_init(&w);
            dc_jw_object(&w, NULL);
            cls->to_config(l, &w);
            dc_jw_end(&w);
            dc_layer_free(l);
            size_t len;
            char *json = dc_jw_take(&w, &len);
            dc_json *cfg = NULL;
            if (json && dc_json_parse(json, len, "template", &cfg) == DC_OK) {
                ts->cls[ts->n] = cls;
                ts->config[ts->n++] = cfg;
            }
            free(json);
            break;
        }
        if (getenv("FUZZ_PRINT_JSON") && (!ts->n || ts->cls[ts->n - 1] != cls))
            fprintf(stderr, "no template for %s: %s\n", cls->type, dc_errmsg());
    }
}

/* ---- the model ---- */

/* What compile would allocate per sample, and the weights: the budget
 * dc_model_load_buffer gives fuzz_model. */
#define MAX_FLOATS ((size_t)1 << 20)

static int within_budget(const dc_graph *g)
{
    size_t per_sample = 0, weights = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const dc_node *d = g->nodes[i];
        per_sample += 2 * (d->batched ? dc_node_sample_size(d) : 0) + d->work_per_sample + d->work_fixed;
        if (d->is_param)
            weights += dc_node_numel(d);
    }
    return per_sample <= MAX_FLOATS && weights <= MAX_FLOATS;
}

static void run_model(dc_model *m, choices *c)
{
    char *again = NULL;
    dc_model *m2 = NULL;
    if (dc_model_to_json(m, &again) == DC_OK) {
        if (dc_model_from_json(again, strlen(again), &m2) != DC_OK) {
            fprintf(stderr, "a loaded model wrote JSON that does not load: %s\n%s\n", dc_errmsg(), again);
            abort();
        }
        dc_model_free(m2);
    }
    free(again);
    if (dc_model_build(m) != DC_OK || !within_budget(m->g))
        return;
    if (dc_model_compile(m, pick(c, 2) ? "adam" : "sgd", "mse", NULL, 0) != DC_OK)
        return;
    int shape[DC_MAX_DIMS] = {2};
    for (int i = 0; i < m->in_ndim; i++)
        shape[i + 1] = m->in_shape[i];
    dc_tensor *x = dc_tensor_new(m->in_ndim + 1, shape), *y = NULL;
    if (!x)
        return;
    for (size_t i = 0; i < x->size; i++) /* small integers: valid ids for an Embedding too */
        x->data[i] = (float)(pick(c, 4));
    if (dc_model_predict(m, x, 2, &y) == DC_OK) {
        double results[4];
        dc_model_train_on_batch(m, x, y, NULL, results, 1);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static template_set ts;
    if (!ts.ready)
        make_templates(&ts);
    if (!ts.n)
        abort(); /* no class made a template: the bags no longer fit the registry */
    choices c = {data, size};
    text t = {0};
    put(&t, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [{\"class_name\": "
            "\"InputLayer\", \"config\": {\"batch_shape\": [null");
    unsigned rank = 1 + pick(&c, 4);
    for (unsigned i = 0; i < rank; i++) {
        put(&t, ", ");
        put(&t, pick_dim(&c));
    }
    put(&t, "], \"name\": \"input\"}}");
    unsigned n_layers = 1 + pick(&c, 6);
    for (unsigned k = 0; k < n_layers; k++) {
        unsigned which = pick(&c, (unsigned)ts.n);
        const dc_json *cfg = ts.config[which];
        char name[32];
        put(&t, ", {\"class_name\": ");
        put_json_string(&t, ts.cls[which]->type);
        snprintf(name, sizeof name, "\"l%u\"", k);
        put(&t, ", \"config\": {\"name\": ");
        put(&t, name);
        for (size_t i = 0; i < cfg->len; i++) {
            if (strcmp(cfg->keys[i], "name") == 0)
                continue;
            put(&t, ", ");
            put_json_string(&t, cfg->keys[i]);
            put(&t, ": ");
            put_choice(&t, &cfg->items[i], &c, 0);
        }
        put(&t, "}}");
    }
    put(&t, "]}}");
    if (getenv("FUZZ_PRINT_JSON")) /* to read what an input makes: FUZZ_PRINT_JSON=1 replay_fuzz_model_config FILE */
        fprintf(stderr, "%s\n", t.failed ? "(out of memory)" : t.buf);
    dc_model *m = NULL;
    if (!t.failed && dc_model_from_json(t.buf, t.len, &m) == DC_OK)
        run_model(m, &c);
    if (getenv("FUZZ_PRINT_JSON"))
        fprintf(stderr, "-> %s\n", m ? (m->compiled ? "compiled" : "loaded") : dc_errmsg());
    dc_model_free(m);
    free(t.buf);
    return 0;
}
