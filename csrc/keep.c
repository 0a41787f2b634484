/* keep.c — files kept open from one batch to the next (lsio_reader_opts.keep_open).
 *
 * A batch's file cache (files.c) takes an fd from here instead of opening the
 * path again, and gives its fds back when the batch ends; beyond `cap` files
 * the least recently used is closed. Taking removes the entry, so an fd is
 * owned by one batch or by this table, never both. Only successful opens are
 * kept: a file missing now is looked up again next time. A path replaced on
 * disk (rename over it) keeps reading the old file while its fd is kept —
 * the price of skipping the open, hence opt-in. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct kept {
	char *path;
	uint64_t hash;
	os_file fd;
	uint32_t dio_align;
	int32_t chain;      /* next entry in the same bucket, or -1 */
	int32_t prev, next; /* LRU, most recent at the tail; free list through next */
} kept;

struct fd_keep {
	uint32_t cap, nbuckets;
	kept *e;
	int32_t *bucket;
	int32_t lru_head, lru_tail, free_head;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

int fd_keep_create(fd_keep **out, uint32_t cap)
{
	*out = NULL;
	if (cap == 0) return 0;
	fd_keep *k = calloc(1, sizeof *k);
	if (!k) return -ENOMEM;
	k->cap = cap;
	k->nbuckets = 1;
	while (k->nbuckets < 2 * cap) k->nbuckets <<= 1;
	k->e = calloc(cap, sizeof *k->e);
	k->bucket = malloc(k->nbuckets * sizeof *k->bucket);
	if (!k->e || !k->bucket) {
		free(k->e);
		free(k->bucket);
		free(k);
		return -ENOMEM;
	}
	for (uint32_t b = 0; b < k->nbuckets; b++) k->bucket[b] = -1;
	for (uint32_t i = 0; i < cap; i++) k->e[i].next = i + 1 < cap ? (int32_t)i + 1 : -1;
	k->free_head = 0;
	k->lru_head = k->lru_tail = -1;
	*out = k;
	return 0;
}

static void lru_remove(fd_keep *k, int32_t i)
{
	kept *e = &k->e[i];
	if (e->prev >= 0) k->e[e->prev].next = e->next;
	else k->lru_head = e->next;
	if (e->next >= 0) k->e[e->next].prev = e->prev;
	else k->lru_tail = e->prev;
}

/* Unlinks entry i from its bucket and the LRU and frees it; returns its fd. */
static os_file drop(fd_keep *k, int32_t i)
{
	kept *e = &k->e[i];
	int32_t *at = &k->bucket[e->hash & (k->nbuckets - 1)];
	while (*at != i) at = &k->e[*at].chain;
	*at = e->chain;
	lru_remove(k, i);
	os_file fd = e->fd;
	free(e->path);
	e->path = NULL;
	e->next = k->free_head;
	k->free_head = i;
	return fd;
}

int fd_keep_take(fd_keep *k, const char *path, os_file *fd, uint32_t *dio_align)
{
	if (!k) return 0;
	uint64_t h = hash_path(path);
	for (int32_t i = k->bucket[h & (k->nbuckets - 1)]; i >= 0; i = k->e[i].chain) {
		if (k->e[i].hash == h && strcmp(k->e[i].path, path) == 0) {
			*dio_align = k->e[i].dio_align;
			*fd = drop(k, i);
			return 1;
		}
	}
	return 0;
}

void fd_keep_put(fd_keep *k, const char *path, os_file fd, uint32_t dio_align)
{
	if (!k) {
		os_close(fd);
		return;
	}
	if (k->free_head < 0) os_close(drop(k, k->lru_head)); /* full: the least recent goes */
	size_t n = strlen(path) + 1;
	char *copy = malloc(n);
	if (!copy) {
		os_close(fd);
		return;
	}
	memcpy(copy, path, n);
	int32_t i = k->free_head;
	kept *e = &k->e[i];
	k->free_head = e->next;
	e->path = copy;
	e->hash = hash_path(path);
	e->fd = fd;
	e->dio_align = dio_align;
	int32_t *b = &k->bucket[e->hash & (k->nbuckets - 1)];
	e->chain = *b;
	*b = i;
	e->prev = k->lru_tail;
	e->next = -1;
	if (k->lru_tail >= 0) k->e[k->lru_tail].next = i;
	else k->lru_head = i;
	k->lru_tail = i;
}

void fd_keep_destroy(fd_keep *k)
{
	if (!k) return;
	while (k->lru_head >= 0) os_close(drop(k, k->lru_head));
	free(k->e);
	free(k->bucket);
	free(k);
}
