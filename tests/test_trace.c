/*
 * test_trace.c - the trace hash over binary step records (checked
 * against an independent encoder of the layout in sim/trace.h), the kept
 * canonical text, kept records and notes (the timeline and Perfetto
 * views: test_timeline.c, test_perfetto.c).
 */
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <xxhash.h>

#include "sim/trace.h"

/* A small growable string for the expected canonical text. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        ck_assert_ptr_nonnull(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* An independent encoder of the record layout of sim/trace.h: the bytes
 * the trace must hash. */
typedef struct bytes {
    unsigned char *b;
    size_t len, cap;
} bytes;

static void b_put(bytes *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->b = realloc(r->b, r->cap);
        ck_assert_ptr_nonnull(r->b);
    }
    memcpy(r->b + r->len, p, n);
    r->len += n;
}

static void b_u64(bytes *r, uint64_t v)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    b_put(r, le, 8);
}

static void b_str(bytes *r, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
    unsigned char le[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                           (unsigned char)(n >> 24)};
    b_put(r, le, 4);
    if (s)
        b_put(r, s, strlen(s));
}

/* b_format_id: the format's id, as trace.h defines it (an independent
 * spelling: a character-by-character rewrite, then one XXH64). */
static uint64_t b_format_id(const char *fmt)
{
    size_t n = strlen(fmt);
    char *c = malloc(n + 1), *o = c;
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n;) {
        *o++ = fmt[i];
        if (fmt[i++] != '%')
            continue;
        while (i < n && strchr("-+ #0'*.0123456789", fmt[i]))
            *o++ = fmt[i++];
        while (i < n && strchr("hljztL", fmt[i]))
            i++;
        if (i < n) {
            *o++ = fmt[i] == 'i' || fmt[i] == 'u' ? 'd' : fmt[i];
            i++;
        }
    }
    uint64_t id = XXH64(c, (size_t)(o - c), 0);
    free(c);
    return id;
}

/* b_step writes a record's header: time, actor, step, the format's id. */
static void b_step(bytes *r, uint64_t time, const char *actor, const char *step, const char *fmt)
{
    b_u64(r, time);
    b_str(r, actor);
    b_str(r, step);
    b_u64(r, b_format_id(fmt));
}

static uint64_t b_hash(const bytes *r)
{
    return XXH64(r->b, r->len, 0);
}

/* kept_text returns the trace's canonical text (caller frees). */
static char *kept_text(const sim_trace *t, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_trace_write_text(t, f), 0);
    fclose(f);
    return buf;
}

/* The scripted steps used by several tests: (time, actor, step, n). */
static const struct {
    uint64_t time;
    const char *actor, *step;
    int n;
} STEPS[] = {
    {0, "c0", "connect", 0},
    {1500000, "server", "accept", 1},
    {1500000, "c1", "connect", 2},
    {20000000, "c0", "auth", 3},
    {1234567890, "agent.r1", "emit", 4},
    {61000000000ULL, "c1", "close", 5},
};
#define NSTEPS (sizeof STEPS / sizeof STEPS[0])

static const char STEP_FMT[] = "conn=%d seq=%u";

/* add_steps adds STEPS, with their records to *ref and their text to
 * *expect (either may be NULL). */
static void add_steps(sim_trace *t, bytes *ref, text *expect)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        ck_assert_int_eq(sim_trace_add(t, STEPS[i].time, STEPS[i].actor, STEPS[i].step, STEP_FMT,
                                       STEPS[i].n, 7u * (unsigned)i),
                         0);
        if (ref) {
            b_step(ref, STEPS[i].time, STEPS[i].actor, STEPS[i].step, STEP_FMT);
            b_u64(ref, (uint64_t)(int64_t)STEPS[i].n);
            b_u64(ref, 7u * (unsigned)i);
        }
        if (expect)
            text_add(expect, "%" PRIu64 " %s %s conn=%d seq=%u\n", STEPS[i].time, STEPS[i].actor,
                     STEPS[i].step, STEPS[i].n, 7u * (unsigned)i);
    }
}

/* The hash is XXH64 of the records laid out as trace.h says, kept or
 * not; the kept text is the canonical text. */
START_TEST(test_trace_hash_is_xxh64_of_records)
{
    for (int keep = 0; keep <= 1; keep++) {
        sim_trace *t;
        bytes ref = {NULL, 0, 0};
        text expect = {NULL, 0, 0};
        ck_assert_int_eq(sim_trace_new(&t, keep), 0);
        ck_assert_uint_eq(sim_trace_hash(t), XXH64("", 0, 0));
        add_steps(t, &ref, &expect);
        ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
        ck_assert_uint_eq(sim_trace_steps(t), NSTEPS);
        ck_assert_uint_eq(sim_trace_count(t), keep ? NSTEPS : 0);
        if (keep) {
            size_t len;
            char *txt = kept_text(t, &len);
            ck_assert_uint_eq(len, expect.len);
            ck_assert_str_eq(txt, expect.s);
            free(txt);
        }
        sim_trace_free(t);
        free(ref.b);
        free(expect.s);
    }
}
END_TEST

START_TEST(test_trace_same_steps_same_hash)
{
    sim_trace *a, *b, *c;
    ck_assert_int_eq(sim_trace_new(&a, 0), 0);
    ck_assert_int_eq(sim_trace_new(&b, 1), 0);
    ck_assert_int_eq(sim_trace_new(&c, 0), 0);
    add_steps(a, NULL, NULL);
    add_steps(b, NULL, NULL);
    add_steps(c, NULL, NULL);
    ck_assert_uint_eq(sim_trace_hash(a), sim_trace_hash(b));
    /* One more step changes the hash. */
    ck_assert_int_eq(sim_trace_add(c, 61000000000ULL, "c1", "close", "x"), 0);
    ck_assert_uint_ne(sim_trace_hash(a), sim_trace_hash(c));
    sim_trace_free(a);
    sim_trace_free(b);
    sim_trace_free(c);

    /* The field boundaries are part of the record: ("ab", "c") != ("a", "bc"),
     * and so are the format and the argument values. */
    sim_trace *x[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(sim_trace_new(&x[i], 0), 0);
    sim_trace_add(x[0], 1, "ab", "c", "d");
    sim_trace_add(x[1], 1, "a", "bc", "d");
    sim_trace_add(x[2], 1, "a", "b", "n=%d", 1);
    sim_trace_add(x[3], 1, "a", "b", "n=%d", 2);
    sim_trace_add(x[4], 1, "a", "b", "m=%d", 1);
    sim_trace_add(x[5], 2, "a", "b", "n=%d", 1);
    const char *volatile none = NULL; /* hashed as NULL, not as "(null)" */
    sim_trace_add(x[6], 1, "a", "b", "%s", none);
    sim_trace_add(x[7], 1, "a", "b", "%s", "(null)");
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            ck_assert_msg(sim_trace_hash(x[i]) != sim_trace_hash(x[j]), "%d vs %d", i, j);
    for (int i = 0; i < 8; i++)
        sim_trace_free(x[i]);
}
END_TEST

/* Only a format's bytes reach the hash, never its address; and the cache
 * of parsed formats (keyed by address) never changes the record: the same
 * format at two addresses, many formats sharing cache slots, and a
 * buffer rewritten in place with a different format. */
START_TEST(test_trace_format_address_never_matters)
{
    char f1[32], f2[64], *f3 = malloc(32);
    ck_assert_ptr_nonnull(f3);
    strcpy(f1, "a=%d s=%s");
    strcpy(f2 + 5, "a=%d s=%s");
    strcpy(f3, "a=%d s=%s");
    sim_trace *a, *b;
    ck_assert_int_eq(sim_trace_new(&a, 0), 0);
    ck_assert_int_eq(sim_trace_new(&b, 1), 0);
    bytes ref = {NULL, 0, 0};
    char fmts[200][24];
    for (int round = 0; round < 3; round++) {
        sim_trace_add(a, 1, "x", "y", f1, 5, "q");
        sim_trace_add(b, 1, "x", "y", round % 2 ? f2 + 5 : f3, 5, "q");
        b_step(&ref, 1, "x", "y", f1);
        b_u64(&ref, 5);
        b_str(&ref, "q");
        for (int k = 0; k < 200; k++) { /* more formats than cache slots */
            snprintf(fmts[k], sizeof fmts[k], "k%d=%%u", k);
            sim_trace_add(a, 2, "x", "y", fmts[k], (unsigned)k);
            sim_trace_add(b, 2, "x", "y", fmts[k], (unsigned)k);
            b_step(&ref, 2, "x", "y", fmts[k]);
            b_u64(&ref, (uint64_t)k);
        }
    }
    /* The same address, another format (and other argument kinds). */
    strcpy(f1, "%s|%" PRIu64);
    sim_trace_add(a, 3, "x", "y", f1, "zz", UINT64_MAX);
    sim_trace_add(b, 3, "x", "y", f1, "zz", UINT64_MAX);
    b_step(&ref, 3, "x", "y", f1);
    b_str(&ref, "zz");
    b_u64(&ref, UINT64_MAX);
    ck_assert_uint_eq(sim_trace_hash(a), b_hash(&ref));
    ck_assert_uint_eq(sim_trace_hash(b), b_hash(&ref));
    ck_assert_str_eq(sim_trace_get(b, sim_trace_count(b) - 1)->detail, "zz|18446744073709551615");
    sim_trace_free(a);
    sim_trace_free(b);
    free(ref.b);
    free(f3);
}
END_TEST

/* Spellings of a format that print the same text from the same values
 * hash alike (the length modifiers are not part of a format's id); a
 * change of what is printed is. */
START_TEST(test_trace_format_spellings)
{
    static const char *same[][2] = {{"n=%zu", "n=%" PRId32},
                                    {"v=%lu|%i", "v=%d|%" PRId64},
                                    {"%llx", "%hhx"},
                                    {"%5.2Lf", "%5.2f"}};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        sim_trace *a, *b;
        ck_assert_int_eq(sim_trace_new(&a, 0), 0);
        ck_assert_int_eq(sim_trace_new(&b, 0), 0);
        if (k == 3) { /* a long double and a double: both hashed as the double */
            sim_trace_add(a, 1, "x", "y", same[k][0], (long double)2.5);
            sim_trace_add(b, 1, "x", "y", same[k][1], 2.5);
        } else if (k == 2) {
            sim_trace_add(a, 1, "x", "y", same[k][0], 7ULL);
            sim_trace_add(b, 1, "x", "y", same[k][1], 7);
        } else if (k == 1) {
            sim_trace_add(a, 1, "x", "y", same[k][0], 3UL, 4);
            sim_trace_add(b, 1, "x", "y", same[k][1], 3, (int64_t)4);
        } else {
            sim_trace_add(a, 1, "x", "y", same[k][0], (size_t)9);
            sim_trace_add(b, 1, "x", "y", same[k][1], (int32_t)9);
        }
        ck_assert_msg(sim_trace_hash(a) == sim_trace_hash(b), "%s vs %s", same[k][0], same[k][1]);
        sim_trace_free(a);
        sim_trace_free(b);
    }
    static const char *differ[] = {"n=%u", "n=%x", "n=%5u", "n=%-u", "m=%u", "n=%u "};
    /* The same spelling class, different printed values: -1 and 4294967295. */
    sim_trace *s1, *s2;
    ck_assert_int_eq(sim_trace_new(&s1, 0), 0);
    ck_assert_int_eq(sim_trace_new(&s2, 0), 0);
    sim_trace_add(s1, 1, "x", "y", "%d", -1);
    sim_trace_add(s2, 1, "x", "y", "%u", UINT_MAX);
    ck_assert_uint_ne(sim_trace_hash(s1), sim_trace_hash(s2));
    sim_trace_free(s1);
    sim_trace_free(s2);
    uint64_t h[6];
    for (size_t k = 0; k < 6; k++) {
        sim_trace *a;
        ck_assert_int_eq(sim_trace_new(&a, 0), 0);
        sim_trace_add(a, 1, "x", "y", differ[k], 9u);
        h[k] = sim_trace_hash(a);
        sim_trace_free(a);
        for (size_t j = 0; j < k; j++)
            ck_assert_msg(h[j] != h[k], "%s vs %s", differ[j], differ[k]);
    }
}
END_TEST

/* Every argument kind is hashed by its binary value: integers of every
 * width sign- or zero-extended, doubles by their bits, '*' widths as
 * arguments of their own, %p as a constant, %% as nothing, and formats
 * with more arguments than a cache entry holds. */
START_TEST(test_trace_argument_kinds)
{
    sim_trace *t, *u;
    ck_assert_int_eq(sim_trace_new(&t, 0), 0);
    ck_assert_int_eq(sim_trace_new(&u, 1), 0);
    bytes ref = {NULL, 0, 0};
    int obj;
    for (sim_trace *x = t; x; x = x == t ? u : NULL) {
        sim_trace_add(x, 7, "a", "s", "%d %i %c %hd %hhu", -1, INT_MIN, 'x', (short)-3,
                      (unsigned char)200);
        sim_trace_add(x, 7, "a", "s", "%u %x %X %o", UINT_MAX, 0xdeadbeefu, 1u, 8u);
        sim_trace_add(x, 7, "a", "s", "%ld %lu %lld %llx %zu %zd %jd %ju", LONG_MIN, ULONG_MAX,
                      LLONG_MIN, ULLONG_MAX, SIZE_MAX, (ssize_t)-5, INTMAX_MIN, UINTMAX_MAX);
        sim_trace_add(x, 7, "a", "s", "%.3f %e %g %5.1f", 3.14159, -0.0, 1e300, 2.5);
        sim_trace_add(x, 7, "a", "s", "%*d|%-*.*s|100%%", 6, 42, 4, 2, "abc");
        sim_trace_add(x, 7, "a", "s", "%p", x == t ? (void *)&obj : (void *)x); /* any address */
        sim_trace_add(x, 7, "a", "s", "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %s", 1,
                      2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "end");
    }
    b_step(&ref, 7, "a", "s", "%d %i %c %hd %hhu");
    b_u64(&ref, UINT64_MAX);
    b_u64(&ref, (uint64_t)(int64_t)INT_MIN);
    b_u64(&ref, 'x');
    b_u64(&ref, (uint64_t)(int64_t)-3);
    b_u64(&ref, 200);
    b_step(&ref, 7, "a", "s", "%u %x %X %o");
    b_u64(&ref, UINT_MAX);
    b_u64(&ref, 0xdeadbeefu);
    b_u64(&ref, 1);
    b_u64(&ref, 8);
    b_step(&ref, 7, "a", "s", "%ld %lu %lld %llx %zu %zd %jd %ju");
    b_u64(&ref, (uint64_t)LONG_MIN);
    b_u64(&ref, ULONG_MAX);
    b_u64(&ref, (uint64_t)LLONG_MIN);
    b_u64(&ref, ULLONG_MAX);
    b_u64(&ref, SIZE_MAX);
    b_u64(&ref, (uint64_t)(int64_t)-5);
    b_u64(&ref, (uint64_t)INTMAX_MIN);
    b_u64(&ref, UINTMAX_MAX);
    b_step(&ref, 7, "a", "s", "%.3f %e %g %5.1f");
    const double ds[] = {3.14159, -0.0, 1e300, 2.5};
    for (int i = 0; i < 4; i++) {
        uint64_t bits;
        memcpy(&bits, &ds[i], 8);
        b_u64(&ref, bits);
    }
    b_step(&ref, 7, "a", "s", "%*d|%-*.*s|100%%");
    b_u64(&ref, 6);
    b_u64(&ref, 42);
    b_u64(&ref, 4);
    b_u64(&ref, 2);
    b_str(&ref, "abc");
    b_step(&ref, 7, "a", "s", "%p");
    b_u64(&ref, UINT64_C(0x9e3779b97f4a7c15));
    b_step(&ref, 7, "a", "s", "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %s");
    for (int i = 1; i <= 18; i++)
        b_u64(&ref, (uint64_t)i);
    b_str(&ref, "end");
    ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
    ck_assert_uint_eq(sim_trace_hash(u), b_hash(&ref));
    ck_assert_str_eq(sim_trace_get(u, 4)->detail, "    42|ab  |100%");
    ck_assert_str_eq(sim_trace_get(u, 6)->detail,
                     "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 end");
    sim_trace_free(t);
    sim_trace_free(u);
    free(ref.b);
}
END_TEST

/* A detail longer than any stack buffer, and the edge cases of the kept
 * line: empty detail, NULL actor/step, embedded newlines. */
START_TEST(test_trace_long_and_odd_lines)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    bytes ref = {NULL, 0, 0};
    char *big = malloc(10001);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    big[10000] = '\0';
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 42, "actor", "step", "%s|%d", big, 9), 0);
    text_add(&expect, "42 actor step %s|9\n", big);
    b_step(&ref, 42, "actor", "step", "%s|%d");
    b_str(&ref, big);
    b_u64(&ref, 9);
    ck_assert_int_eq(sim_trace_add(t, 43, "a", "s", "%s", ""), 0);
    text_add(&expect, "43 a s \n");
    b_step(&ref, 43, "a", "s", "%s");
    b_str(&ref, "");
    ck_assert_int_eq(sim_trace_add(t, 44, NULL, NULL, "x"), 0);
    text_add(&expect, "44 - - x\n");
    b_step(&ref, 44, "-", "-", "x");
    ck_assert_int_eq(sim_trace_add(t, 45, "a", "s", "two\nlines\r"), 0);
    text_add(&expect, "45 a s two lines \n");
    b_step(&ref, 45, "a", "s", "two\nlines\r");
    ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
    size_t len;
    char *txt = kept_text(t, &len);
    ck_assert_str_eq(txt, expect.s);
    free(txt);
    const sim_trace_rec *r = sim_trace_get(t, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(strlen(r->detail), 10002);
    ck_assert_int_eq(memcmp(r->detail, big, 10000), 0);
    ck_assert_str_eq(sim_trace_get(t, 3)->detail, "two lines ");
    ck_assert_ptr_null(sim_trace_get(t, 4));
    ck_assert_int_eq(sim_trace_add(NULL, 1, "a", "b", "c"), 0); /* tracing off */
    sim_trace_free(t);
    free(expect.s);
    free(ref.b);
    free(big);
}
END_TEST

/* The kept text: the fast formatter and the vsnprintf fallback produce
 * exactly what vsnprintf produces, for every integer width and the
 * fallback formats. */
#define BOTH(fmt, ...)                                                                             \
    do {                                                                                           \
        ck_assert_int_eq(sim_trace_add(t, i, "a", "s", fmt, __VA_ARGS__), 0);                      \
        text_add(&expect, "%" PRIu64 " a s " fmt "\n", i, __VA_ARGS__);                            \
        char want_[1600];                                                                          \
        snprintf(want_, sizeof want_, fmt, __VA_ARGS__);                                           \
        if (strlen(want_) < sizeof want_ - 1)                                                      \
            ck_assert_str_eq(sim_trace_get(t, sim_trace_count(t) - 1)->detail, want_);             \
        i++;                                                                                       \
    } while (0)

static void check_text(const sim_trace *t, const text *expect)
{
    size_t len;
    char *txt = kept_text(t, &len);
    ck_assert_uint_eq(len, expect->len);
    ck_assert_int_eq(memcmp(txt, expect->s, len), 0);
    free(txt);
}

START_TEST(test_trace_formats_match_printf)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    uint64_t i = 0;
    char big[700];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    BOTH("%d %i %d", INT_MIN, INT_MAX, 0);
    BOTH("%u %x %x", UINT_MAX, 0xdeadbeefu, 0u);
    BOTH("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0x10L);
    BOTH("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, 0ULL);
    BOTH("%zu %zd", SIZE_MAX, (ssize_t)-5);
    BOTH("%jd %ju", INTMAX_MIN, UINTMAX_MAX);
    BOTH("%" PRIu64 " %" PRId64 " %" PRIu32 " %" PRIx64, UINT64_MAX, INT64_MIN, UINT32_MAX,
         UINT64_C(0xabcdef0123456789));
    BOTH("%c%c 100%% %s|%s", 'x', 'y', "str", "");
    BOTH("%5d|%-4s|%.3f|%05x|%+d", 42, "ab", 3.14159, 255u, 7);    /* fallback */
    BOTH("%hd %hhu %p", (short)-3, (unsigned char)200, (void *)0); /* fallback */
    BOTH("%s", big);                                               /* longer than the stack */
    BOTH("%s%s", big, big);
    BOTH("no conversions%s", "");
    /* A prefix longer than the stack buffer. */
    ck_assert_int_eq(sim_trace_add(t, i, big, "s", "%d", 1), 0);
    text_add(&expect, "%" PRIu64 " %s s 1\n", i, big);
    check_text(t, &expect);
    ck_assert_str_eq(sim_trace_get(t, 12)->detail, "no conversions");
    ck_assert_str_eq(sim_trace_get(t, 13)->actor, big);
    sim_trace_free(t);
    free(expect.s);
}
END_TEST

/* Every decimal length and digit-group boundary of the number formatter,
 * through each integer conversion, against vsnprintf (kept text). */
START_TEST(test_trace_numbers_every_width)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    uint64_t i = 0;
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    uint64_t p10 = 1;
    for (int e = 0; e <= 19; e++) {
        const uint64_t vs[] = {p10 - 1, p10, p10 + 1, p10 * 2 - 1, p10 * 9 + (p10 - 1) / 9 * 8};
        for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
            uint64_t v = vs[k];
            BOTH("%" PRIu64 "|%" PRId64 "|%" PRIx64 "|%llu|%lld", v, (int64_t)v, v,
                 (unsigned long long)v, -(long long)(v >> 1));
            BOTH("%zu|%zx|%ju|%jd|%u|%d|%x", (size_t)v, (size_t)v, (uintmax_t)v,
                 -(intmax_t)(v >> 1), (unsigned)v, (int)(uint32_t)v, (unsigned)v);
            ck_assert_int_eq(sim_trace_add(t, v, "a", "s", "t"), 0);
            text_add(&expect, "%" PRIu64 " a s t\n", v);
        }
        if (e < 19)
            p10 *= 10;
    }
    BOTH("%" PRIu64 " %" PRId64 " %" PRId64, UINT64_MAX, INT64_MIN, INT64_MAX);
    check_text(t, &expect);
    sim_trace_free(t);
    free(expect.s);
}
END_TEST

/* Line breaks anywhere in a kept step (actor, step, format text, %s, %c),
 * on the fast path and on the vsnprintf path, are written as spaces; other
 * control characters and '%' inside strings are kept.  The hash sees the
 * bytes as given. */
START_TEST(test_trace_line_breaks_every_field)
{
    sim_trace *t, *plain;
    text expect = {NULL, 0, 0};
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_new(&plain, 0), 0);
    for (sim_trace *x = t; x; x = x == t ? plain : NULL) {
        sim_trace_add(x, 1, "a\nb\r", "\r\ns", "x\ny%s|%c%c|%d\r", "1\n2\r3\t4%d%%", '\n', '\r', 5);
        sim_trace_add(x, 2, "a\nb", "s\r", "%5s|%s\n", "x\ny", "\r"); /* vsnprintf path */
    }
    text_add(&expect, "1 a b    s x y1 2 3\t4%%d%%%%|  |5 \n");
    text_add(&expect, "2 a b s    x y|  \n");
    check_text(t, &expect);
    ck_assert_uint_eq(sim_trace_hash(t), sim_trace_hash(plain));
    const sim_trace_rec *r = sim_trace_get(t, 0);
    ck_assert_str_eq(r->actor, "a b ");
    ck_assert_str_eq(r->step, "  s");
    ck_assert_str_eq(r->detail, "x y1 2 3\t4%d%%|  |5 ");
    r = sim_trace_get(t, 1);
    ck_assert_str_eq(r->actor, "a b");
    ck_assert_str_eq(r->step, "s ");
    ck_assert_str_eq(r->detail, "  x y|  ");
    /* A line break is a byte of the record: "a\nb" and "a b" differ. */
    sim_trace *u, *v;
    ck_assert_int_eq(sim_trace_new(&u, 0), 0);
    ck_assert_int_eq(sim_trace_new(&v, 0), 0);
    sim_trace_add(u, 1, "a\nb", "s", "x");
    sim_trace_add(v, 1, "a b", "s", "x");
    ck_assert_uint_ne(sim_trace_hash(u), sim_trace_hash(v));
    sim_trace_free(u);
    sim_trace_free(v);
    sim_trace_free(t);
    sim_trace_free(plain);
    free(expect.s);
}
END_TEST

/* Records are hashed in chunks: the hash must not depend on where the
 * chunks end.  Strings of every length around the pending buffer's flush
 * point and size, with the hash read (and so the pending bytes peeked at)
 * between steps, kept and not. */
START_TEST(test_trace_chunk_boundaries_and_long_strings)
{
    enum { BIG = 20000 };
    char *big = malloc(BIG + 1);
    ck_assert_ptr_nonnull(big);
    for (int k = 0; k < BIG; k++)
        big[k] = (char)('A' + k % 23);
    big[BIG] = '\0';
    static const size_t lens[] = {0,    1,    7,    8,    9,    100,   3000,  3060,
                                  3070, 3080, 4070, 4080, 4090, 4094,  4095,  4096,
                                  4097, 4100, 8190, 8192, 8193, 12000, 16384, 19999};
    for (int keep = 0; keep <= 1; keep++) {
        sim_trace *t;
        bytes ref = {NULL, 0, 0};
        text expect = {NULL, 0, 0};
        uint64_t steps = 0;
        ck_assert_int_eq(sim_trace_new(&t, keep), 0);
        for (int round = 0; round < 3; round++) {
            for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
                size_t n = lens[k] - (size_t)round;
                if (n > BIG)
                    continue;
                char save = big[n];
                big[n] = '\0';
                uint64_t time = 1000 * (uint64_t)k + (uint64_t)round;
                const char *actor = k % 2 ? big : "act"; /* long actors too */
                ck_assert_int_eq(sim_trace_add(t, time, actor, "stp", "%s|%d", big, 7), 0);
                b_step(&ref, time, actor, "stp", "%s|%d");
                b_str(&ref, big);
                b_u64(&ref, 7);
                text_add(&expect, "%" PRIu64 " %s stp %s|7\n", time, actor, big);
                steps++;
                /* Short steps in between move the chunk boundary. */
                for (size_t m = 0; m < k * 13 % 37; m++) {
                    ck_assert_int_eq(sim_trace_add(t, time, "c", "s", "m=%zu", m), 0);
                    b_step(&ref, time, "c", "s", "m=%zu");
                    b_u64(&ref, m);
                    text_add(&expect, "%" PRIu64 " c s m=%zu\n", time, m);
                    steps++;
                }
                big[n] = save;
                if (k % 3 == 0)
                    ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
            }
        }
        /* Many short steps: many flushes. */
        for (uint64_t k = 0; k < 5000; k++) {
            ck_assert_int_eq(sim_trace_add(t, k * 977, "client:u1.0", "receive",
                                           "ev=%" PRId64 " thread=%s seq=%" PRIu64, (int64_t)k,
                                           "t1", k * k),
                             0);
            b_step(&ref, k * 977, "client:u1.0", "receive",
                   "ev=%" PRId64 " thread=%s seq=%" PRIu64);
            b_u64(&ref, k);
            b_str(&ref, "t1");
            b_u64(&ref, k * k);
            text_add(&expect,
                     "%" PRIu64 " client:u1.0 receive ev=%" PRId64 " thread=t1 seq=%" PRIu64 "\n",
                     k * 977, (int64_t)k, k * k);
            steps++;
            if (k % 997 == 0)
                ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
        }
        ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref));
        ck_assert_uint_eq(sim_trace_hash(t), b_hash(&ref)); /* no effect */
        ck_assert_uint_eq(sim_trace_steps(t), steps);
        if (keep)
            check_text(t, &expect);
        sim_trace_free(t);
        free(ref.b);
        free(expect.s);
    }
    free(big);
}
END_TEST

START_TEST(test_trace_keep_records_and_text)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    add_steps(t, NULL, &expect);
    for (size_t i = 0; i < NSTEPS; i++) {
        const sim_trace_rec *r = sim_trace_get(t, i);
        ck_assert_uint_eq(r->time, STEPS[i].time);
        ck_assert_str_eq(r->actor, STEPS[i].actor);
        ck_assert_str_eq(r->step, STEPS[i].step);
    }
    check_text(t, &expect);
    free(expect.s);
    sim_trace_free(t);
}
END_TEST

START_TEST(test_trace_exports_need_keep)
{
    sim_trace *t;
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_trace_new(&t, 0), 0);
    add_steps(t, NULL, NULL);
    ck_assert_int_eq(sim_trace_write_text(t, f), -1);
    ck_assert_ptr_null(sim_trace_get(t, 0));
    /* Notes are kept only in keep mode too. */
    ck_assert_int_eq(sim_trace_note(t, 5, "core", "state", "conn=%d", 1), 0);
    ck_assert_uint_eq(sim_trace_note_count(t), 0);
    ck_assert_ptr_null(sim_trace_note_get(t, 0));
    ck_assert_int_eq(sim_trace_note(NULL, 5, "core", "state", "x"), 0);
    fclose(f);
    sim_trace_free(t);
}
END_TEST

/* Notes sit between the records they were added between, and change
 * neither the hash, the step count, the records nor the canonical text. */
START_TEST(test_trace_notes_are_outside_the_text)
{
    sim_trace *a, *b;
    ck_assert_int_eq(sim_trace_new(&a, 1), 0);
    ck_assert_int_eq(sim_trace_new(&b, 1), 0);
    for (size_t i = 0; i < NSTEPS; i++) {
        for (sim_trace *t = a; t; t = t == a ? b : NULL)
            ck_assert_int_eq(sim_trace_add(t, STEPS[i].time, STEPS[i].actor, STEPS[i].step,
                                           "conn=%d", STEPS[i].n),
                             0);
        if (i % 2 == 0) /* a note after every other record, one with a line break */
            ck_assert_int_eq(sim_trace_note(b, STEPS[i].time, "core", "state",
                                            "conn=%zu state=%s\nnext", i, "READY"),
                             0);
    }
    ck_assert_uint_eq(sim_trace_hash(a), sim_trace_hash(b));
    ck_assert_uint_eq(sim_trace_steps(a), sim_trace_steps(b));
    ck_assert_uint_eq(sim_trace_count(b), NSTEPS);
    ck_assert_uint_eq(sim_trace_note_count(b), (NSTEPS + 1) / 2);
    for (size_t k = 0; k < sim_trace_note_count(b); k++) {
        const sim_trace_rec *n = sim_trace_note_get(b, k);
        ck_assert_uint_eq(n->after, 2 * k + 1); /* after record 2k */
        ck_assert_uint_eq(n->time, STEPS[2 * k].time);
        ck_assert_str_eq(n->actor, "core");
        ck_assert_str_eq(n->step, "state");
        char want[64];
        snprintf(want, sizeof want, "conn=%zu state=READY next", 2 * k);
        ck_assert_str_eq(n->detail, want);
    }
    ck_assert_ptr_null(sim_trace_note_get(b, sim_trace_note_count(b)));
    for (size_t i = 0; i < NSTEPS; i++)
        ck_assert_uint_eq(sim_trace_get(b, i)->after, i);
    char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
    ck_assert_int_eq(sim_trace_write_text(a, fa), 0);
    ck_assert_int_eq(sim_trace_write_text(b, fb), 0);
    fclose(fa);
    fclose(fb);
    ck_assert_str_eq(ta, tb);
    ck_assert_ptr_null(strstr(tb, "state"));
    free(ta);
    free(tb);
    sim_trace_free(a);
    sim_trace_free(b);
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_trace_hash_is_xxh64_of_records);
    tcase_add_test(tc, test_trace_same_steps_same_hash);
    tcase_add_test(tc, test_trace_format_address_never_matters);
    tcase_add_test(tc, test_trace_format_spellings);
    tcase_add_test(tc, test_trace_argument_kinds);
    tcase_add_test(tc, test_trace_long_and_odd_lines);
    tcase_add_test(tc, test_trace_formats_match_printf);
    tcase_add_test(tc, test_trace_numbers_every_width);
    tcase_add_test(tc, test_trace_line_breaks_every_field);
    tcase_add_test(tc, test_trace_chunk_boundaries_and_long_strings);
    tcase_add_test(tc, test_trace_keep_records_and_text);
    tcase_add_test(tc, test_trace_exports_need_keep);
    tcase_add_test(tc, test_trace_notes_are_outside_the_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
