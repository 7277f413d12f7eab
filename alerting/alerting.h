/*
 * alerting.h — delivery of alert notifications: per-target queues, generic webhooks (Alertmanager's
 * webhook JSON, version "4") and real Alertmanagers (POST /api/v2/alerts, as Prometheus sends),
 * retries with exponential backoff and jitter, persistence so a restart loses nothing.
 *
 * The rules engine decides which alerts are active; it hands them to alerting_send() after every
 * evaluation. Alerting never evaluates anything: it only groups, inhibits and delivers.
 *
 * Delivery state machine of one queued notification (one HTTP POST to one target):
 *
 *      alerting_send()        due & POST ok (2xx)
 *   ---------------> QUEUED ----------------------> DELIVERED (removed, counted "sent")
 *                    |   ^
 *   5xx/429/conn err |   | backoff elapsed (initial × 2^attempts, ±20% jitter, capped)
 *                    v   |
 *                   RETRYING ---- age > give_up ----> DROPPED (removed, logged, counted "dropped")
 *   other 4xx from QUEUED/RETRYING ----------------> REJECTED (removed, logged, counted "failed")
 *
 * | transition              | function                    |
 * | enqueue                 | alert__target_enqueue       |
 * | attempt, success/retry  | alerting_process            |
 * | give up                 | alerting_process            |
 *
 * Webhook targets group alerts by labels (group_by; default: alertname). A group is notified when
 * the set of its alerts or their status changes, and again every repeat_interval while any alert in it
 * fires. Resolved alerts are notified once, then forgotten. The alerts a webhook was told fire are
 * kept in the state file with the queue, so one that stops firing while slod is down is still
 * notified resolved after the restart (when its source next reports, or an hour after the start
 * if the source never does: its rule group is gone). Built-in tier inhibition: an
 * alert whose `sloth_severity` (or `severity`) is "ticket" is held back while an alert with "page"
 * for the same `sloth_id` (or `slo_id`) fires.
 *
 * Alertmanager targets get every active alert (firing with endsAt = now + 4 × resend_delay, and
 * resolved ones with their endsAt for 15 minutes) whenever something changed and at least every
 * resend_delay; Alertmanager dedups and groups by itself.
 *
 * Thread-safety: all functions are safe to call from any thread.
 */
#ifndef SLOD_ALERTING_H
#define SLOD_ALERTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/labels.h"
#include "util/log.h"

typedef enum alerting_target_kind {
	ALERTING_WEBHOOK,
	ALERTING_ALERTMANAGER,
} alerting_target_kind;

typedef struct alerting_target_config {
	alerting_target_kind kind;
	const char *name;              /* receiver name in payloads, metrics and the state file */
	const char *url;               /* webhook URL, or Alertmanager base URL ("http://host:9093") */
	const char *hmac_secret;       /* optional: X-Slod-Signature: sha256=<hex HMAC of the body> */
	const char *const *group_by;   /* webhook grouping labels; NULL = {"alertname"} */
	size_t n_group_by;
	int64_t repeat_interval_ms;    /* webhook: re-notify a firing group; 0 = 4h */
	int64_t timeout_ms;            /* per request; 0 = 10s */
} alerting_target_config;

typedef struct alerting_options {
	const alerting_target_config *targets;
	size_t n_targets;
	int64_t backoff_initial_ms;    /* 0 = 500ms */
	int64_t backoff_max_ms;        /* 0 = 60s */
	int64_t give_up_ms;            /* drop a notification this old; 0 = 24h */
	int64_t resend_delay_ms;       /* Alertmanager resend; 0 = 1m */
	const char *state_dir;         /* queue persistence; NULL = memory only */
	const char *external_url;      /* webhook "externalURL" */
	bool start_worker;             /* deliver from a background thread; false: call alerting_process */
	slod_clock clock;              /* now_ms == NULL: the system clock */
	slod_logger logger;
} alerting_options;

/* One alert as decided by the rules engine. Strings are borrowed for the duration of the call. */
typedef struct alerting_alert {
	slod_labels labels;            /* canonical; includes alertname */
	slod_labels annotations;
	int64_t starts_at_ms;
	int64_t resolved_at_ms;        /* 0 while firing */
	const char *generator_url;     /* may be NULL */
} alerting_alert;

typedef struct alerting alerting;

typedef struct alerting_target_stats {
	const char *name;
	uint64_t sent, failed, retried, dropped;
	uint64_t queued;               /* pending now */
	int64_t oldest_queued_ms;      /* created time of the oldest pending, 0 if none */
} alerting_target_stats;

/* Calls curl_global_init; main calls it once before any thread starts. */
int alerting_global_init(void);
void alerting_global_cleanup(void);

/* Creates the notifier, loading persisted queues from state_dir. Returns 0 or negative with err. */
int alerting_new(const alerting_options *opt, alerting **out, char *err, size_t errlen);
/* Stops the worker (pending items stay persisted) and frees. NULL is a no-op. */
void alerting_free(alerting *a);

/* Hands over the complete set of alerts of one source (e.g. one rule group, named by source)
 * after an evaluation: active ones and those resolved at this evaluation. Alerts of that source not
 * in the set and not resolved are treated as resolved now. Enqueues what must be sent. */
int alerting_send(alerting *a, const char *source, const alerting_alert *alerts, size_t n);

/* Attempts every notification due at now_ms (used by the worker thread and by tests with a manual
 * clock). Returns the number of HTTP attempts made. */
int alerting_process(alerting *a);

/* Snapshot of per-target counters; *out has room for n_targets entries. Returns the count. */
size_t alerting_get_stats(alerting *a, alerting_target_stats *out, size_t cap);

/* Visits every queued notification (for the API): target, id, created, attempts, next attempt,
 * last error. */
typedef void (*alerting_queue_visit_fn)(void *ud, const char *target, uint64_t id, int64_t created_ms,
					 unsigned attempts, int64_t next_attempt_ms, const char *last_error);
void alerting_visit_queue(alerting *a, alerting_queue_visit_fn fn, void *ud);

/* ---- recent notifications (for GET /api/v1/notifications; recent.c) ---- */

#define ALERTING_RECENT_MAX 100

typedef enum alerting_delivery {
	ALERTING_QUEUED = 0,           /* waiting for its first attempt */
	ALERTING_RETRYING,             /* an attempt failed (5xx, 429, connection); retried later */
	ALERTING_DELIVERED,            /* 2xx */
	ALERTING_DROPPED,              /* given up after give_up_ms */
	ALERTING_REJECTED,             /* other 4xx: not retried */
} alerting_delivery;

/* One queued notification as remembered for the API: one entry per notification and SLO
 * (distinct sloth_id/slo_id label of its alerts; "" when none). Strings are truncated copies. */
typedef struct alerting_notification {
	char target[64];
	uint64_t id;
	int64_t created_ms;
	bool firing;                   /* any alert of it is firing (else all resolved) */
	char alertname[128];           /* of the first alert of that SLO */
	char severity[32];             /* sloth_severity or severity */
	char slo_id[128];
	alerting_delivery delivery;
	unsigned attempts;
	char last_error[128];
} alerting_notification;

/* Copies the newest notifications (newest first; the module keeps the last ALERTING_RECENT_MAX
 * entries), only those about slo_id unless it is NULL, into out[0..cap). Returns the count. */
size_t alerting_recent(alerting *a, const char *slo_id, alerting_notification *out, size_t cap);

/* Alertmanager's label-set fingerprint (FNV-1a 64 over sorted names/values), as 16 hex digits. */
void alerting_fingerprint(const slod_labels *ls, char out[17]);

#endif
