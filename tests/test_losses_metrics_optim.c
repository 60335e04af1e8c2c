/*
 * test_losses_metrics_optim.c - Keras 3's further losses, metrics and optimisers:
 * Huber, LogCosh, Hinge, SquaredHinge, KLDivergence, Poisson and
 * CosineSimilarity against tests/fixtures/losses_metrics.txt
 * (make_fixtures_losses_metrics.py: the Keras formulas, cross-checked with
 * PyTorch); Precision, Recall, AUC and top-k against the same file; the
 * loss-like metrics and RMSE against the losses; states that add up
 * (dc_metric_merge) and respect the mask; Nadam, Adamax, Adadelta and Lion
 * against their Keras update rules written out here for 3 steps; the names
 * through compile, save and load, a bit-exact resume for each new
 * optimiser, and the errors of the brief.
 */
#include "iotest.h"

#include "graph/graph.h"
#include "model/model.h"
#include "optim/optim.h"

#include <math.h>

#define RTOL 1e-5
#define ATOL 1e-6

static int setup(void **state)
{
    *state = fx_load("losses_metrics.txt");
    return 0;
}

/* ----------------------------------------------------------------- losses */

static const struct {
    const char *prefix;
    dc_loss_kind kind;
} LOSSES[] = {
    {"huber", DC_LOSS_HUBER},
    {"log_cosh", DC_LOSS_LOG_COSH},
    {"hinge", DC_LOSS_HINGE},
    {"hinge_pm", DC_LOSS_HINGE},
    {"squared_hinge", DC_LOSS_SQUARED_HINGE},
    {"kld", DC_LOSS_KL_DIVERGENCE},
    {"poisson", DC_LOSS_POISSON},
    {"cosine", DC_LOSS_COSINE_SIMILARITY},
};

static void test_losses_match_reference(void **state)
{
    for (size_t i = 0; i < sizeof LOSSES / sizeof LOSSES[0]; i++)
        assert_loss_fixture(*state, LOSSES[i].prefix, LOSSES[i].kind, NULL, RTOL, ATOL);
}

static void test_loss_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        dc_loss_kind kind;
    } names[] = {
        {"huber", DC_LOSS_HUBER},           {"Huber", DC_LOSS_HUBER},
        {"log_cosh", DC_LOSS_LOG_COSH},     {"LogCosh", DC_LOSS_LOG_COSH},
        {"hinge", DC_LOSS_HINGE},           {"SquaredHinge", DC_LOSS_SQUARED_HINGE},
        {"kld", DC_LOSS_KL_DIVERGENCE},     {"KLDivergence", DC_LOSS_KL_DIVERGENCE},
        {"poisson", DC_LOSS_POISSON},       {"cosine_similarity", DC_LOSS_COSINE_SIMILARITY},
        {"MeanSquaredError", DC_LOSS_MSE},  {"bce", DC_LOSS_BINARY_CE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        dc_loss_kind k = DC_LOSS_COUNT;
        assert_int_equal(dc_loss_parse(names[i].name, &k), DC_OK);
        assert_int_equal(k, names[i].kind);
    }
    dc_loss_kind k;
    assert_int_equal(dc_loss_parse("hubber", &k), DC_ERR_ARG);
    assert_errmsg_contains("unknown loss \"hubber\"");
    assert_errmsg_contains("huber, log_cosh, hinge, squared_hinge, kl_divergence");
}

/* ---------------------------------------------------------------- metrics */

static dc_metric resolved(const char *name, dc_loss_kind loss, int cols)
{
    dc_metric m;
    if (dc_metric_resolve(name, NULL, loss, cols, &m) != DC_OK)
        fail_msg("%s: %s", name, dc_errmsg());
    return m;
}

/* Updates in two unequal parts merged into a fresh state, and in one piece:
 * both values must agree (the states are sums) and match `want`. */
static void check_metric(dc_metric m, const float *pred, const float *target, size_t rows, int cols, int target_cols,
                         double want, double tol)
{
    dc_metric whole = m, a = m, b = m;
    dc_metric_reset(&whole);
    dc_metric_reset(&a);
    dc_metric_reset(&b);
    dc_metric_update(&whole, pred, 0, target, NULL, NULL, rows, cols);
    size_t cut = rows / 3;
    dc_metric_update(&a, pred, 0, target, NULL, NULL, cut, cols);
    dc_metric_update(&b, pred + cut * (size_t)cols, 0, target + cut * (size_t)target_cols, NULL, NULL, rows - cut, cols);
    dc_metric_merge(&a, &b);
    double v = dc_metric_value(&whole), vm = dc_metric_value(&a);
    if (fabs(v - want) > tol * (1 + fabs(want)))
        fail_msg("%s: %.9g, expected %.9g", m.name, v, want);
    if (m.kind != DC_METRIC_LOSS_ROW || (m.row_loss != DC_LOSS_HINGE && m.row_loss != DC_LOSS_SQUARED_HINGE))
        if (fabs(vm - v) > 1e-12 * (1 + fabs(v)))
            fail_msg("%s: merged parts give %.17g, the whole %.17g", m.name, vm, v);
}

static void test_binary_metrics(void **state)
{
    const fx_file *f = *state;
    const fx_array *p = fx_get(f, "bin.prob"), *l = fx_get(f, "bin.label");
    size_t n = p->size;
    const char *names[] = {"precision", "recall", "auc"}, *cls[] = {"Precision", "Recall", "AUC"};
    for (int i = 0; i < 3; i++) {
        double want = fx_get_part(f, "bin", names[i])->data[0];
        check_metric(resolved(names[i], DC_LOSS_BINARY_CE_LOGITS, 1), p->data, l->data, n, 1, 1, want, 1e-6);
        check_metric(resolved(cls[i], DC_LOSS_MSE, 1), p->data, l->data, n, 1, 1, want, 1e-6);
    }
    /* AUC of a perfect ranking is 1, of a reversed one 0 */
    float pp[4] = {0.1f, 0.2f, 0.8f, 0.9f}, ll[4] = {0, 0, 1, 1}, rr[4] = {1, 1, 0, 0};
    check_metric(resolved("auc", DC_LOSS_BINARY_CE, 1), pp, ll, 4, 1, 1, 1.0, 1e-12);
    check_metric(resolved("auc", DC_LOSS_BINARY_CE, 1), pp, rr, 4, 1, 1, 0.0, 1e-12);
}

static void test_top_k(void **state)
{
    const fx_file *f = *state;
    const fx_array *p = fx_get(f, "topk.pred");
    double want = fx_get(f, "topk.value")->data[0];
    check_metric(resolved("top_k_categorical_accuracy", DC_LOSS_CATEGORICAL_CE_LOGITS, 7), p->data,
                 fx_get(f, "topk.onehot")->data, 8, 7, 7, want, 1e-12);
    check_metric(resolved("SparseTopKCategoricalAccuracy", DC_LOSS_SPARSE_CE_LOGITS, 7), p->data,
                 fx_get(f, "topk.labels")->data, 8, 7, 1, want, 1e-12);
    assert_true(want > 0.5 && want < 1.0); /* the fixture has hits and a tie just outside */
}

/* The loss-like metrics are the mean of the loss rows: the loss itself
 * (cosine: its negative); RMSE by hand. */
static void test_loss_metrics(void **state)
{
    const fx_file *f = *state;
    static const struct {
        const char *metric, *prefix;
        double sign;
    } cases[] = {
        {"hinge", "hinge", 1},         {"Hinge", "hinge_pm", 1}, {"squared_hinge", "squared_hinge", 1},
        {"kl_divergence", "kld", 1},   {"poisson", "poisson", 1}, {"log_cosh_error", "log_cosh", 1},
        {"CosineSimilarity", "cosine", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fx_array *p = fx_get_part(f, cases[i].prefix, "pred"), *t = fx_get_part(f, cases[i].prefix, "target");
        double want = cases[i].sign * fx_get_part(f, cases[i].prefix, "loss")->data[0];
        dc_metric m = resolved(cases[i].metric, DC_LOSS_MSE, 3);
        dc_metric_reset(&m);
        dc_metric_update(&m, p->data, 0, t->data, NULL, NULL, 4, 3);
        if (fabs(dc_metric_value(&m) - want) > 1e-5 * (1 + fabs(want)))
            fail_msg("%s: %.9g, expected %.9g", cases[i].metric, dc_metric_value(&m), want);
    }
    const fx_array *p = fx_get_part(f, "huber", "pred"), *t = fx_get_part(f, "huber", "target");
    double se = 0;
    for (size_t i = 0; i < p->size; i++)
        se += ((double)p->data[i] - t->data[i]) * ((double)p->data[i] - t->data[i]);
    check_metric(resolved("root_mean_squared_error", DC_LOSS_MSE, 3), p->data, t->data, 4, 3, 3, sqrt(se / 12), 1e-12);
}

/* Masked rows are left out: rows 0 and 2 under a mask equal those rows alone. */
static void test_metric_mask(void **state)
{
    (void)state;
    float pred[4] = {0.9f, 0.7f, 0.2f, 0.6f}, lab[4] = {1, 0, 0, 1}, mask[4] = {3, 0, 5, 0};
    float p2[2] = {0.9f, 0.2f}, l2[2] = {1, 0};
    const char *names[] = {"precision", "recall", "auc", "root_mean_squared_error", "hinge", "poisson"};
    for (int i = 0; i < 6; i++) {
        dc_metric a = resolved(names[i], DC_LOSS_BINARY_CE, 1), b = a;
        dc_metric_reset(&a);
        dc_metric_reset(&b);
        dc_metric_update(&a, pred, 0, lab, mask, NULL, 4, 1);
        dc_metric_update(&b, p2, 0, l2, NULL, NULL, 2, 1);
        if (dc_metric_value(&a) != dc_metric_value(&b))
            fail_msg("%s: masked %.9g, rows alone %.9g", names[i], dc_metric_value(&a), dc_metric_value(&b));
    }
}

/* ------------------------------------------------------------- optimisers */

#define NP 2
#define STEPS 3
static const float W0[NP] = {0.5f, -1.5f};
static const float G[STEPS][NP] = {{0.1f, -0.2f}, {-0.3f, 0.05f}, {0.2f, 0.4f}};

/* Keras' update rules written out in float32 (keras/src/optimizers/<name>.py). */
static void keras_rule(dc_opt_kind kind, const dc_optimizer_config *c, float *w)
{
    float m[NP] = {0}, v[NP] = {0}, up = 1.0f;
    const float lr = c->learning_rate, b1 = c->beta_1, b2 = c->beta_2, eps = c->epsilon, rho = c->rho;
    for (int s = 0; s < STEPS; s++) {
        float t = (float)(s + 1);
        float u_t = b1 * (1.0f - 0.5f * powf(0.96f, t)), u_t1 = b1 * (1.0f - 0.5f * powf(0.96f, t + 1.0f));
        up = up * u_t;
        for (int i = 0; i < NP; i++) {
            float g = G[s][i];
            if (kind == DC_OPT_NADAM) {
                m[i] = m[i] + (g - m[i]) * (1 - b1);
                v[i] = v[i] + (g * g - v[i]) * (1 - b2);
                float m_hat = u_t1 * m[i] / (1 - up * u_t1) + (1 - u_t) * g / (1 - up);
                float v_hat = v[i] / (1 - powf(b2, t));
                w[i] -= m_hat * lr / (sqrtf(v_hat) + eps);
            } else if (kind == DC_OPT_ADAMAX) {
                m[i] = m[i] + (g - m[i]) * (1 - b1);
                v[i] = fmaxf(b2 * v[i], fabsf(g));
                w[i] -= lr * m[i] / ((1 - powf(b1, t)) * (v[i] + eps));
            } else if (kind == DC_OPT_ADADELTA) {
                m[i] = rho * m[i] + (1 - rho) * g * g;
                float delta = -(sqrtf(v[i] + eps) * g) / sqrtf(m[i] + eps);
                v[i] = rho * v[i] + (1 - rho) * delta * delta;
                w[i] += lr * delta;
            } else { /* Lion */
                float cdir = m[i] * b1 + g * (1 - b1);
                w[i] -= lr * (cdir > 0 ? 1.0f : cdir < 0 ? -1.0f : 0.0f);
                m[i] = m[i] * b2 + g * (1 - b2);
            }
        }
    }
}

static void test_new_optimizers(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        dc_opt_kind kind;
        float lr, b2, rho;
    } opts[] = {
        {"nadam", DC_OPT_NADAM, 0.001f, 0.999f, 0.9f},
        {"Adamax", DC_OPT_ADAMAX, 0.001f, 0.999f, 0.9f},
        {"adadelta", DC_OPT_ADADELTA, 0.001f, 0.999f, 0.95f},
        {"Lion", DC_OPT_LION, 0.001f, 0.99f, 0.9f},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        dc_optimizer_config c;
        assert_int_equal(dc_optimizer_parse(opts[k].name, &c), DC_OK);
        assert_int_equal(c.kind, opts[k].kind);
        /* Keras 3's defaults */
        assert_true(c.learning_rate == opts[k].lr && c.beta_1 == 0.9f && c.beta_2 == opts[k].b2 &&
                    c.rho == opts[k].rho && c.epsilon == 1e-7f);
        c.learning_rate = opts[k].kind == DC_OPT_ADADELTA ? 1.0f : 0.01f; /* visible steps */
        dc_optimizer *o = dc_optimizer_new(&c, NP);
        assert_non_null(o);
        float w[NP], want[NP];
        memcpy(w, W0, sizeof w);
        memcpy(want, W0, sizeof want);
        for (int s = 0; s < STEPS; s++)
            dc_optimizer_step(o, w, G[s]);
        keras_rule(opts[k].kind, &c, want);
        char what[64];
        snprintf(what, sizeof what, "%s after 3 steps", opts[k].name);
        assert_close(w, want, NP, 1e-6, 1e-9, what);
        assert_true(fabsf(w[0] - W0[0]) > 1e-3f); /* it moved */
        dc_optimizer_free(o);
    }
    dc_optimizer_config c;
    assert_int_equal(dc_optimizer_parse("nadamm", &c), DC_ERR_ARG);
    assert_errmsg_contains("nadam, adamax, adadelta or lion");
}

/* ------------------------------------------ compile, save, load, resume */

static dc_model *regressor(const char *optimizer, const char *loss, const char *const *metrics, int n, int out_act_sigmoid)
{
    int features = 4;
    dc_model *m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, out_act_sigmoid ? "sigmoid" : "linear")), DC_OK);
    if (dc_model_compile(m, optimizer, loss, metrics, n) != DC_OK)
        fail_msg("compile %s / %s: %s", optimizer, loss, dc_errmsg());
    return m;
}

static void binary_data(int n, dc_tensor **x, dc_tensor **y)
{
    dc_rng r;
    dc_rng_seed(&r, 3);
    *x = dc_tensor_new4(2, n, 4, 0, 0);
    *y = dc_tensor_new4(2, n, 1, 0, 0);
    for (size_t i = 0; i < (*x)->size; i++)
        (*x)->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < n; i++)
        (*y)->data[i] = (*x)->data[4 * i] + 0.3f * (*x)->data[4 * i + 1] > 0.1f ? 1.0f : 0.0f;
}

/* Each new optimiser (each with one of the new losses): 2 epochs in one run
 * equal 1 epoch, save with the optimiser, load, 1 more epoch - bit for bit;
 * the loss and metric names come back from the file. */
static void test_resume_new_optimizers(void **state)
{
    (void)state;
    const char *opts[] = {"nadam", "adamax", "adadelta", "lion"};
    const char *losses[] = {"binary_crossentropy", "Huber", "squared_hinge", "poisson"};
    const dc_loss_kind kinds[] = {DC_LOSS_BINARY_CE, DC_LOSS_HUBER, DC_LOSS_SQUARED_HINGE, DC_LOSS_POISSON};
    const char *metrics[] = {"auc", "precision", "recall", "root_mean_squared_error"};
    char *dir = make_dir();
    dc_tensor *x, *y;
    binary_data(40, &x, &y);
    for (int k = 0; k < 4; k++) {
        dc_fit_config c = quiet_fit(2, 8);
        dc_model *a = regressor(opts[k], losses[k], metrics, 4, 1);
        dc_history *ha, *hb;
        assert_int_equal(dc_model_fit(a, x, y, &c, &ha), DC_OK);
        dc_model *b = regressor(opts[k], losses[k], metrics, 4, 1), *resumed;
        c.epochs = 1;
        assert_int_equal(dc_model_fit(b, x, y, &c, NULL), DC_OK);
        assert_int_equal(dc_model_save(b, join(dir, "m.safetensors"), 1), DC_OK);
        dc_model_free(b);
        assert_int_equal(dc_model_load(join(dir, "m.safetensors"), &resumed), DC_OK);
        dc_model_set_threads(resumed, 1);
        assert_int_equal(resumed->loss_kind, kinds[k]);
        assert_int_equal(dc_optimizer_config_of(resumed->opt)->kind, dc_optimizer_config_of(a->opt)->kind);
        assert_string_equal(dc_model_metric_name(resumed, 1), "auc");
        assert_string_equal(dc_model_metric_name(resumed, 4), "root_mean_squared_error");
        c.initial_epoch = 1;
        c.epochs = 2;
        assert_int_equal(dc_model_fit(resumed, x, y, &c, &hb), DC_OK);
        for (int i = 0; i < 5; i++) {
            const char *key = dc_model_metric_name(a, i);
            if (dc_history_get(ha, key)[1] != dc_history_get(hb, key)[0])
                fail_msg("%s: %s in epoch 2: %.17g in one run, %.17g resumed", opts[k], key, dc_history_get(ha, key)[1],
                         dc_history_get(hb, key)[0]);
        }
        assert_same_predictions(a, resumed, x);
        dc_history_free(ha);
        dc_history_free(hb);
        dc_model_free(a);
        dc_model_free(resumed);
    }
    rm_dir(dir);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* evaluate's precision / recall / AUC on a fused sigmoid + cross-entropy
 * (the loss sees logits) equal the metrics of predict's probabilities. */
static void test_binary_metrics_through_evaluate(void **state)
{
    (void)state;
    const char *metrics[] = {"precision", "recall", "auc", "accuracy"};
    dc_tensor *x, *y, *pred;
    binary_data(50, &x, &y);
    dc_model *m = regressor("adam", "binary_crossentropy", metrics, 4, 1);
    dc_fit_config c = quiet_fit(3, 10);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    double res[5];
    assert_int_equal(dc_model_evaluate(m, x, y, 16, 0, res, 5), DC_OK);
    assert_int_equal(dc_model_predict(m, x, 16, &pred), DC_OK);
    for (int i = 0; i < 3; i++) {
        dc_metric mm = resolved(metrics[i], DC_LOSS_BINARY_CE, 1);
        dc_metric_reset(&mm);
        dc_metric_update(&mm, pred->data, 0, y->data, NULL, NULL, 50, 1);
        if (fabs(dc_metric_value(&mm) - res[1 + i]) > 1e-12)
            fail_msg("%s: evaluate %.9g, from predict %.9g", metrics[i], res[1 + i], dc_metric_value(&mm));
    }
    assert_true(res[3] > 0.5); /* AUC of a model that learnt something */
    dc_tensor_free(pred);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* ----------------------------------------------------------------- errors */

/* Dense -> Dropout -> BatchNormalization -> Dense(1, sigmoid), fused with
 * binary cross-entropy, with the given metrics. */
static dc_model *dropout_bn_classifier(const char *const *metrics, int n)
{
    int features = 4;
    dc_model *m = dc_sequential_new(1, &features);
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dropout(0.3f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_batch_normalization()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, "sigmoid")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "binary_crossentropy", metrics, n), DC_OK);
    return m;
}

/* Metrics that read probabilities while the loss reads logits (MAE, AUC on a
 * fused sigmoid) must not run the model again: training with them gives
 * the same weights, moving statistics and RNG stream as training without. */
static void test_probability_metrics_do_not_rerun_the_model(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    binary_data(40, &x, &y);
    const char *plain[] = {"accuracy"}, *probs[] = {"accuracy", "mae", "auc"};
    dc_model *a = dropout_bn_classifier(plain, 1), *b = dropout_bn_classifier(probs, 3);
    dc_fit_config c = dc_fit_defaults();
    c.epochs = 2;
    c.batch_size = 8;
    c.verbose = 0;
    assert_int_equal(dc_model_fit(a, x, y, &c, NULL), DC_OK);
    assert_int_equal(dc_model_fit(b, x, y, &c, NULL), DC_OK);
    size_t n;
    const float *pa = dc_graph_params(a->g, &n), *pb = dc_graph_params(b->g, NULL);
    assert_memory_equal(pa, pb, n * sizeof *pa); /* moving statistics included */
    assert_memory_equal(&a->rng, &b->rng, sizeof a->rng);
    dc_model_free(a);
    dc_model_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_errors(void **state)
{
    (void)state;
    int features = 4;
    const char *auc[] = {"auc"}, *topk[] = {"top_k_categorical_accuracy"}, *stopk[] = {"sparse_top_k_categorical_accuracy"};
    const char *bad[] = {"prescision"};
    struct {
        int classes;
        const char *loss;
        const char *const *metric;
        const char *needle;
    } cases[] = {
        {10, "categorical_crossentropy", auc, "metric \"auc\" is for binary outputs"},
        {10, "categorical_crossentropy", auc, "the output has 10 classes per row under categorical_crossentropy"},
        {4, "categorical_crossentropy", topk, "top 5 predictions, but the output has 4 class(es)"},
        {5, "sparse_categorical_crossentropy", stopk, "top 5 predictions, but the output has 5 class(es)"},
        {10, "categorical_crossentropy", stopk, "takes one integer label per row"},
        {3, "mse", bad, "unknown metric \"prescision\"; expected accuracy"},
        {3, "mse", bad, "precision, recall, auc, top_k_categorical_accuracy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_model *m = dc_sequential_new(1, &features);
        assert_int_equal(dc_model_add(m, dc_layer_dense(cases[i].classes, "softmax")), DC_OK);
        assert_int_equal(dc_model_compile(m, "adam", cases[i].loss, cases[i].metric, 1), DC_ERR_ARG);
        assert_errmsg_contains(cases[i].needle);
        dc_model_free(m);
    }
    /* hinge labels other than -1, 0, 1: an error at fit naming sample and value */
    dc_tensor *x, *y;
    binary_data(12, &x, &y);
    y->data[7] = 2.0f;
    dc_model *m = regressor("sgd", "hinge", NULL, 0, 0);
    dc_fit_config c = quiet_fit(1, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("fit: hinge label y[7] = 2 (sample 7");
    assert_errmsg_contains("is not -1, 0 or 1");
    y->data[7] = -1.0f;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_losses_match_reference, setup, fx_teardown),
        cmocka_unit_test(test_loss_names),
        cmocka_unit_test_setup_teardown(test_binary_metrics, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_top_k, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_loss_metrics, setup, fx_teardown),
        cmocka_unit_test(test_metric_mask),
        cmocka_unit_test(test_new_optimizers),
        cmocka_unit_test(test_resume_new_optimizers),
        cmocka_unit_test(test_binary_metrics_through_evaluate),
        cmocka_unit_test(test_probability_metrics_do_not_rerun_the_model),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
