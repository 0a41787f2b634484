/* uring.c — the io_uring backend: one ring, owned by the reader's thread.
 *
 * The hot loop follows fio's t/io_uring.c and TigerBeetle: keep `queue_depth`
 * reads in flight, submit and wait in one io_uring_enter, reap every ready
 * completion in one pass, top the queue up again. Per chunk there is no
 * allocation and no syscall of its own. */
#if defined(__linux__)
#define _GNU_SOURCE
#include "unit.h"

#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif

typedef struct uslot {
	unit u;        /* what this slot reads */
	uint64_t done; /* bytes of the unit delivered so far */
	int fslot;     /* pinned file-cache slot */
	uint32_t dio_align;
	unit_io io;    /* the read in flight */
} uslot;

struct uring_backend {
	struct io_uring ring;
	uint32_t qd;
	uslot *slots;
	uint32_t *free_slots, nfree;
	uint32_t *retry, nretry; /* slots whose next piece must be (re)submitted */
	uint8_t *bounce;         /* qd * LSIO_BOUNCE_BYTES: O_DIRECT edges, COPY units */
	struct iovec *iov;       /* qd * LSIO_IOV_CAP: VEC units */
	uint8_t *scratch;        /* LSIO_SCRATCH_BYTES sink for the gaps of VEC units */
	int fixed_files;         /* use a registered file table (IOSQE_FIXED_FILE) */
	int nowait;              /* LSIO_BATCH_NOWAIT: RWF_NOWAIT reads, -EAGAIN is final */
	uint32_t *fixed_open;    /* [fd cache cap] which open of a slot is registered */
};

/* Flags in the order we try them; the kernel answers EINVAL to what it lacks. */
static const uint32_t ring_flag_choices[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

int uring_create(uring_backend **out, uint32_t qd, uint32_t *ring_flags)
{
	uring_backend *u = calloc(1, sizeof *u);
	if (!u) return -ENOMEM;
	int rc = -EINVAL;
	for (size_t k = 0; k < sizeof ring_flag_choices / sizeof *ring_flag_choices; k++) {
		rc = io_uring_queue_init(qd, &u->ring, ring_flag_choices[k]);
		if (rc == 0) {
			*ring_flags = ring_flag_choices[k];
			break;
		}
		if (rc != -EINVAL) break;
	}
	if (rc < 0) {
		free(u);
		return rc;
	}
	u->qd = qd;
	u->slots = calloc(qd, sizeof *u->slots);
	u->free_slots = malloc(qd * sizeof *u->free_slots);
	u->retry = malloc(qd * sizeof *u->retry);
	if (!u->slots || !u->free_slots || !u->retry) {
		uring_destroy(u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

void uring_destroy(uring_backend *u)
{
	if (!u) return;
	io_uring_queue_exit(&u->ring);
	free(u->slots);
	free(u->free_slots);
	free(u->retry);
	lsio_free_aligned(u->bounce);
	free(u->iov);
	free(u->scratch);
	free(u);
}

static inline unit_space space_of(uring_backend *u, uint32_t s)
{
	unit_space sp = {u->iov ? u->iov + (size_t)s * LSIO_IOV_CAP : NULL, LSIO_IOV_CAP,
			 u->bounce ? u->bounce + (size_t)s * LSIO_BOUNCE_BYTES : NULL, u->scratch, LSIO_SCRATCH_BYTES};
	return sp;
}

static inline void prep_piece(uring_backend *u, const lsio_batch *b, const plan *p, file_cache *fc, uint32_t s)
{
	uslot *e = &u->slots[s];
	unit_space sp = space_of(u, s);
	e->io = unit_piece(b, p, &e->u, e->done, e->dio_align, &sp);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	/* Never NULL: at most qd SQEs are outstanding and the ring has qd entries. */
	int fd = u->fixed_files ? e->fslot : fc->slots[e->fslot].fd;
	if (e->io.niov) io_uring_prep_readv(sqe, fd, sp.iov, (unsigned)e->io.niov, e->io.file_off);
	else io_uring_prep_read(sqe, fd, e->io.buf, e->io.len, e->io.file_off);
	if (u->fixed_files) sqe->flags |= IOSQE_FIXED_FILE;
	if (u->nowait) sqe->rw_flags |= RWF_NOWAIT;
	io_uring_sqe_set_data64(sqe, s);
}

static inline void slot_done(uring_backend *u, lsio_batch *b, plan *p, tally *t, file_cache *fc, uint32_t s,
			     int32_t status)
{
	uslot *e = &u->slots[s];
	unit_finish(b, p, t, &e->u, e->done, status, 0);
	file_cache_release(fc, e->fslot);
	u->free_slots[u->nfree++] = s;
}


int uring_read(uring_backend *u, lsio_batch *b, plan *p, uint32_t max_open, int direct, fd_keep *keep)
{
	if ((direct || (p && p->needs_bounce)) && !u->bounce) {
		u->bounce = lsio_alloc_aligned(4096, (size_t)u->qd * LSIO_BOUNCE_BYTES);
		if (!u->bounce) return -ENOMEM;
	}
	if (p && !u->iov) {
		u->iov = malloc((size_t)u->qd * LSIO_IOV_CAP * sizeof *u->iov);
		u->scratch = malloc(LSIO_SCRATCH_BYTES);
		if (!u->iov || !u->scratch) return -ENOMEM;
	}
	file_cache fc;
	/* More fds than reads in flight, so an unpinned one can always be evicted. */
	uint32_t cap = max_open > u->qd ? max_open : u->qd + 1;
	u->nowait = (b->flags & LSIO_BATCH_NOWAIT) != 0;
	int rc = file_cache_init(&fc, b, cap, (direct ? OS_OPEN_DIRECT : 0) | (u->nowait ? OS_OPEN_CACHED : 0), NULL);
	if (rc < 0) return rc;
	fc.keep = keep;
	tally t = {0};

	/* Registered files save the kernel an fd lookup and refcount per read, but
	 * registering costs a syscall per file: worth it only when files are read
	 * many times per batch (random4k: +5-8 %; a zarr batch of 377 chunks over
	 * 100 shards: 526 -> 486 us without). */
	u->fixed_files = 0;
	if (!getenv("LSIO_NO_FIXED_FILES") && b->count >= LSIO_FIXED_FILES_MIN_READS * (uint64_t)fc.cap) {
		u->fixed_open = calloc(fc.cap, sizeof *u->fixed_open);
		if (u->fixed_open && io_uring_register_files_sparse(&u->ring, fc.cap) == 0) u->fixed_files = 1;
	}

	u->nfree = u->qd;
	for (uint32_t s = 0; s < u->qd; s++) u->free_slots[s] = u->qd - 1 - s;
	u->nretry = 0;

	uint64_t k = 0; /* next unit */
	uint32_t inflight = 0;
	int fatal = 0;
	for (;;) {
		int cancelled = live_load(b->cancel) != 0;
		while (u->nretry) {
			uint32_t s = u->retry[--u->nretry];
			if (cancelled) {
				slot_done(u, b, p, &t, &fc, s, -ECANCELED);
				inflight--;
				continue;
			}
			prep_piece(u, b, p, &fc, s);
			t.issued++;
		}
		while (!cancelled && inflight < u->qd) {
			unit un;
			int got = next_unit(b, p, k, &un);
			if (got == UNIT_NONE) break;
			if (got != UNIT_NEXT) {
				if (got == UNIT_EMPTY) chunk_finish(b, &t, k, 0, 0);
				k++;
				continue;
			}
			int fs = file_cache_acquire(&fc, un.file);
			if (fs == -EAGAIN) break;
			k++;
			if (fs < 0) {
				unit_finish(b, p, &t, &un, 0, fs, 0);
				continue;
			}
			if (u->fixed_files && u->fixed_open[fs] != fc.slots[fs].opened) {
				int fd = fc.slots[fs].fd;
				if (io_uring_register_files_update(&u->ring, (unsigned)fs, &fd, 1) == 1) {
					u->fixed_open[fs] = fc.slots[fs].opened;
				} else { /* cannot register: plain fds for the rest of this batch */
					u->fixed_files = 0;
				}
			}
			uint32_t s = u->free_slots[--u->nfree];
			uslot *e = &u->slots[s];
			e->u = un;
			e->done = 0;
			e->fslot = fs;
			e->dio_align = fc.slots[fs].dio_align;
			if (LSIO_UNLIKELY((uintptr_t)dest_of(b, plan_req(p, un.first)) & 63)) t.misaligned++;
			prep_piece(u, b, p, &fc, s);
			inflight++;
			t.issued++;
		}
		if (inflight == 0) break;

		/* Wake for an eighth of the queue, not for every read: each wake-up
		 * then refills in one submission (one plug, one device kick) and
		 * sleeps once instead of eight times. O_DIRECT random 4 KiB reads on
		 * this virtio disk, QD 64: 81-85 k/s waiting for 1, 92-95 k/s for
		 * inflight/8 (fio: 93-98 k/s). Cached reads complete inline while
		 * submitting, so the wait returns at once for them. */
		unsigned want = inflight >= 16 ? inflight / 8 : 1;
		int ret = io_uring_submit_and_wait(&u->ring, want);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fatal = ret;
			break;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe)
		{
			uint32_t s = (uint32_t)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;
			uslot *e = &u->slots[s];
			seen++;
			if (LSIO_UNLIKELY(res < 0)) {
				if (res == -EINTR || (res == -EAGAIN && !u->nowait)) {
					u->retry[u->nretry++] = s;
				} else {
					slot_done(u, b, p, &t, &fc, s, res);
					inflight--;
				}
				continue;
			}
			uint64_t got = unit_apply(b, p, &e->u, e->done, &e->io, (uint32_t)res);
			if (LSIO_UNLIKELY(got == 0)) { /* EOF before the range ended: the file shrank */
				slot_done(u, b, p, &t, &fc, s, -ENODATA);
				inflight--;
				continue;
			}
			e->done += got;
			if (LSIO_LIKELY(e->done == e->u.len)) {
				slot_done(u, b, p, &t, &fc, s, 0);
				inflight--;
			} else {
				u->retry[u->nretry++] = s; /* short read: continue where it stopped */
			}
		}
		io_uring_cq_advance(&u->ring, seen);
		tally_flush(b, &t);
	}
	if (fatal) {
		while (u->nretry) {
			slot_done(u, b, p, &t, &fc, u->retry[--u->nretry], fatal);
			inflight--;
		}
		/* In-flight reads may still target caller memory: drain them before
		 * returning so nothing writes after the batch is reported done. */
		while (inflight) {
			struct io_uring_cqe *cqe;
			if (io_uring_submit_and_wait(&u->ring, 1) < 0 || io_uring_peek_cqe(&u->ring, &cqe) < 0) break;
			uint32_t s = (uint32_t)io_uring_cqe_get_data64(cqe);
			io_uring_cqe_seen(&u->ring, cqe);
			slot_done(u, b, p, &t, &fc, s, fatal);
			inflight--;
		}
	}
	/* Whatever was never started (cancel, or a ring failure) is reported. */
	finish_rest(b, p, &t, k, fatal ? fatal : live_load(b->cancel) ? -ECANCELED : 0, 0);
	if (u->fixed_open) {
		io_uring_unregister_files(&u->ring);
		free(u->fixed_open);
		u->fixed_open = NULL;
	}
	tally_flush(b, &t);
	file_cache_destroy(&fc);
	return fatal;
}
#endif
