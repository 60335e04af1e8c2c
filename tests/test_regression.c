/*
 * test_regression.c - linear, logistic and softmax regression as ordinary
 * deepc models, with known answers:
 *   - seed 003's data (y = 2x + 1 + noise) gives back slope 2 and
 *     intercept 1 within 0.1;
 *   - on the diabetes data (442 x 10, standardised) the trained Dense(1)
 *     weights equal the least-squares solution of the normal equations,
 *     solved here in double by Gaussian elimination, within 1e-3 relative;
 *   - logistic regression on breast cancer reaches >= 0.95 test accuracy on
 *     a seeded 80/20 split; softmax regression on iris >= 0.9.
 * The scikit-learn files are the committed copies (tests/fixtures/sklearn),
 * loaded offline through dc_sklearn_load.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x and y of a dataset, standardised features, split 80/20 with seed 42. */
typedef struct split {
    dc_tensor *x_train, *x_test, *y_train, *y_test;
} split;

static void load_split(const char *name, split *s)
{
    dc_tensor *x, *y;
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_status st = dc_sklearn_load(name, DEEPC_FIXTURES, &x, &y);
    unsetenv("DEEPC_OFFLINE");
    if (st != DC_OK)
        fail_msg("%s", dc_errmsg());
    assert_int_equal(dc_train_test_split(x, y, 0.2f, 42, &s->x_train, &s->x_test, &s->y_train, &s->y_test), DC_OK);
    dc_scaler *sc;
    assert_int_equal(dc_scaler_fit(s->x_train, &sc), DC_OK);
    assert_int_equal(dc_scaler_transform(sc, s->x_train), DC_OK);
    assert_int_equal(dc_scaler_transform(sc, s->x_test), DC_OK);
    dc_scaler_free(sc);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void free_split(split *s)
{
    dc_tensor_free(s->x_train);
    dc_tensor_free(s->x_test);
    dc_tensor_free(s->y_train);
    dc_tensor_free(s->y_test);
}

/* A one-layer model compiled with cfg; the caller frees it. */
static dc_model *one_layer(int features, dc_layer *layer, const dc_compile_config *cfg)
{
    dc_model *m = dc_sequential_new(1, (int[]){features});
    assert_non_null(m);
    dc_model_set_seed(m, 1);
    assert_int_equal(dc_model_add(m, layer), DC_OK);
    assert_int_equal(dc_model_compile_ex(m, cfg), DC_OK);
    return m;
}

static void fit(dc_model *m, const dc_tensor *x, const dc_tensor *y, int epochs, int batch)
{
    dc_fit_config f = dc_fit_defaults();
    f.epochs = epochs;
    f.batch_size = batch;
    f.verbose = 0;
    if (dc_model_fit(m, x, y, &f, NULL) != DC_OK)
        fail_msg("fit: %s", dc_errmsg());
}

static double test_accuracy(dc_model *m, const split *s)
{
    double r[2];
    assert_int_equal(dc_model_evaluate(m, s->x_test, s->y_test, 0, 0, r, 2), DC_OK);
    return r[1];
}

static void test_linear_seed003(void **state)
{
    (void)state;
    enum { N = 100 };
    dc_tensor *x = dc_tensor_new4(2, N, 1, 0, 0), *y = dc_tensor_new4(2, N, 1, 0, 0), *w, *b;
    dc_rng rng;
    dc_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        x->data[i] = -1.0f + 2.0f * (float)i / (N - 1);
        y->data[i] = 2.0f * x->data[i] + 1.0f + 0.33f * dc_rng_normal(&rng);
    }
    dc_compile_config cfg = {.optimizer = dc_optimizer_defaults(DC_OPT_SGD), .loss = DC_LOSS_MSE};
    cfg.optimizer.learning_rate = 0.1f;
    dc_model *m = one_layer(1, dc_layer_dense(1, NULL), &cfg);
    fit(m, x, y, 500, N); /* full-batch gradient descent */
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 0, 1, &b), DC_OK);
    print_message("slope %.4f intercept %.4f\n", (double)w->data[0], (double)b->data[0]);
    assert_true(fabsf(w->data[0] - 2.0f) <= 0.1f);
    assert_true(fabsf(b->data[0] - 1.0f) <= 0.1f);
    dc_tensor_free(w);
    dc_tensor_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* Solves the n x n system a w = r in place (partial pivoting). */
static void solve(double *a, double *r, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(a[i * n + c]) > fabs(a[p * n + c]))
                p = i;
        for (int j = 0; j < n; j++) {
            double t = a[c * n + j];
            a[c * n + j] = a[p * n + j];
            a[p * n + j] = t;
        }
        double t = r[c];
        r[c] = r[p];
        r[p] = t;
        for (int i = c + 1; i < n; i++) {
            double f = a[i * n + c] / a[c * n + c];
            for (int j = c; j < n; j++)
                a[i * n + j] -= f * a[c * n + j];
            r[i] -= f * r[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int j = c + 1; j < n; j++)
            r[c] -= a[c * n + j] * r[j];
        r[c] /= a[c * n + c];
    }
}

static void test_linear_diabetes_normal_equations(void **state)
{
    (void)state;
    dc_tensor *x, *y, *w, *b;
    setenv("DEEPC_OFFLINE", "1", 1);
    assert_int_equal(dc_sklearn_load("diabetes", DEEPC_FIXTURES, &x, &y), DC_OK);
    unsetenv("DEEPC_OFFLINE");
    dc_scaler *sc;
    assert_int_equal(dc_scaler_fit(x, &sc), DC_OK);
    assert_int_equal(dc_scaler_transform(sc, x), DC_OK);
    dc_scaler_free(sc);
    int n = x->shape[0], f = x->shape[1], k = f + 1;

    /* Least squares with an intercept: (A^T A) w = A^T y, A = [x, 1]. */
    double *ata = calloc((size_t)(k * k), sizeof *ata), *aty = calloc((size_t)k, sizeof *aty);
    assert_non_null(ata);
    assert_non_null(aty);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < k; i++) {
            double ai = i < f ? x->data[r * f + i] : 1.0;
            aty[i] += ai * y->data[r];
            for (int j = 0; j < k; j++)
                ata[i * k + j] += ai * (j < f ? x->data[r * f + j] : 1.0);
        }
    solve(ata, aty, k);

    /* The same model trained by full-batch gradient descent (Nesterov). */
    dc_compile_config cfg = {.optimizer = dc_optimizer_defaults(DC_OPT_SGD), .loss = DC_LOSS_MSE};
    cfg.optimizer.learning_rate = 0.05f;
    cfg.optimizer.momentum = 0.9f;
    cfg.optimizer.nesterov = 1;
    dc_model *m = one_layer(f, dc_layer_dense(1, NULL), &cfg);
    fit(m, x, y, 3000, n);
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 0, 1, &b), DC_OK);
    double worst = 0;
    for (int i = 0; i < k; i++) {
        double got = i < f ? w->data[i] : b->data[0], rel = fabs(got - aty[i]) / fabs(aty[i]);
        print_message("w[%d] = %10.4f, normal equations %10.4f, relative difference %.1e\n", i, got, aty[i], rel);
        worst = rel > worst ? rel : worst;
    }
    assert_true(worst <= 1e-3);
    free(ata);
    free(aty);
    dc_tensor_free(w);
    dc_tensor_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_logistic_breast_cancer(void **state)
{
    (void)state;
    split s;
    load_split("breast_cancer", &s);
    dc_compile_config cfg = {.optimizer = dc_optimizer_defaults(DC_OPT_ADAM), .loss = DC_LOSS_BINARY_CE,
                             .metrics = {"accuracy"}};
    cfg.optimizer.learning_rate = 0.01f;
    dc_model *m = one_layer(30, dc_layer_dense(1, "sigmoid"), &cfg);
    fit(m, s.x_train, s.y_train, 100, 32);
    double acc = test_accuracy(m, &s);
    print_message("breast cancer test accuracy %.4f (%d test samples)\n", acc, s.x_test->shape[0]);
    assert_int_equal(s.x_test->shape[0], 114); /* ceil(0.2 * 569) */
    assert_true(acc >= 0.95);
    dc_model_free(m);
    free_split(&s);
}

static void test_softmax_iris(void **state)
{
    (void)state;
    split s;
    load_split("iris", &s);
    dc_compile_config cfg = {.optimizer = dc_optimizer_defaults(DC_OPT_ADAM),
                             .loss = DC_LOSS_SPARSE_CE,
                             .metrics = {"accuracy"}};
    cfg.optimizer.learning_rate = 0.05f;
    dc_model *m = one_layer(4, dc_layer_dense(3, "softmax"), &cfg);
    fit(m, s.x_train, s.y_train, 100, 32);
    double acc = test_accuracy(m, &s);
    print_message("iris softmax regression test accuracy %.4f\n", acc);
    assert_int_equal(s.x_test->shape[0], 30);
    assert_true(acc >= 0.9);
    dc_model_free(m);
    free_split(&s);
}

static void test_get_weight_errors(void **state)
{
    (void)state;
    dc_tensor *w = (dc_tensor *)1;
    dc_model *m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(2, NULL));
    assert_int_equal(dc_model_layer_count(m), 1);
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_ERR_STATE);
    assert_null(w);
    assert_errmsg_contains("not compiled");
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 1, 0, &w), DC_ERR_RANGE);
    assert_errmsg_contains("layer 1, the model has 1");
    assert_int_equal(dc_model_get_weight(m, 0, 2, &w), DC_ERR_RANGE);
    assert_errmsg_contains("dense has 2 weight(s), asked for index 2");
    assert_int_equal(dc_model_get_weight(m, 0, 0, &w), DC_OK);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[0], 3);
    assert_int_equal(w->shape[1], 2);
    dc_tensor_free(w);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_seed003),
        cmocka_unit_test(test_linear_diabetes_normal_equations),
        cmocka_unit_test(test_logistic_breast_cancer),
        cmocka_unit_test(test_softmax_iris),
        cmocka_unit_test(test_get_weight_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
