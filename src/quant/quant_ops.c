/*
 * quant_ops.c - the ops a quantized model's Dense and Conv2D nodes run
 * (qdense, qconv2d), and qcopy, which a BatchNormalization folded into the
 * convolution before it becomes (quant.h).
 *
 * qdense: x (rows, K) float -> each row quantized to u8 (int8 + 128) with
 * the calibrated input scale, the int8 dot products against the packed
 * kernel, requantized, dequantized into y (rows, U).  qconv2d: x (B, H, W,
 * C) -> y (B, OH, OW, F), one output pixel at a time: its receptive field
 * gathered as u8 (taps in the padding hold the input's zero point, which is
 * the real 0), then the same dot products.  Rows / pixels are independent,
 * so the threads split them and the result does not depend on the count.
 * Their backward does nothing: a quantized model is for inference (fit
 * leaves it unchanged; see docs/export-c.md).
 */
#include "quant/quant.h"

#include <string.h>

/* The gathered row: Kp bytes at most DQ_MAX_K (dc_model_quantize refuses larger layers: 65536). */
#define DQ_MAX_K 65536

typedef void (*dot_fn)(const uint8_t *, const int8_t *, int, int, int32_t *);

/* A layer too small to hold its tiled copy in its storage (the first
 * convolution of an image model: 3 x 3 x 1 inputs per output) has it made
 * per call in the caller's buffer of this many bytes, when it fits. */
#define DQ_LOCAL_TILE 8192

/* The dot products and the weights they read (the tiled copy on VNNI when
 * the layer has one, or tiled into local[DQ_LOCAL_TILE] when small enough,
 * else its rows); *vnni: whether the AVX-512 requantization runs. */
static dot_fn pick(dq_layer *q, int8_t *local, const int8_t **w, int *vnni_out)
{
    int vnni = dq_have_vnni();
    if (vnni && !q->wt && dq_tiled_bytes(q->h->U, q->h->Kp) <= DQ_LOCAL_TILE) {
        dq_tile(q->w, q->h->U, q->h->Kp, local);
        q->wt = local;
    }
    *w = vnni && q->wt ? q->wt : q->w;
    *vnni_out = vnni;
    return vnni ? (q->wt ? dq_dot_tiled_vnni : dq_dot_rows_vnni) : dq_dot_rows_portable;
}

/* One output row requantized into the node's buffer y at element `at`:
 * int8 + 128 bytes for the int8 layer after it (out_u8), else floats. */
static void finish(const dq_layer *q, int vnni, const int32_t *acc, float *y, size_t at)
{
    if (q->h->out_u8) {
        uint8_t *o = (uint8_t *)(void *)y + at;
        if (vnni)
            dq_finish_row_u8_avx512(q, acc, o);
        else
            dq_finish_row_u8(q, acc, o);
    } else if (vnni) {
        dq_finish_row_avx512(q, acc, y + at);
    } else {
        dq_finish_row(q, acc, y + at);
    }
}

/* Row r of x (K values: floats, or the bytes of the int8 layer before) as
 * u8 into xu, zero padded to Kp. */
static void input_row(const dq_layer *q, const dc_node *x, size_t r, uint8_t *xu)
{
    int K = q->h->K;
    if (q->h->in_u8)
        memcpy(xu, (const uint8_t *)(const void *)x->val + r * K, (size_t)K);
    else
        dq_quantize_row(x->val + r * K, (size_t)K, 1.0f / q->h->in_scale, q->h->in_zp, xu);
    for (int k = K; k < q->h->Kp; k++)
        xu[k] = 0;
}

/* The packed layer in kernel node k, or nonzero. */
static int view(const dc_node *k, dq_layer *q) { return dq_view_sized(k->val, dc_node_numel(k) * sizeof(float), q); }

static void no_backward(dc_node *n, const dc_run *run)
{
    (void)n;
    (void)run;
}

static dc_status no_infer(dc_node *n)
{
    return dc_fail(DC_ERR_STATE, "%s: a quantized op is made by dc_model_quantize only", n->name);
}

static dc_status qdense_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dq_layer q;
    if (view(n->in[1], &q))
        return dc_fail(DC_ERR_STATE, "%s: the packed int8 kernel is missing (was it changed after quantize?)", n->name);
    int rows = (int)dc_node_rows(n), K = q.h->K, Kp = q.h->Kp, U = q.h->U;
    const dc_node *x = n->in[0];
    const int8_t *w;
    int8_t local[DQ_LOCAL_TILE];
    int vnni;
    dot_fn dot = pick(&q, local, &w, &vnni);
    if (dot == dq_dot_tiled_vnni && rows > 1 && 4 * Kp <= DQ_MAX_K && U <= 1024) {
        /* four rows at a time: each weight group loaded once for four rows
         * (a last group of fewer repeats its last row, written once) */
        int groups = (rows + 3) / 4;
#pragma omp parallel if (dc_worth_parallel((double)rows * K * U * 0.25))
        {
            uint8_t xu[DQ_MAX_K];
            int32_t acc[4096];
#pragma omp for schedule(static)
            for (int gi = 0; gi < groups; gi++) {
                int r0 = gi * 4, nr = rows - r0 < 4 ? rows - r0 : 4;
                for (int i = 0; i < 4; i++)
                    input_row(&q, x, (size_t)(r0 + (i < nr ? i : nr - 1)), xu + (size_t)i * Kp);
                dq_dot_tiled_vnni4(xu, w, U, Kp, acc);
                for (int i = 0; i < nr; i++)
                    finish(&q, vnni, acc + (size_t)i * U, n->val, (size_t)(r0 + i) * U);
            }
        }
        return DC_OK;
    }
#pragma omp parallel if (rows > 1 && dc_worth_parallel((double)rows * K * U * 0.25))
    {
        uint8_t xu[DQ_MAX_K];
        int32_t acc[4096];
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            input_row(&q, x, (size_t)r, xu);
            for (int j0 = 0; j0 < U; j0 += 4096) { /* outputs in blocks of the stack buffer */
                int nu = U - j0 < 4096 ? U - j0 : 4096;
                dot(xu, w + (size_t)j0 * Kp, nu, Kp, acc); /* j0 a multiple of 16: a tile's start */
                dq_layer part = q;
                dq_header h = *q.h;
                h.U = nu;
                part.h = &h;
                part.m0 += j0;
                part.shift += j0;
                part.bias += j0;
                part.wsum += j0;
                finish(&part, vnni, acc, n->val, (size_t)r * U + j0);
            }
        }
    }
    return DC_OK;
}

const dc_op dc_op_qdense = {.name = "qdense", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = no_infer,
                            .forward = qdense_forward, .backward = no_backward};

/* The images a thread quantizes whole (then gathers windows from): up to
 * this many bytes, else each window's values are quantized as gathered. */
#define DQ_IMAGE_BYTES (1 << 18)

/* Pixels [p0, p1) of image b: each window gathered as u8 (from the
 * quantized image img_q when not NULL), then the dot products; on the
 * tiled VNNI path four pixels per weight load (a last group of fewer
 * repeats its last pixel, written once). */
static void qconv_pixels(const dc_node *n, const dq_layer *q, dot_fn dot, const int8_t *w, int vnni, int b,
                         int p0, int p1, const uint8_t *img_q, uint8_t *xu, int32_t *acc)
{
    const dc_node *x = n->in[0], *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    int H = x->shape[1], W = x->shape[2], C = x->shape[3], OH = n->shape[1], OW = n->shape[2], F = q->h->U;
    int Kp = q->h->Kp, KH = k->shape[0], KW = k->shape[1];
    int th = (OH - 1) * a->stride_h + (KH - 1) * a->dilation_h + 1 - H, tw = (OW - 1) * a->stride_w + (KW - 1) * a->dilation_w + 1 - W;
    int ph = a->same && th > 0 ? th / 2 : 0, pw = a->same && tw > 0 ? tw / 2 : 0;
    uint8_t pad = (uint8_t)(q->h->in_zp + 128);
    float inv = 1.0f / q->h->in_scale;
    const float *img = x->val + (size_t)b * H * W * C;
    int group = dot == dq_dot_tiled_vnni && 4 * Kp <= DQ_MAX_K && F <= 1024 ? 4 : 1;
    for (int p = p0; p < p1; p += group) {
        int np = p1 - p < group ? p1 - p : group;
        for (int g = 0; g < group; g++) {
            int pg = p + (g < np ? g : np - 1), oy = pg / OW, ox = pg % OW, e = 0;
            uint8_t *xg = xu + (size_t)g * Kp;
            for (int i = 0; i < KH; i++) {
                int iy = oy * a->stride_h - ph + i * a->dilation_h;
                for (int j = 0; j < KW; j++, e += C) {
                    int ix = ox * a->stride_w - pw + j * a->dilation_w;
                    size_t at = ((size_t)iy * W + ix) * C;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                        memset(xg + e, pad, (size_t)C);
                    else if (img_q)
                        memcpy(xg + e, img_q + at, (size_t)C);
                    else
                        dq_quantize_row(img + at, (size_t)C, inv, q->h->in_zp, xg + e);
                }
            }
            for (; e < Kp; e++)
                xg[e] = 0;
        }
        if (group == 4)
            dq_dot_tiled_vnni4(xu, w, F, Kp, acc);
        else
            dot(xu, w, F, Kp, acc);
        for (int g = 0; g < np; g++)
            finish(q, vnni, acc + (size_t)g * F, n->val, ((size_t)b * OH * OW + p + g) * F);
    }
}

/* Images split between the threads (each quantized once, then its windows);
 * a single image: its pixels split instead. */
static dc_status qconv_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    dq_layer q;
    if (view(n->in[1], &q))
        return dc_fail(DC_ERR_STATE, "%s: the packed int8 kernel is missing (was it changed after quantize?)", n->name);
    const dc_node *x = n->in[0];
    int B = x->shape[0], pixels = n->shape[1] * n->shape[2];
    size_t img = (size_t)x->shape[1] * x->shape[2] * x->shape[3];
    int whole = img <= DQ_IMAGE_BYTES;
    const int8_t *w;
    int8_t local[DQ_LOCAL_TILE];
    int vnni;
    dot_fn dot = pick(&q, local, &w, &vnni);
    const uint8_t *x_u8 = q.h->in_u8 ? (const uint8_t *)(const void *)x->val : NULL; /* the int8 layer before's bytes */
    double work = (double)B * pixels * q.h->Kp * q.h->U;
#pragma omp parallel if (dc_worth_parallel(work * 0.25))
    {
        uint8_t xu[DQ_MAX_K], img_q[DQ_IMAGE_BYTES];
        int32_t acc[4096];
        if (B > 1) {
#pragma omp for schedule(static)
            for (int b = 0; b < B; b++) {
                const uint8_t *src = x_u8 ? x_u8 + (size_t)b * img : whole ? img_q : NULL;
                if (!x_u8 && whole)
                    dq_quantize_row(x->val + (size_t)b * img, img, 1.0f / q.h->in_scale, q.h->in_zp, img_q);
                qconv_pixels(n, &q, dot, w, vnni, b, 0, pixels, src, xu, acc);
            }
        } else {
            size_t lo, hi;
            dc_thread_range((size_t)pixels, 1, &lo, &hi);
            qconv_pixels(n, &q, dot, w, vnni, 0, (int)lo, (int)hi, x_u8, xu, acc);
        }
    }
    return DC_OK;
}

const dc_op dc_op_qconv2d = {.name = "qconv2d", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = no_infer,
                             .forward = qconv_forward, .backward = no_backward};

/* A BatchNormalization folded into the quantized layer before it: y = x. */
static dc_status qcopy_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    memcpy(n->val, n->in[0]->val, dc_node_numel(n) * sizeof(float));
    return DC_OK;
}

const dc_op dc_op_qcopy = {.name = "qcopy", .n_inputs = 5, .infer = no_infer, .forward = qcopy_forward,
                           .backward = no_backward};

/* Max pooling on the bytes of an int8 layer (B, H, W, C) -> (B, OH, OW, C):
 * int8 + 128 is monotonic in the value and the scale is unchanged, so the
 * maximum byte is the quantized maximum; padding never wins. */
static dc_status qmaxpool_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    const dc_pool_attr *a = &n->attr.pool;
    int B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3], OH = n->shape[1], OW = n->shape[2];
    int th = (OH - 1) * a->stride_h + a->pool_h - H, tw = (OW - 1) * a->stride_w + a->pool_w - W;
    int ph = a->same && th > 0 ? th / 2 : 0, pw = a->same && tw > 0 ? tw / 2 : 0;
    const uint8_t *in = (const uint8_t *)(const void *)x->val;
    uint8_t *out = (uint8_t *)(void *)n->val;
#pragma omp parallel for if (dc_worth_parallel((double)B * OH * OW * C * a->pool_h * a->pool_w * 0.25))
    for (int r = 0; r < B * OH; r++) {
        int b = r / OH, oy = r % OH;
        for (int ox = 0; ox < OW; ox++) {
            uint8_t *o = out + (((size_t)b * OH + oy) * OW + ox) * C;
            memset(o, 0, (size_t)C);
            for (int i = 0; i < a->pool_h; i++) {
                int iy = oy * a->stride_h - ph + i;
                for (int j = 0; iy >= 0 && iy < H && j < a->pool_w; j++) {
                    int ix = ox * a->stride_w - pw + j;
                    if (ix < 0 || ix >= W)
                        continue;
                    const uint8_t *src = in + (((size_t)b * H + iy) * W + ix) * C;
                    for (int ch = 0; ch < C; ch++)
                        o[ch] = src[ch] > o[ch] ? src[ch] : o[ch];
                }
            }
        }
    }
    return DC_OK;
}

const dc_op dc_op_qmaxpool = {.name = "qmaxpool", .n_inputs = 1, .infer = no_infer, .forward = qmaxpool_forward,
                              .backward = no_backward};

/* A ReLU folded into the int8 layer before it (its clamp): the bytes as they are. */
static dc_status qpass_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    memcpy(n->val, n->in[0]->val, dc_node_numel(n));
    return DC_OK;
}

const dc_op dc_op_qpass = {.name = "qpass", .n_inputs = 1, .infer = no_infer, .forward = qpass_forward,
                           .backward = no_backward};
