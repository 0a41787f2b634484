/*
 * lsio.h — light-speed-io native core: read many byte ranges of many files in
 * one call.
 *
 * Shaped like liburing's API: opaque handles, plain integer structs, every
 * function returns 0 (or a count) on success and -errno on failure.
 *
 * A batch is a struct of arrays owned by the caller (in LSIO's case: typed
 * arrays in JavaScript). C never allocates per request and the caller crosses
 * the FFI boundary once per batch, never per chunk.
 *
 * Threading: every I/O of a reader runs on the reader's own service thread,
 * which owns the io_uring ring (so IORING_SETUP_SINGLE_ISSUER holds). Callers
 * on any thread hand a batch over with lsio_run() (blocks until done) or
 * lsio_submit() + polling batch->state / lsio_wait(). An LSIO_READER_INLINE
 * reader has no service thread: its opener thread runs every batch itself.
 */
#ifndef LSIO_H
#define LSIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LSIO_API __declspec(dllexport)
#else
#define LSIO_API __attribute__((visibility("default")))
#endif

#define LSIO_ABI_VERSION 7

/* Backends (lsio_reader_opts.backend, lsio_reader_info.backend). */
enum {
	LSIO_BACKEND_AUTO = 0,     /* io_uring when the kernel allows it, else threads */
	LSIO_BACKEND_IO_URING = 1, /* Linux io_uring, one ring on the service thread */
	LSIO_BACKEND_THREADS = 2,  /* portable: a pthread pool doing pread() */
};

/* Reader flags (lsio_reader_opts.flags). */
#define LSIO_READER_DIRECT (1u << 0) /* open files with O_DIRECT (F_NOCACHE on macOS) */
/* No service thread: batches run on the calling thread, which must be the
 * thread that opened the reader (it owns the ring; other threads get -EPERM).
 * For worker threads that read and then process each chunk on their own core. */
#define LSIO_READER_INLINE (1u << 1)

/* Batch flags (lsio_batch.flags). */
#define LSIO_BATCH_TRUNCATE_EOF (1u << 0) /* clamp ranges past EOF instead of failing them */
#define LSIO_BATCH_PLAN_COPY (1u << 1)    /* planned reads with gaps: one read into a bounce buffer, then copy out (not readv) */
#define LSIO_BATCH_PLAN_IF_ORDERED (1u << 2) /* plan only when requests already come in (file, offset) order */
/* Serve the batch from the page cache only, never waiting for a device: a
 * read whose data is not cached (RWF_NOWAIT) and a file whose path is not in
 * the dentry cache (RESOLVE_CACHED) finish with -EAGAIN at once. For running
 * small batches on a thread that must not block (a JavaScript event loop).
 * io_uring backend, buffered readers only (else lsio_submit gives -EOPNOTSUPP). */
#define LSIO_BATCH_NOWAIT (1u << 3)
/* READ reads only the requests whose status is -EAGAIN (what a NOWAIT run left
 * undone); the others keep their status and are not counted again. */
#define LSIO_BATCH_REDO_EAGAIN (1u << 4)
/* RESOLVE without READ (a caller that reads in a later call): a pure suffix
 * (start < 0, end == LSIO_OPEN_END) of a remote object is not sized by a HEAD;
 * its offset stays LSIO_OPEN_END - N and its length N (at most) until READ,
 * whose `Range: bytes=-N` GET tells the real ones. RESOLVE with READ in the
 * same call always does this. */
#define LSIO_BATCH_LAZY_SUFFIX (1u << 5)

/* Operations for lsio_run()/lsio_submit(); OR them together. */
#define LSIO_OP_STAT (1u << 0)    /* file_size[f] = size or -errno, for every file */
#define LSIO_OP_RESOLVE (1u << 1) /* offset/length/status from start/end (implies STAT) */
#define LSIO_OP_LAYOUT (1u << 2)  /* dest[i] = aligned slab offsets; sets layout_bytes */
#define LSIO_OP_READ (1u << 3)    /* read every request whose status is 0 */
#define LSIO_OP_PLAN (1u << 4)    /* with READ: plan first (merge, split, dedupe: see merge_gap etc.) */

/* lsio_batch.end value meaning "to the end of the file". */
#define LSIO_OPEN_END INT64_MAX

/* lsio_batch.state */
enum { LSIO_STATE_NEW = 0, LSIO_STATE_QUEUED = 1, LSIO_STATE_DONE = 2 };

typedef struct lsio_reader lsio_reader;

typedef struct lsio_reader_opts {
	uint32_t backend;        /* LSIO_BACKEND_* */
	uint32_t queue_depth;    /* reads in flight; 0 = default (128) */
	uint32_t flags;          /* LSIO_READER_* */
	uint32_t threads;        /* threads backend: pool size; 0 = default (16) */
	uint32_t max_open_files; /* fd cache bound; 0 = from RLIMIT_NOFILE */
	/* Files kept open from one batch to the next (0: none, every batch opens
	 * its files). Saves an open per file per batch for batches that keep
	 * coming back to the same files (Zarr shards); a path replaced on disk
	 * meanwhile is still read from the file it named when it was kept. At
	 * most half of the fd bound; the rest stays for each batch's own files. */
	uint32_t keep_open;
	/* Remote objects (http://, https://, s3:// paths; Linux, libcurl loaded
	 * at run time). 0 takes each default. A batch of remote objects only may
	 * run on a second service thread while the first is busy (two such
	 * batches at once per reader); each thread has its own transfers and
	 * connection pool, so the bounds below hold per thread. */
	uint32_t remote_inflight;    /* transfers in flight at once (default 64) */
	uint32_t remote_connections; /* connections to one host at most (default: remote_inflight) */
	uint32_t remote_retries;     /* retries + 1 after a retryable failure (default: 5 retries) */
	uint32_t remote_stall_ms;    /* a transfer under 1 byte/s this long fails, -ETIMEDOUT (default 30000) */
	uint32_t remote_retry_ms;    /* no retry starts later than this after a chunk's first try (default 30000) */
} lsio_reader_opts;

typedef struct lsio_reader_info {
	uint32_t backend;        /* the backend actually in use */
	uint32_t queue_depth;
	uint32_t ring_flags;     /* IORING_SETUP_* the kernel accepted */
	uint32_t max_open_files;
	uint32_t threads;
	uint32_t abi_version;
	/* The remote settings in force (remote_retries: the count, not + 1). */
	uint32_t remote_inflight;
	uint32_t remote_connections;
	uint32_t remote_retries;
	uint32_t remote_stall_ms;
	uint32_t remote_retry_ms;
} lsio_reader_info;

/*
 * One batch of requests, as arrays. Every field is 64 bits wide so a caller
 * can fill it as a uint64 array. Per-request arrays have `count` entries,
 * per-file arrays `file_count`.
 *
 * Range rules (RESOLVE): start < 0 counts from the end of the file; end < 0
 * too; end == LSIO_OPEN_END reads to EOF. A remote object's size is taken
 * (HEAD) only when a range needs it: explicit ranges are read as they are,
 * and a pure suffix is sent as `Range: bytes=-N` (see LSIO_BATCH_LAZY_SUFFIX). A pure suffix (start < 0, end ==
 * LSIO_OPEN_END) longer than the file reads the whole file, as HTTP suffix
 * ranges do. Any other range that starts before byte 0 or ends past EOF fails
 * with -ERANGE, or is clamped with LSIO_BATCH_TRUNCATE_EOF.
 * A file that shrinks between RESOLVE and READ fails its chunks with -ENODATA.
 * A resolved length larger than the caller's capacity (length[] on input)
 * fails with -ENOBUFS. Cancelled chunks get -ECANCELED.
 */
typedef struct lsio_batch {
	/* inputs */
	uint64_t count;               /* requests */
	uint64_t file_count;          /* distinct files */
	const char *paths;            /* NUL-terminated paths, back to back */
	const uint64_t *path_offsets; /* [file_count] where each path starts in `paths` */
	const uint32_t *file;         /* [count] index into the files */
	const int64_t *start;         /* [count] range start (negative: from the end) */
	const int64_t *end;           /* [count] range end, exclusive (negative: from the end) */
	uint8_t *dest_base;           /* non-NULL: dest[] are offsets from here */
	uint64_t *dest;               /* [count] destination address (or offset) */
	/* outputs */
	uint64_t *offset;    /* [count] resolved absolute file offset */
	uint64_t *length;    /* [count] in: capacity (UINT64_MAX: any); out: bytes */
	int32_t *status;     /* [count] 0 or -errno */
	int64_t *file_size;  /* [file_count] size in bytes, or -errno */
	uint64_t flags;         /* LSIO_BATCH_* */
	uint64_t layout_align;  /* LAYOUT: alignment of each chunk (0 = 64) */
	uint64_t layout_bytes;  /* LAYOUT out: slab size needed, padded */
	/* live counters, written by C with relaxed atomics while the batch runs */
	uint64_t chunks_done;
	uint64_t bytes_done;
	uint64_t misaligned;    /* destinations not aligned to 64 bytes */
	uint64_t failed;        /* chunks whose status is not 0 */
	uint64_t reads_issued;  /* read syscalls / SQEs issued */
	uint64_t cancel;        /* set non-zero by the caller to stop the batch */
	uint64_t state;         /* LSIO_STATE_* (release-stored by C) */
	int64_t result;         /* batch-level result: 0 or -errno */
	/* planning (LSIO_OP_PLAN) */
	uint64_t merge_gap;  /* merge reads of one file whose gap is <= this many bytes */
	uint64_t merge_max;  /* ... while the merged read stays <= this (0: no merging) */
	uint64_t split_size; /* split reads longer than this into pieces in flight at once (0: never) */
	uint64_t plan_reads; /* out: reads the plan made of the requests */
	uint64_t plan_bytes; /* out: bytes those reads cover (gaps included) */
	uint64_t plan_ns;    /* out: time spent planning */
	/* remote objects: why chunks failed, for the messages (NULL: not wanted) */
	struct lsio_remote_error *remote_errors; /* [remote_errors_cap], filled in order of failure */
	uint64_t remote_errors_cap;
	uint64_t remote_errors_count; /* out: records written (at most cap; later failures are not described) */
	/* READ serves ranges held by this RAM cache without I/O and keeps the
	 * ranges it reads there (lsio_cache_open); NULL: none. The caller keeps
	 * a reference (lsio_cache_retain) while the batch runs. */
	struct lsio_cache *cache;
} lsio_batch;

/* Why a remote chunk (or a remote file's size query) failed: the HTTP status
 * and the server's error code (S3's <Code>), or libcurl's error text. 64 bytes. */
typedef struct lsio_remote_error {
	uint64_t request;     /* the request, or UINT64_MAX: the size query (HEAD) of `file` */
	uint64_t file;
	int32_t http_status;  /* 0: no response (see code: libcurl's error) */
	int32_t status;       /* the -errno the chunk got */
	char code[40];        /* NUL-terminated: "SlowDown", "NoSuchKey", "Couldn't connect to server", … */
} lsio_remote_error;

/* S3 addressing (lsio_s3_config.flags). */
#define LSIO_S3_PATH_STYLE (1u << 0) /* ENDPOINT/bucket/key, not bucket.HOST/key */

/*
 * How a reader reaches s3://bucket/key paths: the endpoint, the region and the
 * credentials requests are signed with (AWS Signature V4). Every field is 64
 * bits wide; strings are NUL-terminated and copied by lsio_reader_set_s3(), so
 * the caller may free them when it returns. No access key: requests go
 * unsigned (public buckets).
 */
typedef struct lsio_s3_config {
	const char *endpoint;          /* "http://127.0.0.1:7070"; NULL: https://s3.REGION.amazonaws.com */
	const char *region;            /* NULL: "us-east-1" */
	const char *access_key_id;     /* NULL or "": anonymous */
	const char *secret_access_key;
	const char *session_token;     /* NULL: none (x-amz-security-token) */
	uint64_t flags;                /* LSIO_S3_* */
} lsio_s3_config;

LSIO_API uint32_t lsio_abi_version(void);
LSIO_API int lsio_reader_open(const lsio_reader_opts *opts, lsio_reader **out);
LSIO_API void lsio_reader_close(lsio_reader *reader);
LSIO_API int lsio_reader_get_info(lsio_reader *reader, lsio_reader_info *info);
/* Sets how the reader reaches s3:// paths (NULL: back to the defaults). Call
 * it before the reader's first batch or between batches, never while one runs. */
LSIO_API int lsio_reader_set_s3(lsio_reader *reader, const lsio_s3_config *cfg);

/*
 * TLS of the reader's https:// transfers (and of s3:// over an https
 * endpoint). Every field is 64 bits wide; the string is copied.
 */
typedef struct lsio_tls_config {
	const char *ca_file; /* a PEM bundle of the CAs to trust instead of the system's; NULL: the system's */
	uint64_t flags;      /* none yet: 0 */
} lsio_tls_config;

/* Sets the reader's TLS settings (NULL: back to the defaults); -ENOENT when
 * ca_file is not a readable file, -EINVAL for unknown flags. Call it as
 * lsio_reader_set_s3: before the first batch or between batches. */
LSIO_API int lsio_reader_set_tls(lsio_reader *reader, const lsio_tls_config *cfg);

/* Runs `ops` on `batch` on the reader's thread and waits. Returns batch->result. */
LSIO_API int lsio_run(lsio_reader *reader, lsio_batch *batch, uint32_t ops);
/* Queues `ops` on `batch` and returns at once; batch->state turns DONE later. */
LSIO_API int lsio_submit(lsio_reader *reader, lsio_batch *batch, uint32_t ops);
/* Waits until a submitted batch is done. Returns batch->result. */
LSIO_API int lsio_wait(lsio_reader *reader, lsio_batch *batch);

/* Pins the calling thread to one CPU (sched_setaffinity); -ENOSYS elsewhere. */
LSIO_API int lsio_pin_thread(int32_t cpu);

/* ---- Reductions over chunks already in memory (lsio_reduce) ----
 * Run right after a batch read them, while they are still in cache: one call
 * per batch, vectorised loops per dtype, no callback per chunk. */

/* Element types (lsio_reduction.dtype), little-endian. */
enum {
	LSIO_DTYPE_INT8 = 1,
	LSIO_DTYPE_UINT8 = 2,
	LSIO_DTYPE_INT16 = 3,
	LSIO_DTYPE_UINT16 = 4,
	LSIO_DTYPE_INT32 = 5,
	LSIO_DTYPE_UINT32 = 6,
	LSIO_DTYPE_INT64 = 7,
	LSIO_DTYPE_UINT64 = 8,
	LSIO_DTYPE_FLOAT32 = 9,
	LSIO_DTYPE_FLOAT64 = 10,
};

/* What lsio_reduce() computes (lsio_reduction.ops); OR them together. */
#define LSIO_REDUCE_SUM (1u << 0)    /* sum, elements (and chunk_sum[] when given) */
#define LSIO_REDUCE_MINMAX (1u << 1) /* min, max of the non-NaN elements */
#define LSIO_REDUCE_HIST (1u << 2)   /* hist[] over [hist_lo, hist_hi), below/above outside it */

/*
 * One reduction over `count` chunks: chunk i is length[i] bytes at
 * base + offset[i] (a trailing partial element is ignored). Every field is 64
 * bits wide. The results accumulate across calls: zero the struct once and set
 * min = +inf, max = -inf; call lsio_reduce() for each batch; combine the
 * structs of several threads by adding sums and counts and taking min/max.
 * NaNs count in `nans` (and make `sum` NaN), never in min/max/hist.
 * 8-32 bit integers are summed exactly per chunk (int64), then added as
 * doubles; 64-bit integers are summed as doubles (no wrap; rounds past 2^53).
 */
typedef struct lsio_reduction {
	/* inputs */
	uint64_t count;          /* chunks */
	const uint8_t *base;     /* chunk i starts at base + offset[i] */
	const uint64_t *offset;  /* [count] */
	const uint64_t *length;  /* [count] bytes */
	const int32_t *status;   /* [count] or NULL: chunks whose status is not 0 are skipped */
	uint64_t dtype;          /* LSIO_DTYPE_* */
	uint64_t ops;            /* LSIO_REDUCE_* */
	double *chunk_sum;       /* [count] or NULL: with SUM, each chunk's own sum */
	double hist_lo;          /* HIST: range and bins */
	double hist_hi;
	uint64_t bins;
	uint64_t *hist;          /* [bins] counts, accumulated */
	/* results, accumulated */
	double sum;
	double min;
	double max;
	uint64_t elements;       /* elements seen (NaNs included) */
	uint64_t nans;
	uint64_t below;          /* HIST: elements < hist_lo */
	uint64_t above;          /* HIST: elements >= hist_hi */
	uint64_t chunks;         /* chunks reduced */
} lsio_reduction;

/* Returns 0, or -EINVAL for a bad dtype/ops/NULL array. */
LSIO_API int lsio_reduce(lsio_reduction *r);

/* ---- Copying chunks' parts of boxes (lsio_copy_boxes) ----
 * The raw-chunk path of an n-d reader: each chunk (C order, shape `inner`)
 * contributes the part of its request's box [lo, lo + extent) that it covers;
 * the box is laid out C order from element bases[request] of `out`. One call
 * per batch of chunks; rows are memcpy'd or converted to float32/float64 as
 * (value - shift) * scale — a float output of the chunks' own type is scaled
 * too unless scale is 1 and shift 0; an integer output (the chunks' own type)
 * is a copy, scale and shift unused. Every field is 64 bits wide. */
typedef struct lsio_box_copy {
	uint64_t count;          /* chunks */
	uint64_t ndim;           /* at most 32 */
	const uint8_t *base;     /* chunk k's elements at base + offset[k] */
	const uint64_t *offset;  /* [count] */
	const int32_t *status;   /* [count] or NULL: chunks whose status is not 0 are skipped */
	const uint32_t *request; /* [count] or NULL: chunk k belongs to request first + k */
	uint64_t first;
	const int64_t *inner;    /* [ndim] chunk shape */
	const int64_t *extent;   /* [ndim] every box's shape */
	const int32_t *origins;  /* [requests * ndim] each request's chunk origin (array coordinates) */
	const int32_t *los;      /* [requests * ndim] each request's box low corner */
	const double *bases;     /* [requests] each request's box start in out (elements) */
	uint8_t *out;
	uint64_t dtype;          /* LSIO_DTYPE_* of the chunks */
	uint64_t out_dtype;      /* dtype, or LSIO_DTYPE_FLOAT32 / LSIO_DTYPE_FLOAT64 to convert */
	double scale;
	double shift;
	uint64_t codec;          /* LSIO_CHUNK_RAW, or LSIO_CHUNK_ZSTD: each chunk is one zstd frame */
	const uint64_t *length;  /* [count] bytes of each chunk (ZSTD; RAW: NULL or checked) */
	uint64_t failed;         /* out: index of the chunk that failed (on -EBADMSG / -EMSGSIZE) */
} lsio_box_copy;

/* lsio_box_copy.codec */
enum { LSIO_CHUNK_RAW = 0, LSIO_CHUNK_ZSTD = 1 };

/* Returns 0; -EINVAL for a bad dtype/rank/NULL array; -EMSGSIZE when a chunk
 * (raw, or decompressed) is not inner-shape sized, -EBADMSG when a zstd frame
 * does not decode (c->failed names the chunk); -ENOTSUP for zstd in builds
 * without it. */
LSIO_API int lsio_copy_boxes(lsio_box_copy *c);

/* ---- A RAM cache of byte ranges (lsio_cache) ----
 * Raw bytes (still compressed) of the ranges batches read, under a byte
 * budget, shared by any batches (of any readers, on any threads) that name
 * it in lsio_batch.cache. Keyed by the object (path or URL, and its size and
 * modification time where known: a file that changed misses) and the exact
 * resolved range. A request for a range held makes no I/O; requests for a
 * range another batch is reading wait for that read instead of repeating it.
 * Reference counted: lsio_cache_open gives one reference, lsio_cache_retain
 * takes another, lsio_cache_release drops one (the last frees it). */
typedef struct lsio_cache lsio_cache;

/* lsio_cache_opts.policy: what is evicted when the budget is reached. */
enum { LSIO_CACHE_S3FIFO = 0, LSIO_CACHE_LRU = 1 };
/* lsio_cache_opts.flags */
#define LSIO_CACHE_LOCAL (1u << 0) /* cache local files' ranges too (default: remote objects only) */

typedef struct lsio_cache_opts {
	uint64_t budget; /* bytes: cached data plus its bookkeeping */
	uint64_t policy; /* LSIO_CACHE_* */
	uint64_t flags;
	uint64_t max_entry; /* ranges longer than this are not kept (0: budget / 8) */
} lsio_cache_opts;

typedef struct lsio_cache_stats {
	uint64_t hits;          /* requests served from the cache */
	uint64_t hit_bytes;
	uint64_t misses;        /* requests read (cacheable ones) */
	uint64_t miss_bytes;
	uint64_t waits;         /* requests that waited for another batch's read of their range */
	uint64_t inserts;       /* ranges kept */
	uint64_t evictions;     /* ranges dropped for room */
	uint64_t evicted_bytes;
	uint64_t stale;         /* ranges dropped because their object changed */
	uint64_t bytes;         /* held now, bookkeeping included */
	uint64_t entries;       /* ranges held now */
	uint64_t budget;
} lsio_cache_stats;

/* 0 or -EINVAL (no budget, unknown policy), -ENOMEM. */
LSIO_API int lsio_cache_open(const lsio_cache_opts *opts, lsio_cache **out);
/* Takes a reference; returns `cache`. */
LSIO_API lsio_cache *lsio_cache_retain(lsio_cache *cache);
/* Drops a reference (NULL: nothing). */
LSIO_API void lsio_cache_release(lsio_cache *cache);
/* Counters since open (and what is held now). */
LSIO_API int lsio_cache_get_stats(lsio_cache *cache, lsio_cache_stats *out);
/* Drops every range held (ranges being read stay until their batch ends). */
LSIO_API void lsio_cache_clear(lsio_cache *cache);

#ifdef __cplusplus
}
#endif
#endif
