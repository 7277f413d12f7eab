/* Tests for main/flags.c and main/config.c: defaults, --flag=value and --flag value forms, value
 * validation, the YAML config file and flag-over-config precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "main/settings.h"
#include "util/log.h"

static int parse(main_settings *s, char *err, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return main_flags_parse(argc, argv, s, err, 256);
}

static void test_defaults_and_flags(void **state)
{
	(void)state;
	main_settings s;
	char err[256];
	main_settings_default(&s);
	assert_string_equal(s.listen, "127.0.0.1:9099");
	assert_string_equal(s.storage_path, "./slod-data");
	assert_int_equal(s.retention_ms, 35LL * 86400 * 1000);
	assert_int_equal(s.fsync, TSDB_FSYNC_ALWAYS);
	assert_int_equal(s.log_level, SLOD_LOG_INFO);

	assert_int_equal(parse(&s, err, 7, "--web.listen-address=0.0.0.0:1234", "--storage.path", "/tmp/x",
			       "--storage.retention=2h30m", "--storage.wal-fsync", "never", "--log.level=debug"),
			 0);
	assert_string_equal(s.listen, "0.0.0.0:1234");
	assert_string_equal(s.storage_path, "/tmp/x");
	assert_int_equal(s.retention_ms, 9000LL * 1000);
	assert_int_equal(s.fsync, TSDB_FSYNC_NEVER);
	assert_int_equal(s.log_level, SLOD_LOG_DEBUG);
	assert_int_equal(s.from_flags, MAIN_SET_LISTEN | MAIN_SET_STORAGE_PATH | MAIN_SET_RETENTION | MAIN_SET_FSYNC |
					       MAIN_SET_LOG_LEVEL);
	assert_int_equal(parse(&s, err, 3, "--query.timeout=30s", "--query.max-samples", "1000"), 0);
	assert_int_equal(s.query_timeout_ms, 30000);
	assert_int_equal(s.query_max_samples, 1000);
	assert_int_equal(parse(&s, err, 1, "--query.max-samples=0"), -1);
	assert_int_equal(parse(&s, err, 1, "--storage.max-series=100000"), 0);
	assert_int_equal(s.max_series, 100000);
	assert_int_equal(parse(&s, err, 1, "--storage.max-series=0"), 0);
	assert_int_equal(s.max_series, 0);
	assert_int_equal(parse(&s, err, 1, "--query.max-samples=1e6"), -1);
	assert_int_equal(parse(&s, err, 2, "--web.max-body-bytes=4MiB", "--storage.ooo-window=10m"), 0);
	assert_int_equal(s.max_body_bytes, 4u << 20);
	assert_int_equal(s.ooo_window_ms, 600000);
	assert_int_equal(s.max_connections, 4096);
	assert_int_equal(s.max_connections_per_ip, 1024);
	assert_int_equal(parse(&s, err, 2, "--web.max-connections=100", "--web.max-connections-per-ip=0"), 0);
	assert_int_equal(s.max_connections, 100);
	assert_int_equal(s.max_connections_per_ip, 0);
	assert_int_equal(parse(&s, err, 1, "--web.max-connections=0"), -1);
	assert_int_equal(parse(&s, err, 1, "--web.max-connections-per-ip=-1"), -1);

	assert_int_equal(parse(&s, err, 1, "--help"), MAIN_FLAGS_HELP);
	assert_int_equal(parse(&s, err, 1, "-h"), MAIN_FLAGS_HELP);
	assert_int_equal(parse(&s, err, 1, "--version"), MAIN_FLAGS_VERSION);

	assert_int_equal(parse(&s, err, 1, "--no.such-flag=1"), -1);
	assert_string_equal(err, "unknown flag --no.such-flag");
	assert_int_equal(parse(&s, err, 1, "--storage.retention=forever"), -1);
	assert_non_null(strstr(err, "invalid value \"forever\" for --storage.retention"));
	assert_int_equal(parse(&s, err, 1, "--storage.wal-fsync=sometimes"), -1);
	assert_int_equal(parse(&s, err, 1, "--web.max-body-bytes=lots"), -1);
	assert_int_equal(parse(&s, err, 1, "--storage.path"), -1);
	assert_string_equal(err, "flag --storage.path needs a value");
	assert_int_equal(parse(&s, err, 1, "stray"), -1);
	assert_int_equal(parse(&s, err, 1, "--web.listen-address=localhost"), -1);
	assert_non_null(strstr(err, "want HOST:PORT"));
	assert_int_equal(parse(&s, err, 1, "--web.listen-address=h:99999"), -1);
	assert_int_equal(parse(&s, err, 1, "--web.listen-address=::1:80"), -1);
	assert_int_equal(parse(&s, err, 1, "--web.listen-address=[::1]:80"), 0);
	assert_int_equal(parse(&s, err, 1, "--web.listen-address=:9099"), 0);
	assert_true(main_valid_listen("0.0.0.0:0"));
	assert_false(main_valid_listen("[::1"));
}

static void test_sizes(void **state)
{
	(void)state;
	size_t n;
	assert_int_equal(main_parse_size("1024", &n), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(main_parse_size("2KB", &n), 0);
	assert_int_equal(n, 2000);
	assert_int_equal(main_parse_size("3MiB", &n), 0);
	assert_int_equal(n, 3u << 20);
	assert_int_equal(main_parse_size("1GiB", &n), 0);
	assert_int_equal(n, 1u << 30);
	assert_int_equal(main_parse_size("1TB", &n), -1);
	assert_int_equal(main_parse_size("-1", &n), -1);
	assert_int_equal(main_parse_size("", &n), -1);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/slod-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A reload applies SLO specs and rule files; every other setting that changed is named in the
 * restart warning. */
static void test_restart_diff(void **state)
{
	(void)state;
	main_settings a, b;
	char out[512];
	main_settings_default(&a);
	b = a;
	assert_int_equal(main_settings_restart_diff(&a, &b, out, sizeof out), 0);
	assert_string_equal(out, "");
	snprintf(b.slo_files[0], sizeof b.slo_files[0], "other.yml"); /* applied by the reload */
	b.n_slo_files = 1;
	assert_int_equal(main_settings_restart_diff(&a, &b, out, sizeof out), 0);
	snprintf(b.listen, sizeof b.listen, "127.0.0.1:1");
	b.query_timeout_ms = 1;
	b.n_targets = 1;
	snprintf(b.targets[0].url, sizeof b.targets[0].url, "http://h:1/x");
	assert_int_equal(main_settings_restart_diff(&a, &b, out, sizeof out), 3);
	assert_string_equal(out, "web.listen_address, query.timeout, alerting");
	a.n_targets = 1;
	snprintf(a.targets[0].url, sizeof a.targets[0].url, "http://h:1/x");
	a.targets[0].repeat_interval_ms = 60000;
	assert_int_equal(main_settings_restart_diff(&a, &b, out, 8), 3); /* counted, text truncated */
	assert_int_equal(strlen(out), 7);
}

static void test_config_file(void **state)
{
	(void)state;
	main_settings s;
	char err[256];
	main_settings_default(&s);
	char *p = write_tmp("# slod config\n"
			    "web:\n  listen_address: 127.0.0.1:7777\n  max_body_bytes: 1MiB\n  max_connections: 300\n"
			    "  max_connections_per_ip: 30\n"
			    "storage:\n  path: /var/lib/slod\n  retention: 7d\n  wal_fsync: interval\n"
			    "  wal_fsync_interval: 5s\n  ooo_window: 1m\n  checkpoint_interval: 1h\n  max_series: 777\n"
			    "log:\n  level: warn\n"
			    "rules:\n  evaluation_interval: 10s\n"
			    "query:\n  timeout: 1m\n  max_samples: 12345\n  lookback_delta: 2m\n"
			    "slo_files: [a.yml, dir/]\n"
			    "rule_files: r/*.yml\n"
			    "alerting:\n  webhooks:\n    - {name: oncall, url: 'http://h:1/x', hmac_secret: s3, repeat_interval: 1h}\n"
			    "  alertmanagers:\n    - url: http://am:9093\n");
	/* a flag given on the command line wins over the file */
	assert_int_equal(parse(&s, err, 1, "--storage.retention=1d"), 0);
	assert_int_equal(main_config_load(p, &s, err, sizeof err), 0);
	assert_string_equal(s.listen, "127.0.0.1:7777");
	assert_int_equal(s.max_body_bytes, 1u << 20);
	assert_int_equal(s.max_connections, 300);
	assert_int_equal(s.max_connections_per_ip, 30);
	assert_string_equal(s.storage_path, "/var/lib/slod");
	assert_int_equal(s.retention_ms, 86400LL * 1000);
	assert_int_equal(s.fsync, TSDB_FSYNC_INTERVAL);
	assert_int_equal(s.fsync_interval_ms, 5000);
	assert_int_equal(s.ooo_window_ms, 60000);
	assert_int_equal(s.checkpoint_interval_ms, 3600000);
	assert_int_equal(s.max_series, 777);
	assert_int_equal(s.log_level, SLOD_LOG_WARN);
	assert_int_equal(s.eval_interval_ms, 10000);
	assert_int_equal(s.query_timeout_ms, 60000);
	assert_int_equal(s.query_max_samples, 12345);
	assert_int_equal(s.query_lookback_ms, 120000);
	assert_int_equal(s.n_slo_files, 2);
	assert_string_equal(s.slo_files[1], "dir/");
	assert_int_equal(s.n_rule_files, 1);
	assert_string_equal(s.rule_files[0], "r/*.yml");
	assert_int_equal(s.n_targets, 2);
	assert_false(s.targets[0].alertmanager);
	assert_string_equal(s.targets[0].name, "oncall");
	assert_string_equal(s.targets[0].hmac_secret, "s3");
	assert_int_equal(s.targets[0].repeat_interval_ms, 3600000);
	assert_true(s.targets[1].alertmanager);
	assert_string_equal(s.targets[1].url, "http://am:9093");
	unlink(p);
	free(p);

	/* list flags win over the file's lists */
	main_settings_default(&s);
	assert_int_equal(parse(&s, err, 4, "--slo.files=x.yml", "--slo.files", "y.yml", "--alerting.webhook-url=http://w/"),
			 0);
	p = write_tmp("slo_files: [a.yml]\nalerting:\n  webhooks:\n    - url: http://other/\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), 0);
	assert_int_equal(s.n_slo_files, 2);
	assert_string_equal(s.slo_files[0], "x.yml");
	assert_int_equal(s.n_targets, 1);
	assert_string_equal(s.targets[0].url, "http://w/");
	assert_string_equal(s.targets[0].name, "webhook-0");
	unlink(p);
	free(p);
	assert_int_equal(parse(&s, err, 1, "--alerting.webhook-url=ftp://x"), -1);

	/* the aliases the Prometheus world uses */
	main_settings_default(&s);
	assert_int_equal(parse(&s, err, 2, "--notifier.webhook-url=http://hook/", "--alertmanager.url=http://am:9093"), 0);
	assert_int_equal(s.n_targets, 2);
	assert_false(s.targets[0].alertmanager);
	assert_string_equal(s.targets[0].url, "http://hook/");
	assert_true(s.targets[1].alertmanager);
	assert_string_equal(s.targets[1].url, "http://am:9093");

	p = write_tmp("alerting:\n  webhooks:\n    - name: x\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "url is required"));
	unlink(p);
	free(p);

	p = write_tmp("slo_file: [a.yml]\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, ":1:1: unknown top-level key \"slo_file\""));
	unlink(p);
	free(p);

	p = write_tmp("storage:\n  retension: 7d\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2:3: unknown key \"retension\" in section \"storage\""));
	unlink(p);
	free(p);

	p = write_tmp("storage:\n  retention: soon\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "storage.retention: invalid duration \"soon\""));
	unlink(p);
	free(p);

	p = write_tmp("web: [1, 2\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	unlink(p);
	free(p);

	p = write_tmp("- a\n- b\n");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "the top level must be a mapping"));
	unlink(p);
	free(p);

	p = write_tmp("");
	assert_int_equal(main_config_load(p, &s, err, sizeof err), 0);
	unlink(p);
	free(p);

	assert_int_equal(main_config_load("/nonexistent/slod.yml", &s, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_flags),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_restart_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
