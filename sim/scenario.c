/*
 * scenario.c - the scenario loader: YAML (libyaml event API) -> sim_scenario.
 *
 * Two passes.  The first turns libyaml's event stream into a small tree of
 * nodes that remember their 1-based position (rejecting syntax errors, bad
 * UTF-8, anchors/aliases, tags, several documents).  The second walks the tree
 * in file order and fills a sim_scenario, stopping at the first error with
 * the position of the offending node.  Both passes are O(size of the file)
 * (thread names bound with `as` are found through a hash table, O(1)
 * expected per reference; key tables are scanned linearly, O(keys of that
 * table) per key).  Memory: about 50 bytes per byte of YAML at worst while
 * loading, which is why inputs are capped at FILE_SIZE_MAX.  On error
 * everything is freed and *out is NULL.
 */
#include "sim/scenario.h"

#include <yaml.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Nesting limit of the YAML tree itself (a scenario needs about 20). */
#define TREE_DEPTH_MAX 64
/* A scenario larger than this is refused before parsing (the tree costs
 * about 50 bytes of memory per byte of YAML in the worst case). */
#define FILE_SIZE_MAX (4u << 20)
/* Repeats nest at most this deep. */
#define REPEAT_DEPTH_MAX 8
#define REPEAT_TIMES_MAX 1000000u
#define SEEDS_MAX        1000000u
#define USERS_MAX        10000000u
/* world.c clamps a sampled count to 1..64; a constant outside is refused */
#define CLIENTS_PER_USER_MAX 64.0
/* Longest thread name bound with `as`, in bytes. */
#define THREAD_NAME_MAX 31
/* User text quoted in a message is clipped to this many bytes. */
#define CLIP_MAX 32

/* ------------------------------------------------------------------------ */
/* The tree                                                                 */

typedef enum ntype { N_SCALAR, N_SEQ, N_MAP } ntype;

typedef struct ynode {
    ntype type;
    int line, col; /* 1-based start position */
    int valcol;    /* scalar: column of the value's first byte on its line, or 0
                      when the value does not map 1:1 onto the source */
    char *str;     /* scalar value, NUL-terminated (owned) */
    size_t len;
    int plain;           /* scalar: plain style (unquoted) */
    struct ynode **kids; /* sequence items; mapping: key, value, key, value... (owned) */
    size_t n, cap;
} ynode;

static void node_free(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static int node_add(ynode *parent, ynode *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        ynode **k = realloc(parent->kids, cap * sizeof *k);
        if (!k)
            return -1;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

typedef struct lctx {
    sim_scenario_error *err;
    sim_scenario *s;
    int first_step_seen; /* a primitive step has been read (file order) */
    int *name_lines;     /* line where names[i] was bound (owned) */
    size_t names_cap;    /* capacity of s->names and name_lines */
    uint32_t *name_hash; /* open addressing: index + 1 into s->names, 0 empty (owned) */
    size_t hash_cap;     /* a power of two, kept at least twice nnames */
    int foreign_line;    /* the first `thread: foreign` (its value), 0 none */
    int foreign_col;
} lctx;

static int fail(lctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(lctx *c, int line, int col, const char *fmt, ...)
{
    va_list ap;
    c->err->line = line;
    c->err->col = col;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_nomem(lctx *c)
{
    return fail(c, 0, 0, "out of memory");
}

/* clip copies user text for a message: at most CLIP_MAX bytes (cut on a
 * UTF-8 boundary, "..." appended), control characters shown as '?'. */
static const char *clip(const char *s, size_t len, char buf[CLIP_MAX + 4])
{
    size_t n = len;
    if (n > CLIP_MAX) {
        n = CLIP_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (n < len)
        memcpy(buf + n, "...", 4);
    else
        buf[n] = '\0';
    return buf;
}

/* describe names what a node is, for "got ..." in messages. */
static const char *describe(const ynode *n, char buf[CLIP_MAX + 8])
{
    char tmp[CLIP_MAX + 4];
    if (n->type == N_SEQ)
        return "a sequence";
    if (n->type == N_MAP)
        return "a mapping";
    if (n->len == 0)
        return "an empty value";
    snprintf(buf, CLIP_MAX + 8, "'%s'", clip(n->str, n->len, tmp));
    return buf;
}

/* utf8_chars counts the characters (non-continuation bytes) of s[0..n). */
static int utf8_chars(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* ------------------------------------------------------------------------ */
/* Pass 1: libyaml events -> tree                                           */

static int mark_line(yaml_mark_t m)
{
    return (int)m.line + 1;
}

static int mark_col(yaml_mark_t m)
{
    return (int)m.column + 1;
}

/* syntax_error reports libyaml's own diagnosis.  Reader errors (bad UTF-8,
 * control characters) carry a byte offset rather than a mark: the position
 * is recomputed from the text (O(offset)). */
static int syntax_error(lctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_MEMORY_ERROR)
        return fail_nomem(c);
    if (p->error == YAML_READER_ERROR) {
        int line = 1, col = 1;
        size_t off = p->problem_offset < len ? p->problem_offset : len;
        /* libyaml points at the bad continuation byte; show where the
         * sequence starts (its leading byte) instead */
        if (strstr(problem, "trailing")) {
            while (off > 0 && ((unsigned char)text[off - 1] & 0xC0) == 0x80)
                off--;
            if (off > 0 && (unsigned char)text[off - 1] >= 0xC0)
                off--;
        }
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
                line++;
                col = 1;
            } else if (((unsigned char)text[i] & 0xC0) != 0x80 && text[i] != '\r') {
                col++;
            }
        }
        if (strstr(problem, "UTF-8"))
            return fail(c, line, col, "not valid UTF-8 at byte 0x%02x (%s); save the file as UTF-8",
                        off < len ? (unsigned char)text[off] : 0u, problem);
        return fail(c, line, col, "invalid character 0x%02x (%s)", (unsigned)p->problem_value,
                    problem);
    }
    if (p->context)
        return fail(c, mark_line(p->problem_mark), mark_col(p->problem_mark),
                    "YAML syntax error: %s (%s at line %d, column %d)", problem, p->context,
                    mark_line(p->context_mark), mark_col(p->context_mark));
    return fail(c, mark_line(p->problem_mark), mark_col(p->problem_mark), "YAML syntax error: %s",
                problem);
}

/* new_node creates a node for a scalar/sequence/mapping event, refusing
 * anchors and explicit tags. */
static int new_node(lctx *c, const yaml_event_t *ev, ynode **out)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    ynode *n;
    *out = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    default:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    }
    if (anchor)
        return fail(c, mark_line(ev->start_mark), mark_col(ev->start_mark),
                    "YAML anchors (&%.32s) are not supported in scenario files", anchor);
    if (tag)
        return fail(c, mark_line(ev->start_mark), mark_col(ev->start_mark),
                    "YAML tags (%.32s) are not supported in scenario files", tag);
    n = calloc(1, sizeof *n);
    if (!n)
        return fail_nomem(c);
    n->line = mark_line(ev->start_mark);
    n->col = mark_col(ev->start_mark);
    if (ev->type == YAML_SCALAR_EVENT) {
        const yaml_char_t *v = ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        yaml_scalar_style_t st = ev->data.scalar.style;
        int one_line = ev->start_mark.line == ev->end_mark.line;
        n->type = N_SCALAR;
        if (memchr(v, '\0', len)) {
            free(n);
            return fail(c, mark_line(ev->start_mark), mark_col(ev->start_mark),
                        "a NUL character is not allowed in a value");
        }
        n->str = malloc(len + 1);
        if (!n->str) {
            free(n);
            return fail_nomem(c);
        }
        memcpy(n->str, v, len);
        n->str[len] = '\0';
        n->len = len;
        n->plain = st == YAML_PLAIN_SCALAR_STYLE;
        /* A plain scalar on one line is its source text; a quoted one on one
         * line is too when its width is the value's plus two quotes (any
         * escape would make the source wider). */
        if (n->plain && one_line)
            n->valcol = n->col;
        else if ((st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
                 one_line &&
                 ev->end_mark.column - ev->start_mark.column == (size_t)utf8_chars(n->str, len) + 2)
            n->valcol = n->col + 1;
    } else {
        n->type = ev->type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP;
    }
    *out = n;
    return 0;
}

/* build_tree parses `text` into *root.  O(len). */
static int build_tree(lctx *c, const char *text, size_t len, ynode **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    ynode *stack[TREE_DEPTH_MAX];
    int depth = 0, docs = 0, done = 0, rc = 0;

    *root = NULL;
    /* A UTF-8 byte order mark: libyaml skips it only when it guesses the
     * encoding itself, and we insist on UTF-8 (no UTF-16 scenario files). */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (len == 0)
        return fail(c, 1, 1, "empty file (expected a scenario mapping: version: 1, name: ...)");
    if (!yaml_parser_initialize(&p))
        return fail_nomem(c);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        ynode *n = NULL;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(c, &p, text, len);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = fail(c, mark_line(ev.start_mark), mark_col(ev.start_mark),
                          "more than one YAML document (a scenario file holds exactly one)");
            break;
        case YAML_ALIAS_EVENT:
            rc = fail(c, mark_line(ev.start_mark), mark_col(ev.start_mark),
                      "YAML aliases (*%.32s) are not supported in scenario files",
                      ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            rc = new_node(c, &ev, &n);
            if (rc)
                break;
            if (depth == 0) {
                *root = n;
            } else if (node_add(stack[depth - 1], n)) {
                node_free(n);
                rc = fail_nomem(c);
                break;
            }
            if (n->type != N_SCALAR) {
                if (depth == TREE_DEPTH_MAX) {
                    rc = fail(c, n->line, n->col, "nesting deeper than %d levels", TREE_DEPTH_MAX);
                    break;
                }
                stack[depth++] = n;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc == 0 && !*root)
        rc = fail(c, 1, 1, "no YAML document (the file is blank or only comments)");
    if (rc) {
        node_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Pass 2 helpers: keys and scalar values                                   */

/* join_list writes "a, b, c" into buf, ending in ", ..." when it does not
 * fit. */
static void join_list(char *buf, size_t len, const char *const *items, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t need = strlen(items[i]) + (i ? 2 : 0);
        if (used + need + 5 >= len) {
            snprintf(buf + used, len - used, "%s...", i ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", items[i]);
    }
}

/* key_index validates key `k` of a mapping described by `where` (NULL at the
 * top level) against keys[0..nkeys): a scalar, known, not seen before.
 * seen[i] keeps the key node of keys[i].  O(nkeys). */
static int key_index(lctx *c, const ynode *k, const char *where, const char *const *keys,
                     size_t nkeys, const ynode **seen, size_t *idx)
{
    char b1[CLIP_MAX + 8], b2[CLIP_MAX + 4], list[200];
    const char *in = where ? " in " : "", *w = where ? where : "";
    if (k->type != N_SCALAR || k->len == 0)
        return fail(c, k->line, k->col, "expected a key name%s%s, got %s", in, w, describe(k, b1));
    for (size_t i = 0; i < nkeys; i++) {
        if (strcmp(k->str, keys[i]) != 0)
            continue;
        if (seen[i])
            return fail(c, k->line, k->col, "duplicate key '%s'%s%s (first at line %d)", keys[i],
                        in, w, seen[i]->line);
        seen[i] = k;
        *idx = i;
        return 0;
    }
    join_list(list, sizeof list, keys, nkeys);
    return fail(c, k->line, k->col, "unknown key '%s'%s%s (expected: %s)", clip(k->str, k->len, b2),
                in, w, list);
}

/* need_map accepts a mapping; `empty_ok`: an empty value counts as {}. */
static int need_map(lctx *c, const ynode *v, const char *path, int empty_ok)
{
    char b[CLIP_MAX + 8];
    if (v->type == N_MAP || (empty_ok && v->type == N_SCALAR && v->plain && v->len == 0))
        return 0;
    return fail(c, v->line, v->col, "expected a mapping for '%s', got %s", path, describe(v, b));
}

/* need_scalar accepts a non-empty scalar; `what` names the expected type
 * ("an integer", "a duration", ...). */
static int need_scalar(lctx *c, const ynode *v, const char *path, const char *what)
{
    char b[CLIP_MAX + 8];
    if (v->type == N_SCALAR && v->len > 0)
        return 0;
    return fail(c, v->line, v->col, "expected %s for '%s', got %s", what, path, describe(v, b));
}

static int missing(lctx *c, const ynode *m, const char *where, const char *key)
{
    if (where)
        return fail(c, m->line, m->col, "missing required key '%s' in %s", key, where);
    return fail(c, m->line, m->col, "missing required key '%s'", key);
}

/* parse_u64 parses decimal digits only (no sign, no exponent). */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -2;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* get_uint reads an integer in [lo, hi]. */
static int get_uint(lctx *c, const ynode *v, const char *path, uint64_t lo, uint64_t hi,
                    uint64_t *out)
{
    char b[CLIP_MAX + 4];
    uint64_t x = 0;
    int rc;
    if (need_scalar(c, v, path, "an integer"))
        return -1;
    rc = parse_u64(v->str, &x);
    if (rc == -1)
        return fail(c, v->line, v->col, "expected an integer for '%s', got '%s'", path,
                    clip(v->str, v->len, b));
    if (rc == -2 || x < lo || x > hi)
        return fail(c, v->line, v->col, "'%s' must be in %llu..%llu, got %s", path,
                    (unsigned long long)lo, (unsigned long long)hi, clip(v->str, v->len, b));
    *out = x;
    return 0;
}

/* get_fraction reads a decimal number in [0, 1]. */
static int get_fraction(lctx *c, const ynode *v, const char *path, double *out)
{
    char b[CLIP_MAX + 4], *end = NULL;
    double x = 0;
    int ok;
    if (need_scalar(c, v, path, "a number in [0, 1]"))
        return -1;
    /* digits, '.', sign, exponent only: no "inf", "nan", hex floats or spaces */
    ok = strspn(v->str, "0123456789.eE+-") == v->len &&
         ((v->str[0] >= '0' && v->str[0] <= '9') || v->str[0] == '.' || v->str[0] == '-');
    if (ok) {
        x = strtod(v->str, &end);
        ok = *end == '\0' && isfinite(x);
    }
    if (!ok)
        return fail(c, v->line, v->col, "expected a number in [0, 1] for '%s', got '%s'", path,
                    clip(v->str, v->len, b));
    if (x < 0.0 || x > 1.0)
        return fail(c, v->line, v->col, "'%s' must be in [0, 1], got %s", path,
                    clip(v->str, v->len, b));
    *out = x;
    return 0;
}

/* value_col maps a byte offset in a scalar's value to a column: exact for a
 * value written on one line without escapes, else the node's column. */
static int value_col(const ynode *v, size_t off)
{
    if (!v->valcol)
        return v->col;
    return v->valcol + utf8_chars(v->str, off < v->len ? off : v->len);
}

static int get_duration(lctx *c, const ynode *v, const char *path, uint64_t *out)
{
    sim_parse_error pe;
    if (need_scalar(c, v, path, "a duration"))
        return -1;
    memset(&pe, 0, sizeof pe);
    if (sim_duration_parse(v->str, out, &pe))
        return fail(c, v->line, value_col(v, pe.offset), "invalid duration for '%s': %s", path,
                    pe.msg);
    return 0;
}

static int get_dist(lctx *c, const ynode *v, const char *path, int duration, sim_dist *out)
{
    sim_parse_error pe;
    if (need_scalar(c, v, path,
                    duration ? "a duration or distribution" : "a number or distribution"))
        return -1;
    memset(&pe, 0, sizeof pe);
    if (sim_dist_parse(v->str, duration, out, &pe))
        return fail(c, v->line, value_col(v, pe.offset), "invalid distribution for '%s': %s", path,
                    pe.msg);
    return 0;
}

/* is_ident: 1..max bytes of [a-z_] (digits too when `digits`). */
static int is_ident(const char *s, size_t len, size_t max, int digits)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
              (digits && s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* policy:                                                                  */

static int lower_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b)
            return 0;
    }
    return *a == *b;
}

static int get_bool(lctx *c, const ynode *v, const char *path, uint64_t *out)
{
    static const char *const yes[] = {"true", "on", "yes", "1"}, *const no[] = {"false", "off",
                                                                                "no", "0"};
    char b[CLIP_MAX + 8];
    if (v->type == N_SCALAR)
        for (size_t i = 0; i < 4; i++) {
            if (lower_eq(v->str, yes[i])) {
                *out = 1;
                return 0;
            }
            if (lower_eq(v->str, no[i])) {
                *out = 0;
                return 0;
            }
        }
    return fail(c, v->line, v->col,
                "expected a bool for '%s' (true/false, on/off, yes/no, 1/0), got %s", path,
                describe(v, b));
}

/* get_bytes reads an integer with an optional KiB/MiB/GiB suffix. */
static int get_bytes(lctx *c, const ynode *v, const char *path, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mul;
    } units[] = {{"KiB", 1u << 10}, {"MiB", 1u << 20}, {"GiB", 1u << 30}, {"B", 1}};
    char num[32], b[CLIP_MAX + 4];
    size_t n;
    uint64_t mul = 1, x;
    int rc;
    if (need_scalar(c, v, path, "a byte count"))
        return -1;
    n = strspn(v->str, "0123456789");
    if (n > 0 && n < sizeof num && v->str[n]) {
        const char *u = v->str + n + (v->str[n] == ' ');
        mul = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(u, units[i].suffix) == 0)
                mul = units[i].mul;
    }
    if (n == 0 || n >= sizeof num || mul == 0)
        return fail(c, v->line, v->col,
                    "expected a byte count for '%s' (an integer, optionally with KiB, MiB or "
                    "GiB), got '%s'",
                    path, clip(v->str, v->len, b));
    memcpy(num, v->str, n);
    num[n] = '\0';
    rc = parse_u64(num, &x);
    if (rc || x > UINT64_MAX / mul)
        return fail(c, v->line, v->col, "'%s' is too large: %s", path, clip(v->str, v->len, b));
    *out = x * mul;
    return 0;
}

/* edit_distance between short strings (Levenshtein, O(|a|*|b|), capped at
 * 64 bytes each). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* closest returns the index of the item nearest to `name` (at most 3 edits,
 * and fewer than half the item's length), or -1.  O(n * 64 * 64). */
static int closest(const char *name, const char *const *items, size_t n)
{
    size_t bestd = 4;
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, items[i]);
        if (d < bestd && 2 * d < strlen(items[i])) {
            bestd = d;
            best = (int)i;
        }
    }
    return best;
}

/* unknown_knob reports an unknown knob with the closest name or, failing
 * that, as much of the knob list as fits. */
static int unknown_knob(lctx *c, const ynode *k)
{
    char b[CLIP_MAX + 4], list[160];
    const char *names[64];
    size_t nk = cr_policy_knob_count();
    int best;
    if (nk > 64)
        nk = 64;
    for (size_t i = 0; i < nk; i++)
        names[i] = cr_policy_knob(i)->name;
    best = closest(k->str, names, nk);
    if (best >= 0)
        return fail(c, k->line, k->col, "unknown policy knob '%s' (did you mean '%s'?)",
                    clip(k->str, k->len, b), names[best]);
    join_list(list, sizeof list, names, nk);
    return fail(c, k->line, k->col, "unknown policy knob '%s' (knobs: %s)", clip(k->str, k->len, b),
                list);
}

static int parse_policy(lctx *c, const ynode *m)
{
    sim_scenario *s = c->s;
    size_t nk = cr_policy_knob_count();
    const ynode **seen;
    char path[80];
    cr_policy scratch;
    int rc = 0;
    if (need_map(c, m, "policy", 1))
        return -1;
    if (cr_policy_init(&scratch, CR_PROFILE_FIXED) != 0)
        return fail(c, m->line, m->col, "the core has no fixed profile");
    if (m->type != N_MAP || m->n == 0)
        return 0;
    seen = calloc(nk ? nk : 1, sizeof *seen);
    s->policy = calloc(m->n / 2, sizeof *s->policy);
    if (!seen || !s->policy) {
        free(seen);
        return fail_nomem(c);
    }
    for (size_t i = 0; i < m->n; i += 2) {
        const ynode *k = m->kids[i], *v = m->kids[i + 1];
        const cr_knob_info *ki = NULL;
        sim_policy_override *o = &s->policy[s->npolicy];
        char b[CLIP_MAX + 8];
        size_t j;
        if (k->type != N_SCALAR || k->len == 0) {
            rc = fail(c, k->line, k->col, "expected a knob name in policy, got %s", describe(k, b));
            break;
        }
        for (j = 0; j < nk; j++)
            if (strcmp(k->str, cr_policy_knob(j)->name) == 0)
                break;
        if (j == nk) {
            rc = unknown_knob(c, k);
            break;
        }
        ki = cr_policy_knob(j);
        if (seen[j]) {
            rc = fail(c, k->line, k->col, "duplicate key '%s' in policy (first at line %d)",
                      ki->name, seen[j]->line);
            break;
        }
        seen[j] = k;
        snprintf(path, sizeof path, "policy.%s", ki->name);
        switch (ki->type) {
        case CR_KNOB_BOOL:
            rc = get_bool(c, v, path, &o->value);
            break;
        case CR_KNOB_COUNT: {
            char cb[CLIP_MAX + 4];
            if ((rc = need_scalar(c, v, path, "a non-negative integer")) != 0)
                break;
            if (parse_u64(v->str, &o->value))
                rc = fail(c, v->line, v->col, "expected a non-negative integer for '%s', got '%s'",
                          path, clip(v->str, v->len, cb));
            break;
        }
        case CR_KNOB_DURATION:
            /* a bare 0 needs no unit: it is how a user switches a delay off */
            if (v->type == N_SCALAR && strcmp(v->str, "0") == 0)
                o->value = 0;
            else
                rc = get_duration(c, v, path, &o->value);
            break;
        case CR_KNOB_BYTES:
            rc = get_bytes(c, v, path, &o->value);
            break;
        }
        if (rc)
            break;
        /* the core has the last word on a value (a bool must be 0 or 1...) */
        if ((rc = cr_policy_set(&scratch, ki->name, o->value)) != 0) {
            rc = fail(c, v->line, v->col, "'%s': the core refuses this value (%s)", path,
                      cr_strerror(rc));
            break;
        }
        snprintf(o->name, sizeof o->name, "%s", ki->name);
        o->line = k->line;
        o->col = k->col;
        s->npolicy++;
    }
    free(seen);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* client: steps                                                            */

static const char *const step_names[] = {
#define SIM_STEP_NAME(id, name) #name,
    SIM_STEP_KINDS(SIM_STEP_NAME)
#undef SIM_STEP_NAME
};

static const char *const ref_words[] = {
#define SIM_REF_WORD(id, keyword, doc) #keyword,
    SIM_REF_KINDS(SIM_REF_WORD)
#undef SIM_REF_WORD
};

#define SIM_STEP__N ((int)(sizeof step_names / sizeof step_names[0]))
#define SIM_REF__N  ((int)(sizeof ref_words / sizeof ref_words[0]))

const char *sim_step_kind_name(int kind)
{
    return kind >= 0 && kind < SIM_STEP__N ? step_names[kind] : NULL;
}

int sim_step_kind_lookup(const char *name)
{
    for (int i = 0; i < SIM_STEP__N; i++)
        if (strcmp(name, step_names[i]) == 0)
            return i;
    return -1;
}

const char *sim_ref_kind_name(int kind)
{
    return kind >= 0 && kind < SIM_REF__N ? ref_words[kind] : NULL;
}

int sim_ref_kind_lookup(const char *word)
{
    for (int i = 0; i < SIM_REF__N; i++)
        if (ref_words[i][0] && strcmp(word, ref_words[i]) == 0)
            return i;
    return -1;
}

/* step_list is "connect, authenticate, ..." (the table, for messages). */
static const char *step_list(void)
{
    static char list[200];
    if (!list[0])
        join_list(list, sizeof list, step_names, (size_t)SIM_STEP__N);
    return list;
}

/* ref_list is "new, same, none, foreign, sibling" (the reserved words). */
static const char *ref_list(void)
{
    static char list[120];
    const char *w[SIM_REF__N];
    size_t n = 0;
    if (!list[0]) {
        for (int i = 0; i < SIM_REF__N; i++)
            if (ref_words[i][0])
                w[n++] = ref_words[i];
        join_list(list, sizeof list, w, n);
    }
    return list;
}

static void steps_free(sim_step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        steps_free(steps[i].steps, steps[i].nsteps);
    free(steps);
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * UINT64_C(1099511628211);
    return h;
}

/* name_find looks a thread name up: O(1) expected. */
static int name_find(const lctx *c, const char *name)
{
    if (!c->hash_cap)
        return -1;
    for (size_t i = name_hash(name) & (c->hash_cap - 1);; i = (i + 1) & (c->hash_cap - 1)) {
        uint32_t e = c->name_hash[i];
        if (!e)
            return -1;
        if (strcmp(c->s->names[e - 1], name) == 0)
            return (int)(e - 1);
    }
}

/* name_hash_rebuild sizes the table for `want` names and reinserts the
 * existing ones: O(nnames), amortized O(1) per name. */
static int name_hash_rebuild(lctx *c, size_t want)
{
    size_t cap = 16;
    uint32_t *t;
    while (cap < 2 * want)
        cap *= 2;
    t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t k = 0; k < c->s->nnames; k++) {
        size_t i = name_hash(c->s->names[k]) & (cap - 1);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = (uint32_t)(k + 1);
    }
    free(c->name_hash);
    c->name_hash = t;
    c->hash_cap = cap;
    return 0;
}

static int is_reserved_ref(const char *s)
{
    return sim_ref_kind_lookup(s) >= 0;
}

/* parse_ref reads a thread REF; names must have been bound earlier. */
static int parse_ref(lctx *c, const ynode *v, sim_thread_ref *ref)
{
    char b[CLIP_MAX + 4];
    ref->name = -1;
    ref->as = -1;
    char what[160];
    snprintf(what, sizeof what, "a thread reference (%s or a name)", ref_list());
    if (need_scalar(c, v, "thread", what))
        return -1;
    int kind = sim_ref_kind_lookup(v->str);
    if (kind == SIM_REF_FOREIGN && !c->foreign_line) {
        c->foreign_line = v->line; /* checked against users once the file is read */
        c->foreign_col = v->col;
    }
    if (kind >= 0)
        ref->kind = (sim_ref_kind)kind;
    else if (is_ident(v->str, v->len, THREAD_NAME_MAX, 1)) {
        ref->kind = SIM_REF_NAMED;
        ref->name = name_find(c, v->str);
        if (ref->name < 0)
            return fail(c, v->line, v->col, "unknown thread name '%s' (bind it with as: first)",
                        v->str);
    } else
        return fail(c, v->line, v->col,
                    "invalid thread reference '%s' (expected %s or a name bound with as:)",
                    clip(v->str, v->len, b), ref_list());
    return 0;
}

/* bind_name records `as: NAME` (file order) and returns its index. */
static int bind_name(lctx *c, const ynode *v, int *idx)
{
    sim_scenario *s = c->s;
    char b[CLIP_MAX + 4], **names;
    int *lines, prev;
    if (need_scalar(c, v, "as", "a thread name"))
        return -1;
    if (!is_ident(v->str, v->len, THREAD_NAME_MAX, 1))
        return fail(c, v->line, v->col,
                    "invalid thread name '%s' (use a-z, 0-9 and _ only, at most %d characters)",
                    clip(v->str, v->len, b), THREAD_NAME_MAX);
    if (is_reserved_ref(v->str))
        return fail(c, v->line, v->col,
                    "'%s' is a reserved thread reference; choose another name for as:", v->str);
    prev = name_find(c, v->str);
    if (prev >= 0)
        return fail(c, v->line, v->col,
                    "thread name '%s' is already bound at line %d (names must be unique)", v->str,
                    c->name_lines[prev]);
    if (s->nnames == c->names_cap) {
        size_t cap = c->names_cap ? 2 * c->names_cap : 8;
        names = realloc(s->names, cap * sizeof *names);
        if (!names)
            return fail_nomem(c);
        s->names = names;
        lines = realloc(c->name_lines, cap * sizeof *lines);
        if (!lines)
            return fail_nomem(c);
        c->name_lines = lines;
        c->names_cap = cap;
    }
    if (2 * (s->nnames + 1) > c->hash_cap && name_hash_rebuild(c, s->nnames + 1))
        return fail_nomem(c);
    s->names[s->nnames] = strdup(v->str);
    if (!s->names[s->nnames])
        return fail_nomem(c);
    c->name_lines[s->nnames] = v->line;
    {
        size_t i = name_hash(v->str) & (c->hash_cap - 1);
        while (c->name_hash[i])
            i = (i + 1) & (c->hash_cap - 1);
        c->name_hash[i] = (uint32_t)(s->nnames + 1);
    }
    *idx = (int)s->nnames++;
    return 0;
}

/* parse_thread_args reads {thread: REF, as: NAME[, via: ws|http]} of a send
 * (`is_send`) or switch step. */
static int parse_thread_args(lctx *c, const ynode *m, int is_send, sim_step *st)
{
    static const char *const keys[] = {"thread", "as", "via"};
    const char *what = is_send ? "send" : "switch";
    const ynode *seen[3] = {NULL, NULL, NULL}, *val[3] = {NULL, NULL, NULL};
    char b[CLIP_MAX + 8];
    if (m->type != N_MAP)
        return fail(c, m->line, m->col, "expected a mapping for '%s' (like {thread: new}), got %s",
                    what, describe(m, b));
    for (size_t i = 0; i < m->n; i += 2) {
        size_t idx;
        if (key_index(c, m->kids[i], what, keys, is_send ? 3 : 2, seen, &idx))
            return -1;
        val[idx] = m->kids[i + 1];
    }
    if (!val[0])
        return missing(c, m, what, "thread");
    if (parse_ref(c, val[0], &st->ref))
        return -1;
    if (!is_send && st->ref.kind == SIM_REF_NONE)
        return fail(c, val[0]->line, val[0]->col,
                    "switch needs a thread to view: new, same, foreign, sibling or a bound name "
                    "(none is only for send)");
    if (val[1]) {
        if (st->ref.kind != SIM_REF_NEW)
            return fail(c, seen[1]->line, seen[1]->col,
                        "'as' names a new thread; it needs thread: new (got thread: %s)",
                        val[0]->str);
        if (bind_name(c, val[1], &st->ref.as))
            return -1;
    }
    if (val[2]) {
        if (val[2]->type == N_SCALAR && !strcmp(val[2]->str, "http"))
            st->via_http = 1;
        else if (!(val[2]->type == N_SCALAR && !strcmp(val[2]->str, "ws")))
            return fail(c, val[2]->line, val[2]->col, "invalid via %s (expected ws or http)",
                        describe(val[2], b));
    }
    return 0;
}

static int parse_steps(lctx *c, const ynode *seq, const char *path, int depth, sim_step **out,
                       size_t *nout);

/* always_zero: every draw of d rounds to 0 ns (a wait that takes no
 * time).  NaN (a degenerate distribution) counts as 0. */
static int always_zero(const sim_dist *d)
{
    return !(sim_dist_quantile(d, 0.999999) >= 0.5) && !(sim_dist_mean(d) >= 0.5);
}

static int parse_repeat(lctx *c, const ynode *m, int depth, sim_step *st)
{
    static const char *const keys[] = {"times", "steps"};
    const ynode *seen[2] = {NULL, NULL};
    char b[CLIP_MAX + 8];
    uint64_t times = 0;
    if (m->type != N_MAP)
        return fail(c, m->line, m->col,
                    "expected a mapping for 'repeat' (like {times: 3, steps: [...]}), got %s",
                    describe(m, b));
    for (size_t i = 0; i < m->n; i += 2) {
        size_t idx;
        if (key_index(c, m->kids[i], "repeat", keys, 2, seen, &idx))
            return -1;
        if (idx == 0) {
            if (get_uint(c, m->kids[i + 1], "repeat.times", 1, REPEAT_TIMES_MAX, &times))
                return -1;
            st->times = (uint32_t)times;
        } else if (parse_steps(c, m->kids[i + 1], "repeat.steps", depth + 1, &st->steps,
                               &st->nsteps)) {
            return -1;
        }
    }
    if (!seen[0])
        return missing(c, m, "repeat", "times");
    if (!seen[1])
        return missing(c, m, "repeat", "steps");
    /* A body of zero waits only (a nested repeat passed this check, so it
     * takes time) runs every round at one instant and sends nothing: a
     * loop the engine would spin through without the world changing. */
    size_t zero = 0;
    while (zero < st->nsteps && st->steps[zero].kind == SIM_STEP_WAIT &&
           always_zero(&st->steps[zero].wait))
        zero++;
    if (zero == st->nsteps)
        return fail(c, m->line, m->col,
                    "repeat: its steps neither advance time nor send anything (only waits of 0): "
                    "its %" PRIu32 " rounds would all run at one instant; add a wait longer "
                    "than 0 or a step that sends",
                    st->times);
    return 0;
}

/* check_order applies the static order rules to primitive step `kind`, in
 * file order: the first step other than `wait` (a tab opening later) must
 * connect. */
static int check_order(lctx *c, const ynode *at, int kind)
{
    if (c->first_step_seen || kind == SIM_STEP_REPEAT || kind == SIM_STEP_WAIT)
        return 0;
    c->first_step_seen = 1;
    if (kind == SIM_STEP_RECONNECT)
        return fail(c, at->line, at->col,
                    "'reconnect' needs an earlier 'connect' (the first step must be 'connect')");
    if (kind != SIM_STEP_CONNECT)
        return fail(c, at->line, at->col,
                    "the first step other than 'wait' must be 'connect' (got '%s')",
                    step_names[kind]);
    return 0;
}

static int parse_step(lctx *c, const ynode *item, int depth, sim_step *st)
{
    static const char *const usage[] = {[SIM_STEP_SEND] = "send: {thread: new}",
                                        [SIM_STEP_SWITCH] = "switch: {thread: new}",
                                        [SIM_STEP_WAIT] = "wait: 1s",
                                        [SIM_STEP_REPEAT] = "repeat: {times: 3, steps: [...]}"};
    char b[CLIP_MAX + 8];
    const ynode *k, *v;
    int kind;

    st->line = item->line;
    st->col = item->col;
    st->ref.kind = SIM_REF_NONE;
    st->ref.name = -1;
    st->ref.as = -1;
    if (item->type == N_SEQ || (item->type == N_SCALAR && item->len == 0))
        return fail(c, item->line, item->col,
                    "expected a step (a name or a mapping with one key), got %s",
                    describe(item, b));
    if (item->type == N_SCALAR) {
        kind = sim_step_kind_lookup(item->str);
        if (kind < 0)
            return fail(c, item->line, item->col, "unknown step '%s' (expected one of: %s)",
                        clip(item->str, item->len, b), step_list());
        if (usage[kind])
            return fail(c, item->line, item->col, "step '%s' needs arguments (write '%s')",
                        step_names[kind], usage[kind]);
        st->kind = (sim_step_kind)kind;
        return check_order(c, item, kind);
    }
    if (item->n != 2)
        return fail(c, item->n ? item->kids[2]->line : item->line,
                    item->n ? item->kids[2]->col : item->col,
                    "a step mapping must have exactly one key, got %zu (one step per '- ' line)",
                    item->n / 2);
    k = item->kids[0];
    v = item->kids[1];
    if (k->type != N_SCALAR)
        return fail(c, k->line, k->col, "expected a step name, got %s", describe(k, b));
    kind = sim_step_kind_lookup(k->str);
    if (kind < 0)
        return fail(c, k->line, k->col, "unknown step '%s' (expected one of: %s)",
                    clip(k->str, k->len, b), step_list());
    if (!usage[kind])
        return fail(c, k->line, k->col, "step '%s' takes no arguments (write '- %s')",
                    step_names[kind], step_names[kind]);
    st->kind = (sim_step_kind)kind;
    if (check_order(c, k, kind))
        return -1;
    switch (kind) {
    case SIM_STEP_SEND:
    case SIM_STEP_SWITCH:
        return parse_thread_args(c, v, kind == SIM_STEP_SEND, st);
    case SIM_STEP_WAIT:
        return get_dist(c, v, "wait", 1, &st->wait);
    default:
        if (depth >= REPEAT_DEPTH_MAX)
            return fail(c, k->line, k->col, "repeat nested too deeply (at most %d levels)",
                        REPEAT_DEPTH_MAX);
        return parse_repeat(c, v, depth, st);
    }
}

/* parse_steps reads a non-empty sequence of steps at repeat depth `depth`. */
static int parse_steps(lctx *c, const ynode *seq, const char *path, int depth, sim_step **out,
                       size_t *nout)
{
    char b[CLIP_MAX + 8];
    sim_step *steps;
    if (seq->type != N_SEQ)
        return fail(c, seq->line, seq->col, "expected a sequence of steps for '%s', got %s", path,
                    describe(seq, b));
    if (seq->n == 0)
        return fail(c, seq->line, seq->col, "'%s' must have at least one step", path);
    steps = calloc(seq->n, sizeof *steps);
    if (!steps)
        return fail_nomem(c);
    *out = steps;
    /* *nout counts the steps to free on error: every entry is zeroed */
    *nout = seq->n;
    for (size_t i = 0; i < seq->n; i++)
        if (parse_step(c, seq->kids[i], depth, &steps[i]))
            return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* network, server, faults, expect                                          */

static const char *const net_keys[] = {"uplink", "downlink", "reconnect_backoff"};

static int parse_network(lctx *c, const ynode *m)
{
    sim_scenario *s = c->s;
    sim_dist *dst[] = {&s->uplink, &s->downlink, &s->reconnect_backoff};
    const ynode *seen[3] = {NULL, NULL, NULL};
    char path[64];
    if (need_map(c, m, "network", 0))
        return -1;
    for (size_t i = 0; i < m->n; i += 2) {
        size_t idx;
        if (key_index(c, m->kids[i], "network", net_keys, 3, seen, &idx))
            return -1;
        snprintf(path, sizeof path, "network.%s", net_keys[idx]);
        if (get_dist(c, m->kids[i + 1], path, 1, dst[idx]))
            return -1;
    }
    for (size_t i = 0; i < 2; i++)
        if (!seen[i])
            return missing(c, m, "network", net_keys[i]);
    return 0;
}

static const char *const default_agent_events[] = {
    "agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"};

static int parse_agent_events(lctx *c, const ynode *v)
{
    sim_scenario *s = c->s;
    char b[CLIP_MAX + 8];
    const size_t max = sizeof s->agent_events[0] - 1;
    if (v->type != N_SEQ)
        return fail(c, v->line, v->col,
                    "expected a sequence of event names for 'server.agent_events', got %s",
                    describe(v, b));
    if (v->n == 0 || v->n > SIM_MAX_AGENT_EVENTS)
        return fail(c, v->line, v->col, "'server.agent_events' must list 1 to %d events, got %zu",
                    SIM_MAX_AGENT_EVENTS, v->n);
    for (size_t i = 0; i < v->n; i++) {
        const ynode *e = v->kids[i];
        if (e->type != N_SCALAR || !is_ident(e->str, e->len, max, 0))
            return fail(c, e->line, e->col,
                        "invalid event name %s (use a-z and _ only, at most %zu characters)",
                        describe(e, b), max);
        memcpy(s->agent_events[i], e->str, e->len + 1);
    }
    s->nagent_events = v->n;
    return 0;
}

static const char *const server_keys[] = {"auth", "thread_lookup", "agent_start", "event_gap",
                                          "agent_events"};

static int parse_server(lctx *c, const ynode *m)
{
    sim_scenario *s = c->s;
    sim_dist *dst[] = {&s->auth, &s->thread_lookup, &s->agent_start, &s->event_gap};
    const ynode *seen[5] = {NULL, NULL, NULL, NULL, NULL};
    char path[64];
    if (need_map(c, m, "server", 0))
        return -1;
    for (size_t i = 0; i < m->n; i += 2) {
        size_t idx;
        if (key_index(c, m->kids[i], "server", server_keys, 5, seen, &idx))
            return -1;
        snprintf(path, sizeof path, "server.%s", server_keys[idx]);
        if (idx == 4 ? parse_agent_events(c, m->kids[i + 1])
                     : get_dist(c, m->kids[i + 1], path, 1, dst[idx]))
            return -1;
    }
    for (size_t i = 0; i < 4; i++)
        if (!seen[i])
            return missing(c, m, "server", server_keys[i]);
    return 0;
}

static int parse_faults(lctx *c, const ynode *m)
{
    static const char *const keys[] = {"thread_update_fail", "disconnect"};
    double *dst[] = {&c->s->thread_update_fail, &c->s->disconnect};
    const ynode *seen[2] = {NULL, NULL};
    char path[64];
    if (need_map(c, m, "faults", 1))
        return -1;
    for (size_t i = 0; m->type == N_MAP && i < m->n; i += 2) {
        size_t idx;
        if (key_index(c, m->kids[i], "faults", keys, 2, seen, &idx))
            return -1;
        snprintf(path, sizeof path, "faults.%s", keys[idx]);
        if (get_fraction(c, m->kids[i + 1], path, dst[idx]))
            return -1;
    }
    return 0;
}

/* Counts that make no sense as a maximum (they are what is expected). */
static int count_boundable(int id)
{
    return id != SIM_COUNT_EXPECTED && id != SIM_COUNT_DELIVERED && id != SIM_COUNT_EMITTED &&
           id != SIM_COUNT_MESSAGES && id != SIM_COUNT_RUNS && id != SIM_COUNT_NOTIFICATIONS;
}

void sim_expect_strict_default(sim_expect *e)
{
    static const int zero[] = {
        SIM_COUNT_MISROUTED,     SIM_COUNT_DUPLICATED,         SIM_COUNT_OUT_OF_ORDER,
        SIM_COUNT_STRAY,         SIM_COUNT_SILENT_LOSS,        SIM_COUNT_STRANDED,
        SIM_COUNT_STUCK_PENDING, SIM_COUNT_REORDERED_MESSAGES, SIM_COUNT_ACCOUNTING};
    for (int i = 0; i < SIM_COUNT__N; i++)
        e->max[i] = -1;
    e->has_rate = 1;
    e->delivery_rate = SIM_STRICT_RATE;
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        e->max[zero[i]] = 0;
    e->is_default = 1;
}

static int parse_expect(lctx *c, const ynode *m)
{
    sim_expect *e = &c->s->expect;
    const ynode *rate_seen = NULL, *seen[SIM_COUNT__N] = {NULL};
    const char *keys[SIM_COUNT__N + 1];
    size_t nkeys = 0;
    char path[64], b[CLIP_MAX + 8], list[200];
    if (need_map(c, m, "expect", 1))
        return -1;
    for (size_t i = 0; m->type == N_MAP && i < m->n; i += 2) {
        const ynode *k = m->kids[i], *v = m->kids[i + 1];
        const ynode **prev;
        int id;
        uint64_t x;
        if (k->type != N_SCALAR || k->len == 0)
            return fail(c, k->line, k->col, "expected a key name in expect, got %s",
                        describe(k, b));
        id = strcmp(k->str, "delivery_rate") == 0 ? SIM_COUNT__N : sim_count_lookup(k->str);
        if (id == SIM_COUNT_EXPECTED) {
            /* `expected: 0` declares that the scenario expects no event: a
             * sweep with none is then a pass, not inconclusive. */
            if (seen[id])
                return fail(c, k->line, k->col, "duplicate key '%s' in expect (first at line %d)",
                            k->str, seen[id]->line);
            seen[id] = k;
            if (get_uint(c, v, "expect.expected", 0, INT64_MAX, &x))
                return -1;
            if (x != 0)
                return fail(c, v->line, v->col,
                            "'expect.expected' only takes 0 (the scenario expects no event); "
                            "use delivery_rate for what must arrive");
            e->max[id] = 0;
            continue;
        }
        if (id >= 0 && id < SIM_COUNT__N && !count_boundable(id))
            return fail(c, k->line, k->col,
                        "'%s' cannot be bounded in expect (use delivery_rate for what must "
                        "arrive)",
                        k->str);
        if (id < 0) {
            int best;
            keys[nkeys++] = "delivery_rate";
            for (int j = 0; j < SIM_COUNT__N; j++)
                if (count_boundable(j) && sim_count_name(j))
                    keys[nkeys++] = sim_count_name(j);
            best = closest(k->str, keys, nkeys);
            if (best >= 0)
                return fail(c, k->line, k->col, "unknown key '%s' in expect (did you mean '%s'?)",
                            clip(k->str, k->len, b), keys[best]);
            join_list(list, sizeof list, keys, nkeys);
            return fail(c, k->line, k->col, "unknown key '%s' in expect (expected: %s)",
                        clip(k->str, k->len, b), list);
        }
        prev = id == SIM_COUNT__N ? &rate_seen : &seen[id];
        if (*prev)
            return fail(c, k->line, k->col, "duplicate key '%s' in expect (first at line %d)",
                        k->str, (*prev)->line);
        *prev = k;
        snprintf(path, sizeof path, "expect.%s", k->str);
        if (id == SIM_COUNT__N) {
            if (get_fraction(c, v, path, &e->delivery_rate))
                return -1;
            e->has_rate = 1;
        } else {
            if (get_uint(c, v, path, 0, INT64_MAX, &x))
                return -1;
            e->max[id] = (int64_t)x;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The top level                                                            */

enum {
    K_VERSION,
    K_NAME,
    K_SUMMARY,
    K_SEEDS,
    K_HORIZON,
    K_PROFILE,
    K_POLICY,
    K_USERS,
    K_CLIENTS,
    K_DEADLINE,
    K_NETWORK,
    K_SERVER,
    K_FAULTS,
    K_CLIENT,
    K_EXPECT,
    K_DRAIN,
    K__N
};

static const char *const top_keys[K__N] = {
    "version",          "name",     "summary", "seeds",  "horizon", "profile", "policy", "users",
    "clients_per_user", "deadline", "network", "server", "faults",  "client",  "expect", "drain"};

/* Required at the top level (network and server too: their contents are). */
static const int top_required[] = {K_VERSION, K_NAME,    K_SUMMARY, K_HORIZON,
                                   K_USERS,   K_NETWORK, K_SERVER,  K_CLIENT};

static void set_defaults(sim_scenario *s)
{
    s->seeds = 100;
    s->profile = CR_PROFILE_FIXED;
    sim_dist_const(&s->clients_per_user, 1, 0);
    s->deadline = 5 * CR_NS_PER_S;
    memset(&s->reconnect_backoff, 0, sizeof s->reconnect_backoff);
    s->reconnect_backoff.kind = SIM_DIST_UNIFORM;
    s->reconnect_backoff.is_duration = 1;
    s->reconnect_backoff.a = 100e6; /* 100ms */
    s->reconnect_backoff.b = 1e9;   /* 1s */
    for (size_t i = 0; i < 5; i++)
        snprintf(s->agent_events[i], sizeof s->agent_events[i], "%s", default_agent_events[i]);
    s->nagent_events = 5;
    for (int i = 0; i < SIM_COUNT__N; i++)
        s->expect.max[i] = -1;
}

static int parse_clients_per_user(lctx *c, const ynode *v)
{
    sim_dist *d = &c->s->clients_per_user;
    char b[CLIP_MAX + 4];
    if (get_dist(c, v, "clients_per_user", 0, d))
        return -1;
    if (d->kind == SIM_DIST_CONST &&
        (d->a < 1 || d->a > CLIENTS_PER_USER_MAX || d->a != floor(d->a)))
        return fail(c, v->line, v->col,
                    "'clients_per_user' must be a whole number in 1..%d or a distribution, got %s",
                    (int)CLIENTS_PER_USER_MAX, clip(v->str, v->len, b));
    return 0;
}

static int parse_top_value(lctx *c, size_t key, const ynode *v)
{
    sim_scenario *s = c->s;
    char b[CLIP_MAX + 4];
    uint64_t x;
    switch (key) {
    case K_VERSION:
        if (need_scalar(c, v, "version", "an integer"))
            return -1;
        if (parse_u64(v->str, &x) || x != 1)
            return fail(c, v->line, v->col,
                        "unsupported version '%s' (this ctxsim reads version: 1)",
                        clip(v->str, v->len, b));
        return 0;
    case K_NAME:
        if (need_scalar(c, v, "name", "a name"))
            return -1;
        if (!is_ident(v->str, v->len, SIM_NAME_MAX - 1, 1))
            return fail(c, v->line, v->col,
                        "invalid name '%s' (use a-z, 0-9 and _ only, at most %d characters)",
                        clip(v->str, v->len, b), SIM_NAME_MAX - 1);
        memcpy(s->name, v->str, v->len + 1);
        return 0;
    case K_SUMMARY: {
        size_t n = v->len;
        if (need_scalar(c, v, "summary", "a string"))
            return -1;
        while (n > 0 && (v->str[n - 1] == '\n' || v->str[n - 1] == ' ' || v->str[n - 1] == '\t'))
            n--;
        if (n == 0)
            return fail(c, v->line, v->col, "'summary' must not be blank");
        s->summary = strndup(v->str, n);
        return s->summary ? 0 : fail_nomem(c);
    }
    case K_SEEDS:
        if (get_uint(c, v, "seeds", 1, SEEDS_MAX, &x))
            return -1;
        s->seeds = (uint32_t)x;
        return 0;
    case K_HORIZON:
        if (get_duration(c, v, "horizon", &s->horizon))
            return -1;
        if (s->horizon == 0)
            return fail(c, v->line, v->col, "'horizon' must be longer than 0");
        return 0;
    case K_DRAIN:
        if (get_duration(c, v, "drain", &s->drain))
            return -1;
        if (s->drain == 0)
            return fail(c, v->line, v->col,
                        "'drain' must be longer than 0 (leave it out for the default bound)");
        return 0;
    case K_PROFILE:
        if (need_scalar(c, v, "profile", "a profile (fixed or legacy)"))
            return -1;
        if (!strcmp(v->str, "fixed"))
            s->profile = CR_PROFILE_FIXED;
        else if (!strcmp(v->str, "legacy"))
            s->profile = CR_PROFILE_LEGACY;
        else
            return fail(c, v->line, v->col, "invalid profile '%s' (expected fixed or legacy)",
                        clip(v->str, v->len, b));
        return 0;
    case K_POLICY:
        return parse_policy(c, v);
    case K_USERS:
        if (get_uint(c, v, "users", 1, USERS_MAX, &x))
            return -1;
        s->users = (uint32_t)x;
        return 0;
    case K_CLIENTS:
        return parse_clients_per_user(c, v);
    case K_DEADLINE:
        if (get_duration(c, v, "deadline", &s->deadline))
            return -1;
        if (s->deadline == 0)
            return fail(c, v->line, v->col, "'deadline' must be longer than 0");
        return 0;
    case K_NETWORK:
        return parse_network(c, v);
    case K_SERVER:
        return parse_server(c, v);
    case K_FAULTS:
        return parse_faults(c, v);
    case K_CLIENT:
        return parse_steps(c, v, "client", 0, &s->steps, &s->nsteps);
    default:
        return parse_expect(c, v);
    }
}

static int parse_root(lctx *c, const ynode *root)
{
    const ynode *seen[K__N] = {NULL};
    char b[CLIP_MAX + 8];
    if (root->type != N_MAP)
        return fail(c, root->line, root->col,
                    "expected a mapping at the top level (version: 1, name: ...), got %s",
                    describe(root, b));
    set_defaults(c->s);
    for (size_t i = 0; i < root->n; i += 2) {
        size_t idx;
        if (key_index(c, root->kids[i], NULL, top_keys, K__N, seen, &idx) ||
            parse_top_value(c, idx, root->kids[i + 1]))
            return -1;
    }
    for (size_t i = 0; i < sizeof top_required / sizeof top_required[0]; i++)
        if (!seen[top_required[i]])
            return missing(c, root, NULL, top_keys[top_required[i]]);
    /* `foreign` is "the next user, cyclically": with one user that is the
     * user itself, and the probe would ask for its own thread. */
    if (c->foreign_line && c->s->users < 2)
        return fail(c, c->foreign_line, c->foreign_col,
                    "thread 'foreign' probes another user's thread, but users is %u (line %d): "
                    "use users: 2 or more",
                    c->s->users, seen[K_USERS]->line);
    if (!seen[K_EXPECT])
        sim_expect_strict_default(&c->s->expect);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */

void sim_scenario_free(sim_scenario *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->summary);
    free(s->policy);
    steps_free(s->steps, s->nsteps);
    for (size_t i = 0; i < s->nnames; i++)
        free(s->names[i]);
    free(s->names);
    free(s);
}

static void error_init(sim_scenario_error *err, const char *path)
{
    memset(err, 0, sizeof *err);
    snprintf(err->file, sizeof err->file, "%s", path ? path : "<string>");
}

int sim_scenario_load_string(const char *path, const char *text, size_t len, sim_scenario **out,
                             sim_scenario_error *err)
{
    sim_scenario_error local;
    lctx c;
    ynode *root = NULL;
    int rc;

    if (!err)
        err = &local;
    error_init(err, path);
    if (!out || (!text && len > 0)) {
        snprintf(err->msg, sizeof err->msg, "invalid argument");
        return -1;
    }
    *out = NULL;
    memset(&c, 0, sizeof c);
    c.err = err;
    if (len > FILE_SIZE_MAX)
        return fail(&c, 0, 0, "scenario too large (more than %u MiB)", FILE_SIZE_MAX >> 20);
    c.s = calloc(1, sizeof *c.s);
    if (!c.s)
        return fail_nomem(&c);
    c.s->path = strdup(path ? path : "<string>");
    if (!c.s->path)
        rc = fail_nomem(&c);
    else
        rc = build_tree(&c, text ? text : "", len, &root);
    if (rc == 0)
        rc = parse_root(&c, root);
    node_free(root);
    free(c.name_lines);
    free(c.name_hash);
    if (rc) {
        sim_scenario_free(c.s);
        return -1;
    }
    *out = c.s;
    return 0;
}

int sim_scenario_load(const char *path, sim_scenario **out, sim_scenario_error *err)
{
    sim_scenario_error local;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc;

    if (!err)
        err = &local;
    error_init(err, path);
    if (out)
        *out = NULL;
    if (!path || !out) {
        snprintf(err->msg, sizeof err->msg, "invalid argument");
        return -1;
    }
    /* Only a regular file is a scenario: a FIFO (or a device) named
     * x.yaml would block fopen, or never end.  O_NONBLOCK makes the open
     * of a FIFO return at once; fstat then says what was opened. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot read: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err->msg, sizeof err->msg, "cannot read: %s, not a regular file",
                 S_ISDIR(st.st_mode)    ? "a directory"
                 : S_ISFIFO(st.st_mode) ? "a FIFO"
                 : S_ISCHR(st.st_mode)  ? "a character device"
                 : S_ISBLK(st.st_mode)  ? "a block device"
                 : S_ISSOCK(st.st_mode) ? "a socket"
                                        : "something else");
        close(fd);
        return -1;
    }
    /* back to blocking reads: a regular file never blocks anyway */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
        close(fd);
        return -1;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb;
            if (len > FILE_SIZE_MAX)
                break; /* sim_scenario_load_string refuses it */
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap + 1);
            if (!nb) {
                snprintf(err->msg, sizeof err->msg, "out of memory");
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err->msg, sizeof err->msg, "cannot read: %s", strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    rc = sim_scenario_load_string(path, buf ? buf : "", len, out, err);
    free(buf);
    return rc;
fail:
    fclose(f);
    free(buf);
    return -1;
}

int sim_scenario_error_format(const sim_scenario_error *err, char *buf, size_t len)
{
    int n;
    if (!err || !buf || len == 0)
        return -1;
    if (err->line > 0 && err->col > 0)
        n = snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
    else if (err->line > 0)
        n = snprintf(buf, len, "%s:%d: %s", err->file, err->line, err->msg);
    else
        n = snprintf(buf, len, "%s: %s", err->file, err->msg);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

uint64_t sim_scenario_unrolled_steps(const sim_step *steps, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = 1;
        if (steps[i].kind == SIM_STEP_REPEAT) {
            uint64_t body = sim_scenario_unrolled_steps(steps[i].steps, steps[i].nsteps);
            k = steps[i].times && body > UINT64_MAX / steps[i].times ? UINT64_MAX
                                                                     : body * steps[i].times;
        }
        total = total > UINT64_MAX - k ? UINT64_MAX : total + k;
    }
    return total;
}

int sim_scenario_policy(const sim_scenario *s, int profile_override, cr_policy *out)
{
    int rc;
    if (!s || !out)
        return CR_EINVAL;
    rc = cr_policy_init(out, profile_override >= 0 ? (cr_profile)profile_override : s->profile);
    for (size_t i = 0; rc == 0 && i < s->npolicy; i++)
        rc = cr_policy_set(out, s->policy[i].name, s->policy[i].value);
    return rc;
}
