/* internal.h — shared between the LSIO C sources; not part of the ABI. */
#ifndef LSIO_INTERNAL_H
#define LSIO_INTERNAL_H

#include "lsio.h"
#include "os.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/* Statuses a request holds for a while inside one batch: READ and the
 * planner skip any nonzero status, so these set a request aside. */
#define STATUS_KEEP 1   /* read already, while a REDO_EAGAIN run reads the rest (reader.c) */
#define STATUS_PARKED 2 /* the other storage's, while one storage reads (reader.c) */
#define STATUS_CACHED 3 /* served from the RAM cache (cache.c) */
#define STATUS_WAIT 4   /* another batch is reading its range (cache.c) */
#define STATUS_ASIDE 5  /* settled, while the cache's leftovers are read (cache.c) */

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
	int mode; /* OS_OPEN_* */
	struct fd_keep *keep; /* take fds from / give them back to it (NULL: open and close) */
	os_mutex *lock; /* non-NULL when shared between threads */
} file_cache;

/* keep.c: files kept open across batches (NULL: none). */
typedef struct fd_keep fd_keep;
int fd_keep_create(fd_keep **out, uint32_t cap);
/* 1 and the fd (now the caller's) when `path` is kept, else 0. */
int fd_keep_take(fd_keep *k, const char *path, os_file *fd, uint32_t *dio_align);
/* Keeps fd for `path` (closing the least recent when full; closing fd when k is NULL). */
void fd_keep_put(fd_keep *k, const char *path, os_file fd, uint32_t dio_align);
void fd_keep_destroy(fd_keep *k);

int file_cache_init(file_cache *c, const lsio_batch *b, uint32_t cap, int mode, os_mutex *lock);
void file_cache_destroy(file_cache *c);
/* Pins the file's fd (opening it, evicting the LRU unpinned one when full).
 * Returns the slot index, -errno, or -EAGAIN when every slot is pinned. */
int file_cache_acquire(file_cache *c, uint32_t file);
void file_cache_release(file_cache *c, int slot);

/* ---- resolve.c ---- */
int batch_stat(lsio_batch *b, const uint8_t *remote);
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
struct plan;
typedef struct uring_backend uring_backend;
int uring_create(uring_backend **out, uint32_t queue_depth, uint32_t *ring_flags);
void uring_destroy(uring_backend *u);
int uring_read(uring_backend *u, lsio_batch *b, struct plan *p, uint32_t max_open, int direct, struct fd_keep *keep);

typedef struct pool_backend pool_backend;
int pool_create(pool_backend **out, uint32_t threads);
void pool_destroy(pool_backend *p);
int pool_read(pool_backend *pool, lsio_batch *b, struct plan *p, uint32_t max_open, int direct, struct fd_keep *keep);

/* A remote object's size not taken (no range needed it): file_size[f] says
 * this and RESOLVE takes explicit ranges as they are. */
#define LSIO_SIZE_UNKNOWN INT64_MAX

/* Remote objects: paths that are http://, https:// or s3:// URLs (resolve.c). */
int is_remote_path(const char *path);
static inline int is_s3_path(const char *path) { return path[0] == 's' && path[1] == '3' && path[2] == ':' && path[3] == '/' && path[4] == '/'; }

/* s3.c: a reader's S3 settings, copied from lsio_s3_config. */
typedef struct s3_settings {
	char *endpoint;      /* without a trailing '/'; NULL: AWS */
	char *region;
	char *access_key;    /* NULL: unsigned requests */
	char *secret_key;
	char *session_token; /* NULL: none */
	char *token_header;  /* "x-amz-security-token: …", or NULL */
	uint64_t flags;      /* LSIO_S3_* */
} s3_settings;
int s3_settings_set(s3_settings *s, const lsio_s3_config *cfg);
void s3_settings_free(s3_settings *s);
/* The https URL of s3://bucket/key into *buf (grown as needed). */
int s3_url(const s3_settings *s, const char *path, char **buf, size_t *cap);

/* sigv4.c: SHA-256, HMAC-SHA256 and the SigV4 signature of an S3 GET or HEAD
 * (no body, no query; signed: host, x-amz-content-sha256: UNSIGNED-PAYLOAD,
 * x-amz-date and the session token). */
void lsio_sha256(const void *data, size_t n, uint8_t out[32]);
void lsio_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n, uint8_t out[32]);
/* The signing key of the last day signed, per thread (no locks: a run's own). */
typedef struct sigv4_cache {
	const s3_settings *settings;
	char day[8];
	int valid;
	uint8_t key[32];
} sigv4_cache;
#define SIGV4_DATE_HEADER 32 /* "x-amz-date: YYYYMMDDTHHMMSSZ" */
/* Writes the "x-amz-date: …" and "Authorization: …" header lines of a
 * request of `method` to `url` (s3_url's) at `now`; 0 or -errno. */
int sigv4_sign(const s3_settings *s, sigv4_cache *cache, const char *method, const char *url, time_t now,
	       char date_header[SIGV4_DATE_HEADER], char *auth_header, size_t auth_size);

/* cache.c: one batch's pass through its lsio_cache (b->cache). */
typedef struct cache_pass {
	lsio_cache *c;
	uint8_t *role;    /* [count] what the cache does with each request */
	uint64_t *fhash;  /* [file_count] path hash; 0: the file is not cached */
	int64_t *fsize;   /* [file_count] size, LSIO_SIZE_UNKNOWN where not known */
	int64_t *fmtime;  /* [file_count] modification time, 0 where not known */
	struct centry **claimed; /* [count] the entry each request this batch reads will fill */
	uint64_t served, owned, waiting;
} cache_pass;
/* Before READ: serves the ranges held (STATUS_CACHED, counted as done),
 * claims the ranges no batch is reading (this batch reads them), sets aside
 * those another batch is reading (STATUS_WAIT). 0 or -ENOMEM. */
int cache_begin(cache_pass *p, lsio_batch *b, const uint8_t *remote, uint32_t ops);
/* After READ: keeps what it read, then takes what the others read. Returns
 * how many requests are still to be read (their status 0; every other
 * settled request is STATUS_ASIDE until cache_end). */
uint64_t cache_collect(cache_pass *p, lsio_batch *b);
/* Settles the served and set-aside requests; frees the pass. */
void cache_end(cache_pass *p, lsio_batch *b);

/* http.c (Linux): remote objects through libcurl, loaded at run time. */
/* Transfers in flight when a reader does not say: small GETs start at 64 (on
 * 127.0.0.1 more only cost CPU) and double up to 256 while that adds 25 % to
 * the batch's bytes/s and the thread is not CPU-bound (a store 10 ms away:
 * 6.4 k GETs/s at 64); large ones are paced from 4 per thread under the same
 * cap (pace.h). */
#define LSIO_DEFAULT_HTTP_INFLIGHT 64
#define LSIO_DEFAULT_HTTP_INFLIGHT_MAX 256
#define LSIO_DEFAULT_HTTP_RETRIES 5
#define LSIO_DEFAULT_HTTP_STALL_MS 30000
#define LSIO_DEFAULT_HTTP_RETRY_MS 30000
typedef struct http_backend http_backend;
/* 0 when libcurl can be loaded, else -ELIBACC (not installed) or -ELIBBAD. */
int http_available(void);
/* Limits from the reader's info (remote_*); `start`: small GETs start at this
 * many in flight and double up to remote_inflight while that pays (pace.h;
 * 0: remote_inflight throughout, as when a reader sets it). */
int http_create(http_backend **out, const lsio_reader_info *limits, uint32_t start);
void http_destroy(http_backend *hb);
/* HEADs every file f with need[f]: file_size[f] = its size or -errno. */
int http_stat(http_backend *hb, lsio_batch *b, const uint8_t *need, const s3_settings *s3, const char *ca_file);
/* Reads every live unit (the caller parks the requests of local files). */
int http_read(http_backend *hb, lsio_batch *b, struct plan *p, const s3_settings *s3, const char *ca_file);
/* Pieces worth cutting a batch's large requests into: the transfers in flight
 * its runs will keep — the level recent paced runs settled on (pace.h) when one
 * is fresh, else `remote_inflight`. More pieces than transfers only cost GETs
 * (and, on some servers, the slower path of a partial range). */
uint32_t http_piece_slots(const http_backend *hb);

/* Register the batch's files with the ring only when it reads each file at
 * least this many times on average (registration is a syscall per file). */
#define LSIO_FIXED_FILES_MIN_READS 16u

/* Size of the gap sink that VEC reads share (gaps take several iovecs if longer). */
#define LSIO_SCRATCH_BYTES (64u << 10)
/* iovecs per readv; a unit needing more continues in a further read. */
#define LSIO_IOV_CAP 256u

#endif
