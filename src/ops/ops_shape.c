/*
 * ops_shape.c - leaves (input, param), reshape, columns, and the
 * reductions sum and mean.  Scalars are represented as shape (1,).
 */
#include "graph/graph.h"

#include <string.h>

const dc_op dc_op_input = {.name = "input", .n_inputs = 0};
const dc_op dc_op_param = {.name = "param", .n_inputs = 0};

/* ---- reshape: per sample when batched; shares its input's buffers ---- */

static dc_status reshape_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    const dc_reshape_attr *a = &n->attr.reshape;
    int ndim = a->ndim, lead = x->batched ? 1 : 0;
    char sx[96], sy[96];
    if (ndim < 1 || ndim + lead > DC_MAX_DIMS)
        return dc_fail(DC_ERR_SHAPE, "reshape: %d dimensions, expected 1 to %d", ndim, DC_MAX_DIMS - lead);
    size_t want = dc_shape_size(ndim, a->shape);
    if (want == 0 || want != dc_node_sample_size(x))
        return dc_fail(DC_ERR_SHAPE, "reshape: cannot reshape %s (%zu values per sample) to %s",
                       dc_shape_str(x->ndim - lead, x->shape + lead, sx, sizeof sx), dc_node_sample_size(x),
                       dc_shape_str(ndim, a->shape, sy, sizeof sy));
    n->batched = x->batched;
    n->ndim = ndim + lead;
    n->shape[0] = x->shape[0];
    memcpy(n->shape + lead, a->shape, (size_t)ndim * sizeof(int));
    return DC_OK;
}

const dc_op dc_op_reshape = {.name = "reshape", .n_inputs = 1, .flags = DC_OP_ALIASES_INPUT, .infer = reshape_infer};

dc_node *dc_reshape(dc_graph *g, dc_node *x, int ndim, const int *shape)
{
    DC_CHECK_NULL_OR(shape, NULL);
    dc_attr a = {.reshape = {.ndim = ndim}};
    if (ndim < 1 || ndim > DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_SHAPE, "reshape: %d dimensions, expected 1 to %d", ndim, DC_MAX_DIMS - 1);
    memcpy(a.reshape.shape, shape, (size_t)ndim * sizeof(int));
    return dc_node_make(g, &dc_op_reshape, 1, &x, &a);
}

/* ---- columns [off, off + len) of a batched (batch, cols) node ----
 * How a model with several inputs splits its packed input (one row per
 * sample: every input's values laid end to end). */

static dc_status columns_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    int off = n->attr.columns.off, len = n->attr.columns.len;
    if (x->ndim != 2 || off < 0 || len < 1 || off + len > x->shape[1])
        return dc_fail(DC_ERR_SHAPE, "columns: [%d, %d) is not within the %d columns of a (batch, columns) input", off,
                       off + len, x->ndim == 2 ? x->shape[1] : 0);
    n->batched = x->batched;
    n->ndim = 2;
    n->shape[0] = x->shape[0];
    n->shape[1] = len;
    return DC_OK;
}

static dc_status columns_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    size_t rows = (size_t)n->shape[0], len = (size_t)n->attr.columns.len, cols = (size_t)x->shape[1];
    for (size_t r = 0; r < rows; r++)
        memcpy(n->val + r * len, x->val + r * cols + (size_t)n->attr.columns.off, len * sizeof(float));
    return DC_OK;
}

static void columns_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    if (!x->requires_grad)
        return;
    size_t rows = (size_t)n->shape[0], len = (size_t)n->attr.columns.len, cols = (size_t)x->shape[1];
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < len; j++)
            x->grad[r * cols + (size_t)n->attr.columns.off + j] += n->grad[r * len + j];
}

const dc_op dc_op_columns = {.name = "columns", .n_inputs = 1, .infer = columns_infer, .forward = columns_forward,
                             .backward = columns_backward};

dc_node *dc_columns(dc_graph *g, dc_node *x, int off, int len)
{
    return dc_node_make(g, &dc_op_columns, 1, &x, &(dc_attr){.columns = {off, len}});
}

/* ---- sum / mean of all elements -> (1,) ---- */

static dc_status scalar_infer(dc_node *n)
{
    n->batched = 0;
    n->ndim = 1;
    n->shape[0] = 1;
    return DC_OK;
}

static dc_status sum_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n->in[0]);
    double s = 0;
    for (size_t i = 0; i < total; i++)
        s += n->in[0]->val[i];
    n->val[0] = (float)(n->op == &dc_op_mean ? s / (double)total : s);
    return DC_OK;
}

static void sum_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n->in[0]);
    float g = n->op == &dc_op_mean ? n->grad[0] / (float)total : n->grad[0];
    for (size_t i = 0; i < total; i++)
        n->in[0]->grad[i] += g;
}

const dc_op dc_op_sum = {.name = "sum", .n_inputs = 1, .infer = scalar_infer, .forward = sum_forward,
                         .backward = sum_backward};
const dc_op dc_op_mean = {.name = "mean", .n_inputs = 1, .infer = scalar_infer, .forward = sum_forward,
                          .backward = sum_backward};

dc_node *dc_sum(dc_graph *g, dc_node *x) { return dc_node_make(g, &dc_op_sum, 1, &x, NULL); }
dc_node *dc_mean(dc_graph *g, dc_node *x) { return dc_node_make(g, &dc_op_mean, 1, &x, NULL); }
