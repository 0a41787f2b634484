/* reader.c — the reader handle and its service threads ("lanes").
 *
 * Local I/O of a reader happens on one thread that the reader owns, lane 0: it
 * creates the io_uring ring (so SINGLE_ISSUER/DEFER_TASKRUN hold) and runs
 * batches handed to it one at a time. A batch of remote objects only is mostly
 * waiting on the network, so a second lane (a thread with its own libcurl
 * multi handle, started the first time such a batch is queued) runs one of
 * those beside lane 0: a batch read ahead over a high-latency store then has
 * its transfers in flight while the batch before it still waits for its last
 * bytes. Callers block in lsio_run() — from JavaScript a nonblocking FFI call,
 * so the event loop stays free — or poll batch->state. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lanes: 0 runs every kind of batch (it owns the ring), the others remote-only batches. */
#define LANES 2

typedef struct lane {
	lsio_reader *r;
	int index;
	int started;
	os_thread thread;
	http_backend *http; /* remote objects: made on the lane's first batch that has one */
} lane;

/* A batch handed over, not yet taken by a lane. */
typedef struct queued {
	lsio_batch *b;
	uint32_t ops;
	int remote_only; /* every file is a remote object: any lane may run it */
} queued;

struct lsio_reader {
	lsio_reader_opts opts;
	lsio_reader_info info;
	uring_backend *uring;
	pool_backend *pool;
	fd_keep *keep; /* files kept open across batches, or NULL */
	s3_settings s3; /* how s3:// paths are reached (lsio_reader_set_s3) */
	char *ca_file;  /* the CAs https transfers trust (lsio_reader_set_tls); NULL: the system's */
	lane lanes[LANES]; /* inline readers: lane 0 only, run on the owner thread */
	os_mutex mu;
	os_cond cv;
	queued q[LANES]; /* FIFO of batches handed over */
	uint32_t queued_n;
	int busy0;    /* lane 0 is running a batch: only then does another lane take one */
	int ready;    /* lane 0 finished its setup */
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
	http_destroy(r->lanes[0].http);
	r->lanes[0].http = NULL;
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
static int read_live(lane *l, lsio_batch *b, uint32_t ops, int remote)
{
	lsio_reader *r = l->r;
	int direct = !remote && (r->opts.flags & LSIO_READER_DIRECT) != 0;
	plan pl, *p = NULL;
	int rc = 0;
	if (ops & LSIO_OP_PLAN) {
		/* Remote pieces: no more than the transfers in flight (local reads keep split_size). */
		uint32_t slots = remote ? r->info.remote_inflight : 0;
#if defined(__linux__)
		if (remote && l->http) slots = http_piece_slots(l->http);
#endif
		rc = plan_build(b, &pl, direct, slots);
		if (rc == 0) p = &pl;
		if (rc == 1) rc = 0; /* not in order: unplanned */
	}
	if (rc == 0) {
#if defined(__linux__)
		if (remote) rc = http_read(l->http, b, p, &r->s3, r->ca_file);
		else if (r->uring) rc = uring_read(r->uring, b, p, r->info.max_open_files, direct, r->keep);
		else
#endif
			rc = pool_read(r->pool, b, p, r->info.max_open_files, direct, r->keep);
	}
	if (p) plan_free(p);
	return rc;
}

/* The http backend, made on first use; -ELIBACC when libcurl cannot be loaded. */
static int http_ready(lane *l)
{
#if defined(__linux__)
	if (l->http) return 0;
	return http_create(&l->http, &l->r->info, l->r->opts.remote_inflight ? 0 : LSIO_DEFAULT_HTTP_INFLIGHT);
#else
	(void)l;
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
static void stat_remote(lane *l, lsio_batch *b, const uint8_t *remote, uint32_t ops)
{
	int rc = http_ready(l);
	uint8_t *need = rc == 0 ? size_needed(b, remote, ops) : NULL;
	if (rc == 0 && !need) rc = -ENOMEM;
	for (uint64_t f = 0; f < b->file_count; f++)
		if (remote[f]) b->file_size[f] = rc < 0 ? rc : LSIO_SIZE_UNKNOWN;
#if defined(__linux__)
	if (rc == 0) http_stat(l->http, b, need, &l->r->s3, l->r->ca_file);
#endif
	free(need);
}

/* Fails the live requests whose file index is out of range (a READ without
 * RESOLVE can bring them; the local backend fails them when it opens). */
static void fail_bad_files(lsio_batch *b)
{
	tally t = {0};
	for (uint64_t i = 0; i < b->count; i++) {
		if (b->status[i] != 0 || b->file[i] < b->file_count) continue;
		b->length[i] = 0;
		chunk_finish(b, &t, i, -EINVAL, 0);
	}
	tally_flush(b, &t);
}

/* READ of the live requests: local files, then remote objects (each side
 * parked while the other reads). A lane other than 0 has no local backend:
 * it only runs batches without local files. */
static int read_storages(lane *l, lsio_batch *b, uint32_t ops, const uint8_t *remote)
{
	if (!remote) return read_live(l, b, ops, 0);
	int rc = 0;
	if (l->index == 0) {
		park(b, remote, 1, 0, STATUS_PARKED);
		rc = read_live(l, b, ops, 0);
		park(b, remote, 1, STATUS_PARKED, 0);
	} else {
		fail_bad_files(b);
	}
	park(b, remote, 0, 0, STATUS_PARKED);
	int hr = http_ready(l);
	if (hr < 0) { /* no libcurl: every remote chunk fails with that */
		tally t = {0};
		for (uint64_t i = 0; i < b->count; i++) {
			if (b->status[i] != 0) continue;
			b->length[i] = 0;
			chunk_finish(b, &t, i, hr, 0);
		}
		tally_flush(b, &t);
	} else if (rc == 0) {
		rc = read_live(l, b, ops, 1);
	}
	park(b, remote, 0, STATUS_PARKED, 0);
	return rc;
}

static void run_batch(lane *l, lsio_batch *b, uint32_t ops)
{
	int rc = 0;
	uint8_t *remote = remote_files(b, &rc);
	/* The hot path's never-wait promise cannot hold for a network read. */
	if (remote && (b->flags & LSIO_BATCH_NOWAIT)) rc = -EOPNOTSUPP;
	if (rc == 0 && (ops & (LSIO_OP_STAT | LSIO_OP_RESOLVE))) {
		rc = batch_stat(b, remote);
		if (remote) stat_remote(l, b, remote, ops);
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
		if (rc == 0) rc = read_storages(l, b, ops, remote);
		/* Ranges another batch was reading and then could not keep: read here. */
		if (rc == 0 && cp.c && cache_collect(&cp, b)) rc = read_storages(l, b, ops, remote);
		if (cp.c) cache_end(&cp, b);
		lsio_cache_release(b->cache);
	}
	if (redo) redo_end(b);
	free(remote);
	b->result = rc;
	__atomic_store_n(&b->state, LSIO_STATE_DONE, __ATOMIC_RELEASE);
}

/* The first queued batch lane `index` may run, taken off the queue; 0 when
 * none. Lane 0 takes any; the others a remote-only one, and only while lane 0
 * is busy, so batches one after another stay on lane 0 and its connections. */
static int take(lsio_reader *r, int index, queued *out)
{
	if (index != 0 && !r->busy0) return 0;
	for (uint32_t i = 0; i < r->queued_n; i++) {
		if (index != 0 && !r->q[i].remote_only) continue;
		*out = r->q[i];
		memmove(&r->q[i], &r->q[i + 1], (r->queued_n - i - 1) * sizeof r->q[0]);
		r->queued_n--;
		return 1;
	}
	return 0;
}

/* A lane's thread: runs queued batches until the reader stops with nothing
 * left that this lane could take. Lane 0 first sets up the local backend. */
static void *lane_main(void *arg)
{
	lane *l = arg;
	lsio_reader *r = l->r;
	int rc = 0;
	if (l->index == 0) {
		rc = backend_init(r);
		os_mutex_lock(&r->mu);
		r->init_rc = rc;
		r->ready = 1;
		os_cond_broadcast(&r->cv);
	} else {
		os_mutex_lock(&r->mu);
	}
	while (rc == 0) {
		queued job;
		int got;
		while (!(got = take(r, l->index, &job)) && !r->stop) os_cond_wait(&r->cv, &r->mu);
		if (!got) break; /* stop, with nothing left queued for this lane */
		if (l->index == 0) r->busy0 = 1;
		os_cond_broadcast(&r->cv); /* a queue slot is free (a submitter), lane 0 is busy (the other lanes) */
		os_mutex_unlock(&r->mu);
		run_batch(l, job.b, job.ops);
		os_mutex_lock(&r->mu);
		if (l->index == 0) r->busy0 = 0;
		os_cond_broadcast(&r->cv); /* wakes lsio_wait() */
	}
	os_mutex_unlock(&r->mu);
	if (l->index == 0) {
		backend_destroy(r);
	} else {
#if defined(__linux__)
		http_destroy(l->http);
		l->http = NULL;
#endif
	}
	return NULL;
}

/* Every file of the batch is a remote object (and there is one). */
static int remote_only(const lsio_batch *b)
{
	if (!b->file_count || !b->paths || !b->path_offsets) return 0;
	for (uint64_t f = 0; f < b->file_count; f++)
		if (!is_remote_path(b->paths + b->path_offsets[f])) return 0;
	return 1;
}

LSIO_API int lsio_reader_open(const lsio_reader_opts *opts, lsio_reader **out)
{
	if (!out) return -EINVAL;
	*out = NULL;
	lsio_reader *r = calloc(1, sizeof *r);
	if (!r) return -ENOMEM;
	if (opts) r->opts = *opts;
	r->lanes[0] = (lane){.r = r, .index = 0}; /* an inline reader runs on it too */
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
	r->info.remote_inflight = r->opts.remote_inflight ? r->opts.remote_inflight : LSIO_DEFAULT_HTTP_INFLIGHT_MAX;
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
	for (int i = 0; i < LANES; i++) r->lanes[i] = (lane){.r = r, .index = i};
	int rc = os_thread_start(&r->lanes[0].thread, lane_main, &r->lanes[0]);
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
		os_thread_join(r->lanes[0].thread);
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
		free(r->ca_file);
		free(r);
		return;
	}
	os_mutex_lock(&r->mu);
	r->stop = 1;
	os_cond_broadcast(&r->cv);
	os_mutex_unlock(&r->mu);
	/* Each lane finishes its running batch and what is queued first. */
	for (int i = LANES - 1; i >= 0; i--)
		if (r->lanes[i].started || i == 0) os_thread_join(r->lanes[i].thread);
	os_cond_destroy(&r->cv);
	os_mutex_destroy(&r->mu);
	fd_keep_destroy(r->keep);
	s3_settings_free(&r->s3);
	free(r->ca_file);
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

LSIO_API int lsio_reader_set_tls(lsio_reader *r, const lsio_tls_config *cfg)
{
	if (!r || (cfg && cfg->flags)) return -EINVAL;
	char *ca = NULL;
	if (cfg && cfg->ca_file) {
		/* Refused now, not as every chunk's TLS error later. */
		FILE *f = fopen(cfg->ca_file, "rb");
		if (!f) return errno ? -errno : -ENOENT;
		fclose(f);
		size_t n = strlen(cfg->ca_file) + 1;
		ca = malloc(n);
		if (!ca) return -ENOMEM;
		memcpy(ca, cfg->ca_file, n);
	}
	free(r->ca_file);
	r->ca_file = ca;
	return 0;
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
		run_batch(&r->lanes[0], b, ops);
		return 0;
	}
	/* Remote-only batches that read may go to any lane; STAT alone (fileSizes) stays on lane 0. */
	int any_lane = (ops & LSIO_OP_READ) && remote_only(b);
	b->result = 0;
	__atomic_store_n(&b->state, LSIO_STATE_QUEUED, __ATOMIC_RELEASE);
	os_mutex_lock(&r->mu);
	while (r->queued_n == LANES && !r->stop) os_cond_wait(&r->cv, &r->mu);
	if (r->stop) {
		os_mutex_unlock(&r->mu);
		return -EBADF;
	}
	if (any_lane && (r->busy0 || r->queued_n > 0) && !r->lanes[1].started) {
		/* The second lane, on first need (lane 0 busy, or about to be with a batch it has not taken yet: two
		 * batches handed over back to back); without it lane 0 still runs everything. */
		if (os_thread_start(&r->lanes[1].thread, lane_main, &r->lanes[1]) == 0) r->lanes[1].started = 1;
	}
	r->q[r->queued_n++] = (queued){.b = b, .ops = ops, .remote_only = any_lane};
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
