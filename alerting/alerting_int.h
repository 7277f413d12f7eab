/*
 * alerting_int.h — internal types shared by the files of the alerting module (not public).
 */
#ifndef SLOD_ALERTING_INT_H
#define SLOD_ALERTING_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alerting/alerting.h"
#include "util/buf.h"

typedef struct alert__pending {
	struct alert__pending *next;
	uint64_t id;
	int64_t created_ms;
	int64_t next_attempt_ms;
	unsigned attempts;
	char *body;          /* owned JSON */
	size_t body_len;
	char last_error[128];
} alert__pending;

typedef struct alert__tracked {
	uint64_t fingerprint;
	slod_labels labels;       /* owned strings */
	slod_labels annotations;  /* owned strings */
	char *generator_url;
	char *source;
	int64_t starts_at_ms;
	int64_t resolved_at_ms;   /* 0 = firing */
	bool firing_notified;     /* webhook: a firing notification was queued */
	bool resolved_notified;   /* webhook: the resolved notification was queued */
	bool seen;                /* present in the current alerting_send() set */
	bool restored;            /* read from the state file (notified before a restart) */
	bool awaiting_source;     /* restored, and its source has not reported since the start */
} alert__tracked;

typedef struct alert__group {
	char *key;
	uint64_t last_sig;        /* hash of the firing fingerprints last notified */
	int64_t last_notify_ms;
} alert__group;

typedef struct alert__target {
	alerting_target_config cfg;  /* strings owned (copied) */
	char **group_by_owned;
	alert__tracked *alerts;
	size_t n_alerts, cap_alerts;
	alert__group *groups;
	size_t n_groups, cap_groups;
	alert__pending *head, *tail;
	uint64_t next_id;
	uint64_t sent, failed, retried, dropped, queued;
	uint64_t am_last_sig;
	int64_t am_last_post_ms;
	void *curl;                  /* CURL easy handle, used by the delivering thread only */
	char *persisted;             /* text of the state file as last written (NULL: not yet) */
	size_t persisted_len;
} alert__target;

struct alerting {
	pthread_mutex_t mu;          /* guards targets' state and queues */
	pthread_mutex_t process_mu;  /* one deliverer at a time */
	pthread_cond_t cond;
	pthread_t worker;
	bool has_worker, stopping;
	alert__target *targets;
	size_t n_targets;
	int64_t backoff_initial_ms, backoff_max_ms, give_up_ms, resend_delay_ms;
	char *external_url;
	char *state_dir;
	uint64_t rng;
	int64_t started_ms;          /* clock at alerting_new (for restored alerts whose source is gone) */
	slod_clock clock;
	slod_logger logger;
	alerting_notification recent[ALERTING_RECENT_MAX]; /* ring (recent.c), guarded by mu */
	size_t n_recent, recent_next;
};

int alert__target_init(alert__target *t, const alerting_target_config *cfg, char *err, size_t errlen);
void alert__target_deinit(alert__target *t);
/* POSTs body to the target. Returns the HTTP status, or 0 on a connection error (err says why). */
int alert__http_post(alerting *a, alert__target *t, uint64_t id, const char *body, size_t len, char *err,
		     size_t errlen);
/* Rewrites the target's state file (pending queue, next id, groups). Caller holds a->mu. */
int alert__persist(alerting *a, alert__target *t);
/* Loads the target's state file if present. */
int alert__load(alerting *a, alert__target *t, char *err, size_t errlen);
/* Adds a tracked alert read from the state file: a webhook receiver was told it fires (firing_notified;
 * resolved_at_ms != 0 when its resolution is still to be notified). Takes ownership of source,
 * labels and annotations (owned strings) in every case. Returns 0 or -1 (out of memory). */
int alert__tracked_restore(alert__target *t, char *source, slod_labels *labels, slod_labels *annotations,
			   int64_t starts_at_ms, int64_t resolved_at_ms);
/* Remembers a just-queued notification (recent.c). Caller holds a->mu. */
void alert__recent_add(alerting *a, const alert__target *t, uint64_t id, int64_t created_ms, alert__tracked *const *xs,
		       const alert__tracked *arr, size_t n);
/* Records a delivery outcome of notification id of target t. Caller holds a->mu. */
void alert__recent_update(alerting *a, const alert__target *t, uint64_t id, alerting_delivery d, unsigned attempts,
			  const char *err);
int alert__webhook_body(buf *b, const alerting *a, const alert__target *t, const char *group_key,
			const slod_labels *group_labels, alert__tracked **xs, size_t n);

#endif
