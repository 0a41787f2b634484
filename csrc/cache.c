/* cache.c — a RAM cache of byte ranges, shared by the batches that name it.
 *
 * Entries are exact resolved ranges of an object, keyed by its path and
 * stamped with what is known of its version (size, modification time): a
 * stamp that no longer matches is a miss, and the entry goes. One mutex
 * guards the table; a batch takes it a few times (look up, keep, collect),
 * never per chunk from outside. Hits copy under the lock: at RAM speed a
 * 4 KiB copy is shorter than the handover a pinned entry would cost.
 *
 * Eviction: S3-FIFO (Yang et al., SOSP '23) by default — a small FIFO
 * (10 % of the budget) that ranges enter, a main FIFO for those read again
 * while in it, and a ghost list of keys recently let go, so a one-pass scan
 * only ever churns the small queue. LRU is there to measure it against
 * (bench/zarr_crops.ts --cache). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { Q_NONE, Q_SMALL, Q_MAIN, Q_GHOST };

/* Roles of a batch's requests (cache_pass.role). */
enum { R_NONE, R_SERVED, R_OWNER, R_WAIT, R_REREAD };

typedef struct centry {
	struct centry *hnext;       /* hash chain */
	struct centry *prev, *next; /* queue: prev toward the head (newest) */
	uint64_t hash, off, len; /* the key: the range as resolved before the read */
	uint64_t data_off, data_len; /* the bytes held: the range as read (a suffix of an unsized object is placed by its read) */
	int64_t size, mtime; /* the object's stamp when read */
	uint8_t *data;       /* NULL: being read (queue Q_NONE), or a ghost */
	uint32_t path_len;
	uint8_t queue, freq, was_ghost;
	char path[];
} centry;

typedef struct cqueue {
	centry *head, *tail;
	uint64_t bytes, count;
} cqueue;

struct lsio_cache {
	os_mutex mu;
	os_cond cv; /* a claimed range was kept or let go */
	uint32_t refs;
	uint64_t budget, max_entry, policy, flags;
	centry **buckets;
	uint64_t nbuckets, nentries; /* every entry: held, being read, ghost */
	cqueue small, main, ghost;
	lsio_cache_stats st;
};

/* ---- keys ---- */

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h | 1; /* 0 means "not cached" in a pass */
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t key_hash(uint64_t ph, uint64_t off, uint64_t len) { return mix(ph ^ mix(off + 0x9e3779b97f4a7c15ull * len)); }

static centry **slot(lsio_cache *c, uint64_t h) { return &c->buckets[h & (c->nbuckets - 1)]; }

static centry *find(lsio_cache *c, uint64_t h, const char *path, uint32_t plen, uint64_t off, uint64_t len)
{
	for (centry *e = *slot(c, h); e; e = e->hnext)
		if (e->hash == h && e->off == off && e->len == len && e->path_len == plen && memcmp(e->path, path, plen) == 0)
			return e;
	return NULL;
}

static void grow(lsio_cache *c)
{
	uint64_t n = c->nbuckets * 2;
	centry **nb = calloc(n, sizeof *nb);
	if (!nb) return; /* longer chains, still correct */
	for (uint64_t i = 0; i < c->nbuckets; i++) {
		for (centry *e = c->buckets[i], *next; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

static void unhash(lsio_cache *c, centry *e)
{
	for (centry **p = slot(c, e->hash); *p; p = &(*p)->hnext) {
		if (*p == e) {
			*p = e->hnext;
			c->nentries--;
			return;
		}
	}
}

/* ---- queues ---- */

static uint64_t cost(const centry *e) { return e->data_len + sizeof *e + e->path_len; }

static cqueue *queue_of(lsio_cache *c, uint8_t q) { return q == Q_SMALL ? &c->small : q == Q_MAIN ? &c->main : q == Q_GHOST ? &c->ghost : NULL; }

static void q_remove(lsio_cache *c, centry *e)
{
	cqueue *q = queue_of(c, e->queue);
	if (!q) return;
	if (e->prev) e->prev->next = e->next;
	else q->head = e->next;
	if (e->next) e->next->prev = e->prev;
	else q->tail = e->prev;
	e->prev = e->next = NULL;
	q->count--;
	if (e->queue != Q_GHOST) {
		q->bytes -= cost(e);
		c->st.bytes -= cost(e);
		c->st.entries--;
	}
	e->queue = Q_NONE;
}

static void q_push(lsio_cache *c, centry *e, uint8_t which)
{
	cqueue *q = queue_of(c, which);
	e->queue = which;
	e->prev = NULL;
	e->next = q->head;
	if (q->head) q->head->prev = e;
	else q->tail = e;
	q->head = e;
	q->count++;
	if (which != Q_GHOST) {
		q->bytes += cost(e);
		c->st.bytes += cost(e);
		c->st.entries++;
	}
}

static void drop(lsio_cache *c, centry *e)
{
	q_remove(c, e);
	unhash(c, e);
	lsio_free_aligned(e->data);
	free(e);
}

/* The ghost list remembers as many keys as the main queue holds ranges (at least 1024). */
static void trim_ghosts(lsio_cache *c)
{
	uint64_t cap = c->main.count > 1024 ? c->main.count : 1024;
	while (c->ghost.count > cap) drop(c, c->ghost.tail);
}

static void evicted(lsio_cache *c, centry *e)
{
	c->st.evictions++;
	c->st.evicted_bytes += e->len;
}

/* S3-FIFO: the small queue's oldest moves to main if it was read again while
 * there, else its key becomes a ghost. */
static void evict_small(lsio_cache *c)
{
	centry *t = c->small.tail;
	q_remove(c, t);
	if (t->freq > 0) {
		t->freq = 0;
		q_push(c, t, Q_MAIN);
		return;
	}
	evicted(c, t);
	lsio_free_aligned(t->data);
	t->data = NULL;
	q_push(c, t, Q_GHOST);
	trim_ghosts(c);
}

/* S3-FIFO: main's oldest goes round again while it has reads left (each
 * pass takes one), else out. LRU: the least recent goes. */
static void evict_main(lsio_cache *c)
{
	for (;;) {
		centry *t = c->main.tail;
		if (c->policy == LSIO_CACHE_S3FIFO && t->freq > 0) {
			t->freq--;
			q_remove(c, t);
			q_push(c, t, Q_MAIN);
			continue;
		}
		evicted(c, t);
		drop(c, t);
		return;
	}
}

static void make_room(lsio_cache *c, uint64_t need)
{
	while (c->st.bytes + need > c->budget && (c->small.count || c->main.count)) {
		if (c->main.count == 0 || (c->policy == LSIO_CACHE_S3FIFO && c->small.count && c->small.bytes >= c->budget / 10))
			evict_small(c);
		else
			evict_main(c);
	}
}

static void touch(lsio_cache *c, centry *e)
{
	if (c->policy == LSIO_CACHE_LRU) {
		q_remove(c, e);
		q_push(c, e, Q_MAIN);
	} else if (e->freq < 3) {
		e->freq++;
	}
}

/* ---- the public handle ---- */

LSIO_API int lsio_cache_open(const lsio_cache_opts *opts, lsio_cache **out)
{
	if (!opts || !out || opts->budget == 0 || opts->policy > LSIO_CACHE_LRU || (opts->flags & ~(uint64_t)LSIO_CACHE_LOCAL))
		return -EINVAL;
	lsio_cache *c = calloc(1, sizeof *c);
	if (!c) return -ENOMEM;
	c->nbuckets = 1024;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	c->budget = opts->budget;
	c->max_entry = opts->max_entry ? opts->max_entry : opts->budget / 8;
	c->policy = opts->policy;
	c->flags = opts->flags;
	c->st.budget = opts->budget;
	c->refs = 1;
	os_mutex_init(&c->mu);
	os_cond_init(&c->cv);
	*out = c;
	return 0;
}

LSIO_API lsio_cache *lsio_cache_retain(lsio_cache *c)
{
	if (c) __atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

LSIO_API void lsio_cache_release(lsio_cache *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
	for (uint64_t i = 0; i < c->nbuckets; i++) {
		for (centry *e = c->buckets[i], *next; e; e = next) {
			next = e->hnext;
			lsio_free_aligned(e->data);
			free(e);
		}
	}
	free(c->buckets);
	os_cond_destroy(&c->cv);
	os_mutex_destroy(&c->mu);
	free(c);
}

LSIO_API int lsio_cache_get_stats(lsio_cache *c, lsio_cache_stats *out)
{
	if (!c || !out) return -EINVAL;
	os_mutex_lock(&c->mu);
	*out = c->st;
	os_mutex_unlock(&c->mu);
	return 0;
}

LSIO_API void lsio_cache_clear(lsio_cache *c)
{
	if (!c) return;
	os_mutex_lock(&c->mu);
	while (c->small.tail) drop(c, c->small.tail);
	while (c->main.tail) drop(c, c->main.tail);
	while (c->ghost.tail) drop(c, c->ghost.tail);
	os_mutex_unlock(&c->mu);
}

/* ---- a batch's pass ---- */

static int cached_request(const cache_pass *p, const lsio_batch *b, uint64_t i)
{
	uint32_t f = b->file[i];
	return b->status[i] == 0 && b->length[i] != 0 && f < b->file_count && p->fhash[f] != 0;
}

static const char *path_of(const lsio_batch *b, uint32_t f) { return b->paths + b->path_offsets[f]; }

/* Is e's stamp that of the object as it is now (as far as both know)? */
static int fresh(const centry *e, int64_t size, int64_t mtime)
{
	if (e->size != LSIO_SIZE_UNKNOWN && size != LSIO_SIZE_UNKNOWN && e->size != size) return 0;
	if (e->mtime && mtime && e->mtime != mtime) return 0;
	return 1;
}

/* Entry for request i: held (data), being read, a ghost, or NULL; stale ones dropped. */
static centry *lookup(cache_pass *p, const lsio_batch *b, uint64_t i, uint64_t *h)
{
	lsio_cache *c = p->c;
	uint32_t f = b->file[i];
	const char *path = path_of(b, f);
	uint32_t plen = (uint32_t)strlen(path);
	*h = key_hash(p->fhash[f], b->offset[i], b->length[i]);
	centry *e = find(c, *h, path, plen, b->offset[i], b->length[i]);
	if (e && e->data && !fresh(e, p->fsize[f], p->fmtime[f])) {
		c->st.stale++;
		drop(c, e);
		e = NULL;
	}
	return e;
}

static void copy_out(lsio_batch *b, uint64_t i, const centry *e, tally *t)
{
	memcpy(dest_of(b, i), e->data, e->data_len);
	b->offset[i] = e->data_off;
	b->length[i] = e->data_len;
	t->chunks++;
	t->bytes += e->data_len;
}

int cache_begin(cache_pass *p, lsio_batch *b, const uint8_t *remote, uint32_t ops)
{
	lsio_cache *c = b->cache;
	*p = (cache_pass){0};
	p->c = c;
	p->role = calloc(b->count ? b->count : 1, 1);
	p->fhash = calloc(b->file_count ? b->file_count : 1, sizeof *p->fhash);
	p->fsize = malloc((b->file_count ? b->file_count : 1) * sizeof *p->fsize);
	p->fmtime = calloc(b->file_count ? b->file_count : 1, sizeof *p->fmtime);
	p->claimed = calloc(b->count ? b->count : 1, sizeof *p->claimed);
	if (!p->role || !p->fhash || !p->fsize || !p->fmtime || !p->claimed) {
		cache_end(p, b);
		return -ENOMEM;
	}
	int local = (c->flags & LSIO_CACHE_LOCAL) != 0;
	int nowait = (b->flags & LSIO_BATCH_NOWAIT) != 0;
	for (uint64_t f = 0; f < b->file_count; f++) {
		const char *path = path_of(b, (uint32_t)f);
		int is_remote = remote && remote[f];
		p->fsize[f] = LSIO_SIZE_UNKNOWN;
		if (is_remote) {
			if ((ops & (LSIO_OP_STAT | LSIO_OP_RESOLVE)) && b->file_size[f] >= 0) p->fsize[f] = b->file_size[f];
		} else if (local) {
			/* The version of a local file: its size and mtime now (one statx per file). */
			int64_t size, mtime;
			if (os_file_stamp(path, &size, &mtime) < 0) continue; /* read it, do not cache it */
			p->fsize[f] = size;
			p->fmtime[f] = mtime;
		} else {
			continue;
		}
		p->fhash[f] = hash_path(path, strlen(path));
	}
	tally t = {0};
	os_mutex_lock(&c->mu);
	for (uint64_t i = 0; i < b->count; i++) {
		if (!cached_request(p, b, i)) continue;
		uint64_t h;
		centry *e = lookup(p, b, i, &h);
		if (e && e->data) {
			touch(c, e);
			copy_out(b, i, e, &t);
			c->st.hits++;
			c->st.hit_bytes += e->data_len;
			b->status[i] = STATUS_CACHED;
			p->role[i] = R_SERVED;
			p->served++;
			continue;
		}
		if (e && e->queue == Q_NONE) { /* being read by a batch (perhaps this one: a duplicate) */
			if (nowait) continue; /* the hot path never blocks: read it again */
			b->status[i] = STATUS_WAIT;
			p->role[i] = R_WAIT;
			p->waiting++;
			continue;
		}
		uint32_t f = b->file[i];
		const char *path = path_of(b, f);
		if (e) { /* a ghost: read it, and keep it in main */
			q_remove(c, e);
			e->was_ghost = 1;
		} else {
			uint32_t plen = (uint32_t)strlen(path);
			e = calloc(1, sizeof *e + plen + 1);
			if (!e) continue; /* read, not cached */
			e->hash = h;
			e->off = b->offset[i];
			e->len = b->length[i];
			e->path_len = plen;
			memcpy(e->path, path, plen + 1);
			centry **s = slot(c, h);
			e->hnext = *s;
			*s = e;
			if (++c->nentries > c->nbuckets) grow(c);
		}
		e->size = p->fsize[f];
		e->mtime = p->fmtime[f];
		p->claimed[i] = e;
		p->role[i] = R_OWNER;
		p->owned++;
	}
	os_mutex_unlock(&c->mu);
	tally_flush(b, &t);
	return 0;
}

/* Keeps (or lets go of) the ranges this batch claimed, then wakes the waiters. */
static void keep_owned(cache_pass *p, lsio_batch *b)
{
	lsio_cache *c = p->c;
	os_mutex_lock(&c->mu);
	for (uint64_t i = 0; i < b->count; i++) {
		if (p->role[i] != R_OWNER) continue;
		/* By the entry claimed, not by the key: a suffix read may have moved the request's offset. */
		centry *e = p->claimed[i];
		c->st.misses++;
		c->st.miss_bytes += b->length[i];
		e->data_off = b->offset[i];
		e->data_len = b->length[i];
		if (b->status[i] != 0 || e->data_len > c->max_entry || cost(e) > c->budget) {
			drop(c, e);
			continue;
		}
		make_room(c, cost(e));
		e->data = lsio_alloc_aligned(64, e->data_len ? e->data_len : 1);
		if (!e->data) {
			drop(c, e);
			continue;
		}
		memcpy(e->data, dest_of(b, i), e->data_len);
		e->freq = 0;
		q_push(c, e, c->policy == LSIO_CACHE_LRU || e->was_ghost ? Q_MAIN : Q_SMALL);
		e->was_ghost = 0;
		c->st.inserts++;
		if (e->queue == Q_MAIN) trim_ghosts(c);
	}
	os_cond_broadcast(&c->cv);
	os_mutex_unlock(&c->mu);
}

uint64_t cache_collect(cache_pass *p, lsio_batch *b)
{
	lsio_cache *c = p->c;
	if (p->owned) keep_owned(p, b);
	if (!p->waiting) return 0;
	uint64_t reread = 0;
	tally t = {0};
	os_mutex_lock(&c->mu);
	for (uint64_t i = 0; i < b->count; i++) {
		if (p->role[i] != R_WAIT) continue;
		centry *e;
		uint64_t h;
		/* Every batch keeps what it claimed before it waits itself, so a wait never closes a cycle. */
		for (;;) {
			e = lookup(p, b, i, &h);
			if (!e || e->queue != Q_NONE || e->data) break;
			os_cond_wait(&c->cv, &c->mu);
		}
		if (e && e->data) {
			touch(c, e);
			copy_out(b, i, e, &t);
			c->st.waits++;
			c->st.hits++;
			c->st.hit_bytes += e->data_len;
			b->status[i] = STATUS_CACHED;
			p->role[i] = R_SERVED;
		} else if (live_load(b->cancel)) {
			chunk_finish(b, &t, i, -ECANCELED, 0);
			b->length[i] = 0;
			p->role[i] = R_NONE;
		} else { /* its reader failed or the range went: read it here */
			b->status[i] = STATUS_WAIT;
			p->role[i] = R_REREAD;
			reread++;
		}
	}
	os_mutex_unlock(&c->mu);
	tally_flush(b, &t);
	if (!reread) return 0;
	for (uint64_t i = 0; i < b->count; i++) {
		if (p->role[i] == R_REREAD) b->status[i] = 0;
		else if (b->status[i] == 0) b->status[i] = STATUS_ASIDE;
	}
	return reread;
}

void cache_end(cache_pass *p, lsio_batch *b)
{
	if (p->role) {
		for (uint64_t i = 0; i < b->count; i++)
			if (b->status[i] == STATUS_CACHED || b->status[i] == STATUS_ASIDE) b->status[i] = 0;
	}
	free(p->role);
	free(p->fhash);
	free(p->fsize);
	free(p->fmtime);
	free(p->claimed);
	*p = (cache_pass){0};
}
