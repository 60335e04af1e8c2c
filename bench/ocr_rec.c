/*
 * ocr_rec.c - deepc's side of bench/ocr_rec.sh: PaddleOCR's PP-OCRv4
 * text-line recogniser (ch_PP-OCRv4_rec_infer.onnx) imported for one line
 * width and timed on one line (batch 1), as tests/onnx/ort_run.js --repeat
 * times ONNX Runtime on the same file and input.
 *
 *   ocr_rec MODEL.onnx DIR [--width W] [--threads N] [--repeat R]
 *
 * Writes DIR/rec_in.f32 (a seeded input in [-1, 1], (1, 3, 48, W) NCHW as
 * ONNX Runtime takes it; deepc gets it channels last), then prints
 *   deepc import_seconds S
 *   deepc width W threads N seconds_per_run S cpu_seconds_per_run C
 * S: the median wall time of R calls of dc_model_predict after one warm-up
 * call; C: the process's CPU time (user + system, every thread) over the R
 * calls, divided by R.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    int w = 320, threads = 1, repeat = 20;
    if (argc < 3) {
        fprintf(stderr, "usage: ocr_rec MODEL.onnx DIR [--width W] [--threads N] [--repeat R]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--width"))
            w = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat"))
            repeat = atoi(argv[i + 1]);
    }
    if (w < 8 || w > 4096 || threads < 1 || repeat < 1) {
        fprintf(stderr, "ocr_rec: --width 8 to 4096, --threads and --repeat >= 1\n");
        return 2;
    }
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.input_shape[1] = 3;
    ic.input_shape[2] = 48;
    ic.input_shape[3] = w;
    ic.compile_batch = 1;
    dc_model *m = NULL;
    double t0 = bench_now();
    if (dc_model_load_onnx_ex(argv[1], &ic, &m) != DC_OK) {
        fprintf(stderr, "ocr_rec: %s\n", dc_errmsg());
        return 1;
    }
    printf("deepc import_seconds %.6f\n", bench_now() - t0);
    dc_model_set_threads(m, threads);
    size_t n = (size_t)3 * 48 * w;
    float *nchw = malloc(n * sizeof *nchw);
    dc_tensor *x = dc_tensor_new4(4, 1, 48, w, 3);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!nchw || !x || !t) {
        fprintf(stderr, "ocr_rec: out of memory\n");
        return 1;
    }
    unsigned s = 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        nchw[i] = (float)((s >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < (size_t)48 * w; p++)
            x->data[p * 3 + (size_t)c] = nchw[(size_t)c * 48 * w + p];
    char path[1024];
    snprintf(path, sizeof path, "%s/rec_in.f32", argv[2]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(nchw, sizeof *nchw, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "ocr_rec: cannot write %s\n", path);
        return 1;
    }
    dc_tensor *y = NULL;
    if (dc_model_predict(m, x, 1, &y) != DC_OK) { /* warm-up */
        fprintf(stderr, "ocr_rec: predict: %s\n", dc_errmsg());
        return 1;
    }
    dc_tensor_free(y);
    double c0 = cpu_now();
    for (int r = 0; r < repeat; r++) {
        double a = bench_now();
        if (dc_model_predict(m, x, 1, &y) != DC_OK) {
            fprintf(stderr, "ocr_rec: predict: %s\n", dc_errmsg());
            return 1;
        }
        t[r] = bench_now() - a;
        dc_tensor_free(y);
    }
    double cpu = (cpu_now() - c0) / repeat;
    qsort(t, (size_t)repeat, sizeof *t, bench_cmp_double);
    printf("deepc width %d threads %d seconds_per_run %.6f cpu_seconds_per_run %.6f\n", w, threads, t[repeat / 2], cpu);
    free(t);
    free(nchw);
    dc_tensor_free(x);
    dc_model_free(m);
    return 0;
}
