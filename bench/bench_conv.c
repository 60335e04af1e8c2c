/*
 * bench_conv.c - convolutions alone, as a training step runs them, against
 * the machine's sgemm peak.  The default set is seed 003's CNN (batch 32,
 * ReLU fused):
 *   conv1  (32, 28, 28, 1)  -> 3x3x1  x 32 filters  (direct path; gK only,
 *          the input needs no gradient)
 *   conv2  (32, 13, 13, 32) -> 3x3x32 x 64 filters  (blocked path; gK and gx)
 * --model resnet: the convolutions of examples/resnet_model.h after its first
 * (16, 32 and 64 channels, 3x3 and 1x1, strides 1 and 2, "same" padding, no
 * ReLU), all on the blocked path; --model deconv: a DCGAN-style generator's
 * Conv2DTranspose layers (5x5, stride 2, 64 -> 32 -> 16 channels); --gemm
 * sends what the blocked path would take to im2col + GEMM instead.
 * GFLOP/s count 2 flops per multiply-add of the convolution proper.  The peak
 * is OpenBLAS sgemm 1024^3 on the same threads, best of 5.
 *
 * Usage: bench_conv [--model cnn|resnet|deconv] [--gemm] [--threads N] [--batch N] [--reps N]
 */
#include <deepc.h>

#include "graph/graph.h"      /* per-op timers (dc_node.time_fwd / time_bwd) */

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double sgemm_peak(void)
{
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e9;
    for (int r = 0; r < 6; r++) {
        double t0 = omp_get_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = omp_get_wtime() - t0;
        if (r > 0 && t < best) /* the first call warms up */
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * n / best * 1e-9;
}

/* One convolution to time: input (batch, h, w, c), k x k x c x f kernel. */
typedef struct conv_case {
    const char *name;
    int h, w, c, f, k, stride, same, relu, input_grad, transpose; /* transpose: Conv2DTranspose, no ReLU */
} conv_case;

/* Times forward + backward of one convolution; prints GFLOP/s.  gemm: the
 * graph's opts.conv_gemm. */
static int bench(const conv_case *cc, int batch, int reps, double peak, int gemm)
{
    int h = cc->h, w = cc->w, c = cc->c, f = cc->f;
    dc_graph *g = dc_graph_new();
    g->opts.conv_gemm = gemm;
    g->profile = 1; /* time every op (and cleared before the free: no report) */
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    dc_node *x = cc->input_grad ? dc_param(g, 4, (int[]){batch, h, w, c}, u, "x")
                                : dc_input(g, 1, 3, (int[]){h, w, c}, "x");
    dc_node *k = dc_param(g, 4, cc->transpose ? (int[]){cc->k, cc->k, f, c} : (int[]){cc->k, cc->k, c, f}, u, "kernel");
    dc_node *b = dc_param(g, 1, &f, u, "bias");
    dc_node *y = cc->transpose ? dc_conv2d_transpose(g, x, k, b, (int[]){cc->stride, cc->stride}, cc->same,
                                                     (int[]){1, 1}, NULL)
                               : (cc->relu ? dc_conv2d_relu : dc_conv2d)(g, x, k, b, cc->stride, cc->stride, cc->same,
                                                                         1, 1);
    dc_node *loss = dc_sum(g, y);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    if (!loss || dc_graph_compile(g, batch, &rng) != DC_OK || dc_graph_set_batch(g, batch) != DC_OK) {
        fprintf(stderr, "bench_conv: %s\n", dc_errmsg());
        dc_graph_free(g);
        return 1;
    }
    if (!cc->input_grad)
        for (size_t i = 0; i < (size_t)batch * h * w * c; i++)
            dc_node_value(x)[i] = (float)(i % 13) * 0.07f;
    double best_f = 1e9, best_b = 1e9;
    for (int r = 0; r < 5; r++) {
        y->time_fwd = y->time_bwd = 0;
        for (int i = 0; i < reps; i++)
            if (dc_graph_forward(g, loss, 1) != DC_OK || dc_graph_backward(g, loss) != DC_OK) {
                fprintf(stderr, "bench_conv: %s\n", dc_errmsg());
                dc_graph_free(g);
                return 1;
            }
        best_f = y->time_fwd < best_f ? y->time_fwd : best_f;
        best_b = y->time_bwd < best_b ? y->time_bwd : best_b;
    }
    int pixels = cc->transpose ? h * w : y->shape[1] * y->shape[2]; /* the side the windows slide over */
    double fl = 2.0 * batch * pixels * cc->k * cc->k * c * f * reps;  /* one pass */
    double gf = fl / best_f * 1e-9, gb = (cc->input_grad ? 2 : 1) * fl / best_b * 1e-9;
    printf("%s_forward_us %.1f gflops %.0f of_peak %.0f%%\n", cc->name, best_f / reps * 1e6, gf, 100 * gf / peak);
    printf("%s_backward_us %.1f gflops %.0f of_peak %.0f%%\n", cc->name, best_b / reps * 1e6, gb, 100 * gb / peak);
    g->profile = 0;
    dc_graph_free(g);
    return 0;
}

/* Seed 003's two convolutions (ReLU fused; the first needs no input gradient). */
static const conv_case cnn_cases[] = {
    {"conv1", 28, 28, 1, 32, 3, 1, 0, 1, 0, 0},
    {"conv2", 13, 13, 32, 64, 3, 1, 0, 1, 1, 0},
};

/* The convolutions of examples/resnet_model.h after its first (no ReLU: BN follows). */
static const conv_case resnet_cases[] = {
    {"res16_3x3", 28, 28, 16, 16, 3, 1, 1, 0, 1, 0},     {"res16to32_3x3s2", 28, 28, 16, 32, 3, 2, 1, 0, 1, 0},
    {"res16to32_1x1s2", 28, 28, 16, 32, 1, 2, 1, 0, 1, 0}, {"res32_3x3", 14, 14, 32, 32, 3, 1, 1, 0, 1, 0},
    {"res32to64_3x3s2", 14, 14, 32, 64, 3, 2, 1, 0, 1, 0}, {"res32to64_1x1s2", 14, 14, 32, 64, 1, 2, 1, 0, 1, 0},
    {"res64_3x3", 7, 7, 64, 64, 3, 1, 1, 0, 1, 0},
};

/* A DCGAN-style generator's upsampling: Conv2DTranspose(5x5, stride 2, same). */
static const conv_case deconv_cases[] = {
    {"deconv64to32_5x5s2", 7, 7, 64, 32, 5, 2, 1, 0, 1, 1},
    {"deconv32to16_5x5s2", 14, 14, 32, 16, 5, 2, 1, 0, 1, 1},
};

int main(int argc, char **argv)
{
    int threads = 2, batch = 32, reps = 200, set = 0, gemm = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            i++;
            set = !strcmp(argv[i], "resnet") ? 1 : !strcmp(argv[i], "deconv") ? 2 : 0;
        }
        else if (!strcmp(argv[i], "--gemm")) /* what the blocked path would take goes to im2col + GEMM */
            gemm = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            threads = 0;
    }
    if (threads < 1 || batch < 1 || reps < 1) {
        fprintf(stderr, "usage: %s [--model cnn|resnet|deconv] [--gemm] [--threads N] [--batch N] [--reps N]\n", argv[0]);
        return 2;
    }
    omp_set_num_threads(threads);
    omp_set_max_active_levels(1);
    double peak = sgemm_peak();
    printf("blas_core %s\nthreads %d\nsgemm_peak_gflops %.0f\n", dc_blas_core(), threads, peak);
    const conv_case *cases = set == 1 ? resnet_cases : set == 2 ? deconv_cases : cnn_cases;
    size_t count = set == 1   ? sizeof resnet_cases / sizeof *resnet_cases
                   : set == 2 ? sizeof deconv_cases / sizeof *deconv_cases
                                 : sizeof cnn_cases / sizeof *cnn_cases;
    for (size_t i = 0; i < count; i++)
        if (bench(&cases[i], batch, reps, peak, gemm))
            return 1;
    return 0;
}
