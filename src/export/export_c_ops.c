/*
 * export_c_ops.c - the per-op emitters of the C export and the helpers the
 * generated file may contain.
 *
 * Each emitter writes, into the predict function, a comment naming the
 * layer and its output shape and one call of a helper (or a short loop for
 * elementwise ops), with its weights as static const arrays.  The helpers
 * are small plain-C99 functions written once, and only when some layer uses
 * them (so the file compiles under -Wall -Wextra -Werror: nothing unused).
 * They compute what deepc's ops compute in the same order of operations
 * where the order matters (pooling's first maximum, BatchNormalization's
 * gamma * (x - mean) * inv + beta, the recurrent cells' gate order); sums
 * of products are plain loops, so results agree with deepc's BLAS to float
 * rounding, and exactly between compilers and targets that follow ISO C's
 * no-contraction rule (-std=c99).
 *
 * Ops reached by layers that are the identity at inference (Dropout, the
 * noise layers, the augmentation layers) and those that only reinterpret
 * the data (Reshape, Flatten, TimeDistributed's folds) share their input's
 * buffer and emit nothing (xc_is_alias).
 */
#include "export/export_c.h"
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int xc_is_alias(const dc_node *n)
{
    const dc_op *op = n->op;
    return (op->flags & DC_OP_ALIASES_INPUT) || op == &dc_op_columns || op == &dc_op_qcopy || op == &dc_op_qpass ||
           op == &dc_op_dropout ||
           op == &dc_op_spatial_dropout || op == &dc_op_gaussian_noise || op == &dc_op_random_flip ||
           op == &dc_op_random_affine || op == &dc_op_random_color;
}

/* A float as a C literal: "0.5f", "1.0f", "HUGE_VALF". */
#define XF(v) xc_flt((v), (char[40]){0})

/* Element idx (a C expression) of node n's buffer: "s[120 + i]". */
static const char *at(xc_ctx *c, dc_node *n, const char *idx, char *buf, size_t size)
{
    const xc_node *x = &c->x[n->id];
    if (x->where == XC_PARAM)
        snprintf(buf, size, "%s[%s]", xc_var(c, n), idx);
    else if (x->off)
        snprintf(buf, size, "%s[%zu + %s]", x->where == XC_INPUT ? "in" : "s", x->off, idx);
    else
        snprintf(buf, size, "%s[%s]", x->where == XC_INPUT ? "in" : "s", idx);
    return buf;
}

/* The comment heading a node's code: layer name, class, op, shapes. */
void xc_heading(xc_ctx *c, dc_node *n, const char *what)
{
    char so[96], si[96];
    const dc_layer *l = c->layer_of[n->id];
    xc_printf(&c->body, "    /* %s (%s%s%s): %s -> %s */\n", l ? l->name : n->name, l ? l->cls->type : "", l ? ", " : "",
              what, xc_shape(n->in[0], si, sizeof si), xc_shape(n, so, sizeof so));
}

/* A BatchNormalization folded into n (its only reader), or NULL. */
dc_node *xc_folded_bn(xc_ctx *c, dc_node *n)
{
    for (int i = n->id + 1; i < c->g->n_nodes; i++)
        if (c->x[i].used && c->x[i].folded && c->g->nodes[i]->in[0] == n)
            return c->g->nodes[i];
    return NULL;
}

/* Kernel (..., f) and bias (f) with bn folded in: w * s, (b - mean) * s + beta,
 * s = gamma / sqrt(var + eps) as deepc computes inv. */
static dc_status fold(xc_ctx *c, dc_node *n, dc_node *bn, dc_node *kernel, dc_node *bias, char *wname, char *bname)
{
    size_t total = dc_node_numel(kernel);
    int f = kernel->shape[kernel->ndim - 1];
    float *w = malloc(total * sizeof *w), *b = malloc((size_t)f * sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory folding %s", xc_layer_name(c, bn));
    }
    const float *gamma = bn->in[1]->val, *beta = bn->in[2]->val, *mean = bn->in[3]->val, *var = bn->in[4]->val;
    float eps = bn->attr.batchnorm.epsilon;
    for (int j = 0; j < f; j++) {
        float inv = 1.0f / sqrtf(var[j] + eps);
        double s = (double)gamma[j] * inv;
        b[j] = (float)(((bias ? (double)bias->val[j] : 0.0) - mean[j]) * s + beta[j]);
    }
    for (size_t i = 0; i < total; i++) {
        int j = (int)(i % (size_t)f);
        float inv = 1.0f / sqrtf(var[j] + eps);
        w[i] = (float)((double)kernel->val[i] * ((double)gamma[j] * inv));
    }
    char comment[256];
    snprintf(wname, 96, "w%d_%s_folded_kernel", n->id, xc_layer_name(c, n));
    snprintf(bname, 96, "w%d_%s_folded_bias", n->id, xc_layer_name(c, n));
    for (char *p = wname; *p; p++)
        *p = (*p == '/' || *p == '-' || *p == '.') ? '_' : *p;
    for (char *p = bname; *p; p++)
        *p = (*p == '/' || *p == '-' || *p == '.') ? '_' : *p;
    snprintf(comment, sizeof comment, "%s's kernel with %s folded in", xc_layer_name(c, n), xc_layer_name(c, bn));
    xc_array(c, wname, w, total, comment);
    snprintf(comment, sizeof comment, "%s's bias with %s folded in", xc_layer_name(c, n), xc_layer_name(c, bn));
    xc_array(c, bname, b, (size_t)f, comment);
    free(w);
    free(b);
    return DC_OK;
}

/* The buffer of the node that receives n's output (n, or the folded bn). */
static const char *out_var(xc_ctx *c, dc_node *n) { return c->x[n->id].var; }

/* ---- emitters ---- */

static dc_status emit_dense(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0], *w = n->in[1], *b = n->in[2], *bn = xc_folded_bn(c, n);
    char wn[96], bnm[96];
    xc_heading(c, n, bn ? "dense, BatchNormalization folded in" : "dense");
    if (bn) {
        dc_status st = fold(c, n, bn, w, b, wn, bnm);
        if (st != DC_OK)
            return st;
    } else {
        snprintf(wn, sizeof wn, "%s", xc_var(c, w));
        snprintf(bnm, sizeof bnm, "%s", b ? xc_var(c, b) : "NULL");
    }
    c->helpers[XH_DENSE] = 1;
    xc_printf(&c->body, "    dense(%s, %s, %s, %s, %zu, %d, %d, %d);\n\n", xc_var(c, x), wn, bnm, out_var(c, n),
              dc_node_rows(n), w->shape[0], w->shape[1], bn && bn->attr.batchnorm.relu);
    return DC_OK;
}

/* Output size and leading pad of one axis (ops_conv.c's rule). */
static int lead_pad(int n, int k, int s, int d, int same, int o)
{
    int total = (o - 1) * s + (k - 1) * d + 1 - n;
    return same && total > 0 ? total / 2 : 0;
}

static dc_status emit_conv2d(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0], *k = n->in[1], *b = n->in[2], *bn = xc_folded_bn(c, n);
    const dc_conv_attr *a = &n->attr.conv;
    char wn[96], bnm[96];
    xc_heading(c, n, bn ? "conv2d, BatchNormalization folded in" : "conv2d");
    if (bn) {
        dc_status st = fold(c, n, bn, k, b, wn, bnm);
        if (st != DC_OK)
            return st;
    } else {
        snprintf(wn, sizeof wn, "%s", xc_var(c, k));
        snprintf(bnm, sizeof bnm, "%s", b ? xc_var(c, b) : "NULL");
    }
    int H = x->shape[1], W = x->shape[2], C = x->shape[3], OH = n->shape[1], OW = n->shape[2], F = n->shape[3];
    int ph = lead_pad(H, k->shape[0], a->stride_h, a->dilation_h, a->same, OH);
    int pw = lead_pad(W, k->shape[1], a->stride_w, a->dilation_w, a->same, OW);
    int relu = a->relu || (bn && bn->attr.batchnorm.relu);
    int id = c->n_geom++;
    xc_printf(&c->weights, "/* %s: geometry */\nstatic const conv_geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n\n",
              xc_layer_name(c, n), id, H, W, C, OH, OW, F, k->shape[0], k->shape[1], a->stride_h, a->stride_w,
              a->dilation_h, a->dilation_w, ph, pw, relu);
    c->helpers[XH_CONV2D] = 1;
    if (x->shape[0] == 1)
        xc_printf(&c->body, "    conv2d(&g%d, %s, %s, %s, %s);\n\n", id, xc_var(c, x), wn, bnm, out_var(c, n));
    else
        xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        conv2d(&g%d, %s + i * %zu, %s, %s, %s + i * %zu);\n\n",
                  x->shape[0], id, xc_var(c, x), (size_t)H * W * C, wn, bnm, out_var(c, n), (size_t)OH * OW * F);
    return DC_OK;
}

static dc_status emit_deconv2d(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0], *k = n->in[1], *b = n->in[2];
    const dc_deconv_attr *a = &n->attr.deconv;
    xc_heading(c, n, "conv2d_transpose");
    int IH = x->shape[1], IW = x->shape[2], F = x->shape[3], H = n->shape[1], W = n->shape[2], C = n->shape[3];
    int ph = lead_pad(H, k->shape[0], a->stride[0], a->dilation[0], a->same, IH);
    int pw = lead_pad(W, k->shape[1], a->stride[1], a->dilation[1], a->same, IW);
    int id = c->n_geom++;
    /* the adjoint convolution's geometry: (h, w, c) the output, (oh, ow, f) the input */
    xc_printf(&c->weights, "/* %s: geometry (of the convolution it transposes) */\nstatic const conv_geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, 0};\n\n",
              xc_layer_name(c, n), id, H, W, C, IH, IW, F, k->shape[0], k->shape[1], a->stride[0], a->stride[1],
              a->dilation[0], a->dilation[1], ph, pw);
    c->helpers[XH_DECONV2D] = 1;
    const char *bv = b ? xc_var(c, b) : "NULL";
    if (x->shape[0] == 1)
        xc_printf(&c->body, "    conv2d_transpose(&g%d, %s, %s, %s, %s);\n\n", id, xc_var(c, x), xc_var(c, k), bv,
                  out_var(c, n));
    else
        xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        conv2d_transpose(&g%d, %s + i * %zu, %s, %s, %s + i * %zu);\n\n",
                  x->shape[0], id, xc_var(c, x), (size_t)IH * IW * F, xc_var(c, k), bv, out_var(c, n),
                  (size_t)H * W * C);
    return DC_OK;
}

static dc_status emit_pool2d(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    const dc_pool_attr *a = &n->attr.pool;
    xc_heading(c, n, a->is_max ? "max pooling" : "average pooling");
    int H = x->shape[1], W = x->shape[2], C = x->shape[3], OH = n->shape[1], OW = n->shape[2];
    int ph = lead_pad(H, a->pool_h, a->stride_h, 1, a->same, OH), pw = lead_pad(W, a->pool_w, a->stride_w, 1, a->same, OW);
    int id = c->n_geom++;
    xc_printf(&c->weights, "/* %s: geometry */\nstatic const pool_geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n\n",
              xc_layer_name(c, n), id, H, W, C, OH, OW, a->pool_h, a->pool_w, a->stride_h, a->stride_w, ph, pw,
              a->is_max);
    c->helpers[XH_POOL2D] = 1;
    if (x->shape[0] == 1)
        xc_printf(&c->body, "    pool2d(&g%d, %s, %s);\n\n", id, xc_var(c, x), out_var(c, n));
    else
        xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        pool2d(&g%d, %s + i * %zu, %s + i * %zu);\n\n",
                  x->shape[0], id, xc_var(c, x), (size_t)H * W * C, out_var(c, n), (size_t)OH * OW * C);
    return DC_OK;
}

static dc_status emit_gpool(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    int ch = n->shape[1], rows = n->shape[0];
    size_t per = dc_node_numel(x) / ((size_t)rows * (size_t)ch);
    xc_heading(c, n, n->attr.global_pool.is_max ? "global max pooling" : "global average pooling");
    c->helpers[XH_GPOOL] = 1;
    xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        global_pool(%s + i * %zu, %s + i * %d, %zu, %d, %d);\n\n", rows,
              xc_var(c, x), per * ch, out_var(c, n), ch, per, ch, n->attr.global_pool.is_max);
    return DC_OK;
}

static dc_status emit_act(xc_ctx *c, dc_node *n)
{
    dc_act a = (dc_act)n->attr.act.fn;
    xc_heading(c, n, dc_act_name(a));
    if (a == DC_ACT_SOFTMAX) {
        c->helpers[XH_SOFTMAX] = 1;
        xc_printf(&c->body, "    softmax(%s, %s, %zu, %d);\n\n", xc_var(c, n->in[0]), out_var(c, n), dc_node_rows(n),
                  dc_node_cols(n));
        return DC_OK;
    }
    c->helpers[XH_ACT] = 1;
    c->act_used |= 1u << a;
    xc_printf(&c->body, "    act_%s(%s, %s, %zu, %s);\n\n", dc_act_name(a), xc_var(c, n->in[0]), out_var(c, n),
              dc_node_numel(n), XF(n->attr.act.alpha));
    return DC_OK;
}

static dc_status emit_batchnorm(xc_ctx *c, dc_node *n)
{
    int ch = dc_node_cols(n);
    float inv[4096];
    float *iv = ch <= 4096 ? inv : malloc((size_t)ch * sizeof *iv);
    if (!iv)
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory for %s", xc_layer_name(c, n));
    for (int j = 0; j < ch; j++)
        iv[j] = 1.0f / sqrtf(n->in[4]->val[j] + n->attr.batchnorm.epsilon);
    char name[96], comment[160];
    snprintf(name, sizeof name, "w%d_inv_std", n->id);
    snprintf(comment, sizeof comment, "%s: 1 / sqrt(moving_variance + %g)", xc_layer_name(c, n),
             (double)n->attr.batchnorm.epsilon);
    xc_heading(c, n, "batch normalization with the moving statistics");
    xc_array(c, name, iv, (size_t)ch, comment);
    if (iv != inv)
        free(iv);
    c->helpers[XH_BATCHNORM] = 1;
    xc_printf(&c->body, "    batchnorm(%s, %s, %zu, %d, %s, %s, %s, %s, %d);\n\n", xc_var(c, n->in[0]), out_var(c, n),
              dc_node_rows(n), ch, xc_var(c, n->in[1]), xc_var(c, n->in[2]), xc_var(c, n->in[3]), name,
              n->attr.batchnorm.relu);
    return DC_OK;
}

static dc_status emit_layernorm(xc_ctx *c, dc_node *n)
{
    xc_heading(c, n, "layer normalization");
    c->helpers[XH_LAYERNORM] = 1;
    xc_printf(&c->body, "    layernorm(%s, %s, %zu, %d, %s, %s, %s);\n\n", xc_var(c, n->in[0]), out_var(c, n),
              dc_node_rows(n), dc_node_cols(n), xc_var(c, n->in[1]), xc_var(c, n->in[2]),
              XF(n->attr.layernorm.epsilon));
    return DC_OK;
}

static dc_status emit_embedding(xc_ctx *c, dc_node *n)
{
    dc_node *t = n->in[1];
    xc_heading(c, n, "embedding lookup");
    c->helpers[XH_EMBEDDING] = 1;
    xc_printf(&c->body, "    if (embedding(%s, %zu, %s, %d, %d, %s))\n        return 1;\n\n", xc_var(c, n->in[0]),
              dc_node_numel(n->in[0]), xc_var(c, t), t->shape[0], t->shape[1], out_var(c, n));
    return DC_OK;
}

int xc_rnn_geom(xc_ctx *c, dc_node *n)
{
    const dc_rnn_attr *a = &n->attr.rnn;
    dc_node *x = n->in[0];
    static const char *kinds[] = {"SimpleRNN", "LSTM", "GRU"};
    char what[80];
    snprintf(what, sizeof what, "%s%s cell over %d steps", n->op == &dc_op_rnn ? "" : "int8-weight ",
             a->kind >= 0 && a->kind < 3 ? kinds[a->kind] : "?", x->shape[1]);
    xc_heading(c, n, what);
    int id = c->n_geom++, f = a->flags;
    xc_printf(&c->weights,
              "/* %s: T, F, U, kind (0 SimpleRNN, 1 LSTM, 2 GRU), return_sequences, go_backwards, reset_after,\n"
              " * reverse_output, zero_output_for_mask, activation, recurrent activation (0 linear, 1 sigmoid,\n"
              " * 2 tanh, 3 relu) */\nstatic const rnn_geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n\n",
              xc_layer_name(c, n), id, x->shape[1], x->shape[2], a->units, a->kind, !!(f & 1), !!(f & 2), !!(f & 4),
              !!(f & 8), !!(f & 16), a->act, a->recurrent_act);
    c->helpers[XH_RNN_BASE] = 1;
    return id;
}

static dc_status emit_rnn(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    if (x->shape[0] != 1)
        return dc_fail(DC_ERR_ARG, "export_c: layer %s: a recurrent op over %d rows per sample is not supported",
                       xc_layer_name(c, n), x->shape[0]);
    int id = xc_rnn_geom(c, n);
    c->helpers[XH_RNN] = 1;
    xc_printf(&c->body, "    rnn(&g%d, %s, %s, %s, %s, %s, %s, %s + %zu);\n\n", id, xc_var(c, x),
              n->in[4] ? xc_var(c, n->in[4]) : "NULL", xc_var(c, n->in[1]), xc_var(c, n->in[2]), xc_var(c, n->in[3]),
              out_var(c, n), out_var(c, n), dc_node_numel(n));
    return DC_OK;
}

static dc_status emit_concat(xc_ctx *c, dc_node *n)
{
    int axis = n->attr.concat.axis;
    size_t rows = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        rows *= (size_t)n->shape[i];
    for (int i = axis + 1; i < n->ndim; i++)
        inner *= (size_t)n->shape[i];
    xc_heading(c, n, "concatenate");
    c->helpers[XH_CONCAT] = 1;
    xc_printf(&c->body, "    concat(%s, %s, %s, %zu, %zu, %zu);\n\n", xc_var(c, n->in[0]), xc_var(c, n->in[1]),
              out_var(c, n), rows, (size_t)n->in[0]->shape[axis] * inner, (size_t)n->in[1]->shape[axis] * inner);
    return DC_OK;
}

/* Elementwise ops of two inputs: add (b maybe a broadcast bias), sub, mul, maximum, minimum. */
static dc_status emit_binary(xc_ctx *c, dc_node *n)
{
    char ea[96], eb[96], ey[96], idx[32];
    size_t total = dc_node_numel(n), nb = dc_node_numel(n->in[1]);
    const char *op = n->op->name;
    xc_heading(c, n, op);
    snprintf(idx, sizeof idx, nb == total ? "i" : "i %% %zu", nb);
    at(c, n->in[0], "i", ea, sizeof ea);
    at(c, n->in[1], idx, eb, sizeof eb);
    at(c, n, "i", ey, sizeof ey);
    xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n", total);
    if (n->op == &dc_op_add)
        xc_printf(&c->body, "        %s = %s + %s;\n\n", ey, ea, eb);
    else if (n->op == &dc_op_sub)
        xc_printf(&c->body, "        %s = %s - %s;\n\n", ey, ea, eb);
    else if (n->op == &dc_op_mul)
        xc_printf(&c->body, "        %s = %s * %s;\n\n", ey, ea, eb);
    else if (n->op == &dc_op_maximum)
        xc_printf(&c->body, "        %s = %s >= %s ? %s : %s;\n\n", ey, ea, eb, ea, eb);
    else
        xc_printf(&c->body, "        %s = %s <= %s ? %s : %s;\n\n", ey, ea, eb, ea, eb);
    return DC_OK;
}

static dc_status emit_scale(xc_ctx *c, dc_node *n)
{
    char ex[96], ey[96];
    xc_heading(c, n, "rescale");
    xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n        %s = %s * %s + %s;\n\n", dc_node_numel(n),
              at(c, n, "i", ey, sizeof ey), XF(n->attr.scale.scale), at(c, n->in[0], "i", ex, sizeof ex),
              XF(n->attr.scale.offset));
    return DC_OK;
}

static dc_status emit_relu_ex(xc_ctx *c, dc_node *n)
{
    char ex[96], ey[96], mx[48];
    const dc_relu_ex_attr *a = &n->attr.relu_ex;
    xc_heading(c, n, "relu with max_value, negative_slope, threshold");
    at(c, n->in[0], "i", ex, sizeof ex);
    if (isinf(a->max_value))
        snprintf(mx, sizeof mx, "HUGE_VALF");
    else
        snprintf(mx, sizeof mx, "%s", XF(a->max_value));
    xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n        %s = %s > %s ? (%s < %s ? %s : %s) : %s * (%s - %s);\n\n",
              dc_node_numel(n), at(c, n, "i", ey, sizeof ey), ex, XF(a->threshold), ex, mx, ex, mx,
              XF(a->slope), ex, XF(a->threshold));
    return DC_OK;
}

static dc_status emit_prelu(xc_ctx *c, dc_node *n)
{
    size_t per = dc_node_numel(n) / (size_t)n->shape[0];
    dc_node *an = n->in[1];
    float *alpha = malloc(per * sizeof *alpha);
    if (!alpha)
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory for %s", xc_layer_name(c, n));
    for (size_t i = 0; i < per; i++) { /* ops_normact.c's prelu_index, written out per position */
        size_t idx = 0, r = i;
        if (n->attr.prelu.whole_sample) {
            idx = i;
        } else {
            for (int d = n->in[0]->ndim - 1; d >= 1; d--) {
                size_t dim = (size_t)n->in[0]->shape[d];
                idx += (r % dim) * (size_t)n->attr.prelu.stride[d - 1];
                r /= dim;
            }
        }
        alpha[i] = an->val[idx];
    }
    char name[96], comment[160], ex[96], ey[96], ea[160];
    snprintf(name, sizeof name, "w%d_prelu_alpha", n->id);
    snprintf(comment, sizeof comment, "%s: alpha for every position of a sample", xc_layer_name(c, n));
    xc_array(c, name, alpha, per, comment);
    free(alpha);
    xc_heading(c, n, "prelu");
    at(c, n->in[0], "i", ex, sizeof ex);
    snprintf(ea, sizeof ea, "%s[i %% %zu]", name, per);
    xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n        %s = %s > 0.0f ? %s : %s * %s;\n\n", dc_node_numel(n),
              at(c, n, "i", ey, sizeof ey), ex, ex, ea, ex);
    return DC_OK;
}

static dc_status emit_normalize(xc_ctx *c, dc_node *n)
{
    int ch = dc_node_cols(n), inv = n->attr.normalize.invert;
    float *d = malloc((size_t)ch * sizeof *d);
    if (!d)
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory for %s", xc_layer_name(c, n));
    for (int j = 0; j < ch; j++) {
        float s = sqrtf(n->in[2]->val[j]);
        d[j] = s > 1e-7f ? s : 1e-7f;
    }
    char name[96], comment[160], ex[96], ey[96], em[96];
    snprintf(name, sizeof name, "w%d_std", n->id);
    snprintf(comment, sizeof comment, "%s: max(sqrt(variance), 1e-7)", xc_layer_name(c, n));
    xc_array(c, name, d, (size_t)ch, comment);
    free(d);
    xc_heading(c, n, inv ? "normalization, inverted" : "normalization");
    at(c, n->in[0], "i", ex, sizeof ex);
    snprintf(em, sizeof em, "%s[i %% %d]", xc_var(c, n->in[1]), ch);
    if (inv)
        xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n        %s = %s + %s * %s[i %% %d];\n\n", dc_node_numel(n),
                  at(c, n, "i", ey, sizeof ey), em, ex, name, ch);
    else
        xc_printf(&c->body, "    for (i = 0; i < %zu; i++)\n        %s = (%s - %s) / %s[i %% %d];\n\n", dc_node_numel(n),
                  at(c, n, "i", ey, sizeof ey), ex, em, name, ch);
    return DC_OK;
}

static dc_status emit_upsample(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    xc_heading(c, n, n->attr.upsample.bilinear ? "bilinear upsampling" : "nearest upsampling");
    c->helpers[XH_UPSAMPLE] = 1;
    xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        upsample2d(%s + i * %zu, %s + i * %zu, %d, %d, %d, %d, %d, %d);\n\n",
              x->shape[0], xc_var(c, x), dc_node_numel(x) / (size_t)x->shape[0], out_var(c, n),
              dc_node_numel(n) / (size_t)n->shape[0], x->shape[1], x->shape[2], x->shape[3], n->attr.upsample.size_h,
              n->attr.upsample.size_w, n->attr.upsample.bilinear);
    return DC_OK;
}

static dc_status emit_pad2d(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    xc_heading(c, n, "zero padding / cropping");
    c->helpers[XH_PAD2D] = 1;
    xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        pad2d(%s + i * %zu, %s + i * %zu, %d, %d, %d, %d, %d, %d, %d);\n\n",
              x->shape[0], xc_var(c, x), dc_node_numel(x) / (size_t)x->shape[0], out_var(c, n),
              dc_node_numel(n) / (size_t)n->shape[0], x->shape[1], x->shape[2], x->shape[3], n->shape[1], n->shape[2],
              n->attr.pad.top, n->attr.pad.left);
    return DC_OK;
}

static dc_status emit_repeat(xc_ctx *c, dc_node *n)
{
    xc_heading(c, n, "repeat vector");
    c->helpers[XH_REPEAT] = 1;
    xc_printf(&c->body, "    repeat(%s, %s, %zu, %d);\n\n", xc_var(c, n->in[0]), out_var(c, n),
              dc_node_numel(n->in[0]) / (size_t)n->in[0]->shape[0], n->attr.repeat.n);
    return DC_OK;
}

static dc_status emit_permute(xc_ctx *c, dc_node *n)
{
    const dc_node *x = n->in[0];
    int k = n->ndim - 1;
    size_t xstride[DC_MAX_DIMS];
    xstride[k - 1] = 1;
    for (int a = k - 2; a >= 0; a--)
        xstride[a] = xstride[a + 1] * (size_t)x->shape[a + 2];
    xc_heading(c, n, "permute");
    int id = c->n_geom++;
    xc_printf(&c->weights, "/* %s: output axes and the input stride each walks */\nstatic const int g%d_shape[%d] = {", xc_layer_name(c, n), id, k);
    for (int i = 0; i < k; i++)
        xc_printf(&c->weights, "%s%d", i ? ", " : "", n->shape[1 + i]);
    xc_printf(&c->weights, "};\nstatic const size_t g%d_step[%d] = {", id, k);
    for (int i = 0; i < k; i++)
        xc_printf(&c->weights, "%s%zu", i ? ", " : "", xstride[n->attr.permute.perm[i]]);
    xc_printf(&c->weights, "};\n\n");
    c->helpers[XH_PERMUTE] = 1;
    xc_printf(&c->body, "    permute(%s, %s, %d, g%d_shape, g%d_step);\n\n", xc_var(c, n->in[0]), out_var(c, n), k, id,
              id);
    return DC_OK;
}

static dc_status emit_step_mask(xc_ctx *c, dc_node *n)
{
    size_t rows = dc_node_numel(n);
    xc_heading(c, n, "masking: the steps to keep");
    c->helpers[XH_STEP_MASK] = 1;
    xc_printf(&c->body, "    step_mask(%s, %s, %zu, %zu, %s);\n\n", xc_var(c, n->in[0]), out_var(c, n), rows,
              dc_node_numel(n->in[0]) / rows, XF(n->attr.step_mask.mask_value));
    return DC_OK;
}

static dc_status emit_mask_steps(xc_ctx *c, dc_node *n)
{
    size_t rows = dc_node_numel(n->in[1]);
    xc_heading(c, n, "masking: zero the masked steps");
    c->helpers[XH_MASK_STEPS] = 1;
    xc_printf(&c->body, "    mask_steps(%s, %s, %s, %zu, %zu);\n\n", xc_var(c, n->in[0]), xc_var(c, n->in[1]),
              out_var(c, n), rows, dc_node_numel(n) / rows);
    return DC_OK;
}

/* Aliases emit nothing but a comment, so the reader sees every layer. */
static dc_status emit_alias(xc_ctx *c, dc_node *n)
{
    const dc_layer *l = c->layer_of[n->id];
    char so[96];
    if (n->op != &dc_op_columns && n->op != &dc_op_rnn_state && !l)
        return DC_OK;
    xc_printf(&c->body, "    /* %s (%s): %s, the identity at inference or a view: %s */\n\n", l ? l->name : n->name,
              l ? l->cls->type : n->op->name, n->op->name, xc_shape(n, so, sizeof so));
    return DC_OK;
}

static const struct {
    const dc_op *op;
    xc_emit_fn fn;
} emitters[] = {
    {&dc_op_dense, emit_dense},
    {&dc_op_conv2d, emit_conv2d},
    {&dc_op_qfconv2d, emit_conv2d}, /* a small Conv2D left float in an int8 model: the same helper */
    {&dc_op_qfdense, emit_dense},   /* a tiny Dense left float in an int8 model */
    {&dc_op_conv2d_transpose, emit_deconv2d},
    {&dc_op_pool2d, emit_pool2d},
    {&dc_op_qmaxpool, emit_pool2d}, /* int8 bytes in deepc; the same maximum on the floats here */
    {&dc_op_global_pool, emit_gpool},
    {&dc_op_act, emit_act},
    {&dc_op_batchnorm, emit_batchnorm},
    {&dc_op_layernorm, emit_layernorm},
    {&dc_op_embedding, emit_embedding},
    {&dc_op_rnn, emit_rnn},
    {&dc_op_concat, emit_concat},
    {&dc_op_add, emit_binary},
    {&dc_op_sub, emit_binary},
    {&dc_op_mul, emit_binary},
    {&dc_op_maximum, emit_binary},
    {&dc_op_minimum, emit_binary},
    {&dc_op_scale, emit_scale},
    {&dc_op_relu_ex, emit_relu_ex},
    {&dc_op_prelu, emit_prelu},
    {&dc_op_normalize, emit_normalize},
    {&dc_op_upsample2d, emit_upsample},
    {&dc_op_pad2d, emit_pad2d},
    {&dc_op_repeat, emit_repeat},
    {&dc_op_permute, emit_permute},
    {&dc_op_step_mask, emit_step_mask},
    {&dc_op_mask_steps, emit_mask_steps},
    {&dc_op_rnn_state, emit_alias},
};

xc_emit_fn xc_emitter(const dc_op *op)
{
    for (size_t i = 0; i < sizeof emitters / sizeof emitters[0]; i++)
        if (emitters[i].op == op)
            return emitters[i].fn;
    if (xc_quant_emitter(op))
        return xc_quant_emitter(op);
    if ((op->flags & DC_OP_ALIASES_INPUT) || op == &dc_op_columns || op == &dc_op_qcopy || op == &dc_op_qpass ||
        op == &dc_op_dropout ||
        op == &dc_op_spatial_dropout || op == &dc_op_gaussian_noise || op == &dc_op_random_flip ||
        op == &dc_op_random_affine || op == &dc_op_random_color)
        return emit_alias;
    return NULL;
}

