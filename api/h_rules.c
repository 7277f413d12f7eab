/*
 * h_rules.c — GET /api/v1/rules and GET /api/v1/alerts in Prometheus's shapes, from a snapshot of
 * the rules manager (rules_manager_snapshot: a deep copy, so no lock is held while writing JSON).
 *
 * /rules: {"groups":[{"name","file","rules":[...],"interval","limit","evaluationTime","lastEvaluation"}]}
 *   alerting rule: state, name, query, duration, keepFiringFor, labels, annotations, alerts, health,
 *   lastError (when set), evaluationTime, lastEvaluation, type "alerting";
 *   recording rule: name, query, labels, health, lastError, evaluationTime, lastEvaluation, type
 *   "recording". Parameter type=alert|record filters rules (groups left empty are dropped).
 * /alerts: {"alerts":[{"labels","annotations","state","activeAt","value"}]} (pending and firing).
 * Times are RFC 3339; values as Go's %e ("1e+00"), as Prometheus writes them.
 */
#include "api/internal.h"

#include <string.h>

#include "rules/rules.h"
#include "util/fmt.h"

static void rfc3339(api_json *j, int64_t ms)
{
	char tmp[64];
	if (ms <= 0) {
		api_json_str(j, "0001-01-01T00:00:00Z");
		return;
	}
	fmt_rfc3339_ms(tmp, sizeof tmp, ms);
	api_json_str(j, tmp);
}

static const char *state_name(rules_alert_state s)
{
	switch (s) {
	case RULES_ALERT_PENDING: return "pending";
	case RULES_ALERT_FIRING: return "firing";
	default: return "inactive";
	}
}

static void alert_obj(api_json *j, const rules_alert *a)
{
	char v[FMT_FLOAT_MAX];
	api_json_obj_begin(j);
	api_json_key(j, "labels");
	api_json_labels(j, &a->labels);
	api_json_key(j, "annotations");
	api_json_labels(j, &a->annotations);
	api_json_key(j, "state");
	api_json_str(j, state_name(a->state));
	api_json_key(j, "activeAt");
	rfc3339(j, a->active_at_ms);
	api_json_key(j, "value");
	fmt_float_go(v, a->value, 'e');
	api_json_str(j, v);
	api_json_obj_end(j);
}

static bool shown_alert(const rules_alert *a)
{
	return a->state == RULES_ALERT_PENDING || a->state == RULES_ALERT_FIRING;
}

void api__h_rules(api_req *r)
{
	const char *type = api__param(r, "type");
	bool want_alert = true, want_record = true;
	if (type && *type) {
		if (strcmp(type, "alert") == 0)
			want_record = false;
		else if (strcmp(type, "record") == 0)
			want_alert = false;
		else {
			api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"type\": not supported value \"%s\"", type);
			return;
		}
	}
	rules_snapshot snap = {0};
	if (r->be->rules && rules_manager_snapshot(r->be->rules, &snap) != 0) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		return;
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "groups");
	api_json_arr_begin(&j);
	for (size_t g = 0; g < snap.n_groups; g++) {
		const rules_group_snap *gs = &snap.groups[g];
		size_t shown = 0;
		for (size_t i = 0; i < gs->n_rules; i++)
			if ((gs->rules[i].kind == RULES_ALERT) ? want_alert : want_record)
				shown++;
		if (!shown && gs->n_rules)
			continue;
		api_json_obj_begin(&j);
		api_json_key(&j, "name");
		api_json_str(&j, gs->name);
		api_json_key(&j, "file");
		api_json_str(&j, gs->file ? gs->file : "");
		api_json_key(&j, "rules");
		api_json_arr_begin(&j);
		for (size_t i = 0; i < gs->n_rules; i++) {
			const rules_rule_snap *rs = &gs->rules[i];
			bool alert = rs->kind == RULES_ALERT;
			if (alert ? !want_alert : !want_record)
				continue;
			api_json_obj_begin(&j);
			if (alert) {
				api_json_key(&j, "state");
				api_json_str(&j, state_name(rs->state));
			}
			api_json_key(&j, "name");
			api_json_str(&j, rs->name);
			api_json_key(&j, "query");
			api_json_str(&j, rs->expr);
			if (alert) {
				api_json_key(&j, "duration");
				api_json_double(&j, (double)rs->for_ms / 1000.0);
				api_json_key(&j, "keepFiringFor");
				api_json_double(&j, (double)rs->keep_firing_for_ms / 1000.0);
			}
			if (alert || rs->labels.n) { /* recording rules: omitempty, as in Prometheus */
				api_json_key(&j, "labels");
				api_json_labels(&j, &rs->labels);
			}
			if (alert) {
				api_json_key(&j, "annotations");
				api_json_labels(&j, &rs->annotations);
				api_json_key(&j, "alerts");
				api_json_arr_begin(&j);
				for (size_t k = 0; k < rs->n_alerts; k++)
					if (shown_alert(&rs->alerts[k]))
						alert_obj(&j, &rs->alerts[k]);
				api_json_arr_end(&j);
			}
			api_json_key(&j, "health");
			api_json_str(&j, rs->health ? rs->health : "unknown");
			if (rs->last_error && rs->last_error[0]) {
				api_json_key(&j, "lastError");
				api_json_str(&j, rs->last_error);
			}
			api_json_key(&j, "evaluationTime");
			api_json_double(&j, rs->eval_seconds);
			api_json_key(&j, "lastEvaluation");
			rfc3339(&j, rs->last_eval_ms);
			api_json_key(&j, "type");
			api_json_str(&j, alert ? "alerting" : "recording");
			api_json_obj_end(&j);
		}
		api_json_arr_end(&j);
		api_json_key(&j, "interval");
		api_json_double(&j, (double)gs->interval_ms / 1000.0);
		api_json_key(&j, "limit");
		api_json_uint(&j, gs->limit);
		api_json_key(&j, "evaluationTime");
		api_json_double(&j, gs->eval_seconds);
		api_json_key(&j, "lastEvaluation");
		rfc3339(&j, gs->last_eval_ms);
		api_json_obj_end(&j);
	}
	api_json_arr_end(&j);
	api_json_obj_end(&j);
	if (r->be->rules)
		rules_snapshot_free(&snap);
	api__reply_json_end(r, &j, NULL, 0);
}

void api__h_alerts(api_req *r)
{
	rules_snapshot snap = {0};
	if (r->be->rules && rules_manager_snapshot(r->be->rules, &snap) != 0) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		return;
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "alerts");
	api_json_arr_begin(&j);
	for (size_t g = 0; g < snap.n_groups; g++)
		for (size_t i = 0; i < snap.groups[g].n_rules; i++) {
			const rules_rule_snap *rs = &snap.groups[g].rules[i];
			for (size_t k = 0; k < rs->n_alerts; k++)
				if (shown_alert(&rs->alerts[k]))
					alert_obj(&j, &rs->alerts[k]);
		}
	api_json_arr_end(&j);
	api_json_obj_end(&j);
	if (r->be->rules)
		rules_snapshot_free(&snap);
	api__reply_json_end(r, &j, NULL, 0);
}
