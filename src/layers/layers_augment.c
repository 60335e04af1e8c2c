/*
 * layers_augment.c - Keras' image augmentation layers, channels last, with
 * Keras 3's arguments, defaults, names and configs: RandomFlip,
 * RandomTranslation, RandomRotation and RandomZoom (the one random_affine op
 * with Keras' transform of each), RandomBrightness and RandomContrast (the
 * random_color op).  Random in fit, the identity in evaluate / predict (the
 * ops in ops_augment.c look at the run's training flag).  No weights.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

static const char *const fill_names[DC_FILL_COUNT] = {"reflect", "constant", "wrap", "nearest"};

static dc_status image_input(const dc_layer *l, const dc_node *x)
{
    return x->ndim == 4 ? DC_OK : dc_layer_rank_error(l, x, 4);
}

static void write_seed_format(dc_jw *w)
{
    dc_jw_null(w, "seed");
    dc_jw_str(w, "data_format", "channels_last");
}

/* A string key, or NULL when absent or null; *bad set on another type. */
static const char *cfg_str(const dc_json *cfg, const char *key, int *bad)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v || v->type == DC_JSON_NULL)
        return NULL;
    if (v->type != DC_JSON_STRING) {
        *bad = 1;
        dc_fail(DC_ERR_FORMAT, "key \"%s\" must be a string", key);
        return NULL;
    }
    return v->str;
}

/* ---- RandomFlip ---- */

static const char *const flip_names[4] = {NULL, "horizontal", "vertical", "horizontal_and_vertical"};

static dc_status flip_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    if (image_input(l, x))
        return DC_ERR_SHAPE;
    call->out = dc_random_flip(g, x, l->cfg.augment.flip_mode);
    return call->out ? DC_OK : dc_last_status();
}

static void flip_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_str(w, "mode", flip_names[l->cfg.augment.flip_mode]);
    write_seed_format(w);
}

static dc_layer *flip_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cls;
    int bad = 0;
    const char *mode = cfg_str(cfg, "mode", &bad);
    if (bad || dc_cfg_channels_last(cfg))
        return NULL;
    return dc_layer_random_flip(mode);
}

const dc_layer_class dc_class_random_flip = {.type = "RandomFlip", .snake = "random_flip", .build = flip_build,
                                             .to_config = flip_to_config, .from_config = flip_from_config};

dc_layer *dc_layer_random_flip(const char *mode)
{
    int m = 3;
    if (mode) {
        for (m = 1; m < 4 && strcmp(mode, flip_names[m]) != 0; m++)
            ;
        if (m == 4)
            return dc_fail_null(DC_ERR_ARG,
                                "RandomFlip: mode \"%s\", expected \"horizontal\", \"vertical\" or "
                                "\"horizontal_and_vertical\"",
                                mode);
    }
    dc_layer *l = dc_layer_new(&dc_class_random_flip);
    if (l)
        l->cfg.augment.flip_mode = m;
    return l;
}

/* ---- RandomTranslation, RandomRotation, RandomZoom: the random_affine op ---- */

static dc_affine_kind kind_of(const dc_layer_class *cls)
{
    return cls == &dc_class_random_rotation ? DC_AFFINE_ROTATE
                                            : (cls == &dc_class_random_zoom ? DC_AFFINE_ZOOM : DC_AFFINE_TRANSLATE);
}

static dc_status affine_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    if (image_input(l, x))
        return DC_ERR_SHAPE;
    call->out = dc_random_affine(g, x, (dc_affine_kind)l->cfg.augment.kind, l->cfg.augment.height,
                              l->cfg.augment.width_none ? NULL : l->cfg.augment.width,
                              (dc_fill_mode)l->cfg.augment.fill_mode, l->cfg.augment.bilinear,
                              l->cfg.augment.fill_value);
    return call->out ? DC_OK : dc_last_status();
}

/* Keras writes a factor as given: a symmetric range as its one float. */
static void write_factor(dc_jw *w, const char *key, const float *r)
{
    if (!r) {
        dc_jw_null(w, key);
    } else if (r[0] == -r[1]) {
        dc_jw_float(w, key, r[1]);
    } else {
        dc_jw_array(w, key);
        dc_jw_float(w, NULL, r[0]);
        dc_jw_float(w, NULL, r[1]);
        dc_jw_end(w);
    }
}

static void affine_to_config(const dc_layer *l, dc_jw *w)
{
    if (l->cfg.augment.kind == DC_AFFINE_ROTATE) {
        write_factor(w, "factor", l->cfg.augment.height);
    } else {
        write_factor(w, "height_factor", l->cfg.augment.height);
        write_factor(w, "width_factor", l->cfg.augment.width_none ? NULL : l->cfg.augment.width);
    }
    dc_jw_str(w, "fill_mode", fill_names[l->cfg.augment.fill_mode]);
    dc_jw_str(w, "interpolation", l->cfg.augment.bilinear ? "bilinear" : "nearest");
    dc_jw_float(w, "fill_value", l->cfg.augment.fill_value);
    write_seed_format(w);
}

/* Keras' factor forms: a number f is (-|f|, |f|); a pair is sorted.  With
 * `optional`, an absent or null key sets *none instead. */
static dc_status cfg_factor(const dc_json *cfg, const char *key, int optional, float *r, int *none)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (optional && (!v || v->type == DC_JSON_NULL)) {
        *none = 1;
        return DC_OK;
    }
    if (dc_cfg_need(cfg, key))
        return DC_ERR_FORMAT;
    if (v->type == DC_JSON_NUMBER) {
        r[1] = fabsf((float)v->num);
        r[0] = -r[1];
        return DC_OK;
    }
    if (v->type != DC_JSON_ARRAY || v->len != 2 || v->items[0].type != DC_JSON_NUMBER ||
        v->items[1].type != DC_JSON_NUMBER)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" must be a number or a list of two numbers", key);
    float a = (float)v->items[0].num, b = (float)v->items[1].num;
    r[0] = a < b ? a : b;
    r[1] = a < b ? b : a;
    return DC_OK;
}

static dc_layer *affine_new(const dc_layer_class *cls, const float *height, const float *width, const char *fill_mode,
                            const char *interpolation, float fill_value);

static dc_layer *affine_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float h[2], w[2], fill_value = 0.0f;
    int bad = 0, none = 0, rotate = kind_of(cls) == DC_AFFINE_ROTATE;
    const char *fill = cfg_str(cfg, "fill_mode", &bad);
    const char *interp = bad ? NULL : cfg_str(cfg, "interpolation", &bad);
    if (bad || cfg_factor(cfg, rotate ? "factor" : "height_factor", 0, h, &none) ||
        (!rotate && cfg_factor(cfg, "width_factor", cls == &dc_class_random_zoom, w, &none)) ||
        dc_cfg_float(cfg, "fill_value", &fill_value) || dc_cfg_channels_last(cfg))
        return NULL;
    return affine_new(cls, h, rotate || none ? NULL : w, fill, interp, fill_value);
}

const dc_layer_class dc_class_random_translation = {.type = "RandomTranslation", .snake = "random_translation",
                                                    .build = affine_build, .to_config = affine_to_config,
                                                    .from_config = affine_from_config};
const dc_layer_class dc_class_random_rotation = {.type = "RandomRotation", .snake = "random_rotation",
                                                 .build = affine_build, .to_config = affine_to_config,
                                                 .from_config = affine_from_config};
const dc_layer_class dc_class_random_zoom = {.type = "RandomZoom", .snake = "random_zoom", .build = affine_build,
                                             .to_config = affine_to_config, .from_config = affine_from_config};

/* Checks a (lower, upper) factor in [-1, 1]. */
static dc_status check_range(const char *layer, const char *what, const float *r)
{
    if (!r)
        return dc_fail(DC_ERR_ARG, "%s: %s is NULL, expected (lower, upper)", layer, what);
    if (!(r[0] >= -1.0f && r[0] <= 1.0f && r[1] >= -1.0f && r[1] <= 1.0f && r[0] <= r[1]))
        return dc_fail(DC_ERR_ARG, "%s: %s (%g, %g), expected values in [-1, 1] with lower <= upper", layer, what,
                       (double)r[0], (double)r[1]);
    return DC_OK;
}

/* fill_mode and interpolation names into *fill and *bilinear. */
static dc_status parse_sampling(const char *layer, const char *fill_mode, const char *interpolation, int *fill,
                                int *bilinear)
{
    *fill = DC_FILL_REFLECT;
    if (fill_mode) {
        for (*fill = 0; *fill < DC_FILL_COUNT && strcmp(fill_mode, fill_names[*fill]) != 0; (*fill)++)
            ;
        if (*fill == DC_FILL_COUNT)
            return dc_fail(DC_ERR_ARG,
                           "%s: fill_mode \"%s\" is not supported; expected \"reflect\", \"constant\", \"wrap\" "
                           "or \"nearest\"",
                           layer, fill_mode);
    }
    *bilinear = !interpolation || strcmp(interpolation, "bilinear") == 0;
    if (!*bilinear && strcmp(interpolation, "nearest") != 0)
        return dc_fail(DC_ERR_ARG, "%s: interpolation \"%s\" is not supported; expected \"bilinear\" or \"nearest\"",
                       layer, interpolation);
    return DC_OK;
}

/* width NULL: none (rotation; zoom's width_factor=None). */
static dc_layer *affine_new(const dc_layer_class *cls, const float *height, const float *width, const char *fill_mode,
                            const char *interpolation, float fill_value)
{
    int fill, bilinear, rotate = kind_of(cls) == DC_AFFINE_ROTATE;
    if (check_range(cls->type, rotate ? "factor" : "height_factor", height) ||
        ((width || cls == &dc_class_random_translation) && check_range(cls->type, "width_factor", width)) ||
        parse_sampling(cls->type, fill_mode, interpolation, &fill, &bilinear))
        return NULL;
    if (!isfinite(fill_value))
        return dc_fail_null(DC_ERR_ARG, "%s: fill_value %g, expected a finite value", cls->type, (double)fill_value);
    dc_layer *l = dc_layer_new(cls);
    if (l) {
        l->cfg.augment.kind = kind_of(cls);
        memcpy(l->cfg.augment.height, height, 2 * sizeof(float));
        l->cfg.augment.width_none = !width;
        if (width)
            memcpy(l->cfg.augment.width, width, 2 * sizeof(float));
        l->cfg.augment.fill_mode = fill;
        l->cfg.augment.bilinear = bilinear;
        l->cfg.augment.fill_value = fill_value;
    }
    return l;
}

dc_layer *dc_layer_random_translation(const float height_factor[2], const float width_factor[2], const char *fill_mode,
                                      const char *interpolation, float fill_value)
{
    return affine_new(&dc_class_random_translation, height_factor, width_factor, fill_mode, interpolation, fill_value);
}

dc_layer *dc_layer_random_rotation(const float factor[2], const char *fill_mode, const char *interpolation,
                                   float fill_value)
{
    return affine_new(&dc_class_random_rotation, factor, NULL, fill_mode, interpolation, fill_value);
}

dc_layer *dc_layer_random_zoom(const float height_factor[2], const float width_factor[2], const char *fill_mode,
                               const char *interpolation, float fill_value)
{
    return affine_new(&dc_class_random_zoom, height_factor, width_factor, fill_mode, interpolation, fill_value);
}

/* ---- RandomBrightness, RandomContrast: the random_color op ----
 * cfg.augment.height holds Keras' (lower, upper) factor, width the
 * value_range. */

static int is_contrast(const dc_layer_class *cls) { return cls == &dc_class_random_contrast; }

static dc_status color_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    const float *f = l->cfg.augment.height;
    float range[2] = {f[0], f[1]};
    if (image_input(l, x))
        return DC_ERR_SHAPE;
    if (is_contrast(l->cls)) { /* Keras: uniform(1 - lower, 1 + upper) */
        range[0] = 1.0f - f[0];
        range[1] = 1.0f + f[1];
    }
    call->out = dc_random_color(g, x, is_contrast(l->cls), range, l->cfg.augment.width);
    return call->out ? DC_OK : dc_last_status();
}

static void color_to_config(const dc_layer *l, dc_jw *w)
{
    const float *f = l->cfg.augment.height;
    if (is_contrast(l->cls) && f[0] == f[1])
        dc_jw_float(w, "factor", f[0]);
    else
        write_factor(w, "factor", f);
    dc_jw_array(w, "value_range");
    dc_jw_float(w, NULL, l->cfg.augment.width[0]);
    dc_jw_float(w, NULL, l->cfg.augment.width[1]);
    dc_jw_end(w);
    dc_jw_null(w, "seed");
}

static dc_layer *color_new(const dc_layer_class *cls, const float *factor, const float *value_range);

static dc_layer *color_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    float f[2], vr[2] = {0.0f, 255.0f};
    int none = 0;
    const dc_json *v = dc_json_get(cfg, "value_range");
    if (cfg_factor(cfg, "factor", 0, f, &none))
        return NULL;
    if (is_contrast(cls) && dc_json_get(cfg, "factor")->type == DC_JSON_NUMBER)
        f[0] = f[1]; /* Keras' documented form: lower = upper = f */
    if (v && v->type != DC_JSON_NULL && cfg_factor(cfg, "value_range", 0, vr, &none))
        return NULL;
    if (v && v->type == DC_JSON_NUMBER)
        return dc_fail_null(DC_ERR_FORMAT, "key \"value_range\" must be a list of two numbers");
    return color_new(cls, f, vr);
}

const dc_layer_class dc_class_random_brightness = {.type = "RandomBrightness", .snake = "random_brightness",
                                                   .build = color_build, .to_config = color_to_config,
                                                   .from_config = color_from_config};
const dc_layer_class dc_class_random_contrast = {.type = "RandomContrast", .snake = "random_contrast",
                                                 .build = color_build, .to_config = color_to_config,
                                                 .from_config = color_from_config};

static dc_layer *color_new(const dc_layer_class *cls, const float *factor, const float *value_range)
{
    const float def[2] = {0.0f, 255.0f}, *vr = value_range ? value_range : def;
    if (!factor)
        return dc_fail_null(DC_ERR_ARG, "%s: factor is NULL, expected (lower, upper)", cls->type);
    if (is_contrast(cls)) {
        if (!(factor[0] >= 0.0f && factor[0] <= 1.0f && factor[1] >= 0.0f && factor[1] <= 1.0f))
            return dc_fail_null(DC_ERR_ARG, "%s: factor (%g, %g), expected values in [0, 1]", cls->type,
                                (double)factor[0], (double)factor[1]);
    } else if (check_range(cls->type, "factor", factor)) {
        return NULL;
    }
    if (!(vr[0] < vr[1]) || !isfinite(vr[0]) || !isfinite(vr[1]))
        return dc_fail_null(DC_ERR_ARG, "%s: value_range (%g, %g), expected finite low < high", cls->type,
                            (double)vr[0], (double)vr[1]);
    dc_layer *l = dc_layer_new(cls);
    if (l) {
        memcpy(l->cfg.augment.height, factor, 2 * sizeof(float));
        memcpy(l->cfg.augment.width, vr, 2 * sizeof(float));
    }
    return l;
}

dc_layer *dc_layer_random_brightness(const float factor[2], const float value_range[2])
{
    return color_new(&dc_class_random_brightness, factor, value_range);
}

dc_layer *dc_layer_random_contrast(const float factor[2], const float value_range[2])
{
    return color_new(&dc_class_random_contrast, factor, value_range);
}
