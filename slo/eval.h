/*
 * eval.h — live SLO evaluation: the SLOs of an slo_set compiled to rules (Sloth-identical), run by a
 * rules_manager, and read back every cycle into per-SLO status: window error ratios and burn
 * rates, the error budget over the period (exact or Sloth's method), alert tier states and
 * exhaustion forecasts. This is what /api/v1/slos serves (docs/slo-api.md, docs/slo-eval.md).
 *
 * Typical use (main):
 *   slo_engine_options o = {.set = set, .rules = rm, .db = db, .engine = pe, .clock = clk};
 *   slo_engine_new(&o, &e, err, sizeof err);     // hands SLO groups + user groups to rm
 *   slo_engine_start(e, 30000);                   // or call slo_engine_evaluate() yourself
 *   slo_snapshot *s = slo_engine_acquire(e);      // from any thread (HTTP handlers)
 *   ... read s->slos[i] ...
 *   slo_snapshot_release(s);
 *   slo_engine_free(e);
 *
 * Thread-safety: every function may be called from any thread. A snapshot is immutable and
 * refcounted; it stays valid after the engine publishes a newer one, but not after slo_engine_free
 * (it borrows the engine's strings).
 */
#ifndef SLOD_SLO_EVAL_H
#define SLOD_SLO_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/engine.h"
#include "rules/rules.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"
#include "util/clock.h"
#include "util/log.h"

/* How the period's error ratio (and so the budget) is computed. */
typedef enum slo_eval_method {
	SLO_EVAL_EXACT = 0, /* errors ÷ total over the period from 5m buckets (raw SLIs: time average) */
	SLO_EVAL_SLOTH,     /* Sloth's slo:sli_error:ratio_rate<period>: average of the 5m ratios */
} slo_eval_method;

/* "exact" / "sloth" */
const char *slo_eval_method_name(slo_eval_method m);
/* Parses "exact" or "sloth". Returns 0 or -1. */
int slo_eval_method_parse(const char *s, slo_eval_method *out);

typedef struct slo_engine_options {
	slo_set *set;                    /* borrowed, validated; must outlive the engine */
	slo_gen_options gen;             /* default period, extra labels, ... (plain Prometheus output is
					    forced; alerts/recordings must stay enabled) */
	slo_eval_method method;          /* what errorBudget is computed from */
	int64_t bucket_ms;               /* exact method bucket width; 0: 5m. Must divide the period. */
	int64_t bucket_delay_ms;         /* a bucket ending at T is evaluated at T + delay, so samples
					    that arrive late still count; 0: 1m; < 0: none */
	int64_t lookback_ms;             /* recorded series older than this are "no data"; 0: 5m */
	int64_t fast_min_window_ms;      /* windows >= this (and the period rule) of sum(rate()) SLIs are
					    recorded by the engine incrementally, not by the rules
					    manager (same values, see eval_fast.c); 0: 1h; < 0: never */
	int64_t rebuild_slice_ms;        /* stored history is read back in time slices of this length
					    when bucket rings and fast-path summaries are (re)built (the
					    first evaluation, late-data repairs; also the bucket queries
					    of slo_engine_history): one raw read holds at most one slice
					    of one series, one bucket range query spans at most one
					    slice. Rounded up to whole buckets; 0: 1 day; < 0: no
					    slicing. Computed values do not depend on it. */
	const rules_group_def *user_groups; /* borrowed for slo_engine_new only */
	size_t n_user_groups;
	rules_manager *rules;            /* borrowed */
	tsdb *db;                        /* borrowed */
	promql_engine *engine;           /* borrowed */
	slod_clock clock;                /* now_ms == NULL: system clock */
	slod_logger logger;
} slo_engine_options;

/* One window of an SLO at evaluation time. has_data is false when the recorded series has no
 * sample within the lookback, or its value is NaN (0/0: no traffic). */
typedef struct slo_window_status {
	const char *window;              /* "5m" */
	int64_t ms;
	bool has_data;
	double error_ratio, burn_rate;
} slo_window_status;

/* One multiwindow-multiburn condition of an alert tier (a tier has two: quick and slow). */
typedef struct slo_alert_status {
	const char *severity;            /* "page" / "ticket" */
	const char *name;                /* alert name */
	rules_alert_state state;         /* of the tier's alerting rule (max over its alerts) */
	const char *long_window, *short_window;
	int64_t long_ms, short_ms;
	double factor, threshold;        /* threshold = factor × budget ratio */
	double long_burn, short_burn;    /* NaN when no data */
} slo_alert_status;

typedef struct slo_status {
	const slo_spec *spec;            /* borrowed from the set */
	const char *id, *service, *name, *description;
	const char *source;              /* "file:line" */
	const char *spec_text;           /* the YAML document the SLO was read from ("" if unreadable) */
	double objective;                /* percent */
	int64_t period_ms;
	const char *period;              /* "30d" (calendar periods: the rolling equivalent the rules use) */
	slo_calendar calendar;           /* SLO_CAL_NONE: rolling period */
	const char *timezone;            /* calendar periods: the zone as written ("UTC" by default) */
	int64_t period_start_ms;         /* calendar periods: start of the current one (0: rolling) */
	int64_t min_events;              /* alert conditions need this many events (0: none) */
	int64_t evaluated_at_ms;         /* 0: not evaluated yet */
	slo_window_status *windows;      /* the alert windows, shortest first */
	size_t n_windows;
	/* the period */
	slo_eval_method method;
	bool period_has_data;
	double period_error_ratio, period_burn_rate;   /* of `method` */
	bool events;                     /* event SLI (error/total queries) */
	double error_events, total_events;             /* exact buckets (events SLIs); NaN when a
							  query's shape is not a count of events */
	bool exact_has_data, sloth_has_data;
	double exact_error_ratio, sloth_error_ratio;   /* both methods, for comparison */
	/* budget */
	double budget_ratio;             /* 1 − objective/100 */
	double consumed, remaining;      /* NaN when the period has no data */
	slo_alert_status *alerts;        /* page quick, page slow, ticket quick, ticket slow (enabled) */
	size_t n_alerts;
	double exhaustion_current_s;     /* NaN: null (no burn, no data, or already exhausted) */
	double exhaustion_period_s;
} slo_status;

typedef struct slo_snapshot {
	int64_t evaluated_at_ms;         /* 0 before the first evaluation */
	slo_status *slos;                /* in load order */
	size_t n_slos;
	/* private */
	int refs_;
	void *priv_;
} slo_snapshot;

typedef struct slo_engine slo_engine;

/* Compiles every SLO of o->set to rule groups (slo_generate → slo_rulefile_parse) and hands them,
 * with o->user_groups, to o->rules (rules_manager_update). The rings of the exact method are
 * filled from stored history on the first slo_engine_evaluate(). Returns 0, or -1 with err set
 * (generation or rule errors; nothing is handed to the manager then) and *out NULL. */
int slo_engine_new(const slo_engine_options *o, slo_engine **out, char *err, size_t errlen);
/* Stops the thread (if started) and frees. Snapshots must have been released. NULL is a no-op. */
void slo_engine_free(slo_engine *e);

/* Replaces the user rule groups: hands SLO groups + these to the rules manager. Borrowed for the
 * call. Returns 0 or -1 with err (the old set keeps running). */
int slo_engine_set_user_groups(slo_engine *e, const rules_group_def *groups, size_t n, char *err, size_t errlen);

/* One evaluation cycle at the clock's now: advances the bucket rings (first call: rebuilds them
 * from history), reads the recorded window ratios and alert states, publishes a new snapshot.
 * Does not tick the rules manager. Returns 0 or -1 (out of memory; the old snapshot stays). */
int slo_engine_evaluate(slo_engine *e);

/* Starts a thread calling slo_engine_evaluate() every interval_ms (aligned to the interval).
 * Needed in production: with the fast path on, the engine records the long-window series the
 * alert rules read. Returns 0 or -1. */
int slo_engine_start(slo_engine *e, int64_t interval_ms);

/* The newest snapshot (never NULL unless out of memory; before the first evaluation the SLOs are
 * listed with evaluated_at_ms = 0 and no data). Release with slo_snapshot_release. */
slo_snapshot *slo_engine_acquire(slo_engine *e);
void slo_snapshot_release(slo_snapshot *s);
/* The SLO with that id, or NULL. */
const slo_status *slo_snapshot_find(const slo_snapshot *s, const char *id);

/* ---- history (/api/v1/slos/{id}/history) ---- */

#define SLO_HISTORY_MAX_POINTS 11000

typedef struct slo_history_point {
	int64_t t;
	double error_ratio, burn_rate;   /* shortest alert window; NaN: null */
	double budget_remaining;         /* over the period ending at t (the engine's method); NaN: null */
	double request_rate;             /* total query per second (events SLIs; rate or increase
					    shapes); NaN: null */
} slo_history_point;

typedef struct slo_history {
	slo_history_point *points;       /* owned; free with slo_history_free */
	size_t n_points;
	int64_t step_ms;
} slo_history;

/* Computes points at start, start+step, ..., <= end from stored series with range queries.
 * Returns 0; SLO_ERR_ARG (err: bad range, more than SLO_HISTORY_MAX_POINTS points); SLO_ERR_INVALID
 * when id is unknown; or SLO_ERR_NOMEM / a query failure (err says which). */
int slo_engine_history(slo_engine *e, const char *id, int64_t start, int64_t end, int64_t step,
		       slo_history *out, char *err, size_t errlen);
void slo_history_free(slo_history *h);

/* Number of SLOs and of rule groups the engine compiled, and of recording rules it evaluates
 * itself (the fast path) instead of the rules manager (for logs, tests and the bench). */
size_t slo_engine_n_slos(const slo_engine *e);
size_t slo_engine_n_groups(const slo_engine *e);
size_t slo_engine_n_fast_rules(const slo_engine *e);

/* Memory and rebuild bounds, for tests, logs and the bench. */
typedef struct slo_engine_stats {
	size_t state_bytes;              /* bucket rings + fast-path summaries and series tables */
	size_t scratch_bytes;            /* sample scratch buffers held now (between evaluations:
					    ≤ 16 KiB per fast-path SLO + the latest-sample buffer) */
	size_t max_read_samples;         /* most samples one fast-path raw read returned since the
					    engine was created (≤ samples of one series in one slice) */
	int64_t max_query_steps;         /* most steps one ring bucket range query (rebuild, repair)
					    spanned since creation (≤ slice ÷ bucket; history requests
					    are sliced alike but not counted here) */
	int64_t rebuild_slice_ms;        /* the slice in force; 0: none */
} slo_engine_stats;

/* Fills *out. Waits for a running evaluation (takes the evaluation lock). */
void slo_engine_get_stats(slo_engine *e, slo_engine_stats *out);

#endif
