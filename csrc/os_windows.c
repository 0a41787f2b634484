/* os_windows.c — os.h for Windows (the portable thread-pool backend).
 *
 * Paths arrive as UTF-8 and are opened with the wide (UTF-16) API, so any
 * Unicode name works; long absolute paths get the \\?\ prefix. LSIO_READER_DIRECT
 * maps to FILE_FLAG_NO_BUFFERING, whose offsets, lengths and buffers must be
 * sector aligned: we ask for 4096, which covers 512e and 4Kn disks alike.
 * Errors are Win32 codes mapped to the errno values the rest of LSIO uses. */
#if defined(_WIN32)
#include "unit.h" /* struct iovec on Windows */

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define WIN_DIO_ALIGN 4096u
#define WIN_FD_LIMIT 8192u /* handles are not a scarce resource on Windows */

/* Win32 error → positive errno. */
static int errno_of(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_DRIVE:
	case ERROR_BAD_NETPATH:
	case ERROR_BAD_NET_NAME:
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
	case ERROR_NO_MORE_FILES: return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
	case ERROR_PRIVILEGE_NOT_HELD: return EACCES;
	case ERROR_TOO_MANY_OPEN_FILES: return EMFILE;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_NO_SYSTEM_RESOURCES:
	case ERROR_WORKING_SET_QUOTA: return ENOMEM;
	case ERROR_INVALID_HANDLE: return EBADF;
	case ERROR_INVALID_PARAMETER:
	case ERROR_NEGATIVE_SEEK: return EINVAL;
	case ERROR_FILENAME_EXCED_RANGE: return ENAMETOOLONG;
	case ERROR_DIRECTORY: return ENOTDIR;
	case ERROR_OPERATION_ABORTED: return ECANCELED;
	case ERROR_HANDLE_EOF: return ENODATA;
	case ERROR_NOT_SUPPORTED:
	case ERROR_CALL_NOT_IMPLEMENTED: return ENOSYS;
	default: return EIO;
	}
}

static int neg_last_error(void) { return -errno_of(GetLastError()); }

/* UTF-8 → NUL-terminated UTF-16, malloc'd (free() it). NULL with *rc = -errno. */
static wchar_t *widen(const char *path, int *rc)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
	if (n <= 0) {
		*rc = GetLastError() == ERROR_NO_UNICODE_TRANSLATION ? -EILSEQ : neg_last_error();
		return NULL;
	}
	/* Long absolute paths: \\?\C:\... or \\?\UNC\server\share\... (the prefix
	 * turns off normalization, so separators become backslashes here). */
	int drive = n - 1 >= 3 && ((path[0] | 0x20) >= 'a' && (path[0] | 0x20) <= 'z') && path[1] == ':' &&
		    (path[2] == '\\' || path[2] == '/');
	int unc = n - 1 >= 3 && (path[0] == '\\' || path[0] == '/') && (path[1] == '\\' || path[1] == '/') &&
		  path[2] != '?' && path[2] != '.';
	int prefix = (n - 1 >= MAX_PATH - 12 && (drive || unc)) ? (unc ? 7 : 4) : 0; /* \\?\ or \\?\UNC */
	wchar_t *w = malloc(((size_t)n + (size_t)prefix) * sizeof *w);
	if (!w) {
		*rc = -ENOMEM;
		return NULL;
	}
	wchar_t *dst = w;
	if (prefix) {
		memcpy(w, unc ? L"\\\\?\\UNC" : L"\\\\?\\", (size_t)prefix * sizeof *w);
		dst = w + prefix;
	}
	/* For UNC the prefix replaces the first of the two leading separators. */
	const char *src = path + (prefix && unc ? 1 : 0);
	int m = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, src, -1, dst, n);
	if (m <= 0) {
		*rc = neg_last_error();
		free(w);
		return NULL;
	}
	if (prefix)
		for (wchar_t *p = dst; *p; p++)
			if (*p == L'/') *p = L'\\';
	*rc = 0;
	return w;
}

static HANDLE open_wide(const wchar_t *w, int direct)
{
	DWORD flags = FILE_ATTRIBUTE_NORMAL | (direct ? FILE_FLAG_NO_BUFFERING : 0);
	/* Share everything, like POSIX open(): others may write, rename, delete. */
	return CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
			   flags, NULL);
}

int os_open(const char *path, int mode, os_file *out, uint32_t *dio_align)
{
	int direct = (mode & OS_OPEN_DIRECT) != 0;
	int rc;
	*dio_align = 0;
	wchar_t *w = widen(path, &rc);
	if (!w) return rc;
	HANDLE h = open_wide(w, direct);
	if (h != INVALID_HANDLE_VALUE && direct) {
		*dio_align = WIN_DIO_ALIGN;
	} else if (h == INVALID_HANDLE_VALUE && direct && GetLastError() == ERROR_INVALID_PARAMETER) {
		/* No unbuffered I/O on this volume: read it buffered. */
		h = open_wide(w, 0);
	}
	if (h == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();
		rc = -errno_of(e);
		/* A directory cannot be opened without FILE_FLAG_BACKUP_SEMANTICS. */
		if (e == ERROR_ACCESS_DENIED) {
			DWORD a = GetFileAttributesW(w);
			if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) rc = -EISDIR;
		}
		free(w);
		return rc;
	}
	free(w);
	*out = h;
	return 0;
}

void os_close(os_file fd) { CloseHandle(fd); }

int64_t os_pread(os_file fd, void *buf, uint32_t len, uint64_t off)
{
	/* On a synchronous handle, ReadFile with an OVERLAPPED reads at its offset
	 * and returns when done; the offset is ours, so threads may share the handle. */
	for (;;) {
		OVERLAPPED ov;
		DWORD got = 0;
		memset(&ov, 0, sizeof ov);
		ov.Offset = (DWORD)(off & 0xffffffffu);
		ov.OffsetHigh = (DWORD)(off >> 32);
		if (ReadFile(fd, buf, (DWORD)len, &got, &ov)) return (int64_t)got;
		DWORD e = GetLastError();
		if (e == ERROR_HANDLE_EOF) return 0; /* at or past the end: like pread() */
		if (e == ERROR_OPERATION_ABORTED) continue; /* cf. EINTR */
		return -errno_of(e);
	}
}

int64_t os_preadv(os_file fd, const struct iovec *iov, int niov, uint64_t off)
{
	int64_t total = 0;
	for (int k = 0; k < niov; k++) {
		int64_t r = os_pread(fd, iov[k].iov_base, (uint32_t)iov[k].iov_len, off + (uint64_t)total);
		if (r < 0) return total ? total : r;
		total += r;
		if ((size_t)r < iov[k].iov_len) break; /* short: the caller continues */
	}
	return total;
}

int os_file_size(const char *path, int64_t *size)
{
	int rc;
	wchar_t *w = widen(path, &rc);
	if (!w) return rc;
	WIN32_FILE_ATTRIBUTE_DATA d;
	BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
	rc = ok ? 0 : neg_last_error();
	free(w);
	if (rc < 0) return rc;
	if (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return -EISDIR;
	if (d.dwFileAttributes & FILE_ATTRIBUTE_DEVICE) {
		*size = 0;
		return -EINVAL;
	}
	*size = (int64_t)(((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow);
	return 0;
}

int os_file_stamp(const char *path, int64_t *size, int64_t *mtime)
{
	int rc;
	wchar_t *w = widen(path, &rc);
	if (!w) return rc;
	WIN32_FILE_ATTRIBUTE_DATA d;
	BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
	rc = ok ? 0 : neg_last_error();
	free(w);
	if (rc < 0) return rc;
	*size = (int64_t)(((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow);
	/* 100 ns ticks since 1601 */
	*mtime = (int64_t)((((uint64_t)d.ftLastWriteTime.dwHighDateTime << 32) | d.ftLastWriteTime.dwLowDateTime) * 100);
	return 0;
}

uint32_t os_fd_limit(void) { return WIN_FD_LIMIT; }

int os_pin_thread(int32_t cpu)
{
	/* One processor group (up to 64 CPUs), as SetThreadAffinityMask allows. */
	if (cpu < 0 || cpu >= (int32_t)(sizeof(DWORD_PTR) * 8)) return -EINVAL;
	DWORD_PTR mask = (DWORD_PTR)1 << cpu;
	return SetThreadAffinityMask(GetCurrentThread(), mask) ? 0 : -EINVAL;
}

void *lsio_alloc_aligned(size_t align, size_t size) { return _aligned_malloc(size ? size : 1, align); }
void lsio_free_aligned(void *p) { _aligned_free(p); } /* NULL is fine */

void os_mutex_init(os_mutex *m) { InitializeSRWLock(m); }
void os_mutex_destroy(os_mutex *m) { (void)m; } /* SRW locks need no cleanup */
void os_mutex_lock(os_mutex *m) { AcquireSRWLockExclusive(m); }
void os_mutex_unlock(os_mutex *m) { ReleaseSRWLockExclusive(m); }
void os_cond_init(os_cond *c) { InitializeConditionVariable(c); }
void os_cond_destroy(os_cond *c) { (void)c; }
void os_cond_wait(os_cond *c, os_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
void os_cond_broadcast(os_cond *c) { WakeAllConditionVariable(c); }

struct thread_start {
	void *(*fn)(void *);
	void *arg;
};

static DWORD WINAPI thread_trampoline(LPVOID p)
{
	struct thread_start s = *(struct thread_start *)p;
	free(p);
	s.fn(s.arg);
	return 0;
}

int os_thread_start(os_thread *t, void *(*fn)(void *), void *arg)
{
	struct thread_start *s = malloc(sizeof *s);
	if (!s) return -ENOMEM;
	s->fn = fn;
	s->arg = arg;
	HANDLE h = CreateThread(NULL, 0, thread_trampoline, s, 0, NULL);
	if (!h) {
		int rc = GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? -ENOMEM : -EAGAIN;
		free(s);
		return rc;
	}
	*t = h;
	return 0;
}

void os_thread_join(os_thread t)
{
	WaitForSingleObject(t, INFINITE);
	CloseHandle(t);
}
#endif
