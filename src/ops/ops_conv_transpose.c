/*
 * ops_conv_transpose.c - the transposed convolution (Keras' Conv2DTranspose),
 * channels-last, built from ops_conv.c's im2col + GEMM pieces.
 *
 * conv2d_transpose: x (B, H, W, Cin), kernel (kh, kw, F, Cin) (Keras' layout),
 * bias (F) -> y (B, OH, OW, F).  It is the adjoint of the convolution that
 * maps an (OH, OW, F) image to (H, W, Cin) with the same kernel seen as
 * (kh, kw, F, Cin) = (kh, kw, c, f), so in that convolution's geometry:
 *   forward:  cols = x K^T (one GEMM), y = col2im(cols) (+ bias)
 *             - the convolution's input-gradient path;
 *   backward: cols = im2col(gy); gx += cols K (the convolution's forward),
 *             gK += cols^T x (its kernel-gradient GEMM), gb += sums of gy.
 * Output size as Keras 3 computes it (compute_conv_transpose_output_length),
 * the leading pad as TensorFlow's conv2d_transpose places it: "same" pads
 * max((H-1)*s + dilated k - OH, 0) in all, half of it (rounded down) before.
 *
 * Where channels and filters are both multiples of 16 the same two roles go
 * to conv_blocked.c's kernels instead, an image at a time: forward is its
 * input-gradient pass, backward its forward (adding into gx) and its
 * kernel-gradient pass.
 *
 * Attributes: attr.deconv (op_attr.h).  The bias (input 2) is optional.
 */
#include "ops/conv_internal.h"
#include "core/checked.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* Output length of one axis (Keras 3), and the leading pad.  Returns
 * nonzero, with a message, when the length or the reach of a window past
 * it (len + stride + span, as the convolution's loops index it) does not
 * fit an int. */
static int deconv_length(int n, int k, int s, int d, int same, int out_pad, int *out, int *pad)
{
    const char *op = "conv2d_transpose";
    int span, len, reach;
    if (dc_ckd_span(&span, k, d))
        return dc_fail(DC_ERR_SHAPE, "%s: dilation %d x (kernel %d - 1) + 1 overflows", op, d, k), 1;
    if (dc_ckd_mul(&len, n, s))
        return dc_fail(DC_ERR_SHAPE, "%s: input %d x stride %d overflows", op, n, s), 1;
    if (out_pad < 0) {
        if (!same && dc_ckd_add(&len, len, span - s > 0 ? span - s : 0))
            return dc_fail(DC_ERR_SHAPE, "%s: input %d x stride %d + window %d overflows", op, n, s, span), 1;
    } else { /* (n - 1) * s <= n * s fits; the rest is at most span + out_pad (< s) */
        if (dc_ckd_add(&len, len - s, span - 2 * (same ? span / 2 : 0)) || dc_ckd_add(&len, len, out_pad))
            return dc_fail(DC_ERR_SHAPE, "%s: input %d x stride %d + window %d overflows", op, n, s, span), 1;
    }
    if (dc_ckd_add(&reach, len, s) || dc_ckd_add(&reach, reach, span))
        return dc_fail(DC_ERR_SHAPE, "%s: output %d + stride %d + window %d overflows", op, len, s, span), 1;
    int total = (n - 1) * s + span - len;
    *pad = same && total > 0 ? total / 2 : 0;
    *out = len;
    return 0;
}

/* The geometry of a conv2d_transpose node: nonzero when its infer would
 * fail (which then did; forward and backward run only after it passed). */
static int deconv_geom(const dc_node *n, dc_conv_geom *g)
{
    const dc_node *x = n->in[0], *k = n->in[1];
    g->b = x->shape[0];
    g->oh = x->shape[1];
    g->ow = x->shape[2];
    g->f = x->shape[3];
    g->kh = k->shape[0];
    g->kw = k->shape[1];
    g->c = k->shape[2];
    const dc_deconv_attr *a = &n->attr.deconv;
    g->sh = a->stride[0];
    g->sw = a->stride[1];
    g->dh = a->dilation[0];
    g->dw = a->dilation[1];
    return deconv_length(g->oh, g->kh, g->sh, g->dh, a->same, a->out_pad[0], &g->h, &g->ph) ||
           deconv_length(g->ow, g->kw, g->sw, g->dw, a->same, a->out_pad[1], &g->w, &g->pw);
}

static int slots_of(const dc_node *n) { return n->attr.deconv.slots; }
static int blocked(const dc_node *n) { return n->attr.deconv.blocked; }

/* The front of a thread's slot: the chunk's column matrix, or the blocked
 * kernels' padded images. */
static size_t cols_floats(const dc_conv_geom *g, int is_blocked)
{
    if (is_blocked)
        return dc_conv_blocked_scratch(g);
    size_t rows = dc_size_mul((size_t)dc_conv_chunk_images(g), (size_t)g->oh * (size_t)g->ow);
    return dc_size_mul(rows, dc_size_prod(3, (int[]){g->kh, g->kw, g->c}));
}

/* A thread's slot: that front, its partial gK, its partial gb. */
static size_t slot_floats(const dc_conv_geom *g, int is_blocked)
{
    return dc_size_add(cols_floats(g, is_blocked), dc_size_add(dc_size_prod(4, (int[]){g->kh, g->kw, g->c, g->f}), (size_t)g->c));
}

static dc_status deconv_infer(dc_node *n)
{
    const dc_node *x = n->in[0], *k = n->in[1];
    char sx[96], sk[96];
    const char *op = "conv2d_transpose";
    if (x->ndim != 4)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected (batch, height, width, channels)", op,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    if (k->ndim != 4 || k->shape[3] != x->shape[3])
        return dc_fail(DC_ERR_SHAPE, "%s: kernel %s does not fit an input with %d channels; expected (kh, kw, filters, %d)",
                       op, dc_shape_str(k->ndim, k->shape, sk, sizeof sk), x->shape[3], x->shape[3]);
    if (n->in[2] && (n->in[2]->ndim != 1 || n->in[2]->shape[0] != k->shape[2]))
        return dc_fail(DC_ERR_SHAPE, "%s: bias has %d values, expected %d", op, n->in[2]->shape[0], k->shape[2]);
    for (int i = 0; i < 2; i++) {
        int s = n->attr.deconv.stride[i], d = n->attr.deconv.dilation[i], p = n->attr.deconv.out_pad[i];
        if (s < 1 || d < 1)
            return dc_fail(DC_ERR_ARG, "%s: strides %d and dilation %d, expected >= 1", op, s, d);
        if (p >= s || p < -1)
            return dc_fail(DC_ERR_ARG, "%s: output_padding %d, expected 0 <= output_padding < stride %d", op, p, s);
    }
    dc_conv_geom g;
    if (deconv_geom(n, &g))
        return dc_last_status();
    if (g.h < 1 || g.w < 1)
        return dc_fail(DC_ERR_SHAPE, "%s: a %dx%d kernel with strides %dx%d gives an empty %dx%d output on a %dx%d input",
                       op, g.kh, g.kw, g.sh, g.sw, g.h, g.w, g.oh, g.ow);
    n->batched = x->batched;
    n->ndim = 4;
    n->shape[0] = g.b;
    n->shape[1] = g.h;
    n->shape[2] = g.w;
    n->shape[3] = g.c;
    dc_status st = dc_node_check_size(n); /* then oh * ow fits an int, and the sizes below saturate */
    if (st != DC_OK)
        return st;
    int is_blocked = dc_conv_blocked_fits(&g) && !n->graph->opts.conv_gemm;
    n->attr.deconv.slots = omp_get_max_threads(); /* one slot of scratch per thread */
    n->attr.deconv.blocked = is_blocked;
    n->work_fixed = dc_size_mul((size_t)slots_of(n), slot_floats(&g, is_blocked));
    if (is_blocked) /* then the kernel transposed for the forward */
        n->work_fixed = dc_size_add(n->work_fixed, dc_conv_blocked_shared(&g));
    return DC_OK;
}

/* Forward on the blocked path: y = bias, then += the convolution's input
 * gradient of x, an image per thread at a time. */
static void blocked_forward(dc_node *n, const dc_conv_geom *g, const float *x, const float *k, const float *bias)
{
    size_t in_img = (size_t)g->oh * g->ow * g->f, out_img = (size_t)g->h * g->w * g->c;
    float *kt = n->work + (size_t)slots_of(n) * slot_floats(g, 1);
    dc_conv_blocked_gx_kernel(g, k, kt);
#pragma omp parallel num_threads(dc_conv_team(g, slots_of(n), g->b))
    {
        float *scratch = n->work + (size_t)omp_get_thread_num() * slot_floats(g, 1);
#pragma omp for schedule(static)
        for (int b = 0; b < g->b; b++) {
            float *y = n->val + b * out_img;
            if (bias)
                dc_broadcast_rows(bias, (size_t)g->h * g->w, g->c, y);
            else
                memset(y, 0, out_img * sizeof(float));
            dc_conv_blocked_gx(g, kt, x + b * in_img, scratch, y);
        }
    }
}

static dc_status deconv_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_conv_geom g;
    deconv_geom(n, &g);
    const float *x = n->in[0]->val, *k = n->in[1]->val, *bias = n->in[2] ? n->in[2]->val : NULL;
    if (blocked(n)) {
        blocked_forward(n, &g, x, k, bias);
        return DC_OK;
    }
    int ci = dc_conv_chunk_images(&g), kk = g.kh * g.kw * g.c, chunks = (g.b + ci - 1) / ci;
    size_t in_img = (size_t)g.oh * g.ow * g.f, out_img = (size_t)g.h * g.w * g.c;
    int in_rows = g.b * g.oh, nt = dc_conv_team(&g, slots_of(n), in_rows);
    if (chunks < nt && g.dh * (g.kh - 1) + 1 <= g.sh) {
        /* fewer chunks than threads (batch 1), windows that do not overlap
         * vertically: a band of input rows per thread, each writing its own
         * output rows (a band has fewer rows than a chunk: it fits the slot) */
        size_t out_rows = (size_t)g.b * g.h;
#pragma omp parallel num_threads(nt)
        {
            float *cols = n->work + (size_t)omp_get_thread_num() * slot_floats(&g, 0);
#pragma omp for schedule(static)
            for (size_t r = 0; r < out_rows; r++) {
                float *yr = n->val + r * g.w * g.c;
                if (bias)
                    dc_broadcast_rows(bias, (size_t)g.w, g.c, yr);
                else
                    memset(yr, 0, (size_t)g.w * g.c * sizeof(float));
            }
#pragma omp for schedule(static)
            for (int u = 0; u < nt; u++) {
                int r0 = (int)((long long)in_rows * u / nt), r1 = (int)((long long)in_rows * (u + 1) / nt);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (r1 - r0) * g.ow, kk, g.f, 1.0f,
                            x + (size_t)r0 * g.ow * g.f, g.f, k, g.f, 0.0f, cols, kk);
                dc_conv_col2im_rows(&g, cols, r0, r1, n->val);
            }
        }
        return DC_OK;
    }
#pragma omp parallel num_threads(dc_conv_team(&g, slots_of(n), chunks))
    {
        float *cols = n->work + (size_t)omp_get_thread_num() * slot_floats(&g, 0);
#pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            int b0 = ch * ci, nb = g.b - b0 < ci ? g.b - b0 : ci, rows = nb * g.oh * g.ow;
            float *yc = n->val + (size_t)b0 * out_img;
            if (bias)
                dc_broadcast_rows(bias, (size_t)nb * g.h * g.w, g.c, yc);
            else
                memset(yc, 0, (size_t)nb * out_img * sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kk, g.f, 1.0f, x + (size_t)b0 * in_img, g.f, k,
                        g.f, 0.0f, cols, kk);
            dc_conv_col2im(&g, cols, b0, nb, n->val);
        }
    }
    return DC_OK;
}

static void deconv_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_conv_geom g;
    deconv_geom(n, &g);
    dc_node *xn = n->in[0], *kn = n->in[1], *bn = n->in[2];
    float *gx = xn->requires_grad ? xn->grad : NULL, *gk = kn->requires_grad ? kn->grad : NULL;
    float *gb = bn && bn->requires_grad ? bn->grad : NULL;
    int is_blocked = blocked(n), ci = is_blocked ? 1 : dc_conv_chunk_images(&g), kk = g.kh * g.kw * g.c;
    int chunks = (g.b + ci - 1) / ci;
    size_t in_img = (size_t)g.oh * g.ow * g.f, out_img = (size_t)g.h * g.w * g.c, slot = slot_floats(&g, is_blocked);
    size_t at_gk = cols_floats(&g, is_blocked), kf = (size_t)kk * g.f;
#pragma omp parallel num_threads(dc_conv_team(&g, slots_of(n), chunks))
    {
        float *cols = n->work + (size_t)omp_get_thread_num() * slot, *pk = cols + at_gk, *pb = pk + kf;
        memset(pk, 0, (kf + (size_t)g.c) * sizeof(float));
#pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            if (is_blocked) { /* one image: gy is the convolution's input, x its output gradient */
                const float *gy = n->grad + (size_t)ch * out_img, *x = xn->val + (size_t)ch * in_img;
                if (gb)
                    dc_add_colsums(gy, (size_t)g.h * g.w, g.c, pb);
                if (gk)
                    dc_conv_blocked_gk(&g, gy, x, cols, pk);
                if (gx)
                    dc_conv_blocked_forward(&g, gy, kn->val, NULL, DC_CONV_ADD, cols, gx + (size_t)ch * in_img);
                continue;
            }
            int b0 = ch * ci, nb = g.b - b0 < ci ? g.b - b0 : ci, rows = nb * g.oh * g.ow;
            const float *x = xn->val + (size_t)b0 * in_img;
            if (gb)
                dc_add_colsums(n->grad + (size_t)b0 * out_img, (size_t)nb * g.h * g.w, g.c, pb);
            if (!gk && !gx)
                continue;
            dc_conv_im2col(&g, n->grad, b0, nb, cols);
            if (gk)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, g.f, rows, 1.0f, cols, kk, x, g.f, 1.0f, pk,
                            g.f);
            if (gx)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.f, kk, 1.0f, cols, kk, kn->val, g.f,
                            1.0f, gx + (size_t)b0 * in_img, g.f);
        }
        dc_conv_add_parts(gk, n->work, slot, at_gk, kf);
        dc_conv_add_parts(gb, n->work, slot, at_gk + kf, (size_t)g.c);
    }
}

const dc_op dc_op_conv2d_transpose = {.name = "conv2d_transpose", .n_inputs = 3, .optional = DC_OPTIONAL(2),
                                      .infer = deconv_infer, .forward = deconv_forward, .backward = deconv_backward};

dc_node *dc_conv2d_transpose(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, const int *strides, int same,
                             const int *dilation, const int *output_padding)
{
    DC_CHECK_NULL_OR(strides, NULL);
    DC_CHECK_NULL_OR(dilation, NULL);
    dc_node *in[3] = {x, kernel, bias};
    dc_attr a = {.deconv = {.stride = {strides[0], strides[1]}, .same = same, .dilation = {dilation[0], dilation[1]},
                            .out_pad = {output_padding ? output_padding[0] : -1,
                                        output_padding ? output_padding[1] : -1}}};
    return dc_node_make(g, &dc_op_conv2d_transpose, 3, in, &a);
}
