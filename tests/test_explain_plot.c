/*
 * test_explain_plot.c - the pictures of attributions (src/plot/plot_heatmap.c):
 * a heat map grid is a PNG of the documented size, the text page holds every
 * token escaped on its colour with the documented strength, and bad input
 * (no samples, a map of size 0, NaN) is refused with nothing written.
 */
#include "testutil.h"
#include "deepc_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void temp_path(char *out, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/deepc_explain_%d_%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), name);
}

static char *slurp(const char *path, size_t *n)
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
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | p[2] << 8 | p[3]; }

static void test_heatmap_grid_png(void **state)
{
    (void)state;
    char png[512];
    temp_path(png, sizeof png, "heat.png");
    float img[2 * 64], signed_map[2 * 64], cam[2 * 16];
    for (int i = 0; i < 128; i++) {
        img[i] = (float)(i % 64) / 63.0f;
        signed_map[i] = sinf(0.3f * (float)i);
    }
    for (int i = 0; i < 32; i++)
        cam[i] = (float)(i % 16);
    dc_heatmap_set sets[2] = {{"integrated gradients", signed_map, 8, 8, 1}, {"Grad-CAM", cam, 4, 4, 0}};
    const char *rows[2] = {"first", "second"};
    assert_int_equal(dc_plot_heatmaps(png, img, 2, 8, 8, sets, 2, rows, "test"), DC_OK);
    size_t n;
    unsigned char *b = (unsigned char *)slurp(png, &n);
    assert_true(n > 33);
    assert_memory_equal(b + 1, "PNG", 3);
    assert_int_equal(be32(b + 16), 190 + 3 * 128); /* a label column, the image and two maps */
    assert_int_equal(be32(b + 20), 34 + 24 + 2 * 128);
    free(b);
    unlink(png);
    /* refusals: no samples, a map of size 0, a NaN in a map */
    assert_int_equal(dc_plot_heatmaps(png, img, 0, 8, 8, sets, 2, NULL, NULL), DC_ERR_ARG);
    sets[1].map_h = 0;
    assert_int_equal(dc_plot_heatmaps(png, img, 2, 8, 8, sets, 2, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("sets[1]'s maps are 0 x 4");
    sets[1].map_h = 4;
    signed_map[70] = NAN;
    assert_int_equal(dc_plot_heatmaps(png, img, 2, 8, 8, sets, 2, NULL, NULL), DC_ERR_NAN);
    assert_errmsg_contains("sets[0].maps");
    assert_int_equal(access(png, F_OK), -1);
}

static void test_text_page(void **state)
{
    (void)state;
    char html[512];
    temp_path(html, sizeof html, "text.html");
    const char *t0[3] = {"<b>", "free", "money"}, *t1[1] = {"hello"};
    const float a0[3] = {-0.5f, 1.0f, 0.25f}, a1[1] = {0.0f};
    const char *const *tokens[2] = {t0, t1};
    const float *attr[2] = {a0, a1};
    const int counts[2] = {3, 1};
    const char *labels[2] = {"spam & more", NULL};
    assert_int_equal(dc_plot_text_attributions(html, 2, tokens, counts, attr, labels, "t"), DC_OK);
    size_t n;
    char *b = slurp(html, &n);
    assert_non_null(strstr(b, "rgba(30,90,230,0.425)\">&lt;b&gt;</span>"));  /* -0.5 of the largest 1: blue, 0.85 * 0.5 */
    assert_non_null(strstr(b, "rgba(220,40,30,0.850)\">free</span>"));
    assert_non_null(strstr(b, "rgba(220,40,30,0.212)\">money</span>"));
    assert_non_null(strstr(b, "rgba(220,40,30,0.000)\">hello</span>")); /* all zero: no shade */
    assert_non_null(strstr(b, "spam &amp; more"));
    free(b);
    unlink(html);
    const float bad[3] = {0.0f, NAN, 1.0f};
    attr[0] = bad;
    assert_int_equal(dc_plot_text_attributions(html, 2, tokens, counts, attr, NULL, NULL), DC_ERR_NAN);
    assert_errmsg_contains("text 0's attribution 1");
    assert_int_equal(access(html, F_OK), -1);
    assert_int_equal(dc_plot_text_attributions(html, 0, tokens, counts, attr, NULL, NULL), DC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heatmap_grid_png),
        cmocka_unit_test(test_text_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
