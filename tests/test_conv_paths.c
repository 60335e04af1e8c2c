/*
 * test_conv_paths.c - every path of the convolution (the direct kernel for a
 * few channels, im2col + GEMM, the register-blocked kernel for multiples of
 * 16 channels) against a plain seven-loop convolution in double, forward and
 * backward (input, kernel and bias gradients), over strides, paddings,
 * dilations, kernel sizes, odd image sizes, ReLU, and thread counts (the
 * narrow direct forward for few filters over many channels too); and the
 * transposed convolution (GEMM or blocked) the same way.
 */
#include "testutil.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct conv_shape {
    int b, h, w, c, f, k, stride, same, dilation, relu;
} conv_shape;

/* Keras' output size and leading pad of one axis. */
static int out_size(int n, int k, int s, int d, int same, int *pad)
{
    int span = d * (k - 1) + 1, out = same ? (n + s - 1) / s : (n - span) / s + 1;
    int total = (out - 1) * s + span - n;
    *pad = same && total > 0 ? total / 2 : 0;
    return out;
}

static void check_close(const char *what, const conv_shape *s, const float *got, const double *want, size_t n)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-5 * scale + 1e-6)
            fail_msg("%s of conv %dx%dx%d -> %d filters k%d s%d %s d%d relu %d: [%zu] %.7g, expected %.7g", what, s->h,
                     s->w, s->c, s->f, s->k, s->stride, s->same ? "same" : "valid", s->dilation, s->relu, i, got[i],
                     want[i]);
}

/* The expected output and gradients, in double. */
typedef struct expected {
    size_t ny, nx, nk, nb;
    double *y, *gx, *gk, *gb;
} expected;

static expected expected_new(size_t ny, size_t nx, size_t nk, size_t nb)
{
    expected e = {ny, nx, nk, nb, calloc(ny, sizeof(double)), calloc(nx, sizeof(double)), calloc(nk, sizeof(double)),
                  calloc(nb, sizeof(double))};
    assert_true(e.y && e.gx && e.gk && e.gb);
    return e;
}

/* Checks y, x's, k's and bias's gradients against e, then frees e and the graph. */
static void expected_check(expected *e, const char *what, const conv_shape *s, dc_graph *g, const dc_node *y,
                           const dc_node *x, const dc_node *k, const dc_node *bias)
{
    char name[64];
    snprintf(name, sizeof name, "%soutput", what);
    check_close(name, s, y->val, e->y, e->ny);
    snprintf(name, sizeof name, "%sinput gradient", what);
    check_close(name, s, x->grad, e->gx, e->nx);
    snprintf(name, sizeof name, "%skernel gradient", what);
    check_close(name, s, k->grad, e->gk, e->nk);
    snprintf(name, sizeof name, "%sbias gradient", what);
    check_close(name, s, bias->grad, e->gb, e->nb);
    free(e->y);
    free(e->gx);
    free(e->gk);
    free(e->gb);
    dc_graph_free(g);
}

/* loss = sum(y * r) for r of y's shape; compiles g and runs forward and backward. */
static const dc_node *run_loss(dc_graph *g, dc_node *y, int batch)
{
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    assert_non_null(y);
    dc_node *r = dc_param(g, 4, y->shape, u, "r");
    dc_node *loss = dc_sum(g, dc_mul(g, y, r));
    dc_rng rng;
    dc_rng_seed(&rng, 7);
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, batch, &rng), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    return r;
}

/* Runs one convolution through the graph (loss = sum(y * r)) and checks y,
 * gx, gK and gb against the loops below; gemm: the graph's opts.conv_gemm. */
static void check_shape(const conv_shape *s, int gemm)
{
    int ph, pw, oh = out_size(s->h, s->k, s->stride, s->dilation, s->same, &ph);
    int ow = out_size(s->w, s->k, s->stride, s->dilation, s->same, &pw);
    dc_graph *g = dc_graph_new();
    g->opts.conv_gemm = gemm;
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    dc_node *x = dc_param(g, 4, (int[]){s->b, s->h, s->w, s->c}, u, "x");
    dc_node *k = dc_param(g, 4, (int[]){s->k, s->k, s->c, s->f}, u, "kernel");
    dc_node *bias = dc_param(g, 1, &s->f, u, "bias");
    dc_node *y = (s->relu ? dc_conv2d_relu : dc_conv2d)(g, x, k, bias, s->stride, s->stride, s->same, s->dilation,
                                                        s->dilation);
    const dc_node *r = run_loss(g, y, s->b);
    expected e = expected_new((size_t)s->b * oh * ow * s->f, (size_t)s->b * s->h * s->w * s->c,
                              (size_t)s->k * s->k * s->c * s->f, (size_t)s->f);
    double *yw = e.y, *gxw = e.gx, *gkw = e.gk, *gbw = e.gb;
    const float *xv = x->val, *kv = k->val, *bv = bias->val, *rv = r->val;
    for (int b = 0; b < s->b; b++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int o = 0; o < s->f; o++) {
                    size_t at = (((size_t)b * oh + oy) * ow + ox) * s->f + o;
                    double sum = bv[o];
                    for (int i = 0; i < s->k; i++)
                        for (int j = 0; j < s->k; j++) {
                            int iy = oy * s->stride - ph + i * s->dilation, ix = ox * s->stride - pw + j * s->dilation;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            for (int c = 0; c < s->c; c++)
                                sum += (double)xv[(((size_t)b * s->h + iy) * s->w + ix) * s->c + c] *
                                       kv[(((size_t)i * s->k + j) * s->c + c) * s->f + o];
                        }
                    double gy = rv[at];
                    if (s->relu && sum <= 0.0) {
                        sum = 0.0;
                        gy = 0.0;
                    }
                    yw[at] = sum;
                    gbw[o] += gy;
                    for (int i = 0; i < s->k; i++)
                        for (int j = 0; j < s->k; j++) {
                            int iy = oy * s->stride - ph + i * s->dilation, ix = ox * s->stride - pw + j * s->dilation;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            for (int c = 0; c < s->c; c++) {
                                size_t xi = (((size_t)b * s->h + iy) * s->w + ix) * s->c + c;
                                size_t ki = (((size_t)i * s->k + j) * s->c + c) * s->f + o;
                                gxw[xi] += gy * kv[ki];
                                gkw[ki] += gy * xv[xi];
                            }
                        }
                }
    expected_check(&e, "", s, g, y, x, k, bias);
}

/* The transposed convolution (Keras' Conv2DTranspose) of the same shape
 * list, read as: input (b, h, w, c), kernel k x k x f x c, strides, padding,
 * dilation; relu unused.  y, gx, gK and gb against the scatter loops. */
static void check_transpose(const conv_shape *s, int gemm)
{
    dc_graph *g = dc_graph_new();
    g->opts.conv_gemm = gemm;
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    int st[2] = {s->stride, s->stride}, dil[2] = {s->dilation, s->dilation};
    dc_node *x = dc_param(g, 4, (int[]){s->b, s->h, s->w, s->c}, u, "x");
    dc_node *k = dc_param(g, 4, (int[]){s->k, s->k, s->f, s->c}, u, "kernel");
    dc_node *bias = dc_param(g, 1, &s->f, u, "bias");
    dc_node *y = dc_conv2d_transpose(g, x, k, bias, st, s->same, dil, NULL);
    const dc_node *r = run_loss(g, y, s->b);
    int oh = y->shape[1], ow = y->shape[2], span = s->dilation * (s->k - 1) + 1;
    int th = (s->h - 1) * s->stride + span - oh, tw = (s->w - 1) * s->stride + span - ow;
    int ph = s->same && th > 0 ? th / 2 : 0, pw = s->same && tw > 0 ? tw / 2 : 0;
    size_t ny = (size_t)s->b * oh * ow * s->f;
    expected e = expected_new(ny, (size_t)s->b * s->h * s->w * s->c, (size_t)s->k * s->k * s->c * s->f, (size_t)s->f);
    double *yw = e.y, *gxw = e.gx, *gkw = e.gk, *gbw = e.gb;
    const float *xv = x->val, *kv = k->val, *bv = bias->val, *rv = r->val;
    for (size_t i = 0; i < ny; i++) {
        yw[i] = bv[i % (size_t)s->f];
        gbw[i % (size_t)s->f] += rv[i];
    }
    for (int b = 0; b < s->b; b++)
        for (int iy = 0; iy < s->h; iy++)
            for (int ix = 0; ix < s->w; ix++)
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) {
                        int oy = iy * s->stride - ph + i * s->dilation, ox = ix * s->stride - pw + j * s->dilation;
                        if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                            continue;
                        for (int o = 0; o < s->f; o++) {
                            size_t yi = (((size_t)b * oh + oy) * ow + ox) * s->f + o;
                            for (int c = 0; c < s->c; c++) {
                                size_t xi = (((size_t)b * s->h + iy) * s->w + ix) * s->c + c;
                                size_t ki = (((size_t)i * s->k + j) * s->f + o) * s->c + c;
                                yw[yi] += (double)xv[xi] * kv[ki];
                                gxw[xi] += (double)rv[yi] * kv[ki];
                                gkw[ki] += (double)rv[yi] * xv[xi];
                            }
                        }
                    }
    expected_check(&e, "transposed ", s, g, y, x, k, bias);
}

static const conv_shape shapes[] = {
    /* b, h, w, c, f, k, stride, same, dilation, relu */
    {3, 9, 7, 16, 16, 3, 1, 1, 1, 0},   {3, 9, 7, 16, 16, 3, 1, 0, 1, 1},  {2, 9, 8, 16, 32, 3, 2, 1, 1, 0},
    {2, 9, 8, 32, 16, 3, 2, 0, 1, 0},   {2, 10, 11, 32, 64, 1, 2, 1, 1, 0}, {2, 13, 13, 32, 64, 3, 1, 0, 1, 1},
    {2, 8, 9, 48, 32, 3, 1, 1, 2, 0},   {2, 12, 5, 16, 48, 5, 1, 1, 1, 1},  {1, 30, 31, 16, 16, 3, 1, 1, 1, 0},
    {2, 6, 6, 64, 16, 2, 2, 1, 1, 0},   {2, 4, 4, 16, 16, 3, 3, 1, 1, 0},   {2, 7, 5, 3, 16, 3, 1, 1, 1, 1},
    {2, 7, 5, 5, 8, 3, 2, 1, 1, 0},
    /* few filters over more channels (the narrow direct forward): Cout 1, 8, 16, 24, 31, batch 1 and 3 */
    {1, 19, 23, 96, 24, 3, 1, 1, 1, 0}, {3, 9, 30, 20, 24, 3, 2, 1, 1, 1}, {3, 11, 29, 12, 31, 3, 1, 0, 1, 0},
    {1, 10, 33, 24, 1, 3, 2, 0, 1, 0},  {3, 8, 17, 40, 8, 3, 1, 1, 2, 1},  {1, 6, 40, 10, 24, 5, 1, 1, 1, 0},
    {3, 7, 26, 20, 16, 3, 2, 0, 1, 0},  {1, 5, 3, 96, 24, 3, 1, 1, 1, 0},
    /* batch 1, windows that do not overlap (the transposed convolution's row bands) */
    {1, 9, 11, 24, 24, 2, 2, 1, 1, 0},  {1, 12, 10, 20, 1, 2, 2, 0, 1, 1},
    /* batch 1, few output rows (the blocked forward's blocks shared out over the threads) */
    {1, 3, 80, 32, 64, 1, 1, 1, 1, 1},  {1, 5, 40, 32, 32, 3, 2, 1, 1, 0}, {1, 4, 30, 16, 48, 3, 1, 0, 1, 0},
    {1, 6, 20, 16, 16, 3, 1, 1, 2, 0},  {1, 1, 90, 32, 32, 3, 1, 1, 1, 0},
};

/* gemm: what the blocked path would take runs im2col + GEMM instead. */
static void run_all(int gemm, int threads)
{
    omp_set_num_threads(threads);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check_shape(&shapes[i], gemm);
        check_transpose(&shapes[i], gemm);
    }
}

static void test_default_paths_one_thread(void **state)
{
    (void)state;
    run_all(0, 1);
}

static void test_default_paths_two_threads(void **state)
{
    (void)state;
    run_all(0, 2);
}

static void test_gemm_path(void **state)
{
    (void)state;
    run_all(1, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_paths_one_thread),
        cmocka_unit_test(test_default_paths_two_threads),
        cmocka_unit_test(test_gemm_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
