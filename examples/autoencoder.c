/*
 * autoencoder.c - the convolutional autoencoder of the Keras blog ("Building
 * Autoencoders in Keras"), on MNIST digits scaled to [0, 1]:
 *
 *   input_img = Input(shape=(28, 28, 1))
 *   x = Conv2D(16, (3, 3), activation='relu', padding='same')(input_img)
 *   x = MaxPooling2D((2, 2), padding='same')(x)
 *   x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
 *   x = MaxPooling2D((2, 2), padding='same')(x)
 *   x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
 *   encoded = MaxPooling2D((2, 2), padding='same')(x)          # (4, 4, 8)
 *   x = Conv2D(8, (3, 3), activation='relu', padding='same')(encoded)
 *   x = UpSampling2D((2, 2))(x)
 *   x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
 *   x = UpSampling2D((2, 2))(x)
 *   x = Conv2D(16, (3, 3), activation='relu')(x)               # valid: 16 -> 14
 *   x = UpSampling2D((2, 2))(x)
 *   decoded = Conv2D(1, (3, 3), activation='sigmoid', padding='same')(x)
 *   autoencoder.compile(optimizer='adam', loss='binary_crossentropy')
 *   autoencoder.fit(x_train, x_train, epochs=..., batch_size=128, shuffle=True,
 *                   validation_data=(x_test, x_test))
 *
 * --denoise: the blog's denoising variant of the data: the inputs get
 *   x + 0.5 * N(0, 1) noise (drawn from a generator seeded by --seed),
 *   clipped to [0, 1]; the targets stay clean.
 * --transpose: the decoder learns its upsampling: each Conv2D + UpSampling2D
 *   pair becomes one Conv2DTranspose(stride 2, same): ConvT(8) 4->8, ConvT(8)
 *   8->16, Conv2D(16, valid) 16->14, ConvT(16) 14->28, Conv2D(1, sigmoid).
 * --train N / --test N: use the first N images of each set (quick runs).
 * --max-loss L: exit 1 unless the test loss is below L (the ctest's check).
 * --out FILE.png|FILE.svg: where the picture goes (default autoencoder.png):
 *   the first 10 test digits, their noisy inputs with --denoise, and the
 *   reconstructions, as the blog shows them.
 *
 * Prints the test reconstruction loss and, for scale, the loss of always
 * predicting the mean training image.  With DEEPC_OFFLINE set and MNIST not
 * cached it exits 77 (skipped).
 * Usage: autoencoder [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion]
 *                    [--denoise] [--transpose] [--train N] [--test N] [--max-loss L] [--out FILE]
 */
#include "autoencoder_model.h"
#include "example_util.h"

#include <deepc_plot.h>

#include <math.h>

typedef struct ae_opts {
    int denoise, transpose, n_train, n_test;
    double max_loss;
} ae_opts;

/* Takes this example's own options out of argv; the rest go to example_parse. */
static int ae_parse(int *argc, char **argv, ae_opts *a)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--denoise"))
            a->denoise = 1;
        else if (!strcmp(argv[i], "--transpose"))
            a->transpose = 1;
        else if (!strcmp(argv[i], "--train") && i + 1 < *argc)
            a->n_train = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--test") && i + 1 < *argc)
            a->n_test = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-loss") && i + 1 < *argc)
            a->max_loss = atof(argv[++i]);
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return a->n_train < 0 || a->n_test < 0;
}

/* The first n images of x (all when n is 0 or too large), as a new tensor. */
static dc_tensor *first_images(const dc_tensor *x, int n)
{
    if (n <= 0 || n > x->shape[0])
        n = x->shape[0];
    dc_tensor *t = dc_tensor_new4(4, n, 28, 28, 1);
    if (t)
        memcpy(t->data, x->data, t->size * sizeof(float));
    return t;
}

/* A noisy copy: x + 0.5 * N(0, 1), clipped to [0, 1] (the blog's noise_factor). */
static dc_tensor *noisy_copy(const dc_tensor *x, dc_rng *rng)
{
    dc_tensor *t = first_images(x, 0);
    for (size_t i = 0; t && i < t->size; i++) {
        float v = t->data[i] + 0.5f * dc_rng_normal(rng);
        t->data[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    return t;
}

/* Binary cross-entropy of predicting the mean training image for every test
 * image: what a model that learnt nothing about the input would score. */
static double mean_image_loss(const dc_tensor *x_train, const dc_tensor *x_test)
{
    double mean[784] = {0}, loss = 0;
    int n = x_train->shape[0], m = x_test->shape[0];
    for (int i = 0; i < n; i++)
        for (int p = 0; p < 784; p++)
            mean[p] += x_train->data[(size_t)i * 784 + p] / n;
    for (int i = 0; i < m; i++)
        for (int p = 0; p < 784; p++) {
            double q = fmin(fmax(mean[p], 1e-7), 1 - 1e-7), y = x_test->data[(size_t)i * 784 + p];
            loss -= y * log(q) + (1 - y) * log(1 - q);
        }
    return loss / ((double)m * 784);
}

/* Draws the first (up to) 10 test digits over their reconstructions (and
 * the noisy inputs between them with --denoise). */
static int show(dc_model *m, const dc_tensor *x_test, const dc_tensor *in_test, int denoise, const char *path)
{
    int n = x_test->shape[0] < 10 ? x_test->shape[0] : 10;
    dc_tensor *few = first_images(in_test, n), *rec = NULL;
    if (!few || dc_model_predict(m, few, n, &rec)) {
        dc_tensor_free(few);
        return 1;
    }
    const float *rows[3] = {x_test->data, few->data, rec->data};
    const char *labels[3] = {"original", "noisy input", "reconstructed"};
    if (!denoise) {
        rows[1] = rec->data;
        labels[1] = labels[2];
    }
    int rc = dc_plot_images(path, rows, denoise ? 3 : 2, n, 28, 28, labels, "Convolutional autoencoder") != DC_OK;
    dc_tensor_free(few);
    dc_tensor_free(rec);
    return rc;
}

int main(int argc, char **argv)
{
    ae_opts a = {0, 0, 0, 0, 0.0};
    example_opts o = {.epochs = 10, .batch = 128, .seed = 42, .out = "autoencoder.png"};
    if (ae_parse(&argc, argv, &a) || example_parse(argc, argv, &o)) {
        fprintf(stderr, "%s: also [--denoise] [--transpose] [--train N] [--test N] [--max-loss L]\n", argv[0]);
        return 2;
    }
    dc_tensor *x_all, *y_all, *x_test_all, *y_test_all;
    int loaded = example_load_or_skip(argv[0], &o, 1, &x_all, &y_all, &x_test_all, &y_test_all);
    if (loaded != 0)
        return loaded;
    dc_tensor *x_train = first_images(x_all, a.n_train), *x_test = first_images(x_test_all, a.n_test);
    dc_tensor *in_train = x_train, *in_test = x_test;
    dc_tensor_free(x_all);
    dc_tensor_free(y_all);
    dc_tensor_free(x_test_all);
    dc_tensor_free(y_test_all);
    if (!x_train || !x_test)
        return example_fail(argv[0], "copying the data");
    if (a.denoise) {
        dc_rng rng;
        dc_rng_seed(&rng, o.seed);
        in_train = noisy_copy(x_train, &rng);
        in_test = noisy_copy(x_test, &rng);
        if (!in_train || !in_test)
            return example_fail(argv[0], "adding noise");
    }

    dc_model *model = dc_sequential_new(3, (int[]){28, 28, 1});
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);
    if (autoencoder_build(model, a.transpose))
        return example_fail(argv[0], "adding layers");
    if (dc_model_compile(model, "adam", "binary_crossentropy", NULL, 0))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.x_val = in_test;
    fit.y_val = x_test;
    if (dc_model_fit(model, in_train, x_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    double loss;
    if (dc_model_evaluate(model, in_test, x_test, 128, 0, &loss, 1))
        return example_fail(argv[0], "evaluate");
    double baseline = mean_image_loss(x_train, x_test);
    printf("Mean-image loss: %.4f\n", baseline);
    printf("Test reconstruction loss: %.4f\n", loss);

    if (show(model, x_test, in_test, a.denoise, o.out))
        return example_fail(argv[0], "drawing the reconstructions");
    printf("wrote %s\n", o.out);

    int rc = a.max_loss > 0 && !(loss < a.max_loss);
    if (rc)
        fprintf(stderr, "%s: test loss %.4f is not below %.4f\n", argv[0], loss, a.max_loss);
    if (in_train != x_train)
        dc_tensor_free(in_train);
    if (in_test != x_test)
        dc_tensor_free(in_test);
    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(x_test);
    return rc;
}
