/*
 * ops_norm.c - batch normalisation and dropout: the ops whose behaviour
 * depends on training versus inference.
 *
 * batchnorm: x (..., C), gamma, beta, moving_mean, moving_var (C) -> (..., C),
 * Keras semantics: training normalises with the batch mean and biased
 * variance over every axis but the last, and updates the moving statistics
 * (moving = moving * momentum + batch * (1 - momentum)); inference uses the
 * moving statistics.  farg: [0] momentum, [1] epsilon.  iarg[0] = 1: always
 * the moving statistics, left unchanged, even in training (a frozen layer:
 * Keras 3 normalises with batch statistics only when `training and
 * self.trainable`); the input's gradient is then the inference one.
 *
 * dropout: training keeps each value with probability 1 - rate and scales it
 * by 1 / (1 - rate); inference is the identity.  The mask comes from the
 * run's RNG; without one (the graph API's dc_graph_forward) it is a fixed
 * function of the position, which makes gradient checks possible.
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

/* ---- batchnorm ---- */

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
    n->work_fixed = 2 * (size_t)c; /* mean, 1/sqrt(var + eps) of the last run */
    return DC_OK;
}

static dc_status bn_forward(dc_node *n, const dc_run *run)
{
    const dc_node *x = n->in[0];
    const float *gamma = n->in[1]->val, *beta = n->in[2]->val;
    float *mm = n->in[3]->val, *mv = n->in[4]->val;
    float momentum = n->farg[0], eps = n->farg[1];
    size_t rows = dc_node_rows(x);
    int c = dc_node_cols(x);
    float *mean = n->work, *inv = n->work + c;
    if (run->training && !n->iarg[0]) {
        for (int j = 0; j < c; j++) {
            double mu, var;
            dc_column_moments(x->val, rows, c, j, &mu, &var);
            mean[j] = (float)mu;
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
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            size_t i = r * (size_t)c + j;
            n->val[i] = gamma[j] * (x->val[i] - mean[j]) * inv[j] + beta[j];
        }
    return DC_OK;
}

static void bn_backward(dc_node *n, const dc_run *run)
{
    dc_node *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    size_t rows = dc_node_rows(x);
    int c = dc_node_cols(x);
    const float *mean = n->work, *inv = n->work + c, *gy = n->grad;
    for (int j = 0; j < c; j++) {
        double sg = 0, sgx = 0; /* sum gy, sum gy * xhat */
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + j;
            sg += gy[i];
            sgx += gy[i] * (x->val[i] - mean[j]) * inv[j];
        }
        if (gamma->requires_grad)
            gamma->grad[j] += (float)sgx;
        if (beta->requires_grad)
            beta->grad[j] += (float)sg;
        if (!x->requires_grad)
            continue;
        float g = gamma->val[j] * inv[j];
        if (!run->training || n->iarg[0]) { /* the statistics are constants */
            for (size_t r = 0; r < rows; r++)
                x->grad[r * (size_t)c + j] += g * gy[r * (size_t)c + j];
            continue;
        }
        /* gx = gamma * inv / N * (N gy - sum gy - xhat sum(gy xhat)) */
        float mg = (float)(sg / (double)rows), mgx = (float)(sgx / (double)rows);
        for (size_t r = 0; r < rows; r++) {
            size_t i = r * (size_t)c + j;
            float xhat = (x->val[i] - mean[j]) * inv[j];
            x->grad[i] += g * (gy[i] - mg - xhat * mgx);
        }
    }
}

const dc_op dc_op_batchnorm = {"batchnorm", 5, bn_infer, bn_forward, bn_backward, 0};

dc_node *dc_batchnorm(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, dc_node *moving_mean,
                      dc_node *moving_var, float momentum, float epsilon)
{
    dc_node *in[5] = {x, gamma, beta, moving_mean, moving_var};
    float f[2] = {momentum, epsilon};
    return dc_node_make(g, &dc_op_batchnorm, 5, in, NULL, 0, f, 2);
}

/* ---- dropout ---- */

static dc_status dropout_infer(dc_node *n)
{
    if (!(n->farg[0] >= 0.0f && n->farg[0] < 1.0f))
        return dc_fail(DC_ERR_ARG, "dropout: rate %g, expected 0 <= rate < 1", (double)n->farg[0]);
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

int dc_dropout_passthrough(dc_node *n, const dc_run *run)
{
    if (run->training && n->farg[0] != 0.0f)
        return 0;
    memcpy(n->val, n->in[0]->val, dc_node_numel(n) * sizeof(float));
    return 1;
}

static dc_status dropout_forward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    const float *x = n->in[0]->val;
    float rate = n->farg[0], scale = 1.0f / (1.0f - rate);
    if (dc_dropout_passthrough(n, run))
        return DC_OK;
    size_t per_row = dc_node_sample_size(n);
    dc_run_rng_skip(run, per_row, n->shape[0], 1);
    for (size_t i = 0; i < total; i++) {
        float u = run->rng ? dc_rng_uniform(run->rng) : dc_fixed_uniform(i);
        n->work[i] = u >= rate ? scale : 0.0f;
        n->val[i] = x[i] * n->work[i];
    }
    dc_run_rng_skip(run, per_row, n->shape[0], 0);
    return DC_OK;
}

static void dropout_backward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    float *gx = n->in[0]->grad;
    int masked = run->training && n->farg[0] != 0.0f;
    for (size_t i = 0; i < total; i++)
        gx[i] += masked ? n->grad[i] * n->work[i] : n->grad[i];
}

const dc_op dc_op_dropout = {"dropout", 1, dropout_infer, dropout_forward, dropout_backward, 0};

dc_node *dc_dropout(dc_graph *g, dc_node *x, float rate)
{
    return dc_node_make(g, &dc_op_dropout, 1, &x, NULL, 0, &rate, 1);
}
