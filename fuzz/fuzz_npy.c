/*
 * fuzz_npy.c - the .npy reader (issue 5's dc_npy_parse); an accepted array
 * is read end to end, so a wrong size shows up as an out-of-bounds read.
 */
#include "fuzz.h"
#include "deepc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_array *a;
    if (dc_npy_parse(data, size, "fuzz", &a) != DC_OK)
        return 0;
    volatile uint8_t sum = 0;
    const uint8_t *p = a->data;
    for (size_t i = 0; i < a->size * dc_dtype_size(a->dtype); i++)
        sum += p[i];
    dc_array_free(a);
    return 0;
}
