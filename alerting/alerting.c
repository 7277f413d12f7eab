/*
 * alerting.c — notification grouping, queues, retries and persistence; see alerting.h for the
 * delivery state machine and the grouping rules.
 *
 * Data layout (all under alerting.mu):
 *   alerting
 *     targets[]            one per configured target
 *       alerts             tracked alerts (owned copies), array; identity = fingerprint
 *       groups             webhook groups: key (group_by values) -> last signature, last notify time
 *       queue              FIFO of pending POST bodies; head is attempted first, so a failing target
 *                          keeps its order (no reordering on retry)
 *
 * Invariants: queue ids strictly increase per target; a pending item is removed only after a 2xx,
 * a non-retriable 4xx (logged) or the give-up age (logged); the state file always holds every pending
 * item (it is rewritten, via tmp + fsync + rename, after each change of the queue).
 *
 * Costs: alerting_send is O(alerts × targets) plus one JSON body per changed group; delivery is one
 * HTTP request per pending item. Alert counts per slod are small (hundreds), so arrays suffice.
 */
#include "alerting/alerting.h"
#include "alerting/alerting_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/fmt.h"

#define RESOLVED_KEEP_MS (15 * 60 * 1000)
/* A restored alert whose source (rule group) has not reported this long after the start is taken
 * as resolved: the group was removed while slod was down. Longer than any sane rule interval. */
#define ORPHAN_AFTER_MS (60 * 60 * 1000)

static int64_t now_ms(alerting *a)
{
	return slod_clock_now(&a->clock);
}

/* ---- owned label copies ---- */

static void labels_free_owned(slod_labels *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		free((char *)ls->v[i].name);
		free((char *)ls->v[i].value);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

static int labels_copy_owned(slod_labels *dst, const slod_labels *src)
{
	dst->n = 0;
	dst->v = calloc(src->n ? src->n : 1, sizeof(slod_label));
	if (!dst->v)
		return -1;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].name = strdup(src->v[i].name);
		dst->v[i].value = strdup(src->v[i].value);
		dst->n = i + 1;
		if (!dst->v[i].name || !dst->v[i].value)
			return -1;
	}
	return 0;
}

static void tracked_free(alert__tracked *t)
{
	labels_free_owned(&t->labels);
	labels_free_owned(&t->annotations);
	free(t->generator_url);
	free(t->source);
}

void alerting_fingerprint(const slod_labels *ls, char out[17])
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < ls->n; i++) {
		const char *parts[2] = {ls->v[i].name, ls->v[i].value};
		for (int k = 0; k < 2; k++) {
			for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
				h ^= *p;
				h *= 1099511628211ULL;
			}
			h ^= 0xff;
			h *= 1099511628211ULL;
		}
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static uint64_t fingerprint_u64(const slod_labels *ls)
{
	char hex[17];
	alerting_fingerprint(ls, hex);
	return strtoull(hex, NULL, 16);
}

/* ---- tracking ---- */

static alert__tracked *tracked_find(alert__target *t, uint64_t fp)
{
	for (size_t i = 0; i < t->n_alerts; i++)
		if (t->alerts[i].fingerprint == fp)
			return &t->alerts[i];
	return NULL;
}

static int tracked_upsert(alert__target *t, const char *source, const alerting_alert *in, int64_t now)
{
	uint64_t fp = fingerprint_u64(&in->labels);
	alert__tracked *x = tracked_find(t, fp);
	if (!x) {
		if (t->n_alerts == t->cap_alerts) {
			size_t cap = t->cap_alerts ? t->cap_alerts * 2 : 16;
			alert__tracked *na = realloc(t->alerts, cap * sizeof(*na));
			if (!na)
				return -1;
			t->alerts = na;
			t->cap_alerts = cap;
		}
		x = &t->alerts[t->n_alerts++];
		memset(x, 0, sizeof(*x));
		x->fingerprint = fp;
		if (labels_copy_owned(&x->labels, &in->labels) != 0)
			return -1;
	} else {
		labels_free_owned(&x->annotations);
		free(x->generator_url);
		free(x->source);
		x->generator_url = NULL;
		x->source = NULL;
	}
	if (labels_copy_owned(&x->annotations, &in->annotations) != 0)
		return -1;
	x->generator_url = in->generator_url ? strdup(in->generator_url) : NULL;
	x->source = strdup(source);
	/* an alert restored from the state file keeps the startsAt its receivers were told (the rules
	 * restart the clock of an alert without `for` after a restart) */
	if (!(x->restored && x->starts_at_ms > 0 && x->starts_at_ms < in->starts_at_ms))
		x->starts_at_ms = in->starts_at_ms;
	if (in->resolved_at_ms) {
		if (!x->resolved_at_ms)
			x->resolved_at_ms = in->resolved_at_ms;
	} else {
		x->resolved_at_ms = 0;
		x->resolved_notified = false;
	}
	x->seen = true;
	x->awaiting_source = false;
	(void)now;
	return 0;
}

int alert__tracked_restore(alert__target *t, char *source, slod_labels *labels, slod_labels *annotations,
			   int64_t starts_at_ms, int64_t resolved_at_ms)
{
	int rc = 0;
	uint64_t fp = fingerprint_u64(labels);
	if (tracked_find(t, fp))
		goto out; /* a duplicate: keep the first */
	if (t->n_alerts == t->cap_alerts) {
		size_t cap = t->cap_alerts ? t->cap_alerts * 2 : 16;
		alert__tracked *na = realloc(t->alerts, cap * sizeof(*na));
		if (!na) {
			rc = -1;
			goto out;
		}
		t->alerts = na;
		t->cap_alerts = cap;
	}
	alert__tracked *x = &t->alerts[t->n_alerts++];
	memset(x, 0, sizeof(*x));
	x->fingerprint = fp;
	x->labels = *labels;
	x->annotations = *annotations;
	x->source = source;
	x->starts_at_ms = starts_at_ms;
	x->resolved_at_ms = resolved_at_ms;
	x->firing_notified = true;
	x->restored = true;
	x->awaiting_source = true;
	*labels = (slod_labels){0};
	*annotations = (slod_labels){0};
	source = NULL;
out:
	free(source);
	labels_free_owned(labels);
	labels_free_owned(annotations);
	return rc;
}

static void tracked_remove_at(alert__target *t, size_t i)
{
	tracked_free(&t->alerts[i]);
	t->alerts[i] = t->alerts[--t->n_alerts];
}

static const char *label_or(const slod_labels *ls, const char *a, const char *b)
{
	const char *v = labels_get(ls, a);
	return v ? v : labels_get(ls, b);
}

/* A ticket held back by a firing page of the same SLO (built-in tier inhibition). */
static bool is_inhibited(const alert__target *t, const alert__tracked *x)
{
	const char *sev = label_or(&x->labels, "sloth_severity", "severity");
	const char *slo = label_or(&x->labels, "sloth_id", "slo_id");
	if (!sev || !slo || strcmp(sev, "ticket") != 0 || x->resolved_at_ms)
		return false;
	for (size_t i = 0; i < t->n_alerts; i++) {
		const alert__tracked *o = &t->alerts[i];
		const char *osev = label_or(&o->labels, "sloth_severity", "severity");
		const char *oslo = label_or(&o->labels, "sloth_id", "slo_id");
		if (!o->resolved_at_ms && osev && oslo && strcmp(osev, "page") == 0 && strcmp(oslo, slo) == 0)
			return true;
	}
	return false;
}

/* ---- payloads ---- */

static int json_labels(buf *b, const slod_labels *ls)
{
	if (buf_putc(b, '{'))
		return -1;
	for (size_t i = 0; i < ls->n; i++) {
		if ((i && buf_putc(b, ',')) || buf_json_str(b, ls->v[i].name, strlen(ls->v[i].name)) ||
		    buf_putc(b, ':') || buf_json_str(b, ls->v[i].value, strlen(ls->v[i].value)))
			return -1;
	}
	return buf_putc(b, '}');
}

static int json_time(buf *b, int64_t ms)
{
	char t[48];
	if (ms <= 0)
		snprintf(t, sizeof t, "0001-01-01T00:00:00Z");
	else
		fmt_rfc3339_ms(t, sizeof t, ms);
	return buf_printf(b, "\"%s\"", t);
}

static int json_alert(buf *b, const alert__tracked *x, int64_t ends_at, bool webhook)
{
	const char *url = x->generator_url ? x->generator_url : "";
	int rc = buf_putc(b, '{');
	if (webhook)
		rc |= buf_printf(b, "\"status\":\"%s\",", x->resolved_at_ms ? "resolved" : "firing");
	rc |= buf_puts(b, "\"labels\":");
	rc |= json_labels(b, &x->labels);
	rc |= buf_puts(b, ",\"annotations\":");
	rc |= json_labels(b, &x->annotations);
	rc |= buf_puts(b, ",\"startsAt\":");
	rc |= json_time(b, x->starts_at_ms);
	rc |= buf_puts(b, ",\"endsAt\":");
	rc |= json_time(b, ends_at);
	rc |= buf_puts(b, ",\"generatorURL\":");
	rc |= buf_json_str(b, url, strlen(url));
	if (webhook) {
		char fp[17];
		alerting_fingerprint(&x->labels, fp);
		rc |= buf_printf(b, ",\"fingerprint\":\"%s\"", fp);
	}
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}

/* Labels common to every alert of the set (Alertmanager's commonLabels/commonAnnotations). */
static int json_common(buf *b, alert__tracked **xs, size_t n, bool annotations)
{
	if (buf_putc(b, '{'))
		return -1;
	if (n == 0)
		return buf_putc(b, '}');
	const slod_labels *first = annotations ? &xs[0]->annotations : &xs[0]->labels;
	bool comma = false;
	for (size_t i = 0; i < first->n; i++) {
		bool common = true;
		for (size_t k = 1; k < n && common; k++) {
			const char *v = labels_get(annotations ? &xs[k]->annotations : &xs[k]->labels,
						   first->v[i].name);
			common = v && strcmp(v, first->v[i].value) == 0;
		}
		if (!common)
			continue;
		if ((comma && buf_putc(b, ',')) || buf_json_str(b, first->v[i].name, strlen(first->v[i].name)) ||
		    buf_putc(b, ':') || buf_json_str(b, first->v[i].value, strlen(first->v[i].value)))
			return -1;
		comma = true;
	}
	return buf_putc(b, '}');
}

int alert__webhook_body(buf *b, const alerting *a, const alert__target *t, const char *group_key,
			const slod_labels *group_labels, alert__tracked **xs, size_t n)
{
	bool firing = false;
	for (size_t i = 0; i < n; i++)
		firing |= xs[i]->resolved_at_ms == 0;
	const char *ext = a->external_url ? a->external_url : "";
	int rc = buf_puts(b, "{\"version\":\"4\",\"groupKey\":");
	rc |= buf_json_str(b, group_key, strlen(group_key));
	rc |= buf_printf(b, ",\"truncatedAlerts\":0,\"status\":\"%s\",\"receiver\":", firing ? "firing" : "resolved");
	rc |= buf_json_str(b, t->cfg.name, strlen(t->cfg.name));
	rc |= buf_puts(b, ",\"groupLabels\":");
	rc |= json_labels(b, group_labels);
	rc |= buf_puts(b, ",\"commonLabels\":");
	rc |= json_common(b, xs, n, false);
	rc |= buf_puts(b, ",\"commonAnnotations\":");
	rc |= json_common(b, xs, n, true);
	rc |= buf_puts(b, ",\"externalURL\":");
	rc |= buf_json_str(b, ext, strlen(ext));
	rc |= buf_puts(b, ",\"alerts\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(b, ',');
		rc |= json_alert(b, xs[i], xs[i]->resolved_at_ms, true);
	}
	rc |= buf_puts(b, "]}");
	return rc ? -1 : 0;
}

/* ---- queue ---- */

static int enqueue(alerting *a, alert__target *t, buf *body)
{
	alert__pending *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->id = t->next_id++;
	p->created_ms = now_ms(a);
	p->next_attempt_ms = p->created_ms;
	p->body_len = body->len;
	p->body = buf_steal(body);
	if (t->tail)
		t->tail->next = p;
	else
		t->head = p;
	t->tail = p;
	t->queued++;
	return 0;
}

static void pending_free(alert__pending *p)
{
	free(p->body);
	free(p);
}

/* ---- grouping ---- */

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static alert__group *group_get(alert__target *t, const char *key)
{
	for (size_t i = 0; i < t->n_groups; i++)
		if (strcmp(t->groups[i].key, key) == 0)
			return &t->groups[i];
	if (t->n_groups == t->cap_groups) {
		size_t cap = t->cap_groups ? t->cap_groups * 2 : 8;
		alert__group *ng = realloc(t->groups, cap * sizeof(*ng));
		if (!ng)
			return NULL;
		t->groups = ng;
		t->cap_groups = cap;
	}
	alert__group *g = &t->groups[t->n_groups];
	memset(g, 0, sizeof(*g));
	g->key = strdup(key);
	if (!g->key)
		return NULL;
	t->n_groups++;
	return g;
}

static int group_key_of(const alert__target *t, const alert__tracked *x, buf *key, slod_label *gl,
			size_t *ngl)
{
	static const char *const def[] = {"alertname"};
	const char *const *by = t->cfg.group_by ? t->cfg.group_by : def;
	size_t nby = t->cfg.group_by ? t->cfg.n_group_by : 1;
	buf_reset(key);
	*ngl = 0;
	if (buf_putc(key, '{'))
		return -1;
	for (size_t i = 0; i < nby; i++) {
		const char *v = labels_get(&x->labels, by[i]);
		if (!v)
			continue;
		gl[(*ngl)++] = (slod_label){by[i], v};
		if (buf_printf(key, "%s%s=", *ngl > 1 ? "," : "", by[i]) || buf_json_str(key, v, strlen(v)))
			return -1;
	}
	return buf_putc(key, '}');
}

static int webhook_step(alerting *a, alert__target *t, int64_t now)
{
	int rc = 0;
	size_t n = t->n_alerts;
	alert__tracked **xs = calloc(n ? n : 1, sizeof(*xs));
	bool *done = calloc(n ? n : 1, sizeof(bool));
	slod_label *gl = calloc(t->cfg.n_group_by + 1, sizeof(slod_label));
	buf key, other, body;
	buf_init(&key, 0);
	buf_init(&other, 0);
	buf_init(&body, 0);
	if (!xs || !done || !gl) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		size_t ngl;
		if (group_key_of(t, &t->alerts[i], &key, gl, &ngl)) {
			rc = -1;
			goto out;
		}
		/* collect the group's members */
		size_t m = 0;
		uint64_t sig = 0;
		bool any_firing = false, any_new_resolved = false;
		for (size_t k = i; k < n; k++) {
			size_t ngl2;
			slod_label gl2[64];
			if (done[k])
				continue;
			if (t->cfg.n_group_by > 64 || group_key_of(t, &t->alerts[k], &other, gl2, &ngl2)) {
				rc = -1;
				goto out;
			}
			if (strcmp(other.data, key.data) != 0)
				continue;
			done[k] = true;
			alert__tracked *x = &t->alerts[k];
			if (is_inhibited(t, x))
				continue;
			if (x->resolved_at_ms && x->resolved_notified)
				continue;
			if (x->resolved_at_ms && !x->firing_notified)
				continue; /* never told anyone it fired: nothing to resolve */
			xs[m++] = x;
			any_firing |= x->resolved_at_ms == 0;
			any_new_resolved |= x->resolved_at_ms != 0;
			if (!x->resolved_at_ms)
				sig = mix(sig, x->fingerprint);
		}
		alert__group *g = group_get(t, key.data);
		if (!g) {
			rc = -1;
			goto out;
		}
		int64_t repeat = t->cfg.repeat_interval_ms ? t->cfg.repeat_interval_ms : 4LL * 3600 * 1000;
		bool changed = sig != g->last_sig || any_new_resolved;
		if (sig == g->last_sig) /* e.g. state restored after a restart: these were notified */
			for (size_t k = 0; k < m; k++)
				if (!xs[k]->resolved_at_ms)
					xs[k]->firing_notified = true;
		bool repeat_due = any_firing && now - g->last_notify_ms >= repeat;
		if (m && (changed || repeat_due)) {
			slod_labels gls = {gl, ngl};
			buf_reset(&body);
			if (alert__webhook_body(&body, a, t, key.data, &gls, xs, m) || enqueue(a, t, &body)) {
				rc = -1;
				goto out;
			}
			alert__recent_add(a, t, t->next_id - 1, now, xs, NULL, m);
			g->last_sig = sig;
			g->last_notify_ms = now;
			for (size_t k = 0; k < m; k++) {
				if (xs[k]->resolved_at_ms)
					xs[k]->resolved_notified = true;
				else
					xs[k]->firing_notified = true;
			}
		} else if (!m) {
			g->last_sig = 0;
		}
	}
out:
	free(xs);
	free(done);
	free(gl);
	buf_deinit(&key);
	buf_deinit(&other);
	buf_deinit(&body);
	return rc;
}

static int alertmanager_step(alerting *a, alert__target *t, int64_t now)
{
	int64_t resend = a->resend_delay_ms;
	uint64_t sig = 0;
	size_t active = 0;
	for (size_t i = 0; i < t->n_alerts; i++) {
		alert__tracked *x = &t->alerts[i];
		if (x->resolved_at_ms && now - x->resolved_at_ms > RESOLVED_KEEP_MS)
			continue;
		sig = mix(sig, x->fingerprint ^ (x->resolved_at_ms ? 1 : 0));
		active++;
	}
	if (!active)
		return 0;
	if (sig == t->am_last_sig && now - t->am_last_post_ms < resend)
		return 0;
	buf body;
	buf_init(&body, 0);
	int rc = buf_putc(&body, '[');
	bool first = true;
	for (size_t i = 0; i < t->n_alerts; i++) {
		alert__tracked *x = &t->alerts[i];
		if (x->resolved_at_ms && now - x->resolved_at_ms > RESOLVED_KEEP_MS)
			continue;
		if (!first)
			rc |= buf_putc(&body, ',');
		first = false;
		rc |= json_alert(&body, x, x->resolved_at_ms ? x->resolved_at_ms : now + 4 * resend, false);
	}
	rc |= buf_putc(&body, ']');
	if (rc == 0)
		rc = enqueue(a, t, &body);
	if (rc == 0)
		alert__recent_add(a, t, t->next_id - 1, now, NULL, t->alerts, t->n_alerts);
	buf_deinit(&body);
	if (rc == 0) {
		t->am_last_sig = sig;
		t->am_last_post_ms = now;
	}
	return rc;
}

/* Forget alerts that need no more notifications. */
static void tracked_gc(alerting *a, alert__target *t, int64_t now)
{
	for (size_t i = t->n_alerts; i-- > 0;) {
		alert__tracked *x = &t->alerts[i];
		bool gone;
		if (t->cfg.kind == ALERTING_WEBHOOK)
			gone = x->resolved_at_ms && (x->resolved_notified || !x->firing_notified);
		else
			gone = x->resolved_at_ms && now - x->resolved_at_ms > RESOLVED_KEEP_MS;
		if (gone)
			tracked_remove_at(t, i);
	}
	(void)a;
}

int alerting_send(alerting *a, const char *source, const alerting_alert *alerts, size_t n)
{
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	int64_t now = now_ms(a);
	for (size_t ti = 0; ti < a->n_targets && rc == 0; ti++) {
		alert__target *t = &a->targets[ti];
		for (size_t i = 0; i < t->n_alerts; i++)
			if (t->alerts[i].source && strcmp(t->alerts[i].source, source) == 0) {
				t->alerts[i].seen = false;
				t->alerts[i].awaiting_source = false;
			}
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = tracked_upsert(t, source, &alerts[i], now);
		for (size_t i = 0; i < t->n_alerts; i++) {
			alert__tracked *x = &t->alerts[i];
			if (x->source && strcmp(x->source, source) == 0 && !x->seen && !x->resolved_at_ms)
				x->resolved_at_ms = now;
			if (x->awaiting_source && now - a->started_ms >= ORPHAN_AFTER_MS) {
				x->awaiting_source = false;
				if (!x->resolved_at_ms)
					x->resolved_at_ms = now;
				slod_log(&a->logger, SLOD_LOG_INFO, "alerting",
					 "target %s: alert restored from the state file resolved: its rule group %s "
					 "has not reported since the start",
					 t->cfg.name, x->source ? x->source : "?");
			}
		}
		if (rc == 0)
			rc = t->cfg.kind == ALERTING_WEBHOOK ? webhook_step(a, t, now) : alertmanager_step(a, t, now);
		tracked_gc(a, t, now);
		if (rc == 0)
			rc = alert__persist(a, t);
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	if (rc)
		slod_log(&a->logger, SLOD_LOG_ERROR, "alerting", "alerting_send(%s) failed: out of memory or I/O",
			 source);
	return rc;
}

/* ---- delivery ---- */

static int64_t backoff_ms(alerting *a, unsigned attempts)
{
	int64_t d = a->backoff_initial_ms;
	for (unsigned i = 1; i < attempts && d < a->backoff_max_ms; i++)
		d *= 2;
	if (d > a->backoff_max_ms)
		d = a->backoff_max_ms;
	/* xorshift jitter in [0.8, 1.2) */
	a->rng ^= a->rng << 13;
	a->rng ^= a->rng >> 7;
	a->rng ^= a->rng << 17;
	double j = 0.8 + 0.4 * (double)(a->rng % 1000) / 1000.0;
	return (int64_t)((double)d * j);
}

int alerting_process(alerting *a)
{
	int attempts = 0;
	pthread_mutex_lock(&a->process_mu);
	for (size_t ti = 0; ti < a->n_targets; ti++) {
		alert__target *t = &a->targets[ti];
		for (;;) {
			pthread_mutex_lock(&a->mu);
			int64_t now = now_ms(a);
			alert__pending *p = t->head;
			while (p && now - p->created_ms > a->give_up_ms) {
				slod_log(&a->logger, SLOD_LOG_ERROR, "alerting",
					 "target %s: giving up notification %llu after %u attempts (%s)", t->cfg.name,
					 (unsigned long long)p->id, p->attempts, p->last_error);
				t->head = p->next;
				if (!t->head)
					t->tail = NULL;
				t->queued--;
				t->dropped++;
				alert__recent_update(a, t, p->id, ALERTING_DROPPED, p->attempts, p->last_error);
				pending_free(p);
				p = t->head;
				alert__persist(a, t);
			}
			if (!p || p->next_attempt_ms > now) {
				pthread_mutex_unlock(&a->mu);
				break;
			}
			/* copy what the request needs; the item stays queued (only this thread dequeues) */
			size_t len = p->body_len;
			char *body = malloc(len + 1);
			uint64_t id = p->id;
			if (body)
				memcpy(body, p->body, len + 1);
			pthread_mutex_unlock(&a->mu);
			if (!body)
				break;
			char err[128] = "";
			int status = alert__http_post(a, t, id, body, len, err, sizeof err);
			free(body);
			attempts++;
			pthread_mutex_lock(&a->mu);
			now = now_ms(a);
			bool ok = status >= 200 && status < 300;
			bool retry = status <= 0 || status == 429 || status >= 500;
			if (ok || !retry) {
				alert__recent_update(a, t, id, ok ? ALERTING_DELIVERED : ALERTING_REJECTED, p->attempts + 1, err);
				if (ok)
					t->sent++;
				else {
					t->failed++;
					slod_log(&a->logger, SLOD_LOG_ERROR, "alerting",
						 "target %s: notification %llu rejected with HTTP %d, not retried: %s",
						 t->cfg.name, (unsigned long long)id, status, err);
				}
				t->head = p->next;
				if (!t->head)
					t->tail = NULL;
				t->queued--;
				pending_free(p);
			} else {
				p->attempts++;
				t->retried++;
				snprintf(p->last_error, sizeof p->last_error, "%s", err);
				p->next_attempt_ms = now + backoff_ms(a, p->attempts);
				alert__recent_update(a, t, id, ALERTING_RETRYING, p->attempts, err);
				slod_log(&a->logger, SLOD_LOG_WARN, "alerting",
					 "target %s: notification %llu failed (%s), attempt %u, retrying", t->cfg.name,
					 (unsigned long long)id, err, p->attempts);
			}
			alert__persist(a, t);
			pthread_mutex_unlock(&a->mu);
			if (!ok)
				break; /* keep order: the head retries first */
		}
	}
	pthread_mutex_unlock(&a->process_mu);
	return attempts;
}

static int64_t next_due(alerting *a)
{
	int64_t due = INT64_MAX;
	for (size_t ti = 0; ti < a->n_targets; ti++)
		if (a->targets[ti].head && a->targets[ti].head->next_attempt_ms < due)
			due = a->targets[ti].head->next_attempt_ms;
	return due;
}

static void *worker_main(void *arg)
{
	alerting *a = arg;
	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		int64_t due = next_due(a);
		int64_t now = now_ms(a);
		if (due <= now) {
			pthread_mutex_unlock(&a->mu);
			alerting_process(a);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		int64_t wait = due == INT64_MAX ? 1000 : due - now;
		if (wait > 1000)
			wait = 1000;
		struct timespec ts = slod_deadline_in_ms(CLOCK_REALTIME, wait);
		pthread_cond_timedwait(&a->cond, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- lifecycle ---- */

int alerting_new(const alerting_options *opt, alerting **out, char *err, size_t errlen)
{
	*out = NULL;
	alerting *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->process_mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->clock = opt->clock.now_ms ? opt->clock : slod_clock_system();
	a->logger = opt->logger;
	a->backoff_initial_ms = opt->backoff_initial_ms ? opt->backoff_initial_ms : 500;
	a->backoff_max_ms = opt->backoff_max_ms ? opt->backoff_max_ms : 60000;
	a->give_up_ms = opt->give_up_ms ? opt->give_up_ms : 24LL * 3600 * 1000;
	a->resend_delay_ms = opt->resend_delay_ms ? opt->resend_delay_ms : 60000;
	a->rng = 0x2545F4914F6CDD1DULL ^ (uint64_t)slod_monotonic_ms();
	a->started_ms = now_ms(a);
	if (opt->external_url && !(a->external_url = strdup(opt->external_url)))
		goto oom;
	if (opt->state_dir && !(a->state_dir = strdup(opt->state_dir)))
		goto oom;
	a->targets = calloc(opt->n_targets ? opt->n_targets : 1, sizeof(*a->targets));
	if (!a->targets)
		goto oom;
	for (size_t i = 0; i < opt->n_targets; i++) {
		if (alert__target_init(&a->targets[i], &opt->targets[i], err, errlen) != 0)
			goto fail;
		a->n_targets = i + 1;
		a->targets[i].next_id = 1;
		if (a->state_dir && alert__load(a, &a->targets[i], err, errlen) != 0)
			goto fail;
	}
	if (opt->start_worker) {
		if (pthread_create(&a->worker, NULL, worker_main, a) != 0) {
			snprintf(err, errlen, "cannot start the alerting worker thread");
			goto fail;
		}
		a->has_worker = true;
	}
	*out = a;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	alerting_free(a);
	return -1;
}

void alerting_free(alerting *a)
{
	if (!a)
		return;
	if (a->has_worker) {
		pthread_mutex_lock(&a->mu);
		a->stopping = true;
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->worker, NULL);
	}
	for (size_t i = 0; i < a->n_targets; i++) {
		alert__target *t = &a->targets[i];
		for (size_t k = 0; k < t->n_alerts; k++)
			tracked_free(&t->alerts[k]);
		free(t->alerts);
		for (size_t k = 0; k < t->n_groups; k++)
			free(t->groups[k].key);
		free(t->groups);
		alert__pending *p = t->head;
		while (p) {
			alert__pending *next = p->next;
			pending_free(p);
			p = next;
		}
		alert__target_deinit(t);
	}
	free(a->targets);
	free(a->external_url);
	free(a->state_dir);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->process_mu);
	pthread_cond_destroy(&a->cond);
	free(a);
}

size_t alerting_get_stats(alerting *a, alerting_target_stats *out, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_targets && n < cap; i++, n++) {
		alert__target *t = &a->targets[i];
		out[n] = (alerting_target_stats){t->cfg.name, t->sent, t->failed, t->retried, t->dropped, t->queued,
						 t->head ? t->head->created_ms : 0};
	}
	pthread_mutex_unlock(&a->mu);
	return n;
}

void alerting_visit_queue(alerting *a, alerting_queue_visit_fn fn, void *ud)
{
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_targets; i++)
		for (alert__pending *p = a->targets[i].head; p; p = p->next)
			fn(ud, a->targets[i].cfg.name, p->id, p->created_ms, p->attempts, p->next_attempt_ms,
			   p->last_error);
	pthread_mutex_unlock(&a->mu);
}
