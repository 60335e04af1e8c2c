/*
 * own_loop.c - the tutorial MLP trained by a loop of your own instead of fit,
 * as Keras users write one with train_on_batch:
 *
 *   for epoch in range(epochs):
 *       idx = rng.permutation(len(x_train))
 *       for i in range(0, len(x_train), batch):
 *           b = idx[i:i + batch]
 *           loss, acc = model.train_on_batch(x_train[b], y_train[b])
 *       if epoch == epochs // 2:
 *           model.optimizer.learning_rate = lr / 10   # what a loop of your own is for
 *       test_loss, test_acc = model.test_on_batch(x_test, y_test)
 *   probabilities = model.predict_on_batch(x_test[:10])
 *
 * Each train_on_batch is one step of fit on the rows given (training mode,
 * same optimiser state); each call reports that batch's loss and accuracy.
 * Usage: own_loop [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--min-acc A]
 *   --min-acc A: exit 1 unless the final test accuracy is at least A (the ctest's check).
 *   With DEEPC_OFFLINE set and the data not cached it exits 77 (skipped).
 */
#include "example_util.h"

/* Rows idx[0..n) of src into dst (whose first axis holds at least n). */
static void gather(dc_tensor *dst, const dc_tensor *src, const int *idx, int n)
{
    size_t per = src->size / (size_t)src->shape[0];
    for (int i = 0; i < n; i++)
        memcpy(dst->data + (size_t)i * per, src->data + (size_t)idx[i] * per, per * sizeof(float));
}

/* The class with the highest probability in row r of p (N, classes). */
static int argmax_row(const dc_tensor *p, int r)
{
    int classes = p->shape[1], best = 0;
    const float *row = p->data + (size_t)r * classes;
    for (int j = 1; j < classes; j++)
        best = row[j] > row[best] ? j : best;
    return best;
}

/* A tensor shaped like src with n rows. */
static dc_tensor *rows_like(const dc_tensor *src, int n)
{
    int shape[DC_MAX_DIMS];
    memcpy(shape, src->shape, sizeof shape);
    shape[0] = n;
    return dc_tensor_new(src->ndim, shape);
}

/* One epoch of train_on_batch over x, y in the order of perm; the epoch's
 * mean loss and accuracy (weighted by batch size) into mean[0..2). */
static int train_epoch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const int *perm, int batch, double *mean)
{
    int n = x->shape[0], rc = 0;
    dc_tensor *xb = rows_like(x, batch), *yb = rows_like(y, batch);
    double sum[2] = {0, 0};
    for (int i = 0; i < n && rc == 0 && xb && yb; i += batch) {
        int b = n - i < batch ? n - i : batch;
        if (b < batch) { /* the last, shorter batch */
            dc_tensor_free(xb);
            dc_tensor_free(yb);
            xb = rows_like(x, b);
            yb = rows_like(y, b);
            if (!xb || !yb)
                break;
        }
        gather(xb, x, perm + i, b);
        gather(yb, y, perm + i, b);
        double r[2];
        rc = dc_model_train_on_batch(m, xb, yb, NULL, r, 2) != DC_OK;
        sum[0] += r[0] * b;
        sum[1] += r[1] * b;
    }
    if (!xb || !yb)
        rc = 1;
    dc_tensor_free(xb);
    dc_tensor_free(yb);
    mean[0] = sum[0] / n;
    mean[1] = sum[1] / n;
    return rc;
}

int main(int argc, char **argv)
{
    double min_acc = 0;
    int out = 1;
    for (int i = 1; i < argc; i++) /* this example's own option; the rest go to example_parse */
        if (!strcmp(argv[i], "--min-acc") && i + 1 < argc)
            min_acc = atof(argv[++i]);
        else
            argv[out++] = argv[i];
    argc = out;
    example_opts o = {.epochs = 4, .batch = 32, .seed = 42};
    if (example_parse(argc, argv, &o)) {
        fprintf(stderr, "%s: also [--min-acc A]\n", argv[0]);
        return 2;
    }
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    int loaded = example_load_or_skip(argv[0], &o, 0, &x_train, &y_train, &x_test, &y_test);
    if (loaded != 0)
        return loaded;

    dc_model *m = dc_sequential_new(2, (int[]){28, 28});
    if (!m)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(m, o.seed);
    dc_model_set_threads(m, o.threads);
    const char *metrics[] = {"accuracy"};
    if (dc_model_add(m, dc_layer_flatten()) || dc_model_add(m, dc_layer_dense(128, "relu")) ||
        dc_model_add(m, dc_layer_dense(10, "softmax")) ||
        dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1))
        return example_fail(argv[0], "building the model");

    int n = x_train->shape[0], *perm = malloc((size_t)n * sizeof *perm);
    if (!perm)
        return example_fail(argv[0], "allocating the order");
    dc_rng rng; /* the loop's own shuffling, apart from the model's RNG */
    dc_rng_seed(&rng, o.seed + 1);
    double test[2] = {0, 0};
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        for (int i = 0; i < n; i++)
            perm[i] = i;
        dc_rng_shuffle(&rng, perm, n);
        double mean[2];
        if (train_epoch(m, x_train, y_train, perm, o.batch, mean))
            return example_fail(argv[0], "train_on_batch");
        if (epoch == o.epochs / 2 && dc_model_set_lr(m, dc_model_get_lr(m) / 10) != DC_OK)
            return example_fail(argv[0], "lowering the learning rate");
        if (dc_model_test_on_batch(m, x_test, y_test, NULL, test, 2) != DC_OK)
            return example_fail(argv[0], "test_on_batch");
        printf("epoch %d/%d: loss %.4f - accuracy %.4f - test loss %.4f - test accuracy %.4f - learning rate %g\n",
               epoch, o.epochs, mean[0], mean[1], test[0], test[1], (double)dc_model_get_lr(m));
    }

    int shape[3] = {10, 28, 28};
    dc_tensor *first = dc_tensor_from(3, shape, x_test->data), *p = NULL;
    if (!first || dc_model_predict_on_batch(m, first, &p) != DC_OK)
        return example_fail(argv[0], "predict_on_batch");
    printf("first 10 test images: predicted");
    for (int i = 0; i < 10; i++)
        printf(" %d", argmax_row(p, i));
    printf(", labels");
    for (int i = 0; i < 10; i++)
        printf(" %d", (int)y_test->data[i]);
    printf("\nTest accuracy: %.4f\n", test[1]);
    int rc = min_acc > 0 && !(test[1] >= min_acc);
    if (rc)
        fprintf(stderr, "%s: test accuracy %.4f is below --min-acc %.4f\n", argv[0], test[1], min_acc);
    dc_tensor_free(first);
    dc_tensor_free(p);
    free(perm);
    dc_model_free(m);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return rc;
}
