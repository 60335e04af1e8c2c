/*
 * layer.h - internal definition of a layer: a class (type name and a build
 * function that appends the layer's ops to a graph) and the layer's config.
 * Layers know nothing of training; the model wires them into a graph.
 */
#ifndef DC_LAYER_H
#define DC_LAYER_H

#include "graph/graph.h"
#include "io/json.h"

#define DC_LAYER_MAX_PARAMS 8
#define DC_MERGE_MAX 8 /* inputs of a merge layer */


typedef struct dc_layer_class {
    const char *type;  /* Keras class name: "Dense" */
    const char *snake; /* default name stem: "dense" */
    /* Appends the layer's ops to g with input x; sets l->out (and l->logits,
     * l->params, l->reg where they apply).  The message names the layer. */
    dc_status (*build)(dc_layer *l, dc_graph *g, dc_node *x);
    /* Serialisation hooks (Keras' get_config / from_config): to_config
     * writes the layer's arguments as members of the open JSON object w (the
     * model writes "name"); from_config makes a new layer from such an object,
     * missing keys taking Keras' defaults, and on failure returns NULL with a
     * message naming the key. */
    void (*to_config)(const dc_layer *l, dc_jw *w);
    dc_layer *(*from_config)(const struct dc_layer_class *cls, const dc_json *cfg);
    /* Merge layers (Add, Concatenate ...) have this instead of build: appends
     * the ops joining xs[0..n), 2 <= n <= DC_MERGE_MAX, and sets l->out.  A
     * functional model calls it (dc_model_merge); build is NULL for them. */
    dc_status (*build_merge)(dc_layer *l, dc_graph *g, int n, dc_node *const *xs);
} dc_layer_class;

struct dc_layer {
    const dc_layer_class *cls;
    char name[64];
    union {
        dc_dense_config dense;
        dc_act activation;
        dc_conv_config conv;
        struct { int is_max, pool[2], strides[2], same; } pool;
        struct { int is_max; } global;
        struct { float rate; } dropout;
        struct { float momentum, epsilon; } bn;
        struct { int ndim, shape[DC_MAX_DIMS]; } reshape;
        struct { int input_dim, output_dim, mask_zero; dc_init init; } embedding;
        dc_rnn_config rnn;
        struct { dc_rnn_config rnn; int merge; } bidir;
        /* normalisation, activation and noise layers (layers_normact.c) */
        dc_layer_norm_config layer_norm;
        struct { float max_value, negative_slope, threshold; } relu; /* also LeakyReLU, ELU (negative_slope: alpha) */
        struct { int axis; } softmax;
        struct { dc_init init; float l1, l2; int n_shared, shared[DC_MAX_DIMS]; } prelu;
        struct { float scale, offset; } rescaling;
        struct { float *stats; int n, adapt, invert, from_file; } norm; /* stats: n means, n variances (owned) */
        struct { float stddev; int multiplicative; } noise;
        struct { int n; } repeat;                         /* RepeatVector */
        struct { int ndims, dims[DC_MAX_DIMS]; } permute; /* Keras' 1-based dims */
        struct { float mask_value; } masking;
        struct { dc_layer *inner; } td;                   /* TimeDistributed: owns the wrapped layer */
        /* image-to-image layers (layers_image.c) */
        struct { int size[2], bilinear; } upsample;
        struct { int amount[4]; } pad; /* top, bottom, left, right (1D: left, right only) */
        struct { dc_conv_config conv; int output_padding[2]; } convt; /* output_padding -1: None */
        /* image augmentation (layers_augment.c): flip mode bits; the affine kind, ranges (rotation: height) */
        struct { int flip_mode, kind, width_none, fill_mode, bilinear; float height[2], width[2], fill_value; } augment;
        struct { int axis; } merge; /* merge layers (layers_merge.c): Concatenate's axis, Keras' count */
    } cfg;

    /* Token ids whose zeros mark padded steps (Keras' mask), or NULL: the
     * model sets it to the incoming mask before build; Embedding(mask_zero)
     * replaces it.  The model passes it on while the time axis remains. */
    dc_node *mask;

    /* Keras' trainable=False: the model builds the layer's weights as
     * non-trainable (no optimiser update, no regularisation loss), and
     * BatchNormalization runs in inference mode (model/weights.c). */
    int frozen;

    /* Set by build (and reset when the model is rebuilt). */
    dc_node *out;
    dc_node *logits;  /* pre-activation when the layer ends in softmax/sigmoid */
    dc_act out_act;   /* the activation the layer ends with */
    dc_node *params[DC_LAYER_MAX_PARAMS];
    int n_params;
    dc_node *reg;     /* regularisation loss, or NULL */
};

/* Shared by the layer files (layers_core.c). */
dc_layer *dc_layer_new(const dc_layer_class *cls);
dc_status dc_layer_finish_activation(dc_layer *l, dc_graph *g, dc_node *pre, dc_act act);
/* Creates "<layer>/kernel" of `shape` and "<layer>/bias" (last axis), and the
 * regulariser when l1 or l2 is set; records them in the layer. */
dc_status dc_layer_add_kernel(dc_layer *l, dc_graph *g, int ndim, const int *shape, dc_init kernel_init, int use_bias,
                              dc_init bias_init, float l1, float l2, dc_node **kernel, dc_node **bias);

/* to_config of a layer without arguments (Flatten, global pooling). */
void dc_no_config(const dc_layer *l, dc_jw *w);

/* Shared by the convolution layers (layers_conv.c). */
/* (B, steps, C) -> (B, 1, steps, C) (to_2d), or back: a view. */
dc_node *dc_layer_view_1d(dc_graph *g, dc_node *x, int to_2d);
/* "<layer>: input ... has N axes, expected want: ..." */
dc_status dc_layer_rank_error(const dc_layer *l, const dc_node *x, int want);
/* Checks filters, kernel_size, strides, dilation_rate (dims axes), activation; `name` leads the message. */
dc_status dc_conv_check(const char *name, const dc_conv_config *cfg, int dims);
/* Writes / reads filters, kernel_size, strides, padding, data_format,
 * dilation_rate and the kernel arguments, over 1 or 2 axes (from the class). */
void dc_conv_write_config(const dc_layer *l, const dc_conv_config *cfg, dc_jw *w);
dc_status dc_conv_read_config(const dc_json *cfg, int dims, dc_conv_config *c);
/* data_format, when given, must be channels_last. */
dc_status dc_cfg_channels_last(const dc_json *cfg);

/* Every layer class, for lookup by Keras class name (layers/registry.c). */
extern const dc_layer_class dc_class_dense, dc_class_flatten, dc_class_activation, dc_class_reshape, dc_class_conv2d,
    dc_class_conv1d, dc_class_maxpool2d, dc_class_avgpool2d, dc_class_maxpool1d, dc_class_avgpool1d, dc_class_gap2d,
    dc_class_gmp2d, dc_class_gap1d, dc_class_gmp1d, dc_class_dropout, dc_class_bn, dc_class_embedding,
    dc_class_bidirectional;
extern const dc_layer_class dc_class_rnn[DC_RNN_COUNT]; /* SimpleRNN, LSTM, GRU */
extern const dc_layer_class dc_class_layer_norm, dc_class_relu, dc_class_leaky_relu, dc_class_elu, dc_class_prelu,
    dc_class_softmax, dc_class_rescaling, dc_class_normalization, dc_class_gaussian_noise, dc_class_gaussian_dropout,
    dc_class_spatial_dropout1d, dc_class_spatial_dropout2d;
extern const dc_layer_class dc_class_repeat_vector, dc_class_permute, dc_class_masking, dc_class_time_distributed;
extern const dc_layer_class dc_class_upsampling2d, dc_class_upsampling1d, dc_class_zero_padding2d,
    dc_class_zero_padding1d, dc_class_cropping2d, dc_class_cropping1d, dc_class_conv2d_transpose,
    dc_class_conv1d_transpose;
extern const dc_layer_class dc_class_random_flip, dc_class_random_translation, dc_class_random_rotation,
    dc_class_random_zoom, dc_class_random_brightness, dc_class_random_contrast;
/* Merge layers (layers_merge.c): build is NULL, build_merge set. */
extern const dc_layer_class dc_class_add, dc_class_subtract, dc_class_multiply, dc_class_average, dc_class_maximum,
    dc_class_minimum, dc_class_concatenate;
/* The class whose type is `type` ("Dense"), or NULL. */
const dc_layer_class *dc_layer_class_find(const char *type);

/* ---- config helpers (layers/layer_config.c) ----
 * Readers leave *out unchanged when the key is absent (the default stays),
 * and fail with "key \"units\": ..." when it has the wrong type or range. */
dc_status dc_cfg_need(const dc_json *cfg, const char *key);
dc_status dc_cfg_int(const dc_json *cfg, const char *key, int lo, int hi, int *out);
dc_status dc_cfg_float(const dc_json *cfg, const char *key, float *out);
dc_status dc_cfg_bool(const dc_json *cfg, const char *key, int *out);
/* An integer or an array of n integers (Keras' kernel_size=3 or (3, 3)). */
dc_status dc_cfg_ints(const dc_json *cfg, const char *key, int n, int lo, int hi, int *out);
dc_status dc_cfg_act(const dc_json *cfg, const char *key, dc_act *out);
dc_status dc_cfg_padding(const dc_json *cfg, const char *key, dc_padding *out);
/* An initializer: a name ("glorot_uniform") or {"class_name": "GlorotUniform", "config": {...}}. */
dc_status dc_cfg_init(const dc_json *cfg, const char *key, dc_init *out);
void dc_cfg_write_init(dc_jw *w, const char *key, dc_init init);
/* Dense / Conv arguments: activation, use_bias, kernel_initializer,
 * bias_initializer, kernel_regularizer. */
typedef struct dc_kernel_args {
    dc_act *activation;
    int *use_bias;
    dc_init *kernel_init, *bias_init;
    float *l1, *l2;
} dc_kernel_args;
dc_status dc_cfg_kernel_args(const dc_json *cfg, const dc_kernel_args *a);
void dc_cfg_write_kernel_args(dc_jw *w, const dc_kernel_args *a);
/* A regulariser (null or L1L2 / L1 / L2) into l1, l2; written as null or L1L2. */
dc_status dc_cfg_reg(const dc_json *cfg, const char *key, float *l1, float *l2);
void dc_cfg_write_reg(dc_jw *w, const char *key, float l1, float l2);

#endif
