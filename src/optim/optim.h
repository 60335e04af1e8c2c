/*
 * optim.h - internal access to an optimiser's state, for saving and
 * restoring it (src/io/model_io.c).
 */
#ifndef DC_OPTIM_H
#define DC_OPTIM_H

#include "core/core.h"

const dc_optimizer_config *dc_optimizer_config_of(const dc_optimizer *o);
/* Number of state slots the optimiser's kind uses (0, 1 or 2) and their
 * names as saved ("momentum", "velocity", "accumulator" ...). */
int dc_optimizer_slot_count(const dc_optimizer *o);
const char *dc_optimizer_slot_name(const dc_optimizer *o, int slot);
/* The slot's buffer (count floats, laid out like the parameters). */
float *dc_optimizer_slot(dc_optimizer *o, int slot);
/* The most optimiser steps a saved training state may declare (a file
 * claiming more is refused, naming the file and this limit): 2^31 - 1,
 * years of training at any speed deepc runs. */
#define DC_OPTIMIZER_MAX_ITERATIONS 2147483647L
/* Sets the step count as if `iterations` steps had run (Nadam's running
 * u_product recomputed bit for bit, in a few thousand multiplications at
 * most for any beta_1 in [0, 1]); DC_ERR_RANGE outside 0 ..
 * DC_OPTIMIZER_MAX_ITERATIONS, the optimiser unchanged. */
dc_status dc_optimizer_set_iterations(dc_optimizer *o, long iterations);
/* Nadam's running product of u_t (1 for the other kinds), for tests. */
float dc_optimizer_nadam_u_product(const dc_optimizer *o);

#endif
