/*
 * core_rec.h - rec_, the recording host of the core's Check suites
 * (test_core_conn, _route, _metrics, _timer, _alloc).
 *
 * Every libctxready callback appends one text line to a log, so a test can
 * assert exact output sequences with ck_assert_str_eq(rec_since(&r), ...).
 * Association request ids and dispatched message ids are also kept in
 * arrays, in callback order.  Virtual time only: nothing here reads a clock.
 *
 * The helpers fail the running Check test (ck_assert / CHECK) on any
 * unexpected core error, so they may only be called from inside a test.
 */
#ifndef TESTS_LIB_CORE_REC_H
#define TESTS_LIB_CORE_REC_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

/* CHECK is ck_assert without Check's per-call bookkeeping (a file write
 * per assertion): for loops and callbacks. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                    \
    } while (0)

/* How many association requests / dispatched messages a rec remembers. */
#define REC_IDS_MAX 4096

typedef struct rec {
    char *log; /* owned, NUL-terminated (NULL before the first line) */
    size_t len, cap, mark;
    uint64_t reqs[REC_IDS_MAX]; /* associate req ids, in order */
    size_t nreq;
    uint64_t msgs[REC_IDS_MAX]; /* dispatched msg ids, in order */
    size_t nmsg;
    size_t ndeliver, nreport;
} rec;

/* rec_callbacks: the recording callbacks; their user data is a rec *. */
extern const cr_callbacks rec_callbacks;

/* rec_printf appends printf-style text to r's log. */
void rec_printf(rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* rec_on_deliver is rec_callbacks.deliver (for callbacks that wrap it). */
void rec_on_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e);

/* rec_since returns the log written since the last call (owned by r, valid
 * until the next output). */
const char *rec_since(rec *r);

/* rec_free frees r's log. */
void rec_free(rec *r);

/* rec_new_ctx zeroes *r and returns a context on `profile` with knob
 * overrides "name=value" (NULL terminated), recording into *r. */
cr_ctx *rec_new_ctx(rec *r, cr_profile profile, ...);

/* rec_dump_write is a cr_ctx_dump writer appending each line to the rec *arg. */
int rec_dump_write(void *arg, const char *line, size_t len);

/* rec_dump returns cr_ctx_dump of ctx as a malloc'd string (caller frees). */
char *rec_dump(const cr_ctx *ctx);

/* rec_message returns a message naming `thread` with the 5-byte payload "hello". */
cr_message rec_message(const char *thread, uint64_t last_seq, uint64_t tag);

/* rec_open_auth opens a connection at `now` and authenticates it as `user`. */
cr_conn_id rec_open_auth(cr_ctx *ctx, uint64_t now, const char *user);

/* rec_establish makes (user, thread) an established stream at `now` with
 * nobody on it: a connection opens, authenticates, binds to it (the
 * association answered yes) and closes, so that what is emitted next is
 * buffered for a later binding. */
void rec_establish(cr_ctx *ctx, rec *r, uint64_t now, const char *user, const char *thread);

/* rec_state_of returns the state of connection c. */
cr_conn_state rec_state_of(const cr_ctx *ctx, cr_conn_id c);

/* rec_stats returns cr_ctx_get_stats of ctx. */
cr_stats rec_stats(const cr_ctx *ctx);

/* rec_last_req returns the latest association request id (there must be one). */
uint64_t rec_last_req(const rec *r);

#endif /* TESTS_LIB_CORE_REC_H */
