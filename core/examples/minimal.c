/* minimal.c - a complete embedding of libctxready: one connection, one
 * message, one agent run of three events, delivered once the thread is bound.
 * Build: cc -Wall -Wextra -Werror minimal.c $(pkg-config --cflags --libs ctxready) */
#include <stdio.h>
#include <string.h>
#include "ctxready.h"
struct app { /* callbacks must not call into the core: they leave work for the loop */
    uint64_t assoc_req, msg_id, run; /* 0: none */
};
static void on_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    (void)now, (void)conn, (void)user, (void)thread;
    ((struct app *)ud)->assoc_req = req; /* persist "conn is on thread", answer later */
}
static void on_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    (void)now, (void)conn;
    ((struct app *)ud)->msg_id = d->msg_id; /* a message, with its (user, thread) */
}
static void on_run_go(void *ud, uint64_t now, cr_run_id run)
{
    (void)now;
    ((struct app *)ud)->run = run; /* the agent may execute */
}
static void on_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    (void)ud, (void)now;
    printf("conn %llu <- %s/%s seq %llu: %.*s\n", (unsigned long long)conn, ev->user, ev->thread,
           (unsigned long long)ev->seq, (int)ev->payload_len, (const char *)ev->payload);
}
static int readme_example(void)
{
    static const char *steps[] = {"agent_started", "tool_executing", "agent_completed"};
    cr_callbacks cb = {.associate = on_associate,
                       .dispatch = on_dispatch,
                       .run_go = on_run_go,
                       .deliver = on_deliver};
    struct app app = {0};
    cr_policy policy;
    cr_ctx *ctx;
    cr_conn_id conn;
    cr_run_id run;
    uint64_t now = 0; /* the host's monotonic clock, in ns */
    if (cr_policy_init(&policy, CR_PROFILE_FIXED) || cr_ctx_new(&ctx, &policy, &cb, NULL, &app))
        return 1;
    cr_thread_add(ctx, now, "alice", "t1"); /* the thread service: t1 is alice's */
    cr_conn_open(ctx, now, &conn);          /* a WebSocket is accepted: no context yet */
    cr_conn_authenticate(ctx, now, conn, "alice");
    cr_message msg = {.thread = "t1", .payload = "hello", .payload_len = 5};
    cr_conn_message(ctx, now, conn, &msg, NULL); /* queued until t1 is bound */
    for (; app.assoc_req || app.msg_id || app.run; now += CR_NS_PER_MS) { /* event loop */
        struct app work = app; /* this turn's work; the callbacks note the next turn's */
        app = (struct app){0};
        cr_ctx_handle_expiry(ctx, now); /* timers due: retries, grace periods, TTLs */
        if (work.assoc_req)             /* the thread service answers: done */
            cr_assoc_complete(ctx, now, work.assoc_req, 1);
        if (work.msg_id) /* the application starts the message's agent run */
            cr_run_start(ctx, now, work.msg_id, &run);
        for (uint32_t k = 0; work.run && k < 3; k++) { /* the agent emits its steps */
            cr_event_in ev = {.type = k, .payload = steps[k], .payload_len = strlen(steps[k])};
            cr_run_emit(ctx, now, work.run, &ev, NULL, NULL);
        }
        if (work.run)
            cr_run_end(ctx, now, work.run);
    }
    cr_ctx_del(ctx);
    return 0;
}
int main(void)
{
    int num;
    fprintf(stderr, "libctxready %s\n", cr_version(&num)); /* the library actually loaded */
    if (num / 10000 != CR_VERSION_MAJOR)
        return 1; /* built against another major version's header */
    return readme_example();
}
