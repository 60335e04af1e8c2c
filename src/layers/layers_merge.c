/*
 * layers_merge.c - Keras 3's merge layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum and Concatenate (keras/src/layers/merging).
 *
 * A merge layer has no build(x); its class's build_merge joins 2 to
 * DC_MERGE_MAX inputs by chaining the binary ops left to right:
 * ((x0 op x1) op x2) ..., Average as the sum scaled by 1 / n, Concatenate as
 * concat on the resolved axis.  Subtract takes exactly 2 inputs, as Keras'.
 * The elementwise layers need equal shapes; Keras also broadcasts axes of
 * size 1 (and inputs of lower rank), which is refused here with an error
 * naming the layer and every input shape.  None has weights.
 *
 * Masks: the model sets call->mask before the build; the elementwise layers
 * pass it on, and Concatenate on the time axis of a sequence (axis 1 of 3 or
 * more axes) ends it, as the steps no longer line up with it.
 */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

enum { MERGE_ADD, MERGE_SUB, MERGE_MUL, MERGE_AVE, MERGE_MAX, MERGE_MIN, MERGE_CONCAT };

/* The layer's name, or its type's stem while it has none (built outside a model). */
static const char *merge_name(const dc_layer *l) { return l->name[0] ? l->name : l->cls->snake; }

/* "(None, 4, 3), (None, 4, 3) and (None, 4, 2)" into buf. */
static const char *shapes_str(int n, dc_node *const *xs, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        char s[96];
        if (xs[i]->batched)
            dc_batch_shape_str(xs[i]->ndim, xs[i]->shape, s, sizeof s);
        else
            dc_shape_str(xs[i]->ndim, xs[i]->shape, s, sizeof s);
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        used += (size_t)snprintf(buf + used, size - used, "%s%s", sep, s);
    }
    return buf;
}

/* Axis `axis` of the inputs, negative from the end, into [1, ndim), or -1. */
static int resolve_axis(int axis, int ndim)
{
    int a = axis < 0 ? ndim + axis : axis;
    return a >= 1 && a < ndim ? a : -1;
}

/* Whether every input has the shape of xs[0], except on `skip` (-1: none). */
static int shapes_agree(int n, dc_node *const *xs, int skip)
{
    for (int i = 1; i < n; i++) {
        if (xs[i]->ndim != xs[0]->ndim || xs[i]->batched != xs[0]->batched)
            return 0;
        for (int d = 0; d < xs[0]->ndim; d++)
            if (d != skip && xs[i]->shape[d] != xs[0]->shape[d])
                return 0;
    }
    return 1;
}

static dc_status merge_check(const dc_layer *l, int kind, int n, dc_node *const *xs, int *axis)
{
    const char *name = merge_name(l), *type = l->cls->type;
    char s[8 * 112];
    int lo = 2, hi = kind == MERGE_SUB ? 2 : DC_MERGE_MAX;
    if (n < lo || n > hi || !xs) {
        if (lo == hi)
            return dc_fail(DC_ERR_ARG, "%s: got %d inputs; %s takes exactly 2", name, n, type);
        return dc_fail(DC_ERR_ARG, "%s: got %d inputs; %s takes 2 to %d", name, n, type, hi);
    }
    for (int i = 0; i < n; i++)
        if (!xs[i])
            return dc_fail(DC_ERR_ARG, "%s: input %d is NULL (did an earlier layer fail?)", name, i);
    shapes_str(n, xs, s, sizeof s);
    if (kind != MERGE_CONCAT) {
        if (!shapes_agree(n, xs, -1))
            return dc_fail(DC_ERR_SHAPE, "%s: inputs have shapes %s; %s needs equal shapes (deepc does not broadcast "
                                         "axes of size 1)",
                           name, s, type);
        return DC_OK;
    }
    int want = l->cfg.merge.axis;
    *axis = resolve_axis(want, xs[0]->ndim);
    if (*axis < 0)
        return dc_fail(DC_ERR_SHAPE, "%s: axis %d of inputs with shapes %s is %s; expected 1 to %d or -%d to -1", name,
                       want, s, want < 0 && want + xs[0]->ndim == 0 ? "the batch axis" : "out of range",
                       xs[0]->ndim - 1, xs[0]->ndim - 1);
    if (!shapes_agree(n, xs, *axis))
        return dc_fail(DC_ERR_SHAPE, "%s: inputs have shapes %s; %s needs equal shapes except on axis %d", name, s,
                       type, want);
    return DC_OK;
}

static const dc_layer_class *const classes[] = {&dc_class_add,     &dc_class_subtract, &dc_class_multiply,
                                                 &dc_class_average, &dc_class_maximum,  &dc_class_minimum,
                                                 &dc_class_concatenate};

/* Every merge class's build_merge: the kind is the class's place in `classes`. */
static dc_status merge_build(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call)
{
    int kind = 0, axis = 0;
    while (kind < MERGE_CONCAT && classes[kind] != l->cls)
        kind++;
    dc_status st = merge_check(l, kind, n, xs, &axis);
    if (st != DC_OK)
        return st;
    dc_node *y = xs[0];
    for (int i = 1; i < n && y; i++) {
        switch (kind) {
        case MERGE_ADD:
        case MERGE_AVE: y = dc_add(g, y, xs[i]); break;
        case MERGE_SUB: y = dc_sub(g, y, xs[i]); break;
        case MERGE_MUL: y = dc_mul(g, y, xs[i]); break;
        case MERGE_MAX: y = dc_maximum(g, y, xs[i]); break;
        case MERGE_MIN: y = dc_minimum(g, y, xs[i]); break;
        default: y = dc_concat_axis(g, y, xs[i], axis); break;
        }
    }
    if (y && kind == MERGE_AVE)
        y = dc_scale(g, y, 1.0f / (float)n);
    if (!y) {
        dc_err_prefix(merge_name(l));
        return dc_last_status();
    }
    if (kind == MERGE_CONCAT && axis == 1 && xs[0]->ndim >= 3)
        call->mask = NULL; /* the steps were joined: a (batch, steps) mask no longer fits */
    call->out = y;
    return DC_OK;
}

/* The elementwise layers have no arguments of their own: a new layer of the class. */
static dc_layer *elementwise_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    (void)cfg;
    return dc_layer_new(cls);
}

const dc_layer_class dc_class_add = {.type = "Add", .snake = "add", .to_config = dc_no_config,
                                     .from_config = elementwise_from_config, .build_merge = merge_build};
const dc_layer_class dc_class_subtract = {.type = "Subtract", .snake = "subtract", .to_config = dc_no_config,
                                          .from_config = elementwise_from_config, .build_merge = merge_build};
const dc_layer_class dc_class_multiply = {.type = "Multiply", .snake = "multiply", .to_config = dc_no_config,
                                          .from_config = elementwise_from_config, .build_merge = merge_build};
const dc_layer_class dc_class_average = {.type = "Average", .snake = "average", .to_config = dc_no_config,
                                         .from_config = elementwise_from_config, .build_merge = merge_build};
const dc_layer_class dc_class_maximum = {.type = "Maximum", .snake = "maximum", .to_config = dc_no_config,
                                         .from_config = elementwise_from_config, .build_merge = merge_build};
const dc_layer_class dc_class_minimum = {.type = "Minimum", .snake = "minimum", .to_config = dc_no_config,
                                         .from_config = elementwise_from_config, .build_merge = merge_build};

dc_layer *dc_layer_add(void) { return dc_layer_new(&dc_class_add); }
dc_layer *dc_layer_subtract(void) { return dc_layer_new(&dc_class_subtract); }
dc_layer *dc_layer_multiply(void) { return dc_layer_new(&dc_class_multiply); }
dc_layer *dc_layer_average(void) { return dc_layer_new(&dc_class_average); }
dc_layer *dc_layer_maximum(void) { return dc_layer_new(&dc_class_maximum); }
dc_layer *dc_layer_minimum(void) { return dc_layer_new(&dc_class_minimum); }

/* ---- Concatenate ---- */

static void concatenate_to_config(const dc_layer *l, dc_jw *w) { dc_jw_int(w, "axis", l->cfg.merge.axis); }

static dc_layer *concatenate_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int axis = -1;
    (void)cls;
    if (dc_cfg_int(cfg, "axis", -DC_MAX_DIMS, DC_MAX_DIMS - 1, &axis) != DC_OK)
        return NULL;
    return dc_layer_concatenate(axis);
}

const dc_layer_class dc_class_concatenate = {.type = "Concatenate", .snake = "concatenate",
                                             .to_config = concatenate_to_config, .from_config = concatenate_from_config,
                                             .build_merge = merge_build};

dc_layer *dc_layer_concatenate(int axis)
{
    if (axis == 0)
        return dc_fail_null(DC_ERR_ARG, "Concatenate: axis 0 is the batch axis; give an axis after it (1, 2, ...) "
                                        "or count from the end (-1: the last)");
    if (axis < -DC_MAX_DIMS || axis >= DC_MAX_DIMS)
        return dc_fail_null(DC_ERR_ARG, "Concatenate: axis %d is out of range: tensors have at most %d axes", axis,
                            DC_MAX_DIMS);
    dc_layer *l = dc_layer_new(&dc_class_concatenate);
    if (l)
        l->cfg.merge.axis = axis;
    return l;
}
