/*
 * ort_util.h - what the tests that run ONNX Runtime beside deepc share:
 * whether a shell command succeeds, where onnxruntime-node loads from, and
 * reading the raw float32 file tests/onnx/ort_run.js writes.  Static
 * functions: include it in one test file at a time.
 */
#ifndef DEEPC_TESTS_ORT_UTIL_H
#define DEEPC_TESTS_ORT_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* 1 when `cmd` exits 0 (its output thrown away). */
static int have(const char *cmd)
{
    char full[1400];
    snprintf(full, sizeof full, "%s >/dev/null 2>&1", cmd);
    return system(full) == 0;
}

/* NODE_PATH, $DEEPC_ORT_DIR/node_modules or ~/.cache/deepc's (where
 * tests/onnx/install_ort.sh puts it), whichever onnxruntime-node loads
 * from first, into out; 0 when none. */
static int find_ort(char *out, size_t cap)
{
    const char *np = getenv("NODE_PATH"), *home = getenv("HOME"), *dir = getenv("DEEPC_ORT_DIR");
    char cand[3][512] = {{0}}, cmd[1200];
    if (np)
        snprintf(cand[0], sizeof cand[0], "%s", np);
    if (dir)
        snprintf(cand[1], sizeof cand[1], "%s/node_modules", dir);
    if (home)
        snprintf(cand[2], sizeof cand[2], "%s/.cache/deepc/onnxruntime-node/node_modules", home);
    for (int i = 0; i < 3; i++) {
        if (!cand[i][0])
            continue;
        snprintf(cmd, sizeof cmd, "NODE_PATH='%.500s' node -e \"require('onnxruntime-node')\"", cand[i]);
        if (have(cmd))
            return snprintf(out, cap, "%.500s", cand[i]) > 0;
    }
    return 0;
}

/* n floats from a raw float32 file of exactly that size (malloc'd), or NULL. */
static float *read_f32(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    float *d = f ? malloc(n * sizeof *d) : NULL;
    size_t got = d ? fread(d, sizeof *d, n, f) : 0;
    int extra = f ? fgetc(f) != EOF : 0;
    if (f)
        fclose(f);
    if (!d || got != n || extra) {
        free(d);
        return NULL;
    }
    return d;
}

#endif
