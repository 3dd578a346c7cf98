/*
 * test_trace.c - the canonical trace text, its XXH64 hash, kept records
 * and notes (the timeline and Perfetto views: test_timeline.c,
 * test_perfetto.c).
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

static void add_steps(sim_trace *t, text *expect)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        ck_assert_int_eq(sim_trace_add(t, STEPS[i].time, STEPS[i].actor, STEPS[i].step,
                                       "conn=%d seq=%u", STEPS[i].n, 7u * (unsigned)i),
                         0);
        if (expect)
            text_add(expect, "%" PRIu64 " %s %s conn=%d seq=%u\n", STEPS[i].time, STEPS[i].actor,
                     STEPS[i].step, STEPS[i].n, 7u * (unsigned)i);
    }
}

START_TEST(test_trace_hash_is_xxh64_of_text)
{
    for (int keep = 0; keep <= 1; keep++) {
        sim_trace *t;
        text expect = {NULL, 0, 0};
        ck_assert_int_eq(sim_trace_new(&t, keep), 0);
        ck_assert_uint_eq(sim_trace_hash(t), XXH64("", 0, 0));
        add_steps(t, &expect);
        ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
        ck_assert_uint_eq(sim_trace_steps(t), NSTEPS);
        ck_assert_uint_eq(sim_trace_count(t), keep ? NSTEPS : 0);
        sim_trace_free(t);
        free(expect.s);
    }
}
END_TEST

START_TEST(test_trace_same_lines_same_hash)
{
    sim_trace *a, *b, *c;
    ck_assert_int_eq(sim_trace_new(&a, 0), 0);
    ck_assert_int_eq(sim_trace_new(&b, 1), 0);
    ck_assert_int_eq(sim_trace_new(&c, 0), 0);
    add_steps(a, NULL);
    add_steps(b, NULL);
    add_steps(c, NULL);
    ck_assert_uint_eq(sim_trace_hash(a), sim_trace_hash(b));
    /* One more step, or a changed detail, changes the hash. */
    ck_assert_int_eq(sim_trace_add(c, 61000000000ULL, "c1", "close", "x"), 0);
    ck_assert_uint_ne(sim_trace_hash(a), sim_trace_hash(c));
    sim_trace_free(a);
    sim_trace_free(b);
    sim_trace_free(c);

    /* The field boundaries are part of the text: ("ab", "c") != ("a", "bc"). */
    ck_assert_int_eq(sim_trace_new(&a, 0), 0);
    ck_assert_int_eq(sim_trace_new(&b, 0), 0);
    sim_trace_add(a, 1, "ab", "c", "d");
    sim_trace_add(b, 1, "a", "bc", "d");
    ck_assert_uint_ne(sim_trace_hash(a), sim_trace_hash(b));
    sim_trace_free(a);
    sim_trace_free(b);
}
END_TEST

/* A detail longer than any stack buffer, and the edge cases of the line:
 * empty detail, NULL actor/step, embedded newlines. */
START_TEST(test_trace_long_and_odd_lines)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    char *big = malloc(10001);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    big[10000] = '\0';
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 42, "actor", "step", "%s|%d", big, 9), 0);
    text_add(&expect, "42 actor step %s|9\n", big);
    ck_assert_int_eq(sim_trace_add(t, 43, "a", "s", "%s", ""), 0);
    text_add(&expect, "43 a s \n");
    ck_assert_int_eq(sim_trace_add(t, 44, NULL, NULL, "x"), 0);
    text_add(&expect, "44 - - x\n");
    ck_assert_int_eq(sim_trace_add(t, 45, "a", "s", "two\nlines\r"), 0);
    text_add(&expect, "45 a s two lines \n");
    ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
    const sim_trace_rec *r = sim_trace_get(t, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(strlen(r->detail), 10002);
    ck_assert_int_eq(memcmp(r->detail, big, 10000), 0);
    ck_assert_str_eq(sim_trace_get(t, 3)->detail, "two lines ");
    ck_assert_ptr_null(sim_trace_get(t, 4));
    ck_assert_int_eq(sim_trace_add(NULL, 1, "a", "b", "c"), 0); /* tracing off */
    sim_trace_free(t);
    free(expect.s);
    free(big);
}
END_TEST

/* The fast formatter and the vsnprintf fallback produce exactly what
 * vsnprintf produces, for every integer width and the fallback formats. */
#define BOTH(fmt, ...)                                                                             \
    do {                                                                                           \
        ck_assert_int_eq(sim_trace_add(t, i, "a", "s", fmt, __VA_ARGS__), 0);                      \
        text_add(&expect, "%" PRIu64 " a s " fmt "\n", i, __VA_ARGS__);                            \
        ck_assert_msg(sim_trace_hash(t) == XXH64(expect.s, expect.len, 0), "format %s", fmt);      \
        i++;                                                                                       \
    } while (0)

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
    ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
    ck_assert_str_eq(sim_trace_get(t, 12)->detail, "no conversions");
    ck_assert_str_eq(sim_trace_get(t, 13)->actor, big);
    sim_trace_free(t);
    free(expect.s);
}
END_TEST

/* Every decimal length and digit-group boundary of the number formatter,
 * through each integer conversion, against vsnprintf. */
START_TEST(test_trace_numbers_every_width)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    uint64_t i = 0;
    ck_assert_int_eq(sim_trace_new(&t, 0), 0);
    uint64_t p10 = 1;
    for (int e = 0; e <= 19; e++) {
        const uint64_t vs[] = {p10 - 1, p10, p10 + 1, p10 * 2 - 1, p10 * 9 + (p10 - 1) / 9 * 8};
        for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
            uint64_t v = vs[k];
            BOTH("%" PRIu64 "|%" PRId64 "|%" PRIx64 "|%llu|%lld", v, (int64_t)v, v,
                 (unsigned long long)v, -(long long)(v >> 1));
            BOTH("%zu|%zx|%ju|%jd|%u|%d|%x", (size_t)v, (size_t)v, (uintmax_t)v,
                 -(intmax_t)(v >> 1), (unsigned)v, (int)(uint32_t)v, (unsigned)v);
            /* The time column too (it is cached while it repeats). */
            ck_assert_int_eq(sim_trace_add(t, v, "a", "s", "t"), 0);
            ck_assert_int_eq(sim_trace_add(t, v, "a", "s", "t"), 0);
            text_add(&expect, "%" PRIu64 " a s t\n%" PRIu64 " a s t\n", v, v);
        }
        if (e < 19)
            p10 *= 10;
    }
    BOTH("%" PRIu64 " %" PRId64 " %" PRId64, UINT64_MAX, INT64_MIN, INT64_MAX);
    ck_assert_int_eq(sim_trace_add(t, UINT64_MAX, "a", "s", "%s", ""), 0);
    ck_assert_int_eq(sim_trace_add(t, 0, "a", "s", "%s", ""), 0);
    text_add(&expect, "%" PRIu64 " a s \n0 a s \n", UINT64_MAX);
    ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
    sim_trace_free(t);
    free(expect.s);
}
END_TEST

/* Line breaks anywhere in a step (actor, step, format text, %s, %c), on
 * the fast path and on the vsnprintf path, are written as spaces; other
 * control characters and '%' inside strings are kept. */
START_TEST(test_trace_line_breaks_every_field)
{
    for (int keep = 0; keep <= 1; keep++) {
        sim_trace *t;
        text expect = {NULL, 0, 0};
        ck_assert_int_eq(sim_trace_new(&t, keep), 0);
        sim_trace_add(t, 1, "a\nb\r", "\r\ns", "x\ny%s|%c%c|%d\r", "1\n2\r3\t4%d%%", '\n', '\r', 5);
        text_add(&expect, "1 a b    s x y1 2 3\t4%%d%%%%|  |5 \n");
        sim_trace_add(t, 2, "a\nb", "s\r", "%5s|%s\n", "x\ny", "\r"); /* vsnprintf path */
        text_add(&expect, "2 a b s    x y|  \n");
        /* Runs of every length around the 8-byte rounds, line breaks at
         * every position. */
        char s[40];
        for (size_t n = 0; n < 20; n++) {
            for (size_t b = 0; b <= n; b++) {
                memset(s, 'q', n);
                if (b < n)
                    s[b] = b % 2 ? '\n' : '\r';
                s[n] = '\0';
                sim_trace_add(t, 3, s, s, "%s %s", s, s);
                if (b < n)
                    s[b] = ' ';
                text_add(&expect, "3 %s %s %s %s\n", s, s, s, s);
            }
        }
        ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
        if (keep) {
            const sim_trace_rec *r = sim_trace_get(t, 0);
            ck_assert_str_eq(r->actor, "a b ");
            ck_assert_str_eq(r->step, "  s");
            ck_assert_str_eq(r->detail, "x y1 2 3\t4%d%%|  |5 ");
            r = sim_trace_get(t, 1);
            ck_assert_str_eq(r->actor, "a b");
            ck_assert_str_eq(r->step, "s ");
            ck_assert_str_eq(r->detail, "  x y|  ");
        }
        sim_trace_free(t);
        free(expect.s);
    }
}
END_TEST

/* Lines are hashed in chunks: the hash must not depend on where the
 * chunks end.  Lines of every length around the pending buffer's flush
 * point and size (4096, 8192), on the fast and vsnprintf paths, with the
 * hash read (and so the pending text peeked at) between steps. */
START_TEST(test_trace_chunk_boundaries_and_long_lines)
{
    enum { BIG = 20000 };
    char *big = malloc(BIG + 1);
    ck_assert_ptr_nonnull(big);
    for (int k = 0; k < BIG; k++)
        big[k] = (char)('A' + k % 23);
    big[BIG] = '\0';
    static const size_t lens[] = {0,    1,    7,    8,    9,    100,   4070,  4080,
                                  4090, 4094, 4095, 4096, 4097, 4100,  8170,  8185,
                                  8190, 8191, 8192, 8193, 8200, 12000, 16384, 19999};
    for (int keep = 0; keep <= 1; keep++) {
        for (int slow = 0; slow <= 1; slow++) {
            sim_trace *t;
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
                    if (slow) /* a flag forces vsnprintf */
                        ck_assert_int_eq(sim_trace_add(t, time, "act", "stp", "%s|%+d", big, 7), 0);
                    else
                        ck_assert_int_eq(sim_trace_add(t, time, "act", "stp", "%s|%d", big, 7), 0);
                    text_add(&expect, "%" PRIu64 " act stp %s|%s7\n", time, big, slow ? "+" : "");
                    steps++;
                    /* Short lines in between move the chunk boundary. */
                    for (size_t m = 0; m < k * 13 % 37; m++) {
                        ck_assert_int_eq(sim_trace_add(t, time, "c", "s", "m=%zu", m), 0);
                        text_add(&expect, "%" PRIu64 " c s m=%zu\n", time, m);
                        steps++;
                    }
                    if (keep) {
                        const sim_trace_rec *r =
                            sim_trace_get(t, sim_trace_count(t) - 1 - k * 13 % 37);
                        ck_assert_ptr_nonnull(r);
                        ck_assert_uint_eq(strlen(r->detail), n + 2 + (size_t)slow);
                        ck_assert_int_eq(memcmp(r->detail, big, n), 0);
                        ck_assert_str_eq(r->actor, "act");
                        ck_assert_str_eq(r->step, "stp");
                    }
                    big[n] = save;
                    if (k % 3 == 0)
                        ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
                }
            }
            /* Many short lines: many flushes. */
            for (uint64_t k = 0; k < 5000; k++) {
                ck_assert_int_eq(sim_trace_add(t, k * 977, "client:u1.0", "receive",
                                               "ev=%" PRId64 " thread=%s seq=%" PRIu64, (int64_t)k,
                                               "t1", k * k),
                                 0);
                text_add(&expect,
                         "%" PRIu64 " client:u1.0 receive ev=%" PRId64 " thread=t1 seq=%" PRIu64
                         "\n",
                         k * 977, (int64_t)k, k * k);
                steps++;
                if (k % 997 == 0)
                    ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
            }
            ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
            ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0)); /* no effect */
            ck_assert_uint_eq(sim_trace_steps(t), steps);
            if (keep) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);
                ck_assert_int_eq(sim_trace_write_text(t, f), 0);
                fclose(f);
                ck_assert_uint_eq(len, expect.len);
                ck_assert_int_eq(memcmp(buf, expect.s, len), 0);
                free(buf);
            }
            sim_trace_free(t);
            free(expect.s);
        }
    }
    /* Actor and step longer than the buffer (the prefix does not fit). */
    sim_trace *t;
    text expect = {NULL, 0, 0};
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 5, "a", "s", "short"), 0);
    text_add(&expect, "5 a s short\n");
    ck_assert_int_eq(sim_trace_add(t, 6, big, "s", "%d", 1), 0);
    text_add(&expect, "6 %s s 1\n", big);
    ck_assert_int_eq(sim_trace_add(t, 7, "a", big, "%d", 2), 0);
    text_add(&expect, "7 a %s 2\n", big);
    ck_assert_int_eq(sim_trace_add(t, 8, "a", "s", "tail"), 0);
    text_add(&expect, "8 a s tail\n");
    ck_assert_uint_eq(sim_trace_hash(t), XXH64(expect.s, expect.len, 0));
    ck_assert_str_eq(sim_trace_get(t, 1)->actor, big);
    ck_assert_str_eq(sim_trace_get(t, 2)->step, big);
    ck_assert_str_eq(sim_trace_get(t, 2)->detail, "2");
    sim_trace_free(t);
    free(expect.s);
    free(big);
}
END_TEST

START_TEST(test_trace_keep_records_and_text)
{
    sim_trace *t;
    text expect = {NULL, 0, 0};
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    add_steps(t, &expect);
    for (size_t i = 0; i < NSTEPS; i++) {
        const sim_trace_rec *r = sim_trace_get(t, i);
        ck_assert_uint_eq(r->time, STEPS[i].time);
        ck_assert_str_eq(r->actor, STEPS[i].actor);
        ck_assert_str_eq(r->step, STEPS[i].step);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(sim_trace_write_text(t, f), 0);
    fclose(f);
    ck_assert_uint_eq(len, expect.len);
    ck_assert_str_eq(buf, expect.s);
    ck_assert_uint_eq(XXH64(buf, len, 0), sim_trace_hash(t));
    free(buf);
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
    add_steps(t, NULL);
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
    tcase_add_test(tc, test_trace_hash_is_xxh64_of_text);
    tcase_add_test(tc, test_trace_same_lines_same_hash);
    tcase_add_test(tc, test_trace_long_and_odd_lines);
    tcase_add_test(tc, test_trace_formats_match_printf);
    tcase_add_test(tc, test_trace_numbers_every_width);
    tcase_add_test(tc, test_trace_line_breaks_every_field);
    tcase_add_test(tc, test_trace_chunk_boundaries_and_long_lines);
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
