/*
 * replica.c - synchronous data parallelism (Keras' MultiWorkerMirroredStrategy,
 * Horovod) over a dc_collective installed on the model.  The core knows no
 * communication library: the collective is a table of functions (deepc_mpi
 * implements it over MPI, src/dist/).
 *
 * Every rank holds the same x and y and walks the same shuffled order (same
 * RNG state, broadcast from rank 0 at the start of fit).  A global batch of b
 * rows is split into contiguous slices, one per rank, sizes differing by at
 * most one.  A training step on each rank: forward and backward of its slice,
 * then ONE combine, a sum over the ranks of
 *   floats  [0, n_trainable)       w * gradient of the slice's mean loss
 *           [n_trainable, n_params) w * change of the non-trainable
 *                                  parameters in this step (moving statistics)
 *   doubles w, w * loss, the RNG state (rank 0 only), and each metric's
 *           change of state (sum, count, confusion counts: all sums),
 * where w is the slice's weight: its rows, or its unpadded steps for a
 * masked per-step loss (the global batch's loss is then sum / count over all
 * unpadded steps).  Sample weights leave w alone: a slice's loss is
 * sum(sw * l) / its rows (Keras' sum_over_batch_size), so w * loss sums to
 * sum(sw * l) over the global batch and the division by the total rows
 * gives the global batch's weighted loss, as one process computes it.  Dividing by the total weight gives the gradient of the
 * global batch's mean loss (regularisers included once: the weights sum to
 * the total), and the slice-weighted mean of the replicas' moving-statistics
 * updates.  The collective promises a bitwise identical sum on every rank,
 * and every rank then does the same arithmetic, so the weights stay bitwise
 * identical.  The gradient buffer's non-trainable part is free scratch (the
 * optimiser never reads it), so the floats are combined in place.
 *
 * The step itself (step.c) is the same with or without a collective: a
 * single process is rank 0 of 1, its slice is the whole batch, and every
 * function here does nothing for it (a sum over one process is the value
 * itself, and doing the arithmetic above would round it).
 */
#include "model/model.h"
#include "optim/optim.h"

#include <stdio.h>
#include <string.h>

void dc_replica_single(dc_model *m)
{
    m->coll = (dc_collective){.rank = 0, .size = 1};
    m->has_collective = 0;
}

dc_status dc_model_set_collective(dc_model *m, const dc_collective *c)
{
    if (!m)
        return dc_fail(DC_ERR_ARG, "set_collective: the model is NULL");
    if (!c) {
        dc_replica_single(m);
        return DC_OK;
    }
    if (c->size < 1 || c->rank < 0 || c->rank >= c->size)
        return dc_fail(DC_ERR_ARG, "set_collective: rank %d of size %d, expected size >= 1 and 0 <= rank < size",
                       c->rank, c->size);
    if (!c->sum_f32 || !c->sum_f64 || !c->bcast_f32)
        return dc_fail(DC_ERR_ARG, "set_collective: %s is NULL; every function of the collective is needed",
                       !c->sum_f32 ? "sum_f32" : !c->sum_f64 ? "sum_f64" : "bcast_f32");
    m->coll = *c;
    m->has_collective = 1;
    return DC_OK;
}

int dc_replica_on(const dc_model *m) { return m->has_collective; }

int dc_replica_chief(const dc_model *m) { return m->coll.rank == 0; }

void dc_replica_slice(const dc_model *m, int b, int *off, int *len)
{
    int p = m->coll.size, r = m->coll.rank, base = b / p, rem = b % p;
    *len = base + (r < rem);
    *off = r * base + (r < rem ? r : rem);
}

/* The collective's calls, with the failing one named in the message. */
static dc_status sum_f32(dc_model *m, float *buf, size_t n)
{
    dc_status st = m->coll.sum_f32(buf, n, m->coll.user);
    if (st != DC_OK)
        dc_err_prefix("data-parallel sum of floats");
    return st;
}

static dc_status sum_f64(dc_model *m, double *buf, size_t n)
{
    dc_status st = m->coll.sum_f64(buf, n, m->coll.user);
    if (st != DC_OK)
        dc_err_prefix("data-parallel sum of doubles");
    return st;
}

#define AGREE_MAX 16

dc_status dc_replica_agree(dc_model *m, const char *where, const char *what, const double *values, int n)
{
    /* all equal exactly when size * sum(v^2) == sum(v)^2, for each value;
     * every rank reads the same sums, so every rank decides alike */
    double buf[2 * AGREE_MAX];
    if (!m->has_collective)
        return DC_OK;
    if (n > AGREE_MAX)
        n = AGREE_MAX;
    for (int i = 0; i < n; i++) {
        buf[2 * i] = values[i];
        buf[2 * i + 1] = values[i] * values[i];
    }
    dc_status st = sum_f64(m, buf, 2 * (size_t)n);
    if (st != DC_OK)
        return st;
    for (int i = 0; i < n; i++)
        if (m->coll.size * buf[2 * i + 1] != buf[2 * i] * buf[2 * i])
            return dc_fail(DC_ERR_ARG, "%s: the %d ranks disagree on %s (value %d here, on rank %d: %g); every rank "
                                       "must pass the same data and arguments",
                           where, m->coll.size, what, i + 1, m->coll.rank, values[i]);
    return DC_OK;
}

/* Adds rank 0's RNG state into d[0..4) (the others add 0); after the sum
 * every rank takes it. */
static void rng_put(const dc_model *m, double *d)
{
    for (int k = 0; k < 4; k++)
        d[k] = m->coll.rank == 0 ? (double)m->rng.s[k] : 0.0;
}

static void rng_take(dc_model *m, const double *d)
{
    for (int k = 0; k < 4; k++)
        m->rng.s[k] = (uint32_t)d[k];
}

dc_status dc_replica_fit_begin(dc_model *m)
{
    if (!m->has_collective)
        return DC_OK;
    dc_graph *g = m->g;
    dc_status st = m->coll.bcast_f32(g->params, g->n_params, 0, m->coll.user);
    if (st != DC_OK) {
        dc_err_prefix("fit: broadcasting the weights from rank 0");
        return st;
    }
    /* the optimiser's slots, step count and learning rate too: a checkpoint
     * loaded on rank 0 alone resumes exactly */
    for (int s = 0; s < dc_optimizer_slot_count(m->opt); s++)
        if ((st = m->coll.bcast_f32(dc_optimizer_slot(m->opt, s), g->n_trainable, 0, m->coll.user)) != DC_OK) {
            char where[96];
            snprintf(where, sizeof where, "fit: broadcasting the optimiser's %s from rank 0",
                     dc_optimizer_slot_name(m->opt, s));
            dc_err_prefix(where);
            return st;
        }
    double d[6];
    rng_put(m, d);
    int chief = m->coll.rank == 0;
    d[4] = chief ? (double)dc_optimizer_iterations(m->opt) : 0.0;
    d[5] = chief ? (double)dc_optimizer_get_lr(m->opt) : 0.0;
    if ((st = sum_f64(m, d, 6)) != DC_OK)
        return st;
    rng_take(m, d);
    if ((st = dc_optimizer_set_iterations(m->opt, (long)d[4])) != DC_OK)
        return st;
    dc_optimizer_set_lr(m->opt, (float)d[5]);
    return DC_OK;
}

/* Doubles of a combine: weight, weight * loss, RNG state, metric deltas. */
enum { D_W, D_WLOSS, D_RNG, D_METRICS = D_RNG + 4, D_MAX = D_METRICS + DC_METRIC_STATE_MAX * DC_MODEL_METRICS };

/* How many doubles a combine carries: the fixed ones and every metric's state. */
static int d_len(const dc_model *m)
{
    int n = D_METRICS;
    for (int i = 0; i < m->n_metrics; i++)
        n += dc_metric_state_len(&m->metrics[i]);
    return n;
}

/* The slice's weight: its rows, or its unpadded steps under a masked loss. */
static double slice_weight(const dc_model *m, int rows)
{
    const dc_node *mask = dc_model_step_mask(m);
    if (!mask || rows == 0)
        return rows;
    size_t n = dc_node_numel(mask), valid = 0;
    for (size_t i = 0; i < n; i++)
        valid += mask->val[i] != 0.0f;
    return (double)valid;
}

/* After the sum: the global loss, and every metric advanced by all ranks. */
static float take_loss_metrics(dc_model *m, const double *d)
{
    for (int i = 0, at = D_METRICS; i < m->n_metrics; at += dc_metric_state_len(&m->metrics[i]), i++)
        dc_metric_state_add(&m->metrics[i], d + at);
    return d[D_W] > 0 ? (float)(d[D_WLOSS] / d[D_W]) : 0.0f;
}

/* The combine's floats, before the sum: the trainable part of the gradient
 * times the slice's weight w, the non-trainable part w times the change of
 * each non-trainable parameter since the step began (step_buf).  A weight
 * of 0 (an empty slice, or all padding) adds nothing: its gradient buffer
 * may hold an earlier step's values. */
static void weigh_gradient(dc_model *m, float w)
{
    dc_graph *g = m->g;
    size_t nt = g->n_trainable, np = g->n_params;
    float *params = g->params, *grads = g->grads, *before = m->step_buf;
    if (w == 0.0f) {
        memset(grads, 0, np * sizeof(float));
        return;
    }
    for (size_t i = 0; i < nt; i++)
        grads[i] *= w;
    for (size_t i = nt; i < np; i++)
        grads[i] = w * (params[i] - before[i - nt]);
}

/* After the sum, with inv = 1 / the total weight: the global batch's
 * gradient, and the slice-weighted mean update of the non-trainable
 * parameters; parameters that no rank changed (frozen ones) keep their
 * exact value. */
static void take_gradient(dc_model *m, float inv)
{
    dc_graph *g = m->g;
    size_t nt = g->n_trainable, np = g->n_params;
    float *params = g->params, *grads = g->grads, *before = m->step_buf;
    for (size_t i = 0; i < nt; i++)
        grads[i] *= inv;
    for (size_t i = nt; i < np; i++)
        params[i] = grads[i] != 0.0f ? before[i - nt] + grads[i] * inv : before[i - nt];
}

dc_status dc_replica_combine(dc_model *m, int b, int training, float local, float *loss)
{
    if (!m->has_collective) { /* a single process: its slice is the batch */
        *loss = local;
        return DC_OK;
    }
    int off, len;
    dc_replica_slice(m, b, &off, &len);
    double d[D_MAX];
    memset(d, 0, (size_t)d_len(m) * sizeof *d);
    d[D_W] = slice_weight(m, len);
    d[D_WLOSS] = d[D_W] * local;
    /* the metrics' changes go into the sum; each metric restarts from its
     * state before the step and takes every rank's change */
    for (int i = 0, at = D_METRICS; len > 0 && i < m->n_metrics; at += dc_metric_state_len(&m->metrics[i]), i++)
        dc_metric_state_diff(&m->metrics[i], &m->step_metrics[i], d + at);
    memcpy(m->metrics, m->step_metrics, (size_t)m->n_metrics * sizeof *m->metrics);
    dc_status st = DC_OK;
    if (training) {
        weigh_gradient(m, (float)d[D_W]);
        rng_put(m, d + D_RNG);
        st = sum_f32(m, m->g->grads, m->g->n_params);
    }
    if (st == DC_OK)
        st = sum_f64(m, d, d_len(m));
    if (st != DC_OK)
        return st;
    *loss = take_loss_metrics(m, d);
    if (training) {
        rng_take(m, d + D_RNG);
        take_gradient(m, d[D_W] > 0 ? (float)(1.0 / d[D_W]) : 0.0f);
    }
    return DC_OK;
}

dc_status dc_replica_gather_output(dc_model *m, dc_tensor *out)
{
    return m->has_collective ? sum_f32(m, out->data, out->size) : DC_OK;
}
