/* net.c - FIFO channels of the simulated network (see net.h). */
#include "sim/net.h"

uint64_t sim_channel_send(sim_channel *ch, uint64_t now, uint64_t delay)
{
    uint64_t at = now + delay;
    /* Strictly after the previous packet: even when exploration reorders
     * simultaneous events, one connection's packets keep their order. */
    if (ch->last_arrival && at <= ch->last_arrival)
        at = ch->last_arrival + 1;
    ch->last_arrival = at;
    return at;
}

void sim_channel_drop(sim_channel *ch)
{
    ch->epoch++;
}
