/*
 * srvproc.c - a ctxready-server child process (sim/srvproc.h).
 */
#include "sim/srvproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

const char *sim_srv_find(const char *path, char *err, size_t errlen)
{
    static char buf[PATH_MAX + 64];
    if (path) {
        if (executable(path))
            return path;
        snprintf(err, errlen, "--server %.400s: not an executable file", path);
        return NULL;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        static const char *const rel[] = {"ctxready-server",
                                          "core/examples/ws-server/ctxready-server"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(buf, sizeof buf, "%s/%s", exe, rel[i]);
            if (executable(buf))
                return buf;
        }
    }
    const char *pe = getenv("PATH");
    while (pe && *pe) {
        size_t k = strcspn(pe, ":");
        if (k > 0 && k < PATH_MAX) {
            snprintf(buf, sizeof buf, "%.*s/ctxready-server", (int)k, pe);
            if (executable(buf))
                return buf;
        }
        pe += k + (pe[k] == ':');
    }
    snprintf(err, errlen,
             "no ctxready-server beside %.300s nor in $PATH (build it with make, or give "
             "--server PATH)",
             n > 0 ? exe : "this program");
    return NULL;
}

static void nap_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* log_tail copies the last lines of the log into out (for an error). */
static void log_tail(const char *log, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char buf[4096];
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    fseek(f, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    const char *p = buf;
    for (int lines = 0; n > 0 && lines < 3; n--)
        if (buf[n - 1] == '\n' && ++lines == 3)
            p = buf + n;
    snprintf(out, len, "%.*s", (int)(len > 0 ? len - 1 : 0), p);
    for (char *q = out; *q; q++)
        if (*q == '\n')
            *q = '|';
}

/* read_port finds "listening HOST:PORT" in the log; the port or 0. */
static int read_port(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    char line[512];
    int port = 0;
    while (!port && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening ");
        const char *c = p ? strrchr(p, ':') : NULL;
        if (c && strchr(line, '\n'))
            port = atoi(c + 1);
    }
    fclose(f);
    return port > 0 && port < 65536 ? port : 0;
}

int sim_srv_start(sim_srv *s, const char *server, const char *scenario, const char *profile,
                  double time_scale, const char *const *extra, const char *log, double timeout,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->log, sizeof s->log, "%s", log);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%.300s: %s", log, strerror(errno));
        return -1;
    }
    char scale[32];
    snprintf(scale, sizeof scale, "%g", time_scale > 0 ? time_scale : 1);
    const char *argv[48];
    int n = 0;
    argv[n++] = server;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--host";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--scenario";
    argv[n++] = scenario;
    argv[n++] = "--profile";
    argv[n++] = profile;
    argv[n++] = "--time-scale";
    argv[n++] = scale;
    for (int i = 0; extra && extra[i] && n < 46; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGINT, SIG_IGN); /* the parent stops it (a Ctrl-C reaches the group) */
#ifdef __linux__
        /* A parent killed outright (SIGKILL, a crash) cannot stop it: the
         * kernel sends SIGTERM then (or the parent is already gone). */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(127);
#endif
        execv(server, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", server, strerror(errno));
        _exit(127);
    }
    close(fd);
    s->pid = pid;
    double until = mono() + (timeout > 0 ? timeout : 10);
    while (mono() < until) {
        s->port = read_port(log);
        if (s->port) {
            snprintf(s->url, sizeof s->url, "ws://127.0.0.1:%d", s->port);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            char tail[600];
            log_tail(log, tail, sizeof tail);
            snprintf(err, errlen, "%.200s exited (status %d) before listening: %.600s", server,
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), tail);
            return -1;
        }
        nap_ms(10); /* polling the log, bounded by `timeout` */
    }
    sim_srv_stop(s);
    snprintf(err, errlen,
             "%.200s printed no 'listening HOST:PORT' line within %.1f s (log: %.200s)", server,
             timeout, log);
    return -1;
}

int sim_srv_stop(sim_srv *s)
{
    if (!s->pid)
        return -1;
    int st = 0;
    kill(s->pid, SIGTERM);
    double until = mono() + 5;
    pid_t r = 0;
    while (((r = waitpid(s->pid, &st, WNOHANG)) == 0 || (r < 0 && errno == EINTR)) &&
           mono() < until)
        nap_ms(5);
    if (r <= 0) { /* still running, or waitpid kept failing: kill and reap it */
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    s->pid = 0;
    return st;
}
