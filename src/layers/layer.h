/*
 * layer.h - internal definition of a layer: a class (type name, hooks that
 * build the layer's ops into a graph, serialise its config and free what the
 * config owns) and the layer's config.
 * Layers know nothing of training; the model wires them into a graph.
 *
 * A layer holds its config only.  Each call of it (Keras' node: a shared
 * layer has several) is built into a dc_layer_call, which the model owns:
 * the build reads the call's inputs there (mask, frozen, the weights of an
 * earlier call to share) and records what it made (output, weights ...), so
 * a second call leaves the layer and the first call's record as they were.
 */
#ifndef DC_LAYER_H
#define DC_LAYER_H

#include "core/checked.h"
#include "graph/graph.h"
#include "io/json.h"

#define DC_LAYER_MAX_PARAMS 8
#define DC_MERGE_MAX 8 /* inputs of a merge layer */

/* One call of a layer: set by the model, then filled in by the build. */
typedef struct dc_layer_call {
    /* set by the model before the build */
    int frozen;                /* Keras' trainable=False: the weights made are non-trainable, no regulariser */
    dc_node *const *shared;    /* a later call of a shared layer: the weights its first call made, in order; */
    int n_shared, next_shared; /* dc_layer_weight hands these out instead of making new ones */
    /* Token ids whose zeros mark padded steps (Keras' mask), or NULL: the
     * incoming mask before the build; a build may replace it (Embedding's
     * mask_zero, Masking) or end it (RepeatVector, Permute). */
    dc_node *mask;
    /* Layers of several inputs (build_merge): input k's own mask (token ids,
     * or NULL), as Keras hands query_mask / value_mask / key_mask to an
     * attention layer; `mask` above is their merge (Merge.compute_mask). */
    dc_node *in_masks[DC_MERGE_MAX];
    /* recorded by the build */
    dc_node *out;
    dc_node *logits;  /* pre-activation when the layer ends in softmax/sigmoid */
    dc_act out_act;   /* the activation the layer ends with */
    dc_node *params[DC_LAYER_MAX_PARAMS]; /* its weights as Keras lists them (summary, get_weight, save) */
    int n_params;
    dc_node *reg;     /* regularisation loss, or NULL */
    dc_node *scores;  /* attention layers: the attention probabilities (Keras' return_attention_scores), or NULL */
} dc_layer_call;

typedef struct dc_layer_class {
    const char *type;  /* Keras class name: "Dense" */
    const char *snake; /* default name stem: "dense" */
    /* Appends the layer's ops to g with input x, recording the output (and
     * the logits, weights, regulariser, mask where they apply) in `call`.
     * The message names the layer. */
    dc_status (*build)(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call);
    /* Serialisation hooks (Keras' get_config / from_config): to_config
     * writes the layer's arguments as members of the open JSON object w (the
     * model writes "name"); from_config makes a new layer from such an object,
     * missing keys taking Keras' defaults, and on failure returns NULL with a
     * message naming the key. */
    void (*to_config)(const dc_layer *l, dc_jw *w);
    dc_layer *(*from_config)(const struct dc_layer_class *cls, const dc_json *cfg);
    /* Merge layers (Add, Concatenate ...) have this instead of build: appends
     * the ops joining xs[0..n), 2 <= n <= DC_MERGE_MAX, and records them in
     * `call` as build does.  A functional model calls it (dc_model_merge);
     * build is NULL for them. */
    dc_status (*build_merge)(const dc_layer *l, dc_graph *g, int n, dc_node *const *xs, dc_layer_call *call);
    /* Frees what the layer's config owns (not the layer), or NULL: it owns nothing. */
    void (*free)(dc_layer *l);
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
        dc_depthwise_config depthwise; /* DepthwiseConv2D, SeparableConv2D (layers_depthwise.c) */
        /* attention layers (layers_attention.c) */
        dc_mha_config mha;
        dc_attention_config attn; /* Attention, AdditiveAttention */
        struct { int sequence_length; dc_init init; } posemb; /* PositionEmbedding */
        struct { int axes[2], normalize; } dot;               /* Dot: Keras' axes (counting the batch axis) */
        /* layers ONNX graphs need (layers_onnx.c): ConstantOp, Unary */
        struct { int op, ndim, shape[DC_MAX_DIMS]; float exponent, scale, offset; } onnx;
    } cfg;

    /* Keras' trainable=False: the model builds the layer's weights as
     * non-trainable (no optimiser update, no regularisation loss), and
     * BatchNormalization runs in inference mode (model/weights.c). */
    int frozen;

    /* The record of its first call (the one that made its weights) while
     * the model holding it is built, or NULL: borrowed from the model. */
    const dc_layer_call *built;

    /* The model it was given to (add, apply, merge: also when that call
     * failed), which frees it; its calls there and the index of the first
     * in the model's calls (model.c). */
    const struct dc_model *owner;
    int n_calls, first_call;
};

/* Shared by the layer files (layers_core.c). */
dc_layer *dc_layer_new(const dc_layer_class *cls);
/* Records `pre` passed through `act` as the call's output (and pre as its
 * logits before softmax / sigmoid, for fused losses). */
dc_status dc_layer_finish_activation(dc_layer_call *call, dc_graph *g, dc_node *pre, dc_act act);
/* The call's weight "<prefix>/<what>" of `shape`: made (non-trainable when
 * `trainable` is 0 or the call is frozen) or, in a later call of a shared
 * layer, the next weight of the first call, which must have that shape.
 * Recorded in call->params when `listed` (Keras lists it: counted, saved);
 * NULL with the message set on failure. */
dc_node *dc_layer_weight(dc_graph *g, dc_layer_call *call, const char *prefix, const char *what, int ndim,
                         const int *shape, dc_init init, int trainable, int listed);
/* Creates "<layer>/kernel" of `shape` and "<layer>/bias" (last axis), and the
 * regulariser when l1 or l2 is set; records them in the call. */
dc_status dc_layer_add_kernel(const dc_layer *l, dc_graph *g, dc_layer_call *call, int ndim, const int *shape,
                              dc_init kernel_init, int use_bias, dc_init bias_init, float l1, float l2,
                              dc_node **kernel, dc_node **bias);
/* The activation of a name a constructor has already resolved. */
dc_act dc_layer_act(const char *name);
/* Resolves an activation name of a public config (NULL: `fallback`, Keras'
 * default) to the name the layer keeps (static storage); the message
 * starts with `who`. */
dc_status dc_layer_act_name(const char *who, const char *name, const char *fallback, const char **out);

/* to_config of a layer without arguments (Flatten, global pooling). */
void dc_no_config(const dc_layer *l, dc_jw *w);

/* Shared by the convolution layers (layers_conv.c). */
/* (B, steps, C) -> (B, 1, steps, C) (to_2d), or back: a view. */
dc_node *dc_layer_view_1d(dc_graph *g, dc_node *x, int to_2d);
/* "<layer>: input ... has N axes, expected want: ..." */
dc_status dc_layer_rank_error(const dc_layer *l, const dc_node *x, int want);
/* Checks filters, kernel_size, strides, dilation_rate (dims axes) and the
 * activation, and copies cfg to *out with the activation resolved
 * (dc_layer_act_name); `name` leads the message. */
dc_status dc_conv_check(const char *name, const dc_conv_config *cfg, int dims, dc_conv_config *out);
/* Writes / reads filters, kernel_size, strides, padding, data_format,
 * dilation_rate and the kernel arguments, over 1 or 2 axes (from the class). */
void dc_conv_write_config(const dc_layer *l, const dc_conv_config *cfg, dc_jw *w);
dc_status dc_conv_read_config(const dc_json *cfg, int dims, dc_conv_config *c);
/* data_format, when given, must be channels_last. */
dc_status dc_cfg_channels_last(const dc_json *cfg);

/* Every layer class, one entry each: X(dense) stands for dc_class_dense,
 * defined in the class's layers_*.c file.  The registry (registry.c) is
 * this list; a new class adds its entry here. */
#define DC_LAYER_CLASSES(X)                                                                                            \
    X(dense) X(flatten) X(activation) X(reshape) X(conv2d) X(conv1d) X(maxpool2d) X(avgpool2d) X(maxpool1d)            \
    X(avgpool1d) X(gap2d) X(gmp2d) X(gap1d) X(gmp1d) X(dropout) X(bn) X(embedding) X(simple_rnn) X(lstm) X(gru)        \
    X(bidirectional)                                                                                                   \
    /* normalisation, activation and noise layers */                                                                  \
    X(layer_norm) X(relu) X(leaky_relu) X(elu) X(prelu) X(softmax) X(rescaling) X(normalization) X(gaussian_noise)     \
    X(gaussian_dropout) X(spatial_dropout1d) X(spatial_dropout2d)                                                      \
    X(repeat_vector) X(permute) X(masking) X(time_distributed)                                                         \
    X(upsampling2d) X(upsampling1d) X(zero_padding2d) X(zero_padding1d) X(cropping2d) X(cropping1d)                    \
    X(conv2d_transpose) X(conv1d_transpose)                                                                            \
    X(random_flip) X(random_translation) X(random_rotation) X(random_zoom) X(random_brightness) X(random_contrast)     \
    X(depthwise_conv2d) X(separable_conv2d) /* layers_depthwise.c */                                                  \
    /* merge layers (layers_merge.c): build is NULL, build_merge set */                                               \
    X(add) X(subtract) X(multiply) X(average) X(maximum) X(minimum) X(concatenate)                                   \
    /* generic layers ONNX graphs need (layers_onnx.c) */                                                             \
    X(log_softmax) X(broadcast) X(constant_op) X(unary) X(reduce_mean) X(matmul)                                       \
    /* attention layers (layers_attention.c): MultiHeadAttention, Attention, AdditiveAttention, Dot take several */ \
    X(multi_head_attention) X(attention) X(additive_attention) X(position_embedding) X(dot)

#define DC_LAYER_CLASS_EXTERN(name) extern const dc_layer_class dc_class_##name;
DC_LAYER_CLASSES(DC_LAYER_CLASS_EXTERN)
#undef DC_LAYER_CLASS_EXTERN

/* The registry: every class above, in that order. */
extern const dc_layer_class *const dc_layer_registry[];
extern const int dc_layer_registry_count;
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
/* An activation name, kept as the layer keeps names (dc_layer_act_name). */
dc_status dc_cfg_act(const dc_json *cfg, const char *key, const char **out);
dc_status dc_cfg_padding(const dc_json *cfg, const char *key, dc_padding *out);
/* An initializer: a name ("glorot_uniform") or {"class_name": "GlorotUniform", "config": {...}}. */
dc_status dc_cfg_init(const dc_json *cfg, const char *key, dc_init *out);
void dc_cfg_write_init(dc_jw *w, const char *key, dc_init init);
/* Dense / Conv arguments: activation, use_bias, kernel_initializer,
 * bias_initializer, kernel_regularizer. */
typedef struct dc_kernel_args {
    const char **activation;
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
