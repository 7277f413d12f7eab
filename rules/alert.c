/*
 * alert.c — the alert state machine of one alerting rule (diagram in rules.h).
 *
 * | transition                    | where                                   |
 * | inactive -> pending           | r__alert_eval: new label set in result  |
 * | pending -> firing             | r__alert_eval: active for >= for        |
 * | pending -> inactive (deleted) | r__alert_eval: absent from result       |
 * | firing -> resolved            | r__alert_eval: absent (after keep_firing_for) |
 * | resolved -> pending           | r__alert_eval: present again (new instance)   |
 * | resolved -> deleted           | r__alert_eval: 15 min after resolution  |
 *
 * Invariants (checked by alert_check in debug builds after each evaluation): hashes are unique
 * among instances; state PENDING/FIRING ⇒ resolved_at == 0; FIRING ⇒ fired_at >= active_at;
 * RESOLVED ⇒ resolved_at >= active_at.
 *
 * Cost per evaluation: O(result series × instances) label-set matching by hash (instances are few).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "util/arena.h"
#include "util/buf.h"

#define RESOLVED_RETENTION_MS (15 * 60 * 1000)
#define RESTORE_TOLERANCE_MS (60 * 60 * 1000)

const char *rules_alert_state_name(rules_alert_state s)
{
	switch (s) {
	case RULES_ALERT_PENDING: return "pending";
	case RULES_ALERT_FIRING: return "firing";
	case RULES_ALERT_RESOLVED: return "resolved";
	default: return "inactive";
	}
}

static void alert_free(r__alert *a)
{
	labels_free_dup(&a->labels);
	labels_free_dup(&a->annotations);
}

void r__alerts_free(r__rule *r)
{
	for (size_t i = 0; i < r->n_alerts; i++)
		alert_free(&r->alerts[i]);
	free(r->alerts);
	r->alerts = NULL;
	r->n_alerts = r->cap_alerts = 0;
}

static void alert_check(const r__rule *r)
{
#ifndef NDEBUG
	for (size_t i = 0; i < r->n_alerts; i++) {
		const r__alert *a = &r->alerts[i];
		for (size_t k = i + 1; k < r->n_alerts; k++)
			assert(r->alerts[k].hash != a->hash || r->alerts[k].state == RULES_ALERT_RESOLVED ||
			       a->state == RULES_ALERT_RESOLVED);
		if (a->state == RULES_ALERT_PENDING || a->state == RULES_ALERT_FIRING)
			assert(a->resolved_at_ms == 0);
		if (a->state == RULES_ALERT_FIRING)
			assert(a->fired_at_ms >= a->active_at_ms);
	}
#else
	(void)r;
#endif
}

/* Sets name=value in a label array of capacity cap (sorted insert or replace). */
static int labels_set(slod_labels *ls, size_t cap, const char *name, const char *value)
{
	for (size_t i = 0; i < ls->n; i++) {
		int c = strcmp(ls->v[i].name, name);
		if (c == 0) {
			ls->v[i].value = value;
			return 0;
		}
		if (c > 0) {
			if (ls->n == cap)
				return -1;
			memmove(&ls->v[i + 1], &ls->v[i], (ls->n - i) * sizeof(slod_label));
			ls->v[i] = (slod_label){name, value};
			ls->n++;
			return 0;
		}
	}
	if (ls->n == cap)
		return -1;
	ls->v[ls->n++] = (slod_label){name, value};
	return 0;
}

static void labels_del(slod_labels *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) == 0) {
			memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(slod_label));
			ls->n--;
			return;
		}
}

static const char *expand(arena *ar, const char *tmpl, const slod_labels *ls, double v, const slod_labels *ext)
{
	if (!strstr(tmpl, "{{"))
		return tmpl;
	buf b;
	buf_init(&b, 64 * 1024);
	rules_template_expand(tmpl, ls, v, ext, &b);
	const char *s = arena_strndup(ar, b.data ? b.data : "", b.len);
	buf_deinit(&b);
	return s;
}

/* Builds the alert's label set and annotations in ar. */
static int build_alert(rules_manager *m, const r__rule *r, arena *ar, const promql_series *s, double v,
		       slod_labels *labels, slod_labels *ann)
{
	size_t cap = s->labels.n + r->labels.n + 2;
	labels->v = arena_alloc(ar, cap * sizeof(slod_label));
	ann->v = arena_alloc(ar, (r->annotations.n + 1) * sizeof(slod_label));
	if (!labels->v || !ann->v)
		return -1;
	memcpy(labels->v, s->labels.v, s->labels.n * sizeof(slod_label));
	labels->n = s->labels.n;
	labels_del(labels, SLOD_METRIC_NAME);
	slod_labels tmpl_labels = *labels; /* templates see the series' labels */
	slod_label *snap = arena_alloc(ar, (labels->n + 1) * sizeof(slod_label));
	if (!snap)
		return -1;
	memcpy(snap, labels->v, labels->n * sizeof(slod_label));
	tmpl_labels.v = snap;
	for (size_t i = 0; i < r->labels.n; i++) {
		const char *val = expand(ar, r->labels.v[i].value, &tmpl_labels, v, &m->external_labels);
		if (!val)
			return -1;
		if (val[0] == '\0')
			labels_del(labels, r->labels.v[i].name);
		else if (labels_set(labels, cap, r->labels.v[i].name, val) != 0)
			return -1;
	}
	if (labels_set(labels, cap, "alertname", r->name) != 0)
		return -1;
	ann->n = 0;
	for (size_t i = 0; i < r->annotations.n; i++) {
		const char *val = expand(ar, r->annotations.v[i].value, &tmpl_labels, v, &m->external_labels);
		if (!val)
			return -1;
		ann->v[ann->n++] = (slod_label){r->annotations.v[i].name, val};
	}
	return 0;
}

static r__alert *find_active(r__rule *r, uint64_t hash)
{
	for (size_t i = 0; i < r->n_alerts; i++)
		if (r->alerts[i].hash == hash && r->alerts[i].state != RULES_ALERT_RESOLVED)
			return &r->alerts[i];
	return NULL;
}

/* Looks up ALERTS_FOR_STATE for this alert's labels: the active-since time stored before a restart. */
static int64_t restore_active_at(rules_manager *m, const slod_labels *labels, int64_t ts)
{
	int64_t found = 0;
	tsdb_matcher *ms = calloc(labels->n + 1, sizeof(*ms));
	if (!ms)
		return 0;
	ms[0] = (tsdb_matcher){.type = TSDB_MATCH_EQ, .name = SLOD_METRIC_NAME, .value = "ALERTS_FOR_STATE"};
	for (size_t i = 0; i < labels->n; i++)
		ms[i + 1] = (tsdb_matcher){.type = TSDB_MATCH_EQ, .name = labels->v[i].name, .value = labels->v[i].value};
	tsdb_querier *q = tsdb_querier_open(m->db, ts - RESTORE_TOLERANCE_MS, ts);
	tsdb_series *ss = NULL;
	size_t n = 0;
	if (q && tsdb_querier_select(q, ms, labels->n + 1, &ss, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (ss[i].labels->n != labels->n + 1)
				continue; /* a superset: some other alert */
			tsdb_sample *smp = NULL;
			size_t cap = 0;
			long k = tsdb_querier_samples(q, ss[i].ref, ts - RESTORE_TOLERANCE_MS, ts, &smp, &cap);
			for (long j = k - 1; j >= 0; j--) {
				if (!isnan(smp[j].v)) {
					found = (int64_t)llround(smp[j].v * 1000.0);
					break;
				}
			}
			free(smp);
		}
	}
	if (q)
		tsdb_querier_close(q);
	free(ms);
	return found > 0 && found < ts ? found : 0;
}

static int append_series(tsdb_appender *app, r__written_set *written, slod_labels *ls, int64_t ts, double v)
{
	labels_sort(ls);
	uint64_t h = labels_hash(ls);
	int rc = tsdb_appender_add_hashed(app, ls, h, ts, v, NULL);
	if (rc < 0 && rc != TSDB_ERR_DUPLICATE && rc != TSDB_ERR_OUT_OF_ORDER)
		return rc;
	return r__written_add(written, ls, h);
}

/* ALERTS{alertstate=...} = 1 and ALERTS_FOR_STATE = active since (s) for one instance. */
static int write_alert_series(arena *ar, const r__alert *a, int64_t ts, tsdb_appender *app, r__written_set *w)
{
	size_t cap = a->labels.n + 2;
	slod_labels ls = {arena_alloc(ar, cap * sizeof(slod_label)), 0};
	if (!ls.v)
		return -1;
	memcpy(ls.v, a->labels.v, a->labels.n * sizeof(slod_label));
	ls.n = a->labels.n;
	labels_set(&ls, cap, SLOD_METRIC_NAME, "ALERTS");
	labels_set(&ls, cap, "alertstate", a->state == RULES_ALERT_FIRING ? "firing" : "pending");
	if (append_series(app, w, &ls, ts, 1.0) != 0)
		return -1;
	labels_del(&ls, "alertstate");
	labels_set(&ls, cap, SLOD_METRIC_NAME, "ALERTS_FOR_STATE");
	return append_series(app, w, &ls, ts, (double)a->active_at_ms / 1000.0);
}

int r__alert_eval(rules_manager *m, r__rule *r, const promql_result *res, int64_t ts, tsdb_appender *app,
		  r__written_set *now_written)
{
	arena ar;
	int rc = 0;
	arena_init(&ar, 0);
	for (size_t i = 0; i < r->n_alerts; i++)
		r->alerts[i].seen = false;

	size_t n = res->type == PROMQL_RESULT_VECTOR ? res->n_series : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const promql_series *s = &res->series[i];
		double v = s->n_points ? s->points[0].v : NAN;
		slod_labels labels, ann;
		if (build_alert(m, r, &ar, s, v, &labels, &ann) != 0) {
			rc = -1;
			break;
		}
		labels_sort(&labels);
		uint64_t h = labels_hash(&labels);
		r__alert *a = find_active(r, h);
		if (a && a->seen) {
			snprintf(r->last_error, sizeof r->last_error,
				 "vector contains metrics with the same labelset after applying alert labels");
			rc = -2;
			break;
		}
		if (!a) {
			if (r->n_alerts == r->cap_alerts) {
				size_t cap = r->cap_alerts ? r->cap_alerts * 2 : 8;
				r__alert *na = realloc(r->alerts, cap * sizeof(*na));
				if (!na) {
					rc = -1;
					break;
				}
				r->alerts = na;
				r->cap_alerts = cap;
			}
			a = &r->alerts[r->n_alerts];
			memset(a, 0, sizeof(*a));
			if (labels_dup(&a->labels, &labels) != 0 || labels_dup(&a->annotations, &ann) != 0) {
				alert_free(a);
				rc = -1;
				break;
			}
			r->n_alerts++;
			a->hash = h;
			a->state = RULES_ALERT_PENDING;
			a->active_at_ms = ts;
			if (!r->restored && r->for_ms > 0) {
				int64_t since = restore_active_at(m, &a->labels, ts);
				if (since)
					a->active_at_ms = since;
			}
		} else {
			slod_labels old = a->annotations;
			if (labels_dup(&a->annotations, &ann) != 0) {
				a->annotations = old;
				rc = -1;
				break;
			}
			labels_free_dup(&old);
		}
		a->seen = true;
		a->value = v;
		a->keep_firing_since_ms = 0;
		if (a->state == RULES_ALERT_PENDING && ts - a->active_at_ms >= r->for_ms) {
			a->state = RULES_ALERT_FIRING;
			a->fired_at_ms = ts;
		}
	}
	r->restored = true;

	/* instances absent from the result */
	for (size_t i = r->n_alerts; i-- > 0;) {
		r__alert *a = &r->alerts[i];
		if (a->seen)
			continue;
		bool drop = false;
		if (a->state == RULES_ALERT_PENDING) {
			drop = true;
		} else if (a->state == RULES_ALERT_FIRING) {
			if (r->keep_firing_for_ms > 0) {
				if (!a->keep_firing_since_ms)
					a->keep_firing_since_ms = ts;
				if (ts - a->keep_firing_since_ms < r->keep_firing_for_ms)
					continue;
			}
			a->state = RULES_ALERT_RESOLVED;
			a->resolved_at_ms = ts;
		} else if (a->state == RULES_ALERT_RESOLVED && ts - a->resolved_at_ms > RESOLVED_RETENTION_MS) {
			drop = true;
		}
		if (drop) {
			alert_free(a);
			r->alerts[i] = r->alerts[--r->n_alerts];
		}
	}

	for (size_t i = 0; i < r->n_alerts && rc == 0; i++) {
		r__alert *a = &r->alerts[i];
		if (a->state == RULES_ALERT_PENDING || a->state == RULES_ALERT_FIRING)
			if (write_alert_series(&ar, a, ts, app, now_written) != 0)
				rc = -1;
	}
	alert_check(r);
	arena_deinit(&ar);
	return rc;
}
