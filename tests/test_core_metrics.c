/*
 * test_core_metrics.c - log2 histograms and quantiles (against a reference
 * computed from the raw values), the latency histograms the core fills,
 * and the diagnostics dump format.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/src/metrics.h"
#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
/* Reference bucket: 0 for 0, floor(log2 v) + 1 otherwise, capped at the
 * last bucket. */
static unsigned ref_bucket(uint64_t v)
{
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b < CR_HIST_BUCKETS ? b : CR_HIST_BUCKETS - 1;
}

static uint64_t ref_upper(unsigned b)
{
    if (b == 0)
        return 0;
    if (b == CR_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return (UINT64_C(1) << b) - 1;
}

START_TEST(test_core_metrics_histogram_buckets)
{
    const uint64_t values[] = {0,
                               1,
                               2,
                               3,
                               4,
                               7,
                               8,
                               1000,
                               UINT64_C(1) << 40,
                               (UINT64_C(1) << 62) + 5,
                               UINT64_C(1) << 63,
                               UINT64_MAX};
    cr_histogram h;
    memset(&h, 0, sizeof h);
    uint64_t expect[CR_HIST_BUCKETS] = {0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        cr_hist_add(&h, values[i]);
        expect[ref_bucket(values[i])]++;
        /* bucket i holds exactly the v with floor(log2 v) == i - 1 */
        unsigned b = ref_bucket(values[i]);
        if (values[i] && b < CR_HIST_BUCKETS - 1)
            ck_assert(values[i] >= (UINT64_C(1) << (b - 1)) && values[i] <= ref_upper(b));
    }
    for (unsigned b = 0; b < CR_HIST_BUCKETS; b++)
        ck_assert_uint_eq(h.buckets[b], expect[b]);
    ck_assert_uint_eq(h.count, sizeof values / sizeof values[0]);
    ck_assert_uint_eq(h.min, 0);
    ck_assert_uint_eq(h.max, UINT64_MAX);
    ck_assert_uint_eq(h.sum, UINT64_MAX); /* saturated */
}
END_TEST

static uint64_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The estimate is the upper bound of the bucket holding the exact
 * quantile (the ceil(q n)-th smallest value), clamped to max. */
START_TEST(test_core_metrics_quantile_matches_reference)
{
    const double qs[] = {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};
    for (uint64_t seed = 1; seed <= 30; seed++) {
        uint64_t s = seed;
        size_t n = 1 + lcg(&s) % 3000;
        uint64_t *v = malloc(n * sizeof *v);
        ck_assert_ptr_nonnull(v);
        cr_histogram h;
        memset(&h, 0, sizeof h);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            /* log-uniform-ish latencies from 0 to ~2^40 ns */
            v[i] = lcg(&s) % 8 == 0 ? 0 : (lcg(&s) << 8 | lcg(&s)) >> (lcg(&s) % 56);
            sum += v[i];
            cr_hist_add(&h, v[i]);
        }
        qsort(v, n, sizeof *v, u64_cmp);
        ck_assert_uint_eq(h.sum, sum);
        ck_assert_uint_eq(h.min, v[0]);
        ck_assert_uint_eq(h.max, v[n - 1]);
        for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
            size_t rank = (size_t)ceil(qs[k] * (double)n);
            if (rank < 1)
                rank = 1;
            uint64_t exact = v[rank - 1];
            uint64_t want = ref_upper(ref_bucket(exact));
            if (want > h.max)
                want = h.max;
            uint64_t got = 0;
            CHECK(cr_histogram_quantile(&h, qs[k], &got) == 0);
            CHECK(got == want);
            CHECK(got >= exact);
        }
        free(v);
    }
}
END_TEST

START_TEST(test_core_metrics_quantile_errors)
{
    cr_histogram h;
    memset(&h, 0, sizeof h);
    uint64_t out = 77;
    ck_assert_int_eq(cr_histogram_quantile(&h, 0.5, &out), CR_ENOTFOUND);
    cr_hist_add(&h, 5);
    ck_assert_int_eq(cr_histogram_quantile(&h, -0.1, &out), CR_EINVAL);
    ck_assert_int_eq(cr_histogram_quantile(&h, 1.5, &out), CR_EINVAL);
    ck_assert_int_eq(cr_histogram_quantile(&h, NAN, &out), CR_EINVAL);
    ck_assert_int_eq(cr_histogram_quantile(NULL, 0.5, &out), CR_EINVAL);
    ck_assert_int_eq(cr_histogram_quantile(&h, 0.5, NULL), CR_EINVAL);
    ck_assert_uint_eq(out, 77);
    ck_assert_int_eq(cr_histogram_quantile(&h, 0.5, &out), 0);
    ck_assert_uint_eq(out, 5); /* bucket [4, 7] clamped to max */
}
END_TEST

/* connect_to_ready gets one sample per connection, at its first binding
 * only. */
START_TEST(test_core_metrics_connect_to_ready)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    uint64_t sum = 0, min = UINT64_MAX, max = 0, now = 0;
    uint64_t s = 7;
    for (int i = 0; i < 20; i++) {
        uint64_t opened = now;
        cr_conn_id c = rec_open_auth(ctx, now, "alice");
        now += lcg(&s) % 100000;
        cr_conn_switch(ctx, now, c, "t1", 0);
        cr_assoc_complete(ctx, now, rec_last_req(&r), 1);
        uint64_t d = now - opened;
        sum += d;
        min = d < min ? d : min;
        max = d > max ? d : max;
        cr_conn_switch(ctx, now + 1, c, "t2", 0); /* a second binding: no sample */
        cr_assoc_complete(ctx, now + 1, rec_last_req(&r), 1);
        now += 1;
    }
    cr_stats st = rec_stats(ctx);
    ck_assert_uint_eq(st.connect_to_ready.count, 20);
    ck_assert_uint_eq(st.connect_to_ready.sum, sum);
    ck_assert_uint_eq(st.connect_to_ready.min, min);
    ck_assert_uint_eq(st.connect_to_ready.max, max);
    uint64_t q = 0;
    ck_assert_int_eq(cr_histogram_quantile(&st.connect_to_ready, 1.0, &q), 0);
    ck_assert_uint_eq(q, max);
    ck_assert_uint_eq(st.buffer_delay.count, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static void bind_to(cr_ctx *ctx, rec *r, cr_conn_id c, const char *thread, uint64_t now)
{
    ck_assert_int_eq(cr_conn_switch(ctx, now, c, thread, 0), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, now, rec_last_req(r), 1), 0);
}

static void one_event(cr_ctx *ctx, uint64_t now, const char *user, const char *thread)
{
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, now, user, thread, &run), 0);
    cr_event_in ev = {0, 1, "e", 1};
    ck_assert_int_eq(cr_run_emit(ctx, now, run, &ev, NULL, NULL), 0);
}

/* One line per connection in id order (every state), then one per stream
 * with buffered events sorted by (user, thread); odd bytes escaped. */
START_TEST(test_core_metrics_dump_format)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "bob", "b t");
    cr_thread_add(ctx, 0, "alice", "z");
    cr_thread_add(ctx, 0, "alice", "a");
    cr_thread_add(ctx, 0, "alice", "0");
    cr_thread_add(ctx, 0, "alice", "idle");
    cr_conn_id c1 = 0, c4 = 0;
    cr_conn_open(ctx, 0, &c1);
    cr_message m = rec_message(NULL, 0, 1);
    cr_conn_message(ctx, 0, c1, &m, NULL);
    cr_conn_id c2 = rec_open_auth(ctx, 1, "alice");
    cr_conn_switch(ctx, 1, c2, "z", 0);
    m = rec_message("z", 0, 2);
    cr_conn_message(ctx, 1, c2, &m, NULL);
    cr_conn_id c3 = rec_open_auth(ctx, 2, "alice");
    bind_to(ctx, &r, c3, "a", 3);
    cr_conn_open(ctx, 3, &c4);
    cr_conn_close(ctx, 3, c4, CR_CLOSE_CLIENT);
    cr_conn_id c5 = rec_open_auth(ctx, 4, "bob");
    bind_to(ctx, &r, c5, "b t", 5);
    one_event(ctx, 6, "bob", "b t");
    one_event(ctx, 6, "alice", "a");
    one_event(ctx, 6, "alice", "a");
    cr_conn_id c6 = rec_open_auth(ctx, 7, "alice");
    bind_to(ctx, &r, c6, "0", 7);
    cr_conn_close(ctx, 8, c6, CR_CLOSE_CLIENT);
    one_event(ctx, 9, "alice", "0"); /* buffered, undelivered */

    char *d = rec_dump(ctx);
    ck_assert_str_eq(d, "conn=1 state=OPEN user=- thread=- gen=0 queued=0 preauth=1 assoc=- "
                        "attempts=0 switch_owed=- opened=0 ready=-\n"
                        "conn=2 state=PENDING_CONTEXT user=alice thread=- gen=0 queued=1 "
                        "preauth=0 assoc=z attempts=1 switch_owed=z opened=1 ready=-\n"
                        "conn=3 state=READY user=alice thread=a gen=1 queued=0 preauth=0 "
                        "assoc=- attempts=0 switch_owed=- opened=2 ready=3\n"
                        "conn=4 state=CLOSED\n"
                        "conn=5 state=READY user=bob thread=b\\x20t gen=1 queued=0 preauth=0 "
                        "assoc=- attempts=0 switch_owed=- opened=4 ready=5\n"
                        "conn=6 state=CLOSED\n"
                        "stream user=alice thread=0 seq=1 buffered=1 undelivered=1 bytes=1 "
                        "ready=0 first_seq=1\n"
                        "stream user=alice thread=a seq=2 buffered=2 undelivered=0 bytes=2 "
                        "ready=1 first_seq=1\n"
                        "stream user=bob thread=b\\x20t seq=1 buffered=1 undelivered=0 bytes=1 "
                        "ready=1 first_seq=1\n");
    free(d);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static int lines_seen;
static int stop_after_two(void *arg, const char *line, size_t len)
{
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(line[len - 1], '\n');
    ck_assert_int_eq(line[len], '\0');
    return ++lines_seen == 2 ? -42 : 0;
}

START_TEST(test_core_metrics_dump_stops_on_writer_error)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    for (int i = 0; i < 5; i++) {
        cr_conn_id c;
        cr_conn_open(ctx, 0, &c);
    }
    lines_seen = 0;
    ck_assert_int_eq(cr_ctx_dump(ctx, stop_after_two, NULL), -42);
    ck_assert_int_eq(lines_seen, 2);
    ck_assert_int_eq(cr_ctx_dump(ctx, NULL, NULL), CR_EINVAL);
    ck_assert_int_eq(cr_ctx_dump(NULL, stop_after_two, NULL), CR_EINVAL);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static int refuse;
static void *maybe_malloc(size_t n, void *ud)
{
    return refuse ? NULL : malloc(n);
}
static void *maybe_realloc(void *p, size_t n, void *ud)
{
    return refuse ? NULL : realloc(p, n);
}
static void plain_free(void *p, void *ud)
{
    free(p);
}

/* The dump's only allocation (the sorted stream list) fails before any
 * output. */
START_TEST(test_core_metrics_dump_nomem_before_output)
{
    rec r;
    memset(&r, 0, sizeof r);
    cr_allocator a = {maybe_malloc, maybe_realloc, plain_free, NULL};
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx = NULL;
    refuse = 0;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &rec_callbacks, &a, &r), 0);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c, "t1", 0);
    one_event(ctx, 1, "alice", "t1");
    lines_seen = 0;
    refuse = 1;
    ck_assert_int_eq(cr_ctx_dump(ctx, stop_after_two, NULL), CR_ENOMEM);
    ck_assert_int_eq(lines_seen, 0);
    refuse = 0;
    char *d = rec_dump(ctx);
    ck_assert_ptr_nonnull(strstr(d, "stream user=alice thread=t1 "));
    free(d);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

START_TEST(test_core_metrics_stats_count_outputs)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c, "t1", 1);
    cr_message m = rec_message("nope", 0, 1);
    cr_conn_message(ctx, 2, c, &m, NULL);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.notices_sent, 2);    /* SWITCHED, REJECTED */
    ck_assert_uint_eq(s.errors_reported, 1); /* the foreign thread */
    ck_assert_uint_eq(s.assoc_requested, 1);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_READY], 1);
    cr_ctx_get_stats(NULL, &s); /* harmless */
    cr_ctx_get_stats(ctx, NULL);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("core_metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, test_core_metrics_histogram_buckets);
    tcase_add_test(tc, test_core_metrics_quantile_matches_reference);
    tcase_add_test(tc, test_core_metrics_quantile_errors);
    tcase_add_test(tc, test_core_metrics_connect_to_ready);
    tcase_add_test(tc, test_core_metrics_dump_format);
    tcase_add_test(tc, test_core_metrics_dump_stops_on_writer_error);
    tcase_add_test(tc, test_core_metrics_dump_nomem_before_output);
    tcase_add_test(tc, test_core_metrics_stats_count_outputs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
