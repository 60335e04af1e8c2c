/*
 * test_tabular.c - CSV, .npy, the train/test split, the standard scaler and
 * the scikit-learn loader.
 *
 * .npy: the files in tests/fixtures/npy were written by NumPy
 * (make_fixtures_npy.py); each loads with the values its formula gives, and
 * deepc writing the same array produces the same bytes, so NumPy reads what
 * deepc writes.  Bad files - NumPy's own (Fortran order, big endian, bool,
 * float16) and damaged copies of good ones - each get their message.
 * CSV: every rule of the reader on small texts in memory and in files (plain
 * and gzip'd).  The scikit-learn loader reads the committed copies of the
 * files with DEEPC_OFFLINE set, so no test touches the network.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ helpers */

static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void fixture_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/npy/%s", DEEPC_FIXTURES, name);
}

/* A temporary file name; the caller unlinks it. */
static void temp_path(char *out, size_t cap, const char *suffix)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/deepc_tabular_%d_%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), suffix);
}

static void write_text(const char *path, const char *text, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, text, (unsigned)strlen(text)), (int)strlen(text));
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
}

/* ---------------------------------------------------------------- npy */

static void expect_array(const char *file, dc_dtype dtype, int ndim, const int *shape)
{
    char path[512];
    fixture_path(path, sizeof path, file);
    dc_array *a;
    assert_int_equal(dc_npy_read(path, &a), DC_OK);
    assert_int_equal(a->dtype, dtype);
    assert_int_equal(a->ndim, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(a->shape[i], shape[i]);
        size *= (size_t)shape[i];
    }
    assert_int_equal(a->size, size);
    for (size_t i = 0; ndim && i < a->size; i++) {
        switch (dtype) {
        case DC_DTYPE_FLOAT32: assert_true(((float *)a->data)[i] == (float)i * 0.5f - 1.25f); break;
        case DC_DTYPE_INT32: assert_int_equal(((int32_t *)a->data)[i], (int32_t)i * 1000 - 3000); break;
        case DC_DTYPE_UINT8: assert_int_equal(((uint8_t *)a->data)[i], i * 25); break;
        default: break;
        }
    }
    if (dtype == DC_DTYPE_FLOAT64) {
        const double *d = a->data, want[4] = {3.141592653589793, -2.718281828459045, 1e-300, 12345.678};
        for (int i = 0; i < 4; i++)
            assert_true(d[i] == want[i]);
    }
    if (dtype == DC_DTYPE_INT64) {
        const int64_t *d = a->data;
        assert_true(d[0] == -((int64_t)1 << 40) && d[1] == 0 && d[2] == ((int64_t)1 << 40) + 1);
    }
    /* deepc writes the bytes NumPy wrote. */
    char out[512];
    temp_path(out, sizeof out, file);
    assert_int_equal(dc_npy_write(out, a), DC_OK);
    size_t n1, n2;
    char *want = read_bytes(path, &n1), *got = read_bytes(out, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(got, want, n1);
    free(want);
    free(got);
    unlink(out);
    dc_array_free(a);
}

static void test_npy_numpy_files_load(void **state)
{
    (void)state;
    expect_array("f32_2x3.npy", DC_DTYPE_FLOAT32, 2, (int[]){2, 3});
    expect_array("f64_4.npy", DC_DTYPE_FLOAT64, 1, (int[]){4});
    expect_array("i32_2x2x2.npy", DC_DTYPE_INT32, 3, (int[]){2, 2, 2});
    expect_array("i64_3.npy", DC_DTYPE_INT64, 1, (int[]){3});
    expect_array("u8_2x5.npy", DC_DTYPE_UINT8, 2, (int[]){2, 5});
    expect_array("f32_0x3.npy", DC_DTYPE_FLOAT32, 2, (int[]){0, 3});
}

static void test_npy_scalar_and_v2(void **state)
{
    (void)state;
    char path[512];
    dc_tensor *t;
    fixture_path(path, sizeof path, "f32_scalar.npy");
    assert_int_equal(dc_npy_load(path, &t), DC_OK);
    assert_int_equal(t->ndim, 1);
    assert_int_equal(t->size, 1);
    assert_true(t->data[0] == 7.5f);
    dc_tensor_free(t);
    expect_array("f32_scalar.npy", DC_DTYPE_FLOAT32, 0, NULL);
    /* Version 2.0 (4-byte header length) reads the same. */
    fixture_path(path, sizeof path, "f32_2x3_v2.npy");
    assert_int_equal(dc_npy_load(path, &t), DC_OK);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    for (int i = 0; i < 6; i++)
        assert_true(t->data[i] == (float)i * 0.5f - 1.25f);
    dc_tensor_free(t);
}

static void test_npy_load_converts_to_float(void **state)
{
    (void)state;
    char path[512];
    dc_tensor *t;
    fixture_path(path, sizeof path, "i64_3.npy");
    assert_int_equal(dc_npy_load(path, &t), DC_OK);
    assert_true(t->data[0] == -(float)((int64_t)1 << 40) && t->data[1] == 0.0f);
    dc_tensor_free(t);
    fixture_path(path, sizeof path, "u8_2x5.npy");
    assert_int_equal(dc_npy_load(path, &t), DC_OK);
    assert_true(t->data[9] == 225.0f);
    dc_tensor_free(t);
    /* A tensor cannot be empty: (0, 3) loads as a dc_array only. */
    fixture_path(path, sizeof path, "f32_0x3.npy");
    assert_int_equal(dc_npy_load(path, &t), DC_ERR_SHAPE);
    assert_null(t);
    assert_errmsg_contains("f32_0x3.npy");
    assert_errmsg_contains("non-positive dimension");
}

static void test_npy_round_trip(void **state)
{
    (void)state;
    char out[512];
    temp_path(out, sizeof out, "round.npy");
    dc_tensor *t = dc_tensor_new4(3, 4, 5, 6, 0), *back;
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = sinf((float)i) * 1e3f;
    assert_int_equal(dc_npy_save(out, t), DC_OK);
    assert_int_equal(dc_npy_load(out, &back), DC_OK);
    assert_int_equal(back->ndim, 3);
    assert_memory_equal(back->shape, t->shape, 3 * sizeof(int));
    assert_memory_equal(back->data, t->data, t->size * sizeof(float));
    dc_tensor_free(back);
    /* Every dtype through dc_npy_write / dc_npy_read. */
    for (int d = 0; d < DC_DTYPE_COUNT; d++) {
        dc_array *a = dc_array_new((dc_dtype)d, 2, (int[]){3, 7}), *b;
        assert_non_null(a);
        for (size_t i = 0; i < a->size * dc_dtype_size((dc_dtype)d); i++)
            ((unsigned char *)a->data)[i] = (unsigned char)(i * 37 + 11);
        assert_int_equal(dc_npy_write(out, a), DC_OK);
        assert_int_equal(dc_npy_read(out, &b), DC_OK);
        assert_int_equal(b->dtype, d);
        assert_memory_equal(b->data, a->data, a->size * dc_dtype_size((dc_dtype)d));
        dc_array_free(a);
        dc_array_free(b);
    }
    unlink(out);
    dc_tensor_free(t);
}

static void expect_bad_file(const char *file, dc_status st, const char *needle)
{
    char path[512];
    fixture_path(path, sizeof path, file);
    dc_tensor *t = (dc_tensor *)1;
    assert_int_equal(dc_npy_load(path, &t), st);
    assert_null(t);
    assert_errmsg_contains(needle);
    assert_errmsg_contains(file);
}

static void test_npy_numpy_files_refused(void **state)
{
    (void)state;
    expect_bad_file("bad_fortran.npy", DC_ERR_UNSUPPORTED, "Fortran");
    expect_bad_file("bad_bigendian.npy", DC_ERR_UNSUPPORTED, "big-endian");
    expect_bad_file("bad_bool.npy", DC_ERR_UNSUPPORTED, "dtype '|b1' is not supported");
    expect_bad_file("bad_f16.npy", DC_ERR_UNSUPPORTED, "dtype '<f2' is not supported");
}

/* Parses `bytes` (a damaged copy) and expects st and needle. */
static void expect_parse_error(const char *bytes, size_t n, dc_status st, const char *needle)
{
    dc_array *a = (dc_array *)1;
    assert_int_equal(dc_npy_parse(bytes, n, "damaged.npy", &a), st);
    assert_null(a);
    assert_errmsg_contains("damaged.npy");
    assert_errmsg_contains(needle);
}

/* A copy of f32_2x3.npy with `from` in its header replaced by `to` (same length). */
static char *edited(size_t *n, const char *from, const char *to)
{
    char path[512];
    fixture_path(path, sizeof path, "f32_2x3.npy");
    char *b = read_bytes(path, n);
    char *p = NULL;
    for (size_t i = 0; i + strlen(from) <= *n && !p; i++)
        if (memcmp(b + i, from, strlen(from)) == 0)
            p = b + i;
    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
    return b;
}

static void test_npy_damaged(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        dc_status st;
        const char *needle;
    } edits[] = {
        {"(2, 3)", "(2, 2)", DC_ERR_FORMAT, "does not match the data length"},
        {"(2, 3)", "(3, 3)", DC_ERR_FORMAT, "truncated body"},
        {"(2, 3)", "(2; 3)", DC_ERR_FORMAT, "expected ',' or ')' in 'shape'"},
        {"(2, 3)", "(2,-3)", DC_ERR_FORMAT, "non-negative integer"},
        {"'descr'", "'dtype'", DC_ERR_FORMAT, "unknown key 'dtype'"},
        {"'shape'", "'descr'", DC_ERR_FORMAT, "the key 'descr' twice"},
        {"False", "Maybe", DC_ERR_FORMAT, "True or False"},
        {"NUMPY", "NUMPX", DC_ERR_FORMAT, "magic"},
        {"NUMPY\x01", "NUMPY\x07", DC_ERR_UNSUPPORTED, "version 7.0"},
    };
    size_t n;
    char *b;
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        b = edited(&n, edits[i].from, edits[i].to);
        expect_parse_error(b, n, edits[i].st, edits[i].needle);
        free(b);
    }

    /* Truncated: in the body, in the header, in the header length. */
    b = edited(&n, "(2, 3)", "(2, 3)");
    expect_parse_error(b, n - 5, DC_ERR_FORMAT, "truncated body");
    expect_parse_error(b, 60, DC_ERR_FORMAT, "truncated");
    expect_parse_error(b, 9, DC_ERR_FORMAT, "truncated");
    expect_parse_error(b, 3, DC_ERR_FORMAT, "not a .npy file");
    /* A header length past the end, and one that does not end in '\n'. */
    b[8] = (char)0xff;
    b[9] = 0x7f;
    expect_parse_error(b, n, DC_ERR_FORMAT, "truncated: the header is");
    b[8] = 0x75;
    b[9] = 0;
    expect_parse_error(b, n, DC_ERR_FORMAT, "does not end with a newline");
    free(b);
}

static void test_npy_header_limits(void **state)
{
    (void)state;
    /* Hand-written headers: too many dims, a dimension beyond int, a
     * missing key, text after the dict, and the product overflowing. */
    static const struct {
        const char *header;
        dc_status st;
        const char *needle;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1), }", DC_ERR_UNSUPPORTED,
         "more than 6 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }", DC_ERR_UNSUPPORTED, "larger than"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", DC_ERR_UNSUPPORTED, "structured"},
        {"{'descr': '<f4', 'fortran_order': False, }", DC_ERR_FORMAT, "no 'shape' key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", DC_ERR_FORMAT, "unexpected text after"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", DC_ERR_FORMAT,
         "too large to address"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", DC_ERR_FORMAT, "written (n,)"},
        {"{'descr': '<f4\\', 'fortran_order': False, 'shape': (2,), }", DC_ERR_FORMAT, "escaped"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }", DC_ERR_FORMAT, "expected ':' after a key"},
        {"['descr', '<f4']", DC_ERR_FORMAT, "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", DC_ERR_FORMAT, "expected ',' or '}'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[512];
        size_t hl = strlen(cases[i].header) + 1;
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (char)(hl & 0xff);
        buf[9] = (char)(hl >> 8);
        memcpy(buf + 10, cases[i].header, hl - 1);
        buf[10 + hl - 1] = '\n';
        expect_parse_error(buf, 10 + hl, cases[i].st, cases[i].needle);
    }
}

static void test_npy_io_errors(void **state)
{
    (void)state;
    dc_tensor *t;
    assert_int_equal(dc_npy_load("/nonexistent/dir/x.npy", &t), DC_ERR_IO);
    assert_errmsg_contains("/nonexistent/dir/x.npy");
    dc_tensor *s = dc_tensor_new4(1, 3, 0, 0, 0);
    assert_int_equal(dc_npy_save("/nonexistent/dir/x.npy", s), DC_ERR_IO);
    assert_errmsg_contains("cannot create a temporary file");
    dc_tensor_free(s);
    assert_null(dc_array_new((dc_dtype)99, 1, (int[]){2}));
    assert_errmsg_contains("unknown dtype");
    assert_null(dc_array_new(DC_DTYPE_FLOAT32, 1, (int[]){-2}));
    assert_errmsg_contains("negative dimension");
}

/* ---------------------------------------------------------------- CSV */

static dc_status parse(const char *text, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y)
{
    return dc_csv_parse(text, strlen(text), "t.csv", cfg, x, y);
}

static void test_csv_basic(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    assert_int_equal(parse("a,b,label\n1,2,0\n3.5, -4e2 ,1\r\n\n5,6,1\n", NULL, &x, &y), DC_OK);
    assert_int_equal(x->shape[0], 3);
    assert_int_equal(x->shape[1], 2);
    assert_int_equal(y->shape[0], 3);
    assert_int_equal(y->shape[1], 1);
    const float wx[] = {1, 2, 3.5f, -400, 5, 6}, wy[] = {0, 1, 1};
    assert_memory_equal(x->data, wx, sizeof wx);
    assert_memory_equal(y->data, wy, sizeof wy);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_csv_columns(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    dc_csv_config c = dc_csv_defaults();
    c.header = 0;
    c.delimiter = ';';
    c.target_col = 0;
    c.feature_cols = (const int[]){3, 1};
    c.n_feature_cols = 2;
    assert_int_equal(parse("9;1;2;3\n8;4;5;6", &c, &x, &y), DC_OK);
    const float wx[] = {3, 1, 6, 4}, wy[] = {9, 8};
    assert_memory_equal(x->data, wx, sizeof wx);
    assert_memory_equal(y->data, wy, sizeof wy);
    dc_tensor_free(x);
    dc_tensor_free(y);
    /* Whitespace-delimited, no target; y may be NULL. */
    c = dc_csv_defaults();
    c.header = 0;
    c.delimiter = ' ';
    c.target_col = DC_CSV_NO_TARGET;
    assert_int_equal(parse("  1 2\t 3\n4   5 6  \n", &c, &x, NULL), DC_OK);
    assert_int_equal(x->shape[1], 3);
    assert_true(x->data[5] == 6.0f);
    dc_tensor_free(x);
    /* Target in the middle: features are the others, in order. */
    c = dc_csv_defaults();
    c.target_col = 1;
    assert_int_equal(parse("h\n1,2,3\n", &c, &x, &y), DC_OK);
    assert_true(x->data[0] == 1.0f && x->data[1] == 3.0f && y->data[0] == 2.0f);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void expect_csv_error(const char *text, const dc_csv_config *cfg, dc_status st, const char *needle)
{
    dc_tensor *x = (dc_tensor *)1, *y = (dc_tensor *)1;
    assert_int_equal(parse(text, cfg, &x, &y), st);
    assert_null(x);
    assert_null(y);
    assert_errmsg_contains("t.csv");
    assert_errmsg_contains(needle);
}

static void test_csv_errors(void **state)
{
    (void)state;
    expect_csv_error("", NULL, DC_ERR_FORMAT, "no data rows (the file is empty)");
    expect_csv_error("a,b\n", NULL, DC_ERR_FORMAT, "only a header line");
    expect_csv_error("a,b\n\n  \n", NULL, DC_ERR_FORMAT, "only a header line");
    expect_csv_error("a,b,c\n1,2,3\n4,5\n", NULL, DC_ERR_FORMAT, "line 3 has 2 column(s), expected 3 like line 2");
    expect_csv_error("a,b,c\n1,2,3\n4,5,6,7\n", NULL, DC_ERR_FORMAT, "line 3 has 4 column(s)");
    expect_csv_error("a,b,c\n1,2,3\n4,x5,6\n", NULL, DC_ERR_FORMAT, "line 3, column 2: \"x5\" is not a number");
    expect_csv_error("a,b,c\n1,2,3\n4,5,6abc\n", NULL, DC_ERR_FORMAT, "line 3, column 3: \"6abc\" is not a number");
    expect_csv_error("a,b,c\n1,,3\n", NULL, DC_ERR_FORMAT, "line 2, column 2: missing value (empty cell)");
    expect_csv_error("a,b,c\n1,2,NA\n", NULL, DC_ERR_FORMAT, "line 2, column 3: missing value (\"NA\")");
    expect_csv_error("a,b,c\n1,2,nan\n", NULL, DC_ERR_FORMAT, "line 2, column 3: missing value");
    expect_csv_error("a,b,c\n1,2,?\n", NULL, DC_ERR_FORMAT, "missing value (\"?\")");
    expect_csv_error("a,b,c\n1,inf,3\n", NULL, DC_ERR_RANGE, "line 2, column 2: inf is not a finite float32");
    expect_csv_error("a,b,c\n1,1e39,3\n", NULL, DC_ERR_RANGE, "1e39 is not a finite float32");
    dc_csv_config c = dc_csv_defaults();
    c.target_col = 5;
    expect_csv_error("a,b,c\n1,2,3\n", &c, DC_ERR_RANGE, "target_col 5 is outside the 3 columns");
    c = dc_csv_defaults();
    c.feature_cols = (const int[]){0, 7};
    c.n_feature_cols = 2;
    expect_csv_error("a,b,c\n1,2,3\n", &c, DC_ERR_RANGE, "feature_cols[1] = 7");
    c = dc_csv_defaults();
    expect_csv_error("a\n1\n2\n", &c, DC_ERR_ARG, "no feature columns");
    c.delimiter = '\n';
    expect_csv_error("a\n1\n", &c, DC_ERR_ARG, "delimiter");
    c = dc_csv_defaults();
    dc_tensor *x;
    assert_int_equal(dc_csv_parse("a,b\n1,2\n", 8, "t.csv", &c, &x, NULL), DC_ERR_ARG);
    assert_errmsg_contains("y is NULL");
    char nul[] = "a,b\n1,\0002\n";
    c.target_col = DC_CSV_NO_TARGET;
    assert_int_equal(dc_csv_parse(nul, sizeof nul - 1, "t.csv", &c, &x, NULL), DC_ERR_FORMAT);
    assert_errmsg_contains("NUL byte");
}

static void test_csv_files(void **state)
{
    (void)state;
    char plain[512], gz[512];
    temp_path(plain, sizeof plain, "plain.csv");
    temp_path(gz, sizeof gz, "packed.csv.gz");
    write_text(plain, "x1,x2,y\n1,2,3\n4,5,6\n", 0);
    write_text(gz, "x1,x2,y\n1,2,3\n4,5,6\n", 1);
    dc_tensor *x1, *y1, *x2, *y2;
    assert_int_equal(dc_csv_load(plain, NULL, &x1, &y1), DC_OK);
    assert_int_equal(dc_csv_load(gz, NULL, &x2, &y2), DC_OK);
    assert_memory_equal(x1->data, x2->data, 4 * sizeof(float));
    assert_memory_equal(y1->data, y2->data, 2 * sizeof(float));
    dc_tensor_free(x1);
    dc_tensor_free(y1);
    dc_tensor_free(x2);
    dc_tensor_free(y2);
    /* An empty file, a ragged one, and a missing one name the path. */
    write_text(plain, "", 0);
    assert_int_equal(dc_csv_load(plain, NULL, &x1, &y1), DC_ERR_FORMAT);
    assert_errmsg_contains(plain);
    assert_errmsg_contains("the file is empty");
    write_text(plain, "a,b\n1,2\n3\n", 0);
    assert_int_equal(dc_csv_load(plain, NULL, &x1, &y1), DC_ERR_FORMAT);
    assert_errmsg_contains("line 3 has 1 column(s), expected 2");
    unlink(plain);
    unlink(gz);
    assert_int_equal(dc_csv_load(plain, NULL, &x1, &y1), DC_ERR_IO);
    assert_errmsg_contains("cannot open");
}

/* ------------------------------------------------ split and scaler */

static void test_split(void **state)
{
    (void)state;
    dc_tensor *x = dc_tensor_new4(2, 10, 2, 0, 0), *y = dc_tensor_new4(2, 10, 1, 0, 0);
    for (int i = 0; i < 10; i++) {
        x->data[2 * i] = (float)i;
        x->data[2 * i + 1] = (float)(100 + i);
        y->data[i] = (float)i;
    }
    dc_tensor *xtr, *xte, *ytr, *yte, *xtr2, *xte2;
    assert_int_equal(dc_train_test_split(x, y, 0.25f, 7, &xtr, &xte, &ytr, &yte), DC_OK);
    assert_int_equal(xtr->shape[0], 7); /* ceil(0.25 * 10) = 3 for testing */
    assert_int_equal(xte->shape[0], 3);
    int seen[10] = {0};
    for (int i = 0; i < 7; i++) {
        assert_true(xtr->data[2 * i + 1] == xtr->data[2 * i] + 100 && ytr->data[i] == xtr->data[2 * i]);
        seen[(int)ytr->data[i]]++;
    }
    for (int i = 0; i < 3; i++) {
        assert_true(yte->data[i] == xte->data[2 * i]);
        seen[(int)yte->data[i]]++;
    }
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    /* The same seed gives the same split; without y it works too. */
    assert_int_equal(dc_train_test_split(x, NULL, 0.25f, 7, &xtr2, &xte2, NULL, NULL), DC_OK);
    assert_memory_equal(xtr2->data, xtr->data, xtr->size * sizeof(float));
    dc_tensor_free(xtr2);
    dc_tensor_free(xte2);
    dc_tensor_free(xtr);
    dc_tensor_free(xte);
    dc_tensor_free(ytr);
    dc_tensor_free(yte);
    assert_int_equal(dc_train_test_split(x, y, 1.5f, 7, &xtr, &xte, &ytr, &yte), DC_ERR_ARG);
    assert_errmsg_contains("test_size 1.5");
    /* 0.2f is a little over 0.2: still 2 of 10, as sklearn takes 0.2. */
    assert_int_equal(dc_train_test_split(x, y, 0.2f, 7, &xtr, &xte, &ytr, &yte), DC_OK);
    assert_int_equal(xte->shape[0], 2);
    dc_tensor_free(xtr);
    dc_tensor_free(xte);
    dc_tensor_free(ytr);
    dc_tensor_free(yte);
    assert_int_equal(dc_train_test_split(x, y, 0.01f, 7, &xtr, &xte, &ytr, &yte), DC_OK);
    assert_int_equal(xte->shape[0], 1);
    dc_tensor_free(xtr);
    dc_tensor_free(xte);
    dc_tensor_free(ytr);
    dc_tensor_free(yte);
    dc_tensor *y5 = dc_tensor_new4(1, 5, 0, 0, 0);
    assert_int_equal(dc_train_test_split(x, y5, 0.2f, 7, &xtr, &xte, &ytr, &yte), DC_ERR_SHAPE);
    assert_errmsg_contains("x has 10 samples but y has 5");
    dc_tensor_free(y5);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_scaler(void **state)
{
    (void)state;
    /* Column 0: 1, 2, 3, 4 (mean 2.5, population std sqrt(1.25)); column 1
     * constant (std 0: only centred); column 2 large values. */
    float v[] = {1, 5, 1000, 2, 5, 1001, 3, 5, 1002, 4, 5, 1003};
    dc_tensor *x = dc_tensor_from(2, (int[]){4, 3}, v);
    dc_scaler *s;
    assert_int_equal(dc_scaler_fit(x, &s), DC_OK);
    assert_true(fabs(s->mean[0] - 2.5) < 1e-12 && fabs(s->scale[0] - sqrt(1.25)) < 1e-12);
    assert_true(s->scale[1] == 1.0 && fabs(s->mean[2] - 1001.5) < 1e-9);
    assert_int_equal(dc_scaler_transform(s, x), DC_OK);
    assert_true(fabsf(x->data[0] + 1.5f / sqrtf(1.25f)) < 1e-6f);
    assert_true(x->data[1] == 0.0f);
    assert_true(fabsf(x->data[11] - 1.5f / sqrtf(1.25f)) < 1e-5f);
    dc_tensor *wrong = dc_tensor_new4(2, 2, 4, 0, 0);
    assert_int_equal(dc_scaler_transform(s, wrong), DC_ERR_SHAPE);
    assert_errmsg_contains("x has 4 features");
    dc_tensor_free(wrong);
    dc_scaler_free(s);
    dc_tensor_free(x);
}

/* ------------------------------------------------- scikit-learn sets */

static int sk_setup(void **state)
{
    (void)state;
    setenv("DEEPC_OFFLINE", "1", 1);
    return 0;
}

static int sk_teardown(void **state)
{
    (void)state;
    unsetenv("DEEPC_OFFLINE");
    return 0;
}

static void test_sklearn_committed(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    assert_int_equal(dc_sklearn_load("breast_cancer", DEEPC_FIXTURES, &x, &y), DC_OK);
    assert_int_equal(x->shape[0], 569);
    assert_int_equal(x->shape[1], 30);
    assert_true(x->data[0] == 17.99f && y->data[0] == 0.0f); /* the first row is malignant */
    double benign = 0;
    for (int i = 0; i < 569; i++)
        benign += y->data[i];
    assert_int_equal((int)benign, 357);
    dc_tensor_free(x);
    dc_tensor_free(y);
    assert_int_equal(dc_sklearn_load("diabetes", DEEPC_FIXTURES, &x, &y), DC_OK);
    assert_int_equal(x->shape[1], 10);
    assert_int_equal(y->shape[0], 442);
    assert_true(x->data[0] == 59.0f && y->data[0] == 151.0f);
    dc_tensor_free(x);
    dc_tensor_free(y);
    assert_int_equal(dc_sklearn_load("iris", DEEPC_FIXTURES, &x, &y), DC_OK);
    assert_true(y->data[149] == 2.0f);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_sklearn_errors(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    assert_int_equal(dc_sklearn_load("boston", DEEPC_FIXTURES, &x, &y), DC_ERR_ARG);
    assert_errmsg_contains("unknown dataset \"boston\"");
    /* wine is not committed: offline, that is a clear error, not a fetch. */
    assert_int_equal(dc_sklearn_load("wine", DEEPC_FIXTURES, &x, &y), DC_ERR_IO);
    assert_errmsg_contains("wine_data.csv is missing and DEEPC_OFFLINE is set");
    assert_null(x);
    /* A damaged copy fails verification before it is parsed. */
    char dir[512], sub[600], file[700];
    temp_path(dir, sizeof dir, "cache");
    snprintf(sub, sizeof sub, "%s/sklearn", dir);
    snprintf(file, sizeof file, "%s/iris.csv", sub);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_text(file, "150,4,a,b,c\n1,2,3,4,0\n", 0);
    assert_int_equal(dc_sklearn_load("iris", dir, &x, &y), DC_ERR_VERIFY);
    assert_errmsg_contains("failed verification");
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_numpy_files_load),
        cmocka_unit_test(test_npy_scalar_and_v2),
        cmocka_unit_test(test_npy_load_converts_to_float),
        cmocka_unit_test(test_npy_round_trip),
        cmocka_unit_test(test_npy_numpy_files_refused),
        cmocka_unit_test(test_npy_damaged),
        cmocka_unit_test(test_npy_header_limits),
        cmocka_unit_test(test_npy_io_errors),
        cmocka_unit_test(test_csv_basic),
        cmocka_unit_test(test_csv_columns),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_files),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_scaler),
        cmocka_unit_test_setup_teardown(test_sklearn_committed, sk_setup, sk_teardown),
        cmocka_unit_test_setup_teardown(test_sklearn_errors, sk_setup, sk_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
