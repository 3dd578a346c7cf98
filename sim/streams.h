/*
 * streams.h - the random streams of one tab (sim/prng.h): every random
 * decision of a seed draws from the bundle of the tab it concerns, so that
 * changing one scenario parameter reshuffles only the draws of its concern.
 *
 *   net  network latencies of the tab's connections and HTTP posts
 *        (sim/transport.h);
 *   srv  server timings for it: auth, thread lookup, agent start, event
 *        gaps (sim/backend.h);
 *   flt  faults: thread update failures (sim/backend.h) and the
 *        mid-run disconnect (sim/tab.h) draw from the one stream;
 *   cli  the tab's script: waits and reconnect backoff (sim/tab.h).
 *
 * The host owns the bundles; the modules borrow them (the tabs through
 * their config, the backend through its host's `stream` callback).
 */
#ifndef SIM_STREAMS_H
#define SIM_STREAMS_H

#include <stdint.h>

#include "sim/prng.h"

typedef struct sim_streams {
    sim_prng net, srv, flt, cli;
} sim_streams;

/* sim_streams_derive seeds *s for tab `tab` of the run seeded `seed`
 * (sim_prng_derive of each concern with the tab's index).  O(1). */
void sim_streams_derive(sim_streams *s, uint64_t seed, uint32_t tab);

/* sim_streams_get returns the stream of `concern` in *s (SIM_STREAM_NETWORK,
 * _SERVER, _FAULTS, _CLIENTS), or NULL for any other concern.  O(1). */
sim_prng *sim_streams_get(sim_streams *s, sim_stream concern);

#endif
