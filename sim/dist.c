/*
 * dist.c - parsing, sampling and formatting of the distributions in dist.h.
 *
 * Conventions fixed here (dist.h gives the syntax):
 * - Durations are whole nanoseconds: "1.5s" is exact, fractions below one
 *   nanosecond are rounded half up ("1.5ns" is 2ns).  A duration value is
 *   stored as a double of nanoseconds, exact below 2^53 ns (104 days).
 * - Values are never negative.  Plain numbers (counts, pareto's shape) may
 *   be decimals with an exponent ("2.5", "1e3"); durations may not.
 * - Arguments are positional (in the order of dist.h) and/or key=value; a
 *   positional argument may not follow a key=value one.
 * - normal is truncated at 0 by resampling (rejection): the samples follow
 *   the normal density restricted to [0, inf) and renormalised, and
 *   sim_dist_quantile returns that truncated distribution's quantiles.  The
 *   mean must be >= 0, so each try is accepted with probability >= 1/2;
 *   after 64 rejected tries (probability <= 2^-64) the sample is 0.
 * - lognormal(median=m, p99=p): mu = ln m, sigma = (ln p - ln m) / z99 with
 *   z99 = Phi^-1(0.99) = 2.3263478740408408.
 * - empirical: the points (p, v) with p strictly increasing and v never
 *   decreasing, plus (0, 0) unless p0 is given.  The inverse CDF is linear
 *   between points and constant (the last value) above the last point.
 * - Normal deviates come from Box-Muller with one cosine value per pair of
 *   uniforms; the sine value is discarded, nothing is cached anywhere.
 * - sim_dist_sample_ns rounds half up and caps at 2^63 ns (292 years), so
 *   now + sample cannot wrap.  sim_dist_mean is INFINITY for pareto with
 *   shape <= 1.
 * - Canonical text (sim_dist_format): a constant is its bare value
 *   ("5ms"); uniform is positional ("uniform(5ms, 50ms)"), the others use
 *   key=value as in dist.h; empirical omits the implicit p0=0.  Durations
 *   are written in the largest unit that divides them exactly ("1500ms",
 *   "2m"), plain numbers in the shortest text that reads back as the same
 *   double.  Whatever sim_dist_parse produced formats to a text that
 *   parses back to the identical struct.
 *
 * Number parsing (strtod) and formatting (snprintf %g) assume the C locale
 * for LC_NUMERIC, the default of every C program that never calls setlocale.
 */
#include "sim/dist.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Samples must not depend on the compiler: no fused multiply-add
 * contraction (gcc already has it off in ISO C mode, -std=c11). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Phi^-1(0.99), the z-score of the 99th percentile of a normal. */
#define Z99 2.3263478740408408

#define PI_2             6.283185307179586476925286766559
#define SQRT1_2          0.70710678118654752440084436210485
#define SQRT_2PI         2.5066282746310005024157652848110
#define NORMAL_MAX_TRIES 64

/* Samples are capped here (2^63 ns, 292 years) by sim_dist_sample_ns, so
 * that now + sample cannot wrap for any reachable virtual time. */
#define SAMPLE_NS_MAX 9223372036854775808.0

/* ------------------------------------------------------------------------ */
/* Parser                                                                   */

typedef struct parser {
    const char *s;
    size_t i;
    sim_parse_error *err;
} parser;

static int fail(parser *ps, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *ps, size_t off, const char *fmt, ...)
{
    if (ps->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
        va_end(ap);
        ps->err->offset = off;
    }
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->s[ps->i] == ' ' || ps->s[ps->i] == '\t')
        ps->i++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* A unit: name and nanoseconds as mult * 10^exp10. */
typedef struct unit {
    const char *name;
    uint64_t ns;
    uint64_t mult;
    int exp10;
} unit;

static const unit UNITS[] = {
    {"ns", 1ULL, 1, 0},         {"us", 1000ULL, 1, 3},        {"ms", 1000000ULL, 1, 6},
    {"s", 1000000000ULL, 1, 9}, {"m", 60000000000ULL, 6, 10},
};

#define UNIT_LIST "ns, us, ms, s or m"

/*
 * scan_duration reads digits[.digits]unit at ps->i into *ns.  Exact integer
 * arithmetic: integer part * unit, plus the fraction rounded half up to
 * whole nanoseconds from its first exp10 + 1 digits.  That is exact rounding
 * for ns, us, ms and s (the dropped digits are below 0.1 ns); for m the last
 * kept digit is worth 0.6 ns, so a fraction within 0.1 ns above a half
 * nanosecond may round down.  Irrelevant for any real duration.
 */
static int scan_duration(parser *ps, uint64_t *ns)
{
    const char *s = ps->s;
    size_t start = ps->i;
    uint64_t ipart = 0;
    int overflow = 0;
    char frac[12];
    int nfrac = 0;

    if (s[ps->i] == '-')
        return fail(ps, start, "negative duration");
    if (!is_digit(s[ps->i]))
        return fail(ps, start, "expected a duration (a number and a unit: " UNIT_LIST ")");
    while (is_digit(s[ps->i])) {
        uint64_t d = (uint64_t)(s[ps->i] - '0');
        if (ipart > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            ipart = ipart * 10 + d;
        ps->i++;
    }
    if (s[ps->i] == '.') {
        ps->i++;
        if (!is_digit(s[ps->i]))
            return fail(ps, ps->i, "expected a digit after '.'");
        while (is_digit(s[ps->i])) {
            if (nfrac < (int)sizeof frac)
                frac[nfrac++] = s[ps->i];
            ps->i++;
        }
    }
    size_t ustart = ps->i;
    while (is_alpha(s[ps->i]))
        ps->i++;
    size_t ulen = ps->i - ustart;
    if (ulen == 0)
        return fail(ps, ustart, "missing unit (" UNIT_LIST ")");
    const unit *u = NULL;
    for (size_t k = 0; k < sizeof UNITS / sizeof UNITS[0]; k++)
        if (strlen(UNITS[k].name) == ulen && memcmp(UNITS[k].name, s + ustart, ulen) == 0)
            u = &UNITS[k];
    if (!u)
        return fail(ps, ustart, "unknown unit '%.*s' (" UNIT_LIST ")", (int)(ulen > 16 ? 16 : ulen),
                    s + ustart);

    /* Fraction: keep exp10 + 1 digits (one more than whole nanoseconds). */
    int keep = nfrac < u->exp10 + 1 ? nfrac : u->exp10 + 1;
    uint64_t f = 0;
    for (int k = 0; k < keep; k++)
        f = f * 10 + (uint64_t)(frac[k] - '0');
    uint64_t fns;
    if (keep <= u->exp10) {
        uint64_t scale = 1;
        for (int k = 0; k < u->exp10 - keep; k++)
            scale *= 10;
        fns = f * u->mult * scale; /* < mult * 10^exp10 <= 6e10 */
    } else {
        fns = (f * u->mult + 5) / 10; /* f < 10^11: no overflow */
    }
    if (overflow || (u->ns > 1 && ipart > UINT64_MAX / u->ns) || ipart * u->ns > UINT64_MAX - fns)
        return fail(ps, start, "duration out of range (at most %llu ns)",
                    (unsigned long long)UINT64_MAX);
    *ns = ipart * u->ns + fns;
    return 0;
}

/* scan_number reads a plain non-negative number: digits[.digits][e[+-]digits]. */
static int scan_number(parser *ps, double *out)
{
    const char *s = ps->s;
    size_t start = ps->i;
    if (s[ps->i] == '-')
        return fail(ps, start, "negative value");
    if (!is_digit(s[ps->i]))
        return fail(ps, start, "expected a number");
    while (is_digit(s[ps->i]))
        ps->i++;
    if (s[ps->i] == '.') {
        ps->i++;
        if (!is_digit(s[ps->i]))
            return fail(ps, ps->i, "expected a digit after '.'");
        while (is_digit(s[ps->i]))
            ps->i++;
    }
    if (s[ps->i] == 'e' || s[ps->i] == 'E') {
        size_t j = ps->i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (is_digit(s[j])) {
            while (is_digit(s[j]))
                j++;
            ps->i = j;
        }
    }
    if (is_alpha(s[ps->i])) {
        size_t u = ps->i;
        while (is_alpha(s[ps->i]))
            ps->i++;
        return fail(ps, u, "unexpected unit '%.*s': this value is a plain number",
                    (int)(ps->i - u > 16 ? 16 : ps->i - u), s + u);
    }
    char buf[64];
    size_t len = ps->i - start;
    if (len >= sizeof buf)
        return fail(ps, start, "number too long");
    memcpy(buf, s + start, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(ps, start, "number out of range");
    *out = v;
    return 0;
}

/* scan_value reads a duration (as nanoseconds) or a plain number. */
static int scan_value(parser *ps, int duration, double *out)
{
    if (duration) {
        uint64_t ns;
        if (scan_duration(ps, &ns) < 0)
            return -1;
        *out = (double)ns;
        return 0;
    }
    return scan_number(ps, out);
}

typedef struct dist_spec {
    const char *name;
    sim_dist_kind kind;
    int nparams; /* -1: empirical */
    const char *params[2];
    int plain[2]; /* a plain number even in a duration distribution */
} dist_spec;

static const dist_spec SPECS[] = {
    {"const", SIM_DIST_CONST, 1, {"value", NULL}, {0, 0}},
    {"uniform", SIM_DIST_UNIFORM, 2, {"min", "max"}, {0, 0}},
    {"exponential", SIM_DIST_EXPONENTIAL, 1, {"mean", NULL}, {0, 0}},
    {"normal", SIM_DIST_NORMAL, 2, {"mean", "sd"}, {0, 0}},
    {"lognormal", SIM_DIST_LOGNORMAL, 2, {"median", "p99"}, {0, 0}},
    {"pareto", SIM_DIST_PARETO, 2, {"scale", "shape"}, {0, 1}},
    {"empirical", SIM_DIST_EMPIRICAL, -1, {NULL, NULL}, {0, 0}},
};

#define NSPECS (sizeof SPECS / sizeof SPECS[0])

static const dist_spec *spec_of(sim_dist_kind k)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (SPECS[i].kind == k)
            return &SPECS[i];
    return NULL;
}

/* The one place lognormal's parameters are derived (parse and format). */
static void lognormal_params(double median, double p99, double *mu, double *sigma)
{
    *mu = log(median);
    *sigma = (log(p99) - *mu) / Z99;
}

/* expect_sep consumes ',' (returns 0) or ')' (returns 1). */
static int expect_sep(parser *ps)
{
    skip_ws(ps);
    if (ps->s[ps->i] == ',') {
        ps->i++;
        return 0;
    }
    if (ps->s[ps->i] == ')') {
        ps->i++;
        return 1;
    }
    if (ps->s[ps->i] == '\0')
        return fail(ps, ps->i, "missing ')'");
    return fail(ps, ps->i, "expected ',' or ')'");
}

static int parse_args(parser *ps, const dist_spec *sp, int duration, sim_dist *d)
{
    double val[2] = {0, 0};
    size_t voff[2] = {0, 0};
    int have[2] = {0, 0};
    int npos = 0, keyed = 0;
    size_t close;

    skip_ws(ps);
    if (ps->s[ps->i] == ')') {
        close = ps->i++;
    } else {
        for (;;) {
            skip_ws(ps);
            size_t argstart = ps->i;
            int idx;
            if (is_alpha(ps->s[ps->i])) {
                size_t k0 = ps->i;
                while (is_alpha(ps->s[ps->i]) || is_digit(ps->s[ps->i]))
                    ps->i++;
                size_t klen = ps->i - k0;
                skip_ws(ps);
                if (ps->s[ps->i] != '=')
                    return fail(ps, argstart, "expected a value or key=value");
                ps->i++;
                idx = -1;
                for (int k = 0; k < sp->nparams; k++)
                    if (strlen(sp->params[k]) == klen &&
                        memcmp(sp->params[k], ps->s + k0, klen) == 0)
                        idx = k;
                if (idx < 0)
                    return fail(ps, argstart, "unknown argument '%.*s' for %s (takes %s%s%s)",
                                (int)(klen > 16 ? 16 : klen), ps->s + k0, sp->name, sp->params[0],
                                sp->nparams > 1 ? ", " : "", sp->nparams > 1 ? sp->params[1] : "");
                keyed = 1;
                skip_ws(ps);
            } else {
                if (keyed)
                    return fail(ps, argstart, "positional argument after key=value");
                if (npos >= sp->nparams)
                    return fail(ps, argstart, "too many arguments: %s takes %d", sp->name,
                                sp->nparams);
                idx = npos++;
            }
            if (have[idx])
                return fail(ps, argstart, "argument '%s' given twice", sp->params[idx]);
            have[idx] = 1;
            voff[idx] = ps->i;
            if (scan_value(ps, duration && !sp->plain[idx], &val[idx]) < 0)
                return -1;
            int r = expect_sep(ps);
            if (r < 0)
                return -1;
            if (r == 1) {
                close = ps->i - 1;
                break;
            }
        }
    }
    for (int k = 0; k < sp->nparams; k++)
        if (!have[k])
            return fail(ps, close, "missing argument '%s' for %s", sp->params[k], sp->name);

    d->a = val[0];
    d->b = val[1];
    switch (sp->kind) {
    case SIM_DIST_UNIFORM:
        if (val[1] < val[0])
            return fail(ps, voff[1], "max must be >= min");
        break;
    case SIM_DIST_EXPONENTIAL:
        if (!(val[0] > 0))
            return fail(ps, voff[0], "mean must be > 0");
        break;
    case SIM_DIST_LOGNORMAL:
        if (!(val[0] > 0))
            return fail(ps, voff[0], "median must be > 0");
        if (!(val[1] > val[0]))
            return fail(ps, voff[1], "p99 must be greater than median");
        lognormal_params(val[0], val[1], &d->a, &d->b);
        break;
    case SIM_DIST_PARETO:
        if (!(val[0] > 0))
            return fail(ps, voff[0], "scale must be > 0");
        if (!(val[1] > 0))
            return fail(ps, voff[1], "shape must be > 0");
        break;
    default:
        break;
    }
    return 0;
}

static int parse_empirical(parser *ps, int duration, sim_dist *d)
{
    const char *s = ps->s;
    int n = 0;
    double lastpct = -1;

    skip_ws(ps);
    if (s[ps->i] == ')')
        return fail(ps, ps->i, "empirical needs at least one point (e.g. p50=20ms)");
    for (;;) {
        skip_ws(ps);
        size_t kstart = ps->i;
        if (s[ps->i] != 'p' || !is_digit(s[ps->i + 1]))
            return fail(ps, kstart, "expected a percentile key (p0..p100, e.g. p99=250ms)");
        ps->i++;
        size_t nstart = ps->i;
        while (is_digit(s[ps->i]))
            ps->i++;
        if (s[ps->i] == '.') {
            ps->i++;
            if (!is_digit(s[ps->i]))
                return fail(ps, ps->i, "expected a digit after '.'");
            while (is_digit(s[ps->i]))
                ps->i++;
        }
        char buf[32];
        size_t len = ps->i - nstart;
        if (len >= sizeof buf)
            return fail(ps, kstart, "percentile key too long");
        memcpy(buf, s + nstart, len);
        buf[len] = '\0';
        double pct = strtod(buf, NULL);
        if (pct > 100)
            return fail(ps, kstart, "percentile '%s' out of range (p0..p100)", buf);
        if (pct <= lastpct)
            return fail(ps, kstart, "percentiles must increase: p%s comes after p%g", buf, lastpct);
        skip_ws(ps);
        if (s[ps->i] != '=')
            return fail(ps, ps->i, "expected '=' after p%s", buf);
        ps->i++;
        skip_ws(ps);
        size_t vstart = ps->i;
        double v;
        if (scan_value(ps, duration, &v) < 0)
            return -1;
        int implicit0 = n == 0 && pct > 0;
        if (n + implicit0 >= SIM_DIST_EMPIRICAL_MAX)
            return fail(ps, kstart, "too many points (at most %d, p0 included)",
                        SIM_DIST_EMPIRICAL_MAX);
        if (implicit0) {
            d->p[0] = 0;
            d->v[0] = 0;
            n = 1;
        }
        if (n > 0 && v < d->v[n - 1])
            return fail(ps, vstart, "values must not decrease (p%s is below the previous point)",
                        buf);
        d->p[n] = pct / 100.0;
        d->v[n] = v;
        n++;
        lastpct = pct;
        int r = expect_sep(ps);
        if (r < 0)
            return -1;
        if (r == 1)
            break;
    }
    d->n = n;
    return 0;
}

int sim_dist_parse(const char *text, int duration, sim_dist *out, sim_parse_error *err)
{
    parser ps = {text, 0, err};
    sim_dist d;
    memset(&d, 0, sizeof d);
    d.is_duration = duration != 0;

    skip_ws(&ps);
    if (text[ps.i] == '\0')
        return fail(&ps, ps.i, "empty distribution");
    if (is_alpha(text[ps.i])) {
        size_t n0 = ps.i;
        while (is_alpha(text[ps.i]) || is_digit(text[ps.i]))
            ps.i++;
        size_t nlen = ps.i - n0;
        const dist_spec *sp = NULL;
        for (size_t k = 0; k < NSPECS; k++)
            if (strlen(SPECS[k].name) == nlen && memcmp(SPECS[k].name, text + n0, nlen) == 0)
                sp = &SPECS[k];
        if (!sp)
            return fail(&ps, n0,
                        "unknown distribution '%.*s' (const, uniform, exponential, normal, "
                        "lognormal, pareto, empirical)",
                        (int)(nlen > 24 ? 24 : nlen), text + n0);
        skip_ws(&ps);
        if (text[ps.i] != '(')
            return fail(&ps, ps.i, "expected '(' after '%s'", sp->name);
        ps.i++;
        d.kind = sp->kind;
        if (sp->kind == SIM_DIST_EMPIRICAL) {
            if (parse_empirical(&ps, duration, &d) < 0)
                return -1;
        } else if (parse_args(&ps, sp, duration, &d) < 0) {
            return -1;
        }
    } else {
        d.kind = SIM_DIST_CONST;
        if (scan_value(&ps, duration, &d.a) < 0)
            return -1;
    }
    skip_ws(&ps);
    if (text[ps.i] != '\0')
        return fail(&ps, ps.i, "unexpected '%c' after the distribution", text[ps.i]);
    *out = d;
    return 0;
}

int sim_duration_parse(const char *text, uint64_t *ns, sim_parse_error *err)
{
    parser ps = {text, 0, err};
    uint64_t v;
    skip_ws(&ps);
    if (text[ps.i] == '\0')
        return fail(&ps, ps.i, "empty duration");
    if (scan_duration(&ps, &v) < 0)
        return -1;
    skip_ws(&ps);
    if (text[ps.i] != '\0')
        return fail(&ps, ps.i, "unexpected '%c' after the duration", text[ps.i]);
    *ns = v;
    return 0;
}

void sim_dist_const(sim_dist *d, double value, int duration)
{
    memset(d, 0, sizeof *d);
    d->kind = SIM_DIST_CONST;
    d->is_duration = duration != 0;
    d->a = value;
}

/* ------------------------------------------------------------------------ */
/* Sampling and quantiles                                                   */

/* norm_cdf is Phi, the standard normal CDF. */
static double norm_cdf(double x)
{
    return 0.5 * erfc(-x * SQRT1_2);
}

/*
 * norm_inv is Phi^-1: Acklam's rational approximation (relative error
 * 1.15e-9) refined by one Halley step on erfc, which brings it to about
 * machine precision.  p in (0, 1); 0 and 1 give -inf and +inf.
 */
static double norm_inv(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double dd[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double plow = 0.02425;
    double q, r, x;

    if (p <= 0)
        return -INFINITY;
    if (p >= 1)
        return INFINITY;
    if (p < plow) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1);
    } else if (p <= 1 - plow) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1);
    }
    double e = norm_cdf(x) - p;
    double u = e * SQRT_2PI * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

/* std_normal draws one standard normal deviate (Box-Muller, 2 uniforms). */
static double std_normal(sim_prng *r)
{
    double u1 = 1.0 - sim_prng_double(r); /* (0, 1]: log is finite */
    double u2 = sim_prng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(PI_2 * u2);
}

/* empirical_at is the piecewise-linear inverse CDF at u in [0, 1].
 * O(log n): binary search for the last point with p <= u. */
static double empirical_at(const sim_dist *d, double u)
{
    int lo = 0, hi = d->n - 1;
    if (d->n <= 0)
        return 0;
    if (u >= d->p[hi])
        return d->v[hi];
    while (lo < hi) { /* invariant: p[lo] <= u < p[hi] */
        int mid = (lo + hi + 1) / 2;
        if (d->p[mid] <= u)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo >= d->n - 1)
        return d->v[d->n - 1];
    double t = (u - d->p[lo]) / (d->p[lo + 1] - d->p[lo]);
    return d->v[lo] + (d->v[lo + 1] - d->v[lo]) * t;
}

/* The normal truncated at 0: quantile u of the renormalised density. */
static double trunc_normal_at(const sim_dist *d, double u)
{
    if (!(d->b > 0))
        return d->a > 0 ? d->a : 0;
    double p0 = norm_cdf(-d->a / d->b); /* mass below 0, cut off */
    double x = d->a + d->b * norm_inv(p0 + u * (1 - p0));
    return x > 0 ? x : 0;
}

double sim_dist_sample(const sim_dist *d, sim_prng *r)
{
    double x;
    switch (d->kind) {
    case SIM_DIST_CONST:
        return d->a;
    case SIM_DIST_UNIFORM:
        return d->a + (d->b - d->a) * sim_prng_double(r);
    case SIM_DIST_EXPONENTIAL:
        return -d->a * log1p(-sim_prng_double(r));
    case SIM_DIST_NORMAL:
        for (int k = 0; k < NORMAL_MAX_TRIES; k++) {
            x = d->a + d->b * std_normal(r);
            if (x >= 0)
                return x;
        }
        return 0;
    case SIM_DIST_LOGNORMAL:
        return exp(d->a + d->b * std_normal(r));
    case SIM_DIST_PARETO:
        return d->a * pow(1.0 - sim_prng_double(r), -1.0 / d->b);
    case SIM_DIST_EMPIRICAL:
        return empirical_at(d, sim_prng_double(r));
    }
    return 0;
}

uint64_t sim_dist_sample_ns(const sim_dist *d, sim_prng *r)
{
    double x = sim_dist_sample(d, r);
    if (!(x > 0)) /* also NaN */
        return 0;
    if (x >= SAMPLE_NS_MAX)
        return (uint64_t)SAMPLE_NS_MAX;
    return (uint64_t)llround(x);
}

void sim_dist_scale(sim_dist *d, double x)
{
    switch (d->kind) {
    case SIM_DIST_CONST:
    case SIM_DIST_EXPONENTIAL:
    case SIM_DIST_PARETO: /* a = the minimum: the shape stays */
        d->a *= x;
        break;
    case SIM_DIST_UNIFORM:
    case SIM_DIST_NORMAL:
        d->a *= x;
        d->b *= x;
        break;
    case SIM_DIST_LOGNORMAL: /* exp(mu + sigma z) * x = exp(mu + log x + sigma z) */
        d->a += log(x);
        break;
    case SIM_DIST_EMPIRICAL:
        for (int i = 0; i < d->n; i++)
            d->v[i] *= x;
        break;
    }
}

double sim_dist_mean(const sim_dist *d)
{
    double m = 0;
    switch (d->kind) {
    case SIM_DIST_CONST:
    case SIM_DIST_EXPONENTIAL:
    case SIM_DIST_NORMAL:
        return d->a;
    case SIM_DIST_UNIFORM:
        return (d->a + d->b) / 2;
    case SIM_DIST_LOGNORMAL:
        return exp(d->a + d->b * d->b / 2);
    case SIM_DIST_PARETO:
        return d->b > 1 ? d->b * d->a / (d->b - 1) : INFINITY;
    case SIM_DIST_EMPIRICAL:
        /* The integral of the piecewise-linear inverse CDF over [0, 1]. */
        for (int i = 0; i + 1 < d->n; i++)
            m += (d->p[i + 1] - d->p[i]) * (d->v[i] + d->v[i + 1]) / 2;
        if (d->n > 0)
            m += (1 - d->p[d->n - 1]) * d->v[d->n - 1];
        return m;
    }
    return 0;
}

double sim_dist_quantile(const sim_dist *d, double q)
{
    if (!(q >= 0))
        q = 0;
    if (q > 1)
        q = 1;
    switch (d->kind) {
    case SIM_DIST_CONST:
        return d->a;
    case SIM_DIST_UNIFORM:
        return d->a + (d->b - d->a) * q;
    case SIM_DIST_EXPONENTIAL:
        return -d->a * log1p(-q);
    case SIM_DIST_NORMAL:
        return trunc_normal_at(d, q);
    case SIM_DIST_LOGNORMAL:
        return exp(d->a + d->b * norm_inv(q));
    case SIM_DIST_PARETO:
        return d->a * pow(1.0 - q, -1.0 / d->b);
    case SIM_DIST_EMPIRICAL:
        return empirical_at(d, q);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */

typedef struct sbuf {
    char *buf;
    size_t len, pos;
    int bad;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->pos, b->len - b->pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->len - b->pos)
        b->bad = 1;
    else
        b->pos += (size_t)n;
}

/* A check that a value as parsed back gives the stored parameter. */
typedef int (*accept_fn)(double parsed, const void *ctx);

static int accept_equal(double parsed, const void *ctx)
{
    return parsed == *(const double *)ctx;
}

/* put_plain writes the shortest %g text whose value `ok` accepts. */
static void put_plain(sbuf *b, double x, accept_fn ok, const void *ctx)
{
    char tmp[40];
    if (!isfinite(x) || x < 0) {
        b->bad = 1;
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, x);
        if (ok(strtod(tmp, NULL), ctx))
            break;
    }
    put(b, "%s", tmp);
}

/* put_percent writes a percentile key's number (0..100) without exponent:
 * the fewest decimals that `ok` accepts. */
static void put_percent(sbuf *b, double x, accept_fn ok, const void *ctx)
{
    char tmp[48];
    if (!isfinite(x) || x < 0 || x > 100) {
        b->bad = 1;
        return;
    }
    for (int prec = 0; prec <= 20; prec++) {
        snprintf(tmp, sizeof tmp, "%.*f", prec, x);
        if (ok(strtod(tmp, NULL), ctx))
            break;
    }
    put(b, "%s", tmp);
}

/* put_duration writes whole nanoseconds in the largest unit dividing them
 * exactly; of the integers next to x it takes the first `ok` accepts. */
static void put_duration(sbuf *b, double x, accept_fn ok, const void *ctx)
{
    /* 2^64 is (double)UINT64_MAX, what the parser makes of the largest
     * duration; anything above cannot come from the parser. */
    if (!isfinite(x) || x < 0 || x > 18446744073709551616.0) {
        b->bad = 1;
        return;
    }
    uint64_t v;
    if (x == 18446744073709551616.0)
        v = UINT64_MAX;
    else if (x >= 9007199254740992.0) /* above 2^53 doubles are integers */
        v = (uint64_t)x;
    else
        v = (uint64_t)llround(x);
    if (!ok((double)v, ctx)) {
        if (v < UINT64_MAX && ok((double)(v + 1), ctx))
            v++;
        else if (v > 0 && ok((double)(v - 1), ctx))
            v--;
    }
    if (v == 0) {
        put(b, "0ms");
        return;
    }
    for (int k = (int)(sizeof UNITS / sizeof UNITS[0]) - 1; k >= 0; k--)
        if (v % UNITS[k].ns == 0) {
            put(b, "%llu%s", (unsigned long long)(v / UNITS[k].ns), UNITS[k].name);
            return;
        }
}

static void put_value(sbuf *b, const sim_dist *d, double x, accept_fn ok, const void *ctx)
{
    if (d->is_duration)
        put_duration(b, x, ok, ctx);
    else
        put_plain(b, x, ok, ctx);
}

static void put_eq(sbuf *b, const sim_dist *d, double x)
{
    put_value(b, d, x, accept_equal, &x);
}

typedef struct logn_ctx {
    double mu, sigma, median;
} logn_ctx;

static int accept_median(double parsed, const void *ctx)
{
    const logn_ctx *c = ctx;
    return parsed > 0 && log(parsed) == c->mu;
}

static int accept_p99(double parsed, const void *ctx)
{
    const logn_ctx *c = ctx;
    double mu, sigma;
    lognormal_params(c->median, parsed, &mu, &sigma);
    return sigma == c->sigma;
}

static int accept_pct(double parsed, const void *ctx)
{
    return parsed / 100.0 == *(const double *)ctx;
}

int sim_dist_format(const sim_dist *d, char *buf, size_t len)
{
    sbuf b = {buf, len, 0, 0};
    const dist_spec *sp = spec_of(d->kind);
    if (!buf || len == 0 || !sp)
        return -1;
    buf[0] = '\0';
    switch (d->kind) {
    case SIM_DIST_CONST:
        put_eq(&b, d, d->a);
        break;
    case SIM_DIST_UNIFORM:
        put(&b, "uniform(");
        put_eq(&b, d, d->a);
        put(&b, ", ");
        put_eq(&b, d, d->b);
        put(&b, ")");
        break;
    case SIM_DIST_EXPONENTIAL:
        put(&b, "exponential(mean=");
        put_eq(&b, d, d->a);
        put(&b, ")");
        break;
    case SIM_DIST_NORMAL:
        put(&b, "normal(mean=");
        put_eq(&b, d, d->a);
        put(&b, ", sd=");
        put_eq(&b, d, d->b);
        put(&b, ")");
        break;
    case SIM_DIST_LOGNORMAL: {
        logn_ctx c = {d->a, d->b, 0};
        char tmp[64];
        sbuf mb = {tmp, sizeof tmp, 0, 0};
        /* Write the median, then read it back as the parser would so that
         * p99 is matched against the median the parser will see. */
        put_value(&mb, d, exp(d->a), accept_median, &c);
        if (mb.bad) {
            b.bad = 1;
            break;
        }
        parser ps = {tmp, 0, NULL};
        if (scan_value(&ps, d->is_duration, &c.median) < 0) {
            b.bad = 1;
            break;
        }
        put(&b, "lognormal(median=%s, p99=", tmp);
        put_value(&b, d, exp(d->a + Z99 * d->b), accept_p99, &c);
        put(&b, ")");
        break;
    }
    case SIM_DIST_PARETO:
        put(&b, "pareto(scale=");
        put_eq(&b, d, d->a);
        put(&b, ", shape=");
        put_plain(&b, d->b, accept_equal, &d->b);
        put(&b, ")");
        break;
    case SIM_DIST_EMPIRICAL:
        put(&b, "empirical(");
        for (int i = 0; i < d->n; i++) {
            if (i == 0 && d->n > 1 && d->p[0] == 0 && d->v[0] == 0)
                continue; /* the implicit p0 = 0 */
            if (b.pos > strlen("empirical("))
                put(&b, ", ");
            put(&b, "p");
            put_percent(&b, d->p[i] * 100, accept_pct, &d->p[i]);
            put(&b, "=");
            put_eq(&b, d, d->v[i]);
        }
        put(&b, ")");
        break;
    }
    if (b.bad) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parameters by name (ctxsim sweep, sim/vary.h)                            */

/* stat_quantile recognises a statistic name: "median" (0.5) or "pNN"
 * (NN/100, 0 < NN < 100, decimals allowed).  Returns 1 with *q set. */
static int stat_quantile(const char *name, double *q)
{
    if (strcmp(name, "median") == 0) {
        *q = 0.5;
        return 1;
    }
    if (name[0] != 'p' || !is_digit(name[1]))
        return 0;
    char *end;
    double x = strtod(name + 1, &end);
    if (*end || !(x > 0 && x < 100))
        return 0;
    *q = x / 100;
    return 1;
}

/* own_param returns the index (0 or 1) of `name` among the parameters of
 * d's kind, an empirical point index + 2, or -1. */
static int own_param(const sim_dist *d, const char *name)
{
    const dist_spec *sp = spec_of(d->kind);
    if (!sp)
        return -1;
    if (d->kind == SIM_DIST_EMPIRICAL) {
        double q;
        if (!stat_quantile(name, &q) && strcmp(name, "p100") != 0 && strcmp(name, "p0") != 0)
            return -1;
        q = strcmp(name, "p100") == 0 ? 1 : strcmp(name, "p0") == 0 ? 0 : q;
        for (int i = 0; i < d->n; i++)
            if (fabs(d->p[i] - q) < 1e-12)
                return i + 2;
        return -1;
    }
    for (int k = 0; k < sp->nparams; k++)
        if (strcmp(sp->params[k], name) == 0)
            return k;
    return -1;
}

int sim_dist_get(const sim_dist *d, const char *name, double *value)
{
    int k = own_param(d, name);
    double q;
    if (k >= 2) {
        *value = d->v[k - 2];
        return 0;
    }
    if (k >= 0) {
        if (d->kind == SIM_DIST_LOGNORMAL)
            *value = k == 0 ? exp(d->a) : exp(d->a + Z99 * d->b);
        else
            *value = k == 0 ? d->a : d->b;
        return 0;
    }
    if (strcmp(name, "mean") == 0) {
        *value = sim_dist_mean(d);
        return 0;
    }
    if (stat_quantile(name, &q)) {
        *value = sim_dist_quantile(d, q);
        return 0;
    }
    return -1;
}

/* scale multiplies every value of d by f (> 0, or 0 where the kind allows). */
static void scale(sim_dist *d, double f)
{
    switch (d->kind) {
    case SIM_DIST_LOGNORMAL:
        d->a += log(f);
        break;
    case SIM_DIST_PARETO:
        d->a *= f;
        break;
    case SIM_DIST_EMPIRICAL:
        for (int i = 0; i < d->n; i++)
            d->v[i] *= f;
        break;
    default:
        d->a *= f;
        d->b *= f;
        break;
    }
}

static int set_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int sim_dist_set(sim_dist *d, const char *name, double value, char *err, size_t errlen)
{
    if (!(value >= 0) || !isfinite(value))
        return set_fail(err, errlen, "%s must be a finite value >= 0", name);
    sim_dist n = *d;
    int k = own_param(d, name);
    double q, cur;
    if (k >= 2) {
        int i = k - 2;
        if ((i > 0 && value < n.v[i - 1]) || (i + 1 < n.n && value > n.v[i + 1]))
            return set_fail(err, errlen, "%s must stay between its neighbouring percentiles", name);
        n.v[i] = value;
    } else if (k >= 0) {
        switch (n.kind) {
        case SIM_DIST_LOGNORMAL: {
            double median = exp(n.a), p99 = exp(n.a + Z99 * n.b);
            if (k == 0)
                median = value;
            else
                p99 = value;
            if (!(median > 0) || !(p99 > median))
                return set_fail(err, errlen,
                                "lognormal needs 0 < median < p99 (median %g, p99 %g ns)", median,
                                p99);
            lognormal_params(median, p99, &n.a, &n.b);
            break;
        }
        case SIM_DIST_UNIFORM:
            if (k == 0)
                n.a = value;
            else
                n.b = value;
            if (n.b < n.a)
                return set_fail(err, errlen, "uniform needs min <= max");
            break;
        case SIM_DIST_EXPONENTIAL:
        case SIM_DIST_PARETO:
            if (!(value > 0))
                return set_fail(err, errlen, "%s must be > 0", name);
            /* fall through */
        default:
            if (k == 0)
                n.a = value;
            else
                n.b = value;
            break;
        }
    } else if (strcmp(name, "mean") == 0 || stat_quantile(name, &q)) {
        if (sim_dist_get(d, name, &cur) != 0 || !(cur > 0) || !isfinite(cur))
            return set_fail(err, errlen, "cannot scale a distribution whose %s is %g", name, cur);
        if (n.kind == SIM_DIST_LOGNORMAL && !(value > 0))
            return set_fail(err, errlen, "a lognormal's %s must be > 0", name);
        scale(&n, value / cur);
    } else {
        char names[160];
        sim_dist_param_names(d, names, sizeof names);
        return set_fail(err, errlen, "no parameter '%s' (expected: %s)", name, names);
    }
    *d = n;
    return 0;
}

void sim_dist_param_names(const sim_dist *d, char *buf, size_t len)
{
    sbuf b = {buf, len, 0, 0};
    const dist_spec *sp = spec_of(d->kind);
    if (!buf || !len)
        return;
    buf[0] = '\0';
    if (sp && d->kind == SIM_DIST_EMPIRICAL) {
        for (int i = 0; i < d->n; i++) {
            if (i == 0 && d->n > 1 && d->p[0] == 0 && d->v[0] == 0)
                continue;
            put(&b, "p");
            put_percent(&b, d->p[i] * 100, accept_pct, &d->p[i]);
            put(&b, ", ");
        }
    } else if (sp) {
        for (int k = 0; k < sp->nparams; k++)
            put(&b, "%s, ", sp->params[k]);
    }
    put(&b, "or mean, median, pNN (the whole distribution scaled)");
}
