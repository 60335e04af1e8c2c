/*
 * ops_conv.c - 2D convolution and pooling, channels-last (NHWC), with Keras'
 * output sizes and "same" padding (the odd padding pixel goes bottom/right).
 *
 * conv2d: x (B, H, W, C), kernel (kh, kw, C, F), bias (F) -> (B, OH, OW, F),
 * by im2col + GEMM: each output pixel's receptive field becomes one row of a
 * (pixels, kh*kw*C) matrix, so an sgemm with the kernel seen as (kh*kw*C, F)
 * gives the outputs.  This runs a chunk of images at a time per thread (see
 * CHUNK_ROWS); forward with fewer chunks than threads (one image), a band of
 * the image's output rows per thread.  Backward: gK += cols^T gy, then the same buffer takes gcols =
 * gy K^T, which col2im adds into gx.  Two cases skip im2col (choose_path):
 * channels and filters both multiples of 16 take the register-blocked
 * kernels of conv_blocked.c, and other kernels with kh*kw*C <= SMALL_K (a
 * first layer over 1-3 channels) run directly on the image.  A forward with
 * at most 32 filters over more inputs (kh*kw*C >= 64) runs conv_narrow.c's
 * direct kernel (PATH_NARROW); its backward is the GEMM path's.
 *
 * Attributes: attr.conv (conv2d: the bias, input 2, is optional), attr.pool
 * and attr.global_pool (op_attr.h).  A pooling whose windows tile its input
 * may write that input's gradient (pool_writes_input_grad).
 */
#include "ops/conv_internal.h"
#include "core/checked.h"

#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

/* Output size and leading pad of one axis, as Keras / TensorFlow compute
 * them.  Returns nonzero, with a message naming `op`, when the window's
 * span or n + stride + span (the furthest a window position or tap index
 * reaches) does not fit an int; then every index the loops compute does. */
static int out_size(const char *op, int n, int k, int s, int d, int same, int *out, int *pad)
{
    int span, reach;
    if (dc_ckd_span(&span, k, d)) {
        dc_fail(DC_ERR_SHAPE, "%s: dilation %d x (kernel %d - 1) + 1 overflows", op, d, k);
        return 1;
    }
    if (dc_ckd_add(&reach, n, s) || dc_ckd_add(&reach, reach, span)) {
        dc_fail(DC_ERR_SHAPE, "%s: input %d + stride %d + window %d overflows", op, n, s, span);
        return 1;
    }
    int o = same ? (n + s - 1) / s : (n - span) / s + 1;
    if (!same && n < span)
        o = 0;
    int total = (o - 1) * s + span - n;
    *pad = same && total > 0 ? total / 2 : 0;
    *out = o;
    return 0;
}

typedef dc_conv_geom geom;

/* The rest of g, whose window, filters, strides and dilations are set, for
 * the image x; nonzero (with the message) when an axis overflows. */
static int image_geom(const dc_node *x, int same, geom *g, const char *op)
{
    g->b = x->shape[0];
    g->h = x->shape[1];
    g->w = x->shape[2];
    g->c = x->shape[3];
    return out_size(op, g->h, g->kh, g->sh, g->dh, same, &g->oh, &g->ph) ||
           out_size(op, g->w, g->kw, g->sw, g->dw, same, &g->ow, &g->pw);
}

/* The geometry of a conv2d node: nonzero when its infer would fail (which
 * then did; forward and backward run only on nodes whose infer passed). */
static int conv_geom(const dc_node *n, geom *g)
{
    const dc_node *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    *g = (geom){.kh = k->shape[0], .kw = k->shape[1], .f = k->shape[3], .sh = a->stride_h, .sw = a->stride_w,
                .dh = a->dilation_h, .dw = a->dilation_w};
    return image_geom(n->in[0], a->same, g, "conv2d");
}

/* Pooling: a pool_h x pool_w window, no dilation. */
static int pool_geom(const dc_node *n, geom *g)
{
    const dc_pool_attr *a = &n->attr.pool;
    *g = (geom){.kh = a->pool_h, .kw = a->pool_w, .sh = a->stride_h, .sw = a->stride_w, .dh = 1, .dw = 1};
    return image_geom(n->in[0], a->same, g, a->is_max ? "max_pooling2d" : "average_pooling2d");
}

/* Scratch is planned per batch sample; an input without a batch axis (the
 * graph API with parameters as images) is one "sample" of shape[0] images. */
static size_t images_per_sample(const dc_node *x) { return x->batched ? 1 : (size_t)x->shape[0]; }

static dc_status check_image(const dc_node *n, const char *op, int stride_h, int stride_w)
{
    const dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim != 4)
        return dc_fail(DC_ERR_SHAPE, "%s: input %s has %d axes, expected (batch, height, width, channels)%s", op,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim,
                       x->ndim == 3 ? "; the input has no channel axis: reshape it to (height, width, 1)" : "");
    if (stride_h < 1 || stride_w < 1)
        return dc_fail(DC_ERR_ARG, "%s: stride %d, expected >= 1", op, stride_h < 1 ? stride_h : stride_w);
    return DC_OK;
}

static dc_status set_output(dc_node *n, const geom *g, int same, int channels, const char *op, const char *what)
{
    if (g->oh < 1 || g->ow < 1) {
        char dilated[64] = "";
        if (g->dh > 1 || g->dw > 1)
            snprintf(dilated, sizeof dilated, " (dilated to %dx%d)", g->dh * (g->kh - 1) + 1, g->dw * (g->kw - 1) + 1);
        return dc_fail(DC_ERR_SHAPE,
                       "%s: a %dx%d %s%s with strides %dx%d leaves an empty output on a %dx%d input under \"%s\" "
                       "padding",
                       op, g->kh, g->kw, what, dilated, g->sh, g->sw, g->h, g->w, same ? "same" : "valid");
    }
    n->batched = n->in[0]->batched;
    n->ndim = 4;
    n->shape[0] = g->b;
    n->shape[1] = g->oh;
    n->shape[2] = g->ow;
    n->shape[3] = channels;
    return DC_OK;
}

/* ---- conv2d ---- */

static int is_small(const geom *g);

/* How a convolution runs (attr.conv.path), chosen when its node is made. */
enum { PATH_GEMM, PATH_SMALL, PATH_BLOCKED, PATH_NARROW };

/* gemm_only: the graph's opts.conv_gemm, for the tests and benchmarks that compare the paths. */
static int choose_path(const geom *g, int gemm_only)
{
    if (dc_conv_blocked_fits(g))
        return gemm_only ? PATH_GEMM : PATH_BLOCKED;
    if (is_small(g))
        return PATH_SMALL;
    return dc_conv_narrow_fits(g) && !gemm_only ? PATH_NARROW : PATH_GEMM;
}

/*
 * The GEMM path works a few images at a time, each thread on its own chunks:
 * a chunk's im2col matrix (CHUNK_ROWS output pixels or a whole image) stays
 * in the core's L2 cache between im2col, the GEMM and col2im, and the threads
 * never wait on each other inside a step.  Each thread has a slot of scratch:
 * the chunk's matrix (GEMM path only), then its private sums of gK and of the
 * bias gradient, added up in slot order at the end (the same result every run).
 */
#define CHUNK_ROWS 256

int dc_conv_chunk_images(const geom *g)
{
    int per = g->oh * g->ow;
    return per >= CHUNK_ROWS ? 1 : CHUNK_ROWS / per;
}

/* The front of a thread's slot: the chunk's im2col matrix (GEMM path) or
 * the padded image and gradient (blocked path). */
static size_t cols_floats(const geom *g, int path)
{
    if (path == PATH_BLOCKED)
        return dc_conv_blocked_scratch(g);
    if (path == PATH_SMALL)
        return 0;
    size_t rows = dc_size_mul((size_t)dc_conv_chunk_images(g), (size_t)g->oh * (size_t)g->ow);
    return dc_size_mul(rows, dc_size_prod(3, (int[]){g->kh, g->kw, g->c})); /* also the narrow path's (backward) */
}

static size_t slot_floats(const geom *g, int path)
{
    return dc_size_add(cols_floats(g, path), dc_size_mul(dc_size_prod(3, (int[]){g->kh, g->kw, g->c}) + 1, (size_t)g->f));
}

static dc_status conv_infer(dc_node *n)
{
    dc_conv_attr *a = &n->attr.conv;
    dc_status st = check_image(n, "conv2d", a->stride_h, a->stride_w);
    if (st != DC_OK)
        return st;
    const dc_node *x = n->in[0], *k = n->in[1];
    char sk[96];
    if (k->ndim != 4 || k->shape[2] != x->shape[3])
        return dc_fail(DC_ERR_SHAPE, "conv2d: kernel %s does not fit an input with %d channels; expected (kh, kw, %d, filters)",
                       dc_shape_str(k->ndim, k->shape, sk, sizeof sk), x->shape[3], x->shape[3]);
    if (n->in[2] && (n->in[2]->ndim != 1 || n->in[2]->shape[0] != k->shape[3]))
        return dc_fail(DC_ERR_SHAPE, "conv2d: bias has %d values, expected %d", n->in[2]->shape[0], k->shape[3]);
    if (a->dilation_h < 1 || a->dilation_w < 1)
        return dc_fail(DC_ERR_ARG, "conv2d: dilation %dx%d, expected >= 1", a->dilation_h, a->dilation_w);
    geom g;
    if (conv_geom(n, &g))
        return dc_last_status();
    if ((st = set_output(n, &g, a->same, g.f, "conv2d", "kernel")) != DC_OK || (st = dc_node_check_size(n)) != DC_OK)
        return st; /* then oh * ow fits an int, and the scratch sizes below saturate rather than wrap */
    a->slots = omp_get_max_threads(); /* one slot of scratch per thread */
    a->path = choose_path(&g, n->graph->opts.conv_gemm);
    n->work_fixed = dc_size_mul((size_t)a->slots, slot_floats(&g, a->path));
    if (a->path == PATH_NARROW) /* then the packed kernel, after the slots */
        n->work_fixed = dc_size_add(n->work_fixed, dc_conv_narrow_packed(&g));
    if (a->path == PATH_BLOCKED) /* then the kernel transposed for gx */
        n->work_fixed = dc_size_add(n->work_fixed, dc_conv_blocked_shared(&g));
    return DC_OK;
}

/* cols (n*OH*OW, kh*kw*C) for images b0 .. b0+n of x; zero where the window
 * is in the padding.  With dilation 1 a kernel row is kw*C contiguous input
 * values: one copy. */
/* The im2col rows of output pixels [p0, p1) counted over the whole batch
 * (output row r = p / ow: image r / oh, row r % oh; column p % ow), into
 * cols from its start. */
static void im2col_pixels(const geom *g, const float *x, size_t p0, size_t p1, float *cols)
{
    size_t kcols = (size_t)g->kh * g->kw * g->c, krow = (size_t)g->kw * g->c;
    for (size_t p = p0; p < p1;) {
        size_t r = p / (size_t)g->ow;
        int oy = (int)(r % (size_t)g->oh), ox = (int)(p % (size_t)g->ow);
        const float *img = x + (r / (size_t)g->oh) * g->h * g->w * g->c;
        for (; ox < g->ow && p < p1; ox++, p++) {
            float *dst = cols + (p - p0) * kcols;
            int x0 = ox * g->sw - g->pw;
            int inside = x0 >= 0 && x0 + (g->kw - 1) * g->dw < g->w;
            for (int i = 0; i < g->kh; i++, dst += krow) {
                int iy = oy * g->sh - g->ph + i * g->dh;
                if (iy < 0 || iy >= g->h) {
                    memset(dst, 0, krow * sizeof(float));
                    continue;
                }
                const float *src = img + ((size_t)iy * g->w) * g->c;
                if (inside && g->dw == 1) {
                    memcpy(dst, src + (size_t)x0 * g->c, krow * sizeof(float));
                    continue;
                }
                for (int j = 0; j < g->kw; j++) {
                    int ix = x0 + j * g->dw;
                    for (int c = 0; c < g->c; c++)
                        dst[j * g->c + c] = ix < 0 || ix >= g->w ? 0.0f : src[(size_t)ix * g->c + c];
                }
            }
        }
    }
}

void dc_conv_im2col(const geom *g, const float *x, int b0, int n, float *cols)
{
    size_t per = (size_t)g->oh * g->ow;
    im2col_pixels(g, x, (size_t)b0 * per, (size_t)(b0 + n) * per, cols);
}

/* gx += col2im(gcols) for window rows [r0, r1) counted over the whole batch
 * (image r / oh, row r % oh), gcols from its start. */
void dc_conv_col2im_rows(const geom *g, const float *gcols, int r0, int r1, float *gx)
{
    size_t kcols = (size_t)g->kh * g->kw * g->c;
    for (int r = r0; r < r1; r++) {
        int oy = r % g->oh;
        float *gimg = gx + (size_t)(r / g->oh) * g->h * g->w * g->c;
        for (int ox = 0; ox < g->ow; ox++) {
            const float *src = gcols + ((size_t)(r - r0) * g->ow + ox) * kcols;
            for (int i = 0; i < g->kh; i++) {
                int iy = oy * g->sh - g->ph + i * g->dh;
                for (int j = 0; j < g->kw; j++, src += g->c) {
                    int ix = ox * g->sw - g->pw + j * g->dw;
                    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                        continue;
                    float *restrict dst = gimg + ((size_t)iy * g->w + ix) * g->c;
#pragma omp simd
                    for (int c = 0; c < g->c; c++)
                        dst[c] += src[c];
                }
            }
        }
    }
}

/* gx += col2im(gcols) for images b0 .. b0+n. */
void dc_conv_col2im(const geom *g, const float *gcols, int b0, int n, float *gx)
{
    dc_conv_col2im_rows(g, gcols, b0 * g->oh, (b0 + n) * g->oh, gx);
}

/*
 * A first convolution over 1-3 channels has a tiny inner dimension (3x3x1 =
 * 9) where im2col and GEMM spend their time copying and packing.  Up to
 * SMALL_K the convolution runs directly on the image, vectorised along the
 * filters, and needs no scratch.
 */
#define SMALL_K 32
#define SMALL_F 128

static int is_small(const geom *g) { return g->kh * g->kw * g->c <= SMALL_K && g->f <= SMALL_F; }

/* The taps of one output pixel that fall inside the image: each one's offset
 * in the image and its row in the kernel seen as (kh*kw*C, F). */
typedef struct taps {
    int n;
    size_t src[SMALL_K];
    int k[SMALL_K];
} taps;

/* Every tap of a window wholly inside the image, relative to its corner. */
static void window_taps(const geom *g, taps *t)
{
    t->n = 0;
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
            t->src[t->n] = ((size_t)i * g->dh * g->w + (size_t)j * g->dw) * g->c;
            t->k[t->n++] = (i * g->kw + j) * g->c;
        }
}

/* The taps of output pixel (oy, ox); `whole` is window_taps(g). */
static void pixel_taps(const geom *g, const taps *whole, int oy, int ox, taps *t)
{
    int y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw;
    if (y0 >= 0 && y0 + (g->kh - 1) * g->dh < g->h && x0 >= 0 && x0 + (g->kw - 1) * g->dw < g->w) {
        size_t corner = ((size_t)y0 * g->w + (size_t)x0) * g->c;
        t->n = whole->n;
        for (int q = 0; q < whole->n; q++) {
            t->src[q] = whole->src[q] + corner;
            t->k[q] = whole->k[q];
        }
        return;
    }
    t->n = 0;
    for (int i = 0; i < g->kh; i++) {
        int iy = y0 + i * g->dh;
        for (int j = 0; iy >= 0 && iy < g->h && j < g->kw; j++) {
            int ix = x0 + j * g->dw;
            if (ix < 0 || ix >= g->w)
                continue;
            t->src[t->n] = ((size_t)iy * g->w + ix) * g->c;
            t->k[t->n++] = (i * g->kw + j) * g->c;
        }
    }
}

/*
 * Filters go FB at a time, one 512-bit vector: called with width == FB the
 * inner loops have a constant trip count and the accumulator stays in a
 * register; a last partial block passes its own width.
 */
#define FB 16

/* out[0..width) = bias + sum over taps and channels of x * K[., o0 ..], then ReLU if asked. */
static inline void direct_pixel(const taps *t, const float *img, int c, const float *k, int f, int o0, int width,
                                const float *bias, int relu, float *restrict out)
{
    float acc[FB] = {0};
    for (int q = 0; q < t->n; q++)
        for (int ch = 0; ch < c; ch++) {
            const float av = img[t->src[q] + (size_t)ch], *restrict kc = k + (size_t)(t->k[q] + ch) * f + o0;
#pragma omp simd
            for (int o = 0; o < width; o++)
                acc[o] += av * kc[o];
        }
    if (bias) {
#pragma omp simd
        for (int o = 0; o < width; o++)
            acc[o] += bias[o0 + o];
    }
    if (relu) {
#pragma omp simd
        for (int o = 0; o < width; o++)
            acc[o] = acc[o] < 0.0f ? 0.0f : acc[o]; /* keeps NaN */
    }
#pragma omp simd
    for (int o = 0; o < width; o++)
        out[o] = acc[o];
}

/* gK[., o0 ..] += x * gy[o0 .. o0 + width) over the taps of one pixel. */
static inline void direct_pixel_gk(const taps *t, const float *img, int c, const float *restrict gy, int f, int o0,
                                   int width, float *gk)
{
    for (int q = 0; q < t->n; q++)
        for (int ch = 0; ch < c; ch++) {
            const float av = img[t->src[q] + (size_t)ch];
            float *restrict a = gk + (size_t)(t->k[q] + ch) * f + o0;
#pragma omp simd
            for (int o = 0; o < width; o++)
                a[o] += av * gy[o];
        }
}

/*
 * Interior pixels (window wholly inside the image) go PB at a time with every
 * input value of the window at a fixed offset from the pixel's corner:
 * `elem[e]` for e = (i*kw + j)*C + ch, which is also the row of the kernel.
 * Each kernel vector loaded then serves PB pixels, from registers.
 */
#define PB 4

typedef struct window {
    int n;               /* kh*kw*C */
    size_t elem[SMALL_K];
} window;

static void window_of(const geom *g, const taps *whole, window *wn)
{
    wn->n = 0;
    for (int q = 0; q < whole->n; q++)
        for (int ch = 0; ch < g->c; ch++)
            wn->elem[wn->n++] = whole->src[q] + (size_t)ch;
}

/* Output columns [*lo, *hi) whose windows lie wholly inside a row of the image. */
static void interior_cols(const geom *g, int *lo, int *hi)
{
    *lo = (g->pw + g->sw - 1) / g->sw;
    int last = g->w - 1 - (g->kw - 1) * g->dw + g->pw; /* largest window start x0 + pw */
    *hi = last < 0 ? 0 : last / g->sw + 1;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

static int interior_row(const geom *g, int oy)
{
    int y0 = oy * g->sh - g->ph;
    return y0 >= 0 && y0 + (g->kh - 1) * g->dh < g->h;
}

/* Outputs of PB interior pixels, FB filters from o0; `x0` is the first
 * pixel's window corner, `step` the distance between corners. */
static inline void direct_block(const window *wn, const float *x0, size_t step, const float *k, int f, int o0,
                                const float *bias, int relu, float *out)
{
    float acc[PB][FB] = {{0}};
    for (int e = 0; e < wn->n; e++) {
        const float *restrict kc = k + (size_t)e * f + o0;
        for (int p = 0; p < PB; p++) {
            const float av = x0[p * step + wn->elem[e]];
#pragma omp simd
            for (int o = 0; o < FB; o++)
                acc[p][o] += av * kc[o];
        }
    }
    for (int p = 0; p < PB; p++) {
        float *restrict y = out + (size_t)p * f;
#pragma omp simd
        for (int o = 0; o < FB; o++) {
            float v = acc[p][o] + (bias ? bias[o0 + o] : 0.0f);
            y[o] = relu && v < 0.0f ? 0.0f : v; /* keeps NaN */
        }
    }
}

static void direct_forward(const geom *g, const float *x, const float *k, const float *bias, int relu, float *y)
{
    int rows = g->b * g->oh, f = g->f, c = g->c, lo, hi;
    taps whole;
    window wn;
    window_taps(g, &whole);
    window_of(g, &whole, &wn);
    interior_cols(g, &lo, &hi);
    size_t step = (size_t)g->sw * c;
#pragma omp parallel for if (dc_worth_parallel(2.0 * rows * g->ow * g->kh * g->kw * c * f))
    for (int r = 0; r < rows; r++) {
        const float *img = x + (size_t)(r / g->oh) * g->h * g->w * c;
        int oy = r % g->oh, blocked = interior_row(g, oy) && f % FB == 0;
        float *yrow = y + (size_t)r * g->ow * f;
        int ox = 0;
        while (ox < g->ow) {
            if (blocked && ox >= lo && ox + PB <= hi) {
                const float *x0 = img + ((size_t)(oy * g->sh - g->ph) * g->w + (size_t)(ox * g->sw - g->pw)) * c;
                for (int o0 = 0; o0 < f; o0 += FB)
                    direct_block(&wn, x0, step, k, f, o0, bias, relu, yrow + (size_t)ox * f + o0);
                ox += PB;
                continue;
            }
            taps t;
            pixel_taps(g, &whole, oy, ox, &t);
            for (int o0 = 0; o0 < f; o0 += FB) {
                if (f - o0 >= FB)
                    direct_pixel(&t, img, c, k, f, o0, FB, bias, relu, yrow + (size_t)ox * f + o0);
                else
                    direct_pixel(&t, img, c, k, f, o0, f - o0, bias, relu, yrow + (size_t)ox * f + o0);
            }
            ox++;
        }
    }
}

/*
 * gK rows [e0, e0 + ne) x filters [o0, o0 + FB) += sum over npix interior
 * pixels of one output row of x * gy, the sums in registers (EB rows at a
 * time; a last partial block computes EB rows and keeps ne).  `x0` is the
 * first pixel's window corner, `gy` its gradient row.
 */
#define EB 12

static inline void direct_block_gk(const window *wn, int e0, int ne, const float *x0, size_t step, const float *gy,
                                   int f, int o0, int npix, float *gk)
{
    float acc[EB][FB] = {{0}};
    size_t off[EB];
    for (int e = 0; e < EB; e++)
        off[e] = wn->elem[e0 + (e < ne ? e : 0)];
    for (int p = 0; p < npix; p++) {
        const float *restrict gr = gy + (size_t)p * f + o0, *xp = x0 + (size_t)p * step;
        for (int e = 0; e < EB; e++) {
            const float av = xp[off[e]];
#pragma omp simd
            for (int o = 0; o < FB; o++)
                acc[e][o] += av * gr[o];
        }
    }
    for (int e = 0; e < ne; e++) {
        float *restrict dst = gk + (size_t)(e0 + e) * f + o0;
#pragma omp simd
        for (int o = 0; o < FB; o++)
            dst[o] += acc[e][o];
    }
}

/* gK += x (*) gy for output row oy of one image. */
static void direct_row_gk(const geom *g, const window *wn, const taps *whole, int lo, int hi, const float *img, int oy,
                          const float *gyrow, float *gk)
{
    int f = g->f, blocked = interior_row(g, oy) && f % FB == 0 && hi > lo;
    if (blocked) {
        const float *x0 = img + ((size_t)(oy * g->sh - g->ph) * g->w + (size_t)(lo * g->sw - g->pw)) * g->c;
        for (int e0 = 0; e0 < wn->n; e0 += EB)
            for (int o0 = 0; o0 < f; o0 += FB)
                direct_block_gk(wn, e0, wn->n - e0 < EB ? wn->n - e0 : EB, x0, (size_t)g->sw * g->c,
                                gyrow + (size_t)lo * f, f, o0, hi - lo, gk);
    }
    for (int ox = 0; ox < g->ow; ox++) {
        if (blocked && ox >= lo && ox < hi)
            continue;
        taps t;
        pixel_taps(g, whole, oy, ox, &t);
        for (int o0 = 0; o0 < f; o0 += FB) {
            const float *gr = gyrow + (size_t)ox * f + o0;
            if (f - o0 >= FB)
                direct_pixel_gk(&t, img, g->c, gr, f, o0, FB, gk);
            else
                direct_pixel_gk(&t, img, g->c, gr, f, o0, f - o0, gk);
        }
    }
}

/* gx += gy (*) K for output row oy of one image. */
static void direct_row_gx(const geom *g, const taps *whole, const float *k, int oy, const float *gyrow, float *gimg)
{
    int f = g->f;
    for (int ox = 0; ox < g->ow; ox++) {
        const float *restrict gr = gyrow + (size_t)ox * f;
        taps t;
        pixel_taps(g, whole, oy, ox, &t);
        for (int q = 0; q < t.n; q++)
            for (int ch = 0; ch < g->c; ch++) {
                const float *restrict kc = k + (size_t)(t.k[q] + ch) * f;
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int o = 0; o < f; o++)
                    dot += gr[o] * kc[o];
                gimg[t.src[q] + (size_t)ch] += dot;
            }
    }
}

/* Threads for a convolution split into `units` independent parts: no more
 * than the scratch slots planned at compile. */
int dc_conv_team(const geom *g, int slots, int units)
{
    int nt = omp_get_max_threads();
    nt = nt < slots ? nt : slots;
    nt = nt < units ? nt : units;
    double flops = 2.0 * g->b * g->oh * g->ow * g->kh * g->kw * g->c * g->f;
    return dc_worth_parallel(flops) && nt > 1 ? nt : 1;
}

static int conv_threads(const dc_node *n, const geom *g, int units)
{
    return dc_conv_team(g, n->attr.conv.slots, units);
}

/* Gradients a backward fills (NULL: not needed) and the fused ReLU. */
typedef struct conv_grads {
    float *gk, *gb, *gx;
    int relu;
} conv_grads;

/* A thread's slot: its im2col matrix, then its partial gK and bias sums. */
typedef struct conv_slot {
    float *cols, *gk, *gb;
} conv_slot;

static conv_slot slot_open(const dc_node *n, const geom *g)
{
    size_t kf = (size_t)g->kh * g->kw * g->c * g->f;
    int path = n->attr.conv.path;
    float *base = n->work + (size_t)omp_get_thread_num() * slot_floats(g, path);
    conv_slot s = {base, base + cols_floats(g, path), base + cols_floats(g, path) + kf};
    memset(s.gk, 0, (kf + (size_t)g->f) * sizeof(float));
    return s;
}

/* dst[0..count) += every slot's values at `at`, slot after slot. */
void dc_conv_add_parts(float *dst, const float *work, size_t slot, size_t at, size_t count)
{
    size_t lo, hi;
    if (!dst)
        return;
    dc_thread_range(count, 16, &lo, &hi);
    for (int t = 0; t < omp_get_num_threads(); t++) {
        const float *part = work + (size_t)t * slot + at;
#pragma omp simd
        for (size_t i = lo; i < hi; i++)
            dst[i] += part[i];
    }
}

/* After the parallel loop's barrier: the gradients += the threads' partial
 * sums, in slot order, so the result does not depend on timing. */
static void slot_close(const dc_node *n, const geom *g, const conv_grads *d)
{
    size_t kf = (size_t)g->kh * g->kw * g->c * g->f, slot = slot_floats(g, n->attr.conv.path),
           at = cols_floats(g, n->attr.conv.path);
    dc_conv_add_parts(d->gk, n->work, slot, at, kf);
    dc_conv_add_parts(d->gb, n->work, slot, at + kf, (size_t)g->f);
}

/* Rows of gy (rows x f) made ready for the GEMMs: zeroed where the fused
 * ReLU's output is not positive (the node's own gradient, read by no one
 * else), and summed into the bias gradient. */
static void prepare_gy(const float *y, float *gy, size_t rows, int f, const conv_grads *d, float *gb)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict yr = y + r * f;
        float *restrict g = gy + r * f;
        if (d->relu) {
#pragma omp simd
            for (int o = 0; o < f; o++)
                g[o] = yr[o] > 0.0f ? g[o] : 0.0f;
        }
        if (d->gb) {
#pragma omp simd
            for (int o = 0; o < f; o++)
                gb[o] += g[o];
        }
    }
}

/* Backward of the direct path, parallel over images (windows overlap only
 * within one). */
static void direct_backward(const dc_node *n, const geom *g, const float *x, const float *k, const float *y, float *gy,
                            const conv_grads *d)
{
    int f = g->f, c = g->c, lo, hi;
    size_t img = (size_t)g->h * g->w * c;
    taps whole;
    window wn;
    window_taps(g, &whole);
    window_of(g, &whole, &wn);
    interior_cols(g, &lo, &hi);
#pragma omp parallel num_threads(conv_threads(n, g, g->b))
    {
        conv_slot s = slot_open(n, g);
#pragma omp for schedule(static)
        for (int b = 0; b < g->b; b++)
            for (int oy = 0; oy < g->oh; oy++) {
                size_t at = ((size_t)b * g->oh + oy) * g->ow * f;
                prepare_gy(y + at, gy + at, (size_t)g->ow, f, d, s.gb);
                if (d->gk)
                    direct_row_gk(g, &wn, &whole, lo, hi, x + (size_t)b * img, oy, gy + at, s.gk);
                if (d->gx)
                    direct_row_gx(g, &whole, k, oy, gy + at, d->gx + (size_t)b * img);
            }
        slot_close(n, g, d);
    }
}

/* ReLU fused in the forward. */
static int has_relu(const dc_node *n) { return n->attr.conv.relu; }

static void relu_inplace(float *v, size_t count) /* serial: runs inside a thread's chunk */
{
#pragma omp simd
    for (size_t i = 0; i < count; i++) {
        float x = v[i];
        v[i] = x < 0.0f ? 0.0f : x; /* keeps NaN */
    }
}

/* Output pixels [p0, p1) of the GEMM path (counted over the batch), through
 * the calling thread's im2col slot. */
static void gemm_band(const dc_node *n, const geom *g, const float *x, const float *k, const float *bias, size_t p0,
                      size_t p1, float *y)
{
    int kk = g->kh * g->kw * g->c, f = g->f, rows = (int)(p1 - p0);
    float *cols = n->work + (size_t)omp_get_thread_num() * slot_floats(g, PATH_GEMM); /* its slot's matrix */
    float *yc = y + p0 * f;
    im2col_pixels(g, x, p0, p1, cols);
    if (bias)
        dc_broadcast_rows(bias, (size_t)rows, f, yc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, f, kk, 1.0f, cols, kk, k, f, bias ? 1.0f : 0.0f, yc,
                f);
    if (has_relu(n))
        relu_inplace(yc, (size_t)rows * f);
}

/* A chunk of images per unit; with fewer chunks than threads (batch 1), a
 * band of output pixels per thread instead (at most a chunk's pixels, so it
 * fits the slot; pixels rather than rows, so that an image of one or two
 * output rows is shared out too), each value the same sum either way. */
static void gemm_forward(const dc_node *n, const geom *g, const float *x, const float *k, const float *bias,
                         float *y)
{
    int ci = dc_conv_chunk_images(g), chunks = (g->b + ci - 1) / ci;
    size_t per = (size_t)g->oh * g->ow, pixels = (size_t)g->b * per;
    int nt = conv_threads(n, g, pixels < 1024 ? (int)pixels : 1024), bands = chunks < nt, units = bands ? nt : chunks;
#pragma omp parallel for num_threads(bands ? nt : conv_threads(n, g, chunks)) schedule(static)
    for (int u = 0; u < units; u++) {
        size_t p0 = bands ? pixels * (size_t)u / (size_t)nt : (size_t)u * ci * per;
        size_t p1 = bands ? pixels * (size_t)(u + 1) / (size_t)nt
                          : (size_t)((u + 1) * ci < g->b ? (u + 1) * ci : g->b) * per;
        gemm_band(n, g, x, k, bias, p0, p1, y);
    }
}

/* The narrow path's forward (conv_narrow.c): the kernel packed once after
 * the slots, then a band of the output rows (over the batch) per thread. */
static void narrow_forward(const dc_node *n, const geom *g, const float *x, const float *k, const float *bias,
                           float *y)
{
    float *kp = n->work + (size_t)n->attr.conv.slots * slot_floats(g, PATH_NARROW);
    int out_rows = g->b * g->oh, nt = conv_threads(n, g, out_rows), relu = has_relu(n);
    dc_conv_narrow_pack(g, k, kp);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int u = 0; u < nt; u++)
        dc_conv_narrow_rows(g, x, kp, bias, relu, (int)((long long)out_rows * u / nt),
                            (int)((long long)out_rows * (u + 1) / nt), y);
}

/* Backward of the GEMM path (and of the narrow path), a chunk at a time: gK += cols^T gy, then the
 * same buffer takes gcols = gy K^T, which col2im adds into gx. */
static void gemm_backward(const dc_node *n, const geom *g, const float *x, const float *k, const float *y, float *gy,
                          const conv_grads *d)
{
    int ci = dc_conv_chunk_images(g), per = g->oh * g->ow, kk = g->kh * g->kw * g->c, f = g->f;
    int chunks = (g->b + ci - 1) / ci;
#pragma omp parallel num_threads(conv_threads(n, g, chunks))
    {
        conv_slot s = slot_open(n, g);
#pragma omp for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            int b0 = ch * ci, nb = g->b - b0 < ci ? g->b - b0 : ci, rows = nb * per;
            size_t at = (size_t)b0 * per * f;
            prepare_gy(y + at, gy + at, (size_t)rows, f, d, s.gb);
            if (d->gk) {
                dc_conv_im2col(g, x, b0, nb, s.cols);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, f, rows, 1.0f, s.cols, kk, gy + at, f, 1.0f,
                            s.gk, f);
            }
            if (d->gx) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kk, f, 1.0f, gy + at, f, k, f, 0.0f, s.cols,
                            kk);
                dc_conv_col2im(g, s.cols, b0, nb, d->gx);
            }
        }
        slot_close(n, g, d);
    }
}

/* Output rows [lo, hi) of one image seen as a convolution of their own: the
 * input rows they read (from *first; the pad above only for the top band,
 * the pad below only where the band reaches past the image), so that the
 * blocked kernel computes the same sums for them.  0: the band reads no
 * image row (then the whole image is done at once). */
static int band_geom(const geom *g, int lo, int hi, geom *t, int *first)
{
    int top = lo * g->sh - g->ph, bottom = (hi - 1) * g->sh - g->ph + g->dh * (g->kh - 1);
    int a = top > 0 ? top : 0, z = bottom < g->h - 1 ? bottom : g->h - 1;
    if (z < a)
        return 0;
    *t = *g;
    t->b = 1;
    t->oh = hi - lo;
    t->ph = a - top;
    t->h = z - a + 1;
    *first = a;
    return 1;
}

/* The blocked path, an image at a time, each thread in its own slot; with
 * fewer images than threads (batch 1), each image's blocks of output pixels
 * (dc_conv_blocked_row_blocks per row) shared out evenly instead, each
 * thread on the band of rows that holds its blocks (its padded copy, in its
 * slot, no larger than the image's), every sum the same as the whole
 * image's. */
static void blocked_forward(const dc_node *n, const geom *g, const float *x, const float *k, const float *bias,
                            float *y)
{
    size_t img = (size_t)g->h * g->w * g->c, out = (size_t)g->oh * g->ow * g->f, orow = (size_t)g->ow * g->f;
    int mode = has_relu(n) ? DC_CONV_RELU : DC_CONV_SET, rb = dc_conv_blocked_row_blocks(g), all = g->oh * rb;
    int nt = conv_threads(n, g, g->b * all), per = g->b < nt ? (nt + g->b - 1) / g->b : 1; /* parts per image */
#pragma omp parallel num_threads(per > 1 ? nt : conv_threads(n, g, g->b))
    {
        float *scratch = n->work + (size_t)omp_get_thread_num() * slot_floats(g, PATH_BLOCKED);
#pragma omp for schedule(static)
        for (int u = 0; u < g->b * per; u++) {
            int b = u / per, part = u % per, first;
            int u0 = (int)((long long)all * part / per), u1 = (int)((long long)all * (part + 1) / per);
            int lo = u0 / rb, hi = u1 > u0 ? (u1 - 1) / rb + 1 : lo;
            geom t;
            if (per == 1)
                dc_conv_blocked_forward(g, x + b * img, k, bias, mode, scratch, y + b * out);
            else if (u1 > u0 && band_geom(g, lo, hi, &t, &first))
                dc_conv_blocked_forward_blocks(&t, x + b * img + (size_t)first * g->w * g->c, k, bias, mode, scratch,
                                               y + b * out + (size_t)lo * orow, u0 - lo * rb, u1 - lo * rb);
            else if (u1 > u0) /* rows that read only padding: the whole image's geometry, its blocks */
                dc_conv_blocked_forward_blocks(g, x + b * img, k, bias, mode, scratch, y + b * out, u0, u1);
        }
    }
}

static void blocked_backward(const dc_node *n, const geom *g, const float *x, const float *k, const float *y,
                             float *gy, const conv_grads *d)
{
    size_t img = (size_t)g->h * g->w * g->c, out = (size_t)g->oh * g->ow * g->f;
    float *kt = n->work + (size_t)n->attr.conv.slots * slot_floats(g, PATH_BLOCKED); /* after the slots */
    if (d->gx)
        dc_conv_blocked_gx_kernel(g, k, kt);
#pragma omp parallel num_threads(conv_threads(n, g, g->b))
    {
        conv_slot s = slot_open(n, g);
#pragma omp for schedule(static)
        for (int b = 0; b < g->b; b++) {
            prepare_gy(y + b * out, gy + b * out, (size_t)g->oh * g->ow, g->f, d, s.gb);
            if (d->gk)
                dc_conv_blocked_gk(g, x + b * img, gy + b * out, s.cols, s.gk);
            if (d->gx)
                dc_conv_blocked_gx(g, kt, gy + b * out, s.cols, d->gx + b * img);
        }
        slot_close(n, g, d);
    }
}

static dc_status conv_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    const float *bias = n->in[2] ? n->in[2]->val : NULL;
    conv_geom(n, &g);
    if (n->attr.conv.path == PATH_SMALL)
        direct_forward(&g, n->in[0]->val, n->in[1]->val, bias, has_relu(n), n->val);
    else if (n->attr.conv.path == PATH_BLOCKED)
        blocked_forward(n, &g, n->in[0]->val, n->in[1]->val, bias, n->val);
    else if (n->attr.conv.path == PATH_NARROW)
        narrow_forward(n, &g, n->in[0]->val, n->in[1]->val, bias, n->val);
    else
        gemm_forward(n, &g, n->in[0]->val, n->in[1]->val, bias, n->val);
    return DC_OK;
}

static void conv_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    dc_node *x = n->in[0], *k = n->in[1], *b = n->in[2];
    conv_geom(n, &g);
    conv_grads d = {k->requires_grad ? k->grad : NULL, b && b->requires_grad ? b->grad : NULL,
                    x->requires_grad ? x->grad : NULL, has_relu(n)};
    if (n->attr.conv.path == PATH_SMALL)
        direct_backward(n, &g, x->val, k->val, n->val, n->grad, &d);
    else if (n->attr.conv.path == PATH_BLOCKED)
        blocked_backward(n, &g, x->val, k->val, n->val, n->grad, &d);
    else
        gemm_backward(n, &g, x->val, k->val, n->val, n->grad, &d);
}

const dc_op dc_op_conv2d = {.name = "conv2d", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = conv_infer,
                            .forward = conv_forward, .backward = conv_backward};

static dc_node *conv_make(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w,
                          int same, int dilation_h, int dilation_w, int relu)
{
    dc_node *in[3] = {x, kernel, bias};
    dc_attr a = {.conv = {.stride_h = stride_h, .stride_w = stride_w, .same = same, .dilation_h = dilation_h,
                          .dilation_w = dilation_w, .relu = relu}};
    return dc_node_make(g, &dc_op_conv2d, 3, in, &a);
}

dc_node *dc_conv2d(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w, int same,
                   int dilation_h, int dilation_w)
{
    return conv_make(g, x, kernel, bias, stride_h, stride_w, same, dilation_h, dilation_w, 0);
}

dc_node *dc_conv2d_relu(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w, int same,
                        int dilation_h, int dilation_w)
{
    return conv_make(g, x, kernel, bias, stride_h, stride_w, same, dilation_h, dilation_w, 1);
}

/* ---- shared with the grouped and depthwise convolutions (conv_internal.h) ---- */

int dc_conv_node_geom(const dc_node *n, int f, dc_conv_geom *g, const char *op)
{
    const dc_node *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    *g = (geom){.kh = k->shape[0], .kw = k->shape[1], .f = f, .sh = a->stride_h, .sw = a->stride_w,
                .dh = a->dilation_h, .dw = a->dilation_w};
    return image_geom(n->in[0], a->same, g, op);
}

dc_status dc_conv_check_image(const dc_node *n, const char *op)
{
    return check_image(n, op, n->attr.conv.stride_h, n->attr.conv.stride_w);
}

dc_status dc_conv_set_output(dc_node *n, const dc_conv_geom *g, const char *op)
{
    return set_output(n, g, n->attr.conv.same, g->f, op, "kernel");
}

/* ---- max / average pooling ---- */

static dc_status pool_infer(dc_node *n)
{
    const dc_pool_attr *a = &n->attr.pool;
    const char *op = a->is_max ? "max_pooling2d" : "average_pooling2d";
    dc_status st = check_image(n, op, a->stride_h, a->stride_w);
    if (st != DC_OK)
        return st;
    if (a->pool_h < 1 || a->pool_w < 1)
        return dc_fail(DC_ERR_ARG, "%s: pool size %dx%d, expected >= 1", op, a->pool_h, a->pool_w);
    int positions; /* a window position i * pool_w + j is an int32 (the winner of max pooling) */
    if (dc_ckd_mul(&positions, a->pool_h, a->pool_w))
        return dc_fail(DC_ERR_SHAPE, "%s: pool %d x %d overflows the window positions", op, a->pool_h, a->pool_w);
    geom g;
    if (pool_geom(n, &g))
        return dc_last_status();
    if ((st = set_output(n, &g, a->same, g.c, op, "pool")) != DC_OK || (st = dc_node_check_size(n)) != DC_OK)
        return st;
    /* the winners of max pooling (int32 window positions) */
    n->work_per_sample = a->is_max ? dc_size_mul(dc_node_sample_size(n), images_per_sample(n->in[0])) : 0;
    return DC_OK;
}

/*
 * Max pooling records, for every output value, the window position (i * kw +
 * j) of its winner as an int32 in the scratch; backward sends the gradient
 * there.  The loops run along channels, so they vectorise.
 */
static int pool_tap(int o, int i, int stride, int pad, int size)
{
    int v = o * stride - pad + i;
    return v >= 0 && v < size ? v : -1;
}

static void pool_pixel(const geom *g, int is_max, const float *img, int oy, int ox, float *restrict out,
                       int32_t *restrict arg)
{
    int count = 0, c = g->c;
    for (int i = 0; i < g->kh; i++) {
        int iy = pool_tap(oy, i, g->sh, g->ph, g->h);
        for (int j = 0; iy >= 0 && j < g->kw; j++) {
            int ix = pool_tap(ox, j, g->sw, g->pw, g->w), pos = i * g->kw + j;
            if (ix < 0)
                continue; /* padding never wins a max nor counts in a mean */
            const float *restrict src = img + ((size_t)iy * g->w + ix) * c;
            if (count++ == 0) {
                for (int ch = 0; ch < c; ch++)
                    out[ch] = src[ch];
                if (is_max)
                    for (int ch = 0; ch < c; ch++)
                        arg[ch] = pos;
            } else if (is_max) {
#pragma omp simd
                for (int ch = 0; ch < c; ch++) { /* strictly greater: the first maximum wins */
                    float v = src[ch], best = out[ch];
                    int32_t a = arg[ch];
                    int win = v > best;
                    out[ch] = win ? v : best;
                    arg[ch] = win ? pos : a;
                }
            } else {
                for (int ch = 0; ch < c; ch++)
                    out[ch] += src[ch];
            }
        }
    }
    if (!is_max)
        for (int ch = 0; ch < c; ch++)
            out[ch] /= (float)count;
}

static dc_status pool_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    pool_geom(n, &g);
    int is_max = n->attr.pool.is_max, rows = g.b * g.oh;
    size_t img = (size_t)g.h * g.w * g.c;
    int32_t *arg = (int32_t *)n->work;
#pragma omp parallel for if (dc_worth_parallel((double)rows * g.ow * g.c * g.kh * g.kw))
    for (int r = 0; r < rows; r++) {
        int b = r / g.oh, oy = r % g.oh;
        for (int ox = 0; ox < g.ow; ox++) {
            size_t o = ((size_t)r * g.ow + ox) * g.c;
            pool_pixel(&g, is_max, n->in[0]->val + (size_t)b * img, oy, ox, n->val + o, is_max ? arg + o : NULL);
        }
    }
    return DC_OK;
}

/* Whether the windows tile the input (strides = pool size): then backward
 * can write the input's gradient, zeroing only what no window covers. */
static int pool_writes_input_grad(const dc_node *n, int input)
{
    const dc_pool_attr *a = &n->attr.pool;
    return input == 0 && a->stride_h == a->pool_h && a->stride_w == a->pool_w;
}

/* With the input's grad_set (the windows tile it, nothing else reads it):
 * zero what no window covers, the rows and columns past the last window of
 * a "valid" pooling; the windows then write the rest. */
static void pool_zero_uncovered(const geom *g, float *gx)
{
    int ys = g->oh * g->sh - g->ph, xs = g->ow * g->sw - g->pw; /* first row / column past the windows */
    size_t row = (size_t)g->w * g->c;
    for (int y = 0; y < g->h; y++) {
        if (y >= ys)
            memset(gx + y * row, 0, row * sizeof(float));
        else if (xs < g->w)
            memset(gx + y * row + (size_t)xs * g->c, 0, (size_t)(g->w - xs) * g->c * sizeof(float));
    }
}

/* gx += the window's share of gy: all of it to the max's winner, an equal
 * part to each real pixel of a mean (gx = when the input's grad_set says
 * this is its only writer and the windows tile it).  Parallel over images: a
 * window never reaches into another image. */
static void pool_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    pool_geom(n, &g);
    int is_max = n->attr.pool.is_max, c = g.c, set = n->in[0]->grad_set;
    size_t img = (size_t)g.h * g.w * c, out = (size_t)g.oh * g.ow * c;
#pragma omp parallel for if (g.b > 1 && dc_worth_parallel((double)g.b * out * g.kh * g.kw))
    for (int b = 0; b < g.b; b++) {
        float *gx = n->in[0]->grad + (size_t)b * img;
        if (set)
            pool_zero_uncovered(&g, gx);
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++) {
                size_t o = (size_t)b * out + ((size_t)oy * g.ow + ox) * c;
                const float *restrict gy = n->grad + o;
                const int32_t *restrict arg = is_max ? (const int32_t *)n->work + o : NULL; /* average: no argmax */
                int y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
                int ya = y0 < 0 ? 0 : y0, yb = y0 + g.kh > g.h ? g.h : y0 + g.kh;
                int xa = x0 < 0 ? 0 : x0, xb = x0 + g.kw > g.w ? g.w : x0 + g.kw;
                float share = is_max ? 1.0f : 1.0f / (float)((yb - ya) * (xb - xa));
                for (int iy = ya; iy < yb; iy++)
                    for (int ix = xa; ix < xb; ix++) {
                        float *restrict dst = gx + ((size_t)iy * g.w + ix) * c;
                        int32_t pos = (iy - y0) * g.kw + (ix - x0);
                        if (set && is_max)
                            for (int ch = 0; ch < c; ch++)
                                dst[ch] = arg[ch] == pos ? gy[ch] : 0.0f;
                        else if (set)
                            for (int ch = 0; ch < c; ch++)
                                dst[ch] = gy[ch] * share;
                        else if (is_max)
                            for (int ch = 0; ch < c; ch++)
                                dst[ch] += arg[ch] == pos ? gy[ch] : 0.0f;
                        else
                            for (int ch = 0; ch < c; ch++)
                                dst[ch] += gy[ch] * share;
                    }
            }
    }
}

const dc_op dc_op_pool2d = {.name = "pool2d", .n_inputs = 1, .infer = pool_infer, .forward = pool_forward,
                            .backward = pool_backward, .writes_input_grad = pool_writes_input_grad};

dc_node *dc_pool2d(dc_graph *g, dc_node *x, int is_max, int pool_h, int pool_w, int stride_h, int stride_w, int same)
{
    dc_attr a = {.pool = {.stride_h = stride_h, .stride_w = stride_w, .same = same, .pool_h = pool_h,
                          .pool_w = pool_w, .is_max = is_max}};
    return dc_node_make(g, &dc_op_pool2d, 1, &x, &a);
}

/* ---- global average / max pooling: (B, H, W, C) -> (B, C) ---- */

static dc_status gpool_infer(dc_node *n)
{
    const dc_node *x = n->in[0];
    char sx[96];
    if (x->ndim < 3)
        return dc_fail(DC_ERR_SHAPE, "global pooling: input %s has no spatial axis; expected (batch, ..., channels)",
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    n->batched = x->batched;
    n->ndim = 2;
    n->shape[0] = x->shape[0];
    n->shape[1] = x->shape[x->ndim - 1];
    n->work_per_sample = n->attr.global_pool.is_max ? dc_size_mul((size_t)n->shape[1], images_per_sample(x)) : 0;
    return DC_OK;
}

/* Positions run outer and channels inner (contiguous, vectorised), an image
 * per thread; each channel's sum still adds its positions in order, and the
 * first maximum wins (its position kept as a float in the scratch). */
static dc_status gpool_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    int b = x->shape[0], c = n->shape[1], is_max = n->attr.global_pool.is_max;
    size_t per = dc_node_numel(x) / ((size_t)b * (size_t)c); /* positions per image */
#pragma omp parallel for schedule(static) if (b > 1 && dc_worth_parallel((double)b * per * c))
    for (int i = 0; i < b; i++) {
        const float *img = x->val + (size_t)i * per * c;
        float *restrict out = n->val + (size_t)i * c, *restrict arg = is_max ? n->work + (size_t)i * c : NULL;
        memcpy(out, img, (size_t)c * sizeof(float));
        if (is_max)
            memset(arg, 0, (size_t)c * sizeof(float));
        for (size_t p = 1; p < per; p++) {
            const float *restrict v = img + p * c;
            if (is_max) {
#pragma omp simd
                for (int ch = 0; ch < c; ch++) {
                    int win = v[ch] > out[ch];
                    arg[ch] = win ? (float)p : arg[ch];
                    out[ch] = win ? v[ch] : out[ch];
                }
            } else {
#pragma omp simd
                for (int ch = 0; ch < c; ch++)
                    out[ch] += v[ch];
            }
        }
        if (!is_max)
            for (int ch = 0; ch < c; ch++)
                out[ch] /= (float)per;
    }
    return DC_OK;
}

static void gpool_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    dc_node *x = n->in[0];
    int b = x->shape[0], c = n->shape[1], is_max = n->attr.global_pool.is_max;
    size_t per = dc_node_numel(x) / ((size_t)b * (size_t)c); /* positions per image */
#pragma omp parallel for schedule(static) if (b > 1 && dc_worth_parallel((double)b * per * c))
    for (int i = 0; i < b; i++) {
        const float *g = n->grad + (size_t)i * c;
        float *dst = x->grad + (size_t)i * per * c;
        if (is_max) {
            for (int ch = 0; ch < c; ch++)
                dst[(size_t)n->work[(size_t)i * c + ch] * c + ch] += g[ch];
            continue;
        }
        for (size_t p = 0; p < per; p++) {
            float *restrict d = dst + p * c;
#pragma omp simd
            for (int ch = 0; ch < c; ch++)
                d[ch] += g[ch] / (float)per;
        }
    }
}

const dc_op dc_op_global_pool = {.name = "global_pool", .n_inputs = 1, .infer = gpool_infer,
                                 .forward = gpool_forward, .backward = gpool_backward};

dc_node *dc_global_pool(dc_graph *g, dc_node *x, int is_max)
{
    return dc_node_make(g, &dc_op_global_pool, 1, &x, &(dc_attr){.global_pool = {is_max}});
}
