/*
 * invariant.c - the core's invariants through its public API (see
 * invariant.h; every rule is listed in docs/check.md with the code that
 * makes it hold).
 */
#include "sim/invariant.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A gauge above this has been decremented below zero. */
#define GAUGE_MAX (UINT64_C(1) << 62)

static int fail(char *why, size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* mul returns a * b saturated at UINT64_MAX. */
static uint64_t mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r; /* no division per step */
}

int sim_invariant_check_values(const cr_stats *st, const cr_policy *p,
                               const sim_invariant_scope *scope, char *why, size_t len)
{
    if (!st || !p)
        return fail(why, len, "no stats or policy");
    /* The gauges by offset: a static table, nothing built per call. */
    static const struct {
        const char *name;
        size_t off;
    } gauges[] = {
        {"events_buffered_now", offsetof(cr_stats, events_buffered_now)},
        {"buffer_events_now", offsetof(cr_stats, buffer_events_now)},
        {"buffer_bytes_now", offsetof(cr_stats, buffer_bytes_now)},
        {"messages_queued_now", offsetof(cr_stats, messages_queued_now)},
        {"messages_preauth_now", offsetof(cr_stats, messages_preauth_now)},
        {"conns_by_state[OPEN]", offsetof(cr_stats, conns_by_state[CR_CONN_OPEN])},
        {"conns_by_state[PENDING_CONTEXT]",
         offsetof(cr_stats, conns_by_state[CR_CONN_PENDING_CONTEXT])},
        {"conns_by_state[READY]", offsetof(cr_stats, conns_by_state[CR_CONN_READY])},
        {"conns_by_state[CLOSED]", offsetof(cr_stats, conns_by_state[CR_CONN_CLOSED])},
        {"bytes_in_use", offsetof(cr_stats, bytes_in_use)},
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + gauges[i].off, sizeof v);
        if (v >= GAUGE_MAX)
            return fail(why, len, "%s = %" PRIu64 ": decremented below zero", gauges[i].name, v);
    }

    uint64_t outcomes = 0;
    for (int o = 0; o < CR_OUTCOME_COUNT; o++)
        outcomes += st->outcomes[o];
    uint64_t accounted = outcomes + st->events_buffered_now;
    if (p->report_undeliverable && accounted != st->events_emitted)
        return fail(why, len,
                    "outcomes (%" PRIu64 ") + events_buffered_now (%" PRIu64
                    ") != events_emitted (%" PRIu64 ") with report_undeliverable on",
                    outcomes, st->events_buffered_now, st->events_emitted);
    if (accounted > st->events_emitted)
        return fail(why, len,
                    "outcomes (%" PRIu64 ") + events_buffered_now (%" PRIu64
                    ") > events_emitted (%" PRIu64 ")",
                    outcomes, st->events_buffered_now, st->events_emitted);
    if (st->events_buffered_now > st->buffer_events_now)
        return fail(why, len, "events_buffered_now (%" PRIu64 ") > buffer_events_now (%" PRIu64 ")",
                    st->events_buffered_now, st->buffer_events_now);
    if (st->buffer_delay.count != st->outcomes[CR_OUTCOME_BUFFERED_DELIVERED])
        return fail(why, len,
                    "buffer_delay.count (%" PRIu64 ") != outcomes[buffered_delivered] (%" PRIu64
                    ")",
                    st->buffer_delay.count, st->outcomes[CR_OUTCOME_BUFFERED_DELIVERED]);

    uint64_t fates = st->messages_dispatched + st->messages_rejected + st->messages_queued_now +
                     st->messages_preauth_now;
    if (fates != st->messages_received)
        return fail(why, len,
                    "messages: dispatched %" PRIu64 " + rejected %" PRIu64 " + queued_now %" PRIu64
                    " + preauth_now %" PRIu64 " != received %" PRIu64,
                    st->messages_dispatched, st->messages_rejected, st->messages_queued_now,
                    st->messages_preauth_now, st->messages_received);
    if (st->errors_reported < st->messages_rejected)
        return fail(why, len,
                    "errors_reported (%" PRIu64 ") < messages_rejected (%" PRIu64
                    "): a rejection went unreported",
                    st->errors_reported, st->messages_rejected);

    uint64_t authed =
        st->conns_by_state[CR_CONN_PENDING_CONTEXT] + st->conns_by_state[CR_CONN_READY];
    uint64_t qmax = p->queue_until_context ? mul(p->pending_max, authed) : 0;
    if (st->messages_queued_now > qmax)
        return fail(why, len,
                    "messages_queued_now (%" PRIu64 ") > %" PRIu64
                    " (pending_max x authenticated connections, 0 without queue_until_context)",
                    st->messages_queued_now, qmax);
    uint64_t cmax = p->cache_preauth ? mul(p->preauth_max, st->conns_by_state[CR_CONN_OPEN]) : 0;
    if (st->messages_preauth_now > cmax)
        return fail(why, len,
                    "messages_preauth_now (%" PRIu64 ") > %" PRIu64
                    " (preauth_max x OPEN connections, 0 without cache_preauth)",
                    st->messages_preauth_now, cmax);

    if (!p->buffer_until_ready && (st->buffer_events_now || st->buffer_bytes_now))
        return fail(why, len,
                    "buffer holds %" PRIu64 " events (%" PRIu64
                    " bytes) with buffer_until_ready off",
                    st->buffer_events_now, st->buffer_bytes_now);
    if (st->buffer_bytes_now > mul(st->buffer_events_now, p->max_payload))
        return fail(why, len,
                    "buffer_bytes_now (%" PRIu64 ") > buffer_events_now (%" PRIu64
                    ") x max_payload",
                    st->buffer_bytes_now, st->buffer_events_now);
    if (scope && scope->streams) {
        uint64_t emax = mul(p->event_buffer_max, scope->streams);
        uint64_t bmax = mul(p->event_buffer_max_bytes, scope->streams);
        if (st->buffer_events_now > emax)
            return fail(why, len,
                        "buffer_events_now (%" PRIu64 ") > event_buffer_max x %" PRIu64
                        " streams (%" PRIu64 ")",
                        st->buffer_events_now, scope->streams, emax);
        if (st->buffer_bytes_now > bmax)
            return fail(why, len,
                        "buffer_bytes_now (%" PRIu64 ") > event_buffer_max_bytes x %" PRIu64
                        " streams (%" PRIu64 ")",
                        st->buffer_bytes_now, scope->streams, bmax);
    }

    if (st->bytes_in_use > st->bytes_peak)
        return fail(why, len, "bytes_in_use (%" PRIu64 ") > bytes_peak (%" PRIu64 ")",
                    st->bytes_in_use, st->bytes_peak);
    if (st->assoc_failed > st->assoc_requested || st->assoc_retried > st->assoc_failed)
        return fail(why, len,
                    "associations: retried %" PRIu64 " <= failed %" PRIu64 " <= requested %" PRIu64
                    " broken",
                    st->assoc_retried, st->assoc_failed, st->assoc_requested);
    if (st->runs_context_lost > st->runs_started)
        return fail(why, len, "runs_context_lost (%" PRIu64 ") > runs_started (%" PRIu64 ")",
                    st->runs_context_lost, st->runs_started);

    uint64_t conns = 0;
    for (int s = 0; s < 4; s++)
        conns += st->conns_by_state[s];
    if (st->conns_closed_pending_timeout > st->conns_by_state[CR_CONN_CLOSED])
        return fail(why, len,
                    "conns_closed_pending_timeout (%" PRIu64 ") > CLOSED connections (%" PRIu64 ")",
                    st->conns_closed_pending_timeout, st->conns_by_state[CR_CONN_CLOSED]);
    if (st->notices_sent < st->conns_closed_pending_timeout)
        return fail(why, len,
                    "notices_sent (%" PRIu64 ") < conns_closed_pending_timeout (%" PRIu64
                    "): a CLOSING notice is missing",
                    st->notices_sent, st->conns_closed_pending_timeout);
    if (st->connect_to_ready.count > conns)
        return fail(why, len,
                    "connect_to_ready.count (%" PRIu64 ") > connections (%" PRIu64
                    "): a connection became ready twice",
                    st->connect_to_ready.count, conns);
    if (scope && scope->conns && conns != scope->conns)
        return fail(why, len,
                    "conns_by_state adds up to %" PRIu64 ", %" PRIu64 " connections were opened",
                    conns, scope->conns);
    const cr_histogram *h[2] = {&st->connect_to_ready, &st->buffer_delay};
    const cr_histogram *was[2] = {scope && scope->prev ? &scope->prev->connect_to_ready : NULL,
                                  scope && scope->prev ? &scope->prev->buffer_delay : NULL};
    for (int i = 0; i < 2; i++) {
        if (was[i] && sim_invariant_hist_same(was[i], h[i]))
            continue;                  /* summed when prev was checked */
        uint64_t s4[4] = {0, 0, 0, 0}; /* four sums: no loop-carried chain */
        for (int b = 0; b + 4 <= CR_HIST_BUCKETS; b += 4)
            for (int k = 0; k < 4; k++)
                s4[k] += h[i]->buckets[b + k];
        uint64_t n = s4[0] + s4[1] + s4[2] + s4[3];
        for (int b = CR_HIST_BUCKETS / 4 * 4; b < CR_HIST_BUCKETS; b++)
            n += h[i]->buckets[b];
        if (n != h[i]->count)
            return fail(why, len, "%s: buckets add up to %" PRIu64 ", count is %" PRIu64,
                        i ? "buffer_delay" : "connect_to_ready", n, h[i]->count);
    }
    return 0;
}

int sim_invariant_hist_same(const cr_histogram *a, const cr_histogram *b)
{
    return a->count == b->count && a->sum == b->sum;
}

int sim_invariant_check_stats(const cr_ctx *ctx, char *why, size_t len)
{
    if (!ctx)
        return fail(why, len, "no context");
    cr_stats st;
    cr_ctx_get_stats(ctx, &st);
    return sim_invariant_check_values(&st, cr_ctx_policy(ctx), NULL, why, len);
}

/* conn_rules checks one snapshot against policy p. */
static int conn_rules(const cr_ctx *ctx, const cr_conn_info *in, const cr_policy *p, char *why,
                      size_t len)
{
    cr_conn_id id = in->id;
    if (in->state == CR_CONN_CLOSED)
        return 0;
    if (in->state != CR_CONN_OPEN && in->state != CR_CONN_PENDING_CONTEXT &&
        in->state != CR_CONN_READY)
        return fail(why, len, "conn %" PRIu64 ": state %d out of range", id, (int)in->state);
    const char *st = cr_conn_state_name(in->state);
    uint64_t qmax = p->queue_until_context ? p->pending_max : 0;
    if (in->queued_messages > qmax)
        return fail(why, len,
                    "conn %" PRIu64 " (%s): %zu queued messages > %" PRIu64
                    " (pending_max, 0 without queue_until_context)",
                    id, st, in->queued_messages, qmax);
    if (in->assoc_target && !in->user)
        return fail(why, len, "conn %" PRIu64 " (%s): associating to %s with no user", id, st,
                    in->assoc_target);
    if (!in->assoc_target && in->assoc_attempts)
        return fail(why, len, "conn %" PRIu64 " (%s): %u association attempts, none in flight", id,
                    st, in->assoc_attempts);
    if (in->assoc_establish_only && (!in->assoc_target || in->state != CR_CONN_READY))
        return fail(why, len,
                    "conn %" PRIu64 " (%s): an establish-only association needs one in flight "
                    "and a bound (READY) connection",
                    id, st);
    if (in->assoc_target && (in->assoc_attempts < 1 || in->assoc_attempts > p->update_retries + 1))
        return fail(why, len,
                    "conn %" PRIu64 " (%s): association attempt %u outside 1..update_retries + 1",
                    id, st, in->assoc_attempts);
    if (in->state == CR_CONN_OPEN) {
        uint64_t cmax = p->cache_preauth ? p->preauth_max : 0;
        if (in->user || in->thread || in->generation || in->queued_messages || in->ready_at)
            return fail(why, len,
                        "conn %" PRIu64 " (OPEN) has a user, thread, generation, queue or "
                        "ready time",
                        id);
        if (in->preauth_messages > cmax)
            return fail(why, len,
                        "conn %" PRIu64 " (OPEN): %zu cached messages > %" PRIu64
                        " (preauth_max, 0 without cache_preauth)",
                        id, in->preauth_messages, cmax);
        return 0;
    }
    if (!in->user)
        return fail(why, len, "conn %" PRIu64 " (%s) has no user", id, st);
    if (in->preauth_messages)
        return fail(why, len, "conn %" PRIu64 " (%s) still holds %zu pre-auth messages", id, st,
                    in->preauth_messages);
    if (in->state == CR_CONN_PENDING_CONTEXT) {
        if (in->thread || in->generation || in->ready_at)
            return fail(why, len,
                        "conn %" PRIu64 " (PENDING_CONTEXT) has a bound thread, generation or "
                        "ready time",
                        id);
        return 0;
    }
    if (!in->thread)
        return fail(why, len, "conn %" PRIu64 " is READY without a bound thread", id);
    if (in->generation == 0)
        return fail(why, len, "conn %" PRIu64 " is READY with generation 0", id);
    if (in->ready_at < in->opened_at)
        return fail(why, len, "conn %" PRIu64 ": ready at %" PRIu64 " before opened at %" PRIu64,
                    id, in->ready_at, in->opened_at);
    int ready = 0;
    if (cr_ctx_is_ready(ctx, in->user, in->thread, &ready) != 0 || !ready)
        return fail(why, len, "conn %" PRIu64 " is READY on (%s, %s) but cr_ctx_is_ready says no",
                    id, in->user, in->thread);
    return 0;
}

int sim_invariant_check_conn(const cr_ctx *ctx, cr_conn_id conn, char *why, size_t len)
{
    if (!ctx)
        return fail(why, len, "no context");
    cr_conn_info in;
    int rc = cr_conn_get_info(ctx, conn, &in);
    if (rc != 0)
        return fail(why, len, "conn %" PRIu64 ": cr_conn_get_info: %s", conn, cr_errname(rc));
    return conn_rules(ctx, &in, cr_ctx_policy(ctx), why, len);
}

/* The per-stream bounds, from cr_ctx_dump's stream lines. */
typedef struct stream_walk {
    const cr_policy *p;
    char *why;
    size_t len;
    int bad;
} stream_walk;

/* field returns the number after " key=" in line, or UINT64_MAX. */
static uint64_t field(const char *line, const char *key)
{
    const char *f = strstr(line, key);
    return f ? strtoull(f + strlen(key), NULL, 10) : UINT64_MAX;
}

static int stream_line(void *arg, const char *line, size_t n)
{
    stream_walk *sw = arg;
    (void)n;
    if (strncmp(line, "stream ", 7) != 0)
        return 0;
    const cr_policy *p = sw->p;
    uint64_t buffered = field(line, " buffered="), undelivered = field(line, " undelivered=");
    uint64_t bytes = field(line, " bytes="), seq = field(line, " seq="),
             first = field(line, " first_seq=");
    const char *rule = NULL;
    if (buffered == UINT64_MAX || undelivered == UINT64_MAX || bytes == UINT64_MAX ||
        seq == UINT64_MAX || first == UINT64_MAX)
        rule = "a field is missing";
    else if (buffered > p->event_buffer_max || bytes > p->event_buffer_max_bytes)
        rule = "over event_buffer_max or event_buffer_max_bytes";
    else if (undelivered > buffered || buffered == 0)
        rule = "undelivered > buffered, or listed while empty";
    else if (first < 1 || first > seq || buffered > seq - first + 1)
        rule = "its entries are not within seq first_seq..seq";
    if (!rule)
        return 0;
    size_t l = strcspn(line, "\n");
    fail(sw->why, sw->len, "%.*s: %s", (int)(l < 300 ? l : 300), line, rule);
    sw->bad = 1;
    return -1;
}

int sim_invariant_check_all(const cr_ctx *ctx, const sim_invariant_scope *scope, char *why,
                            size_t len)
{
    if (!ctx || !scope)
        return fail(why, len, "no context or scope");
    cr_stats st;
    cr_ctx_get_stats(ctx, &st);
    const cr_policy *p = cr_ctx_policy(ctx);
    if (sim_invariant_check_values(&st, p, scope, why, len) != 0)
        return -1;
    uint64_t by_state[4] = {0, 0, 0, 0};
    for (cr_conn_id c = 1; c <= scope->conns; c++) {
        cr_conn_info in;
        int rc = cr_conn_get_info(ctx, c, &in);
        if (rc != 0)
            return fail(why, len, "conn %" PRIu64 ": cr_conn_get_info: %s", c, cr_errname(rc));
        if (conn_rules(ctx, &in, p, why, len) != 0)
            return -1;
        by_state[in.state]++;
    }
    for (int s = 0; s < 4; s++)
        if (scope->conns && by_state[s] != st.conns_by_state[s])
            return fail(why, len, "%" PRIu64 " connections are %s, conns_by_state says %" PRIu64,
                        by_state[s], cr_conn_state_name((cr_conn_state)s), st.conns_by_state[s]);
    if (!st.buffer_events_now)
        return 0; /* no stream holds anything: no stream line to check */
    stream_walk sw = {p, why, len, 0};
    int rc = cr_ctx_dump(ctx, stream_line, &sw);
    if (sw.bad)
        return -1;
    if (rc != 0)
        return fail(why, len, "cr_ctx_dump: %s", cr_errname(rc));
    return 0;
}
