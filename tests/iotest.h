/*
 * iotest.h - helpers shared by test_io.c and test_callbacks.c: a scratch
 * folder per test, small models, and data.  Header-only (static) so the
 * test glob stays one executable per test file.
 */
#ifndef DC_IOTEST_H
#define DC_IOTEST_H

#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new empty folder under /tmp; rm_dir removes it and its files. */
static inline char *make_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/deepc_test_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static inline int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static inline void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static inline char *join(const char *dir, const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* Runs `/usr/bin/python3 args` with its output in dir/out.txt; returns the
 * output (a static buffer), failing the test with it if the command failed. */
static inline const char *run_python_check(const char *dir, const char *args, const char *what)
{
    static char text[4096];
    char cmd[2048], out[512];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s > %s 2>&1", args, out);
    int rc = system(cmd);
    FILE *fp = fopen(out, "r");
    assert_non_null(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    if (rc != 0)
        fail_msg("%s: %s", what, text);
    return text;
}

/* n samples of `features` values in [-1, 1) and integer labels below `classes`. */
static inline void random_data(int n, int features, int classes, uint64_t seed, dc_tensor **x, dc_tensor **y)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    *x = dc_tensor_new4(2, n, features, 0, 0);
    *y = dc_tensor_new4(1, n, 0, 0, 0);
    for (size_t i = 0; i < (*x)->size; i++)
        (*x)->data[i] = 2.0f * dc_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < n; i++) {
        float s = (*x)->data[(size_t)i * (size_t)features];
        (*y)->data[i] = (float)((int)((s + 1.0f) * 0.5f * (float)classes) % classes);
    }
}

/* Dense(16, relu) -> BatchNormalization -> Dropout(0.3) -> Dense(classes, softmax), compiled with Adam. */
static inline dc_model *small_classifier(int features, int classes, uint64_t seed)
{
    dc_model *m = dc_sequential_new(1, &features);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(16, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_batch_normalization()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dropout(0.3f)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(classes, "softmax")), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    return m;
}

/* A tagger: Embedding(vocab, embed, mask_zero) -> LSTM(units,
 * return_sequences) -> Dense(classes, softmax) on every step, compiled with
 * Adam, `loss` and accuracy; one thread. */
static inline dc_model *tagger_model(int steps, int vocab, int embed, int units, int classes, const char *loss,
                                     uint64_t seed)
{
    dc_model *m = dc_sequential_new(1, &steps);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    dc_rnn_config lstm = dc_rnn_defaults(DC_RNN_LSTM, units);
    lstm.return_sequences = 1;
    assert_int_equal(dc_model_add(m, dc_layer_embedding(vocab, embed, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&lstm)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(classes, "softmax")), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, "adam", loss, metrics, 1), DC_OK);
    return m;
}

static inline dc_fit_config quiet_fit(int epochs, int batch)
{
    dc_fit_config c = dc_fit_defaults();
    c.epochs = epochs;
    c.batch_size = batch;
    c.verbose = 0;
    return c;
}

/* Asserts that two models predict exactly the same floats on x. */
static inline void assert_same_predictions(dc_model *a, dc_model *b, const dc_tensor *x)
{
    dc_tensor *pa, *pb;
    assert_int_equal(dc_model_predict(a, x, 7, &pa), DC_OK);
    assert_int_equal(dc_model_predict(b, x, 7, &pb), DC_OK);
    assert_int_equal(pa->size, pb->size);
    assert_memory_equal(pa->data, pb->data, pa->size * sizeof(float));
    dc_tensor_free(pa);
    dc_tensor_free(pb);
}

/* Saves m to path, loads it back, checks the same predictions on x and the
 * same JSON; returns that JSON (the caller frees it). */
static inline char *assert_save_load_same(dc_model *m, const char *path, const dc_tensor *x)
{
    dc_model *loaded = NULL;
    char *a, *b;
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    if (dc_model_load(path, &loaded) != DC_OK)
        fail_msg("load %s: %s", path, dc_errmsg());
    assert_same_predictions(m, loaded, x);
    assert_int_equal(dc_model_to_json(m, &a), DC_OK);
    assert_int_equal(dc_model_to_json(loaded, &b), DC_OK);
    assert_string_equal(a, b);
    free(b);
    dc_model_free(loaded);
    return a;
}

/* Whether the summary s has the row `field` (name and type), `shape`,
 * `params`, reading a field that tf-keras wrapped onto the next lines (whose
 * shape and Param # columns are blank) as one. */
static inline int summary_has_row(const char *s, const char *field, const char *shape, long params)
{
    enum { SHAPE_AT = 29, PARAMS_AT = 55 };
    for (const char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t len = strcspn(line, "\n");
        if (len <= PARAMS_AT || line[0] != ' ' || line[SHAPE_AT] == ' ')
            continue;
        char got[160] = "", want_shape[32];
        snprintf(want_shape, sizeof want_shape, "%-25s", shape);
        if (strncmp(line + SHAPE_AT, want_shape, 25) != 0 || strtol(line + PARAMS_AT, NULL, 10) != params)
            continue;
        /* the first column of this line and of its continuation lines */
        for (const char *l = line; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (l != line && (strcspn(l, "\n") < SHAPE_AT || l[SHAPE_AT] != ' ' || strspn(l + 1, " ") >= 27))
                break;
            int n = 27;
            while (n > 0 && l[n] == ' ')
                n--;
            strncat(got, l + 1, (size_t)n);
        }
        if (strcmp(got, field) == 0)
            return 1;
    }
    return 0;
}

/* Saves m (with the optimiser when include_optimizer) into dir and loads it
 * back, then rebuilds it from its JSON with its saved weights (compiled with
 * adam, `loss` and `metric`, NULL for none): both predict exactly as m on x
 * and the loaded one gives the same JSON.  Returns m's JSON (caller frees). */
static inline char *assert_round_trip(dc_model *m, const dc_tensor *x, const char *dir, int include_optimizer,
                                      const char *loss, const char *metric)
{
    dc_model *loaded, *fresh;
    assert_int_equal(dc_model_save(m, join(dir, "m.safetensors"), include_optimizer), DC_OK);
    assert_int_equal(dc_model_load(join(dir, "m.safetensors"), &loaded), DC_OK);
    assert_same_predictions(m, loaded, x);
    char *a, *b;
    assert_int_equal(dc_model_to_json(m, &a), DC_OK);
    assert_int_equal(dc_model_to_json(loaded, &b), DC_OK);
    assert_string_equal(a, b);
    /* Weights alone, into a model rebuilt from the JSON. */
    assert_int_equal(dc_model_save_weights(m, join(dir, "w.safetensors")), DC_OK);
    assert_int_equal(dc_model_from_json(a, strlen(a), &fresh), DC_OK);
    assert_int_equal(dc_model_compile(fresh, "adam", loss, metric ? &metric : NULL, metric ? 1 : 0), DC_OK);
    assert_int_equal(dc_model_load_weights(fresh, join(dir, "w.safetensors")), DC_OK);
    assert_same_predictions(m, fresh, x);
    free(b);
    dc_model_free(loaded);
    dc_model_free(fresh);
    return a;
}

/* Sets every parameter to v; the first parameter's value. */
static inline void fill_params(dc_model *m, float v)
{
    size_t n;
    float *p = dc_graph_params(dc_model_graph(m), &n);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
}

static inline float first_param(dc_model *m) { return dc_graph_params(dc_model_graph(m), NULL)[0]; }

#endif
