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

const fx_array *fx_get_part(const fx_file *f, const char *prefix, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    return fx_get(f, name);
}

int fx_teardown(void **state)
{
    fx_free(*state);
    return 0;
}

void assert_loss_fixture(const fx_file *f, const char *prefix, dc_loss_kind kind, const dc_loss_args *args,
                         double rtol, double atol)
{
    const fx_array *p = fx_get_part(f, prefix, "pred"), *t = fx_get_part(f, prefix, "target");
    const dc_init zeros = {DC_INIT_ZEROS, 0.0f, 0.0f};
    char what[160];
    dc_graph *g = dc_graph_new();
    dc_node *pn = dc_param(g, p->ndim, p->shape, zeros, "pred");
    dc_node *tn = dc_input(g, 0, t->ndim, t->shape, "target");
    dc_node *loss = dc_loss_ex(g, kind, pn, tn, NULL, NULL, args);
    if (!loss)
        fail_msg("%s: %s", prefix, dc_errmsg());
    assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
    assert_int_equal(dc_node_set(pn, p->data, p->size), DC_OK);
    assert_int_equal(dc_node_set(tn, t->data, t->size), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    snprintf(what, sizeof what, "%s.loss", prefix);
    assert_close(dc_node_value(loss), fx_get_part(f, prefix, "loss")->data, 1, rtol, atol, what);
    snprintf(what, sizeof what, "%s.grad", prefix);
    assert_close(dc_node_grad(pn), fx_get_part(f, prefix, "grad")->data, p->size, rtol, atol, what);
    dc_graph_free(g);
}

dc_tensor *tensor_rows(const dc_tensor *t, int start, int n)
{
    int shape[DC_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = n;
    size_t per = t->size / (size_t)t->shape[0];
    dc_tensor *r = dc_tensor_from(t->ndim, shape, t->data + (size_t)start * per);
    assert_non_null(r);
    return r;
}

char *summary_of(dc_model *m)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(dc_model_summary(m, f), DC_OK);
    long len = ftell(f);
    char *s = calloc(1, (size_t)len + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return s;
}
