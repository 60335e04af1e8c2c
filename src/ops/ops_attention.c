/*
 * ops_attention.c - fused scaled dot-product attention (flash-attention
 * style): scores, masked softmax and the weighted sum per (batch, head),
 * block by block, without ever holding the (B, H, Tq, Tk) scores.
 *
 * attention: q (B, Tq, H, Dk), k (B, Tk, H, Dk), v (B, Tk, H, Dv), optional
 * mask (B, Tq, Tk) (nonzero = attend, 0 = masked) -> out (B, Tq, H, Dv)
 * (Keras' MultiHeadAttention layout after the projections):
 *     s_ij = scale * q_i . k_j,   p_i = softmax over the allowed j of s_i,
 *     out_i = sum_j p_ij v_j
 * Key j is allowed for query i when the mask is nonzero there and, with
 * attr.attention.causal, j <= i (Keras' causal mask: lower triangular on
 * (Tq, Tk)).  A query with no allowed key (a padding row) attends to every
 * key unmasked: what Keras' additive mask (scores - 1e9 on masked keys,
 * then softmax) gives in exact arithmetic, and what a float64 reference
 * gives; never a NaN.  With attr.attention.empty_zero such a row instead
 * gets an all-zero output and no gradient (Keras 3's Softmax(mask=), whose
 * wholly masked rows are all-zero probabilities: MultiHeadAttention's
 * semantics); its lse is +inf, so the backward's p = exp(s - lse) is 0.
 *
 * Forward: for each block of BQ queries, the keys are visited in blocks of
 * BK with the online softmax (running max m and sum l per row; the partial
 * output rescaled by exp(m_old - m_new) when the max grows); each row's
 * logsumexp lse = m + log(l) is kept in the node's scratch for the backward.
 * Causal blocks entirely above the diagonal are skipped.
 *
 * Backward (FlashAttention-2): Delta_i = dout_i . out_i per row first; then
 * for each block of keys, over the blocks of queries, the scores are
 * recomputed and
 *     p = exp(s - lse),  dv_j += sum_i p_ij dout_i,  dp_ij = dout_i . v_j,
 *     ds_ij = p_ij (dp_ij - Delta_i),
 *     dq_i += scale sum_j ds_ij k_j,  dk_j += scale sum_i ds_ij q_i.
 * The mask gets no gradient.  Each (batch, head) is one task for the OpenMP
 * threads, and the rows it touches in out, dq, dk, dv belong to it alone, so
 * no thread waits on another.
 *
 * Where the build has AVX-512, a task runs attn_avx512.c's kernels: the
 * task's k transposed once (times scale log2(e)) and, in the backward, v;
 * the scores of 3 queries x up to 128 keys held in registers through the
 * online softmax (forward) or through p and ds (backward, with dp = dout
 * v^T beside them), only p and ds stored; the products as register tiles
 * whose epilogues rescale and normalise the output; lse kept in base 2;
 * each gradient's first contribution written rather than added, so the
 * gradients of inputs this op alone reads (grad_set) need no zeroing pass.
 * Otherwise (DEEPC_NATIVE=OFF builds) the code below: every block product
 * one OpenBLAS sgemm straight on the strided (B, T, H, D) rows (leading
 * dimension H * D), one thread each inside the parallel region, and the
 * softmax and mask passes plain C loops that vectorise (attn_exp is a
 * polynomial exp, as glibc's expf does not vectorise); inputs with
 * grad_set get their rows zeroed first.
 *
 * Scratch: one slot per thread (a block of scores and one of their
 * gradients, the output block being accumulated, the row statistics, the
 * task's k^T and v^T) and, per sample, lse and Delta for every (head,
 * query).
 */
#include "graph/graph.h"
#include "ops/attn_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

enum { BQ = ATTN_BQ, BK = ATTN_BK };

static attn_geom geom_of(const dc_node *n)
{
    const dc_node *q = n->in[0], *v = n->in[2];
    return (attn_geom){q->shape[0], q->shape[1], n->in[1]->shape[1], q->shape[2], q->shape[3], v->shape[3]};
}

/* Floats of one thread's slot: s and ds (BQ x BK), the accumulated output
 * block (BQ x Dv), m, l, alpha and 1 / l (BQ each), the empty-row flags
 * (Tq), and the task's k and v transposed (Dk x Tk, Dv x Tk) for the
 * AVX-512 kernels. */
static size_t slot_floats(const attn_geom *a)
{
    size_t s = 2 * BQ * BK;
    s = dc_size_add(s, dc_size_mul(BQ, (size_t)a->Dv));
    s = dc_size_add(s, 4 * BQ);
    s = dc_size_add(s, (size_t)a->Tq);
    return dc_size_add(s, dc_size_mul((size_t)a->Tk, (size_t)a->Dk + (size_t)a->Dv)); /* k^T and v^T */
}

static dc_status attn_infer(dc_node *n)
{
    const dc_node *q = n->in[0], *k = n->in[1], *v = n->in[2], *mask = n->in[3];
    char sq[96], sk[96], sv[96];
    dc_shape_str(q->ndim, q->shape, sq, sizeof sq);
    dc_shape_str(k->ndim, k->shape, sk, sizeof sk);
    dc_shape_str(v->ndim, v->shape, sv, sizeof sv);
    if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4)
        return dc_fail(DC_ERR_SHAPE, "attention: q %s, k %s, v %s; expected 4 axes each (batch, steps, heads, dim)",
                       sq, sk, sv);
    if (k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] || k->batched != q->batched ||
        v->batched != q->batched || k->batch_mult != q->batch_mult || v->batch_mult != q->batch_mult)
        return dc_fail(DC_ERR_SHAPE, "attention: q %s, k %s, v %s have different batches", sq, sk, sv);
    if (k->shape[2] != q->shape[2] || v->shape[2] != q->shape[2])
        return dc_fail(DC_ERR_SHAPE, "attention: q %s, k %s, v %s: the heads (axis 2) differ", sq, sk, sv);
    if (k->shape[3] != q->shape[3])
        return dc_fail(DC_ERR_SHAPE, "attention: q %s and k %s: the key dims (axis 3) differ", sq, sk);
    if (v->shape[1] != k->shape[1])
        return dc_fail(DC_ERR_SHAPE, "attention: k %s and v %s: the key steps (axis 1) differ", sk, sv);
    for (int i = 1; i < 4; i++)
        if (q->shape[i] < 1 || k->shape[i] < 1 || v->shape[i] < 1)
            return dc_fail(DC_ERR_SHAPE, "attention: q %s, k %s, v %s: every axis needs at least 1", sq, sk, sv);
    if (mask) {
        char sm[96];
        dc_shape_str(mask->ndim, mask->shape, sm, sizeof sm);
        if (mask->ndim != 3 || mask->shape[0] != q->shape[0] || mask->shape[1] != q->shape[1] ||
            mask->shape[2] != k->shape[1] || mask->batched != q->batched || mask->batch_mult != q->batch_mult)
            return dc_fail(DC_ERR_SHAPE, "attention: mask %s, expected (batch, query steps, key steps) = (%d, %d, %d)",
                           sm, q->shape[0], q->shape[1], k->shape[1]);
    }
    if (!(n->attr.attention.scale == n->attr.attention.scale) || isinf(n->attr.attention.scale))
        return dc_fail(DC_ERR_ARG, "attention: scale %g, expected a finite number", (double)n->attr.attention.scale);
    n->batched = q->batched;
    n->ndim = 4;
    memcpy(n->shape, q->shape, sizeof n->shape);
    n->shape[3] = v->shape[3];
    dc_status st = dc_node_check_size(n);
    if (st != DC_OK)
        return st;
    attn_geom a = geom_of(n);
    n->attr.attention.slots = omp_get_max_threads(); /* one slot of scratch per thread */
    n->work_fixed = dc_size_mul((size_t)n->attr.attention.slots, slot_floats(&a));
    size_t per_sample = dc_size_mul(2 * (size_t)a.H, (size_t)a.Tq); /* lse and Delta */
    if (n->batched)
        n->work_per_sample = per_sample;
    else
        n->work_fixed = dc_size_add(n->work_fixed, dc_size_mul(per_sample, (size_t)a.B));
    return DC_OK;
}

static attn_task task_of(const dc_node *n, const attn_geom *a, int b, int h)
{
    const float *mask = n->in[3] ? n->in[3]->val + (size_t)b * a->Tq * a->Tk : NULL;
    return (attn_task){n->in[0]->val + ((size_t)b * a->Tq * a->H + h) * a->Dk,
                       n->in[1]->val + ((size_t)b * a->Tk * a->H + h) * a->Dk,
                       n->in[2]->val + ((size_t)b * a->Tk * a->H + h) * a->Dv,
                       mask,
                       (size_t)a->H * a->Dk,
                       (size_t)a->H * a->Dk,
                       (size_t)a->H * a->Dv,
                       NULL,
                       NULL,
                       n->attr.attention.causal,
                       n->attr.attention.empty_zero,
                       n->attr.attention.scale};
}

/* The slot's parts: the kernels' scratch and the empty-row flags. */
static attn_scratch slot_parts(const attn_geom *a, float *slot, float **empty)
{
    attn_scratch w;
    w.p = slot;
    w.ds = w.p + BQ * BK;
    w.acc = w.ds + BQ * BK;
    w.m = w.acc + (size_t)BQ * a->Dv;
    w.l = w.m + BQ;
    w.alpha = w.l + BQ;
    w.inv = w.alpha + BQ;
    *empty = w.inv + BQ;
    w.kt = *empty + a->Tq;
    w.vt = w.kt + (size_t)a->Dk * a->Tk;
    return w;
}

/* c (m x n) = alpha op(a) b + beta c, b not transposed (OpenBLAS). */
static void block_product(int trans_a, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                          int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

/* empty[i] = 1 when query i has no allowed key (it then attends to all);
 * always 0 with empty_zero (such a row stays wholly masked). */
static void find_empty_rows(const attn_task *t, const attn_geom *a, float *empty)
{
    if (t->empty_zero) {
        memset(empty, 0, (size_t)a->Tq * sizeof(float));
        return;
    }
    for (int i = 0; i < a->Tq; i++) {
        int last = t->causal ? (i < a->Tk - 1 ? i : a->Tk - 1) : a->Tk - 1, any = 0;
        if (!t->mask)
            any = 1;
        else
            for (int j = 0; j <= last && !any; j++)
                any = t->mask[(size_t)i * a->Tk + j] != 0.0f;
        empty[i] = any ? 0.0f : 1.0f;
    }
}

/* Whether every (i, j) of the block is allowed (no masking pass needed). */
static int block_all_allowed(const attn_task *t, int i0, int j1) { return !t->mask && (!t->causal || j1 - 1 <= i0); }

/* exp(x) by range reduction and a degree-6 polynomial (relative error
 * ~2e-7), exactly 0 below -87 (so -inf, a masked score, gives 0), written so
 * the loops over a block vectorise (glibc's expf does not). */
static inline float attn_exp(float x)
{
    float xc = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float r = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    float f = xc - r * 0.693145751953125f - r * 1.428606765330187e-06f;
    float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 + f * (1.0f / 720))))));
    int32_t bits = ((int32_t)r + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.0f ? 0.0f : p * scale;
}

int dc_attn_block_needed(const attn_task *t, const float *empty, int i0, int i1, int j0)
{
    if (!t->causal || j0 <= i1 - 1)
        return 1;
    for (int i = i0; i < i1; i++)
        if (empty[i] != 0.0f)
            return 1;
    return 0;
}

/* s (nq x BK) = scale * q[i0..i0+nq) k[j0..j0+nb)^T; masked entries and
 * the columns beyond nb -inf. */
static void block_scores(const attn_task *t, const attn_geom *a, const float *empty, int i0, int nq, int j0, int nb,
                         float *s)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nb, a->Dk, t->scale, t->q + (size_t)i0 * t->ldq,
                (int)t->ldq, t->k + (size_t)j0 * t->ldk, (int)t->ldk, 0.0f, s, BK);
    int all = block_all_allowed(t, i0, j0 + nb);
    for (int r = 0; r < nq; r++) {
        int i = i0 + r, last = t->causal ? i - j0 : BK; /* columns c <= last are causally allowed */
        float *sr = s + (size_t)r * BK;
        for (int c = nb; c < BK; c++)
            sr[c] = -INFINITY;
        if (all || empty[i] != 0.0f)
            continue;
        if (t->mask) {
            const float *mr = t->mask + (size_t)i * a->Tk + j0;
#pragma omp simd
            for (int c = 0; c < nb; c++)
                sr[c] = mr[c] != 0.0f && c <= last ? sr[c] : -INFINITY;
        } else {
#pragma omp simd
            for (int c = 0; c < nb; c++)
                sr[c] = c <= last ? sr[c] : -INFINITY;
        }
    }
}

/* The online softmax of one block of scores: row r's running max m and sum
 * l updated, its accumulated output rescaled, s turned into exp(s - m). */
static void online_softmax(float *s, int nq, float *m, float *l, float *acc, int dv)
{
    for (int r = 0; r < nq; r++) {
        float *sr = s + (size_t)r * BK, mx = m[r];
#pragma omp simd reduction(max : mx) /* vector max: the scalar chain was a third of the forward */
        for (int c = 0; c < BK; c++)
            mx = sr[c] > mx ? sr[c] : mx;
        if (mx == -INFINITY) { /* nothing allowed yet in this row: weights 0 */
            memset(sr, 0, BK * sizeof(float));
            continue;
        }
        float alpha = attn_exp(m[r] - mx), sum = 0.0f; /* m = -inf: 0 */
        m[r] = mx;
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < BK; c++) {
            sr[c] = attn_exp(sr[c] - mx); /* masked and padded: 0 */
            sum += sr[c];
        }
        l[r] = l[r] * alpha + sum;
        if (alpha != 1.0f) {
            float *ar = acc + (size_t)r * dv;
#pragma omp simd
            for (int e = 0; e < dv; e++)
                ar[e] *= alpha;
        }
    }
}

static void forward_task(const dc_node *n, const attn_geom *a, int b, int h, float *slot, float *lse)
{
    attn_task t = task_of(n, a, b, h);
    float *empty;
    attn_scratch w = slot_parts(a, slot, &empty);
    float *s = w.p, *acc = w.acc, *m = w.m, *l = w.l;
    float *out = n->val + ((size_t)b * a->Tq * a->H + h) * a->Dv;
    size_t ldo = (size_t)a->H * a->Dv;
    int dv = a->Dv;
    find_empty_rows(&t, a, empty);
    if (dc_attn_forward_avx512(&t, a, empty, out, ldo, lse, &w)) /* the AVX-512 kernels: lse in base 2 */
        return;
    for (int i0 = 0; i0 < a->Tq; i0 += BQ) {
        int nq = a->Tq - i0 < BQ ? a->Tq - i0 : BQ;
        for (int r = 0; r < nq; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
        }
        memset(acc, 0, (size_t)nq * dv * sizeof(float));
        for (int j0 = 0; j0 < a->Tk && dc_attn_block_needed(&t, empty, i0, i0 + nq, j0); j0 += BK) {
            int nb = a->Tk - j0 < BK ? a->Tk - j0 : BK;
            block_scores(&t, a, empty, i0, nq, j0, nb, s);
            online_softmax(s, nq, m, l, acc, dv);
            /* acc (nq x Dv) += p v[j0..j0+nb) */
            block_product(0, nq, dv, nb, 1.0f, s, BK, t.v + (size_t)j0 * t.ldv, (int)t.ldv, 1.0f, acc, dv);
        }
        for (int r = 0; r < nq; r++) {
            float *o = out + (size_t)(i0 + r) * ldo;
            if (l[r] == 0.0f) { /* no allowed key (empty_zero only): output 0, p = exp(s - inf) = 0 */
                memset(o, 0, (size_t)dv * sizeof(float));
                lse[i0 + r] = INFINITY;
                continue;
            }
            float inv = 1.0f / l[r];
            const float *ar = acc + (size_t)r * dv;
#pragma omp simd
            for (int e = 0; e < dv; e++)
                o[e] = ar[e] * inv;
            lse[i0 + r] = m[r] + logf(l[r]);
        }
    }
}

/* The lse and Delta arrays of the current batch, after the slots. */
static float *stats_base(const dc_node *n, const attn_geom *a)
{
    (void)a;
    const attn_geom g = geom_of(n);
    return n->work + (size_t)n->attr.attention.slots * slot_floats(&g);
}

static int team_size(const dc_node *n, const attn_geom *a)
{
    double flops = 4.0 * a->B * a->H * (double)a->Tq * a->Tk * (a->Dk + a->Dv) / 2.0;
    int tasks = a->B * a->H, nt = n->attr.attention.slots;
    if (!dc_worth_parallel(flops))
        return 1;
    nt = nt < omp_get_max_threads() ? nt : omp_get_max_threads();
    return nt < tasks ? nt : tasks;
}

static dc_status attn_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    attn_geom a = geom_of(n);
    float *lse_all = stats_base(n, &a);
    size_t slot = slot_floats(&a);
    int tasks = a.B * a.H;
#pragma omp parallel num_threads(team_size(n, &a))
    {
        float *mine = n->work + (size_t)omp_get_thread_num() * slot;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++)
            forward_task(n, &a, task / a.H, task % a.H, mine, lse_all + (size_t)task * a.Tq);
    }
    return DC_OK;
}

/* Delta_i = dout_i . out_i for the rows of one (batch, head). */
static void row_deltas(const dc_node *n, const attn_geom *a, int b, int h, float *delta)
{
    size_t base = ((size_t)b * a->Tq * a->H + h) * a->Dv, ldo = (size_t)a->H * a->Dv;
    for (int i = 0; i < a->Tq; i++) {
        const float *o = n->val + base + (size_t)i * ldo, *go = n->grad + base + (size_t)i * ldo;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int e = 0; e < a->Dv; e++)
            s += o[e] * go[e];
        delta[i] = s;
    }
}

/* Zeroes `rows` rows of `cols` floats, `ld` apart (dst NULL: nothing). */
static void zero_rows(float *dst, int rows, size_t ld, int cols)
{
    for (int r = 0; dst && r < rows; r++)
        memset(dst + (size_t)r * ld, 0, (size_t)cols * sizeof(float));
}

static void backward_task(const dc_node *n, const attn_geom *a, int b, int h, float *slot, const float *lse,
                          float *delta)
{
    attn_task t = task_of(n, a, b, h);
    float *empty;
    attn_scratch w = slot_parts(a, slot, &empty);
    float *p = w.p, *ds = w.ds;
    dc_node *qn = n->in[0], *kn = n->in[1], *vn = n->in[2];
    float *gq = qn->requires_grad ? qn->grad + ((size_t)b * a->Tq * a->H + h) * a->Dk : NULL;
    float *gk = kn->requires_grad ? kn->grad + ((size_t)b * a->Tk * a->H + h) * a->Dk : NULL;
    float *gv = vn->requires_grad ? vn->grad + ((size_t)b * a->Tk * a->H + h) * a->Dv : NULL;
    const float *gout = n->grad + ((size_t)b * a->Tq * a->H + h) * a->Dv;
    int ldo = a->H * a->Dv, dk = a->Dk, dv = a->Dv;
    row_deltas(n, a, b, h, delta);
    find_empty_rows(&t, a, empty);
    /* the AVX-512 kernels write the first contributions, zeroing nothing */
    attn_grads g = {gq, gk, gv, qn->grad_set, kn->grad_set, vn->grad_set, gout, (size_t)ldo};
    if (dc_attn_backward_avx512(&t, a, empty, lse, delta, &g, &w))
        return;
    /* An input with grad_set (this op its one reader): nothing zeroed its
     * gradient, and this task owns these rows of it. */
    zero_rows(qn->grad_set ? gq : NULL, a->Tq, t.ldq, dk);
    zero_rows(kn->grad_set ? gk : NULL, a->Tk, t.ldk, dk);
    zero_rows(vn->grad_set ? gv : NULL, a->Tk, t.ldv, dv);
    for (int j0 = 0; j0 < a->Tk; j0 += BK) {
        int nb = a->Tk - j0 < BK ? a->Tk - j0 : BK;
        const float *kb = t.k + (size_t)j0 * t.ldk, *vb = t.v + (size_t)j0 * t.ldv;
        for (int i0 = 0; i0 < a->Tq; i0 += BQ) {
            int nq = a->Tq - i0 < BQ ? a->Tq - i0 : BQ;
            if (!dc_attn_block_needed(&t, empty, i0, i0 + nq, j0))
                continue;
            const float *qb = t.q + (size_t)i0 * t.ldq, *gob = gout + (size_t)i0 * ldo;
            block_scores(&t, a, empty, i0, nq, j0, nb, p);
            /* dp (nq x nb) = dout v^T, into ds */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nb, dv, 1.0f, gob, ldo, vb, (int)t.ldv, 0.0f, ds,
                        BK);
            for (int r = 0; r < nq; r++) {
                float *pr = p + (size_t)r * BK, *dr = ds + (size_t)r * BK, lr = lse[i0 + r], di = delta[i0 + r];
#pragma omp simd
                for (int c = 0; c < nb; c++) {
                    pr[c] = attn_exp(pr[c] - lr); /* masked: 0 */
                    dr[c] = t.scale * pr[c] * (dr[c] - di);
                }
            }
            if (gv) /* dv_j += sum_i p_ij dout_i */
                block_product(1, nb, dv, nq, 1.0f, p, BK, gob, ldo, 1.0f, gv + (size_t)j0 * t.ldv, (int)t.ldv);
            if (gq) /* dq_i += scale sum_j ds_ij k_j (ds holds the scale) */
                block_product(0, nq, dk, nb, 1.0f, ds, BK, kb, (int)t.ldk, 1.0f, gq + (size_t)i0 * t.ldq, (int)t.ldq);
            if (gk) /* dk_j += scale sum_i ds_ij q_i */
                block_product(1, nb, dk, nq, 1.0f, ds, BK, qb, (int)t.ldq, 1.0f, gk + (size_t)j0 * t.ldk, (int)t.ldk);
        }
    }
}

static void attn_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    if (!n->in[0]->requires_grad && !n->in[1]->requires_grad && !n->in[2]->requires_grad)
        return;
    attn_geom a = geom_of(n);
    float *lse_all = stats_base(n, &a), *delta_all = lse_all + (size_t)a.B * a.H * a.Tq;
    size_t slot = slot_floats(&a);
    int tasks = a.B * a.H;
#pragma omp parallel num_threads(team_size(n, &a))
    {
        float *mine = n->work + (size_t)omp_get_thread_num() * slot;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++)
            backward_task(n, &a, task / a.H, task % a.H, mine, lse_all + (size_t)task * a.Tq,
                          delta_all + (size_t)task * a.Tq);
    }
}

/* q, k and v's gradients are written whole (each task zeroes its rows of
 * an input with grad_set first) when they are three distinct nodes. */
static int attn_writes_input_grad(const dc_node *n, int input)
{
    return input < 3 && n->in[0] != n->in[1] && n->in[0] != n->in[2] && n->in[1] != n->in[2];
}

const dc_op dc_op_attention = {.name = "attention", .n_inputs = 4, .optional = DC_OPTIONAL(3),
                               .infer = attn_infer, .forward = attn_forward, .backward = attn_backward,
                               .writes_input_grad = attn_writes_input_grad};

dc_node *dc_attention(dc_graph *g, dc_node *q, dc_node *k, dc_node *v, dc_node *mask, int flags, float scale)
{
    DC_CHECK_NULL_OR(g, NULL);
    DC_CHECK_NULL_OR(q, NULL);
    DC_CHECK_NULL_OR(k, NULL);
    DC_CHECK_NULL_OR(v, NULL);
    dc_node *in[4] = {q, k, v, mask};
    if (flags & ~(DC_ATTENTION_CAUSAL | DC_ATTENTION_EMPTY_ROWS_ZERO)) {
        dc_fail(DC_ERR_ARG, "attention: flags %d; expected a combination of DC_ATTENTION_CAUSAL (1) and "
                            "DC_ATTENTION_EMPTY_ROWS_ZERO (2)", flags);
        return NULL;
    }
    dc_attention_attr at = {.causal = (flags & DC_ATTENTION_CAUSAL) != 0,
                            .empty_zero = (flags & DC_ATTENTION_EMPTY_ROWS_ZERO) != 0,
                            .scale = scale};
    return dc_node_make(g, &dc_op_attention, 4, in, &(dc_attr){.attention = at});
}
