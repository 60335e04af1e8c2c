/*
 * plot_model.c - a model's graph as Keras' plot_model(model,
 * show_shapes=True) draws it: a box per input and per layer, "name (Type)"
 * over its output shape, an arrow from each box to every layer that takes
 * its output.  The inputs make the top row; a layer sits one row below the
 * lowest box it takes from, so every arrow points down.  A shared layer is
 * one box with an arrow from each call's input, as in Keras.  Drawn with
 * PLplot through plot.c's dc_plot_run.
 */
#include "model/model.h"
#include "plot/plot_internal.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BOX_H = 46, GAP_X = 30, ROW_H = 86, MARGIN = 24, MAX_BOXES = 1000, CHAR_W = 8, MIN_BOX_W = 200 };

typedef struct box {
    char label[96], shape[96];
    int row, slot; /* row from the top; place within the row */
} box;

typedef struct picture {
    box *boxes;
    int n, box_w; /* every box as wide as the longest text needs */
    int (*edges)[2]; /* from, to (box indices) */
    int n_edges;
    int rows, width, height;
    int *row_len;
} picture;

/* The box of reference r: an input, or the layer of call r - n_inputs. */
static int box_of(const dc_model *m, int r)
{
    if (r < m->n_inputs)
        return r;
    const dc_layer *l = m->calls[r - m->n_inputs].layer;
    int i = 0;
    while (m->layers[i] != l)
        i++;
    return m->n_inputs + i;
}

/* The box's centre in PLplot's world (pixels, y up). */
static void centre(const picture *p, const box *b, double *x, double *y)
{
    int len = p->row_len[b->row];
    double row_w = len * p->box_w + (len - 1) * GAP_X;
    *x = (p->width - row_w) / 2.0 + b->slot * (p->box_w + GAP_X) + p->box_w / 2.0;
    *y = p->height - MARGIN - b->row * ROW_H - BOX_H / 2.0;
}

static void draw_picture(const void *arg)
{
    const picture *p = arg;
    pladv(0);
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, p->width, 0.0, p->height);
    plcol0(1);
    plwidth(1.2);
    for (int e = 0; e < p->n_edges; e++) { /* bottom of one box to the top of the other, with a head */
        double x0, y0, x1, y1;
        centre(p, &p->boxes[p->edges[e][0]], &x0, &y0);
        centre(p, &p->boxes[p->edges[e][1]], &x1, &y1);
        y0 -= BOX_H / 2.0;
        y1 += BOX_H / 2.0;
        PLFLT lx[2] = {x0, x1}, ly[2] = {y0, y1};
        plline(2, lx, ly);
        double dx = x0 - x1, dy = y0 - y1, len = sqrt(dx * dx + dy * dy);
        dx = len > 0 ? 9.0 * dx / len : 0.0;
        dy = len > 0 ? 9.0 * dy / len : 9.0;
        PLFLT hx[3] = {x1 + dx - 0.45 * dy, x1, x1 + dx + 0.45 * dy}, hy[3] = {y1 + dy + 0.45 * dx, y1, y1 + dy - 0.45 * dx};
        plline(3, hx, hy);
    }
    plschr(3.0, 1.0); /* millimetres: the same size whatever the picture's size */
    double half = p->box_w / 2.0;
    for (int i = 0; i < p->n; i++) {
        double x, y;
        centre(p, &p->boxes[i], &x, &y);
        PLFLT bx[5] = {x - half, x + half, x + half, x - half, x - half};
        PLFLT by[5] = {y - BOX_H / 2.0, y - BOX_H / 2.0, y + BOX_H / 2.0, y + BOX_H / 2.0, y - BOX_H / 2.0};
        plcol0(0);
        plfill(4, bx, by); /* the box hides the arrows' ends behind it */
        plcol0(p->boxes[i].row == 0 ? 2 : 1); /* the inputs, the top row, in blue */
        plline(5, bx, by);
        plcol0(1);
        plptex(x, y + 5.0, 1.0, 0.0, 0.5, p->boxes[i].label);
        plptex(x, y - 15.0, 1.0, 0.0, 0.5, p->boxes[i].shape);
    }
}

/* Lays the boxes out in rows (see the top); 0, or -1 out of memory. */
static int layout(const dc_model *m, picture *p)
{
    for (int i = 0; i < p->n; i++)
        p->boxes[i].row = 0;
    for (int changed = 1, pass = 0; changed && pass <= p->n; pass++) { /* a shared layer may move down later */
        changed = 0;
        for (int j = 0; j < m->n_calls; j++) {
            const dc_call *c = &m->calls[j];
            box *to = &p->boxes[box_of(m, m->n_inputs + j)];
            for (int k = 0; k < c->n_in; k++) {
                int below = p->boxes[box_of(m, c->in_refs[k])].row + 1;
                if (to->row < below) {
                    to->row = below;
                    changed = 1;
                }
            }
        }
    }
    p->rows = 0;
    for (int i = 0; i < p->n; i++)
        p->rows = p->boxes[i].row + 1 > p->rows ? p->boxes[i].row + 1 : p->rows;
    p->row_len = calloc((size_t)p->rows, sizeof *p->row_len);
    if (!p->row_len)
        return -1;
    int widest = 1;
    p->box_w = MIN_BOX_W;
    for (int i = 0; i < p->n; i++) {
        p->boxes[i].slot = p->row_len[p->boxes[i].row]++;
        widest = p->row_len[p->boxes[i].row] > widest ? p->row_len[p->boxes[i].row] : widest;
        int chars = (int)strlen(p->boxes[i].label);
        p->box_w = chars * CHAR_W + 20 > p->box_w ? chars * CHAR_W + 20 : p->box_w;
    }
    p->width = 2 * MARGIN + widest * p->box_w + (widest - 1) * GAP_X;
    p->height = 2 * MARGIN + (p->rows - 1) * ROW_H + BOX_H;
    return 0;
}

/* The boxes' texts and the arrows (each pair once). */
static void describe(const dc_model *m, picture *p)
{
    for (int k = 0; k < m->n_inputs; k++) {
        char name[80];
        snprintf(p->boxes[k].label, sizeof p->boxes[k].label, "%s (InputLayer)",
                 dc_model_ref_name(m, k, name, sizeof name));
        dc_batch_shape_str(m->inputs[k]->ndim, m->inputs[k]->shape, p->boxes[k].shape, sizeof p->boxes[k].shape);
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dc_layer *l = m->layers[i];
        box *b = &p->boxes[m->n_inputs + i];
        snprintf(b->label, sizeof b->label, "%s (%s)", l->name, l->cls->type);
        dc_model_layer_shape(m, l, b->shape, sizeof b->shape);
    }
    p->n_edges = 0;
    for (int j = 0; j < m->n_calls; j++)
        for (int k = 0; k < m->calls[j].n_in; k++) {
            int from = box_of(m, m->calls[j].in_refs[k]), to = box_of(m, m->n_inputs + j), seen = 0;
            for (int e = 0; e < p->n_edges && !seen; e++)
                seen = p->edges[e][0] == from && p->edges[e][1] == to;
            if (!seen) {
                p->edges[p->n_edges][0] = from;
                p->edges[p->n_edges++][1] = to;
            }
        }
}

dc_status dc_plot_model(const char *path, dc_model *m)
{
    const char *where = "plot_model";
    if (!m)
        return dc_fail(DC_ERR_ARG, "%s: model is NULL", where);
    dc_status st = dc_model_build(m);
    if (st != DC_OK) {
        dc_err_prefix(where);
        return st;
    }
    int n_edges = 0;
    for (int j = 0; j < m->n_calls; j++)
        n_edges += m->calls[j].n_in;
    picture p = {.n = m->n_inputs + m->n_layers};
    if (p.n > MAX_BOXES)
        return dc_fail(DC_ERR_ARG, "%s: %d layers; a picture takes at most %d", where, p.n, MAX_BOXES);
    p.boxes = calloc((size_t)p.n, sizeof *p.boxes);
    p.edges = calloc((size_t)n_edges + 1, sizeof *p.edges);
    if (p.boxes && p.edges)
        describe(m, &p);
    if (!p.boxes || !p.edges || layout(m, &p) != 0)
        st = dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    if (st == DC_OK && (p.width > 10000 || p.height > 10000))
        st = dc_fail(DC_ERR_ARG, "%s: the picture would be %d x %d pixels, more than 10000 a side", where, p.width,
                     p.height);
    if (st == DC_OK)
        st = dc_plot_run(where, path, p.width, p.height, draw_picture, &p);
    free(p.boxes);
    free(p.edges);
    free(p.row_len);
    return st;
}
