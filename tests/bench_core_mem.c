/*
 * bench_core_mem.c - the core's memory per connection and per buffered
 * event, and its cost per operation, at 1e5 and 1e6 connections.
 *
 * A benchmark, not a test (plain main, no Check; run by `make bench`,
 * section "coremem" of BENCH_ONLY).  One context on the fixed profile with
 * a counting allocator (cr_allocator): for N connections, each of its own
 * user and thread, every connection is opened, authenticated, switched to
 * its thread and bound (READY, the realistic state of a server's
 * population); then every stream gets one agent run of EVENTS events
 * (payload "agent_thinking", delivered live and kept as replay history, as
 * in the scale scenario); then the history ages out (event_ttl).  Printed:
 *   bytes/conn     live bytes the core holds per READY connection (its
 *                  record, user, stream, map slots, timers), as requested
 *                  from the allocator, and as glibc would hold them (each
 *                  block rounded to its malloc chunk: max(32, (n+8) up to
 *                  16));
 *   bytes/event    the same per buffered history event;
 *   blocks         live allocator blocks per connection and per event;
 *   ns/op          wall time of one connection's open..bind, one emit, one
 *                  expired event (handle_expiry), one close.
 * BENCH_CORE_MEM_MAX caps N (default 1000000).  Wall-clock time is used
 * for the measurement only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/src/ctx.h"
#include "ctxready.h"
#include "tests/lib/floor.h"

#define EVENTS 5

/* ---- the counting allocator: a size header of its own, outside the core's
 * figures (it measures what the core asks for). */
typedef struct counter {
    uint64_t bytes, chunk, blocks;
} counter;

typedef union hdr {
    max_align_t align;
    size_t size;
} hdr;

static uint64_t chunk_of(size_t n)
{
    uint64_t c = ((uint64_t)n + 8 + 15) & ~(uint64_t)15;
    return c < 32 ? 32 : c;
}

static void *c_malloc(size_t n, void *ud)
{
    counter *k = ud;
    hdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    k->bytes += n;
    k->chunk += chunk_of(n);
    k->blocks++;
    return h + 1;
}

static void *c_realloc(void *p, size_t n, void *ud)
{
    counter *k = ud;
    if (!p)
        return c_malloc(n, ud);
    hdr *h = (hdr *)p - 1;
    size_t old = h->size;
    hdr *g = realloc(h, sizeof *g + n);
    if (!g)
        return NULL;
    g->size = n;
    k->bytes = k->bytes - old + n;
    k->chunk = k->chunk - chunk_of(old) + chunk_of(n);
    return g + 1;
}

static void c_free(void *p, void *ud)
{
    counter *k = ud;
    if (!p)
        return;
    hdr *h = (hdr *)p - 1;
    k->bytes -= h->size;
    k->chunk -= chunk_of(h->size);
    k->blocks--;
    free(h);
}

/* ---- the host: remembers the last association request */
typedef struct host {
    uint64_t req;
    uint64_t delivered;
} host;

static void on_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *u,
                         const char *t)
{
    ((host *)ud)->req = req;
}

static void on_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *ev)
{
    ((host *)ud)->delivered++;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "bench_core_mem: %s: %s\n", what, cr_strerror(rc));
    return 1;
}

static int run(unsigned long n)
{
    counter k = {0, 0, 0};
    host h = {0, 0};
    cr_allocator a = {c_malloc, c_realloc, c_free, &k};
    cr_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.associate = on_associate;
    cb.deliver = on_deliver;
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx;
    int rc = cr_ctx_new(&ctx, &p, &cb, &a, &h);
    if (rc)
        return die("cr_ctx_new", rc);
    counter base = k;
    uint64_t now = 1;
    char user[32], thread[32];
    cr_conn_id *ids = malloc(n * sizeof *ids);
    if (!ids)
        return 1;

    double t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i++) {
        snprintf(user, sizeof user, "user-%lu", i);
        snprintf(thread, sizeof thread, "thread-%lu", i);
        if ((rc = cr_thread_add(ctx, now, user, thread)) ||
            (rc = cr_conn_open(ctx, now, &ids[i])) ||
            (rc = cr_conn_authenticate(ctx, now, ids[i], user)) ||
            (rc = cr_conn_switch(ctx, now, ids[i], thread, 0)) ||
            (rc = cr_assoc_complete(ctx, now, h.req, 1)))
            return die("bind", rc);
    }
    double t_bind = (bench_now_ns() - t0) / (double)n;
    counter ready = k;

    static const char payload[] = "agent_thinking";
    cr_event_in ev = {1, 7, payload, sizeof payload - 1};
    now += CR_NS_PER_MS;
    t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i++) {
        snprintf(user, sizeof user, "user-%lu", i);
        snprintf(thread, sizeof thread, "thread-%lu", i);
        cr_run_id r;
        if ((rc = cr_run_start_for(ctx, now, user, thread, &r)))
            return die("cr_run_start_for", rc);
        for (int e = 0; e < EVENTS; e++)
            if ((rc = cr_run_emit(ctx, ++now, r, &ev, NULL, NULL)))
                return die("cr_run_emit", rc);
        if ((rc = cr_run_end(ctx, now, r)))
            return die("cr_run_end", rc);
    }
    double t_emit = (bench_now_ns() - t0) / (double)(n * EVENTS);
    counter hist = k;
    cr_stats st;
    cr_ctx_get_stats(ctx, &st);
    if (st.buffer_events_now != (uint64_t)n * EVENTS || h.delivered != (uint64_t)n * EVENTS) {
        fprintf(stderr, "bench_core_mem: %" PRIu64 " events buffered, %" PRIu64 " delivered\n",
                st.buffer_events_now, h.delivered);
        return 1;
    }

    now += p.event_ttl;
    t0 = bench_now_ns();
    if ((rc = cr_ctx_handle_expiry(ctx, now)))
        return die("cr_ctx_handle_expiry", rc);
    double t_expire = (bench_now_ns() - t0) / (double)(n * EVENTS);
    cr_ctx_get_stats(ctx, &st);
    if (st.buffer_events_now != 0)
        return die("history did not age out", CR_ESTATE);
    counter aged = k;

    t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i++)
        if ((rc = cr_conn_close(ctx, now, ids[i], CR_CLOSE_CLIENT)))
            return die("cr_conn_close", rc);
    double t_close = (bench_now_ns() - t0) / (double)n;
    cr_ctx_del(ctx);
    free(ids);
    if (k.bytes != 0 || k.blocks != 0)
        return die("leak", CR_ESTATE);

    double dn = (double)n, de = (double)n * EVENTS;
    printf("%-9lu %9.1f %9.1f %7.2f %9.1f %9.1f %7.2f %9.1f %8.1f %8.1f %8.1f %9.1f\n", n,
           (double)(ready.bytes - base.bytes) / dn, (double)(ready.chunk - base.chunk) / dn,
           (double)(ready.blocks - base.blocks) / dn, (double)(hist.bytes - ready.bytes) / de,
           (double)(hist.chunk - ready.chunk) / de, (double)(hist.blocks - ready.blocks) / de,
           (double)(aged.bytes - base.bytes) / dn, t_bind, t_emit, t_expire, t_close);
    return 0;
}

int main(void)
{
    const char *only = getenv("BENCH_ONLY");
    if (only && !strstr(only, "coremem"))
        return 0;
    unsigned long max = 1000000;
    const char *m = getenv("BENCH_CORE_MEM_MAX");
    if (m)
        max = strtoul(m, NULL, 10);
    printf("core memory (fixed profile, one user + thread per connection, READY, %d history "
           "events of 14 bytes each)\n",
           EVENTS);
    printf("record sizes: cr_conn %zu, cr_stream %zu + thread, cr_user %zu + name, map slot "
           "%zu, timer %zu\n",
           sizeof(cr_conn), sizeof(cr_stream), sizeof(cr_user), sizeof(cr_map_slot),
           sizeof(cr_timer));
    printf("%-9s %9s %9s %7s %9s %9s %7s %9s %8s %8s %8s %9s\n", "conns", "B/conn", "chunk/c",
           "blk/c", "B/event", "chunk/ev", "blk/ev", "B/c aged", "ns bind", "ns emit", "ns exp",
           "ns close");
    fflush(stdout);
    for (unsigned long n = 100000; n <= max; n *= 10)
        if (run(n))
            return 1;
    return 0;
}
