/*
 * test_extrapolate.c — promql_extrapolate() (promql/extrapolate.c), the rate/increase/delta
 * extrapolation shared by the evaluator and the SLO engine, on cases computed by hand with
 * Prometheus's rule: each side of the sampled interval stretches to the window boundary unless the
 * gap is >= 1.1 × the average sample interval (then by half an interval); a counter's start never
 * stretches past its zero point; rate divides by the window in seconds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "promql/extrapolate.h"

#define S(x) ((int64_t)((x) * 1000))
#define EPS 1e-12

/* A window (start_s, end_s] and its first/last samples; the delta is given already corrected. */
static promql_extrap_in win(double start_s, double end_s, double t0, double v0, double t1, double delta, size_t n,
			    bool counter, bool rate)
{
	return (promql_extrap_in){.t_first = S(t0),
				  .t_last = S(t1),
				  .v_first = v0,
				  .delta = delta,
				  .n = n,
				  .range_start = S(start_s),
				  .range_end = S(end_s),
				  .is_counter = counter,
				  .is_rate = rate};
}

/* Counter 10@15 20@30 30@45 over (0, 60]: average interval 15 s (threshold 16.5 s), both gaps 15 s
 * stretch fully; the zero point (30 s × 10/20 = 15 s before the first sample) does not cut the
 * start. factor (30 + 15 + 15) / 30 = 2: increase 40, rate 40/60. */
static void test_full_stretch(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 60, 15, 10, 45, 20, 3, true, false);
	assert_true(fabs(promql_extrapolate(&in) - 40.0) < EPS);
	in.is_rate = true;
	assert_true(fabs(promql_extrapolate(&in) - 40.0 / 60.0) < EPS);
}

/* Counter 5@15 20@30 35@45 over (0, 60]: delta 30; the counter would be zero 30 × 5/30 = 5 s before
 * the first sample, so the start stretches 5 s, not 15: factor (30 + 5 + 15) / 30, increase 50.
 * The same samples as a gauge (delta) stretch the full 15 s: 60. */
static void test_counter_zero_point(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 60, 15, 5, 45, 30, 3, true, false);
	assert_true(fabs(promql_extrapolate(&in) - 50.0) < EPS);
	in.is_rate = true;
	assert_true(fabs(promql_extrapolate(&in) - 50.0 / 60.0) < EPS);
	in.is_counter = false;
	in.is_rate = false;
	assert_true(fabs(promql_extrapolate(&in) - 60.0) < EPS);
}

/* A counter starting at 0 cannot stretch its start at all: 0@15 10@30 20@45 over (0, 60]:
 * factor (30 + 0 + 15) / 30, increase 30. A negative first value disables the limit (15 s). */
static void test_counter_from_zero(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 60, 15, 0, 45, 20, 3, true, false);
	assert_true(fabs(promql_extrapolate(&in) - 30.0) < EPS);
	in.v_first = -5;
	assert_true(fabs(promql_extrapolate(&in) - 40.0) < EPS);
}

/* Samples every 10 s (threshold 11 s): a gap of 10.9 s stretches fully, one of 11.5 s and one of
 * 30 s stretch by half an interval (5 s). Gauge 1@10.9 .. 3@30.9 over (0, 60]: start 10.9, end
 * 29.1 -> 5: factor (20 + 10.9 + 5) / 20, delta 2 -> 3.59. Shifted to 11.5 .. 31.5: both
 * capped, factor (20 + 5 + 5) / 20 -> 3. */
static void test_gap_cap(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 60, 10.9, 1, 30.9, 2, 3, false, false);
	assert_true(fabs(promql_extrapolate(&in) - 2.0 * 35.9 / 20.0) < EPS);
	in = win(0, 60, 11.5, 1, 31.5, 2, 3, false, false);
	assert_true(fabs(promql_extrapolate(&in) - 3.0) < EPS);
	in.is_rate = true;
	assert_true(fabs(promql_extrapolate(&in) - 3.0 / 60.0) < EPS);
}

/* The average interval comes from the sample count: 2 samples 0@30 60@90 over (0, 120] give an
 * interval 60 s, so 30 s gaps stretch fully (increase 120); 7 samples over the same span give
 * 10 s, so both gaps stretch 5 s: factor 70/60, increase 70. */
static void test_sample_count(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 120, 30, 1, 90, 60, 2, false, false);
	assert_true(fabs(promql_extrapolate(&in) - 120.0) < EPS);
	in.n = 7;
	assert_true(fabs(promql_extrapolate(&in) - 70.0) < EPS);
}

/* A falling gauge (delta < 0) is extrapolated the same way; the counter zero point needs a
 * positive delta, so a counter whose corrected delta is 0 keeps the full stretch (result 0). */
static void test_negative_and_zero(void **st)
{
	(void)st;
	promql_extrap_in in = win(0, 60, 15, 30, 45, -20, 3, false, false);
	assert_true(fabs(promql_extrapolate(&in) + 40.0) < EPS);
	in = win(0, 60, 15, 7, 45, 0, 3, true, true);
	assert_true(promql_extrapolate(&in) == 0.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_stretch),    cmocka_unit_test(test_counter_zero_point),
		cmocka_unit_test(test_counter_from_zero), cmocka_unit_test(test_gap_cap),
		cmocka_unit_test(test_sample_count),    cmocka_unit_test(test_negative_and_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
