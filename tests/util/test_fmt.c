/* Tests for util/fmt.c: Go-compatible float formatting, durations, times. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/fmt.h"
#include "util/labels.h"

#include <xxhash.h>

static void check_float(double v, char mode, const char *want)
{
	char out[FMT_FLOAT_MAX];
	fmt_float_go(out, v, mode);
	assert_string_equal(out, want);
}

/* The shortest digits found by search equal a linear scan over every precision (the definition)
 * on random doubles of every magnitude and on short decimals. */
static void test_float_shortest_vs_linear(void **state)
{
	(void)state;
	static const double edge[] = {2.2250738585072014e-308, 2.2250738585072009e-308, 4.9406564584124654e-324,
				      1.7976931348623157e308, 0.1, 1.0 / 3, 2.0 / 3 * 1e300, 9.999999999999999e22,
				      1e23, 5e-310, 123456789012345.0, 1234567890123456.0, 0.30000000000000004};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 200000 + (int)(sizeof edge / sizeof edge[0]); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double v;
		if (i >= 200000) {
			v = edge[i - 200000];
		} else if (i % 3 == 0) {
			memcpy(&v, &x, sizeof v);
			if (isnan(v) || isinf(v))
				continue;
		} else {
			v = (double)(x % 100000) / (i % 3 == 1 ? 1000.0 : 7.0);
		}
		char tmp[40], want[40], got[FMT_FLOAT_MAX];
		int p;
		for (p = 1; p <= 17; p++) {
			snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
			if (p == 17 || strtod(tmp, NULL) == v)
				break;
		}
		/* the same number formatted by fmt_float_go 'e' must read back as v with p digits */
		fmt_float_go(got, v, 'e');
		assert_true(strtod(got, NULL) == v || v == 0);
		size_t nd = 0;
		for (const char *c = got; *c && *c != 'e'; c++)
			nd += *c >= '0' && *c <= '9';
		/* p digits minus the trailing zeros the formatter strips */
		snprintf(want, sizeof want, "%.*e", p - 1, v);
		size_t wd = 0, wz = 0;
		for (const char *c = want; *c && *c != 'e'; c++)
			if (*c >= '0' && *c <= '9') {
				wd++;
				wz = *c == '0' ? wz + 1 : 0;
			}
		if (v != 0 && nd != (wd - wz > 0 ? wd - wz : 1))
			fail_msg("%.17g: %s has %zu digits, linear search %s", v, got, nd, want);
	}
}

static void test_float_go(void **state)
{
	(void)state;
	check_float(0, 'f', "0");
	check_float(-0.0, 'f', "-0");
	check_float(1, 'f', "1");
	check_float(0.1, 'f', "0.1");
	check_float(1.5, 'f', "1.5");
	check_float(100, 'f', "100");
	check_float(1e21, 'f', "1000000000000000000000");
	check_float(0.001, 'f', "0.001");
	check_float(1.0 / 3, 'f', "0.3333333333333333");
	check_float(NAN, 'f', "NaN");
	check_float(INFINITY, 'f', "+Inf");
	check_float(-INFINITY, 'f', "-Inf");
	check_float(1e-7, 'e', "1e-07");
	check_float(1.5e300, 'e', "1.5e+300");
	check_float(1000000, 'g', "1e+06");
	check_float(123456, 'g', "123456");
	check_float(0.0001, 'g', "0.0001");
	check_float(0.00001, 'g', "1e-05");
	check_float(0.999, 'g', "0.999");
}

static void test_float_prom(void **state)
{
	(void)state;
	char out[FMT_FLOAT_MAX];
	fmt_float_prom(out, 1e-7);
	assert_string_equal(out, "1e-07");
	fmt_float_prom(out, 2e21);
	assert_string_equal(out, "2e+21");
	fmt_float_prom(out, 12345.678);
	assert_string_equal(out, "12345.678");
	fmt_float_prom(out, 0);
	assert_string_equal(out, "0");
}

static void test_duration(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(slod_parse_duration_ms("1h30m", 5, &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(slod_parse_duration_ms("5m", 2, &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(slod_parse_duration_ms("30d", 3, &ms), 0);
	assert_int_equal(ms, 30LL * 86400000);
	assert_int_equal(slod_parse_duration_ms("100ms", 5, &ms), 0);
	assert_int_equal(ms, 100);
	assert_int_equal(slod_parse_duration_ms("1m1h", 4, &ms), -1);
	assert_int_equal(slod_parse_duration_ms("1.5h", 4, &ms), -1);
	assert_int_equal(slod_parse_duration_ms("", 0, &ms), -1);
	assert_int_equal(slod_parse_duration_ms("5", 1, &ms), -1);
	/* API durations: float seconds or a duration, at most Go's time.Duration range (~292y) */
	assert_int_equal(parse_api_duration_ms("1.5", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(parse_api_duration_ms("15s", &ms), 0);
	assert_int_equal(ms, 15000);
	assert_int_equal(parse_api_duration_ms("9223372036", &ms), 0);
	assert_int_equal(parse_api_duration_ms("9e15", &ms), -1);
	assert_int_equal(parse_api_duration_ms("292y", &ms), 0);
	assert_int_equal(parse_api_duration_ms("293y", &ms), -1);
	assert_int_equal(parse_api_duration_ms("NaN", &ms), -1);
	char out[64];
	fmt_duration_ms(out, sizeof out, 30LL * 86400000);
	assert_string_equal(out, "30d");
	fmt_duration_ms(out, sizeof out, 14LL * 86400000);
	assert_string_equal(out, "2w");
	fmt_duration_ms(out, sizeof out, 365LL * 86400000 + 3600000);
	assert_string_equal(out, "365d1h");
	fmt_duration_ms(out, sizeof out, 5400000);
	assert_string_equal(out, "1h30m");
}

static void test_time(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(slod_parse_time_ms("1700000000.5", &ms), 0);
	assert_int_equal(ms, 1700000000500LL);
	assert_int_equal(slod_parse_time_ms("2023-11-14T22:13:20Z", &ms), 0);
	assert_int_equal(ms, 1700000000000LL);
	assert_int_equal(slod_parse_time_ms("2023-11-14T23:13:20.250+01:00", &ms), 0);
	assert_int_equal(ms, 1700000000250LL);
	assert_int_equal(slod_parse_time_ms("yesterday", &ms), -1);
	char out[64];
	fmt_rfc3339_ms(out, sizeof out, 1700000000250LL);
	assert_string_equal(out, "2023-11-14T22:13:20.250Z");
}

static void test_labels(void **state)
{
	(void)state;
	slod_label v[] = {{"job", "a"}, {"__name__", "up"}, {"instance", "x\"y"}};
	slod_labels ls = {v, 3};
	labels_sort(&ls);
	assert_string_equal(ls.v[0].name, "__name__");
	assert_int_equal(labels_find_duplicate(&ls), -1);
	buf b;
	buf_init(&b, 0);
	labels_format_metric(&ls, &b);
	assert_string_equal(b.data, "up{instance=\"x\\\"y\", job=\"a\"}");
	buf_deinit(&b);
	slod_label w[] = {{"__name__", "up"}, {"instance", "x\"y"}, {"job", "a"}};
	slod_labels ws = {w, 3};
	assert_true(labels_equal(&ls, &ws));
	assert_int_equal(labels_hash(&ls), labels_hash(&ws));
	/* a label set too large for the one-shot buffer hashes like the concatenation */
	static char big[3000];
	memset(big, 'v', sizeof big - 1);
	slod_label bl[] = {{"a", big}, {"b", "c"}};
	slod_labels bls = {bl, 2};
	slod_label sl[] = {{"a", "v"}, {"b", "c"}};
	slod_labels sls = {sl, 2};
	/* both paths hash the canonical bytes name 0xff value 0xff ... */
	static unsigned char canon[3100];
	size_t k = 0;
	canon[k++] = 'a', canon[k++] = 0xff;
	memcpy(canon + k, big, strlen(big)), k += strlen(big);
	canon[k++] = 0xff, canon[k++] = 'b', canon[k++] = 0xff, canon[k++] = 'c', canon[k++] = 0xff;
	assert_int_equal(labels_hash(&bls), XXH3_64bits(canon, k));
	assert_int_equal(labels_hash(&sls), XXH3_64bits("a\xff" "v\xff" "b\xff" "c\xff", 8));
	assert_true(labels_valid_name("a_b1", 4));
	assert_false(labels_valid_name("1a", 2));
	assert_true(slod_utf8_valid("h\xc3\xa9", 3));
	assert_false(slod_utf8_valid("\xc3", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_float_go),
		cmocka_unit_test(test_float_shortest_vs_linear),  cmocka_unit_test(test_float_prom), cmocka_unit_test(test_duration),
		cmocka_unit_test(test_time),      cmocka_unit_test(test_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
