/*
 * recent.c — a bounded memory of the latest notifications and their delivery state, for
 * GET /api/v1/notifications (the SLO page lists what was sent about an SLO and whether it arrived).
 *
 * Data layout: alerting.recent is a ring of ALERTING_RECENT_MAX fixed-size entries (no heap);
 * recent_next is the slot the next entry goes to, n_recent the number of valid entries. A queued
 * notification yields one entry per distinct SLO id (sloth_id, else slo_id) among its alerts, at
 * most RECENT_PER_NOTE, so ?slo= filtering finds it for each SLO it concerns.
 *
 * Delivery state of an entry (mirrors the queued notification's, see alerting.h):
 *
 *   alert__recent_add        5xx / 429 / connection error
 *   ----------------> QUEUED --------------------------> RETRYING --+ (again: RETRYING)
 *                       |  \                                |  |  <--+
 *                       |   +--- 2xx ---> DELIVERED <--------+  |
 *                       +------- other 4xx ---> REJECTED <------+
 *                       +------- age > give_up ---> DROPPED <---+
 *
 * | transition                     | function                                   |
 * | add (QUEUED)                   | alert__recent_add (from webhook/AM steps)  |
 * | RETRYING, DELIVERED, REJECTED  | alert__recent_update (alerting_process)    |
 * | DROPPED                        | alert__recent_update (alerting_process)    |
 *
 * Invariants: entries are in creation order (oldest at recent_next − n_recent); terminal states
 * (DELIVERED, REJECTED, DROPPED) never change (checked in debug builds). Everything runs under
 * alerting.mu.
 *
 * Costs: add O(alerts of the notification); update and read O(ALERTING_RECENT_MAX).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "alerting/alerting_int.h"

#define RECENT_PER_NOTE 8

static const char *label2(const slod_labels *ls, const char *a, const char *b)
{
	const char *v = labels_get(ls, a);
	return v ? v : labels_get(ls, b);
}

void alert__recent_add(alerting *a, const alert__target *t, uint64_t id, int64_t created_ms, alert__tracked *const *xs,
		       const alert__tracked *arr, size_t n)
{
	const char *seen[RECENT_PER_NOTE];
	size_t n_seen = 0;
	bool firing = false;
	for (size_t i = 0; i < n; i++) {
		const alert__tracked *x = xs ? xs[i] : &arr[i];
		firing |= x->resolved_at_ms == 0;
	}
	for (size_t i = 0; i < n || (n == 0 && i == 0); i++) {
		const alert__tracked *x = n ? (xs ? xs[i] : &arr[i]) : NULL;
		const char *slo = x ? label2(&x->labels, "sloth_id", "slo_id") : NULL;
		if (!slo)
			slo = "";
		bool dup = false;
		for (size_t k = 0; k < n_seen; k++)
			dup |= strcmp(seen[k], slo) == 0;
		if (dup || n_seen == RECENT_PER_NOTE)
			continue;
		seen[n_seen++] = slo;
		alerting_notification *e = &a->recent[a->recent_next];
		memset(e, 0, sizeof(*e));
		snprintf(e->target, sizeof e->target, "%s", t->cfg.name ? t->cfg.name : "");
		e->id = id;
		e->created_ms = created_ms;
		e->firing = firing;
		const char *an = x ? labels_get(&x->labels, "alertname") : NULL;
		const char *sev = x ? label2(&x->labels, "sloth_severity", "severity") : NULL;
		snprintf(e->alertname, sizeof e->alertname, "%s", an ? an : "");
		snprintf(e->severity, sizeof e->severity, "%s", sev ? sev : "");
		snprintf(e->slo_id, sizeof e->slo_id, "%s", slo);
		e->delivery = ALERTING_QUEUED;
		a->recent_next = (a->recent_next + 1) % ALERTING_RECENT_MAX;
		if (a->n_recent < ALERTING_RECENT_MAX)
			a->n_recent++;
	}
}

void alert__recent_update(alerting *a, const alert__target *t, uint64_t id, alerting_delivery d, unsigned attempts,
			  const char *err)
{
	const char *name = t->cfg.name ? t->cfg.name : "";
	for (size_t i = 0; i < a->n_recent; i++) {
		alerting_notification *e = &a->recent[i];
		if (e->id != id || strncmp(e->target, name, sizeof e->target - 1) != 0)
			continue;
		assert(e->delivery == ALERTING_QUEUED || e->delivery == ALERTING_RETRYING);
		e->delivery = d;
		e->attempts = attempts;
		snprintf(e->last_error, sizeof e->last_error, "%s", err ? err : "");
	}
}

size_t alerting_recent(alerting *a, const char *slo_id, alerting_notification *out, size_t cap)
{
	size_t k = 0;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_recent && k < cap; i++) {
		size_t slot = (a->recent_next + ALERTING_RECENT_MAX - 1 - i) % ALERTING_RECENT_MAX;
		const alerting_notification *e = &a->recent[slot];
		if (slo_id && strcmp(e->slo_id, slo_id) != 0)
			continue;
		out[k++] = *e;
	}
	pthread_mutex_unlock(&a->mu);
	return k;
}
