/*
 * transformer_block_fused.c - the encoder block of transformer_block.c built
 * with the graph API around the fused attention op (dc_attention): the same
 * math (Dense projections to 4 heads of 32, attention, output projection,
 * Add + LayerNorm(1e-6), Dense 512 GELU, Dense 128, Add + LayerNorm, mse,
 * Adam), without the MultiHeadAttention layer's batched matmuls, permutes
 * and (B, H, T, T) softmax.  Prints the median ms per training step (wall-clock and process CPU time).
 *
 * Usage: transformer_block_fused [--threads N] [--steps N] [--warmup N]
 */
#include "bench_util.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B = 32, T = 128, DIM = 128, HEADS = 4, KD = DIM / HEADS, FF = 512 };

static dc_node *weight(dc_graph *g, int rows, int cols)
{
    return dc_param(g, 2, (int[]){rows, cols}, (dc_init){DC_INIT_GLOROT_UNIFORM, 0, 0}, NULL);
}

static dc_node *vec(dc_graph *g, int n, int kind)
{
    return dc_param(g, 1, (int[]){n}, (dc_init){(dc_init_kind)kind, 0, 0}, NULL);
}

static dc_node *heads(dc_graph *g, dc_node *x, dc_node *w, dc_node *b)
{
    return dc_reshape(g, dc_dense(g, x, w, b), 3, (int[]){T, HEADS, KD});
}

/* The process's CPU time in seconds (all its threads). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = 2, steps = 20, warmup = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atoi(argv[i + 1]);
    }
    if (steps < 1 || steps > 1000 || warmup < 0 || threads < 1) {
        fprintf(stderr, "usage: transformer_block_fused [--threads N] [--steps 1..1000] [--warmup N]\n");
        return 2;
    }
    omp_set_num_threads(threads);
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 2, (int[]){T, DIM}, "x"), *y = dc_input(g, 1, 2, (int[]){T, DIM}, "y");
    dc_node *q = heads(g, x, weight(g, DIM, DIM), vec(g, DIM, DC_INIT_ZEROS));
    dc_node *k = heads(g, x, weight(g, DIM, DIM), vec(g, DIM, DC_INIT_ZEROS));
    dc_node *v = heads(g, x, weight(g, DIM, DIM), vec(g, DIM, DC_INIT_ZEROS));
    dc_node *o = dc_reshape(g, dc_attention(g, q, k, v, NULL, 0, 1.0f / sqrtf((float)KD)), 2, (int[]){T, DIM});
    dc_node *a = dc_dense(g, o, weight(g, DIM, DIM), vec(g, DIM, DC_INIT_ZEROS));
    dc_node *h = dc_layernorm(g, dc_add(g, x, a), vec(g, DIM, DC_INIT_ONES), vec(g, DIM, DC_INIT_ZEROS), 1e-6f);
    dc_node *f = dc_activation(g, dc_dense(g, h, weight(g, DIM, FF), vec(g, FF, DC_INIT_ZEROS)), DC_ACT_GELU);
    f = dc_dense(g, f, weight(g, FF, DIM), vec(g, DIM, DC_INIT_ZEROS));
    dc_node *out = dc_layernorm(g, dc_add(g, h, f), vec(g, DIM, DC_INIT_ONES), vec(g, DIM, DC_INIT_ZEROS), 1e-6f);
    dc_node *loss = dc_loss(g, DC_LOSS_MSE, out, y);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    if (!loss || dc_graph_compile(g, B, &rng) != DC_OK || dc_graph_set_batch(g, B) != DC_OK) {
        fprintf(stderr, "transformer_block_fused: %s\n", dc_errmsg());
        return 1;
    }
    size_t np;
    float *params = dc_graph_params(g, &np), *grads = dc_graph_grads(g, &np);
    dc_optimizer_config oc = dc_optimizer_defaults(DC_OPT_ADAM);
    dc_optimizer *opt = dc_optimizer_new(&oc, np);
    double *ms = malloc(2 * (size_t)steps * sizeof *ms), *cpu = ms ? ms + steps : NULL;
    if (!opt || !ms)
        return 1;
    for (size_t i = 0; i < dc_node_numel(x); i++) {
        x->val[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
        y->val[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
    }
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = bench_now(), c0 = cpu_now();
        if (dc_graph_forward(g, loss, 1) != DC_OK || dc_graph_backward(g, loss) != DC_OK) {
            fprintf(stderr, "transformer_block_fused: %s\n", dc_errmsg());
            return 1;
        }
        dc_optimizer_step(opt, params, grads);
        if (s >= warmup)
        {
            ms[s - warmup] = 1e3 * (bench_now() - t0);
            cpu[s - warmup] = 1e3 * (cpu_now() - c0);
        }
    }
    qsort(ms, (size_t)steps, sizeof *ms, bench_cmp_double);
    qsort(cpu, (size_t)steps, sizeof *cpu, bench_cmp_double);
    printf("deepc fused encoder block B=%d T=%d dim=%d heads=%d ff=%d threads=%d loss %.4f median_ms_per_step %.2f median_cpu_ms_per_step %.2f\n",
           B, T, DIM, HEADS, FF, threads, loss->val[0], ms[steps / 2], cpu[steps / 2]);
    free(ms);
    dc_optimizer_free(opt);
    dc_graph_free(g);
    return 0;
}
