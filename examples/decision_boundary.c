/*
 * decision_boundary.c - a small MLP on scikit-learn's "two moons" and the
 * picture every classification tutorial draws of it: the plane shaded by
 * the predicted class, with the points on top.
 *
 *   x, y = make_moons(n_samples=400, noise=0.2, random_state=seed)
 *   model = Sequential([Dense(16, activation='relu', input_shape=(2,)),
 *                       Dense(16, activation='relu'),
 *                       Dense(1, activation='sigmoid')])
 *   model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=300, batch_size=32)
 *
 * Prints the test accuracy (25% held out) and writes decision_boundary.png
 * (--out FILE, or --svg).  Exits 1 below 0.9, so CTest can run it.
 * Usage: decision_boundary [--epochs N] [--seed N] [--threads N] [--out FILE] [--svg]
 */
#include "example_util.h"

#include <deepc_plot.h>

#include <math.h>

/* make_moons: the upper half circle, and a lower one shifted to (1, -0.5)
 * interlocking with it, n/2 points each, plus N(0, noise) on both axes. */
static void make_moons(int n, float noise, uint64_t seed, dc_tensor *x, dc_tensor *y)
{
    dc_rng r;
    dc_rng_seed(&r, seed);
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < n; i++) {
        int inner = i >= n / 2;
        int j = inner ? i - n / 2 : i, m = inner ? n - n / 2 : n / 2;
        double t = pi * j / (m - 1);
        x->data[2 * i] = (float)(inner ? 1 - cos(t) : cos(t)) + noise * dc_rng_normal(&r);
        x->data[2 * i + 1] = (float)(inner ? 0.5 - sin(t) : sin(t)) + noise * dc_rng_normal(&r);
        y->data[i] = (float)inner;
    }
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 300, .batch = 32, .seed = 42};
    if (example_parse(argc, argv, &o))
        return 2;
    const int n = 400;
    dc_tensor *x = dc_tensor_new(2, (int[]){n, 2}), *y = dc_tensor_new(1, (int[]){n});
    dc_tensor *xtr, *xte, *ytr, *yte;
    if (!x || !y)
        return example_fail(argv[0], "allocating the data");
    make_moons(n, 0.2f, o.seed, x, y);
    if (dc_train_test_split(x, y, 0.25f, o.seed, &xtr, &xte, &ytr, &yte))
        return example_fail(argv[0], "splitting the data");

    dc_model *m = dc_sequential_new(1, (int[]){2});
    if (!m)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(m, o.seed);
    dc_model_set_threads(m, o.threads ? o.threads : 1);
    const char *metrics[] = {"accuracy"};
    if (dc_model_add(m, dc_layer_dense(16, "relu")) || dc_model_add(m, dc_layer_dense(16, "relu")) ||
        dc_model_add(m, dc_layer_dense(1, "sigmoid")) ||
        dc_model_compile(m, "adam", "binary_crossentropy", metrics, 1))
        return example_fail(argv[0], "building the model");
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.verbose = 0;
    double res[2];
    if (dc_model_fit(m, xtr, ytr, &fit, NULL) || dc_model_evaluate(m, xte, yte, 32, 0, res, 2))
        return example_fail(argv[0], "training");
    printf("Test accuracy: %.4f (%d test points)\n", res[1], yte->shape[0]);

    const char *path = o.out ? o.out : o.svg ? "decision_boundary.svg" : "decision_boundary.png";
    dc_plot_config pc = dc_plot_defaults();
    pc.title = "Two moons: Dense(16) - Dense(16) - Dense(1, sigmoid)";
    const char *names[] = {"upper moon", "lower moon"};
    if (dc_plot_decision_boundary(path, m, x, y, names, &pc))
        return example_fail(argv[0], "plotting");
    printf("Wrote %s\n", path);

    int ok = res[1] >= 0.9;
    if (!ok)
        fprintf(stderr, "%s: test accuracy %.4f is below 0.9\n", argv[0], res[1]);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xtr);
    dc_tensor_free(xte);
    dc_tensor_free(ytr);
    dc_tensor_free(yte);
    return ok ? 0 : 1;
}
