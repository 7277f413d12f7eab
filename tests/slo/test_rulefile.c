/* Tests for slo/rulefile.c: Prometheus rule files into rules_group_def, with located errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "slo/rulefile.h"

static const char GOOD[] = "groups:\n"
			   "  - name: api\n"
			   "    interval: 15s\n"
			   "    limit: 10\n"
			   "    labels:\n"
			   "      team: sre\n"
			   "    rules:\n"
			   "      - record: job:http_errors:rate5m\n"
			   "        expr: sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))\n"
			   "        labels:\n"
			   "          team: web\n"
			   "      - alert: HighErrors\n"
			   "        expr: job:http_errors:rate5m > 1\n"
			   "        for: 5m\n"
			   "        keep_firing_for: 1m\n"
			   "        labels:\n"
			   "          severity: page\n"
			   "        annotations:\n"
			   "          summary: \"{{ $labels.job }} errors\"\n"
			   "  - name: empty\n";

static void test_good_file(void **state)
{
	(void)state;
	slo_rulefile *f = NULL;
	char err[512];
	assert_int_equal(slo_rulefile_parse("r.yml", GOOD, strlen(GOOD), &f, err, sizeof err), 0);
	size_t n;
	const rules_group_def *g = slo_rulefile_groups(f, &n);
	assert_int_equal(n, 2);
	assert_string_equal(g[0].name, "api");
	assert_string_equal(g[0].file, "r.yml");
	assert_int_equal(g[0].interval_ms, 15000);
	assert_int_equal(g[0].limit, 10);
	assert_int_equal(g[0].n_rules, 2);
	const rules_rule_def *r = &g[0].rules[0];
	assert_int_equal(r->kind, RULES_RECORD);
	assert_string_equal(r->name, "job:http_errors:rate5m");
	/* the rule's own label wins over the group's */
	assert_string_equal(labels_get(&r->labels, "team"), "web");
	r = &g[0].rules[1];
	assert_int_equal(r->kind, RULES_ALERT);
	assert_int_equal(r->for_ms, 300000);
	assert_int_equal(r->keep_firing_for_ms, 60000);
	assert_string_equal(labels_get(&r->labels, "severity"), "page");
	assert_string_equal(labels_get(&r->labels, "team"), "sre");
	assert_string_equal(labels_get(&r->annotations, "summary"), "{{ $labels.job }} errors");
	assert_int_equal(r->line, 12);
	assert_int_equal(g[1].n_rules, 0);
	slo_rulefile_free(f);
}

static void expect_error(const char *yaml, const char *want)
{
	slo_rulefile *f = NULL;
	char err[1024];
	assert_int_equal(slo_rulefile_parse("bad.yml", yaml, strlen(yaml), &f, err, sizeof err), -1);
	assert_null(f);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_errors_are_located(void **state)
{
	(void)state;
	expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        bogus: 1\n",
		     "bad.yml:6:9: field bogus not found in type rulefmt.Rule");
	expect_error("groups:\n  - name: a\n    rules:\n      - expr: up\n",
		     "bad.yml:4:9: one of 'record' or 'alert' must be set");
	expect_error("groups:\n  - name: a\n    interval: 5x\n", "bad.yml:3:15: interval: not a valid duration string");
	expect_error("groups:\n  - name: a\n  - name: a\n", "groupname: \"a\" is repeated in the same file");
	expect_error("groups:\n  - rules: []\n", "groupname must not be empty");
	expect_error("groups:\n  - name: a\n    rules:\n      - record: \"bad name\"\n        expr: up\n",
		     "invalid recording rule name: bad name");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        labels:\n"
		     "          0bad: x\n",
		     "bad.yml:7:11: invalid label name: 0bad");
	expect_error("groups: [\n", "bad.yml:");
	expect_error("nogroups: 1\n", "field nogroups not found");
}

static void test_load_glob(void **state)
{
	(void)state;
	char dir[] = "/tmp/slod-rulefile-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/a.yml", dir);
	FILE *fp = fopen(path, "w");
	fputs(GOOD, fp);
	fclose(fp);
	snprintf(path, sizeof path, "%s/b.yml", dir);
	fp = fopen(path, "w");
	fputs("groups:\n  - name: api\n    rules: []\n", fp);
	fclose(fp);
	slo_rulefile *f = NULL;
	char err[512], pat[256];
	snprintf(pat, sizeof pat, "%s/*.yml", dir);
	assert_int_equal(slo_rulefile_load_glob(&f, pat, err, sizeof err), 0);
	size_t n;
	slo_rulefile_groups(f, &n);
	assert_int_equal(n, 3); /* same group name in another file is a different group */
	snprintf(pat, sizeof pat, "%s/none-*.yml", dir);
	assert_int_equal(slo_rulefile_load_glob(&f, pat, err, sizeof err), 0);
	slo_rulefile_free(f);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_errors_are_located),
		cmocka_unit_test(test_load_glob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
