/* spawn.c - argv-based child processes with a bounded wait (spawn.h). */
#include "tests/lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

pid_t sp_spawn(const char *dir, char *const argv[], const char *out_path, const char *err_path)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigprocmask(SIG_BLOCK, &s, NULL);
    fflush(NULL);
    pid_t p = fork();
    if (p != 0)
        return p;
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = err_path && out_path && strcmp(err_path, out_path) == 0
                  ? dup(out)
                  : open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || (dir && chdir(dir) != 0))
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvp(argv[0], argv);
    _exit(127);
}

int sp_wait(pid_t pid, int timeout_ms, long *elapsed_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    int st = 0, rc = -2;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        long left = timeout_ms - ms_since(&t0);
        if (left <= 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        sigtimedwait(&s, NULL, &ts); /* wakes on any child's end, or at the timeout */
    }
    if (elapsed_ms)
        *elapsed_ms = ms_since(&t0);
    return rc;
}

int sp_run(const char *dir, char *const argv[], const char *out_path, const char *err_path,
           int timeout_ms)
{
    pid_t p = sp_spawn(dir, argv, out_path, err_path);
    return p < 0 ? -1 : sp_wait(p, timeout_ms, NULL);
}
