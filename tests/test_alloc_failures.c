/*
 * test_alloc_failures.c - allocation-failure injection over the model's
 * life: build, compile, fit (with validation and a ModelCheckpoint
 * callback), save, load, load_checkpoint, to/from JSON and predict.
 *
 * This executable is linked with -Wl,--wrap=malloc,calloc,realloc,
 * posix_memalign,aligned_alloc,free (CMakeLists.txt), so every call to those
 * from the code linked statically into it, deepc_static included, goes
 * through the __wrap_ functions below; OpenBLAS, libgomp, libc and cmocka
 * are shared libraries and keep the real allocator.  The wrappers live in
 * the test program: the library has no hook and no global for them.
 *
 * For each phase, N = 1, 2, ...: the phase's setup runs normally, then the
 * phase's call runs with its Nth allocation failing (only that one), until a
 * run of the call makes fewer than N allocations.  Every failing run must
 *   - return DC_ERR_NOMEM, with dc_last_status() DC_ERR_NOMEM and a message
 *     (never DC_OK: that would be a silent fallback);
 *   - leave the model usable: the same call made again without injection
 *     succeeds and gives the uninjected run's result bit for bit (or, for a
 *     model that cannot be used again, a sticky one, freeing it is enough);
 *   - leak nothing: the blocks live after the teardown equal those before
 *     the setup (counted by the wrappers, so this holds in Release too).
 * A crash shows as the test dying (under ASan: its report), a hang as the
 * ctest timeout.
 */
#include "iotest.h"

#include <execinfo.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ injector */

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);

static atomic_long live_blocks;  /* allocated and not yet freed, always counted */
static atomic_long calls_armed;  /* allocation calls since arm() */
static atomic_long fail_at;      /* the call number that fails; 0 = none */
static atomic_int failed_one;    /* the injected failure happened */
static void *failed_stack[24];   /* where: printed when a check fails */
static int failed_depth;

static int should_fail(void)
{
    long n = atomic_load(&fail_at);
    if (!n)
        return 0;
    if (atomic_fetch_add(&calls_armed, 1) + 1 != n)
        return 0;
    atomic_store(&failed_one, 1);
    failed_depth = backtrace(failed_stack, 24);
    return 1;
}

void *__wrap_malloc(size_t n)
{
    void *p = should_fail() ? NULL : __real_malloc(n);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *__wrap_calloc(size_t count, size_t size)
{
    void *p = should_fail() ? NULL : __real_calloc(count, size);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    void *p = should_fail() ? NULL : __real_realloc(old, n);
    if (p && !old)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    int rc = should_fail() ? 12 /* ENOMEM */ : __real_posix_memalign(p, align, n);
    if (rc == 0)
        atomic_fetch_add(&live_blocks, 1);
    return rc;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    void *p = should_fail() ? NULL : __real_aligned_alloc(align, n);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live_blocks, 1);
    __real_free(p);
}

/* The stack of the failed allocation, for the message of a failed check
 * (addresses: addr2line -f -e test_alloc_failures ADDR names them). */
static void print_failed_stack(void)
{
    fprintf(stderr, "the failed allocation was made from:\n");
    backtrace_symbols_fd(failed_stack, failed_depth, 2);
}

static void arm(long n)
{
    atomic_store(&calls_armed, 0);
    atomic_store(&failed_one, 0);
    atomic_store(&fail_at, n);
}

/* Stops injecting; whether the injected failure happened. */
static int disarm(void)
{
    atomic_store(&fail_at, 0);
    return atomic_load(&failed_one);
}

/* -------------------------------------------------------------- the model */

enum { N_SAMPLES = 8, N_VAL = 4, CLASSES = 3, SIDE = 6 };

/* Conv2D(4, 3x3, relu) -> BatchNormalization -> Reshape(4, 16) -> LSTM(5)
 * -> Dropout(0.25) -> Dense(3, softmax) on 6x6x1 images: one of each kind of
 * layer that keeps state of its own (weights, moving statistics, recurrent
 * state, a dropout mask). */
static dc_model *new_model(void)
{
    dc_model *m = dc_sequential_new(3, (int[]){SIDE, SIDE, 1});
    if (!m)
        return NULL;
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    dc_model_add(m, dc_layer_conv2d(4, 3, 3, "relu"));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_reshape(2, (int[]){4, 16}));
    dc_model_add(m, dc_layer_lstm(5));
    dc_model_add(m, dc_layer_dropout(0.25f));
    dc_model_add(m, dc_layer_dense(CLASSES, "softmax"));
    return m;
}

static dc_status compile(dc_model *m)
{
    const char *metrics[] = {"accuracy"};
    return dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1);
}

typedef struct world {
    dc_tensor *x, *y, *x_val, *y_val;
    char dir[64];
    char model_path[128];   /* the reference model, saved after fit with its optimiser */
    char target_path[128];  /* what the save phase writes */
    char ckpt_path[128];    /* the fit phase's ModelCheckpoint */
    dc_tensor *pred_compiled; /* predict(x) right after compile */
    dc_tensor *pred_fitted;   /* predict(x) after one epoch of fit */
    char *saved;              /* model_path's bytes */
    size_t saved_len;
    char *json;               /* the reference model's JSON */
    /* per run */
    dc_model *m, *m2;
    dc_callback *ckpt;
    dc_history *history;
    dc_tensor *out;
} world;

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    struct stat sb;
    assert_int_equal(fstat(fileno(fp), &sb), 0);
    char *buf = __real_malloc((size_t)sb.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
    fclose(fp);
    *len = (size_t)sb.st_size;
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static dc_fit_config fit_config(world *w)
{
    dc_fit_config c = dc_fit_defaults();
    c.epochs = 1;
    c.batch_size = 4;
    c.verbose = 0;
    c.x_val = w->x_val;
    c.y_val = w->y_val;
    c.callbacks = &w->ckpt;
    c.n_callbacks = w->ckpt ? 1 : 0;
    return c;
}

static dc_model *compiled_model(void)
{
    dc_model *m = new_model();
    assert_non_null(m);
    assert_int_equal(compile(m), DC_OK);
    return m;
}

static dc_model *fitted_model(world *w)
{
    dc_model *m = compiled_model();
    dc_fit_config c = fit_config(w);
    c.n_callbacks = 0;
    assert_int_equal(dc_model_fit(m, w->x, w->y, &c, NULL), DC_OK);
    return m;
}

static int same_tensor(const dc_tensor *a, const dc_tensor *b)
{
    return a && b && a->size == b->size && memcmp(a->data, b->data, a->size * sizeof(float)) == 0;
}

static dc_tensor *predict_x(world *w, dc_model *m)
{
    dc_tensor *p = NULL;
    if (dc_model_predict(m, w->x, 4, &p) != DC_OK)
        fail_msg("predict without injection failed: %s", dc_errmsg());
    return p;
}

static void assert_predicts(world *w, dc_model *m, const dc_tensor *want, const char *what)
{
    dc_tensor *p = predict_x(w, m);
    int same = same_tensor(p, want);
    dc_tensor_free(p);
    if (!same)
        fail_msg("%s: predictions differ from the uninjected run's", what);
}

static void world_free_run(world *w)
{
    dc_model_free(w->m);
    dc_model_free(w->m2);
    dc_callback_free(w->ckpt);
    dc_history_free(w->history);
    dc_tensor_free(w->out);
    w->m = w->m2 = NULL;
    w->ckpt = NULL;
    w->history = NULL;
    w->out = NULL;
    unlink(w->target_path);
    unlink(w->ckpt_path);
}

static int setup_world(void **state)
{
    static world w;
    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "%s", make_dir());
    snprintf(w.model_path, sizeof w.model_path, "%s/model.safetensors", w.dir);
    snprintf(w.target_path, sizeof w.target_path, "%s/target.safetensors", w.dir);
    snprintf(w.ckpt_path, sizeof w.ckpt_path, "%s/ckpt.safetensors", w.dir);
    dc_rng r;
    dc_rng_seed(&r, 3);
    w.x = dc_tensor_new4(4, N_SAMPLES, SIDE, SIDE, 1);
    w.x_val = dc_tensor_new4(4, N_VAL, SIDE, SIDE, 1);
    w.y = dc_tensor_new4(1, N_SAMPLES, 0, 0, 0);
    w.y_val = dc_tensor_new4(1, N_VAL, 0, 0, 0);
    for (size_t i = 0; i < w.x->size; i++)
        w.x->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < w.x_val->size; i++)
        w.x_val->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < N_SAMPLES; i++)
        w.y->data[i] = (float)(i % CLASSES);
    for (int i = 0; i < N_VAL; i++)
        w.y_val->data[i] = (float)(i % CLASSES);

    dc_model *m = compiled_model();
    w.pred_compiled = predict_x(&w, m);
    dc_model_free(m);
    m = fitted_model(&w);
    w.pred_fitted = predict_x(&w, m);
    assert_int_equal(dc_model_save(m, w.model_path, 1), DC_OK);
    assert_int_equal(dc_model_to_json(m, &w.json), DC_OK);
    dc_model_free(m);
    w.saved = read_file(w.model_path, &w.saved_len);
    *state = &w;
    return 0;
}

static int teardown_world(void **state)
{
    world *w = *state;
    world_free_run(w);
    dc_tensor_free(w->x);
    dc_tensor_free(w->y);
    dc_tensor_free(w->x_val);
    dc_tensor_free(w->y_val);
    dc_tensor_free(w->pred_compiled);
    dc_tensor_free(w->pred_fitted);
    __real_free(w->saved);
    free(w->json);
    rm_dir(w->dir);
    return 0;
}

/* --------------------------------------------------------------- phases */

typedef struct phase {
    const char *name;
    void (*setup)(world *w);                /* not injected */
    dc_status (*call)(world *w);            /* injected */
    void (*after_failure)(world *w);        /* not injected: the model usable, the call again */
    void (*after_success)(world *w);        /* not injected: the result is the reference */
} phase;

/* Runs ph for N = 1, 2 ... until its call makes fewer than N allocations;
 * returns how many runs failed by injection. */
static long run_phase(world *w, const phase *ph)
{
    long n;
    world_free_run(w); /* what a failed test left */
    for (n = 1;; n++) {
        long live_before = atomic_load(&live_blocks);
        if (ph->setup)
            ph->setup(w);
        arm(n);
        dc_status st = ph->call(w);
        int injected = disarm();
        if (!injected) {
            if (st != DC_OK)
                fail_msg("%s: failed without injection: %s", ph->name, dc_errmsg());
            if (ph->after_success)
                ph->after_success(w);
        } else {
            if (st != DC_ERR_NOMEM || dc_last_status() != DC_ERR_NOMEM)
                print_failed_stack();
            if (st == DC_OK)
                fail_msg("%s: allocation %ld failed, yet the call returned DC_OK", ph->name, n);
            if (st != DC_ERR_NOMEM || dc_last_status() != DC_ERR_NOMEM || !strstr(dc_errmsg(), "memory"))
                fail_msg("%s: allocation %ld failed: got %s (last status %s), message \"%s\"", ph->name, n,
                         dc_status_str(st), dc_status_str(dc_last_status()), dc_errmsg());
            if (ph->after_failure)
                ph->after_failure(w);
        }
        world_free_run(w);
        long leaked = atomic_load(&live_blocks) - live_before;
        if (leaked != 0 && injected)
            print_failed_stack();
        if (leaked != 0)
            fail_msg("%s: allocation %ld failed: %ld block(s) not freed afterwards", ph->name, n, leaked);
        if (!injected)
            break;
    }
    return n - 1;
}

/* build: dc_sequential_new, the adds and compile, checked once at the end
 * (the documented idiom: a failed add marks the model, compile reports
 * it).  A model that failed is only freed. */
static dc_status call_build(world *w)
{
    w->m = new_model();
    if (!w->m)
        return dc_last_status();
    return compile(w->m);
}

static void build_ok(world *w) { assert_predicts(w, w->m, w->pred_compiled, "build"); }

/* compile: a model whose compile failed compiles again. */
static void setup_uncompiled(world *w)
{
    w->m = new_model();
    assert_non_null(w->m);
}

static dc_status call_compile(world *w) { return compile(w->m); }

static void compile_again(world *w)
{
    if (compile(w->m) != DC_OK)
        fail_msg("compile: again after a failure: %s", dc_errmsg());
    build_ok(w);
}

/* fit: one epoch with validation data and a ModelCheckpoint.  After a
 * failure the model is as before fit or as after the epoch's training
 * (nothing is allocated inside a step, so no state in between), and fits
 * again. */
static void setup_fit(world *w)
{
    w->m = compiled_model();
    dc_checkpoint_config cc = dc_checkpoint_defaults(w->ckpt_path);
    w->ckpt = dc_callback_model_checkpoint(&cc);
    assert_non_null(w->ckpt);
}

static dc_status call_fit(world *w)
{
    dc_fit_config c = fit_config(w);
    return dc_model_fit(w->m, w->x, w->y, &c, &w->history);
}

static void fit_ok(world *w)
{
    assert_non_null(w->history);
    assert_predicts(w, w->m, w->pred_fitted, "fit");
    struct stat sb;
    if (stat(w->ckpt_path, &sb) != 0)
        fail_msg("fit: the checkpoint was not written");
}

static void fit_again(world *w)
{
    if (w->history)
        fail_msg("fit: failed, yet set *history");
    dc_tensor *p = predict_x(w, w->m);
    int before = same_tensor(p, w->pred_compiled), after = same_tensor(p, w->pred_fitted);
    dc_tensor_free(p);
    if (!before && !after)
        fail_msg("fit: after a failure the model is neither as before fit nor as after the epoch");
    dc_fit_config c = fit_config(w);
    if (dc_model_fit(w->m, w->x, w->y, &c, &w->history) != DC_OK)
        fail_msg("fit: again after a failure: %s", dc_errmsg());
    if (before)
        fit_ok(w);
}

/* save: over an older file, which a failed save leaves as it was, and no
 * temporary file beside it. */
static const char old_content[] = "the previous file";

static void setup_save(world *w)
{
    w->m = fitted_model(w);
    write_file(w->target_path, old_content);
}

static dc_status call_save(world *w) { return dc_model_save(w->m, w->target_path, 1); }

static void assert_saved(world *w, const char *what)
{
    size_t len;
    char *got = read_file(w->target_path, &len);
    int same = len == w->saved_len && memcmp(got, w->saved, len) == 0;
    __real_free(got);
    if (!same)
        fail_msg("%s: the file differs from the uninjected save", what);
}

static void save_ok(world *w) { assert_saved(w, "save"); }

static void save_again(world *w)
{
    size_t len;
    char *got = read_file(w->target_path, &len);
    int kept = len == strlen(old_content) && memcmp(got, old_content, len) == 0;
    __real_free(got);
    if (!kept)
        fail_msg("save: a failed save changed the file it was replacing");
    if (count_files(w->dir) != 2)
        fail_msg("save: a failed save left %d files in its folder (expected the model and the target)",
                 count_files(w->dir));
    if (dc_model_save(w->m, w->target_path, 1) != DC_OK)
        fail_msg("save: again after a failure: %s", dc_errmsg());
    assert_saved(w, "save again");
}

/* load: a failed load makes no model. */
static dc_status call_load(world *w) { return dc_model_load(w->model_path, &w->m2); }

static void load_ok(world *w) { assert_predicts(w, w->m2, w->pred_fitted, "load"); }

static void load_again(world *w)
{
    if (w->m2)
        fail_msg("load: failed, yet set *out");
    if (dc_model_load(w->model_path, &w->m2) != DC_OK)
        fail_msg("load: again after a failure: %s", dc_errmsg());
    load_ok(w);
}

/* load_checkpoint: a failed one leaves the model as it was. */
static void setup_checkpoint(world *w) { w->m = compiled_model(); }

static dc_status call_checkpoint(world *w) { return dc_model_load_checkpoint(w->m, w->model_path); }

static void checkpoint_ok(world *w)
{
    assert_predicts(w, w->m, w->pred_fitted, "load_checkpoint");
    if (dc_model_epoch(w->m) != 1)
        fail_msg("load_checkpoint: epoch %d, saved 1", dc_model_epoch(w->m));
}

static void checkpoint_again(world *w)
{
    assert_predicts(w, w->m, w->pred_compiled, "load_checkpoint failed: the model changed");
    if (dc_model_epoch(w->m) != 0)
        fail_msg("load_checkpoint: failed, yet the epoch became %d", dc_model_epoch(w->m));
    if (dc_model_load_checkpoint(w->m, w->model_path) != DC_OK)
        fail_msg("load_checkpoint: again after a failure: %s", dc_errmsg());
    checkpoint_ok(w);
}

/* to_json / from_json, then compile: the JSON round trip. */
static dc_status call_json(world *w)
{
    char *json = NULL;
    dc_status st = dc_model_to_json(w->m, &json);
    if (st != DC_OK)
        return st;
    st = dc_model_from_json(json, strlen(json), &w->m2);
    free(json);
    return st;
}

static void setup_json(world *w) { w->m = compiled_model(); }

static void json_ok(world *w)
{
    char *json = NULL;
    assert_int_equal(dc_model_to_json(w->m2, &json), DC_OK);
    free(json);
}

static void json_again(world *w)
{
    if (w->m2)
        fail_msg("from_json: failed, yet set *out");
    if (call_json(w) != DC_OK)
        fail_msg("json: again after a failure: %s", dc_errmsg());
    json_ok(w);
}

/* predict on a loaded model. */
static void setup_predict(world *w) { assert_int_equal(dc_model_load(w->model_path, &w->m), DC_OK); }

static dc_status call_predict(world *w) { return dc_model_predict(w->m, w->x, 4, &w->out); }

static void predict_ok(world *w)
{
    if (!same_tensor(w->out, w->pred_fitted))
        fail_msg("predict: differs from the uninjected run's");
}

static void predict_again(world *w)
{
    if (w->out)
        fail_msg("predict: failed, yet set *out");
    assert_predicts(w, w->m, w->pred_fitted, "predict again");
}

static void run(void **state, const phase *ph)
{
    long failures = run_phase(*state, ph);
    print_message("%s: %ld allocations, each failed once\n", ph->name, failures);
    assert_true(failures > 0);
}

static void test_build(void **state) { run(state, &(phase){"build", NULL, call_build, NULL, build_ok}); }

static void test_compile(void **state)
{
    run(state, &(phase){"compile", setup_uncompiled, call_compile, compile_again, build_ok});
}

static void test_fit(void **state) { run(state, &(phase){"fit", setup_fit, call_fit, fit_again, fit_ok}); }

static void test_save(void **state) { run(state, &(phase){"save", setup_save, call_save, save_again, save_ok}); }

static void test_load(void **state) { run(state, &(phase){"load", NULL, call_load, load_again, load_ok}); }

static void test_load_checkpoint(void **state)
{
    run(state, &(phase){"load_checkpoint", setup_checkpoint, call_checkpoint, checkpoint_again, checkpoint_ok});
}

static void test_json(void **state) { run(state, &(phase){"json", setup_json, call_json, json_again, json_ok}); }

static void test_predict(void **state)
{
    run(state, &(phase){"predict", setup_predict, call_predict, predict_again, predict_ok});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),   cmocka_unit_test(test_compile),
        cmocka_unit_test(test_fit),     cmocka_unit_test(test_save),
        cmocka_unit_test(test_load),    cmocka_unit_test(test_load_checkpoint),
        cmocka_unit_test(test_json),    cmocka_unit_test(test_predict),
    };
    return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
