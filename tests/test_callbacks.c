/*
 * test_callbacks.c - callbacks and resuming: 4 + 4 epochs through a
 * checkpoint equal 8 epochs in one run, bit for bit; EarlyStopping,
 * ReduceLROnPlateau, ModelCheckpoint, CSVLogger, LearningRateScheduler,
 * TerminateOnNaN and the schedules follow Keras' rules (the expected values
 * are worked out by hand from keras/src/callbacks and
 * keras/src/optimizers/schedules); user callbacks see every event.
 */
#include "iotest.h"
#include "model/model.h"

#include <math.h>
#include <sys/stat.h>

static const char *const log_keys[] = {"loss", "val_loss"};

static dc_logs logs_of(double *values)
{
    dc_logs logs;
    dc_logs_reset(&logs, 2, log_keys, values);
    return logs;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- resume ---- */

static void assert_series_equal(const dc_history *whole, int offset, const dc_history *part, const char *key)
{
    const double *a = dc_history_get(whole, key), *b = dc_history_get(part, key);
    assert_non_null(a);
    assert_non_null(b);
    for (int e = 0; e < part->epochs; e++)
        if (a[offset + e] != b[e])
            fail_msg("%s at epoch %d: %.17g in one run, %.17g resumed", key, offset + e + 1, a[offset + e], b[e]);
}

static void test_resume_equals_uninterrupted(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_tensor *x, *y;
    random_data(96, 8, 3, 21, &x, &y);
    dc_fit_config c = quiet_fit(8, 16);
    c.validation_split = 0.25f;
    dc_history *whole, *first, *second;
    dc_model *a = small_classifier(8, 3, 5);
    assert_int_equal(dc_model_fit(a, x, y, &c, &whole), DC_OK);

    dc_model *b = small_classifier(8, 3, 5), *resumed;
    dc_checkpoint_config cc = dc_checkpoint_defaults(join(dir, "ckpt_{epoch:02d}.safetensors"));
    dc_callback *ckpt = dc_callback_model_checkpoint(&cc);
    assert_non_null(ckpt);
    c.epochs = 4;
    c.callbacks = &ckpt;
    c.n_callbacks = 1;
    assert_int_equal(dc_model_fit(b, x, y, &c, &first), DC_OK);
    assert_true(exists(join(dir, "ckpt_01.safetensors")) && exists(join(dir, "ckpt_04.safetensors")));
    assert_false(exists(join(dir, "ckpt_05.safetensors")));
    dc_model_free(b); /* the "process" ends */

    assert_int_equal(dc_model_load(join(dir, "ckpt_04.safetensors"), &resumed), DC_OK);
    assert_int_equal(dc_model_epoch(resumed), 4);
    dc_model_set_threads(resumed, 1);
    c.initial_epoch = dc_model_epoch(resumed);
    c.epochs = 8;
    c.n_callbacks = 0;
    assert_int_equal(dc_model_fit(resumed, x, y, &c, &second), DC_OK);
    assert_int_equal(first->epochs, 4);
    assert_int_equal(second->epochs, 4);
    const char *keys[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    for (int k = 0; k < 4; k++) {
        assert_series_equal(whole, 0, first, keys[k]);
        assert_series_equal(whole, 4, second, keys[k]);
    }
    assert_same_predictions(a, resumed, x);
    assert_int_equal(dc_model_epoch(resumed), 8);

    /* The same through dc_model_load_checkpoint into a model built in code. */
    dc_model *c3 = small_classifier(8, 3, 99);
    dc_history *third;
    assert_int_equal(dc_model_load_checkpoint(c3, join(dir, "ckpt_04.safetensors")), DC_OK);
    assert_int_equal(dc_model_fit(c3, x, y, &c, &third), DC_OK);
    assert_series_equal(whole, 4, third, "loss");
    /* A weights-only file has no training state to resume from. */
    assert_int_equal(dc_model_save_weights(c3, join(dir, "w.safetensors")), DC_OK);
    assert_int_equal(dc_model_load_checkpoint(c3, join(dir, "w.safetensors")), DC_ERR_VERIFY);
    assert_errmsg_contains("no training_state");

    dc_history_free(whole);
    dc_history_free(first);
    dc_history_free(second);
    dc_history_free(third);
    dc_callback_free(ckpt);
    dc_model_free(a);
    dc_model_free(resumed);
    dc_model_free(c3);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* ---- EarlyStopping ---- */

static void test_early_stopping_restores_best_weights(void **state)
{
    (void)state;
    dc_model *m = small_classifier(4, 2, 1);
    dc_early_stopping_config ec = dc_early_stopping_defaults();
    ec.patience = 2;
    ec.restore_best_weights = 1;
    dc_callback *cb = dc_callback_early_stopping(&ec);
    const double val[] = {3.0, 1.0, 2.0, 1.5, 4.0};
    /* Keras: epoch 1 is the best; epochs 2 and 3 do not improve; wait reaches patience at epoch 3. */
    assert_int_equal(cb->on_train_begin(cb->user, m), DC_OK);
    m->stop_training = 0;
    int stopped_at = -1;
    for (int e = 0; e < 5 && stopped_at < 0; e++) {
        fill_params(m, (float)(e + 1));
        double v[2] = {0.0, val[e]};
        dc_logs logs = logs_of(v);
        assert_int_equal(cb->on_epoch_end(cb->user, m, e, &logs), DC_OK);
        if (m->stop_training)
            stopped_at = e;
    }
    assert_int_equal(stopped_at, 3);
    assert_int_equal(cb->on_train_end(cb->user, m, NULL), DC_OK);
    assert_true(first_param(m) == 2.0f); /* the weights at the end of epoch 1 */
    dc_callback_free(cb);
    dc_model_free(m);
}

typedef struct recorder {
    int train_begin, train_end, epoch_begin, epoch_end, batch_begin, batch_end;
    int last_epoch;
    float first_param[16];
    float lr[16];
    int has_val_loss;
    int fail_at_batch;
} recorder;

static dc_status rec_train_begin(void *u, dc_model *m)
{
    (void)m;
    ((recorder *)u)->train_begin++;
    return DC_OK;
}
static dc_status rec_train_end(void *u, dc_model *m, dc_logs *l)
{
    (void)m;
    (void)l;
    ((recorder *)u)->train_end++;
    return DC_OK;
}
static dc_status rec_epoch_begin(void *u, dc_model *m, int epoch)
{
    recorder *r = u;
    r->epoch_begin++;
    if (epoch < 16)
        r->lr[epoch] = dc_model_get_lr(m);
    return DC_OK;
}
static dc_status rec_epoch_end(void *u, dc_model *m, int epoch, dc_logs *l)
{
    recorder *r = u;
    r->epoch_end++;
    r->last_epoch = epoch;
    r->has_val_loss = dc_logs_get(l, "val_loss") != NULL && dc_logs_get(l, "loss") != NULL;
    if (epoch < 16)
        r->first_param[epoch] = first_param(m);
    return DC_OK;
}
static dc_status rec_batch_begin(void *u, dc_model *m, int b)
{
    (void)m;
    (void)b;
    ((recorder *)u)->batch_begin++;
    return DC_OK;
}
static dc_status rec_batch_end(void *u, dc_model *m, int b, dc_logs *l)
{
    recorder *r = u;
    (void)m;
    (void)l;
    r->batch_end++;
    if (r->fail_at_batch && r->batch_end == r->fail_at_batch)
        return dc_fail(DC_ERR_ARG, "recorder: asked to fail at batch %d", b);
    return DC_OK;
}

static dc_callback recorder_cb(recorder *r)
{
    memset(r, 0, sizeof *r);
    return (dc_callback){r, rec_train_begin, rec_train_end, rec_epoch_begin, rec_epoch_end, rec_batch_begin,
                         rec_batch_end, NULL};
}

static void test_early_stopping_in_fit(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(48, 4, 2, 3, &x, &y);
    dc_model *m = small_classifier(4, 2, 2);
    dc_early_stopping_config ec = dc_early_stopping_defaults();
    ec.monitor = "loss";
    ec.min_delta = 1e9; /* only the first epoch counts as an improvement */
    ec.patience = 2;
    ec.restore_best_weights = 1;
    recorder r;
    dc_callback user = recorder_cb(&r), *cbs[2] = {&user, dc_callback_early_stopping(&ec)};
    dc_fit_config c = quiet_fit(10, 16);
    c.callbacks = cbs;
    c.n_callbacks = 2;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    assert_int_equal(h->epochs, 3); /* stopped when wait reached patience, at epoch index 2 */
    assert_true(first_param(m) == r.first_param[0]);
    assert_true(r.first_param[2] != r.first_param[0]);
    dc_history_free(h);
    dc_callback_free(cbs[1]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ---- ReduceLROnPlateau ---- */

static void test_reduce_lr_on_plateau_as_keras(void **state)
{
    (void)state;
    dc_model *m = small_classifier(4, 2, 1);
    assert_int_equal(dc_model_set_lr(m, 1.0f), DC_OK);
    dc_reduce_lr_config rc = dc_reduce_lr_defaults();
    rc.factor = 0.5f;
    rc.patience = 2;
    rc.cooldown = 1;
    rc.min_lr = 0.2f;
    rc.min_delta = 0.01;
    dc_callback *cb = dc_callback_reduce_lr_on_plateau(&rc);
    assert_non_null(cb);
    const double val[] = {1.0, 0.995, 0.99, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98};
    /* Traced through keras/src/callbacks/reduce_lr_on_plateau.py: a reduction at
     * epochs 2, 5 and 7 (the last one clipped to min_lr), none at 9 (lr == min_lr). */
    const float want[] = {1.0f, 1.0f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.2f};
    assert_int_equal(cb->on_train_begin(cb->user, m), DC_OK);
    for (int e = 0; e < 10; e++) {
        double v[2] = {0.0, val[e]};
        dc_logs logs = logs_of(v);
        assert_int_equal(cb->on_epoch_end(cb->user, m, e, &logs), DC_OK);
        /* Keras 3 logs the rate the epoch ran with, before any reduction. */
        const double *lr = dc_logs_get(&logs, "learning_rate");
        assert_non_null(lr);
        assert_true(*lr == (e ? want[e - 1] : 1.0f));
        if (dc_model_get_lr(m) != want[e])
            fail_msg("epoch %d: lr %.9g, Keras gives %.9g", e, (double)dc_model_get_lr(m), (double)want[e]);
    }
    dc_callback_free(cb);
    rc.factor = 1.0f;
    assert_null(dc_callback_reduce_lr_on_plateau(&rc));
    assert_errmsg_contains("factor 1 is not supported");
    dc_model_free(m);
}

/* ---- schedules ---- */

static void test_schedules_as_keras(void **state)
{
    (void)state;
    dc_lr_schedule e = dc_exponential_decay(0.1f, 10, 0.5f, 0), es = dc_exponential_decay(0.1f, 10, 0.5f, 1);
    assert_float_equal(dc_lr_schedule_value(&e, 0), 0.1f, 1e-9);
    assert_float_equal(dc_lr_schedule_value(&e, 5), 0.1 * sqrt(0.5), 1e-8);
    assert_float_equal(dc_lr_schedule_value(&es, 15), 0.05, 1e-9);
    assert_float_equal(dc_lr_schedule_value(&es, 9), 0.1, 1e-9);
    long b[] = {10, 20};
    float v[] = {1.0f, 0.5f, 0.1f};
    dc_lr_schedule p = dc_piecewise_constant_decay(2, b, v);
    assert_true(dc_lr_schedule_value(&p, 10) == 1.0f);
    assert_true(dc_lr_schedule_value(&p, 11) == 0.5f);
    assert_true(dc_lr_schedule_value(&p, 20) == 0.5f);
    assert_true(dc_lr_schedule_value(&p, 21) == 0.1f);
    dc_lr_schedule cos = dc_cosine_decay(1.0f, 100, 0.1f);
    assert_float_equal(dc_lr_schedule_value(&cos, 50), 0.55, 1e-7);
    assert_float_equal(dc_lr_schedule_value(&cos, 100), 0.1, 1e-7);
    assert_float_equal(dc_lr_schedule_value(&cos, 500), 0.1, 1e-7);
    dc_lr_schedule warm = dc_cosine_decay(0.0f, 100, 0.0f);
    warm.warmup_target = 1.0f;
    warm.warmup_steps = 10;
    assert_float_equal(dc_lr_schedule_value(&warm, 5), 0.5, 1e-7);
    assert_float_equal(dc_lr_schedule_value(&warm, 10), 1.0, 1e-7);
    assert_float_equal(dc_lr_schedule_value(&warm, 60), 0.5, 1e-7);

    /* In fit: the rate before every update is schedule(iterations). */
    dc_tensor *x, *y;
    random_data(64, 4, 2, 4, &x, &y);
    dc_model *m = small_classifier(4, 2, 1);
    dc_lr_schedule bad = e;
    bad.decay_steps = 0;
    assert_int_equal(dc_model_set_lr_schedule(m, &bad), DC_ERR_ARG);
    assert_errmsg_contains("decay_steps is 0");
    assert_int_equal(dc_model_set_lr_schedule(m, &e), DC_OK);
    dc_fit_config c = quiet_fit(3, 16);
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    assert_true(dc_model_get_lr(m) == dc_lr_schedule_value(&e, 11)); /* 12 steps: the last used step 11 */
    /* The schedule is part of the saved model. */
    char *dir = make_dir(), *json, *json2;
    dc_model *loaded;
    assert_int_equal(dc_model_save(m, join(dir, "m.safetensors"), 1), DC_OK);
    assert_int_equal(dc_model_load(join(dir, "m.safetensors"), &loaded), DC_OK);
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    assert_int_equal(dc_model_to_json(loaded, &json2), DC_OK);
    assert_non_null(strstr(json, "\"class_name\":\"ExponentialDecay\""));
    assert_string_equal(json, json2);
    free(json);
    free(json2);
    dc_model_free(loaded);
    rm_dir(dir);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static float halve_after_two(int epoch, float lr, void *user)
{
    (void)user;
    return epoch < 2 ? lr : lr * 0.5f;
}

static void test_lr_scheduler_and_user_callbacks(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(48, 4, 2, 5, &x, &y);
    dc_model *m = small_classifier(4, 2, 1);
    recorder r;
    dc_callback user = recorder_cb(&r), *cbs[2] = {dc_callback_lr_scheduler(halve_after_two, NULL, 0), &user};
    dc_fit_config c = quiet_fit(4, 16);
    c.validation_split = 0.25f;
    c.callbacks = cbs;
    c.n_callbacks = 2;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    const float want[] = {0.001f, 0.001f, 0.0005f, 0.00025f};
    const double *logged = dc_history_get(h, "learning_rate");
    assert_non_null(logged);
    for (int e = 0; e < 4; e++) {
        assert_true(r.lr[e] == want[e]);
        assert_true(logged[e] == want[e]);
    }
    dc_history_free(h);
    /* 36 training samples at batch 16: 3 steps per epoch. */
    assert_int_equal(r.train_begin, 1);
    assert_int_equal(r.train_end, 1);
    assert_int_equal(r.epoch_begin, 4);
    assert_int_equal(r.epoch_end, 4);
    assert_int_equal(r.batch_begin, 12);
    assert_int_equal(r.batch_end, 12);
    assert_int_equal(r.last_epoch, 3);
    assert_true(r.has_val_loss);
    /* A hook's error stops fit and is returned. */
    user = recorder_cb(&r);
    r.fail_at_batch = 5;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_ARG);
    assert_errmsg_contains("recorder: asked to fail at batch 1");
    dc_callback *null_cb = NULL;
    c.callbacks = &null_cb;
    c.n_callbacks = 1;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_ARG);
    assert_errmsg_contains("callbacks[0] is NULL");
    dc_callback_free(cbs[0]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ---- ModelCheckpoint ---- */

static void test_checkpoint_best_only(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_model *m = small_classifier(4, 2, 1), *loaded;
    dc_checkpoint_config cc = dc_checkpoint_defaults(join(dir, "best_{epoch}_{val_loss:.2f}.safetensors"));
    cc.save_best_only = 1;
    cc.save_weights_only = 1;
    dc_callback *cb = dc_callback_model_checkpoint(&cc);
    const double val[] = {0.5, 0.7, 0.4};
    for (int e = 0; e < 3; e++) {
        double v[2] = {1.0, val[e]};
        dc_logs logs = logs_of(v);
        assert_int_equal(cb->on_epoch_end(cb->user, m, e, &logs), DC_OK);
    }
    assert_true(exists(join(dir, "best_1_0.50.safetensors")));
    assert_false(exists(join(dir, "best_2_0.70.safetensors")));
    assert_true(exists(join(dir, "best_3_0.40.safetensors")));
    assert_int_equal(dc_model_load_weights(m, join(dir, "best_3_0.40.safetensors")), DC_OK);
    assert_int_equal(dc_model_load(join(dir, "best_3_0.40.safetensors"), &loaded), DC_ERR_FORMAT);
    dc_callback_free(cb);
    cc = dc_checkpoint_defaults(join(dir, "x_{nope}.safetensors"));
    cb = dc_callback_model_checkpoint(&cc);
    double v[2] = {1.0, 1.0};
    dc_logs logs = logs_of(v);
    assert_int_equal(cb->on_epoch_end(cb->user, m, 0, &logs), DC_ERR_ARG);
    assert_errmsg_contains("filepath field {nope} is neither epoch nor a log key");
    dc_callback_free(cb);
    dc_model_free(m);
    rm_dir(dir);
}

/* ---- callbacks adding to the logs ---- */

/* Adds "val_score" (10 x the epoch) from epoch 1 on, as a Keras callback
 * computing a custom validation metric would. */
static dc_status add_score(void *u, dc_model *m, int epoch, dc_logs *logs)
{
    (void)u;
    (void)m;
    return epoch >= 1 ? dc_logs_set(logs, "val_score", 10.0 * epoch) : DC_OK;
}

static void test_callbacks_add_to_logs(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "log.csv");
    dc_tensor *x, *y;
    random_data(40, 4, 2, 6, &x, &y);
    dc_model *m = small_classifier(4, 2, 1);
    dc_callback adder = {.on_epoch_end = add_score};
    dc_callback *cbs[3] = {dc_callback_csv_logger(path, ',', 0), &adder, dc_callback_csv_logger(path, ',', 0)};
    /* The History records after every callback: the key appears from epoch 1, NaN before. */
    dc_fit_config c = quiet_fit(3, 8);
    c.callbacks = cbs + 1;
    c.n_callbacks = 2;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    const double *score = dc_history_get(h, "val_score");
    assert_non_null(score);
    assert_true(isnan(score[0]) && score[1] == 10.0 && score[2] == 20.0);
    assert_non_null(dc_history_get(h, "loss"));
    dc_history_free(h);
    /* The CSV logger after the adder took its keys at epoch 0, when there was no val_score; Keras does the same. */
    FILE *fp = fopen(path, "r");
    char line[512];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "epoch,accuracy,loss\n");
    fclose(fp);
    /* A logger before the adder never sees the key. */
    c.callbacks = cbs;
    c.n_callbacks = 2;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    fp = fopen(path, "r");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "epoch,accuracy,loss\n");
    fclose(fp);
    dc_callback_free(cbs[0]);
    dc_callback_free(cbs[2]);
    /* dc_logs_set: replace, add, and refuse what does not fit. */
    dc_logs logs = {0};
    assert_int_equal(dc_logs_set(&logs, "a", 1.0), DC_OK);
    assert_int_equal(dc_logs_set(&logs, "a", 2.0), DC_OK);
    assert_int_equal(logs.n, 1);
    assert_true(*dc_logs_get(&logs, "a") == 2.0);
    dc_logs copy = logs; /* a plain value */
    assert_true(*dc_logs_get(&copy, "a") == 2.0);
    assert_int_equal(dc_logs_set(&logs, "", 1.0), DC_ERR_ARG);
    assert_errmsg_contains("empty or longer than 47 bytes");
    char longkey[DC_LOGS_KEY_LEN + 1];
    memset(longkey, 'k', DC_LOGS_KEY_LEN);
    longkey[DC_LOGS_KEY_LEN] = '\0';
    assert_int_equal(dc_logs_set(&logs, longkey, 1.0), DC_ERR_ARG);
    for (int i = 1; i < DC_LOGS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(dc_logs_set(&logs, key, i), DC_OK);
    }
    assert_int_equal(dc_logs_set(&logs, "one_more", 1.0), DC_ERR_ARG);
    assert_errmsg_contains("no room for key \"one_more\"");
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* ---- CSVLogger and TerminateOnNaN ---- */

static void test_csv_logger(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "log.csv");
    dc_tensor *x, *y;
    random_data(40, 4, 2, 6, &x, &y);
    dc_model *m = small_classifier(4, 2, 1);
    dc_callback *cb = dc_callback_csv_logger(path, ',', 0);
    dc_fit_config c = quiet_fit(3, 8);
    c.validation_split = 0.2f;
    c.callbacks = &cb;
    c.n_callbacks = 1;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    dc_callback_free(cb);
    cb = dc_callback_csv_logger(path, ',', 1); /* append: no second header */
    c.epochs = 1;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
    FILE *fp = fopen(path, "r");
    char line[512];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "epoch,accuracy,loss,val_accuracy,val_loss\n");
    for (int e = 0; e < 4; e++) {
        assert_non_null(fgets(line, sizeof line, fp));
        char *p = line;
        assert_int_equal(strtol(p, &p, 10), e < 3 ? e : 0);
        const char *order[] = {"accuracy", "loss", "val_accuracy", "val_loss"};
        for (int k = 0; k < 4; k++) {
            assert_true(*p == ',');
            double v = strtod(p + 1, &p);
            if (e < 3)
                assert_true(v == dc_history_get(h, order[k])[e]); /* shortest round-trip text */
        }
    }
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    dc_callback_free(cb);
    dc_history_free(h);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

static void test_terminate_on_nan(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(32, 4, 2, 7, &x, &y);
    x->data[4 * 9] = NAN; /* sample 9: the third batch of 4 */
    dc_model *m = small_classifier(4, 2, 1);
    recorder r;
    dc_callback user = recorder_cb(&r), *cbs[2] = {dc_callback_terminate_on_nan(), &user};
    dc_fit_config c = quiet_fit(5, 4);
    c.shuffle = 0;
    c.callbacks = cbs;
    c.n_callbacks = 2;
    dc_history *h;
    assert_int_equal(dc_model_fit(m, x, y, &c, &h), DC_OK);
    assert_int_equal(r.batch_end, 3); /* stopped at the batch with the NaN */
    assert_int_equal(h->epochs, 1);
    assert_true(isnan(dc_history_get(h, "loss")[0]));
    assert_true(isfinite(first_param(m))); /* that batch's update was not applied */
    c.n_callbacks = 0;
    assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_ERR_NAN);
    dc_history_free(h);
    dc_callback_free(cbs[0]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_early_stopping_restores_best_weights),
        cmocka_unit_test(test_early_stopping_in_fit),
        cmocka_unit_test(test_reduce_lr_on_plateau_as_keras),
        cmocka_unit_test(test_schedules_as_keras),
        cmocka_unit_test(test_lr_scheduler_and_user_callbacks),
        cmocka_unit_test(test_checkpoint_best_only),
        cmocka_unit_test(test_callbacks_add_to_logs),
        cmocka_unit_test(test_csv_logger),
        cmocka_unit_test(test_terminate_on_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
