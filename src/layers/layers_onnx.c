/*
 * layers_onnx.c - small generic layers that ONNX graphs need and Keras has
 * no class for:
 * - LogSoftmax: log(softmax(x)) over the last axis, computed stably as
 *   x - max - log(sum(exp(x - max))) (PyTorch's log_softmax, ONNX's
 *   LogSoftmax).  No arguments, no weights; its op "log_softmax" has the
 *   gradient dx = dy - softmax(x) * sum(dy) per row.
 * - Broadcast: a op b for op + - * / (ONNX's Add / Sub / Mul / Div of two
 *   computed values whose shapes differ): a (B, d1..dk), b (B, e1..ek) with
 *   each e equal to d or 1, the result (B, d1..dk).  Op "broadcast_binary";
 *   the gradients of b are summed over its broadcast axes.  Config: "op",
 *   one of "add", "subtract", "multiply", "divide" (kept in cfg.merge.axis).
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

/* ---- op: a (B, d...) op b (B, e...), e equal to d or 1 per axis ---- */

enum { BC_ADD, BC_SUB, BC_MUL, BC_DIV, BC_N };
static const char *const bc_names[BC_N] = {"add", "subtract", "multiply", "divide"};

static dc_status bc_infer(dc_node *n)
{
    const dc_node *a = n->in[0], *b = n->in[1];
    int op = n->attr.axis.axis;
    if (op < 0 || op >= BC_N)
        return dc_fail(DC_ERR_ARG, "broadcast_binary: op %d, expected 0 to %d", op, BC_N - 1);
    if (a->ndim != b->ndim || a->batched != b->batched)
        return dc_fail(DC_ERR_SHAPE, "broadcast_binary: operands of rank %d and %d; expected the same rank", a->ndim,
                       b->ndim);
    for (int i = 0; i < a->ndim; i++)
        if (b->shape[i] != a->shape[i] && (b->shape[i] != 1 || (i == 0 && a->batched)))
            return dc_fail(DC_ERR_SHAPE, "broadcast_binary: axis %d of the second operand is %d; expected %d or 1", i,
                           b->shape[i], a->shape[i]);
    n->batched = a->batched;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    return DC_OK;
}

/* The index in b of element i of a (a's strides walked with b's sizes). */
static size_t bc_index(const dc_node *a, const dc_node *b, size_t i)
{
    size_t j = 0, bs = 1;
    for (int k = a->ndim - 1; k >= 0; k--) {
        size_t c = i % (size_t)a->shape[k];
        i /= (size_t)a->shape[k];
        if (b->shape[k] != 1)
            j += c * bs;
        bs *= (size_t)b->shape[k];
    }
    return j;
}

static dc_status bc_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *a = n->in[0], *b = n->in[1];
    int op = n->attr.axis.axis;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
    for (size_t i = 0; i < total; i++) {
        float x = a->val[i], y = b->val[bc_index(a, b, i)];
        n->val[i] = op == BC_ADD ? x + y : op == BC_SUB ? x - y : op == BC_MUL ? x * y : x / y;
    }
    return DC_OK;
}

static void bc_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *a = n->in[0], *b = n->in[1];
    int op = n->attr.axis.axis;
    size_t total = dc_node_numel(n);
    if (a->grad) /* one writer per element */
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
        for (size_t i = 0; i < total; i++) {
            float y = b->val[bc_index(a, b, i)], g = n->grad[i];
            a->grad[i] += op == BC_MUL ? g * y : op == BC_DIV ? g / y : g;
        }
    if (b->grad) /* many elements of a per element of b: serial sums */
        for (size_t i = 0; i < total; i++) {
            size_t j = bc_index(a, b, i);
            float x = a->val[i], y = b->val[j], g = n->grad[i];
            b->grad[j] += op == BC_ADD ? g : op == BC_SUB ? -g : op == BC_MUL ? g * x : -g * x / (y * y);
        }
}

const dc_op dc_op_broadcast_binary = {.name = "broadcast_binary", .n_inputs = 2, .infer = bc_infer,
                                      .forward = bc_forward, .backward = bc_backward};

dc_node *dc_broadcast_binary(dc_graph *g, dc_node *a, dc_node *b, int op)
{
    dc_attr at;
    memset(&at, 0, sizeof at);
    at.axis.axis = op;
    return dc_node_make(g, &dc_op_broadcast_binary, 2, (dc_node *[]){a, b}, &at);
}

/* ---- layer: Broadcast ---- */

static dc_status bc_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    if (n != 2)
        return dc_fail(DC_ERR_ARG, "Broadcast '%s': %d inputs; expected 2", l->name, n);
    call->out = dc_broadcast_binary(g, xs[0], xs[1], l->cfg.merge.axis);
    if (!call->out) {
        dc_err_prefix(l->name);
        return dc_last_status();
    }
    return DC_OK;
}

static void bc_to_config(const dc_layer *l, dc_jw *w) { dc_jw_str(w, "op", bc_names[l->cfg.merge.axis]); }

static dc_layer *bc_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const dc_json *v = dc_json_get(cfg, "op");
    if (!v || v->type != DC_JSON_STRING)
        return dc_fail_null(DC_ERR_FORMAT, "Broadcast: key \"op\" missing or not a string");
    for (int i = 0; i < BC_N; i++)
        if (!strcmp(v->str, bc_names[i]))
            return dc_layer_broadcast(i);
    return dc_fail_null(DC_ERR_FORMAT, "Broadcast: op \"%s\"; expected add, subtract, multiply or divide", v->str);
}

const dc_layer_class dc_class_broadcast = {.type = "Broadcast", .snake = "broadcast", .to_config = bc_to_config,
                                           .from_config = bc_from_config, .build_merge = bc_build};

dc_layer *dc_layer_broadcast(int op)
{
    if (op < 0 || op >= BC_N)
        return dc_fail_null(DC_ERR_ARG, "Broadcast: op %d; expected 0 (add), 1 (subtract), 2 (multiply) or 3 (divide)",
                            op);
    dc_layer *l = dc_layer_new(&dc_class_broadcast);
    if (l)
        l->cfg.merge.axis = op;
    return l;
}
