/*
 * test_model.c - the Sequential workflow: errors for bad input (each with its
 * message), reproducibility, training with known answers, summary and
 * progress output in Keras' layout, history and validation.
 */
#include "testutil.h"
#include "graph/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dc_model *mlp(int in, int hidden, int out, const char *out_act)
{
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(hidden, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(out, out_act)), DC_OK);
    return m;
}

static void compile_sparse(dc_model *m)
{
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
}

/* Two Gaussian blobs per class on a line: class k centred at (k, -k). */
static void blobs(int n, int classes, dc_tensor **x, dc_tensor **y, uint64_t seed)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    *x = dc_tensor_new4(2, n, 2, 0, 0);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    for (int i = 0; i < n; i++) {
        int k = (int)dc_rng_below(&r, (uint32_t)classes);
        (*x)->data[2 * i] = 2.0f * k + 0.3f * dc_rng_normal(&r);
        (*x)->data[2 * i + 1] = -2.0f * k + 0.3f * dc_rng_normal(&r);
        (*y)->data[i] = (float)k;
    }
}

static dc_fit_config quiet(int epochs, int batch)
{
    dc_fit_config c = dc_fit_defaults();
    c.epochs = epochs;
    c.batch_size = batch;
    c.verbose = 0;
    return c;
}

static void test_wrong_feature_count(void **state)
{
    (void)state;
    dc_model *m = mlp(512, 16, 10, "softmax");
    compile_sparse(m);
    dc_tensor *x = dc_tensor_new4(2, 8, 784, 0, 0), *y = dc_tensor_new4(1, 8, 0, 0, 0);
    dc_fit_config c = quiet(1, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("dense: input has 784 features, layer expects 512");
    double res[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, res, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("784 features");
    dc_tensor *p = NULL;
    assert_int_equal(dc_model_predict(m, x, 4, &p), DC_ERR_SHAPE);
    assert_null(p);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_dense_op_shape_error(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 1, (int[]){784}, "x");
    dc_node *w = dc_param(g, 2, (int[]){512, 10}, dc_init_make(DC_INIT_ZEROS), "w");
    assert_null(dc_dense(g, x, w, NULL));
    assert_errmsg_contains("784 features, layer expects 512");
    dc_graph_free(g);
}

static void test_xy_length_mismatch(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 3, "softmax");
    compile_sparse(m);
    dc_tensor *x = dc_tensor_new4(2, 100, 2, 0, 0), *y = dc_tensor_new4(1, 99, 0, 0, 0);
    dc_fit_config c = quiet(1, 32);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("x has 100 samples but y has 99");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_label_out_of_range(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 10, "softmax");
    compile_sparse(m);
    dc_tensor *x = dc_tensor_new4(2, 4, 2, 0, 0), *y = dc_tensor_new4(1, 4, 0, 0, 0);
    y->data[2] = 10.0f;
    dc_fit_config c = quiet(1, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("y[2] = 10 is outside the output's range [0, 10)");
    y->data[2] = -1.0f;
    double res[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, res, 2), DC_ERR_RANGE);
    y->data[2] = 1.5f;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_RANGE);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_before_compile(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 3, "softmax");
    dc_tensor *x = dc_tensor_new4(2, 4, 2, 0, 0), *y = dc_tensor_new4(1, 4, 0, 0, 0);
    dc_fit_config c = quiet(1, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_STATE);
    assert_errmsg_contains("fit: the model is not compiled");
    double res[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 4, 0, res, 2), DC_ERR_STATE);
    assert_errmsg_contains("evaluate: the model is not compiled");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_nan_loss_stops(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 3, "softmax");
    compile_sparse(m);
    dc_tensor *x, *y;
    blobs(40, 3, &x, &y, 3);
    x->data[2 * 21] = NAN; /* sample 21: batch 3 at batch size 10 without shuffling */
    dc_fit_config c = quiet(2, 10);
    c.shuffle = 0;
    dc_history *h = (dc_history *)1;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_ERR_NAN);
    assert_null(h);
    assert_errmsg_contains("loss is NaN at epoch 1, batch 3");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_bad_names(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 3, "softmax");
    assert_int_equal(dc_model_compile(m, "adamm", "mse", NULL, 0), DC_ERR_ARG);
    assert_errmsg_contains("unknown optimizer \"adamm\"");
    assert_int_equal(dc_model_compile(m, "adam", "hinge_loss", NULL, 0), DC_ERR_ARG);
    assert_errmsg_contains("unknown loss \"hinge_loss\"");
    const char *bad[] = {"f1"};
    assert_int_equal(dc_model_compile(m, "adam", "mse", bad, 1), DC_ERR_ARG);
    assert_errmsg_contains("unknown metric \"f1\"");
    assert_null(dc_layer_dense(4, "relux"));
    assert_errmsg_contains("unknown activation \"relux\"");
    assert_null(dc_layer_dense(0, "relu"));
    assert_errmsg_contains("units 0 is below 1");
    dc_model_free(m);
    dc_model_free(NULL);
    dc_tensor_free(NULL);
    dc_history_free(NULL);
}

static void fit_history(dc_history **h)
{
    dc_model *m = mlp(2, 16, 3, "softmax");
    compile_sparse(m);
    dc_tensor *x, *y;
    blobs(300, 3, &x, &y, 5);
    dc_fit_config c = quiet(3, 32);
    assert_int_equal(dc_model_fit(m, x, y, &c, h), DC_OK);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_same_seed_same_losses(void **state)
{
    (void)state;
    dc_history *a, *b;
    fit_history(&a);
    fit_history(&b);
    const double *la = dc_history_get(a, "loss"), *lb = dc_history_get(b, "loss");
    assert_non_null(la);
    for (int e = 0; e < 3; e++)
        assert_memory_equal(&la[e], &lb[e], sizeof(double));
    assert_true(la[2] < la[0]);
    dc_history_free(a);
    dc_history_free(b);
}

static void test_classifier_learns(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 16, 3, "softmax");
    compile_sparse(m);
    dc_tensor *x, *y, *xt, *yt;
    blobs(600, 3, &x, &y, 11);
    blobs(300, 3, &xt, &yt, 12);
    dc_fit_config c = quiet(60, 32);
    c.validation_split = 0.2f;
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    assert_int_equal(h->epochs, 60);
    assert_non_null(dc_history_get(h, "val_loss"));
    assert_non_null(dc_history_get(h, "val_accuracy"));
    if (dc_history_get(h, "val_accuracy")[59] < 0.95)
        fail_msg("val_accuracy %.4f after 60 epochs (loss %.4f)", dc_history_get(h, "val_accuracy")[59],
                 dc_history_get(h, "loss")[59]);
    double res[2];
    assert_int_equal(dc_model_metric_count(m), 2);
    assert_string_equal(dc_model_metric_name(m, 1), "accuracy");
    assert_int_equal(dc_model_evaluate(m, xt, yt, 0, 0, res, 2), DC_OK);
    assert_true(res[1] >= 0.95);
    dc_tensor *p = NULL;
    assert_int_equal(dc_model_predict(m, xt, 64, &p), DC_OK);
    assert_int_equal(p->ndim, 2);
    assert_int_equal(p->shape[0], 300);
    assert_int_equal(p->shape[1], 3);
    for (int i = 0; i < 300; i++) /* softmax rows */
        assert_true(fabsf(p->data[3 * i] + p->data[3 * i + 1] + p->data[3 * i + 2] - 1.0f) < 1e-5f);
    dc_tensor_free(p);
    dc_history_free(h);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xt);
    dc_tensor_free(yt);
    dc_model_free(m);
}

/* validation_split takes floor(n * (1 - split)) training rows computed as
 * Keras' Python does in double: 50 at 0.2 -> 40 / 10 and 30 at 0.1 -> 27 / 3
 * (the float 0.2f would give 39 / 11, 0.1f 26 / 4).  val_loss after the
 * epoch equals evaluate on exactly the last rows. */
static void test_validation_split_counts_as_keras(void **state)
{
    (void)state;
    const struct { int n; float split; int n_val; } cases[] = {{50, 0.2f, 10}, {30, 0.1f, 3}, {82, 0.2f, 17}};
    for (int k = 0; k < 3; k++) {
        dc_model *m = mlp(2, 8, 3, "softmax");
        compile_sparse(m);
        dc_tensor *x, *y;
        blobs(cases[k].n, 3, &x, &y, 5);
        dc_fit_config c = quiet(1, 8);
        c.validation_split = cases[k].split;
        dc_history *h;
        assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
        int nv = cases[k].n_val, start = cases[k].n - nv;
        dc_tensor *xv = dc_tensor_from(2, (int[]){nv, 2}, x->data + 2 * start);
        dc_tensor *yv = dc_tensor_from(1, (int[]){nv}, y->data + start);
        double res[2];
        assert_int_equal(dc_model_evaluate(m, xv, yv, 0, 0, res, 2), DC_OK);
        double got = dc_history_get(h, "val_loss")[0];
        if (fabs(got - res[0]) > 1e-6 * fabs(res[0]))
            fail_msg("%d samples, split %g: val_loss %.9g, evaluate on the last %d rows %.9g", cases[k].n,
                     (double)cases[k].split, got, nv, res[0]);
        dc_history_free(h);
        dc_tensor_free(xv);
        dc_tensor_free(yv);
        dc_tensor_free(x);
        dc_tensor_free(y);
        dc_model_free(m);
    }
}

/* A compile that fails (a misspelt metric, then an optimiser refused after
 * the weights were drawn) leaves nothing behind: compiling again correctly
 * gives the graph, weights and training of a model compiled right the
 * first time. */
static void test_compile_again_after_an_error(void **state)
{
    (void)state;
    dc_model *ref = mlp(2, 8, 3, "softmax"), *m = mlp(2, 8, 3, "softmax");
    compile_sparse(ref);
    const char *typo[] = {"acuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", typo, 1), DC_ERR_ARG);
    dc_compile_config bad = {.loss = DC_LOSS_SPARSE_CE, .metrics = {"accuracy"}};
    bad.optimizer = dc_optimizer_defaults(DC_OPT_ADAM);
    bad.optimizer.clipnorm = bad.optimizer.clipvalue = 1.0f;
    assert_int_equal(dc_model_compile_ex(m, &bad), DC_ERR_ARG);
    assert_errmsg_contains("only one of clipnorm");
    compile_sparse(m);
    assert_int_equal(dc_model_graph(m)->n_nodes, dc_model_graph(ref)->n_nodes);
    size_t n, n_ref;
    float *p = dc_graph_params(dc_model_graph(m), &n), *p_ref = dc_graph_params(dc_model_graph(ref), &n_ref);
    assert_int_equal(n, n_ref);
    assert_memory_equal(p, p_ref, n * sizeof(float));
    dc_tensor *x, *y;
    blobs(40, 3, &x, &y, 3);
    dc_fit_config c = quiet(2, 8);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    assert_int_equal(dc_model_fit(ref, x, y, &c, NULL), DC_OK);
    assert_memory_equal(p, p_ref, n * sizeof(float));
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    dc_model_free(ref);
}

/* y = 2x + 1 recovered by Dense(1) with MSE and SGD. */
static void test_linear_regression(void **state)
{
    (void)state;
    int in = 1;
    dc_model *m = dc_sequential_new(1, &in);
    dc_model_set_seed(m, 1);
    dc_model_set_threads(m, 1);
    dc_model_add(m, dc_layer_dense(1, NULL));
    dc_optimizer_config opt = dc_optimizer_defaults(DC_OPT_SGD);
    opt.learning_rate = 0.3f;
    dc_compile_config cc = {.optimizer = opt, .loss = DC_LOSS_MSE, .metrics = {"mae"}};
    assert_int_equal(dc_model_compile_ex(m, &cc), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 200, 1, 0, 0), *y = dc_tensor_new4(2, 200, 1, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, 2);
    for (int i = 0; i < 200; i++) {
        x->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
        y->data[i] = 2.0f * x->data[i] + 1.0f + 0.05f * dc_rng_normal(&r);
    }
    dc_fit_config c = quiet(200, 200);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    size_t n;
    float *w = dc_graph_params(dc_model_graph(m), &n);
    assert_true(fabsf(w[0] - 2.0f) < 0.05f);  /* kernel */
    assert_true(fabsf(w[16] - 1.0f) < 0.05f); /* bias, 16-float aligned */
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

static char *capture(FILE *f)
{
    long len = ftell(f);
    char *s = calloc(1, (size_t)len + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
    return s;
}

static void test_summary_layout(void **state)
{
    (void)state;
    dc_model *m = dc_sequential_new(2, (int[]){28, 28});
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(128, "relu"));
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    FILE *f = tmpfile();
    assert_int_equal(dc_model_summary(m, f), DC_OK);
    char *s = capture(f);
    const char *want =
        "Model: \"sequential\"\n"
        "_________________________________________________________________\n"
        " Layer (type)                Output Shape              Param #   \n"
        "=================================================================\n"
        " flatten (Flatten)           (None, 784)               0         \n"
        " dense (Dense)               (None, 128)               100480    \n"
        " dense_1 (Dense)             (None, 10)                1290      \n"
        "=================================================================\n"
        "Total params: 101,770\n"
        "Trainable params: 101,770\n"
        "Non-trainable params: 0\n"
        "_________________________________________________________________\n";
    assert_string_equal(s, want);
    assert_int_equal(dc_model_param_count(m), 101770);
    free(s);
    fclose(f);
    dc_model_free(m);
}

static void test_progress_when_not_a_terminal(void **state)
{
    (void)state;
    dc_model *m = mlp(2, 8, 3, "softmax");
    compile_sparse(m);
    dc_tensor *x, *y;
    blobs(64, 3, &x, &y, 9);
    FILE *f = tmpfile();
    dc_fit_config c = quiet(2, 32);
    c.verbose = 1;
    c.out = f;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    char *s = capture(f);
    /* one line per epoch, no carriage returns */
    assert_null(strchr(s, '\r'));
    assert_non_null(strstr(s, "Epoch 1/2\n2/2 [==============================] - "));
    assert_non_null(strstr(s, "Epoch 2/2\n2/2 [==============================] - "));
    assert_non_null(strstr(s, "/step - loss: "));
    assert_non_null(strstr(s, " - accuracy: "));
    int lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    free(s);
    fclose(f);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* dc_rng_fill_uniform and dc_rng_skip are n draws of dc_rng_uniform /
 * dc_rng_u32: the same values, the same state after. */
static void test_rng_bulk_draws(void **state)
{
    (void)state;
    dc_rng a, b;
    dc_rng_seed(&a, 99);
    dc_rng_seed(&b, 99);
    float bulk[1000];
    dc_rng_fill_uniform(&a, bulk, 1000);
    for (int i = 0; i < 1000; i++) {
        float u = dc_rng_uniform(&b);
        assert_true(bulk[i] == u);
        assert_true(u >= 0.0f && u < 1.0f);
    }
    dc_rng_skip(&a, 777);
    for (int i = 0; i < 777; i++)
        dc_rng_u32(&b);
    assert_memory_equal(a.s, b.s, sizeof a.s);
    dc_rng_skip(&a, 0);
    dc_rng_fill_uniform(&a, bulk, 0);
    dc_rng_fill_uniform(&a, NULL, 5); /* NULL does nothing */
    dc_rng_fill_uniform(NULL, bulk, 5);
    dc_rng_skip(NULL, 5);
    assert_memory_equal(a.s, b.s, sizeof a.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_bulk_draws),
        cmocka_unit_test(test_wrong_feature_count),
        cmocka_unit_test(test_dense_op_shape_error),
        cmocka_unit_test(test_xy_length_mismatch),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_before_compile),
        cmocka_unit_test(test_nan_loss_stops),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_same_seed_same_losses),
        cmocka_unit_test(test_classifier_learns),
        cmocka_unit_test(test_validation_split_counts_as_keras),
        cmocka_unit_test(test_compile_again_after_an_error),
        cmocka_unit_test(test_linear_regression),
        cmocka_unit_test(test_summary_layout),
        cmocka_unit_test(test_progress_when_not_a_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
