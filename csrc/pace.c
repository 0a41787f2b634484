/* pace.c — the large-transfer limit of pace.h: double while it pays. */
#include "pace.h"

void pace_start(pace *p, pace_memo *memo, uint32_t max, uint64_t mean_unit, uint64_t now_ns)
{
	int bulk = pace_bulk(mean_unit) && max > PACE_START;
	uint32_t known = bulk ? pace_known(memo, max, now_ns) : 0;
	uint32_t lim = !bulk ? max : known ? known : PACE_START;
	*p = (pace){
		.lim = lim,
		.max = max,
		.prev = lim,
		.hold = !bulk || known,
		.mean_unit = mean_unit,
		.t0_ns = now_ns,
		.memo = memo,
	};
}

/* Settled at p->lim: for the rest of the run, and for the runs soon after. */
static uint32_t settle_at(pace *p, uint32_t lim, uint64_t now_ns)
{
	p->lim = lim;
	p->hold = 1;
	if (p->memo) *p->memo = (pace_memo){lim, p->max, now_ns};
	return lim;
}

uint32_t pace_step(pace *p, uint64_t now_ns, uint64_t bytes)
{
	if (p->hold) return p->lim;
	uint64_t moved = bytes - p->b0, ns = now_ns - p->t0_ns;
	if (ns < PACE_MIN_EPOCH_NS || moved < (uint64_t)p->lim * p->mean_unit) return p->lim;
	uint64_t rate = (uint64_t)((double)moved * 1e9 / (double)ns); /* bytes/s */
	p->t0_ns = now_ns;
	p->b0 = bytes;
	if (!p->warm) { /* the first epoch pays for connections and first touches: not judged */
		p->warm = 1;
		return p->lim;
	}
	if (p->best && rate * 100 < p->best * (100 + PACE_GAIN_PCT)) return settle_at(p, p->prev, now_ns);
	p->best = rate;
	p->prev = p->lim;
	if (p->lim == p->max) return settle_at(p, p->max, now_ns); /* at the cap and it paid: stay */
	p->lim = p->lim * 2 < p->max ? p->lim * 2 : p->max;
	return p->lim;
}
