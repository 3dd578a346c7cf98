/*
 * net.c - the socket side: one lws callback for the three uses of the
 * port (HTTP, ctxready.v1 tabs, ctxready-control.v1 drivers), frame
 * reassembly within --max-frame, the per-connection rate bound, and the
 * bounded output queues written from LWS_CALLBACK_SERVER_WRITEABLE (a
 * client that does not read is closed, never buffered without bound).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define HTTP_CHUNK 16384

uint64_t srv_now(srv *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * CR_NS_PER_S + (uint64_t)ts.tv_nsec;
    if (t < s->last_now)
        t = s->last_now;
    s->last_now = t;
    return t;
}

static srv *srv_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- queues ------------------------------------------------------------------------ */

static void q_push(srv_queue *q, srv_frame *f)
{
    f->next = NULL;
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    q->frames++;
    q->bytes += f->len;
}

static srv_frame *q_pop(srv_queue *q)
{
    srv_frame *f = q->head;
    if (!f)
        return NULL;
    q->head = f->next;
    if (!q->head)
        q->tail = NULL;
    q->frames--;
    q->bytes -= f->len;
    return f;
}

static void q_free(srv_queue *q)
{
    srv_frame *f;
    while ((f = q_pop(q)))
        free(f);
}

/* write_one writes the head of q to wsi; 0, or -1 to close. */
static int write_one(srv *s, struct lws *wsi, srv_queue *q)
{
    srv_frame *f = q_pop(q);
    if (!f)
        return 0;
    int n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
    s->n.frames_out++;
    s->n.bytes_out += f->len;
    free(f);
    if (n < 0)
        return -1;
    if (q->head)
        lws_callback_on_writable(wsi);
    return 0;
}

int srv_send_client(srv_conn *c, json_t *frame, int is_event)
{
    srv *s = c->s;
    if (!frame)
        return 0;
    if (!c->wsi || c->slow || c->closing) {
        json_decref(frame);
        return 0;
    }
    srv_frame *f = srv_frame_dump(frame, is_event);
    json_decref(frame);
    if (!f)
        return 0;
    if (c->q.bytes + f->len > s->o.send_queue) {
        /* A slow reader: closed, never buffered without bound. */
        free(f);
        c->slow = 1;
        s->n.slow_readers++;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return 0;
    }
    q_push(&c->q, f);
    lws_callback_on_writable(c->wsi);
    return 1;
}

void srv_close_client(srv_conn *c, int status)
{
    if (!c->wsi || c->closing)
        return;
    c->closing = 1;
    c->close_status = status;
    lws_callback_on_writable(c->wsi);
    /* A client that does not read its last frames is cut off anyway. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
}

int srv_ctl_wanted(const srv *s)
{
    for (int i = 0; i < SRV_MAX_CONTROL; i++)
        if (s->ctl[i] && !s->ctl[i]->overflow)
            return 1;
    return 0;
}

static void ctl_push(srv *s, srv_ctl *k, const srv_frame *f)
{
    if (k->overflow)
        return;
    if (k->q.bytes + f->len > SRV_CTL_QUEUE) {
        k->overflow = 1;
        s->n.control_overflows++;
        lws_close_reason(k->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                         (unsigned char *)"control lagging", 15);
        lws_set_timeout(k->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    srv_frame *copy = malloc(sizeof(srv_frame) + LWS_PRE + f->len);
    if (!copy)
        return;
    memcpy(copy, f, sizeof(srv_frame) + LWS_PRE + f->len);
    q_push(&k->q, copy);
    lws_callback_on_writable(k->wsi);
}

static void ctl_broadcast(srv *s, json_t *frame)
{
    srv_frame *f = srv_frame_dump(frame, 0);
    json_decref(frame);
    if (!f)
        return;
    for (int i = 0; i < SRV_MAX_CONTROL; i++)
        if (s->ctl[i])
            ctl_push(s, s->ctl[i], f);
    free(f);
}

void srv_ctl_emit(srv *s, json_t *frame)
{
    if (!frame)
        return;
    if (!srv_ctl_wanted(s)) {
        json_decref(frame);
        return;
    }
    if (!json_object_get(frame, "t"))
        json_object_set_new(frame, "t",
                            json_integer((json_int_t)(s->staging ? s->stage_t : srv_now(s))));
    if (s->staging) {
        json_array_append_new(s->staged, frame);
        return;
    }
    ctl_broadcast(s, frame);
}

void srv_ctl_stage(srv *s, uint64_t now)
{
    if (!s->staged)
        s->staged = json_array();
    s->staging = 1;
    s->stage_t = now;
}

void srv_ctl_commit(srv *s, json_t *first)
{
    if (first && !json_object_get(first, "t"))
        json_object_set_new(first, "t", json_integer((json_int_t)s->stage_t));
    s->staging = 0;
    if (first)
        ctl_broadcast(s, first);
    size_t i;
    json_t *v;
    json_array_foreach(s->staged, i, v) ctl_broadcast(s, json_incref(v));
    json_array_clear(s->staged);
}

/* ---- frames in --------------------------------------------------------------------- */

/* rx_append adds a fragment to a message being reassembled; 1 when it no
 * longer fits within max bytes. */
static int rx_append(char **buf, size_t *len, const void *in, size_t n, size_t max)
{
    if (*len + n > max)
        return 1;
    char *b = realloc(*buf, *len + n + 1);
    if (!b)
        return 1;
    if (n) /* (lws hands an empty body over as NULL: memcpy must not see it) */
        memcpy(b + *len, in, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return 0;
}

/* rate_ok: the frame-rate bound of one connection (--rate frames per
 * second, counted per one-second window). */
static int rate_ok(srv_conn *c, uint64_t now)
{
    if (now - c->rate_window >= CR_NS_PER_S) {
        c->rate_window = now;
        c->rate_count = 0;
    }
    return ++c->rate_count <= c->s->o.rate;
}

static void client_message(srv_conn *c)
{
    srv *s = c->s;
    s->n.frames_in++;
    s->n.bytes_in += c->rxlen;
    if (c->rx_drop) {
        s->n.malformed[SRV_BAD_RATE_LIMITED]++;
        uint64_t now = srv_now(s);
        if (!c->rate_notice || now - c->rate_notice >= CR_NS_PER_S) {
            c->rate_notice = now;
            srv_error_notice(c, -1, "rate_limited", "too many frames per second: discarded", NULL);
        }
        return;
    }
    if (c->rx_binary) {
        srv_error_notice(c, SRV_BAD_BINARY, "binary", "binary frames are not part of ctxready.v1",
                         NULL);
        return;
    }
    if (c->rx_toobig) {
        char why[96];
        snprintf(why, sizeof why, "frame larger than %zu bytes: discarded", s->o.max_frame);
        srv_error_notice(c, SRV_BAD_TOO_BIG, "too_big", why, NULL);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(c->rx ? c->rx : "", c->rxlen, 0, &je);
    if (!j) {
        char why[200];
        snprintf(why, sizeof why, "line %d column %d: %.150s", je.line, je.column, je.text);
        srv_error_notice(c, SRV_BAD_BAD_JSON, "bad_json", why, NULL);
        return;
    }
    if (!json_is_object(j)) {
        srv_error_notice(c, SRV_BAD_BAD_FRAME, "bad_frame", "a frame must be a JSON object", NULL);
    } else {
        srv_host_frame(c, j);
    }
    json_decref(j);
}

static void client_receive(srv_conn *c, struct lws *wsi, const void *in, size_t len)
{
    srv *s = c->s;
    if (!c->rx_active) {
        c->rx_active = 1;
        c->rxlen = 0;
        c->rx_toobig = 0;
        c->rx_binary = (uint8_t)(lws_frame_is_binary(wsi) != 0);
        c->rx_drop = (uint8_t)!rate_ok(c, srv_now(s));
    }
    if (!c->rx_toobig && !c->rx_binary && !c->rx_drop)
        c->rx_toobig = (uint8_t)rx_append(&c->rx, &c->rxlen, in, len, s->o.max_frame);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    c->rx_active = 0;
    client_message(c);
    if (c->rx && c->rxlen > 4096) { /* keep small buffers only */
        free(c->rx);
        c->rx = NULL;
    }
    c->rxlen = 0;
}

static void ctl_hello(srv *s, srv_ctl *k)
{
    json_t *pol = json_object();
    for (size_t i = 0; i < cr_policy_knob_count(); i++) {
        uint64_t v = 0;
        cr_policy_get(&s->pol, cr_policy_knob(i)->name, &v);
        json_object_set_new(pol, cr_policy_knob(i)->name, json_integer((json_int_t)v));
    }
    json_t *ev = json_array();
    for (size_t i = 0; i < s->sc->nagent_events; i++)
        json_array_append_new(ev, json_string(s->sc->agent_events[i]));
    json_t *h = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:f, s:I, s:o, s:o}", "op", "hello",
                          "protocol", SRV_CTL_PROTO, "server", "ctxready-server " CR_VERSION_STRING,
                          "t", (json_int_t)srv_now(s), "scenario", s->sc->name, "profile",
                          s->pol.associate_before_execute ? "fixed" : "legacy", "seed",
                          (json_int_t)s->o.seed, "time_scale", s->o.time_scale, "deadline",
                          (json_int_t)s->sc->deadline, "agent_events", ev, "policy", pol);
    json_object_set_new(h, "profile", json_string(s->o.profile_name));
    srv_frame *f = srv_frame_dump(h, 0);
    json_decref(h);
    if (f)
        q_push(&k->q, f);
    lws_callback_on_writable(k->wsi);
}

static void ctl_receive(srv_ctl *k, struct lws *wsi, const void *in, size_t len)
{
    srv *s = k->s;
    if (!k->rx_active) {
        k->rx_active = 1;
        k->rxlen = 0;
        k->rx_toobig = 0;
    }
    if (!k->rx_toobig)
        k->rx_toobig = (uint8_t)rx_append(&k->rx, &k->rxlen, in, len, 4096);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return;
    k->rx_active = 0;
    json_t *j = k->rx_toobig ? NULL : json_loadb(k->rx ? k->rx : "", k->rxlen, 0, NULL);
    json_t *op = json_object_get(j, "op");
    if (json_is_string(op) && !strcmp(json_string_value(op), "ping")) {
        json_t *id = json_object_get(j, "id");
        json_t *p = json_pack("{s:s, s:I, s:O}", "op", "pong", "t", (json_int_t)srv_now(s), "id",
                              id ? id : json_null());
        srv_frame *f = srv_frame_dump(p, 0);
        json_decref(p);
        if (f)
            ctl_push(s, k, f); /* after everything queued before: a barrier; bounded */
        free(f);
    } else {
        s->n.malformed[j ? SRV_BAD_UNKNOWN_OP : SRV_BAD_BAD_JSON]++;
    }
    json_decref(j);
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static int http_respond(struct lws *wsi, srv_pss *pss, int status, const char *ctype, char *body,
                        size_t len)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    free(pss->body);
    pss->body = body;
    pss->body_len = len;
    pss->status = status;
    pss->sent = 0;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, (lws_filepos_t)len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_text(struct lws *wsi, srv_pss *pss, int status, const char *ctype, const char *text)
{
    size_t n = strlen(text);
    char *b = malloc(n + 1);
    if (!b)
        return 1;
    memcpy(b, text, n + 1);
    return http_respond(wsi, pss, status, ctype, b, n);
}

static int http_json(struct lws *wsi, srv_pss *pss, int status, json_t *j)
{
    char *b = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!b)
        return 1;
    return http_respond(wsi, pss, status, "application/json", b, strlen(b));
}

static int http_writeable(struct lws *wsi, srv_pss *pss)
{
    if (!pss->body && pss->body_len == 0 && !pss->status)
        return 0;
    unsigned char buf[LWS_PRE + HTTP_CHUNK];
    size_t n = pss->body_len - pss->sent;
    if (n > HTTP_CHUNK)
        n = HTTP_CHUNK;
    int last = pss->sent + n == pss->body_len;
    if (n)
        memcpy(buf + LWS_PRE, pss->body + pss->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    pss->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(pss->body);
    pss->body = NULL;
    pss->body_len = 0;
    pss->status = 0;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_request(srv *s, struct lws *wsi, srv_pss *pss, const char *path)
{
    int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    int is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (is_post && !strcmp(path, "/message")) {
        pss->is_post = 1;
        pss->post_len = 0;
        pss->post_toobig = 0;
        return 0; /* the body follows */
    }
    if (!is_get)
        return http_text(wsi, pss, 405, "text/plain", "method not allowed\n");
    if (!strcmp(path, "/healthz"))
        return s->stopping ? http_text(wsi, pss, 503, "text/plain", "stopping\n")
                           : http_text(wsi, pss, 200, "text/plain", "ok\n");
    char *body = NULL;
    size_t len = 0;
    if (!strcmp(path, "/metrics")) {
        if (srv_metrics(s, &body, &len) != 0)
            return http_text(wsi, pss, 500, "text/plain", "out of memory\n");
        return http_respond(wsi, pss, 200, "text/plain; version=0.0.4", body, len);
    }
    if (!strcmp(path, "/debug/conns")) {
        if (srv_debug_conns(s, &body, &len) != 0)
            return http_text(wsi, pss, 500, "text/plain", "out of memory\n");
        return http_respond(wsi, pss, 200, "text/plain", body, len);
    }
    return http_text(wsi, pss, 404, "text/plain", "not found\n");
}

static int http_post_done(srv *s, struct lws *wsi, srv_pss *pss)
{
    char err[200] = "";
    int status;
    json_t *body = NULL;
    if (pss->post_toobig) {
        status = 413;
        snprintf(err, sizeof err, "body larger than %zu bytes", s->o.max_frame);
    } else {
        json_error_t je;
        body = json_loadb(pss->post ? pss->post : "", pss->post_len, 0, &je);
        if (!body) {
            snprintf(err, sizeof err, "line %d column %d: %.150s", je.line, je.column, je.text);
            return http_json(wsi, pss, 400,
                             json_pack("{s:s, s:s}", "error", "bad_json", "reason", err));
        }
        status = srv_host_http_message(s, body, err, sizeof err);
    }
    json_t *ans = status == 202 ? json_pack("{s:O}", "tag", json_object_get(body, "tag"))
                                : json_pack("{s:s, s:s}", "error",
                                            status == 401   ? "auth_failed"
                                            : status == 413 ? "too_big"
                                            : status == 503 ? "busy"
                                                            : "bad_frame",
                                            "reason", err);
    json_decref(body);
    free(pss->post);
    pss->post = NULL;
    return http_json(wsi, pss, status, ans);
}

/* ---- the callback ---------------------------------------------------------------------- */

static int is_control(struct lws *wsi)
{
    const struct lws_protocols *p = lws_get_protocol(wsi);
    return p && p->name && !strcmp(p->name, SRV_CTL_PROTO);
}

int srv_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    srv *s = srv_of(wsi);
    srv_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        int control = is_control(wsi);
        if (s->stopping || (control && s->n.controls_now >= SRV_MAX_CONTROL) ||
            (!control && s->n.conns_now >= s->o.max_conns)) {
            s->n.conns_refused++;
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                   s->stopping ? "stopping" : "connection bound reached");
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(pss, 0, sizeof *pss);
        if (is_control(wsi)) {
            int slot = -1;
            for (int i = 0; i < SRV_MAX_CONTROL && slot < 0; i++)
                if (!s->ctl[i])
                    slot = i;
            srv_ctl *k = slot >= 0 ? calloc(1, sizeof(srv_ctl)) : NULL;
            if (!k)
                return -1;
            k->s = s;
            k->wsi = wsi;
            s->ctl[slot] = k;
            s->n.controls_now++;
            pss->kind = SRV_KIND_CONTROL;
            pss->ctl = k;
            ctl_hello(s, k);
        } else {
            pss->kind = SRV_KIND_CLIENT;
            pss->conn = srv_host_open(s, wsi);
            if (!pss->conn)
                return -1;
        }
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss->kind == SRV_KIND_CLIENT && pss->conn)
            client_receive(pss->conn, wsi, in, len);
        else if (pss->kind == SRV_KIND_CONTROL && pss->ctl)
            ctl_receive(pss->ctl, wsi, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (pss->kind == SRV_KIND_CLIENT && pss->conn)
            pss->conn->peer_closed = 1;
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (pss->kind == SRV_KIND_CLIENT && pss->conn) {
            srv_conn *c = pss->conn;
            if (c->q.head)
                return write_one(s, wsi, &c->q);
            if (c->closing) {
                lws_close_reason(wsi, (enum lws_close_status)c->close_status, NULL, 0);
                return -1;
            }
        } else if (pss->kind == SRV_KIND_CONTROL && pss->ctl) {
            srv_ctl *k = pss->ctl;
            if (k->q.head)
                return write_one(s, wsi, &k->q);
            if (s->stopping) {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
                return -1;
            }
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss->kind == SRV_KIND_CLIENT && pss->conn) {
            srv_host_gone(pss->conn);
            pss->conn = NULL;
        } else if (pss->kind == SRV_KIND_CONTROL && pss->ctl) {
            srv_ctl *k = pss->ctl;
            for (int i = 0; i < SRV_MAX_CONTROL; i++)
                if (s->ctl[i] == k)
                    s->ctl[i] = NULL;
            q_free(&k->q);
            free(k->rx);
            free(k);
            pss->ctl = NULL;
            s->n.controls_now--;
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return http_request(s, wsi, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->is_post && !pss->post_toobig)
            pss->post_toobig =
                (uint8_t)rx_append(&pss->post, &pss->post_len, in, len, s->o.max_frame);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return pss->is_post ? http_post_done(s, wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->body);
            free(pss->post);
            pss->body = pss->post = NULL;
            pss->body_len = pss->post_len = 0;
            pss->status = 0;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
