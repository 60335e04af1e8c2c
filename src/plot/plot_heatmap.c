/*
 * plot_heatmap.c - pictures of attributions (deepc.h's explaining section):
 *   - dc_plot_heatmaps: a grid, one row per sample, the image in grey in the
 *     first column and, in each next one, a method's map over the image in
 *     grey under a colour map (PLplot through plot.c's dc_plot_run);
 *   - dc_plot_text_attributions: an HTML page, each text's tokens shaded by
 *     their attribution (red towards the explained output, blue against),
 *     written atomically (io/file.h).
 * A map is scaled per sample by the 99th percentile of its magnitudes (a
 * few extreme gradients would otherwise wash the rest out) and resized
 * bilinearly onto the image (Grad-CAM's maps are the layer's size).
 */
#include "plot/plot_internal.h"
#include "io/file.h"

#include <math.h>
#include <plplot.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CELL = 128, LABEL_W = 190, TITLE_H = 34, HEAD_H = 24, MAX_GRID = 100 };
/* plot.c's palette: 1 the foreground (text); 11, its last entry, is re-set for every pixel drawn */
enum { FG_COL = 1, PIXEL_COL = 11 };

typedef struct heat_page {
    const float *images;
    int n, h, w;
    const dc_heatmap_set *sets;
    int n_sets;
    const char *const *row_labels;
    const char *title;
    float *map; /* one resized map (h * w) */
} heat_page;

/* Bilinear sample of map (mh x mw) at image pixel (y, x) of h x w, pixel centres aligned. */
static float resample(const float *map, int mh, int mw, int h, int w, int y, int x)
{
    float fy = ((float)y + 0.5f) * (float)mh / (float)h - 0.5f, fx = ((float)x + 0.5f) * (float)mw / (float)w - 0.5f;
    fy = fy < 0 ? 0 : fy > (float)(mh - 1) ? (float)(mh - 1) : fy;
    fx = fx < 0 ? 0 : fx > (float)(mw - 1) ? (float)(mw - 1) : fx;
    int y0 = (int)fy, x0 = (int)fx, y1 = y0 + 1 < mh ? y0 + 1 : y0, x1 = x0 + 1 < mw ? x0 + 1 : x0;
    float ay = fy - (float)y0, ax = fx - (float)x0;
    float top = map[y0 * mw + x0] * (1 - ax) + map[y0 * mw + x1] * ax;
    float bot = map[y1 * mw + x0] * (1 - ax) + map[y1 * mw + x1] * ax;
    return top * (1 - ay) + bot * ay;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The 99th percentile of |v| (sorts a copy in scratch), at least 1e-12. */
static float scale_of(const float *v, size_t n, float *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = fabsf(v[i]);
    qsort(scratch, n, sizeof *scratch, cmp_float);
    float s = scratch[(size_t)(0.99 * (double)(n - 1))];
    if (!(s > 0))
        s = scratch[n - 1];
    return s > 1e-12f ? s : 1e-12f;
}

/* 'jet' at t in [0, 1]. */
static void jet(float t, float rgb[3])
{
    float r = 1.5f - fabsf(4 * t - 3), g = 1.5f - fabsf(4 * t - 2), b = 1.5f - fabsf(4 * t - 1);
    rgb[0] = r < 0 ? 0 : r > 1 ? 1 : r;
    rgb[1] = g < 0 ? 0 : g > 1 ? 1 : g;
    rgb[2] = b < 0 ? 0 : b > 1 ? 1 : b;
}

/* The pixel's colour: grey g under the map's value v (scaled to [-1, 1] or [0, 1]). */
static void blend(float grey, float v, int signed_values, int rgb[3])
{
    float c[3], a;
    if (signed_values) { /* red positive, blue negative, the image where the map is near 0 */
        a = fabsf(v) > 1 ? 1 : fabsf(v);
        c[0] = v > 0 ? 0.95f : 0.15f;
        c[1] = v > 0 ? 0.15f : 0.35f;
        c[2] = v > 0 ? 0.1f : 0.95f;
        a *= 0.9f;
    } else {
        float t = v < 0 ? 0 : v > 1 ? 1 : v;
        jet(t, c);
        a = 0.3f + 0.55f * t;
    }
    for (int k = 0; k < 3; k++) {
        float o = (1 - a) * grey + a * c[k];
        rgb[k] = (int)lrintf(255 * (o < 0 ? 0 : o > 1 ? 1 : o));
    }
}

/* Cell (r, c)'s viewport in the page's normalised coordinates. */
static void cell_port(const heat_page *p, int r, int c)
{
    double width = LABEL_W + (p->n_sets + 1) * CELL, height = TITLE_H + HEAD_H + p->n * CELL;
    double x0 = (LABEL_W + c * CELL + 3) / width, x1 = (LABEL_W + (c + 1) * CELL - 3) / width;
    double y1 = 1.0 - (TITLE_H + HEAD_H + r * CELL + 3) / height, y0 = 1.0 - (TITLE_H + HEAD_H + (r + 1) * CELL - 3) / height;
    plvpor(x0, x1, y0, y1);
}

static void draw_cell(const heat_page *p, int r, int c, const float *map, int signed_values, float scale)
{
    const float *img = p->images + (size_t)r * (size_t)p->h * (size_t)p->w;
    cell_port(p, r, c);
    plwind(0, p->w, 0, p->h);
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            float g = img[(size_t)y * (size_t)p->w + (size_t)x];
            g = g < 0 ? 0 : g > 1 ? 1 : g;
            int rgb[3];
            if (map)
                blend(g, map[(size_t)y * (size_t)p->w + (size_t)x] / scale, signed_values, rgb);
            else
                rgb[0] = rgb[1] = rgb[2] = (int)lrintf(255 * g);
            plscol0(PIXEL_COL, rgb[0], rgb[1], rgb[2]);
            plcol0(PIXEL_COL);
            PLFLT xs[4] = {x, x + 1, x + 1, x}, ys[4] = {p->h - y - 1, p->h - y - 1, p->h - y, p->h - y};
            plfill(4, xs, ys);
        }
}

static void draw_heatmaps(const void *arg)
{
    const heat_page *p = arg;
    size_t hw = (size_t)p->h * (size_t)p->w;
    float *scratch = p->map + hw;
    pladv(0);
    plschr(0, 0.7);
    if (p->title) { /* centred over the whole page */
        double height = TITLE_H + HEAD_H + p->n * CELL;
        plvpor(0.0, 1.0, 1.0 - TITLE_H / height, 1.0);
        plwind(0, 1, 0, 1);
        plcol0(FG_COL);
        plmtex("t", -1.5, 0.5, 0.5, p->title);
    }
    for (int r = 0; r < p->n; r++) {
        draw_cell(p, r, 0, NULL, 0, 1);
        plcol0(FG_COL);
        if (p->row_labels && p->row_labels[r])
            plmtex("lv", 0.8, 0.5, 1.0, p->row_labels[r]);
        if (r == 0)
            plmtex("t", 0.8, 0.5, 0.5, "image");
        for (int s = 0; s < p->n_sets; s++) {
            const dc_heatmap_set *set = &p->sets[s];
            const float *src = set->maps + (size_t)r * (size_t)set->map_h * (size_t)set->map_w;
            for (int y = 0; y < p->h; y++)
                for (int x = 0; x < p->w; x++)
                    p->map[(size_t)y * (size_t)p->w + (size_t)x] =
                        resample(src, set->map_h, set->map_w, p->h, p->w, y, x);
            float scale = scale_of(p->map, hw, scratch);
            draw_cell(p, r, s + 1, p->map, set->signed_values, scale);
            if (r == 0 && set->label) {
                plcol0(FG_COL);
                plmtex("t", 0.8, 0.5, 0.5, set->label);
            }
        }
    }
}

dc_status dc_plot_heatmaps(const char *path, const float *images, int n, int h, int w, const dc_heatmap_set *sets,
                           int n_sets, const char *const *row_labels, const char *title)
{
    const char *where = "plot_heatmaps";
    DC_CHECK_NULL(path);
    DC_CHECK_NULL(images);
    DC_CHECK_NULL(sets);
    if (n < 1 || n > MAX_GRID || n_sets < 1 || n_sets > 20 || h < 1 || w < 1 || h > 512 || w > 512)
        return dc_fail(DC_ERR_ARG, "%s: %d samples of %d x %d pixels with %d maps; expected 1 to %d samples, 1 to 20 "
                       "maps, images of 1 x 1 to 512 x 512", where, n, h, w, n_sets, MAX_GRID);
    dc_status st = dc_plot_check_values(where, "images", images, n * h * w);
    for (int s = 0; st == DC_OK && s < n_sets; s++) {
        char what[64];
        snprintf(what, sizeof what, "sets[%d].maps", s);
        if (!sets[s].maps)
            return dc_fail(DC_ERR_ARG, "%s: %s is NULL", where, what);
        if (sets[s].map_h < 1 || sets[s].map_w < 1 || sets[s].map_h > 512 || sets[s].map_w > 512)
            return dc_fail(DC_ERR_ARG, "%s: sets[%d]'s maps are %d x %d, expected 1 x 1 to 512 x 512", where, s,
                           sets[s].map_h, sets[s].map_w);
        st = dc_plot_check_values(where, what, sets[s].maps, n * sets[s].map_h * sets[s].map_w);
    }
    if (st != DC_OK)
        return st;
    heat_page p = {images, n, h, w, sets, n_sets, row_labels, title, NULL};
    p.map = dc_malloc(sizeof(float) * 2 * (size_t)h * (size_t)w);
    if (!p.map)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    st = dc_plot_run(where, path, LABEL_W + (n_sets + 1) * CELL, TITLE_H + HEAD_H + n * CELL, draw_heatmaps, &p);
    free(p.map);
    return st;
}

/* ---- text: an HTML page ---- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)k + 1;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* The token, HTML-escaped. */
static void sb_escaped(sbuf *b, const char *t)
{
    for (; *t && !b->failed; t++) {
        switch (*t) {
        case '<': sb_put(b, "&lt;"); break;
        case '>': sb_put(b, "&gt;"); break;
        case '&': sb_put(b, "&amp;"); break;
        case '"': sb_put(b, "&quot;"); break;
        default: sb_put(b, "%c", *t);
        }
    }
}

dc_status dc_plot_text_attributions(const char *path, int n_texts, const char *const *const *tokens,
                                    const int *n_tokens, const float *const *attributions,
                                    const char *const *labels, const char *title)
{
    const char *where = "plot_text_attributions";
    DC_CHECK_NULL(path);
    DC_CHECK_NULL(tokens);
    DC_CHECK_NULL(n_tokens);
    DC_CHECK_NULL(attributions);
    if (n_texts < 1 || n_texts > 10000)
        return dc_fail(DC_ERR_ARG, "%s: %d texts, expected 1 to 10000", where, n_texts);
    for (int i = 0; i < n_texts; i++) {
        if (n_tokens[i] < 0 || n_tokens[i] > 1000000)
            return dc_fail(DC_ERR_ARG, "%s: text %d has %d tokens, expected 0 to 1000000", where, i, n_tokens[i]);
        if (n_tokens[i] && (!tokens[i] || !attributions[i]))
            return dc_fail(DC_ERR_ARG, "%s: text %d's tokens or attributions are NULL", where, i);
        for (int k = 0; k < n_tokens[i]; k++) {
            if (!tokens[i][k])
                return dc_fail(DC_ERR_ARG, "%s: text %d's token %d is NULL", where, i, k);
            if (!isfinite(attributions[i][k]))
                return dc_fail(DC_ERR_NAN, "%s: text %d's attribution %d is %g", where, i, k,
                               (double)attributions[i][k]);
        }
    }
    sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.s)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    sb_put(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    sb_escaped(&b, title ? title : "attributions");
    sb_put(&b, "</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.9}"
               "span.t{padding:1px 2px;border-radius:3px}p.l{font-weight:bold;margin-bottom:0.2em}"
               "div.x{margin-bottom:1.5em}</style></head><body>\n");
    if (title) {
        sb_put(&b, "<h2>");
        sb_escaped(&b, title);
        sb_put(&b, "</h2>\n");
    }
    sb_put(&b, "<p>Red: the token pushed the explained output up; blue: down. Shade: |attribution| relative to the "
               "text's largest. Hover a token for its value.</p>\n");
    for (int i = 0; i < n_texts && !b.failed; i++) {
        double big = 0;
        for (int k = 0; k < n_tokens[i]; k++)
            big = fabs(attributions[i][k]) > big ? fabs(attributions[i][k]) : big;
        sb_put(&b, "<div class=\"x\">");
        if (labels && labels[i]) {
            sb_put(&b, "<p class=\"l\">");
            sb_escaped(&b, labels[i]);
            sb_put(&b, "</p>");
        }
        for (int k = 0; k < n_tokens[i]; k++) {
            float a = attributions[i][k];
            double alpha = big > 0 ? fabs(a) / big : 0;
            sb_put(&b, "<span class=\"t\" title=\"%.4g\" style=\"background:rgba(%s,%.3f)\">", (double)a,
                   a >= 0 ? "220,40,30" : "30,90,230", 0.85 * alpha);
            sb_escaped(&b, tokens[i][k]);
            sb_put(&b, "</span> ");
        }
        sb_put(&b, "</div>\n");
    }
    sb_put(&b, "</body></html>\n");
    if (b.failed) {
        free(b.s);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory writing the page", where);
    }
    const void *parts[1] = {b.s};
    size_t sizes[1] = {b.len};
    dc_status st = dc_file_write_atomic(path, parts, sizes, 1);
    free(b.s);
    return st;
}
