/*
 * ops_linalg.c - matmul and dense (matmul + bias), on OpenBLAS sgemm.
 *
 * dense treats its input as rows x features: x (..., in) W (in, units) + b
 * gives (..., units), as Keras' Dense does on the last axis.
 */
#include "graph/graph.h"

#include <cblas.h>
#include <string.h>

/*
 * dc_sgemm: C = alpha op(A) op(B) + beta C, row-major.  Tall products go to
 * deepc's own AVX-512 kernel (gemm_avx512.c) where it is built.  Small products run as
 * one OpenBLAS call.  Larger ones are split by deepc into one slice of C per
 * thread (rows when C is tall, columns when it is wide), OpenBLAS running
 * single-threaded inside: at the tutorials' sizes OpenBLAS's own threading
 * costs more than it gains, and it is erratic.
 */
void dc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc)
{
    if (dc_gemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL))
        return;
    enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    if (!dc_worth_parallel(2.0 * m * n * k) || (m < 32 && n < 32)) {
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int split_rows = m >= n;
#pragma omp parallel
    {
        size_t lo, hi;
        dc_thread_range((size_t)(split_rows ? m : n), 16, &lo, &hi);
        int part = (int)(hi - lo);
        if (part > 0 && split_rows) /* rows of op(A) and of C */
            cblas_sgemm(CblasRowMajor, ta, tb, part, n, k, alpha, trans_a ? a + lo : a + lo * (size_t)lda, lda, b, ldb,
                        beta, c + lo * (size_t)ldc, ldc);
        else if (part > 0) /* columns of op(B) and of C */
            cblas_sgemm(CblasRowMajor, ta, tb, m, part, k, alpha, a, lda, trans_b ? b + lo * (size_t)ldb : b + lo, ldb,
                        beta, c + lo, ldc);
    }
}

/* ---- matmul: a (m, k) x b (k, n) -> (m, n) ---- */

static dc_status matmul_infer(dc_node *n)
{
    dc_node *a = n->in[0], *b = n->in[1];
    char sa[96], sb[96];
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return dc_fail(DC_ERR_SHAPE, "matmul: cannot multiply %s by %s; expected (m, k) x (k, n)",
                       dc_shape_str(a->ndim, a->shape, sa, sizeof sa), dc_shape_str(b->ndim, b->shape, sb, sizeof sb));
    if (b->batched)
        return dc_fail(DC_ERR_SHAPE, "matmul: the right operand must not have a batch axis");
    n->batched = a->batched;
    n->ndim = 2;
    n->shape[0] = a->shape[0];
    n->shape[1] = b->shape[1];
    return DC_OK;
}

static dc_status matmul_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    int m = n->shape[0], k = n->in[0]->shape[1], nn = n->shape[1];
    dc_sgemm(0, 0, m, nn, k, 1.0f, n->in[0]->val, k, n->in[1]->val, nn, 0.0f, n->val, nn);
    return DC_OK;
}

/* ga += gy b^T ; gb += a^T gy */
static void matmul_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *a = n->in[0], *b = n->in[1];
    int m = n->shape[0], k = a->shape[1], nn = n->shape[1];
    if (a->requires_grad)
        dc_sgemm(0, 1, m, k, nn, 1.0f, n->grad, nn, b->val, nn, 1.0f, a->grad, k);
    if (b->requires_grad)
        dc_sgemm(1, 0, k, nn, m, 1.0f, a->val, k, n->grad, nn, 1.0f, b->grad, nn);
}

const dc_op dc_op_matmul = {.name = "matmul", .n_inputs = 2, .infer = matmul_infer, .forward = matmul_forward,
                            .backward = matmul_backward};

dc_node *dc_matmul(dc_graph *g, dc_node *a, dc_node *b)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, &dc_op_matmul, 2, in, NULL);
}

/* ---- dense: x (..., in) W (in, units) + b (units) -> (..., units) ---- */

static dc_status dense_infer(dc_node *n)
{
    dc_node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    char sx[96], sw[96];
    if (w->ndim != 2)
        return dc_fail(DC_ERR_SHAPE, "dense: kernel has shape %s, expected (in, units)",
                       dc_shape_str(w->ndim, w->shape, sw, sizeof sw));
    if (x->ndim < 2 || x->shape[x->ndim - 1] != w->shape[0])
        return dc_fail(DC_ERR_SHAPE, "dense: input %s has %d features, layer expects %d",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->shape[x->ndim - 1], w->shape[0]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[1]))
        return dc_fail(DC_ERR_SHAPE, "dense: bias has shape %s, expected (%d,)", dc_shape_str(b->ndim, b->shape, sw, sizeof sw),
                       w->shape[1]);
    n->batched = x->batched;
    n->ndim = x->ndim;
    memcpy(n->shape, x->shape, sizeof n->shape);
    n->shape[n->ndim - 1] = w->shape[1];
    /* the weight gradient's second half of the reduction (dc_gemm_avx512_ex) */
    size_t wn = (size_t)w->shape[0] * (size_t)w->shape[1];
    n->work_fixed = dc_gemm_avx512_available() && wn <= DC_GEMM_SPLIT_MAX ? wn + (size_t)w->shape[1] : 0;
    return DC_OK;
}

static dc_status dense_forward(dc_node *n, const dc_run *run)
{
    dc_node *x = n->in[0], *w = n->in[1], *act = n->epilogue;
    int m = (int)dc_node_rows(n), k = w->shape[0], u = w->shape[1];
    const float *b = n->in[2] ? n->in[2]->val : NULL;
    /* a training forward that runs the GELU after it: its values and
     * derivative straight from the tiles (n's own values not written) */
    if (act && run && run->training && act->mark == n->mark &&
        dc_gemm_avx512_epi(0, m, u, k, x->val, k, w->val, u, act->val, u, b, DC_EPI_GELU, dc_gelu_deriv(act))) {
        dc_gelu_set_done(act, 0);
        return DC_OK;
    }
    if (dc_gemm_avx512(0, 0, m, u, k, 1.0f, x->val, k, w->val, u, 0.0f, n->val, u, b))
        return DC_OK; /* the bias added as each tile of the product is stored */
    if (b) { /* the bias into every row, each thread its slice (16 MB a step in the encoder block) */
#pragma omp parallel if (dc_worth_parallel((double)m * u))
        {
            size_t lo, hi;
            dc_thread_range((size_t)m, 1, &lo, &hi);
            dc_broadcast_rows(b, hi - lo, u, n->val + lo * (size_t)u);
        }
    }
    dc_sgemm(0, 0, m, u, k, 1.0f, x->val, k, w->val, u, b ? 1.0f : 0.0f, n->val, u);
    return DC_OK;
}

/* Copies the row v (cols) into every row of dst (rows x cols): a bias. */
void dc_broadcast_rows(const float *v, size_t rows, int cols, float *dst)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(dst + i * (size_t)cols, v, (size_t)cols * sizeof(float));
}

/* Adds the column sums of g (rows x cols, rows ld floats apart) into acc. */
static void add_colsums_strided(const float *g, size_t rows, int cols, size_t ld, float *acc)
{
    for (size_t i = 0; i < rows; i++)
#pragma omp simd
        for (int j = 0; j < cols; j++)
            acc[j] += g[i * ld + j];
}

/* Adds the column sums of g (rows x cols) into acc (cols). */
void dc_add_colsums(const float *g, size_t rows, int cols, float *acc)
{
    add_colsums_strided(g, rows, cols, (size_t)cols, acc);
}

static void dense_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *w = n->in[1];
    int m = (int)dc_node_rows(n), k = w->shape[0], u = w->shape[1];
    float *gb = n->in[2] && n->in[2]->requires_grad ? n->in[2]->grad : NULL;
    /* gW (k, u) += x^T gy, and the bias gradient (gy's column sums) as the
     * kernel packs gy, where deepc's own GEMM takes the product */
    int done = w->requires_grad &&
               dc_gemm_avx512_ex(1, 0, k, u, m, 1.0f, x->val, k, n->grad, u, 1.0f, w->grad, u, NULL, gb, n->work);
    if (done)
        gb = NULL;
    else if (w->requires_grad)
        dc_sgemm(1, 0, k, u, m, 1.0f, x->val, k, n->grad, u, 1.0f, w->grad, u);
    if (gb) { /* the bias gradient: each thread a block of columns */
#pragma omp parallel if (u >= 32 && dc_worth_parallel((double)m * u))
        {
            size_t lo, hi;
            dc_thread_range((size_t)u, 16, &lo, &hi);
            if (hi > lo)
                add_colsums_strided(n->grad + lo, (size_t)m, (int)(hi - lo), (size_t)u, gb + lo);
        }
    }
    if (!x->requires_grad)
        return;
    /* x a GELU after a dense (dc_dense_fuse_gelu), this its one reader: the
     * gradient through the GELU into that dense's, gelu' applied as stored */
    dc_node *pre = x->op == &dc_op_act ? x->in[0] : NULL;
    if (pre && pre->epilogue == x && x->grad_set && pre->grad_set && !n->graph->capturing &&
        dc_gelu_deriv_valid(x) &&
        dc_gemm_avx512_epi(1, m, k, u, n->grad, u, w->val, u, pre->grad, k, NULL, DC_EPI_MUL, dc_gelu_deriv(x))) {
        dc_gelu_set_done(x, 1);
        return;
    }
    /* gx (m, k) += gy W^T (= with grad_set: nothing zeroed it) */
    dc_sgemm(0, 1, m, k, u, 1.0f, n->grad, u, w->val, u, x->grad_set ? 0.0f : 1.0f, x->grad, k);
}

/* Dense writes its input's whole gradient: the graph need not zero it
 * first when the dense is its one consumer (8 MB a step for the encoder
 * block's second feed-forward layer). */
static int dense_writes_input_grad(const dc_node *n, int input)
{
    (void)n;
    return input == 0;
}

/* The bias (input 2) is optional. */
const dc_op dc_op_dense = {.name = "dense", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = dense_infer,
                           .forward = dense_forward, .backward = dense_backward,
                           .writes_input_grad = dense_writes_input_grad};

int dc_dense_fuse_gelu(dc_node *act)
{
    if (act->op != &dc_op_act || act->attr.act.fn != DC_ACT_GELU || !dc_gemm_avx512_available())
        return 0;
    dc_node *d = act->in[0];
    if (d->op != &dc_op_dense || d->n_consumers != 1 || d->epilogue)
        return 0;
    d->epilogue = act;
    return 1;
}

dc_node *dc_dense(dc_graph *g, dc_node *x, dc_node *w, dc_node *bias)
{
    dc_node *in[3] = {x, w, bias};
    return dc_node_make(g, &dc_op_dense, 3, in, NULL);
}
