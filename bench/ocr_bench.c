/*
 * ocr_bench.c - deepc's side of bench/ocr.sh: one PaddleOCR model on one
 * prepared input, timed; the input is written for ONNX Runtime's side.
 *
 *     ocr_bench det IMAGE MODELS_DIR OUT.f32 [--threads T] [--repeat R]
 *     ocr_bench rec LINE_IMAGE MODELS_DIR OUT.f32 [--threads T] [--repeat R]
 *
 * det: the detector on IMAGE prepared as examples/ocr.c prepares it (longer
 * side at most 960, multiples of 32, BGR, normalised); rec: the recogniser
 * on a line image (height 48, width 48 x max(w / h, 320 / 48) rounded up
 * to 32, (x / 255 - 0.5) / 0.5).  Writes the input as float32 NCHW to
 * OUT.f32 and prints
 *     input 1x3xHxW
 *     import_seconds S
 *     seconds_per_run S      (the median of R runs after a warm-up run)
 *     cpu_seconds_per_run S  (user + system CPU time over the R runs / R)
 * ONNX Runtime's side is tests/onnx/ort_run.js with the same --threads and
 * --repeat on OUT.f32.
 */
#include "ocr_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what)
{
    fprintf(stderr, "ocr_bench: %s: %s\n", what, dc_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "det") != 0 && strcmp(argv[1], "rec") != 0)) {
        fprintf(stderr, "usage: %s det|rec IMAGE MODELS_DIR OUT.f32 [--threads T] [--repeat R]\n", argv[0]);
        return 2;
    }
    int det = !strcmp(argv[1], "det"), threads = 1, repeat = 10;
    for (int i = 5; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat"))
            repeat = atoi(argv[i + 1]);
    }
    repeat = repeat < 1 ? 1 : repeat > 1000 ? 1000 : repeat;
    dc_image_u8 img;
    dc_tensor *x = NULL, *y = NULL;
    if (dc_image_load(argv[2], 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img) != DC_OK)
        return fail(argv[2]);
    dc_status st;
    if (det)
        st = ocr_det_input(&img, 960, &x);
    else {
        int width = (ocr_rec_width(img.w, img.h) + 31) / 32 * 32;
        x = dc_tensor_new(4, (int[]){1, 48, width, 3});
        st = x ? ocr_line_input(&img, x, 0) : dc_last_status();
    }
    free(img.px);
    if (st != DC_OK)
        return fail("preparing the input");
    int h = x->shape[1], w = x->shape[2];
    size_t hw = (size_t)h * w;
    float *nchw = malloc(3 * hw * sizeof *nchw);
    FILE *f = fopen(argv[4], "wb");
    if (!nchw || !f) {
        fprintf(stderr, "ocr_bench: cannot write %s\n", argv[4]);
        return 1;
    }
    for (size_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++)
            nchw[c * hw + p] = x->data[p * 3 + c];
    int ok = fwrite(nchw, sizeof *nchw, 3 * hw, f) == 3 * hw;
    ok &= fclose(f) == 0;
    free(nchw);
    if (!ok) {
        fprintf(stderr, "ocr_bench: cannot write %s\n", argv[4]);
        return 1;
    }
    printf("input 1x3x%dx%d\n", h, w);

    char path[1200];
    snprintf(path, sizeof path, "%s/%s", argv[3], det ? "ch_PP-OCRv4_det_infer.onnx" : "ch_PP-OCRv4_rec_infer.onnx");
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.input_shape[1] = 3;
    ic.input_shape[2] = h;
    ic.input_shape[3] = w;
    ic.compile_batch = 1;
    ic.frozen = 1; /* inference only: no gradient buffers */
    ic.max_activation_bytes = (size_t)16 << 30;
    dc_model *m = NULL;
    double t0 = now();
    if (dc_model_load_onnx_ex(path, &ic, &m) != DC_OK)
        return fail(path);
    printf("import_seconds %.4f\n", now() - t0);
    dc_model_set_threads(m, threads);
    double *times = malloc((size_t)repeat * sizeof *times);
    if (!times || dc_model_predict(m, x, 1, &y) != DC_OK) /* warm-up */
        return fail("predict");
    double c0 = cpu_now();
    for (int r = 0; r < repeat; r++) {
        dc_tensor_free(y);
        y = NULL;
        t0 = now();
        if (dc_model_predict(m, x, 1, &y) != DC_OK)
            return fail("predict");
        times[r] = now() - t0;
    }
    double cpu = (cpu_now() - c0) / repeat;
    qsort(times, (size_t)repeat, sizeof *times, cmp_double);
    printf("seconds_per_run %.5f\ncpu_seconds_per_run %.5f\n", times[repeat / 2], cpu);
    free(times);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    return 0;
}
