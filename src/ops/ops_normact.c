/*
 * ops_normact.c - the ops behind LayerNormalization, PReLU, ReLU's clipped
 * and thresholded form, Normalization and the Gaussian noise layers.
 *
 * layernorm: x (..., C), gamma (C), beta (C) -> (..., C); each row (the last
 * axis) is normalised by its own mean and biased variance:
 *     y = (x - mean) / sqrt(var + eps) * gamma + beta     (attr.layernorm)
 * Forward is one pass over the rows (threaded, vectorised; float sums of a
 * row, the variance from centred values), keeping each row's mean and
 * 1/sqrt(var + eps) in the node's scratch; backward is one threaded pass
 * over chunks of rows, each chunk's dx and its float column sums for
 * dgamma, dbeta (added across chunks in double, in order):
 *     dx = inv * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma.
 *
 * prelu: x (B, d1..dk), alpha (d1..dk with 1 on shared axes):
 *     y = x (x > 0), alpha * x otherwise  (Keras: relu(x) - alpha relu(-x)).
 *
 * relu_ex: Keras' relu(x, negative_slope, max_value, threshold):
 *     y = min(x, max_value) for x > threshold, negative_slope * (x - threshold)
 *     otherwise (attr.relu_ex; max_value +inf: none).
 *
 * normalize: x (..., C), mean (C), variance (C) -> (x - mean) / d, or with
 * attr.normalize.invert mean + x * d, where d = max(sqrt(variance), 1e-7) (Keras'
 * backend.epsilon()).  The statistics are constants: no gradient to them.
 *
 * gaussian_noise: training only, identity otherwise (attr.noise).  Additive:
 * x + n, n ~ N(0, stddev) (GaussianNoise); multiplicative: x * n, n ~ N(1, stddev)
 * (GaussianDropout, stddev sqrt(rate / (1 - rate))).  The noise comes from
 * the run's RNG (two draws per value); without one (the graph API) it is a
 * fixed function of the position, as dropout's mask is.
 *
 * spatial_dropout: x (B, ..., C); training drops whole channels of each
 * sample (Keras' noise_shape (B, 1, ..., C)): keeps channel c of sample b
 * with probability 1 - rate, scaled by 1 / (1 - rate), at every position.
 * One draw per (sample, channel) from the run's RNG.  attr.dropout.rate.
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

static void copy_shape(dc_node *n, const dc_node *x)
{
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
}

/* Checks that the vectors in[first..last] have the input's C values. */
static dc_status check_vectors(dc_node *n, int first, int last, const char *what)
{
    const dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s needs a batch and a feature axis", what,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    int c = dc_node_cols(x);
    for (int i = first; i <= last; i++)
        if (n->in[i]->ndim != 1 || n->in[i]->shape[0] != c)
            return dc_fail(DC_ERR_SHAPE, "%s: weight %d has shape %s, the input has %d features", what, i,
                           dc_shape_str(n->in[i]->ndim, n->in[i]->shape, sx, sizeof sx), c);
    copy_shape(n, x);
    return DC_OK;
}

void dc_column_moments(const float *x, size_t rows, int cols, int j, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t r = 0; r < rows; r++)
        s += x[r * (size_t)cols + j];
    double mu = s / (double)rows;
    for (size_t r = 0; r < rows; r++) {
        double d = x[r * (size_t)cols + j] - mu;
        s2 += d * d;
    }
    *mean = mu;
    *var = s2 / (double)rows;
}

/* ---- layernorm ---- */

/* The backward's rows per chunk of dgamma, dbeta's partial sums: float sums
 * over a chunk's rows as its dx are computed, then the chunks added in
 * double, in order (the same for every thread count). */
enum { LN_CHUNK = 64 };

static dc_status ln_infer(dc_node *n)
{
    dc_status st = check_vectors(n, 1, 2, "layer_normalization");
    if (st != DC_OK)
        return st;
    if (!(n->attr.layernorm.epsilon > 0.0f))
        return dc_fail(DC_ERR_ARG, "layer_normalization: epsilon %g, expected > 0", (double)n->attr.layernorm.epsilon);
    /* mean and 1/sqrt(var + eps) of every row, then the backward's column
     * sums of each chunk of LN_CHUNK rows (two rows of c floats a chunk) */
    size_t c = (size_t)dc_node_cols(n->in[0]), rps = dc_node_sample_size(n->in[0]) / c;
    n->work_per_sample = dc_size_add(2 * rps, dc_size_mul(2 * c, (rps + LN_CHUNK - 1) / LN_CHUNK));
    return DC_OK;
}

static dc_status ln_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    const float *gamma = n->in[1]->val, *beta = n->in[2]->val;
    size_t rows = dc_node_rows(x);
    int c = dc_node_cols(x);
    float eps = n->attr.layernorm.epsilon, *mean = n->work, *inv = n->work + rows;
#pragma omp parallel for if (dc_worth_parallel(8.0 * (double)rows * c))
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->val + r * (size_t)c;
        float *yr = n->val + r * (size_t)c;
        float s = 0, s2 = 0; /* two passes (mean, then centred squares): no cancellation */
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < c; j++)
            s += xr[j];
        float m = s / (float)c;
#pragma omp simd reduction(+ : s2)
        for (int j = 0; j < c; j++)
            s2 += (xr[j] - m) * (xr[j] - m);
        float iv = 1.0f / sqrtf(s2 / (float)c + eps);
        mean[r] = m;
        inv[r] = iv;
#pragma omp simd
        for (int j = 0; j < c; j++)
            yr[j] = (xr[j] - m) * iv * gamma[j] + beta[j];
    }
    return DC_OK;
}

static void ln_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    size_t rows = dc_node_rows(x), chunks = (rows + LN_CHUNK - 1) / LN_CHUNK;
    int c = dc_node_cols(x), cols_wanted = gamma->requires_grad || beta->requires_grad;
    const float *mean = n->work, *inv = n->work + rows, *gy = n->grad, *gm = gamma->val;
    float *part = n->work + 2 * rows; /* chunk k: sum gy (c floats), then sum gy xhat */
    if (!x->requires_grad && !cols_wanted)
        return;
#pragma omp parallel for if (dc_worth_parallel(10.0 * (double)rows * c))
    for (size_t k = 0; k < chunks; k++) {
        float *psg = part + k * 2 * (size_t)c, *psgx = psg + c;
        size_t r1 = (k + 1) * LN_CHUNK < rows ? (k + 1) * LN_CHUNK : rows;
        if (cols_wanted) {
            memset(psg, 0, 2 * (size_t)c * sizeof *psg);
            for (size_t r = k * LN_CHUNK; r < r1; r++) {
                const float *xr = x->val + r * (size_t)c, *gr = gy + r * (size_t)c;
                float m = mean[r], iv = inv[r];
#pragma omp simd
                for (int j = 0; j < c; j++) {
                    psg[j] += gr[j];
                    psgx[j] += gr[j] * (xr[j] - m) * iv;
                }
            }
        }
        for (size_t r = k * LN_CHUNK; x->requires_grad && r < r1; r++) {
            const float *xr = x->val + r * (size_t)c, *gr = gy + r * (size_t)c;
            float *gxr = x->grad + r * (size_t)c;
            float m = mean[r], iv = inv[r], sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
            for (int j = 0; j < c; j++) {
                float g = gr[j] * gm[j];
                sg += g;
                sgx += g * (xr[j] - m) * iv;
            }
            float mg = sg / (float)c, mgx = sgx / (float)c;
            if (x->grad_set) { /* this is its one writer: nothing zeroed it */
#pragma omp simd
                for (int j = 0; j < c; j++)
                    gxr[j] = iv * (gr[j] * gm[j] - mg - (xr[j] - m) * iv * mgx);
            } else {
#pragma omp simd
                for (int j = 0; j < c; j++)
                    gxr[j] += iv * (gr[j] * gm[j] - mg - (xr[j] - m) * iv * mgx);
            }
        }
    }
    /* dgamma, dbeta: the chunks' sums in double, in chunk order */
    for (int j = 0; cols_wanted && j < c; j++) {
        double sg = 0, sgx = 0;
        for (size_t k = 0; k < chunks; k++) {
            sg += part[k * 2 * (size_t)c + j];
            sgx += part[k * 2 * (size_t)c + c + j];
        }
        if (gamma->requires_grad)
            gamma->grad[j] += (float)sgx;
        if (beta->requires_grad)
            beta->grad[j] += (float)sg;
    }
}

/* Layer normalization writes its input's whole gradient (x->grad_set). */
static int ln_writes_input_grad(const dc_node *n, int input)
{
    (void)n;
    return input == 0;
}

const dc_op dc_op_layernorm = {.name = "layer_normalization", .n_inputs = 3, .infer = ln_infer,
                               .forward = ln_forward, .backward = ln_backward,
                               .writes_input_grad = ln_writes_input_grad};

dc_node *dc_layernorm(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, float epsilon)
{
    dc_node *in[3] = {x, gamma, beta};
    return dc_node_make(g, &dc_op_layernorm, 3, in, &(dc_attr){.layernorm = {epsilon}});
}

/* ---- prelu ---- */

/* Sets attr.prelu: alpha's stride for each per-sample axis, and whether it
 * covers the whole sample. */
static dc_status prelu_infer(dc_node *n)
{
    const dc_node *x = n->in[0], *a = n->in[1];
    char sx[96], sa[96];
    int ok = a->ndim == x->ndim - 1 && x->ndim >= 2;
    for (int i = 0; ok && i < a->ndim; i++)
        ok = a->shape[i] == 1 || a->shape[i] == x->shape[i + 1];
    if (!ok)
        return dc_fail(DC_ERR_SHAPE, "prelu: alpha of shape %s does not fit input %s (expected the input's shape "
                                     "without the batch axis, 1 on shared axes)",
                       dc_shape_str(a->ndim, a->shape, sa, sizeof sa), dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    int stride = 1;
    for (int i = a->ndim - 1; i >= 0; i--) {
        n->attr.prelu.stride[i] = a->shape[i] == 1 ? 0 : stride;
        stride *= a->shape[i];
    }
    n->attr.prelu.whole_sample = (size_t)stride == dc_node_numel(x) / (size_t)x->shape[0];
    copy_shape(n, x);
    return DC_OK;
}

/* alpha's index for element i of a sample */
static size_t prelu_index(const dc_node *n, size_t i)
{
    const dc_node *x = n->in[0];
    if (n->attr.prelu.whole_sample)
        return i;
    size_t idx = 0;
    for (int d = x->ndim - 1; d >= 1; d--) {
        size_t dim = (size_t)x->shape[d];
        idx += (i % dim) * (size_t)n->attr.prelu.stride[d - 1];
        i /= dim;
    }
    return idx;
}

static dc_status prelu_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *a = n->in[1]->val;
    size_t total = dc_node_numel(n), per = total / (size_t)n->shape[0];
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
    for (size_t i = 0; i < total; i++)
        n->val[i] = x[i] > 0.0f ? x[i] : a[prelu_index(n, i % per)] * x[i];
    return DC_OK;
}

static void prelu_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *xn = n->in[0], *an = n->in[1];
    const float *x = xn->val, *a = an->val, *gy = n->grad;
    size_t total = dc_node_numel(n), per = total / (size_t)n->shape[0];
    if (xn->requires_grad) {
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)total))
        for (size_t i = 0; i < total; i++)
            xn->grad[i] += x[i] > 0.0f ? gy[i] : a[prelu_index(n, i % per)] * gy[i];
    }
    if (an->requires_grad) /* alpha's entries are shared across samples: one pass, in order */
        for (size_t i = 0; i < total; i++)
            if (x[i] < 0.0f)
                an->grad[prelu_index(n, i % per)] += gy[i] * x[i];
}

const dc_op dc_op_prelu = {.name = "prelu", .n_inputs = 2, .infer = prelu_infer, .forward = prelu_forward,
                           .backward = prelu_backward};

dc_node *dc_prelu(dc_graph *g, dc_node *x, dc_node *alpha)
{
    dc_node *in[2] = {x, alpha};
    return dc_node_make(g, &dc_op_prelu, 2, in, NULL);
}

/* ---- relu_ex ---- */

static dc_status relu_ex_infer(dc_node *n)
{
    const dc_relu_ex_attr *a = &n->attr.relu_ex;
    if (!(a->max_value >= 0.0f) || !(a->slope >= 0.0f) || !(a->threshold >= 0.0f))
        return dc_fail(DC_ERR_ARG, "relu: max_value %g, negative_slope %g, threshold %g; each must be >= 0",
                       (double)a->max_value, (double)a->slope, (double)a->threshold);
    copy_shape(n, n->in[0]);
    return DC_OK;
}

static dc_status relu_ex_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val;
    const dc_relu_ex_attr *a = &n->attr.relu_ex;
    float mx = a->max_value, slope = a->slope, th = a->threshold;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(2.0 * (double)total))
    for (size_t i = 0; i < total; i++)
        n->val[i] = x[i] > th ? (x[i] < mx ? x[i] : mx) : slope * (x[i] - th);
    return DC_OK;
}

static void relu_ex_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *gy = n->grad;
    const dc_relu_ex_attr *a = &n->attr.relu_ex;
    float *gx = n->in[0]->grad, mx = a->max_value, slope = a->slope, th = a->threshold;
    size_t total = dc_node_numel(n);
#pragma omp parallel for if (dc_worth_parallel(2.0 * (double)total))
    for (size_t i = 0; i < total; i++)
        gx[i] += x[i] > th ? (x[i] < mx ? gy[i] : 0.0f) : slope * gy[i];
}

const dc_op dc_op_relu_ex = {.name = "relu_ex", .n_inputs = 1, .infer = relu_ex_infer, .forward = relu_ex_forward,
                             .backward = relu_ex_backward};

dc_node *dc_relu_ex(dc_graph *g, dc_node *x, float max_value, float negative_slope, float threshold)
{
    return dc_node_make(g, &dc_op_relu_ex, 1, &x, &(dc_attr){.relu_ex = {max_value, negative_slope, threshold}});
}

/* ---- normalize ---- */

#define DC_KERAS_EPSILON 1e-7f

static dc_status normalize_infer(dc_node *n) { return check_vectors(n, 1, 2, "normalization"); }

static float norm_divisor(float var)
{
    float d = sqrtf(var);
    return d > DC_KERAS_EPSILON ? d : DC_KERAS_EPSILON; /* NaN stays NaN */
}

static dc_status normalize_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *mean = n->in[1]->val, *var = n->in[2]->val;
    size_t rows = dc_node_rows(n);
    int c = dc_node_cols(n), invert = n->attr.normalize.invert;
#pragma omp parallel for if (dc_worth_parallel(2.0 * (double)rows * c))
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            size_t i = r * (size_t)c + j;
            float d = norm_divisor(var[j]);
            n->val[i] = invert ? mean[j] + x[i] * d : (x[i] - mean[j]) / d;
        }
    return DC_OK;
}

static void normalize_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *var = n->in[2]->val, *gy = n->grad;
    float *gx = n->in[0]->grad;
    size_t rows = dc_node_rows(n);
    int c = dc_node_cols(n), invert = n->attr.normalize.invert;
    if (!n->in[0]->requires_grad)
        return;
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            float d = norm_divisor(var[j]);
            gx[r * (size_t)c + j] += invert ? gy[r * (size_t)c + j] * d : gy[r * (size_t)c + j] / d;
        }
}

const dc_op dc_op_normalize = {.name = "normalize", .n_inputs = 3, .infer = normalize_infer,
                               .forward = normalize_forward, .backward = normalize_backward};

dc_node *dc_normalize(dc_graph *g, dc_node *x, dc_node *mean, dc_node *variance, int invert)
{
    dc_node *in[3] = {x, mean, variance};
    return dc_node_make(g, &dc_op_normalize, 3, in, &(dc_attr){.normalize = {invert}});
}

/* ---- gaussian_noise ---- */

static dc_status noise_infer(dc_node *n)
{
    float sd = n->attr.noise.stddev;
    if (!(sd >= 0.0f) || !isfinite(sd))
        return dc_fail(DC_ERR_ARG, "gaussian_noise: stddev %g, expected a finite value >= 0", (double)sd);
    copy_shape(n, n->in[0]);
    n->work_per_sample = dc_node_sample_size(n->in[0]); /* the noise (multiplicative: the factor) */
    return DC_OK;
}

/* A fixed zero-mean, unit-variance value for position i. */
static float fixed_normal(size_t i) { return (dc_fixed_uniform(i + 12345) - 0.5f) * 3.4641016f; }

static int noise_active(const dc_node *n, const dc_run *run) { return run->training && n->attr.noise.stddev > 0.0f; }

static dc_status noise_forward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    const float *x = n->in[0]->val;
    float sd = n->attr.noise.stddev, base = n->attr.noise.multiplicative ? 1.0f : 0.0f;
    if (!noise_active(n, run)) {
        memcpy(n->val, x, total * sizeof(float));
        return DC_OK;
    }
    size_t draws = 2 * dc_node_sample_size(n); /* dc_rng_normal takes two */
    dc_run_rng_skip(run, draws, n->shape[0], 1);
    for (size_t i = 0; i < total; i++)
        n->work[i] = base + sd * (run->rng ? dc_rng_normal(run->rng) : fixed_normal(i));
    dc_run_rng_skip(run, draws, n->shape[0], 0);
    if (n->attr.noise.multiplicative)
        for (size_t i = 0; i < total; i++)
            n->val[i] = x[i] * n->work[i];
    else
        for (size_t i = 0; i < total; i++)
            n->val[i] = x[i] + n->work[i];
    return DC_OK;
}

static void noise_backward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    float *gx = n->in[0]->grad;
    int scaled = noise_active(n, run) && n->attr.noise.multiplicative;
    for (size_t i = 0; i < total; i++)
        gx[i] += scaled ? n->grad[i] * n->work[i] : n->grad[i];
}

const dc_op dc_op_gaussian_noise = {.name = "gaussian_noise", .n_inputs = 1, .infer = noise_infer,
                                    .forward = noise_forward, .backward = noise_backward};

dc_node *dc_gaussian_noise(dc_graph *g, dc_node *x, float stddev, int multiplicative)
{
    return dc_node_make(g, &dc_op_gaussian_noise, 1, &x, &(dc_attr){.noise = {multiplicative, stddev}});
}

/* ---- spatial_dropout ---- */

static dc_status spatial_dropout_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    char sx[96];
    if (!(n->attr.dropout.rate >= 0.0f && n->attr.dropout.rate < 1.0f))
        return dc_fail(DC_ERR_ARG, "spatial_dropout: rate %g, expected 0 <= rate < 1", (double)n->attr.dropout.rate);
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "spatial_dropout: input %s needs a batch, a spatial and a channel axis",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    copy_shape(n, x);
    /* each sample's channel mask, scaled (without a batch axis: the first axis's) */
    n->work_per_sample = x->batched ? (size_t)dc_node_cols(x) : 0;
    n->work_fixed = x->batched ? 0 : (size_t)x->shape[0] * (size_t)dc_node_cols(x);
    return DC_OK;
}

static dc_status spatial_dropout_forward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n);
    const float *x = n->in[0]->val;
    float rate = n->attr.dropout.rate, scale = 1.0f / (1.0f - rate);
    if (dc_dropout_passthrough(n, run))
        return DC_OK;
    int b = n->shape[0], c = dc_node_cols(n);
    size_t per = total / (size_t)b;
    size_t draws = (size_t)b * (size_t)c;
    dc_run_rng_skip(run, (size_t)c, b, 1);
    dc_run_fill_uniform(run, n->work, draws);
    dc_run_rng_skip(run, (size_t)c, b, 0);
    for (size_t i = 0; i < draws; i++)
        n->work[i] = n->work[i] >= rate ? scale : 0.0f;
    for (size_t i = 0; i < total; i++)
        n->val[i] = x[i] * n->work[i / per * (size_t)c + i % (size_t)c];
    return DC_OK;
}

static void spatial_dropout_backward(dc_node *n, const dc_run *run)
{
    size_t total = dc_node_numel(n), per = total / (size_t)n->shape[0];
    size_t c = (size_t)dc_node_cols(n);
    float *gx = n->in[0]->grad;
    int masked = run->training && n->attr.dropout.rate != 0.0f;
    for (size_t i = 0; i < total; i++)
        gx[i] += masked ? n->grad[i] * n->work[i / per * c + i % c] : n->grad[i];
}

const dc_op dc_op_spatial_dropout = {.name = "spatial_dropout", .n_inputs = 1, .infer = spatial_dropout_infer,
                                     .forward = spatial_dropout_forward, .backward = spatial_dropout_backward};

dc_node *dc_spatial_dropout(dc_graph *g, dc_node *x, float rate)
{
    return dc_node_make(g, &dc_op_spatial_dropout, 1, &x, &(dc_attr){.dropout = {rate}});
}
