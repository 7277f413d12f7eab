/*
 * test_validate.c — slo.validate: Sloth's validate/good and validate/bad directories (read in place
 * from the shared conformance data) and slod's own located-error cases: every problem must come
 * out as file:line:column: message at the right place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "slo/slo.h"
#include "slo/slo_cli.h"
#include "util/buf.h"

/* Runs the validate subcommand; returns rc, stderr captured into *err_s (owned). */
static int run_validate(const char *path, const char *extra, char **err_s)
{
	char *argv[6] = {"validate", "-i", (char *)path, (char *)extra, NULL};
	int argc = extra ? 4 : 3;
	char *out_s = NULL;
	size_t ol, el;
	FILE *o = open_memstream(&out_s, &ol), *e = open_memstream(err_s, &el);
	int rc = slo_cli_validate(argc, argv, o, e);
	fclose(o);
	fclose(e);
	free(out_s);
	return rc;
}

static void test_sloth_good_dir(void **state)
{
	(void)state;
	char path[1024], *err = NULL;
	snprintf(path, sizeof path, "%s/testdata/validate/good", SLO_SHARED_SLOTH_DIR);
	/* Sloth's own test validates this directory with --ignore-slo-duplicates (its files repeat IDs). */
	int rc = run_validate(path, "--ignore-slo-duplicates", &err);
	if (rc != 0)
		printf("%s", err);
	assert_int_equal(rc, 0);
	assert_null(strstr(err, ": invalid"));
	free(err);
	/* Without the flag the repeated IDs are errors, located at the later SLO's name. */
	rc = run_validate(path, NULL, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "good-ab.yaml:6:11: SLO ID \"svc01-slo1\" is duplicated"));
	free(err);
}

/* The shipped examples must stay valid and warning-free. */
static void test_examples_valid(void **state)
{
	(void)state;
	char path[1024], *err = NULL;
	snprintf(path, sizeof path, "%s/examples/slos", SLOD_SOURCE_DIR);
	int rc = run_validate(path, NULL, &err);
	if (rc != 0 || strstr(err, "warning"))
		printf("%s", err);
	assert_int_equal(rc, 0);
	assert_null(strstr(err, "warning"));
	free(err);
}

static void test_sloth_bad_files(void **state)
{
	(void)state;
	static const struct {
		const char *file, *want;
	} cases[] = {
		{"bad-aa.yaml", "bad-aa.yaml:28:16: objective must be > 0 and <= 100"},
		{"bad-ab.yaml", "bad-ab.yaml:28:16: objective must be > 0 and <= 100"},
		{"bad-ba.yaml", "bad-ba.yaml:28:16: objective must be > 0 and <= 100"},
		{"bad-k8s.yaml", "bad-k8s.yaml:7:12: invalid SLO service: service is required"},
		{"bad-multi-k8s.yaml", "bad-multi-k8s.yaml:22:15: invalid alert: alerting.name is required"},
		{"bad-multi.yaml", "bad-multi.yaml:77:10: invalid SLI: at least one SLI type is required"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[1024], *err = NULL;
		snprintf(path, sizeof path, "%s/testdata/validate/bad/%s", SLO_SHARED_SLOTH_DIR, cases[i].file);
		int rc = run_validate(path, NULL, &err);
		if (rc != 1 || !strstr(err, cases[i].want))
			printf("%s: rc=%d\n%s", cases[i].file, rc, err);
		assert_int_equal(rc, 1);
		assert_non_null(strstr(err, cases[i].want));
		free(err);
	}
	/* The whole directory is rejected too. */
	char path[1024], *err = NULL;
	snprintf(path, sizeof path, "%s/testdata/validate/bad", SLO_SHARED_SLOTH_DIR);
	assert_int_equal(run_validate(path, NULL, &err), 1);
	free(err);
	/* bad-openslo.yaml's "BAD!" is a 28-day time window, which Sloth v0.16 supports (its 28d
	 * catalog is built in, as slod's is), so alone it is valid in both. */
	snprintf(path, sizeof path, "%s/testdata/validate/bad/bad-openslo.yaml", SLO_SHARED_SLOTH_DIR);
	assert_int_equal(run_validate(path, NULL, &err), 0);
	free(err);
}

/* ---- own cases on in-memory specs --------------------------------------------------------- */

static slo_set *load(const char *name, const char *yaml)
{
	slo_set *s = slo_set_new();
	assert_non_null(s);
	slo_load_buffer(s, name, yaml, strlen(yaml));
	return s;
}

/* True if some diagnostic formats exactly as want (prefix match). */
static bool has_diag(const slo_set *s, const char *want);
/* Like has_diag, but the column may also be one more (the PromQL parser may point at the token
 * or just past it). want has the form "file:line:%u: message". */
static bool has_diag_col(const slo_set *s, const char *fmt, unsigned col)
{
	char a[512], b[512];
	snprintf(a, sizeof a, fmt, col);
	snprintf(b, sizeof b, fmt, col + 1);
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	for (size_t i = 0; i < n; i++) {
		char line[2048];
		slo_diag_format(&d[i], line, sizeof line);
		if (strncmp(line, a, strlen(a)) == 0 || strncmp(line, b, strlen(b)) == 0)
			return true;
	}
	return has_diag(s, a);
}

static bool has_diag(const slo_set *s, const char *want)
{
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	for (size_t i = 0; i < n; i++) {
		char line[2048];
		slo_diag_format(&d[i], line, sizeof line);
		if (strncmp(line, want, strlen(want)) == 0)
			return true;
	}
	printf("missing diagnostic: %s\nhave:\n", want);
	for (size_t i = 0; i < n; i++) {
		char line[2048];
		slo_diag_format(&d[i], line, sizeof line);
		printf("  %s\n", line);
	}
	return false;
}

#define HEAD "version: \"prometheus/v1\"\nservice: \"svc\"\nslos:\n  - name: \"ab\"\n"

static void test_objective_and_window(void **state)
{
	(void)state;
	slo_set *s = load("t.yaml", "version: \"prometheus/v1\"\n"
				    "service: \"svc\"\n"
				    "slos:\n"
				    "  - name: \"avail\"\n"
				    "    objective: 0\n"
				    "    sli:\n"
				    "      events:\n"
				    "        error_query: sum(rate(x{code=~\"5..\"}[5m]))\n"
				    "        total_query: sum(rate(x[{{ .window }}]))\n"
				    "    alerting:\n"
				    "      page_alert: {disable: true}\n"
				    "      ticket_alert: {disable: true}\n");
	assert_true(slo_validate(s, NULL) >= 2);
	assert_true(has_diag(s, "t.yaml:5:16: objective must be > 0 and <= 100"));
	assert_true(has_diag(s, "t.yaml:8:22: SLI error query must contain the {{.window}} template variable"));
	slo_set_free(s);
}

static void test_promql_error_located_in_plain_query(void **state)
{
	(void)state;
	/* The stray ')' is byte 29 of the query once {{.window}} became 5m, byte 38 of the template
	 * (past the 11-byte {{.window}}); the query starts at column 22 of line 8: column 60. */
	slo_set *s = load("q.yaml", "version: \"prometheus/v1\"\n"
				    "service: \"svc\"\n"
				    "slos:\n"
				    "  - name: \"avail\"\n"
				    "    objective: 99\n"
				    "    sli:\n"
				    "      events:\n"
				    "        error_query: sum(rate(x{code=~\"5..\"}[{{.window}}])))\n"
				    "        total_query: sum(rate(x[{{.window}}]))\n"
				    "    alerting:\n"
				    "      page_alert: {disable: true}\n"
				    "      ticket_alert: {disable: true}\n");
	assert_int_equal(slo_validate(s, NULL), 1);
	assert_true(has_diag_col(s, "q.yaml:8:%u: SLI error query: invalid PromQL", 60));
	slo_set_free(s);
}

static void test_promql_error_located_in_block_query(void **state)
{
	(void)state;
	/* Literal block: the second content line is file line 10 and content starts at column 11. */
	slo_set *s = load("b.yaml", "version: \"prometheus/v1\"\n"
				    "service: \"svc\"\n"
				    "slos:\n"
				    "  - name: \"avail\"\n"
				    "    objective: 99.5\n"
				    "    sli:\n"
				    "      raw:\n"
				    "        error_ratio_query: |\n"
				    "          sum(rate(x{code=~\"5..\"}[{{.window}}]))\n"
				    "          / sum(rate(x[{{.window}}])))\n"
				    "    alerting:\n"
				    "      page_alert: {disable: true}\n"
				    "      ticket_alert: {disable: true}\n");
	assert_int_equal(slo_validate(s, NULL), 1);
	/* "/ sum(rate(x[{{.window}}])))": the third ')' is byte 27 of that line: column 38. */
	assert_true(has_diag_col(s, "b.yaml:10:%u: SLI raw error ratio query: invalid PromQL", 38));
	slo_set_free(s);
}

static void test_promql_error_located_in_folded_and_escaped_scalars(void **state)
{
	(void)state;
	/* A plain scalar continued on the next line (folded into one space), and a double-quoted
	 * scalar with escapes: positions follow the source text, not the value. */
	slo_set *s = load("f.yaml", "version: \"prometheus/v1\"\n"
				    "service: \"svc\"\n"
				    "slos:\n"
				    "  - name: \"avail\"\n"
				    "    objective: 99\n"
				    "    sli:\n"
				    "      events:\n"
				    "        error_query: sum(rate(x[{{.window}}]))\n"
				    "          / sum(rate(y[{{.window}}])))\n"
				    "        total_query: \"sum(rate(x{a=\\\"b\\\"}[{{.window}}])))\"\n"
				    "    alerting:\n"
				    "      page_alert: {disable: true}\n"
				    "      ticket_alert: {disable: true}\n");
	assert_int_equal(slo_validate(s, NULL), 2);
	assert_true(has_diag_col(s, "f.yaml:9:%u: SLI error query: invalid PromQL", 38));
	assert_true(has_diag_col(s, "f.yaml:10:%u: SLI total query: invalid PromQL", 57));
	slo_set_free(s);
}

static void test_unknown_field_and_yaml_error(void **state)
{
	(void)state;
	slo_set *s = load("u.yaml", HEAD "    objectiv: 99\n    objective: 99\n"
					 "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
					 "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n");
	assert_int_equal(slo_validate(s, NULL), 0);
	assert_true(has_diag(s, "u.yaml:5:5: warning: unknown field \"objectiv\" in slo is ignored"));
	slo_set_free(s);

	s = load("y.yaml", "version: prometheus/v1\nservice: [a\n");
	assert_int_equal(slo_set_error_count(s), 1);
	assert_true(has_diag(s, "y.yaml:3:1: YAML syntax error"));
	slo_set_free(s);

	s = load("v.yaml", "version: \"prometheus/v2\"\nservice: a\n");
	assert_true(has_diag(s, "v.yaml:1:10: invalid spec version \"prometheus/v2\""));
	slo_set_free(s);
}

static void test_duplicates_across_files(void **state)
{
	(void)state;
	const char *spec = HEAD "    objective: 99\n"
				"    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
				"    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n";
	slo_set *s = slo_set_new();
	slo_load_buffer(s, "one.yaml", spec, strlen(spec));
	slo_load_buffer(s, "two.yaml", spec, strlen(spec));
	assert_int_equal(slo_validate(s, NULL), 1);
	assert_true(has_diag(s, "two.yaml:4:11: SLO ID \"svc-ab\" is duplicated"));
	assert_true(has_diag(s, "two.yaml:4:11: SLO ID \"svc-ab\" is duplicated (SLO{service=svc, name=ab} already defined at one.yaml:4:11)"));
	slo_set_free(s);
	/* With ignore_duplicates only repeats inside one document count. */
	s = slo_set_new();
	slo_load_buffer(s, "one.yaml", spec, strlen(spec));
	slo_load_buffer(s, "two.yaml", spec, strlen(spec));
	slo_gen_options o = {.ignore_duplicates = true};
	assert_int_equal(slo_validate(s, &o), 0);
	slo_set_free(s);
}

static void test_unfireable_windows_warn(void **state)
{
	(void)state;
	/* 90% SLO: budget 10%; 14.4x and 6x page windows need 144% and 60% error ratios: the quick
	 * page can never fire, the slow one can. */
	slo_set *s = load("f.yaml", HEAD "    objective: 90\n"
					 "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
					 "    alerting:\n"
					 "      name: A\n"
					 "      page_alert: {labels: {sev: p}}\n"
					 "      ticket_alert: {disable: true}\n");
	assert_int_equal(slo_validate(s, NULL), 0);
	assert_true(has_diag(s, "f.yaml:9:19: warning: page alert quick window can never fire: a 14.4x burn rate over 1h"));
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d), warns = 0;
	for (size_t i = 0; i < n; i++)
		warns += d[i].severity == SLO_DIAG_WARNING;
	assert_int_equal(warns, 1);
	slo_set_free(s);
}

static void test_sli_must_be_instant_vector(void **state)
{
	(void)state;
	slo_set *s = load("t.yaml", HEAD "    objective: 99\n"
					 "    sli:\n"
					 "      raw:\n"
					 "        error_ratio_query: x[{{.window}}]\n"
					 "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n");
	assert_int_equal(slo_validate(s, NULL), 1);
	assert_true(has_diag(s, "t.yaml:8:28: SLI raw error ratio query must give an instant vector, not a range vector"));
	slo_set_free(s);
}

static void test_objective_100_and_reserved_labels_warn(void **state)
{
	(void)state;
	slo_set *s = load("r.yaml", HEAD "    objective: 100\n"
					 "    labels: {sloth_id: mine}\n"
					 "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
					 "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n");
	assert_int_equal(slo_validate(s, NULL), 0);
	assert_true(has_diag(s, "r.yaml:5:16: warning: objective 100 leaves no error budget"));
	assert_true(has_diag(s, "r.yaml:6:14: warning: SLO label \"sloth_id\" replaces the generated one"));
	slo_set_free(s);
}

static void test_names_labels_alerts(void **state)
{
	(void)state;
	slo_set *s = load("n.yaml", "version: \"prometheus/v1\"\n"
				    "service: \"svc\"\n"
				    "labels: {__name__: x, team: \"\"}\n"
				    "slos:\n"
				    "  - name: \"bad name\"\n"
				    "    objective: 99\n"
				    "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
				    "    alerting: {ticket_alert: {disable: true}}\n"
				    "  - name: \"second\"\n"
				    "    objective: 99\n"
				    "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
				    "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n");
	/* The group labels' problems are reported once although both SLOs inherit them. */
	assert_int_equal(slo_validate(s, NULL), 4);
	assert_true(has_diag(s, "n.yaml:3:10: the SLO label key \"__name__\" is not allowed"));
	assert_true(has_diag(s, "n.yaml:3:23: the SLO label \"team\" needs a non-empty value"));
	assert_true(has_diag(s, "n.yaml:5:11: invalid SLO name \"bad name\""));
	assert_true(has_diag(s, "n.yaml:8:15: invalid alert: alerting.name is required while the page alert is enabled"));
	slo_set_free(s);
}

static void test_period_without_catalog(void **state)
{
	(void)state;
	slo_set *s = load("p.yaml", HEAD "    objective: 99\n"
					 "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
					 "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n");
	slo_gen_options o = {.default_period_ms = 7LL * 86400000};
	assert_int_equal(slo_validate(s, &o), 1);
	assert_true(has_diag(s, "p.yaml:1:1: the 1w SLO period time window is not supported"));
	/* A custom catalog for 7d makes it valid. */
	static const char win[] = "apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 7d\n"
				  "  page:\n    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}\n"
				  "    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}\n"
				  "  ticket:\n    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}\n"
				  "    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}\n";
	assert_int_equal(slo_load_windows_buffer(s, "w.yaml", win, sizeof win - 1), 0);
	assert_int_equal(slo_validate(s, &o), 0); /* the earlier error stays; no new one */
	assert_int_equal(slo_set_error_count(s), 1);
	slo_set_free(s);
}

static void test_pyrra_and_openslo_v1_located(void **state)
{
	(void)state;
	slo_set *s = load("p.yaml", "apiVersion: pyrra.dev/v1alpha1\n"
				    "kind: ServiceLevelObjective\n"
				    "metadata: {name: web, namespace: prod}\n"
				    "spec:\n"
				    "  target: \"99.9x\"\n"
				    "  window: 2w\n"
				    "  indicator:\n"
				    "    ratio:\n"
				    "      errors: {metric: 'http_requests_total{code=~\"5..\"'}\n"
				    "      total: {metric: http_requests_total}\n");
	slo_validate(s, NULL);
	assert_true(has_diag(s, "p.yaml:5:11: target must be a percentage like \"99.5\", not \"99.9x\""));
	assert_true(has_diag(s, "p.yaml:6:11: the 2w SLO period time window is not supported"));
	/* The selector is unterminated: the error is at its end, column 24 + quote + 31 bytes. */
	assert_true(has_diag_col(s, "p.yaml:9:%u: ratio errors metric: invalid PromQL", 56));
	assert_int_equal(slo_set_error_count(s), 3); /* no second "objective is required" */
	slo_set_free(s);

	s = load("o.yaml", "apiVersion: openslo/v1\n"
			   "kind: SLO\n"
			   "metadata: {name: x1}\n"
			   "spec:\n"
			   "  service: s1\n"
			   "  indicatorRef: missing\n"
			   "  objectives: [{target: 0.99}]\n");
	assert_true(has_diag(s, "o.yaml:6:17: indicatorRef \"missing\": no kind: SLI document with that name in this file"));
	slo_set_free(s);
}

static void test_model_helpers(void **state)
{
	(void)state;
	static const char two[] = "version: \"prometheus/v1\"\nservice: s1\nslos:\n"
				  "  - name: ev\n    objective: 99.9\n"
				  "    sli: {events: {error_query: \"sum(rate(e[{{.window}}]))\", total_query: \"sum(rate(t[{{ .window }}]))\"}}\n"
				  "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n"
				  "---\n"
				  "version: \"prometheus/v1\"\nservice: s2\nslos:\n"
				  "  - name: raw\n    objective: 95\n"
				  "    sli: {raw: {error_ratio_query: \"sum(rate(x[{{.window}}]))\"}}\n"
				  "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n";
	slo_set *s = load("m.yaml", two);
	assert_int_equal(slo_validate(s, NULL), 0);
	const slo_group *g;
	assert_int_equal(slo_set_groups(s, &g), 2);
	/* Each group keeps its own document's text. */
	assert_non_null(g[0].text);
	assert_non_null(strstr(g[0].text, "service: s1"));
	assert_null(strstr(g[0].text, "service: s2"));
	assert_non_null(strstr(g[1].text, "service: s2"));
	buf b;
	buf_init(&b, 0);
	assert_int_equal(slo_sli_expr(&g[0].slos[0], 3600000, &b), 0);
	assert_string_equal(b.data, "(sum(rate(e[1h])))\n/\n(sum(rate(t[1h])))\n");
	buf_reset(&b);
	assert_int_equal(slo_sli_expr(&g[1].slos[0], 3LL * 86400000, &b), 0);
	assert_string_equal(b.data, "(sum(rate(x[3d])))");
	buf_deinit(&b);
	assert_int_equal(slo_spec_period_ms(&g[0].slos[0], NULL), 30LL * 86400000);
	const slo_windows *w = slo_set_windows(s, 30LL * 86400000);
	assert_non_null(w);
	assert_true(slo_window_burn_factor(w->period_ms, &w->page_quick) == 14.4);
	assert_true(slo_window_burn_factor(w->period_ms, &w->page_slow) == 6);
	assert_true(slo_window_burn_factor(w->period_ms, &w->ticket_quick) == 3);
	assert_true(slo_window_burn_factor(w->period_ms, &w->ticket_slow) == 1);
	w = slo_set_windows(s, 28LL * 86400000);
	assert_non_null(w);
	assert_true(slo_window_burn_factor(w->period_ms, &w->page_quick) == 13.44);
	slo_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sloth_good_dir),
		cmocka_unit_test(test_sloth_bad_files),
		cmocka_unit_test(test_examples_valid),
		cmocka_unit_test(test_objective_and_window),
		cmocka_unit_test(test_promql_error_located_in_plain_query),
		cmocka_unit_test(test_promql_error_located_in_block_query),
		cmocka_unit_test(test_promql_error_located_in_folded_and_escaped_scalars),
		cmocka_unit_test(test_unknown_field_and_yaml_error),
		cmocka_unit_test(test_duplicates_across_files),
		cmocka_unit_test(test_unfireable_windows_warn),
		cmocka_unit_test(test_names_labels_alerts),
		cmocka_unit_test(test_objective_100_and_reserved_labels_warn),
		cmocka_unit_test(test_sli_must_be_instant_vector),
		cmocka_unit_test(test_period_without_catalog),
		cmocka_unit_test(test_pyrra_and_openslo_v1_located),
		cmocka_unit_test(test_model_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
