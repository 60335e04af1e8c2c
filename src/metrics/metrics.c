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
 * A weighted metric (compile's weighted_metrics) multiplies each row's
 * value and count by its sample weight, as Keras' Mean does (sum(w v) /
 * sum(w), reduction_metrics.py, with the mask folded into the weight by
 * apply_mask's "sum" reduction); every weight is 1 for the others, which
 * leaves their sums exactly as they were.  A row of weight 0 is skipped.
 * Arguments (Keras 3, keras/src/metrics/): k of the top-k accuracies
 * (1 <= k < classes, default 5); threshold of BinaryAccuracy (p > threshold,
 * in the open (0, 1) as Keras' constructor demands) and of Precision /
 * Recall (its `thresholds`, one value in [0, 1], 0 standing for the default
 * 0.5 here).  A metric given an argument it does not take is refused.
 * The names of every metric are resolved here; precision, recall, AUC,
 * top-k, RMSE and the loss-like metrics are updated in metrics_confusion.c.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

/* Keras 3's metric names: the snake_case and class names of metrics.get,
 * and the aliases it lists. */
static const struct {
    const char *name;
    dc_metric_kind kind;
    dc_loss_kind row_loss;
} NAMES[] = {
    {"sparse_categorical_accuracy", DC_METRIC_SPARSE_ACC, 0},
    {"SparseCategoricalAccuracy", DC_METRIC_SPARSE_ACC, 0},
    {"categorical_accuracy", DC_METRIC_CATEGORICAL_ACC, 0},
    {"CategoricalAccuracy", DC_METRIC_CATEGORICAL_ACC, 0},
    {"binary_accuracy", DC_METRIC_BINARY_ACC, 0},
    {"BinaryAccuracy", DC_METRIC_BINARY_ACC, 0},
    {"mae", DC_METRIC_MAE, 0},
    {"MAE", DC_METRIC_MAE, 0},
    {"mean_absolute_error", DC_METRIC_MAE, 0},
    {"MeanAbsoluteError", DC_METRIC_MAE, 0},
    {"mse", DC_METRIC_MSE, 0},
    {"MSE", DC_METRIC_MSE, 0},
    {"mean_squared_error", DC_METRIC_MSE, 0},
    {"MeanSquaredError", DC_METRIC_MSE, 0},
    {"precision", DC_METRIC_PRECISION, 0},
    {"Precision", DC_METRIC_PRECISION, 0},
    {"recall", DC_METRIC_RECALL, 0},
    {"Recall", DC_METRIC_RECALL, 0},
    {"auc", DC_METRIC_AUC, 0},
    {"AUC", DC_METRIC_AUC, 0},
    {"top_k_categorical_accuracy", DC_METRIC_TOP_K, 0},
    {"TopKCategoricalAccuracy", DC_METRIC_TOP_K, 0},
    {"sparse_top_k_categorical_accuracy", DC_METRIC_SPARSE_TOP_K, 0},
    {"SparseTopKCategoricalAccuracy", DC_METRIC_SPARSE_TOP_K, 0},
    {"root_mean_squared_error", DC_METRIC_RMSE, 0},
    {"RootMeanSquaredError", DC_METRIC_RMSE, 0},
    {"hinge", DC_METRIC_LOSS_ROW, DC_LOSS_HINGE},
    {"Hinge", DC_METRIC_LOSS_ROW, DC_LOSS_HINGE},
    {"squared_hinge", DC_METRIC_LOSS_ROW, DC_LOSS_SQUARED_HINGE},
    {"SquaredHinge", DC_METRIC_LOSS_ROW, DC_LOSS_SQUARED_HINGE},
    {"kl_divergence", DC_METRIC_LOSS_ROW, DC_LOSS_KL_DIVERGENCE},
    {"KLDivergence", DC_METRIC_LOSS_ROW, DC_LOSS_KL_DIVERGENCE},
    {"poisson", DC_METRIC_LOSS_ROW, DC_LOSS_POISSON},
    {"Poisson", DC_METRIC_LOSS_ROW, DC_LOSS_POISSON},
    {"log_cosh_error", DC_METRIC_LOSS_ROW, DC_LOSS_LOG_COSH},
    {"LogCoshError", DC_METRIC_LOSS_ROW, DC_LOSS_LOG_COSH},
    {"cosine_similarity", DC_METRIC_COSINE, DC_LOSS_COSINE_SIMILARITY},
    {"CosineSimilarity", DC_METRIC_COSINE, DC_LOSS_COSINE_SIMILARITY},
};

static int is_sparse(dc_loss_kind k) { return k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS; }

/* Refuses a metric that cannot apply to this output and loss. */
static dc_status check_applies(const dc_metric *m, const char *name, dc_loss_kind loss, int out_cols)
{
    dc_metric_kind k = m->kind;
    int binary_loss = loss == DC_LOSS_BINARY_CE || loss == DC_LOSS_BINARY_CE_LOGITS || loss == DC_LOSS_HINGE ||
                      loss == DC_LOSS_SQUARED_HINGE;
    if (k == DC_METRIC_SPARSE_TOP_K && !is_sparse(loss))
        return dc_fail(DC_ERR_ARG, "metric \"%s\" takes one integer label per row, but %s takes targets shaped like "
                                   "the output; use \"top_k_categorical_accuracy\"", name, dc_loss_name(loss));
    /* one label per row cannot be compared value by value with the output */
    if (is_sparse(loss) && k != DC_METRIC_SPARSE_ACC && k != DC_METRIC_SPARSE_TOP_K)
        return dc_fail(DC_ERR_ARG, "metric \"%s\" needs targets shaped like the output, but %s takes one integer "
                                   "label per row; use \"accuracy\", \"sparse_categorical_accuracy\" or "
                                   "\"sparse_top_k_categorical_accuracy\"",
                       name, dc_loss_name(loss));
    if ((k == DC_METRIC_TOP_K || k == DC_METRIC_SPARSE_TOP_K) && m->k >= out_cols)
        return dc_fail(DC_ERR_ARG, "metric \"%s\" counts the label among the top %d predictions, but the output "
                                   "has %d class(es) under %s (k must be smaller than the number of classes)",
                       name, m->k, out_cols, dc_loss_name(loss));
    if ((k == DC_METRIC_PRECISION || k == DC_METRIC_RECALL || k == DC_METRIC_AUC) && out_cols > 1 && !binary_loss)
        return dc_fail(DC_ERR_ARG, "metric \"%s\" is for binary outputs (one sigmoid unit, or independent sigmoid "
                                   "units under binary_crossentropy), but the output has %d classes per row under "
                                   "%s; use \"accuracy\" or \"top_k_categorical_accuracy\"",
                       name, out_cols, dc_loss_name(loss));
    return DC_OK;
}

/* Sets k and threshold from args, refusing what the metric does not take. */
static dc_status apply_args(dc_metric *m, const char *name, const dc_metric_args *a)
{
    static const char *const kinds[] = {"sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy"};
    int top_k = m->kind == DC_METRIC_TOP_K || m->kind == DC_METRIC_SPARSE_TOP_K;
    int binacc = m->kind == DC_METRIC_BINARY_ACC, pr = m->kind == DC_METRIC_PRECISION || m->kind == DC_METRIC_RECALL;
    /* "accuracy" names what it resolved to, which decides the arguments */
    const char *is = m->kind <= DC_METRIC_BINARY_ACC && strcmp(name, kinds[m->kind]) != 0 ? kinds[m->kind] : NULL;
    if (!a)
        return DC_OK;
    if (a->k != 0 && !top_k)
        return dc_fail(DC_ERR_ARG, "metric \"%s\"%s%s%s takes no k (got %d); only the top-k accuracies do", name,
                       is ? ", here " : "", is ? is : "", is ? "," : "", a->k);
    if (a->k < 0)
        return dc_fail(DC_ERR_ARG, "metric \"%s\": k %d must be at least 1", name, a->k);
    if (a->threshold != 0.0f && !binacc && !pr)
        return dc_fail(DC_ERR_ARG, "metric \"%s\"%s%s%s takes no threshold (got %g); binary_accuracy, precision and "
                                   "recall do", name, is ? ", here " : "", is ? is : "", is ? "," : "",
                       (double)a->threshold);
    if (binacc && a->threshold != 0.0f && !(a->threshold > 0.0f && a->threshold < 1.0f))
        return dc_fail(DC_ERR_ARG, "metric \"%s\": threshold %g is outside (0, 1), Keras' BinaryAccuracy range", name,
                       (double)a->threshold);
    if (pr && !(a->threshold >= 0.0f && a->threshold <= 1.0f))
        return dc_fail(DC_ERR_ARG, "metric \"%s\": threshold %g is outside [0, 1]", name, (double)a->threshold);
    if (a->k)
        m->k = a->k;
    if (a->threshold != 0.0f)
        m->threshold = a->threshold;
    return DC_OK;
}

int dc_metric_has_args(const dc_metric *m) { return m->k != 5 || m->threshold != 0.5f; }

dc_status dc_metric_resolve(const char *name, const dc_metric_args *args, dc_loss_kind loss, int out_cols,
                            dc_metric *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    out->k = 5;
    out->threshold = 0.5f;
    if (!name)
        return dc_fail(DC_ERR_ARG, "metric name is NULL");
    int found = 0;
    if (strcmp(name, "accuracy") == 0 || strcmp(name, "acc") == 0) {
        found = 1;
        if (is_sparse(loss))
            out->kind = DC_METRIC_SPARSE_ACC;
        else if (loss == DC_LOSS_BINARY_CE || loss == DC_LOSS_BINARY_CE_LOGITS || out_cols == 1)
            out->kind = DC_METRIC_BINARY_ACC;
        else
            out->kind = DC_METRIC_CATEGORICAL_ACC;
    }
    for (size_t i = 0; !found && i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcmp(name, NAMES[i].name) == 0) {
            found = 1;
            out->kind = NAMES[i].kind;
            out->row_loss = NAMES[i].row_loss;
        }
    if (!found)
        return dc_fail(DC_ERR_ARG, "unknown metric \"%s\"; expected accuracy, sparse_categorical_accuracy, "
                                   "categorical_accuracy, binary_accuracy, mae, mse, precision, recall, auc, "
                                   "top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, "
                                   "root_mean_squared_error, hinge, squared_hinge, kl_divergence, poisson, "
                                   "log_cosh_error or cosine_similarity (or their Keras class names: Precision, AUC "
                                   "...)", name);
    dc_status st = apply_args(out, name, args);
    return st == DC_OK ? check_applies(out, name, loss, out_cols) : st;
}

void dc_metric_reset(dc_metric *m)
{
    m->sum = m->count = 0;
    memset(m->cm, 0, sizeof m->cm);
}

void dc_metric_merge(dc_metric *into, const dc_metric *from)
{
    into->sum += from->sum;
    into->count += from->count;
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < DC_AUC_THRESHOLDS; i++)
            into->cm[c][i] += from->cm[c][i];
}

/* The confusion counts a metric uses: AUC all thresholds, precision and
 * recall the one at 0.5 (cm[.][0]), the others none. */
static int cm_used(const dc_metric *m)
{
    return m->kind == DC_METRIC_AUC ? DC_AUC_THRESHOLDS
           : m->kind == DC_METRIC_PRECISION || m->kind == DC_METRIC_RECALL ? 1
                                                                          : 0;
}

int dc_metric_state_len(const dc_metric *m) { return 2 + 4 * cm_used(m); }

void dc_metric_state_diff(const dc_metric *now, const dc_metric *before, double *out)
{
    int t = cm_used(now);
    out[0] = now->sum - before->sum;
    out[1] = now->count - before->count;
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < t; i++)
            out[2 + c * t + i] = now->cm[c][i] - before->cm[c][i];
}

void dc_metric_state_add(dc_metric *m, const double *delta)
{
    int t = cm_used(m);
    m->sum += delta[0];
    m->count += delta[1];
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < t; i++)
            m->cm[c][i] += delta[2 + c * t + i];
}

int dc_argmax(const float *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Row r's weight: 0 for a padded step (Keras passes the mask as
 * sample_weight, so those are left out of both the sum and the count), else
 * the sample weight, 1 without. */
double dc_metric_row_weight(const float *mask, const float *weights, size_t r)
{
    if (mask && mask[r] == 0.0f)
        return 0.0;
    return weights ? (double)weights[r] : 1.0;
}

void dc_metric_update(dc_metric *m, const float *pred, int logits, const float *target, const float *mask,
                      const float *weights, size_t rows, int cols)
{
    if (m->kind >= DC_METRIC_PRECISION) {
        dc_metric_update_more(m, pred, target, mask, weights, rows, cols);
        return;
    }
    /* p > threshold; logits come only with the default 0.5, which for them is z > 0 */
    float threshold = logits ? 0.0f : m->threshold;
    for (size_t r = 0; r < rows; r++) {
        double w = dc_metric_row_weight(mask, weights, r);
        if (w == 0.0)
            continue;
        const float *p = pred + r * (size_t)cols, *t = target + r * (size_t)cols;
        switch (m->kind) {
        case DC_METRIC_SPARSE_ACC:
            m->sum += w * (dc_argmax(p, cols) == (int)target[r]);
            break;
        case DC_METRIC_CATEGORICAL_ACC:
            m->sum += w * (dc_argmax(p, cols) == dc_argmax(t, cols));
            break;
        case DC_METRIC_BINARY_ACC:
            for (int j = 0; j < cols; j++)
                m->sum += w * ((p[j] > threshold) == (t[j] > 0.5f));
            break;
        case DC_METRIC_MAE:
            for (int j = 0; j < cols; j++)
                m->sum += w * fabs((double)p[j] - t[j]);
            break;
        case DC_METRIC_MSE:
            for (int j = 0; j < cols; j++)
                m->sum += w * (((double)p[j] - t[j]) * ((double)p[j] - t[j]));
            break;
        default: break;
        }
        /* accuracies of one label per row count rows; the others average each row's values */
        m->count += w * (m->kind == DC_METRIC_SPARSE_ACC || m->kind == DC_METRIC_CATEGORICAL_ACC ? 1.0 : (double)cols);
    }
}

double dc_metric_value(const dc_metric *m)
{
    if (m->kind >= DC_METRIC_PRECISION)
        return dc_metric_value_more(m);
    return m->count > 0 ? m->sum / m->count : 0.0;
}
