/* streams.c - the per-tab random streams (see streams.h). */
#include "sim/streams.h"

#include <stddef.h>

void sim_streams_derive(sim_streams *s, uint64_t seed, uint32_t tab)
{
    sim_prng_derive(&s->net, seed, SIM_STREAM_NETWORK, tab);
    sim_prng_derive(&s->srv, seed, SIM_STREAM_SERVER, tab);
    sim_prng_derive(&s->flt, seed, SIM_STREAM_FAULTS, tab);
    sim_prng_derive(&s->cli, seed, SIM_STREAM_CLIENTS, tab);
}

sim_prng *sim_streams_get(sim_streams *s, sim_stream concern)
{
    switch (concern) {
    case SIM_STREAM_NETWORK:
        return &s->net;
    case SIM_STREAM_SERVER:
        return &s->srv;
    case SIM_STREAM_FAULTS:
        return &s->flt;
    case SIM_STREAM_CLIENTS:
        return &s->cli;
    default:
        return NULL;
    }
}
