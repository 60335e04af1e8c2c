/*
 * modeltest.h - for the tests that train a model against a PyTorch
 * reference (test_train.c, test_functional.c): each step's loss recorded
 * from fit's logs, and the model's parameters set from or checked against
 * fixture arrays named "<which>.<layer>.<variable>".
 */
#ifndef DC_MODELTEST_H
#define DC_MODELTEST_H

#include "testutil.h"
#include "model/model.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    double prev_sum;
    int steps;
    double loss[16];
} step_log;

/* An on_batch_end callback (user: a step_log).  fit's logs hold the
 * epoch's running mean; this recovers each batch's own loss (equal
 * batches). */
static inline dc_status record_loss(void *user, dc_model *m, int batch, dc_logs *logs)
{
    (void)m;
    step_log *l = user;
    if (batch == 0)
        l->prev_sum = 0.0;
    double sum = *dc_logs_get(logs, "loss") * (batch + 1);
    if (l->steps < 16)
        l->loss[l->steps++] = sum - l->prev_sum;
    l->prev_sum = sum;
    return DC_OK;
}

/* Sets (which "init") or checks (which "final", within rtol / atol) every
 * parameter of m against the fixture arrays "<which>.<layer>.<variable>";
 * returns how many there were. */
static inline int params_vs_fixture(dc_model *m, const fx_file *f, const char *which, double rtol, double atol)
{
    int seen = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i]->built->n_params; j++) {
            dc_node *p = m->layers[i]->built->params[j];
            char key[160];
            snprintf(key, sizeof key, "%s.%s", which, p->name);
            char *slash = strchr(key, '/');
            assert_non_null(slash);
            *slash = '.';
            const fx_array *a = fx_get(f, key);
            assert_int_equal(a->size, dc_node_numel(p));
            if (strcmp(which, "init") == 0)
                memcpy(p->val, a->data, a->size * sizeof(float));
            else
                assert_close(p->val, a->data, a->size, rtol, atol, key);
            seen++;
        }
    return seen;
}

/* The reference runs of make_fixtures_train.py and
 * make_fixtures_functional.py: m (compiled) starts from the fixture's
 * "init.*" weights, fits x, y for 2 epochs of batch 4 without shuffling,
 * then each step's loss must match "loss", the n_params weights "final.*"
 * and predict(x_test) "pred" (the bounds: test_train.c's TOLERANCES). */
static inline void fit_vs_fixture(dc_model *m, const fx_file *f, int n_params)
{
    const fx_array *ax = fx_get(f, "x"), *ay = fx_get(f, "y"), *axt = fx_get(f, "x_test");
    dc_tensor *x = dc_tensor_from(ax->ndim, ax->shape, ax->data), *y = dc_tensor_from(ay->ndim, ay->shape, ay->data);
    dc_tensor *xt = dc_tensor_from(axt->ndim, axt->shape, axt->data), *pred;
    assert_int_equal(params_vs_fixture(m, f, "init", 0, 0), n_params);
    step_log log = {0};
    dc_callback cb = {.user = &log, .on_batch_end = record_loss}, *cbs[1] = {&cb};
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.batch_size = 4;
    fc.shuffle = 0;
    fc.verbose = 0;
    fc.callbacks = cbs;
    fc.n_callbacks = 1;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    const fx_array *want = fx_get(f, "loss");
    assert_int_equal(log.steps, (int)want->size);
    float got[16];
    for (int s = 0; s < log.steps; s++)
        got[s] = (float)log.loss[s];
    assert_close(got, want->data, want->size, 5e-5, 1e-6, "per-step loss");
    assert_int_equal(params_vs_fixture(m, f, "final", 1e-4, 2e-4), n_params);
    assert_int_equal(dc_model_predict(m, xt, 32, &pred), DC_OK);
    const fx_array *wp = fx_get(f, "pred");
    assert_int_equal(pred->size, wp->size);
    assert_close(pred->data, wp->data, wp->size, 1e-4, 1e-5, "predict after fit (moving statistics)");
    dc_tensor_free(pred);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xt);
}

#endif
