/*
 * test_hostile_files.c - files that used to make deepc hang, misread or lose
 * data, and the rules that now stop them (docs/ARCHITECTURE.md):
 *   - numbers are read and written the same under any locale (a program's
 *     setlocale(LC_ALL, "") under de_DE.UTF-8 made saves write "0,001");
 *   - CSV numbers are decimal only, and a tab delimiter is never trimmed away
 *     as a blank;
 *   - every reader opens only regular files: a FIFO or a link to /dev/zero,
 *     given as a path or sitting in the data cache, is an error, never a hang;
 *   - gzip'd input inflates to at most DC_INFLATE_MAX_BYTES;
 *   - dc_npy_save replaces a file atomically: a failed save (here a write
 *     past RLIMIT_FSIZE, as a full disk) leaves the previous file whole.
 * A reader that blocks would hang the test, so those run under alarm(),
 * whose handler fails the program with a message saying so.
 */
#include "data/md5.h"
#include "data/readall.h"
#include "io/json.h"
#include "iotest.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

enum { ALARM_S = 20 };

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "\ntest_hostile_files: FAILED: a reader blocked for 20 s on a FIFO or a file that "
                              "never ends (the alarm fired); readers must refuse anything but a regular file\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void arm(void)
{
    signal(SIGALRM, on_alarm);
    alarm(ALARM_S);
}

static void disarm(void) { alarm(0); }

/* The whole file at path (a static buffer); *len its size. */
static const char *slurp(const char *path, size_t *len)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, sizeof buf, f);
    assert_true(feof(f));
    fclose(f);
    return buf;
}

static void assert_failed_with(dc_status st, const char *path, const char *needle)
{
    if (st == DC_OK)
        fail_msg("reading %s succeeded; expected an error containing \"%s\"", path, needle);
    assert_errmsg_contains(path);
    assert_errmsg_contains(needle);
}

/* ------------------------------------------------- blocking paths */

/* Every reader given `path` fails with `kind` ("a FIFO", ...) in its message. */
static void check_every_reader(const char *path, const char *kind)
{
    char needle[64], hex[33];
    snprintf(needle, sizeof needle, "is not a regular file (%s)", kind);
    dc_tensor *x = NULL, *y = NULL;
    dc_array *arr = NULL;
    dc_u8array *u8 = NULL;
    dc_model *m = NULL;
    dc_tokenizer *tok = NULL;
    char *text = NULL;
    size_t len;
    arm();
    assert_failed_with(dc_csv_load(path, NULL, &x, &y), path, needle);
    assert_failed_with(dc_npy_load(path, &x), path, needle);
    assert_failed_with(dc_npy_read(path, &arr), path, needle);
    assert_failed_with(dc_idx_load(path, &u8), path, needle);
    assert_failed_with(dc_model_load(path, &m), path, needle);
    assert_failed_with(dc_tokenizer_load(path, &tok), path, needle);
    assert_failed_with(dc_md5_file(path, hex), path, needle);
    assert_failed_with(dc_read_all(path, &text, &len), path, needle);
    dc_model *small = small_classifier(4, 3, 1);
    assert_failed_with(dc_model_load_weights(small, path), path, needle);
    dc_model_free(small);
    disarm();
    assert_null(x);
    assert_null(arr);
    assert_null(u8);
    assert_null(m);
    assert_null(tok);
    assert_null(text);
}

static void test_fifo_and_device_paths(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *fifo = join(dir, "fifo.csv");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    check_every_reader(fifo, "a FIFO");
    const char *zero = join(dir, "zero.npy");
    assert_int_equal(symlink("/dev/zero", zero), 0);
    check_every_reader(zero, "a character device");
    rm_dir(dir);
}

/* CSVLogger given a FIFO (with or without a reader) fails fit with an error
 * instead of blocking in open or write. */
static void test_csv_logger_fifo(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *fifo = join(dir, "log.csv");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    dc_model *m = small_classifier(4, 3, 1);
    dc_tensor *x, *y;
    random_data(16, 4, 3, 2, &x, &y);
    for (int append = 0; append <= 1; append++) {
        dc_callback *cb = dc_callback_csv_logger(fifo, ',', append);
        assert_non_null(cb);
        dc_fit_config fit = dc_fit_defaults();
        fit.epochs = 1;
        fit.verbose = 0;
        fit.callbacks = &cb;
        fit.n_callbacks = 1;
        arm();
        dc_status st = dc_model_fit(m, x, y, &fit, NULL);
        disarm();
        assert_int_equal(st, DC_ERR_IO);
        assert_errmsg_contains("CSVLogger");
        assert_errmsg_contains(fifo);
        dc_callback_free(cb);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    rm_dir(dir);
}

/* A FIFO in the data cache, where the MNIST files go, fails the load. */
static void test_fifo_in_data_cache(void **state)
{
    (void)state;
    static const char *const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                        "t10k-labels-idx1-ubyte"};
    char *dir = make_dir(), sub[600], path[700];
    snprintf(sub, sizeof sub, "%s/mnist", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        assert_int_equal(mkfifo(path, 0600), 0);
    }
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_dataset ds;
    memset(&ds, 0, sizeof ds);
    arm();
    dc_status st = dc_mnist_load(dir, &ds);
    disarm();
    snprintf(path, sizeof path, "%s/%s", sub, names[0]);
    assert_failed_with(st, path, "is not a regular file (a FIFO)");
    unsetenv("DEEPC_OFFLINE");
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        unlink(path);
    }
    rmdir(sub);
    rm_dir(dir);
}

/* ------------------------------------------------- the inflate cap */

/* Writes to path `copies` gzip members of `member_mb` MiB of zeros each. */
static void write_gzip_bomb(const char *path, int member_mb, int copies)
{
    size_t raw = (size_t)member_mb << 20;
    uint8_t *zeros = calloc(raw, 1), *packed = malloc(raw);
    assert_true(zeros && packed);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros;
    z.avail_in = (uInt)raw;
    z.next_out = packed;
    z.avail_out = (uInt)raw;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = raw - z.avail_out;
    deflateEnd(&z);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < copies; i++)
        assert_int_equal(fwrite(packed, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(zeros);
    free(packed);
}

/* The cap at work, with a small one: inflating past the real 1 GiB takes
 * seconds (the reader stops at the cap, not before). */
static void test_inflate_cap(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *bomb = join(dir, "bomb.csv.gz");
    write_gzip_bomb(bomb, 1, 5); /* 5 KB of gzip inflating to 5 MiB */
    struct stat sb;
    assert_int_equal(stat(bomb, &sb), 0);
    assert_true(sb.st_size < 64 << 10);
    char *text = NULL, limit[64];
    size_t len;
    snprintf(limit, sizeof limit, "more than %d bytes", 4 << 20);
    assert_failed_with(dc_read_all_limit(bomb, 4 << 20, &text, &len), bomb, limit);
    assert_errmsg_contains("DC_INFLATE_MAX_BYTES");
    assert_null(text);
    assert_int_equal(dc_read_all_limit(bomb, 5 << 20, &text, &len), DC_OK);
    assert_int_equal(len, 5 << 20);
    free(text);
    assert_true(DC_INFLATE_MAX_BYTES == (size_t)1 << 30); /* the documented limit */
    /* gzip'd data under the cap reads as before */
    dc_tensor *x = NULL, *y = NULL;
    const char *small = join(dir, "small.csv.gz");
    gzFile g = gzopen(small, "wb");
    assert_non_null(g);
    assert_true(gzputs(g, "a,b\n1.5,2\n-3,4\n") > 0);
    assert_int_equal(gzclose(g), Z_OK);
    assert_int_equal(dc_csv_load(small, NULL, &x, &y), DC_OK);
    assert_true(x->data[0] == 1.5f && x->data[1] == -3.0f && y->data[1] == 4.0f);
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* ------------------------------------------------- CSV misreads */

static dc_status parse(const char *text, char delim, dc_tensor **x, dc_tensor **y)
{
    dc_csv_config cfg = dc_csv_defaults();
    cfg.delimiter = delim;
    return dc_csv_parse(text, strlen(text), "t.csv", &cfg, x, y);
}

static void test_csv_tab_first_column_and_hex(void **state)
{
    (void)state;
    dc_tensor *x = NULL, *y = NULL;
    /* An empty first column (pandas' unnamed index, say): a tab reads as a comma does. */
    assert_int_equal(parse(",x,y\n,1,2\n", ',', &x, &y), DC_ERR_FORMAT);
    assert_errmsg_contains("line 2, column 1: missing value (empty cell)");
    assert_int_equal(parse("\tx\ty\n\t1\t2\n", '\t', &x, &y), DC_ERR_FORMAT);
    assert_errmsg_contains("line 2, column 1: missing value (empty cell)");
    assert_null(x);
    dc_csv_info info;
    dc_csv_config cfg = dc_csv_defaults();
    cfg.delimiter = '\t';
    const char *text = "\tx\ty\n0\t1\t2\n";
    assert_int_equal(dc_csv_parse_ex(text, strlen(text), "t.tsv", &cfg, &x, &y, &info), DC_OK);
    assert_int_equal(info.n_columns, 3);
    assert_int_equal(info.n_column_names, 3);
    assert_string_equal(info.column_names[0], "");
    assert_string_equal(info.column_names[2], "y");
    assert_true(x->data[0] == 0.0f && x->data[1] == 1.0f && y->data[0] == 2.0f);
    dc_csv_info_free(&info);
    dc_tensor_free(x);
    dc_tensor_free(y);
    /* blanks other than the delimiter are still trimmed */
    assert_int_equal(parse("a\tb\n 1 \t 2 \n", '\t', &x, &y), DC_OK);
    assert_true(x->data[0] == 1.0f && y->data[0] == 2.0f);
    dc_tensor_free(x);
    dc_tensor_free(y);

    /* Hexadecimal is not a number, in a feature or a numeric label column. */
    static const char *const not_numbers[] = {"0x1p3", "0X10", "1e", ".", "+", "1.5.2", "1_000", "infx"};
    for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++) {
        char csv[64];
        snprintf(csv, sizeof csv, "a,b\n%s,1\n", not_numbers[i]);
        if (parse(csv, ',', &x, &y) != DC_ERR_FORMAT)
            fail_msg("\"%s\" was read as a number", not_numbers[i]);
        assert_errmsg_contains("is not a number");
    }
    assert_int_equal(parse("a;b\n0,5;1\n", ';', &x, &y), DC_ERR_FORMAT); /* a decimal comma */
    assert_errmsg_contains("\"0,5\" is not a number");
    /* What Python's float() reads still reads. */
    assert_int_equal(parse("a,b,c,d,e,f\n1e3,.5,5.,-2,+3,2.5E-1\n", ',', &x, &y), DC_OK);
    const float want[] = {1000.0f, 0.5f, 5.0f, -2.0f, 3.0f};
    assert_memory_equal(x->data, want, sizeof want);
    assert_true(y->data[0] == 0.25f);
    dc_tensor_free(x);
    dc_tensor_free(y);
    double v;
    assert_true(dc_parse_decimal("-Infinity", &v) && isinf(v) && v < 0);
    assert_true(dc_parse_decimal("NaN", &v) && isnan(v));
    assert_false(dc_parse_decimal("0x10", &v));
    assert_true(dc_parse_decimal(" 1\t", &v) && v == 1.0); /* as Python's float(" 1\t") */
    assert_false(dc_parse_decimal("1 2", &v));
}

/* ------------------------------------------------- locale */

/* Switches LC_ALL to a locale whose decimal point is not '.': $DEEPC_TEST_LOCALE,
 * an installed one, or one localedef builds into dir; NULL (and why) if none. */
static const char *comma_locale(const char *dir, char *why, size_t cap)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "es_ES.UTF-8",
                                        "es_ES.utf8",  "it_IT.UTF-8", "nl_NL.UTF-8", "ru_RU.UTF-8", "pt_BR.UTF-8",
                                        "de_DE",       "fr_FR"};
    const char *env = getenv("DEEPC_TEST_LOCALE");
    for (int i = -1; i < (int)(sizeof names / sizeof *names); i++) {
        const char *name = i < 0 ? env : names[i];
        if (name && setlocale(LC_ALL, name) && strcmp(localeconv()->decimal_point, ".") != 0)
            return name;
    }
    setlocale(LC_ALL, "C");
    /* None installed: build de_DE.UTF-8 into dir (no root needed; the
     * sources come with Debian's `locales` package). */
    char cmd[1400], locdir[128];
    snprintf(locdir, sizeof locdir, "%s/locales", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", locdir,
             locdir);
    if (system(cmd) == 0) {
        setenv("LOCPATH", locdir, 1);
        if (setlocale(LC_ALL, "de_DE.UTF-8") && strcmp(localeconv()->decimal_point, ".") != 0)
            return "de_DE.UTF-8 (built by localedef for this test)";
        unsetenv("LOCPATH");
    }
    setlocale(LC_ALL, "C");
    snprintf(why, cap, "no locale with a decimal comma is installed (tried $DEEPC_TEST_LOCALE, de_DE, fr_FR, es_ES, "
                       "it_IT, nl_NL, ru_RU, pt_BR) and `localedef -i de_DE -f UTF-8` failed (install Debian's "
                       "`locales` package, or set DEEPC_TEST_LOCALE)");
    return NULL;
}

static void remove_tree(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_numbers_ignore_locale(void **state)
{
    (void)state;
    char *dir = make_dir(), why[512];
    dc_model *m = small_classifier(4, 3, 7);
    char *json_c = NULL, *json_de = NULL;
    assert_int_equal(dc_model_to_json(m, &json_c), DC_OK);
    const char *file_c = join(dir, "c.safetensors");
    assert_int_equal(dc_model_save(m, file_c, 1), DC_OK);
    size_t len_c;
    const char *read_c = slurp(file_c, &len_c);
    char *bytes_c = malloc(len_c);
    assert_non_null(bytes_c);
    memcpy(bytes_c, read_c, len_c);

    const char *loc = comma_locale(dir, why, sizeof why);
    if (!loc) {
        print_message("[  SKIPPED ] locale test: %s\n", why);
        free(bytes_c);
        free(json_c);
        dc_model_free(m);
        remove_tree(dir);
        skip();
    }
    print_message("locale test under %s (decimal point \"%s\")\n", loc, localeconv()->decimal_point);
    /* a save under the locale writes the same bytes */
    const char *file_de = join(dir, "de.safetensors");
    dc_status saved = dc_model_save(m, file_de, 1);
    size_t len_de;
    const char *bytes_de = slurp(file_de, &len_de);
    int same_file = saved == DC_OK && len_de == len_c && memcmp(bytes_de, bytes_c, len_c) == 0;
    /* the file written in the C locale loads with its numbers */
    dc_model *loaded = NULL;
    dc_status st = dc_model_load(file_c, &loaded);
    if (st == DC_OK)
        st = dc_model_to_json(loaded, &json_de);
    int same_json = st == DC_OK && strcmp(json_c, json_de) == 0;
    /* a CSV's "0.5" reads as 0.5 */
    dc_tensor *x = NULL, *y = NULL;
    dc_status csv = parse("a,b\n0.5,1.25\n", ',', &x, &y);
    int csv_ok = csv == DC_OK && x->data[0] == 0.5f && y->data[0] == 1.25f;
    /* the number helpers themselves */
    char num[48];
    dc_fmt_double(num, sizeof num, 0.001);
    int fmt_ok = strcmp(num, "0.001") == 0;
    setlocale(LC_ALL, "C");
    unsetenv("LOCPATH");
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(loaded);
    dc_model_free(m);
    free(json_de);
    free(json_c);
    free(bytes_c);
    remove_tree(dir);
    if (!same_file)
        fail_msg("a model saved under %s differs from the same model saved in the C locale", loc);
    if (!same_json)
        fail_msg("a model saved in the C locale loads differently under %s", loc);
    if (!csv_ok)
        fail_msg("CSV \"0.5\" under %s: %s", loc, csv ? dc_errmsg() : "read as another value");
    if (!fmt_ok)
        fail_msg("dc_fmt_double(0.001) under %s wrote \"%s\"", loc, num);
}

/* ------------------------------------------------- atomic npy save */

static void test_npy_save_atomic(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *path = join(dir, "x.npy");
    dc_tensor *small = dc_tensor_new4(2, 2, 3, 0, 0);
    for (int i = 0; i < 6; i++)
        small->data[i] = (float)i + 0.5f;
    assert_int_equal(dc_npy_save(path, small), DC_OK);
    size_t len;
    char before[256];
    const char *b = slurp(path, &len);
    assert_true(len < sizeof before);
    memcpy(before, b, len);
    size_t len_before = len;

    /* A save that cannot be written whole: the file size limit makes write()
     * fail with EFBIG (SIGXFSZ ignored), as a full disk fails it with ENOSPC. */
    dc_tensor *big = dc_tensor_new4(1, 1 << 18, 0, 0, 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 << 10;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    dc_status st = dc_npy_save(path, big);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, DC_ERR_IO);
    assert_errmsg_contains(path);
    b = slurp(path, &len);
    assert_int_equal(len, len_before);
    assert_memory_equal(b, before, len);
    assert_int_equal(count_files(dir), 1); /* no temporary file left behind */
    dc_tensor *back = NULL;
    assert_int_equal(dc_npy_load(path, &back), DC_OK);
    assert_memory_equal(back->data, small->data, 6 * sizeof(float));
    dc_tensor_free(back);
    /* and a save that succeeds replaces it */
    assert_int_equal(dc_npy_save(path, big), DC_OK);
    assert_int_equal(dc_npy_load(path, &back), DC_OK);
    assert_int_equal(back->size, big->size);
    dc_tensor_free(back);
    dc_tensor_free(big);
    dc_tensor_free(small);
    rm_dir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_device_paths), cmocka_unit_test(test_fifo_in_data_cache),
        cmocka_unit_test(test_csv_logger_fifo),
        cmocka_unit_test(test_inflate_cap),           cmocka_unit_test(test_csv_tab_first_column_and_hex),
        cmocka_unit_test(test_numbers_ignore_locale), cmocka_unit_test(test_npy_save_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
