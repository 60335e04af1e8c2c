/*
 * metrics_confusion.c - Keras 3's Precision, Recall, AUC, TopKCategoricalAccuracy,
 * SparseTopKCategoricalAccuracy, RootMeanSquaredError and the losses that
 * are also metrics (Hinge, SquaredHinge, KLDivergence, Poisson, LogCoshError,
 * CosineSimilarity), accumulated since the last reset.
 *
 * Every state is a sum (model.h), so states of parts of the data add up to
 * the state of the whole.  As in keras/src/metrics/ (metrics_utils.py):
 *   - a label is positive when it is not 0 (cast to bool);
 *   - precision = tp / (tp + fp), recall = tp / (tp + fn), prediction
 *     positive when p > threshold (0.5, or Keras' `thresholds` argument);
 *     0 when the denominator is 0 (divide_no_nan);
 *   - AUC: thresholds {-1e-7, 1/199, ..., 198/199, 1 + 1e-7}, counted the
 *     way Keras' evenly-spaced path does: p clipped to [0, 1], bucket
 *     max(ceil(p * 199) - 1, 0) in float32, tp/fp[i] = the positives /
 *     negatives in buckets >= i; the ROC curve tpr = tp/(tp+fn), fpr =
 *     fp/(fp+tn), and the area by the trapezoid rule ("interpolation"):
 *     sum (fpr[i] - fpr[i+1]) * (tpr[i] + tpr[i+1]) / 2;
 *   - top-k: the label counts when fewer than k predictions are strictly
 *     greater than the label's (ties at the boundary count, as in_top_k);
 *     a NaN at the label never counts; one-hot targets use their argmax;
 *   - RMSE = sqrt(sum of squared errors / their count);
 *   - the loss-like metrics average the row's loss (loss_rows.h) over rows;
 *     the hinges convert 0/1 labels per batch as the loss does, and the
 *     cosine metric is +cos.
 * With a mask the rows whose id is 0 are left out; a weighted metric adds
 * each row's counts times its sample weight (Keras' sample_weight of
 * update_confusion_matrix_variables and of Mean).
 */
#include "model/model.h"
#include "ops/loss_rows.h"

#include <math.h>
#include <string.h>

static void update_auc(dc_metric *m, const float *pred, const float *target, const float *mask, const float *weights,
                       size_t rows, int cols)
{
    double pos[DC_AUC_THRESHOLDS] = {0}, neg[DC_AUC_THRESHOLDS] = {0}, n_pos = 0, n_neg = 0;
    for (size_t r = 0; r < rows; r++) {
        double w = dc_metric_row_weight(mask, weights, r);
        if (w == 0.0)
            continue;
        for (int j = 0; j < cols; j++) {
            float p = pred[r * (size_t)cols + j];
            p = p > 0.0f ? (p < 1.0f ? p : 1.0f) : 0.0f; /* NaN -> 0 */
            int b = (int)ceilf(p * (float)(DC_AUC_THRESHOLDS - 1)) - 1;
            b = b < 0 ? 0 : b;
            if (target[r * (size_t)cols + j] != 0.0f) {
                pos[b] += w;
                n_pos += w;
            } else {
                neg[b] += w;
                n_neg += w;
            }
        }
    }
    double tp = 0, fp = 0;
    for (int i = DC_AUC_THRESHOLDS - 1; i >= 0; i--) {
        tp += pos[i];
        fp += neg[i];
        m->cm[DC_CM_TP][i] += tp;
        m->cm[DC_CM_FP][i] += fp;
        m->cm[DC_CM_TN][i] += n_neg - fp;
        m->cm[DC_CM_FN][i] += n_pos - tp;
    }
}

static int in_top_k(const float *p, int cols, int label, int k)
{
    if (label < 0 || label >= cols || isnan(p[label]))
        return 0;
    int greater = 0;
    for (int j = 0; j < cols; j++)
        greater += p[j] > p[label];
    return greater < k;
}

void dc_metric_update_more(dc_metric *m, const float *pred, const float *target, const float *mask,
                           const float *weights, size_t rows, int cols)
{
    if (m->kind == DC_METRIC_AUC) {
        update_auc(m, pred, target, mask, weights, rows, cols);
        return;
    }
    size_t rows_t = m->kind == DC_METRIC_SPARSE_TOP_K ? rows : rows * (size_t)cols;
    int convert = dc_hinge_converts(m->row_loss, target, rows_t);
    for (size_t r = 0; r < rows; r++) {
        double w = dc_metric_row_weight(mask, weights, r);
        if (w == 0.0)
            continue;
        const float *p = pred + r * (size_t)cols, *t = target + r * (size_t)cols;
        switch (m->kind) {
        case DC_METRIC_PRECISION:
        case DC_METRIC_RECALL:
            for (int j = 0; j < cols; j++) {
                int label = t[j] != 0.0f, positive = p[j] > m->threshold;
                m->cm[label ? (positive ? DC_CM_TP : DC_CM_FN) : (positive ? DC_CM_FP : DC_CM_TN)][0] += w;
            }
            break;
        case DC_METRIC_TOP_K:
            m->sum += w * in_top_k(p, cols, dc_argmax(t, cols), m->k);
            m->count += w;
            break;
        case DC_METRIC_SPARSE_TOP_K:
            m->sum += w * in_top_k(p, cols, (int)target[r], m->k);
            m->count += w;
            break;
        case DC_METRIC_RMSE:
            for (int j = 0; j < cols; j++)
                m->sum += w * (((double)p[j] - t[j]) * ((double)p[j] - t[j]));
            m->count += w * cols;
            break;
        case DC_METRIC_LOSS_ROW:
        case DC_METRIC_COSINE: {
            double v = dc_loss_row(m->row_loss, p, t, cols, convert, 1.0);
            m->sum += w * (m->kind == DC_METRIC_COSINE ? -v : v);
            m->count += w;
            break;
        }
        default: break;
        }
    }
}

static double ratio(double a, double b) { return b != 0 ? a / b : 0.0; }

static double auc_value(const dc_metric *m)
{
    double area = 0;
    const double(*cm)[DC_AUC_THRESHOLDS] = m->cm;
    for (int i = 0; i + 1 < DC_AUC_THRESHOLDS; i++) {
        double tpr0 = ratio(cm[DC_CM_TP][i], cm[DC_CM_TP][i] + cm[DC_CM_FN][i]);
        double tpr1 = ratio(cm[DC_CM_TP][i + 1], cm[DC_CM_TP][i + 1] + cm[DC_CM_FN][i + 1]);
        double fpr0 = ratio(cm[DC_CM_FP][i], cm[DC_CM_FP][i] + cm[DC_CM_TN][i]);
        double fpr1 = ratio(cm[DC_CM_FP][i + 1], cm[DC_CM_FP][i + 1] + cm[DC_CM_TN][i + 1]);
        area += (fpr0 - fpr1) * (tpr0 + tpr1) / 2.0;
    }
    return area;
}

double dc_metric_value_more(const dc_metric *m)
{
    switch (m->kind) {
    case DC_METRIC_PRECISION: return ratio(m->cm[DC_CM_TP][0], m->cm[DC_CM_TP][0] + m->cm[DC_CM_FP][0]);
    case DC_METRIC_RECALL: return ratio(m->cm[DC_CM_TP][0], m->cm[DC_CM_TP][0] + m->cm[DC_CM_FN][0]);
    case DC_METRIC_AUC: return auc_value(m);
    case DC_METRIC_RMSE: return sqrt(ratio(m->sum, m->count));
    default: return ratio(m->sum, m->count);
    }
}
