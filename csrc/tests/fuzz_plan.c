/* fuzz_plan.c — fuzz target for the IO planner (csrc/plan.c) and the unit steps.
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *
 * Decodes a batch from the bytes (thresholds, O_DIRECT mode, a few in-memory
 * "files", up to MAX_REQS requests: duplicates, overlaps, neighbours,
 * zero-length and failed ones, any order; destinations in one buffer, shuffled
 * or packed, some misaligned), runs plan_build(), checks the plan's
 * invariants, then runs every unit the way the backends do (unit_piece ->
 * emulated read from the in-memory file -> unit_apply, until the unit is read;
 * unit_finish), with short reads, optional I/O errors, files that shrank after
 * RESOLVE and cancellation, and finally checks every request's status, length
 * and destination bytes, and that no byte outside the destinations changed.
 *
 * Built two ways:
 *   - libFuzzer: csrc/tests/fuzz.sh (clang -fsanitize=fuzzer,address,undefined)
 *   - zig build fuzz-smoke: with csrc/tests/fuzz_main.c (seeded random inputs, UBSan)
 *
 * A failed check prints what failed and the batch, then abort()s (libFuzzer
 * saves the input) unless fuzz_abort_on_failure is 0 (fuzz_main counts it). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define MAX_FILES 4
#define MAX_REQS 400
#define MAX_LIVE_BYTES (1u << 20) /* destination bytes of all live requests */
#define MAX_REQ_BYTES (1u << 20)
#define POOL_SIZE ((4u << 20) + 4093u) /* file contents: a ring of random bytes */
#define MAX_IOV 16
/* The destination buffer, allocated once: live bytes, alignment padding and
 * guards of MAX_REQS requests, plus a guard page. */
#define BUF_CAP (MAX_LIVE_BYTES + MAX_REQS * 4096u + 3 * 4096u) /* a multiple of 4096 */
#define SIM_BUDGET 4000000u /* rough cost units; batches beyond are planned and checked, not run */

int fuzz_abort_on_failure = 1;
uint64_t fuzz_failures;

/* Counters for fuzz_main's summary. */
struct fuzz_stats {
	uint64_t inputs, requests, live, units, kinds[5], simulated, skipped, reads, short_reads, eio, shrunk,
		cancelled, direct;
} fuzz_stats;

/* ------------------------------------------------------------------------- */

static uint8_t *g_pool;
static uint8_t *g_pattern; /* BUF_CAP bytes of pattern(k) */
static uint8_t *g_buf;     /* BUF_CAP bytes, 4096-aligned; past the batch's part: poisoned under ASan */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t pattern(uint64_t k) { return (uint8_t)((k * 167u + 13u) ^ (k >> 9) ^ 0x5a); }

static void pool_init(void)
{
	if (g_pool) return;
	g_pool = malloc(POOL_SIZE);
	if (!g_pool) abort();
	uint64_t s = 0x15105eedull;
	for (size_t i = 0; i < POOL_SIZE; i += 8) {
		uint64_t v = splitmix(&s);
		size_t k = POOL_SIZE - i < 8 ? POOL_SIZE - i : 8;
		memcpy(g_pool + i, &v, k);
	}
	g_pattern = malloc(BUF_CAP);
	g_buf = aligned_alloc(4096, BUF_CAP);
	if (!g_pattern || !g_buf) abort();
	for (uint64_t k = 0; k < BUF_CAP; k++) g_pattern[k] = pattern(k);
}

/* Input bytes, consumed from the front; zeros once they run out. */
typedef struct rd {
	const uint8_t *p;
	size_t n;
} rd;

static uint64_t take(rd *r, int k)
{
	uint64_t v = 0;
	for (int i = 0; i < k; i++) {
		uint64_t c = 0;
		if (r->n) {
			c = *r->p++;
			r->n--;
		}
		v |= c << (8 * i);
	}
	return v;
}


/* ------------------------------------------------------------------------- */

typedef struct fz {
	/* configuration */
	uint64_t gap, max, split;
	uint32_t slots; /* transfers in flight the pieces fill (plan_split_size), 0: none */
	int direct;
	uint32_t align; /* emulated fd's dio_align (0: buffered; direct with 0 is the tmpfs fallback) */
	int layout, sort_input, absolute, shared, inject, shrink, cancel, shuffle_exec, short_p, big, misalign;
	int no_overlap; /* duplicates and overlaps become neighbours: more VEC and CONTIG units */
	uint32_t iov_cap, scratch_len;
	uint32_t nfiles;
	uint64_t fsize[MAX_FILES], esize[MAX_FILES], fbase[MAX_FILES];
	uint64_t rng;
	/* the batch */
	uint64_t n;
	uint32_t file[MAX_REQS];
	uint64_t offset[MAX_REQS], length[MAX_REQS], orig_len[MAX_REQS], dest[MAX_REQS], dest_off[MAX_REQS];
	int32_t status[MAX_REQS], orig_status[MAX_REQS];
	uint32_t lay[MAX_REQS]; /* live requests by destination */
	uint32_t nlay;
	uint8_t *buf;
	uint64_t buf_len, buf_alloc;
	uint8_t *scratch, *bounce;
	struct iovec iov[MAX_IOV];
	lsio_batch b;
	plan p;
	/* per unit / per request bookkeeping */
	int32_t cov[MAX_REQS];   /* non-PIECE unit covering a position, or -1 */
	uint64_t piece_sum[MAX_REQS];
	uint32_t piece_first[MAX_REQS]; /* unit index of a split request's first piece + 1 */
	uint64_t cost;
	uint64_t cancel_at;
} fz;

static fz g_z;
static uint8_t *g_bounce;

static int live0(const fz *z, uint64_t r) { return z->orig_status[r] == 0 && z->orig_len[r] != 0; }

static void dump(const fz *z)
{
	fprintf(stderr,
		"  gap=%llu max=%llu split=%llu slots=%u direct=%d align=%u layout=%d sort=%d abs=%d shared=%d inject=%d "
		"shrink=%d cancel=%d(at %llu) shuffle=%d short=%d big=%d no_overlap=%d iov_cap=%u scratch=%u files=%u "
		"n=%llu\n",
		(unsigned long long)z->gap, (unsigned long long)z->max, (unsigned long long)z->split, z->slots, z->direct,
		z->align, z->layout, z->sort_input, z->absolute, z->shared, z->inject, z->shrink, z->cancel,
		(unsigned long long)z->cancel_at, z->shuffle_exec, z->short_p, z->big, z->no_overlap, z->iov_cap, z->scratch_len,
		z->nfiles, (unsigned long long)z->n);
	for (uint32_t f = 0; f < z->nfiles; f++)
		fprintf(stderr, "  file %u: size %llu (emulated %llu)\n", f, (unsigned long long)z->fsize[f],
			(unsigned long long)z->esize[f]);
	for (uint64_t i = 0; i < z->n && i < 40; i++)
		fprintf(stderr, "  req %3llu: file %u off %llu len %llu (now %llu) status %d -> %d dest %llu\n",
			(unsigned long long)i, z->file[i], (unsigned long long)z->offset[i],
			(unsigned long long)z->orig_len[i], (unsigned long long)z->length[i], z->orig_status[i],
			z->status[i], (unsigned long long)z->dest_off[i]);
	static const char *kn[] = {"SINGLE", "CONTIG", "VEC", "COPY", "PIECE"};
	for (uint64_t k = 0; z->p.units && k < z->p.count && k < 40; k++) {
		const unit *u = &z->p.units[k];
		fprintf(stderr, "  unit %3llu: %-6s file %u off %llu len %llu first %u count %u head %u pending %u\n",
			(unsigned long long)k, u->kind < 5 ? kn[u->kind] : "?", u->file, (unsigned long long)u->off,
			(unsigned long long)u->len, u->first, u->count, u->head, u->pending);
	}
}

static int fail(fz *z, int line, const char *what)
{
	fuzz_failures++;
	fprintf(stderr, "fuzz_plan.c:%d: check failed: %s\n", line, what);
	dump(z);
	if (fuzz_abort_on_failure) abort();
	return -1;
}

#define REQ(cond)                                                                                          \
	do {                                                                                               \
		if (!(cond)) return fail(z, __LINE__, #cond);                                              \
	} while (0)

/* ------------------------------------------------------------------------- */
/* Decoding                                                                    */
/* ------------------------------------------------------------------------- */

static uint64_t pick(rd *r, const uint64_t *tab, uint64_t sel)
{
	uint64_t v = tab[sel & 15];
	if (v == 1ull << 62) v = take(r, 3); /* "raw" entries */
	return v;
}
#define RAW (1ull << 62)

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Byte ranges equal? (memcmp, 32 bytes at a time and not instrumented by
 * UBSan: zig's compiler_rt bcmp goes byte by byte, which dominated the smoke
 * run.) */
__attribute__((no_sanitize("undefined"))) static int same(const uint8_t *a, const uint8_t *b, uint64_t n)
{
	uint64_t k = 0;
	for (; k + 32 <= n; k += 32) {
		uint64_t x[4], y[4];
		memcpy(x, a + k, 32);
		memcpy(y, b + k, 32);
		if ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) return 0;
	}
	for (; k < n; k++)
		if (a[k] != b[k]) return 0;
	return 1;
}

static uint64_t len_class(rd *r, unsigned lc, uint64_t room)
{
	uint64_t len;
	switch (lc & 7) {
	case 0: len = take(r, 1); break;
	case 1: len = take(r, 1) + 1; break;
	case 2: len = take(r, 2) & 0xfff; break;
	case 3: len = take(r, 2); break;
	case 4: len = (take(r, 1) + 1) * 512; break;
	case 5: len = take(r, 2) + 1; break;
	case 6: len = take(r, 3) & 0x3ffff; break;
	default: len = room; break;
	}
	return min64(min64(len, room), MAX_REQ_BYTES);
}

static void decode(fz *z, rd *r)
{
	static const uint64_t gaps[16] = {0, 0, 1, 7, 64, 511, 512, 4096, 4097, 32768, 65536, 1u << 20,
					  UINT64_MAX, UINT64_MAX - 1, 1ull << 63, RAW};
	static const uint64_t maxes[16] = {0, 1, 100, 512, 4096, 8192, 65536, 256u << 10, 512u << 10, 1u << 20,
					   8u << 20, 16u << 20, UINT64_MAX, RAW, RAW, 12288};
	static const uint64_t splits[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 7, 100, 4096, 4097, 65536, 1u << 20, RAW};
	static const uint32_t scratches[8] = {1, 3, 64, 512, 4096, 4097, 65536, 65536};

	uint64_t sel = take(r, 2);
	z->gap = pick(r, gaps, sel);
	z->max = pick(r, maxes, sel >> 4);
	z->split = pick(r, splits, sel >> 8);
	z->slots = (uint32_t[]){0, 0, 1, 3, 64, 0, 0, 2}[(sel >> 12) & 7];
	uint64_t f1 = take(r, 1), f2 = take(r, 1);
	z->direct = f1 & 1;
	z->align = z->direct ? (uint32_t[]){0, 512, 4096, 4096}[(f1 >> 1) & 3] : 0;
	z->layout = (int)((f1 >> 3) & 3);
	z->sort_input = (f1 >> 5) & 1;
	z->absolute = (f1 >> 6) & 1;
	z->shared = (f1 >> 7) & 1;
	z->inject = f2 & 1;
	z->shrink = (f2 >> 1) & 1;
	z->cancel = (f2 >> 2) & 1;
	z->shuffle_exec = (f2 >> 3) & 1;
	z->short_p = (int)((f2 >> 4) & 3);
	z->big = (f2 >> 6) & 1;
	z->misalign = (f2 >> 7) & 1;
	uint64_t c = take(r, 1);
	z->iov_cap = 2 + (uint32_t)(c % 15); /* 2..16 (unit_piece needs 2: one gap, one destination) */
	z->scratch_len = scratches[(c >> 4) & 7];
	z->no_overlap = (c >> 7) & 1;
	z->nfiles = 1 + (uint32_t)(take(r, 1) % MAX_FILES);
	z->rng = take(r, 4) ^ 0xabcdef12345ull;
	for (uint32_t f = 0; f < z->nfiles; f++) {
		uint64_t fs = take(r, 1), v = take(r, 3);
		uint64_t size;
		switch (fs & 3) {
		case 0: size = v % ((1u << 20) + 1); break;
		case 1: size = v & 0xffff; break;
		case 2: size = v & 0xff; break;
		default: size = (fs & 4) ? 0 : v % ((1u << 20) + 1); break;
		}
		if (z->big && (fs & 8)) size = (1ull << (32 + ((fs >> 4) & 7))) + v; /* past 4 GiB */
		z->fsize[f] = size;
		z->esize[f] = size;
		if (z->shrink && (fs & 0x80)) z->esize[f] = size / 256 * (splitmix(&z->rng) & 0xff);
		z->fbase[f] = splitmix(&z->rng) % POOL_SIZE;
	}

	uint64_t live_bytes = 0;
	z->n = 0;
	while (z->n < MAX_REQS && r->n) {
		uint64_t k = take(r, 1), i = z->n;
		unsigned kind = k & 7, lc = (unsigned)(k >> 5);
		uint32_t f = (uint32_t)((k >> 3) & 3) % z->nfiles;
		uint64_t off = 0, len = 0;
		int32_t st = 0;
		if (z->no_overlap && (kind == 2 || kind == 3)) kind += 2;
		if (i == 0 && kind >= 2 && kind != 6) kind = 0;
		uint64_t j = i ? i - 1 : 0;
		switch (kind) {
		case 0:
		case 1: {
			uint64_t size = z->fsize[f];
			if (size >> 32) { /* big file: near 4 GiB boundaries or anywhere */
				uint64_t v = take(r, 5);
				off = (kind & 1) ? v % (size + 1) : ((v >> 8) << 32) % size + (v & 0xff) * 4093;
				if (off > size) off = size;
			} else {
				off = take(r, 3) % (size + 1);
			}
			len = len_class(r, lc, size - off);
			break;
		}
		case 2: /* duplicate of an earlier request */
			j = take(r, 1) % i;
			f = z->file[j];
			off = z->offset[j];
			len = z->orig_len[j];
			st = z->orig_status[j];
			break;
		case 3: /* overlaps the previous request */
			f = z->file[j];
			off = z->offset[j] + (z->orig_len[j] ? take(r, 3) % (z->orig_len[j] + 1) : 0);
			break;
		case 4: /* right after the previous request */
			f = z->file[j];
			off = z->offset[j] + z->orig_len[j];
			break;
		case 5: { /* a gap after the previous request */
			f = z->file[j];
			uint64_t g;
			switch (take(r, 1) & 7) {
			case 0: g = 1; break;
			case 1: g = take(r, 1); break;
			case 2: g = take(r, 2); break;
			case 3: g = z->gap < (1u << 24) ? z->gap : 4096; break;
			case 4: g = z->gap < (1u << 24) ? z->gap + 1 : 4097; break;
			case 5: g = 4096; break;
			case 6: g = take(r, 3); break;
			default: g = 511; break;
			}
			off = z->offset[j] + z->orig_len[j] + g;
			break;
		}
		case 6:
			if (lc & 1) { /* zero-length */
				off = take(r, 3) % (z->fsize[f] + 1);
			} else { /* failed in RESOLVE */
				st = -ERANGE;
				off = (lc & 2) ? take(r, 8) : take(r, 3);
			}
			break;
		default: /* a little gap after the previous request */
			f = z->file[j];
			off = z->offset[j] + z->orig_len[j] + (take(r, 1) & 0x3f) * 64;
			break;
		}
		if (kind >= 3 && kind != 6) {
			if (z->orig_status[j] != 0 || off > z->fsize[f]) off = off % (z->fsize[f] + 1);
			len = len_class(r, lc, z->fsize[f] - off);
		}
		if (st != 0) len = 0;
		if (len && live_bytes + len > MAX_LIVE_BYTES) len = 0;
		live_bytes += len;
		z->file[i] = f;
		z->offset[i] = off;
		z->orig_len[i] = len;
		z->orig_status[i] = st;
		z->n++;
	}

	if (z->sort_input) { /* stable insertion sort by (file, offset): plan_build must keep order NULL */
		for (uint64_t i = 1; i < z->n; i++) {
			uint32_t f = z->file[i];
			uint64_t o = z->offset[i], l = z->orig_len[i];
			int32_t s = z->orig_status[i];
			uint64_t k = i;
			while (k > 0 && (z->file[k - 1] > f || (z->file[k - 1] == f && z->offset[k - 1] > o))) {
				z->file[k] = z->file[k - 1];
				z->offset[k] = z->offset[k - 1];
				z->orig_len[k] = z->orig_len[k - 1];
				z->orig_status[k] = z->orig_status[k - 1];
				k--;
			}
			z->file[k] = f;
			z->offset[k] = o;
			z->orig_len[k] = l;
			z->orig_status[k] = s;
		}
	}
}

static int before_req(const fz *z, uint32_t x, uint32_t y)
{
	if (z->file[x] != z->file[y]) return z->file[x] < z->file[y];
	if (z->offset[x] != z->offset[y]) return z->offset[x] < z->offset[y];
	return x < y;
}

/* Destinations: live requests get disjoint ranges of one buffer, in one of
 * four layouts; everything else in the buffer is guard bytes. */
static int lay_out(fz *z)
{
	z->nlay = 0;
	for (uint64_t i = 0; i < z->n; i++)
		if (live0(z, i)) z->lay[z->nlay++] = (uint32_t)i;
	if (z->layout == 1) { /* (file, offset) order: back-to-back requests become CONTIG */
		for (uint32_t a = 1; a < z->nlay; a++) {
			uint32_t v = z->lay[a], k = a;
			while (k > 0 && before_req(z, v, z->lay[k - 1])) {
				z->lay[k] = z->lay[k - 1];
				k--;
			}
			z->lay[k] = v;
		}
	} else if (z->layout == 0 || z->layout == 3) {
		for (uint32_t a = z->nlay; a > 1; a--) {
			uint32_t k = (uint32_t)(splitmix(&z->rng) % a), t = z->lay[a - 1];
			z->lay[a - 1] = z->lay[k];
			z->lay[k] = t;
		}
	}
	uint64_t cur = z->misalign ? 1 + splitmix(&z->rng) % 63 : 0;
	uint32_t a = z->align ? z->align : 4096;
	for (uint32_t x = 0; x < z->nlay; x++) {
		uint32_t i = z->lay[x];
		if (z->layout == 0) {
			uint64_t v = splitmix(&z->rng);
			if (v & 1) cur = round_up(cur, a);      /* aligned: direct reads go straight in */
			else cur += (v >> 8) % 64;             /* guard and misalignment */
			if ((v & 6) == 2) cur += 1 + (v >> 20) % 7;
		}
		z->dest_off[i] = cur;
		cur += z->orig_len[i];
	}
	z->buf_len = cur + 64;
	z->buf_alloc = round_up(z->buf_len, 4096) + 4096; /* a guard page past the end */
	if (z->buf_alloc > BUF_CAP) return -1;
	for (uint64_t i = 0; i < z->n; i++)
		if (!live0(z, i)) z->dest_off[i] = splitmix(&z->rng) % (z->buf_len + 1);
	z->buf = g_buf;
	UNPOISON(z->buf, BUF_CAP);
	memcpy(z->buf, g_pattern, z->buf_alloc);
	POISON(z->buf + z->buf_alloc, BUF_CAP - z->buf_alloc);
	for (uint64_t i = 0; i < z->n; i++)
		z->dest[i] = z->absolute ? (uint64_t)(uintptr_t)(z->buf + z->dest_off[i]) : z->dest_off[i];
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Plan invariants                                                             */
/* ------------------------------------------------------------------------- */

static int check_plan(fz *z)
{
	const lsio_batch *b = &z->b;
	const plan *p = &z->p;
	const uint64_t n = z->n;

	/* Order: NULL exactly when the input is already by (file, offset); else a sorted permutation. */
	int sorted = 1;
	for (uint64_t i = 1; i < n && sorted; i++) sorted = !before_req(z, (uint32_t)i, (uint32_t)(i - 1));
	REQ((p->order == NULL) == sorted);
	if (z->sort_input) REQ(p->order == NULL);
	if (p->order) {
		for (uint64_t i = 0; i < n; i++) z->cov[i] = -1;
		for (uint64_t pos = 0; pos < n; pos++) {
			uint32_t r = p->order[pos];
			REQ(r < n);
			REQ(z->cov[r] == -1);
			z->cov[r] = 0;
			if (pos) REQ(before_req(z, p->order[pos - 1], r));
		}
	}

	for (uint64_t i = 0; i < n; i++) {
		z->cov[i] = -1;
		z->piece_sum[i] = 0;
		z->piece_first[i] = 0;
	}
	uint64_t pieces = 0, bytes = 0, cost = 0;
	int any_copy = 0;
	REQ(p->count == 0 || p->units != NULL);
	for (uint64_t k = 0; k < p->count; k++) {
		const unit *u = &p->units[k];
		REQ(u->len > 0);
		REQ(u->count >= 1);
		REQ((uint64_t)u->first + u->count <= n);
		REQ(u->file < z->nfiles);
		REQ(u->kind <= UNIT_PIECE);
		REQ(u->error == 0);
		bytes += u->len;
		fuzz_stats.kinds[u->kind]++;
		if (u->kind == UNIT_PIECE) {
			uint64_t r = plan_req(p, u->first);
			REQ(live0(z, r));
			REQ(u->count == 1);
			REQ(z->file[r] == u->file);
			REQ(z->split != 0 && z->orig_len[r] > z->split);
			REQ(u->len <= z->split);
			REQ(z->cov[u->first] == -1);
			/* pieces tile the request in order, consecutive units */
			REQ(u->off == z->offset[r] + z->piece_sum[r]);
			if (z->piece_sum[r] == 0) {
				REQ(z->piece_first[r] == 0);
				z->piece_first[r] = (uint32_t)k + 1;
				REQ(u->head == k);
				REQ(u->pending == (z->orig_len[r] + z->split - 1) / z->split);
			} else {
				REQ(u->head == z->piece_first[r] - 1);
				REQ(k > 0 && p->units[k - 1].kind == UNIT_PIECE && p->units[k - 1].first == u->first);
				REQ(u->len == z->split || u->off + u->len == z->offset[r] + z->orig_len[r]);
			}
			if (u->off + u->len < z->offset[r] + z->orig_len[r]) REQ(u->len == z->split);
			z->piece_sum[r] += u->len;
			REQ(z->piece_sum[r] <= z->orig_len[r]);
			pieces++;
			cost += u->len / 8 + 8;
			continue;
		}
		uint64_t r0 = plan_req(p, u->first);
		REQ(live0(z, r0));
		REQ(u->off == z->offset[r0]);
		REQ(u->file == z->file[r0]);
		uint64_t run_end = u->off, prev_ro = 0, live_cnt = 0, live_bytes = 0;
		int overlap = 0, contig = 1;
		uint64_t prev_re = 0;
		const uint8_t *prev_dend = NULL;
		for (uint32_t c = 0; c < u->count; c++) {
			uint64_t pos = u->first + c;
			REQ(z->cov[pos] == -1);
			z->cov[pos] = (int32_t)k;
			uint64_t r = plan_req(p, pos);
			if (!live0(z, r)) continue;
			uint64_t ro = z->offset[r], re = ro + z->orig_len[r];
			const uint8_t *d = dest_of(b, r);
			REQ(z->file[r] == u->file);
			REQ(ro >= u->off && re <= u->off + u->len);
			REQ(!(z->split && z->orig_len[r] > z->split));
			if (live_cnt) {
				REQ(ro >= prev_ro);
				/* gap to what is merged so far is within merge_gap (no overflow in the check) */
				REQ(ro <= run_end || ro - run_end <= z->gap);
				if (ro < run_end) overlap = 1;
				if (ro != prev_re || d != prev_dend) contig = 0;
			}
			prev_ro = ro;
			prev_re = re;
			prev_dend = d + z->orig_len[r];
			if (re > run_end) run_end = re;
			live_cnt++;
			live_bytes += z->orig_len[r];
		}
		REQ(run_end == u->off + u->len); /* tight: no byte read past the last request */
		if (live_cnt > 1) REQ(u->len <= z->max);
		switch (u->kind) {
		case UNIT_SINGLE: REQ(live_cnt == 1); break;
		case UNIT_CONTIG: REQ(contig); break;
		case UNIT_VEC: REQ(!overlap && !contig && !z->direct); break;
		case UNIT_COPY: REQ(overlap || (z->direct && !contig)); break;
		}
		if (overlap) REQ(u->kind == UNIT_COPY);
		if (u->kind == UNIT_COPY) any_copy = 1;
		/* rough cost of running the unit (emulated reads and the per-read scans) */
		if (u->kind == UNIT_VEC)
			cost += ((u->len - live_bytes) / z->scratch_len + live_cnt) / (z->iov_cap - 1) * (u->count + 8) +
				u->len / 8;
		else if (u->kind == UNIT_COPY)
			cost += (u->len / LSIO_BOUNCE_BYTES + 1) * (u->count + 8) + u->len / 4;
		else
			cost += u->len / 8 + 8;
	}
	/* every live request read exactly once: by one unit, or by pieces tiling it */
	for (uint64_t pos = 0; pos < n; pos++) {
		uint64_t r = plan_req(p, pos);
		if (!live0(z, r)) continue;
		if (z->cov[pos] >= 0) REQ(z->piece_sum[r] == 0);
		else REQ(z->piece_sum[r] == z->orig_len[r]);
	}
	/* greedy: the unit after a unit of the same file could not have joined it */
	for (uint64_t k = 0; k + 1 < p->count; k++) {
		const unit *u = &p->units[k], *v = &p->units[k + 1];
		if (u->kind == UNIT_PIECE || v->kind == UNIT_PIECE || u->file != v->file) continue;
		uint64_t r = plan_req(p, v->first), uend = u->off + u->len;
		uint64_t ro = z->offset[r], re = ro + z->orig_len[r];
		int near = ro <= uend || ro - uend <= z->gap;
		int fits = (re > uend ? re : uend) - u->off <= z->max;
		REQ(!(near && fits));
	}
	REQ(p->needs_bounce == any_copy);
	REQ(b->plan_reads == p->count);
	REQ(b->plan_bytes == bytes);
	/* memory: at most one unit per live request (pieces aside) plus 4 bytes of order per request */
	REQ((p->count - pieces) * sizeof(unit) + (p->order ? 4 * n : 0) <= 64 * n + 256);
	z->cost = cost;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Emulated execution                                                          */
/* ------------------------------------------------------------------------- */

/* Copies file bytes [off, off+len) of file f (a window of the pool ring). */
static void file_copy(const fz *z, uint32_t f, uint64_t off, uint8_t *dst, uint64_t len)
{
	uint64_t at = (z->fbase[f] + off % POOL_SIZE) % POOL_SIZE;
	while (len) {
		uint64_t k = min64(len, POOL_SIZE - at);
		memcpy(dst, g_pool + at, k);
		dst += k;
		len -= k;
		at = 0;
	}
}

static int file_equal(const fz *z, uint32_t f, uint64_t off, const uint8_t *src, uint64_t len)
{
	uint64_t at = (z->fbase[f] + off % POOL_SIZE) % POOL_SIZE;
	while (len) {
		uint64_t k = min64(len, POOL_SIZE - at);
		if (!same(src, g_pool + at, k)) return 0;
		src += k;
		len -= k;
		at = 0;
	}
	return 1;
}

static int in_buf(const fz *z, const uint8_t *p, uint64_t len)
{
	return p >= z->buf && p <= z->buf + z->buf_alloc && len <= (uint64_t)(z->buf + z->buf_alloc - p);
}

/* One emulated read (pread or preadv) of the unit's file: bytes, or -EIO. */
static int64_t emu_read(fz *z, const unit *u, const unit_io *io, const unit_space *sp)
{
	fuzz_stats.reads++;
	if (z->inject && (splitmix(&z->rng) & 15) == 0) {
		fuzz_stats.eio++;
		return -EIO;
	}
	uint64_t want = io->len, esz = z->esize[u->file];
	uint64_t avail = io->file_off >= esz ? 0 : min64(want, esz - io->file_off);
	static const uint32_t short_mask[4] = {0, 7, 1, 0};
	int go_short = z->short_p == 3 ? (splitmix(&z->rng) & 7) != 0
				       : z->short_p && (splitmix(&z->rng) & short_mask[z->short_p]) == 0;
	uint64_t got = avail;
	if (go_short && avail > 1) {
		got = 1 + splitmix(&z->rng) % (avail - 1);
		if (z->align) { /* O_DIRECT short reads are whole blocks */
			got = round_down(got, z->align);
			if (got == 0) got = avail;
		}
		if (got < avail) fuzz_stats.short_reads++;
	}
	if (io->niov) {
		uint64_t left = got, at = io->file_off;
		for (int k = 0; k < io->niov && left; k++) {
			uint64_t m = min64(left, sp->iov[k].iov_len);
			if ((uint8_t *)sp->iov[k].iov_base != sp->scratch) file_copy(z, u->file, at, sp->iov[k].iov_base, m);
			at += m;
			left -= m;
		}
	} else {
		file_copy(z, u->file, io->file_off, io->buf, got);
	}
	return (int64_t)got;
}

/* Runs unit k to its end, as run_one() in pool.c does. */
static int run_unit(fz *z, uint64_t k, tally *t, const unit_space *sp)
{
	lsio_batch *b = &z->b;
	plan *p = &z->p;
	unit u = p->units[k];
	uint64_t done = 0, guard = 0;
	int32_t status = 0;
	while (done < u.len) {
		REQ(++guard <= u.len + 64);
		unit_io io = unit_piece(b, p, &u, done, z->align, sp);
		/* the read asked for is sane */
		REQ(io.len > 0);
		REQ(io.len <= LSIO_MAX_IO_BYTES);
		if (io.niov) {
			REQ(u.kind == UNIT_VEC);
			REQ(io.niov > 0 && (uint32_t)io.niov <= sp->iov_cap);
			REQ(!io.bounce);
			REQ(io.file_off == u.off + done);
			uint64_t sum = 0;
			for (int j = 0; j < io.niov; j++) {
				const struct iovec *v = &sp->iov[j];
				REQ(v->iov_len > 0);
				if ((uint8_t *)v->iov_base == sp->scratch) REQ(v->iov_len <= sp->scratch_len);
				else REQ(in_buf(z, v->iov_base, v->iov_len));
				sum += v->iov_len;
			}
			REQ(sum == io.len);
			REQ(io.file_off + io.len <= u.off + u.len);
		} else if (io.bounce) {
			REQ(io.buf == sp->bounce);
			REQ(io.len <= LSIO_BOUNCE_BYTES);
			REQ(io.skip < io.len);
			REQ(io.file_off + io.skip == u.off + done);
			REQ(u.kind == UNIT_COPY || z->align);
		} else {
			REQ(u.kind != UNIT_VEC && u.kind != UNIT_COPY);
			REQ(io.file_off == u.off + done);
			REQ(io.len <= u.len - done);
			REQ(in_buf(z, io.buf, io.len));
		}
		if (z->align) { /* what O_DIRECT demands */
			REQ(io.niov == 0);
			REQ(io.file_off % z->align == 0);
			REQ(io.len % z->align == 0);
			REQ((uintptr_t)io.buf % z->align == 0);
		}
		int64_t r = emu_read(z, &u, &io, sp);
		if (r < 0) {
			status = (int32_t)r;
			break;
		}
		uint64_t got = unit_apply(b, p, &u, done, &io, (uint32_t)r);
		REQ(got <= u.len - done);
		REQ(got <= (uint64_t)r);
		if (got == 0) {
			status = -ENODATA;
			break;
		}
		done += got;
	}
	uint64_t before = t->chunks;
	uint64_t expect = 0;
	if (u.kind == UNIT_PIECE) {
		expect = p->units[u.head].pending == 1;
	} else {
		for (uint32_t c = 0; c < u.count; c++) expect += live0(z, plan_req(p, u.first + c));
	}
	unit_finish(b, p, t, &u, done, status, z->shared);
	REQ(t->chunks - before == expect);
	return 0;
}

static int simulate(fz *z)
{
	lsio_batch *b = &z->b;
	plan *p = &z->p;
	fuzz_stats.simulated++;
	unit_space sp = {z->iov, z->iov_cap, z->bounce, z->scratch, z->scratch_len};
	uint64_t cnt = p->count;
	uint32_t *ord = malloc((size_t)(cnt ? cnt : 1) * sizeof *ord);
	if (!ord) abort();
	for (uint64_t k = 0; k < cnt; k++) ord[k] = (uint32_t)k;
	uint64_t run = cnt;
	z->cancel_at = cnt;
	if (z->cancel) {
		z->cancel_at = run = splitmix(&z->rng) % (cnt + 1);
		fuzz_stats.cancelled++;
	}
	if (z->shuffle_exec)
		for (uint64_t a = run; a > 1; a--) {
			uint64_t k = splitmix(&z->rng) % a;
			uint32_t t = ord[a - 1];
			ord[a - 1] = ord[k];
			ord[k] = t;
		}
	tally t = {0};
	int rc = 0;
	for (uint64_t x = 0; x < run && rc == 0; x++) rc = run_unit(z, ord[x], &t, &sp);
	free(ord);
	if (rc) return rc;
	finish_rest(b, p, &t, run, run < cnt || z->cancel ? -ECANCELED : 0, z->shared);

	/* Every request with status 0 before the read was settled exactly once. */
	uint64_t want_chunks = 0, failed = 0, okbytes = 0;
	for (uint64_t i = 0; i < z->n; i++) {
		if (z->orig_status[i] != 0) {
			REQ(z->status[i] == z->orig_status[i]);
			REQ(z->length[i] == 0);
			continue;
		}
		want_chunks++;
		if (z->status[i]) failed++;
		else okbytes += z->length[i];
	}
	REQ(t.chunks == want_chunks);
	REQ(t.failed == failed);
	REQ(t.bytes == okbytes);

	/* Which unit index reads each request (for the cancel expectations). */
	int clean = !z->inject && !z->shrink;
	for (uint64_t i = 0; i < z->n; i++) {
		if (z->orig_status[i] != 0) continue;
		if (z->orig_len[i] == 0) {
			REQ(z->length[i] == 0);
			REQ(z->status[i] == (z->cancel ? -ECANCELED : 0));
			continue;
		}
		int32_t s = z->status[i];
		REQ(s == 0 || s == -EIO || s == -ENODATA || s == -ECANCELED);
		if (!z->inject) REQ(s != -EIO);
		if (!z->shrink) REQ(s != -ENODATA);
		if (!z->cancel) REQ(s != -ECANCELED);
		uint32_t f = z->file[i];
		uint64_t ro = z->offset[i], re = ro + z->orig_len[i];
		if (s == 0) REQ(z->length[i] == z->orig_len[i]);
		else REQ(z->length[i] <= z->orig_len[i]);
		if (clean && !z->cancel) REQ(s == 0);
		if (!z->inject && !z->cancel && z->shrink) {
			uint64_t esz = z->esize[f];
			REQ((s == 0) == (re <= esz));
			int split = z->split && z->orig_len[i] > z->split;
			if (s) REQ(z->length[i] == (split ? 0 : esz > ro ? esz - ro : 0));
		}
		const uint8_t *d = z->buf + z->dest_off[i];
		REQ(file_equal(z, f, ro, d, z->length[i]));
		if (s != 0) { /* past the prefix: untouched or the right bytes */
			static uint8_t want[MAX_REQ_BYTES];
			uint64_t from = z->length[i], len = z->orig_len[i] - from;
			file_copy(z, f, ro + from, want, len);
			const uint8_t *pat = g_pattern + z->dest_off[i] + from, *got = d + from;
			for (uint64_t k = 0; k < len; k += 64) {
				uint64_t m = min64(64, len - k);
				if (same(got + k, pat + k, m) || same(got + k, want + k, m)) continue;
				for (uint64_t j = k; j < k + m; j++) REQ(got[j] == pat[j] || got[j] == want[j]);
			}
		}
	}
	if (z->cancel && clean) { /* the requests of units from cancel_at on were cancelled, the rest read */
		for (uint64_t k = 0; k < cnt; k++) {
			const unit *u = &p->units[k];
			for (uint32_t c = 0; c < u->count; c++) {
				uint64_t r = plan_req(p, u->first + c);
				if (!live0(z, r)) continue;
				if (k >= z->cancel_at) REQ(z->status[r] == -ECANCELED);
				else if (u->kind != UNIT_PIECE) REQ(z->status[r] == 0);
			}
		}
	}
	/* Guard bytes: nothing outside the live destinations changed. */
	uint64_t at = 0;
	for (uint32_t x = 0; x <= z->nlay; x++) {
		uint64_t end = x < z->nlay ? z->dest_off[z->lay[x]] : z->buf_alloc;
		REQ(same(z->buf + at, g_pattern + at, end - at));
		if (x < z->nlay) at = end + z->orig_len[z->lay[x]];
	}
	return 0;
}

/* ------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pool_init();
	if (!g_bounce) {
		g_bounce = aligned_alloc(4096, LSIO_BOUNCE_BYTES);
		if (!g_bounce) abort();
	}
	fz *z = &g_z;
	memset(z, 0, sizeof *z);
	rd r = {data, size};
	decode(z, &r);
	fuzz_stats.inputs++;
	fuzz_stats.requests += z->n;
	if (z->direct) fuzz_stats.direct++;
	for (uint32_t f = 0; f < z->nfiles; f++)
		if (z->esize[f] != z->fsize[f]) fuzz_stats.shrunk++;

	/* Keep the pieces bounded: a tiny split_size on long requests would make
	 * millions of units (correct, but too slow to run per input). */
	if (z->split) {
		for (;;) {
			uint64_t pieces = 0;
			for (uint64_t i = 0; i < z->n; i++)
				if (live0(z, i) && z->orig_len[i] > z->split)
					pieces += (z->orig_len[i] + z->split - 1) / z->split;
			if (pieces <= 256) break;
			z->split *= 2;
		}
	}
	for (uint64_t i = 0; i < z->n; i++) {
		z->length[i] = z->orig_len[i];
		z->status[i] = z->orig_status[i];
		if (live0(z, i)) fuzz_stats.live++;
	}
	if (lay_out(z) < 0) abort();
	z->scratch = malloc(z->scratch_len);
	if (!z->scratch) abort();
	z->bounce = g_bounce;

	lsio_batch *b = &z->b;
	b->count = z->n;
	b->file_count = z->nfiles;
	b->file = z->file;
	b->dest_base = z->absolute ? NULL : z->buf;
	b->dest = z->dest;
	b->offset = z->offset;
	b->length = z->length;
	b->status = z->status;
	b->merge_gap = z->gap;
	b->merge_max = z->max;
	b->split_size = z->split;

	/* With slots, pieces may be larger than split_size: the checks below hold for the size used. */
	if (z->slots) z->split = plan_split_size(b, z->slots);
	int rc = plan_build(b, &z->p, z->direct, z->slots);
	if (rc != 0) {
		fail(z, __LINE__, "plan_build() != 0");
	} else {
		fuzz_stats.units += z->p.count;
		/* Pieces grown past split_size are no more than the slots they fill. */
		uint64_t pieces = 0;
		for (uint64_t k = 0; k < z->p.count; k++) pieces += z->p.units[k].kind == UNIT_PIECE;
		if (z->slots && z->split > b->split_size && pieces > z->slots) fail(z, __LINE__, "more pieces than slots");
		else if (check_plan(z) == 0) {
			if (z->cost <= SIM_BUDGET) simulate(z);
			else fuzz_stats.skipped++;
		}
	}
	plan_free(&z->p);
	free(z->scratch);
	z->buf = NULL;
	z->scratch = NULL;
	return 0;
}
