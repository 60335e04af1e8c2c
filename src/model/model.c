/*
 * model.c - the Sequential model: add layers, compile, fit, evaluate,
 * predict.
 *
 * compile builds the graph once: input -> layers -> output, a target input,
 * the loss (fused with a final softmax / sigmoid where Keras' TensorFlow
 * backend works from logits too) plus regularisers, then plans every buffer.
 * A training step (step.c) is then: copy a batch in, forward to the total
 * loss, backward, metrics, one optimiser call over the flat parameter buffer.
 */
#include "model/model.h"
#include "io/json.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <cblas.h>
#include <string.h>

dc_model *dc_model_new_as(const char *where, int ndim, const int *input_shape)
{
    char buf[96];
    if (ndim < 1 || ndim >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_SHAPE, "%s: input has %d dimensions, expected 1 to %d", where, ndim,
                            DC_MAX_DIMS - 1);
    if (dc_shape_size(ndim, input_shape) == 0)
        return dc_fail_null(DC_ERR_SHAPE, "%s: input shape %s has a non-positive dimension", where,
                            dc_shape_str(ndim, input_shape, buf, sizeof buf));
    dc_model *m = dc_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->in_ndim = m->input_ndim[0] = ndim;
    memcpy(m->in_shape, input_shape, (size_t)ndim * sizeof(int));
    memcpy(m->input_shape[0], input_shape, (size_t)ndim * sizeof(int));
    m->n_inputs = 1;
    dc_replica_single(m);
    dc_model_set_seed(m, 0);
    return m;
}

dc_model *dc_sequential_new(int ndim, const int *input_shape)
{
    DC_CHECK_NULL_OR(input_shape, NULL);
    return dc_model_new_as("sequential", ndim, input_shape);
}

void dc_model_free(dc_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_layers; i++)
        dc_layer_free(m->layers[i]);
    for (int i = 0; i < m->n_kept; i++)
        dc_layer_free(m->kept[i]);
    free(m->layers);
    free(m->kept);
    free(m->class_count);
    free(m->calls);
    dc_graph_free(m->g);
    dc_optimizer_free(m->opt);
    free(m->step_buf);
    free(m);
}

void dc_model_set_seed(dc_model *m, uint64_t seed)
{
    DC_CHECK_NULL_VOID(m);
    m->seed = seed;
    dc_rng_seed(&m->rng, seed);
}

void dc_model_set_threads(dc_model *m, int threads)
{
    DC_CHECK_NULL_VOID(m);
    m->threads = threads < 0 ? 0 : threads;
}

int dc_default_threads(void) { return omp_get_num_procs(); }

const char *dc_blas_core(void) { return openblas_get_corename(); }

/* Tells the optimiser where each trainable weight starts in the flat buffer
 * (clipnorm clips each weight on its own, as Keras).  dc_graph_compile lays
 * the trainable weights out in node order, so the starts come out
 * increasing. */
static dc_status set_optimizer_variables(dc_model *m)
{
    const dc_graph *g = m->g;
    size_t *starts = dc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *starts);
    if (!starts)
        return DC_ERR_NOMEM;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->is_param && g->nodes[i]->trainable && dc_node_numel(g->nodes[i]) > 0)
            starts[n++] = g->nodes[i]->param_offset;
    dc_status st = n ? dc_optimizer_set_variables(m->opt, n, starts) : DC_OK;
    free(starts);
    return st;
}

/* Steps of `batch` that cover n samples: ceil(n / batch) without the
 * n + batch - 1 that overflows near INT_MAX. */
static int steps_of(int n, int batch) { return n > 0 ? (n - 1) / batch + 1 : 0; }

/* Applies the model's thread count to OpenMP and OpenBLAS (one pool),
 * capped at the processors the machine has: OpenBLAS sizes a buffer per
 * thread it is told of, so set_threads(100000) must not make it allocate
 * (or, under a memory limit, hang in its allocator) for threads that
 * cannot run. */
static void apply_threads(const dc_model *m)
{
    int t = m->threads > 0 && m->threads < dc_default_threads() ? m->threads : dc_default_threads();
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
    /* OpenBLAS called inside deepc's parallel regions must not open teams of
     * its own: nested teams oversubscribe the cores (16x slower seen here). */
    omp_set_max_active_levels(1);
}

/* A failed add (its message set) marks a Sequential model: the first
 * failure's status and message are what every later add, build, compile,
 * fit ... returns, so a program may check only the last call, and a model
 * that lost a layer to an error never trains without it.  Returns st. */
static dc_status add_failed(dc_model *m, dc_status st)
{
    if (!m->functional && m->broken_status == DC_OK) {
        snprintf(m->broken, sizeof m->broken, "%s", dc_errmsg());
        m->broken_status = st;
    }
    return st;
}

/* The first failed add's error, again (DC_OK when none failed). */
static dc_status add_error(const dc_model *m)
{
    return m->broken_status == DC_OK ? DC_OK : dc_fail(m->broken_status, "%s", m->broken);
}

/* Before fit, evaluate, predict and the *_on_batch calls. */
static dc_status check_compiled(const dc_model *m, const char *where)
{
    dc_status st = add_error(m);
    if (st == DC_OK && !m->compiled)
        st = dc_fail(DC_ERR_STATE, "%s: the model is not compiled; call dc_model_compile first", where);
    return st;
}

dc_status dc_model_add(dc_model *m, dc_layer *layer)
{
    if (!m) { /* the layer is ours, as on every failure (unless it is in a model) */
        if (layer && !layer->name[0])
            dc_layer_free(layer);
        return dc_fail(DC_ERR_ARG, "%s: m is NULL", __func__);
    }
    if (layer && layer->name[0]) /* in a model already: not ours to free */
        return add_failed(m, dc_fail(DC_ERR_ARG, "add: layer %s is already in a model", layer->name));
    if (m->broken_status != DC_OK) {
        dc_model_keep_layer(m, layer);
        return add_error(m);
    }
    if (layer && layer->owner) /* kept by a model after a failed call */
        return add_failed(m, dc_fail(DC_ERR_ARG, "add: the layer was given to a model before, in a call that failed"));
    if (!layer) { /* its constructor failed: pass its message and status on */
        if (dc_last_status() == DC_OK)
            dc_fail(DC_ERR_ARG, "layer is NULL");
        dc_err_prefix("add");
        return add_failed(m, dc_last_status());
    }
    if (m->functional || !layer->cls->build) {
        const char *type = layer->cls->type;
        dc_model_keep_layer(m, layer);
        if (m->functional)
            return dc_fail(DC_ERR_STATE, "add: a functional model takes its layers by dc_model_apply / dc_model_merge");
        return add_failed(m, dc_fail(DC_ERR_ARG, "add: %s is a merge layer, joining several outputs: make the model "
                                                 "with dc_functional_new and join them with dc_model_merge", type));
    }
    int prev = m->n_calls; /* the layer before, or the input */
    dc_status st = dc_model_append(m, "add", layer, 1, &prev);
    return st == DC_OK ? DC_OK : add_failed(m, st);
}

int dc_model_has_layer(const dc_model *m, const dc_layer *layer)
{
    return layer && layer->owner == m && layer->n_calls > 0;
}

/* Grows *arr (of *cap items of `size` bytes) to hold n + 1. */
static int grow(void **arr, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 1;
    int c = *cap ? 2 * *cap : 8;
    void *p = realloc(*arr, (size_t)c * size);
    if (!p)
        return 0;
    *arr = p;
    *cap = c;
    return 1;
}

dc_status dc_model_keep_layer(dc_model *m, dc_layer *layer)
{
    if (!layer || layer->owner == m)
        return DC_OK;
    if (layer->owner || layer->name[0]) /* another model's: not ours to keep or free */
        return DC_OK;
    if (!grow((void **)&m->kept, &m->cap_kept, m->n_kept, sizeof *m->kept)) {
        dc_layer_free(layer); /* nowhere to keep it: the one case a later call with it is unsafe */
        return DC_ERR_NOMEM;
    }
    layer->owner = m;
    m->kept[m->n_kept++] = layer;
    return DC_OK;
}

/* How many layers of class `cls` the model has had (Keras' name counter),
 * counting this one: O(classes), not O(layers). */
static int count_class(dc_model *m, const dc_layer_class *cls)
{
    int i = 0;
    while (i < m->n_classes && m->class_count[i].cls != cls)
        i++;
    if (i == m->n_classes) {
        if (!grow((void **)&m->class_count, &m->cap_classes, m->n_classes, sizeof *m->class_count))
            return -1;
        m->class_count[m->n_classes++] = (dc_class_count){cls, 0};
    }
    return m->class_count[i].n++;
}

dc_status dc_model_append(dc_model *m, const char *where, dc_layer *layer, int n_in, const int *in_refs)
{
    int shared = dc_model_has_layer(m, layer);
    if (m->built || !grow((void **)&m->calls, &m->cap_calls, m->n_calls, sizeof *m->calls) ||
        (!shared && !grow((void **)&m->layers, &m->cap_layers, m->n_layers, sizeof *m->layers))) {
        if (!shared)
            dc_model_keep_layer(m, layer);
        if (m->built)
            return dc_fail(DC_ERR_STATE, "%s: the model is already built; add layers before compile or summary", where);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    }
    int same = shared ? 0 : count_class(m, layer->cls);
    if (same < 0) {
        dc_model_keep_layer(m, layer);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    }
    dc_call *c = &m->calls[m->n_calls++];
    memset(c, 0, sizeof *c);
    c->layer = layer;
    c->n_in = n_in;
    memcpy(c->in_refs, in_refs, (size_t)n_in * sizeof *in_refs);
    c->node = layer->owner == m ? layer->n_calls : 0;
    if (shared) {
        layer->n_calls++;
        return DC_OK;
    }
    if (layer->owner == m) /* kept from a failed call: it joins the layers now */
        for (int i = 0; i < m->n_kept; i++)
            if (m->kept[i] == layer)
                m->kept[i] = m->kept[--m->n_kept];
    layer->owner = m;
    layer->n_calls = 1;
    layer->first_call = m->n_calls - 1;
    /* Keras naming: dense, dense_1, dense_2 ... per type. */
    if (same)
        snprintf(layer->name, sizeof layer->name, "%s_%d", layer->cls->snake, same);
    else
        snprintf(layer->name, sizeof layer->name, "%s", layer->cls->snake);
    m->layers[m->n_layers++] = layer;
    return DC_OK;
}

/* The output of reference r (below n_inputs: an input). */
static dc_node *ref_out(const dc_model *m, int r)
{
    return r < m->n_inputs ? m->inputs[r] : m->calls[r - m->n_inputs].made.out;
}

/* The inputs: one node x takes, split into the model's inputs when several. */
static dc_status build_inputs(dc_model *m)
{
    m->input = dc_input(m->g, 1, m->in_ndim, m->in_shape, "input");
    if (!m->input)
        return dc_last_status();
    m->inputs[0] = m->input;
    for (int k = 0, off = 0; m->n_inputs > 1 && k < m->n_inputs; k++) {
        int len = (int)dc_shape_size(m->input_ndim[k], m->input_shape[k]);
        dc_node *part = dc_columns(m->g, m->input, off, len);
        if (!part || !(m->inputs[k] = dc_reshape(m->g, part, m->input_ndim[k], m->input_shape[k])))
            return dc_last_status();
        off += len;
    }
    return DC_OK;
}

/* The mask that comes with reference r (an input has none). */
static dc_node *ref_mask(const dc_model *m, int r)
{
    return r < m->n_inputs ? NULL : m->calls[r - m->n_inputs].made.mask;
}

/* The mask a call gets: its input's.  A merge's, as Keras' Merge.compute_mask:
 * none when an input has none, else a step is kept when any input keeps it
 * (the masks are token ids, nonnegative, so their maximum is their OR); a
 * merge whose masks differ in shape (Concatenate on the steps) gets none. */
static dc_node *call_mask(dc_model *m, const dc_call *c)
{
    dc_node *mask = ref_mask(m, c->in_refs[0]);
    for (int k = 1; k < c->n_in && mask; k++) {
        dc_node *other = ref_mask(m, c->in_refs[k]);
        if (!other || other->ndim != mask->ndim || memcmp(other->shape, mask->shape, sizeof mask->shape) != 0)
            return NULL;
        if (other != mask)
            mask = dc_maximum(m->g, mask, other);
    }
    return mask;
}

/* The weights the first call of c's layer made, in the order it made them
 * (listed in its record or not: Normalization's fixed statistics are not),
 * into a new array; *n their number. */
static dc_node **first_call_params(const dc_model *m, const dc_call *c, int *n)
{
    const dc_call *first = m->calls;
    while (first->layer != c->layer)
        first++;
    dc_node **p = dc_malloc((size_t)(first->nodes_to - first->nodes_from + 1) * sizeof *p);
    *n = 0;
    for (int i = first->nodes_from; p && i < first->nodes_to; i++)
        if (m->g->nodes[i]->is_param)
            p[(*n)++] = m->g->nodes[i];
    return p;
}

/* Builds call c into its record: a layer's first call makes its weights, a
 * later one (shared layer) takes the first call's (dc_layer_call.shared);
 * the layer itself is left as it was. */
static dc_status build_call(dc_model *m, dc_call *c)
{
    const dc_layer *l = c->layer;
    dc_layer_call *made = &c->made;
    dc_node *xs[DC_MERGE_MAX], **shared = NULL;
    for (int k = 0; k < c->n_in; k++)
        xs[k] = ref_out(m, c->in_refs[k]);
    memset(made, 0, sizeof *made);
    made->out_act = DC_ACT_LINEAR;
    made->frozen = l->frozen;
    made->mask = call_mask(m, c);
    for (int k = 0; k < c->n_in; k++) /* each input's own mask, for layers of several inputs (attention) */
        made->in_masks[k] = ref_mask(m, c->in_refs[k]);
    if (c->node) {
        if (!(shared = first_call_params(m, c, &made->n_shared)))
            return DC_ERR_NOMEM;
        made->shared = shared;
    }
    c->nodes_from = m->g->n_nodes;
    dc_status st = l->cls->build ? l->cls->build(l, m->g, xs[0], made)
                                 : l->cls->build_merge(l, m->g, c->n_in, xs, made);
    c->nodes_to = m->g->n_nodes;
    if (st == DC_OK && c->node && made->next_shared != made->n_shared)
        st = dc_fail(DC_ERR_SHAPE, "called again, it used %d of the %d weights of its first call", made->next_shared,
                     made->n_shared);
    made->shared = NULL;
    made->n_shared = made->next_shared = 0;
    free(shared);
    if (st == DC_OK) {
        /* the mask (batch, steps) follows while the output keeps that time axis */
        if (made->mask && !(made->out->ndim >= 3 && made->out->shape[1] == made->mask->shape[1]))
            made->mask = NULL;
        if (!c->node)
            c->layer->built = made;
        return DC_OK;
    }
    size_t len = strlen(l->name); /* "up: ..." already names layer "up"; "upsample2d_1: ..." does not */
    if (strncmp(dc_errmsg(), l->name, len) != 0 || dc_errmsg()[len] != ':')
        dc_err_prefix(l->name);
    for (int i = 0; i < m->n_layers; i++) /* no layer points into a failed build */
        m->layers[i]->built = NULL;
    return st;
}

dc_status dc_model_build(dc_model *m)
{
    if (m->broken_status != DC_OK)
        return add_error(m);
    if (m->built)
        return DC_OK;
    dc_status checked = dc_functional_check(m); /* before the count: a failed apply explains a missing layer */
    if (checked != DC_OK)
        return checked;
    if (m->n_layers == 0)
        return dc_fail(DC_ERR_STATE, "model: no layers; add at least one layer");
    dc_model_unbuild(m); /* what a failed build left behind */
    m->g = dc_graph_new();
    if (!m->g)
        return DC_ERR_NOMEM;
    m->g->opts.no_fuse = m->no_fuse; /* the graph's compile fuses BatchNormalization -> ReLU */
    m->g->opts.share_params = m->share_params; /* a slice of another model (explain.c) */
    dc_status st = build_inputs(m);
    for (int j = 0; j < m->n_calls && st == DC_OK; j++)
        st = build_call(m, &m->calls[j]);
    if (st == DC_OK) {
        m->output = m->calls[m->n_calls - 1].made.out;
        m->output_mask = m->calls[m->n_calls - 1].made.mask;
        m->built = 1;
    }
    return st;
}

/* The mask of a per-step output (batch, steps, features), or NULL: what the
 * loss and the metrics leave the padded steps out by. */
dc_node *dc_model_step_mask(const dc_model *m) { return m->output->ndim == 3 ? m->output_mask : NULL; }

/* dc_model_compile_ex's work; on failure it may leave a half-made graph. */
static dc_status compile_model(dc_model *m, const dc_compile_config *cfg)
{
    dc_status st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    const dc_layer_call *last = &m->calls[m->n_calls - 1].made;
    dc_loss_kind k = cfg->loss;
    if ((unsigned)k >= DC_LOSS_COUNT)
        return dc_fail(DC_ERR_ARG, "compile: unknown loss %d", (int)k);
    m->loss_args = (dc_loss_args){cfg->label_smoothing, cfg->huber_delta};
    if ((st = dc_loss_args_check(k, &m->loss_args)) != DC_OK) {
        dc_err_prefix("compile: loss");
        return st;
    }
    dc_node *pred = m->output;
    /* Fuse a final softmax / sigmoid into the loss (stable, and what
     * Keras' TensorFlow backend computes too). */
    if (last->logits && last->out_act == DC_ACT_SOFTMAX && (k == DC_LOSS_SPARSE_CE || k == DC_LOSS_CATEGORICAL_CE)) {
        pred = last->logits;
        k = k == DC_LOSS_SPARSE_CE ? DC_LOSS_SPARSE_CE_LOGITS : DC_LOSS_CATEGORICAL_CE_LOGITS;
    } else if (last->logits && last->out_act == DC_ACT_SIGMOID && k == DC_LOSS_BINARY_CE) {
        pred = last->logits;
        k = DC_LOSS_BINARY_CE_LOGITS;
    }
    /* (classes,) per sample, or (steps, classes): one prediction per step (a tagger) */
    if ((k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS || k == DC_LOSS_CATEGORICAL_CE ||
         k == DC_LOSS_CATEGORICAL_CE_LOGITS) &&
        m->output->ndim > 3) {
        char so[96];
        int s[DC_MAX_DIMS];
        int nd = dc_node_shape(m->output, s);
        return dc_fail(DC_ERR_SHAPE,
                       "compile: the last layer %s outputs %s per sample, but %s expects (classes,) or (steps, "
                       "classes); add a Flatten (or a global pooling layer) before the Dense layers",
                       m->calls[m->n_calls - 1].layer->name, dc_shape_str(nd - 1, s + 1, so, sizeof so),
                       dc_loss_name(cfg->loss));
    }
    m->loss_kind = cfg->loss;
    m->metric_src = pred;
    m->metric_on_logits = pred != m->output;
    int out_ndim = m->output->ndim - 1;
    const int *out_shape = m->output->shape + 1;
    if (k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS) {
        if (out_ndim > 1) /* (T, C) outputs take (T,) labels */
            m->target = dc_input(m->g, 1, out_ndim - 1, out_shape, "target");
        else
            m->target = dc_input(m->g, 1, 1, (int[]){1}, "target");
    } else {
        m->target = dc_input(m->g, 1, out_ndim, out_shape, "target");
    }
    if (!m->target)
        return dc_last_status();
    /* sample weights, one per row of the loss: per sample, or per step */
    if (pred->ndim > 2)
        m->weights = dc_input(m->g, 1, pred->ndim - 2, pred->shape + 1, "sample_weight");
    else
        m->weights = dc_input(m->g, 1, 1, (int[]){1}, "sample_weight");
    if (!m->weights)
        return dc_last_status();
    /* a per-step loss on a masked sequence leaves the padded steps out (Keras) */
    m->loss = dc_loss_ex(m->g, k, pred, m->target, dc_model_step_mask(m), m->weights, &m->loss_args);
    if (!m->loss) {
        dc_err_prefix("compile");
        return dc_last_status();
    }
    m->total = m->loss;
    for (int i = 0; i < m->n_layers; i++) { /* a layer's regulariser is its first call's */
        dc_node *reg = dc_model_first_call(m, m->layers[i])->reg;
        if (reg && !(m->total = dc_add(m->g, m->total, reg)))
            return dc_last_status();
    }
    if ((st = dc_model_compile_metrics(m, cfg, k)) != DC_OK)
        return st;
    if (cfg->max_batch < 0)
        return dc_fail(DC_ERR_ARG, "compile: max_batch %d; expected >= 0 (0: %d)", cfg->max_batch, DC_COMPILE_BATCH);
    st = dc_graph_compile(m->g, cfg->max_batch > 0 ? cfg->max_batch : DC_COMPILE_BATCH, &m->rng);
    if (st != DC_OK)
        return st;
    m->opt = dc_optimizer_new(&cfg->optimizer, dc_graph_trainable_count(m->g));
    if (!m->opt || (st = set_optimizer_variables(m)) != DC_OK) {
        dc_err_prefix("compile");
        return m->opt ? st : dc_last_status();
    }
    /* a training step's copy of the non-trainable parameters (step.c) */
    size_t n_fixed = m->g->n_params - m->g->n_trainable;
    float *buf = realloc(m->step_buf, (n_fixed ? n_fixed : 1) * sizeof(float));
    if (!buf)
        return dc_fail(DC_ERR_NOMEM, "compile: out of memory for the %zu non-trainable parameters", n_fixed);
    m->step_buf = buf;
    m->compiled = 1;
    return DC_OK;
}

dc_status dc_model_compile_ex(dc_model *m, const dc_compile_config *cfg)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(cfg);
    dc_status st = add_error(m);
    if (st != DC_OK)
        return st;
    if (m->compiled)
        return dc_fail(DC_ERR_STATE, "compile: the model is already compiled");
    dc_rng rng = m->rng;
    st = compile_model(m, cfg);
    if (st != DC_OK) { /* nothing half-made stays: a corrected compile starts as the first would have */
        dc_optimizer_free(m->opt);
        m->opt = NULL;
        m->n_metrics = 0;
        dc_model_unbuild(m);
        m->rng = rng;
    }
    return st;
}

/* The configuration compile's names ask for: the optimizer with its
 * defaults, the loss, the metrics. */
static dc_status named_config(const char *optimizer, const char *loss, const char *const *metrics, int n_metrics,
                              dc_compile_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    dc_status st = dc_optimizer_parse(optimizer, &cfg->optimizer);
    if (st == DC_OK)
        st = dc_loss_parse(loss, &cfg->loss);
    if (st != DC_OK) {
        dc_err_prefix("compile");
        return st;
    }
    if (n_metrics < 0 || n_metrics > DC_COMPILE_METRICS)
        return dc_fail(DC_ERR_ARG, "compile: %d metrics, expected 0 to %d", n_metrics, DC_COMPILE_METRICS);
    if (n_metrics > 0 && !metrics)
        return dc_fail(DC_ERR_ARG, "compile: %d metrics but the metrics array is NULL", n_metrics);
    for (int i = 0; i < n_metrics; i++)
        cfg->metrics[i] = metrics[i];
    return DC_OK;
}

dc_status dc_model_compile(dc_model *m, const char *optimizer, const char *loss, const char *const *metrics, int n_metrics)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(optimizer);
    DC_CHECK_NULL(loss);
    dc_compile_config cfg;
    dc_status st = add_error(m);
    if (st == DC_OK)
        st = named_config(optimizer, loss, metrics, n_metrics, &cfg);
    return st == DC_OK ? dc_model_compile_ex(m, &cfg) : st;
}

dc_status dc_model_compile_lr(dc_model *m, const char *optimizer, float learning_rate, const char *loss,
                              const char *const *metrics, int n_metrics)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(optimizer);
    DC_CHECK_NULL(loss);
    dc_compile_config cfg;
    dc_status st = add_error(m);
    if (st != DC_OK)
        return st;
    if (!(learning_rate > 0.0f) || isinf(learning_rate))
        return dc_fail(DC_ERR_ARG, "compile: learning_rate %g, expected a finite value > 0", (double)learning_rate);
    if ((st = named_config(optimizer, loss, metrics, n_metrics, &cfg)) != DC_OK)
        return st;
    cfg.optimizer.learning_rate = learning_rate;
    return dc_model_compile_ex(m, &cfg);
}

int dc_model_metric_count(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, -1);
    return 1 + m->n_metrics;
}
const char *dc_model_metric_name(const dc_model *m, int i)
{
    DC_CHECK_NULL_OR(m, NULL);
    return i >= 0 && i <= m->n_metrics ? m->names[i] : NULL;
}
dc_graph *dc_model_graph(dc_model *m)
{
    DC_CHECK_NULL_OR(m, NULL);
    return m->g;
}

/* ---- data checks ---- */

static dc_status check_x(const dc_model *m, const char *where, const dc_tensor *x)
{
    char sx[96], se[96];
    if (!x)
        return dc_fail(DC_ERR_ARG, "%s: x is NULL", where);
    int ok = x->ndim == m->in_ndim + 1 && memcmp(x->shape + 1, m->in_shape, (size_t)m->in_ndim * sizeof(int)) == 0;
    if (ok)
        return DC_OK;
    if (m->n_inputs > 1)
        return dc_fail(DC_ERR_SHAPE, "%s: x has shape %s; the model's %d inputs take x packed by dc_model_pack_inputs, "
                                     "(N, %d)", where, dc_shape_str(x->ndim, x->shape, sx, sizeof sx), m->n_inputs,
                       m->in_shape[0]);
    dc_layer *first = m->layers[0];
    if (first->cls->snake && strcmp(first->cls->snake, "dense") == 0 && m->in_ndim == 1 && x->ndim == 2)
        return dc_fail(DC_ERR_SHAPE, "%s: %s: input has %d features, layer expects %d (x has shape %s)", where,
                       first->name, x->shape[1], m->in_shape[0], dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    return dc_fail(DC_ERR_SHAPE, "%s: x has shape %s, the model expects %s", where,
                   dc_shape_str(x->ndim, x->shape, sx, sizeof sx),
                   dc_samples_shape_str(m->in_ndim, m->in_shape, se, sizeof se));
}

static dc_status check_xy(const dc_model *m, const char *where, const dc_tensor *x, const dc_tensor *y)
{
    dc_status st = check_x(m, where, x);
    if (st != DC_OK)
        return st;
    if (!y)
        return dc_fail(DC_ERR_ARG, "%s: y is NULL", where);
    if (y->shape[0] != x->shape[0])
        return dc_fail(DC_ERR_SHAPE, "%s: x has %d samples but y has %d; they must have the same length", where,
                       x->shape[0], y->shape[0]);
    return dc_check_targets(m, where, y);
}

/* Copies rows idx[0..b) (or start..start+b when idx is NULL) into node,
 * on every thread when there are megabytes of them (a batch of 1000 MNIST
 * images: 3 MB, which one core copies in about a third of the time the
 * tutorial MLP's inference takes). */
void dc_model_gather(dc_node *node, const dc_tensor *t, const int *idx, int start, int b)
{
    size_t per = t->size / (size_t)t->shape[0];
#pragma omp parallel for schedule(static) if (dc_worth_parallel((double)b * (double)per))
    for (int i = 0; i < b; i++) {
        size_t row = idx ? (size_t)idx[start + i] : (size_t)(start + i);
        memcpy(node->val + (size_t)i * per, t->data + row * per, per * sizeof(float));
    }
}

void dc_model_gather_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                           int start, int b)
{
    dc_model_gather(m->input, x, idx, start, b);
    dc_model_gather(m->target, y, idx, start, b);
    if (w) {
        dc_model_gather(m->weights, w, idx, start, b);
    } else {
        size_t n = (size_t)b * dc_node_sample_size(m->weights);
        for (size_t i = 0; i < n; i++)
            m->weights->val[i] = 1.0f;
    }
}

/* Accumulates the batch just run into every metric.  Accuracies read the
 * logits when the loss is fused; MAE / MSE and a binary accuracy with a
 * threshold other than 0.5 need the output itself. */
void dc_model_update_metrics(dc_model *m, const dc_run *run)
{
    const dc_node *mask = dc_model_step_mask(m);
    int have_output = 0;
    for (int i = 0; i < m->n_metrics; i++) {
        dc_node *src = m->metric_src;
        const dc_metric *mt = &m->metrics[i];
        if ((mt->kind >= DC_METRIC_MAE || mt->threshold != 0.5f) && m->metric_on_logits) {
            /* The fused loss read the logits; the output is one activation
             * op away.  Only that op runs: running the graph up to the
             * output again would draw dropout masks and update moving
             * statistics a second time (and, in fit, after the step). */
            if (!have_output) {
                m->output->op->forward(m->output, run);
                have_output = 1;
            }
            src = m->output;
        }
        dc_metric_update(&m->metrics[i], src->val, src != m->output, m->target->val, mask ? mask->val : NULL,
                         mt->weighted ? m->weights->val : NULL,
                         dc_node_rows(src), dc_node_cols(src));
    }
}

/* ---- evaluate ---- */

static dc_status run_eval(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, int start, int count,
                          int batch, dc_progress *prog, double *results)
{
    double loss_sum = 0;
    int steps = steps_of(count, batch);
    for (int i = 0; i < m->n_metrics; i++)
        dc_metric_reset(&m->metrics[i]);
    for (int s = 0; s < steps; s++) {
        int b = s == steps - 1 ? count - s * batch : batch;
        float loss;
        dc_status st = dc_model_eval_step(m, x, y, w, start + s * batch, b, &loss);
        if (st != DC_OK)
            return st;
        loss_sum += (double)loss * b;
        results[0] = loss_sum / ((double)s * batch + b);
        for (int i = 0; i < m->n_metrics; i++)
            results[1 + i] = dc_metric_value(&m->metrics[i]);
        if (prog)
            dc_progress_update(prog, s + 1, m->name_ptrs, results, 1 + m->n_metrics, s == steps - 1);
    }
    return DC_OK;
}

/* Data-parallel: every rank must pass the same number of samples and batch,
 * and sample weights on all ranks or none. */
static dc_status replica_agree_data(dc_model *m, const char *where, int n, int batch, int weighted)
{
    return dc_replica_agree(m, where, "the number of samples, the batch size and whether sample weights are given",
                            (double[]){n, batch, weighted}, 3);
}

dc_status dc_model_evaluate(dc_model *m, const dc_tensor *x, const dc_tensor *y, int batch_size, int verbose,
                            double *results, int n_results)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    DC_CHECK_NULL(results);
    return dc_model_evaluate_ex(m, x, y, NULL, batch_size, verbose, results, n_results);
}

dc_status dc_model_evaluate_ex(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                               int batch_size, int verbose, double *results, int n_results)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    DC_CHECK_NULL(results);
    dc_status st = check_compiled(m, "evaluate");
    if (st != DC_OK)
        return st;
    st = check_xy(m, "evaluate", x, y);
    if (st != DC_OK)
        return st;
    if (n_results < 1 + m->n_metrics)
        return dc_fail(DC_ERR_ARG, "evaluate: results holds %d values, the model reports %d (loss + metrics)", n_results,
                       1 + m->n_metrics);
    int batch = batch_size > 0 ? batch_size : 32;
    if (batch > x->shape[0])
        batch = x->shape[0];
    if ((st = dc_graph_reserve(m->g, batch)) != DC_OK)
        return st;
    dc_tensor *w;
    if ((st = dc_sample_weights(m, "evaluate", y, sample_weight, NULL, 0, &w)) != DC_OK)
        return st;
    if ((st = replica_agree_data(m, "evaluate", x->shape[0], batch, w != NULL)) == DC_OK) {
        if (!dc_replica_chief(m))
            verbose = 0;
        apply_threads(m);
        dc_progress prog;
        dc_progress_begin(&prog, stdout, verbose, steps_of(x->shape[0], batch));
        st = run_eval(m, x, y, w, 0, x->shape[0], batch, verbose ? &prog : NULL, results);
    }
    dc_tensor_free(w);
    return st;
}

/* predict, and predict_on_batch (batch_size 0: all rows at once); `where`
 * names the caller in messages. */
static dc_status predict_run(dc_model *m, const char *where, const dc_tensor *x, int batch_size, dc_tensor **out)
{
    *out = NULL;
    dc_status st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    if ((st = check_compiled(m, where)) != DC_OK || (st = check_x(m, where, x)) != DC_OK)
        return st;
    int n = x->shape[0], batch = batch_size;
    if (batch > n || batch == 0)
        batch = n;
    if ((st = dc_graph_reserve(m->g, batch)) != DC_OK)
        return st;
    if ((st = replica_agree_data(m, where, n, batch, 0)) != DC_OK)
        return st;
    int shape[DC_MAX_DIMS];
    int ndim = dc_node_shape(m->output, shape);
    shape[0] = n;
    dc_tensor *y = dc_tensor_new(ndim, shape);
    if (!y)
        return dc_last_status();
    apply_threads(m);
    dc_run run = {.training = 0, .rng = &m->rng};
    size_t per = y->size / (size_t)n;
    for (int s = 0; s < n; s = n - s > batch ? s + batch : n) { /* never past INT_MAX */
        /* data-parallel: this rank's slice of the batch; the rest stays 0 */
        int b = n - s < batch ? n - s : batch, off;
        dc_replica_slice(m, b, &off, &b);
        if (b == 0)
            continue;
        dc_graph_set_batch(m->g, b);
        dc_model_gather(m->input, x, NULL, s + off, b);
        if ((st = dc_graph_forward_run(m->g, m->output, &run)) != DC_OK) {
            dc_tensor_free(y);
            return st;
        }
        memcpy(y->data + (size_t)(s + off) * per, m->output->val, (size_t)b * per * sizeof(float));
    }
    if ((st = dc_replica_gather_output(m, y)) != DC_OK) {
        dc_tensor_free(y);
        return st;
    }
    *out = y;
    return DC_OK;
}

dc_status dc_model_predict(dc_model *m, const dc_tensor *x, int batch_size, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(out);
    return predict_run(m, "predict", x, batch_size > 0 ? batch_size : 32, out);
}

/* ---- fit ---- */

dc_fit_config dc_fit_defaults(void)
{
    dc_fit_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1;
    c.batch_size = 32;
    c.shuffle = 1;
    c.verbose = 1;
    return c;
}

static dc_status fit_epoch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, int n_train,
                           int batch, int *perm, int epoch, const dc_fit_config *cfg, dc_progress *prog,
                           double *values)
{
    int steps = steps_of(n_train, batch);
    double loss_sum = 0;
    dc_logs logs;
    for (int i = 0; i < m->n_metrics; i++)
        dc_metric_reset(&m->metrics[i]);
    for (int s = 0; s < steps && !m->stop_training; s++) {
        int b = s == steps - 1 ? n_train - s * batch : batch;
        dc_status st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_BEGIN, s, NULL);
        if (st != DC_OK)
            return st;
        float loss;
        if ((st = dc_model_train_step(m, x, y, w, perm, s * batch, b, &loss)) != DC_OK)
            return st;
        if (!isfinite(loss)) {
            /* No update from a non-finite loss; TerminateOnNaN may end training cleanly. */
            values[0] = loss;
            dc_logs_reset(&logs, 1 + m->n_metrics, m->name_ptrs, values);
            if ((st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_END, s, &logs)) != DC_OK)
                return st;
            if (m->stop_training)
                return DC_OK;
            return dc_fail(DC_ERR_NAN, "fit: loss is %s at epoch %d, batch %d; training stopped (try a lower "
                                       "learning rate, or check the data for NaN or infinite values)",
                           isnan(loss) ? "NaN" : "infinite", epoch, s + 1);
        }
        loss_sum += (double)loss * b;
        values[0] = loss_sum / ((double)s * batch + b);
        for (int i = 0; i < m->n_metrics; i++)
            values[1 + i] = dc_metric_value(&m->metrics[i]);
        if (prog && s != steps - 1)
            dc_progress_update(prog, s + 1, m->name_ptrs, values, 1 + m->n_metrics, 0);
        if (cfg->n_callbacks) {
            dc_logs_reset(&logs, 1 + m->n_metrics, m->name_ptrs, values);
            if ((st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_END, s, &logs)) != DC_OK)
                return st;
        }
    }
    return DC_OK;
}

/* fit's epoch logs: loss and metrics, then their val_ forms. */
_Static_assert(DC_FIT_KEYS <= DC_LOGS_MAX, "logs too small for the metrics");
_Static_assert(sizeof "val_" - 1 + sizeof((dc_model *)0)->names[0] <= DC_LOGS_KEY_LEN, "log key too short");

static dc_status fit_run(dc_model *m, const dc_tensor *x, const dc_tensor *y, dc_fit_config cfg, const dc_tensor *w,
                         const dc_tensor *w_val, dc_history **history);

dc_status dc_model_fit(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_fit_config *cfg_in,
                       dc_history **history)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    dc_fit_config cfg = cfg_in ? *cfg_in : dc_fit_defaults();
    if (history)
        *history = NULL;
    dc_status st = check_compiled(m, "fit");
    if (st == DC_OK)
        st = dc_model_refuse_quantized(m, "fit"); /* int8 quantization: inference only */
    if (st != DC_OK)
        return st;
    if (!m->total->requires_grad) /* Keras warns and trains nothing; deepc never prints */
        return dc_fail(DC_ERR_STATE, "fit: the model has no trainable weights (every layer with weights is frozen, "
                                     "or none has weights); unfreeze a layer before compile");
    st = check_xy(m, "fit", x, y);
    if (st != DC_OK)
        return st;
    if (cfg.epochs < 0 || cfg.batch_size < 0 || cfg.initial_epoch < 0)
        return dc_fail(DC_ERR_ARG, "fit: epochs %d, initial_epoch %d and batch_size %d must not be negative", cfg.epochs,
                       cfg.initial_epoch, cfg.batch_size);
    if (cfg.n_callbacks < 0 || (cfg.n_callbacks > 0 && !cfg.callbacks))
        return dc_fail(DC_ERR_ARG, "fit: %d callbacks but the callbacks array is NULL", cfg.n_callbacks);
    for (int i = 0; i < cfg.n_callbacks; i++)
        if (!cfg.callbacks[i])
            return dc_fail(DC_ERR_ARG, "fit: callbacks[%d] is NULL (did its constructor fail?)", i);
    if (!(cfg.validation_split >= 0.0f && cfg.validation_split < 1.0f))
        return dc_fail(DC_ERR_ARG, "fit: validation_split %g, expected 0 <= split < 1", (double)cfg.validation_split);
    if (cfg.x_val && (st = check_xy(m, "fit (validation_data)", cfg.x_val, cfg.y_val)) != DC_OK)
        return st;
    if (cfg.sample_weight_val && !cfg.x_val)
        return dc_fail(DC_ERR_ARG, "fit: sample_weight_val is given without validation data; set x_val and y_val too");
    dc_tensor *w = NULL, *w_val = NULL;
    st = dc_sample_weights(m, "fit", y, cfg.sample_weight, cfg.class_weight, cfg.n_class_weight, &w);
    if (st == DC_OK && cfg.x_val)
        st = dc_sample_weights(m, "fit (validation_data)", cfg.y_val, cfg.sample_weight_val, NULL, 0, &w_val);
    if (st == DC_OK)
        st = fit_run(m, x, y, cfg, w, w_val, history);
    dc_tensor_free(w);
    dc_tensor_free(w_val);
    return st;
}

/* The split as the decimal it was written as: 0.2f is 0.2000000030, and
 * floor(50 * (1 - 0.2000000030)) is 39, where Keras' Python double 0.2 gives
 * 40.  The shortest text that reads back as the float is that decimal. */
static double split_as_written(float split)
{
    char text[32];
    dc_fmt_float(text, sizeof text, split);
    return dc_strtod_c(text, NULL);
}

/* fit after its checks: w the training weights (NULL: none), w_val those of
 * validation_data.  A validation_split takes its part of sample_weight
 * (Keras splits (x, y, sample_weight)); class_weight weighs training only. */
static dc_status fit_run(dc_model *m, const dc_tensor *x, const dc_tensor *y, dc_fit_config cfg, const dc_tensor *w,
                         const dc_tensor *w_val, dc_history **history)
{
    dc_status st;
    FILE *out = cfg.out ? cfg.out : stdout;
    int n = x->shape[0], batch = cfg.batch_size ? cfg.batch_size : 32;
    /* Keras: the validation split is the last fraction, taken before shuffling. */
    int n_train = cfg.x_val ? n : (int)floor((double)n * (1.0 - split_as_written(cfg.validation_split)));
    const dc_tensor *xv = cfg.x_val, *yv = cfg.y_val, *wv = cfg.x_val ? w_val : (cfg.sample_weight ? w : NULL);
    int val_start = 0, n_val = 0;
    if (xv) {
        n_val = xv->shape[0];
    } else if (n_train < n) {
        xv = x;
        yv = y;
        val_start = n_train;
        n_val = n - n_train;
    }
    if (n_train < 1)
        return dc_fail(DC_ERR_ARG, "fit: no training samples left after validation_split %g of %d", (double)cfg.validation_split, n);
    if (batch > n_train)
        batch = n_train;
    int eval_batch = n_val && n_val < batch ? n_val : batch;
    if ((st = dc_graph_reserve(m->g, batch)) != DC_OK)
        return st;
    double same[] = {n, n_train, n_val, batch, cfg.epochs, cfg.initial_epoch, cfg.shuffle != 0, w != NULL, wv != NULL};
    st = dc_replica_agree(m, "fit",
                          "the number of samples, validation samples, batch size, epochs, shuffle and whether sample "
                          "weights are given",
                          same, (int)(sizeof same / sizeof same[0]));
    if (st == DC_OK)
        st = dc_replica_fit_begin(m);
    if (st != DC_OK)
        return st;
    if (!dc_replica_chief(m))
        cfg.verbose = 0;
    apply_threads(m);

    int n_keys = (1 + m->n_metrics) * (n_val ? 2 : 1);
    char keynames[DC_FIT_KEYS][DC_LOGS_KEY_LEN];
    const char *keys[DC_FIT_KEYS];
    for (int i = 0; i < n_keys; i++) {
        snprintf(keynames[i], sizeof keynames[i], "%s%s", i > m->n_metrics ? "val_" : "", m->names[i % (1 + m->n_metrics)]);
        keys[i] = keynames[i];
    }
    dc_history *h = dc_history_new(n_keys, keys);
    int *perm = dc_malloc((size_t)n_train * sizeof(int));
    if (!h || !perm) {
        dc_history_free(h);
        free(perm);
        return dc_last_status();
    }
    double values[DC_FIT_KEYS];
    dc_logs logs;
    m->stop_training = 0;
    st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_TRAIN_BEGIN, 0, NULL);
    /* counted from initial_epoch to epochs - 1, so epochs = INT_MAX ends (epoch, 1-based, is at most INT_MAX) */
    for (int done = cfg.initial_epoch; done < cfg.epochs && st == DC_OK && !m->stop_training; done++) {
        const int epoch = done + 1;
        /* A fresh permutation each epoch: the order depends only on the RNG
         * state, so a run resumed from a checkpoint shuffles the same way. */
        for (int i = 0; i < n_train; i++)
            perm[i] = i;
        if (cfg.shuffle)
            dc_rng_shuffle(&m->rng, perm, n_train);
        dc_progress prog;
        dc_progress_epoch(out, cfg.verbose, epoch, cfg.epochs);
        dc_progress_begin(&prog, out, cfg.verbose, steps_of(n_train, batch));
        st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_EPOCH_BEGIN, epoch - 1, NULL);
        if (st == DC_OK)
            st = fit_epoch(m, x, y, w, n_train, batch, perm, epoch, &cfg, cfg.verbose ? &prog : NULL, values);
        if (st == DC_OK && n_val)
            st = run_eval(m, xv, yv, wv, val_start, n_val, eval_batch, NULL, values + 1 + m->n_metrics);
        if (st == DC_OK) {
            dc_progress_update(&prog, prog.target, keys, values, n_keys, 1);
            m->epoch = epoch;
            /* The History records after the callbacks, with what they added (Keras). */
            dc_logs_reset(&logs, n_keys, keys, values);
            st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_EPOCH_END, epoch - 1, &logs);
        }
        if (st == DC_OK)
            st = dc_history_record(h, &logs);
    }
    if (st == DC_OK)
        st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_TRAIN_END, 0, h->epochs ? &logs : NULL);
    free(perm);
    if (st != DC_OK || !history)
        dc_history_free(h);
    else
        *history = h;
    return st;
}

/* ---- train_on_batch, test_on_batch, predict_on_batch ---- */

/* One batch of all of x's rows, metrics reset first (Keras 2, and Keras 3
 * since it fixed returning running means): a training step when `train`,
 * else a forward pass in inference mode. */
static dc_status on_batch(dc_model *m, const char *where, int train, const dc_tensor *x, const dc_tensor *y,
                          const dc_tensor *sample_weight, double *results, int n_results)
{
    dc_status st = check_compiled(m, where);
    if (st == DC_OK && train)
        st = dc_model_refuse_quantized(m, where); /* int8 quantization: inference only */
    if (st != DC_OK)
        return st;
    if (train && !m->total->requires_grad)
        return dc_fail(DC_ERR_STATE, "%s: the model has no trainable weights (every layer with weights is frozen, "
                                     "or none has weights); unfreeze a layer before compile", where);
    if (dc_replica_on(m))
        return dc_fail(DC_ERR_STATE, "%s: not available on a data-parallel model (a collective is set); use fit "
                                     "or evaluate, which split each batch across the ranks", where);
    st = check_xy(m, where, x, y);
    if (st != DC_OK)
        return st;
    if (!results || n_results < 1 + m->n_metrics)
        return dc_fail(DC_ERR_ARG, "%s: results holds %d values, the model reports %d (loss + metrics)", where,
                       results ? n_results : 0, 1 + m->n_metrics);
    int n = x->shape[0];
    if ((st = dc_graph_reserve(m->g, n)) != DC_OK)
        return st;
    dc_tensor *w;
    if ((st = dc_sample_weights(m, where, y, sample_weight, NULL, 0, &w)) != DC_OK)
        return st;
    apply_threads(m);
    for (int i = 0; i < m->n_metrics; i++)
        dc_metric_reset(&m->metrics[i]);
    float loss = 0;
    st = train ? dc_model_train_step(m, x, y, w, NULL, 0, n, &loss) : dc_model_eval_step(m, x, y, w, 0, n, &loss);
    dc_tensor_free(w);
    if (st == DC_OK && train && !isfinite(loss))
        return dc_fail(DC_ERR_NAN, "%s: loss is %s; no update was applied (try a lower learning rate, or check "
                                   "the batch for NaN or infinite values)", where, isnan(loss) ? "NaN" : "infinite");
    if (st != DC_OK)
        return st;
    results[0] = loss;
    for (int i = 0; i < m->n_metrics; i++)
        results[1 + i] = dc_metric_value(&m->metrics[i]);
    return DC_OK;
}

dc_status dc_model_train_on_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                                  double *results, int n_results)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    DC_CHECK_NULL(results);
    return on_batch(m, "train_on_batch", 1, x, y, sample_weight, results, n_results);
}

dc_status dc_model_test_on_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                                 double *results, int n_results)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    DC_CHECK_NULL(results);
    return on_batch(m, "test_on_batch", 0, x, y, sample_weight, results, n_results);
}

dc_status dc_model_predict_on_batch(dc_model *m, const dc_tensor *x, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(out);
    return predict_run(m, "predict_on_batch", x, 0, out);
}

/* ---- summary (Keras 2 layout) ---- */

/* Parameters of a layer: trainable ones (which == 1), the others (0), all (-1). */
static size_t layer_params(const dc_model *m, const dc_layer *l, int which)
{
    const dc_layer_call *c = dc_model_first_call(m, l);
    size_t n = 0;
    for (int i = 0; i < c->n_params; i++)
        if (which < 0 || c->params[i]->trainable == which)
            n += dc_node_numel(c->params[i]);
    return n;
}

size_t dc_model_param_count(dc_model *m)
{
    DC_CHECK_NULL_OR(m, 0);
    if (dc_model_build(m) != DC_OK)
        return 0;
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++)
        n += layer_params(m, m->layers[i], -1);
    return n;
}

/* 101770 -> "101,770" */
static const char *with_commas(size_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* A table's column ends: tf-keras' print_summary positions for a chain of
 * layers (line_length 65) and, with "Connected to", for a graph that
 * branches (98). */
typedef struct summary_table {
    int n;
    int end[4];
} summary_table;
static const summary_table seq_table = {3, {29, 55, 65}}, graph_table = {4, {29, 58, 68, 98}};

/* A row of the table as tf-keras prints it (print_row): each field cut to
 * its column (26, 23 and 10 characters in the chain table), sooner after a
 * "),", "},", "]," or "',", and what is left goes on the next lines
 * ("batch_normalization (Batch" then "Normalization)"). */
static void summary_row(FILE *out, const summary_table *t, const char *const *fields)
{
    const char *left[4];
    int any = 0;
    for (int c = 0; c < t->n; c++)
        any |= *(left[c] = fields[c]) != '\0';
    while (any) {
        char line[128];
        int len = 0;
        any = 0;
        for (int c = 0; c < t->n; c++) {
            int last = c == t->n - 1, start = c ? t->end[c - 1] : 0;
            size_t cut = (size_t)(t->end[c] - start - (last ? 0 : 3)), n = strnlen(left[c], cut);
            for (size_t i = 0; i + 1 < n; i++)
                if (strchr(")}]'", left[c][i]) && left[c][i + 1] == ',') {
                    n = i + 2;
                    break;
                }
            len += snprintf(line + len, sizeof line - (size_t)len, "%s%-*.*s", c ? "" : " ", t->end[c] - len - !c,
                            (int)n, left[c]);
            left[c] += n;
            any |= *left[c] != '\0';
        }
        fprintf(out, "%s\n", line);
    }
}

const char *dc_model_layer_shape(const dc_model *m, const dc_layer *l, char *buf, size_t size)
{
    const dc_node *first = dc_model_first_call(m, l)->out;
    dc_batch_shape_str(first->ndim, first->shape, buf, size);
    for (int j = 0; j < m->n_calls; j++) {
        const dc_node *out = m->calls[j].made.out;
        if (m->calls[j].layer == l && (out->ndim != first->ndim || memcmp(out->shape, first->shape, sizeof out->shape)))
            snprintf(buf, size, "multiple");
    }
    return buf;
}

/* "['conv2d[0][0]', 'input_layer[0][0]']": where a functional model's layer
 * takes its inputs from, every call's, as tf-keras lists them ("name[node
 * index][tensor index]"). */
static void connected_to(const dc_model *m, const dc_layer *l, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int j = 0; j < m->n_calls; j++) {
        const dc_call *c = &m->calls[j];
        for (int k = 0; c->layer == l && k < c->n_in && len < size; k++) {
            char name[80];
            len += (size_t)snprintf(buf + len, size - len, "%s'%s[%d][0]'", len > 1 ? ", " : "",
                                    dc_model_ref_name(m, c->in_refs[k], name, sizeof name),
                                    dc_model_ref_node(m, c->in_refs[k]));
        }
    }
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

dc_status dc_model_summary(dc_model *m, FILE *out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(out);
    dc_status st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    const summary_table *t = m->functional && dc_functional_branches(m) ? &graph_table : &seq_table;
    int width = t->end[t->n - 1];
    char rule[100], dbl[100], field[96], shape[96], num[32], conn[512];
    memset(rule, '_', (size_t)width);
    memset(dbl, '=', (size_t)width);
    rule[width] = dbl[width] = '\0';
    fprintf(out, "Model: \"%s\"\n%s\n", m->functional ? "functional" : "sequential", rule);
    summary_row(out, t, (const char *[]){"Layer (type)", "Output Shape", "Param #", "Connected to"});
    fprintf(out, "%s\n", dbl);
    for (int k = 0; m->functional && k < m->n_inputs; k++) { /* Keras lists a functional model's InputLayers */
        char in_shape[96], name[80];
        dc_node *x = m->inputs[k];
        snprintf(shape, sizeof shape, "[%s]", dc_batch_shape_str(x->ndim, x->shape, in_shape, sizeof in_shape));
        snprintf(field, sizeof field, "%s (InputLayer)", dc_model_ref_name(m, k, name, sizeof name));
        summary_row(out, t, (const char *[]){field, shape, "0", "[]"});
    }
    size_t total = 0, trainable = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const dc_layer *l = m->layers[i];
        dc_model_layer_shape(m, l, shape, sizeof shape);
        snprintf(field, sizeof field, "%s (%s)", l->name, l->cls->type);
        size_t p = layer_params(m, l, -1);
        total += p;
        trainable += layer_params(m, l, 1);
        snprintf(num, sizeof num, "%zu", p);
        connected_to(m, l, conn, sizeof conn);
        summary_row(out, t, (const char *[]){field, shape, num, conn});
    }
    fprintf(out, "%s\n", dbl);
    fprintf(out, "Total params: %s\n", with_commas(total, num, sizeof num));
    fprintf(out, "Trainable params: %s\n", with_commas(trainable, num, sizeof num));
    fprintf(out, "Non-trainable params: %s\n%s\n", with_commas(total - trainable, num, sizeof num), rule);
    return DC_OK;
}
