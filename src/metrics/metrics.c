/*
 * metrics.c - accuracy (sparse, categorical, binary), MAE and MSE, averaged
 * over every sample seen since the last reset, as Keras' metrics are.
 *
 * Per-step outputs (batch, steps, classes) count each step as a row.  With a
 * mask (Embedding(mask_zero) upstream) the padded steps are left out, as
 * Keras 3's MeanMetricWrapper does with the mask as sample_weight: a metric
 * is sum(value * mask) / sum(mask) over every step seen since the reset,
 * where the value of a step is 1/0 for the accuracies of one label per step
 * and the mean over the last axis for binary accuracy, MAE and MSE.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

dc_status dc_metric_resolve(const char *name, dc_loss_kind loss, int out_cols, dc_metric *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    if (!name)
        return dc_fail(DC_ERR_ARG, "metric name is NULL");
    if (strcmp(name, "accuracy") == 0 || strcmp(name, "acc") == 0) {
        if (loss == DC_LOSS_SPARSE_CE || loss == DC_LOSS_SPARSE_CE_LOGITS)
            out->kind = DC_METRIC_SPARSE_ACC;
        else if (loss == DC_LOSS_BINARY_CE || loss == DC_LOSS_BINARY_CE_LOGITS || out_cols == 1)
            out->kind = DC_METRIC_BINARY_ACC;
        else
            out->kind = DC_METRIC_CATEGORICAL_ACC;
    } else if (strcmp(name, "sparse_categorical_accuracy") == 0) {
        out->kind = DC_METRIC_SPARSE_ACC;
    } else if (strcmp(name, "categorical_accuracy") == 0) {
        out->kind = DC_METRIC_CATEGORICAL_ACC;
    } else if (strcmp(name, "binary_accuracy") == 0) {
        out->kind = DC_METRIC_BINARY_ACC;
    } else if (strcmp(name, "mae") == 0 || strcmp(name, "mean_absolute_error") == 0) {
        out->kind = DC_METRIC_MAE;
    } else if (strcmp(name, "mse") == 0 || strcmp(name, "mean_squared_error") == 0) {
        out->kind = DC_METRIC_MSE;
    } else {
        return dc_fail(DC_ERR_ARG, "unknown metric \"%s\"; expected accuracy, sparse_categorical_accuracy, "
                                   "categorical_accuracy, binary_accuracy, mae or mse", name);
    }
    /* one label per row cannot be compared value by value with the output */
    if ((loss == DC_LOSS_SPARSE_CE || loss == DC_LOSS_SPARSE_CE_LOGITS) && out->kind != DC_METRIC_SPARSE_ACC)
        return dc_fail(DC_ERR_ARG, "metric \"%s\" needs targets shaped like the output, but %s takes one integer "
                                   "label per row; use \"accuracy\" or \"sparse_categorical_accuracy\"",
                       name, dc_loss_name(loss));
    return DC_OK;
}

void dc_metric_reset(dc_metric *m) { m->sum = m->count = 0; }

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Whether row r counts: every row without a mask, else the rows whose id is
 * not 0 (Keras passes the mask as sample_weight, so padded steps are left
 * out of both the sum and the count). */
static int row_on(const float *mask, size_t r) { return !mask || mask[r] != 0.0f; }

void dc_metric_update(dc_metric *m, const float *pred, int logits, const float *target, const float *mask, size_t rows,
                      int cols)
{
    /* p > 0.5, which for logits is z > 0 */
    float threshold = logits ? 0.0f : 0.5f;
    for (size_t r = 0; r < rows; r++) {
        if (!row_on(mask, r))
            continue;
        const float *p = pred + r * (size_t)cols, *t = target + r * (size_t)cols;
        switch (m->kind) {
        case DC_METRIC_SPARSE_ACC:
            m->sum += argmax(p, cols) == (int)target[r];
            break;
        case DC_METRIC_CATEGORICAL_ACC:
            m->sum += argmax(p, cols) == argmax(t, cols);
            break;
        case DC_METRIC_BINARY_ACC:
            for (int j = 0; j < cols; j++)
                m->sum += (p[j] > threshold) == (t[j] > 0.5f);
            break;
        case DC_METRIC_MAE:
            for (int j = 0; j < cols; j++)
                m->sum += fabs((double)p[j] - t[j]);
            break;
        case DC_METRIC_MSE:
            for (int j = 0; j < cols; j++)
                m->sum += ((double)p[j] - t[j]) * ((double)p[j] - t[j]);
            break;
        }
        /* accuracies of one label per row count rows; the others average each row's values */
        m->count += m->kind == DC_METRIC_SPARSE_ACC || m->kind == DC_METRIC_CATEGORICAL_ACC ? 1.0 : (double)cols;
    }
}

double dc_metric_value(const dc_metric *m) { return m->count > 0 ? m->sum / m->count : 0.0; }
