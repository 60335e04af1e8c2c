/*
 * attn_internal.h - what the fused attention op (ops_attention.c) shares
 * with its AVX-512 kernels (attn_avx512.c): the block sizes, one (batch,
 * head) task's pointers and strides, and the per-task forward and backward
 * that the kernels run where the build has AVX-512.
 */
#ifndef DC_ATTN_INTERNAL_H
#define DC_ATTN_INTERNAL_H

#include <stddef.h>

/* Queries and keys per block. */
enum { ATTN_BQ = 128, ATTN_BK = 128 };

/* The problem's sizes. */
typedef struct attn_geom {
    int B, Tq, Tk, H, Dk, Dv;
} attn_geom;

/* One (batch, head) problem: base pointers and row strides. */
typedef struct attn_task {
    const float *q, *k, *v, *mask; /* mask (Tq, Tk) or NULL */
    size_t ldq, ldk, ldv;          /* H * Dk, H * Dk, H * Dv */
    const float *kt, *vt;          /* the AVX-512 kernels' k^T (scaled) and v^T, or NULL */
    int causal, empty_zero;
    float scale;
} attn_task;

/* A thread's scratch: p and ds (ATTN_BQ x ATTN_BK each), the accumulated
 * output (ATTN_BQ x Dv), per query of a block the running max, sum,
 * rescale factor and 1 / sum, and room for the task's k and v transposed
 * (Dk x Tk, Dv x Tk). */
typedef struct attn_scratch {
    float *p, *ds, *acc, *m, *l, *alpha, *inv, *kt, *vt;
} attn_scratch;

/* The gradients one backward task writes: rows of dq, dk, dv (NULL: not
 * wanted), each either added to or (zero_*: the op is the input's one
 * reader) written whole; dout's rows (ldo apart). */
typedef struct attn_grads {
    float *q, *k, *v;
    int zero_q, zero_k, zero_v;
    const float *gout;
    size_t ldo;
} attn_grads;

/* Whether the block of queries [i0, i1) needs keys from j0 on (empty[i]
 * nonzero: query i has no allowed key and attends to all). */
int dc_attn_block_needed(const attn_task *t, const float *empty, int i0, int i1, int j0);

/* One task's forward with AVX-512 kernels: out's rows (ldo
 * apart) and lse2[i], row i's log2 of the sum of 2^(log2(e) s_ij) over its
 * allowed keys (+inf for a row with none).  0 where the build has no
 * AVX-512 (then nothing is done). */
int dc_attn_forward_avx512(const attn_task *t, const attn_geom *a, const float *empty, float *out, size_t ldo,
                           float *lse2, const attn_scratch *w);

/* One task's backward with AVX-512 kernels, from
 * the forward's lse2 and the rows' delta_i = dout_i . out_i.  0 where the
 * build has no AVX-512. */
int dc_attn_backward_avx512(const attn_task *t, const attn_geom *a, const float *empty, const float *lse2,
                            const float *delta, const attn_grads *g, const attn_scratch *w);

#endif
