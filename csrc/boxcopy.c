/* boxcopy.c — copy each chunk's part of a box (a crop, a selection) into the
 * output array, for a whole batch of chunks in one call: the raw-chunk path of
 * the Zarr reader, run right after the chunks were read, while they are in
 * cache. Rows are memcpy'd, or converted to float32/float64 on the way
 * ((value - offset) * scale). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(LSIO_HAVE_ZSTD)
#include <zstd.h>
#include <zstd_errors.h>
#endif

#define MAX_DIMS 32

static const uint32_t elem_size[] = {
	[LSIO_DTYPE_INT8] = 1,  [LSIO_DTYPE_UINT8] = 1,  [LSIO_DTYPE_INT16] = 2,   [LSIO_DTYPE_UINT16] = 2,
	[LSIO_DTYPE_INT32] = 4, [LSIO_DTYPE_UINT32] = 4, [LSIO_DTYPE_INT64] = 8,   [LSIO_DTYPE_UINT64] = 8,
	[LSIO_DTYPE_FLOAT32] = 4, [LSIO_DTYPE_FLOAT64] = 8,
};

/* One row of `n` elements of type `dt` at p, converted into float (f32) or double (f64) at q. */
#define CONVERT_ROW(OUT_T)                                                                                   \
	static void convert_row_##OUT_T(const uint8_t *p, OUT_T *q, size_t n, uint64_t dt, double scale,       \
					double offset)                                                          \
	{                                                                                                    \
		switch (dt) {                                                                                \
		case LSIO_DTYPE_INT8: for (size_t k = 0; k < n; k++) q[k] = (OUT_T)(((double)((const int8_t *)p)[k] - offset) * scale); break; \
		case LSIO_DTYPE_UINT8: for (size_t k = 0; k < n; k++) q[k] = (OUT_T)(((double)p[k] - offset) * scale); break; \
		case LSIO_DTYPE_INT16: for (size_t k = 0; k < n; k++) { int16_t v; memcpy(&v, p + 2 * k, 2); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_UINT16: for (size_t k = 0; k < n; k++) { uint16_t v; memcpy(&v, p + 2 * k, 2); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_INT32: for (size_t k = 0; k < n; k++) { int32_t v; memcpy(&v, p + 4 * k, 4); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_UINT32: for (size_t k = 0; k < n; k++) { uint32_t v; memcpy(&v, p + 4 * k, 4); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_INT64: for (size_t k = 0; k < n; k++) { int64_t v; memcpy(&v, p + 8 * k, 8); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_UINT64: for (size_t k = 0; k < n; k++) { uint64_t v; memcpy(&v, p + 8 * k, 8); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		case LSIO_DTYPE_FLOAT32: for (size_t k = 0; k < n; k++) { float v; memcpy(&v, p + 4 * k, 4); q[k] = (OUT_T)(((double)v - offset) * scale); } break; \
		default: for (size_t k = 0; k < n; k++) { double v; memcpy(&v, p + 8 * k, 8); q[k] = (OUT_T)((v - offset) * scale); } \
		}                                                                                            \
	}
CONVERT_ROW(float)
CONVERT_ROW(double)

LSIO_API int lsio_copy_boxes(lsio_box_copy *c)
{
	if (!c) return -EINVAL;
	if (c->codec > LSIO_CHUNK_ZSTD) return -EINVAL;
#if !defined(LSIO_HAVE_ZSTD)
	if (c->codec == LSIO_CHUNK_ZSTD) return -ENOTSUP;
#endif
	if (c->codec == LSIO_CHUNK_ZSTD && c->count && !c->length) return -EINVAL;
	const uint64_t nd = c->ndim;
	if (nd > MAX_DIMS || c->dtype < LSIO_DTYPE_INT8 || c->dtype > LSIO_DTYPE_FLOAT64) return -EINVAL;
	if (c->out_dtype != c->dtype && c->out_dtype != LSIO_DTYPE_FLOAT32 && c->out_dtype != LSIO_DTYPE_FLOAT64)
		return -EINVAL;
	if (c->count && (!c->base || !c->offset || !c->bases || !c->out)) return -EINVAL;
	/* (a 0-d array has no coordinates: origins and los may be empty) */
	if (nd && (!c->inner || !c->extent || (c->count && (!c->origins || !c->los)))) return -EINVAL;
	const size_t in_size = elem_size[c->dtype], out_size = elem_size[c->out_dtype];
	const int float_out = c->out_dtype == LSIO_DTYPE_FLOAT32 || c->out_dtype == LSIO_DTYPE_FLOAT64;
	/* A float output converts unless it is the chunks' own type with scale 1
	 * and shift 0 (then rows are memcpy'd): a float32 array read as float32
	 * with a scale is scaled. An integer output is the chunks' type, copied. */
	const int convert = c->out_dtype != c->dtype || (float_out && (c->scale != 1.0 || c->shift != 0.0));
	int64_t in_stride[MAX_DIMS], out_stride[MAX_DIMS], a[MAX_DIMS], b[MAX_DIMS], i[MAX_DIMS];
	int64_t acc = 1, acc2 = 1;
	for (int64_t d = (int64_t)nd - 1; d >= 0; d--) {
		in_stride[d] = acc, acc *= c->inner[d];
		out_stride[d] = acc2, acc2 *= c->extent[d];
	}
	const size_t chunk_bytes = (size_t)acc * in_size;
	uint8_t *scratch = NULL;
#if defined(LSIO_HAVE_ZSTD)
	ZSTD_DCtx *dctx = NULL;
	if (c->codec == LSIO_CHUNK_ZSTD && c->count) {
		scratch = malloc(chunk_bytes ? chunk_bytes : 1);
		dctx = ZSTD_createDCtx();
		if (!scratch || !dctx) {
			free(scratch);
			ZSTD_freeDCtx(dctx);
			return -ENOMEM;
		}
	}
#endif
	int rc = 0;
	for (uint64_t k = 0; k < c->count; k++) {
		if (c->status && c->status[k] != 0) continue;
		const uint64_t r = c->request ? c->request[k] : c->first + k;
		const int32_t *origin = c->origins + r * nd, *lo = c->los + r * nd;
		const uint8_t *src = c->base + c->offset[k];
		if (c->codec == LSIO_CHUNK_RAW && c->length && c->length[k] != chunk_bytes) {
			c->failed = k, rc = -EMSGSIZE;
			break;
		}
#if defined(LSIO_HAVE_ZSTD)
		if (c->codec == LSIO_CHUNK_ZSTD) { /* decoded into scratch while the frame is in cache */
			size_t got = ZSTD_decompressDCtx(dctx, scratch, chunk_bytes, src, (size_t)c->length[k]);
			if (ZSTD_isError(got) || got != chunk_bytes) {
				c->failed = k;
				rc = ZSTD_isError(got) && ZSTD_getErrorCode(got) != ZSTD_error_dstSize_tooSmall ? -EBADMSG : -EMSGSIZE;
				break;
			}
			src = scratch;
		}
#endif
		uint8_t *dst = c->out + (uint64_t)c->bases[r] * out_size;
		int empty = 0;
		for (uint64_t d = 0; d < nd; d++) {
			int64_t hi = (int64_t)lo[d] + c->extent[d], end = (int64_t)origin[d] + c->inner[d];
			a[d] = lo[d] > origin[d] ? lo[d] : origin[d];
			b[d] = hi < end ? hi : end;
			if (a[d] >= b[d]) empty = 1;
			i[d] = a[d];
		}
		if (empty) continue;
		if (nd == 0) {
			if (convert) {
				if (c->out_dtype == LSIO_DTYPE_FLOAT32) convert_row_float(src, (float *)dst, 1, c->dtype, c->scale, c->shift);
				else convert_row_double(src, (double *)dst, 1, c->dtype, c->scale, c->shift);
			} else memcpy(dst, src, in_size);
			continue;
		}
		const uint64_t last = nd - 1;
		const size_t run = (size_t)(b[last] - a[last]);
		for (;;) {
			int64_t si = 0, oi = 0;
			for (uint64_t d = 0; d < nd; d++) {
				si += (i[d] - origin[d]) * in_stride[d];
				oi += (i[d] - lo[d]) * out_stride[d];
			}
			const uint8_t *p = src + (size_t)si * in_size;
			uint8_t *q = dst + (size_t)oi * out_size;
			if (!convert) memcpy(q, p, run * in_size);
			else if (c->out_dtype == LSIO_DTYPE_FLOAT32) convert_row_float(p, (float *)(void *)q, run, c->dtype, c->scale, c->shift);
			else convert_row_double(p, (double *)(void *)q, run, c->dtype, c->scale, c->shift);
			int64_t d = (int64_t)last - 1;
			for (; d >= 0; d--) {
				if (++i[d] < b[d]) break;
				i[d] = a[d];
			}
			if (d < 0) break;
		}
	}
	free(scratch);
#if defined(LSIO_HAVE_ZSTD)
	ZSTD_freeDCtx(dctx);
#endif
	return rc;
}
