/*
 * config.c — the YAML config file reader for slod's own settings (libyaml document API).
 *
 * The whole file (at most 1 MiB) is loaded as one libyaml document; the root must be a mapping.
 * Sections web, storage, log and rules are walked key by key, slo_files/rule_files are lists and
 * alerting holds target lists; each value goes through the same validators as the flags
 * (settings.h); a field whose MAIN_SET_* bit is in s->from_flags is left alone (flags win). Every
 * key belongs to slod, so unknown keys at any level are errors (typos). Errors name the file,
 * 1-based line and column and the key.
 * Cost: linear in the file; libyaml holds the node tree until the function returns.
 */
#include "main/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util/fmt.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

typedef struct cfg_ctx {
	const char *path;
	yaml_document_t *doc;
	main_settings *s;
	char *err;
	size_t errlen;
} cfg_ctx;

static int fail(cfg_ctx *c, const yaml_node_t *n, const char *fmt, const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, a, b);
	snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->path, n ? n->start_mark.line + 1 : 0,
		 n ? n->start_mark.column + 1 : 0, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Applies one key of a section; returns 0, -1 (error set), or 1 for an unknown key. */
static int apply(cfg_ctx *c, const char *section, const char *key, const yaml_node_t *vn)
{
	main_settings *s = c->s;
	const char *v = scalar(vn);
	char full[128];
	snprintf(full, sizeof full, "%s.%s", section, key);
	if (!v)
		return fail(c, vn, "%s%s: expected a scalar value", full, "");

#define SKIP(bit) ((s->from_flags & (bit)) != 0)
	if (strcmp(full, "web.listen_address") == 0) {
		if (!*v || strlen(v) >= sizeof s->listen || !main_valid_listen(v))
			return fail(c, vn, "%s: invalid address \"%s\" (want HOST:PORT)", full, v);
		if (!SKIP(MAIN_SET_LISTEN))
			memcpy(s->listen, v, strlen(v) + 1);
	} else if (strcmp(full, "web.max_body_bytes") == 0) {
		size_t n;
		if (main_parse_size(v, &n) != 0 || n == 0)
			return fail(c, vn, "%s: invalid byte size \"%s\"", full, v);
		if (!SKIP(MAIN_SET_MAX_BODY))
			s->max_body_bytes = n;
	} else if (strcmp(full, "storage.path") == 0) {
		if (!*v || strlen(v) >= sizeof s->storage_path)
			return fail(c, vn, "%s: invalid path \"%s\"", full, v);
		if (!SKIP(MAIN_SET_STORAGE_PATH))
			memcpy(s->storage_path, v, strlen(v) + 1);
	} else if (strcmp(full, "storage.wal_fsync") == 0) {
		tsdb_fsync_policy p;
		if (main_parse_fsync(v, &p) != 0)
			return fail(c, vn, "%s: want always, interval or never, got \"%s\"", full, v);
		if (!SKIP(MAIN_SET_FSYNC))
			s->fsync = p;
	} else if (strcmp(full, "rules.evaluation_interval") == 0) {
		int64_t ms;
		if (slod_parse_duration_ms(v, strlen(v), &ms) != 0 || ms <= 0)
			return fail(c, vn, "%s: invalid duration \"%s\"", full, v);
		if (!SKIP(MAIN_SET_EVAL_INTERVAL))
			s->eval_interval_ms = ms;
	} else if (strcmp(full, "web.max_connections") == 0 || strcmp(full, "web.max_connections_per_ip") == 0) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		bool per_ip = strcmp(full, "web.max_connections_per_ip") == 0;
		if (*v < '0' || *v > '9' || *end || (n == 0 && !per_ip) || n > 1000000)
			return fail(c, vn,
				    per_ip ? "%s: want a non-negative integer up to 1000000, got \"%s\""
					   : "%s: want a positive integer up to 1000000, got \"%s\"",
				    full, v);
		if (per_ip && !SKIP(MAIN_SET_MAX_CONNS_PER_IP))
			s->max_connections_per_ip = (size_t)n;
		else if (!per_ip && !SKIP(MAIN_SET_MAX_CONNS))
			s->max_connections = (size_t)n;
	} else if (strcmp(full, "query.max_samples") == 0 || strcmp(full, "storage.max_series") == 0) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		bool series = full[0] == 's';
		if (*v < '0' || *v > '9' || *end || (n == 0 && !series))
			return fail(c, vn, "%s: want a positive integer, got \"%s\"", full, v);
		if (series && !SKIP(MAIN_SET_MAX_SERIES))
			s->max_series = (size_t)n;
		else if (!series && !SKIP(MAIN_SET_QUERY_MAX_SAMPLES))
			s->query_max_samples = (size_t)n;
	} else if (strcmp(full, "log.level") == 0) {
		int l;
		if (main_parse_log_level(v, &l) != 0)
			return fail(c, vn, "%s: want debug, info, warn or error, got \"%s\"", full, v);
		if (!SKIP(MAIN_SET_LOG_LEVEL))
			s->log_level = l;
	} else {
		static const struct {
			const char *key;
			unsigned bit;
			size_t off;
		} durs[] = {
			{"storage.retention", MAIN_SET_RETENTION, offsetof(main_settings, retention_ms)},
			{"storage.wal_fsync_interval", MAIN_SET_FSYNC_INTERVAL, offsetof(main_settings, fsync_interval_ms)},
			{"storage.ooo_window", MAIN_SET_OOO, offsetof(main_settings, ooo_window_ms)},
			{"storage.checkpoint_interval", MAIN_SET_CHECKPOINT,
			 offsetof(main_settings, checkpoint_interval_ms)},
			{"query.timeout", MAIN_SET_QUERY_TIMEOUT, offsetof(main_settings, query_timeout_ms)},
			{"query.lookback_delta", MAIN_SET_QUERY_LOOKBACK, offsetof(main_settings, query_lookback_ms)},
		};
		for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
			if (strcmp(full, durs[i].key) != 0)
				continue;
			int64_t ms;
			if (slod_parse_duration_ms(v, strlen(v), &ms) != 0 || ms < 0)
				return fail(c, vn, "%s: invalid duration \"%s\"", full, v);
			if (!SKIP(durs[i].bit))
				memcpy((char *)s + durs[i].off, &ms, sizeof ms);
			return 0;
		}
		return 1;
	}
#undef SKIP
	return 0;
}

static int walk_section(cfg_ctx *c, const char *section, yaml_node_t *map)
{
	if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
		return 0; /* "web:" with nothing under it */
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s: expected a mapping%s", section, "");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k = kn ? scalar(kn) : NULL;
		if (!k || !vn)
			return fail(c, kn, "%s: keys must be scalars%s", section, "");
		int rc = apply(c, section, k, vn);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return fail(c, kn, "unknown key \"%s\" in section \"%s\"", k, section);
	}
	return 0;
}

/* slo_files / rule_files: a sequence of scalars (or one scalar). */
static int walk_list(cfg_ctx *c, const char *key, yaml_node_t *vn, char (*list)[MAIN_ITEM_MAX], size_t *n,
		     bool skip)
{
	if (vn->type == YAML_SCALAR_NODE) {
		if (!skip && main_add_list(list, n, scalar(vn)) != 0)
			return fail(c, vn, "%s: invalid entry \"%s\"", key, scalar(vn));
		return 0;
	}
	if (vn->type != YAML_SEQUENCE_NODE)
		return fail(c, vn, "%s: expected a list%s", key, "");
	for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		const char *v = e ? scalar(e) : NULL;
		if (!v)
			return fail(c, e, "%s: entries must be strings%s", key, "");
		if (!skip && main_add_list(list, n, v) != 0)
			return fail(c, e, "%s: invalid entry \"%s\" (empty, too long or too many)", key, v);
	}
	return 0;
}

/* alerting: { webhooks: [{name, url, hmac_secret, repeat_interval}], alertmanagers: [{name, url}] } */
static int walk_alerting(cfg_ctx *c, yaml_node_t *map)
{
	bool skip = (c->s->from_flags & MAIN_SET_TARGETS) != 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "alerting: expected a mapping%s%s", "", "");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k = kn ? scalar(kn) : NULL;
		bool am;
		if (k && strcmp(k, "webhooks") == 0)
			am = false;
		else if (k && strcmp(k, "alertmanagers") == 0)
			am = true;
		else
			return fail(c, kn, "unknown key \"%s\" in section \"%s\"", k ? k : "?", "alerting");
		if (!vn || vn->type != YAML_SEQUENCE_NODE)
			return fail(c, vn, "alerting.%s: expected a list%s", k, "");
		for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(c->doc, *it);
			if (!e || e->type != YAML_MAPPING_NODE)
				return fail(c, e, "alerting.%s: entries must be mappings%s", k, "");
			const char *name = NULL, *url = NULL, *secret = NULL, *repeat = NULL;
			for (yaml_node_pair_t *q = e->data.mapping.pairs.start; q < e->data.mapping.pairs.top; q++) {
				yaml_node_t *qk = yaml_document_get_node(c->doc, q->key);
				yaml_node_t *qv = yaml_document_get_node(c->doc, q->value);
				const char *kk = qk ? scalar(qk) : NULL, *vv = qv ? scalar(qv) : NULL;
				if (!kk || !vv)
					return fail(c, qk, "alerting.%s: keys and values must be scalars%s", k, "");
				if (strcmp(kk, "name") == 0)
					name = vv;
				else if (strcmp(kk, "url") == 0)
					url = vv;
				else if (!am && strcmp(kk, "hmac_secret") == 0)
					secret = vv;
				else if (!am && strcmp(kk, "repeat_interval") == 0)
					repeat = vv;
				else
					return fail(c, qk, "unknown key \"%s\" in alerting.%s", kk, k);
			}
			if (!url)
				return fail(c, e, "alerting.%s: url is required%s", k, "");
			if (skip)
				continue;
			if (main_add_target(c->s, am, name, url) != 0)
				return fail(c, e, "alerting.%s: invalid url \"%s\" (want http:// or https://)", k, url);
			main_target *t = &c->s->targets[c->s->n_targets - 1];
			if (secret && strlen(secret) >= sizeof t->hmac_secret)
				return fail(c, e, "alerting.%s: hmac_secret longer than 255 bytes%s", k, "");
			if (secret)
				memcpy(t->hmac_secret, secret, strlen(secret) + 1);
			if (repeat && (slod_parse_duration_ms(repeat, strlen(repeat), &t->repeat_interval_ms) != 0 ||
				       t->repeat_interval_ms <= 0))
				return fail(c, e, "alerting.%s: invalid repeat_interval \"%s\"", k, repeat);
		}
	}
	return 0;
}

int main_config_load(const char *path, main_settings *s, char *err, size_t errlen)
{
	int ret = -1;
	FILE *f = NULL;
	unsigned char *text = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool parser_ok = false, doc_ok = false;

	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open config file", path);
		goto out;
	}
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t n = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (n > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: config file larger than %d bytes", path, CONFIG_MAX_BYTES);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, text, n);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
		goto out;
	}
	doc_ok = true;
	cfg_ctx c = {path, &doc, s, err, errlen};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = 0; /* empty file */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		fail(&c, root, "the top level must be a mapping%s%s", "", "");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
		const char *k = kn ? scalar(kn) : NULL;
		if (!k || !vn) {
			fail(&c, kn, "top-level keys must be scalars%s%s", "", "");
			goto out;
		}
		int rc;
		if (strcmp(k, "web") == 0 || strcmp(k, "storage") == 0 || strcmp(k, "log") == 0 ||
		    strcmp(k, "rules") == 0 || strcmp(k, "query") == 0)
			rc = walk_section(&c, k, vn);
		else if (strcmp(k, "slo_files") == 0)
			rc = walk_list(&c, k, vn, s->slo_files, &s->n_slo_files, s->from_flags & MAIN_SET_SLO_FILES);
		else if (strcmp(k, "rule_files") == 0)
			rc = walk_list(&c, k, vn, s->rule_files, &s->n_rule_files, s->from_flags & MAIN_SET_RULE_FILES);
		else if (strcmp(k, "alerting") == 0)
			rc = walk_alerting(&c, vn);
		else
			rc = fail(&c, kn, "unknown top-level key \"%s\"%s", k, "");
		if (rc != 0)
			goto out;
	}
	ret = 0;
out:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	free(text);
	if (f)
		fclose(f);
	return ret;
}

static bool targets_equal(const main_settings *a, const main_settings *b)
{
	if (a->n_targets != b->n_targets)
		return false;
	for (size_t i = 0; i < a->n_targets; i++) {
		const main_target *x = &a->targets[i], *y = &b->targets[i];
		if (x->alertmanager != y->alertmanager || strcmp(x->name, y->name) != 0 || strcmp(x->url, y->url) != 0 ||
		    strcmp(x->hmac_secret, y->hmac_secret) != 0 || x->repeat_interval_ms != y->repeat_interval_ms)
			return false;
	}
	return true;
}

size_t main_settings_restart_diff(const main_settings *cur, const main_settings *next, char *out, size_t cap)
{
	struct {
		const char *name;
		bool differs;
	} keys[] = {
		{"web.listen_address", strcmp(cur->listen, next->listen) != 0},
		{"web.max_body_bytes", cur->max_body_bytes != next->max_body_bytes},
		{"web.max_connections", cur->max_connections != next->max_connections},
		{"web.max_connections_per_ip", cur->max_connections_per_ip != next->max_connections_per_ip},
		{"storage.path", strcmp(cur->storage_path, next->storage_path) != 0},
		{"storage.retention", cur->retention_ms != next->retention_ms},
		{"storage.wal_fsync", cur->fsync != next->fsync},
		{"storage.wal_fsync_interval", cur->fsync_interval_ms != next->fsync_interval_ms},
		{"storage.ooo_window", cur->ooo_window_ms != next->ooo_window_ms},
		{"storage.checkpoint_interval", cur->checkpoint_interval_ms != next->checkpoint_interval_ms},
		{"storage.max_series", cur->max_series != next->max_series},
		{"log.level", cur->log_level != next->log_level},
		{"rules.evaluation_interval", cur->eval_interval_ms != next->eval_interval_ms},
		{"query.timeout", cur->query_timeout_ms != next->query_timeout_ms},
		{"query.max_samples", cur->query_max_samples != next->query_max_samples},
		{"query.lookback_delta", cur->query_lookback_ms != next->query_lookback_ms},
		{"alerting", !targets_equal(cur, next)},
	};
	size_t n = 0, len = 0;
	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!keys[i].differs)
			continue;
		if (cap > len) {
			int w = snprintf(out + len, cap - len, "%s%s", n ? ", " : "", keys[i].name);
			len += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}
