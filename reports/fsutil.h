/*
 * fsutil.h - the few filesystem helpers the reports need.
 */
#ifndef REP_FSUTIL_H
#define REP_FSUTIL_H

#include <stddef.h>

/*
 * rep_mkdir_p creates directory `path` and its missing parents (mode 0777
 * before umask), like `mkdir -p`.  Returns 0 (also when it already exists)
 * or -errno of the failing mkdir.  O(depth) system calls.
 */
int rep_mkdir_p(const char *path);

/*
 * rep_mkdir_parent creates the directory part of file path `path` (nothing
 * when it has none).  Returns 0 or -errno.
 */
int rep_mkdir_parent(const char *path);

/* rep_path_exists sets *exists to 1 when `path` names an existing file or
 * directory, else 0.  Returns 0 or -EINVAL. */
int rep_path_exists(const char *path, int *exists);

#endif
