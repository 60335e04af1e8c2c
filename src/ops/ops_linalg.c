/*
 * ops_linalg.c - matmul and dense (matmul + bias), on OpenBLAS sgemm.
 *
 * dense treats its input as rows x features: x (..., in) W (in, units) + b
 * gives (..., units), as Keras' Dense does on the last axis.
 */
#include "graph/graph.h"

#include <cblas.h>
#include <string.h>

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
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nn, k, 1.0f, n->in[0]->val, k, n->in[1]->val, nn, 0.0f,
                n->val, nn);
    return DC_OK;
}

/* ga += gy b^T ; gb += a^T gy */
static void matmul_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *a = n->in[0], *b = n->in[1];
    int m = n->shape[0], k = a->shape[1], nn = n->shape[1];
    if (a->requires_grad)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, nn, 1.0f, n->grad, nn, b->val, nn, 1.0f, a->grad, k);
    if (b->requires_grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, nn, m, 1.0f, a->val, k, n->grad, nn, 1.0f, b->grad, nn);
}

const dc_op dc_op_matmul = {"matmul", 2, matmul_infer, matmul_forward, matmul_backward, 0};

dc_node *dc_matmul(dc_graph *g, dc_node *a, dc_node *b)
{
    dc_node *in[2] = {a, b};
    return dc_node_make(g, &dc_op_matmul, 2, in, NULL, 0, NULL, 0);
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
    return DC_OK;
}

/*
 * Threading: the tutorial's GEMMs are small (32 x 784 x 128), where
 * OpenBLAS's own threading costs more than it gains.  Above a size worth a
 * parallel region deepc splits each product into one slice per thread along
 * an axis that needs no reduction; OpenBLAS runs single-threaded inside.
 */

static dc_status dense_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *w = n->in[1];
    int m = (int)dc_node_rows(n), k = w->shape[0], u = w->shape[1];
    const float *b = n->n_in == 3 ? n->in[2]->val : NULL;
    float *y = n->val;
    if (b)
        for (int i = 0; i < m; i++)
            memcpy(y + (size_t)i * u, b, (size_t)u * sizeof(float));
    float beta = b ? 1.0f : 0.0f;
    if (!dc_worth_parallel(2.0 * m * k * u)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, u, k, 1.0f, x->val, k, w->val, u, beta, y, u);
        return DC_OK;
    }
#pragma omp parallel
    {
        size_t lo, hi; /* output columns */
        dc_thread_range((size_t)u, 16, &lo, &hi);
        if (hi > lo)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, (int)(hi - lo), k, 1.0f, x->val, k, w->val + lo, u,
                        beta, y + lo, u);
    }
    return DC_OK;
}

static void dense_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0], *w = n->in[1];
    int m = (int)dc_node_rows(n), k = w->shape[0], u = w->shape[1];
    const float *gy = n->grad;
    if (n->n_in == 3 && n->in[2]->requires_grad) {
        float *gb = n->in[2]->grad;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < u; j++)
                gb[j] += gy[(size_t)i * u + j];
    }
    int par = dc_worth_parallel(2.0 * m * k * u);
    /* gW (k, u) += x^T gy and gx (m, k) += gy W^T, both sliced along k. */
#pragma omp parallel if (par)
    {
        size_t lo = 0, hi = (size_t)k;
        if (par)
            dc_thread_range((size_t)k, 16, &lo, &hi);
        int kt = (int)(hi - lo);
        if (kt > 0 && w->requires_grad)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kt, u, m, 1.0f, x->val + lo, k, gy, u, 1.0f,
                        w->grad + lo * (size_t)u, u);
        if (kt > 0 && x->requires_grad)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, kt, u, 1.0f, gy, u, w->val + lo * (size_t)u, u, 1.0f,
                        x->grad + lo, k);
    }
}

const dc_op dc_op_dense = {"dense", 3, dense_infer, dense_forward, dense_backward, 0};
/* Same op without a bias input. */
const dc_op dc_op_dense_nobias = {"dense_nobias", 2, dense_infer, dense_forward, dense_backward, 0};

dc_node *dc_dense(dc_graph *g, dc_node *x, dc_node *w, dc_node *bias)
{
    dc_node *in[3] = {x, w, bias};
    return bias ? dc_node_make(g, &dc_op_dense, 3, in, NULL, 0, NULL, 0)
                : dc_node_make(g, &dc_op_dense_nobias, 2, in, NULL, 0, NULL, 0);
}
