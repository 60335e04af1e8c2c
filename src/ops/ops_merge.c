/*
 * ops_merge.c - the ops of Keras' merge layers that the elementwise file
 * does not have: maximum, minimum and concatenation along any axis.
 *
 * maximum / minimum: a, b of equal shapes -> the elementwise max / min.  The
 * gradient goes as TensorFlow's _MaximumMinimumGrad: all of it to a where
 * a >= b (maximum) or a <= b (minimum), all of it to b elsewhere, so a tie
 * sends it to the first input (PyTorch would split it in halves).
 *
 * concat: a and b equal but on one axis (attr.concat) -> their concatenation
 * on that axis.  Seen as rows x cols with rows the product of the axes before it,
 * each output row is a's row (cols_a) followed by b's row (cols_b); the
 * last axis (dc_concat, Bidirectional's merge) is the case of 1-wide cols.
 * Rows are copied in parallel when the copy is large.
 */
#include "graph/graph.h"
#include "core/checked.h"

#include <string.h>

/* Parallelise copies only where the work outweighs the fork. */
#define DC_PAR_MIN 65536

/* ---- maximum / minimum ---- */

/* y = max(a, b) (is_max) or min(a, b); a wins ties, as in the gradient. */
static dc_status minmax_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    float *y = n->val;
    if (n->op == &dc_op_maximum) {
#pragma omp parallel for if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            y[i] = a[i] >= b[i] ? a[i] : b[i];
    } else {
#pragma omp parallel for if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            y[i] = a[i] <= b[i] ? a[i] : b[i];
    }
    return DC_OK;
}

static void minmax_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    dc_node *in_a = n->in[0], *in_b = n->in[1];
    const float *a = in_a->val, *b = in_b->val, *gy = n->grad;
    float *ga = in_a->requires_grad ? in_a->grad : NULL, *gb = in_b->requires_grad ? in_b->grad : NULL;
    int is_max = n->op == &dc_op_maximum;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++) {
        int to_a = is_max ? a[i] >= b[i] : a[i] <= b[i];
        if (to_a && ga)
            ga[i] += gy[i];
        else if (!to_a && gb)
            gb[i] += gy[i];
    }
}

const dc_op dc_op_maximum = {.name = "maximum", .n_inputs = 2, .infer = dc_binary_infer, .forward = minmax_forward,
                             .backward = minmax_backward};
const dc_op dc_op_minimum = {.name = "minimum", .n_inputs = 2, .infer = dc_binary_infer, .forward = minmax_forward,
                             .backward = minmax_backward};

dc_node *dc_maximum(dc_graph *g, dc_node *a, dc_node *b)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, &dc_op_maximum, 2, in, NULL);
}

dc_node *dc_minimum(dc_graph *g, dc_node *a, dc_node *b)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, &dc_op_minimum, 2, in, NULL);
}

/* ---- concat along an axis ---- */

static dc_status concat_infer(dc_node *n)
{
    dc_node *a = n->in[0], *b = n->in[1];
    int axis = n->attr.concat.axis, lo = a->batched ? 1 : 0;
    char sa[96], sb[96];
    (a->batched ? dc_batch_shape_str : dc_shape_str)(a->ndim, a->shape, sa, sizeof sa);
    (b->batched ? dc_batch_shape_str : dc_shape_str)(b->ndim, b->shape, sb, sizeof sb);
    if (a->ndim != b->ndim || a->batched != b->batched)
        return dc_fail(DC_ERR_SHAPE, "concat: shapes %s and %s have different ranks or batch axes", sa, sb);
    if (axis < lo || axis >= a->ndim)
        return dc_fail(DC_ERR_SHAPE, "concat: axis %d is out of range for shape %s: expected %d to %d%s", axis, sa, lo,
                       a->ndim - 1, lo ? " (not the batch axis 0)" : "");
    for (int i = 0; i < a->ndim; i++)
        if (i != axis && a->shape[i] != b->shape[i])
            return dc_fail(DC_ERR_SHAPE, "concat: shapes %s and %s differ on axis %d (concatenating on axis %d)", sa,
                           sb, i, axis);
    n->batched = a->batched;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    if (dc_ckd_add(&n->shape[axis], a->shape[axis], b->shape[axis]))
        return dc_fail(DC_ERR_SHAPE, "concat: shapes %s and %s: axis %d of %d + %d overflows", sa, sb, axis,
                       a->shape[axis], b->shape[axis]);
    return DC_OK;
}

/* rows: the product of the axes before the concat axis; cols of a and b:
 * the product of that axis and the ones after it. */
static size_t concat_view(const dc_node *n, size_t *ca, size_t *cb)
{
    int axis = n->attr.concat.axis;
    size_t rows = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        rows *= (size_t)n->shape[i];
    for (int i = axis + 1; i < n->ndim; i++)
        inner *= (size_t)n->shape[i];
    *ca = (size_t)n->in[0]->shape[axis] * inner;
    *cb = (size_t)n->in[1]->shape[axis] * inner;
    return rows;
}

static dc_status concat_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t ca, cb, rows = concat_view(n, &ca, &cb), c = ca + cb;
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    float *y = n->val;
#pragma omp parallel for if (rows * c > DC_PAR_MIN && rows > 1)
    for (size_t r = 0; r < rows; r++) {
        memcpy(y + r * c, a + r * ca, ca * sizeof(float));
        memcpy(y + r * c + ca, b + r * cb, cb * sizeof(float));
    }
    return DC_OK;
}

static void concat_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t ca, cb, rows = concat_view(n, &ca, &cb), c = ca + cb;
    for (int k = 0; k < 2; k++) {
        dc_node *in = n->in[k];
        size_t w = k ? cb : ca, off = k ? ca : 0;
        if (!in->requires_grad)
            continue;
        float *gx = in->grad;
        const float *gy = n->grad + off;
#pragma omp parallel for if (rows * w > DC_PAR_MIN && rows > 1)
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < w; j++)
                gx[r * w + j] += gy[r * c + j];
    }
}

const dc_op dc_op_concat = {.name = "concat", .n_inputs = 2, .infer = concat_infer, .forward = concat_forward,
                            .backward = concat_backward};

dc_node *dc_concat_axis(dc_graph *g, dc_node *a, dc_node *b, int axis)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, &dc_op_concat, 2, in, &(dc_attr){.concat = {axis}});
}

dc_node *dc_concat(dc_graph *g, dc_node *a, dc_node *b)
{
    return dc_concat_axis(g, a, b, a ? a->ndim - 1 : 0);
}
