/*
 * plot_internal.h - what plot.c shares with the other plot files: its checks
 * and its way of running PLplot (one process-wide lock, a stream of its own,
 * PLplot's exit turned into a returned DC_ERR_IO).
 */
#ifndef DC_PLOT_INTERNAL_H
#define DC_PLOT_INTERNAL_H

#include "core/core.h"
#include "deepc_plot.h"

/* DC_ERR_ARG unless v has n >= 1 values, DC_ERR_NAN on a non-finite one; the message names where and what. */
dc_status dc_plot_check_values(const char *where, const char *what, const float *v, int n);
/* Checks path (".png" or ".svg", writable) and the size (16 to 10000
 * pixels a side), then, under plot.c's lock and exit handler, opens a page
 * (plinit done, tab10 in cmap0) and calls draw_fn(arg) to make the PLplot
 * calls.  Errors name `where`. */
dc_status dc_plot_run(const char *where, const char *path, int width, int height, void (*draw_fn)(const void *arg),
                      const void *arg);

#endif
