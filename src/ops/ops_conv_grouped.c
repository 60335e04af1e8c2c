/*
 * ops_conv_grouped.c - grouped 2D convolution (Keras' Conv2D groups > 1,
 * PyTorch's and ONNX's group), channels-last.
 *
 * conv2d_grouped: x (B, H, W, C), kernel (kh, kw, C/G, F), bias (F) optional
 * -> (B, OH, OW, F).  Group g reads channels [g*C/G, (g+1)*C/G) and writes
 * filters [g*F/G, (g+1)*F/G); G is C over the kernel's third axis (the
 * constructor checks it against the groups it is given).  It runs as
 * ops_conv.c's im2col + GEMM path once per group: a chunk of images at a
 * time per thread, each group's im2col matrix (rows, kh*kw*C/G) from its
 * channels, and an sgemm against the kernel's columns of the group (leading
 * dimension F), written into the group's columns of y.  Backward per group:
 * gK[:, group] += cols^T gy[:, group], then gcols = gy[:, group] K[:, group]^T
 * added into the group's channels of gx.  The partial kernel and bias
 * gradients of each thread are summed in slot order (the same result every
 * run), as ops_conv.c does.
 *
 * Depthwise convolutions (C/G = 1) have their own direct op (ops_depthwise.c).
 *
 * Attributes: attr.conv (strides, same, dilations; slots set by infer).
 */
#include "ops/conv_internal.h"
#include "core/checked.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

typedef dc_conv_geom geom;

/* The grouping of a node whose infer passed: channels per group, groups, filters per group. */
typedef struct grouping {
    int cg, groups, fg;
} grouping;

static grouping grouping_of(const dc_node *n)
{
    grouping r;
    r.cg = n->in[1]->shape[2];
    r.groups = n->in[0]->shape[3] / r.cg;
    r.fg = n->in[1]->shape[3] / r.groups;
    return r;
}

/* kh*kw*C/G: the inner dimension of one group's GEMM. */
static size_t group_k(const geom *g, const grouping *p) { return dc_size_prod(3, (int[]){g->kh, g->kw, p->cg}); }

static size_t cols_floats(const geom *g, const grouping *p)
{
    size_t rows = dc_size_mul((size_t)dc_conv_chunk_images(g), (size_t)g->oh * (size_t)g->ow);
    return dc_size_mul(rows, group_k(g, p));
}

/* A thread's slot: the matrix, its partial gK (kh*kw*C/G x F), its partial bias gradient (F). */
static size_t slot_floats(const geom *g, const grouping *p)
{
    return dc_size_add(cols_floats(g, p), dc_size_mul(group_k(g, p) + 1, (size_t)g->f));
}

static dc_status grouped_infer(dc_node *n)
{
    const char *op = "conv2d_grouped";
    dc_status st = dc_conv_check_image(n, op);
    if (st != DC_OK)
        return st;
    const dc_node *x = n->in[0], *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    char sk[96];
    int c = x->shape[3];
    if (k->ndim != 4 || k->shape[2] < 1 || c % k->shape[2] != 0 || k->shape[3] % (c / k->shape[2]) != 0)
        return dc_fail(DC_ERR_SHAPE,
                       "%s: kernel %s does not fit an input with %d channels; expected (kh, kw, %d / groups, filters) "
                       "with the filters a multiple of the groups",
                       op, dc_shape_str(k->ndim, k->shape, sk, sizeof sk), c, c);
    if (n->in[2] && (n->in[2]->ndim != 1 || n->in[2]->shape[0] != k->shape[3]))
        return dc_fail(DC_ERR_SHAPE, "%s: bias has %d values, expected %d", op, n->in[2]->shape[0], k->shape[3]);
    if (a->dilation_h < 1 || a->dilation_w < 1)
        return dc_fail(DC_ERR_ARG, "%s: dilation %dx%d, expected >= 1", op, a->dilation_h, a->dilation_w);
    geom g;
    if (dc_conv_node_geom(n, k->shape[3], &g, op))
        return dc_last_status();
    if ((st = dc_conv_set_output(n, &g, op)) != DC_OK || (st = dc_node_check_size(n)) != DC_OK)
        return st;
    grouping p = grouping_of(n);
    n->attr.conv.slots = omp_get_max_threads();
    n->work_fixed = dc_size_mul((size_t)n->attr.conv.slots, slot_floats(&g, &p));
    return DC_OK;
}

/* cols (n*OH*OW, kh*kw*cg) for images b0 .. b0+n of x, channels [c0, c0 + cg); zero in the padding. */
static void im2col_group(const geom *g, int c0, int cg, const float *x, int b0, int n, float *cols)
{
    size_t kcols = (size_t)g->kh * g->kw * cg;
    for (int r = 0; r < n * g->oh; r++) {
        int oy = r % g->oh;
        const float *img = x + (size_t)(b0 + r / g->oh) * g->h * g->w * g->c + c0;
        for (int ox = 0; ox < g->ow; ox++) {
            float *dst = cols + ((size_t)r * g->ow + ox) * kcols;
            for (int i = 0; i < g->kh; i++) {
                int iy = oy * g->sh - g->ph + i * g->dh;
                for (int j = 0; j < g->kw; j++, dst += cg) {
                    int ix = ox * g->sw - g->pw + j * g->dw;
                    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                        memset(dst, 0, (size_t)cg * sizeof(float));
                        continue;
                    }
                    memcpy(dst, img + ((size_t)iy * g->w + ix) * g->c, (size_t)cg * sizeof(float));
                }
            }
        }
    }
}

/* gx[..., c0 .. c0 + cg) += col2im(gcols) for images b0 .. b0+n. */
static void col2im_group(const geom *g, int c0, int cg, const float *gcols, int b0, int n, float *gx)
{
    for (int b = 0; b < n; b++) {
        float *gimg = gx + (size_t)(b0 + b) * g->h * g->w * g->c + c0;
        const float *src = gcols + (size_t)b * g->oh * g->ow * g->kh * g->kw * cg;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int i = 0; i < g->kh; i++) {
                    int iy = oy * g->sh - g->ph + i * g->dh;
                    for (int j = 0; j < g->kw; j++, src += cg) {
                        int ix = ox * g->sw - g->pw + j * g->dw;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                            continue;
                        float *restrict dst = gimg + ((size_t)iy * g->w + ix) * g->c;
#pragma omp simd
                        for (int c = 0; c < cg; c++)
                            dst[c] += src[c];
                    }
                }
    }
}

static int team(const dc_node *n, const geom *g, int units) { return dc_conv_team(g, n->attr.conv.slots, units); }

static dc_status grouped_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    dc_conv_node_geom(n, n->in[1]->shape[3], &g, "conv2d_grouped");
    grouping p = grouping_of(n);
    const float *x = n->in[0]->val, *k = n->in[1]->val, *bias = n->in[2] ? n->in[2]->val : NULL;
    float *y = n->val;
    int ci = dc_conv_chunk_images(&g), per = g.oh * g.ow, kk = (int)group_k(&g, &p), f = g.f;
    int chunks = (g.b + ci - 1) / ci;
#pragma omp parallel num_threads(team(n, &g, chunks))
    {
        float *cols = n->work + (size_t)omp_get_thread_num() * slot_floats(&g, &p);
#pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            int b0 = ch * ci, nb = g.b - b0 < ci ? g.b - b0 : ci, rows = nb * per;
            float *yc = y + (size_t)b0 * per * f;
            if (bias)
                dc_broadcast_rows(bias, (size_t)rows, f, yc);
            for (int gi = 0; gi < p.groups; gi++) {
                im2col_group(&g, gi * p.cg, p.cg, x, b0, nb, cols);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.fg, kk, 1.0f, cols, kk,
                            k + (size_t)gi * p.fg, f, bias ? 1.0f : 0.0f, yc + (size_t)gi * p.fg, f);
            }
        }
    }
    return DC_OK;
}

static void grouped_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    dc_conv_node_geom(n, n->in[1]->shape[3], &g, "conv2d_grouped");
    grouping p = grouping_of(n);
    dc_node *xn = n->in[0], *kn = n->in[1], *bn = n->in[2];
    float *gk = kn->requires_grad ? kn->grad : NULL, *gb = bn && bn->requires_grad ? bn->grad : NULL,
          *gx = xn->requires_grad ? xn->grad : NULL;
    const float *x = xn->val, *k = kn->val, *gy = n->grad;
    int ci = dc_conv_chunk_images(&g), per = g.oh * g.ow, kk = (int)group_k(&g, &p), f = g.f;
    int chunks = (g.b + ci - 1) / ci;
    size_t slot = slot_floats(&g, &p), at = cols_floats(&g, &p), kf = (size_t)kk * f;
#pragma omp parallel num_threads(team(n, &g, chunks))
    {
        float *cols = n->work + (size_t)omp_get_thread_num() * slot, *sgk = cols + at, *sgb = sgk + kf;
        memset(sgk, 0, (kf + (size_t)f) * sizeof(float));
#pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            int b0 = ch * ci, nb = g.b - b0 < ci ? g.b - b0 : ci, rows = nb * per;
            const float *gyc = gy + (size_t)b0 * per * f;
            if (gb)
                dc_add_colsums(gyc, (size_t)rows, f, sgb);
            for (int gi = 0; gi < p.groups; gi++) {
                size_t fo = (size_t)gi * p.fg;
                if (gk) {
                    im2col_group(&g, gi * p.cg, p.cg, x, b0, nb, cols);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, p.fg, rows, 1.0f, cols, kk, gyc + fo, f,
                                1.0f, sgk + fo, f);
                }
                if (gx) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kk, p.fg, 1.0f, gyc + fo, f, k + fo, f,
                                0.0f, cols, kk);
                    col2im_group(&g, gi * p.cg, p.cg, cols, b0, nb, gx);
                }
            }
        }
        /* the implicit barrier above; then the slots' sums, in slot order */
        dc_conv_add_parts(gk, n->work, slot, at, kf);
        dc_conv_add_parts(gb, n->work, slot, at + kf, (size_t)f);
    }
}

const dc_op dc_op_conv2d_grouped = {.name = "conv2d_grouped", .n_inputs = 3, .optional = DC_OPTIONAL(2),
                                    .infer = grouped_infer, .forward = grouped_forward, .backward = grouped_backward};

dc_node *dc_conv2d_grouped(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int groups, int stride_h,
                           int stride_w, int same, int dilation_h, int dilation_w)
{
    if (groups < 1)
        return dc_fail_null(DC_ERR_ARG, "conv2d_grouped: groups %d, expected >= 1", groups);
    if (x && kernel && x->ndim == 4 && kernel->ndim == 4 && (long long)kernel->shape[2] * groups != x->shape[3])
        return dc_fail_null(DC_ERR_SHAPE,
                            "conv2d_grouped: %d groups of a kernel with %d input channels need %lld channels, the "
                            "input has %d",
                            groups, kernel->shape[2], (long long)kernel->shape[2] * groups, x->shape[3]);
    dc_node *in[3] = {x, kernel, bias};
    dc_attr a = {.conv = {.stride_h = stride_h, .stride_w = stride_w, .same = same, .dilation_h = dilation_h,
                          .dilation_w = dilation_w}};
    return dc_node_make(g, &dc_op_conv2d_grouped, 3, in, &a);
}
