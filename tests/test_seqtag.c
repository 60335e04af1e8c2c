/*
 * test_seqtag.c - per-time-step classification (sequence tagging):
 * Embedding(mask_zero) -> ... -> Dense(classes, softmax) on every step, with
 * (N, T) integer labels or (N, T, C) one-hot targets.
 *
 * The masked loss and metrics are checked against values worked out by hand
 * on a model whose probabilities are set exactly: embedding rows are logits
 * (0, ln 3) and (ln 3, 0), the Dense kernel is the identity, so every step
 * predicts (0.25, 0.75) or (0.75, 0.25).  Keras 3 (losses/loss.py
 * apply_mask + reduce_values, metrics/reduction_metrics.py) gives:
 *   loss of a batch  = sum of the per-step losses at unpadded steps / their
 *                      count (0 when every step is padded);
 *   epoch loss       = mean of the batch losses weighted by batch size;
 *   metric           = sum over unpadded steps / their count, over the epoch.
 * Then the errors (labels, shapes) and a short end-to-end fit.
 */
#include "iotest.h"

#include "model/model.h"

#include <math.h>
#include <string.h>

#define T 4

static const float A = 0.28768207245178090f; /* -log 0.75 */
static const float B = 1.38629436111989061f; /* -log 0.25 */

/* ids: sample 0 has 2 unpadded steps, sample 1 three, sample 2 none. */
static const float IDS[3 * T] = {0, 0, 1, 2, 0, 1, 1, 2, 0, 0, 0, 0};
/* labels; those at padded steps (any value in range) must not count */
static const float LABELS[3 * T] = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1};

/* Embedding(3, 2, mask_zero) -> Dense(units, act) with the weights set so
 * that token 1 gives logits (0, ln 3) and token 2 (ln 3, 0); with one unit
 * (sigmoid) the logit is e1 - e0: ln 3 and -ln 3. */
static dc_model *exact_model(int units, const char *act, const char *loss, const char *const *metrics, int n_metrics)
{
    int steps = T;
    dc_model *m = dc_sequential_new(1, &steps);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_embedding(3, 2, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(units, act)), DC_OK);
    assert_int_equal(dc_model_compile(m, "sgd", loss, metrics, n_metrics), DC_OK);
    float ln3 = logf(3.0f);
    float *emb = m->layers[0]->built->params[0]->val, *k = m->layers[1]->built->params[0]->val, *b = m->layers[1]->built->params[1]->val;
    const float table[6] = {0, 0, 0, ln3, ln3, 0};
    memcpy(emb, table, sizeof table);
    if (units == 2) {
        memcpy(k, (float[]){1, 0, 0, 1}, 4 * sizeof(float));
        b[0] = b[1] = 0;
    } else {
        k[0] = -1;
        k[1] = 1;
        b[0] = 0;
    }
    return m;
}

static dc_tensor *ids(int n) { return dc_tensor_from(2, (int[]){n, T}, IDS); }

static dc_tensor *onehot(int n)
{
    dc_tensor *y = dc_tensor_new4(3, n, T, 2, 0);
    for (int i = 0; i < n * T; i++)
        y->data[2 * i + (int)LABELS[i]] = 1.0f;
    return y;
}

static void evaluate(dc_model *m, const dc_tensor *x, const dc_tensor *y, int batch, double *r, int n)
{
    if (dc_model_evaluate(m, x, y, batch, 0, r, n) != DC_OK)
        fail_msg("evaluate: %s", dc_errmsg());
}

static void assert_near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-6 + 1e-6 * fabs(want))
        fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

/* Sample 0: steps (token 1, label 1) -> A, right; (token 2, label 1) -> B, wrong.
 * Sample 1: (1, 1) -> A, right; (1, 0) -> B, wrong; (2, 0) -> A, right. */
static void test_masked_loss_and_accuracy_by_hand(void **state)
{
    (void)state;
    const char *metrics[] = {"accuracy", "sparse_categorical_accuracy"};
    dc_model *m = exact_model(2, "softmax", "sparse_categorical_crossentropy", metrics, 2);
    dc_tensor *x = ids(3), *y = dc_tensor_from(2, (int[]){3, T}, LABELS);
    double r[3];
    /* one batch of samples 0 and 1: five unpadded steps */
    dc_tensor *x2 = ids(2), *y2 = dc_tensor_from(2, (int[]){2, T}, LABELS);
    evaluate(m, x2, y2, 2, r, 3);
    assert_near(r[0], (3.0 * A + 2.0 * B) / 5.0, "loss over one batch (sum over 5 steps / 5)");
    assert_near(r[1], 0.6, "accuracy");
    assert_near(r[2], 0.6, "sparse_categorical_accuracy");
    /* not the mean of per-sample means, not the mean over all 8 steps */
    assert_true(fabs(r[0] - ((A + B) / 2 + (2 * A + B) / 3) / 2) > 1e-3);
    /* batches of one sample: the epoch loss is the batch-size weighted mean
     * of the batch losses (Keras' loss tracker); the all-padded sample 2
     * has loss 0; the accuracy still counts every unpadded step once. */
    evaluate(m, x, y, 1, r, 3);
    assert_near(r[0], ((A + B) / 2.0 + (2.0 * A + B) / 3.0 + 0.0) / 3.0, "loss at batch 1");
    assert_near(r[1], 0.6, "accuracy at batch 1");
    /* labels (N, T, 1) read as (N, T) */
    dc_tensor *y3 = dc_tensor_from(3, (int[]){2, T, 1}, LABELS);
    evaluate(m, x2, y3, 2, r, 3);
    assert_near(r[0], (3.0 * A + 2.0 * B) / 5.0, "loss with labels (N, T, 1)");
    /* the padded steps' labels do not matter */
    for (int i = 0; i < 2 * T; i++)
        if (IDS[i] == 0.0f)
            y2->data[i] = 1.0f - y2->data[i];
    evaluate(m, x2, y2, 2, r, 3);
    assert_near(r[0], (3.0 * A + 2.0 * B) / 5.0, "loss with other labels at padded steps");
    assert_near(r[1], 0.6, "accuracy with other labels at padded steps");
    /* predict gives the probabilities of every step, padded ones too */
    dc_tensor *p;
    assert_int_equal(dc_model_predict(m, x2, 2, &p), DC_OK);
    assert_int_equal(p->ndim, 3);
    assert_int_equal(p->shape[2], 2);
    assert_close(p->data + 2 * 3, (float[]){0.75f, 0.25f}, 2, 1e-6, 1e-7, "p(token 2)");
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(x2);
    dc_tensor_free(y2);
    dc_tensor_free(y3);
    dc_model_free(m);
}

/* categorical_crossentropy on one-hot (N, T, 2): the same numbers, and MSE /
 * MAE metrics over the unpadded steps only. */
static void test_categorical_and_regression_metrics_by_hand(void **state)
{
    (void)state;
    const char *metrics[] = {"accuracy", "categorical_accuracy", "mse", "mae"};
    dc_model *m = exact_model(2, "softmax", "categorical_crossentropy", metrics, 4);
    dc_tensor *x = ids(2), *y = onehot(2);
    double r[5];
    evaluate(m, x, y, 2, r, 5);
    assert_near(r[0], (3.0 * A + 2.0 * B) / 5.0, "categorical loss");
    assert_near(r[1], 0.6, "accuracy");
    assert_near(r[2], 0.6, "categorical_accuracy");
    /* a right step: errors (0.25, 0.25); a wrong one (0.75, 0.75) */
    assert_near(r[3], (3 * 0.0625 + 2 * 0.5625) / 5.0, "mse");
    assert_near(r[4], (3 * 0.25 + 2 * 0.75) / 5.0, "mae");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* Dense(1, sigmoid) per step with binary cross-entropy: the loss was masked
 * before; binary accuracy now is too. */
static void test_binary_per_step_by_hand(void **state)
{
    (void)state;
    const char *metrics[] = {"accuracy"};
    dc_model *m = exact_model(1, "sigmoid", "binary_crossentropy", metrics, 1);
    dc_tensor *x = ids(2), *y = dc_tensor_from(3, (int[]){2, T, 1}, LABELS);
    double r[2];
    evaluate(m, x, y, 2, r, 2);
    assert_near(r[0], (3.0 * A + 2.0 * B) / 5.0, "binary loss");
    assert_near(r[1], 0.6, "binary accuracy");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* The tagger of the brief, and what it refuses. */
static dc_model *tagger(int classes, const char *loss) { return tagger_model(T, 5, 4, 16, classes, loss, 7); }

static void test_label_and_shape_errors(void **state)
{
    (void)state;
    /* a metric that compares values needs targets shaped like the output */
    dc_model *m = dc_sequential_new(1, (int[]){T});
    assert_int_equal(dc_model_add(m, dc_layer_embedding(3, 2, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", (const char *[]){"mse"}, 1),
                     DC_ERR_ARG);
    assert_errmsg_contains("metric \"mse\" needs targets shaped like the output");
    dc_model_free(m);

    m = tagger(3, "sparse_categorical_crossentropy");
    dc_tensor *x = ids(3), *y = dc_tensor_from(2, (int[]){3, T}, LABELS);
    double r[2];
    dc_fit_config fit = dc_fit_defaults();
    fit.verbose = 0;
    y->data[1 * T + 2] = 3.0f;
    assert_int_equal(dc_model_fit(m, x, y, &fit, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("fit: label y[1, 2] = 3 (sample 1, step 2) is outside the output's range [0, 3)");
    y->data[1 * T + 2] = 0.0f;
    y->data[2 * T + 0] = -1.0f; /* a padded step: still an error, as in Keras */
    assert_int_equal(dc_model_evaluate(m, x, y, 2, 0, r, 2), DC_ERR_RANGE);
    assert_errmsg_contains("evaluate: label y[2, 0] = -1 (sample 2, step 0)");
    y->data[2 * T + 0] = 0.5f;
    fit.x_val = x;
    fit.y_val = y;
    dc_tensor *good = dc_tensor_from(2, (int[]){3, T}, LABELS);
    assert_int_equal(dc_model_fit(m, x, good, &fit, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("fit (validation_data): label y[2, 0] = 0.5 (sample 2, step 0)");
    /* one label per sequence for a per-step output */
    dc_tensor *y1 = dc_tensor_new4(1, 3, 0, 0, 0);
    assert_int_equal(dc_model_evaluate(m, x, y1, 2, 0, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("y has shape (3,), but the model outputs (None, 4, 3), one prediction per step");
    assert_errmsg_contains("expects integer labels of shape (3, 4)");
    assert_errmsg_contains("for one label per sequence");
    dc_tensor *y5 = dc_tensor_new4(2, 3, 5, 0, 0);
    assert_int_equal(dc_model_evaluate(m, x, y5, 2, 0, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("y has shape (3, 5), but the model outputs (None, 4, 3)");
    dc_model_free(m);

    m = tagger(3, "categorical_crossentropy");
    assert_int_equal(dc_model_evaluate(m, x, good, 2, 0, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("y has shape (3, 4), but the model outputs (None, 4, 3), one prediction per step, so "
                           "categorical_crossentropy expects one-hot targets of shape (3, 4, 3)");
    dc_tensor *y43 = dc_tensor_new4(3, 3, 3, 4, 0); /* (N, C, T): the same size, the wrong shape */
    assert_int_equal(dc_model_evaluate(m, x, y43, 2, 0, r, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("y has shape (3, 3, 4)");
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(good);
    dc_tensor_free(y1);
    dc_tensor_free(y5);
    dc_tensor_free(y43);
}

/* The graph API's loss names the sample and step of a bad label too. */
static void test_graph_loss_names_sample_and_step(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *pred = dc_param(g, 3, (int[]){2, 3, 4}, dc_init_make(DC_INIT_ZEROS), "logits");
    dc_node *labels = dc_input(g, 0, 2, (int[]){2, 3}, "labels");
    dc_node *loss = dc_loss(g, DC_LOSS_SPARSE_CE_LOGITS, pred, labels);
    assert_non_null(loss);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
    float *y = labels->val;
    for (int i = 0; i < 6; i++)
        y[i] = (float)(i % 4);
    assert_int_equal(dc_graph_forward(g, loss, 0), DC_OK);
    assert_near(loss->val[0], log(4.0), "uniform logits: log 4 per step");
    y[5] = 4.0f;
    assert_int_equal(dc_graph_forward(g, loss, 0), DC_ERR_RANGE);
    assert_errmsg_contains("label 4 at sample 1, step 2 is outside the output's range [0, 4)");
    dc_graph_free(g);
    /* (2, 3, 4) predictions with (2, 4) labels: both shapes named */
    g = dc_graph_new();
    pred = dc_param(g, 3, (int[]){2, 3, 4}, dc_init_make(DC_INIT_ZEROS), "logits");
    assert_null(dc_loss(g, DC_LOSS_SPARSE_CE_LOGITS, pred, dc_input(g, 0, 2, (int[]){2, 4}, "bad")));
    assert_errmsg_contains("labels (2, 4) do not fit predictions (2, 3, 4)");
    dc_graph_free(g);
}

/* Still refused: a Dense after a Conv2D (rank 4) under a categorical loss. */
static void test_rank4_output_still_refused(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(3, (int[]){6, 6, 1});
    assert_int_equal(dc_model_add(m, dc_layer_conv2d(2, 3, 3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_ERR_SHAPE);
    assert_errmsg_contains("the last layer dense outputs (4, 4, 3) per sample");
    assert_errmsg_contains("expects (classes,) or (steps, classes); add a Flatten");
    dc_model_free(m);
}

/* The brief's model end to end: fit with validation data on a task that
 * needs the recurrence (tag 1 where the token appeared earlier), evaluate,
 * predict. */
static void test_fit_tagger(void **state)
{
    (void)state;
    enum { N = 256, V = 5 };
    dc_rng r;
    dc_rng_seed(&r, 11);
    dc_tensor *x = dc_tensor_new4(2, N, T, 0, 0), *y = dc_tensor_new4(2, N, T, 0, 0);
    for (int i = 0; i < N; i++) {
        int len = 2 + (int)dc_rng_below(&r, T - 1), seen = 0;
        for (int t = T - len; t < T; t++) { /* pre-padded */
            int tok = 1 + (int)dc_rng_below(&r, V - 1);
            x->data[i * T + t] = (float)tok;
            y->data[i * T + t] = (float)((seen >> tok) & 1);
            seen |= 1 << tok;
        }
    }
    dc_model *m = tagger(2, "sparse_categorical_crossentropy");
    assert_int_equal(dc_model_set_lr(m, 0.02f), DC_OK);
    dc_fit_config fit = dc_fit_defaults();
    fit.verbose = 0;
    fit.epochs = 30;
    fit.batch_size = 16;
    fit.x_val = x;
    fit.y_val = y;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &fit, &h), DC_OK);
    const double *loss = dc_history_get(h, "loss"), *acc = dc_history_get(h, "val_accuracy");
    assert_non_null(loss);
    assert_non_null(acc);
    assert_true(loss[29] < 0.5 * loss[0]);
    double res[2];
    evaluate(m, x, y, 32, res, 2);
    assert_near(res[1], acc[29], "evaluate = the last val_accuracy");
    if (res[1] < 0.9)
        fail_msg("masked per-step accuracy %.4f after 30 epochs, expected >= 0.9", res[1]);
    dc_history_free(h);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masked_loss_and_accuracy_by_hand),
        cmocka_unit_test(test_categorical_and_regression_metrics_by_hand),
        cmocka_unit_test(test_binary_per_step_by_hand),
        cmocka_unit_test(test_label_and_shape_errors),
        cmocka_unit_test(test_graph_loss_names_sample_and_step),
        cmocka_unit_test(test_rank4_output_still_refused),
        cmocka_unit_test(test_fit_tagger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
