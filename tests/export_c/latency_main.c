/*
 * latency_main.c - times a generated model (dc_model_export_c):
 * built by bench/int8_bench.c with -DMODEL=<name> -DMODEL_UP=<NAME>
 * -DMODEL_H='"<name>.h"'; runs <name>_predict on one zero-ish sample N
 * times (argv[1]) after a warm-up, prints the median of 7 rounds in
 * microseconds per call.  Not built by CMake (it needs generated files).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include MODEL_H

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static float scratch[CAT(MODEL_UP, _SCRATCH_FLOATS)];
static float in[CAT(MODEL_UP, _INPUT_SIZE)], out[CAT(MODEL_UP, _OUTPUT_SIZE)];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: a busy machine does not count */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200, i, r;
    double t[7], sink = 0;
    for (i = 0; i < CAT(MODEL_UP, _INPUT_SIZE); i++)
        in[i] = (float)(i % 17) / 17.0f;
    for (i = 0; i < n / 10 + 1; i++)
        CAT(MODEL, _predict)(in, out, scratch);
    for (r = 0; r < 7; r++) {
        double t0 = now();
        for (i = 0; i < n; i++) {
            CAT(MODEL, _predict)(in, out, scratch);
            sink += out[0];
        }
        t[r] = (now() - t0) / n * 1e6;
    }
    qsort(t, 7, sizeof *t, cmp);
    printf("%.2f\n", t[3] + sink * 0.0);
    return 0;
}
