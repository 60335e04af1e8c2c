/*
 * testutil.h - helpers shared by the tests: reference fixtures and closeness
 * checks.  Include after <cmocka.h>'s prerequisites.
 *
 * Fixture files (tests/fixtures/NAME.txt) are plain text written by committed
 * Python scripts:
 *     (hash) comment
 *     name ndim d0 d1 ...
 *     v0 v1 v2 ...            (product of dims values, any whitespace)
 */
#ifndef DC_TESTUTIL_H
#define DC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "deepc.h"

typedef struct fx_array {
    char name[128];
    int ndim;
    int shape[DC_MAX_DIMS];
    size_t size;
    float *data;
} fx_array;

typedef struct fx_file {
    int count;
    fx_array *arrays;
} fx_file;

/* Loads tests/fixtures/<name>; fails the test if it cannot. */
fx_file *fx_load(const char *name);
void fx_free(fx_file *f);
/* The array called `name`; fails the test if missing. */
const fx_array *fx_get(const fx_file *f, const char *name);
/* The array called "<prefix>.<suffix>"; fails the test if missing. */
const fx_array *fx_get_part(const fx_file *f, const char *prefix, const char *suffix);
/* A cmocka teardown freeing the fx_file in *state. */
int fx_teardown(void **state);
/* Checks the loss `kind` (with args, NULL for none) on <prefix>.pred and
 * <prefix>.target against <prefix>.loss and d loss / d pred against
 * <prefix>.grad. */
void assert_loss_fixture(const fx_file *f, const char *prefix, dc_loss_kind kind, const dc_loss_args *args,
                         double rtol, double atol);

/* Fails the test naming `what` and the first index where |got - want| >
 * atol + rtol * |want|. */
void assert_close(const float *got, const float *want, size_t n, double rtol, double atol, const char *what);
/* A new tensor of rows [start, start + n) of t. */
dc_tensor *tensor_rows(const dc_tensor *t, int start, int n);
/* Fails unless dc_errmsg() contains `needle`. */
void assert_errmsg_contains(const char *needle);
/* The model's summary as text; the caller frees it. */
char *summary_of(dc_model *m);

#endif
