/*
 * settings.h — slod's runtime settings: defaults, Prometheus-style command-line flags and the YAML
 * config file (main module; libyaml is private to main/config.c here).
 *
 * Precedence: defaults < config file < flags. Each field has a bit in `from_flags`; the config
 * loader leaves fields whose bit is set alone, so flags win whatever the order of loading.
 * Strings are fixed-size copies (no ownership questions); numbers are already validated.
 */
#ifndef SLOD_MAIN_SETTINGS_H
#define SLOD_MAIN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"

#define MAIN_PATH_MAX 4096

enum {
	MAIN_SET_LISTEN = 1u << 0,
	MAIN_SET_STORAGE_PATH = 1u << 1,
	MAIN_SET_RETENTION = 1u << 2,
	MAIN_SET_FSYNC = 1u << 3,
	MAIN_SET_OOO = 1u << 4,
	MAIN_SET_MAX_BODY = 1u << 5,
	MAIN_SET_LOG_LEVEL = 1u << 6,
	MAIN_SET_CHECKPOINT = 1u << 7,
	MAIN_SET_FSYNC_INTERVAL = 1u << 8,
	MAIN_SET_SLO_FILES = 1u << 9,
	MAIN_SET_RULE_FILES = 1u << 10,
	MAIN_SET_TARGETS = 1u << 11,
	MAIN_SET_EVAL_INTERVAL = 1u << 12,
	MAIN_SET_QUERY_TIMEOUT = 1u << 13,
	MAIN_SET_QUERY_MAX_SAMPLES = 1u << 14,
	MAIN_SET_QUERY_LOOKBACK = 1u << 15,
	MAIN_SET_MAX_SERIES = 1u << 16,
	MAIN_SET_MAX_CONNS = 1u << 17,
	MAIN_SET_MAX_CONNS_PER_IP = 1u << 18,
};

#define MAIN_MAX_LIST 16
#define MAIN_ITEM_MAX 1024

/* A notification target (alerting module). */
typedef struct main_target {
	bool alertmanager;                 /* false: generic webhook */
	char name[64];
	char url[MAIN_ITEM_MAX];
	char hmac_secret[256];             /* webhooks only; "" = unsigned */
	int64_t repeat_interval_ms;        /* webhooks only; 0 = alerting's default (4h) */
} main_target;

typedef struct main_settings {
	char config_file[MAIN_PATH_MAX];   /* "" = none */
	char listen[256];                  /* --web.listen-address, default 127.0.0.1:9099 */
	char storage_path[MAIN_PATH_MAX];  /* --storage.path, default ./slod-data */
	int64_t retention_ms;              /* --storage.retention, default 35d */
	tsdb_fsync_policy fsync;           /* --storage.wal-fsync, default always */
	int64_t fsync_interval_ms;         /* --storage.wal-fsync-interval, default 1s */
	int64_t ooo_window_ms;             /* --storage.ooo-window, default 0 */
	int64_t checkpoint_interval_ms;    /* --storage.checkpoint-interval, default 15m */
	size_t max_series;                 /* --storage.max-series, default 0 = unlimited */
	size_t max_body_bytes;             /* --web.max-body-bytes, default 32MiB */
	size_t max_connections;            /* --web.max-connections, default 4096 */
	size_t max_connections_per_ip;     /* --web.max-connections-per-ip, default 1024; 0 = no limit */
	int log_level;                     /* --log.level debug|info|warn|error, default info */
	char slo_files[MAIN_MAX_LIST][MAIN_ITEM_MAX]; /* --slo.files (repeatable): files or dirs; none
							 given anywhere = the embedded examples;
							 "none" = no SLOs */
	size_t n_slo_files;
	char rule_files[MAIN_MAX_LIST][MAIN_ITEM_MAX]; /* --rule.files (repeatable): globs */
	size_t n_rule_files;
	main_target targets[MAIN_MAX_LIST];  /* --alerting.webhook-url / --alerting.alertmanager-url */
	size_t n_targets;
	int64_t eval_interval_ms;          /* --rules.evaluation-interval, default 30s */
	int64_t query_timeout_ms;          /* --query.timeout, default 2m */
	size_t query_max_samples;          /* --query.max-samples, default 50000000 */
	int64_t query_lookback_ms;         /* --query.lookback-delta, default 5m */
	unsigned from_flags;               /* MAIN_SET_* bits given on the command line */
} main_settings;

/* Results of main_flags_parse besides 0 (run) and -1 (error). */
enum { MAIN_FLAGS_HELP = 1, MAIN_FLAGS_VERSION = 2 };

/* Overwrites *s with slod's defaults (listen 127.0.0.1:9099, ./slod-data, 35d retention, fsync
 * always, 30s evaluation, ...; see the help text in flags.c). Never fails. */
void main_settings_default(main_settings *s);
/* Parses argv[0..argc) (flags only, no program name or subcommand): "--name=value", "--name value",
 * "-h"/"--help", "--version". Returns 0, MAIN_FLAGS_HELP, MAIN_FLAGS_VERSION, or -1 with err set
 * ("unknown flag --x", "invalid value \"y\" for --storage.retention: ..."). */
int main_flags_parse(int argc, char **argv, main_settings *s, char *err, size_t errlen);
/* Reads the YAML config file at path (at most 1 MiB) into s, skipping fields set by flags.
 * Recognised keys (all optional):
 *   web:     { listen_address: HOST:PORT, max_body_bytes: SIZE, max_connections: N,
 *              max_connections_per_ip: N }
 *   storage: { path: DIR, retention: DURATION, wal_fsync: always|interval|never,
 *              wal_fsync_interval: DURATION, ooo_window: DURATION, checkpoint_interval: DURATION,
 *              max_series: N }
 *   log:     { level: debug|info|warn|error }
 *   slo_files: [PATH, ...]            rule_files: [GLOB, ...]
 *   rules:   { evaluation_interval: DURATION }
 *   query:   { timeout: DURATION, max_samples: N, lookback_delta: DURATION }
 *   alerting: { webhooks: [{name, url, hmac_secret, repeat_interval}], alertmanagers: [{name, url}] }
 * Unknown keys inside these sections and unknown top-level keys are errors (typos). Returns 0 or -1 with err set ("config.yml:3:5: ..."). */
int main_config_load(const char *path, main_settings *s, char *err, size_t errlen);
/* The settings that differ between the running *cur and a reloaded *next and take effect only at
 * a restart (everything but SLO specs and rule files): their names, comma-separated, in out
 * (truncated to cap). Returns how many differ. */
size_t main_settings_restart_diff(const main_settings *cur, const main_settings *next, char *out, size_t cap);

/* Value parsers shared by flags and config (0 or -1). */
int main_parse_size(const char *v, size_t *out);        /* 1024, 512KB, 32MiB, 1GB ... */
int main_parse_fsync(const char *v, tsdb_fsync_policy *out);
int main_parse_log_level(const char *v, int *out);
/* True for "HOST:PORT", "[v6]:PORT" and ":PORT" with PORT in 0..65535. */
bool main_valid_listen(const char *v);

/* List helpers shared by flags and config: 0, or -1 when full, empty or too long. Targets need an
 * http(s) URL; name NULL/"" = generated ("webhook-0"). */
int main_add_list(char (*list)[MAIN_ITEM_MAX], size_t *n, const char *v);
int main_add_target(main_settings *s, bool alertmanager, const char *name, const char *url);

/* The usage text (for --help and after a flag error). */
extern const char main_usage[];

#endif
