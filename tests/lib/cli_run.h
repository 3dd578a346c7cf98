/*
 * cli_run.h - run the ctxsim binary under test ($CTXSIM, default
 * build/cc-O2/ctxsim) with its output captured, for end-to-end suites.
 */
#ifndef TEST_CLI_RUN_H
#define TEST_CLI_RUN_H

#include <stddef.h>

/* cli_bin returns the binary under test. */
const char *cli_bin(void);

/* cli_run runs `ctxsim ARGS` (ARGS printf-formatted, passed to the shell)
 * with stdin from /dev/null, stdout and stderr captured into malloc'd
 * strings (*out, *err; either may be NULL to discard) through files in
 * `dir`.  Returns the exit status (128 + signal when killed), -1 when the
 * command could not run or its output could not be read. */
int cli_run(const char *dir, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cli_slurp returns the malloc'd contents of a file (NUL-terminated), or NULL. */
char *cli_slurp(const char *path);

/* cli_slurp_len is cli_slurp that also stores the length in *len (when not
 * NULL): for binary files, which may hold NUL bytes. */
char *cli_slurp_len(const char *path, size_t *len);

#endif
