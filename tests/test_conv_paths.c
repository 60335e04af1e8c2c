/*
 * test_conv_paths.c - every path of the convolution (the direct kernel for a
 * few channels, im2col + GEMM, the register-blocked kernel for multiples of
 * 16 channels) against a plain seven-loop convolution in double, forward and
 * backward (input, kernel and bias gradients), over strides, paddings,
 * dilations, kernel sizes, odd image sizes, ReLU, and thread counts.
 */
#include "testutil.h"

#include "graph/graph.h"
#include "ops/conv_internal.h"

#include <math.h>
#include <omp.h>
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

/* Runs one convolution through the graph (loss = sum(y * r)) and checks y,
 * gx, gK and gb against the loops below. */
static void check_shape(const conv_shape *s)
{
    int ph, pw, oh = out_size(s->h, s->k, s->stride, s->dilation, s->same, &ph);
    int ow = out_size(s->w, s->k, s->stride, s->dilation, s->same, &pw);
    dc_graph *g = dc_graph_new();
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    dc_node *x = dc_param(g, 4, (int[]){s->b, s->h, s->w, s->c}, u, "x");
    dc_node *k = dc_param(g, 4, (int[]){s->k, s->k, s->c, s->f}, u, "kernel");
    dc_node *bias = dc_param(g, 1, &s->f, u, "bias");
    dc_node *r = dc_param(g, 4, (int[]){s->b, oh, ow, s->f}, u, "r");
    dc_node *y = (s->relu ? dc_conv2d_relu : dc_conv2d)(g, x, k, bias, s->stride, s->stride, s->same, s->dilation,
                                                        s->dilation);
    dc_node *loss = dc_sum(g, dc_mul(g, y, r));
    dc_rng rng;
    dc_rng_seed(&rng, 7);
    assert_non_null(loss);
    assert_int_equal(dc_graph_compile(g, s->b, &rng), DC_OK);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);

    size_t ny = (size_t)s->b * oh * ow * s->f, nx = (size_t)s->b * s->h * s->w * s->c;
    size_t nk = (size_t)s->k * s->k * s->c * s->f;
    double *yw = calloc(ny, sizeof *yw), *gxw = calloc(nx, sizeof *gxw), *gkw = calloc(nk, sizeof *gkw);
    double *gbw = calloc((size_t)s->f, sizeof *gbw);
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
    check_close("output", s, y->val, yw, ny);
    check_close("input gradient", s, x->grad, gxw, nx);
    check_close("kernel gradient", s, k->grad, gkw, nk);
    check_close("bias gradient", s, bias->grad, gbw, (size_t)s->f);
    free(yw);
    free(gxw);
    free(gkw);
    free(gbw);
    dc_graph_free(g);
}

static const conv_shape shapes[] = {
    /* b, h, w, c, f, k, stride, same, dilation, relu */
    {3, 9, 7, 16, 16, 3, 1, 1, 1, 0},   {3, 9, 7, 16, 16, 3, 1, 0, 1, 1},  {2, 9, 8, 16, 32, 3, 2, 1, 1, 0},
    {2, 9, 8, 32, 16, 3, 2, 0, 1, 0},   {2, 10, 11, 32, 64, 1, 2, 1, 1, 0}, {2, 13, 13, 32, 64, 3, 1, 0, 1, 1},
    {2, 8, 9, 48, 32, 3, 1, 1, 2, 0},   {2, 12, 5, 16, 48, 5, 1, 1, 1, 1},  {1, 30, 31, 16, 16, 3, 1, 1, 1, 0},
    {2, 6, 6, 64, 16, 2, 2, 1, 1, 0},   {2, 4, 4, 16, 16, 3, 3, 1, 1, 0},   {2, 7, 5, 3, 16, 3, 1, 1, 1, 1},
    {2, 7, 5, 5, 8, 3, 2, 1, 1, 0},
};

static void run_all(int path, int threads)
{
    int saved = dc_conv_path_override;
    dc_conv_path_override = path;
    omp_set_num_threads(threads);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check_shape(&shapes[i]);
    dc_conv_path_override = saved;
}

static void test_default_paths_one_thread(void **state)
{
    (void)state;
    run_all(DC_CONV_PATH_AUTO, 1);
}

static void test_default_paths_two_threads(void **state)
{
    (void)state;
    run_all(DC_CONV_PATH_AUTO, 2);
}

static void test_gemm_path(void **state)
{
    (void)state;
    run_all(DC_CONV_PATH_GEMM, 2);
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
