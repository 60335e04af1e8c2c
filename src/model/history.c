/*
 * history.c - the History a fit returns: per-epoch values of every metric,
 * "loss" first, validation ones prefixed "val_".
 */
#include "model/model.h"

#include <math.h>
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

/* A new column for key, NaN in the epochs recorded so far. */
static dc_status add_key(dc_history *h, const char *key)
{
    char **keys = realloc(h->keys, (size_t)(h->n_keys + 1) * sizeof *keys);
    if (keys)
        h->keys = keys;
    double **values = realloc(h->values, (size_t)(h->n_keys + 1) * sizeof *values);
    if (values)
        h->values = values;
    if (!keys || !values)
        return dc_fail(DC_ERR_NOMEM, "history: out of memory");
    double *col = dc_malloc((size_t)(h->epochs + 1) * sizeof *col);
    char *name = dc_strdup(key);
    if (!col || !name) {
        free(col);
        free(name);
        return DC_ERR_NOMEM;
    }
    for (int e = 0; e < h->epochs; e++)
        col[e] = NAN;
    h->keys[h->n_keys] = name;
    h->values[h->n_keys] = col;
    h->n_keys++;
    return DC_OK;
}

/* Where key's column is, or -1.  The keys alone say which columns exist:
 * a column has no values before the first epoch is appended. */
static int key_index(const dc_history *h, const char *key)
{
    for (int i = 0; h && i < h->n_keys; i++)
        if (strcmp(h->keys[i], key) == 0)
            return i;
    return -1;
}

dc_status dc_history_record(dc_history *h, const dc_logs *logs)
{
    for (int i = 0; i < logs->n; i++) {
        dc_status st = key_index(h, logs->keys[i]) >= 0 ? DC_OK : add_key(h, logs->keys[i]);
        if (st != DC_OK)
            return st;
    }
    double *row = dc_malloc((size_t)h->n_keys * sizeof *row);
    if (!row)
        return DC_ERR_NOMEM;
    for (int k = 0; k < h->n_keys; k++) {
        const double *v = dc_logs_get(logs, h->keys[k]);
        row[k] = v ? *v : NAN;
    }
    dc_status st = dc_history_append(h, row);
    free(row);
    return st;
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
    DC_CHECK_NULL_OR(h, NULL);
    DC_CHECK_NULL_OR(key, NULL);
    int i = key_index(h, key);
    return i >= 0 ? h->values[i] : NULL;
}
