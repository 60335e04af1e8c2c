/*
 * image_folder.c - train on your own folder of images, the Keras way:
 *
 *   train_ds, val_ds = keras.utils.image_dataset_from_directory(
 *       directory, validation_split=0.2, subset="both", seed=1337,
 *       image_size=(28, 28), color_mode="grayscale", batch_size=32)
 *   model = keras.Sequential([
 *       keras.Input((28, 28, 1)), layers.Rescaling(1 / 255),
 *       layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
 *       layers.Flatten(), layers.Dense(len(train_ds.class_names), activation="softmax")])
 *   model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
 *   model.fit(train_ds, validation_data=val_ds, epochs=2)
 *
 * DIRECTORY holds one sub-folder per class (bmp, gif, jpeg, png files,
 * found recursively).  Images are decoded on a worker thread while the
 * model trains, so the folder may be larger than memory.  MNIST as PNG
 * files (bench/dataset_mnist_png.py writes ~/.cache/deepc/mnist_png) makes
 * a good first folder:
 *
 *   image_folder ~/.cache/deepc/mnist_png/training --epochs 1
 *
 * Usage: image_folder DIRECTORY [--epochs N] [--size N] [--rgb] [--steps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepc.h"

static int fail(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, dc_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s DIRECTORY [--epochs N] [--size N] [--rgb] [--steps N]\n", argv[0]);
        return 2;
    }
    int epochs = 2, size = 28, rgb = 0, steps = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rgb"))
            rgb = 1;
        else {
            fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    // train_ds, val_ds = image_dataset_from_directory(directory, validation_split=0.2, subset="both", seed=1337, ...)
    dc_image_dir_config c = dc_image_dir_defaults();
    c.validation_split = 0.2f;
    c.subset = DC_SUBSET_BOTH;
    c.seed = 1337;
    c.image_size[0] = c.image_size[1] = size;
    c.color_mode = rgb ? DC_COLOR_RGB : DC_COLOR_GRAYSCALE;
    dc_loader *train, *val;
    if (dc_image_dataset_from_directory(argv[1], &c, &train, &val))
        return fail(argv[0], "image_dataset_from_directory");
    int classes = dc_loader_num_classes(train);
    printf("classes:");
    for (int i = 0; i < classes; i++)
        printf(" %s", dc_loader_class_name(train, i));
    printf("\n");
    int channels = rgb ? 3 : 1;
    dc_model *model = dc_sequential_new(3, (int[]){size, size, channels});
    if (!model)
        return fail(argv[0], "model");
    dc_model_add(model, dc_layer_rescaling(1.0f / 255.0f, 0.0f));
    dc_model_add(model, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_flatten());
    dc_model_add(model, dc_layer_dense(classes, "softmax"));
    dc_model_set_seed(model, 1337);
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1))
        return fail(argv[0], "compile");
    // model.fit(train_ds, validation_data=val_ds, epochs=epochs)
    dc_loader_fit_config fit = dc_loader_fit_defaults();
    fit.epochs = epochs;
    fit.validation_data = val;
    fit.steps_per_epoch = steps;
    dc_history *h;
    if (dc_model_fit_loader(model, train, &fit, &h))
        return fail(argv[0], "fit");
    const double *acc = dc_history_get(h, "val_accuracy");
    if (acc)
        printf("validation accuracy after %d epochs: %.4f\n", h->epochs, acc[h->epochs - 1]);
    dc_history_free(h);
    dc_model_free(model);
    dc_loader_free(train);
    dc_loader_free(val);
    return 0;
}
