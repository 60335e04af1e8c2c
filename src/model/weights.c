/*
 * weights.c - freezing layers (Keras' layer.trainable = False) and reading
 * or writing a layer's weights by hand (get_weights / set_weights).
 *
 * A frozen layer is built with its weights non-trainable (layer.h's
 * dc_layer_call.frozen): compile lays them out after the trainable ones, so the
 * optimiser, its slots and the saved optimiser state never cover them; a
 * node that depends only on frozen weights and the input needs no gradient,
 * so backward skips their gradients, yet a trainable layer before a frozen
 * one still gets its gradient through it.  The flag is read when the graph
 * is built, so it may change until compile: a model built for summary is
 * rebuilt (dc_model_unbuild); after compile it is an error (deepc compiles a
 * model once).
 */
#include "model/model.h"

#include <string.h>

void dc_model_unbuild(dc_model *m)
{
    dc_graph_free(m->g);
    m->g = NULL;
    m->input = m->output = m->target = m->loss = m->total = m->output_mask = m->weights = m->metric_src = NULL;
    m->built = 0;
    for (int i = 0; i < m->n_layers; i++)
        m->layers[i]->built = NULL;
    for (int j = 0; j < m->n_calls; j++)
        memset(&m->calls[j].made, 0, sizeof m->calls[j].made);
}

dc_status dc_layer_set_trainable(dc_layer *l, int trainable)
{
    if (!l)
        return dc_fail(DC_ERR_ARG, "set_trainable: the layer is NULL");
    if (l->built)
        return dc_fail(DC_ERR_STATE, "set_trainable: %s is already built into a model; use dc_model_set_trainable "
                                     "(before dc_model_compile)",
                       l->name[0] ? l->name : l->cls->type);
    l->frozen = !trainable;
    return DC_OK;
}

/* *out = layer `layer` of m, or an error naming `what` and the range. */
static dc_status layer_at(const dc_model *m, const char *what, int layer, dc_layer **out)
{
    if (!m)
        return dc_fail(DC_ERR_ARG, "%s: the model is NULL", what);
    if (layer < 0 || layer >= m->n_layers)
        return dc_fail(DC_ERR_RANGE, "%s: layer %d, the model has %d (0 to %d)", what, layer, m->n_layers,
                       m->n_layers - 1);
    *out = m->layers[layer];
    return DC_OK;
}

dc_status dc_model_set_trainable(dc_model *m, int layer, int trainable)
{
    dc_layer *l = NULL;
    dc_status st = layer_at(m, "set_trainable", layer, &l);
    if (st != DC_OK)
        return st;
    if (m->compiled)
        return dc_fail(DC_ERR_STATE, "set_trainable: %s: the model is already compiled and deepc compiles a model "
                                     "once; set trainable before dc_model_compile (to fine-tune a trained model, "
                                     "build a new one, freeze its layers, compile it and copy the weights with "
                                     "dc_model_load_weights or dc_model_set_weight)",
                       l->name);
    if (l->frozen != !trainable && m->built)
        dc_model_unbuild(m); /* built for summary: build again with the new flag */
    l->frozen = !trainable;
    return DC_OK;
}

int dc_model_layer_trainable(const dc_model *m, int layer)
{
    DC_CHECK_NULL_OR(m, -1);
    return m && layer >= 0 && layer < m->n_layers ? !m->layers[layer]->frozen : -1;
}

/* ---- weights ---- */

int dc_model_layer_count(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, 0);
    return m->n_layers;
}

int dc_model_layer_index(const dc_model *m, const char *name)
{
    if (!m || !name) {
        dc_fail(DC_ERR_ARG, "get_layer: %s is NULL", m ? "name" : "model");
        return -1;
    }
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i]->name, name) == 0)
            return i;
    dc_fail(DC_ERR_ARG, "get_layer: no layer is called \"%.64s\" (the model has %d layers%s%s%s)", name,
            m->n_layers, m->n_layers ? ": " : "", m->n_layers ? m->layers[0]->name : "", m->n_layers > 1 ? " ..." : "");
    return -1;
}

const char *dc_model_layer_name(const dc_model *m, int layer)
{
    DC_CHECK_NULL_OR(m, NULL);
    return m && layer >= 0 && layer < m->n_layers ? m->layers[layer]->name : NULL;
}

/* Weight `index` of layer `layer` of a compiled model, checked; `what`
 * names the caller in the messages. */
static dc_status weight_at(dc_model *m, const char *what, int layer, int index, dc_node **out)
{
    dc_layer *l = NULL;
    dc_status st = layer_at(m, what, layer, &l);
    if (st == DC_OK)
        st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    const dc_layer_call *made = dc_model_first_call(m, l);
    if (index < 0 || index >= made->n_params)
        return dc_fail(DC_ERR_RANGE, "%s: %s has %d weight(s), asked for index %d", what, l->name, made->n_params,
                       index);
    if (!m->g->compiled)
        return dc_fail(DC_ERR_STATE, "%s: the model is not compiled, so its weights have no values yet; call "
                                     "dc_model_compile first",
                       what);
    *out = made->params[index];
    return DC_OK;
}

dc_status dc_model_get_weight(dc_model *m, int layer, int index, dc_tensor **out)
{
    if (!out)
        return dc_fail(DC_ERR_ARG, "get_weight: out is NULL");
    *out = NULL;
    dc_node *p = NULL;
    dc_status st = weight_at(m, "get_weight", layer, index, &p);
    if (st == DC_OK)
        st = dc_model_refuse_packed(m, p, "get_weight"); /* int8 quantization */
    if (st != DC_OK)
        return st;
    *out = dc_tensor_from(p->ndim, p->shape, p->val);
    return *out ? DC_OK : dc_last_status();
}

dc_status dc_model_set_weight(dc_model *m, int layer, int index, const float *data, size_t n)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(data);
    dc_node *p = NULL;
    dc_status st = dc_model_refuse_quantized(m, "set_weight"); /* int8 quantization */
    if (st == DC_OK)
        st = weight_at(m, "set_weight", layer, index, &p);
    if (st != DC_OK)
        return st;
    char shape[96];
    size_t want = dc_node_numel(p);
    if (!data || n != want)
        return dc_fail(DC_ERR_SHAPE, "set_weight: layer %d weight %d (%s) has shape %s, %zu values; given %s%zu", layer,
                       index, p->name, dc_shape_str(p->ndim, p->shape, shape, sizeof shape), want,
                       data ? "" : "NULL data of ", n);
    memcpy(p->val, data, want * sizeof(float));
    return DC_OK;
}
