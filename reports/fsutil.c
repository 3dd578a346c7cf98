/*
 * fsutil.c - mkdir -p and friends.
 */
#include "reports/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

int rep_mkdir_p(const char *path)
{
    if (!path || !*path)
        return -EINVAL;
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    int rc = 0;
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0)
            rc = -errno;
        else if (!S_ISDIR(st.st_mode))
            rc = -ENOTDIR;
    }
    free(p);
    return rc;
}

int rep_mkdir_parent(const char *path)
{
    if (!path)
        return -EINVAL;
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -ENOMEM;
    int rc = rep_mkdir_p(dir);
    free(dir);
    return rc;
}

int rep_path_exists(const char *path, int *exists)
{
    if (!path || !exists)
        return -EINVAL;
    struct stat st;
    *exists = stat(path, &st) == 0;
    return 0;
}
