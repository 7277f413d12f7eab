/*
 * inflight.c — per-request query deadlines and cancellation on shutdown.
 *
 * Query handlers register an api_inflight node (on their own stack) for the duration of an
 * evaluation; the engine polls node->cancel. A watchdog thread sleeps until the earliest deadline
 * and raises cancel on expired nodes (timed_out tells the handler to answer "timeout" rather than
 * "canceled"). api__inflight_shutdown() raises cancel on every node and on nodes registered later,
 * so a SIGTERM does not wait for long queries.
 *
 * Layout: a doubly linked list of nodes guarded by s->q_lock; the watchdog waits on s->q_cond
 * (CLOCK_MONOTONIC). Costs: O(1) add/remove, O(in-flight) per watchdog wake-up.
 */
#include "api/internal.h"

#include <errno.h>
#include <time.h>

#include "util/clock.h"

static void *watchdog(void *arg)
{
	api_server *s = arg;
	pthread_mutex_lock(&s->q_lock);
	while (!s->q_stop) {
		int64_t now = slod_monotonic_ms();
		int64_t next = now + 1000;
		for (api_inflight *n = s->q_head; n; n = n->next) {
			if (n->deadline_ms && n->deadline_ms <= now && !n->cancel) {
				n->timed_out = true;
				__atomic_store_n(&n->cancel, 1, __ATOMIC_RELAXED);
			} else if (n->deadline_ms && n->deadline_ms < next) {
				next = n->deadline_ms;
			}
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait = next - now;
		if (wait < 1)
			wait = 1;
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->q_cond, &s->q_lock, &ts);
	}
	pthread_mutex_unlock(&s->q_lock);
	return NULL;
}

int api__inflight_init(api_server *s)
{
	pthread_condattr_t ca;
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->q_cond, &ca);
	pthread_condattr_destroy(&ca);
	s->q_head = NULL;
	s->q_stop = false;
	s->q_shutting_down = false;
	if (pthread_create(&s->q_thread, NULL, watchdog, s) != 0) {
		pthread_cond_destroy(&s->q_cond);
		pthread_mutex_destroy(&s->q_lock);
		return -1;
	}
	s->q_started = true;
	return 0;
}

void api__inflight_shutdown(api_server *s)
{
	if (!s->q_started)
		return;
	pthread_mutex_lock(&s->q_lock);
	s->q_shutting_down = true;
	for (api_inflight *n = s->q_head; n; n = n->next)
		__atomic_store_n(&n->cancel, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->q_lock);
}

void api__inflight_deinit(api_server *s)
{
	if (!s->q_started)
		return;
	pthread_mutex_lock(&s->q_lock);
	s->q_stop = true;
	pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
	pthread_join(s->q_thread, NULL);
	pthread_cond_destroy(&s->q_cond);
	pthread_mutex_destroy(&s->q_lock);
	s->q_started = false;
}

void api__inflight_add(api_server *s, api_inflight *n, int64_t timeout_ms)
{
	n->cancel = 0;
	n->timed_out = false;
	n->deadline_ms = timeout_ms > 0 ? slod_monotonic_ms() + timeout_ms : 0;
	n->prev = NULL;
	pthread_mutex_lock(&s->q_lock);
	n->next = s->q_head;
	if (s->q_head)
		s->q_head->prev = n;
	s->q_head = n;
	if (s->q_shutting_down)
		n->cancel = 1;
	if (n->deadline_ms)
		pthread_cond_signal(&s->q_cond); /* the watchdog may need to wake earlier */
	pthread_mutex_unlock(&s->q_lock);
}

void api__inflight_remove(api_server *s, api_inflight *n)
{
	pthread_mutex_lock(&s->q_lock);
	if (n->prev)
		n->prev->next = n->next;
	else
		s->q_head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	pthread_mutex_unlock(&s->q_lock);
}
