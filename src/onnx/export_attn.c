/*
 * export_attn.c - the ONNX form of the ops attention layers are built from
 * (MultiHeadAttention, Attention, AdditiveAttention, PositionEmbedding,
 * Dot; src/layers/layers_attention.c) and of LogSoftmax, for the table in
 * export_ops.c.  Opset 17 has no attention op: each op is a small subgraph
 * of standard ops that computes what the deepc op computes.
 *
 *   batched_matmul  a (..., m, k) x b (..., k, n): MatMul (numpy's batch
 *                   broadcasting, as deepc's), a transposed operand through
 *                   a Transpose of its last two axes.
 *   softmax         along attr.softmax.axis; an additive mask: Softmax(x +
 *                   mask); a boolean mask (Keras 3's Softmax(mask=)):
 *                   Where(mask > 0.5, x, -1e9), Softmax, Where(mask > 0.5,
 *                   y, 0) (a row masked entirely gives zeros, as deepc's).
 *   attention_mask  the product of 0 / 1 floats: a (Tq, Tk) constant (the
 *                   causal lower triangle, or ones), the query mask (ids !=
 *                   0) as (B, Tq, 1), value and key masks (ids != 0) as (B,
 *                   1, Tk), the attention mask (> 0.5) as (B, Tq, Tk).
 *   mul_scalar      Mul by the (1,) weight.
 *   additive_score  c * ReduceSum(w * Tanh(s * (q (B, Tq, 1, D) + k (B, 1,
 *                   Tk, D))), axis 3).
 *   position_embedding  rows start .. start + T - 1 of the table (Slice),
 *                   Expand-ed to the input's shape (Shape).
 *   l2_normalize    x / Sqrt(Max(ReduceSumSquare(x, axis), 1e-14)).
 *   log_softmax     LogSoftmax over the last axis.
 *   attention       the fused op (MultiHeadAttention's core): q (B, Tq, H,
 *                   Dk), k, v to (B, H, T, D) by Transposes, MatMul (Mul by
 *                   the scale), the allowed keys (mask != 0, times the causal
 *                   triangle) as Where(allowed, s, -1e9), Softmax, MatMul by
 *                   the values, Transpose back.  A query with no allowed key
 *                   attends to every key (allowed = Max(allowed, 1 -
 *                   ReduceMax(allowed))), or, with empty_zero, gets zeros
 *                   (the probabilities times allowed), as the op does.
 */
#include "onnx/onnx_internal.h"

#include <stdlib.h>

/* x with its last two axes (of nd) swapped. */
static const char *swap_last(dc_ox *w, const char *x, int nd)
{
    int perm[DC_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        perm[i] = i;
    perm[nd - 2] = nd - 1;
    perm[nd - 1] = nd - 2;
    return dc_ox_transpose(w, x, nd, perm);
}

dc_status dc_ox_export_bmm(dc_ox *w, const dc_node *n, const char **out)
{
    const char *a = dc_ox_in(w, n, 0), *b = dc_ox_in(w, n, 1);
    if (n->attr.bmm.trans_a)
        a = swap_last(w, a, n->in[0]->ndim);
    if (n->attr.bmm.trans_b)
        b = swap_last(w, b, n->in[1]->ndim);
    *out = dc_ox_op2(w, "MatMul", a, b);
    return DC_OK;
}

/* Where(keep, x, v): v a float scalar. */
static const char *where_else(dc_ox *w, const char *keep, const char *x, float v)
{
    const char *in[3] = {keep, x, dc_ox_scalar(w, v)};
    return dc_ox_op(w, "Where", 3, in, 1);
}

dc_status dc_ox_export_softmax(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (...) with a mask broadcasting to it (aligned from the right) */
    const char *x = dc_ox_in(w, n, 0), *keep = NULL;
    int kind = n->in[1] ? n->attr.softmax.mask : DC_SOFTMAX_MASK_NONE;
    if (kind == DC_SOFTMAX_MASK_ADD) {
        x = dc_ox_op2(w, "Add", x, dc_ox_in(w, n, 1));
    } else if (kind == DC_SOFTMAX_MASK_BOOL) {
        keep = dc_ox_op2(w, "Greater", dc_ox_in(w, n, 1), dc_ox_scalar(w, 0.5f));
        x = where_else(w, keep, x, -1e9f); /* Keras' large negative number for float32 */
    }
    const char *y = dc_ox_op1(w, "Softmax", x);
    dc_ox_attr_int(w, "axis", n->attr.softmax.axis);
    *out = keep ? where_else(w, keep, y, 0.0f) : y;
    return DC_OK;
}

/* 1.0 where ids != 0, 0.0 elsewhere. */
static const char *nonzero(dc_ox *w, const char *ids)
{
    const char *f = dc_ox_op1(w, "Cast", dc_ox_op1(w, "Not", dc_ox_op2(w, "Equal", ids, dc_ox_scalar(w, 0.0f))));
    dc_ox_attr_int(w, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    return f;
}

dc_status dc_ox_export_attn_mask(dc_ox *w, const dc_node *n, const char **out)
{
    /* qm (B, Tq), vm (B, Tk), km (B, Tk), am (B, Tq, Tk) -> (B, Tq, Tk) of 1 / 0; (Tq, Tk) without any */
    int tq = n->attr.attn_mask.tq, tk = n->attr.attn_mask.tk;
    size_t cells = (size_t)tq * (size_t)tk;
    float *c = malloc(cells * sizeof *c);
    if (!c)
        return dc_fail(DC_ERR_NOMEM, "out of memory for the (%d, %d) mask", tq, tk);
    for (int i = 0; i < tq; i++)
        for (int j = 0; j < tk; j++)
            c[(size_t)i * (size_t)tk + (size_t)j] = !n->attr.attn_mask.causal || j <= i ? 1.0f : 0.0f;
    const char *m = dc_ox_floats(w, NULL, 2, (int64_t[]){tq, tk}, c);
    free(c);
    for (int k = 0; k < 4; k++) {
        if (!n->in[k])
            continue;
        const char *f;
        if (k == 3) {
            f = dc_ox_op1(w, "Cast", dc_ox_op2(w, "Greater", dc_ox_in(w, n, 3), dc_ox_scalar(w, 0.5f)));
            dc_ox_attr_int(w, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
        } else { /* the query's steps down the rows, the value's / key's across */
            f = dc_ox_op2(w, "Unsqueeze", nonzero(w, dc_ox_in(w, n, k)), dc_ox_int64s(w, "axes", 1, (int64_t[]){k ? 1 : 2}));
        }
        m = dc_ox_op2(w, "Mul", m, f);
    }
    *out = m;
    return DC_OK;
}

dc_status dc_ox_export_mul_scalar(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_op2(w, "Mul", dc_ox_in(w, n, 0), dc_ox_in(w, n, 1)); /* the factor (1,) broadcasts */
    return DC_OK;
}

dc_status dc_ox_export_additive_score(dc_ox *w, const dc_node *n, const char **out)
{
    /* q (B, Tq, D), k (B, Tk, D); w (D), s (1,), c (1,) optional -> (B, Tq, Tk) */
    const char *q = dc_ox_op2(w, "Unsqueeze", dc_ox_in(w, n, 0), dc_ox_int64s(w, "axes", 1, (int64_t[]){2}));
    const char *k = dc_ox_op2(w, "Unsqueeze", dc_ox_in(w, n, 1), dc_ox_int64s(w, "axes", 1, (int64_t[]){1}));
    const char *u = dc_ox_op2(w, "Add", q, k); /* (B, Tq, Tk, D) */
    if (n->in[3])
        u = dc_ox_op2(w, "Mul", u, dc_ox_in(w, n, 3));
    u = dc_ox_op1(w, "Tanh", u);
    if (n->in[2])
        u = dc_ox_op2(w, "Mul", u, dc_ox_in(w, n, 2));
    u = dc_ox_op2(w, "ReduceSum", u, dc_ox_int64s(w, "axes", 1, (int64_t[]){3}));
    dc_ox_attr_int(w, "keepdims", 0);
    if (n->in[4])
        u = dc_ox_op2(w, "Mul", u, dc_ox_in(w, n, 4));
    *out = u;
    return DC_OK;
}

dc_status dc_ox_export_posemb(dc_ox *w, const dc_node *n, const char **out)
{
    /* x (..., T, D) gives the shape; table (L, D) rows start .. start + T - 1 */
    int64_t start = n->attr.axis.axis, t = n->shape[n->ndim - 2];
    const char *in[4] = {dc_ox_in(w, n, 1), dc_ox_int64s(w, "starts", 1, &start),
                         dc_ox_int64s(w, "ends", 1, (int64_t[]){start + t}), dc_ox_int64s(w, "axes", 1, (int64_t[]){0})};
    const char *rows = dc_ox_op(w, "Slice", 4, in, 1);
    *out = dc_ox_op2(w, "Expand", rows, dc_ox_op1(w, "Shape", dc_ox_in(w, n, 0)));
    return DC_OK;
}

dc_status dc_ox_export_l2_normalize(dc_ox *w, const dc_node *n, const char **out)
{
    /* x / sqrt(max(sum x^2, 1e-14)) along the axis (opset 13-17: axes an attribute) */
    const char *x = dc_ox_in(w, n, 0);
    const char *ss = dc_ox_op1(w, "ReduceSumSquare", x);
    dc_ox_attr_ints(w, "axes", 1, (int64_t[]){n->attr.axis.axis});
    dc_ox_attr_int(w, "keepdims", 1);
    const char *norm = dc_ox_op1(w, "Sqrt", dc_ox_op2(w, "Max", ss, dc_ox_scalar(w, 1e-14f)));
    *out = dc_ox_op2(w, "Div", x, norm);
    return DC_OK;
}

dc_status dc_ox_export_log_softmax(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_op1(w, "LogSoftmax", dc_ox_in(w, n, 0));
    dc_ox_attr_int(w, "axis", -1);
    return DC_OK;
}

dc_status dc_ox_export_attention(dc_ox *w, const dc_node *n, const char **out)
{
    /* q (B, Tq, H, Dk), k (B, Tk, H, Dk), v (B, Tk, H, Dv), mask (B, Tq, Tk) or none -> (B, Tq, H, Dv) */
    const dc_attention_attr *a = &n->attr.attention;
    int tq = n->in[0]->shape[1], tk = n->in[1]->shape[1];
    const char *q = dc_ox_transpose(w, dc_ox_in(w, n, 0), 4, (const int[]){0, 2, 1, 3});
    const char *k = dc_ox_transpose(w, dc_ox_in(w, n, 1), 4, (const int[]){0, 2, 3, 1});
    const char *v = dc_ox_transpose(w, dc_ox_in(w, n, 2), 4, (const int[]){0, 2, 1, 3});
    const char *s = dc_ox_op2(w, "MatMul", q, k); /* (B, H, Tq, Tk) */
    if (a->scale != 1.0f)
        s = dc_ox_op2(w, "Mul", s, dc_ox_scalar(w, a->scale));
    const char *allowed = NULL; /* 1 / 0 floats, (B, 1, Tq, Tk) or (Tq, Tk) */
    if (a->causal) {
        size_t cells = (size_t)tq * (size_t)tk;
        float *c = malloc(cells * sizeof *c);
        if (!c)
            return dc_fail(DC_ERR_NOMEM, "out of memory for the (%d, %d) causal mask", tq, tk);
        for (int i = 0; i < tq; i++)
            for (int j = 0; j < tk; j++)
                c[(size_t)i * (size_t)tk + (size_t)j] = j <= i ? 1.0f : 0.0f;
        allowed = dc_ox_floats(w, NULL, 2, (int64_t[]){tq, tk}, c);
        free(c);
    }
    if (n->in[3]) {
        const char *m = dc_ox_op2(w, "Unsqueeze", nonzero(w, dc_ox_in(w, n, 3)), dc_ox_int64s(w, "axes", 1, (int64_t[]){1}));
        allowed = allowed ? dc_ox_op2(w, "Mul", m, allowed) : m;
    }
    if (allowed && !a->empty_zero) { /* a row with no allowed key attends to every key */
        const char *any = dc_ox_op1(w, "ReduceMax", allowed);
        dc_ox_attr_ints(w, "axes", 1, (int64_t[]){-1});
        dc_ox_attr_int(w, "keepdims", 1);
        allowed = dc_ox_op2(w, "Max", allowed, dc_ox_op2(w, "Sub", dc_ox_scalar(w, 1.0f), any));
    }
    const char *keep = allowed ? dc_ox_op2(w, "Greater", allowed, dc_ox_scalar(w, 0.5f)) : NULL;
    if (keep)
        s = where_else(w, keep, s, -1e9f);
    const char *p = dc_ox_op1(w, "Softmax", s);
    dc_ox_attr_int(w, "axis", -1);
    if (allowed && a->empty_zero)
        p = dc_ox_op2(w, "Mul", p, allowed); /* wholly masked rows: zeros; the others' masked keys are already 0 */
    *out = dc_ox_transpose(w, dc_ox_op2(w, "MatMul", p, v), 4, (const int[]){0, 2, 1, 3});
    return DC_OK;
}
