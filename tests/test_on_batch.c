/*
 * test_on_batch.c - train_on_batch, test_on_batch and predict_on_batch.
 *
 * The equivalences tested, bit for bit: k calls of train_on_batch on
 * consecutive slices of b rows are one epoch of fit at batch b without
 * shuffling (same weights, moving statistics, optimiser state, RNG: the
 * model has BatchNormalization and Dropout, so training mode is checked too,
 * and a learning-rate schedule); with sample weights likewise;
 * test_on_batch is evaluate at batch N and leaves the model as it was;
 * predict_on_batch is predict.  Then every error path; a batch whose loss
 * is NaN changes no parameter, moving statistics included, in
 * train_on_batch and in fit alike.
 */
#include "iotest.h"
#include "model/model.h"

#include <math.h>

#define FEATURES 6
#define CLASSES 3

/* Every float of the model's parameter buffer (weights, moving statistics). */
static int same_params(dc_model *a, dc_model *b)
{
    size_t na, nb;
    const float *pa = dc_graph_params(dc_model_graph(a), &na), *pb = dc_graph_params(dc_model_graph(b), &nb);
    return na == nb && memcmp(pa, pb, na * sizeof(float)) == 0;
}

static dc_model *classifier_with_schedule(void)
{
    dc_model *m = small_classifier(FEATURES, CLASSES, 11);
    dc_lr_schedule s = dc_exponential_decay(0.01f, 2, 0.5f, 0);
    assert_int_equal(dc_model_set_lr_schedule(m, &s), DC_OK);
    return m;
}

static void test_train_on_batch_is_a_step_of_fit(void **state)
{
    (void)state;
    enum { B = 16, K = 4 };
    dc_tensor *x, *y;
    random_data(B * K, FEATURES, CLASSES, 5, &x, &y);
    dc_model *fitted = classifier_with_schedule(), *stepped = classifier_with_schedule();
    assert_true(same_params(fitted, stepped));

    dc_fit_config c = quiet_fit(1, B);
    c.shuffle = 0;
    dc_history *h;
    assert_int_equal(dc_model_fit(fitted, x, y, &c, &h), DC_OK);

    double loss_sum = 0, hits = 0;
    for (int k = 0; k < K; k++) {
        dc_tensor *xb = tensor_rows(x, k * B, B), *yb = tensor_rows(y, k * B, B);
        double r[2];
        assert_int_equal(dc_model_train_on_batch(stepped, xb, yb, NULL, r, 2), DC_OK);
        loss_sum += r[0] * B;
        hits += r[1] * B;
        dc_tensor_free(xb);
        dc_tensor_free(yb);
    }
    assert_true(same_params(fitted, stepped));
    assert_memory_equal(&fitted->rng, &stepped->rng, sizeof fitted->rng);
    assert_true(dc_model_get_lr(fitted) == dc_model_get_lr(stepped));
    /* fit's epoch loss is the same running sum; its accuracy counts the same hits */
    assert_true(loss_sum / (B * K) == dc_history_get(h, "loss")[0]);
    assert_true(fabs(hits / (B * K) - dc_history_get(h, "accuracy")[0]) < 1e-12);

    /* and they go on identically: predictions in inference mode agree */
    assert_same_predictions(fitted, stepped, x);
    dc_history_free(h);
    dc_model_free(fitted);
    dc_model_free(stepped);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_train_on_batch_with_sample_weights(void **state)
{
    (void)state;
    enum { N = 24 };
    dc_tensor *x, *y;
    random_data(N, FEATURES, CLASSES, 9, &x, &y);
    dc_tensor *w = dc_tensor_new4(1, N, 0, 0, 0);
    for (int i = 0; i < N; i++)
        w->data[i] = (float)(i % 4) * 0.5f; /* zeros included */
    dc_model *fitted = small_classifier(FEATURES, CLASSES, 3), *stepped = small_classifier(FEATURES, CLASSES, 3);
    dc_fit_config c = quiet_fit(1, N);
    c.shuffle = 0;
    c.sample_weight = w;
    dc_history *h;
    assert_int_equal(dc_model_fit(fitted, x, y, &c, &h), DC_OK);
    double r[2];
    assert_int_equal(dc_model_train_on_batch(stepped, x, y, w, r, 2), DC_OK);
    assert_true(same_params(fitted, stepped));
    assert_true(r[0] == dc_history_get(h, "loss")[0]);
    /* the weights matter: unweighted, the step differs */
    dc_model *plain = small_classifier(FEATURES, CLASSES, 3);
    assert_int_equal(dc_model_train_on_batch(plain, x, y, NULL, r, 2), DC_OK);
    assert_false(same_params(plain, stepped));
    dc_history_free(h);
    dc_model_free(plain);
    dc_model_free(fitted);
    dc_model_free(stepped);
    dc_tensor_free(w);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_test_and_predict_on_batch(void **state)
{
    (void)state;
    enum { N = 40 };
    dc_tensor *x, *y;
    random_data(N, FEATURES, CLASSES, 2, &x, &y);
    dc_model *m = small_classifier(FEATURES, CLASSES, 4), *twin = small_classifier(FEATURES, CLASSES, 4);
    dc_fit_config c = quiet_fit(2, 8);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    assert_int_equal(dc_model_fit(twin, x, y, &c, NULL), DC_OK);

    double want[2], got[2];
    assert_int_equal(dc_model_evaluate(m, x, y, N, 0, want, 2), DC_OK);
    assert_int_equal(dc_model_test_on_batch(m, x, y, NULL, got, 2), DC_OK);
    assert_true(want[0] == got[0] && want[1] == got[1]);
    /* inference mode: nothing moved, not even the RNG */
    assert_true(same_params(m, twin));
    assert_memory_equal(&m->rng, &twin->rng, sizeof m->rng);
    /* per call: a second call on other rows is not a running mean */
    dc_tensor *x2 = tensor_rows(x, 0, 10), *y2 = tensor_rows(y, 0, 10);
    assert_int_equal(dc_model_evaluate(m, x2, y2, 10, 0, want, 2), DC_OK);
    assert_int_equal(dc_model_test_on_batch(m, x2, y2, NULL, got, 2), DC_OK);
    assert_true(want[0] == got[0] && want[1] == got[1]);

    dc_tensor *p, *q;
    assert_int_equal(dc_model_predict(m, x, 7, &p), DC_OK);
    assert_int_equal(dc_model_predict_on_batch(m, x, &q), DC_OK);
    assert_int_equal(p->size, q->size);
    assert_close(q->data, p->data, p->size, 1e-6, 1e-7, "predict_on_batch");
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_tensor_free(x2);
    dc_tensor_free(y2);
    dc_model_free(m);
    dc_model_free(twin);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_on_batch_errors(void **state)
{
    (void)state;
    enum { N = 8 };
    dc_tensor *x, *y;
    random_data(N, FEATURES, CLASSES, 1, &x, &y);
    double r[2];

    int features = FEATURES;
    dc_model *raw = dc_sequential_new(1, &features);
    assert_int_equal(dc_model_add(raw, dc_layer_dense(CLASSES, "softmax")), DC_OK);
    assert_int_equal(dc_model_train_on_batch(raw, x, y, NULL, r, 2), DC_ERR_STATE);
    assert_errmsg_contains("train_on_batch: the model is not compiled");
    assert_int_equal(dc_model_test_on_batch(raw, x, y, NULL, r, 2), DC_ERR_STATE);
    assert_errmsg_contains("test_on_batch: the model is not compiled");
    dc_tensor *p = (dc_tensor *)1;
    assert_int_equal(dc_model_predict_on_batch(raw, x, &p), DC_ERR_STATE);
    assert_null(p);
    assert_errmsg_contains("predict_on_batch: the model is not compiled");
    dc_model_free(raw);

    dc_model *m = small_classifier(FEATURES, CLASSES, 1), *twin = small_classifier(FEATURES, CLASSES, 1);
    dc_tensor *wide = dc_tensor_new4(2, N, FEATURES + 1, 0, 0);
    assert_int_equal(dc_model_train_on_batch(m, wide, y, NULL, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("train_on_batch: dense: input has 7 features, layer expects 6");
    assert_int_equal(dc_model_predict_on_batch(m, wide, &p), DC_ERR_SHAPE);
    assert_errmsg_contains("predict_on_batch: dense: input has 7 features");
    dc_tensor *short_y = tensor_rows(y, 0, N - 1);
    assert_int_equal(dc_model_test_on_batch(m, x, short_y, NULL, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("test_on_batch: x has 8 samples but y has 7");
    assert_int_equal(dc_model_train_on_batch(m, x, y, NULL, r, 1), DC_ERR_ARG);
    assert_errmsg_contains("train_on_batch: results holds 1 values, the model reports 2");
    assert_int_equal(dc_model_train_on_batch(m, x, y, NULL, NULL, 2), DC_ERR_ARG);
    assert_errmsg_contains("dc_model_train_on_batch: results is NULL");
    dc_tensor *bad_w = dc_tensor_new4(1, N - 2, 0, 0, 0);
    assert_int_equal(dc_model_train_on_batch(m, x, y, bad_w, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("train_on_batch");
    dc_tensor *bad_y = dc_tensor_clone(y);
    bad_y->data[3] = CLASSES;
    assert_int_equal(dc_model_train_on_batch(m, x, bad_y, NULL, r, 2), DC_ERR_RANGE);
    assert_errmsg_contains("train_on_batch");
    assert_errmsg_contains("y[3] = 3");
    /* NaN in the batch: refused after the forward pass, the weights untouched */
    dc_tensor *nan_x = dc_tensor_clone(x);
    nan_x->data[5] = NAN;
    assert_int_equal(dc_model_train_on_batch(m, nan_x, y, NULL, r, 2), DC_ERR_NAN);
    assert_errmsg_contains("train_on_batch: loss is NaN; no update was applied");
    assert_true(same_params(m, twin));
    /* fit likewise: the NaN batch leaves even the moving statistics alone */
    dc_model *fresh = small_classifier(FEATURES, CLASSES, 1);
    dc_fit_config c = quiet_fit(1, N);
    assert_int_equal(dc_model_fit(fresh, nan_x, y, &c, NULL), DC_ERR_NAN);
    assert_true(same_params(fresh, twin));
    dc_model_free(fresh);
    /* and the model still trains afterwards */
    assert_int_equal(dc_model_train_on_batch(m, x, y, NULL, r, 2), DC_OK);
    assert_true(isfinite(r[0]));
    assert_false(same_params(m, twin));

    dc_tensor_free(nan_x);
    dc_tensor_free(bad_y);
    dc_tensor_free(bad_w);
    dc_tensor_free(short_y);
    dc_tensor_free(wide);
    dc_model_free(m);
    dc_model_free(twin);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_on_batch_is_a_step_of_fit),
        cmocka_unit_test(test_train_on_batch_with_sample_weights),
        cmocka_unit_test(test_test_and_predict_on_batch),
        cmocka_unit_test(test_on_batch_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
