/*
 * fuzz_model.c - a whole model file: safetensors, the architecture JSON in
 * its metadata, the weight checks, compile and the training state; a model
 * that loads runs one prediction.  Models planning more than 2^20 floats of
 * activations per sample are refused (the library's default limit is higher).
 */
#include "fuzz.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_model *m;
    if (dc_model_load_buffer(data, size, "fuzz", (size_t)64 << 20, &m) != DC_OK)
        return 0;
    dc_tensor *x = dc_tensor_new(m->in_ndim + 1, (int[]){1, m->in_shape[0], m->in_shape[1], m->in_shape[2],
                                                         m->in_shape[3], m->in_shape[4]});
    dc_tensor *y = NULL;
    if (x)
        dc_model_predict(m, x, 1, &y);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    return 0;
}
