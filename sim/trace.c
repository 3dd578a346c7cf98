/*
 * trace.c - the canonical run trace, its XXH64 hash, and its exports.
 *
 * Each step is formatted once into a stack buffer as
 *   "<time_ns> <actor> <step> <detail>\n"
 * (the space before the detail is written even when the detail is empty)
 * and fed to a streaming XXH64 state, so the hash equals XXH64(seed 0) of
 * the concatenated text.  Every step of a run is hashed, so this is on the
 * simulator's hot path: the prefix is copied by hand and the detail goes
 * through fmt_fast, a formatter for the plain conversions (%d %u %s ...,
 * the PRIu64 family) that is several times faster than vsnprintf and
 * produces the same bytes; any other format uses vsnprintf.  A line longer
 * than the stack buffer is formatted into a heap buffer; otherwise a step
 * that is not kept allocates nothing.  Newlines and carriage returns inside actor, step or detail
 * are written as spaces, so one step is always one line.  NULL actor or step is written as "-".
 * sim_trace_add on a NULL trace does nothing and returns 0, so callers may pass NULL when tracing
 * is off.
 *
 * Keep mode stores each record as one heap block holding the three strings
 * (one malloc per step) in an array that doubles when full.
 */
#include "sim/trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xxhash.h>

#define LINE_STACK 512

struct sim_trace {
    XXH64_state_t *xx; /* owned */
    uint64_t steps;
    int keep;
    sim_trace_rec *recs; /* owned, each rec's actor block owned */
    size_t n, cap;
};

int sim_trace_new(sim_trace **out, int keep)
{
    sim_trace *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->xx = XXH64_createState();
    if (!t->xx || XXH64_reset(t->xx, 0) != XXH_OK) {
        XXH64_freeState(t->xx);
        free(t);
        return -1;
    }
    t->keep = keep != 0;
    *out = t;
    return 0;
}

void sim_trace_free(sim_trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->recs[i].actor); /* the block holding all three strings */
    free(t->recs);
    XXH64_freeState(t->xx);
    free(t);
}

/* Replaces line breaks so that a step stays one line.  O(len), with the
 * common case (none) left to the vectorised memchr. */
static void flatten(char *s, size_t len)
{
    if (!memchr(s, '\n', len) && !memchr(s, '\r', len))
        return;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n' || s[i] == '\r')
            s[i] = ' ';
}

/* keep_rec copies the line's three fields into one block.  The line is
 * "<time> <actor> <step> <detail>\n" with the given field offsets. */
static int keep_rec(sim_trace *t, uint64_t time, const char *line, size_t a0, size_t alen,
                    size_t s0, size_t slen, size_t d0, size_t dlen)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        if (ncap > SIZE_MAX / sizeof(sim_trace_rec))
            return -1;
        sim_trace_rec *r = realloc(t->recs, ncap * sizeof *r);
        if (!r)
            return -1;
        t->recs = r;
        t->cap = ncap;
    }
    char *blk = malloc(alen + slen + dlen + 3);
    if (!blk)
        return -1;
    sim_trace_rec *r = &t->recs[t->n++];
    r->time = time;
    r->actor = blk;
    memcpy(r->actor, line + a0, alen);
    r->actor[alen] = '\0';
    r->step = r->actor + alen + 1;
    memcpy(r->step, line + s0, slen);
    r->step[slen] = '\0';
    r->detail = r->step + slen + 1;
    memcpy(r->detail, line + d0, dlen);
    r->detail[dlen] = '\0';
    return 0;
}

/* put_u64 writes v in decimal at out (at most 20 bytes); returns the length.
 * Two digits per division, from a table. */
static size_t put_u64(char *out, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    size_t i = sizeof tmp;
    while (v >= 100) {
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        tmp[--i] = pairs[k + 1];
        tmp[--i] = pairs[k];
    }
    if (v >= 10) {
        tmp[--i] = pairs[v * 2 + 1];
        tmp[--i] = pairs[v * 2];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    size_t n = sizeof tmp - i;
    memcpy(out, tmp + i, n);
    return n;
}

/* put_hex writes v in lowercase hexadecimal; returns the length. */
static size_t put_hex(char *out, uint64_t v)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/*
 * fmt_fast is the common case of vsnprintf, several times faster: it
 * appends the formatted text to buf[pos..cap) and returns the new length,
 * with exactly vsnprintf's output, for formats whose conversions are only
 * %d %i %u %x %c %s %% with an optional length modifier l, ll, z or j and
 * no flags, width or precision (the PRIu64 family included).  For any
 * other format, or when the text does not fit, it returns -1 and the
 * caller falls back to vsnprintf.  O(length of the output).
 */
static long fmt_fast(char *buf, size_t cap, size_t pos, const char *fmt, va_list ap)
{
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (pos >= cap)
                return -1;
            buf[pos++] = *f;
            continue;
        }
        f++;
        int lng = 0; /* 0 int, 1 long, 2 long long, 3 size_t, 4 intmax_t */
        if (*f == 'l') {
            lng = 1;
            if (f[1] == 'l') {
                lng = 2;
                f++;
            }
            f++;
        } else if (*f == 'z') {
            lng = 3;
            f++;
        } else if (*f == 'j') {
            lng = 4;
            f++;
        }
        if (pos + 24 > cap) /* room for any number */
            return -1;
        switch (*f) {
        case '%':
            if (lng)
                return -1;
            buf[pos++] = '%';
            break;
        case 'c':
            if (lng)
                return -1;
            buf[pos++] = (char)va_arg(ap, int);
            break;
        case 's': {
            if (lng)
                return -1;
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)"; /* as glibc prints it */
            size_t l = strlen(str);
            if (pos + l > cap)
                return -1;
            memcpy(buf + pos, str, l);
            pos += l;
            break;
        }
        case 'd':
        case 'i': {
            long long v = lng == 0   ? va_arg(ap, int)
                          : lng == 1 ? va_arg(ap, long)
                          : lng == 2 ? va_arg(ap, long long)
                          : lng == 3 ? (long long)va_arg(ap, size_t)
                                     : (long long)va_arg(ap, intmax_t);
            uint64_t u = (uint64_t)v;
            if (v < 0) {
                buf[pos++] = '-';
                u = 0 - u;
            }
            pos += put_u64(buf + pos, u);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t u = lng == 0   ? va_arg(ap, unsigned)
                         : lng == 1 ? va_arg(ap, unsigned long)
                         : lng == 2 ? va_arg(ap, unsigned long long)
                         : lng == 3 ? va_arg(ap, size_t)
                                    : (uint64_t)va_arg(ap, uintmax_t);
            pos += *f == 'u' ? put_u64(buf + pos, u) : put_hex(buf + pos, u);
            break;
        }
        default:
            return -1; /* flags, width, precision, %p, %f, %h...: vsnprintf */
        }
    }
    return (long)pos;
}

int sim_trace_add(sim_trace *t, uint64_t time, const char *actor, const char *step, const char *fmt,
                  ...)
{
    char stack[LINE_STACK];
    char *line = stack;
    size_t total = 0; /* line length without the '\n' */
    int rc = 0;

    if (!t)
        return 0; /* tracing off */
    if (!actor)
        actor = "-";
    if (!step)
        step = "-";
    if (!fmt)
        fmt = "";
    size_t alen = strlen(actor), slen = strlen(step);
    char digits[20];
    size_t tlen = put_u64(digits, time);
    size_t pre = tlen + 1 + alen + 1 + slen + 1; /* "<time> <actor> <step> " */

    va_list ap;
    va_start(ap, fmt);
    long end = -1;
    if (pre + 2 < sizeof stack) {
        char *p = stack;
        memcpy(p, digits, tlen);
        p += tlen;
        *p++ = ' ';
        memcpy(p, actor, alen);
        p += alen;
        *p++ = ' ';
        memcpy(p, step, slen);
        p += slen;
        *p++ = ' ';
        va_list ap2;
        va_copy(ap2, ap);
        end = fmt_fast(stack, sizeof stack - 2, pre, fmt, ap2); /* room for "\n\0" */
        va_end(ap2);
    }
    if (end >= 0) {
        total = (size_t)end;
    } else {
        /* Slow path: measure, then format into the stack or the heap. */
        va_list ap2;
        va_copy(ap2, ap);
        int dl = vsnprintf(NULL, 0, fmt, ap2);
        va_end(ap2);
        if (dl < 0) {
            va_end(ap);
            return -1;
        }
        total = pre + (size_t)dl;
        if (total + 2 > sizeof stack) {
            line = malloc(total + 2);
            if (!line) {
                va_end(ap);
                return -1; /* nothing hashed: the hash stays that of the lines so far */
            }
        }
        snprintf(line, pre + 1, "%" PRIu64 " %s %s ", time, actor, step);
        vsnprintf(line + pre, (size_t)dl + 1, fmt, ap);
    }
    va_end(ap);
    flatten(line, total);
    line[total] = '\n';
    line[total + 1] = '\0';

    XXH64_update(t->xx, line, total + 1);
    t->steps++;
    if (t->keep)
        rc = keep_rec(t, time, line, tlen + 1, alen, tlen + 1 + alen + 1, slen, pre, total - pre);
    if (line != stack)
        free(line);
    return rc;
}

uint64_t sim_trace_hash(const sim_trace *t)
{
    return XXH64_digest(t->xx);
}

uint64_t sim_trace_steps(const sim_trace *t)
{
    return t->steps;
}

size_t sim_trace_count(const sim_trace *t)
{
    return t->n;
}

const sim_trace_rec *sim_trace_get(const sim_trace *t, size_t i)
{
    return i < t->n ? &t->recs[i] : NULL;
}

int sim_trace_write_text(const sim_trace *t, FILE *f)
{
    if (!t->keep)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const sim_trace_rec *r = &t->recs[i];
        if (fprintf(f, "%" PRIu64 " %s %s %s\n", r->time, r->actor, r->step, r->detail) < 0)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

int sim_trace_write_timeline(const sim_trace *t, FILE *f)
{
    if (!t->keep)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const sim_trace_rec *r = &t->recs[i];
        /* Integer arithmetic: seconds and microseconds, no rounding. */
        uint64_t sec = r->time / 1000000000u, usec = r->time % 1000000000u / 1000u;
        int rc;
        if (r->detail[0])
            rc = fprintf(f, "%5" PRIu64 ".%06" PRIu64 "s  %-15s %-15s %s\n", sec, usec, r->actor,
                         r->step, r->detail);
        else
            rc =
                fprintf(f, "%5" PRIu64 ".%06" PRIu64 "s  %-15s %s\n", sec, usec, r->actor, r->step);
        if (rc < 0)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

/* ---- Chrome / Perfetto export ------------------------------------------ */

/* utf8_len returns the length of the valid UTF-8 sequence at s (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* json_str makes a JSON string; bytes that are not valid UTF-8 become '?'
 * (valid multi-byte characters are kept).  O(length). */
static json_t *json_str(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_len(u + i);
        if (n == 0) {
            c[o++] = '?';
            i++;
        } else {
            memcpy(c + o, s + i, n);
            o += n;
            i += n;
        }
    }
    c[o] = '\0';
    j = json_string(c);
    free(c);
    return j;
}

/* Actor -> tid, in first-appearance order.  Open addressing on XXH64 of
 * the name; only looked up, never iterated, so the output does not depend
 * on the table's layout.  O(1) expected per lookup. */
typedef struct actor_map {
    const char **name; /* borrowed from the records */
    uint32_t *tid;
    size_t cap, n;
} actor_map;

static int map_grow(actor_map *m);

static int map_tid(actor_map *m, const char *name, uint32_t *tid, int *fresh)
{
    if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
        return -1;
    size_t mask = m->cap - 1;
    size_t i = (size_t)XXH64(name, strlen(name), 0) & mask;
    while (m->name[i]) {
        if (strcmp(m->name[i], name) == 0) {
            *tid = m->tid[i];
            *fresh = 0;
            return 0;
        }
        i = (i + 1) & mask;
    }
    m->name[i] = name;
    m->tid[i] = (uint32_t)++m->n; /* tids 1, 2, ... */
    *tid = m->tid[i];
    *fresh = 1;
    return 0;
}

static int map_grow(actor_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    const char **nn = calloc(ncap, sizeof *nn);
    uint32_t *nt = calloc(ncap, sizeof *nt);
    if (!nn || !nt) {
        free(nn);
        free(nt);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->name[i])
            continue;
        size_t j = (size_t)XXH64(m->name[i], strlen(m->name[i]), 0) & (ncap - 1);
        while (nn[j])
            j = (j + 1) & (ncap - 1);
        nn[j] = m->name[i];
        nt[j] = m->tid[i];
    }
    free(m->name);
    free(m->tid);
    m->name = nn;
    m->tid = nt;
    m->cap = ncap;
    return 0;
}

/* emit dumps one event object compactly, preceded by a separator. */
static int emit(FILE *f, json_t *ev, int *first)
{
    if (!ev)
        return -1;
    int rc = fputs(*first ? "\n" : ",\n", f) < 0 ? -1 : 0;
    *first = 0;
    if (rc == 0 && json_dumpf(ev, f, JSON_COMPACT | JSON_REAL_PRECISION(15)) < 0)
        rc = -1;
    json_decref(ev);
    return rc;
}

#define PID 1

/*
 * The envelope {"traceEvents":[...],"displayTimeUnit":"ms"} is written by
 * hand and every event is built and dumped with jansson, one per line, so
 * memory stays O(actors) instead of a whole JSON tree of the trace.
 * ts is virtual microseconds with 15 significant digits: exact to the
 * nanosecond for traces up to about 11 days of virtual time.
 */
int sim_trace_write_chrome(const sim_trace *t, FILE *f)
{
    actor_map m = {NULL, NULL, 0, 0};
    int first = 1, rc = 0;

    if (!t->keep)
        return -1;
    if (fputs("{\"traceEvents\":[", f) < 0)
        return -1;
    rc = emit(f,
              json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", "process_name", "ph", "M", "pid",
                        PID, "tid", 0, "args", "name", "ctxsim"),
              &first);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const sim_trace_rec *r = &t->recs[i];
        uint32_t tid;
        int fresh;
        if (map_tid(&m, r->actor, &tid, &fresh) < 0) {
            rc = -1;
            break;
        }
        if (fresh) {
            rc = emit(f,
                      json_pack("{s:s, s:s, s:i, s:I, s:{s:o}}", "name", "thread_name", "ph", "M",
                                "pid", PID, "tid", (json_int_t)tid, "args", "name",
                                json_str(r->actor)),
                      &first);
            if (rc == 0)
                rc = emit(f,
                          json_pack("{s:s, s:s, s:i, s:I, s:{s:I}}", "name", "thread_sort_index",
                                    "ph", "M", "pid", PID, "tid", (json_int_t)tid, "args",
                                    "sort_index", (json_int_t)tid),
                          &first);
            if (rc < 0)
                break;
        }
        rc = emit(f,
                  json_pack("{s:o, s:o, s:s, s:s, s:f, s:i, s:I, s:{s:o}}", "name",
                            json_str(r->step), "cat", json_str(r->actor), "ph", "i", "s", "t", "ts",
                            (double)r->time / 1000.0, "pid", PID, "tid", (json_int_t)tid, "args",
                            "detail", json_str(r->detail)),
                  &first);
    }
    free(m.name);
    free(m.tid);
    if (rc == 0 && fputs("\n],\"displayTimeUnit\":\"ms\"}\n", f) < 0)
        rc = -1;
    if (rc == 0 && ferror(f))
        rc = -1;
    return rc;
}
