/* check.h — the tiny test framework both C test programs use: CHECK,
 * CHECK_EQ, CHECK_EQ_I, REQUIRE, and the counters behind the closing line. */
#ifndef LSIO_CHECK_H
#define LSIO_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* ------------------------------------------------------------------------- */
/* A tiny test framework                                                      */
/* ------------------------------------------------------------------------- */

static int g_passed, g_failed;
static int g_case_fails;   /* failed checks in the running case */
static long g_checks;      /* checks evaluated, all cases */
static char g_case[160];

static void check_failed(const char *file, int line, const char *what)
{
	if (g_case_fails < 12) fprintf(stderr, "    FAIL %s (%s:%d): %s\n", g_case, file, line, what);
	else if (g_case_fails == 12) fprintf(stderr, "    ... more failures in %s not shown\n", g_case);
	g_case_fails++;
}

#define CHECK(cond)                                                                                        \
	do {                                                                                               \
		g_checks++;                                                                                \
		if (!(cond)) check_failed(__FILE__, __LINE__, #cond);                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                                     \
	do {                                                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);                                        \
		g_checks++;                                                                                \
		if (a_ != b_) {                                                                            \
			char m_[256];                                                                      \
			snprintf(m_, sizeof m_, "%s == %s (%lld != %lld)", #a, #b, a_, b_);                \
			check_failed(__FILE__, __LINE__, m_);                                                        \
		}                                                                                          \
	} while (0)

/* Like CHECK_EQ, with the request index in the message. */
#define CHECK_EQ_I(a, b, i)                                                                                \
	do {                                                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);                                        \
		g_checks++;                                                                                \
		if (a_ != b_) {                                                                            \
			char m_[256];                                                                      \
			snprintf(m_, sizeof m_, "[req %zu] %s == %s (%lld != %lld)", (size_t)(i), #a, #b,  \
				 a_, b_);                                                                  \
			check_failed(__FILE__, __LINE__, m_);                                                        \
		}                                                                                          \
	} while (0)

/* Stops the case: for setup failures after which nothing else makes sense. */
#define REQUIRE(cond)                                                                                      \
	do {                                                                                               \
		g_checks++;                                                                                \
		if (!(cond)) {                                                                             \
			check_failed(__FILE__, __LINE__, #cond);                                                     \
			return;                                                                            \
		}                                                                                          \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	timespec_get(&ts, TIME_UTC); /* C11: no POSIX feature macro needed */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* Case bookkeeping shared by the test programs: case_begin() after g_case is
 * named (0: LSIO_TEST_ONLY filters the case out), case_end() after it ran. */
static int case_begin(double *t0)
{
	const char *only = getenv("LSIO_TEST_ONLY"); /* run only the cases whose name has this */
	if (only && *only && !strstr(g_case, only)) return 0;
	g_case_fails = 0;
	*t0 = now_s();
	return 1;
}

static void case_end(double t0)
{
	double dt = now_s() - t0;
	if (g_case_fails) g_failed++;
	else g_passed++;
	printf("%s %-40s %7.3fs\n", g_case_fails ? "FAIL" : "ok  ", g_case, dt);
	fflush(stdout);
}

/* Runs a case that takes no configuration, named prefix + name. */
static inline void run_named_case(const char *prefix, const char *name, void (*fn)(void))
{
	snprintf(g_case, sizeof g_case, "%s%s", prefix, name);
	double t0;
	if (!case_begin(&t0)) return;
	fn();
	case_end(t0);
}

#endif
