/* smoke_windows.c — runtime check of the Windows port (os_windows.c + the
 * thread-pool backend), built by `zig build smoke-windows` for
 * x86_64-windows-gnu and run under wine64 by csrc/tests/run.sh when wine is
 * installed (or on Windows itself).
 *
 * Covers: UTF-8 paths with non-ASCII names, STAT/RESOLVE/READ of random
 * ranges compared with the bytes written, buffered and LSIO_READER_DIRECT
 * (FILE_FLAG_NO_BUFFERING, aligned and unaligned ranges), per-chunk errors
 * (-ENOENT, -EISDIR, -ERANGE, -ENOBUFS), a file shrinking between RESOLVE and
 * READ (-ENODATA: ReadFile at EOF), 200 files through an fd cache of 8 with
 * some deleted after RESOLVE, cancellation, lsio_submit/lsio_wait, the
 * io_uring backend refused (-ENOSYS), lsio_pin_thread. Prints "N passed, M failed". */
#include "lsio.h"
#include "os.h" /* windows.h and the errno names Windows lacks, as the library sees them */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_passed, g_failed, g_fails;
static const char *g_case;
#define CHECK_EQ(a, b)                                                                                     \
	do {                                                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);                                        \
		if (a_ != b_) {                                                                            \
			if (g_fails++ < 10)                                                                \
				printf("    FAIL %s line %d: %s == %s (%lld != %lld)\n", g_case, __LINE__, #a, \
				       #b, a_, b_);                                                        \
		}                                                                                          \
	} while (0)
#define CHECK(c) CHECK_EQ(!!(c), 1)

static uint64_t g_rng = 0x1234567887654321ull;
static uint64_t rnd(void)
{
	uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static char g_dir[MAX_PATH * 2]; /* UTF-8 */

static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w = malloc((size_t)n * sizeof *w);
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

/* A test file: its UTF-8 path and its bytes. */
typedef struct tfile {
	char path[MAX_PATH * 2];
	uint8_t *data;
	int64_t size; /* or -errno for files that must fail */
} tfile;

static void make_file(tfile *f, const char *name, int64_t size)
{
	snprintf(f->path, sizeof f->path, "%s\\%s", g_dir, name);
	f->size = size;
	f->data = malloc((size_t)size + 1);
	for (int64_t k = 0; k < size; k++) f->data[k] = (uint8_t)rnd();
	wchar_t *w = wide(f->path);
	HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		printf("cannot create %s (%lu)\n", f->path, (unsigned long)GetLastError());
		exit(2);
	}
	DWORD wr = 0;
	if (size && (!WriteFile(h, f->data, (DWORD)size, &wr, NULL) || wr != (DWORD)size)) exit(2);
	CloseHandle(h);
}

static void shrink_file(const char *path, int64_t size)
{
	wchar_t *w = wide(path);
	HANDLE h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	LARGE_INTEGER li;
	li.QuadPart = size;
	if (h == INVALID_HANDLE_VALUE || !SetFilePointerEx(h, li, NULL, FILE_BEGIN) || !SetEndOfFile(h)) exit(2);
	CloseHandle(h);
}

/* A batch over `files`, requests given by the caller. */
typedef struct bt {
	lsio_batch b;
	char *paths;
	uint64_t *poff;
	uint32_t *file;
	int64_t *start, *end, *fsize;
	uint64_t *dest, *offset, *length;
	int32_t *status;
	uint8_t **buf;
	size_t n;
} bt;

static void bt_init(bt *t, tfile *files, size_t nf, size_t n)
{
	memset(t, 0, sizeof *t);
	size_t plen = 0;
	for (size_t f = 0; f < nf; f++) plen += strlen(files[f].path) + 1;
	t->paths = malloc(plen);
	t->poff = calloc(nf, sizeof *t->poff);
	plen = 0;
	for (size_t f = 0; f < nf; f++) {
		size_t k = strlen(files[f].path) + 1;
		memcpy(t->paths + plen, files[f].path, k);
		t->poff[f] = plen;
		plen += k;
	}
	t->file = calloc(n, sizeof *t->file);
	t->start = calloc(n, sizeof *t->start);
	t->end = calloc(n, sizeof *t->end);
	t->fsize = calloc(nf, sizeof *t->fsize);
	t->dest = calloc(n, sizeof *t->dest);
	t->offset = calloc(n, sizeof *t->offset);
	t->length = calloc(n, sizeof *t->length);
	t->status = calloc(n, sizeof *t->status);
	t->buf = calloc(n, sizeof *t->buf);
	t->n = n;
	t->b.count = n;
	t->b.file_count = nf;
	t->b.paths = t->paths;
	t->b.path_offsets = t->poff;
	t->b.file = t->file;
	t->b.start = t->start;
	t->b.end = t->end;
	t->b.dest = t->dest;
	t->b.offset = t->offset;
	t->b.length = t->length;
	t->b.status = t->status;
	t->b.file_size = t->fsize;
}

/* Buffers: 4096-aligned plus `mis` bytes, room for the whole file. */
static void bt_buffers(bt *t, tfile *files, int unaligned)
{
	for (size_t i = 0; i < t->n; i++) {
		int64_t sz = files[t->file[i]].size > 0 ? files[t->file[i]].size : 0;
		size_t mis = unaligned ? (size_t)(i % 3) * 7 : 0;
		_aligned_free(t->buf[i]);
		t->buf[i] = _aligned_malloc((size_t)sz + mis + 64, 4096);
		t->dest[i] = (uint64_t)(uintptr_t)(t->buf[i] + mis);
		t->length[i] = UINT64_MAX;
	}
	t->b.chunks_done = t->b.bytes_done = t->b.failed = t->b.cancel = 0;
}

static void bt_free(bt *t)
{
	for (size_t i = 0; i < t->n; i++) _aligned_free(t->buf[i]);
	free(t->paths), free(t->poff), free(t->file), free(t->start), free(t->end), free(t->fsize);
	free(t->dest), free(t->offset), free(t->length), free(t->status), free(t->buf);
}

/* Expected status/offset/length by the range rules. */
static int32_t model(int64_t size, int64_t s, int64_t e, uint64_t *off, uint64_t *len)
{
	if (size < 0) return (int32_t)size;
	s = s < 0 ? size + s : s;
	e = e == LSIO_OPEN_END ? size : e < 0 ? size + e : e;
	if (s < 0 || e > size || e < s) return -ERANGE;
	*off = (uint64_t)s;
	*len = (uint64_t)(e - s);
	return 0;
}

/* Checks every chunk against the model and the file bytes; counters too. */
static void bt_check(bt *t, tfile *files)
{
	uint64_t failed = 0, bytes = 0;
	for (size_t i = 0; i < t->n; i++) {
		tfile *f = &files[t->file[i]];
		uint64_t off = 0, len = 0;
		int32_t want = model(f->size, t->start[i], t->end[i], &off, &len);
		CHECK_EQ(t->status[i], want);
		if (t->status[i]) {
			failed++;
			CHECK_EQ(t->length[i], 0);
			continue;
		}
		CHECK_EQ(t->offset[i], off);
		CHECK_EQ(t->length[i], len);
		bytes += len;
		if (len && memcmp((uint8_t *)(uintptr_t)t->dest[i], f->data + off, (size_t)len) != 0) CHECK_EQ(i, -1);
	}
	CHECK_EQ(t->b.chunks_done, t->n);
	CHECK_EQ(t->b.failed, failed);
	CHECK_EQ(t->b.bytes_done, bytes);
	CHECK_EQ(t->b.state, LSIO_STATE_DONE);
}

static lsio_reader *reader(uint32_t flags, uint32_t max_open)
{
	lsio_reader_opts o;
	memset(&o, 0, sizeof o);
	o.backend = LSIO_BACKEND_THREADS;
	o.flags = flags;
	o.max_open_files = max_open;
	lsio_reader *r = NULL;
	CHECK_EQ(lsio_reader_open(&o, &r), 0);
	return r;
}

static void t_basics(void)
{
	lsio_reader_opts o;
	memset(&o, 0, sizeof o);
	o.backend = LSIO_BACKEND_IO_URING;
	lsio_reader *r = NULL;
	CHECK_EQ(lsio_reader_open(&o, &r), -ENOSYS);
	CHECK(r == NULL);
	CHECK_EQ(lsio_reader_open(NULL, &r), 0); /* AUTO: threads here */
	lsio_reader_info info;
	CHECK_EQ(lsio_reader_get_info(r, &info), 0);
	CHECK_EQ(info.backend, LSIO_BACKEND_THREADS);
	CHECK_EQ(info.max_open_files, 8192 - 128);
	lsio_reader_close(r);
	CHECK_EQ(lsio_pin_thread(0), 0);
	CHECK_EQ(lsio_pin_thread(-1), -EINVAL);
}

static void t_ranges(uint32_t flags)
{
	tfile files[5];
	make_file(&files[0], "big.bin", 300000);
	make_file(&files[1], "\xc3\xbcn\xc3\xaf\x63\xc3\xb8\x64\xc3\xa9-\xe5\x90\x8d\xe5\x89\x8d.bin", 5000); /* ünïcødé-名前 */
	make_file(&files[2], "empty.bin", 0);
	snprintf(files[3].path, sizeof files[3].path, "%s\\missing.bin", g_dir);
	files[3].size = -ENOENT;
	files[3].data = NULL;
	snprintf(files[4].path, sizeof files[4].path, "%s", g_dir);
	files[4].size = -EISDIR;
	files[4].data = NULL;
	lsio_reader *r = reader(flags, 0);
	if (!r) return;
	for (int round = 0; round < 2; round++) {
		bt t;
		bt_init(&t, files, 5, 120);
		for (size_t i = 0; i < t.n; i++) {
			uint32_t f = (uint32_t)rnd_below(5);
			int64_t S = files[f].size > 0 ? files[f].size : 0, s, e;
			switch (rnd_below(5)) {
			case 0: s = 0, e = LSIO_OPEN_END; break;
			case 1: s = (int64_t)rnd_below((uint64_t)S / 4096 + 1) * 4096, e = s + (int64_t)rnd_below((uint64_t)(S - s) / 4096 + 1) * 4096; break;
			case 2: s = -(int64_t)rnd_below((uint64_t)S + 1), e = LSIO_OPEN_END; break;
			case 3: s = (int64_t)rnd_below((uint64_t)S + 1), e = S + 1 + (int64_t)rnd_below(10); break; /* past EOF */
			default: s = (int64_t)rnd_below((uint64_t)S + 1), e = s + (int64_t)rnd_below((uint64_t)(S - s) + 1);
			}
			t.file[i] = f, t.start[i] = s, t.end[i] = e;
		}
		bt_buffers(&t, files, round);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(t.fsize[0], 300000);
		CHECK_EQ(t.fsize[1], 5000);
		CHECK_EQ(t.fsize[2], 0);
		CHECK_EQ(t.fsize[3], -ENOENT);
		CHECK_EQ(t.fsize[4], -EISDIR);
		bt_check(&t, files);

		/* -ENOBUFS: a capacity one byte short */
		bt_buffers(&t, files, round);
		t.file[0] = 0, t.start[0] = 10, t.end[0] = 5010, t.length[0] = 4999;
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(t.status[0], -ENOBUFS);
		bt_free(&t);
	}
	/* a file shrinking between RESOLVE and READ: -ENODATA, bytes before the new end delivered */
	{
		bt t;
		bt_init(&t, files, 5, 3);
		t.file[0] = 0, t.start[0] = 0, t.end[0] = 8192;        /* stays */
		t.file[1] = 0, t.start[1] = 90000, t.end[1] = 110000;  /* straddles the new end */
		t.file[2] = 0, t.start[2] = 200000, t.end[2] = 300000; /* wholly past it */
		bt_buffers(&t, files, 0);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_RESOLVE), 0);
		shrink_file(files[0].path, 100000);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_READ), 0);
		CHECK_EQ(t.status[0], 0);
		CHECK(memcmp(t.buf[0], files[0].data, 8192) == 0);
		CHECK_EQ(t.status[1], -ENODATA);
		CHECK_EQ(t.length[1], 10000);
		CHECK(memcmp(t.buf[1], files[0].data + 90000, 10000) == 0);
		CHECK_EQ(t.status[2], -ENODATA);
		CHECK_EQ(t.length[2], 0);
		CHECK_EQ(t.b.failed, 2);
		bt_free(&t);
	}
	lsio_reader_close(r);
	for (int f = 0; f < 3; f++) {
		wchar_t *w = wide(files[f].path);
		DeleteFileW(w);
		free(w);
	}
	for (int f = 0; f < 5; f++) free(files[f].data);
}

static void t_many_files(uint32_t flags)
{
	enum { NF = 200 };
	tfile *files = calloc(NF, sizeof *files);
	for (int f = 0; f < NF; f++) {
		char name[32];
		snprintf(name, sizeof name, "m%03d-%u.bin", f, flags);
		make_file(&files[f], name, (int64_t)rnd_below(9000) + 1);
	}
	lsio_reader *r = reader(flags, 8);
	if (r) {
		lsio_reader_info info;
		CHECK_EQ(lsio_reader_get_info(r, &info), 0);
		CHECK_EQ(info.max_open_files, 8);
		bt t;
		bt_init(&t, files, NF, NF * 2);
		for (size_t i = 0; i < t.n; i++) {
			uint32_t f = (uint32_t)rnd_below(NF);
			int64_t S = files[f].size;
			t.file[i] = f, t.start[i] = (int64_t)rnd_below((uint64_t)S), t.end[i] = LSIO_OPEN_END;
		}
		bt_buffers(&t, files, 1);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		bt_check(&t, files);
		/* delete every 7th file after RESOLVE: those chunks -ENOENT, the rest intact */
		bt_buffers(&t, files, 0);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_RESOLVE), 0);
		for (int f = 0; f < NF; f += 7) {
			wchar_t *w = wide(files[f].path);
			CHECK(DeleteFileW(w));
			free(w);
		}
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_READ), 0);
		uint64_t gone = 0;
		for (size_t i = 0; i < t.n; i++) {
			uint32_t f = t.file[i];
			if (f % 7 == 0) {
				CHECK_EQ(t.status[i], -ENOENT);
				gone++;
			} else {
				CHECK_EQ(t.status[i], 0);
				CHECK(memcmp((uint8_t *)(uintptr_t)t.dest[i], files[f].data + t.offset[i], (size_t)t.length[i]) == 0);
			}
		}
		CHECK_EQ(t.b.failed, gone);
		CHECK_EQ(t.b.chunks_done, t.n);

		/* cancel before READ, then the same reader reads fine */
		bt_buffers(&t, files, 0);
		for (size_t i = 0; i < t.n; i++) t.file[i] = 1 + (uint32_t)(i % 6), t.start[i] = 0, t.end[i] = LSIO_OPEN_END;
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_STAT | LSIO_OP_RESOLVE), 0);
		t.b.cancel = 1;
		CHECK_EQ(lsio_submit(r, &t.b, LSIO_OP_READ), 0);
		CHECK_EQ(lsio_wait(r, &t.b), 0);
		CHECK_EQ(t.b.state, LSIO_STATE_DONE);
		for (size_t i = 0; i < t.n; i++) CHECK_EQ(t.status[i], -ECANCELED);
		bt_buffers(&t, files, 1);
		CHECK_EQ(lsio_run(r, &t.b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		bt_check(&t, files);
		bt_free(&t);
		lsio_reader_close(r);
	}
	for (int f = 0; f < NF; f++) {
		wchar_t *w = wide(files[f].path);
		DeleteFileW(w);
		free(w);
		free(files[f].data);
	}
	free(files);
}

static void run(const char *name, void (*fn)(uint32_t), uint32_t flags)
{
	g_case = name;
	g_fails = 0;
	fn(flags);
	if (g_fails) g_failed++;
	else g_passed++;
	printf("%s %s%s\n", g_fails ? "FAIL" : "ok  ", name, flags ? " [direct]" : "");
}

static void basics(uint32_t flags) { (void)flags, t_basics(); }

int main(void)
{
	char tmp[MAX_PATH];
	GetTempPathA(sizeof tmp, tmp);
	snprintf(g_dir, sizeof g_dir, "%slsio_smoke_%lu_%llu", tmp, (unsigned long)GetCurrentProcessId(),
		 (unsigned long long)GetTickCount64());
	if (!CreateDirectoryA(g_dir, NULL)) {
		printf("cannot create %s\n", g_dir);
		return 2;
	}
	printf("lsio Windows smoke test (abi %u) in %s\n", lsio_abi_version(), g_dir);
	run("basics", basics, 0);
	run("ranges", t_ranges, 0);
	run("ranges", t_ranges, LSIO_READER_DIRECT);
	run("many_files", t_many_files, 0);
	run("many_files", t_many_files, LSIO_READER_DIRECT);
	if (!RemoveDirectoryA(g_dir)) printf("note: %s not empty\n", g_dir);
	printf("%d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
