/*
 * test_lexer.c — promql.lexer: token streams of the PromQL lexer (promql/lexer.h), its
 * context-sensitive states (braces, brackets), lexical errors and offsets, token descriptions
 * used in error messages, Go quoting and string unquoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "promql/lexer.h"

/* Renders the token stream as "TYPE:text TYPE:text ..." ("ERR:<message>@pos" for errors). */
static const char *lex_all(const char *in)
{
	static char out[4096];
	promql_lexer l;
	promql_lexer_init(&l, in, strlen(in));
	size_t k = 0;
	out[0] = '\0';
	for (int i = 0; i < 100; i++) {
		promql_token t = promql_lexer_next(&l);
		const char *name;
		switch (t.type) {
		case PT_EOF: name = "EOF"; break;
		case PT_ERROR: name = "ERR"; break;
		case PT_COMMENT: name = "COMMENT"; break;
		case PT_IDENTIFIER: name = "ID"; break;
		case PT_METRIC_IDENTIFIER: name = "MID"; break;
		case PT_NUMBER: name = "NUM"; break;
		case PT_DURATION: name = "DUR"; break;
		case PT_STRING: name = "STR"; break;
		default:
			if (promql_tok_is_operator(t.type))
				name = "OP";
			else if (promql_tok_is_aggregator(t.type))
				name = "AGG";
			else if (promql_tok_is_keyword(t.type))
				name = "KW";
			else
				name = "P";
			break;
		}
		if (t.type == PT_ERROR)
			k += (size_t)snprintf(out + k, sizeof out - k, "%sERR:%s@%u", k ? " " : "", l.err, t.pos);
		else
			k += (size_t)snprintf(out + k, sizeof out - k, "%s%s:%.*s", k ? " " : "", name, (int)t.len, in + t.pos);
		if (t.type == PT_EOF || t.type == PT_ERROR)
			break;
	}
	return out;
}

static const struct {
	const char *in, *tokens;
} cases[] = {
	{"", "EOF:"},
	{"foo", "ID:foo EOF:"},
	{"foo:bar", "MID:foo:bar EOF:"},
	{"sum by (job) (x)", "AGG:sum KW:by P:( ID:job P:) P:( ID:x P:) EOF:"},
	{"SUM BY(a)", "AGG:SUM KW:BY P:( ID:a P:) EOF:"},
	{"a and b OR c unless d", "ID:a OP:and ID:b OP:OR ID:c OP:unless ID:d EOF:"},
	{"1 + 2.5e3 * .5 - 0x1F", "NUM:1 OP:+ NUM:2.5e3 OP:* NUM:.5 OP:- NUM:0x1F EOF:"},
	{"Inf NaN nan", "NUM:Inf NUM:NaN NUM:nan EOF:"},
	{"5m 1h30m 10ms 1y", "DUR:5m DUR:1h30m DUR:10ms DUR:1y EOF:"},
	{"a == b != c <= d < e >= f > g ^ h % i / j", "ID:a OP:== ID:b OP:!= ID:c OP:<= ID:d OP:< ID:e OP:>= ID:f "
							"OP:> ID:g OP:^ ID:h OP:% ID:i OP:/ ID:j EOF:"},
	{"foo{a=\"b\",c!~'d',e=~`f`,g!=\"h\"}",
	 "ID:foo P:{ ID:a P:= STR:\"b\" P:, ID:c OP:!~ STR:'d' P:, ID:e OP:=~ STR:`f` P:, ID:g OP:!= STR:\"h\" P:} EOF:"},
	{"{sum=\"x\", by=\"y\"}", "P:{ ID:sum P:= STR:\"x\" P:, ID:by P:= STR:\"y\" P:} EOF:"},
	{"foo[5m:1m]", "ID:foo P:[ DUR:5m P:: DUR:1m P:] EOF:"},
	{"foo[ 5m ]", "ID:foo P:[ DUR:5m P:] EOF:"},
	{"foo[300]", "ID:foo P:[ NUM:300 P:] EOF:"},
	{"foo offset -5m @ start()", "ID:foo KW:offset OP:- DUR:5m OP:@ P:start P:( P:) EOF:"},
	{"a # comment\n+ b", "ID:a COMMENT:# comment OP:+ ID:b EOF:"},
	{"fill + fill_left(x)", "ID:fill OP:+ KW:fill_left P:( ID:x P:) EOF:"},
	{"\"a\\\"b\\n\\u00e9\"", "STR:\"a\\\"b\\n\\u00e9\" EOF:"},
	/* errors, with their offsets */
	{"a )", "ID:a ERR:unexpected right parenthesis ')'@3"},
	{"(a", "P:( ID:a ERR:unclosed left parenthesis@2"},
	{"a[5m", "ID:a P:[ DUR:5m ERR:unclosed left bracket@4"},
	{"a[", "ID:a P:[ ERR:unexpected end of input in duration expression@2"},
	{"a[x]", "ID:a P:[ ERR:unexpected character in duration expression: 'x'@2"},
	{"a[5m x]", "ID:a P:[ DUR:5m ERR:unexpected character: 'x', expected ':'@5"},
	{"a]", "ID:a ERR:unexpected right bracket ']'@1"},
	{"a[[", "ID:a P:[ ERR:unexpected character in duration expression: '['@2"},
	{"{a", "P:{ ID:a ERR:unexpected end of input inside braces@2"},
	{"{a{", "P:{ ID:a ERR:unexpected left brace '{'@2"},
	{"{a!b}", "P:{ ID:a ERR:unexpected character after '!' inside braces: 'b'@2"},
	{"a =~ b", "ID:a ERR:unexpected character after '=': '~'@2"},
	{"a ! b", "ID:a ERR:unexpected character after '!': ' '@2"},
	{"2.5.", "ERR:bad number or duration syntax: \"2.5.\"@0"},
	{"1e", "ERR:bad number or duration syntax: \"1e\"@0"},
	{"\"abc", "ERR:unterminated quoted string@0"},
	{"\"a\nb\"", "ERR:unterminated quoted string@0"},
	{"`abc", "ERR:unterminated raw string@0"},
	{"\"\\q\"", "ERR:unknown escape sequence U+0071 'q'@0"},
	{"\"\\xZZ\"", "ERR:illegal character U+005A 'Z' in escape sequence@0"},
	{"\"\\uD800\"", "ERR:escape sequence is an invalid Unicode code point@0"},
	{"\"\xff\"", "ERR:invalid UTF-8 rune@0"},
	{"a ☃", "ID:a ERR:unexpected character: '☃'@2"},
	{"a $", "ID:a ERR:unexpected character: '$'@2"},
};

static void test_token_streams(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = lex_all(cases[i].in);
		if (strcmp(got, cases[i].tokens) != 0)
			fail_msg("lex %s:\n  got  %s\n  want %s", cases[i].in, got, cases[i].tokens);
	}
}

static void test_after_end(void **state)
{
	(void)state;
	promql_lexer l;
	promql_lexer_init(&l, "a", 1);
	assert_int_equal(promql_lexer_next(&l).type, PT_IDENTIFIER);
	assert_int_equal(promql_lexer_next(&l).type, PT_EOF);
	assert_int_equal(promql_lexer_next(&l).type, PT_EOF);
	promql_lexer_init(&l, "\"", 1);
	assert_int_equal(promql_lexer_next(&l).type, PT_ERROR);
	assert_int_equal(promql_lexer_next(&l).type, PT_EOF);
}

static void test_token_desc(void **state)
{
	(void)state;
	static const struct {
		const char *in, *desc;
	} d[] = {
		{"(", "\"(\""}, {"+", "<op:+>"}, {"and", "<op:and>"}, {"sum", "<aggr:sum>"}, {"by", "<by>"},
		{"foo", "identifier \"foo\""}, {"a:b", "metric identifier \"a:b\""}, {"12", "number \"12\""},
		{"5m", "duration \"5m\""}, {"\"abcdefghijklmn\"", "string \"\\\"abcdefghi\"..."},
		{"start", "\"start\""}, {"", "end of input"},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		promql_lexer l;
		promql_lexer_init(&l, d[i].in, strlen(d[i].in));
		promql_token t = promql_lexer_next(&l);
		buf b;
		buf_init(&b, 0);
		promql_token_desc(d[i].in, &t, &b);
		if (strcmp(b.data, d[i].desc) != 0)
			fail_msg("desc of %s: got %s want %s", d[i].in, b.data, d[i].desc);
		buf_deinit(&b);
	}
}

static void test_quote_unquote(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 0);
	{ const char *raw = "a\"b\\c\n\t\x01\x7f\xff é"; promql__go_quote(&b, raw, strlen(raw)); }
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\x01\\x7f\\xff é\"");
	buf_reset(&b);
	const char *q = "\"a\\\"\\x41\\101\\u00e9\\U0001F600\\n\"";
	assert_int_equal(promql__unquote(q, strlen(q), &b), 0);
	assert_string_equal(b.data, "a\"AAé\xf0\x9f\x98\x80\n");
	buf_reset(&b);
	q = "'it\\'s'";
	assert_int_equal(promql__unquote(q, strlen(q), &b), 0);
	assert_string_equal(b.data, "it's");
	buf_reset(&b);
	q = "`a\\n\rb`";
	assert_int_equal(promql__unquote(q, strlen(q), &b), 0);
	assert_string_equal(b.data, "a\\nb");
	buf_reset(&b);
	q = "\"\\x00z\"";
	assert_int_equal(promql__unquote(q, strlen(q), &b), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(b.data[0], 0);
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_streams),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_token_desc),
		cmocka_unit_test(test_quote_unquote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
