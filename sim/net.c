/* net.c - FIFO channels of the simulated network (see net.h). */
#include "sim/net.h"

uint64_t sim_channel_send(sim_channel *ch, uint64_t now, uint64_t delay)
{
    uint64_t at = now + delay;
    if (at < ch->last_arrival)
        at = ch->last_arrival;
    ch->last_arrival = at;
    return at;
}

void sim_channel_drop(sim_channel *ch)
{
    ch->epoch++;
}
