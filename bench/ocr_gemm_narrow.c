/*
 * ocr_gemm_narrow.c - why PP-OCRv4's detector is slower in deepc than in
 * ONNX Runtime (docs/benchmarks.md, issue 22): its two 3 x 3 convolutions
 * from 96 to 24 channels at 152 x 200 run as im2col + sgemm of (30,400 x
 * 864) by (864 x 24).  This times OpenBLAS's sgemm alone at that shape and
 * with wider outputs (N = 96, 256), the same product with the operands
 * swapped (column-major out^T = W^T cols^T: the long side as N), and the
 * whole convolution as the narrow direct kernel (src/ops/conv_narrow.c) does
 * it on the image, no im2col: CPU seconds per call (the mean of 5 after a
 * warm-up), one thread:
 *
 *     OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX build/ocr_gemm_narrow
 */
#include "ops/conv_internal.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6;
}

int main(void)
{
    const int m = 30400, k = 864, widths[] = {24, 96, 256};
    float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)k * 256 * sizeof *b);
    float *c = malloc((size_t)m * 256 * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "ocr_gemm_narrow: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * 256; i++)
        b[i] = (float)(i % 5) * 0.1f;
    for (int t = 0; t < 3; t++) {
        int n = widths[t], reps = 5;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double c0 = cpu_seconds();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double s = (cpu_seconds() - c0) / reps;
        printf("(%d x %d) x (%d x %d): %.1f ms CPU, %.1f GFLOP/s\n", m, k, k, n, s * 1e3, 2.0 * m * n * k / s / 1e9);
    }
    {
        int n = 24, reps = 5; /* swapped: out^T (24 x m), column-major, = W^T (24 x k) cols^T (k x m) */
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, m, k, 1.0f, b, n, a, k, 0.0f, c, n);
        double c0 = cpu_seconds();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, m, k, 1.0f, b, n, a, k, 0.0f, c, n);
        double s = (cpu_seconds() - c0) / reps;
        printf("swapped, M = 24 by N = %d: %.1f ms CPU, %.1f GFLOP/s\n", m, s * 1e3, 2.0 * m * n * k / s / 1e9);
    }
    /* the detector's convolution itself: 3x3 "same", 96 -> 24 channels, 152 x 200 */
    dc_conv_geom g = {.b = 1, .h = 152, .w = 200, .c = 96, .kh = 3, .kw = 3, .f = 24, .sh = 1, .sw = 1, .dh = 1,
                      .dw = 1, .oh = 152, .ow = 200, .ph = 1, .pw = 1};
    if (!dc_conv_narrow_fits(&g)) {
        printf("narrow direct kernel: not in this build (needs AVX-512)\n");
    } else {
        float *kp = malloc(dc_conv_narrow_packed(&g) * sizeof *kp);
        if (!kp) {
            fprintf(stderr, "ocr_gemm_narrow: out of memory\n");
            return 1;
        }
        dc_conv_narrow_pack(&g, b, kp);
        int reps = 5;
        dc_conv_narrow_rows(&g, a, kp, NULL, 0, 0, g.oh, c);
        double c0 = cpu_seconds();
        for (int r = 0; r < reps; r++)
            dc_conv_narrow_rows(&g, a, kp, NULL, 0, 0, g.oh, c);
        double s = (cpu_seconds() - c0) / reps;
        printf("narrow direct conv 3x3 96 -> 24 at 152 x 200 (no im2col): %.1f ms CPU, %.1f GFLOP/s\n", s * 1e3,
               2.0 * m * 24 * k / s / 1e9);
        free(kp);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
