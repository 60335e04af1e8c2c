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
 *   b may also be a weight without the batch axis (e1..ek): ConstantOp below.
 * - ConstantOp: x op c with c a constant (a non-trainable weight, listed and
 *   saved) that broadcasts to x's sample shape (ONNX's Mul / Add ... of a
 *   value and a constant tensor: LayerNorm's gamma and beta written out).
 *   Config: "op" (add, subtract, multiply, divide, and reverse_subtract c - x,
 *   reverse_divide c / x), "shape" (c's shape: x's sample shape with 1s).
 * - Unary: sqrt(x) or pow(x, exponent) elementwise (ONNX's Sqrt, Pow by a
 *   constant), or scale * hard_swish(x) + offset (x * relu6(x + 3) / 6, as
 *   paddle2onnx writes it out, with the scalar ops after it).  Config: "op"
 *   ("sqrt", "power", "hard_swish"), "exponent", "scale", "offset".
 * - ReduceMean: the mean over the last axis, kept as an axis of size 1
 *   (ONNX's ReduceMean over one axis, keepdims).  No arguments.
 * - MatMul: a (B, ..., m, k) x b (B, ..., k, n) of two computed values (the
 *   batched matmul op, ops_matmul.c), either taken transposed.  Config:
 *   "transpose_a", "transpose_b".
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

enum { BC_ADD, BC_SUB, BC_MUL, BC_DIV, BC_RSUB, BC_RDIV, BC_N, BC_LAYER_N = BC_RSUB };
static const char *const bc_names[BC_N] = {"add", "subtract", "multiply", "divide", "reverse_subtract",
                                           "reverse_divide"};

static float bc_apply(int op, float x, float y)
{
    switch (op) {
    case BC_ADD: return x + y;
    case BC_SUB: return x - y;
    case BC_MUL: return x * y;
    case BC_DIV: return x / y;
    case BC_RSUB: return y - x;
    default: return y / x;
    }
}

static dc_status bc_infer(dc_node *n)
{
    const dc_node *a = n->in[0], *b = n->in[1];
    int op = n->attr.axis.axis;
    if (op < 0 || op >= BC_N)
        return dc_fail(DC_ERR_ARG, "broadcast_binary: op %d, expected 0 to %d", op, BC_N - 1);
    int lead = a->ndim - b->ndim; /* 1: b is a weight without the batch axis */
    if (!(lead == 0 && a->batched == b->batched) && !(lead == 1 && a->batched && !b->batched))
        return dc_fail(DC_ERR_SHAPE, "broadcast_binary: operands of rank %d and %d; expected the same rank (or the "
                                     "second without the batch axis)", a->ndim, b->ndim);
    for (int i = lead; i < a->ndim; i++)
        if (b->shape[i - lead] != a->shape[i] && (b->shape[i - lead] != 1 || (i == 0 && a->batched)))
            return dc_fail(DC_ERR_SHAPE, "broadcast_binary: axis %d of the second operand is %d; expected %d or 1",
                           i - lead, b->shape[i - lead], a->shape[i]);
    n->batched = a->batched;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    return DC_OK;
}

/* The index in b of element i of a (a's strides walked with b's sizes; b's
 * axes aligned to a's last ones). */
static size_t bc_index(const dc_node *a, const dc_node *b, size_t i)
{
    size_t j = 0, bs = 1;
    int lead = a->ndim - b->ndim;
    for (int k = a->ndim - 1; k >= lead; k--) {
        size_t c = i % (size_t)a->shape[k];
        i /= (size_t)a->shape[k];
        if (b->shape[k - lead] != 1)
            j += c * bs;
        bs *= (size_t)b->shape[k - lead];
    }
    return j;
}

/* How b broadcasts over a, for the common cases walked row by row: b
 * repeats over the rows of `inner` values (b (1 or B, 1..., inner): a
 * per-channel constant, squeeze-and-excitation's scale) -> 1, with *inner
 * and *per_b (a's rows per b row: 0 when b has one row); or b holds one value
 * per row of `inner` (b (..., 1...): a mean over the last axes) -> 2; else 0. */
static int bc_kind(const dc_node *a, const dc_node *b, size_t *inner, size_t *per_b)
{
    int lead = a->ndim - b->ndim, k0 = a->ndim, k1 = a->ndim;
    while (k0 > lead && b->shape[k0 - 1 - lead] == a->shape[k0 - 1])
        k0--;
    while (k1 > lead && b->shape[k1 - 1 - lead] == 1)
        k1--;
    size_t in0 = 1, in1 = 1;
    for (int k = k0; k < a->ndim; k++)
        in0 *= (size_t)a->shape[k];
    for (int k = k1; k < a->ndim; k++)
        in1 *= (size_t)a->shape[k];
    int ones = 1; /* b is 1 on [1, k0) (and on axis 0 unless it is a's there) */
    for (int k = lead; k < k0; k++)
        ones &= b->shape[k - lead] == 1 || (k == 0 && lead == 0 && b->shape[0] == a->shape[0]);
    if (ones && k0 < a->ndim) {
        *inner = in0;
        *per_b = lead == 0 && b->shape[0] != 1 && k0 > 0 ? dc_node_numel(a) / (size_t)a->shape[0] / in0 : 0;
        return 1;
    }
    int equal = 1; /* b is a's shape on [lead, k1), 1 after */
    for (int k = lead; k < k1; k++)
        equal &= b->shape[k - lead] == a->shape[k];
    if (equal && lead == 0 && k1 < a->ndim) {
        *inner = in1;
        return 2;
    }
    return 0;
}

static dc_status bc_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *a = n->in[0], *b = n->in[1];
    int op = n->attr.axis.axis;
    size_t total = dc_node_numel(n), inner = 1, per_b = 0;
    int kind = bc_kind(a, b, &inner, &per_b);
    if (kind) {
        size_t rows = total / inner;
#pragma omp parallel for if (dc_worth_parallel(2.0 * (double)total))
        for (size_t r = 0; r < rows; r++) {
            const float *x = a->val + r * inner;
            float *y = n->val + r * inner;
            if (kind == 1) {
                const float *c = b->val + (per_b ? r / per_b * inner : 0);
                switch (op) {
                case BC_ADD: for (size_t j = 0; j < inner; j++) y[j] = x[j] + c[j]; break;
                case BC_SUB: for (size_t j = 0; j < inner; j++) y[j] = x[j] - c[j]; break;
                case BC_MUL: for (size_t j = 0; j < inner; j++) y[j] = x[j] * c[j]; break;
                default: for (size_t j = 0; j < inner; j++) y[j] = bc_apply(op, x[j], c[j]);
                }
            } else {
                float c = b->val[r];
                for (size_t j = 0; j < inner; j++)
                    y[j] = bc_apply(op, x[j], c);
            }
        }
        return DC_OK;
    }
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
    for (size_t i = 0; i < total; i++) {
        n->val[i] = bc_apply(op, a->val[i], b->val[bc_index(a, b, i)]);
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
            float x = a->val[i], y = b->val[bc_index(a, b, i)], g = n->grad[i];
            a->grad[i] += op == BC_MUL ? g * y : op == BC_DIV ? g / y : op == BC_RSUB ? -g
                          : op == BC_RDIV ? -g * y / (x * x) : g;
        }
    if (b->grad) /* many elements of a per element of b: serial sums */
        for (size_t i = 0; i < total; i++) {
            size_t j = bc_index(a, b, i);
            float x = a->val[i], y = b->val[j], g = n->grad[i];
            b->grad[j] += op == BC_ADD || op == BC_RSUB ? g : op == BC_SUB ? -g : op == BC_MUL ? g * x
                          : op == BC_RDIV ? g / x : -g * x / (y * y);
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
    for (int i = 0; i < BC_LAYER_N; i++)
        if (!strcmp(v->str, bc_names[i]))
            return dc_layer_broadcast(i);
    return dc_fail_null(DC_ERR_FORMAT, "Broadcast: op \"%s\"; expected add, subtract, multiply or divide", v->str);
}

const dc_layer_class dc_class_broadcast = {.type = "Broadcast", .snake = "broadcast", .to_config = bc_to_config,
                                           .from_config = bc_from_config, .build_merge = bc_build};

dc_layer *dc_layer_broadcast(int op)
{
    if (op < 0 || op >= BC_LAYER_N)
        return dc_fail_null(DC_ERR_ARG, "Broadcast: op %d; expected 0 (add), 1 (subtract), 2 (multiply) or 3 (divide)",
                            op);
    dc_layer *l = dc_layer_new(&dc_class_broadcast);
    if (l)
        l->cfg.merge.axis = op;
    return l;
}

/* ---- layer: ConstantOp (x op c, c a weight broadcast over x's sample) ---- */

static dc_status constop_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    char sx[96];
    int nd = l->cfg.onnx.ndim;
    if (!x->batched || x->ndim - 1 != nd)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s; the constant has %d axes besides the batch", l->name,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), nd);
    dc_node *c = dc_layer_weight(g, call, l->name, "constant", nd, l->cfg.onnx.shape, dc_init_make(DC_INIT_ZEROS), 0,
                                 1);
    if (!c)
        return dc_last_status();
    call->out = dc_broadcast_binary(g, x, c, l->cfg.onnx.op);
    if (!call->out) {
        dc_err_prefix(l->name);
        return dc_last_status();
    }
    return DC_OK;
}

static void constop_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_str(w, "op", bc_names[l->cfg.onnx.op]);
    dc_jw_ints(w, "shape", l->cfg.onnx.ndim, l->cfg.onnx.shape);
}

/* An array of 1 to DC_MAX_DIMS - 1 sizes (1 to DC_DIM_LIMIT). */
static dc_status read_shape(const dc_json *cfg, const char *who, int *nd, int *shape)
{
    const dc_json *v = dc_json_get(cfg, "shape");
    if (!v || v->type != DC_JSON_ARRAY || v->len < 1 || v->len > DC_MAX_DIMS - 1)
        return dc_fail(DC_ERR_FORMAT, "%s: key \"shape\" missing or not an array of 1 to %d sizes", who,
                       DC_MAX_DIMS - 1);
    for (size_t i = 0; i < v->len; i++) {
        if (!dc_json_is_int(&v->items[i], 1, DC_DIM_LIMIT))
            return dc_fail(DC_ERR_FORMAT, "%s: key \"shape\": entry %zu is not a size 1 to %d", who, i, DC_DIM_LIMIT);
        shape[i] = (int)v->items[i].num;
    }
    *nd = (int)v->len;
    return DC_OK;
}

static dc_layer *constop_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const dc_json *v = dc_json_get(cfg, "op");
    int nd = 0, shape[DC_MAX_DIMS] = {0};
    if (!v || v->type != DC_JSON_STRING)
        return dc_fail_null(DC_ERR_FORMAT, "ConstantOp: key \"op\" missing or not a string");
    if (read_shape(cfg, "ConstantOp", &nd, shape) != DC_OK)
        return NULL;
    for (int i = 0; i < BC_N; i++)
        if (!strcmp(v->str, bc_names[i]))
            return dc_layer_constant_op(i, nd, shape);
    return dc_fail_null(DC_ERR_FORMAT, "ConstantOp: op \"%s\"; expected add, subtract, multiply, divide, "
                                       "reverse_subtract or reverse_divide", v->str);
}

const dc_layer_class dc_class_constant_op = {.type = "ConstantOp", .snake = "constant_op", .build = constop_build,
                                             .to_config = constop_to_config, .from_config = constop_from_config};

dc_layer *dc_layer_constant_op(int op, int ndim, const int *shape)
{
    DC_CHECK_NULL_OR(shape, NULL);
    if (op < 0 || op >= BC_N || ndim < 1 || ndim > DC_MAX_DIMS - 1)
        return dc_fail_null(DC_ERR_ARG, "ConstantOp: op %d (0 to %d), %d axes (1 to %d)", op, BC_N - 1, ndim,
                            DC_MAX_DIMS - 1);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > DC_DIM_LIMIT)
            return dc_fail_null(DC_ERR_ARG, "ConstantOp: axis %d of the constant is %d (1 to %d)", i, shape[i],
                                DC_DIM_LIMIT);
    dc_layer *l = dc_layer_new(&dc_class_constant_op);
    if (l) {
        l->cfg.onnx.op = op;
        l->cfg.onnx.ndim = ndim;
        memcpy(l->cfg.onnx.shape, shape, (size_t)ndim * sizeof(int));
    }
    return l;
}

/* ---- op: sqrt(x) or x^p elementwise (attr.scale.scale: p; offset 1: sqrt) ---- */

static dc_status unary_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return DC_OK;
}

static dc_status unary_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val;
    float p = n->attr.scale.scale, *y = n->val;
    int is_sqrt = n->attr.scale.offset != 0.0f;
    size_t total = dc_node_numel(n);
    if (is_sqrt || p == 0.5f) {
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
        for (size_t i = 0; i < total; i++)
            y[i] = sqrtf(x[i]);
    } else if (p == 2.0f) {
#pragma omp parallel for if (dc_worth_parallel(2.0 * (double)total))
        for (size_t i = 0; i < total; i++)
            y[i] = x[i] * x[i];
    } else {
#pragma omp parallel for if (dc_worth_parallel(20.0 * (double)total))
        for (size_t i = 0; i < total; i++)
            y[i] = powf(x[i], p);
    }
    return DC_OK;
}

static void unary_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *y = n->val, *g = n->grad;
    float p = n->attr.scale.scale, *gx = n->in[0]->grad;
    int is_sqrt = n->attr.scale.offset != 0.0f || p == 0.5f;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(20.0 * (double)total))
    for (size_t i = 0; i < total; i++)
        gx[i] += is_sqrt ? g[i] * 0.5f / y[i] : p == 2.0f ? 2.0f * x[i] * g[i] : g[i] * p * powf(x[i], p - 1.0f);
}

const dc_op dc_op_onnx_unary = {.name = "onnx_unary", .n_inputs = 1, .infer = unary_infer,
                               .forward = unary_forward, .backward = unary_backward};

/* ---- op: y = scale * x * relu6(x + 3) / 6 + offset (attr.scale) ---- */

static dc_status hswish_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, s = n->attr.scale.scale / 6.0f, o = n->attr.scale.offset;
    float *y = n->val;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
    for (size_t i = 0; i < total; i++) {
        float r = x[i] + 3.0f;
        r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
        y[i] = s * x[i] * r + o;
    }
    return DC_OK;
}

static void hswish_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *g = n->grad, s = n->attr.scale.scale;
    float *gx = n->in[0]->grad;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
    for (size_t i = 0; i < total; i++)
        gx[i] += g[i] * s * (x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? 1.0f : (2.0f * x[i] + 3.0f) / 6.0f);
}

const dc_op dc_op_onnx_hard_swish = {.name = "onnx_hard_swish", .n_inputs = 1, .infer = unary_infer,
                                     .forward = hswish_forward, .backward = hswish_backward};

static const char *const unary_names[3] = {"sqrt", "power", "hard_swish"};

/* sqrt(x) (is_sqrt) or x^p; the graph op of the Unary layer and its gradient check */
dc_node *dc_onnx_unary(dc_graph *g, dc_node *x, float p, int is_sqrt)
{
    dc_attr at;
    memset(&at, 0, sizeof at);
    at.scale.scale = p;
    at.scale.offset = is_sqrt ? 1.0f : 0.0f;
    return dc_node_make(g, &dc_op_onnx_unary, 1, &x, &at);
}

/* scale * x * relu6(x + 3) / 6 + offset */
dc_node *dc_onnx_hard_swish(dc_graph *g, dc_node *x, float scale, float offset)
{
    dc_attr at;
    memset(&at, 0, sizeof at);
    at.scale.scale = scale;
    at.scale.offset = offset;
    return dc_node_make(g, &dc_op_onnx_hard_swish, 1, &x, &at);
}

static dc_status unary_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    int op = l->cfg.onnx.op;
    call->out = op == 2 ? dc_onnx_hard_swish(g, x, l->cfg.onnx.scale, l->cfg.onnx.offset)
                        : dc_onnx_unary(g, x, l->cfg.onnx.exponent, op == 0);
    return call->out ? DC_OK : dc_last_status();
}

static void unary_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_str(w, "op", unary_names[l->cfg.onnx.op]);
    if (l->cfg.onnx.op == 1)
        dc_jw_float(w, "exponent", l->cfg.onnx.exponent);
    if (l->cfg.onnx.op == 2) {
        dc_jw_float(w, "scale", l->cfg.onnx.scale);
        dc_jw_float(w, "offset", l->cfg.onnx.offset);
    }
}

static dc_layer *unary_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    const dc_json *v = dc_json_get(cfg, "op");
    float p = 1.0f, scale = 1.0f, offset = 0.0f;
    int op = -1;
    for (int i = 0; v && v->type == DC_JSON_STRING && i < 3; i++)
        op = !strcmp(v->str, unary_names[i]) ? i : op;
    if (op < 0)
        return dc_fail_null(DC_ERR_FORMAT, "Unary: key \"op\" missing or not \"sqrt\", \"power\" or \"hard_swish\"");
    if (dc_cfg_float(cfg, "exponent", &p) != DC_OK || dc_cfg_float(cfg, "scale", &scale) != DC_OK ||
        dc_cfg_float(cfg, "offset", &offset) != DC_OK)
        return NULL;
    return op == 2 ? dc_layer_hard_swish(scale, offset) : op == 0 ? dc_layer_unary(0, 0.5f) : dc_layer_unary(1, p);
}

const dc_layer_class dc_class_unary = {.type = "Unary", .snake = "unary", .build = unary_build,
                                       .to_config = unary_to_config, .from_config = unary_from_config};

dc_layer *dc_layer_hard_swish(float scale, float offset)
{
    if (!isfinite(scale) || !isfinite(offset))
        return dc_fail_null(DC_ERR_ARG, "Unary hard_swish: scale %g, offset %g (finite)", (double)scale,
                            (double)offset);
    dc_layer *l = dc_layer_new(&dc_class_unary);
    if (l) {
        l->cfg.onnx.op = 2;
        l->cfg.onnx.scale = scale;
        l->cfg.onnx.offset = offset;
    }
    return l;
}

dc_layer *dc_layer_unary(int op, float exponent)
{
    if ((op != 0 && op != 1) || !isfinite(exponent))
        return dc_fail_null(DC_ERR_ARG, "Unary: op %d (0 sqrt, 1 power), exponent %g (finite)", op, (double)exponent);
    dc_layer *l = dc_layer_new(&dc_class_unary);
    if (l) {
        l->cfg.onnx.op = op;
        l->cfg.onnx.exponent = op == 0 ? 0.5f : exponent;
    }
    return l;
}

/* ---- op: the mean over the last axis, kept as size 1 ---- */

static dc_status rmean_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    if (x->ndim < 1 + x->batched)
        return dc_fail(DC_ERR_SHAPE, "reduce_mean_last: the input needs an axis after the batch");
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    n->shape[n->ndim - 1] = 1;
    return DC_OK;
}

static dc_status rmean_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    size_t rows = dc_node_numel(n);
    int c = x->shape[x->ndim - 1];
#pragma omp parallel for if (dc_worth_parallel((double)rows * c))
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->val + r * (size_t)c;
        float s = 0;
        for (int j = 0; j < c; j++)
            s += xr[j];
        n->val[r] = s / (float)c;
    }
    return DC_OK;
}

static void rmean_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    size_t rows = dc_node_numel(n);
    int c = x->shape[x->ndim - 1];
    float *gx = n->in[0]->grad;
#pragma omp parallel for if (dc_worth_parallel((double)rows * c))
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++)
            gx[r * (size_t)c + (size_t)j] += n->grad[r] / (float)c;
}

const dc_op dc_op_reduce_mean_last = {.name = "reduce_mean_last", .n_inputs = 1, .infer = rmean_infer,
                               .forward = rmean_forward, .backward = rmean_backward};

/* the mean over the last axis, kept as size 1 */
dc_node *dc_reduce_mean_last(dc_graph *g, dc_node *x) { return dc_node_make(g, &dc_op_reduce_mean_last, 1, &x, NULL); }

static dc_status rmean_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    (void)l;
    call->out = dc_reduce_mean_last(g, x);
    return call->out ? DC_OK : dc_last_status();
}

static dc_layer *rmean_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    (void)cfg;
    return dc_layer_reduce_mean();
}

const dc_layer_class dc_class_reduce_mean = {.type = "ReduceMean", .snake = "reduce_mean", .build = rmean_build,
                                             .to_config = dc_no_config, .from_config = rmean_from_config};

dc_layer *dc_layer_reduce_mean(void) { return dc_layer_new(&dc_class_reduce_mean); }

/* ---- layer: MatMul of two computed values ---- */

static dc_status matmul_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    if (n != 2)
        return dc_fail(DC_ERR_ARG, "MatMul '%s': %d inputs; expected 2", l->name, n);
    call->out = dc_batched_matmul(g, xs[0], xs[1], l->cfg.dot.axes[0], l->cfg.dot.axes[1]);
    if (!call->out) {
        dc_err_prefix(l->name);
        return dc_last_status();
    }
    return DC_OK;
}

static void matmul_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_bool(w, "transpose_a", l->cfg.dot.axes[0]);
    dc_jw_bool(w, "transpose_b", l->cfg.dot.axes[1]);
}

static dc_layer *matmul_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int ta = 0, tb = 0;
    if (dc_cfg_bool(cfg, "transpose_a", &ta) != DC_OK || dc_cfg_bool(cfg, "transpose_b", &tb) != DC_OK)
        return NULL;
    return dc_layer_matmul(ta, tb);
}

const dc_layer_class dc_class_matmul = {.type = "MatMul", .snake = "mat_mul", .to_config = matmul_to_config,
                                        .from_config = matmul_from_config, .build_merge = matmul_build};

dc_layer *dc_layer_matmul(int transpose_a, int transpose_b)
{
    dc_layer *l = dc_layer_new(&dc_class_matmul);
    if (l) {
        l->cfg.dot.axes[0] = transpose_a != 0;
        l->cfg.dot.axes[1] = transpose_b != 0;
    }
    return l;
}

/* ---- their ONNX form (the table in export_ops.c) ---- */

dc_status dc_ox_export_unary(dc_ox *w, const dc_node *n, const char **out)
{
    const char *x = dc_ox_in(w, n, 0);
    if (n->attr.scale.offset != 0.0f)
        *out = dc_ox_op1(w, "Sqrt", x);
    else
        *out = dc_ox_op2(w, "Pow", x, dc_ox_scalar(w, n->attr.scale.scale));
    return DC_OK;
}

dc_status dc_ox_export_hard_swish(dc_ox *w, const dc_node *n, const char **out)
{
    const char *x = dc_ox_in(w, n, 0);
    const char *hs = dc_ox_op1(w, "HardSigmoid", x); /* relu6(x + 3) / 6 */
    dc_ox_attr_float(w, "alpha", 1.0f / 6.0f);
    dc_ox_attr_float(w, "beta", 0.5f);
    const char *y = dc_ox_op2(w, "Mul", x, hs);
    if (n->attr.scale.scale != 1.0f)
        y = dc_ox_op2(w, "Mul", y, dc_ox_scalar(w, n->attr.scale.scale));
    if (n->attr.scale.offset != 0.0f)
        y = dc_ox_op2(w, "Add", y, dc_ox_scalar(w, n->attr.scale.offset));
    *out = y;
    return DC_OK;
}

dc_status dc_ox_export_reduce_mean(dc_ox *w, const dc_node *n, const char **out)
{
    *out = dc_ox_op1(w, "ReduceMean", dc_ox_in(w, n, 0)); /* opset 13-17: axes an attribute */
    dc_ox_attr_ints(w, "axes", 1, (int64_t[]){-1});
    dc_ox_attr_int(w, "keepdims", 1);
    return DC_OK;
}
