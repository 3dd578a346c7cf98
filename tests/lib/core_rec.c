/*
 * core_rec.c - rec_, the recording host of the core's Check suites: see
 * core_rec.h.
 */
#include "tests/lib/core_rec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((x) ? (x) : "-")
#define U(x) ((unsigned long long)(x))

void rec_printf(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    CHECK(n >= 0);
    if (r->len + (size_t)n + 1 > r->cap) {
        r->cap = (r->len + (size_t)n + 1) * 2;
        r->log = realloc(r->log, r->cap);
        CHECK(r->log != NULL);
    }
    va_start(ap, fmt);
    vsnprintf(r->log + r->len, r->cap - r->len, fmt, ap);
    va_end(ap);
    r->len += (size_t)n;
}

void rec_on_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    rec *r = ud;
    r->ndeliver++;
    rec_printf(r, "%llu deliver c=%llu %s/%s run=%llu seq=%llu gen=%llu flags=%u tag=%llu\n",
               U(now), U(c), S(e->user), S(e->thread), U(e->run), U(e->seq), U(e->generation),
               e->flags, U(e->tag));
}

static void on_dispatch(void *ud, uint64_t now, cr_conn_id c, const cr_dispatch *d)
{
    rec *r = ud;
    CHECK(r->nmsg < REC_IDS_MAX);
    r->msgs[r->nmsg++] = d->msg_id;
    rec_printf(r, "%llu dispatch c=%llu msg=%llu %s/%s tag=%llu\n", U(now), U(c), U(d->msg_id),
               S(d->user), S(d->thread), U(d->tag));
}

static void on_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *user,
                         const char *thread)
{
    rec *r = ud;
    CHECK(r->nreq < REC_IDS_MAX);
    r->reqs[r->nreq++] = req;
    rec_printf(r, "%llu associate req=%llu c=%llu %s/%s\n", U(now), U(req), U(c), user, thread);
}

static void on_notify(void *ud, uint64_t now, cr_conn_id c, const cr_notice *n)
{
    static const char *const kinds[] = {"SWITCHED", "SWITCH_FAILED", "REJECTED", "CLOSING"};
    rec_printf(ud, "%llu notice c=%llu %s thread=%s tag=%llu err=%s\n", U(now), U(c),
               kinds[n->kind], S(n->thread), U(n->msg_tag), cr_errname(n->error));
}

static void on_run_go(void *ud, uint64_t now, cr_run_id run)
{
    rec_printf(ud, "%llu run_go run=%llu\n", U(now), U(run));
}

static void on_close(void *ud, uint64_t now, cr_conn_id c, cr_close_reason reason)
{
    rec_printf(ud, "%llu close c=%llu reason=%s\n", U(now), U(c), cr_close_reason_name(reason));
}

static void on_report(void *ud, uint64_t now, const cr_report *p)
{
    rec *r = ud;
    r->nreport++;
    static const char *const kinds[] = {"OUTCOME", "ERROR", "INFO"};
    CHECK(p->message != NULL);
    rec_printf(r, "%llu report %s %s err=%s c=%llu run=%llu %s/%s seq=%llu tag=%llu\n", U(now),
               kinds[p->kind], p->kind == CR_REPORT_OUTCOME ? cr_outcome_name(p->outcome) : "-",
               cr_errname(p->error), U(p->conn), U(p->run), S(p->user), S(p->thread), U(p->seq),
               U(p->tag));
}

const cr_callbacks rec_callbacks = {rec_on_deliver, on_dispatch, on_associate, on_notify,
                                    on_run_go,      on_close,    on_report};

const char *rec_since(rec *r)
{
    static char empty[] = "";
    const char *s = r->log ? r->log + r->mark : empty;
    r->mark = r->len;
    return s;
}

void rec_free(rec *r)
{
    free(r->log);
}

cr_ctx *rec_new_ctx(rec *r, cr_profile profile, ...)
{
    memset(r, 0, sizeof *r);
    cr_policy p;
    ck_assert_int_eq(cr_policy_init(&p, profile), 0);
    va_list ap;
    va_start(ap, profile);
    for (const char *kv; (kv = va_arg(ap, const char *));) {
        char name[64];
        const char *eq = strchr(kv, '=');
        ck_assert_ptr_nonnull(eq);
        ck_assert_uint_lt((size_t)(eq - kv), sizeof name);
        memcpy(name, kv, (size_t)(eq - kv));
        name[eq - kv] = '\0';
        ck_assert_int_eq(cr_policy_set(&p, name, strtoull(eq + 1, NULL, 10)), 0);
    }
    va_end(ap);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &rec_callbacks, NULL, r), 0);
    return ctx;
}

int rec_dump_write(void *arg, const char *line, size_t len)
{
    rec *d = arg;
    CHECK(strlen(line) == len);
    rec_printf(d, "%s", line);
    return 0;
}

char *rec_dump(const cr_ctx *ctx)
{
    rec d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cr_ctx_dump(ctx, rec_dump_write, &d), 0);
    return d.log ? d.log : strdup("");
}

cr_message rec_message(const char *thread, uint64_t last_seq, uint64_t tag)
{
    cr_message m = {thread, last_seq, tag, "hello", 5};
    return m;
}

cr_conn_id rec_open_auth(cr_ctx *ctx, uint64_t now, const char *user)
{
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, now, &c), 0);
    ck_assert_int_eq(cr_conn_authenticate(ctx, now, c, user), 0);
    return c;
}

void rec_establish(cr_ctx *ctx, rec *r, uint64_t now, const char *user, const char *thread)
{
    cr_conn_id c = rec_open_auth(ctx, now, user);
    ck_assert_int_eq(cr_conn_switch(ctx, now, c, thread, 0), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, now, rec_last_req(r), 1), 0);
    ck_assert_int_eq(cr_conn_close(ctx, now, c, CR_CLOSE_CLIENT), 0);
}

cr_conn_state rec_state_of(const cr_ctx *ctx, cr_conn_id c)
{
    cr_conn_info info;
    ck_assert_int_eq(cr_conn_get_info(ctx, c, &info), 0);
    return info.state;
}

cr_stats rec_stats(const cr_ctx *ctx)
{
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    return s;
}

uint64_t rec_last_req(const rec *r)
{
    ck_assert_uint_gt(r->nreq, 0);
    return r->reqs[r->nreq - 1];
}
