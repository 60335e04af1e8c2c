/*
 * targets.c - checks the targets y of fit / evaluate against the model's
 * output and loss before anything runs, so that a wrong y is an error naming
 * what is wrong instead of a silently wrong loss.
 *
 * Output (N, classes) or (N, features): y must hold the same number of
 * values per sample (Keras accepts labels (N,) or (N, 1) for the sparse loss
 * and (N,) targets for a (N, 1) output).  A per-step output (N, steps,
 * classes) under a categorical loss (a tagger): y must be (N, steps) or
 * (N, steps, 1) integer labels for the sparse loss, (N, steps, classes)
 * one-hot rows for categorical cross-entropy, as Keras 3 squeezes a trailing
 * 1.  Sparse labels must be integers in [0, classes), every one of them,
 * padded steps included (Keras' TensorFlow backend refuses them too); a bad
 * one is named by its index, and by sample and step for a per-step output.
 * The hinge losses take labels -1, 0 or 1 only (Keras turns 0/1 into -1/1);
 * any other value is named by its sample and column.
 */
#include "model/model.h"

#include <math.h>

static int is_sparse(dc_loss_kind k) { return k == DC_LOSS_SPARSE_CE || k == DC_LOSS_SPARSE_CE_LOGITS; }
static int is_categorical(dc_loss_kind k)
{
    return is_sparse(k) || k == DC_LOSS_CATEGORICAL_CE || k == DC_LOSS_CATEGORICAL_CE_LOGITS;
}

/* Per-step output under a categorical loss: y (N, steps[, 1]) or (N, steps, classes). */
static dc_status check_steps(const dc_model *m, const char *where, const dc_tensor *y)
{
    char sy[96], so[96], se[96];
    int steps = m->output->shape[1], classes = m->output->shape[2], sparse = is_sparse(m->loss_kind);
    int ok = y->ndim >= 2 && y->shape[1] == steps;
    if (sparse)
        ok = ok && (y->ndim == 2 || (y->ndim == 3 && y->shape[2] == 1));
    else
        ok = ok && y->ndim == 3 && y->shape[2] == classes;
    if (ok)
        return DC_OK;
    int n = y->shape[0];
    return dc_fail(DC_ERR_SHAPE,
                   "%s: y has shape %s, but the model outputs %s, one prediction per step, so %s expects %s of "
                   "shape %s%s",
                   where, dc_shape_str(y->ndim, y->shape, sy, sizeof sy),
                   dc_batch_shape_str(m->output->ndim, m->output->shape, so, sizeof so), dc_loss_name(m->loss_kind),
                   sparse ? "integer labels" : "one-hot targets",
                   dc_shape_str(sparse ? 2 : 3, (int[]){n, steps, classes}, se, sizeof se),
                   sparse && y->ndim <= 2 && y->size == (size_t)n
                       ? "; for one label per sequence end the model with a layer that returns one vector per sample "
                         "(a recurrent layer without return_sequences, Flatten or global pooling)"
                       : "");
}

static dc_status check_labels(const dc_model *m, const char *where, const dc_tensor *y)
{
    int classes = dc_node_cols(m->output), steps = m->output->ndim == 3 ? m->output->shape[1] : 0;
    for (size_t i = 0; i < y->size; i++) {
        float v = y->data[i];
        if (v >= 0.0f && v < (float)classes && v == floorf(v))
            continue;
        if (steps)
            return dc_fail(DC_ERR_RANGE,
                           "%s: label y[%zu, %zu] = %g (sample %zu, step %zu) is outside the output's range [0, %d); "
                           "labels must be integers from 0 to %d",
                           where, i / (size_t)steps, i % (size_t)steps, (double)v, i / (size_t)steps,
                           i % (size_t)steps, classes, classes - 1);
        return dc_fail(DC_ERR_RANGE, "%s: label y[%zu] = %g is outside the output's range [0, %d)", where, i, (double)v,
                       classes);
    }
    return DC_OK;
}

static dc_status check_hinge_labels(const dc_model *m, const char *where, const dc_tensor *y)
{
    size_t per = y->size / (size_t)y->shape[0];
    for (size_t i = 0; i < y->size; i++) {
        float v = y->data[i];
        if (v == -1.0f || v == 0.0f || v == 1.0f)
            continue;
        return dc_fail(DC_ERR_RANGE,
                       "%s: %s label y[%zu] = %g (sample %zu, value %zu of %zu) is not -1, 0 or 1; hinge losses take "
                       "-1/1 labels (0/1 labels are converted to -1/1)",
                       where, dc_loss_name(m->loss_kind), i, (double)v, i / per, i % per, per);
    }
    return DC_OK;
}

dc_status dc_check_targets(const dc_model *m, const char *where, const dc_tensor *y)
{
    char sy[96], so[96], se[96];
    dc_status st;
    if (m->output->ndim == 3 && is_categorical(m->loss_kind)) {
        if ((st = check_steps(m, where, y)) != DC_OK)
            return st;
    } else {
        size_t per = dc_node_sample_size(m->target);
        if (y->size / (size_t)y->shape[0] != per)
            return dc_fail(DC_ERR_SHAPE,
                           "%s: y has shape %s, expected %zu value(s) per sample for loss %s (target %s; the model "
                           "outputs %s)",
                           where, dc_shape_str(y->ndim, y->shape, sy, sizeof sy), per, dc_loss_name(m->loss_kind),
                           dc_shape_str(m->target->ndim - 1, m->target->shape + 1, se, sizeof se),
                           dc_batch_shape_str(m->output->ndim, m->output->shape, so, sizeof so));
    }
    if (m->loss_kind == DC_LOSS_HINGE || m->loss_kind == DC_LOSS_SQUARED_HINGE)
        return check_hinge_labels(m, where, y);
    return is_sparse(m->loss_kind) ? check_labels(m, where, y) : DC_OK;
}
