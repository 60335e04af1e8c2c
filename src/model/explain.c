/*
 * explain.c - why a model decides: gradients of one chosen scalar per sample
 * with respect to the model's inputs or to an inner layer's output, in
 * inference mode, and the passes the attribution methods (explain_methods.c)
 * run on them.
 *
 * The scalar f of a sample (dc_explain_target, deepc.h) is a weighted sum of
 * its outputs, sum_j w_j y_j: one unit (a class, or the predicted one) or a
 * user callback's weights, or its loss against given targets.  A pass:
 *   1. gather b rows into the input (each batch row names the sample it
 *      stands for: interpolations, noisy or occluded copies of one sample);
 *   2. forward in inference mode to the output (or the loss), an inner
 *      node's value optionally replaced by given values on the way (the
 *      path of integrated gradients in a layer's output space);
 *   3. backward from the output seeded with w (a vector-Jacobian product:
 *      dc_graph_backward_from), or from the loss, reading the input's
 *      gradient and, when asked, an inner node's as its consumers left it.
 * Because every sample's scalar depends on that sample alone (no batch
 * statistics in inference), one backward over a batch gives each row its own
 * gradient.  The loss is the batch's mean, so its gradients are scaled by b:
 * each row's own loss's gradient.
 *
 * The input's gradient is asked of the graph (dc_graph_input_grad) when a
 * session starts and given back when it ends, so training afterwards does
 * the work it did before.
 */
#include "model/explain_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* The call whose output is node n (the last one that made it), or NULL. */
static const dc_layer_call *call_of(const dc_model *m, const dc_node *n)
{
    for (int i = m->n_calls - 1; i >= 0; i--)
        if (m->calls[i].made.out == n)
            return &m->calls[i].made;
    return NULL;
}

dc_explain_target dc_explain_class(int index)
{
    dc_explain_target t;
    memset(&t, 0, sizeof t);
    t.kind = index < 0 ? DC_EXPLAIN_PREDICTED : DC_EXPLAIN_CLASS;
    t.index = index < 0 ? 0 : index;
    return t;
}

static dc_status check_x(const dc_model *m, const char *where, const dc_tensor *x)
{
    char sx[96], se[96];
    if (x->ndim == m->in_ndim + 1 && memcmp(x->shape + 1, m->in_shape, (size_t)m->in_ndim * sizeof(int)) == 0 &&
        x->shape[0] > 0)
        return DC_OK;
    return dc_fail(DC_ERR_SHAPE, "%s: x has shape %s, the model expects (N >= 1) %s", where,
                   dc_shape_str(x->ndim, x->shape, sx, sizeof sx),
                   dc_samples_shape_str(m->in_ndim, m->in_shape, se, sizeof se));
}

dc_node *dc_xp_layer_node(dc_model *m, const char *where, const char *layer, const dc_layer **out)
{
    int li = dc_model_layer_index(m, layer);
    if (li < 0) {
        dc_fail(DC_ERR_ARG, "%s: the model has no layer called \"%.64s\"", where, layer);
        return NULL;
    }
    const dc_layer *l = m->layers[li];
    if (out)
        *out = l;
    return dc_model_first_call(m, l)->out;
}

/* Rows of the output per sample and units of its last axis. */
static void out_dims(const dc_node *out, int *rps, int *cols)
{
    *cols = dc_node_cols(out);
    size_t per = dc_node_sample_size(out);
    *rps = (int)(per / (size_t)*cols);
}

/* Forward to target, the value of `sub` (when not NULL) replaced by vals. */
static dc_status forward_sub(dc_graph *g, dc_node *target, dc_node *sub, const float *vals, const dc_run *run)
{
    if (!sub)
        return dc_graph_forward_run(g, target, run);
    unsigned mark = dc_graph_mark_ancestors(g, target);
    for (int i = 0; i <= target->id; i++) {
        dc_node *n = g->nodes[i];
        if (n->mark != mark)
            continue;
        if (n == sub) { /* nodes after it read the given values; an alias writes its source's buffer */
            memcpy(n->val, vals, dc_node_numel(n) * sizeof(float));
            continue;
        }
        if (n->op->forward) {
            dc_status st = n->op->forward(n, run);
            if (st != DC_OK)
                return st;
        }
    }
    return DC_OK;
}

/* The weights w of the current batch's b rows (their samples in s->idx). */
static dc_status fill_seed(dc_xp *s, int b)
{
    size_t rows = (size_t)b * (size_t)s->rps;
    const float *y = s->out->val;
    switch (s->t->kind) {
    case DC_EXPLAIN_WEIGHTS:
        return s->t->weigh(y, (int)rows, s->cols, s->seed, s->t->user);
    default:
        memset(s->seed, 0, rows * (size_t)s->cols * sizeof(float));
        for (size_t r = 0; r < rows; r++) {
            int c = s->cls ? s->cls[(size_t)s->idx[r / (size_t)s->rps] * (size_t)s->rps + r % (size_t)s->rps]
                           : s->t->index;
            s->seed[r * (size_t)s->cols + (size_t)c] = 1.0f;
        }
        return DC_OK;
    }
}

dc_status dc_xp_pass(dc_xp *s, int b, dc_node *sub, const float *sub_vals, dc_node *capture, float *capture_out,
                     int backward, float *scores)
{
    dc_model *m = s->m;
    dc_graph *g = m->g;
    dc_run run = {.training = 0, .rng = &m->rng};
    dc_graph_set_batch(g, b);
    int loss = s->t->kind == DC_EXPLAIN_LOSS;
    if (loss) {
        dc_model_gather(m->target, s->t->y, s->idx, 0, b);
        size_t nw = (size_t)b * dc_node_sample_size(m->weights);
        for (size_t i = 0; i < nw; i++)
            m->weights->val[i] = 1.0f;
    }
    dc_node *top = loss ? m->total : s->out;
    dc_status st = forward_sub(g, top, sub, sub_vals, &run);
    if (st != DC_OK)
        return st;
    if (loss && scores) /* the batch's mean loss: the caller runs one row */
        scores[0] = m->total->val[0];
    if (!loss && (st = fill_seed(s, b)) != DC_OK)
        return st;
    if (!loss && scores) {
        size_t per = (size_t)s->rps * (size_t)s->cols;
        for (int r = 0; r < b; r++) {
            double acc = 0;
            for (size_t j = 0; j < per; j++)
                acc += (double)s->seed[(size_t)r * per + j] * s->out->val[(size_t)r * per + j];
            scores[r] = (float)acc;
        }
    }
    if (!backward)
        return DC_OK;
    st = dc_graph_backward_from(g, top, loss ? NULL : s->seed, &run, capture, capture_out);
    if (st != DC_OK || !loss)
        return st;
    float k = (float)b; /* the mean loss's gradient times b: each row's own loss's */
    size_t n_in = dc_node_numel(m->input);
    for (size_t i = 0; i < n_in; i++)
        m->input->grad[i] *= k;
    if (capture)
        for (size_t i = 0, n = dc_node_numel(capture); i < n; i++)
            capture_out[i] *= k;
    return DC_OK;
}

void dc_xp_gather(dc_xp *s, const dc_tensor *x, int b)
{
    dc_model_gather(s->m->input, x, s->idx, 0, b);
}

dc_status dc_xp_begin(dc_xp *s, dc_model *m, const char *where, const dc_tensor *x, const dc_explain_target *t,
                      int batch)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->t = t;
    s->where = where;
    dc_status st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    if (!m->compiled)
        return dc_fail(DC_ERR_STATE, "%s: the model is not compiled; call dc_model_compile first", where);
    if ((st = check_x(m, where, x)) != DC_OK)
        return st;
    if ((unsigned)t->kind > DC_EXPLAIN_WEIGHTS)
        return dc_fail(DC_ERR_ARG, "%s: target kind %d, expected a dc_explain_kind", where, (int)t->kind);
    s->out = m->output;
    if (t->logits) {
        const dc_layer_call *c = call_of(m, m->output);
        if (!c || !c->logits)
            return dc_fail(DC_ERR_ARG, "%s: logits asked for, but the last layer ends in no softmax or sigmoid", where);
        s->out = c->logits;
    }
    out_dims(s->out, &s->rps, &s->cols);
    int n = x->shape[0];
    if (t->kind == DC_EXPLAIN_CLASS && (t->index < 0 || t->index >= s->cols))
        return dc_fail(DC_ERR_ARG, "%s: class index %d is out of range: the output has %d units (0 .. %d)", where,
                       t->index, s->cols, s->cols - 1);
    if (t->kind == DC_EXPLAIN_WEIGHTS && !t->weigh)
        return dc_fail(DC_ERR_ARG, "%s: the target weighs the outputs but its weigh function is NULL", where);
    if (t->kind == DC_EXPLAIN_LOSS) {
        if (!t->y)
            return dc_fail(DC_ERR_ARG, "%s: the loss target needs y (targets), which is NULL", where);
        if (t->y->shape[0] != n)
            return dc_fail(DC_ERR_SHAPE, "%s: x has %d samples but y has %d", where, n, t->y->shape[0]);
        if ((st = dc_check_targets(m, where, t->y)) != DC_OK)
            return st;
    }
    if (t->batch_size < 0)
        return dc_fail(DC_ERR_ARG, "%s: batch_size is %d, expected >= 0", where, t->batch_size);
    s->batch = batch > 0 ? batch : 32;
    if ((st = dc_graph_input_grad(m->g, m->input, 1)) != DC_OK)
        return st;
    s->grad_on = 1;
    if ((st = dc_graph_reserve(m->g, s->batch)) != DC_OK) /* refuses a batch too large first */
        return st;
    s->idx = dc_malloc(sizeof(int) * (size_t)s->batch);
    s->seed = dc_malloc(sizeof(float) * (size_t)s->batch * (size_t)s->rps * (size_t)s->cols);
    if (!s->idx || !s->seed)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory for a batch of %d", where, s->batch);
    /* the model's threads, one pool for OpenMP and OpenBLAS, as predict sets them */
    int t_threads = m->threads > 0 && m->threads < dc_default_threads() ? m->threads : dc_default_threads();
    omp_set_num_threads(t_threads);
    openblas_set_num_threads(t_threads);
    omp_set_max_active_levels(1);
    if (t->kind != DC_EXPLAIN_PREDICTED)
        return DC_OK;
    /* the predicted unit of every row, from x itself (an explanation's paths
     * keep the class the model gave the sample) */
    s->cls = dc_malloc(sizeof(int) * (size_t)n * (size_t)s->rps);
    if (!s->cls)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory for %d samples' classes", where, n);
    dc_run run = {.training = 0, .rng = &m->rng};
    for (int start = 0; start < n; start += s->batch) {
        int b = n - start < s->batch ? n - start : s->batch;
        dc_graph_set_batch(m->g, b);
        dc_model_gather(m->input, x, NULL, start, b);
        if ((st = dc_graph_forward_run(m->g, s->out, &run)) != DC_OK)
            return st;
        for (int r = 0; r < b * s->rps; r++)
            s->cls[(size_t)start * (size_t)s->rps + (size_t)r] = dc_argmax(s->out->val + (size_t)r * (size_t)s->cols,
                                                                          s->cols);
    }
    return DC_OK;
}

void dc_xp_end(dc_xp *s)
{
    if (s->grad_on)
        dc_graph_input_grad(s->m->g, s->m->input, 0);
    free(s->idx);
    free(s->seed);
    free(s->cls);
    memset(s, 0, sizeof *s);
}

dc_tensor *dc_xp_tensor(const char *where, int n, int ndim, const int *shape)
{
    int full[DC_MAX_DIMS];
    if (ndim + 1 > DC_MAX_DIMS) {
        dc_fail(DC_ERR_SHAPE, "%s: %d axes and a batch axis are too many", where, ndim);
        return NULL;
    }
    full[0] = n;
    memcpy(full + 1, shape, (size_t)ndim * sizeof(int));
    return dc_tensor_new(ndim + 1, full);
}

/* The node's shape without its batch axis. */
int dc_xp_sample_shape(const dc_node *n, int *shape)
{
    int lead = n->batched ? 1 : 0;
    memcpy(shape, n->shape + lead, (size_t)(n->ndim - lead) * sizeof(int));
    return n->ndim - lead;
}

/* ---- the public entry points ---- */

/* Runs x through passes of `batch` rows in order, copying the input's
 * gradient (grad, like x) and/or the node `at`'s value (vals) and gradient
 * (at_grad), each (N, at's shape). */
static dc_status run_plain(dc_xp *s, const dc_tensor *x, dc_node *at, float *vals, float *at_grad, float *grad,
                           int backward)
{
    int n = x->shape[0];
    size_t per_x = x->size / (size_t)n;
    float *cap = NULL;
    size_t per_at = at ? dc_node_sample_size(at) : 0;
    if (at && at_grad && backward) {
        cap = dc_malloc(sizeof(float) * per_at * (size_t)s->batch);
        if (!cap)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory", s->where);
    }
    dc_status st = DC_OK;
    for (int start = 0; start < n && st == DC_OK; start += s->batch) {
        int b = n - start < s->batch ? n - start : s->batch;
        for (int r = 0; r < b; r++)
            s->idx[r] = start + r;
        dc_xp_gather(s, x, b);
        st = dc_xp_pass(s, b, NULL, NULL, cap ? at : NULL, cap, backward, NULL);
        if (st != DC_OK)
            break;
        if (grad)
            memcpy(grad + (size_t)start * per_x, s->m->input->grad, (size_t)b * per_x * sizeof(float));
        if (vals)
            memcpy(vals + (size_t)start * per_at, at->val, (size_t)b * per_at * sizeof(float));
        if (cap)
            memcpy(at_grad + (size_t)start * per_at, cap, (size_t)b * per_at * sizeof(float));
    }
    free(cap);
    return st;
}

dc_status dc_model_input_gradient(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **grad)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(grad);
    return dc_xp_input_gradient(m, "input_gradient", x, t, grad);
}

dc_status dc_xp_input_gradient(dc_model *m, const char *where, const dc_tensor *x, const dc_explain_target *t,
                               dc_tensor **grad)
{
    *grad = NULL;
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, where, x, t, t->batch_size);
    dc_tensor *g = st == DC_OK ? dc_tensor_new(x->ndim, x->shape) : NULL;
    if (st == DC_OK && !g)
        st = dc_last_status();
    if (st == DC_OK)
        st = run_plain(&s, x, NULL, NULL, NULL, g->data, 1);
    dc_xp_end(&s);
    if (st != DC_OK) {
        dc_tensor_free(g);
        return st;
    }
    *grad = g;
    return DC_OK;
}

dc_status dc_xp_layer_run(dc_model *m, const char *where, const dc_tensor *x, const char *layer,
                          const dc_explain_target *t, int backward, dc_tensor **out, dc_tensor **grad)
{
    dc_explain_target plain = dc_explain_class(0);
    if (!t) { /* only values: any target does, none is used */
        plain.batch_size = 0;
        t = &plain;
    }
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, where, x, t, t->batch_size);
    dc_node *at = st == DC_OK ? dc_xp_layer_node(m, where, layer, NULL) : NULL;
    if (st == DC_OK && !at)
        st = dc_last_status();
    dc_tensor *o = NULL, *g = NULL;
    if (st == DC_OK) {
        int shape[DC_MAX_DIMS], nd = dc_xp_sample_shape(at, shape);
        if (out && !(o = dc_xp_tensor(where, x->shape[0], nd, shape)))
            st = dc_last_status();
        if (st == DC_OK && grad && !(g = dc_xp_tensor(where, x->shape[0], nd, shape)))
            st = dc_last_status();
    }
    if (st == DC_OK)
        st = run_plain(&s, x, at, o ? o->data : NULL, g ? g->data : NULL, NULL, backward);
    dc_xp_end(&s);
    if (st != DC_OK) {
        dc_tensor_free(o);
        dc_tensor_free(g);
        return st;
    }
    if (out)
        *out = o;
    if (grad)
        *grad = g;
    return DC_OK;
}

dc_status dc_model_layer_output(dc_model *m, const dc_tensor *x, const char *layer, int batch_size, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(layer);
    DC_CHECK_NULL(out);
    *out = NULL;
    dc_explain_target t = dc_explain_class(0);
    t.batch_size = batch_size;
    return dc_xp_layer_run(m, "layer_output", x, layer, &t, 0, out, NULL);
}

dc_status dc_model_layer_gradient(dc_model *m, const dc_tensor *x, const char *layer, const dc_explain_target *t,
                                  dc_tensor **out, dc_tensor **grad)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(layer);
    DC_CHECK_NULL(t);
    if (!out && !grad)
        return dc_fail(DC_ERR_ARG, "layer_gradient: out and grad are both NULL; nothing to return");
    if (out)
        *out = NULL;
    if (grad)
        *grad = NULL;
    dc_tensor *o = NULL;
    dc_status st = dc_xp_layer_run(m, "layer_gradient", x, layer, t, 1, &o, grad);
    if (out)
        *out = o;
    else
        dc_tensor_free(o);
    return st;
}

/* ---- a slice of the model that shares its weights ---- */

/* A functional model cut down to the calls that call t's output depends
 * on, t last (its output is the model's): the others and the layers they
 * alone called are freed, the references renumbered; a layer whose first
 * call went keeps its weights' names, so its first call left makes them.
 * The inputs all stay (Keras' Model(m.inputs, ...)); one the output does
 * not depend on is allowed in a slice (dc_functional_check). */
static dc_status prune_calls(dc_model *s, int t)
{
    int n_in = s->n_inputs, n = 0, n_layers = 0;
    int *ref = dc_malloc((size_t)(n_in + t + 1) * sizeof *ref); /* old reference -> new, -1: dropped */
    if (!ref)
        return DC_ERR_NOMEM;
    for (int r = 0; r < n_in + t + 1; r++)
        ref[r] = r < n_in ? r : -1;
    ref[n_in + t] = 0; /* kept: marked, numbered below */
    for (int j = t; j >= 0; j--) /* the list is topological: every call's inputs come before it */
        for (int k = 0; ref[n_in + j] >= 0 && k < s->calls[j].n_in; k++)
            if (s->calls[j].in_refs[k] >= n_in)
                ref[s->calls[j].in_refs[k]] = 0;
    for (int i = 0; i < s->n_layers; i++)
        s->layers[i]->n_calls = 0;
    for (int j = 0; j <= t; j++) {
        if (ref[n_in + j] < 0)
            continue;
        dc_call c = s->calls[j];
        for (int k = 0; k < c.n_in; k++)
            c.in_refs[k] = ref[c.in_refs[k]];
        c.node = c.layer->n_calls++;
        if (!c.node)
            c.layer->first_call = n;
        ref[n_in + j] = n_in + n;
        s->calls[n++] = c;
    }
    for (int i = 0; i < s->n_layers; i++)
        if (!s->layers[i]->n_calls)
            dc_layer_free(s->layers[i]);
    for (int j = 0; j < n; j++) /* the layers still called, in order of their first call */
        if (!s->calls[j].node)
            s->layers[n_layers++] = s->calls[j].layer;
    s->n_layers = n_layers;
    s->n_calls = n;
    free(ref);
    return DC_OK;
}

dc_status dc_model_slice(dc_model *m, const char *layer, dc_model **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(layer);
    DC_CHECK_NULL(out);
    *out = NULL;
    const char *where = "slice";
    if (!m->compiled)
        return dc_fail(DC_ERR_STATE, "%s: the model is not compiled; its weights are made by dc_model_compile", where);
    const dc_layer *l = NULL;
    if (!dc_xp_layer_node(m, where, layer, &l))
        return dc_last_status();
    int li = dc_model_layer_index(m, layer);
    /* the same layers, by their configs (names included, so the weights match by name) */
    char *json = NULL;
    dc_model *s = NULL;
    dc_status st = dc_model_to_json(m, &json);
    if (st == DC_OK)
        st = dc_model_from_json(json, strlen(json), &s);
    free(json);
    if (st != DC_OK)
        return st;
    if (s->n_layers != m->n_layers || s->n_calls != m->n_calls || s->functional != m->functional || s->built) {
        dc_model_free(s);
        return dc_fail(DC_ERR_STATE, "%s: the model's configuration did not give back its %d layers", where,
                       m->n_layers);
    }
    if (s->functional)
        st = prune_calls(s, s->layers[dc_model_layer_index(s, layer)]->first_call);
    else {
        for (int i = li + 1; i < s->n_layers; i++)
            dc_layer_free(s->layers[i]);
        s->n_layers = s->n_calls = li + 1;
    }
    if (st != DC_OK) {
        dc_model_free(s);
        return st;
    }
    s->share_params = m->g;
    s->threads = m->threads;
    s->no_fuse = m->no_fuse;
    *out = s;
    return DC_OK;
}
