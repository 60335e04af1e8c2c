/*
 * test_mpi.c - data-parallel training over MPI, run by ctest as
 * `mpiexec -n NP test_mpi NP` with NP = 2 and 3 (3 ranks give uneven slices,
 * and empty ones in a last batch of one row).  Every rank runs every test:
 * each trains a single-process reference itself (no collective, one thread,
 * so every rank's reference is the same) and the data-parallel model, then
 * checks:
 *  - History and final weights match the single process with the same global
 *    batch within rtol 1e-5 + atol 1e-6: floats, the slices' gradients are
 *    summed in another order than one process sums the batch (differences
 *    seen: about 1e-7 relative after 2-3 epochs; a wrong weighting of the
 *    slices or a dropout mask drawn for the wrong rows fails by far);
 *  - the weights are BITWISE identical on every rank (rank 0's copy is
 *    broadcast and compared with memcmp);
 *  - BatchNormalization (per-replica batch statistics) keeps every rank
 *    identical, moving statistics included; a frozen one matches one process
 *    and keeps its weights bit for bit;
 *  - evaluate / predict across ranks equal the single process's;
 *  - sample weights (per sample, per step, from class_weight) keep all that;
 *  - only rank 0 writes the CSVLogger file; bad use fails on every rank.
 * A rank that cannot start fails the test (mpiexec's status); a rank count
 * other than NP fails too.
 */
#include "testutil.h"

#include <mpi.h>
#include <stdlib.h>
#include <unistd.h>

#include "deepc_mpi.h"
#include "replica_util.h"

static dc_mpi *g_mpi;
static int g_rank, g_size;

#define RTOL 1e-5
#define ATOL 1e-6

/* Fails unless buf[0..n) is bitwise identical on every rank (every rank
 * reaches the same verdict). */
static void assert_same_on_all_ranks(const void *buf, size_t bytes, const char *what)
{
    char *root = malloc(bytes ? bytes : 1);
    assert_non_null(root);
    memcpy(root, buf, bytes);
    assert_int_equal(MPI_Bcast(root, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD), MPI_SUCCESS);
    int differ = memcmp(root, buf, bytes) != 0, any = 0;
    free(root);
    assert_int_equal(MPI_Allreduce(&differ, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), MPI_SUCCESS);
    if (any)
        fail_msg("%s differ between ranks (this rank %d: %s)", what, g_rank, differ ? "differs from rank 0" : "same");
}

static void assert_weights_same_on_all_ranks(dc_model *m)
{
    size_t n;
    const float *p = dc_graph_params(dc_model_graph(m), &n);
    assert_same_on_all_ranks(p, n * sizeof(float), "weights");
}

static dc_model *distributed(dc_model *m)
{
    assert_int_equal(dc_model_set_collective(m, dc_mpi_collective(g_mpi)), DC_OK);
    return m;
}

/* Fits a single-process reference and a data-parallel model built alike;
 * compares History and weights, and checks the ranks agree bitwise. */
static void fit_and_compare(dc_model *(*make)(uint64_t), const dc_tensor *x, const dc_tensor *y,
                            const dc_fit_config *cfg)
{
    dc_model *ref = make(3), *dist = distributed(make(3));
    dc_history *href = NULL, *hdist = NULL;
    assert_int_equal(dc_model_fit(ref, x, y, cfg, &href), DC_OK);
    if (dc_model_fit(dist, x, y, cfg, &hdist) != DC_OK)
        fail_msg("rank %d: %s", g_rank, dc_errmsg());
    replica_assert_history(hdist, href, RTOL, ATOL);
    replica_assert_weights(dist, ref, RTOL, ATOL);
    assert_weights_same_on_all_ranks(dist);
    for (int k = 0; k < hdist->n_keys; k++)
        assert_same_on_all_ranks(hdist->values[k], (size_t)hdist->epochs * sizeof(double), "History values");
    dc_history_free(href);
    dc_history_free(hdist);
    dc_model_free(ref);
    dc_model_free(dist);
}

/* MLP with dropout: 82 samples, validation_split 0.2 -> 65 training rows in
 * batches of 32, 32 and 1 (the last leaves ranks 1.. an empty slice), and 17
 * validation rows split unevenly. */
static void test_mlp_dropout_matches_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(82, 1, (int[]){6}, 3, 11, &x, &y);
    dc_fit_config cfg = replica_fit_config(3, 32, 0.2f);
    fit_and_compare(replica_mlp, x, y, &cfg);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Dense(8, relu) -> Dense(1, sigmoid) with the metrics whose state is more
 * than a sum and a count: AUC's 4 x 200 confusion counts, precision's and
 * recall's at 0.5. */
static dc_model *binary_model(uint64_t seed, const dc_compile_config *cfg)
{
    int in = 6;
    dc_model *m = dc_sequential_new(1, &in);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, "sigmoid")), DC_OK);
    assert_int_equal(dc_model_compile_ex(m, cfg), DC_OK);
    return m;
}

static dc_model *binary_auc(uint64_t seed)
{
    dc_compile_config cfg = {.loss = DC_LOSS_BINARY_CE, .metrics = {"accuracy", "auc", "precision", "recall"}};
    assert_int_equal(dc_optimizer_parse("adam", &cfg.optimizer), DC_OK);
    return binary_model(seed, &cfg);
}

static void test_auc_precision_recall_match_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(75, 1, (int[]){6}, 2, 12, &x, &y);
    dc_fit_config cfg = replica_fit_config(2, 16, 0.2f);
    fit_and_compare(binary_auc, x, y, &cfg);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static dc_model *cnn_plain(uint64_t seed) { return replica_cnn(seed, 0); }

/* CNN with dropout: 50 images in batches of 16 (last batch 2: uneven). */
static void test_cnn_matches_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(50, 3, (int[]){6, 6, 1}, 3, 12, &x, &y);
    dc_fit_config cfg = replica_fit_config(2, 16, 0.0f);
    fit_and_compare(cnn_plain, x, y, &cfg);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* A functional model: a residual branch through LayerNormalization (per
 * sample: BatchNormalization's statistics would be per replica slice, as
 * in test_cnn_batchnorm_stays_identical) joined by Add, and Dropout. */
static dc_model *residual(uint64_t seed)
{
    dc_model *m = dc_functional_new(3, (int[]){6, 6, 1});
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    dc_conv_config c = dc_conv_defaults(4, 3, 3);
    c.padding = DC_PADDING_SAME;
    int a = dc_model_apply(m, dc_layer_conv2d_ex(&c), DC_MODEL_INPUT);
    int b = dc_model_apply(m, dc_layer_conv2d_ex(&c), a);
    b = dc_model_apply(m, dc_layer_layer_normalization(), b);
    int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){a, b});
    s = dc_model_apply(m, dc_layer_global_average_pooling2d(), s);
    s = dc_model_apply(m, dc_layer_dropout(0.25f), s);
    assert_int_equal(dc_model_apply(m, dc_layer_dense(3, "softmax"), s), 7);
    replica_compile(m);
    return m;
}

static void test_functional_matches_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(50, 3, (int[]){6, 6, 1}, 3, 14, &x, &y);
    dc_fit_config cfg = replica_fit_config(2, 16, 0.2f);
    fit_and_compare(residual, x, y, &cfg);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static dc_model *cnn_frozen_bn(uint64_t seed) { return replica_cnn(seed, 2); }

/* A frozen BatchNormalization normalises with its moving statistics, a
 * per-row op, so unlike a trainable one the run matches one process; its
 * four weights stay bit for bit on every rank, while the Conv2D before it
 * learns through it. */
static void test_frozen_batchnorm_matches_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y, *before[4], *conv;
    replica_data(40, 3, (int[]){6, 6, 1}, 3, 14, &x, &y);
    dc_fit_config cfg = replica_fit_config(2, 12, 0.0f);
    fit_and_compare(cnn_frozen_bn, x, y, &cfg);
    dc_model *m = distributed(cnn_frozen_bn(3));
    for (int i = 0; i < 4; i++)
        assert_int_equal(dc_model_get_weight(m, 1, i, &before[i]), DC_OK);
    assert_int_equal(dc_model_get_weight(m, 0, 0, &conv), DC_OK);
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK);
    for (int i = 0; i < 5; i++) {
        dc_tensor *w = NULL;
        assert_int_equal(dc_model_get_weight(m, i < 4 ? 1 : 0, i < 4 ? i : 0, &w), DC_OK);
        int same = memcmp(w->data, i < 4 ? before[i]->data : conv->data, w->size * sizeof(float)) == 0;
        if (same != (i < 4))
            fail_msg("rank %d: %s", g_rank, i < 4 ? "a frozen BatchNormalization weight changed" : "Conv2D did not learn");
        dc_tensor_free(w);
        dc_tensor_free(i < 4 ? before[i] : conv);
    }
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* The same with weighted_metrics (auc, precision, accuracy) next to the
 * unweighted ones: their weighted confusion counts and sums add across
 * ranks as the unweighted ones do. */
static dc_model *binary_weighted_metrics(uint64_t seed)
{
    dc_compile_config cfg = {.loss = DC_LOSS_BINARY_CE, .metrics = {"auc"},
                             .weighted_metrics = {"auc", "precision", "accuracy"}};
    assert_int_equal(dc_optimizer_parse("adam", &cfg.optimizer), DC_OK);
    return binary_model(seed, &cfg);
}

static void test_weighted_metrics_match_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y, *w = dc_tensor_new4(1, 75, 0, 0, 0);
    replica_data(75, 1, (int[]){6}, 2, 13, &x, &y);
    for (int i = 0; i < 75; i++)
        w->data[i] = i % 6 == 0 ? 0.0f : 0.25f + 0.4f * (float)(i % 5);
    dc_fit_config cfg = replica_fit_config(2, 16, 0.2f);
    cfg.sample_weight = w;
    fit_and_compare(binary_weighted_metrics, x, y, &cfg);
    dc_tensor_free(w);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* A tagger: Embedding(mask_zero) -> LSTM(return_sequences, dropout and
 * recurrent_dropout) -> Dense(3, softmax) per step, on padded sequences of 5
 * ids.  The slices are weighted by their unpadded steps (the masked loss is
 * a mean over unpadded steps), and the LSTM's dropout masks are drawn for
 * the right rows. */
static dc_model *tagger(uint64_t seed)
{
    int in = 5;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    dc_rnn_config rc = dc_rnn_defaults(DC_RNN_LSTM, 6);
    rc.return_sequences = 1;
    rc.dropout = 0.2f;
    rc.recurrent_dropout = 0.2f;
    assert_int_equal(dc_model_add(m, dc_layer_embedding(7, 4, 1)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&rc)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    replica_compile(m);
    return m;
}

static void test_masked_tagger_matches_single_process(void **state)
{
    (void)state;
    int n = 41, steps = 5;
    dc_tensor *x = dc_tensor_new4(2, n, steps, 0, 0), *y = dc_tensor_new4(2, n, steps, 0, 0);
    dc_rng r;
    dc_rng_seed(&r, 18);
    for (int i = 0; i < n; i++) {
        int len = 1 + (int)dc_rng_below(&r, (uint32_t)steps); /* 1..5 ids, then padding */
        for (int t = 0; t < len; t++) {
            int id = 1 + (int)dc_rng_below(&r, 6);
            x->data[i * steps + t] = (float)id;
            y->data[i * steps + t] = (float)(id % 3);
        }
    }
    dc_fit_config cfg = replica_fit_config(2, 8, 0.0f); /* last batch 1 */
    fit_and_compare(tagger, x, y, &cfg);
    /* weighted per step: the slices keep their unpadded steps as divisor */
    dc_tensor *w = dc_tensor_new4(2, n, steps, 0, 0);
    for (int i = 0; i < n * steps; i++)
        w->data[i] = i % 4 == 1 ? 0.0f : 0.25f + 0.5f * (float)(i % 5);
    cfg.sample_weight = w;
    fit_and_compare(tagger, x, y, &cfg);
    dc_tensor_free(w);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Keras' sum_over_batch_size across ranks: each slice's loss is sum(w l) /
 * its rows, so weighting the slices by their rows gives sum(w l) / global
 * batch.  The MLP test's uneven slices with sample weights (0 and negative
 * ones too, the validation part weighted), then class_weight, then a
 * weighted evaluate. */
static void test_sample_weights_match_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y, *w = dc_tensor_new4(1, 82, 0, 0, 0);
    replica_data(82, 1, (int[]){6}, 3, 19, &x, &y);
    for (int i = 0; i < 82; i++)
        w->data[i] = i % 5 == 0 ? 0.0f : (i % 11 == 3 ? -0.25f : 0.5f + 0.3f * (float)(i % 7));
    dc_fit_config cfg = replica_fit_config(3, 32, 0.2f);
    cfg.sample_weight = w;
    fit_and_compare(replica_mlp, x, y, &cfg);
    cfg.sample_weight = NULL;
    cfg.class_weight = (const float[]){0.5f, 3.0f};
    cfg.n_class_weight = 2;
    fit_and_compare(replica_mlp, x, y, &cfg);
    dc_model *m = replica_mlp(4);
    double want[2], got[2];
    assert_int_equal(dc_model_evaluate_ex(m, x, y, w, 7, 0, want, 2), DC_OK);
    distributed(m);
    assert_int_equal(dc_model_evaluate_ex(m, x, y, w, 7, 0, got, 2), DC_OK);
    assert_close((float[]){(float)got[0], (float)got[1]}, (float[]){(float)want[0], (float)want[1]}, 2, 1e-5, 1e-6,
                 "weighted evaluate");
    assert_same_on_all_ranks(got, sizeof got, "weighted evaluate results");
    dc_model_free(m);
    dc_tensor_free(w);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* BatchNormalization normalises per replica, so the run differs from one
 * process; what must hold: every rank identical (moving statistics too),
 * finite, learning, and inference agreeing across ranks. */
static void test_cnn_batchnorm_stays_identical(void **state)
{
    (void)state;
    dc_tensor *x, *y, *pred = NULL;
    replica_data(120, 3, (int[]){6, 6, 1}, 3, 13, &x, &y);
    dc_model *m = distributed(replica_cnn(5, 1));
    dc_fit_config cfg = replica_fit_config(6, 12, 0.0f);
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, &h), DC_OK);
    const double *loss = dc_history_get(h, "loss");
    assert_true(isfinite(loss[5]) && loss[5] < loss[0] - 0.1);
    assert_weights_same_on_all_ranks(m);
    /* the moving variance moved away from its initial 1 */
    dc_tensor *mv = NULL;
    assert_int_equal(dc_model_get_weight(m, 1, 3, &mv), DC_OK);
    assert_true(fabsf(mv->data[0] - 1.0f) > 1e-4f);
    assert_int_equal(dc_model_predict(m, x, 7, &pred), DC_OK);
    assert_same_on_all_ranks(pred->data, pred->size * sizeof(float), "predictions");
    dc_tensor_free(mv);
    dc_tensor_free(pred);
    dc_history_free(h);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* evaluate and predict split across ranks equal one process's, with batch
 * sizes giving uneven slices (7 over 37 rows) and empty ones (1). */
static void test_evaluate_predict_match_single_process(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(37, 1, (int[]){6}, 3, 14, &x, &y);
    dc_model *m = replica_mlp(4);
    dc_fit_config cfg = replica_fit_config(2, 8, 0.0f);
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_OK); /* the same on every rank: one thread, one seed */
    int batches[] = {7, 1, 64};
    for (int i = 0; i < 3; i++) {
        double want[2], got[2];
        dc_tensor *pwant = NULL, *pgot = NULL;
        assert_int_equal(dc_model_set_collective(m, NULL), DC_OK);
        assert_int_equal(dc_model_evaluate(m, x, y, batches[i], 0, want, 2), DC_OK);
        assert_int_equal(dc_model_predict(m, x, batches[i], &pwant), DC_OK);
        distributed(m);
        assert_int_equal(dc_model_evaluate(m, x, y, batches[i], 0, got, 2), DC_OK);
        assert_int_equal(dc_model_predict(m, x, batches[i], &pgot), DC_OK);
        assert_close((float[]){(float)got[0], (float)got[1]}, (float[]){(float)want[0], (float)want[1]}, 2, 1e-5, 1e-6,
                     "evaluate");
        assert_int_equal(pgot->size, pwant->size);
        assert_close(pgot->data, pwant->data, pwant->size, 1e-5, 1e-6, "predict");
        assert_same_on_all_ranks(pgot->data, pgot->size * sizeof(float), "predictions");
        assert_same_on_all_ranks(got, sizeof got, "evaluate results");
        dc_tensor_free(pwant);
        dc_tensor_free(pgot);
    }
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Each rank seeds differently: fit broadcasts rank 0's weights and RNG, so
 * the run equals a single process seeded like rank 0. */
static void test_fit_broadcasts_rank0_weights(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(40, 1, (int[]){6}, 3, 15, &x, &y);
    dc_model *ref = replica_mlp(21), *dist = distributed(replica_mlp(21 + (uint64_t)g_rank));
    dc_fit_config cfg = replica_fit_config(2, 10, 0.0f);
    assert_int_equal(dc_model_fit(ref, x, y, &cfg, NULL), DC_OK);
    assert_int_equal(dc_model_fit(dist, x, y, &cfg, NULL), DC_OK);
    replica_assert_weights(dist, ref, RTOL, ATOL);
    assert_weights_same_on_all_ranks(dist);
    dc_model_free(ref);
    dc_model_free(dist);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Resuming on rank 0 alone: rank 0 has trained (Adam's slots and step
 * count filled) and lowered its learning rate; the other ranks hold fresh
 * models of other seeds.  fit broadcasts rank 0's optimiser state with the
 * weights, so every rank continues as the single process does. */
static void test_fit_broadcasts_rank0_optimizer_state(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(40, 1, (int[]){6}, 3, 17, &x, &y);
    dc_fit_config first = replica_fit_config(2, 10, 0.0f), more = replica_fit_config(3, 10, 0.0f);
    more.initial_epoch = 2;
    dc_model *ref = replica_mlp(21), *dist = replica_mlp(g_rank == 0 ? 21 : 40 + (uint64_t)g_rank);
    assert_int_equal(dc_model_fit(ref, x, y, &first, NULL), DC_OK);
    assert_int_equal(dc_model_set_lr(ref, 0.005f), DC_OK);
    if (g_rank == 0) { /* alone, before it joins the others */
        assert_int_equal(dc_model_fit(dist, x, y, &first, NULL), DC_OK);
        assert_int_equal(dc_model_set_lr(dist, 0.005f), DC_OK);
    }
    assert_int_equal(dc_model_fit(ref, x, y, &more, NULL), DC_OK);
    if (dc_model_fit(distributed(dist), x, y, &more, NULL) != DC_OK)
        fail_msg("rank %d: %s", g_rank, dc_errmsg());
    replica_assert_weights(dist, ref, RTOL, ATOL);
    assert_weights_same_on_all_ranks(dist);
    assert_true(dc_model_get_lr(dist) == 0.005f);
    dc_model_free(ref);
    dc_model_free(dist);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Progress and CSVLogger come from rank 0 only; EarlyStopping stops every
 * rank at the same epoch (its logs are global). */
static void test_callbacks_chief_writes(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(40, 1, (int[]){6}, 3, 16, &x, &y);
    char path[64];
    snprintf(path, sizeof path, "mpi_csv_rank%d.csv", g_rank);
    remove(path);
    dc_early_stopping_config es = dc_early_stopping_defaults();
    es.monitor = "loss";
    es.min_delta = 0.05f;
    dc_callback *cbs[2] = {dc_callback_csv_logger(path, ',', 0), dc_callback_early_stopping(&es)};
    dc_model *m = distributed(replica_mlp(8));
    dc_fit_config cfg = replica_fit_config(30, 10, 0.0f);
    cfg.callbacks = cbs;
    cfg.n_callbacks = 2;
    cfg.verbose = 2;
    cfg.out = tmpfile(); /* progress: rank 0 only */
    assert_non_null(cfg.out);
    dc_history *h = NULL;
    assert_int_equal(dc_model_fit(m, x, y, &cfg, &h), DC_OK);
    assert_int_equal(ftell(cfg.out) > 0, g_rank == 0);
    fclose(cfg.out);
    assert_true(h->epochs < 30);
    assert_same_on_all_ranks(&h->epochs, sizeof h->epochs, "epochs run");
    assert_int_equal(access(path, F_OK) == 0, g_rank == 0);
    remove(path);
    dc_history_free(h);
    dc_callback_free(cbs[0]);
    dc_callback_free(cbs[1]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* Ranks passing different data fail alike on every rank, naming it. */
static void test_ranks_disagree(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(20 + g_rank, 1, (int[]){6}, 3, 17, &x, &y);
    dc_model *m = distributed(replica_mlp(1));
    dc_fit_config cfg = replica_fit_config(1, 8, 0.0f);
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_ERR_ARG);
    assert_errmsg_contains("ranks disagree on the number of samples");
    double r[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 8, 0, r, 2), DC_ERR_ARG);
    assert_errmsg_contains("evaluate: the");
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_mpi_new_errors(void **state)
{
    (void)state;
    assert_null(dc_mpi_new(MPI_COMM_NULL));
    assert_errmsg_contains("MPI_COMM_NULL");
    dc_mpi_free(NULL);
    assert_int_equal(dc_mpi_rank(g_mpi), g_rank);
    assert_int_equal(dc_mpi_size(g_mpi), g_size);
    /* a sub-communicator: every rank alone */
    MPI_Comm self;
    assert_int_equal(MPI_Comm_split(MPI_COMM_WORLD, g_rank, 0, &self), MPI_SUCCESS);
    dc_mpi *solo = dc_mpi_new(self);
    assert_non_null(solo);
    assert_int_equal(dc_mpi_size(solo), 1);
    dc_mpi_free(solo);
    MPI_Comm_free(&self);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    int want = argc > 1 ? atoi(argv[1]) : 0;
    if (want < 2 || g_size != want) {
        fprintf(stderr, "test_mpi: expected to run under mpiexec -n %d with that count as argument, got %d rank(s)\n",
                want, g_size);
        MPI_Finalize();
        return 1;
    }
    g_mpi = dc_mpi_new(MPI_COMM_WORLD);
    if (!g_mpi) {
        fprintf(stderr, "test_mpi: %s\n", dc_errmsg());
        MPI_Finalize();
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_dropout_matches_single_process),
        cmocka_unit_test(test_cnn_matches_single_process),
        cmocka_unit_test(test_functional_matches_single_process),
        cmocka_unit_test(test_auc_precision_recall_match_single_process),
        cmocka_unit_test(test_weighted_metrics_match_single_process),
        cmocka_unit_test(test_masked_tagger_matches_single_process),
        cmocka_unit_test(test_sample_weights_match_single_process),
        cmocka_unit_test(test_cnn_batchnorm_stays_identical),
        cmocka_unit_test(test_frozen_batchnorm_matches_single_process),
        cmocka_unit_test(test_evaluate_predict_match_single_process),
        cmocka_unit_test(test_fit_broadcasts_rank0_weights),
        cmocka_unit_test(test_fit_broadcasts_rank0_optimizer_state),
        cmocka_unit_test(test_callbacks_chief_writes),
        cmocka_unit_test(test_ranks_disagree),
        cmocka_unit_test(test_mpi_new_errors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    dc_mpi_free(g_mpi);
    MPI_Finalize();
    return failed ? 1 : 0;
}
