/*
 * knee.h - the requirement a delivery-rate curve implies: the knee.
 *
 * Given points (value, delivered k of expected n), sorted by value, and a
 * target rate, the knee is the smallest value from which on (or, when the
 * effect goes the other way, the largest value up to which) the lower 95%
 * Wilson bound of every point is >= the target.  The direction is read
 * from the data (sim_knee_direction).  Between the last failing and the
 * first passing grid value, the knee is refined by bisection, running the
 * extra values through a callback, until the bracket is no wider than the
 * resolution; the knee is then the passing end of the bracket (a measured
 * value, never an interpolation).
 */
#ifndef SIM_KNEE_H
#define SIM_KNEE_H

#include <stddef.h>
#include <stdint.h>

/* One measured value. */
typedef struct sim_knee_point {
    double value;
    uint64_t k, n; /* delivered, expected */
    double lo;     /* lower 95% Wilson bound of k/n (1 when n == 0: nothing owed) */
} sim_knee_point;

/* Which way the requirement points. */
typedef enum sim_knee_dir {
    SIM_KNEE_DOWN = -1, /* smaller is better: value <= knee */
    SIM_KNEE_FLAT = 0,  /* no effect seen */
    SIM_KNEE_UP = 1     /* larger is better: value >= knee */
} sim_knee_dir;

/* What the search found. */
typedef enum sim_knee_status {
    SIM_KNEE_FOUND = 0, /* the target is reached from the knee on */
    SIM_KNEE_ALL = 1,   /* every value of the range reaches it: no requirement inside it */
    SIM_KNEE_NEVER = 2  /* no value (from some point on) reaches it */
} sim_knee_status;

typedef struct sim_knee {
    int dir;           /* sim_knee_dir */
    int status;        /* sim_knee_status */
    double value;      /* FOUND: the knee; ALL: the range's worst end that still passes */
    double bracket;    /* FOUND: the failing value next to the knee (|value - bracket| is the
                          precision reached) */
    double resolution; /* the width the bisection stopped at */
    size_t best;       /* index (in the final points) of the highest lower bound */
    double best_value, best_lo;
    uint32_t extra; /* values the bisection ran */
} sim_knee;

/* sim_knee_point_set fills p (value, k, n and the Wilson lower bound). */
void sim_knee_point_set(sim_knee_point *p, double value, uint64_t k, uint64_t n);

/*
 * sim_knee_direction reads the direction of the effect from the points:
 * the sign of the least-squares slope of the rate k/n against the rank of
 * the value; a zero slope is FLAT.  O(n).
 */
int sim_knee_direction(const sim_knee_point *p, size_t n);

/* The bisection's callback: run value v and fill *out (sim_knee_point_set).
 * Returns 0, or -1 to stop the search (its error is the caller's). */
typedef int (*sim_knee_eval)(void *ud, double v, sim_knee_point *out);

/*
 * sim_knee_find searches the knee of pts[*n] (sorted by value, ascending,
 * room for cap points) against `target`.  dir: SIM_KNEE_UP/DOWN to impose
 * it, SIM_KNEE_FLAT to read it from the data (a flat curve is judged UP).
 * The bisection runs while the bracket is wider than `resolution` (> 0),
 * with midpoints rounded down to whole numbers when `integer`; each value
 * it runs is inserted into pts in order (*n grows; it stops when cap is
 * reached).  eval may be NULL: no refinement.  Returns 0 with *out filled,
 * or -1 (no points, bad arguments, or eval failed).  O(n) plus one eval
 * per halving: about log2(step / resolution) per knee.
 */
int sim_knee_find(sim_knee_point *pts, size_t *n, size_t cap, double target, int dir,
                  double resolution, int integer, sim_knee_eval eval, void *ud, sim_knee *out);

#endif
