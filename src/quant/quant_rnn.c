/*
 * quant_rnn.c - weight-only int8 for the layers that keep float
 * activations (quant.h): the Embedding's table (one scale per row; the
 * looked-up row is dequantized) and a SimpleRNN / LSTM / GRU's kernel and
 * recurrent kernel (one scale per column, the gate unit), with float state.
 *
 * The recurrent matvecs run int8 x float: acc[j] = sum_i v[i] * (float)q[i][j]
 * in order of i, then z[j] += acc[j] * scale[j].  The generated C's qrnn
 * helper (export/export_c_quant.c) is this code, statement for statement,
 * and calls the same libm expf / tanhf; this file is compiled with
 * -ffp-contract=off (CMakeLists.txt), as ISO C (-std=c99) compiles the
 * generated file, so no multiply-add is fused and the two give the same
 * bits (test_export_c).  Vectorising the j loops changes nothing: every
 * output's sum keeps its order.
 */
#include "quant/quant.h"

#include <math.h>
#include <string.h>

size_t dq_wo_bytes(int rows, int cols, int per_row)
{
    return sizeof(dq_wo_header) + (size_t)(per_row ? rows : cols) * sizeof(float) + (size_t)rows * (size_t)cols;
}

int dq_wo_view(const void *p, dq_wo *q)
{
    const dq_wo_header *h = p;
    if (!p || h->magic != DQ_WO_MAGIC)
        return 1;
    q->h = h;
    q->scale = (const float *)(const void *)((const char *)p + sizeof *h);
    q->q = (const int8_t *)(const void *)(q->scale + (h->per_row ? h->rows : h->cols));
    return 0;
}

void dq_wo_pack(const float *w, int rows, int cols, int per_row, void *dst)
{
    dq_wo_header h = {DQ_WO_MAGIC, rows, cols, per_row};
    memcpy(dst, &h, sizeof h);
    float *scale = (float *)(void *)((char *)dst + sizeof h);
    int8_t *q = (int8_t *)(void *)(scale + (per_row ? rows : cols));
    int ns = per_row ? rows : cols, len = per_row ? cols : rows;
    for (int a = 0; a < ns; a++) {
        double amax = 0;
        for (int b = 0; b < len; b++)
            amax = fmax(amax, fabs(w[per_row ? (size_t)a * cols + b : (size_t)b * cols + a]));
        float s = amax > 0 ? (float)(amax / 127.0) : 1.0f;
        scale[a] = s;
        for (int b = 0; b < len; b++) {
            size_t at = per_row ? (size_t)a * cols + b : (size_t)b * cols + a;
            long v = lround((double)w[at] / s);
            q[at] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

/* ---- qembedding: ids (B, T) -> (B, T, D), row id of the table dequantized ---- */

static dc_status no_infer(dc_node *n)
{
    return dc_fail(DC_ERR_STATE, "%s: a quantized op is made by dc_model_quantize only", n->name);
}

static void no_backward(dc_node *n, const dc_run *run)
{
    (void)n;
    (void)run;
}

static dc_status qembedding_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *ids = n->in[0];
    dq_wo t;
    if (dq_wo_view(n->in[1]->val, &t))
        return dc_fail(DC_ERR_STATE, "%s: the packed int8 table is missing (was it changed after quantize?)", n->name);
    size_t count = dc_node_numel(ids);
    int V = t.h->rows, D = t.h->cols;
    int per = ids->ndim > 1 ? (int)(count / (size_t)ids->shape[0]) : 1;
    for (size_t i = 0; i < count; i++) {
        float v = ids->val[i];
        if (!(v >= 0.0f && v < (float)V) || v != floorf(v))
            return dc_fail(DC_ERR_RANGE, "%s: token id %g at sample %zu, step %zu is not an integer in [0, %d)",
                           n->name, (double)v, i / (size_t)per, i % (size_t)per, V);
        const int8_t *row = t.q + (size_t)v * D;
        float s = t.scale[(size_t)v], *y = n->val + i * (size_t)D;
        for (int j = 0; j < D; j++)
            y[j] = (float)row[j] * s;
    }
    return DC_OK;
}

const dc_op dc_op_qembedding = {.name = "qembedding", .n_inputs = 2, .infer = no_infer,
                                .forward = qembedding_forward, .backward = no_backward};

/* ---- qrnn ---- */

/* attr.rnn.flags (ops_rnn.c) */
enum { F_SEQ = 1, F_BACKWARDS = 2, F_RESET_AFTER = 4, F_REVERSE_OUT = 8, F_ZERO_MASKED = 16 };

static float rnn_act(int a, float x)
{
    switch (a) {
    case DC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DC_ACT_TANH: return tanhf(x);
    case DC_ACT_RELU: return x > 0.0f ? x : 0.0f;
    default: return x;
    }
}

/* z[j] += (sum_i v[i] * q[i][j]) * s[j] for j < cols; q rows ld apart. */
static void qmv(const float *v, int n, const int8_t *q, int ld, int cols, const float *s, float *acc, float *z)
{
    int i, j;
    for (j = 0; j < cols; j++)
        acc[j] = 0.0f;
    for (i = 0; i < n; i++)
        for (j = 0; j < cols; j++)
            acc[j] += v[i] * (float)q[(size_t)i * ld + j];
    for (j = 0; j < cols; j++)
        z[j] += acc[j] * s[j];
}

/* The end of step t (the generated rnn_step): the state from the gate
 * preactivations z when the step is on, and the output with return_sequences. */
static void rnn_step(const dc_rnn_attr *a, int T, const float *z, float *h, float *c, int on, int t, float *y)
{
    const int U = a->units;
    int j;
    if (on) {
        for (j = 0; j < U; j++) {
            if (a->kind == DC_RNN_SIMPLE) {
                h[j] = rnn_act(a->act, z[j]);
            } else if (a->kind == DC_RNN_LSTM) {
                float ig = rnn_act(a->recurrent_act, z[j]), fg = rnn_act(a->recurrent_act, z[U + j]);
                float gg = rnn_act(a->act, z[2 * U + j]), og = rnn_act(a->recurrent_act, z[3 * U + j]);
                c[j] = fg * c[j] + ig * gg;
                h[j] = og * rnn_act(a->act, c[j]);
            } else {
                float hh = rnn_act(a->act, z[2 * U + j]);
                h[j] = z[j] * h[j] + (1.0f - z[j]) * hh;
            }
        }
    }
    if (a->flags & F_SEQ) {
        float *yo = y + (size_t)((a->flags & F_BACKWARDS) && !(a->flags & F_REVERSE_OUT) ? T - 1 - t : t) * U;
        for (j = 0; j < U; j++)
            yo[j] = (a->flags & F_ZERO_MASKED) && !on ? 0.0f : h[j];
    }
}

void dq_rnn_sample(const dc_rnn_attr *a, int T, int F, const float *x, const float *mask, const dq_wo *W,
                   const dq_wo *R, const float *bias, float *y, float *work)
{
    const int U = a->units, kind = a->kind, GU = U * (kind == DC_RNN_LSTM ? 4 : kind == DC_RNN_GRU ? 3 : 1);
    const int backwards = !!(a->flags & F_BACKWARDS), seq = !!(a->flags & F_SEQ);
    float *h = work, *c = work + U, *rh = work + 2 * U, *z = work + 3 * U, *rec = z + GU, *acc = rec + GU;
    int k, t, j;
    for (j = 0; j < U; j++)
        h[j] = c[j] = 0.0f;
    for (k = 0; k < T; k++) {
        const float *xt;
        int on;
        t = backwards ? T - 1 - k : k;
        on = !mask || mask[t] != 0.0f;
        xt = x + (size_t)t * F;
        for (j = 0; j < GU; j++) /* the input projection */
            z[j] = bias[j];
        qmv(xt, F, W->q, GU, GU, W->scale, acc, z);
        if (kind == DC_RNN_GRU && (a->flags & F_RESET_AFTER)) {
            for (j = 0; j < GU; j++)
                rec[j] = bias[GU + j];
            if (k > 0)
                qmv(h, U, R->q, GU, GU, R->scale, acc, rec);
            for (j = 0; j < U; j++) {
                z[j] = rnn_act(a->recurrent_act, z[j] + rec[j]);
                z[U + j] = rnn_act(a->recurrent_act, z[U + j] + rec[U + j]);
                z[2 * U + j] += z[U + j] * rec[2 * U + j];
            }
        } else if (kind == DC_RNN_GRU) {
            if (k > 0)
                qmv(h, U, R->q, GU, 2 * U, R->scale, acc, z);
            for (j = 0; j < U; j++) {
                z[j] = rnn_act(a->recurrent_act, z[j]);
                z[U + j] = rnn_act(a->recurrent_act, z[U + j]);
                rh[j] = z[U + j] * h[j];
            }
            if (k > 0)
                qmv(rh, U, R->q + 2 * U, GU, U, R->scale + 2 * U, acc, z + 2 * U);
        } else if (k > 0) {
            qmv(h, U, R->q, GU, GU, R->scale, acc, z);
        }
        rnn_step(a, T, z, h, c, on, t, y);
    }
    if (!seq)
        for (j = 0; j < U; j++)
            y[j] = h[j];
}

/* x (B, T, F) -> y; the samples split between the threads, each with its
 * slice of the node's work (the float op's plan holds at least 3 U + 3 G U
 * floats per sample: see ops_rnn.c's plan). */
static dc_status qrnn_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dq_wo W, R;
    if (dq_wo_view(n->in[1]->val, &W) || dq_wo_view(n->in[2]->val, &R))
        return dc_fail(DC_ERR_STATE, "%s: the packed int8 kernels are missing (were they changed after quantize?)",
                       n->name);
    const dc_node *x = n->in[0];
    const dc_rnn_attr *a = &n->attr.rnn;
    int B = x->shape[0], T = x->shape[1], F = x->shape[2], U = a->units;
    int GU = U * (a->kind == DC_RNN_LSTM ? 4 : a->kind == DC_RNN_GRU ? 3 : 1);
    size_t per_out = dc_node_numel(n) / (size_t)B, per_work = 3 * (size_t)U + 3 * (size_t)GU;
#pragma omp parallel for schedule(static) if (B > 1 && dc_worth_parallel((double)B * T * (F + U) * GU))
    for (int b = 0; b < B; b++)
        dq_rnn_sample(a, T, F, x->val + (size_t)b * T * F, n->in[4] ? n->in[4]->val + (size_t)b * T : NULL, &W, &R,
                      n->in[3]->val, n->val + (size_t)b * per_out, n->work + (size_t)b * per_work);
    return DC_OK;
}

const dc_op dc_op_qrnn = {.name = "qrnn", .n_inputs = 5, .optional = DC_OPTIONAL(4), .infer = no_infer,
                          .forward = qrnn_forward, .backward = no_backward};
