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
void dc_optimizer_set_iterations(dc_optimizer *o, long iterations);

#endif
