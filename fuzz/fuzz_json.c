/*
 * fuzz_json.c - the JSON reader, then the model-JSON reader on the same
 * text; a model that loads must write JSON that loads again.
 */
#include "fuzz.h"
#include "io/json.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_json *v;
    if (dc_json_parse((const char *)data, size, "fuzz", &v) == DC_OK)
        dc_json_free(v);
    dc_model *m;
    if (dc_model_from_json((const char *)data, size, &m) != DC_OK)
        return 0;
    char *text;
    dc_model *again = NULL;
    if (dc_model_to_json(m, &text) != DC_OK || dc_model_from_json(text, strlen(text), &again) != DC_OK)
        abort(); /* what deepc writes it must read */
    dc_model_build(m);
    free(text);
    dc_model_free(again);
    dc_model_free(m);
    return 0;
}
