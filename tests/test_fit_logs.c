/*
 * test_fit_logs.c - what fit reports and keeps: every metric compile
 * accepts (4 metrics and 4 weighted metrics) with validation data, once
 * each in the History; keys that callbacks add to the epoch's logs, once
 * each, NaN in the epochs before they appeared; and the History's values
 * equal to the logs the callbacks saw.
 */
#include "testutil.h"

#include <math.h>
#include <string.h>

#define N 40
#define FEATURES 3

/* A binary problem: label 1 when the features sum above 0. */
static void binary_data(int n, uint64_t seed, dc_tensor **x, dc_tensor **y)
{
    *x = dc_tensor_new4(2, n, FEATURES, 0, 0);
    *y = dc_tensor_new4(2, n, 1, 0, 0);
    assert_non_null(*x);
    assert_non_null(*y);
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        float s = 0;
        for (int j = 0; j < FEATURES; j++)
            s += (*x)->data[i * FEATURES + j] = dc_rng_normal(&r);
        (*y)->data[i] = s > 0.0f;
    }
}

static dc_model *binary_model(void)
{
    int in = FEATURES;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, "sigmoid")), DC_OK);
    return m;
}

/* Each of the History's keys once, and `key` among them. */
static void assert_keys_once(const dc_history *h)
{
    for (int i = 0; i < h->n_keys; i++)
        for (int j = i + 1; j < h->n_keys; j++)
            if (strcmp(h->keys[i], h->keys[j]) == 0)
                fail_msg("history key %s appears twice (%d and %d of %d)", h->keys[i], i, j, h->n_keys);
}

/* Every metric compile takes, weighted and not, with validation data: the
 * epoch's logs hold 2 * (1 + 8) values (this overflowed fit's buffer). */
static void test_all_metrics_with_validation(void **state)
{
    (void)state;
    dc_tensor *x, *y, *xv, *yv;
    binary_data(N, 1, &x, &y);
    binary_data(N / 2, 2, &xv, &yv);
    dc_model *m = binary_model();
    dc_compile_config cc = {.optimizer = dc_optimizer_defaults(DC_OPT_ADAM), .loss = DC_LOSS_BINARY_CE,
                            .metrics = {"accuracy", "precision", "recall", "auc"},
                            .weighted_metrics = {"accuracy", "precision", "recall", "auc"}};
    assert_int_equal(dc_model_compile_ex(m, &cc), DC_OK);
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.batch_size = 8;
    fc.verbose = 0;
    fc.x_val = xv;
    fc.y_val = yv;
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &fc, &h), DC_OK);
    assert_int_equal(h->epochs, 2);
    assert_int_equal(h->n_keys, 2 * (1 + 8));
    assert_keys_once(h);
    const char *want[] = {"loss", "accuracy", "precision", "recall", "auc", "weighted_accuracy", "weighted_precision",
                          "weighted_recall", "weighted_auc"};
    for (int i = 0; i < 9; i++) {
        char val[64];
        snprintf(val, sizeof val, "val_%s", want[i]);
        assert_string_equal(h->keys[i], want[i]);
        assert_string_equal(h->keys[9 + i], val);
        for (int e = 0; e < 2; e++)
            assert_true(isfinite(h->values[i][e]) && isfinite(h->values[9 + i][e]));
    }
    /* without sample weights a weighted metric equals its twin */
    assert_true(h->values[1][1] == h->values[5][1] && h->values[14][1] == h->values[10][1]);
    /* the last validation values are evaluate's on the same data */
    double r[9];
    assert_int_equal(dc_model_evaluate(m, xv, yv, 8, 0, r, 9), DC_OK);
    for (int i = 0; i < 9; i++)
        assert_true(fabs(r[i] - h->values[9 + i][1]) <= 1e-6 * fabs(r[i]) + 1e-9);
    dc_history_free(h);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xv);
    dc_tensor_free(yv);
}

/* Adds "lr_seen" every epoch, "late" from the second epoch on, and keeps a
 * copy of each epoch's final logs (it runs last). */
typedef struct {
    dc_logs seen[3];
} log_keeper;

static dc_status add_keys(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    (void)user;
    dc_status st = dc_logs_set(logs, "lr_seen", dc_model_get_lr(m));
    if (st == DC_OK && epoch >= 1)
        st = dc_logs_set(logs, "late", 10.0 * epoch);
    return st;
}

static dc_status keep_logs(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    (void)m;
    log_keeper *k = user;
    k->seen[epoch] = *logs;
    return DC_OK;
}

static void test_history_keys_once(void **state)
{
    (void)state;
    dc_tensor *x, *y, *xv, *yv;
    binary_data(N, 3, &x, &y);
    binary_data(N / 2, 4, &xv, &yv);
    dc_model *m = binary_model();
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "sgd", "binary_crossentropy", metrics, 1), DC_OK);
    log_keeper keeper;
    memset(&keeper, 0, sizeof keeper);
    dc_callback adder = {.on_epoch_end = add_keys}, keep = {.user = &keeper, .on_epoch_end = keep_logs};
    dc_callback *cbs[] = {&adder, &keep};
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 3;
    fc.batch_size = 8;
    fc.verbose = 0;
    fc.x_val = xv;
    fc.y_val = yv;
    fc.callbacks = cbs;
    fc.n_callbacks = 2;
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &fc, &h), DC_OK);
    assert_int_equal(h->epochs, 3);
    assert_int_equal(h->n_keys, 6);
    assert_keys_once(h);
    const char *want[] = {"loss", "accuracy", "val_loss", "val_accuracy", "lr_seen", "late"};
    for (int k = 0; k < 6; k++) {
        assert_string_equal(h->keys[k], want[k]);
        assert_ptr_equal(dc_history_get(h, want[k]), h->values[k]);
        for (int e = 0; e < 3; e++) {
            const double *v = dc_logs_get(&keeper.seen[e], want[k]);
            if (!v) { /* "late" before it was added */
                assert_string_equal(want[k], "late");
                assert_int_equal(e, 0);
                assert_true(isnan(h->values[k][e]));
            } else {
                assert_true(h->values[k][e] == *v);
            }
        }
    }
    assert_true(h->values[5][2] == 20.0 && fabs(h->values[4][0] - 0.01) < 1e-9);
    dc_history_free(h);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xv);
    dc_tensor_free(yv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_metrics_with_validation),
        cmocka_unit_test(test_history_keys_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
