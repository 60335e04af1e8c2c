/*
 * ops_norm.c - batch normalisation and dropout: the ops whose behaviour
 * depends on training versus inference.
 *
 * batchnorm: x (..., C), gamma, beta, moving_mean, moving_var (C) -> (..., C),
 * Keras semantics: training normalises with the batch mean and biased
 * variance over every axis but the last, and updates the moving statistics
 * (moving = moving * momentum + batch * (1 - momentum)); inference uses the
 * moving statistics.  attr.batchnorm: momentum, epsilon; frozen: always the
 * moving statistics, left unchanged, even in training (a frozen layer:
 * Keras 3 normalises with batch statistics only when `training and
 * self.trainable`); the input's gradient is then the inference one.
 * relu: a ReLU follows, fused in by the compile pass dc_batchnorm_fuse_relu.
 * Its backward may write its input's gradient (grad_set).
 *
 * dropout: training keeps each value with probability 1 - rate and scales it
 * by 1 / (1 - rate); inference is the identity.  The mask comes from the
 * run's RNG; without one (the graph API's dc_graph_forward) it is a fixed
 * function of the position, which makes gradient checks possible.
 */
#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* ---- batchnorm ----
 * NHWC puts a row's channels side by side, so every loop runs over rows
 * with the channels innermost (contiguous, vectorised).  The per-channel
 * sums (mean, variance, and the backward's sum gy and sum gy xhat) are
 * taken in double over BN_BLOCKS blocks of rows fixed by the row count
 * alone, then added block by block in order: threads share the blocks, and
 * the result does not depend on how many there are. */

#define BN_BLOCKS 32

/* The node's scratch, doubles first (the planner aligns it to 64 bytes):
 * two partial sums per channel per block, two totals per channel, then
 * the last run's mean and 1/sqrt(var + eps) per channel, which the
 * backward reads. */
typedef struct bn_work {
    double *part, *sum;
    float *mean, *inv;
} bn_work;

static size_t bn_work_floats(int c) { return 2 * (2 * (size_t)BN_BLOCKS * c + 2 * (size_t)c) + 2 * (size_t)c; }

static bn_work bn_work_of(const dc_node *n, int c)
{
    bn_work w;
    w.part = (double *)(void *)n->work;
    w.sum = w.part + 2 * (size_t)BN_BLOCKS * c;
    w.mean = (float *)(void *)(w.sum + 2 * (size_t)c);
    w.inv = w.mean + c;
    return w;
}

static dc_status bn_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    int c = dc_node_cols(x);
    for (int i = 1; i < 5; i++)
        if (n->in[i]->ndim != 1 || n->in[i]->shape[0] != c)
            return dc_fail(DC_ERR_SHAPE, "batch_normalization: parameter %d has %d values, input has %d channels", i,
                           n->in[i]->shape[0], c);
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "batch_normalization: input needs a batch and a channel axis");
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    n->work_fixed = bn_work_floats(c);
    return DC_OK;
}

/* Rows [lo, hi) of block b of `blocks` over `rows`. */
static void bn_block(size_t rows, int blocks, int b, size_t *lo, size_t *hi)
{
    *lo = rows * (size_t)b / (size_t)blocks;
    *hi = rows * (size_t)(b + 1) / (size_t)blocks;
}

static int bn_threads(size_t rows, int c) { return rows * (size_t)c >= 32768 ? omp_get_max_threads() : 1; }

typedef enum { BN_SUM, BN_SQDEV, BN_GRADS } bn_sum_kind;

/* The per-channel sums over all rows, blocked (above):
 *   BN_SUM:   s0 = sum x
 *   BN_SQDEV: s0 = sum (x - mean)^2
 *   BN_GRADS: s0 = sum gy, s1 = sum gy (x - mean) inv */
static void bn_sums(bn_sum_kind kind, const float *x, const float *gy, const float *mean, const float *inv,
                    size_t rows, int c, double *part, double *s0, double *s1)
{
    int blocks = rows < BN_BLOCKS ? (int)rows : BN_BLOCKS;
    double *p0 = part, *p1 = part + (size_t)BN_BLOCKS * c;
#pragma omp parallel for schedule(static) num_threads(bn_threads(rows, c))
    for (int b = 0; b < blocks; b++) {
        size_t lo, hi;
        bn_block(rows, blocks, b, &lo, &hi);
        double *a0 = p0 + (size_t)b * c, *a1 = p1 + (size_t)b * c;
        for (int j = 0; j < c; j++)
            a0[j] = a1[j] = 0.0;
        for (size_t r = lo; r < hi; r++) {
            const float *xr = x + r * (size_t)c;
            if (kind == BN_SUM) {
#pragma omp simd
                for (int j = 0; j < c; j++)
                    a0[j] += xr[j];
            } else if (kind == BN_SQDEV) {
#pragma omp simd
                for (int j = 0; j < c; j++) {
                    double d = (double)xr[j] - (double)mean[j];
                    a0[j] += d * d;
                }
            } else {
                const float *gr = gy + r * (size_t)c;
#pragma omp simd
                for (int j = 0; j < c; j++) {
                    a0[j] += gr[j];
                    a1[j] += (double)gr[j] * (double)((xr[j] - mean[j]) * inv[j]);
                }
            }
        }
    }
    for (int j = 0; j < c; j++) {
        double t0 = 0.0, t1 = 0.0;
        for (int b = 0; b < blocks; b++) {
            t0 += p0[(size_t)b * c + j];
            t1 += p1[(size_t)b * c + j];
        }
        s0[j] = t0;
        if (s1)
            s1[j] = t1;
    }
}

static dc_status bn_forward(dc_node *n, const dc_run *run)
{
    const dc_node *x = n->in[0];
    const float *gamma = n->in[1]->val, *beta = n->in[2]->val;
    float *mm = n->in[3]->val, *mv = n->in[4]->val;
    const dc_batchnorm_attr *a = &n->attr.batchnorm;
    float momentum = a->momentum, eps = a->epsilon;
    size_t rows = dc_node_rows(x);
    int c = dc_node_cols(x);
    bn_work w = bn_work_of(n, c);
    float *mean = w.mean, *inv = w.inv;
    double *part = w.part, *sum = w.sum;
    if (run->training && !a->frozen) {
        bn_sums(BN_SUM, x->val, NULL, NULL, NULL, rows, c, part, sum, NULL);
        for (int j = 0; j < c; j++)
            mean[j] = (float)(sum[j] / (double)rows);
        /* the deviations from the float mean, in double: the two-pass variance */
        bn_sums(BN_SQDEV, x->val, NULL, mean, NULL, rows, c, part, sum + c, NULL);
        for (int j = 0; j < c; j++) {
            double mu = sum[j] / (double)rows, var = sum[c + j] / (double)rows;
            inv[j] = (float)(1.0 / sqrt(var + eps));
            mm[j] = mm[j] * momentum + (float)mu * (1.0f - momentum);
            mv[j] = mv[j] * momentum + (float)var * (1.0f - momentum);
        }
    } else {
        for (int j = 0; j < c; j++) {
            mean[j] = mm[j];
            inv[j] = 1.0f / sqrtf(mv[j] + eps);
        }
    }
    const float *xv = x->val;
    float *y = n->val;
    int relu = a->relu;
#pragma omp parallel for schedule(static) num_threads(bn_threads(rows, c))
    for (size_t r = 0; r < rows; r++) {
        const float *xr = xv + r * (size_t)c;
        float *yr = y + r * (size_t)c;
#pragma omp simd
        for (int j = 0; j < c; j++) {
            float v = gamma[j] * (xr[j] - mean[j]) * inv[j] + beta[j];
            yr[j] = relu && v < 0.0f ? 0.0f : v; /* the ReLU op's own rule: keeps NaN */
        }
    }
    return DC_OK;
}

static void bn_backward(dc_node *n, const dc_run *run)
{
    dc_node *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    size_t rows = dc_node_rows(x);
    int c = dc_node_cols(x);
    bn_work w = bn_work_of(n, c);
    const float *mean = w.mean, *inv = w.inv, *gy = n->grad;
    double *part = w.part, *sg = w.sum, *sgx = sg + c;
    if (n->attr.batchnorm.relu) { /* the fused ReLU's backward, in place: the gradient is this node's alone */
        float *g = n->grad;
        const float *y = n->val;
        size_t total = rows * (size_t)c;
#pragma omp parallel for simd schedule(static) num_threads(bn_threads(rows, c))
        for (size_t i = 0; i < total; i++)
            g[i] = y[i] > 0.0f ? g[i] : 0.0f;
    }
    bn_sums(BN_GRADS, x->val, gy, mean, inv, rows, c, part, sg, sgx);
    for (int j = 0; j < c; j++) {
        if (gamma->requires_grad)
            gamma->grad[j] += (float)sgx[j];
        if (beta->requires_grad)
            beta->grad[j] += (float)sg[j];
    }
    if (!x->requires_grad)
        return;
    /* with batch statistics: gx = gamma inv / N (N gy - sum gy - xhat sum(gy xhat));
     * with constant ones (inference, a frozen layer): gx = gamma inv gy */
    int stats = run->training && !n->attr.batchnorm.frozen;
    /* per channel, in the partial sums' space (added up already) */
    float *g = (float *)(void *)part, *mg = g + c, *mgx = mg + c;
    for (int j = 0; j < c; j++) {
        g[j] = gamma->val[j] * inv[j];
        mg[j] = stats ? (float)(sg[j] / (double)rows) : 0.0f;
        mgx[j] = stats ? (float)(sgx[j] / (double)rows) : 0.0f;
    }
    const float *xv = x->val;
    float *gx = x->grad;
    int set = x->grad_set; /* the only writer of gx, which nothing zeroed */
#pragma omp parallel for schedule(static) num_threads(bn_threads(rows, c))
    for (size_t r = 0; r < rows; r++) {
        const float *xr = xv + r * (size_t)c, *gr = gy + r * (size_t)c;
        float *dr = gx + r * (size_t)c;
#pragma omp simd
        for (int j = 0; j < c; j++) {
            float xhat = (xr[j] - mean[j]) * inv[j], v = g[j] * (gr[j] - mg[j] - xhat * mgx[j]);
            dr[j] = set ? v : dr[j] + v;
        }
    }
}

/* The backward writes every value of its input's gradient when told to. */
static int bn_writes_input_grad(const dc_node *n, int input)
{
    (void)n;
    return input == 0;
}

const dc_op dc_op_batchnorm = {.name = "batchnorm", .n_inputs = 5, .infer = bn_infer, .forward = bn_forward,
                               .backward = bn_backward, .writes_input_grad = bn_writes_input_grad};

int dc_batchnorm_fuse_relu(dc_node *act)
{
    if (act->op != &dc_op_act || act->attr.act.fn != DC_ACT_RELU)
        return 0;
    dc_node *bn = act->in[0];
    if (bn->op != &dc_op_batchnorm || bn->attr.batchnorm.relu)
        return 0;
    if (bn->n_consumers != 1)
        return 0;
    /* The activation becomes a reshape to its own shape: no work, its value
     * and gradient the batchnorm's buffers. */
    int lead = act->batched ? 1 : 0;
    bn->attr.batchnorm.relu = 1;
    act->op = &dc_op_reshape;
    act->attr = (dc_attr){.reshape = {.ndim = act->ndim - lead}};
    memcpy(act->attr.reshape.shape, act->shape + lead, (size_t)(act->ndim - lead) * sizeof(int));
    return 1;
}

dc_node *dc_batchnorm_ex(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, dc_node *moving_mean,
                         dc_node *moving_var, float momentum, float epsilon, int frozen)
{
    dc_node *in[5] = {x, gamma, beta, moving_mean, moving_var};
    dc_attr a = {.batchnorm = {.frozen = frozen, .momentum = momentum, .epsilon = epsilon}};
    return dc_node_make(g, &dc_op_batchnorm, 5, in, &a);
}

dc_node *dc_batchnorm(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, dc_node *moving_mean,
                      dc_node *moving_var, float momentum, float epsilon)
{
    return dc_batchnorm_ex(g, x, gamma, beta, moving_mean, moving_var, momentum, epsilon, 0);
}

/* ---- dropout ---- */

static dc_status dropout_infer(dc_node *n)
{
    if (!(n->attr.dropout.rate >= 0.0f && n->attr.dropout.rate < 1.0f))
        return dc_fail(DC_ERR_ARG, "dropout: rate %g, expected 0 <= rate < 1", (double)n->attr.dropout.rate);
    n->batched = n->in[0]->batched;
    n->ndim = n->in[0]->ndim;
    memcpy(n->shape, n->in[0]->shape, sizeof n->shape);
    n->work_per_sample = dc_node_sample_size(n->in[0]); /* the mask, already scaled */
    return DC_OK;
}

float dc_fixed_uniform(size_t i)
{
    uint32_t h = (uint32_t)i * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

void dc_run_fill_uniform(const dc_run *run, float *out, size_t n)
{
    if (run->rng) {
        dc_rng_fill_uniform(run->rng, out, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = dc_fixed_uniform(i);
}

int dc_dropout_passthrough(dc_node *n, const dc_run *run)
{
    if (run->training && n->attr.dropout.rate != 0.0f)
        return 0;
    memcpy(n->val, n->in[0]->val, dc_node_numel(n) * sizeof(float));
    return 1;
}

static dc_status dropout_forward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    const float *x = n->in[0]->val;
    float rate = n->attr.dropout.rate, scale = 1.0f / (1.0f - rate);
    if (dc_dropout_passthrough(n, run))
        return DC_OK;
    size_t per_row = dc_node_sample_size(n);
    dc_run_rng_skip(run, per_row, n->shape[0], 1);
    float *restrict mask = n->work;
    dc_run_fill_uniform(run, mask, total);
    dc_run_rng_skip(run, per_row, n->shape[0], 0);
#pragma omp simd
    for (size_t i = 0; i < total; i++) {
        float keep = mask[i] >= rate ? scale : 0.0f;
        mask[i] = keep;
        n->val[i] = x[i] * keep;
    }
    return DC_OK;
}

static void dropout_backward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    float *gx = n->in[0]->grad;
    const float *restrict gy = n->grad, *restrict mask = n->work;
    if (run->training && n->attr.dropout.rate != 0.0f) {
#pragma omp simd
        for (size_t i = 0; i < total; i++)
            gx[i] += gy[i] * mask[i];
    } else {
#pragma omp simd
        for (size_t i = 0; i < total; i++)
            gx[i] += gy[i];
    }
}

const dc_op dc_op_dropout = {.name = "dropout", .n_inputs = 1, .infer = dropout_infer, .forward = dropout_forward,
                             .backward = dropout_backward};

dc_node *dc_dropout(dc_graph *g, dc_node *x, float rate)
{
    return dc_node_make(g, &dc_op_dropout, 1, &x, &(dc_attr){.dropout = {rate}});
}
