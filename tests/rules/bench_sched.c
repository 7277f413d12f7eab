/*
 * bench_sched.c — CPU cost of the rules scheduler thread in real time (not a CTest test; built as
 * rules_sched_bench). N rule groups staggered over the interval as slod staggers them (offset from a
 * hash of file and name), evaluated by the real scheduler thread on the system clock; measures the
 * process CPU time and voluntary context switches (≈ the thread's wake-ups: the main thread
 * sleeps in one nanosleep) over whole cycles, after a warm-up cycle that evaluates every group.
 *
 * Usage: rules_sched_bench [-n GROUPS (3000)] [-i INTERVAL_S (30)] [-c CYCLES (1)] [-r]
 *   -r: each group has one recording rule `vector(1)` (default: empty groups, so the numbers are
 *       the scheduler's cost plus one appender per evaluation).
 *
 * Output: the wall time of a reload of the same N groups, then
 * "groups=N cycles=C cpu_s_per_cycle=X vol_ctx_switches_per_cycle=Y".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rules/rules.h"

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	int n = 3000, interval_s = 30, cycles = 1, with_rule = 0, c;
	while ((c = getopt(argc, argv, "n:i:c:r")) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'i': interval_s = atoi(optarg); break;
		case 'c': cycles = atoi(optarg); break;
		case 'r': with_rule = 1; break;
		default:
			fprintf(stderr, "usage: %s [-n groups] [-i interval_s] [-c cycles] [-r]\n", argv[0]);
			return 2;
		}
	}
	if (n <= 0 || interval_s <= 0 || cycles <= 0)
		return 2;
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	tsdb *db = NULL;
	char err[256];
	if (tsdb_open(&to, &db, err, sizeof err) != 0) {
		fprintf(stderr, "tsdb: %s\n", err);
		return 1;
	}
	promql_engine *eng = promql_engine_new(NULL);
	rules_options o = {.db = db, .engine = eng, .default_interval_ms = (int64_t)interval_s * 1000};
	rules_manager *m = NULL;
	if (!eng || rules_manager_new(&o, &m, err, sizeof err) != 0) {
		fprintf(stderr, "manager: %s\n", err);
		return 1;
	}
	rules_group_def *gs = calloc((size_t)n, sizeof(*gs));
	char (*names)[32] = calloc((size_t)n, sizeof(*names));
	rules_rule_def rule = {.kind = RULES_RECORD, .name = "bench:one", .expr = "vector(1)"};
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "group-%d", i);
		gs[i] = (rules_group_def){.name = names[i], .file = "bench.yml", .rules = with_rule ? &rule : NULL,
					  .n_rules = with_rule ? 1 : 0};
	}
	if (rules_manager_update(m, gs, (size_t)n, err, sizeof err) != 0) {
		fprintf(stderr, "update: %s\n", err);
		return 1;
	}
	/* a reload of the same set (every group matched to its old self), timed before the thread runs */
	struct timespec r0, r1;
	clock_gettime(CLOCK_MONOTONIC, &r0);
	if (rules_manager_update(m, gs, (size_t)n, err, sizeof err) != 0 || rules_manager_start(m) != 0) {
		fprintf(stderr, "reload/start: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &r1);
	printf("reload of %d groups: %.1f ms\n", n,
	       (double)(r1.tv_sec - r0.tv_sec) * 1e3 + (double)(r1.tv_nsec - r0.tv_nsec) / 1e6);
	sleep_ms(2000); /* warm-up: the first wake-up evaluates every group */
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	sleep_ms((int64_t)cycles * interval_s * 1000);
	getrusage(RUSAGE_SELF, &b);
	double cpu = tv_s(b.ru_utime) - tv_s(a.ru_utime) + tv_s(b.ru_stime) - tv_s(a.ru_stime);
	printf("groups=%d cycles=%d cpu_s_per_cycle=%.4f (user %.4f sys %.4f) vol_ctx_switches_per_cycle=%.0f "
	       "invol_per_cycle=%.0f\n",
	       n, cycles, cpu / cycles, (tv_s(b.ru_utime) - tv_s(a.ru_utime)) / cycles,
	       (tv_s(b.ru_stime) - tv_s(a.ru_stime)) / cycles, (double)(b.ru_nvcsw - a.ru_nvcsw) / cycles,
	       (double)(b.ru_nivcsw - a.ru_nivcsw) / cycles);
	rules_manager_free(m);
	promql_engine_free(eng);
	tsdb_close(db);
	free(gs);
	free(names);
	return 0;
}
