/*
 * ops_seq2seq.c - the ops behind RepeatVector, Permute, Masking and
 * TimeDistributed.
 *
 * repeat:      x (B, ...) -> (B, n, ...): n copies of each sample; backward
 *              sums the copies' gradients.
 * permute:     x (B, d1..dk) -> (B, d_p1..d_pk), p a permutation of the
 *              non-batch axes (0-based here; the layer takes Keras' 1-based).
 * step_mask:   x (B, T, ...) -> (B, T): 1 where some value of the step
 *              differs from mask_value (attr.step_mask), 0 where all equal it
 *              (Keras' Masking.compute_mask).  Not differentiated.
 * mask_steps:  x (B, T, ...), mask (B, T) -> x with the steps whose mask is
 *              0 set to 0 (Masking's output); backward lets the gradient
 *              through the kept steps only.
 * time_fold:   x (B, T, ...) -> (B*T, ...) and time_unfold, its inverse
 *              with T steps: views sharing their input's buffers, so a layer
 *              made for one sample per row (Conv2D, pooling, Flatten) runs
 *              on every step (TimeDistributed).  The folded node's batch axis
 *              is the graph's batch times T (dc_node.batch_mult).
 */
#include "graph/graph.h"

#include <string.h>

static void copy_shape(dc_node *n, const dc_node *x)
{
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
}

/* Values per row of axis 0 (the batch, or the leading axis of a non-batched
 * node, which these ops treat alike). */
static size_t per_row(const dc_node *n) { return n->shape[0] ? dc_node_numel(n) / (size_t)n->shape[0] : 0; }

/* ---- repeat ---- */

static dc_status repeat_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim < 2 || x->ndim + 1 > DC_MAX_DIMS || n->attr.repeat.n < 1)
        return dc_fail(DC_ERR_SHAPE, "repeat: input %s repeated %d times, expected (batch, features...) and n >= 1",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), n->attr.repeat.n);
    n->batched = x->batched;
    n->ndim = x->ndim + 1;
    n->shape[0] = x->shape[0];
    n->shape[1] = n->attr.repeat.n;
    memcpy(n->shape + 2, x->shape + 1, (size_t)(x->ndim - 1) * sizeof(int));
    return DC_OK;
}

// x (B, F) -> y (B, n, F)
static dc_status repeat_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    size_t F = per_row(x), B = (size_t)x->shape[0];
    int reps = n->attr.repeat.n;
    for (size_t b = 0; b < B; b++)
        for (int r = 0; r < reps; r++)
            memcpy(n->val + (b * (size_t)reps + (size_t)r) * F, x->val + b * F, F * sizeof(float));
    return DC_OK;
}

// gx (B, F) += sum over the n copies of gy (B, n, F)
static void repeat_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    size_t F = per_row(x), B = (size_t)x->shape[0];
    int reps = n->attr.repeat.n;
    for (size_t b = 0; b < B; b++)
        for (int r = 0; r < reps; r++) {
            const float *gy = n->grad + (b * (size_t)reps + (size_t)r) * F;
            float *gx = x->grad + b * F;
            for (size_t f = 0; f < F; f++)
                gx[f] += gy[f];
        }
}

const dc_op dc_op_repeat = {.name = "repeat", .n_inputs = 1, .infer = repeat_infer, .forward = repeat_forward,
                            .backward = repeat_backward};

dc_node *dc_repeat(dc_graph *g, dc_node *x, int n)
{
    return dc_node_make(g, &dc_op_repeat, 1, &x, &(dc_attr){.repeat = {n}});
}

/* ---- permute ---- */

static dc_status permute_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    int k = n->attr.permute.ndims, seen = 0;
    char sx[96];
    if (k != x->ndim - 1 || k < 1 || k > DC_MAX_DIMS - 1)
        return dc_fail(DC_ERR_SHAPE, "permute: input %s has %d axes after the batch, the permutation %d",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim - 1, k);
    for (int i = 0; i < k; i++) {
        int p = n->attr.permute.perm[i];
        if (p < 0 || p >= k || (seen >> p & 1))
            return dc_fail(DC_ERR_ARG, "permute: axis %d of the permutation is %d, expected each of 0..%d once", i, p,
                           k - 1);
        seen |= 1 << p;
    }
    copy_shape(n, x);
    for (int i = 0; i < k; i++)
        n->shape[1 + i] = x->shape[1 + n->attr.permute.perm[i]];
    return DC_OK;
}

/* The offset in x of every element of a sample of y, in y's order, walked
 * with an odometer over y's axes.  add: gx += gy, else y = x. */
static void permute_sample(const dc_node *n, const float *src, float *dst, int add)
{
    const dc_node *x = n->in[0];
    int k = n->attr.permute.ndims, idx[DC_MAX_DIMS] = {0};
    size_t xstride[DC_MAX_DIMS], step[DC_MAX_DIMS], total = per_row(n), off = 0;
    xstride[k - 1] = 1;
    for (int a = k - 2; a >= 0; a--)
        xstride[a] = xstride[a + 1] * (size_t)x->shape[a + 2];
    for (int i = 0; i < k; i++)
        step[i] = xstride[n->attr.permute.perm[i]]; /* y's axis i walks x's axis p_i */
    for (size_t o = 0; o < total; o++) {
        if (add)
            dst[off] += src[o];
        else
            dst[o] = src[off];
        for (int i = k - 1; i >= 0; i--) {
            off += step[i];
            if (++idx[i] < n->shape[1 + i])
                break;
            off -= step[i] * (size_t)n->shape[1 + i];
            idx[i] = 0;
        }
    }
}

static dc_status permute_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t S = per_row(n);
    int B = n->shape[0];
#pragma omp parallel for schedule(static) if (dc_worth_parallel((double)S * B))
    for (int b = 0; b < B; b++)
        permute_sample(n, n->in[0]->val + (size_t)b * S, n->val + (size_t)b * S, 0);
    return DC_OK;
}

static void permute_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t S = per_row(n);
    int B = n->shape[0];
#pragma omp parallel for schedule(static) if (dc_worth_parallel((double)S * B))
    for (int b = 0; b < B; b++)
        permute_sample(n, n->grad + (size_t)b * S, n->in[0]->grad + (size_t)b * S, 1);
}

const dc_op dc_op_permute = {.name = "permute", .n_inputs = 1, .infer = permute_infer, .forward = permute_forward,
                             .backward = permute_backward};

dc_node *dc_permute(dc_graph *g, dc_node *x, int ndims, const int *perm)
{
    DC_CHECK_NULL_OR(perm, NULL);
    dc_attr a = {.permute = {.ndims = ndims}};
    if (ndims < 1 || ndims > DC_MAX_DIMS - 1 || !perm)
        return dc_fail_null(DC_ERR_ARG, "permute: %d axes, expected 1 to %d and a permutation", ndims, DC_MAX_DIMS - 1);
    memcpy(a.permute.perm, perm, (size_t)ndims * sizeof(int));
    return dc_node_make(g, &dc_op_permute, 1, &x, &a);
}

/* ---- step_mask and mask_steps ---- */

static dc_status step_mask_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "step_mask: input %s, expected (batch, steps, features...)",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    n->batched = x->batched;
    n->ndim = 2;
    n->shape[0] = x->shape[0];
    n->shape[1] = x->shape[1];
    n->requires_grad = 0; /* a mask, like token ids */
    return DC_OK;
}

// x (B, T, F) -> mask (B, T): any(x[b, t, :] != mask_value)
static dc_status step_mask_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t rows = dc_node_numel(n), F = dc_node_numel(n->in[0]) / (rows ? rows : 1);
    float mv = n->attr.step_mask.mask_value;
    for (size_t r = 0; r < rows; r++) {
        const float *x = n->in[0]->val + r * F;
        float keep = 0.0f;
        for (size_t f = 0; f < F && keep == 0.0f; f++)
            keep = x[f] != mv ? 1.0f : 0.0f;
        n->val[r] = keep;
    }
    return DC_OK;
}

const dc_op dc_op_step_mask = {.name = "step_mask", .n_inputs = 1, .infer = step_mask_infer,
                               .forward = step_mask_forward};

dc_node *dc_step_mask(dc_graph *g, dc_node *x, float mask_value)
{
    return dc_node_make(g, &dc_op_step_mask, 1, &x, &(dc_attr){.step_mask = {mask_value}});
}

static dc_status mask_steps_infer(dc_node *n)
{
    dc_node *x = n->in[0], *m = n->in[1];
    char sx[96], sm[96];
    if (x->ndim < 3 || m->ndim != 2 || m->shape[0] != x->shape[0] || m->shape[1] != x->shape[1])
        return dc_fail(DC_ERR_SHAPE,
                       "mask_steps: input %s and mask %s, expected (batch, steps, ...) and (batch, steps)",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), dc_shape_str(m->ndim, m->shape, sm, sizeof sm));
    copy_shape(n, x);
    n->requires_grad = x->requires_grad;
    return DC_OK;
}

// y (B, T, F) = x where mask (B, T) != 0, else 0
static dc_status mask_steps_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *m = n->in[1];
    size_t rows = dc_node_numel(m), F = dc_node_numel(n) / (rows ? rows : 1);
    for (size_t r = 0; r < rows; r++) {
        if (m->val[r] != 0.0f)
            memcpy(n->val + r * F, n->in[0]->val + r * F, F * sizeof(float));
        else
            memset(n->val + r * F, 0, F * sizeof(float));
    }
    return DC_OK;
}

static void mask_steps_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *m = n->in[1];
    size_t rows = dc_node_numel(m), F = dc_node_numel(n) / (rows ? rows : 1);
    for (size_t r = 0; r < rows; r++)
        if (m->val[r] != 0.0f)
            for (size_t f = 0; f < F; f++)
                n->in[0]->grad[r * F + f] += n->grad[r * F + f];
}

const dc_op dc_op_mask_steps = {.name = "mask_steps", .n_inputs = 2, .infer = mask_steps_infer,
                                .forward = mask_steps_forward, .backward = mask_steps_backward};

dc_node *dc_mask_steps(dc_graph *g, dc_node *x, dc_node *mask)
{
    dc_node *in[2] = {x, mask};
    return dc_node_make(g, &dc_op_mask_steps, 2, in, NULL);
}

/* ---- time_fold / time_unfold (views) ---- */

static int mult_of(const dc_node *x) { return x->batch_mult > 0 ? x->batch_mult : 1; }

static dc_status time_fold_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "time_fold: input %s, expected (batch, steps, ...) with at least 3 axes",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    n->batched = x->batched;
    if (dc_ckd_mul(&n->batch_mult, mult_of(x), x->shape[1]) || dc_ckd_mul(&n->shape[0], x->shape[0], x->shape[1]))
        return dc_fail(DC_ERR_SHAPE, "time_fold: input %s: %d rows x %d steps overflows",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->shape[0], x->shape[1]);
    n->ndim = x->ndim - 1;
    memcpy(n->shape + 1, x->shape + 2, (size_t)(x->ndim - 2) * sizeof(int));
    return DC_OK;
}

static dc_status time_unfold_infer(dc_node *n)
{
    dc_node *x = n->in[0];
    int T = n->attr.time_unfold.steps;
    char sx[96];
    if (x->ndim < 2 || x->ndim + 1 > DC_MAX_DIMS || T < 1 || x->shape[0] % T != 0 ||
        (x->batched && mult_of(x) % T != 0))
        return dc_fail(DC_ERR_SHAPE, "time_unfold: input %s cannot be split into %d steps per sample",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), T);
    n->batched = x->batched;
    n->batch_mult = mult_of(x) / T;
    n->ndim = x->ndim + 1;
    n->shape[0] = x->shape[0] / T;
    n->shape[1] = T;
    memcpy(n->shape + 2, x->shape + 1, (size_t)(x->ndim - 1) * sizeof(int));
    return DC_OK;
}

const dc_op dc_op_time_fold = {.name = "time_fold", .n_inputs = 1, .flags = DC_OP_ALIASES_INPUT,
                               .infer = time_fold_infer};
const dc_op dc_op_time_unfold = {.name = "time_unfold", .n_inputs = 1, .flags = DC_OP_ALIASES_INPUT,
                                 .infer = time_unfold_infer};

dc_node *dc_time_fold(dc_graph *g, dc_node *x) { return dc_node_make(g, &dc_op_time_fold, 1, &x, NULL); }

dc_node *dc_time_unfold(dc_graph *g, dc_node *x, int steps)
{
    return dc_node_make(g, &dc_op_time_unfold, 1, &x, &(dc_attr){.time_unfold = {steps}});
}
