/*
 * cmdline.c - "--name VALUE" / "--name=VALUE" matching.
 */
#include "reports/cmdline.h"

#include "reports/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rep_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ctxsim %s: %s needs a value\n", argv[0] ? argv[0] : "", name);
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

int rep_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

const char *rep_git_rev(void)
{
    static char rev[64];
    FILE *p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    rev[0] = '\0';
    if (p) {
        if (!fgets(rev, sizeof(rev), p))
            rev[0] = '\0';
        pclose(p);
    }
    rev[strcspn(rev, "\n")] = '\0';
    return rev[0] ? rev : "unknown";
}

char *rep_join_args(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 3; /* each ' may become '\'' */
    const char **words = calloc((size_t)argc + 1, sizeof *words);
    char *s = malloc(len);
    if (!s || !words) {
        free(words);
        free(s);
        return NULL;
    }
    words[0] = "ctxsim";
    for (int i = 0; i < argc; i++)
        words[i + 1] = argv[i];
    if (rep_shell_join(words, (size_t)argc + 1, s, len) != 0)
        snprintf(s, len, "ctxsim %s", argc ? argv[0] : "");
    free(words);
    return s;
}
