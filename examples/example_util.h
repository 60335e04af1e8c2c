/*
 * example_util.h - what the examples share: their command-line options and
 * loading MNIST or Fashion-MNIST as float tensors scaled to [0, 1], the way
 * the tutorials do (x / 255.0).  Header-only so each example stays one file
 * to read.
 */
#ifndef DC_EXAMPLE_UTIL_H
#define DC_EXAMPLE_UTIL_H

#include <deepc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct example_opts {
    int epochs, batch, threads, fashion, svg;
    unsigned long seed;
    const char *out; /* where plots go (a file, or a prefix) */
} example_opts;

/* Parses --epochs --batch --seed --threads --fashion --out --svg; returns 0
 * on success. */
static inline int example_parse(int argc, char **argv, example_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            o->epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            o->batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            o->seed = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            o->threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fashion"))
            o->fashion = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            o->out = argv[++i];
        else if (!strcmp(argv[i], "--svg"))
            o->svg = 1;
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--out PATH] [--svg]\n",
                    argv[0]);
            return 2;
        }
    }
    return 0;
}

/* Loads the data set; images get a trailing channel axis when `channels`
 * (x.reshape(-1, 28, 28, 1) in the tutorials).  Returns 0 on success. */
static inline int example_load(const example_opts *o, int channels, dc_tensor **x_train, dc_tensor **y_train,
                               dc_tensor **x_test, dc_tensor **y_test)
{
    dc_dataset d;
    if ((o->fashion ? dc_fashion_mnist_load(NULL, &d) : dc_mnist_load(NULL, &d)) != DC_OK)
        return 1;
    *x_train = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f);
    *y_train = dc_tensor_from_u8(d.y_train, 1.0f);
    *x_test = dc_tensor_from_u8(d.x_test, 1.0f / 255.0f);
    *y_test = dc_tensor_from_u8(d.y_test, 1.0f);
    dc_dataset_free(&d);
    if (!*x_train || !*y_train || !*x_test || !*y_test)
        return 1;
    if (channels) {
        int tr[4] = {(*x_train)->shape[0], 28, 28, 1}, te[4] = {(*x_test)->shape[0], 28, 28, 1};
        if (dc_tensor_reshape(*x_train, 4, tr) || dc_tensor_reshape(*x_test, 4, te))
            return 1;
    }
    return 0;
}


/* example_load for an example ctest runs: on failure, 77 (ctest's skip)
 * when DEEPC_OFFLINE is set, since the data is then not cached and may not
 * be fetched, else 1 with the message printed; 0 on success. */
static inline int example_load_or_skip(const char *prog, const example_opts *o, int channels, dc_tensor **x_train,
                                       dc_tensor **y_train, dc_tensor **x_test, dc_tensor **y_test)
{
    if (example_load(o, channels, x_train, y_train, x_test, y_test) == 0)
        return 0;
    const char *offline = getenv("DEEPC_OFFLINE");
    if (offline && *offline && strcmp(offline, "0") != 0) {
        printf("skipped: the data is not cached and DEEPC_OFFLINE is set (%s)\n", dc_errmsg());
        return 77;
    }
    fprintf(stderr, "%s: loading the data: %s\n", prog, dc_errmsg());
    return 1;
}
/* The text examples' split: a seeded shuffle of 0 .. n-1 whose first 80%
 * (*n_train) is for training.  A new array, or NULL. */
static inline int *example_split(int n, unsigned long seed, int *n_train)
{
    int *perm = malloc((size_t)n * sizeof *perm);
    dc_rng rng;
    dc_rng_seed(&rng, seed);
    for (int i = 0; perm && i < n; i++)
        perm[i] = i;
    if (perm)
        dc_rng_shuffle(&rng, perm, n);
    *n_train = n * 8 / 10;
    return perm;
}

/* The labels all[idx[0 .. n)] as a (n,) tensor. */
static inline dc_tensor *example_labels(const int *all, const int *idx, int n)
{
    dc_tensor *y = dc_tensor_new(1, &n);
    for (int i = 0; y && i < n; i++)
        y->data[i] = (float)all[idx[i]];
    return y;
}

static inline int example_fail(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, dc_errmsg());
    return 1;
}

/* The text examples' x: texts[idx[0 .. n)] tokenized and padded (Keras'
 * pad_sequences defaults: pre) to maxlen; NULL with dc_errmsg() set. */
static inline dc_tensor *example_pad_texts(const dc_tokenizer *tok, char **texts, const int *idx, int n, int maxlen)
{
    const char **sel = malloc((size_t)n * sizeof *sel);
    if (!sel)
        return NULL;
    for (int i = 0; i < n; i++)
        sel[i] = texts[idx[i]];
    dc_sequences *seqs = NULL;
    dc_tensor *x = NULL;
    dc_pad_config pad = dc_pad_defaults();
    pad.maxlen = maxlen;
    if (dc_tokenizer_texts_to_sequences(tok, sel, n, &seqs) == DC_OK)
        dc_pad_sequences(seqs, &pad, &x);
    dc_sequences_free(seqs);
    free(sel);
    return x;
}

/* Seed 003's CNN (examples/cnn.c), seeded, threaded and compiled as cnn.c
 * compiles it, for the examples that start from it; NULL with dc_errmsg()
 * set.
 *   Sequential([Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu),
 *               MaxPooling2D(2), Flatten(), Dense(128, relu), Dense(10, softmax)])
 *   compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy']) */
static inline dc_model *example_cnn003(const example_opts *o)
{
    dc_model *model = dc_sequential_new(3, (int[]){28, 28, 1});
    if (!model)
        return NULL;
    dc_model_add(model, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_conv2d(64, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_flatten());
    dc_model_add(model, dc_layer_dense(128, "relu"));
    dc_model_add(model, dc_layer_dense(10, "softmax"));
    dc_model_set_seed(model, o->seed);
    dc_model_set_threads(model, o->threads);
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1)) {
        dc_model_free(model);
        return NULL;
    }
    return model;
}

#endif
