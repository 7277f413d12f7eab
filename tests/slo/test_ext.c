/*
 * test_ext.c — slo.ext: the slod extensions of Sloth specs (the `slod:` key, docs/slo.md):
 * loading into the model, located errors for every new field, the rules generated for latency
 * SLIs, per-tier windows/factors/severity/for and minimum events, calendar period starts in UTC,
 * fixed offsets and IANA zones (hand-computed instants), and that an empty `slod:` changes
 * nothing in the Sloth output.
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
#include "util/buf.h"

static const char base_spec[] =
	"version: prometheus/v1\n"
	"service: api\n"
	"slos:\n"
	"  - name: latency\n"
	"    objective: 99\n"
	"    alerting:\n"
	"      name: ApiLatency\n"
	"    slod:\n"
	"      latency:\n"
	"        histogram: http_request_duration_seconds{job=\"api\"}\n"
	"        threshold: 0.30\n"
	"        selector: '{code!~\"5..\"}'\n"
	"      period: 7d\n"
	"      min_events: 100\n"
	"      page:\n"
	"        severity: critical\n"
	"        for: 2m\n"
	"        quick: {short_window: 10m, long_window: 2h, factor: 10}\n"
	"      ticket:\n"
	"        disable: true\n";

static slo_set *load(const char *yaml, size_t *errors)
{
	slo_set *s = slo_set_new();
	assert_non_null(s);
	slo_load_buffer(s, "t.yaml", yaml, strlen(yaml));
	int v = slo_validate(s, NULL);
	assert_true(v >= 0);
	*errors = slo_set_error_count(s);
	return s;
}

/* All diagnostics formatted, one per line (owned). */
static char *diags(const slo_set *s)
{
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		char line[1024];
		slo_diag_format(&d[i], line, sizeof line);
		buf_printf(&b, "%s\n", line);
	}
	char *r = strdup(b.data ? b.data : "");
	buf_deinit(&b);
	return r;
}

static char *generate(slo_set *s)
{
	const slo_group *g;
	assert_int_equal(slo_set_groups(s, &g), 1);
	buf out;
	buf_init(&out, 0);
	char err[256];
	int rc = slo_generate(s, &g[0], NULL, &out, err, sizeof err);
	if (rc)
		printf("generate: %s\n", err);
	assert_int_equal(rc, 0);
	char *r = strdup(out.data);
	buf_deinit(&out);
	return r;
}

static void test_model(void **state)
{
	(void)state;
	size_t errors;
	slo_set *s = load(base_spec, &errors);
	char *d = diags(s);
	if (errors)
		printf("%s", d);
	assert_int_equal(errors, 0);
	free(d);
	const slo_group *g;
	slo_set_groups(s, &g);
	const slo_spec *o = &g[0].slos[0];
	assert_true(o->ext && o->latency);
	assert_int_equal(o->sli_kind, SLO_SLI_EVENTS);
	assert_string_equal(o->total_query.text,
			    "sum(rate(http_request_duration_seconds_count{job=\"api\", code!~\"5..\"}[{{.window}}]))");
	/* threshold 0.30 is written as the le value clients use: 0.3 */
	assert_string_equal(o->error_query.text,
			    "sum(rate(http_request_duration_seconds_count{job=\"api\", code!~\"5..\"}[{{.window}}]))\n-\n"
			    "sum(rate(http_request_duration_seconds_bucket{job=\"api\", code!~\"5..\", le=\"0.3\"}[{{.window}}]))");
	assert_int_equal(o->period_ms, 7LL * 86400000);
	assert_int_equal(o->min_events, 100);
	assert_int_equal(o->alerting.page.for_ms, 120000);
	assert_true(o->alerting.ticket.disable);
	assert_false(o->alerting.page.disable);
	/* effective windows: the 30d catalog (no 7d one) with the page quick override */
	slo_windows w;
	assert_int_equal(slo_spec_windows(s, o, NULL, &w), 0);
	assert_int_equal(w.page_quick.short_ms, 600000);
	assert_int_equal(w.page_quick.long_ms, 7200000);
	assert_float_equal(slo_window_burn_factor(w.period_ms, &w.page_quick), 10, 1e-12);
	/* page slow from the catalog: 5% of 7d (168h) in 6h = 1.4 */
	assert_int_equal(w.page_slow.long_ms, 6 * 3600000);
	assert_float_equal(slo_window_burn_factor(w.period_ms, &w.page_slow), 0.05 * 168 / 6, 1e-12);
	slo_set_free(s);
}

static void test_generate(void **state)
{
	(void)state;
	size_t errors;
	slo_set *s = load(base_spec, &errors);
	assert_int_equal(errors, 0);
	char *out = generate(s);
	/* latency SLI recording at 2h: error = total - good */
	assert_non_null(strstr(out, "record: slo:sli_error:ratio_rate2h\n"));
	assert_non_null(strstr(out, "le=\"0.3\"}[2h]"));
	/* period rule over 7d, time period 7 days */
	assert_non_null(strstr(out, "record: slo:sli_error:ratio_rate1w\n"));
	assert_non_null(strstr(out, "expr: vector(7)\n"));
	/* page alert: factor 10 on the quick pair, 1.4 on the slow one, min events per long window */
	assert_non_null(strstr(out, "max(slo:sli_error:ratio_rate10m{sloth_id=\"api-latency\", sloth_service=\"api\", "
				    "sloth_slo=\"latency\"} > (10 * 0.01)) without (sloth_window)"));
	assert_non_null(strstr(out, "> (1.4000000000000001 * 0.01)) without (sloth_window)"));
	assert_non_null(strstr(out, "          and on()\n          sum(sum(rate(http_request_duration_seconds_count{job=\"api\", "
				    "code!~\"5..\"}[2h]))) * 7200 >= 100\n"));
	assert_non_null(strstr(out, "[6h]))) * 21600 >= 100\n"));
	assert_non_null(strstr(out, "for: 2m\n"));
	assert_non_null(strstr(out, "severity: critical\n"));
	/* ticket disabled */
	assert_null(strstr(out, "sloth_severity: ticket"));
	free(out);
	slo_set_free(s);
}

/* count-shaped totals (increase) need no scaling in the min-events condition */
static void test_min_events_increase(void **state)
{
	(void)state;
	static const char spec[] = "version: prometheus/v1\nservice: svc\nslos:\n  - name: ab\n    objective: 99.9\n"
				   "    sli:\n      events:\n        error_query: sum(increase(err_total[{{.window}}]))\n"
				   "        total_query: sum(increase(req_total[{{.window}}]))\n"
				   "    alerting:\n      name: A\n"
				   "    slod: {min_events: 50}\n";
	size_t errors;
	slo_set *s = load(spec, &errors);
	assert_int_equal(errors, 0);
	char *out = generate(s);
	assert_non_null(strstr(out, "          and on()\n          sum(sum(increase(req_total[1h]))) >= 50\n"));
	assert_non_null(strstr(out, "          and on()\n          sum(sum(increase(req_total[3d]))) >= 50\n"));
	free(out);
	slo_set_free(s);
}

/* `slod: {}` (and only Sloth fields) generates exactly what Sloth does */
static void test_empty_ext_is_sloth(void **state)
{
	(void)state;
	static const char a[] = "version: prometheus/v1\nservice: svc\nslos:\n  - name: ab\n    objective: 99.9\n"
				"    sli:\n      events:\n        error_query: sum(rate(err_total[{{.window}}]))\n"
				"        total_query: sum(rate(req_total[{{.window}}]))\n"
				"    alerting:\n      name: A\n      page_alert:\n        labels: {team: x}\n";
	char b[sizeof a + 32];
	snprintf(b, sizeof b, "%s    slod: {}\n", a);
	size_t e1, e2;
	slo_set *s1 = load(a, &e1), *s2 = load(b, &e2);
	assert_int_equal(e1 + e2, 0);
	char *o1 = generate(s1), *o2 = generate(s2);
	assert_string_equal(o1, o2);
	free(o1);
	free(o2);
	slo_set_free(s1);
	slo_set_free(s2);
}

static void expect_diag(const char *yaml, const char *want)
{
	size_t errors;
	slo_set *s = load(yaml, &errors);
	char *d = diags(s);
	if (!strstr(d, want))
		printf("want: %s\ngot:\n%s", want, d);
	assert_non_null(strstr(d, want));
	free(d);
	slo_set_free(s);
}

static void expect_no_diag(const char *yaml, const char *unwanted)
{
	size_t errors;
	slo_set *s = load(yaml, &errors);
	char *d = diags(s);
	if (strstr(d, unwanted))
		printf("unwanted: %s\ngot:\n%s", unwanted, d);
	assert_null(strstr(d, unwanted));
	free(d);
	slo_set_free(s);
}

#define HEAD "version: prometheus/v1\nservice: svc\nslos:\n  - name: ab\n    objective: 99\n    alerting: {name: A}\n"
#define SLI "    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}\n"

static void test_located_errors(void **state)
{
	(void)state;
	expect_diag(HEAD SLI "    slod: 3\n", "t.yaml:8:11: field \"slod\" must be a map");
	expect_diag(HEAD SLI "    slod:\n      perod: 7d\n", "t.yaml:9:7: warning: unknown field \"perod\" in slod is ignored");
	expect_diag(HEAD SLI "    slod:\n      period: 7x\n", "t.yaml:9:15: slod.period must be a duration like 28d");
	expect_diag(HEAD SLI "    slod:\n      period: 7m\n", "t.yaml:9:15: slod.period must be a whole number of 5m, from 1h to 366d");
	expect_diag(HEAD SLI "    slod:\n      period: {calendar: year}\n", "t.yaml:9:26: calendar must be week, month or quarter");
	expect_diag(HEAD SLI "    slod:\n      period: {calendar: month, timezone: Mars/Olympus}\n",
		    "t.yaml:9:43: unknown timezone \"Mars/Olympus\"");
	expect_diag(HEAD SLI "    slod:\n      period: {calendar: month, timezone: \"+25:00\"}\n",
		    "t.yaml:9:43: timezone \"+25:00\": a fixed offset is written +HH:MM");
	expect_diag(HEAD SLI "    slod:\n      period: {calendar: month, timezone: ../etc/passwd}\n",
		    "t.yaml:9:43: timezone \"../etc/passwd\" is not a time zone name");
	expect_diag(HEAD SLI "    slod:\n      period: {calendar: month}\n",
		    "t.yaml:9:15: warning: calendar month period: PromQL has no calendar windows");
	expect_diag(HEAD SLI "    slod:\n      min_events: 1.5\n", "t.yaml:9:19: min_events must be a whole number >= 1");
	expect_diag(HEAD SLI "    slod:\n      min_events: many\n", "t.yaml:9:19: field \"min_events\" must be a number");
	expect_diag(HEAD "    sli: {raw: {error_ratio_query: 'max(x[{{.window}}])'}}\n    slod:\n      min_events: 10\n",
		    "t.yaml:9:19: min_events needs an events SLI");
	expect_diag(HEAD "    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'max(t)'}}\n"
			 "    slod:\n      min_events: 10\n",
		    "t.yaml:9:19: min_events needs a total query made of rate() or increase()");
	expect_diag(HEAD SLI "    slod:\n      latency: {histogram: h, threshold: 0.1}\n",
		    "t.yaml:9:16: slod.latency is an SLI: remove sli");
	expect_diag(HEAD "    slod:\n      latency: {histogram: h}\n", "t.yaml:8:16: slod.latency needs a threshold");
	expect_no_diag(HEAD "    slod:\n      latency: {histogram: h}\n", "at least one SLI type is required");
	expect_diag(HEAD "    slod:\n      period: 7d\n", "t.yaml:4:5: invalid SLI: at least one SLI type is required");
	expect_diag(HEAD "    slod:\n      latency: {histogram: h, threshold: -1}\n",
		    "t.yaml:8:42: slod.latency threshold must be > 0 seconds");
	expect_diag(HEAD "    slod:\n      latency: {histogram: 'h{a=\"b\"} x', threshold: 1}\n",
		    "t.yaml:8:28: slod.latency histogram must be a metric name or a selector");
	expect_diag(HEAD "    slod:\n      latency: {histogram: 'h{a=~\"(\"}', threshold: 1}\n",
		    "t.yaml:8:31: slod.latency histogram: invalid PromQL");
	expect_diag(HEAD "    slod:\n      latency: {histogram: h, threshold: 1, selector: 'job=\"x\"'}\n",
		    "t.yaml:8:55: slod.latency selector must be label matchers in braces");
	expect_diag(HEAD SLI "    slod:\n      page: {for: soon}\n", "t.yaml:9:19: field \"for\" must be a duration");
	expect_diag(HEAD SLI "    slod:\n      page:\n        quick: {short_window: 5m, factor: 0}\n",
		    "t.yaml:10:43: slod.page.quick.factor must be > 0");
	expect_diag(HEAD SLI "    slod:\n      page:\n        slow: {factor: 2, error_budget_percent: 5}\n",
		    "t.yaml:10:49: slod.page.slow: set factor or error_budget_percent, not both");
	expect_diag(HEAD SLI "    slod:\n      ticket:\n        slow: {short_window: 2d, long_window: 1d}\n",
		    "t.yaml:10:30: warning: slod.ticket.slow: short_window is longer than long_window");
	/* a 99% objective: a factor of 200 needs an error ratio of 200%: never fires (warning) */
	expect_diag(HEAD SLI "    slod:\n      page:\n        quick: {factor: 200}\n",
		    "warning: page alert quick window can never fire: a 200x burn rate");
	/* CRD: camelCase */
	expect_diag("apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x}\nspec:\n"
		    "  service: svc\n  slos:\n  - name: ab\n    objective: 99\n    alerting: {name: A}\n"
		    "    sli: {events: {errorQuery: 'sum(rate(e[{{.window}}]))', totalQuery: 'sum(rate(t[{{.window}}]))'}}\n"
		    "    slod:\n      min_events: 3\n",
		    "t.yaml:12:7: warning: unknown field \"min_events\" in slod is ignored; did you mean \"minEvents\"?");
}

static void test_calendar_start(void **state)
{
	(void)state;
	slo_tz utc = {0}, plus2 = {.name = "+02:00", .fixed_s = 7200};
	int64_t t = 1710504000000LL; /* 2024-03-15T12:00:00Z, a Friday */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, &utc, t), 1709251200000LL);   /* 2024-03-01Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_WEEK, &utc, t), 1710115200000LL);    /* Mon 2024-03-11Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_QUARTER, &utc, t), 1704067200000LL); /* 2024-01-01Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_QUARTER, &utc, 1716163200000LL), 1711929600000LL); /* 05-20 -> 04-01 */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, &utc, 1709251200000LL), 1709251200000LL); /* at the start */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, NULL, 1709251199999LL), 1706745600000LL); /* Feb 1 */
	/* 2024-03-31T23:30Z is April 1st 01:30 at +02:00: the month began 2024-03-31T22:00Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, &plus2, 1711927800000LL), 1711922400000LL);
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_NONE, &plus2, 5), 5);
	assert_int_equal(slo_calendar_max_ms(SLO_CAL_QUARTER), 92LL * 86400000);
}

/* IANA zones through the loader (system zoneinfo): DST changes the offset of the period start. */
static void test_calendar_iana(void **state)
{
	(void)state;
	FILE *f = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
	if (!f) {
		skip();
		return;
	}
	fclose(f);
	size_t errors;
	slo_set *s = load(HEAD SLI "    slod:\n      period: {calendar: month, timezone: Europe/Paris}\n", &errors);
	assert_int_equal(errors, 0);
	const slo_group *g;
	slo_set_groups(s, &g);
	const slo_spec *o = &g[0].slos[0];
	assert_int_equal(o->calendar, SLO_CAL_MONTH);
	assert_int_equal(o->period_ms, 30LL * 86400000);
	assert_true(o->tz.n > 100);
	/* 2024-04-15T12:00Z: April began at 00:00 CEST (+2) = 2024-03-31T22:00Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, &o->tz, 1713182400000LL), 1711922400000LL);
	/* 2024-03-15T12:00Z: March began at 00:00 CET (+1) = 2024-02-29T23:00Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_MONTH, &o->tz, 1710504000000LL), 1709247600000LL);
	/* 2024-11-05T00:00Z, week: Monday 2024-11-04 00:00 CET = 2024-11-03T23:00Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_WEEK, &o->tz, 1730764800000LL), 1730674800000LL);
	/* quarter: 2024-12-31Z -> 2024-10-01 00:00 CEST = 2024-09-30T22:00Z */
	assert_int_equal(slo_calendar_start_ms(SLO_CAL_QUARTER, &o->tz, 1735603200000LL), 1727733600000LL);
	slo_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_min_events_increase),
		cmocka_unit_test(test_empty_ext_is_sloth),
		cmocka_unit_test(test_located_errors),
		cmocka_unit_test(test_calendar_start),
		cmocka_unit_test(test_calendar_iana),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
