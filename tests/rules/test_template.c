/* Tests for rules/template.c: the Go text/template subset used in alert annotations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rules/rules.h"

static slod_label L[] = {{"instance", "web-1"}, {"job", "api"}, {"service", "checkout"}};
static slod_labels LS = {L, 3};
static slod_label X[] = {{"cluster", "eu1"}};
static slod_labels XS = {X, 1};

static void expect(const char *tmpl, double v, const char *want, int want_rc)
{
	buf b;
	buf_init(&b, 0);
	int rc = rules_template_expand(tmpl, &LS, v, &XS, &b);
	assert_int_equal(rc, want_rc);
	assert_string_equal(b.data ? b.data : "", want);
	buf_deinit(&b);
}

static void test_variables(void **state)
{
	(void)state;
	expect("plain text", 1, "plain text", 0);
	expect("{{ $labels.service }} is burning", 1, "checkout is burning", 0);
	expect("{{$labels.job}}/{{ .Labels.instance }}", 1, "api/web-1", 0);
	expect("value={{ $value }}", 0.25, "value=0.25", 0);
	expect("value={{ .Value }}", 1e6, "value=1e+06", 0);
	expect("{{ $externalLabels.cluster }}", 0, "eu1", 0);
	expect("missing=[{{ $labels.nope }}]", 0, "missing=[]", 0);
}

static void test_functions(void **state)
{
	(void)state;
	expect("{{ $value | humanize }}", 1234567, "1.235M", 0);
	expect("{{ $value | humanize }}", 0.0012, "1.2m", 0);
	expect("{{ humanize $value }}", 0, "0", 0);
	expect("{{ $value | humanizePercentage }}", 0.0512, "5.12%", 0);
	expect("{{ $value | humanizeDuration }}", 93784, "1d 2h 3m 4s", 0);
	expect("{{ $value | humanizeDuration }}", 0.25, "250ms", 0);
	expect("{{ $value | humanize1024 }}", 2048, "2ki", 0);
	expect("{{ printf \"%.2f\" $value }}", 3.14159, "3.14", 0);
	expect("{{ $value | printf \"%.1f%%\" }}", 99.94, "99.9%", 0);
	expect("{{ $labels.service | toUpper }}", 0, "CHECKOUT", 0);
	expect("{{ \"a b\" | title }}", 0, "A B", 0);
}

static void test_trim_and_errors(void **state)
{
	(void)state;
	expect("a  {{- $labels.job -}}  b", 0, "aapib", 0);
	expect("x {{ $labels.job", 0, "<error expanding template: unclosed action>", -1);
	expect("{{ nosuchfunc $value }}", 0, "<error expanding template: function \"nosuchfunc\" not defined>", -1);
	expect("{{ $labels }}", 0, "<error expanding template: expected .NAME after labels>", -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_trim_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
