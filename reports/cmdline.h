/*
 * cmdline.h - option parsing shared by `ctxsim report`, `gate` and
 * `merge`.  No global state (unlike getopt), so the commands can be called
 * any number of times in one process.
 */
#ifndef REP_CMDLINE_H
#define REP_CMDLINE_H

/*
 * rep_opt matches argv[*i] against option `name` written "--name VALUE" or
 * "--name=VALUE".  Returns 1 with *val set (and *i moved to the value's
 * index when it was a separate word), 0 when argv[*i] is another argument,
 * -1 when the value is missing (after printing "ctxsim CMD: NAME needs a
 * value" to stderr, CMD being argv[0]).
 */
int rep_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* rep_is_help returns 1 for "--help" and "-h", else 0. */
int rep_is_help(const char *arg);

/*
 * rep_git_rev returns the short git revision of the working directory's
 * repository ("unknown" outside one), in a static buffer: metadata of what
 * a run or sweep records, never an input of a run.  Runs `git` once per call.
 */
const char *rep_git_rev(void);

/* rep_join_args returns "ctxsim ARGV[0] ARGV[1] ...", every word shell-quoted
 * (rep_shell_join; malloc'd, NULL when
 * out of memory), the command line a run records. */
char *rep_join_args(int argc, char **argv);

/* Defaults of the commands. */
#define REP_DEFAULT_DB         "out/results.db"
#define REP_DEFAULT_REPORT_DIR "out/report"

/* Exit codes (DESIGN.md section 6): 0 ok, 1 a finding (a gate failed),
 * 2 bad usage or input, 3 the environment failed (the database could not
 * be read or written: I/O error, disk full, damaged, unreadable). */
#define REP_EXIT_OK    0
#define REP_EXIT_FAIL  1
#define REP_EXIT_USAGE 2
#define REP_EXIT_ENV   3

#endif
