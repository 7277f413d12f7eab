/*
 * persist.c — the per-target state file, so a restart loses no pending notification, does not
 * re-notify groups that were already notified, and still resolves (webhooks) the alerts receivers
 * were told fire even when they stopped firing while slod was down.
 *
 * File: STATE_DIR/alerting-<target>.state, text header lines and length-prefixed bodies:
 *
 *   slod-alerting-state 1
 *   next_id <u64>
 *   am <last_sig u64> <last_post_ms i64>
 *   group <last_sig u64> <last_notify_ms i64> <key_len>\n<key bytes>\n        (repeated)
 *   pending <id> <created_ms> <attempts> <next_attempt_ms> <len>\n<body bytes>\n (repeated, FIFO order)
 *   alert <starts_ms> <resolved_ms> <n_labels> <n_annotations> <source_len>\n<source>\n   (webhooks)
 *     <name_len> <value_len>\n<name bytes><value bytes>\n     (n_labels + n_annotations times)
 *   end
 *
 * "alert" records are the tracked alerts a webhook receiver was told fire and has not been told
 * resolved yet (resolved_ms != 0: the resolution is still to be notified). Restored, they resolve
 * when their source's next alerting_send() no longer has them, or an hour after the start if their
 * source never reports (its rule group is gone).
 *
 * Written as <file>.tmp, fsynced, renamed over the old file, so a crash leaves the old or the new
 * state, never a torn one. A file without the final "end" line is reported and what was read up to
 * the damage is kept. Cost: O(queue bytes) per change; queues are small.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerting/alerting_int.h"
#include "util/buf.h"

static void state_path(const alerting *a, const alert__target *t, char *out, size_t cap, const char *suffix)
{
	char name[128];
	size_t k = 0;
	for (const char *p = t->cfg.name; *p && k < sizeof name - 1; p++)
		name[k++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     *p == '-' || *p == '_')
				    ? *p
				    : '_';
	name[k] = '\0';
	snprintf(out, cap, "%s/alerting-%s.state%s", a->state_dir, name, suffix);
}

/* Serialises the target's state (the format above) into out. Returns 0 or -1 (out of memory). */
static int state_text(const alert__target *t, buf *out)
{
	int rc = buf_printf(out, "slod-alerting-state 1\nnext_id %llu\nam %llu %lld\n", (unsigned long long)t->next_id,
			    (unsigned long long)t->am_last_sig, (long long)t->am_last_post_ms);
	for (size_t i = 0; i < t->n_groups; i++) {
		const alert__group *g = &t->groups[i];
		rc |= buf_printf(out, "group %llu %lld %zu\n%s\n", (unsigned long long)g->last_sig,
				 (long long)g->last_notify_ms, strlen(g->key), g->key);
	}
	for (size_t i = 0; t->cfg.kind == ALERTING_WEBHOOK && i < t->n_alerts; i++) {
		const alert__tracked *x = &t->alerts[i];
		if (!x->firing_notified || x->resolved_notified || !x->source)
			continue;
		rc |= buf_printf(out, "alert %lld %lld %zu %zu %zu\n%s\n", (long long)x->starts_at_ms,
				 (long long)x->resolved_at_ms, x->labels.n, x->annotations.n, strlen(x->source), x->source);
		for (size_t k = 0; k < x->labels.n + x->annotations.n; k++) {
			const slod_label *l = k < x->labels.n ? &x->labels.v[k] : &x->annotations.v[k - x->labels.n];
			rc |= buf_printf(out, "%zu %zu\n%s%s\n", strlen(l->name), strlen(l->value), l->name, l->value);
		}
	}
	for (const alert__pending *p = t->head; p; p = p->next) {
		rc |= buf_printf(out, "pending %llu %lld %u %lld %zu\n", (unsigned long long)p->id,
				 (long long)p->created_ms, p->attempts, (long long)p->next_attempt_ms, p->body_len);
		rc |= buf_append(out, p->body, p->body_len);
		rc |= buf_putc(out, '\n');
	}
	rc |= buf_puts(out, "end\n");
	return rc ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes the state file only when its text differs from what was last written: most evaluations
 * change nothing, and each write costs an fsync. */
int alert__persist(alerting *a, alert__target *t)
{
	if (!a->state_dir)
		return 0;
	buf text;
	buf_init(&text, 0);
	if (state_text(t, &text) != 0) {
		buf_deinit(&text);
		slod_log(&a->logger, SLOD_LOG_ERROR, "alerting", "target %s: out of memory saving state", t->cfg.name);
		return -1;
	}
	if (t->persisted && t->persisted_len == text.len && memcmp(t->persisted, text.data, text.len) == 0) {
		buf_deinit(&text);
		return 0;
	}
	char path[4096], tmp[4096];
	state_path(a, t, path, sizeof path, "");
	state_path(a, t, tmp, sizeof tmp, ".tmp");
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		rc = write_all(fd, text.data, text.len) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -1;
	}
	if (rc != 0) {
		slod_log(&a->logger, SLOD_LOG_ERROR, "alerting", "cannot persist %s: %s", path, strerror(errno));
		buf_deinit(&text);
		return -1;
	}
	free(t->persisted);
	t->persisted_len = text.len;
	t->persisted = buf_steal(&text);
	return 0;
}

static char *read_exact(FILE *f, size_t len)
{
	if (len > 256u * 1024 * 1024)
		return NULL;
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	if (fread(s, 1, len, f) != len || fgetc(f) != '\n') {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

#define LOAD_MAX_LABELS 1024
#define LOAD_MAX_STRING (1u << 20)

static void labels_drop(slod_labels *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		free((char *)ls->v[i].name);
		free((char *)ls->v[i].value);
	}
	free(ls->v);
	*ls = (slod_labels){0};
}

/* Reads n "<name_len> <value_len>\n<name><value>\n" records into *ls (owned strings). 0 or -1. */
static int read_labels(FILE *f, size_t n, slod_labels *ls)
{
	char line[64];
	*ls = (slod_labels){calloc(n ? n : 1, sizeof(slod_label)), 0};
	if (!ls->v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t nl, vl;
		if (!fgets(line, sizeof line, f) || sscanf(line, "%zu %zu", &nl, &vl) != 2 || nl > LOAD_MAX_STRING ||
		    vl > LOAD_MAX_STRING)
			return -1;
		char *both = read_exact(f, nl + vl);
		char *name = both ? strndup(both, nl) : NULL;
		char *value = both ? strdup(both + nl) : NULL;
		free(both);
		if (!name || !value || strlen(name) != nl || strlen(value) != vl) {
			free(name);
			free(value);
			return -1;
		}
		ls->v[ls->n++] = (slod_label){name, value};
	}
	return 0;
}

/* Reads the rest of an "alert" record whose header line was parsed; adds the tracked alert. */
static int load_alert(FILE *f, alert__target *t, long long starts, long long resolved, size_t nl, size_t na,
		      size_t srclen)
{
	slod_labels ls = {0}, as = {0};
	if (nl > LOAD_MAX_LABELS || na > LOAD_MAX_LABELS || srclen > LOAD_MAX_STRING)
		return -1;
	char *src = read_exact(f, srclen);
	if (!src || read_labels(f, nl, &ls) != 0 || read_labels(f, na, &as) != 0) {
		free(src);
		labels_drop(&ls);
		labels_drop(&as);
		return -1;
	}
	return alert__tracked_restore(t, src, &ls, &as, starts, resolved);
}

int alert__load(alerting *a, alert__target *t, char *err, size_t errlen)
{
	char path[4096], line[256];
	state_path(a, t, path, sizeof path, "");
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), -1);
	bool complete = false;
	size_t loaded = 0, restored = 0;
	if (!fgets(line, sizeof line, f) || strcmp(line, "slod-alerting-state 1\n") != 0)
		goto done;
	while (fgets(line, sizeof line, f)) {
		unsigned long long u1, u2;
		long long i1, i2;
		unsigned att;
		size_t len, nann, srclen;
		if (strcmp(line, "end\n") == 0) {
			complete = true;
			break;
		} else if (sscanf(line, "next_id %llu", &u1) == 1) {
			t->next_id = u1;
		} else if (sscanf(line, "am %llu %lld", &u1, &i1) == 2) {
			t->am_last_sig = u1;
			t->am_last_post_ms = i1;
		} else if (sscanf(line, "group %llu %lld %zu", &u1, &i1, &len) == 3) {
			char *key = read_exact(f, len);
			if (!key)
				break;
			if (t->n_groups == t->cap_groups) {
				size_t cap = t->cap_groups ? t->cap_groups * 2 : 8;
				alert__group *ng = realloc(t->groups, cap * sizeof(*ng));
				if (!ng) {
					free(key);
					break;
				}
				t->groups = ng;
				t->cap_groups = cap;
			}
			t->groups[t->n_groups++] = (alert__group){key, u1, i1};
		} else if (sscanf(line, "alert %lld %lld %zu %zu %zu", &i1, &i2, &len, &nann, &srclen) == 5) {
			if (t->cfg.kind != ALERTING_WEBHOOK || load_alert(f, t, i1, i2, len, nann, srclen) != 0)
				break;
			restored++;
		} else if (sscanf(line, "pending %llu %lld %u %lld %zu", &u2, &i1, &att, &i2, &len) == 5) {
			char *body = read_exact(f, len);
			alert__pending *p = body ? calloc(1, sizeof(*p)) : NULL;
			if (!p) {
				free(body);
				break;
			}
			*p = (alert__pending){.id = u2, .created_ms = i1, .attempts = att, .next_attempt_ms = i2,
					      .body = body, .body_len = len};
			if (t->tail)
				t->tail->next = p;
			else
				t->head = p;
			t->tail = p;
			t->queued++;
			loaded++;
			if (p->id >= t->next_id)
				t->next_id = p->id + 1;
		} else {
			break;
		}
	}
done:
	fclose(f);
	if (!complete)
		slod_log(&a->logger, SLOD_LOG_ERROR, "alerting",
			 "state file %s is damaged; kept the %zu pending notifications read before the damage", path,
			 loaded);
	else if (loaded || restored)
		slod_log(&a->logger, SLOD_LOG_INFO, "alerting",
			 "target %s: %zu pending notifications and %zu notified alerts restored", t->cfg.name, loaded,
			 restored);
	return 0;
}
