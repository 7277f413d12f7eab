/*
 * manager.c — rule groups: loading (atomic replace), evaluation of recording rules, staleness of
 * vanished series, snapshots for the API, and the hand-off of alerts. When groups are evaluated is
 * sched.c's business (slots, due-time heap, the scheduler thread).
 *
 * Data layout: rules_manager.groups is an array of r__group, each owning its r__rule array; a rule
 * owns its parsed expression, its alert instances and the set of series it wrote last time.
 * rules_manager_update builds a complete new array (and the scheduler's heap and scratch arrays
 * for it), moves state from matching old rules, then swaps under mu and rebuilds the heap; so
 * readers and the scheduler see either the old or the new set.
 *
 * Scheduling (sched.c): group g with interval I evaluates at timestamps t ≡ offset(g) (mod I),
 * offset from a hash of (file, name). If the clock is past the next slot by more than one interval,
 * the skipped slots are counted as missed and logged, and evaluation resumes at the latest slot.
 *
 * Cost of one group evaluation: one PromQL evaluation per rule, plus one append per produced series
 * and per vanished series (stale marker); the appender is committed after each rule (one WAL
 * commit per rule), so later rules of the group read what earlier ones recorded.
 *
 * Locking: mu is held for a whole scheduler step, i.e. the evaluation of every group due in one
 * wake-up, including on_alerts (so the callee's locks come after mu: rules.mu -> alerting.mu in
 * slod); update and snapshot wait for it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/rules_int.h"
#include "util/arena.h"
#include "util/clock.h"

#define STALE_NAN_BITS 0x7ff0000000000002ULL

static double stale_nan(void)
{
	uint64_t bits = STALE_NAN_BITS;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

/* ---- written sets ---- */

int r__written_add(r__written_set *s, const slod_labels *ls, uint64_t hash)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		r__written *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	if (labels_dup(&s->v[s->n].labels, ls) != 0)
		return -1;
	s->v[s->n++].hash = hash;
	return 0;
}

void r__written_free(r__written_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		labels_free_dup(&s->v[i].labels);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

bool r__written_has(const r__written_set *s, uint64_t hash)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].hash == hash)
			return true;
	return false;
}

/* Stale-marks every series of prev that is not in now. */
static void mark_vanished(tsdb_appender *app, const r__written_set *prev, const r__written_set *now, int64_t ts)
{
	uint64_t *hs = malloc((now->n ? now->n : 1) * sizeof(uint64_t));
	if (!hs)
		return;
	for (size_t i = 0; i < now->n; i++)
		hs[i] = now->v[i].hash;
	qsort(hs, now->n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < prev->n; i++)
		if (!bsearch(&prev->v[i].hash, hs, now->n, sizeof(uint64_t), cmp_u64))
			tsdb_appender_add_hashed(app, &prev->v[i].labels, prev->v[i].hash, ts, stale_nan(), NULL);
	free(hs);
}

/* ---- lifecycle ---- */

static void rule_free(r__rule *r)
{
	free(r->name);
	free(r->expr);
	promql_expr_free(r->parsed);
	labels_free_dup(&r->labels);
	labels_free_dup(&r->annotations);
	r__alerts_free(r);
	r__written_free(&r->written);
}

static void groups_free(r__group *gs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < gs[i].n_rules; k++)
			rule_free(&gs[i].rules[k]);
		free(gs[i].rules);
		free(gs[i].name);
		free(gs[i].file);
	}
	free(gs);
}

int rules_manager_new(const rules_options *opt, rules_manager **out, char *err, size_t errlen)
{
	*out = NULL;
	rules_manager *m = calloc(1, sizeof(*m));
	if (!m || labels_dup(&m->external_labels, &opt->external_labels) != 0) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->db = opt->db;
	m->engine = opt->engine;
	m->default_interval_ms = opt->default_interval_ms > 0 ? opt->default_interval_ms : 30000;
	m->external_url = opt->external_url ? strdup(opt->external_url) : NULL;
	if (opt->external_url && !m->external_url) {
		labels_free_dup(&m->external_labels);
		free(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->on_alerts = opt->on_alerts;
	m->on_alerts_ud = opt->on_alerts_ud;
	m->clock = opt->clock.now_ms ? opt->clock : slod_clock_system();
	m->logger = opt->logger;
	m->batch_ms = R__SCHED_BATCH_MS;
	*out = m;
	return 0;
}

void rules_manager_free(rules_manager *m)
{
	if (!m)
		return;
	if (m->running) {
		pthread_mutex_lock(&m->mu);
		m->stopping = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	groups_free(m->groups, m->n_groups);
	free(m->heap);
	free(m->due);
	labels_free_dup(&m->external_labels);
	free(m->external_url);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cond);
	free(m);
}

static int rule_init(r__rule *r, const rules_rule_def *d, const char *gfile, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	promql_error perr;
	const char *file = d->file ? d->file : (gfile ? gfile : "<rules>");
	if (!d->name || !d->expr) {
		snprintf(err, errlen, "%s:%u: a rule needs a name and an expr", file, d->line);
		return -1;
	}
	if (promql_parse(d->expr, strlen(d->expr), NULL, &r->parsed, &perr) != 0) {
		snprintf(err, errlen, "%s:%u: rule %s: %s", file, d->line, d->name, perr.text);
		return -1;
	}
	promql_value_type t = r->parsed->root->type;
	if (t != PROMQL_TYPE_VECTOR && t != PROMQL_TYPE_SCALAR) {
		snprintf(err, errlen, "%s:%u: rule %s: invalid expression type \"%s\" for a rule (want scalar or "
				      "instant vector)",
			 file, d->line, d->name, promql_value_type_name(t));
		return -1;
	}
	r->kind = d->kind;
	r->name = strdup(d->name);
	r->expr = strdup(d->expr);
	r->for_ms = d->for_ms;
	r->keep_firing_for_ms = d->keep_firing_for_ms;
	if (!r->name || !r->expr || labels_dup(&r->labels, &d->labels) != 0 ||
	    labels_dup(&r->annotations, &d->annotations) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(r->health, sizeof r->health, "unknown");
	return 0;
}

/* Moves evaluation state from an identical old rule (same kind, name, expr, for, labels). */
static void rule_take_state(r__rule *dst, r__rule *src)
{
	dst->alerts = src->alerts;
	dst->n_alerts = src->n_alerts;
	dst->cap_alerts = src->cap_alerts;
	dst->written = src->written;
	dst->restored = src->restored;
	memcpy(dst->health, src->health, sizeof dst->health);
	memcpy(dst->last_error, src->last_error, sizeof dst->last_error);
	dst->last_eval_ms = src->last_eval_ms;
	dst->eval_seconds = src->eval_seconds;
	src->alerts = NULL;
	src->n_alerts = src->cap_alerts = 0;
	memset(&src->written, 0, sizeof src->written);
}

/* Orders r__group pointers by (file, name), the identity of a group. */
static int cmp_group_key(const void *a, const void *b)
{
	const r__group *x = *(const r__group *const *)a, *y = *(const r__group *const *)b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

/* The group of ord (n pointers sorted by cmp_group_key) with key's (file, name), or NULL. */
static r__group *find_group(r__group *const *ord, size_t n, const r__group *key)
{
	r__group *const *p = bsearch(&key, ord, n, sizeof(*ord), cmp_group_key);
	return p ? *p : NULL;
}

/* Cost: parsing every rule, plus O((n + old) log n) to match groups by (file, name) — under mu only
 * the matching and moving of state, and the O(n) heap rebuild. */
int rules_manager_update(rules_manager *m, const rules_group_def *defs, size_t n, char *err, size_t errlen)
{
	if (n > UINT32_MAX) {
		snprintf(err, errlen, "too many rule groups (%zu)", n);
		return -1;
	}
	r__group *gs = calloc(n ? n : 1, sizeof(*gs));
	uint32_t *heap = malloc((n ? n : 1) * sizeof(*heap));
	r__due *due = malloc((n ? n : 1) * sizeof(*due));
	r__group **ord = malloc((n ? n : 1) * sizeof(*ord));
	if (!gs || !heap || !due || !ord) {
		free(gs);
		free(heap);
		free(due);
		free(ord);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t built = 0;
	for (size_t i = 0; i < n; i++, built++) {
		const rules_group_def *d = &defs[i];
		r__group *g = &gs[i];
		g->name = strdup(d->name ? d->name : "");
		g->file = strdup(d->file ? d->file : "");
		g->interval_ms = d->interval_ms > 0 ? d->interval_ms : m->default_interval_ms;
		g->limit = d->limit;
		g->rules = calloc(d->n_rules ? d->n_rules : 1, sizeof(r__rule));
		if (!g->name || !g->file || !g->rules) {
			snprintf(err, errlen, "out of memory");
			built++;
			goto fail;
		}
		for (size_t k = 0; k < d->n_rules; k++) {
			g->n_rules = k + 1;
			if (rule_init(&g->rules[k], &d->rules[k], d->file, err, errlen) != 0) {
				built++;
				goto fail;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		ord[i] = &gs[i];
	qsort(ord, n, sizeof(*ord), cmp_group_key);
	for (size_t i = 1; i < n; i++)
		if (cmp_group_key(&ord[i - 1], &ord[i]) == 0) {
			snprintf(err, errlen, "%s: group \"%s\" is defined more than once",
				 ord[i]->file[0] ? ord[i]->file : "<rules>", ord[i]->name);
			goto fail;
		}
	pthread_mutex_lock(&m->mu);
	for (size_t o = 0; o < m->n_groups; o++) {
		r__group *og = &m->groups[o];
		r__group *g = find_group(ord, n, og);
		if (g) {
			g->next_eval_ms = og->interval_ms == g->interval_ms ? og->next_eval_ms : 0;
			g->evaluations = og->evaluations;
			g->missed = og->missed;
			g->failures = og->failures;
			g->last_eval_ms = og->last_eval_ms;
			for (size_t k = 0; k < g->n_rules; k++) {
				r__rule *r = &g->rules[k];
				for (size_t q = 0; q < og->n_rules; q++) {
					r__rule *orr = &og->rules[q];
					if (orr->kind == r->kind && strcmp(orr->name, r->name) == 0 &&
					    strcmp(orr->expr, r->expr) == 0 && orr->for_ms == r->for_ms &&
					    labels_equal(&orr->labels, &r->labels) && !orr->parsed == !r->parsed) {
						rule_take_state(r, orr);
						break;
					}
				}
			}
		}
	}
	r__group *old = m->groups;
	size_t old_n = m->n_groups;
	uint32_t *old_heap = m->heap;
	r__due *old_due = m->due;
	m->groups = gs;
	m->n_groups = n;
	m->heap = heap;
	m->due = due;
	r__sched_rebuild(m);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	free(old_heap);
	free(old_due);
	/* A group that had alerting rules and has none now (removed, renamed, or its alert rules
	 * deleted) is never evaluated with them again: hand over its empty alert set once, so the
	 * notifier resolves what it had notified instead of tracking it forever. */
	for (size_t o = 0; m->on_alerts && o < old_n; o++) {
		const r__group *og = &old[o];
		bool had = false, has = false;
		for (size_t k = 0; k < og->n_rules; k++)
			had |= og->rules[k].kind == RULES_ALERT;
		const r__group *g = had ? find_group(ord, n, og) : NULL;
		for (size_t k = 0; g && k < g->n_rules; k++)
			has |= g->rules[k].kind == RULES_ALERT;
		if (had && !has) {
			char key[1024];
			snprintf(key, sizeof key, "%s;%s", og->file, og->name);
			m->on_alerts(m->on_alerts_ud, key, NULL, 0);
		}
	}
	groups_free(old, old_n);
	free(ord);
	slod_log(&m->logger, SLOD_LOG_INFO, "rules", "loaded %zu rule groups", n);
	return 0;
fail:
	groups_free(gs, built);
	free(heap);
	free(due);
	free(ord);
	return -1;
}

/* ---- evaluation ---- */

static int record_eval(rules_manager *m, r__group *g, r__rule *r, const promql_result *res, int64_t ts,
		       tsdb_appender *app, r__written_set *w)
{
	arena ar;
	arena_init(&ar, 0);
	int rc = 0;
	size_t n = res->type == PROMQL_RESULT_VECTOR ? res->n_series : (res->type == PROMQL_RESULT_SCALAR ? 1 : 0);
	if (g->limit && n > g->limit) {
		snprintf(r->last_error, sizeof r->last_error, "exceeded limit of %u with %zu series", g->limit, n);
		rc = -2;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const slod_labels *src = NULL;
		double v;
		static const slod_labels none = {NULL, 0};
		if (res->type == PROMQL_RESULT_SCALAR) {
			src = &none;
			v = res->scalar;
		} else {
			src = &res->series[i].labels;
			v = res->series[i].n_points ? res->series[i].points[0].v : NAN;
		}
		size_t cap = src->n + r->labels.n + 1;
		slod_labels ls = {arena_alloc(&ar, cap * sizeof(slod_label)), 0};
		if (!ls.v) {
			rc = -1;
			break;
		}
		memcpy(ls.v, src->v, src->n * sizeof(slod_label));
		ls.n = src->n;
		/* replace or add __name__ and the rule labels; keep sorted */
		const char *names[64 + 1];
		(void)names;
		for (size_t k = 0; k <= r->labels.n; k++) {
			const char *name = k == r->labels.n ? SLOD_METRIC_NAME : r->labels.v[k].name;
			const char *val = k == r->labels.n ? r->name : r->labels.v[k].value;
			size_t j = 0;
			while (j < ls.n && strcmp(ls.v[j].name, name) != 0)
				j++;
			if (j < ls.n)
				ls.v[j].value = val;
			else
				ls.v[ls.n++] = (slod_label){name, val};
		}
		labels_sort(&ls);
		uint64_t h = labels_hash(&ls);
		if (r__written_has(w, h)) {
			snprintf(r->last_error, sizeof r->last_error,
				 "vector contains metrics with the same labelset after applying rule labels");
			rc = -2;
			break;
		}
		int arc = tsdb_appender_add_hashed(app, &ls, h, ts, v, NULL);
		if (arc < 0 && arc != TSDB_ERR_DUPLICATE && arc != TSDB_ERR_OUT_OF_ORDER) {
			snprintf(r->last_error, sizeof r->last_error, "cannot append: storage error %d", arc);
			rc = -2;
			break;
		}
		if (r__written_add(w, &ls, h) != 0)
			rc = -1;
	}
out:
	(void)m;
	arena_deinit(&ar);
	return rc;
}

static void send_alerts(rules_manager *m, r__group *g, int64_t ts)
{
	if (!m->on_alerts)
		return;
	size_t n = 0;
	for (size_t k = 0; k < g->n_rules; k++)
		if (g->rules[k].kind == RULES_ALERT)
			n += g->rules[k].n_alerts;
	rules_alert *out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return;
	size_t j = 0;
	bool any_rule = false;
	for (size_t k = 0; k < g->n_rules; k++) {
		r__rule *r = &g->rules[k];
		if (r->kind != RULES_ALERT)
			continue;
		any_rule = true;
		for (size_t i = 0; i < r->n_alerts; i++) {
			r__alert *a = &r->alerts[i];
			if (a->state != RULES_ALERT_FIRING && a->state != RULES_ALERT_RESOLVED)
				continue;
			a->last_sent_ms = ts;
			out[j++] = (rules_alert){a->labels,        a->annotations,    a->state,       a->active_at_ms,
						 a->fired_at_ms,   a->resolved_at_ms, a->last_sent_ms, a->value};
		}
	}
	if (any_rule) {
		char key[1024];
		snprintf(key, sizeof key, "%s;%s", g->file, g->name);
		m->on_alerts(m->on_alerts_ud, key, out, j);
	}
	free(out);
}

void r__group_eval(rules_manager *m, r__group *g, int64_t ts)
{
	int64_t t0 = slod_monotonic_ms();
	struct timespec c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &c0);
	tsdb_appender *app = tsdb_appender_new(m->db);
	if (app) /* rule results are recomputed: no fsync wait per rule (process-crash safe still) */
		tsdb_appender_set_no_sync(app, true);
	bool failed = false;
	for (size_t k = 0; k < g->n_rules && app; k++) {
		r__rule *r = &g->rules[k];
		struct timespec r0, r1;
		clock_gettime(CLOCK_MONOTONIC, &r0);
		r__written_set now_written = {0};
		promql_result *res = promql_eval(m->engine, m->db, r->parsed->root, r->expr, ts, ts, 0, NULL);
		int rc;
		r->last_error[0] = '\0';
		if (!res) {
			snprintf(r->last_error, sizeof r->last_error, "out of memory");
			rc = -1;
		} else if (res->err_type != PROMQL_ERRTYPE_NONE) {
			snprintf(r->last_error, sizeof r->last_error, "%s", res->err ? res->err : "evaluation failed");
			rc = -2;
		} else if (r->kind == RULES_RECORD) {
			rc = record_eval(m, g, r, res, ts, app, &now_written);
		} else {
			rc = r__alert_eval(m, r, res, ts, app, &now_written);
		}
		if (rc == 0) {
			mark_vanished(app, &r->written, &now_written, ts);
			r__written_free(&r->written);
			r->written = now_written;
			snprintf(r->health, sizeof r->health, "ok");
		} else {
			r__written_free(&now_written);
			snprintf(r->health, sizeof r->health, "err");
			if (!r->last_error[0])
				snprintf(r->last_error, sizeof r->last_error, "out of memory");
			slod_log(&m->logger, SLOD_LOG_WARN, "rules", "group %s rule %s: %s", g->name, r->name,
				 r->last_error);
			failed = true;
		}
		promql_result_free(res);
		clock_gettime(CLOCK_MONOTONIC, &r1);
		r->last_eval_ms = ts;
		r->eval_seconds = (double)(r1.tv_sec - r0.tv_sec) + (double)(r1.tv_nsec - r0.tv_nsec) / 1e9;
		/* make this rule's output visible to the next rules of the group */
		if (tsdb_appender_commit(app) != 0) {
			slod_log(&m->logger, SLOD_LOG_ERROR, "rules", "group %s: cannot write rule results", g->name);
			failed = true;
		}
	}
	if (!app) {
		failed = true;
		slod_log(&m->logger, SLOD_LOG_ERROR, "rules", "group %s: cannot create an appender", g->name);
	} else {
		tsdb_appender_free(app);
	}
	send_alerts(m, g, ts);
	clock_gettime(CLOCK_MONOTONIC, &c1);
	g->eval_seconds = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	g->last_eval_ms = ts;
	g->evaluations++;
	if (failed)
		g->failures++;
	(void)t0;
}

/* ---- snapshots ---- */

static char *sdup(arena *a, const char *s)
{
	return arena_strdup(a, s ? s : "");
}

static int labels_copy_arena(arena *a, slod_labels *dst, const slod_labels *src)
{
	dst->n = src->n;
	dst->v = arena_alloc(a, (src->n ? src->n : 1) * sizeof(slod_label));
	if (!dst->v)
		return -1;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].name = sdup(a, src->v[i].name);
		dst->v[i].value = sdup(a, src->v[i].value);
		if (!dst->v[i].name || !dst->v[i].value)
			return -1;
	}
	return 0;
}

int rules_manager_snapshot(rules_manager *m, rules_snapshot *out)
{
	arena *a = malloc(sizeof(*a));
	memset(out, 0, sizeof(*out));
	if (!a)
		return -1;
	arena_init(a, 0);
	out->priv = a;
	pthread_mutex_lock(&m->mu);
	int rc = 0;
	out->groups = arena_calloc(a, m->n_groups ? m->n_groups : 1, sizeof(rules_group_snap));
	if (!out->groups)
		rc = -1;
	for (size_t i = 0; i < m->n_groups && rc == 0; i++) {
		r__group *g = &m->groups[i];
		rules_group_snap *gs = &out->groups[i];
		out->n_groups = i + 1;
		gs->name = sdup(a, g->name);
		gs->file = sdup(a, g->file);
		gs->interval_ms = g->interval_ms;
		gs->limit = g->limit;
		gs->last_eval_ms = g->last_eval_ms;
		gs->eval_seconds = g->eval_seconds;
		gs->evaluations = g->evaluations;
		gs->missed_evaluations = g->missed;
		gs->failures = g->failures;
		gs->rules = arena_calloc(a, g->n_rules ? g->n_rules : 1, sizeof(rules_rule_snap));
		if (!gs->rules) {
			rc = -1;
			break;
		}
		gs->n_rules = g->n_rules;
		for (size_t k = 0; k < g->n_rules && rc == 0; k++) {
			r__rule *r = &g->rules[k];
			rules_rule_snap *rs = &gs->rules[k];
			rs->kind = r->kind;
			rs->name = sdup(a, r->name);
			rs->expr = sdup(a, r->expr);
			rs->for_ms = r->for_ms;
			rs->keep_firing_for_ms = r->keep_firing_for_ms;
			rs->health = sdup(a, r->health);
			rs->last_error = sdup(a, r->last_error);
			rs->last_eval_ms = r->last_eval_ms;
			rs->eval_seconds = r->eval_seconds;
			if (labels_copy_arena(a, &rs->labels, &r->labels) ||
			    labels_copy_arena(a, &rs->annotations, &r->annotations)) {
				rc = -1;
				break;
			}
			rs->alerts = arena_calloc(a, r->n_alerts ? r->n_alerts : 1, sizeof(rules_alert));
			if (!rs->alerts) {
				rc = -1;
				break;
			}
			for (size_t q = 0; q < r->n_alerts; q++) {
				r__alert *x = &r->alerts[q];
				if (x->state != RULES_ALERT_PENDING && x->state != RULES_ALERT_FIRING)
					continue;
				rules_alert *o = &rs->alerts[rs->n_alerts++];
				*o = (rules_alert){.state = x->state, .active_at_ms = x->active_at_ms,
						   .fired_at_ms = x->fired_at_ms, .resolved_at_ms = x->resolved_at_ms,
						   .last_sent_ms = x->last_sent_ms, .value = x->value};
				if (labels_copy_arena(a, &o->labels, &x->labels) ||
				    labels_copy_arena(a, &o->annotations, &x->annotations)) {
					rc = -1;
					break;
				}
				if (x->state > rs->state)
					rs->state = x->state;
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (rc != 0)
		rules_snapshot_free(out);
	return rc;
}

void rules_snapshot_free(rules_snapshot *s)
{
	if (s->priv) {
		arena_deinit(s->priv);
		free(s->priv);
	}
	memset(s, 0, sizeof(*s));
}
