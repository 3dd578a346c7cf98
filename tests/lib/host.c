/*
 * host.c - th_, the scripted test host (see host.h).
 */
#include "tests/lib/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zero bytes to use as event and message payloads. */
static const unsigned char th_zeros[65536];

/* th_grow makes room for one more element of size `size` in (*v, *n, *cap);
 * aborts on allocation failure.  Amortised O(1). */
static void *th_grow(void *v, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *nv = realloc(v, ncap * size);
        if (!nv) {
            fprintf(stderr, "th: out of memory\n");
            abort();
        }
        v = nv;
        *cap = ncap;
    }
    return v;
}

/* TH_PUSH appends a zeroed record to vec and evaluates to a pointer to it. */
#define TH_PUSH(vec)                                                                               \
    ((vec).v = th_grow((vec).v, &(vec).n, &(vec).cap, sizeof *(vec).v),                            \
     memset(&(vec).v[(vec).n], 0, sizeof *(vec).v), &(vec).v[(vec).n++])

static void th_copy(char dst[TH_STR], const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, TH_STR, "%s", src);
}

/* ---- recording callbacks ------------------------------------------------ */

static void on_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    th_host *h = ud;
    th_delivery *d = TH_PUSH(h->deliveries);
    d->ord = h->ord++;
    d->at = now;
    d->conn = conn;
    th_copy(d->user, ev->user);
    th_copy(d->thread, ev->thread);
    d->run = ev->run;
    d->seq = ev->seq;
    d->gen = ev->generation;
    d->type = ev->type;
    d->flags = ev->flags;
    d->tag = ev->tag;
    d->emitted_at = ev->emitted_at;
    d->payload_len = ev->payload_len;
}

static void on_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *di)
{
    th_host *h = ud;
    th_dispatch *d = TH_PUSH(h->dispatches);
    d->ord = h->ord++;
    d->at = now;
    d->conn = conn;
    d->msg_id = di->msg_id;
    th_copy(d->user, di->user);
    th_copy(d->thread, di->thread);
    d->tag = di->tag;
    d->payload_len = di->payload_len;
}

static void on_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    th_host *h = ud;
    th_assoc *a = TH_PUSH(h->assocs);
    a->ord = h->ord++;
    a->at = now;
    a->req = req;
    a->conn = conn;
    th_copy(a->user, user);
    th_copy(a->thread, thread);
}

static void on_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    th_host *h = ud;
    th_notice *r = TH_PUSH(h->notices);
    r->ord = h->ord++;
    r->at = now;
    r->conn = conn;
    r->kind = n->kind;
    th_copy(r->thread, n->thread);
    r->msg_tag = n->msg_tag;
    r->error = n->error;
    r->reason = n->reason;
}

static void on_run_go(void *ud, uint64_t now, cr_run_id run)
{
    th_host *h = ud;
    th_go *g = TH_PUSH(h->gos);
    g->ord = h->ord++;
    g->at = now;
    g->run = run;
}

static void on_close(void *ud, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    th_host *h = ud;
    th_close *c = TH_PUSH(h->closes);
    c->ord = h->ord++;
    c->at = now;
    c->conn = conn;
    c->reason = reason;
}

static void on_report(void *ud, uint64_t now, const cr_report *rep)
{
    th_host *h = ud;
    th_report *r = TH_PUSH(h->reports);
    r->ord = h->ord++;
    r->at = now;
    r->kind = rep->kind;
    r->error = rep->error;
    r->outcome = rep->outcome;
    r->conn = rep->conn;
    r->run = rep->run;
    th_copy(r->user, rep->user);
    th_copy(r->thread, rep->thread);
    r->seq = rep->seq;
    r->tag = rep->tag;
}

/* ---- lifecycle and clock ------------------------------------------------ */

int th_init(th_host *h, const cr_policy *p)
{
    static const cr_callbacks cb = {
        .deliver = on_deliver,
        .dispatch = on_dispatch,
        .associate = on_associate,
        .notify = on_notify,
        .run_go = on_run_go,
        .close = on_close,
        .report = on_report,
    };
    memset(h, 0, sizeof *h);
    h->policy = *p;
    return cr_ctx_new(&h->ctx, p, &cb, NULL, h);
}

int th_init_profile(th_host *h, cr_profile profile)
{
    cr_policy p;
    int rc = cr_policy_init(&p, profile);
    if (rc)
        return rc;
    return th_init(h, &p);
}

void th_fini(th_host *h)
{
    cr_ctx_del(h->ctx);
    free(h->deliveries.v);
    free(h->dispatches.v);
    free(h->assocs.v);
    free(h->notices.v);
    free(h->gos.v);
    free(h->closes.v);
    free(h->reports.v);
    free(h->conn_users.v);
    memset(h, 0, sizeof *h);
}

int th_advance_to(th_host *h, uint64_t t)
{
    unsigned same = 0;
    for (;;) {
        uint64_t d = cr_ctx_get_expiry(h->ctx);
        if (d == CR_TIME_NEVER || d > t)
            break;
        if (d < h->now)
            d = h->now; /* overdue: handle it now */
        same = d == h->now ? same + 1 : 0;
        if (same > 1000)
            return TH_ESTUCK;
        h->now = d;
        int rc = cr_ctx_handle_expiry(h->ctx, d);
        if (rc)
            return rc;
    }
    if (t > h->now)
        h->now = t;
    return 0;
}

int th_advance(th_host *h, uint64_t ns)
{
    return th_advance_to(h, h->now + ns);
}

/* ---- wrappers ------------------------------------------------------------ */

int th_thread(th_host *h, const char *user, const char *thread)
{
    return cr_thread_add(h->ctx, h->now, user, thread);
}

int th_open(th_host *h, cr_conn_id *out)
{
    return cr_conn_open(h->ctx, h->now, out);
}

int th_auth(th_host *h, cr_conn_id conn, const char *user)
{
    int rc = cr_conn_authenticate(h->ctx, h->now, conn, user);
    if (rc == 0) {
        th_conn_owner *cu = TH_PUSH(h->conn_users);
        cu->conn = conn;
        th_copy(cu->user, user);
    }
    return rc;
}

int th_msg(th_host *h, cr_conn_id conn, const char *thread, uint64_t last_seq, uint64_t tag,
           uint64_t *msg_id)
{
    cr_message m = {
        .thread = thread, .last_seq = last_seq, .tag = tag, .payload = "msg", .payload_len = 3};
    return cr_conn_message(h->ctx, h->now, conn, &m, msg_id);
}

int th_switch(th_host *h, cr_conn_id conn, const char *thread, uint64_t last_seq)
{
    return cr_conn_switch(h->ctx, h->now, conn, thread, last_seq);
}

int th_close_conn(th_host *h, cr_conn_id conn, cr_close_reason reason)
{
    return cr_conn_close(h->ctx, h->now, conn, reason);
}

int th_run_for(th_host *h, const char *user, const char *thread, cr_run_id *out)
{
    return cr_run_start_for(h->ctx, h->now, user, thread, out);
}

int th_emit(th_host *h, cr_run_id run, uint64_t tag, size_t payload_len, cr_outcome *outcome)
{
    if (payload_len > sizeof th_zeros)
        return CR_EINVAL;
    cr_event_in ev = {.type = (uint32_t)(tag & 0xff),
                      .tag = tag,
                      .payload = th_zeros,
                      .payload_len = payload_len};
    return cr_run_emit(h->ctx, h->now, run, &ev, NULL, outcome);
}

/* ---- associations and runs ------------------------------------------------ */

int th_assoc_answer(th_host *h, uint64_t req, int ok)
{
    int rc = cr_assoc_complete(h->ctx, h->now, req, ok);
    for (size_t i = 0; i < h->assocs.n; i++)
        if (h->assocs.v[i].req == req)
            h->assocs.v[i].answered = 1;
    return rc;
}

th_assoc *th_last_assoc(th_host *h, cr_conn_id conn)
{
    for (size_t i = h->assocs.n; i-- > 0;)
        if (conn == 0 || h->assocs.v[i].conn == conn)
            return &h->assocs.v[i];
    return NULL;
}

int th_answer_last(th_host *h, cr_conn_id conn, int ok)
{
    th_assoc *a = th_last_assoc(h, conn);
    if (!a)
        return CR_ENOTFOUND;
    return th_assoc_answer(h, a->req, ok);
}

int th_answer_open(th_host *h, int ok, size_t *count)
{
    size_t k = 0;
    /* Answers may add requests (retries come through timers, not here), so
     * walk by index and re-read n each time. */
    for (size_t i = 0; i < h->assocs.n; i++) {
        if (h->assocs.v[i].answered)
            continue;
        int rc = th_assoc_answer(h, h->assocs.v[i].req, ok);
        k++;
        if (rc) {
            if (count)
                *count = k;
            return rc;
        }
    }
    if (count)
        *count = k;
    return 0;
}

int th_start_dispatched(th_host *h)
{
    for (size_t i = 0; i < h->dispatches.n; i++) {
        if (h->dispatches.v[i].run)
            continue;
        cr_run_id run = 0;
        int rc = cr_run_start(h->ctx, h->now, h->dispatches.v[i].msg_id, &run);
        if (rc)
            return rc;
        h->dispatches.v[i].run = run;
    }
    return 0;
}

int th_agent(th_host *h, unsigned n)
{
    for (size_t i = 0; i < h->gos.n; i++) {
        if (h->gos.v[i].driven)
            continue;
        h->gos.v[i].driven = 1;
        cr_run_id run = h->gos.v[i].run;
        for (unsigned k = 1; k <= n; k++) {
            cr_event_in ev = {
                .type = k - 1, .tag = run * 1000 + k, .payload = th_zeros, .payload_len = 8};
            int rc = cr_run_emit(h->ctx, h->now, run, &ev, NULL, NULL);
            if (rc && rc != CR_EFULL)
                return rc;
        }
        int rc = cr_run_end(h->ctx, h->now, run);
        if (rc)
            return rc;
    }
    return 0;
}

int th_went(const th_host *h, cr_run_id run, uint64_t *at)
{
    for (size_t i = 0; i < h->gos.n; i++)
        if (h->gos.v[i].run == run) {
            if (at)
                *at = h->gos.v[i].at;
            return 1;
        }
    return 0;
}

const char *th_conn_user(const th_host *h, cr_conn_id conn)
{
    for (size_t i = 0; i < h->conn_users.n; i++)
        if (h->conn_users.v[i].conn == conn)
            return h->conn_users.v[i].user;
    return NULL;
}

/* ---- queries ---------------------------------------------------------------- */

size_t th_count_deliveries(const th_host *h, cr_conn_id conn, const char *thread,
                           uint32_t flags_all, uint32_t flags_none)
{
    size_t k = 0;
    for (size_t i = 0; i < h->deliveries.n; i++) {
        const th_delivery *d = &h->deliveries.v[i];
        if (conn && d->conn != conn)
            continue;
        if (thread && strcmp(d->thread, thread) != 0)
            continue;
        if ((d->flags & flags_all) != flags_all || (d->flags & flags_none))
            continue;
        k++;
    }
    return k;
}

size_t th_count_run_deliveries(const th_host *h, cr_run_id run, cr_conn_id conn)
{
    size_t k = 0;
    for (size_t i = 0; i < h->deliveries.n; i++)
        if (h->deliveries.v[i].run == run && (!conn || h->deliveries.v[i].conn == conn))
            k++;
    return k;
}

size_t th_count_notices(const th_host *h, cr_conn_id conn, cr_notice_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < h->notices.n; i++)
        if (h->notices.v[i].kind == kind && (!conn || h->notices.v[i].conn == conn))
            k++;
    return k;
}

size_t th_count_reports(const th_host *h, cr_report_kind kind, cr_outcome outcome, cr_conn_id conn)
{
    size_t k = 0;
    for (size_t i = 0; i < h->reports.n; i++) {
        const th_report *r = &h->reports.v[i];
        if (r->kind != kind || (conn && r->conn != conn))
            continue;
        if (kind == CR_REPORT_OUTCOME && outcome != CR_OUTCOME_COUNT && r->outcome != outcome)
            continue;
        k++;
    }
    return k;
}

size_t th_count_assocs(const th_host *h, cr_conn_id conn)
{
    size_t k = 0;
    for (size_t i = 0; i < h->assocs.n; i++)
        if (!conn || h->assocs.v[i].conn == conn)
            k++;
    return k;
}

cr_stats th_stats(const th_host *h)
{
    cr_stats s;
    cr_ctx_get_stats(h->ctx, &s);
    return s;
}

uint64_t th_outcomes_total(const cr_stats *s)
{
    uint64_t t = 0;
    for (int i = 0; i < CR_OUTCOME_COUNT; i++)
        t += s->outcomes[i];
    return t;
}
