/* reader.c — the reader handle and its service thread.
 *
 * All I/O of a reader happens on one thread that the reader owns: it creates
 * the io_uring ring (so SINGLE_ISSUER/DEFER_TASKRUN hold) and runs batches
 * handed to it one at a time. Callers block in lsio_run() — from JavaScript a
 * nonblocking FFI call, so the event loop stays free — or poll batch->state. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

struct lsio_reader {
	lsio_reader_opts opts;
	lsio_reader_info info;
	uring_backend *uring;
	pool_backend *pool;
	fd_keep *keep; /* files kept open across batches, or NULL */
#if defined(__linux__)
	http_backend *http; /* remote objects: made on the first batch that has one */
#endif
	s3_settings s3; /* how s3:// paths are reached (lsio_reader_set_s3) */
	os_thread thread;
	os_mutex mu;
	os_cond cv;
	lsio_batch *pending; /* handed over, not yet taken by the thread */
	uint32_t pending_ops;
	int ready;    /* service thread finished its setup */
	int init_rc;  /* its result */
	int stop;
	const void *owner; /* LSIO_READER_INLINE: the opener thread's marker, else NULL */
};

/* One address per thread: tells an inline reader's owner thread from others. */
static _Thread_local char thread_marker;

LSIO_API uint32_t lsio_abi_version(void) { return LSIO_ABI_VERSION; }

LSIO_API int lsio_pin_thread(int32_t cpu) { return os_pin_thread(cpu); }

static int backend_init(lsio_reader *r)
{
	uint32_t want = r->opts.backend;
#if defined(__linux__)
	if (want == LSIO_BACKEND_AUTO || want == LSIO_BACKEND_IO_URING) {
		int rc = uring_create(&r->uring, r->info.queue_depth, &r->info.ring_flags);
		if (rc == 0) {
			r->info.backend = LSIO_BACKEND_IO_URING;
			return 0;
		}
		/* Asked for io_uring explicitly: report why it is not there. */
		if (want == LSIO_BACKEND_IO_URING) return rc;
	}
#else
	if (want == LSIO_BACKEND_IO_URING) return -ENOSYS;
#endif
	r->info.backend = LSIO_BACKEND_THREADS;
	return pool_create(&r->pool, r->info.threads);
}

static void backend_destroy(lsio_reader *r)
{
#if defined(__linux__)
	uring_destroy(r->uring);
	http_destroy(r->http);
#endif
	pool_destroy(r->pool);
}

/* REDO_EAGAIN: -EAGAIN requests become readable again (and uncounted); the
 * others are parked until redo_end. */
static void redo_begin(lsio_batch *b)
{
	uint64_t again = 0;
	for (uint64_t i = 0; i < b->count; i++) {
		if (b->status[i] == -EAGAIN) {
			b->status[i] = 0;
			again++;
		} else if (b->status[i] == 0) {
			b->status[i] = STATUS_KEEP;
		}
	}
	live_add(b->chunks_done, -again);
	live_add(b->failed, -again);
}

static void redo_end(lsio_batch *b)
{
	for (uint64_t i = 0; i < b->count; i++)
		if (b->status[i] == STATUS_KEEP) b->status[i] = 0;
}

/* Which of the batch's files are remote objects (URLs): [file_count], or NULL
 * when none is (then nothing below costs more than this one scan). */
static uint8_t *remote_files(const lsio_batch *b, int *rc)
{
	uint8_t *remote = NULL;
	for (uint64_t f = 0; f < b->file_count; f++) {
		if (!is_remote_path(b->paths + b->path_offsets[f])) continue;
		if (!remote && !(remote = calloc(b->file_count, 1))) {
			*rc = -ENOMEM;
			return NULL;
		}
		remote[f] = 1;
	}
	return remote;
}

/* status `from` → `to` for the requests of the files whose remote[f] == which. */
static void park(lsio_batch *b, const uint8_t *remote, int which, int32_t from, int32_t to)
{
	for (uint64_t i = 0; i < b->count; i++) {
		uint32_t f = b->file[i];
		if (f < b->file_count && remote[f] == which && b->status[i] == from) b->status[i] = to;
	}
}

/* READ (planned when asked) of the live requests, by `storage`: local files
 * with the reader's backend, remote objects with its http backend. */
static int read_live(lsio_reader *r, lsio_batch *b, uint32_t ops, int remote)
{
	int direct = !remote && (r->opts.flags & LSIO_READER_DIRECT) != 0;
	plan pl, *p = NULL;
	int rc = 0;
	if (ops & LSIO_OP_PLAN) {
		/* Remote pieces: no more than the transfers in flight (local reads keep split_size). */
		rc = plan_build(b, &pl, direct, remote ? r->info.remote_inflight : 0);
		if (rc == 0) p = &pl;
		if (rc == 1) rc = 0; /* not in order: unplanned */
	}
	if (rc == 0) {
#if defined(__linux__)
		if (remote) rc = http_read(r->http, b, p, &r->s3);
		else if (r->uring) rc = uring_read(r->uring, b, p, r->info.max_open_files, direct, r->keep);
		else
#endif
			rc = pool_read(r->pool, b, p, r->info.max_open_files, direct, r->keep);
	}
	if (p) plan_free(p);
	return rc;
}

/* The http backend, made on first use; -ELIBACC when libcurl cannot be loaded. */
static int http_ready(lsio_reader *r)
{
#if defined(__linux__)
	if (r->http) return 0;
	return http_create(&r->http, &r->info);
#else
	(void)r;
	return -EPROTONOSUPPORT; /* remote objects: Linux builds only, for now */
#endif
}

/* Which remote files need their size taken (a HEAD each): for STAT alone
 * (fileSizes) all; for RESOLVE those with a range that counts from the end,
 * runs to the end or is empty, or when ranges past the end are clamped; a
 * pure suffix read in this call is a `bytes=-N` GET instead. The others keep
 * LSIO_SIZE_UNKNOWN and their GETs find out (416, a short object). */
static uint8_t *size_needed(const lsio_batch *b, const uint8_t *remote, uint32_t ops)
{
	uint8_t *need = malloc(b->file_count);
	if (!need) return NULL;
	int all = !(ops & LSIO_OP_RESOLVE) || (b->flags & LSIO_BATCH_TRUNCATE_EOF);
	for (uint64_t f = 0; f < b->file_count; f++) need[f] = remote[f] && all;
	if (all) return need;
	/* A pure suffix is asked as `bytes=-N` when this call (or, by the flag, a later one) reads it. */
	int lazy_suffix = (ops & LSIO_OP_READ) || (b->flags & LSIO_BATCH_LAZY_SUFFIX);
	for (uint64_t i = 0; i < b->count; i++) {
		uint32_t f = b->file[i];
		if (f >= b->file_count || !remote[f]) continue;
		if (lazy_suffix && b->start[i] < 0 && b->end[i] == LSIO_OPEN_END && (uint64_t)-b->start[i] <= b->length[i])
			continue;
		if (b->start[i] < 0 || b->end[i] < 0 || b->end[i] == LSIO_OPEN_END || b->end[i] <= b->start[i]) need[f] = 1;
	}
	return need;
}

/* STAT of the remote files (HEADs in parallel, only where a size is needed), or their error. */
static void stat_remote(lsio_reader *r, lsio_batch *b, const uint8_t *remote, uint32_t ops)
{
	int rc = http_ready(r);
	uint8_t *need = rc == 0 ? size_needed(b, remote, ops) : NULL;
	if (rc == 0 && !need) rc = -ENOMEM;
	for (uint64_t f = 0; f < b->file_count; f++)
		if (remote[f]) b->file_size[f] = rc < 0 ? rc : LSIO_SIZE_UNKNOWN;
#if defined(__linux__)
	if (rc == 0) http_stat(r->http, b, need, &r->s3);
#endif
	free(need);
}

/* READ of the live requests: local files, then remote objects (each side
 * parked while the other reads). */
static int read_storages(lsio_reader *r, lsio_batch *b, uint32_t ops, const uint8_t *remote)
{
	if (!remote) return read_live(r, b, ops, 0);
	park(b, remote, 1, 0, STATUS_PARKED);
	int rc = read_live(r, b, ops, 0);
	park(b, remote, 1, STATUS_PARKED, 0);
	park(b, remote, 0, 0, STATUS_PARKED);
	int hr = http_ready(r);
	if (hr < 0) { /* no libcurl: every remote chunk fails with that */
		tally t = {0};
		for (uint64_t i = 0; i < b->count; i++) {
			if (b->status[i] != 0) continue;
			b->length[i] = 0;
			chunk_finish(b, &t, i, hr, 0);
		}
		tally_flush(b, &t);
	} else if (rc == 0) {
		rc = read_live(r, b, ops, 1);
	}
	park(b, remote, 0, STATUS_PARKED, 0);
	return rc;
}

static void run_batch(lsio_reader *r, lsio_batch *b, uint32_t ops)
{
	int rc = 0;
	uint8_t *remote = remote_files(b, &rc);
	/* The hot path's never-wait promise cannot hold for a network read. */
	if (remote && (b->flags & LSIO_BATCH_NOWAIT)) rc = -EOPNOTSUPP;
	if (rc == 0 && (ops & (LSIO_OP_STAT | LSIO_OP_RESOLVE))) {
		rc = batch_stat(b, remote);
		if (remote) stat_remote(r, b, remote, ops);
	}
	if (rc == 0 && (ops & LSIO_OP_RESOLVE)) batch_resolve(b);
	if (rc == 0 && (ops & LSIO_OP_LAYOUT)) batch_layout(b);
	int redo = rc == 0 && (ops & LSIO_OP_READ) && (b->flags & LSIO_BATCH_REDO_EAGAIN);
	if (redo) redo_begin(b);
	if (rc == 0 && (ops & LSIO_OP_READ)) {
		cache_pass cp = {0};
		if (b->cache) {
			lsio_cache_retain(b->cache);
			rc = cache_begin(&cp, b, remote, ops);
		}
		if (rc == 0) rc = read_storages(r, b, ops, remote);
		/* Ranges another batch was reading and then could not keep: read here. */
		if (rc == 0 && cp.c && cache_collect(&cp, b)) rc = read_storages(r, b, ops, remote);
		if (cp.c) cache_end(&cp, b);
		lsio_cache_release(b->cache);
	}
	if (redo) redo_end(b);
	free(remote);
	b->result = rc;
	__atomic_store_n(&b->state, LSIO_STATE_DONE, __ATOMIC_RELEASE);
}

static void *service_main(void *arg)
{
	lsio_reader *r = arg;
	int rc = backend_init(r);
	os_mutex_lock(&r->mu);
	r->init_rc = rc;
	r->ready = 1;
	os_cond_broadcast(&r->cv);
	while (rc == 0) {
		while (!r->stop && !r->pending) os_cond_wait(&r->cv, &r->mu);
		if (!r->pending) break; /* stop, with nothing left queued */
		lsio_batch *b = r->pending;
		uint32_t ops = r->pending_ops;
		r->pending = NULL;
		os_mutex_unlock(&r->mu);
		run_batch(r, b, ops);
		os_mutex_lock(&r->mu);
		os_cond_broadcast(&r->cv); /* wakes lsio_wait() and queued submitters */
	}
	os_mutex_unlock(&r->mu);
	backend_destroy(r);
	return NULL;
}

LSIO_API int lsio_reader_open(const lsio_reader_opts *opts, lsio_reader **out)
{
	if (!out) return -EINVAL;
	*out = NULL;
	lsio_reader *r = calloc(1, sizeof *r);
	if (!r) return -ENOMEM;
	if (opts) r->opts = *opts;
	if (r->opts.backend > LSIO_BACKEND_THREADS || r->opts.queue_depth > LSIO_MAX_QUEUE_DEPTH ||
	    (r->opts.flags & ~(LSIO_READER_DIRECT | LSIO_READER_INLINE))) {
		free(r);
		return -EINVAL;
	}
	uint32_t qd = r->opts.queue_depth ? r->opts.queue_depth : LSIO_DEFAULT_QUEUE_DEPTH;
	/* Keep a margin of fds for the runtime itself (stdio, the ring, sockets). */
	uint32_t limit = os_fd_limit();
	uint32_t max_open = limit > 256 ? limit - 128 : limit / 2;
	if (r->opts.max_open_files && r->opts.max_open_files < max_open) max_open = r->opts.max_open_files;
	if (max_open < 2) max_open = 2;
	uint32_t keep = r->opts.keep_open < max_open / 2 ? r->opts.keep_open : max_open / 2;
	max_open -= keep; /* kept files and a batch's own files share the bound */
	if (qd >= max_open) qd = max_open - 1; /* every in-flight read pins one fd */
	r->info.queue_depth = qd;
	r->info.max_open_files = max_open;
	r->info.threads = r->opts.threads ? r->opts.threads : LSIO_DEFAULT_THREADS;
	if (r->info.threads >= max_open) r->info.threads = max_open - 1;
	r->info.abi_version = LSIO_ABI_VERSION;
	r->info.remote_inflight = r->opts.remote_inflight ? r->opts.remote_inflight : LSIO_DEFAULT_HTTP_INFLIGHT;
	r->info.remote_connections = r->opts.remote_connections ? r->opts.remote_connections : r->info.remote_inflight;
	r->info.remote_retries = r->opts.remote_retries ? r->opts.remote_retries - 1 : LSIO_DEFAULT_HTTP_RETRIES;
	r->info.remote_stall_ms = r->opts.remote_stall_ms ? r->opts.remote_stall_ms : LSIO_DEFAULT_HTTP_STALL_MS;
	r->info.remote_retry_ms = r->opts.remote_retry_ms ? r->opts.remote_retry_ms : LSIO_DEFAULT_HTTP_RETRY_MS;
	if (fd_keep_create(&r->keep, keep) < 0 || s3_settings_set(&r->s3, NULL) < 0) {
		fd_keep_destroy(r->keep);
		s3_settings_free(&r->s3);
		free(r);
		return -ENOMEM;
	}
	if (r->opts.flags & LSIO_READER_INLINE) {
		/* The ring is created here, on the thread that will submit to it. */
		int rc = backend_init(r);
		if (rc < 0) {
			fd_keep_destroy(r->keep);
			s3_settings_free(&r->s3);
			free(r);
			return rc;
		}
		r->owner = &thread_marker;
		*out = r;
		return 0;
	}
	os_mutex_init(&r->mu);
	os_cond_init(&r->cv);
	int rc = os_thread_start(&r->thread, service_main, r);
	if (rc < 0) {
		os_cond_destroy(&r->cv);
		os_mutex_destroy(&r->mu);
		fd_keep_destroy(r->keep);
		s3_settings_free(&r->s3);
		free(r);
		return rc;
	}
	os_mutex_lock(&r->mu);
	while (!r->ready) os_cond_wait(&r->cv, &r->mu);
	rc = r->init_rc;
	os_mutex_unlock(&r->mu);
	if (rc < 0) {
		os_thread_join(r->thread);
		os_cond_destroy(&r->cv);
		os_mutex_destroy(&r->mu);
		fd_keep_destroy(r->keep);
		s3_settings_free(&r->s3);
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

LSIO_API void lsio_reader_close(lsio_reader *r)
{
	if (!r) return;
	if (r->owner) {
		backend_destroy(r);
		fd_keep_destroy(r->keep);
		s3_settings_free(&r->s3);
		free(r);
		return;
	}
	os_mutex_lock(&r->mu);
	r->stop = 1;
	os_cond_broadcast(&r->cv);
	os_mutex_unlock(&r->mu);
	os_thread_join(r->thread); /* finishes a queued or running batch first */
	os_cond_destroy(&r->cv);
	os_mutex_destroy(&r->mu);
	fd_keep_destroy(r->keep);
	s3_settings_free(&r->s3);
	free(r);
}

LSIO_API int lsio_reader_get_info(lsio_reader *r, lsio_reader_info *info)
{
	if (!r || !info) return -EINVAL;
	*info = r->info;
	return 0;
}

LSIO_API int lsio_reader_set_s3(lsio_reader *r, const lsio_s3_config *cfg)
{
	if (!r) return -EINVAL;
	return s3_settings_set(&r->s3, cfg);
}

LSIO_API int lsio_submit(lsio_reader *r, lsio_batch *b, uint32_t ops)
{
	if (!r || !b) return -EINVAL;
	if (ops & ~(uint32_t)(LSIO_OP_STAT | LSIO_OP_RESOLVE | LSIO_OP_LAYOUT | LSIO_OP_READ | LSIO_OP_PLAN)) return -EINVAL;
	if ((ops & (LSIO_OP_STAT | LSIO_OP_RESOLVE)) && b->file_count && (!b->paths || !b->path_offsets || !b->file_size))
		return -EINVAL;
	if ((ops & (LSIO_OP_RESOLVE | LSIO_OP_LAYOUT | LSIO_OP_READ)) && b->count &&
	    (!b->file || !b->start || !b->end || !b->dest || !b->offset || !b->length || !b->status))
		return -EINVAL;
	if ((b->flags & LSIO_BATCH_NOWAIT) && (r->info.backend != LSIO_BACKEND_IO_URING || (r->opts.flags & LSIO_READER_DIRECT)))
		return -EOPNOTSUPP;
	if (r->owner) { /* inline: run it here and now, on the owner thread only */
		if (r->owner != &thread_marker) return -EPERM;
		b->result = 0;
		run_batch(r, b, ops);
		return 0;
	}
	b->result = 0;
	__atomic_store_n(&b->state, LSIO_STATE_QUEUED, __ATOMIC_RELEASE);
	os_mutex_lock(&r->mu);
	while (r->pending && !r->stop) os_cond_wait(&r->cv, &r->mu); /* one queued batch at a time */
	if (r->stop) {
		os_mutex_unlock(&r->mu);
		return -EBADF;
	}
	r->pending = b;
	r->pending_ops = ops;
	os_cond_broadcast(&r->cv);
	os_mutex_unlock(&r->mu);
	return 0;
}

LSIO_API int lsio_wait(lsio_reader *r, lsio_batch *b)
{
	if (!r || !b) return -EINVAL;
	if (r->owner) return (int)b->result; /* inline batches are done when submit returns */
	os_mutex_lock(&r->mu);
	while (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == LSIO_STATE_QUEUED) os_cond_wait(&r->cv, &r->mu);
	os_mutex_unlock(&r->mu);
	return (int)b->result;
}

LSIO_API int lsio_run(lsio_reader *r, lsio_batch *b, uint32_t ops)
{
	int rc = lsio_submit(r, b, ops);
	return rc < 0 ? rc : lsio_wait(r, b);
}
