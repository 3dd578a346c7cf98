/*
 * trace.c - the run trace: its hash over binary step records, and, when
 * kept, the canonical text of every step and its exports.
 *
 * The hash.  Each step appends one binary record to a streaming XXH64
 * state (seed 0); the trace hash is the digest of the concatenation
 * (trace.h gives the layout).  Nothing is formatted for the hash: the
 * record holds the detail's format as a 64-bit id (the XXH64 of the
 * format string's bytes) and each argument's binary value by its
 * conversion, in the order given.  A format is parsed once per trace: a
 * small direct-mapped cache keyed by the format's address (only to find
 * the entry; the address never reaches the hash) holds its id and its
 * argument kinds.  Records are written into a pending buffer hashed by one
 * XXH64_update per ~HBUF_FLUSH bytes (the streaming hash does not depend
 * on how the bytes are cut into updates); a string longer than the room
 * left is hashed directly after the pending bytes.  A step allocates
 * nothing unless it is kept.  sim_trace_add on a NULL trace does nothing
 * and returns 0, so callers may pass NULL when tracing is off.
 *
 * The text (keep mode only): "<time_ns> <actor> <step> <detail>" with
 * exactly vsnprintf's detail, line breaks written as spaces, NULL actor
 * or step as "-".  fmt_fast formats the plain conversions (%d %i %u %x %c
 * %s %% with the length modifiers l ll z j) by hand; anything else takes
 * vsnprintf.  Each kept record is one heap block holding the three
 * strings, in an array that doubles when full.  Keeping a trace never
 * changes its hash: the record hashed is the same either way.
 */
#include "sim/trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* The pending buffer: records are hashed when more than HBUF_FLUSH bytes
 * are pending at the start of a step, so a step's fixed fields always
 * find room. */
#define HBUF_CAP   4096
#define HBUF_FLUSH 3072

/* The text scratch of keep mode (a longer detail takes vsnprintf). */
#define TBUF_CAP 2048

/* The format cache: direct mapped, FMT_SLOTS entries of at most FMT_ARGS
 * argument kinds (a format with more is parsed at every step). */
#define FMT_SLOTS 64
#define FMT_ARGS  14

/* Argument kinds (what va_arg reads and how the value is hashed). */
enum {
    K_INT = 1, /* int (d i c, h, hh; also a '*' width or precision): sign-extended */
    K_UINT,    /* unsigned int (u x X o, h, hh): zero-extended */
    K_LONG,    /* long, long long, intmax_t, ptrdiff_t, signed size_t */
    K_ULONG,   /* unsigned long, unsigned long long, uintmax_t, size_t */
    K_STR,     /* const char *: length and bytes */
    K_DBL,     /* double (f F e E g G a A): its IEEE-754 bits */
    K_LDBL,    /* long double (L): hashed as its value converted to double */
    K_PTR,     /* void * (p): an address, so hashed as a constant */
};

typedef struct fmt_desc {
    const char *fmt; /* the cache key; NULL: empty slot */
    uint64_t id;     /* XXH64 of the format's bytes */
    uint8_t n;       /* kinds, or FMT_ARGS + 1: too many, parse every time */
    uint8_t kind[FMT_ARGS];
} fmt_desc;

struct sim_trace {
    XXH64_state_t *xx;   /* owned: the hash of the records before buf */
    XXH64_state_t *peek; /* owned: scratch for sim_trace_hash and format ids */
    uint64_t steps;
    int keep;
    sim_trace_rec *recs; /* owned, each rec's actor block owned */
    size_t n, cap;
    sim_trace_rec *notes; /* owned, likewise: side records, outside the hash */
    size_t nnotes, capnotes;
    fmt_desc fmts[FMT_SLOTS];
    size_t pend;                 /* bytes of buf not yet hashed */
    unsigned char buf[HBUF_CAP]; /* pending record bytes */
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

/* ---- the binary record ---------------------------------------------------- */

/* flush hashes the pending bytes. */
static void flush(sim_trace *t)
{
    if (t->pend) {
        XXH64_update(t->xx, t->buf, t->pend);
        t->pend = 0;
    }
}

/* put64 appends v as 8 little-endian bytes (room: the caller's). */
static inline void put64(sim_trace *t, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(t->buf + t->pend, &v, 8);
    t->pend += 8;
}

/* putstr appends a string as its length (4 bytes, little-endian;
 * 0xffffffff for NULL) and its bytes; a string longer than the room left
 * is hashed directly after the pending bytes.  Leaves at least 8 bytes of
 * room.  O(length). */
static inline void putstr(sim_trace *t, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    uint32_t len = s ? (n > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)n) : UINT32_MAX;
    if (t->pend + 4 + n + 8 > HBUF_CAP)
        flush(t);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    len = __builtin_bswap32(len);
#endif
    memcpy(t->buf + t->pend, &len, 4);
    t->pend += 4;
    if (4 + n + 8 > HBUF_CAP) { /* pend is 4: hash it, then the bytes */
        flush(t);
        XXH64_update(t->xx, s, n);
    } else if (n) { /* (a NULL string has no bytes: memcpy must not see it) */
        memcpy(t->buf + t->pend, s, n);
        t->pend += n;
    }
}

/* next_conv reads the next conversion of the format from *f on
 * (advancing past it) and writes the kinds of the arguments it reads into
 * k[0..]: a '*' width, a '*' precision, then its own (none for %%).
 * Returns how many (0..3), or -1 at the end of the format.  O(the format
 * text walked). */
static int next_conv(const char **f, uint8_t k[3])
{
    const char *p = strchr(*f, '%');
    if (!p) {
        *f = "";
        return -1;
    }
    p++;
    int n = 0;
    while (*p && strchr("-+ #0'", *p)) /* flags */
        p++;
    if (*p == '*') {
        k[n++] = K_INT;
        p++;
    }
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            k[n++] = K_INT;
            p++;
        }
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int len = 0; /* 0 int (or h, hh: promoted), 2 long-sized, 3 long double */
    switch (*p) {
    case 'h':
        p += p[1] == 'h' ? 2 : 1;
        break;
    case 'l':
        len = 2;
        p += p[1] == 'l' ? 2 : 1;
        break;
    case 'j':
    case 't':
    case 'z':
        len = 2;
        p++;
        break;
    case 'L':
        len = 3;
        p++;
        break;
    default:
        break;
    }
    char c = *p;
    if (c)
        p++;
    *f = p;
    switch (c) {
    case 'd':
    case 'i':
        k[n++] = len == 2 ? K_LONG : K_INT;
        break;
    case 'c':
        k[n++] = K_INT;
        break;
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        k[n++] = len == 2 ? K_ULONG : K_UINT;
        break;
    case 's':
        k[n++] = K_STR;
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        k[n++] = len == 3 ? K_LDBL : K_DBL;
        break;
    case 'p':
        k[n++] = K_PTR;
        break;
    default: /* %%, or no conversion that reads an argument (%n is never used) */
        break;
    }
    return n;
}

/* format_id returns the id of a format: the XXH64 of its canonical
 * spelling, the format with the length modifiers of its conversions left
 * out (hh h l ll j z t L) and %i and %u written %d.  So two spellings that
 * print the same text from the same values (%zu, %" PRIu32 ", %ld, %d) have
 * one id (the values are hashed as 64-bit integers, signed ones
 * sign-extended, so -1 and 4294967295 still differ), while anything else
 * that changes the text (literal bytes, %x or %s for %d, flags, width,
 * precision) changes it.  st: scratch.
 * O(format length). */
static uint64_t format_id(XXH64_state_t *st, const char *fmt)
{
    XXH64_reset(st, 0);
    const char *p = fmt;
    for (;;) {
        const char *q = strchr(p, '%');
        if (!q) {
            XXH64_update(st, p, strlen(p));
            break;
        }
        q++;
        XXH64_update(st, p, (size_t)(q - p)); /* the text and the '%' */
        p = q;
        while (*p && strchr("-+ #0'*.0123456789", *p)) /* flags, width, precision */
            p++;
        XXH64_update(st, q, (size_t)(p - q));
        while (*p && strchr("hljztL", *p)) /* length modifiers: left out */
            p++;
        if (*p) {
            char c = *p == 'i' || *p == 'u' ? 'd' : *p; /* decimal: one class */
            XXH64_update(st, &c, 1);
            p++;
        }
    }
    return XXH64_digest(st);
}

/* describe fills d for fmt: its id and its kinds.  O(format length). */
static void describe(fmt_desc *d, const char *fmt, XXH64_state_t *scratch)
{
    d->fmt = fmt;
    d->id = format_id(scratch, fmt);
    d->n = 0;
    const char *f = fmt;
    uint8_t k[3];
    for (int m; (m = next_conv(&f, k)) >= 0;)
        for (int i = 0; i < m; i++) {
            if (d->n == FMT_ARGS) {
                d->n = FMT_ARGS + 1;
                return;
            }
            d->kind[d->n++] = k[i];
        }
}

/* PUT_ARG reads one argument of kind k and appends its binary value. */
#define PUT_ARG(t, k, ap)                                                                          \
    do {                                                                                           \
        switch (k) {                                                                               \
        case K_INT:                                                                                \
            put64(t, (uint64_t)(int64_t)va_arg(ap, int));                                          \
            break;                                                                                 \
        case K_UINT:                                                                               \
            put64(t, (uint64_t)va_arg(ap, unsigned));                                              \
            break;                                                                                 \
        case K_LONG:                                                                               \
            put64(t, (uint64_t)(int64_t)va_arg(ap, long));                                         \
            break;                                                                                 \
        case K_ULONG:                                                                              \
            put64(t, (uint64_t)va_arg(ap, unsigned long));                                         \
            break;                                                                                 \
        case K_STR:                                                                                \
            putstr(t, va_arg(ap, const char *));                                                   \
            break;                                                                                 \
        case K_DBL: {                                                                              \
            double x = va_arg(ap, double);                                                         \
            uint64_t b;                                                                            \
            memcpy(&b, &x, 8);                                                                     \
            put64(t, b);                                                                           \
            break;                                                                                 \
        }                                                                                          \
        case K_LDBL: {                                                                             \
            double x = (double)va_arg(ap, long double);                                            \
            uint64_t b;                                                                            \
            memcpy(&b, &x, 8);                                                                     \
            put64(t, b);                                                                           \
            break;                                                                                 \
        }                                                                                          \
        default: /* K_PTR: an address is not part of a run */                                      \
            (void)va_arg(ap, void *);                                                              \
            put64(t, UINT64_C(0x9e3779b97f4a7c15));                                                \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* hash_step appends the step's record (trace.h: the layout). */
static void hash_step(sim_trace *t, uint64_t time, const char *actor, const char *step,
                      const char *fmt, va_list ap)
{
    if (t->pend > HBUF_FLUSH)
        flush(t);
    put64(t, time);
    putstr(t, actor);
    putstr(t, step);
    uintptr_t key = (uintptr_t)fmt;
    fmt_desc *d = &t->fmts[((key >> 3) * UINT64_C(0x9e3779b97f4a7c15)) >> 58];
    if (d->fmt != fmt)
        describe(d, fmt, t->peek);
    if (t->pend + 8 > HBUF_CAP)
        flush(t);
    put64(t, d->id);
    if (d->n <= FMT_ARGS) {
        for (unsigned i = 0; i < d->n; i++) {
            if (t->pend + 8 > HBUF_CAP)
                flush(t);
            PUT_ARG(t, d->kind[i], ap);
        }
    } else { /* more arguments than a cache entry holds */
        const char *f = fmt;
        uint8_t k[3];
        for (int m; (m = next_conv(&f, k)) >= 0;)
            for (int i = 0; i < m; i++) {
                if (t->pend + 8 > HBUF_CAP)
                    flush(t);
                PUT_ARG(t, k[i], ap);
            }
    }
}

/* ---- the text (keep mode) ------------------------------------------------- */

/* rec_push appends a record of three strings (copied into one block, line
 * breaks written as spaces) to *arr, which doubles when full. */
static int rec_push(sim_trace_rec **arr, size_t *n, size_t *cap, size_t after, uint64_t time,
                    const char *actor, size_t alen, const char *step, size_t slen,
                    const char *detail, size_t dlen)
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
    memcpy(r->actor, actor, alen);
    r->actor[alen] = '\0';
    r->step = r->actor + alen + 1;
    memcpy(r->step, step, slen);
    r->step[slen] = '\0';
    r->detail = r->step + slen + 1;
    memcpy(r->detail, detail, dlen);
    r->detail[dlen] = '\0';
    for (char *p = blk; p < r->detail + dlen; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return 0;
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

/* keep_step formats the step's detail and keeps the record.  0 or -1. */
static int keep_step(sim_trace *t, uint64_t time, const char *actor, const char *step,
                     const char *fmt, va_list ap)
{
    char tbuf[TBUF_CAP];
    va_list ap2;
    va_copy(ap2, ap);
    char *end = fmt_fast(tbuf, tbuf + sizeof tbuf, fmt, ap2);
    va_end(ap2);
    char *d = tbuf, *heap = NULL;
    size_t dlen;
    if (end) {
        dlen = (size_t)(end - tbuf);
    } else {
        va_copy(ap2, ap);
        int dl = vsnprintf(tbuf, sizeof tbuf, fmt, ap2);
        va_end(ap2);
        if (dl < 0)
            return -1;
        dlen = (size_t)dl;
        if (dlen >= sizeof tbuf) {
            heap = malloc(dlen + 1);
            if (!heap)
                return -1;
            va_copy(ap2, ap);
            vsnprintf(heap, dlen + 1, fmt, ap2);
            va_end(ap2);
            d = heap;
        }
    }
    int rc = rec_push(&t->recs, &t->n, &t->cap, t->n, time, actor, strlen(actor), step,
                      strlen(step), d, dlen);
    free(heap);
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
    va_list ap;
    va_start(ap, fmt);
    int rc = 0;
    if (t->keep) {
        va_list ap2;
        va_copy(ap2, ap);
        rc = keep_step(t, time, actor, step, fmt, ap2);
        va_end(ap2);
    }
    hash_step(t, time, actor, step, fmt, ap);
    va_end(ap);
    t->steps++;
    return rc;
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
    int rc = rec_push(&t->notes, &t->nnotes, &t->capnotes, t->n, time, actor, strlen(actor), step,
                      strlen(step), d, (size_t)dl);
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
    /* The hash of the hashed bytes continued with the pending ones. */
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
