/* os.h — the few OS services LSIO needs, so the portable backend builds for
 * Linux, macOS and Windows. Every function returns 0/bytes or -errno. */
#ifndef LSIO_OS_H
#define LSIO_OS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
typedef HANDLE os_file;
#define OS_BAD_FILE INVALID_HANDLE_VALUE
typedef SRWLOCK os_mutex;
typedef CONDITION_VARIABLE os_cond;
typedef HANDLE os_thread;
#ifndef ECANCELED
#define ECANCELED 105
#endif
#ifndef ENODATA
#define ENODATA 120
#endif
#ifndef ENOBUFS
#define ENOBUFS 119
#endif
#else
#include <pthread.h>
typedef int os_file;
#define OS_BAD_FILE (-1)
typedef pthread_mutex_t os_mutex;
typedef pthread_cond_t os_cond;
typedef pthread_t os_thread;
#endif

/* os_open() modes, OR-ed. OS_OPEN_CACHED: fail with -EAGAIN instead of
 * looking a path component up on disk (Linux RESOLVE_CACHED; elsewhere, and on
 * kernels without it, a plain open). */
#define OS_OPEN_DIRECT 1
#define OS_OPEN_CACHED 2
int os_open(const char *path, int mode, os_file *out, uint32_t *dio_align);
void os_close(os_file fd);
int64_t os_pread(os_file fd, void *buf, uint32_t len, uint64_t off);
struct iovec;
/* Scatter read; where the OS has none, the pieces are read one by one. */
int64_t os_preadv(os_file fd, const struct iovec *iov, int niov, uint64_t off);
/* Size of a regular file; -EISDIR for a directory, -EINVAL for other kinds. */
int os_file_size(const char *path, int64_t *size);
/* Size and last-modification time (ns since an epoch; 0 where unknown). */
int os_file_stamp(const char *path, int64_t *size, int64_t *mtime);
/* Highest number of open files we may use (soft RLIMIT_NOFILE). */
uint32_t os_fd_limit(void);
int os_pin_thread(int32_t cpu);
void *lsio_alloc_aligned(size_t align, size_t size);
void lsio_free_aligned(void *p);

void os_mutex_init(os_mutex *m);
void os_mutex_destroy(os_mutex *m);
void os_mutex_lock(os_mutex *m);
void os_mutex_unlock(os_mutex *m);
void os_cond_init(os_cond *c);
void os_cond_destroy(os_cond *c);
void os_cond_wait(os_cond *c, os_mutex *m);
void os_cond_broadcast(os_cond *c);
int os_thread_start(os_thread *t, void *(*fn)(void *), void *arg);
void os_thread_join(os_thread t);

#endif
