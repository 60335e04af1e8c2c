/*
 * layer.h - internal definition of a layer: a class (type name and a build
 * function that appends the layer's ops to a graph) and the layer's config.
 * Layers know nothing of training; the model wires them into a graph.
 */
#ifndef DC_LAYER_H
#define DC_LAYER_H

#include "graph/graph.h"

#define DC_LAYER_MAX_PARAMS 8


typedef struct dc_layer_class {
    const char *type;  /* Keras class name: "Dense" */
    const char *snake; /* default name stem: "dense" */
    /* Appends the layer's ops to g with input x; sets l->out (and l->logits,
     * l->params, l->reg where they apply).  The message names the layer. */
    dc_status (*build)(dc_layer *l, dc_graph *g, dc_node *x);
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
    } cfg;

    /* Token ids whose zeros mark padded steps (Keras' mask), or NULL: the
     * model sets it to the incoming mask before build; Embedding(mask_zero)
     * replaces it.  The model passes it on while the time axis remains. */
    dc_node *mask;

    /* Set by build. */
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

#endif
