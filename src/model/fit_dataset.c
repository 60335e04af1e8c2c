/*
 * fit_dataset.c - fit, evaluate and predict over a dc_loader (Keras'
 * fit(dataset)): the loop of model.c's fit_run / run_eval / predict_run,
 * fed from the dataset's prefetching pipeline (src/data/dataset_pipe.c)
 * instead of rows of tensors.  model.c is untouched, so in-memory fit stays
 * what it was.  The model's threads are set (apply_threads) before the
 * pipeline starts: a batch that is not ready when the step wants it is
 * filled by this thread's OpenMP team, the training threads, in
 * dc_pipe_next.
 *
 * Each batch arrives as a (batch_size, ...) buffer whose first b rows are
 * the batch; the step (step.c) takes it as x with start 0, so everything a
 * step does - the data-parallel slice, the combine, the NaN rule, the
 * schedule - is the in-memory step's.  Under a collective, the jobs ask the
 * readers for this rank's slice of rows only (dc_replica_slice), so each
 * rank reads (decodes) only its own part of every batch.
 *
 * Order: a dataset that shuffles is read in a new order each pass, drawn
 * with dc_rng_shuffle from the model's RNG at the start of the epoch in
 * which the pass begins, exactly where in-memory fit draws its
 * permutation; so a dataset of tensors trains bit-identically to fit on the
 * same tensors, and a run resumed from a checkpoint (the RNG state is in
 * it) continues the same stream.  With steps_per_epoch the stream goes on
 * across epochs: an epoch starts where the last one stopped, a new pass
 * (a new order) starting whenever one runs out.  The permutations an epoch
 * needs are drawn before its first step, so the reader threads never touch
 * the model's RNG.
 */
#include "data/dataset_internal.h"
#include "model/model.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

static dc_status check_model(const dc_model *m, const dc_loader *ds, const char *where)
{
    if (m->broken_status != DC_OK)
        return dc_fail(m->broken_status, "%s", m->broken);
    if (!m->compiled)
        return dc_fail(DC_ERR_STATE, "%s: the model is not compiled; call dc_model_compile first", where);
    int same = m->in_ndim == ds->x_ndim;
    for (int i = 0; same && i < ds->x_ndim; i++)
        same = m->in_shape[i] == ds->x_shape[i];
    if (!same) {
        char want[96], got[96];
        dc_shape_str(m->in_ndim, m->in_shape, want, sizeof want);
        dc_shape_str(ds->x_ndim, ds->x_shape, got, sizeof got);
        return dc_fail(DC_ERR_SHAPE, "%s: the dataset's samples are %s but the model's input takes %s", where, got,
                       want);
    }
    return DC_OK;
}

/* As model.c's apply_threads: the model's threads for OpenMP and OpenBLAS. */
static void apply_threads(const dc_model *m)
{
    int t = m->threads > 0 && m->threads < dc_default_threads() ? m->threads : dc_default_threads();
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
    omp_set_max_active_levels(1);
}

/* A view of the first b rows of a (batch_size, ...) buffer. */
static dc_tensor rows_view(const dc_tensor *t, int b)
{
    dc_tensor v = *t;
    v.size = t->size / (size_t)t->shape[0] * (size_t)b;
    v.shape[0] = b;
    return v;
}

/* The stream of batches over the passes of a dataset. */
typedef struct stream {
    const dc_loader *ds;
    int shuffle;     /* draw each pass's order from the model's RNG */
    int nb;          /* batches per pass */
    int pos;         /* next batch of the current pass; nb: no pass begun */
    int *cur;        /* the current pass's order (n) */
    int *order;      /* an epoch's orders, passes one after another */
    size_t order_cap;
    dc_batch_job *jobs;
    int jobs_cap;
} stream;

static void stream_free(stream *s)
{
    free(s->cur);
    free(s->order);
    free(s->jobs);
}

/* The next `steps` batches as jobs (and their orders), drawing the new
 * passes' permutations from rng. */
static dc_status stream_plan(stream *s, dc_model *m, int steps)
{
    const dc_loader *ds = s->ds;
    int n = ds->n;
    if (steps > s->jobs_cap) {
        dc_batch_job *j = realloc(s->jobs, (size_t)steps * sizeof *j);
        if (!j)
            return dc_fail(DC_ERR_NOMEM, "fit: out of memory planning %d batches", steps);
        s->jobs = j;
        s->jobs_cap = steps;
    }
    /* the passes this epoch touches: what is left of the current one, then new ones */
    int left = s->pos < s->nb ? s->nb - s->pos : 0;
    int new_passes = steps > left ? (steps - left - 1) / s->nb + 1 : 0;
    size_t need = (size_t)n * (size_t)(new_passes + 1);
    if (n && need > s->order_cap) {
        int *o = realloc(s->order, need * sizeof *o);
        if (!o)
            return dc_fail(DC_ERR_NOMEM, "fit: out of memory for the order of %zu samples", need);
        s->order = o;
        s->order_cap = need;
    }
    if (n && left)
        memcpy(s->order, s->cur, (size_t)n * sizeof(int));
    int pass = left ? 0 : -1; /* the order block of the current pass */
    for (int k = 0; k < steps; k++) {
        if (s->pos == s->nb) { /* a new pass */
            pass++;
            if (n) {
                for (int i = 0; i < n; i++)
                    s->cur[i] = i;
                if (s->shuffle)
                    dc_rng_shuffle(&m->rng, s->cur, n);
                memcpy(s->order + (size_t)pass * (size_t)n, s->cur, (size_t)n * sizeof(int));
            }
            s->pos = 0;
        }
        dc_batch_job *j = &s->jobs[k];
        int b = n ? (s->pos == s->nb - 1 ? n - s->pos * ds->batch_size : ds->batch_size) : ds->batch_size;
        j->first = n ? pass * n + s->pos * ds->batch_size : 0;
        j->b = b;
        j->index = s->pos;
        dc_replica_slice(m, b, &j->off, &j->len);
        s->pos++;
    }
    return DC_OK;
}

static dc_status stream_init(stream *s, const dc_loader *ds, int shuffle)
{
    memset(s, 0, sizeof *s);
    s->ds = ds;
    s->shuffle = shuffle && ds->shuffle && ds->n > 0;
    s->nb = dc_loader_batches(ds);
    s->pos = s->nb;
    if (ds->n && !(s->cur = dc_malloc((size_t)ds->n * sizeof(int))))
        return dc_last_status();
    return DC_OK;
}

/* The rows a batch really has: a callback's own count, else b.  Under a
 * collective a callback's batch must be full-size on every rank. */
static dc_status batch_rows(const dc_loader *ds, const dc_batch_job *j, int rows, int *b)
{
    *b = ds->fill_batch ? rows : j->b;
    return DC_OK;
}

/* Checks the targets of a batch (shape and sparse labels) as fit checks y. */
static dc_status check_batch_targets(const dc_model *m, const char *where, const dc_tensor *y, int b)
{
    if (!y)
        return dc_fail(DC_ERR_ARG, "%s: the dataset has no labels (label_mode none); fit and evaluate need them",
                       where);
    dc_tensor v = rows_view(y, b);
    return dc_check_targets(m, where, &v);
}

/* evaluate's loop over `steps` batches of s (validation or evaluate). */
static dc_status eval_stream(dc_model *m, const char *where, stream *s, int steps, dc_progress *prog,
                             double *results)
{
    dc_status st = stream_plan(s, m, steps);
    if (st != DC_OK)
        return st;
    dc_pipe *p;
    if ((st = dc_pipe_start_team(s->ds, s->order, s->jobs, steps, omp_get_max_threads(), dc_default_threads(),
                                 &p)) != DC_OK)
        return st;
    double loss_sum = 0, seen = 0;
    for (int i = 0; i < m->n_metrics; i++)
        dc_metric_reset(&m->metrics[i]);
    for (int k = 0; k < steps && st == DC_OK; k++) {
        dc_tensor *x, *y;
        int rows, b;
        if ((st = dc_pipe_next(p, &x, &y, &rows)) != DC_OK || (st = batch_rows(s->ds, &s->jobs[k], rows, &b)) != DC_OK ||
            (st = check_batch_targets(m, where, y, b)) != DC_OK)
            break;
        dc_tensor xv = rows_view(x, b), yv = rows_view(y, b);
        float loss;
        st = dc_model_eval_step(m, &xv, &yv, NULL, 0, b, &loss);
        dc_pipe_release(p);
        if (st != DC_OK)
            break;
        loss_sum += (double)loss * b;
        seen += b;
        results[0] = loss_sum / seen;
        for (int i = 0; i < m->n_metrics; i++)
            results[1 + i] = dc_metric_value(&m->metrics[i]);
        if (prog)
            dc_progress_update(prog, k + 1, m->name_ptrs, results, 1 + m->n_metrics, k == steps - 1);
    }
    dc_pipe_stop(p);
    return st;
}

dc_loader_fit_config dc_loader_fit_defaults(void)
{
    dc_loader_fit_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1;
    c.shuffle = 1;
    c.verbose = 1;
    return c;
}

/* One epoch of `steps` training batches from s. */
static dc_status fit_epoch(dc_model *m, stream *s, int steps, int epoch, const dc_loader_fit_config *cfg,
                           dc_progress *prog, double *values)
{
    dc_pipe *p;
    dc_status st = dc_pipe_start_team(s->ds, s->order, s->jobs, steps, omp_get_max_threads(),
                                      dc_default_threads(), &p);
    if (st != DC_OK)
        return st;
    double loss_sum = 0, seen = 0;
    dc_logs logs;
    for (int i = 0; i < m->n_metrics; i++)
        dc_metric_reset(&m->metrics[i]);
    for (int k = 0; k < steps && !m->stop_training && st == DC_OK; k++) {
        if ((st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_BEGIN, k, NULL)) != DC_OK)
            break;
        dc_tensor *x, *y;
        int rows, b;
        if ((st = dc_pipe_next(p, &x, &y, &rows)) != DC_OK || (st = batch_rows(s->ds, &s->jobs[k], rows, &b)) != DC_OK ||
            (st = check_batch_targets(m, "fit", y, b)) != DC_OK)
            break;
        dc_tensor xv = rows_view(x, b), yv = rows_view(y, b);
        float loss;
        st = dc_model_train_step(m, &xv, &yv, NULL, NULL, 0, b, &loss);
        dc_pipe_release(p);
        if (st != DC_OK)
            break;
        if (!isfinite(loss)) {
            values[0] = loss;
            dc_logs_reset(&logs, 1 + m->n_metrics, m->name_ptrs, values);
            if ((st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_END, k, &logs)) != DC_OK)
                break;
            if (m->stop_training)
                break;
            st = dc_fail(DC_ERR_NAN, "fit: loss is %s at epoch %d, batch %d; training stopped (try a lower "
                                     "learning rate, or check the data for NaN or infinite values)",
                         isnan(loss) ? "NaN" : "infinite", epoch, k + 1);
            break;
        }
        loss_sum += (double)loss * b;
        seen += b;
        values[0] = loss_sum / seen;
        for (int i = 0; i < m->n_metrics; i++)
            values[1 + i] = dc_metric_value(&m->metrics[i]);
        if (prog && k != steps - 1)
            dc_progress_update(prog, k + 1, m->name_ptrs, values, 1 + m->n_metrics, 0);
        if (cfg->n_callbacks) {
            dc_logs_reset(&logs, 1 + m->n_metrics, m->name_ptrs, values);
            st = dc_callbacks_run(cfg->callbacks, cfg->n_callbacks, m, DC_CB_BATCH_END, k, &logs);
        }
    }
    dc_pipe_stop(p);
    return st;
}

static dc_status check_fit_args(dc_model *m, const dc_loader *ds, const dc_loader_fit_config *cfg)
{
    dc_status st = check_model(m, ds, "fit");
    if (st != DC_OK)
        return st;
    if (!m->total->requires_grad)
        return dc_fail(DC_ERR_STATE, "fit: the model has no trainable weights (every layer with weights is frozen, "
                                     "or none has weights); unfreeze a layer before compile");
    if (!dc_loader_has_y(ds))
        return dc_fail(DC_ERR_ARG, "fit: the dataset has no labels (label_mode none); fit needs targets");
    if (cfg->epochs < 0 || cfg->initial_epoch < 0 || cfg->steps_per_epoch < 0 || cfg->validation_steps < 0)
        return dc_fail(DC_ERR_ARG, "fit: epochs %d, initial_epoch %d, steps_per_epoch %d and validation_steps %d must "
                                   "not be negative",
                       cfg->epochs, cfg->initial_epoch, cfg->steps_per_epoch, cfg->validation_steps);
    if (cfg->n_callbacks < 0 || (cfg->n_callbacks > 0 && !cfg->callbacks))
        return dc_fail(DC_ERR_ARG, "fit: %d callbacks but the callbacks array is NULL", cfg->n_callbacks);
    for (int i = 0; i < cfg->n_callbacks; i++)
        if (!cfg->callbacks[i])
            return dc_fail(DC_ERR_ARG, "fit: callbacks[%d] is NULL (did its constructor fail?)", i);
    if (cfg->validation_data) {
        if ((st = check_model(m, cfg->validation_data, "fit (validation_data)")) != DC_OK)
            return st;
        if (!dc_loader_has_y(cfg->validation_data))
            return dc_fail(DC_ERR_ARG, "fit (validation_data): the dataset has no labels");
    }
    return DC_OK;
}

dc_status dc_model_fit_loader(dc_model *m, const dc_loader *ds, const dc_loader_fit_config *cfg_in,
                               dc_history **history)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(ds);
    dc_loader_fit_config cfg = cfg_in ? *cfg_in : dc_loader_fit_defaults();
    if (history)
        *history = NULL;
    dc_status st = check_fit_args(m, ds, &cfg);
    if (st != DC_OK)
        return st;
    const dc_loader *vds = cfg.validation_data;
    FILE *out = cfg.out ? cfg.out : stdout;
    int steps = cfg.steps_per_epoch ? cfg.steps_per_epoch : dc_loader_batches(ds);
    int vsteps = !vds ? 0 : cfg.validation_steps && cfg.validation_steps < dc_loader_batches(vds) ? cfg.validation_steps : dc_loader_batches(vds);
    int batch = ds->batch_size > (vds ? vds->batch_size : 0) ? ds->batch_size : vds->batch_size;
    if ((st = dc_graph_reserve(m->g, batch)) != DC_OK)
        return st;
    double same[] = {ds->n, dc_loader_batches(ds), ds->batch_size, steps, vsteps, cfg.epochs, cfg.initial_epoch,
                     cfg.shuffle != 0};
    st = dc_replica_agree(m, "fit",
                          "the number of samples, batches, batch size, steps, validation steps, epochs and shuffle",
                          same, (int)(sizeof same / sizeof same[0]));
    if (st == DC_OK)
        st = dc_replica_fit_begin(m);
    if (st != DC_OK)
        return st;
    if (!dc_replica_chief(m))
        cfg.verbose = 0;
    apply_threads(m);

    int n_keys = (1 + m->n_metrics) * (vsteps ? 2 : 1);
    char keynames[DC_FIT_KEYS][DC_LOGS_KEY_LEN];
    const char *keys[DC_FIT_KEYS];
    for (int i = 0; i < n_keys; i++) {
        snprintf(keynames[i], sizeof keynames[i], "%s%s", i > m->n_metrics ? "val_" : "", m->names[i % (1 + m->n_metrics)]);
        keys[i] = keynames[i];
    }
    dc_history *h = dc_history_new(n_keys, keys);
    stream s, vs;
    dc_status st1 = stream_init(&s, ds, cfg.shuffle);
    dc_status st2 = vds ? stream_init(&vs, vds, 0) : DC_OK;
    if (!h || st1 != DC_OK || st2 != DC_OK) {
        st = h ? (st1 != DC_OK ? st1 : st2) : dc_last_status();
        dc_history_free(h);
        stream_free(&s);
        if (vds)
            stream_free(&vs);
        return st;
    }
    double values[DC_FIT_KEYS];
    dc_logs logs;
    m->stop_training = 0;
    st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_TRAIN_BEGIN, 0, NULL);
    for (int done = cfg.initial_epoch; done < cfg.epochs && st == DC_OK && !m->stop_training; done++) {
        const int epoch = done + 1;
        st = stream_plan(&s, m, steps); /* the passes' orders: drawn where in-memory fit draws its permutation */
        if (st != DC_OK)
            break;
        dc_progress prog;
        dc_progress_epoch(out, cfg.verbose, epoch, cfg.epochs);
        dc_progress_begin(&prog, out, cfg.verbose, steps);
        st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_EPOCH_BEGIN, epoch - 1, NULL);
        if (st == DC_OK)
            st = fit_epoch(m, &s, steps, epoch, &cfg, cfg.verbose ? &prog : NULL, values);
        if (st == DC_OK && vsteps) {
            vs.pos = vs.nb; /* validation reads from its first batch each epoch */
            st = eval_stream(m, "fit (validation_data)", &vs, vsteps, NULL, values + 1 + m->n_metrics);
        }
        if (st == DC_OK) {
            dc_progress_update(&prog, prog.target, keys, values, n_keys, 1);
            m->epoch = epoch;
            dc_logs_reset(&logs, n_keys, keys, values);
            st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_EPOCH_END, epoch - 1, &logs);
        }
        if (st == DC_OK)
            st = dc_history_record(h, &logs);
    }
    if (st == DC_OK)
        st = dc_callbacks_run(cfg.callbacks, cfg.n_callbacks, m, DC_CB_TRAIN_END, 0, h->epochs ? &logs : NULL);
    stream_free(&s);
    if (vds)
        stream_free(&vs);
    if (st != DC_OK || !history)
        dc_history_free(h);
    else
        *history = h;
    return st;
}

dc_status dc_model_evaluate_loader(dc_model *m, const dc_loader *ds, int steps, int verbose, double *results,
                                    int n_results)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(ds);
    DC_CHECK_NULL(results);
    dc_status st = check_model(m, ds, "evaluate");
    if (st != DC_OK)
        return st;
    if (n_results < 1 + m->n_metrics)
        return dc_fail(DC_ERR_ARG, "evaluate: results holds %d values, the model reports %d (loss + metrics)", n_results,
                       1 + m->n_metrics);
    if (steps < 0)
        return dc_fail(DC_ERR_ARG, "evaluate: steps %d must not be negative", steps);
    if (!steps || steps > dc_loader_batches(ds))
        steps = dc_loader_batches(ds);
    if ((st = dc_graph_reserve(m->g, ds->batch_size)) != DC_OK)
        return st;
    st = dc_replica_agree(m, "evaluate", "the number of samples, batch size and steps",
                          (double[]){ds->n, ds->batch_size, steps}, 3);
    if (st != DC_OK)
        return st;
    if (!dc_replica_chief(m))
        verbose = 0;
    apply_threads(m);
    stream s;
    if ((st = stream_init(&s, ds, 0)) == DC_OK) {
        dc_progress prog;
        dc_progress_begin(&prog, stdout, verbose, steps);
        st = eval_stream(m, "evaluate", &s, steps, verbose ? &prog : NULL, results);
    }
    stream_free(&s);
    return st;
}

dc_status dc_model_predict_loader(dc_model *m, const dc_loader *ds, int steps, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(ds);
    DC_CHECK_NULL(out);
    *out = NULL;
    dc_status st = dc_model_build(m);
    if (st == DC_OK)
        st = check_model(m, ds, "predict");
    if (st != DC_OK)
        return st;
    if (steps < 0)
        return dc_fail(DC_ERR_ARG, "predict: steps %d must not be negative", steps);
    if (!steps || steps > dc_loader_batches(ds))
        steps = dc_loader_batches(ds);
    if ((st = dc_graph_reserve(m->g, ds->batch_size)) != DC_OK)
        return st;
    st = dc_replica_agree(m, "predict", "the number of samples, batch size and steps",
                          (double[]){ds->n, ds->batch_size, steps}, 3);
    if (st != DC_OK)
        return st;
    int shape[DC_MAX_DIMS];
    int ndim = dc_node_shape(m->output, shape);
    shape[0] = ds->n ? (steps == dc_loader_batches(ds) ? ds->n : steps * ds->batch_size) : steps * ds->batch_size;
    dc_tensor *y = dc_tensor_new(ndim, shape);
    if (!y)
        return dc_last_status();
    size_t per = y->size / (size_t)shape[0];
    apply_threads(m);
    stream s;
    dc_pipe *p = NULL;
    st = stream_init(&s, ds, 0);
    if (st == DC_OK)
        st = stream_plan(&s, m, steps);
    if (st == DC_OK)
        st = dc_pipe_start_team(ds, s.order, s.jobs, steps, omp_get_max_threads(), dc_default_threads(), &p);
    dc_run run = {.training = 0, .rng = &m->rng};
    int row = 0;
    for (int k = 0; k < steps && st == DC_OK; k++) {
        dc_tensor *x, *yb;
        int rows, b;
        if ((st = dc_pipe_next(p, &x, &yb, &rows)) != DC_OK || (st = batch_rows(ds, &s.jobs[k], rows, &b)) != DC_OK)
            break;
        int off = s.jobs[k].off, len = s.jobs[k].len;
        if (ds->fill_batch) /* a callback's batch: this rank's slice of the rows it gave */
            dc_replica_slice(m, b, &off, &len);
        if (len > 0) {
            dc_tensor xv = rows_view(x, b);
            dc_graph_set_batch(m->g, len);
            dc_model_gather(m->input, &xv, NULL, off, len);
            st = dc_graph_forward_run(m->g, m->output, &run);
            if (st == DC_OK)
                memcpy(y->data + (size_t)(row + off) * per, m->output->val, (size_t)len * per * sizeof(float));
        }
        dc_pipe_release(p);
        row += b;
    }
    dc_pipe_stop(p);
    stream_free(&s);
    if (st == DC_OK && row < y->shape[0]) { /* a callback's short batches */
        y->shape[0] = row;
        y->size = (size_t)row * per;
    }
    if (st == DC_OK)
        st = dc_replica_gather_output(m, y);
    if (st != DC_OK) {
        dc_tensor_free(y);
        return st;
    }
    *out = y;
    return DC_OK;
}
