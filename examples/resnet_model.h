/*
 * resnet_model.h - the small residual network of examples/resnet.c, shared
 * with bench/bench_train.c (--model resnet) so that the benchmark times
 * exactly the model the example trains.  In Keras' functional API:
 *
 *   def block(x, filters, strides=1):
 *       y = Conv2D(filters, 3, strides=strides, padding="same")(x)
 *       y = BatchNormalization()(y)
 *       y = Activation("relu")(y)
 *       y = Conv2D(filters, 3, padding="same")(y)
 *       y = BatchNormalization()(y)
 *       if strides != 1 or x.shape[-1] != filters:      # projection shortcut
 *           x = Conv2D(filters, 1, strides=strides, padding="same")(x)
 *       return Activation("relu")(Add()([y, x]))
 *
 *   inputs = Input(shape=(28, 28, 1))
 *   x = Conv2D(16, 3, padding="same")(inputs)
 *   x = BatchNormalization()(x)
 *   x = Activation("relu")(x)
 *   x = block(x, 16)                  # 28x28x16
 *   x = block(x, 32, strides=2)       # 14x14x32
 *   x = block(x, 64, strides=2)       # 7x7x64
 *   x = GlobalAveragePooling2D()(x)
 *   outputs = Dense(10, activation="softmax")(x)
 *
 * He et al.'s CIFAR ResNet layout (16, 32, 64 filters, the size halved and
 * the filters doubled per stage) with one block per stage, 7 convolutions
 * deep plus the shortcut projections: ~19 MFLOP per 28x28 image forward.
 * This one trains a 60,000-image epoch in ~45-55 s on the 2-core benchmark
 * machine (batch 64, 2 threads); a 32, 64 (stride 2), 64 layout at full
 * resolution would cost ~81 MFLOP per image, ~4x (estimated, not run).
 */
#ifndef DC_RESNET_MODEL_H
#define DC_RESNET_MODEL_H

#include <deepc.h>

/* Conv2D(filters, k x k, strides, padding="same"), linear, with a bias. */
static inline dc_layer *resnet_conv(int filters, int k, int strides)
{
    dc_conv_config c = dc_conv_defaults(filters, k, k);
    c.strides[0] = c.strides[1] = strides;
    c.padding = DC_PADDING_SAME;
    return dc_layer_conv2d_ex(&c);
}

/* Conv2D -> BatchNormalization(momentum, epsilon=1e-3), applied to
 * reference x; returns the new reference. */
static inline int resnet_conv_bn(dc_model *m, int x, int filters, int strides, float momentum)
{
    x = dc_model_apply(m, resnet_conv(filters, 3, strides), x);
    return dc_model_apply(m, dc_layer_batch_normalization_ex(momentum, 1e-3f), x);
}

/* One residual block on reference x (in_filters channels); returns the
 * block's output reference.  residual 0 drops the shortcut and the Add (a
 * "plain" block, He et al.'s comparison), which leaves the same layers on
 * the main path. */
static inline int resnet_block(dc_model *m, int x, int in_filters, int filters, int strides, int residual,
                               float momentum)
{
    int y = resnet_conv_bn(m, x, filters, strides, momentum);
    y = dc_model_apply(m, dc_layer_activation("relu"), y);
    y = resnet_conv_bn(m, y, filters, 1, momentum);
    if (residual) {
        int shortcut = x;
        if (strides != 1 || in_filters != filters)
            shortcut = dc_model_apply(m, resnet_conv(filters, 1, strides), x);
        y = dc_model_merge(m, dc_layer_add(), 2, (int[]){y, shortcut});
    }
    return dc_model_apply(m, dc_layer_activation("relu"), y);
}

/* Builds the whole network into m, a dc_functional_new(3, {28, 28, 1})
 * model, with BatchNormalization(momentum) (Keras' default 0.99; PyTorch's
 * default is Keras' 0.9); returns 0 on success (a failed call marks the
 * model, and the message is in dc_errmsg()). */
static inline int resnet_build(dc_model *m, int residual, float momentum)
{
    int x = resnet_conv_bn(m, DC_MODEL_INPUT, 16, 1, momentum);
    x = dc_model_apply(m, dc_layer_activation("relu"), x);
    x = resnet_block(m, x, 16, 16, 1, residual, momentum);
    x = resnet_block(m, x, 16, 32, 2, residual, momentum);
    x = resnet_block(m, x, 32, 64, 2, residual, momentum);
    x = dc_model_apply(m, dc_layer_global_average_pooling2d(), x);
    x = dc_model_apply(m, dc_layer_dense(10, "softmax"), x);
    return x < 0;
}

#endif
