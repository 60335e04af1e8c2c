/*
 * quantize.c - dc_model_quantize: post-training int8 quantization of a
 * compiled model, in place, the TensorFlow Lite way (quant.h).
 *
 * 1. The inference path (ancestors of the output) is checked: Dense and
 *    Conv2D / Conv1D get int8 kernels; a BatchNormalization read only by
 *    the convolution / Dense before it is folded into that layer; ReLU and
 *    the other activations, pooling, Flatten / Reshape and the layers that
 *    are the identity at inference run in float on the dequantized values
 *    (max pooling, ReLU and the views give exactly what int8 would);
 *    Embedding and the recurrent layers get weight-only int8 (quant_rnn.c:
 *    the table per row, the kernels per column) and keep float activations
 *    and state (see docs/export-c.md: an LSTM's state runs through sigmoid
 *    and tanh every step, and int8 rounding there compounds over the
 *    sequence).  Any other layer is refused by name: it has no int8 kernel.
 * 2. Calibration: the float model runs on the representative samples; the
 *    range of every quantized layer's input and output (after its folded
 *    BatchNormalization and the ReLU that follows it, which becomes a clamp
 *    at the zero point) gives the per-tensor scale and zero point.
 * 3. Each layer's kernel (and folded normalisation) is quantized per output
 *    channel, its bias to int32, its multipliers computed, all packed into
 *    the kernel's storage, and its node's op swapped (qdense, qconv2d).
 */
#include "quant/quant.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dc_quantize_config dc_quantize_defaults(void)
{
    dc_quantize_config c;
    memset(&c, 0, sizeof c);
    c.batch_size = 32;
    return c;
}

/* A Conv2D with fewer inputs per output (and no BatchNormalization to fold)
 * stays float: requantizing each output (a 64-bit fixed-point multiply and
 * a rounding shift) costs more than its few multiply-adds, its packed form
 * saves next to nothing (a first 3 x 3 convolution on one channel: 9
 * inputs, 288 weights), and float keeps its accuracy.  It runs the
 * generated C's arithmetic (qfconv2d, quant_float.c), so the int8 layers
 * after it quantize the same values in deepc and in the export. */
#define DQ_MIN_K 16

typedef struct qnode {
    dc_node *n;      /* the Dense / Conv2D */
    dc_node *bn;     /* the BatchNormalization folded in, or NULL */
    dc_node *seen;   /* whose values are the output range: n, bn, or the ReLU after them */
    int relu;
    float in_lo, in_hi, out_lo, out_hi;
    int src;         /* the int8 layer (index) whose bytes it reads, or -1: it quantizes floats */
    int out_u8;      /* it hands int8 bytes to the next int8 layer */
    float out_scale; /* its output's scale and zero point (calibrated) */
    int32_t out_zp;
} qnode;

static const char *layer_name(const dc_model *m, const dc_node *n)
{
    for (int j = 0; j < m->n_calls; j++)
        if (n->id >= m->calls[j].nodes_from && n->id < m->calls[j].nodes_to)
            return m->calls[j].layer->name;
    return n->name;
}

static const char *layer_type(const dc_model *m, const dc_node *n)
{
    for (int j = 0; j < m->n_calls; j++)
        if (n->id >= m->calls[j].nodes_from && n->id < m->calls[j].nodes_to)
            return m->calls[j].layer->cls->type;
    return n->op->name;
}

/* Ops that run in float between int8 layers (see the top). */
static int float_ok(const dc_op *op)
{
    return op == &dc_op_input || op == &dc_op_act || op == &dc_op_pool2d || op == &dc_op_global_pool ||
           op == &dc_op_reshape || op == &dc_op_columns || op == &dc_op_dropout || op == &dc_op_spatial_dropout ||
           op == &dc_op_gaussian_noise || op == &dc_op_random_flip || op == &dc_op_random_affine ||
           op == &dc_op_random_color || op == &dc_op_embedding || op == &dc_op_rnn || op == &dc_op_rnn_state ||
           op == &dc_op_step_mask || op == &dc_op_mask_steps || op == &dc_op_time_fold || op == &dc_op_time_unfold ||
           op == &dc_op_add || op == &dc_op_concat; /* merges of dequantized values */
}

/* The only reader of n on the path, or NULL. */
static dc_node *sole_reader(dc_graph *g, unsigned mark, const dc_node *n)
{
    dc_node *r = NULL;
    for (int i = n->id + 1; i < g->n_nodes; i++) {
        dc_node *c = g->nodes[i];
        if (c->mark != mark)
            continue;
        for (int k = 0; k < c->n_in; k++)
            if (c->in[k] == n) {
                if (r)
                    return NULL;
                r = c;
            }
    }
    return r;
}

static dc_status range_of(const dc_model *m, const dc_node *n, float lo, float hi, const char *what, float *scale,
                          int32_t *zp)
{
    lo = lo < 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    if (!(hi - lo > 0) || !isfinite(hi - lo))
        return dc_fail(DC_ERR_ARG, "quantize: layer %s: the calibration samples give its %s the constant range "
                                   "[%g, %g]; calibrate on representative, varied samples",
                       layer_name(m, n), what, (double)lo, (double)hi);
    *scale = (hi - lo) / 255.0f;
    long z = -128 - lroundf(lo / *scale);
    *zp = (int32_t)(z < -128 ? -128 : z > 127 ? 127 : z);
    return DC_OK;
}

/* Packs layer q (calibrated) into its kernel's storage and swaps its op. */
static dc_status pack(const dc_model *m, const qnode *qs_all, qnode *q)
{
    dc_node *n = q->n, *kn = n->in[1], *bnode = n->in[2], *bn = q->bn;
    int U = kn->shape[kn->ndim - 1];
    size_t total = dc_node_numel(kn);
    int K = (int)(total / (size_t)U), Kp = (K + 3) & ~3;
    dq_header h = {DQ_MAGIC, U, K, Kp, 0, 0, 0, 0, q->relu, q->src >= 0, q->out_u8};
    dc_status st;
    if ((st = range_of(m, n, q->in_lo, q->in_hi, "input", &h.in_scale, &h.in_zp)) != DC_OK ||
        (st = range_of(m, n, q->out_lo, q->out_hi, "output", &h.out_scale, &h.out_zp)) != DC_OK)
        return st;
    if (q->src >= 0) { /* the same tensor as the int8 layer before's output */
        h.in_scale = qs_all[q->src].out_scale;
        h.in_zp = qs_all[q->src].out_zp;
    }
    size_t bytes = dq_packed_bytes(U, K), tiled = dq_tiled_bytes(U, Kp);
    if (bytes + tiled <= total * sizeof(float))
        bytes += tiled; /* room for the VNNI tiling too (quant.h) */
    double *w = malloc(total * sizeof *w), *b = malloc((size_t)U * sizeof *b);
    unsigned char *buf = calloc(1, bytes);
    if (!w || !b || !buf) {
        free(w);
        free(b);
        free(buf);
        return dc_fail(DC_ERR_NOMEM, "quantize: out of memory packing %s", layer_name(m, n));
    }
    for (int j = 0; j < U; j++) {
        double s = 1.0, shift = bnode ? bnode->val[j] : 0.0;
        if (bn) { /* fold: w s, (b - mean) s + beta, s = gamma / sqrt(var + eps) */
            s = (double)bn->in[1]->val[j] * (1.0f / sqrtf(bn->in[4]->val[j] + bn->attr.batchnorm.epsilon));
            shift = (shift - bn->in[3]->val[j]) * s + bn->in[2]->val[j];
        }
        b[j] = shift;
        for (int k = 0; k < K; k++)
            w[(size_t)k * U + j] = kn->val[(size_t)k * U + j] * s;
    }
    memcpy(buf, &h, sizeof h);
    int32_t *m0 = (int32_t *)(void *)(buf + sizeof h), *sh = m0 + U, *bias = sh + U, *wsum = bias + U;
    int8_t *wq = (int8_t *)(void *)(wsum + U);
    for (int j = 0; j < U; j++) {
        double amax = 0;
        for (int k = 0; k < K; k++)
            amax = fmax(amax, fabs(w[(size_t)k * U + j]));
        float sw = amax > 0 ? (float)(amax / 127.0) : 1.0f;
        int32_t sum = 0;
        for (int k = 0; k < K; k++) {
            long v = lround(w[(size_t)k * U + j] / sw);
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            wq[(size_t)j * Kp + k] = (int8_t)v;
            sum += (int32_t)v;
        }
        wsum[j] = sum;
        double bs = (double)h.in_scale * sw, bq = nearbyint(b[j] / bs);
        bias[j] = bq > INT32_MAX / 2 ? INT32_MAX / 2 : bq < -(INT32_MAX / 2) ? -(INT32_MAX / 2) : (int32_t)bq;
        dq_quantize_multiplier(bs / h.out_scale, &m0[j], &sh[j]);
    }
    if (bytes > dq_packed_bytes(U, K))
        dq_tile(wq, U, Kp, (int8_t *)(void *)(buf + dq_packed_bytes(U, K)));
    memcpy(kn->val, buf, bytes); /* the packed layer replaces the float kernel */
    free(w);
    free(b);
    free(buf);
    n->op = n->op == &dc_op_dense ? &dc_op_qdense : &dc_op_qconv2d;
    if (bn)
        bn->op = &dc_op_qcopy;
    return DC_OK;
}

static dc_status check_calibration(const dc_model *m, const dc_quantize_config *cfg, size_t per)
{
    const dc_tensor *x = cfg->calibration;
    if (!x || x->ndim < 1 || x->shape[0] < 1 || x->size == 0)
        return dc_fail(DC_ERR_ARG, "quantize: the calibration set is empty; pass representative samples "
                                   "(a few hundred training samples) as cfg->calibration");
    if (x->size / (size_t)x->shape[0] != per)
        return dc_fail(DC_ERR_SHAPE, "quantize: calibration samples have %zu values each, the model's input %zu",
                       x->size / (size_t)x->shape[0], per);
    size_t i = 1;
    for (; i < x->size && x->data[i] == x->data[0]; i++)
        ;
    if (i == x->size)
        return dc_fail(DC_ERR_ARG, "quantize: the calibration set is constant (every value is %g): it cannot "
                                   "give the layers' ranges",
                       (double)x->data[0]);
    for (i = 0; i < x->size; i++)
        if (!isfinite(x->data[i]))
            return dc_fail(DC_ERR_NAN, "quantize: calibration value %zu is %g", i, (double)x->data[i]);
    (void)m;
    return DC_OK;
}

/* Whether weight p holds only finite values; else the error naming it. */
static dc_status finite_weight(const dc_model *m, const dc_node *n, const dc_node *p)
{
    for (size_t k = 0, t = dc_node_numel(p); k < t; k++)
        if (!isfinite(p->val[k]))
            return dc_fail(DC_ERR_NAN, "quantize: layer %s: its weight %s holds %g at %zu", layer_name(m, n), p->name,
                           (double)p->val[k], k);
    return DC_OK;
}

/* Whether an Embedding / recurrent node n gets weight-only int8 (quant.h):
 * its weights read by it alone, large enough to shrink, and (a recurrent
 * one) no final-state reader, which reads the float op's work. */
static int weight_only_ok(dc_graph *g, unsigned mark, const dc_node *n)
{
    int np = n->op == &dc_op_rnn ? 2 : 1;
    for (int k = 1; k <= np; k++) {
        const dc_node *p = n->in[k];
        if (p->ndim != 2 || p->n_consumers != 1 ||
            dq_wo_bytes(p->shape[0], p->shape[1], n->op == &dc_op_embedding) > dc_node_numel(p) * sizeof(float))
            return 0;
    }
    for (int i = n->id + 1; n->op == &dc_op_rnn && i < g->n_nodes; i++)
        if (g->nodes[i]->mark == mark && g->nodes[i]->op == &dc_op_rnn_state && g->nodes[i]->in[0] == n)
            return 0;
    return 1;
}

/* Packs node n's weights (Embedding: the table per row; recurrent: the
 * kernel and recurrent kernel per column) in place and swaps its op. */
static dc_status pack_weight_only(const dc_model *m, dc_node *n)
{
    int rnn = n->op == &dc_op_rnn;
    for (int k = 1; k <= (rnn ? 2 : 1); k++) {
        dc_node *p = n->in[k];
        size_t bytes = dq_wo_bytes(p->shape[0], p->shape[1], !rnn);
        void *buf = malloc(bytes);
        if (!buf)
            return dc_fail(DC_ERR_NOMEM, "quantize: out of memory packing %s", layer_name(m, n));
        dq_wo_pack(p->val, p->shape[0], p->shape[1], !rnn, buf);
        memcpy(p->val, buf, bytes);
        free(buf);
    }
    n->op = rnn ? &dc_op_qrnn : &dc_op_qembedding;
    return DC_OK;
}

/* Whether op passes an int8 layer's bytes on unchanged in meaning: the
 * views and inference identities copy them (Flatten / Reshape share the
 * buffer, Dropout and noise copy numel floats' worth, which holds the
 * bytes), max pooling becomes qmaxpool. */
static int byte_pass(const dc_node *n)
{
    return n->op == &dc_op_reshape || n->op == &dc_op_dropout || n->op == &dc_op_spatial_dropout ||
           n->op == &dc_op_gaussian_noise || (n->op == &dc_op_pool2d && n->attr.pool.is_max);
}

/* Consecutive int8 layers: a layer whose input comes, through nothing but
 * byte_pass nodes each read by the next alone, from another int8 layer's
 * output (after its folded BatchNormalization and ReLU) that nothing else
 * reads, takes that layer's bytes (its input scale and zero point become
 * the producer's output ones); the pooling on the way becomes qmaxpool and
 * the folded ReLU a byte copy. */
static void link_int8(const dc_model *m, unsigned mark, qnode *qs, int nq)
{
    dc_graph *g = m->g;
    for (int k = 0; k < nq; k++) {
        qnode *q = &qs[k];
        q->src = -1;
        dc_node *next = q->n, *x = q->n->in[0];
        int src = -1;
        while (x && x != m->output && sole_reader(g, mark, x) == next) {
            for (int j = 0; j < k && src < 0; j++)
                if (qs[j].seen == x)
                    src = j;
            if (src >= 0 || !byte_pass(x))
                break;
            next = x;
            x = x->in[0];
        }
        if (src < 0)
            continue;
        q->src = src;
        qs[src].out_u8 = 1;
    }
}

/* The ops between linked int8 layers, once every layer is packed. */
static void swap_between(qnode *qs, int nq)
{
    for (int k = 0; k < nq; k++) {
        if (qs[k].src < 0)
            continue;
        dc_node *seen = qs[qs[k].src].seen;
        for (dc_node *c = qs[k].n->in[0]; c != seen; c = c->in[0])
            if (c->op == &dc_op_pool2d)
                c->op = &dc_op_qmaxpool;
        if (seen->op == &dc_op_act)
            seen->op = &dc_op_qpass;
    }
}

dc_status dc_model_quantize(dc_model *m, const dc_quantize_config *cfg)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(cfg);
    if (!m->compiled || !m->g || !m->output)
        return dc_fail(DC_ERR_STATE, "quantize: the model is not compiled; compile (or load) and train it first");
    dc_graph *g = m->g;
    dc_status st = dc_graph_set_batch(g, 1);
    if (st != DC_OK)
        return st;
    if ((st = check_calibration(m, cfg, dc_node_numel(m->input))) != DC_OK)
        return st;
    unsigned mark = dc_graph_mark_ancestors(g, m->output);
    qnode *qs = calloc((size_t)g->n_nodes, sizeof *qs);
    if (!qs)
        return dc_fail(DC_ERR_NOMEM, "quantize: out of memory for %d nodes", g->n_nodes);
    int nq = 0, nwo = 0;
    dc_node **wo = calloc((size_t)g->n_nodes, sizeof *wo); /* the weight-only int8 nodes */
    unsigned char *kept = calloc((size_t)g->n_nodes, 1);   /* Conv (1) / Dense (2) left float */
    if (!wo || !kept) {
        free(wo);
        free(kept);
        free(qs);
        return dc_fail(DC_ERR_NOMEM, "quantize: out of memory for %d nodes", g->n_nodes);
    }
    for (int i = 0; i < g->n_nodes && st == DC_OK; i++) {
        dc_node *n = g->nodes[i];
        if (n->mark != mark || n->is_param)
            continue;
        if (n->op == &dc_op_qdense || n->op == &dc_op_qconv2d || n->op == &dc_op_qcopy ||
            n->op == &dc_op_qembedding || n->op == &dc_op_qrnn || n->op == &dc_op_qfconv2d ||
            n->op == &dc_op_qfdense) {
            st = dc_fail(DC_ERR_STATE, "quantize: the model is quantized already");
        } else if (n->op == &dc_op_embedding || n->op == &dc_op_rnn) {
            for (int k = 1; k <= (n->op == &dc_op_rnn ? 3 : 1) && st == DC_OK; k++)
                st = finite_weight(m, n, n->in[k]);
            if (st == DC_OK && weight_only_ok(g, mark, n))
                wo[nwo++] = n;
        } else if (n->op == &dc_op_dense || n->op == &dc_op_conv2d) {
            dc_node *kn = n->in[1];
            int U = kn->shape[kn->ndim - 1];
            size_t total = dc_node_numel(kn), K = total / (size_t)U;
            for (size_t k = 0; k < total && st == DC_OK; k++)
                if (!isfinite(kn->val[k]))
                    st = dc_fail(DC_ERR_NAN, "quantize: layer %s: its kernel holds %g at %zu", layer_name(m, n),
                                 (double)kn->val[k], k);
            if (st != DC_OK)
                break;
            if (kn->n_consumers != 1 || K > 65532 || (n->op == &dc_op_conv2d && U > 4096)) {
                st = dc_fail(DC_ERR_ARG, "quantize: layer %s (%s, %zu inputs per output, %d outputs) has no int8 "
                                         "kernel: %s", layer_name(m, n), layer_type(m, n), K, U,
                             kn->n_consumers != 1 ? "its kernel is shared or regularised"
                                                  : "more than 65532 inputs per output or 4096 filters");
                break;
            }
            if (dq_packed_bytes(U, (int)K) > total * sizeof(float)) { /* a tiny layer (about 10 inputs per output or fewer) stays float */
                dc_node *rd = sole_reader(g, mark, n);
                if (n->op == &dc_op_dense && !(rd && rd->op == &dc_op_batchnorm && rd->in[0] == n))
                    kept[n->id] = 2; /* in the generated C's arithmetic (its export folds no BatchNormalization) */
                continue;
            }
            dc_node *rd = sole_reader(g, mark, n);
            if (n->op == &dc_op_conv2d && K < DQ_MIN_K && !(rd && rd->op == &dc_op_batchnorm && rd->in[0] == n)) {
                kept[n->id] = 1; /* stays float (DQ_MIN_K), in the generated C's arithmetic once packed */
                continue;
            }
            qnode *q = &qs[nq++];
            q->n = n;
            q->seen = n;
            q->relu = n->op == &dc_op_conv2d && n->attr.conv.relu;
            dc_node *r = sole_reader(g, mark, n);
            if (r && r->op == &dc_op_batchnorm && r->in[0] == n && !q->relu) {
                q->bn = q->seen = r;
                q->relu = r->attr.batchnorm.relu;
                r = sole_reader(g, mark, r);
            }
            if (!q->relu && r && r->op == &dc_op_act && r->attr.act.fn == DC_ACT_RELU) {
                q->seen = r;
                q->relu = 1;
            }
            q->in_lo = q->out_lo = INFINITY;
            q->in_hi = q->out_hi = -INFINITY;
        } else if (n->op == &dc_op_batchnorm) {
            int folded = 0;
            for (int k = 0; k < nq; k++)
                folded |= qs[k].bn == n;
            if (!folded)
                st = dc_fail(DC_ERR_ARG, "quantize: layer %s (BatchNormalization) has no int8 kernel: only one "
                                         "read by nothing but the Conv2D / Dense before it can be folded in",
                             layer_name(m, n));
        } else if (!float_ok(n->op)) {
            st = dc_fail(DC_ERR_ARG, "quantize: layer %s (%s) has no int8 kernel (op %s); docs/export-c.md lists "
                                     "the layers a quantized model may hold", layer_name(m, n), layer_type(m, n),
                         n->op->name);
        }
    }
    if (st == DC_OK && nq == 0 && nwo == 0)
        st = dc_fail(DC_ERR_ARG, "quantize: the model has no Dense, Conv2D, Embedding or recurrent layer to quantize");
    if (st == DC_OK) /* before calibrating: its forward passes mark the nodes anew */
        link_int8(m, mark, qs, nq);
    /* calibration: the float model on the representative samples */
    const dc_tensor *x = cfg->calibration;
    int n_cal = cfg->max_samples > 0 && cfg->max_samples < x->shape[0] ? cfg->max_samples : x->shape[0];
    int batch = cfg->batch_size > 0 ? cfg->batch_size : 32;
    batch = batch < n_cal ? batch : n_cal;
    if (st == DC_OK)
        st = dc_graph_reserve(g, batch);
    dc_run run = {.training = 0, .rng = &m->rng};
    for (int s = 0; st == DC_OK && s < n_cal; s += batch) {
        int b = n_cal - s < batch ? n_cal - s : batch;
        dc_graph_set_batch(g, b);
        dc_model_gather(m->input, x, NULL, s, b);
        if ((st = dc_graph_forward_run(g, m->output, &run)) != DC_OK)
            break;
        for (int k = 0; k < nq; k++) {
            qnode *q = &qs[k];
            const dc_node *in = q->n->in[0], *out = q->seen;
            for (size_t i = 0, t = dc_node_numel(in); i < t; i++) {
                q->in_lo = fminf(q->in_lo, in->val[i]);
                q->in_hi = fmaxf(q->in_hi, in->val[i]);
            }
            for (size_t i = 0, t = dc_node_numel(out); i < t; i++) {
                q->out_lo = fminf(q->out_lo, out->val[i]);
                q->out_hi = fmaxf(q->out_hi, out->val[i]);
            }
        }
    }
    /* every range first, so a failure leaves the model float */
    for (int k = 0; st == DC_OK && k < nq; k++) {
        float s;
        int32_t z;
        if ((st = range_of(m, qs[k].n, qs[k].in_lo, qs[k].in_hi, "input", &s, &z)) == DC_OK)
            st = range_of(m, qs[k].n, qs[k].out_lo, qs[k].out_hi, "output", &qs[k].out_scale, &qs[k].out_zp);
    }
    for (int k = 0; st == DC_OK && k < nq; k++)
        if ((st = pack(m, qs, &qs[k])) == DC_OK)
            m->quantized = 1; /* from the first packed layer on, whatever follows */
    if (st == DC_OK)
        swap_between(qs, nq);
    for (int i = 0; st == DC_OK && i < g->n_nodes; i++)
        if (kept[i])
            g->nodes[i]->op = kept[i] == 2 ? &dc_op_qfdense : &dc_op_qfconv2d;
    for (int k = 0; st == DC_OK && k < nwo; k++)
        if ((st = pack_weight_only(m, wo[k])) == DC_OK)
            m->quantized = 1;
    free(qs);
    free(wo);
    free(kept);
    return st;
}

int dc_model_is_quantized(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, 0);
    return m->quantized;
}

dc_status dc_model_refuse_quantized(const dc_model *m, const char *what)
{
    if (!m || !m->quantized)
        return DC_OK;
    return dc_fail(DC_ERR_STATE, "%s: the model is quantized (int8, for inference only): its int8 layers are packed "
                                 "in their kernels' storage and its activation scales were calibrated on the weights "
                                 "as they were; train, save or set weights on the float model, then quantize it again",
                   what);
}

dc_status dc_model_refuse_packed(const dc_model *m, const dc_node *p, const char *what)
{
    if (!m || !m->quantized || !m->g || !p)
        return DC_OK;
    for (int i = 0; i < m->g->n_nodes; i++) {
        const dc_node *n = m->g->nodes[i];
        if (((n->op == &dc_op_qdense || n->op == &dc_op_qconv2d || n->op == &dc_op_qembedding) && n->in[1] == p) ||
            (n->op == &dc_op_qrnn && (n->in[1] == p || n->in[2] == p)))
            return dc_fail(DC_ERR_STATE, "%s: weight %s holds a packed int8 layer (the model is quantized), not "
                                         "floats; read the float model's weights before quantizing",
                           what, p->name);
    }
    return DC_OK;
}
