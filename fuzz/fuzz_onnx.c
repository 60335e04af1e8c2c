/*
 * fuzz_onnx.c - an ONNX model file (dc_onnx_load_buffer: protobuf-c's
 * parse under a byte budget, the tensor and graph checks, the op
 * translators, compile); a model that imports runs one prediction on a
 * sample of zeros.  Activations are limited to 64 MiB (the library's
 * default budget is higher); external data is refused (no folder).
 */
#include "fuzz.h"
#include "model/model.h"
#include "onnx/onnx_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_model *m;
    dc_onnx_import_config c = dc_onnx_import_defaults();
    c.max_activation_bytes = (size_t)64 << 20;
    if (dc_onnx_load_buffer(data, size, "fuzz", NULL, &c, &m) != DC_OK)
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
