/*
 * ops_matmul.c - batched matrix multiplication, the product attention is
 * made of (scores = Q K^T, output = P V).
 *
 * batched_matmul: a (..., m, k) x b (..., k, n) -> (..., m, n), with
 * trans_a taking a as (..., k, m) and trans_b taking b as (..., n, k)
 * (attr.bmm).  The leading axes are batch axes, broadcast as numpy's matmul
 * broadcasts them: aligned from the right, each pair equal or one of them 1,
 * a missing axis counting as 1.  So a (B, H, T, D) times a weight (D, E)
 * without batch axes multiplies every (T, D) block by the same matrix.  The
 * graph's batch axis (axis 0 of a batched node) may only meet the batch axis
 * of the other operand or a 1 (or no axis) there.
 *
 * Every product is one OpenBLAS sgemm call on a contiguous block.  Many
 * blocks (heads times batch) run as one OpenMP loop over blocks, OpenBLAS
 * single-threaded inside; few large blocks run one after another through
 * dc_sgemm, which threads within the product.  Backward adds into each
 * operand's gradient:
 *     dA  = G op(B)^T   (trans_a: dA = op(B) G^T)
 *     dB  = op(A)^T G   (trans_b: dB = G^T op(A))
 * An operand broadcast over some batch axes gets the sum over those blocks:
 * its blocks are visited in order by one loop (no two threads add into one
 * block), with dc_sgemm's threads inside.
 */
#include "graph/graph.h"

#include <cblas.h>
#include <string.h>

/* The geometry of one node: batch blocks and, per operand, the offset of
 * each block (through strides over the output's batch axes, 0 where the
 * operand is broadcast). */
typedef struct bmm_geom {
    int m, n, k;       /* op(A) (m, k), op(B) (k, n), C (m, n) */
    int nbd;           /* output batch axes */
    int dims[DC_MAX_DIMS];
    size_t sa[DC_MAX_DIMS], sb[DC_MAX_DIMS]; /* block strides of a, b per output batch axis */
    size_t nblocks;
    int a_bcast, b_bcast; /* several output blocks share one of a's (b's) blocks */
} bmm_geom;

/* Block strides of operand x (ndim axes, its last two the matrix) against
 * the output's nbd batch axes `dims`; sets *bcast when some axis repeats. */
static void operand_strides(const dc_node *x, int nbd, const int *dims, size_t *s, int *bcast)
{
    int xb = x->ndim - 2; /* x's batch axes, aligned to the right of the output's */
    size_t stride = (size_t)x->shape[x->ndim - 1] * (size_t)x->shape[x->ndim - 2];
    *bcast = 0;
    for (int d = nbd - 1; d >= 0; d--) {
        int xd = d - (nbd - xb);
        int size = xd >= 0 ? x->shape[xd] : 1;
        if (size == 1 && dims[d] != 1) {
            s[d] = 0;
            *bcast = 1;
        } else {
            s[d] = stride;
        }
        stride *= (size_t)size;
    }
}

static void bmm_geometry(const dc_node *n, bmm_geom *gm)
{
    const dc_node *a = n->in[0], *b = n->in[1];
    int ta = n->attr.bmm.trans_a, tb = n->attr.bmm.trans_b;
    gm->m = a->shape[a->ndim - (ta ? 1 : 2)];
    gm->k = a->shape[a->ndim - (ta ? 2 : 1)];
    gm->n = b->shape[b->ndim - (tb ? 2 : 1)];
    gm->nbd = n->ndim - 2;
    gm->nblocks = 1;
    for (int d = 0; d < gm->nbd; d++) {
        gm->dims[d] = n->shape[d];
        gm->nblocks *= (size_t)n->shape[d];
    }
    operand_strides(a, gm->nbd, gm->dims, gm->sa, &gm->a_bcast);
    operand_strides(b, gm->nbd, gm->dims, gm->sb, &gm->b_bcast);
}

/* Offsets of block i's a and b blocks. */
static void block_offsets(const bmm_geom *gm, size_t i, size_t *oa, size_t *ob)
{
    *oa = *ob = 0;
    for (int d = gm->nbd - 1; d >= 0; d--) {
        size_t idx = i % (size_t)gm->dims[d];
        i /= (size_t)gm->dims[d];
        *oa += idx * gm->sa[d];
        *ob += idx * gm->sb[d];
    }
}

static dc_status bmm_infer(dc_node *n)
{
    dc_node *a = n->in[0], *b = n->in[1];
    int ta = n->attr.bmm.trans_a, tb = n->attr.bmm.trans_b;
    char sa[96], sb[96];
    dc_shape_str(a->ndim, a->shape, sa, sizeof sa);
    dc_shape_str(b->ndim, b->shape, sb, sizeof sb);
    if (a->ndim < 2 || b->ndim < 2)
        return dc_fail(DC_ERR_SHAPE, "batched_matmul: operands %s and %s need at least 2 axes each", sa, sb);
    int ka = a->shape[a->ndim - (ta ? 2 : 1)], kb = b->shape[b->ndim - (tb ? 1 : 2)];
    if (ka != kb)
        return dc_fail(DC_ERR_SHAPE, "batched_matmul: cannot multiply %s%s by %s%s: inner sizes %d and %d differ", sa,
                       ta ? " (transposed)" : "", sb, tb ? " (transposed)" : "", ka, kb);
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim, nbd = nd - 2;
    n->ndim = nd;
    n->batched = a->batched || b->batched;
    for (int d = nbd - 1; d >= 0; d--) {
        int ad = d - (nd - a->ndim), bd = d - (nd - b->ndim);
        int x = ad >= 0 ? a->shape[ad] : 1, y = bd >= 0 ? b->shape[bd] : 1;
        /* the graph's batch axis meets the other's batch axis, a 1 or nothing */
        int a_batch = a->batched && ad == 0, b_batch = b->batched && bd == 0;
        if (a_batch != b_batch && ((a_batch && bd >= 0 && y != 1) || (b_batch && ad >= 0 && x != 1)))
            return dc_fail(DC_ERR_SHAPE, "batched_matmul: the batch axis of %s %s meets axis %d of %s (size %d); "
                                         "expected 1 there", a_batch ? "a" : "b", a_batch ? sa : sb,
                           a_batch ? bd : ad, a_batch ? sb : sa, a_batch ? y : x);
        if (a_batch != b_batch && d != 0)
            return dc_fail(DC_ERR_SHAPE, "batched_matmul: the batch axis of %s %s is not the output's first axis",
                           a_batch ? "a" : "b", a_batch ? sa : sb);
        if (x != y && x != 1 && y != 1)
            return dc_fail(DC_ERR_SHAPE, "batched_matmul: batch axes of %s and %s do not broadcast (%d against %d)", sa,
                           sb, x, y);
        n->shape[d] = x > y ? x : y;
    }
    n->shape[nd - 2] = a->shape[a->ndim - (ta ? 1 : 2)];
    n->shape[nd - 1] = b->shape[b->ndim - (tb ? 2 : 1)];
    return DC_OK;
}

/* Whether the blocks run as an OpenMP loop (many, each single-threaded). */
static int loop_over_blocks(const bmm_geom *gm)
{
    return gm->nblocks > 1 && dc_worth_parallel(2.0 * gm->m * gm->n * gm->k * (double)gm->nblocks);
}

// a (..., m, k) b (..., k, n) -> y (..., m, n)
static dc_status bmm_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    bmm_geom gm;
    bmm_geometry(n, &gm);
    int ta = n->attr.bmm.trans_a, tb = n->attr.bmm.trans_b;
    int lda = ta ? gm.m : gm.k, ldb = tb ? gm.k : gm.n;
    const float *a = n->in[0]->val, *b = n->in[1]->val;
    size_t mn = (size_t)gm.m * (size_t)gm.n;
    enum CBLAS_TRANSPOSE cta = ta ? CblasTrans : CblasNoTrans, ctb = tb ? CblasTrans : CblasNoTrans;
    if (loop_over_blocks(&gm)) {
        long nb = (long)gm.nblocks;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < nb; i++) {
            size_t oa, ob;
            block_offsets(&gm, (size_t)i, &oa, &ob);
            cblas_sgemm(CblasRowMajor, cta, ctb, gm.m, gm.n, gm.k, 1.0f, a + oa, lda, b + ob, ldb, 0.0f,
                        n->val + (size_t)i * mn, gm.n);
        }
    } else {
        for (size_t i = 0; i < gm.nblocks; i++) {
            size_t oa, ob;
            block_offsets(&gm, i, &oa, &ob);
            dc_sgemm(ta, tb, gm.m, gm.n, gm.k, 1.0f, a + oa, lda, b + ob, ldb, 0.0f, n->val + i * mn, gm.n);
        }
    }
    return DC_OK;
}

/* One block's gradient product: into (rows, cols) at dst += op(x) op(y). */
typedef struct grad_gemm {
    int tx, ty, rows, cols, inner, ldx, ldy;
} grad_gemm;

static void grad_blocks(const bmm_geom *gm, const grad_gemm *p, const float *x, int x_is_a, const float *y,
                        int y_is_a, const float *gy, float *dst, int dst_is_a, int serial)
{
    size_t mn = (size_t)gm->m * (size_t)gm->n;
    long nb = (long)gm->nblocks;
    enum CBLAS_TRANSPOSE ctx = p->tx ? CblasTrans : CblasNoTrans, cty = p->ty ? CblasTrans : CblasNoTrans;
    if (!serial) {
#pragma omp parallel for schedule(static)
        for (long i = 0; i < nb; i++) {
            size_t oa, ob;
            block_offsets(gm, (size_t)i, &oa, &ob);
            const float *xp = x ? x + (x_is_a ? oa : ob) : gy + (size_t)i * mn;
            const float *yp = y ? y + (y_is_a ? oa : ob) : gy + (size_t)i * mn;
            cblas_sgemm(CblasRowMajor, ctx, cty, p->rows, p->cols, p->inner, 1.0f, xp, p->ldx, yp, p->ldy, 1.0f,
                        dst + (dst_is_a ? oa : ob), p->cols);
        }
        return;
    }
    for (long i = 0; i < nb; i++) {
        size_t oa, ob;
        block_offsets(gm, (size_t)i, &oa, &ob);
        const float *xp = x ? x + (x_is_a ? oa : ob) : gy + (size_t)i * mn;
        const float *yp = y ? y + (y_is_a ? oa : ob) : gy + (size_t)i * mn;
        dc_sgemm(p->tx, p->ty, p->rows, p->cols, p->inner, 1.0f, xp, p->ldx, yp, p->ldy, 1.0f,
                 dst + (dst_is_a ? oa : ob), p->cols);
    }
}

static void bmm_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *a = n->in[0], *b = n->in[1];
    bmm_geom gm;
    bmm_geometry(n, &gm);
    int ta = n->attr.bmm.trans_a, tb = n->attr.bmm.trans_b, M = gm.m, N = gm.n, K = gm.k;
    int lda = ta ? M : K, ldb = tb ? K : N;
    int par = loop_over_blocks(&gm);
    if (a->requires_grad) {
        if (!ta) /* dA (m, k) = G (m, n) op(B)^T */
            grad_blocks(&gm, &(grad_gemm){0, !tb, M, K, N, N, ldb}, NULL, 0, b->val, 0, n->grad, a->grad, 1,
                        gm.a_bcast || !par);
        else /* dA (k, m) = op(B) (k, n) G^T */
            grad_blocks(&gm, &(grad_gemm){tb, 1, K, M, N, ldb, N}, b->val, 0, NULL, 0, n->grad, a->grad, 1,
                        gm.a_bcast || !par);
    }
    if (b->requires_grad) {
        if (!tb) /* dB (k, n) = op(A)^T G */
            grad_blocks(&gm, &(grad_gemm){!ta, 0, K, N, M, lda, N}, a->val, 1, NULL, 0, n->grad, b->grad, 0,
                        gm.b_bcast || !par);
        else /* dB (n, k) = G^T op(A) */
            grad_blocks(&gm, &(grad_gemm){1, ta, N, K, M, N, lda}, NULL, 0, a->val, 1, n->grad, b->grad, 0,
                        gm.b_bcast || !par);
    }
}

const dc_op dc_op_batched_matmul = {.name = "batched_matmul", .n_inputs = 2, .infer = bmm_infer,
                                    .forward = bmm_forward, .backward = bmm_backward};

dc_node *dc_batched_matmul(dc_graph *g, dc_node *a, dc_node *b, int trans_a, int trans_b)
{
    DC_CHECK_NULL_OR(g, NULL);
    DC_CHECK_NULL_OR(a, NULL);
    DC_CHECK_NULL_OR(b, NULL);
    dc_node *in[2] = {a, b};
    dc_attr attr = {.bmm = {trans_a != 0, trans_b != 0}};
    return dc_node_make(g, &dc_op_batched_matmul, 2, in, &attr);
}
