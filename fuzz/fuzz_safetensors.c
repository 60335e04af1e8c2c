/*
 * fuzz_safetensors.c - the safetensors reader; every tensor it accepts is
 * read end to end, so a bad offset shows up as an out-of-bounds read.
 */
#include "fuzz.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_st_file *f;
    if (dc_st_parse(data, size, "fuzz", &f) != DC_OK)
        return 0;
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < f->n; i++)
        for (uint64_t b = 0; b < f->tensors[i].end - f->tensors[i].begin; b++)
            sum += f->tensors[i].data[b];
    (void)dc_st_meta(f, "model_config");
    dc_st_free(f);
    return 0;
}
