/*
 * save_resume.c - checkpoints, callbacks and resuming, on a small synthetic
 * problem (no download): train 3 epochs with ModelCheckpoint and CSVLogger,
 * "crash", load the last checkpoint in a fresh model, resume to epoch 6 and
 * compare with an uninterrupted 6-epoch run: the losses agree bit for bit.
 *
 * Run from any folder: it writes ckpt_NN.safetensors and training.csv into
 * the folder given as its argument (default: the current folder).
 * Exits 0 when the resumed run matches, else 1.
 */
#include <deepc.h>

#include <stdio.h>
#include <string.h>

#define N 512
#define FEATURES 8

static dc_model *make_model(void)
{
    dc_model *m = dc_sequential_new(1, (int[]){FEATURES});
    dc_model_set_seed(m, 42);
    dc_model_set_threads(m, 1);
    dc_model_add(m, dc_layer_dense(32, "relu"));
    dc_model_add(m, dc_layer_dropout(0.2f));
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    const char *metrics[] = {"accuracy"};
    if (dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1) != DC_OK) {
        fprintf(stderr, "%s\n", dc_errmsg());
        dc_model_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char pattern[512], last[512], csv[512];
    snprintf(pattern, sizeof pattern, "%s/ckpt_{epoch:02d}.safetensors", dir);
    snprintf(last, sizeof last, "%s/ckpt_03.safetensors", dir);
    snprintf(csv, sizeof csv, "%s/training.csv", dir);

    /* Three classes by the sign pattern of two features. */
    dc_rng r;
    dc_rng_seed(&r, 1);
    dc_tensor *x = dc_tensor_new4(2, N, FEATURES, 0, 0), *y = dc_tensor_new4(1, N, 0, 0, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < FEATURES; j++)
            x->data[i * FEATURES + j] = 2.0f * dc_rng_uniform(&r) - 1.0f;
        y->data[i] = (float)((x->data[i * FEATURES] > 0) + (x->data[i * FEATURES + 1] > 0.5f));
    }

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = 6;
    fit.validation_split = 0.2f;
    fit.verbose = 2;
    dc_history *whole, *part;
    dc_model *a = make_model(), *b = make_model(), *resumed = NULL;
    if (!a || !b)
        return 1;
    printf("-- 6 epochs in one run\n");
    if (dc_model_fit(a, x, y, &fit, &whole) != DC_OK)
        return fprintf(stderr, "%s\n", dc_errmsg()), 1;

    printf("-- 3 epochs with checkpoints, then a fresh process resumes\n");
    dc_checkpoint_config cc = dc_checkpoint_defaults(pattern);
    dc_callback *cbs[] = {dc_callback_model_checkpoint(&cc), dc_callback_csv_logger(csv, ',', 0)};
    fit.epochs = 3;
    fit.callbacks = cbs;
    fit.n_callbacks = 2;
    if (dc_model_fit(b, x, y, &fit, NULL) != DC_OK || dc_model_load(last, &resumed) != DC_OK)
        return fprintf(stderr, "%s\n", dc_errmsg()), 1;
    dc_model_set_threads(resumed, 1);
    fit.initial_epoch = dc_model_epoch(resumed);
    fit.epochs = 6;
    fit.n_callbacks = 0;
    if (dc_model_fit(resumed, x, y, &fit, &part) != DC_OK)
        return fprintf(stderr, "%s\n", dc_errmsg()), 1;

    const double *l1 = dc_history_get(whole, "val_loss"), *l2 = dc_history_get(part, "val_loss");
    int same = part->epochs == 3;
    for (int e = 0; same && e < 3; e++)
        same = l1[3 + e] == l2[e];
    printf("resumed run %s the uninterrupted one (val_loss at epoch 6: %.6f vs %.6f)\n",
           same ? "matches" : "DIFFERS FROM", l1[5], l2[part->epochs - 1]);
    dc_callback_free(cbs[0]);
    dc_callback_free(cbs[1]);
    dc_history_free(whole);
    dc_history_free(part);
    dc_model_free(a);
    dc_model_free(b);
    dc_model_free(resumed);
    dc_tensor_free(x);
    dc_tensor_free(y);
    return same ? 0 : 1;
}
