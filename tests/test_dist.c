/*
 * test_dist.c - distributions: statistics of samples, quantile and mean
 * formulas, parse/format round trips, duration parsing, parse errors.
 *
 * Statistical checks draw N = 1e5 samples from a fixed seed, so they are
 * deterministic.  Tolerances are 5 standard errors of the estimate (a
 * correct sampler lands outside with probability 6e-7 for an arbitrary
 * seed, while a wrong parameterisation is off by many standard errors):
 * - mean: 5 * s / sqrt(N), s the sample standard deviation;
 * - quantile x_q = sim_dist_quantile(q): the fraction of samples <= x_q
 *   must be q within 5 * sqrt(q (1 - q) / N) (0.0079 at the median,
 *   0.0047 at p90, 0.0016 at p99).
 * The quantile functions themselves are checked against closed forms
 * computed independently here (not through the code under test).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"

#define N      100000
#define MS     1e6
#define SE_K   5.0
#define SQRT_2 1.4142135623730951

static double *draw(const sim_dist *d, uint64_t seed)
{
    sim_prng r;
    double *x = malloc(N * sizeof *x);
    ck_assert_ptr_nonnull(x);
    sim_prng_seed(&r, seed);
    for (int i = 0; i < N; i++) {
        x[i] = sim_dist_sample(d, &r);
        ck_assert(x[i] >= 0);
    }
    return x;
}

static void parse_ok(const char *text, int duration, sim_dist *d)
{
    sim_parse_error e = {{0}, 0};
    int rc = sim_dist_parse(text, duration, d, &e);
    ck_assert_msg(rc == 0, "'%s': %s at %zu", text, e.msg, e.offset);
}

/* Sample mean within 5 standard errors of `expect`. */
static void check_mean(const double *x, double expect, const char *what)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++)
        sum += x[i];
    double m = sum / N;
    for (int i = 0; i < N; i++)
        sq += (x[i] - m) * (x[i] - m);
    double se = sqrt(sq / (N - 1)) / sqrt(N);
    ck_assert_msg(fabs(m - expect) <= SE_K * se, "%s: mean %g, expected %g +- %g", what, m, expect,
                  SE_K * se);
}

/* The fraction of samples <= quantile(q) is q within 5 binomial SEs. */
static void check_quantile(const sim_dist *d, const double *x, double q, const char *what)
{
    double xq = sim_dist_quantile(d, q);
    int below = 0;
    for (int i = 0; i < N; i++)
        below += x[i] <= xq;
    double frac = (double)below / N, tol = SE_K * sqrt(q * (1 - q) / N);
    ck_assert_msg(fabs(frac - q) <= tol, "%s: P(X <= q%.2f = %g) = %g, tolerance %g", what, q, xq,
                  frac, tol);
}

static void check_quantiles(const sim_dist *d, const double *x, const char *what)
{
    check_quantile(d, x, 0.5, what);
    check_quantile(d, x, 0.9, what);
    check_quantile(d, x, 0.99, what);
}

static double rel(double got, double want)
{
    return fabs(got - want) / fabs(want);
}

static double phi_cdf(double z)
{
    return 0.5 * erfc(-z / SQRT_2);
}

START_TEST(test_dist_const_samples)
{
    sim_dist d;
    parse_ok("const(5ms)", 1, &d);
    sim_prng r;
    sim_prng_seed(&r, 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sim_dist_sample_ns(&d, &r), 5000000);
    ck_assert(sim_dist_mean(&d) == 5 * MS);
    ck_assert(sim_dist_quantile(&d, 0.99) == 5 * MS);
    /* sim_dist_const: rounding to whole nanoseconds, half up. */
    sim_dist_const(&d, 1.5, 1);
    ck_assert_uint_eq(sim_dist_sample_ns(&d, &r), 2);
    sim_dist_const(&d, 0.4, 1);
    ck_assert_uint_eq(sim_dist_sample_ns(&d, &r), 0);
    ck_assert_int_eq(d.kind, SIM_DIST_CONST);
    ck_assert_int_eq(d.is_duration, 1);
}
END_TEST

START_TEST(test_dist_uniform_stats)
{
    sim_dist d;
    parse_ok("uniform(5ms, 50ms)", 1, &d);
    double *x = draw(&d, 11);
    check_mean(x, (5 + 50) / 2.0 * MS, "uniform");
    check_quantiles(&d, x, "uniform");
    for (int i = 0; i < N; i++)
        ck_assert(x[i] >= 5 * MS && x[i] < 50 * MS);
    ck_assert_double_eq_tol(sim_dist_quantile(&d, 0.9), (5 + 0.9 * 45) * MS, 1e-6);
    free(x);
}
END_TEST

START_TEST(test_dist_exponential_stats)
{
    sim_dist d;
    parse_ok("exponential(mean=15ms)", 1, &d);
    double *x = draw(&d, 12);
    check_mean(x, 15 * MS, "exponential");
    check_quantiles(&d, x, "exponential");
    ck_assert(rel(sim_dist_quantile(&d, 0.5), 15 * MS * log(2.0)) < 1e-12);
    ck_assert(rel(sim_dist_quantile(&d, 0.99), 15 * MS * log(100.0)) < 1e-12);
    ck_assert(sim_dist_mean(&d) == 15 * MS);
    free(x);
}
END_TEST

/* mean 100ms, sd 20ms: truncation at 0 is 5 sd away, i.e. negligible. */
START_TEST(test_dist_normal_stats)
{
    sim_dist d;
    parse_ok("normal(mean=100ms, sd=20ms)", 1, &d);
    double *x = draw(&d, 13);
    check_mean(x, 100 * MS, "normal");
    check_quantiles(&d, x, "normal");
    /* The CDF of the truncated normal at the returned quantiles, computed
     * with erfc (independent of the inverse used by the code): 1e-9.  The
     * 2.9e-7 of mass cut below 0 moves the quantiles' untruncated CDF by
     * up to 2.9e-8, which this tolerance would catch. */
    double pa = phi_cdf(-5.0);
    for (int k = 1; k <= 3; k++) {
        double q = k == 1 ? 0.5 : k == 2 ? 0.9 : 0.99;
        double xq = sim_dist_quantile(&d, q);
        ck_assert_double_eq_tol((phi_cdf((xq - 100 * MS) / (20 * MS)) - pa) / (1 - pa), q, 1e-9);
    }
    ck_assert(rel(sim_dist_quantile(&d, 0.5), 100 * MS) < 1e-6);
    free(x);
}
END_TEST

/* mean 10ms, sd 20ms: 31% of the untruncated mass is below 0 and is
 * resampled, so mean and quantiles are those of the truncated normal. */
START_TEST(test_dist_normal_truncated_stats)
{
    sim_dist d;
    const double mu = 10 * MS, sd = 20 * MS;
    parse_ok("normal(mean=10ms, sd=20ms)", 1, &d);
    double *x = draw(&d, 14);
    double alpha = -mu / sd, pa = phi_cdf(alpha);
    double pdf = exp(-alpha * alpha / 2) / sqrt(2 * M_PI);
    check_mean(x, mu + sd * pdf / (1 - pa), "truncated normal");
    check_quantiles(&d, x, "truncated normal");
    ck_assert(sim_dist_mean(&d) == mu); /* documented: before truncation */
    for (int k = 1; k <= 3; k++) {
        double q = k == 1 ? 0.5 : k == 2 ? 0.9 : 0.99;
        double xq = sim_dist_quantile(&d, q);
        ck_assert_double_eq_tol((phi_cdf((xq - mu) / sd) - pa) / (1 - pa), q, 1e-9);
    }
    free(x);
}
END_TEST

START_TEST(test_dist_normal_zero_mean_half_normal)
{
    sim_dist d;
    parse_ok("normal(mean=0ms, sd=10ms)", 1, &d);
    double *x = draw(&d, 15);
    check_mean(x, 10 * MS * sqrt(2 / M_PI), "half normal");
    check_quantiles(&d, x, "half normal");
    free(x);
}
END_TEST

START_TEST(test_dist_lognormal_stats)
{
    sim_dist d;
    parse_ok("lognormal(median=20ms, p99=250ms)", 1, &d);
    double mu = log(20 * MS), sigma = (log(250 * MS) - mu) / 2.326347874;
    /* The spec's z99 has 10 digits: parameters agree to ~1e-10. */
    ck_assert(rel(d.a, mu) < 1e-12);
    ck_assert(rel(d.b, sigma) < 1e-9);
    double *x = draw(&d, 16);
    check_mean(x, exp(mu + sigma * sigma / 2), "lognormal");
    check_quantiles(&d, x, "lognormal");
    ck_assert(rel(sim_dist_quantile(&d, 0.5), 20 * MS) < 1e-12);
    ck_assert(rel(sim_dist_quantile(&d, 0.99), 250 * MS) < 1e-9);
    ck_assert(rel(sim_dist_mean(&d), exp(mu + sigma * sigma / 2)) < 1e-9);
    free(x);
}
END_TEST

START_TEST(test_dist_pareto_stats)
{
    sim_dist d;
    /* shape 5: finite variance and fourth moment, so the sample standard
     * deviation behind the mean's tolerance is itself reliable. */
    parse_ok("pareto(scale=10ms, shape=5)", 1, &d);
    double *x = draw(&d, 17);
    check_mean(x, 5 * 10 * MS / 4, "pareto shape 5");
    check_quantiles(&d, x, "pareto shape 5");
    for (int i = 0; i < N; i++)
        ck_assert(x[i] >= 10 * MS);
    free(x);

    /* shape 1.5: infinite variance; quantiles only (no mean check). */
    parse_ok("pareto(scale=10ms, shape=1.5)", 1, &d);
    x = draw(&d, 18);
    check_quantiles(&d, x, "pareto shape 1.5");
    ck_assert(rel(sim_dist_quantile(&d, 0.5), 10 * MS * pow(2, 1 / 1.5)) < 1e-12);
    ck_assert(rel(sim_dist_quantile(&d, 0.99), 10 * MS * pow(100, 1 / 1.5)) < 1e-12);
    ck_assert(rel(sim_dist_mean(&d), 1.5 * 10 * MS / 0.5) < 1e-12);
    free(x);
    parse_ok("pareto(scale=10ms, shape=1)", 1, &d);
    ck_assert(isinf(sim_dist_mean(&d)));
}
END_TEST

START_TEST(test_dist_empirical_stats)
{
    sim_dist d;
    parse_ok("empirical(p50=20ms, p90=80ms, p99=250ms, p100=1s)", 1, &d);
    ck_assert_int_eq(d.n, 5); /* the implicit p0 = 0 first */
    ck_assert(d.p[0] == 0 && d.v[0] == 0);
    /* At the table's points, the table's values, exactly. */
    ck_assert(sim_dist_quantile(&d, 0.5) == 20 * MS);
    ck_assert(sim_dist_quantile(&d, 0.9) == 80 * MS);
    ck_assert(sim_dist_quantile(&d, 0.99) == 250 * MS);
    ck_assert(sim_dist_quantile(&d, 1.0) == 1000 * MS);
    /* Between points, linear: p25 is halfway from 0 to 20ms, p70 halfway
     * from 20 to 80ms. */
    ck_assert_double_eq_tol(sim_dist_quantile(&d, 0.25), 10 * MS, 1e-6);
    ck_assert_double_eq_tol(sim_dist_quantile(&d, 0.7), 50 * MS, 1e-3);
    /* Mean: the area under the piecewise-linear inverse CDF. */
    double mean =
        0.5 * (0 + 20) / 2 + 0.4 * (20 + 80) / 2 + 0.09 * (80 + 250) / 2 + 0.01 * (250 + 1000) / 2;
    ck_assert(rel(sim_dist_mean(&d), mean * MS) < 1e-12);
    double *x = draw(&d, 19);
    check_mean(x, mean * MS, "empirical");
    check_quantiles(&d, x, "empirical");
    for (int i = 0; i < N; i++)
        ck_assert(x[i] <= 1000 * MS);
    free(x);
}
END_TEST

/* Above the last point the value stays at the last point's value. */
START_TEST(test_dist_empirical_open_top_and_p0)
{
    sim_dist d;
    parse_ok("empirical(p0=5ms, p90=15ms)", 1, &d);
    ck_assert_int_eq(d.n, 2);
    ck_assert(sim_dist_quantile(&d, 0.0) == 5 * MS);
    ck_assert(sim_dist_quantile(&d, 0.45) == 10 * MS);
    ck_assert(sim_dist_quantile(&d, 0.95) == 15 * MS);
    double *x = draw(&d, 20);
    int top = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(x[i] >= 5 * MS && x[i] <= 15 * MS);
        top += x[i] == 15 * MS;
    }
    /* 10% of the mass sits at the top value: binomial sd 95, 5 sd. */
    ck_assert_int_ge(top, N / 10 - 475);
    ck_assert_int_le(top, N / 10 + 475);
    free(x);
}
END_TEST

START_TEST(test_dist_count_distribution)
{
    sim_dist d;
    parse_ok("uniform(1, 3)", 0, &d);
    ck_assert_int_eq(d.is_duration, 0);
    ck_assert(d.a == 1 && d.b == 3);
    parse_ok("2.5", 0, &d);
    ck_assert(d.kind == SIM_DIST_CONST && d.a == 2.5);
    parse_ok("exponential(1e3)", 0, &d);
    ck_assert(d.a == 1000);
    double *x = draw(&d, 21);
    check_mean(x, 1000, "count exponential");
    free(x);
}
END_TEST

START_TEST(test_dist_sampling_deterministic)
{
    const char *texts[] = {"uniform(1ms, 2ms)",          "exponential(mean=15ms)",
                           "normal(mean=1ms, sd=2ms)",   "lognormal(median=20ms, p99=250ms)",
                           "pareto(scale=1ms, shape=2)", "empirical(p50=1ms, p100=3ms)"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        sim_dist d;
        sim_prng a, b, c;
        parse_ok(texts[k], 1, &d);
        sim_prng_seed(&a, 500);
        sim_prng_seed(&b, 500);
        sim_prng_seed(&c, 501);
        int differ = 0;
        for (int i = 0; i < 1000; i++) {
            uint64_t v = sim_dist_sample_ns(&d, &a);
            ck_assert_uint_eq(v, sim_dist_sample_ns(&d, &b));
            differ += v != sim_dist_sample_ns(&d, &c);
        }
        ck_assert_msg(differ > 900, "%s: seeds 500 and 501 agree too often", texts[k]);
    }
}
END_TEST

/* sim_dist_scale: the same draws, x times as large, for every kind (same
 * seed, so the same underlying uniforms and normals). */
START_TEST(test_dist_scale_multiplies_every_draw)
{
    const char *texts[] = {"5ms",
                           "uniform(1ms, 2ms)",
                           "exponential(mean=15ms)",
                           "normal(mean=1ms, sd=2ms)",
                           "lognormal(median=20ms, p99=250ms)",
                           "pareto(scale=1ms, shape=2)",
                           "empirical(p50=1ms, p90=2ms, p100=3ms)"};
    const double xs[] = {0.1, 3.0};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        for (size_t j = 0; j < 2; j++) {
            sim_dist d, e;
            sim_prng a, b;
            parse_ok(texts[k], 1, &d);
            e = d;
            sim_dist_scale(&e, xs[j]);
            sim_prng_seed(&a, 77);
            sim_prng_seed(&b, 77);
            for (int i = 0; i < 500; i++) {
                double u = sim_dist_sample(&d, &a), v = sim_dist_sample(&e, &b);
                ck_assert_msg(fabs(v - xs[j] * u) <= 1e-9 * (1 + fabs(v)),
                              "%s scaled by %g: draw %d is %g, not %g", texts[k], xs[j], i, v,
                              xs[j] * u);
            }
            ck_assert_msg(fabs(sim_dist_quantile(&e, 0.9) - xs[j] * sim_dist_quantile(&d, 0.9)) <=
                              1e-6 * sim_dist_quantile(&e, 0.9) + 1e-9,
                          "%s: p90 not scaled", texts[k]);
        }
}
END_TEST

/* ---- durations --------------------------------------------------------- */

START_TEST(test_dist_duration_parse_values)
{
    static const struct {
        const char *text;
        uint64_t ns;
    } ok[] = {
        {"250ms", 250000000ULL},
        {"1.5s", 1500000000ULL},
        {"1m", 60000000000ULL},
        {"1.25m", 75000000000ULL},
        {"0ns", 0},
        {"7ns", 7},
        {"2.25us", 2250},
        {"0.000000001s", 1},
        {"1.0000000005s", 1000000001ULL}, /* half a nanosecond rounds up */
        {"1.0000000004s", 1000000000ULL},
        {"1.5ns", 2},
        {"  5ms ", 5000000},
        {"18446744073709551615ns", UINT64_MAX},
        {"18446744073.709551615s", UINT64_MAX},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        uint64_t v = 12345;
        sim_parse_error e;
        ck_assert_msg(sim_duration_parse(ok[k].text, &v, &e) == 0, "%s: %s", ok[k].text, e.msg);
        ck_assert_msg(v == ok[k].ns, "%s: %llu", ok[k].text, (unsigned long long)v);
    }
}
END_TEST

START_TEST(test_dist_duration_parse_errors)
{
    static const struct {
        const char *text;
        size_t off;
        const char *msg;
    } bad[] = {
        {"", 0, "empty"},
        {"5", 1, "missing unit"},
        {"5 ms", 1, "missing unit"},
        {"5sec", 1, "unknown unit 'sec'"},
        {"5h", 1, "unknown unit 'h'"},
        {"-5ms", 0, "negative"},
        {"18446744073709551616ns", 0, "out of range"},
        {"18446744073.709551616s", 0, "out of range"},
        {"307445734561825861m", 0, "out of range"},
        {"1.s", 2, "digit after '.'"},
        {"5ms5", 3, "unexpected '5'"},
        {"ms", 0, "expected a duration"},
        {".5s", 0, "expected a duration"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint64_t v = 777;
        sim_parse_error e = {{0}, 999};
        ck_assert_msg(sim_duration_parse(bad[k].text, &v, &e) == -1, "'%s' parsed", bad[k].text);
        ck_assert_uint_eq(v, 777); /* untouched */
        ck_assert_msg(e.offset == bad[k].off, "'%s': offset %zu, want %zu (%s)", bad[k].text,
                      e.offset, bad[k].off, e.msg);
        ck_assert_msg(strstr(e.msg, bad[k].msg), "'%s': message '%s' lacks '%s'", bad[k].text,
                      e.msg, bad[k].msg);
    }
}
END_TEST

/* ---- parse errors ------------------------------------------------------ */

START_TEST(test_dist_parse_errors_with_offsets)
{
    static const struct {
        const char *text;
        int duration;
        size_t off;
        const char *msg;
    } bad[] = {
        {"", 1, 0, "empty distribution"},
        {"foo(1ms)", 1, 0, "unknown distribution 'foo'"},
        {"  gauss(1ms)", 1, 2, "unknown distribution 'gauss'"},
        {"uniform 5ms", 1, 8, "expected '('"},
        {"uniform(5ms)", 1, 11, "missing argument 'max'"},
        {"normal(sd=5ms)", 1, 13, "missing argument 'mean'"},
        {"uniform(5ms, 6ms, 7ms)", 1, 18, "too many arguments"},
        {"exponential(1ms, 2ms)", 1, 17, "too many arguments"},
        {"uniform(5ms, 50xs)", 1, 15, "unknown unit 'xs'"},
        {"uniform(5, 50)", 1, 9, "missing unit"},
        {"uniform(1ms, 3ms)", 0, 9, "unexpected unit 'ms'"},
        {"uniform(5ms, -1ms)", 1, 13, "negative duration"},
        {"uniform(-1, 2)", 0, 8, "negative value"},
        {"uniform(50ms, 5ms)", 1, 14, "max must be >= min"},
        {"uniform(min=5ms, mx=50ms)", 1, 17, "unknown argument 'mx'"},
        {"uniform(min=5ms, min=6ms)", 1, 17, "given twice"},
        {"uniform(max=5ms, 1ms)", 1, 17, "positional argument after key=value"},
        {"uniform(5ms, 50ms", 1, 17, "missing ')'"},
        {"normal(mean=100ms sd=20ms)", 1, 18, "expected ',' or ')'"},
        {"exponential(mean=0ms)", 1, 17, "mean must be > 0"},
        {"lognormal(median=20ms, p99=20ms)", 1, 27, "p99 must be greater than median"},
        {"lognormal(median=20ms, p99=10ms)", 1, 27, "p99 must be greater than median"},
        {"lognormal(median=0ms, p99=10ms)", 1, 17, "median must be > 0"},
        {"pareto(scale=10ms, shape=0)", 1, 25, "shape must be > 0"},
        {"pareto(scale=10ms, shape=-2)", 1, 25, "negative value"},
        {"pareto(scale=10ms, shape=2ms)", 1, 26, "unexpected unit 'ms'"},
        {"pareto(scale=0ms, shape=2)", 1, 13, "scale must be > 0"},
        {"empirical()", 1, 10, "at least one point"},
        {"empirical(p50=20ms, p40=30ms)", 1, 20, "percentiles must increase"},
        {"empirical(p50=20ms, p50=30ms)", 1, 20, "percentiles must increase"},
        {"empirical(p50=20ms, p90=10ms)", 1, 24, "values must not decrease"},
        {"empirical(p101=5ms)", 1, 10, "out of range"},
        {"empirical(q50=5ms)", 1, 10, "expected a percentile key"},
        {"empirical(p50 5ms)", 1, 14, "expected '='"},
        {"5ms)", 1, 3, "unexpected ')'"},
        {"exponential(mean=15ms) x", 1, 23, "unexpected 'x'"},
        {"uniform(1.ms, 2ms)", 1, 10, "digit after '.'"},
        {"uniform(foo, 2ms)", 1, 8, "expected a value"},
        {"exponential(mean=99999999999999999999s)", 1, 17, "out of range"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sim_dist d;
        sim_dist_const(&d, 42, 1);
        sim_parse_error e = {{0}, 999};
        ck_assert_msg(sim_dist_parse(bad[k].text, bad[k].duration, &d, &e) == -1, "'%s' parsed",
                      bad[k].text);
        ck_assert_msg(d.kind == SIM_DIST_CONST && d.a == 42, "'%s': output touched", bad[k].text);
        ck_assert_msg(e.offset == bad[k].off, "'%s': offset %zu, want %zu (%s)", bad[k].text,
                      e.offset, bad[k].off, e.msg);
        ck_assert_msg(strstr(e.msg, bad[k].msg), "'%s': message '%s' lacks '%s'", bad[k].text,
                      e.msg, bad[k].msg);
    }
}
END_TEST

/* Too many empirical points: 32 including p0. */
START_TEST(test_dist_parse_empirical_limit)
{
    char text[1024];
    size_t pos = (size_t)snprintf(text, sizeof text, "empirical(");
    for (int i = 1; i <= SIM_DIST_EMPIRICAL_MAX; i++)
        pos +=
            (size_t)snprintf(text + pos, sizeof text - pos, "%sp%d=%dms", i > 1 ? ", " : "", i, i);
    snprintf(text + pos, sizeof text - pos, ")");
    sim_dist d;
    sim_parse_error e;
    ck_assert_int_eq(sim_dist_parse(text, 1, &d, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "too many points"));
    ck_assert_uint_eq(e.offset, (size_t)(strstr(text, "p32=") - text));
    /* 31 points plus the implicit p0 fit exactly. */
    strcpy(strstr(text, ", p32="), ")");
    parse_ok(text, 1, &d);
    ck_assert_int_eq(d.n, SIM_DIST_EMPIRICAL_MAX);
}
END_TEST

/* ---- format ------------------------------------------------------------ */

static int dist_equal(const sim_dist *x, const sim_dist *y)
{
    if (x->kind != y->kind || x->is_duration != y->is_duration || x->a != y->a || x->b != y->b ||
        x->n != y->n)
        return 0;
    for (int i = 0; i < x->n; i++)
        if (x->p[i] != y->p[i] || x->v[i] != y->v[i])
            return 0;
    return 1;
}

/* parse -> format -> parse gives the same distribution, and formatting is
 * idempotent (the canonical text formats to itself). */
static void roundtrip(const char *text, int duration)
{
    sim_dist d1, d2, d3;
    char f1[512], f2[512];
    parse_ok(text, duration, &d1);
    ck_assert_int_eq(sim_dist_format(&d1, f1, sizeof f1), 0);
    parse_ok(f1, duration, &d2);
    ck_assert_msg(dist_equal(&d1, &d2), "'%s' -> '%s' does not parse back", text, f1);
    ck_assert_int_eq(sim_dist_format(&d2, f2, sizeof f2), 0);
    ck_assert_str_eq(f1, f2);
    parse_ok(f2, duration, &d3);
    ck_assert(dist_equal(&d1, &d3));
}

START_TEST(test_dist_format_roundtrip)
{
    const char *dur[] = {"5ms",
                         "const(5ms)",
                         "1.5s",
                         "250us",
                         "90s",
                         "2m",
                         "1ns",
                         "0s",
                         "18446744073709551615ns",
                         "uniform(5ms, 50ms)",
                         "uniform(min=0ms, max=1.000000001s)",
                         "exponential(mean=15ms)",
                         "exponential(15ms)",
                         "normal(mean=100ms, sd=20ms)",
                         "normal(mean=0ms, sd=0ms)",
                         "lognormal(median=20ms, p99=250ms)",
                         "lognormal(median=1.5s, p99=7s)",
                         "lognormal(median=1ns, p99=2ns)",
                         "lognormal(median=333333333ns, p99=1m)",
                         "pareto(scale=10ms, shape=2.5)",
                         "pareto(scale=1us, shape=0.3333333333333333)",
                         "empirical(p50=20ms, p90=80ms, p99=250ms, p100=1s)",
                         "empirical(p0=1ms, p99.9=2s)",
                         "empirical(p33.333=1ms, p66.667=2ms)"};
    const char *cnt[] = {"3",
                         "2.5",
                         "0.1",
                         "1e+20",
                         "uniform(1, 3)",
                         "exponential(mean=0.1)",
                         "normal(mean=3, sd=1.7)",
                         "lognormal(median=20, p99=250)",
                         "lognormal(median=3.7, p99=11.1)",
                         "lognormal(median=0.001, p99=0.3)",
                         "pareto(scale=1, shape=1.16)",
                         "empirical(p50=2, p100=10)"};
    for (size_t k = 0; k < sizeof dur / sizeof dur[0]; k++)
        roundtrip(dur[k], 1);
    for (size_t k = 0; k < sizeof cnt / sizeof cnt[0]; k++)
        roundtrip(cnt[k], 0);
}
END_TEST

/* Random integer-nanosecond parameters survive a format/parse round trip:
 * constants, uniforms and lognormals (whose stored parameters are logs). */
START_TEST(test_dist_format_roundtrip_random)
{
    sim_prng r;
    sim_prng_seed(&r, 8080);
    for (int i = 0; i < 2000; i++) {
        /* Magnitudes from 1ns to about 1e15ns (11 days). */
        uint64_t m = 1 + sim_prng_below(&r, 1ULL << sim_prng_below(&r, 50));
        uint64_t p = m + 1 + sim_prng_below(&r, m * 100);
        char text[128], f[256];
        sim_dist d1, d2;
        snprintf(text, sizeof text, "lognormal(median=%lluns, p99=%lluns)", (unsigned long long)m,
                 (unsigned long long)p);
        parse_ok(text, 1, &d1);
        ck_assert_int_eq(sim_dist_format(&d1, f, sizeof f), 0);
        parse_ok(f, 1, &d2);
        ck_assert_msg(dist_equal(&d1, &d2), "%s -> %s", text, f);
        sim_dist_const(&d1, (double)m, 1);
        ck_assert_int_eq(sim_dist_format(&d1, f, sizeof f), 0);
        parse_ok(f, 1, &d2);
        ck_assert_msg(dist_equal(&d1, &d2), "const %llu -> %s", (unsigned long long)m, f);
    }
}
END_TEST

START_TEST(test_dist_format_canonical)
{
    static const struct {
        const char *in;
        int duration;
        const char *out;
    } c[] = {
        {"const(5ms)", 1, "5ms"},
        {"1500ms", 1, "1500ms"},
        {"120s", 1, "2m"},
        {"0.25s", 1, "250ms"},
        {"uniform(min=5ms, max=50ms)", 1, "uniform(5ms, 50ms)"},
        {"exponential(15ms)", 1, "exponential(mean=15ms)"},
        {"normal( 100ms ,20ms )", 1, "normal(mean=100ms, sd=20ms)"},
        {"lognormal(20ms, 250ms)", 1, "lognormal(median=20ms, p99=250ms)"},
        {"pareto(10ms, 2.5)", 1, "pareto(scale=10ms, shape=2.5)"},
        {"empirical(p0=0ms, p50=5ms, p100=1s)", 1, "empirical(p50=5ms, p100=1s)"},
        {"uniform(1, 3.50)", 0, "uniform(1, 3.5)"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        sim_dist d;
        char f[256];
        parse_ok(c[k].in, c[k].duration, &d);
        ck_assert_int_eq(sim_dist_format(&d, f, sizeof f), 0);
        ck_assert_str_eq(f, c[k].out);
    }
}
END_TEST

START_TEST(test_dist_format_small_buffer)
{
    sim_dist d;
    char f[8];
    parse_ok("uniform(5ms, 50ms)", 1, &d);
    ck_assert_int_eq(sim_dist_format(&d, f, sizeof f), -1);
    ck_assert_str_eq(f, "");
    ck_assert_int_eq(sim_dist_format(&d, f, 0), -1);
    sim_dist_const(&d, INFINITY, 0);
    ck_assert_int_eq(sim_dist_format(&d, f, sizeof f), -1);
}
END_TEST

static Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *st = tcase_create("stats");
    tcase_set_timeout(st, 60);
    tcase_add_test(st, test_dist_const_samples);
    tcase_add_test(st, test_dist_uniform_stats);
    tcase_add_test(st, test_dist_exponential_stats);
    tcase_add_test(st, test_dist_normal_stats);
    tcase_add_test(st, test_dist_normal_truncated_stats);
    tcase_add_test(st, test_dist_normal_zero_mean_half_normal);
    tcase_add_test(st, test_dist_lognormal_stats);
    tcase_add_test(st, test_dist_pareto_stats);
    tcase_add_test(st, test_dist_empirical_stats);
    tcase_add_test(st, test_dist_empirical_open_top_and_p0);
    tcase_add_test(st, test_dist_count_distribution);
    tcase_add_test(st, test_dist_sampling_deterministic);
    tcase_add_test(st, test_dist_scale_multiplies_every_draw);
    suite_add_tcase(s, st);

    TCase *tp = tcase_create("parse");
    tcase_add_test(tp, test_dist_duration_parse_values);
    tcase_add_test(tp, test_dist_duration_parse_errors);
    tcase_add_test(tp, test_dist_parse_errors_with_offsets);
    tcase_add_test(tp, test_dist_parse_empirical_limit);
    tcase_add_test(tp, test_dist_format_roundtrip);
    tcase_add_test(tp, test_dist_format_roundtrip_random);
    tcase_add_test(tp, test_dist_format_canonical);
    tcase_add_test(tp, test_dist_format_small_buffer);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
