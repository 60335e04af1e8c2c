/*
 * attention_bench.c - the fused attention op (dc_attention) on its own:
 * forward, and forward + backward, GFLOP/s against the machine's peak.
 *
 * Shapes (B, T, H, D) self-attention, q k v random; FLOPs counted as the
 * matmuls a plain implementation does: forward 2 B H Tq Tk (Dk + Dv)
 * (scores, weighted sum), backward 2 B H Tq Tk (2 Dk + 2 Dv) plus the
 * recomputed scores 2 B H Tq Tk Dk; causal counts half of every term
 * (the blocks above the diagonal are skipped, so this is the useful work).
 * Prints one line per shape with the median of --reps runs: wall time, and
 * the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), whose GFLOP/s per core
 * stays meaningful on a machine shared with other jobs (the time spent
 * descheduled is not counted) when run with one thread.
 *
 * Usage: attention_bench [--threads N] [--reps N] [--peak GFLOPS_PER_CORE]
 */
#include "bench_util.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int b, t, h, d, causal;
} shape;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, bench_cmp_double);
    return x[n / 2];
}

static int run(const shape *s, int reps, int threads, double peak)
{
    dc_graph *g = dc_graph_new();
    dc_init init = {DC_INIT_RANDOM_UNIFORM, -1.0f, 1.0f};
    dc_node *q = dc_param(g, 4, (int[]){s->b, s->t, s->h, s->d}, init, "q");
    dc_node *k = dc_param(g, 4, (int[]){s->b, s->t, s->h, s->d}, init, "k");
    dc_node *v = dc_param(g, 4, (int[]){s->b, s->t, s->h, s->d}, init, "v");
    dc_node *out = dc_attention(g, q, k, v, NULL, s->causal, 1.0f / sqrtf((float)s->d));
    dc_node *r = dc_input(g, 0, 4, (int[]){s->b, s->t, s->h, s->d}, "r");
    dc_node *loss = dc_sum(g, dc_mul(g, out, r));
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    if (!loss || dc_graph_compile(g, 1, &rng) != DC_OK) {
        fprintf(stderr, "attention_bench: %s\n", dc_errmsg());
        return 1;
    }
    for (size_t i = 0; i < dc_node_numel(r); i++)
        r->val[i] = 0.001f * (float)(i % 17);
    double fwd[64], both[64], cfwd[64], cboth[64];
    for (int i = 0; i < reps + 1; i++) {
        double t0 = bench_now(), c0 = cpu_now();
        dc_status st = dc_graph_forward(g, out, 1);
        double t1 = bench_now(), c1 = cpu_now();
        st |= dc_graph_forward(g, loss, 1);
        st |= dc_graph_backward(g, loss);
        double t3 = bench_now(), c3 = cpu_now();
        if (st != DC_OK) {
            fprintf(stderr, "attention_bench: %s\n", dc_errmsg());
            return 1;
        }
        if (i > 0) { /* the first run touches the arena */
            fwd[i - 1] = t1 - t0;
            both[i - 1] = t3 - t1; /* forward (with the tiny sum) + backward */
            cfwd[i - 1] = c1 - c0;
            cboth[i - 1] = c3 - c1;
        }
    }
    double tt = (double)s->b * s->h * s->t * (double)s->t * (s->causal ? 0.5 : 1.0);
    double f_fwd = 2.0 * tt * (2.0 * s->d), f_bwd = 2.0 * tt * (5.0 * s->d);
    double mf = median(fwd, reps), mb = median(both, reps);
    double gf = f_fwd / mf * 1e-9, gb = (f_fwd + f_bwd) / mb * 1e-9;
    double cf = f_fwd / median(cfwd, reps) * 1e-9, cb = (f_fwd + f_bwd) / median(cboth, reps) * 1e-9;
    printf("attention B=%d T=%d H=%d D=%d causal=%d threads=%d fwd_ms %.3f fwd_gflops %.1f fwd_peak_pct %.1f "
           "fwdbwd_ms %.3f fwdbwd_gflops %.1f fwdbwd_peak_pct %.1f | per cpu-second: fwd_gflops %.1f (%.1f%% of a "
           "core) fwdbwd_gflops %.1f (%.1f%%)\n",
           s->b, s->t, s->h, s->d, s->causal, threads, mf * 1e3, gf, 100.0 * gf / (peak * threads), mb * 1e3, gb,
           100.0 * gb / (peak * threads), cf, 100.0 * cf / peak, cb, 100.0 * cb / peak);
    dc_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2, reps = 11;
    double peak = 220.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--peak"))
            peak = atof(argv[i + 1]);
    }
    if (threads < 1 || reps < 1 || reps > 63) {
        fprintf(stderr, "usage: attention_bench [--threads N>=1] [--reps 1..63] [--peak GFLOPS_PER_CORE]\n");
        return 2;
    }
    omp_set_num_threads(threads);
    static const shape shapes[] = {
        {32, 128, 4, 32, 0}, /* the encoder block of bench/transformer_block */
        {32, 128, 4, 32, 1},
        {4, 512, 8, 64, 0},
        {4, 512, 8, 64, 1},
        {1, 2048, 4, 64, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (run(&shapes[i], reps, threads, peak))
            return 1;
    return 0;
}
