/*
 * logistic_regression.c - logistic regression on a real binary dataset, the
 * Wisconsin breast cancer data (569 tumours, 30 features, malignant or
 * benign), as a Keras tutorial would write it:
 *
 *   X, y = load_breast_cancer(return_X_y=True)
 *   X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
 *   scaler = StandardScaler().fit(X_train)
 *   X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
 *   model = Sequential([Dense(1, activation='sigmoid', input_shape=(30,))])
 *   model.compile(optimizer=Adam(0.01), loss='binary_crossentropy', metrics=['accuracy'])
 *   history = model.fit(X_train, y_train, epochs=100, validation_split=0.2)
 *   model.evaluate(X_test, y_test)
 *   plot(history)                                    # the training curves
 *   ConfusionMatrixDisplay.from_predictions(y_test, y_pred)
 *
 * The data comes from Debian's python3-sklearn package (fetched into
 * ~/.cache/deepc or $DEEPC_CACHE on the first run and verified).  It prints
 * the test accuracy and writes logistic_regression_history.png and
 * logistic_regression_confusion.png (or the --out prefix given, with .svg
 * when --svg).
 *
 * Usage: logistic_regression [--epochs N] [--batch N] [--seed N] [--out PREFIX] [--svg]
 */
#include "example_util.h"

#include <deepc_plot.h>

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 100, .batch = 32, .seed = 42, .out = "logistic_regression"};
    if (example_parse(argc, argv, &o))
        return 2;
    int epochs = o.epochs, svg = o.svg;
    unsigned long seed = o.seed;
    const char *prefix = o.out;

    // X, y = load_breast_cancer(return_X_y=True)
    // X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    // scaler = StandardScaler().fit(X_train); X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    dc_tensor *x, *y, *x_train, *x_test, *y_train, *y_test;
    if (dc_sklearn_load("breast_cancer", NULL, &x, &y))
        return example_fail(argv[0], "loading the data");
    if (dc_train_test_split(x, y, 0.2f, seed, &x_train, &x_test, &y_train, &y_test))
        return example_fail(argv[0], "splitting");
    dc_scaler *scaler;
    if (dc_scaler_fit(x_train, &scaler) || dc_scaler_transform(scaler, x_train) || dc_scaler_transform(scaler, x_test))
        return example_fail(argv[0], "standardising");
    printf("breast cancer: %d training and %d test samples, %d features\n", x_train->shape[0], x_test->shape[0],
           x_train->shape[1]);

    // model = Sequential([Dense(1, activation='sigmoid', input_shape=(30,))])
    dc_model *model = dc_sequential_new(1, (int[]){x->shape[1]});
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_add(model, dc_layer_dense(1, "sigmoid"));
    dc_model_set_seed(model, seed);

    // model.compile(optimizer=Adam(0.01), loss='binary_crossentropy', metrics=['accuracy'])
    if (dc_model_compile_lr(model, "adam", 0.01f, "binary_crossentropy", (const char *[]){"accuracy"}, 1))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);

    // history = model.fit(X_train, y_train, epochs=100, validation_split=0.2)
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = epochs;
    fit.validation_split = 0.2f;
    fit.batch_size = o.batch;
    fit.verbose = 2;
    dc_history *h;
    if (dc_model_fit(model, x_train, y_train, &fit, &h))
        return example_fail(argv[0], "fit");

    // model.evaluate(X_test, y_test)
    double res[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 0, res, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test loss: %.4f\nTest accuracy: %.4f\n", res[0], res[1]);

    char history_png[512], confusion_png[512];
    const char *ext = svg ? "svg" : "png";
    snprintf(history_png, sizeof history_png, "%s_history.%s", prefix, ext);
    snprintf(confusion_png, sizeof confusion_png, "%s_confusion.%s", prefix, ext);
    // plot(history); ConfusionMatrixDisplay.from_predictions(y_test, y_pred)
    if (dc_plot_history(history_png, h, "Logistic regression, breast cancer"))
        return example_fail(argv[0], "plotting the history");

    dc_tensor *prob;
    if (dc_model_predict(model, x_test, 0, &prob))
        return example_fail(argv[0], "predict");
    for (size_t i = 0; i < prob->size; i++)
        prob->data[i] = prob->data[i] > 0.5f; /* the class, as Keras' binary accuracy thresholds */
    const char *names[] = {"malignant", "benign"};
    if (dc_plot_confusion_matrix(confusion_png, y_test->data, prob->data, (int)prob->size, 2, names,
                                 "Breast cancer, test set"))
        return example_fail(argv[0], "plotting the confusion matrix");
    printf("wrote %s and %s\n", history_png, confusion_png);

    dc_tensor_free(prob);
    dc_history_free(h);
    dc_model_free(model);
    dc_scaler_free(scaler);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(x_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_train);
    dc_tensor_free(y_test);
    return 0;
}
