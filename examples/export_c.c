/*
 * export_c.c - a trained network as plain C, float and int8, for a place
 * only a C compiler goes (a microcontroller, a plugin, a static binary):
 *
 *   1. train seed 003's CNN on MNIST (examples/cnn.c's model);
 *   2. export it as C: <out>/cnn_float.h and cnn_float.c;
 *   3. quantize it to int8 (TensorFlow Lite's scheme), calibrated on 1000
 *      training images, evaluate it, export it: <out>/cnn_int8.h, cnn_int8.c;
 *   4. write one test image to <out>/digit.h for export_c_main.c.
 *
 * Then, with nothing but the generated files:
 *   cc -std=c99 -O2 -I<out> -o classify examples/export_c_main.c <out>/cnn_float.c <out>/cnn_int8.c -lm
 *   ./classify
 *
 * Usage: export_c [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion] [--out DIR] [--train N]
 *                 (--out: where the files go, default "."; --epochs default 5; --train: the first N
 *                 training images only)
 */
#include "example_util.h"

#include <sys/stat.h>

/* Takes "--train N" out of argv: N, 0 when absent, -1 when bad. */
static int take_train(int *argc, char **argv)
{
    int n = 0, k = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--train") && i + 1 < *argc) {
            n = atoi(argv[++i]);
            if (n <= 0)
                return -1;
        } else {
            argv[k++] = argv[i];
        }
    }
    *argc = k;
    return n;
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42, .out = "."};
    int n_train = take_train(&argc, argv);
    if (n_train < 0 || example_parse(argc, argv, &o))
        return 2;
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    int loaded = example_load_or_skip(argv[0], &o, 1, &x_train, &y_train, &x_test, &y_test);
    if (loaded)
        return loaded;
    if (n_train > 0 && n_train < x_train->shape[0]) { /* the first n_train images (quick runs, CI) */
        dc_tensor *x = dc_tensor_from(4, (int[]){n_train, 28, 28, 1}, x_train->data);
        dc_tensor *y = dc_tensor_from(1, &n_train, y_train->data);
        dc_tensor_free(x_train);
        dc_tensor_free(y_train);
        x_train = x;
        y_train = y;
        if (!x || !y)
            return example_fail(argv[0], "taking the first --train images");
    }

    // the model of seed 003 (examples/cnn.c)
    dc_model *model = example_cnn003(&o);
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    double f32[2], i8[2];
    if (dc_model_evaluate(model, x_test, y_test, 256, 0, f32, 2))
        return example_fail(argv[0], "evaluate");

    // the float model as C (into --out, made if missing)
    mkdir(o.out, 0755);
    if (dc_model_export_c(model, o.out, "cnn_float", NULL))
        return example_fail(argv[0], "export (float)");

    // int8, calibrated on training images only, then as C
    dc_quantize_config q = dc_quantize_defaults();
    q.calibration = x_train;
    q.max_samples = 1000;
    if (dc_model_quantize(model, &q) || dc_model_evaluate(model, x_test, y_test, 256, 0, i8, 2))
        return example_fail(argv[0], "quantize");
    if (dc_model_export_c(model, o.out, "cnn_int8", NULL))
        return example_fail(argv[0], "export (int8)");
    printf("test accuracy: float %.4f, int8 %.4f (%.2f points)\n", f32[1], i8[1], 100 * (f32[1] - i8[1]));

    // one test image for export_c_main.c
    char path[1024];
    snprintf(path, sizeof path, "%s/digit.h", o.out);
    FILE *f = fopen(path, "w");
    if (!f)
        return example_fail(argv[0], "writing digit.h");
    fprintf(f, "/* MNIST test image 0 (label %d), pixels / 255 */\nstatic const int digit_label = %d;\n"
               "static const float digit[784] = {", (int)y_test->data[0], (int)y_test->data[0]);
    for (int i = 0; i < 784; i++)
        fprintf(f, "%s%.9e,", i % 8 ? " " : "\n    ", (double)x_test->data[i]); /* a double literal, converted */
    fprintf(f, "\n};\n");
    if (fclose(f))
        return example_fail(argv[0], "writing digit.h");
    printf("wrote %s/cnn_float.{h,c}, %s/cnn_int8.{h,c}, %s/digit.h\n", o.out, o.out, o.out);

    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return 0;
}
