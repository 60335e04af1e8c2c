/*
 * test_trainable.c - frozen layers (Keras' layer.trainable = False) and
 * weights set by hand.
 *
 * A frozen Dense keeps its weights bit for bit through fit while the others
 * train, also when it sits between trainable layers (the gradient flows
 * through it).  The exact equivalence tested: training a model whose first
 * layer is frozen is, bit for bit, training the rest of the model on that
 * layer's (fixed) outputs - same Adam, same shuffle, same losses and final
 * weights - which holds because a frozen layer has no optimiser slots and
 * needs no gradient.  (A learning rate of 0 on the layer would not be the
 * same thing under Adam: its slots would still be there.)  Summary counts are
 * Keras' by hand; a frozen BatchNormalization normalises with its moving
 * statistics in fit and leaves them alone; frozen regularisers add no loss;
 * the flag survives save and load, and a checkpoint resumes bit for bit.
 */
#include "iotest.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/model.h"

#include <math.h>

#define FEATURES 5

/* A Sequential model on `features` inputs of the NULL-terminated layers,
 * seeded, one thread. */
static dc_model *model_of(int features, uint64_t seed, dc_layer *const *layers)
{
    dc_model *m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    for (int i = 0; layers[i]; i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    return m;
}

/* Dense(8, relu) -> Dense(6, relu) -> Dense(3, softmax) on FEATURES inputs,
 * layer `frozen` frozen (-1: none), Adam, one thread. */
static dc_model *mlp(int frozen, uint64_t seed)
{
    dc_model *m = model_of(FEATURES, seed,
                           (dc_layer *[]){dc_layer_dense(8, "relu"), dc_layer_dense(6, "relu"),
                                          dc_layer_dense(3, "softmax"), NULL});
    if (frozen >= 0)
        assert_int_equal(dc_model_set_trainable(m, frozen, 0), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    return m;
}

static dc_tensor *weight(dc_model *m, int layer, int index)
{
    dc_tensor *w;
    assert_int_equal(dc_model_get_weight(m, layer, index, &w), DC_OK);
    return w;
}

static int same_tensor(const dc_tensor *a, const dc_tensor *b)
{
    return a->size == b->size && memcmp(a->data, b->data, a->size * sizeof(float)) == 0;
}

/* Copies weight (la, i) of a into weight (lb, i) of b, for every i < n. */
static void copy_layer(dc_model *a, int la, dc_model *b, int lb, int n)
{
    for (int i = 0; i < n; i++) {
        dc_tensor *w = weight(a, la, i);
        assert_int_equal(dc_model_set_weight(b, lb, i, w->data, w->size), DC_OK);
        dc_tensor_free(w);
    }
}

/* Whether every weight of layer `layer` is bitwise what `before` holds. */
static int layer_unchanged(dc_model *m, int layer, dc_tensor *const *before, int n)
{
    int same = 1;
    for (int i = 0; i < n; i++) {
        dc_tensor *w = weight(m, layer, i);
        same &= same_tensor(w, before[i]);
        dc_tensor_free(w);
    }
    return same;
}

static void check_frozen_layer(int frozen)
{
    dc_tensor *x, *y, *before[3][2];
    random_data(64, FEATURES, 3, 7, &x, &y);
    dc_model *m = mlp(frozen, 1);
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < 2; i++)
            before[l][i] = weight(m, l, i);
    dc_fit_config c = quiet_fit(3, 16);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    for (int l = 0; l < 3; l++) {
        /* every kernel and bias of a trainable layer moves, a frozen one's not a bit */
        for (int i = 0; i < 2; i++) {
            dc_tensor *w = weight(m, l, i);
            if (same_tensor(w, before[l][i]) != (l == frozen))
                fail_msg("layer %d (frozen: %d) weight %d %s", l, frozen, i,
                         l == frozen ? "changed" : "did not change");
            dc_tensor_free(w);
            dc_tensor_free(before[l][i]);
        }
    }
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_frozen_dense_keeps_its_weights(void **state)
{
    (void)state;
    check_frozen_layer(0);
    /* in the middle: the first layer still learns through the frozen one */
    check_frozen_layer(1);
}

static void assert_history_equal(const dc_history *a, const dc_history *b, const char *key)
{
    const double *va = dc_history_get(a, key), *vb = dc_history_get(b, key);
    assert_non_null(va);
    assert_non_null(vb);
    assert_int_equal(a->epochs, b->epochs);
    for (int e = 0; e < a->epochs; e++)
        if (va[e] != vb[e])
            fail_msg("%s at epoch %d: %.17g vs %.17g", key, e + 1, va[e], vb[e]);
}

static void test_frozen_prefix_equals_training_on_its_features(void **state)
{
    (void)state;
    dc_tensor *x, *y, *h;
    random_data(80, FEATURES, 3, 11, &x, &y);
    dc_model *a = mlp(0, 2);

    /* the frozen layer alone computes the features */
    dc_model *feat = model_of(FEATURES, 0, (dc_layer *[]){dc_layer_dense(8, "relu"), NULL});
    assert_int_equal(dc_model_compile(feat, "sgd", "mse", NULL, 0), DC_OK);
    copy_layer(a, 0, feat, 0, 2);
    assert_int_equal(dc_model_predict(feat, x, 16, &h), DC_OK);

    /* the trainable rest, with a's starting weights, on those features */
    dc_model *b = model_of(8, 0, (dc_layer *[]){dc_layer_dense(6, "relu"), dc_layer_dense(3, "softmax"), NULL});
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(b, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    copy_layer(a, 1, b, 0, 2);
    copy_layer(a, 2, b, 1, 2);

    /* the same shuffle: reseed both after their (different) initialisation */
    dc_model_set_seed(a, 5);
    dc_model_set_seed(b, 5);
    dc_fit_config c = quiet_fit(4, 16);
    c.validation_split = 0.2f;
    dc_history *ha, *hb;
    assert_int_equal(dc_model_fit(a, x, y, &c, &ha), DC_OK);
    assert_int_equal(dc_model_fit(b, h, y, &c, &hb), DC_OK);
    const char *keys[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    for (int k = 0; k < 4; k++)
        assert_history_equal(ha, hb, keys[k]);
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < 2; i++) {
            dc_tensor *wa = weight(a, l + 1, i), *wb = weight(b, l, i);
            if (!same_tensor(wa, wb))
                fail_msg("layer %d weight %d differs from the run on the frozen layer's features", l + 1, i);
            dc_tensor_free(wa);
            dc_tensor_free(wb);
        }
    dc_history_free(ha);
    dc_history_free(hb);
    dc_model_free(a);
    dc_model_free(b);
    dc_model_free(feat);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(h);
}

/* Captures a summary's text. */
static char *summary_text(dc_model *m)
{
    static char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    assert_int_equal(dc_model_summary(m, f), DC_OK);
    fclose(f);
    return buf;
}

static void test_summary_counts(void **state)
{
    (void)state;
    dc_model *m = model_of(4, 0,
                           (dc_layer *[]){dc_layer_dense(8, "relu"), dc_layer_batch_normalization(),
                                          dc_layer_dense(3, NULL), dc_layer_batch_normalization(), NULL});
    /* Keras: Dense 4*8+8 = 40, BN(8) 4*8 = 32 (16 moving), Dense 8*3+3 = 27,
     * BN(3) 12 (6 moving): 111 in all, 111 - 16 - 6 = 89 trainable */
    char *s = summary_text(m);
    assert_non_null(strstr(s, "Total params: 111\n"));
    assert_non_null(strstr(s, "Trainable params: 89\n"));
    assert_non_null(strstr(s, "Non-trainable params: 22\n"));
    /* freezing after summary rebuilds: Dense and BN(8) frozen leave 27 + 6 */
    assert_int_equal(dc_model_set_trainable(m, 0, 0), DC_OK);
    assert_int_equal(dc_model_set_trainable(m, 1, 0), DC_OK);
    s = summary_text(m);
    assert_non_null(strstr(s, " dense (Dense)               (None, 8)                 40"));
    assert_non_null(strstr(s, "Total params: 111\n"));
    assert_non_null(strstr(s, "Trainable params: 33\n"));
    assert_non_null(strstr(s, "Non-trainable params: 78\n"));
    assert_int_equal(dc_model_param_count(m), 111);
    assert_int_equal(dc_model_layer_trainable(m, 0), 0);
    assert_int_equal(dc_model_layer_trainable(m, 1), 0);
    assert_int_equal(dc_model_layer_trainable(m, 2), 1);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    s = summary_text(m);
    assert_non_null(strstr(s, "Trainable params: 33\n"));
    dc_model_free(m);
}

/* Dense(3) -> BatchNormalization (frozen: bn_frozen) -> Dense(1), SGD, MSE,
 * the BN's four weights set by hand. */
static dc_model *bn_model(int bn_frozen)
{
    dc_layer *bn = dc_layer_batch_normalization();
    assert_int_equal(dc_layer_set_trainable(bn, !bn_frozen), DC_OK);
    dc_model *m = model_of(3, 0, (dc_layer *[]){dc_layer_dense(3, NULL), bn, dc_layer_dense(1, NULL), NULL});
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    const float bnw[4][3] = {{1.5f, 0.5f, 2.0f}, {0.1f, 0.2f, -0.3f}, {0.5f, -1.0f, 2.0f}, {4.0f, 0.25f, 1.0f}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(dc_model_set_weight(m, 1, i, bnw[i], 3), DC_OK);
    return m;
}

static void check_bn(int frozen, const dc_tensor *x, const dc_tensor *y)
{
    dc_model *m = bn_model(frozen);
    dc_tensor *before[3][4];
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < (l == 1 ? 4 : 2); i++)
            before[l][i] = weight(m, l, i);
    double eval;
    assert_int_equal(dc_model_evaluate(m, x, y, 16, 0, &eval, 1), DC_OK);
    dc_fit_config c = quiet_fit(1, 16);
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    /* one batch: fit's loss is the forward before the update */
    double fit_loss = dc_history_get(h, "loss")[0];
    if (frozen) {
        /* inference mode in fit: the moving statistics normalised, exactly as evaluate */
        assert_true(fit_loss == eval);
        assert_true(layer_unchanged(m, 1, before[1], 4));
        assert_false(layer_unchanged(m, 0, before[0], 2)); /* learnt through the frozen BN */
    } else {
        assert_true(fabs(fit_loss - eval) > 1e-3);
        for (int i = 0; i < 4; i++) { /* gamma, beta trained; moving statistics updated */
            dc_tensor *w = weight(m, 1, i);
            assert_false(same_tensor(w, before[1][i]));
            dc_tensor_free(w);
        }
    }
    assert_false(layer_unchanged(m, 2, before[2], 2));
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < (l == 1 ? 4 : 2); i++)
            dc_tensor_free(before[l][i]);
    dc_history_free(h);
    dc_model_free(m);
}

static void test_frozen_batchnorm_uses_moving_statistics(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(16, 3, 4, 3, &x, &y);
    check_bn(1, x, y);
    check_bn(0, x, y); /* the contrast: a trainable BN in fit uses the batch */
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_set_weight_then_predict(void **state)
{
    (void)state;
    dc_model *m = model_of(2, 0, (dc_layer *[]){dc_layer_dense(2, NULL), dc_layer_dense(1, "relu"), NULL});
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    const float k0[] = {1, 2, 3, 4}, b0[] = {0.5f, -1}, k1[] = {1, -0.5f}, b1[] = {0.25f};
    assert_int_equal(dc_model_set_weight(m, 0, 0, k0, 4), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 0, 1, b0, 2), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 1, 0, k1, 2), DC_OK);
    assert_int_equal(dc_model_set_weight(m, 1, 1, b1, 1), DC_OK);
    dc_tensor *w = weight(m, 0, 0);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[0], 2);
    assert_memory_equal(w->data, k0, sizeof k0);
    dc_tensor_free(w);
    /* h = x K0 + b0; out = relu(h K1 + b1):
     * (1, 2):   h = (1 + 6 + 0.5, 2 + 8 - 1) = (7.5, 9),  out = 7.5 - 4.5 + 0.25 = 3.25
     * (-1, .5): h = (-1 + 1.5 + 0.5, -2 + 2 - 1) = (1, -1), out = 1 + 0.5 + 0.25 = 1.75
     * (0, -1):  h = (-3 + 0.5, -4 - 1) = (-2.5, -5),      out = relu(-2.5 + 2.5 + 0.25) = 0.25
     * (-2, 0):  h = (-1.5, -5),                           out = relu(-1.5 + 2.5 + 0.25) = 1.25
     * (3, -2):  h = (3 - 6 + .5, 6 - 8 - 1) = (-2.5, -3), out = relu(-2.5 + 1.5 + .25) = 0 */
    dc_tensor *x = dc_tensor_new4(2, 5, 2, 0, 0), *p;
    const float xs[] = {1, 2, -1, 0.5f, 0, -1, -2, 0, 3, -2}, want[] = {3.25f, 1.75f, 0.25f, 1.25f, 0};
    memcpy(x->data, xs, sizeof xs);
    assert_int_equal(dc_model_predict(m, x, 0, &p), DC_OK);
    assert_int_equal(p->size, 5);
    assert_memory_equal(p->data, want, sizeof want);
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_model_free(m);
}

static void test_frozen_regularizer_adds_no_loss(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(20, 4, 2, 9, &x, &y);
    double loss[3];
    dc_model *ms[3];
    for (int k = 0; k < 3; k++) { /* 0: L2 frozen, 1: no L2, 2: L2 trainable */
        dc_dense_config dc = dc_dense_defaults(3);
        dc.kernel_l2 = k == 1 ? 0.0f : 0.5f;
        dc_layer *d = dc_layer_dense_ex(&dc);
        if (k == 0)
            assert_int_equal(dc_layer_set_trainable(d, 0), DC_OK);
        dc_model *m = ms[k] = model_of(4, 0, (dc_layer *[]){d, dc_layer_dense(1, NULL), NULL});
        assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
        if (k)
            for (int l = 0; l < 2; l++)
                copy_layer(ms[0], l, m, l, 2);
        assert_int_equal(dc_model_evaluate(m, x, y, 20, 0, &loss[k], 1), DC_OK);
    }
    assert_true(loss[0] == loss[1]);
    /* the trainable one adds 0.5 * sum(K^2) */
    dc_tensor *k = weight(ms[0], 0, 0);
    double sq = 0;
    for (size_t i = 0; i < k->size; i++)
        sq += (double)k->data[i] * k->data[i];
    assert_true(fabs(loss[2] - loss[1] - 0.5 * sq) < 1e-5 * (1 + sq));
    dc_tensor_free(k);
    for (int i = 0; i < 3; i++)
        dc_model_free(ms[i]);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_frozen_lstm_passes_gradients_and_dropout_still_drops(void **state)
{
    (void)state;
    int steps = 6;
    dc_tensor *x = dc_tensor_new4(2, 24, steps, 0, 0), *y = dc_tensor_new4(1, 24, 0, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, 4);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)(1 + dc_rng_below(&r, 9));
    for (int i = 0; i < 24; i++)
        y->data[i] = (float)(x->data[(size_t)i * steps] > 5.0f);
    dc_history *hist[2];
    for (int dropout_frozen = 0; dropout_frozen < 2; dropout_frozen++) {
        dc_model *m = model_of(steps, 0,
                               (dc_layer *[]){dc_layer_embedding(10, 4, 0), dc_layer_lstm(5), dc_layer_dropout(0.5f),
                                              dc_layer_dense(2, "softmax"), NULL});
        assert_int_equal(dc_model_set_trainable(m, 1, 0), DC_OK);
        if (dropout_frozen)
            assert_int_equal(dc_model_set_trainable(m, 2, 0), DC_OK);
        assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
        dc_tensor *emb = weight(m, 0, 0), *lstm[3];
        for (int i = 0; i < 3; i++)
            lstm[i] = weight(m, 1, i);
        dc_fit_config c = quiet_fit(2, 8);
        assert_int_equal(dc_model_fit(m, x, y, &c, &hist[dropout_frozen]), DC_OK);
        assert_true(layer_unchanged(m, 1, lstm, 3));
        dc_tensor *emb2 = weight(m, 0, 0);
        assert_false(same_tensor(emb, emb2)); /* through the frozen LSTM */
        dc_tensor_free(emb);
        dc_tensor_free(emb2);
        for (int i = 0; i < 3; i++)
            dc_tensor_free(lstm[i]);
        dc_model_free(m);
    }
    /* Dropout has no weights: frozen or not, the same masks and the same run */
    assert_history_equal(hist[0], hist[1], "loss");
    dc_history_free(hist[0]);
    dc_history_free(hist[1]);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Dense(16, relu) frozen -> BatchNormalization frozen -> Dropout -> Dense(3, softmax). */
static dc_model *frozen_classifier(uint64_t seed)
{
    dc_model *m = model_of(8, seed,
                           (dc_layer *[]){dc_layer_dense(16, "relu"), dc_layer_batch_normalization(),
                                          dc_layer_dropout(0.3f), dc_layer_dense(3, "softmax"), NULL});
    assert_int_equal(dc_model_set_trainable(m, 0, 0), DC_OK);
    assert_int_equal(dc_model_set_trainable(m, 1, 0), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    return m;
}

static void test_save_load_keeps_flag_and_resumes(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_tensor *x, *y;
    random_data(64, 8, 3, 13, &x, &y);
    dc_fit_config c = quiet_fit(4, 16);
    dc_history *whole, *first, *second;
    dc_model *a = frozen_classifier(3), *b = frozen_classifier(3), *loaded;
    assert_int_equal(dc_model_fit(a, x, y, &c, &whole), DC_OK);
    c.epochs = 2;
    assert_int_equal(dc_model_fit(b, x, y, &c, &first), DC_OK);
    assert_int_equal(dc_model_save(b, join(dir, "ckpt.safetensors"), 1), DC_OK);
    dc_model_free(b);

    assert_int_equal(dc_model_load(join(dir, "ckpt.safetensors"), &loaded), DC_OK);
    int want[] = {0, 0, 1, 1};
    for (int l = 0; l < 4; l++)
        assert_int_equal(dc_model_layer_trainable(loaded, l), want[l]);
    assert_non_null(strstr(summary_text(loaded), "Trainable params: 51\n")); /* 16*3 + 3 */
    dc_model_set_threads(loaded, 1);
    c.initial_epoch = dc_model_epoch(loaded);
    c.epochs = 4;
    assert_int_equal(dc_model_fit(loaded, x, y, &c, &second), DC_OK);
    const double *lw = dc_history_get(whole, "loss"), *l1 = dc_history_get(first, "loss"),
                 *l2 = dc_history_get(second, "loss");
    for (int e = 0; e < 2; e++) {
        assert_true(lw[e] == l1[e]);
        assert_true(lw[2 + e] == l2[e]);
    }
    assert_same_predictions(a, loaded, x);

    /* optimiser slots only for the trainable weights */
    uint8_t *buf;
    size_t len;
    dc_st_file *st;
    assert_int_equal(dc_file_read_all(join(dir, "ckpt.safetensors"), 1 << 24, &buf, &len), DC_OK);
    assert_int_equal(dc_st_parse(buf, len, "ckpt", &st), DC_OK);
    assert_non_null(dc_st_find(st, "dense/kernel"));
    assert_non_null(dc_st_find(st, "optimizer/momentum/dense_1/kernel"));
    assert_null(dc_st_find(st, "optimizer/momentum/dense/kernel"));
    assert_null(dc_st_find(st, "optimizer/velocity/batch_normalization/gamma"));
    dc_st_free(st);
    free(buf);

    /* the config: "trainable": false; without the key (older files) a layer
     * is trainable; a key of the wrong type is an error naming it */
    char *json;
    assert_int_equal(dc_model_to_json(loaded, &json), DC_OK);
    char *at = strstr(json, "\"trainable\":false");
    assert_non_null(at);
    memcpy(at, "\"trainable\":    0", 17);
    dc_model *bad;
    assert_int_equal(dc_model_from_json(json, strlen(json), &bad), DC_ERR_FORMAT);
    assert_errmsg_contains("layer 1 (Dense)");
    assert_errmsg_contains("\"trainable\"");
    for (char *p; (p = strstr(json, "\"trainable\":"));) { /* drop every key */
        char *end = strchr(p, ',');
        memmove(p, end + 1, strlen(end + 1) + 1);
    }
    dc_model *old;
    assert_int_equal(dc_model_from_json(json, strlen(json), &old), DC_OK);
    for (int l = 0; l < 4; l++)
        assert_int_equal(dc_model_layer_trainable(old, l), 1);
    dc_model_free(old);
    free(json);

    dc_history_free(whole);
    dc_history_free(first);
    dc_history_free(second);
    dc_model_free(a);
    dc_model_free(loaded);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

static void test_errors(void **state)
{
    (void)state;
    dc_model *m = model_of(FEATURES, 0, (dc_layer *[]){dc_layer_dense(8, "relu"), dc_layer_dense(3, NULL), NULL});
    float data[40] = {0};
    assert_int_equal(dc_model_set_weight(m, 0, 0, data, 40), DC_ERR_STATE);
    assert_errmsg_contains("not compiled");
    assert_int_equal(dc_model_set_trainable(m, 2, 0), DC_ERR_RANGE);
    assert_errmsg_contains("layer 2, the model has 2 (0 to 1)");
    assert_int_equal(dc_model_set_trainable(m, -1, 0), DC_ERR_RANGE);
    assert_int_equal(dc_model_layer_trainable(m, 2), -1);
    assert_int_equal(dc_model_layer_trainable(NULL, 0), -1);
    assert_int_equal(dc_layer_set_trainable(NULL, 0), DC_ERR_ARG);
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);

    assert_int_equal(dc_model_set_weight(m, 2, 0, data, 40), DC_ERR_RANGE);
    assert_errmsg_contains("set_weight: layer 2, the model has 2");
    assert_int_equal(dc_model_set_weight(m, 0, 2, data, 40), DC_ERR_RANGE);
    assert_errmsg_contains("dense has 2 weight(s), asked for index 2");
    assert_int_equal(dc_model_set_weight(m, 0, -1, data, 40), DC_ERR_RANGE);
    assert_int_equal(dc_model_set_weight(m, 0, 0, data, 39), DC_ERR_SHAPE);
    assert_errmsg_contains("layer 0 weight 0 (dense/kernel) has shape (5, 8), 40 values; given 39");
    assert_int_equal(dc_model_set_weight(m, 1, 1, data, 8), DC_ERR_SHAPE);
    assert_errmsg_contains("(dense_1/bias) has shape (3,), 3 values; given 8");
    assert_int_equal(dc_model_set_weight(m, 0, 0, NULL, 40), DC_ERR_ARG);
    assert_errmsg_contains("dc_model_set_weight: data is NULL");
    assert_int_equal(dc_model_set_weight(NULL, 0, 0, data, 40), DC_ERR_ARG);
    /* a failed set leaves the weight alone */
    dc_tensor *w = weight(m, 1, 1);
    assert_true(w->data[0] == 0.0f);
    dc_tensor_free(w);

    assert_int_equal(dc_model_set_trainable(m, 0, 0), DC_ERR_STATE);
    assert_errmsg_contains("dense: the model is already compiled");
    assert_errmsg_contains("before dc_model_compile");
    assert_int_equal(dc_model_layer_trainable(m, 0), 1);
    dc_model_free(m);

    /* a layer object already built into a model */
    dc_layer *d = dc_layer_dense(2, NULL);
    m = model_of(FEATURES, 0, (dc_layer *[]){d, NULL});
    assert_int_equal(dc_layer_set_trainable(d, 0), DC_OK); /* added, not built: fine */
    summary_text(m);
    assert_int_equal(dc_layer_set_trainable(d, 1), DC_ERR_STATE);
    assert_errmsg_contains("dense is already built into a model; use dc_model_set_trainable");
    assert_int_equal(dc_model_layer_trainable(m, 0), 0);
    /* every weight frozen: nothing to train (Keras warns; deepc does not print) */
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    dc_tensor *x = dc_tensor_new4(2, 4, FEATURES, 0, 0), *y = dc_tensor_new4(2, 4, 2, 0, 0), *p;
    dc_fit_config c = quiet_fit(1, 4);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_STATE);
    assert_errmsg_contains("fit: the model has no trainable weights");
    assert_int_equal(dc_model_predict(m, x, 0, &p), DC_OK); /* still usable */
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

/* A build that fails can be retried without leaking or overflowing the
 * layers' weight lists (each retry starts from a fresh graph). */
static void test_failed_build_retried(void **state)
{
    (void)state;
    dc_model *m = model_of(6, 0, (dc_layer *[]){dc_layer_dense(4, NULL), dc_layer_conv2d(2, 3, 3, NULL), NULL});
    for (int i = 0; i < 6; i++)
        assert_int_not_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frozen_dense_keeps_its_weights),
        cmocka_unit_test(test_frozen_prefix_equals_training_on_its_features),
        cmocka_unit_test(test_summary_counts),
        cmocka_unit_test(test_frozen_batchnorm_uses_moving_statistics),
        cmocka_unit_test(test_set_weight_then_predict),
        cmocka_unit_test(test_frozen_regularizer_adds_no_loss),
        cmocka_unit_test(test_frozen_lstm_passes_gradients_and_dropout_still_drops),
        cmocka_unit_test(test_save_load_keeps_flag_and_resumes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_failed_build_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
