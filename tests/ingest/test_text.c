/*
 * test_text.c — ingest.text: the Prometheus text exposition format into an in-memory tsdb, read
 * back through the querier. Covers every syntax feature and every error (with its line:column).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_test_util.h"

#define NOW 1700000000000LL
#define DEF_TS (NOW - 5000)

typedef struct fx {
	tsdb *db;
	ingest_ctx *cx;
	int64_t now;
	slod_clock clock;
	ingest_result res;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	f->db = itest_open(0, 0);
	f->now = NOW;
	f->clock = slod_clock_manual(&f->now);
	f->cx = ingest_ctx_new(f->db, NULL, &f->clock);
	assert_non_null(f->cx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	ingest_ctx_free(f->cx);
	tsdb_close(f->db);
	free(f);
	return 0;
}

static ingest_outcome run(fx *f, const char *body)
{
	return ingest_ctx_text(f->cx, body, strlen(body), DEF_TS, &f->res);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void test_full_syntax(void **state)
{
	fx *f = *state;
	const char *body =
		"# HELP http_requests_total The total number of HTTP requests.\n"
		"# TYPE http_requests_total counter\n"
		"http_requests_total{method=\"post\",code=\"200\"} 1027 1699999990000\n"
		"http_requests_total{method=\"post\",code=\"400\"}    3 1699999990000\n"
		"\n"
		"# A normal comment.\n"
		"#\n"
		"# HELP escaped_help Backslash \\\\ and newline \\n in help.\n"
		"# TYPE msdos_file_access_time_seconds gauge\n"
		"msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
		"metric_without_timestamp_and_labels 12.47\n"
		"something_weird{problem=\"division by zero\"} +Inf -3982045\n"
		"neg_inf -Inf\n"
		"not_a_number NaN\n"
		"trailing_comma{a=\"1\",b=\"2\",} 5\n"
		"  spaced_out { a = \"x\" , b=\"y\" }\t 6  \t 1699999991000 \n"
		"empty_braces{} 7\n"
		"job:rate5m:sum 8\n"
		"hex_value 0x1p-2\n"
		"utf8_value{city=\"Zürich ✓\"} 9\n"
		"crlf_line 10\r\n"
		"# TYPE rpc_duration_seconds summary\n"
		"rpc_duration_seconds{quantile=\"0.99\"} 76656\n"
		"rpc_duration_seconds_sum 1.7560473e+07\n"
		"last_line_without_newline 11";
	assert_int_equal(run(f, body), INGEST_OK);
	assert_string_equal(f->res.message, "");
	assert_int_equal(f->res.samples, 17);
	assert_int_equal(f->res.samples_stored, 17);

	tsdb_sample s[2];
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "http_requests_total", "method", "post", "code", "400",
				       NULL), 1);
	assert_int_equal(s[0].t, 1699999990000LL);
	assert_true(s[0].v == 3);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "msdos_file_access_time_seconds", "path",
				       "C:\\DIR\\FILE.TXT", "error", "Cannot find file:\n\"FILE.TXT\"", NULL), 1);
	assert_true(s[0].v == 1.458255915e9);
	assert_int_equal(s[0].t, DEF_TS);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "metric_without_timestamp_and_labels", NULL), 1);
	assert_true(s[0].v == 12.47);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "something_weird", "problem", "division by zero",
				       NULL), 1);
	assert_true(isinf(s[0].v) && s[0].v > 0);
	assert_int_equal(s[0].t, -3982045);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "neg_inf", NULL), 1);
	assert_true(isinf(s[0].v) && s[0].v < 0);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "not_a_number", NULL), 1);
	assert_true(itest_bits(s[0].v) == 0x7ff8000000000001ULL); /* Go's math.NaN(), as Prometheus */
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "trailing_comma", "a", "1", "b", "2", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "spaced_out", "a", "x", "b", "y", NULL), 1);
	assert_true(s[0].v == 6);
	assert_int_equal(s[0].t, 1699999991000LL);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "empty_braces", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "job:rate5m:sum", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "hex_value", NULL), 1);
	assert_true(s[0].v == 0.25);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "utf8_value", "city", "Zürich ✓", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "crlf_line", NULL), 1);
	assert_true(s[0].v == 10);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "rpc_duration_seconds_sum", NULL), 1);
	assert_true(s[0].v == 1.7560473e+07);
	assert_int_equal(itest_samples(f->db, s, 2, "__name__", "last_line_without_newline", NULL), 1);
	assert_true(s[0].v == 11);
}

static void test_value_forms(void **state)
{
	fx *f = *state;
	static const struct {
		const char *text;
		double want;
	} cases[] = {
		{"1", 1}, {"-1.5", -1.5}, {"+2", 2}, {"1e3", 1000}, {"1E-3", 0.001}, {".5", 0.5}, {"5.", 5},
		{"inf", INFINITY}, {"+Inf", INFINITY}, {"-inf", -INFINITY}, {"Infinity", INFINITY},
		{"0x10", 16}, {"1.7976931348623157e308", 1.7976931348623157e308},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[128];
		snprintf(body, sizeof body, "vf{i=\"%zu\"} %s 1000", i, cases[i].text);
		if (run(f, body) != INGEST_OK)
			fail_msg("%s: %s", cases[i].text, f->res.message);
		char iv[16];
		snprintf(iv, sizeof iv, "%zu", i);
		tsdb_sample s[1];
		assert_int_equal(itest_samples(f->db, s, 1, "__name__", "vf", "i", iv, NULL), 1);
		assert_true(s[0].v == cases[i].want);
	}
}

static void test_syntax_errors_with_position(void **state)
{
	fx *f = *state;
	static const struct {
		const char *body, *want;
	} cases[] = {
		{"ok 1\n{a=\"b\"} 1\n", "line 2:1: expected metric name"},
		{"m{a=\"b\" 1\n", "line 1:9: expected ',' or '}'"},
		{"m{a=\"b\",=\"c\"} 1\n", "line 1:9: expected label name or '}'"},
		{"m{a \"b\"} 1\n", "line 1:5: expected '=' after label name"},
		{"m{a=b} 1\n", "line 1:5: expected '\"' to start the label value"},
		{"m{a=\"b} 1\n", "line 1:10: unterminated label value"},
		{"m{a=\"b\\tc\"} 1\n", "line 1:8: invalid escape sequence"},
		{"m\n", "line 1:2: expected a value"},
		{"m{a=\"b\"}\n", "line 1:9: expected a value"},
		{"m{a=\"b\"}1\n", "line 1:9: expected whitespace before the value"},
		{"m abc\n", "line 1:3: invalid value \"abc\""},
		{"m nan(0x1)\n", "line 1:3: invalid value"},
		{"m -NaN\n", "line 1:3: invalid value"},
		{"m 1 12.5\n", "line 1:5: invalid timestamp \"12.5\""},
		{"m 1 99999999999999999999\n", "line 1:5: invalid timestamp"},
		{"m 1 2 3\n", "line 1:7: unexpected text after the timestamp"},
		{"# TYPE m countr\n", "line 1:10: invalid metric type \"countr\""},
		{"# TYPE m\n", "line 1:9: expected whitespace and a type"},
		{"# TYPE m gauge extra\n", "line 1:16: unexpected text after the type"},
		{"# HELP\n", "line 1:7: expected metric name after # HELP"},
		{"# HELP 0m text\n", "line 1:8: expected metric name after # HELP"},
		{"# HELP m bad \\q escape\n", "line 1:15: invalid escape sequence in # HELP"},
		{"ok 1\nok2 2\n\nm 1 2\rx\n", "line 4:5: invalid timestamp"},
		{"m{a=\"line\nbreak\"} 1\n", "line 1:10: unterminated label value"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ingest_outcome o = run(f, cases[i].body);
		if (o != INGEST_BAD_REQUEST || !strstr(f->res.message, cases[i].want))
			fail_msg("case %zu: got %s \"%s\", want \"%s\"", i, ingest_outcome_name(o), f->res.message,
				 cases[i].want);
		assert_int_equal(f->res.samples_stored, 0);
	}
	/* a syntax error anywhere stores nothing, not even the lines before it */
	assert_int_equal(itest_count_series(f->db, "ok"), 0);
	/* NUL byte inside a label value */
	static const char nul[] = "m{a=\"x\0y\"} 1\n";
	assert_int_equal(ingest_ctx_text(f->cx, nul, sizeof nul - 1, DEF_TS, &f->res), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "line 1:7: NUL byte in label value");
}

static void test_semantic_rejects_keep_good_lines(void **state)
{
	fx *f = *state;
	const char *body = "good_a 1\n"
			   "dup{job=\"x\",job=\"y\"} 2\n"
			   "good_b{bad_utf8=\"ok\"} 3\n"
			   "dup2{__name__=\"other\"} 4\n"
			   "utf{v=\"\xff\"} 5\n"
			   "empty_value{a=\"\",b=\"1\"} 6\n";
	assert_int_equal(run(f, body), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 3);
	assert_int_equal(f->res.samples_stored, 3);
	assert_contains(f->res.message, "rejected 3 of 6 series: duplicate label name \"job\"");
	assert_true(slod_utf8_valid(f->res.message, strlen(f->res.message)));
	tsdb_sample s[1];
	assert_int_equal(itest_samples(f->db, s, 1, "__name__", "good_a", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 1, "__name__", "good_b", "bad_utf8", "ok", NULL), 1);
	assert_int_equal(itest_samples(f->db, s, 1, "__name__", "empty_value", "b", "1", NULL), 1);
	assert_int_equal(itest_count_series(f->db, "dup"), 0);
	assert_int_equal(itest_count_series(f->db, "utf"), 0);
}

static void test_out_of_order_and_duplicates(void **state)
{
	fx *f = *state;
	assert_int_equal(run(f, "m 1 1699999990000\n"), INGEST_OK);
	assert_int_equal(run(f, "m 1 1699999990000\nm 2 1699999980000\nm 3 1699999995000\n"), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.duplicates_dropped, 1);
	assert_int_equal(f->res.out_of_order, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "1 samples out of order");
	tsdb_sample s[4];
	assert_int_equal(itest_samples(f->db, s, 4, "__name__", "m", NULL), 2);
	/* more than max_future_ms ahead */
	assert_int_equal(run(f, "fut 1 1700003600000\n"), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.too_far_future, 1);
}

static void test_limits(void **state)
{
	fx *f = *state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_series = 2;
	lim.max_body_bytes = 100;
	lim.max_labels_per_series = 3;
	lim.max_label_value_len = 4;
	lim.max_label_name_len = 5;
	ingest_ctx *cx = ingest_ctx_new(f->db, &lim, &f->clock);
	const char *three = "a 1\nb 2\nc 3\n";
	assert_int_equal(ingest_ctx_text(cx, three, strlen(three), DEF_TS, &f->res), INGEST_TOO_LARGE);
	assert_contains(f->res.message, "line 3: more than 2 samples");
	char big[200];
	memset(big, '#', sizeof big);
	assert_int_equal(ingest_ctx_text(cx, big, sizeof big, DEF_TS, &f->res), INGEST_TOO_LARGE);
	assert_contains(f->res.message, "exceeds the limit of 100");
	const char *labels = "x{a=\"1\",b=\"2\",c=\"3\"} 1\ny{a=\"12345\"} 1\n";
	assert_int_equal(ingest_ctx_text(cx, labels, strlen(labels), DEF_TS, &f->res), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 2);
	assert_contains(f->res.message, "line 1: too many labels (limit 3)");
	const char *names = "z{abcdef=\"1\"} 1\nok{abcde=\"1234\"} 1\n";
	assert_int_equal(ingest_ctx_text(cx, names, strlen(names), DEF_TS, &f->res), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "label name longer than 5 bytes");
	ingest_ctx_free(cx);

	/* decode arena cap */
	lim.max_body_bytes = 1 << 20;
	lim.max_series = 1000000;
	lim.max_label_value_len = 1 << 16;
	lim.max_decode_bytes = 4096;
	cx = ingest_ctx_new(f->db, &lim, &f->clock);
	buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "arena_metric{i=\"%d\"} %d\n", i, i);
	assert_int_equal(ingest_ctx_text(cx, b.data, b.len, DEF_TS, &f->res), INGEST_TOO_LARGE);
	assert_contains(f->res.message, "max_decode_bytes");
	assert_int_equal(itest_count_series(f->db, "arena_metric"), 0);
	buf_deinit(&b);
	ingest_ctx_free(cx);
}

static void test_empty_and_comment_only(void **state)
{
	fx *f = *state;
	assert_int_equal(run(f, ""), INGEST_OK);
	assert_int_equal(run(f, "\n\n   \n# just a comment\n#HELPER is a plain comment\n"), INGEST_OK);
	assert_int_equal(f->res.samples, 0);
}

static void test_one_shot_wrapper(void **state)
{
	fx *f = *state;
	slod_clock sys = slod_clock_system();
	int64_t t = slod_clock_now(&sys);
	ingest_result res;
	const char *body = "oneshot{x=\"1\"} 42\n";
	assert_int_equal(ingest_text(f->db, NULL, body, strlen(body), t, &res), INGEST_OK);
	assert_int_equal(res.samples_stored, 1);
	tsdb_sample s[1];
	assert_int_equal(itest_samples(f->db, s, 1, "__name__", "oneshot", "x", "1", NULL), 1);
	assert_int_equal(s[0].t, t);
	assert_true(s[0].v == 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors_with_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semantic_rejects_keep_good_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_comment_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_shot_wrapper, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
