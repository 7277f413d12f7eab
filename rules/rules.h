/*
 * rules.h — rule groups (recording and alerting rules) evaluated on a schedule with the PromQL
 * engine, results written back into the TSDB, alert states kept as Prometheus keeps them.
 *
 * The manager owns a set of groups, replaced whole and atomically by rules_manager_update() (a set
 * that fails to parse leaves the old one running). Each group is evaluated every interval at
 * timestamps aligned to the interval (plus a per-group offset derived from its name, as Prometheus
 * does), rules in order, so a rule may read what an earlier rule of the group recorded.
 *
 * Recording rule: vector result → __name__ = record, rule labels added → appended to the TSDB (WAL
 * too). Series that vanished since the previous evaluation get a stale marker.
 *
 * Alerting rule states (per label set of the result; see alert.c for the transition table):
 *
 *                 in result, for > 0                    active for >= `for`
 *   (inactive) ------------------------> PENDING ------------------------------> FIRING
 *        ^                                  |                                      |
 *        |        not in result             |          not in result (after        |
 *        +----------------------------------+          keep_firing_for, if any)    v
 *        +------------- 15 min after resolution, forgotten ------------------- RESOLVED
 *
 * Each evaluation writes ALERTS{alertname, alertstate="pending"|"firing", labels...} = 1 and
 * ALERTS_FOR_STATE{alertname, labels...} = active-since (unix seconds); on the first evaluation
 * after a start, pending alerts take their active-since from ALERTS_FOR_STATE so a restart does not
 * reset `for`.
 *
 * Evaluation does not deliver: after every evaluation of a group with alerting rules, the manager
 * calls opts.on_alerts with that group's firing and recently resolved alerts; main connects it to
 * the alerting module. When rules_manager_update() leaves a group that had alerting rules without
 * any (removed, renamed, or its alert rules deleted), it calls on_alerts once for the old group key
 * with an empty set (alerts NULL, n 0), so the notifier resolves what it had notified.
 *
 * Thread-safety: rules_manager_* functions may be called from any thread.
 */
#ifndef SLOD_RULES_H
#define SLOD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/engine.h"
#include "tsdb/tsdb.h"
#include "util/clock.h"
#include "util/labels.h"
#include "util/log.h"

typedef enum rules_kind { RULES_RECORD, RULES_ALERT } rules_kind;

/* Definitions as loaded from a rule file or compiled from an SLO spec. Strings are borrowed by
 * rules_manager_update (it copies what it keeps). */
typedef struct rules_rule_def {
	rules_kind kind;
	const char *name;           /* record name or alert name */
	const char *expr;
	int64_t for_ms;
	int64_t keep_firing_for_ms;
	slod_labels labels;
	slod_labels annotations;    /* alerts only; templates: {{ $labels.x }}, {{ $value }}, ... */
	const char *file;           /* for error messages, may be NULL */
	uint32_t line;
} rules_rule_def;

typedef struct rules_group_def {
	const char *name;
	const char *file;           /* groups are identified by (file, name) */
	int64_t interval_ms;        /* 0: the manager's default */
	uint32_t limit;             /* 0: no limit on series a rule may produce */
	const rules_rule_def *rules;
	size_t n_rules;
} rules_group_def;

typedef enum rules_alert_state {
	RULES_ALERT_INACTIVE = 0,
	RULES_ALERT_PENDING,
	RULES_ALERT_FIRING,
	RULES_ALERT_RESOLVED,
} rules_alert_state;

/* "inactive", "pending", "firing", "resolved" (not a Prometheus state name; kept out of the API) */
const char *rules_alert_state_name(rules_alert_state s);

/* One alert as handed to on_alerts and to snapshots. Strings are valid during the callback, or
 * until the snapshot is freed. */
typedef struct rules_alert {
	slod_labels labels;          /* includes alertname */
	slod_labels annotations;
	rules_alert_state state;
	int64_t active_at_ms;
	int64_t fired_at_ms;         /* 0 if never fired */
	int64_t resolved_at_ms;      /* 0 unless resolved */
	int64_t last_sent_ms;
	double value;
} rules_alert;

typedef void (*rules_on_alerts_fn)(void *ud, const char *group_key, const rules_alert *alerts, size_t n);

typedef struct rules_options {
	tsdb *db;                        /* borrowed */
	promql_engine *engine;           /* borrowed */
	int64_t default_interval_ms;     /* 0: 30s */
	slod_labels external_labels;     /* copied */
	const char *external_url;        /* for generatorURL; copied */
	rules_on_alerts_fn on_alerts;    /* may be NULL */
	void *on_alerts_ud;
	slod_clock clock;                /* now_ms == NULL: system clock */
	slod_logger logger;
} rules_options;

typedef struct rules_manager rules_manager;

/* Creates a manager with no groups and no thread (see rules_manager_update, rules_manager_start).
 * opt is copied (external labels and URL duplicated); db and engine are borrowed and must outlive
 * the manager. Returns 0 with *out owned by the caller, or -1 with *out NULL and err filled. */
int rules_manager_new(const rules_options *opt, rules_manager **out, char *err, size_t errlen);
/* Stops the scheduler (if running) and frees everything. NULL is a no-op. */
void rules_manager_free(rules_manager *m);

/* Replaces the group set atomically. Every expression is parsed first; on any error nothing changes
 * and err holds "file:line: rule NAME: <parse error>". Alert state of an alerting rule whose group
 * (file, name) and rule name/expr/labels are unchanged carries over. Returns 0 or -1. */
int rules_manager_update(rules_manager *m, const rules_group_def *groups, size_t n, char *err, size_t errlen);

/* Starts the scheduler thread. Returns 0 or -1. */
int rules_manager_start(rules_manager *m);

/* Evaluates every group whose next evaluation is due at the clock's now (tests drive a manual
 * clock with this instead of starting the thread). Returns the number of group evaluations. */
int rules_manager_tick(rules_manager *m);

/* ---- snapshots for the HTTP API (/api/v1/rules, /api/v1/alerts) ---- */

typedef struct rules_rule_snap {
	rules_kind kind;
	char *name;
	char *expr;
	int64_t for_ms, keep_firing_for_ms;
	slod_labels labels, annotations;
	char *health;                /* "ok", "err", "unknown" */
	char *last_error;            /* "" if none */
	int64_t last_eval_ms;
	double eval_seconds;
	rules_alert *alerts;         /* alerting rules: active alerts */
	size_t n_alerts;
	rules_alert_state state;     /* alerting rules: max state over alerts */
} rules_rule_snap;

typedef struct rules_group_snap {
	char *name, *file;
	int64_t interval_ms;
	uint32_t limit;
	int64_t last_eval_ms;
	double eval_seconds;
	uint64_t evaluations, missed_evaluations, failures;
	rules_rule_snap *rules;
	size_t n_rules;
} rules_group_snap;

typedef struct rules_snapshot {
	rules_group_snap *groups;
	size_t n_groups;
	void *priv;                  /* arena holding everything */
} rules_snapshot;

/* Deep copy of the current state; free with rules_snapshot_free. Returns 0 or -1 (OOM). */
int rules_manager_snapshot(rules_manager *m, rules_snapshot *out);
void rules_snapshot_free(rules_snapshot *s);

/* Expands a Prometheus alert template (Go text/template subset: {{ $labels.x }}, {{ .Labels.x }},
 * {{ $value }}, {{ .Value }}, {{ $externalLabels.x }}, pipes to humanize, humanizePercentage,
 * humanizeDuration, humanize1024, printf "%...", and `{{- -}}` trimming). Appends to out. On a
 * template error appends "<error expanding template: ...>" like Prometheus and returns -1. */
int rules_template_expand(const char *tmpl, const slod_labels *labels, double value,
			  const slod_labels *external_labels, buf *out);

#endif
