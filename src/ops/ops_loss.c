/*
 * ops_loss.c - the losses and the L1/L2 regulariser, each a scalar node.
 *
 * Keras semantics: a per-sample loss over the last axis, then the mean over
 * every other position ("sum_over_batch_size").  Probabilities are clipped to
 * [1e-7, 1 - 1e-7] (Keras 3: clip, then log).  The categorical losses on
 * probabilities first divide by the row sum, as Keras does.  The *_LOGITS
 * kinds fuse the sigmoid / softmax into the loss and work from the logits,
 * the stable form the TensorFlow backend uses after a sigmoid or softmax.
 * Rows are every position but the last axis, so a tagger's per-step
 * predictions (batch, steps, classes) take (batch, steps) labels or
 * (batch, steps, classes) targets.
 * Inputs 2 and 3 are optional (NULL when absent).  Input 2, the mask: token
 * ids with one id per row of the prediction (batch, steps): rows whose id is
 * 0 (padding under mask_zero) are left out, and the mean is over the other
 * rows, as Keras 3 reduces a masked loss (sum over valid rows / their count;
 * 0 when none is valid).  Input 3, per-row weights (sample_weight, one per
 * row): each row's loss is multiplied by its weight and the divisor stays
 * the row count (or the valid rows under a mask), Keras 3's
 * "sum_over_batch_size": sum(w l) / N, not / sum(w).
 * Without weights every row weighs exactly 1.0f, so the products are exact
 * and the unweighted losses come out bitwise as before.
 * Huber, LogCosh, the hinges, KLDivergence, Poisson and CosineSimilarity
 * are computed row by row in loss_rows.c and reduced the same way.
 * Arguments (dc_loss_args) ride in attr.loss: label_smoothing, which the
 * cross-entropies apply to the targets inside the loss as Keras 3 does
 * (losses.py: y (1 - ls) + 0.5 ls binary, y (1 - ls) + ls / classes
 * categorical, in float32), forward and backward alike; huber_delta (0 =
 * 1.0).  With ls 0 the targets are read untouched, so the
 * losses are bitwise those without arguments.
 */
#include "graph/graph.h"
#include "ops/loss_rows.h"

#include <math.h>
#include <string.h>

#define EPS 1e-7f

static const char *const loss_names[DC_LOSS_COUNT] = {
    "mean_squared_error",
    "mean_absolute_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy(from_logits)",
    "categorical_crossentropy(from_logits)",
    "sparse_categorical_crossentropy(from_logits)",
    "huber",
    "log_cosh",
    "hinge",
    "squared_hinge",
    "kl_divergence",
    "poisson",
    "cosine_similarity",
};

const char *dc_loss_name(dc_loss_kind k) { return (unsigned)k < DC_LOSS_COUNT ? loss_names[k] : "unknown"; }

dc_status dc_loss_parse(const char *name, dc_loss_kind *out)
{
    DC_CHECK_NULL(name);
    DC_CHECK_NULL(out);
    /* Keras 3's losses.get: function names, class names and the aliases */
    static const struct { const char *name; dc_loss_kind kind; } aliases[] = {
        {"mse", DC_LOSS_MSE}, {"MSE", DC_LOSS_MSE}, {"mean_squared_error", DC_LOSS_MSE},
        {"MeanSquaredError", DC_LOSS_MSE},
        {"mae", DC_LOSS_MAE}, {"MAE", DC_LOSS_MAE}, {"mean_absolute_error", DC_LOSS_MAE},
        {"MeanAbsoluteError", DC_LOSS_MAE},
        {"binary_crossentropy", DC_LOSS_BINARY_CE}, {"bce", DC_LOSS_BINARY_CE}, {"BCE", DC_LOSS_BINARY_CE},
        {"BinaryCrossentropy", DC_LOSS_BINARY_CE},
        {"categorical_crossentropy", DC_LOSS_CATEGORICAL_CE}, {"CategoricalCrossentropy", DC_LOSS_CATEGORICAL_CE},
        {"sparse_categorical_crossentropy", DC_LOSS_SPARSE_CE},
        {"SparseCategoricalCrossentropy", DC_LOSS_SPARSE_CE},
        {"huber", DC_LOSS_HUBER}, {"Huber", DC_LOSS_HUBER},
        {"log_cosh", DC_LOSS_LOG_COSH}, {"LogCosh", DC_LOSS_LOG_COSH},
        {"hinge", DC_LOSS_HINGE}, {"Hinge", DC_LOSS_HINGE},
        {"squared_hinge", DC_LOSS_SQUARED_HINGE}, {"SquaredHinge", DC_LOSS_SQUARED_HINGE},
        {"kl_divergence", DC_LOSS_KL_DIVERGENCE}, {"KLDivergence", DC_LOSS_KL_DIVERGENCE},
        {"kld", DC_LOSS_KL_DIVERGENCE}, {"KLD", DC_LOSS_KL_DIVERGENCE},
        {"poisson", DC_LOSS_POISSON}, {"Poisson", DC_LOSS_POISSON},
        {"cosine_similarity", DC_LOSS_COSINE_SIMILARITY}, {"CosineSimilarity", DC_LOSS_COSINE_SIMILARITY},
    };
    for (size_t i = 0; name && i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].name) == 0) {
            *out = aliases[i].kind;
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "unknown loss \"%s\"; expected mse, mae, binary_crossentropy, "
                               "categorical_crossentropy, sparse_categorical_crossentropy, huber, log_cosh, hinge, "
                               "squared_hinge, kl_divergence (kld), poisson or cosine_similarity (or their Keras "
                               "class names: MeanSquaredError, Huber, KLDivergence ...)",
                   name ? name : "(null)");
}

static int is_sparse(dc_loss_kind k) { return k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS; }
static int is_categorical(dc_loss_kind k)
{
    return is_sparse(k) || k == DC_LOSS_CATEGORICAL_CE || k == DC_LOSS_CATEGORICAL_CE_LOGITS;
}

dc_status dc_loss_args_check(dc_loss_kind kind, const dc_loss_args *a)
{
    const char *name = dc_loss_name(kind);
    int smooths = kind == DC_LOSS_BINARY_CE || kind == DC_LOSS_BINARY_CE_LOGITS || kind == DC_LOSS_CATEGORICAL_CE ||
                  kind == DC_LOSS_CATEGORICAL_CE_LOGITS;
    if (!a)
        return DC_OK;
    if (a->label_smoothing != 0.0f && is_sparse(kind))
        return dc_fail(DC_ERR_ARG, "%s has no label_smoothing in Keras 3 (got %g); use categorical_crossentropy with "
                                   "one-hot targets to smooth labels", name, (double)a->label_smoothing);
    if (a->label_smoothing != 0.0f && !smooths)
        return dc_fail(DC_ERR_ARG, "%s has no label_smoothing (got %g); only binary_crossentropy and "
                                   "categorical_crossentropy take it", name, (double)a->label_smoothing);
    if (!(a->label_smoothing >= 0.0f && a->label_smoothing <= 1.0f))
        return dc_fail(DC_ERR_ARG, "%s: label_smoothing %g is outside [0, 1]", name, (double)a->label_smoothing);
    if (a->huber_delta != 0.0f && kind != DC_LOSS_HUBER)
        return dc_fail(DC_ERR_ARG, "%s has no delta (got huber_delta %g); only huber takes it", name,
                       (double)a->huber_delta);
    if (!(a->huber_delta >= 0.0f) || !isfinite(a->huber_delta))
        return dc_fail(DC_ERR_ARG, "%s: delta %g must be a positive finite number", name, (double)a->huber_delta);
    return DC_OK;
}

/* Target j of a row as the loss reads it: the one-hot row tr (or the label
 * when tr is NULL), label-smoothed over `cols` classes. */
static float cat_target(const dc_node *n, const float *tr, int label, int j, int cols)
{
    float y = tr ? tr[j] : (j == label ? 1.0f : 0.0f), ls = n->attr.loss.label_smoothing;
    return ls == 0.0f ? y : y * (1.0f - ls) + ls / (float)cols;
}

/* A binary target, label-smoothed towards 0.5. */
static float bin_target(const dc_node *n, float y)
{
    float ls = n->attr.loss.label_smoothing;
    return ls == 0.0f ? y : y * (1.0f - ls) + 0.5f * ls;
}

static double huber_delta(const dc_node *n)
{
    return n->attr.loss.huber_delta > 0.0f ? n->attr.loss.huber_delta : 1.0;
}

/* The mask (token ids, one per row) and the per-row weights, or NULL. */
static const dc_node *row_mask(const dc_node *n) { return n->in[2]; }

static const dc_node *row_weights(const dc_node *n) { return n->in[3]; }

static dc_status loss_infer(dc_node *n)
{
    dc_loss_kind k = (dc_loss_kind)n->attr.loss.kind;
    dc_node *p = n->in[0], *t = n->in[1];
    char sp[96], st[96];
    if ((unsigned)k >= DC_LOSS_COUNT)
        return dc_fail(DC_ERR_ARG, "loss: unknown kind %d", (int)k);
    dc_status ast = dc_loss_args_check(k, &(dc_loss_args){n->attr.loss.label_smoothing, n->attr.loss.huber_delta});
    if (ast != DC_OK)
        return ast;
    if (is_sparse(k)) {
        if (dc_node_numel(t) != dc_node_rows(p))
            return dc_fail(DC_ERR_SHAPE, "%s: labels %s do not fit predictions %s; expected one integer label per row",
                           loss_names[k], dc_shape_str(t->ndim, t->shape, st, sizeof st),
                           dc_shape_str(p->ndim, p->shape, sp, sizeof sp));
    } else if (t->ndim != p->ndim || memcmp(t->shape, p->shape, (size_t)p->ndim * sizeof(int)) != 0) {
        return dc_fail(DC_ERR_SHAPE, "%s: targets %s and predictions %s differ in shape", loss_names[k],
                       dc_shape_str(t->ndim, t->shape, st, sizeof st), dc_shape_str(p->ndim, p->shape, sp, sizeof sp));
    }
    if (t->requires_grad)
        return dc_fail(DC_ERR_ARG, "%s: targets must not depend on parameters", loss_names[k]);
    for (int i = 2; i < n->n_in; i++) {
        const dc_node *e = n->in[i];
        const char *what = i == 3 ? "weights" : "mask";
        if (!e)
            continue;
        if (dc_node_numel(e) != dc_node_rows(p))
            return dc_fail(DC_ERR_SHAPE, "%s: the %s %s has not one entry per row of the predictions %s", loss_names[k],
                           what, dc_shape_str(e->ndim, e->shape, st, sizeof st),
                           dc_shape_str(p->ndim, p->shape, sp, sizeof sp));
        if (e->requires_grad)
            return dc_fail(DC_ERR_ARG, "%s: the %s must not depend on parameters", loss_names[k], what);
    }
    n->batched = 0;
    n->ndim = 1;
    n->shape[0] = 1;
    /* Logit losses keep the probabilities for the backward pass. */
    n->work_per_sample = dc_node_sample_size(p);
    return DC_OK;
}

/* Whether row r counts (always, without a mask). */
static int row_on(const dc_node *n, size_t r)
{
    const dc_node *mask = row_mask(n);
    return !mask || mask->val[r] != 0.0f;
}

/* Row r's weight: 1 without weights. */
static float row_w(const dc_node *n, size_t r)
{
    const dc_node *w = row_weights(n);
    return w ? w->val[r] : 1.0f;
}

/* Rows that count: all of them, or the unmasked ones. */
static size_t rows_on(const dc_node *n, size_t rows)
{
    size_t c = 0;
    for (size_t r = 0; r < rows; r++)
        c += (size_t)row_on(n, r);
    return c;
}

static float clipf(float p) { return p < EPS ? EPS : (p > 1.0f - EPS ? 1.0f - EPS : p); }

static dc_status label_of(const dc_node *n, size_t r, int cols, int *label)
{
    float v = n->in[1]->val[r];
    const dc_node *p = n->in[0];
    if (v >= 0.0f && v < (float)cols && v == floorf(v)) {
        *label = (int)v;
        return DC_OK;
    }
    if (p->ndim == 3) /* (batch, steps, classes): name the sample and the step */
        return dc_fail(DC_ERR_RANGE, "%s: label %g at sample %zu, step %zu is outside the output's range [0, %d)",
                       loss_names[n->attr.loss.kind], (double)v, r / (size_t)p->shape[1], r % (size_t)p->shape[1],
                       cols);
    return dc_fail(DC_ERR_RANGE, "%s: label %g at position %zu is outside the output's range [0, %d)",
                   loss_names[n->attr.loss.kind], (double)v, r, cols);
}

/* Row sum, in double, of an elementwise loss (MSE, MAE, binary CE on
 * probabilities or on logits) over the row's cols values. */
static double elementwise_row(const dc_node *n, dc_loss_kind k, const float *p, const float *t, int cols)
{
    double s = 0;
    if (k == DC_LOSS_MSE) { /* the regression default: a loop of its own, vectorised */
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < cols; j++)
            s += (double)(p[j] - t[j]) * (p[j] - t[j]);
        return s;
    }
    for (int j = 0; j < cols; j++) {
        float x = p[j], y = k == DC_LOSS_BINARY_CE || k == DC_LOSS_BINARY_CE_LOGITS ? bin_target(n, t[j]) : t[j];
        switch (k) {
        case DC_LOSS_MSE: s += (double)(x - y) * (x - y); break;
        case DC_LOSS_MAE: s += fabs((double)x - y); break;
        case DC_LOSS_BINARY_CE: {
            float c = clipf(x);
            s -= y * log(c) + (1.0 - y) * log(1.0 - c);
            break;
        }
        default: /* BINARY_CE_LOGITS: max(z,0) - z t + log(1 + e^-|z|) */
            s += (x > 0 ? x : 0) - x * y + log1pf(expf(-fabsf(x)));
            break;
        }
    }
    return s;
}

static dc_status loss_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_loss_kind k = (dc_loss_kind)n->attr.loss.kind;
    const float *p = n->in[0]->val, *t = n->in[1]->val;
    size_t rows = dc_node_rows(n->in[0]), total = dc_node_numel(n->in[0]);
    int cols = dc_node_cols(n->in[0]);
    double sum = 0;
    size_t valid = rows_on(n, rows);
    if (dc_loss_is_row_kind(k)) {
        int convert = dc_hinge_converts(k, t, total);
        for (size_t r = 0; r < rows; r++)
            if (row_on(n, r))
                sum += row_w(n, r) *
                       dc_loss_row(k, p + r * (size_t)cols, t + r * (size_t)cols, cols, convert, huber_delta(n));
        n->val[0] = valid ? (float)(sum / (double)valid) : 0.0f;
        return DC_OK;
    }
    if (!is_categorical(k)) {
        /* rows in parallel into the scratch, then summed in order: the same
         * value for every thread count */
        float *row_sum = n->work;
#pragma omp parallel for if (dc_worth_parallel(16.0 * (double)total))
        for (size_t r = 0; r < rows; r++)
            row_sum[r] = row_on(n, r) ? (float)elementwise_row(n, k, p + r * (size_t)cols, t + r * (size_t)cols, cols)
                                      : 0.0f;
        for (size_t r = 0; r < rows; r++)
            sum += (double)row_w(n, r) * row_sum[r];
        n->val[0] = valid ? (float)(sum / ((double)valid * cols)) : 0.0f;
        return DC_OK;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * (size_t)cols, *tr = is_sparse(k) ? NULL : t + r * (size_t)cols;
        float *q = n->work + r * (size_t)cols;
        double w = row_w(n, r);
        int label = -1;
        if (!row_on(n, r))
            continue;
        if (is_sparse(k)) {
            dc_status st = label_of(n, r, cols, &label);
            if (st != DC_OK)
                return st;
        }
        if (k == DC_LOSS_CATEGORICAL_CE_LOGITS || k == DC_LOSS_SPARSE_CE_LOGITS) {
            float mx = pr[0];
            double se = 0;
            for (int j = 1; j < cols; j++)
                mx = pr[j] > mx ? pr[j] : mx;
            for (int j = 0; j < cols; j++)
                se += (q[j] = expf(pr[j] - mx));
            double lse = mx + log(se);
            for (int j = 0; j < cols; j++)
                q[j] = (float)(q[j] / se);
            if (label >= 0)
                sum += w * (lse - pr[label]);
            else
                for (int j = 0; j < cols; j++)
                    sum += w * (cat_target(n, tr, -1, j, cols) * (lse - pr[j]));
        } else {
            double s = 0;
            for (int j = 0; j < cols; j++)
                s += pr[j];
            for (int j = 0; j < cols; j++)
                q[j] = (float)(pr[j] / s);
            if (label >= 0)
                sum -= w * log(clipf(q[label]));
            else
                for (int j = 0; j < cols; j++)
                    sum -= w * (cat_target(n, tr, -1, j, cols) * log(clipf(q[j])));
        }
    }
    n->val[0] = valid ? (float)(sum / (double)valid) : 0.0f;
    return DC_OK;
}

static void loss_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_loss_kind k = (dc_loss_kind)n->attr.loss.kind;
    dc_node *pn = n->in[0];
    const float *p = pn->val, *t = n->in[1]->val;
    float *gp = pn->grad;
    size_t rows = dc_node_rows(pn), total = dc_node_numel(pn);
    int cols = dc_node_cols(pn);
    size_t valid = rows_on(n, rows);
    if (!valid)
        return;
    if (dc_loss_is_row_kind(k)) {
        int convert = dc_hinge_converts(k, t, total);
        for (size_t r = 0; r < rows; r++)
            if (row_on(n, r))
                dc_loss_row_grad(k, p + r * (size_t)cols, t + r * (size_t)cols, cols, convert, huber_delta(n),
                                 n->grad[0] / (float)valid * row_w(n, r), gp + r * (size_t)cols);
        return;
    }
    if (!is_categorical(k)) {
        float scale = n->grad[0] / ((float)valid * (float)cols);
#pragma omp parallel for if (dc_worth_parallel(8.0 * (double)total))
        for (size_t r = 0; r < rows; r++) {
            if (!row_on(n, r))
                continue;
            float w = scale * row_w(n, r);
            if (k == DC_LOSS_MSE) { /* vectorised, as in the forward */
#pragma omp simd
                for (size_t i = r * (size_t)cols; i < (r + 1) * (size_t)cols; i++)
                    gp[i] += w * (2.0f * (p[i] - t[i]));
                continue;
            }
            for (size_t i = r * (size_t)cols; i < (r + 1) * (size_t)cols; i++) {
                float x = p[i], y = k == DC_LOSS_BINARY_CE || k == DC_LOSS_BINARY_CE_LOGITS ? bin_target(n, t[i]) : t[i];
                float d;
                switch (k) {
                case DC_LOSS_MSE: d = 2.0f * (x - y); break;
                case DC_LOSS_MAE: d = x > y ? 1.0f : (x < y ? -1.0f : 0.0f); break;
                case DC_LOSS_BINARY_CE:
                    d = (x < EPS || x > 1.0f - EPS) ? 0.0f : (1.0f - y) / (1.0f - x) - y / x;
                    break;
                default: d = (x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x))) - y; break;
                }
                gp[i] += w * d;
            }
        }
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        if (!row_on(n, r))
            continue;
        float scale = n->grad[0] / (float)valid * row_w(n, r);
        const float *pr = p + r * (size_t)cols, *q = n->work + r * (size_t)cols;
        const float *tr = is_sparse(k) ? NULL : t + r * (size_t)cols;
        float *gr = gp + r * (size_t)cols;
        int label = is_sparse(k) ? (int)t[r] : -1;
        if (k == DC_LOSS_CATEGORICAL_CE_LOGITS || k == DC_LOSS_SPARSE_CE_LOGITS) {
            /* d/dz = softmax * sum(t) - t */
            float tsum = 1.0f;
            if (tr) {
                tsum = 0.0f;
                for (int j = 0; j < cols; j++)
                    tsum += cat_target(n, tr, -1, j, cols);
            }
            for (int j = 0; j < cols; j++)
                gr[j] += scale * (q[j] * tsum - cat_target(n, tr, label, j, cols));
        } else {
            /* L = -sum_k t_k log clip(p_k / s): dL/dp_j = (sum_k t_k u_k - t_j u_j / q_j) / s,
             * u_k = 1 where the clip is inactive. */
            double s = 0, tu = 0;
            for (int j = 0; j < cols; j++)
                s += pr[j];
            for (int j = 0; j < cols; j++) {
                float tj = cat_target(n, tr, label, j, cols);
                if (q[j] >= EPS && q[j] <= 1.0f - EPS)
                    tu += tj;
            }
            for (int j = 0; j < cols; j++) {
                float tj = cat_target(n, tr, label, j, cols);
                int active = q[j] >= EPS && q[j] <= 1.0f - EPS;
                double d = (tu - (active && tj != 0.0f ? tj / q[j] : 0.0)) / s;
                gr[j] += scale * (float)d;
            }
        }
    }
}

/* Inputs: predictions, targets, the mask (optional), the weights (optional). */
const dc_op dc_op_loss = {.name = "loss", .n_inputs = 4, .optional = DC_OPTIONAL(2) | DC_OPTIONAL(3),
                          .infer = loss_infer, .forward = loss_forward, .backward = loss_backward};

dc_node *dc_loss(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target)
{
    return dc_loss_masked(g, kind, pred, target, NULL);
}

dc_node *dc_loss_masked(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids)
{
    return dc_loss_weighted(g, kind, pred, target, mask_ids, NULL);
}

dc_node *dc_loss_weighted(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids,
                          dc_node *weights)
{
    return dc_loss_ex(g, kind, pred, target, mask_ids, weights, NULL);
}

dc_node *dc_loss_ex(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids,
                    dc_node *weights, const dc_loss_args *args)
{
    dc_node *in[4] = {pred, target, mask_ids, weights};
    dc_attr a = {.loss = {(int)kind, args ? args->label_smoothing : 0.0f, args ? args->huber_delta : 0.0f}};
    return dc_node_make(g, &dc_op_loss, 4, in, &a);
}

/* ---- regulariser: l1 * sum|w| + l2 * sum w^2 ---- */

static dc_status reg_infer(dc_node *n)
{
    if (!n->in[0]->is_param)
        return dc_fail(DC_ERR_ARG, "regularizer: applies to parameters only, got %s", n->in[0]->name);
    n->batched = 0;
    n->ndim = 1;
    n->shape[0] = 1;
    return DC_OK;
}

static dc_status reg_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *w = n->in[0]->val;
    size_t total = dc_node_numel(n->in[0]);
    double a = 0, s = 0;
    for (size_t i = 0; i < total; i++) {
        a += fabsf(w[i]);
        s += (double)w[i] * w[i];
    }
    n->val[0] = (float)(n->attr.regularizer.l1 * a + n->attr.regularizer.l2 * s);
    return DC_OK;
}

static void reg_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *w = n->in[0]->val;
    float *gw = n->in[0]->grad, l1 = n->attr.regularizer.l1 * n->grad[0];
    float l2 = 2.0f * n->attr.regularizer.l2 * n->grad[0];
    size_t total = dc_node_numel(n->in[0]);
    for (size_t i = 0; i < total; i++)
        gw[i] += l1 * (w[i] > 0 ? 1.0f : (w[i] < 0 ? -1.0f : 0.0f)) + l2 * w[i];
}

const dc_op dc_op_regularizer = {.name = "regularizer", .n_inputs = 1, .infer = reg_infer, .forward = reg_forward,
                                 .backward = reg_backward};

dc_node *dc_regularizer(dc_graph *g, dc_node *param, float l1, float l2)
{
    return dc_node_make(g, &dc_op_regularizer, 1, &param, &(dc_attr){.regularizer = {l1, l2}});
}
