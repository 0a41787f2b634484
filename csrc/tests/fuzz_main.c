/* fuzz_main.c — a standalone driver for the fuzz target in fuzz_plan.c, so it
 * runs without libFuzzer (zig build fuzz-smoke, csrc/tests/run.sh).
 *
 *   lsio_fuzz_smoke [N [SEED]]   N seeded pseudo-random inputs (default 200000)
 *   lsio_fuzz_smoke FILE...      replays inputs (e.g. a crash file libFuzzer saved)
 *
 * Prints "fuzz-smoke: N inputs, F failures"; exit 0 only when F is 0. The
 * first failing input is written to $LSIO_FUZZ_CRASH (default
 * /tmp/lsio-fuzz-crash.bin) so `lsio_fuzz_smoke FILE` or the libFuzzer binary
 * can replay it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int fuzz_abort_on_failure;
extern uint64_t fuzz_failures;
extern struct fuzz_stats {
	uint64_t inputs, requests, live, units, kinds[5], simulated, skipped, reads, short_reads, eio, shrunk,
		cancelled, direct;
} fuzz_stats;

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void save(const uint8_t *d, size_t n)
{
	const char *path = getenv("LSIO_FUZZ_CRASH");
	if (!path) path = "/tmp/lsio-fuzz-crash.bin";
	FILE *f = fopen(path, "wb");
	if (!f) return;
	fwrite(d, 1, n, f);
	fclose(f);
	fprintf(stderr, "failing input (%zu bytes) saved to %s\n", n, path);
}

static int is_number(const char *s)
{
	if (!*s) return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9') return 0;
	return 1;
}

int main(int argc, char **argv)
{
	fuzz_abort_on_failure = 0;
	if (argc > 1 && !is_number(argv[1])) { /* replay files */
		for (int a = 1; a < argc; a++) {
			FILE *f = fopen(argv[a], "rb");
			if (!f) {
				perror(argv[a]);
				return 2;
			}
			static uint8_t buf[1 << 20];
			size_t n = fread(buf, 1, sizeof buf, f);
			fclose(f);
			uint64_t before = fuzz_failures;
			LLVMFuzzerTestOneInput(buf, n);
			printf("%s: %s\n", argv[a], fuzz_failures == before ? "ok" : "FAILED");
		}
		printf("fuzz-smoke: %d inputs, %llu failures\n", argc - 1, (unsigned long long)fuzz_failures);
		return fuzz_failures ? 1 : 0;
	}
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed1e55ull;
	uint64_t s = seed;
	static uint8_t buf[4096];
	struct timespec t0, t1;
	timespec_get(&t0, TIME_UTC);
	int saved = 0;
	for (uint64_t i = 0; i < n; i++) {
		/* mostly short inputs (few requests), now and then long ones (hundreds) */
		uint64_t r = next(&s), size;
		if (r % 100 < 45) size = next(&s) % 48;
		else if (r % 100 < 90) size = next(&s) % 400;
		else size = next(&s) % sizeof buf;
		for (size_t k = 0; k < size; k += 8) {
			uint64_t v = next(&s);
			memcpy(buf + k, &v, size - k < 8 ? size - k : 8);
		}
		uint64_t before = fuzz_failures;
		LLVMFuzzerTestOneInput(buf, size);
		if (fuzz_failures != before) {
			fprintf(stderr, "input %llu (seed 0x%llx) failed\n", (unsigned long long)i,
				(unsigned long long)seed);
			if (!saved++) save(buf, size);
			if (fuzz_failures >= 10) {
				n = i + 1;
				break;
			}
		}
	}
	timespec_get(&t1, TIME_UTC);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	printf("requests %llu (live %llu), units %llu (single %llu, contig %llu, vec %llu, copy %llu, piece %llu)\n",
	       (unsigned long long)fuzz_stats.requests, (unsigned long long)fuzz_stats.live,
	       (unsigned long long)fuzz_stats.units, (unsigned long long)fuzz_stats.kinds[0],
	       (unsigned long long)fuzz_stats.kinds[1], (unsigned long long)fuzz_stats.kinds[2],
	       (unsigned long long)fuzz_stats.kinds[3], (unsigned long long)fuzz_stats.kinds[4]);
	printf("simulated %llu batches (%llu too costly, planned only), %llu reads (%llu short, %llu EIO), "
	       "%llu direct, %llu cancelled, %llu shrunk files; %.1f s\n",
	       (unsigned long long)fuzz_stats.simulated, (unsigned long long)fuzz_stats.skipped,
	       (unsigned long long)fuzz_stats.reads, (unsigned long long)fuzz_stats.short_reads,
	       (unsigned long long)fuzz_stats.eio, (unsigned long long)fuzz_stats.direct,
	       (unsigned long long)fuzz_stats.cancelled, (unsigned long long)fuzz_stats.shrunk, secs);
	printf("fuzz-smoke: %llu inputs, %llu failures\n", (unsigned long long)n, (unsigned long long)fuzz_failures);
	return fuzz_failures ? 1 : 0;
}
