/*
 * bench_util.h - what the C benchmarks share: a monotonic clock, a
 * comparison for qsort'ing timings (medians), and seed 003's CNN.
 */
#ifndef DC_BENCH_UTIL_H
#define DC_BENCH_UTIL_H

#include <deepc.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seed 003's CNN up to its last hidden layer: Conv2D(32) -> MaxPool ->
 * Conv2D(64) -> MaxPool -> Flatten -> Dense(128, relu); the caller adds the
 * Dense(10, softmax). */
static inline void bench_add_cnn2_body(dc_model *m)
{
    dc_model_add(m, dc_layer_conv2d(32, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_conv2d(64, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(128, "relu"));
}

#endif
