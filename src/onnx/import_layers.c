/*
 * import_layers.c - the ONNX translators that append deepc layers: each
 * takes dynamic values (layer outputs of the functional model being built)
 * and constant weights, asks for the layout its layer needs, appends the
 * layer and queues its weights converted to deepc's layouts:
 *   Gemm, MatMul (+ a following bias Add)  -> Dense, kernel (in, units)
 *   Conv (1-D, 2-D)                        -> Conv1D / Conv2D, (k..., in, out)
 *                                             (ZeroPadding first for pads
 *                                             that are not Keras' "same")
 *   ConvTranspose                          -> Conv2DTranspose (+ Cropping2D)
 *   MaxPool, AveragePool, Global*Pool      -> pooling layers
 *   BatchNormalization, LayerNormalization -> the same layers (last axis)
 *   Relu, Sigmoid ... Softmax, LogSoftmax  -> Activation & co.
 *   Add / Sub / Mul of two values          -> Add / Subtract / Multiply;
 *     with a scalar constant               -> Rescaling;
 *     x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5 (PyTorch's exact GELU)
 *                                          -> Activation("gelu")
 *   Gather(constant table, ids)            -> Embedding
 *   Gather / Slice of a value on one axis  -> Cropping1D between Reshapes
 *   Concat                                 -> Concatenate
 *   LSTM, GRU, RNN (forward, zero initial state) -> LSTM, GRU, SimpleRNN
 *     (ONNX gates i o f c reordered to Keras' i f c o; GRU
 *     linear_before_reset is Keras' reset_after)
 * Shapes are computed here as ONNX defines them, so later Reshape targets
 * fold; the layers check their own arguments again when built.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *floats(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* A constant of exactly n values (any shape), e.g. a bias. */
static dc_status need_len(const Onnx__NodeProto *n, const dc_onnx_value *v, size_t len, const char *what)
{
    if (v->kind != DC_ONNX_CONST || dc_onnx_numel(v) != len || !v->data)
        return dc_fail(DC_ERR_FORMAT, "%s: %s '%s' must be a constant of %zu values", n->op_type, what, v->name, len);
    return DC_OK;
}

/* Queues weight `index` of the last layer: n values of v (scaled). */
static dc_status weight_copy(dc_onnx_importer *im, int index, const dc_onnx_value *v, size_t n, double scale)
{
    float *w = floats(n);
    if (!w)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        w[i] = dc_onnx_f32(scale * v->data[i]);
    return dc_onnx_weight_add(im, index, w, n);
}

static dc_status define_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k, int ref, int ndim,
                            const int64_t *dims, const int *pos)
{
    dc_onnx_value *o = dc_onnx_out(im, n, k);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, ref, ndim, dims, pos);
    return DC_OK;
}

/* Appends a one-input layer to w (updating its reference). */
static dc_status apply1(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_layer *l, dc_onnx_value *w)
{
    int r = dc_onnx_apply(im, n, l, 1, &w->ref);
    if (r < 0)
        return dc_last_status();
    w->ref = r;
    return DC_OK;
}

/* Whether output k of n is read by anything. */
static int used(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k)
{
    if (k >= n->n_output || !n->output[k][0])
        return 0;
    const dc_onnx_slot *s = dc_onnx_slot_of(im, n->output[k]);
    return s && s->uses > 0;
}

static dc_status refuse_outputs(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t from)
{
    for (size_t k = from; k < n->n_output; k++)
        if (used(im, n, k))
            return dc_fail(DC_ERR_FORMAT, "%s: output %zu ('%s') is used; deepc computes only output 0 of this op",
                           n->op_type, k, n->output[k]);
    return DC_OK;
}

/* A dynamic input 0 whose batch is logical axis 0. */
static dc_status need_batch_first(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value **v, int min_rank,
                                  int max_rank)
{
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, v);
    if (st != DC_OK)
        return st;
    if ((*v)->ndim < min_rank || (*v)->ndim > max_rank)
        return dc_fail(DC_ERR_FORMAT, "%s: input '%s' has rank %d; deepc takes rank %d to %d here", n->op_type,
                       (*v)->name, (*v)->ndim, min_rank, max_rank);
    if ((*v)->pos[0] != 0)
        return dc_fail(DC_ERR_FORMAT, "%s: input '%s' does not have the batch on axis 0", n->op_type, (*v)->name);
    return DC_OK;
}

/* Channels last: logical (N, C, S...) stored (N, S..., C). */
static dc_status channels_last(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *w)
{
    int want[DC_ONNX_MAX_RANK];
    for (int i = 0; i < w->ndim; i++)
        want[i] = i == 0 ? 0 : i == 1 ? w->ndim - 1 : i - 1;
    int virt = 0;
    for (int i = 0; i < w->ndim; i++)
        virt |= w->pos[i] < 0;
    if (!virt)
        return dc_onnx_relayout(im, n, w, want);
    /* size-1 axes not stored (after global pooling, say): a Reshape stores
     * them, where the stored axes already follow channels-last order */
    int shape[DC_ONNX_MAX_RANK], last = 0, ref;
    for (int s = 1; s < w->ndim; s++)
        for (int i = 1; i < w->ndim; i++)
            if (want[i] == s) {
                shape[s - 1] = (int)w->dims[i];
                if (w->pos[i] >= 0) {
                    if (w->pos[i] < last)
                        return dc_fail(DC_ERR_FORMAT, "%s: '%s' has size-1 axes not stored and its other axes out "
                                                      "of channels-last order", n->op_type, w->name);
                    last = w->pos[i];
                }
            }
    dc_status st = dc_onnx_reshape_to(im, n, w, w->ndim - 1, shape, &ref);
    if (st != DC_OK)
        return st;
    w->ref = ref;
    memcpy(w->pos, want, sizeof want);
    return DC_OK;
}

static void channels_last_pos(int ndim, int *pos)
{
    for (int i = 0; i < ndim; i++)
        pos[i] = i == 0 ? 0 : i == 1 ? ndim - 1 : i - 1;
}

/* ------------------------------------------------------------ Dense */

dc_status dc_onnx_tr_gemm(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *a, *b, *c = dc_onnx_in(im, n, 2);
    dc_status st = need_batch_first(im, n, &a, 2, 2);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &b);
    if (st != DC_OK)
        return st;
    int trans_b = (int)dc_onnx_attr_int(n, "transB", 0);
    double alpha = dc_onnx_attr_float(n, "alpha", 1.0f), beta = dc_onnx_attr_float(n, "beta", 1.0f);
    if (dc_onnx_attr_int(n, "transA", 0))
        return dc_fail(DC_ERR_FORMAT, "Gemm: transA 1 (the batch would move) is not supported");
    if (b->ndim != 2 || !b->data)
        return dc_fail(DC_ERR_FORMAT, "Gemm: B '%s' must be a 2-D constant", b->name);
    int64_t k = a->dims[1], u = trans_b ? b->dims[0] : b->dims[1];
    if ((trans_b ? b->dims[1] : b->dims[0]) != k || u < 1 || u > DC_DIM_LIMIT)
        return dc_fail(DC_ERR_FORMAT, "Gemm: A has %lld columns, B '%s' is (%lld, %lld)%s", (long long)k, b->name,
                       (long long)b->dims[0], (long long)b->dims[1], trans_b ? " transposed" : "");
    if (c && (c->kind != DC_ONNX_CONST || !c->data || (dc_onnx_numel(c) != 1 && dc_onnx_numel(c) != (size_t)u)))
        return dc_fail(DC_ERR_FORMAT, "Gemm: C must be a constant of 1 or %lld values", (long long)u);
    dc_onnx_value w = *a;
    if ((st = dc_onnx_canonical(im, n, &w)) != DC_OK)
        return st;
    dc_dense_config cfg = dc_dense_defaults((int)u);
    cfg.use_bias = c != NULL;
    if ((st = apply1(im, n, dc_layer_dense_ex(&cfg), &w)) != DC_OK)
        return st;
    size_t nk = (size_t)k * (size_t)u;
    float *kern = floats(nk);
    if (!kern)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < u; j++)
            kern[i * u + j] = dc_onnx_f32(alpha * b->data[trans_b ? j * k + i : i * u + j]);
    if ((st = dc_onnx_weight_add(im, 0, kern, nk)) != DC_OK)
        return st;
    if (c) {
        float *bias = floats((size_t)u);
        if (!bias)
            return dc_fail(DC_ERR_NOMEM, "out of memory");
        for (int64_t j = 0; j < u; j++)
            bias[j] = dc_onnx_f32(beta * c->data[dc_onnx_numel(c) == 1 ? 0 : j]);
        if ((st = dc_onnx_weight_add(im, 1, bias, (size_t)u)) != DC_OK)
            return st;
    }
    int64_t dims[2] = {-1, u};
    return define_dyn(im, n, 0, w.ref, 2, dims, (int[]){0, 1});
}

/* A constant that adds one value per unit of the last axis: numel u and
 * every axis but the last 1. */
static int is_bias(const dc_onnx_value *c, int64_t u, int rank)
{
    if (!c || c->kind != DC_ONNX_CONST || !c->data || c->ndim > rank || dc_onnx_numel(c) != (size_t)u)
        return 0;
    return c->ndim == 0 ? u == 1 : c->dims[c->ndim - 1] == u;
}

/* MatMul of two computed values a (N, ..., m, k) x b (N, ..., k, n), the
 * batch the first logical axis of both, the other leading axes equal: the
 * MatMul layer (batched matmul).  Each operand is stored with its leading
 * axes in logical order; its last two stay in the order they are stored in
 * (swapped: taken transposed), so ONNX's Transpose of k before q k^T costs
 * nothing. */
static dc_status matmul_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *a, dc_onnx_value *b)
{
    int r = a->ndim, trans[2];
    if (b->ndim != r || r < 3 || a->pos[0] != 0 || b->pos[0] != 0 || a->dims[r - 1] != b->dims[r - 2])
        return dc_fail(DC_ERR_FORMAT, "MatMul: '%s' (rank %d) times '%s' (rank %d): deepc multiplies two computed "
                                      "values of one rank >= 3, the batch first, (..., m, k) x (..., k, n)", a->name,
                       a->ndim, b->name, b->ndim);
    for (int i = 1; i < r - 2; i++)
        if (a->dims[i] != b->dims[i])
            return dc_fail(DC_ERR_FORMAT, "MatMul: '%s' and '%s' differ on axis %d (%lld, %lld); broadcasting is not "
                                          "supported here", a->name, b->name, i, (long long)a->dims[i],
                           (long long)b->dims[i]);
    dc_onnx_value w[2] = {*a, *b};
    for (int k = 0; k < 2; k++) {
        int want[DC_ONNX_MAX_RANK];
        for (int i = 0; i < r; i++)
            if (w[k].pos[i] < 0)
                return dc_fail(DC_ERR_FORMAT, "MatMul: '%s' has size-1 axes deepc does not store", w[k].name);
        trans[k] = w[k].pos[r - 2] > w[k].pos[r - 1];
        for (int i = 0; i < r; i++)
            want[i] = i;
        if (trans[k]) {
            want[r - 2] = r - 1;
            want[r - 1] = r - 2;
        }
        dc_status st = dc_onnx_relayout(im, n, &w[k], want);
        if (st != DC_OK)
            return st;
    }
    int ref = dc_onnx_apply(im, n, dc_layer_matmul(trans[0], trans[1]), 2, (int[]){w[0].ref, w[1].ref});
    if (ref < 0)
        return dc_last_status();
    int64_t dims[DC_ONNX_MAX_RANK];
    int pos[DC_ONNX_MAX_RANK];
    for (int i = 0; i < r; i++) {
        dims[i] = i == r - 1 ? b->dims[r - 1] : a->dims[i];
        pos[i] = i;
    }
    return define_dyn(im, n, 0, ref, r, dims, pos);
}

dc_status dc_onnx_tr_matmul(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *a, *b;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &a);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, 0, &b);
    if (st != DC_OK)
        return st;
    if (b->kind == DC_ONNX_DYN)
        return matmul_dyn(im, n, a, b);
    int r = a->ndim;
    if (b->ndim != 2 || !b->data || r < 2 || b->dims[0] != a->dims[r - 1] || b->dims[1] < 1 ||
        b->dims[1] > DC_DIM_LIMIT)
        return dc_fail(DC_ERR_FORMAT, "MatMul: deepc takes a value (..., k) times a 2-D constant (k, n); got '%s' of "
                                      "rank %d and '%s' of rank %d", a->name, r, b->name, b->ndim);
    int64_t k = b->dims[0], u = b->dims[1];
    dc_onnx_value w = *a;
    if ((st = dc_onnx_axis_last(im, n, &w, r - 1)) != DC_OK)
        return st;
    /* a bias Add reading only this MatMul becomes the Dense's bias */
    const dc_onnx_slot *s = dc_onnx_slot_of(im, n->output[0]);
    const Onnx__NodeProto *add = s && s->uses == 1 && s->reader < (int)im->graph->n_node
                                     ? im->graph->node[s->reader] : NULL;
    dc_onnx_value *bias = NULL;
    if (add && !strcmp(add->op_type, "Add") && add->n_input == 2) {
        int other = !strcmp(add->input[0], n->output[0]);
        bias = dc_onnx_find(im, add->input[other]);
        if (!is_bias(bias, u, r))
            bias = NULL;
    }
    dc_dense_config cfg = dc_dense_defaults((int)u);
    cfg.use_bias = bias != NULL;
    if ((st = apply1(im, n, dc_layer_dense_ex(&cfg), &w)) != DC_OK)
        return st;
    if ((st = weight_copy(im, 0, b, (size_t)(k * u), 1.0)) != DC_OK)
        return st;
    if (bias && (st = weight_copy(im, 1, bias, (size_t)u, 1.0)) != DC_OK)
        return st;
    if (bias)
        im->skip[s->reader] = 1;
    int64_t dims[DC_ONNX_MAX_RANK];
    memcpy(dims, w.dims, sizeof dims);
    dims[r - 1] = u;
    return define_dyn(im, bias ? add : n, 0, w.ref, r, dims, w.pos);
}

/* ------------------------------------------------------- convolutions */

/* Keras' "same" padding of one axis: before and after. */
static void same_pads(int64_t in, int64_t k, int64_t s, int64_t d, int64_t *before, int64_t *after)
{
    int64_t out = (in + s - 1) / s, span = d * (k - 1) + 1, total = (out - 1) * s + span - in;
    total = total > 0 ? total : 0;
    *before = total / 2;
    *after = total - *before;
}

/* The spatial arguments of Conv / pools: kernel, strides, dilations and
 * pads (begin..., end...) over ns axes, checked. */
typedef struct spatial {
    int ns;
    int64_t k[2], s[2], d[2], pads[4], in[2];
    int same; /* the pads are Keras' "same" */
} spatial;

static dc_status read_spatial(const Onnx__NodeProto *n, const dc_onnx_value *x, const int64_t *kernel, spatial *sp)
{
    int ns = x->ndim - 2, c;
    sp->ns = ns;
    for (int i = 0; i < ns; i++) {
        sp->k[i] = kernel[i];
        sp->s[i] = sp->d[i] = 1;
        sp->pads[i] = sp->pads[ns + i] = 0;
        sp->in[i] = x->dims[2 + i];
    }
    int64_t tmp[4];
    static const char *const keys[3] = {"strides", "dilations", "pads"};
    int64_t *dst[3] = {sp->s, sp->d, sp->pads};
    for (int a = 0; a < 3; a++) {
        int want = a == 2 ? 2 * ns : ns;
        if ((c = dc_onnx_attr_ints(n, keys[a], tmp, 4)) != -1 && c != want)
            return dc_fail(DC_ERR_FORMAT, "%s: %s has %d values; a %d-D input needs %d", n->op_type, keys[a], c, ns,
                           want);
        if (c == want)
            memcpy(dst[a], tmp, (size_t)want * sizeof(int64_t));
    }
    char buf[32];
    const char *ap = dc_onnx_attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
    for (int i = 0; i < ns; i++) {
        if (sp->k[i] < 1 || sp->k[i] > DC_DIM_LIMIT || sp->s[i] < 1 || sp->s[i] > DC_DIM_LIMIT || sp->d[i] < 1 ||
            sp->d[i] > DC_DIM_LIMIT || sp->pads[i] < 0 || sp->pads[i] > DC_DIM_LIMIT || sp->pads[ns + i] < 0 ||
            sp->pads[ns + i] > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_FORMAT, "%s: kernel %lld, stride %lld, dilation %lld, pads %lld %lld on axis %d: "
                                          "each must be 1 (pads 0) to %d", n->op_type, (long long)sp->k[i],
                           (long long)sp->s[i], (long long)sp->d[i], (long long)sp->pads[i],
                           (long long)sp->pads[ns + i], i, DC_DIM_LIMIT);
        int64_t b, e;
        same_pads(sp->in[i], sp->k[i], sp->s[i], sp->d[i], &b, &e);
        if (!strcmp(ap, "SAME_UPPER"))
            sp->pads[i] = b, sp->pads[ns + i] = e;
        else if (!strcmp(ap, "SAME_LOWER"))
            sp->pads[i] = e, sp->pads[ns + i] = b;
        else if (!strcmp(ap, "VALID"))
            sp->pads[i] = sp->pads[ns + i] = 0;
    }
    int zero = 1, same = 1;
    for (int i = 0; i < ns; i++) {
        int64_t b, e;
        same_pads(sp->in[i], sp->k[i], sp->s[i], sp->d[i], &b, &e);
        zero &= !sp->pads[i] && !sp->pads[ns + i];
        same &= sp->pads[i] == b && sp->pads[ns + i] == e;
    }
    sp->same = !zero && same;
    return DC_OK;
}

/* Output size of one axis with explicit pads (floor), or -1 when empty. */
static int64_t out_size(const spatial *sp, int i, int ceil_mode)
{
    int64_t span = sp->d[i] * (sp->k[i] - 1) + 1, room = sp->in[i] + sp->pads[i] + sp->pads[sp->ns + i] - span;
    if (room < 0)
        return -1;
    return (ceil_mode ? (room + sp->s[i] - 1) / sp->s[i] : room / sp->s[i]) + 1;
}

static int has_pads(const spatial *sp)
{
    for (int i = 0; i < 2 * sp->ns; i++)
        if (sp->pads[i])
            return 1;
    return 0;
}

dc_status dc_onnx_tr_conv(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *wt, *b = dc_onnx_in(im, n, 2);
    dc_status st = need_batch_first(im, n, &x, 3, 4);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &wt);
    if (st != DC_OK)
        return st;
    int ns = x->ndim - 2;
    int64_t group = dc_onnx_attr_int(n, "group", 1);
    if (group < 1 || group > x->dims[1] || x->dims[1] % group || wt->ndim != x->ndim || !wt->data ||
        wt->dims[1] * group != x->dims[1] || wt->dims[0] % group)
        return dc_fail(DC_ERR_FORMAT, "Conv: weight '%s' must be (out, %lld / group, k...) for input '%s' (group %lld, "
                                      "out a multiple of it)", wt->name, (long long)x->dims[1], x->name,
                       (long long)group);
    int64_t co = wt->dims[0], ci = wt->dims[1];
    if (b && (st = need_len(n, b, (size_t)co, "bias")) != DC_OK)
        return st;
    spatial sp;
    if ((st = read_spatial(n, x, wt->dims + 2, &sp)) != DC_OK)
        return st;
    int64_t dims[DC_ONNX_MAX_RANK] = {-1, co};
    for (int i = 0; i < ns; i++)
        if ((dims[2 + i] = out_size(&sp, i, 0)) < 1)
            return dc_fail(DC_ERR_FORMAT, "Conv: the output of axis %d would be empty", i);
    /* scalar Mul / Add ... after it (paddle2onnx's re-parameterised blocks)
     * fold into the kernel and bias */
    dc_onnx_value probe = *x;
    probe.ndim = x->ndim;
    memcpy(probe.dims, dims, sizeof dims);
    double scale = 1, offset = 0;
    const Onnx__NodeProto *def = dc_onnx_affine_chain(im, n, &probe, &scale, &offset);
    dc_onnx_value w = *x;
    if ((st = channels_last(im, n, &w)) != DC_OK)
        return st;
    if (has_pads(&sp) && !sp.same) { /* PyTorch's symmetric pads with a stride: zeros first */
        dc_layer *pad = ns == 2 ? dc_layer_zero_padding2d((int)sp.pads[0], (int)sp.pads[2], (int)sp.pads[1],
                                                          (int)sp.pads[3])
                                : dc_layer_zero_padding1d((int)sp.pads[0], (int)sp.pads[1]);
        if ((st = apply1(im, n, pad, &w)) != DC_OK)
            return st;
    }
    dc_conv_config cfg = dc_conv_defaults((int)co, (int)sp.k[0], ns == 2 ? (int)sp.k[1] : 1);
    for (int i = 0; i < ns; i++) {
        cfg.strides[i] = (int)sp.s[i];
        cfg.dilation[i] = (int)sp.d[i];
    }
    cfg.padding = sp.same ? DC_PADDING_SAME : DC_PADDING_VALID;
    cfg.use_bias = b != NULL || offset != 0;
    cfg.groups = (int)group; /* kernel (k..., in / groups, out): the same order as ungrouped */
    dc_layer *conv;
    if (ns == 2 && group > 1 && ci == 1) { /* depthwise: DepthwiseConv2D, its kernel (kh, kw, C, M) the same order */
        dc_depthwise_config dw = dc_depthwise_defaults((int)sp.k[0], (int)sp.k[1]);
        memcpy(dw.strides, cfg.strides, sizeof dw.strides);
        memcpy(dw.dilation, cfg.dilation, sizeof dw.dilation);
        dw.padding = cfg.padding;
        dw.depth_multiplier = (int)(co / group);
        dw.use_bias = cfg.use_bias;
        conv = dc_layer_depthwise_conv2d_ex(&dw);
    } else
        conv = ns == 2 ? dc_layer_conv2d_ex(&cfg) : dc_layer_conv1d_ex(&cfg);
    if ((st = apply1(im, n, conv, &w)) != DC_OK)
        return st;
    int64_t kh = sp.k[0], kw = ns == 2 ? sp.k[1] : 1;
    size_t nk = (size_t)(kh * kw * ci * co);
    float *kern = floats(nk);
    if (!kern)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (int64_t o = 0; o < co; o++) /* (out, in, kh, kw) -> (kh, kw, in, out) */
        for (int64_t i = 0; i < ci; i++)
            for (int64_t y = 0; y < kh; y++)
                for (int64_t z = 0; z < kw; z++)
                    kern[((y * kw + z) * ci + i) * co + o] =
                        dc_onnx_f32(scale * wt->data[((o * ci + i) * kh + y) * kw + z]);
    if ((st = dc_onnx_weight_add(im, 0, kern, nk)) != DC_OK)
        return st;
    if (cfg.use_bias) {
        float *bias = floats((size_t)co);
        if (!bias)
            return dc_fail(DC_ERR_NOMEM, "out of memory");
        for (int64_t o = 0; o < co; o++)
            bias[o] = dc_onnx_f32((b ? scale * b->data[o] : 0) + offset);
        if ((st = dc_onnx_weight_add(im, 1, bias, (size_t)co)) != DC_OK)
            return st;
    }
    int pos[DC_ONNX_MAX_RANK];
    channels_last_pos(x->ndim, pos);
    return define_dyn(im, def, 0, w.ref, x->ndim, dims, pos);
}

dc_status dc_onnx_tr_conv_transpose(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *wt, *b = dc_onnx_in(im, n, 2);
    dc_status st = need_batch_first(im, n, &x, 4, 4);
    if (st == DC_OK)
        st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &wt);
    if (st != DC_OK)
        return st;
    if (wt->ndim != 4 || !wt->data || wt->dims[0] != x->dims[1])
        return dc_fail(DC_ERR_FORMAT, "ConvTranspose: weight '%s' must be (%lld, out, kh, kw)", wt->name,
                       (long long)x->dims[1]);
    if (dc_onnx_attr_int(n, "group", 1) != 1)
        return dc_fail(DC_ERR_FORMAT, "ConvTranspose: group %lld is not supported yet",
                       (long long)dc_onnx_attr_int(n, "group", 1));
    char buf[32];
    if (strcmp(dc_onnx_attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf), "NOTSET") != 0 ||
        dc_onnx_attr(n, "output_shape"))
        return dc_fail(DC_ERR_FORMAT, "ConvTranspose: auto_pad and output_shape are not supported; give pads");
    int64_t ci = wt->dims[0], co = wt->dims[1];
    if (b && (st = need_len(n, b, (size_t)co, "bias")) != DC_OK)
        return st;
    spatial sp;
    if ((st = read_spatial(n, x, wt->dims + 2, &sp)) != DC_OK)
        return st;
    int64_t op[2] = {0, 0}, dims[4] = {-1, co};
    int c = dc_onnx_attr_ints(n, "output_padding", op, 2);
    if (c >= 0 && c != 2)
        return dc_fail(DC_ERR_FORMAT, "ConvTranspose: output_padding needs 2 values");
    int full[2];
    for (int i = 0; i < 2; i++) {
        int64_t len = (sp.in[i] - 1) * sp.s[i] + sp.d[i] * (sp.k[i] - 1) + 1 + op[i];
        if (op[i] < 0 || op[i] >= sp.s[i] || len > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_FORMAT, "ConvTranspose: output_padding %lld (0 to stride - 1) or output %lld on axis "
                                          "%d", (long long)op[i], (long long)len, i);
        full[i] = (int)len;
        if ((dims[2 + i] = len - sp.pads[i] - sp.pads[2 + i]) < 1)
            return dc_fail(DC_ERR_FORMAT, "ConvTranspose: the output of axis %d would be empty", i);
    }
    (void)full;
    dc_onnx_value w = *x;
    if ((st = channels_last(im, n, &w)) != DC_OK)
        return st;
    dc_conv_config cfg = dc_conv_defaults((int)co, (int)sp.k[0], (int)sp.k[1]);
    for (int i = 0; i < 2; i++) {
        cfg.strides[i] = (int)sp.s[i];
        cfg.dilation[i] = (int)sp.d[i];
    }
    cfg.use_bias = b != NULL;
    if ((st = apply1(im, n, dc_layer_conv2d_transpose_ex(&cfg, (int[]){(int)op[0], (int)op[1]}), &w)) != DC_OK)
        return st;
    int64_t kh = sp.k[0], kw = sp.k[1];
    size_t nk = (size_t)(kh * kw * ci * co);
    float *kern = floats(nk);
    if (!kern)
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < ci; i++) /* (in, out, kh, kw) -> (kh, kw, out, in) */
        for (int64_t o = 0; o < co; o++)
            for (int64_t y = 0; y < kh; y++)
                for (int64_t z = 0; z < kw; z++)
                    kern[((y * kw + z) * co + o) * ci + i] = dc_onnx_f32(wt->data[((i * co + o) * kh + y) * kw + z]);
    if ((st = dc_onnx_weight_add(im, 0, kern, nk)) != DC_OK)
        return st;
    if (b && (st = weight_copy(im, 1, b, (size_t)co, 1.0)) != DC_OK)
        return st;
    if (has_pads(&sp) &&
        (st = apply1(im, n, dc_layer_cropping2d((int)sp.pads[0], (int)sp.pads[2], (int)sp.pads[1], (int)sp.pads[3]),
                     &w)) != DC_OK)
        return st;
    int pos[4];
    channels_last_pos(4, pos);
    return define_dyn(im, n, 0, w.ref, 4, dims, pos);
}

dc_status dc_onnx_tr_pool(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = need_batch_first(im, n, &x, 3, 4);
    if (st == DC_OK)
        st = refuse_outputs(im, n, 1);
    if (st != DC_OK)
        return st;
    int is_max = !strcmp(n->op_type, "MaxPool"), ns = x->ndim - 2;
    int64_t kernel[2];
    if (dc_onnx_attr_ints(n, "kernel_shape", kernel, 2) != ns)
        return dc_fail(DC_ERR_FORMAT, "%s: kernel_shape needs %d values", n->op_type, ns);
    spatial sp;
    if ((st = read_spatial(n, x, kernel, &sp)) != DC_OK)
        return st;
    int64_t dims[DC_ONNX_MAX_RANK] = {-1, x->dims[1]};
    for (int i = 0; i < ns; i++) {
        if (sp.d[i] != 1)
            return dc_fail(DC_ERR_FORMAT, "%s: dilations are not supported", n->op_type);
        int64_t lo = out_size(&sp, i, 0), hi = out_size(&sp, i, (int)dc_onnx_attr_int(n, "ceil_mode", 0));
        if (lo < 1 || lo != hi)
            return dc_fail(DC_ERR_FORMAT, "%s: axis %d: output %lld (ceil_mode gives %lld); deepc pools with floor",
                           n->op_type, i, (long long)lo, (long long)hi);
        dims[2 + i] = lo;
    }
    if (has_pads(&sp) && (!sp.same || (!is_max && dc_onnx_attr_int(n, "count_include_pad", 0))))
        return dc_fail(DC_ERR_FORMAT, "%s: pads other than Keras' \"same\" (which leaves the padding out) are not "
                                      "supported", n->op_type);
    dc_onnx_value w = *x;
    if ((st = channels_last(im, n, &w)) != DC_OK)
        return st;
    dc_padding pad = sp.same ? DC_PADDING_SAME : DC_PADDING_VALID;
    dc_layer *l = ns == 2 ? dc_layer_pooling2d_ex(is_max, (int)sp.k[0], (int)sp.k[1], (int)sp.s[0], (int)sp.s[1], pad)
                          : dc_layer_pooling1d_ex(is_max, (int)sp.k[0], (int)sp.s[0], pad);
    if ((st = apply1(im, n, l, &w)) != DC_OK)
        return st;
    int pos[DC_ONNX_MAX_RANK];
    channels_last_pos(x->ndim, pos);
    return define_dyn(im, n, 0, w.ref, x->ndim, dims, pos);
}

dc_status dc_onnx_tr_global_pool(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = need_batch_first(im, n, &x, 3, 4);
    if (st != DC_OK)
        return st;
    int is_max = !strcmp(n->op_type, "GlobalMaxPool");
    dc_onnx_value w = *x;
    if ((st = channels_last(im, n, &w)) != DC_OK)
        return st;
    dc_layer *l = x->ndim == 4 ? (is_max ? dc_layer_global_max_pooling2d() : dc_layer_global_average_pooling2d())
                               : (is_max ? dc_layer_global_max_pooling1d() : dc_layer_global_average_pooling1d());
    if ((st = apply1(im, n, l, &w)) != DC_OK)
        return st;
    int64_t dims[4] = {-1, x->dims[1], 1, 1};
    return define_dyn(im, n, 0, w.ref, x->ndim, dims, (int[]){0, 1, -1, -1}); /* (N, C, 1, 1): 1s virtual */
}

/* The only reader of output 0 of n, of op `type`, or NULL (a graph output
 * counts as a reader). */
static const Onnx__NodeProto *only_reader(dc_onnx_importer *im, const Onnx__NodeProto *n, const char *type)
{
    const dc_onnx_slot *s = n->n_output ? dc_onnx_slot_of(im, n->output[0]) : NULL;
    if (!s || s->uses != 1 || s->reader < 0 || s->reader >= (int)im->graph->n_node)
        return NULL;
    const Onnx__NodeProto *r = im->graph->node[s->reader];
    return strcmp(r->op_type, type) ? NULL : r;
}

/* The node producing `name`, when it is of op `type` and `name` (its output
 * 0) has exactly one reader, or NULL. */
static const Onnx__NodeProto *sole_producer(dc_onnx_importer *im, const char *name, const char *type)
{
    int p = dc_onnx_producer(im, name);
    const dc_onnx_slot *s = dc_onnx_slot_of(im, name);
    if (p < 0 || !s || s->uses != 1)
        return NULL;
    const Onnx__NodeProto *nd = im->graph->node[p];
    return nd->n_output && !strcmp(nd->output[0], name) && !strcmp(nd->op_type, type) ? nd : NULL;
}

/* The input of binary node r that is not `name`, as a value (NULL: none). */
static dc_onnx_value *other_input(dc_onnx_importer *im, const Onnx__NodeProto *r, const char *name, int must_be_second)
{
    if (r->n_input != 2)
        return NULL;
    int first = !strcmp(r->input[0], name);
    if (!first && (must_be_second || strcmp(r->input[1], name) != 0))
        return NULL;
    return dc_onnx_find(im, r->input[first ? 1 : 0]);
}

/* The axes a Reduce node reduces, resolved against rank nd into red[];
 * returns their count (-1 on error). */
static int reduced_axes(dc_onnx_importer *im, const Onnx__NodeProto *n, int nd, int *red)
{
    int64_t axes[DC_ONNX_MAX_RANK];
    int na = -1;
    dc_onnx_value *ax = dc_onnx_in(im, n, 1);
    if (ax) {
        if (dc_onnx_ints(n, ax, axes, DC_ONNX_MAX_RANK, &na) != DC_OK)
            return -1;
    } else
        na = dc_onnx_attr_ints(n, "axes", axes, DC_ONNX_MAX_RANK);
    for (int i = 0; i < nd; i++)
        red[i] = na < 0; /* no axes: every axis */
    for (int i = 0; i < na; i++) {
        int a;
        if (dc_onnx_axis(n, axes[i], nd, &a) != DC_OK)
            return -1;
        red[a] = 1;
    }
    int c = 0;
    for (int i = 0; i < nd; i++)
        c += red[i];
    return c;
}

/* LayerNorm written out over the last axis (paddle2onnx, PyTorch's older
 * exports):  m = ReduceMean(x) -> d = x - m -> Pow(d, 2) -> ReduceMean ->
 * + eps -> Sqrt -> d / that [-> * gamma] [-> + beta], each step read only by
 * the next (d by Pow and Div): deepc's LayerNormalization.  n is the first
 * ReduceMean (over the last axis only, keepdims).  Returns 0 when the graph
 * does not follow the pattern exactly (the ops are then imported one by
 * one); on a match the chain's nodes are marked translated and *last is the
 * node whose output the layer stands for. */
static int layernorm_chain(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x, float *eps,
                           dc_onnx_value **gamma, dc_onnx_value **beta, const Onnx__NodeProto **last)
{
    const Onnx__NodeProto *sub, *pw, *rm, *add, *sq, *div, *mul = NULL, *add2 = NULL;
    int64_t c = x->dims[x->ndim - 1];
    if (strcmp(n->op_type, "ReduceMean") != 0 || !(sub = only_reader(im, n, "Sub")) || sub->n_input != 2 ||
        strcmp(sub->input[0], x->name) != 0 || strcmp(sub->input[1], n->output[0]) != 0)
        return 0;
    /* d = x - m is read twice: by Pow and, last, by the Div; walked back from the Div
     * through hash lookups (no scan of the graph) */
    const dc_onnx_slot *ds = dc_onnx_slot_of(im, sub->output[0]);
    if (!ds || ds->uses != 2 || ds->reader < 0 || ds->reader >= (int)im->graph->n_node)
        return 0;
    div = im->graph->node[ds->reader];
    if (strcmp(div->op_type, "Div") != 0 || div->n_input != 2 || strcmp(div->input[0], sub->output[0]) != 0 ||
        !(sq = sole_producer(im, div->input[1], "Sqrt")) || sq->n_input != 1 ||
        !(add = sole_producer(im, sq->input[0], "Add")) || add->n_input != 2)
        return 0;
    dc_onnx_value *e = dc_onnx_find(im, add->input[0]), *two; /* eps: the input already a constant */
    int e_first = e && e->kind == DC_ONNX_CONST;
    e = e_first ? e : dc_onnx_find(im, add->input[1]);
    int red[DC_ONNX_MAX_RANK];
    if (!e || e->kind != DC_ONNX_CONST || dc_onnx_numel(e) != 1 || !(dc_onnx_at(e, 0) >= 0) ||
        !(rm = sole_producer(im, add->input[e_first ? 1 : 0], "ReduceMean")) || rm->n_input < 1 ||
        reduced_axes(im, rm, x->ndim, red) != 1 || !red[x->ndim - 1] || !dc_onnx_attr_int(rm, "keepdims", 1) ||
        !(pw = sole_producer(im, rm->input[0], "Pow")) || pw->n_input != 2 ||
        strcmp(pw->input[0], sub->output[0]) != 0 || !(two = dc_onnx_find(im, pw->input[1])) ||
        two->kind != DC_ONNX_CONST || dc_onnx_numel(two) != 1 || dc_onnx_at(two, 0) != 2.0)
        return 0;
    *eps = dc_onnx_f32(dc_onnx_at(e, 0));
    *gamma = *beta = NULL;
    *last = div;
    if ((mul = only_reader(im, div, "Mul")) && is_bias(other_input(im, mul, div->output[0], 0), c, x->ndim)) {
        *gamma = other_input(im, mul, div->output[0], 0);
        *last = mul;
        if ((add2 = only_reader(im, mul, "Add")) && is_bias(other_input(im, add2, mul->output[0], 0), c, x->ndim)) {
            *beta = other_input(im, add2, mul->output[0], 0);
            *last = add2;
        }
    }
    const Onnx__NodeProto *chain[8] = {sub, pw, rm, add, sq, div, mul, add2};
    for (int i = 0; i < 8; i++) {
        im->skip[dc_onnx_producer(im, chain[i]->output[0])] = 1;
        if (chain[i] == *last)
            break;
    }
    return 1;
}

static dc_status layernorm_fused(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x, float eps,
                                 const dc_onnx_value *gamma, const dc_onnx_value *beta, const Onnx__NodeProto *last)
{
    int axis = x->ndim - 1;
    size_t c = (size_t)x->dims[axis];
    dc_onnx_value w = *x;
    dc_status st = dc_onnx_axis_last(im, n, &w, axis);
    if (st != DC_OK)
        return st;
    dc_layer_norm_config cfg = dc_layer_norm_defaults();
    cfg.epsilon = eps;
    cfg.scale = gamma != NULL;
    cfg.center = beta != NULL;
    if ((st = apply1(im, n, dc_layer_layer_normalization_ex(&cfg), &w)) != DC_OK)
        return st;
    int k = 0;
    if (gamma && (st = weight_copy(im, k++, gamma, c, 1.0)) != DC_OK)
        return st;
    if (beta && (st = weight_copy(im, k, beta, c, 1.0)) != DC_OK)
        return st;
    return define_dyn(im, last, 0, w.ref, w.ndim, w.dims, w.pos);
}

/* ReduceMean / ReduceMax.  Over every axis but the batch and one channel
 * axis: global average / max pooling (how NHWC exporters write it).
 * ReduceMean over one axis (stored last, or where pooling does not apply):
 * the ReduceMean layer on that axis moved last; a written-out LayerNorm
 * starting there: LayerNormalization. */
dc_status dc_onnx_tr_reduce(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = need_batch_first(im, n, &x, 2, DC_ONNX_MAX_RANK);
    if (st != DC_OK)
        return st;
    int red[DC_ONNX_MAX_RANK] = {0}, keep = -1, na = reduced_axes(im, n, x->ndim, red);
    int is_max = !strcmp(n->op_type, "ReduceMax"), keepdims = (int)dc_onnx_attr_int(n, "keepdims", 1);
    if (na < 0)
        return dc_last_status();
    for (int i = 1; i < x->ndim; i++)
        if (!red[i] && x->pos[i] > 0)
            keep = keep == -1 ? i : -2;
    int one = -1, sn_x = 0;
    for (int i = 0; i < x->ndim; i++) {
        sn_x += x->pos[i] >= 0;
        if (red[i])
            one = i;
    }
    float eps;
    dc_onnx_value *gamma, *beta;
    const Onnx__NodeProto *last;
    if (!is_max && na == 1 && one == x->ndim - 1 && x->pos[one] > 0 && keepdims &&
        layernorm_chain(im, n, x, &eps, &gamma, &beta, &last))
        return layernorm_fused(im, n, x, eps, gamma, beta, last);
    if (!is_max && na == 1 && !red[0] && x->pos[one] > 0 && (x->pos[one] == sn_x - 1 || keep < 0 || x->ndim < 3)) {
        dc_onnx_value w = *x;
        if ((st = dc_onnx_axis_last(im, n, &w, one)) != DC_OK || (st = apply1(im, n, dc_layer_reduce_mean(), &w)) !=
                                                                     DC_OK)
            return st;
        w.dims[one] = 1;
        if (keepdims)
            return define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos);
        return dc_onnx_take(im, n, &w, one, 0, 1, 1); /* the size-1 axis dropped */
    }
    if (x->ndim < 3 || x->ndim > 4 || na < 1 || red[0] || keep < 0)
        return dc_fail(DC_ERR_FORMAT, "%s: deepc reduces every axis but the batch and one other (global pooling)%s",
                       n->op_type, is_max ? "" : ", or one axis");
    dc_onnx_value w = *x;
    if ((st = dc_onnx_axis_last(im, n, &w, keep)) != DC_OK)
        return st;
    int ord[DC_ONNX_MAX_RANK], sn = dc_onnx_stored(&w, ord);
    dc_layer *l = sn == 4 ? (is_max ? dc_layer_global_max_pooling2d() : dc_layer_global_average_pooling2d())
                          : (is_max ? dc_layer_global_max_pooling1d() : dc_layer_global_average_pooling1d());
    if ((st = apply1(im, n, l, &w)) != DC_OK)
        return st;
    int64_t dims[DC_ONNX_MAX_RANK];
    int pos[DC_ONNX_MAX_RANK], nd = 0;
    for (int i = 0; i < x->ndim; i++) /* the batch, the kept axis; reduced ones virtual (keepdims) or gone */
        if (!red[i] || keepdims) {
            dims[nd] = red[i] ? 1 : x->dims[i];
            pos[nd++] = i == 0 ? 0 : i == keep ? 1 : -1;
        }
    return define_dyn(im, n, 0, w.ref, nd, dims, pos);
}

/* -------------------------------------------------------- normalisation */

dc_status dc_onnx_tr_batchnorm(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *p[4];
    dc_status st = need_batch_first(im, n, &x, 2, DC_ONNX_MAX_RANK);
    for (int i = 0; i < 4 && st == DC_OK; i++)
        if ((st = dc_onnx_need(im, n, (size_t)i + 1, DC_ONNX_CONST, &p[i])) == DC_OK)
            st = need_len(n, p[i], (size_t)x->dims[1], i < 2 ? "scale / bias" : "mean / variance");
    if (st == DC_OK)
        st = refuse_outputs(im, n, 1);
    if (st != DC_OK)
        return st;
    if (dc_onnx_attr_int(n, "training_mode", 0))
        return dc_fail(DC_ERR_FORMAT, "BatchNormalization: training_mode 1 is not supported");
    dc_onnx_value w = *x;
    if ((st = dc_onnx_axis_last(im, n, &w, 1)) != DC_OK)
        return st;
    float eps = dc_onnx_attr_float(n, "epsilon", 1e-5f), mom = dc_onnx_attr_float(n, "momentum", 0.9f);
    if ((st = apply1(im, n, dc_layer_batch_normalization_ex(mom, eps), &w)) != DC_OK)
        return st;
    for (int i = 0; i < 4 && st == DC_OK; i++) /* gamma, beta, moving_mean, moving_variance */
        st = weight_copy(im, i, p[i], (size_t)x->dims[1], 1.0);
    return st == DC_OK ? define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos) : st;
}

dc_status dc_onnx_tr_layernorm(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *scale, *bias = dc_onnx_in(im, n, 2);
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    int axis;
    if (st == DC_OK)
        st = dc_onnx_axis(n, dc_onnx_attr_int(n, "axis", -1), x->ndim, &axis);
    if (st == DC_OK && axis != x->ndim - 1)
        st = dc_fail(DC_ERR_FORMAT, "LayerNormalization: axis %d; deepc normalises the last axis only", axis);
    size_t c = st == DC_OK ? (size_t)x->dims[axis] : 0;
    if (st == DC_OK && (st = dc_onnx_need(im, n, 1, DC_ONNX_CONST, &scale)) == DC_OK)
        st = need_len(n, scale, c, "scale");
    if (st == DC_OK && bias)
        st = need_len(n, bias, c, "bias");
    if (st == DC_OK)
        st = refuse_outputs(im, n, 1);
    if (st != DC_OK)
        return st;
    dc_onnx_value w = *x;
    if ((st = dc_onnx_axis_last(im, n, &w, axis)) != DC_OK)
        return st;
    dc_layer_norm_config cfg = dc_layer_norm_defaults();
    cfg.epsilon = dc_onnx_attr_float(n, "epsilon", 1e-5f);
    cfg.center = bias != NULL;
    if ((st = apply1(im, n, dc_layer_layer_normalization_ex(&cfg), &w)) != DC_OK)
        return st;
    if ((st = weight_copy(im, 0, scale, c, 1.0)) == DC_OK && bias)
        st = weight_copy(im, 1, bias, c, 1.0);
    return st == DC_OK ? define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos) : st;
}

/* ---------------------------------------------------------- activations */

/* Sigmoid(x) read only by a Mul with x (the same stored data: paddle2onnx's
 * swish, x * 1 between them folded away): that Mul, marked translated, or
 * NULL. */
static const Onnx__NodeProto *swish_mul(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x)
{
    const Onnx__NodeProto *mul = only_reader(im, n, "Mul");
    dc_onnx_value *o = mul ? other_input(im, mul, n->output[0], 0) : NULL;
    if (!o || o->kind != DC_ONNX_DYN || o->ref != x->ref || o->ndim != x->ndim ||
        memcmp(o->dims, x->dims, (size_t)x->ndim * sizeof(int64_t)) != 0 ||
        memcmp(o->pos, x->pos, (size_t)x->ndim * sizeof(int)) != 0)
        return NULL;
    im->skip[dc_onnx_producer(im, mul->output[0])] = 1;
    return mul;
}

dc_status dc_onnx_tr_activation(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    if (st != DC_OK)
        return st;
    const char *t = n->op_type;
    const Onnx__NodeProto *def = n, *mul;
    dc_layer *l;
    if (!strcmp(t, "LeakyRelu"))
        l = dc_layer_leaky_relu(dc_onnx_attr_float(n, "alpha", 0.01f));
    else if (!strcmp(t, "Elu"))
        l = dc_layer_elu(dc_onnx_attr_float(n, "alpha", 1.0f));
    else if (!strcmp(t, "Selu") && (fabsf(dc_onnx_attr_float(n, "alpha", 1.67326319f) - 1.67326319f) > 1e-6f ||
                                    fabsf(dc_onnx_attr_float(n, "gamma", 1.05070102f) - 1.05070102f) > 1e-6f))
        return dc_fail(DC_ERR_FORMAT, "Selu: only the standard alpha and gamma are supported");
    else if (!strcmp(t, "Sigmoid") && (mul = swish_mul(im, n, x))) {
        l = dc_layer_activation("swish");
        def = mul;
    }
    else
        l = dc_layer_activation(!strcmp(t, "Relu") ? "relu" : !strcmp(t, "Sigmoid") ? "sigmoid"
                                : !strcmp(t, "Tanh") ? "tanh" : !strcmp(t, "Selu") ? "selu" : "softplus");
    dc_onnx_value w = *x;
    if ((st = apply1(im, n, l, &w)) != DC_OK)
        return st;
    return define_dyn(im, def, 0, w.ref, w.ndim, w.dims, w.pos);
}

/* Clip(min, max) (attributes before opset 11, optional constant inputs
 * after) as ReLU layers: min 0: ReLU(max_value = max); another finite min:
 * shifted by -min, ReLU(max - min), shifted back; no min: max - ReLU(max - x).
 * HardSigmoid(alpha, beta) = clip(alpha x + beta, 0, 1): Rescaling, ReLU(1). */
dc_status dc_onnx_tr_clip(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    if (st != DC_OK)
        return st;
    dc_onnx_value w = *x;
    if (!strcmp(n->op_type, "HardSigmoid")) {
        float a = dc_onnx_attr_float(n, "alpha", 0.2f), b = dc_onnx_attr_float(n, "beta", 0.5f);
        if (!isfinite(a) || !isfinite(b))
            return dc_fail(DC_ERR_FORMAT, "HardSigmoid: alpha %g and beta %g must be finite", (double)a, (double)b);
        if ((st = apply1(im, n, dc_layer_rescaling(a, b), &w)) != DC_OK ||
            (st = apply1(im, n, dc_layer_relu_ex(1.0f, 0.0f, 0.0f), &w)) != DC_OK)
            return st;
        return define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos);
    }
    float lo = -INFINITY, hi = INFINITY;
    if (im->opset < 11) {
        lo = dc_onnx_attr_float(n, "min", -INFINITY);
        hi = dc_onnx_attr_float(n, "max", INFINITY);
    } else
        for (size_t k = 1; k < 3; k++) {
            dc_onnx_value *c = dc_onnx_in(im, n, k);
            if (!c)
                continue;
            if ((st = need_len(n, c, 1, k == 1 ? "min" : "max")) != DC_OK)
                return st;
            *(k == 1 ? &lo : &hi) = dc_onnx_f32(dc_onnx_at(c, 0));
        }
    if (isnan(lo) || isnan(hi) || lo > hi || lo == INFINITY || hi == -INFINITY)
        return dc_fail(DC_ERR_FORMAT, "Clip: min %g, max %g; expected min <= max", (double)lo, (double)hi);
    if (lo == -INFINITY && hi == INFINITY)
        st = DC_OK;
    else if (lo == 0.0f)
        st = apply1(im, n, dc_layer_relu_ex(hi, 0.0f, 0.0f), &w);
    else if (lo == -INFINITY) {
        if ((st = apply1(im, n, dc_layer_rescaling(-1.0f, hi), &w)) == DC_OK &&
            (st = apply1(im, n, dc_layer_relu(), &w)) == DC_OK)
            st = apply1(im, n, dc_layer_rescaling(-1.0f, hi), &w);
    } else if ((st = apply1(im, n, dc_layer_rescaling(1.0f, -lo), &w)) == DC_OK &&
               (st = apply1(im, n, dc_layer_relu_ex(hi - lo, 0.0f, 0.0f), &w)) == DC_OK)
        st = apply1(im, n, dc_layer_rescaling(1.0f, lo), &w);
    if (st != DC_OK)
        return st;
    return define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos);
}

dc_status dc_onnx_tr_softmax(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    int axis;
    if (st == DC_OK)
        st = dc_onnx_axis(n, dc_onnx_attr_int(n, "axis", im->opset < 13 ? 1 : -1), x->ndim, &axis);
    if (st != DC_OK)
        return st;
    if (im->opset < 13 && axis != x->ndim - 1) /* before 13: over the flattened axes from `axis` on */
        return dc_fail(DC_ERR_FORMAT, "%s: axis %d of a rank-%d value (opset %d flattens from it); only the last "
                                      "axis is supported", n->op_type, axis, x->ndim, im->opset);
    dc_onnx_value w = *x;
    if ((st = dc_onnx_axis_last(im, n, &w, axis)) != DC_OK)
        return st;
    int log = !strcmp(n->op_type, "LogSoftmax");
    if ((st = apply1(im, n, log ? dc_layer_log_softmax() : dc_layer_softmax(-1), &w)) != DC_OK)
        return st;
    return define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos);
}

dc_status dc_onnx_tr_erf(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    (void)im;
    (void)n;
    return dc_fail(DC_ERR_FORMAT, "Erf: supported only inside the exact GELU pattern 0.5 * x * (1 + erf(x / sqrt(2)))");
}

dc_status dc_onnx_tr_dropout(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *r = dc_onnx_in(im, n, 1);
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    if (st == DC_OK)
        st = refuse_outputs(im, n, 1);
    if (st == DC_OK && r && (st = need_len(n, r, 1, "ratio")) != DC_OK)
        return st;
    if (st != DC_OK)
        return st;
    double rate = r ? r->data[0] : im->opset < 12 ? dc_onnx_attr_float(n, "ratio", 0.5f) : 0.5;
    dc_onnx_value w = *x;
    if (rate > 0 && (st = apply1(im, n, dc_layer_dropout((float)rate), &w)) != DC_OK) /* active in fit only */
        return st;
    return define_dyn(im, n, 0, w.ref, w.ndim, w.dims, w.pos);
}

dc_status dc_onnx_tr_pad(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x, *pv = dc_onnx_in(im, n, 1), *cv = dc_onnx_in(im, n, 2);
    dc_status st = need_batch_first(im, n, &x, 2, DC_ONNX_MAX_RANK);
    if (st != DC_OK)
        return st;
    int64_t pads[2 * DC_ONNX_MAX_RANK];
    int np;
    char buf[32];
    if (im->opset >= 11) {
        if (!pv)
            return dc_fail(DC_ERR_FORMAT, "Pad: no pads");
        if ((st = dc_onnx_ints(n, pv, pads, 2 * DC_ONNX_MAX_RANK, &np)) != DC_OK)
            return st;
    } else
        np = dc_onnx_attr_ints(n, "pads", pads, 2 * DC_ONNX_MAX_RANK);
    double value = cv ? (need_len(n, cv, 1, "constant_value") == DC_OK ? cv->data[0] : NAN)
                      : dc_onnx_attr_float(n, "value", 0.0f);
    if (np != 2 * x->ndim || value != 0 || dc_onnx_in(im, n, 3) ||
        strcmp(dc_onnx_attr_str(n, "mode", "constant", buf, sizeof buf), "constant") != 0)
        return dc_fail(DC_ERR_FORMAT, "Pad: only constant zero padding of every axis is supported");
    int64_t dims[DC_ONNX_MAX_RANK];
    int any = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (pads[i] < 0 || pads[i] > DC_DIM_LIMIT || pads[x->ndim + i] < 0 || pads[x->ndim + i] > DC_DIM_LIMIT ||
            ((pads[i] || pads[x->ndim + i]) && (i < 2 || x->ndim < 3 || x->ndim > 4)))
            return dc_fail(DC_ERR_FORMAT, "Pad: deepc pads the spatial axes of (N, C, H, W) or (N, C, L) only, by 0 "
                                          "to %d", DC_DIM_LIMIT);
        dims[i] = x->dims[i] + pads[i] + pads[x->ndim + i];
        any |= pads[i] || pads[x->ndim + i];
    }
    dc_onnx_value w = *x;
    if (any) {
        if ((st = channels_last(im, n, &w)) != DC_OK)
            return st;
        dc_layer *l = x->ndim == 4 ? dc_layer_zero_padding2d((int)pads[2], (int)pads[6], (int)pads[3], (int)pads[7])
                                   : dc_layer_zero_padding1d((int)pads[2], (int)pads[5]);
        if ((st = apply1(im, n, l, &w)) != DC_OK)
            return st;
    }
    return define_dyn(im, n, 0, w.ref, x->ndim, dims, w.pos);
}
