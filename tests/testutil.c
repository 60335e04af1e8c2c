/*
 * testutil.c - fixture loading and closeness checks for the tests.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fx_file *fx_load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DEEPC_FIXTURES, name);
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot open fixture %s", path);
    fx_file *f = calloc(1, sizeof *f);
    char line[4096];
    while (fscanf(fp, " %4095s", line) == 1) {
        if (line[0] == '#') {
            int c;
            while ((c = fgetc(fp)) != EOF && c != '\n')
                ;
            continue;
        }
        f->arrays = realloc(f->arrays, (size_t)(f->count + 1) * sizeof *f->arrays);
        fx_array *a = &f->arrays[f->count++];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%.127s", line);
        if (fscanf(fp, "%d", &a->ndim) != 1 || a->ndim < 0 || a->ndim > DC_MAX_DIMS)
            fail_msg("fixture %s: bad ndim for %s", path, a->name);
        a->size = 1;
        for (int i = 0; i < a->ndim; i++) {
            if (fscanf(fp, "%d", &a->shape[i]) != 1)
                fail_msg("fixture %s: bad shape for %s", path, a->name);
            a->size *= (size_t)a->shape[i];
        }
        a->data = malloc(a->size * sizeof(float) + 1);
        for (size_t i = 0; i < a->size; i++) {
            double v;
            if (fscanf(fp, "%lf", &v) != 1)
                fail_msg("fixture %s: %s has fewer than %zu values", path, a->name, a->size);
            a->data[i] = (float)v;
        }
    }
    fclose(fp);
    return f;
}

void fx_free(fx_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->count; i++)
        free(f->arrays[i].data);
    free(f->arrays);
    free(f);
}

const fx_array *fx_get(const fx_file *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->arrays[i].name, name) == 0)
            return &f->arrays[i];
    fail_msg("fixture array %s not found", name);
    return NULL;
}

void assert_close(const float *got, const float *want, size_t n, double rtol, double atol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (!(fabs(g - w) <= atol + rtol * fabs(w)))
            fail_msg("%s[%zu]: got %.9g, want %.9g (rtol %g, atol %g)", what, i, g, w, rtol, atol);
    }
}

void assert_errmsg_contains(const char *needle)
{
    const char *msg = dc_errmsg();
    if (!strstr(msg, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", msg, needle);
}
