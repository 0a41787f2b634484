/* os_posix.c — os.h for Linux and macOS. */
#if !defined(_WIN32)
#define _GNU_SOURCE
#include "os.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#endif

#if defined(O_DIRECT) /* not on macOS, which uses F_NOCACHE */
/* Alignment O_DIRECT needs for this fd: STATX_DIOALIGN where the kernel has it. */
static uint32_t dio_align_of(int fd)
{
#if defined(__linux__) && defined(STATX_DIOALIGN)
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) &&
	    stx.stx_dio_offset_align) {
		uint32_t a = stx.stx_dio_offset_align > stx.stx_dio_mem_align ? stx.stx_dio_offset_align
									       : stx.stx_dio_mem_align;
		return a;
	}
#else
	(void)fd;
#endif
	return 4096;
}
#endif

#if defined(__linux__) && defined(SYS_openat2) && defined(RESOLVE_CACHED)
/* openat2 with RESOLVE_CACHED: 1 opened, 0 not supported here, -errno. */
static int open_cached(const char *path, int flags, int *fd)
{
	static int unsupported;
	if (__atomic_load_n(&unsupported, __ATOMIC_RELAXED)) return 0;
	struct open_how how = {.flags = (uint64_t)flags, .resolve = RESOLVE_CACHED};
	long r;
	do r = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	while (r < 0 && errno == EINTR);
	if (r >= 0) {
		*fd = (int)r;
		return 1;
	}
	if (errno == ENOSYS || errno == EINVAL || errno == E2BIG || errno == EPERM) { /* old kernel or seccomp */
		__atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return -errno;
}
#endif

int os_open(const char *path, int mode, os_file *out, uint32_t *dio_align)
{
	int flags = O_RDONLY | O_CLOEXEC;
	int direct = (mode & OS_OPEN_DIRECT) != 0;
	*dio_align = 0;
#if defined(O_DIRECT)
	if (direct) {
		int fd;
		do fd = open(path, flags | O_DIRECT);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0) {
			*out = fd;
			*dio_align = dio_align_of(fd);
			return 0;
		}
		/* EINVAL: this filesystem has no O_DIRECT (tmpfs); read it buffered. */
		if (errno != EINVAL) return -errno;
	}
#endif
	int fd;
#if defined(__linux__) && defined(SYS_openat2) && defined(RESOLVE_CACHED)
	if (mode & OS_OPEN_CACHED) {
		int rc = open_cached(path, flags, &fd);
		if (rc < 0) return rc;
		if (rc == 1) {
			*out = fd;
			return 0;
		}
	}
#endif
	do fd = open(path, flags);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) return -errno;
#if defined(__APPLE__)
	if (direct) fcntl(fd, F_NOCACHE, 1);
#endif
	*out = fd;
	return 0;
}

void os_close(os_file fd) { close(fd); }

int64_t os_pread(os_file fd, void *buf, uint32_t len, uint64_t off)
{
	for (;;) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n >= 0) return n;
		if (errno != EINTR && errno != EAGAIN) return -errno;
	}
}

int64_t os_preadv(os_file fd, const struct iovec *iov, int niov, uint64_t off)
{
	for (;;) {
		ssize_t n = preadv(fd, iov, niov, (off_t)off);
		if (n >= 0) return n;
		if (errno != EINTR && errno != EAGAIN) return -errno;
	}
}

int os_file_size(const char *path, int64_t *size)
{
#if defined(__linux__)
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_SIZE, &stx) != 0) return -errno;
	if (S_ISDIR(stx.stx_mode)) return -EISDIR;
	if (!S_ISREG(stx.stx_mode) && !S_ISBLK(stx.stx_mode)) {
		*size = 0; /* character devices, FIFOs: no size; only explicit ranges work */
		return -EINVAL;
	}
	*size = (int64_t)stx.stx_size;
#else
	struct stat st;
	if (stat(path, &st) != 0) return -errno;
	if (S_ISDIR(st.st_mode)) return -EISDIR;
	if (!S_ISREG(st.st_mode)) return -EINVAL;
	*size = (int64_t)st.st_size;
#endif
	return 0;
}

int os_file_stamp(const char *path, int64_t *size, int64_t *mtime)
{
#if defined(__linux__)
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_SIZE | STATX_MTIME, &stx) != 0) return -errno;
	*size = (int64_t)stx.stx_size;
	*mtime = (stx.stx_mask & STATX_MTIME) ? (int64_t)stx.stx_mtime.tv_sec * 1000000000 + stx.stx_mtime.tv_nsec : 0;
#else
	struct stat st;
	if (stat(path, &st) != 0) return -errno;
	*size = (int64_t)st.st_size;
	*mtime = (int64_t)st.st_mtime * 1000000000;
#endif
	return 0;
}

uint32_t os_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
	return rl.rlim_cur > UINT32_MAX ? UINT32_MAX : (uint32_t)rl.rlim_cur;
}

int os_pin_thread(int32_t cpu)
{
#if defined(__linux__)
	cpu_set_t set;
	if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* pid 0 = the calling thread (sched_setaffinity acts on a thread id). */
	return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
#else
	(void)cpu;
	return -ENOSYS;
#endif
}

void *lsio_alloc_aligned(size_t align, size_t size)
{
	void *p = NULL;
	return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
void lsio_free_aligned(void *p) { free(p); }

void os_mutex_init(os_mutex *m) { pthread_mutex_init(m, NULL); }
void os_mutex_destroy(os_mutex *m) { pthread_mutex_destroy(m); }
void os_mutex_lock(os_mutex *m) { pthread_mutex_lock(m); }
void os_mutex_unlock(os_mutex *m) { pthread_mutex_unlock(m); }
void os_cond_init(os_cond *c) { pthread_cond_init(c, NULL); }
void os_cond_destroy(os_cond *c) { pthread_cond_destroy(c); }
void os_cond_wait(os_cond *c, os_mutex *m) { pthread_cond_wait(c, m); }
void os_cond_broadcast(os_cond *c) { pthread_cond_broadcast(c); }
int os_thread_start(os_thread *t, void *(*fn)(void *), void *arg) { return -pthread_create(t, NULL, fn, arg); }
void os_thread_join(os_thread t) { pthread_join(t, NULL); }
#endif
