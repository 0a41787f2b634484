/* unit.h — a unit of I/O: what one read (or chain of continued reads) fetches.
 *
 * Without planning a unit is one request. With planning (plan.c) a unit is
 * several requests of one file read at once (merged: contiguous, with gaps,
 * or overlapping), or one piece of a request split in several. Both backends
 * run units through the same three steps: unit_piece() plans the next read,
 * unit_apply() takes its result, unit_finish() settles the requests. */
#ifndef LSIO_UNIT_H
#define LSIO_UNIT_H

#include "internal.h"

#if defined(_WIN32)
struct iovec {
	void *iov_base;
	size_t iov_len;
};
#else
#include <sys/uio.h>
#endif

enum {
	UNIT_SINGLE, /* one request, read into its destination */
	UNIT_CONTIG, /* requests back to back in the file and in memory: one plain read */
	UNIT_VEC,    /* requests with gaps between them: readv into each destination, gaps into scratch */
	UNIT_COPY,   /* overlapping or duplicate requests: read once into a bounce buffer, copy out */
	UNIT_PIECE,  /* part of one request split into several reads in flight at once */
};

typedef struct unit {
	uint64_t off, len; /* the file range this unit reads */
	uint32_t file;
	uint32_t first;    /* position (in the plan's order) of its first request */
	uint32_t count;    /* requests covered */
	uint32_t head;     /* PIECE: unit index of the request's first piece */
	uint32_t pending;  /* PIECE head: pieces not finished yet */
	int32_t error;     /* PIECE head: first error among its pieces */
	uint8_t kind;
} unit;

typedef struct plan {
	uint32_t *order; /* position -> request index; NULL: requests are in order */
	unit *units;
	uint64_t count;
	int needs_bounce; /* some unit copies out of a bounce buffer */
} plan;

/* Space for one read of a unit: an iovec array and a bounce buffer. */
typedef struct unit_space {
	struct iovec *iov;
	uint32_t iov_cap;
	uint8_t *bounce; /* LSIO_BOUNCE_BYTES, aligned to 4096; NULL if none */
	uint8_t *scratch; /* shared sink for the gaps of VEC units */
	uint32_t scratch_len;
} unit_space;

/* The next read of a unit, `done` bytes in. */
typedef struct unit_io {
	uint64_t file_off;
	uint8_t *buf;  /* plain read: where it lands */
	uint32_t len;  /* bytes asked for */
	int niov;      /* > 0: readv into space->iov */
	uint32_t skip; /* bounce: bytes of buf before the unit's next byte */
	int bounce;    /* 1: copy out of buf afterwards */
} unit_io;

static inline uint64_t plan_req(const plan *p, uint64_t pos) { return p && p->order ? p->order[pos] : pos; }

/* A request as a unit of its own (no planning). */
static inline unit unit_of_request(const lsio_batch *b, uint64_t i)
{
	unit u = {b->offset[i], b->length[i], b->file[i], (uint32_t)i, 1, 0, 0, 0, UNIT_SINGLE};
	return u;
}

enum { UNIT_NONE, UNIT_NEXT, UNIT_SKIP, UNIT_EMPTY };

/* The k-th unit to read: the k-th planned one, or the k-th request. UNIT_NEXT
 * with *out set; UNIT_SKIP (failed in RESOLVE, already counted); UNIT_EMPTY (a
 * zero-length request: nothing to read); UNIT_NONE past the end. */
static inline int next_unit(const lsio_batch *b, const plan *p, uint64_t k, unit *out)
{
	if (p) {
		if (k >= p->count) return UNIT_NONE;
		/* Field by field: a PIECE head's pending/error may be changing under
		 * another pool thread, and only unit_finish may touch those. */
		const unit *u = &p->units[k];
		*out = (unit){u->off, u->len, u->file, u->first, u->count, u->head, 0, 0, u->kind};
		return UNIT_NEXT;
	}
	if (k >= b->count) return UNIT_NONE;
	if (b->status[k] != 0) return UNIT_SKIP;
	if (b->length[k] == 0) return UNIT_EMPTY;
	*out = unit_of_request(b, k);
	return UNIT_NEXT;
}

/* Settles everything from unit k on that was never read: with `status`
 * (-ECANCELED, a ring failure), zero-length requests included; with 0 (the
 * batch ran to its end) only the zero-length requests a plan leaves out. */
void finish_rest(lsio_batch *b, plan *p, tally *t, uint64_t k, int32_t status, int shared);

/* 0 with *p set; 1: no plan (LSIO_BATCH_PLAN_IF_ORDERED and the requests are
 * not in order); -errno. */
int plan_build(lsio_batch *b, plan *p, int direct, uint32_t slots);
/* The piece size plan_build cuts requests longer than it into: split_size, or
 * larger when requests of that size would make more pieces than `slots`
 * transfers in flight (0: no such bound). */
uint64_t plan_split_size(const lsio_batch *b, uint32_t slots);
void plan_free(plan *p);

unit_io unit_piece(const lsio_batch *b, const plan *p, const unit *u, uint64_t done, uint32_t dio_align,
		   const unit_space *sp);
uint64_t unit_apply(const lsio_batch *b, const plan *p, const unit *u, uint64_t done, const unit_io *io,
		    uint32_t got);
void unit_finish(lsio_batch *b, plan *p, tally *t, const unit *u, uint64_t done, int32_t status, int shared);

#endif
