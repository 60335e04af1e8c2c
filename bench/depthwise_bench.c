/*
 * depthwise_bench.c - the depthwise convolution (ops_depthwise.c) and the
 * grouped one (ops_conv_grouped.c) alone, forward and backward, against the
 * machine's memory bandwidth.
 *
 * A depthwise convolution does kh*kw multiply-adds per output value, so it
 * is bound by memory, not arithmetic: the least it can move is its input
 * once and its output once forward (x + y), and backward gy and gx (read
 * and written: gx is added into) for the input gradient plus x and gy again
 * for the kernel gradient.  GB/s below is that least traffic over the
 * time, compared with the bandwidth given by --bw (default 36 GB/s, the
 * triad figure of one thread on the benchmark machine, /work/shared/DATA.md;
 * ~70 on two).  The grouped cases report GFLOP/s (2 per multiply-add)
 * instead: with groups of 16+ channels they are bound by arithmetic.
 *
 * The op's forward and backward are called directly (after one whole step),
 * timed by the wall clock and by the process's CPU clock, best of 5 rounds:
 * on a shared machine the wall clock counts the time other processes had
 * the core, the CPU clock (with one thread) does not; rates use the CPU
 * clock, so run it with --threads 1 where the machine is shared.
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

#include "graph/graph.h" /* the node's op, called directly */

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of 5 rounds of `reps` calls of the node's forward (backward 0) or
 * backward (1), by the wall clock and by the process's CPU clock. */
static void time_op(dc_node *y, int backward, int reps, double *wall, double *cpu)
{
    *wall = *cpu = 1e9;
    for (int r = 0; r < 5; r++) {
        double w0 = omp_get_wtime(), c0 = cpu_now();
        for (int i = 0; i < reps; i++) {
            if (backward)
                y->op->backward(y, NULL);
            else
                y->op->forward(y, NULL);
        }
        double w = (omp_get_wtime() - w0) / reps, c = (cpu_now() - c0) / reps;
        *wall = w < *wall ? w : *wall;
        *cpu = c < *cpu ? c : *cpu;
    }
}

static int bench(const dw_case *cc, int reps, double bw)
{
    dc_graph *g = dc_graph_new();
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
    /* one whole step first: every buffer touched, y's gradient set (the timed backwards add into the others) */
    if (!loss || dc_graph_compile(g, 1, &rng) != DC_OK || dc_graph_forward(g, loss, 1) != DC_OK ||
        dc_graph_backward(g, loss) != DC_OK) {
        fprintf(stderr, "depthwise_bench: %s\n", dc_errmsg());
        dc_graph_free(g);
        return 1;
    }
    double fw, fc, bw_, bc;
    time_op(y, 0, reps, &fw, &fc);
    time_op(y, 1, reps, &bw_, &bc);
    double xs = 4.0 * cc->batch * cc->h * cc->w * cc->c, ys = 4.0 * dc_node_size(y);
    if (cc->groups == 0) {
        double f_bytes = xs + ys, b_bytes = 3 * xs + 2 * ys;
        printf("%-16s forward  wall %8.1f us cpu %8.1f us  %5.1f GB/s  %3.0f%% of %.0f\n", cc->name, fw * 1e6, fc * 1e6,
               f_bytes / fc * 1e-9, 100 * f_bytes / fc * 1e-9 / bw, bw);
        printf("%-16s backward wall %8.1f us cpu %8.1f us  %5.1f GB/s  %3.0f%% of %.0f\n", cc->name, bw_ * 1e6, bc * 1e6,
               b_bytes / bc * 1e-9, 100 * b_bytes / bc * 1e-9 / bw, bw);
    } else {
        double fl = 2.0 * dc_node_size(y) * cc->k * cc->k * (cc->c / cc->groups);
        printf("%-16s forward  wall %8.1f us cpu %8.1f us  %5.1f GFLOP/s\n", cc->name, fw * 1e6, fc * 1e6, fl / fc * 1e-9);
        printf("%-16s backward wall %8.1f us cpu %8.1f us  %5.1f GFLOP/s\n", cc->name, bw_ * 1e6, bc * 1e6,
               2 * fl / bc * 1e-9);
    }
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
