/* pace.c — the transfer limits of pace.h: double while it pays. */
#include "pace.h"

/* A run capped at `max` from `start` (0: at `max`, never changed), or from the memo's fresh level. */
static void begin(pace *p, pace_memo *memo, uint32_t max, uint32_t start, uint32_t gain_pct, int ramp,
		  uint64_t mean_unit, uint64_t now_ns)
{
	uint32_t known = start ? pace_known(memo, max, now_ns) : 0;
	uint32_t lim = !start ? max : known ? known : start;
	*p = (pace){
		.lim = lim,
		.max = max,
		.prev = lim,
		.hold = !start || known,
		.mean_unit = mean_unit,
		.t0_ns = now_ns,
		.memo = memo,
		.gain_pct = gain_pct,
		.ramp = ramp,
		.min_epoch_ns = ramp ? PACE_SMALL_EPOCH_NS : PACE_MIN_EPOCH_NS,
	};
	/* A probe an earlier run left unfinished: try its level (after a warm-up epoch) against its best. */
	if (start && !known && pace_memo_fresh(memo, max, now_ns) && memo->probing) {
		p->lim = memo->lim;
		p->prev = memo->prev;
		p->best = memo->best;
	}
}

void pace_end(pace *p, uint64_t now_ns)
{
	if (p->hold || !p->memo || !p->best) return; /* settled (memo written), or nothing judged yet */
	*p->memo = (pace_memo){.lim = p->lim, .max = p->max, .at_ns = now_ns, .probing = 1, .prev = p->prev, .best = p->best};
}

void pace_start(pace *p, pace_memo *memo, uint32_t max, uint64_t mean_unit, uint64_t now_ns)
{
	int bulk = pace_bulk(mean_unit) && max > PACE_START;
	begin(p, memo, max, bulk ? PACE_START : 0, PACE_GAIN_PCT, 0, mean_unit, now_ns);
}

void pace_start_small(pace *p, pace_memo *memo, uint32_t max, uint32_t start, uint64_t mean_unit,
		      uint64_t (*cpu_ns)(void), uint64_t now_ns)
{
	begin(p, memo, max, start && start < max ? start : 0, PACE_SMALL_GAIN_PCT, 1, mean_unit, now_ns);
	p->cpu_ns = cpu_ns;
	p->c0 = cpu_ns ? cpu_ns() : 0;
}

/* Settled at p->lim: for the rest of the run, and for the runs soon after. */
static uint32_t settle_at(pace *p, uint32_t lim, uint64_t now_ns)
{
	p->lim = lim;
	p->hold = 1;
	if (p->memo) *p->memo = (pace_memo){.lim = lim, .max = p->max, .at_ns = now_ns};
	return lim;
}

uint32_t pace_step(pace *p, uint64_t now_ns, uint64_t bytes)
{
	if (p->hold) return p->lim;
	uint64_t moved = bytes - p->b0, ns = now_ns - p->t0_ns;
	if (ns < p->min_epoch_ns || moved < (uint64_t)p->lim * p->mean_unit) return p->lim;
	uint64_t rate = (uint64_t)((double)moved * 1e9 / (double)ns); /* bytes/s */
	uint64_t cpu = p->cpu_ns ? p->cpu_ns() : 0, busy = cpu - p->c0;
	p->t0_ns = now_ns;
	p->b0 = bytes;
	p->c0 = cpu;
	if (!p->warm) { /* the first epoch pays for connections and first touches (and, with ramp, each level's): not judged */
		p->warm = 1;
		return p->lim;
	}
	if (p->best && rate * 100 < p->best * (100 + p->gain_pct)) return settle_at(p, p->prev, now_ns);
	p->best = rate;
	p->prev = p->lim;
	if (p->lim == p->max) return settle_at(p, p->max, now_ns); /* at the cap and it paid: stay */
	if (p->cpu_ns && busy * 100 > ns * PACE_SMALL_BUSY_PCT) return settle_at(p, p->lim, now_ns); /* CPU-bound */
	p->lim = p->lim * 2 < p->max ? p->lim * 2 : p->max;
	p->warm = !p->ramp;
	return p->lim;
}
