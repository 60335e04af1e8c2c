/*
 * model_io.c - a model as Keras-style JSON, and whole models, weights and
 * checkpoints as safetensors files.
 *
 * Saving: the architecture JSON comes from each layer class's to_config
 * hook; the weights are the parameter nodes of the compiled graph, each
 * written straight from the flat parameter buffer; the optimiser's slots are
 * written per trainable parameter.  Loading reads the whole file, parses and
 * checks it (safetensors.c), rebuilds the layers with their from_config
 * hooks, builds the graph (shapes only, no buffers yet), checks every weight
 * the model needs against the file by name, dtype and shape - which also
 * bounds the parameter memory by the file's size - and only then compiles
 * (allocates) and copies the values in.
 */
#include "io/compile_args.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "optim/optim.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_FORMAT "deepc"
#define MAX_FILE_BYTES ((size_t)SIZE_MAX / 2)

/* ---- architecture JSON ---- */

static const char *const opt_classes[DC_OPT_COUNT] = {"SGD",   "Adam",   "AdamW",    "RMSprop", "Adagrad",
                                                      "Nadam", "Adamax", "Adadelta", "Lion"};

static void write_schedule(dc_jw *w, const dc_lr_schedule *s)
{
    static const char *const names[] = {"ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"};
    dc_jw_object(w, "learning_rate");
    dc_jw_str(w, "module", "keras.optimizers.schedules");
    dc_jw_str(w, "class_name", names[s->kind]);
    dc_jw_object(w, "config");
    if (s->kind == DC_SCHEDULE_PIECEWISE) {
        dc_jw_array(w, "boundaries");
        for (int i = 0; i < s->n_boundaries; i++)
            dc_jw_int(w, NULL, s->boundaries[i]);
        dc_jw_end(w);
        dc_jw_array(w, "values");
        for (int i = 0; i <= s->n_boundaries; i++)
            dc_jw_float(w, NULL, s->values[i]);
        dc_jw_end(w);
    } else {
        dc_jw_float(w, "initial_learning_rate", s->initial_learning_rate);
        dc_jw_int(w, "decay_steps", s->decay_steps);
        if (s->kind == DC_SCHEDULE_EXPONENTIAL) {
            dc_jw_float(w, "decay_rate", s->decay_rate);
            dc_jw_bool(w, "staircase", s->staircase);
        } else {
            dc_jw_float(w, "alpha", s->alpha);
            if (isnan(s->warmup_target))
                dc_jw_null(w, "warmup_target");
            else
                dc_jw_float(w, "warmup_target", s->warmup_target);
            dc_jw_int(w, "warmup_steps", s->warmup_steps);
        }
    }
    dc_jw_end(w);
    dc_jw_end(w);
}

/* The optimiser's clipping arguments, in dc_optimizer_config's order. */
static const char *const clip_keys[3] = {"clipnorm", "global_clipnorm", "clipvalue"};

static void write_compile_config(dc_jw *w, const dc_model *m)
{
    const dc_optimizer_config *o = dc_optimizer_config_of(m->opt);
    dc_jw_object(w, "compile_config");
    dc_jw_object(w, "optimizer");
    dc_jw_str(w, "class_name", opt_classes[o->kind]);
    dc_jw_object(w, "config");
    if (m->has_schedule)
        write_schedule(w, &m->schedule);
    else
        dc_jw_float(w, "learning_rate", o->learning_rate);
    dc_jw_float(w, "momentum", o->momentum);
    dc_jw_bool(w, "nesterov", o->nesterov);
    dc_jw_float(w, "beta_1", o->beta_1);
    dc_jw_float(w, "beta_2", o->beta_2);
    dc_jw_float(w, "epsilon", o->epsilon);
    dc_jw_float(w, "rho", o->rho);
    dc_jw_float(w, "initial_accumulator_value", o->initial_accumulator_value);
    dc_jw_float(w, "weight_decay", o->weight_decay);
    /* Keras writes None for an unset clipping argument */
    const float clips[3] = {o->clipnorm, o->global_clipnorm, o->clipvalue};
    for (int i = 0; i < 3; i++) {
        if (clips[i] > 0.0f)
            dc_jw_float(w, clip_keys[i], clips[i]);
        else
            dc_jw_null(w, clip_keys[i]);
    }
    dc_jw_end(w);
    dc_jw_end(w);
    dc_write_loss(w, m->loss_kind, &m->loss_args);
    int n_weighted = 0;
    dc_jw_array(w, "metrics");
    for (int i = 0; i < m->n_metrics; i++) {
        if (!m->metrics[i].weighted)
            dc_write_metric(w, m->names[1 + i], &m->metrics[i]);
        n_weighted += m->metrics[i].weighted;
    }
    dc_jw_end(w);
    if (n_weighted) { /* written only when there are some: older files stay as they were */
        dc_jw_array(w, "weighted_metrics");
        for (int i = 0; i < m->n_metrics; i++)
            if (m->metrics[i].weighted)
                dc_write_metric(w, m->metrics[i].name, &m->metrics[i]);
        dc_jw_end(w);
    }
    dc_jw_end(w);
}

/* A Keras tensor as a functional model's inbound_nodes name it: the
 * output of reference r (an input, or a layer) with its (None, ...) shape. */
static void write_keras_tensor(dc_jw *w, const dc_model *m, int r)
{
    const dc_node *x = r < m->n_inputs ? m->inputs[r] : m->calls[r - m->n_inputs].made.out;
    char name[80];
    dc_jw_object(w, NULL);
    dc_jw_str(w, "class_name", "__keras_tensor__");
    dc_jw_object(w, "config");
    dc_jw_array(w, "shape");
    dc_jw_null(w, NULL);
    for (int i = 1; i < x->ndim; i++)
        dc_jw_int(w, NULL, x->shape[i]);
    dc_jw_end(w);
    dc_jw_str(w, "dtype", "float32");
    dc_jw_array(w, "keras_history");
    dc_jw_str(w, NULL, dc_model_ref_name(m, r, name, sizeof name));
    dc_jw_int(w, NULL, dc_model_ref_node(m, r));
    dc_jw_int(w, NULL, 0);
    dc_jw_end(w);
    dc_jw_end(w);
    dc_jw_end(w);
}

/* ["input_layer", 0, 0]: Keras' input_layers / output_layers entry for one tensor. */
static void write_history(dc_jw *w, const char *key, const char *name, int node)
{
    dc_jw_array(w, key);
    dc_jw_str(w, NULL, name);
    dc_jw_int(w, NULL, node);
    dc_jw_int(w, NULL, 0);
    dc_jw_end(w);
}

/* A functional model's layers also carry their name and the calls that
 * connect them, one {"args": [tensor or [tensors]], "kwargs": {}} per call
 * (Keras 3's serialize_node); an InputLayer (l NULL) `name` and none. */
static void write_inbound(dc_jw *w, const dc_model *m, const dc_layer *l, const char *name)
{
    dc_jw_str(w, "name", l ? l->name : name);
    dc_jw_array(w, "inbound_nodes");
    for (int j = l ? l->first_call : 0, left = l ? l->n_calls : 0; left > 0; j++) { /* from its first call on */
        const dc_call *c = &m->calls[j];
        if (c->layer != l)
            continue;
        left--;
        dc_jw_object(w, NULL);
        dc_jw_array(w, "args");
        if (l->cls->build_merge)
            dc_jw_array(w, NULL);
        for (int k = 0; k < c->n_in; k++)
            write_keras_tensor(w, m, c->in_refs[k]);
        if (l->cls->build_merge)
            dc_jw_end(w);
        dc_jw_end(w);
        dc_jw_object(w, "kwargs");
        dc_jw_end(w);
        dc_jw_end(w);
    }
    dc_jw_end(w);
}

dc_status dc_model_to_json(dc_model *m, char **json)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(json);
    *json = NULL;
    if (m->functional) { /* the inbound tensors' shapes come from the built graph */
        dc_status st = dc_model_build(m);
        if (st != DC_OK)
            return st;
    }
    dc_jw w;
    dc_jw_init(&w);
    dc_jw_object(&w, NULL);
    dc_jw_str(&w, "class_name", m->functional ? "Functional" : "Sequential");
    dc_jw_object(&w, "config");
    dc_jw_str(&w, "name", m->functional ? "functional" : "sequential");
    if (m->functional)
        dc_jw_bool(&w, "trainable", 1);
    dc_jw_array(&w, "layers");
    for (int k = 0; k < m->n_inputs; k++) {
        char name[80];
        dc_model_ref_name(m, k, name, sizeof name);
        dc_jw_object(&w, NULL);
        dc_jw_str(&w, "class_name", "InputLayer");
        dc_jw_object(&w, "config");
        dc_jw_array(&w, "batch_shape");
        dc_jw_null(&w, NULL);
        for (int i = 0; i < m->input_ndim[k]; i++)
            dc_jw_int(&w, NULL, m->input_shape[k][i]);
        dc_jw_end(&w);
        dc_jw_str(&w, "dtype", "float32");
        dc_jw_str(&w, "name", name);
        dc_jw_end(&w);
        if (m->functional)
            write_inbound(&w, m, NULL, name);
        dc_jw_end(&w);
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dc_layer *l = m->layers[i];
        dc_jw_object(&w, NULL);
        dc_jw_str(&w, "class_name", l->cls->type);
        dc_jw_object(&w, "config");
        dc_jw_str(&w, "name", l->name);
        dc_jw_bool(&w, "trainable", !l->frozen);
        dc_jw_str(&w, "dtype", "float32");
        l->cls->to_config(l, &w);
        dc_jw_end(&w);
        if (m->functional)
            write_inbound(&w, m, l, NULL);
        dc_jw_end(&w);
    }
    dc_jw_end(&w);
    if (m->functional) { /* one tensor: ["name", 0, 0]; several: a list of them, as Keras */
        if (m->n_inputs > 1)
            dc_jw_array(&w, "input_layers");
        for (int k = 0; k < m->n_inputs; k++) {
            char name[80];
            write_history(&w, m->n_inputs > 1 ? NULL : "input_layers", dc_model_ref_name(m, k, name, sizeof name), 0);
        }
        if (m->n_inputs > 1)
            dc_jw_end(&w);
        const dc_call *last = &m->calls[m->n_calls - 1];
        write_history(&w, "output_layers", last->layer->name, last->node);
    }
    dc_jw_end(&w);
    if (m->compiled)
        write_compile_config(&w, m);
    dc_jw_str(&w, "deepc_version", DC_VERSION);
    dc_jw_end(&w);
    *json = dc_jw_take(&w, NULL);
    return *json ? DC_OK : DC_ERR_NOMEM;
}

/* The shape of an InputLayer entry (`where`: "layer 0" of a Sequential model, an input's name). */
static dc_status input_shape(const dc_json *item, const char *where, int *ndim, int *shape)
{
    const dc_json *cn = dc_json_get(item, "class_name"), *cfg = dc_json_get(item, "config");
    const dc_json *bs = dc_json_get(cfg, "batch_shape");
    if (!bs)
        bs = dc_json_get(cfg, "batch_input_shape"); /* Keras 2 */
    if (!cn || cn->type != DC_JSON_STRING || strcmp(cn->str, "InputLayer") != 0 || !bs)
        return dc_fail(DC_ERR_FORMAT, "%.64s must be an InputLayer with a batch_shape", where);
    if (bs->type != DC_JSON_ARRAY || bs->len < 2 || bs->len > DC_MAX_DIMS || bs->items[0].type != DC_JSON_NULL)
        return dc_fail(DC_ERR_FORMAT, "InputLayer: batch_shape must be [null, d1, ...] with 1 to %d dimensions",
                       DC_MAX_DIMS - 1);
    *ndim = (int)bs->len - 1;
    for (int i = 0; i < *ndim; i++) {
        if (!dc_json_is_int(&bs->items[i + 1], 1, INT32_MAX))
            return dc_fail(DC_ERR_FORMAT, "InputLayer: batch_shape[%d] must be a positive integer", i + 1);
        shape[i] = (int)bs->items[i + 1].num;
    }
    if (dc_shape_size(*ndim, shape) == 0 || dc_shape_size(*ndim, shape) > (size_t)INT32_MAX)
        return dc_fail(DC_ERR_FORMAT, "InputLayer: batch_shape holds more than %d values per sample", INT32_MAX);
    return DC_OK;
}

/* The names of the layers loaded so far, an open-addressing hash table of
 * layer indices + 1 (0: empty), so that checking a name is O(1) and a file
 * of n layers loads in O(n), not O(n^2). */
typedef struct name_table {
    int *slot;
    size_t mask;
} name_table;

static dc_status names_init(name_table *t, size_t n_layers)
{
    size_t cap = 16;
    while (cap < 2 * n_layers + 2)
        cap *= 2;
    t->mask = cap - 1;
    t->slot = dc_calloc(cap, sizeof *t->slot);
    return t->slot ? DC_OK : DC_ERR_NOMEM;
}

static size_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The index of the layer named `name`, or -1; with add >= 0 and no such
 * layer, records layer `add` under that name. */
static int names_find(name_table *t, const dc_model *m, const char *name, int add)
{
    size_t i = name_hash(name) & t->mask;
    for (; t->slot[i]; i = (i + 1) & t->mask)
        if (strcmp(m->layers[t->slot[i] - 1]->name, name) == 0)
            return t->slot[i] - 1;
    if (add >= 0)
        t->slot[i] = add + 1;
    return -1;
}

/* Layer names become weight names: printable, short, unique (a default
 * name may collide with an explicit one given earlier). */
static dc_status set_name(dc_model *m, dc_layer *l, const dc_json *cfg, name_table *names)
{
    const dc_json *v = dc_json_get(cfg, "name");
    if (v && (v->type != DC_JSON_STRING || v->len < 1 || v->len >= sizeof l->name))
        return dc_fail(DC_ERR_FORMAT, "key \"name\" must be a string of 1 to %zu characters", sizeof l->name - 1);
    for (size_t i = 0; v && i < v->len; i++) {
        char c = v->str[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return dc_fail(DC_ERR_FORMAT, "key \"name\": \"%s\" may hold only letters, digits, '_', '-' and '.'", v->str);
    }
    const char *name = v ? v->str : l->name;
    int i = names_find(names, m, name, -1);
    if (i >= 0)
        return dc_fail(DC_ERR_FORMAT, "%s \"%s\" is also the name of layer %d%s", v ? "key \"name\":" : "default name",
                       name, i + 1, v ? "" : "; give this layer a \"name\"");
    if (v)
        memcpy(l->name, v->str, v->len + 1);
    names_find(names, m, l->name, m->n_layers - 1); /* l is the model's last layer */
    return DC_OK;
}

/* Appends layer `index` of the file: to a Sequential model after the one
 * before, to a functional one taking refs[0..n_refs). */
static dc_status add_layer(dc_model *m, const dc_json *item, int index, int n_refs, const int *refs,
                           name_table *names)
{
    const dc_json *cn = dc_json_get(item, "class_name"), *cfg = dc_json_get(item, "config");
    if (!cn || cn->type != DC_JSON_STRING)
        return dc_fail(DC_ERR_FORMAT, "layer %d: missing \"class_name\"", index);
    const dc_layer_class *cls = dc_layer_class_find(cn->str);
    if (!cls)
        return dc_fail(DC_ERR_UNSUPPORTED, "layer %d: unknown layer class \"%.64s\"", index, cn->str);
    if (!cfg || cfg->type != DC_JSON_OBJECT)
        return dc_fail(DC_ERR_FORMAT, "layer %d (%s): missing \"config\" object", index, cls->type);
    if (m->functional && cls->build && n_refs != 1)
        return dc_fail(DC_ERR_FORMAT, "layer %d (%s): takes one input tensor, inbound_nodes names %d", index,
                       cls->type, n_refs);
    dc_layer *l = cls->from_config(cls, cfg);
    int trainable = 1; /* Keras' default; older files have no key */
    /* a value the class refuses makes the file malformed; running out of memory stays what it is */
    dc_status st = l ? DC_OK : dc_last_status() == DC_ERR_NOMEM ? DC_ERR_NOMEM : DC_ERR_FORMAT;
    if (st == DC_OK && !m->functional)
        st = dc_model_add(m, l);
    else if (st == DC_OK && (cls->build ? dc_model_apply(m, l, refs[0]) : dc_model_merge(m, l, n_refs, refs)) < 0)
        st = DC_ERR_FORMAT;
    if (st == DC_OK)
        st = set_name(m, l, cfg, names);
    if (st == DC_OK && (st = dc_cfg_bool(cfg, "trainable", &trainable)) == DC_OK)
        l->frozen = !trainable;
    if (st != DC_OK) {
        char where[96];
        snprintf(where, sizeof where, "layer %d (%s)", index, cls->type);
        dc_err_prefix(where);
    }
    return st;
}

/* A layer entry's name: its own "name", or its config's. */
static const char *entry_name(const dc_json *item)
{
    const dc_json *n = dc_json_get(item, "name");
    if (!n)
        n = dc_json_get(dc_json_get(item, "config"), "name");
    return n && n->type == DC_JSON_STRING ? n->str : NULL;
}

static int is_input_layer(const dc_json *item)
{
    const dc_json *cn = dc_json_get(item, "class_name");
    return cn && cn->type == DC_JSON_STRING && strcmp(cn->str, "InputLayer") == 0;
}

/* A functional file's names: its inputs (references 0 .. n_in - 1, in
 * input_layers' order), then the calls made so far (reference n_in + j is
 * call j: node call_node[j] of the layer listed at call_entry[j]). */
typedef struct graph_names {
    const dc_json *layers;
    const char *inputs[DC_MODEL_MAX_INPUTS];
    const dc_json *input_items[DC_MODEL_MAX_INPUTS];
    int n_in;
    int *call_entry, *call_node;
    int n_calls;
    int *call_entry_first; /* per listed entry: the call that made its layer */
    name_table names;
    int *call_slot;        /* hash table of the calls by (entry name, node): call index + 1, 0 empty */
    size_t call_mask;
} graph_names;

static size_t call_hash(const char *name, int node) { return name_hash(name) ^ (size_t)node * 0x9E3779B97F4A7C15ull; }

/* The call of the layer named `name` at `node`, or -1; with add >= 0 and
 * no such call, records call `add` under them.  O(1): a functional file of
 * n calls is connected in O(n). */
static int calls_find(graph_names *gn, const char *name, int node, int add)
{
    size_t i = call_hash(name, node) & gn->call_mask;
    for (; gn->call_slot[i]; i = (i + 1) & gn->call_mask) {
        int j = gn->call_slot[i] - 1;
        const char *n = entry_name(&gn->layers->items[gn->call_entry[j]]);
        if (gn->call_node[j] == node && n && strcmp(n, name) == 0)
            return j;
    }
    if (add >= 0)
        gn->call_slot[i] = add + 1;
    return -1;
}

/* The reference a keras_history entry [name, node, 0] (or a legacy [name,
 * node, 0, {}]) names, or -1 when no call made so far is that one. */
static dc_status history_ref(graph_names *gn, const dc_json *h, int *ref)
{
    *ref = -1;
    if (!h || h->type != DC_JSON_ARRAY || h->len < 3 || h->len > 4 || h->items[0].type != DC_JSON_STRING ||
        !dc_json_is_int(&h->items[1], 0, INT32_MAX))
        return dc_fail(DC_ERR_FORMAT, "an inbound tensor must be [\"layer name\", node index, tensor index]");
    const char *name = h->items[0].str;
    int node = (int)h->items[1].num;
    if (!dc_json_is_int(&h->items[2], 0, 0))
        return dc_fail(DC_ERR_UNSUPPORTED, "inbound tensor of \"%.64s\": tensor index must be 0 (a layer with "
                                           "several outputs is not supported)", name);
    for (int k = 0; k < gn->n_in; k++)
        if (node == 0 && strcmp(gn->inputs[k], name) == 0)
            *ref = k;
    if (*ref < 0) {
        int j = calls_find(gn, name, node, -1);
        if (j >= 0)
            *ref = gn->n_in + j;
    }
    return DC_OK;
}

/* The keras_history entries of one call (node) of a layer: Keras 3's
 * {"args": [tensor or [tensors]], "kwargs": {}} or Keras 2's [[name, node,
 * 0, {}], ...]. */
static dc_status node_histories(const dc_json *node, const dc_json **hist, int *n_hist)
{
    const dc_json *tensors = node;
    int keras3 = node->type == DC_JSON_OBJECT;
    if (keras3) {
        const dc_json *args = dc_json_get(node, "args");
        if (!args || args->type != DC_JSON_ARRAY || args->len != 1)
            return dc_fail(DC_ERR_FORMAT, "inbound_nodes: args must hold one tensor or one list of tensors");
        tensors = &args->items[0];
    }
    int single = keras3 && tensors->type == DC_JSON_OBJECT;
    size_t n = single ? 1 : tensors->type == DC_JSON_ARRAY ? tensors->len : 0;
    if (n < 1 || n > DC_MERGE_MAX)
        return dc_fail(DC_ERR_FORMAT, "inbound_nodes: a call must name 1 to %d input tensors", DC_MERGE_MAX);
    for (size_t k = 0; k < n; k++) {
        const dc_json *t = single ? tensors : &tensors->items[k];
        hist[k] = t;
        if (keras3) {
            const dc_json *cn = dc_json_get(t, "class_name");
            if (!cn || cn->type != DC_JSON_STRING || strcmp(cn->str, "__keras_tensor__") != 0)
                return dc_fail(DC_ERR_FORMAT, "inbound tensor %zu: class_name must be \"__keras_tensor__\"", k);
            hist[k] = dc_json_get(dc_json_get(t, "config"), "keras_history");
        }
    }
    *n_hist = (int)n;
    return DC_OK;
}

/* A tensor entry of input_layers / output_layers: ["name", 0, 0], or a list
 * of them; *n how many, list[] the entries. */
static dc_status io_tensors(const dc_json *cfg, const char *key, int max, const dc_json **list, int *n)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v || v->type != DC_JSON_ARRAY || v->len == 0)
        return dc_fail(DC_ERR_FORMAT, "%s: expected [\"name\", 0, 0] or a list of them", key);
    int leaf = v->items[0].type == DC_JSON_STRING;
    *n = leaf ? 1 : (int)(v->len < (size_t)max + 1 ? v->len : (size_t)max + 1);
    if (*n > max)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: more than %d tensors (a model with several outputs is not supported)",
                       key, max);
    for (int i = 0; i < *n; i++)
        list[i] = leaf ? v : &v->items[i];
    return DC_OK;
}

/* The inputs of a functional file: every InputLayer, in input_layers' order. */
static dc_status read_inputs(const dc_json *cfg, graph_names *gn)
{
    const dc_json *list[DC_MODEL_MAX_INPUTS];
    int n = 0, n_layers_in = 0;
    dc_status st = io_tensors(cfg, "input_layers", DC_MODEL_MAX_INPUTS, list, &n);
    for (int k = 0; st == DC_OK && k < n; k++) {
        const dc_json *h = list[k];
        if (h->type != DC_JSON_ARRAY || h->len < 1 || h->items[0].type != DC_JSON_STRING)
            return dc_fail(DC_ERR_FORMAT, "input_layers[%d]: expected [\"name\", 0, 0]", k);
        gn->inputs[k] = h->items[0].str;
        gn->input_items[k] = NULL;
        for (size_t i = 0; i < gn->layers->len; i++) {
            const dc_json *item = &gn->layers->items[i];
            const char *name = entry_name(item);
            if (is_input_layer(item) && name && strcmp(name, gn->inputs[k]) == 0)
                gn->input_items[k] = item;
        }
        if (!gn->input_items[k])
            return dc_fail(DC_ERR_FORMAT, "input_layers[%d]: \"%.64s\" is not an InputLayer of the model", k,
                           gn->inputs[k]);
        for (int j = 0; j < k; j++)
            if (gn->input_items[j] == gn->input_items[k])
                return dc_fail(DC_ERR_FORMAT, "input_layers: \"%.64s\" is listed twice", gn->inputs[k]);
    }
    for (size_t i = 0; st == DC_OK && i < gn->layers->len; i++)
        n_layers_in += is_input_layer(&gn->layers->items[i]);
    if (st == DC_OK && n_layers_in != n)
        return dc_fail(DC_ERR_FORMAT, "input_layers names %d inputs, the model lists %d InputLayers", n, n_layers_in);
    gn->n_in = n;
    return st;
}

/* Makes the calls of the layers listed, each layer's in order, as soon as
 * the tensors they take exist: in list order for a file Keras wrote (its
 * list is sorted by depth), later for a shared layer's call that takes a
 * layer listed after it.  done[i]: the calls made of entry i. */
static dc_status make_calls(dc_model *m, graph_names *gn, int *done)
{
    const dc_json *layers = gn->layers;
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < layers->len; i++) {
            const dc_json *item = &layers->items[i], *nodes = dc_json_get(item, "inbound_nodes");
            if (is_input_layer(item))
                continue;
            for (; done[i] < (int)nodes->len; done[i]++) {
                const dc_json *hist[DC_MERGE_MAX];
                int refs[DC_MERGE_MAX], n = 0, ready = 1;
                dc_status st = node_histories(&nodes->items[done[i]], hist, &n);
                for (int k = 0; st == DC_OK && k < n; k++)
                    if ((st = history_ref(gn, hist[k], &refs[k])) == DC_OK && refs[k] < 0)
                        ready = 0;
                if (st == DC_OK && !ready)
                    break;
                if (st == DC_OK && done[i] == 0) {
                    st = add_layer(m, item, (int)i, n, refs, &gn->names);
                } else if (st == DC_OK) { /* a shared layer's next call */
                    dc_layer *l = m->calls[gn->call_entry_first[i]].layer;
                    if (l->cls->build && n != 1)
                        st = dc_fail(DC_ERR_FORMAT, "takes one input tensor, inbound_nodes names %d", n);
                    else if ((l->cls->build ? dc_model_apply(m, l, refs[0]) : dc_model_merge(m, l, n, refs)) < 0)
                        st = DC_ERR_FORMAT;
                }
                if (st != DC_OK) {
                    char where[64];
                    snprintf(where, sizeof where, "layer %zu%s", i, done[i] ? " (a later call)" : "");
                    if (strncmp(dc_errmsg(), "layer ", 6) != 0)
                        dc_err_prefix(where);
                    return st;
                }
                if (done[i] == 0)
                    gn->call_entry_first[i] = gn->n_calls;
                gn->call_entry[gn->n_calls] = (int)i;
                gn->call_node[gn->n_calls] = done[i];
                const char *name = entry_name(item);
                if (name)
                    calls_find(gn, name, done[i], gn->n_calls);
                gn->n_calls++;
                progress = 1;
            }
        }
    }
    for (size_t i = 0; i < layers->len; i++) { /* what is left takes a tensor nothing makes */
        const dc_json *item = &layers->items[i], *nodes = dc_json_get(item, "inbound_nodes");
        if (is_input_layer(item) || done[i] == (int)nodes->len)
            continue;
        const dc_json *hist[DC_MERGE_MAX];
        int n = 0, ref = 0;
        node_histories(&nodes->items[done[i]], hist, &n);
        for (int k = 0; k < n; k++)
            if (history_ref(gn, hist[k], &ref) == DC_OK && ref < 0)
                return dc_fail(DC_ERR_FORMAT, "layer %zu: inbound tensor [\"%.64s\", %d, 0] is not an input or "
                               "the output of a layer of the model (or the layers form a cycle)", i,
                               hist[k]->items[0].str, (int)hist[k]->items[1].num);
    }
    return DC_OK;
}

/* A Functional file: its inputs, then its layers' calls. */
static dc_status functional_from_tree(const dc_json *cfg, const dc_json *layers, dc_model **out)
{
    graph_names gn = {.layers = layers};
    int ndim = 0, shape[DC_MAX_DIMS] = {0};
    dc_status st = read_inputs(cfg, &gn);
    for (int k = 0; st == DC_OK && k < gn.n_in; k++) {
        if ((st = input_shape(gn.input_items[k], gn.inputs[k], &ndim, shape)) != DC_OK)
            break;
        if (k == 0 && !(*out = dc_functional_new(ndim, shape)))
            return dc_last_status();
        if (k > 0 && dc_model_input(*out, ndim, shape) < 0)
            st = DC_ERR_FORMAT;
    }
    size_t n_nodes = 0;
    for (size_t i = 0; st == DC_OK && i < layers->len; i++) {
        const dc_json *nodes = dc_json_get(&layers->items[i], "inbound_nodes");
        if (is_input_layer(&layers->items[i]))
            continue;
        if (!nodes || nodes->type != DC_JSON_ARRAY || nodes->len == 0)
            st = dc_fail(DC_ERR_FORMAT, "layer %zu: missing \"inbound_nodes\": the layer is connected to nothing", i);
        else
            n_nodes += nodes->len;
    }
    int *done = NULL;
    if (st == DC_OK && (st = names_init(&gn.names, layers->len)) == DC_OK) {
        done = dc_calloc(3 * layers->len + 2 * n_nodes + 1, sizeof *done);
        if (!done) {
            free(gn.names.slot);
            return DC_ERR_NOMEM;
        }
        gn.call_entry_first = done + layers->len;
        gn.call_entry = done + 2 * layers->len;
        gn.call_node = gn.call_entry + n_nodes;
        size_t cap = 16;
        while (cap < 2 * n_nodes + 2)
            cap *= 2;
        gn.call_mask = cap - 1;
        st = (gn.call_slot = dc_calloc(cap, sizeof *gn.call_slot)) ? make_calls(*out, &gn, done) : DC_ERR_NOMEM;
    }
    dc_model *m = *out;
    if (st == DC_OK && (!m || m->n_layers == 0))
        st = dc_fail(DC_ERR_FORMAT, "no layers after the InputLayers");
    const dc_json *list[1];
    int n = 0, ref = -1;
    if (st == DC_OK && (st = io_tensors(cfg, "output_layers", 1, list, &n)) == DC_OK &&
        (st = history_ref(&gn, list[0], &ref)) == DC_OK && ref != m->n_inputs + m->n_calls - 1)
        st = dc_fail(DC_ERR_UNSUPPORTED, "output_layers: the output must be the last call made, of \"%s\"",
                     m->calls[m->n_calls - 1].layer->name);
    if (st == DC_OK)
        st = dc_functional_check(m);
    /* Keras calls the layers as it reads them: a graph whose shapes do not
     * fit (a shared layer called on an input of another shape) fails here,
     * not later when it is written or compiled. */
    if (st == DC_OK && (st = dc_model_build(m)) == DC_OK)
        dc_model_unbuild(m);
    free(done);
    free(gn.names.slot);
    free(gn.call_slot);
    return st;
}

static dc_status from_tree(const dc_json *root, dc_model **out)
{
    *out = NULL;
    const dc_json *cn = dc_json_get(root, "class_name"), *cfg = dc_json_get(root, "config");
    const dc_json *layers = dc_json_get(cfg, "layers");
    int functional = cn && cn->type == DC_JSON_STRING && (!strcmp(cn->str, "Functional") || !strcmp(cn->str, "Model"));
    if (!cn || cn->type != DC_JSON_STRING || (!functional && strcmp(cn->str, "Sequential") != 0))
        return dc_fail(DC_ERR_UNSUPPORTED, "model JSON: class_name must be \"Sequential\" or \"Functional\"");
    if (!layers || layers->type != DC_JSON_ARRAY)
        return dc_fail(DC_ERR_FORMAT, "model JSON: config.layers must be an array");
    dc_status st;
    if (functional) {
        st = functional_from_tree(cfg, layers, out);
    } else {
        int ndim = 0, shape[DC_MAX_DIMS] = {0};
        st = input_shape(layers->len ? &layers->items[0] : NULL, "layer 0", &ndim, shape);
        if (st == DC_OK && !(*out = dc_sequential_new(ndim, shape)))
            return dc_last_status();
        name_table names = {0};
        if (st == DC_OK)
            st = names_init(&names, layers->len);
        for (size_t i = 1; i < layers->len && st == DC_OK; i++)
            st = add_layer(*out, &layers->items[i], (int)i, 0, NULL, &names);
        free(names.slot);
        if (st == DC_OK && (*out)->n_layers == 0)
            st = dc_fail(DC_ERR_FORMAT, "no layers after the InputLayer");
    }
    if (st != DC_OK) {
        if (strncmp(dc_errmsg(), "model JSON", 10) != 0)
            dc_err_prefix("model JSON");
        dc_model_free(*out);
        *out = NULL;
        return st;
    }
    return DC_OK;
}

dc_status dc_model_from_json(const char *json, size_t len, dc_model **out)
{
    dc_json *root;
    if (!out)
        return dc_fail(DC_ERR_ARG, "dc_model_from_json: out is NULL");
    *out = NULL;
    if (!json)
        return dc_fail(DC_ERR_ARG, "dc_model_from_json: json is NULL");
    dc_status st = dc_json_parse(json, len, "model JSON", &root);
    if (st != DC_OK)
        return st;
    st = from_tree(root, out);
    dc_json_free(root);
    return st;
}

/* ---- compile configuration ---- */

static dc_status read_schedule(const dc_json *v, dc_lr_schedule *s)
{
    static const char *const names[] = {"ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay"};
    const dc_json *cn = dc_json_get(v, "class_name"), *c = dc_json_get(v, "config");
    int kind = -1;
    for (int i = 0; cn && cn->type == DC_JSON_STRING && i < 3; i++)
        if (strcmp(cn->str, names[i]) == 0)
            kind = i;
    if (kind < 0 || !c || c->type != DC_JSON_OBJECT)
        return dc_fail(DC_ERR_FORMAT, "learning_rate: expected a number or an ExponentialDecay, "
                                      "PiecewiseConstantDecay or CosineDecay schedule");
    int steps = 1, warm = 0;
    memset(s, 0, sizeof *s);
    s->kind = (dc_schedule_kind)kind;
    s->warmup_target = NAN;
    if (kind == DC_SCHEDULE_PIECEWISE) {
        const dc_json *b = dc_json_get(c, "boundaries"), *vals = dc_json_get(c, "values");
        if (!b || !vals || b->type != DC_JSON_ARRAY || vals->type != DC_JSON_ARRAY || b->len > DC_SCHEDULE_MAX_BOUNDARIES ||
            vals->len != b->len + 1)
            return dc_fail(DC_ERR_FORMAT, "PiecewiseConstantDecay: boundaries (at most %d) and values (one more)",
                           DC_SCHEDULE_MAX_BOUNDARIES);
        s->n_boundaries = (int)b->len;
        for (size_t i = 0; i < vals->len; i++) {
            if ((i < b->len && !dc_json_is_int(&b->items[i], 0, 9e15)) || vals->items[i].type != DC_JSON_NUMBER)
                return dc_fail(DC_ERR_FORMAT, "PiecewiseConstantDecay: boundaries must be integers, values numbers");
            if (i < b->len)
                s->boundaries[i] = (long)b->items[i].num;
            s->values[i] = (float)vals->items[i].num;
        }
        return DC_OK;
    }
    const dc_json *wt = dc_json_get(c, "warmup_target");
    dc_status st = dc_cfg_float(c, "initial_learning_rate", &s->initial_learning_rate);
    if (st == DC_OK)
        st = dc_cfg_int(c, "decay_steps", 1, INT32_MAX, &steps);
    if (st == DC_OK)
        st = dc_cfg_float(c, "decay_rate", &s->decay_rate);
    if (st == DC_OK)
        st = dc_cfg_bool(c, "staircase", &s->staircase);
    if (st == DC_OK)
        st = dc_cfg_float(c, "alpha", &s->alpha);
    if (st == DC_OK)
        st = dc_cfg_int(c, "warmup_steps", 0, INT32_MAX, &warm);
    if (st == DC_OK && wt && wt->type != DC_JSON_NULL)
        st = dc_cfg_float(c, "warmup_target", &s->warmup_target);
    s->decay_steps = steps;
    s->warmup_steps = warm;
    if (st != DC_OK)
        dc_err_prefix(names[kind]);
    return st;
}

static dc_status read_optimizer(const dc_json *v, dc_optimizer_config *o, dc_lr_schedule *s, int *has_schedule)
{
    const dc_json *cn = dc_json_get(v, "class_name"), *c = dc_json_get(v, "config");
    int kind = -1;
    for (int i = 0; cn && cn->type == DC_JSON_STRING && i < DC_OPT_COUNT; i++)
        if (strcmp(cn->str, opt_classes[i]) == 0)
            kind = i;
    if (kind < 0)
        return dc_fail(DC_ERR_FORMAT, "optimizer: class_name must be SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, "
                                      "Adamax, Adadelta or Lion");
    *o = dc_optimizer_defaults((dc_opt_kind)kind);
    const dc_json *lr = dc_json_get(c, "learning_rate");
    dc_status st = DC_OK;
    *has_schedule = lr && lr->type == DC_JSON_OBJECT;
    if (*has_schedule)
        st = read_schedule(lr, s);
    else
        st = dc_cfg_float(c, "learning_rate", &o->learning_rate);
    if (st == DC_OK)
        st = dc_cfg_float(c, "momentum", &o->momentum);
    if (st == DC_OK)
        st = dc_cfg_bool(c, "nesterov", &o->nesterov);
    if (st == DC_OK)
        st = dc_cfg_float(c, "beta_1", &o->beta_1);
    if (st == DC_OK)
        st = dc_cfg_float(c, "beta_2", &o->beta_2);
    if (st == DC_OK)
        st = dc_cfg_float(c, "epsilon", &o->epsilon);
    if (st == DC_OK)
        st = dc_cfg_float(c, "rho", &o->rho);
    if (st == DC_OK)
        st = dc_cfg_float(c, "initial_accumulator_value", &o->initial_accumulator_value);
    if (st == DC_OK)
        st = dc_cfg_float(c, "weight_decay", &o->weight_decay);
    float *clips[3] = {&o->clipnorm, &o->global_clipnorm, &o->clipvalue};
    for (int i = 0; i < 3 && st == DC_OK; i++) {
        const dc_json *v = dc_json_get(c, clip_keys[i]);
        if (v && v->type != DC_JSON_NULL)
            st = dc_cfg_float(c, clip_keys[i], clips[i]);
    }
    if (st != DC_OK)
        dc_err_prefix("optimizer");
    return st;
}

static dc_status compile_from_tree(dc_model *m, const dc_json *cc)
{
    dc_compile_config cfg;
    dc_lr_schedule sched;
    int has_schedule = 0;
    memset(&cfg, 0, sizeof cfg);
    const dc_json *loss = dc_json_get(cc, "loss");
    dc_status st = read_optimizer(dc_json_get(cc, "optimizer"), &cfg.optimizer, &sched, &has_schedule);
    if (st == DC_OK)
        st = dc_read_loss(loss, &cfg);
    if (st == DC_OK)
        st = dc_read_metrics(dc_json_get(cc, "metrics"), "metrics", cfg.metrics, cfg.metric_args);
    if (st == DC_OK) /* Keras writes null when there are none */
        st = dc_read_metrics(dc_json_get(cc, "weighted_metrics"), "weighted_metrics", cfg.weighted_metrics,
                             cfg.weighted_metric_args);
    if (st == DC_OK)
        st = dc_model_compile_ex(m, &cfg);
    if (st == DC_OK && has_schedule)
        st = dc_model_set_lr_schedule(m, &sched);
    if (st != DC_OK)
        dc_err_prefix("compile_config");
    return st;
}

/* ---- weights ---- */

/* The tensors a save writes: weights, then (with slots) optimiser slots. */
typedef struct entries {
    dc_st_entry *e;
    char (*names)[160];
    size_t n;
} entries;

static void entries_free(entries *es)
{
    free(es->e);
    free(es->names);
}

static size_t param_count(const dc_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++)
        n += (size_t)dc_model_first_call(m, m->layers[i])->n_params;
    return n;
}

static dc_status collect(dc_model *m, int with_slots, entries *es)
{
    size_t np = param_count(m), slots = with_slots ? (size_t)dc_optimizer_slot_count(m->opt) : 0;
    es->n = 0;
    es->e = dc_calloc(np * (1 + slots) + 1, sizeof *es->e);
    es->names = dc_calloc(np * (1 + slots) + 1, sizeof *es->names);
    if (!es->e || !es->names) {
        entries_free(es);
        return DC_ERR_NOMEM;
    }
    float *params = dc_graph_params(m->g, NULL);
    for (size_t s = 0; s <= slots; s++)
        for (int i = 0; i < m->n_layers; i++)
            for (int j = 0; j < dc_model_first_call(m, m->layers[i])->n_params; j++) {
                const dc_node *p = dc_model_first_call(m, m->layers[i])->params[j];
                if (s && !p->trainable)
                    continue;
                dc_st_entry *e = &es->e[es->n];
                if (s)
                    snprintf(es->names[es->n], sizeof es->names[0], "optimizer/%s/%s",
                             dc_optimizer_slot_name(m->opt, (int)s - 1), p->name);
                else
                    snprintf(es->names[es->n], sizeof es->names[0], "%s", p->name);
                e->name = es->names[es->n];
                e->ndim = p->ndim;
                e->shape = p->shape;
                e->data = (s ? dc_optimizer_slot(m->opt, (int)s - 1) : params) + p->param_offset;
                es->n++;
            }
    return DC_OK;
}

/* Checks the file's tensor `name` against the shape the model expects. */
static dc_status check_tensor(const dc_st_file *f, const char *path, const char *name, int ndim, const int *shape,
                              const dc_st_tensor **out)
{
    char want[96], got[160] = "(";
    const dc_st_tensor *t = dc_st_find(f, name);
    *out = t;
    if (!t)
        return dc_fail(DC_ERR_VERIFY, "%s: the model's weight \"%s\" %s is missing from the file", path, name,
                       dc_shape_str(ndim, shape, want, sizeof want));
    if (strcmp(t->dtype, "F32") != 0)
        return dc_fail(DC_ERR_VERIFY, "%s: tensor \"%s\" has dtype %s, the model needs F32", path, name, t->dtype);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == (uint64_t)shape[i];
    if (!same) {
        for (int i = 0; i < t->ndim; i++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, i ? ", %llu" : "%llu", (unsigned long long)t->shape[i]);
        }
        strncat(got, t->ndim == 1 ? ",)" : ")", sizeof got - strlen(got) - 1);
        return dc_fail(DC_ERR_SHAPE, "%s: tensor \"%s\" has shape %s, the model's weight is %s", path, name, got,
                       dc_shape_str(ndim, shape, want, sizeof want));
    }
    return DC_OK;
}

/* Every weight present with the right dtype and shape, and no stray
 * weights (optimizer/ tensors are the optimiser's business). */
static dc_status check_weights(dc_model *m, const dc_st_file *f, const char *path)
{
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < dc_model_first_call(m, m->layers[i])->n_params; j++) {
            const dc_node *p = dc_model_first_call(m, m->layers[i])->params[j];
            const dc_st_tensor *t;
            dc_status st = check_tensor(f, path, p->name, p->ndim, p->shape, &t);
            if (st != DC_OK)
                return st;
        }
    /* Every weight was found above, each under its own name: a tensor not
     * marked is one the model lacks. */
    unsigned char *found = dc_calloc(f->n + 1, 1);
    if (!found)
        return DC_ERR_NOMEM;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < dc_model_first_call(m, m->layers[i])->n_params; j++)
            found[dc_st_find(f, dc_model_first_call(m, m->layers[i])->params[j]->name) - f->tensors] = 1;
    dc_status st = DC_OK;
    for (size_t i = 0; i < f->n && st == DC_OK; i++)
        if (!found[i] && strncmp(f->tensors[i].name, "optimizer/", 10) != 0)
            st = dc_fail(DC_ERR_VERIFY, "%s: the file has a tensor \"%.100s\" that the model lacks (a different "
                                        "architecture?)",
                         path, f->tensors[i].name);
    free(found);
    return st;
}

static void copy_weights(dc_model *m, const dc_st_file *f)
{
    float *params = dc_graph_params(m->g, NULL);
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < dc_model_first_call(m, m->layers[i])->n_params; j++) {
            const dc_node *p = dc_model_first_call(m, m->layers[i])->params[j];
            const dc_st_tensor *t = dc_st_find(f, p->name);
            memcpy(params + p->param_offset, t->data, (size_t)(t->end - t->begin));
        }
}

/* ---- training state ---- */

static dc_status write_state(dc_model *m, char **out)
{
    dc_jw w;
    char seed[32];
    dc_jw_init(&w);
    dc_jw_object(&w, NULL);
    dc_jw_int(&w, "epoch", m->epoch);
    dc_jw_int(&w, "iterations", dc_optimizer_iterations(m->opt));
    dc_jw_array(&w, "rng");
    for (int i = 0; i < 4; i++)
        dc_jw_int(&w, NULL, m->rng.s[i]);
    dc_jw_end(&w);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->seed);
    dc_jw_str(&w, "seed", seed);
    dc_jw_end(&w);
    *out = dc_jw_take(&w, NULL);
    return *out ? DC_OK : DC_ERR_NOMEM;
}

/* A training state read and checked, not yet applied. */
typedef struct state {
    int epoch;
    long iterations;
    uint32_t rng[4];
    int has_seed;
    unsigned long long seed;
} state;

/* Reads the training state and checks it and every optimiser slot tensor
 * against the model, changing nothing (commit_state applies it). */
static dc_status check_state(dc_model *m, const dc_st_file *f, const char *path, state *out)
{
    const char *text = dc_st_meta(f, "training_state");
    if (!text)
        return dc_fail(DC_ERR_VERIFY, "%s: no training_state in the file's metadata (saved without the optimizer?)", path);
    dc_json *root;
    dc_status st = dc_json_parse(text, strlen(text), "training_state", &root);
    if (st != DC_OK) {
        dc_err_prefix(path);
        return st;
    }
    const dc_json *rng = dc_json_get(root, "rng"), *it = dc_json_get(root, "iterations"), *seed = dc_json_get(root, "seed");
    memset(out, 0, sizeof *out);
    st = dc_cfg_int(root, "epoch", 0, INT32_MAX, &out->epoch);
    if (st == DC_OK && (!dc_json_is_int(it, 0, 9e15) || !rng || rng->type != DC_JSON_ARRAY || rng->len != 4))
        st = dc_fail(DC_ERR_FORMAT, "training_state needs integer iterations and rng [4 integers]");
    if (st == DC_OK && it->num > (double)DC_OPTIMIZER_MAX_ITERATIONS)
        st = dc_fail(DC_ERR_RANGE, "training_state: \"iterations\" is %.0f, more than the %ld optimiser steps a file "
                                   "may declare",
                     it->num, (long)DC_OPTIMIZER_MAX_ITERATIONS);
    if (st == DC_OK)
        out->iterations = (long)it->num;
    for (int i = 0; st == DC_OK && i < 4; i++) {
        if (!dc_json_is_int(&rng->items[i], 0, 4294967295.0))
            st = dc_fail(DC_ERR_FORMAT, "training_state: rng[%d] is not a 32-bit unsigned integer", i);
        else
            out->rng[i] = (uint32_t)rng->items[i].num;
    }
    char *end = NULL;
    if (st == DC_OK && seed) {
        if (seed->type == DC_JSON_STRING && seed->len > 0 && seed->len <= 20 && seed->str[0] >= '0' && seed->str[0] <= '9')
            out->seed = strtoull(seed->str, &end, 10);
        if (!end || *end)
            st = dc_fail(DC_ERR_FORMAT, "training_state: seed must be a string of decimal digits");
        out->has_seed = 1;
    }
    if (st == DC_OK && !(out->rng[0] | out->rng[1] | out->rng[2] | out->rng[3]))
        st = dc_fail(DC_ERR_FORMAT, "training_state: rng state is all zero");
    /* The optimiser slots, checked like the weights. */
    int slots = dc_optimizer_slot_count(m->opt);
    for (int k = 0; st == DC_OK && k < slots; k++)
        for (int i = 0; st == DC_OK && i < m->n_layers; i++)
            for (int j = 0; st == DC_OK && j < dc_model_first_call(m, m->layers[i])->n_params; j++) {
                const dc_node *p = dc_model_first_call(m, m->layers[i])->params[j];
                char name[160];
                const dc_st_tensor *t;
                if (!p->trainable)
                    continue;
                snprintf(name, sizeof name, "optimizer/%s/%s", dc_optimizer_slot_name(m->opt, k), p->name);
                st = check_tensor(f, path, name, p->ndim, p->shape, &t);
            }
    if (st != DC_OK && strncmp(dc_errmsg(), path, strlen(path)) != 0)
        dc_err_prefix(path);
    dc_json_free(root);
    return st;
}

/* Applies a state check_state accepted: the optimiser slots from the file,
 * the step count, epoch and RNG.  Nothing here can fail. */
static void commit_state(dc_model *m, const dc_st_file *f, const state *s)
{
    int slots = dc_optimizer_slot_count(m->opt);
    for (int k = 0; k < slots; k++)
        for (int i = 0; i < m->n_layers; i++)
            for (int j = 0; j < dc_model_first_call(m, m->layers[i])->n_params; j++) {
                const dc_node *p = dc_model_first_call(m, m->layers[i])->params[j];
                char name[160];
                if (!p->trainable)
                    continue;
                snprintf(name, sizeof name, "optimizer/%s/%s", dc_optimizer_slot_name(m->opt, k), p->name);
                const dc_st_tensor *t = dc_st_find(f, name);
                memcpy(dc_optimizer_slot(m->opt, k) + p->param_offset, t->data, (size_t)(t->end - t->begin));
            }
    m->epoch = s->epoch;
    if (s->has_seed)
        m->seed = s->seed;
    memcpy(m->rng.s, s->rng, sizeof s->rng);
    dc_optimizer_set_iterations(m->opt, s->iterations); /* checked against its limit above */
}

/* ---- files ---- */

static dc_status need_compiled(const dc_model *m, const char *what)
{
    if (!m)
        return dc_fail(DC_ERR_ARG, "%s: model is NULL", what);
    /* int8 quantization: a quantized model's kernels hold packed int8 layers,
     * which no file of this format describes (save, save_weights and
     * checkpoints are refused), nor may float weights overwrite them (loads) */
    dc_status q = dc_model_refuse_quantized(m, what);
    if (q != DC_OK)
        return q;
    return m->compiled ? DC_OK
                       : dc_fail(DC_ERR_STATE, "%s: the model is not compiled; compile it first (compile creates the "
                                               "weights)",
                                 what);
}

static dc_status save(dc_model *m, const char *path, int with_config, int with_optimizer)
{
    entries es;
    char *config = NULL, *state = NULL;
    dc_status st = collect(m, with_optimizer, &es);
    if (st != DC_OK)
        return st;
    if (with_config)
        st = dc_model_to_json(m, &config);
    if (st == DC_OK && with_optimizer)
        st = write_state(m, &state);
    if (st == DC_OK) {
        const char *meta[] = {"format", MODEL_FORMAT, "deepc_version", DC_VERSION, "model_config", config,
                              "training_state", state};
        size_t n_meta = with_optimizer ? 4 : with_config ? 3 : 2;
        st = dc_st_write(path, es.e, es.n, meta, n_meta);
    }
    free(config);
    free(state);
    entries_free(&es);
    return st;
}

dc_status dc_model_save(dc_model *m, const char *path, int include_optimizer)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(path);
    dc_status st = need_compiled(m, "save");
    return st != DC_OK ? st : save(m, path, 1, include_optimizer);
}

dc_status dc_model_save_weights(dc_model *m, const char *path)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(path);
    dc_status st = need_compiled(m, "save_weights");
    return st != DC_OK ? st : save(m, path, 0, 0);
}

/* Reads and checks path; *buf and *f are the caller's to free. */
static dc_status open_file(const char *path, uint8_t **buf, dc_st_file **f)
{
    size_t len;
    *f = NULL;
    if (!path)
        return dc_fail(DC_ERR_ARG, "load: path is NULL");
    dc_status st = dc_file_read_all(path, MAX_FILE_BYTES, buf, &len);
    if (st == DC_OK && (st = dc_st_parse(*buf, len, path, f)) != DC_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

dc_status dc_model_load_weights(dc_model *m, const char *path)
{
    uint8_t *buf;
    dc_st_file *f;
    dc_status st = need_compiled(m, "load_weights");
    if (st == DC_OK && (st = open_file(path, &buf, &f)) == DC_OK) {
        if ((st = check_weights(m, f, path)) == DC_OK)
            copy_weights(m, f);
        dc_st_free(f);
        free(buf);
    }
    return st;
}

dc_status dc_model_load_checkpoint(dc_model *m, const char *path)
{
    uint8_t *buf;
    dc_st_file *f;
    dc_status st = need_compiled(m, "load_checkpoint");
    if (st == DC_OK && (st = open_file(path, &buf, &f)) == DC_OK) {
        /* Check everything, then change everything: a load that fails
         * leaves the weights, the optimiser and the training state as they
         * were. */
        state s;
        if ((st = check_weights(m, f, path)) == DC_OK && (st = check_state(m, f, path, &s)) == DC_OK) {
            copy_weights(m, f);
            commit_state(m, f, &s);
        }
        dc_st_free(f);
        free(buf);
    }
    return st;
}

/* a + b and a * b, saturating at SIZE_MAX: a hostile shape cannot wrap a
 * total below the budget. */
static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* The load budget: the floats compile will plan for the activations at its
 * batch (values, gradients and scratch of every node that is not a
 * weight, as dc_graph_reserve lays them out), and the largest single
 * tensor.  Weights are not counted: every saved weight must be in the file
 * (check_weights), so the file's size bounds them and their optimiser
 * slots. */
static void planned_floats(const dc_graph *g, int batch, size_t *total, size_t *largest)
{
    *total = *largest = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const dc_node *d = g->nodes[i];
        size_t rows = sat_mul((size_t)batch, (size_t)(d->batch_mult > 0 ? d->batch_mult : 1));
        size_t values = d->batched ? sat_mul(dc_node_sample_size(d), rows) : dc_node_numel(d);
        size_t work = sat_add(d->work_fixed, sat_mul(d->work_per_sample, rows));
        if (values > *largest)
            *largest = values;
        if (work > *largest)
            *largest = work;
        if (d->is_param || (d->op->flags & DC_OP_ALIASES_INPUT))
            values = 0;
        *total = sat_add(*total, sat_add(sat_mul(values, d->requires_grad ? 2 : 1), work));
    }
}

static dc_status check_budget(const dc_model *m, const char *where, size_t max_bytes)
{
    size_t total, largest;
    planned_floats(m->g, DC_COMPILE_BATCH, &total, &largest);
    if (largest > DC_LOAD_MAX_TENSOR_FLOATS)
        return dc_fail(DC_ERR_RANGE, "%s: the model has a tensor of %zu floats at a batch of %d, more than the %zu a "
                                     "loaded model may have (DC_LOAD_MAX_TENSOR_FLOATS)",
                       where, largest, DC_COMPILE_BATCH, (size_t)DC_LOAD_MAX_TENSOR_FLOATS);
    if (total > max_bytes / sizeof(float))
        return dc_fail(DC_ERR_RANGE, "%s: the model would plan %zu MiB of activations at a batch of %d, more than the "
                                     "%zu MiB a loaded model may (the load budget; raise it with dc_model_load_ex)",
                       where, sat_mul(total, sizeof(float)) >> 20, DC_COMPILE_BATCH, max_bytes >> 20);
    return DC_OK;
}

dc_status dc_model_load_buffer(const uint8_t *buf, size_t len, const char *where, size_t max_bytes, dc_model **out)
{
    dc_st_file *f;
    dc_json *root = NULL;
    dc_model *m = NULL;
    *out = NULL;
    dc_status st = dc_st_parse(buf, len, where, &f);
    if (st != DC_OK)
        return st;
    const char *config = dc_st_meta(f, "model_config");
    if (!config)
        st = dc_fail(DC_ERR_FORMAT, "%s: no model_config in the file's metadata (a weights-only file? use "
                                    "dc_model_load_weights)",
                     where);
    if (st == DC_OK && (st = dc_json_parse(config, strlen(config), "model_config", &root)) == DC_OK)
        st = from_tree(root, &m);
    if (st == DC_OK)
        st = dc_model_build(m);
    if (st == DC_OK)
        st = check_budget(m, where, max_bytes);
    if (st == DC_OK)
        st = check_weights(m, f, where);
    const dc_json *cc = dc_json_get(root, "compile_config");
    if (st == DC_OK && !cc)
        st = dc_fail(DC_ERR_FORMAT, "model_config has no compile_config");
    if (st == DC_OK)
        st = compile_from_tree(m, cc);
    state s;
    int has_state = dc_st_meta(f, "training_state") != NULL;
    if (st == DC_OK && has_state)
        st = check_state(m, f, where, &s);
    if (st == DC_OK) {
        copy_weights(m, f);
        if (has_state)
            commit_state(m, f, &s);
    }
    if (st != DC_OK && strncmp(dc_errmsg(), where, strlen(where)) != 0)
        dc_err_prefix(where);
    dc_json_free(root);
    dc_st_free(f);
    if (st != DC_OK) {
        dc_model_free(m);
        return st;
    }
    *out = m;
    return DC_OK;
}

dc_status dc_model_load(const char *path, dc_model **out) { return dc_model_load_ex(path, 0, out); }

dc_status dc_model_load_ex(const char *path, size_t max_activation_bytes, dc_model **out)
{
    uint8_t *buf;
    size_t len;
    if (!out)
        return dc_fail(DC_ERR_ARG, "load: out is NULL");
    *out = NULL;
    if (!path)
        return dc_fail(DC_ERR_ARG, "load: path is NULL");
    dc_status st = dc_file_read_all(path, MAX_FILE_BYTES, &buf, &len);
    if (st != DC_OK)
        return st;
    st = dc_model_load_buffer(buf, len, path, max_activation_bytes ? max_activation_bytes : DC_LOAD_MAX_BYTES, out);
    free(buf);
    return st;
}

int dc_model_epoch(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, -1);
    return m->epoch;
}
