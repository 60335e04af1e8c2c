/*
 * onnx_export.c - seed 003's convolutional network (cnn.c), trained, then
 * saved as ONNX for ONNX Runtime and every other ONNX tool:
 *
 *   model = Sequential([Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
 *                       MaxPooling2D((2, 2)), Conv2D(64, (3, 3), activation='relu'),
 *                       MaxPooling2D((2, 2)), Flatten(), Dense(128, activation='relu'),
 *                       Dense(10, activation='softmax')])
 *   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=1)
 *   tf2onnx / torch.onnx.export  ->  dc_model_save_onnx(model, "cnn.onnx", NULL)
 *
 * Besides the model it writes the first 8 test images as raw float32
 * (<out>.images.f32, (8, 28, 28, 1)) and prints deepc's prediction for
 * each, so the README's ONNX Runtime run can be compared with them:
 *
 *   NODE_PATH=$(sh tests/onnx/install_ort.sh) node tests/onnx/ort_run.js cnn.onnx out_ \
 *       cnn.onnx.images.f32:8x28x28x1 --print
 *
 * Usage: onnx_export [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--out FILE.onnx]
 */
#include "example_util.h"

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 1, .batch = 32, .seed = 42, .out = "cnn.onnx"};
    if (example_parse(argc, argv, &o))
        return 2;
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    int st = example_load_or_skip(argv[0], &o, 1, &x_train, &y_train, &x_test, &y_test);
    if (st)
        return st;

    dc_model *model = example_cnn003(&o);
    if (!model)
        return example_fail(argv[0], "creating the model");

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    double test[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 0, test, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test accuracy: %.4f\n", test[1]);

    // The ONNX file: opset 17, a dynamic batch axis, input "input_layer"
    // (batch, 28, 28, 1) as predict takes it, output "dense_1" (batch, 10).
    if (dc_model_save_onnx(model, o.out, NULL))
        return example_fail(argv[0], "save_onnx");
    printf("Saved %s\n", o.out);

    // The first 8 test images for ONNX Runtime, and deepc's answers for them.
    char images[1024];
    snprintf(images, sizeof images, "%s.images.f32", o.out);
    size_t per = 28 * 28;
    FILE *f = fopen(images, "wb");
    if (!f || fwrite(x_test->data, sizeof(float), 8 * per, f) != 8 * per || fclose(f) != 0)
        return example_fail(argv[0], "writing the images");
    dc_tensor *first = dc_tensor_new4(4, 8, 28, 28, 1), *pred = NULL;
    memcpy(first->data, x_test->data, 8 * per * sizeof(float));
    if (dc_model_predict(model, first, 8, &pred))
        return example_fail(argv[0], "predict");
    printf("Saved %s (8, 28, 28, 1); deepc predicts:\n", images);
    for (int i = 0; i < 8; i++) {
        int k = 0;
        for (int j = 1; j < 10; j++)
            k = pred->data[i * 10 + j] > pred->data[i * 10 + k] ? j : k;
        printf("  image %d: class %d (p %.6f), label %d\n", i, k, pred->data[i * 10 + k], (int)y_test->data[i]);
    }

    dc_tensor_free(first);
    dc_tensor_free(pred);
    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return 0;
}
