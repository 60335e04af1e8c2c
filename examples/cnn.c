/*
 * cnn.c - seed 003's convolutional network:
 *
 *   model = Sequential([
 *       Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
 *       MaxPooling2D((2, 2)),
 *       Conv2D(64, (3, 3), activation='relu'),
 *       MaxPooling2D((2, 2)),
 *       Flatten(),
 *       Dense(128, activation='relu'),
 *       Dense(10, activation='softmax')])
 *   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=5)
 *   test_loss, test_acc = model.evaluate(x_test, y_test)
 *
 * On MNIST (default) or Fashion-MNIST (--fashion, 10 epochs by default there).
 * --augment puts the Keras tutorials' augmentation in front (random in fit,
 * the identity in evaluate):
 *       RandomFlip('horizontal'), RandomTranslation(0.1, 0.1), RandomRotation(0.05)
 * Usage: cnn [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--augment]
 */
#include "example_util.h"

/* Takes --augment out of argv (the common options parse the rest). */
static int take_augment(int *argc, char **argv)
{
    int found = 0, n = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--augment"))
            found = 1;
        else
            argv[n++] = argv[i];
    }
    *argc = n;
    return found;
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 0, .batch = 32, .seed = 42};
    int augment = take_augment(&argc, argv);
    if (example_parse(argc, argv, &o))
        return 2;
    if (o.epochs == 0)
        o.epochs = o.fashion ? 10 : 5;

    // x_train = x_train.reshape(-1, 28, 28, 1) / 255.0  (and x_test)
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    if (example_load(&o, 1, &x_train, &y_train, &x_test, &y_test))
        return example_fail(argv[0], "loading the data");

    dc_model *model = dc_sequential_new(3, (int[]){28, 28, 1});
    if (!model)
        return example_fail(argv[0], "creating the model");
    if (augment) {
        // RandomFlip('horizontal'), RandomTranslation(0.1, 0.1), RandomRotation(0.05)
        const float t[2] = {-0.1f, 0.1f}, r[2] = {-0.05f, 0.05f};
        dc_model_add(model, dc_layer_random_flip("horizontal"));
        dc_model_add(model, dc_layer_random_translation(t, t, NULL, NULL, 0.0f));
        dc_model_add(model, dc_layer_random_rotation(r, NULL, NULL, 0.0f));
    }
    // model = Sequential([
    //     Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
    //     MaxPooling2D((2, 2)),
    //     Conv2D(64, (3, 3), activation='relu'),
    //     MaxPooling2D((2, 2)),
    //     Flatten(),
    //     Dense(128, activation='relu'),
    //     Dense(10, activation='softmax')])
    dc_model_add(model, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_conv2d(64, 3, 3, "relu"));
    dc_model_add(model, dc_layer_max_pooling2d(2, 2));
    dc_model_add(model, dc_layer_flatten());
    dc_model_add(model, dc_layer_dense(128, "relu"));
    dc_model_add(model, dc_layer_dense(10, "softmax"));
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);

    // model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);

    // model.fit(x_train, y_train, epochs=5)
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");

    // test_loss, test_acc = model.evaluate(x_test, y_test)
    double test[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 1, test, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test accuracy: %.4f\n", test[1]);

    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return 0;
}
