/*
 * export_c_main.c - classifies a digit with nothing but the C that
 * examples/export_c.c generated (cnn_float.[ch], cnn_int8.[ch], digit.h):
 * no deepc, no allocation, libm only.
 *
 *   cc -std=c99 -O2 -I<out> -o classify examples/export_c_main.c <out>/cnn_float.c <out>/cnn_int8.c -lm
 *   ./classify
 */
#include <stdio.h>

#include "cnn_float.h"
#include "cnn_int8.h"
#include "digit.h"

/* Each model's scratch, static: no allocation anywhere. */
static float scratch_float[CNN_FLOAT_SCRATCH_FLOATS];
static float scratch_int8[CNN_INT8_SCRATCH_FLOATS];

static int argmax(const float *p, int n)
{
    int best = 0, i;
    for (i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

int main(void)
{
    float p_float[CNN_FLOAT_OUTPUT_SIZE], p_int8[CNN_INT8_OUTPUT_SIZE];
    int a, b;
    if (cnn_float_predict(digit, p_float, scratch_float) || cnn_int8_predict(digit, p_int8, scratch_int8))
        return 1;
    a = argmax(p_float, CNN_FLOAT_OUTPUT_SIZE);
    b = argmax(p_int8, CNN_INT8_OUTPUT_SIZE);
    printf("label %d: float model says %d (p = %.4f), int8 model says %d (p = %.4f)\n", digit_label, a,
           (double)p_float[a], b, (double)p_int8[b]);
    return a == digit_label && b == digit_label ? 0 : 3;
}
