/*
 * image_dir.c - image_dataset_from_directory: a folder of class
 * sub-folders of images as a dc_loader (Keras 3's
 * keras/src/utils/image_dataset_utils.py).
 *
 * The files, labels and split come from dataset_index.c (Keras' rules,
 * cited there); this file checks the image arguments as Keras does
 * (color_mode, image_size, interpolation, crop and pad not both) and makes
 * the source: a sample is read, decoded (image_decode.c: libjpeg-turbo,
 * stb_image) to the color_mode's channels and resized to image_size with
 * tf.image.resize's bilinear (or smart_resize's crop, resize_with_pad's
 * pad) when a batch asks for it, on the dataset's worker threads.  Pixels
 * stay 0..255 floats, as Keras yields them; y is the label as an id (int),
 * a one-hot row (categorical) or 0/1 (binary).
 */
#include "data/dataset_internal.h"
#include "data/image_decode.h"
#include "core/checked.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const IMAGE_FORMATS[] = {".bmp", ".gif", ".jpeg", ".jpg", ".png"};

dc_image_dir_config dc_image_dir_defaults(void)
{
    dc_image_dir_config c;
    memset(&c, 0, sizeof c);
    c.label_mode = DC_LABEL_INT;
    c.color_mode = DC_COLOR_RGB;
    c.image_size[0] = c.image_size[1] = 256;
    c.batch_size = 32;
    c.shuffle = 1;
    c.seed = DC_SEED_NONE;
    c.interpolation = "bilinear";
    c.verbose = 1;
    c.max_pixels = DC_IMAGE_MAX_PIXELS_DEFAULT;
    return c;
}

typedef struct image_source {
    int channels, h, w, nearest;
    dc_image_fit fit;
    dc_label_mode label_mode;
    size_t max_pixels;
} image_source;

/* y of sample i by the label mode (nothing without labels). */
static void fill_label(const dc_loader *ds, dc_label_mode mode, int i, float *y)
{
    if (!y)
        return;
    int l = ds->labels[i];
    if (mode == DC_LABEL_CATEGORICAL) {
        memset(y, 0, ds->y_per * sizeof(float));
        if (l >= 0 && (size_t)l < ds->y_per)
            y[l] = 1.0f;
    } else {
        y[0] = (float)l;
    }
}

/* Sample i into x (and y): read into the thread's scratch, decoded into
 * it, and converted to floats straight into the batch (resized when the
 * image is not already image_size). */
static dc_status image_row(const dc_loader *ds, dc_image_scratch *sc, int i, float *x, float *y)
{
    const image_source *s = ds->source;
    size_t n;
    dc_image_u8 img;
    dc_status st = dc_image_read(ds->paths[i], sc, &n);
    if (st == DC_OK)
        st = dc_image_decode_in(sc->file, n, ds->paths[i], s->channels, s->max_pixels, sc, &img);
    if (st != DC_OK)
        return st;
    if (s->fit == DC_FIT_PAD)
        memset(x, 0, ds->x_per * sizeof(float));
    st = dc_image_resize(&img, s->h, s->w, s->fit, s->nearest, x);
    fill_label(ds, s->label_mode, i, y);
    return st;
}

/* A batch's rows, with one scratch for all of them. */
static dc_status image_rows(const dc_loader *ds, const int *order, int first, int off, int len, dc_tensor *x,
                            dc_tensor *y)
{
    dc_image_scratch sc = {0};
    dc_status st = DC_OK;
    for (int r = off; r < off + len && st == DC_OK; r++) {
        int i = order ? order[first + r] : first + r;
        st = image_row(ds, &sc, i, x->data + (size_t)r * ds->x_per, y ? y->data + (size_t)r * ds->y_per : NULL);
    }
    dc_image_scratch_free(&sc);
    return st;
}

static void image_free(dc_loader *ds) { free(ds->source); }

/* A dataset over one subset of the index (which it takes over). */
static dc_status make_dataset(dc_dir_index *ix, const dc_image_dir_config *c, int channels, dc_loader **out)
{
    int has_y = ix->labels != NULL;
    int y_ndim = !has_y ? -1 : c->label_mode == DC_LABEL_INT ? 0 : 1;
    int y_shape[1] = {c->label_mode == DC_LABEL_CATEGORICAL ? ix->n_classes : 1};
    int x_shape[3] = {c->image_size[0], c->image_size[1], channels};
    dc_loader *ds = dc_loader_alloc("image_dataset_from_directory", c->batch_size, 3, x_shape, y_ndim, y_shape);
    image_source *s = ds ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        dc_loader_free(ds);
        return ds ? dc_fail(DC_ERR_NOMEM, "image_dataset_from_directory: out of memory") : dc_last_status();
    }
    s->channels = channels;
    s->h = c->image_size[0];
    s->w = c->image_size[1];
    s->nearest = c->interpolation && !strcasecmp(c->interpolation, "nearest");
    s->fit = c->crop_to_aspect_ratio ? DC_FIT_CROP : c->pad_to_aspect_ratio ? DC_FIT_PAD : DC_FIT_STRETCH;
    s->label_mode = c->label_mode;
    s->max_pixels = c->max_pixels ? c->max_pixels : DC_IMAGE_MAX_PIXELS_DEFAULT;
    ds->source = s;
    ds->free_source = image_free;
    ds->fill_rows = image_rows;
    ds->shuffle = c->shuffle != 0;
    /* take over the index's arrays */
    ds->n = ix->n;
    ds->paths = ix->paths;
    ds->labels = ix->labels;
    ds->n_classes = ix->n_classes;
    ds->class_names = ix->class_names;
    memset(ix, 0, sizeof *ix);
    *out = ds;
    return DC_OK;
}

dc_status dc_image_dataset_from_directory(const char *directory, const dc_image_dir_config *cfg, dc_loader **out,
                                          dc_loader **validation)
{
    DC_CHECK_NULL(directory);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (validation)
        *validation = NULL;
    const char *fn = "image_dataset_from_directory";
    dc_image_dir_config c = cfg ? *cfg : dc_image_dir_defaults();
    int channels = c.color_mode == DC_COLOR_RGB ? 3 : c.color_mode == DC_COLOR_RGBA ? 4
                                                  : c.color_mode == DC_COLOR_GRAYSCALE ? 1 : 0;
    if (!channels)
        return dc_fail(DC_ERR_ARG, "%s: `color_mode` must be one of {\"rgb\", \"rgba\", \"grayscale\"}. Received: "
                                   "color_mode=%d",
                       fn, (int)c.color_mode);
    if (c.image_size[0] < 1 || c.image_size[1] < 1 || c.image_size[0] > DC_DIM_LIMIT || c.image_size[1] > DC_DIM_LIMIT)
        return dc_fail(DC_ERR_ARG, "%s: invalid `image_size` value. Expected a tuple of 2 positive integers (at most "
                                   "%d). Received: image_size=(%d, %d)",
                       fn, DC_DIM_LIMIT, c.image_size[0], c.image_size[1]);
    if (c.batch_size < 1)
        return dc_fail(DC_ERR_ARG, "%s: batch_size %d, expected at least 1", fn, c.batch_size);
    if (c.interpolation && strcasecmp(c.interpolation, "bilinear") && strcasecmp(c.interpolation, "nearest"))
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: argument `interpolation` should be \"bilinear\" or \"nearest\" "
                                           "(Keras' bicubic, area, lanczos3, lanczos5, gaussian and mitchellcubic "
                                           "are not implemented). Received: interpolation=%s",
                       fn, c.interpolation);
    if (c.crop_to_aspect_ratio && c.pad_to_aspect_ratio)
        return dc_fail(DC_ERR_ARG, "%s: only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to True",
                       fn);
    if (c.subset == DC_SUBSET_BOTH && !validation)
        return dc_fail(DC_ERR_ARG, "%s: subset \"both\" returns two datasets but validation is NULL", fn);
    dc_dir_args a = {fn, IMAGE_FORMATS, 5, c.label_mode, c.labels, c.n_labels, c.class_names, c.n_class_names,
                     c.shuffle, c.seed, c.validation_split, c.subset, c.follow_links, c.verbose};
    dc_dir_index train, val;
    dc_status st = dc_dir_index_build(directory, &a, "images", &train, &val);
    if (st != DC_OK)
        return st;
    dc_loader *dt = NULL, *dv = NULL;
    st = make_dataset(&train, &c, channels, &dt);
    if (st == DC_OK && c.subset == DC_SUBSET_BOTH) {
        dc_image_dir_config cv = c;
        cv.shuffle = 0; /* Keras: the validation dataset is not shuffled */
        st = make_dataset(&val, &cv, channels, &dv);
    }
    dc_dir_index_free(&train);
    dc_dir_index_free(&val);
    if (st != DC_OK) {
        dc_loader_free(dt);
        return st;
    }
    *out = dt;
    if (validation)
        *validation = dv;
    return DC_OK;
}
