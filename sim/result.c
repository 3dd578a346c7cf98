/*
 * result.c - count names, the latency histogram and the Wilson interval.
 *
 * Histogram buckets (SIM_HIST_SUB = 8 sub-buckets per power of two):
 *   v < 16:  bucket v (exact; 0..7 and 8..15 both have width 1)
 *   v >= 16: e = floor(log2 v) (4..63), sub = (v >> (e - 3)) & 7,
 *            bucket = 8 * (e - 2) + sub,
 *            covering [(8 + sub) << (e - 3), (9 + sub) << (e - 3)).
 * (The v >= 16 formula also holds for 8 <= v < 16, where e = 3.)  A bucket
 * is 2^(e-3) wide and starts at >= 2^e, so its width is at most 1/8 of any
 * value in it: 12.5% relative error.  The largest index used is
 * 8 * 61 + 7 = 495 < SIM_HIST_BUCKETS.
 */
#include "sim/result.h"

#include <math.h>
#include <string.h>

static const char *const COUNT_NAMES[SIM_COUNT__N] = {
#define SIM_COUNT_NAME(id, name, doc) #name,
    SIM_COUNTS(SIM_COUNT_NAME)
#undef SIM_COUNT_NAME
};

static const char *const CAUSE_NAMES[SIM_CAUSE__N] = {
#define SIM_CAUSE_NAME(id, name, count, doc) #name,
    SIM_CAUSES(SIM_CAUSE_NAME)
#undef SIM_CAUSE_NAME
};

static const int CAUSE_COUNTS[SIM_CAUSE__N] = {
#define SIM_CAUSE_COUNT(id, name, count, doc) SIM_COUNT_##count,
    SIM_CAUSES(SIM_CAUSE_COUNT)
#undef SIM_CAUSE_COUNT
};

const char *sim_cause_name(int cause)
{
    return cause >= 0 && cause < SIM_CAUSE__N ? CAUSE_NAMES[cause] : "?";
}

int sim_cause_count(int cause)
{
    return cause >= 0 && cause < SIM_CAUSE__N ? CAUSE_COUNTS[cause] : -1;
}

#define LAST_BUCKET (8 * 61 + 7)

const char *sim_count_name(int id)
{
    if (id < 0 || id >= SIM_COUNT__N)
        return NULL;
    return COUNT_NAMES[id];
}

/* O(number of counts) string compares: the table has about 20 entries. */
int sim_count_lookup(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SIM_COUNT__N; i++)
        if (strcmp(COUNT_NAMES[i], name) == 0)
            return i;
    return -1;
}

/* floor(log2 v) for v > 0. */
static int log2_floor(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return 63 - __builtin_clzll(v);
#else
    int e = 0;
    while (v >>= 1)
        e++;
    return e;
#endif
}

static int bucket_of(uint64_t v)
{
    if (v < 16)
        return (int)v;
    int e = log2_floor(v);
    return 8 * (e - 2) + (int)((v >> (e - 3)) & 7);
}

uint64_t sim_hist_bucket_low(int i)
{
    if (i <= 0)
        return 0;
    if (i > LAST_BUCKET)
        return UINT64_MAX;
    if (i < 16)
        return (uint64_t)i;
    int e = i / 8 + 2, sub = i % 8;
    return (uint64_t)(8 + sub) << (e - 3);
}

void sim_hist_add(sim_hist *h, uint64_t v)
{
    h->count++;
    if (v > h->max)
        h->max = v;
    h->b[bucket_of(v)]++;
}

void sim_hist_merge(sim_hist *into, const sim_hist *from)
{
    into->count += from->count;
    if (from->max > into->max)
        into->max = from->max;
    for (int i = 0; i < SIM_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
}

/*
 * The bucket holding the rank-th smallest value, rank = ceil(q * count)
 * (at least 1), reported as that bucket's highest value, capped at the
 * exact maximum seen.  O(SIM_HIST_BUCKETS).
 */
uint64_t sim_hist_quantile(const sim_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    double r = ceil(q * (double)h->count);
    uint64_t rank = r < 1 ? 1 : (r >= (double)h->count ? h->count : (uint64_t)r);
    uint64_t seen = 0;
    for (int i = 0; i <= LAST_BUCKET; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t hi = i == LAST_BUCKET ? UINT64_MAX : sim_hist_bucket_low(i + 1) - 1;
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

/*
 * Wilson score interval, z = 1.959964 (95%):
 *   center = (p + z^2/2n) / (1 + z^2/n)
 *   half   = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
 * k = 0 gives lo = 0 and k = n gives hi = 1 exactly; n = 0 gives [0, 1];
 * k > n is treated as k = n.
 */
void sim_wilson(uint64_t k, uint64_t n, double *lo, double *hi)
{
    const double z = 1.959964, z2 = z * z;
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    if (k > n)
        k = n;
    double nn = (double)n, p = (double)k / nn;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    double l = center - half, h = center + half;
    *lo = k == 0 ? 0 : (l < 0 ? 0 : l);
    *hi = k == n ? 1 : (h > 1 ? 1 : h);
}
