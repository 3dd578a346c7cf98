/*
 * trace.c - the canonical run trace, its XXH64 hash, and its exports.
 *
 * Each step is formatted once as
 *   "<time_ns> <actor> <step> <detail>\n"
 * (the space before the detail is written even when the detail is empty)
 * and the concatenated text is hashed with a streaming XXH64 state, so the
 * hash equals XXH64(seed 0) of the text.  Every step of a run is hashed,
 * so this is on the simulator's hot path:
 *  - lines are formatted straight into a pending buffer inside the trace
 *    and hashed by one XXH64_update per ~HBUF_FLUSH bytes rather than one
 *    per line (the streaming hash of a text does not depend on how it is
 *    cut into updates);
 *  - the prefix and the detail are written by hand in one pass: strings
 *    and literal format text are copied byte by byte in one pass that
 *    stops only at the end, a '%' (formats) or a line break, which is
 *    written as a space right there (no strlen, memcpy or memchr passes);
 *  - fmt_fast handles the plain conversions (%d %i %u %x %c %s %% with the
 *    length modifiers l ll z j, so the PRIu64 family too), with exactly
 *    vsnprintf's output; numbers go through put_u64 (pieces of 4 and 8
 *    digits in 32-bit arithmetic, two digits per table copy).
 * Any other format (flags, width, precision, %p %f %h...), or a line that
 * does not fit in the room left in the pending buffer (at least
 * HBUF_CAP - HBUF_FLUSH bytes), takes the vsnprintf slow path, which
 * writes the same bytes; a line longer than the whole buffer is formatted
 * in a heap block and hashed directly, after the pending text.  A step
 * that is not kept allocates nothing on the fast path.  Newlines and
 * carriage returns inside actor, step or detail are written as spaces, so
 * one step is always one line.  NULL actor or step is written as "-".
 * sim_trace_add on a NULL trace does nothing and returns 0, so callers may
 * pass NULL when tracing is off.
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

#include <xxhash.h>

/* The pending buffer: text is hashed when more than HBUF_FLUSH bytes are
 * pending at the start of a step, so a step always has at least
 * HBUF_CAP - HBUF_FLUSH bytes of room for the fast path. */
#define HBUF_CAP   8192
#define HBUF_FLUSH 4096

struct sim_trace {
    XXH64_state_t *xx;   /* owned: the hash of the text before buf */
    XXH64_state_t *peek; /* owned: scratch for sim_trace_hash */
    uint64_t steps;
    int keep;
    sim_trace_rec *recs; /* owned, each rec's actor block owned */
    size_t n, cap;
    sim_trace_rec *notes; /* owned, likewise: side records, outside the text */
    size_t nnotes, capnotes;
    uint64_t last_time; /* the time of the last fast-path step... */
    size_t tlen;        /* ...and its decimal digits, reused while it lasts */
    char tdig[24];
    size_t pend;        /* bytes of buf not yet hashed */
    char buf[HBUF_CAP]; /* pending canonical text */
};

int sim_trace_new(sim_trace **out, int keep)
{
    sim_trace *t = malloc(sizeof *t);
    if (!t)
        return -1;
    memset(t, 0, offsetof(sim_trace, buf)); /* the buffer needs no clearing */
    t->xx = XXH64_createState();
    t->peek = XXH64_createState();
    if (!t->xx || !t->peek || XXH64_reset(t->xx, 0) != XXH_OK) {
        XXH64_freeState(t->xx);
        XXH64_freeState(t->peek);
        free(t);
        return -1;
    }
    t->keep = keep != 0;
    t->tdig[0] = '0'; /* last_time 0 */
    t->tlen = 1;
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
    for (size_t i = 0; i < t->nnotes; i++)
        free(t->notes[i].actor);
    free(t->notes);
    XXH64_freeState(t->xx);
    XXH64_freeState(t->peek);
    free(t);
}

/* flush hashes the pending text. */
static void flush(sim_trace *t)
{
    if (t->pend) {
        XXH64_update(t->xx, t->buf, t->pend);
        t->pend = 0;
    }
}

/* Replaces line breaks so that a step stays one line (slow path only).
 * O(len), with the common case (none) left to the vectorised memchr. */
static void flatten(char *s, size_t len)
{
    if (!memchr(s, '\n', len) && !memchr(s, '\r', len))
        return;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n' || s[i] == '\r')
            s[i] = ' ';
}

/* rec_push copies the three fields of a record (at the given offsets of
 * `line`) into one block appended to *arr (which doubles when full). */
static int rec_push(sim_trace_rec **arr, size_t *n, size_t *cap, size_t after, uint64_t time,
                    const char *line, size_t a0, size_t alen, size_t s0, size_t slen, size_t d0,
                    size_t dlen)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        if (ncap > SIZE_MAX / sizeof(sim_trace_rec))
            return -1;
        sim_trace_rec *r = realloc(*arr, ncap * sizeof *r);
        if (!r)
            return -1;
        *arr = r;
        *cap = ncap;
    }
    char *blk = malloc(alen + slen + dlen + 3);
    if (!blk)
        return -1;
    sim_trace_rec *r = &(*arr)[(*n)++];
    r->time = time;
    r->after = after;
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

/* keep_rec keeps one canonical record: the line is
 * "<time> <actor> <step> <detail>\n" with the given field offsets. */
static int keep_rec(sim_trace *t, uint64_t time, const char *line, size_t a0, size_t alen,
                    size_t s0, size_t slen, size_t d0, size_t dlen)
{
    return rec_push(&t->recs, &t->n, &t->cap, t->n, time, line, a0, alen, s0, slen, d0, dlen);
}

static const char PAIRS[201] = "00010203040506070809101112131415161718192021222324"
                               "25262728293031323334353637383940414243444546474849"
                               "50515253545556575859606162636465666768697071727374"
                               "75767778798081828384858687888990919293949596979899";

/* put_pair writes the two digits of v < 100 at p (one 2-byte copy). */
static inline void put_pair(char *p, uint32_t v)
{
    memcpy(p, PAIRS + 2 * v, 2);
}

/* put_1to4 writes v < 10^4 in decimal at p and returns the end. */
static inline char *put_1to4(char *p, uint32_t v)
{
    if (v < 100) {
        if (v < 10) {
            *p = (char)('0' + v);
            return p + 1;
        }
        put_pair(p, v);
        return p + 2;
    }
    if (v < 1000) {
        *p = (char)('0' + v / 100u);
        put_pair(p + 1, v % 100u);
        return p + 3;
    }
    put_pair(p, v / 100u);
    put_pair(p + 2, v % 100u);
    return p + 4;
}

/* put4 and put8 write v as exactly 4 or 8 digits (leading zeros). */
static inline void put4(char *p, uint32_t v)
{
    put_pair(p, v / 100u);
    put_pair(p + 2, v % 100u);
}

static inline void put8(char *p, uint32_t v)
{
    put4(p, v / 10000u);
    put4(p + 4, v % 10000u);
}

/* put_1to8 writes v < 10^8 in decimal at p and returns the end. */
static inline char *put_1to8(char *p, uint32_t v)
{
    if (v < 10000u)
        return put_1to4(p, v);
    p = put_1to4(p, v / 10000u);
    put4(p, v % 10000u);
    return p + 4;
}

/* put_u64 writes v in decimal at p (at most 20 bytes) and returns the end:
 * pieces of 4 and 8 digits in 32-bit arithmetic, two digits per table
 * copy, at most two 64-bit divisions (by a constant). */
static char *put_u64(char *p, uint64_t v)
{
    if (v < 100000000u)
        return put_1to8(p, (uint32_t)v);
    uint64_t hi = v / 100000000u;
    uint32_t lo = (uint32_t)(v % 100000000u);
    if (hi < 100000000u) {
        p = put_1to8(p, (uint32_t)hi);
    } else { /* v >= 10^16: hi < 1845 * 10^8 */
        p = put_1to4(p, (uint32_t)(hi / 100000000u));
        put8(p, (uint32_t)(hi % 100000000u));
        p += 8;
    }
    put8(p, lo);
    return p + 8;
}

/* put_hex writes v in lowercase hexadecimal at p (at most 16 bytes) and
 * returns the end. */
static char *put_hex(char *p, uint64_t v)
{
    unsigned n = (unsigned)(67 - __builtin_clzll(v | 1)) / 4; /* digits */
    for (unsigned i = n; i-- > 0; v >>= 4)
        p[i] = "0123456789abcdef"[v & 15];
    return p + n;
}

/*
 * copy_run copies s to *pp up to (not including) its end, or its first
 * '%' when pct, writing each line break as a space and nothing at or past
 * lim.  It advances *pp and returns the address of the byte it stopped at
 * ('\0' or '%'), or NULL when lim was reached first.  Eight bytes per
 * round while there is room, one at a time near lim; no byte after the
 * stopping one is read.  Each byte costs a load, one comparison and a
 * store: every byte that can stop the run or be rewritten is at most
 * '\r' (or '%' in a format), so only those bytes take the slower
 * classification.  Inlined so that pct is a constant.  O(length).
 */
static inline __attribute__((always_inline)) const char *copy_run(char **pp, const char *lim,
                                                                  const char *s, int pct)
{
    const unsigned char top = pct ? '%' : '\r'; /* no special byte above */
    char *p = *pp;
    unsigned char c;
    for (;;) {
        if (lim - p >= 8) {
#define RUN_BYTE(k)                                                                                \
    c = (unsigned char)s[k];                                                                       \
    if (c <= top && (!pct || c != ' ')) {                                                          \
        p += k;                                                                                    \
        s += k;                                                                                    \
        goto special;                                                                              \
    }                                                                                              \
    p[k] = (char)c;
            RUN_BYTE(0)
            RUN_BYTE(1)
            RUN_BYTE(2)
            RUN_BYTE(3)
            RUN_BYTE(4)
            RUN_BYTE(5)
            RUN_BYTE(6)
            RUN_BYTE(7)
#undef RUN_BYTE
            p += 8;
            s += 8;
            continue;
        }
        c = (unsigned char)*s;
        if (c <= top)
            goto special;
    plain:
        if (p >= lim)
            return NULL;
        *p++ = (char)c;
        s++;
        continue;
    special:
        if (c == '\0' || (pct && c == '%'))
            break;
        if (c == '\n' || c == '\r')
            c = ' ';
        goto plain;
    }
    *pp = p;
    return s;
}

/*
 * fmt_fast is the common case of vsnprintf, several times faster: it
 * writes the formatted text at p, never at or past lim, and returns the
 * end, with exactly vsnprintf's output with line breaks written as spaces,
 * for formats whose conversions are only %d %i %u %x %c %s %% with an
 * optional length modifier l, ll, z or j and no flags, width or precision
 * (the PRIu64 family included).  For any other format, or when the text
 * does not fit, it returns NULL and the caller falls back to vsnprintf.
 * O(length of the output).
 */
static char *fmt_fast(char *p, const char *lim, const char *f, va_list ap)
{
    for (;;) {
        f = copy_run(&p, lim, f, 1);
        if (!f)
            return NULL;
        if (*f == '\0')
            return p;
        f++;
        if (lim - p < 24) /* room for any number or character */
            return NULL;
        /* The most common conversions first: %s, then PRIu64 and PRId64
         * as glibc spells them on LP64 ("lu", "ld"). */
        if (*f == 's') {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)"; /* as glibc prints it */
            if (!copy_run(&p, lim, str, 0))
                return NULL;
            f++;
            continue;
        }
        if (*f == 'l' && f[1] == 'u') {
            p = put_u64(p, va_arg(ap, unsigned long));
            f += 2;
            continue;
        }
        if (*f == 'l' && f[1] == 'd') {
            long v = va_arg(ap, long);
            uint64_t u = (uint64_t)v;
            if (v < 0) {
                *p++ = '-';
                u = 0 - u;
            }
            p = put_u64(p, u);
            f += 2;
            continue;
        }
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
        switch (*f) {
        case '%':
            if (lng)
                return NULL;
            *p++ = '%';
            break;
        case 'c': {
            if (lng)
                return NULL;
            char c = (char)va_arg(ap, int);
            *p++ = c == '\n' || c == '\r' ? ' ' : c;
            break;
        }
        case 's': {
            if (lng)
                return NULL;
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)"; /* as glibc prints it */
            if (!copy_run(&p, lim, str, 0))
                return NULL;
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
                *p++ = '-';
                u = 0 - u;
            }
            p = put_u64(p, u);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t u = lng == 0   ? va_arg(ap, unsigned)
                         : lng == 1 ? va_arg(ap, unsigned long)
                         : lng == 2 ? va_arg(ap, unsigned long long)
                         : lng == 3 ? va_arg(ap, size_t)
                                    : (uint64_t)va_arg(ap, uintmax_t);
            p = *f == 'u' ? put_u64(p, u) : put_hex(p, u);
            break;
        }
        default:
            return NULL; /* flags, width, precision, %p, %f, %h...: vsnprintf */
        }
        f++;
    }
}

/* add_slow formats the step with snprintf/vsnprintf into the pending
 * buffer, or into a heap block hashed directly when it is longer than the
 * whole buffer.  Same bytes as the fast path. */
static int add_slow(sim_trace *t, uint64_t time, const char *actor, const char *step,
                    const char *fmt, va_list ap)
{
    size_t alen = strlen(actor), slen = strlen(step);
    char digits[24];
    size_t tlen = (size_t)(put_u64(digits, time) - digits);
    size_t pre = tlen + 1 + alen + 1 + slen + 1; /* "<time> <actor> <step> " */
    va_list ap2;
    va_copy(ap2, ap);
    int dl = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (dl < 0 || pre > SIZE_MAX - 1 - (size_t)dl)
        return -1;
    size_t total = pre + (size_t)dl; /* without the '\n' */
    if (total + 1 > HBUF_CAP - t->pend)
        flush(t);
    int heap = total + 1 > HBUF_CAP;
    char *line = heap ? malloc(total + 1) : t->buf + t->pend;
    if (!line)
        return -1; /* nothing hashed: the hash stays that of the lines so far */
    /* Each call writes its terminating '\0' where the next text (or the
     * '\n') goes, inside the total + 1 bytes. */
    snprintf(line, pre + 1, "%" PRIu64 " %s %s ", time, actor, step);
    vsnprintf(line + pre, (size_t)dl + 1, fmt, ap);
    flatten(line, total);
    line[total] = '\n';
    if (heap)
        XXH64_update(t->xx, line, total + 1); /* pend is 0: flushed above */
    else
        t->pend += total + 1;
    t->steps++;
    int rc = 0;
    if (t->keep)
        rc = keep_rec(t, time, line, tlen + 1, alen, tlen + 1 + alen + 1, slen, pre, total - pre);
    if (heap)
        free(line);
    return rc;
}

int sim_trace_add(sim_trace *t, uint64_t time, const char *actor, const char *step, const char *fmt,
                  ...)
{
    if (!t)
        return 0; /* tracing off */
    if (!actor)
        actor = "-";
    if (!step)
        step = "-";
    if (!fmt)
        fmt = "";
    if (t->pend > HBUF_FLUSH)
        flush(t);

    /* Fast path: straight into the pending buffer, '\n' at lim at most. */
    char *line = t->buf + t->pend;
    const char *lim = t->buf + HBUF_CAP - 1;
    if (time != t->last_time) { /* steps often share their time */
        t->last_time = time;
        t->tlen = (size_t)(put_u64(t->tdig, time) - t->tdig);
    }
    memcpy(line, t->tdig, sizeof t->tdig); /* room: at least HBUF_CAP - HBUF_FLUSH */
    char *p = line + t->tlen;
    *p++ = ' ';
    char *a = p, *s = NULL, *d = NULL, *end = NULL;
    if (copy_run(&p, lim, actor, 0) && p < lim) {
        *p++ = ' ';
        s = p;
        if (copy_run(&p, lim, step, 0) && p < lim) {
            *p++ = ' ';
            d = p;
            va_list ap;
            va_start(ap, fmt);
            end = fmt_fast(p, lim, fmt, ap);
            va_end(ap);
        }
    }
    if (!end) {
        va_list ap;
        va_start(ap, fmt);
        int rc = add_slow(t, time, actor, step, fmt, ap);
        va_end(ap);
        return rc;
    }
    *end = '\n';
    t->pend += (size_t)(end - line) + 1;
    t->steps++;
    if (t->keep)
        return keep_rec(t, time, line, (size_t)(a - line), (size_t)(s - 1 - a), (size_t)(s - line),
                        (size_t)(d - 1 - s), (size_t)(d - line), (size_t)(end - d));
    return 0;
}

int sim_trace_note(sim_trace *t, uint64_t time, const char *actor, const char *step,
                   const char *fmt, ...)
{
    if (!t || !t->keep)
        return 0;
    if (!actor)
        actor = "-";
    if (!step)
        step = "-";
    if (!fmt)
        fmt = "";
    va_list ap;
    va_start(ap, fmt);
    int dl = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = dl < 0 ? NULL : malloc((size_t)dl + 1);
    if (!d)
        return -1;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)dl + 1, fmt, ap);
    va_end(ap);
    flatten(d, (size_t)dl);
    size_t alen = strlen(actor), slen = strlen(step);
    char *line = malloc(alen + slen + (size_t)dl + 3);
    int rc = -1;
    if (line) {
        memcpy(line, actor, alen);
        line[alen] = ' ';
        memcpy(line + alen + 1, step, slen);
        line[alen + 1 + slen] = ' ';
        memcpy(line + alen + slen + 2, d, (size_t)dl);
        flatten(line, alen + slen + 1);
        rc = rec_push(&t->notes, &t->nnotes, &t->capnotes, t->n, time, line, 0, alen, alen + 1,
                      slen, alen + slen + 2, (size_t)dl);
    }
    free(line);
    free(d);
    return rc;
}

size_t sim_trace_note_count(const sim_trace *t)
{
    return t->nnotes;
}

const sim_trace_rec *sim_trace_note_get(const sim_trace *t, size_t i)
{
    return i < t->nnotes ? &t->notes[i] : NULL;
}

uint64_t sim_trace_hash(const sim_trace *t)
{
    if (!t->pend)
        return XXH64_digest(t->xx);
    /* The hash of the hashed text continued with the pending text. */
    XXH64_copyState(t->peek, t->xx);
    XXH64_update(t->peek, t->buf, t->pend);
    return XXH64_digest(t->peek);
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
