/*
 * sample_weight.c - fit's and evaluate's sample_weight and class_weight
 * (Keras 3), turned into one weight per row of the loss before anything
 * runs, so that the training step only copies a batch of weights in.
 *
 * The loss has one row per sample, or one per step of a per-step output
 * (N, steps, classes): the model's weights input holds that many per sample.
 * sample_weight may be (N,) or (N, 1), one weight per sample (repeated over
 * the steps of a per-step output, as tf-keras broadcasts it), or, for a
 * per-step output, (N, steps): one weight per step (Keras' temporal weights).
 * Any finite value is allowed, negative and 0 included, as Keras allows;
 * NaN and infinity are errors naming the sample (and step).
 *
 * class_weight is Keras 3's class_weight_to_sample_weights
 * (trainers/data_adapters/data_adapter_utils.py): the class of a sample is
 * its label for (N,) or (N, 1) targets, the argmax of the row for wider
 * ones (one-hot), rounded half to even as np.round; its weight is
 * class_weight[class], and 1.0 for a class outside the array
 * (dict.get(c, 1.0)).  Keras converts whatever the loss (mse too).  Keras
 * refuses class_weight together with sample_weight; tf-keras refuses it for
 * targets of rank > 2 (Keras 3 would argmax a tagger's per-step labels into
 * one wrong class per sequence): both are errors here, as is a per-step
 * output.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

/* The loss's rows per sample: the weights input's size per sample. */
static int rows_per_sample(const dc_model *m) { return (int)dc_node_sample_size(m->weights); }

static dc_status check_sample_weight(const dc_model *m, const char *where, const char *name, const dc_tensor *y,
                                     const dc_tensor *sw)
{
    char ss[96], sr[96];
    int n = y->shape[0], rows = rows_per_sample(m);
    const dc_node *w = m->weights;
    if (sw->ndim < 1 || sw->shape[0] != n)
        return dc_fail(DC_ERR_SHAPE, "%s: %s has shape %s, but y has %d samples; it must have one weight per sample",
                       where, name, dc_shape_str(sw->ndim, sw->shape, ss, sizeof ss), n);
    size_t per = sw->size / (size_t)n;
    int per_sample = sw->ndim == 1 || (sw->ndim == 2 && sw->shape[1] == 1);
    int per_row = rows > 1 && sw->ndim == w->ndim &&
                  memcmp(sw->shape + 1, w->shape + 1, (size_t)(w->ndim - 1) * sizeof(int)) == 0;
    if (!per_sample && !per_row) {
        char extra[160] = "";
        int shape[DC_MAX_DIMS];
        memcpy(shape, w->shape, sizeof shape);
        shape[0] = n;
        if (rows > 1)
            snprintf(extra, sizeof extra, ", or %s (one weight per step of the model's per-step output)",
                     dc_shape_str(w->ndim, shape, sr, sizeof sr));
        return dc_fail(DC_ERR_SHAPE, "%s: %s has shape %s; expected (%d,) or (%d, 1)%s", where, name,
                       dc_shape_str(sw->ndim, sw->shape, ss, sizeof ss), n, n, extra);
    }
    for (size_t i = 0; i < sw->size; i++) {
        if (isfinite(sw->data[i]))
            continue;
        if (per > 1)
            return dc_fail(DC_ERR_ARG, "%s: %s[%zu, %zu] (sample %zu, step %zu) is %g; weights must be finite", where,
                           name, i / per, i % per, i / per, i % per, (double)sw->data[i]);
        return dc_fail(DC_ERR_ARG, "%s: %s[%zu] (sample %zu) is %g; weights must be finite", where, name, i, i,
                       (double)sw->data[i]);
    }
    return DC_OK;
}

static dc_status check_class_weight(const dc_model *m, const char *where, const dc_tensor *y, const float *cw,
                                    int n_cw)
{
    char sy[96];
    if (n_cw > 0 && !cw)
        return dc_fail(DC_ERR_ARG, "%s: n_class_weight is %d but class_weight is NULL", where, n_cw);
    if (y->ndim > 2 || rows_per_sample(m) > 1)
        return dc_fail(DC_ERR_SHAPE,
                       "%s: class_weight is not supported for 3+ dimensional targets (y has shape %s, one target per "
                       "step); pass sample_weight of shape (N, steps) instead",
                       where, dc_shape_str(y->ndim, y->shape, sy, sizeof sy));
    for (int c = 0; c < n_cw; c++)
        if (!isfinite(cw[c]))
            return dc_fail(DC_ERR_ARG, "%s: class_weight[%d] is %g; weights must be finite", where, c, (double)cw[c]);
    return DC_OK;
}

/* The class of sample i as Keras 3 reads it, or -1 when it has none. */
static long label_class(const dc_tensor *y, int i)
{
    size_t per = y->size / (size_t)y->shape[0];
    const float *row = y->data + (size_t)i * per;
    double v = per == 1 ? row[0] : dc_argmax(row, (int)per);
    v = rint(v); /* np.round: half to even */
    return isfinite(v) && v >= 0 && v <= 2147483647.0 ? (long)v : -1;
}

dc_status dc_sample_weights(const dc_model *m, const char *where, const dc_tensor *y, const dc_tensor *sample_weight,
                            const float *class_weight, int n_class_weight, dc_tensor **out)
{
    *out = NULL;
    dc_status st;
    if (n_class_weight < 0)
        return dc_fail(DC_ERR_ARG, "%s: n_class_weight is %d, must not be negative", where, n_class_weight);
    int use_cw = n_class_weight > 0;
    if (sample_weight && use_cw)
        return dc_fail(DC_ERR_ARG, "%s: you cannot give class_weight and sample_weight at the same time; fold the "
                                   "class weights into sample_weight",
                       where);
    if (sample_weight && (st = check_sample_weight(m, where, "sample_weight", y, sample_weight)) != DC_OK)
        return st;
    if (use_cw && (st = check_class_weight(m, where, y, class_weight, n_class_weight)) != DC_OK)
        return st;
    if (!sample_weight && !use_cw)
        return DC_OK;
    int n = y->shape[0], rows = rows_per_sample(m);
    dc_tensor *w = dc_tensor_new(2, (int[]){n, rows});
    if (!w)
        return dc_last_status();
    for (int i = 0; i < n; i++) {
        float *wr = w->data + (size_t)i * rows;
        if (use_cw) {
            long c = label_class(y, i);
            wr[0] = c >= 0 && c < n_class_weight ? class_weight[c] : 1.0f;
        } else if (sample_weight->size == (size_t)n) {
            for (int r = 0; r < rows; r++)
                wr[r] = sample_weight->data[i];
        } else {
            memcpy(wr, sample_weight->data + (size_t)i * rows, (size_t)rows * sizeof(float));
        }
    }
    *out = w;
    return DC_OK;
}
