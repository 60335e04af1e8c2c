/*
 * ops_softmax.c - softmax over any axis with an optional mask, and the
 * boolean mask attention builds from Keras' masks.
 *
 * softmax:        x (...), mask (...) or NULL -> y (x's shape), softmax
 *                 along attr.softmax.axis.  The mask broadcasts to x as
 *                 numpy broadcasts (aligned from the right, each axis 1 or
 *                 x's size).  A boolean mask (DC_SOFTMAX_MASK_BOOL) is Keras
 *                 3's Softmax(mask=): where mask > 0.5 x is kept, elsewhere
 *                 replaced by -1e9 before the softmax and the output set to 0
 *                 after it, so a row masked entirely gives zeros (not the
 *                 uniform distribution).  An additive mask
 *                 (DC_SOFTMAX_MASK_ADD) is softmax(x + mask), and gets the
 *                 gradient x gets (summed over the axes it is broadcast on)
 *                 when it needs one; a boolean mask gets none.
 *                 backward: dx = y (dy - sum(y dy)) along the axis.
 * attention_mask: query mask (B, Tq), value mask (B, Tk), key mask (B, Tk),
 *                 attention mask (B, Tq, Tk), each optional, and the causal
 *                 flag -> (B, Tq, Tk) of 1 (attend) / 0, as Keras'
 *                 MultiHeadAttention._compute_attention_mask ANDs them
 *                 (query_mask[:, :, None] & value_mask[:, None, :] & ...;
 *                 causal: key j <= query i).  The token-id masks keep a
 *                 position where the id is nonzero, an attention mask where
 *                 it is > 0.5.  The inputs are all batched or none (axis 0
 *                 is then their batch); without any it is (Tq, Tk).  Not
 *                 differentiated.
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

/* Keras' _large_negative_number for float32. */
#define DC_SOFTMAX_NEG (-1e9f)

/* The layout of a softmax node: rows of `len` values `inner` apart, and per
 * x axis the mask's stride (0 where it broadcasts or has no axis). */
typedef struct sm_geom {
    size_t outer, inner, rows;
    int len, axis, ndim;
    int shape[DC_MAX_DIMS];
    size_t mstride[DC_MAX_DIMS];
} sm_geom;

static void sm_geometry(const dc_node *n, sm_geom *gm)
{
    const dc_node *x = n->in[0], *m = n->in[1];
    gm->axis = n->attr.softmax.axis;
    gm->ndim = x->ndim;
    gm->outer = gm->inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        gm->shape[d] = x->shape[d];
        if (d < gm->axis)
            gm->outer *= (size_t)x->shape[d];
        else if (d > gm->axis)
            gm->inner *= (size_t)x->shape[d];
    }
    gm->len = x->shape[gm->axis];
    gm->rows = gm->outer * gm->inner;
    memset(gm->mstride, 0, sizeof gm->mstride);
    if (!m)
        return;
    size_t stride = 1;
    for (int d = x->ndim - 1, md = m->ndim - 1; d >= 0 && md >= 0; d--, md--) {
        gm->mstride[d] = m->shape[md] == 1 && x->shape[d] != 1 ? 0 : stride;
        stride *= (size_t)m->shape[md];
    }
}

/* Row r's first element in x and in the mask. */
static void sm_row(const sm_geom *gm, size_t r, size_t *xoff, size_t *moff)
{
    size_t o = r / gm->inner, i = r % gm->inner;
    *xoff = o * (size_t)gm->len * gm->inner + i;
    *moff = 0;
    size_t rest = *xoff;
    for (int d = gm->ndim - 1; d >= 0; d--) {
        size_t idx = rest % (size_t)gm->shape[d];
        rest /= (size_t)gm->shape[d];
        *moff += idx * gm->mstride[d];
    }
}

static dc_status softmax_infer(dc_node *n)
{
    dc_node *x = n->in[0], *m = n->in[1];
    char sx[96], sm[96];
    int axis = n->attr.softmax.axis;
    dc_shape_str(x->ndim, x->shape, sx, sizeof sx);
    if (axis < 0 || axis >= x->ndim || (x->batched && axis == 0))
        return dc_fail(DC_ERR_SHAPE, "softmax: axis %d of %s is %s", axis, sx,
                       axis == 0 && x->batched ? "the batch axis" : "out of range");
    if (m) {
        dc_shape_str(m->ndim, m->shape, sm, sizeof sm);
        if (n->attr.softmax.mask != DC_SOFTMAX_MASK_BOOL && n->attr.softmax.mask != DC_SOFTMAX_MASK_ADD)
            return dc_fail(DC_ERR_ARG, "softmax: mask kind %d; expected boolean (%d) or additive (%d)",
                           n->attr.softmax.mask, DC_SOFTMAX_MASK_BOOL, DC_SOFTMAX_MASK_ADD);
        if (m->ndim > x->ndim)
            return dc_fail(DC_ERR_SHAPE, "softmax: mask %s has more axes than the input %s", sm, sx);
        for (int d = x->ndim - 1, md = m->ndim - 1; md >= 0; d--, md--) {
            int batch_meets = (m->batched && md == 0) != (x->batched && d == 0);
            if ((m->shape[md] != 1 && m->shape[md] != x->shape[d]) ||
                (batch_meets && (m->batched ? 1 : m->shape[md]) != 1))
                return dc_fail(DC_ERR_SHAPE, "softmax: mask %s does not broadcast to the input %s (each mask axis "
                                             "must be 1 or the input's, batch axis against batch axis)", sm, sx);
        }
    }
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return DC_OK;
}

static void softmax_row(const sm_geom *gm, int kind, const float *x, const float *mk, float *y)
{
    size_t st = gm->inner;
    int len = gm->len;
    float mx = -INFINITY;
    for (int l = 0; l < len; l++) {
        float v = x[l * st];
        if (kind == DC_SOFTMAX_MASK_ADD)
            v += mk[l * gm->mstride[gm->axis]];
        else if (kind == DC_SOFTMAX_MASK_BOOL && !(mk[l * gm->mstride[gm->axis]] > 0.5f))
            continue;
        mx = v > mx ? v : mx;
    }
    if (mx == -INFINITY) { /* every position masked: Keras' where(mask, y, 0) gives zeros */
        for (int l = 0; l < len; l++)
            y[l * st] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int l = 0; l < len; l++) {
        float v = x[l * st];
        if (kind == DC_SOFTMAX_MASK_ADD) {
            v += mk[l * gm->mstride[gm->axis]];
        } else if (kind == DC_SOFTMAX_MASK_BOOL && !(mk[l * gm->mstride[gm->axis]] > 0.5f)) {
            y[l * st] = 0.0f;
            continue;
        }
        float e = expf(v - mx);
        y[l * st] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int l = 0; l < len; l++)
        y[l * st] *= inv;
}

// x (...), mask (broadcast) -> y (...)
static dc_status softmax_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    sm_geom gm;
    sm_geometry(n, &gm);
    const dc_node *m = n->in[1];
    int kind = m ? n->attr.softmax.mask : DC_SOFTMAX_MASK_NONE;
    const float *x = n->in[0]->val, *mv = m ? m->val : NULL;
    long rows = (long)gm.rows;
#pragma omp parallel for schedule(static) if (dc_worth_parallel(10.0 * (double)dc_node_numel(n)))
    for (long r = 0; r < rows; r++) {
        size_t xo, mo;
        sm_row(&gm, (size_t)r, &xo, &mo);
        softmax_row(&gm, kind, x + xo, mv ? mv + mo : NULL, n->val + xo);
    }
    return DC_OK;
}

static void softmax_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *m = n->in[1];
    sm_geom gm;
    sm_geometry(n, &gm);
    size_t st = gm.inner;
    int len = gm.len;
    long rows = (long)gm.rows;
    const float *y = n->val, *gy = n->grad;
    if (x->requires_grad) {
#pragma omp parallel for schedule(static) if (dc_worth_parallel(6.0 * (double)dc_node_numel(n)))
        for (long r = 0; r < rows; r++) {
            size_t xo, mo;
            sm_row(&gm, (size_t)r, &xo, &mo);
            double dot = 0.0;
            for (int l = 0; l < len; l++)
                dot += (double)y[xo + l * st] * gy[xo + l * st];
            for (int l = 0; l < len; l++)
                x->grad[xo + l * st] += y[xo + l * st] * (gy[xo + l * st] - (float)dot);
        }
    }
    if (m && m->requires_grad && n->attr.softmax.mask == DC_SOFTMAX_MASK_ADD) { /* serial: broadcast blocks repeat */
        for (long r = 0; r < rows; r++) {
            size_t xo, mo;
            sm_row(&gm, (size_t)r, &xo, &mo);
            double dot = 0.0;
            for (int l = 0; l < len; l++)
                dot += (double)y[xo + l * st] * gy[xo + l * st];
            for (int l = 0; l < len; l++)
                m->grad[mo + l * gm.mstride[gm.axis]] += y[xo + l * st] * (gy[xo + l * st] - (float)dot);
        }
    }
}

/* The mask (input 1) is optional. */
const dc_op dc_op_softmax = {.name = "softmax", .n_inputs = 2, .optional = DC_OPTIONAL(1), .infer = softmax_infer,
                             .forward = softmax_forward, .backward = softmax_backward};

dc_node *dc_softmax_axis(dc_graph *g, dc_node *x, int axis, dc_node *mask, dc_softmax_mask kind)
{
    DC_CHECK_NULL_OR(g, NULL);
    DC_CHECK_NULL_OR(x, NULL);
    if (axis < 0)
        axis += x->ndim;
    dc_node *in[2] = {x, mask};
    dc_attr attr = {.softmax = {axis, mask ? (int)kind : DC_SOFTMAX_MASK_NONE}};
    return dc_node_make(g, &dc_op_softmax, 2, in, &attr);
}

/* ---- attention_mask ---- */

static dc_status attn_mask_infer(dc_node *n)
{
    int tq = n->attr.attn_mask.tq, tk = n->attr.attn_mask.tk, seen = 0, batched = 0, batch = 0;
    static const char *const what[4] = {"query mask", "value mask", "key mask", "attention mask"};
    char s[96];
    if (tq < 1 || tk < 1)
        return dc_fail(DC_ERR_SHAPE, "attention_mask: lengths %d and %d, expected positive", tq, tk);
    for (int i = 0; i < 4; i++) {
        const dc_node *m = n->in[i];
        if (!m)
            continue;
        int want_nd = i == 3 ? 3 : 2, want_last = i == 0 ? tq : tk;
        int ok = m->ndim == want_nd && m->shape[m->ndim - 1] == want_last && (i != 3 || m->shape[1] == tq);
        if (ok && seen && (m->shape[0] != batch || m->batched != batched))
            ok = 0;
        if (!ok)
            return dc_fail(DC_ERR_SHAPE, "attention_mask: %s has shape %s; expected (batch, %d%s%d)", what[i],
                           dc_shape_str(m->ndim, m->shape, s, sizeof s), i == 3 ? tq : want_last, i == 3 ? ", " : "",
                           i == 3 ? tk : 0);
        seen = 1;
        batched = m->batched;
        batch = m->shape[0];
    }
    n->batched = batched;
    n->ndim = seen ? 3 : 2;
    n->shape[0] = batch;
    n->shape[seen] = tq;
    n->shape[seen + 1] = tk;
    return DC_OK;
}

// qm (B, Tq), vm (B, Tk), km (B, Tk), am (B, Tq, Tk) -> (B, Tq, Tk) of 0 / 1
static dc_status attn_mask_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    int tq = n->attr.attn_mask.tq, tk = n->attr.attn_mask.tk, causal = n->attr.attn_mask.causal;
    const dc_node *qm = n->in[0], *vm = n->in[1], *km = n->in[2], *am = n->in[3];
    int B = n->ndim == 3 ? n->shape[0] : 1;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < tq; i++) {
            size_t row = ((size_t)b * (size_t)tq + (size_t)i) * (size_t)tk;
            int q_keep = !qm || qm->val[(size_t)b * (size_t)tq + (size_t)i] != 0.0f;
            for (int j = 0; j < tk; j++) {
                int keep = q_keep && (!causal || j <= i);
                keep = keep && (!vm || vm->val[(size_t)b * (size_t)tk + (size_t)j] != 0.0f);
                keep = keep && (!km || km->val[(size_t)b * (size_t)tk + (size_t)j] != 0.0f);
                keep = keep && (!am || am->val[row + (size_t)j] > 0.5f);
                n->val[row + (size_t)j] = keep ? 1.0f : 0.0f;
            }
        }
    return DC_OK;
}

/* Every input is optional; nothing is differentiated. */
const dc_op dc_op_attention_mask = {.name = "attention_mask", .n_inputs = 4,
                                    .optional = DC_OPTIONAL(0) | DC_OPTIONAL(1) | DC_OPTIONAL(2) | DC_OPTIONAL(3),
                                    .infer = attn_mask_infer, .forward = attn_mask_forward};

dc_node *dc_attention_mask(dc_graph *g, dc_node *query_mask, dc_node *value_mask, dc_node *key_mask,
                           dc_node *attention_mask, int tq, int tk, int causal)
{
    DC_CHECK_NULL_OR(g, NULL);
    dc_node *in[4] = {query_mask, value_mask, key_mask, attention_mask};
    dc_attr attr = {.attn_mask = {tq, tk, causal != 0}};
    return dc_node_make(g, &dc_op_attention_mask, 4, in, &attr);
}
