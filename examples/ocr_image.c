/*
 * ocr_image.c - image preparation for examples/ocr.c (ocr_util.h): resizing,
 * cropping and rotating 8-bit RGB images, and the models' inputs as
 * PaddleOCR's preprocessing builds them (DetResizeForTest + NormalizeImage
 * for the detector, resize_norm_img for the classifier and the recogniser).
 */
#include "ocr_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

dc_status ocr_image_new(int h, int w, dc_image_u8 *out)
{
    out->h = h;
    out->w = w;
    out->c = 3;
    out->px = h > 0 && w > 0 && (size_t)h * (size_t)w < ((size_t)1 << 40) ? calloc((size_t)h * w, 3) : NULL;
    if (!out->px)
        return dc_fail(DC_ERR_NOMEM, "out of memory for a %d x %d image", h, w);
    return DC_OK;
}

/* Source position and weight of destination index o (half-pixel centres,
 * clamped), as cv2.resize's INTER_LINEAR. */
static void lerp_at(int o, int in, int out, int *i0, int *i1, float *t)
{
    double s = ((double)o + 0.5) * in / out - 0.5;
    if (s < 0)
        s = 0;
    int f = (int)s;
    if (f > in - 1)
        f = in - 1;
    *i0 = f;
    *i1 = f + 1 < in ? f + 1 : in - 1;
    *t = (float)(s - f);
}

dc_status ocr_image_resize(const dc_image_u8 *src, int oh, int ow, dc_image_u8 *out)
{
    dc_status st = ocr_image_new(oh, ow, out);
    if (st != DC_OK)
        return st;
    for (int y = 0; y < oh; y++) {
        int y0, y1, x0, x1;
        float ty, tx;
        lerp_at(y, src->h, oh, &y0, &y1, &ty);
        const uint8_t *r0 = src->px + (size_t)y0 * src->w * 3, *r1 = src->px + (size_t)y1 * src->w * 3;
        for (int x = 0; x < ow; x++) {
            lerp_at(x, src->w, ow, &x0, &x1, &tx);
            for (int c = 0; c < 3; c++) {
                float top = r0[x0 * 3 + c] + (r0[x1 * 3 + c] - r0[x0 * 3 + c]) * tx;
                float bot = r1[x0 * 3 + c] + (r1[x1 * 3 + c] - r1[x0 * 3 + c]) * tx;
                float v = top + (bot - top) * ty + 0.5f;
                out->px[((size_t)y * ow + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    return DC_OK;
}

dc_status ocr_image_crop(const dc_image_u8 *src, int x, int y, int w, int h, int quarter, dc_image_u8 *out)
{
    int oh = quarter & 1 ? w : h, ow = quarter & 1 ? h : w;
    dc_status st = ocr_image_new(oh, ow, out);
    if (st != DC_OK)
        return st;
    for (int v = 0; v < oh; v++)
        for (int u = 0; u < ow; u++) {
            int sx, sy; /* the crop's pixel shown at (u, v) */
            if (quarter == 1) { /* counter-clockwise: the crop's last column on top */
                sx = w - 1 - v;
                sy = u;
            } else if (quarter == 2) {
                sx = w - 1 - u;
                sy = h - 1 - v;
            } else {
                sx = u;
                sy = v;
            }
            sx += x;
            sy += y;
            sx = sx < 0 ? 0 : sx >= src->w ? src->w - 1 : sx; /* BORDER_REPLICATE */
            sy = sy < 0 ? 0 : sy >= src->h ? src->h - 1 : sy;
            memcpy(out->px + ((size_t)v * ow + u) * 3, src->px + ((size_t)sy * src->w + sx) * 3, 3);
        }
    return DC_OK;
}

dc_status ocr_det_input(const dc_image_u8 *img, int limit, dc_tensor **out)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    double ratio = img->h > img->w ? img->h : img->w;
    ratio = ratio > limit ? limit / ratio : 1.0;
    int rh = (int)(img->h * ratio), rw = (int)(img->w * ratio);
    rh = (int)lround(rh / 32.0) * 32;
    rw = (int)lround(rw / 32.0) * 32;
    rh = rh < 32 ? 32 : rh;
    rw = rw < 32 ? 32 : rw;
    dc_image_u8 r;
    dc_status st = ocr_image_resize(img, rh, rw, &r);
    if (st != DC_OK)
        return st;
    dc_tensor *t = dc_tensor_new(4, (int[]){1, rh, rw, 3});
    if (!t) {
        free(r.px);
        return dc_last_status();
    }
    for (size_t p = 0; p < (size_t)rh * rw; p++)
        for (int c = 0; c < 3; c++) /* channel c of the BGR array is RGB's 2 - c */
            t->data[p * 3 + c] = (r.px[p * 3 + 2 - c] / 255.0f - mean[c]) / std[c];
    free(r.px);
    *out = t;
    return DC_OK;
}

int ocr_rec_width(int w, int h)
{
    double ratio = (double)w / (h > 0 ? h : 1);
    return (int)(48 * (ratio > 320.0 / 48 ? ratio : 320.0 / 48));
}

dc_status ocr_line_input(const dc_image_u8 *line, dc_tensor *t, int row)
{
    int h = t->shape[1], width = t->shape[2];
    int rw = (int)ceil(h * (double)line->w / line->h);
    rw = rw > width ? width : rw < 1 ? 1 : rw;
    float *dst = t->data + (size_t)row * h * width * 3;
    memset(dst, 0, (size_t)h * width * 3 * sizeof *dst);
    dc_image_u8 r;
    dc_status st = ocr_image_resize(line, h, rw, &r);
    if (st != DC_OK)
        return st;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < rw; x++)
            for (int c = 0; c < 3; c++)
                dst[((size_t)y * width + x) * 3 + c] = (r.px[((size_t)y * rw + x) * 3 + 2 - c] / 255.0f - 0.5f) / 0.5f;
    free(r.px);
    return DC_OK;
}
