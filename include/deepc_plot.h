/*
 * deepc_plot.h - plots of data, training curves and models (the deepc_plot
 * library; link with deepc_plot, which links deepc).
 *
 * Drawn with PLplot (src/plot/plot.c): the format follows the path's
 * extension, ".png" (cairo PNG) or ".svg".  Every plot has a title,
 * labelled axes and a legend (a colour bar for the confusion matrix).
 * PLplot is not reentrant: deepc serialises its plot calls with a lock.
 * A program that never plots links only deepc, and so no PLplot or cairo.
 * NULL arguments follow the rule at the top of deepc.h.
 */
#ifndef DEEPC_PLOT_H
#define DEEPC_PLOT_H

#include "deepc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Title, axis labels and size of a plot; dc_plot_defaults() gives no title
 * or labels and 800 x 600 pixels. */
typedef struct dc_plot_config {
    const char *title, *xlabel, *ylabel;
    int width, height; /* pixels; default 800 x 600 */
} dc_plot_config;

dc_plot_config dc_plot_defaults(void);
/* A scatter of (x[i], y[i]), i < n, and a line through (line_x[j],
 * line_y[j]), j < n_line, sorted by x (n_line 0: no line), labelled in the
 * legend by points_label and line_label. */
dc_status dc_plot_scatter_line(const char *path, const float *x, const float *y, int n, const char *points_label,
                               const float *line_x, const float *line_y, int n_line, const char *line_label,
                               const dc_plot_config *cfg);
/* Training curves from a fit's History, the one-liner of Keras' tutorials:
 * one panel per metric ("loss", "accuracy", ...), each with the training
 * series and its "val_" twin when there is one, against the epoch (a "val_"
 * key without a twin gets its own panel).  Non-finite values are gaps in
 * the curves, as matplotlib draws them; a key with no finite value at all is
 * DC_ERR_NAN. */
dc_status dc_plot_history(const char *path, const dc_history *h, const char *title);
/* A confusion matrix of integer labels (as floats) y_true / y_pred, n of
 * each, classes 0..n_classes-1: rows true, columns predicted, counts in the
 * cells.  class_names (n_classes strings) may be NULL. */
dc_status dc_plot_confusion_matrix(const char *path, const float *y_true, const float *y_pred, int n, int n_classes,
                                   const char *const *class_names, const char *title);
/* A classifier's decision regions, the picture of matplotlib's contourf
 * tutorials: the model predicts a 200 x 200 grid covering the points (5%
 * margin), each cell is shaded with its predicted class's colour, and the
 * points x (n, 2) are drawn on top coloured by their labels y (n values,
 * classes 0..k-1).  The model takes 2 inputs and outputs one probability
 * (sigmoid: class 1 above 0.5) or k = 2 to 10 class scores (argmax).
 * class_names (k strings) may be NULL; cfg NULL means dc_plot_defaults().
 * Errors: x not (n, 2), y's length, a label out of range, non-finite x,
 * a model that does not take (2,) inputs or has another output. */
dc_status dc_plot_decision_boundary(const char *path, dc_model *m, const dc_tensor *x, const dc_tensor *y,
                                    const char *const *class_names, const dc_plot_config *cfg);
/* A grid of grayscale images (src/plot/plot_images.c), the autoencoder
 * tutorials' picture of originals above their reconstructions: `rows` rows
 * of `cols` images of h x w pixels; images[r] points to row r's cols*h*w
 * floats (image after image, row-major), 0 black to 1 white (values outside
 * [0, 1] are clipped).  row_labels (rows strings, or NULL) go left of each
 * row, title (or NULL) above.  The page is 140 + 64*cols by 40 + 64*rows
 * pixels.  Errors: rows or cols outside 1..100, h or w < 1, a NULL or
 * non-finite row (DC_ERR_NAN naming it), the path's. */
dc_status dc_plot_images(const char *path, const float *const *images, int rows, int cols, int h, int w,
                         const char *const *row_labels, const char *title);
/* Keras' plot_model(model, show_shapes=True): the model's graph, a box per
 * input and per layer ("name (Type)" over the output shape), arrows from
 * each to the layers that take its output, inputs on top.  PNG or SVG by
 * the extension.  Builds the model if it is not built (errors as compile's
 * build, prefixed "plot_model"). */
dc_status dc_plot_model(const char *path, dc_model *m);

/* ---- attributions (src/plot/plot_heatmap.c; deepc.h's explaining section) */

/* One method's maps for dc_plot_heatmaps: n maps of map_h x map_w values,
 * sample after sample (resized bilinearly onto the images: Grad-CAM's maps
 * are its layer's size).  signed_values 1 draws red for positive and blue
 * for negative values around 0 (integrated gradients, gradient x input),
 * 0 the values on the 'jet' colour map (saliency, Grad-CAM). */
typedef struct dc_heatmap_set {
    const char *label; /* the column's heading, or NULL */
    const float *maps;
    int map_h, map_w;
    int signed_values;
} dc_heatmap_set;

/* A grid of attributions, one row per sample: the image in grey, then each
 * set's map over the image in grey under its colour map, each map scaled by
 * the 99th percentile of its magnitudes.  images: n grey images of h x w, 0
 * black to 1 white (clipped).  row_labels (n strings) and title may be NULL.
 * The page is 190 + 128 * (n_sets + 1) by 58 + 128 * n pixels, PNG or SVG
 * by the extension.  Errors: n outside 1..100, n_sets outside
 * 1..20, sizes outside 1..512, NULL or non-finite maps (naming the set). */
dc_status dc_plot_heatmaps(const char *path, const float *images, int n, int h, int w, const dc_heatmap_set *sets,
                           int n_sets, const char *const *row_labels, const char *title);
/* An HTML page of texts, each token shaded by its attribution: red where it
 * pushed the explained output up, blue where down, the shade relative to
 * the text's largest magnitude (hovering shows the value).  Text i has
 * n_tokens[i] tokens tokens[i][k] and attributions attributions[i][k];
 * labels (n_texts strings) head the texts, title the page (both may be
 * NULL).  Written atomically.  Errors: n_texts outside 1..10000, a NULL
 * token, a non-finite attribution (DC_ERR_NAN), the path's. */
dc_status dc_plot_text_attributions(const char *path, int n_texts, const char *const *const *tokens,
                                    const int *n_tokens, const float *const *attributions,
                                    const char *const *labels, const char *title);

#ifdef __cplusplus
}
#endif

#endif /* DEEPC_PLOT_H */
