/*
 * ocr_util.h - the pieces of examples/ocr.c (PaddleOCR's predict_system
 * with PP-OCRv4's detector, the direction classifier and the recogniser)
 * that are not the models: image preparation (ocr_image.c), DB
 * post-processing (ocr_db.c) and CTC decoding with the character list
 * (ocr_ctc.c).  tests/test_ocr.c calls them too.
 *
 * Images are 8-bit RGB, row-major (dc_image_u8 from deepc's image reader);
 * the models' inputs are built as deepc tensors (N, H, W, C), channels last,
 * in the BGR order PaddleOCR (cv2.imread) feeds them.  Every function that
 * allocates says who frees; errors come back as dc_status with a message
 * (dc_errmsg()).
 */
#ifndef OCR_UTIL_H
#define OCR_UTIL_H

#include "core/core.h"         /* dc_fail: messages as the library writes them */
#include "data/image_decode.h" /* deepc's image reader (dc_image_load) */
#include "deepc.h"

#include <stddef.h>

/* ---- images (ocr_image.c) ---- */

/* A new zeroed image (free px with free()), or DC_ERR_NOMEM. */
dc_status ocr_image_new(int h, int w, dc_image_u8 *out);
/* Resizes src (RGB) to oh x ow with bilinear interpolation (half-pixel
 * centres, as cv2.resize's INTER_LINEAR), into a new image. */
dc_status ocr_image_resize(const dc_image_u8 *src, int oh, int ow, dc_image_u8 *out);
/* The pixels [y, y + h) x [x, x + w) of src (clamped to it), rotated by
 * `quarter` quarter turns counter-clockwise (0, 1: np.rot90, 2: 180
 * degrees), into a new image. */
dc_status ocr_image_crop(const dc_image_u8 *src, int x, int y, int w, int h, int quarter, dc_image_u8 *out);

/* The detector's input (DetResizeForTest, limit_type "max", then
 * NormalizeImage): img scaled so its longer side is at most limit (960),
 * both sides rounded to multiples of 32 (at least 32); BGR;
 * (x / 255 - mean) / std.  *out (1, H, W, 3) is new (dc_tensor_free). */
dc_status ocr_det_input(const dc_image_u8 *img, int limit, dc_tensor **out);
/* A line's input to the classifier (3 x 48 x 192) or the recogniser (3 x 48
 * x width): resized to height h keeping its ratio (width at most `width`),
 * BGR, (x / 255 - 0.5) / 0.5, padded with 0 on the right, into row `row` of
 * t (N, h, width, 3). */
dc_status ocr_line_input(const dc_image_u8 *line, dc_tensor *t, int row);
/* The recogniser's input width for a line of w x h pixels:
 * 48 * max(w / h, 320 / 48), as PaddleOCR's resize_norm_img. */
int ocr_rec_width(int w, int h);

/* ---- DB post-processing (ocr_db.c) ---- */

typedef struct ocr_box {
    int x0, y0, x1, y1; /* in the original image: pixels [x0, x1) x [y0, y1) */
    float score;        /* mean probability inside the region's rectangle */
} ocr_box;

typedef struct ocr_db_config {
    float thresh;       /* 0.3: the probability map binarised at this */
    float box_thresh;   /* 0.6: boxes whose mean probability is lower are dropped */
    float unclip_ratio; /* 1.5: expanded by area * ratio / perimeter */
    int min_size;       /* 3: shorter sides dropped */
    int max_candidates; /* 1000 */
} ocr_db_config;

ocr_db_config ocr_db_defaults(void);
/* The text boxes of probability map prob (mh x mw, the detector's output
 * for an image of img_h x img_w), sorted top to bottom then left to right
 * (PaddleOCR's sorted_boxes); *boxes is new (free()), *n their count. */
dc_status ocr_db_boxes(const float *prob, int mh, int mw, int img_h, int img_w, const ocr_db_config *cfg,
                       ocr_box **boxes, int *n);

/* ---- characters and CTC (ocr_ctc.c) ---- */

typedef struct ocr_keys {
    char **key; /* key[0] "" (the CTC blank), key[i] line i of the file, a space last */
    int n;      /* classes: lines + 2 */
    char *text; /* the file's bytes (key[] points into it) */
} ocr_keys;

/* Reads the character list (one UTF-8 character a line). */
dc_status ocr_keys_load(const char *path, ocr_keys *out);
void ocr_keys_free(ocr_keys *k);
/* Greedy CTC over probs (steps x classes): the best class of each step,
 * repeats collapsed, blanks dropped, as UTF-8 into out (size cap); *score
 * the mean probability of the kept steps (0 when none).  A class count
 * other than keys->n is an error. */
dc_status ocr_ctc_decode(const float *probs, int steps, int classes, const ocr_keys *keys, char *out, size_t cap,
                         float *score);

#endif
