/* pool.c — the portable backend: a pool of threads doing blocking pread().
 *
 * Chosen when io_uring is unavailable (ENOSYS, EPERM, io_uring_disabled) or
 * asked for. Threads claim requests in small runs with one atomic add, so
 * there is no lock per chunk except the shared file cache. */
#include "internal.h"

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
	uint64_t next; /* next unclaimed request (atomic) */
	uint8_t *bounce; /* nthreads * LSIO_BOUNCE_BYTES, for O_DIRECT edges */
	struct pool_thread {
		pool_backend *pool;
		uint32_t index;
	} *args;
};

static void run_one(pool_backend *p, lsio_batch *b, tally *t, uint64_t i, uint8_t *bounce)
{
	if (b->status[i] != 0) return;
	/* Cancel first, as the io_uring backend does: a cancelled batch fails
	 * every chunk not yet done, zero-length ones included. */
	if (live_load(b->cancel)) {
		b->length[i] = 0;
		chunk_finish(b, t, i, -ECANCELED, 0);
		return;
	}
	if (b->length[i] == 0) {
		chunk_finish(b, t, i, 0, 0);
		return;
	}
	int fs = file_cache_acquire(p->fc, b->file[i]);
	while (fs == -EAGAIN) fs = file_cache_acquire(p->fc, b->file[i]); /* cap > threads: transient */
	if (fs < 0) {
		b->length[i] = 0; /* nothing was read */
		chunk_finish(b, t, i, fs, 0);
		return;
	}
	if ((uintptr_t)dest_of(b, i) & 63) t->misaligned++;
	file_slot *slot = &p->fc->slots[fs];
	os_file fd = slot->fd;
	uint32_t align = slot->dio_align;
	uint64_t done = 0;
	int32_t status = 0;
	while (done < b->length[i]) {
		read_step s = step_plan(b, i, done, align, bounce);
		int64_t r = os_pread(fd, s.buf, s.len, s.file_off);
		t->issued++;
		if (r < 0) {
			status = (int32_t)r;
			break;
		}
		uint64_t got = step_apply(b, i, done, &s, (uint32_t)r);
		if (got == 0) {
			status = -ENODATA;
			break;
		}
		done += got;
	}
	file_cache_release(p->fc, fs);
	if (status != 0) b->length[i] = done;
	chunk_finish(b, t, i, status, done);
}

static void work(pool_backend *p, uint8_t *bounce)
{
	lsio_batch *b = p->batch;
	tally t = {0};
	for (;;) {
		uint64_t first = __atomic_fetch_add(&p->next, POOL_CLAIM, __ATOMIC_RELAXED);
		if (first >= b->count) return;
		uint64_t last = first + POOL_CLAIM < b->count ? first + POOL_CLAIM : b->count;
		for (uint64_t i = first; i < last; i++) run_one(p, b, &t, i, bounce);
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
		work(p, p->bounce ? p->bounce + (size_t)self->index * LSIO_BOUNCE_BYTES : NULL);
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
	free(p);
}

int pool_read(pool_backend *p, lsio_batch *b, uint32_t max_open, int direct)
{
	os_mutex cache_lock;
	file_cache fc;
	if (direct && !p->bounce) {
		p->bounce = lsio_alloc_aligned(4096, (size_t)p->nthreads * LSIO_BOUNCE_BYTES);
		if (!p->bounce) return -ENOMEM;
	}
	os_mutex_init(&cache_lock);
	uint32_t cap = max_open > p->nthreads ? max_open : p->nthreads + 1;
	int rc = file_cache_init(&fc, b, cap, direct, &cache_lock);
	if (rc < 0) {
		os_mutex_destroy(&cache_lock);
		return rc;
	}
	os_mutex_lock(&p->mu);
	p->batch = b;
	p->fc = &fc;
	p->next = 0;
	p->running = p->nthreads;
	p->generation++;
	os_cond_broadcast(&p->cv);
	while (p->running) os_cond_wait(&p->cv, &p->mu);
	os_mutex_unlock(&p->mu);
	file_cache_destroy(&fc);
	os_mutex_destroy(&cache_lock);
	return rc;
}
