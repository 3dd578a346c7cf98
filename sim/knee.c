/* knee.c - the knee of a delivery-rate curve (knee.h). */
#include "sim/knee.h"

#include <math.h>
#include <string.h>

#include "sim/result.h"

void sim_knee_point_set(sim_knee_point *p, double value, uint64_t k, uint64_t n)
{
    double hi;
    p->value = value;
    p->k = k;
    p->n = n;
    if (n == 0)
        p->lo = 1;
    else
        sim_wilson(k, n, &p->lo, &hi);
}

static double rate_of(const sim_knee_point *p)
{
    return p->n ? (double)p->k / (double)p->n : 1.0;
}

int sim_knee_direction(const sim_knee_point *p, size_t n)
{
    if (n < 2)
        return SIM_KNEE_FLAT;
    double mx = (double)(n - 1) / 2, my = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        my += rate_of(&p[i]);
    my /= (double)n;
    for (size_t i = 0; i < n; i++)
        sxy += ((double)i - mx) * (rate_of(&p[i]) - my);
    if (fabs(sxy) < 1e-12)
        return SIM_KNEE_FLAT;
    return sxy > 0 ? SIM_KNEE_UP : SIM_KNEE_DOWN;
}

/* insert puts q into pts[*n] in value order; returns its index or -1. */
static long insert(sim_knee_point *pts, size_t *n, size_t cap, const sim_knee_point *q)
{
    if (*n >= cap)
        return -1;
    size_t i = 0;
    while (i < *n && pts[i].value < q->value)
        i++;
    memmove(&pts[i + 1], &pts[i], (*n - i) * sizeof *pts);
    pts[i] = *q;
    (*n)++;
    return (long)i;
}

static size_t best_of(const sim_knee_point *pts, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (pts[i].lo > pts[b].lo)
            b = i;
    return b;
}

int sim_knee_find(sim_knee_point *pts, size_t *n, size_t cap, double target, int dir,
                  double resolution, int integer, sim_knee_eval eval, void *ud, sim_knee *out)
{
    if (!pts || !n || !*n || !out || !(resolution > 0) || *n > cap)
        return -1;
    memset(out, 0, sizeof *out);
    out->resolution = resolution;
    if (dir == SIM_KNEE_FLAT)
        dir = sim_knee_direction(pts, *n);
    if (dir == SIM_KNEE_FLAT)
        dir = SIM_KNEE_UP;
    out->dir = dir;
    /* The passing run at the good end: UP, pts[first..n-1]; DOWN, pts[0..last]. */
    size_t cnt = *n;
    long edge; /* index of the knee point: the worst value still in the passing run */
    if (dir == SIM_KNEE_UP) {
        edge = (long)cnt;
        while (edge > 0 && pts[edge - 1].lo >= target)
            edge--;
        if (edge == (long)cnt)
            edge = -1;
    } else {
        edge = -1;
        while (edge + 1 < (long)cnt && pts[edge + 1].lo >= target)
            edge++;
    }
    if (edge < 0) {
        out->status = SIM_KNEE_NEVER;
    } else if ((dir == SIM_KNEE_UP && edge == 0) ||
               (dir == SIM_KNEE_DOWN && edge == (long)cnt - 1)) {
        out->status = SIM_KNEE_ALL;
        out->value = pts[edge].value;
    } else {
        out->status = SIM_KNEE_FOUND;
        double good = pts[edge].value, bad = pts[dir == SIM_KNEE_UP ? edge - 1 : edge + 1].value;
        while (eval && fabs(good - bad) > resolution && *n < cap) {
            double mid = (good + bad) / 2;
            if (integer)
                mid = floor(mid);
            if (mid == good || mid == bad)
                break;
            sim_knee_point q;
            if (eval(ud, mid, &q) != 0)
                return -1;
            q.value = mid;
            insert(pts, n, cap, &q);
            out->extra++;
            if (q.lo >= target)
                good = mid;
            else
                bad = mid;
        }
        out->value = good;
        out->bracket = bad;
    }
    out->best = best_of(pts, *n);
    out->best_value = pts[out->best].value;
    out->best_lo = pts[out->best].lo;
    return 0;
}
