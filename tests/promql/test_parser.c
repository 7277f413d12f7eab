/*
 * test_parser.c — promql.parser: the PromQL parser, type checks, printer, selector parser and
 * regex matching.
 *
 * Tables: valid queries with the canonical text Prometheus 3.x prints for them; invalid queries
 * with the exact error text (parser_errors.inc: Prometheus's own expectations, plus our own
 * below); every query of Prometheus's core promqltest files (must parse unless marked to fail,
 * and must round-trip through the printer).
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "promql/promql.h"
#include "promql/regex.h"

/* Parses q and returns its canonical text (static buffer) or "ERR <error text>". */
static const char *fmt_query(const char *q)
{
	static char out[8192];
	promql_expr *e = NULL;
	promql_error err;
	int rc = promql_parse(q, strlen(q), NULL, &e, &err);
	if (rc != 0) {
		snprintf(out, sizeof out, "ERR %s", err.text);
		assert_null(e);
		return out;
	}
	buf b;
	buf_init(&b, 0);
	assert_int_equal(promql_format(e->root, &b), 0);
	snprintf(out, sizeof out, "%s", b.data);
	buf_deinit(&b);
	promql_expr_free(e);
	return out;
}

static promql_expr *must_parse(const char *q)
{
	promql_expr *e = NULL;
	promql_error err;
	int rc = promql_parse(q, strlen(q), NULL, &e, &err);
	if (rc != 0)
		fail_msg("parse of %s failed: %s", q, err.text);
	return e;
}

static const struct {
	const char *in, *out;
} valid[] = {
	/* literals */
	{"1", "1"},
	{"+1", "1"},
	{"-1", "-1"},
	{"--1", "1"},
	{".5", "0.5"},
	{"5.", "5"},
	{"1e3", "1000"},
	{"1E-3", "0.001"},
	{"12.34e6", "12340000"},
	{"0x1F", "31"},
	{"0X_1f", "31"},
	{"010", "8"},
	{"08", "8"},
	{"1_000", "1000"},
	{"Inf", "+Inf"},
	{"-inf", "-Inf"},
	{"NaN", "NaN"},
	{"nan", "NaN"},
	{"5m", "5m"},
	{"-1h30m", "-1h30m"},
	{"90s", "1m30s"},
	{"1y2w", "379d"}, /* model.Duration prints y and w only when exact */
	{"'a\\'b'", "\"a'b\""},
	{"\"a\\\"b\\n\\t\\x41\\u00e9\"", "\"a\\\"b\\n\\tAé\""},
	{"`raw\\n`", "\"raw\\\\n\""},
	{"\"\\101\"", "\"A\""},
	/* selectors */
	{"foo", "foo"},
	{"foo:bar:baz", "foo:bar:baz"},
	{":foo", ":foo"},
	{"foo{}", "foo"},
	{"foo{a=\"b\"}", "foo{a=\"b\"}"},
	{"foo{b=\"1\", a=\"2\",}", "foo{a=\"2\",b=\"1\"}"},
	{"foo{a!=\"b\",c=~\"d.*\",e!~'f'}", "foo{a!=\"b\",c=~\"d.*\",e!~\"f\"}"},
	{"{__name__=\"foo\"}", "{__name__=\"foo\"}"},
	{"{__name__=~\"a.*\"}", "{__name__=~\"a.*\"}"},
	{"{\"foo.bar\"}", "{__name__=\"foo.bar\"}"},
	{"{\"foo.bar\", job=\"x\"}", "{__name__=\"foo.bar\",job=\"x\"}"},
	{"foo{\"a.b\"=\"c\"}", "foo{\"a.b\"=\"c\"}"},
	{"sum{by=\"x\"}", "sum{by=\"x\"}"},
	{"by", "by"},
	{"offset", "offset"},
	{"and{a=\"b\"}", "and{a=\"b\"}"},
	{"foo # comment\n", "foo"},
	{"foo{# c\na=\"b\"}", "foo{a=\"b\"}"},
	{"foo offset 5m", "foo offset 5m"},
	{"foo offset -5m", "foo offset -5m"},
	{"foo offset 5", "foo offset 5s"},
	{"foo OFFSET 1h30m", "foo offset 1h30m"},
	{"foo offset 0s", "foo"},
	{"foo @ 1609746000", "foo @ 1609746000.000"},
	{"foo @ -100.5", "foo @ -100.500"},
	{"foo @ start()", "foo @ start()"},
	{"foo @ end() offset 1m", "foo @ end() offset 1m"},
	{"foo offset 1m @ 10", "foo @ 10.000 offset 1m"},
	{"foo @ 1m", "foo @ 60.000"},
	{"foo[5m]", "foo[5m]"},
	{"foo[300]", "foo[5m]"},
	{"foo[1.5]", "foo[1s500ms]"},
	{"foo[ 5m ]", "foo[5m]"},
	{"foo[5m] offset 1m @ 100", "foo[5m] @ 100.000 offset 1m"},
	{"foo{a=\"b\"}[1h] @ start()", "foo{a=\"b\"}[1h] @ start()"},
	/* subqueries */
	{"foo[5m:]", "foo[5m:]"},
	{"foo[5m:1m]", "foo[5m:1m]"},
	{"rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]"},
	{"(foo)[5m:] offset 1m", "(foo)[5m:] offset 1m"},
	{"foo[5m:1m] @ 100 offset 5m", "foo[5m:1m] @ 100.000 offset 5m"},
	{"max_over_time(rate(foo[1m])[5m:] @ end())", "max_over_time(rate(foo[1m])[5m:] @ end())"},
	{"foo[10:5]", "foo[10s:5s]"},
	/* operators and precedence */
	{"1 + 2 * 3", "1 + 2 * 3"},
	{"(1 + 2) * 3", "(1 + 2) * 3"},
	{"2 ^ 3 ^ 2", "2 ^ 3 ^ 2"},
	{"-2 ^ 2", "-2 ^ 2"},
	{"a+b", "a + b"},
	{"a - -b", "a - -b"},
	{"-a", "-a"},
	{"+a", "+a"},
	{"a atan2 b", "a atan2 b"},
	{"a % b", "a % b"},
	{"1 > bool 2", "1 > bool 2"},
	{"a == bool 1", "a == bool 1"},
	{"a > 1", "a > 1"},
	{"a and b or c unless d", "a and b or c unless d"},
	{"a AND b", "a and b"},
	{"a / on(x, y) b", "a / on (x, y) b"},
	{"a / ignoring(x) b", "a / ignoring (x) b"},
	{"a / on() b", "a / on () b"},
	{"a * on(x) group_left(y, z) b", "a * on (x) group_left (y, z) b"},
	{"a * ignoring(x) group_right b", "a * ignoring (x) group_right () b"},
	{"a + on(x) group_left b", "a + on (x) group_left () b"},
	{"a > bool on(x) b", "a > bool on (x) b"},
	{"a and on(x) b", "a and on (x) b"},
	{"a or ignoring(x) b", "a or ignoring (x) b"},
	{"a * on(sum, by, offset, bool) b", "a * on (sum, by, offset, bool) b"},
	{"a * on(\"x.y\") b", "a * on (\"x.y\") b"},
	{"1 + -(2)", "1 + -(2)"},
	{"a offset 5m + 1", "a offset 5m + 1"},
	{"time() - 5m", "time() - 5m"},
	/* aggregations */
	{"sum(foo)", "sum(foo)"},
	{"sum by (a, b) (foo)", "sum by (a, b) (foo)"},
	{"sum(foo) by (a)", "sum by (a) (foo)"},
	{"sum without (a) (foo)", "sum without (a) (foo)"},
	{"sum(foo) without ()", "sum without () (foo)"},
	{"sum by () (foo)", "sum(foo)"},
	{"SUM BY (group) (foo)", "sum by (group) (foo)"},
	{"avg(foo)", "avg(foo)"},
	{"count(foo)", "count(foo)"},
	{"min(foo)", "min(foo)"},
	{"max(foo)", "max(foo)"},
	{"group(foo)", "group(foo)"},
	{"stddev(foo)", "stddev(foo)"},
	{"stdvar(foo)", "stdvar(foo)"},
	{"topk(5, foo)", "topk(5, foo)"},
	{"bottomk by (a) (2, foo)", "bottomk by (a) (2, foo)"},
	{"quantile(0.9, foo)", "quantile(0.9, foo)"},
	{"count_values(\"v\", foo)", "count_values(\"v\", foo)"},
	{"limitk(1, foo)", "limitk(1, foo)"},
	{"limit_ratio(0.5, foo)", "limit_ratio(0.5, foo)"},
	{"sum by (\"foo.bar\", a) (x)", "sum by (\"foo.bar\", a) (x)"},
	{"sum by (a,) (x)", "sum by (a) (x)"},
	{"topk(scalar(bar), foo)", "topk(scalar(bar), foo)"},
	/* functions */
	{"rate(foo[5m])", "rate(foo[5m])"},
	{"histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
	 "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))"},
	{"label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")"},
	{"label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")", "label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")"},
	{"round(foo)", "round(foo)"},
	{"round(foo, 0.5)", "round(foo, 0.5)"},
	{"time()", "time()"},
	{"pi()", "pi()"},
	{"vector(1)", "vector(1)"},
	{"scalar(foo)", "scalar(foo)"},
	{"hour()", "hour()"},
	{"day_of_week(foo)", "day_of_week(foo)"},
	{"clamp(foo, 0, 1)", "clamp(foo, 0, 1)"},
	{"predict_linear(foo[1h], 3600)", "predict_linear(foo[1h], 3600)"},
	{"quantile_over_time(0.5, foo[5m])", "quantile_over_time(0.5, foo[5m])"},
	{"absent_over_time(foo[5m])", "absent_over_time(foo[5m])"},
	{"sort_by_label(foo, \"a\", \"b\")", "sort_by_label(foo, \"a\", \"b\")"},
	{"double_exponential_smoothing(foo[5m], 0.5, 0.5)", "double_exponential_smoothing(foo[5m], 0.5, 0.5)"},
	{"start() + end() - range() * step()", "start() + end() - range() * step()"},
	{"min_of(1, 2)", "min_of(1, 2)"},
	{"info(foo, {a=\"b\"})", "info(foo, {a=\"b\"})"},
	{"info(foo, {a=~\".*\"})", "info(foo, {a=~\".*\"})"},
	/* misc */
	{"((foo))", "((foo))"},
	{"sum(rate(a[5m])) / sum(rate(b[5m]))", "sum(rate(a[5m])) / sum(rate(b[5m]))"},
	{"1 +\n  2", "1 + 2"},
	{"Inf ^ 2", "Inf ^ 2"},
	{"2 ^ Inf", "2 ^ +Inf"},
	{"-Inf ^ 2", "-Inf ^ 2"},
	{"\"a\\x00b\"", "\"a\\x00b\""},
	{"\"\\uFFFD\"", "\"\xef\xbf\xbd\""},
	{"info(foo, {})", "info(foo, {})"},
};

static void test_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const char *got = fmt_query(valid[i].in);
		if (strcmp(got, valid[i].out) != 0)
			fail_msg("query %s: got %s, want %s", valid[i].in, got, valid[i].out);
		/* the printed form parses to the same text */
		char again[8192];
		snprintf(again, sizeof again, "%s", got);
		const char *got2 = fmt_query(again);
		if (strcmp(got2, again) != 0)
			fail_msg("round trip of %s: got %s", again, got2);
	}
}

static const struct {
	const char *in, *err;
} invalid[] = {
#include "parser_errors.inc"
	/* our own cases (texts as Prometheus 3.x prints them) */
	{"", "unknown position: parse error: no expression found in input"},
	{"   # only a comment", "1:1: parse error: no expression found in input"},
	{"sum(foo", "1:8: parse error: unclosed left parenthesis"},
	{"foo{", "1:5: parse error: unexpected end of input inside braces"},
	{"foo{a}", "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"},
	{"foo{a=}", "1:7: parse error: unexpected \"}\" in label matching, expected string"},
	{"foo{a=\"b\" c=\"d\"}", "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""},
	{"foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
	{"{job=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
	{"{job=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
	{"{job!~\".+\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
	{"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
	{"foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
	{"rate(foo)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"},
	{"abs(foo[5m])", "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector"},
	{"abs()", "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0"},
	{"round(a, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
	{"label_join(a, \"b\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"},
	{"nosuchfn(foo)", "1:1: parse error: unknown function with name \"nosuchfn\""},
	{"rate(foo[5m],)", "1:13: parse error: trailing commas not allowed in function call args"},
	{"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
	{"sum(a, b)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"},
	{"topk(a)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
	{"topk(\"a\", b)", "1:6: parse error: expected type scalar in aggregation parameter, got string"},
	{"count_values(1, b)", "1:14: parse error: expected type string in aggregation parameter, got scalar"},
	{"sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"},
	{"sum(foo bar)", "1:9: parse error: unexpected identifier \"bar\" in aggregation"},
	{"sum(rate(foo bar))", "1:14: parse error: unexpected identifier \"bar\" in aggregation"},
	{"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
	{"sum by foo (bar)", "1:8: parse error: unexpected identifier \"foo\" in grouping opts, expected \"(\""},
	{"sum by (a b) (c)", "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""},
	{"sum by (,) (c)", "1:9: parse error: unexpected \",\" in grouping opts, expected label"},
	{"1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
	{"a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators"},
	{"\"a\" + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"},
	{"a + b[5m]", "1:5: parse error: binary expression must contain only scalar and instant vector types"},
	{"1 and 2", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
	{"a and on(x) group_left b", "1:1: parse error: no grouping allowed for \"and\" operation"},
	{"1 + on(x) a", "1:1: parse error: vector matching only allowed between instant vectors"},
	{"a * on(x) group_left(x) b", "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once"},
	{"-\"a\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""},
	{"-foo[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
	{"foo[5m][10m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
	{"(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"},
	{"foo offset 5m[10m]", "1:14: parse error: no offset modifiers allowed before range"},
	{"foo @ 10 [10m]", "1:10: parse error: no @ modifiers allowed before range"},
	{"foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"},
	{"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
	{"sum(foo) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
	{"sum(foo) @ 1", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
	{"foo offset bar", "1:12: parse error: unexpected identifier \"bar\" in offset, expected number, duration, step(), or range()"},
	{"foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"},
	{"foo[0s]", "1:5: parse error: duration must be greater than 0"},
	{"foo offset -nan", "1:13: parse error: duration out of range"},
	{"foo[5m:] offset NaN", "1:17: parse error: duration out of range"},
	{"foo[-5m]", "1:5: parse error: duration must be greater than 0"},
	{"foo[5x]", "1:5: parse error: bad number or duration syntax: \"5\""},
	{"foo[5m", "1:7: parse error: unclosed left bracket"},
	{"foo[5m:1m:]", "1:10: parse error: unexpected colon ':'"},
	{"foo[1h1y]", "1:5: parse error: bad number or duration syntax: \"1h1\""},
	{"foo[1m1h]", "1:5: parse error: not a valid duration string: \"1m1h\""},
	{"foo[1.5m]", "1:5: parse error: unknown unit \".\" in duration \"1.5m\""},
	{"foo{a=~\"(\"}", "1:5: parse error: error parsing regexp: missing closing ): `(`"},
	{"foo{a=~\"(?=x)\"}", "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
	{"foo{a=~\"(a)\\\\1\"}", "1:5: parse error: error parsing regexp: invalid escape sequence: `\\1`"},
	{"foo{a=~\"a++\"}", "1:5: parse error: error parsing regexp: invalid nested repetition operator: `++`"},
	{"\"abc", "1:1: parse error: unterminated quoted string"},
	{"`abc", "1:1: parse error: unterminated raw string"},
	{"\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"},
	{"foo )", "1:6: parse error: unexpected right parenthesis ')'"},
	{"a !b", "1:3: parse error: unexpected character after '!': 'b'"},
	{"foo{a!b}", "1:6: parse error: unexpected character after '!' inside braces: 'b'"},
	{"foo{a:b}", "1:6: parse error: unexpected character inside braces: ':'"},
	{"1 $ 2", "1:3: parse error: unexpected character: '$'"},
	{"foo @ start", "1:12: parse error: unexpected end of input in @, expected timestamp"},
	{"foo[5m] anchored", "1:1: parse error: anchored modifier is experimental and not enabled"},
	{"foo[5m:] + )", "1:13: parse error: unexpected right parenthesis ')'"},
	{"1 +\n\n  )", "3:4: parse error: unexpected right parenthesis ')'"},
	{"bool", "1:1: parse error: unexpected <bool>"},
	{"*foo", "1:1: parse error: unexpected <op:*>"},
	{"sum(foo) by", "1:12: parse error: unexpected end of input in grouping opts, expected \"(\""},
	{"foo{a=\"x\\x00\"}", "1:7: parse error: label name or value must not contain a NUL byte"},
};

static void test_invalid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *got = fmt_query(invalid[i].in);
		if (strncmp(got, "ERR ", 4) != 0 || strcmp(got + 4, invalid[i].err) != 0)
			fail_msg("query %s:\n  got  %s\n  want ERR %s", invalid[i].in, got, invalid[i].err);
	}
}

static void test_error_struct(void **state)
{
	(void)state;
	promql_expr *e = (promql_expr *)1;
	promql_error err;
	const char *q = "foo +\n  bar{a=}";
	assert_int_equal(promql_parse(q, strlen(q), NULL, &e, &err), PROMQL_ERR_PARSE);
	assert_null(e);
	assert_int_equal(err.start, 14);
	assert_int_equal(err.end, 15);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 9);
	assert_string_equal(err.msg, "unexpected \"}\" in label matching, expected string");
	assert_string_equal(err.text, "2:9: parse error: unexpected \"}\" in label matching, expected string");
	/* the query need not be NUL-terminated */
	assert_int_equal(promql_parse("up{}garbage", 2, NULL, &e, &err), 0);
	assert_string_equal(e->query, "up");
	promql_expr_free(e);
	promql_expr_free(NULL);
}

static void test_ast_shape(void **state)
{
	(void)state;
	promql_expr *e = must_parse("a + b * c ^ d ^ e");
	promql_node *n = e->root;
	assert_int_equal(n->kind, PROMQL_NODE_BINARY);
	assert_int_equal(n->binary.op, PROMQL_OP_ADD);
	assert_int_equal(n->type, PROMQL_TYPE_VECTOR);
	assert_non_null(n->binary.matching);
	assert_int_equal(n->binary.matching->card, PROMQL_CARD_ONE_TO_ONE);
	promql_node *mul = n->binary.rhs;
	assert_int_equal(mul->binary.op, PROMQL_OP_MUL);
	promql_node *pow1 = mul->binary.rhs;
	assert_int_equal(pow1->binary.op, PROMQL_OP_POW);
	assert_int_equal(pow1->binary.lhs->kind, PROMQL_NODE_VECTOR_SELECTOR);
	assert_string_equal(pow1->binary.lhs->vs.name, "c");
	assert_int_equal(pow1->binary.rhs->kind, PROMQL_NODE_BINARY); /* right associative */
	assert_int_equal(n->pos.start, 0);
	assert_int_equal(n->pos.end, 17);
	assert_int_equal(n->height, 5);
	promql_expr_free(e);

	/* unary minus binds like *, below ^ */
	e = must_parse("-a ^ b * c");
	n = e->root;
	assert_int_equal(n->binary.op, PROMQL_OP_MUL);
	assert_int_equal(n->binary.lhs->kind, PROMQL_NODE_UNARY);
	assert_int_equal(n->binary.lhs->unary.op, PROMQL_OP_SUB);
	assert_int_equal(n->binary.lhs->unary.expr->binary.op, PROMQL_OP_POW);
	promql_expr_free(e);

	/* and/unless bind tighter than or; comparisons tighter than and */
	e = must_parse("a or b and c > d");
	n = e->root;
	assert_int_equal(n->binary.op, PROMQL_OP_OR);
	assert_int_equal(n->binary.matching->card, PROMQL_CARD_MANY_TO_MANY);
	assert_int_equal(n->binary.rhs->binary.op, PROMQL_OP_AND);
	assert_int_equal(n->binary.rhs->binary.rhs->binary.op, PROMQL_OP_GTR);
	promql_expr_free(e);

	/* scalar operands: no matching, scalar type */
	e = must_parse("1 + 2 > bool 3");
	n = e->root;
	assert_int_equal(n->type, PROMQL_TYPE_SCALAR);
	assert_null(n->binary.matching);
	assert_true(n->binary.return_bool);
	promql_expr_free(e);

	/* negative number literal folds; -(1) does not */
	e = must_parse("-1");
	assert_int_equal(e->root->kind, PROMQL_NODE_NUMBER);
	assert_true(e->root->number.value == -1.0);
	promql_expr_free(e);
	e = must_parse("-(1)");
	assert_int_equal(e->root->kind, PROMQL_NODE_UNARY);
	assert_int_equal(e->root->type, PROMQL_TYPE_SCALAR);
	promql_expr_free(e);

	e = must_parse("5m");
	assert_true(e->root->number.duration);
	assert_true(e->root->number.value == 300.0);
	promql_expr_free(e);
	e = must_parse("Inf");
	assert_true(isinf(e->root->number.value));
	promql_expr_free(e);
}

static void test_ast_selectors(void **state)
{
	(void)state;
	promql_expr *e = must_parse("http_requests{job=\"api\", code=~\"5..\"} offset -5m @ 1609746000.123");
	promql_node *n = e->root;
	assert_int_equal(n->kind, PROMQL_NODE_VECTOR_SELECTOR);
	promql_vector_selector *vs = &n->vs;
	assert_string_equal(vs->name, "http_requests");
	assert_int_equal(vs->n_matchers, 3);
	assert_int_equal(vs->matchers[0].type, TSDB_MATCH_EQ);
	assert_string_equal(vs->matchers[0].name, "job");
	assert_string_equal(vs->matchers[0].value, "api");
	assert_int_equal(vs->matchers[1].type, TSDB_MATCH_RE);
	assert_non_null(vs->matchers[1].re);
	assert_true(vs->matchers[1].re_match(vs->matchers[1].re, "503", 3));
	assert_false(vs->matchers[1].re_match(vs->matchers[1].re, "5030", 4));
	assert_false(vs->matchers[1].re_match(vs->matchers[1].re, "404", 3));
	assert_string_equal(vs->matchers[2].name, "__name__"); /* the name matcher comes last */
	assert_string_equal(vs->matchers[2].value, "http_requests");
	assert_int_equal(vs->offset_ms, -300000);
	assert_int_equal(vs->at.kind, PROMQL_AT_TIMESTAMP);
	assert_int_equal(vs->at.ts_ms, 1609746000123LL);
	assert_int_equal(n->pos.start, 0);
	assert_int_equal(n->pos.end, strlen(e->query));
	promql_expr_free(e);

	e = must_parse("rate(foo[5m] offset 1m @ end())");
	n = e->root;
	assert_int_equal(n->kind, PROMQL_NODE_CALL);
	assert_int_equal(n->call.func->id, PROMQL_FN_RATE);
	assert_int_equal(n->call.n_args, 1);
	promql_node *m = n->call.args[0];
	assert_int_equal(m->kind, PROMQL_NODE_MATRIX_SELECTOR);
	assert_int_equal(m->type, PROMQL_TYPE_MATRIX);
	assert_int_equal(m->matrix.range_ms, 300000);
	assert_int_equal(m->matrix.vs->vs.offset_ms, 60000);
	assert_int_equal(m->matrix.vs->vs.at.kind, PROMQL_AT_END);
	assert_int_equal(m->pos.start, 5);
	assert_int_equal(m->pos.end, 30);
	promql_expr_free(e);

	e = must_parse("sum by (job) (rate(foo[1m]))[10m:30s] offset 1m @ start()");
	n = e->root;
	assert_int_equal(n->kind, PROMQL_NODE_SUBQUERY);
	assert_int_equal(n->subquery.range_ms, 600000);
	assert_int_equal(n->subquery.step_ms, 30000);
	assert_int_equal(n->subquery.offset_ms, 60000);
	assert_int_equal(n->subquery.at.kind, PROMQL_AT_START);
	promql_node *agg = n->subquery.expr;
	assert_int_equal(agg->kind, PROMQL_NODE_AGGREGATE);
	assert_int_equal(agg->aggregate.op, PROMQL_AGG_SUM);
	assert_int_equal(agg->aggregate.n_grouping, 1);
	assert_string_equal(agg->aggregate.grouping[0], "job");
	assert_false(agg->aggregate.without);
	assert_null(agg->aggregate.param);
	promql_expr_free(e);

	e = must_parse("foo[5m:]");
	assert_int_equal(e->root->subquery.step_ms, 0);
	promql_expr_free(e);

	e = must_parse("a / on(x) group_left(y) b");
	promql_vector_matching *vm = e->root->binary.matching;
	assert_true(vm->on);
	assert_int_equal(vm->card, PROMQL_CARD_MANY_TO_ONE);
	assert_int_equal(vm->n_labels, 1);
	assert_string_equal(vm->labels[0], "x");
	assert_int_equal(vm->n_include, 1);
	assert_string_equal(vm->include[0], "y");
	promql_expr_free(e);

	e = must_parse("count_values without (a) (\"v\", foo)");
	agg = e->root;
	assert_int_equal(agg->aggregate.op, PROMQL_AGG_COUNT_VALUES);
	assert_true(agg->aggregate.without);
	assert_int_equal(agg->aggregate.param->kind, PROMQL_NODE_STRING);
	assert_string_equal(agg->aggregate.param->string.value, "v");
	promql_expr_free(e);
}

static void test_functions_table(void **state)
{
	(void)state;
	int min, max;
	for (int i = 0; i < PROMQL_FN__COUNT; i++) {
		const promql_function *f = promql_function_get((promql_func_id)i);
		assert_non_null(f);
		assert_int_equal(f->id, i);
		assert_ptr_equal(promql_function_lookup(f->name, strlen(f->name)), f);
		assert_true(f->return_type == PROMQL_TYPE_VECTOR || f->return_type == PROMQL_TYPE_SCALAR);
	}
	assert_null(promql_function_lookup("nope", 4));
	assert_null(promql_function_lookup("rat", 3));
	const promql_function *f = promql_function_lookup("label_join", 10);
	promql_function_arity(f, &min, &max);
	assert_int_equal(min, 3);
	assert_int_equal(max, -1);
	assert_int_equal(promql_function_arg_type(f, 7), PROMQL_TYPE_STRING);
	f = promql_function_lookup("round", 5);
	promql_function_arity(f, &min, &max);
	assert_int_equal(min, 1);
	assert_int_equal(max, 2);
	f = promql_function_lookup("time", 4);
	promql_function_arity(f, &min, &max);
	assert_int_equal(min, 0);
	assert_int_equal(max, 0);
	f = promql_function_lookup("histogram_quantile", 18);
	assert_int_equal(promql_function_arg_type(f, 0), PROMQL_TYPE_SCALAR);
	assert_int_equal(promql_function_arg_type(f, 1), PROMQL_TYPE_VECTOR);
	assert_string_equal(promql_value_type_name(PROMQL_TYPE_MATRIX), "range vector");
	assert_string_equal(promql_aggop_name(PROMQL_AGG_LIMIT_RATIO), "limit_ratio");
	assert_string_equal(promql_binop_name(PROMQL_OP_UNLESS), "unless");

	/* experimental functions can be refused */
	promql_parse_options opt = {.no_experimental_functions = true};
	promql_expr *e;
	promql_error err;
	const char *q = "sort_by_label(foo, \"a\")";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), PROMQL_ERR_PARSE);
	assert_string_equal(err.text, "1:1: parse error: function \"sort_by_label\" is not enabled");
	q = "limitk(1, foo)";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), PROMQL_ERR_PARSE);
	assert_string_equal(err.text, "1:1: parse error: limitk() is experimental and must be enabled with "
				      "--enable-feature=promql-experimental-functions");
}

static void test_limits(void **state)
{
	(void)state;
	promql_expr *e;
	promql_error err;
	/* deep parentheses */
	size_t n = 3000;
	char *q = malloc(2 * n + 2);
	memset(q, '(', n);
	q[n] = '1';
	memset(q + n + 1, ')', n);
	q[2 * n + 1] = '\0';
	assert_int_equal(promql_parse(q, strlen(q), NULL, &e, &err), PROMQL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "too deeply nested"));
	free(q);
	/* a long left-deep chain is bounded by tree height, not just recursion */
	n = 5000;
	q = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++) {
		q[2 * i] = '1';
		q[2 * i + 1] = '+';
	}
	q[2 * n - 1] = '\0';
	assert_int_equal(promql_parse(q, strlen(q), NULL, &e, &err), PROMQL_ERR_LIMIT);
	free(q);
	/* within bounds: 500 levels */
	promql_parse_options opt = {.max_depth = 0};
	n = 400;
	q = malloc(2 * n + 2);
	memset(q, '(', n);
	q[n] = '1';
	memset(q + n + 1, ')', n);
	q[2 * n + 1] = '\0';
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	promql_expr_free(e);
	free(q);
	/* duration expressions are bounded the same way */
	promql_parse_options dopt = {.enable_duration_expressions = true};
	n = 5000;
	q = malloc(n * 2 + 8);
	strcpy(q, "x[");
	for (size_t i = 0; i < n; i++) {
		q[2 + 2 * i] = '1';
		q[2 + 2 * i + 1] = '+';
	}
	strcpy(q + 2 + 2 * n - 1, "]");
	assert_int_equal(promql_parse(q, strlen(q), &dopt, &e, &err), PROMQL_ERR_LIMIT);
	free(q);
	/* length */
	opt.max_len = 10;
	assert_int_equal(promql_parse("foo + bar + baz", 15, &opt, &e, &err), PROMQL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "too long"));
	q = calloc(PROMQL_MAX_QUERY_LEN + 2, 1);
	memset(q, ' ', PROMQL_MAX_QUERY_LEN + 1);
	q[0] = '1';
	assert_int_equal(promql_parse(q, strlen(q), NULL, &e, &err), PROMQL_ERR_LIMIT);
	free(q);
}

/* Every arena allocation failing in turn: the parse fails cleanly (no leak, no crash; ASan
 * checks) or succeeds once the budget suffices. */
static void test_out_of_memory(void **state)
{
	(void)state;
	const char *q = "sum by (job) (rate(http_requests_total{job=~\"api|web\", code=~\"5..\"}[5m] offset 1m))"
			" / on (job) group_left (x) max_over_time(foo[10m:1m] @ start()) > bool 0.5 or label_replace(a, \"b\", "
			"\"$1\", \"c\", \"(.*)\")";
	promql_parse_options opt = {0};
	size_t ok_at = 0;
	for (size_t limit = 16; limit < 64 * 1024; limit += 16) {
		opt.max_bytes = limit;
		promql_expr *e = NULL;
		promql_error err;
		int rc = promql_parse(q, strlen(q), &opt, &e, &err);
		if (rc == 0) {
			ok_at = limit;
			promql_expr_free(e);
			break;
		}
		if (rc != PROMQL_ERR_NOMEM)
			fail_msg("limit %zu: rc %d: %s", limit, rc, err.text);
		assert_null(e);
		assert_string_equal(err.msg, "out of memory");
	}
	assert_true(ok_at > 0);
	print_message("query of %zu bytes parses within %zu arena bytes\n", strlen(q), ok_at);
}

static void test_parse_selector(void **state)
{
	(void)state;
	arena a;
	arena_init(&a, 0);
	tsdb_matcher *m;
	size_t n;
	promql_error err;
	const char *s = "up{job=\"x\", instance=~\"a|b\"}";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].name, "job");
	assert_int_equal(m[1].type, TSDB_MATCH_RE);
	assert_true(m[1].re_match(m[1].re, "b", 1));
	assert_false(m[1].re_match(m[1].re, "ab", 2));
	assert_string_equal(m[2].name, "__name__");
	assert_string_equal(m[2].value, "up");
	assert_false(promql_matchers_match_empty(m, n));

	s = "{__name__=~\"a.*\"}";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(m[0].re_match(m[0].re, "abc", 3));
	assert_false(m[0].re_match(m[0].re, "bc", 2));

	s = "{\"utf8.metric\", \"a b\"=\"c\"}";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].name, "__name__");
	assert_string_equal(m[0].value, "utf8.metric");
	assert_string_equal(m[1].name, "a b");

	/* like Prometheus's ParseMetricSelector: no empty-matcher check, the caller decides */
	s = "{job=\"\"}";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), 0);
	assert_true(promql_matchers_match_empty(m, n));

	s = "up{job=\"x\"";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), PROMQL_ERR_PARSE);
	assert_null(m);
	assert_int_equal(n, 0);
	assert_string_equal(err.text, "1:11: parse error: unexpected end of input inside braces");
	s = "up offset 5m";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), PROMQL_ERR_PARSE);
	assert_string_equal(err.text, "1:4: parse error: unexpected <offset>");
	s = "rate(x[5m])";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), PROMQL_ERR_PARSE);
	assert_string_equal(err.text, "1:5: parse error: unexpected \"(\"");
	s = "up{a=~\"(\"}";
	assert_int_equal(promql_parse_selector(s, strlen(s), &a, &m, &n, &err), PROMQL_ERR_PARSE);
	assert_string_equal(err.text, "1:4: parse error: error parsing regexp: missing closing ): `(`");
	arena_deinit(&a); /* frees the compiled regexes (ASan checks for leaks) */
}

static void test_regex(void **state)
{
	(void)state;
	arena a;
	arena_init(&a, 0);
	promql_regex *re;
	char err[256];
	static const struct {
		const char *pat, *s;
		bool match;
	} cases[] = {
		{"abc", "abc", true},        {"abc", "abcd", false},     {"abc", "xabc", false},
		{"a|b", "a", true},          {"a|b", "ab", false},       {"a.c", "a\nc", true},
		{".*", "any\nthing", true},  {".+", "", false},          {".*", "", true},
		{"(?i)foo", "FOO", true},    {"[a-z]+", "abc", true},    {"[a-z]+", "ab1", false},
		{"\\d{2,3}", "123", true},   {"\\d{2,3}", "1234", false}, {"a\\.b", "a.b", true},
		{"a\\.b", "axb", false},     {"foo$", "foo", true},      {"^foo", "foo", true},
		{"\\s", "\v", false},        {"\\s", "\t", true},        {"\\v", "\v", true},
		{"\\x41", "A", true},        {"\\pL+", "héllo", true},   {"(?s:.)", "\n", true},
		{"[^a]", "\n", true},        {"a{,2}", "a{,2}", true},   {"\\Qa.b\\E", "a.b", true},
		{"\\Qa.b\\E", "axb", false}, {"é", "é", true},           {"(?P<x>a)b", "ab", true},
		{"x*", "\xff\xfe", false},   {"", "", true},             {"", "a", false},
		/* fast paths: alternations of [.*]literal[.*] */
		{"a|bc|d", "bc", true},      {"a|bc|d", "b", false},     {"a|bc|d", "abcd", false},
		{"foo.*", "foobar", true},   {"foo.*", "foo", true},     {"foo.*", "xfoo", false},
		{".*bar", "foobar", true},   {".*bar", "barx", false},   {".*baz.*", "abazb", true},
		{".*baz.*", "abab", false},  {".*", "\xff", true},       {"a\\.b|c", "a.b", true},
		{"a\\.b|c", "axb", false},  {"|a", "", true},           {"|a", "b", false},
		{".*a|b.*", "ba", true},     {".*a|b.*", "ab", false},   {".*.*", "x", true},
		{"a.*b", "axxb", true},      {"a.*b", "axx", false},     {"(?i)a|b", "A", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (promql_regex_compile(cases[i].pat, strlen(cases[i].pat), &a, &re, err, sizeof err) != 0)
			fail_msg("compile %s: %s", cases[i].pat, err);
		if (promql_regex_match(re, cases[i].s, strlen(cases[i].s)) != cases[i].match)
			fail_msg("%s ~ %s: want %d", cases[i].pat, cases[i].s, cases[i].match);
	}
	static const struct {
		const char *pat, *err;
	} bad[] = {
		{"(", "error parsing regexp: missing closing ): `(`"},
		{"a)", "error parsing regexp: unexpected ): `a)`"},
		{"[a", "error parsing regexp: missing closing ]: `[a`"},
		{"*a", "error parsing regexp: missing argument to repetition operator: `*`"},
		{"a**", "error parsing regexp: invalid nested repetition operator: `**`"},
		{"a*+", "error parsing regexp: invalid nested repetition operator: `*+`"},
		{"a{2}{3}", "error parsing regexp: invalid nested repetition operator: `{2}{3}`"},
		{"a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"},
		{"(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
		{"(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"},
		{"(?<=a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
		{"(?>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`"},
		{"(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"},
		{"\\C", "error parsing regexp: invalid escape sequence: `\\C`"},
		{"a\\K", "error parsing regexp: invalid escape sequence: `\\K`"},
		{"\\", "error parsing regexp: trailing backslash at end of expression: ``"},
		{"(?x)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"},
		{"(?R)", "error parsing regexp: invalid or unsupported Perl syntax: `(?R`"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = promql_regex_compile(bad[i].pat, strlen(bad[i].pat), &a, &re, err, sizeof err);
		if (rc != -1)
			fail_msg("%s compiled", bad[i].pat);
		if (strcmp(err, bad[i].err) != 0)
			fail_msg("%s: got %s want %s", bad[i].pat, err, bad[i].err);
	}
	/* catastrophic backtracking is cut short and answered exactly (by the DFA matcher) */
	static const struct {
		const char *pat, *s;
		bool match;
	} evil[] = {
		{"(a+)+b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"(a+)+b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true},
		{"(a|aa)+c", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"(x+x+)+y", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy", true},
		{"(.*a){12}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false},
	};
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		assert_int_equal(promql_regex_compile_matcher(evil[i].pat, strlen(evil[i].pat), &a, &re, err, sizeof err), 0);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		bool got = promql_regex_match(re, evil[i].s, strlen(evil[i].s));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (got != evil[i].match)
			fail_msg("%s ~ %s: want %d", evil[i].pat, evil[i].s, evil[i].match);
		if (ms > 500)
			fail_msg("%s took %.1f ms", evil[i].pat, ms);
	}

	/* matcher-only compilation: simple patterns skip PCRE2 but match the same */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (promql_regex_compile_matcher(cases[i].pat, strlen(cases[i].pat), &a, &re, err, sizeof err) != 0)
			fail_msg("compile_matcher %s: %s", cases[i].pat, err);
		if (promql_regex_match(re, cases[i].s, strlen(cases[i].s)) != cases[i].match)
			fail_msg("matcher %s ~ %s: want %d", cases[i].pat, cases[i].s, cases[i].match);
	}
	assert_int_equal(promql_regex_compile_matcher("a)", 2, &a, &re, err, sizeof err), -1);
	assert_string_equal(err, "error parsing regexp: unexpected ): `a)`");

	/* capture groups for label_replace */
	assert_int_equal(promql_regex_compile("(a+)-(?P<n>b*)(c)?", 18, &a, &re, err, sizeof err), 0);
	assert_int_equal(promql_regex_group_count(re), 3);
	assert_int_equal(promql_regex_group_index(re, "n"), 2);
	long ov[8];
	assert_int_equal(promql_regex_match_groups(re, "aa-bb", 5, ov, 4), 4);
	assert_int_equal(ov[0], 0);
	assert_int_equal(ov[1], 5);
	assert_int_equal(ov[2], 0);
	assert_int_equal(ov[3], 2);
	assert_int_equal(ov[4], 3);
	assert_int_equal(ov[5], 5);
	assert_int_equal(ov[6], -1);
	assert_int_equal(promql_regex_match_groups(re, "aa-bbx", 6, ov, 4), 0);
	arena_deinit(&a);
}

static const struct {
	const char *in, *out;
} printer_cases[] = {
#include "parser_printer.inc"
	/* more duration expressions and extended range selectors */
	{"foo[5m+1m]", "foo[5m + 1m]"},
	{"foo[(5m)]", "foo[(5m)]"},
	{"foo offset (1h / 2)", "foo offset (1h / 2)"},
	{"foo offset 1m + 2", "foo offset 1m + 2"},
	{"foo offset -(1m)", "foo offset -(1m)"},
	{"foo[step() * 2:min_of(step(), 10s)]", "foo[step() * 2:min_of(step(), 10s)]"},
	{"rate(foo[1m] anchored)", "rate(foo[1m] anchored)"},
	{"rate(foo[1m] smoothed @ 10 offset 1m)", "rate(foo[1m] smoothed @ 10.000 offset 1m)"},
	{"foo smoothed offset 1m", "foo smoothed offset 1m"},
	{"a > bool fill_right(1e6) b", "a > bool fill_right (1e+06) b"},
	{"a - fill(0.5) b", "a - fill (0.5) b"},
};

static void test_experimental_syntax(void **state)
{
	(void)state;
	promql_parse_options opt = {.enable_duration_expressions = true, .enable_extended_range_selectors = true,
				    .enable_binop_fill_modifiers = true};
	promql_expr *e;
	promql_error err;
	for (size_t i = 0; i < sizeof(printer_cases) / sizeof(printer_cases[0]); i++) {
		const char *q = printer_cases[i].in;
		if (promql_parse(q, strlen(q), &opt, &e, &err) != 0)
			fail_msg("%s: %s", q, err.text);
		buf b;
		buf_init(&b, 0);
		assert_int_equal(promql_format(e->root, &b), 0);
		if (strcmp(b.data, printer_cases[i].out) != 0)
			fail_msg("%s: got %s want %s", q, b.data, printer_cases[i].out);
		buf_deinit(&b);
		promql_expr_free(e);
	}

	const char *q = "a * on(x) group_left fill_left(-1) fill_right(2) b";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	promql_vector_matching *vm = e->root->binary.matching;
	assert_true(vm->fill_lhs_set && vm->fill_rhs_set);
	assert_true(vm->fill_lhs == -1.0 && vm->fill_rhs == 2.0);
	promql_expr_free(e);

	/* constant expressions are folded at parse time */
	q = "foo[29s+1s:20*500ms] offset -(2*5s)";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	assert_false(e->duration_vars);
	promql_node *n = e->root;
	assert_int_equal(n->kind, PROMQL_NODE_SUBQUERY);
	assert_int_equal(n->subquery.range_ms, 30000);
	assert_int_equal(n->subquery.step_ms, 10000);
	assert_int_equal(n->subquery.offset_ms, -10000);
	assert_non_null(n->subquery.range_expr);
	assert_non_null(n->subquery.offset_expr);
	promql_expr_free(e);

	/* step()/range() are resolved per query */
	q = "count_over_time(foo[step() * 3] offset range())";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	assert_true(e->duration_vars);
	promql_node *m = e->root->call.args[0];
	assert_int_equal(m->matrix.range_ms, 0);
	char why[128];
	assert_int_equal(promql_resolve_durations(e->root, 10000, 3600000, why, sizeof why), 0);
	assert_int_equal(m->matrix.range_ms, 30000);
	assert_int_equal(m->matrix.vs->vs.offset_ms, 3600000);
	assert_int_equal(promql_resolve_durations(e->root, 0, 0, why, sizeof why), -1);
	assert_string_equal(why, "20:30: duration must be greater than 0");
	promql_expr_free(e);

	/* invalid constant expressions fail at evaluation, as in Prometheus */
	q = "foo[-2^2]";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	assert_true(e->duration_vars);
	assert_int_equal(promql_resolve_durations(e->root, 0, 0, why, sizeof why), -1);
	assert_string_equal(why, "4:8: duration must be greater than 0");
	promql_expr_free(e);
	double v;
	q = "foo[1m % (2m - 2m)]";
	assert_int_equal(promql_parse(q, strlen(q), &opt, &e, &err), 0);
	assert_int_equal(promql_duration_eval(e->root->matrix.range_expr, 0, 0, &v, why, sizeof why), -1);
	assert_non_null(strstr(why, "modulo by zero"));
	promql_expr_free(e);

	static const struct {
		const char *in, *err;
	} errs[] = {
		{"foo[5s/0d]", "1:7: parse error: division by zero"},
		{"foo[5s%0d]", "1:7: parse error: modulo by zero"},
		{"foo offset (4d/0)", "1:15: parse error: division by zero"},
		{"foo[step]", "1:9: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()"},
		{"some_metric offset step()[5m]", "1:26: parse error: no offset modifiers allowed before range"},
		{"foo[5m] anchored smoothed", "1:1: parse error: anchored and smoothed modifiers cannot be used together"},
		{"foo[5m:] anchored", "1:1: parse error: anchored modifier is not supported for subqueries"},
		{"sum(foo) smoothed", "1:1: parse error: smoothed modifier not implemented"},
		{"a + fill(1) 2", "1:1: parse error: filling in missing series only allowed between instant vectors"},
		{"a and fill(1) b", "1:1: parse error: filling in missing series not allowed for set operators"},
		{"a + fill 1 b", "1:10: parse error: unexpected number \"1\""},
	};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		q = errs[i].in;
		if (promql_parse(q, strlen(q), &opt, &e, &err) == 0)
			fail_msg("%s parsed", q);
		if (strcmp(err.text, errs[i].err) != 0)
			fail_msg("%s: got %s want %s", q, err.text, errs[i].err);
	}

	/* disabled by default, as in Prometheus */
	static const struct {
		const char *in, *err;
	} off[] = {
		{"foo[5m+1m]", "1:5: parse error: experimental duration expression is not enabled"},
		{"foo offset (5m)", "1:13: parse error: experimental duration expression is not enabled"},
		{"foo[step()]", "1:5: parse error: experimental duration expression is not enabled"},
		{"rate(foo[1m] anchored)", "1:6: parse error: anchored modifier is experimental and not enabled"},
		{"x + fill(1) y", "1:1: parse error: binop fill modifiers are experimental and not enabled"},
	};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		const char *got = fmt_query(off[i].in);
		if (strncmp(got, "ERR ", 4) != 0 || strcmp(got + 4, off[i].err) != 0)
			fail_msg("%s: got %s want %s", off[i].in, got, off[i].err);
	}
}

/* /api/v1/format_query output, as Prometheus's Pretty() produces it */
static const struct {
	const char *in, *out;
} pretty_cases[] = {
	{"sum(rate(foo[5m]))", "sum(rate(foo[5m]))"},
	{"-sum by (job, instance, mode) (rate(node_cpu_seconds_total{mode!=\"idle\", job=\"node-exporter\", instance=~\"prod-.*\"}[5m]))",
	 "-sum by (job, instance, mode) (\n  rate(node_cpu_seconds_total{instance=~\"prod-.*\",job=\"node-exporter\",mode!=\"idle\"}[5m])\n)"},
	{"max_over_time(sum by (job, instance, mode) (rate(node_cpu_seconds_total{mode!=\"idle\", job=\"node-exporter\"}[5m]))[1h:5m] offset 1d)",
	 "max_over_time(\n  sum by (job, instance, mode) (rate(node_cpu_seconds_total{job=\"node-exporter\",mode!=\"idle\"}[5m]))[1h:5m] offset 1d\n)"},
	{"(sum(rate(http_requests_total{status=~\"5..\", job=\"api-server-with-a-long-name\"}[5m])) / sum(rate(http_requests_total{job=\"api-server-with-a-long-name\"}[5m]))) > bool 0.01",
	 "  (\n      sum(rate(http_requests_total{job=\"api-server-with-a-long-name\",status=~\"5..\"}[5m]))\n    /\n      sum(rate(http_requests_total{job=\"api-server-with-a-long-name\"}[5m]))\n  )\n> bool\n  0.01"},
	{"histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{job=\"api-server-with-a-long-name\", handler!=\"/metrics\"}[5m])))",
	 "histogram_quantile(\n  0.99,\n  sum by (le, job) (\n    rate(\n      http_request_duration_seconds_bucket{handler!=\"/metrics\",job=\"api-server-with-a-long-name\"}[5m]\n    )\n  )\n)"},
	{"topk(5, sum without (instance, pod, container, namespace) (rate(container_cpu_usage_seconds_total{namespace=\"kube-system\", container!=\"\"}[10m])))",
	 "topk(\n  5,\n  sum without (instance, pod, container, namespace) (\n    rate(container_cpu_usage_seconds_total{container!=\"\",namespace=\"kube-system\"}[10m])\n  )\n)"},
};

static void test_pretty(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pretty_cases) / sizeof(pretty_cases[0]); i++) {
		promql_expr *e = must_parse(pretty_cases[i].in);
		buf b;
		buf_init(&b, 0);
		assert_int_equal(promql_format_pretty(e->root, &b), 0);
		if (strcmp(b.data, pretty_cases[i].out) != 0)
			fail_msg("%s:\n%s\nwant\n%s", pretty_cases[i].in, b.data, pretty_cases[i].out);
		/* the pretty form parses to the same tree */
		promql_expr *e2 = must_parse(b.data);
		buf c1, c2;
		buf_init(&c1, 0);
		buf_init(&c2, 0);
		promql_format(e->root, &c1);
		promql_format(e2->root, &c2);
		assert_string_equal(c1.data, c2.data);
		buf_deinit(&c1);
		buf_deinit(&c2);
		buf_deinit(&b);
		promql_expr_free(e);
		promql_expr_free(e2);
	}
}

/* /api/v1/parse_query's JSON (Prometheus's translateAST) */
static const struct {
	const char *in, *json;
} json_cases[] = {
	{"sum by (job) (rate(foo{a=\"<b>\"}[5m] offset 1m)) > bool 2",
	 "{\"bool\":true,\"lhs\":{\"expr\":{\"args\":[{\"anchored\":false,\"matchers\":[{\"name\":\"a\",\"type\":\"=\",\"value\":\"\\u003cb\\u003e\"},{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"foo\"}],\"name\":\"foo\",\"offset\":60000,\"offsetExpr\":null,\"range\":300000,\"rangeExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"matrixSelector\"}],\"func\":{\"argTypes\":[\"matrix\"],\"name\":\"rate\",\"returnType\":\"vector\",\"variadic\":0},\"type\":\"call\"},\"grouping\":[\"job\"],\"op\":\"sum\",\"param\":null,\"type\":\"aggregation\",\"without\":false},\"matching\":null,\"op\":\"\\u003e\",\"rhs\":{\"type\":\"numberLiteral\",\"val\":\"2\"},\"type\":\"binaryExpr\"}"},
	{"-x / on(a) group_left(b) y",
	 "{\"bool\":false,\"lhs\":{\"expr\":{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"x\"}],\"name\":\"x\",\"offset\":0,\"offsetExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"vectorSelector\"},\"op\":\"-\",\"type\":\"unaryExpr\"},\"matching\":{\"card\":\"many-to-one\",\"fillValues\":{\"lhs\":null,\"rhs\":null},\"include\":[\"b\"],\"labels\":[\"a\"],\"on\":true},\"op\":\"/\",\"rhs\":{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"y\"}],\"name\":\"y\",\"offset\":0,\"offsetExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"vectorSelector\"},\"type\":\"binaryExpr\"}"},
	{"foo[5m:] @ start()",
	 "{\"expr\":{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"foo\"}],\"name\":\"foo\",\"offset\":0,\"offsetExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"vectorSelector\"},\"offset\":0,\"offsetExpr\":null,\"range\":300000,\"rangeExpr\":null,\"startOrEnd\":\"start\",\"step\":0,\"stepExpr\":null,\"timestamp\":null,\"type\":\"subquery\"}"},
	{"foo[5m+step()] offset -(1m)",
	 "{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"foo\"}],\"name\":\"foo\",\"offset\":0,\"offsetExpr\":{\"lhs\":null,\"op\":\"-\",\"rhs\":{\"lhs\":null,\"op\":\"+\",\"rhs\":{\"duration\":true,\"type\":\"numberLiteral\",\"val\":\"60\"},\"type\":\"durationExpr\",\"wrapped\":true},\"type\":\"durationExpr\",\"wrapped\":false},\"range\":0,\"rangeExpr\":{\"lhs\":{\"duration\":true,\"type\":\"numberLiteral\",\"val\":\"300\"},\"op\":\"+\",\"rhs\":{\"lhs\":null,\"op\":\"step\",\"rhs\":null,\"type\":\"durationExpr\",\"wrapped\":false},\"type\":\"durationExpr\",\"wrapped\":false},\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"matrixSelector\"}"},
	{"count_values(\"v\", x @ 100)",
	 "{\"expr\":{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"x\"}],\"name\":\"x\",\"offset\":0,\"offsetExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":100000,\"type\":\"vectorSelector\"},\"grouping\":[],\"op\":\"count_values\",\"param\":{\"type\":\"stringLiteral\",\"val\":\"v\"},\"type\":\"aggregation\",\"without\":false}"},
};

static void test_ast_json(void **state)
{
	(void)state;
	promql_parse_options opt = {.enable_duration_expressions = true};
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		promql_expr *e;
		promql_error err;
		const char *q = json_cases[i].in;
		if (promql_parse(q, strlen(q), &opt, &e, &err) != 0)
			fail_msg("%s: %s", q, err.text);
		buf b;
		buf_init(&b, 0);
		assert_int_equal(promql_ast_json(e->root, &b), 0);
		if (strcmp(b.data, json_cases[i].json) != 0)
			fail_msg("%s:\n%s\nwant\n%s", q, b.data, json_cases[i].json);
		buf_deinit(&b);
		promql_expr_free(e);
	}
}

/* ---- Prometheus's promqltest files ---- */

static const char *core_files[] = {"aggregators", "at_modifier", "collision", "functions", "histograms",
				   "limit", "literals", "name_label_dropping", "operators", "range_queries",
				   "selectors", "staleness", "subquery", "trig_functions"};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Extracts the expression of an eval line ("eval instant at 5m <expr>",
 * "eval range from 0 to 1m step 10s <expr>"); returns NULL if it is not one. */
static const char *eval_expr(char *line, bool *must_fail)
{
	if (strncmp(line, "eval", 4) != 0)
		return NULL;
	*must_fail = strncmp(line, "eval_fail", 9) == 0;
	const char *p = strstr(line, " instant at ");
	if (p) {
		p += strlen(" instant at ");
	} else {
		p = strstr(line, " step ");
		if (!p)
			return NULL;
		p += strlen(" step ");
	}
	p = strchr(p, ' '); /* skip the time / step token */
	if (!p)
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

static void test_promqltest_files(void **state)
{
	(void)state;
	char path[1024];
	size_t total = 0, parsed = 0, expected_fail = 0, bad = 0;
	for (size_t f = 0; f < sizeof(core_files) / sizeof(core_files[0]); f++) {
		snprintf(path, sizeof path, "%s/../shared/conformance/promqltest/%s.test", SLOD_SOURCE_DIR, core_files[f]);
		FILE *fp = fopen(path, "r");
		if (!fp) {
			print_message("cannot open %s; skipping\n", path);
			skip();
		}
		char line[16384];
		char query[16384] = "";
		bool have = false, must_fail = false;
		for (;;) {
			char *got = fgets(line, sizeof line, fp);
			char *t = got ? trim(line) : NULL;
			bool is_expect_fail = t && strncmp(t, "expect fail", 11) == 0;
			if (is_expect_fail) {
				must_fail = true;
				continue;
			}
			bool new_eval = t && strncmp(t, "eval", 4) == 0;
			if (have && (!t || new_eval || *t == '\0' || strncmp(t, "load", 4) == 0 || strcmp(t, "clear") == 0)) {
				/* finish the previous eval */
				total++;
				promql_expr *e;
				promql_error err;
				int rc = promql_parse(query, strlen(query), NULL, &e, &err);
				if (rc == 0) {
					parsed++;
					/* round trip: print, re-parse, print the same */
					buf b1, b2;
					buf_init(&b1, 0);
					buf_init(&b2, 0);
					assert_int_equal(promql_format(e->root, &b1), 0);
					promql_expr *e2;
					if (promql_parse(b1.data, b1.len, NULL, &e2, &err) != 0)
						fail_msg("%s: printed %s does not parse: %s", query, b1.data, err.text);
					assert_int_equal(promql_format(e2->root, &b2), 0);
					if (strcmp(b1.data, b2.data) != 0)
						fail_msg("%s: printed %s, reprinted %s", query, b1.data, b2.data);
					buf_deinit(&b1);
					buf_deinit(&b2);
					promql_expr_free(e2);
					promql_expr_free(e);
				} else if (must_fail) {
					expected_fail++;
				} else {
					bad++;
					print_message("%s.test: %s: %s\n", core_files[f], query, err.text);
				}
				have = false;
			}
			if (!t)
				break;
			if (new_eval) {
				const char *q = eval_expr(t, &must_fail);
				if (q) {
					snprintf(query, sizeof query, "%s", q);
					have = true;
				}
			}
		}
		fclose(fp);
	}
	print_message("promqltest core files: %zu evals, %zu parsed, %zu failed as expected, %zu failed unexpectedly\n",
		      total, parsed, expected_fail, bad);
	assert_true(total > 1000);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_error_struct),
		cmocka_unit_test(test_ast_shape),
		cmocka_unit_test(test_ast_selectors),
		cmocka_unit_test(test_functions_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_parse_selector),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_experimental_syntax),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_ast_json),
		cmocka_unit_test(test_promqltest_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
