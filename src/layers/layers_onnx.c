/*
 * layers_onnx.c - small generic layers that ONNX graphs need and Keras has
 * no class for:
 * - LogSoftmax: log(softmax(x)) over the last axis, computed stably as
 *   x - max - log(sum(exp(x - max))) (PyTorch's log_softmax, ONNX's
 *   LogSoftmax).  No arguments, no weights; its op "log_softmax" has the
 *   gradient dx = dy - softmax(x) * sum(dy) per row.
 */
#include "graph/graph.h"
#include "layers/layer.h"
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

/* ---- op: x (..., C) -> log_softmax over the last axis ---- */

static dc_status log_softmax_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    if (x->ndim < 1 + x->batched)
        return dc_fail(DC_ERR_SHAPE, "log_softmax: the input needs an axis after the batch");
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return DC_OK;
}

static dc_status log_softmax_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val;
    size_t rows = dc_node_rows(n);
    int c = dc_node_cols(n);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)rows * c))
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)c;
        float *yr = n->val + r * (size_t)c, mx = xr[0];
        for (int j = 1; j < c; j++)
            mx = xr[j] > mx ? xr[j] : mx;
        double sum = 0;
        for (int j = 0; j < c; j++)
            sum += exp((double)(xr[j] - mx));
        float lse = mx + (float)log(sum);
        for (int j = 0; j < c; j++)
            yr[j] = xr[j] - lse;
    }
    return DC_OK;
}

static void log_softmax_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *y = n->val, *gy = n->grad;
    float *gx = n->in[0]->grad;
    size_t rows = dc_node_rows(n);
    int c = dc_node_cols(n);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)rows * c))
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * (size_t)c;
        double s = 0;
        for (int j = 0; j < c; j++)
            s += gy[o + j];
        for (int j = 0; j < c; j++)
            gx[o + j] += gy[o + j] - expf(y[o + j]) * (float)s;
    }
}

const dc_op dc_op_log_softmax = {.name = "log_softmax", .n_inputs = 1, .infer = log_softmax_infer,
                                 .forward = log_softmax_forward, .backward = log_softmax_backward};

dc_node *dc_log_softmax(dc_graph *g, dc_node *x) { return dc_node_make(g, &dc_op_log_softmax, 1, &x, NULL); }

/* ---- layer ---- */

static dc_status log_softmax_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    (void)l;
    call->out = dc_log_softmax(g, x);
    call->out_act = DC_ACT_LINEAR;
    return call->out ? DC_OK : dc_last_status();
}

static dc_layer *log_softmax_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    (void)cfg;
    return dc_layer_log_softmax();
}

const dc_layer_class dc_class_log_softmax = {.type = "LogSoftmax", .snake = "log_softmax",
                                             .build = log_softmax_build, .to_config = dc_no_config,
                                             .from_config = log_softmax_from_config};

dc_layer *dc_layer_log_softmax(void) { return dc_layer_new(&dc_class_log_softmax); }
