/*
 * attention_scores.c - Keras' return_attention_scores for a model: the
 * attention probabilities a MultiHeadAttention, Attention or
 * AdditiveAttention layer computes for x.
 *
 * A deepc call has one output, so the probabilities are not a second output
 * of the layer: its build records the node (dc_layer_call.scores) and this
 * runs the inference graph up to that node, batch by batch, as predict runs
 * it up to the output.  The probabilities are taken before dropout (which
 * is off outside training anyway), as Keras returns them at inference.
 */
#include "model/model.h"

#include <string.h>

dc_status dc_model_attention_scores(dc_model *m, int layer, const dc_tensor *x, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(out);
    char sx[96], se[96];
    *out = NULL;
    if (!m->compiled)
        return dc_fail(DC_ERR_STATE, "attention_scores: the model is not compiled; call dc_model_compile first");
    if (layer < 0 || layer >= m->n_layers)
        return dc_fail(DC_ERR_ARG, "attention_scores: layer %d; the model has layers 0 to %d", layer, m->n_layers - 1);
    const dc_layer *l = m->layers[layer];
    dc_node *p = dc_model_first_call(m, l)->scores;
    if (!p)
        return dc_fail(DC_ERR_ARG, "attention_scores: layer %d (%s, %s) computes no attention scores", layer, l->name,
                       l->cls->type);
    if (x->ndim != m->in_ndim + 1 || memcmp(x->shape + 1, m->in_shape, (size_t)m->in_ndim * sizeof(int)) != 0)
        return dc_fail(DC_ERR_SHAPE, "attention_scores: x has shape %s, the model expects %s",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx),
                       dc_samples_shape_str(m->in_ndim, m->in_shape, se, sizeof se));
    int n = x->shape[0], batch = n < 32 ? n : 32;
    dc_status st = dc_graph_reserve(m->g, batch > 0 ? batch : 1);
    if (st != DC_OK)
        return st;
    int shape[DC_MAX_DIMS];
    int ndim = dc_node_shape(p, shape);
    shape[0] = n;
    dc_tensor *y = dc_tensor_new(ndim, shape);
    if (!y)
        return dc_last_status();
    dc_run run = {.training = 0, .rng = &m->rng};
    size_t per = n ? y->size / (size_t)n : 0;
    for (int s = 0; s < n; s += batch) {
        int b = n - s < batch ? n - s : batch;
        dc_graph_set_batch(m->g, b);
        dc_model_gather(m->input, x, NULL, s, b);
        if ((st = dc_graph_forward_run(m->g, p, &run)) != DC_OK) {
            dc_tensor_free(y);
            return st;
        }
        memcpy(y->data + (size_t)s * per, p->val, (size_t)b * per * sizeof(float));
    }
    *out = y;
    return DC_OK;
}
