/*
 * runner.c - runs a generated model (dc_model_export_c) on raw float32
 * samples: runner IN.bin OUT.bin N reads N samples from IN.bin, writes the N
 * outputs to OUT.bin.  Built by tests/test_export_c.c and
 * tests/export_c/cross_check.sh with -DMODEL=<name> -DMODEL_UP=<NAME>
 * -DMODEL_H='"<name>.h"'; uses nothing but the generated files and stdio.
 */
#include <stdio.h>
#include <stdlib.h>

#include MODEL_H

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static float scratch[CAT(MODEL_UP, _SCRATCH_FLOATS)];
static float in[CAT(MODEL_UP, _INPUT_SIZE)], out[CAT(MODEL_UP, _OUTPUT_SIZE)];

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    int n, i, st;
    if (argc != 4)
        return 2;
    fi = fopen(argv[1], "rb");
    fo = fopen(argv[2], "wb");
    n = atoi(argv[3]);
    if (!fi || !fo)
        return 2;
    for (i = 0; i < n; i++) {
        if (fread(in, sizeof in, 1, fi) != 1)
            return 3;
        st = CAT(MODEL, _predict)(in, out, scratch);
        if (st)
            return 4;
        if (fwrite(out, sizeof out, 1, fo) != 1)
            return 5;
    }
    fclose(fi);
    return fclose(fo) ? 5 : 0;
}
