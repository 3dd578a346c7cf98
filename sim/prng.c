/*
 * prng.c - xoshiro256** and splitmix64, transcribed from Vigna's reference
 * code (prng.di.unimi.it: xoshiro256starstar.c, splitmix64.c), plus the
 * derivation of independent streams from (run seed, concern, entity).
 *
 * Everything here is pure integer arithmetic on the caller's state: no
 * static state, no floating point except sim_prng_double's final scaling,
 * so the outputs are identical on every compiler and optimisation level.
 */
#include "sim/prng.h"

/* The splitmix64 increment (2^64 / golden ratio, odd). */
#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ULL

/* Per-field salts for sim_prng_derive (arbitrary odd constants: the first
 * 64 fractional bits of sqrt(2) and sqrt(3)), so that (concern, entity) =
 * (x, y) and (y, x) feed different inputs into the mixer. */
#define SALT_CONCERN 0x6a09e667f3bcc909ULL
#define SALT_ENTITY  0xbb67ae8584caa73bULL

static inline uint64_t rotl(const uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* mix64 is splitmix64's output function applied to one state value: a
 * bijection of 64-bit words with full avalanche. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_splitmix64_next(uint64_t *state)
{
    *state += SPLITMIX_GAMMA;
    return mix64(*state);
}

void sim_prng_seed(sim_prng *p, uint64_t seed)
{
    uint64_t sm = seed;
    /* Four consecutive splitmix64 outputs are never all zero (mix64 is a
     * bijection and only one input maps to 0), so the xoshiro state is
     * always valid. */
    for (int i = 0; i < 4; i++)
        p->s[i] = sim_splitmix64_next(&sm);
}

void sim_prng_set_state(sim_prng *p, const uint64_t s[4])
{
    for (int i = 0; i < 4; i++)
        p->s[i] = s[i];
}

uint64_t sim_prng_next(sim_prng *p)
{
    uint64_t *s = p->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];

    s[2] ^= t;

    s[3] = rotl(s[3], 45);

    return result;
}

double sim_prng_double(sim_prng *p)
{
    return (double)(sim_prng_next(p) >> 11) * 0x1.0p-53;
}

/* mul128 sets *hi:*lo to the full 128-bit product of x and y. */
static inline void mul128(uint64_t x, uint64_t y, uint64_t *hi, uint64_t *lo)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 m = (unsigned __int128)x * y;
    *hi = (uint64_t)(m >> 64);
    *lo = (uint64_t)m;
#else
    uint64_t xl = x & 0xffffffffULL, xh = x >> 32;
    uint64_t yl = y & 0xffffffffULL, yh = y >> 32;
    uint64_t ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
    *lo = (mid << 32) | (ll & 0xffffffffULL);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/*
 * Lemire, "Fast Random Integer Generation in an Interval" (2019): the high
 * word of x * n is uniform in [0, n) once the low words below 2^64 mod n are
 * rejected.  Expected draws < 2 for every n, usually exactly 1.
 */
uint64_t sim_prng_below(sim_prng *p, uint64_t n)
{
    uint64_t hi, lo;
    if (n == 0)
        return 0;
    mul128(sim_prng_next(p), n, &hi, &lo);
    if (lo < n) {
        const uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
        while (lo < threshold)
            mul128(sim_prng_next(p), n, &hi, &lo);
    }
    return hi;
}

/*
 * The three fields are absorbed one after the other, each through a full
 * mix64 round, then the result seeds the generator through splitmix64 like
 * sim_prng_seed.  Chaining (rather than XOR-ing the fields together) keeps
 * (seed, concern, entity) triples that XOR to the same word apart.
 */
void sim_prng_derive(sim_prng *out, uint64_t run_seed, sim_stream concern, uint64_t entity)
{
    uint64_t h = mix64(run_seed + SPLITMIX_GAMMA);
    h = mix64(h ^ mix64((uint64_t)concern ^ SALT_CONCERN));
    h = mix64((h + SPLITMIX_GAMMA) ^ mix64(entity ^ SALT_ENTITY));
    sim_prng_seed(out, h);
}
