/*
 * account.c - sim_account_check: cr_stats against the world's own counts.
 */
#include "sim/account.h"

#include <inttypes.h>
#include <stdio.h>

/* disagree writes the first disagreement and returns 1. */
static int disagree(char *why, size_t len, const char *what, uint64_t core, uint64_t world,
                    const char *rel)
{
    if (len)
        snprintf(why, len, "%s %" PRIu64 ", %s %" PRIu64, what, core, rel, world);
    return 1;
}

#define SAME(what, core, world)                                                                    \
    do {                                                                                           \
        if ((core) != (world))                                                                     \
            return disagree(why, len, what, core, world, "the world saw");                         \
    } while (0)

#define AT_MOST(what, core, bound)                                                                 \
    do {                                                                                           \
        if ((core) > (bound))                                                                      \
            return disagree(why, len, what, core, bound, "over its bound");                        \
    } while (0)

/* sat_mul: a * b, saturating. */
static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

int sim_account_check(const sim_account *a, const cr_stats *st, const cr_policy *p, char *why,
                      size_t len)
{
    if (len)
        why[0] = '\0';
    SAME("events_emitted", st->events_emitted, a->emitted);
    uint64_t sum = 0;
    static const char *const names[CR_OUTCOME_COUNT] = {
#define CR_OUTCOME_STAT(name, str) "outcomes[" str "]",
        CR_OUTCOME_MAP(CR_OUTCOME_STAT)
#undef CR_OUTCOME_STAT
    };
    for (int o = 0; o < CR_OUTCOME_COUNT; o++) {
        sum += st->outcomes[o];
        int counted = p->report_undeliverable || o == CR_OUTCOME_DELIVERED ||
                      o == CR_OUTCOME_BUFFERED_DELIVERED || o == CR_OUTCOME_DROPPED_FULL;
        SAME(names[o], st->outcomes[o], counted ? a->out[o] : 0);
    }
    if (p->report_undeliverable) {
        SAME("events_buffered_now", st->events_buffered_now, a->pending);
        SAME("outcomes + events_buffered_now", sum + st->events_buffered_now, st->events_emitted);
    } else {
        AT_MOST("outcomes", sum, st->events_emitted);
    }
    SAME("messages_received", st->messages_received, a->received);
    SAME("messages_dispatched", st->messages_dispatched, a->dispatched);
    SAME("messages_rejected", st->messages_rejected, a->rejected);
    SAME("dispatched + rejected + queued_now + preauth_now",
         st->messages_dispatched + st->messages_rejected + st->messages_queued_now +
             st->messages_preauth_now,
         st->messages_received);
    SAME("notices_sent", st->notices_sent, a->notices);
    SAME("runs_started", st->runs_started, a->runs_started);
    SAME("conns_closed_pending_timeout", st->conns_closed_pending_timeout, a->closed_by_core);
    SAME("open connections", st->conns_by_state[0] + st->conns_by_state[1] + st->conns_by_state[2],
         a->conns_open);
    SAME("closed connections", st->conns_by_state[3], a->conns_opened - a->conns_open);
    /* Bounds. */
    uint64_t streams = a->streams;
    if (p->buffer_until_ready) {
        AT_MOST("buffer_events_now", st->buffer_events_now, sat_mul(p->event_buffer_max, streams));
        AT_MOST("buffer_bytes_now", st->buffer_bytes_now,
                sat_mul(p->event_buffer_max_bytes, streams));
    } else {
        AT_MOST("buffer_events_now (buffer_until_ready off)", st->buffer_events_now, 0);
    }
    AT_MOST("events_buffered_now", st->events_buffered_now, st->buffer_events_now);
    AT_MOST("messages_queued_now", st->messages_queued_now,
            p->queue_until_context ? sat_mul(p->pending_max, a->conns_open) : 0);
    AT_MOST("messages_preauth_now", st->messages_preauth_now,
            p->cache_preauth ? sat_mul(p->preauth_max, a->conns_open) : 0);
    AT_MOST("bytes_in_use", st->bytes_in_use, st->bytes_peak);
    if (st->bytes_in_use < st->buffer_bytes_now)
        return disagree(why, len, "bytes_in_use", st->bytes_in_use, st->buffer_bytes_now,
                        "below the buffered payload");
    return 0;
}
