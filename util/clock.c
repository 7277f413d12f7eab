/*
 * clock.c — system and manual clocks; see clock.h.
 */
#include "util/clock.h"

#include <time.h>

static int64_t system_now(void *ud)
{
	struct timespec ts;
	(void)ud;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t manual_now(void *ud)
{
	return *(int64_t *)ud;
}

slod_clock slod_clock_system(void)
{
	slod_clock c = {system_now, NULL};
	return c;
}

slod_clock slod_clock_manual(int64_t *ms_cell)
{
	slod_clock c = {manual_now, ms_cell};
	return c;
}

struct timespec slod_deadline_in_ms(clockid_t clock_id, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	if (ms < 0)
		ms = 0;
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int64_t slod_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
