/*
 * test_clock.c — util/clock.h: manual clock and slod_deadline_in_ms (the absolute deadlines every
 * background thread hands to pthread_cond_timedwait).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "util/clock.h"

static int64_t ts_ms(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_manual(void **state)
{
	(void)state;
	int64_t cell = 1700000000000;
	slod_clock c = slod_clock_manual(&cell);
	assert_int_equal(slod_clock_now(&c), 1700000000000);
	cell += 1500;
	assert_int_equal(slod_clock_now(&c), 1700000001500);
}

/* The deadline is normalised and lies ms after the clock's current time, for both clocks and for
 * offsets whose millisecond part carries into the seconds. */
static void test_deadline(void **state)
{
	(void)state;
	const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
	const int64_t offs[] = {0, 1, 999, 1000, 1001, 1999, 61234, 3600 * 1000};
	for (int c = 0; c < 2; c++) {
		for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
			struct timespec before, after;
			clock_gettime(clocks[c], &before);
			struct timespec d = slod_deadline_in_ms(clocks[c], offs[i]);
			clock_gettime(clocks[c], &after);
			assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
			assert_true(ts_ms(d) >= ts_ms(before) + offs[i]);
			assert_true(ts_ms(d) <= ts_ms(after) + offs[i]);
		}
	}
}

static void test_deadline_negative(void **state)
{
	(void)state;
	struct timespec before;
	clock_gettime(CLOCK_MONOTONIC, &before);
	struct timespec d = slod_deadline_in_ms(CLOCK_MONOTONIC, -5000);
	assert_true(ts_ms(d) >= ts_ms(before));
	assert_true(ts_ms(d) < ts_ms(before) + 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manual),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_deadline_negative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
