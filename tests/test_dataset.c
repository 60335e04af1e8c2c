/*
 * test_dataset.c - fit, evaluate and predict over a dc_loader against the
 * in-memory calls on the same data:
 *  - a loader of tensors (shuffled, with Dropout drawing from the model's
 *    RNG) trains bit-identically to dc_model_fit with the same seed: same
 *    weights, same History, same validation values; the same with 3 reader
 *    threads and a shallow queue, with a memory-mapped .npy loader, and with
 *    a callback loader (in order, shuffle off);
 *  - steps_per_epoch continues the stream: two half epochs = one epoch;
 *    resuming from a checkpoint (save with the optimiser, load, fit on)
 *    gives the weights of an uninterrupted run;
 *  - augmentation layers (RandomFlip, RandomTranslation) train the same
 *    from a loader as from tensors;
 *  - evaluate / predict over a loader equal evaluate / predict;
 *  - data parallelism: the readers read exactly a rank's slice of every
 *    batch (rank 1 of 2), each row once, in order with 2 threads;
 *  - errors: a callback's error reaches fit with its message, samples of
 *    the wrong shape, a loader without labels, bad prefetch arguments;
 *  - text_dataset_from_directory: Keras' order and labels, max_length,
 *    into the Tokenizer.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "model/model.h"
#include "data/dataset_internal.h"

#define N 203
#define BATCH 16

static dc_tensor *rand_tensor(int ndim, const int *shape, uint64_t seed, int classes)
{
    dc_tensor *t = dc_tensor_new(ndim, shape);
    assert_non_null(t);
    dc_rng r;
    dc_rng_seed(&r, seed);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = classes ? (float)dc_rng_below(&r, (uint32_t)classes) : dc_rng_normal(&r);
    return t;
}

static dc_model *make_model(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){6});
    assert_non_null(m);
    dc_model_add(m, dc_layer_dense(12, "relu"));
    dc_model_add(m, dc_layer_dropout(0.3f));
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1),
                     DC_OK);
    return m;
}

static void assert_same_weights(dc_model *a, dc_model *b, const char *what)
{
    size_t na, nb;
    float *pa = dc_graph_params(a->g, &na), *pb = dc_graph_params(b->g, &nb);
    assert_int_equal(na, nb);
    if (memcmp(pa, pb, na * sizeof(float)) != 0) {
        size_t i = 0;
        while (pa[i] == pb[i])
            i++;
        fail_msg("%s: weights differ at %zu: %.9g vs %.9g", what, i, (double)pa[i], (double)pb[i]);
    }
}

static void assert_same_history(const dc_history *a, const dc_history *b)
{
    assert_int_equal(a->epochs, b->epochs);
    assert_int_equal(a->n_keys, b->n_keys);
    for (int k = 0; k < a->n_keys; k++) {
        assert_string_equal(a->keys[k], b->keys[k]);
        for (int e = 0; e < a->epochs; e++)
            if (a->values[k][e] != b->values[k][e])
                fail_msg("history %s epoch %d: %.17g vs %.17g", a->keys[k], e, a->values[k][e], b->values[k][e]);
    }
}

typedef struct data {
    dc_tensor *x, *y, *xv, *yv;
} data;

static data make_data(void)
{
    data d;
    d.x = rand_tensor(2, (int[]){N, 6}, 1, 0);
    d.y = rand_tensor(1, (int[]){N}, 2, 3);
    d.xv = rand_tensor(2, (int[]){40, 6}, 3, 0);
    d.yv = rand_tensor(1, (int[]){40}, 4, 3);
    return d;
}

static void free_data(data *d)
{
    dc_tensor_free(d->x);
    dc_tensor_free(d->y);
    dc_tensor_free(d->xv);
    dc_tensor_free(d->yv);
}

/* In-memory fit of 3 epochs with validation_data. */
static dc_model *fit_in_memory(const data *d, int shuffle, dc_history **h)
{
    dc_model *m = make_model();
    dc_fit_config c = dc_fit_defaults();
    c.epochs = 3;
    c.batch_size = BATCH;
    c.shuffle = shuffle;
    c.verbose = 0;
    c.x_val = d->xv;
    c.y_val = d->yv;
    assert_int_equal(dc_model_fit(m, d->x, d->y, &c, h), DC_OK);
    return m;
}

static dc_model *fit_loader(dc_loader *train, dc_loader *val, int shuffle, dc_history **h)
{
    dc_model *m = make_model();
    dc_loader_fit_config c = dc_loader_fit_defaults();
    c.epochs = 3;
    c.shuffle = shuffle;
    c.verbose = 0;
    c.validation_data = val;
    if (dc_model_fit_loader(m, train, &c, h) != DC_OK)
        fail_msg("fit_loader: %s", dc_errmsg());
    return m;
}

static void test_tensors_bit_identical(void **state)
{
    (void)state;
    data d = make_data();
    dc_history *h0, *h1, *h2;
    dc_model *m0 = fit_in_memory(&d, 1, &h0);
    dc_loader *tr, *va;
    assert_int_equal(dc_loader_from_tensors(d.x, d.y, BATCH, 1, &tr), DC_OK);
    assert_int_equal(dc_loader_from_tensors(d.xv, d.yv, BATCH, 0, &va), DC_OK);
    dc_model *m1 = fit_loader(tr, va, 1, &h1);
    assert_same_weights(m0, m1, "loader of tensors");
    assert_same_history(h0, h1);
    /* more reader threads, a shallow queue: the same batches in the same order */
    assert_int_equal(dc_loader_set_prefetch(tr, 3, 2), DC_OK);
    dc_model *m2 = fit_loader(tr, va, 1, &h2);
    assert_same_weights(m0, m2, "3 workers");
    assert_same_history(h0, h2);
    /* evaluate and predict */
    double r0[2], r1[2];
    assert_int_equal(dc_model_evaluate(m0, d.xv, d.yv, BATCH, 0, r0, 2), DC_OK);
    assert_int_equal(dc_model_evaluate_loader(m0, va, 0, 0, r1, 2), DC_OK);
    assert_true(r0[0] == r1[0] && r0[1] == r1[1]);
    dc_tensor *p0, *p1;
    assert_int_equal(dc_model_predict(m0, d.xv, BATCH, &p0), DC_OK);
    assert_int_equal(dc_model_predict_loader(m0, va, 0, &p1), DC_OK);
    assert_int_equal(p0->size, p1->size);
    assert_memory_equal(p0->data, p1->data, p0->size * sizeof(float));
    dc_tensor_free(p0);
    dc_tensor_free(p1);
    dc_history_free(h0);
    dc_history_free(h1);
    dc_history_free(h2);
    dc_model_free(m0);
    dc_model_free(m1);
    dc_model_free(m2);
    dc_loader_free(tr);
    dc_loader_free(va);
    free_data(&d);
}

static void test_npy_bit_identical(void **state)
{
    (void)state;
    data d = make_data();
    char dir[] = "/tmp/deepc_npy_XXXXXX", xp[64], yp[64];
    assert_non_null(mkdtemp(dir));
    snprintf(xp, sizeof xp, "%s/x.npy", dir);
    snprintf(yp, sizeof yp, "%s/y.npy", dir);
    assert_int_equal(dc_npy_save(xp, d.x), DC_OK);
    assert_int_equal(dc_npy_save(yp, d.y), DC_OK);
    dc_history *h0, *h1;
    dc_model *m0 = fit_in_memory(&d, 1, &h0);
    dc_loader *tr, *va;
    assert_int_equal(dc_loader_from_npy(xp, yp, BATCH, 1, &tr), DC_OK);
    assert_int_equal(dc_loader_count(tr), N);
    assert_int_equal(dc_loader_from_tensors(d.xv, d.yv, BATCH, 0, &va), DC_OK);
    dc_model *m1 = fit_loader(tr, va, 1, &h1);
    assert_same_weights(m0, m1, "mapped .npy");
    assert_same_history(h0, h1);
    /* a truncated .npy is refused naming the file */
    FILE *f = fopen(xp, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 200), 0);
    fclose(f);
    dc_loader *bad;
    assert_int_not_equal(dc_loader_from_npy(xp, yp, BATCH, 1, &bad), DC_OK);
    assert_errmsg_contains("x.npy");
    unlink(xp);
    unlink(yp);
    rmdir(dir);
    dc_history_free(h0);
    dc_history_free(h1);
    dc_model_free(m0);
    dc_model_free(m1);
    dc_loader_free(tr);
    dc_loader_free(va);
    free_data(&d);
}

/* A generator over tensors: batch i is rows i * BATCH ... in order. */
typedef struct gen {
    const data *d;
    int calls, fail_at;
} gen;

static dc_status gen_batch(void *user, int index, dc_tensor *x, dc_tensor *y, int *rows)
{
    gen *g = user;
    g->calls++;
    if (index == g->fail_at)
        return dc_fail(DC_ERR_IO, "gen: the source went away at batch %d", index);
    int start = index * BATCH, b = N - start < BATCH ? N - start : BATCH;
    memcpy(x->data, g->d->x->data + (size_t)start * 6, (size_t)b * 6 * sizeof(float));
    memcpy(y->data, g->d->y->data + start, (size_t)b * sizeof(float));
    *rows = b;
    return DC_OK;
}

static void test_callback(void **state)
{
    (void)state;
    data d = make_data();
    dc_history *h0, *h1;
    dc_model *m0 = fit_in_memory(&d, 0, &h0);
    gen g = {&d, 0, -1};
    dc_loader *tr, *va;
    int nb = (N - 1) / BATCH + 1;
    assert_int_equal(dc_loader_from_callback(nb, BATCH, 1, (int[]){6}, 0, NULL, gen_batch, &g, &tr), DC_OK);
    assert_int_equal(dc_loader_from_tensors(d.xv, d.yv, BATCH, 0, &va), DC_OK);
    dc_model *m1 = fit_loader(tr, va, 1, &h1); /* shuffle asked for: a callback's batches stay in order */
    assert_same_weights(m0, m1, "callback");
    assert_same_history(h0, h1);
    assert_int_equal(g.calls, 3 * nb);
    /* an error in the callback stops fit with its message */
    g.fail_at = 5;
    dc_model *m2 = make_model();
    dc_loader_fit_config c = dc_loader_fit_defaults();
    c.verbose = 0;
    assert_int_equal(dc_model_fit_loader(m2, tr, &c, NULL), DC_ERR_IO);
    assert_errmsg_contains("the source went away at batch 5");
    dc_model_free(m2);
    dc_history_free(h0);
    dc_history_free(h1);
    dc_model_free(m0);
    dc_model_free(m1);
    dc_loader_free(tr);
    dc_loader_free(va);
    free_data(&d);
}

static void test_steps_and_resume(void **state)
{
    (void)state;
    data d = make_data();
    dc_loader *tr;
    /* 192 samples = 12 batches of 16 */
    dc_tensor *x = tensor_rows(d.x, 0, 192), *y = tensor_rows(d.y, 0, 192);
    assert_int_equal(dc_loader_from_tensors(x, y, BATCH, 1, &tr), DC_OK);
    dc_model *a = make_model(), *b = make_model();
    dc_loader_fit_config c = dc_loader_fit_defaults();
    c.verbose = 0;
    assert_int_equal(dc_model_fit_loader(a, tr, &c, NULL), DC_OK);
    c.epochs = 2;
    c.steps_per_epoch = 6;
    assert_int_equal(dc_model_fit_loader(b, tr, &c, NULL), DC_OK);
    assert_same_weights(a, b, "two epochs of 6 steps = one of 12");
    /* resume: 4 epochs straight, or 2 then save, load and 2 more */
    dc_model *full = make_model(), *half = make_model(), *resumed = NULL;
    c = dc_loader_fit_defaults();
    c.verbose = 0;
    c.epochs = 4;
    assert_int_equal(dc_model_fit_loader(full, tr, &c, NULL), DC_OK);
    c.epochs = 2;
    assert_int_equal(dc_model_fit_loader(half, tr, &c, NULL), DC_OK);
    char path[] = "/tmp/deepc_resume_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dc_model_save(half, path, 1), DC_OK);
    assert_int_equal(dc_model_load(path, &resumed), DC_OK);
    unlink(path);
    dc_model_set_threads(resumed, 1);
    c.epochs = 4;
    c.initial_epoch = 2;
    assert_int_equal(dc_model_fit_loader(resumed, tr, &c, NULL), DC_OK);
    assert_same_weights(full, resumed, "resumed from a checkpoint");
    dc_model_free(a);
    dc_model_free(b);
    dc_model_free(full);
    dc_model_free(half);
    dc_model_free(resumed);
    dc_loader_free(tr);
    dc_tensor_free(x);
    dc_tensor_free(y);
    free_data(&d);
}

static void test_errors(void **state)
{
    (void)state;
    data d = make_data();
    dc_model *m = make_model();
    dc_loader *ds;
    dc_tensor *x5 = rand_tensor(2, (int[]){10, 5}, 9, 0);
    dc_loader_fit_config c = dc_loader_fit_defaults();
    c.verbose = 0;
    assert_int_equal(dc_loader_from_tensors(d.x, NULL, 4, 0, &ds), DC_OK);
    assert_int_equal(dc_model_fit_loader(m, ds, &c, NULL), DC_ERR_ARG); /* no labels */
    assert_errmsg_contains("no labels");
    dc_loader_free(ds);
    assert_int_equal(dc_loader_from_tensors(x5, NULL, 4, 0, &ds), DC_OK);
    dc_tensor *out;
    assert_int_equal(dc_model_predict_loader(m, ds, 0, &out), DC_ERR_SHAPE); /* (5,) samples, model takes (6,) */
    assert_errmsg_contains("samples are (5,)");
    assert_int_equal(dc_loader_set_prefetch(ds, 0, 4), DC_ERR_ARG);
    assert_int_equal(dc_loader_set_prefetch(ds, 2, 0), DC_ERR_ARG);
    dc_loader_free(ds);
    assert_int_equal(dc_loader_from_tensors(d.x, d.y, 0, 0, &ds), DC_ERR_ARG); /* batch 0 */
    assert_null(ds);
    /* a label out of range in a batch */
    d.y->data[100] = 7;
    assert_int_equal(dc_loader_from_tensors(d.x, d.y, BATCH, 0, &ds), DC_OK);
    assert_int_not_equal(dc_model_fit_loader(m, ds, &c, NULL), DC_OK);
    assert_errmsg_contains("7");
    dc_loader_free(ds);
    dc_tensor_free(x5);
    dc_model_free(m);
    free_data(&d);
}

static void write_text(const char *root, const char *rel, const char *text)
{
    char path[1024], buf[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0777);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_text_dir(void **state)
{
    (void)state;
    char root[] = "/tmp/deepc_textdir_XXXXXX";
    assert_non_null(mkdtemp(root));
    write_text(root, "pos/b.txt", "good good film");
    write_text(root, "pos/a.TXT", "great film");
    write_text(root, "neg/x.txt", "bad film");
    write_text(root, "neg/deep/y.txt", "awful awful bad");
    write_text(root, "neg/skip.md", "not a text file by extension");
    dc_text_dir_config c = dc_text_dir_defaults();
    c.verbose = 0;
    c.shuffle = 0;
    c.label_mode = DC_LABEL_BINARY;
    dc_text_files *t;
    assert_int_equal(dc_text_dataset_from_directory(root, &c, &t, NULL), DC_OK);
    assert_int_equal(t->n, 4);
    assert_int_equal(t->n_classes, 2);
    assert_string_equal(t->class_names[0], "neg");
    assert_string_equal(t->class_names[1], "pos");
    /* os.walk roots sorted: neg before neg/deep; files sorted: a.TXT before b.txt */
    assert_string_equal(t->texts[0], "bad film");
    assert_string_equal(t->texts[1], "awful awful bad");
    assert_string_equal(t->texts[2], "great film");
    assert_string_equal(t->texts[3], "good good film");
    dc_tensor *y;
    assert_int_equal(dc_text_files_labels(t, &y), DC_OK);
    assert_int_equal(y->shape[1], 1);
    assert_true(y->data[0] == 0 && y->data[1] == 0 && y->data[2] == 1 && y->data[3] == 1);
    dc_tensor_free(y);
    /* into the tokenizer */
    dc_tokenizer *tok = dc_tokenizer_new(NULL);
    assert_non_null(tok);
    assert_int_equal(dc_tokenizer_fit_on_texts(tok, (const char *const *)t->texts, t->n), DC_OK);
    assert_int_equal(dc_tokenizer_word_index(tok, "film"), 1);
    dc_tokenizer_free(tok);
    /* the file prefetcher forced on (dataset_prefetch.c): the same texts */
    setenv("DEEPC_PREFETCH", "on", 1);
    dc_text_files *t2;
    assert_int_equal(dc_text_dataset_from_directory(root, &c, &t2, NULL), DC_OK);
    unsetenv("DEEPC_PREFETCH");
    assert_int_equal(t2->n, t->n);
    for (int i = 0; i < t->n; i++)
        assert_string_equal(t2->texts[i], t->texts[i]);
    dc_text_files_free(t2);
    dc_text_files_free(t);
    c.max_length = 4;
    c.shuffle = 1;
    c.seed = 3;
    c.validation_split = 0.5f;
    c.subset = DC_SUBSET_BOTH;
    dc_text_files *tv;
    assert_int_equal(dc_text_dataset_from_directory(root, &c, &t, &tv), DC_OK);
    assert_int_equal(t->n, 2);
    assert_int_equal(tv->n, 2);
    assert_true(strlen(t->texts[0]) <= 4);
    dc_text_files_free(t);
    dc_text_files_free(tv);
    c.seed = DC_SEED_NONE;
    assert_int_equal(dc_text_dataset_from_directory(root, &c, &t, &tv), DC_ERR_ARG);
    assert_errmsg_contains("text_dataset_from_directory: if using `validation_split` and shuffling");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* Augmentation layers are model layers: RandomFlip and RandomTranslation
 * draw from the model's RNG in fit whichever way the batches arrive, so a
 * loader of images trains bit-identically to fit on the same tensors. */
static dc_model *augment_model(void)
{
    dc_model *m = dc_sequential_new(3, (int[]){6, 6, 1});
    assert_non_null(m);
    const float t[2] = {-0.2f, 0.2f};
    dc_model_add(m, dc_layer_random_flip("horizontal"));
    dc_model_add(m, dc_layer_random_translation(t, t, NULL, NULL, 0.0f));
    dc_model_add(m, dc_layer_conv2d(2, 3, 3, "relu"));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    dc_model_set_seed(m, 5);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1),
                     DC_OK);
    return m;
}

static void test_augmentation(void **state)
{
    (void)state;
    dc_tensor *x = rand_tensor(4, (int[]){50, 6, 6, 1}, 11, 0), *y = rand_tensor(1, (int[]){50}, 12, 3);
    dc_model *a = augment_model(), *b = augment_model();
    dc_fit_config c = dc_fit_defaults();
    c.epochs = 2;
    c.batch_size = 8;
    c.verbose = 0;
    assert_int_equal(dc_model_fit(a, x, y, &c, NULL), DC_OK);
    dc_loader *ds;
    assert_int_equal(dc_loader_from_tensors(x, y, 8, 1, &ds), DC_OK);
    dc_loader_fit_config lc = dc_loader_fit_defaults();
    lc.epochs = 2;
    lc.verbose = 0;
    assert_int_equal(dc_model_fit_loader(b, ds, &lc, NULL), DC_OK);
    assert_same_weights(a, b, "augmentation layers");
    dc_model_free(a);
    dc_model_free(b);
    dc_loader_free(ds);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* ---- data parallelism: each rank reads only its slice ---- */

/* A per-sample source that counts the rows it was asked for. */
typedef struct counting {
    const dc_tensor *x, *y;
    int *reads;
} counting;

static dc_status counting_row(const dc_loader *ds, int i, float *x, float *y)
{
    const counting *c = ds->source;
    __atomic_add_fetch(&c->reads[i], 1, __ATOMIC_RELAXED);
    memcpy(x, c->x->data + (size_t)i * 6, 6 * sizeof(float));
    y[0] = c->y->data[i];
    return DC_OK;
}

/* fit_dataset.c gives the readers each batch's rows with this rank's slice
 * (dc_replica_slice); the readers then read those rows and no others: rank
 * 1 of 2 (its slice the last b / 2 rows of b), 2 threads, a shallow queue. */
static void test_rank_reads_its_slice(void **state)
{
    (void)state;
    data d = make_data();
    int reads[N] = {0};
    counting src = {d.x, d.y, reads};
    dc_loader *ds = dc_loader_alloc("counting", BATCH, 1, (int[]){6}, 0, NULL);
    assert_non_null(ds);
    ds->n = N;
    ds->fill_row = counting_row;
    ds->source = &src;
    assert_int_equal(dc_loader_set_prefetch(ds, 2, 3), DC_OK);
    int order[N], nb = (N - 1) / BATCH + 1, want = 0;
    for (int i = 0; i < N; i++)
        order[i] = (i * 37) % N; /* a permutation: 37 and 203 are coprime */
    dc_batch_job jobs[(N - 1) / BATCH + 1];
    for (int s = 0; s < nb; s++) {
        int b = N - s * BATCH < BATCH ? N - s * BATCH : BATCH;
        jobs[s] = (dc_batch_job){s * BATCH, b, (b + 1) / 2, b / 2, s};
        want += b / 2;
    }
    dc_pipe *p;
    assert_int_equal(dc_pipe_start(ds, order, jobs, nb, &p), DC_OK);
    for (int s = 0; s < nb; s++) {
        dc_tensor *x, *y;
        int rows;
        assert_int_equal(dc_pipe_next(p, &x, &y, &rows), DC_OK);
        assert_int_equal(rows, jobs[s].b);
        for (int r = jobs[s].off; r < jobs[s].off + jobs[s].len; r++) {
            int i = order[s * BATCH + r];
            assert_memory_equal(x->data + (size_t)r * 6, d.x->data + (size_t)i * 6, 6 * sizeof(float));
            assert_float_equal(y->data[r], d.y->data[i], 0);
        }
        dc_pipe_release(p);
    }
    dc_pipe_stop(p);
    /* rows outside the slice are never read; a row of it may be read twice
     * when the reader revoked a slow worker's chunk (test_revoked_chunk) */
    int total = 0;
    for (int s = 0; s < nb; s++)
        for (int r = 0; r < jobs[s].b; r++) {
            int i = order[s * BATCH + r], mine = r >= jobs[s].off;
            if (mine)
                assert_true(reads[i] >= 1);
            else
                assert_int_equal(reads[i], 0);
            total += reads[i];
        }
    assert_true(total >= want);
    ds->source = NULL;
    dc_loader_free(ds);
    free_data(&d);
}

/* ---- the reader does not wait on a stalled worker ---- */

/* A per-sample source whose first row read on a pipeline worker (not the
 * reader's thread, not its OpenMP team) stalls until the test lets it go,
 * as a SCHED_IDLE worker left off the CPU by a busy machine would. */
typedef struct stalling {
    const dc_tensor *x, *y;
    int *reads;
    pthread_t reader;
    int stalled, release, woke; /* atomics */
} stalling;

static dc_status stalling_row(const dc_loader *ds, int i, float *x, float *y)
{
    stalling *c = ds->source;
    int on_worker = !pthread_equal(pthread_self(), c->reader) && !omp_in_parallel();
    if (on_worker && !__atomic_exchange_n(&c->stalled, 1, __ATOMIC_SEQ_CST)) {
        while (!__atomic_load_n(&c->release, __ATOMIC_SEQ_CST))
            usleep(1000);
        __atomic_store_n(&c->woke, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(&c->reads[i], 1, __ATOMIC_RELAXED);
    memcpy(x, c->x->data + (size_t)i * 6, 6 * sizeof(float));
    y[0] = c->y->data[i];
    return DC_OK;
}

/* The worker stalls inside its first chunk (of batch 0) before the reader
 * asks for batch 0: the reader fills the rest, finds that chunk still out,
 * revokes it and fills it itself, so batch 0 arrives while the worker is
 * still stalled; the worker's late copy is then dropped, not written over
 * a batch that reuses the buffer. */
static void test_revoked_chunk(void **state)
{
    (void)state;
    data d = make_data();
    int reads[N] = {0};
    stalling src = {d.x, d.y, reads, pthread_self(), 0, 0, 0};
    dc_loader *ds = dc_loader_alloc("stalling", BATCH, 1, (int[]){6}, 0, NULL);
    assert_non_null(ds);
    ds->n = N;
    ds->fill_row = stalling_row;
    ds->source = &src;
    assert_int_equal(dc_loader_set_prefetch(ds, 1, 2), DC_OK);
    int nb = (N - 1) / BATCH + 1;
    dc_batch_job jobs[(N - 1) / BATCH + 1];
    for (int s = 0; s < nb; s++) {
        int b = N - s * BATCH < BATCH ? N - s * BATCH : BATCH;
        jobs[s] = (dc_batch_job){s * BATCH, b, 0, b, s};
    }
    dc_pipe *p;
    assert_int_equal(dc_pipe_start(ds, NULL, jobs, nb, &p), DC_OK);
    while (!__atomic_load_n(&src.stalled, __ATOMIC_SEQ_CST))
        usleep(1000);
    for (int s = 0; s < nb; s++) {
        dc_tensor *x, *y;
        int rows;
        assert_int_equal(dc_pipe_next(p, &x, &y, &rows), DC_OK);
        if (s == 0) { /* here while the worker is stalled: the reader filled its chunk */
            assert_int_equal(__atomic_load_n(&src.woke, __ATOMIC_SEQ_CST), 0);
            __atomic_store_n(&src.release, 1, __ATOMIC_SEQ_CST);
        }
        if (s == 1) /* the late copy has had its chance to land (it must not) */
            while (!__atomic_load_n(&src.woke, __ATOMIC_SEQ_CST))
                usleep(1000);
        assert_int_equal(rows, jobs[s].b);
        for (int r = 0; r < jobs[s].b; r++) {
            int i = s * BATCH + r;
            assert_memory_equal(x->data + (size_t)r * 6, d.x->data + (size_t)i * 6, 6 * sizeof(float));
            assert_float_equal(y->data[r], d.y->data[i], 0);
        }
        dc_pipe_release(p);
    }
    dc_pipe_stop(p);
    int twice = 0;
    for (int i = 0; i < N; i++) {
        assert_true(reads[i] == 1 || reads[i] == 2);
        twice += reads[i] == 2;
    }
    assert_true(twice >= 1); /* the revoked chunk, read by both */
    ds->source = NULL;
    dc_loader_free(ds);
    free_data(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensors_bit_identical), cmocka_unit_test(test_npy_bit_identical),
        cmocka_unit_test(test_callback),              cmocka_unit_test(test_steps_and_resume),
        cmocka_unit_test(test_errors),                cmocka_unit_test(test_text_dir),
        cmocka_unit_test(test_rank_reads_its_slice),  cmocka_unit_test(test_augmentation),
        cmocka_unit_test(test_revoked_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
