/*
 * metrics.c - /metrics in the Prometheus text format (0.0.4) from
 * cr_ctx_get_stats and the server's own counters, and /debug/conns from
 * cr_ctx_dump.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define DEBUG_MAX (8u << 20)

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    for (;;) {
        if (b->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static void metric(buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

/* histogram writes a log2-bucketed core histogram (ns) as a Prometheus
 * histogram in seconds: le = 2^i ns for i = 10 (about 1 us) .. 36 (about
 * 69 s); bucket i of the core holds values below 2^i ns, so each
 * cumulative count is exact. */
static void histogram(buf *b, const char *name, const char *help, const cr_histogram *h)
{
    put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    int k = 0;
    for (int i = 10; i <= 36; i++) {
        for (; k <= i && k < CR_HIST_BUCKETS; k++)
            cum += h->buckets[k];
        put(b, "%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", name, (double)(UINT64_C(1) << i) / 1e9, cum);
    }
    put(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
    put(b, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name, (double)h->sum / 1e9, name, h->count);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return (uint64_t)res * 4096u;
}

int srv_metrics(srv *s, char **out, size_t *len)
{
    cr_stats st;
    cr_ctx_get_stats(s->core, &st);
    buf b = {0};
    put(&b, "# HELP ctxready_events_total Agent events by their one outcome (legacy losses are "
            "not counted: they vanish).\n# TYPE ctxready_events_total counter\n");
    for (int o = 0; o < CR_OUTCOME_COUNT; o++)
        put(&b, "ctxready_events_total{outcome=\"%s\"} %" PRIu64 "\n",
            cr_outcome_name((cr_outcome)o), st.outcomes[o]);
    metric(&b, "ctxready_events_emitted_total", "counter", "Agent events emitted.",
           st.events_emitted);
    metric(&b, "ctxready_events_undelivered", "gauge", "Buffered events not delivered yet.",
           st.events_buffered_now);
    metric(&b, "ctxready_buffer_events", "gauge", "Events held for replay, delivered or not.",
           st.buffer_events_now);
    metric(&b, "ctxready_buffer_bytes", "gauge", "Payload bytes held for replay.",
           st.buffer_bytes_now);
    metric(&b, "ctxready_messages_received_total", "counter", "Client messages received.",
           st.messages_received);
    metric(&b, "ctxready_messages_dispatched_total", "counter", "Messages dispatched.",
           st.messages_dispatched);
    metric(&b, "ctxready_messages_rejected_total", "counter", "Messages rejected.",
           st.messages_rejected);
    metric(&b, "ctxready_messages_queued", "gauge", "Messages waiting for context (F5).",
           st.messages_queued_now);
    metric(&b, "ctxready_messages_preauth", "gauge", "Messages cached before auth (F6).",
           st.messages_preauth_now);
    metric(&b, "ctxready_assoc_requested_total", "counter", "Thread associations requested.",
           st.assoc_requested);
    metric(&b, "ctxready_assoc_failed_total", "counter", "Thread associations that failed.",
           st.assoc_failed);
    metric(&b, "ctxready_assoc_retried_total", "counter", "Thread associations retried (F8).",
           st.assoc_retried);
    metric(&b, "ctxready_notices_sent_total", "counter", "Notices sent to clients.",
           st.notices_sent);
    metric(&b, "ctxready_errors_reported_total", "counter", "Errors reported to the host.",
           st.errors_reported);
    put(&b, "# HELP ctxready_connections Connections by state.\n"
            "# TYPE ctxready_connections gauge\n");
    for (int k = 0; k < 3; k++) {
        char lower[32];
        const char *n = cr_conn_state_name((cr_conn_state)k);
        size_t i = 0;
        for (; n[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
        lower[i] = '\0';
        put(&b, "ctxready_connections{state=\"%s\"} %" PRIu64 "\n", lower, st.conns_by_state[k]);
    }
    metric(&b, "ctxready_connections_closed_total", "counter", "Connections closed.",
           st.conns_by_state[CR_CONN_CLOSED]);
    metric(&b, "ctxready_connections_pending_timeout_total", "counter",
           "Connections closed by the pending deadline.", st.conns_closed_pending_timeout);
    metric(&b, "ctxready_runs_started_total", "counter", "Agent runs started.", st.runs_started);
    metric(&b, "ctxready_runs_context_lost_total", "counter",
           "Runs that lost their thread context.", st.runs_context_lost);
    metric(&b, "ctxready_core_bytes", "gauge", "Bytes the core holds.", st.bytes_in_use);
    metric(&b, "ctxready_core_bytes_peak", "gauge", "Most bytes the core held.", st.bytes_peak);
    histogram(&b, "ctxready_connect_to_ready_seconds", "Connection open to first READY.",
              &st.connect_to_ready);
    histogram(&b, "ctxready_buffer_delay_seconds", "Emission to delivery from the buffer.",
              &st.buffer_delay);

    const srv_counters *n = &s->n;
    metric(&b, "ctxready_server_frames_received_total", "counter", "WebSocket messages received.",
           n->frames_in);
    metric(&b, "ctxready_server_frames_sent_total", "counter", "WebSocket messages sent.",
           n->frames_out);
    metric(&b, "ctxready_server_bytes_received_total", "counter", "Bytes of messages received.",
           n->bytes_in);
    metric(&b, "ctxready_server_bytes_sent_total", "counter", "Bytes of messages sent.",
           n->bytes_out);
    put(&b, "# HELP ctxready_server_malformed_frames_total Frames answered with an error "
            "notice, by reason.\n# TYPE ctxready_server_malformed_frames_total counter\n");
    for (int r = 0; r < SRV_BAD__N; r++)
        put(&b, "ctxready_server_malformed_frames_total{reason=\"%s\"} %" PRIu64 "\n",
            srv_bad_name((srv_bad)r), n->malformed[r]);
    uint64_t qbytes = 0;
    for (size_t i = 0; i < s->conns.cap; i++)
        if (s->conns.keys[i])
            qbytes += ((srv_conn *)s->conns.vals[i])->q.bytes;
    metric(&b, "ctxready_server_connections", "gauge", "Client connections open.", n->conns_now);
    metric(&b, "ctxready_server_control_connections", "gauge", "Control connections open.",
           n->controls_now);
    metric(&b, "ctxready_server_connections_accepted_total", "counter",
           "Client connections accepted.", n->conns_accepted);
    metric(&b, "ctxready_server_connections_refused_total", "counter",
           "Upgrades refused (connection bound, shutdown).", n->conns_refused);
    metric(&b, "ctxready_server_slow_readers_total", "counter",
           "Connections closed because their send queue overflowed.", n->slow_readers);
    metric(&b, "ctxready_server_control_overflows_total", "counter",
           "Control connections closed because their queue overflowed.", n->control_overflows);
    metric(&b, "ctxready_server_send_queue_bytes", "gauge", "Bytes waiting in send queues.",
           qbytes);
    metric(&b, "ctxready_server_events_unsent_total", "counter",
           "Event frames discarded with their connection before being written.", n->events_unsent);
    metric(&b, "ctxready_server_duplicate_messages_total", "counter",
           "Resends of answered messages (acknowledged again).", n->duplicates);
    metric(&b, "ctxready_server_parked_messages_total", "counter",
           "Resends parked while the core held the first copy.", n->parked);
    metric(&b, "ctxready_server_http_messages_total", "counter", "POST /message taken.",
           n->http_messages);
    metric(&b, "ctxready_server_auth_failed_total", "counter", "Tokens refused.", n->auth_failed);
    metric(&b, "ctxready_server_runs_refused_total", "counter", "Runs not started (--max-runs).",
           n->runs_refused);
    metric(&b, "ctxready_server_threads", "gauge", "Threads the thread service created.",
           s->threads.len);
    metric(&b, "ctxready_server_threads_refused_total", "counter",
           "New threads not created (--max-threads).", n->threads_refused);
    metric(&b, "ctxready_server_runs_active", "gauge", "Agent runs in progress.", s->nruns);
    metric(&b, "ctxready_server_timer_queue", "gauge", "Items on the timer queue.", s->nheap);
    metric(&b, "process_resident_memory_bytes", "gauge", "Resident memory of the server.",
           rss_bytes());
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

static int dump_line(void *arg, const char *line, size_t len)
{
    buf *b = arg;
    /* The core names every id it ever gave out, closed ones as
     * "conn=<id> state=CLOSED": an operator wants the live ones. */
    if (len > 13 && !strncmp(line, "conn=", 5) && !strcmp(line + len - 13, "state=CLOSED\n"))
        return 0;
    if (b->len + len > DEBUG_MAX) {
        put(b, "... (truncated at %u bytes)\n", DEBUG_MAX);
        return -1;
    }
    put(b, "%.*s", (int)len, line);
    return b->oom ? -1 : 0;
}

int srv_debug_conns(srv *s, char **out, size_t *len)
{
    buf b = {0};
    put(&b, "# cr_ctx_dump: one line per open connection, then per stream with buffered "
            "events\n");
    int rc = cr_ctx_dump(s->core, dump_line, &b);
    if (b.oom || rc == CR_ENOMEM) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
