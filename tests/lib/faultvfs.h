/*
 * faultvfs.h - a fault-injecting SQLite VFS for the tests: a shim over the
 * default VFS (registered as the new default by fvfs_install) that
 * forwards every call, counts xWrite, xSync and xTruncate calls on every
 * file, and fails the Nth of the armed kind (and, when persistent, every
 * later one: a full disk stays full) with the armed error, as SQLite's own
 * crash and I/O-error tests do.  Unarmed it is transparent.
 */
#ifndef CTXSIM_TESTS_FAULTVFS_H
#define CTXSIM_TESTS_FAULTVFS_H

/* What to fail. */
#define FVFS_WRITE 1 /* xWrite and xTruncate */
#define FVFS_SYNC  2 /* xSync */

/* fvfs_install registers the shim as the default VFS (once; later calls
 * are no-ops).  Returns 0 or an SQLite error code. */
int fvfs_install(void);

/*
 * fvfs_arm makes the nth (1-based, counted from this call) operation of
 * kind `what` (FVFS_WRITE, FVFS_SYNC or both) fail with `err`
 * (SQLITE_IOERR_WRITE, SQLITE_FULL, SQLITE_IOERR_FSYNC, ...); with
 * persist, every later one too.  nth <= 0 disarms.
 */
void fvfs_arm(int what, long nth, int err, int persist);

/* fvfs_disarm stops injecting. */
void fvfs_disarm(void);

/* fvfs_count returns the operations of kind `what` since the last arm,
 * and fvfs_failed how many of them were failed. */
long fvfs_count(void);
long fvfs_failed(void);

#endif
