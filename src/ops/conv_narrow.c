/*
 * conv_narrow.c - the forward of a convolution with few output channels
 * (F <= 32, e.g. PP-OCRv4's detector: 3x3 from 96 to 24 channels at
 * 152 x 200), directly on the image, for the GEMM path's forward.
 *
 * im2col + sgemm is a poor fit there: the product (pixels x kh*kw*C) by
 * (kh*kw*C x F) has only F columns, and OpenBLAS runs a 24-column product at
 * about a fifth of its 256-column speed (bench/ocr_gemm_narrow.c).  Here an
 * output row is done NP pixels at a time with the F filters as one or two
 * vectors of 16 (the kernel packed once to (kh, kw, C, 16 nv), zero past F):
 * for each tap and input channel, NP image values broadcast against the
 * nv kernel vectors, NP x nv sums in registers.  Pixels whose window
 * leaves the image on the left or right go one at a time, skipping those
 * taps; rows skip the taps above and below the image.  The sums run over
 * the taps in the same order as the GEMM's k index, in other groupings, so
 * the results agree with the GEMM path to float rounding.
 *
 * The vectors are GCC's vector extension, one AVX-512 register each: the
 * path is taken only in builds for AVX-512 (dc_conv_narrow_fits).
 */
#include "ops/conv_internal.h"

#include <string.h>

#include "ops/vec16.h"

#define NP 12 /* pixels per block: 12 x 2 sums in 24 of the 32 registers */

int dc_conv_narrow_fits(const dc_conv_geom *g)
{
#if defined(__AVX512F__)
    return g->f <= 32 && g->kh * g->kw * g->c >= 64;
#else
    (void)g;
    return 0;
#endif
}

static int lanes(const dc_conv_geom *g) { return g->f <= 16 ? 16 : 32; }

size_t dc_conv_narrow_packed(const dc_conv_geom *g) { return (size_t)g->kh * g->kw * g->c * (size_t)lanes(g); }

void dc_conv_narrow_pack(const dc_conv_geom *g, const float *k, float *kp)
{
    size_t rows = (size_t)g->kh * g->kw * g->c;
    int fl = lanes(g);
    for (size_t r = 0; r < rows; r++) {
        memcpy(kp + r * fl, k + r * g->f, (size_t)g->f * sizeof(float));
        memset(kp + r * fl + g->f, 0, (size_t)(fl - g->f) * sizeof(float));
    }
}

/* The sums, written to out (F floats a pixel) with the bias and ReLU. */
static inline __attribute__((always_inline)) void put(const dc_conv_geom *g, const v16 *acc, const float *bias,
                                                      int relu, float *out)
{
    float s[32];
    memcpy(s, acc, sizeof(v16));
    if (g->f > 16)
        memcpy(s + 16, acc + 1, sizeof(v16));
    for (int o = 0; o < g->f; o++) {
        float v = s[o] + (bias ? bias[o] : 0.0f);
        out[o] = relu && v < 0.0f ? 0.0f : v; /* keeps NaN */
    }
}

/* np pixels of one output row from column ox, every horizontal tap inside
 * the image; taps rows i0 .. i1.  Inlined with constant np and nv. */
static inline __attribute__((always_inline)) void block(const dc_conv_geom *g, const float *img, int iy0, int i0,
                                                        int i1, int ix0, const float *kp, const float *bias, int relu,
                                                        float *out, const int np, const int nv)
{
    v16 acc[NP][2];
    size_t pstep = (size_t)g->sw * g->c;
    for (int p = 0; p < np; p++)
        for (int v = 0; v < nv; v++)
            acc[p][v] = (v16){0};
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < g->kw; j++) {
            const float *xs = img + ((size_t)(iy0 + i * g->dh) * g->w + (size_t)(ix0 + j * g->dw)) * g->c;
            const float *ks = kp + (size_t)(i * g->kw + j) * g->c * (16 * nv);
            for (int ch = 0; ch < g->c; ch++, ks += 16 * nv) {
                v16 k0 = load16(ks), k1 = nv > 1 ? load16(ks + 16) : k0;
#pragma GCC unroll 12
                for (int p = 0; p < np; p++) {
                    float xv = xs[p * pstep + ch];
                    acc[p][0] += xv * k0;
                    if (nv > 1)
                        acc[p][1] += xv * k1;
                }
            }
        }
    for (int p = 0; p < np; p++)
        put(g, acc[p], bias, relu, out + (size_t)p * g->f);
}

/* One pixel at column ox whose window may leave the image on either side. */
static void edge_pixel(const dc_conv_geom *g, const float *img, int iy0, int i0, int i1, int ox, const float *kp,
                       const float *bias, int relu, float *out)
{
    int fl = lanes(g);
    v16 acc[2] = {{0}, {0}};
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < g->kw; j++) {
            int ix = ox * g->sw - g->pw + j * g->dw;
            if (ix < 0 || ix >= g->w)
                continue;
            const float *xs = img + ((size_t)(iy0 + i * g->dh) * g->w + (size_t)ix) * g->c;
            const float *ks = kp + (size_t)(i * g->kw + j) * g->c * fl;
            for (int ch = 0; ch < g->c; ch++, ks += fl) {
                acc[0] += xs[ch] * load16(ks);
                if (fl > 16)
                    acc[1] += xs[ch] * load16(ks + 16);
            }
        }
    put(g, acc, bias, relu, out);
}

/* First and one-past-last output columns whose whole window is inside. */
static void inner_columns(const dc_conv_geom *g, int *lo, int *hi)
{
    int span = g->dw * (g->kw - 1);
    *lo = (g->pw + g->sw - 1) / g->sw;
    *hi = g->w - span + g->pw < 0 ? 0 : (g->w - span + g->pw + g->sw - 1) / g->sw; /* ox*sw - pw + span < w */
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

#define BLOCKS(NV)                                                                                                 \
    for (; ox + NP <= hi; ox += NP)                                                                                \
        block(g, img, iy0, i0, i1, ox * g->sw - g->pw, kp, bias, relu, yrow + (size_t)ox * g->f, NP, NV);        \
    for (; ox + 4 <= hi; ox += 4)                                                                                  \
        block(g, img, iy0, i0, i1, ox * g->sw - g->pw, kp, bias, relu, yrow + (size_t)ox * g->f, 4, NV);         \
    for (; ox < hi; ox++)                                                                                          \
        block(g, img, iy0, i0, i1, ox * g->sw - g->pw, kp, bias, relu, yrow + (size_t)ox * g->f, 1, NV);

void dc_conv_narrow_rows(const dc_conv_geom *g, const float *x, const float *kp, const float *bias, int relu, int r0,
                         int r1, float *y)
{
    int lo, hi;
    inner_columns(g, &lo, &hi);
    for (int r = r0; r < r1; r++) {
        int b = r / g->oh, oy = r % g->oh, iy0 = oy * g->sh - g->ph, i0 = 0, i1 = g->kh;
        const float *img = x + (size_t)b * g->h * g->w * g->c;
        float *yrow = y + (size_t)r * g->ow * g->f;
        while (i0 < i1 && iy0 + i0 * g->dh < 0)
            i0++;
        while (i1 > i0 && iy0 + (i1 - 1) * g->dh >= g->h)
            i1--;
        int ox = 0;
        for (; ox < lo; ox++)
            edge_pixel(g, img, iy0, i0, i1, ox, kp, bias, relu, yrow + (size_t)ox * g->f);
        if (g->f <= 16) {
            BLOCKS(1)
        } else {
            BLOCKS(2)
        }
        for (; ox < g->ow; ox++)
            edge_pixel(g, img, iy0, i0, i1, ox, kp, bias, relu, yrow + (size_t)ox * g->f);
    }
}
