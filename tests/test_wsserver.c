/*
 * test_wsserver.c - ctxready-server (core/examples/ws-server) end to end:
 * each test starts the real binary on 127.0.0.1 with an ephemeral port,
 * reads the port from its first line, and talks docs/protocol.md to it over
 * real sockets with a small raw WebSocket client (RFC 6455, masked client
 * frames), plus plain HTTP for /metrics and /healthz.  Every wait is a
 * poll() with a deadline on a socket that must answer (never a fixed sleep);
 * "nothing arrived" is proven with a barrier: a frame whose answer comes
 * back on the same connection after anything sent before it.  The server a
 * test started is killed at exit, on failure too (atexit, and
 * PR_SET_PDEATHSIG in the child).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/spawn.h"

#define SCENARIO "tests/data/wsserver/small.yaml"
#define WAIT_MS  10000

/* ---- time ------------------------------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
    long long l = deadline - now_ms();
    return l < 0 ? 0 : (int)l;
}

/* ---- the server under test ------------------------------------------------------------ */

static pid_t server_pid = -1;
static int server_port;

static void kill_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

static const char *server_path(void)
{
    static char path[512];
    const char *e = getenv("CTXREADY_SERVER");
    if (e && *e)
        return e;
    const char *sim = getenv("CTXSIM");
    const char *slash = sim ? strrchr(sim, '/') : NULL;
    if (slash) {
        snprintf(path, sizeof path, "%.*s/ctxready-server", (int)(slash - sim), sim);
        return path;
    }
    return "build/cc-O2/ctxready-server";
}

/* start_server runs ctxready-server --port 0 --scenario SCENARIO plus the
 * given arguments (NULL-terminated) and reads its port from the first line
 * of its stdout, within WAIT_MS. */
static void start_server(const char *first, ...)
{
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)server_path();
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--scenario";
    argv[n++] = SCENARIO;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 38; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL); /* for sp_wait */
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    server_pid = pid;
    atexit(kill_server);
    char line[128];
    size_t len = 0;
    long long deadline = now_ms() + WAIT_MS;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {fds[0], POLLIN, 0};
        ck_assert_msg(poll(&p, 1, left_ms(deadline)) == 1, "%s printed no port in time", argv[0]);
        ssize_t r = read(fds[0], line + len, sizeof line - 1 - len);
        ck_assert_msg(r > 0, "%s exited before printing its port", argv[0]);
        len += (size_t)r;
    }
    line[len] = '\0';
    close(fds[0]);
    ck_assert_msg(sscanf(line, "listening 127.0.0.1:%d", &server_port) == 1, "first line: %s",
                  line);
    ck_assert_int_gt(server_port, 0);
}

static void teardown(void)
{
    kill_server();
}

/* ---- sockets ------------------------------------------------------------------------- */

static int tcp_connect(int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* find_ci: the first case-insensitive occurrence of needle in hay. */
static char *find_ci(char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (char *p = hay; *p; p++)
        if (!strncasecmp(p, needle, n))
            return p;
    return NULL;
}

/* http_get fetches path (Connection: close) within WAIT_MS: the status,
 * and the body in a malloc'd string. */
static int http_get(const char *path, char **body)
{
    int fd = tcp_connect(0);
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    ck_assert_int_eq(send_all(fd, req, strlen(req)), 0);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, left_ms(deadline)) == 1, "GET %s: no answer in time", path);
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        /* Content-Length known and reached: done (lws may keep it open). */
        char *hdr_end = strstr(buf, "\r\n\r\n");
        char *cl = find_ci(buf, "content-length:");
        if (hdr_end && cl && cl < hdr_end &&
            len >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            break;
    }
    close(fd);
    buf[len] = '\0';
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    *body = strdup(b ? b + 4 : "");
    free(buf);
    return status;
}

/* metric reads one sample ("name" or "name{labels}") from /metrics. */
static double metric(const char *sample)
{
    char *body;
    ck_assert_int_eq(http_get("/metrics", &body), 200);
    size_t n = strlen(sample);
    double v = -1;
    for (char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, sample, n) && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    free(body);
    ck_assert_msg(v >= 0, "no sample %s in /metrics", sample);
    return v;
}

/* wait_metric waits (re-reading /metrics, each read answered by the
 * server: no sleep) until sample >= min, within WAIT_MS; returns it. */
static double wait_metric(const char *sample, double min)
{
    long long deadline = now_ms() + WAIT_MS;
    double v;
    while ((v = metric(sample)) < min)
        ck_assert_msg(now_ms() < deadline, "%s stayed at %.0f (< %.0f)", sample, v, min);
    return v;
}

/* ---- a raw WebSocket client ------------------------------------------------------------ */

typedef struct wsc {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    int closed; /* a close frame or EOF was seen */
} wsc;

/* ws_open connects with subprotocol proto (NULL: none) and returns the HTTP
 * status of the handshake (101 when upgraded). */
static int ws_open(wsc *w, const char *proto, int rcvbuf)
{
    memset(w, 0, sizeof *w);
    w->fd = tcp_connect(rcvbuf);
    w->cap = 1 << 16;
    w->buf = malloc(w->cap);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n");
    if (proto)
        n += snprintf(req + n, sizeof req - (size_t)n, "Sec-WebSocket-Protocol: %s\r\n", proto);
    snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    ck_assert_int_eq(send_all(w->fd, req, strlen(req)), 0);
    long long deadline = now_ms() + WAIT_MS;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {w->fd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, left_ms(deadline)) == 1, "no handshake answer in time");
        ssize_t r = recv(w->fd, w->buf + w->len, w->cap - w->len - 1, 0);
        if (r <= 0) {
            w->closed = 1;
            return 0;
        }
        w->len += (size_t)r;
        w->buf[w->len] = '\0';
        end = strstr((char *)w->buf, "\r\n\r\n");
    }
    int status = 0;
    sscanf((char *)w->buf, "HTTP/1.%*d %d", &status);
    size_t hl = (size_t)(end + 4 - (char *)w->buf);
    memmove(w->buf, w->buf + hl, w->len - hl);
    w->len -= hl;
    return status;
}

static int ws_send_raw(wsc *w, int opcode, const void *data, size_t n);

/* ws_close closes like a browser tab: a close frame (1000), then the
 * socket. */
static void ws_close(wsc *w)
{
    if (w->fd >= 0 && !w->closed)
        ws_send_raw(w, 8, "\x03\xe8", 2);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
}

/* ws_send_raw sends one masked frame (FIN set); -1 when the peer is gone. */
static int ws_send_raw(wsc *w, int opcode, const void *data, size_t n)
{
    unsigned char *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    } else {
        f[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
    int rc = send_all(w->fd, f, h + n);
    free(f);
    return rc;
}

static int ws_send(wsc *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ws_send(wsc *w, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ws_send_raw(w, 1, buf, (size_t)n);
}

/* ws_recv returns the next text frame, parsed, or NULL when none came
 * within timeout_ms or the connection closed (w->closed). */
static json_t *ws_recv(wsc *w, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (w->len >= 2) {
            uint64_t n = w->buf[1] & 127;
            size_t off = 2;
            if (n == 126 && w->len >= 4) {
                n = (uint64_t)w->buf[2] << 8 | w->buf[3];
                off = 4;
            } else if (n == 127 && w->len >= 10) {
                n = 0;
                for (int i = 0; i < 8; i++)
                    n = n << 8 | w->buf[2 + i];
                off = 10;
            } else if (n >= 126) {
                n = UINT64_MAX;
            }
            if (n != UINT64_MAX && w->len >= off + n) {
                int op = w->buf[0] & 15;
                json_t *j = op == 1 ? json_loadb((char *)w->buf + off, (size_t)n, 0, NULL) : NULL;
                memmove(w->buf, w->buf + off + n, w->len - off - (size_t)n);
                w->len -= off + (size_t)n;
                if (op == 8) {
                    w->closed = 1;
                    return NULL;
                }
                if (op == 1) {
                    ck_assert_msg(j != NULL, "the server sent a text frame that is not JSON");
                    return j;
                }
                continue; /* ping/pong */
            }
        }
        if (w->closed)
            return NULL;
        struct pollfd p = {w->fd, POLLIN, 0};
        if (poll(&p, 1, left_ms(deadline)) != 1)
            return NULL;
        if (w->len + 65536 > w->cap)
            w->buf = realloc(w->buf, w->cap *= 2);
        ssize_t r = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
        if (r <= 0) {
            w->closed = 1;
            return NULL;
        }
        w->len += (size_t)r;
    }
}

static const char *op_of(json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "op"));
    return s ? s : "";
}

static const char *str_of(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

static long long int_of(json_t *j, const char *k)
{
    return (long long)json_integer_value(json_object_get(j, k));
}

/* ws_expect returns the next frame whose op is `op` (and, for a notice,
 * whose kind is `kind`), within WAIT_MS; other frames go to `others` (may
 * be NULL: dropped). */
static json_t *ws_expect(wsc *w, const char *op, const char *kind, json_t *others)
{
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        json_t *j = ws_recv(w, left_ms(deadline));
        ck_assert_msg(j != NULL, "no %s %s within %d ms%s", op, kind ? kind : "", WAIT_MS,
                      w->closed ? " (connection closed)" : "");
        if (!strcmp(op_of(j), op) && (!kind || !strcmp(str_of(j, "kind"), kind)))
            return j;
        if (others)
            json_array_append(others, j);
        json_decref(j);
    }
}

/* barrier: an unknown op is answered on the same connection after every
 * frame queued for it before; what arrives until then goes to `others`. */
static void barrier(wsc *w, json_t *others)
{
    ck_assert_int_eq(ws_send(w, "{\"op\":\"barrier\",\"tag\":424242}"), 0);
    json_t *n = ws_expect(w, "notice", "error", others);
    ck_assert_str_eq(str_of(n, "error"), "unknown_op");
    ck_assert_int_eq(int_of(n, "tag"), 424242);
    json_decref(n);
}

static size_t count_op(json_t *frames, const char *op)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(frames, i, v) n += !strcmp(op_of(v), op);
    return n;
}

/* ctl_wait returns the next control frame with this op and, when key is
 * not NULL, key == val, within WAIT_MS; what comes before goes to `log`
 * (may be NULL). */
static json_t *ctl_wait(wsc *k, const char *op, const char *key, long long val, json_t *log)
{
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        json_t *j = ws_recv(k, left_ms(deadline));
        ck_assert_msg(j != NULL, "no control %s within %d ms", op, WAIT_MS);
        if (!strcmp(op_of(j), op) && (!key || int_of(j, key) == val))
            return j;
        if (log)
            json_array_append(log, j);
        json_decref(j);
    }
}

/* A tab: connect, read hello, authenticate as `user`; with a control
 * connection k, wait until the auth service has answered. */
static void tab_open(wsc *w, const char *user, wsc *k)
{
    ck_assert_int_eq(ws_open(w, "ctxready.v1", 0), 101);
    json_t *h = ws_expect(w, "hello", NULL, NULL);
    ck_assert_str_eq(str_of(h, "protocol"), "ctxready.v1");
    long long conn = int_of(h, "conn");
    ck_assert_int_gt(conn, 0);
    json_decref(h);
    ck_assert_int_eq(ws_send(w, "{\"op\":\"auth\",\"user\":\"%s\",\"token\":\"t\"}", user), 0);
    if (k) {
        json_t *a = ctl_wait(k, "auth", "conn", conn, NULL);
        ck_assert_msg(json_is_null(json_object_get(a, "error")), "auth refused");
        json_decref(a);
    }
}

/* ctl_open opens the control side and checks its hello. */
static void ctl_open(wsc *k, const char *profile)
{
    ck_assert_int_eq(ws_open(k, "ctxready-control.v1", 0), 101);
    json_t *h = ws_expect(k, "hello", NULL, NULL);
    ck_assert_str_eq(str_of(h, "protocol"), "ctxready-control.v1");
    ck_assert_str_eq(str_of(h, "profile"), profile);
    ck_assert_str_eq(str_of(h, "scenario"), "wsserver_small");
    ck_assert_int_eq(json_array_size(json_object_get(h, "agent_events")), 5);
    json_decref(h);
}

/* ctl_until_emits collects control frames until the emit of the last
 * event (index 4) of the run started by message msg_tag, then a ping
 * barrier; returns every frame seen. */
static json_t *ctl_until_last_emit(wsc *k, long long msg_tag)
{
    json_t *log = json_array();
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        json_t *j = ws_recv(k, left_ms(deadline));
        ck_assert_msg(j != NULL, "no last emit of message %lld on the control side", msg_tag);
        json_array_append_new(log, j);
        if (!strcmp(op_of(j), "emit") && int_of(j, "msg_tag") == msg_tag && int_of(j, "index") == 4)
            break;
    }
    ck_assert_int_eq(ws_send(k, "{\"op\":\"ping\",\"id\":9}"), 0);
    json_t *p = ws_expect(k, "pong", NULL, log);
    ck_assert_int_eq(int_of(p, "id"), 9);
    json_decref(p);
    return log;
}

/* events_of counts the `event` frames in frames of message run `run`. */
static size_t frames_where(json_t *frames, const char *op, const char *key, long long val)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(frames, i, v) n += !strcmp(op_of(v), op) && int_of(v, key) == val;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

/* One tab, a first message naming a new thread before the connection has
 * context: what the control side says the agent emitted, against what the
 * tab received. */
static void first_message_run(const char *profile, size_t *emitted, size_t *delivered,
                              size_t *received, long long *run)
{
    start_server("--profile", profile, NULL);
    wsc k, c;
    ctl_open(&k, profile);
    tab_open(&c, "u0", &k);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"last_seq\":0,"
                                 "\"tag\":1,\"payload\":\"hello\"}"),
                     0);
    json_t *got = json_array();
    json_t *ack = ws_expect(&c, "ack", NULL, got);
    ck_assert_int_eq(int_of(ack, "tag"), 1);
    ck_assert_ptr_null(json_object_get(ack, "error"));
    json_decref(ack);
    json_t *log = ctl_until_last_emit(&k, 1);
    barrier(&c, got); /* every event sent before is in `got` now */
    *emitted = frames_where(log, "emit", "msg_tag", 1);
    ck_assert_int_eq(count_op(log, "run"), 1);
    size_t i;
    json_t *v;
    json_array_foreach(log, i, v) if (!strcmp(op_of(v), "run")) *run = int_of(v, "run");
    *delivered = frames_where(log, "deliver", "run", *run);
    *received = frames_where(got, "event", "run", *run);
    /* /debug/conns is the core's dump: the tab's connection is bound in
     * both profiles by now (legacy asked for the association only once the
     * run had started: too late for its events). */
    char *dump;
    ck_assert_int_eq(http_get("/debug/conns", &dump), 200);
    ck_assert_msg(strstr(dump, "conn=1 state=") && strstr(dump, "user=u0"), "%s", dump);
    ck_assert_msg(strstr(dump, "conn=1 state=READY user=u0 thread=u0/t1"), "%s", dump);
    free(dump);
    /* Every event the tab received is one the control side saw emitted. */
    json_array_foreach(got, i, v) if (!strcmp(op_of(v), "event"))
        ck_assert_int_eq(frames_where(log, "emit", "tag", int_of(v, "tag")), 1);
    json_decref(log);
    json_decref(got);
    ws_close(&c);
    ws_close(&k);
}

START_TEST(test_wsserver_fixed_delivers_first_run)
{
    size_t emitted, delivered, received;
    long long run;
    first_message_run("fixed", &emitted, &delivered, &received, &run);
    ck_assert_int_eq(emitted, 5);
    ck_assert_int_eq(delivered, 5);
    ck_assert_int_eq(received, 5);
    ck_assert_int_eq((long long)metric("ctxready_events_total{outcome=\"delivered\"}"), 5);
    ck_assert_int_eq((long long)metric("ctxready_connect_to_ready_seconds_count"), 1);
}
END_TEST

START_TEST(test_wsserver_legacy_loses_first_run_silently)
{
    size_t emitted, delivered, received;
    long long run;
    first_message_run("legacy", &emitted, &delivered, &received, &run);
    ck_assert_int_eq(emitted, 5);   /* the agent ran ... */
    ck_assert_int_eq(delivered, 0); /* ... the core routed it to nobody ... */
    ck_assert_int_eq(received, 0);  /* ... the tab got nothing ... */
    /* ... and nothing was counted or reported: a silent loss. */
    ck_assert_int_eq((long long)metric("ctxready_events_emitted_total"), 5);
    ck_assert_int_eq((long long)metric("ctxready_events_total{outcome=\"delivered\"}"), 0);
    ck_assert_int_eq((long long)metric("ctxready_events_total{outcome=\"unroutable\"}"), 0);
    ck_assert_int_eq((long long)metric("ctxready_runs_context_lost_total"), 1);
}
END_TEST

/* Under legacy the second message, on the now-bound thread, is delivered:
 * the loss is the race, not a broken server. */
START_TEST(test_wsserver_legacy_delivers_once_bound)
{
    start_server("--profile", "legacy", NULL);
    wsc k, c;
    ctl_open(&k, "legacy");
    tab_open(&c, "u0", &k);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":1}"), 0);
    /* The legacy handler asks for the association only once the run
     * started; wait until it landed. */
    json_decref(ctl_wait(&k, "assoc_done", NULL, 0, NULL));
    json_decref(ctl_until_last_emit(&k, 1));
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":2}"), 0);
    json_t *log = ctl_until_last_emit(&k, 2);
    json_t *got = json_array();
    barrier(&c, got);
    ck_assert_int_eq(count_op(got, "event"), 5);
    ck_assert_int_eq(count_op(log, "deliver"), 5);
    json_decref(log);
    json_decref(got);
    ws_close(&c);
    ws_close(&k);
}
END_TEST

/* Each kind of malformed input gets its error notice, is counted, and the
 * connection, the server and new connections keep working. */
START_TEST(test_wsserver_malformed_frames_answered_and_counted)
{
    start_server(NULL);
    wsc c;
    tab_open(&c, "u0", NULL);
    struct {
        int opcode;
        const char *text;
        size_t len;
        const char *error;
    } cases[] = {
        {1, "{not json", 0, "bad_json"},
        {1, "[1,2,3]", 0, "bad_frame"},
        {1, "{\"op\":\"message\",\"thread\":\"u0/t1\"}", 0, "bad_frame"}, /* no tag */
        {1, "{\"op\":\"message\",\"tag\":-4}", 0, "bad_frame"},
        {1, "{\"op\":\"switch\",\"thread\":7}", 0, "bad_frame"},
        {1, "{\"op\":\"teleport\",\"tag\":5}", 0, "unknown_op"},
        {2, "\x01\x02\x03", 3, "binary"},
        {1, NULL, 70000, "too_big"},
        {1, "\"\xff\xfe\"", 0, "bad_json"}, /* not UTF-8 */
    };
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text ? cases[i].text : big;
        size_t n = cases[i].len ? cases[i].len : strlen(t);
        ck_assert_int_eq(ws_send_raw(&c, cases[i].opcode, t, n), 0);
        json_t *e = ws_expect(&c, "notice", "error", NULL);
        ck_assert_msg(!strcmp(str_of(e, "error"), cases[i].error), "case %zu: got %s, want %s", i,
                      str_of(e, "error"), cases[i].error);
        ck_assert_ptr_nonnull(json_object_get(e, "reason"));
        json_decref(e);
    }
    free(big);
    ck_assert_int_eq(
        (long long)metric("ctxready_server_malformed_frames_total{reason=\"bad_json\"}"), 2);
    ck_assert_int_eq(
        (long long)metric("ctxready_server_malformed_frames_total{reason=\"bad_frame\"}"), 4);
    ck_assert_int_eq(
        (long long)metric("ctxready_server_malformed_frames_total{reason=\"unknown_op\"}"), 1);
    ck_assert_int_eq((long long)metric("ctxready_server_malformed_frames_total{reason=\"binary\"}"),
                     1);
    ck_assert_int_eq(
        (long long)metric("ctxready_server_malformed_frames_total{reason=\"too_big\"}"), 1);
    /* The same connection still works: a message is taken and its run
     * delivered. */
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":11}"), 0);
    json_t *ack = ws_expect(&c, "ack", NULL, NULL);
    ck_assert_int_eq(int_of(ack, "tag"), 11);
    json_decref(ack);
    json_decref(ws_expect(&c, "event", NULL, NULL));
    /* So do a new connection and /healthz. */
    wsc d;
    tab_open(&d, "u1", NULL);
    ck_assert_int_eq(ws_send(&d, "{\"op\":\"message\",\"thread\":\"u1/t1\",\"tag\":12}"), 0);
    json_decref(ws_expect(&d, "ack", NULL, NULL));
    char *body;
    ck_assert_int_eq(http_get("/healthz", &body), 200);
    ck_assert_str_eq(body, "ok\n");
    free(body);
    ws_close(&c);
    ws_close(&d);
}
END_TEST

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* A flood past the frame-rate bound: discarded with rate_limited notices
 * (at most one a second), counted, memory flat, the server up. */
START_TEST(test_wsserver_flood_is_rate_limited)
{
    start_server("--rate", "200", NULL);
    wsc c;
    tab_open(&c, "u0", NULL);
    long before = rss_kib(server_pid);
    long long t0 = now_ms();
    for (int i = 0; i < 20000; i++)
        ck_assert_int_eq(
            ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t%d\",\"tag\":%d}", i % 7, i + 1), 0);
    long long windows = (now_ms() - t0) / 1000 + 2; /* rate windows the flood can span */
    /* Every frame was read (the auth and the flood), then the notice. */
    wait_metric("ctxready_server_frames_received_total", 20001);
    double dropped = metric("ctxready_server_malformed_frames_total{reason=\"rate_limited\"}");
    ck_assert_msg(dropped >= 20000 - (double)windows * 200, "only %.0f frames discarded", dropped);
    json_t *n = ws_expect(&c, "notice", "error", NULL);
    while (strcmp(str_of(n, "error"), "rate_limited")) {
        json_decref(n);
        n = ws_expect(&c, "notice", "error", NULL);
    }
    json_decref(n);
    long after = rss_kib(server_pid);
    ck_assert_msg(after - before < 16 * 1024, "RSS grew from %ld to %ld KiB", before, after);
    char *body;
    ck_assert_int_eq(http_get("/healthz", &body), 200);
    free(body);
    ws_close(&c);
}
END_TEST

/* A client that floods and never reads: its answers pile up past the send
 * queue bound and the server closes it as a slow reader, instead of
 * buffering without bound; the server stays up. */
START_TEST(test_wsserver_slow_reader_is_closed)
{
    start_server("--rate", "10000000", "--send-queue", "65536", NULL);
    wsc c;
    ck_assert_int_eq(ws_open(&c, "ctxready.v1", 4096), 101);
    long before = rss_kib(server_pid);
    /* 120000 tiny bad frames, about 150 bytes of answer each: far more than
     * the socket buffers and the 64 KiB queue hold. */
    static char burst[120000 * 7];
    for (int i = 0; i < 120000; i++)
        memcpy(burst + 7 * i, "\x81\x81\x00\x00\x00\x00x", 7); /* masked text frame "x" */
    int sent = send_all(c.fd, burst, sizeof burst);
    (void)sent; /* the server may cut us off before the end */
    /* Reading now: what the socket buffers held, then the end. */
    long long deadline = now_ms() + WAIT_MS;
    while (!c.closed) {
        json_t *j = ws_recv(&c, left_ms(deadline));
        ck_assert_msg(j || c.closed, "the slow reader was not closed in time");
        json_decref(j);
    }
    ck_assert_int_eq((long long)wait_metric("ctxready_server_slow_readers_total", 1), 1);
    wait_metric("ctxready_server_connections_accepted_total", 1);
    long long deadline2 = now_ms() + WAIT_MS;
    while (metric("ctxready_server_connections") > 0)
        ck_assert_msg(now_ms() < deadline2, "the slow reader's connection stayed open");
    ck_assert_int_eq((long long)metric("ctxready_server_send_queue_bytes"), 0);
    long after = rss_kib(server_pid);
    ck_assert_msg(after - before < 16 * 1024, "RSS grew from %ld to %ld KiB", before, after);
    wsc d;
    tab_open(&d, "u0", NULL);
    ck_assert_int_eq(ws_send(&d, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":3}"), 0);
    json_decref(ws_expect(&d, "ack", NULL, NULL));
    ws_close(&c);
    ws_close(&d);
}
END_TEST

/* A control connection that pings and never reads: its pongs count
 * against the control queue bound like every other control frame, so it
 * is closed as lagging instead of buffered without bound. */
START_TEST(test_wsserver_control_ping_flood_is_bounded)
{
    start_server(NULL);
    wsc k;
    ck_assert_int_eq(ws_open(&k, "ctxready-control.v1", 4096), 101);
    static char ping[4096];
    int n = snprintf(ping, sizeof ping, "{\"op\":\"ping\",\"id\":\"");
    memset(ping + n, 'p', 4000);
    memcpy(ping + n + 4000, "\"}", 3);
    /* 6000 pongs of 4 KiB: 24 MiB, past the 16 MiB control queue. */
    for (int i = 0; i < 6000; i++)
        if (ws_send_raw(&k, 1, ping, strlen(ping)) != 0)
            break; /* cut off: the bound worked */
    ck_assert_int_eq((long long)wait_metric("ctxready_server_control_overflows_total", 1), 1);
    long long deadline = now_ms() + WAIT_MS;
    while (metric("ctxready_server_control_connections") > 0)
        ck_assert_msg(now_ms() < deadline, "the lagging control connection stayed open");
    char *body;
    ck_assert_int_eq(http_get("/healthz", &body), 200);
    free(body);
    ws_close(&k);
}
END_TEST

/* --max-conns: one more upgrade is refused; after a close there is room
 * again. */
START_TEST(test_wsserver_connection_bound)
{
    start_server("--max-conns", "2", NULL);
    wsc k, a, b, x;
    ctl_open(&k, "fixed");
    tab_open(&a, "u0", NULL);
    tab_open(&b, "u1", NULL);
    ck_assert_int_eq(ws_open(&x, "ctxready.v1", 0), 503);
    ws_close(&x);
    ck_assert_int_eq((long long)metric("ctxready_server_connections_refused_total"), 1);
    ck_assert_int_eq((long long)metric("ctxready_server_connections"), 2);
    ws_close(&a);
    long long deadline = now_ms() + WAIT_MS;
    for (int gone = 0; !gone;) {
        json_t *j = ws_recv(&k, left_ms(deadline));
        ck_assert_msg(j != NULL, "no close on the control side");
        gone = !strcmp(op_of(j), "close");
        if (gone)
            ck_assert_str_eq(str_of(j, "reason"), "client");
        json_decref(j);
    }
    tab_open(&x, "u2", NULL);
    ws_close(&x);
    ws_close(&b);
    ws_close(&k);
}
END_TEST

/* Every new thread name is a stream (and maybe a user) in the core: the
 * reference thread service creates --max-threads at most, so a client
 * naming fresh threads cannot grow the server without bound; a message to
 * a thread past the bound is refused, known threads still work. */
START_TEST(test_wsserver_thread_bound)
{
    start_server("--max-threads", "2", NULL);
    wsc c;
    tab_open(&c, "u0", NULL);
    for (int i = 1; i <= 2; i++) {
        ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t%d\",\"tag\":%d}", i, i),
                         0);
        json_t *ack = ws_expect(&c, "ack", NULL, NULL);
        ck_assert_int_eq(int_of(ack, "tag"), i);
        ck_assert_ptr_null(json_object_get(ack, "error"));
        json_decref(ack);
    }
    for (int i = 3; i < 203; i++)
        ck_assert_int_eq(
            ws_send(&c, "{\"op\":\"message\",\"thread\":\"evil%d/t\",\"tag\":%d}", i, i), 0);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t9\",\"tag\":300}"), 0);
    json_t *rej = ws_expect(&c, "notice", "message_rejected", NULL);
    while (int_of(rej, "tag") != 300) {
        json_decref(rej);
        rej = ws_expect(&c, "notice", "message_rejected", NULL);
    }
    json_decref(rej);
    ck_assert_int_eq((long long)metric("ctxready_server_threads"), 2);
    ck_assert_int_eq((long long)metric("ctxready_server_threads_refused_total"), 201);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":301}"), 0);
    json_t *ack = ws_expect(&c, "ack", NULL, NULL);
    while (int_of(ack, "tag") != 301) {
        json_decref(ack);
        ack = ws_expect(&c, "ack", NULL, NULL);
    }
    ck_assert_ptr_null(json_object_get(ack, "error"));
    json_decref(ack);
    ws_close(&c);
}
END_TEST

/* The core's pending deadline runs on the lws timer: a connection that
 * never authenticates is told `closing` (pending_timeout) and closed. */
START_TEST(test_wsserver_pending_deadline_closes)
{
    start_server("--policy", "pending_deadline=150ms", NULL);
    wsc c;
    ck_assert_int_eq(ws_open(&c, "ctxready.v1", 0), 101);
    long long t0 = now_ms();
    json_t *n = ws_expect(&c, "notice", "closing", NULL);
    ck_assert_str_eq(str_of(n, "reason"), "pending_timeout");
    json_decref(n);
    ck_assert_int_ge(now_ms() - t0, 100);
    ck_assert_ptr_null(ws_recv(&c, WAIT_MS));
    ck_assert(c.closed);
    ck_assert_int_eq((long long)metric("ctxready_connections_pending_timeout_total"), 1);
    ws_close(&c);
}
END_TEST

/* A resend of an acknowledged message is acknowledged again and not run
 * twice; a foreign thread is refused with message_rejected. */
START_TEST(test_wsserver_duplicate_and_foreign)
{
    start_server(NULL);
    wsc k, c;
    ctl_open(&k, "fixed");
    tab_open(&c, "u0", &k);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":7}"), 0);
    json_decref(ws_expect(&c, "ack", NULL, NULL));
    json_t *log = ctl_until_last_emit(&k, 7);
    json_decref(log);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":7}"), 0);
    json_t *ack = ws_expect(&c, "ack", NULL, NULL);
    ck_assert_int_eq(int_of(ack, "tag"), 7);
    json_decref(ack);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"message\",\"thread\":\"u1/t1\",\"tag\":8}"), 0);
    json_t *got = json_array();
    json_t *rej = ws_expect(&c, "notice", "message_rejected", got);
    ck_assert_int_eq(int_of(rej, "tag"), 8);
    ck_assert_str_eq(str_of(rej, "error"), "CR_EFOREIGN");
    json_decref(rej);
    ck_assert_int_eq(ws_send(&k, "{\"op\":\"ping\",\"id\":1}"), 0);
    json_t *ctl = json_array();
    json_decref(ws_expect(&k, "pong", NULL, ctl));
    size_t i;
    json_t *v;
    int dup = 0, refused = 0;
    json_array_foreach(ctl, i, v)
    {
        dup += !strcmp(op_of(v), "message") && !strcmp(str_of(v, "result"), "duplicate");
        refused += !strcmp(op_of(v), "message") && !strcmp(str_of(v, "result"), "refused");
    }
    ck_assert_int_eq(dup, 1);
    ck_assert_int_eq(refused, 1);
    ck_assert_int_eq(count_op(ctl, "run"), 0);
    ck_assert_int_eq((long long)metric("ctxready_runs_started_total"), 1);
    json_decref(got);
    json_decref(ctl);
    ws_close(&c);
    ws_close(&k);
}
END_TEST

/* POST /message starts a run over HTTP; a tab viewing the thread gets its
 * events.  A bad or empty body is a 400, a refused token a 401. */
START_TEST(test_wsserver_http_message_runs)
{
    start_server("--token", "s3cret", NULL);
    wsc c;
    ck_assert_int_eq(ws_open(&c, "ctxready.v1", 0), 101);
    json_decref(ws_expect(&c, "hello", NULL, NULL));
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"auth\",\"user\":\"u0\",\"token\":\"wrong\"}"), 0);
    json_t *e = ws_expect(&c, "notice", "error", NULL);
    ck_assert_str_eq(str_of(e, "error"), "auth_failed");
    json_decref(e);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"auth\",\"user\":\"u0\",\"token\":\"s3cret\"}"), 0);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"switch\",\"thread\":\"u0/t5\",\"tag\":1}"), 0);
    json_t *sw = ws_expect(&c, "notice", "thread_switched", NULL);
    ck_assert_str_eq(str_of(sw, "thread"), "u0/t5");
    ck_assert_int_eq(int_of(sw, "tag"), 1);
    json_decref(sw);

    struct {
        const char *body;
        int status;
    } posts[] = {
        {"{\"user\":\"u0\",\"token\":\"s3cret\",\"thread\":\"u0/t5\",\"tag\":40}", 202},
        {"{\"user\":\"u0\",\"token\":\"nope\",\"thread\":\"u0/t5\",\"tag\":41}", 401},
        {"{\"user\":\"u0\"", 400},
        {"", 400}, /* no body at all: lws hands over no bytes (NULL) */
    };
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
        int fd = tcp_connect(0);
        char req[512];
        snprintf(req, sizeof req,
                 "POST /message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 strlen(posts[i].body), posts[i].body);
        ck_assert_int_eq(send_all(fd, req, strlen(req)), 0);
        char ans[1024];
        size_t len = 0;
        long long deadline = now_ms() + WAIT_MS;
        int status = 0;
        while (!status) {
            struct pollfd p = {fd, POLLIN, 0};
            ck_assert_int_eq(poll(&p, 1, left_ms(deadline)), 1);
            ssize_t r = recv(fd, ans + len, sizeof ans - 1 - len, 0);
            ck_assert_int_gt(r, 0);
            len += (size_t)r;
            ans[len] = '\0';
            sscanf(ans, "HTTP/1.1 %d", &status);
        }
        ck_assert_int_eq(status, posts[i].status);
        close(fd);
    }
    for (int i = 0; i < 5; i++) {
        json_t *ev = ws_expect(&c, "event", NULL, NULL);
        ck_assert_str_eq(str_of(ev, "thread"), "u0/t5");
        ck_assert_int_eq(int_of(ev, "index"), i);
        ck_assert_int_eq(int_of(ev, "seq"), i + 1);
        json_decref(ev);
    }
    ck_assert_int_eq((long long)metric("ctxready_server_http_messages_total"), 1);
    ws_close(&c);
}
END_TEST

/* SIGTERM: every tab is told `closing` (server) and closed, the server
 * exits 0. */
START_TEST(test_wsserver_sigterm_stops_cleanly)
{
    start_server(NULL);
    wsc a, b;
    tab_open(&a, "u0", NULL);
    tab_open(&b, "u1", NULL);
    ck_assert_int_eq(ws_send(&a, "{\"op\":\"message\",\"thread\":\"u0/t1\",\"tag\":1}"), 0);
    json_decref(ws_expect(&a, "ack", NULL, NULL));
    ck_assert_int_eq(kill(server_pid, SIGTERM), 0);
    wsc *tabs[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        json_t *n = ws_expect(tabs[i], "notice", "closing", NULL);
        ck_assert_str_eq(str_of(n, "reason"), "server");
        json_decref(n);
        while (ws_recv(tabs[i], WAIT_MS))
            ;
        ck_assert(tabs[i]->closed);
        close(tabs[i]->fd); /* the tab is gone too: nothing keeps the server */
        tabs[i]->fd = -1;
    }
    long waited = 0;
    int rc = sp_wait(server_pid, WAIT_MS, &waited);
    server_pid = -1;
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(waited < 1500, "the server took %ld ms to stop", waited);
    ws_close(&a);
    ws_close(&b);
}
END_TEST

/* --time-scale stretches the server side's distributions and the policy's
 * durations alike: thread_lookup is a constant 5 ms in the scenario. */
START_TEST(test_wsserver_time_scale_stretches_latencies)
{
    start_server("--time-scale", "20", NULL);
    wsc k, c;
    ck_assert_int_eq(ws_open(&k, "ctxready-control.v1", 0), 101);
    json_t *h = ws_expect(&k, "hello", NULL, NULL);
    ck_assert(json_real_value(json_object_get(h, "time_scale")) == 20.0);
    json_t *pol = json_object_get(h, "policy");
    ck_assert_int_eq(int_of(pol, "exec_grace"), 100LL * 1000000000); /* fixed: 5 s x 20 */
    ck_assert_int_eq(int_of(pol, "pending_max"), 64);                /* a count: unscaled */
    ck_assert_int_eq(int_of(h, "deadline"), 2LL * 1000000000);       /* the scenario's */
    json_decref(h);
    tab_open(&c, "u0", &k);
    ck_assert_int_eq(ws_send(&c, "{\"op\":\"switch\",\"thread\":\"u0/t1\",\"tag\":1}"), 0);
    json_t *a = ctl_wait(&k, "assoc", NULL, 0, NULL);
    ck_assert_int_eq(int_of(a, "delay"), 100 * 1000000);
    json_decref(a);
    json_decref(ws_expect(&c, "notice", "thread_switched", NULL));
    ws_close(&c);
    ws_close(&k);
}
END_TEST

/* Bad usage and a bad scenario: exit 2 with a message, nothing listening. */
START_TEST(test_wsserver_bad_usage_exits_2)
{
    char *bad[][6] = {
        {(char *)server_path(), "--scenario", SCENARIO, NULL},
        {(char *)server_path(), "--port", "0", "--scenario", "tests/data/wsserver/none.yaml", NULL},
    };
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(sp_run(NULL, bad[i], NULL, NULL, WAIT_MS), 2);
    char *pol[] = {(char *)server_path(), "--port", "0", "--scenario", SCENARIO, "--policy",
                   "no_such_knob=1",      NULL};
    ck_assert_int_eq(sp_run(NULL, pol, NULL, NULL, WAIT_MS), 2);
    char *help[] = {(char *)server_path(), "--help", NULL};
    ck_assert_int_eq(sp_run(NULL, help, NULL, NULL, WAIT_MS), 0);
}
END_TEST

static Suite *wsserver_suite(void)
{
    Suite *s = suite_create("wsserver");
    TCase *tc = tcase_create("wsserver");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_wsserver_fixed_delivers_first_run);
    tcase_add_test(tc, test_wsserver_legacy_loses_first_run_silently);
    tcase_add_test(tc, test_wsserver_legacy_delivers_once_bound);
    tcase_add_test(tc, test_wsserver_malformed_frames_answered_and_counted);
    tcase_add_test(tc, test_wsserver_flood_is_rate_limited);
    tcase_add_test(tc, test_wsserver_slow_reader_is_closed);
    tcase_add_test(tc, test_wsserver_control_ping_flood_is_bounded);
    tcase_add_test(tc, test_wsserver_connection_bound);
    tcase_add_test(tc, test_wsserver_pending_deadline_closes);
    tcase_add_test(tc, test_wsserver_thread_bound);
    tcase_add_test(tc, test_wsserver_duplicate_and_foreign);
    tcase_add_test(tc, test_wsserver_http_message_runs);
    tcase_add_test(tc, test_wsserver_sigterm_stops_cleanly);
    tcase_add_test(tc, test_wsserver_time_scale_stretches_latencies);
    tcase_add_test(tc, test_wsserver_bad_usage_exits_2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wsserver_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
