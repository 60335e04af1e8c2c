/*
 * compile_args.h - the loss and metric of a model file's compile_config,
 * each a name or, when it has arguments, Keras' {"class_name", "config"}
 * object (compile_args.c).
 */
#ifndef DC_COMPILE_ARGS_H
#define DC_COMPILE_ARGS_H

#include "io/json.h"
#include "model/model.h"

/* Writes the member "loss": the name, or the object when an argument is not
 * the default. */
void dc_write_loss(dc_jw *w, dc_loss_kind k, const dc_loss_args *a);
/* Writes one item of the "metrics" array the same way. */
void dc_write_metric(dc_jw *w, const char *name, const dc_metric *m);
/* Reads "loss" into cfg->loss and its arguments; errors start "loss: ". */
dc_status dc_read_loss(const dc_json *loss, dc_compile_config *cfg);
/* Reads metrics[i] into cfg->metrics[i] (borrowing the tree's string) and
 * cfg->metric_args[i]; errors start "metrics[i]: ". */
dc_status dc_read_metric(const dc_json *v, size_t i, dc_compile_config *cfg);

#endif
