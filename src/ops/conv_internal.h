/*
 * conv_internal.h - the pieces of ops_conv.c's im2col + GEMM convolution that
 * the transposed convolution (ops_conv_transpose.c) reuses: its forward is
 * the convolution's input-gradient path (GEMM, then col2im) and its backward
 * the convolution's forward (im2col, then GEMM) and kernel-gradient GEMM.
 */
#ifndef DC_CONV_INTERNAL_H
#define DC_CONV_INTERNAL_H

#include "graph/graph.h"

/* The geometry of one convolution, seen from the convolution's side: the
 * image (b, h, w, c) it reads, the kernel (kh, kw, c, f), strides and
 * dilations, and the (oh, ow) window positions with the leading pads. */
typedef struct dc_conv_geom {
    int b, h, w, c;       /* input */
    int kh, kw, f;        /* window, filters (conv) */
    int sh, sw, dh, dw;   /* strides, dilations */
    int oh, ow, ph, pw;   /* output, leading pads */
} dc_conv_geom;

/* Images per chunk: a chunk's im2col matrix has about 256 rows (or one image). */
int dc_conv_chunk_images(const dc_conv_geom *g);
/* cols (n*oh*ow, kh*kw*c) for images b0 .. b0+n of x; zero in the padding. */
void dc_conv_im2col(const dc_conv_geom *g, const float *x, int b0, int n, float *cols);
/* gx += col2im(gcols) for images b0 .. b0+n (window taps outside the image are dropped). */
void dc_conv_col2im(const dc_conv_geom *g, const float *gcols, int b0, int n, float *gx);
/* Threads for work split into `units` independent parts, at most `slots`
 * (the scratch slots planned at compile); 1 when the work is too small. */
int dc_conv_team(const dc_conv_geom *g, int slots, int units);
/* Inside a parallel region: dst[0..count) += every thread's slot values at
 * `at` (slots `slot` floats apart), slot after slot; dst NULL: nothing. */
void dc_conv_add_parts(float *dst, const float *work, size_t slot, size_t at, size_t count);

#endif
