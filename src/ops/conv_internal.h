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
/* The same for window rows [r0, r1) counted over the batch (image r / oh, row r % oh). */
void dc_conv_col2im_rows(const dc_conv_geom *g, const float *gcols, int r0, int r1, float *gx);
/* Threads for work split into `units` independent parts, at most `slots`
 * (the scratch slots planned at compile); 1 when the work is too small. */
int dc_conv_team(const dc_conv_geom *g, int slots, int units);
/* Inside a parallel region: dst[0..count) += every thread's slot values at
 * `at` (slots `slot` floats apart), slot after slot; dst NULL: nothing. */
void dc_conv_add_parts(float *dst, const float *work, size_t slot, size_t at, size_t count);

/* For the grouped and depthwise convolutions (ops_conv_grouped.c,
 * ops_depthwise.c), whose nodes hold attr.conv and a kernel (kh, kw, ., .):
 * the node's geometry with f output channels (nonzero, with the message
 * naming op, when an axis overflows); the check that input 0 is an image
 * and the strides positive; the output shape (B, OH, OW, f), or the error
 * for an empty output. */
int dc_conv_node_geom(const dc_node *n, int f, dc_conv_geom *g, const char *op);
dc_status dc_conv_check_image(const dc_node *n, const char *op);
dc_status dc_conv_set_output(dc_node *n, const dc_conv_geom *g, const char *op);

/* The blocked direct convolution (conv_blocked.c), for C and F multiples of 16. */
int dc_conv_blocked_fits(const dc_conv_geom *g);
/* Floats of per-thread scratch its image passes need (a padded copy of an
 * image and of its gradient; 0 when the convolution needs no padding). */
size_t dc_conv_blocked_scratch(const dc_conv_geom *g);
/* Floats of shared scratch for the transposed kernel of the input gradient. */
size_t dc_conv_blocked_shared(const dc_conv_geom *g);
/* How the forward writes y: set it, set it then apply ReLU, or add to it. */
enum { DC_CONV_SET, DC_CONV_RELU, DC_CONV_ADD };
/* y (oh, ow, f) of one image = bias + img (*) k (bias may be NULL), written as mode says. */
void dc_conv_blocked_forward(const dc_conv_geom *g, const float *img, const float *k, const float *bias, int mode,
                             float *scratch, float *y);
/* Blocks of output pixels per output row that the forward computes, and the
 * forward of blocks [u0, u1) only (block u: row u / blocks, the (u % blocks)-th
 * block of that row; each output value the same sum as the whole forward's). */
int dc_conv_blocked_row_blocks(const dc_conv_geom *g);
void dc_conv_blocked_forward_blocks(const dc_conv_geom *g, const float *img, const float *k, const float *bias,
                                    int mode, float *scratch, float *y, int u0, int u1);
/* kt (kh, kw, f, c): k (kh, kw, c, f) as dc_conv_blocked_gx reads it, each
 * tap's matrix transposed (and, at stride 1, the taps in reverse order). */
void dc_conv_blocked_gx_kernel(const dc_conv_geom *g, const float *k, float *kt);
/* gk += img (*) gy for one image and its output gradient gy (oh, ow, f). */
void dc_conv_blocked_gk(const dc_conv_geom *g, const float *img, const float *gy, float *scratch, float *gk);
/* gimg += gy (*) k, from kt, for one image's output gradient gy (oh, ow, f). */
void dc_conv_blocked_gx(const dc_conv_geom *g, const float *kt, const float *gy, float *scratch, float *gimg);

/* The direct forward for few output channels (conv_narrow.c), F <= 32,
 * taken by the GEMM path's forward in builds for AVX-512. */
int dc_conv_narrow_fits(const dc_conv_geom *g);
/* Floats of the packed kernel (kh, kw, c, 16 or 32), and the packing. */
size_t dc_conv_narrow_packed(const dc_conv_geom *g);
void dc_conv_narrow_pack(const dc_conv_geom *g, const float *k, float *kp);
/* Output rows [r0, r1) (counted over the batch) of y = bias + x (*) k, from
 * the packed kernel kp (bias may be NULL; relu: then ReLU). */
void dc_conv_narrow_rows(const dc_conv_geom *g, const float *x, const float *kp, const float *bias, int relu, int r0,
                         int r1, float *y);

#endif
