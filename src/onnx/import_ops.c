/*
 * import_ops.c - the ONNX op translators of the importer, and the helpers
 * they share: attributes, constant folding and layouts.
 *
 * One function per op type (the table at the end), each reading its
 * inputs from the value map and defining its outputs there
 * (onnx_internal.h):
 * - on constants only, an op is folded: Shape, Gather, Unsqueeze, Squeeze,
 *   Concat, Cast, Slice, Reshape, Transpose, Flatten, ConstantOfShape and
 *   the arithmetic ops compute a new constant, so the Shape -> Gather ->
 *   Unsqueeze -> Concat -> Reshape chains exporters write become a Reshape
 *   with a known target (the batch size stays symbolic: DC_ONNX_BATCH);
 * - on a dynamic value, it appends deepc layers to the functional model
 *   (import_layers.c: Gemm / MatMul -> Dense, Conv -> Conv2D ...), with
 *   the weights queued for after compile.
 * Layout: a dynamic value keeps where each logical axis is stored (pos); an
 * op needing an order asks relayout() for it, which appends a Permute
 * layer only when the stored order differs.  Transpose itself only changes
 * pos, so PyTorch's NCHW models run NHWC inside with a Permute only where
 * the logical order matters (a Flatten after a convolution).
 */
#include "onnx/onnx_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ attributes */

const Onnx__AttributeProto *dc_onnx_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
            return n->attribute[i];
    return NULL;
}

int64_t dc_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t fallback)
{
    const Onnx__AttributeProto *a = dc_onnx_attr(n, name);
    return a && a->has_i ? a->i : fallback;
}

float dc_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float fallback)
{
    const Onnx__AttributeProto *a = dc_onnx_attr(n, name);
    return a && a->has_f ? a->f : fallback;
}

const char *dc_onnx_attr_str(const Onnx__NodeProto *n, const char *name, const char *fallback, char *buf,
                             size_t size)
{
    const Onnx__AttributeProto *a = dc_onnx_attr(n, name);
    if (!a || !a->has_s)
        return fallback;
    size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
    memcpy(buf, a->s.data, len);
    buf[len] = '\0';
    return buf;
}

int dc_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = dc_onnx_attr(n, name);
    if (!a)
        return -1;
    if (a->n_ints > (size_t)max)
        return -2;
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    return (int)a->n_ints;
}

/* --------------------------------------------------------------- values */

dc_onnx_value *dc_onnx_in(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k)
{
    return k < n->n_input ? dc_onnx_find(im, n->input[k]) : NULL;
}

dc_status dc_onnx_need(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k, int kind, dc_onnx_value **out)
{
    dc_onnx_value *v = dc_onnx_in(im, n, k);
    *out = v;
    if (!v)
        return dc_fail(DC_ERR_FORMAT, "%s: input %zu is missing", n->op_type, k);
    if (kind == DC_ONNX_CONST && v->kind != DC_ONNX_CONST)
        return dc_fail(DC_ERR_FORMAT, "%s: input %zu ('%s') must be a constant (an initializer or computed from "
                                      "constants) for deepc", n->op_type, k, v->name);
    if (kind == DC_ONNX_DYN && v->kind != DC_ONNX_DYN)
        return dc_fail(DC_ERR_FORMAT, "%s: input %zu ('%s') must be computed from the model's input", n->op_type, k,
                       v->name);
    return DC_OK;
}

dc_onnx_value *dc_onnx_out(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k)
{
    if (k >= n->n_output || !n->output[k][0]) {
        dc_fail(DC_ERR_FORMAT, "%s: output %zu is missing", n->op_type, k);
        return NULL;
    }
    return dc_onnx_define(im, n->output[k]);
}

double dc_onnx_at(const dc_onnx_value *v, size_t i) { return v->data ? v->data[i] : v->fill; }

float dc_onnx_f32(double x)
{
    if (x > FLT_MAX)
        return INFINITY;
    if (x < -FLT_MAX)
        return -INFINITY;
    return (float)x; /* NaN stays NaN */
}

int dc_onnx_special(double x) { return x <= DC_ONNX_UNKNOWN; }

dc_status dc_onnx_const_new(dc_onnx_importer *im, dc_onnx_value *v, int ndim, const int64_t *dims, int is_int)
{
    if (ndim > DC_ONNX_MAX_RANK)
        return dc_fail(DC_ERR_FORMAT, "'%s': %d dimensions, at most %d", v->name, ndim, DC_ONNX_MAX_RANK);
    v->kind = DC_ONNX_CONST;
    v->ndim = ndim;
    v->is_int = is_int;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || dims[i] > (int64_t)DC_ONNX_MAX_CONST)
            return dc_fail(DC_ERR_FORMAT, "'%s': dimension %d is %lld", v->name, i, (long long)dims[i]);
        v->dims[i] = dims[i];
    }
    size_t n = dc_onnx_numel(v), bytes = dc_size_mul(n ? n : 1, sizeof(double));
    if (n > DC_ONNX_MAX_CONST || dc_size_add(im->fold_bytes, bytes) > im->fold_limit)
        return dc_fail(DC_ERR_RANGE, "'%s': a computed constant of %zu values; the constants computed at import may "
                                     "take %zu MiB (4 x the file + 64 MiB)", v->name, n, im->fold_limit >> 20);
    im->fold_bytes += bytes;
    v->data = calloc(n ? n : 1, sizeof(double));
    return v->data ? DC_OK : dc_fail(DC_ERR_NOMEM, "'%s': out of memory for %zu values", v->name, n);
}

/* A constant's values as int64 (a shape, axes), at most max of them. */
dc_status dc_onnx_ints(const Onnx__NodeProto *n, const dc_onnx_value *v, int64_t *out, int max, int *count)
{
    size_t k = dc_onnx_numel(v);
    if (v->kind != DC_ONNX_CONST || k > (size_t)max)
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' must be a constant of at most %d values", n->op_type, v->name, max);
    for (size_t i = 0; i < k; i++) {
        double x = dc_onnx_at(v, i);
        out[i] = dc_onnx_special(x) || isnan(x) ? (x == DC_ONNX_BATCH ? INT64_MIN : INT64_MIN + 1)
                 : x > 9e18 ? INT64_MAX : x < -9e18 ? -INT64_MAX : (int64_t)x;
    }
    *count = (int)k;
    return DC_OK;
}

/* ---------------------------------------------------------------- layout */

int dc_onnx_stored(const dc_onnx_value *v, int *ord)
{
    int sn = 0;
    for (int i = 0; i < v->ndim; i++)
        if (v->pos[i] >= 0) {
            ord[v->pos[i]] = i;
            sn++;
        }
    return sn;
}

dc_status dc_onnx_relayout(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, const int *want)
{
    int ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(v, ord), dims[DC_ONNX_MAX_RANK], same = 1;
    for (int i = 0; i < v->ndim; i++)
        if ((v->pos[i] < 0) != (want[i] < 0) || (v->pos[i] == 0) != (want[i] == 0))
            return dc_fail(DC_ERR_FORMAT, "%s: internal layout error on '%s'", n->op_type, v->name);
    for (int s = 1; s < sn; s++) { /* new stored axis want[ord'] takes old stored axis */
        int logical = -1;
        for (int i = 0; i < v->ndim; i++)
            if (want[i] == s)
                logical = i;
        if (logical < 0)
            return dc_fail(DC_ERR_FORMAT, "%s: internal layout error on '%s'", n->op_type, v->name);
        dims[s - 1] = v->pos[logical]; /* Keras' 1-based dims over the axes after the batch */
        same &= dims[s - 1] == s;
    }
    if (same)
        return DC_OK;
    int r = dc_onnx_apply(im, n, dc_layer_permute(sn - 1, dims), 1, &v->ref);
    if (r < 0)
        return dc_last_status();
    v->ref = r;
    memcpy(v->pos, want, sizeof v->pos);
    return DC_OK;
}

/* The batch axis: the logical axis stored first. */
int dc_onnx_batch_axis(const dc_onnx_value *v)
{
    for (int i = 0; i < v->ndim; i++)
        if (v->pos[i] == 0)
            return i;
    return -1;
}

dc_status dc_onnx_canonical(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v)
{
    int want[DC_ONNX_MAX_RANK], s = 0;
    for (int i = 0; i < v->ndim; i++) {
        want[i] = v->pos[i] < 0 ? -1 : s++;
        if (want[i] == 0 && v->pos[i] != 0)
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' has the batch on axis %d; deepc needs it first here",
                           n->op_type, v->name, dc_onnx_batch_axis(v));
    }
    return dc_onnx_relayout(im, n, v, want);
}

dc_status dc_onnx_axis_last(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, int axis)
{
    int ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(v, ord), want[DC_ONNX_MAX_RANK], s = 0;
    if (v->pos[axis] <= 0)
        return dc_fail(DC_ERR_FORMAT, "%s: axis %d of '%s' is the batch or not stored", n->op_type, axis, v->name);
    for (int i = 0; i < v->ndim; i++)
        want[i] = -1;
    for (int k = 0; k < sn; k++)
        if (ord[k] != axis)
            want[ord[k]] = s++;
    want[axis] = s;
    return dc_onnx_relayout(im, n, v, want);
}

void dc_onnx_set_dyn(dc_onnx_value *out, int ref, int ndim, const int64_t *dims, const int *pos)
{
    out->kind = DC_ONNX_DYN;
    out->ref = ref;
    out->ndim = ndim;
    memcpy(out->dims, dims, (size_t)ndim * sizeof(int64_t));
    memcpy(out->pos, pos, (size_t)ndim * sizeof(int));
}

/* A dynamic value's stored sample shape (after the batch) into shape;
 * returns its rank. */
int dc_onnx_sample_shape(const dc_onnx_value *v, int *shape)
{
    int ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(v, ord);
    for (int s = 1; s < sn; s++)
        shape[s - 1] = (int)v->dims[ord[s]];
    return sn - 1;
}

/* A Reshape layer to `shape` (per sample) unless the value already has it. */
dc_status dc_onnx_reshape_to(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, int nd,
                             const int *shape, int *ref)
{
    int cur[DC_ONNX_MAX_RANK], cn = dc_onnx_sample_shape(v, cur);
    *ref = v->ref;
    if (cn == nd && !memcmp(cur, shape, (size_t)nd * sizeof(int)))
        return DC_OK;
    *ref = dc_onnx_apply(im, n, dc_layer_reshape(nd, shape), 1, &v->ref);
    return *ref < 0 ? dc_last_status() : DC_OK;
}

dc_status dc_onnx_finish_output(dc_onnx_importer *im, dc_onnx_value *v)
{
    static const Onnx__NodeProto out_node = {.op_type = "output", .name = "output"};
    if (v->kind != DC_ONNX_DYN)
        return dc_fail(DC_ERR_FORMAT, "the graph output '%s' is a constant; deepc models compute theirs", v->name);
    dc_onnx_value w = *v;
    dc_status st = dc_onnx_canonical(im, &out_node, &w);
    if (st != DC_OK)
        return st;
    int shape[DC_ONNX_MAX_RANK], nd = 0, ref;
    for (int i = 1; i < w.ndim; i++)
        shape[nd++] = (int)w.dims[i];
    if ((st = dc_onnx_reshape_to(im, &out_node, &w, nd, shape, &ref)) != DC_OK)
        return st;
    if (ref < dc_model_input_count(im->m)) /* the output is an input: one layer makes it a model */
        ref = dc_onnx_apply(im, &out_node, dc_layer_activation("linear"), 1, &ref);
    return ref < 0 ? dc_last_status() : DC_OK;
}

/* --------------------------------------------------------------- folding */

/* Axis `a` of a rank-`ndim` tensor, negative from the end. */
dc_status dc_onnx_axis(const Onnx__NodeProto *n, int64_t a, int ndim, int *out)
{
    if (a < -ndim || a >= ndim)
        return dc_fail(DC_ERR_FORMAT, "%s: axis %lld is outside a rank-%d tensor", n->op_type, (long long)a, ndim);
    *out = (int)(a < 0 ? a + ndim : a);
    return DC_OK;
}

/* A constant only a fill value stands for, with the batch size among its
 * dims (ConstantOfShape of a shape read from a value): not foldable. */
static dc_status foldable(const Onnx__NodeProto *n, const dc_onnx_value *v)
{
    for (int i = 0; i < v->ndim; i++)
        if (v->dims[i] < 0)
            return dc_fail(DC_ERR_FORMAT, "%s: '%s' is a constant whose size depends on the batch; deepc folds only "
                                          "constants of known size", n->op_type, v->name);
    return DC_OK;
}

/* Strides of a constant's dims (in values). */
static void strides_of(int ndim, const int64_t *dims, size_t *st)
{
    size_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        st[i] = s;
        s *= (size_t)dims[i];
    }
}

static double arith(int op, double a, double b, int is_int)
{
    if (dc_onnx_special(a) || dc_onnx_special(b))
        return DC_ONNX_UNKNOWN;
    switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default:
        if (is_int)
            return b == 0 ? 0 : floor(a / b) == a / b ? a / b : trunc(a / b);
        return a / b;
    }
}

/* Elementwise op on two constants with NumPy broadcasting. */
static dc_status fold_binary(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, const dc_onnx_value *a,
                             const dc_onnx_value *b)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t dims[DC_ONNX_MAX_RANK], da[DC_ONNX_MAX_RANK], db[DC_ONNX_MAX_RANK];
    if (foldable(n, a) != DC_OK || foldable(n, b) != DC_OK)
        return dc_last_status();
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        da[i] = ia >= 0 ? a->dims[ia] : 1;
        db[i] = ib >= 0 ? b->dims[ib] : 1;
        if (da[i] != db[i] && da[i] != 1 && db[i] != 1)
            return dc_fail(DC_ERR_FORMAT, "%s: shapes of '%s' and '%s' do not broadcast (axis %d: %lld, %lld)",
                           n->op_type, a->name, b->name, i, (long long)da[i], (long long)db[i]);
        dims[i] = da[i] > db[i] ? da[i] : db[i];
    }
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    dc_status st = o ? dc_onnx_const_new(im, o, nd, dims, a->is_int && b->is_int) : dc_last_status();
    if (st != DC_OK)
        return st;
    size_t sa[DC_ONNX_MAX_RANK], sb[DC_ONNX_MAX_RANK], so[DC_ONNX_MAX_RANK], total = dc_onnx_numel(o);
    strides_of(nd, da, sa);
    strides_of(nd, db, sb);
    strides_of(nd, dims, so);
    for (size_t i = 0; i < total; i++) {
        size_t ia = 0, ib = 0;
        for (int k = 0; k < nd; k++) {
            size_t c = i / so[k] % (size_t)dims[k];
            ia += da[k] == 1 ? 0 : c * sa[k];
            ib += db[k] == 1 ? 0 : c * sb[k];
        }
        o->data[i] = arith(op, dc_onnx_at(a, ia), dc_onnx_at(b, ib), o->is_int);
    }
    return DC_OK;
}

/* A copy of constant v with another shape (same values). */
static dc_status fold_copy(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int ndim,
                           const int64_t *dims)
{
    if (foldable(n, v) != DC_OK)
        return dc_last_status();
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    dc_status st = o ? dc_onnx_const_new(im, o, ndim, dims, v->is_int) : dc_last_status();
    if (st != DC_OK)
        return st;
    size_t k = dc_onnx_numel(o);
    if (k != dc_onnx_numel(v))
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' has %zu values, the new shape %zu", n->op_type, v->name,
                       dc_onnx_numel(v), k);
    for (size_t i = 0; i < k; i++)
        o->data[i] = dc_onnx_at(v, i);
    return DC_OK;
}

/* Values along one axis: o = v[..., idx[j], ...] for j < count (gather and slice). */
static dc_status fold_take(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int axis,
                           const int64_t *idx, int64_t count, int keep_axis, int out_ndim, const int64_t *out_dims)
{
    int64_t dims[DC_ONNX_MAX_RANK];
    if (foldable(n, v) != DC_OK)
        return dc_last_status();
    memcpy(dims, v->dims, sizeof dims);
    dims[axis] = count;
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    dc_status st = o ? dc_onnx_const_new(im, o, keep_axis ? v->ndim : out_ndim, keep_axis ? dims : out_dims, v->is_int)
                     : dc_last_status();
    if (st != DC_OK)
        return st;
    size_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= (size_t)v->dims[i];
    for (int i = axis + 1; i < v->ndim; i++)
        inner *= (size_t)v->dims[i];
    size_t w = 0;
    for (size_t a = 0; a < outer; a++)
        for (int64_t j = 0; j < count; j++)
            for (size_t b = 0; b < inner; b++)
                o->data[w++] = dc_onnx_at(v, (a * (size_t)v->dims[axis] + (size_t)idx[j]) * inner + b);
    return DC_OK;
}

static dc_status tr_constant(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    const Onnx__AttributeProto *a = dc_onnx_attr(n, "value");
    if (a && a->t)
        return dc_onnx_tensor(im, a->t, o);
    if ((a = dc_onnx_attr(n, "value_float")) || (a = dc_onnx_attr(n, "value_int"))) {
        dc_status st = dc_onnx_const_new(im, o, 0, NULL, a->has_i);
        if (st == DC_OK)
            o->data[0] = a->has_i ? (double)a->i : a->f;
        return st;
    }
    if ((a = dc_onnx_attr(n, "value_floats")) || (a = dc_onnx_attr(n, "value_ints"))) {
        int is_int = !strcmp(a->name, "value_ints");
        int64_t len = is_int ? (int64_t)a->n_ints : (int64_t)a->n_floats;
        dc_status st = dc_onnx_const_new(im, o, 1, &len, is_int);
        for (int64_t i = 0; i < len && st == DC_OK; i++)
            o->data[i] = is_int ? (double)a->ints[i] : a->floats[i];
        return st;
    }
    return dc_fail(DC_ERR_FORMAT, "Constant: no value, value_float(s) or value_int(s) attribute (sparse and "
                                  "string constants are not supported)");
}

/* Identity and Cast pass a dynamic value through (deepc holds ids as
 * floats); on a constant they copy it (Cast rounds to the new type). */
static dc_status tr_identity(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st != DC_OK)
        return st;
    if (v->kind == DC_ONNX_DYN) {
        dc_onnx_value *o = dc_onnx_out(im, n, 0);
        if (!o)
            return dc_last_status();
        dc_onnx_set_dyn(o, v->ref, v->ndim, v->dims, v->pos);
        return DC_OK;
    }
    if ((st = fold_copy(im, n, v, v->ndim, v->dims)) != DC_OK || strcmp(n->op_type, "Cast") != 0)
        return st;
    dc_onnx_value *o = dc_onnx_find(im, n->output[0]);
    int64_t to = dc_onnx_attr_int(n, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    o->is_int = to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && to != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
                to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    size_t k = dc_onnx_numel(o);
    for (size_t i = 0; i < k; i++)
        if (!dc_onnx_special(o->data[i]))
            o->data[i] = o->is_int ? trunc(o->data[i]) : (double)dc_onnx_f32(o->data[i]);
    return DC_OK;
}

static dc_status tr_shape(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st != DC_OK)
        return st;
    int start, end;
    if ((st = dc_onnx_axis(n, dc_onnx_attr_int(n, "start", 0), v->ndim + 1, &start)) != DC_OK)
        return st;
    int64_t e = dc_onnx_attr_int(n, "end", v->ndim);
    e = e < 0 ? e + v->ndim : e;
    end = e < start ? start : e > v->ndim ? v->ndim : (int)e;
    int64_t len = end - start;
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o || (st = dc_onnx_const_new(im, o, 1, &len, 1)) != DC_OK)
        return o ? st : dc_last_status();
    for (int i = start; i < end; i++)
        o->data[i - start] = v->kind == DC_ONNX_DYN && v->pos[i] == 0 ? DC_ONNX_BATCH : (double)v->dims[i];
    return DC_OK;
}

static dc_status tr_constant_of_shape(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *s;
    int64_t dims[DC_ONNX_MAX_RANK];
    int nd;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_CONST, &s);
    if (st == DC_OK)
        st = dc_onnx_ints(n, s, dims, DC_ONNX_MAX_RANK, &nd);
    if (st != DC_OK)
        return st;
    double fill = 0;
    const Onnx__AttributeProto *a = dc_onnx_attr(n, "value");
    if (a && a->t) {
        dc_onnx_value tmp = {.name = "value"};
        if ((st = dc_onnx_tensor(im, a->t, &tmp)) != DC_OK)
            return st;
        fill = dc_onnx_numel(&tmp) ? dc_onnx_at(&tmp, 0) : 0;
        free(tmp.data);
    }
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    o->kind = DC_ONNX_CONST; /* only the fill is kept; a shape read from a value may hold the batch size */
    o->ndim = nd;
    for (int i = 0; i < nd; i++) {
        if (dims[i] > (int64_t)DC_ONNX_MAX_CONST)
            return dc_fail(DC_ERR_FORMAT, "ConstantOfShape: dimension %d is %lld", i, (long long)dims[i]);
        o->dims[i] = dims[i] < 0 ? -1 : dims[i];
    }
    o->fill = fill;
    return DC_OK;
}

/* Unsqueeze / Squeeze axes: the attribute before opset 13, input 1 after. */
static dc_status axes_of(dc_onnx_importer *im, const Onnx__NodeProto *n, int64_t *axes, int *count)
{
    dc_onnx_value *a = dc_onnx_in(im, n, 1);
    if (a)
        return dc_onnx_ints(n, a, axes, DC_ONNX_MAX_RANK, count);
    *count = dc_onnx_attr_ints(n, "axes", axes, DC_ONNX_MAX_RANK);
    if (*count == -2)
        return dc_fail(DC_ERR_FORMAT, "%s: too many axes", n->op_type);
    return DC_OK;
}

static dc_status tr_unsqueeze(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    int64_t axes[DC_ONNX_MAX_RANK], dims[DC_ONNX_MAX_RANK];
    int na, pos[DC_ONNX_MAX_RANK], is_new[DC_ONNX_MAX_RANK] = {0};
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st == DC_OK)
        st = axes_of(im, n, axes, &na);
    if (st != DC_OK)
        return st;
    int nd = v->ndim + (na > 0 ? na : 0);
    if (na < 1 || nd > DC_ONNX_MAX_RANK)
        return dc_fail(DC_ERR_FORMAT, "Unsqueeze: %d axes on a rank-%d value (at most rank %d)", na, v->ndim,
                       DC_ONNX_MAX_RANK);
    for (int i = 0; i < na; i++) {
        int a;
        if ((st = dc_onnx_axis(n, axes[i], nd, &a)) != DC_OK)
            return st;
        if (is_new[a])
            return dc_fail(DC_ERR_FORMAT, "Unsqueeze: axis %d given twice", a);
        is_new[a] = 1;
    }
    for (int i = 0, j = 0; i < nd; i++) {
        dims[i] = is_new[i] ? 1 : v->dims[j];
        pos[i] = is_new[i] ? -1 : v->pos[j];
        j += !is_new[i];
    }
    if (v->kind == DC_ONNX_CONST)
        return fold_copy(im, n, v, nd, dims);
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, v->ref, nd, dims, pos);
    return DC_OK;
}

static dc_status tr_squeeze(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    int64_t axes[DC_ONNX_MAX_RANK], dims[DC_ONNX_MAX_RANK];
    int na, pos[DC_ONNX_MAX_RANK], drop[DC_ONNX_MAX_RANK] = {0}, nd = 0;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st == DC_OK)
        st = axes_of(im, n, axes, &na);
    if (st != DC_OK)
        return st;
    for (int i = 0; i < na; i++) {
        int a;
        if ((st = dc_onnx_axis(n, axes[i], v->ndim, &a)) != DC_OK)
            return st;
        drop[a] = 1;
    }
    for (int i = 0; na < 0 && i < v->ndim; i++) /* no axes: every axis of size 1 */
        drop[i] = v->dims[i] == 1;
    int real = 0;
    for (int i = 0; i < v->ndim; i++) {
        if (drop[i] && v->dims[i] != 1)
            return dc_fail(DC_ERR_FORMAT, "Squeeze: axis %d of '%s' has size %lld, not 1", i, v->name,
                           (long long)v->dims[i]);
        if (drop[i] && v->kind == DC_ONNX_DYN && v->pos[i] == 0)
            return dc_fail(DC_ERR_FORMAT, "Squeeze: axis %d of '%s' is the batch", i, v->name);
        if (!drop[i]) {
            dims[nd] = v->dims[i];
            pos[nd++] = v->pos[i];
        } else
            real |= v->kind == DC_ONNX_DYN && v->pos[i] > 0;
    }
    if (v->kind == DC_ONNX_CONST)
        return fold_copy(im, n, v, nd, dims);
    dc_onnx_value w = *v, *o;
    int ref = v->ref;
    if (real) { /* stored axes of size 1 go: the stored order kept, reshaped */
        int shape[DC_ONNX_MAX_RANK], k = 0, ord[DC_ONNX_MAX_RANK], newpos[DC_ONNX_MAX_RANK];
        int sn = dc_onnx_stored(v, ord);
        for (int s = 1; s < sn; s++)
            if (!drop[ord[s]])
                shape[k++] = (int)v->dims[ord[s]];
        if (k < 1)
            return dc_fail(DC_ERR_FORMAT, "Squeeze: '%s' would keep no axis besides the batch", v->name);
        for (int i = 0; i < v->ndim; i++) { /* a stored position drops by the dropped stored axes before it */
            newpos[i] = v->pos[i];
            for (int j = 0; j < v->ndim && v->pos[i] > 0; j++)
                newpos[i] -= drop[j] && v->pos[j] > 0 && v->pos[j] < v->pos[i];
        }
        for (int i = 0, m = 0; i < v->ndim; i++)
            if (!drop[i])
                pos[m++] = newpos[i];
        if ((st = dc_onnx_reshape_to(im, n, &w, k, shape, &ref)) != DC_OK)
            return st;
    }
    if (!(o = dc_onnx_out(im, n, 0)))
        return dc_last_status();
    dc_onnx_set_dyn(o, ref, nd, dims, pos);
    return DC_OK;
}

static dc_status tr_concat(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v0;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v0);
    if (st != DC_OK)
        return st;
    int axis;
    if ((st = dc_onnx_axis(n, dc_onnx_attr_int(n, "axis", 0), v0->ndim, &axis)) != DC_OK)
        return st;
    int64_t dims[DC_ONNX_MAX_RANK];
    memcpy(dims, v0->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        dc_onnx_value *v;
        if ((st = dc_onnx_need(im, n, k, v0->kind, &v)) != DC_OK)
            return st;
        if (v->kind == DC_ONNX_CONST && (st = foldable(n, v)) != DC_OK)
            return st;
        if (v->ndim != v0->ndim)
            return dc_fail(DC_ERR_FORMAT, "Concat: input %zu has rank %d, input 0 rank %d", k, v->ndim, v0->ndim);
        for (int i = 0; i < v->ndim; i++)
            if (i != axis && v->dims[i] != v0->dims[i])
                return dc_fail(DC_ERR_FORMAT, "Concat: input %zu differs from input 0 on axis %d", k, i);
        dims[axis] += v->dims[axis];
    }
    if (v0->kind == DC_ONNX_CONST) {
        dc_onnx_value *o = dc_onnx_out(im, n, 0);
        int is_int = 1;
        for (size_t k = 0; k < n->n_input; k++)
            is_int &= dc_onnx_in(im, n, k)->is_int;
        if (!o || (st = dc_onnx_const_new(im, o, v0->ndim, dims, is_int)) != DC_OK)
            return o ? st : dc_last_status();
        size_t outer = 1, inner = 1, w = 0;
        for (int i = 0; i < axis; i++)
            outer *= (size_t)dims[i];
        for (int i = axis + 1; i < v0->ndim; i++)
            inner *= (size_t)dims[i];
        for (size_t a = 0; a < outer; a++)
            for (size_t k = 0; k < n->n_input; k++) {
                const dc_onnx_value *v = dc_onnx_in(im, n, k);
                size_t len = (size_t)v->dims[axis] * inner;
                for (size_t j = 0; j < len; j++)
                    o->data[w++] = dc_onnx_at(v, a * len + j);
            }
        return DC_OK;
    }
    return dc_onnx_concat_dyn(im, n, axis, dims);
}

static dc_status tr_gather(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v, *idx;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, 0, &idx);
    if (st != DC_OK)
        return st;
    int axis;
    if ((st = dc_onnx_axis(n, dc_onnx_attr_int(n, "axis", 0), v->ndim, &axis)) != DC_OK)
        return st;
    if (v->kind == DC_ONNX_CONST && idx->kind == DC_ONNX_DYN)
        return dc_onnx_embedding(im, n, v, idx, axis);
    if (idx->kind != DC_ONNX_CONST)
        return dc_fail(DC_ERR_FORMAT, "Gather: indices computed at run time from data computed at run time are "
                                      "not supported");
    size_t k = dc_onnx_numel(idx);
    if (k > DC_ONNX_MAX_CONST || idx->ndim + v->ndim - 1 > DC_ONNX_MAX_RANK)
        return dc_fail(DC_ERR_FORMAT, "Gather: too many indices");
    int64_t *ix = malloc((k ? k : 1) * sizeof(int64_t));
    if (!ix)
        return dc_fail(DC_ERR_NOMEM, "Gather: out of memory");
    for (size_t i = 0; i < k && st == DC_OK; i++) {
        double x = dc_onnx_at(idx, i);
        if (x < -(double)v->dims[axis] || x >= (double)v->dims[axis] || x != floor(x))
            st = dc_fail(DC_ERR_FORMAT, "Gather: index %g is outside axis %d of size %lld", x, axis,
                         (long long)v->dims[axis]);
        else
            ix[i] = (int64_t)(x < 0 ? x + (double)v->dims[axis] : x);
    }
    int64_t dims[DC_ONNX_MAX_RANK];
    int nd = 0;
    for (int i = 0; i < axis; i++)
        dims[nd++] = v->dims[i];
    for (int i = 0; i < idx->ndim; i++)
        dims[nd++] = idx->dims[i];
    for (int i = axis + 1; i < v->ndim; i++)
        dims[nd++] = v->dims[i];
    if (st == DC_OK && v->kind == DC_ONNX_CONST)
        st = fold_take(im, n, v, axis, ix, (int64_t)k, 0, nd, dims);
    else if (st == DC_OK && (idx->ndim == 0 || (idx->ndim == 1 && k == 1))) /* [i] keeps the axis, i drops it */
        st = dc_onnx_take(im, n, v, axis, ix[0], 1, idx->ndim == 0);
    else if (st == DC_OK)
        st = dc_fail(DC_ERR_FORMAT, "Gather: on a value computed at run time only a single (scalar) index is "
                                    "supported");
    free(ix);
    return st;
}

/* Slice: starts, ends, axes, steps from inputs (opset 10+) or attributes. */
static dc_status tr_slice(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    int64_t starts[DC_ONNX_MAX_RANK], ends[DC_ONNX_MAX_RANK], axes[DC_ONNX_MAX_RANK], steps[DC_ONNX_MAX_RANK];
    int ns = 0, ne = 0, na = -1, nst = -1;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st != DC_OK)
        return st;
    if (im->opset < 10) {
        ns = dc_onnx_attr_ints(n, "starts", starts, DC_ONNX_MAX_RANK);
        ne = dc_onnx_attr_ints(n, "ends", ends, DC_ONNX_MAX_RANK);
        na = dc_onnx_attr_ints(n, "axes", axes, DC_ONNX_MAX_RANK);
    } else {
        dc_onnx_value *a;
        for (int k = 1; k <= 4 && st == DC_OK; k++)
            if ((a = dc_onnx_in(im, n, (size_t)k)))
                st = dc_onnx_ints(n, a, k == 1 ? starts : k == 2 ? ends : k == 3 ? axes : steps, DC_ONNX_MAX_RANK,
                                  k == 1 ? &ns : k == 2 ? &ne : k == 3 ? &na : &nst);
    }
    if (st != DC_OK)
        return st;
    if (ns < 0 || ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return dc_fail(DC_ERR_FORMAT, "Slice: starts, ends, axes and steps disagree in length");
    dc_onnx_value w = *v;
    int64_t lo[DC_ONNX_MAX_RANK], len[DC_ONNX_MAX_RANK];
    int ax[DC_ONNX_MAX_RANK];
    for (int i = 0; i < ns; i++) {
        if ((st = dc_onnx_axis(n, na >= 0 ? axes[i] : i, v->ndim, &ax[i])) != DC_OK)
            return st;
        int64_t d = v->dims[ax[i]], s = starts[i], e = ends[i], step = nst >= 0 ? steps[i] : 1;
        if (step != 1)
            return dc_fail(DC_ERR_FORMAT, "Slice: step %lld; only step 1 is supported", (long long)step);
        if (v->kind == DC_ONNX_DYN && v->pos[ax[i]] == 0) {
            if (s != 0 || e < INT32_MAX)
                return dc_fail(DC_ERR_FORMAT, "Slice: slicing the batch axis is not supported");
            lo[i] = -1;
            continue;
        }
        s = s < 0 ? s + d : s;
        e = e < 0 ? e + d : e;
        s = s < 0 ? 0 : s > d ? d : s;
        e = e < 0 ? 0 : e > d ? d : e;
        lo[i] = s;
        len[i] = e > s ? e - s : 0;
        if (!len[i])
            return dc_fail(DC_ERR_FORMAT, "Slice: axis %d would be empty", ax[i]);
    }
    if (v->kind == DC_ONNX_CONST) {
        if (ns > 1)
            return dc_fail(DC_ERR_FORMAT, "Slice: constants are sliced on one axis only");
        int64_t idx[1] = {0};
        int64_t *ix = ns ? malloc((size_t)len[0] * sizeof(int64_t)) : idx;
        if (!ix)
            return dc_fail(DC_ERR_NOMEM, "Slice: out of memory");
        for (int64_t j = 0; ns && j < len[0]; j++)
            ix[j] = lo[0] + j;
        st = ns ? fold_take(im, n, v, ax[0], ix, len[0], 1, 0, NULL) : fold_copy(im, n, v, v->ndim, v->dims);
        if (ns)
            free(ix);
        return st;
    }
    for (int i = 0; i < ns && st == DC_OK; i++) /* each axis in turn on the working copy */
        if (lo[i] >= 0 && (lo[i] != 0 || len[i] != w.dims[ax[i]]))
            st = dc_onnx_take_into(im, n, &w, ax[i], lo[i], len[i], 0);
    if (st != DC_OK)
        return st;
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, w.ref, w.ndim, w.dims, w.pos);
    return DC_OK;
}

/* The target of a Reshape of `in` (dims, one of them maybe the batch):
 * 0 copies the input's axis (allowzero 0), -1 takes what is left. */
static dc_status reshape_target(const dc_onnx_value *in, const int64_t *t, int nt,
                                int allowzero, int64_t *out)
{
    size_t total = 1, known = 1;
    int minus = -1, batch_in = -1;
    for (int i = 0; i < in->ndim; i++) {
        if (in->kind == DC_ONNX_DYN && in->pos[i] == 0)
            batch_in = i;
        else
            total *= (size_t)in->dims[i];
    }
    for (int i = 0; i < nt; i++) {
        out[i] = t[i];
        if (t[i] == 0 && !allowzero) {
            if (i >= in->ndim)
                return dc_fail(DC_ERR_FORMAT, "Reshape: target axis %d is 0 (copy) but the input has %d axes", i,
                               in->ndim);
            out[i] = i == batch_in ? INT64_MIN : in->dims[i];
        }
        if (out[i] == -1) {
            if (minus >= 0)
                return dc_fail(DC_ERR_FORMAT, "Reshape: the target has two -1");
            minus = i;
        } else if (out[i] == INT64_MIN) {
            if (batch_in < 0)
                return dc_fail(DC_ERR_FORMAT, "Reshape: the target names the batch size for a constant");
        } else if (out[i] < 0)
            return dc_fail(DC_ERR_FORMAT, "Reshape: target axis %d is %lld (computed from the batch size in a way "
                                          "deepc does not follow)", i, (long long)out[i]);
        else
            known = dc_size_mul(known, (size_t)out[i]);
    }
    int has_batch = 0;
    for (int i = 0; i < nt; i++)
        has_batch |= out[i] == INT64_MIN;
    if (batch_in >= 0 && !has_batch) { /* the -1 (or nothing) must be the batch */
        if (minus != 0 || known != total)
            return dc_fail(DC_ERR_FORMAT, "Reshape: the target keeps no batch axis first (deepc reshapes each "
                                          "sample: the first target axis must be the batch, 0 or -1)");
        out[0] = INT64_MIN;
        return DC_OK;
    }
    if (minus >= 0) {
        if (!known || total % known)
            return dc_fail(DC_ERR_FORMAT, "Reshape: %zu values do not fill a -1 axis with the rest %zu", total, known);
        out[minus] = (int64_t)(total / known);
        known = total;
    }
    if (known != total)
        return dc_fail(DC_ERR_FORMAT, "Reshape: the target holds %zu values per sample, the input %zu", known, total);
    if (batch_in >= 0 && out[0] != INT64_MIN)
        return dc_fail(DC_ERR_FORMAT, "Reshape: the batch must stay the first axis");
    return DC_OK;
}

static dc_status tr_reshape(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v, *s;
    int64_t t[DC_ONNX_MAX_RANK], dims[DC_ONNX_MAX_RANK];
    int nt;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &s);
    if (st == DC_OK && v->kind == DC_ONNX_CONST)
        st = foldable(n, v);
    if (st == DC_OK)
        st = dc_onnx_ints(n, s, t, DC_ONNX_MAX_RANK, &nt);
    if (st == DC_OK)
        st = reshape_target(v, t, nt, (int)dc_onnx_attr_int(n, "allowzero", 0), dims);
    if (st != DC_OK)
        return st;
    if (v->kind == DC_ONNX_CONST)
        return fold_copy(im, n, v, nt, dims);
    return dc_onnx_reshape_dyn(im, n, v, nt, dims);
}

static dc_status tr_flatten(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    int axis;
    if (st == DC_OK)
        st = dc_onnx_axis(n, dc_onnx_attr_int(n, "axis", 1), v->ndim + 1, &axis);
    if (st != DC_OK)
        return st;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < v->ndim; i++)
        dims[i >= axis] *= v->kind == DC_ONNX_DYN && v->pos[i] == 0 ? 1 : v->dims[i];
    if (v->kind == DC_ONNX_CONST)
        return fold_copy(im, n, v, 2, dims);
    if (axis != 1 || v->pos[0] != 0)
        return dc_fail(DC_ERR_FORMAT, "Flatten: axis %d; deepc flattens each sample (axis 1, the batch first)", axis);
    dims[0] = INT64_MIN;
    return dc_onnx_reshape_dyn(im, n, v, 2, dims);
}

static dc_status tr_transpose(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *v;
    dc_status st = dc_onnx_need(im, n, 0, 0, &v);
    if (st != DC_OK)
        return st;
    int64_t perm[DC_ONNX_MAX_RANK], dims[DC_ONNX_MAX_RANK];
    int np = dc_onnx_attr_ints(n, "perm", perm, DC_ONNX_MAX_RANK), pos[DC_ONNX_MAX_RANK], seen = 0;
    if (np == -1)
        for (int i = 0; i < v->ndim; i++)
            perm[i] = v->ndim - 1 - i;
    else if (np != v->ndim)
        return dc_fail(DC_ERR_FORMAT, "Transpose: perm has %d entries for a rank-%d value", np, v->ndim);
    for (int i = 0; i < v->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= v->ndim || (seen >> perm[i] & 1))
            return dc_fail(DC_ERR_FORMAT, "Transpose: perm is not a permutation of 0..%d", v->ndim - 1);
        seen |= 1 << perm[i];
        dims[i] = v->dims[perm[i]];
        pos[i] = v->pos[perm[i]];
    }
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    if (v->kind == DC_ONNX_DYN) { /* only where each axis is stored changes */
        dc_onnx_set_dyn(o, v->ref, v->ndim, dims, pos);
        return DC_OK;
    }
    if ((st = foldable(n, v)) != DC_OK || (st = dc_onnx_const_new(im, o, v->ndim, dims, v->is_int)) != DC_OK)
        return st;
    size_t sv[DC_ONNX_MAX_RANK], so[DC_ONNX_MAX_RANK], total = dc_onnx_numel(o);
    strides_of(v->ndim, v->dims, sv);
    strides_of(v->ndim, dims, so);
    for (size_t i = 0; i < total; i++) {
        size_t src = 0;
        for (int k = 0; k < v->ndim; k++)
            src += i / so[k] % (size_t)dims[k] * sv[perm[k]];
        o->data[i] = dc_onnx_at(v, src);
    }
    return DC_OK;
}

/* Add, Sub, Mul, Div: folded on constants, layers otherwise (import_layers.c). */
static dc_status tr_binary(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *a, *b;
    dc_status st = dc_onnx_need(im, n, 0, 0, &a);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, 0, &b);
    if (st != DC_OK)
        return st;
    int op = !strcmp(n->op_type, "Add") ? '+' : !strcmp(n->op_type, "Sub") ? '-' : !strcmp(n->op_type, "Mul") ? '*'
                                                                                                              : '/';
    if (a->kind == DC_ONNX_CONST && b->kind == DC_ONNX_CONST)
        return fold_binary(im, n, op, a, b);
    return dc_onnx_binary_dyn(im, n, op, a, b);
}

/* Pow by a constant exponent and Sqrt: folded on constants; on a value the
 * Unary layer (x^2 as x * x; exponent 1 passes x through). */
static dc_status tr_pow(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *e = NULL;
    int is_sqrt = !strcmp(n->op_type, "Sqrt");
    dc_status st = dc_onnx_need(im, n, 0, 0, &x);
    if (st == DC_OK && !is_sqrt)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &e);
    if (st != DC_OK)
        return st;
    if (e && (dc_onnx_numel(e) != 1 || e->ndim > x->ndim || dc_onnx_special(dc_onnx_at(e, 0)) ||
              !isfinite(dc_onnx_at(e, 0))))
        return dc_fail(DC_ERR_FORMAT, "Pow: the exponent '%s' must be one finite constant value", e->name);
    double p = e ? dc_onnx_at(e, 0) : 0.5;
    if (x->kind == DC_ONNX_CONST) {
        if ((st = fold_copy(im, n, x, x->ndim, x->dims)) != DC_OK)
            return st;
        dc_onnx_value *o = dc_onnx_find(im, n->output[0]);
        size_t k = dc_onnx_numel(o);
        o->is_int = 0;
        for (size_t i = 0; i < k; i++)
            o->data[i] = dc_onnx_special(o->data[i]) ? DC_ONNX_UNKNOWN : pow(o->data[i], p);
        return DC_OK;
    }
    int ref = x->ref;
    if (p != 1.0 && (ref = dc_onnx_apply(im, n, dc_layer_unary(is_sqrt || p == 0.5 ? 0 : 1, (float)p), 1, &ref)) < 0)
        return dc_last_status();
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, ref, x->ndim, x->dims, x->pos);
    return DC_OK;
}

/* ----------------------------------------------------------------- table */

typedef struct {
    const char *type;
    dc_onnx_translate_fn fn;
} entry;

static const entry table[] = {
    {"Add", tr_binary}, {"AveragePool", dc_onnx_tr_pool}, {"BatchNormalization", dc_onnx_tr_batchnorm},
    {"Cast", tr_identity}, {"Clip", dc_onnx_tr_clip}, {"Concat", tr_concat}, {"Constant", tr_constant},
    {"ConstantOfShape", tr_constant_of_shape}, {"Conv", dc_onnx_tr_conv}, {"ConvTranspose", dc_onnx_tr_conv_transpose},
    {"Div", tr_binary}, {"Dropout", dc_onnx_tr_dropout}, {"Elu", dc_onnx_tr_activation},
    {"Erf", dc_onnx_tr_erf}, {"Flatten", tr_flatten}, {"GRU", dc_onnx_tr_rnn}, {"Gather", tr_gather},
    {"Gemm", dc_onnx_tr_gemm}, {"GlobalAveragePool", dc_onnx_tr_global_pool},
    {"GlobalMaxPool", dc_onnx_tr_global_pool}, {"HardSigmoid", dc_onnx_tr_clip}, {"Identity", tr_identity},
    {"LSTM", dc_onnx_tr_rnn}, {"LayerNormalization", dc_onnx_tr_layernorm}, {"LeakyRelu", dc_onnx_tr_activation},
    {"LogSoftmax", dc_onnx_tr_softmax}, {"MatMul", dc_onnx_tr_matmul}, {"MaxPool", dc_onnx_tr_pool},
    {"Mul", tr_binary}, {"Pad", dc_onnx_tr_pad}, {"Pow", tr_pow}, {"RNN", dc_onnx_tr_rnn},
    {"ReduceMax", dc_onnx_tr_reduce}, {"ReduceMean", dc_onnx_tr_reduce}, {"Relu", dc_onnx_tr_activation},
    {"Reshape", tr_reshape}, {"Resize", dc_onnx_tr_resize}, {"Selu", dc_onnx_tr_activation}, {"Shape", tr_shape},
    {"Sigmoid", dc_onnx_tr_activation}, {"Slice", tr_slice}, {"Softmax", dc_onnx_tr_softmax},
    {"Softplus", dc_onnx_tr_activation}, {"Sqrt", tr_pow}, {"Squeeze", tr_squeeze}, {"Sub", tr_binary},
    {"Tanh", dc_onnx_tr_activation}, {"Transpose", tr_transpose}, {"Unsqueeze", tr_unsqueeze},
};

dc_onnx_translate_fn dc_onnx_translator(const char *op_type)
{
    size_t lo = 0, hi = sizeof table / sizeof table[0]; /* sorted by type */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(op_type, table[mid].type);
        if (!c)
            return table[mid].fn;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *dc_onnx_supported_ops(void)
{
    return "Add, AveragePool, BatchNormalization, Cast, Clip, Concat, Constant, ConstantOfShape, Conv, ConvTranspose, "
           "Div, Dropout, Elu, Erf (in the GELU pattern), Flatten, GRU, Gather, Gemm, GlobalAveragePool, "
           "GlobalMaxPool, HardSigmoid, Identity, LSTM, LayerNormalization, LeakyRelu, LogSoftmax, MatMul, MaxPool, "
           "Mul, Pad, Pow (by a constant), RNN, ReduceMax (as global pooling), ReduceMean (one axis, or as global "
           "pooling), Relu, Reshape, Resize (nearest, linear; by whole factors), Selu, Shape, Sigmoid, Slice, "
           "Softmax, Softplus, Sqrt, Squeeze, Sub, Tanh, Transpose, Unsqueeze";
}
