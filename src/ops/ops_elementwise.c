/*
 * ops_elementwise.c - add, sub, mul, scale and the activations.
 *
 * Activations are one op ("activation", attr.act: the function and its alpha
 * where it has one); softmax is taken over the last axis.  An activation may
 * write its input's gradient (backward zeroes nothing for it: grad_set).
 */
#include "graph/graph.h"
#include "ops/gelu.h"

#include <math.h>
#include <string.h>

/* Parallelise elementwise loops only where the work outweighs the fork. */
#define DC_PAR_MIN 65536

/* ---- add / sub / mul ---- */

static int is_suffix_shape(const dc_node *a, const dc_node *b)
{
    if (b->ndim > a->ndim)
        return 0;
    for (int i = 0; i < b->ndim; i++)
        if (b->shape[b->ndim - 1 - i] != a->shape[a->ndim - 1 - i])
            return 0;
    return 1;
}

dc_status dc_binary_infer(dc_node *n)
{
    dc_node *a = n->in[0], *b = n->in[1];
    char sa[96], sb[96];
    int same = a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(int)) == 0;
    /* add also broadcasts b over a's leading axes (a bias). */
    int bcast = n->op == &dc_op_add && !b->batched && is_suffix_shape(a, b);
    if (!same && !bcast)
        return dc_fail(DC_ERR_SHAPE, "%s: shapes %s and %s do not match", n->op->name,
                       dc_shape_str(a->ndim, a->shape, sa, sizeof sa), dc_shape_str(b->ndim, b->shape, sb, sizeof sb));
    n->batched = a->batched;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    return DC_OK;
}

static dc_status add_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n), nb = dc_node_numel(n->in[1]);
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    float *y = n->val;
    if (nb == total) { /* same shapes (a residual connection): no index arithmetic, vectorised */
#pragma omp parallel for simd if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            y[i] = a[i] + b[i];
        return DC_OK;
    }
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t r = 0; r < total / nb; r++) /* b broadcast over a's leading axes */
        for (size_t j = 0; j < nb; j++)
            y[r * nb + j] = a[r * nb + j] + b[j];
    return DC_OK;
}

static void add_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n), nb = dc_node_numel(n->in[1]);
    const float *gy = n->grad;
    if (n->in[0]->requires_grad && n->in[0]->grad_set) { /* its one writer: nothing zeroed it */
        float *ga = n->in[0]->grad;
#pragma omp parallel for simd if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            ga[i] = gy[i];
    } else if (n->in[0]->requires_grad) {
        float *ga = n->in[0]->grad;
#pragma omp parallel for if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            ga[i] += gy[i];
    }
    if (n->in[1]->requires_grad && nb == total && n->in[1]->grad_set) {
        float *gb = n->in[1]->grad;
#pragma omp parallel for simd if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            gb[i] = gy[i];
    } else if (n->in[1]->requires_grad && nb == total) {
        float *gb = n->in[1]->grad;
#pragma omp parallel for if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++)
            gb[i] += gy[i];
    } else if (n->in[1]->requires_grad) { /* a broadcast bias: a sum over the rows, kept serial */
        float *gb = n->in[1]->grad;
        for (size_t i = 0; i < total; i++)
            gb[i % nb] += gy[i];
    }
}

static dc_status sub_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    float *y = n->val;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++)
        y[i] = a[i] - b[i];
    return DC_OK;
}

/* The input gradients of sub (sign -1 for b) and mul (times the other
 * input): elementwise, so the threads' slices are disjoint and the results
 * do not depend on the thread count. */
static void sub_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *gy = n->grad;
    float *ga = n->in[0]->requires_grad ? n->in[0]->grad : NULL, *gb = n->in[1]->requires_grad ? n->in[1]->grad : NULL;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++) {
        if (ga)
            ga[i] += gy[i];
        if (gb)
            gb[i] -= gy[i];
    }
}

static dc_status mul_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    float *y = n->val;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++)
        y[i] = a[i] * b[i];
    return DC_OK;
}

static void mul_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *a = n->in[0]->val, *b = n->in[1]->val, *gy = n->grad;
    float *ga = n->in[0]->requires_grad ? n->in[0]->grad : NULL, *gb = n->in[1]->requires_grad ? n->in[1]->grad : NULL;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++) {
        if (ga)
            ga[i] += gy[i] * b[i];
        if (gb)
            gb[i] += gy[i] * a[i];
    }
}

/* add writes each input's whole gradient (= gy with grad_set), unless both
 * inputs are one node (x + x: the second term adds to it) or the second is
 * broadcast (a bias: a sum over the rows). */
static int add_writes_input_grad(const dc_node *n, int input)
{
    return n->in[0] != n->in[1] && (input == 0 || dc_node_numel(n->in[1]) == dc_node_numel(n));
}

const dc_op dc_op_add = {.name = "add", .n_inputs = 2, .infer = dc_binary_infer, .forward = add_forward,
                         .backward = add_backward, .writes_input_grad = add_writes_input_grad};
const dc_op dc_op_sub = {.name = "sub", .n_inputs = 2, .infer = dc_binary_infer, .forward = sub_forward,
                         .backward = sub_backward};
const dc_op dc_op_mul = {.name = "mul", .n_inputs = 2, .infer = dc_binary_infer, .forward = mul_forward,
                         .backward = mul_backward};

static dc_node *binary(dc_graph *g, const dc_op *op, dc_node *a, dc_node *b)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, op, 2, in, NULL);
}

dc_node *dc_add(dc_graph *g, dc_node *a, dc_node *b) { return binary(g, &dc_op_add, a, b); }
dc_node *dc_sub(dc_graph *g, dc_node *a, dc_node *b) { return binary(g, &dc_op_sub, a, b); }
dc_node *dc_mul(dc_graph *g, dc_node *a, dc_node *b) { return binary(g, &dc_op_mul, a, b); }

/* ---- scale: y = s x + o (o 0 unless Rescaling's offset) ---- */

static dc_status same_shape_infer(dc_node *n)
{
    n->batched = n->in[0]->batched;
    n->ndim = n->in[0]->ndim;
    memcpy(n->shape, n->in[0]->shape, sizeof n->shape);
    return DC_OK;
}

static dc_status scale_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *x = n->in[0]->val, s = n->attr.scale.scale, o = n->attr.scale.offset;
    float *y = n->val;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++)
        y[i] = s * x[i] + o;
    return DC_OK;
}

static void scale_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    size_t total = dc_node_numel(n);
    const float *gy = n->grad, s = n->attr.scale.scale;
    float *gx = n->in[0]->grad;
#pragma omp parallel for if (total > DC_PAR_MIN)
    for (size_t i = 0; i < total; i++)
        gx[i] += s * gy[i];
}

const dc_op dc_op_scale = {.name = "scale", .n_inputs = 1, .infer = same_shape_infer, .forward = scale_forward,
                           .backward = scale_backward};

dc_node *dc_scale(dc_graph *g, dc_node *a, float s)
{
    return dc_node_make(g, &dc_op_scale, 1, &a, &(dc_attr){.scale = {s, 0.0f}});
}

dc_node *dc_scale_offset(dc_graph *g, dc_node *x, float scale, float offset)
{
    return dc_node_make(g, &dc_op_scale, 1, &x, &(dc_attr){.scale = {scale, offset}});
}

/* ---- activations ---- */

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static float sigmoidf(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

static float act_value(dc_act a, float x, float alpha)
{
    switch (a) {
    case DC_ACT_SIGMOID: return sigmoidf(x);
    case DC_ACT_TANH: return tanhf(x);
    case DC_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case DC_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case DC_ACT_ELU: return x > 0 ? x : alpha * expm1f(x);
    case DC_ACT_SELU: return x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * expm1f(x);
    case DC_ACT_GELU: return gelu_value(x);
    case DC_ACT_SOFTPLUS: return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x)));
    case DC_ACT_SWISH: return x * sigmoidf(x);
    default: return x;
    }
}

/* dy/dx given x and y = f(x). */
static float act_deriv(dc_act a, float x, float y, float alpha)
{
    switch (a) {
    case DC_ACT_SIGMOID: return y * (1.0f - y);
    case DC_ACT_TANH: return 1.0f - y * y;
    case DC_ACT_RELU: return x > 0 ? 1.0f : 0.0f;
    case DC_ACT_LEAKY_RELU: return x > 0 ? 1.0f : alpha;
    case DC_ACT_ELU: return x > 0 ? 1.0f : y + alpha;
    case DC_ACT_SELU: return x > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * expf(x);
    case DC_ACT_GELU: return gelu_deriv(x);
    case DC_ACT_SOFTPLUS: return sigmoidf(x);
    case DC_ACT_SWISH: {
        float s = sigmoidf(x);
        return s * (1.0f + x * (1.0f - s));
    }
    default: return 1.0f;
    }
}

static void softmax_rows(const float *x, float *y, size_t rows, int cols)
{
#pragma omp parallel for if (rows * (size_t)cols > DC_PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)cols;
        float *yr = y + r * (size_t)cols;
        float mx = xr[0], sum = 0.0f;
        for (int j = 1; j < cols; j++)
            mx = xr[j] > mx ? xr[j] : mx;
        for (int j = 0; j < cols; j++)
            sum += (yr[j] = expf(xr[j] - mx));
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++)
            yr[j] *= inv;
    }
}

/* GELU's scratch: its derivative at every element, written by a training
 * forward, and after it three flags: [0] 1: the derivative is the current
 * forward's, 0: a forward not training left it stale; [1] 1: a dense's
 * epilogue computed this forward's values (and the derivative); [2] 1: a
 * dense's epilogue wrote this backward's gradient of the input. */
static size_t gelu_flag_index(const dc_node *n) { return dc_node_numel(n); }
enum { GELU_FLAGS = 3 };

float *dc_gelu_deriv(const dc_node *act) { return act->work; }

int dc_gelu_deriv_valid(const dc_node *act) { return act->work && act->work[gelu_flag_index(act)] == 1.0f; }

void dc_gelu_set_done(dc_node *act, int backward)
{
    if (!backward)
        act->work[gelu_flag_index(act)] = 1.0f;
    act->work[gelu_flag_index(act) + (backward ? 2 : 1)] = 1.0f;
}

/* Whether a dense's epilogue did this pass for act (then clears the mark). */
static int gelu_take_done(dc_node *act, int backward)
{
    float *f = act->work ? act->work + gelu_flag_index(act) + (backward ? 2 : 1) : NULL;
    if (!f || *f != 1.0f)
        return 0;
    *f = 0.0f;
    return 1;
}

static dc_status act_infer(dc_node *n)
{
    if (n->attr.act.fn < 0 || n->attr.act.fn >= DC_ACT_COUNT)
        return dc_fail(DC_ERR_ARG, "activation: unknown activation %d", n->attr.act.fn);
    dc_status st = same_shape_infer(n);
    if (st != DC_OK || n->attr.act.fn != DC_ACT_GELU)
        return st;
    if (n->batched) {
        n->work_per_sample = dc_node_sample_size(n);
        n->work_fixed = GELU_FLAGS;
    } else {
        n->work_fixed = dc_size_add(dc_node_numel(n), GELU_FLAGS);
    }
    return DC_OK;
}

static void act_forward_range(dc_act a, const float *restrict x, float *restrict y, size_t n, float alpha)
{
    if (a == DC_ACT_RELU) {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN propagates */
    } else if (a == DC_ACT_GELU) { /* gelu.h: vectorised, unlike erff */
        gelu_forward_n(x, y, n);
    } else {
        for (size_t i = 0; i < n; i++)
            y[i] = act_value(a, x[i], alpha);
    }
}

/* gx += gy * f'(x), or gx = when `set` (the input's grad_set: this is its
 * only writer, and nothing zeroed it). */
static void act_backward_range(dc_act a, const float *restrict x, const float *restrict y, const float *restrict gy,
                               float *restrict gx, size_t n, float alpha, int set)
{
    if (a == DC_ACT_RELU && set) {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            gx[i] = x[i] > 0 ? gy[i] : 0.0f;
    } else if (a == DC_ACT_RELU) {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            gx[i] += x[i] > 0 ? gy[i] : 0.0f;
    } else if (a == DC_ACT_GELU) {
        gelu_backward_n(x, gy, gx, n, set);
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = gy[i] * act_deriv(a, x[i], y[i], alpha);
            gx[i] = set ? v : gx[i] + v;
        }
    }
}

/* Cost of one element, in flop-equivalents, for the parallel threshold. */
static double act_cost(dc_act a) { return a == DC_ACT_RELU ? 1.0 : 20.0; }

static dc_status act_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_act a = (dc_act)n->attr.act.fn;
    const float *x = n->in[0]->val;
    float *y = n->val, alpha = n->attr.act.alpha;
    size_t total = dc_node_numel(n);
    if (a == DC_ACT_GELU && gelu_take_done(n, 0)) /* the dense before it applied it */
        return DC_OK;
    if (a == DC_ACT_GELU && n->work) { /* training: the derivative too, for the backward */
        int keep = run && run->training;
        float *d = n->work;
#pragma omp parallel if (dc_worth_parallel(act_cost(a) * (double)total))
        {
            size_t lo, hi;
            dc_thread_range(total, 16, &lo, &hi);
            if (keep)
                gelu_forward_deriv_n(x + lo, y + lo, d + lo, hi - lo);
            else
                gelu_forward_n(x + lo, y + lo, hi - lo);
        }
        n->work[gelu_flag_index(n)] = keep ? 1.0f : 0.0f;
    } else if (a == DC_ACT_SOFTMAX) {
        softmax_rows(x, y, dc_node_rows(n), dc_node_cols(n));
    } else if (dc_worth_parallel(act_cost(a) * (double)total)) {
#pragma omp parallel
        {
            size_t lo, hi;
            dc_thread_range(total, 16, &lo, &hi);
            act_forward_range(a, x + lo, y + lo, hi - lo, alpha);
        }
    } else {
        act_forward_range(a, x, y, total, alpha);
    }
    return DC_OK;
}

static void act_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_act a = (dc_act)n->attr.act.fn;
    const float *x = n->in[0]->val, *y = n->val, *gy = n->grad;
    float *gx = n->in[0]->grad, alpha = n->attr.act.alpha;
    size_t total = dc_node_numel(n);
    int set = n->in[0]->grad_set;
    if (a == DC_ACT_GELU && gelu_take_done(n, 1)) /* the dense reading it wrote gx already */
        return;
    if (a == DC_ACT_GELU && n->work && n->work[gelu_flag_index(n)] == 1.0f) { /* the forward's derivative */
        const float *d = n->work;
#pragma omp parallel for simd if (total > DC_PAR_MIN)
        for (size_t i = 0; i < total; i++) {
            float v = gy[i] * d[i];
            gx[i] = set ? v : gx[i] + v;
        }
    } else if (a == DC_ACT_SOFTMAX) {
        size_t rows = dc_node_rows(n);
        int cols = dc_node_cols(n);
        for (size_t r = 0; r < rows; r++) {
            const float *yr = y + r * (size_t)cols, *gr = gy + r * (size_t)cols;
            float *gxr = gx + r * (size_t)cols;
            float dot = 0.0f;
            for (int j = 0; j < cols; j++)
                dot += yr[j] * gr[j];
            for (int j = 0; j < cols; j++)
                gxr[j] = (set ? 0.0f : gxr[j]) + yr[j] * (gr[j] - dot);
        }
    } else if (dc_worth_parallel(act_cost(a) * (double)total)) {
#pragma omp parallel
        {
            size_t lo, hi;
            dc_thread_range(total, 16, &lo, &hi);
            act_backward_range(a, x + lo, y + lo, gy + lo, gx + lo, hi - lo, alpha, set);
        }
    } else {
        act_backward_range(a, x, y, gy, gx, total, alpha, set);
    }
}

/* Every activation's backward can write its input's gradient. */
static int act_writes_input_grad(const dc_node *n, int input)
{
    (void)n;
    return input == 0;
}

const dc_op dc_op_act = {.name = "activation", .n_inputs = 1, .infer = act_infer, .forward = act_forward,
                         .backward = act_backward, .writes_input_grad = act_writes_input_grad};

/* Keras 3 defaults: leaky_relu negative_slope 0.2 (the activation function;
 * the LeakyReLU layer uses 0.3), elu alpha 1. */
dc_node *dc_activation(dc_graph *g, dc_node *x, dc_act act)
{
    return dc_activation_alpha(g, x, act, act == DC_ACT_LEAKY_RELU ? 0.2f : 1.0f);
}

dc_node *dc_activation_alpha(dc_graph *g, dc_node *x, dc_act act, float alpha)
{
    return dc_node_make(g, &dc_op_act, 1, &x, &(dc_attr){.act = {(int)act, alpha}});
}

static const char *const act_names[DC_ACT_COUNT] = {
    "linear", "sigmoid", "tanh", "relu", "softmax", "leaky_relu", "elu", "selu", "gelu", "softplus", "swish",
};

const char *dc_act_name(dc_act a) { return (unsigned)a < DC_ACT_COUNT ? act_names[a] : "unknown"; }

dc_status dc_act_parse(const char *name, dc_act *out)
{
    DC_CHECK_NULL(out);
    if (!name || !*name) {
        *out = DC_ACT_LINEAR;
        return DC_OK;
    }
    for (int i = 0; i < DC_ACT_COUNT; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *out = (dc_act)i;
            return DC_OK;
        }
    if (strcmp(name, "silu") == 0) {
        *out = DC_ACT_SWISH;
        return DC_OK;
    }
    return dc_fail(DC_ERR_ARG, "unknown activation \"%s\"; expected one of linear, sigmoid, tanh, relu, softmax, "
                               "leaky_relu, elu, selu, gelu, softplus, swish/silu", name);
}
