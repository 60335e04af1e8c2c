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
/* Reads the array `key` ("metrics" or "weighted_metrics"; NULL or a JSON
 * null: none) of at most 4 metrics into names[] (borrowing the tree's
 * strings) and args[]; errors start "key[i]: ". */
dc_status dc_read_metrics(const dc_json *arr, const char *key, const char **names, dc_metric_args *args);

#endif
