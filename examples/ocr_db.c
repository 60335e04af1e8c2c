/*
 * ocr_db.c - DB post-processing (PaddleOCR's DBPostProcess, box_type
 * "quad", score_mode "fast") for examples/ocr.c: the detector's probability
 * map becomes text boxes in the original image.
 *
 *   binary = prob > thresh;  each 8-connected region of it (cv2.findContours'
 *   outer borders) -> its rectangle (pixel centres x0..x1, y0..y1);
 *   dropped when its shorter side < min_size; score = mean prob inside the
 *   rectangle (inclusive), dropped below box_thresh; expanded on every side
 *   by distance = area * unclip_ratio / perimeter (pyclipper's offset of a
 *   rectangle, whose bounding rectangle this is); dropped when its shorter
 *   side < min_size + 2; scaled to the image, rounded and clipped; boxes
 *   of 3 pixels or less on a side dropped (filter_tag_det_res); sorted top to
 *   bottom, then left to right within 10 pixels (sorted_boxes).
 *
 * The difference from PaddleOCR: the rectangles are axis-aligned (the
 * bounding rectangle of the region), where PaddleOCR takes the region's
 * minimum-area rotated rectangle (cv2.minAreaRect).  For horizontal text, as
 * rendered or scanned, the two are the same; a slanted line gets a looser
 * box.  Holes inside a region (cv2's RETR_LIST inner contours) give no box.
 */
#include "ocr_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ocr_db_config ocr_db_defaults(void)
{
    return (ocr_db_config){.thresh = 0.3f, .box_thresh = 0.6f, .unclip_ratio = 1.5f, .min_size = 3,
                           .max_candidates = 1000};
}

typedef struct {
    int x0, y0, x1, y1;
} rect;

/* Labels the 8-connected regions of prob > thresh in reading order of their
 * first pixel; *rects (new) their rectangles. */
static dc_status regions(const float *prob, int mh, int mw, float thresh, int max, rect **rects, int *n)
{
    size_t total = (size_t)mh * mw;
    unsigned char *seen = calloc(total ? total : 1, 1);
    size_t *stack = malloc((total ? total : 1) * sizeof *stack);
    int cap = 16;
    rect *r = malloc((size_t)cap * sizeof *r);
    *n = 0;
    if (!seen || !stack || !r) {
        free(seen);
        free(stack);
        free(r);
        return dc_fail(DC_ERR_NOMEM, "DB post-processing: out of memory for a %d x %d map", mh, mw);
    }
    for (size_t start = 0; start < total && *n < max; start++) {
        if (seen[start] || !(prob[start] > thresh))
            continue;
        rect b = {(int)(start % mw), (int)(start / mw), (int)(start % mw), (int)(start / mw)};
        size_t top = 0;
        stack[top++] = start;
        seen[start] = 1;
        while (top) {
            size_t p = stack[--top];
            int y = (int)(p / mw), x = (int)(p % mw);
            b.x0 = x < b.x0 ? x : b.x0;
            b.x1 = x > b.x1 ? x : b.x1;
            b.y0 = y < b.y0 ? y : b.y0;
            b.y1 = y > b.y1 ? y : b.y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= mh || xx < 0 || xx >= mw)
                        continue;
                    size_t q = (size_t)yy * mw + xx;
                    if (!seen[q] && prob[q] > thresh) {
                        seen[q] = 1;
                        stack[top++] = q;
                    }
                }
        }
        if (*n == cap) {
            rect *g = realloc(r, (size_t)(cap *= 2) * sizeof *r);
            if (!g) {
                free(seen);
                free(stack);
                free(r);
                return dc_fail(DC_ERR_NOMEM, "DB post-processing: out of memory");
            }
            r = g;
        }
        r[(*n)++] = b;
    }
    free(seen);
    free(stack);
    *rects = r;
    return DC_OK;
}

static int scale_round(double v, int from, int to)
{
    double s = round(v / from * to);
    return (int)(s < 0 ? 0 : s > to ? to : s);
}

dc_status ocr_db_boxes(const float *prob, int mh, int mw, int img_h, int img_w, const ocr_db_config *cfg,
                       ocr_box **boxes, int *n)
{
    rect *r = NULL;
    int nr = 0;
    *boxes = NULL;
    *n = 0;
    if (mh < 1 || mw < 1 || img_h < 1 || img_w < 1)
        return dc_fail(DC_ERR_ARG, "DB post-processing: map %d x %d, image %d x %d", mh, mw, img_h, img_w);
    dc_status st = regions(prob, mh, mw, cfg->thresh, cfg->max_candidates, &r, &nr);
    if (st != DC_OK)
        return st;
    ocr_box *out = malloc((size_t)(nr ? nr : 1) * sizeof *out);
    if (!out) {
        free(r);
        return dc_fail(DC_ERR_NOMEM, "DB post-processing: out of memory");
    }
    int k = 0;
    for (int i = 0; i < nr; i++) {
        rect b = r[i];
        double w = b.x1 - b.x0, h = b.y1 - b.y0;
        if ((w < h ? w : h) < cfg->min_size)
            continue;
        double sum = 0;
        for (int y = b.y0; y <= b.y1; y++)
            for (int x = b.x0; x <= b.x1; x++)
                sum += prob[(size_t)y * mw + x];
        float score = (float)(sum / ((w + 1) * (h + 1)));
        if (score < cfg->box_thresh)
            continue;
        double d = w * h * cfg->unclip_ratio / (2 * (w + h));
        if ((w < h ? w : h) + 2 * d < cfg->min_size + 2)
            continue;
        ocr_box o = {scale_round(b.x0 - d, mw, img_w), scale_round(b.y0 - d, mh, img_h),
                     scale_round(b.x1 + d, mw, img_w), scale_round(b.y1 + d, mh, img_h), score};
        o.x1 = o.x1 > img_w - 1 ? img_w - 1 : o.x1; /* clip_det_res */
        o.y1 = o.y1 > img_h - 1 ? img_h - 1 : o.y1;
        if (o.x1 - o.x0 <= 3 || o.y1 - o.y0 <= 3)
            continue;
        out[k++] = o;
    }
    free(r);
    /* sorted_boxes: by (top, left), then neighbours within 10 pixels of
     * height swapped into left-to-right order */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && (out[j].y0 < out[j - 1].y0 || (out[j].y0 == out[j - 1].y0 && out[j].x0 < out[j - 1].x0));
             j--) {
            ocr_box t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    for (int i = 0; i + 1 < k; i++)
        for (int j = i; j >= 0; j--) {
            if (abs(out[j + 1].y0 - out[j].y0) < 10 && out[j + 1].x0 < out[j].x0) {
                ocr_box t = out[j];
                out[j] = out[j + 1];
                out[j + 1] = t;
            } else
                break;
        }
    *boxes = out;
    *n = k;
    return DC_OK;
}
