/*
 * ops_image.c - the resampling ops of image-to-image networks, channels-last
 * (B, H, W, C): upsampling by whole factors and zero padding / cropping.
 *
 * upsample2d: (B, H, W, C) -> (B, H*sh, W*sw, C).  Nearest repeats every
 * pixel sh x sw times (Keras' UpSampling2D); bilinear interpolates with half-
 * pixel centres, as Keras 3 resizes (tf.image.resize, antialias off; PyTorch's
 * interpolate with align_corners=False): the source of output row o is
 * (o + 0.5) / sh - 0.5, clamped at 0, between rows floor and floor + 1
 * (clamped at H - 1).  attr.upsample.
 *
 * pad2d: (B, H, W, C) -> (B, H + top + bottom, W + left + right, C), zeros
 * in the new border; a negative amount crops (ZeroPadding2D and Cropping2D
 * are the one op).  attr.pad: pixels per side.
 *
 * Both are parallel over output rows forward and over images backward.
 */
#include "graph/graph.h"
#include "core/checked.h"

#include <string.h>

static dc_status check_image4(const dc_node *n, const char *op)
{
    const dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim != 4)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected (batch, height, width, channels)", op,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    return DC_OK;
}

static void set_image(dc_node *n, int h, int w)
{
    const dc_node *x = n->in[0];
    n->batched = x->batched;
    n->ndim = 4;
    n->shape[0] = x->shape[0];
    n->shape[1] = h;
    n->shape[2] = w;
    n->shape[3] = x->shape[3];
}

/* ---- upsample2d ---- */

static dc_status up_infer(dc_node *n)
{
    dc_status st = check_image4(n, "upsample2d");
    if (st != DC_OK)
        return st;
    const dc_upsample_attr *a = &n->attr.upsample;
    if (a->size_h < 1 || a->size_w < 1)
        return dc_fail(DC_ERR_ARG, "upsample2d: size %dx%d, expected >= 1", a->size_h, a->size_w);
    const dc_node *x = n->in[0];
    int h, w;
    if (dc_ckd_mul(&h, x->shape[1], a->size_h))
        return dc_fail(DC_ERR_SHAPE, "upsample2d: height %d x size %d overflows", x->shape[1], a->size_h);
    if (dc_ckd_mul(&w, x->shape[2], a->size_w))
        return dc_fail(DC_ERR_SHAPE, "upsample2d: width %d x size %d overflows", x->shape[2], a->size_w);
    set_image(n, h, w);
    return DC_OK;
}

/* The two source rows (or columns) of output o, and the weight of the second. */
typedef struct lerp {
    int i0, i1;
    float t;
} lerp;

static lerp lerp_of(int o, int scale, int size)
{
    float src = ((float)o + 0.5f) / (float)scale - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    lerp l;
    l.i0 = (int)src;
    if (l.i0 > size - 1)
        l.i0 = size - 1;
    l.i1 = l.i0 + 1 < size ? l.i0 + 1 : size - 1;
    l.t = src - (float)l.i0;
    return l;
}

static dc_status up_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    int b = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3], sh = n->attr.upsample.size_h;
    int sw = n->attr.upsample.size_w, oh = n->shape[1], ow = n->shape[2], rows = b * oh;
    int bilinear = n->attr.upsample.bilinear;
#pragma omp parallel for if (dc_worth_parallel((double)rows * ow * c * (bilinear ? 8 : 1)))
    for (int r = 0; r < rows; r++) {
        const float *img = x->val + (size_t)(r / oh) * h * w * c;
        float *dst = n->val + (size_t)r * ow * c;
        int oy = r % oh;
        if (!bilinear) {
            const float *src = img + (size_t)(oy / sh) * w * c;
            for (int ox = 0; ox < ow; ox++)
                memcpy(dst + (size_t)ox * c, src + (size_t)(ox / sw) * c, (size_t)c * sizeof(float));
            continue;
        }
        lerp ly = lerp_of(oy, sh, h);
        const float *r0 = img + (size_t)ly.i0 * w * c, *r1 = img + (size_t)ly.i1 * w * c;
        for (int ox = 0; ox < ow; ox++) {
            lerp lx = lerp_of(ox, sw, w);
            const float *a = r0 + (size_t)lx.i0 * c, *bb = r0 + (size_t)lx.i1 * c;
            const float *cc = r1 + (size_t)lx.i0 * c, *d = r1 + (size_t)lx.i1 * c;
            float *restrict y = dst + (size_t)ox * c;
            for (int ch = 0; ch < c; ch++) {
                float top = a[ch] + (bb[ch] - a[ch]) * lx.t, bot = cc[ch] + (d[ch] - cc[ch]) * lx.t;
                y[ch] = top + (bot - top) * ly.t;
            }
        }
    }
    return DC_OK;
}

static void up_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    int b = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3], sh = n->attr.upsample.size_h;
    int sw = n->attr.upsample.size_w, oh = n->shape[1], ow = n->shape[2], bilinear = n->attr.upsample.bilinear;
#pragma omp parallel for if (b > 1 && dc_worth_parallel((double)b * oh * ow * c * (bilinear ? 8 : 1)))
    for (int i = 0; i < b; i++) {
        float *gimg = x->grad + (size_t)i * h * w * c;
        for (int oy = 0; oy < oh; oy++) {
            const float *gy = n->grad + ((size_t)i * oh + oy) * ow * c;
            lerp ly = bilinear ? lerp_of(oy, sh, h) : (lerp){oy / sh, oy / sh, 0.0f};
            for (int ox = 0; ox < ow; ox++) {
                const float *restrict g = gy + (size_t)ox * c;
                lerp lx = bilinear ? lerp_of(ox, sw, w) : (lerp){ox / sw, ox / sw, 0.0f};
                float w00 = (1.0f - ly.t) * (1.0f - lx.t), w01 = (1.0f - ly.t) * lx.t;
                float w10 = ly.t * (1.0f - lx.t), w11 = ly.t * lx.t;
                float *a = gimg + ((size_t)ly.i0 * w + lx.i0) * c, *bb = gimg + ((size_t)ly.i0 * w + lx.i1) * c;
                float *cc = gimg + ((size_t)ly.i1 * w + lx.i0) * c, *d = gimg + ((size_t)ly.i1 * w + lx.i1) * c;
                for (int ch = 0; ch < c; ch++) {
                    a[ch] += w00 * g[ch];
                    if (bilinear) {
                        bb[ch] += w01 * g[ch];
                        cc[ch] += w10 * g[ch];
                        d[ch] += w11 * g[ch];
                    }
                }
            }
        }
    }
}

const dc_op dc_op_upsample2d = {.name = "upsample2d", .n_inputs = 1, .infer = up_infer, .forward = up_forward,
                                .backward = up_backward};

dc_node *dc_upsample2d(dc_graph *g, dc_node *x, int size_h, int size_w, int bilinear)
{
    return dc_node_make(g, &dc_op_upsample2d, 1, &x, &(dc_attr){.upsample = {size_h, size_w, bilinear != 0}});
}

/* ---- pad2d (zero padding, cropping) ---- */

static dc_status pad_infer(dc_node *n)
{
    dc_status st = check_image4(n, "pad2d");
    if (st != DC_OK)
        return st;
    const dc_node *x = n->in[0];
    const dc_pad_attr *a = &n->attr.pad;
    int h, w;
    char sx[96];
    if (dc_ckd_add(&h, x->shape[1], a->top) || dc_ckd_add(&h, h, a->bottom))
        return dc_fail(DC_ERR_SHAPE, "pad2d: height %d + %d + %d overflows", x->shape[1], a->top, a->bottom);
    if (dc_ckd_add(&w, x->shape[2], a->left) || dc_ckd_add(&w, w, a->right))
        return dc_fail(DC_ERR_SHAPE, "pad2d: width %d + %d + %d overflows", x->shape[2], a->left, a->right);
    if (h < 1 || w < 1)
        return dc_fail(DC_ERR_SHAPE, "pad2d: padding (%d, %d), (%d, %d) leaves an empty %dx%d output of input %s",
                       a->top, a->bottom, a->left, a->right, h, w,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    set_image(n, h, w);
    return DC_OK;
}

/* The columns [*lo, *hi) of an output row that come from the input, the
 * input column of *lo being *lo - left. */
static void copied_cols(int w, int left, int ow, int *lo, int *hi)
{
    *lo = left > 0 ? left : 0;
    *hi = w + left < ow ? w + left : ow;
    if (*hi < *lo)
        *hi = *lo;
}

static dc_status pad_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    int h = x->shape[1], w = x->shape[2], c = x->shape[3], top = n->attr.pad.top, left = n->attr.pad.left;
    int oh = n->shape[1], ow = n->shape[2], rows = x->shape[0] * oh, lo, hi;
    copied_cols(w, left, ow, &lo, &hi);
#pragma omp parallel for if (dc_worth_parallel((double)rows * ow * c * 0.25))
    for (int r = 0; r < rows; r++) {
        float *dst = n->val + (size_t)r * ow * c;
        int iy = r % oh - top;
        if (iy < 0 || iy >= h) {
            memset(dst, 0, (size_t)ow * c * sizeof(float));
            continue;
        }
        const float *src = x->val + (((size_t)(r / oh) * h + iy) * w + (lo - left)) * c;
        memset(dst, 0, (size_t)lo * c * sizeof(float));
        memcpy(dst + (size_t)lo * c, src, (size_t)(hi - lo) * c * sizeof(float));
        memset(dst + (size_t)hi * c, 0, (size_t)(ow - hi) * c * sizeof(float));
    }
    return DC_OK;
}

static void pad_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    int h = x->shape[1], w = x->shape[2], c = x->shape[3], top = n->attr.pad.top, left = n->attr.pad.left;
    int oh = n->shape[1], ow = n->shape[2], rows = x->shape[0] * oh, lo, hi;
    copied_cols(w, left, ow, &lo, &hi);
    size_t count = (size_t)(hi - lo) * c;
#pragma omp parallel for if (dc_worth_parallel((double)rows * ow * c * 0.25))
    for (int r = 0; r < rows; r++) {
        int iy = r % oh - top;
        if (iy < 0 || iy >= h)
            continue;
        const float *restrict g = n->grad + ((size_t)r * ow + lo) * c;
        float *restrict dst = x->grad + (((size_t)(r / oh) * h + iy) * w + (lo - left)) * c;
#pragma omp simd
        for (size_t i = 0; i < count; i++)
            dst[i] += g[i];
    }
}

const dc_op dc_op_pad2d = {.name = "pad2d", .n_inputs = 1, .infer = pad_infer, .forward = pad_forward,
                           .backward = pad_backward};

dc_node *dc_pad2d(dc_graph *g, dc_node *x, int top, int bottom, int left, int right)
{
    return dc_node_make(g, &dc_op_pad2d, 1, &x, &(dc_attr){.pad = {top, bottom, left, right}});
}
