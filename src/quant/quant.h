/*
 * quant.h - internal pieces of post-training int8 quantization
 * (dc_model_quantize, quantize.c), its ops (quant_ops.c), its kernels
 * (quant_kernels.c) and the C export of a quantized model (export/).
 *
 * The scheme is TensorFlow Lite's int8 one: weights int8, symmetric, one
 * scale per output channel (zero point 0, values in [-127, 127]);
 * activations int8, asymmetric, one scale and zero point per tensor,
 * calibrated on a representative dataset; biases int32 with scale
 * input_scale * weight_scale; the int32 accumulator brought to the output's
 * scale by a fixed-point multiplier M0 * 2^shift (M0 a Q31 int32), rounded
 * as gemmlowp rounds (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT).
 *
 * A quantized Dense / Conv2D keeps its node in the compiled graph; its op
 * becomes qdense / qconv2d and its kernel parameter's storage holds the
 * packed layer (below) in place of the float kernel: the graph, its buffers
 * and the layer's inputs stay as they were, nothing is allocated.  The op
 * quantizes its float input with the calibrated input scale, runs the int8
 * kernel, requantizes to int8 with the output scale and hands the graph the
 * dequantized values, so the ops between quantized layers (pooling, ReLU,
 * Flatten ...) see exactly the values an all-int8 pipeline would hold.
 *
 * Consecutive int8 layers pass int8 (as int8 + 128 bytes in the node's
 * buffer): the first quantizes the float input once, each requantizes its
 * output straight to the next one's input scale (the same tensor: the
 * consumer's input scale and zero point are the producer's output ones),
 * max pooling runs on the bytes (qmaxpool), Flatten / Reshape / Dropout
 * copy them, a folded ReLU is a copy (qpass), and the last int8 layer
 * before a float one (or the output) writes dequantized floats.  The C
 * export keeps floats between layers: dequantizing and quantizing again
 * with the same scale gives back the same integer (|q| <= 255), and max
 * pooling commutes with the monotonic dequantization, so the generated
 * program still gives the same bits.
 *
 * Packed layer, in the kernel's float storage (4 * U * K bytes):
 *   dq_header (44 bytes), then int32 m0[U], shift[U], bias[U], wsum[U]
 *   (the sum of each row of w), then int8 w[U][Kp] (the kernel transposed: one row of
 *   Kp = K rounded up to 4 per output channel, zero padded).
 */
#ifndef DC_QUANT_H
#define DC_QUANT_H

#include "graph/graph.h"

#include <stdint.h>

#define DQ_MAGIC 0x38514344u /* "DCQ8" */

typedef struct dq_header {
    uint32_t magic;
    int32_t U, K, Kp;   /* outputs, inputs per output, Kp = K rounded up to 4 */
    float in_scale;
    int32_t in_zp;
    float out_scale;
    int32_t out_zp;
    int32_t relu;       /* the output is clamped at out_zp (a fused ReLU) */
    int32_t in_u8;      /* the input node holds int8 + 128 bytes (an int8 layer before it), not floats */
    int32_t out_u8;     /* the output is written as int8 + 128 bytes for the int8 layer after it */
} dq_header;

/* Views of a packed layer.  wt: the same weights tiled for VNNI (below),
 * when the kernel's storage had room for them, else NULL. */
typedef struct dq_layer {
    const dq_header *h;
    const int32_t *m0, *shift, *bias, *wsum;
    const int8_t *w;
    const int8_t *wt;
} dq_layer;

/* The tiled copy, after w when the kernel's float storage (4 * U * K
 * bytes) holds dq_packed_bytes + dq_tiled_bytes: the outputs in blocks of
 * 16 (the last zero padded), each block Kp / 4 groups of 64 bytes, group g
 * holding w[j][4g .. 4g + 3] for the block's 16 outputs j in turn.  One
 * vpdpbusd of the 4 input bytes of group g broadcast against a group adds
 * the partial sums of 16 outputs at once: no horizontal reduction.  Only
 * deepc's VNNI path reads it; the C export writes w. */
size_t dq_tiled_bytes(int U, int Kp);
void dq_tile(const int8_t *w, int U, int Kp, int8_t *wt);
/* The views of kernel node storage `p` of `bytes` bytes, wt set when the
 * tiled copy is there. */
int dq_view_sized(const void *p, size_t bytes, dq_layer *out);
/* out[j] = sum_k xu[k] * w[j][k] from the tiled copy (AVX-512 VNNI only;
 * the same integers as dq_dot_rows_portable on w). */
void dq_dot_tiled_vnni(const uint8_t *xu, const int8_t *wt, int U, int Kp, int32_t *out);
/* The same for four rows of inputs (xu: 4 x Kp) into out (4 x U). */
void dq_dot_tiled_vnni4(const uint8_t *xu, const int8_t *wt, int U, int Kp, int32_t *out);

extern const dc_op dc_op_qdense, dc_op_qconv2d, dc_op_qcopy;

/* Bytes a packed layer of U outputs and K inputs needs. */
size_t dq_packed_bytes(int U, int K);
/* The views of the packed layer at p (the kernel's storage), or nonzero
 * when p holds none. */
int dq_view(const void *p, dq_layer *out);

/* TFLite's QuantizeMultiplier: m (> 0) = m0 * 2^(shift - 31). */
void dq_quantize_multiplier(double m, int32_t *m0, int32_t *shift);
/* TFLite's MultiplyByQuantizedMultiplier. */
int32_t dq_requantize(int32_t acc, int32_t m0, int32_t shift);
/* x quantized with (scale, zp) and clamped to int8, plus 128 (as u8):
 * x * inv_scale (inv_scale = 1.0f / scale) rounded half away from zero (as
 * roundf, without libm), plus zp.  The generated C does the same. */
static inline uint8_t dq_quantize_u8(float x, float inv_scale, int32_t zp)
{
    float v = x * inv_scale;
    v = v > 256.0f ? 256.0f : v < -256.0f ? -256.0f : v;
    if (v != v) /* NaN */
        v = -256.0f;
    int32_t i = (int32_t)v; /* toward zero; then half away from zero, as roundf (v - i is exact) */
    float f = v - (float)i;
    i += (f >= 0.5f) - (f <= -0.5f);
    i += zp;
    i = i > 127 ? 127 : i < -128 ? -128 : i;
    return (uint8_t)(i + 128);
}
/* n values quantized: in AVX-512 when dq_have_vnni(), else the scalar loop
 * (the same bits: test_quantize). */
void dq_quantize_row(const float *x, size_t n, float inv_scale, int32_t zp, uint8_t *out);
void dq_quantize_row_scalar(const float *x, size_t n, float inv_scale, int32_t zp, uint8_t *out);

/* out[j] = sum_k xu[k] * w[j * Kp + k] for j < U (u8 x s8 into int32):
 * AVX-512 VNNI where the CPU has it, else portable C (the same integers). */
void dq_dot_rows(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out);
/* The two paths by name (tests compare them): portable always, VNNI when
 * dq_have_vnni(). */
void dq_dot_rows_portable(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out);
void dq_dot_rows_vnni(const uint8_t *xu, const int8_t *w, int U, int Kp, int32_t *out);
int dq_have_vnni(void);

/* One output row: acc[j] from the dot products, requantized, written as
 * dequantized floats to y (U). */
void dq_finish_row(const dq_layer *q, const int32_t *dot, float *y);
/* The same in AVX-512 (when dq_have_vnni(), which checks VL and DQ too;
 * else it is dq_finish_row): the same bits. */
void dq_finish_row_avx512(const dq_layer *q, const int32_t *dot, float *y);
/* The same requantization written as int8 + 128 bytes (out_u8 layers):
 * scalar, and AVX-512 (the same bytes). */
void dq_finish_row_u8(const dq_layer *q, const int32_t *dot, uint8_t *y);
void dq_finish_row_u8_avx512(const dq_layer *q, const int32_t *dot, uint8_t *y);

/* Max pooling on int8 + 128 bytes (between two int8 layers: the maximum of
 * the bytes is the byte of the maximum, the scale unchanged), and a byte
 * copy (a ReLU folded into the int8 layer before it: the identity there). */
extern const dc_op dc_op_qmaxpool, dc_op_qpass;

/* A small Conv2D left float in a quantized model (quantize.c's DQ_MIN_K),
 * with the generated C's arithmetic (quant_float.c). */
extern const dc_op dc_op_qfconv2d;
extern const dc_op dc_op_qfdense; /* a Dense too small to pack, in the generated C's arithmetic */

/* ---- weight-only int8 (Embedding, SimpleRNN / LSTM / GRU) ----
 * The weights int8, symmetric, one float scale per row (an Embedding's
 * table: the looked-up row is dequantized, q * scale) or per column (a
 * recurrent layer's kernel and recurrent kernel: one per gate unit, the
 * output channel); activations and the recurrent state stay float.  Packed
 * in the weight's own float storage (4 * rows * cols bytes): dq_wo_header
 * (16 bytes), float scale[rows or cols], int8 q[rows][cols]. */
#define DQ_WO_MAGIC 0x57514344u /* "DCQW" */

typedef struct dq_wo_header {
    uint32_t magic;
    int32_t rows, cols, per_row; /* per_row: one scale per row, else per column */
} dq_wo_header;

typedef struct dq_wo {
    const dq_wo_header *h;
    const float *scale;
    const int8_t *q;
} dq_wo;

size_t dq_wo_bytes(int rows, int cols, int per_row);
/* The views of the weight-only layer at p, or nonzero when p holds none. */
int dq_wo_view(const void *p, dq_wo *out);
/* Packs w (rows, cols) into dst (dq_wo_bytes): scale = max|w| / 127 of the
 * row or column (1 when all zero), q = w / scale rounded, in [-127, 127]. */
void dq_wo_pack(const float *w, int rows, int cols, int per_row, void *dst);

extern const dc_op dc_op_qembedding, dc_op_qrnn;

/* One sample through a weight-only int8 recurrent layer (quant_rnn.c; the
 * generated C's qrnn helper does the same arithmetic in the same order):
 * x (T, F), mask (T) or NULL, y (T, U) or (U), work 3 U + 3 G U floats. */
void dq_rnn_sample(const dc_rnn_attr *a, int T, int F, const float *x, const float *mask, const dq_wo *W,
                   const dq_wo *R, const float *bias, float *y, float *work);

#endif
