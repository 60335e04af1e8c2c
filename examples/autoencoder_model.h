/*
 * autoencoder_model.h - the Keras blog's convolutional autoencoder (see
 * autoencoder.c), shared by the example and bench/bench_train.c so that the
 * benchmark times exactly the model the example trains.
 */
#ifndef DC_AUTOENCODER_MODEL_H
#define DC_AUTOENCODER_MODEL_H

#include <deepc.h>

/* Conv2D(filters, 3x3, activation, padding). */
static inline dc_layer *ae_conv(int filters, const char *activation, dc_padding padding)
{
    dc_conv_config c = dc_conv_defaults(filters, 3, 3);
    c.padding = padding;
    c.activation = activation;
    return dc_layer_conv2d_ex(&c);
}

/* Conv2DTranspose(filters, 3x3, strides 2, same, relu): doubles the size. */
static inline dc_layer *ae_conv_up(int filters)
{
    return dc_layer_conv2d_transpose(filters, 3, 3, 2, DC_PADDING_SAME, "relu");
}

/* MaxPooling2D((2, 2), padding="same"), UpSampling2D((2, 2)). */
static inline dc_layer *ae_pool(void) { return dc_layer_pooling2d_ex(1, 2, 2, 0, 0, DC_PADDING_SAME); }

static inline dc_layer *ae_up(void) { return dc_layer_upsampling2d(2, 2, NULL); }

/* The encoder, then the blog's decoder or the Conv2DTranspose one. */
static inline int autoencoder_build(dc_model *m, int transpose)
{
    dc_layer *layers[13];
    int n = 0, bad = 0;
    layers[n++] = ae_conv(16, "relu", DC_PADDING_SAME);
    layers[n++] = ae_pool();
    layers[n++] = ae_conv(8, "relu", DC_PADDING_SAME);
    layers[n++] = ae_pool();
    layers[n++] = ae_conv(8, "relu", DC_PADDING_SAME);
    layers[n++] = ae_pool(); /* encoded: (4, 4, 8) */
    if (transpose) {
        layers[n++] = ae_conv_up(8);
        layers[n++] = ae_conv_up(8);
        layers[n++] = ae_conv(16, "relu", DC_PADDING_VALID);
        layers[n++] = ae_conv_up(16);
    } else {
        layers[n++] = ae_conv(8, "relu", DC_PADDING_SAME);
        layers[n++] = ae_up();
        layers[n++] = ae_conv(8, "relu", DC_PADDING_SAME);
        layers[n++] = ae_up();
        layers[n++] = ae_conv(16, "relu", DC_PADDING_VALID);
        layers[n++] = ae_up();
    }
    layers[n++] = ae_conv(1, "sigmoid", DC_PADDING_SAME);
    for (int i = 0; i < n; i++)
        bad |= dc_model_add(m, layers[i]) != DC_OK;
    return bad;
}

#endif
