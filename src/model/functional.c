/*
 * functional.c - Keras' functional API on the one model type: layers that
 * take the output of any earlier layer, and merge layers that take several.
 *
 * A layer's inputs are references (layer.h): 0 is the model's input, i + 1
 * the output of layers[i].  A layer can only take references that exist when
 * it is applied, so the layer list is always in topological order and the
 * build in model.c runs it front to back, for a Sequential model too (each
 * of its layers takes the one before).  The output is the last layer
 * applied; every other layer must feed a later one.
 *
 * A failed apply or merge returns -1 and marks the model broken: a program
 * may chain calls and check once, and a layer lost to an error can never
 * leave a model that compiles without it.
 */
#include "model/model.h"

#include <stdio.h>
#include <string.h>

dc_model *dc_functional_new(int ndim, const int *input_shape)
{
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
    if (!layer) {
        dc_fail(DC_ERR_ARG, "%s: layer is NULL (did its constructor fail? %s)", where, dc_errmsg());
        return broken(m);
    }
    const char *type = layer->cls->type;
    if (layer->name[0]) { /* owned by a model: not ours to free */
        dc_fail(DC_ERR_ARG, "%s: layer %s is already in a model; sharing a layer between two calls is not supported",
                where, layer->name);
        return broken(m);
    }
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
        } else if (refs[k] > m->n_layers) {
            snprintf(msg, sizeof msg, "input %d is %d, but the model has references 0 (its input) to %d", k, refs[k],
                     m->n_layers);
            why = msg;
        }
    }
    if (why) {
        dc_layer_free(layer);
        dc_fail(DC_ERR_ARG, "%s: %s: %s", where, type, why);
        return broken(m);
    }
    if (dc_model_append(m, where, layer, n, refs) != DC_OK)
        return broken(m);
    return m->n_layers;
}

int dc_model_apply(dc_model *m, dc_layer *layer, int input) { return connect(m, "apply", layer, 1, &input); }

int dc_model_merge(dc_model *m, dc_layer *layer, int n, const int *inputs)
{
    return connect(m, "merge", layer, n, inputs);
}

dc_status dc_functional_check(const dc_model *m)
{
    if (!m->functional)
        return DC_OK;
    if (m->broken[0])
        return dc_fail(DC_ERR_STATE, "model: an earlier dc_model_apply / dc_model_merge failed (%s); make the model "
                                     "again", m->broken);
    for (int i = 0; i + 1 < m->n_layers; i++) {
        int used = 0;
        for (int j = i + 1; j < m->n_layers && !used; j++)
            for (int k = 0; k < m->layers[j]->n_in_refs; k++)
                used |= m->layers[j]->in_refs[k] == i + 1;
        if (!used)
            return dc_fail(DC_ERR_STATE, "model: the output of %s goes to no layer; the model's output is the last "
                                         "layer applied (%s) and every other layer must feed a later one",
                           m->layers[i]->name, m->layers[m->n_layers - 1]->name);
    }
    return DC_OK;
}

int dc_model_is_functional(const dc_model *m) { return m && m->functional; }

/* Whether the graph is a chain (no merge layer): tf-keras then prints the
 * Sequential table. */
int dc_functional_has_merge(const dc_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i]->n_in_refs > 1)
            return 1;
    return 0;
}
