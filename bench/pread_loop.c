/* pread_loop.c — the shard4k ceiling rows of bench/main.ts: the plainest
 * possible reader, one thread, one pread(2) after another, no planner, no
 * ring, no JS. It reads the selected shard files one after the other in
 * pieces of `bs` bytes, `passes` times, either into the final array (each
 * chunk at its place, as LSIO delivers) or into one reused buffer (as fio
 * does with its own buffers). The two rows side by side show what writing
 * into a final array bigger than the caches costs any one-thread reader here.
 *
 *   pread_loop <final|reuse> <bs> <passes> <file>...
 *
 * Prints one JSON line in the shape of bench/child.mjs's results. Built by
 * bench/main.ts with the repo's zig (`zig cc -O2`). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: pread_loop <final|reuse> <bs> <passes> <file>...\n");
		return 2;
	}
	int final = strcmp(argv[1], "final") == 0;
	size_t bs = strtoull(argv[2], NULL, 10);
	int passes = atoi(argv[3]);
	int nfiles = argc - 4;
	int *fds = calloc((size_t)nfiles, sizeof *fds);
	size_t *sizes = calloc((size_t)nfiles, sizeof *sizes);
	size_t total = 0;
	for (int i = 0; i < nfiles; i++) {
		fds[i] = open(argv[4 + i], O_RDONLY);
		if (fds[i] < 0) {
			fprintf(stderr, "%s: %s\n", argv[4 + i], strerror(errno));
			return 1;
		}
		sizes[i] = (size_t)lseek(fds[i], 0, SEEK_END);
		if (sizes[i] % bs) {
			fprintf(stderr, "%s: %zu bytes, not a multiple of %zu\n", argv[4 + i], sizes[i], bs);
			return 1;
		}
		total += sizes[i];
	}
	/* 4096-aligned and prefaulted, as the LSIO rows' final array. */
	uint8_t *dest = aligned_alloc(4096, final ? total : bs);
	if (!dest) return 1;
	memset(dest, 0, final ? total : bs);

	double t0 = now();
	for (int p = 0; p < passes; p++) {
		size_t at = 0;
		for (int i = 0; i < nfiles; i++) {
			for (size_t off = 0; off < sizes[i]; off += bs) {
				ssize_t got = pread(fds[i], final ? dest + at + off : dest, bs, (off_t)off);
				if (got != (ssize_t)bs) {
					fprintf(stderr, "%s: pread at %zu: %zd (%s)\n", argv[4 + i], off, got, strerror(errno));
					return 1;
				}
			}
			at += sizes[i];
		}
	}
	double seconds = now() - t0;

	/* Every 4 KiB chunk of the shard files carries the magic "LSIO" at byte 4. */
	size_t verified = 0;
	if (final) {
		for (size_t k = 0; k < total; k += 4096, verified++) {
			uint32_t magic;
			memcpy(&magic, dest + k + 4, 4);
			if (magic != 0x4f49534cu) {
				fprintf(stderr, "chunk at %zu of the final array holds the wrong bytes\n", k);
				return 1;
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"runtime\":\"c\",\"impl\":\"pread-%s\",\"chunks\":%zu,\"bytes\":%zu,\"seconds\":%.9f,"
	       "\"queue_depth\":1,\"io_threads\":1,\"threads_note\":\"one thread, pread(2)\",\"os_threads\":1,"
	       "\"threads_added\":0,\"peak_rss_self\":%ld,\"verified\":%zu,\"reads_issued\":%zu,"
	       "\"note\":\"pread(2) of %zu KiB pieces %s\"}\n",
	       argv[1], total / 4096 * (size_t)passes, total * (size_t)passes, seconds, ru.ru_maxrss * 1024L, verified,
	       total / bs * (size_t)passes, bs / 1024,
	       final ? "into the final array (each chunk at its place)" : "into one reused buffer (as fio's own buffers)");
	return 0;
}
