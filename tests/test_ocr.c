/*
 * test_ocr.c - the OCR example's pieces (examples/ocr_*.c) and PP-OCRv4's
 * text detector imported by deepc (issue 22).
 *
 * Always run: DB post-processing on a drawn probability map (boxes, scores,
 * unclip distance, order) and against PaddleOCR's own (OpenCV + pyclipper,
 * tests/ocr/make_db_fixture.py), CTC decoding against a hand-made list, the
 * character list's errors (missing, empty), crops and rotations, the
 * detector's input size rule (DetResizeForTest), and the importer's Resize:
 * UpSampling2D (nearest 2 x 3, bilinear 2 x 2) written by
 * dc_model_save_onnx (checked against ONNX Runtime by test_onnx_export)
 * imports back with the same outputs, also with its coordinate mode changed
 * to another that repeats pixels (half_pixel), and the Resize forms deepc
 * cannot run (align_corners, a fraction, cubic, round_prefer_floor on
 * asymmetric coordinates at factor 3) are refused with a message.
 *
 * With the models (tests/onnx/fetch_ocr_models.sh, in
 * ~/.cache/deepc/ocr-models or $DEEPC_OCR_MODELS), node and
 * onnxruntime-node: ch_PP-OCRv4_det_infer.onnx imported at two sizes
 * (640 x 640 and 320 x 960, input_shape fixing the dynamic H, W) and run on
 * a text image rendered by ImageMagick (a drawn pattern when `convert` is
 * absent), prepared as examples/ocr.c prepares it; ONNX Runtime runs the
 * same file on the same input through tests/onnx/ort_run.js and the maps
 * must agree within 1e-4 of the largest magnitude.  A truncated copy of the
 * model must fail to load with a message.  Exit 77 (skipped, saying why)
 * when the models, node or onnxruntime-node are absent and the rest passed.
 */
#include "ocr_util.h"

#include "onnx.pb-c.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/ort_util.h"

#define TOOLS DEEPC_FIXTURES "/../onnx"
#define TMP "ocr_test_tmp"

static int failures;

#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                               \
            printf(__VA_ARGS__);                                                                                      \
            printf("\n");                                                                                             \
            failures++;                                                                                               \
        }                                                                                                             \
    } while (0)

/* ------------------------------------------------------------ no models */

static void fill_rect(float *map, int mw, int x0, int y0, int x1, int y1, float v)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            map[(size_t)y * mw + x] = v;
}

static void test_db(void)
{
    int mh = 64, mw = 128;
    float *map = calloc((size_t)mh * mw, sizeof *map);
    fill_rect(map, mw, 70, 10, 109, 19, 0.9f); /* right line, a little higher */
    fill_rect(map, mw, 10, 12, 49, 21, 0.8f);  /* left line: same row within 10 -> first */
    fill_rect(map, mw, 10, 40, 59, 49, 0.7f);  /* second row */
    fill_rect(map, mw, 100, 40, 101, 49, 0.9f); /* 1 pixel wide (x1 - x0 = 1 < min_size): dropped */
    fill_rect(map, mw, 70, 55, 109, 62, 0.5f); /* score 0.5 < box_thresh: dropped */
    map[(size_t)30 * mw + 5] = 0.95f;          /* a single pixel: dropped */
    ocr_db_config cfg = ocr_db_defaults();
    ocr_box *b = NULL;
    int n = 0;
    /* an image twice the map's size */
    CHECK(ocr_db_boxes(map, mh, mw, 2 * mh, 2 * mw, &cfg, &b, &n) == DC_OK, "%s", dc_errmsg());
    CHECK(n == 3, "%d boxes, expected 3", n);
    if (n == 3) {
        /* left line: 39 x 9 between pixel centres, d = 39 * 9 * 1.5 / 96 = 5.484 */
        double d = 39.0 * 9 * 1.5 / (2 * 48);
        CHECK(b[0].x0 == (int)round((10 - d) * 2) && b[0].x1 == (int)round((49 + d) * 2) &&
                  b[0].y0 == (int)round((12 - d) * 2) && b[0].y1 == (int)round((21 + d) * 2),
              "box 0 is (%d, %d)-(%d, %d)", b[0].x0, b[0].y0, b[0].x1, b[0].y1);
        CHECK(fabsf(b[0].score - 0.8f) < 1e-6f, "box 0 score %g", b[0].score);
        CHECK(b[1].x0 > b[0].x0 && b[1].y0 < b[0].y0, "box 1 is the right line (%d, %d)", b[1].x0, b[1].y0);
        CHECK(b[2].y0 > b[1].y0 && fabsf(b[2].score - 0.7f) < 1e-6f, "box 2 is the second row");
    }
    free(b);
    /* clipping at the image's edges */
    memset(map, 0, (size_t)mh * mw * sizeof *map);
    fill_rect(map, mw, 0, 0, 127, 20, 0.9f);
    CHECK(ocr_db_boxes(map, mh, mw, mh, mw, &cfg, &b, &n) == DC_OK && n == 1, "edge box: %d", n);
    if (n == 1)
        CHECK(b[0].x0 == 0 && b[0].y0 == 0 && b[0].x1 == mw - 1, "edge box (%d, %d)-(%d, %d)", b[0].x0, b[0].y0,
              b[0].x1, b[0].y1);
    free(b);
    /* an empty map: no boxes, no error */
    memset(map, 0, (size_t)mh * mw * sizeof *map);
    CHECK(ocr_db_boxes(map, mh, mw, mh, mw, &cfg, &b, &n) == DC_OK && n == 0, "empty map: %d boxes", n);
    free(b);
    free(map);
}

/* ocr_db_boxes against PaddleOCR's DBPostProcess (OpenCV's contours and
 * minAreaRect, pyclipper's offset) on the map of
 * tests/fixtures/ocr/db_boxes.txt (tests/ocr/make_db_fixture.py): the same
 * boxes in the same order, corners within 2 pixels of the image (pyclipper
 * rounds the expanded polygon to whole map pixels, about 2 image pixels
 * here), the same scores. */
static void test_db_paddle(void)
{
    FILE *f = fopen(DEEPC_FIXTURES "/ocr/db_boxes.txt", "r");
    int mh = 0, mw = 0, ih = 0, iw = 0, nref = 0, ok = f && fscanf(f, "map %d %d image %d %d", &mh, &mw, &ih, &iw) == 4;
    ok = ok && mh > 0 && mw > 0 && mh * mw <= 1 << 20;
    float *map = ok ? malloc((size_t)mh * mw * sizeof *map) : NULL;
    for (int i = 0; map && i < mh * mw; i++)
        ok &= fscanf(f, "%f", &map[i]) == 1;
    ok = ok && map && fscanf(f, " boxes %d", &nref) == 1 && nref >= 0 && nref < 100;
    int ref[100][4];
    float rs[100];
    for (int i = 0; ok && i < nref; i++)
        ok &= fscanf(f, "%d %d %d %d %f", &ref[i][0], &ref[i][1], &ref[i][2], &ref[i][3], &rs[i]) == 5;
    if (f)
        fclose(f);
    CHECK(ok, "cannot read tests/fixtures/ocr/db_boxes.txt");
    ocr_db_config cfg = ocr_db_defaults();
    ocr_box *b = NULL;
    int n = 0;
    if (ok && ocr_db_boxes(map, mh, mw, ih, iw, &cfg, &b, &n) == DC_OK) {
        CHECK(n == nref, "%d boxes, PaddleOCR %d", n, nref);
        for (int i = 0; i < n && i < nref; i++) {
            int got[4] = {b[i].x0, b[i].y0, b[i].x1, b[i].y1}, worst = 0;
            for (int k = 0; k < 4; k++)
                worst = abs(got[k] - ref[i][k]) > worst ? abs(got[k] - ref[i][k]) : worst;
            CHECK(worst <= 2 && fabsf(b[i].score - rs[i]) < 1e-5f,
                  "box %d: (%d, %d)-(%d, %d) score %.6f, PaddleOCR (%d, %d)-(%d, %d) %.6f", i, got[0], got[1], got[2],
                  got[3], b[i].score, ref[i][0], ref[i][1], ref[i][2], ref[i][3], rs[i]);
            printf("db box %d: (%d, %d)-(%d, %d) score %.4f; PaddleOCR (%d, %d)-(%d, %d) %.4f\n", i, got[0], got[1],
                   got[2], got[3], b[i].score, ref[i][0], ref[i][1], ref[i][2], ref[i][3], rs[i]);
        }
    } else if (ok)
        CHECK(0, "ocr_db_boxes: %s", dc_errmsg());
    free(b);
    free(map);
}

static void test_keys_ctc(void)
{
    mkdir(TMP, 0777);
    ocr_keys k;
    dc_status st = ocr_keys_load(TMP "/absent_keys.txt", &k);
    CHECK(st == DC_ERR_IO && strstr(dc_errmsg(), "absent_keys.txt") && strstr(dc_errmsg(), "character list"),
          "missing list: %d %s", (int)st, dc_errmsg());
    FILE *f = fopen(TMP "/empty_keys.txt", "wb");
    if (f)
        fclose(f);
    st = ocr_keys_load(TMP "/empty_keys.txt", &k);
    CHECK(st == DC_ERR_FORMAT && strstr(dc_errmsg(), "empty"), "empty list: %d %s", (int)st, dc_errmsg());
    f = fopen(TMP "/keys.txt", "wb");
    if (f) {
        fputs("深\n度\r\na\n7\n", f);
        fclose(f);
    }
    st = ocr_keys_load(TMP "/keys.txt", &k);
    CHECK(st == DC_OK && k.n == 6, "keys: %d %s (n %d)", (int)st, dc_errmsg(), k.n);
    if (st != DC_OK)
        return;
    /* classes: blank 深 度 a 7 space; steps: 深 深 blank 深 度 space 7 7 blank */
    int path[] = {1, 1, 0, 1, 2, 5, 4, 4, 0};
    int steps = 9;
    float probs[9 * 6];
    for (int t = 0; t < steps; t++)
        for (int c = 0; c < 6; c++)
            probs[t * 6 + c] = c == path[t] ? 0.5f + 0.05f * t : 0.02f;
    char text[64];
    float score;
    CHECK(ocr_ctc_decode(probs, steps, 6, &k, text, sizeof text, &score) == DC_OK, "%s", dc_errmsg());
    CHECK(!strcmp(text, "深深度 7"), "decoded \"%s\"", text);
    /* kept steps 0, 3, 4, 5, 6 */
    CHECK(fabsf(score - (0.5f + 0.05f * (0 + 3 + 4 + 5 + 6) / 5)) < 1e-6f, "score %g", score);
    st = ocr_ctc_decode(probs, steps, 5, &k, text, sizeof text, &score);
    CHECK(st == DC_ERR_SHAPE && strstr(dc_errmsg(), "character list"), "wrong class count: %s", dc_errmsg());
    CHECK(ocr_ctc_decode(probs, steps, 6, &k, text, 4, &score) == DC_ERR_RANGE, "too short a buffer");
    ocr_keys_free(&k);
    ocr_keys_free(NULL);
}

static void test_image(void)
{
    dc_image_u8 img, c;
    if (ocr_image_new(2, 3, &img) != DC_OK) {
        CHECK(0, "out of memory");
        return;
    }
    for (int i = 0; i < 6; i++) /* pixel (y, x) red = 10 * y + x */
        img.px[i * 3] = (uint8_t)(10 * (i / 3) + i % 3);
    CHECK(ocr_image_crop(&img, 0, 0, 3, 2, 1, &c) == DC_OK && c.h == 3 && c.w == 2, "rot90 shape");
    /* np.rot90: the last column comes first: [[2, 12], [1, 11], [0, 10]] */
    CHECK(c.px[0] == 2 && c.px[3] == 12 && c.px[4 * 3] == 0 && c.px[5 * 3] == 10, "rot90 values %d %d %d %d",
          c.px[0], c.px[3], c.px[12], c.px[15]);
    free(c.px);
    CHECK(ocr_image_crop(&img, 1, 0, 2, 2, 2, &c) == DC_OK && c.h == 2 && c.w == 2, "rot180 shape");
    CHECK(c.px[0] == 12 && c.px[3] == 11 && c.px[6] == 2 && c.px[9] == 1, "rot180 values");
    free(c.px);
    free(img.px);
    /* DetResizeForTest: 1000 x 500 -> 960 x 480; 50 x 70 -> 64 x 64; 10 x 10 -> 32 x 32 */
    int sizes[3][4] = {{1000, 500, 960, 480}, {50, 70, 64, 64}, {10, 10, 32, 32}};
    for (int i = 0; i < 3; i++) {
        dc_tensor *t = NULL;
        if (ocr_image_new(sizes[i][0], sizes[i][1], &img) != DC_OK)
            continue;
        CHECK(ocr_det_input(&img, 960, &t) == DC_OK && t->shape[1] == sizes[i][2] && t->shape[2] == sizes[i][3],
              "det input of %d x %d", sizes[i][0], sizes[i][1]);
        /* black: channel c is (0 - mean) / std of BGR's c */
        if (t)
            CHECK(fabsf(t->data[0] + 0.485f / 0.229f) < 1e-5f && fabsf(t->data[2] + 0.406f / 0.225f) < 1e-5f,
                  "normalised black %g %g", t->data[0], t->data[2]);
        dc_tensor_free(t);
        free(img.px);
    }
    CHECK(ocr_rec_width(100, 48) == 320 && ocr_rec_width(960, 48) == 960, "rec widths %d %d",
          ocr_rec_width(100, 48), ocr_rec_width(960, 48));
}

/* ---------------------------------------------------------------- Resize */

/* One change to the exported file's Resize node. */
typedef struct {
    const char *name;
    const char *attr, *value; /* a string attribute set to value (NULL: none) */
    const char *attr2, *value2;
    float scale_h;            /* 0: keep */
    const char *refusal;      /* NULL: must import and match; else in the message */
} resize_case;

/* Sets string attribute `name` of node n (an existing one only). */
static int set_attr(Onnx__NodeProto *n, const char *name, const char *value)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) {
            free(n->attribute[i]->s.data);
            n->attribute[i]->s.data = (uint8_t *)strdup(value);
            n->attribute[i]->s.len = strlen(value);
            return n->attribute[i]->s.data != NULL;
        }
    return 0;
}

static void resize_variant(const uint8_t *bytes, size_t len, const resize_case *rc, const dc_tensor *x,
                           const dc_tensor *want)
{
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    Onnx__NodeProto *r = NULL;
    for (size_t i = 0; mp && !r && i < mp->graph->n_node; i++)
        if (!strcmp(mp->graph->node[i]->op_type, "Resize"))
            r = mp->graph->node[i];
    if (!r || r->n_input < 3) {
        CHECK(0, "%s: no Resize (scales) in the exported file", rc->name);
        onnx__model_proto__free_unpacked(mp, NULL);
        return;
    }
    int ok = 1;
    if (rc->attr)
        ok &= set_attr(r, rc->attr, rc->value);
    if (rc->attr2)
        ok &= set_attr(r, rc->attr2, rc->value2);
    for (size_t i = 0; rc->scale_h && i < mp->graph->n_initializer; i++) {
        Onnx__TensorProto *t = mp->graph->initializer[i];
        if (strcmp(t->name, r->input[2]) != 0)
            continue;
        if (t->n_float_data == 4)
            t->float_data[2] = rc->scale_h;
        else if (t->raw_data.len == 16)
            memcpy(t->raw_data.data + 8, &rc->scale_h, 4);
        else
            ok = 0;
    }
    size_t n = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(n);
    if (buf)
        onnx__model_proto__pack(mp, buf);
    onnx__model_proto__free_unpacked(mp, NULL);
    FILE *f = buf ? fopen(TMP "/resize.onnx", "wb") : NULL;
    ok &= f && fwrite(buf, 1, n, f) == n;
    if (f)
        ok &= fclose(f) == 0;
    free(buf);
    CHECK(ok, "%s: cannot change and write the file", rc->name);
    dc_model *m = NULL;
    dc_tensor *y = NULL;
    dc_status st = dc_model_load_onnx(TMP "/resize.onnx", &m);
    if (rc->refusal) {
        CHECK(st == DC_ERR_UNSUPPORTED && strstr(dc_errmsg(), rc->refusal), "%s: status %d, message \"%s\"",
              rc->name, (int)st, dc_errmsg());
    } else if (st != DC_OK || dc_model_predict(m, x, 0, &y) != DC_OK) {
        CHECK(0, "%s: %s", rc->name, dc_errmsg());
    } else {
        double diff = y->size == want->size ? 0 : INFINITY;
        for (size_t i = 0; i < want->size && isfinite(diff); i++)
            diff = fmax(diff, fabs((double)y->data[i] - want->data[i]));
        CHECK(diff <= 1e-6, "%s: max |imported - original| %g", rc->name, diff);
    }
    dc_tensor_free(y);
    dc_model_free(m);
}

static void test_resize(void)
{
    mkdir(TMP, 0777);
    dc_model *m = dc_sequential_new(3, (int[]){4, 5, 3});
    dc_model_add(m, dc_layer_upsampling2d(2, 3, NULL));
    dc_model_add(m, dc_layer_upsampling2d(2, 2, "bilinear"));
    dc_tensor *x = dc_tensor_new(4, (int[]){2, 4, 5, 3}), *want = NULL;
    for (size_t i = 0; x && i < x->size; i++)
        x->data[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    if (!x || dc_model_compile(m, "adam", "mse", NULL, 0) != DC_OK || dc_model_predict(m, x, 0, &want) != DC_OK ||
        dc_model_save_onnx(m, TMP "/upsampling.onnx", NULL) != DC_OK) {
        CHECK(0, "upsampling model: %s", dc_errmsg());
        dc_model_free(m);
        dc_tensor_free(x);
        return;
    }
    dc_model_free(m);
    FILE *f = fopen(TMP "/upsampling.onnx", "rb");
    uint8_t *bytes = malloc(1 << 20);
    size_t len = f && bytes ? fread(bytes, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    /* the first Resize is the nearest one (2 x 3, asymmetric + floor) */
    static const resize_case cases[] = {
        {"as exported", NULL, NULL, NULL, NULL, 0, NULL},
        {"half_pixel round_prefer_floor", "coordinate_transformation_mode", "half_pixel", "nearest_mode",
         "round_prefer_floor", 0, NULL},
        {"half_pixel floor", "coordinate_transformation_mode", "half_pixel", NULL, NULL, 0, "not a repeat"},
        {"align_corners", "coordinate_transformation_mode", "align_corners", NULL, NULL, 0, "not a repeat"},
        {"asymmetric round_prefer_floor x3", "nearest_mode", "round_prefer_floor", NULL, NULL, 0, "not a repeat"},
        {"cubic", "mode", "cubic", NULL, NULL, 0, "mode \"cubic\""},
        {"scale 1.5", NULL, NULL, NULL, NULL, 1.5f, "not a whole factor"},
    };
    for (size_t i = 0; len && i < sizeof cases / sizeof cases[0]; i++)
        resize_variant(bytes, len, &cases[i], x, want);
    CHECK(len > 0, "cannot read the exported model");
    free(bytes);
    dc_tensor_free(x);
    dc_tensor_free(want);
}

/* -------------------------------------------------------- with the models */

/* A w x h white image with text rendered by ImageMagick, or dark bars
 * standing for lines when it cannot. */
static dc_status text_image(int h, int w, dc_image_u8 *img)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "convert -size %dx%d xc:white -font Noto-Sans-CJK-SC -pointsize 40 -fill black "
             "-annotate +20+80 '深度学习框架' -annotate +20+160 'PP-OCRv4 2024' " TMP "/det_%dx%d.png",
             w, h, w, h);
    char path[256];
    snprintf(path, sizeof path, TMP "/det_%dx%d.png", w, h);
    if (have(cmd) && dc_image_load(path, 3, (size_t)1 << 26, img) == DC_OK)
        return DC_OK;
    printf("note: ImageMagick could not render the text (convert, fonts-noto-cjk); drawn bars instead\n");
    dc_status st = ocr_image_new(h, w, img);
    if (st != DC_OK)
        return st;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int ink = (y % 80 > 40 && y % 80 < 70 && x > 20 && x < w - 40 && (x / 12) % 3 != 0);
            memset(img->px + ((size_t)y * w + x) * 3, ink ? 0 : 255, 3);
        }
    return DC_OK;
}

/* The detector at h x w: deepc against ONNX Runtime. */
static void test_detector(const char *model, const char *node_path, int h, int w)
{
    dc_image_u8 img;
    dc_tensor *x = NULL, *y = NULL;
    if (text_image(h, w, &img) != DC_OK || ocr_det_input(&img, 960, &x) != DC_OK) {
        free(img.px);
        CHECK(0, "image: %s", dc_errmsg());
        return;
    }
    free(img.px);
    CHECK(x->shape[1] == h && x->shape[2] == w, "det input %d x %d", x->shape[1], x->shape[2]);
    size_t hw = (size_t)h * w;
    float *nchw = malloc(3 * hw * sizeof *nchw);
    for (size_t p = 0; nchw && p < hw; p++)
        for (int c = 0; c < 3; c++)
            nchw[c * hw + p] = x->data[p * 3 + c];
    char in[128], outp[128], cmd[1600];
    snprintf(in, sizeof in, TMP "/det_%dx%d.f32", h, w);
    snprintf(outp, sizeof outp, TMP "/det_%dx%d.out", h, w);
    FILE *f = fopen(in, "wb");
    int ok = nchw && f && fwrite(nchw, sizeof *nchw, 3 * hw, f) == 3 * hw;
    if (f)
        ok &= fclose(f) == 0;
    free(nchw);
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.max_activation_bytes = (size_t)8 << 30;
    ic.compile_batch = 1; /* one image at a time: buffers for batch 1 */
    ic.frozen = 1; /* inference only: no gradient buffers */
    ic.input_shape[1] = 3;
    ic.input_shape[2] = h;
    ic.input_shape[3] = w;
    dc_model *m = NULL;
    if (!ok || dc_model_load_onnx_ex(model, &ic, &m) != DC_OK || dc_model_predict(m, x, 0, &y) != DC_OK) {
        CHECK(0, "detector at %d x %d: %s", h, w, dc_errmsg());
        dc_tensor_free(x);
        dc_model_free(m);
        return;
    }
    dc_tensor_free(x);
    dc_model_free(m);
    CHECK(y->size == (size_t)h * w, "output of %zu values, expected %d x %d (ndim %d, %d x %d x %d)", y->size, h, w,
          y->ndim, y->shape[1], y->shape[2], y->ndim > 3 ? y->shape[3] : 0);
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' node " TOOLS "/ort_run.js '%s' '%s' '%s:1x3x%dx%d' > " TMP "/ort.txt",
             node_path, model, outp, in, h, w);
    char o0[160];
    snprintf(o0, sizeof o0, "%s0.f32", outp);
    float *ref = system(cmd) == 0 ? read_f32(o0, y->size) : NULL;
    if (!ref) {
        CHECK(0, "ONNX Runtime failed or its output is not %zu values (%s)", y->size, cmd);
        dc_tensor_free(y);
        return;
    }
    double big = 0, diff = 0;
    size_t text = 0;
    for (size_t i = 0; i < y->size; i++) { /* (1, 1, H, W) and (1, H, W, 1): the same order */
        big = fmax(big, fabs(ref[i]));
        diff = fmax(diff, isfinite(y->data[i]) ? fabs((double)ref[i] - y->data[i]) : INFINITY);
        text += ref[i] > 0.3f;
    }
    CHECK(diff <= 1e-4 * big, "detector %d x %d: max |deepc - ORT| %.3g, largest |ORT| %.3g", h, w, diff, big);
    CHECK(text > 100, "detector %d x %d: only %zu text pixels in ORT's map", h, w, text);
    printf("detector %d x %d: max |deepc - ORT| %.3g, largest |ORT| %.3g, %zu pixels > 0.3\n", h, w, diff, big,
           text);
    free(ref);
    dc_tensor_free(y);
}

/* A truncated copy of the model: an error naming the file, no crash. */
static void test_truncated(const char *model)
{
    FILE *f = fopen(model, "rb"), *g = fopen(TMP "/truncated_det.onnx", "wb");
    char buf[65536];
    size_t left = 1000000, got;
    while (f && g && left && (got = fread(buf, 1, left < sizeof buf ? left : sizeof buf, f)) > 0) {
        fwrite(buf, 1, got, g);
        left -= got;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    dc_model *m = NULL;
    dc_status st = dc_model_load_onnx(TMP "/truncated_det.onnx", &m);
    CHECK(st != DC_OK && !m && strstr(dc_errmsg(), "truncated_det.onnx"), "truncated model: %d %s", (int)st,
          dc_errmsg());
    printf("truncated model: %s\n", dc_errmsg());
}

int main(void)
{
    test_db();
    test_db_paddle();
    test_keys_ctc();
    test_image();
    test_resize();
    char dir[700], model[800], node_path[600];
    const char *env = getenv("DEEPC_OCR_MODELS"), *home = getenv("HOME");
    if (env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%s/.cache/deepc/ocr-models/package/assets", home ? home : ".");
    snprintf(model, sizeof model, "%s/ch_PP-OCRv4_det_infer.onnx", dir);
    struct stat st;
    const char *skip = NULL;
    if (stat(model, &st) != 0)
        skip = "the models are absent (tests/onnx/fetch_ocr_models.sh fetches them)";
    else if (!have("node --version"))
        skip = "node is not installed (Debian: nodejs)";
    else if (!find_ort(node_path, sizeof node_path))
        skip = "onnxruntime-node not found in NODE_PATH, $DEEPC_ORT_DIR or ~/.cache/deepc (tests/onnx/install_ort.sh)";
    if (stat(model, &st) == 0)
        test_truncated(model);
    if (!skip) {
        test_detector(model, node_path, 640, 640);
        test_detector(model, node_path, 320, 960);
    }
    if (failures)
        return printf("%d check(s) failed\n", failures), 1;
    if (skip)
        return printf("SKIPPED (the detector against ONNX Runtime): %s\n", skip), 77;
    printf("ok\n");
    return 0;
}
