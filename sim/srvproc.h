/*
 * srvproc.h - a ctxready-server child process on a loopback ephemeral port
 * (for `ctxsim agree` and the drive tests): start it, learn its port from
 * its first line ("listening 127.0.0.1:PORT"), stop it.
 *
 * The child's stdout and stderr go to a log file (kept for evidence); the
 * parent polls that file for the line, bounded in time, and notices a
 * child that exits first (its log's last lines are in the error).
 */
#ifndef SIM_SRVPROC_H
#define SIM_SRVPROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sim_srv {
    pid_t pid; /* 0: not running */
    int port;
    char url[64]; /* "ws://127.0.0.1:PORT" */
    char log[512];
} sim_srv;

/*
 * sim_srv_find returns the ctxready-server to run: `path` when given, else
 * the first executable of: beside the running program (/proc/self/exe's
 * directory, then its core/examples/ws-server/), then $PATH.  NULL when
 * none (err says where it looked).  The string is static.
 */
const char *sim_srv_find(const char *path, char *err, size_t errlen);

/*
 * sim_srv_start runs `server` --port 0 --host 127.0.0.1 --scenario
 * SCENARIO --profile PROFILE --time-scale X [extra...] (extra: NULL-ended,
 * may be NULL) with its output in `log`, and waits at most `timeout`
 * seconds for its listening line.  Returns 0 (*s filled), or -1 with err
 * (it could not start, exited, or said nothing in time: then it is
 * stopped).  On Linux the server gets SIGTERM when the calling thread
 * dies without stopping it (SIGKILL, a crash): call it from a thread that
 * outlives the server.
 */
int sim_srv_start(sim_srv *s, const char *server, const char *scenario, const char *profile,
                  double time_scale, const char *const *extra, const char *log, double timeout,
                  char *err, size_t errlen);

/*
 * sim_srv_stop sends SIGTERM, waits at most 5 s, then SIGKILL and reaps it.
 * Returns its exit status as waitpid reports it (or -1 if it was not
 * running).  Idempotent.
 */
int sim_srv_stop(sim_srv *s);

#endif
