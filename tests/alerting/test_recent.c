/*
 * test_recent.c — alerting.recent: notifications are remembered per SLO with their delivery state
 * (queued → retrying → dropped against a closed port), filtered by SLO id, newest first, bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerting/alerting.h"

static int64_t now_cell;

static alerting *make(void)
{
	/* port 1 on loopback: connection refused, a retryable failure */
	alerting_target_config t = {.kind = ALERTING_WEBHOOK, .name = "hook", .url = "http://127.0.0.1:1/hook",
				    .timeout_ms = 2000};
	alerting_options o = {.targets = &t, .n_targets = 1, .backoff_initial_ms = 1000, .backoff_max_ms = 1000,
			      .give_up_ms = 60000, .clock = slod_clock_manual(&now_cell)};
	alerting *a = NULL;
	char err[256];
	assert_int_equal(alerting_new(&o, &a, err, sizeof err), 0);
	return a;
}

static void send_one(alerting *a, const char *source, const char *alertname, const char *slo, const char *sev)
{
	slod_label l[3] = {{"alertname", alertname}, {"sloth_id", slo}, {"sloth_severity", sev}};
	alerting_alert x = {.labels = {l, 3}, .starts_at_ms = now_cell};
	assert_int_equal(alerting_send(a, source, &x, 1), 0);
}

static void test_states_and_filter(void **state)
{
	(void)state;
	now_cell = 1700000000000LL;
	alerting *a = make();
	alerting_notification ns[ALERTING_RECENT_MAX];
	assert_int_equal(alerting_recent(a, NULL, ns, ALERTING_RECENT_MAX), 0);

	send_one(a, "g1", "SvcAvail", "svc-avail", "page");
	size_t n = alerting_recent(a, NULL, ns, ALERTING_RECENT_MAX);
	assert_int_equal(n, 1);
	assert_string_equal(ns[0].target, "hook");
	assert_string_equal(ns[0].alertname, "SvcAvail");
	assert_string_equal(ns[0].severity, "page");
	assert_string_equal(ns[0].slo_id, "svc-avail");
	assert_true(ns[0].firing);
	assert_int_equal(ns[0].delivery, ALERTING_QUEUED);
	assert_int_equal(ns[0].created_ms, now_cell);
	uint64_t first_id = ns[0].id;

	/* another SLO's alert from another source: a new notification, filtered apart */
	send_one(a, "g2", "OtherAvail", "other-avail", "ticket");
	assert_int_equal(alerting_recent(a, NULL, ns, ALERTING_RECENT_MAX), 2);
	assert_string_equal(ns[0].slo_id, "other-avail"); /* newest first */
	assert_int_equal(alerting_recent(a, "svc-avail", ns, ALERTING_RECENT_MAX), 1);
	assert_int_equal(ns[0].id, first_id);
	assert_int_equal(alerting_recent(a, "nope", ns, ALERTING_RECENT_MAX), 0);

	/* delivery fails (connection refused): retrying with the error, one attempt */
	assert_true(alerting_process(a) >= 1);
	assert_int_equal(alerting_recent(a, "svc-avail", ns, ALERTING_RECENT_MAX), 1);
	assert_int_equal(ns[0].delivery, ALERTING_RETRYING);
	assert_int_equal(ns[0].attempts, 1);
	assert_true(ns[0].last_error[0] != 0);

	/* past give_up: dropped */
	now_cell += 61000;
	alerting_process(a);
	assert_int_equal(alerting_recent(a, "svc-avail", ns, ALERTING_RECENT_MAX), 1);
	assert_int_equal(ns[0].delivery, ALERTING_DROPPED);
	alerting_free(a);
}

static void test_bounded(void **state)
{
	(void)state;
	now_cell = 1700000000000LL;
	alerting *a = make();
	char slo[32];
	for (int i = 0; i < 150; i++) {
		snprintf(slo, sizeof slo, "slo-%d", i);
		now_cell += 1000;
		send_one(a, slo, slo, slo, "page"); /* own group each */
	}
	alerting_notification ns[ALERTING_RECENT_MAX + 10];
	size_t n = alerting_recent(a, NULL, ns, ALERTING_RECENT_MAX + 10);
	assert_int_equal(n, ALERTING_RECENT_MAX);
	assert_string_equal(ns[0].slo_id, "slo-149");
	assert_string_equal(ns[ALERTING_RECENT_MAX - 1].slo_id, "slo-50");
	for (size_t i = 1; i < n; i++)
		assert_true(ns[i].created_ms < ns[i - 1].created_ms);
	/* cap is honoured */
	assert_int_equal(alerting_recent(a, NULL, ns, 3), 3);
	alerting_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_and_filter),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
