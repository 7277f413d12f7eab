/*
 * astjson.c — the AST as the JSON object Prometheus's /api/v1/parse_query returns (its UI tree
 * view): {"type":"aggregation","op":"sum","expr":{...},...}.
 *
 * Shape, per node type (keys in sorted order, as Go's encoding of maps produces them):
 *   aggregation     expr grouping op param type without
 *   binaryExpr      bool lhs matching{card fillValues{lhs rhs} include labels on}|null op rhs type
 *   call            args func{argTypes name returnType variadic} type
 *   matrixSelector  anchored matchers name offset offsetExpr range rangeExpr smoothed startOrEnd
 *                   timestamp type
 *   subquery        expr offset offsetExpr range rangeExpr startOrEnd step stepExpr timestamp type
 *   numberLiteral   type val (val is a string: Go FormatFloat 'f')
 *   parenExpr       expr type;  stringLiteral type val;  unaryExpr expr op type
 *   vectorSelector  anchored matchers name offset offsetExpr smoothed startOrEnd timestamp type
 *   durationExpr    lhs op rhs type wrapped;  (number inside) duration type val
 * A range/step/offset written as a duration expression shows 0 next to its "...Expr" (Prometheus
 * computes those at evaluation). Strings are escaped like Go's encoding/json (including <, >, & as \u003c...). One recursive
 * walk: O(size of the output).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promql/lexer.h"
#include "promql/promql.h"

static void json_str(buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_putc(out, '"');
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			switch (c) {
			case '"': buf_puts(out, "\\\""); break;
			case '\\': buf_puts(out, "\\\\"); break;
			case '\n': buf_puts(out, "\\n"); break;
			case '\r': buf_puts(out, "\\r"); break;
			case '\t': buf_puts(out, "\\t"); break;
			default:
				if (c < 0x20 || c == '<' || c == '>' || c == '&') {
					char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
					buf_append(out, u, 6);
				} else {
					buf_putc(out, (char)c);
				}
			}
			i++;
			continue;
		}
		uint32_t r;
		int w = promql__utf8_decode(s + i, n - i, &r);
		if (r == 0xFFFD && w == 1)
			buf_puts(out, "\\ufffd");
		else if (r == 0x2028 || r == 0x2029)
			buf_puts(out, r == 0x2028 ? "\\u2028" : "\\u2029");
		else
			buf_append(out, s + i, (size_t)w);
		i += (size_t)w;
	}
	buf_putc(out, '"');
}

static void json_cstr(buf *out, const char *s)
{
	json_str(out, s, strlen(s));
}

static void json_key(buf *out, const char *k, bool *first)
{
	if (!*first)
		buf_putc(out, ',');
	*first = false;
	json_cstr(out, k);
	buf_putc(out, ':');
}

static void json_float_str(buf *out, double v)
{
	/* Go's strconv.FormatFloat(v, 'f', -1, 64), reusing the printer via a number node */
	promql_node n = {0};
	n.kind = PROMQL_NODE_NUMBER;
	n.number.value = v;
	buf tmp;
	buf_init(&tmp, 0);
	promql_format(&n, &tmp);
	json_str(out, tmp.data ? tmp.data : "0", tmp.len);
	buf_deinit(&tmp);
}

/* A *float64 in Go's encoding/json: null, or a number ('f' notation; NaN/Inf are not JSON and
 * make Go fail, so they are written as null here). */
static void json_fill(buf *out, bool set, double v)
{
	if (!set || isnan(v) || isinf(v)) {
		buf_puts(out, "null");
		return;
	}
	promql_node n = {0};
	n.kind = PROMQL_NODE_NUMBER;
	n.number.value = v;
	promql_format(&n, out);
}

static void json_labels(buf *out, const char **ls, size_t n)
{
	buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(out, ',');
		json_cstr(out, ls[i]);
	}
	buf_putc(out, ']');
}

static const char *type_json(promql_value_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR: return "scalar";
	case PROMQL_TYPE_VECTOR: return "vector";
	case PROMQL_TYPE_MATRIX: return "matrix";
	case PROMQL_TYPE_STRING: return "string";
	default: return "none";
	}
}

static void json_dur(buf *out, const promql_duration_expr *d)
{
	bool f = true;
	if (!d) {
		buf_puts(out, "null");
		return;
	}
	buf_putc(out, '{');
	if (d->kind == PROMQL_DUR_NUMBER) {
		json_key(out, "duration", &f);
		buf_puts(out, d->duration ? "true" : "false");
		json_key(out, "type", &f);
		json_cstr(out, "numberLiteral");
		json_key(out, "val", &f);
		json_float_str(out, d->value);
		buf_putc(out, '}');
		return;
	}
	const char *op;
	switch (d->kind) {
	case PROMQL_DUR_STEP: op = "step"; break;
	case PROMQL_DUR_RANGE: op = "range"; break;
	case PROMQL_DUR_MIN_OF: op = "min_of"; break;
	case PROMQL_DUR_MAX_OF: op = "max_of"; break;
	default: op = promql_binop_name(d->op); break;
	}
	json_key(out, "lhs", &f);
	json_dur(out, d->lhs);
	json_key(out, "op", &f);
	json_cstr(out, op);
	json_key(out, "rhs", &f);
	json_dur(out, d->rhs);
	json_key(out, "type", &f);
	json_cstr(out, "durationExpr");
	json_key(out, "wrapped", &f);
	buf_puts(out, d->wrapped ? "true" : "false");
	buf_putc(out, '}');
}

static void json_matchers(buf *out, const promql_vector_selector *vs)
{
	static const char *ops[] = {"=", "!=", "=~", "!~"};
	buf_putc(out, '[');
	for (size_t i = 0; i < vs->n_matchers; i++) {
		bool f = true;
		if (i)
			buf_putc(out, ',');
		buf_putc(out, '{');
		json_key(out, "name", &f);
		json_cstr(out, vs->matchers[i].name);
		json_key(out, "type", &f);
		json_cstr(out, ops[vs->matchers[i].type]);
		json_key(out, "value", &f);
		json_cstr(out, vs->matchers[i].value);
		buf_putc(out, '}');
	}
	buf_putc(out, ']');
}

static void json_start_or_end(buf *out, const promql_at *at, bool *f)
{
	json_key(out, "startOrEnd", f);
	if (at->kind == PROMQL_AT_START)
		json_cstr(out, "start");
	else if (at->kind == PROMQL_AT_END)
		json_cstr(out, "end");
	else
		buf_puts(out, "null");
}

static void json_timestamp(buf *out, const promql_at *at, bool *f)
{
	json_key(out, "timestamp", f);
	if (at->kind == PROMQL_AT_TIMESTAMP)
		buf_printf(out, "%lld", (long long)at->ts_ms);
	else
		buf_puts(out, "null");
}

static void json_at(buf *out, const promql_at *at, bool *f)
{
	json_start_or_end(out, at, f);
	json_timestamp(out, at, f);
}

static void json_node(buf *out, const promql_node *n)
{
	bool f = true;
	if (!n) {
		buf_puts(out, "null");
		return;
	}
	buf_putc(out, '{');
	switch (n->kind) {
	case PROMQL_NODE_AGGREGATE:
		json_key(out, "expr", &f);
		json_node(out, n->aggregate.expr);
		json_key(out, "grouping", &f);
		json_labels(out, n->aggregate.grouping, n->aggregate.n_grouping);
		json_key(out, "op", &f);
		json_cstr(out, promql_aggop_name(n->aggregate.op));
		json_key(out, "param", &f);
		json_node(out, n->aggregate.param);
		json_key(out, "type", &f);
		json_cstr(out, "aggregation");
		json_key(out, "without", &f);
		buf_puts(out, n->aggregate.without ? "true" : "false");
		break;
	case PROMQL_NODE_BINARY: {
		const promql_vector_matching *vm = n->binary.matching;
		json_key(out, "bool", &f);
		buf_puts(out, n->binary.return_bool ? "true" : "false");
		json_key(out, "lhs", &f);
		json_node(out, n->binary.lhs);
		json_key(out, "matching", &f);
		if (vm) {
			static const char *cards[] = {"one-to-one", "many-to-one", "one-to-many", "many-to-many"};
			bool g = true;
			buf_putc(out, '{');
			json_key(out, "card", &g);
			json_cstr(out, cards[vm->card]);
			json_key(out, "fillValues", &g);
			buf_puts(out, "{\"lhs\":");
			json_fill(out, vm->fill_lhs_set, vm->fill_lhs);
			buf_puts(out, ",\"rhs\":");
			json_fill(out, vm->fill_rhs_set, vm->fill_rhs);
			buf_putc(out, '}');
			json_key(out, "include", &g);
			json_labels(out, vm->include, vm->n_include);
			json_key(out, "labels", &g);
			json_labels(out, vm->labels, vm->n_labels);
			json_key(out, "on", &g);
			buf_puts(out, vm->on ? "true" : "false");
			buf_putc(out, '}');
		} else {
			buf_puts(out, "null");
		}
		json_key(out, "op", &f);
		json_cstr(out, promql_binop_name(n->binary.op));
		json_key(out, "rhs", &f);
		json_node(out, n->binary.rhs);
		json_key(out, "type", &f);
		json_cstr(out, "binaryExpr");
		break;
	}
	case PROMQL_NODE_CALL: {
		const promql_function *fn = n->call.func;
		json_key(out, "args", &f);
		buf_putc(out, '[');
		for (size_t i = 0; i < n->call.n_args; i++) {
			if (i)
				buf_putc(out, ',');
			json_node(out, n->call.args[i]);
		}
		buf_putc(out, ']');
		json_key(out, "func", &f);
		buf_puts(out, "{\"argTypes\":[");
		for (int i = 0; i < fn->n_arg_types; i++) {
			if (i)
				buf_putc(out, ',');
			json_cstr(out, type_json(fn->arg_types[i]));
		}
		buf_puts(out, "],\"name\":");
		json_cstr(out, fn->name);
		buf_puts(out, ",\"returnType\":");
		json_cstr(out, type_json(fn->return_type));
		buf_printf(out, ",\"variadic\":%d}", fn->variadic);
		json_key(out, "type", &f);
		json_cstr(out, "call");
		break;
	}
	case PROMQL_NODE_MATRIX_SELECTOR: {
		const promql_vector_selector *vs = &n->matrix.vs->vs;
		json_key(out, "anchored", &f);
		buf_puts(out, vs->anchored ? "true" : "false");
		json_key(out, "matchers", &f);
		json_matchers(out, vs);
		json_key(out, "name", &f);
		json_cstr(out, vs->name ? vs->name : "");
		json_key(out, "offset", &f);
		buf_printf(out, "%lld", vs->offset_expr ? 0LL : (long long)vs->offset_ms);
		json_key(out, "offsetExpr", &f);
		json_dur(out, vs->offset_expr);
		json_key(out, "range", &f);
		buf_printf(out, "%lld", n->matrix.range_expr ? 0LL : (long long)n->matrix.range_ms);
		json_key(out, "rangeExpr", &f);
		json_dur(out, n->matrix.range_expr);
		json_key(out, "smoothed", &f);
		buf_puts(out, vs->smoothed ? "true" : "false");
		json_at(out, &vs->at, &f);
		json_key(out, "type", &f);
		json_cstr(out, "matrixSelector");
		break;
	}
	case PROMQL_NODE_SUBQUERY:
		json_key(out, "expr", &f);
		json_node(out, n->subquery.expr);
		json_key(out, "offset", &f);
		buf_printf(out, "%lld", n->subquery.offset_expr ? 0LL : (long long)n->subquery.offset_ms);
		json_key(out, "offsetExpr", &f);
		json_dur(out, n->subquery.offset_expr);
		json_key(out, "range", &f);
		buf_printf(out, "%lld", n->subquery.range_expr ? 0LL : (long long)n->subquery.range_ms);
		json_key(out, "rangeExpr", &f);
		json_dur(out, n->subquery.range_expr);
		json_start_or_end(out, &n->subquery.at, &f);
		json_key(out, "step", &f);
		buf_printf(out, "%lld", n->subquery.step_expr ? 0LL : (long long)n->subquery.step_ms);
		json_key(out, "stepExpr", &f);
		json_dur(out, n->subquery.step_expr);
		json_timestamp(out, &n->subquery.at, &f);
		json_key(out, "type", &f);
		json_cstr(out, "subquery");
		break;
	case PROMQL_NODE_NUMBER:
		json_key(out, "type", &f);
		json_cstr(out, "numberLiteral");
		json_key(out, "val", &f);
		json_float_str(out, n->number.value);
		break;
	case PROMQL_NODE_PAREN:
		json_key(out, "expr", &f);
		json_node(out, n->paren.expr);
		json_key(out, "type", &f);
		json_cstr(out, "parenExpr");
		break;
	case PROMQL_NODE_STRING:
		json_key(out, "type", &f);
		json_cstr(out, "stringLiteral");
		json_key(out, "val", &f);
		json_str(out, n->string.value, n->string.len);
		break;
	case PROMQL_NODE_UNARY:
		json_key(out, "expr", &f);
		json_node(out, n->unary.expr);
		json_key(out, "op", &f);
		json_cstr(out, n->unary.op == PROMQL_OP_SUB ? "-" : "+");
		json_key(out, "type", &f);
		json_cstr(out, "unaryExpr");
		break;
	case PROMQL_NODE_VECTOR_SELECTOR: {
		const promql_vector_selector *vs = &n->vs;
		json_key(out, "anchored", &f);
		buf_puts(out, vs->anchored ? "true" : "false");
		json_key(out, "matchers", &f);
		json_matchers(out, vs);
		json_key(out, "name", &f);
		json_cstr(out, vs->name ? vs->name : "");
		json_key(out, "offset", &f);
		buf_printf(out, "%lld", vs->offset_expr ? 0LL : (long long)vs->offset_ms);
		json_key(out, "offsetExpr", &f);
		json_dur(out, vs->offset_expr);
		json_key(out, "smoothed", &f);
		buf_puts(out, vs->smoothed ? "true" : "false");
		json_at(out, &vs->at, &f);
		json_key(out, "type", &f);
		json_cstr(out, "vectorSelector");
		break;
	}
	}
	buf_putc(out, '}');
}

int promql_ast_json(const promql_node *node, buf *out)
{
	size_t before = out->len;
	json_node(out, node);
	if (buf_append(out, "", 0) != 0 || out->len == before)
		return -1;
	return 0;
}
