/*
 * import_resize.c - ONNX's Resize (opsets 10, 11, 13) as deepc's
 * UpSampling2D / UpSampling1D.
 *
 * Resize(X, scales) at opset 10, Resize(X, roi, scales, sizes) from opset 11
 * (scales or sizes given, the other empty or absent).  The output size of
 * each axis is floor(in * scale), or sizes.  deepc's UpSampling layers
 * enlarge the spatial axes by whole factors, so the translator takes a
 * Resize that is one of those:
 * - the batch and channel axes keep their size, each spatial axis grows by a
 *   whole factor f (1 included);
 * - mode "nearest": for every output index, the source index ONNX defines
 *   (coordinate_transformation_mode, then nearest_mode, clamped) must be
 *   index / f, i.e. each input pixel repeated f times.  That is checked index
 *   by index, so every mode that comes out as a repeat is taken (asymmetric +
 *   floor, as paddle2onnx writes for PaddleOCR's detector; half_pixel +
 *   round_prefer_floor, PyTorch's nearest ...) and the others are refused
 *   with the first index that differs;
 * - mode "linear" (2-D only): half_pixel, or pytorch_half_pixel, which is
 *   the interpolation of deepc's bilinear UpSampling2D (source (o + 0.5) / f
 *   - 0.5, clamped); align_corners and asymmetric are refused.
 * A Resize to another size (a fraction, a shrink) is refused saying so.
 * Rank 4 (N, C, H, W) becomes UpSampling2D, rank 3 (N, C, W) UpSampling1D,
 * on the channels-last layout.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

/* The source coordinate ONNX gives output index x of an axis resized from
 * len_in to len_out with `scale`. */
static double source_coord(const char *ctm, double x, double scale, int64_t len_in, int64_t len_out)
{
    if (!strcmp(ctm, "half_pixel"))
        return (x + 0.5) / scale - 0.5;
    if (!strcmp(ctm, "pytorch_half_pixel"))
        return len_out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (!strcmp(ctm, "align_corners"))
        return len_out == 1 ? 0.0 : x * (double)(len_in - 1) / (double)(len_out - 1);
    if (!strcmp(ctm, "tf_half_pixel_for_nn"))
        return (x + 0.5) / scale;
    return x / scale; /* asymmetric */
}

static int64_t nearest_index(const char *mode, double c, int64_t len_in)
{
    double r;
    if (!strcmp(mode, "floor"))
        r = floor(c);
    else if (!strcmp(mode, "ceil"))
        r = ceil(c);
    else if (!strcmp(mode, "round_prefer_ceil"))
        r = floor(c) + 0.5 == c ? ceil(c) : round(c);
    else /* round_prefer_floor */
        r = floor(c) + 0.5 == c ? floor(c) : round(c);
    return r < 0 ? 0 : r > (double)(len_in - 1) ? len_in - 1 : (int64_t)r;
}

static int known(const char *s, const char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

/* The output size of axis i, from scales or sizes; *scale the scale ONNX
 * maps coordinates with. */
static dc_status axis_size(const dc_onnx_value *scales, const dc_onnx_value *sizes, int i,
                           int64_t len_in, int64_t *len_out, double *scale)
{
    if (scales) {
        double s = dc_onnx_at(scales, (size_t)i), o = floor((double)len_in * s);
        if (!(s > 0) || !(o >= 1) || o > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_FORMAT, "Resize: scale %g on axis %d (size %lld) gives no valid size", s, i,
                           (long long)len_in);
        *scale = s;
        *len_out = (int64_t)o;
        return DC_OK;
    }
    double o = dc_onnx_at(sizes, (size_t)i);
    if (dc_onnx_special(o) || !(o >= 1) || o > DC_DIM_LIMIT || o != floor(o))
        return dc_fail(DC_ERR_FORMAT, "Resize: size %g on axis %d is not a size known at import", o, i);
    *len_out = (int64_t)o;
    *scale = o / (double)len_in;
    return DC_OK;
}

dc_status dc_onnx_tr_resize(dc_onnx_importer *im, const Onnx__NodeProto *n)
{
    dc_onnx_value *x;
    dc_status st = dc_onnx_need(im, n, 0, DC_ONNX_DYN, &x);
    if (st != DC_OK)
        return st;
    if (x->ndim != 3 && x->ndim != 4)
        return dc_fail(DC_ERR_UNSUPPORTED, "Resize: input '%s' has rank %d; deepc resizes (N, C, W) and (N, C, H, W)",
                       x->name, x->ndim);
    if (x->pos[0] != 0)
        return dc_fail(DC_ERR_FORMAT, "Resize: input '%s' does not have the batch on axis 0", x->name);
    for (int i = 1; i < x->ndim; i++)
        if (x->pos[i] < 0)
            return dc_fail(DC_ERR_UNSUPPORTED, "Resize: input '%s' has size-1 axes deepc does not store (after a "
                                               "global pooling); not supported", x->name);
    /* opset 10: (X, scales); 11 and later: (X, roi, scales, sizes) */
    dc_onnx_value *scales = dc_onnx_in(im, n, im->opset < 11 ? 1 : 2), *sizes = im->opset < 11 ? NULL
                                                                                               : dc_onnx_in(im, n, 3);
    if (scales && dc_onnx_numel(scales) == 0)
        scales = NULL;
    if (sizes && dc_onnx_numel(sizes) == 0)
        sizes = NULL;
    if (!scales == !sizes)
        return dc_fail(DC_ERR_FORMAT, "Resize: give exactly one of scales and sizes (%s)",
                       scales ? "both are given" : "neither is");
    const dc_onnx_value *by = scales ? scales : sizes;
    if (by->kind != DC_ONNX_CONST || dc_onnx_numel(by) != (size_t)x->ndim)
        return dc_fail(DC_ERR_FORMAT, "Resize: %s '%s' must be a constant of %d values (one per axis of the input)",
                       scales ? "scales" : "sizes", by->name, x->ndim);

    char mbuf[32], cbuf[32], nbuf[32];
    const char *mode = dc_onnx_attr_str(n, "mode", "nearest", mbuf, sizeof mbuf);
    const char *ctm = dc_onnx_attr_str(n, "coordinate_transformation_mode", im->opset < 11 ? "asymmetric"
                                                                                          : "half_pixel",
                                       cbuf, sizeof cbuf);
    const char *nmode = dc_onnx_attr_str(n, "nearest_mode", im->opset < 11 ? "floor" : "round_prefer_floor", nbuf,
                                         sizeof nbuf);
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn"};
    static const char *const nmodes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int linear = !strcmp(mode, "linear");
    if (!linear && strcmp(mode, "nearest") != 0)
        return dc_fail(DC_ERR_UNSUPPORTED, "Resize: mode \"%s\" is not supported; deepc takes nearest and linear",
                       mode);
    if (!known(ctm, ctms, 5))
        return dc_fail(DC_ERR_UNSUPPORTED, "Resize: coordinate_transformation_mode \"%s\" is not supported", ctm);
    if (!known(nmode, nmodes, 4))
        return dc_fail(DC_ERR_FORMAT, "Resize: nearest_mode \"%s\" is not one ONNX defines", nmode);
    if (linear && (x->ndim != 4 || (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "pytorch_half_pixel") != 0)))
        return dc_fail(DC_ERR_UNSUPPORTED, "Resize: linear is supported on (N, C, H, W) with half_pixel or "
                                           "pytorch_half_pixel coordinates (got rank %d, %s)", x->ndim, ctm);

    int64_t dims[4];
    int factor[2] = {1, 1};
    for (int i = 0; i < x->ndim; i++) {
        int64_t out = 0;
        double scale = 1.0;
        if (i == 0) { /* the batch (its size unknown here): scale 1; a size is taken as the batch's */
            if (scales && dc_onnx_at(scales, 0) != 1.0)
                return dc_fail(DC_ERR_UNSUPPORTED, "Resize: the batch axis has scale %g, expected 1",
                               dc_onnx_at(scales, 0));
            dims[0] = -1;
            continue;
        }
        if ((st = axis_size(scales, sizes, i, x->dims[i], &out, &scale)) != DC_OK)
            return st;
        dims[i] = out;
        if (i == 1) {
            if (out != x->dims[1])
                return dc_fail(DC_ERR_UNSUPPORTED, "Resize: the channel axis changes size (%lld -> %lld)",
                               (long long)x->dims[1], (long long)out);
            continue;
        }
        int64_t in = x->dims[i];
        if (in < 1)
            return dc_fail(DC_ERR_UNSUPPORTED, "Resize: axis %d of '%s' has no size known at import (give it in "
                                               "dc_onnx_import_config.input_shape)", i, x->name);
        if (out % in != 0)
            return dc_fail(DC_ERR_UNSUPPORTED, "Resize: axis %d goes from %lld to %lld, not a whole factor; deepc's "
                                               "UpSampling enlarges by whole factors only", i, (long long)in,
                           (long long)out);
        int64_t f = out / in;
        if (f > 1 << 16)
            return dc_fail(DC_ERR_UNSUPPORTED, "Resize: factor %lld on axis %d is too large", (long long)f, i);
        factor[i - 2] = (int)f;
        for (int64_t o = 0; !linear && o < out; o++) {
            int64_t src = nearest_index(nmode, source_coord(ctm, (double)o, scale, in, out), in);
            if (src != o / f)
                return dc_fail(DC_ERR_UNSUPPORTED, "Resize: nearest with %s / %s on axis %d (%lld -> %lld) takes "
                                                   "source %lld for output %lld, not a repeat of each pixel; "
                                                   "not supported", ctm, nmode, i, (long long)in, (long long)out,
                               (long long)src, (long long)o);
        }
    }

    int want[4], pos[4];
    for (int i = 0; i < x->ndim; i++) /* channels last: (N, C, S...) stored (N, S..., C) */
        want[i] = pos[i] = i == 0 ? 0 : i == 1 ? x->ndim - 1 : i - 1;
    dc_onnx_value w = *x;
    if ((st = dc_onnx_relayout(im, n, &w, want)) != DC_OK)
        return st;
    int ref = w.ref;
    if (factor[0] != 1 || factor[1] != 1) {
        dc_layer *l = x->ndim == 4 ? dc_layer_upsampling2d(factor[0], factor[1], linear ? "bilinear" : "nearest")
                                   : dc_layer_upsampling1d(factor[0]);
        if ((ref = dc_onnx_apply(im, n, l, 1, &w.ref)) < 0)
            return dc_last_status();
    }
    dc_onnx_value *o = dc_onnx_out(im, n, 0);
    if (!o)
        return dc_last_status();
    dc_onnx_set_dyn(o, ref, x->ndim, dims, pos);
    return DC_OK;
}
