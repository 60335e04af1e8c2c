/*
 * registry.c - every layer class, so a saved model's "class_name" finds the
 * class that rebuilds it.  A new layer kind adds its class here.
 */
#include "layers/layer.h"

#include <string.h>

static const dc_layer_class *const classes[] = {
    &dc_class_dense,     &dc_class_flatten,   &dc_class_activation, &dc_class_reshape, &dc_class_conv2d,
    &dc_class_conv1d,    &dc_class_maxpool2d, &dc_class_avgpool2d,  &dc_class_maxpool1d, &dc_class_avgpool1d,
    &dc_class_gap2d,     &dc_class_gmp2d,     &dc_class_gap1d,      &dc_class_gmp1d,   &dc_class_dropout,
    &dc_class_bn,        &dc_class_embedding, &dc_class_rnn[0],     &dc_class_rnn[1],  &dc_class_rnn[2],
    &dc_class_bidirectional,
    /* normalisation, activation and noise layers */
    &dc_class_layer_norm, &dc_class_relu, &dc_class_leaky_relu, &dc_class_elu, &dc_class_prelu, &dc_class_softmax,
    &dc_class_rescaling, &dc_class_normalization, &dc_class_gaussian_noise, &dc_class_gaussian_dropout,
    &dc_class_spatial_dropout1d, &dc_class_spatial_dropout2d,
    &dc_class_repeat_vector, &dc_class_permute, &dc_class_masking, &dc_class_time_distributed,
    &dc_class_upsampling2d, &dc_class_upsampling1d, &dc_class_zero_padding2d, &dc_class_zero_padding1d,
    &dc_class_cropping2d, &dc_class_cropping1d, &dc_class_conv2d_transpose, &dc_class_conv1d_transpose,
    &dc_class_random_flip, &dc_class_random_translation, &dc_class_random_rotation, &dc_class_random_zoom,
    &dc_class_random_brightness, &dc_class_random_contrast,
    /* merge layers */
    &dc_class_add, &dc_class_subtract, &dc_class_multiply, &dc_class_average, &dc_class_maximum, &dc_class_minimum,
    &dc_class_concatenate,
};

const dc_layer_class *dc_layer_class_find(const char *type)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i]->type, type) == 0)
            return classes[i];
    return NULL;
}
