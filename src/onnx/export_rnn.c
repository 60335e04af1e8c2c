/*
 * export_rnn.c - the recurrent op (SimpleRNN, LSTM, GRU: ops_rnn.c) as
 * ONNX, for inference.
 *
 * Without a mask, and with activations ONNX's recurrent ops know (sigmoid,
 * tanh, relu), the layer is one ONNX RNN / LSTM / GRU node over the
 * sequence transposed to (T, B, F):
 *   - gates reordered: Keras' LSTM i, f, c, o is ONNX's i, o, f, c; GRU
 *     z, r, h is the same in both;
 *   - W (1, G U, F) and R (1, G U, U) are Keras' kernel (F, G U) and
 *     recurrent kernel (U, G U) transposed, gate blocks reordered;
 *   - B (1, 2 G U) is the input bias then the recurrent one: Keras' single
 *     bias goes first and the recurrent half is zero, except for a GRU with
 *     reset_after, whose (2, 3U) bias is exactly ONNX's two halves and
 *     whose reset-after form is ONNX's linear_before_reset = 1
 *     (hh = act(x Wh + bx + r * (h Rh + bh))); reset_after = 0 is
 *     linear_before_reset = 0 (hh = act(x Wh + (r * h) Rh + b));
 *   - go_backwards is direction "reverse", whose Y holds each step's output
 *     at its input time: deepc returns that sequence reversed (Keras'
 *     go_backwards), unless reverse_output (Bidirectional's backward copy).
 * With a mask (Embedding(mask_zero), Masking: a step whose id is 0 leaves
 * the state unchanged, wherever it sits, which ONNX's sequence_lens cannot
 * say) or a linear activation, the cell is unrolled over the T steps in
 * small ops (MatMul, Split, the gate activations, Where for the mask),
 * computing what ops_rnn.c computes step by step.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

/* ops_rnn.c's attr.rnn.flags bits (private to it; the values must agree) */
enum { F_SEQ = 1, F_BACKWARDS = 2, F_RESET_AFTER = 4, F_REVERSE_OUT = 8, F_ZERO_MASKED = 16 };

typedef struct rnn_geom {
    int kind, T, F, U, G, GU, flags;
    dc_act act, ract;
    const float *K, *R, *bias; /* (F, GU), (U, GU), (GU) or (2, GU) */
    const char *name;          /* the kernel's parameter: names of the derived initializers */
} rnn_geom;

static const char *onnx_act(dc_act a)
{
    return a == DC_ACT_SIGMOID ? "Sigmoid" : a == DC_ACT_TANH ? "Tanh" : a == DC_ACT_RELU ? "Relu" : NULL;
}

/* Keras' gate index of ONNX's gate og. */
static int keras_gate(int kind, int og)
{
    static const int lstm[4] = {0, 3, 1, 2}; /* ONNX i, o, f, c <- Keras i, f, c, o */
    return kind == DC_RNN_LSTM ? lstm[og] : og;
}

/* src (rows, GU) Keras -> dst (GU, rows) ONNX, gate blocks reordered. */
static void to_onnx_matrix(const rnn_geom *r, const float *src, int rows, float *dst)
{
    for (int og = 0; og < r->G; og++) {
        int kg = keras_gate(r->kind, og);
        for (int j = 0; j < r->U; j++)
            for (int i = 0; i < rows; i++)
                dst[((size_t)og * r->U + j) * rows + i] = src[(size_t)i * r->GU + (size_t)kg * r->U + j];
    }
}

static const char *const_floats(dc_ox *w, const char *name, int ndim, const int64_t *dims, const float *v)
{
    return dc_ox_floats(w, name, ndim, dims, v);
}

/* One ONNX RNN / LSTM / GRU node. */
static dc_status export_op(dc_ox *w, const dc_node *n, const rnn_geom *r, const char **out)
{
    size_t wn = (size_t)r->GU * (size_t)r->F, rn = (size_t)r->GU * (size_t)r->U;
    float *W = malloc(wn * sizeof *W), *R = malloc(rn * sizeof *R), *Bv = calloc(2 * (size_t)r->GU, sizeof *Bv);
    if (!W || !R || !Bv) {
        free(W);
        free(R);
        free(Bv);
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    }
    to_onnx_matrix(r, r->K, r->F, W);
    to_onnx_matrix(r, r->R, r->U, R);
    int two = r->kind == DC_RNN_GRU && (r->flags & F_RESET_AFTER);
    for (int half = 0; half < (two ? 2 : 1); half++)
        for (int og = 0; og < r->G; og++)
            for (int j = 0; j < r->U; j++)
                Bv[(size_t)half * r->GU + (size_t)og * r->U + j] =
                    r->bias[(size_t)half * r->GU + (size_t)keras_gate(r->kind, og) * r->U + j];
    const char *wname = const_floats(w, dc_ox_str(w, "%s/W", r->name), 3, (int64_t[]){1, r->GU, r->F}, W);
    const char *rname = const_floats(w, dc_ox_str(w, "%s/R", r->name), 3, (int64_t[]){1, r->GU, r->U}, R);
    const char *bname = const_floats(w, dc_ox_str(w, "%s/B", r->name), 2, (int64_t[]){1, 2 * r->GU}, Bv);
    free(W);
    free(R);
    free(Bv);
    /* (B, T, F) -> (T, B, F) */
    const char *xt = dc_ox_transpose(w, dc_ox_in(w, n, 0), 3, (int[]){1, 0, 2});
    const char *in[4] = {xt, wname, rname, bname};
    const char *type = r->kind == DC_RNN_LSTM ? "LSTM" : r->kind == DC_RNN_GRU ? "GRU" : "RNN";
    const char *y = dc_ox_op(w, type, 4, in, 2);
    const char *yh = dc_ox_output(w, 1);
    const char *acts[3] = {onnx_act(r->ract), onnx_act(r->act), onnx_act(r->act)};
    dc_ox_attr_int(w, "hidden_size", r->U);
    dc_ox_attr_str(w, "direction", (r->flags & F_BACKWARDS) ? "reverse" : "forward");
    if (r->kind == DC_RNN_LSTM)
        dc_ox_attr_strs(w, "activations", 3, acts);
    else if (r->kind == DC_RNN_GRU)
        dc_ox_attr_strs(w, "activations", 2, acts);
    else
        dc_ox_attr_strs(w, "activations", 1, acts + 1);
    if (r->kind == DC_RNN_GRU)
        dc_ox_attr_int(w, "linear_before_reset", two);
    if (!(r->flags & F_SEQ)) { /* Y_h (1, B, U) -> (B, U) */
        *out = dc_ox_op2(w, "Squeeze", yh, dc_ox_int64s(w, "axes", 1, (int64_t[]){0}));
        return DC_OK;
    }
    /* Y (T, 1, B, U) -> (T, B, U), reversed in time for go_backwards, -> (B, T, U) */
    y = dc_ox_op2(w, "Squeeze", y, dc_ox_int64s(w, "axes", 1, (int64_t[]){1}));
    if ((r->flags & F_BACKWARDS) && !(r->flags & F_REVERSE_OUT)) {
        const char *sin[5] = {y, dc_ox_int64s(w, "starts", 1, (int64_t[]){-1}),
                              dc_ox_int64s(w, "ends", 1, (int64_t[]){INT64_MIN}),
                              dc_ox_int64s(w, "axes", 1, (int64_t[]){0}), dc_ox_int64s(w, "steps", 1, (int64_t[]){-1})};
        y = dc_ox_op(w, "Slice", 5, sin, 1);
    }
    *out = dc_ox_transpose(w, y, 3, (int[]){1, 0, 2});
    return DC_OK;
}

/* ---- unrolled ---- */

/* Splits x (B, parts * size) on axis 1 into parts outputs, into outs. */
static void split(dc_ox *w, const char *x, int parts, const char **outs)
{
    dc_ox_op(w, "Split", 1, &x, parts);
    dc_ox_attr_int(w, "axis", 1);
    for (int i = 0; i < parts; i++)
        outs[i] = dc_ox_output(w, i);
}

/* a + b, with b NULL meaning nothing to add. */
static const char *add_opt(dc_ox *w, const char *a, const char *b) { return b ? dc_ox_op2(w, "Add", a, b) : a; }

/* The constants the unrolled cell reads. */
typedef struct cell_consts {
    const char *K, *R, *R_zr, *R_h, *b_in, *b_rec, *one;
} cell_consts;

/* One step: h_new (and c_new) from x_t (B, GU) with the input projection
 * and bias in, and the state h, c (NULL: zero, the first step). */
static void cell(dc_ox *w, const rnn_geom *r, const cell_consts *k, const char *xt, const char *h, const char *c,
                 const char **h_new, const char **c_new)
{
    if (r->kind == DC_RNN_SIMPLE) {
        *h_new = dc_ox_act(w, add_opt(w, xt, h ? dc_ox_op2(w, "MatMul", h, k->R) : NULL), r->act, 0.0f);
        return;
    }
    if (r->kind == DC_RNN_LSTM) {
        const char *zs[4];
        split(w, add_opt(w, xt, h ? dc_ox_op2(w, "MatMul", h, k->R) : NULL), 4, zs);
        const char *i = dc_ox_act(w, zs[0], r->ract, 0.0f), *f = dc_ox_act(w, zs[1], r->ract, 0.0f);
        const char *g = dc_ox_act(w, zs[2], r->act, 0.0f), *o = dc_ox_act(w, zs[3], r->ract, 0.0f);
        const char *ig = dc_ox_op2(w, "Mul", i, g);
        *c_new = c ? dc_ox_op2(w, "Add", dc_ox_op2(w, "Mul", f, c), ig) : ig;
        *h_new = dc_ox_op2(w, "Mul", o, dc_ox_act(w, *c_new, r->act, 0.0f));
        return;
    }
    const char *xs[3], *z, *rg, *hh;
    split(w, xt, 3, xs);
    if (r->flags & F_RESET_AFTER) { /* hh = act(xh + r * (h Rh + bh)) */
        const char *rec = h ? dc_ox_op2(w, "Add", dc_ox_op2(w, "MatMul", h, k->R), k->b_rec) : k->b_rec, *rs[3];
        split(w, rec, 3, rs);
        z = dc_ox_act(w, dc_ox_op2(w, "Add", xs[0], rs[0]), r->ract, 0.0f);
        rg = dc_ox_act(w, dc_ox_op2(w, "Add", xs[1], rs[1]), r->ract, 0.0f);
        hh = dc_ox_act(w, dc_ox_op2(w, "Add", xs[2], dc_ox_op2(w, "Mul", rg, rs[2])), r->act, 0.0f);
    } else { /* hh = act(xh + (r * h) Rh) */
        const char *zr[2] = {NULL, NULL};
        if (h)
            split(w, dc_ox_op2(w, "MatMul", h, k->R_zr), 2, zr);
        z = dc_ox_act(w, add_opt(w, xs[0], zr[0]), r->ract, 0.0f);
        rg = dc_ox_act(w, add_opt(w, xs[1], zr[1]), r->ract, 0.0f);
        hh = dc_ox_act(w, add_opt(w, xs[2], h ? dc_ox_op2(w, "MatMul", dc_ox_op2(w, "Mul", rg, h), k->R_h) : NULL),
                       r->act, 0.0f);
    }
    /* h = z h + (1 - z) hh */
    const char *blend = dc_ox_op2(w, "Mul", dc_ox_op2(w, "Sub", k->one, z), hh);
    *h_new = h ? dc_ox_op2(w, "Add", dc_ox_op2(w, "Mul", z, h), blend) : blend;
}

static dc_status export_unrolled(dc_ox *w, const dc_node *n, const rnn_geom *r, const char **out)
{
    int T = r->T, U = r->U, GU = r->GU, two = r->kind == DC_RNN_GRU && (r->flags & F_RESET_AFTER);
    const char **xs = dc_ox_alloc(w, (size_t)T * sizeof *xs), **ms = dc_ox_alloc(w, (size_t)T * sizeof *ms);
    const char **ys = dc_ox_alloc(w, (size_t)T * sizeof *ys);
    if (!xs || !ms || !ys)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    cell_consts k = {0};
    k.K = const_floats(w, dc_ox_str(w, "%s/kernel", r->name), 2, (int64_t[]){r->F, GU}, r->K);
    if (r->kind != DC_RNN_GRU || two)
        k.R = const_floats(w, dc_ox_str(w, "%s/recurrent", r->name), 2, (int64_t[]){U, GU}, r->R);
    k.b_in = const_floats(w, dc_ox_str(w, "%s/bias_in", r->name), 1, (int64_t[]){GU}, r->bias);
    if (r->kind == DC_RNN_GRU)
        k.one = dc_ox_scalar(w, 1.0f);
    if (two) /* (1, GU): the first step splits it as it is */
        k.b_rec = const_floats(w, dc_ox_str(w, "%s/bias_rec", r->name), 2, (int64_t[]){1, GU}, r->bias + GU);
    if (r->kind == DC_RNN_GRU && !two) { /* R's z, r columns and h columns apart */
        float *zr = malloc((size_t)U * 2 * U * sizeof *zr), *hcol = malloc((size_t)U * U * sizeof *hcol);
        if (!zr || !hcol) {
            free(zr);
            free(hcol);
            return dc_fail(DC_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < U; i++) {
            memcpy(zr + (size_t)i * 2 * U, r->R + (size_t)i * GU, 2 * (size_t)U * sizeof *zr);
            memcpy(hcol + (size_t)i * U, r->R + (size_t)i * GU + 2 * U, (size_t)U * sizeof *hcol);
        }
        k.R_zr = const_floats(w, dc_ox_str(w, "%s/recurrent_zr", r->name), 2, (int64_t[]){U, 2 * U}, zr);
        k.R_h = const_floats(w, dc_ox_str(w, "%s/recurrent_h", r->name), 2, (int64_t[]){U, U}, hcol);
        free(zr);
        free(hcol);
    }
    /* every step's input projection at once: (B, T, F) K + b -> (B, T, GU), then T pieces (B, GU) */
    const char *xw = dc_ox_op2(w, "Add", dc_ox_op2(w, "MatMul", dc_ox_in(w, n, 0), k.K), k.b_in);
    const char *sq = dc_ox_int64s(w, "axes", 1, (int64_t[]){1});
    if (T == 1)
        xs[0] = dc_ox_op2(w, "Squeeze", xw, sq);
    else {
        split(w, xw, T, xs);
        for (int t = 0; t < T; t++)
            xs[t] = dc_ox_op2(w, "Squeeze", xs[t], sq);
    }
    int masked = n->in[4] != NULL;
    if (masked) { /* (B, T) ids -> T pieces (B, 1) of "the step counts" */
        const char *keep = dc_ox_op1(w, "Not", dc_ox_op2(w, "Equal", dc_ox_in(w, n, 4), dc_ox_scalar(w, 0.0f)));
        if (T == 1)
            ms[0] = keep;
        else
            split(w, keep, T, ms);
    }
    const char *h = NULL, *c = NULL, *zero = masked ? dc_ox_scalar(w, 0.0f) : NULL;
    for (int s = 0; s < T; s++) {
        int t = (r->flags & F_BACKWARDS) ? T - 1 - s : s;
        const char *hn = NULL, *cn = NULL;
        cell(w, r, &k, xs[t], h, c, &hn, &cn);
        if (masked) { /* a masked step carries the state over */
            const char *in[3] = {ms[t], hn, h ? h : zero};
            const char *hk = dc_ox_op(w, "Where", 3, in, 1);
            if (cn) {
                const char *cin[3] = {ms[t], cn, c ? c : zero};
                cn = dc_ox_op(w, "Where", 3, cin, 1);
            }
            if (r->flags & F_ZERO_MASKED) {
                const char *zin[3] = {ms[t], hn, zero};
                ys[t] = dc_ox_op(w, "Where", 3, zin, 1);
            } else {
                ys[t] = hk;
            }
            hn = hk;
        } else {
            ys[t] = hn;
        }
        h = hn;
        c = cn;
    }
    if (!(r->flags & F_SEQ)) {
        *out = h;
        return DC_OK;
    }
    /* output slot s holds input time t: reversed for go_backwards unless reverse_output */
    const char **slots = dc_ox_alloc(w, (size_t)T * sizeof *slots);
    if (!slots)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    int rev = (r->flags & F_BACKWARDS) && !(r->flags & F_REVERSE_OUT);
    for (int s = 0; s < T; s++)
        slots[s] = ys[rev ? T - 1 - s : s];
    const char *cat = T == 1 ? slots[0] : dc_ox_op(w, "Concat", T, slots, 1);
    if (T > 1)
        dc_ox_attr_int(w, "axis", 1);
    *out = dc_ox_reshape_as(w, cat, n); /* (B, T U) -> (B, T, U) */
    return DC_OK;
}

dc_status dc_ox_export_rnn(dc_ox *w, const dc_node *n, const char **out)
{
    const dc_rnn_attr *a = &n->attr.rnn;
    const dc_node *x = n->in[0], *k = n->in[1], *rk = n->in[2], *b = n->in[3];
    rnn_geom r = {0};
    r.kind = a->kind;
    r.T = x->shape[1];
    r.F = x->shape[2];
    r.U = a->units;
    r.G = a->kind == DC_RNN_LSTM ? 4 : a->kind == DC_RNN_GRU ? 3 : 1;
    r.GU = r.G * r.U;
    r.flags = a->flags;
    r.act = (dc_act)a->act;
    r.ract = (dc_act)a->recurrent_act;
    r.K = dc_ox_const_values(k);
    r.R = dc_ox_const_values(rk);
    r.bias = dc_ox_const_values(b);
    r.name = k->name;
    if (!r.K || !r.R || !r.bias)
        return dc_fail(DC_ERR_UNSUPPORTED, "the recurrent layer's weights are not parameters");
    int op_ok = n->in[4] == NULL && onnx_act(r.act) && (r.kind == DC_RNN_SIMPLE || onnx_act(r.ract));
    return op_ok ? export_op(w, n, &r, out) : export_unrolled(w, n, &r, out);
}
