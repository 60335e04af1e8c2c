/*
 * export_c_quant.c - the C export of a quantized model's int8 layers
 * (dc_model_quantize; src/quant/quant.h).
 *
 * Each qdense / qconv2d node becomes a qlayer: its int8 weights (one row
 * of Kp per output channel), int32 biases, the row sums of the weights and
 * the fixed-point multipliers as static const arrays, and the input and
 * output scales and zero points.  The generated helpers do what
 * quant_kernels.c does with the same integer arithmetic (u8 x s8 products
 * summed in int32, gemmlowp's rounding), and the same float steps on either
 * side (x / scale rounded, (q - zp) * scale), so the generated program and
 * the quantized model give the same outputs.  The helpers are portable C:
 * no intrinsics, int32_t arithmetic only (stdint.h).
 */
#include "export/export_c.h"
#include "quant/quant.h"

#include <stdio.h>
#include <string.h>

static const char quant_src[] =
    "/* An int8 layer (TensorFlow Lite's scheme): weights w (U rows of Kp, K used) with\n"
    " * one scale per row folded into the multipliers m0 * 2^(shift - 31); bias (int32,\n"
    " * scale in_scale * w_scale); wsum: each row's sum; the input's and output's scale\n"
    " * and zero point; relu: the output clamped at its zero point. */\n"
    "typedef struct qlayer {\n"
    "    int U, K, Kp;\n"
    "    float in_scale;\n"
    "    int32_t in_zp;\n"
    "    float out_scale;\n"
    "    int32_t out_zp;\n"
    "    int relu;\n"
    "    const int32_t *m0, *shift, *bias, *wsum;\n"
    "    const int8_t *w;\n"
    "} qlayer;\n\n"
    "/* x quantized to int8 with 1 / scale and zp, as u8 (+ 128): x * inv rounded half\n"
    " * away from zero (v - i below is exact), plus zp, clamped. */\n"
    "static uint8_t q_input(float x, float inv, int32_t zp)\n"
    "{\n"
    "    float v = x * inv, f;\n"
    "    int32_t i;\n"
    "    v = v > 256.0f ? 256.0f : v < -256.0f ? -256.0f : v;\n"
    "    if (v != v)\n"
    "        v = -256.0f;\n"
    "    i = (int32_t)v;\n"
    "    f = v - (float)i;\n"
    "    i += (f >= 0.5f) - (f <= -0.5f);\n"
    "    i += zp;\n"
    "    i = i > 127 ? 127 : i < -128 ? -128 : i;\n"
    "    return (uint8_t)(i + 128);\n"
    "}\n\n"
    "/* acc * m0 * 2^(shift - 31), rounded as gemmlowp rounds. */\n"
    "static int32_t q_requantize(int32_t acc, int32_t m0, int32_t shift)\n"
    "{\n"
    "    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;\n"
    "    int64_t v = (int64_t)acc * ((int64_t)1 << left), ab, nudge;\n"
    "    int32_t x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v, hi, mask, rem, thr;\n"
    "    if (x == INT32_MIN && m0 == INT32_MIN) {\n"
    "        hi = INT32_MAX;\n"
    "    } else {\n"
    "        ab = (int64_t)x * (int64_t)m0;\n"
    "        nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));\n"
    "        hi = (int32_t)((ab + nudge) / ((int64_t)1 << 31));\n"
    "    }\n"
    "    right = right > 31 ? 31 : right;\n"
    "    mask = (int32_t)(((int64_t)1 << right) - 1);\n"
    "    rem = hi & mask;\n"
    "    thr = (mask >> 1) + (hi < 0 ? 1 : 0);\n"
    "    return (hi >> right) + (rem > thr ? 1 : 0);\n"
    "}\n\n"
    "/* One output row: xu (Kp, u8) against every row of w, requantized, dequantized into y (U). */\n"
    "static void q_row(const qlayer *q, const uint8_t *xu, float *y)\n"
    "{\n"
    "    int32_t lo = q->relu && q->out_zp > -128 ? q->out_zp : -128, xzp = 128 + q->in_zp, dot, acc, v;\n"
    "    int j, k;\n"
    "    for (j = 0; j < q->U; j++) {\n"
    "        const int8_t *wr = q->w + (size_t)j * q->Kp;\n"
    "        dot = 0;\n"
    "        for (k = 0; k < q->Kp; k++)\n"
    "            dot += (int32_t)xu[k] * (int32_t)wr[k];\n"
    "        acc = q->bias[j] + dot - xzp * q->wsum[j];\n"
    "        v = q_requantize(acc, q->m0[j], q->shift[j]) + q->out_zp;\n"
    "        v = v < lo ? lo : v > 127 ? 127 : v;\n"
    "        y[j] = (float)(v - q->out_zp) * q->out_scale;\n"
    "    }\n"
    "}\n\n";

static const char qdense_src[] =
    "/* Dense in int8: x (rows, K) float -> y (rows, U); xu: Kp bytes of scratch. */\n"
    "static void qdense(const qlayer *q, const float *x, float *y, size_t rows, uint8_t *xu)\n"
    "{\n"
    "    const float inv = 1.0f / q->in_scale;\n"
    "    size_t r;\n"
    "    int k;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        for (k = 0; k < q->K; k++)\n"
    "            xu[k] = q_input(x[r * (size_t)q->K + k], inv, q->in_zp);\n"
    "        for (; k < q->Kp; k++)\n"
    "            xu[k] = 0;\n"
    "        q_row(q, xu, y + r * (size_t)q->U);\n"
    "    }\n"
    "}\n\n";

static const char qconv_src[] =
    "/* Conv2D in int8, one image: x (h, w, c) float -> y (oh, ow, f); each output pixel's\n"
    " * window gathered as u8 into xu (Kp bytes), taps in the padding at the zero point. */\n"
    "static void qconv2d(const qlayer *q, const conv_geom *g, const float *x, float *y, uint8_t *xu)\n"
    "{\n"
    "    const float inv = 1.0f / q->in_scale;\n"
    "    int oy, ox, i, j, ch, e;\n"
    "    for (oy = 0; oy < g->oh; oy++)\n"
    "        for (ox = 0; ox < g->ow; ox++) {\n"
    "            e = 0;\n"
    "            for (i = 0; i < g->kh; i++)\n"
    "                for (j = 0; j < g->kw; j++) {\n"
    "                    int iy = oy * g->sh - g->ph + i * g->dh, ix = ox * g->sw - g->pw + j * g->dw;\n"
    "                    int in = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;\n"
    "                    const float *src = x + ((size_t)(in ? iy : 0) * g->w + (in ? ix : 0)) * g->c;\n"
    "                    for (ch = 0; ch < g->c; ch++)\n"
    "                        xu[e++] = in ? q_input(src[ch], inv, q->in_zp) : (uint8_t)(q->in_zp + 128);\n"
    "                }\n"
    "            for (; e < q->Kp; e++)\n"
    "                xu[e] = 0;\n"
    "            q_row(q, xu, y + ((size_t)oy * g->ow + ox) * g->f);\n"
    "        }\n"
    "}\n\n";

static const char qembedding_src[] =
    "/* Embedding with an int8 table: ids (count) -> y (count, d), row id of q (v, d)\n"
    " * times its scale s[id]; 1 when an id is not an integer in [0, v). */\n"
    "static int qembedding(const float *ids, size_t count, const int8_t *q, const float *s, int v, int d, float *y)\n"
    "{\n"
    "    size_t i;\n"
    "    int j;\n"
    "    for (i = 0; i < count; i++) {\n"
    "        float id = ids[i];\n"
    "        const int8_t *row;\n"
    "        float sc;\n"
    "        if (!(id >= 0.0f && id < (float)v) || id != floorf(id))\n"
    "            return 1;\n"
    "        row = q + (size_t)id * d;\n"
    "        sc = s[(size_t)id];\n"
    "        for (j = 0; j < d; j++)\n"
    "            y[i * (size_t)d + j] = (float)row[j] * sc;\n"
    "    }\n"
    "    return 0;\n"
    "}\n\n";

/* dq_rnn_sample (src/quant/quant_rnn.c), statement for statement. */
static const char qrnn_src[] =
    "/* z[j] += (sum_i v[i] * q[i][j]) * s[j] for j < cols (int8 weights, float values;\n"
    " * each sum in order of i); q's rows ld apart, acc: cols floats of scratch. */\n"
    "static void qmv(const float *v, int n, const int8_t *q, int ld, int cols, const float *s, float *acc, float *z)\n"
    "{\n"
    "    int i, j;\n"
    "    for (j = 0; j < cols; j++)\n"
    "        acc[j] = 0.0f;\n"
    "    for (i = 0; i < n; i++)\n"
    "        for (j = 0; j < cols; j++)\n"
    "            acc[j] += v[i] * (float)q[(size_t)i * ld + j];\n"
    "    for (j = 0; j < cols; j++)\n"
    "        z[j] += acc[j] * s[j];\n"
    "}\n\n"
    "/* The recurrent layer of rnn_geom g with int8 weights and float state: kernel W\n"
    " * (F, G*U) and recurrent R (U, G*U), each column j scaled by ws[j] / rs[j]; the rest\n"
    " * as rnn does it.  st: h (U), c (U), then scratch (U + 3 G U). */\n"
    "static void qrnn(const rnn_geom *g, const float *x, const float *mask, const int8_t *W, const float *ws,\n"
    "                 const int8_t *R, const float *rs, const float *bias, float *y, float *st)\n"
    "{\n"
    "    const int U = g->U, GU = U * (g->kind == 1 ? 4 : g->kind == 2 ? 3 : 1);\n"
    "    float *h = st, *c = st + U, *rh = st + 2 * U, *z = st + 3 * U, *rec = z + GU, *acc = rec + GU;\n"
    "    int k, t, j;\n"
    "    for (j = 0; j < U; j++)\n"
    "        h[j] = c[j] = 0.0f;\n"
    "    for (k = 0; k < g->T; k++) {\n"
    "        const float *xt;\n"
    "        int on;\n"
    "        t = g->backwards ? g->T - 1 - k : k;\n"
    "        on = !mask || mask[t] != 0.0f;\n"
    "        xt = x + (size_t)t * g->F;\n"
    "        for (j = 0; j < GU; j++) /* the input projection */\n"
    "            z[j] = bias[j];\n"
    "        qmv(xt, g->F, W, GU, GU, ws, acc, z);\n"
    "        if (g->kind == 2 && g->reset_after) {\n"
    "            for (j = 0; j < GU; j++)\n"
    "                rec[j] = bias[GU + j];\n"
    "            if (k > 0)\n"
    "                qmv(h, U, R, GU, GU, rs, acc, rec);\n"
    "            for (j = 0; j < U; j++) {\n"
    "                z[j] = rnn_act(g->ract, z[j] + rec[j]);\n"
    "                z[U + j] = rnn_act(g->ract, z[U + j] + rec[U + j]);\n"
    "                z[2 * U + j] += z[U + j] * rec[2 * U + j];\n"
    "            }\n"
    "        } else if (g->kind == 2) {\n"
    "            if (k > 0)\n"
    "                qmv(h, U, R, GU, 2 * U, rs, acc, z);\n"
    "            for (j = 0; j < U; j++) {\n"
    "                z[j] = rnn_act(g->ract, z[j]);\n"
    "                z[U + j] = rnn_act(g->ract, z[U + j]);\n"
    "                rh[j] = z[U + j] * h[j];\n"
    "            }\n"
    "            if (k > 0)\n"
    "                qmv(rh, U, R + 2 * U, GU, U, rs + 2 * U, acc, z + 2 * U);\n"
    "        } else if (k > 0) {\n"
    "            qmv(h, U, R, GU, GU, rs, acc, z);\n"
    "        }\n"
    "        rnn_step(g, z, h, c, on, t, y);\n"
    "    }\n"
    "    if (!g->seq)\n"
    "        for (j = 0; j < U; j++)\n"
    "            y[j] = h[j];\n"
    "}\n\n";

void xc_write_quant_helpers(const xc_ctx *c, xc_str *out)
{
    if (c->helpers[XH_QEMBEDDING])
        xc_printf(out, "%s", qembedding_src);
    if (c->helpers[XH_QRNN])
        xc_printf(out, "%s", qrnn_src);
    if (!c->helpers[XH_QDENSE] && !c->helpers[XH_QCONV2D])
        return;
    xc_printf(out, "%s", quant_src);
    if (c->helpers[XH_QDENSE])
        xc_printf(out, "%s", qdense_src);
    if (c->helpers[XH_QCONV2D])
        xc_printf(out, "%s", qconv_src);
}

/* The arrays and the qlayer of node n; its name into name (64 bytes). */
static dc_status write_qlayer(xc_ctx *c, dc_node *n, char *name)
{
    dq_layer q;
    if (dq_view(n->in[1]->val, &q))
        return dc_fail(DC_ERR_STATE, "export_c: layer %s: its packed int8 kernel is missing", xc_layer_name(c, n));
    const dq_header *h = q.h;
    int id = n->id;
    const char *ln = xc_layer_name(c, n);
    xc_printf(&c->weights, "/* %s: int8 weights, %d rows of %d (%d used) */\nstatic const int8_t q%d_w[%zu] = {", ln,
              h->U, h->Kp, h->K, id, (size_t)h->U * h->Kp);
    for (size_t i = 0; i < (size_t)h->U * h->Kp; i++)
        xc_printf(&c->weights, "%s%d,", i % 24 ? "" : "\n    ", q.w[i]); /* compact: 24 a line */
    xc_printf(&c->weights, "\n};\n\n");
    const int32_t *arrs[4] = {q.m0, q.shift, q.bias, q.wsum};
    const char *names[4] = {"m0", "shift", "bias", "wsum"};
    for (int a = 0; a < 4; a++) {
        xc_printf(&c->weights, "static const int32_t q%d_%s[%d] = {", id, names[a], h->U);
        for (int j = 0; j < h->U; j++)
            xc_printf(&c->weights, "%s%ld,", j % 8 ? " " : "\n    ", (long)arrs[a][j]);
        xc_printf(&c->weights, "\n};\n");
    }
    snprintf(name, 64, "q%d", id);
    xc_printf(&c->weights,
              "static const qlayer q%d = {%d, %d, %d, %s, %ld, %s, %ld, %d, q%d_m0, q%d_shift, q%d_bias, q%d_wsum, "
              "q%d_w};\n\n",
              id, h->U, h->K, h->Kp, xc_flt(h->in_scale, (char[40]){0}), (long)h->in_zp,
              xc_flt(h->out_scale, (char[40]){0}), (long)h->out_zp, h->relu, id, id, id, id, id);
    return DC_OK;
}

/* The xu buffer sits after the node's output in the scratch (export_c.c's extra_floats). */
static dc_status emit_qdense(xc_ctx *c, dc_node *n)
{
    char q[64];
    dc_status st = write_qlayer(c, n, q);
    if (st != DC_OK)
        return st;
    xc_heading(c, n, "int8 dense");
    c->helpers[XH_QDENSE] = 1;
    xc_printf(&c->body, "    qdense(&%s, %s, %s, %zu, (uint8_t *)(void *)(%s + %zu));\n\n", q, xc_var(c, n->in[0]),
              c->x[n->id].var, dc_node_rows(n), c->x[n->id].var, dc_node_numel(n));
    return DC_OK;
}

static dc_status emit_qconv2d(xc_ctx *c, dc_node *n)
{
    char q[64];
    dc_status st = write_qlayer(c, n, q);
    if (st != DC_OK)
        return st;
    dc_node *x = n->in[0], *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    int H = x->shape[1], W = x->shape[2], C = x->shape[3], OH = n->shape[1], OW = n->shape[2], F = n->shape[3];
    int th = (OH - 1) * a->stride_h + (k->shape[0] - 1) * a->dilation_h + 1 - H;
    int tw = (OW - 1) * a->stride_w + (k->shape[1] - 1) * a->dilation_w + 1 - W;
    int ph = a->same && th > 0 ? th / 2 : 0, pw = a->same && tw > 0 ? tw / 2 : 0;
    int id = c->n_geom++;
    xc_printf(&c->weights, "/* %s: geometry */\nstatic const conv_geom g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, 0};\n\n",
              xc_layer_name(c, n), id, H, W, C, OH, OW, F, k->shape[0], k->shape[1], a->stride_h, a->stride_w,
              a->dilation_h, a->dilation_w, ph, pw);
    xc_heading(c, n, "int8 conv2d");
    c->helpers[XH_QCONV2D] = 1;
    if (x->shape[0] == 1)
        xc_printf(&c->body, "    qconv2d(&%s, &g%d, %s, %s, (uint8_t *)(void *)(%s + %zu));\n\n", q, id, xc_var(c, x),
                  c->x[n->id].var, c->x[n->id].var, dc_node_numel(n));
    else
        xc_printf(&c->body, "    for (i = 0; i < %d; i++)\n        qconv2d(&%s, &g%d, %s + i * %zu, %s + i * %zu, (uint8_t *)(void *)(%s + %zu));\n\n",
                  x->shape[0], q, id, xc_var(c, x), (size_t)H * W * C, c->x[n->id].var, (size_t)OH * OW * F,
                  c->x[n->id].var, dc_node_numel(n));
    return DC_OK;
}

/* Writes the weight-only int8 weight p (quant.h) as q<id> and q<id>_s;
 * names into qn and sn (64 bytes each). */
static dc_status write_wo(xc_ctx *c, dc_node *n, dc_node *p, char *qn, char *sn)
{
    dq_wo w;
    if (dq_wo_view(p->val, &w))
        return dc_fail(DC_ERR_STATE, "export_c: layer %s: its packed int8 weight %s is missing", xc_layer_name(c, n),
                       p->name);
    int rows = w.h->rows, cols = w.h->cols, ns = w.h->per_row ? rows : cols;
    snprintf(qn, 64, "q%d", p->id);
    snprintf(sn, 64, "q%d_s", p->id);
    xc_printf(&c->weights, "/* %s: %s (%d, %d) in int8, one scale per %s */\nstatic const int8_t %s[%zu] = {",
              xc_layer_name(c, n), p->name, rows, cols, w.h->per_row ? "row" : "column", qn, (size_t)rows * cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        xc_printf(&c->weights, "%s%d,", i % 24 ? "" : "\n    ", w.q[i]);
    xc_printf(&c->weights, "\n};\n");
    xc_array(c, sn, w.scale, (size_t)ns, "the scales");
    return DC_OK;
}

static dc_status emit_qembedding(xc_ctx *c, dc_node *n)
{
    char qn[64], sn[64];
    dc_status st = write_wo(c, n, n->in[1], qn, sn);
    if (st != DC_OK)
        return st;
    dq_wo w;
    dq_wo_view(n->in[1]->val, &w);
    xc_heading(c, n, "embedding lookup, int8 table");
    c->helpers[XH_QEMBEDDING] = 1;
    xc_printf(&c->body, "    if (qembedding(%s, %zu, %s, %s, %d, %d, %s))\n        return 1;\n\n", xc_var(c, n->in[0]),
              dc_node_numel(n->in[0]), qn, sn, w.h->rows, w.h->cols, c->x[n->id].var);
    return DC_OK;
}

static dc_status emit_qrnn(xc_ctx *c, dc_node *n)
{
    dc_node *x = n->in[0];
    if (x->shape[0] != 1)
        return dc_fail(DC_ERR_ARG, "export_c: layer %s: a recurrent op over %d rows per sample is not supported",
                       xc_layer_name(c, n), x->shape[0]);
    char wq[64], ws[64], rq[64], rs[64];
    dc_status st = write_wo(c, n, n->in[1], wq, ws);
    if (st == DC_OK)
        st = write_wo(c, n, n->in[2], rq, rs);
    if (st != DC_OK)
        return st;
    int id = xc_rnn_geom(c, n);
    c->helpers[XH_QRNN] = 1;
    const char *out = c->x[n->id].var;
    xc_printf(&c->body, "    qrnn(&g%d, %s, %s, %s, %s, %s, %s, %s, %s, %s + %zu);\n\n", id, xc_var(c, x),
              n->in[4] ? xc_var(c, n->in[4]) : "NULL", wq, ws, rq, rs, xc_var(c, n->in[3]), out, out,
              dc_node_numel(n));
    return DC_OK;
}

xc_emit_fn xc_quant_emitter(const dc_op *op)
{
    if (op == &dc_op_qembedding)
        return emit_qembedding;
    if (op == &dc_op_qrnn)
        return emit_qrnn;
    if (op == &dc_op_qdense)
        return emit_qdense;
    if (op == &dc_op_qconv2d)
        return emit_qconv2d;
    return NULL;
}
