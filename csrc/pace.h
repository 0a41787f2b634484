/* pace.h — how many large transfers one thread keeps in flight.
 *
 * Small GETs are latency-bound: requests/s = transfers in flight ÷ RTT, so
 * they run at the full `remote_inflight` when a reader sets it, and from 64
 * up to the default 256 while doubling pays when it does not
 * (pace_start_small). Large ones (a mean unit of at least
 * PACE_BULK_BYTES) are bandwidth-bound, and the number in flight that reaches
 * the bandwidth depends on the link: a store that limits each connection
 * (S3 serves one at ≈ 100 MB/s) wants many, while where a few connections
 * already fill the pipe more of them only contend for the same cores (8 ×
 * 256 MiB from versitygw on this 2-core machine, 32 MiB ranged GETs, two
 * threads: 4 in flight each beat 8 each by 10–25 % in every epoch measured).
 * So a run of large transfers starts at PACE_START and doubles the limit
 * while a doubling still adds PACE_GAIN_PCT % to the bytes/s of the epoch
 * before; the first doubling that does not is undone and the limit holds for
 * the rest of the run. The level settled on is remembered for PACE_MEMO_NS:
 * runs in that time start at it without probing again (a probe at the wrong
 * level costs a few epochs, a lot for a batch of a few hundred MiB), and the
 * planner cuts their large requests into no more pieces than it keeps in
 * flight (http_piece_slots): on a link that 4 + 4 fill, 8 × 256 MiB are 8 whole
 * GETs instead of 64 pieces of 32 MiB that wait their turn — versitygw serves
 * a whole object through splice and a part through a copy: 6.2 k against
 * 4.4 k MiB/s here. A link that pays for every transfer settles at the cap and keeps
 * its pieces. */
#ifndef LSIO_PACE_H
#define LSIO_PACE_H

#include <stdint.h>

#define PACE_BULK_BYTES (1u << 20)     /* mean unit at least this: a bandwidth-bound run */
#define PACE_START 4u                  /* transfers in flight a paced run starts with */
#define PACE_GAIN_PCT 10u              /* a doubling that adds less is undone */
#define PACE_MIN_EPOCH_NS 10000000ull  /* an epoch lasts at least 10 ms ... */
/* ... and until its transfers moved one mean unit each: every level is judged
 * on whole transfers, not on the burst of the ones just started. */
#define PACE_MEMO_NS 10000000000ull    /* a settled level is trusted this long (10 s) */
/* Small GETs of a reader left at the default in flight (pace_start_small):
 * latency-bound, a doubling there adds ≈ 100 % while the server keeps up, so
 * only a clear gain counts (a 10 ms epoch at 0 ms RTT moves by 10 % at random). */
#define PACE_SMALL_GAIN_PCT 25u
/* ... over epochs of at least 50 ms (10 ms ones at 0 ms RTT moved by ±60 %
 * over TLS), and only while the thread waits more than it works: one busy
 * more than half an epoch is CPU-bound, and more transfers cannot help it. */
#define PACE_SMALL_EPOCH_NS 50000000ull
#define PACE_SMALL_BUSY_PCT 50u

/* A run whose units average `mean_unit` bytes is bandwidth-bound: paced (and, on two threads, judged on both). */
static inline int pace_bulk(uint64_t mean_unit) { return mean_unit >= PACE_BULK_BYTES; }

/* What earlier runs settled on (one per thread's transfers; zeroed: nothing),
 * or, `probing`, where a run that ended before it settled had got to: the
 * level it was trying, the one before and that one's bytes/s, so the next run
 * goes on from there instead of from the start. */
typedef struct pace_memo {
	uint32_t lim;     /* the level held (or being tried) */
	uint32_t max;     /* under this cap */
	uint64_t at_ns;   /* when */
	int probing;      /* not settled: lim is untried, prev/best the level and bytes/s before it */
	uint32_t prev;
	uint64_t best;
} pace_memo;

typedef struct pace {
	uint32_t lim;        /* transfers in flight now */
	uint32_t max;        /* and at most (the run's cap) */
	uint32_t prev;       /* the level before the last doubling */
	int hold;            /* settled for the rest of the run */
	int warm;            /* the first epoch (connections, first touches) is over */
	uint64_t mean_unit;  /* bytes: an epoch's length is lim × this */
	uint64_t t0_ns, b0;  /* the epoch's start: time and bytes moved */
	uint64_t best;       /* bytes/s of the epoch before the doubling (0: none yet) */
	uint32_t gain_pct;   /* a doubling that adds less is undone */
	int ramp;            /* small units: a new level's first epoch (its transfers' first round trip) is not judged */
	uint64_t min_epoch_ns;
	uint64_t (*cpu_ns)(void); /* small units: the thread's CPU time (NULL: not looked at) */
	uint64_t c0;         /* its value at the epoch's start */
	pace_memo *memo;     /* where the settled level is kept (may be NULL) */
} pace;

/* The level a run capped at `max` starts at without probing: what an earlier
 * run under the same cap settled on, if that was less than PACE_MEMO_NS ago;
 * else 0. */
static inline int pace_memo_fresh(const pace_memo *memo, uint32_t max, uint64_t now_ns)
{
	return memo && memo->lim && memo->max == max && now_ns - memo->at_ns < PACE_MEMO_NS;
}
static inline uint32_t pace_known(const pace_memo *memo, uint32_t max, uint64_t now_ns)
{
	return pace_memo_fresh(memo, max, now_ns) && !memo->probing ? memo->lim : 0;
}

/* A run capped at `max` in flight whose units average `mean_unit` bytes:
 * paced when they are large (from the memo's level if it is fresh, else from
 * PACE_START), else `max` throughout. */
void pace_start(pace *p, pace_memo *memo, uint32_t max, uint64_t mean_unit, uint64_t now_ns);

/* A run of small units (latency-bound) capped at `max`, started at `start`
 * and doubled while a doubling adds PACE_SMALL_GAIN_PCT % (from the memo's
 * level if it is fresh): a store far away gets the hundreds in flight that
 * hide its round trip, a near one keeps `start`; a thread `cpu_ns` says was
 * busy most of an epoch stays where it is. `mean_unit` sets the epochs'
 * length only. */
void pace_start_small(pace *p, pace_memo *memo, uint32_t max, uint32_t start, uint64_t mean_unit,
		      uint64_t (*cpu_ns)(void), uint64_t now_ns);

/* The run is over: if it ended before it settled (a batch shorter than the
 * probe), the memo keeps where the probe was, for the next run to go on. */
void pace_end(pace *p, uint64_t now_ns);

/* With the run's body bytes so far: the limit now (changes at an epoch's end). */
uint32_t pace_step(pace *p, uint64_t now_ns, uint64_t bytes);

#endif
