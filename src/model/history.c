/*
 * history.c - the History a fit returns: per-epoch values of every metric,
 * "loss" first, validation ones prefixed "val_".
 */
#include "model/model.h"

#include <string.h>

dc_history *dc_history_new(int n_keys, const char *const *keys)
{
    dc_history *h = dc_calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->keys = dc_calloc((size_t)n_keys, sizeof *h->keys);
    h->values = dc_calloc((size_t)n_keys, sizeof *h->values);
    if (!h->keys || !h->values) {
        dc_history_free(h);
        return NULL;
    }
    h->n_keys = n_keys;
    for (int i = 0; i < n_keys; i++)
        if (!(h->keys[i] = dc_strdup(keys[i]))) {
            dc_history_free(h);
            return NULL;
        }
    return h;
}

dc_status dc_history_append(dc_history *h, const double *values)
{
    for (int i = 0; i < h->n_keys; i++) {
        double *v = realloc(h->values[i], (size_t)(h->epochs + 1) * sizeof *v);
        if (!v)
            return dc_fail(DC_ERR_NOMEM, "history: out of memory");
        v[h->epochs] = values[i];
        h->values[i] = v;
    }
    h->epochs++;
    return DC_OK;
}

void dc_history_free(dc_history *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n_keys; i++) {
        if (h->keys)
            free(h->keys[i]);
        if (h->values)
            free(h->values[i]);
    }
    free(h->keys);
    free(h->values);
    free(h);
}

const double *dc_history_get(const dc_history *h, const char *key)
{
    for (int i = 0; h && i < h->n_keys; i++)
        if (strcmp(h->keys[i], key) == 0)
            return h->values[i];
    return NULL;
}
