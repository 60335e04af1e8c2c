/*
 * null_fixture.h - the valid arguments of the generated NULL-argument test
 * (tests/gen_null_test.py writes test_null_args.c, which includes this after
 * the public headers).  Each case gets a fresh fixture: a compiled model, a
 * graph with an input node, tensors, a fitted tokenizer, a History, an
 * optimiser, configs at their defaults, and paths of valid files (a model, its
 * weights, a CSV, an IDX, a .npy, a tokenizer) written once in a temporary
 * directory, so each call fails because of its NULL argument alone.
 *
 * Each case arms a sentinel message first; the checks then see that the call
 * replaced it with one saying "<parameter> is NULL" (the policy at the top of
 * include/deepc.h), not just that it failed for some older reason.
 */
#ifndef DC_NULL_FIXTURE_H
#define DC_NULL_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "core/core.h"

#define SENTINEL "null-test sentinel: no message was set"

/* A call of the fixture that must succeed; fails the test with its message. */
#define MUST(call)                                                                           \
    do {                                                                                     \
        dc_status must_st = (call);                                                          \
        if (must_st != DC_OK)                                                                \
            fail_msg("%s: %s: %s", #call, dc_status_str(must_st), dc_errmsg());             \
    } while (0)

/* The files every case may read, written once. */
static struct {
    char dir[64];
    char path_new[128], path_idx[128], path_csv[128], path_npy[128], path_tok[128];
    char path_model[128], path_weights[128], path_png[128];
    char *model_json, *tok_json;
    char *npy_bytes;
    size_t npy_len;
} files;

typedef struct fx {
    dc_model *model, *model_out, *fmodel;
    dc_layer *norm_layer;
    dc_tensor *x, *xm, *y, *sw;
    const dc_tensor *xs[1];
    dc_tensor *t_out[8];
    dc_u8array *u8, *u8_out;
    dc_array *arr, *arr_out;
    dc_scaler *scaler, *scaler_out;
    dc_tokenizer *tok, *tok_out;
    dc_sequences *seqs, *seq_out;
    char *str_out;
    char **texts_out;
    dc_history *hist, *hist_out;
    dc_csv_info info;
    dc_dataset ds;
    dc_text_dataset tds;
    dc_csv_config csv_cfg;
    dc_graph *g;
    dc_node *nx;
    dc_rng rng;
    dc_optimizer *opt;
    dc_optimizer_config opt_cfg, opt_cfg_out;
    float fbuf[64], fones[64], range2[2];
    const float *rows[1];
    double dbuf[8];
    size_t count, starts[1];
    int ibuf[DC_MAX_DIMS], ints[DC_MAX_DIMS];
    long longs[1];
    const char *texts[2], *metrics[1], *class_names[2];
    char strbuf[64];
    dc_act act;
    dc_loss_kind loss_kind;
    dc_init init;
    dc_layer_norm_config ln_cfg;
    dc_dense_config dense_cfg;
    dc_conv_config conv_cfg;
    dc_depthwise_config dw_cfg; /* DepthwiseConv2D / SeparableConv2D */
    dc_rnn_config rnn_cfg;
    dc_loss_args loss_args;
    dc_tokenizer_config tok_cfg;
    dc_pad_config pad_cfg;
    dc_compile_config compile_cfg;
    dc_fit_config fit_cfg;
    dc_lr_schedule schedule;
    dc_checkpoint_config ckpt_cfg;
    dc_early_stopping_config es_cfg;
    dc_reduce_lr_config rlr_cfg;
    dc_collective collective;
#ifdef DEEPC_PLOT_H
    dc_plot_config plot_cfg;
#endif
    dc_logs logs;
    FILE *devnull;
    const char *dir, *path_new, *path_idx, *path_csv, *path_npy, *path_tok, *path_model, *path_weights, *path_png;
    const char *csv_text, *model_json, *tok_json;
    const void *npy_bytes;
    size_t npy_len;
    /* datasets from disk (issue 21) */
    dc_loader *loader, *loader_out;
    dc_image_dir_config imgdir_cfg;
    dc_text_dir_config textdir_cfg;
    dc_text_files *tfiles, *tfiles_out;
    dc_loader_fit_config loader_fit_cfg;
} fx;

/* A loader callback that yields one row of zeros (issue 21). */
static dc_status null_batch_fn(void *user, int index, dc_tensor *x, dc_tensor *y, int *rows)
{
    (void)user, (void)index, (void)x, (void)y;
    *rows = 1;
    return DC_OK;
}

static float schedule_halve(int epoch, float lr, void *user)
{
    (void)epoch;
    (void)user;
    return lr * 0.5f;
}

static dc_status sum_f32_one(float *buf, size_t count, void *user)
{
    (void)buf, (void)count, (void)user;
    return DC_OK;
}
static dc_status sum_f64_one(double *buf, size_t count, void *user)
{
    (void)buf, (void)count, (void)user;
    return DC_OK;
}
static dc_status bcast_f32_one(float *buf, size_t count, int root, void *user)
{
    (void)buf, (void)count, (void)root, (void)user;
    return DC_OK;
}

/* Dense(2) on 3 features, compiled with SGD and MSE, metric mae. */
static dc_model *small_model(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){3});
    assert_non_null(m);
    dc_model_set_threads(m, 1);
    MUST(dc_model_add(m, dc_layer_dense(2, NULL)));
    MUST(dc_model_compile(m, "sgd", "mse", (const char *[]){"mae"}, 1));
    return m;
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int files_setup(void **state)
{
    (void)state;
    snprintf(files.dir, sizeof files.dir, "/tmp/deepc_null_XXXXXX");
    assert_non_null(mkdtemp(files.dir));
    /* the allowed NULL cache_dir of the dataset loaders: an empty cache, no fetching */
    setenv("DEEPC_CACHE", files.dir, 1);
    setenv("DEEPC_OFFLINE", "1", 1);
#define PATH(field, name) snprintf(files.field, sizeof files.field, "%s/%s", files.dir, name)
    PATH(path_new, "new.bin");
    PATH(path_idx, "a.idx");
    PATH(path_csv, "a.csv");
    PATH(path_npy, "a.npy");
    PATH(path_tok, "tok.json");
    PATH(path_model, "model.safetensors");
    PATH(path_weights, "model.weights.safetensors");
    PATH(path_png, "plot.png");
#undef PATH
    static const unsigned char idx[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
    write_file(files.path_idx, idx, sizeof idx);
    static const char csv[] = "a,b,c,y\n1,2,3,0\n4,5,6,1\n";
    write_file(files.path_csv, csv, sizeof csv - 1);
    dc_tensor *t = dc_tensor_new4(2, 2, 3, 0, 0);
    MUST(dc_npy_save(files.path_npy, t));
    dc_tensor_free(t);
    FILE *f = fopen(files.path_npy, "rb");
    assert_non_null(f);
    files.npy_bytes = malloc(4096);
    files.npy_len = fread(files.npy_bytes, 1, 4096, f);
    fclose(f);
    dc_tokenizer *tok = dc_tokenizer_new(NULL);
    MUST(dc_tokenizer_fit_on_texts(tok, (const char *[]){"a b", "b c"}, 2));
    MUST(dc_tokenizer_save(tok, files.path_tok));
    MUST(dc_tokenizer_to_json(tok, &files.tok_json));
    dc_tokenizer_free(tok);
    dc_model *m = small_model();
    MUST(dc_model_save(m, files.path_model, 1));
    MUST(dc_model_save_weights(m, files.path_weights));
    MUST(dc_model_to_json(m, &files.model_json));
    dc_model_free(m);
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int files_teardown(void **state)
{
    (void)state;
    nftw(files.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(files.model_json);
    free(files.tok_json);
    free(files.npy_bytes);
    return 0;
}

static int fx_setup(void **state)
{
    fx *F = calloc(1, sizeof *F);
    assert_non_null(F);
    F->model = small_model();
    F->fmodel = dc_functional_new(1, (int[]){3});
    F->norm_layer = dc_layer_normalization();
    F->x = dc_tensor_from(2, (int[]){4, 3}, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3});
    F->xm = dc_tensor_clone(F->x);
    F->y = dc_tensor_from(2, (int[]){4, 2}, (float[]){1, 0, 0, 1, 1, 0, 0, 1});
    F->sw = dc_tensor_from(1, (int[]){4}, (float[]){1, 1, 1, 1});
    F->xs[0] = F->x;
    MUST(dc_idx_load(files.path_idx, &F->u8));
    F->arr = dc_array_new(DC_DTYPE_FLOAT32, 1, (int[]){2});
    MUST(dc_scaler_fit(F->x, &F->scaler));
    F->texts[0] = "a b";
    F->texts[1] = "b c";
    F->tok = dc_tokenizer_new(NULL);
    MUST(dc_tokenizer_fit_on_texts(F->tok, F->texts, 2));
    MUST(dc_tokenizer_texts_to_sequences(F->tok, F->texts, 2, &F->seqs));
    F->fit_cfg = dc_fit_defaults();
    F->fit_cfg.verbose = 0;
    F->fit_cfg.batch_size = 2;
    dc_model *fitted = small_model();
    MUST(dc_model_fit(fitted, F->x, F->y, &F->fit_cfg, &F->hist));
    dc_model_free(fitted);
    F->csv_cfg = dc_csv_defaults();
    F->g = dc_graph_new();
    F->nx = dc_input(F->g, 1, 1, (int[]){3}, "x");
    assert_non_null(F->nx);
    dc_rng_seed(&F->rng, 1);
    F->opt_cfg = dc_optimizer_defaults(DC_OPT_SGD);
    F->opt = dc_optimizer_new(&F->opt_cfg, 4);
    assert_non_null(F->opt);
    for (int i = 0; i < 64; i++)
        F->fones[i] = 1.0f;
    F->range2[0] = 0.1f;
    F->range2[1] = 0.2f;
    F->rows[0] = F->fones;
    F->count = 4;
    for (int i = 0; i < DC_MAX_DIMS; i++)
        F->ints[i] = 1;
    F->longs[0] = 10;
    F->metrics[0] = "mae";
    F->class_names[0] = "zero";
    F->class_names[1] = "one";
    F->init = dc_init_make(DC_INIT_ZEROS);
    F->ln_cfg = dc_layer_norm_defaults();
    F->dense_cfg = dc_dense_defaults(2);
    F->conv_cfg = dc_conv_defaults(2, 2, 2);
    F->dw_cfg = dc_depthwise_defaults(2, 2);
    F->dw_cfg.filters = 2;
    F->rnn_cfg = dc_rnn_defaults(DC_RNN_LSTM, 2);
    F->tok_cfg = dc_tokenizer_defaults();
    F->pad_cfg = dc_pad_defaults();
    F->compile_cfg.optimizer = dc_optimizer_defaults(DC_OPT_SGD);
    F->compile_cfg.loss = DC_LOSS_MSE;
    F->schedule = dc_exponential_decay(0.1f, 10, 0.5f, 0);
    F->es_cfg = dc_early_stopping_defaults();
    F->rlr_cfg = dc_reduce_lr_defaults();
    F->collective = (dc_collective){0, 1, sum_f32_one, sum_f64_one, bcast_f32_one, NULL};
#ifdef DEEPC_PLOT_H
    F->plot_cfg = dc_plot_defaults();
#endif
    MUST(dc_logs_set(&F->logs, "loss", 1.0));
    F->devnull = fopen("/dev/null", "w");
    assert_non_null(F->devnull);
    F->dir = files.dir;
    F->path_new = files.path_new;
    F->path_idx = files.path_idx;
    F->path_csv = files.path_csv;
    F->path_npy = files.path_npy;
    F->path_tok = files.path_tok;
    F->path_model = files.path_model;
    F->path_weights = files.path_weights;
    F->path_png = files.path_png;
    F->ckpt_cfg = dc_checkpoint_defaults(F->path_new);
    F->csv_text = "a,b,c,y\n1,2,3,0\n4,5,6,1\n";
    F->model_json = files.model_json;
    F->tok_json = files.tok_json;
    F->npy_bytes = files.npy_bytes;
    F->npy_len = files.npy_len;
    /* datasets from disk (issue 21): a loader over x, y; configs quiet */
    MUST(dc_loader_from_tensors(F->x, F->y, 2, 0, &F->loader));
    F->imgdir_cfg = dc_image_dir_defaults();
    F->imgdir_cfg.verbose = 0;
    F->textdir_cfg = dc_text_dir_defaults();
    F->textdir_cfg.verbose = 0;
    F->tfiles = calloc(1, sizeof *F->tfiles);
    assert_non_null(F->tfiles);
    F->loader_fit_cfg = dc_loader_fit_defaults();
    F->loader_fit_cfg.verbose = 0;
    *state = F;
    return 0;
}

static int fx_teardown_all(void **state)
{
    fx *F = *state;
    dc_model_free(F->model);
    dc_model_free(F->model_out);
    dc_model_free(F->fmodel);
    dc_layer_free(F->norm_layer);
    dc_tensor_free(F->x);
    dc_tensor_free(F->xm);
    dc_tensor_free(F->y);
    dc_tensor_free(F->sw);
    for (int i = 0; i < 8; i++)
        dc_tensor_free(F->t_out[i]);
    dc_u8array_free(F->u8);
    dc_u8array_free(F->u8_out);
    dc_array_free(F->arr);
    dc_array_free(F->arr_out);
    dc_scaler_free(F->scaler);
    dc_scaler_free(F->scaler_out);
    if (F->texts_out)
        dc_texts_free(F->texts_out, F->seqs->count);
    dc_tokenizer_free(F->tok);
    dc_tokenizer_free(F->tok_out);
    dc_sequences_free(F->seqs);
    dc_sequences_free(F->seq_out);
    free(F->str_out);
    dc_history_free(F->hist);
    dc_history_free(F->hist_out);
    dc_csv_info_free(&F->info);
    dc_dataset_free(&F->ds);
    dc_text_dataset_free(&F->tds);
    dc_loader_free(F->loader);
    dc_loader_free(F->loader_out);
    dc_text_files_free(F->tfiles);
    dc_text_files_free(F->tfiles_out);
    dc_graph_free(F->g);
    dc_optimizer_free(F->opt);
    fclose(F->devnull);
    free(F);
    return 0;
}

/* Replaces this thread's message with the sentinel before a call. */
static void arm_message(void)
{
    dc_fail(DC_ERR_STATE, "%s", SENTINEL);
}

/* Fails unless the call set a message of its own that says what is NULL:
 * "<function>: <parameter> is NULL" (DC_CHECK_NULL), or an older wording
 * that names the argument another way ("dense: input 0 is NULL"). */
static void check_message(const char *func, const char *param)
{
    const char *msg = dc_errmsg();
    if (strstr(msg, SENTINEL) || !strstr(msg, "NULL"))
        fail_msg("%s(%s = NULL): the message is \"%s\"; it should say that %s is NULL", func, param, msg, param);
}

static void check_status(dc_status st, const char *func, const char *param)
{
    if (st == DC_OK)
        fail_msg("%s(%s = NULL) returned DC_OK", func, param);
    if (st != DC_ERR_ARG)
        fail_msg("%s(%s = NULL) returned %s, not DC_ERR_ARG", func, param, dc_status_str(st));
    check_message(func, param);
}

static void check_null(const void *p, const char *func, const char *param)
{
    if (p)
        fail_msg("%s(%s = NULL) returned a pointer, not NULL", func, param);
    check_message(func, param);
}

static void check_value(int ok, const char *want, const char *func, const char *param)
{
    if (!ok)
        fail_msg("%s(%s = NULL) should return %s", func, param, want);
    check_message(func, param);
}

#endif
