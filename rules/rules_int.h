/*
 * rules_int.h — internal types of the rules module (not public).
 */
#ifndef SLOD_RULES_INT_H
#define SLOD_RULES_INT_H

#include <pthread.h>

#include "promql/promql.h"
#include "rules/rules.h"

/* A series written by a rule at its previous evaluation, to stale-mark it when it vanishes. */
typedef struct r__written {
	uint64_t hash;
	slod_labels labels; /* labels_dup */
} r__written;

typedef struct r__written_set {
	r__written *v;
	size_t n, cap;
} r__written_set;

typedef struct r__alert {
	uint64_t hash;            /* of labels */
	slod_labels labels;       /* labels_dup */
	slod_labels annotations;  /* labels_dup */
	rules_alert_state state;
	int64_t active_at_ms, fired_at_ms, resolved_at_ms, last_sent_ms, keep_firing_since_ms;
	double value;
	bool seen;
} r__alert;

typedef struct r__rule {
	rules_kind kind;
	char *name, *expr;
	promql_expr *parsed;
	int64_t for_ms, keep_firing_for_ms;
	slod_labels labels, annotations; /* labels_dup */
	r__alert *alerts;
	size_t n_alerts, cap_alerts;
	r__written_set written;
	bool restored;
	char health[8];
	char last_error[512];
	int64_t last_eval_ms;
	double eval_seconds;
} r__rule;

typedef struct r__group {
	char *name, *file;
	int64_t interval_ms;
	uint32_t limit;
	r__rule *rules;
	size_t n_rules;
	int64_t next_eval_ms;     /* 0: not scheduled yet */
	int64_t last_eval_ms;
	double eval_seconds;
	uint64_t evaluations, missed, failures;
} r__group;

/* One due group of a scheduler step and the slot it is evaluated at (sched.c). */
typedef struct r__due {
	int64_t slot;
	uint32_t group;           /* index into rules_manager.groups */
} r__due;

/* Scheduler counters (sched.c), for tests and measurements; guarded by mu. */
typedef struct r__sched_stats {
	uint64_t steps;           /* scheduler steps: wake-ups of the thread, rules_manager_tick calls */
	uint64_t sleeps;          /* times the thread went to sleep */
	uint64_t checks;          /* groups looked at to find due ones and the batch's wake time */
	uint64_t heap_cmps;       /* key comparisons of heap maintenance */
	uint64_t evaluations;     /* group evaluations */
} r__sched_stats;

/* Groups whose slots fall within this many ms after the next due one are evaluated in the same
 * wake-up of the scheduler thread (each at its own slot timestamp). */
#define R__SCHED_BATCH_MS 10

struct rules_manager {
	pthread_mutex_t mu;       /* guards groups, the schedule and all rule state; held for a whole
				     scheduler step (its group evaluations) */
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping;
	r__group *groups;
	size_t n_groups;
	uint32_t *heap;           /* sched.c: min-heap of group indices by (next_eval_ms, index) */
	size_t n_heap;
	r__due *due;              /* sched.c: n_groups entries of scratch for one step */
	int64_t batch_ms;         /* R__SCHED_BATCH_MS; tests may change it (0: no batching) */
	r__sched_stats sched_stats;
	tsdb *db;
	promql_engine *engine;
	int64_t default_interval_ms;
	slod_labels external_labels;
	char *external_url;
	rules_on_alerts_fn on_alerts;
	void *on_alerts_ud;
	slod_clock clock;
	slod_logger logger;
};

/* manager.c: evaluates group g at timestamp ts (every rule in order, results committed after each
 * rule, alerts handed to on_alerts) and updates its counters. Caller holds mu. */
void r__group_eval(rules_manager *m, r__group *g, int64_t ts);

/* sched.c: rebuilds the heap over m->groups (after rules_manager_update swapped the arrays; m->heap
 * and m->due have n_groups entries). Caller holds mu. O(n). */
void r__sched_rebuild(rules_manager *m);
/* sched.c: one step of the scheduler thread, for tests driving a manual clock: evaluates every group
 * due at the clock's now in slot order and sets *wake_at to the clock time at which the thread would
 * wake next (INT64_MAX without groups). Takes mu. Returns the number of evaluations. */
int r__sched_step(rules_manager *m, int64_t *wake_at);

/* alert.c: evaluates one alerting rule at ts from a query result, appending ALERTS series. */
int r__alert_eval(rules_manager *m, r__rule *r, const promql_result *res, int64_t ts, tsdb_appender *app,
		  r__written_set *now_written);
/* Frees a rule's alert instances. */
void r__alerts_free(r__rule *r);
/* Written-set helpers (manager.c). */
int r__written_add(r__written_set *s, const slod_labels *ls, uint64_t hash);
void r__written_free(r__written_set *s);
bool r__written_has(const r__written_set *s, uint64_t hash);

#endif
