/*
 * mnist_mlp.c - the tutorials' first network (seeds 000, 001, 004), line for
 * line:
 *
 *   (x_train, y_train), (x_test, y_test) = mnist.load_data()
 *   x_train, x_test = x_train / 255.0, x_test / 255.0
 *   model = Sequential([Flatten(input_shape=(28, 28)),
 *                       Dense(128, activation='relu'),
 *                       Dense(10, activation='softmax')])
 *   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy',
 *                 metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=5)
 *   test_loss, test_acc = model.evaluate(x_test, y_test)
 *   print('Test accuracy:', test_acc)
 *
 * Usage: mnist_mlp [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion]
 */
#include <deepc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "mnist_mlp: %s: %s\n", what, dc_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    int epochs = 5, batch = 32, threads = 0, fashion = 0;
    unsigned long seed = 42;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fashion"))
            fashion = 1;
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion]\n", argv[0]);
            return 2;
        }
    }

    dc_dataset data;
    if ((fashion ? dc_fashion_mnist_load(NULL, &data) : dc_mnist_load(NULL, &data)) != DC_OK)
        return fail("loading the data");
    dc_tensor *x_train = dc_tensor_from_u8(data.x_train, 1.0f / 255.0f);
    dc_tensor *y_train = dc_tensor_from_u8(data.y_train, 1.0f);
    dc_tensor *x_test = dc_tensor_from_u8(data.x_test, 1.0f / 255.0f);
    dc_tensor *y_test = dc_tensor_from_u8(data.y_test, 1.0f);
    dc_dataset_free(&data);
    if (!x_train || !y_train || !x_test || !y_test)
        return fail("converting the data");

    dc_model *model = dc_sequential_new(2, (int[]){28, 28});
    if (!model)
        return fail("creating the model");
    dc_model_set_seed(model, seed);
    dc_model_set_threads(model, threads);
    if (dc_model_add(model, dc_layer_flatten()) || dc_model_add(model, dc_layer_dense(128, "relu")) ||
        dc_model_add(model, dc_layer_dense(10, "softmax")))
        return fail("adding layers");

    const char *metrics[] = {"accuracy"};
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", metrics, 1))
        return fail("compile");
    dc_model_summary(model, stdout);

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = epochs;
    fit.batch_size = batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return fail("fit");

    double results[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 1, results, 2))
        return fail("evaluate");
    printf("Test accuracy: %.4f\n", results[1]);

    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return 0;
}
