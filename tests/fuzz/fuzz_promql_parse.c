/*
 * fuzz_promql_parse.c — libFuzzer target for the PromQL parser: any input must either parse
 * (and then print) or fail with a positioned error, without crashes, leaks or UB. The same bytes
 * also go through promql_parse_selector() with a caller arena.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	promql_expr *e = NULL;
	promql_error err;
	promql_parse_options all = {.enable_duration_expressions = true, .enable_extended_range_selectors = true,
				    .enable_binop_fill_modifiers = true};
	int rc = promql_parse((const char *)data, size, &all, &e, &err);
	if (rc == 0) {
		/* step()/range() resolution must be safe for any query step and range */
		char why[128];
		(void)promql_resolve_durations(e->root, 15000, 3600000, why, sizeof why);
		promql_expr_free(e);
		e = NULL;
	}
	rc = promql_parse((const char *)data, size, NULL, &e, &err);
	if (rc == 0) {
		buf b;
		buf_init(&b, 0);
		if (promql_format(e->root, &b) != 0 || promql_format_pretty(e->root, &b) != 0 ||
		    promql_ast_json(e->root, &b) != 0)
			abort();
		buf_deinit(&b);
		promql_expr_free(e);
	} else {
		if (e != NULL || err.text[0] == '\0' || err.start > size)
			abort();
	}
	arena a;
	arena_init(&a, 0);
	tsdb_matcher *m;
	size_t n;
	rc = promql_parse_selector((const char *)data, size, &a, &m, &n, &err);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			if (m[i].re_match)
				(void)m[i].re_match(m[i].re, "x", 1);
	}
	arena_deinit(&a);
	return 0;
}
