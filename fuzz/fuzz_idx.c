/*
 * fuzz_idx.c - the IDX reader (raw or gzip'd), through a temporary file
 * since it reads from a path.
 */
#include "fuzz.h"
#include "deepc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/deepc_fuzz_idx_%d", (int)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    dc_u8array *a;
    if (dc_idx_load(path, &a) == DC_OK)
        dc_u8array_free(a);
    unlink(path);
    return 0;
}
