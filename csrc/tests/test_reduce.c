/* test_reduce.c — lsio_reduce() against a plain scalar model, every dtype:
 * sums, min/max, histograms, NaNs, skipped chunks, misaligned chunks, chunk
 * lengths that are not a multiple of the element size, bad arguments. */
#define _GNU_SOURCE
#include "lsio.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#if defined(LSIO_HAVE_ZSTD)
#include <zstd.h>
#endif

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
	return g_rng;
}

static const uint32_t k_size[] = {0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
static const char *k_name[] = {"", "int8", "uint8", "int16", "uint16", "int32", "uint32",
			       "int64", "uint64", "float32", "float64"};

static double elem(const uint8_t *p, int dt)
{
	switch (dt) {
	case LSIO_DTYPE_INT8: return (int8_t)*p;
	case LSIO_DTYPE_UINT8: return *p;
	case LSIO_DTYPE_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
	case LSIO_DTYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
	case LSIO_DTYPE_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
	case LSIO_DTYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
	case LSIO_DTYPE_INT64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
	case LSIO_DTYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
	case LSIO_DTYPE_FLOAT32: { float v; memcpy(&v, p, 4); return v; }
	default: { double v; memcpy(&v, p, 8); return v; }
	}
}

/* Fills with values whose sums are exact in double (small integers, or
 * multiples of 1/4 for floats), so the model and the vector code agree. */
static void fill(uint8_t *p, size_t n, int dt)
{
	for (size_t i = 0; i < n; i++) {
		int64_t x = (int64_t)(rnd() % 2001) - 1000;
		uint8_t *q = p + i * k_size[dt];
		switch (dt) {
		case LSIO_DTYPE_INT8: { int8_t v = (int8_t)(x % 128); memcpy(q, &v, 1); break; }
		case LSIO_DTYPE_UINT8: { uint8_t v = (uint8_t)(rnd() & 255); memcpy(q, &v, 1); break; }
		case LSIO_DTYPE_INT16: { int16_t v = (int16_t)(x * 30); memcpy(q, &v, 2); break; }
		case LSIO_DTYPE_UINT16: { uint16_t v = (uint16_t)rnd(); memcpy(q, &v, 2); break; }
		case LSIO_DTYPE_INT32: { int32_t v = (int32_t)(x * 1000003); memcpy(q, &v, 4); break; }
		case LSIO_DTYPE_UINT32: { uint32_t v = (uint32_t)rnd(); memcpy(q, &v, 4); break; }
		case LSIO_DTYPE_INT64: { int64_t v = x * 1000000007ll; memcpy(q, &v, 8); break; }
		case LSIO_DTYPE_UINT64: { uint64_t v = rnd() >> 30; memcpy(q, &v, 8); break; }
		case LSIO_DTYPE_FLOAT32: { float v = (float)x / 4; memcpy(q, &v, 4); break; }
		default: { double v = (double)x / 4; memcpy(q, &v, 8); break; }
		}
	}
}

enum { NCHUNK = 64, CHUNK = 4096 };

/* Exact, except 64-bit integers read misaligned (huge values): summed as
 * doubles in another order than the model's, so equal to 1e-12. */
static int near(double a, double b, int dt)
{
	if (dt != LSIO_DTYPE_INT64 && dt != LSIO_DTYPE_UINT64) return a == b;
	return fabs(a - b) <= 1e-12 * (fabs(a) + fabs(b)) + 1e-9;
}

static void t_every_dtype(void)
{
	uint8_t *buf = aligned_alloc(64, NCHUNK * CHUNK + 64);
	uint64_t off[NCHUNK], len[NCHUNK];
	int32_t status[NCHUNK];
	double chunk_sum[NCHUNK];
	uint64_t hist[10];
	for (int dt = LSIO_DTYPE_INT8; dt <= LSIO_DTYPE_FLOAT64; dt++) {
		snprintf(g_case, sizeof g_case, "reduce_%s", k_name[dt]);
		fill(buf, (NCHUNK * CHUNK) / k_size[dt], dt);
		double m_sum = 0, m_min = INFINITY, m_max = -INFINITY, m_chunk[NCHUNK];
		uint64_t m_hist[10] = {0}, m_elems = 0, m_below = 0, m_above = 0, m_chunks = 0;
		double lo = -500, hi = 500;
		if (dt == LSIO_DTYPE_UINT8 || dt == LSIO_DTYPE_UINT16 || dt == LSIO_DTYPE_UINT32 || dt == LSIO_DTYPE_UINT64)
			lo = 0, hi = dt == LSIO_DTYPE_UINT8 ? 200 : 1e9;
		for (int i = 0; i < NCHUNK; i++) {
			/* odd lengths (trailing partial element), odd starts (misaligned), empty chunks, skipped ones */
			off[i] = (uint64_t)i * CHUNK + (i % 7 == 3 ? 1 : 0);
			len[i] = i % 11 == 5 ? 0 : CHUNK - (uint64_t)(i % 5) * 3 - (i % 7 == 3 ? 1 : 0);
			status[i] = i % 13 == 4 ? -EIO : 0;
			m_chunk[i] = 0;
			if (status[i]) continue;
			m_chunks++;
			size_t n = len[i] / k_size[dt];
			for (size_t k = 0; k < n; k++) {
				double v = elem(buf + off[i] + k * k_size[dt], dt);
				m_chunk[i] += v;
				m_elems++;
				if (v < m_min) m_min = v;
				if (v > m_max) m_max = v;
				if (v < lo) m_below++;
				else if (v >= hi) m_above++;
				else m_hist[(int)((v - lo) * (10 / (hi - lo)))]++; /* the formula C uses */
			}
			m_sum += m_chunk[i];
		}
		lsio_reduction r;
		memset(&r, 0, sizeof r);
		memset(hist, 0, sizeof hist);
		r.count = NCHUNK, r.base = buf, r.offset = off, r.length = len, r.status = status;
		r.dtype = (uint64_t)dt;
		r.ops = LSIO_REDUCE_SUM | LSIO_REDUCE_MINMAX | LSIO_REDUCE_HIST;
		r.chunk_sum = chunk_sum, r.hist = hist, r.bins = 10, r.hist_lo = lo, r.hist_hi = hi;
		r.min = INFINITY, r.max = -INFINITY;
		double t0;
		if (!case_begin(&t0)) continue;
		CHECK_EQ(lsio_reduce(&r), 0);
		/* Integer sums are exact per chunk; the totals are far below 2^53. */
		CHECK(near(r.sum, m_sum, dt));
		CHECK(r.min == m_min);
		CHECK(r.max == m_max);
		CHECK_EQ(r.elements, m_elems);
		CHECK_EQ(r.chunks, m_chunks);
		CHECK_EQ(r.nans, 0);
		CHECK_EQ(r.below, m_below);
		CHECK_EQ(r.above, m_above);
		for (int b = 0; b < 10; b++) CHECK_EQ_I(hist[b], m_hist[b], b);
		for (int i = 0; i < NCHUNK; i++) {
			if (status[i]) CHECK(isnan(chunk_sum[i]));
			else CHECK(near(chunk_sum[i], m_chunk[i], dt));
		}
		/* accumulates: a second call over the same chunks doubles the sums */
		CHECK_EQ(lsio_reduce(&r), 0);
		CHECK(near(r.sum, 2 * m_sum, dt));
		CHECK_EQ(r.elements, 2 * m_elems);
		CHECK(r.min == m_min);
		case_end(t0);
	}
	free(buf);
}

static void t_nan(void)
{
	float f[16] __attribute__((aligned(64)));
	for (int i = 0; i < 16; i++) f[i] = (float)i;
	f[3] = NAN, f[12] = NAN;
	uint64_t off = 0, len = sizeof f, hist[4] = {0};
	lsio_reduction r;
	memset(&r, 0, sizeof r);
	r.count = 1, r.base = (const uint8_t *)f, r.offset = &off, r.length = &len;
	r.dtype = LSIO_DTYPE_FLOAT32, r.ops = LSIO_REDUCE_SUM | LSIO_REDUCE_MINMAX | LSIO_REDUCE_HIST;
	r.hist = hist, r.bins = 4, r.hist_lo = 0, r.hist_hi = 16;
	r.min = INFINITY, r.max = -INFINITY;
	CHECK_EQ(lsio_reduce(&r), 0);
	CHECK(isnan(r.sum));
	CHECK_EQ(r.nans, 2);
	CHECK_EQ(r.elements, 16);
	CHECK(r.min == 0);
	CHECK(r.max == 15);
	CHECK_EQ(hist[0] + hist[1] + hist[2] + hist[3], 14);
	CHECK_EQ(hist[0], 3); /* 0 1 2 (3 is NaN) */
}

static void t_bad_args(void)
{
	uint8_t b[64] __attribute__((aligned(64))) = {0};
	uint64_t off = 0, len = 64;
	lsio_reduction r;
	memset(&r, 0, sizeof r);
	r.count = 1, r.base = b, r.offset = &off, r.length = &len, r.ops = LSIO_REDUCE_SUM;
	CHECK_EQ(lsio_reduce(NULL), -EINVAL);
	r.dtype = 0;
	CHECK_EQ(lsio_reduce(&r), -EINVAL);
	r.dtype = 11;
	CHECK_EQ(lsio_reduce(&r), -EINVAL);
	r.dtype = LSIO_DTYPE_UINT8;
	r.ops = 1u << 7;
	CHECK_EQ(lsio_reduce(&r), -EINVAL);
	r.ops = LSIO_REDUCE_HIST; /* no bins */
	CHECK_EQ(lsio_reduce(&r), -EINVAL);
	r.ops = LSIO_REDUCE_SUM;
	r.offset = NULL;
	CHECK_EQ(lsio_reduce(&r), -EINVAL);
	r.count = 0; /* nothing to read: NULL arrays are fine */
	CHECK_EQ(lsio_reduce(&r), 0);
	CHECK_EQ(r.chunks, 0);
}

/* lsio_copy_boxes against plain index arithmetic: a 4×6×8 uint16 array in
 * 2×3×4 chunks, two boxes (one of them a single element), as uint16 and
 * converted to float32 and float64. */
static void t_copy_boxes(void)
{
	enum { A0 = 4, A1 = 6, A2 = 8, C0 = 2, C1 = 3, C2 = 4, NCH = (A0 / C0) * (A1 / C1) * (A2 / C2) };
	uint16_t chunks[NCH][C0 * C1 * C2];
	int32_t corner[NCH][3];
	int k = 0;
	for (int x = 0; x < A0; x += C0)
		for (int y = 0; y < A1; y += C1)
			for (int z = 0; z < A2; z += C2, k++) {
				corner[k][0] = x, corner[k][1] = y, corner[k][2] = z;
				for (int i = 0; i < C0 * C1 * C2; i++)
					chunks[k][i] = (uint16_t)(((x + i / (C1 * C2)) * A1 + y + i / C2 % C1) * A2 + z + i % C2);
			}
	const int32_t box_lo[2][3] = {{1, 2, 3}, {3, 5, 7}};
	const int64_t extent[3] = {2, 3, 4}, inner[3] = {C0, C1, C2};
	/* requests: every chunk for each box (chunks outside a box contribute nothing) */
	uint64_t off[2 * NCH];
	int32_t origins[2 * NCH * 3], los[2 * NCH * 3];
	double bases[2 * NCH];
	for (int r = 0; r < 2 * NCH; r++) {
		off[r] = (uint64_t)(r % NCH) * sizeof chunks[0];
		for (int d = 0; d < 3; d++) origins[r * 3 + d] = corner[r % NCH][d], los[r * 3 + d] = box_lo[r / NCH][d];
		bases[r] = (r / NCH) * 24;
	}
	for (uint64_t out_dt = LSIO_DTYPE_UINT16; out_dt <= LSIO_DTYPE_FLOAT64; out_dt++) {
		if (out_dt != LSIO_DTYPE_UINT16 && out_dt < LSIO_DTYPE_FLOAT32) continue;
		double out[48];
		memset(out, 0xff, sizeof out);
		lsio_box_copy c;
		memset(&c, 0, sizeof c);
		c.count = 2 * NCH, c.ndim = 3, c.base = (const uint8_t *)chunks, c.offset = off;
		c.inner = inner, c.extent = extent, c.origins = origins, c.los = los, c.bases = bases;
		c.out = (uint8_t *)out, c.dtype = LSIO_DTYPE_UINT16, c.out_dtype = out_dt, c.scale = 0.5, c.shift = 1;
		CHECK_EQ(lsio_copy_boxes(&c), 0);
		for (int b = 0; b < 2; b++)
			for (int i = 0; i < 24; i++) {
				int x = box_lo[b][0] + i / 12, y = box_lo[b][1] + i / 4 % 3, z = box_lo[b][2] + i % 4;
				int inside = x < A0 && y < A1 && z < A2;
				double want = (x * A1 + y) * A2 + z, got;
				if (out_dt == LSIO_DTYPE_UINT16) got = ((uint16_t *)out)[b * 24 + i];
				else if (out_dt == LSIO_DTYPE_FLOAT32) got = ((float *)out)[b * 24 + i], want = (want - 1) * 0.5;
				else got = out[b * 24 + i], want = (want - 1) * 0.5;
				if (inside) CHECK_EQ_I(got == want, 1, b * 24 + i);
			}
	}
	lsio_box_copy bad;
	memset(&bad, 0, sizeof bad);
	CHECK_EQ(lsio_copy_boxes(NULL), -EINVAL);
	bad.dtype = LSIO_DTYPE_UINT16, bad.out_dtype = LSIO_DTYPE_INT32; /* converts only to floats */
	CHECK_EQ(lsio_copy_boxes(&bad), -EINVAL);
	bad.out_dtype = LSIO_DTYPE_UINT16, bad.ndim = 33;
	CHECK_EQ(lsio_copy_boxes(&bad), -EINVAL);
}

/* The zstd path: frames decoded and copied like raw chunks; a broken frame
 * and a frame of the wrong size are refused, naming the chunk; a raw chunk of
 * the wrong length too. */
static void t_copy_boxes_zstd(void)
{
	uint16_t chunk[2][64];
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 64; i++) chunk[k][i] = (uint16_t)(k * 1000 + i);
	const int64_t inner[2] = {8, 8}, extent[2] = {8, 16};
	int32_t origins[4] = {0, 0, 0, 8}, los[4] = {0, 0, 0, 0};
	double bases[2] = {0, 0};
	uint16_t out[128];
	lsio_box_copy c;
	memset(&c, 0, sizeof c);
	c.count = 2, c.ndim = 2, c.inner = inner, c.extent = extent, c.origins = origins, c.los = los;
	c.bases = bases, c.out = (uint8_t *)out, c.dtype = c.out_dtype = LSIO_DTYPE_UINT16;
#if defined(LSIO_HAVE_ZSTD)
	uint8_t frames[2][256];
	uint64_t off[2], len[2];
	for (int k = 0; k < 2; k++) {
		size_t n = ZSTD_compress(frames[k], sizeof frames[k], chunk[k], sizeof chunk[k], 3);
		REQUIRE(!ZSTD_isError(n));
		off[k] = (uint64_t)k * sizeof frames[0], len[k] = n;
	}
	c.base = (const uint8_t *)frames, c.offset = off, c.length = len, c.codec = LSIO_CHUNK_ZSTD;
	memset(out, 0, sizeof out);
	CHECK_EQ(lsio_copy_boxes(&c), 0);
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 16; x++) CHECK_EQ_I(out[y * 16 + x], (x / 8) * 1000 + y * 8 + x % 8, y * 16 + x);
	frames[1][0] ^= 0xff; /* broken frame: not a zstd magic number */
	CHECK(lsio_copy_boxes(&c) < 0);
	CHECK_EQ(c.failed, 1);
	frames[1][0] ^= 0xff;
	const int64_t bigger[2] = {8, 16}; /* a frame that decodes to fewer bytes than the chunk shape */
	c.inner = bigger;
	CHECK_EQ(lsio_copy_boxes(&c), -EMSGSIZE);
	c.inner = inner;
#else
	c.codec = LSIO_CHUNK_ZSTD;
	CHECK_EQ(lsio_copy_boxes(&c), -ENOTSUP);
#endif
	/* raw with lengths: a chunk of the wrong size is refused, never read */
	uint64_t roff[2] = {0, sizeof chunk[0]}, rlen[2] = {sizeof chunk[0], 10};
	c.codec = LSIO_CHUNK_RAW, c.base = (const uint8_t *)chunk, c.offset = roff, c.length = rlen;
	CHECK_EQ(lsio_copy_boxes(&c), -EMSGSIZE);
	CHECK_EQ(c.failed, 1);
}

/* A float output of the chunks' own type is scaled (float32 → float32 with a
 * scale was memcpy'd once); scale 1, shift 0 copies the bits exactly (NaN
 * payloads and -0 included); a 0-d array (no coordinates, NULL origins/los)
 * copies its one element, raw and converted. */
static void t_copy_boxes_same_type_and_0d(void)
{
	float chunk[4] = {1.5f, -0.0f, 4.0f, 8.0f};
	uint32_t nan_bits = 0x7fc00123u;
	memcpy(&chunk[3], &nan_bits, 4);
	const int64_t inner[1] = {4}, extent[1] = {4};
	int32_t origins[1] = {0}, los[1] = {0};
	double bases[1] = {0};
	uint64_t off[1] = {0};
	float out[4];
	lsio_box_copy c;
	memset(&c, 0, sizeof c);
	c.count = 1, c.ndim = 1, c.base = (const uint8_t *)chunk, c.offset = off, c.inner = inner, c.extent = extent;
	c.origins = origins, c.los = los, c.bases = bases, c.out = (uint8_t *)out;
	c.dtype = c.out_dtype = LSIO_DTYPE_FLOAT32, c.scale = 2, c.shift = 1;
	CHECK_EQ(lsio_copy_boxes(&c), 0);
	CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 6.0f && out[3] != out[3]);
	c.scale = 1, c.shift = 0; /* a plain copy: the same bits */
	CHECK_EQ(lsio_copy_boxes(&c), 0);
	CHECK_EQ(memcmp(out, chunk, sizeof out), 0);
	/* 0-d: one element, no coordinates */
	int16_t one = -42;
	double d_out = 0;
	lsio_box_copy z;
	memset(&z, 0, sizeof z);
	z.count = 1, z.ndim = 0, z.base = (const uint8_t *)&one, z.offset = off, z.bases = bases;
	z.out = (uint8_t *)&d_out, z.dtype = LSIO_DTYPE_INT16, z.out_dtype = LSIO_DTYPE_FLOAT64, z.scale = 0.5, z.shift = 0;
	CHECK_EQ(lsio_copy_boxes(&z), 0);
	CHECK(d_out == -21.0);
	int16_t i_out = 0;
	z.out = (uint8_t *)&i_out, z.out_dtype = LSIO_DTYPE_INT16;
	CHECK_EQ(lsio_copy_boxes(&z), 0);
	CHECK_EQ(i_out, -42);
}

static void run_case(const char *name, void (*fn)(void)) { run_named_case("reduce_", name, fn); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("lsio reduce tests\n");
	t_every_dtype();
	run_case("nan", t_nan);
	run_case("bad_args", t_bad_args);
	run_case("copy_boxes", t_copy_boxes);
	run_case("copy_boxes_zstd", t_copy_boxes_zstd);
	run_case("copy_boxes_same_type_and_0d", t_copy_boxes_same_type_and_0d);
	printf("%ld checks\n", g_checks);
	printf("%d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
