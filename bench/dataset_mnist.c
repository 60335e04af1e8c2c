/*
 * dataset_mnist.c - seed 003's CNN (examples/cnn.c) trained on MNIST either
 * from the IDX files in memory (--idx) or from a folder of PNG files
 * through image_dataset_from_directory and fit over a dc_loader (--folder
 * DIR, as bench/dataset_mnist_png.py writes it: DIR/training/<digit>/NNNNN.png,
 * DIR/testing/<digit>/NNNNN.png).  Same model, epochs, batch and seed; the
 * folder run puts Rescaling(1/255) first, as Keras users do, where the IDX
 * run divides by 255 when loading.  Prints the seconds of each epoch and
 * the test accuracy; bench/dataset_run.sh runs both under /usr/bin/time -v
 * (peak memory) side by side.
 *
 * --samples M trains on M samples an epoch instead of 60,000 (IDX: the
 * first M images, reshuffled each epoch; folder: steps_per_epoch = M / 32
 * batches of the shuffled stream), the same number of steps of the same
 * shapes, for shorter paired runs; the test accuracy is then not the
 * issue's.
 *
 * Usage: dataset_mnist (--idx | --folder DIR) [--epochs N] [--seed N] [--threads N] [--workers N] [--samples M]
 */
#include "deepc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "dataset_mnist: %s: %s\n", what, dc_errmsg());
    return 1;
}

/* Epoch times through a callback (the end of each epoch). */
static dc_status on_epoch_begin(void *user, dc_model *m, int epoch)
{
    (void)m, (void)epoch;
    *(double *)user = now();
    return DC_OK;
}
static dc_status on_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    (void)m, (void)logs;
    printf("epoch %d: %.2f s\n", epoch + 1, now() - *(double *)user);
    fflush(stdout);
    return DC_OK;
}

int main(int argc, char **argv)
{
    const char *folder = NULL;
    int idx = 0, epochs = 1, seed = 42, threads = 0, workers = 1, samples = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--idx"))
            idx = 1;
        else if (!strcmp(argv[i], "--folder") && i + 1 < argc)
            folder = argv[++i];
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s (--idx | --folder DIR) [--epochs N] [--seed N] [--threads N] [--workers N] "
                    "[--samples M]\n",
                    argv[0]);
            return 2;
        }
    }
    if (idx == !!folder) {
        fprintf(stderr, "%s: give exactly one of --idx and --folder DIR\n", argv[0]);
        return 2;
    }
    dc_model *model = dc_sequential_new(3, (int[]){28, 28, 1});
    if (!model)
        return fail("model");
    if (folder)
        dc_model_add(model, dc_layer_rescaling(1.0f / 255.0f, 0.0f));
    dc_model_add(model, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_conv2d(64, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_flatten());
    dc_model_add(model, dc_layer_dense(128, "relu"));
    dc_model_add(model, dc_layer_dense(10, "softmax"));
    dc_model_set_seed(model, (uint64_t)seed);
    dc_model_set_threads(model, threads);
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1))
        return fail("compile");
    double t_epoch = 0;
    dc_callback timer_cb = {.user = &t_epoch, .on_epoch_begin = on_epoch_begin, .on_epoch_end = on_epoch_end};
    dc_callback *timer = &timer_cb;
    double test[2];
    double t0 = now();
    if (idx) {
        dc_dataset d;
        if (dc_mnist_load(NULL, &d))
            return fail("MNIST");
        dc_tensor *xt = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f), *yt = dc_tensor_from_u8(d.y_train, 1.0f);
        dc_tensor *xe = dc_tensor_from_u8(d.x_test, 1.0f / 255.0f), *ye = dc_tensor_from_u8(d.y_test, 1.0f);
        dc_dataset_free(&d);
        if (!xt || !yt || !xe || !ye || dc_tensor_reshape(xt, 4, (int[]){60000, 28, 28, 1}) ||
            dc_tensor_reshape(xe, 4, (int[]){10000, 28, 28, 1}))
            return fail("tensors");
        if (samples > 0 && samples < 60000) { /* the first M images */
            int yshape[DC_MAX_DIMS];
            memcpy(yshape, yt->shape, sizeof yshape);
            yshape[0] = samples;
            dc_tensor *xs = dc_tensor_new(4, (int[]){samples, 28, 28, 1}), *ys = dc_tensor_new(yt->ndim, yshape);
            if (!xs || !ys)
                return fail("tensors");
            memcpy(xs->data, xt->data, xs->size * sizeof(float));
            memcpy(ys->data, yt->data, ys->size * sizeof(float));
            dc_tensor_free(xt);
            dc_tensor_free(yt);
            xt = xs;
            yt = ys;
        }
        dc_fit_config fit = dc_fit_defaults();
        fit.epochs = epochs;
        fit.verbose = 2;
        fit.callbacks = &timer;
        fit.n_callbacks = 1;
        t0 = now();
        if (dc_model_fit(model, xt, yt, &fit, NULL))
            return fail("fit");
        if (dc_model_evaluate(model, xe, ye, 32, 0, test, 2))
            return fail("evaluate");
        dc_tensor_free(xt);
        dc_tensor_free(yt);
        dc_tensor_free(xe);
        dc_tensor_free(ye);
    } else {
        char train_dir[4096], test_dir[4096];
        snprintf(train_dir, sizeof train_dir, "%s/training", folder);
        snprintf(test_dir, sizeof test_dir, "%s/testing", folder);
        dc_image_dir_config c = dc_image_dir_defaults();
        c.color_mode = DC_COLOR_GRAYSCALE;
        c.image_size[0] = c.image_size[1] = 28;
        c.seed = seed;
        dc_loader *train, *testset;
        if (dc_image_dataset_from_directory(train_dir, &c, &train, NULL))
            return fail("training folder");
        c.shuffle = 0;
        if (dc_image_dataset_from_directory(test_dir, &c, &testset, NULL))
            return fail("testing folder");
        if (dc_loader_set_prefetch(train, workers, 8) || dc_loader_set_prefetch(testset, workers, 8))
            return fail("prefetch");
        dc_loader_fit_config fit = dc_loader_fit_defaults();
        fit.epochs = epochs;
        if (samples > 0 && samples < 60000)
            fit.steps_per_epoch = (samples - 1) / 32 + 1;
        fit.verbose = 2;
        fit.callbacks = &timer;
        fit.n_callbacks = 1;
        t0 = now();
        if (dc_model_fit_loader(model, train, &fit, NULL))
            return fail("fit");
        if (dc_model_evaluate_loader(model, testset, 0, 0, test, 2))
            return fail("evaluate");
        dc_loader_free(train);
        dc_loader_free(testset);
    }
    printf("total fit + evaluate: %.2f s\n", now() - t0);
    printf("Test accuracy: %.4f\n", test[1]);
    dc_model_free(model);
    return 0;
}
