/* cli_run.c - run the ctxsim binary under test (see cli_run.h). */
#include "tests/lib/cli_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

const char *cli_bin(void)
{
    const char *b = getenv("CTXSIM");
    return b ? b : "build/cc-O2/ctxsim";
}

char *cli_slurp_len(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = calloc((size_t)n + 1, 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && len)
        *len = (size_t)n;
    return buf;
}

char *cli_slurp(const char *path)
{
    return cli_slurp_len(path, NULL);
}

int cli_run(const char *dir, char **out, char **err, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s >%s/cli-out.txt 2>%s/cli-err.txt </dev/null", cli_bin(), args,
             dir, dir);
    int st = system(cmd);
    if (st == -1)
        return -1;
    const char *names[2] = {"cli-out.txt", "cli-err.txt"};
    char **dst[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        if (!dst[i])
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!(*dst[i] = cli_slurp(path)))
            return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
