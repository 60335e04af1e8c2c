/*
 * m4_main.c - a Cortex-M4 program around a generated model, for
 * arm-none-eabi-size: the scratch and the buffers are static (RAM), the
 * weights and code flash.  It runs the model once on a zero input.
 */
#include MODEL_H

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static float scratch[CAT(MODEL_UP, _SCRATCH_FLOATS)];
static float in[CAT(MODEL_UP, _INPUT_SIZE)], out[CAT(MODEL_UP, _OUTPUT_SIZE)];

int main(void)
{
    return CAT(MODEL, _predict)(in, out, scratch) + (out[0] > 1e30f);
}
