/*
 * iris_csv.c - a softmax classifier trained straight from a CSV file with a
 * header and text classes, as a Keras tutorial reads iris.csv with pandas:
 *
 *   df = pd.read_csv("iris.csv")
 *   X = df[["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]].values
 *   enc = LabelEncoder(); y = enc.fit_transform(df["Species"])
 *   X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
 *   scaler = StandardScaler().fit(X_train)
 *   X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
 *   model = Sequential([Dense(3, activation='softmax', input_shape=(4,))])
 *   model.compile(optimizer=Adam(0.05), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
 *   model.fit(X_train, y_train, epochs=100, batch_size=32, verbose=0)
 *   model.evaluate(X_test, y_test)
 *   enc.inverse_transform(model.predict(X_test[:5]).argmax(axis=1))
 *
 * The default file, tests/fixtures/csv/iris.csv, is Fisher's iris in the
 * layout of R's write.csv(iris) (quoted header and species, row names in
 * the first column, CRLF line ends); any CSV with those column names reads
 * the same.  Exits 1 if the test accuracy is below 0.9, so the test suite
 * runs it as a check.
 *
 * --normalization-layer standardises inside the model instead, as Keras'
 *   norm = Normalization(); norm.adapt(X_train)
 *   model = Sequential([norm, Dense(3, activation='softmax')])
 * (the layer keeps the training set's mean and variance as weights, so the
 * saved model takes raw measurements).
 *
 * Usage: iris_csv [FILE.csv] [--normalization-layer] [--epochs N] [--batch N] [--seed N]
 */
#include "example_util.h"

int main(int argc, char **argv)
{
    const char *path = "tests/fixtures/csv/iris.csv";
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        path = argv[1];
        argv++;
        argc--;
    }
    int norm_layer = argc > 1 && strcmp(argv[1], "--normalization-layer") == 0;
    if (norm_layer) {
        argv++;
        argc--;
    }
    example_opts o = {.epochs = 100, .batch = 32, .seed = 42};
    if (example_parse(argc, argv, &o))
        return 2;

    /* pd.read_csv + column selection by name + LabelEncoder, in one call. */
    dc_csv_config cfg = dc_csv_defaults();
    cfg.feature_names = (const char *const[]){"Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"};
    cfg.n_feature_names = 4;
    cfg.target_name = "Species";
    cfg.target_classes = 1;
    dc_tensor *x, *y, *x_train, *x_test, *y_train, *y_test;
    dc_csv_info info;
    if (dc_csv_load_ex(path, &cfg, &x, &y, &info))
        return example_fail(argv[0], "loading the CSV");
    printf("%s: %d rows, %d columns; classes:", path, x->shape[0], info.n_columns);
    for (int i = 0; i < info.n_classes; i++)
        printf(" %d=%s", i, info.class_names[i]);
    printf("\n");

    if (dc_train_test_split(x, y, 0.2f, o.seed, &x_train, &x_test, &y_train, &y_test))
        return example_fail(argv[0], "splitting");
    dc_scaler *scaler = NULL;
    dc_layer *norm = norm_layer ? dc_layer_normalization() : NULL;
    if (norm_layer ? dc_layer_normalization_adapt(norm, x_train)
                   : dc_scaler_fit(x_train, &scaler) || dc_scaler_transform(scaler, x_train) ||
                         dc_scaler_transform(scaler, x_test))
        return example_fail(argv[0], "standardising");

    dc_model *model = dc_sequential_new(1, (int[]){x->shape[1]});
    if (!model || (norm && dc_model_add(model, norm)) || dc_model_add(model, dc_layer_dense(info.n_classes, "softmax")))
        return example_fail(argv[0], "building the model");
    dc_model_set_seed(model, o.seed);
    dc_compile_config cc = {.optimizer = dc_optimizer_defaults(DC_OPT_ADAM), .loss = DC_LOSS_SPARSE_CE,
                            .metrics = {"accuracy"}};
    cc.optimizer.learning_rate = 0.05f;
    if (dc_model_compile_ex(model, &cc))
        return example_fail(argv[0], "compile");
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.verbose = 0;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    double res[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 0, res, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test loss: %.4f\nTest accuracy: %.4f\n", res[0], res[1]);

    /* The first predictions, named back through info.class_names. */
    dc_tensor *prob;
    if (dc_model_predict(model, x_test, 0, &prob))
        return example_fail(argv[0], "predict");
    for (int i = 0; i < 5 && i < prob->shape[0]; i++) {
        const float *p = prob->data + (size_t)i * (size_t)info.n_classes;
        int best = 0;
        for (int k = 1; k < info.n_classes; k++)
            best = p[k] > p[best] ? k : best;
        printf("sample %d: predicted %s (p=%.3f), true %s\n", i, info.class_names[best], p[best],
               info.class_names[(int)y_test->data[i]]);
    }

    int ok = res[1] >= 0.9;
    dc_tensor_free(prob);
    dc_model_free(model);
    dc_scaler_free(scaler);
    dc_csv_info_free(&info);
    dc_tensor *data[] = {x, y, x_train, x_test, y_train, y_test};
    for (size_t i = 0; i < sizeof data / sizeof *data; i++)
        dc_tensor_free(data[i]);
    return ok ? 0 : 1;
}
