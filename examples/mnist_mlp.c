/*
 * mnist_mlp.c - the tutorials' first network (seeds 000, 001, 004), line for
 * line with the Keras it ports (each block below carries its Python line).
 *
 * Usage: mnist_mlp [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion]
 */
#include "example_util.h"

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42};
    if (example_parse(argc, argv, &o))
        return 2;

    // (x_train, y_train), (x_test, y_test) = mnist.load_data()
    // x_train, x_test = x_train / 255.0, x_test / 255.0
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    if (example_load(&o, 0, &x_train, &y_train, &x_test, &y_test))
        return example_fail(argv[0], "loading the data");

    // model = Sequential([Flatten(input_shape=(28, 28)),
    //                     Dense(128, activation='relu'),
    //                     Dense(10, activation='softmax')])
    dc_model *model = dc_sequential_new(2, (int[]){28, 28});
    if (!model)
        return example_fail(argv[0], "creating the model");
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
    // print('Test accuracy:', test_acc)
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
