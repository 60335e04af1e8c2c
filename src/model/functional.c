/*
 * functional.c - Keras' functional API on the one model type: layers that
 * take the output of any earlier layer, merge layers that take several,
 * several inputs, and layers called more than once (shared weights).
 *
 * The graph is the model's list of calls (model.h's dc_call, Keras' nodes);
 * outputs are named by references: 0 .. n_inputs - 1 the inputs, then
 * n_inputs + j the output of calls[j].  A call can only take references
 * that exist when it is made, so the list is always in topological order
 * and the build in model.c runs it front to back, for a Sequential model
 * too (each of its layers is called once, on the one before).  The output
 * is the last call's; every input and every other call must feed a later
 * one.
 *
 * A failed input, apply or merge returns -1 and marks the model broken: a
 * program may chain calls and check once, and a layer lost to an error can
 * never leave a model that compiles without it.  The layer is the model's
 * from the call on, also when it fails (dc_model_keep_layer): it stays
 * alive until the model is freed, so a shared layer passed again after a
 * failure meets a broken model (-1), never freed memory.
 */
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

dc_model *dc_functional_new(int ndim, const int *input_shape)
{
    DC_CHECK_NULL_OR(input_shape, NULL);
    dc_model *m = dc_model_new_as("functional", ndim, input_shape);
    if (m)
        m->functional = 1;
    return m;
}

/* Records the first failure (the message is already set) and returns -1. */
static int broken(dc_model *m)
{
    if (!m->broken[0])
        snprintf(m->broken, sizeof m->broken, "%s", dc_errmsg());
    return -1;
}

static int connect(dc_model *m, const char *where, dc_layer *layer, int n, const int *refs)
{
    if (!m) {
        dc_layer_free(layer);
        dc_fail(DC_ERR_ARG, "%s: model is NULL", where);
        return -1;
    }
    if (!layer) { /* the constructor failed: keep its message, say where it surfaced */
        if (dc_last_status() == DC_OK)
            dc_fail(DC_ERR_ARG, "layer is NULL");
        dc_err_prefix(where);
        return broken(m);
    }
    if (layer->owner != m && (layer->owner || layer->name[0])) { /* another model's: not ours to keep */
        dc_fail(DC_ERR_ARG, "%s: layer %s is already in another model", where, layer->name);
        return broken(m);
    }
    if (layer->owner == m && layer->n_calls == 0) { /* kept after a failed call: the model is broken */
        dc_fail(DC_ERR_ARG, "%s: %s: the layer was given to this model in a call that failed (%s)", where,
                layer->cls->type, m->broken);
        return broken(m);
    }
    const char *type = layer->cls->type;
    int shared = dc_model_has_layer(m, layer); /* a second call: Keras' shared layer */
    int is_merge = layer->cls->build == NULL;
    const char *why = NULL;
    char msg[160];
    if (!m->functional)
        why = "a Sequential model takes its layers by dc_model_add; make the model with dc_functional_new";
    else if (m->built)
        why = "the model is already built; apply layers before compile or summary";
    else if (is_merge && !strcmp(where, "apply"))
        why = "it is a merge layer: join several outputs with dc_model_merge";
    else if (!is_merge && strcmp(where, "apply"))
        why = "it takes one input: use dc_model_apply";
    else if (!refs)
        why = "inputs is NULL";
    else if (is_merge && (n < 2 || n > DC_MERGE_MAX)) {
        snprintf(msg, sizeof msg, "it takes 2 to %d inputs, not %d", DC_MERGE_MAX, n);
        why = msg;
    }
    for (int k = 0; !why && k < n; k++) {
        if (refs[k] < 0) {
            snprintf(msg, sizeof msg, "input %d is %d, the result of a call that failed", k, refs[k]);
            why = msg;
        } else if (refs[k] >= m->n_inputs + m->n_calls) {
            snprintf(msg, sizeof msg, "input %d is %d, but the model has references 0 to %d (%d input%s, then its "
                     "layers)", k, refs[k], m->n_inputs + m->n_calls - 1, m->n_inputs, m->n_inputs > 1 ? "s" : "");
            why = msg;
        }
    }
    if (why) {
        dc_model_keep_layer(m, layer);
        dc_fail(DC_ERR_ARG, "%s: %s: %s", where, shared ? layer->name : type, why);
        return broken(m);
    }
    if (dc_model_append(m, where, layer, n, refs) != DC_OK)
        return broken(m);
    return m->n_inputs + m->n_calls - 1;
}

int dc_model_apply(dc_model *m, dc_layer *layer, int input) { return connect(m, "apply", layer, 1, &input); }

int dc_model_merge(dc_model *m, dc_layer *layer, int n, const int *inputs)
{
    return connect(m, "merge", layer, n, inputs);
}

const dc_layer_call *dc_model_first_call(const dc_model *m, const dc_layer *l)
{
    return &m->calls[l->first_call].made; /* every layer of m has a call */
}

dc_status dc_functional_check(const dc_model *m)
{
    if (!m->functional)
        return DC_OK;
    if (m->broken[0])
        return dc_fail(DC_ERR_STATE, "model: an earlier dc_model_input / apply / merge failed (%s); make the model "
                                     "again", m->broken);
    int n_refs = m->n_inputs + m->n_calls;
    unsigned char *used = dc_calloc((size_t)n_refs, 1); /* one pass over the calls: linear in the model's size */
    if (!used)
        return DC_ERR_NOMEM;
    for (int j = 0; j < m->n_calls; j++)
        for (int k = 0; k < m->calls[j].n_in; k++)
            used[m->calls[j].in_refs[k]] = 1;
    dc_status st = DC_OK;
    /* a slice (dc_model_slice) keeps every input of its model, as Keras' Model(m.inputs, ...) */
    for (int r = m->share_params ? m->n_inputs : 0; r + 1 < n_refs && m->n_calls && st == DC_OK; r++) {
        char name[80];
        if (!used[r])
            st = dc_fail(DC_ERR_STATE, "model: the output of %s goes to no layer; the model's output is the last "
                                       "layer applied (%s) and every input and other layer must feed a later one",
                         dc_model_ref_name(m, r, name, sizeof name), m->calls[m->n_calls - 1].layer->name);
    }
    free(used);
    return st;
}

const char *dc_model_ref_name(const dc_model *m, int r, char *buf, size_t size)
{
    if (r >= m->n_inputs)
        snprintf(buf, size, "%s", m->calls[r - m->n_inputs].layer->name);
    else if (r)
        snprintf(buf, size, "input_layer_%d", r); /* Keras' names for the inputs after the first */
    else
        snprintf(buf, size, "input_layer");
    return buf;
}

int dc_model_ref_node(const dc_model *m, int r) { return r >= m->n_inputs ? m->calls[r - m->n_inputs].node : 0; }

int dc_model_input(dc_model *m, int ndim, const int *shape)
{
    char buf[96];
    if (!m) {
        dc_fail(DC_ERR_ARG, "input: model is NULL");
        return -1;
    }
    const char *why = NULL;
    if (!m->functional)
        why = "a Sequential model has one input; make the model with dc_functional_new";
    else if (m->n_calls || m->built)
        why = "add the inputs before the first layer";
    else if (m->n_inputs == DC_MODEL_MAX_INPUTS)
        why = "the model has the most inputs it can take";
    else if (!shape)
        why = "shape is NULL";
    else if (ndim < 1 || ndim >= DC_MAX_DIMS)
        why = "the shape needs 1 to 7 dimensions";
    else if (dc_shape_size(ndim, shape) == 0)
        why = "the shape has a non-positive dimension";
    if (why) {
        dc_fail(DC_ERR_ARG, "input %d: %s", m->n_inputs, why);
        return broken(m);
    }
    int k = m->n_inputs++, total = 0;
    m->input_ndim[k] = ndim;
    memcpy(m->input_shape[k], shape, (size_t)ndim * sizeof(int));
    for (int i = 0; i < m->n_inputs; i++) {
        size_t n = dc_shape_size(m->input_ndim[i], m->input_shape[i]);
        if (n > (size_t)INT32_MAX - (size_t)total) {
            m->n_inputs--;
            dc_fail(DC_ERR_ARG, "input %d: shape %s: the inputs hold more than %d values per sample", k,
                    dc_shape_str(ndim, shape, buf, sizeof buf), INT32_MAX);
            return broken(m);
        }
        total += (int)n;
    }
    m->in_ndim = 1; /* x is the packed inputs (dc_model_pack_inputs) */
    m->in_shape[0] = total;
    return k;
}

int dc_model_input_count(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, 0);
    return m->n_inputs;
}

dc_tensor *dc_model_pack_inputs(const dc_model *m, int n, const dc_tensor *const *xs)
{
    char sx[96], se[96];
    if (!m || !xs)
        return dc_fail_null(DC_ERR_ARG, "pack_inputs: %s is NULL", m ? "xs" : "model");
    if (n != m->n_inputs)
        return dc_fail_null(DC_ERR_ARG, "pack_inputs: %d tensors for a model with %d inputs", n, m->n_inputs);
    for (int k = 0; k < n; k++) {
        const dc_tensor *x = xs[k];
        if (!x)
            return dc_fail_null(DC_ERR_ARG, "pack_inputs: xs[%d] is NULL", k);
        if (x->ndim != m->input_ndim[k] + 1 ||
            memcmp(x->shape + 1, m->input_shape[k], (size_t)m->input_ndim[k] * sizeof(int)) != 0)
            return dc_fail_null(DC_ERR_SHAPE, "pack_inputs: xs[%d] has shape %s, input %d expects %s", k,
                                dc_shape_str(x->ndim, x->shape, sx, sizeof sx), k,
                                dc_samples_shape_str(m->input_ndim[k], m->input_shape[k], se, sizeof se));
        if (x->shape[0] != xs[0]->shape[0])
            return dc_fail_null(DC_ERR_SHAPE, "pack_inputs: xs[%d] has %d samples, xs[0] has %d", k, x->shape[0],
                                xs[0]->shape[0]);
    }
    int rows = xs[0]->shape[0], cols = m->in_shape[0];
    if (n == 1) /* one input: x as it is */
        cols = (int)(xs[0]->size / (size_t)(rows ? rows : 1));
    dc_tensor *out = n == 1 ? dc_tensor_new(xs[0]->ndim, xs[0]->shape) : dc_tensor_new(2, (int[]){rows, cols});
    if (!out)
        return NULL;
    size_t at = 0;
    for (int k = 0; k < n; k++) {
        size_t per = xs[k]->size / (size_t)(rows ? rows : 1);
        for (int r = 0; r < rows; r++)
            memcpy(out->data + (size_t)r * (size_t)cols + at, xs[k]->data + (size_t)r * per, per * sizeof(float));
        at += per;
    }
    return out;
}

int dc_model_is_functional(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, 0);
    return m->functional;
}

/* Whether the graph is not a chain (several inputs, a merge layer, a shared
 * layer): tf-keras prints a chain with the Sequential table. */
int dc_functional_branches(const dc_model *m)
{
    if (m->n_inputs > 1 || m->n_calls > m->n_layers)
        return 1;
    for (int j = 0; j < m->n_calls; j++)
        if (m->calls[j].n_in > 1)
            return 1;
    return 0;
}
