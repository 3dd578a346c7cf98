/*
 * replay.c - the `ctxsim replay` line for one seed of a sweep.
 */
#include "reports/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "reports/text.h"

/* Appends str to buf at *o; -ENOSPC when it does not fit. */
static int append(char *buf, size_t len, size_t *o, const char *str)
{
    size_t n = strlen(str);
    if (*o + n >= len)
        return -ENOSPC;
    memcpy(buf + *o, str, n + 1);
    *o += n;
    return 0;
}

/* The program the lines name: "ctxsim", or argv[0] shell-quoted. */
static char program[1100] = "ctxsim";

int rep_replay_set_program(const char *argv0)
{
    if (!argv0 || !strchr(argv0, '/')) {
        snprintf(program, sizeof program, "ctxsim");
        return 0;
    }
    if (rep_text_printable(argv0) != 0) {
        snprintf(program, sizeof program, "ctxsim");
        return -EILSEQ;
    }
    /* "x=y/ctxsim" first on a line is an assignment, "./x=y/ctxsim" is not */
    char rel[sizeof program];
    if (strchr(argv0, '=') && argv0[0] != '/' && argv0[0] != '.') {
        snprintf(rel, sizeof rel, "./%.*s", (int)sizeof rel - 3, argv0);
        argv0 = rel;
    }
    char q[sizeof program];
    int rc = rep_shell_quote(argv0, q, sizeof q);
    if (rc != 0) {
        snprintf(program, sizeof program, "ctxsim");
        return rc;
    }
    memcpy(program, q, sizeof program);
    return 0;
}

const char *rep_replay_program(void)
{
    return program;
}

int rep_replay_command(const sim_sweep_result *r, uint64_t seed, char *buf, size_t len)
{
    return rep_replay_command_verb(r, seed, "replay", buf, len);
}

int rep_replay_command_verb(const sim_sweep_result *r, uint64_t seed, const char *verb, char *buf,
                            size_t len)
{
    if (!r || !buf || len == 0 || !verb || (strcmp(verb, "replay") && strcmp(verb, "shrink")))
        return -EINVAL;
    char q[sizeof r->path * 4 + 3];
    char num[48];
    size_t o = 0;
    buf[0] = '\0';
    int rc = rep_shell_quote(r->path[0] ? r->path : r->scenario, q, sizeof q);
    if (rc == 0)
        rc = append(buf, len, &o, program);
    if (rc == 0)
        rc = append(buf, len, &o, " ");
    if (rc == 0)
        rc = append(buf, len, &o, verb);
    if (rc == 0)
        rc = append(buf, len, &o, " ");
    if (rc == 0)
        rc = append(buf, len, &o, q);
    snprintf(num, sizeof num, " --seed %" PRIu64, seed);
    if (rc == 0)
        rc = append(buf, len, &o, num);
    if (rc == 0)
        rc = append(buf, len, &o, " --profile ");
    if (rc == 0)
        rc = rep_shell_quote(r->profile, q, sizeof q);
    if (rc == 0)
        rc = append(buf, len, &o, q);
    if (rc == 0 && r->ablated_fix > 0) {
        snprintf(num, sizeof num, " --ablate %d", r->ablated_fix);
        rc = append(buf, len, &o, num);
    }
    /* One --policy per comma-separated item. */
    const char *p = r->policy;
    while (rc == 0 && *p) {
        size_t n = strcspn(p, ",");
        char item[sizeof r->policy];
        memcpy(item, p, n);
        item[n] = '\0';
        /* trim blanks around the item */
        char *s = item, *e = item + n;
        while (*s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            *--e = '\0';
        if (*s) {
            rc = append(buf, len, &o, " --policy ");
            if (rc == 0)
                rc = rep_shell_quote(s, q, sizeof q);
            if (rc == 0)
                rc = append(buf, len, &o, q);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (rc == 0 && r->explore)
        rc = append(buf, len, &o, " --explore");
    if (rc == 0 && r->pct_depth) {
        /* The window in the largest unit that holds it exactly. */
        static const struct {
            const char *unit;
            uint64_t ns;
        } units[] = {{"s", 1000000000}, {"ms", 1000000}, {"us", 1000}, {"ns", 1}};
        size_t u = 0;
        while (r->pct_window && r->pct_window % units[u].ns)
            u++;
        if (!r->pct_window)
            u = 3;
        snprintf(num, sizeof num, " --pct %" PRIu32 ":%" PRIu64 "%s", r->pct_depth,
                 r->pct_window / units[u].ns, units[u].unit);
        rc = append(buf, len, &o, num);
    }
    if (rc == 0 && r->max_steps) {
        snprintf(num, sizeof num, " --max-steps %" PRIu64, r->max_steps);
        rc = append(buf, len, &o, num);
    }
    if (rc == 0 && r->allow_large)
        rc = append(buf, len, &o, " --allow-large");
    if (rc != 0) {
        buf[0] = '\0';
        return rc == -ENOSPC ? -ENOSPC : rc;
    }
    return 0;
}
