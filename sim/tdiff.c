/*
 * tdiff.c - two runs compared through their trace text (see tdiff.h).
 *
 * A run keeps its text in one buffer with one record per line (pointers
 * into the buffer).  The outcomes are read off the records that the world
 * writes (sim/world.c): "agent start msg=M run=R" (and start-http) tie a
 * run to its message, "agent emit run=R ... ev=N" numbers the events of a
 * run, "<tab> receive ev=N" is an arrival, and the oracle's verdicts
 * "oracle late|lost ev=N msg=M <tab> ..." (or "never emitted: event I of
 * msg=M <tab>") give late and lost pairs with their cause.
 */
#include "sim/tdiff.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    uint64_t time;
    const char *actor, *step, *detail; /* NUL-terminated, in the run's buffer */
    size_t line;                       /* 1-based line in the text */
} rec;

/* One (message, event index, tab) pair and what happened to it. */
typedef struct pair {
    int64_t msg;
    uint32_t index;
    char tab[40];
    uint32_t received; /* arrivals */
    uint64_t first_at; /* first arrival */
    int verdict;       /* 0 none, 1 late, 2 lost */
    char cause[96];    /* lost: "cause X (core said: Y)"; late: "arrived ... after" */
} pair;

struct sim_tdiff_run {
    char name[256];
    char *buf;
    rec *recs;
    size_t n;
    pair *pairs; /* sorted by key after the load */
    size_t npairs, cappairs;
    struct emitted {
        int64_t key[2]; /* (message, index) */
        char core[24];  /* what the core did with it: "delivered", "unroutable", ... */
    } * emitted;        /* every event emitted, sorted by key */
    size_t nemitted, capemitted;
};

/* ---- loading ---------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* field finds "key" at a word start in s and parses the integer after it. */
static int field(const char *s, const char *key, int64_t *v)
{
    size_t kl = strlen(key);
    for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
        if (p != s && p[-1] != ' ')
            continue;
        char *end;
        errno = 0;
        long long x = strtoll(p + kl, &end, 10);
        if (end == p + kl || errno)
            return -1;
        *v = x;
        return 0;
    }
    return -1;
}

/* tab_token copies the "client:..." word of s into out. */
static int tab_token(const char *s, char *out, size_t len)
{
    const char *p = strstr(s, "client:");
    if (!p)
        return -1;
    size_t n = strcspn(p, " ");
    if (n >= len)
        n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

typedef struct loader {
    int64_t *run_msg; /* run id -> message, -1 */
    size_t caprun;
    int64_t (*ev)[2]; /* event id -> (message, index) */
    size_t capev;
    uint32_t *run_next; /* run id -> events emitted so far */
    size_t capnext;
} loader;

static pair *find_or_add(sim_tdiff_run *r, int64_t msg, uint32_t index, const char *tab)
{
    /* Linear from the end: arrivals and verdicts come close to the emit. */
    for (size_t i = r->npairs; i-- > 0;)
        if (r->pairs[i].msg == msg && r->pairs[i].index == index && !strcmp(r->pairs[i].tab, tab))
            return &r->pairs[i];
    if (grow((void **)&r->pairs, &r->cappairs, r->npairs + 1, sizeof(pair)))
        return NULL;
    pair *p = &r->pairs[r->npairs++];
    memset(p, 0, sizeof *p);
    p->msg = msg;
    p->index = index;
    snprintf(p->tab, sizeof p->tab, "%s", tab);
    return p;
}

/* outcome_of reads one record into the loader's maps and the pairs. */
static int outcome_of(sim_tdiff_run *r, loader *L, const rec *x)
{
    int64_t m, run, ev, ix;
    if (!strcmp(x->actor, "agent") &&
        (!strcmp(x->step, "start") || !strcmp(x->step, "start-http"))) {
        if (field(x->detail, "msg=", &m) || field(x->detail, "run=", &run) || run < 0)
            return 0;
        size_t old = L->caprun;
        if (grow((void **)&L->run_msg, &L->caprun, (size_t)run + 1, sizeof(int64_t)))
            return -1;
        for (size_t i = old; i < L->caprun; i++)
            L->run_msg[i] = -1;
        L->run_msg[run] = m;
        return 0;
    }
    if (!strcmp(x->actor, "agent") && !strcmp(x->step, "emit")) {
        if (field(x->detail, "run=", &run) || field(x->detail, "ev=", &ev) || run < 0 || ev < 0 ||
            (size_t)run >= L->caprun)
            return 0;
        size_t old = L->capnext;
        if (grow((void **)&L->run_next, &L->capnext, (size_t)run + 1, sizeof(uint32_t)))
            return -1;
        memset(L->run_next + old, 0, (L->capnext - old) * sizeof(uint32_t));
        old = L->capev;
        if (grow((void **)&L->ev, &L->capev, (size_t)ev + 1, sizeof(L->ev[0])))
            return -1;
        for (size_t i = old; i < L->capev; i++)
            L->ev[i][0] = -1;
        L->ev[ev][0] = L->run_msg[run];
        L->ev[ev][1] = L->run_next[run]++;
        if (grow((void **)&r->emitted, &r->capemitted, r->nemitted + 1, sizeof(r->emitted[0])))
            return -1;
        struct emitted *em = &r->emitted[r->nemitted++];
        em->key[0] = L->ev[ev][0];
        em->key[1] = L->ev[ev][1];
        const char *arrow = strstr(x->detail, "-> ");
        snprintf(em->core, sizeof em->core, "%.*s", arrow ? (int)strcspn(arrow + 3, " ") : 1,
                 arrow ? arrow + 3 : "?");
        return 0;
    }
    if (!strncmp(x->actor, "client:", 7) && !strcmp(x->step, "receive")) {
        if (field(x->detail, "ev=", &ev) || ev < 0 || (size_t)ev >= L->capev || L->ev[ev][0] < 0)
            return 0;
        pair *p = find_or_add(r, L->ev[ev][0], (uint32_t)L->ev[ev][1], x->actor);
        if (!p)
            return -1;
        if (!p->received++)
            p->first_at = x->time;
        return 0;
    }
    if (!strcmp(x->actor, "oracle") && (!strcmp(x->step, "late") || !strcmp(x->step, "lost"))) {
        char tab[40];
        if (field(x->detail, "msg=", &m) || tab_token(x->detail, tab, sizeof tab))
            return 0;
        if (field(x->detail, "ev=", &ev) == 0) {
            if (ev < 0 || (size_t)ev >= L->capev || L->ev[ev][0] < 0)
                return 0;
            ix = L->ev[ev][1];
        } else if (field(x->detail, "event", &ix) != 0) { /* "never emitted: event I of" */
            return 0;
        }
        pair *p = find_or_add(r, m, (uint32_t)ix, tab);
        if (!p)
            return -1;
        p->verdict = !strcmp(x->step, "late") ? 1 : 2;
        const char *why = strstr(x->detail, p->verdict == 2 ? "cause " : "arrived ");
        snprintf(p->cause, sizeof p->cause, "%s", why ? why : "");
    }
    return 0;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    if (a->msg != b->msg)
        return a->msg < b->msg ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return strcmp(a->tab, b->tab);
}

static int cmp_key(const void *x, const void *y)
{
    const int64_t *a = x, *b = y;
    return a[0] != b[0] ? (a[0] > b[0]) - (a[0] < b[0]) : (a[1] > b[1]) - (a[1] < b[1]);
}

int sim_tdiff_parse(const char *name, const char *text, size_t len, sim_tdiff_run **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    sim_tdiff_run *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = malloc(len + 1))) {
        free(r);
        snprintf(err, errlen, "%s: out of memory", name);
        return -2;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    memcpy(r->buf, text, len);
    r->buf[len] = '\0';
    if (memchr(r->buf, '\0', len)) {
        snprintf(err, errlen, "%s: binary data, not a trace text (ctxsim replay --trace-text)",
                 name);
        sim_tdiff_free(r);
        return -1;
    }
    size_t cap = 0, line = 0;
    loader L = {0};
    int rc = 0;
    for (char *p = r->buf; *p && rc == 0;) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        line++;
        rec x = {.line = line};
        char *end;
        errno = 0;
        unsigned long long t = strtoull(p, &end, 10);
        char *actor = end + 1, *step = NULL, *sp;
        if (end == p || *p == '-' || errno || *end != ' ' || !*actor || *actor == ' ' ||
            !(sp = strchr(actor, ' ')) || sp[1] == ' ' || sp[1] == '\0') {
            snprintf(err, errlen,
                     "%s:%zu: not a trace line (expected '<time_ns> <actor> <step> <detail>', "
                     "as written by ctxsim replay --trace-text): '%.60s'",
                     name, line, p);
            rc = -1;
            break;
        }
        *sp = '\0';
        step = sp + 1;
        char *sp2 = strchr(step, ' ');
        if (sp2)
            *sp2 = '\0';
        x.time = t;
        x.actor = actor;
        x.step = step;
        x.detail = sp2 ? sp2 + 1 : "";
        if (grow((void **)&r->recs, &cap, r->n + 1, sizeof(rec))) {
            rc = -2;
            break;
        }
        r->recs[r->n++] = x;
        if (outcome_of(r, &L, &x) != 0)
            rc = -2;
        p = eol ? eol + 1 : p + strlen(p);
    }
    free(L.run_msg);
    free(L.ev);
    free(L.run_next);
    if (rc == 0 && r->n == 0) {
        snprintf(err, errlen, "%s: empty trace (no step)", name);
        rc = -1;
    }
    if (rc == -2)
        snprintf(err, errlen, "%s: out of memory", name);
    if (rc != 0) {
        sim_tdiff_free(r);
        return rc;
    }
    if (r->npairs)
        qsort(r->pairs, r->npairs, sizeof(pair), cmp_pair);
    if (r->nemitted)
        qsort(r->emitted, r->nemitted, sizeof(r->emitted[0]), cmp_key);
    *out = r;
    return 0;
}

int sim_tdiff_from_trace(const char *name, const sim_trace *t, sim_tdiff_run **out, char *err,
                         size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -2;
    }
    int wrc = sim_trace_write_text(t, f);
    fclose(f);
    if (wrc != 0) {
        free(text);
        snprintf(err, errlen, "%s: the trace was not kept", name);
        return -1;
    }
    int rc = sim_tdiff_parse(name, text, len, out, err, errlen);
    free(text);
    return rc;
}

void sim_tdiff_free(sim_tdiff_run *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->recs);
    free(r->pairs);
    free(r->emitted);
    free(r);
}

size_t sim_tdiff_records(const sim_tdiff_run *r)
{
    return r->n;
}

/* ---- comparing -------------------------------------------------------------------- */

static int same_key(const rec *x, const rec *y)
{
    return !strcmp(x->actor, y->actor) && !strcmp(x->step, y->step) &&
           !strcmp(x->detail, y->detail);
}

static int same(const rec *x, const rec *y)
{
    return x->time == y->time && same_key(x, y);
}

static void show(FILE *f, char side, const sim_tdiff_run *r, size_t i, int mark)
{
    const rec *x = &r->recs[i];
    fprintf(f, "%c %c %6zu  %4" PRIu64 ".%06" PRIu64 "  %-16s %-14s %s\n", mark ? '>' : ' ', side,
            x->line, x->time / 1000000000u, x->time % 1000000000u / 1000u, x->actor, x->step,
            x->detail);
}

static int same_step(const rec *x, const rec *y)
{
    return !strcmp(x->actor, y->actor) && !strcmp(x->step, y->step);
}

/* align: an LCS over (actor, step) of the next `window` records of each
 * side from the divergence at i; prints the records only one side has
 * (and the aligned ones whose detail differs), up to 12 lines, and sets
 * the resync point: the first aligned pair that is the same step with
 * the same detail.  Returns 0, or -1 on allocation failure. */
static int align(FILE *f, const sim_tdiff_run *a, const sim_tdiff_run *b, size_t i,
                 const sim_tdiff_opts *d, sim_tdiff_result *res)
{
    size_t na = a->n - (i < a->n ? i : a->n), nb = b->n - (i < b->n ? i : b->n);
    if (na > d->window)
        na = d->window;
    if (nb > d->window)
        nb = d->window;
    /* L[x][y]: LCS length of a[i+x..i+na) and b[i+y..i+nb). */
    uint16_t *L = calloc((na + 1) * (nb + 1), sizeof *L);
    if (!L)
        return -1;
#define LCS(x, y) L[(x) * (nb + 1) + (y)]
    for (size_t x = na; x-- > 0;)
        for (size_t y = nb; y-- > 0;)
            LCS(x, y) = same_step(&a->recs[i + x], &b->recs[i + y])
                            ? (uint16_t)(LCS(x + 1, y + 1) + 1)
                            : (LCS(x + 1, y) >= LCS(x, y + 1) ? LCS(x + 1, y) : LCS(x, y + 1));
    size_t x = 0, y = 0, shown = 0, only_a = 0, only_b = 0, changed = 0;
    fprintf(f, "aligned on (actor, step) over the next %zu of A and %zu of B:\n", na, nb);
    while (x < na || y < nb) {
        int op; /* 0 both, 1 A only, 2 B only */
        if (x < na && y < nb && same_step(&a->recs[i + x], &b->recs[i + y]))
            op = 0;
        else if (y == nb || (x < na && LCS(x + 1, y) >= LCS(x, y + 1)))
            op = 1;
        else
            op = 2;
        if (op == 0) {
            const rec *ra = &a->recs[i + x], *rb = &b->recs[i + y];
            if (same_key(ra, rb)) {
                if (res->resync_a == SIZE_MAX) {
                    res->resync_a = i + x;
                    res->resync_b = i + y;
                }
            } else {
                changed++;
                if (shown < 12) {
                    show(f, 'A', a, i + x, 0);
                    show(f, 'B', b, i + y, 0);
                    shown += 2;
                }
            }
            x++;
            y++;
        } else if (op == 1) {
            only_a++;
            if (shown++ < 12)
                show(f, 'A', a, i + x, 1);
            x++;
        } else {
            only_b++;
            if (shown++ < 12)
                show(f, 'B', b, i + y, 1);
            y++;
        }
    }
#undef LCS
    free(L);
    fprintf(f,
            "  (> marks a record only one side has: %zu only in A, %zu only in B; %zu aligned "
            "with another detail)\n",
            only_a, only_b, changed);
    if (res->resync_a == SIZE_MAX)
        fprintf(f, "no step in common within the window: the runs part ways\n");
    else
        fprintf(f, "back in step at A line %zu, B line %zu (same step, same detail)\n",
                a->recs[res->resync_a].line, b->recs[res->resync_b].line);
    return 0;
}

/* outcome_text says what happened to pair p of run r; p NULL: the pair
 * `key` (of the other run) is unknown to r. */
static void outcome_text(const sim_tdiff_run *r, const pair *p, const pair *key, char *buf,
                         size_t len)
{
    char dup[48] = "";
    if (!p) {
        int64_t k[2] = {key->msg, key->index};
        const struct emitted *em =
            r->nemitted ? bsearch(k, r->emitted, r->nemitted, sizeof *em, cmp_key) : NULL;
        if (em)
            snprintf(buf, len, "emitted (core: %s), not received, not owed to this tab", em->core);
        else
            snprintf(buf, len, "never emitted, not owed");
        return;
    }
    if (p->received > 1)
        snprintf(dup, sizeof dup, ", received %" PRIu32 " times (duplicated)", p->received);
    if (p->verdict == 2)
        snprintf(buf, len, "lost, %s%s", p->cause, dup);
    else if (p->verdict == 1)
        snprintf(buf, len, "late, %s%s", p->cause, dup);
    else
        snprintf(buf, len, "received at %.6f s%s", (double)p->first_at / 1e9, dup);
}

/* same_outcome: do two sides' pairs mean the same outcome (arrival time aside)? */
static int same_outcome(const pair *x, const pair *y)
{
    if (!x || !y)
        return x == y;
    return x->verdict == y->verdict && (x->received > 1) == (y->received > 1) &&
           (x->verdict != 2 || !strcmp(x->cause, y->cause));
}

static void tally(const sim_tdiff_run *r, uint64_t *lost, uint64_t *late, uint64_t *dup)
{
    *lost = *late = *dup = 0;
    for (size_t i = 0; i < r->npairs; i++) {
        *lost += r->pairs[i].verdict == 2;
        *late += r->pairs[i].verdict == 1;
        *dup += r->pairs[i].received > 1;
    }
}

int sim_tdiff_compare(const sim_tdiff_run *a, const sim_tdiff_run *b, const sim_tdiff_opts *o,
                      FILE *f, sim_tdiff_result *res)
{
    sim_tdiff_opts d = {3, 20, 64};
    if (o) {
        d.context = o->context;
        d.max_events = o->max_events ? o->max_events : 20;
        d.window = o->window ? o->window : 64;
    }
    FILE *sink = f ? f : fopen("/dev/null", "w");
    if (!sink)
        return -1;
    memset(res, 0, sizeof *res);
    res->first = res->resync_a = res->resync_b = SIZE_MAX;
    res->time_a = res->time_b = UINT64_MAX;
    res->pairs_a = a->npairs;
    res->pairs_b = b->npairs;
    tally(a, &res->lost_a, &res->late_a, &res->dup_a);
    tally(b, &res->lost_b, &res->late_b, &res->dup_b);

    fprintf(sink,
            "A: %s: %zu records, %zu (event, tab) pairs: %" PRIu64 " lost, %" PRIu64
            " late, %" PRIu64 " duplicated\n",
            a->name, a->n, a->npairs, res->lost_a, res->late_a, res->dup_a);
    fprintf(sink,
            "B: %s: %zu records, %zu (event, tab) pairs: %" PRIu64 " lost, %" PRIu64
            " late, %" PRIu64 " duplicated\n",
            b->name, b->n, b->npairs, res->lost_b, res->late_b, res->dup_b);

    /* Step by step: the first record that differs. */
    size_t n = a->n < b->n ? a->n : b->n, i = 0;
    while (i < n && same(&a->recs[i], &b->recs[i]))
        i++;
    if (i < a->n || i < b->n) {
        res->first = i;
        res->time_a = i < a->n ? a->recs[i].time : UINT64_MAX;
        res->time_b = i < b->n ? b->recs[i].time : UINT64_MAX;
        uint64_t t = res->time_a < res->time_b ? res->time_a : res->time_b;
        fprintf(sink, "\nfirst divergence at record %zu (A line %zu, B line %zu), t = %.6f s:\n",
                i + 1, i < a->n ? a->recs[i].line : a->n + 1, i < b->n ? b->recs[i].line : b->n + 1,
                (double)t / 1e9);
        size_t from = i > d.context ? i - d.context : 0;
        for (size_t k = from; k < i; k++)
            show(sink, '=', a, k, 0);
        for (size_t k = i; k < a->n && k <= i + d.context; k++)
            show(sink, 'A', a, k, k == i);
        if (i >= a->n)
            fprintf(sink, "> A         (end of A)\n");
        for (size_t k = i; k < b->n && k <= i + d.context; k++)
            show(sink, 'B', b, k, k == i);
        if (i >= b->n)
            fprintf(sink, "> B         (end of B)\n");
        if (align(sink, a, b, i, &d, res) != 0) {
            if (sink != f)
                fclose(sink);
            return -1;
        }
    }

    /* Per event: merge the sorted pairs. */
    size_t ia = 0, ib = 0, shown = 0;
    while (ia < a->npairs || ib < b->npairs) {
        const pair *pa = ia < a->npairs ? &a->pairs[ia] : NULL;
        const pair *pb = ib < b->npairs ? &b->pairs[ib] : NULL;
        int c = !pa ? 1 : !pb ? -1 : cmp_pair(pa, pb);
        const pair *x = c <= 0 ? pa : NULL, *y = c >= 0 ? pb : NULL;
        ia += c <= 0;
        ib += c >= 0;
        if (same_outcome(x, y))
            continue;
        if (res->outcome_diffs++ == 0)
            fprintf(sink, "\nper event (message, event index, tab): outcomes that differ\n");
        if (shown < d.max_events) {
            const pair *k = x ? x : y;
            char sa[200], sb[200];
            outcome_text(a, x, k, sa, sizeof sa);
            outcome_text(b, y, k, sb, sizeof sb);
            fprintf(sink, "  msg=%" PRId64 " event %" PRIu32 " %s\n      A: %s\n      B: %s\n",
                    k->msg, k->index, k->tab, sa, sb);
            shown++;
        }
    }
    if (res->outcome_diffs > shown)
        fprintf(sink, "  ... and %zu more (--max-events N)\n", res->outcome_diffs - shown);
    res->identical = res->first == SIZE_MAX && res->outcome_diffs == 0;
    fprintf(sink, "\n%s", res->identical ? "identical: same steps, same outcomes\n" : "");
    if (!res->identical)
        fprintf(sink, "differ: %s; %zu (event, tab) pair(s) with another outcome\n",
                res->first == SIZE_MAX ? "same steps" : "the steps diverge", res->outcome_diffs);
    int werr = ferror(sink);
    if (sink != f)
        fclose(sink);
    if (werr)
        return -1;
    return res->identical ? 0 : 1;
}
