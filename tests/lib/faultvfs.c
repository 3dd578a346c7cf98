/*
 * faultvfs.c - the fault-injecting SQLite VFS of faultvfs.h.
 */
#include "tests/lib/faultvfs.h"

#include <sqlite3.h>
#include <string.h>

typedef struct fv_file {
    sqlite3_file base;  /* pMethods = &fv_io (or NULL when the open failed) */
    sqlite3_file *real; /* the default VFS's file, right after this struct */
} fv_file;

static sqlite3_vfs fv_vfs;
static sqlite3_vfs *fv_real;
static sqlite3_io_methods fv_io;

static struct {
    int what, err, persist;
    long nth, count, failed;
} fv;

/* Counts an operation of kind `kind`; returns the error to inject or 0. */
static int fv_fault(int kind)
{
    if (!(fv.what & kind) || fv.nth <= 0)
        return 0;
    fv.count++;
    if (fv.count == fv.nth || (fv.persist && fv.count > fv.nth)) {
        fv.failed++;
        return fv.err;
    }
    return 0;
}

#define REAL(f) (((fv_file *)(f))->real)

static int fv_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int fv_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int fv_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    int e = fv_fault(FVFS_WRITE);
    return e ? e : REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int fv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int e = fv_fault(FVFS_WRITE);
    return e ? e : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int fv_sync(sqlite3_file *f, int flags)
{
    int e = fv_fault(FVFS_SYNC);
    return e ? e : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int fv_size(sqlite3_file *f, sqlite3_int64 *s)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), s);
}
static int fv_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int fv_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int fv_check_lock(sqlite3_file *f, int *r)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r);
}
static int fv_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int fv_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int fv_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int fv_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int fv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void fv_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int fv_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int fv_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int fv_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    fv_file *ff = (fv_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = fv_real->xOpen(fv_real, name, ff->real, flags, out);
    /* SQLite calls xClose when pMethods is set, even after a failed open. */
    ff->base.pMethods = ff->real->pMethods ? &fv_io : NULL;
    return rc;
}
static int fv_delete(sqlite3_vfs *v, const char *n, int sync)
{
    return fv_real->xDelete(fv_real, n, sync);
}
static int fv_access(sqlite3_vfs *v, const char *n, int flags, int *r)
{
    return fv_real->xAccess(fv_real, n, flags, r);
}
static int fv_fullpath(sqlite3_vfs *v, const char *n, int len, char *out)
{
    return fv_real->xFullPathname(fv_real, n, len, out);
}
static void *fv_dlopen(sqlite3_vfs *v, const char *n)
{
    return fv_real->xDlOpen(fv_real, n);
}
static void fv_dlerror(sqlite3_vfs *v, int n, char *m)
{
    fv_real->xDlError(fv_real, n, m);
}
static void (*fv_dlsym(sqlite3_vfs *v, void *h, const char *s))(void)
{
    return fv_real->xDlSym(fv_real, h, s);
}
static void fv_dlclose(sqlite3_vfs *v, void *h)
{
    fv_real->xDlClose(fv_real, h);
}
static int fv_random(sqlite3_vfs *v, int n, char *out)
{
    return fv_real->xRandomness(fv_real, n, out);
}
static int fv_sleep(sqlite3_vfs *v, int us)
{
    return fv_real->xSleep(fv_real, us);
}
static int fv_time(sqlite3_vfs *v, double *t)
{
    return fv_real->xCurrentTime(fv_real, t);
}
static int fv_lasterr(sqlite3_vfs *v, int n, char *m)
{
    return fv_real->xGetLastError ? fv_real->xGetLastError(fv_real, n, m) : 0;
}
static int fv_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    return fv_real->xCurrentTimeInt64(fv_real, t);
}

int fvfs_install(void)
{
    if (fv_real)
        return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return SQLITE_ERROR;
    fv_io = (sqlite3_io_methods){
        3,           fv_close,       fv_read,       fv_write, fv_truncate, fv_sync,    fv_size,
        fv_lock,     fv_unlock,      fv_check_lock, fv_fcntl, fv_sector,   fv_devchar, fv_shm_map,
        fv_shm_lock, fv_shm_barrier, fv_shm_unmap,  fv_fetch, fv_unfetch};
    fv_vfs = (sqlite3_vfs){.iVersion = 2,
                           .szOsFile = (int)sizeof(fv_file) + real->szOsFile,
                           .mxPathname = real->mxPathname,
                           .zName = "faultvfs",
                           .xOpen = fv_open,
                           .xDelete = fv_delete,
                           .xAccess = fv_access,
                           .xFullPathname = fv_fullpath,
                           .xDlOpen = fv_dlopen,
                           .xDlError = fv_dlerror,
                           .xDlSym = fv_dlsym,
                           .xDlClose = fv_dlclose,
                           .xRandomness = fv_random,
                           .xSleep = fv_sleep,
                           .xCurrentTime = fv_time,
                           .xGetLastError = fv_lasterr,
                           .xCurrentTimeInt64 = fv_time64};
    fv_real = real;
    rc = sqlite3_vfs_register(&fv_vfs, 1);
    if (rc != SQLITE_OK)
        fv_real = NULL;
    return rc;
}

void fvfs_arm(int what, long nth, int err, int persist)
{
    fv.what = what;
    fv.nth = nth;
    fv.err = err;
    fv.persist = persist;
    fv.count = 0;
    fv.failed = 0;
}

void fvfs_disarm(void)
{
    fv.nth = 0;
}

long fvfs_count(void)
{
    return fv.count;
}

long fvfs_failed(void)
{
    return fv.failed;
}
