/*
 * flags.c — command-line flags and defaults for slod; see settings.h.
 *
 * Flags are looked up in a small table (name, kind, MAIN_SET_* bit, destination); both
 * "--name=value" and "--name value" forms are accepted, as in Prometheus (kingpin). A flag given
 * twice keeps the last value. Cost: O(argc x flags).
 */
#include "main/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"
#include "util/log.h"

const char main_usage[] =
	"usage: slod [serve] [flags]\n"
	"       slod validate [args]   check SLO spec files\n"
	"       slod generate [args]   compile SLO spec files to Prometheus rules\n"
	"       slod grafana-dashboard [--dashboard overview|detail|all] [-o DIR]   Grafana dashboards\n"
	"\n"
	"Flags (each also takes the form --flag=value):\n"
	"  --config.file FILE                 YAML config file (flags win over it)\n"
	"  --web.listen-address HOST:PORT     HTTP listen address (default 127.0.0.1:9099)\n"
	"  --web.max-body-bytes SIZE          largest request body, e.g. 32MiB (default 32MiB)\n"
	"  --web.max-connections N            open HTTP connections at once (default 4096)\n"
	"  --web.max-connections-per-ip N     of which from one client address (default 1024; 0: no limit)\n"
	"  --storage.path DIR                 data directory for WAL and snapshots (default ./slod-data)\n"
	"  --storage.retention DURATION       how long to keep samples (default 35d)\n"
	"  --storage.wal-fsync POLICY         always|interval|never (default always)\n"
	"  --storage.wal-fsync-interval DUR   fsync period for 'interval' (default 1s)\n"
	"  --storage.ooo-window DURATION      accept samples this much older than a series' newest (default 0s)\n"
	"  --storage.checkpoint-interval DUR  snapshot + WAL truncation period (default 15m)\n"
	"  --storage.max-series N             refuse new series beyond this many (default 0: no limit)\n"
	"  --log.level LEVEL                  debug|info|warn|error (default info)\n"
	"  --slo.files PATH                   SLO spec file or directory (Sloth, OpenSLO, Pyrra); repeatable;\n"
	"                                     default: the embedded examples; 'none' for no SLOs\n"
	"  --rule.files GLOB                  Prometheus rule files to evaluate too; repeatable\n"
	"  --rules.evaluation-interval DUR    rule and SLO evaluation interval, also the step of subqueries\n"
	"                                     written without one (default 30s; alias --evaluation.interval)\n"
	"  --query.timeout DURATION           maximum time a query may take (default 2m)\n"
	"  --query.max-samples N              maximum samples a query may hold in memory (default 50000000)\n"
	"  --query.lookback-delta DURATION    how far back an instant selector looks (default 5m)\n"
	"  --alerting.webhook-url URL         send alert notifications to this webhook; repeatable\n"
	"  --alerting.alertmanager-url URL    send alerts to this Alertmanager (base URL); repeatable\n"
	"                                     (also --notifier.webhook-url and --alertmanager.url)\n"
	"  -h, --help                         show this help\n"
	"  --version                          print the version\n";

void main_settings_default(main_settings *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->listen, sizeof s->listen, "127.0.0.1:9099");
	snprintf(s->storage_path, sizeof s->storage_path, "./slod-data");
	s->retention_ms = 35LL * 24 * 3600 * 1000;
	s->fsync = TSDB_FSYNC_ALWAYS;
	s->fsync_interval_ms = 1000;
	s->ooo_window_ms = 0;
	s->checkpoint_interval_ms = 15LL * 60 * 1000;
	s->max_body_bytes = 32u * 1024 * 1024;
	s->max_connections = 4096;
	s->max_connections_per_ip = 1024;
	s->log_level = SLOD_LOG_INFO;
	s->eval_interval_ms = 30 * 1000;
	s->query_timeout_ms = 2 * 60 * 1000;
	s->query_max_samples = 50000000;
	s->query_lookback_ms = 5 * 60 * 1000;
}

int main_parse_size(const char *v, size_t *out)
{
	static const struct {
		const char *suffix;
		unsigned long long mult;
	} units[] = {{"", 1},          {"B", 1},           {"KB", 1000},        {"MB", 1000000},
		     {"GB", 1000000000}, {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
		     {"K", 1ULL << 10},  {"M", 1ULL << 20},   {"G", 1ULL << 30}};
	if (!v || !isdigit((unsigned char)v[0]))
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (n > SIZE_MAX / units[i].mult)
				return -1;
			*out = (size_t)(n * units[i].mult);
			return 0;
		}
	}
	return -1;
}

int main_parse_fsync(const char *v, tsdb_fsync_policy *out)
{
	if (strcmp(v, "always") == 0)
		*out = TSDB_FSYNC_ALWAYS;
	else if (strcmp(v, "interval") == 0)
		*out = TSDB_FSYNC_INTERVAL;
	else if (strcmp(v, "never") == 0)
		*out = TSDB_FSYNC_NEVER;
	else
		return -1;
	return 0;
}

int main_parse_log_level(const char *v, int *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

enum kind { K_STR_LISTEN, K_STR_PATH, K_STR_CONFIG, K_DURATION, K_SIZE, K_COUNT, K_FSYNC, K_LEVEL, K_SLO, K_RULE,
	    K_WEBHOOK, K_AM };

typedef struct flag_def {
	const char *name;
	enum kind kind;
	unsigned bit;
	size_t off; /* offset of the destination in main_settings */
} flag_def;

static const flag_def flags[] = {
	{"config.file", K_STR_CONFIG, 0, offsetof(main_settings, config_file)},
	{"web.listen-address", K_STR_LISTEN, MAIN_SET_LISTEN, offsetof(main_settings, listen)},
	{"web.max-body-bytes", K_SIZE, MAIN_SET_MAX_BODY, offsetof(main_settings, max_body_bytes)},
	{"web.max-connections", K_COUNT, MAIN_SET_MAX_CONNS, offsetof(main_settings, max_connections)},
	{"web.max-connections-per-ip", K_COUNT, MAIN_SET_MAX_CONNS_PER_IP,
	 offsetof(main_settings, max_connections_per_ip)},
	{"storage.path", K_STR_PATH, MAIN_SET_STORAGE_PATH, offsetof(main_settings, storage_path)},
	{"storage.retention", K_DURATION, MAIN_SET_RETENTION, offsetof(main_settings, retention_ms)},
	{"storage.wal-fsync", K_FSYNC, MAIN_SET_FSYNC, offsetof(main_settings, fsync)},
	{"storage.wal-fsync-interval", K_DURATION, MAIN_SET_FSYNC_INTERVAL,
	 offsetof(main_settings, fsync_interval_ms)},
	{"storage.ooo-window", K_DURATION, MAIN_SET_OOO, offsetof(main_settings, ooo_window_ms)},
	{"storage.checkpoint-interval", K_DURATION, MAIN_SET_CHECKPOINT,
	 offsetof(main_settings, checkpoint_interval_ms)},
	{"storage.max-series", K_COUNT, MAIN_SET_MAX_SERIES, offsetof(main_settings, max_series)},
	{"log.level", K_LEVEL, MAIN_SET_LOG_LEVEL, offsetof(main_settings, log_level)},
	{"slo.files", K_SLO, MAIN_SET_SLO_FILES, 0},
	{"rule.files", K_RULE, MAIN_SET_RULE_FILES, 0},
	{"rules.evaluation-interval", K_DURATION, MAIN_SET_EVAL_INTERVAL, offsetof(main_settings, eval_interval_ms)},
	{"evaluation.interval", K_DURATION, MAIN_SET_EVAL_INTERVAL, offsetof(main_settings, eval_interval_ms)},
	{"query.timeout", K_DURATION, MAIN_SET_QUERY_TIMEOUT, offsetof(main_settings, query_timeout_ms)},
	{"query.max-samples", K_COUNT, MAIN_SET_QUERY_MAX_SAMPLES, offsetof(main_settings, query_max_samples)},
	{"query.lookback-delta", K_DURATION, MAIN_SET_QUERY_LOOKBACK, offsetof(main_settings, query_lookback_ms)},
	{"alerting.webhook-url", K_WEBHOOK, MAIN_SET_TARGETS, 0},
	{"alerting.alertmanager-url", K_AM, MAIN_SET_TARGETS, 0},
	/* the names the product brief and Prometheus users reach for */
	{"notifier.webhook-url", K_WEBHOOK, MAIN_SET_TARGETS, 0},
	{"alertmanager.url", K_AM, MAIN_SET_TARGETS, 0},
};

bool main_valid_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || !colon[1])
		return false;
	unsigned long port = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return false;
	}
	if (v[0] == '[')
		return colon > v && colon[-1] == ']';
	return memchr(v, ':', (size_t)(colon - v)) == NULL;
}

int main_add_list(char (*list)[MAIN_ITEM_MAX], size_t *n, const char *v)
{
	if (*n >= MAIN_MAX_LIST || !*v || strlen(v) >= MAIN_ITEM_MAX)
		return -1;
	memcpy(list[*n], v, strlen(v) + 1);
	(*n)++;
	return 0;
}

int main_add_target(main_settings *s, bool alertmanager, const char *name, const char *url)
{
	if (s->n_targets >= MAIN_MAX_LIST || !*url || strlen(url) >= MAIN_ITEM_MAX ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -1;
	main_target *t = &s->targets[s->n_targets];
	memset(t, 0, sizeof *t);
	t->alertmanager = alertmanager;
	if (name && *name)
		snprintf(t->name, sizeof t->name, "%s", name);
	else
		snprintf(t->name, sizeof t->name, "%s-%zu", alertmanager ? "alertmanager" : "webhook", s->n_targets);
	memcpy(t->url, url, strlen(url) + 1);
	s->n_targets++;
	return 0;
}

static int set_value(main_settings *s, const flag_def *f, const char *v, char *err, size_t errlen)
{
	char *dst = (char *)s + f->off;
	switch (f->kind) {
	case K_STR_LISTEN:
	case K_STR_PATH:
	case K_STR_CONFIG: {
		size_t cap = f->kind == K_STR_LISTEN ? sizeof s->listen : MAIN_PATH_MAX;
		if (!*v || strlen(v) >= cap) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: empty or too long", v, f->name);
			return -1;
		}
		if (f->kind == K_STR_LISTEN && !main_valid_listen(v)) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: want HOST:PORT, [IPv6]:PORT or :PORT", v,
				 f->name);
			return -1;
		}
		memcpy(dst, v, strlen(v) + 1);
		break;
	}
	case K_DURATION: {
		int64_t ms;
		if (slod_parse_duration_ms(v, strlen(v), &ms) != 0 || ms < 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: not a duration (e.g. 15d, 1h30m, 0s)", v,
				 f->name);
			return -1;
		}
		memcpy(dst, &ms, sizeof ms);
		break;
	}
	case K_SIZE: {
		size_t n;
		if (main_parse_size(v, &n) != 0 || n == 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: not a byte size (e.g. 1048576, 32MiB)", v,
				 f->name);
			return -1;
		}
		memcpy(dst, &n, sizeof n);
		break;
	}
	case K_COUNT: {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		bool zero_ok = f->bit == MAIN_SET_MAX_SERIES || f->bit == MAIN_SET_MAX_CONNS_PER_IP; /* 0 = no limit */
		if (!isdigit((unsigned char)v[0]) || *end || errno || (n == 0 && !zero_ok) || n > SIZE_MAX) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: want a %s integer", v, f->name,
				 zero_ok ? "non-negative" : "positive");
			return -1;
		}
		size_t z = (size_t)n;
		memcpy(dst, &z, sizeof z);
		break;
	}
	case K_FSYNC: {
		tsdb_fsync_policy p;
		if (main_parse_fsync(v, &p) != 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: want always, interval or never", v, f->name);
			return -1;
		}
		memcpy(dst, &p, sizeof p);
		break;
	}
	case K_SLO:
	case K_RULE: {
		if (!(s->from_flags & f->bit)) {
			if (f->kind == K_SLO)
				s->n_slo_files = 0;
			else
				s->n_rule_files = 0;
		}
		int rc = f->kind == K_SLO ? main_add_list(s->slo_files, &s->n_slo_files, v)
					  : main_add_list(s->rule_files, &s->n_rule_files, v);
		if (rc != 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: empty, too long or more than %d", v, f->name,
				 MAIN_MAX_LIST);
			return -1;
		}
		break;
	}
	case K_WEBHOOK:
	case K_AM:
		if (!(s->from_flags & f->bit))
			s->n_targets = 0;
		if (main_add_target(s, f->kind == K_AM, NULL, v) != 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: want an http:// or https:// URL", v, f->name);
			return -1;
		}
		break;
	case K_LEVEL: {
		int l;
		if (main_parse_log_level(v, &l) != 0) {
			snprintf(err, errlen, "invalid value \"%s\" for --%s: want debug, info, warn or error", v, f->name);
			return -1;
		}
		memcpy(dst, &l, sizeof l);
		break;
	}
	}
	s->from_flags |= f->bit;
	return 0;
}

int main_flags_parse(int argc, char **argv, main_settings *s, char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0)
			return MAIN_FLAGS_HELP;
		if (strcmp(a, "--version") == 0)
			return MAIN_FLAGS_VERSION;
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\"", a);
			return -1;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const flag_def *f = NULL;
		for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
			if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, name, nlen) == 0)
				f = &flags[k];
		if (!f) {
			snprintf(err, errlen, "unknown flag --%.*s", (int)nlen, name);
			return -1;
		}
		const char *v;
		if (eq) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "flag --%s needs a value", f->name);
				return -1;
			}
			v = argv[++i];
		}
		if (set_value(s, f, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}
