/*
 * siamese.c - a Siamese network on MNIST: are two images the same digit?
 * Two inputs, one encoder called on both (Keras' shared layers: one set of
 * weights, trained by both calls), the squared difference of the two
 * codes, and a logistic unit on top:
 *
 *   a = keras.Input((784,)); b = keras.Input((784,))
 *   enc1 = layers.Dense(128, activation="relu"); enc2 = layers.Dense(64, activation="relu")
 *   ea, eb = enc2(enc1(a)), enc2(enc1(b))
 *   d = layers.Subtract()([ea, eb])
 *   p = layers.Dense(1, activation="sigmoid")(layers.Multiply()([d, d]))
 *   model = keras.Model([a, b], p)
 *   model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
 *   model.fit([xa, xb], same, epochs=10, validation_split=0.1)
 *
 * The pairs are drawn with a seed: half of them two images of one digit,
 * half two different digits, from the training images for training and
 * from the test images for the test.
 * It draws the model's graph as Keras' plot_model does, into
 * siamese_model.png (--out PATH for another name, .svg for SVG).
 * Usage: siamese [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--pairs N] [--min-acc A] [--out PATH]
 *   --pairs N: training pairs (default 60000; the test uses 10000).
 * Defaults, seed 42: test accuracy 0.9602 on 10,000 test pairs (3 epochs of
 * 30,000 pairs: 0.9355), about 10 s on 2 threads.
 *   --min-acc A: exit 1 unless the test accuracy is at least A (the ctest's check).
 *   With DEEPC_OFFLINE set and the data not cached it exits 77 (skipped).
 */
#include "example_util.h"

#include <deepc_plot.h>

/* n pairs of rows of x (N, 784): xa, xb and same (1 when both show one
 * class), half of them same, drawn from rng. */
static int make_pairs(const dc_tensor *x, const dc_tensor *y, int n, dc_rng *rng, dc_tensor **xa, dc_tensor **xb,
                      dc_tensor **same)
{
    int rows = x->shape[0], per = (int)(x->size / (size_t)rows);
    *xa = dc_tensor_new4(2, n, per, 0, 0);
    *xb = dc_tensor_new4(2, n, per, 0, 0);
    *same = dc_tensor_new4(1, n, 0, 0, 0);
    if (!*xa || !*xb || !*same)
        return 1;
    for (int i = 0; i < n; i++) {
        int a = (int)(dc_rng_uniform(rng) * rows) % rows, want_same = i % 2 == 0, b;
        do /* a partner of the same class, or of another */
            b = (int)(dc_rng_uniform(rng) * rows) % rows;
        while ((y->data[b] == y->data[a]) != want_same || b == a);
        memcpy((*xa)->data + (size_t)i * per, x->data + (size_t)a * per, (size_t)per * sizeof(float));
        memcpy((*xb)->data + (size_t)i * per, x->data + (size_t)b * per, (size_t)per * sizeof(float));
        (*same)->data[i] = (float)want_same;
    }
    return 0;
}

/* The model above; NULL (with the message set) when a call fails. */
static dc_model *siamese(int features, unsigned long seed, int threads)
{
    dc_model *m = dc_functional_new(1, &features);
    if (!m)
        return NULL;
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, threads);
    int b = dc_model_input(m, 1, &features);
    dc_layer *enc1 = dc_layer_dense(128, "relu"), *enc2 = dc_layer_dense(64, "relu");
    int ea = dc_model_apply(m, enc2, dc_model_apply(m, enc1, DC_MODEL_INPUT));
    int eb = dc_model_apply(m, enc2, dc_model_apply(m, enc1, b)); /* the same two layers again */
    int d = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){ea, eb});
    int sq = dc_model_merge(m, dc_layer_multiply(), 2, (int[]){d, d});
    dc_model_apply(m, dc_layer_dense(1, "sigmoid"), sq);
    const char *metrics[] = {"accuracy"};
    if (dc_model_compile(m, "adam", "binary_crossentropy", metrics, 1) != DC_OK) { /* names a failed call too */
        dc_model_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 10, .batch = 32, .seed = 42};
    int pairs = 60000;
    double min_acc = -1.0;
    int n_args = 1; /* the options example_parse reads, then ours */
    char *args[32] = {argv[0]};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
            pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-acc") && i + 1 < argc)
            min_acc = atof(argv[++i]);
        else if (n_args < 32)
            args[n_args++] = argv[i];
    }
    if (example_parse(n_args, args, &o) != 0 || pairs < 2)
        return 2;
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    int rc = example_load_or_skip(argv[0], &o, 0, &x_train, &y_train, &x_test, &y_test);
    if (rc != 0)
        return rc;
    int rows[2] = {x_train->shape[0], x_test->shape[0]};
    if (dc_tensor_reshape(x_train, 2, (int[]){rows[0], 784}) || dc_tensor_reshape(x_test, 2, (int[]){rows[1], 784}))
        return example_fail(argv[0], "reshape");

    dc_rng rng;
    dc_rng_seed(&rng, o.seed);
    dc_tensor *tr_a, *tr_b, *tr_y, *te_a, *te_b, *te_y;
    if (make_pairs(x_train, y_train, pairs, &rng, &tr_a, &tr_b, &tr_y) ||
        make_pairs(x_test, y_test, 10000, &rng, &te_a, &te_b, &te_y))
        return example_fail(argv[0], "pairs");

    dc_model *m = siamese(784, o.seed, o.threads);
    if (!m)
        return example_fail(argv[0], "model");
    dc_model_summary(m, stdout);
    const char *picture = o.out ? o.out : "siamese_model.png";
    if (dc_plot_model(picture, m) != DC_OK)
        return example_fail(argv[0], "plot_model");
    printf("The model's graph: %s\n", picture);
    /* Keras' fit([xa, xb], y): the two inputs packed into the one x */
    dc_tensor *x = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){tr_a, tr_b});
    dc_tensor *xt = dc_model_pack_inputs(m, 2, (const dc_tensor *[]){te_a, te_b});
    if (!x || !xt)
        return example_fail(argv[0], "pack_inputs");
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.validation_split = 0.1f;
    if (dc_model_fit(m, x, tr_y, &fit, NULL) != DC_OK)
        return example_fail(argv[0], "fit");
    double r[2];
    if (dc_model_evaluate(m, xt, te_y, 256, 0, r, 2) != DC_OK)
        return example_fail(argv[0], "evaluate");
    printf("Test pairs: %d, loss %.4f, accuracy %.4f\n", te_y->shape[0], r[0], r[1]);

    dc_tensor *p = NULL;
    if (dc_model_predict(m, xt, 256, &p) != DC_OK)
        return example_fail(argv[0], "predict");
    for (int i = 0; i < 4; i++) /* the first test pairs, two of each kind */
        printf("pair %d: p(same digit) = %.3f (%s)\n", i, p->data[i], te_y->data[i] ? "same" : "different");
    rc = min_acc >= 0 && r[1] < min_acc;
    if (rc)
        fprintf(stderr, "%s: test accuracy %.4f is below %.4f\n", argv[0], r[1], min_acc);
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_tensor_free(xt);
    dc_tensor *all[] = {tr_a, tr_b, tr_y, te_a, te_b, te_y, x_train, y_train, x_test, y_test};
    for (int i = 0; i < 10; i++)
        dc_tensor_free(all[i]);
    dc_model_free(m);
    return rc;
}
