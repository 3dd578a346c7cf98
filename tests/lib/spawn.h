/*
 * spawn.h - run a program from an argv array (no shell in between, so any
 * byte reaches it as it is), with its output in files and a bounded wait:
 * a hung child is a test failure after its timeout, never a hung suite.
 */
#ifndef TEST_SPAWN_H
#define TEST_SPAWN_H

#include <sys/types.h>

/*
 * sp_spawn starts argv[0] (looked up in PATH when it holds no '/') with
 * argv, in directory dir (NULL: the current one), stdin from /dev/null,
 * stdout into out_path and stderr into err_path (NULL: /dev/null; both may
 * name the same file).  SIGCHLD is blocked in the caller from here on (for
 * sp_wait).  Returns the pid, or -1.
 */
pid_t sp_spawn(const char *dir, char *const argv[], const char *out_path, const char *err_path);

/*
 * sp_wait waits at most timeout_ms for pid to end (sigtimedwait on
 * SIGCHLD, which must have been blocked before the child was forked, as
 * sp_spawn does: no fixed sleep).  Returns its exit status (128 + signal when a
 * signal ended it), or -2 after the timeout (the child is then killed with
 * SIGKILL and reaped).  *elapsed_ms (may be NULL) gets the wall time
 * waited.
 */
int sp_wait(pid_t pid, int timeout_ms, long *elapsed_ms);

/* sp_run is sp_spawn then sp_wait; -1 when it could not start. */
int sp_run(const char *dir, char *const argv[], const char *out_path, const char *err_path,
           int timeout_ms);

#endif
