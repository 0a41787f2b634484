/* test_core.c — unit tests of LSIO's native core (csrc/), run by `zig build test`.
 *
 * Every case runs for both backends (io_uring, threads) and both file modes
 * (buffered, LSIO_READER_DIRECT). Files are made under a mkdtemp() directory in
 * /tmp; what the library reads is compared byte for byte with pread(), every
 * resolved offset/length with an independent model of the range rules, and
 * the live counters with what the statuses say.
 *
 * Output: one line per case, then "N passed, M failed" (the line CI reads).
 * Exit code 0 only when nothing failed. Environment: LSIO_TEST_SEED=<n> changes
 * the random ranges and file contents; LSIO_TEST_ONLY=<text> runs only the
 * cases whose name contains it (e.g. "many_files [threads"). When io_uring
 * cannot be had (old kernel, seccomp, io_uring_disabled, valgrind without
 * io_uring support) its cases are skipped with a note and the threads backend
 * cases still run. */
#define _GNU_SOURCE
#include "lsio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Under valgrind: reads that io_uring completes are written by the kernel
 * asynchronously, which memcheck cannot see (it only knows syscalls such as
 * pread). Bytes the io_uring backend copies out of its O_DIRECT bounce buffer
 * therefore look uninitialised. With the io_uring backend the tests tell
 * memcheck what the kernel wrote before comparing; with the threads backend
 * they do not, so memcheck still checks everything pread() delivered.
 *
 * The request is memcheck's VALGRIND_MAKE_MEM_DEFINED, issued with valgrind's
 * documented magic instruction sequence (as valgrind.h does it), so the test
 * does not depend on valgrind's headers being installed when it is compiled.
 * Outside valgrind the sequence does nothing. */
static void vg_make_mem_defined(const void *p, uint64_t n)
{
	/* VG_USERREQ_TOOL_BASE('M','C') + 2 */
	volatile unsigned long args[6] = {((unsigned long)'M' << 24 | (unsigned long)'C' << 16) + 2,
					  (unsigned long)(uintptr_t)p, (unsigned long)n, 0, 0, 0};
#if defined(__x86_64__)
	volatile unsigned long res;
	__asm__ volatile("rolq $3,  %%rdi ; rolq $13, %%rdi\n\t"
			 "rolq $61, %%rdi ; rolq $51, %%rdi\n\t"
			 "xchgq %%rbx,%%rbx"
			 : "=d"(res)
			 : "a"(&args[0]), "0"(0UL)
			 : "cc", "memory");
	(void)res;
#elif defined(__aarch64__)
	volatile unsigned long res;
	__asm__ volatile("mov x3, %1\n\t"
			 "mov x4, %2\n\t"
			 "ror x12, x12, #3  ;  ror x12, x12, #13 \n\t"
			 "ror x12, x12, #51 ;  ror x12, x12, #61 \n\t"
			 "orr x10, x10, x10\n\t"
			 "mov %0, x3"
			 : "=r"(res)
			 : "r"(0UL), "r"(&args[0])
			 : "cc", "memory", "x3", "x4");
	(void)res;
#else
	(void)args;
#endif
}

#include "check.h"
#include "pace.h"
#include "internal.h"

/* ------------------------------------------------------------------------- */
/* Configurations and helpers                                                 */
/* ------------------------------------------------------------------------- */

typedef struct cfg {
	uint32_t backend; /* LSIO_BACKEND_IO_URING or LSIO_BACKEND_THREADS */
	uint32_t flags;   /* LSIO_READER_DIRECT, LSIO_READER_INLINE */
	const char *name;
} cfg;

static const cfg *g_cfg;      /* configuration of the running case, or NULL */
static char g_tmp[PATH_MAX];  /* the mkdtemp() directory */
static int g_odirect_works;   /* /tmp takes O_DIRECT (ext4, xfs...; not tmpfs) */
static int g_uring_available; /* lsio_reader_open(IO_URING) succeeded */
static int g_dir_seq;

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

/* A fresh directory for one case. */
static void case_dir(char *out, size_t n)
{
	snprintf(out, n, "%s/c%d", g_tmp, ++g_dir_seq);
	if (mkdir(out, 0700) != 0) {
		perror("mkdir");
		exit(2);
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes `size` pseudo-random bytes to dir/name; the full path goes to out. */
static void make_file(const char *dir, const char *name, uint64_t size, char *out, size_t outn)
{
	snprintf(out, outn, "%s/%s", dir, name);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(out);
		exit(2);
	}
	uint8_t buf[1 << 16];
	uint64_t left = size;
	while (left) {
		size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
		for (size_t j = 0; j < k; j += 8) {
			uint64_t v = rnd();
			memcpy(buf + j, &v, k - j < 8 ? k - j : 8);
		}
		if (write_all(fd, buf, k) != 0) {
			perror("write");
			exit(2);
		}
		left -= k;
	}
	close(fd);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') n++;
	closedir(d);
	return n;
}

static lsio_reader *open_reader(const cfg *c, uint32_t max_open_files, uint32_t queue_depth, uint32_t threads)
{
	lsio_reader_opts o;
	memset(&o, 0, sizeof o);
	o.backend = c->backend;
	o.flags = c->flags;
	o.max_open_files = max_open_files;
	o.queue_depth = queue_depth;
	o.threads = threads;
	lsio_reader *r = NULL;
	int rc = lsio_reader_open(&o, &r);
	if (rc != 0) {
		char m[128];
		snprintf(m, sizeof m, "lsio_reader_open(%s) = %d", c->name, rc);
		check_failed(__FILE__, __LINE__, m);
		return NULL;
	}
	return r;
}

/* ------------------------------------------------------------------------- */
/* Test batches: the arrays of an lsio_batch plus what the test expects        */
/* ------------------------------------------------------------------------- */

#define FILL 0xA5 /* destination bytes nothing should have written */
#define GUARD 4096 /* pattern bytes checked after each destination */

typedef struct tb {
	lsio_batch b;
	size_t nf, nr, maxf, maxr;
	/* batch arrays */
	char *paths;
	size_t paths_len, paths_cap;
	uint64_t *path_offsets;
	uint32_t *file;
	int64_t *start, *end;
	uint64_t *dest, *offset, *length;
	int32_t *status;
	int64_t *file_size;
	/* test side */
	int64_t *model_size; /* per file: size the file has, or -errno */
	uint64_t *cap;       /* per request: capacity given as length[] input */
	uint32_t *mis;       /* per request: dest misalignment */
	uint8_t **raw;       /* per request: allocation holding dest */
	uint64_t *raw_len;
	int32_t *want_status;
	uint64_t *want_off, *want_len;
	uint64_t *res_len; /* per request: length RESOLVE gives (want_len may be lowered later) */
	uint8_t *slab; /* LAYOUT: dest_base */
	uint64_t slab_len;
} tb;

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static tb *tb_new(size_t maxf, size_t maxr)
{
	tb *t = xcalloc(1, sizeof *t);
	t->maxf = maxf;
	t->maxr = maxr;
	t->paths_cap = maxf * 64 + 64;
	t->paths = xcalloc(t->paths_cap, 1);
	t->path_offsets = xcalloc(maxf, sizeof *t->path_offsets);
	t->file_size = xcalloc(maxf, sizeof *t->file_size);
	t->model_size = xcalloc(maxf, sizeof *t->model_size);
	t->file = xcalloc(maxr, sizeof *t->file);
	t->start = xcalloc(maxr, sizeof *t->start);
	t->end = xcalloc(maxr, sizeof *t->end);
	t->dest = xcalloc(maxr, sizeof *t->dest);
	t->offset = xcalloc(maxr, sizeof *t->offset);
	t->length = xcalloc(maxr, sizeof *t->length);
	t->status = xcalloc(maxr, sizeof *t->status);
	t->cap = xcalloc(maxr, sizeof *t->cap);
	t->mis = xcalloc(maxr, sizeof *t->mis);
	t->raw = xcalloc(maxr, sizeof *t->raw);
	t->raw_len = xcalloc(maxr, sizeof *t->raw_len);
	t->want_status = xcalloc(maxr, sizeof *t->want_status);
	t->want_off = xcalloc(maxr, sizeof *t->want_off);
	t->want_len = xcalloc(maxr, sizeof *t->want_len);
	t->res_len = xcalloc(maxr, sizeof *t->res_len);
	return t;
}

static void tb_free(tb *t)
{
	if (!t) return;
	for (size_t i = 0; i < t->nr; i++) free(t->raw[i]);
	free(t->slab);
	free(t->paths);
	free(t->path_offsets);
	free(t->file_size);
	free(t->model_size);
	free(t->file);
	free(t->start);
	free(t->end);
	free(t->dest);
	free(t->offset);
	free(t->length);
	free(t->status);
	free(t->cap);
	free(t->mis);
	free(t->raw);
	free(t->raw_len);
	free(t->want_status);
	free(t->want_off);
	free(t->want_len);
	free(t->res_len);
	free(t);
}

/* Adds a file; model_size is its size, or -errno for one that must fail STAT. */
static uint32_t tb_file(tb *t, const char *path, int64_t model_size)
{
	size_t n = strlen(path) + 1;
	if (t->nf >= t->maxf) {
		fprintf(stderr, "tb_file: too many files\n");
		exit(2);
	}
	if (t->paths_len + n > t->paths_cap) {
		t->paths_cap = (t->paths_len + n) * 2;
		t->paths = realloc(t->paths, t->paths_cap);
		if (!t->paths) exit(2);
	}
	memcpy(t->paths + t->paths_len, path, n);
	t->path_offsets[t->nf] = t->paths_len;
	t->paths_len += n;
	t->model_size[t->nf] = model_size;
	return (uint32_t)t->nf++;
}

static size_t tb_req(tb *t, uint32_t file, int64_t start, int64_t end, uint64_t cap, uint32_t mis)
{
	if (t->nr >= t->maxr) {
		fprintf(stderr, "tb_req: too many requests\n");
		exit(2);
	}
	size_t i = t->nr++;
	t->file[i] = file;
	t->start[i] = start;
	t->end[i] = end;
	t->cap[i] = cap;
	t->mis[i] = mis;
	return i;
}

/* The range rules of lsio.h, written independently of resolve.c. */
static int32_t model_resolve(int64_t size, int64_t start, int64_t end, uint64_t cap, int truncate, uint64_t *off,
			     uint64_t *len)
{
	*off = 0;
	*len = 0;
	if (size < 0) return (int32_t)size;
	int64_t s = start < 0 ? size + start : start;
	int64_t e = end == LSIO_OPEN_END ? size : end < 0 ? size + end : end;
	if (s < 0 && end == LSIO_OPEN_END) s = 0; /* a pure suffix longer than the file: all of it */
	if (truncate) {
		if (s < 0) s = 0;
		if (s > size) s = size;
		if (e > size) e = size;
		if (e < s) e = s;
	} else if (s < 0 || e > size || e < s) {
		return -ERANGE;
	}
	if ((uint64_t)(e - s) > cap) return -ENOBUFS;
	*off = (uint64_t)s;
	*len = (uint64_t)(e - s);
	return 0;
}

/* Computes what every request should give and wires the lsio_batch up.
 * Unless `layout`, each request gets its own buffer: 4096-aligned plus
 * mis[i], followed by GUARD bytes, all filled with FILL. */
static void tb_prepare(tb *t, uint64_t flags, int layout)
{
	int truncate = (flags & LSIO_BATCH_TRUNCATE_EOF) != 0;
	for (size_t i = 0; i < t->nr; i++) {
		uint32_t f = t->file[i];
		if (f >= t->nf) {
			t->want_status[i] = -EINVAL;
			t->want_off[i] = t->want_len[i] = 0;
		} else {
			t->want_status[i] = model_resolve(t->model_size[f], t->start[i], t->end[i], t->cap[i],
							  truncate, &t->want_off[i], &t->want_len[i]);
		}
		t->res_len[i] = t->want_len[i];
		if (!layout) {
			free(t->raw[i]);
			uint64_t n = t->want_len[i] + t->mis[i] + GUARD;
			void *p = NULL;
			if (posix_memalign(&p, 4096, (size_t)n) != 0) exit(2);
			memset(p, FILL, (size_t)n);
			t->raw[i] = p;
			t->raw_len[i] = n;
			t->dest[i] = (uint64_t)(uintptr_t)(t->raw[i] + t->mis[i]);
		}
		t->length[i] = t->cap[i];
		t->status[i] = 12345; /* RESOLVE must overwrite it */
		t->offset[i] = 0;
	}
	memset(&t->b, 0, sizeof t->b);
	t->b.count = t->nr;
	t->b.file_count = t->nf;
	t->b.paths = t->paths;
	t->b.path_offsets = t->path_offsets;
	t->b.file = t->file;
	t->b.start = t->start;
	t->b.end = t->end;
	t->b.dest = t->dest;
	t->b.offset = t->offset;
	t->b.length = t->length;
	t->b.status = t->status;
	t->b.file_size = t->file_size;
	t->b.flags = flags;
	for (size_t f = 0; f < t->nf; f++) t->file_size[f] = 0x7777;
}

static void tb_zero_counters(tb *t)
{
	t->b.chunks_done = t->b.bytes_done = t->b.misaligned = t->b.failed = t->b.reads_issued = 0;
	t->b.cancel = 0;
}

static uint8_t *tb_dest(const tb *t, size_t i)
{
	return t->b.dest_base ? t->b.dest_base + t->dest[i] : (uint8_t *)(uintptr_t)t->dest[i];
}

/* [p, p+n) was filled by a read the library made (see vg_make_mem_defined). */
static void kernel_wrote(const void *p, uint64_t n)
{
	if (n && g_cfg && g_cfg->backend == LSIO_BACKEND_IO_URING) vg_make_mem_defined(p, n);
}

/* Checks that dest[0..n) holds the file's bytes at off (read with pread). */
static int same_as_file(const char *path, uint64_t off, const uint8_t *dest, uint64_t n)
{
	if (n == 0) return 1;
	kernel_wrote(dest, n);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	uint8_t *want = malloc((size_t)n);
	uint64_t got = 0;
	while (want && got < n) {
		ssize_t r = pread(fd, want + got, (size_t)(n - got), (off_t)(off + got));
		if (r <= 0) break;
		got += (uint64_t)r;
	}
	close(fd);
	int ok = want && got == n && memcmp(want, dest, (size_t)n) == 0;
	free(want);
	return ok;
}

static int all_fill(const uint8_t *p, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		if (p[k] != FILL) return 0;
	return 1;
}

enum { ALLOW_CANCEL = 1 }; /* a chunk wanted OK may instead be -ECANCELED (with a valid prefix) */

/* Checks statuses, offsets, lengths, bytes, guards and live counters against
 * want_* (ALLOW_CANCEL: for a batch cancelled while running). */
static void tb_check(tb *t, int allow)
{
	uint64_t failed = 0, bytes = 0, misaligned = 0;
	for (size_t i = 0; i < t->nr; i++) {
		int32_t st = t->status[i], want = t->want_status[i];
		const char *path = t->file[i] < t->nf ? t->paths + t->path_offsets[t->file[i]] : "";
		if (st != 0) failed++;
		/* chunks that got as far as reading count a misaligned destination */
		if (t->res_len[i] && (st == 0 || st == -ENODATA) && ((uintptr_t)tb_dest(t, i) & 63))
			misaligned++;
		if ((allow & ALLOW_CANCEL) && want == 0 && st == -ECANCELED) {
			CHECK(t->length[i] <= t->want_len[i]);
			if (t->length[i] && !same_as_file(path, t->want_off[i], tb_dest(t, i), t->length[i]))
				CHECK_EQ_I(0, 1, i); /* a cancelled chunk's delivered prefix is wrong */
			continue;
		}
		CHECK_EQ_I(st, want, i);
		if (st != want) continue;
		CHECK_EQ_I(t->length[i], t->want_len[i], i);
		if (st == 0) {
			CHECK_EQ_I(t->offset[i], t->want_off[i], i);
			bytes += t->length[i];
		}
		uint64_t n = t->length[i] < t->want_len[i] ? t->length[i] : t->want_len[i];
		if (n && !same_as_file(path, t->want_off[i], tb_dest(t, i), n)) {
			char m[PATH_MAX + 96];
			snprintf(m, sizeof m, "[req %zu] bytes differ from pread(%s, off %llu, len %llu)", i, path,
				 (unsigned long long)t->want_off[i], (unsigned long long)n);
			check_failed(__FILE__, __LINE__, m);
		}
		if (!t->b.dest_base && t->raw[i]) {
			/* nothing before or after the destination's resolved range was written
			 * (past a short read's end but inside the range, O_DIRECT may write) */
			uint8_t *d = tb_dest(t, i);
			kernel_wrote(d, t->res_len[i]); /* O_DIRECT may write past a short read's end */
			if (!all_fill(t->raw[i], t->mis[i]) ||
			    !all_fill(d + t->res_len[i], t->raw_len[i] - t->mis[i] - t->res_len[i]))
				CHECK_EQ_I(0, 1, i); /* guard bytes overwritten */
		}
	}
	CHECK_EQ(t->b.chunks_done, t->nr);
	CHECK_EQ(t->b.failed, failed);
	CHECK_EQ(t->b.bytes_done, bytes);
	if (!(allow & ALLOW_CANCEL)) CHECK_EQ(t->b.misaligned, misaligned);
	CHECK_EQ(t->b.state, LSIO_STATE_DONE);
}

/* Files of assorted sizes: empty, tiny, around the 4096 boundary, past the
 * 256 KiB O_DIRECT bounce window and the 1 MiB mark. */
static const uint64_t k_sizes[] = {0, 1, 511, 4095, 4096, 4097, 65543, 300000, (1u << 20) + 4096, (2u << 20) + 1234};
#define NSIZES (sizeof k_sizes / sizeof *k_sizes)

/* ------------------------------------------------------------------------- */
/* Cases                                                                      */
/* ------------------------------------------------------------------------- */

static void t_open_info(const cfg *c)
{
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	lsio_reader_info info;
	memset(&info, 0xff, sizeof info);
	CHECK_EQ(lsio_reader_get_info(r, &info), 0);
	CHECK_EQ(info.backend, c->backend);
	CHECK_EQ(info.abi_version, LSIO_ABI_VERSION);
	CHECK_EQ(info.queue_depth, 128); /* LSIO_DEFAULT_QUEUE_DEPTH */
	CHECK_EQ(info.threads, 16);
	CHECK(info.max_open_files >= 2);
	if (c->backend == LSIO_BACKEND_THREADS) CHECK_EQ(info.ring_flags, 0);
	CHECK_EQ(lsio_reader_get_info(r, NULL), -EINVAL);
	CHECK_EQ(lsio_reader_get_info(NULL, &info), -EINVAL);
	lsio_reader_close(r);

	/* explicit sizes come back as given; queue depth and threads stay below the fd bound */
	r = open_reader(c, 8, 32, 4);
	REQUIRE(r);
	CHECK_EQ(lsio_reader_get_info(r, &info), 0);
	CHECK_EQ(info.max_open_files, 8);
	CHECK_EQ(info.queue_depth, 7);
	CHECK_EQ(info.threads, 4);
	lsio_reader_close(r);
}

/* Many random ranges over several files, STAT|RESOLVE|READ in one call. */
static void t_random_ranges(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	tb *t = tb_new(NSIZES, 240);
	for (size_t f = 0; f < NSIZES; f++) {
		char name[32];
		snprintf(name, sizeof name, "f%zu.bin", f);
		make_file(dir, name, k_sizes[f], path, sizeof path);
		tb_file(t, path, (int64_t)k_sizes[f]);
	}
	static const uint32_t mis_choices[] = {0, 0, 0, 1, 7, 64, 511, 4095};
	for (size_t k = 0; k < 240; k++) {
		uint32_t f = (uint32_t)rnd_below(NSIZES);
		int64_t S = (int64_t)k_sizes[f], a, b;
		switch (rnd_below(8)) {
		case 0: a = 0, b = LSIO_OPEN_END; break;
		case 1:
			a = (int64_t)rnd_below((uint64_t)S + 1);
			b = a + (int64_t)rnd_below((uint64_t)(S - a) + 1);
			break;
		case 2: a = -(int64_t)rnd_below((uint64_t)S + 1), b = LSIO_OPEN_END; break;
		case 3: { /* both from the end */
			int64_t x = (int64_t)rnd_below((uint64_t)S + 1);
			a = -x;
			b = x ? -(1 + (int64_t)rnd_below((uint64_t)x)) : LSIO_OPEN_END;
			break;
		}
		case 4: a = b = (int64_t)rnd_below((uint64_t)S + 1); break; /* zero length */
		case 5: /* aligned start and length: the O_DIRECT fast path */
			a = (int64_t)rnd_below((uint64_t)S / 4096 + 1) * 4096;
			b = a + (int64_t)rnd_below((uint64_t)(S - a) / 4096 + 1) * 4096;
			break;
		case 6: a = (int64_t)rnd_below((uint64_t)S / 4096 + 1) * 4096, b = LSIO_OPEN_END; break;
		default: { /* a tail, from the end */
			int64_t x = 1 + (int64_t)rnd_below(10000);
			a = x <= S ? -x : 0;
			b = LSIO_OPEN_END;
		}
		}
		uint64_t cap = UINT64_MAX;
		uint64_t off, len;
		if (model_resolve(S, a, b, UINT64_MAX, 0, &off, &len) == 0 && rnd_below(4) == 0) cap = len; /* exact fit */
		tb_req(t, f, a, b, cap, mis_choices[rnd_below(8)]);
	}
	tb_prepare(t, 0, 0);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	if (r) {
		int fds = count_open_fds();
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(count_open_fds(), fds); /* the batch's file cache is closed */
		for (size_t f = 0; f < NSIZES; f++) CHECK_EQ(t->file_size[f], k_sizes[f]);
		for (size_t i = 0; i < t->nr; i++) CHECK_EQ_I(t->want_status[i], 0, i); /* generator sanity */
		tb_check(t, 0);
		CHECK(t->b.reads_issued >= 1);

		/* The same batch again, run as separate steps on the same reader. */
		tb_prepare(t, 0, 0);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT), 0);
		for (size_t f = 0; f < NSIZES; f++) CHECK_EQ(t->file_size[f], k_sizes[f]);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE), 0);
		for (size_t i = 0; i < t->nr; i++) {
			CHECK_EQ_I(t->status[i], 0, i);
			CHECK_EQ_I(t->offset[i], t->want_off[i], i);
			CHECK_EQ_I(t->length[i], t->want_len[i], i);
		}
		CHECK_EQ(t->b.chunks_done, 0); /* RESOLVE counts only the chunks it fails */
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_READ), 0);
		tb_check(t, 0);
		lsio_reader_close(r);
	}
	tb_free(t);
}

/* The range rules: negative starts/ends, open end, zero-length, TRUNCATE_EOF. */
static void t_range_rules(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	const int64_t S = 10000;
	make_file(dir, "a", (uint64_t)S, path, sizeof path);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	struct {
		int64_t start, end;
		int32_t plain, trunc; /* status without / with LSIO_BATCH_TRUNCATE_EOF */
		int64_t off, len;     /* expected with TRUNCATE_EOF (plain: same when plain == 0) */
	} cases[] = {
		{0, LSIO_OPEN_END, 0, 0, 0, 10000},
		{100, 200, 0, 0, 100, 100},
		{-100, LSIO_OPEN_END, 0, 0, 9900, 100},
		{-100, -10, 0, 0, 9900, 90},
		{10, -10, 0, 0, 10, 9980},
		{-10000, LSIO_OPEN_END, 0, 0, 0, 10000},     /* exactly the start */
		{5000, 5000, 0, 0, 5000, 0},                 /* zero length */
		{10000, 10000, 0, 0, 10000, 0},              /* zero length at EOF */
		{10000, LSIO_OPEN_END, 0, 0, 10000, 0},      /* open end at EOF */
		{0, 0, 0, 0, 0, 0},
		{9990, 10010, -ERANGE, 0, 9990, 10},         /* past EOF */
		{-10001, LSIO_OPEN_END, 0, 0, 0, 10000},     /* a suffix longer than the file: all of it */
		{-10001, 10000, -ERANGE, 0, 0, 10000},       /* before byte 0 with an explicit end */
		{-20000, 100, -ERANGE, 0, 0, 100},
		{20000, 30000, -ERANGE, 0, 10000, 0},        /* wholly past EOF */
		{200, 100, -ERANGE, 0, 200, 0},              /* end before start */
		{-5, -10, -ERANGE, 0, 9995, 0},
		{0, 20000, -ERANGE, 0, 0, 10000},
		/* extremes: nothing may overflow (UBSan run) */
		{INT64_MIN, LSIO_OPEN_END, 0, 0, 0, 10000},
		{INT64_MIN, -1, -ERANGE, 0, 0, 9999},
		{0, INT64_MIN, -ERANGE, 0, 0, 0},
		{INT64_MIN, INT64_MIN, -ERANGE, 0, 0, 0},
		{INT64_MAX, LSIO_OPEN_END, -ERANGE, 0, 10000, 0},
		{INT64_MAX - 1, INT64_MAX - 1, -ERANGE, 0, 10000, 0},
		{-1, LSIO_OPEN_END, 0, 0, 9999, 1},
	};
	size_t n = sizeof cases / sizeof *cases;
	for (int trunc = 0; trunc <= 1; trunc++) {
		tb *t = tb_new(1, n);
		tb_file(t, path, S);
		for (size_t k = 0; k < n; k++) tb_req(t, 0, cases[k].start, cases[k].end, UINT64_MAX, (uint32_t)(k % 3));
		tb_prepare(t, trunc ? LSIO_BATCH_TRUNCATE_EOF : 0, 0);
		/* the model agrees with the table, so tb_check checks the library against both */
		for (size_t k = 0; k < n; k++) {
			int32_t want = trunc ? cases[k].trunc : cases[k].plain;
			CHECK_EQ_I(t->want_status[k], want, k);
			if (want == 0) {
				CHECK_EQ_I(t->want_off[k], cases[k].off, k);
				CHECK_EQ_I(t->want_len[k], cases[k].len, k);
			}
		}
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(t->file_size[0], S); /* RESOLVE implies STAT */
		tb_check(t, 0);
		tb_free(t);
	}
	lsio_reader_close(r);
}

/* Per-chunk errors leave the other chunks intact. */
static void t_errors_isolated(const cfg *c)
{
	char dir[PATH_MAX], good[PATH_MAX], missing[PATH_MAX], sub[PATH_MAX], empty[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "good", 50000, good, sizeof good);
	make_file(dir, "empty", 0, empty, sizeof empty);
	snprintf(missing, sizeof missing, "%s/missing", dir);
	snprintf(sub, sizeof sub, "%s/subdir", dir);
	REQUIRE(mkdir(sub, 0700) == 0);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	for (int trunc = 0; trunc <= 1; trunc++) {
		tb *t = tb_new(4, 16);
		uint32_t fg = tb_file(t, good, 50000);
		uint32_t fm = tb_file(t, missing, -ENOENT);
		uint32_t fd = tb_file(t, sub, -EISDIR);
		uint32_t fe = tb_file(t, empty, 0);
		size_t ok1 = tb_req(t, fg, 0, 1000, UINT64_MAX, 0);
		size_t m1 = tb_req(t, fm, 0, 10, UINT64_MAX, 0);
		size_t d1 = tb_req(t, fd, 0, LSIO_OPEN_END, UINT64_MAX, 0);
		size_t past = tb_req(t, fg, 49000, 51000, UINT64_MAX, 1);  /* past EOF */
		size_t before = tb_req(t, fg, -60000, 10, UINT64_MAX, 0); /* before byte 0 */
		size_t nobuf = tb_req(t, fg, 100, 4196, 4095, 3);          /* capacity one short */
		size_t fit = tb_req(t, fg, 100, 4196, 4096, 3);            /* capacity exact */
		size_t badidx = tb_req(t, 7, 0, 10, UINT64_MAX, 0);        /* file index out of range */
		size_t ok2 = tb_req(t, fg, -4096, LSIO_OPEN_END, UINT64_MAX, 0);
		size_t e1 = tb_req(t, fe, 0, LSIO_OPEN_END, UINT64_MAX, 0);
		size_t e2 = tb_req(t, fe, 0, 1, UINT64_MAX, 0);
		size_t m2 = tb_req(t, fm, 0, LSIO_OPEN_END, UINT64_MAX, 5);
		tb_prepare(t, trunc ? LSIO_BATCH_TRUNCATE_EOF : 0, 0);
		CHECK_EQ(t->want_status[ok1], 0);
		CHECK_EQ(t->want_status[m1], -ENOENT);
		CHECK_EQ(t->want_status[m2], -ENOENT);
		CHECK_EQ(t->want_status[d1], -EISDIR);
		CHECK_EQ(t->want_status[past], trunc ? 0 : -ERANGE);
		CHECK_EQ(t->want_len[past], trunc ? 1000 : 0);
		CHECK_EQ(t->want_status[before], trunc ? 0 : -ERANGE);
		CHECK_EQ(t->want_status[nobuf], -ENOBUFS);
		CHECK_EQ(t->want_status[fit], 0);
		CHECK_EQ(t->want_status[badidx], -EINVAL);
		CHECK_EQ(t->want_status[ok2], 0);
		CHECK_EQ(t->want_status[e1], 0);
		CHECK_EQ(t->want_status[e2], trunc ? 0 : -ERANGE);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(t->file_size[fg], 50000);
		CHECK_EQ(t->file_size[fm], -ENOENT);
		CHECK_EQ(t->file_size[fd], -EISDIR);
		CHECK_EQ(t->file_size[fe], 0);
		tb_check(t, 0);
		CHECK_EQ(t->b.failed, trunc ? 5 : 8);
		tb_free(t);
	}
	lsio_reader_close(r);
}

/* LAYOUT: one slab, chunks at aligned offsets, with room after the last. */
static void t_layout(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	tb *t = tb_new(4, 64);
	for (int f = 0; f < 3; f++) {
		char name[16];
		uint64_t size = f == 0 ? 300000 : f == 1 ? 4096 * 20 : 777;
		snprintf(name, sizeof name, "l%d", f);
		make_file(dir, name, size, path, sizeof path);
		tb_file(t, path, (int64_t)size);
	}
	snprintf(path, sizeof path, "%s/nope", dir);
	tb_file(t, path, -ENOENT);
	static const uint64_t aligns[] = {0, 1, 64, 100, 4096};
	for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
		uint64_t align = aligns[a], eff = align ? align : 64;
		t->nr = 0;
		for (int k = 0; k < 40; k++) {
			uint32_t f = (uint32_t)rnd_below(4);
			int64_t S = t->model_size[f] > 0 ? t->model_size[f] : 0, s, e;
			if (align == 4096 && rnd_below(2)) { /* aligned ranges: the O_DIRECT fast path */
				s = (int64_t)rnd_below((uint64_t)S / 4096 + 1) * 4096;
				e = s + (int64_t)rnd_below((uint64_t)(S - s) / 4096 + 1) * 4096;
			} else {
				s = (int64_t)rnd_below((uint64_t)S + 1);
				e = s + (int64_t)rnd_below((uint64_t)(S - s) + 1);
			}
			if (k == 5) e = S + 10; /* one -ERANGE in the middle */
			tb_req(t, f, s, e, UINT64_MAX, 0);
		}
		tb_prepare(t, 0, 1);
		t->b.layout_align = align;
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE | LSIO_OP_LAYOUT), 0);
		uint64_t prev_end = 0;
		for (size_t i = 0; i < t->nr; i++) {
			CHECK_EQ_I(t->status[i], t->want_status[i], i);
			CHECK_EQ_I(t->dest[i] % eff, 0, i);
			CHECK(t->dest[i] >= prev_end);
			prev_end = t->dest[i] + t->length[i];
		}
		CHECK_EQ(t->b.layout_bytes % eff, 0);
		CHECK(t->b.layout_bytes >= prev_end + eff); /* padded by one alignment unit */
		CHECK(t->b.layout_bytes < prev_end + 2 * eff + eff);
		/* read into the slab */
		free(t->slab);
		t->slab_len = t->b.layout_bytes;
		void *p = NULL;
		REQUIRE(posix_memalign(&p, 4096, (size_t)t->slab_len) == 0);
		t->slab = p;
		memset(t->slab, FILL, (size_t)t->slab_len);
		t->b.dest_base = t->slab;
		tb_zero_counters(t);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_READ), 0);
		for (size_t i = 0; i < t->nr; i++) {
			CHECK_EQ_I(t->status[i], t->want_status[i], i);
			CHECK_EQ_I(t->length[i], t->want_len[i], i);
			if (t->status[i] == 0 && t->length[i]) {
				const char *fp = t->paths + t->path_offsets[t->file[i]];
				if (!same_as_file(fp, t->want_off[i], t->slab + t->dest[i], t->length[i]))
					CHECK_EQ_I(0, 1, i); /* slab bytes differ from pread */
			}
			/* the gap up to the next chunk (or the slab end) was not written */
			uint64_t gap_end = i + 1 < t->nr ? t->dest[i + 1] : t->slab_len;
			uint64_t gap_start = t->dest[i] + t->length[i];
			if (gap_end > gap_start && !all_fill(t->slab + gap_start, gap_end - gap_start)) CHECK_EQ_I(0, 1, i);
		}
		uint64_t failed = 0, bytes = 0;
		for (size_t i = 0; i < t->nr; i++) failed += t->status[i] != 0, bytes += t->status[i] ? 0 : t->length[i];
		CHECK(failed >= 1);
		CHECK_EQ(t->b.chunks_done, t->nr - failed); /* RESOLVE's failures were counted in the first run */
		CHECK_EQ(t->b.failed, 0);
		CHECK_EQ(t->b.bytes_done, bytes);
		t->b.dest_base = NULL;
	}
	tb_free(t);
	lsio_reader_close(r);
}

/* O_DIRECT: aligned chunks go straight to the destination (one read each),
 * unaligned ones through the bounce buffer in 256 KiB windows. */
static void t_direct_vs_bounce(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "big", 3u << 20, path, sizeof path);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	int direct = (c->flags & LSIO_READER_DIRECT) && g_odirect_works;
	struct {
		int64_t start, end;
		uint32_t mis;
		int bounced; /* under O_DIRECT: 0 straight in, 1 bounced, 2 aligned bulk straight in + bounced tail */
	} v[] = {
		{0, 1 << 20, 0, 0},                       /* aligned everything */
		{4096, 4096 + (1 << 20), 0, 0},           /* aligned, not at 0 */
		{1, 1 + (1 << 20), 0, 1},                 /* unaligned start */
		{0, (1 << 20) + 1, 0, 2},                 /* unaligned length */
		{0, 1 << 20, 1, 1},                       /* unaligned destination */
		{(3 << 20) - 1000, LSIO_OPEN_END, 0, 1},  /* tail, short */
		{123, 4000, 9, 1},                        /* inside one block */
	};
	for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
		tb *t = tb_new(1, 1);
		tb_file(t, path, 3 << 20);
		tb_req(t, 0, v[k].start, v[k].end, UINT64_MAX, v[k].mis);
		tb_prepare(t, 0, 0);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		tb_check(t, 0);
		uint64_t len = t->want_len[0];
		if (direct && v[k].bounced == 2) {
			CHECK(t->b.reads_issued >= 2); /* the bulk, then the tail through the bounce buffer */
			CHECK(t->b.reads_issued < 5);
		} else if (direct && v[k].bounced) {
			/* at least one window per 256 KiB */
			CHECK(t->b.reads_issued >= (len + (256u << 10) - 1) / (256u << 10));
			if (len >= (1u << 20)) CHECK(t->b.reads_issued >= 4);
		} else {
			CHECK(t->b.reads_issued >= 1);
			CHECK(t->b.reads_issued < 4); /* one read, maybe a short-read continuation */
		}
		tb_free(t);
	}
	lsio_reader_close(r);
}

/* A file shrinking between RESOLVE and READ fails its chunks with -ENODATA;
 * the bytes that were still there are delivered (length[] says how many). */
static void t_truncated_between(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX], other[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "shrinks", 100000, path, sizeof path);
	make_file(dir, "stays", 20000, other, sizeof other);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	tb *t = tb_new(2, 8);
	tb_file(t, path, 100000);
	tb_file(t, other, 20000);
	size_t a = tb_req(t, 0, 0, 1000, UINT64_MAX, 0);          /* before the new EOF: fine */
	size_t b = tb_req(t, 0, 40000, 60000, UINT64_MAX, 0);     /* straddles it */
	size_t cc = tb_req(t, 0, 70000, LSIO_OPEN_END, UINT64_MAX, 3); /* wholly past it */
	size_t d = tb_req(t, 1, 0, LSIO_OPEN_END, UINT64_MAX, 0); /* another file */
	size_t e = tb_req(t, 0, 8192, 4096 * 12, UINT64_MAX, 0);  /* aligned, straddles */
	size_t z = tb_req(t, 0, 60000, 60000, UINT64_MAX, 0);     /* zero length: no I/O, fine */
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE), 0);
	for (size_t i = 0; i < t->nr; i++) CHECK_EQ_I(t->status[i], 0, i);
	REQUIRE(truncate(path, 45000) == 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_READ), 0);
	t->want_status[b] = -ENODATA;
	t->want_len[b] = 5000;
	t->want_status[cc] = -ENODATA;
	t->want_len[cc] = 0;
	t->want_status[e] = -ENODATA;
	t->want_len[e] = 45000 - 8192;
	(void)a, (void)d, (void)z;
	tb_check(t, 0);
	CHECK_EQ(t->b.failed, 3);
	tb_free(t);
	lsio_reader_close(r);
}

/* 500 files through an fd cache of 8, in one batch; then again with some of
 * the files deleted after RESOLVE, so opens fail while the cache is full. */
static void t_many_files(const cfg *c)
{
	enum { NF = 500, PER = 2 };
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	tb *t = tb_new(NF, NF * PER);
	for (int f = 0; f < NF; f++) {
		char name[32];
		uint64_t size = f % 50 == 7 ? 0 : rnd_below(20000) + 1;
		snprintf(name, sizeof name, "m%03d", f);
		make_file(dir, name, size, path, sizeof path);
		tb_file(t, path, (int64_t)size);
	}
	/* every file twice, in shuffled order, so the LRU evicts and reopens */
	uint32_t order[NF * PER];
	for (int k = 0; k < NF * PER; k++) order[k] = (uint32_t)(k % NF);
	for (int k = NF * PER - 1; k > 0; k--) {
		int j = (int)rnd_below((uint64_t)k + 1);
		uint32_t x = order[k];
		order[k] = order[j];
		order[j] = x;
	}
	for (int k = 0; k < NF * PER; k++) {
		int64_t S = t->model_size[order[k]];
		int64_t s = (int64_t)rnd_below((uint64_t)S + 1);
		int64_t e = s + (int64_t)rnd_below((uint64_t)(S - s) + 1);
		tb_req(t, order[k], s, e, UINT64_MAX, (uint32_t)(k & 1));
	}
	int fds = count_open_fds();
	lsio_reader *r = open_reader(c, 8, 0, 0);
	REQUIRE(r);
	lsio_reader_info info;
	CHECK_EQ(lsio_reader_get_info(r, &info), 0);
	CHECK_EQ(info.max_open_files, 8);

	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	tb_check(t, 0);

	/* RESOLVE, delete every 10th file, READ: those chunks -ENOENT, the rest intact */
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE), 0);
	for (int f = 3; f < NF; f += 10) REQUIRE(unlink(t->paths + t->path_offsets[f]) == 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_READ), 0);
	size_t gone = 0;
	for (size_t i = 0; i < t->nr; i++)
		if (t->file[i] % 10 == 3 && t->want_len[i] > 0) { /* zero-length chunks need no open */
			t->want_status[i] = -ENOENT;
			t->want_len[i] = 0;
			gone++;
		}
	tb_check(t, 0);
	CHECK_EQ(t->b.failed, gone);
	CHECK(gone > 50);
	lsio_reader_close(r);
	CHECK_EQ(count_open_fds(), fds); /* no fd left open */
	tb_free(t);
}

/* cancel = 1 before READ: every chunk -ECANCELED, and the reader still works. */
static void t_cancel(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	tb *t = tb_new(8, 64);
	for (int f = 0; f < 8; f++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", f);
		make_file(dir, name, 70000 + (uint64_t)f * 1000, path, sizeof path);
		tb_file(t, path, 70000 + f * 1000);
	}
	for (int k = 0; k < 64; k++) {
		int64_t s = (int64_t)rnd_below(60000);
		tb_req(t, (uint32_t)(k % 8), s, k % 9 == 0 ? s : s + 1 + (int64_t)rnd_below(9000), UINT64_MAX, 0);
	}
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_RESOLVE), 0);
	t->b.cancel = 1;
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_READ), 0);
	for (size_t i = 0; i < t->nr; i++) {
		CHECK_EQ_I(t->status[i], -ECANCELED, i);
		CHECK_EQ_I(t->length[i], 0, i);
		t->want_status[i] = -ECANCELED;
		t->want_len[i] = 0;
	}
	tb_check(t, 0);
	CHECK_EQ(t->b.failed, t->nr);
	CHECK_EQ(t->b.bytes_done, 0);
	CHECK_EQ(t->b.reads_issued, 0);
	for (size_t i = 0; i < t->nr; i++) CHECK(all_fill(t->raw[i], t->raw_len[i])); /* nothing written */

	/* the same reader, the same batch, not cancelled */
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	tb_check(t, 0);
	CHECK_EQ(t->b.failed, 0);
	lsio_reader_close(r);
	tb_free(t);
}

/* cancel set while the batch runs: every chunk is either complete and right,
 * or -ECANCELED; counters add up. */
static void t_cancel_midway(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	enum { NF = 16, NR = 3000 };
	tb *t = tb_new(NF, NR);
	for (int f = 0; f < NF; f++) {
		char name[16];
		snprintf(name, sizeof name, "x%d", f);
		make_file(dir, name, 1 << 20, path, sizeof path);
		tb_file(t, path, 1 << 20);
	}
	for (int k = 0; k < NR; k++) {
		int64_t s = (int64_t)rnd_below(1 << 20);
		int64_t e = s + (int64_t)rnd_below(65536);
		if (e > (1 << 20)) e = 1 << 20;
		tb_req(t, (uint32_t)(k % NF), s, e, UINT64_MAX, (uint32_t)(k % 2));
	}
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_submit(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	/* wait for some progress, then cancel */
	double t0 = now_s();
	while (__atomic_load_n(&t->b.chunks_done, __ATOMIC_RELAXED) < 20 &&
	       __atomic_load_n(&t->b.state, __ATOMIC_ACQUIRE) != LSIO_STATE_DONE && now_s() - t0 < 30)
		sched_yield();
	__atomic_store_n(&t->b.cancel, 1, __ATOMIC_RELAXED);
	CHECK_EQ(lsio_wait(r, &t->b), 0);
	tb_check(t, ALLOW_CANCEL);
	size_t cancelled = 0;
	for (size_t i = 0; i < t->nr; i++) cancelled += t->status[i] == -ECANCELED;
	printf("    (%s: %zu of %zu chunks cancelled midway)\n", c->name, cancelled, t->nr);
	lsio_reader_close(r);
	tb_free(t);
}

struct runner_arg {
	lsio_reader *r;
	tb *t[4];
	int rc[4];
};

static void *runner(void *p)
{
	struct runner_arg *a = p;
	for (int k = 0; k < 4; k++) a->rc[k] = lsio_run(a->r, &a->t[k]->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ);
	return NULL;
}

/* lsio_submit + lsio_wait; several threads sharing one reader; bad arguments. */
static void t_submit_wait(const cfg *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "s", 200000, path, sizeof path);
	lsio_reader *r = open_reader(c, 0, 0, 0);
	REQUIRE(r);
	tb *t = tb_new(1, 32);
	tb_file(t, path, 200000);
	for (int k = 0; k < 32; k++) tb_req(t, 0, k * 5000, k * 5000 + 4000 + k, UINT64_MAX, (uint32_t)k % 5);
	tb_prepare(t, 0, 0);
	CHECK_EQ(t->b.state, LSIO_STATE_NEW);
	CHECK_EQ(lsio_submit(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	uint64_t st = __atomic_load_n(&t->b.state, __ATOMIC_ACQUIRE);
	CHECK(st == LSIO_STATE_QUEUED || st == LSIO_STATE_DONE);
	CHECK_EQ(lsio_wait(r, &t->b), 0);
	CHECK_EQ(t->b.state, LSIO_STATE_DONE);
	CHECK_EQ(t->b.result, 0);
	tb_check(t, 0);
	CHECK_EQ(lsio_wait(r, &t->b), 0); /* waiting on a done batch returns at once */

	/* polling instead of lsio_wait */
	tb_prepare(t, 0, 0);
	CHECK_EQ(lsio_submit(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	double t0 = now_s();
	while (__atomic_load_n(&t->b.state, __ATOMIC_ACQUIRE) != LSIO_STATE_DONE && now_s() - t0 < 30) sched_yield();
	CHECK_EQ(t->b.state, LSIO_STATE_DONE);
	tb_check(t, 0);

	/* bad arguments */
	CHECK_EQ(lsio_run(NULL, &t->b, LSIO_OP_READ), -EINVAL);
	CHECK_EQ(lsio_run(r, NULL, LSIO_OP_READ), -EINVAL);
	CHECK_EQ(lsio_run(r, &t->b, 1u << 7), -EINVAL);
	CHECK_EQ(lsio_wait(NULL, &t->b), -EINVAL);
	lsio_batch bad = t->b;
	bad.status = NULL;
	CHECK_EQ(lsio_run(r, &bad, LSIO_OP_READ), -EINVAL);
	bad = t->b;
	bad.file_size = NULL;
	CHECK_EQ(lsio_run(r, &bad, LSIO_OP_STAT), -EINVAL);
	lsio_batch empty;
	memset(&empty, 0, sizeof empty);
	CHECK_EQ(lsio_run(r, &empty, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_LAYOUT | LSIO_OP_READ), 0);
	CHECK_EQ(empty.state, LSIO_STATE_DONE);
	CHECK_EQ(empty.chunks_done, 0);

	/* four threads, four batches each, one reader */
	struct runner_arg args[4];
	pthread_t th[4];
	for (int k = 0; k < 4; k++) {
		args[k].r = r;
		for (int j = 0; j < 4; j++) {
			tb *u = args[k].t[j] = tb_new(1, 16);
			tb_file(u, path, 200000);
			for (int q = 0; q < 16; q++) {
				int64_t s = (int64_t)rnd_below(200000);
				tb_req(u, 0, s, s + (int64_t)rnd_below((uint64_t)(200000 - s) + 1), UINT64_MAX, (uint32_t)q % 3);
			}
			tb_prepare(u, 0, 0);
		}
	}
	for (int k = 0; k < 4; k++) REQUIRE(pthread_create(&th[k], NULL, runner, &args[k]) == 0);
	for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
	for (int k = 0; k < 4; k++)
		for (int j = 0; j < 4; j++) {
			CHECK_EQ(args[k].rc[j], 0);
			tb_check(args[k].t[j], 0);
			tb_free(args[k].t[j]);
		}
	lsio_reader_close(r);
	tb_free(t);
}

/* ------------------------------------------------------------------------- */
/* Cases independent of the configuration                                     */
/* ------------------------------------------------------------------------- */

static void t_open_invalid(void)
{
	lsio_reader *r = (lsio_reader *)(uintptr_t)1;
	lsio_reader_opts o;
	memset(&o, 0, sizeof o);
	o.backend = 3;
	CHECK_EQ(lsio_reader_open(&o, &r), -EINVAL);
	CHECK(r == NULL);
	memset(&o, 0, sizeof o);
	o.queue_depth = 4097;
	CHECK_EQ(lsio_reader_open(&o, &r), -EINVAL);
	memset(&o, 0, sizeof o);
	o.flags = 1u << 5;
	CHECK_EQ(lsio_reader_open(&o, &r), -EINVAL);
	memset(&o, 0, sizeof o);
	CHECK_EQ(lsio_reader_open(&o, NULL), -EINVAL);
	CHECK_EQ(lsio_abi_version(), LSIO_ABI_VERSION);
	lsio_reader_close(NULL); /* no-op */

	/* NULL opts: AUTO, which picks io_uring when it is there */
	r = NULL;
	CHECK_EQ(lsio_reader_open(NULL, &r), 0);
	REQUIRE(r);
	lsio_reader_info info;
	CHECK_EQ(lsio_reader_get_info(r, &info), 0);
	CHECK_EQ(info.backend, g_uring_available ? LSIO_BACKEND_IO_URING : LSIO_BACKEND_THREADS);
	/* TLS settings: a CA file is checked when set; unknown flags refused; NULL restores the defaults */
	char ca[PATH_MAX];
	make_file(g_tmp, "ca.pem", 100, ca, sizeof ca);
	lsio_tls_config tls = {.ca_file = ca};
	CHECK_EQ(lsio_reader_set_tls(r, &tls), 0);
	CHECK_EQ(lsio_reader_set_tls(r, &tls), 0); /* again: the old copy freed (valgrind) */
	tls.ca_file = "/nonexistent/lsio-ca.pem";
	CHECK_EQ(lsio_reader_set_tls(r, &tls), -ENOENT);
	tls = (lsio_tls_config){.flags = 1};
	CHECK_EQ(lsio_reader_set_tls(r, &tls), -EINVAL);
	CHECK_EQ(lsio_reader_set_tls(NULL, NULL), -EINVAL);
	CHECK_EQ(lsio_reader_set_tls(r, NULL), 0);
	tls = (lsio_tls_config){.ca_file = ca};
	CHECK_EQ(lsio_reader_set_tls(r, &tls), 0); /* held until close */
	lsio_reader_close(r);

	/* the largest queue depth is accepted */
	memset(&o, 0, sizeof o);
	o.queue_depth = 4096;
	o.backend = LSIO_BACKEND_THREADS;
	r = NULL;
	CHECK_EQ(lsio_reader_open(&o, &r), 0);
	lsio_reader_close(r);
}

static void *pin_main(void *p)
{
	int *out = p;
	out[0] = lsio_pin_thread(0);
	cpu_set_t set;
	CPU_ZERO(&set);
	out[1] = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set);
	out[2] = lsio_pin_thread(-1);
	return NULL;
}

/* In a thread of its own, so the rest of the tests keep every CPU. */
static void t_pin_thread(void)
{
	int out[3] = {99, 0, 0};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, pin_main, out) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(out[0], 0);
	CHECK_EQ(out[1], 1);
	CHECK_EQ(out[2], -EINVAL);
}

/* An inline reader runs batches on its opener thread only: submit completes
 * the batch before it returns; any other thread gets -EPERM. */
struct inline_arg {
	lsio_reader *r;
	tb *t;
	int rc;
};

static void *inline_other(void *p)
{
	struct inline_arg *a = p;
	a->rc = lsio_run(a->r, &a->t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ);
	return NULL;
}

static void t_inline_owner(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "inl", 100000, path, sizeof path);
	for (int backend = LSIO_BACKEND_IO_URING; backend <= LSIO_BACKEND_THREADS; backend++) {
		if (backend == LSIO_BACKEND_IO_URING && !g_uring_available) continue;
		cfg c = {(uint32_t)backend, LSIO_READER_INLINE, "inline"};
		lsio_reader *r = open_reader(&c, 0, 0, 0);
		REQUIRE(r);
		tb *t = tb_new(1, 16);
		tb_file(t, path, 100000);
		for (int k = 0; k < 16; k++) tb_req(t, 0, k * 6000, k * 6000 + 4096, UINT64_MAX, 0);
		tb_prepare(t, 0, 0);
		CHECK_EQ(lsio_submit(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
		CHECK_EQ(t->b.state, LSIO_STATE_DONE); /* ran during submit */
		CHECK_EQ(lsio_wait(r, &t->b), 0);
		tb_check(t, 0);
		struct inline_arg a = {r, t, 1};
		pthread_t th;
		tb_prepare(t, 0, 0);
		REQUIRE(pthread_create(&th, NULL, inline_other, &a) == 0);
		pthread_join(th, NULL);
		CHECK_EQ(a.rc, -EPERM);
		CHECK_EQ(t->b.chunks_done, 0); /* nothing ran */
		lsio_reader_info info;
		CHECK_EQ(lsio_reader_get_info(r, &info), 0);
		CHECK_EQ(info.backend, (uint32_t)backend);
		lsio_reader_close(r);
		tb_free(t);
	}
}


/* Drops a file's pages from the page cache; 1 when none is left resident
 * (checked with mincore), 0 where the filesystem keeps them (tmpfs). */
static int evict_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	struct stat st;
	int gone = 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && fdatasync(fd) == 0 &&
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			size_t pages = ((size_t)st.st_size + 4095) / 4096;
			unsigned char *vec = malloc(pages);
			if (vec && mincore(m, (size_t)st.st_size, vec) == 0) {
				gone = 1;
				for (size_t k = 0; k < pages; k++)
					if (vec[k] & 1) gone = 0;
			}
			free(vec);
			munmap(m, (size_t)st.st_size);
		}
	}
	close(fd);
	return gone;
}

/* LSIO_BATCH_NOWAIT serves what the page cache holds and leaves the rest as
 * -EAGAIN (lengths kept); LSIO_BATCH_REDO_EAGAIN then reads just those, and
 * the batch ends as if read in one go. Planned and unplanned. */
static void t_nowait_redo(void)
{
	if (!g_uring_available) {
		printf("    (io_uring unavailable: only the -EOPNOTSUPP checks run)\n");
	}
	char dir[PATH_MAX], hot[PATH_MAX], cold[PATH_MAX], missing[PATH_MAX];
	case_dir(dir, sizeof dir);
	make_file(dir, "hot", 1 << 20, hot, sizeof hot);
	make_file(dir, "cold", 1 << 20, cold, sizeof cold);
	snprintf(missing, sizeof missing, "%s/missing", dir);
	for (int planned = 0; planned <= 1 && g_uring_available; planned++) {
		/* Read the hot file once so it is cached whatever the test before did. */
		{
			int fd = open(hot, O_RDONLY | O_CLOEXEC);
			uint8_t buf[1 << 16];
			while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {}
			if (fd >= 0) close(fd);
		}
		int evicted = evict_file(cold);
		cfg c = {LSIO_BACKEND_IO_URING, LSIO_READER_INLINE, "inline"};
		lsio_reader *r = open_reader(&c, 0, 0, 0);
		REQUIRE(r);
		tb *t = tb_new(3, 64);
		uint32_t fh = tb_file(t, hot, 1 << 20), fc = tb_file(t, cold, 1 << 20), fm = tb_file(t, missing, -ENOENT);
		for (int k = 0; k < 20; k++) tb_req(t, fh, k * 8192, k * 8192 + 4096 + (k & 1) * 4096, UINT64_MAX, 0);
		for (int k = 0; k < 20; k++) tb_req(t, fc, k * 40000, k * 40000 + 5000, UINT64_MAX, 0);
		tb_req(t, fm, 0, 100, UINT64_MAX, 0);
		tb_req(t, fh, 500, 500, UINT64_MAX, 0); /* zero-length */
		uint32_t ops = LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ | (planned ? LSIO_OP_PLAN : 0);
		tb_prepare(t, LSIO_BATCH_NOWAIT, 0);
		if (planned) t->b.merge_gap = 8192, t->b.merge_max = 1 << 20;
		CHECK_EQ(lsio_run(r, &t->b, ops), 0);
		uint64_t again = 0;
		for (size_t i = 0; i < t->nr; i++) {
			if (t->file[i] == fh) CHECK_EQ_I(t->status[i], 0, i);
			if (t->file[i] == fm) CHECK_EQ_I(t->status[i], -ENOENT, i);
			if (t->file[i] == fc) {
				if (evicted) CHECK_EQ_I(t->status[i], -EAGAIN, i);
				CHECK(t->status[i] == 0 || t->status[i] == -EAGAIN);
				if (t->status[i] == -EAGAIN) CHECK_EQ_I(t->length[i], t->want_len[i], i); /* kept for the redo */
			}
			again += t->status[i] == -EAGAIN;
		}
		CHECK_EQ(t->b.chunks_done, t->nr);
		CHECK_EQ(t->b.failed, again + 1);
		if (!evicted) printf("    (the page cache kept the evicted file here: -EAGAIN not provoked)\n");
		/* The redo: only the -EAGAIN requests are read, on a reader with a thread. */
		cfg ct = {LSIO_BACKEND_IO_URING, 0, "thread"};
		lsio_reader *rt = open_reader(&ct, 0, 0, 0);
		REQUIRE(rt);
		uint64_t issued = t->b.reads_issued;
		t->b.flags = LSIO_BATCH_REDO_EAGAIN;
		CHECK_EQ(lsio_run(rt, &t->b, LSIO_OP_READ | (planned ? LSIO_OP_PLAN : 0)), 0);
		if (!planned) CHECK_EQ(t->b.reads_issued - issued, again); /* nothing read twice */
		tb_check(t, 0);
		lsio_reader_close(rt);
		lsio_reader_close(r);
		tb_free(t);
	}
	/* NOWAIT needs a buffered io_uring reader. */
	static const cfg no[] = {{LSIO_BACKEND_THREADS, 0, "threads"}, {LSIO_BACKEND_IO_URING, LSIO_READER_DIRECT, "direct"}};
	for (size_t k = 0; k < 2; k++) {
		if (no[k].backend == LSIO_BACKEND_IO_URING && !g_uring_available) continue;
		lsio_reader *r = open_reader(&no[k], 0, 0, 0);
		REQUIRE(r);
		tb *t = tb_new(1, 1);
		tb_req(t, tb_file(t, hot, 1 << 20), 0, 4096, UINT64_MAX, 0);
		tb_prepare(t, LSIO_BATCH_NOWAIT, 0);
		CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), -EOPNOTSUPP);
		CHECK_EQ(t->b.chunks_done, 0);
		lsio_reader_close(r);
		tb_free(t);
	}
}


/* keep_open: files stay open from one batch to the next, up to the bound;
 * errors are not kept; closing the reader closes them. */
static void t_keep_open(void)
{
	char dir[PATH_MAX], paths[10][PATH_MAX], late[PATH_MAX];
	case_dir(dir, sizeof dir);
	for (int f = 0; f < 10; f++) {
		char name[16];
		snprintf(name, sizeof name, "k%d", f);
		make_file(dir, name, 50000 + (uint64_t)f, paths[f], sizeof paths[f]);
	}
	snprintf(late, sizeof late, "%s/late", dir);
	for (int backend = LSIO_BACKEND_IO_URING; backend <= LSIO_BACKEND_THREADS; backend++) {
		if (backend == LSIO_BACKEND_IO_URING && !g_uring_available) continue;
		for (int inl = 0; inl <= 1; inl++) {
			unlink(late);
			int fds0 = count_open_fds();
			lsio_reader_opts o;
			memset(&o, 0, sizeof o);
			o.backend = (uint32_t)backend;
			o.flags = inl ? LSIO_READER_INLINE : 0;
			o.keep_open = 4;
			lsio_reader *r = NULL;
			REQUIRE(lsio_reader_open(&o, &r) == 0);
			int fds1 = count_open_fds(); /* the reader's own (ring, threads) */
			for (int round = 0; round < 3; round++) {
				/* rounds 0 and 1: files 0-2 plus a missing one; round 2: all ten */
				int nfiles = round < 2 ? 3 : 10;
				tb *t = tb_new(11, 64);
				for (int f = 0; f < nfiles; f++) tb_file(t, paths[f], 50000 + f);
				uint32_t fl = tb_file(t, late, round == 0 ? -ENOENT : 1000);
				if (round == 1) { /* created between rounds: must be found, not a kept error */
					int fd = open(late, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
					uint8_t z[1000] = {0};
					REQUIRE(fd >= 0 && write_all(fd, z, sizeof z) == 0);
					close(fd);
				}
				for (int k = 0; k < 40; k++) tb_req(t, (uint32_t)(k % nfiles), k * 1000, k * 1000 + 900, UINT64_MAX, 0);
				tb_req(t, fl, 0, 100, UINT64_MAX, 0);
				tb_prepare(t, 0, 0);
				CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
				tb_check(t, 0);
				int kept = (round == 0 ? 3 : round == 1 ? 4 : 4); /* bounded by keep_open */
				CHECK_EQ(count_open_fds() - fds1, kept);
				tb_free(t);
			}
			lsio_reader_close(r);
			CHECK_EQ(count_open_fds(), fds0);
		}
	}
}


/* ------------------------------------------------------------------------- */
/* The RAM cache (lsio_cache): hits make no I/O, a changed file misses, the
 * budget holds, and S3-FIFO keeps a hot set through a scan that LRU loses. */

static lsio_cache *open_cache(uint64_t budget, uint64_t policy, uint64_t flags)
{
	lsio_cache_opts o = {budget, policy, flags, 0};
	lsio_cache *c = NULL;
	if (lsio_cache_open(&o, &c) != 0) {
		fprintf(stderr, "lsio_cache_open failed\n");
		exit(2);
	}
	return c;
}

static lsio_cache_stats cache_stats(lsio_cache *c)
{
	lsio_cache_stats st = {0};
	CHECK_EQ(lsio_cache_get_stats(c, &st), 0);
	return st;
}

/* Reads `n` ranges [k*4096 + 100, +3000) for k in ks of `path` through cache c; returns reads issued. */
static uint64_t cache_batch(lsio_reader *r, lsio_cache *c, const char *path, int64_t size, const int *ks, int n)
{
	tb *t = tb_new(1, (size_t)n);
	tb_file(t, path, size);
	for (int j = 0; j < n; j++) tb_req(t, 0, ks[j] * 4096 + 100, ks[j] * 4096 + 3100, UINT64_MAX, 0);
	tb_prepare(t, 0, 0);
	t->b.cache = c;
	CHECK_EQ(lsio_run(r, &t->b, LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_READ), 0);
	tb_check(t, 0);
	uint64_t issued = t->b.reads_issued;
	tb_free(t);
	return issued;
}

/* Drives a pace over simulated time, 1 ms steps, the link moving rate(lim)
 * bytes/s; returns the limit after `ms`, the largest limit seen in *peak. */
typedef uint64_t (*link_rate)(uint32_t lim);
static uint64_t rate_per_connection(uint32_t lim) { return (uint64_t)lim * 100000000u; } /* 100 MB/s each */
static uint64_t rate_flat(uint32_t lim) { return lim ? 4000000000u : 0; }               /* 4 GB/s, however many */
static uint64_t rate_plus_10pct(uint32_t lim) /* each doubling adds 12 % */
{
	uint64_t r = 1000000000u;
	for (uint32_t l = 64; l < lim; l *= 2) r = r * 112 / 100;
	return r;
}
static uint64_t rate_best_at_8(uint32_t lim) { return lim <= 8 ? lim * 500000000ull : 4000000000u - (lim - 8) * 50000000ull; }
/* A thread's CPU clock for pace_start_small: it advances with simulated time while fake_busy (0.9 ms a ms). */
static uint64_t fake_cpu;
static int fake_busy;
static uint64_t fake_cpu_ns(void) { return fake_cpu; }
static uint32_t pace_sim(pace *p, link_rate rate, uint64_t *t_ns, uint64_t *bytes, uint32_t ms, uint32_t *peak)
{
	uint32_t lim = p->lim;
	for (uint32_t i = 0; i < ms; i++) {
		*t_ns += 1000000u;
		fake_cpu += fake_busy ? 900000u : 100000u;
		*bytes += rate(lim) / 1000u;
		lim = pace_step(p, *t_ns, *bytes);
		if (peak && lim > *peak) *peak = lim;
	}
	return lim;
}

static void t_pace(void)
{
	pace p;
	pace_memo memo = {0};
	uint64_t t = 1000000000000ull, bytes = 0;
	uint32_t peak = 0;
	/* Small units: the whole cap from the start, never changed. */
	pace_start(&p, &memo, 32, 4096, t);
	CHECK_EQ(p.lim, 32);
	CHECK_EQ(pace_sim(&p, rate_flat, &t, &bytes, 1000, &peak), 32);
	CHECK_EQ(memo.lim, 0);
	/* A cap at or under the start: not paced. */
	pace_start(&p, &memo, 4, 8u << 20, t);
	CHECK_EQ(p.lim, 4);
	CHECK(p.hold);
	/* Each connection limited: doubles up to the cap (4, 8, 16, 32) and stays. No gain from more: one
	 * doubling tried, undone. Best at 8, worse above: 4 → 8 pays, 16 does not. */
	static const struct {
		link_rate rate;
		uint32_t max, settles, peak;
	} links[] = {{rate_per_connection, 32, 32, 32}, {rate_flat, 32, 4, 8}, {rate_best_at_8, 64, 8, 16}};
	for (size_t k = 0; k < sizeof links / sizeof *links; k++) {
		memo = (pace_memo){0};
		pace_start(&p, &memo, links[k].max, 8u << 20, t);
		CHECK_EQ(p.lim, PACE_START);
		peak = 0;
		CHECK_EQ(pace_sim(&p, links[k].rate, &t, &bytes, 20000, &peak), links[k].settles);
		CHECK_EQ(peak, links[k].peak);
		CHECK(p.hold);
		CHECK_EQ(memo.lim, links[k].settles);
		CHECK_EQ(memo.max, links[k].max);
	}
	/* A run soon after starts at the level settled on, without probing; a later one (or under
	 * another cap) probes again. */
	uint64_t settled = memo.at_ns;
	pace_start(&p, &memo, 64, 8u << 20, settled + 1000000000ull);
	CHECK_EQ(p.lim, 8);
	CHECK(p.hold);
	pace_start(&p, &memo, 32, 8u << 20, settled + 1000000000ull);
	CHECK_EQ(p.lim, PACE_START);
	CHECK(!p.hold);
	pace_start(&p, &memo, 64, 8u << 20, settled + PACE_MEMO_NS + 1);
	CHECK_EQ(p.lim, PACE_START);
	CHECK(!p.hold);
	/* Small units of a reader at the default in flight: from `start`, doubled while it adds 25 %: a
	 * link where each transfer adds its own (latency-bound) reaches the cap; one that more transfers do
	 * not speed up keeps the start (one doubling tried, undone); a start at the cap is not paced. */
	pace_memo small = {0};
	pace_start_small(&p, &small, 256, 64, 4096, NULL, t);
	CHECK_EQ(p.lim, 64);
	CHECK(!p.hold);
	peak = 0;
	CHECK_EQ(pace_sim(&p, rate_per_connection, &t, &bytes, 2000, &peak), 256);
	CHECK_EQ(small.lim, 256);
	small = (pace_memo){0};
	pace_start_small(&p, &small, 256, 64, 4096, NULL, t);
	peak = 0;
	CHECK_EQ(pace_sim(&p, rate_flat, &t, &bytes, 2000, &peak), 64);
	CHECK_EQ(peak, 128);
	CHECK_EQ(small.lim, 64);
	pace_start_small(&p, &small, 256, 64, 4096, NULL, t + 1000000ull); /* soon after: from the level held */
	CHECK_EQ(p.lim, 64);
	CHECK(p.hold);
	pace_start_small(&p, &small, 64, 64, 4096, NULL, t);
	CHECK_EQ(p.lim, 64);
	CHECK(p.hold);
	/* A thread busy most of each epoch (CPU-bound, as at 0 ms RTT) stays at the start even where more
	 * transfers would add: its doublings are not tried. Idle: it climbs. */
	for (int busy = 1; busy >= 0; busy--) {
		small = (pace_memo){0};
		fake_cpu = 0;
		fake_busy = busy;
		pace_start_small(&p, &small, 256, 64, 4096, fake_cpu_ns, t);
		uint32_t most = 0;
		CHECK_EQ(pace_sim(&p, rate_per_connection, &t, &bytes, 2000, &most), busy ? 64 : 256);
		CHECK_EQ(most, busy ? 64 : 256);
	}
	/* 10 % more per doubling is not enough for small units (it is for large ones). */
	small = (pace_memo){0};
	pace_start_small(&p, &small, 256, 64, 4096, NULL, t);
	CHECK_EQ(pace_sim(&p, rate_plus_10pct, &t, &bytes, 2000, NULL), 64);
	/* A run that ends while it probes (pace_end): the next one goes on from the level it was trying,
	 * against the bytes/s before it, instead of from the start; a fresh probe is no settled level. */
	pace_memo pm = {0};
	pace_start(&p, &pm, 32, 8u << 20, t);
	uint64_t t3 = t, b3 = 0;
	while (p.lim == PACE_START) pace_sim(&p, rate_flat, &t3, &b3, 1, NULL); /* judged at 4, now trying 8 */
	CHECK_EQ(p.lim, 8);
	pace_end(&p, t3);
	CHECK(pm.probing);
	CHECK_EQ(pm.lim, 8);
	CHECK_EQ(pm.prev, 4);
	CHECK_EQ(pace_known(&pm, 32, t3), 0);
	pace_start(&p, &pm, 32, 8u << 20, t3 + 1000000ull);
	CHECK_EQ(p.lim, 8);
	CHECK(!p.hold);
	CHECK_EQ(pace_sim(&p, rate_flat, &t3, &b3, 2000, NULL), 4); /* 8 adds nothing: back to 4, settled */
	CHECK(!pm.probing);
	CHECK_EQ(pace_known(&pm, 32, t3), 4);
	pace_end(&p, t3); /* settled: the pm stays */
	CHECK_EQ(pace_known(&pm, 32, t3), 4);
	/* Stale, or under another cap: a new probe from the start. */
	pm = (pace_memo){.lim = 8, .max = 32, .at_ns = t3, .probing = 1, .prev = 4, .best = 1};
	pace_start(&p, &pm, 64, 8u << 20, t3);
	CHECK_EQ(p.lim, PACE_START);
	pace_start(&p, &pm, 32, 8u << 20, t3 + PACE_MEMO_NS + 1);
	CHECK_EQ(p.lim, PACE_START);
	/* What the planner asks before cutting pieces (http_piece_slots): the same level, the same terms. */
	CHECK_EQ(pace_known(&memo, 64, settled + 1000000000ull), 8);
	CHECK_EQ(pace_known(&memo, 32, settled + 1000000000ull), 0);
	CHECK_EQ(pace_known(&memo, 64, settled + PACE_MEMO_NS + 1), 0);
	CHECK_EQ(pace_known(NULL, 64, settled), 0);
	/* An epoch waits for both its 10 ms and a mean unit per transfer: 4 × 8 MiB at 0.4 GB/s (100 MB/s
	 * each) take 84 ms, so the warm-up epoch has not ended at 80 ms, the judged one at 160 (still 4),
	 * and the doubling comes at 168 ms (8 at 210; the next epoch, 8 × 8 MiB at 0.8 GB/s, ends at 252). */
	memo = (pace_memo){0};
	pace_start(&p, &memo, 32, 8u << 20, t);
	uint64_t t2 = t, b2 = 0;
	pace_sim(&p, rate_per_connection, &t2, &b2, 80, NULL);
	CHECK(!p.warm);
	pace_sim(&p, rate_per_connection, &t2, &b2, 80, NULL);
	CHECK(p.warm);
	CHECK_EQ(p.lim, 4);
	pace_sim(&p, rate_per_connection, &t2, &b2, 50, NULL);
	CHECK_EQ(p.lim, 8);
}

static void t_cache(void)
{
	{ /* bad options */
		lsio_cache *c = NULL;
		lsio_cache_opts zero = {0, 0, 0, 0}, pol = {4096, 9, 0, 0}, fl = {4096, 0, 1u << 7, 0};
		CHECK_EQ(lsio_cache_open(&zero, &c), -EINVAL);
		CHECK_EQ(lsio_cache_open(&pol, &c), -EINVAL);
		CHECK_EQ(lsio_cache_open(&fl, &c), -EINVAL);
		CHECK_EQ(lsio_cache_open(NULL, &c), -EINVAL);
		CHECK(c == NULL);
	}
	char dir[PATH_MAX], path[PATH_MAX];
	case_dir(dir, sizeof dir);
	const int64_t size = 1024 * 4096;
	make_file(dir, "cached", (uint64_t)size, path, sizeof path);
	for (int backend = LSIO_BACKEND_IO_URING; backend <= LSIO_BACKEND_THREADS; backend++) {
		if (backend == LSIO_BACKEND_IO_URING && !g_uring_available) continue;
		lsio_reader_opts o;
		memset(&o, 0, sizeof o);
		o.backend = (uint32_t)backend;
		lsio_reader *r = NULL;
		REQUIRE(lsio_reader_open(&o, &r) == 0);

		/* Local files are left out unless asked for. */
		lsio_cache *off = open_cache(1 << 20, LSIO_CACHE_S3FIFO, 0);
		int ks[40];
		for (int j = 0; j < 40; j++) ks[j] = j % 30; /* 30 ranges, 10 of them twice */
		CHECK(cache_batch(r, off, path, size, ks, 40) > 0);
		CHECK(cache_batch(r, off, path, size, ks, 40) > 0);
		CHECK_EQ(cache_stats(off).hits + cache_stats(off).misses + cache_stats(off).entries, 0);
		lsio_cache_release(off);

		/* First pass reads each range once (duplicates wait for it), the second makes no I/O. */
		lsio_cache *c = open_cache(1 << 20, LSIO_CACHE_S3FIFO, LSIO_CACHE_LOCAL);
		CHECK(cache_batch(r, c, path, size, ks, 40) > 0);
		lsio_cache_stats st = cache_stats(c);
		CHECK_EQ(st.misses, 30);
		CHECK_EQ(st.hits, 10);
		CHECK_EQ(st.waits, 10);
		CHECK_EQ(st.entries, 30);
		CHECK_EQ(cache_batch(r, c, path, size, ks, 40), 0);
		st = cache_stats(c);
		CHECK_EQ(st.hits, 50);
		CHECK_EQ(st.hit_bytes, 50 * 3000);
		CHECK(st.bytes <= st.budget && st.bytes >= 30 * 3000);

		/* The file changes (same size, new bytes and mtime): its ranges miss and the new bytes arrive. */
		struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 5 + backend, 0}};
		make_file(dir, "cached", (uint64_t)size, path, sizeof path);
		REQUIRE(utimensat(AT_FDCWD, path, later, 0) == 0);
		CHECK(cache_batch(r, c, path, size, ks, 40) > 0);
		CHECK_EQ(cache_stats(c).stale, 30);

		lsio_cache_clear(c);
		CHECK_EQ(cache_stats(c).entries, 0);
		CHECK_EQ(cache_stats(c).bytes, 0);
		lsio_cache_retain(c); /* two references: the first release keeps it */
		lsio_cache_release(c);
		CHECK_EQ(cache_stats(c).budget, 1 << 20);
		lsio_cache_release(c);

		/* A hot set read twice, a scan of 200 ranges read once, the hot set again:
		 * S3-FIFO still holds the hot set, LRU has lost it. The budget holds throughout. */
		for (uint64_t policy = LSIO_CACHE_S3FIFO; policy <= LSIO_CACHE_LRU; policy++) {
			lsio_cache *p = open_cache(64 * 3300, policy, LSIO_CACHE_LOCAL);
			int hot[8], scan[200];
			for (int j = 0; j < 8; j++) hot[j] = 1000 + j;
			for (int j = 0; j < 200; j++) scan[j] = j;
			cache_batch(r, p, path, size, hot, 8);
			cache_batch(r, p, path, size, hot, 8);
			for (int j = 0; j < 200; j += 20) cache_batch(r, p, path, size, scan + j, 20);
			lsio_cache_stats before = cache_stats(p);
			CHECK(before.evictions > 0);
			CHECK(before.bytes <= before.budget);
			uint64_t issued = cache_batch(r, p, path, size, hot, 8);
			lsio_cache_stats after = cache_stats(p);
			if (policy == LSIO_CACHE_S3FIFO) {
				CHECK_EQ(issued, 0);
				CHECK_EQ(after.hits - before.hits, 8);
			} else {
				CHECK_EQ(after.hits - before.hits, 0);
			}
			lsio_cache_release(p);
		}
		lsio_reader_close(r);
	}
}

/* ------------------------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload") != NULL;
}

typedef void (*case_fn)(const cfg *);

static void run_case(const char *name, const cfg *c, case_fn fn, void (*plain)(void))
{
	snprintf(g_case, sizeof g_case, "%s%s%s", name, c ? " " : "", c ? c->name : "");
	double t0;
	if (!case_begin(&t0)) return;
	g_cfg = c;
	if (fn) fn(c);
	else plain();
	case_end(t0);
}

/* SHA-256 and HMAC-SHA256 against FIPS 180-4 / RFC 4231 vectors and Python's hashlib (block edges), and
 * sigv4_sign against csrc/tests/sigv4_reference.py (Python's hmac, written from the AWS docs). */
static void hex32(const uint8_t *d, char out[65])
{
	for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void t_sigv4(void)
{
	uint8_t d[32];
	char h[65];
	lsio_sha256("abc", 3, d);
	hex32(d, h);
	CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	lsio_sha256("", 0, d);
	hex32(d, h);
	CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	static const struct {
		size_t n;
		const char *hex;
	} edges[] = {
		{55, "576a1bf8d4478657e6dc4af9398544765c2a92cde28478b019235cfed315fc09"},
		{56, "9b20501dfd1d99161c257950f3444f3e49230c351c5c8e0943ef369f85f5205d"},
		{63, "30b345906b493f06f69444b6521113511c242f30e29840462950035043682f1e"},
		{64, "d8bc63b4fc1156e5e7d95a418b9bf54cd3174bedbc2db40f74895349b229b3c0"},
		{65, "1ee23b0fbcaecc1aff4a9e8f1645f35ab2c8e13609cd73b68df8b5e3f63ce073"},
		{119, "7a6589821178918ca8d9edaba5abfc1e9b2669564f4469b66885379c1530b2c8"},
		{120, "655250427d56b1b0eeb8497d21428704273458a01772d6881b65c0abac0f8a98"},
	};
	uint8_t bytes[120];
	for (int i = 0; i < 120; i++) bytes[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof edges / sizeof *edges; k++) {
		lsio_sha256(bytes, edges[k].n, d);
		hex32(d, h);
		CHECK(strcmp(h, edges[k].hex) == 0);
	}
	char *million = malloc(1000000);
	REQUIRE(million != NULL);
	memset(million, 'a', 1000000);
	lsio_sha256(million, 1000000, d);
	free(million);
	hex32(d, h);
	CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
	lsio_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex32(d, h);
	CHECK(strcmp(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
	uint8_t long_key[131];
	memset(long_key, 0xaa, sizeof long_key);
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	lsio_hmac_sha256(long_key, sizeof long_key, m6, strlen(m6), d);
	hex32(d, h);
	CHECK(strcmp(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0);

	const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	s3_settings a = {0}, b = {0};
	lsio_s3_config ca = {.region = "us-east-1", .access_key_id = "AKIDEXAMPLE", .secret_access_key = secret};
	lsio_s3_config cb = {.region = "eu-west-1", .access_key_id = "AKIDEXAMPLE", .secret_access_key = secret,
			     .session_token = "tok/en+="};
	REQUIRE(s3_settings_set(&a, &ca) == 0);
	REQUIRE(s3_settings_set(&b, &cb) == 0);
	const char *auth_a = "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request, "
			     "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			     "Signature=356cd3ba54904166ec40d6f1e97700de0c143bfddfc3c8a62731fa5f6686c2d7";
	const char *auth_b = "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130525/eu-west-1/s3/aws4_request, "
			     "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
			     "Signature=3392a9c1e394b04cc858e8ecc4987552646fd8ac1187d9df20db24715f52c49b";
	sigv4_cache cache = {0};
	char date[SIGV4_DATE_HEADER], auth[512];
	/* a, b, then a again: the cached key follows the settings and the day */
	for (int round = 0; round < 3; round++) {
		int is_b = round == 1;
		int rc = is_b ? sigv4_sign(&b, &cache, "HEAD", "https://bucket.s3.eu-west-1.amazonaws.com:443/k",
					   1369353600 + 86400 + 3661, date, auth, sizeof auth)
			      : sigv4_sign(&a, &cache, "GET", "http://127.0.0.1:9000/bucket/a%20b/c.bin", 1369353600, date,
					   auth, sizeof auth);
		CHECK_EQ(rc, 0);
		CHECK(strcmp(date, is_b ? "x-amz-date: 20130525T010101Z" : "x-amz-date: 20130524T000000Z") == 0);
		CHECK(strcmp(auth, is_b ? auth_b : auth_a) == 0);
		if (strcmp(auth, is_b ? auth_b : auth_a) != 0) fprintf(stderr, "    got %s\n", auth);
	}
	/* a query string is not LSIO's (s3_url writes none): refused, not signed wrong */
	CHECK_EQ(sigv4_sign(&a, &cache, "GET", "http://h/b/k?x=1", 0, date, auth, sizeof auth), -EINVAL);
	CHECK_EQ(sigv4_sign(&a, &cache, "GET", "http://h/b/k", 0, date, auth, 40), -ENAMETOOLONG);
	s3_settings unsigned_ = {0};
	CHECK_EQ(sigv4_sign(&unsigned_, &cache, "GET", "http://h/b/k", 0, date, auth, sizeof auth), -EINVAL);
	s3_settings_free(&a);
	s3_settings_free(&b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *seed = getenv("LSIO_TEST_SEED");
	if (seed) g_rng = strtoull(seed, NULL, 0);
	printf("lsio C tests (abi %u, seed 0x%llx)\n", lsio_abi_version(), (unsigned long long)g_rng);

	snprintf(g_tmp, sizeof g_tmp, "/tmp/lsio_test.XXXXXX");
	if (!mkdtemp(g_tmp)) {
		perror("mkdtemp");
		return 2;
	}
	{ /* does this filesystem take O_DIRECT? (tmpfs does not: LSIO falls back to buffered) */
		char p[PATH_MAX];
		make_file(g_tmp, "probe", 4096, p, sizeof p);
		int fd = open(p, O_RDONLY | O_DIRECT);
		g_odirect_works = fd >= 0;
		if (fd >= 0) close(fd);
		unlink(p);
	}
	{ /* can we have an io_uring reader here? */
		lsio_reader_opts o;
		memset(&o, 0, sizeof o);
		o.backend = LSIO_BACKEND_IO_URING;
		lsio_reader *r = NULL;
		int rc = lsio_reader_open(&o, &r);
		g_uring_available = rc == 0;
		if (r) lsio_reader_close(r);
		if (!g_uring_available) {
			if (under_valgrind())
				printf("io_uring unavailable under valgrind: io_uring cases skipped\n");
			else
				printf("io_uring unavailable (lsio_reader_open: %d, %s): io_uring cases skipped\n", rc,
				       strerror(-rc));
		}
	}
	printf("tmp %s, O_DIRECT %s, io_uring %s\n", g_tmp, g_odirect_works ? "yes" : "no (buffered fallback)",
	       g_uring_available ? "yes" : "no");

	static const cfg cfgs[] = {
		{LSIO_BACKEND_IO_URING, 0, "[io_uring]"},
		{LSIO_BACKEND_IO_URING, LSIO_READER_DIRECT, "[io_uring,direct]"},
		{LSIO_BACKEND_THREADS, 0, "[threads]"},
		{LSIO_BACKEND_THREADS, LSIO_READER_DIRECT, "[threads,direct]"},
		{LSIO_BACKEND_IO_URING, LSIO_READER_INLINE, "[io_uring,inline]"},
		{LSIO_BACKEND_THREADS, LSIO_READER_INLINE | LSIO_READER_DIRECT, "[threads,inline,direct]"},
	};
	static const struct {
		const char *name;
		case_fn fn;
		int threaded; /* needs the service thread: other threads submit or cancel; not for inline readers */
	} cases[] = {
		{"open_info", t_open_info, 0},
		{"random_ranges", t_random_ranges, 0},
		{"range_rules", t_range_rules, 0},
		{"errors_isolated", t_errors_isolated, 0},
		{"layout", t_layout, 0},
		{"direct_vs_bounce", t_direct_vs_bounce, 0},
		{"truncated_between", t_truncated_between, 0},
		{"many_files", t_many_files, 0},
		{"cancel", t_cancel, 0},
		{"cancel_midway", t_cancel_midway, 1},
		{"submit_wait", t_submit_wait, 1},
	};

	run_case("open_invalid", NULL, NULL, t_open_invalid);
	run_case("pin_thread", NULL, NULL, t_pin_thread);
	run_case("inline_owner", NULL, NULL, t_inline_owner);
	run_case("nowait_redo", NULL, NULL, t_nowait_redo);
	run_case("keep_open", NULL, NULL, t_keep_open);
	run_case("cache", NULL, NULL, t_cache);
	run_case("pace", NULL, NULL, t_pace);
	run_case("sigv4", NULL, NULL, t_sigv4);
	int skipped = 0, not_inline = 0;
	for (size_t k = 0; k < sizeof cfgs / sizeof *cfgs; k++) {
		if (cfgs[k].backend == LSIO_BACKEND_IO_URING && !g_uring_available) {
			skipped += (int)(sizeof cases / sizeof *cases);
			continue;
		}
		for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
			if ((cfgs[k].flags & LSIO_READER_INLINE) && cases[j].threaded) {
				not_inline++;
				continue;
			}
			run_case(cases[j].name, &cfgs[k], cases[j].fn, NULL);
		}
	}

	nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (skipped) printf("%d io_uring cases skipped\n", skipped);
	printf("%d cases need a service thread and do not apply to inline readers (inline_owner covers them)\n",
	       not_inline);
	printf("%ld checks\n", g_checks);
	printf("%d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
