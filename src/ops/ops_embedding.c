/*
 * ops_embedding.c - the embedding lookup.
 *
 * embedding: ids (B, T) holding token ids as floats, table (V, D) ->
 * (B, T, D).  Every id must be an integer in [0, V); anything else stops the
 * forward pass with a message naming the id and where it is (a wrong
 * input_dim, or a tokenizer's num_words larger than the Embedding's).
 * Backward scatters the output gradient into the table's rows; ids get none.
 * (concat, which Bidirectional's merge_mode="concat" uses, is in ops_merge.c.)
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

/* ---- embedding ---- */

static dc_status embedding_infer(dc_node *n)
{
    dc_node *ids = n->in[0], *table = n->in[1];
    char s[96];
    if (table->ndim != 2)
        return dc_fail(DC_ERR_SHAPE, "embedding: table has shape %s, expected (input_dim, output_dim)",
                       dc_shape_str(table->ndim, table->shape, s, sizeof s));
    if (ids->ndim + 1 > DC_MAX_DIMS)
        return dc_fail(DC_ERR_SHAPE, "embedding: ids have %d axes, at most %d", ids->ndim, DC_MAX_DIMS - 1);
    n->batched = ids->batched;
    n->ndim = ids->ndim + 1;
    memcpy(n->shape, ids->shape, (size_t)ids->ndim * sizeof(int));
    n->shape[ids->ndim] = table->shape[1];
    return DC_OK;
}

static dc_status embedding_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *ids = n->in[0], *table = n->in[1];
    size_t count = dc_node_numel(ids);
    int V = table->shape[0], D = table->shape[1];
    int per = ids->ndim > 1 ? (int)(count / (size_t)ids->shape[0]) : 1;
    for (size_t i = 0; i < count; i++) {
        float v = ids->val[i];
        if (!(v >= 0.0f && v < (float)V) || v != floorf(v))
            return dc_fail(DC_ERR_RANGE,
                           "%s: token id %g at sample %zu, step %zu is not an integer in [0, %d): input_dim is %d; "
                           "make input_dim larger than the largest id (a Tokenizer's num_words, or its word count + 1)",
                           n->name, (double)v, i / (size_t)per, i % (size_t)per, V, V);
        memcpy(n->val + i * (size_t)D, table->val + (size_t)v * D, (size_t)D * sizeof(float));
    }
    return DC_OK;
}

static void embedding_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *ids = n->in[0], *table = n->in[1];
    if (!table->requires_grad)
        return;
    size_t count = dc_node_numel(ids);
    int D = table->shape[1];
    for (size_t i = 0; i < count; i++) {
        float *dst = table->grad + (size_t)ids->val[i] * D;
        const float *g = n->grad + i * (size_t)D;
#pragma omp simd
        for (int j = 0; j < D; j++)
            dst[j] += g[j];
    }
}

const dc_op dc_op_embedding = {.name = "embedding", .n_inputs = 2, .infer = embedding_infer,
                               .forward = embedding_forward, .backward = embedding_backward};

dc_node *dc_embedding(dc_graph *g, dc_node *ids, dc_node *table)
{
    dc_node *in[2] = {ids, table};
    return dc_node_make(g, &dc_op_embedding, 2, in, NULL);
}
