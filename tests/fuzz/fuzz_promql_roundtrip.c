/*
 * fuzz_promql_roundtrip.c — libFuzzer target: parse -> print -> parse -> print. Whenever the
 * input parses, its canonical text must parse again and print identically (so
 * /api/v1/format_query output is always a valid, stable query). Aborts otherwise. Runs with the
 * default options and again with the experimental syntax (duration expressions, anchored/smoothed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One round trip with the given options; aborts on a mismatch. */
static void roundtrip(const uint8_t *data, size_t size, const promql_parse_options *opt)
{
	promql_expr *e1 = NULL, *e2 = NULL;
	promql_error err;
	if (promql_parse((const char *)data, size, opt, &e1, &err) != 0)
		return;
	buf b1, b2;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	if (promql_format(e1->root, &b1) != 0)
		abort();
	if (promql_parse(b1.data, b1.len, opt, &e2, &err) != 0) {
		fprintf(stderr, "printed query does not parse: %s\n  %s\n", b1.data, err.text);
		abort();
	}
	if (promql_format(e2->root, &b2) != 0)
		abort();
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
		fprintf(stderr, "round trip differs:\n  %s\n  %s\n", b1.data, b2.data);
		abort();
	}
	/* the pretty form (/api/v1/format_query) must parse to the same tree too */
	buf_reset(&b2);
	if (promql_format_pretty(e1->root, &b2) != 0)
		abort();
	promql_expr_free(e2);
	e2 = NULL;
	if (promql_parse(b2.data, b2.len, opt, &e2, &err) != 0) {
		fprintf(stderr, "pretty query does not parse: %s\n  %s\n", b2.data, err.text);
		abort();
	}
	buf_reset(&b2);
	if (promql_format(e2->root, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
		fprintf(stderr, "pretty round trip differs:\n  %s\n  %s\n", b1.data, b2.data);
		abort();
	}
	buf_deinit(&b1);
	buf_deinit(&b2);
	promql_expr_free(e1);
	promql_expr_free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	promql_parse_options all = {.enable_duration_expressions = true, .enable_extended_range_selectors = true,
				    .enable_binop_fill_modifiers = true};
	roundtrip(data, size, NULL);
	roundtrip(data, size, &all);
	return 0;
}
