/*
 * depthwise_bench.c - the depthwise convolution (ops_depthwise.c) and the
 * grouped one (ops_conv_grouped.c) alone, forward and backward, against the
 * machine's memory bandwidth.
 *
 * A depthwise convolution does kh*kw multiply-adds per output value, so it
 * is bound by memory, not arithmetic: the least it can move is its input
 * once and its output once forward (x + y), and backward gy and gx (read
 * and written: gx is added into) for the input gradient plus x and gy again
 * for the kernel gradient.  GB/s below is that least traffic over the time;
 * of_bw compares it with the bandwidth given by --bw (default 36 GB/s, the
 * triad figure of one thread on the benchmark machine, /work/shared/DATA.md;
 * ~70 on two).  The grouped cases report GFLOP/s (2 per multiply-add)
 * instead: with groups of 16+ channels they are bound by arithmetic.
 *
 * Cases (NHWC, 3x3 "same" unless said): MobileNet v1's depthwise layers at
 * 112/56/28/14 pixels, a stride-2 one, depth multiplier 2, and a batch-1
 * inference size; grouped: 2 and 4 groups of a 3x3 convolution.
 * bench/depthwise_torch.py times the same cases in PyTorch (channels_last);
 * bench/depthwise_run.sh runs both side by side.
 *
 * Usage: depthwise_bench [--threads N] [--reps N] [--bw GB/s] [--quick]
 */
#include <deepc.h>

#include "graph/graph.h" /* per-op timers (dc_node.time_fwd / time_bwd) */

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dw_case {
    const char *name;
    int batch, h, w, c, m, k, stride, groups, f; /* groups 0: depthwise with multiplier m; else grouped, f filters */
} dw_case;

static const dw_case cases[] = {
    {"dw112_c32", 8, 112, 112, 32, 1, 3, 1, 0, 0},   {"dw56_c128", 8, 56, 56, 128, 1, 3, 1, 0, 0},
    {"dw56_c128_s2", 8, 56, 56, 128, 1, 3, 2, 0, 0}, {"dw28_c256", 8, 28, 28, 256, 1, 3, 1, 0, 0},
    {"dw14_c512", 8, 14, 14, 512, 1, 3, 1, 0, 0},    {"dw28_c64_m2", 8, 28, 28, 64, 2, 3, 1, 0, 0},
    {"dw7_c64_mnist", 32, 7, 7, 64, 1, 3, 1, 0, 0},  {"dw112_c32_b1", 1, 112, 112, 32, 1, 3, 1, 0, 0},
    {"grp2_28_c64", 8, 28, 28, 64, 0, 3, 1, 2, 64},  {"grp4_28_c64", 8, 28, 28, 64, 0, 3, 1, 4, 64},
    {"conv_28_c64", 8, 28, 28, 64, 0, 3, 1, 1, 64},
};

static int bench(const dw_case *cc, int reps, double bw)
{
    dc_graph *g = dc_graph_new();
    g->profile = 1; /* time every op (cleared before the free: no report) */
    dc_init u = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    int out_c = cc->groups ? cc->f : cc->c * cc->m;
    dc_node *x = dc_param(g, 4, (int[]){cc->batch, cc->h, cc->w, cc->c}, u, "x"), *y;
    dc_node *b = dc_param(g, 1, &out_c, u, "bias");
    if (cc->groups == 0)
        y = dc_depthwise_conv2d(g, x, dc_param(g, 4, (int[]){cc->k, cc->k, cc->c, cc->m}, u, "kernel"), b, cc->stride,
                                cc->stride, 1, 1, 1);
    else if (cc->groups == 1)
        y = dc_conv2d(g, x, dc_param(g, 4, (int[]){cc->k, cc->k, cc->c, cc->f}, u, "kernel"), b, cc->stride,
                      cc->stride, 1, 1, 1);
    else
        y = dc_conv2d_grouped(g, x, dc_param(g, 4, (int[]){cc->k, cc->k, cc->c / cc->groups, cc->f}, u, "kernel"), b,
                              cc->groups, cc->stride, cc->stride, 1, 1, 1);
    dc_node *loss = dc_sum(g, y);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    if (!loss || dc_graph_compile(g, 1, &rng) != DC_OK) {
        fprintf(stderr, "depthwise_bench: %s\n", dc_errmsg());
        dc_graph_free(g);
        return 1;
    }
    double best_f = 1e9, best_b = 1e9;
    for (int r = 0; r < 5; r++) {
        y->time_fwd = y->time_bwd = 0;
        for (int i = 0; i < reps; i++)
            if (dc_graph_forward(g, loss, 1) != DC_OK || dc_graph_backward(g, loss) != DC_OK) {
                fprintf(stderr, "depthwise_bench: %s\n", dc_errmsg());
                dc_graph_free(g);
                return 1;
            }
        best_f = y->time_fwd < best_f ? y->time_fwd : best_f;
        best_b = y->time_bwd < best_b ? y->time_bwd : best_b;
    }
    double xs = 4.0 * cc->batch * cc->h * cc->w * cc->c, ys = 4.0 * dc_node_size(y);
    double tf = best_f / reps, tb = best_b / reps;
    if (cc->groups == 0) {
        double gf = (xs + ys) / tf * 1e-9, gb = (ys + 2 * xs + xs + ys) / tb * 1e-9;
        printf("%s_forward_us %.1f gbs %.1f of_bw %.0f%%\n", cc->name, tf * 1e6, gf, 100 * gf / bw);
        printf("%s_backward_us %.1f gbs %.1f of_bw %.0f%%\n", cc->name, tb * 1e6, gb, 100 * gb / bw);
    } else {
        double fl = 2.0 * dc_node_size(y) * cc->k * cc->k * (cc->c / cc->groups);
        printf("%s_forward_us %.1f gflops %.1f\n", cc->name, tf * 1e6, fl / tf * 1e-9);
        printf("%s_backward_us %.1f gflops %.1f\n", cc->name, tb * 1e6, 2 * fl / tb * 1e-9);
    }
    g->profile = 0;
    dc_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 10, quick = 0;
    double bw = 36.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bw") && i + 1 < argc)
            bw = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--reps N] [--bw GB/s] [--quick]\n", argv[0]);
            return 2;
        }
    }
    omp_set_num_threads(threads);
    printf("threads %d reps %d bandwidth %.0f GB/s\n", threads, reps, bw);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if ((!quick || i % 3 == 0) && bench(&cases[i], reps, bw))
            return 1;
    return 0;
}
