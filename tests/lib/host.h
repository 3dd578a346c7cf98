/*
 * host.h - th_, a deterministic scripted host for tests of libctxready.
 *
 * A th_host owns one cr_ctx and a virtual clock.  Every callback the core
 * makes is recorded, in order, in an array per kind (deliveries, dispatches,
 * association requests, notices, run_go, closes, reports); every record
 * carries `ord`, a host-wide ordinal, so a test can say "this delivery came
 * after that notice".  Time only moves when the test calls th_advance(),
 * which also fires every core deadline passed, in deadline order, at its
 * own time.  Nothing here reads the wall clock or depends on addresses.
 *
 * Strings in records are copies; "" stands for NULL (identifiers are never
 * empty).  On allocation failure of a record array the host aborts: a test
 * host has nothing sensible to do then.
 */
#ifndef TESTS_LIB_HOST_H
#define TESTS_LIB_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

#define TH_STR (CR_ID_MAX + 1)

/* th_advance could not make progress: the core kept reporting a deadline
 * at or before `now` after handling it (a livelock in the core). */
#define TH_ESTUCK (-100)

typedef struct th_delivery {
    uint64_t ord, at;
    cr_conn_id conn;
    char user[TH_STR], thread[TH_STR];
    cr_run_id run;
    uint64_t seq, gen;
    uint32_t type, flags;
    uint64_t tag, emitted_at;
    size_t payload_len;
} th_delivery;

typedef struct th_dispatch {
    uint64_t ord, at;
    cr_conn_id conn;
    uint64_t msg_id;
    char user[TH_STR], thread[TH_STR]; /* "" : dispatched without it */
    uint64_t tag;
    size_t payload_len;
    cr_run_id run; /* set by th_start_dispatched(), 0 before */
} th_dispatch;

typedef struct th_assoc {
    uint64_t ord, at;
    uint64_t req;
    cr_conn_id conn;
    char user[TH_STR], thread[TH_STR];
    int answered; /* set by th_assoc_answer() */
} th_assoc;

typedef struct th_notice {
    uint64_t ord, at;
    cr_conn_id conn;
    cr_notice_kind kind;
    char thread[TH_STR];
    uint64_t msg_tag;
    int error;
    cr_close_reason reason;
} th_notice;

typedef struct th_go {
    uint64_t ord, at;
    cr_run_id run;
    int driven; /* th_agent() emitted its events */
} th_go;

typedef struct th_close {
    uint64_t ord, at;
    cr_conn_id conn;
    cr_close_reason reason;
} th_close;

typedef struct th_report {
    uint64_t ord, at;
    cr_report_kind kind;
    int error;
    cr_outcome outcome;
    cr_conn_id conn;
    cr_run_id run;
    char user[TH_STR], thread[TH_STR];
    uint64_t seq, tag;
} th_report;

/* One growable array per record kind: v[0..n) in callback order. */
#define TH_VEC(type)                                                                               \
    struct {                                                                                       \
        type *v; /* owned */                                                                       \
        size_t n, cap;                                                                             \
    }

typedef struct th_conn_owner {
    cr_conn_id conn;
    char user[TH_STR];
} th_conn_owner;

typedef struct th_host {
    cr_ctx *ctx; /* owned */
    cr_policy policy;
    uint64_t now; /* virtual ns */
    uint64_t ord; /* next record ordinal */
    TH_VEC(th_delivery) deliveries;
    TH_VEC(th_dispatch) dispatches;
    TH_VEC(th_assoc) assocs;
    TH_VEC(th_notice) notices;
    TH_VEC(th_go) gos;
    TH_VEC(th_close) closes;
    TH_VEC(th_report) reports;
    TH_VEC(th_conn_owner) conn_users; /* from th_auth(), for isolation checks */
} th_host;

/* th_init creates the context with policy *p and recording callbacks;
 * now = 0.  Returns 0 or the cr_ctx_new error. */
int th_init(th_host *h, const cr_policy *p);

/* th_init_profile is th_init with a named profile's policy. */
int th_init_profile(th_host *h, cr_profile profile);

/* th_fini frees the context and the records. */
void th_fini(th_host *h);

/* th_advance moves the clock forward by ns, calling cr_ctx_handle_expiry at
 * each core deadline passed (<= the target), in order, at that deadline's
 * time.  Returns 0, a CR_E* code of the core, or TH_ESTUCK.  O(k) calls for
 * k deadlines passed. */
int th_advance(th_host *h, uint64_t ns);

/* th_advance_to is th_advance to the absolute time t (>= now). */
int th_advance_to(th_host *h, uint64_t t);

/* Thin wrappers over the core calls, at the host's `now`; each returns
 * the core's answer.  th_auth also remembers conn's user (th_conn_user). */
/* th_thread calls cr_thread_add. */
int th_thread(th_host *h, const char *user, const char *thread);
/* th_open calls cr_conn_open. */
int th_open(th_host *h, cr_conn_id *out);
/* th_auth calls cr_conn_authenticate. */
int th_auth(th_host *h, cr_conn_id conn, const char *user);
/* th_msg sends a 3-byte message naming `thread` (NULL: none). */
int th_msg(th_host *h, cr_conn_id conn, const char *thread, uint64_t last_seq, uint64_t tag,
           uint64_t *msg_id);
/* th_switch calls cr_conn_switch. */
int th_switch(th_host *h, cr_conn_id conn, const char *thread, uint64_t last_seq);
/* th_close_conn calls cr_conn_close. */
int th_close_conn(th_host *h, cr_conn_id conn, cr_close_reason reason);
/* th_run_for calls cr_run_start_for. */
int th_run_for(th_host *h, const char *user, const char *thread, cr_run_id *out);
/* th_emit emits an event of payload_len zero bytes (<= 65536, else
 * CR_EINVAL) with `tag` (type = tag & 0xff). */
int th_emit(th_host *h, cr_run_id run, uint64_t tag, size_t payload_len, cr_outcome *outcome);

/* th_assoc_answer answers association request `req` (cr_assoc_complete). */
int th_assoc_answer(th_host *h, uint64_t req, int ok);

/* th_last_assoc returns the latest association request made for `conn`
 * (conn 0: for any connection), NULL if none. */
th_assoc *th_last_assoc(th_host *h, cr_conn_id conn);

/* th_answer_last answers the latest association request for `conn`.
 * Returns the core's answer, or CR_ENOTFOUND if there was none. */
int th_answer_last(th_host *h, cr_conn_id conn, int ok);

/* th_answer_open answers every unanswered association request, in request
 * order, with `ok`.  Returns 0 or the first core error.  *count (may be
 * NULL) receives how many were answered. */
int th_answer_open(th_host *h, int ok, size_t *count);

/* th_start_dispatched calls cr_run_start for every dispatched message not
 * started yet, in dispatch order, and records the run in the dispatch.
 * Returns 0 or the first core error. */
int th_start_dispatched(th_host *h);

/* th_agent plays the agent runtime: for every run that got run_go and was
 * not driven yet, in run_go order, it emits n events at `now` (tag =
 * run * 1000 + i for i = 1..n, type = i - 1, 8-byte payload), then ends the
 * run.  Returns 0 or the first core error other than CR_EFULL (a dropped
 * event is a counted outcome, not a host failure). */
int th_agent(th_host *h, unsigned n);

/* th_went: has run_go been called for `run`?  *at (may be NULL) receives
 * its time.  Returns 1 or 0. */
int th_went(const th_host *h, cr_run_id run, uint64_t *at);

/* th_conn_user returns the user th_auth gave `conn`, NULL if none. */
const char *th_conn_user(const th_host *h, cr_conn_id conn);

/* Counting queries; O(records). */
/* deliveries to conn (0: any) of thread (NULL: any) whose flags include
 * every bit of `flags_all` and none of `flags_none`. */
size_t th_count_deliveries(const th_host *h, cr_conn_id conn, const char *thread,
                           uint32_t flags_all, uint32_t flags_none);
/* deliveries of run `run` to conn (0: any). */
size_t th_count_run_deliveries(const th_host *h, cr_run_id run, cr_conn_id conn);
/* notices of `kind` to conn (0: any). */
size_t th_count_notices(const th_host *h, cr_conn_id conn, cr_notice_kind kind);
/* reports of `kind`; for CR_REPORT_OUTCOME only those with `outcome`
 * (CR_OUTCOME_COUNT: any).  conn 0: any connection. */
size_t th_count_reports(const th_host *h, cr_report_kind kind, cr_outcome outcome, cr_conn_id conn);
/* association requests for conn (0: any). */
size_t th_count_assocs(const th_host *h, cr_conn_id conn);

/* th_stats returns cr_ctx_get_stats. */
cr_stats th_stats(const th_host *h);

/* th_outcomes_total sums stats.outcomes[]. */
uint64_t th_outcomes_total(const cr_stats *s);

#endif /* TESTS_LIB_HOST_H */
