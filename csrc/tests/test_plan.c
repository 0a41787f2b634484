/* test_plan.c — unit tests of the IO planner's plan shapes (csrc/plan.c), run by
 * `zig build test` after test_core.c.
 *
 * Each case builds a synthetic batch (resolved offsets/lengths, no files),
 * runs plan_build() with the thresholds of one storage profile (src/profiles.ts;
 * "ram" here is the API default: gap 0) and checks the exact units: kind,
 * file range, requests covered, plan_reads/plan_bytes, whether an order array
 * was needed. A few cases check what unit_piece() asks the OS for. The last
 * case times planning 10^6 sorted and 10^6 shuffled requests (printed, not
 * asserted; LSIO_PLAN_TIMING_N changes the count).
 *
 * Output: one line per case, then "N passed, M failed". Exit 0 only when
 * nothing failed. LSIO_TEST_ONLY=<text> runs only the cases whose name has it. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KiB (1024ull)
#define MiB (1024ull * 1024ull)

#include "check.h"

/* ------------------------------------------------------------------------- */
/* Profiles and synthetic batches                                             */
/* ------------------------------------------------------------------------- */

typedef struct profile {
	const char *name;
	uint64_t gap, max, split;
} profile;

static const profile RAM = {"ram", 0, 256 * KiB, 0}; /* the API default (src/reader.ts DEFAULT_PLAN) */
static const profile NVME = {"nvme", 4 * KiB, 256 * KiB, 0};
static const profile SSD = {"ssd", 32 * KiB, 512 * KiB, 0};
static const profile HDD = {"hdd", 1 * MiB, 8 * MiB, 0};
static const profile CLOUD = {"cloud", 1 * MiB, 16 * MiB, 8 * MiB};

/* Destinations are addresses in a pretend address space (dest_base NULL):
 * plan_build only compares them, nothing is read here. */
#define DEST0 ((uint64_t)1 << 40)

typedef struct tb {
	uint64_t n;
	uint32_t *file;
	uint64_t *offset, *length, *dest;
	int32_t *status;
	lsio_batch b;
	plan p;
	int planned;
	uint32_t slots; /* plan_build's transfers in flight (0: split_size as it is) */
} tb;

static tb *tb_new(uint64_t n)
{
	tb *t = calloc(1, sizeof *t);
	if (!t) abort();
	t->n = n;
	size_t k = n ? (size_t)n : 1;
	t->file = calloc(k, sizeof *t->file);
	t->offset = calloc(k, sizeof *t->offset);
	t->length = calloc(k, sizeof *t->length);
	t->dest = calloc(k, sizeof *t->dest);
	t->status = calloc(k, sizeof *t->status);
	if (!t->file || !t->offset || !t->length || !t->dest || !t->status) abort();
	t->b.count = n;
	t->b.file_count = 8;
	t->b.file = t->file;
	t->b.offset = t->offset;
	t->b.length = t->length;
	t->b.dest = t->dest;
	t->b.status = t->status;
	return t;
}

/* Request i: file f, [off, off+len), landing at DEST0 + dest. */
static void tb_set(tb *t, uint64_t i, uint32_t f, uint64_t off, uint64_t len, uint64_t dest)
{
	t->file[i] = f;
	t->offset[i] = off;
	t->length[i] = len;
	t->dest[i] = DEST0 + dest;
	t->status[i] = 0;
}

static int tb_plan(tb *t, const profile *pr, int direct)
{
	if (t->planned) plan_free(&t->p);
	t->b.merge_gap = pr->gap;
	t->b.merge_max = pr->max;
	t->b.split_size = pr->split;
	t->b.plan_reads = t->b.plan_bytes = 0;
	int rc = plan_build(&t->b, &t->p, direct, t->slots);
	t->planned = rc == 0;
	return rc;
}

static void tb_free(tb *t)
{
	if (t->planned) plan_free(&t->p);
	free(t->file);
	free(t->offset);
	free(t->length);
	free(t->dest);
	free(t->status);
	free(t);
}

/* The expected shape of one unit. */
static void check_unit(const tb *t, uint64_t k, int kind, uint32_t file, uint64_t off, uint64_t len, uint32_t first,
		       uint32_t count)
{
	if (k >= t->p.count) {
		CHECK(k < t->p.count);
		return;
	}
	const unit *u = &t->p.units[k];
	CHECK_EQ(u->kind, kind);
	CHECK_EQ(u->file, file);
	CHECK_EQ(u->off, off);
	CHECK_EQ(u->len, len);
	CHECK_EQ(u->first, first);
	CHECK_EQ(u->count, count);
}

/* plan_reads, plan_bytes, units, needs_bounce. */
static void check_totals(const tb *t, uint64_t units, uint64_t bytes, int bounce)
{
	CHECK_EQ(t->p.count, units);
	CHECK_EQ(t->b.plan_reads, units);
	CHECK_EQ(t->b.plan_bytes, bytes);
	CHECK_EQ(t->p.needs_bounce, bounce);
	uint64_t sum = 0;
	for (uint64_t k = 0; k < t->p.count; k++) sum += t->p.units[k].len;
	CHECK_EQ(sum, t->b.plan_bytes);
}

/* Every third 4 KiB block of a 1 MiB file: 86 requests, packed in memory. */
static tb *every_third_block(void)
{
	tb *t = tb_new(86);
	for (uint64_t k = 0; k < 86; k++) tb_set(t, k, 0, k * 12 * KiB, 4 * KiB, k * 4 * KiB);
	return t;
}

/* ------------------------------------------------------------------------- */
/* Cases                                                                      */
/* ------------------------------------------------------------------------- */

/* hdd: one readv of the whole MiB (gaps into scratch); O_DIRECT: one COPY. */
static void t_hdd_every_third_block(void)
{
	tb *t = every_third_block();
	REQUIRE(tb_plan(t, &HDD, 0) == 0);
	CHECK(t->p.order == NULL); /* already sorted: no order array */
	check_totals(t, 1, 1 * MiB, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, 1 * MiB, 0, 86);
	REQUIRE(tb_plan(t, &HDD, 1) == 0);
	check_totals(t, 1, 1 * MiB, 1);
	check_unit(t, 0, UNIT_COPY, 0, 0, 1 * MiB, 0, 86);
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0); /* cloud merges the same way (gap 1 MiB) */
	check_totals(t, 1, 1 * MiB, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, 1 * MiB, 0, 86);
	tb_free(t);
}

/* ram and nvme: an 8 KiB gap is too much; one read per block. */
static void t_ram_nvme_every_third_block(void)
{
	tb *t = every_third_block();
	const profile *ps[] = {&RAM, &NVME};
	for (int j = 0; j < 2; j++) {
		REQUIRE(tb_plan(t, ps[j], 0) == 0);
		CHECK(t->p.order == NULL);
		check_totals(t, 86, 86 * 4 * KiB, 0);
		for (uint32_t k = 0; k < 86; k++) check_unit(t, k, UNIT_SINGLE, 0, k * 12 * KiB, 4 * KiB, k, 1);
	}
	tb_free(t);
}

/* ssd: 8 KiB gaps merge (<= 32 KiB) up to 512 KiB: 43 blocks per read. */
static void t_ssd_every_third_block(void)
{
	tb *t = every_third_block();
	REQUIRE(tb_plan(t, &SSD, 0) == 0);
	uint64_t len = 42 * 12 * KiB + 4 * KiB; /* 520192: the 44th block would pass 512 KiB */
	check_totals(t, 2, 2 * len, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, len, 0, 43);
	check_unit(t, 1, UNIT_VEC, 0, 43 * 12 * KiB, len, 43, 43);
	tb_free(t);
}

/* Back to back in the file and in memory: one plain read (CONTIG), capped by merge_max. */
static void t_contig(void)
{
	tb *t = tb_new(65);
	for (uint64_t k = 0; k < 65; k++) tb_set(t, k, 0, 1 * MiB + k * 4 * KiB, 4 * KiB, k * 4 * KiB);
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	check_totals(t, 2, 65 * 4 * KiB, 0);
	check_unit(t, 0, UNIT_CONTIG, 0, 1 * MiB, 256 * KiB, 0, 64); /* exactly merge_max */
	check_unit(t, 1, UNIT_SINGLE, 0, 1 * MiB + 256 * KiB, 4 * KiB, 64, 1);
	REQUIRE(tb_plan(t, &RAM, 1) == 0); /* O_DIRECT reads CONTIG straight in too */
	check_totals(t, 2, 65 * 4 * KiB, 0);
	check_unit(t, 0, UNIT_CONTIG, 0, 1 * MiB, 256 * KiB, 0, 64);
	REQUIRE(tb_plan(t, &HDD, 0) == 0);
	check_totals(t, 1, 65 * 4 * KiB, 0);
	check_unit(t, 0, UNIT_CONTIG, 0, 1 * MiB, 65 * 4 * KiB, 0, 65);
	tb_free(t);
}

/* Back to back in the file but not in memory: readv (VEC); O_DIRECT: COPY. */
static void t_adjacent_scattered(void)
{
	tb *t = tb_new(4);
	static const uint64_t dests[4] = {3, 0, 2, 1};
	for (uint64_t k = 0; k < 4; k++) tb_set(t, k, 0, k * 1000, 1000, dests[k] * 4096);
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	check_totals(t, 1, 4000, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, 4000, 0, 4);
	REQUIRE(tb_plan(t, &RAM, 1) == 0);
	check_totals(t, 1, 4000, 1);
	check_unit(t, 0, UNIT_COPY, 0, 0, 4000, 0, 4);
	tb_free(t);
}

/* Duplicates and overlaps are read once (COPY), even with gap 0 and O_DIRECT off. */
static void t_duplicates_overlaps(void)
{
	tb *t = tb_new(5);
	tb_set(t, 0, 0, 4096, 4096, 0);
	tb_set(t, 1, 0, 4096, 4096, 8192); /* duplicate */
	tb_set(t, 2, 0, 4096, 4096, 16384); /* duplicate */
	tb_set(t, 3, 1, 0, 100, 24576);
	tb_set(t, 4, 1, 50, 100, 32768); /* overlaps request 3 */
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	CHECK(t->p.order == NULL);
	check_totals(t, 2, 4096 + 150, 1);
	check_unit(t, 0, UNIT_COPY, 0, 4096, 4096, 0, 3);
	check_unit(t, 1, UNIT_COPY, 1, 0, 150, 3, 2);
	/* merge_max 0: no merging at all, duplicates are read separately */
	profile nomerge = {"nomerge", 0, 0, 0};
	REQUIRE(tb_plan(t, &nomerge, 0) == 0);
	check_totals(t, 5, 3 * 4096 + 200, 0);
	for (uint32_t k = 0; k < 5; k++) CHECK_EQ(t->p.units[k].kind, UNIT_SINGLE);
	/* a request inside another one */
	tb *s = tb_new(2);
	tb_set(s, 0, 0, 0, 64 * KiB, 0);
	tb_set(s, 1, 0, 1000, 10, 64 * KiB);
	REQUIRE(tb_plan(s, &NVME, 0) == 0);
	check_totals(s, 1, 64 * KiB, 1);
	check_unit(s, 0, UNIT_COPY, 0, 0, 64 * KiB, 0, 2);
	tb_free(s);
	tb_free(t);
}

/* Gaps: within merge_gap a readv (VEC), or COPY with O_DIRECT; one byte more: apart. */
static void t_gaps(void)
{
	tb *t = tb_new(2);
	tb_set(t, 0, 0, 0, 4 * KiB, 8 * KiB);
	tb_set(t, 1, 0, 8 * KiB, 4 * KiB, 0);
	REQUIRE(tb_plan(t, &NVME, 0) == 0); /* gap 4 KiB == merge_gap */
	check_totals(t, 1, 12 * KiB, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, 12 * KiB, 0, 2);
	REQUIRE(tb_plan(t, &NVME, 1) == 0);
	check_totals(t, 1, 12 * KiB, 1);
	check_unit(t, 0, UNIT_COPY, 0, 0, 12 * KiB, 0, 2);
	t->offset[1] += 1; /* gap 4 KiB + 1 */
	REQUIRE(tb_plan(t, &NVME, 0) == 0);
	check_totals(t, 2, 8 * KiB, 0);
	check_unit(t, 0, UNIT_SINGLE, 0, 0, 4 * KiB, 0, 1);
	check_unit(t, 1, UNIT_SINGLE, 0, 8 * KiB + 1, 4 * KiB, 1, 1);
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	check_totals(t, 2, 8 * KiB, 0);
	tb_free(t);
}

/* cloud: a 20 MiB request is read as 8 + 8 + 4 MiB pieces in flight at once;
 * its small neighbours are units of their own. */
static void t_cloud_split(void)
{
	tb *t = tb_new(3);
	tb_set(t, 0, 0, 0, 4 * KiB, 0);
	tb_set(t, 1, 0, 8 * KiB, 20 * MiB, 4 * KiB);
	tb_set(t, 2, 0, 8 * KiB + 20 * MiB + 100, 4 * KiB, 4 * KiB + 20 * MiB);
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	check_totals(t, 5, 20 * MiB + 8 * KiB, 0);
	check_unit(t, 0, UNIT_SINGLE, 0, 0, 4 * KiB, 0, 1);
	check_unit(t, 1, UNIT_PIECE, 0, 8 * KiB, 8 * MiB, 1, 1);
	check_unit(t, 2, UNIT_PIECE, 0, 8 * KiB + 8 * MiB, 8 * MiB, 1, 1);
	check_unit(t, 3, UNIT_PIECE, 0, 8 * KiB + 16 * MiB, 4 * MiB, 1, 1);
	check_unit(t, 4, UNIT_SINGLE, 0, 8 * KiB + 20 * MiB + 100, 4 * KiB, 2, 1);
	for (int k = 1; k <= 3; k++) {
		CHECK_EQ(t->p.units[k].head, 1);
		CHECK_EQ(t->p.units[k].pending, 3);
	}
	/* exactly split_size: not split */
	t->length[1] = 8 * MiB;
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	check_totals(t, 2, 8 * KiB + 8 * MiB + 4 * KiB, 0); /* merged with the first (gap 4 KiB), not the last (12 MiB) */
	check_unit(t, 0, UNIT_VEC, 0, 0, 8 * KiB + 8 * MiB, 0, 2);
	check_unit(t, 1, UNIT_SINGLE, 0, 8 * KiB + 20 * MiB + 100, 4 * KiB, 2, 1);
	tb_free(t);
}

/* With transfers in flight to fill (remote reads), pieces are split_size
 * unless that makes more of them than transfers: 8 objects of 256 MiB over 64
 * transfers are 64 pieces of 32 MiB, not 256 of 8 MiB; one object is still 32
 * pieces of 8 MiB; one transfer reads a 20 MiB request whole. */
static void t_cloud_split_slots(void)
{
	tb *t = tb_new(8);
	for (uint32_t i = 0; i < 8; i++) tb_set(t, i, i, 0, 256 * MiB, (uint64_t)i * 256 * MiB);
	t->slots = 64;
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	CHECK_EQ(plan_split_size(&t->b, 64), 32 * MiB);
	check_totals(t, 64, 8 * 256 * MiB, 0);
	for (uint32_t k = 0; k < 64; k++) {
		CHECK_EQ(t->p.units[k].kind, UNIT_PIECE);
		CHECK_EQ(t->p.units[k].len, 32 * MiB);
		CHECK_EQ(t->p.units[k].off, (uint64_t)(k % 8) * 32 * MiB);
		CHECK_EQ(t->p.units[k].pending, 8);
	}
	tb_free(t);

	t = tb_new(1);
	tb_set(t, 0, 0, 0, 256 * MiB, 0);
	t->slots = 64;
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	check_totals(t, 32, 256 * MiB, 0);
	CHECK_EQ(t->p.units[31].len, 8 * MiB);
	tb_free(t);

	t = tb_new(1);
	tb_set(t, 0, 0, 0, 20 * MiB, 0);
	t->slots = 1;
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	check_totals(t, 1, 20 * MiB, 0);
	check_unit(t, 0, UNIT_SINGLE, 0, 0, 20 * MiB, 0, 1);
	t->slots = 0; /* no bound: split_size pieces */
	REQUIRE(tb_plan(t, &CLOUD, 0) == 0);
	check_totals(t, 3, 20 * MiB, 0);
	tb_free(t);
}

/* The same requests sorted or shuffled make the same units; only the
 * unsorted input needs an order array. */
static void t_sorted_vs_unsorted(void)
{
	enum { N = 300 };
	tb *s = tb_new(N), *u = tb_new(N);
	for (uint64_t k = 0; k < N; k++) {
		uint32_t f = (uint32_t)(k / 100);
		uint64_t off = (k % 100) * 10 * KiB + (k % 7) * 512;
		tb_set(s, k, f, off, 4 * KiB + (k % 3) * 1024, k * 8 * KiB);
	}
	uint32_t perm[N];
	for (uint32_t k = 0; k < N; k++) perm[k] = k;
	uint64_t rng = 12345;
	for (uint32_t k = N; k > 1; k--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t j = (uint32_t)((rng >> 33) % k), x = perm[k - 1];
		perm[k - 1] = perm[j];
		perm[j] = x;
	}
	for (uint32_t k = 0; k < N; k++) {
		uint32_t r = perm[k];
		tb_set(u, k, s->file[r], s->offset[r], s->length[r], s->dest[r] - DEST0);
	}
	const profile *ps[] = {&RAM, &NVME, &SSD, &HDD, &CLOUD};
	for (int j = 0; j < 5; j++) {
		REQUIRE(tb_plan(s, ps[j], 0) == 0);
		REQUIRE(tb_plan(u, ps[j], 0) == 0);
		CHECK(s->p.order == NULL);
		REQUIRE(u->p.order != NULL);
		CHECK_EQ(s->p.count, u->p.count);
		CHECK_EQ(s->b.plan_bytes, u->b.plan_bytes);
		for (uint64_t k = 0; k < s->p.count && k < u->p.count; k++) {
			const unit *a = &s->p.units[k], *b = &u->p.units[k];
			CHECK_EQ(a->kind, b->kind);
			CHECK_EQ(a->file, b->file);
			CHECK_EQ(a->off, b->off);
			CHECK_EQ(a->len, b->len);
			CHECK_EQ(a->first, b->first);
			CHECK_EQ(a->count, b->count);
		}
		for (uint32_t pos = 0; pos < N; pos++) CHECK_EQ(perm[u->p.order[pos]], pos);
	}
	/* the shapes: 3 files of 100 requests, 10 KiB apart */
	REQUIRE(tb_plan(s, &RAM, 0) == 0);
	for (uint64_t k = 0; k < s->p.count; k++) CHECK_EQ(s->p.units[k].kind, UNIT_SINGLE);
	CHECK_EQ(s->p.count, 300);
	REQUIRE(tb_plan(s, &HDD, 0) == 0);
	CHECK_EQ(s->p.count, 3); /* one read per file */
	for (uint32_t f = 0; f < 3; f++) {
		CHECK_EQ(s->p.units[f].file, f);
		CHECK_EQ(s->p.units[f].first, f * 100);
		CHECK_EQ(s->p.units[f].count, 100);
		CHECK_EQ(s->p.units[f].kind, UNIT_VEC);
	}
	tb_free(s);
	tb_free(u);
}

/* Units never span files, even back to back at the same offsets. */
static void t_files_apart(void)
{
	tb *t = tb_new(4);
	tb_set(t, 0, 1, 0, 4096, 0);
	tb_set(t, 1, 0, 0, 4096, 8192);
	tb_set(t, 2, 1, 4096, 4096, 4096);
	tb_set(t, 3, 0, 4096, 4096, 16384);
	REQUIRE(tb_plan(t, &HDD, 0) == 0);
	REQUIRE(t->p.order != NULL);
	CHECK_EQ(t->p.order[0], 1);
	CHECK_EQ(t->p.order[1], 3);
	CHECK_EQ(t->p.order[2], 0);
	CHECK_EQ(t->p.order[3], 2);
	check_totals(t, 2, 16384, 0);
	check_unit(t, 0, UNIT_VEC, 0, 0, 8192, 0, 2); /* adjacent in the file, not in memory */
	check_unit(t, 1, UNIT_CONTIG, 1, 0, 8192, 2, 2);
	tb_free(t);
}

/* Failed and zero-length requests are read by no unit; an open unit takes
 * them in so its requests stay consecutive in the order. */
static void t_dead_requests(void)
{
	tb *t = tb_new(6);
	tb_set(t, 0, 0, 0, 0, 0); /* zero-length before any unit: left out */
	tb_set(t, 1, 0, 100, 100, 0);
	tb_set(t, 2, 0, 150, 0, 0); /* zero-length inside */
	tb_set(t, 3, 0, 200, 0, 0);
	t->status[3] = -ERANGE; /* failed in RESOLVE */
	tb_set(t, 4, 0, 200, 100, 200);
	tb_set(t, 5, 0, 300, 0, 0);
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	CHECK(t->p.order == NULL);
	check_totals(t, 1, 200, 0);
	/* requests 1..5: 2 live (back to back in the file, not in memory: a readv), 3 dead */
	check_unit(t, 0, UNIT_VEC, 0, 100, 200, 1, 5);
	REQUIRE(tb_plan(t, &(profile){"nomerge", 0, 0, 0}, 0) == 0);
	check_totals(t, 2, 200, 0);
	check_unit(t, 0, UNIT_SINGLE, 0, 100, 100, 1, 3); /* one live request + two dead taken in: SINGLE */
	check_unit(t, 1, UNIT_SINGLE, 0, 200, 100, 4, 2);
	/* only dead requests: no unit at all */
	tb *d = tb_new(3);
	tb_set(d, 0, 0, 0, 0, 0);
	tb_set(d, 1, 0, 5, 0, 0);
	d->status[1] = -ERANGE;
	tb_set(d, 2, 0, 0, 0, 0);
	REQUIRE(tb_plan(d, &HDD, 0) == 0);
	check_totals(d, 0, 0, 0);
	CHECK(d->p.order != NULL); /* (0, 5) then (0, 0): not in order */
	tb_free(d);
	tb *e = tb_new(0);
	REQUIRE(tb_plan(e, &HDD, 0) == 0);
	check_totals(e, 0, 0, 0);
	CHECK(e->p.order == NULL);
	tb_free(e);
	tb_free(t);
}

/* merge_max bounds merged reads; a single request longer than it is still one read. */
static void t_merge_max(void)
{
	tb *t = tb_new(3);
	tb_set(t, 0, 0, 0, 300 * KiB, 0);
	tb_set(t, 1, 0, 300 * KiB, 4 * KiB, 300 * KiB);
	tb_set(t, 2, 0, 304 * KiB, 4 * KiB, 304 * KiB);
	REQUIRE(tb_plan(t, &RAM, 0) == 0);
	check_totals(t, 2, 308 * KiB, 0);
	check_unit(t, 0, UNIT_SINGLE, 0, 0, 300 * KiB, 0, 1);
	check_unit(t, 1, UNIT_CONTIG, 0, 300 * KiB, 8 * KiB, 1, 2);
	tb_free(t);
}

/* merge_gap UINT64_MAX ("any gap") merges everything of a file: the gap test
 * must not overflow (it did: off <= end + gap wrapped around). */
static void t_gap_unbounded(void)
{
	tb *t = tb_new(3);
	tb_set(t, 0, 0, 100, 10, 0);
	tb_set(t, 1, 0, 105, 10, 64);   /* overlaps */
	tb_set(t, 2, 0, 1 << 30, 10, 128); /* 1 GiB further */
	profile all = {"all", UINT64_MAX, UINT64_MAX, 0};
	REQUIRE(tb_plan(t, &all, 0) == 0);
	check_totals(t, 1, (1 << 30) + 10 - 100, 1);
	check_unit(t, 0, UNIT_COPY, 0, 100, (1 << 30) + 10 - 100, 0, 3);
	profile nearly = {"nearly", UINT64_MAX - 1, 100, 0};
	REQUIRE(tb_plan(t, &nearly, 0) == 0);
	check_totals(t, 2, 15 + 10, 1);
	check_unit(t, 0, UNIT_COPY, 0, 100, 15, 0, 2);
	check_unit(t, 1, UNIT_SINGLE, 0, 1 << 30, 10, 2, 1);
	tb_free(t);
}

/* What unit_piece() asks for: a readv with the gap into scratch, a COPY
 * window aligned for O_DIRECT, an unaligned O_DIRECT edge through the bounce. */
static void t_unit_piece(void)
{
	static uint8_t mem[64 * KiB] __attribute__((aligned(4096)));
	static uint8_t bounce[LSIO_BOUNCE_BYTES] __attribute__((aligned(4096)));
	static uint8_t scratch[1000];
	struct iovec iov[4];
	unit_space sp = {iov, 4, bounce, scratch, sizeof scratch};
	tb *t = tb_new(2);
	t->b.dest_base = mem;
	tb_set(t, 0, 0, 0, 100, 0);
	tb_set(t, 1, 0, 2600, 100, 4096);
	t->dest[0] = 8192;
	t->dest[1] = 4096;
	profile pr = {"p", 4096, 1 * MiB, 0};
	REQUIRE(tb_plan(t, &pr, 0) == 0);
	REQUIRE(t->p.count == 1);
	const unit *u = &t->p.units[0];
	CHECK_EQ(u->kind, UNIT_VEC);
	/* 100 bytes, then a 2500 byte gap in 1000-byte bits, then 100 bytes: 3 of the 4 iovecs (one kept spare) */
	unit_io io = unit_piece(&t->b, &t->p, u, 0, 0, &sp);
	CHECK_EQ(io.niov, 3);
	CHECK_EQ(io.len, 2100);
	CHECK(iov[0].iov_base == mem + 8192 && iov[0].iov_len == 100);
	CHECK(iov[1].iov_base == scratch && iov[1].iov_len == 1000);
	CHECK(iov[2].iov_base == scratch && iov[2].iov_len == 1000);
	CHECK_EQ(unit_apply(&t->b, &t->p, u, 0, &io, 2100), 2100);
	io = unit_piece(&t->b, &t->p, u, 2100, 0, &sp); /* the rest: 500 of gap, then request 1 */
	CHECK_EQ(io.niov, 2);
	CHECK_EQ(io.file_off, 2100);
	CHECK_EQ(io.len, 600);
	CHECK(iov[0].iov_base == scratch && iov[0].iov_len == 500);
	CHECK(iov[1].iov_base == mem + 4096 && iov[1].iov_len == 100);
	io = unit_piece(&t->b, &t->p, u, 2650, 0, &sp); /* after a short read, mid-request */
	CHECK_EQ(io.niov, 1);
	CHECK(iov[0].iov_base == mem + 4096 + 50 && iov[0].iov_len == 50);

	/* the same with O_DIRECT: a COPY unit, read in a 4096-aligned window */
	REQUIRE(tb_plan(t, &pr, 1) == 0);
	u = &t->p.units[0];
	CHECK_EQ(u->kind, UNIT_COPY);
	io = unit_piece(&t->b, &t->p, u, 0, 4096, &sp);
	CHECK(io.bounce && io.buf == bounce);
	CHECK_EQ(io.file_off, 0);
	CHECK_EQ(io.len, 4096);
	CHECK_EQ(io.skip, 0);
	for (int k = 0; k < 4096; k++) bounce[k] = (uint8_t)(k * 7);
	memset(mem, 0, sizeof mem);
	CHECK_EQ(unit_apply(&t->b, &t->p, u, 0, &io, 4096), 2700);
	CHECK(mem[8192] == 0 && mem[8192 + 99] == (uint8_t)(99 * 7));
	CHECK(mem[4096] == (uint8_t)(2600 * 7) && mem[4096 + 99] == (uint8_t)(2699 * 7));
	CHECK(mem[4096 + 100] == 0 && mem[8192 + 100] == 0);

	/* O_DIRECT SINGLE at an unaligned offset: the edge through the bounce, then aligned reads in place */
	tb *s = tb_new(1);
	s->b.dest_base = mem;
	tb_set(s, 0, 0, 4000, 8288, 0);
	s->dest[0] = 4096 - 96; /* so that file offset 4096 lands at mem + 4096 */
	REQUIRE(tb_plan(s, &pr, 1) == 0);
	u = &s->p.units[0];
	CHECK_EQ(u->kind, UNIT_SINGLE);
	io = unit_piece(&s->b, &s->p, u, 0, 4096, &sp);
	CHECK(io.bounce);
	CHECK_EQ(io.file_off, 0);
	CHECK_EQ(io.skip, 4000);
	CHECK_EQ(io.len, 12288);
	CHECK_EQ(unit_apply(&s->b, &s->p, u, 0, &io, 4096), 96); /* a short read: the edge only */
	io = unit_piece(&s->b, &s->p, u, 96, 4096, &sp);
	CHECK(!io.bounce && io.buf == mem + 4096);
	CHECK_EQ(io.file_off, 4096);
	CHECK_EQ(io.len, 8192);
	tb_free(s);
	tb_free(t);
}

/* Planning time of many requests: 4 KiB every 8 KiB over 16 files, sorted,
 * then the same shuffled. Printed, not asserted. */
static void t_timing(void)
{
	uint64_t n = 1000000;
	const char *env = getenv("LSIO_PLAN_TIMING_N");
	if (env) n = strtoull(env, NULL, 0);
	if (n == 0) return;
	tb *s = tb_new(n), *u = tb_new(n);
	s->b.file_count = u->b.file_count = 16;
	for (uint64_t k = 0; k < n; k++) tb_set(s, k, (uint32_t)(k * 16 / n), (k % ((n + 15) / 16)) * 8 * KiB, 4 * KiB, k * 4 * KiB);
	uint32_t *perm = malloc((size_t)n * sizeof *perm);
	REQUIRE(perm);
	for (uint64_t k = 0; k < n; k++) perm[k] = (uint32_t)k;
	uint64_t rng = 99;
	for (uint64_t k = n; k > 1; k--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t j = (rng >> 20) % k;
		uint32_t x = perm[k - 1];
		perm[k - 1] = perm[j];
		perm[j] = x;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint32_t r = perm[k];
		tb_set(u, k, s->file[r], s->offset[r], s->length[r], s->dest[r] - DEST0);
	}
	free(perm);
	const profile *ps[] = {&RAM, &HDD};
	for (int j = 0; j < 2; j++) {
		for (int k = 0; k < 2; k++) { /* free the last plans outside the timing */
			tb *x = k ? u : s;
			if (x->planned) plan_free(&x->p);
			x->planned = 0;
		}
		double t0 = now_s();
		REQUIRE(tb_plan(s, ps[j], 0) == 0);
		double t1 = now_s();
		REQUIRE(tb_plan(u, ps[j], 0) == 0);
		double t2 = now_s();
		CHECK(s->p.order == NULL);
		CHECK(u->p.order != NULL);
		CHECK_EQ(s->p.count, u->p.count);
		CHECK_EQ(s->b.plan_bytes, u->b.plan_bytes);
		/* (int64_t) casts: an unsigned-to-double conversion compiles to an
		 * AVX-512 instruction on such hosts, which valgrind cannot run. */
		printf("    plan %llu requests (%s): sorted %.1f ms (plan_ns %.1f ms), shuffled %.1f ms (plan_ns %.1f ms); "
		       "%llu units\n",
		       (unsigned long long)n, ps[j]->name, (t1 - t0) * 1e3, (double)(int64_t)s->b.plan_ns * 1e-6, (t2 - t1) * 1e3,
		       (double)(int64_t)u->b.plan_ns * 1e-6, (unsigned long long)s->p.count);
	}
	tb_free(s);
	tb_free(u);
}

/* ------------------------------------------------------------------------- */

static void run_case(const char *name, void (*fn)(void)) { run_named_case("plan_", name, fn); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("lsio plan tests (sizeof(unit) %zu)\n", sizeof(unit));
	run_case("hdd_every_third_block", t_hdd_every_third_block);
	run_case("ram_nvme_every_third_block", t_ram_nvme_every_third_block);
	run_case("ssd_every_third_block", t_ssd_every_third_block);
	run_case("contig", t_contig);
	run_case("adjacent_scattered", t_adjacent_scattered);
	run_case("duplicates_overlaps", t_duplicates_overlaps);
	run_case("gaps", t_gaps);
	run_case("cloud_split", t_cloud_split);
	run_case("cloud_split_slots", t_cloud_split_slots);
	run_case("sorted_vs_unsorted", t_sorted_vs_unsorted);
	run_case("files_apart", t_files_apart);
	run_case("dead_requests", t_dead_requests);
	run_case("merge_max", t_merge_max);
	run_case("gap_unbounded", t_gap_unbounded);
	run_case("unit_piece", t_unit_piece);
	run_case("timing", t_timing);
	printf("%ld checks\n", g_checks);
	printf("%d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
