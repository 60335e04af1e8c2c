/*
 * test_loss_args.c - Keras' loss and metric arguments in compile:
 * label_smoothing of the binary and categorical cross-entropies (on
 * probabilities and fused with the sigmoid / softmax), Huber's delta, the
 * top-k accuracies' k and the threshold of binary accuracy, precision and
 * recall.  Values and gradients against tests/fixtures/loss_args.txt
 * (make_fixtures_loss_args.py: Keras' formulas in float64, cross-checked
 * with PyTorch); a compiled model's loss against the formula computed here
 * in double from its predictions; label_smoothing 0 trains bit for bit as
 * no argument; metrics read the raw targets; save / load keeps every
 * argument (Keras' {class_name, config} objects, plain names when default)
 * and a resumed fit stays bit-exact; errors at compile and in hostile files.
 */
#include "iotest.h"

#include "graph/graph.h"
#include "model/model.h"

#include <math.h>

#define RTOL 1e-5
#define ATOL 1e-6

static int setup(void **state)
{
    *state = fx_load("loss_args.txt");
    return 0;
}

/* ------------------------------------------------- losses vs the fixture */

static void test_losses_match_reference(void **state)
{
    const fx_file *f = *state;
    static const struct {
        const char *prefix;
        dc_loss_kind kind;
        dc_loss_args args;
    } cases[] = {
        {"cce_ls", DC_LOSS_CATEGORICAL_CE, {0.1f, 0.0f}},
        {"cce_logits_ls", DC_LOSS_CATEGORICAL_CE_LOGITS, {0.1f, 0.0f}},
        {"bce_ls", DC_LOSS_BINARY_CE, {0.2f, 0.0f}},
        {"bce_logits_ls", DC_LOSS_BINARY_CE_LOGITS, {0.2f, 0.0f}},
        {"huber_d05", DC_LOSS_HUBER, {0.0f, 0.5f}},
        {"huber_d2", DC_LOSS_HUBER, {0.0f, 2.0f}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_loss_fixture(f, cases[i].prefix, cases[i].kind, &cases[i].args, RTOL, ATOL);
}

/* ------------------------------------------------ metrics vs the fixture */

static double metric_value(const char *name, dc_metric_args args, dc_loss_kind loss, const float *pred,
                           const float *target, size_t rows, int cols)
{
    dc_metric m;
    if (dc_metric_resolve(name, &args, loss, cols, &m) != DC_OK)
        fail_msg("%s: %s", name, dc_errmsg());
    dc_metric_update(&m, pred, 0, target, NULL, NULL, rows, cols);
    return dc_metric_value(&m);
}

static void test_metric_args_match_reference(void **state)
{
    const fx_file *f = *state;
    const fx_array *p = fx_get(f, "met.prob"), *y = fx_get(f, "met.label");
    size_t n = p->size;
    const dc_metric_args t06 = {0, 0.6f}, t07 = {0, 0.7f};
    double acc = fx_get(f, "met.acc_t06")->data[0];
    assert_float_equal(metric_value("binary_accuracy", t06, DC_LOSS_BINARY_CE, p->data, y->data, n, 1), acc, 1e-7);
    assert_float_equal(metric_value("BinaryAccuracy", t06, DC_LOSS_MSE, p->data, y->data, n, 1), acc, 1e-7);
    /* "accuracy" under binary_crossentropy is binary accuracy, threshold included */
    assert_float_equal(metric_value("accuracy", t06, DC_LOSS_BINARY_CE, p->data, y->data, n, 1), acc, 1e-7);
    assert_float_equal(metric_value("precision", t07, DC_LOSS_BINARY_CE, p->data, y->data, n, 1),
                       fx_get(f, "met.precision_t07")->data[0], 1e-7);
    assert_float_equal(metric_value("Recall", t07, DC_LOSS_BINARY_CE, p->data, y->data, n, 1),
                       fx_get(f, "met.recall_t07")->data[0], 1e-7);
    /* the default threshold differs: the argument is what moved the value */
    assert_true(fabs(metric_value("precision", (dc_metric_args){0, 0}, DC_LOSS_BINARY_CE, p->data, y->data, n, 1) -
                     fx_get(f, "met.precision_t07")->data[0]) > 1e-3);

    const fx_array *tp = fx_get(f, "topk.pred"), *tl = fx_get(f, "topk.labels");
    int rows = tp->shape[0], cols = tp->shape[1];
    float *onehot = calloc(tp->size, sizeof(float));
    for (int r = 0; r < rows; r++)
        onehot[r * cols + (int)tl->data[r]] = 1.0f;
    for (int k = 2; k <= 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "topk.k%d", k);
        double want = fx_get(f, name)->data[0];
        dc_metric_args a = {k, 0.0f};
        assert_float_equal(metric_value("sparse_top_k_categorical_accuracy", a, DC_LOSS_SPARSE_CE, tp->data,
                                        tl->data, (size_t)rows, cols),
                           want, 1e-12);
        assert_float_equal(metric_value("TopKCategoricalAccuracy", a, DC_LOSS_CATEGORICAL_CE, tp->data, onehot,
                                        (size_t)rows, cols),
                           want, 1e-12);
    }
    free(onehot);
}

/* ------------------------------------------------------- compiled models */

/* n samples of 4 features; y one-hot of 3 classes (classes 3), 0/1 (classes
 * 1) or a real target (classes 0). */
static void make_data(int n, int classes, dc_tensor **x, dc_tensor **y)
{
    dc_tensor *labels;
    random_data(n, 4, classes > 1 ? classes : 2, 11, x, &labels);
    *y = dc_tensor_new4(2, n, classes > 1 ? classes : 1, 0, 0);
    for (int i = 0; i < n; i++) {
        const float *xi = (*x)->data + 4 * i;
        if (classes > 1)
            (*y)->data[i * classes + (int)labels->data[i]] = 1.0f;
        else
            (*y)->data[i] = classes == 1 ? labels->data[i] : 2.0f * xi[0] - xi[1] + 0.5f * xi[2] * xi[3];
    }
    dc_tensor_free(labels);
}

/* Dense(8, relu) -> Dense(out, act), compiled with cfg (Adam), one thread. */
static dc_model *model_with(int out, const char *act, const dc_compile_config *cfg)
{
    int features = 4;
    dc_model *m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(out, act)), DC_OK);
    if (dc_model_compile_ex(m, cfg) != DC_OK)
        fail_msg("compile: %s", dc_errmsg());
    return m;
}

static dc_compile_config config(dc_loss_kind loss, const char *m0, const char *m1)
{
    dc_compile_config c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dc_optimizer_parse("adam", &c.optimizer), DC_OK);
    c.loss = loss;
    c.metrics[0] = m0;
    c.metrics[1] = m0 ? m1 : NULL;
    return c;
}

/* The three configured models of these tests. */
typedef struct setup_case {
    int out;
    const char *act;
    int classes; /* make_data's */
    dc_compile_config cfg;
} setup_case;

static setup_case categorical_case(void)
{
    setup_case s = {3, "softmax", 3, config(DC_LOSS_CATEGORICAL_CE, "accuracy", "top_k_categorical_accuracy")};
    s.cfg.label_smoothing = 0.1f;
    s.cfg.metric_args[1].k = 2;
    return s;
}

static setup_case binary_case(void)
{
    setup_case s = {1, "sigmoid", 1, config(DC_LOSS_BINARY_CE, "accuracy", "precision")};
    s.cfg.metrics[2] = "recall";
    s.cfg.label_smoothing = 0.2f;
    s.cfg.metric_args[0].threshold = 0.6f;
    s.cfg.metric_args[1].threshold = 0.7f;
    s.cfg.metric_args[2].threshold = 0.3f;
    return s;
}

static setup_case huber_case(void)
{
    setup_case s = {1, "linear", 0, config(DC_LOSS_HUBER, "mae", NULL)};
    s.cfg.huber_delta = 0.5f;
    return s;
}

/* The loss of `m` on (x, y) by Keras' formula in double, from its
 * predictions (the output: probabilities after softmax / sigmoid). */
static double loss_by_hand(dc_model *m, const setup_case *s, const dc_tensor *x, const dc_tensor *y)
{
    dc_tensor *p;
    assert_int_equal(dc_model_predict(m, x, 16, &p), DC_OK);
    int n = x->shape[0], c = s->out;
    double ls = s->cfg.label_smoothing, d = s->cfg.huber_delta, total = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            double pj = p->data[i * c + j], yj = y->data[i * c + j];
            if (s->cfg.loss == DC_LOSS_CATEGORICAL_CE) {
                total -= (yj * (1 - ls) + ls / c) * log(pj);
            } else if (s->cfg.loss == DC_LOSS_BINARY_CE) {
                double t = yj * (1 - ls) + 0.5 * ls;
                total -= t * log(pj) + (1 - t) * log(1 - pj);
            } else {
                double e = fabs(pj - yj);
                total += e <= d ? 0.5 * e * e : d * e - 0.5 * d * d;
            }
        }
    dc_tensor_free(p);
    return total / n / (s->cfg.loss == DC_LOSS_CATEGORICAL_CE ? 1 : c);
}

/* After a fit, evaluate's loss (fused softmax / sigmoid for the
 * cross-entropies) is the loss with the arguments computed from the
 * predictions; without the arguments it differs. */
static void test_compiled_loss_matches_formula(void **state)
{
    (void)state;
    setup_case cases[3] = {categorical_case(), binary_case(), huber_case()};
    for (int k = 0; k < 3; k++) {
        setup_case *s = &cases[k];
        dc_tensor *x, *y;
        make_data(64, s->classes, &x, &y);
        dc_model *m = model_with(s->out, s->act, &s->cfg);
        dc_fit_config c = quiet_fit(20, 16);
        assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
        double res[4];
        assert_int_equal(dc_model_evaluate(m, x, y, 16, 0, res, 1 + m->n_metrics), DC_OK);
        double want = loss_by_hand(m, s, x, y);
        if (fabs(res[0] - want) > RTOL * fabs(want) + ATOL)
            fail_msg("case %d: evaluate's loss %.9g, Keras' formula %.9g", k, res[0], want);
        setup_case plain = *s;
        plain.cfg.label_smoothing = 0.0f;
        plain.cfg.huber_delta = 1.0f;
        if (!(fabs(loss_by_hand(m, &plain, x, y) - want) > 100 * (RTOL * fabs(want) + ATOL)))
            fail_msg("case %d: the loss without arguments is %.9g, with them %.9g", k, loss_by_hand(m, &plain, x, y),
                     want);
        dc_model_free(m);
        dc_tensor_free(x);
        dc_tensor_free(y);
    }
}

/* Trains cfg for 2 epochs; the flat parameters (a new copy) and the history. */
static float *train(const setup_case *s, const dc_compile_config *cfg, const dc_tensor *x, const dc_tensor *y,
                    size_t *n, dc_history **h)
{
    dc_model *m = model_with(s->out, s->act, cfg);
    dc_fit_config c = quiet_fit(2, 16);
    assert_int_equal(dc_model_fit(m, x, y, &c, h), DC_OK);
    float *p = dc_graph_params(dc_model_graph(m), n);
    float *copy = malloc(*n * sizeof(float));
    memcpy(copy, p, *n * sizeof(float));
    dc_model_free(m);
    return copy;
}

/* label_smoothing 0 and huber_delta 0 or 1 train bit for bit as the name
 * alone (dc_model_compile); a smoothing of 0.1 trains differently, while
 * the accuracy still reads the raw targets: it is computed from the
 * predictions against them, and MAE, which would move with smoothed
 * targets, matches the raw ones. */
static void test_zero_arguments_are_bitwise_and_metrics_see_raw_targets(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    make_data(64, 3, &x, &y);
    setup_case s = categorical_case();
    s.cfg = config(DC_LOSS_CATEGORICAL_CE, "accuracy", "mae");
    size_t n0, n1, n2;
    dc_history *h0, *h1, *h2;
    int features = 4;
    dc_model *named = dc_sequential_new(1, &features);
    dc_model_set_seed(named, 5);
    dc_model_set_threads(named, 1);
    assert_int_equal(dc_model_add(named, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(named, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(named, "adam", "categorical_crossentropy", (const char *[]){"accuracy", "mae"}, 2),
                     DC_OK);
    dc_fit_config c = quiet_fit(2, 16);
    assert_int_equal(dc_model_fit(named, x, y, &c, &h0), DC_OK);
    float *p0 = dc_graph_params(dc_model_graph(named), &n0);
    s.cfg.label_smoothing = 0.0f;
    float *p1 = train(&s, &s.cfg, x, y, &n1, &h1);
    assert_int_equal(n0, n1);
    assert_memory_equal(p0, p1, n0 * sizeof(float));
    assert_true(dc_history_get(h0, "loss")[1] == dc_history_get(h1, "loss")[1]);
    s.cfg.label_smoothing = 0.1f;
    float *p2 = train(&s, &s.cfg, x, y, &n2, &h2);
    assert_true(memcmp(p0, p2, n0 * sizeof(float)) != 0);

    /* the smoothed model's metrics against its own predictions and the raw targets */
    dc_model *m = model_with(3, "softmax", &s.cfg);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    double res[3];
    assert_int_equal(dc_model_evaluate(m, x, y, 16, 0, res, 3), DC_OK);
    dc_tensor *p;
    assert_int_equal(dc_model_predict(m, x, 16, &p), DC_OK);
    double hits = 0, mae = 0, mae_smoothed = 0;
    for (int i = 0; i < 64; i++) {
        hits += dc_argmax(p->data + 3 * i, 3) == dc_argmax(y->data + 3 * i, 3);
        for (int j = 0; j < 3; j++) {
            double pj = p->data[3 * i + j], yj = y->data[3 * i + j];
            mae += fabs(pj - yj);
            mae_smoothed += fabs(pj - (yj * 0.9 + 0.1 / 3));
        }
    }
    assert_float_equal(res[1], hits / 64, 1e-12);
    assert_float_equal(res[2], mae / 192, 1e-6);
    assert_true(fabs(res[2] - mae_smoothed / 192) > 1e-3);
    dc_tensor_free(p);
    dc_model_free(m);
    free(p1);
    free(p2);
    dc_history_free(h0);
    dc_history_free(h1);
    dc_history_free(h2);
    dc_model_free(named);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Binary accuracy with a threshold and precision / recall on a sigmoid
 * output fused into the loss: the metrics read the probabilities. */
static void test_thresholds_on_fused_sigmoid(void **state)
{
    (void)state;
    setup_case s = binary_case();
    dc_tensor *x, *y;
    make_data(64, 1, &x, &y);
    dc_model *m = model_with(1, "sigmoid", &s.cfg);
    assert_true(m->metric_on_logits);
    dc_fit_config c = quiet_fit(3, 16);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    double res[4];
    assert_int_equal(dc_model_evaluate(m, x, y, 16, 0, res, 4), DC_OK);
    dc_tensor *p;
    assert_int_equal(dc_model_predict(m, x, 16, &p), DC_OK);
    double acc = 0, tp = 0, fp = 0, tp3 = 0, fn3 = 0;
    for (int i = 0; i < 64; i++) {
        float pi = p->data[i];
        int lab = y->data[i] != 0.0f;
        acc += (pi > 0.6f) == lab;
        tp += pi > 0.7f && lab;
        fp += pi > 0.7f && !lab;
        tp3 += pi > 0.3f && lab;
        fn3 += !(pi > 0.3f) && lab;
    }
    assert_float_equal(res[1], acc / 64, 1e-12);
    assert_float_equal(res[2], tp + fp > 0 ? tp / (tp + fp) : 0.0, 1e-12);
    assert_float_equal(res[3], tp3 / (tp3 + fn3), 1e-12);
    dc_tensor_free(p);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ------------------------------------------------------- save and load */

static char *json_of(dc_model *m)
{
    char *json;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    return json;
}

static void assert_json_has(const char *json, const char *needle)
{
    if (!strstr(json, needle)) {
        print_error("the model JSON lacks %s:\n%s\n", needle, json);
        fail();
    }
}

/* Each configured model: the file's compile_config holds Keras' objects;
 * the loaded model has every argument; 2 epochs in one run equal 1 epoch,
 * save, load, 1 more - bit for bit. */
static void test_save_load_resume(void **state)
{
    (void)state;
    static const char *const expect[3][3] = {
        {"\"loss\":{\"class_name\":\"CategoricalCrossentropy\",\"config\":{\"from_logits\":false,"
         "\"label_smoothing\":0.1}}",
         "\"metrics\":[\"accuracy\",{\"class_name\":\"top_k_categorical_accuracy\",\"config\":{\"k\":2}}]", NULL},
        {"\"loss\":{\"class_name\":\"BinaryCrossentropy\",\"config\":{\"from_logits\":false,\"label_smoothing\":0.2}}",
         "{\"class_name\":\"accuracy\",\"config\":{\"threshold\":0.6}}",
         "{\"class_name\":\"precision\",\"config\":{\"thresholds\":0.7}},{\"class_name\":\"recall\",\"config\":{"
         "\"thresholds\":0.3}}]"},
        {"\"loss\":{\"class_name\":\"Huber\",\"config\":{\"delta\":0.5}}", "\"metrics\":[\"mae\"]", NULL},
    };
    setup_case cases[3] = {categorical_case(), binary_case(), huber_case()};
    char *dir = make_dir();
    for (int k = 0; k < 3; k++) {
        setup_case *s = &cases[k];
        dc_tensor *x, *y;
        make_data(48, s->classes, &x, &y);
        dc_fit_config c = quiet_fit(2, 8);
        dc_model *a = model_with(s->out, s->act, &s->cfg), *b = model_with(s->out, s->act, &s->cfg), *r;
        dc_history *ha, *hb;
        assert_int_equal(dc_model_fit(a, x, y, &c, &ha), DC_OK);
        c.epochs = 1;
        assert_int_equal(dc_model_fit(b, x, y, &c, NULL), DC_OK);
        char *json = json_of(b);
        for (int j = 0; j < 3; j++)
            if (expect[k][j])
                assert_json_has(json, expect[k][j]);
        free(json);
        assert_int_equal(dc_model_save(b, join(dir, "m.safetensors"), 1), DC_OK);
        if (dc_model_load(join(dir, "m.safetensors"), &r) != DC_OK)
            fail_msg("case %d: %s", k, dc_errmsg());
        dc_model_set_threads(r, 1);
        assert_int_equal(r->loss_kind, s->cfg.loss);
        assert_true(r->loss_args.label_smoothing == s->cfg.label_smoothing);
        assert_true(r->loss_args.huber_delta == s->cfg.huber_delta);
        assert_int_equal(r->n_metrics, b->n_metrics);
        for (int i = 0; i < b->n_metrics; i++) {
            assert_int_equal(r->metrics[i].kind, b->metrics[i].kind);
            assert_int_equal(r->metrics[i].k, b->metrics[i].k);
            assert_true(r->metrics[i].threshold == b->metrics[i].threshold);
            assert_string_equal(dc_model_metric_name(r, 1 + i), dc_model_metric_name(b, 1 + i));
        }
        char *again = json_of(r), *orig = json_of(b);
        assert_string_equal(again, orig); /* the loaded model writes the same JSON */
        free(again);
        free(orig);
        c.initial_epoch = 1;
        c.epochs = 2;
        assert_int_equal(dc_model_fit(r, x, y, &c, &hb), DC_OK);
        for (int i = 0; i <= a->n_metrics; i++) {
            const char *key = dc_model_metric_name(a, i);
            if (dc_history_get(ha, key)[1] != dc_history_get(hb, key)[0])
                fail_msg("case %d: %s in epoch 2: %.17g in one run, %.17g resumed", k, key,
                         dc_history_get(ha, key)[1], dc_history_get(hb, key)[0]);
        }
        assert_same_predictions(a, r, x);
        dc_history_free(ha);
        dc_history_free(hb);
        dc_model_free(a);
        dc_model_free(b);
        dc_model_free(r);
        dc_tensor_free(x);
        dc_tensor_free(y);
    }
    rm_dir(dir);
}

/* Every argument at Keras' default writes the plain names, byte for byte
 * what a model compiled by names writes. */
static void test_default_arguments_write_plain_names(void **state)
{
    (void)state;
    dc_compile_config cfg = config(DC_LOSS_HUBER, "mae", "mse");
    dc_model *named = dc_sequential_new(1, (int[]){4});
    assert_int_equal(dc_model_add(named, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(named, dc_layer_dense(1, "linear")), DC_OK);
    assert_int_equal(dc_model_compile(named, "adam", "huber", (const char *[]){"mae", "mse"}, 2), DC_OK);
    cfg.huber_delta = 1.0f; /* Keras' default, given explicitly */
    dc_model *m = model_with(1, "linear", &cfg);
    char *a = json_of(named), *b = json_of(m);
    assert_json_has(b, "\"loss\":\"huber\",\"metrics\":[\"mae\",\"mse\"]");
    assert_string_equal(strstr(a, "\"loss\""), strstr(b, "\"loss\""));
    free(a);
    free(b);
    dc_model_free(m);
    cfg = config(DC_LOSS_CATEGORICAL_CE, "top_k_categorical_accuracy", "accuracy");
    cfg.metric_args[0].k = 5;
    cfg.metric_args[1].k = 0;
    m = model_with(6, "softmax", &cfg);
    b = json_of(m);
    assert_json_has(b, "\"loss\":\"categorical_crossentropy\",\"metrics\":[\"top_k_categorical_accuracy\","
                       "\"accuracy\"]");
    free(b);
    dc_model_free(m);
    dc_model_free(named);
}

/* ------------------------------------------------------------- errors */

static void expect_compile_error(int out, const char *act, const dc_compile_config *cfg, const char *message)
{
    int features = 4;
    dc_model *m = dc_sequential_new(1, &features);
    assert_int_equal(dc_model_add(m, dc_layer_dense(out, act)), DC_OK);
    dc_status st = dc_model_compile_ex(m, cfg);
    if (st == DC_OK || !strstr(dc_errmsg(), message))
        fail_msg("got status %d \"%s\", expected \"%s\"", st, dc_errmsg(), message);
    dc_model_free(m);
}

static void test_compile_errors(void **state)
{
    (void)state;
    dc_compile_config c = config(DC_LOSS_CATEGORICAL_CE, NULL, NULL);
    c.label_smoothing = 1.5f;
    expect_compile_error(3, "softmax", &c, "compile: loss: categorical_crossentropy: label_smoothing 1.5 is outside "
                                           "[0, 1]");
    c.label_smoothing = -0.1f;
    expect_compile_error(3, "softmax", &c, "label_smoothing -0.1 is outside [0, 1]");
    c.label_smoothing = NAN;
    expect_compile_error(3, "softmax", &c, "label_smoothing nan is outside [0, 1]");
    c = config(DC_LOSS_SPARSE_CE, NULL, NULL);
    c.label_smoothing = 0.1f;
    expect_compile_error(3, "softmax", &c, "sparse_categorical_crossentropy has no label_smoothing in Keras 3 (got "
                                           "0.1); use categorical_crossentropy with one-hot targets");
    c = config(DC_LOSS_MSE, NULL, NULL);
    c.label_smoothing = 0.1f;
    expect_compile_error(1, "linear", &c, "mean_squared_error has no label_smoothing (got 0.1)");
    c = config(DC_LOSS_MSE, NULL, NULL);
    c.huber_delta = 2.0f;
    expect_compile_error(1, "linear", &c, "mean_squared_error has no delta (got huber_delta 2); only huber takes it");
    c = config(DC_LOSS_HUBER, NULL, NULL);
    c.huber_delta = -1.0f;
    expect_compile_error(1, "linear", &c, "huber: delta -1 must be a positive finite number");
    c.huber_delta = INFINITY;
    expect_compile_error(1, "linear", &c, "huber: delta inf must be a positive finite number");

    c = config(DC_LOSS_CATEGORICAL_CE, "top_k_categorical_accuracy", NULL);
    c.metric_args[0].k = -2;
    expect_compile_error(6, "softmax", &c, "metric \"top_k_categorical_accuracy\": k -2 must be at least 1");
    c.metric_args[0].k = 6;
    expect_compile_error(6, "softmax", &c, "among the top 6 predictions, but the output has 6 class(es)");
    c = config(DC_LOSS_SPARSE_CE, "sparse_top_k_categorical_accuracy", NULL);
    c.metric_args[0].k = 4;
    expect_compile_error(3, "softmax", &c, "among the top 4 predictions, but the output has 3 class(es)");
    c = config(DC_LOSS_BINARY_CE, "accuracy", "precision");
    c.metric_args[1].k = 3;
    expect_compile_error(1, "sigmoid", &c, "metric \"precision\" takes no k (got 3); only the top-k accuracies do");
    c = config(DC_LOSS_BINARY_CE, "binary_accuracy", NULL);
    c.metric_args[0].threshold = 1.0f;
    expect_compile_error(1, "sigmoid", &c, "metric \"binary_accuracy\": threshold 1 is outside (0, 1)");
    c.metric_args[0].threshold = -0.5f;
    expect_compile_error(1, "sigmoid", &c, "threshold -0.5 is outside (0, 1)");
    c = config(DC_LOSS_BINARY_CE, "recall", NULL);
    c.metric_args[0].threshold = 1.5f;
    expect_compile_error(1, "sigmoid", &c, "metric \"recall\": threshold 1.5 is outside [0, 1]");
    c = config(DC_LOSS_MSE, "mae", NULL);
    c.metric_args[0].threshold = 0.3f;
    expect_compile_error(1, "linear", &c, "metric \"mae\" takes no threshold (got 0.3)");
    c = config(DC_LOSS_CATEGORICAL_CE, "accuracy", NULL);
    c.metric_args[0].threshold = 0.3f;
    expect_compile_error(3, "softmax", &c, "metric \"accuracy\", here categorical_accuracy, takes no threshold");
}

/* Saves a model of setup case `which`, rewrites `from` into `to` in its
 * model_config (given unescaped) and loads it: the status, message in
 * dc_errmsg(). */
static dc_status load_patched(const char *dir, setup_case s, const char *from, const char *to, dc_model **out)
{
    char efrom[512], eto[512];
    const char *src[2] = {from, to};
    char *dst[2] = {efrom, eto};
    for (int k = 0; k < 2; k++) { /* escape quotes: model_config is a JSON string in the header */
        char *d = dst[k];
        for (const char *c = src[k]; *c; c++) {
            if (*c == '"')
                *d++ = '\\';
            *d++ = *c;
        }
        *d = '\0';
    }
    dc_model *m = model_with(s.out, s.act, &s.cfg);
    assert_int_equal(dc_model_save(m, join(dir, "a.safetensors"), 0), DC_OK);
    dc_model_free(m);
    FILE *fp = fopen(join(dir, "a.safetensors"), "rb");
    assert_non_null(fp);
    static char buf[1 << 16], res[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    char *at = strstr(buf + 8, efrom);
    if (!at || at >= buf + 8 + hlen)
        fail_msg("no %s in the header", efrom);
    size_t pre = (size_t)(at - buf), lf = strlen(efrom), lt = strlen(eto);
    memcpy(res, buf, pre);
    memcpy(res + pre, eto, lt);
    memcpy(res + pre + lt, at + lf, n - pre - lf);
    hlen = hlen - lf + lt;
    for (int i = 0; i < 8; i++)
        res[i] = (char)(hlen >> (8 * i));
    fp = fopen(join(dir, "b.safetensors"), "wb");
    assert_non_null(fp);
    fwrite(res, 1, n - lf + lt, fp);
    fclose(fp);
    return dc_model_load(join(dir, "b.safetensors"), out);
}

static void test_hostile_compile_config(void **state)
{
    (void)state;
    static const struct {
        int which; /* 0 categorical, 1 binary, 2 huber */
        const char *from, *to, *message;
    } cases[] = {
        {2, "\"delta\":0.5", "\"delta\":\"big\"", "compile_config: loss: key \"delta\" is a string, expected a number"},
        {2, "\"delta\":0.5", "\"delta\":-2", "loss: key \"delta\" is -2, expected a number > 0"},
        {2, "\"delta\":0.5", "\"delta\":0", "loss: key \"delta\" is 0, expected a number > 0"},
        {2, "\"delta\":0.5", "\"delta\":1e300", "key \"delta\" is 1e+300, outside the float range"},
        {2, "\"delta\":0.5", "\"delta\":0.5,\"rho\":1", "loss: unknown key \"rho\""},
        {2, "\"delta\":0.5", "\"delta\":0.5,\"reduction\":\"sum\"",
         "key \"reduction\" is not supported with a value other than Keras' default"},
        {2, "\"delta\":0.5", "\"delta\":0.5,\"from_logits\":true", "key \"from_logits\": Huber has no from_logits"},
        {2, "\"Huber\"", "\"MeanSquaredError\"", "compile: loss: mean_squared_error has no delta (got huber_delta 0.5)"},
        {2, "\"Huber\"", "7", "loss: key \"class_name\" must be a string"},
        {2, "\"config\":{\"delta\":0.5}", "\"config\":[0.5]", "loss: key \"config\" is an array, expected an object"},
        {0, "\"label_smoothing\":0.1", "\"label_smoothing\":1.5",
         "categorical_crossentropy: label_smoothing 1.5 is outside [0, 1]"},
        {0, "\"label_smoothing\":0.1", "\"label_smoothing\":null", "key \"label_smoothing\" is null, expected a number"},
        {0, "\"from_logits\":false", "\"from_logits\":1", "key \"from_logits\" is a number, expected true or false"},
        {0, "\"CategoricalCrossentropy\"", "\"SparseCategoricalCrossentropy\"",
         "sparse_categorical_crossentropy has no label_smoothing in Keras 3"},
        {0, "\"k\":2", "\"k\":2.5", "metrics[1]: key \"k\" is 2.5, expected an integer from 1 to"},
        {0, "\"k\":2", "\"k\":0", "metrics[1]: key \"k\" is 0, expected an integer from 1 to"},
        {0, "\"k\":2", "\"k\":3", "among the top 3 predictions, but the output has 3 class(es)"},
        {0, "\"k\":2", "\"k\":2,\"thresholds\":0.5", "metric \"top_k_categorical_accuracy\" takes no threshold"},
        {0, "{\"class_name\":\"top_k_categorical_accuracy\",\"config\":{\"k\":2}}", "[2]",
         "metrics[1]: is an array, expected a name or {\"class_name\": ..., \"config\": {...}}"},
        {1, "\"threshold\":0.6", "\"threshold\":1", "metric \"accuracy\": threshold 1 is outside (0, 1)"},
        {1, "\"threshold\":0.6", "\"threshold\":\"0.6\"", "metrics[0]: key \"threshold\" is a string, expected a number"},
        {1, "\"thresholds\":0.7", "\"thresholds\":[0.5,0.7]", "metrics[1]: key \"thresholds\" holds 2 thresholds; "
                                                               "deepc takes one"},
        {1, "\"thresholds\":0.7", "\"thresholds\":[true]", "key \"thresholds\" holds a boolean, expected a number"},
        {1, "\"thresholds\":0.7", "\"thresholds\":0", "key \"thresholds\" is 0, expected a number in (0, 1]"},
        {1, "\"thresholds\":0.7", "\"thresholds\":0.7,\"top_k\":2",
         "metrics[1]: key \"top_k\" is not supported with a value other than Keras' default"},
    };
    char *dir = make_dir();
    setup_case setups[3] = {categorical_case(), binary_case(), huber_case()};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_model *m = (dc_model *)1;
        dc_status st = load_patched(dir, setups[cases[i].which], cases[i].from, cases[i].to, &m);
        if (st == DC_OK || !strstr(dc_errmsg(), cases[i].message))
            fail_msg("case %zu: got status %d \"%s\", expected \"%s\"", i, st, dc_errmsg(), cases[i].message);
        assert_null(m);
    }
    rm_dir(dir);
}

/* What Keras itself writes loads: name, dtype, reduction and axis at their
 * defaults, a list of one threshold, from_logits on a linear output. */
static void test_keras_style_objects_load(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_model *m;
    setup_case s = huber_case();
    assert_int_equal(load_patched(dir, s, "\"config\":{\"delta\":0.5}",
                                  "\"config\":{\"name\":\"huber_loss\",\"reduction\":\"sum_over_batch_size\","
                                  "\"dtype\":null,\"delta\":0.25}",
                                  &m),
                     DC_OK);
    assert_true(m->loss_args.huber_delta == 0.25f);
    dc_model_free(m);
    s = binary_case();
    assert_int_equal(load_patched(dir, s, "{\"class_name\":\"precision\",\"config\":{\"thresholds\":0.7}}",
                                  "{\"class_name\":\"Precision\",\"config\":{\"name\":\"precision\",\"dtype\":"
                                  "\"float32\",\"thresholds\":[0.75],\"top_k\":null,\"class_id\":null}}",
                                  &m),
                     DC_OK);
    assert_int_equal(m->metrics[1].kind, DC_METRIC_PRECISION);
    assert_true(m->metrics[1].threshold == 0.75f);
    dc_model_free(m);
    /* from_logits: true on a sigmoid-free output is the logits loss */
    s.act = "linear";
    assert_int_equal(load_patched(dir, s, "\"from_logits\":false", "\"from_logits\":true,\"axis\":-1", &m), DC_OK);
    assert_int_equal(m->loss_kind, DC_LOSS_BINARY_CE_LOGITS);
    assert_true(m->loss_args.label_smoothing == 0.2f);
    char *json = json_of(m);
    assert_json_has(json, "\"loss\":{\"class_name\":\"BinaryCrossentropy\",\"config\":{\"from_logits\":true,"
                          "\"label_smoothing\":0.2}}");
    free(json);
    dc_model_free(m);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_losses_match_reference),
        cmocka_unit_test(test_metric_args_match_reference),
        cmocka_unit_test(test_compiled_loss_matches_formula),
        cmocka_unit_test(test_zero_arguments_are_bitwise_and_metrics_see_raw_targets),
        cmocka_unit_test(test_thresholds_on_fused_sigmoid),
        cmocka_unit_test(test_save_load_resume),
        cmocka_unit_test(test_default_arguments_write_plain_names),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_hostile_compile_config),
        cmocka_unit_test(test_keras_style_objects_load),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
