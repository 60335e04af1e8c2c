/*
 * plot.c - the pictures a Keras tutorial makes with matplotlib, drawn with
 * PLplot's cairo drivers into PNG or SVG: a scatter with a fitted line, the
 * training curves of a History, a confusion matrix, and a classifier's
 * decision regions in the plane of two inputs.
 *
 * PLplot keeps global state and ends the program (plexit) on errors it
 * meets, so every plot here:
 *   - checks its arguments first (finite data, a known extension, an
 *     installed driver, a file that can be written), so that PLplot is only
 *     ever handed input it accepts;
 *   - runs under one process-wide lock, in a stream of its own (plmkstrm /
 *     plend1) so it cannot disturb another PLplot user's stream;
 *   - installs an exit handler that jumps back here as a last resort, so
 *     that even an unforeseen PLplot error becomes a returned DC_ERR_IO.
 * Colours follow matplotlib's defaults (tab10) on a white page.
 */
#include "plot/plot_internal.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_SERIES = 10, TEXT_CAP = 256, COLORBAR_STEPS = 64, MIN_SIDE = 16, MAX_SIDE = 10000, MAX_DEVICES = 128 };

/* cmap0: background, foreground, then matplotlib's tab10 colours. */
static const PLINT PAL_R[] = {255, 0, 31, 255, 44, 214, 148, 140, 227, 127, 188, 23};
static const PLINT PAL_G[] = {255, 0, 119, 127, 160, 39, 103, 86, 119, 127, 189, 190};
static const PLINT PAL_B[] = {255, 0, 180, 14, 44, 40, 189, 75, 194, 127, 34, 207};
enum { COL_BG = 0, COL_FG = 1, COL_FIRST = 2, N_COLORS = 12, MAX_CLASSES = N_COLORS - COL_FIRST };
_Static_assert((int)MAX_CLASSES <= (int)MAX_SERIES, "a decision-region plot has a series per class");

static pthread_mutex_t plot_lock = PTHREAD_MUTEX_INITIALIZER;
static jmp_buf plot_jump;
static int plot_active;
static char plot_error[TEXT_CAP];

/* PLplot calls this before it would exit: record, and jump back. */
static int on_plplot_exit(PLCHAR_VECTOR msg)
{
    snprintf(plot_error, sizeof plot_error, "%s", msg ? msg : "unknown error");
    if (plot_active) {
        plot_active = 0;
        longjmp(plot_jump, 1);
    }
    return 1;
}

/* PLplot treats '#' as an escape; double it so labels print as given. */
static const char *esc(const char *s, char out[TEXT_CAP])
{
    size_t o = 0;
    for (; s && *s && o + 2 < TEXT_CAP; s++) {
        if (*s == '#')
            out[o++] = '#';
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

/* What a plot draws: filled in by the public functions, run by draw_*. */
typedef struct series {
    const float *x, *y;
    int n;
    int points; /* 1: markers only; 0: a line */
    int dashed;
    int color;  /* cmap0 index */
    const char *label;
} series;

typedef struct panel {
    series s[MAX_SERIES];
    int n_series;
    const char *title, *xlabel, *ylabel;
} panel;

typedef struct confusion {
    const float *y_true, *y_pred;
    int n, k;
    const char *const *names;
    const char *title;
} confusion;

/* Decision regions: the predicted class on a grid (gx x gy cells over
 * [x0, x1] x [y0, y1], cls[ix * gy + iy]), shaded, under the points. */
typedef struct regions {
    const float *cls;
    int gx, gy, k;
    double x0, x1, y0, y1;
    panel points; /* one series per class */
} regions;

typedef struct job {
    const char *path, *device;
    int width, height, cols, rows;
    const panel *panels;
    int n_panels;
    const confusion *cm;
    const regions *rg;
    void (*custom)(const void *arg); /* dc_plot_run's drawing (plot_images.c) */
    const void *custom_arg;
} job;

/* ---------------------------------------------------------- checks */

static dc_status pick_device(const char *where, const char *path, const char **device)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!path || !*path)
        return dc_fail(DC_ERR_ARG, "%s: path is %s; pass a file name ending in .png or .svg", where,
                       path ? "\"\"" : "NULL");
    if (dot && strcmp(dot, ".png") == 0)
        *device = "pngcairo";
    else if (dot && strcmp(dot, ".svg") == 0)
        *device = "svgcairo";
    else
        return dc_fail(DC_ERR_ARG, "%s: %s: unknown image format; the file name must end in .png or .svg", where, path);
    const char *menus[MAX_DEVICES], *names[MAX_DEVICES];
    const char **pm = menus, **pn = names;
    int n = MAX_DEVICES;
    plgDevs(&pm, &pn, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(pn[i], *device) == 0)
            return DC_OK;
    return dc_fail(DC_ERR_UNSUPPORTED, "%s: PLplot has no %s driver here; install it: sudo apt-get install "
                                       "plplot-driver-cairo",
                   where, *device);
}

/* A new empty file "<path>.XXXXXX" beside path, named in tmp (tmp_size
 * bytes): the picture is drawn there and renamed over path only once PLplot
 * has finished, so a failed plot never destroys the previous picture (the
 * savers' rule, src/io/file.h). */
static dc_status make_temp(const char *where, const char *path, char *tmp, size_t tmp_size)
{
    if ((size_t)snprintf(tmp, tmp_size, "%s.XXXXXX", path) >= tmp_size)
        return dc_fail(DC_ERR_ARG, "%s: path too long: %s", where, path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return dc_fail(DC_ERR_IO, "%s: cannot write %s: %s", where, path, strerror(errno));
    /* mkstemp makes the file private (0600): keep the mode of the picture
     * being replaced, or give a new one the usual 0644 (as the savers do) */
    struct stat sb;
    fchmod(fd, stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644);
    close(fd);
    return DC_OK;
}

dc_status dc_plot_check_values(const char *where, const char *what, const float *v, int n)
{
    if (n < 1)
        return dc_fail(DC_ERR_ARG, "%s: %s has %d values; expected at least 1", where, what, n);
    if (!v)
        return dc_fail(DC_ERR_ARG, "%s: %s is NULL", where, what);
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return dc_fail(DC_ERR_NAN, "%s: %s[%d] is %g; only finite values can be plotted", where, what, i,
                           (double)v[i]);
    return DC_OK;
}

/* --------------------------------------------------------- drawing */

/* Widens a flat [lo, hi] and pads it by 5% on each side. */
static void pad_range(double *lo, double *hi)
{
    if (*hi - *lo < 1e-12 * (fabs(*lo) + 1)) {
        *lo -= 0.5 * (fabs(*lo) + 1e-3);
        *hi += 0.5 * (fabs(*hi) + 1e-3);
    }
    double pad = 0.05 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* [lo, hi] over every series, padded. */
static void range_of(const panel *p, int use_x, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->s[s].n; i++) {
            if (!isfinite(p->s[s].y[i])) /* a gap (history only) */
                continue;
            double v = use_x ? p->s[s].x[i] : p->s[s].y[i];
            *lo = v < *lo ? v : *lo;
            *hi = v > *hi ? v : *hi;
        }
    pad_range(lo, hi);
}

/* The legend goes top right, or bottom right when the series end high
 * (rising accuracy), where it would hide them. */
static void draw_legend(const panel *p, double y0, double y1)
{
    double end = 0;
    for (int s = 0; s < p->n_series; s++) {
        int last = p->s[s].n - 1;
        while (last > 0 && !isfinite(p->s[s].y[last]))
            last--;
        if (isfinite(p->s[s].y[last]))
            end += (p->s[s].y[last] - y0) / (y1 - y0) / p->n_series;
    }
    PLINT where = (end > 0.5 ? PL_POSITION_BOTTOM : PL_POSITION_TOP) | PL_POSITION_RIGHT | PL_POSITION_INSIDE;
    PLINT opt[MAX_SERIES], tcol[MAX_SERIES], lcol[MAX_SERIES], lsty[MAX_SERIES], scol[MAX_SERIES], snum[MAX_SERIES];
    PLFLT lwid[MAX_SERIES], sscale[MAX_SERIES];
    const char *text[MAX_SERIES], *sym[MAX_SERIES];
    char buf[MAX_SERIES][TEXT_CAP];
    for (int s = 0; s < p->n_series; s++) {
        const series *e = &p->s[s];
        opt[s] = e->points ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE;
        tcol[s] = COL_FG;
        lcol[s] = scol[s] = e->color;
        lsty[s] = e->dashed ? 2 : 1;
        lwid[s] = 2.0;
        sscale[s] = 1.0;
        snum[s] = 1;
        sym[s] = "•";
        text[s] = esc(e->label ? e->label : "", buf[s]);
    }
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, where, 0.02, 0.02, 0.08, COL_BG, COL_FG, 1, 0, 0, p->n_series, opt, 1.0, 0.9, 2.0, 0.0, tcol, text, NULL, NULL, NULL,
             NULL, lcol, lsty, lwid, scol, sscale, snum, sym);
}

/* One series in the current window: markers, or a line (dashed or not)
 * broken at non-finite values. */
static void draw_series(const series *e)
{
    PLFLT *xs = malloc((size_t)e->n * sizeof *xs), *ys = malloc((size_t)e->n * sizeof *ys);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        return;
    }
    for (int i = 0; i < e->n; i++) {
        xs[i] = e->x[i];
        ys[i] = e->y[i];
    }
    plcol0(e->color);
    if (e->points) {
        plstring(e->n, xs, ys, "•");
    } else {
        /* Runs of finite values, with gaps between them (matplotlib's
         * way with NaN); a lone finite value gets a marker. */
        pllsty(e->dashed ? 2 : 1);
        plwidth(2.0);
        for (int i = 0; i < e->n;) {
            int j = i;
            while (j < e->n && isfinite(ys[j]))
                j++;
            if (j - i > 1)
                plline(j - i, xs + i, ys + i);
            else if (j - i == 1)
                plstring(1, xs + i, ys + i, "•");
            i = j > i ? j : i + 1;
        }
        pllsty(1);
        plwidth(1.0);
    }
    free(xs);
    free(ys);
}

/* The box, ticks, axis labels and title of a panel, over what the window
 * already shows. */
static void draw_frame(const panel *p)
{
    char t[TEXT_CAP], xl[TEXT_CAP], yl[TEXT_CAP];
    plcol0(COL_FG);
    plwidth(1.0);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(esc(p->xlabel, xl), esc(p->ylabel, yl), esc(p->title, t));
}

static void draw_panel(const panel *p)
{
    double x0, x1, y0, y1;
    range_of(p, 1, &x0, &x1);
    range_of(p, 0, &y0, &y1);
    pladv(0);
    plvsta();
    plwind(x0, x1, y0, y1);
    draw_frame(p);
    for (int s = 0; s < p->n_series; s++)
        draw_series(&p->s[s]);
    draw_legend(p, y0, y1);
}

static void draw_confusion(const confusion *c)
{
    int k = c->k;
    int *counts = calloc((size_t)k * (size_t)k, sizeof *counts);
    if (!counts)
        return;
    int max = 1;
    for (int i = 0; i < c->n; i++) {
        int v = ++counts[(int)c->y_true[i] * k + (int)c->y_pred[i]];
        max = v > max ? v : max;
    }
    PLFLT pos[2] = {0, 1}, r[2] = {1, 0.12}, g[2] = {1, 0.47}, b[2] = {1, 0.71};
    plscmap1l(1, 2, pos, r, g, b, NULL);
    pladv(0);
    plvpor(0.22, 0.80, 0.15, 0.85);
    plwind(0, k, k, 0);
    char buf[TEXT_CAP];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            PLFLT fx[4] = {j, j + 1, j + 1, j}, fy[4] = {i, i, i + 1, i + 1};
            double level = (double)counts[i * k + j] / max;
            plcol1(level);
            plfill(4, fx, fy);
            plcol0(level > 0.5 ? COL_BG : COL_FG);
            snprintf(buf, sizeof buf, "%d", counts[i * k + j]);
            plptex(j + 0.5, i + 0.5, 1, 0, 0.5, buf);
        }
    plcol0(COL_FG);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (int i = 0; i < k; i++) {
        char name[TEXT_CAP];
        if (c->names)
            esc(c->names[i], name);
        else
            snprintf(name, sizeof name, "%d", i);
        plmtex("b", 1.5, (i + 0.5) / k, 0.5, name);
        plmtex("lv", 1.0, 1.0 - (i + 0.5) / k, 1.0, name);
    }
    plmtex("b", 3.5, 0.5, 0.5, "predicted label");
    plmtex("l", 8.5, 0.5, 0.5, "true label");
    plmtex("t", 2.0, 0.5, 0.5, esc(c->title, buf));
    /* The legend of a heat map: a colour bar from 0 to the largest count,
     * drawn as an image (PLplot's cairo gradient leaks its pattern). */
    PLFLT values[COLORBAR_STEPS], cw, ch, ticks[1] = {0};
    for (int i = 0; i < COLORBAR_STEPS; i++)
        values[i] = (double)max * i / (COLORBAR_STEPS - 1);
    const PLFLT *vals[1] = {values};
    PLINT nv[1] = {COLORBAR_STEPS}, lopt[1] = {PL_COLORBAR_LABEL_BOTTOM}, sub[1] = {0};
    const char *labels[1] = {"count"}, *axis[1] = {"bcvtm"};
    plcolorbar(&cw, &ch, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.04,
               0.0, 0.04, 0.7, COL_BG, COL_FG, 1, 0, 0, 0, 0, 1, lopt, labels, 1, axis, ticks, sub, nv, vals);
    free(counts);
}

static void draw_regions(const regions *r)
{
    PLFLT **z = NULL;
    plAlloc2dGrid(&z, r->gx, r->gy);
    if (!z)
        return;
    for (int i = 0; i < r->gx; i++)
        for (int j = 0; j < r->gy; j++)
            z[i][j] = r->cls[(size_t)i * r->gy + j];
    /* cmap1: each class's colour at 30% over white, one entry per class. */
    PLINT cr[MAX_CLASSES], cg[MAX_CLASSES], cb[MAX_CLASSES];
    for (int c = 0; c < r->k; c++) {
        cr[c] = (PLINT)lround(255 - 0.3 * (255 - PAL_R[COL_FIRST + c]));
        cg[c] = (PLINT)lround(255 - 0.3 * (255 - PAL_G[COL_FIRST + c]));
        cb[c] = (PLINT)lround(255 - 0.3 * (255 - PAL_B[COL_FIRST + c]));
    }
    plscmap1n(r->k);
    plscmap1(cr, cg, cb, r->k);
    const panel *p = &r->points;
    pladv(0);
    plvsta();
    plwind(r->x0, r->x1, r->y0, r->y1);
    plimage((PLFLT_MATRIX)z, r->gx, r->gy, r->x0, r->x1, r->y0, r->y1, 0, r->k - 1, r->x0, r->x1, r->y0, r->y1);
    plFree2dGrid(z, r->gx, r->gy);
    draw_frame(p);
    for (int s = 0; s < p->n_series; s++)
        draw_series(&p->s[s]);
    draw_legend(p, r->y0, r->y1);
}

/* Runs the PLplot calls of a job; PLplot errors arrive through the jump. */
static void draw(const job *j, const char *file)
{
    PLINT strm;
    plmkstrm(&strm);
    plsdev(j->device);
    plsfnam(file);
    plspage(0, 0, j->width, j->height, 0, 0);
    plscmap0(PAL_R, PAL_G, PAL_B, N_COLORS);
    plssub(j->cols, j->rows);
    plinit();
    if (j->cm)
        draw_confusion(j->cm);
    if (j->rg)
        draw_regions(j->rg);
    if (j->custom)
        j->custom(j->custom_arg);
    for (int p = 0; p < j->n_panels; p++)
        draw_panel(&j->panels[p]);
    plend1();
}

/* Checks the target, then draws with the exit handler set, all under the
 * lock (asking PLplot for its drivers touches its global state too). */
static dc_status run(const char *where, job *j)
{
    pthread_mutex_lock(&plot_lock);
    dc_status st = pick_device(where, j->path, &j->device);
    if (st == DC_OK && (j->width < MIN_SIDE || j->width > MAX_SIDE || j->height < MIN_SIDE || j->height > MAX_SIDE))
        st = dc_fail(DC_ERR_ARG, "%s: size %d x %d pixels, expected %d to %d each", where, j->width, j->height, MIN_SIDE,
                     MAX_SIDE);
    char tmp[4096];
    if (st == DC_OK)
        st = make_temp(where, j->path, tmp, sizeof tmp);
    if (st != DC_OK) {
        pthread_mutex_unlock(&plot_lock);
        return st;
    }
    plsexit(on_plplot_exit);
    plot_active = 1;
    if (setjmp(plot_jump) == 0) {
        draw(j, tmp);
        plot_active = 0;
        if (rename(tmp, j->path) != 0)
            st = dc_fail(DC_ERR_IO, "%s: cannot write %s: %s", where, j->path, strerror(errno));
    } else {
        st = dc_fail(DC_ERR_IO, "%s: PLplot failed writing %s: %s", where, j->path, plot_error);
    }
    if (st != DC_OK)
        remove(tmp);
    plsexit(NULL);
    pthread_mutex_unlock(&plot_lock);
    return st;
}

/* ------------------------------------------------------------- API */

dc_status dc_plot_run(const char *where, const char *path, int width, int height, void (*draw_fn)(const void *arg),
                      const void *arg)
{
    job j = {.path = path, .width = width, .height = height, .cols = 1, .rows = 1, .custom = draw_fn, .custom_arg = arg};
    return run(where, &j);
}

dc_plot_config dc_plot_defaults(void)
{
    dc_plot_config c = {NULL, NULL, NULL, 800, 600};
    return c;
}

dc_status dc_plot_scatter_line(const char *path, const float *x, const float *y, int n, const char *points_label,
                               const float *line_x, const float *line_y, int n_line, const char *line_label,
                               const dc_plot_config *cfg_in)
{
    const char *where = "plot_scatter_line";
    dc_plot_config cfg = cfg_in ? *cfg_in : dc_plot_defaults();
    dc_status st = dc_plot_check_values(where, "x", x, n);
    if (st == DC_OK)
        st = dc_plot_check_values(where, "y", y, n);
    if (st == DC_OK && n_line)
        st = dc_plot_check_values(where, "line_x", line_x, n_line);
    if (st == DC_OK && n_line)
        st = dc_plot_check_values(where, "line_y", line_y, n_line);
    if (st != DC_OK)
        return st;
    if (n_line < 0)
        return dc_fail(DC_ERR_ARG, "%s: n_line is %d; expected 0 (no line) or more", where, n_line);
    panel p = {.title = cfg.title ? cfg.title : "", .xlabel = cfg.xlabel ? cfg.xlabel : "x",
               .ylabel = cfg.ylabel ? cfg.ylabel : "y"};
    p.s[p.n_series++] = (series){x, y, n, 1, 0, COL_FIRST, points_label ? points_label : "data"};
    if (n_line)
        p.s[p.n_series++] = (series){line_x, line_y, n_line, 0, 0, COL_FIRST + 1, line_label ? line_label : "fit"};
    job j = {.path = path, .width = cfg.width, .height = cfg.height, .cols = 1, .rows = 1, .panels = &p, .n_panels = 1};
    return run(where, &j);
}

/* An empty panel of one History key against the epoch, titled
 * "<title>: <key>" (the text lives in title_buf). */
static panel *history_panel(panel *p, char title_buf[TEXT_CAP], const char *title, const char *key)
{
    snprintf(title_buf, TEXT_CAP, "%s%s%s", title ? title : "", title && *title ? ": " : "", key);
    *p = (panel){.title = title_buf, .xlabel = "epoch", .ylabel = key};
    return p;
}

dc_status dc_plot_history(const char *path, const dc_history *h, const char *title)
{
    const char *where = "plot_history";
    if (!h || h->epochs < 1 || h->n_keys < 1)
        return dc_fail(DC_ERR_ARG, "%s: the history is %s; fit for at least one epoch first", where,
                       h ? "empty" : "NULL");
    panel panels[MAX_SERIES];
    char titles[MAX_SERIES][TEXT_CAP];
    int n_panels = 0;
    float *epochs = dc_malloc((size_t)h->epochs * sizeof *epochs);
    float *vals = dc_malloc((size_t)h->epochs * (size_t)h->n_keys * sizeof *vals);
    dc_status st = epochs && vals ? DC_OK : DC_ERR_NOMEM;
    for (int e = 0; st == DC_OK && e < h->epochs; e++)
        epochs[e] = (float)(e + 1);
    for (int k = 0; st == DC_OK && k < h->n_keys; k++) {
        float *v = vals + (size_t)k * (size_t)h->epochs;
        int finite = 0;
        for (int e = 0; e < h->epochs; e++) {
            v[e] = (float)h->values[k][e];
            finite += isfinite(v[e]) != 0;
        }
        /* Non-finite values (a diverged loss; NaN for epochs before a
         * callback added its key) are gaps in the curve, as in matplotlib. */
        if (!finite) {
            st = dc_fail(DC_ERR_NAN, "%s: %s has no finite value in %d epochs; nothing to plot", where, h->keys[k],
                         h->epochs);
            break;
        }
        if (strncmp(h->keys[k], "val_", 4) == 0)
            continue;
        if (n_panels == MAX_SERIES) {
            st = dc_fail(DC_ERR_ARG, "%s: more than %d metrics", where, MAX_SERIES);
            break;
        }
        panel *p = history_panel(&panels[n_panels], titles[n_panels], title, h->keys[k]);
        n_panels++;
        p->s[p->n_series++] = (series){epochs, v, h->epochs, 0, 0, COL_FIRST, "training"};
    }
    /* Each "val_<name>" joins the panel of <name>, dashed; one without a
     * training twin (a callback's own validation score) gets a panel. */
    for (int k = 0; st == DC_OK && k < h->n_keys; k++) {
        if (strncmp(h->keys[k], "val_", 4) != 0)
            continue;
        int p = 0;
        while (p < n_panels && strcmp(panels[p].ylabel, h->keys[k] + 4) != 0)
            p++;
        if (p == n_panels) {
            if (n_panels == MAX_SERIES) {
                st = dc_fail(DC_ERR_ARG, "%s: more than %d metrics", where, MAX_SERIES);
                break;
            }
            history_panel(&panels[p], titles[p], title, h->keys[k]);
            n_panels++;
        }
        if (panels[p].n_series < MAX_SERIES)
            panels[p].s[panels[p].n_series++] = (series){epochs, vals + (size_t)k * (size_t)h->epochs, h->epochs, 0,
                                                         1, COL_FIRST + 1, "validation"};
    }
    if (st == DC_OK) {
        int cols = n_panels < 2 ? 1 : 2, rows = (n_panels + cols - 1) / cols;
        job j = {.path = path, .width = 600 * cols, .height = 450 * rows, .cols = cols, .rows = rows,
                 .panels = panels, .n_panels = n_panels};
        st = run(where, &j);
    }
    free(epochs);
    free(vals);
    return st;
}

dc_status dc_plot_confusion_matrix(const char *path, const float *y_true, const float *y_pred, int n, int n_classes,
                                   const char *const *class_names, const char *title)
{
    const char *where = "plot_confusion_matrix";
    if (n_classes < 1 || n_classes > 1000)
        return dc_fail(DC_ERR_ARG, "%s: n_classes is %d, expected 1 to 1000", where, n_classes);
    dc_status st = dc_plot_check_values(where, "y_true", y_true, n);
    if (st == DC_OK)
        st = dc_plot_check_values(where, "y_pred", y_pred, n);
    for (int i = 0; st == DC_OK && i < n; i++) {
        float t = y_true[i], p = y_pred[i];
        if (t < 0 || t >= n_classes || t != floorf(t) || p < 0 || p >= n_classes || p != floorf(p))
            st = dc_fail(DC_ERR_RANGE, "%s: sample %d has labels true %g, predicted %g; expected integers 0 to %d",
                         where, i, (double)t, (double)p, n_classes - 1);
    }
    if (st != DC_OK)
        return st;
    confusion c = {y_true, y_pred, n, n_classes, class_names, title ? title : "Confusion matrix"};
    job j = {.path = path, .width = 700, .height = 600, .cols = 1, .rows = 1, .cm = &c};
    return run(where, &j);
}

/* The grid's side: 200 x 200 predictions, one batch of work for any model
 * small enough to have two inputs. */
enum { REGION_GRID = 200 };

dc_status dc_plot_decision_boundary(const char *path, dc_model *m, const dc_tensor *x, const dc_tensor *y,
                                    const char *const *class_names, const dc_plot_config *cfg_in)
{
    DC_CHECK_NULL(path);
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(y);
    const char *where = "plot_decision_boundary";
    dc_plot_config cfg = cfg_in ? *cfg_in : dc_plot_defaults();
    if (!m || !x || !y)
        return dc_fail(DC_ERR_ARG, "%s: the model, x and y must not be NULL", where);
    if (x->ndim != 2 || x->shape[1] != 2) {
        char sx[64];
        return dc_fail(DC_ERR_SHAPE, "%s: x has shape %s; expected (samples, 2): the regions are drawn in the plane of "
                                     "two inputs",
                       where, dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    }
    int n = x->shape[0];
    if ((size_t)n != y->size)
        return dc_fail(DC_ERR_SHAPE, "%s: x has %d samples but y has %zu labels", where, n, y->size);
    dc_status st = dc_plot_check_values(where, "x", x->data, 2 * n);
    if (st != DC_OK)
        return st;

    /* The grid covers the points with a 5% margin, as a panel's axes do. */
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        for (int d = 0; d < 2; d++) {
            double v = x->data[2 * i + d];
            lo[d] = v < lo[d] ? v : lo[d];
            hi[d] = v > hi[d] ? v : hi[d];
        }
    for (int d = 0; d < 2; d++)
        pad_range(&lo[d], &hi[d]);
    const int g = REGION_GRID;
    dc_tensor *grid = dc_tensor_new(2, (int[]){g * g, 2}), *out = NULL;
    if (!grid)
        return DC_ERR_NOMEM;
    for (int i = 0; i < g; i++)
        for (int j = 0; j < g; j++) {
            grid->data[2 * ((size_t)i * g + j)] = (float)(lo[0] + (i + 0.5) * (hi[0] - lo[0]) / g);
            grid->data[2 * ((size_t)i * g + j) + 1] = (float)(lo[1] + (j + 0.5) * (hi[1] - lo[1]) / g);
        }
    st = dc_model_predict(m, grid, 1024, &out);
    dc_tensor_free(grid);
    if (st != DC_OK) {
        dc_err_prefix(where);
        return st;
    }
    int out_cols = out->ndim == 2 ? out->shape[1] : 0, k = out_cols == 1 ? 2 : out_cols;
    if (k < 2 || k > MAX_CLASSES) {
        char so[64];
        st = dc_fail(DC_ERR_SHAPE, "%s: the model outputs %s per grid point; expected one probability (sigmoid) or 2 "
                                   "to %d class scores",
                     where, dc_shape_str(out->ndim - 1, out->shape + 1, so, sizeof so), MAX_CLASSES);
        dc_tensor_free(out);
        return st;
    }
    /* The predicted class of each grid point, in place over the output. */
    float *cls = out->data;
    for (size_t p = 0; p < (size_t)g * g; p++) {
        const float *row = out->data + p * (size_t)out_cols;
        int best = 0;
        if (out_cols == 1) {
            best = row[0] > 0.5f;
        } else {
            for (int c = 1; c < out_cols; c++)
                best = row[c] > row[best] ? c : best;
        }
        cls[p] = (float)best;
    }

    /* The points, grouped by class (a counting sort), one series each. */
    int counts[MAX_CLASSES + 1] = {0};
    for (int i = 0; i < n && st == DC_OK; i++) {
        float c = y->data[i];
        if (!(c >= 0 && c < k && c == floorf(c)))
            st = dc_fail(DC_ERR_RANGE, "%s: y[%d] is %g; expected a class 0 to %d (the model has %d)", where, i,
                         (double)c, k - 1, k);
        else
            counts[(int)c + 1]++;
    }
    float *px = st == DC_OK ? dc_malloc(2 * (size_t)n * sizeof *px) : NULL;
    if (st == DC_OK && !px)
        st = DC_ERR_NOMEM;
    if (st == DC_OK) {
        float *py = px + n;
        for (int c = 0; c < k; c++)
            counts[c + 1] += counts[c];
        int fill[MAX_CLASSES];
        memcpy(fill, counts, sizeof fill);
        for (int i = 0; i < n; i++) {
            int c = (int)y->data[i], at = fill[c]++;
            px[at] = x->data[2 * i];
            py[at] = x->data[2 * i + 1];
        }
        char names[MAX_CLASSES][TEXT_CAP];
        regions r = {cls, g, g, k, lo[0], hi[0], lo[1], hi[1],
                     {.title = cfg.title ? cfg.title : "Decision regions", .xlabel = cfg.xlabel ? cfg.xlabel : "x[0]",
                      .ylabel = cfg.ylabel ? cfg.ylabel : "x[1]"}};
        for (int c = 0; c < k; c++) {
            if (class_names)
                snprintf(names[c], TEXT_CAP, "%s", class_names[c]);
            else
                snprintf(names[c], TEXT_CAP, "class %d", c);
            if (counts[c + 1] > counts[c])
                r.points.s[r.points.n_series++] = (series){px + counts[c], py + counts[c], counts[c + 1] - counts[c],
                                                           1, 0, COL_FIRST + c, names[c]};
        }
        job j = {.path = path, .width = cfg.width, .height = cfg.height, .cols = 1, .rows = 1, .rg = &r};
        st = run(where, &j); /* n >= 1 valid labels: at least one series */
    }
    free(px);
    dc_tensor_free(out);
    return st;
}
