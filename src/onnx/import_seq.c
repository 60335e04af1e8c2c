/*
 * import_seq.c - the ONNX translators for sequences and for reshaping,
 * joining and combining values: LSTM / GRU / RNN, Gather as an Embedding,
 * Gather / Slice of one axis of a value, Reshape and Flatten of a value,
 * Concat, and the elementwise Add / Sub / Mul / Div of values (with the
 * exact-GELU pattern PyTorch writes for nn.GELU).
 *
 * Recurrent ops: ONNX's X is (steps, batch, features) (layout 0) or (batch,
 * steps, features) (layout 1); deepc's layers take (batch, steps,
 * features), which is how X is stored either way (PyTorch's batch_first
 * Transpose costs nothing: only pos changes).  The outputs Y (steps, 1,
 * batch, hidden) and Y_h (1, batch, hidden) are the layer's
 * return_sequences 1 / 0 output with the num_directions axis virtual.
 * Weights: ONNX W (1, gates * hidden, features), R (1, gates * hidden,
 * hidden), B (1, 2 * gates * hidden) = input then recurrent biases; deepc
 * (Keras) kernel (features, gates * units), recurrent (units, gates *
 * units), bias (gates * units) = their sum, or for GRU reset_after (2,
 * 3 units) = both rows.  LSTM gates: ONNX i o f c, Keras i f c o; GRU: z r h
 * in both.
 */
#include "layers/layer.h"
#include "onnx/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dc_status define_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k, int ref, int ndim,
                            const int64_t *dims, const int *pos)
{
    dc_onnx_value *o = dc_onnx_out(im, n, k);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, ref, ndim, dims, pos);
    return DC_OK;
}

/* ------------------------------------------------------- elementwise */

/* The one value of a constant that broadcasts without changing x's shape
 * (every value equal), or NAN. */
static double scalar_of(const dc_onnx_value *c, const dc_onnx_value *x)
{
    size_t k = dc_onnx_numel(c);
    if (c->ndim > x->ndim || !k)
        return NAN;
    for (int i = 0; i < c->ndim; i++)
        if (c->dims[i] != 1 && c->dims[i] != x->dims[x->ndim - c->ndim + i])
            return NAN;
    double v = dc_onnx_at(c, 0);
    for (size_t i = 1; i < k; i++)
        if (dc_onnx_at(c, i) != v)
            return NAN;
    return dc_onnx_special(v) ? NAN : v;
}

const Onnx__NodeProto *dc_onnx_affine_chain(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x,
                                             double *scale, double *offset)
{
    const Onnx__NodeProto *last = n;
    for (;;) {
        const dc_onnx_slot *sl = dc_onnx_slot_of(im, last->output[0]);
        if (!sl || sl->uses != 1 || sl->reader >= (int)im->graph->n_node)
            return last;
        const Onnx__NodeProto *r = im->graph->node[sl->reader];
        const char *t = r->op_type;
        int op = !strcmp(t, "Add") ? '+' : !strcmp(t, "Sub") ? '-' : !strcmp(t, "Mul") ? '*' : !strcmp(t, "Div") ? '/'
                                                                                                                  : 0;
        if (!op || r->n_input != 2 || !strcmp(r->input[0], r->input[1]))
            return last;
        int first = !strcmp(r->input[0], last->output[0]);
        dc_onnx_value *c = dc_onnx_find(im, r->input[first ? 1 : 0]);
        double v = c && c->kind == DC_ONNX_CONST ? scalar_of(c, x) : NAN;
        if (isnan(v) || !isfinite(v) || (op == '/' && (!first || v == 0)))
            return last;
        if (op == '+')
            *offset += v;
        else if (op == '-' && first)
            *offset -= v;
        else if (op == '-') {
            *scale = -*scale;
            *offset = v - *offset;
        } else {
            double k = op == '*' ? v : 1.0 / v;
            *scale *= k;
            *offset *= k;
        }
        im->skip[sl->reader] = 1;
        last = r;
    }
}

/* The node reading output 0 of n, when it is the only reader, of op `type`
 * with `other` as its other input when given. */
static const Onnx__NodeProto *sole_reader(dc_onnx_importer *im, const Onnx__NodeProto *n, const char *type,
                                          const dc_onnx_value *x, double other)
{
    const dc_onnx_slot *s = dc_onnx_slot_of(im, n->output[0]);
    if (!s || s->uses != 1 || s->reader >= (int)im->graph->n_node)
        return NULL;
    const Onnx__NodeProto *r = im->graph->node[s->reader];
    if (strcmp(r->op_type, type) != 0 || r->n_input != 2)
        return NULL;
    const char *o = !strcmp(r->input[0], n->output[0]) ? r->input[1] : r->input[0];
    if (x)
        return !strcmp(o, x->name) ? r : NULL;
    dc_onnx_value *c = dc_onnx_find(im, o);
    return c && c->kind == DC_ONNX_CONST && dc_onnx_numel(c) == 1 && fabs(dc_onnx_at(c, 0) - other) < 1e-6 ? r
                                                                                                           : NULL;
}

/* x / sqrt(2) (or x * 1/sqrt(2)) -> Erf -> + 1 -> * x -> * 0.5: GELU. */
static int gelu_chain(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, const dc_onnx_value *x, double c,
                      const Onnx__NodeProto **last)
{
    if (!((op == '/' && fabs(c - M_SQRT2) < 1e-6) || (op == '*' && fabs(c - M_SQRT1_2) < 1e-6)))
        return 0;
    const dc_onnx_slot *s = dc_onnx_slot_of(im, n->output[0]);
    if (!s || s->uses != 1 || s->reader >= (int)im->graph->n_node)
        return 0;
    const Onnx__NodeProto *erf = im->graph->node[s->reader];
    if (strcmp(erf->op_type, "Erf") != 0)
        return 0;
    const Onnx__NodeProto *add = sole_reader(im, erf, "Add", NULL, 1.0);
    const Onnx__NodeProto *mul = add ? sole_reader(im, add, "Mul", x, 0) : NULL;
    const Onnx__NodeProto *half = mul ? sole_reader(im, mul, "Mul", NULL, 0.5) : NULL;
    if (!half)
        return 0;
    const Onnx__NodeProto *chain[4] = {erf, add, mul, half};
    for (int i = 0; i < 4; i++) /* translated as part of this node */
        im->skip[dc_onnx_producer(im, chain[i]->output[0])] = 1;
    *last = half;
    return 1;
}

/* x op c (x_first) or c op x with c a constant tensor that broadcasts to x's
 * shape (per-channel scales and shifts, LayerNorm's gamma and beta written
 * out): the ConstantOp layer, c laid out as x is stored (its size on each
 * stored axis, 1 where it broadcasts). */
static dc_status constant_op(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, dc_onnx_value *x,
                             const dc_onnx_value *c, int x_first)
{
    int lead = x->ndim - c->ndim, ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(x, ord), shape[DC_ONNX_MAX_RANK];
    if (lead < 0 || !c->data || dc_onnx_numel(c) == 0)
        return dc_fail(DC_ERR_FORMAT, "%s: the constant '%s' (rank %d) does not broadcast to '%s' (rank %d)",
                       n->op_type, c->name, c->ndim, x->name, x->ndim);
    int64_t cd[DC_ONNX_MAX_RANK];
    for (int i = 0; i < x->ndim; i++) {
        cd[i] = i < lead ? 1 : c->dims[i - lead];
        if (cd[i] != 1 && (cd[i] != x->dims[i] || x->pos[i] <= 0))
            return dc_fail(DC_ERR_FORMAT, "%s: the constant '%s' does not broadcast to '%s' on axis %d (%lld, %lld; "
                                          "deepc broadcasts a constant over a value's axes, not the value over the "
                                          "constant's, nor over the batch)", n->op_type, c->name, x->name, i,
                           (long long)cd[i], (long long)x->dims[i]);
    }
    size_t total = 1, cs[DC_ONNX_MAX_RANK], stride = 1;
    for (int i = x->ndim - 1; i >= 0; i--) { /* strides of c seen with x's rank */
        cs[i] = stride;
        stride *= (size_t)cd[i];
    }
    for (int s = 1; s < sn; s++) {
        shape[s - 1] = (int)cd[ord[s]];
        total *= (size_t)shape[s - 1];
    }
    if (sn < 2)
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' has no axis besides the batch", n->op_type, x->name);
    float *w = malloc(total * sizeof(float));
    if (!w)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < total; i++) { /* element i of the stored layout: its index in c */
        size_t rest = i, src = 0;
        for (int s = sn - 1; s >= 1; s--) {
            size_t k = rest % (size_t)shape[s - 1];
            rest /= (size_t)shape[s - 1];
            src += k * cs[ord[s]];
        }
        w[i] = dc_onnx_f32(c->data[src]);
    }
    int code = op == '+' ? 0 : op == '*' ? 2 : op == '-' ? (x_first ? 1 : 4) : (x_first ? 3 : 5);
    int r = dc_onnx_apply(im, n, dc_layer_constant_op(code, sn - 1, shape), 1, &x->ref);
    dc_status st = r < 0 ? dc_last_status() : dc_onnx_weight_add(im, 0, w, total);
    if (r < 0)
        free(w);
    return st == DC_OK ? define_dyn(im, n, 0, r, x->ndim, x->dims, x->pos) : st;
}

/* Clip's bounds (attributes before opset 11, constant inputs after);
 * 0 when they are not constants. */
static int clip_range(dc_onnx_importer *im, const Onnx__NodeProto *c, double *lo, double *hi)
{
    *lo = -INFINITY;
    *hi = INFINITY;
    if (im->opset < 11) {
        *lo = dc_onnx_attr_float(c, "min", -INFINITY);
        *hi = dc_onnx_attr_float(c, "max", INFINITY);
        return 1;
    }
    for (size_t k = 1; k < 3 && k < c->n_input; k++) {
        dc_onnx_value *v = c->input[k][0] ? dc_onnx_find(im, c->input[k]) : NULL;
        if (c->input[k][0] && (!v || v->kind != DC_ONNX_CONST || dc_onnx_numel(v) != 1))
            return 0;
        if (v)
            *(k == 1 ? lo : hi) = dc_onnx_at(v, 0);
    }
    return 1;
}

/* x + 3 -> Clip(0, 6) -> * x -> / 6 (or * 1/6): hard_swish, each node the
 * only reader of the one before; n is the Add.  On a match the nodes are
 * marked translated and *last is the division. */
static int hard_swish_chain(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x,
                            const Onnx__NodeProto **last)
{
    const dc_onnx_slot *s = dc_onnx_slot_of(im, n->output[0]);
    if (!s || s->uses != 1 || s->reader >= (int)im->graph->n_node)
        return 0;
    const Onnx__NodeProto *clip = im->graph->node[s->reader];
    double lo, hi;
    if (strcmp(clip->op_type, "Clip") != 0 || !clip_range(im, clip, &lo, &hi) || lo != 0 || hi != 6)
        return 0;
    const Onnx__NodeProto *mul = sole_reader(im, clip, "Mul", x, 0);
    const Onnx__NodeProto *div = mul ? sole_reader(im, mul, "Div", NULL, 6.0) : NULL;
    if (mul && !div)
        div = sole_reader(im, mul, "Mul", NULL, 1.0 / 6.0);
    if (!div || (!strcmp(div->op_type, "Div") && strcmp(div->input[0], mul->output[0]) != 0))
        return 0;
    const Onnx__NodeProto *chain[3] = {clip, mul, div};
    for (int i = 0; i < 3; i++)
        im->skip[dc_onnx_producer(im, chain[i]->output[0])] = 1;
    *last = div;
    return 1;
}

static dc_status with_constant(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, dc_onnx_value *x,
                               dc_onnx_value *c, int x_first)
{
    double v = scalar_of(c, x);
    if (isnan(v))
        return constant_op(im, n, op, x, c, x_first);
    const Onnx__NodeProto *def = n;
    dc_layer *l;
    double scale = 1, offset = 0;
    if (x_first && gelu_chain(im, n, op, x, v, &def))
        l = dc_layer_activation("gelu");
    else if (op == '+' && v == 3 && hard_swish_chain(im, n, x, &def)) {
        def = dc_onnx_affine_chain(im, def, x, &scale, &offset); /* the scalar ops after it */
        l = dc_layer_hard_swish(dc_onnx_f32(scale), dc_onnx_f32(offset));
    } else {
        if (op == '+' || op == '-') {
            scale = op == '-' && !x_first ? -1.0 : 1.0;
            offset = op == '-' && x_first ? -v : v;
        } else if (op == '*')
            scale = v;
        else if (x_first && v != 0)
            scale = 1.0 / v;
        else
            return dc_fail(DC_ERR_FORMAT, "Div: a constant divided by a value, or by 0, is not supported");
        /* the scalar ops after it (a batch norm folded to Mul, Add ...) in the same layer */
        def = dc_onnx_affine_chain(im, n, x, &scale, &offset);
        if (scale == 1 && offset == 0) /* x * 1: x itself */
            return define_dyn(im, def, 0, x->ref, x->ndim, x->dims, x->pos);
        l = dc_layer_rescaling(dc_onnx_f32(scale), dc_onnx_f32(offset));
    }
    int r = dc_onnx_apply(im, n, l, 1, &x->ref);
    return r < 0 ? dc_last_status() : define_dyn(im, def, 0, r, x->ndim, x->dims, x->pos);
}

/* a op b of two values of one rank whose shapes differ (or Div): the
 * Broadcast layer.  The value of the result's shape leads (for + and *,
 * either); the other is reshaped to the lead's stored order with its size-1
 * axes, which needs its other axes stored in the lead's relative order. */
static dc_status broadcast_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, dc_onnx_value *a,
                               dc_onnx_value *b)
{
    if (a->ndim != b->ndim)
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' (rank %d) and '%s' (rank %d): broadcasting across ranks is not "
                                      "supported", n->op_type, a->name, a->ndim, b->name, b->ndim);
    int a_leads = 1, b_leads = 1;
    for (int i = 1; i < a->ndim; i++) {
        if (a->dims[i] != b->dims[i] && a->dims[i] != 1 && b->dims[i] != 1)
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' and '%s' differ on axis %d (%lld and %lld) and neither is 1",
                           n->op_type, a->name, b->name, i, (long long)a->dims[i], (long long)b->dims[i]);
        a_leads &= a->dims[i] >= b->dims[i];
        b_leads &= b->dims[i] >= a->dims[i];
    }
    dc_onnx_value *l = a, *o = b;
    if (!a_leads) {
        if (!b_leads || op == '-' || op == '/')
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' must have the shape of the result (broadcasting the first operand "
                                          "of %s, or both, is not supported)", n->op_type, a->name, n->op_type);
        l = b;
        o = a;
    }
    int shape[DC_ONNX_MAX_RANK], nd = 0, last = 0, ref;
    for (int s = 1; s < DC_ONNX_MAX_RANK + 1; s++) /* the lead's stored axes in order */
        for (int i = 1; i < l->ndim; i++)
            if (l->pos[i] == s) {
                if (o->dims[i] > 1) {
                    if (o->pos[i] < last)
                        return dc_fail(DC_ERR_FORMAT, "%s: '%s' and '%s' store their axes in different orders",
                                       n->op_type, a->name, b->name);
                    last = o->pos[i];
                }
                shape[nd++] = (int)o->dims[i];
            }
    for (int i = 1; i < l->ndim; i++)
        if (l->pos[i] < 0 && o->dims[i] != 1)
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' has a size-1 axis %d that '%s' fills", n->op_type, l->name, i,
                           o->name);
    dc_onnx_value w = *o;
    dc_status st = dc_onnx_reshape_to(im, n, &w, nd, shape, &ref);
    if (st != DC_OK)
        return st;
    int code = op == '+' ? 0 : op == '-' ? 1 : op == '*' ? 2 : 3;
    int r = dc_onnx_apply(im, n, dc_layer_broadcast(code), 2, (int[]){l->ref, ref});
    return r < 0 ? dc_last_status() : define_dyn(im, n, 0, r, l->ndim, l->dims, l->pos);
}

dc_status dc_onnx_binary_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, dc_onnx_value *a,
                             dc_onnx_value *b)
{
    if (a->kind != DC_ONNX_DYN)
        return with_constant(im, n, op, b, a, 0);
    if (b->kind != DC_ONNX_DYN)
        return with_constant(im, n, op, a, b, 1);
    if (a->ndim != b->ndim || memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof(int64_t)) != 0 || op == '/')
        return broadcast_dyn(im, n, op, a, b);
    dc_onnx_value w = *b;
    for (int i = 0; i < a->ndim; i++)
        if ((a->pos[i] < 0) != (w.pos[i] < 0))
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' and '%s' store their size-1 axes differently", n->op_type,
                           a->name, b->name);
    dc_status st = dc_onnx_relayout(im, n, &w, a->pos);
    if (st != DC_OK)
        return st;
    dc_layer *l = op == '+' ? dc_layer_add() : op == '-' ? dc_layer_subtract() : dc_layer_multiply();
    int r = dc_onnx_apply(im, n, l, 2, (int[]){a->ref, w.ref});
    return r < 0 ? dc_last_status() : define_dyn(im, n, 0, r, a->ndim, a->dims, a->pos);
}

dc_status dc_onnx_concat_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, int axis, const int64_t *dims)
{
    dc_onnx_value *v0 = dc_onnx_in(im, n, 0);
    int refs[DC_MERGE_MAX];
    if (n->n_input > DC_MERGE_MAX)
        return dc_fail(DC_ERR_FORMAT, "Concat: %zu inputs; deepc joins at most %d", n->n_input, DC_MERGE_MAX);
    if (v0->pos[axis] <= 0)
        return dc_fail(DC_ERR_FORMAT, "Concat: axis %d is the batch or a size-1 axis deepc does not store", axis);
    for (size_t k = 0; k < n->n_input; k++) {
        dc_onnx_value w = *dc_onnx_in(im, n, k);
        for (int i = 0; i < w.ndim; i++)
            if ((w.pos[i] < 0) != (v0->pos[i] < 0))
                return dc_fail(DC_ERR_FORMAT, "Concat: inputs store their size-1 axes differently");
        dc_status st = dc_onnx_relayout(im, n, &w, v0->pos);
        if (st != DC_OK)
            return st;
        refs[k] = w.ref;
    }
    int r = refs[0];
    if (n->n_input > 1 && (r = dc_onnx_apply(im, n, dc_layer_concatenate(v0->pos[axis]), (int)n->n_input, refs)) < 0)
        return dc_last_status();
    return define_dyn(im, n, 0, r, v0->ndim, dims, v0->pos);
}

/* ------------------------------------------------------------- shaping */

dc_status dc_onnx_reshape_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int nd,
                              const int64_t *dims)
{
    int shape[DC_ONNX_MAX_RANK], pos[DC_ONNX_MAX_RANK], ref;
    int64_t out[DC_ONNX_MAX_RANK];
    if (nd < 2 || dims[0] != INT64_MIN)
        return dc_fail(DC_ERR_FORMAT, "%s: the result must keep the batch first and at least one more axis", n->op_type);
    for (int i = 1; i < nd; i++) {
        if (dims[i] < 1 || dims[i] > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_FORMAT, "%s: axis %d of the result is %lld (1 to %d)", n->op_type, i,
                           (long long)dims[i], DC_DIM_LIMIT);
        shape[i - 1] = (int)dims[i];
    }
    dc_onnx_value w = *v;
    dc_status st = dc_onnx_canonical(im, n, &w);
    if (st == DC_OK)
        st = dc_onnx_reshape_to(im, n, &w, nd - 1, shape, &ref);
    if (st != DC_OK)
        return st;
    for (int i = 0; i < nd; i++) {
        out[i] = i ? dims[i] : -1;
        pos[i] = i;
    }
    return define_dyn(im, n, 0, ref, nd, out, pos);
}

dc_status dc_onnx_take_into(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *w, int axis, int64_t start,
                            int64_t len, int drop)
{
    if (w->pos[axis] == 0)
        return dc_fail(DC_ERR_FORMAT, "%s: taking part of the batch axis is not supported", n->op_type);
    if (w->pos[axis] < 0) { /* a virtual axis of size 1 */
        if (start != 0 || len != 1)
            return dc_fail(DC_ERR_FORMAT, "%s: index %lld of a size-1 axis", n->op_type, (long long)start);
    } else {
        int ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(w, ord), want[DC_ONNX_MAX_RANK], s = 2;
        for (int i = 0; i < w->ndim; i++)
            want[i] = -1;
        want[ord[0]] = 0;
        want[axis] = 1;
        for (int k = 1; k < sn; k++)
            if (ord[k] != axis)
                want[ord[k]] = s++;
        dc_status st = dc_onnx_relayout(im, n, w, want);
        if (st != DC_OK)
            return st;
        int shape[DC_ONNX_MAX_RANK], ns = dc_onnx_sample_shape(w, shape), full = shape[0], rest = 1, ref = w->ref;
        int cur[DC_ONNX_MAX_RANK], nc = ns, target[DC_ONNX_MAX_RANK], nt = 0;
        for (int i = 1; i < ns; i++)
            if (dc_ckd_mul(&rest, rest, shape[i]))
                return dc_fail(DC_ERR_FORMAT, "%s: '%s' holds more than %d values per sample", n->op_type, w->name,
                               INT32_MAX);
        if (drop && ns == 1)
            return dc_fail(DC_ERR_FORMAT, "%s: the result would have no axis but the batch", n->op_type);
        memcpy(cur, shape, sizeof cur);
        if (start != 0 || len != full) { /* (full, rest) -> Cropping1D -> (len, rest) */
            if (ns != 2 && (ref = dc_onnx_apply(im, n, dc_layer_reshape(2, (int[]){full, rest}), 1, &ref)) < 0)
                return dc_last_status();
            if ((ref = dc_onnx_apply(im, n, dc_layer_cropping1d((int)start, (int)(full - start - len)), 1, &ref)) < 0)
                return dc_last_status();
            nc = 2;
            cur[0] = (int)len;
            cur[1] = rest;
        }
        if (!drop)
            target[nt++] = (int)len;
        for (int i = 1; i < ns; i++)
            target[nt++] = shape[i];
        if ((nc != nt || memcmp(cur, target, (size_t)nt * sizeof(int)) != 0) &&
            (ref = dc_onnx_apply(im, n, dc_layer_reshape(nt, target), 1, &ref)) < 0)
            return dc_last_status();
        w->ref = ref;
    }
    w->dims[axis] = len;
    if (drop) { /* remove the axis; stored positions after it move down */
        int p = w->pos[axis];
        for (int i = axis; i + 1 < w->ndim; i++) {
            w->dims[i] = w->dims[i + 1];
            w->pos[i] = w->pos[i + 1];
        }
        w->ndim--;
        for (int i = 0; p > 0 && i < w->ndim; i++)
            if (w->pos[i] > p)
                w->pos[i]--;
    }
    return DC_OK;
}

dc_status dc_onnx_take(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int axis,
                       int64_t start, int64_t len, int drop)
{
    dc_onnx_value w = *v;
    dc_status st = dc_onnx_take_into(im, n, &w, axis, start, len, drop);
    return st == DC_OK ? define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos) : st;
}

dc_status dc_onnx_embedding(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *table,
                            const dc_onnx_value *ids, int axis)
{
    if (axis != 0 || table->ndim != 2 || !table->data || ids->ndim != 2 || ids->pos[0] != 0 ||
        table->dims[0] < 1 || table->dims[0] > DC_DIM_LIMIT || table->dims[1] < 1 || table->dims[1] > DC_DIM_LIMIT)
        return dc_fail(DC_ERR_FORMAT, "Gather: deepc takes a 2-D constant table (rows 1 to %d) on axis 0 with ids "
                                      "(batch, steps) as an Embedding", DC_DIM_LIMIT);
    dc_onnx_value w = *ids;
    dc_status st = dc_onnx_canonical(im, n, &w);
    if (st != DC_OK)
        return st;
    int r = dc_onnx_apply(im, n, dc_layer_embedding((int)table->dims[0], (int)table->dims[1], 0), 1, &w.ref);
    if (r < 0)
        return dc_last_status();
    size_t k = dc_onnx_numel(table);
    float *t = malloc(k * sizeof(float));
    if (!t)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++)
        t[i] = dc_onnx_f32(table->data[i]);
    if ((st = dc_onnx_weight_add(im, 0, t, k)) != DC_OK)
        return st;
    int64_t dims[3] = {-1, ids->dims[1], table->dims[1]};
    return define_dyn(im, n, 0, r, 3, dims, (int[]){0, 1, 2});
}

/* ------------------------------------------------------------ recurrent */

/* A recurrent op's activation names as deepc's (NULL: unsupported). */
static const char *act_name(const Onnx__AttributeProto *a, size_t i, const char *fallback)
{
    if (!a || i >= a->n_strings)
        return fallback;
    const ProtobufCBinaryData *s = &a->strings[i];
    static const char *const onnx[] = {"Sigmoid", "Tanh", "Relu"}, *const deepc[] = {"sigmoid", "tanh", "relu"};
    for (int k = 0; k < 3; k++)
        if (s->len == strlen(onnx[k]) && !memcmp(s->data, onnx[k], s->len))
            return deepc[k];
    return NULL;
}

/* Whether an initial state is absent or all zeros. */
static int zero_state(const dc_onnx_value *v)
{
    if (!v)
        return 1;
    if (v->kind != DC_ONNX_CONST)
        return 0;
    if (!v->data)
        return v->fill == 0;
    size_t k = dc_onnx_numel(v);
    for (size_t i = 0; i < k; i++)
        if (v->data[i] != 0)
            return 0;
    return 1;
}

dc_status dc_onnx_tr_rnn(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_rnn_kind kind = !strcmp(n->op_type, "LSTM") ? DC_RNN_LSTM : !strcmp(n->op_type, "GRU") ? DC_RNN_GRU
                                                                                            : DC_RNN_SIMPLE;
    int gates = kind == DC_RNN_LSTM ? 4 : kind == DC_RNN_GRU ? 3 : 1;
    dc_onnx_value *x, *W, *R, *B = dc_onnx_in(im, n, 3);
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &W);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 2, DC_ONNX_CONST, &R);
    if (st != DC_OK)
        return st;
    char buf[32];
    int64_t h = dc_onnx_attr_int(n, "hidden_size", 0), layout = dc_onnx_attr_int(n, "layout", 0);
    const char *dir = dc_onnx_attr_str(n, "direction", "forward", buf, sizeof buf);
    if (strcmp(dir, "forward") != 0)
        return dc_fail(DC_ERR_FORMAT, "%s: direction %s; only forward is supported", n->op_type, dir);
    if (x->ndim != 3 || (layout != 0 && layout != 1) || x->pos[layout ? 0 : 1] != 0)
        return dc_fail(DC_ERR_FORMAT, "%s: X '%s' must be (steps, batch, features) (layout 0) or (batch, steps, "
                                      "features) (layout 1)", n->op_type, x->name);
    int64_t f = x->dims[2];
    if (h < 1 || h > DC_DIM_LIMIT || W->ndim != 3 || W->dims[0] != 1 || W->dims[1] != gates * h || W->dims[2] != f ||
        R->ndim != 3 || R->dims[0] != 1 || R->dims[1] != gates * h || R->dims[2] != h || !W->data || !R->data)
        return dc_fail(DC_ERR_FORMAT, "%s: W must be (1, %lld, %lld) and R (1, %lld, %lld) for hidden_size %lld",
                       n->op_type, (long long)(gates * h), (long long)f, (long long)(gates * h), (long long)h,
                       (long long)h);
    if (B && (B->kind != DC_ONNX_CONST || !B->data || dc_onnx_numel(B) != (size_t)(2 * gates * h)))
        return dc_fail(DC_ERR_FORMAT, "%s: B must be a constant of %lld values", n->op_type, (long long)(2 * gates * h));
    if (dc_onnx_in(im, n, 4) || !zero_state(dc_onnx_in(im, n, 5)) ||
        (kind == DC_RNN_LSTM && (!zero_state(dc_onnx_in(im, n, 6)) || dc_onnx_in(im, n, 7))))
        return dc_fail(DC_ERR_FORMAT, "%s: sequence_lens, peepholes and nonzero initial states are not supported",
                       n->op_type);
    if (dc_onnx_attr(n, "clip") || dc_onnx_attr_int(n, "input_forget", 0))
        return dc_fail(DC_ERR_FORMAT, "%s: clip and input_forget are not supported", n->op_type);
    const Onnx__AttributeProto *acts = dc_onnx_attr(n, "activations");
    const char *f_act = act_name(acts, 0, kind == DC_RNN_SIMPLE ? "tanh" : "sigmoid");
    const char *g_act = act_name(acts, 1, "tanh"), *h_act = act_name(acts, 2, "tanh");
    if (!f_act || !g_act || !h_act || (kind == DC_RNN_LSTM && strcmp(g_act, h_act) != 0))
        return dc_fail(DC_ERR_FORMAT, "%s: activations other than Sigmoid / Tanh / Relu (LSTM: g and h equal) are "
                                      "not supported", n->op_type);
    const dc_onnx_slot *sy = dc_onnx_slot_of(im, n->output[0]);
    int use_y = sy && sy->uses > 0, use_h = 0;
    for (size_t k = 1; k < n->n_output; k++) {
        const dc_onnx_slot *s = n->output[k][0] ? dc_onnx_slot_of(im, n->output[k]) : NULL;
        if (s && s->uses > 0 && k == 2)
            return dc_fail(DC_ERR_FORMAT, "LSTM: the final cell state Y_c is used; deepc's layer returns h only");
        use_h |= s && s->uses > 0;
    }
    if (use_y && use_h)
        return dc_fail(DC_ERR_FORMAT, "%s: both Y and Y_h are used; deepc's layer returns one of them", n->op_type);
    dc_onnx_value w = *x;
    int want[3] = {layout ? 0 : 1, layout ? 1 : 0, 2}; /* stored (batch, steps, features) */
    if ((st = dc_onnx_relayout(im, n, &w, want)) != DC_OK)
        return st;
    dc_rnn_config cfg = dc_rnn_defaults(kind, (int)h);
    cfg.return_sequences = use_y;
    cfg.activation = kind == DC_RNN_SIMPLE ? f_act : g_act;
    cfg.recurrent_activation = f_act;
    int reset_after = kind == DC_RNN_GRU ? (int)dc_onnx_attr_int(n, "linear_before_reset", 0) : 0;
    cfg.reset_after = reset_after;
    int r = dc_onnx_apply(im, n, dc_layer_rnn_ex(&cfg), 1, &w.ref);
    if (r < 0)
        return dc_last_status();
    static const int lstm_gate[4] = {0, 2, 3, 1}; /* Keras i f c o <- ONNX i o f c */
    size_t gh = (size_t)(gates * h), nb = reset_after ? 2 * gh : gh;
    float *kern = malloc((size_t)f * gh * sizeof(float)), *rec = malloc((size_t)h * gh * sizeof(float));
    float *bias = malloc(nb * sizeof(float));
    if (!kern || !rec || !bias) {
        free(kern), free(rec), free(bias);
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    }
    for (int g = 0; g < gates; g++) {
        int og = kind == DC_RNN_LSTM ? lstm_gate[g] : g;
        for (int64_t j = 0; j < h; j++) {
            size_t col = (size_t)(g * h + j), row = (size_t)(og * h + j);
            for (int64_t i = 0; i < f; i++)
                kern[(size_t)i * gh + col] = dc_onnx_f32(W->data[row * (size_t)f + (size_t)i]);
            for (int64_t i = 0; i < h; i++)
                rec[(size_t)i * gh + col] = dc_onnx_f32(R->data[row * (size_t)h + (size_t)i]);
            double wb = B ? B->data[row] : 0, rb = B ? B->data[gh + row] : 0;
            if (reset_after) {
                bias[col] = dc_onnx_f32(wb);
                bias[gh + col] = dc_onnx_f32(rb);
            } else
                bias[col] = dc_onnx_f32(wb + rb);
        }
    }
    st = dc_onnx_weight_add(im, 0, kern, (size_t)f * gh);
    if (st == DC_OK)
        st = dc_onnx_weight_add(im, 1, rec, (size_t)h * gh);
    else
        free(rec);
    if (st == DC_OK)
        st = dc_onnx_weight_add(im, 2, bias, nb);
    else
        free(bias);
    if (st != DC_OK)
        return st;
    int64_t steps = x->dims[layout ? 1 : 0];
    if (use_y) { /* Y: (steps, 1, batch, h) or (batch, steps, 1, h) */
        int64_t d0[4] = {steps, 1, -1, h}, d1[4] = {-1, steps, 1, h};
        return define_dyn(im, n, 0, r, 4, layout ? d1 : d0, layout ? (int[]){0, 1, -1, 2} : (int[]){1, -1, 0, 2});
    }
    int64_t d0[3] = {1, -1, h}, d1[3] = {-1, 1, h};
    st = DC_OK;
    for (size_t k = 1; k < n->n_output && k < 2 && st == DC_OK; k++) /* Y_h: (1, batch, h) or (batch, 1, h) */
        if (n->output[k][0])
            st = define_dyn(im, n, k, r, 3, layout ? d1 : d0, layout ? (int[]){0, -1, 1} : (int[]){-1, 0, 1});
    return st;
}
