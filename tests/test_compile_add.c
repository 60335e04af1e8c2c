/*
 * test_compile_add.c - building a Sequential model by names:
 *  - dc_model_add given a failed constructor's NULL passes the
 *    constructor's message on, prefixed "add: ", and its status;
 *  - a failed add is sticky: later adds free their layer and return the
 *    first status, build / compile / fit / summary return it with the first
 *    message, so a program may check only its compile;
 *  - dc_model_compile_lr trains exactly as dc_model_compile_ex with the same
 *    optimiser and learning rate, and refuses a learning rate <= 0 or NaN.
 */
#include "testutil.h"

#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static dc_model *mlp_input(void)
{
    int in = 4;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    return m;
}

/* How often needle occurs in s. */
static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_add_keeps_constructor_message(void **state)
{
    (void)state;
    assert_null(dc_layer_dense(16, "rleu"));
    char ctor[512], want[520];
    snprintf(ctor, sizeof ctor, "%s", dc_errmsg());
    assert_non_null(strstr(ctor, "unknown activation \"rleu\""));
    dc_model *m = mlp_input();
    assert_int_equal(dc_model_add(m, dc_layer_dense(16, "rleu")), DC_ERR_ARG);
    snprintf(want, sizeof want, "add: %s", ctor);
    assert_string_equal(dc_errmsg(), want);
    assert_int_equal(occurrences(dc_errmsg(), "unknown activation"), 1);
    dc_model_free(m);
}

/* A constructor failing with another status: add returns that status. */
static void test_add_returns_constructor_status(void **state)
{
    (void)state;
    dc_model *m = mlp_input();
    assert_int_equal(dc_model_add(m, dc_layer_softmax(0)), DC_ERR_UNSUPPORTED);
    assert_int_equal(dc_last_status(), DC_ERR_UNSUPPORTED);
    assert_true(strncmp(dc_errmsg(), "add: Softmax: axis 0", 20) == 0);
    /* and the model keeps it */
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_ERR_UNSUPPORTED);
    assert_true(strncmp(dc_errmsg(), "add: Softmax: axis 0", 20) == 0);
    dc_model_free(m);
}

static void test_failed_add_is_sticky(void **state)
{
    (void)state;
    dc_model *m = mlp_input();
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(16, "rleu")), DC_ERR_ARG);
    char first[1024];
    snprintf(first, sizeof first, "%s", dc_errmsg());
    /* later adds free their layer (ASan's leak check) and return the first error */
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_ERR_ARG);
    assert_string_equal(dc_errmsg(), first);
    dc_fail(DC_ERR_IO, "something else failed in between");
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_ERR_ARG);
    assert_string_equal(dc_errmsg(), first);
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(dc_model_summary(m, out), DC_ERR_ARG);
    assert_string_equal(dc_errmsg(), first);
    fclose(out);
    assert_int_equal(dc_model_param_count(m), 0);
    dc_tensor *x = dc_tensor_new4(2, 4, 4, 0, 0), *y = dc_tensor_new4(2, 4, 1, 0, 0);
    dc_fit_config fc = dc_fit_defaults();
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_ERR_ARG);
    assert_string_equal(dc_errmsg(), first);
    double r[1];
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, r, 1), DC_ERR_ARG);
    assert_string_equal(dc_errmsg(), first);
    dc_tensor *p = NULL;
    assert_int_equal(dc_model_predict(m, x, 4, &p), DC_ERR_ARG);
    assert_null(p);
    assert_string_equal(dc_errmsg(), first);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* The three adds of an example, checked once at compile. */
static void test_check_only_compile(void **state)
{
    (void)state;
    dc_model *m = mlp_input();
    dc_model_add(m, dc_layer_dense(8, "relu"));
    dc_model_add(m, dc_layer_dropout(-0.5f));
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    dc_status st = dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0);
    assert_int_not_equal(st, DC_OK);
    assert_true(strncmp(dc_errmsg(), "add: ", 5) == 0);
    assert_non_null(strstr(dc_errmsg(), "ropout"));
    dc_model_free(m);
}

/* Dense(8, relu) -> Dense(3, softmax), seed 7, fitted 2 epochs on fixed data. */
static dc_model *trained(dc_status (*compile)(dc_model *))
{
    dc_model *m = mlp_input();
    dc_model_set_seed(m, 7);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(compile(m), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 30, 4, 0, 0), *y = dc_tensor_new4(2, 30, 1, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, 5);
    for (int i = 0; i < 30; i++) {
        y->data[i] = (float)(i % 3);
        for (int j = 0; j < 4; j++)
            x->data[i * 4 + j] = y->data[i] * (j % 2 ? 1.0f : -1.0f) + dc_rng_normal(&r);
    }
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.batch_size = 8;
    fc.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
    dc_tensor_free(x);
    dc_tensor_free(y);
    return m;
}

static const char *const METRICS[] = {"accuracy"};

static dc_status compile_by_names(dc_model *m)
{
    return dc_model_compile_lr(m, "rmsprop", 0.01f, "sparse_categorical_crossentropy", METRICS, 1);
}

static dc_status compile_by_config(dc_model *m)
{
    dc_compile_config cc = {.optimizer = dc_optimizer_defaults(DC_OPT_RMSPROP), .loss = DC_LOSS_SPARSE_CE,
                            .metrics = {"accuracy"}};
    cc.optimizer.learning_rate = 0.01f;
    return dc_model_compile_ex(m, &cc);
}

static void test_compile_lr_trains_as_compile_ex(void **state)
{
    (void)state;
    dc_model *a = trained(compile_by_names), *b = trained(compile_by_config);
    assert_true(dc_model_get_lr(a) == 0.01f);
    size_t na, nb;
    const float *pa = dc_graph_params(dc_model_graph(a), &na), *pb = dc_graph_params(dc_model_graph(b), &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na * sizeof(float));
    assert_string_equal(dc_model_metric_name(a, 1), "accuracy");
    dc_model_free(a);
    dc_model_free(b);
}

static void test_compile_lr_errors(void **state)
{
    (void)state;
    const float bad[] = {0.0f, -0.1f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        dc_model *m = mlp_input();
        assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
        assert_int_equal(dc_model_compile_lr(m, "adam", bad[i], "sparse_categorical_crossentropy", NULL, 0), DC_ERR_ARG);
        assert_errmsg_contains("compile: learning_rate");
        /* a corrected compile goes through */
        assert_int_equal(dc_model_compile_lr(m, "adam", 0.5f, "sparse_categorical_crossentropy", NULL, 0), DC_OK);
        assert_true(dc_model_get_lr(m) == 0.5f);
        dc_model_free(m);
    }
    dc_model *m = mlp_input();
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile_lr(m, "adamm", 0.1f, "mse", NULL, 0), DC_ERR_ARG);
    assert_errmsg_contains("compile: ");
    assert_errmsg_contains("adamm");
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_keeps_constructor_message),
        cmocka_unit_test(test_add_returns_constructor_status),
        cmocka_unit_test(test_failed_add_is_sticky),
        cmocka_unit_test(test_check_only_compile),
        cmocka_unit_test(test_compile_lr_trains_as_compile_ex),
        cmocka_unit_test(test_compile_lr_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
