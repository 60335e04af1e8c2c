/*
 * compile_metrics.c - compile's metrics and weighted_metrics resolved into
 * the model's metric list, and the names they report under.
 *
 * As Keras 3's CompileMetrics (keras/src/trainers/compile_utils.py): the
 * metrics come first, then the weighted metrics; only the weighted ones are
 * updated with the sample weights (model.c, dc_model_update_metrics).  A
 * metric reports under the name it was given.  A weighted metric whose name
 * is already taken (by a metric, or an earlier weighted metric) reports as
 * "weighted_<name>", and, when that is taken too, "weighted_<name>_1",
 * "weighted_<name>_2" ... (CompileMetrics.result).  deepc's unweighted
 * metrics keep the names as given, duplicates included.
 */
#include "model/model.h"

#include <string.h>

static int name_taken(const dc_model *m, const char *name)
{
    for (int i = 1; i <= m->n_metrics; i++)
        if (strcmp(m->names[i], name) == 0)
            return 1;
    return 0;
}

/* Keras' name for the weighted metric `given` into out, or an error when it
 * is longer than a logs key allows. */
static dc_status weighted_name(const dc_model *m, const char *given, char *out)
{
    char cand[2 * DC_METRIC_NAME_LEN];
    snprintf(cand, sizeof cand, "%s", given);
    if (name_taken(m, cand)) {
        snprintf(cand, sizeof cand, "weighted_%s", given);
        for (int index = 1; name_taken(m, cand); index++)
            snprintf(cand, sizeof cand, "weighted_%s_%d", given, index);
    }
    if (strlen(cand) >= DC_METRIC_NAME_LEN)
        return dc_fail(DC_ERR_ARG, "weighted metric \"%s\" would report as \"%s\", longer than the %d characters a "
                                   "log name holds; use its short name", given, cand, DC_METRIC_NAME_LEN - 1);
    memcpy(out, cand, strlen(cand) + 1);
    return DC_OK;
}

/* Adds one metric of `set` ("metrics" or "weighted_metrics") at position i. */
static dc_status add_metric(dc_model *m, const char *set, int i, const char *name, const dc_metric_args *args,
                            dc_loss_kind loss, int weighted)
{
    dc_metric *mt = &m->metrics[m->n_metrics];
    dc_status st = dc_metric_resolve(name, args, loss, dc_node_cols(m->output), mt);
    char *out = m->names[1 + m->n_metrics];
    if (st == DC_OK && weighted)
        st = weighted_name(m, name, out);
    else if (st == DC_OK)
        snprintf(out, DC_METRIC_NAME_LEN, "%s", name);
    if (st != DC_OK) {
        char where[48];
        snprintf(where, sizeof where, "compile: %s[%d]", set, i);
        dc_err_prefix(weighted ? where : "compile");
        return st;
    }
    mt->weighted = weighted;
    m->n_metrics++;
    return DC_OK;
}

dc_status dc_model_compile_metrics(dc_model *m, const dc_compile_config *cfg, dc_loss_kind loss)
{
    m->n_metrics = 0;
    snprintf(m->names[0], sizeof m->names[0], "loss");
    for (int i = 0; i < DC_MODEL_REPORTS; i++)
        m->name_ptrs[i] = m->names[i];
    dc_status st = DC_OK;
    for (int i = 0; st == DC_OK && i < DC_COMPILE_METRICS && cfg->metrics[i]; i++)
        st = add_metric(m, "metrics", i, cfg->metrics[i], &cfg->metric_args[i], loss, 0);
    for (int i = 0; st == DC_OK && i < DC_COMPILE_METRICS && cfg->weighted_metrics[i]; i++)
        st = add_metric(m, "weighted_metrics", i, cfg->weighted_metrics[i], &cfg->weighted_metric_args[i], loss, 1);
    return st;
}
