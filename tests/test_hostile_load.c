/*
 * test_hostile_load.c - what a file or a failed call may not do to deepc:
 * hang a load (a training state declaring 9e15 optimiser steps), make it
 * allocate gigabytes for a model the file holds no weights of, take
 * quadratic time in the number of layers, leave a model half-changed by a
 * load that failed, or leave a pointer the documented idioms pass again
 * freed; and fit's epoch counter at INT_MAX.  Each hostile file is written
 * here, from a model deepc saved or from JSON, so the test shows the
 * bytes it feeds in.
 */
#include "iotest.h"
#include "model/model.h"
#include "optim/optim.h"

#include <limits.h>
#include <math.h>
#include <time.h>

/* ---- writing files by hand ---- */

static uint8_t *read_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Writes a safetensors file: the 8-byte length, header (len bytes), data. */
static void write_st(const char *path, const char *header, size_t len, const uint8_t *data, size_t data_len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 8; i++)
        fputc((int)((uint64_t)len >> (8 * i) & 0xff), fp);
    fwrite(header, 1, len, fp);
    if (data_len)
        fwrite(data, 1, data_len, fp);
    fclose(fp);
}

/* Replaces the first `from` in the header of the safetensors file at path
 * with `to` (any length; the header length is rewritten). */
static void rewrite_header(const char *path, const char *from, const char *to)
{
    size_t len;
    uint8_t *buf = read_bytes(path, &len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[i];
    char *header = malloc(n + 1);
    assert_non_null(header);
    memcpy(header, buf + 8, n);
    header[n] = '\0';
    char *at = strstr(header, from);
    if (!at)
        fail_msg("\"%s\" is not in the header of %s", from, path);
    size_t new_n = n - strlen(from) + strlen(to);
    char *out = malloc(new_n + 1);
    assert_non_null(out);
    size_t head = (size_t)(at - header);
    memcpy(out, header, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), at + strlen(from), n - head - strlen(from));
    write_st(path, out, new_n, buf + 8 + n, len - 8 - n);
    free(out);
    free(header);
    free(buf);
}

/* A weightless model file: metadata only, model_config `json` (escaped
 * into a JSON string here). */
static void write_config_file(const char *path, const char *json)
{
    size_t n = strlen(json), cap = 2 * n + 128, used = 0;
    char *header = malloc(cap);
    assert_non_null(header);
    used += (size_t)snprintf(header, cap, "{\"__metadata__\":{\"format\":\"deepc\",\"model_config\":\"");
    for (size_t i = 0; i < n; i++) {
        if (json[i] == '"' || json[i] == '\\')
            header[used++] = '\\';
        header[used++] = json[i];
    }
    used += (size_t)snprintf(header + used, cap - used, "\"}}");
    write_st(path, header, used, NULL, 0);
    free(header);
}

/* The JSON of a Sequential model on (features,) of `n` ReLU layers,
 * compiled with SGD and MSE: a model whose file holds no weights. */
static char *relu_chain_json(int features, int n, int functional)
{
    dc_model *m = functional ? dc_functional_new(1, &features) : dc_sequential_new(1, &features);
    assert_non_null(m);
    for (int i = 0, ref = 0; i < n; i++) {
        if (functional)
            assert_int_equal((ref = dc_model_apply(m, dc_layer_relu(), ref)), i + 1);
        else
            assert_int_equal(dc_model_add(m, dc_layer_relu()), DC_OK);
    }
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    char *json;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    dc_model_free(m);
    return json;
}

/* The process's CPU time, not the wall clock: these bounds catch hangs and
 * quadratic loads, and must not trip because other processes share the
 * machine (the wall-clock linearity check failed at a load average of 20). */
static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* x (n, 4), y (n,) of a small regression. */
static void tiny_data(int n, dc_tensor **x, dc_tensor **y)
{
    *x = dc_tensor_new4(2, n, 4, 0, 0);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    for (size_t i = 0; i < (*x)->size; i++)
        (*x)->data[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < n; i++)
        (*y)->data[i] = (*x)->data[4 * i] - (*x)->data[4 * i + 1];
}

static dc_model *tiny_model(const char *optimizer)
{
    int features = 4;
    dc_model *m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_model_set_seed(m, 3);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, optimizer, "mse", NULL, 0), DC_OK);
    return m;
}

static void train(dc_model *m, int epochs)
{
    dc_tensor *x, *y;
    tiny_data(16, &x, &y);
    dc_fit_config cfg = dc_fit_defaults();
    cfg.epochs = epochs;
    cfg.batch_size = 4;
    cfg.verbose = 0;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ---- class 2: loads that hang or explode ---- */

/* The step-by-step replay that set_iterations replaced, as reference. */
static float replayed_u_product(float beta_1, long iterations)
{
    float u = 1.0f;
    for (long t = 1; t <= iterations; t++)
        u = u * (beta_1 * (1.0f - 0.5f * powf(0.96f, (float)t)));
    return u;
}

static void test_nadam_u_product_matches_the_replay(void **state)
{
    (void)state;
    static const float betas[] = {0.9f, 0.0f, 0.5f, 0.99f, 0.999f, 1.0f, 1.5f, -0.9f, -1.0f, -1.5f, 0.9999999f};
    static const long counts[] = {0, 1, 2, 3, 100, 407, 408, 1023, 1024, 1025, 1026, 1027, 2000, 2001, 5000, 77777, 200001};
    for (size_t b = 0; b < sizeof betas / sizeof betas[0]; b++) {
        dc_optimizer_config cfg = dc_optimizer_defaults(DC_OPT_NADAM);
        cfg.beta_1 = betas[b];
        dc_optimizer *o = dc_optimizer_new(&cfg, 4);
        assert_non_null(o);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            assert_int_equal(dc_optimizer_set_iterations(o, counts[c]), DC_OK);
            float want = replayed_u_product(betas[b], counts[c]), got = dc_optimizer_nadam_u_product(o);
            if (memcmp(&want, &got, sizeof want) != 0)
                fail_msg("beta_1 %.9g, %ld steps: u_product %.9g, the replay gives %.9g", (double)betas[b], counts[c],
                         (double)got, (double)want);
        }
        /* the largest count a file may declare: fast (for beta_1 a hair
         * below 1, u_product takes up to the count itself to settle), and
         * past it an error that leaves the optimiser as it was */
        double t0 = seconds();
        if (fabsf(betas[b]) < 0.9999f) {
            assert_int_equal(dc_optimizer_set_iterations(o, DC_OPTIMIZER_MAX_ITERATIONS), DC_OK);
            if (seconds() - t0 > 1.0)
                fail_msg("beta_1 %g: set_iterations(2^31 - 1) took %.1f s", (double)betas[b], seconds() - t0);
            assert_int_equal(dc_optimizer_iterations(o), DC_OPTIMIZER_MAX_ITERATIONS);
        }
        long had = dc_optimizer_iterations(o);
        assert_int_equal(dc_optimizer_set_iterations(o, DC_OPTIMIZER_MAX_ITERATIONS + 1), DC_ERR_RANGE);
        assert_int_equal(dc_optimizer_iterations(o), had);
        dc_optimizer_free(o);
    }
}

/* A 2.7 KB checkpoint declaring 9e15 iterations used to replay them one by
 * one (hours); now the load refuses it at once, naming file, key, limit. */
static void test_absurd_iterations_are_refused(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "ckpt.safetensors");
    dc_model *m = tiny_model("nadam");
    train(m, 1);
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    rewrite_header(path, "\\\"iterations\\\":4", "\\\"iterations\\\":9000000000000000");
    double t0 = seconds();
    dc_model *loaded;
    assert_int_equal(dc_model_load(path, &loaded), DC_ERR_RANGE);
    assert_null(loaded);
    assert_errmsg_contains(path);
    assert_errmsg_contains("\"iterations\" is 9000000000000000, more than the 2147483647 optimiser steps");
    assert_int_equal(dc_model_load_checkpoint(m, path), DC_ERR_RANGE);
    assert_true(seconds() - t0 < 2.0);
    /* the limit itself loads, in no time, for an optimiser that replays (Nadam) */
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    rewrite_header(path, "\\\"iterations\\\":4", "\\\"iterations\\\":2147483647");
    assert_int_equal(dc_model_load(path, &loaded), DC_OK);
    assert_true(seconds() - t0 < 4.0);
    dc_model_free(loaded);
    dc_model_free(m);
    rm_dir(dir);
}

/* A file of a few hundred bytes that holds no weights used to make load
 * commit 2 GiB of activations (and a slightly larger one ask for 16 GiB);
 * the load budget refuses it before allocating. */
static void test_weightless_model_within_the_budget(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "weightless.safetensors");
    /* (None, 2^23) -> ReLU: 2 x 2^23 floats a sample, 2 GiB at compile's batch of 32 */
    char *json = relu_chain_json(4, 1, 0);
    size_t len = strlen(json);
    char *big = malloc(len + 16);
    assert_non_null(big);
    memcpy(big, json, len + 1);
    char *at = strstr(big, "[null,4]");
    assert_non_null(at);
    memmove(at + 14, at + 8, strlen(at + 8) + 1); /* "[null,4]" -> "[null,8388608]" */
    memcpy(at, "[null,8388608]", 14);
    write_config_file(path, big);
    dc_model *loaded;
    assert_int_equal(dc_model_load(path, &loaded), DC_ERR_RANGE);
    assert_null(loaded);
    assert_errmsg_contains(path);
    assert_errmsg_contains("would plan 2048 MiB of activations at a batch of 32, more than the 1024 MiB a loaded model "
                           "may");
    /* a budget raised by the caller lets a model through; the same model
     * small loads with the default */
    assert_int_equal(dc_model_load_ex(path, (size_t)1 << 20, &loaded), DC_ERR_RANGE);
    assert_errmsg_contains("more than the 1 MiB");
    write_config_file(path, json);
    assert_int_equal(dc_model_load(path, &loaded), DC_OK);
    dc_model_free(loaded);
    free(big);
    free(json);
    rm_dir(dir);
}

/* 80,000 layers used to load in quadratic time (24 s in Release; the name
 * checks, the layer, call and tensor look-ups were each a scan); now
 * linear, checked on 4,000 and 32,000 (a quadratic load takes 64 times as
 * long for the second; a linear one 8). */
static void test_many_layers_load_in_linear_time(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "deep.safetensors");
    for (int functional = 0; functional < 2; functional++) {
        double t[2];
        const int n[2] = {4000, 32000};
        for (int k = 0; k < 2; k++) {
            char *json = relu_chain_json(1, n[k], functional);
            write_config_file(path, json);
            free(json);
            t[k] = 1e30;
            for (int rep = 0; rep < 2; rep++) { /* the faster of two loads */
                double t0 = seconds();
                dc_model *loaded;
                assert_int_equal(dc_model_load(path, &loaded), DC_OK);
                double dt = seconds() - t0;
                t[k] = dt < t[k] ? dt : t[k];
                assert_int_equal(dc_model_layer_count(loaded), n[k]);
                dc_model_free(loaded);
            }
        }
        /* 8 times the layers: 8 times the time when linear, 64 when quadratic */
        if (t[1] > 20.0 * t[0] + 0.5)
            fail_msg("%s: %d layers load in %.2f s, %d in %.2f s: worse than linear",
                     functional ? "functional" : "Sequential", n[0], t[0], n[1], t[1]);
    }
    rm_dir(dir);
}

/* ---- class 3: a failed load changes nothing ---- */

static void test_failed_checkpoint_load_changes_nothing(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "ckpt.safetensors");
    dc_model *a = tiny_model("adam"), *b = tiny_model("adam");
    train(a, 2);
    train(b, 1);
    assert_int_equal(dc_model_save(a, path, 1), DC_OK);
    /* the last optimiser tensor renamed (same length): everything before it checks out */
    rewrite_header(path, "\"optimizer/velocity/dense_1/bias\"", "\"optimizer/velocity/dense_1/biaz\"");
    size_t count;
    float *params = dc_graph_params(b->g, &count);
    size_t n_train = dc_graph_trainable_count(b->g);
    float *before = malloc(3 * count * sizeof *before);
    assert_non_null(before);
    memcpy(before, params, count * sizeof *before);
    memcpy(before + count, dc_optimizer_slot(b->opt, 0), n_train * sizeof *before);
    memcpy(before + 2 * count, dc_optimizer_slot(b->opt, 1), n_train * sizeof *before);
    long iterations = dc_optimizer_iterations(b->opt);
    int epoch = dc_model_epoch(b);
    assert_int_equal(dc_model_load_checkpoint(b, path), DC_ERR_VERIFY);
    assert_errmsg_contains("\"optimizer/velocity/dense_1/bias\" (1,) is missing from the file");
    assert_memory_equal(params, before, count * sizeof *before);
    assert_memory_equal(dc_optimizer_slot(b->opt, 0), before + count, n_train * sizeof *before);
    assert_memory_equal(dc_optimizer_slot(b->opt, 1), before + 2 * count, n_train * sizeof *before);
    assert_int_equal(dc_optimizer_iterations(b->opt), iterations);
    assert_int_equal(dc_model_epoch(b), epoch);
    free(before);
    dc_model_free(a);
    dc_model_free(b);
    rm_dir(dir);
}

/* ---- class 4: the ownership rule for failed calls ---- */

/* A shared layer whose first apply fails stays the model's (not freed): the
 * second apply of the same pointer - "chain the calls, check once at the
 * end" - meets a broken model, and compile names the first failure. */
static void test_shared_layer_survives_a_failed_apply(void **state)
{
    (void)state;
    int features = 4;
    dc_model *m = dc_functional_new(1, &features);
    assert_non_null(m);
    dc_layer *shared = dc_layer_dense(4, "relu");
    int x = dc_model_apply(m, shared, 7); /* no reference 7: fails */
    int y = dc_model_apply(m, shared, 0); /* the same pointer again */
    assert_errmsg_contains("apply: Dense: the layer was given to this model in a call that failed (apply: Dense: "
                           "input 0 is 7");
    int z = dc_model_apply(m, dc_layer_dense(1, NULL), y);
    assert_int_equal(x, -1);
    assert_int_equal(y, -1);
    assert_int_equal(z, -1);
    assert_errmsg_contains("input 0 is -1, the result of a call that failed");
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_ERR_STATE);
    assert_errmsg_contains("input 0 is 7, but the model has references 0 to 0");
    dc_model_free(m); /* frees the shared layer once */

    /* Sequential: a layer refused by add and given again is not freed twice */
    m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_layer *merge = dc_layer_add();
    assert_int_not_equal(dc_model_add(m, merge), DC_OK);
    assert_int_not_equal(dc_model_add(m, merge), DC_OK);
    assert_errmsg_contains("is a merge layer");
    dc_model_free(m);
}

/* ---- class 10: counters at INT_MAX ---- */

/* fit(initial_epoch = INT_MAX - 1, epochs = INT_MAX) runs the one epoch
 * Keras runs and returns (the epoch counter used to overflow and loop). */
static void test_fit_to_int_max_epochs_returns(void **state)
{
    (void)state;
    dc_model *m = tiny_model("sgd");
    dc_model_set_threads(m, 1 << 20); /* capped at the machine's processors */
    dc_tensor *x, *y;
    tiny_data(16, &x, &y);
    dc_fit_config cfg = dc_fit_defaults();
    cfg.initial_epoch = INT_MAX - 1;
    cfg.epochs = INT_MAX;
    cfg.verbose = 0;
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, &h), DC_OK);
    assert_int_equal(dc_model_epoch(m), INT_MAX);
    assert_int_equal(h->epochs, 1);
    cfg.initial_epoch = INT_MAX;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK); /* nothing left to run */
    dc_history_free(h);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nadam_u_product_matches_the_replay),
        cmocka_unit_test(test_absurd_iterations_are_refused),
        cmocka_unit_test(test_weightless_model_within_the_budget),
        cmocka_unit_test(test_many_layers_load_in_linear_time),
        cmocka_unit_test(test_failed_checkpoint_load_changes_nothing),
        cmocka_unit_test(test_shared_layer_survives_a_failed_apply),
        cmocka_unit_test(test_fit_to_int_max_epochs_returns),
    };
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
