/*
 * clock.h — an injectable clock. Production code reads time through a slod_clock so that tests can
 * drive windows, `for` durations and retries without sleeping.
 */
#ifndef SLOD_UTIL_CLOCK_H
#define SLOD_UTIL_CLOCK_H

#include <stdint.h>

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

#endif
