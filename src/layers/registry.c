/*
 * registry.c - every layer class (layer.h's DC_LAYER_CLASSES), so a saved
 * model's "class_name" finds the class that rebuilds it and the tests can
 * walk every class (tests/test_layer_classes.c).
 */
#include "layers/layer.h"

#include <string.h>

#define DC_LAYER_CLASS_ENTRY(name) &dc_class_##name,
const dc_layer_class *const dc_layer_registry[] = {DC_LAYER_CLASSES(DC_LAYER_CLASS_ENTRY)};
#undef DC_LAYER_CLASS_ENTRY
const int dc_layer_registry_count = (int)(sizeof dc_layer_registry / sizeof dc_layer_registry[0]);

const dc_layer_class *dc_layer_class_find(const char *type)
{
    for (int i = 0; i < dc_layer_registry_count; i++)
        if (strcmp(dc_layer_registry[i]->type, type) == 0)
            return dc_layer_registry[i];
    return NULL;
}
