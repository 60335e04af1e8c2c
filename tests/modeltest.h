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
        for (int j = 0; j < m->layers[i]->n_params; j++) {
            dc_node *p = m->layers[i]->params[j];
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

#endif
