/*
 * h_slos.c — the SLO routes of docs/slo-api.md, from the SLO engine's refcounted snapshots
 * (slo_engine_acquire: immutable, so JSON is written without holding any lock):
 *   GET /api/v1/slos                     {"evaluatedAt":t,"slos":[<slo>...]}
 *   GET /api/v1/slos/<id>                <slo> plus "spec" (YAML text) and "source" ("file:line")
 *   GET /api/v1/slos/<id>/history?start=&end=&step=   {"id","step","points":[...]}
 *   GET /api/v1/notifications[?slo=id]   recent notifications and their delivery (alerting_recent)
 * Ratios are fractions; NaN (no data) is written as null; times are Unix seconds.
 */
#include "api/internal.h"

#include <math.h>
#include <string.h>

#include "alerting/alerting.h"
#include "rules/rules.h"
#include "slo/eval.h"
#include "util/fmt.h"

static void num_or_null(api_json *j, bool has, double v)
{
	if (!has || isnan(v))
		api_json_null(j);
	else
		api_json_double(j, v);
}

static void seconds(api_json *j, int64_t ms)
{
	api_json_double(j, (double)ms / 1000.0);
}

static void slo_labels_obj(api_json *j, const slo_labels *ls)
{
	api_json_obj_begin(j);
	for (size_t i = 0; i < ls->n; i++) {
		api_json_key(j, ls->v[i].name);
		api_json_str(j, ls->v[i].value);
	}
	api_json_obj_end(j);
}

static const char *tier_state(rules_alert_state s)
{
	return s == RULES_ALERT_FIRING ? "firing" : s == RULES_ALERT_PENDING ? "pending" : "inactive";
}

static void slo_obj(api_json *j, const slo_status *st, bool detail)
{
	const slo_spec *sp = st->spec;
	api_json_obj_begin(j);
	api_json_key(j, "id");
	api_json_str(j, st->id);
	api_json_key(j, "service");
	api_json_str(j, st->service);
	api_json_key(j, "name");
	api_json_str(j, st->name);
	api_json_key(j, "description");
	api_json_str(j, st->description ? st->description : "");
	api_json_key(j, "labels");
	if (sp)
		slo_labels_obj(j, &sp->labels);
	else {
		api_json_obj_begin(j);
		api_json_obj_end(j);
	}
	api_json_key(j, "objective");
	api_json_double(j, st->objective);
	api_json_key(j, "period");
	api_json_str(j, st->period);
	api_json_key(j, "periodSeconds");
	api_json_int(j, st->period_ms / 1000);
	/* slod extensions (docs/slo.md): calendar periods and minimum events; null when unused */
	api_json_key(j, "calendar");
	if (st->calendar != SLO_CAL_NONE)
		api_json_str(j, slo_calendar_name(st->calendar));
	else
		api_json_null(j);
	api_json_key(j, "timezone");
	if (st->timezone)
		api_json_str(j, st->timezone);
	else
		api_json_null(j);
	api_json_key(j, "periodStart");
	if (st->period_start_ms)
		seconds(j, st->period_start_ms);
	else
		api_json_null(j);
	api_json_key(j, "minEvents");
	if (st->min_events > 0)
		api_json_int(j, st->min_events);
	else
		api_json_null(j);
	api_json_key(j, "evaluatedAt");
	seconds(j, st->evaluated_at_ms);
	api_json_key(j, "sli");
	api_json_obj_begin(j);
	api_json_key(j, "kind");
	bool raw = sp && sp->sli_kind == SLO_SLI_RAW;
	api_json_str(j, raw ? "raw" : "events");
	if (sp && raw) {
		api_json_key(j, "errorRatioQuery");
		api_json_str(j, sp->error_ratio_query.text);
	} else if (sp) {
		api_json_key(j, "errorQuery");
		api_json_str(j, sp->error_query.text);
		api_json_key(j, "totalQuery");
		api_json_str(j, sp->total_query.text);
	}
	api_json_obj_end(j);
	api_json_key(j, "windows");
	api_json_arr_begin(j);
	for (size_t i = 0; i < st->n_windows; i++) {
		const slo_window_status *w = &st->windows[i];
		api_json_obj_begin(j);
		api_json_key(j, "window");
		api_json_str(j, w->window);
		api_json_key(j, "seconds");
		api_json_int(j, w->ms / 1000);
		api_json_key(j, "errorRatio");
		num_or_null(j, w->has_data, w->error_ratio);
		api_json_key(j, "burnRate");
		num_or_null(j, w->has_data, w->burn_rate);
		api_json_obj_end(j);
	}
	api_json_arr_end(j);
	api_json_key(j, "periodWindow");
	api_json_obj_begin(j);
	api_json_key(j, "errorRatio");
	num_or_null(j, st->period_has_data, st->period_error_ratio);
	api_json_key(j, "burnRate");
	num_or_null(j, st->period_has_data, st->period_burn_rate);
	api_json_key(j, "errorEvents");
	num_or_null(j, st->events && st->exact_has_data, st->error_events);
	api_json_key(j, "totalEvents");
	num_or_null(j, st->events && st->exact_has_data, st->total_events);
	api_json_key(j, "method");
	api_json_str(j, slo_eval_method_name(st->method));
	/* both methods side by side (docs/slo-eval.md): exact errors ÷ total, Sloth's 5m average */
	api_json_key(j, "exactErrorRatio");
	num_or_null(j, st->exact_has_data, st->exact_error_ratio);
	api_json_key(j, "slothErrorRatio");
	num_or_null(j, st->sloth_has_data, st->sloth_error_ratio);
	api_json_obj_end(j);
	api_json_key(j, "errorBudget");
	api_json_obj_begin(j);
	api_json_key(j, "ratio");
	api_json_double(j, st->budget_ratio);
	api_json_key(j, "consumed");
	num_or_null(j, true, st->consumed);
	api_json_key(j, "remaining");
	num_or_null(j, true, st->remaining);
	api_json_obj_end(j);
	api_json_key(j, "alerts");
	api_json_arr_begin(j);
	for (size_t i = 0; i < st->n_alerts; i++) {
		const slo_alert_status *a = &st->alerts[i];
		api_json_obj_begin(j);
		api_json_key(j, "severity");
		api_json_str(j, a->severity);
		api_json_key(j, "name");
		api_json_str(j, a->name);
		api_json_key(j, "state");
		api_json_str(j, tier_state(a->state));
		api_json_key(j, "longWindow");
		api_json_str(j, a->long_window);
		api_json_key(j, "shortWindow");
		api_json_str(j, a->short_window);
		api_json_key(j, "factor");
		api_json_double(j, a->factor);
		api_json_key(j, "threshold");
		api_json_double(j, a->threshold);
		api_json_key(j, "longBurnRate");
		num_or_null(j, true, a->long_burn);
		api_json_key(j, "shortBurnRate");
		num_or_null(j, true, a->short_burn);
		api_json_obj_end(j);
	}
	api_json_arr_end(j);
	api_json_key(j, "forecast");
	api_json_obj_begin(j);
	api_json_key(j, "exhaustionSecondsAtCurrentBurn");
	num_or_null(j, true, st->exhaustion_current_s);
	api_json_key(j, "exhaustionSecondsAtPeriodBurn");
	num_or_null(j, true, st->exhaustion_period_s);
	api_json_obj_end(j);
	if (detail) {
		api_json_key(j, "spec");
		api_json_str(j, st->spec_text ? st->spec_text : "");
		api_json_key(j, "source");
		api_json_str(j, st->source ? st->source : "");
	}
	api_json_obj_end(j);
}

static void h_slos_locked(api_req *r, slo_engine *eng)
{
	slo_snapshot *s = eng ? slo_engine_acquire(eng) : NULL;
	if (eng && !s) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		return;
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "evaluatedAt");
	seconds(&j, s ? s->evaluated_at_ms : 0);
	api_json_key(&j, "slos");
	api_json_arr_begin(&j);
	for (size_t i = 0; s && i < s->n_slos; i++)
		slo_obj(&j, &s->slos[i], false);
	api_json_arr_end(&j);
	api_json_obj_end(&j);
	api__reply_json_end(r, &j, NULL, 0);
	if (s)
		slo_snapshot_release(s);
}

static void h_slo_locked(api_req *r, slo_engine *eng)
{
	const char *id = r->path_params[0];
	slo_snapshot *s = eng ? slo_engine_acquire(eng) : NULL;
	const slo_status *st = s ? slo_snapshot_find(s, id) : NULL;
	if (!st) {
		api__reply_error(r, API_ERR_NOT_FOUND, "SLO \"%s\" not found", id);
	} else {
		api_json j;
		api__reply_json_begin(r, &j);
		slo_obj(&j, st, true);
		api__reply_json_end(r, &j, NULL, 0);
	}
	if (s)
		slo_snapshot_release(s);
}

static void h_slo_history_locked(api_req *r, slo_engine *eng)
{
	const char *id = r->path_params[0];
	int64_t now = slod_clock_now(&r->srv->opt.clock);
	int64_t start, end, step = 0;
	if (api__param_time(r, "end", now, &end) != 0 || api__param_time(r, "start", end - 6 * 3600 * 1000, &start) != 0)
		return;
	const char *ss = api__param(r, "step");
	if (ss && *ss && (parse_api_duration_ms(ss, &step) != 0 || step <= 0)) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"step\": cannot parse \"%s\" to a valid duration", ss);
		return;
	}
	if (!step) {
		step = end > start ? (int64_t)(((uint64_t)end - (uint64_t)start) / 250) : 0; /* exact, no overflow */
		if (step < 15000)
			step = 15000;
	}
	if (!eng) {
		api__reply_error(r, API_ERR_NOT_FOUND, "SLO \"%s\" not found", id);
		return;
	}
	slo_history h;
	char err[512];
	int rc = slo_engine_history(eng, id, start, end, step, &h, err, sizeof err);
	if (rc == SLO_ERR_INVALID) {
		api__reply_error(r, API_ERR_NOT_FOUND, "SLO \"%s\" not found", id);
		return;
	}
	if (rc == SLO_ERR_ARG) {
		api__reply_error(r, API_ERR_BAD_DATA, "%s", err);
		return;
	}
	if (rc != 0) {
		api__reply_error(r, API_ERR_EXECUTION, "%s", err);
		return;
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "id");
	api_json_str(&j, id);
	api_json_key(&j, "step");
	api_json_double(&j, (double)h.step_ms / 1000.0);
	api_json_key(&j, "points");
	api_json_arr_begin(&j);
	for (size_t i = 0; i < h.n_points; i++) {
		const slo_history_point *p = &h.points[i];
		api_json_obj_begin(&j);
		api_json_key(&j, "t");
		seconds(&j, p->t);
		api_json_key(&j, "errorRatio");
		num_or_null(&j, true, p->error_ratio);
		api_json_key(&j, "burnRate");
		num_or_null(&j, true, p->burn_rate);
		api_json_key(&j, "budgetRemaining");
		num_or_null(&j, true, p->budget_remaining);
		api_json_key(&j, "requestRate");
		num_or_null(&j, true, p->request_rate);
		api_json_obj_end(&j);
	}
	api_json_arr_end(&j);
	api_json_obj_end(&j);
	slo_history_free(&h);
	api__reply_json_end(r, &j, NULL, 0);
}

/* The SLO handlers hold the server's slo_lock (read) while they use the engine, so a reload can
 * swap engines (api_server_swap_slo) and free the old one safely. */
void api__h_slos(api_req *r)
{
	pthread_rwlock_rdlock(&r->srv->slo_lock);
	h_slos_locked(r, r->srv->backend.slo);
	pthread_rwlock_unlock(&r->srv->slo_lock);
}

void api__h_slo(api_req *r)
{
	pthread_rwlock_rdlock(&r->srv->slo_lock);
	h_slo_locked(r, r->srv->backend.slo);
	pthread_rwlock_unlock(&r->srv->slo_lock);
}

void api__h_slo_history(api_req *r)
{
	pthread_rwlock_rdlock(&r->srv->slo_lock);
	h_slo_history_locked(r, r->srv->backend.slo);
	pthread_rwlock_unlock(&r->srv->slo_lock);
}

static const char *delivery_name(alerting_delivery d)
{
	switch (d) {
	case ALERTING_QUEUED: return "queued";
	case ALERTING_RETRYING: return "retrying";
	case ALERTING_DELIVERED: return "delivered";
	case ALERTING_DROPPED: return "dropped";
	case ALERTING_REJECTED: return "rejected";
	}
	return "queued";
}

void api__h_notifications(api_req *r)
{
	const char *slo = api__param(r, "slo");
	alerting_notification *v = NULL;
	size_t n = 0;
	if (r->be->alerting) {
		v = arena_alloc(&r->arena, ALERTING_RECENT_MAX * sizeof *v);
		if (!v) {
			api__reply_error(r, API_ERR_INTERNAL, "out of memory");
			return;
		}
		n = alerting_recent(r->be->alerting, slo && *slo ? slo : NULL, v, ALERTING_RECENT_MAX);
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		api_json_obj_begin(&j);
		api_json_key(&j, "target");
		api_json_str(&j, v[i].target);
		api_json_key(&j, "id");
		api_json_uint(&j, v[i].id);
		api_json_key(&j, "createdAt");
		seconds(&j, v[i].created_ms);
		api_json_key(&j, "status");
		api_json_str(&j, v[i].firing ? "firing" : "resolved");
		api_json_key(&j, "alertname");
		api_json_str(&j, v[i].alertname);
		api_json_key(&j, "severity");
		api_json_str(&j, v[i].severity);
		api_json_key(&j, "sloId");
		api_json_str(&j, v[i].slo_id);
		api_json_key(&j, "delivery");
		api_json_str(&j, delivery_name(v[i].delivery));
		api_json_key(&j, "attempts");
		api_json_uint(&j, v[i].attempts);
		api_json_key(&j, "lastError");
		api_json_str(&j, v[i].last_error);
		api_json_obj_end(&j);
	}
	api_json_arr_end(&j);
	api__reply_json_end(r, &j, NULL, 0);
}
