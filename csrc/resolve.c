/* resolve.c — turn requested ranges into absolute (offset, length) pairs
 * before any read, and lay chunks out in one slab. */
#include "internal.h"

#include <string.h>

int is_remote_path(const char *path)
{
	return strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0 || is_s3_path(path);
}

/* STAT: the size of every local file of the batch (or -errno); remote[f]
 * set (remote may be NULL): sized by the http backend instead. */
int batch_stat(lsio_batch *b, const uint8_t *remote)
{
	for (uint64_t f = 0; f < b->file_count; f++) {
		if (remote && remote[f]) continue;
		int64_t size = 0;
		int rc = os_file_size(b->paths + b->path_offsets[f], &size);
		b->file_size[f] = rc < 0 ? rc : size;
	}
	return 0;
}

/* Resolves one range against a file size. Returns 0 or -ERANGE. */
static int resolve_range(int64_t start, int64_t end, int64_t size, int truncate, uint64_t *off, uint64_t *len)
{
	int64_t s = start < 0 ? size + start : start;
	int64_t e = end == LSIO_OPEN_END ? size : end < 0 ? size + end : end;
	/* A pure suffix (start < 0, no end) longer than the file is the whole
	 * file, as an HTTP `Range: bytes=-N` or an object store answers it. */
	if (s < 0 && end == LSIO_OPEN_END) s = 0;
	if (s < 0) {
		if (!truncate) return -ERANGE;
		s = 0;
	}
	if (e > size) {
		if (!truncate) return -ERANGE;
		e = size;
	}
	if (s > size) {
		if (!truncate) return -ERANGE;
		s = size;
	}
	if (e < s) {
		if (!truncate) return -ERANGE;
		e = s;
	}
	*off = (uint64_t)s;
	*len = (uint64_t)(e - s);
	return 0;
}

/* RESOLVE (after STAT): offset, length and status of every request. */
void batch_resolve(lsio_batch *b)
{
	int truncate = (b->flags & LSIO_BATCH_TRUNCATE_EOF) != 0;
	for (uint64_t i = 0; i < b->count; i++) {
		uint32_t f = b->file[i];
		int32_t st;
		if (f >= b->file_count) {
			st = -EINVAL;
		} else if (b->file_size[f] < 0) {
			st = (int32_t)b->file_size[f];
		} else {
			uint64_t off = 0, len = 0;
			st = resolve_range(b->start[i], b->end[i], b->file_size[f], truncate, &off, &len);
			if (st == 0 && len > b->length[i]) st = -ENOBUFS;
			b->offset[i] = off;
			b->length[i] = st == 0 ? len : 0;
		}
		b->status[i] = st;
		if (st != 0) {
			b->length[i] = 0;
			live_add(b->failed, 1);
			live_add(b->chunks_done, 1);
		}
	}
}

/* LAYOUT: each chunk at the next multiple of layout_align in one slab; the
 * slab is padded by one more alignment unit so SIMD may run past a chunk's
 * last byte. */
void batch_layout(lsio_batch *b)
{
	uint64_t align = b->layout_align ? b->layout_align : 64;
	uint64_t cursor = 0;
	for (uint64_t i = 0; i < b->count; i++) {
		cursor = round_up(cursor, align);
		b->dest[i] = cursor;
		if (b->status[i] == 0) cursor += b->length[i];
	}
	b->layout_bytes = round_up(cursor, align) + align;
}
