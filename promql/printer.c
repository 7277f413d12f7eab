/*
 * printer.c — canonical PromQL text for an AST (Prometheus's Expr.String()), used by
 * /api/v1/format_query and by the round-trip fuzz target.
 *
 * Shapes printed (one recursive walk, O(size of the output)):
 *   number     Go strconv.FormatFloat(v, 'f', -1) ("1", "0.5", "+Inf", "NaN"), or the duration
 *              text ("5m", "-1h30m") when it was written as a duration
 *   string     Go strconv.Quote
 *   selector   name{m1,m2} with the matchers sorted as strings, the __name__="name" matcher
 *              omitted, then " @ <ts.3f>" / " @ start()" / " @ end()", then " offset <dur>"
 *   matrix     selector[range] @ ... offset ...
 *   subquery   expr[range:step] @ ... offset ...
 *   binary     lhs op[ bool][ on|ignoring (l)][ group_left|group_right (l)] rhs
 *   aggregate  op[ by|without (l) ](param, expr)
 *   call       name(arg, arg)      paren (expr)      unary -expr
 * The output re-parses to the same tree (parentheses are nodes, so no precedence is lost).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/lexer.h"
#include "promql/promql.h"
#include "util/fmt.h"

bool promql_is_legacy_label_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return false;
	}
	return true;
}

bool promql_is_legacy_metric_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (i > 0 && c >= '0' && c <= '9'))
			continue;
		return false;
	}
	return true;
}

int promql_quote(buf *out, const char *s, size_t len)
{
	size_t before = out->len;
	promql__go_quote(out, s, len);
	return out->len > before ? 0 : -1;
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64). */
static void put_float(buf *out, double v)
{
	if (isnan(v)) {
		buf_puts(out, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_puts(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		buf_puts(out, signbit(v) ? "-0" : "0");
		return;
	}
	char e[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof e, "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e = [-]d[.ddd]e[+-]XX */
	const char *c = e;
	if (*c == '-') {
		buf_putc(out, '-');
		c++;
	}
	char digits[24];
	int nd = 0;
	for (; *c && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9')
			digits[nd++] = *c;
	int exp = atoi(c + 1); /* value = d.ddd * 10^exp */
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp >= 0) {
		for (int i = 0; i <= exp; i++)
			buf_putc(out, i < nd ? digits[i] : '0');
		if (nd > exp + 1) {
			buf_putc(out, '.');
			buf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
		}
	} else {
		buf_puts(out, "0.");
		for (int i = 0; i < -exp - 1; i++)
			buf_putc(out, '0');
		buf_append(out, digits, (size_t)nd);
	}
}

/* Go's fmt %v of a float64 (strconv 'g' with the shortest digits): exponent form ("1e+06") when
 * the decimal exponent is < -4 or >= 6, else plain ("-23", "0.5"). */
static void put_float_g(buf *out, double v)
{
	if (isnan(v) || isinf(v) || v == 0) {
		put_float(out, v);
		return;
	}
	char e[40];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof e, "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	int exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6) {
		/* Go: mantissa digits, "e", sign, at least two exponent digits */
		char *ep = strchr(e, 'e');
		buf_append(out, e, (size_t)(ep - e));
		buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	put_float(out, v);
}

static void put_duration(buf *out, int64_t ms)
{
	char d[64];
	fmt_duration_ms(d, sizeof d, ms);
	buf_puts(out, d);
}

static void put_labels(buf *out, const char **ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(out, ", ");
		size_t l = strlen(ls[i]);
		if (promql_is_legacy_label_name(ls[i], l))
			buf_append(out, ls[i], l);
		else
			promql__go_quote(out, ls[i], l);
	}
}

static void put_number(buf *out, double v, bool duration)
{
	if (duration) {
		if (v < 0) {
			buf_putc(out, '-');
			v = -v;
		}
		put_duration(out, (int64_t)llround(v * 1000.0));
	} else {
		put_float(out, v);
	}
}

/* Prometheus's DurationExpr.String(). */
static void put_dur(buf *out, const promql_duration_expr *d)
{
	if (d->wrapped)
		buf_putc(out, '(');
	switch (d->kind) {
	case PROMQL_DUR_NUMBER:
		put_number(out, d->value, d->duration);
		break;
	case PROMQL_DUR_STEP:
		buf_puts(out, "step()");
		break;
	case PROMQL_DUR_RANGE:
		buf_puts(out, "range()");
		break;
	case PROMQL_DUR_MIN_OF:
	case PROMQL_DUR_MAX_OF:
		buf_puts(out, d->kind == PROMQL_DUR_MIN_OF ? "min_of(" : "max_of(");
		put_dur(out, d->lhs);
		buf_puts(out, ", ");
		put_dur(out, d->rhs);
		buf_putc(out, ')');
		break;
	case PROMQL_DUR_UNARY:
		if (d->op == PROMQL_OP_SUB)
			buf_putc(out, '-');
		put_dur(out, d->rhs);
		break;
	case PROMQL_DUR_BINARY:
		put_dur(out, d->lhs);
		buf_putc(out, ' ');
		buf_puts(out, promql_binop_name(d->op));
		buf_putc(out, ' ');
		put_dur(out, d->rhs);
		break;
	}
	if (d->wrapped)
		buf_putc(out, ')');
}

static void put_range(buf *out, int64_t ms, const promql_duration_expr *d)
{
	if (d)
		put_dur(out, d);
	else
		put_duration(out, ms);
}

static void put_at_offset(buf *out, const promql_at *at, int64_t offset_ms, const promql_duration_expr *offset_expr,
			  const promql_vector_selector *ext)
{
	switch (at->kind) {
	case PROMQL_AT_TIMESTAMP:
		buf_printf(out, " @ %.3f", (double)at->ts_ms / 1000.0);
		break;
	case PROMQL_AT_START:
		buf_puts(out, " @ start()");
		break;
	case PROMQL_AT_END:
		buf_puts(out, " @ end()");
		break;
	default:
		break;
	}
	if (ext && ext->anchored)
		buf_puts(out, " anchored");
	else if (ext && ext->smoothed)
		buf_puts(out, " smoothed");
	if (offset_expr) {
		buf_puts(out, " offset ");
		put_dur(out, offset_expr);
	} else if (offset_ms > 0) {
		buf_puts(out, " offset ");
		put_duration(out, offset_ms);
	} else if (offset_ms < 0) {
		buf_puts(out, " offset -");
		put_duration(out, -offset_ms);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_selector_body(buf *out, const promql_vector_selector *vs)
{
	int rc = -1;
	char **strs = calloc(vs->n_matchers ? vs->n_matchers : 1, sizeof(char *));
	size_t ns = 0;
	if (!strs)
		return -1;
	for (size_t i = 0; i < vs->n_matchers; i++) {
		const tsdb_matcher *m = &vs->matchers[i];
		if (vs->name && m->type == TSDB_MATCH_EQ && strcmp(m->name, SLOD_METRIC_NAME) == 0 &&
		    strcmp(m->value, vs->name) == 0 && m->value[0] != '\0')
			continue;
		buf b;
		buf_init(&b, 0);
		size_t nl = strlen(m->name);
		if (promql_is_legacy_label_name(m->name, nl))
			buf_append(&b, m->name, nl);
		else
			promql__go_quote(&b, m->name, nl);
		static const char *ops[] = {"=", "!=", "=~", "!~"};
		buf_puts(&b, ops[m->type]);
		promql__go_quote(&b, m->value, strlen(m->value));
		strs[ns++] = buf_steal(&b);
		if (!strs[ns - 1])
			goto out;
	}
	qsort(strs, ns, sizeof(char *), cmp_str);
	if (vs->name)
		buf_puts(out, vs->name);
	if (ns || !vs->name) { /* "{}" only reaches here as info()'s label-selector argument */
		buf_putc(out, '{');
		for (size_t i = 0; i < ns; i++) {
			if (i)
				buf_putc(out, ',');
			buf_puts(out, strs[i]);
		}
		buf_putc(out, '}');
	}
	rc = 0;
out:
	for (size_t i = 0; i < ns; i++)
		free(strs[i]);
	free(strs);
	return rc;
}

static int put_node(buf *out, const promql_node *n)
{
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
		put_number(out, n->number.value, n->number.duration);
		return 0;
	case PROMQL_NODE_STRING:
		promql__go_quote(out, n->string.value, n->string.len);
		return 0;
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (put_selector_body(out, &n->vs) != 0)
			return -1;
		put_at_offset(out, &n->vs.at, n->vs.offset_ms, n->vs.offset_expr, &n->vs);
		return 0;
	case PROMQL_NODE_MATRIX_SELECTOR: {
		const promql_vector_selector *vs = &n->matrix.vs->vs;
		if (put_selector_body(out, vs) != 0)
			return -1;
		buf_putc(out, '[');
		put_range(out, n->matrix.range_ms, n->matrix.range_expr);
		buf_putc(out, ']');
		/* Prometheus's MatrixSelector.String(): "[range]" then anchored/smoothed, @, offset */
		if (vs->anchored)
			buf_puts(out, " anchored");
		else if (vs->smoothed)
			buf_puts(out, " smoothed");
		put_at_offset(out, &vs->at, vs->offset_ms, vs->offset_expr, NULL);
		return 0;
	}
	case PROMQL_NODE_SUBQUERY:
		if (put_node(out, n->subquery.expr) != 0)
			return -1;
		buf_putc(out, '[');
		put_range(out, n->subquery.range_ms, n->subquery.range_expr);
		buf_putc(out, ':');
		if (n->subquery.step_expr)
			put_dur(out, n->subquery.step_expr);
		else if (n->subquery.step_ms)
			put_duration(out, n->subquery.step_ms);
		buf_putc(out, ']');
		put_at_offset(out, &n->subquery.at, n->subquery.offset_ms, n->subquery.offset_expr, NULL);
		return 0;
	case PROMQL_NODE_UNARY:
		buf_puts(out, n->unary.op == PROMQL_OP_SUB ? "-" : "+");
		return put_node(out, n->unary.expr);
	case PROMQL_NODE_PAREN:
		buf_putc(out, '(');
		if (put_node(out, n->paren.expr) != 0)
			return -1;
		buf_putc(out, ')');
		return 0;
	case PROMQL_NODE_BINARY: {
		const promql_node *l = n->binary.lhs;
		if (n->binary.op == PROMQL_OP_POW && l->kind == PROMQL_NODE_NUMBER && !l->number.duration &&
		    isinf(l->number.value) && l->number.value > 0) {
			/* "+Inf ^ x" would re-parse as +(Inf ^ x): the one place where Prometheus's
			 * "+Inf" does not round-trip */
			buf_puts(out, "Inf");
		} else if (put_node(out, l) != 0) {
			return -1;
		}
		buf_putc(out, ' ');
		buf_puts(out, promql_binop_name(n->binary.op));
		if (n->binary.return_bool)
			buf_puts(out, " bool");
		const promql_vector_matching *vm = n->binary.matching;
		if (vm) {
			bool grouped = vm->card == PROMQL_CARD_MANY_TO_ONE || vm->card == PROMQL_CARD_ONE_TO_MANY;
			if (vm->n_labels > 0 || vm->on || grouped) {
				buf_puts(out, vm->on ? " on (" : " ignoring (");
				put_labels(out, vm->labels, vm->n_labels);
				buf_putc(out, ')');
			}
			if (grouped) {
				buf_puts(out, vm->card == PROMQL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
				put_labels(out, vm->include, vm->n_include);
				buf_putc(out, ')');
			}
			if (vm->fill_lhs_set && vm->fill_rhs_set && vm->fill_lhs == vm->fill_rhs) {
				buf_puts(out, " fill (");
				put_float_g(out, vm->fill_lhs);
				buf_putc(out, ')');
			} else {
				if (vm->fill_lhs_set) {
					buf_puts(out, " fill_left (");
					put_float_g(out, vm->fill_lhs);
					buf_putc(out, ')');
				}
				if (vm->fill_rhs_set) {
					buf_puts(out, " fill_right (");
					put_float_g(out, vm->fill_rhs);
					buf_putc(out, ')');
				}
			}
		}
		buf_putc(out, ' ');
		return put_node(out, n->binary.rhs);
	}
	case PROMQL_NODE_AGGREGATE:
		buf_puts(out, promql_aggop_name(n->aggregate.op));
		if (n->aggregate.without) {
			buf_puts(out, " without (");
			put_labels(out, n->aggregate.grouping, n->aggregate.n_grouping);
			buf_puts(out, ") ");
		} else if (n->aggregate.n_grouping > 0) {
			buf_puts(out, " by (");
			put_labels(out, n->aggregate.grouping, n->aggregate.n_grouping);
			buf_puts(out, ") ");
		}
		buf_putc(out, '(');
		if (n->aggregate.param) {
			if (put_node(out, n->aggregate.param) != 0)
				return -1;
			buf_puts(out, ", ");
		}
		if (put_node(out, n->aggregate.expr) != 0)
			return -1;
		buf_putc(out, ')');
		return 0;
	case PROMQL_NODE_CALL:
		buf_puts(out, n->call.func->name);
		buf_putc(out, '(');
		for (size_t i = 0; i < n->call.n_args; i++) {
			if (i)
				buf_puts(out, ", ");
			if (put_node(out, n->call.args[i]) != 0)
				return -1;
		}
		buf_putc(out, ')');
		return 0;
	}
	return -1;
}

int promql_format(const promql_node *node, buf *out)
{
	size_t before = out->len;
	if (put_node(out, node) != 0)
		return -1;
	/* buf_* calls fail silently (keep old contents) when full: detect a short write */
	if (buf_append(out, "", 0) != 0 || (out->len == before && node))
		return -1;
	return 0;
}

/* ---- Prometheus's Pretty(): one node per line when a subtree is longer than 100 bytes ---- */

#define PRETTY_MAX_LINE 100

static void indent(buf *out, int level)
{
	for (int i = 0; i < level; i++)
		buf_puts(out, "  ");
}

/* String() of n into s (reset first); returns its length, or -1. */
static long node_string(const promql_node *n, buf *s)
{
	buf_reset(s);
	if (put_node(s, n) != 0)
		return -1;
	return (long)s->len;
}

static int pretty(buf *out, const promql_node *n, int level);

static int pretty_trimmed(buf *out, const promql_node *n, int level)
{
	/* Go's strings.TrimSpace of the child's Pretty() */
	buf tmp;
	buf_init(&tmp, 0);
	int rc = pretty(&tmp, n, level);
	if (rc == 0 && tmp.data) {
		size_t a = 0, b = tmp.len;
		while (a < b && (tmp.data[a] == ' ' || tmp.data[a] == '\n' || tmp.data[a] == '\t' || tmp.data[a] == '\r'))
			a++;
		while (b > a && (tmp.data[b - 1] == ' ' || tmp.data[b - 1] == '\n' || tmp.data[b - 1] == '\t' ||
				 tmp.data[b - 1] == '\r'))
			b--;
		buf_append(out, tmp.data + a, b - a);
	}
	buf_deinit(&tmp);
	return rc;
}

static int pretty(buf *out, const promql_node *n, int level)
{
	buf str;
	buf_init(&str, 0);
	int rc = 0;
	long len = node_string(n, &str);
	if (len < 0) {
		rc = -1;
		goto out;
	}
	bool split = len > PRETTY_MAX_LINE;
	switch (n->kind) {
	case PROMQL_NODE_AGGREGATE:
		indent(out, level);
		if (!split) {
			buf_append(out, str.data, str.len);
			break;
		}
		buf_puts(out, promql_aggop_name(n->aggregate.op));
		if (n->aggregate.without) {
			buf_puts(out, " without (");
			put_labels(out, n->aggregate.grouping, n->aggregate.n_grouping);
			buf_puts(out, ") ");
		} else if (n->aggregate.n_grouping > 0) {
			buf_puts(out, " by (");
			put_labels(out, n->aggregate.grouping, n->aggregate.n_grouping);
			buf_puts(out, ") ");
		}
		buf_puts(out, "(\n");
		if (n->aggregate.param) {
			if (pretty(out, n->aggregate.param, level + 1) != 0) {
				rc = -1;
				break;
			}
			buf_puts(out, ",\n");
		}
		if (pretty(out, n->aggregate.expr, level + 1) != 0) {
			rc = -1;
			break;
		}
		buf_putc(out, '\n');
		indent(out, level);
		buf_putc(out, ')');
		break;
	case PROMQL_NODE_BINARY: {
		if (!split) {
			indent(out, level);
			buf_append(out, str.data, str.len);
			break;
		}
		if (pretty(out, n->binary.lhs, level + 1) != 0) {
			rc = -1;
			break;
		}
		buf_putc(out, '\n');
		indent(out, level);
		/* operator, bool and matching: the text between the operands in String() */
		buf_reset(&str);
		promql_node copy = *n;
		promql_node empty = {0};
		empty.kind = PROMQL_NODE_STRING;
		empty.string.value = "";
		copy.binary.lhs = &empty;
		copy.binary.rhs = &empty;
		if (put_node(&str, &copy) != 0) {
			rc = -1;
			break;
		}
		/* `"" op... ""`: drop the quotes and the spaces around */
		buf_append(out, str.data + 3, str.len - 6);
		buf_putc(out, '\n');
		rc = pretty(out, n->binary.rhs, level + 1);
		break;
	}
	case PROMQL_NODE_CALL:
		indent(out, level);
		if (!split) {
			buf_append(out, str.data, str.len);
			break;
		}
		buf_puts(out, n->call.func->name);
		buf_puts(out, "(\n");
		for (size_t i = 0; i < n->call.n_args; i++) {
			if (i)
				buf_puts(out, ",\n");
			if (pretty(out, n->call.args[i], level + 1) != 0) {
				rc = -1;
				break;
			}
		}
		buf_putc(out, '\n');
		indent(out, level);
		buf_putc(out, ')');
		break;
	case PROMQL_NODE_PAREN:
		indent(out, level);
		if (!split) {
			buf_append(out, str.data, str.len);
			break;
		}
		buf_puts(out, "(\n");
		if (pretty(out, n->paren.expr, level + 1) != 0) {
			rc = -1;
			break;
		}
		buf_putc(out, '\n');
		indent(out, level);
		buf_putc(out, ')');
		break;
	case PROMQL_NODE_SUBQUERY: {
		if (!split) { /* Prometheus does not indent an unsplit subquery */
			buf_append(out, str.data, str.len);
			break;
		}
		if (pretty(out, n->subquery.expr, level) != 0) {
			rc = -1;
			break;
		}
		/* the "[range:step] @ ... offset ..." suffix: String() minus the inner expression */
		buf inner;
		buf_init(&inner, 0);
		long il = node_string(n->subquery.expr, &inner);
		buf_deinit(&inner);
		if (il < 0) {
			rc = -1;
			break;
		}
		buf_append(out, str.data + il, str.len - (size_t)il);
		break;
	}
	case PROMQL_NODE_UNARY:
		indent(out, level);
		buf_puts(out, n->unary.op == PROMQL_OP_SUB ? "-" : "+");
		rc = pretty_trimmed(out, n->unary.expr, level);
		break;
	default:
		indent(out, level);
		buf_append(out, str.data, str.len);
		break;
	}
out:
	buf_deinit(&str);
	return rc;
}

int promql_format_pretty(const promql_node *node, buf *out)
{
	size_t before = out->len;
	if (pretty(out, node, 0) != 0)
		return -1;
	if (buf_append(out, "", 0) != 0 || out->len == before)
		return -1;
	return 0;
}

char *promql_format_arena(const promql_node *node, arena *a)
{
	buf b;
	buf_init(&b, 0);
	char *res = NULL;
	if (promql_format(node, &b) == 0)
		res = arena_strndup(a, b.data ? b.data : "", b.len);
	buf_deinit(&b);
	return res;
}
