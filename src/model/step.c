/*
 * step.c - one step of fit, train_on_batch, evaluate and validation: the same
 * code for a single process and for a data-parallel collective (replica.c).
 *
 * A single process is rank 0 of a collective of 1: its slice of the batch is
 * the whole batch and its combine does nothing.  A training step:
 *   1. save the state the step may have to undo: the non-trainable part of
 *      the flat parameter buffer (the graph lays the trainable parameters
 *      first, then the others: g->params[n_trainable, n_params)), which a
 *      forward pass in training mode may move (BatchNormalization's moving
 *      statistics), and the metrics;
 *   2. forward, backward and the metrics on this process's slice;
 *   3. combine across the collective (nothing for one process);
 *   4. a non-finite combined loss puts the non-trainable parameters back and
 *      applies nothing, so a NaN batch changes no parameter (every rank reads
 *      the same combined loss, so every rank decides alike);
 *   5. the schedule's learning rate and one optimiser call over the buffer.
 * The step knows nothing of which layers own the non-trainable parameters.
 */
#include "model/model.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

/* This process's slice of rows idx[start..start+b) (idx NULL: in order)
 * forward, backward when training, and into the metrics; *local its loss
 * (0 for an empty slice: a short last batch can leave a rank nothing). */
static dc_status run_slice(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                           int start, int b, int training, float *local)
{
    int off, len;
    dc_replica_slice(m, b, &off, &len);
    *local = 0.0f;
    if (len == 0)
        return DC_OK;
    dc_run run = {.training = training, .rng = &m->rng, .shard_offset = off, .shard_total = b};
    dc_graph_set_batch(m->g, len);
    dc_model_gather_batch(m, x, y, w, idx, start + off, len);
    dc_status st = dc_graph_forward_run(m->g, m->total, &run);
    if (st == DC_OK && training)
        st = dc_graph_backward_run(m->g, m->total, &run);
    if (st != DC_OK)
        return st;
    *local = m->total->val[0];
    dc_model_update_metrics(m, &run);
    return DC_OK;
}

/* run_slice then the combine, from the metrics as they were before. */
static dc_status step(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                      int start, int b, int training, float *loss)
{
    memcpy(m->step_metrics, m->metrics, (size_t)m->n_metrics * sizeof *m->metrics);
    float local;
    dc_status st = run_slice(m, x, y, w, idx, start, b, training, &local);
    if (st == DC_OK)
        st = dc_replica_combine(m, b, training, local, loss);
    return st;
}

dc_status dc_model_train_step(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                              int start, int b, float *loss)
{
    dc_graph *g = m->g;
    float *fixed = g->params + g->n_trainable;
    size_t n_fixed = g->n_params - g->n_trainable;
    memcpy(m->step_buf, fixed, n_fixed * sizeof *fixed);
    dc_status st = step(m, x, y, w, idx, start, b, 1, loss);
    if (st != DC_OK)
        return st;
    if (!isfinite(*loss)) {
        memcpy(fixed, m->step_buf, n_fixed * sizeof *fixed);
        return DC_OK;
    }
    if (m->has_schedule)
        dc_optimizer_set_lr(m->opt, dc_lr_schedule_value(&m->schedule, dc_optimizer_iterations(m->opt)));
    dc_optimizer_step(m->opt, g->params, g->grads);
    return DC_OK;
}

dc_status dc_model_eval_step(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, int start, int b,
                             float *loss)
{
    return step(m, x, y, w, NULL, start, b, 0, loss);
}
