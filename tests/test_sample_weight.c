/*
 * test_sample_weight.c - fit's and evaluate's sample_weight and class_weight
 * against Keras 3's semantics (losses/loss.py reduce_weighted_values,
 * apply_mask and reduce_values; data_adapter_utils.py
 * class_weight_to_sample_weights; compile_utils.py CompileMetrics):
 *  - the weighted loss and its gradient against references computed here in
 *    double: sum(w_i l_i) / N and (1/N) sum w_i dl_i, regularisers added
 *    unweighted; under a mask sum(l w mask) / (unpadded steps);
 *  - evaluate's weighted loss over uneven batches, metrics unweighted;
 *  - fit with weights all 1 is bitwise fit without weights; class_weight is
 *    bitwise the equivalent sample_weight; weight 0 is NOT dropping the
 *    sample (the divisor keeps it);
 *  - validation: a validation_split weighs val_loss with its part of
 *    sample_weight, class_weight weighs training only, validation_data takes
 *    its own weights;
 *  - class_weight's label conversion (round half to even, argmax, classes
 *    outside the array weigh 1) and every error.
 */
#include "testutil.h"

#include "model/model.h"
#include "replica_util.h"

#include <math.h>
#include <string.h>

#define N 6
#define IN 4
#define C 3

static const float LABELS[N] = {0, 1, 2, 1, 0, 2};
static const float WEIGHTS[N] = {1.0f, 0.0f, 2.5f, -0.5f, 1.0f, 3.0f}; /* 0 and negative: Keras allows any */

static dc_tensor *tensor(int ndim, const int *shape, const float *data)
{
    dc_tensor *t = dc_tensor_new(ndim, shape);
    assert_non_null(t);
    if (data)
        memcpy(t->data, data, t->size * sizeof(float));
    return t;
}

static dc_tensor *vec(int n, const float *data) { return tensor(1, &n, data); }

static dc_tensor *inputs(void)
{
    dc_tensor *x = tensor(2, (int[]){N, IN}, NULL);
    for (int i = 0; i < N * IN; i++)
        x->data[i] = 0.3f * (float)((i * 7) % 11) - 1.2f;
    return x;
}

/* Dense(3, softmax) on 4 features, kernel_l2 = l2, weights set to fixed values. */
static dc_model *softmax_model(float l2, const char *loss)
{
    int in = IN;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    dc_dense_config c = dc_dense_defaults(C);
    c.activation = "softmax";
    c.kernel_l2 = l2;
    assert_int_equal(dc_model_add(m, dc_layer_dense_ex(&c)), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "sgd", loss, metrics, 1), DC_OK);
    float *k = m->layers[0]->built->params[0]->val, *b = m->layers[0]->built->params[1]->val;
    for (int i = 0; i < IN * C; i++)
        k[i] = 0.25f * (float)((i * 5) % 7) - 0.7f;
    b[0] = 0.1f, b[1] = -0.2f, b[2] = 0.05f;
    return m;
}

/* One forward and backward of all of x as one training batch with fit's
 * sample_weight sw: the total loss; *grads borrows the gradient buffer. */
static float loss_and_grads(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sw,
                            const float **grads)
{
    dc_tensor *w = NULL;
    int n = x->shape[0];
    assert_int_equal(dc_sample_weights(m, "test", y, sw, NULL, 0, &w), DC_OK);
    dc_run run = {.training = 1, .rng = &m->rng};
    assert_int_equal(dc_graph_reserve(m->g, n), DC_OK);
    assert_int_equal(dc_graph_set_batch(m->g, n), DC_OK);
    dc_model_gather_batch(m, x, y, w, NULL, 0, n);
    assert_int_equal(dc_graph_forward_run(m->g, m->total, &run), DC_OK);
    assert_int_equal(dc_graph_backward_run(m->g, m->total, &run), DC_OK);
    dc_tensor_free(w);
    *grads = dc_graph_grads(m->g, NULL);
    return m->total->val[0];
}

/* Weighted softmax cross-entropy of softmax_model in double, with its
 * gradient: loss sum(w_i l_i) / N + l2 sum(K^2); dK = (1/N) sum_i w_i x_i
 * (p_i - e_label)^T + 2 l2 K, db = (1/N) sum_i w_i (p_i - e_label). */
static double reference(const dc_model *m, const dc_tensor *x, const float *w, float l2, double *dk, double *db)
{
    const float *k = m->layers[0]->built->params[0]->val, *b = m->layers[0]->built->params[1]->val;
    double loss = 0, reg = 0;
    memset(dk, 0, IN * C * sizeof(double));
    memset(db, 0, C * sizeof(double));
    for (int i = 0; i < N; i++) {
        double z[C], p[C], se = 0;
        for (int c = 0; c < C; c++) {
            z[c] = b[c];
            for (int j = 0; j < IN; j++)
                z[c] += (double)x->data[i * IN + j] * k[j * C + c];
            se += exp(z[c]);
        }
        int label = (int)LABELS[i];
        for (int c = 0; c < C; c++)
            p[c] = exp(z[c]) / se;
        loss += w[i] * -log(p[label]) / N;
        for (int c = 0; c < C; c++) {
            double d = w[i] * (p[c] - (c == label)) / N;
            db[c] += d;
            for (int j = 0; j < IN; j++)
                dk[j * C + c] += d * x->data[i * IN + j];
        }
    }
    for (int i = 0; i < IN * C; i++) {
        reg += (double)k[i] * k[i];
        dk[i] += 2.0 * l2 * k[i];
    }
    return loss + l2 * reg;
}

static void assert_close_d(const float *got, const double *want, size_t n, const char *what)
{
    float w[IN * C];
    for (size_t i = 0; i < n; i++)
        w[i] = (float)want[i];
    assert_close(got, w, n, 1e-5, 1e-6, what);
}

/* The loss and gradient of fit's step, and evaluate's loss, against the
 * double reference; the L2 term enters once, unweighted. */
static void test_weighted_loss_and_gradient(void **state)
{
    (void)state;
    dc_tensor *x = inputs(), *y = vec(N, LABELS), *sw = vec(N, WEIGHTS);
    for (int with_l2 = 0; with_l2 < 2; with_l2++) {
        float l2 = with_l2 ? 0.01f : 0.0f;
        dc_model *m = softmax_model(l2, "sparse_categorical_crossentropy");
        double dk[IN * C], db[C];
        double want = reference(m, x, WEIGHTS, l2, dk, db);
        const float *g;
        float got = loss_and_grads(m, x, y, sw, &g);
        assert_close(&got, (float[]){(float)want}, 1, 1e-6, 1e-7, "weighted loss");
        assert_close_d(g + m->layers[0]->built->params[0]->param_offset, dk, IN * C, "kernel gradient");
        assert_close_d(g + m->layers[0]->built->params[1]->param_offset, db, C, "bias gradient");
        /* evaluate: batches of 4 and 2, the batch losses weighted by their sizes */
        double res[2];
        assert_int_equal(dc_model_evaluate_ex(m, x, y, sw, 4, 0, res, 2), DC_OK);
        assert_close((float[]){(float)res[0]}, (float[]){(float)want}, 1, 1e-6, 1e-7, "evaluate's weighted loss");
        dc_model_free(m);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(sw);
}

/* Weight 0 is not leaving the sample out: the divisor stays N (Keras'
 * sum_over_batch_size), so the gradient is (N-k)/N times the filtered run's
 * and a fit on the filtered data ends elsewhere. */
static void test_zero_weight_is_not_filtering(void **state)
{
    (void)state;
    const float w01[N] = {1, 0, 1, 1, 0, 1};
    const int keep[4] = {0, 2, 3, 5};
    dc_tensor *x = inputs(), *y = vec(N, LABELS), *sw = vec(N, w01);
    dc_tensor *xf = tensor(2, (int[]){4, IN}, NULL), *yf = vec(4, NULL);
    for (int i = 0; i < 4; i++) {
        memcpy(xf->data + i * IN, x->data + keep[i] * IN, IN * sizeof(float));
        yf->data[i] = LABELS[keep[i]];
    }
    dc_model *a = softmax_model(0, "sparse_categorical_crossentropy"),
             *b = softmax_model(0, "sparse_categorical_crossentropy");
    const float *ga, *gb;
    float la = loss_and_grads(a, x, y, sw, &ga), lb = loss_and_grads(b, xf, yf, NULL, &gb);
    assert_close((float[]){la * N}, (float[]){lb * 4}, 1, 1e-6, 1e-7, "N * weighted loss = 4 * filtered loss");
    float scaled[IN * C + C], filtered[IN * C + C];
    double differ = 0;
    for (int i = 0; i < IN * C + C; i++) { /* kernel, then bias */
        size_t at = i < IN * C ? a->layers[0]->built->params[0]->param_offset + (size_t)i
                               : a->layers[0]->built->params[1]->param_offset + (size_t)(i - IN * C);
        scaled[i] = ga[at] * N / 4.0f;
        filtered[i] = gb[at];
        differ = fmax(differ, fabs((double)ga[at] - gb[at]));
    }
    assert_close(scaled, filtered, IN * C + C, 1e-5, 1e-6, "gradient * N / 4 against the filtered gradient");
    assert_true(differ > 1e-3);
    /* a fit on each: one batch of everything, SGD */
    dc_fit_config cfg = replica_fit_config(3, N, 0.0f);
    cfg.sample_weight = sw;
    assert_int_equal(dc_model_fit(a, x, y, &cfg, NULL), DC_OK);
    cfg.sample_weight = NULL;
    assert_int_equal(dc_model_fit(b, xf, yf, &cfg, NULL), DC_OK);
    double far = 0;
    size_t np;
    const float *pa = dc_graph_params(a->g, &np), *pb = dc_graph_params(b->g, NULL);
    for (size_t i = 0; i < np; i++)
        far = fmax(far, fabs((double)pa[i] - pb[i]));
    assert_true(far > 1e-4);
    dc_model_free(a);
    dc_model_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(sw);
    dc_tensor_free(xf);
    dc_tensor_free(yf);
}

/* Embedding(3, 2, mask_zero) -> Dense(2, softmax) with the weights set so
 * that token 1 predicts (1/4, 3/4) and token 2 (3/4, 1/4) on every step. */
#define T 4
static const float IDS[3 * T] = {0, 0, 1, 2, 0, 1, 1, 2, 0, 0, 0, 0};
static const float TAGS[3 * T] = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1};

static dc_model *tagger(void)
{
    int steps = T;
    dc_model *m = dc_sequential_new(1, &steps);
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_embedding(3, 2, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, "softmax")), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "sgd", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    float ln3 = logf(3.0f);
    memcpy(m->layers[0]->built->params[0]->val, (float[]){0, 0, 0, ln3, ln3, 0}, 6 * sizeof(float));
    memcpy(m->layers[1]->built->params[0]->val, (float[]){1, 0, 0, 1}, 4 * sizeof(float));
    memset(m->layers[1]->built->params[1]->val, 0, 2 * sizeof(float));
    return m;
}

/* sum(l * w * mask) / (unpadded steps), w per step or per sample. */
static double tagger_reference(const float *w, int per_step)
{
    double sum = 0;
    int valid = 0;
    for (int i = 0; i < 3 * T; i++) {
        if (IDS[i] == 0)
            continue;
        double p1 = IDS[i] == 1 ? 0.75 : 0.25; /* probability of class 1 */
        sum += w[per_step ? i : i / T] * -log(TAGS[i] == 1 ? p1 : 1.0 - p1);
        valid++;
    }
    return sum / valid;
}

static void test_masked_per_step_weights(void **state)
{
    (void)state;
    /* weights at padded steps (9) must not count */
    const float per_step[3 * T] = {9, 9, 0.5f, 2, 9, 1, 3, -1, 9, 9, 9, 9}, per_sample[3] = {2, 0.5f, 7};
    dc_model *m = tagger();
    dc_tensor *x = tensor(2, (int[]){3, T}, IDS), *y = tensor(2, (int[]){3, T}, TAGS);
    dc_tensor *ws = tensor(2, (int[]){3, T}, per_step), *wn = vec(3, per_sample),
              *wn1 = tensor(2, (int[]){3, 1}, per_sample);
    const dc_tensor *ws_all[3] = {ws, wn, wn1};
    for (int k = 0; k < 3; k++) {
        double res[2], want = tagger_reference(k == 0 ? per_step : per_sample, k == 0);
        /* batches of 2 and 1 samples, their losses weighted by batch size:
         * samples 0 and 1 hold all 5 unpadded steps (loss `want`), sample 2
         * is all padding (loss 0) */
        assert_int_equal(dc_model_evaluate_ex(m, x, y, ws_all[k], 2, 0, res, 2), DC_OK);
        double epoch = (2 * want + 1 * 0.0) / 3;
        assert_close((float[]){(float)res[0]}, (float[]){(float)epoch}, 1, 1e-6, 1e-7, "masked weighted loss");
        assert_close((float[]){(float)res[1]}, (float[]){0.6f}, 1, 0, 1e-7, "accuracy stays unweighted");
        /* one batch of all three: exactly the reference */
        assert_int_equal(dc_model_evaluate_ex(m, x, y, ws_all[k], 3, 0, res, 2), DC_OK);
        assert_close((float[]){(float)res[0]}, (float[]){(float)want}, 1, 1e-6, 1e-7, "masked weighted loss, 1 batch");
    }
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(ws);
    dc_tensor_free(wn);
    dc_tensor_free(wn1);
}

/* evaluate of a regression with uneven batches (2, 2, 1): the loss is
 * sum(w_i mean_j (p - y)^2) / N, the mae metric unweighted. */
static void test_evaluate_regression_by_hand(void **state)
{
    (void)state;
    int in = 3;
    dc_model *m = dc_sequential_new(1, &in);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    const char *metrics[] = {"mae"};
    assert_int_equal(dc_model_compile(m, "sgd", "mse", metrics, 1), DC_OK);
    const float k[6] = {0.5f, -1, 0.25f, 2, -0.75f, 0.1f}, b[2] = {0.3f, -0.1f};
    memcpy(m->layers[0]->built->params[0]->val, k, sizeof k);
    memcpy(m->layers[0]->built->params[1]->val, b, sizeof b);
    dc_tensor *x = tensor(2, (int[]){5, 3}, NULL), *y = tensor(2, (int[]){5, 2}, NULL);
    const float w[5] = {1, 2, 0, 0.5f, 4};
    dc_tensor *sw = vec(5, w);
    double loss = 0, mae = 0;
    for (int i = 0; i < 5; i++) {
        double l = 0;
        for (int j = 0; j < 3; j++)
            x->data[i * 3 + j] = (float)(i - j) * 0.5f;
        for (int c = 0; c < 2; c++) {
            y->data[i * 2 + c] = (float)(i * c) - 1.0f;
            double p = b[c];
            for (int j = 0; j < 3; j++)
                p += (double)x->data[i * 3 + j] * k[j * 2 + c];
            double d = p - y->data[i * 2 + c];
            l += d * d / 2;
            mae += fabs(d) / 10;
        }
        loss += w[i] * l / 5;
    }
    double res[2];
    assert_int_equal(dc_model_evaluate_ex(m, x, y, sw, 2, 0, res, 2), DC_OK);
    assert_close((float[]){(float)res[0], (float)res[1]}, (float[]){(float)loss, (float)mae}, 2, 1e-6, 1e-7,
                 "weighted mse, unweighted mae");
    /* NULL weights: dc_model_evaluate */
    double plain[2], ex[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 2, 0, plain, 2), DC_OK);
    assert_int_equal(dc_model_evaluate_ex(m, x, y, NULL, 2, 0, ex, 2), DC_OK);
    assert_memory_equal(plain, ex, sizeof plain);
    assert_true(fabs(plain[0] - res[0]) > 1e-3);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(sw);
}

static void assert_same_fit(dc_model *a, const dc_history *ha, dc_model *b, const dc_history *hb, const char *key)
{
    size_t na, nb;
    const float *pa = dc_graph_params(a->g, &na), *pb = dc_graph_params(b->g, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na * sizeof(float));
    const double *va = dc_history_get(ha, key), *vb = dc_history_get(hb, key);
    assert_non_null(va);
    assert_non_null(vb);
    assert_memory_equal(va, vb, (size_t)ha->epochs * sizeof(double));
}

/* Dropout, shuffling, a last batch of 8, validation_split: all bitwise. */
static void test_unit_weights_bitwise(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(50, 1, (int[]){6}, 3, 31, &x, &y);
    dc_tensor *ones = vec(50, NULL);
    for (int i = 0; i < 50; i++)
        ones->data[i] = 1.0f;
    dc_model *a = replica_mlp(5), *b = replica_mlp(5);
    dc_history *ha = NULL, *hb = NULL;
    dc_fit_config cfg = replica_fit_config(3, 16, 0.2f);
    assert_int_equal(dc_model_fit(a, x, y, &cfg, &ha), DC_OK);
    cfg.sample_weight = ones;
    assert_int_equal(dc_model_fit(b, x, y, &cfg, &hb), DC_OK);
    assert_same_fit(a, ha, b, hb, "loss");
    assert_same_fit(a, ha, b, hb, "val_loss");
    dc_history_free(ha);
    dc_history_free(hb);
    dc_model_free(a);
    dc_model_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(ones);
}

/* class_weight {0: 1, 1: 5} (class 2 absent: 1.0) trains bitwise as the
 * sample_weight it stands for; with validation_split its val_loss is the
 * unweighted one (training batches only), while the sample_weight run's
 * val_loss is weighted. */
static void test_class_weight_is_sample_weight(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(48, 1, (int[]){6}, 3, 32, &x, &y);
    const float cw[2] = {1.0f, 5.0f};
    dc_tensor *sw = vec(48, NULL);
    for (int i = 0; i < 48; i++)
        sw->data[i] = y->data[i] == 1 ? 5.0f : 1.0f;
    dc_model *a = replica_mlp(6), *b = replica_mlp(6);
    dc_history *ha = NULL, *hb = NULL;
    dc_fit_config cfg = replica_fit_config(3, 16, 0.25f);
    cfg.class_weight = cw;
    cfg.n_class_weight = 2;
    assert_int_equal(dc_model_fit(a, x, y, &cfg, &ha), DC_OK);
    cfg.class_weight = NULL;
    cfg.n_class_weight = 0;
    cfg.sample_weight = sw;
    assert_int_equal(dc_model_fit(b, x, y, &cfg, &hb), DC_OK);
    assert_same_fit(a, ha, b, hb, "loss");
    /* the validation part: rows 36..47 (0.25 is exact in float, so the
     * split point is Keras' floor(48 * 0.75)) */
    dc_tensor *xv = tensor_rows(x, 36, 12), *yv = tensor_rows(y, 36, 12), *wv = tensor_rows(sw, 36, 12);
    double plain[2], weighted[2];
    assert_int_equal(dc_model_evaluate(a, xv, yv, 12, 0, plain, 2), DC_OK);
    assert_int_equal(dc_model_evaluate_ex(b, xv, yv, wv, 12, 0, weighted, 2), DC_OK);
    assert_true(fabs(plain[0] - weighted[0]) > 1e-3);
    assert_close((float[]){(float)dc_history_get(ha, "val_loss")[2], (float)dc_history_get(hb, "val_loss")[2]},
                 (float[]){(float)plain[0], (float)weighted[0]}, 2, 1e-6, 0, "val_loss: class_weight, sample_weight");
    /* validation_data with its own weights */
    dc_history *hc = NULL;
    dc_tensor *xt = tensor_rows(x, 0, 36), *yt = tensor_rows(y, 0, 36), *wt = tensor_rows(sw, 0, 36);
    cfg = replica_fit_config(2, 16, 0.0f);
    cfg.sample_weight = wt;
    cfg.x_val = xv;
    cfg.y_val = yv;
    cfg.sample_weight_val = wv;
    assert_int_equal(dc_model_fit(b, xt, yt, &cfg, &hc), DC_OK);
    assert_int_equal(dc_model_evaluate_ex(b, xv, yv, wv, 12, 0, weighted, 2), DC_OK);
    assert_close((float[]){(float)dc_history_get(hc, "val_loss")[1]}, (float[]){(float)weighted[0]}, 1, 1e-6, 0,
                 "val_loss with sample_weight_val");
    dc_history_free(ha);
    dc_history_free(hb);
    dc_history_free(hc);
    dc_model_free(a);
    dc_model_free(b);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(sw);
    dc_tensor_free(xv);
    dc_tensor_free(yv);
    dc_tensor_free(wv);
    dc_tensor_free(xt);
    dc_tensor_free(yt);
    dc_tensor_free(wt);
}

static dc_tensor *class_weights_of(dc_model *m, const dc_tensor *y, const float *cw, int n_cw)
{
    dc_tensor *w = NULL;
    if (dc_sample_weights(m, "test", y, NULL, cw, n_cw, &w) != DC_OK)
        fail_msg("%s", dc_errmsg());
    assert_non_null(w);
    return w;
}

/* Keras 3 converts labels whatever the loss: (N, 1) regression targets
 * rounded half to even (np.round), one-hot and soft rows by argmax;
 * classes outside the array, negative ones included, weigh 1. */
static void test_class_weight_conversion(void **state)
{
    (void)state;
    const float cw[4] = {10, 20, 30, 40};
    int in = 2;
    dc_model *reg = dc_sequential_new(1, &in);
    assert_int_equal(dc_model_add(reg, dc_layer_dense(1, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(reg, "sgd", "mse", NULL, 0), DC_OK);
    const float targets[8] = {0.5f, 1.5f, 2.5f, -0.4f, 3.2f, 7.0f, -1.0f, 0.51f};
    const float want[8] = {10, 30, 30, 10, 40, 1, 1, 20};
    dc_tensor *y = tensor(2, (int[]){8, 1}, targets), *w = class_weights_of(reg, y, cw, 4);
    assert_memory_equal(w->data, want, sizeof want);
    dc_tensor_free(w);
    dc_tensor_free(y);
    dc_model_free(reg);

    dc_model *cat = softmax_model(0, "categorical_crossentropy");
    const float onehot[4 * C] = {0, 0, 1, 1, 0, 0, 0.2f, 0.5f, 0.3f, 0, 1, 0};
    y = tensor(2, (int[]){4, C}, onehot);
    w = class_weights_of(cat, y, cw, 2); /* class 2 beyond the array */
    assert_memory_equal(w->data, ((float[]){1, 10, 20, 20}), 4 * sizeof(float));
    dc_tensor_free(w);
    dc_tensor_free(y);
    dc_model_free(cat);
}

static void fit_fails(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_fit_config *cfg, dc_status st,
                      const char *msg)
{
    assert_int_equal(dc_model_fit(m, x, y, cfg, NULL), st);
    assert_errmsg_contains(msg);
}

static void test_errors(void **state)
{
    (void)state;
    dc_model *m = softmax_model(0, "sparse_categorical_crossentropy");
    dc_tensor *x = inputs(), *y = vec(N, LABELS), *sw = vec(N, WEIGHTS), *short_w = vec(N - 1, WEIGHTS);
    dc_tensor *wide = tensor(2, (int[]){N, 2}, NULL);
    const float cw[2] = {1, 2};
    double res[2];
    dc_fit_config cfg = replica_fit_config(1, 4, 0.0f);

    cfg.sample_weight = sw;
    cfg.class_weight = cw;
    cfg.n_class_weight = 2;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "cannot give class_weight and sample_weight at the same time");

    cfg = replica_fit_config(1, 4, 0.0f);
    cfg.sample_weight = short_w;
    fit_fails(m, x, y, &cfg, DC_ERR_SHAPE, "fit: sample_weight has shape (5,), but y has 6 samples");
    assert_int_equal(dc_model_evaluate_ex(m, x, y, short_w, 4, 0, res, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("evaluate: sample_weight has shape (5,), but y has 6 samples");

    cfg.sample_weight = wide;
    fit_fails(m, x, y, &cfg, DC_ERR_SHAPE, "sample_weight has shape (6, 2); expected (6,) or (6, 1)");

    sw->data[3] = NAN;
    cfg.sample_weight = sw;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "sample_weight[3] (sample 3) is nan; weights must be finite");
    sw->data[3] = -INFINITY;
    assert_int_equal(dc_model_evaluate_ex(m, x, y, sw, 4, 0, res, 2), DC_ERR_ARG);
    assert_errmsg_contains("sample_weight[3] (sample 3) is -inf");
    sw->data[3] = -0.5f;

    cfg = replica_fit_config(1, 4, 0.0f);
    cfg.class_weight = (float[]){1, INFINITY};
    cfg.n_class_weight = 2;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "class_weight[1] is inf");
    cfg.class_weight = NULL;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "n_class_weight is 2 but class_weight is NULL");
    cfg.class_weight = cw;
    cfg.n_class_weight = -1;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "n_class_weight is -1");

    cfg = replica_fit_config(1, 4, 0.0f);
    cfg.sample_weight_val = sw;
    fit_fails(m, x, y, &cfg, DC_ERR_ARG, "sample_weight_val is given without validation data");
    cfg.x_val = x;
    cfg.y_val = y;
    cfg.sample_weight_val = short_w;
    fit_fails(m, x, y, &cfg, DC_ERR_SHAPE, "fit (validation_data): sample_weight has shape (5,), but y has 6 samples");

    /* a label outside class_weight is no error; negative weights neither */
    cfg = replica_fit_config(1, 4, 0.0f);
    cfg.class_weight = cw;
    cfg.n_class_weight = 1;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
    cfg = replica_fit_config(1, 4, 0.0f);
    cfg.sample_weight = sw;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);

    /* a per-step output: class_weight refused, weights per step checked */
    dc_model *t = tagger();
    dc_tensor *ids = tensor(2, (int[]){3, T}, IDS), *tags = tensor(2, (int[]){3, T}, TAGS);
    dc_tensor *bad = tensor(2, (int[]){3, T + 1}, NULL);
    cfg = replica_fit_config(1, 2, 0.0f);
    cfg.class_weight = cw;
    cfg.n_class_weight = 2;
    fit_fails(t, ids, tags, &cfg, DC_ERR_SHAPE, "class_weight is not supported for 3+ dimensional targets (y has shape (3, 4)");
    assert_int_equal(dc_model_evaluate_ex(t, ids, tags, bad, 2, 0, res, 2), DC_ERR_SHAPE);
    assert_errmsg_contains("sample_weight has shape (3, 5); expected (3,) or (3, 1), or (3, 4)");
    dc_tensor *nan_step = tensor(2, (int[]){3, T}, NULL);
    nan_step->data[6] = NAN;
    assert_int_equal(dc_model_evaluate_ex(t, ids, tags, nan_step, 2, 0, res, 2), DC_ERR_ARG);
    assert_errmsg_contains("sample_weight[1, 2] (sample 1, step 2) is nan");

    dc_model_free(t);
    dc_tensor_free(ids);
    dc_tensor_free(tags);
    dc_tensor_free(bad);
    dc_tensor_free(nan_step);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(sw);
    dc_tensor_free(short_w);
    dc_tensor_free(wide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_loss_and_gradient),
        cmocka_unit_test(test_zero_weight_is_not_filtering),
        cmocka_unit_test(test_masked_per_step_weights),
        cmocka_unit_test(test_evaluate_regression_by_hand),
        cmocka_unit_test(test_unit_weights_bitwise),
        cmocka_unit_test(test_class_weight_is_sample_weight),
        cmocka_unit_test(test_class_weight_conversion),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
