/*
 * Tests for alerting/: payload shapes, grouping, inhibition, retries with backoff (manual clock),
 * non-retriable 4xx, give-up, persistence across restart, Alertmanager API path, HMAC header.
 * A tiny HTTP server thread plays the receiver and fails the first N requests on demand.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerting/alerting.h"

#define MAX_REQ 64

typedef struct receiver {
	int fd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	int fail_first;      /* answer fail_status to this many requests first */
	int fail_status;
	int n;               /* requests received */
	char *bodies[MAX_REQ];
	char *heads[MAX_REQ];
	volatile int stop;
} receiver;

static void *receiver_main(void *arg)
{
	receiver *r = arg;
	while (!r->stop) {
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		char *req = calloc(1, 1 << 20);
		size_t len = 0;
		long clen = -1;
		char *hend = NULL;
		for (;;) {
			ssize_t k = read(c, req + len, (1 << 20) - 1 - len);
			if (k <= 0)
				break;
			len += (size_t)k;
			req[len] = 0;
			if (!hend && (hend = strstr(req, "\r\n\r\n"))) {
				char *cl = strcasestr(req, "Content-Length:");
				clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			}
			if (hend && (long)(len - (size_t)(hend + 4 - req)) >= clen)
				break;
		}
		pthread_mutex_lock(&r->mu);
		int status = 200;
		if (r->fail_first > 0) {
			r->fail_first--;
			status = r->fail_status;
		}
		if (hend && r->n < MAX_REQ) {
			*hend = 0;
			r->heads[r->n] = strdup(req);
			r->bodies[r->n] = strdup(hend + 4);
			r->n++;
		}
		pthread_mutex_unlock(&r->mu);
		char resp[128];
		snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
		if (write(c, resp, strlen(resp)) < 0) {
		}
		close(c);
		free(req);
	}
	return NULL;
}

static receiver *receiver_start(void)
{
	receiver *r = calloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t sl = sizeof sa;
	getsockname(r->fd, (struct sockaddr *)&sa, &sl);
	r->port = ntohs(sa.sin_port);
	listen(r->fd, 16);
	struct timeval tv = {0, 100000};
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pthread_create(&r->th, NULL, receiver_main, r);
	return r;
}

static void receiver_stop(receiver *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
	for (int i = 0; i < r->n; i++) {
		free(r->bodies[i]);
		free(r->heads[i]);
	}
	free(r);
}

typedef struct fixture {
	receiver *r;
	int64_t now;
	char url[128];
	char dir[64];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->r = receiver_start();
	f->now = 1700000000000LL;
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/hook", f->r->port);
	snprintf(f->dir, sizeof f->dir, "/tmp/slod-alerting-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	receiver_stop(f->r);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0) {
	}
	free(f);
	return 0;
}

static alerting *make(fixture *f, alerting_target_kind kind, const char *dir, const char *secret)
{
	alerting_target_config t = {.kind = kind, .name = "hook", .url = f->url, .hmac_secret = secret};
	if (kind == ALERTING_ALERTMANAGER) {
		static char base[128];
		snprintf(base, sizeof base, "http://127.0.0.1:%d", f->r->port);
		t.url = base;
	}
	alerting_options o = {.targets = &t, .n_targets = 1, .backoff_initial_ms = 1000, .backoff_max_ms = 8000,
			      .give_up_ms = 60000, .state_dir = dir, .external_url = "http://slod:9099",
			      .clock = slod_clock_manual(&f->now)};
	alerting *a = NULL;
	char err[256];
	assert_int_equal(alerting_new(&o, &a, err, sizeof err), 0);
	return a;
}

static alerting_alert mk_alert(slod_label *lv, size_t n, slod_label *av, size_t na, int64_t starts)
{
	alerting_alert x = {.labels = {lv, n}, .annotations = {av, na}, .starts_at_ms = starts,
			    .generator_url = "http://slod/graph"};
	return x;
}

static int count(receiver *r)
{
	pthread_mutex_lock(&r->mu);
	int n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void test_webhook_firing_then_resolved(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, NULL);
	slod_label l[] = {{"alertname", "HighErrorRate"}, {"service", "api"}};
	slod_label an[] = {{"summary", "errors \"high\""}};
	alerting_alert x = mk_alert(l, 2, an, 1, f->now - 60000);
	assert_int_equal(alerting_send(a, "g1", &x, 1), 0);
	assert_int_equal(alerting_process(a), 1);
	assert_int_equal(count(f->r), 1);
	const char *b = f->r->bodies[0];
	assert_non_null(strstr(b, "\"version\":\"4\""));
	assert_non_null(strstr(b, "\"status\":\"firing\""));
	assert_non_null(strstr(b, "\"receiver\":\"hook\""));
	assert_non_null(strstr(b, "\"groupLabels\":{\"alertname\":\"HighErrorRate\"}"));
	assert_non_null(strstr(b, "\"commonLabels\":{\"alertname\":\"HighErrorRate\",\"service\":\"api\"}"));
	assert_non_null(strstr(b, "\"summary\":\"errors \\\"high\\\"\""));
	assert_non_null(strstr(b, "\"externalURL\":\"http://slod:9099\""));
	assert_non_null(strstr(b, "\"endsAt\":\"0001-01-01T00:00:00Z\""));
	char fp[17];
	slod_labels ls = {l, 2};
	alerting_fingerprint(&ls, fp);
	char want[64];
	snprintf(want, sizeof want, "\"fingerprint\":\"%s\"", fp);
	assert_non_null(strstr(b, want));
	assert_non_null(strstr(f->r->heads[0], "X-Slod-Notification-Id: hook-1"));

	/* the same set again: nothing new */
	f->now += 30000;
	assert_int_equal(alerting_send(a, "g1", &x, 1), 0);
	assert_int_equal(alerting_process(a), 0);
	assert_int_equal(count(f->r), 1);

	/* gone from the set: one resolved notification, then silence */
	f->now += 30000;
	assert_int_equal(alerting_send(a, "g1", NULL, 0), 0);
	assert_int_equal(alerting_process(a), 1);
	assert_non_null(strstr(f->r->bodies[1], "\"status\":\"resolved\""));
	assert_null(strstr(f->r->bodies[1], "0001-01-01"));
	assert_int_equal(alerting_send(a, "g1", NULL, 0), 0);
	assert_int_equal(alerting_process(a), 0);
	alerting_target_stats st;
	assert_int_equal(alerting_get_stats(a, &st, 1), 1);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.queued, 0);
	alerting_free(a);
}

static void test_fingerprint_known_value(void **state)
{
	(void)state;
	/* Alertmanager: model.LabelSet{"alertname":"test"}.Fingerprint() — FNV-1a 64 with 0xff separators */
	slod_label l[] = {{"alertname", "test"}};
	slod_labels ls = {l, 1};
	char fp[17];
	alerting_fingerprint(&ls, fp);
	/* computed independently: FNV-1a over "alertname\xfftest\xff" */
	uint64_t h = 14695981039346656037ULL;
	const char *s = "alertname\xfftest\xff";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	char want[17];
	snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
	assert_string_equal(fp, want);
}

static void test_retry_backoff_exactly_once(void **state)
{
	fixture *f = *state;
	f->r->fail_first = 3;
	f->r->fail_status = 503;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, NULL);
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	assert_int_equal(alerting_send(a, "g", &x, 1), 0);
	assert_int_equal(alerting_process(a), 1); /* fails */
	assert_int_equal(alerting_process(a), 0); /* backing off: not due */
	int delivered_at = -1;
	for (int i = 0; i < 20 && delivered_at < 0; i++) {
		f->now += 10000; /* past any backoff */
		alerting_process(a);
		alerting_target_stats st;
		alerting_get_stats(a, &st, 1);
		if (st.sent == 1)
			delivered_at = i;
	}
	assert_true(delivered_at >= 0);
	alerting_target_stats st;
	alerting_get_stats(a, &st, 1);
	assert_int_equal(st.retried, 3);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.queued, 0);
	assert_int_equal(count(f->r), 4);
	/* every request carried the same notification */
	for (int i = 1; i < 4; i++)
		assert_string_equal(f->r->bodies[i], f->r->bodies[0]);
	f->now += 100000;
	assert_int_equal(alerting_process(a), 0);
	alerting_free(a);
}

static void test_4xx_not_retried(void **state)
{
	fixture *f = *state;
	f->r->fail_first = 1;
	f->r->fail_status = 400;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, NULL);
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	alerting_target_stats st;
	alerting_get_stats(a, &st, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.queued, 0);
	f->now += 100000;
	assert_int_equal(alerting_process(a), 0);
	alerting_free(a);
}

static void test_give_up_counts_dropped(void **state)
{
	fixture *f = *state;
	f->r->fail_first = 1000;
	f->r->fail_status = 500;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, NULL);
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	alerting_send(a, "g", &x, 1);
	for (int i = 0; i < 20; i++) {
		alerting_process(a);
		f->now += 8000;
	}
	alerting_target_stats st;
	alerting_get_stats(a, &st, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 0);
	alerting_free(a);
}

static void test_persistence_across_restart(void **state)
{
	fixture *f = *state;
	f->r->fail_first = 1;
	f->r->fail_status = 503;
	alerting *a = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1); /* fails: stays queued */
	alerting_free(a);                          /* "restart" */

	alerting *b = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	alerting_target_stats st;
	alerting_get_stats(b, &st, 1);
	assert_int_equal(st.queued, 1);
	f->now += 10000;
	assert_int_equal(alerting_process(b), 1);
	assert_int_equal(count(f->r), 2);
	assert_string_equal(f->r->bodies[0], f->r->bodies[1]);
	/* the group's state survived too: the same alert set is not notified again */
	alerting_send(b, "g", &x, 1);
	assert_int_equal(alerting_process(b), 0);
	/* and an evaluation that changes nothing does not rewrite (fsync) the state file */
	char path[256];
	snprintf(path, sizeof path, "%s/alerting-hook.state", f->dir);
	struct stat st1, st2;
	assert_int_equal(stat(path, &st1), 0);
	alerting_send(b, "g", &x, 1);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* next ids continue after the restored ones */
	f->now += 1000;
	alerting_send(b, "g", NULL, 0);
	assert_int_equal(alerting_process(b), 1);
	assert_non_null(strstr(f->r->heads[2], "X-Slod-Notification-Id: hook-2"));
	alerting_free(b);
}

/* An alert the receiver was told fires, which stops firing while slod is down, is resolved after
 * the restart (the tracked alert is in the state file), with the startsAt the receiver knows. */
static void test_restart_resolves_what_stopped_firing(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	slod_label l[] = {{"alertname", "A"}, {"job", "x\ny"}};
	slod_label an[] = {{"summary", "two\nlines"}};
	slod_label l2[] = {{"alertname", "B"}};
	alerting_alert x[2] = {mk_alert(l, 2, an, 1, f->now - 5000), mk_alert(l2, 1, NULL, 0, f->now - 5000)};
	alerting_send(a, "g", x, 2);
	assert_int_equal(alerting_process(a), 2);
	char starts[64];
	const char *p = strstr(f->r->bodies[0], "\"startsAt\":\"");
	assert_non_null(p);
	snprintf(starts, sizeof starts, "%.40s", p);
	alerting_free(a); /* "restart"; A stops firing meanwhile, B fires on with a new startsAt */

	f->now += 60000;
	alerting *b = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	alerting_alert again = mk_alert(l2, 1, NULL, 0, f->now);
	alerting_send(b, "g", &again, 1);
	assert_int_equal(alerting_process(b), 1);
	assert_int_equal(count(f->r), 3);
	const char *res = f->r->bodies[2];
	assert_non_null(strstr(res, "\"status\":\"resolved\""));
	assert_non_null(strstr(res, "\"alertname\":\"A\",\"job\":\"x\\ny\""));
	assert_non_null(strstr(res, "\"summary\":\"two\\nlines\""));
	assert_non_null(strstr(res, starts)); /* the startsAt of the firing notification */
	assert_null(strstr(res, "\"B\""));
	/* B was notified before the restart and fires on: nothing; once it resolves, its startsAt is
	 * still the first one */
	f->now += 1000;
	alerting_send(b, "g", &again, 1);
	assert_int_equal(alerting_process(b), 0);
	alerting_send(b, "g", NULL, 0);
	assert_int_equal(alerting_process(b), 1);
	p = strstr(f->r->bodies[1], "\"startsAt\":\"");
	assert_non_null(p);
	snprintf(starts, sizeof starts, "%.40s", p);
	assert_non_null(strstr(f->r->bodies[3], "\"status\":\"resolved\""));
	assert_non_null(strstr(f->r->bodies[3], starts));
	alerting_free(b);

	/* everything resolved and notified: a third start restores nothing */
	alerting *c = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	alerting_send(c, "g", NULL, 0);
	assert_int_equal(alerting_process(c), 0);
	alerting_free(c);
}

/* A restored alert whose rule group never reports after the restart (removed while slod was down)
 * is resolved an hour after the start, when any other source reports. */
static void test_restored_alert_of_a_vanished_group(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	slod_label l[] = {{"alertname", "Gone"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now - 5000);
	alerting_send(a, "old;group", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	alerting_free(a);

	f->now += 60000;
	alerting *b = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	f->now += 30 * 60000; /* half an hour: the group may just be slow */
	alerting_send(b, "other;group", NULL, 0);
	assert_int_equal(alerting_process(b), 0);
	f->now += 30 * 60000; /* an hour after the start */
	alerting_send(b, "other;group", NULL, 0);
	assert_int_equal(alerting_process(b), 1);
	assert_non_null(strstr(f->r->bodies[1], "\"status\":\"resolved\""));
	assert_non_null(strstr(f->r->bodies[1], "\"alertname\":\"Gone\""));
	f->now += 60000;
	alerting_send(b, "other;group", NULL, 0);
	assert_int_equal(alerting_process(b), 0);
	alerting_free(b);

	/* a restored alert whose group does report is not touched by the hour */
	alerting *c = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	slod_label l2[] = {{"alertname", "Stays"}};
	alerting_alert y = mk_alert(l2, 1, NULL, 0, f->now);
	alerting_send(c, "g2", &y, 1);
	assert_int_equal(alerting_process(c), 1);
	alerting_free(c);
	alerting *d = make(f, ALERTING_WEBHOOK, f->dir, NULL);
	alerting_send(d, "g2", &y, 1);
	f->now += 2 * 3600 * 1000;
	alerting_send(d, "other;group", NULL, 0);
	assert_int_equal(alerting_process(d), 0);
	alerting_free(d);
}

static void test_ticket_inhibited_by_page(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, NULL);
	slod_label page[] = {{"alertname", "Burn"}, {"sloth_id", "svc-slo"}, {"sloth_severity", "page"}};
	slod_label ticket[] = {{"alertname", "Burn"}, {"sloth_id", "svc-slo"}, {"sloth_severity", "ticket"}};
	alerting_alert xs[2] = {mk_alert(page, 3, NULL, 0, f->now), mk_alert(ticket, 3, NULL, 0, f->now)};
	alerting_send(a, "g", xs, 2);
	assert_int_equal(alerting_process(a), 1);
	assert_non_null(strstr(f->r->bodies[0], "\"sloth_severity\":\"page\""));
	assert_null(strstr(f->r->bodies[0], "\"sloth_severity\":\"ticket\""));
	/* page resolves, ticket still burning: the ticket is notified now */
	f->now += 60000;
	alerting_send(a, "g", &xs[1], 1);
	assert_int_equal(alerting_process(a), 1);
	assert_non_null(strstr(f->r->bodies[1], "\"sloth_severity\":\"ticket\""));
	assert_non_null(strstr(f->r->bodies[1], "\"status\":\"resolved\""));
	alerting_free(a);
}

static void test_repeat_interval(void **state)
{
	fixture *f = *state;
	alerting_target_config t = {.kind = ALERTING_WEBHOOK, .name = "hook", .url = f->url,
				    .repeat_interval_ms = 3600000};
	alerting_options o = {.targets = &t, .n_targets = 1, .clock = slod_clock_manual(&f->now)};
	alerting *a = NULL;
	char err[128];
	assert_int_equal(alerting_new(&o, &a, err, sizeof err), 0);
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	alerting_send(a, "g", &x, 1);
	alerting_process(a);
	f->now += 1800000;
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 0);
	f->now += 1800000;
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	assert_int_equal(count(f->r), 2);
	alerting_free(a);
}

static void test_alertmanager_shape(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_ALERTMANAGER, NULL, NULL);
	slod_label l[] = {{"alertname", "A"}, {"severity", "page"}};
	alerting_alert x = mk_alert(l, 2, NULL, 0, 1700000000000LL);
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	assert_non_null(strstr(f->r->heads[0], "POST /api/v2/alerts HTTP/1.1"));
	const char *b = f->r->bodies[0];
	assert_int_equal(b[0], '[');
	assert_non_null(strstr(b, "\"startsAt\":\"2023-11-14T22:13:20Z\""));
	/* firing: endsAt = now + 4 × resend delay (1m) */
	assert_non_null(strstr(b, "\"endsAt\":\"2023-11-14T22:17:20Z\""));
	/* resend after the resend delay even if unchanged */
	f->now += 30000;
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 0);
	f->now += 30000;
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	alerting_free(a);
}

static void test_hmac_signature(void **state)
{
	fixture *f = *state;
	alerting *a = make(f, ALERTING_WEBHOOK, NULL, "s3cret");
	slod_label l[] = {{"alertname", "A"}};
	alerting_alert x = mk_alert(l, 1, NULL, 0, f->now);
	alerting_send(a, "g", &x, 1);
	assert_int_equal(alerting_process(a), 1);
	unsigned char mac[32];
	unsigned int ml = 0;
	const char *body = f->r->bodies[0];
	HMAC(EVP_sha256(), "s3cret", 6, (const unsigned char *)body, strlen(body), mac, &ml);
	char want[128];
	int k = snprintf(want, sizeof want, "X-Slod-Signature: sha256=");
	for (unsigned i = 0; i < ml; i++)
		k += snprintf(want + k, sizeof want - (size_t)k, "%02x", mac[i]);
	assert_non_null(strstr(f->r->heads[0], want));
	alerting_free(a);
}

int main(void)
{
	alerting_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_webhook_firing_then_resolved, setup, teardown),
		cmocka_unit_test(test_fingerprint_known_value),
		cmocka_unit_test_setup_teardown(test_retry_backoff_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4xx_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_up_counts_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_resolves_what_stopped_firing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_alert_of_a_vanished_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_inhibited_by_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alertmanager_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmac_signature, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	alerting_global_cleanup();
	return rc;
}
