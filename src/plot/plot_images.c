/*
 * plot_images.c - a grid of grayscale images, the picture the autoencoder
 * tutorials draw with matplotlib's imshow: originals in one row, their
 * reconstructions in the next.  Drawn with PLplot through plot.c's
 * dc_plot_run (its lock, stream and exit handling).
 */
#include "plot/plot_internal.h"

#include <plplot.h>
#include <stdio.h>

enum { CELL = 64, LABEL_W = 140, TITLE_H = 40, MAX_GRID = 100 };

typedef struct grid {
    const float *const *images;
    int rows, cols, h, w;
    const char *const *row_labels;
    const char *title;
} grid;

static void draw_grid(const void *arg)
{
    const grid *g = arg;
    PLFLT pos[2] = {0, 1}, lum[2] = {0, 1};
    plscmap1l(1, 2, pos, lum, lum, lum, NULL); /* black to white */
    PLFLT **z = NULL;
    plAlloc2dGrid(&z, g->w, g->h);
    if (!z)
        return;
    double width = LABEL_W + g->cols * CELL, height = TITLE_H + g->rows * CELL;
    pladv(0);
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++) {
            const float *img = g->images[r] + (size_t)c * g->h * g->w;
            for (int x = 0; x < g->w; x++)
                for (int y = 0; y < g->h; y++) { /* row 0 of the image at the top */
                    float v = img[(size_t)(g->h - 1 - y) * g->w + x];
                    z[x][y] = v < 0.0f ? 0.0 : v > 1.0f ? 1.0 : v;
                }
            double x0 = (LABEL_W + c * CELL + 2) / width, x1 = (LABEL_W + (c + 1) * CELL - 2) / width;
            double y1 = 1.0 - (TITLE_H + r * CELL + 2) / height, y0 = 1.0 - (TITLE_H + (r + 1) * CELL - 2) / height;
            plvpor(x0, x1, y0, y1);
            plwind(0, g->w, 0, g->h);
            plimage((PLFLT_MATRIX)z, g->w, g->h, 0, g->w, 0, g->h, 0, 1, 0, g->w, 0, g->h);
            if (c == 0 && g->row_labels && g->row_labels[r])
                plmtex("lv", 1.0, 0.5, 1.0, g->row_labels[r]);
            if (r == 0 && c == 0 && g->title)
                plmtex("t", 1.0, 0.0, 0.0, g->title);
        }
    plFree2dGrid(z, g->w, g->h);
}

dc_status dc_plot_images(const char *path, const float *const *images, int rows, int cols, int h, int w,
                         const char *const *row_labels, const char *title)
{
    const char *where = "plot_images";
    if (rows < 1 || cols < 1 || h < 1 || w < 1 || rows > MAX_GRID || cols > MAX_GRID)
        return dc_fail(DC_ERR_ARG, "%s: %d x %d images of %d x %d pixels; expected 1 to %d rows and columns of "
                       "images of at least 1 x 1", where, rows, cols, h, w, MAX_GRID);
    if (!images)
        return dc_fail(DC_ERR_ARG, "%s: images is NULL", where);
    if ((size_t)cols * h * w > (size_t)1 << 28)
        return dc_fail(DC_ERR_ARG, "%s: %d images of %d x %d pixels in a row is too many", where, cols, h, w);
    for (int r = 0; r < rows; r++) {
        char what[32];
        snprintf(what, sizeof what, "row %d", r);
        dc_status st = dc_plot_check_values(where, what, images[r], cols * h * w);
        if (st != DC_OK)
            return st;
    }
    grid g = {images, rows, cols, h, w, row_labels, title};
    return dc_plot_run(where, path, LABEL_W + cols * CELL, TITLE_H + rows * CELL, draw_grid, &g);
}
