/*
 * test_weighted_metrics.c - compile's weighted_metrics against Keras 3
 * (trainers/compile_utils.py CompileMetrics; metrics/reduction_metrics.py
 * Mean: sum(w v) / sum(w); metrics_utils.py update_confusion_matrix_variables:
 * weighted tp/fp/tn/fn):
 *  - every metric kind, weighted, against a double computation on a small
 *    batch with weights 0, fractional and negative; with integer weights
 *    against the unweighted metric on the batch with row r repeated w_r
 *    times; weights all 1 equal the unweighted state bit for bit;
 *  - in a model: names (Keras' "weighted_" prefix and _1 suffix), fit with
 *    class_weight, validation_data with its own weights, a masked per-step
 *    output, evaluate_ex, save / load, and the errors.
 */
#include "iotest.h"

#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define R 6
#define C 3

/* Probabilities away from the thresholds (0.5, the AUC grid) and from ties. */
static const float PRED[R * C] = {0.71f, 0.12f, 0.33f, 0.22f, 0.64f, 0.58f, 0.41f, 0.27f, 0.86f,
                                  0.93f, 0.36f, 0.07f, 0.18f, 0.77f, 0.44f, 0.52f, 0.61f, 0.29f};
static const float MULTI[R * C] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0}; /* multi-label 0/1 */
static const float ONEHOT[R * C] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0};
static const float LABELS[R] = {0, 1, 2, 1, 2, 0};
static const float W[R] = {1.5f, 0.0f, 2.0f, 0.25f, 1.0f, -0.5f}; /* 0 and negative: Keras allows any */
static const int W_INT[R] = {2, 0, 3, 1, 1, 2};

typedef struct mcase {
    const char *name;
    dc_loss_kind loss;
    const float *target; /* R x C, or R labels */
    int target_cols;
} mcase;

static const mcase CASES[] = {
    {"sparse_categorical_accuracy", DC_LOSS_SPARSE_CE, LABELS, 1},
    {"categorical_accuracy", DC_LOSS_CATEGORICAL_CE, ONEHOT, C},
    {"binary_accuracy", DC_LOSS_BINARY_CE, MULTI, C},
    {"mae", DC_LOSS_MSE, MULTI, C},
    {"mse", DC_LOSS_MSE, MULTI, C},
    {"precision", DC_LOSS_BINARY_CE, MULTI, C},
    {"recall", DC_LOSS_BINARY_CE, MULTI, C},
    {"auc", DC_LOSS_BINARY_CE, MULTI, C},
    {"top_k_categorical_accuracy", DC_LOSS_CATEGORICAL_CE, ONEHOT, C},
    {"sparse_top_k_categorical_accuracy", DC_LOSS_SPARSE_CE, LABELS, 1},
    {"root_mean_squared_error", DC_LOSS_MSE, MULTI, C},
    {"poisson", DC_LOSS_MSE, MULTI, C},
    {"cosine_similarity", DC_LOSS_MSE, MULTI, C},
};
#define N_CASES (int)(sizeof CASES / sizeof CASES[0])

static int argmax_f(const float *v) { return v[1] > v[0] ? (v[2] > v[1] ? 2 : 1) : (v[2] > v[0] ? 2 : 0); }

/* Rank of the label's prediction among the row's: how many are greater. */
static int greater_than(const float *p, int label)
{
    int g = 0;
    for (int j = 0; j < C; j++)
        g += p[j] > p[label];
    return g;
}

/* Row r's value of a mean metric (the row's mean over its values, as
 * Keras' metric functions return it). */
static double row_value(const char *name, const float *p, const float *t, int label)
{
    double v = 0;
    if (!strcmp(name, "sparse_categorical_accuracy"))
        return argmax_f(p) == label;
    if (!strcmp(name, "categorical_accuracy"))
        return argmax_f(p) == argmax_f(t);
    if (!strcmp(name, "top_k_categorical_accuracy")) /* k = 2 */
        return greater_than(p, argmax_f(t)) < 2;
    if (!strcmp(name, "sparse_top_k_categorical_accuracy"))
        return greater_than(p, label) < 2;
    double pn = 0, tn = 0, dot = 0;
    for (int j = 0; j < C; j++) {
        double d = (double)p[j] - t[j];
        if (!strcmp(name, "binary_accuracy"))
            v += (p[j] > 0.5f) == (t[j] > 0.5f);
        else if (!strcmp(name, "mae"))
            v += fabs(d);
        else if (!strcmp(name, "poisson"))
            v += p[j] - t[j] * log(p[j] + 1e-7);
        else
            v += d * d; /* mse, rmse */
        pn += (double)p[j] * p[j];
        tn += (double)t[j] * t[j];
        dot += (double)p[j] * t[j];
    }
    if (!strcmp(name, "cosine_similarity"))
        return dot / (fmax(sqrt(pn), 1e-6) * fmax(sqrt(tn), 1e-6));
    return v / C;
}

/* Keras' ROC AUC from weighted counts at its 200 thresholds, counted
 * directly (p > threshold), trapezoid rule. */
static double auc_reference(const float *w)
{
    double tp[200], fp[200], pos = 0, neg = 0, area = 0;
    for (int i = 0; i < 200; i++) {
        double thr = i == 0 ? -1e-7 : i == 199 ? 1 + 1e-7 : i / 199.0;
        tp[i] = fp[i] = 0;
        for (int e = 0; e < R * C; e++)
            if (PRED[e] > thr)
                *(MULTI[e] != 0 ? &tp[i] : &fp[i]) += w[e / C];
    }
    for (int e = 0; e < R * C; e++)
        *(MULTI[e] != 0 ? &pos : &neg) += w[e / C];
    for (int i = 0; i + 1 < 200; i++)
        area += (fp[i] - fp[i + 1]) / neg * (tp[i] / pos + tp[i + 1] / pos) / 2.0;
    return area;
}

/* The weighted metric in double, from the definitions. */
static double reference(const mcase *c, const float *w)
{
    if (!strcmp(c->name, "auc"))
        return auc_reference(w);
    double sum = 0, den = 0, tp = 0, fp = 0, fn = 0;
    for (int r = 0; r < R; r++) {
        const float *p = PRED + r * C, *t = c->target + r * c->target_cols;
        sum += w[r] * row_value(c->name, p, t, (int)c->target[r]);
        den += w[r];
        for (int j = 0; c->target_cols == C && j < C; j++) { /* targets shaped like the output */
            int label = t[j] != 0, pos = p[j] > 0.5f;
            tp += w[r] * (label && pos);
            fp += w[r] * (!label && pos);
            fn += w[r] * (label && !pos);
        }
    }
    if (!strcmp(c->name, "precision"))
        return tp / (tp + fp);
    if (!strcmp(c->name, "recall"))
        return tp / (tp + fn);
    if (!strcmp(c->name, "root_mean_squared_error"))
        return sqrt(sum / den);
    return sum / den;
}

static void resolve(const mcase *c, dc_metric *m)
{
    dc_metric_args a = {0};
    if (strstr(c->name, "top_k"))
        a.k = 2;
    if (dc_metric_resolve(c->name, &a, c->loss, C, m) != DC_OK)
        fail_msg("%s: %s", c->name, dc_errmsg());
}

static void assert_near(double got, double want, double tol, const char *what, const char *name)
{
    if (!(fabs(got - want) <= tol * (1 + fabs(want))))
        fail_msg("%s, %s: got %.17g, want %.17g", name, what, got, want);
}

static void test_every_kind_against_double(void **state)
{
    (void)state;
    for (int k = 0; k < N_CASES; k++) {
        const mcase *c = &CASES[k];
        dc_metric m;
        resolve(c, &m);
        dc_metric_update(&m, PRED, 0, c->target, NULL, W, 3, C); /* two batches: the state sums */
        dc_metric_update(&m, PRED + 3 * C, 0, c->target + 3 * c->target_cols, NULL, W + 3, R - 3, C);
        assert_near(dc_metric_value(&m), reference(c, W), 1e-6, "fractional weights", c->name);
    }
}

/* Integer weights are repeats: the weighted metric equals the unweighted one
 * on the batch with row r repeated W_INT[r] times (0: left out). */
static void test_integer_weights_are_repeats(void **state)
{
    (void)state;
    float wi[R], pred[4 * R * C], target[4 * R * C];
    for (int r = 0; r < R; r++)
        wi[r] = (float)W_INT[r];
    for (int k = 0; k < N_CASES; k++) {
        const mcase *c = &CASES[k];
        int n = 0, tc = c->target_cols;
        for (int r = 0; r < R; r++)
            for (int i = 0; i < W_INT[r]; i++, n++) {
                memcpy(pred + n * C, PRED + r * C, C * sizeof(float));
                memcpy(target + n * tc, c->target + r * tc, (size_t)tc * sizeof(float));
            }
        dc_metric a, b;
        resolve(c, &a);
        resolve(c, &b);
        dc_metric_update(&a, PRED, 0, c->target, NULL, wi, R, C);
        dc_metric_update(&b, pred, 0, target, NULL, NULL, (size_t)n, C);
        assert_near(dc_metric_value(&a), dc_metric_value(&b), 1e-12, "repeats", c->name);
        assert_near(dc_metric_value(&a), reference(c, wi), 1e-6, "integer weights", c->name);
    }
}

/* Weights all 1 leave every sum as the unweighted metric's, bit for bit,
 * with and without a mask; a mask id 0 weighs the row 0. */
static void test_unit_weights_bitwise_and_mask(void **state)
{
    (void)state;
    static const float ones[R] = {1, 1, 1, 1, 1, 1}, mask[R] = {3, 0, 1, 7, 0, 2};
    float masked[R];
    for (int r = 0; r < R; r++)
        masked[r] = mask[r] != 0 ? W[r] : 0.0f;
    for (int k = 0; k < N_CASES; k++) {
        const mcase *c = &CASES[k];
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            const float *mk = with_mask ? mask : NULL;
            dc_metric a, b;
            resolve(c, &a);
            resolve(c, &b);
            dc_metric_update(&a, PRED, 0, c->target, mk, ones, R, C);
            dc_metric_update(&b, PRED, 0, c->target, mk, NULL, R, C);
            if (memcmp(&a.sum, &b.sum, sizeof a.sum) || memcmp(&a.count, &b.count, sizeof a.count) ||
                memcmp(a.cm, b.cm, sizeof a.cm))
                fail_msg("%s (mask %d): weights all 1 differ from no weights", c->name, with_mask);
        }
        dc_metric a, b;
        resolve(c, &a);
        resolve(c, &b);
        dc_metric_update(&a, PRED, 0, c->target, mask, W, R, C);
        dc_metric_update(&b, PRED, 0, c->target, NULL, masked, R, C);
        assert_near(dc_metric_value(&a), dc_metric_value(&b), 0, "mask times weight", c->name);
    }
}

/* ---- in a model ---- */

#define N 8
#define IN 4

static const float YL[N] = {0, 1, 2, 1, 0, 2, 2, 1};
static const float SW[N] = {1.0f, 0.0f, 2.5f, 0.5f, 1.0f, 3.0f, 0.0f, 1.5f};
static const float CW[C] = {2.0f, 0.5f, 4.0f};

/* A (d0[, d1[, d2]]) tensor holding data (NULL: zeros). */
static dc_tensor *filled(int ndim, int d0, int d1, int d2, const float *data)
{
    dc_tensor *t = dc_tensor_new4(ndim, d0, d1, d2, 0);
    assert_non_null(t);
    for (size_t i = 0; data && i < t->size; i++)
        t->data[i] = data[i];
    return t;
}

static dc_tensor *inputs(float shift)
{
    dc_tensor *x = filled(2, N, IN, 0, NULL);
    for (int i = 0; i < N * IN; i++)
        x->data[i] = 0.35f * (float)((i * 5) % 9) - 1.1f + shift;
    return x;
}

/* Dense(3, softmax) compiled with cfg, fixed weights. */
static dc_status softmax_model(dc_compile_config cfg, dc_model **out)
{
    int in = IN;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    dc_dense_config d = dc_dense_defaults(C);
    d.activation = "softmax";
    assert_int_equal(dc_model_add(m, dc_layer_dense_ex(&d)), DC_OK);
    assert_int_equal(dc_optimizer_parse("sgd", &cfg.optimizer), DC_OK);
    dc_status st = dc_model_compile_ex(m, &cfg);
    if (st != DC_OK) {
        dc_model_free(m);
        return st;
    }
    float *k = m->layers[0]->built->params[0]->val;
    for (int i = 0; i < IN * C; i++)
        k[i] = 0.2f * (float)((i * 3) % 7) - 0.6f;
    *out = m;
    return DC_OK;
}

static dc_compile_config acc_config(void)
{
    dc_compile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.loss = DC_LOSS_SPARSE_CE;
    cfg.metrics[0] = "accuracy";
    cfg.weighted_metrics[0] = "accuracy";
    cfg.weighted_metrics[1] = "sparse_top_k_categorical_accuracy";
    cfg.weighted_metric_args[1].k = 2;
    return cfg;
}

/* Weighted accuracy and top-2 of the model's predictions on x, in double. */
static void model_reference(dc_model *m, const dc_tensor *x, const float *w, double *acc, double *top2)
{
    dc_tensor *p;
    assert_int_equal(dc_model_predict(m, x, N, &p), DC_OK);
    double a = 0, t = 0, den = 0;
    for (int i = 0; i < N; i++) {
        a += w[i] * (argmax_f(p->data + i * C) == (int)YL[i]);
        t += w[i] * (greater_than(p->data + i * C, (int)YL[i]) < 2);
        den += w[i];
    }
    *acc = a / den;
    *top2 = t / den;
    dc_tensor_free(p);
}

static void test_names_follow_keras(void **state)
{
    (void)state;
    dc_compile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.loss = DC_LOSS_MSE;
    cfg.metrics[0] = "mae";
    const char *weighted[4] = {"mae", "mse", "mae", "MAE"};
    memcpy(cfg.weighted_metrics, weighted, sizeof weighted);
    dc_model *m;
    assert_int_equal(softmax_model(cfg, &m), DC_OK);
    static const char *const want[] = {"loss", "mae", "weighted_mae", "mse", "weighted_mae_1", "MAE"};
    assert_int_equal(dc_model_metric_count(m), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(dc_model_metric_name(m, i), want[i]);
    dc_model_free(m);
}

/* fit with class_weight: one epoch of one batch reports the weighted
 * metrics of the starting weights with the class weights; the unweighted
 * accuracy stays unweighted.  validation_data is weighed by its own
 * sample weights, and evaluate_ex gives the same numbers afterwards. */
static void test_fit_class_weight_and_validation(void **state)
{
    (void)state;
    dc_model *m;
    assert_int_equal(softmax_model(acc_config(), &m), DC_OK);
    dc_tensor *x = inputs(0.0f), *y = filled(1, N, 0, 0, YL), *xv = inputs(0.4f), *wv = filled(1, N, 0, 0, SW);
    float cw[N], ones[N];
    for (int i = 0; i < N; i++) {
        cw[i] = CW[(int)YL[i]];
        ones[i] = 1.0f;
    }
    double acc, top2, acc1, top1;
    model_reference(m, x, cw, &acc, &top2);
    model_reference(m, x, ones, &acc1, &top1);
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 1;
    fc.batch_size = N;
    fc.verbose = 0;
    fc.shuffle = 0;
    fc.class_weight = CW;
    fc.n_class_weight = C;
    fc.x_val = xv;
    fc.y_val = y;
    fc.sample_weight_val = wv;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &fc, &h), DC_OK);
    assert_near(dc_history_get(h, "weighted_accuracy")[0], acc, 1e-6, "fit", "weighted_accuracy");
    assert_near(dc_history_get(h, "sparse_top_k_categorical_accuracy")[0], top2, 1e-6, "fit", "top-2");
    assert_near(dc_history_get(h, "accuracy")[0], acc1, 1e-6, "fit", "accuracy");
    assert_true(fabs(acc - acc1) > 1e-3); /* the data tells weighted from unweighted */

    double vacc, vtop2, vacc1, vtop1, res[4];
    model_reference(m, xv, SW, &vacc, &vtop2);
    model_reference(m, xv, ones, &vacc1, &vtop1);
    assert_near(dc_history_get(h, "val_weighted_accuracy")[0], vacc, 1e-6, "validation", "weighted_accuracy");
    assert_near(dc_history_get(h, "val_sparse_top_k_categorical_accuracy")[0], vtop2, 1e-6, "validation", "top-2");
    assert_near(dc_history_get(h, "val_accuracy")[0], vacc1, 1e-6, "validation", "accuracy");
    assert_true(fabs(vacc - vacc1) > 1e-3);
    assert_int_equal(dc_model_evaluate_ex(m, xv, y, wv, 3, 0, res, 4), DC_OK); /* uneven batches */
    assert_near(res[1], vacc1, 1e-12, "evaluate_ex", "accuracy");
    assert_near(res[2], vacc, 1e-12, "evaluate_ex", "weighted_accuracy");
    assert_near(res[3], vtop2, 1e-12, "evaluate_ex", "top-2");
    assert_near(res[2], dc_history_get(h, "val_weighted_accuracy")[0], 1e-12, "evaluate_ex", "= val");
    /* without weights a weighted metric is its unweighted twin, exactly */
    assert_int_equal(dc_model_evaluate_ex(m, xv, y, NULL, 3, 0, res, 4), DC_OK);
    assert_true(res[1] == res[2]);
    dc_tensor *w1 = filled(1, N, 0, 0, ones);
    assert_int_equal(dc_model_evaluate_ex(m, xv, y, w1, 3, 0, res, 4), DC_OK);
    assert_true(res[1] == res[2]);
    dc_tensor_free(w1);
    assert_int_equal(dc_model_evaluate_ex(m, xv, y, wv, 3, 0, res, 3), DC_ERR_ARG);
    assert_errmsg_contains("reports 4");
    dc_history_free(h);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xv);
    dc_tensor_free(wv);
}

/* A tagger (Embedding mask_zero -> Dense sigmoid per step): the weighted
 * binary accuracy is sum(w mask v) / sum(w mask) over the steps. */
static void test_masked_per_step(void **state)
{
    (void)state;
    enum { S = 3, T = 4 };
    static const float ids[S * T] = {0, 0, 1, 2, 0, 1, 1, 2, 3, 0, 0, 0};
    static const float tags[S * T] = {1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1};
    static const float steps_w[S * T] = {5, 5, 2, 0.5f, 9, 1, 3, 1, 0.25f, 7, 7, 7};
    int in = T;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    dc_dense_config d = dc_dense_defaults(1);
    d.activation = "sigmoid";
    assert_int_equal(dc_model_add(m, dc_layer_embedding(4, 3, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense_ex(&d)), DC_OK);
    dc_compile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(dc_optimizer_parse("sgd", &cfg.optimizer), DC_OK);
    cfg.loss = DC_LOSS_BINARY_CE;
    cfg.weighted_metrics[0] = "binary_accuracy";
    assert_int_equal(dc_model_compile_ex(m, &cfg), DC_OK);
    float *emb = m->layers[0]->built->params[0]->val;
    for (int i = 0; i < 12; i++)
        emb[i] = 0.3f * (float)(i % 5) - 0.6f;
    dc_tensor *x = filled(2, S, T, 0, ids), *y = filled(3, S, T, 1, tags);
    dc_tensor *w = filled(2, S, T, 0, steps_w), *p;
    assert_int_equal(dc_model_predict(m, x, S, &p), DC_OK);
    double sum = 0, den = 0, res[2];
    for (int i = 0; i < S * T; i++) {
        double wm = ids[i] != 0 ? steps_w[i] : 0.0;
        sum += wm * ((p->data[i] > 0.5f) == (tags[i] > 0.5f));
        den += wm;
    }
    assert_int_equal(dc_model_evaluate_ex(m, x, y, w, 2, 0, res, 2), DC_OK);
    assert_string_equal(dc_model_metric_name(m, 1), "binary_accuracy");
    assert_near(res[1], sum / den, 1e-12, "masked per-step", "binary_accuracy");
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(w);
    dc_model_free(m);
}

/* Reads path, replaces the first `from` (in the header) by `to`, writes
 * path2 with the header length fixed. */
static void patch_file(const char *path, const char *path2, const char *from, const char *to)
{
    static char in[1 << 16], out[1 << 16];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(in, 1, sizeof in, fp), lf = strlen(from), lt = strlen(to);
    fclose(fp);
    char *at = strstr(in + 8, from);
    if (!at)
        fail_msg("no %s in %s", from, path);
    size_t pre = (size_t)(at - in);
    memcpy(out, in, pre);
    memcpy(out + pre, to, lt);
    memcpy(out + pre + lt, at + lf, n - pre - lf);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)(unsigned char)in[i] << (8 * i);
    for (int i = 0, len = (int)(hlen - lf + lt); i < 8; i++)
        out[i] = (char)((uint64_t)len >> (8 * i));
    fp = fopen(path2, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(out, 1, n - lf + lt, fp), n - lf + lt);
    fclose(fp);
}

static void test_save_load(void **state)
{
    (void)state;
    char *dir = make_dir(), path[128], path2[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(path2, sizeof path2, "%s/p.safetensors", dir);
    dc_model *m, *r, *plain;
    assert_int_equal(softmax_model(acc_config(), &m), DC_OK);
    char *json;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    if (!strstr(json, "\"metrics\":[\"accuracy\"],\"weighted_metrics\":[\"accuracy\",{\"class_name\":"
                      "\"sparse_top_k_categorical_accuracy\",\"config\":{\"k\":2}}]"))
        fail_msg("compile_config lacks the weighted metrics:\n%s", json);
    free(json);
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    if (dc_model_load(path, &r) != DC_OK)
        fail_msg("%s", dc_errmsg());
    dc_model_set_threads(r, 1);
    assert_int_equal(dc_model_metric_count(r), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(dc_model_metric_name(r, i), dc_model_metric_name(m, i));
    assert_int_equal(r->metrics[2].k, 2);
    dc_tensor *x = inputs(0.0f), *y = filled(1, N, 0, 0, YL), *w = filled(1, N, 0, 0, SW);
    double a[4], b[4];
    assert_int_equal(dc_model_evaluate_ex(m, x, y, w, 3, 0, a, 4), DC_OK);
    assert_int_equal(dc_model_evaluate_ex(r, x, y, w, 3, 0, b, 4), DC_OK);
    assert_memory_equal(a, b, sizeof a);

    /* none: no key at all, so files without weighted metrics stay as they were */
    dc_compile_config cfg = acc_config();
    memset(cfg.weighted_metrics, 0, sizeof cfg.weighted_metrics);
    memset(cfg.weighted_metric_args, 0, sizeof cfg.weighted_metric_args);
    assert_int_equal(softmax_model(cfg, &plain), DC_OK);
    assert_int_equal(dc_model_to_json(plain, &json), DC_OK);
    assert_null(strstr(json, "weighted"));
    free(json);
    dc_model_free(plain);

    /* Keras' null loads as none; too many, a wrong type, an unknown name */
    static const char *const bad[][2] = {
        {"null", NULL},
        {"[\\\"mae\\\",\\\"mae\\\",\\\"mae\\\",\\\"mae\\\",\\\"mae\\\"]", "weighted_metrics holds 5 metrics, at most 4"},
        {"\\\"mae\\\"", "weighted_metrics is a string, expected an array"},
        {"[\\\"accuracy\\\",7]", "weighted_metrics[1]: is a number"},
        {"[\\\"accuracy\\\",\\\"nope\\\"]", "compile: weighted_metrics[1]: unknown metric \"nope\""},
        {"[\\\"precision\\\"]", "weighted_metrics[0]: metric \"precision\" needs targets"},
    };
    const char *from = "\\\"weighted_metrics\\\":[\\\"accuracy\\\",{\\\"class_name\\\":\\\"sparse_top_k_categorical_"
                       "accuracy\\\",\\\"config\\\":{\\\"k\\\":2}}]";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char to[256];
        snprintf(to, sizeof to, "\\\"weighted_metrics\\\":%s", bad[i][0]);
        patch_file(path, path2, from, to);
        dc_model *q = NULL;
        dc_status st = dc_model_load(path2, &q);
        if (!bad[i][1]) {
            if (st != DC_OK)
                fail_msg("%s: %s", bad[i][0], dc_errmsg());
            assert_int_equal(dc_model_metric_count(q), 2);
            dc_model_free(q);
            continue;
        }
        if (st == DC_OK)
            fail_msg("%s loaded", bad[i][0]);
        assert_errmsg_contains(bad[i][1]);
    }
    dc_model_free(m);
    dc_model_free(r);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(w);
    unlink(path);
    unlink(path2);
    rm_dir(dir);
}

/* weighted_metrics with k as weighted_metric_args[i].k, after metrics =
 * {sparse_top_k_categorical_accuracy (k 2)}, under sparse cross-entropy. */
static void expect_compile_error(const char *const *weighted, const int *k, const char *message)
{
    dc_compile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.loss = DC_LOSS_SPARSE_CE;
    cfg.metrics[0] = "sparse_top_k_categorical_accuracy";
    cfg.metric_args[0].k = 2;
    for (int i = 0; i < 4; i++) {
        cfg.weighted_metrics[i] = weighted[i];
        cfg.weighted_metric_args[i].k = k[i];
    }
    dc_model *m = NULL;
    assert_int_equal(softmax_model(cfg, &m), DC_ERR_ARG);
    assert_errmsg_contains(message);
    assert_null(m);
}

static void test_compile_errors(void **state)
{
    (void)state;
    static const int no_k[4] = {0}, k2[4] = {2, 2, 0, 0};
    expect_compile_error((const char *[4]){"accuracy", "bogus"}, no_k,
                         "compile: weighted_metrics[1]: unknown metric \"bogus\"");
    expect_compile_error((const char *[4]){"mae"}, no_k, "compile: weighted_metrics[0]: metric \"mae\" needs targets");
    expect_compile_error((const char *[4]){"accuracy", "accuracy", "accuracy", "precision"}, no_k,
                         "weighted_metrics[3]: metric \"precision\" needs targets");
    expect_compile_error((const char *[4]){"sparse_top_k_categorical_accuracy"}, (const int[4]){3},
                         "weighted_metrics[0]: metric \"sparse_top_k_categorical_accuracy\" counts the label among "
                         "the top 3");
    /* an argument the metric does not take */
    expect_compile_error((const char *[4]){"accuracy"}, k2, "weighted_metrics[0]: metric \"accuracy\", here "
                                                            "sparse_categorical_accuracy, takes no k");
    /* the second repeat would be "weighted_sparse_top_k_categorical_accuracy_1": too long for a log key */
    expect_compile_error((const char *[4]){"sparse_top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"},
                         k2, "would report as \"weighted_sparse_top_k_categorical_accuracy_1\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_against_double),
        cmocka_unit_test(test_integer_weights_are_repeats),
        cmocka_unit_test(test_unit_weights_bitwise_and_mask),
        cmocka_unit_test(test_names_follow_keras),
        cmocka_unit_test(test_fit_class_weight_and_validation),
        cmocka_unit_test(test_masked_per_step),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_compile_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
