/* internal.h — shared between the LSIO C sources; not part of the ABI. */
#ifndef LSIO_INTERNAL_H
#define LSIO_INTERNAL_H

#include "lsio.h"
#include "os.h"

#include <stddef.h>
#include <stdint.h>

/* Measured here (random 4 KiB, page cache): 128 ≥ 64 by ~3 %, 256 no better. */
#define LSIO_DEFAULT_QUEUE_DEPTH 128
#define LSIO_DEFAULT_THREADS 16
#define LSIO_MAX_QUEUE_DEPTH 4096
/* One SQE/pread moves at most this much; longer reads continue in pieces. */
#define LSIO_MAX_IO_BYTES (1u << 30)
/* O_DIRECT bounce buffer per in-flight read (reads are re-issued in windows). */
#define LSIO_BOUNCE_BYTES (256u << 10)
#define LSIO_FALLBACK_DIO_ALIGN 4096u

#define LSIO_LIKELY(x) __builtin_expect(!!(x), 1)
#define LSIO_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Relaxed atomics for the live counters the caller polls. */
#define live_add(field, v) __atomic_fetch_add(&(field), (uint64_t)(v), __ATOMIC_RELAXED)
#define live_load(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static inline uint8_t *dest_of(const lsio_batch *b, uint64_t i)
{
	return b->dest_base ? b->dest_base + b->dest[i] : (uint8_t *)(uintptr_t)b->dest[i];
}

static inline uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static inline uint64_t round_down(uint64_t v, uint64_t a) { return v / a * a; }

/* ---- files.c: per-batch open-file cache (LRU, bounded, pinned while in use) ---- */
typedef struct file_slot {
	os_file fd;
	uint32_t file;      /* batch file index */
	uint32_t pins;      /* reads in flight on this fd */
	int32_t prev, next; /* LRU links among unpinned slots */
	uint32_t dio_align; /* 0 when the fd is not O_DIRECT */
	uint32_t opened;    /* bumped at each open: tells a reused slot from a kept one */
} file_slot;

typedef struct file_cache {
	const lsio_batch *batch;
	uint32_t cap, used;
	int32_t *slot_of;  /* [file_count] slot index, or -1 */
	int32_t *error_of; /* [file_count] cached open error (negative) or 0 */
	file_slot *slots;  /* [cap] */
	int32_t lru_head, lru_tail;
	uint32_t opens; /* opens so far; each open's number goes in file_slot.opened */
	int direct;
	os_mutex *lock; /* non-NULL when shared between threads */
} file_cache;

int file_cache_init(file_cache *c, const lsio_batch *b, uint32_t cap, int direct, os_mutex *lock);
void file_cache_destroy(file_cache *c);
/* Pins the file's fd (opening it, evicting the LRU unpinned one when full).
 * Returns the slot index, -errno, or -EAGAIN when every slot is pinned. */
int file_cache_acquire(file_cache *c, uint32_t file);
void file_cache_release(file_cache *c, int slot);

/* ---- resolve.c ---- */
int batch_stat(lsio_batch *b);
void batch_resolve(lsio_batch *b);
void batch_layout(lsio_batch *b);
/* Live counters gathered locally and published in bulk (tally_flush), so the
 * hot loop does no atomic operation per chunk. */
typedef struct tally {
	uint64_t chunks, bytes, failed, misaligned, issued;
} tally;

/* Records a chunk's final status. */
static inline void chunk_finish(lsio_batch *b, tally *t, uint64_t i, int32_t status, uint64_t bytes)
{
	b->status[i] = status;
	t->chunks++;
	if (LSIO_UNLIKELY(status != 0)) t->failed++;
	else t->bytes += bytes;
}

/* Publishes a tally to the batch's live counters and clears it. */
static inline void tally_flush(lsio_batch *b, tally *t)
{
	if (t->chunks) live_add(b->chunks_done, t->chunks);
	if (t->bytes) live_add(b->bytes_done, t->bytes);
	if (t->failed) live_add(b->failed, t->failed);
	if (t->misaligned) live_add(b->misaligned, t->misaligned);
	if (t->issued) live_add(b->reads_issued, t->issued);
	*t = (tally){0};
}

/* ---- backends ---- */
typedef struct uring_backend uring_backend;
int uring_create(uring_backend **out, uint32_t queue_depth, uint32_t *ring_flags);
void uring_destroy(uring_backend *u);
int uring_read(uring_backend *u, lsio_batch *b, uint32_t max_open, int direct);
int uring_probe(void);

typedef struct pool_backend pool_backend;
int pool_create(pool_backend **out, uint32_t threads);
void pool_destroy(pool_backend *p);
int pool_read(pool_backend *p, lsio_batch *b, uint32_t max_open, int direct);

/* The piece-by-piece read state machine shared by both backends. */
typedef struct read_step {
	uint8_t *buf;      /* where this piece lands (dest or bounce) */
	uint64_t file_off; /* file offset of this piece */
	uint32_t len;      /* bytes asked of the kernel */
	uint32_t skip;     /* bounce: bytes before the caller's data */
	int bounce;        /* 1: copy out of buf afterwards */
} read_step;

/* Plans the next piece of request i, `done` bytes in. */
static inline read_step step_plan(const lsio_batch *b, uint64_t i, uint64_t done, uint32_t dio_align,
				  uint8_t *bounce)
{
	read_step s;
	uint64_t pos = b->offset[i] + done, left = b->length[i] - done;
	uint8_t *dst = dest_of(b, i) + done;
	if (!dio_align || (((uintptr_t)dst | pos) % dio_align == 0 && left >= dio_align)) {
		/* Straight into the destination; with O_DIRECT only whole aligned
		 * blocks go this way, an unaligned tail takes the bounce path next. */
		uint64_t len = left > LSIO_MAX_IO_BYTES ? LSIO_MAX_IO_BYTES : left;
		if (dio_align) len = round_down(len, dio_align);
		s.buf = dst;
		s.file_off = pos;
		s.len = (uint32_t)len;
		s.skip = 0;
		s.bounce = 0;
	} else {
		/* O_DIRECT with an unaligned edge: read an aligned window into the
		 * bounce buffer and copy the caller's part out. */
		uint64_t apos = round_down(pos, dio_align);
		uint64_t aend = round_up(pos + left, dio_align);
		if (aend - apos > LSIO_BOUNCE_BYTES) aend = apos + LSIO_BOUNCE_BYTES;
		s.buf = bounce;
		s.file_off = apos;
		s.len = (uint32_t)(aend - apos);
		s.skip = (uint32_t)(pos - apos);
		s.bounce = 1;
	}
	return s;
}

/* Applies a piece's result. Returns the caller bytes it delivered (>0), 0 at EOF
 * (nothing of the caller's range came back). */
static inline uint64_t step_apply(const lsio_batch *b, uint64_t i, uint64_t done, const read_step *s,
				  uint32_t got)
{
	uint64_t left = b->length[i] - done;
	if (!s->bounce) return got < left ? got : left;
	if (got <= s->skip) return 0;
	uint64_t n = got - s->skip;
	if (n > left) n = left;
	__builtin_memcpy(dest_of(b, i) + done, s->buf + s->skip, n);
	return n;
}

#endif
