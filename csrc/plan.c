/* plan.c — the IO planner and the unit steps both backends share.
 *
 * plan_build() turns resolved requests into the fewest, best-sized reads:
 * requests are taken in (file, offset) order (checked in one pass; sorted
 * only when they are not already, as zarr shard reads usually are), reads of
 * one file whose gap is <= merge_gap are merged while the merged read stays
 * <= merge_max, overlapping and duplicate requests are read once, and a
 * request longer than split_size becomes pieces read at once (with `slots`
 * transfers in flight, no more pieces than fill them: plan_split_size). Memory per
 * request, at most: 4 bytes of order (only when a sort is needed) plus a
 * 48-byte unit (one per read: fewer when reads merge) = 52; the sort's 32
 * bytes per request are freed before the units are built. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	timespec_get(&ts, TIME_UTC);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* (file, offset) of request i, for ordering. */
static inline int before(const lsio_batch *b, uint32_t x, uint32_t y)
{
	if (b->file[x] != b->file[y]) return b->file[x] < b->file[y];
	if (b->offset[x] != b->offset[y]) return b->offset[x] < b->offset[y];
	return x < y; /* stable: equal ranges keep request order */
}

/* Sorts request indices by (file, offset), stable, in O(n) passes: an LSD
 * radix sort of (offset, index) pairs on the offset bytes that differ, then
 * one stable counting pass by file. 32 bytes per request while it runs (two
 * key buffers), freed before the units are built. */
typedef struct sort_key {
	uint64_t off;
	uint32_t idx, pad;
} sort_key;

static int sort_order(const lsio_batch *b, uint32_t *order, uint64_t n)
{
	sort_key *a = malloc((size_t)n * sizeof *a), *t = malloc((size_t)n * sizeof *t);
	/* Buckets: one per file, and one last for out-of-range indices (failed already). */
	const uint64_t nb = b->file_count + 1;
	uint64_t *by_file = calloc(nb + 1, sizeof *by_file);
	if (!a || !t || !by_file) {
		free(a), free(t), free(by_file);
		return -ENOMEM;
	}
	uint64_t all_or = 0, all_and = ~(uint64_t)0;
	for (uint64_t i = 0; i < n; i++) {
		a[i] = (sort_key){b->offset[i], (uint32_t)i, 0};
		all_or |= b->offset[i];
		all_and &= b->offset[i];
	}
	for (int shift = 0; shift < 64; shift += 8) {
		if ((((all_or ^ all_and) >> shift) & 0xff) == 0) continue; /* every key has this byte alike */
		uint64_t count[257] = {0};
		for (uint64_t i = 0; i < n; i++) count[((a[i].off >> shift) & 0xff) + 1]++;
		for (int d = 0; d < 256; d++) count[d + 1] += count[d];
		for (uint64_t i = 0; i < n; i++) t[count[(a[i].off >> shift) & 0xff]++] = a[i];
		sort_key *x = a;
		a = t;
		t = x;
	}
	/* Stable by file: files in index order, offsets ordered within each. */
#define BUCKET(i) (b->file[i] < b->file_count ? b->file[i] : b->file_count)
	for (uint64_t i = 0; i < n; i++) by_file[BUCKET(a[i].idx) + 1]++;
	for (uint64_t f = 0; f < nb; f++) by_file[f + 1] += by_file[f];
	for (uint64_t i = 0; i < n; i++) order[by_file[BUCKET(a[i].idx)]++] = a[i].idx;
#undef BUCKET
	free(a), free(t), free(by_file);
	return 0;
}

static int push_unit(plan *p, uint64_t *cap, unit u)
{
	if (p->count == *cap) {
		uint64_t ncap = *cap ? *cap * 2 : 1024;
		unit *nu = realloc(p->units, (size_t)ncap * sizeof *nu);
		if (!nu) return -ENOMEM;
		p->units = nu;
		*cap = ncap;
	}
	p->units[p->count++] = u;
	return 0;
}

/* Σ over the requests longer than `split` of the pieces of `size` they make. */
static uint64_t pieces_of(const lsio_batch *b, uint64_t split, uint64_t size)
{
	uint64_t pieces = 0;
	for (uint64_t i = 0; i < b->count; i++) {
		uint64_t len = b->length[i];
		if (b->status[i] != 0 || len <= split || b->offset[i] + len == (uint64_t)LSIO_SIZE_UNKNOWN) continue;
		pieces += len / size + (len % size != 0);
	}
	return pieces;
}

uint64_t plan_split_size(const lsio_batch *b, uint32_t slots)
{
	const uint64_t split = b->split_size;
	if (!split || !slots) return split;
	/* Pieces exist to keep `slots` transfers busy: more of them than that only
	 * adds requests (each a round trip, a signature and a server-side lookup,
	 * and on S3 a billed GET). So the requests to split are cut into pieces of
	 * split_size or, when that would make more pieces than slots, of the
	 * smallest size (in 4 KiB steps) that makes no more than slots — or one
	 * piece each when there are more such requests than slots. */
	uint64_t bytes = 0, longest = 0; /* bytes saturates: lengths are the caller's */
	for (uint64_t i = 0; i < b->count; i++) {
		uint64_t len = b->length[i];
		if (b->status[i] != 0 || len <= split || b->offset[i] + len == (uint64_t)LSIO_SIZE_UNKNOWN) continue;
		bytes = bytes + len < bytes ? UINT64_MAX : bytes + len;
		if (len > longest) longest = len;
	}
	if (!bytes || pieces_of(b, split, split) <= slots) return split;
	/* Binary search over sizes in 4 KiB steps (k: k × 4096 bytes): at lo too
	 * many pieces, at hi (one piece a request) few enough or as few as can be. */
	uint64_t lo = (bytes / slots) / 4096, hi = longest / 4096 + 1;
	if (lo) lo--; /* below bytes ÷ slots: more pieces than slots */
	if (lo < split / 4096) lo = split / 4096; /* no larger than split_size: more pieces than at it */
	if (lo >= hi) lo = hi - 1; /* more requests than slots: one piece each is the fewest */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (pieces_of(b, split, mid * 4096) <= slots) hi = mid;
		else lo = mid;
	}
	return hi * 4096 > split ? hi * 4096 : split;
}

int plan_build(lsio_batch *b, plan *p, int direct, uint32_t slots)
{
	/* Gaps: readv into the destinations (no second copy), or read into a bounce
	 * buffer and copy out while the data is in cache (LSIO_BATCH_PLAN_COPY). */
	const int copy_gaps = direct || (b->flags & LSIO_BATCH_PLAN_COPY);
	uint64_t t0 = now_ns();
	const uint64_t n = b->count;
	memset(p, 0, sizeof *p);
	if (n > UINT32_MAX) return -E2BIG;

	/* Order: one pass tells whether the requests are already by (file, offset). */
	int sorted = 1;
	for (uint64_t i = 1; i < n && sorted; i++) sorted = !before(b, (uint32_t)i, (uint32_t)(i - 1));
	if (!sorted && (b->flags & LSIO_BATCH_PLAN_IF_ORDERED)) {
		b->plan_reads = 0;
		b->plan_ns = now_ns() - t0;
		return 1; /* not in order: read the requests as they are */
	}
	if (!sorted) {
		p->order = malloc((size_t)n * sizeof *p->order);
		if (!p->order) return -ENOMEM;
		int rc = sort_order(b, p->order, n);
		if (rc < 0) return plan_free(p), rc;
	}

	const uint64_t gap = b->merge_gap, max = b->merge_max, split = plan_split_size(b, slots);
	uint64_t cap = 0;
	unit cur = {0};
	int open = 0, overlap = 0, contiguous = 0;
	uint32_t live_count = 0; /* requests of cur with bytes to read */
	uint64_t prev_end = 0; /* end of the last request added to cur */
	uint8_t *prev_dest_end = NULL;
	uint64_t reads_bytes = 0;

#define CLOSE_UNIT()                                                                                       \
	do {                                                                                               \
		if (open) {                                                                                \
			cur.kind = live_count == 1 ? UNIT_SINGLE                                           \
				   : overlap	  ? UNIT_COPY                                              \
				   : contiguous	  ? UNIT_CONTIG                                            \
				   : copy_gaps	  ? UNIT_COPY /* O_DIRECT cannot readv into arbitrary memory */ \
						  : UNIT_VEC;                                              \
			if (cur.kind == UNIT_COPY) p->needs_bounce = 1;                                    \
			reads_bytes += cur.len;                                                            \
			if (push_unit(p, &cap, cur) < 0) return plan_free(p), -ENOMEM;                     \
			open = 0;                                                                          \
		}                                                                                          \
	} while (0)

	for (uint64_t pos = 0; pos < n; pos++) {
		uint64_t i = plan_req(p, pos);
		if (b->status[i] != 0 || b->length[i] == 0) {
			/* Failed already, or nothing to read. An open unit takes it in all
			 * the same, so each unit's requests stay consecutive in the order;
			 * the unit steps pass over such requests. */
			if (open) cur.count++;
			continue;
		}
		uint64_t off = b->offset[i], len = b->length[i], end = off + len;
		uint8_t *dst = dest_of(b, i);
		/* A suffix of an object of unknown size (offset not known until its GET answers) is never split. */
		if (split && len > split && end != (uint64_t)LSIO_SIZE_UNKNOWN) {
			CLOSE_UNIT();
			uint32_t head = (uint32_t)p->count;
			uint32_t pieces = (uint32_t)((len + split - 1) / split);
			for (uint64_t at = 0; at < len; at += split) {
				unit u = {off + at, len - at < split ? len - at : split, b->file[i], (uint32_t)pos, 1, head,
					  pieces, 0, UNIT_PIECE};
				if (push_unit(p, &cap, u) < 0) return plan_free(p), -ENOMEM;
			}
			reads_bytes += len;
			continue;
		}
		/* gap test written so that a huge merge_gap (UINT64_MAX: any gap) cannot overflow */
		if (open && b->file[i] == cur.file && (off <= cur.off + cur.len || off - (cur.off + cur.len) <= gap) &&
		    (end > cur.off + cur.len ? end : cur.off + cur.len) - cur.off <= max) {
			uint64_t cur_end = cur.off + cur.len;
			if (off < cur_end) overlap = 1;
			if (off != prev_end || dst != prev_dest_end) contiguous = 0;
			if (end > cur_end) cur.len = end - cur.off;
			cur.count++;
			live_count++;
		} else {
			CLOSE_UNIT();
			cur = (unit){off, len, b->file[i], (uint32_t)pos, 1, 0, 0, 0, UNIT_SINGLE};
			open = 1;
			overlap = 0;
			contiguous = 1;
			live_count = 1;
		}
		prev_end = end;
		prev_dest_end = dst + len;
	}
	CLOSE_UNIT();
#undef CLOSE_UNIT
	b->plan_reads = p->count;
	b->plan_bytes = reads_bytes;
	b->plan_ns = now_ns() - t0;
	return 0;
}

void plan_free(plan *p)
{
	free(p->order);
	free(p->units);
	p->order = NULL;
	p->units = NULL;
	p->count = 0;
}

/* A request a unit has to read for (not failed, not empty). */
static inline int live(const lsio_batch *b, uint64_t r) { return b->status[r] == 0 && b->length[r] != 0; }

/* Where a unit with one contiguous destination writes its byte `done`. */
static inline uint8_t *contiguous_dest(const lsio_batch *b, const plan *p, const unit *u, uint64_t done)
{
	uint64_t r = plan_req(p, u->first);
	return dest_of(b, r) + (u->off - b->offset[r]) + done;
}

/* A read of [pos, pos+left) widened to `align` (at most a bounce buffer's
 * worth) into the bounce buffer; `skip` bytes precede the wanted ones. */
static inline unit_io bounce_window(uint64_t pos, uint64_t left, uint32_t align, const unit_space *sp)
{
	uint64_t apos = round_down(pos, align);
	uint64_t aend = round_up(pos + left, align);
	if (aend - apos > LSIO_BOUNCE_BYTES) aend = apos + LSIO_BOUNCE_BYTES;
	unit_io io = {apos, sp->bounce, (uint32_t)(aend - apos), 0, (uint32_t)(pos - apos), 1};
	return io;
}

unit_io unit_piece(const lsio_batch *b, const plan *p, const unit *u, uint64_t done, uint32_t dio_align,
		   const unit_space *sp)
{
	unit_io io = {0};
	uint64_t pos = u->off + done, left = u->len - done;
	io.file_off = pos;
	if (u->kind == UNIT_VEC) {
		/* readv: each request's part into its destination, gaps into scratch. */
		uint64_t cursor = pos, total = 0;
		int n = 0;
		for (uint32_t k = 0; k < u->count && n < (int)sp->iov_cap - 1; k++) {
			uint64_t r = plan_req(p, u->first + k);
			if (!live(b, r)) continue;
			uint64_t ro = b->offset[r], re = ro + b->length[r];
			if (re <= cursor) continue;
			while (ro > cursor && n < (int)sp->iov_cap - 1) { /* a gap: into scratch, in scratch-sized bits */
				uint64_t g = ro - cursor < sp->scratch_len ? ro - cursor : sp->scratch_len;
				sp->iov[n++] = (struct iovec){sp->scratch, (size_t)g};
				cursor += g;
				total += g;
			}
			if (ro > cursor) break;
			uint64_t from = cursor - ro;
			sp->iov[n++] = (struct iovec){dest_of(b, r) + from, (size_t)(re - cursor)};
			total += re - cursor;
			cursor = re;
			if (total >= LSIO_MAX_IO_BYTES) break;
		}
		io.niov = n;
		io.len = (uint32_t)(total < LSIO_MAX_IO_BYTES ? total : LSIO_MAX_IO_BYTES);
		return io;
	}
	/* COPY: one read into the bounce buffer (aligned for O_DIRECT), copied out after. */
	if (u->kind == UNIT_COPY) return bounce_window(pos, left, dio_align ? dio_align : 1, sp);
	/* SINGLE, CONTIG, PIECE: one contiguous destination. */
	uint8_t *dst = contiguous_dest(b, p, u, done);
	if (!dio_align || (((uintptr_t)dst | pos) % dio_align == 0 && left >= dio_align)) {
		uint64_t len = left > LSIO_MAX_IO_BYTES ? LSIO_MAX_IO_BYTES : left;
		if (dio_align) len = round_down(len, dio_align);
		io.buf = dst;
		io.len = (uint32_t)len;
	} else {
		/* O_DIRECT with an unaligned edge: an aligned window through the bounce buffer. */
		io = bounce_window(pos, left, dio_align, sp);
	}
	return io;
}

uint64_t unit_apply(const lsio_batch *b, const plan *p, const unit *u, uint64_t done, const unit_io *io, uint32_t got)
{
	uint64_t left = u->len - done;
	if (!io->bounce) return got < left ? got : left;
	if (got <= io->skip) return 0;
	uint64_t n = got - io->skip;
	if (n > left) n = left;
	const uint8_t *src = io->buf + io->skip;
	if (u->kind != UNIT_COPY) {
		memcpy(contiguous_dest(b, p, u, done), src, n);
		return n;
	}
	/* Copy the window [pos, pos+n) out to every request that overlaps it. */
	uint64_t pos = u->off + done, wend = pos + n;
	for (uint32_t k = 0; k < u->count; k++) {
		uint64_t r = plan_req(p, u->first + k);
		if (!live(b, r)) continue;
		uint64_t ro = b->offset[r], re = ro + b->length[r];
		uint64_t lo = ro > pos ? ro : pos, hi = re < wend ? re : wend;
		if (lo < hi) memcpy(dest_of(b, r) + (lo - ro), src + (lo - pos), hi - lo);
	}
	return n;
}

/* A NOWAIT run's -EAGAIN keeps the length asked for: REDO_EAGAIN reads it later. */
static inline int keeps_length(const lsio_batch *b, int32_t status)
{
	return status == -EAGAIN && (b->flags & LSIO_BATCH_NOWAIT);
}

void unit_finish(lsio_batch *b, plan *p, tally *t, const unit *u, uint64_t done, int32_t status, int shared)
{
	if (u->kind == UNIT_PIECE) {
		unit *head = &p->units[u->head];
		uint64_t r = plan_req(p, u->first);
		if (status != 0) {
			int32_t none = 0;
			__atomic_compare_exchange_n(&head->error, &none, status, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		uint32_t left = shared ? __atomic_sub_fetch(&head->pending, 1, __ATOMIC_ACQ_REL) : --head->pending;
		if (left == 0) {
			int32_t err = shared ? __atomic_load_n(&head->error, __ATOMIC_ACQUIRE) : head->error;
			if (err != 0 && !keeps_length(b, err)) b->length[r] = 0;
			chunk_finish(b, t, r, err, err ? 0 : b->length[r]);
		}
		return;
	}
	uint64_t read_to = u->off + done;
	for (uint32_t k = 0; k < u->count; k++) {
		uint64_t r = plan_req(p, u->first + k);
		if (!live(b, r)) continue; /* failed in RESOLVE, or zero-length: settled elsewhere */
		uint64_t ro = b->offset[r], re = ro + b->length[r];
		/* A request wholly inside what was read succeeded even if the read then failed. */
		if (status == 0 || re <= read_to) {
			chunk_finish(b, t, r, 0, b->length[r]);
		} else {
			/* Failed: length[] tells how many of its bytes did arrive (a prefix). */
			if (!keeps_length(b, status)) b->length[r] = read_to > ro ? read_to - ro : 0;
			chunk_finish(b, t, r, status, 0);
		}
	}
}

void finish_rest(lsio_batch *b, plan *p, tally *t, uint64_t k, int32_t status, int shared)
{
	unit un;
	for (int got; (got = next_unit(b, p, k, &un)) != UNIT_NONE; k++) {
		if (got == UNIT_NEXT && status != 0) unit_finish(b, p, t, &un, 0, status, shared);
		else if (got == UNIT_EMPTY) chunk_finish(b, t, k, status, 0);
	}
	if (p) /* a plan leaves zero-length requests out of its units */
		for (uint64_t i = 0; i < b->count; i++)
			if (b->status[i] == 0 && b->length[i] == 0) chunk_finish(b, t, i, status, 0);
}
