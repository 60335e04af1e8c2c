/*
 * test_plot.c - every kind of plot renders to a valid file of the expected
 * size, and bad arguments get their message instead of reaching PLplot.
 *
 * A PNG is checked without looking at its pixels: the 8-byte signature, an
 * IHDR chunk first with the width and height asked for, and an IEND chunk
 * (with its fixed CRC) as the last 12 bytes.  An SVG must be an XML document
 * with an <svg> element of the asked size that is closed at the end.
 */
#include "testutil.h"

#include "deepc_plot.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static void temp_path(char *out, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/deepc_plot_%d_%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), name);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks and removes the PNG at path. */
static void assert_png(const char *path, uint32_t width, uint32_t height)
{
    static const unsigned char SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char IEND[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    size_t n;
    unsigned char *b = slurp(path, &n);
    assert_true(n > 8 + 25 + 12);
    assert_memory_equal(b, SIG, 8);
    assert_int_equal(be32(b + 8), 13);
    assert_memory_equal(b + 12, "IHDR", 4);
    assert_int_equal(be32(b + 16), width);
    assert_int_equal(be32(b + 20), height);
    assert_memory_equal(b + n - 12, IEND, 12);
    free(b);
    unlink(path);
}

static void assert_svg(const char *path, const char *size_attr)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    const char *s = (const char *)b;
    assert_true(strncmp(s, "<?xml", 5) == 0);
    const char *svg = strstr(s, "<svg");
    assert_non_null(svg);
    assert_non_null(strstr(svg, size_attr));
    while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
        n--;
    assert_true(n > 6 && memcmp(b + n - 6, "</svg>", 6) == 0);
    free(b);
    unlink(path);
}

enum { N = 50 };

static void line_data(float *x, float *y, float *ly)
{
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / N;
        ly[i] = 2 * x[i] + 1;
        y[i] = ly[i] + 0.1f * sinf(7.0f * (float)i);
    }
}

static void test_scatter_line_png_svg(void **state)
{
    (void)state;
    float x[N], y[N], ly[N];
    line_data(x, y, ly);
    char png[512], svg[512];
    temp_path(png, sizeof png, "scatter.png");
    temp_path(svg, sizeof svg, "scatter.svg");
    dc_plot_config c = dc_plot_defaults();
    c.title = "Scatter #1 & line";
    c.width = 640;
    c.height = 480;
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, "data", x, ly, N, "fit", &c), DC_OK);
    assert_png(png, 640, 480);
    assert_int_equal(dc_plot_scatter_line(svg, x, y, N, "data", x, ly, N, "fit", &c), DC_OK);
    assert_svg(svg, "width=\"640pt\" height=\"480pt\"");
    /* Points only, default size, a constant series (a flat range). */
    for (int i = 0; i < N; i++)
        y[i] = 3;
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, NULL, NULL, NULL, 0, NULL, NULL), DC_OK);
    assert_png(png, 800, 600);
}

/* A plot is drawn beside its target and renamed over it: a FIFO sitting at
 * the target is replaced, never opened (the old code blocked in fopen until
 * a reader came), the mode of a picture it replaces is kept, and no
 * temporary file is left behind. */
static void test_plot_replaces_atomically(void **state)
{
    (void)state;
    float x[N], y[N], ly[N];
    line_data(x, y, ly);
    char png[512];
    temp_path(png, sizeof png, "atomic.png");
    remove(png);
    assert_int_equal(mkfifo(png, 0600), 0);
    alarm(20); /* a blocked open ends the test instead of hanging it */
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, "data", x, ly, N, "fit", NULL), DC_OK);
    alarm(0);
    struct stat sb;
    assert_int_equal(stat(png, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_png(png, 800, 600); /* (and removes it) */
    FILE *f = fopen(png, "w"); /* a previous picture, mode 0640 */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(png, 0640), 0);
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, NULL, NULL, NULL, 0, NULL, NULL), DC_OK);
    assert_int_equal(stat(png, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    const char *slash = strrchr(png, '/'), *base = slash ? slash + 1 : png;
    char *dir = slash ? strndup(png, (size_t)(slash - png)) : strdup(".");
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, base, strlen(base)) && strlen(e->d_name) > strlen(base))
            fail_msg("a temporary file was left: %s", e->d_name);
    closedir(d);
    free(dir);
}

static dc_history *history(int with_val, int epochs)
{
    const char *keys[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    dc_history *h = dc_history_new(with_val ? 4 : 2, keys);
    for (int e = 0; e < epochs; e++) {
        double v[4] = {1.0 / (e + 1), 1 - 0.5 / (e + 1), 1.2 / (e + 1), 1 - 0.6 / (e + 1)};
        assert_int_equal(dc_history_append(h, v), DC_OK);
    }
    return h;
}

static void test_history_png(void **state)
{
    (void)state;
    char png[512];
    temp_path(png, sizeof png, "history.png");
    dc_history *h = history(1, 20);
    assert_int_equal(dc_plot_history(png, h, "Training"), DC_OK);
    assert_png(png, 1200, 450); /* two panels side by side */
    dc_history_free(h);
    h = history(0, 1); /* one epoch, no validation */
    assert_int_equal(dc_plot_history(png, h, NULL), DC_OK);
    assert_png(png, 1200, 450);
    dc_history_free(h);
    const char *keys[] = {"loss", "val_loss"};
    h = dc_history_new(2, keys);
    assert_int_equal(dc_history_append(h, (double[]){0.5, 0.6}), DC_OK);
    assert_int_equal(dc_history_append(h, (double[]){0.4, 0.5}), DC_OK);
    assert_int_equal(dc_plot_history(png, h, "loss only"), DC_OK);
    assert_png(png, 600, 450);
    dc_history_free(h);
}

static void test_confusion_png(void **state)
{
    (void)state;
    char png[512];
    temp_path(png, sizeof png, "confusion.png");
    float t[9] = {0, 0, 1, 1, 2, 2, 2, 0, 1}, p[9] = {0, 1, 1, 1, 2, 0, 2, 0, 1};
    const char *names[] = {"cat", "dog", "#bird"};
    assert_int_equal(dc_plot_confusion_matrix(png, t, p, 9, 3, names, "Pets"), DC_OK);
    assert_png(png, 700, 600);
    assert_int_equal(dc_plot_confusion_matrix(png, t, p, 9, 3, NULL, NULL), DC_OK);
    assert_png(png, 700, 600);
}

/* A compiled, untrained classifier of `inputs` features with `outputs`
 * softmax units (1: a sigmoid). */
static dc_model *classifier(int inputs, int outputs)
{
    dc_model *m = dc_sequential_new(1, (int[]){inputs});
    assert_int_equal(dc_model_add(m, dc_layer_dense(8, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(outputs, outputs == 1 ? "sigmoid" : "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam",
                                      outputs == 1 ? "binary_crossentropy" : "sparse_categorical_crossentropy", NULL, 0),
                     DC_OK);
    return m;
}

static void test_decision_boundary(void **state)
{
    (void)state;
    char png[512];
    temp_path(png, sizeof png, "regions.png");
    enum { P = 30 };
    dc_tensor *x = dc_tensor_new(2, (int[]){P, 2}), *y = dc_tensor_new(1, (int[]){P});
    for (int i = 0; i < P; i++) {
        x->data[2 * i] = (float)cos(i);
        x->data[2 * i + 1] = (float)sin(0.7 * i);
        y->data[i] = (float)(i % 3);
    }
    dc_model *m3 = classifier(2, 3), *m1 = classifier(2, 1), *wide = classifier(3, 3), *many = classifier(2, 11);
    dc_plot_config c = dc_plot_defaults();
    c.width = 640;
    c.height = 480;
    assert_int_equal(dc_plot_decision_boundary(png, m3, x, y, (const char *const[]){"a", "b", "c"}, &c), DC_OK);
    assert_png(png, 640, 480);

    /* Sigmoid output: two classes; a label of 2 is out of range then. */
    assert_int_equal(dc_plot_decision_boundary(png, m1, x, y, NULL, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("y[2] is 2; expected a class 0 to 1");
    for (int i = 0; i < P; i++)
        y->data[i] = (float)(i % 2);
    assert_int_equal(dc_plot_decision_boundary(png, m1, x, y, NULL, NULL), DC_OK);
    assert_png(png, 800, 600);

    assert_int_equal(dc_plot_decision_boundary(png, wide, x, y, NULL, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("plot_decision_boundary: ");
    assert_int_equal(dc_plot_decision_boundary(png, many, x, y, NULL, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("the model outputs (11,) per grid point");
    dc_tensor *x3 = dc_tensor_new(2, (int[]){P / 2, 3});
    assert_int_equal(dc_plot_decision_boundary(png, m3, x3, y, NULL, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("x has shape (15, 3); expected (samples, 2)");
    x->shape[0] = P - 1;
    assert_int_equal(dc_plot_decision_boundary(png, m3, x, y, NULL, NULL), DC_ERR_SHAPE);
    assert_errmsg_contains("x has 29 samples but y has 30 labels");
    x->shape[0] = P;
    x->data[7] = INFINITY;
    assert_int_equal(dc_plot_decision_boundary(png, m3, x, y, NULL, NULL), DC_ERR_NAN);
    assert_errmsg_contains("x[7] is inf");
    assert_int_equal(dc_plot_decision_boundary(png, NULL, x, y, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("dc_plot_decision_boundary: m is NULL");
    dc_tensor_free(x3);
    dc_model_free(m3);
    dc_model_free(m1);
    dc_model_free(wide);
    dc_model_free(many);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_plot_errors(void **state)
{
    (void)state;
    float x[N], y[N], ly[N];
    line_data(x, y, ly);
    char png[512];
    temp_path(png, sizeof png, "err.png");
    assert_int_equal(dc_plot_scatter_line(NULL, x, y, N, NULL, NULL, NULL, 0, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("path is NULL");
    assert_int_equal(dc_plot_scatter_line("plot.jpg", x, y, N, NULL, NULL, NULL, 0, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("plot.jpg: unknown image format");
    assert_int_equal(dc_plot_scatter_line("/nonexistent/dir/p.png", x, y, N, NULL, NULL, NULL, 0, NULL, NULL),
                     DC_ERR_IO);
    assert_errmsg_contains("cannot write /nonexistent/dir/p.png");
    y[3] = NAN;
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, NULL, NULL, NULL, 0, NULL, NULL), DC_ERR_NAN);
    assert_errmsg_contains("y[3] is nan");
    y[3] = 0;
    assert_int_equal(dc_plot_scatter_line(png, x, y, 0, NULL, NULL, NULL, 0, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("x has 0 values");
    dc_plot_config c = dc_plot_defaults();
    c.width = 3;
    assert_int_equal(dc_plot_scatter_line(png, x, y, N, NULL, NULL, NULL, 0, NULL, &c), DC_ERR_ARG);
    assert_errmsg_contains("size 3 x 600 pixels");

    assert_int_equal(dc_plot_history(png, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("the history is NULL");
    dc_history *h = history(1, 0);
    assert_int_equal(dc_plot_history(png, h, NULL), DC_ERR_ARG);
    assert_errmsg_contains("the history is empty");
    dc_history_free(h);
    /* Non-finite values are gaps; a series with nothing else is an error. */
    h = history(1, 3);
    h->values[2][1] = INFINITY;
    h->values[0][0] = NAN;
    assert_int_equal(dc_plot_history(png, h, NULL), DC_OK);
    assert_png(png, 1200, 450); /* two panels: loss, accuracy */
    for (int e = 0; e < 3; e++)
        h->values[2][e] = NAN;
    assert_int_equal(dc_plot_history(png, h, NULL), DC_ERR_NAN);
    assert_errmsg_contains("val_loss has no finite value in 3 epochs");
    dc_history_free(h);
    /* A callback's validation score with no training twin gets its own panel. */
    const char *keys[] = {"loss", "val_score"};
    h = dc_history_new(2, keys);
    assert_int_equal(dc_history_append(h, (double[]){0.5, NAN}), DC_OK);
    assert_int_equal(dc_history_append(h, (double[]){0.4, 0.7}), DC_OK);
    assert_int_equal(dc_plot_history(png, h, NULL), DC_OK);
    assert_png(png, 1200, 450);
    dc_history_free(h);

    float t[3] = {0, 1, 2}, p[3] = {0, 1, 3};
    assert_int_equal(dc_plot_confusion_matrix(png, t, p, 3, 3, NULL, NULL), DC_ERR_RANGE);
    assert_errmsg_contains("sample 2 has labels true 2, predicted 3");
    p[2] = 0.5f;
    assert_int_equal(dc_plot_confusion_matrix(png, t, p, 3, 3, NULL, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_plot_confusion_matrix(png, t, p, 3, 0, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("n_classes is 0");
    unlink(png);
}

/* dc_plot_images: a grid of originals over reconstructions; its errors. */
static void test_images_grid(void **state)
{
    (void)state;
    char png[256], bad[256];
    temp_path(png, sizeof png, "grid.png");
    temp_path(bad, sizeof bad, "grid.jpg");
    float a[3 * 6 * 5], b[3 * 6 * 5];
    for (int i = 0; i < 3 * 6 * 5; i++) {
        a[i] = (float)(i % 7) / 6.0f;
        b[i] = 1.5f - a[i]; /* partly outside [0, 1]: clipped */
    }
    const float *rows[2] = {a, b};
    const char *labels[2] = {"original", "reconstructed"};
    assert_int_equal(dc_plot_images(png, rows, 2, 3, 6, 5, labels, "Autoencoder"), DC_OK);
    assert_png(png, 140 + 3 * 64, 40 + 2 * 64);
    assert_int_equal(dc_plot_images(png, rows, 1, 3, 6, 5, NULL, NULL), DC_OK);
    assert_png(png, 140 + 3 * 64, 40 + 64);
    assert_int_equal(dc_plot_images(png, rows, 0, 3, 6, 5, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("plot_images: 0 x 3 images of 6 x 5 pixels");
    assert_int_equal(dc_plot_images(png, NULL, 1, 3, 6, 5, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("plot_images: images is NULL");
    b[7] = NAN;
    assert_int_equal(dc_plot_images(png, rows, 2, 3, 6, 5, NULL, NULL), DC_ERR_NAN);
    assert_errmsg_contains("plot_images: row 1[7] is nan");
    assert_int_equal(dc_plot_images(bad, rows, 1, 3, 6, 5, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("plot_images: ");
    assert_int_equal(access(png, F_OK), -1);
}

/* A Siamese pair: two inputs, a Dense called on both, Subtract. */
static dc_model *siamese_pair(void)
{
    dc_model *m = dc_functional_new(1, (int[]){8});
    int b = dc_model_input(m, 1, (int[]){8});
    dc_layer *enc = dc_layer_dense(4, "relu");
    int ea = dc_model_apply(m, enc, DC_MODEL_INPUT), eb = dc_model_apply(m, enc, b);
    int d = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){ea, eb});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(1, "sigmoid"), d), 5);
    return m;
}

/* Keras' plot_model: one box per input and layer, rows by depth; the size
 * follows from the layout: 2 boxes of 26 characters' width in the widest
 * row, 5 rows. */
static void test_plot_model(void **state)
{
    (void)state;
    char png[512], svg[512];
    temp_path(png, sizeof png, "model.png");
    temp_path(svg, sizeof svg, "model.svg");
    dc_model *m = siamese_pair();
    assert_int_equal(dc_plot_model(png, m), DC_OK);
    assert_png(png, 2 * 24 + 2 * (26 * 8 + 20) + 30, 2 * 24 + 3 * 86 + 46);
    assert_int_equal(dc_plot_model(svg, m), DC_OK);
    assert_svg(svg, "width=\"");
    dc_model_free(m);

    /* a Sequential model is a column of boxes under its input ("input_layer (InputLayer)": 24 characters) */
    dc_model *s = dc_sequential_new(1, (int[]){3});
    assert_int_equal(dc_model_add(s, dc_layer_dense(2, NULL)), DC_OK);
    assert_int_equal(dc_plot_model(png, s), DC_OK);
    assert_png(png, 2 * 24 + 24 * 8 + 20, 2 * 24 + 86 + 46);
    dc_model_free(s);

    /* errors: no model, a model that cannot build, a format PLplot cannot write */
    assert_int_not_equal(dc_plot_model(png, NULL), DC_OK);
    assert_errmsg_contains("plot_model: model is NULL");
    m = dc_functional_new(1, (int[]){8});
    assert_int_equal(dc_model_apply(m, dc_layer_dense(0, NULL), DC_MODEL_INPUT), -1);
    assert_int_not_equal(dc_plot_model(png, m), DC_OK);
    assert_errmsg_contains("plot_model: model: an earlier dc_model_input / apply / merge failed");
    dc_model_free(m);
    m = siamese_pair();
    temp_path(png, sizeof png, "model.jpg");
    assert_int_not_equal(dc_plot_model(png, m), DC_OK);
    assert_errmsg_contains("plot_model");
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scatter_line_png_svg),
        cmocka_unit_test(test_history_png),
        cmocka_unit_test(test_confusion_png),
        cmocka_unit_test(test_decision_boundary),
        cmocka_unit_test(test_plot_errors),
        cmocka_unit_test(test_plot_replaces_atomically),
        cmocka_unit_test(test_images_grid),
        cmocka_unit_test(test_plot_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
