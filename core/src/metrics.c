/*
 * metrics.c - histograms, stats and the diagnostics dump.
 */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "metrics.h"
#include "stream.h"

/* ------------------------------------------------------------------------ */
/* Histograms                                                               */

/* Bucket of v: 0 for 0, else floor(log2 v) + 1; the last bucket also takes
 * the values of floor(log2 v) == 63 (there is no bucket 64). */
static unsigned bucket_of(uint64_t v)
{
    if (!v)
        return 0;
    unsigned b = 64u - (unsigned)__builtin_clzll(v);
    return b < CR_HIST_BUCKETS ? b : CR_HIST_BUCKETS - 1;
}

/* Largest value bucket b holds. */
static uint64_t bucket_upper(unsigned b)
{
    if (b == 0)
        return 0;
    if (b >= CR_HIST_BUCKETS - 1)
        return UINT64_MAX;
    return (UINT64_C(1) << b) - 1;
}

void cr_hist_add(cr_histogram *h, uint64_t v)
{
    if (!h->count || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum = cr_sat_add(h->sum, v);
    h->buckets[bucket_of(v)]++;
}

int cr_histogram_quantile(const cr_histogram *h, double q, uint64_t *out)
{
    if (!h || !out || !(q >= 0.0 && q <= 1.0))
        return CR_EINVAL;
    if (!h->count)
        return CR_ENOTFOUND;
    /* rank = ceil(q * count), at least 1: the smallest value with at least
     * a fraction q of the values at or below it.  O(buckets). */
    double x = q * (double)h->count;
    uint64_t rank = (uint64_t)x;
    if ((double)rank < x)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (unsigned b = 0; b < CR_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t up = bucket_upper(b);
            *out = up < h->max ? up : h->max;
            return 0;
        }
    }
    /* The buckets add up to count (cr_hist_add), so the loop returned. */
    *out = h->max; /* GCOVR_EXCL_LINE: unreachable */
    return 0;      /* GCOVR_EXCL_LINE: unreachable */
}

/* ------------------------------------------------------------------------ */
/* Stats                                                                    */

void cr_ctx_get_stats(const cr_ctx *ctx, cr_stats *out)
{
    if (!ctx || !out)
        return;
    *out = ctx->st;
    out->bytes_in_use = ctx->mem.in_use;
    out->bytes_peak = ctx->mem.peak;
}

/* ------------------------------------------------------------------------ */
/* Dump                                                                     */

/* A line under construction.  Sized for the longest line: three escaped
 * identifiers (4 bytes per input byte at most) plus numbers. */
typedef struct line {
    char buf[4096];
    size_t len;
} line;

static void put_str(line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof l->buf - 2 - l->len) /* room for "\n" and NUL */
        n = sizeof l->buf - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_u64(line *l, uint64_t v)
{
    char tmp[21];
    size_t i = sizeof tmp;
    tmp[--i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_str(l, tmp + i);
}

/* An identifier, "-" if NULL; bytes outside printable ASCII, and '\',
 * are written \xHH so that a line stays one line. */
static void put_id(line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        put_str(l, "-");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (l->len + 4 > sizeof l->buf - 2)
            break;
        if (*p > 0x20 && *p < 0x7f && *p != '\\') {
            l->buf[l->len++] = (char)*p;
        } else {
            l->buf[l->len++] = '\\';
            l->buf[l->len++] = 'x';
            l->buf[l->len++] = hex[*p >> 4];
            l->buf[l->len++] = hex[*p & 15];
        }
    }
}

static void put_field_u64(line *l, const char *key, uint64_t v)
{
    put_str(l, key);
    put_u64(l, v);
}

static void put_field_id(line *l, const char *key, const char *s)
{
    put_str(l, key);
    put_id(l, s);
}

static int emit_line(line *l, int (*write)(void *, const char *, size_t), void *arg)
{
    l->buf[l->len++] = '\n';
    l->buf[l->len] = '\0';
    int rc = write(arg, l->buf, l->len);
    l->len = 0;
    return rc < 0 ? rc : 0;
}

static void conn_line(line *l, cr_conn_id id, const cr_conn *c)
{
    put_field_u64(l, "conn=", id);
    if (!c) {
        put_str(l, " state=CLOSED");
        return;
    }
    put_str(l, " state=");
    put_str(l, cr_conn_state_name((cr_conn_state)c->state));
    put_field_id(l, " user=", c->user ? c->user->name : NULL);
    put_field_id(l, " thread=", c->bound ? c->bound->thread : NULL);
    put_field_u64(l, " gen=", c->generation);
    put_field_u64(l, " queued=", c->queue_len);
    put_field_u64(l, " preauth=", c->cache_len);
    put_field_id(l, " assoc=", c->assoc_target ? c->assoc_target->thread : NULL);
    put_field_u64(l, " attempts=", c->attempts);
    put_field_id(l, " switch_owed=", c->switch_owed ? c->switch_owed->thread : NULL);
    put_field_u64(l, " opened=", c->opened_at);
    put_str(l, " ready=");
    if (c->ever_ready)
        put_u64(l, c->ready_at);
    else
        put_str(l, "-");
}

static void stream_line(line *l, const cr_stream *s)
{
    put_field_id(l, "stream user=", s->user->name);
    put_field_id(l, " thread=", s->thread);
    put_field_u64(l, " seq=", s->seq);
    put_field_u64(l, " buffered=", s->hist->len);
    put_field_u64(l, " undelivered=", s->hist->undelivered);
    put_field_u64(l, " bytes=", s->hist->bytes);
    put_field_u64(l, " ready=", s->nready);
    put_field_u64(l, " first_seq=", cr_stream_first_seq(s));
}

static int stream_cmp(const void *a, const void *b)
{
    const cr_stream *x = *(const cr_stream *const *)a;
    const cr_stream *y = *(const cr_stream *const *)b;
    int c = strcmp(x->user->name, y->user->name);
    return c ? c : strcmp(x->thread, y->thread);
}

int cr_ctx_dump(const cr_ctx *ctx, int (*write)(void *arg, const char *line, size_t len), void *arg)
{
    if (!ctx || !write)
        return CR_EINVAL;
    /* The sorted stream list is the only allocation; make it first so that
     * CR_ENOMEM comes before any output. */
    size_t n = 0;
    for (size_t i = 0; i < ctx->nstreams; i++)
        n += cr_stream_buffered(ctx->streams[i]) > 0;
    const cr_stream **v = NULL;
    if (n) {
        v = cr_mem_scratch(&ctx->mem, n * sizeof *v);
        if (!v)
            return CR_ENOMEM;
        n = 0;
        for (size_t i = 0; i < ctx->nstreams; i++)
            if (cr_stream_buffered(ctx->streams[i]) > 0)
                v[n++] = ctx->streams[i];
        qsort(v, n, sizeof *v, stream_cmp); /* O(n log n); keys are unique */
    }
    line l;
    l.len = 0;
    int rc = 0;
    /* Every id handed out, in order: the open ones from the map, the others
     * (closed, their records freed) as CLOSED.  O(ids handed out). */
    for (cr_conn_id id = 1; id <= ctx->last_conn && !rc; id++) {
        conn_line(&l, id, cr_map_get(&ctx->conns, id, NULL));
        rc = emit_line(&l, write, arg);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        stream_line(&l, v[i]);
        rc = emit_line(&l, write, arg);
    }
    cr_mem_scratch_free(&ctx->mem, v);
    return rc;
}
