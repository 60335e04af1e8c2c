/*
 * linear_regression.c - seed 003's linear regression, done right: the data
 * y = 2x + 1 + noise, a Dense(1) model with the mean squared error, trained
 * by full-batch gradient descent (batch_size = N), then the learned slope and
 * intercept and the picture of the points and the fitted line.
 *
 *   X = np.linspace(-1, 1, 100)
 *   y = 2 * X + 1 + np.random.randn(*X.shape) * 0.33
 *   model = Sequential([Dense(1, input_shape=(1,))])
 *   model.compile(optimizer=SGD(learning_rate=0.1), loss='mse')
 *   model.fit(X, y, epochs=500, batch_size=len(X))
 *   w, b = model.layers[0].get_weights()
 *   plt.scatter(X, y); plt.plot(X, model.predict(X)); plt.savefig(...)
 *
 * (The seed's own loop updates the intercept with the slope's gradient and
 * steps up the loss instead of down; the model above does neither.)
 * It exits with status 1 unless the slope is within 0.1 of 2 and the
 * intercept within 0.1 of 1, so CTest runs it as a test.
 *
 * Usage: linear_regression [--epochs N] [--seed N] [--out FILE.png|FILE.svg]
 */
#include "example_util.h"

#include <deepc_plot.h>

#include <math.h>

enum { N = 100 };

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 500, .seed = 3, .out = "linear_regression.png"};
    if (example_parse(argc, argv, &o))
        return 2;
    int epochs = o.epochs;
    unsigned long seed = o.seed;
    const char *out = o.out;

    /* The seed's data, from a seeded generator. */
    dc_tensor *x = dc_tensor_new4(2, N, 1, 0, 0), *y = dc_tensor_new4(2, N, 1, 0, 0);
    if (!x || !y)
        return example_fail(argv[0], "allocating the data");
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    for (int i = 0; i < N; i++) {
        x->data[i] = -1.0f + 2.0f * (float)i / (N - 1);
        y->data[i] = 2.0f * x->data[i] + 1.0f + 0.33f * dc_rng_normal(&rng);
    }

    // model = Sequential([Dense(1, input_shape=(1,))])
    dc_model *model = dc_sequential_new(1, (int[]){1});
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_add(model, dc_layer_dense(1, NULL));
    dc_model_set_seed(model, seed);

    // model.compile(optimizer=SGD(learning_rate=0.1), loss='mse')
    if (dc_model_compile_lr(model, "sgd", 0.1f, "mse", NULL, 0))
        return example_fail(argv[0], "compile");

    // model.fit(X, y, epochs=500, batch_size=len(X))
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = epochs;
    fit.batch_size = N; /* full batch: one gradient step per epoch */
    fit.verbose = 0;
    dc_history *h;
    if (dc_model_fit(model, x, y, &fit, &h))
        return example_fail(argv[0], "fit");

    // w, b = model.layers[0].get_weights()
    dc_tensor *w, *b, *pred;
    if (dc_model_get_weight(model, 0, 0, &w) || dc_model_get_weight(model, 0, 1, &b))
        return example_fail(argv[0], "reading the weights");
    printf("after %d epochs: loss %.4f, slope %.4f, intercept %.4f (data made with slope 2, intercept 1)\n", epochs,
           dc_history_get(h, "loss")[h->epochs - 1], (double)w->data[0], (double)b->data[0]);

    // plt.scatter(X, y); plt.plot(X, model.predict(X)); plt.savefig(...)
    if (dc_model_predict(model, x, N, &pred))
        return example_fail(argv[0], "predict");
    dc_plot_config pc = dc_plot_defaults();
    pc.title = "Linear regression: y = 2x + 1 + noise";
    pc.xlabel = "x";
    pc.ylabel = "y";
    if (dc_plot_scatter_line(out, x->data, y->data, N, "data", x->data, pred->data, N, "fitted line", &pc))
        return example_fail(argv[0], "plotting");
    printf("wrote %s\n", out);

    int ok = fabsf(w->data[0] - 2.0f) <= 0.1f && fabsf(b->data[0] - 1.0f) <= 0.1f;
    dc_tensor_free(w);
    dc_tensor_free(b);
    dc_tensor_free(pred);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_history_free(h);
    dc_model_free(model);
    if (!ok)
        fprintf(stderr, "%s: the fit is more than 0.1 away from slope 2, intercept 1\n", argv[0]);
    return ok ? 0 : 1;
}
