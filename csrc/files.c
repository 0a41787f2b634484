/* files.c — the per-batch open-file cache.
 *
 * Each file of a batch is opened once and kept open while the batch needs it.
 * The cache is bounded (below RLIMIT_NOFILE) so a batch over 100 000 files
 * works: unpinned fds are evicted least-recently-used first; an fd with reads
 * in flight is pinned and never closed under them. Open errors are remembered
 * per file so a missing file costs one open(), not one per chunk. */
#include "internal.h"

#include <stdlib.h>

static void lru_unlink(file_cache *c, int s)
{
	file_slot *e = &c->slots[s];
	if (e->prev >= 0) c->slots[e->prev].next = e->next;
	else c->lru_head = e->next;
	if (e->next >= 0) c->slots[e->next].prev = e->prev;
	else c->lru_tail = e->prev;
	e->prev = e->next = -1;
}

static void lru_push_head(file_cache *c, int s)
{
	file_slot *e = &c->slots[s];
	e->prev = -1;
	e->next = c->lru_head;
	if (c->lru_head >= 0) c->slots[c->lru_head].prev = s;
	else c->lru_tail = s;
	c->lru_head = s;
}

static void lru_push_tail(file_cache *c, int s)
{
	file_slot *e = &c->slots[s];
	e->prev = c->lru_tail;
	e->next = -1;
	if (c->lru_tail >= 0) c->slots[c->lru_tail].next = s;
	else c->lru_head = s;
	c->lru_tail = s;
}

int file_cache_init(file_cache *c, const lsio_batch *b, uint32_t cap, int mode, os_mutex *lock)
{
	size_t nf = (size_t)b->file_count;
	c->batch = b;
	c->cap = cap ? cap : 1;
	if (nf && c->cap > nf) c->cap = (uint32_t)nf;
	c->used = 0;
	c->opens = 0;
	c->mode = mode;
	c->keep = NULL;
	c->lock = lock;
	c->lru_head = c->lru_tail = -1;
	c->slot_of = malloc((nf ? nf : 1) * sizeof *c->slot_of);
	c->error_of = calloc(nf ? nf : 1, sizeof *c->error_of);
	c->slots = calloc(c->cap, sizeof *c->slots);
	if (!c->slot_of || !c->error_of || !c->slots) {
		file_cache_destroy(c);
		return -ENOMEM;
	}
	for (size_t f = 0; f < nf; f++) c->slot_of[f] = -1;
	return 0;
}

void file_cache_destroy(file_cache *c)
{
	if (c->slots)
		for (uint32_t s = 0; s < c->used; s++) {
			file_slot *e = &c->slots[s];
			if (e->fd == OS_BAD_FILE) continue;
			if (c->keep) fd_keep_put(c->keep, c->batch->paths + c->batch->path_offsets[e->file], e->fd, e->dio_align);
			else os_close(e->fd);
		}
	free(c->slot_of);
	free(c->error_of);
	free(c->slots);
	c->slot_of = NULL;
	c->error_of = NULL;
	c->slots = NULL;
}

static int acquire_locked(file_cache *c, uint32_t f)
{
	int s = c->slot_of[f];
	if (s >= 0) {
		if (c->slots[s].pins++ == 0) lru_unlink(c, s);
		return s;
	}
	if (c->error_of[f]) return c->error_of[f];
	if (c->used < c->cap) {
		s = (int)c->used++;
	} else {
		s = c->lru_head;
		if (s < 0) return -EAGAIN; /* everything pinned: wait for completions */
		lru_unlink(c, s);
		if (c->slots[s].fd != OS_BAD_FILE) { /* not a slot left empty by a failed open */
			os_close(c->slots[s].fd);
			c->slot_of[c->slots[s].file] = -1;
		}
	}
	file_slot *e = &c->slots[s];
	const char *path = c->batch->paths + c->batch->path_offsets[f];
	int rc = c->keep && fd_keep_take(c->keep, path, &e->fd, &e->dio_align) ? 0 : os_open(path, c->mode, &e->fd, &e->dio_align);
	if (rc < 0) {
		/* Leave the slot empty, first in line for reuse. Slots never move:
		 * reads in flight hold their slot index until they release it. */
		e->fd = OS_BAD_FILE;
		e->file = f;
		e->pins = 0;
		c->error_of[f] = rc;
		lru_push_head(c, s);
		return rc;
	}
	e->file = f;
	e->opened = ++c->opens;
	e->pins = 1;
	e->prev = e->next = -1;
	c->slot_of[f] = s;
	return s;
}

int file_cache_acquire(file_cache *c, uint32_t f)
{
	if (f >= c->batch->file_count) return -EINVAL; /* READ without RESOLVE can bring these */
	if (!c->lock) return acquire_locked(c, f);
	os_mutex_lock(c->lock);
	int s = acquire_locked(c, f);
	os_mutex_unlock(c->lock);
	return s;
}

void file_cache_release(file_cache *c, int s)
{
	if (c->lock) os_mutex_lock(c->lock);
	if (--c->slots[s].pins == 0) lru_push_tail(c, s);
	if (c->lock) os_mutex_unlock(c->lock);
}
