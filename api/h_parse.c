/*
 * h_parse.c — GET|POST /api/v1/format_query and /api/v1/parse_query: the query's canonical
 * pretty-printed text (Prometheus's Pretty(), what its format_query answers) and its syntax tree as
 * JSON (parse_query). Both only parse: no storage is read, so they answer before readiness too.
 * Errors: 400 bad_data `invalid parameter "query": <line:col: parse error: ...>`, as Prometheus.
 */
#include "api/internal.h"

#include <string.h>

#include "promql/promql.h"

/* Parses the "query" parameter; replies with the error and returns NULL when it does not parse. */
static promql_expr *parse_param(api_req *r)
{
	const char *q = api__param(r, "query");
	promql_expr *e = NULL;
	promql_error perr;
	if (!q)
		q = "";
	if (promql_parse(q, strlen(q), NULL, &e, &perr) != 0) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"query\": %s", perr.text);
		return NULL;
	}
	return e;
}

static void reply_text(api_req *r, promql_expr *e, int (*print)(const promql_node *, buf *), bool as_string)
{
	buf out;
	buf_init(&out, 16u << 20);
	if (print(e->root, &out) != 0) {
		api__reply_error(r, API_ERR_INTERNAL, "query too large to print");
	} else {
		api_json j;
		api__reply_json_begin(r, &j);
		if (as_string)
			api_json_strn(&j, out.data ? out.data : "", out.len);
		else
			api_json_raw(&j, out.data ? out.data : "null", out.data ? out.len : 4);
		api__reply_json_end(r, &j, NULL, 0);
	}
	buf_deinit(&out);
}

void api__h_format_query(api_req *r)
{
	promql_expr *e = parse_param(r);
	if (!e)
		return;
	reply_text(r, e, promql_format_pretty, true);
	promql_expr_free(e);
}

void api__h_parse_query(api_req *r)
{
	promql_expr *e = parse_param(r);
	if (!e)
		return;
	reply_text(r, e, promql_ast_json, false);
	promql_expr_free(e);
}
