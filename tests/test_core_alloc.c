/*
 * test_core_alloc.c - the injected allocator: exact byte accounting, no
 * leaks, and failure injection: a scripted scenario is replayed failing
 * the 1st, 2nd, ... Nth allocation; every call must return 0 or CR_ENOMEM,
 * a CR_ENOMEM must change nothing (dump, stats, output), and once retried
 * the run must produce exactly the output of the run without failures.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
/* A counting allocator that can fail its Nth call (malloc or realloc). */
typedef struct fa {
    long calls;   /* malloc + realloc calls while armed */
    long fail_at; /* 1-based call to fail; 0: never */
    int armed;
    int failed; /* a call failed since last cleared */
    size_t live_bytes, live_blocks;
} fa;

typedef union fa_hdr {
    max_align_t align;
    size_t size;
} fa_hdr;

static int fa_should_fail(fa *f)
{
    if (!f->armed)
        return 0;
    if (++f->calls == f->fail_at) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

static void *fa_malloc(size_t n, void *ud)
{
    fa *f = ud;
    if (fa_should_fail(f))
        return NULL;
    fa_hdr *h = malloc(sizeof *h + n);
    CHECK(h != NULL);
    h->size = n;
    f->live_bytes += n;
    f->live_blocks++;
    return h + 1;
}

static void *fa_realloc(void *p, size_t n, void *ud)
{
    fa *f = ud;
    if (!p)
        return fa_malloc(n, ud);
    if (fa_should_fail(f))
        return NULL;
    fa_hdr *h = (fa_hdr *)p - 1;
    size_t old = h->size;
    h = realloc(h, sizeof *h + n);
    CHECK(h != NULL);
    h->size = n;
    f->live_bytes = f->live_bytes - old + n;
    return h + 1;
}

static void fa_free(void *p, void *ud)
{
    fa *f = ud;
    if (!p)
        return;
    fa_hdr *h = (fa_hdr *)p - 1;
    f->live_bytes -= h->size;
    f->live_blocks--;
    free(h);
}

/* Stats are bytes_in_use exact: what the allocator holds for the core. */
START_TEST(test_core_alloc_accounting_matches_allocator)
{
    fa f;
    memset(&f, 0, sizeof f);
    cr_allocator a = {fa_malloc, fa_realloc, fa_free, &f};
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, NULL, &a, NULL), 0);
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    ck_assert_uint_eq(s.bytes_in_use, f.live_bytes);
    ck_assert_uint_gt(s.bytes_in_use, 0);
    uint64_t peak = 0;
    for (int i = 0; i < 300; i++) {
        char t[16];
        snprintf(t, sizeof t, "t%d", i);
        cr_thread_add(ctx, 0, "alice", t);
        cr_conn_id c;
        cr_conn_open(ctx, 0, &c);
        cr_conn_authenticate(ctx, 0, c, "alice");
        cr_conn_switch(ctx, 0, c, t, 0);
        cr_ctx_get_stats(ctx, &s);
        ck_assert_uint_eq(s.bytes_in_use, f.live_bytes);
        ck_assert_uint_ge(s.bytes_peak, s.bytes_in_use);
        peak = s.bytes_peak;
    }
    for (cr_conn_id c = 1; c <= 300; c++)
        cr_conn_close(ctx, 1, c, CR_CLOSE_SERVER);
    cr_ctx_get_stats(ctx, &s);
    ck_assert_uint_eq(s.bytes_in_use, f.live_bytes);
    ck_assert_uint_lt(s.bytes_in_use, peak);
    ck_assert_uint_eq(s.bytes_peak, peak);
    cr_ctx_del(ctx);
    ck_assert_uint_eq(f.live_bytes, 0);
    ck_assert_uint_eq(f.live_blocks, 0);
}
END_TEST

START_TEST(test_core_alloc_ctx_new_failure)
{
    fa f;
    memset(&f, 0, sizeof f);
    f.armed = 1;
    f.fail_at = 1;
    cr_allocator a = {fa_malloc, fa_realloc, fa_free, &f};
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, NULL, &a, NULL), CR_ENOMEM);
    ck_assert_ptr_null(ctx);
    ck_assert_uint_eq(f.live_blocks, 0);
}
END_TEST

/* ---- the scripted scenario under failure injection ---- */

typedef struct harness {
    fa f;
    rec r;
    cr_ctx *ctx;
    char *snap_dump;
    cr_stats snap_stats;
    size_t snap_log;
    rec dumps; /* cr_ctx_dump output of the script's dump steps */
    int failures;
} harness;

static void snap_take(harness *h)
{
    int armed = h->f.armed;
    h->f.armed = 0;
    free(h->snap_dump);
    h->snap_dump = rec_dump(h->ctx);
    cr_ctx_get_stats(h->ctx, &h->snap_stats);
    ck_assert_uint_eq(h->snap_stats.bytes_in_use, h->f.live_bytes);
    h->snap_log = h->r.len;
    h->f.armed = armed;
}

/* After a CR_ENOMEM: nothing observable changed (capacity may have grown,
 * so the byte gauges are not compared). */
static void snap_check(harness *h, int line)
{
    h->f.armed = 0;
    char *now = rec_dump(h->ctx);
    ck_assert_msg(strcmp(now, h->snap_dump) == 0, "line %d: dump changed on ENOMEM", line);
    free(now);
    cr_stats s;
    cr_ctx_get_stats(h->ctx, &s);
    s.bytes_in_use = h->snap_stats.bytes_in_use;
    s.bytes_peak = h->snap_stats.bytes_peak;
    ck_assert_msg(memcmp(&s, &h->snap_stats, sizeof s) == 0, "line %d: stats changed", line);
    ck_assert_msg(h->r.len == h->snap_log, "line %d: output on ENOMEM: %s", line,
                  h->r.log + h->snap_log);
}

/* One call of the script: retried while it fails with CR_ENOMEM; `atomic`:
 * the failed attempt must have changed nothing (all calls but expiry). */
#define CALL(want, atomic, call)                                                                   \
    do {                                                                                           \
        for (;;) {                                                                                 \
            snap_take(h);                                                                          \
            h->f.failed = 0;                                                                       \
            h->f.armed = 1;                                                                        \
            int rc_ = (call);                                                                      \
            h->f.armed = 0;                                                                        \
            if (rc_ == CR_ENOMEM) {                                                                \
                ck_assert_msg(h->f.failed, "line %d: ENOMEM without a failed allocation",          \
                              __LINE__);                                                           \
                if (atomic)                                                                        \
                    snap_check(h, __LINE__);                                                       \
                h->failures++;                                                                     \
                continue;                                                                          \
            }                                                                                      \
            ck_assert_msg(rc_ == (want), "line %d: got %s want %s", __LINE__, cr_errname(rc_),     \
                          cr_errname(want));                                                       \
            break;                                                                                 \
        }                                                                                          \
    } while (0)
#define OK(call)  CALL(0, 1, call)
#define EXPIRE(t) CALL(0, 0, cr_ctx_handle_expiry(h->ctx, (t)))

static uint64_t req(harness *h, size_t i)
{
    ck_assert_uint_lt(i, h->r.nreq);
    return h->r.reqs[i];
}

static int dump_step(harness *h)
{
    size_t before = h->dumps.len;
    int rc = cr_ctx_dump(h->ctx, rec_dump_write, &h->dumps);
    if (rc == CR_ENOMEM)
        ck_assert_uint_eq(h->dumps.len, before);
    return rc;
}

/* The scenario: every allocation site of the core is on its path. */
static void script(harness *h)
{
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_max = 3;
    p.preauth_max = 2;
    p.event_buffer_max = 4;
    p.event_ttl = 1000;
    p.exec_grace = 200;
    p.exec_retry_interval = 50;
    p.update_backoff = 10;
    p.pending_deadline = 5000;
    cr_allocator a = {fa_malloc, fa_realloc, fa_free, &h->f};
    h->ctx = NULL;
    for (;;) {
        h->f.failed = 0;
        h->f.armed = 1;
        int rc = cr_ctx_new(&h->ctx, &p, &rec_callbacks, &a, &h->r);
        h->f.armed = 0;
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, CR_ENOMEM);
        ck_assert_ptr_null(h->ctx);
        h->failures++;
    }
    cr_ctx *ctx = h->ctx;
    cr_conn_id c1 = 0, c2 = 0, c3 = 0, c4 = 0;
    cr_run_id r1 = 0, r2 = 0, r3 = 0, r4 = 0;
    uint64_t m1 = 0, m2 = 0;
    cr_message pre1 = rec_message(NULL, 0, 1), pre2 = rec_message("t1", 0, 2);
    cr_message flood = rec_message(NULL, 0, 9);
    cr_event_in ev = {1, 100, "payload", 7};

    OK(cr_thread_add(ctx, 0, "alice", "t1"));
    OK(cr_thread_add(ctx, 0, "alice", "t2"));
    OK(cr_thread_add(ctx, 0, "bob", "t1"));
    OK(cr_conn_open(ctx, 1, &c1));
    OK(cr_conn_message(ctx, 2, c1, &pre1, &m1));
    OK(cr_conn_message(ctx, 2, c1, &pre2, &m2));
    OK(cr_conn_authenticate(ctx, 3, c1, "alice")); /* cache -> assoc + queue */
    OK(cr_conn_open(ctx, 4, &c2));
    OK(cr_conn_authenticate(ctx, 4, c2, "alice"));
    OK(cr_conn_switch(ctx, 5, c2, "t2", 0));
    OK(cr_assoc_complete(ctx, 6, req(h, 0), 1)); /* bind + drain */
    OK(cr_run_start(ctx, 7, m1, &r1));
    OK(cr_msg_release(ctx, m2));
    for (int i = 0; i < 3; i++)
        OK(cr_run_emit(ctx, 8, r1, &ev, NULL, NULL)); /* delivered, history */
    OK(cr_conn_close(ctx, 9, c1, CR_CLOSE_DISCONNECT));
    OK(cr_run_emit(ctx, 10, r1, &ev, NULL, NULL)); /* buffered */
    OK(cr_run_emit(ctx, 10, r1, &ev, NULL, NULL));
    OK(cr_assoc_complete(ctx, 11, req(h, 1), 0)); /* c2's switch fails: retry */
    EXPIRE(30);
    OK(cr_assoc_complete(ctx, 31, req(h, 2), 1)); /* bound t2, notice */
    OK(cr_conn_open(ctx, 32, &c3));
    OK(cr_conn_authenticate(ctx, 32, c3, "alice"));
    OK(cr_conn_switch(ctx, 33, c3, "t1", 3));
    OK(cr_assoc_complete(ctx, 34, req(h, 3), 1)); /* replay 4, 5 */
    OK(cr_run_start_for(ctx, 35, "alice", "t2", &r2));
    OK(cr_run_emit(ctx, 36, r2, &ev, NULL, NULL));
    OK(cr_run_start_for(ctx, 37, "bob", "t1", &r3)); /* waits: never bound */
    EXPIRE(100);
    EXPIRE(300);                                    /* grace over: context lost */
    OK(cr_run_emit(ctx, 301, r3, &ev, NULL, NULL)); /* unroutable, reported */
    OK(cr_conn_close(ctx, 302, c3, CR_CLOSE_CLIENT));
    OK(cr_run_emit(ctx, 303, r1, &ev, NULL, NULL)); /* buffered again */
    CALL(0, 1, dump_step(h));
    EXPIRE(1400); /* TTL: fallback to c2 */
    OK(cr_conn_open(ctx, 1500, &c4));
    OK(cr_conn_message(ctx, 1500, c4, &flood, NULL));
    OK(cr_conn_message(ctx, 1500, c4, &flood, NULL));
    CALL(CR_EFULL, 1, cr_conn_message(ctx, 1500, c4, &flood, NULL));
    OK(cr_conn_authenticate(ctx, 1501, c4, "bob"));
    OK(cr_run_start_for(ctx, 1502, "alice", "t1", &r4));
    /* grow the maps inside ordinary calls */
    for (int i = 0; i < 12; i++) {
        cr_message m = rec_message("t2", 0, 50 + (uint64_t)i);
        cr_run_id extra = 0;
        OK(cr_conn_message(ctx, 1502, c2, &m, NULL));
        OK(cr_run_start_for(ctx, 1502, "alice", "t2", &extra));
        char t[8];
        snprintf(t, sizeof t, "x%d", i);
        OK(cr_thread_add(ctx, 1502, t, t));
    }
    OK(cr_run_end(ctx, 1503, r1));
    OK(cr_run_end(ctx, 1503, r4));
    CALL(0, 1, dump_step(h));
    EXPIRE(10000); /* c4's pending deadline */
    OK(cr_conn_close(ctx, 10001, c2, CR_CLOSE_SERVER));
    /* a user created by authentication, freed with its connection; a
     * thread removed with an undelivered event in its buffer */
    cr_conn_id c5 = 0;
    OK(cr_conn_open(ctx, 10002, &c5));
    OK(cr_conn_authenticate(ctx, 10002, c5, "erin"));
    OK(cr_conn_close(ctx, 10003, c5, CR_CLOSE_CLIENT));
    for (int i = 0; i < 12; i++) {
        char t[8];
        snprintf(t, sizeof t, "x%d", i);
        OK(cr_thread_remove(ctx, 10004, t, t));
    }
    CALL(CR_ESTATE, 1, cr_thread_remove(ctx, 10005, "alice", "t2")); /* runs, messages */
    CALL(CR_ESTATE, 1, cr_thread_remove(ctx, 10005, "bob", "t1"));   /* r3 */
    OK(cr_run_end(ctx, 10006, r3));
    OK(cr_thread_remove(ctx, 10007, "bob", "t1"));
    OK(cr_thread_remove(ctx, 10007, "alice", "t1"));
}

static void harness_free(harness *h)
{
    cr_ctx_del(h->ctx);
    ck_assert_uint_eq(h->f.live_bytes, 0);
    ck_assert_uint_eq(h->f.live_blocks, 0);
    free(h->snap_dump);
    rec_free(&h->r);
    rec_free(&h->dumps);
}

START_TEST(test_core_alloc_every_failure_point)
{
    harness ref;
    memset(&ref, 0, sizeof ref);
    script(&ref);
    ck_assert_int_eq(ref.failures, 0);
    long total = ref.f.calls;
    ck_assert_int_gt(total, 20);
    ck_assert_ptr_nonnull(ref.r.log);
    /* the scenario covered what it claims to */
    cr_stats s;
    cr_ctx_get_stats(ref.ctx, &s);
    ck_assert_uint_gt(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 0);
    ck_assert_uint_gt(s.outcomes[CR_OUTCOME_FALLBACK], 0);
    ck_assert_uint_gt(s.outcomes[CR_OUTCOME_UNROUTABLE], 0);
    ck_assert_uint_gt(s.assoc_retried, 0);
    ck_assert_uint_gt(s.conns_closed_pending_timeout, 0);
    ck_assert_uint_gt(s.runs_context_lost, 0);

    int injected = 0;
    for (long n = 1; n <= total; n++) {
        harness h;
        memset(&h, 0, sizeof h);
        h.f.fail_at = n;
        script(&h);
        ck_assert_msg(h.failures == 1, "fail_at %ld: %d failures", n, h.failures);
        injected += h.failures;
        ck_assert_msg(strcmp(h.r.log, ref.r.log) == 0, "fail_at %ld: output differs", n);
        ck_assert_str_eq(h.dumps.log, ref.dumps.log);
        char *a = rec_dump(h.ctx), *b = rec_dump(ref.ctx);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
        harness_free(&h);
    }
    ck_assert_int_eq(injected, total);
    harness_free(&ref);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("core_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_core_alloc_accounting_matches_allocator);
    tcase_add_test(tc, test_core_alloc_ctx_new_failure);
    tcase_add_test(tc, test_core_alloc_every_failure_point);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
