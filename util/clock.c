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

int64_t slod_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
