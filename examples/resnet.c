/*
 * resnet.c - a small residual CNN built with the functional API, the way
 * Keras users write one (the model is in resnet_model.h, shared with
 * bench/bench_train.c):
 *
 *   inputs = Input(shape=(28, 28, 1))
 *   x = Activation("relu")(BatchNormalization()(Conv2D(16, 3, padding="same")(inputs)))
 *   x = block(x, 16); x = block(x, 32, strides=2); x = block(x, 64, strides=2)
 *   outputs = Dense(10, activation="softmax")(GlobalAveragePooling2D()(x))
 *   model = Model(inputs, outputs)
 *   model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
 *   model.summary()
 *   model.fit(x_train, y_train, epochs=..., batch_size=64, validation_split=0.1)
 *   model.evaluate(x_test, y_test)
 *   model.save("resnet.safetensors"); keras.models.load_model(...)
 *
 * On MNIST (default) or Fashion-MNIST (--fashion).  After training it saves
 * the model, loads it back and checks that the loaded model predicts the
 * test set exactly as the trained one does.
 *
 * Options beyond the common ones (example_util.h):
 *   --train N / --test N  use the first N images of each set (quick runs)
 *   --validate-on-test    validation_data=(x_test, y_test) instead of
 *                         validation_split=0.1: val_accuracy is then the
 *                         test accuracy after every epoch
 *   --plain               the same network without the shortcuts and Adds
 *   --lr X                Adam's learning rate (default 1e-3)
 *   --bn-momentum M       BatchNormalization's momentum (default 0.99, Keras'):
 *                         the moving statistics that inference uses weigh
 *                         their initial values (mean 0, variance 1) by
 *                         M^steps, so with 0.99 the test accuracy means
 *                         little before ~500 steps (0.16 after 338 steps of
 *                         batch 16 on Fashion-MNIST, 0.66 after 625); short
 *                         runs use 0.9 (PyTorch's default, momentum=0.1)
 *   --save PATH           where the model goes (default resnet.safetensors)
 *   --min-acc A           exit 1 unless the test accuracy is at least A
 *                         (the ctest's check)
 * With DEEPC_OFFLINE set and the data not cached it exits 77 (skipped).
 * Usage: resnet [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--train N] [--test N]
 *               [--validate-on-test] [--plain] [--lr X] [--bn-momentum M]
 *               [--save PATH] [--min-acc A]
 */
#include "example_util.h"
#include "resnet_model.h"

#include <math.h>
#include <time.h>

typedef struct resnet_opts {
    int n_train, n_test, on_test, plain;
    double lr, momentum, min_acc;
    const char *save;
} resnet_opts;

/* Takes this example's own options out of argv; the rest go to example_parse. */
static int resnet_parse(int *argc, char **argv, resnet_opts *r)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--train") && i + 1 < *argc)
            r->n_train = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--test") && i + 1 < *argc)
            r->n_test = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--validate-on-test"))
            r->on_test = 1;
        else if (!strcmp(argv[i], "--plain"))
            r->plain = 1;
        else if (!strcmp(argv[i], "--lr") && i + 1 < *argc)
            r->lr = atof(argv[++i]);
        else if (!strcmp(argv[i], "--bn-momentum") && i + 1 < *argc)
            r->momentum = atof(argv[++i]);
        else if (!strcmp(argv[i], "--save") && i + 1 < *argc)
            r->save = argv[++i];
        else if (!strcmp(argv[i], "--min-acc") && i + 1 < *argc)
            r->min_acc = atof(argv[++i]);
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return r->n_train < 0 || r->n_test < 0 || !(r->lr >= 0) || !(r->momentum >= 0 && r->momentum < 1);
}

/* The first n rows of x (all when n is 0 or too large), as a new tensor. */
static dc_tensor *first_rows(const dc_tensor *x, int n)
{
    if (n <= 0 || n > x->shape[0])
        n = x->shape[0];
    int shape[4] = {n, 28, 28, 1};
    return dc_tensor_from(x->ndim, x->ndim == 4 ? shape : &n, x->data);
}

static double now(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A callback printing each epoch's wall time (training and validation). */
static dc_status epoch_begin(void *user, dc_model *m, int epoch)
{
    (void)m;
    (void)epoch;
    *(double *)user = now();
    return DC_OK;
}

static dc_status epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    (void)m;
    const double *val = dc_logs_get(logs, "val_accuracy");
    printf("epoch %d: %.1f s, val_accuracy %.4f\n", epoch + 1, now() - *(double *)user, val ? *val : NAN);
    return DC_OK;
}

/* Saves m to path, loads it back and compares the predicted probabilities
 * on x: returns 0 when they agree within 1e-5 (the loaded model may run
 * with another thread count, hence another summation order). */
static int save_load_check(const char *prog, dc_model *m, const char *path, const dc_tensor *x, int threads)
{
    dc_model *loaded = NULL;
    dc_tensor *p = NULL, *q = NULL;
    int rc = 1;
    if (dc_model_save(m, path, 0) != DC_OK || dc_model_load(path, &loaded) != DC_OK)
        example_fail(prog, "saving and loading the model");
    else if (dc_model_set_threads(loaded, threads), dc_model_predict(m, x, 256, &p) != DC_OK ||
             dc_model_predict(loaded, x, 256, &q) != DC_OK)
        example_fail(prog, "predict");
    else {
        double worst = 0;
        for (size_t i = 0; i < p->size; i++)
            worst = fmax(worst, fabs((double)p->data[i] - q->data[i]));
        printf("saved %s, loaded it back: largest difference between the predictions %.3g\n", path, worst);
        rc = !(worst <= 1e-5);
        if (rc)
            fprintf(stderr, "%s: the loaded model predicts differently (by %.3g)\n", prog, worst);
    }
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_model_free(loaded);
    return rc;
}

int main(int argc, char **argv)
{
    resnet_opts r = {.lr = 1e-3, .momentum = 0.99, .save = "resnet.safetensors"};
    example_opts o = {.epochs = 5, .batch = 64, .seed = 42};
    if (resnet_parse(&argc, argv, &r) || example_parse(argc, argv, &o)) {
        fprintf(stderr, "%s: also [--train N] [--test N] [--validate-on-test] [--plain] [--lr X] "
                        "[--bn-momentum M] [--save PATH] [--min-acc A]\n", argv[0]);
        return 2;
    }
    dc_tensor *x_all, *y_all, *xt_all, *yt_all;
    int loaded = example_load_or_skip(argv[0], &o, 1, &x_all, &y_all, &xt_all, &yt_all);
    if (loaded != 0)
        return loaded;
    /* the first --train / --test rows: x_train, y_train, x_test, y_test */
    dc_tensor *all[4] = {x_all, y_all, xt_all, yt_all}, *data[4];
    for (int i = 0; i < 4; i++) {
        data[i] = first_rows(all[i], i < 2 ? r.n_train : r.n_test);
        dc_tensor_free(all[i]);
    }
    dc_tensor *x_train = data[0], *y_train = data[1], *x_test = data[2], *y_test = data[3];
    if (!x_train || !y_train || !x_test || !y_test)
        return example_fail(argv[0], "copying the data");

    dc_model *model = dc_functional_new(3, (int[]){28, 28, 1});
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);
    const char *metrics[] = {"accuracy"};
    if (resnet_build(model, !r.plain, (float)r.momentum) ||
        dc_model_compile(model, "adam", "sparse_categorical_crossentropy", metrics, 1) ||
        dc_model_set_lr(model, (float)r.lr))
        return example_fail(argv[0], "building the model");
    dc_model_summary(model, stdout);

    double t0 = 0;
    dc_callback timer = {.user = &t0, .on_epoch_begin = epoch_begin, .on_epoch_end = epoch_end};
    dc_callback *callbacks[] = {&timer};
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.verbose = 2;
    fit.callbacks = callbacks;
    fit.n_callbacks = 1;
    if (r.on_test) {
        fit.x_val = x_test;
        fit.y_val = y_test;
    } else {
        fit.validation_split = 0.1f;
    }
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    double test[2];
    if (dc_model_evaluate(model, x_test, y_test, 256, 0, test, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test accuracy: %.4f\n", test[1]);

    int rc = save_load_check(argv[0], model, r.save, x_test, o.threads);
    if (r.min_acc > 0 && !(test[1] >= r.min_acc)) {
        fprintf(stderr, "%s: test accuracy %.4f is below --min-acc %.4f\n", argv[0], test[1], r.min_acc);
        rc = 1;
    }
    dc_model_free(model);
    for (int i = 0; i < 4; i++)
        dc_tensor_free(data[i]);
    return rc;
}
