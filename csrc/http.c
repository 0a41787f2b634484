/* http.c — the remote storage: objects named by http://, https:// and
 * s3:// URLs (s3.c makes the last https URLs; libcurl signs them with SigV4),
 * read with ranged GETs through libcurl's multi interface.
 *
 * libcurl is loaded at run time (dlopen "libcurl.so.4", Debian's libcurl4),
 * so the library still depends on libc only and local reads never need it; a
 * remote file without libcurl fails with -ELIBACC. The batch is the same as
 * for local files: RESOLVE sizes the objects (HEAD, in parallel) and READ runs
 * the units — single requests, or the planner's merged / split units — as one
 * GET each, up to `inflight` at once on keep-alive connections, the body
 * streamed straight into the destinations through unit_piece/unit_apply, the
 * same scatter the local backends use. Per chunk: no allocation, no FFI call.
 * A merged unit with gaps on an http(s) server asks for its requests' ranges
 * only (`Range: bytes=a-b,c-d,…`) and the multipart/byteranges answer is
 * parsed into the same scatter, the gaps stepped over: the gap bytes never
 * cross the network (S3 has no multi-range GET: its units ask spans).
 *
 * Failures: 404 → ENOENT, 401/403 → EACCES, 416 → ERANGE, a stalled transfer
 * → ETIMEDOUT, anything else EIO. 429, 5xx, resets and truncated bodies are
 * retried with exponential backoff and jitter (the reader's remote_retries
 * and remote_retry_ms bound how often and how long); a
 * retry resumes at the first byte not yet delivered, so no byte is delivered
 * twice and a chunk is settled once. A server that ignores Range (200 with
 * the whole object) still yields exactly the requested bytes. */
#if defined(__linux__)
#define _GNU_SOURCE
#include "unit.h"
#include "pace.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* The backoff before retry k: base * 2^k with full jitter, at most
 * HTTP_BACKOFF_MAX_MS (how many retries, and until when: the reader's
 * remote_retries and remote_retry_ms). */
#define HTTP_BACKOFF_BASE_MS 50
#define HTTP_BACKOFF_MAX_MS 2000
#define HTTP_CONNECT_TIMEOUT_MS 10000

/* A range at least this long is "large": it takes a receive buffer of its own size (4 KiB steps), at
 * most HTTP_LARGE_BUFFER, instead of libcurl's 16 KiB default (at most 64 in flight × 1 MiB while large
 * ranges run). s3-large, 8 × 256 MiB from versitygw, LSIO ÷ curl in the same run: 16 KiB 0.48×, 256 KiB
 * 0.74–0.94×, 1 MiB 1.04–1.17× (with plan_split_size's 32 MiB pieces); http-small planned (merged reads
 * just under 1 MiB each): 64 KiB threshold 203–206 k ranges/s against 179–191 k at 1 MiB (bench/README.md). */
#define HTTP_LARGE_RANGE (64u << 10)
#define HTTP_LARGE_BUFFER (1u << 20)

/* A unit with gaps between its requests (an http(s) object's ranges merged
 * by the planner) is asked for as several ranges in one GET (multipart/byteranges
 * back), requests closer than HTTP_RANGE_GAP joined into one range: a part costs
 * the server and the parser a header of ≈ 100 bytes. The Range value stays under
 * HTTP_RANGES_MAX_BYTES (servers cap a header line at 4–8 KiB): the gap doubles
 * until it does. A server that answers several ranges with one, or with the whole
 * object, gets spans from then on (http_backend.single_range). */
#ifndef HTTP_RANGE_GAP
#define HTTP_RANGE_GAP 1024u
#endif
#define HTTP_RANGES_MAX_BYTES 3000u

/* Socket events one wait takes in (more stay ready for the next). */
#define HTTP_EVENTS 128

/* ---- libcurl, loaded once per process ---- */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} curl;
static int curl_rc = -ELIBACC;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) return; /* curl_rc stays -ELIBACC */
#define SYM(field, name)                                 \
	do {                                             \
		*(void **)&curl.field = dlsym(h, name); \
		if (!curl.field) {                       \
			curl_rc = -ELIBBAD;              \
			return;                          \
		}                                        \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_cleanup, "curl_multi_cleanup");
	SYM(multi_setopt, "curl_multi_setopt");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_socket_action, "curl_multi_socket_action");
	SYM(multi_assign, "curl_multi_assign");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	/* libcurl >= 7.84 makes this thread-safe; once per process either way. */
	curl_rc = curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ELIBBAD;
}

int http_available(void)
{
	pthread_once(&curl_once, curl_load);
	return curl_rc;
}

/* ---- transfers ---- */
enum { X_IDLE, X_RUNNING, X_WAITING };
enum { BODY_UNKNOWN, BODY_RANGE, BODY_WHOLE, BODY_MULTI, BODY_ERROR };
/* Where a multipart/byteranges body is: between parts (looking for the
 * delimiter line), in a part's headers, in its bytes, past the close. */
enum { MP_SEEK, MP_HEADERS, MP_DATA, MP_END };

struct run_ctx;

typedef struct xfer {
	CURL *easy;
	struct run_ctx *ctx; /* the batch it works for */
	int state;          /* X_* */
	int head;           /* a HEAD for a file's size, not a unit */
	uint32_t file;      /* batch file index */
	unit u;             /* GET: the unit it reads */
	uint64_t done;      /* bytes of the unit delivered */
	unit_io io;         /* the piece being filled */
	uint32_t filled;    /* bytes of that piece filled */
	int have_io;
	int body;           /* BODY_*: how the response body maps onto the unit */
	uint64_t skip;      /* BODY_WHOLE: object bytes still to drop before the unit's */
	int complete;       /* every byte of the unit arrived (the rest of a 200 body was cut off) */
	int32_t fail;       /* a failure the callbacks saw (-errno) */
	int64_t total;      /* Content-Range's total size, -1 unknown */
	int64_t first;      /* Content-Range's first byte, -1 none */
	uint32_t attempt;
	uint64_t first_ns;      /* when its job's first attempt started */
	uint64_t not_before_ns; /* X_WAITING: retry time */
	struct iovec *iov;  /* LSIO_IOV_CAP: VEC units */
	uint8_t *bounce;    /* LSIO_BOUNCE_BYTES, on first use: COPY units */
	CURLcode res;       /* how curl finished it */
	char errbody[256];  /* the start of an error response's body (S3's XML names the error) */
	uint32_t errlen;
	char *url;          /* s3:// paths: the URL it becomes (grown as needed) */
	size_t url_cap;
	struct curl_slist *headers; /* s3: x-amz-content-sha256 (and the session token) */
	char range[64];
	/* Multi-range GETs (http(s) units with gaps): the Range value asked and the
	 * multipart body's parser. */
	char *ranges;       /* "a-b,c-d,…" (grown as needed) */
	size_t ranges_cap;
	int multi;          /* this attempt asked for more than one range */
	int redo;           /* the answer to several ranges did not fit them: ask again, one span */
	int mp_state;       /* MP_* */
	char delim[80];     /* "--" + the boundary */
	uint32_t delim_len;
	char line[160];     /* the header line being read (longer ones are cut: not ours) */
	uint32_t line_len;
	int64_t part_first, part_last; /* the part's Content-Range (-1: none yet) */
	uint64_t part_left; /* its bytes still to come */
	uint64_t part_skip; /* of those, how many precede what the unit still needs */
	uint64_t asked;     /* bytes the ranges ask for */
	uint32_t scan_k;    /* step_ok's pass over the unit's requests: the next one, */
	uint64_t scan_end;  /* and the furthest end of those before it */
} xfer;

struct http_backend {
	CURLM *multi;
	int epfd;        /* the sockets libcurl wants watched (on_socket), waited on by drive */
	uint64_t due_ns; /* when libcurl's timer wants it called (on_timer); UINT64_MAX: never */
	uint32_t cap; /* transfers in flight at most */
	uint32_t retries;
	uint64_t retry_ns; /* no retry starts later than this after a job's first attempt */
	long stall_s;      /* under 1 byte/s this long: -ETIMEDOUT */
	xfer *x;
	uint8_t *scratch; /* LSIO_SCRATCH_BYTES sink for VEC gaps */
	uint64_t rng;     /* jitter */
	int single_range; /* a server answered several ranges with anything but multipart: ask spans from now on */
	lsio_reader_info limits; /* as made: a helper is made alike */
	struct http_backend *helper; /* a second thread's transfers for large batches, made on first need */
	pace_memo pace;               /* the level of large transfers in flight runs settled on (pace.h) */
	uint32_t start;               /* small GETs: in flight to start at, doubled while it pays (0: cap, fixed) */
	pace_memo pace_small;         /* and the level such runs settled on */
};

/* One run of transfers over a batch: HEADs of the files in `need`, or GETs of the units. */
typedef struct run_ctx {
	http_backend *hb;
	lsio_batch *b;
	plan *p;
	tally t;
	const s3_settings *s3;
	const char *ca_file; /* CURLOPT_CAINFO; NULL: libcurl's default bundle */
	const uint8_t *need; /* HEAD run: [file_count] files to size; NULL: a GET run */
	uint64_t next;       /* the next file (HEAD) or unit (GET) to start */
	uint64_t *shared_next; /* GET runs on two threads: the next unit, claimed atomically */
	int shared;          /* two threads settle this batch's units */
	uint32_t cap;        /* transfers in flight at most in this run (0: the backend's) */
	uint32_t start;      /* small GETs: in flight to start at (pace_start_small; 0: cap throughout) */
	uint64_t mean_unit;  /* GET runs: the units' mean length (pace.h: large ones are paced) */
	uint64_t body_bytes; /* response body bytes this thread's transfers received */
	uint64_t *all_bytes; /* a paced run on two threads: both threads' body bytes (pace judges the batch) */
	sigv4_cache sig;     /* s3: this thread's signing key of the day */
} run_ctx;

/* This thread's CPU time (pace_start_small: a busy thread is not latency-bound). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* libcurl's socket callback: keep the epoll set to what each socket waits for. A
 * socket's first registration is marked through curl_multi_assign, so later
 * changes are one EPOLL_CTL_MOD (a socket libcurl closed left the set by itself). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)e;
	http_backend *hb = userp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(hb->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {
		.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
		.data.fd = s,
	};
	if (socketp && epoll_ctl(hb->epfd, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
	/* A new socket, or one whose number libcurl reused after a close: add it (or change it, if present). */
	if (epoll_ctl(hb->epfd, EPOLL_CTL_ADD, s, &ev) < 0 &&
	    (errno != EEXIST || epoll_ctl(hb->epfd, EPOLL_CTL_MOD, s, &ev) < 0))
		return -1;
	if (!socketp) curl.multi_assign(hb->multi, s, hb);
	return 0;
}

/* libcurl's timer callback: when drive is to call it back on CURL_SOCKET_TIMEOUT. */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	http_backend *hb = userp;
	hb->due_ns = timeout_ms < 0 ? UINT64_MAX : now_ns() + (uint64_t)timeout_ms * 1000000u;
	return 0;
}

int http_create(http_backend **out, const lsio_reader_info *limits, uint32_t start)
{
	int rc = http_available();
	if (rc < 0) return rc;
	http_backend *hb = calloc(1, sizeof *hb);
	if (!hb) return -ENOMEM;
	hb->limits = *limits;
	hb->cap = limits->remote_inflight;
	hb->start = start && start < hb->cap ? start : 0;
	hb->retries = limits->remote_retries;
	hb->retry_ns = (uint64_t)limits->remote_retry_ms * 1000000u;
	hb->stall_s = (long)((limits->remote_stall_ms + 999) / 1000);
	hb->multi = curl.multi_init();
	hb->epfd = epoll_create1(EPOLL_CLOEXEC);
	hb->due_ns = UINT64_MAX;
	hb->x = calloc(hb->cap, sizeof *hb->x);
	hb->scratch = malloc(LSIO_SCRATCH_BYTES);
	if (!hb->multi || hb->epfd < 0 || !hb->x || !hb->scratch) {
		http_destroy(hb);
		return -ENOMEM;
	}
	/* Connections are reused across batches (the multi handle's pool): one
	 * per transfer in flight, at most remote_connections to one host (more
	 * transfers to it wait their turn inside libcurl). */
	curl.multi_setopt(hb->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)limits->remote_connections);
	curl.multi_setopt(hb->multi, CURLMOPT_MAXCONNECTS, (long)hb->cap);
	curl.multi_setopt(hb->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* Driven by socket events (curl_multi_socket_action), not curl_multi_perform + curl_multi_poll:
	 * those walk every transfer and poll every socket each round, and libcurl 7.88 then polls each
	 * transfer's socket once more before it reads; here only the sockets that are ready are touched. */
	curl.multi_setopt(hb->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl.multi_setopt(hb->multi, CURLMOPT_SOCKETDATA, hb);
	curl.multi_setopt(hb->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl.multi_setopt(hb->multi, CURLMOPT_TIMERDATA, hb);
	hb->rng = now_ns() | 1;
	*out = hb;
	return 0;
}

void http_destroy(http_backend *hb)
{
	if (!hb) return;
	http_destroy(hb->helper);
	for (uint32_t i = 0; hb->x && i < hb->cap; i++) {
		xfer *x = &hb->x[i];
		if (x->easy) {
			if (x->state == X_RUNNING) curl.multi_remove_handle(hb->multi, x->easy);
			curl.easy_cleanup(x->easy);
		}
		free(x->iov);
		lsio_free_aligned(x->bounce);
		free(x->url);
		free(x->ranges);
		if (x->headers) curl.slist_free_all(x->headers);
	}
	if (hb->multi) curl.multi_cleanup(hb->multi); /* before the epoll set: it still tells on_socket */
	if (hb->epfd >= 0) close(hb->epfd);
	free(hb->x);
	free(hb->scratch);
	free(hb);
}

static int32_t errno_of_http(long code)
{
	if (code == 404 || code == 410) return -ENOENT;
	if (code == 401 || code == 403) return -EACCES;
	if (code == 416) return -ERANGE;
	return -EIO;
}

static int retryable_http(long code) { return code == 429 || code == 500 || code == 502 || code == 503 || code == 504; }

static int retryable_curl(CURLcode c)
{
	return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
	       c == CURLE_COULDNT_CONNECT || c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

static int32_t errno_of_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING: return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT: return -EINVAL;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE: return -EPROTO;
	default: return -EIO;
	}
}

/* "Content-Range: bytes a-b/total" (or "*" for the total) → total and the first byte. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	xfer *x = arg;
	size_t len = size * n;
	static const char name[] = "content-range:";
	if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
		char buf[128];
		size_t m = len < sizeof buf - 1 ? len : sizeof buf - 1;
		memcpy(buf, data, m);
		buf[m] = 0;
		const char *slash = strchr(buf, '/');
		if (slash && slash[1] != '*') x->total = strtoll(slash + 1, NULL, 10);
		const char *bytes = strstr(buf, "bytes ");
		if (bytes && bytes[6] >= '0' && bytes[6] <= '9') x->first = strtoll(bytes + 6, NULL, 10);
	}
	return len;
}

/* A unit of suffix requests of an object whose size was not taken: it ends
 * at LSIO_SIZE_UNKNOWN (the resolved form of `start = -N`), asked as
 * `Range: bytes=-len`, placed once the answer tells the object's size. */
static int is_suffix_unit(const unit *u) { return u->off + u->len == (uint64_t)LSIO_SIZE_UNKNOWN; }

/* The object is `total` bytes: the unit's requests (and the unit) move from
 * their provisional offsets to the real ones — a suffix longer than the object
 * is all of it. */
static void place_suffix(run_ctx *c, xfer *x, uint64_t total)
{
	lsio_batch *b = c->b;
	uint64_t zero = (uint64_t)LSIO_SIZE_UNKNOWN - total; /* the provisional offset of byte 0 */
	for (uint32_t k = 0; k < x->u.count; k++) {
		uint64_t r = plan_req(c->p, x->u.first + k);
		if (b->status[r] != 0 || b->length[r] == 0) continue;
		uint64_t off = b->offset[r] > zero ? b->offset[r] - zero : 0;
		b->offset[r] = off;
		b->length[r] = total - off;
	}
	uint64_t off = x->u.off > zero ? x->u.off - zero : 0;
	x->u.off = off;
	x->u.len = total - off;
}

/* Copies `n` body bytes into the piece being filled, at `filled` (src NULL:
 * nothing to copy, the bytes are stepped over; see step_ok). */
static void fill_piece(xfer *x, const uint8_t *src, uint32_t n)
{
	if (!src) return;
	if (x->io.niov > 0) {
		uint64_t at = x->filled;
		for (int k = 0; k < x->io.niov && n > 0; k++) {
			uint64_t l = x->iov[k].iov_len;
			if (at >= l) {
				at -= l;
				continue;
			}
			uint64_t c = l - at < n ? l - at : n;
			memcpy((uint8_t *)x->iov[k].iov_base + at, src, c);
			src += c;
			n -= (uint32_t)c;
			at = 0;
		}
		return;
	}
	memcpy(x->io.buf + x->filled, src, n);
}

/* Whether object bytes [s, e) hold no byte of a live request of the unit:
 * only such bytes (the gaps between the ranges of a multi-range GET) may be
 * stepped over. Steps only move forward, so one pass over the unit's requests
 * (sorted by offset) per attempt: those starting before e, and the furthest
 * end among them. */
static int step_ok(xfer *x, uint64_t s, uint64_t e)
{
	const lsio_batch *b = x->ctx->b;
	for (; x->scan_k < x->u.count; x->scan_k++) {
		uint64_t r = plan_req(x->ctx->p, x->u.first + x->scan_k);
		if (b->status[r] != 0 || b->length[r] == 0) continue;
		if (b->offset[r] >= e) break;
		uint64_t re = b->offset[r] + b->length[r];
		if (re > x->scan_end) x->scan_end = re;
	}
	return x->scan_end <= s;
}

/* The unit's next byte (unit-relative): what was delivered and what fills the current piece. */
static uint64_t unit_pos(const xfer *x) { return x->done + (x->have_io ? x->filled : 0); }

/* Takes up to n bytes of the unit's stream, from its next byte on, into the
 * pieces (src NULL: steps over them, see fill_piece). Stops at the unit's end.
 * *took: bytes taken. 0, or -EPROTO (a wanted byte stepped over), -EIO. */
static int feed(xfer *x, const uint8_t *src, uint64_t n, uint64_t *took)
{
	run_ctx *c = x->ctx;
	lsio_batch *b = c->b;
	uint64_t left = n;
	int rc = 0;
	if (!src && n) { /* a step: never over a wanted byte */
		uint64_t at = x->u.off + unit_pos(x), rest = x->u.len - unit_pos(x);
		if (!step_ok(x, at, at + (n < rest ? n : rest))) {
			if (took) *took = 0;
			return -EPROTO;
		}
	}
	while (left > 0 && x->done < x->u.len) {
		if (!x->have_io) {
			unit_space sp = {x->iov, LSIO_IOV_CAP, x->bounce, c->hb->scratch, LSIO_SCRATCH_BYTES};
			x->io = unit_piece(b, c->p, &x->u, x->done, 0, &sp);
			x->filled = 0;
			x->have_io = 1;
			if (x->io.len == 0) {
				rc = -EIO;
				break;
			}
		}
		uint32_t room = x->io.len - x->filled;
		uint32_t m = left < room ? (uint32_t)left : room;
		fill_piece(x, src, m);
		x->filled += m;
		if (src) src += m;
		left -= m;
		if (x->filled == x->io.len) {
			x->done += unit_apply(b, c->p, &x->u, x->done, &x->io, x->filled);
			x->have_io = 0;
		}
	}
	if (x->done == x->u.len) x->complete = 1;
	if (took) *took = n - left;
	return rc;
}

/* A body that starts at object byte `first` (a 206's Content-Range, a
 * multipart part's): steps over the unit's gap bytes before it, or drops the
 * bytes of it the unit already has. 0, or -EPROTO: it starts past a wanted
 * byte (another range than asked would land shifted). */
static int body_starts_at(xfer *x, uint64_t first, uint64_t *drop)
{
	uint64_t cur = x->u.off + unit_pos(x), end = x->u.off + x->u.len;
	*drop = cur > first ? cur - first : 0;
	if (first <= cur) return 0;
	return feed(x, NULL, (first < end ? first : end) - cur, NULL);
}

/* "bytes a-b/total" (after the header name) → a, b, and the total when given. */
static int parse_content_range(const char *v, int64_t *a, int64_t *b, int64_t *total)
{
	const char *s = strstr(v, "bytes ");
	if (!s || s[6] < '0' || s[6] > '9') return -1;
	char *end;
	*a = strtoll(s + 6, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9') return -1;
	*b = strtoll(end + 1, &end, 10);
	if (*end == '/' && end[1] >= '0' && end[1] <= '9') *total = strtoll(end + 1, NULL, 10);
	return *b >= *a ? 0 : -1;
}

/* A multipart/byteranges body's delimiter ("--" + boundary) from its Content-Type. */
static int multipart_delim(xfer *x, const char *ct)
{
	const char *bd = strcasestr(ct, "boundary=");
	if (!bd) return -EPROTO;
	bd += 9;
	int quoted = *bd == '"';
	bd += quoted;
	size_t n = 0;
	while (bd[n] && (quoted ? bd[n] != '"' : bd[n] != ';' && bd[n] != ' ' && bd[n] != '\t')) n++;
	if (n == 0 || n + 2 >= sizeof x->delim) return -EPROTO;
	x->delim[0] = x->delim[1] = '-';
	memcpy(x->delim + 2, bd, n);
	x->delim_len = (uint32_t)n + 2;
	x->delim[x->delim_len] = 0;
	return 0;
}

/* A whole line of a multipart body outside a part's bytes (x->line, CRLF cut off). */
static int multipart_line(xfer *x)
{
	const char *l = x->line;
	uint32_t n = x->line_len;
	if (x->mp_state == MP_SEEK) {
		if (n < x->delim_len || memcmp(l, x->delim, x->delim_len) != 0) return 0; /* preamble, CRLF */
		if (n >= x->delim_len + 2 && l[x->delim_len] == '-' && l[x->delim_len + 1] == '-') {
			x->mp_state = MP_END;
			/* Every part is in: what the unit still lacks must be gap bytes (else a retry asks again). */
			if (x->done < x->u.len && feed(x, NULL, x->u.len - unit_pos(x), NULL) < 0) return 0;
			return 0;
		}
		x->mp_state = MP_HEADERS;
		x->part_first = x->part_last = -1;
		return 0;
	}
	/* MP_HEADERS */
	if (n == 0) {
		if (x->part_first < 0) return -EPROTO;
		x->part_left = (uint64_t)(x->part_last - x->part_first) + 1;
		if (body_starts_at(x, (uint64_t)x->part_first, &x->part_skip) < 0) {
			/* A part past a wanted byte: the server left a range out or reordered them.
			 * What arrived stays; the rest is asked again as one span, as from now on. */
			x->ctx->hb->single_range = 1;
			x->redo = 1;
			return -EAGAIN;
		}
		x->mp_state = MP_DATA;
		return 0;
	}
	if (n > 14 && strncasecmp(l, "content-range:", 14) == 0) {
		int64_t total = -1;
		if (parse_content_range(l + 14, &x->part_first, &x->part_last, &total) < 0) return -EPROTO;
		if (total >= 0) x->total = total;
	}
	return 0;
}

/* Runs a multipart/byteranges body through: parts' bytes into the unit, the
 * rest (delimiters, part headers, epilogue) parsed or dropped. The body is read
 * to its end even after the unit is complete, so the connection stays usable. */
static int multipart_body(xfer *x, const uint8_t *src, size_t left)
{
	while (left > 0) {
		if (x->mp_state == MP_END) return 0;
		if (x->mp_state == MP_DATA) {
			uint64_t m = left < x->part_left ? left : x->part_left;
			uint64_t d = m < x->part_skip ? m : x->part_skip;
			x->part_skip -= d;
			int rc = feed(x, src + d, m - d, NULL);
			if (rc < 0) return rc;
			x->part_left -= m;
			src += m;
			left -= m;
			if (x->part_left == 0) x->mp_state = MP_SEEK;
			continue;
		}
		const uint8_t *nl = memchr(src, '\n', left);
		size_t take = nl ? (size_t)(nl - src) + 1 : left;
		size_t room = sizeof x->line - 1 - x->line_len;
		size_t keep = take < room ? take : room;
		memcpy(x->line + x->line_len, src, keep);
		x->line_len += (uint32_t)keep;
		src += take;
		left -= take;
		if (!nl) continue;
		while (x->line_len && (x->line[x->line_len - 1] == '\n' || x->line[x->line_len - 1] == '\r')) x->line_len--;
		x->line[x->line_len] = 0;
		int rc = multipart_line(x);
		x->line_len = 0;
		if (rc < 0) return rc;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nm, void *arg)
{
	xfer *x = arg;
	run_ctx *c = x->ctx;
	size_t len = size * nm;
	uint64_t drop = 0;
	if (c->all_bytes) __atomic_fetch_add(c->all_bytes, len, __ATOMIC_RELAXED);
	else c->body_bytes += len;
	if (x->body == BODY_UNKNOWN) {
		long code = 0;
		curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if ((code == 206 || code == 200) && is_suffix_unit(&x->u)) {
			int64_t total = x->total;
			if (code == 200) {
				curl_off_t whole = -1;
				curl.easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &whole);
				total = whole;
			}
			if (total < 0) { /* no size to place the suffix by */
				x->fail = -EPROTO;
				return 0;
			}
			place_suffix(c, x, (uint64_t)total);
			if (x->u.len == 0) { /* nothing of the object wanted: done */
				x->complete = 1;
				return 0;
			}
		}
		const char *ct = NULL;
		if (code == 206) curl.easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (code == 206 && ct && strncasecmp(ct, "multipart/byteranges", 20) == 0) {
			x->body = BODY_MULTI;
			if ((x->fail = multipart_delim(x, ct)) < 0) return 0;
			x->mp_state = MP_SEEK;
			x->line_len = 0;
		} else if (code == 206) {
			x->body = BODY_RANGE;
			/* Several ranges asked, one answered (coalesced, or the first only): spans from now on. */
			if (x->multi) c->hb->single_range = 1;
			if (x->first < 0 || (x->fail = body_starts_at(x, (uint64_t)x->first, &drop)) < 0) {
				x->fail = -EPROTO; /* bytes of another range than asked would land shifted: refuse them */
				return 0;
			}
		} else if (code == 200) {
			/* The server ignored Range: the whole object, from byte 0. */
			x->body = BODY_WHOLE;
			if (x->multi) c->hb->single_range = 1;
			drop = x->u.off + x->done;
		} else {
			x->body = BODY_ERROR;
		}
		x->skip = drop;
	}
	if (x->body == BODY_ERROR) { /* the error document is not data: its start says why */
		size_t keep = len < sizeof x->errbody - 1 - x->errlen ? len : sizeof x->errbody - 1 - x->errlen;
		memcpy(x->errbody + x->errlen, data, keep);
		x->errlen += (uint32_t)keep;
		x->errbody[x->errlen] = 0;
		return len;
	}
	if (x->head) return len;
	const uint8_t *src = (const uint8_t *)data;
	if (x->body == BODY_MULTI) {
		int rc = multipart_body(x, src, len);
		if (rc < 0) {
			if (rc != -EAGAIN) x->fail = rc;
			return 0;
		}
		return len;
	}
	size_t left = len;
	if (x->skip) {
		size_t d = x->skip < left ? (size_t)x->skip : left;
		x->skip -= d;
		src += d;
		left -= d;
	}
	uint64_t took = 0;
	int rc = feed(x, src, left, &took);
	if (rc < 0) {
		x->fail = rc;
		return 0;
	}
	/* More than the unit asked for (a 200 with the whole object): cut it off here. */
	if (x->complete && took < left) return 0;
	return len;
}

/* x->ranges := the byte ranges of the unit's live requests from its next byte
 * on ("a-b,c-d,…"), requests closer than `gap` joined. The run count, or
 * -E2BIG when the value would pass HTTP_RANGES_MAX_BYTES, -ENOMEM. */
static int build_ranges(run_ctx *c, xfer *x, uint64_t gap)
{
	lsio_batch *b = c->b;
	uint64_t cursor = x->u.off + x->done, rs = 0, re = 0;
	size_t used = 0;
	int runs = 0;
	x->asked = 0;
	for (uint32_t k = 0; k <= x->u.count; k++) {
		uint64_t ro = 0, e = 0;
		if (k < x->u.count) {
			uint64_t r = plan_req(c->p, x->u.first + k);
			if (b->status[r] != 0 || b->length[r] == 0) continue;
			ro = b->offset[r];
			e = ro + b->length[r];
			if (e <= cursor) continue;
			if (ro < cursor) ro = cursor;
			if (runs && ro <= re + gap) {
				if (e > re) re = e;
				continue;
			}
		}
		if (runs) { /* the run before ends here */
			if (used + 48 > x->ranges_cap) {
				size_t cap = x->ranges_cap ? x->ranges_cap * 2 : 1024;
				char *n = realloc(x->ranges, cap);
				if (!n) return -ENOMEM;
				x->ranges = n;
				x->ranges_cap = cap;
			}
			used += (size_t)snprintf(x->ranges + used, x->ranges_cap - used, "%s%llu-%llu", used ? "," : "",
						 (unsigned long long)rs, (unsigned long long)re - 1);
			if (used > HTTP_RANGES_MAX_BYTES) return -E2BIG;
		}
		if (runs) x->asked += re - rs;
		if (k == x->u.count) break;
		rs = ro;
		re = e;
		runs++;
	}
	return runs;
}

/* Sets up (or resets) x's easy handle for its next attempt. */
static int xfer_prepare(run_ctx *c, xfer *x)
{
	lsio_batch *b = c->b;
	if (!x->easy) {
		x->easy = curl.easy_init();
		if (!x->easy) return -ENOMEM;
	} else {
		curl.easy_reset(x->easy);
	}
	CURL *e = x->easy;
	const char *path = b->paths + b->path_offsets[x->file];
	if (x->headers) {
		curl.slist_free_all(x->headers);
		x->headers = NULL;
	}
	if (is_s3_path(path)) {
		const s3_settings *s3 = c->s3;
		int rc = s3_url(s3, path, &x->url, &x->url_cap);
		if (rc < 0) return rc;
		curl.easy_setopt(e, CURLOPT_URL, x->url);
		/* A key is opaque to S3 ("a/../b" is a key of its own): send the path as signed, not squashed. */
		curl.easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
		/* S3 wants the payload's hash in a header (GET and HEAD have none to send). */
		x->headers = curl.slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		if (x->headers && s3->token_header) x->headers = curl.slist_append(x->headers, s3->token_header);
		if (x->headers && s3->access_key) { /* signed here, not by libcurl: sigv4.c says why */
			char date[SIGV4_DATE_HEADER], auth[512];
			rc = sigv4_sign(s3, &c->sig, x->head ? "HEAD" : "GET", x->url, time(NULL), date, auth, sizeof auth);
			if (rc < 0) return rc;
			x->headers = curl.slist_append(x->headers, date);
			if (x->headers) x->headers = curl.slist_append(x->headers, auth);
		}
		if (!x->headers) return -ENOMEM;
		curl.easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	} else {
		curl.easy_setopt(e, CURLOPT_URL, path);
	}
	/* https: HTTP/2 where ALPN offers it; a transfer waits for the host's first connection to say so, so
	 * a batch's transfers share it as streams instead of each opening (and handshaking) its own. */
	const char *target = is_s3_path(path) ? x->url : path;
	if (strncmp(target, "https://", 8) == 0) curl.easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl.easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	/* Reset above to libcurl's defaults (its built-in CA bundle); a reader's own CAs replace them. */
	if (c->ca_file) curl.easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	x->ctx = c;
	curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl.easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_CONNECT_TIMEOUT_MS);
	curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->hb->stall_s);
	curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl.easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl.easy_setopt(e, CURLOPT_WRITEDATA, x);
	/* The bytes as stored: no transparent decompression shifting offsets. */
	curl.easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	x->body = BODY_UNKNOWN;
	x->errlen = 0;
	x->errbody[0] = 0;
	x->skip = 0;
	x->complete = 0;
	x->fail = 0;
	x->res = CURLE_OK;
	x->total = -1;
	x->first = -1;
	x->have_io = 0;
	x->filled = 0;
	if (x->head) {
		curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		uint64_t from = x->u.off + x->done, to = x->u.off + x->u.len - 1;
		int runs = 0;
		if (is_suffix_unit(&x->u)) { /* not placed yet (no answer so far): ask for the last len bytes */
			snprintf(x->range, sizeof x->range, "-%llu", (unsigned long long)x->u.len);
		} else if ((x->u.kind == UNIT_VEC || x->u.kind == UNIT_COPY) && !is_s3_path(path) && !c->hb->single_range) {
			/* Gaps between the requests: ask for the requests' bytes only (S3 has no multi-range GET). */
			for (uint64_t gap = HTTP_RANGE_GAP; (runs = build_ranges(c, x, gap)) == -E2BIG; gap *= 2) {}
			if (runs < 0 && runs != -E2BIG) return runs;
		}
		if (!is_suffix_unit(&x->u) && runs <= 0)
			snprintf(x->range, sizeof x->range, "%llu-%llu", (unsigned long long)from, (unsigned long long)to);
		x->multi = runs > 1;
		x->redo = 0;
		x->scan_k = 0;
		x->scan_end = 0;
		curl.easy_setopt(e, CURLOPT_RANGE, runs > 0 ? x->ranges : x->range);
		/* Large answers: a receive buffer up to 1 MiB (libcurl's default 16 KiB) takes the bytes in up to
		 * 64× fewer reads and callbacks; sized by the bytes asked (a multi-range GET's are fewer than its
		 * span). Small ones keep the default: the buffer is allocated per transfer. */
		uint64_t bytes = runs > 0 ? x->asked : x->u.len - x->done;
		if (bytes >= HTTP_LARGE_RANGE) {
			uint64_t want = bytes < HTTP_LARGE_BUFFER ? (bytes + 4095) / 4096 * 4096 : HTTP_LARGE_BUFFER;
			curl.easy_setopt(e, CURLOPT_BUFFERSIZE, (long)want);
		}
		if (x->u.kind == UNIT_VEC && !x->iov) {
			x->iov = malloc(LSIO_IOV_CAP * sizeof *x->iov);
			if (!x->iov) return -ENOMEM;
		}
		if (x->u.kind == UNIT_COPY && !x->bounce) {
			x->bounce = lsio_alloc_aligned(4096, LSIO_BOUNCE_BYTES);
			if (!x->bounce) return -ENOMEM;
		}
	}
	return 0;
}

static int xfer_start(run_ctx *c, xfer *x)
{
	int rc = xfer_prepare(c, x);
	if (rc < 0) return rc;
	if (curl.multi_add_handle(c->hb->multi, x->easy) != CURLM_OK) return -ENOMEM;
	x->state = X_RUNNING;
	return 0;
}

/* Backoff before retry `attempt` (1-based): full jitter over base * 2^attempt. */
static uint64_t backoff_ns(http_backend *hb, uint32_t attempt)
{
	uint64_t cap = (uint64_t)HTTP_BACKOFF_BASE_MS << (attempt < 10 ? attempt : 10);
	if (cap > HTTP_BACKOFF_MAX_MS) cap = HTTP_BACKOFF_MAX_MS;
	hb->rng ^= hb->rng << 13;
	hb->rng ^= hb->rng >> 7;
	hb->rng ^= hb->rng << 17;
	return (hb->rng % (cap + 1)) * 1000000u;
}

/* What a finished transfer came to: 0, or the chunk's -errno; *retry says
 * whether another attempt may succeed (a 429/5xx, a reset, a short body). */
static int32_t xfer_outcome(xfer *x, CURLcode res, int *retry)
{
	long code = 0;
	curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	*retry = 0;
	if (x->fail) return x->fail;
	if (!x->head && x->complete) return 0;
	if (x->redo) {
		*retry = 1;
		return -EIO;
	} /* every byte arrived (a 200 we cut short ends in a write error) */
	if (res != CURLE_OK) {
		*retry = retryable_curl(res);
		return errno_of_curl(res);
	}
	/* A suffix of an empty object (a 416 for `bytes=-N`, or an empty 200 whose body
	 * never reached on_body): nothing to satisfy it with, and nothing wanted. */
	if (!x->head && is_suffix_unit(&x->u) && res == CURLE_OK) {
		curl_off_t whole = -1;
		if (code == 200) curl.easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &whole);
		if ((code == 416 && x->total == 0) || (code == 200 && whole == 0)) {
			place_suffix(x->ctx, x, 0);
			return 0;
		}
	}
	if (code < 200 || code >= 300) {
		*retry = retryable_http(code);
		return errno_of_http(code);
	}
	if (x->head) return 0;
	/* A complete response that ended before the unit did: the object is shorter than the range — past
	 * its end when its size was never taken (ERANGE, as RESOLVE says), else it shrank since (ENODATA). */
	int64_t total = x->total;
	if (x->body == BODY_WHOLE) {
		curl_off_t whole = -1;
		curl.easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &whole);
		total = whole;
	}
	if (total >= 0 && (uint64_t)total < x->u.off + x->u.len) {
		return x->ctx->b->file_size[x->file] == LSIO_SIZE_UNKNOWN ? -ERANGE : -ENODATA;
	}
	*retry = 1; /* a body shorter than the range, without an error: ask for the rest again */
	return -EIO;
}

/* Gives free transfer x its next job: a HEAD of the next file to size, or
 * the next unit to read. 0 when there is none left. */
static int next_job(run_ctx *c, xfer *x)
{
	lsio_batch *b = c->b;
	if (c->need) {
		while (c->next < b->file_count && !c->need[c->next]) c->next++;
		if (c->next >= b->file_count) return 0;
		x->head = 1;
		x->file = (uint32_t)c->next++;
		return 1;
	}
	unit un;
	int got;
	for (;;) { /* claimed one by one: from the counter the two threads of a shared run draw on */
		uint64_t k = c->shared_next ? __atomic_fetch_add(c->shared_next, 1, __ATOMIC_RELAXED) : c->next++;
		got = next_unit(b, c->p, k, &un);
		if (got == UNIT_EMPTY) chunk_finish(b, &c->t, k, 0, 0);
		if (got != UNIT_SKIP && got != UNIT_EMPTY) break;
	}
	if (got == UNIT_NONE) return 0;
	x->head = 0;
	x->u = un;
	x->file = un.file;
	x->done = 0;
	return 1;
}

/* Describes a failure in the batch's remote_errors (while there is room). */
static void describe(run_ctx *c, xfer *x, uint64_t request, int32_t out)
{
	lsio_batch *b = c->b;
	if (!b->remote_errors) return;
	uint64_t at = __atomic_fetch_add(&b->remote_errors_count, 1, __ATOMIC_RELAXED);
	if (at >= b->remote_errors_cap) {
		__atomic_fetch_sub(&b->remote_errors_count, 1, __ATOMIC_RELAXED);
		return;
	}
	lsio_remote_error *e = &b->remote_errors[at];
	long code = 0;
	if (x->easy) curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	*e = (lsio_remote_error){.request = request, .file = x->file, .http_status = (int32_t)code, .status = out};
	const char *text = "";
	size_t n = 0;
	const char *tag = strstr(x->errbody, "<Code>");
	if (code && tag) { /* S3: <Error><Code>SlowDown</Code>… */
		text = tag + 6;
		const char *end = strstr(text, "</Code>");
		n = end ? (size_t)(end - text) : 0;
	} else if (!code && x->res != CURLE_OK) {
		text = curl.easy_strerror(x->res);
		n = strlen(text);
	}
	if (n >= sizeof e->code) n = sizeof e->code - 1;
	memcpy(e->code, text, n);
	e->code[n] = 0;
}

/* Records what a job came to: the file's size, or the unit's chunks settled. */
static void settle(run_ctx *c, xfer *x, int32_t out)
{
	int why = out < 0 && out != -ECANCELED;
	if (x->head && why) describe(c, x, UINT64_MAX, out);
	if (x->head) {
		curl_off_t len = -1;
		if (out == 0) curl.easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		c->b->file_size[x->file] = out < 0 ? out : len >= 0 ? (int64_t)len : -EIO;
	} else {
		unit_finish(c->b, c->p, &c->t, &x->u, x->done, out, c->shared);
		for (uint32_t k = 0; why && k < x->u.count; k++) { /* each request the failure reached */
			uint64_t r = plan_req(c->p, x->u.first + k);
			if (c->b->status[r] == out) describe(c, x, r, out);
		}
	}
	x->state = X_IDLE;
}

static void start_or_settle(run_ctx *c, xfer *x, uint32_t *running)
{
	int rc = xfer_start(c, x);
	if (rc < 0) {
		settle(c, x, rc);
		return;
	}
	(*running)++;
	c->t.issued += !x->head;
}

/* Runs jobs until none is left: up to `cap` transfers in flight, topped up as
 * they finish, retries parked until their backoff has passed. Cancellation
 * (GET runs) stops every transfer; what arrived stays as a prefix. */
static void drive(run_ctx *c)
{
	http_backend *hb = c->hb;
	lsio_batch *b = c->b;
	uint32_t running = 0, waiting = 0;
	pace pc;
	/* Two threads judge the batch's bytes/s (a thread that only took the other's share of a shared
	 * link would see a gain): an epoch then waits for a mean unit per transfer of both. */
	uint64_t mean = c->need ? 0 : c->all_bytes ? c->mean_unit * 2 : c->mean_unit;
	uint32_t cap = c->cap && c->cap < hb->cap ? c->cap : hb->cap;
	if (!c->need && c->start && !pace_bulk(c->mean_unit))
		pace_start_small(&pc, &hb->pace_small, cap, c->start, mean, thread_cpu_ns, now_ns());
	else
		pace_start(&pc, &hb->pace, cap, mean, now_ns());
	uint32_t lim = pc.lim;
	int more = 1;
	struct epoll_event events[HTTP_EVENTS];
	int ready = 0; /* of events */
	for (;;) {
		if (!c->need && live_load(b->cancel)) {
			for (uint32_t i = 0; i < hb->cap; i++) {
				xfer *x = &hb->x[i];
				if (x->state == X_IDLE) continue;
				if (x->state == X_RUNNING) curl.multi_remove_handle(hb->multi, x->easy);
				settle(c, x, -ECANCELED);
			}
			return;
		}
		uint64_t now = now_ns(), wake = UINT64_MAX;
		if (more) /* the tail (no units left) judges nothing */
			lim = pace_step(&pc, now, c->all_bytes ? __atomic_load_n(c->all_bytes, __ATOMIC_RELAXED) : c->body_bytes);
		for (uint32_t i = 0; i < hb->cap; i++) {
			xfer *x = &hb->x[i];
			if (x->state == X_IDLE && more && running + waiting < lim) {
				x->attempt = 0;
				x->first_ns = now;
				if (next_job(c, x)) start_or_settle(c, x, &running);
				else more = 0;
			} else if (x->state == X_WAITING) {
				if (x->not_before_ns <= now) {
					waiting--;
					start_or_settle(c, x, &running);
				} else if (x->not_before_ns < wake) {
					wake = x->not_before_ns;
				}
			}
		}
		if (!more && running == 0 && waiting == 0) {
			pace_end(&pc, now_ns()); /* a probe the batch ended in: the next run goes on with it */
			return;
		}
		/* libcurl acts: on its timer when due (new transfers set it to now), then on the sockets the
		 * last wait found ready. */
		int still = 0;
		if (hb->due_ns <= now_ns()) {
			hb->due_ns = UINT64_MAX;
			curl.multi_socket_action(hb->multi, CURL_SOCKET_TIMEOUT, 0, &still);
		}
		for (int k = 0; k < ready; k++) {
			uint32_t e = events[k].events;
			int mask = (e & EPOLLIN ? CURL_CSELECT_IN : 0) | (e & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			           (e & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl.multi_socket_action(hb->multi, events[k].data.fd, mask, &still);
		}
		ready = 0;
		CURLMsg *m;
		int q;
		while ((m = curl.multi_info_read(hb->multi, &q))) {
			if (m->msg != CURLMSG_DONE) continue;
			xfer *x = NULL;
			curl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			CURLcode res = m->data.result;
			x->res = res;
			curl.multi_remove_handle(hb->multi, x->easy);
			running--;
			int retry = 0;
			int32_t out = xfer_outcome(x, res, &retry);
			if (!x->head && x->have_io && x->filled) {
				/* Keep what arrived of the piece being filled, as a short read is kept: a retry
				 * resumes after it (a piece can be the whole unit, so nothing else would progress). */
				x->done += unit_apply(b, c->p, &x->u, x->done, &x->io, x->filled);
				x->have_io = 0;
			}
			uint64_t at = now_ns() + backoff_ns(hb, x->attempt + 1);
			if (retry && x->attempt < hb->retries && at - x->first_ns <= hb->retry_ns) {
				/* Resume at the first byte not delivered. */
				x->attempt++;
				x->state = X_WAITING;
				x->not_before_ns = at;
				waiting++;
				continue;
			}
			settle(c, x, out);
		}
		tally_flush(b, &c->t);
		if (!more && running == 0 && waiting == 0) {
			pace_end(&pc, now_ns()); /* a probe the batch ended in: the next run goes on with it */
			return;
		}
		if (more && running + waiting < lim) continue; /* top up first: free transfers, units left */
		/* Wait at most 50 ms (cancellation is looked at between waits), until the next retry is due or
		 * libcurl's timer, whichever comes first. */
		int timeout = 50;
		uint64_t until = wake < hb->due_ns ? wake : hb->due_ns;
		if (until != UINT64_MAX) {
			uint64_t n2 = now_ns();
			uint64_t ms = until > n2 ? (until - n2) / 1000000u + 1 : 0;
			if (ms < (uint64_t)timeout) timeout = (int)ms;
		}
		if (running) {
			ready = epoll_wait(hb->epfd, events, HTTP_EVENTS, timeout);
			if (ready < 0) ready = 0; /* EINTR: the loop looks again */
		} else if (timeout > 0) {
			struct timespec ts = {0, (long)timeout * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
}

int http_stat(http_backend *hb, lsio_batch *b, const uint8_t *need, const s3_settings *s3, const char *ca_file)
{
	run_ctx c = {.hb = hb, .b = b, .s3 = s3, .ca_file = ca_file, .need = need};
	drive(&c);
	return 0;
}

/* A GET run of at least as many units as transfers in flight (2 or more) runs
 * on two threads: this one with the lane's transfers and a helper thread with
 * a second backend's (its own multi handle and connections), each at half the
 * in-flight count and half the connections per host, units claimed from one
 * counter. One thread of libcurl 7.88 costs ≈ 13 µs of CPU per GET and copies
 * every body byte twice (the kernel's recv, then ours into the destination), so
 * it, not the network, was the limit on 127.0.0.1: a throwaway probe of 131 072
 * random 4 KiB GETs over nginx, 64 in flight, 77–78 k → 97–99 k GETs/s; 8 × 256 MiB from versitygw 3,815–4,035 →
 * 4,522 MiB/s (bench/README.md). Smaller runs (a few GETs of a crop) stay on
 * one thread: a thread start costs more than they would gain. */
#define HTTP_SHARE_MIN_UNITS 2u

static void *helper_main(void *arg)
{
	run_ctx *c = arg;
	pthread_setname_np(pthread_self(), "lsio-http-help"); /* seen in /proc: tests look for it */
	drive(c);
	tally_flush(c->b, &c->t);
	return NULL;
}

/* The mean length of the units with a known one (suffix ranges have none). */
static uint64_t mean_unit(const lsio_batch *b, const plan *p)
{
	uint64_t n = 0, sum = 0, count = p ? p->count : b->count;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t off = p ? p->units[k].off : b->offset[k], len = p ? p->units[k].len : b->length[k];
		if (off + len == (uint64_t)LSIO_SIZE_UNKNOWN) continue;
		sum += len;
		n++;
	}
	return n ? sum / n : 0;
}

/* The large transfers recent runs of this backend settled on keeping in flight
 * (pace.h): a run on this thread alone (*two = 0), or on this one and the helper
 * (*two = 1: both levels added); 0 when no level is fresh. */
static uint32_t settled_slots(const http_backend *hb, uint64_t now, int *two)
{
	uint32_t alone = pace_known(&hb->pace, hb->cap, now);
	*two = 0;
	if (alone || !hb->helper) return alone;
	uint32_t lane = pace_known(&hb->pace, (hb->cap + 1) / 2, now), help = pace_known(&hb->helper->pace, hb->cap / 2, now);
	*two = lane && help;
	return *two ? lane + help : 0;
}

uint32_t http_piece_slots(const http_backend *hb)
{
	int two;
	uint32_t settled = settled_slots(hb, now_ns(), &two);
	return settled && settled < hb->cap ? settled : hb->cap;
}

int http_read(http_backend *hb, lsio_batch *b, plan *p, const s3_settings *s3, const char *ca_file)
{
	run_ctx c = {.hb = hb, .b = b, .p = p, .s3 = s3, .ca_file = ca_file, .mean_unit = mean_unit(b, p), .start = hb->start};
	const run_ctx alone = c; /* the run on this thread only (no helper thread could start) */
	uint64_t units = p ? p->count : b->count;
	pthread_t th;
	int two = 0;
	uint64_t next = 0, all_bytes = 0;
	run_ctx h;
	uint32_t conns = hb->limits.remote_connections;
	/* Large pieces cut to a level two threads settled on (http_piece_slots) are shared as before. */
	int two_settled = 0;
	uint32_t settled = pace_bulk(c.mean_unit) ? settled_slots(hb, now_ns(), &two_settled) : 0;
	uint64_t share_at = two_settled && settled < hb->cap ? settled : hb->start ? hb->start : hb->cap;
	if (hb->cap >= HTTP_SHARE_MIN_UNITS && conns >= 2 && units >= share_at) {
		if (!hb->helper) {
			lsio_reader_info half = hb->limits;
			half.remote_connections = conns / 2; /* and this lane's multi the rest, while they share */
			http_create(&hb->helper, &half, 0); /* failing, the batch runs on this thread alone */
		}
		if (hb->helper) {
			c.shared_next = &next;
			c.shared = 1;
			c.cap = (hb->cap + 1) / 2;
			c.start = (hb->start + 1) / 2;
			if (pace_bulk(c.mean_unit) || hb->start) c.all_bytes = &all_bytes;
			h = c;
			h.hb = hb->helper;
			h.cap = hb->cap / 2;
			h.start = hb->start / 2;
			two = pthread_create(&th, NULL, helper_main, &h) == 0;
			if (two) curl.multi_setopt(hb->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)(conns - conns / 2));
			else c = alone;
		}
	}
	drive(&c);
	if (two) {
		pthread_join(th, NULL);
		c.next = next;
		curl.multi_setopt(hb->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
	}
	finish_rest(b, p, &c.t, c.next, live_load(b->cancel) ? -ECANCELED : 0, c.shared);
	tally_flush(b, &c.t);
	return 0;
}

#endif
