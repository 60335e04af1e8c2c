/*
 * ops_attn_misc.c - the small ops of the attention layers besides the
 * batched matmul and the softmax.
 *
 * mul_scalar:         x (...), s (1) -> x * s[0]: Attention's trainable
 *                     "scale".  dx = dy s, ds = sum(dy x).
 * additive_score:     q (B, Tq, D), k (B, Tk, D), w (D) or NULL, s (1) or
 *                     NULL, c (1) or NULL -> (B, Tq, Tk):
 *                       y[b,i,j] = c * sum_d w_d tanh(s (q[b,i,d] + k[b,j,d]))
 *                     (absent ones are 1): AdditiveAttention's scores (w its
 *                     scale) and Attention's "concat" scores (s its scale, c
 *                     its concat_score_weight), without the (B, Tq, Tk, D)
 *                     tensor Keras makes.  Backward recomputes tanh.
 * position_embedding: x (B, ..., T, D), table (L, D) -> x's shape, rows
 *                     start .. start + T - 1 of the table on every leading
 *                     index (keras_hub's PositionEmbedding: the input gives
 *                     only the shape).  dtable[start + t] += sum of dy[..., t, :].
 * l2_normalize:       x * rsqrt(max(sum x^2, 1e-14)) along an axis (Keras'
 *                     ops.normalize, epsilon 1e-7 squared): Dot(normalize).
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

static void same_shape(dc_node *n, const dc_node *x)
{
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
}

static int is_scalar(const dc_node *s) { return s->ndim == 1 && s->shape[0] == 1 && !s->batched; }

/* ---- mul_scalar ---- */

static dc_status mul_scalar_infer(dc_node *n)
{
    char s[96];
    if (!is_scalar(n->in[1]))
        return dc_fail(DC_ERR_SHAPE, "mul_scalar: the factor has shape %s, expected (1,)",
                       dc_shape_str(n->in[1]->ndim, n->in[1]->shape, s, sizeof s));
    same_shape(n, n->in[0]);
    return DC_OK;
}

static dc_status mul_scalar_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    float s = n->in[1]->val[0];
    for (size_t i = 0; i < total; i++)
        n->val[i] = n->in[0]->val[i] * s;
    return DC_OK;
}

static void mul_scalar_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *s = n->in[1];
    size_t total = dc_node_numel(n);
    if (x->requires_grad)
        for (size_t i = 0; i < total; i++)
            x->grad[i] += n->grad[i] * s->val[0];
    if (s->requires_grad) {
        double acc = 0.0;
        for (size_t i = 0; i < total; i++)
            acc += (double)n->grad[i] * x->val[i];
        s->grad[0] += (float)acc;
    }
}

const dc_op dc_op_mul_scalar = {.name = "mul_scalar", .n_inputs = 2, .infer = mul_scalar_infer,
                                .forward = mul_scalar_forward, .backward = mul_scalar_backward};

dc_node *dc_mul_scalar(dc_graph *g, dc_node *x, dc_node *s)
{
    dc_node *in[2] = {x, s};
    return dc_node_make(g, &dc_op_mul_scalar, 2, in, NULL);
}

/* ---- additive_score ---- */

static dc_status additive_score_infer(dc_node *n)
{
    const dc_node *q = n->in[0], *k = n->in[1], *w = n->in[2];
    char sq[96], sk[96];
    dc_shape_str(q->ndim, q->shape, sq, sizeof sq);
    dc_shape_str(k->ndim, k->shape, sk, sizeof sk);
    if (q->ndim != 3 || k->ndim != 3 || q->shape[2] != k->shape[2] || q->batched != k->batched ||
        q->shape[0] != k->shape[0])
        return dc_fail(DC_ERR_SHAPE, "additive_score: query %s and key %s; expected (B, Tq, D) and (B, Tk, D)", sq, sk);
    if (w && (w->ndim != 1 || w->shape[0] != q->shape[2] || w->batched))
        return dc_fail(DC_ERR_SHAPE, "additive_score: scale has shape %s, expected (%d,)",
                       dc_shape_str(w->ndim, w->shape, sq, sizeof sq), q->shape[2]);
    for (int i = 3; i < 5; i++)
        if (n->in[i] && !is_scalar(n->in[i]))
            return dc_fail(DC_ERR_SHAPE, "additive_score: input %d has shape %s, expected (1,)", i,
                           dc_shape_str(n->in[i]->ndim, n->in[i]->shape, sq, sizeof sq));
    n->batched = q->batched;
    n->ndim = 3;
    n->shape[0] = q->shape[0];
    n->shape[1] = q->shape[1];
    n->shape[2] = k->shape[1];
    return DC_OK;
}

/* The optional factors: w_d, s, c (1 when absent). */
static float w_at(const dc_node *n, int d) { return n->in[2] ? n->in[2]->val[d] : 1.0f; }
static float opt_scalar(const dc_node *n, int slot) { return n->in[slot] ? n->in[slot]->val[0] : 1.0f; }

// q (B, Tq, D), k (B, Tk, D) -> y (B, Tq, Tk)
static dc_status additive_score_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *q = n->in[0], *k = n->in[1];
    int B = n->shape[0], Tq = n->shape[1], Tk = n->shape[2], D = q->shape[2];
    float s = opt_scalar(n, 3), c = opt_scalar(n, 4);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Tq; i++) {
            const float *qi = q->val + ((size_t)b * Tq + i) * D;
            for (int j = 0; j < Tk; j++) {
                const float *kj = k->val + ((size_t)b * Tk + j) * D;
                double acc = 0.0;
                for (int d = 0; d < D; d++)
                    acc += (double)w_at(n, d) * tanhf(s * (qi[d] + kj[d]));
                n->val[((size_t)b * Tq + i) * Tk + j] = c * (float)acc;
            }
        }
    return DC_OK;
}

static void additive_score_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *q = n->in[0], *k = n->in[1], *w = n->in[2], *sn = n->in[3], *cn = n->in[4];
    int B = n->shape[0], Tq = n->shape[1], Tk = n->shape[2], D = q->shape[2];
    float s = opt_scalar(n, 3), c = opt_scalar(n, 4);
    double ds = 0.0, dc = 0.0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Tq; i++) {
            size_t qo = ((size_t)b * Tq + i) * D;
            for (int j = 0; j < Tk; j++) {
                size_t ko = ((size_t)b * Tk + j) * D;
                float gy = n->grad[((size_t)b * Tq + i) * Tk + j];
                for (int d = 0; d < D; d++) {
                    float u = q->val[qo + d] + k->val[ko + d], t = tanhf(s * u), wd = w_at(n, d);
                    float common = gy * c * wd * (1.0f - t * t);
                    if (q->requires_grad)
                        q->grad[qo + d] += common * s;
                    if (k->requires_grad)
                        k->grad[ko + d] += common * s;
                    if (w && w->requires_grad)
                        w->grad[d] += gy * c * t;
                    ds += (double)common * u;
                    dc += (double)gy * wd * t;
                }
            }
        }
    if (sn && sn->requires_grad)
        sn->grad[0] += (float)ds;
    if (cn && cn->requires_grad)
        cn->grad[0] += (float)dc;
}

/* The scale vector (2), the inner scalar (3) and the outer scalar (4) are optional. */
const dc_op dc_op_additive_score = {.name = "additive_score", .n_inputs = 5,
                                    .optional = DC_OPTIONAL(2) | DC_OPTIONAL(3) | DC_OPTIONAL(4),
                                    .infer = additive_score_infer, .forward = additive_score_forward,
                                    .backward = additive_score_backward};

dc_node *dc_additive_score(dc_graph *g, dc_node *q, dc_node *k, dc_node *w, dc_node *s, dc_node *c)
{
    dc_node *in[5] = {q, k, w, s, c};
    return dc_node_make(g, &dc_op_additive_score, 5, in, NULL);
}

/* ---- position_embedding ---- */

static dc_status posemb_infer(dc_node *n)
{
    const dc_node *x = n->in[0], *t = n->in[1];
    int start = n->attr.axis.axis;
    char sx[96], st[96];
    dc_shape_str(x->ndim, x->shape, sx, sizeof sx);
    dc_shape_str(t->ndim, t->shape, st, sizeof st);
    if (x->ndim < 2 || t->ndim != 2 || t->batched || x->shape[x->ndim - 1] != t->shape[1])
        return dc_fail(DC_ERR_SHAPE, "position_embedding: input %s and table %s; expected (..., T, D) and (L, D)", sx,
                       st);
    int T = x->shape[x->ndim - 2];
    if (start < 0 || start > t->shape[0] - T)
        return dc_fail(DC_ERR_SHAPE, "position_embedding: positions %d to %d of input %s are outside the table's %d "
                                     "(sequence_length)", start, start + T - 1, sx, t->shape[0]);
    same_shape(n, x);
    return DC_OK;
}

// x (..., T, D), table (L, D) -> (..., T, D)
static dc_status posemb_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t block = (size_t)n->shape[n->ndim - 2] * (size_t)n->shape[n->ndim - 1];
    size_t reps = dc_node_numel(n) / block;
    const float *rows = n->in[1]->val + (size_t)n->attr.axis.axis * (size_t)n->shape[n->ndim - 1];
    for (size_t r = 0; r < reps; r++)
        memcpy(n->val + r * block, rows, block * sizeof(float));
    return DC_OK;
}

static void posemb_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *t = n->in[1];
    if (!t->requires_grad)
        return;
    size_t block = (size_t)n->shape[n->ndim - 2] * (size_t)n->shape[n->ndim - 1];
    size_t reps = dc_node_numel(n) / block;
    float *rows = t->grad + (size_t)n->attr.axis.axis * (size_t)n->shape[n->ndim - 1];
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < block; i++)
            rows[i] += n->grad[r * block + i];
}

const dc_op dc_op_position_embedding = {.name = "position_embedding", .n_inputs = 2, .infer = posemb_infer,
                                        .forward = posemb_forward, .backward = posemb_backward};

dc_node *dc_position_embedding(dc_graph *g, dc_node *x, dc_node *table, int start)
{
    DC_CHECK_NULL_OR(g, NULL);
    DC_CHECK_NULL_OR(x, NULL);
    DC_CHECK_NULL_OR(table, NULL);
    dc_node *in[2] = {x, table};
    dc_attr attr = {.axis = {start}};
    return dc_node_make(g, &dc_op_position_embedding, 2, in, &attr);
}

/* ---- l2_normalize ---- */

typedef struct l2_geom {
    size_t outer, inner;
    int len;
} l2_geom;

static l2_geom l2_geometry(const dc_node *n)
{
    l2_geom gm = {1, 1, n->shape[n->attr.axis.axis]};
    for (int d = 0; d < n->ndim; d++) {
        if (d < n->attr.axis.axis)
            gm.outer *= (size_t)n->shape[d];
        else if (d > n->attr.axis.axis)
            gm.inner *= (size_t)n->shape[d];
    }
    return gm;
}

static dc_status l2_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    char sx[96];
    int axis = n->attr.axis.axis;
    if (axis < 0 || axis >= x->ndim || (x->batched && axis == 0))
        return dc_fail(DC_ERR_SHAPE, "l2_normalize: axis %d of %s is %s", axis,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx),
                       axis == 0 && x->batched ? "the batch axis" : "out of range");
    same_shape(n, x);
    return DC_OK;
}

/* 1 / sqrt(max(sum x^2, eps^2)) of the row at x (len values `inner` apart);
 * *clamped when the maximum took eps^2. */
static float l2_inv(const float *x, int len, size_t inner, int *clamped)
{
    double ss = 0.0;
    for (int l = 0; l < len; l++)
        ss += (double)x[l * inner] * x[l * inner];
    *clamped = ss < 1e-14;
    return (float)(1.0 / sqrt(*clamped ? 1e-14 : ss));
}

static dc_status l2_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    l2_geom gm = l2_geometry(n);
    for (size_t o = 0; o < gm.outer; o++)
        for (size_t i = 0; i < gm.inner; i++) {
            size_t base = o * (size_t)gm.len * gm.inner + i;
            int clamped;
            float inv = l2_inv(n->in[0]->val + base, gm.len, gm.inner, &clamped);
            for (int l = 0; l < gm.len; l++)
                n->val[base + l * gm.inner] = n->in[0]->val[base + l * gm.inner] * inv;
        }
    return DC_OK;
}

/* dx = inv (dy - y sum(y dy)); clamped rows: dx = inv dy. */
static void l2_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    l2_geom gm = l2_geometry(n);
    for (size_t o = 0; o < gm.outer; o++)
        for (size_t i = 0; i < gm.inner; i++) {
            size_t base = o * (size_t)gm.len * gm.inner + i;
            int clamped;
            float inv = l2_inv(x->val + base, gm.len, gm.inner, &clamped);
            double dot = 0.0;
            for (int l = 0; l < gm.len && !clamped; l++)
                dot += (double)n->val[base + l * gm.inner] * n->grad[base + l * gm.inner];
            for (int l = 0; l < gm.len; l++) {
                size_t at = base + l * gm.inner;
                x->grad[at] += inv * (n->grad[at] - n->val[at] * (float)dot);
            }
        }
}

const dc_op dc_op_l2_normalize = {.name = "l2_normalize", .n_inputs = 1, .infer = l2_infer, .forward = l2_forward,
                                  .backward = l2_backward};

dc_node *dc_l2_normalize(dc_graph *g, dc_node *x, int axis)
{
    DC_CHECK_NULL_OR(g, NULL);
    DC_CHECK_NULL_OR(x, NULL);
    dc_attr attr = {.axis = {axis < 0 ? axis + x->ndim : axis}};
    return dc_node_make(g, &dc_op_l2_normalize, 1, (dc_node *[]){x}, &attr);
}
