/*
 * test_data.c - IDX reading, MD5, and the dataset loaders' error paths.
 *
 * Small IDX files are written into a temporary directory (raw and gzip'd)
 * and every check dc_idx_load makes is exercised.  The dataset loaders are
 * tested against a temporary cache holding corrupt files of the right names,
 * with DEEPC_OFFLINE set so that no test can reach the network: a loader
 * that tried to fetch would return DC_ERR_IO instead of DC_ERR_VERIFY.  One
 * test loads the real MNIST when it is already cached, and skips otherwise.
 */
#include "testutil.h"

#include "data/md5.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char *const MNIST_FILES[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
static const char *const FASHION_FILES[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

/* A fresh temporary directory per test, removed afterwards. */
typedef struct fixture {
    char dir[256];
} fixture;

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char child[1024];
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/deepc-test-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    setenv("DEEPC_OFFLINE", "1", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    remove_tree(f->dir);
    free(f);
    unsetenv("DEEPC_OFFLINE");
    unsetenv("DEEPC_CACHE");
    return 0;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Writes n bytes to dir/name, gzip'd if gz; returns the path in out. */
static void write_file(char out[512], const char *dir, const char *name, const void *bytes, size_t n, int gz)
{
    path_in(out, 512, dir, name);
    if (gz) {
        gzFile g = gzopen(out, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, bytes, (unsigned)n), (int)n);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *fp = fopen(out, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(bytes, 1, n, fp), n);
        assert_int_equal(fclose(fp), 0);
    }
}

/* An IDX image into buf: header with `type`, `ndim` dims, then `body` bytes
 * 0, 1, 2, ...  Returns the total length. */
static size_t make_idx(uint8_t *buf, int type, int ndim, const uint32_t *dims, size_t body)
{
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (uint8_t)type;
    buf[n++] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[n++] = (uint8_t)(dims[i] >> 24);
        buf[n++] = (uint8_t)(dims[i] >> 16);
        buf[n++] = (uint8_t)(dims[i] >> 8);
        buf[n++] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < body; i++)
        buf[n++] = (uint8_t)(i * 7 + 3);
    return n;
}

/* Writes an IDX file and returns dc_idx_load's status; *out as it left it. */
static dc_status load_idx(fixture *f, int gz, int type, int ndim, const uint32_t *dims, size_t body,
                          dc_u8array **out)
{
    uint8_t buf[4 + 4 * 8 + 256];
    char path[512];
    assert_true(body <= 256 && ndim <= 8);
    size_t n = make_idx(buf, type, ndim, dims, body);
    write_file(path, f->dir, gz ? "a.idx.gz" : "a.idx", buf, n, gz);
    return dc_idx_load(path, out);
}

/* ------------------------------------------------------------------ md5 */

static void test_md5_known_strings(void **state)
{
    (void)state;
    char hex[33];
    dc_md5_buffer("abc", 3, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    dc_md5_buffer("", 0, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    dc_md5_buffer(fox, strlen(fox), hex);
    assert_string_equal(hex, "9e107d9d372bb6826bd81d3542a419d6");
}

/* A million 'a's fed in uneven pieces: exercises block boundaries. */
static void test_md5_streaming(void **state)
{
    (void)state;
    static char a[1000];
    memset(a, 'a', sizeof a);
    dc_md5 m;
    dc_md5_init(&m);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        dc_md5_update(&m, a, n);
        left -= n;
        step = step % 977 + 13; /* 13..989, within a[] */
    }
    char hex[33];
    dc_md5_final(&m, hex);
    assert_string_equal(hex, "7707d6ae4e027c70eea2a935c2296f21");
}

static void test_md5_file(void **state)
{
    fixture *f = *state;
    char path[512], hex[33];
    write_file(path, f->dir, "abc.txt", "abc", 3, 0);
    assert_int_equal(dc_md5_file(path, hex), DC_OK);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    path_in(path, sizeof path, f->dir, "absent.txt");
    assert_int_equal(dc_md5_file(path, hex), DC_ERR_IO);
    assert_errmsg_contains(path);
}

/* ------------------------------------------------------------------ idx */

static void check_good(dc_u8array *a)
{
    assert_non_null(a);
    assert_int_equal(a->ndim, 3);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(a->shape[2], 4);
    assert_int_equal(a->size, 24);
    for (size_t i = 0; i < 24; i++)
        assert_int_equal(a->data[i], (uint8_t)(i * 7 + 3));
}

static void test_idx_raw_loads(void **state)
{
    const uint32_t dims[3] = {2, 3, 4};
    dc_u8array *a = NULL;
    assert_int_equal(load_idx(*state, 0, 0x08, 3, dims, 24, &a), DC_OK);
    check_good(a);
    dc_u8array_free(a);
}

static void test_idx_gzip_loads(void **state)
{
    const uint32_t dims[3] = {2, 3, 4};
    dc_u8array *a = NULL;
    assert_int_equal(load_idx(*state, 1, 0x08, 3, dims, 24, &a), DC_OK);
    check_good(a);
    dc_u8array_free(a);
}

/* A body bigger than the reader's first buffer, so the buffer must grow. */
static void test_idx_large_body(void **state)
{
    fixture *f = *state;
    const uint32_t rows = 3000, cols = 1001; /* 3,003,000 bytes */
    size_t n = 12 + (size_t)rows * cols;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    uint8_t head[12] = {0, 0, 8, 2, 0, 0, rows >> 8, rows & 255, 0, 0, cols >> 8, cols & 255};
    memcpy(buf, head, sizeof head);
    for (size_t i = 12; i < n; i++)
        buf[i] = (uint8_t)(i % 251);
    char path[512];
    write_file(path, f->dir, "big.idx.gz", buf, n, 1);
    dc_u8array *a = NULL;
    assert_int_equal(dc_idx_load(path, &a), DC_OK);
    assert_int_equal(a->size, (size_t)rows * cols);
    assert_memory_equal(a->data, buf + 12, a->size);
    dc_u8array_free(a);
    free(buf);
}

static void test_idx_missing_file(void **state)
{
    fixture *f = *state;
    char path[512];
    path_in(path, sizeof path, f->dir, "no-such-file.idx");
    dc_u8array *a = (dc_u8array *)&a; /* must be overwritten with NULL */
    assert_int_equal(dc_idx_load(path, &a), DC_ERR_IO);
    assert_null(a);
    assert_errmsg_contains(path);
    assert_errmsg_contains("No such file");
}

static void test_idx_bad_magic(void **state)
{
    fixture *f = *state;
    char path[512];
    const char text[] = "PK\x03\x04 this is a zip file, not IDX";
    write_file(path, f->dir, "zip.idx", text, sizeof text - 1, 0);
    dc_u8array *a = NULL;
    assert_int_equal(dc_idx_load(path, &a), DC_ERR_FORMAT);
    assert_null(a);
    assert_errmsg_contains(path);
    assert_errmsg_contains("magic 0x504b0304");
    /* Too short to hold a magic at all. */
    write_file(path, f->dir, "short.idx", "\0\0", 2, 0);
    assert_int_equal(dc_idx_load(path, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("only 2 bytes");
}

static void test_idx_truncated_body(void **state)
{
    const uint32_t dims[3] = {2, 3, 4};
    for (int gz = 0; gz <= 1; gz++) {
        dc_u8array *a = NULL;
        assert_int_equal(load_idx(*state, gz, 0x08, 3, dims, 20, &a), DC_ERR_FORMAT);
        assert_null(a);
        assert_errmsg_contains("truncated");
        assert_errmsg_contains("needs 24 bytes of data, got 20");
    }
}

static void test_idx_truncated_header(void **state)
{
    fixture *f = *state;
    const uint8_t head[8] = {0, 0, 8, 3, 0, 0, 0, 2};
    char path[512];
    write_file(path, f->dir, "head.idx", head, sizeof head, 0);
    dc_u8array *a = NULL;
    assert_int_equal(dc_idx_load(path, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("truncated IDX header");
}

static void test_idx_trailing_data(void **state)
{
    const uint32_t dims[3] = {2, 3, 4};
    for (int gz = 0; gz <= 1; gz++) {
        dc_u8array *a = NULL;
        assert_int_equal(load_idx(*state, gz, 0x08, 3, dims, 27, &a), DC_ERR_FORMAT);
        assert_null(a);
        assert_errmsg_contains("3 bytes of trailing data");
    }
}

static void test_idx_unsupported_type(void **state)
{
    const uint32_t dims[1] = {4};
    dc_u8array *a = NULL;
    assert_int_equal(load_idx(*state, 0, 0x0D, 1, dims, 16, &a), DC_ERR_UNSUPPORTED);
    assert_null(a);
    assert_errmsg_contains("0x0d (float32)");
    /* A type code IDX does not define is not IDX at all. */
    assert_int_equal(load_idx(*state, 0, 0x05, 1, dims, 4, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("magic 0x00000501");
}

static void test_idx_bad_dims(void **state)
{
    dc_u8array *a = NULL;
    const uint32_t zero[2] = {3, 0};
    assert_int_equal(load_idx(*state, 0, 0x08, 2, zero, 0, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("dimension 1 is 0");
    assert_int_equal(load_idx(*state, 0, 0x08, 0, zero, 0, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("0 dimensions");
    const uint32_t seven[7] = {1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(load_idx(*state, 0, 0x08, 7, seven, 1, &a), DC_ERR_UNSUPPORTED);
    assert_errmsg_contains("7 dimensions");
    const uint32_t huge[1] = {0x80000000u};
    assert_int_equal(load_idx(*state, 0, 0x08, 1, huge, 0, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("dimension 0 is 2147483648");
    assert_null(a);
}

/* Sizes whose product overflows, and a header promising 8 GiB over a
 * 10-byte body: both must fail fast without trying to allocate it all. */
static void test_idx_absurd_sizes(void **state)
{
    dc_u8array *a = NULL;
    const uint32_t overflow[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    assert_int_equal(load_idx(*state, 0, 0x08, 3, overflow, 0, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("more bytes than memory can address");
    const uint32_t big[2] = {0x7fffffff, 4};
    assert_int_equal(load_idx(*state, 0, 0x08, 2, big, 10, &a), DC_ERR_FORMAT);
    assert_errmsg_contains("needs 8589934588 bytes of data, got 10");
    assert_null(a);
}

static void test_idx_null_args(void **state)
{
    (void)state;
    dc_u8array *a = NULL;
    assert_int_equal(dc_idx_load(NULL, &a), DC_ERR_ARG);
    assert_int_equal(dc_idx_load("x", NULL), DC_ERR_ARG);
}

/* ------------------------------------------------------------- datasets */

/* Creates dir/sub and fills it with the named files holding junk. */
static void fill_cache(const char *dir, const char *sub, const char *const names[4], int count)
{
    char sdir[512], path[512];
    path_in(sdir, sizeof sdir, dir, sub);
    assert_int_equal(mkdir(sdir, 0777), 0);
    for (int i = 0; i < count; i++)
        write_file(path, sdir, names[i], "not the real data", 17, 0);
}

/* Only `sub` is in dir: no temporary fetch directory was ever made. */
static void assert_no_fetch_attempted(const char *dir, const char *sub)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, sub) != 0)
            fail_msg("unexpected %s/%s: a fetch was attempted", dir, e->d_name);
    closedir(d);
}

static void test_mnist_corrupt_file_fails_verification(void **state)
{
    fixture *f = *state;
    fill_cache(f->dir, "mnist", MNIST_FILES, 4);
    dc_dataset d;
    memset(&d, 0xab, sizeof d); /* the loader must clear it */
    assert_int_equal(dc_mnist_load(f->dir, &d), DC_ERR_VERIFY);
    assert_null(d.x_train);
    assert_null(d.y_train);
    assert_null(d.x_test);
    assert_null(d.y_test);
    assert_errmsg_contains("MNIST: ");
    assert_errmsg_contains("/mnist/train-images-idx3-ubyte failed verification");
    assert_errmsg_contains("expected 6bbc9ace898e44ae57da46a324031adb");
    assert_errmsg_contains("delete it");
    assert_no_fetch_attempted(f->dir, "mnist");
    /* Without DEEPC_OFFLINE the result is the same: the files exist, so
     * nothing is fetched and they still fail verification. */
    unsetenv("DEEPC_OFFLINE");
    assert_int_equal(dc_mnist_load(f->dir, &d), DC_ERR_VERIFY);
    assert_no_fetch_attempted(f->dir, "mnist");
}

static void test_mnist_cache_from_env(void **state)
{
    fixture *f = *state;
    fill_cache(f->dir, "mnist", MNIST_FILES, 4);
    setenv("DEEPC_CACHE", f->dir, 1);
    dc_dataset d;
    assert_int_equal(dc_mnist_load(NULL, &d), DC_ERR_VERIFY);
    assert_errmsg_contains(f->dir);
}

static void test_mnist_missing_file_offline(void **state)
{
    fixture *f = *state;
    fill_cache(f->dir, "mnist", MNIST_FILES, 3); /* t10k-labels missing */
    dc_dataset d;
    assert_int_equal(dc_mnist_load(f->dir, &d), DC_ERR_IO);
    assert_errmsg_contains("t10k-labels-idx1-ubyte is missing");
    assert_errmsg_contains("DEEPC_OFFLINE");
    assert_null(d.x_train);
    assert_no_fetch_attempted(f->dir, "mnist");
}

static void test_fashion_corrupt_file_fails_verification(void **state)
{
    fixture *f = *state;
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist", &st) == 0)
        skip(); /* the installed package is used instead of the cache */
    fill_cache(f->dir, "fashion-mnist", FASHION_FILES, 4);
    dc_dataset d;
    assert_int_equal(dc_fashion_mnist_load(f->dir, &d), DC_ERR_VERIFY);
    assert_errmsg_contains("Fashion-MNIST: ");
    assert_errmsg_contains("train-images-idx3-ubyte.gz failed verification");
    assert_errmsg_contains("expected cf8536b0aa1a6ac5fa3f23001093305c");
    assert_no_fetch_attempted(f->dir, "fashion-mnist");
}

static void test_dataset_null_args(void **state)
{
    (void)state;
    assert_int_equal(dc_mnist_load(NULL, NULL), DC_ERR_ARG);
    dc_dataset_free(NULL);
}

/* The real MNIST, when a previous run cached it; never fetched here. */
static void test_mnist_real_if_cached(void **state)
{
    (void)state;
    const char *home = getenv("HOME");
    char dir[512], path[600];
    struct stat st;
    if (!home)
        skip();
    snprintf(dir, sizeof dir, "%s/.cache/deepc", home);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/mnist/%s", dir, MNIST_FILES[i]);
        if (stat(path, &st) != 0)
            skip();
    }
    dc_dataset d;
    assert_int_equal(dc_mnist_load(dir, &d), DC_OK);
    const int n[2] = {60000, 10000};
    const dc_u8array *x[2] = {d.x_train, d.x_test}, *y[2] = {d.y_train, d.y_test};
    for (int s = 0; s < 2; s++) {
        assert_int_equal(x[s]->ndim, 3);
        assert_int_equal(x[s]->shape[0], n[s]);
        assert_int_equal(x[s]->shape[1], 28);
        assert_int_equal(x[s]->shape[2], 28);
        assert_int_equal(y[s]->ndim, 1);
        assert_int_equal(y[s]->shape[0], n[s]);
    }
    assert_int_equal(d.y_train->data[0], 5); /* the first training digit is a 5 */
    assert_int_equal(d.y_test->data[0], 7);
    dc_dataset_free(&d);
    assert_null(d.x_train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_known_strings),
        cmocka_unit_test(test_md5_streaming),
        cmocka_unit_test_setup_teardown(test_md5_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_raw_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_gzip_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_large_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_truncated_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_truncated_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_trailing_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_unsupported_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_bad_dims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_absurd_sizes, setup, teardown),
        cmocka_unit_test(test_idx_null_args),
        cmocka_unit_test_setup_teardown(test_mnist_corrupt_file_fails_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mnist_cache_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mnist_missing_file_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fashion_corrupt_file_fails_verification, setup, teardown),
        cmocka_unit_test(test_dataset_null_args),
        cmocka_unit_test_setup_teardown(test_mnist_real_if_cached, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
