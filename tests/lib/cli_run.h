/*
 * cli_run.h - run the ctxsim binary under test ($CTXSIM, default
 * build/cc-O2/ctxsim) with its output captured, for end-to-end suites.
 */
#ifndef TEST_CLI_RUN_H
#define TEST_CLI_RUN_H

/* cli_bin returns the binary under test. */
const char *cli_bin(void);

/* cli_run runs `ctxsim ARGS` (ARGS printf-formatted, passed to the shell)
 * with stdin from /dev/null, stdout and stderr captured into malloc'd
 * strings (*out, *err; either may be NULL to discard) through files in
 * `dir`.  Returns the exit status (128 + signal when killed), -1 when the
 * command could not run or its output could not be read. */
int cli_run(const char *dir, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cli_slurp returns the malloc'd contents of a file, or NULL. */
char *cli_slurp(const char *path);

#endif
