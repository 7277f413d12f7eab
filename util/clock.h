/*
 * clock.h — an injectable clock. Production code reads time through a slod_clock so that tests can
 * drive windows, `for` durations and retries without sleeping.
 */
#ifndef SLOD_UTIL_CLOCK_H
#define SLOD_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef struct slod_clock {
	int64_t (*now_ms)(void *ud); /* wall-clock milliseconds since the Unix epoch */
	void *ud;
} slod_clock;

/* The real clock (CLOCK_REALTIME). */
slod_clock slod_clock_system(void);
/* A manual clock reading *ms_cell; tests advance the cell. The cell must outlive the clock. */
slod_clock slod_clock_manual(int64_t *ms_cell);
static inline int64_t slod_clock_now(const slod_clock *c)
{
	return c->now_ms(c->ud);
}
/* Monotonic milliseconds for measuring durations. */
int64_t slod_monotonic_ms(void);
/* The absolute time ms milliseconds from now on clock_id (CLOCK_REALTIME for a default condition
 * variable, CLOCK_MONOTONIC for one created with pthread_condattr_setclock), normalised
 * (0 <= tv_nsec < 1e9), for pthread_cond_timedwait. ms < 0 counts as 0. Never fails. */
struct timespec slod_deadline_in_ms(clockid_t clock_id, int64_t ms);

#endif
