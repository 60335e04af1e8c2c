/*
 * metrics.c - accuracy (sparse, categorical, binary), MAE and MSE, averaged
 * over every sample seen since the last reset, as Keras' metrics are.
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

void dc_metric_update(dc_metric *m, const float *pred, int logits, const float *target, size_t rows, int cols)
{
    size_t total = rows * (size_t)cols;
    switch (m->kind) {
    case DC_METRIC_SPARSE_ACC:
        for (size_t r = 0; r < rows; r++)
            m->sum += argmax(pred + r * (size_t)cols, cols) == (int)target[r];
        m->count += (double)rows;
        break;
    case DC_METRIC_CATEGORICAL_ACC:
        for (size_t r = 0; r < rows; r++)
            m->sum += argmax(pred + r * (size_t)cols, cols) == argmax(target + r * (size_t)cols, cols);
        m->count += (double)rows;
        break;
    case DC_METRIC_BINARY_ACC: {
        /* p > 0.5, which for logits is z > 0 */
        float threshold = logits ? 0.0f : 0.5f;
        for (size_t i = 0; i < total; i++)
            m->sum += (pred[i] > threshold) == (target[i] > 0.5f);
        m->count += (double)total;
        break;
    }
    case DC_METRIC_MAE:
        for (size_t i = 0; i < total; i++)
            m->sum += fabs((double)pred[i] - target[i]);
        m->count += (double)total;
        break;
    case DC_METRIC_MSE:
        for (size_t i = 0; i < total; i++)
            m->sum += ((double)pred[i] - target[i]) * ((double)pred[i] - target[i]);
        m->count += (double)total;
        break;
    }
}

double dc_metric_value(const dc_metric *m) { return m->count > 0 ? m->sum / m->count : 0.0; }
