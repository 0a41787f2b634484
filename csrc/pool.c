/* pool.c — the portable backend: a pool of threads doing blocking pread().
 *
 * Chosen when io_uring is unavailable (ENOSYS, EPERM, io_uring_disabled) or
 * asked for. Threads claim requests in small runs with one atomic add, so
 * there is no lock per chunk except the shared file cache. */
#include "unit.h"

#include <stdlib.h>

#define POOL_CLAIM 16 /* requests a thread claims at a time */

struct pool_backend {
	uint32_t nthreads;
	os_thread *threads;
	os_mutex mu;
	os_cond cv;
	uint64_t generation; /* bumped per job */
	uint32_t running;    /* threads still inside the current job */
	int stop;
	/* the current job */
	lsio_batch *batch;
	file_cache *fc;
	struct plan *plan; /* NULL: one unit per request */
	uint64_t next;     /* next unclaimed unit (atomic) */
	uint8_t *bounce;   /* nthreads * LSIO_BOUNCE_BYTES: O_DIRECT edges, COPY units */
	struct iovec *iov; /* nthreads * LSIO_IOV_CAP: VEC units */
	uint8_t *scratch;  /* gap sink of VEC units */
	struct pool_thread {
		pool_backend *pool;
		uint32_t index;
	} *args;
};

/* Reads unit k to the end (pread, or preadv for VEC units). */
static void run_one(pool_backend *pool, lsio_batch *b, plan *p, tally *t, uint64_t k, const unit_space *sp)
{
	unit u;
	int got = next_unit(b, p, k, &u);
	if (got == UNIT_SKIP) return;
	/* Cancel first: a cancelled batch fails every chunk not yet done. */
	if (live_load(b->cancel)) {
		if (got == UNIT_EMPTY) chunk_finish(b, t, k, -ECANCELED, 0);
		else unit_finish(b, p, t, &u, 0, -ECANCELED, 1);
		return;
	}
	if (got == UNIT_EMPTY) {
		chunk_finish(b, t, k, 0, 0);
		return;
	}
	int fs = file_cache_acquire(pool->fc, u.file);
	while (fs == -EAGAIN) fs = file_cache_acquire(pool->fc, u.file); /* cap > threads: transient */
	if (fs < 0) {
		unit_finish(b, p, t, &u, 0, fs, 1);
		return;
	}
	if ((uintptr_t)dest_of(b, plan_req(p, u.first)) & 63) t->misaligned++;
	file_slot *slot = &pool->fc->slots[fs];
	os_file fd = slot->fd;
	uint32_t align = slot->dio_align;
	uint64_t done = 0;
	int32_t status = 0;
	while (done < u.len) {
		unit_io io = unit_piece(b, p, &u, done, align, sp);
		int64_t r = io.niov ? os_preadv(fd, sp->iov, io.niov, io.file_off) : os_pread(fd, io.buf, io.len, io.file_off);
		t->issued++;
		if (r < 0) {
			status = (int32_t)r;
			break;
		}
		uint64_t n = unit_apply(b, p, &u, done, &io, (uint32_t)r);
		if (n == 0) {
			status = -ENODATA;
			break;
		}
		done += n;
	}
	file_cache_release(pool->fc, fs);
	unit_finish(b, p, t, &u, done, status, 1);
}

static void work(pool_backend *pool, const unit_space *sp)
{
	lsio_batch *b = pool->batch;
	plan *p = pool->plan;
	uint64_t n = p ? p->count : b->count;
	tally t = {0};
	for (;;) {
		uint64_t first = __atomic_fetch_add(&pool->next, POOL_CLAIM, __ATOMIC_RELAXED);
		if (first >= n) return;
		uint64_t last = first + POOL_CLAIM < n ? first + POOL_CLAIM : n;
		for (uint64_t k = first; k < last; k++) run_one(pool, b, p, &t, k, sp);
		tally_flush(b, &t);
	}
}

static void *thread_main(void *arg)
{
	struct pool_thread *self = arg;
	pool_backend *p = self->pool;
	uint64_t seen = 0;
	os_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->generation == seen) os_cond_wait(&p->cv, &p->mu);
		if (p->stop) break;
		seen = p->generation;
		os_mutex_unlock(&p->mu);
		unit_space sp = {p->iov ? p->iov + (size_t)self->index * LSIO_IOV_CAP : NULL, LSIO_IOV_CAP,
				 p->bounce ? p->bounce + (size_t)self->index * LSIO_BOUNCE_BYTES : NULL, p->scratch,
				 LSIO_SCRATCH_BYTES};
		work(p, &sp);
		os_mutex_lock(&p->mu);
		if (--p->running == 0) os_cond_broadcast(&p->cv);
	}
	os_mutex_unlock(&p->mu);
	return NULL;
}

int pool_create(pool_backend **out, uint32_t nthreads)
{
	pool_backend *p = calloc(1, sizeof *p);
	if (!p) return -ENOMEM;
	p->threads = calloc(nthreads, sizeof *p->threads);
	p->args = calloc(nthreads, sizeof *p->args);
	if (!p->threads || !p->args) {
		free(p->threads);
		free(p->args);
		free(p);
		return -ENOMEM;
	}
	os_mutex_init(&p->mu);
	os_cond_init(&p->cv);
	for (uint32_t t = 0; t < nthreads; t++) {
		p->args[t].pool = p;
		p->args[t].index = t;
		int rc = os_thread_start(&p->threads[t], thread_main, &p->args[t]);
		if (rc < 0) {
			p->nthreads = t;
			pool_destroy(p);
			return rc;
		}
	}
	p->nthreads = nthreads;
	*out = p;
	return 0;
}

void pool_destroy(pool_backend *p)
{
	if (!p) return;
	os_mutex_lock(&p->mu);
	p->stop = 1;
	os_cond_broadcast(&p->cv);
	os_mutex_unlock(&p->mu);
	for (uint32_t t = 0; t < p->nthreads; t++) os_thread_join(p->threads[t]);
	os_cond_destroy(&p->cv);
	os_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->args);
	lsio_free_aligned(p->bounce);
	free(p->iov);
	free(p->scratch);
	free(p);
}

int pool_read(pool_backend *p, lsio_batch *b, struct plan *pl, uint32_t max_open, int direct, fd_keep *keep)
{
	os_mutex cache_lock;
	file_cache fc;
	if ((direct || (pl && pl->needs_bounce)) && !p->bounce) {
		p->bounce = lsio_alloc_aligned(4096, (size_t)p->nthreads * LSIO_BOUNCE_BYTES);
		if (!p->bounce) return -ENOMEM;
	}
	if (pl && !p->iov) {
		p->iov = malloc((size_t)p->nthreads * LSIO_IOV_CAP * sizeof *p->iov);
		p->scratch = malloc(LSIO_SCRATCH_BYTES);
		if (!p->iov || !p->scratch) return -ENOMEM;
	}
	os_mutex_init(&cache_lock);
	uint32_t cap = max_open > p->nthreads ? max_open : p->nthreads + 1;
	int rc = file_cache_init(&fc, b, cap, direct, &cache_lock);
	if (rc < 0) {
		os_mutex_destroy(&cache_lock);
		return rc;
	}
	fc.keep = keep;
	os_mutex_lock(&p->mu);
	p->batch = b;
	p->plan = pl;
	p->fc = &fc;
	p->next = 0;
	p->running = p->nthreads;
	p->generation++;
	os_cond_broadcast(&p->cv);
	while (p->running) os_cond_wait(&p->cv, &p->mu);
	os_mutex_unlock(&p->mu);
	tally t = {0};
	finish_rest(b, pl, &t, pl ? pl->count : b->count, live_load(b->cancel) ? -ECANCELED : 0, 0);
	tally_flush(b, &t);
	file_cache_destroy(&fc);
	os_mutex_destroy(&cache_lock);
	return rc;
}
