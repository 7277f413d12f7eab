/*
 * sched.c — the rules scheduler: which groups are due, at which timestamp each is evaluated, and
 * the thread that wakes up to evaluate them.
 *
 * Slots: group g with interval I is evaluated at timestamps t ≡ offset(g) (mod I), where offset(g)
 * = (XXH3(name) ^ XXH3(file)) mod I, so groups are staggered over the interval as Prometheus
 * staggers them. g->next_eval_ms is the next slot not yet evaluated; 0 means "not scheduled yet"
 * (a new group, or one whose interval changed on reload): the first step that sees it sets it to
 * the latest slot <= now, so a new group is evaluated at once.
 *
 * Data layout (all guarded by rules_manager.mu):
 *   m->heap[0 .. n_groups)   binary min-heap of indices into m->groups, keyed by (next_eval_ms,
 *                            index): heap[0] is due first; equal times go to the group listed
 *                            first. A not-yet-scheduled group (key 0) sorts before all others.
 *   m->due[0 .. n_groups)    scratch for one step: the due groups and their evaluation slots, and
 *                            the stack of the batching walk. Allocated with the heap, so a step
 *                            never allocates.
 * rules_manager_update allocates both for the new group array and calls r__sched_rebuild (O(n))
 * when it swaps the arrays under mu; carried-over groups keep their next_eval_ms.
 *
 * Invariants (under mu, between steps): the heap holds every group index exactly once and is
 * heap-ordered; each group's next_eval_ms is 0 or one of its slots; no group has been evaluated at
 * a slot > its last step's clock time (never early).
 *
 * One step (tick_locked) at clock time now: pop every group with next_eval_ms <= now (k due
 * groups; the others are not looked at), take for each the latest slot <= now (skipped slots are
 * added to g->missed and logged: the process was paused or evaluation fell behind), sort the k by
 * (slot, index), evaluate them in that order, each at exactly its own slot timestamp, and push each
 * back with next_eval_ms = slot + I. Each group is evaluated at most once per step.
 *
 * Batching (the thread): after a step the thread sleeps until the next due slot d, moved later to
 * the last slot in [d, d + batch_ms] (R__SCHED_BATCH_MS) so that groups due a few ms apart are
 * evaluated in one wake-up — each still at its own slot timestamp, at most batch_ms late on the
 * wall clock, never early. Finding that slot walks the heap nodes with keys <= d + batch_ms (a
 * heap's subtree under a node has no smaller key, so the walk stops at larger ones). Sleeps are
 * capped at 1 s, and rules_manager_update signals the condition variable (new groups are due now).
 *
 * Costs: a step with k due groups costs O(k log n) heap work, O(k log k) sorting, plus the k
 * evaluations; with n groups staggered over the interval (uniform offsets, mean gap I/n) a cycle
 * has about I / (batch_ms + I/n) wake-ups: 1,500 for n = 3,000, I = 30 s (the scan it replaced
 * woke ~n times per cycle and looked at all n groups each time: 9 M checks).
 *
 * Locking: mu is held for a whole step (all its evaluations; rules.mu → alerting.mu through
 * on_alerts, → tsdb locks through promql and appenders); the thread releases it only while it
 * sleeps. rules_manager_update and rules_manager_snapshot wait for a running step.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "rules/rules_int.h"
#include "util/clock.h"

/* ---- slots ---- */

static int64_t group_offset(const r__group *g)
{
	uint64_t h = XXH3_64bits(g->name, strlen(g->name)) ^ XXH3_64bits(g->file, strlen(g->file));
	return (int64_t)(h % (uint64_t)g->interval_ms);
}

/* The first slot >= t for group g. */
static int64_t slot_at_or_after(const r__group *g, int64_t t)
{
	int64_t off = group_offset(g), iv = g->interval_ms;
	int64_t k = (t - off + iv - 1) / iv;
	if (t - off < 0)
		k = -((off - t) / iv);
	int64_t s = off + k * iv;
	while (s < t)
		s += iv;
	return s;
}

/* ---- heap of group indices keyed by (next_eval_ms, index) ---- */

static bool before(rules_manager *m, uint32_t a, uint32_t b)
{
	int64_t ka = m->groups[a].next_eval_ms, kb = m->groups[b].next_eval_ms;
	m->sched_stats.heap_cmps++;
	return ka < kb || (ka == kb && a < b);
}

static void sift_down(rules_manager *m, size_t i)
{
	size_t n = m->n_heap;
	uint32_t x = m->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(m, m->heap[c + 1], m->heap[c]))
			c++;
		if (!before(m, m->heap[c], x))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	m->heap[i] = x;
}

static void sift_up(rules_manager *m, size_t i)
{
	uint32_t x = m->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(m, x, m->heap[p]))
			break;
		m->heap[i] = m->heap[p];
		i = p;
	}
	m->heap[i] = x;
}

static uint32_t heap_pop(rules_manager *m)
{
	uint32_t top = m->heap[0];
	m->heap[0] = m->heap[--m->n_heap];
	if (m->n_heap)
		sift_down(m, 0);
	return top;
}

static void heap_push(rules_manager *m, uint32_t gi)
{
	m->heap[m->n_heap++] = gi;
	sift_up(m, m->n_heap - 1);
}

void r__sched_rebuild(rules_manager *m)
{
	m->n_heap = m->n_groups;
	for (size_t i = 0; i < m->n_groups; i++)
		m->heap[i] = (uint32_t)i;
	for (size_t i = m->n_heap / 2; i-- > 0;)
		sift_down(m, i);
}

/* ---- one step ---- */

static int cmp_due(const void *a, const void *b)
{
	const r__due *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (x->group > y->group) - (x->group < y->group);
}

/* Evaluates every group due at the clock's now, in (slot, index) order; returns the count.
 * Caller holds mu. */
static int tick_locked(rules_manager *m)
{
	int64_t now = slod_clock_now(&m->clock);
	size_t k = 0;
	m->sched_stats.steps++;
	while (m->n_heap) {
		m->sched_stats.checks++;
		r__group *g = &m->groups[m->heap[0]];
		if (g->next_eval_ms > now)
			break;
		uint32_t gi = heap_pop(m);
		if (!g->next_eval_ms) /* not scheduled yet: the latest slot <= now */
			g->next_eval_ms = slot_at_or_after(g, now - g->interval_ms + 1);
		int64_t latest = g->next_eval_ms + (now - g->next_eval_ms) / g->interval_ms * g->interval_ms;
		if (latest > g->next_eval_ms) {
			uint64_t missed = (uint64_t)((latest - g->next_eval_ms) / g->interval_ms);
			g->missed += missed;
			slod_log(&m->logger, SLOD_LOG_WARN, "rules",
				 "group %s: %llu evaluation(s) missed (evaluation slower than the %lld ms interval or the "
				 "process was paused)",
				 g->name, (unsigned long long)missed, (long long)g->interval_ms);
		}
		m->due[k++] = (r__due){latest, gi};
	}
	if (k > 1)
		qsort(m->due, k, sizeof(r__due), cmp_due);
	for (size_t i = 0; i < k; i++) {
		r__group *g = &m->groups[m->due[i].group];
		r__group_eval(m, g, m->due[i].slot);
		g->next_eval_ms = m->due[i].slot + g->interval_ms;
		heap_push(m, m->due[i].group);
	}
	m->sched_stats.evaluations += k;
	return (int)k;
}

/* The clock time at which the thread should look again: the next due slot d, or the last slot in
 * [d, d + batch_ms] so that one wake-up takes them all; INT64_MAX without groups. Caller holds mu;
 * uses m->due as the walk's stack (each heap node is pushed at most once: <= n_groups entries). */
static int64_t next_wake_locked(rules_manager *m)
{
	if (!m->n_heap)
		return INT64_MAX;
	int64_t d = m->groups[m->heap[0]].next_eval_ms;
	if (d == 0 || m->batch_ms <= 0)
		return d;
	int64_t limit = d > INT64_MAX - m->batch_ms ? INT64_MAX : d + m->batch_ms, wake = d;
	size_t sp = 0;
	m->due[sp++].group = 0; /* heap positions, not group indices, on this stack */
	while (sp) {
		size_t i = m->due[--sp].group;
		int64_t key = m->groups[m->heap[i]].next_eval_ms;
		m->sched_stats.checks++;
		if (key > limit)
			continue;
		if (key > wake)
			wake = key;
		if (2 * i + 1 < m->n_heap)
			m->due[sp++].group = (uint32_t)(2 * i + 1);
		if (2 * i + 2 < m->n_heap)
			m->due[sp++].group = (uint32_t)(2 * i + 2);
	}
	return wake;
}

int r__sched_step(rules_manager *m, int64_t *wake_at)
{
	pthread_mutex_lock(&m->mu);
	int n = tick_locked(m);
	*wake_at = next_wake_locked(m);
	pthread_mutex_unlock(&m->mu);
	return n;
}

int rules_manager_tick(rules_manager *m)
{
	pthread_mutex_lock(&m->mu);
	int n = tick_locked(m);
	pthread_mutex_unlock(&m->mu);
	return n;
}

/* ---- the thread ---- */

static void *scheduler_main(void *arg)
{
	rules_manager *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!m->stopping) {
		tick_locked(m);
		int64_t wake = next_wake_locked(m);
		int64_t wait = wake == INT64_MAX ? 1000 : wake - slod_clock_now(&m->clock);
		if (wait <= 0)
			continue;
		if (wait > 1000)
			wait = 1000;
		struct timespec ts = slod_deadline_in_ms(CLOCK_REALTIME, wait);
		m->sched_stats.sleeps++;
		pthread_cond_timedwait(&m->cond, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int rules_manager_start(rules_manager *m)
{
	if (m->running)
		return 0;
	if (pthread_create(&m->thread, NULL, scheduler_main, m) != 0)
		return -1;
	m->running = true;
	return 0;
}
