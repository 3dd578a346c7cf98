/*
 * prng.h - xoshiro256** seeded through splitmix64, with independent streams.
 *
 * Reference: Vigna, xoshiro256starstar.c and splitmix64.c.  Every random
 * decision of a simulation draws from a stream derived from (run seed,
 * concern, entity), so that changing one scenario parameter reshuffles only
 * the draws of that concern.
 */
#ifndef SIM_PRNG_H
#define SIM_PRNG_H

#include <stdint.h>

typedef struct sim_prng {
    uint64_t s[4];
} sim_prng;

/* The concerns that get their own streams. */
typedef enum sim_stream {
    SIM_STREAM_NETWORK = 1,
    SIM_STREAM_CLIENTS = 2,
    SIM_STREAM_SERVER = 3,
    SIM_STREAM_FAULTS = 4,
    SIM_STREAM_SCHEDULE = 5
} sim_stream;

/* sim_splitmix64_next advances *state and returns the next output. */
uint64_t sim_splitmix64_next(uint64_t *state);

/* sim_prng_seed seeds *p from `seed` through splitmix64 (4 outputs). */
void sim_prng_seed(sim_prng *p, uint64_t seed);

/* sim_prng_set_state sets the raw state (tests against reference vectors). */
void sim_prng_set_state(sim_prng *p, const uint64_t s[4]);

/* sim_prng_next returns the next 64-bit output of xoshiro256**. */
uint64_t sim_prng_next(sim_prng *p);

/* sim_prng_double returns a uniform double in [0, 1) (53 bits). */
double sim_prng_double(sim_prng *p);

/* sim_prng_below returns a uniform integer in [0, n) without modulo bias;
 * n == 0 returns 0. */
uint64_t sim_prng_below(sim_prng *p, uint64_t n);

/* sim_prng_derive seeds *out for (run seed, concern, entity): the same
 * triple always gives the same stream, different triples independent ones. */
void sim_prng_derive(sim_prng *out, uint64_t run_seed, sim_stream concern, uint64_t entity);

#endif
