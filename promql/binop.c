/*
 * binop.c — PromQL binary operators: scalar/scalar, vector/scalar and vector/vector (arithmetic,
 * comparison with and without bool, and/or/unless), with on/ignoring matching and
 * group_left/group_right, following Prometheus 3.x (engine.go VectorBinop & co.).
 *
 * Matching: a sample's signature is the hash of its labels restricted to the on() list, or of
 * all labels minus the ignoring() list and __name__. The "one" side is hashed into an open
 * addressing table (signature -> sample index); the "many" side probes it. Errors use
 * Prometheus's messages (duplicate series for the match group, multiple matches).
 * Name handling: vector/vector arithmetic removes __name__ right away (as Prometheus's
 * resultMetric does); vector/scalar arithmetic and `bool` comparisons mark the sample for delayed
 * name removal. Cost: O(n + m) per step plus label building for the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine_int.h"
#include "util/buf.h"

typedef struct sigtab {
	uint64_t *key;
	int32_t *val; /* index+1, 0 empty */
	size_t cap;
} sigtab;

static int sig_init(ev_ctx *c, sigtab *t, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2 + 2)
		cap *= 2;
	t->key = arena_alloc(c->sa, cap * sizeof *t->key);
	t->val = arena_calloc(c->sa, cap, sizeof *t->val);
	t->cap = cap;
	if (!t->key || !t->val)
		return promql__oom(c);
	return 0;
}

/* Returns the slot for key (val 0 when absent). */
static int32_t *sig_slot(sigtab *t, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (t->cap - 1);
	while (t->val[i] && t->key[i] != key)
		i = (i + 1) & (t->cap - 1);
	t->key[i] = key;
	return &t->val[i];
}

static bool is_arith(promql_binop op)
{
	switch (op) {
	case PROMQL_OP_ADD: case PROMQL_OP_SUB: case PROMQL_OP_MUL: case PROMQL_OP_DIV:
	case PROMQL_OP_MOD: case PROMQL_OP_POW: case PROMQL_OP_ATAN2:
		return true;
	default:
		return false;
	}
}

/* Applies op; for comparisons *keep says whether the comparison holds and the value is lhs. */
static double elem(promql_binop op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op) {
	case PROMQL_OP_ADD: return l + r;
	case PROMQL_OP_SUB: return l - r;
	case PROMQL_OP_MUL: return l * r;
	case PROMQL_OP_DIV: return l / r;
	case PROMQL_OP_POW: return pow(l, r);
	case PROMQL_OP_MOD: return fmod(l, r);
	case PROMQL_OP_ATAN2: return atan2(l, r);
	case PROMQL_OP_EQLC: *keep = l == r; return l;
	case PROMQL_OP_NEQ: *keep = l != r; return l;
	case PROMQL_OP_GTR: *keep = l > r; return l;
	case PROMQL_OP_LSS: *keep = l < r; return l;
	case PROMQL_OP_GTE: *keep = l >= r; return l;
	case PROMQL_OP_LTE: *keep = l <= r; return l;
	default: *keep = false; return 0;
	}
}

static bool in_list(const char *n, const char **names, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (strcmp(n, names[i]) == 0)
			return true;
	return false;
}

/* labels.MatchLabels: on -> only the names; else all but the names and __name__. */
static slod_labels match_labels(arena *a, const slod_labels *ls, const promql_vector_matching *m)
{
	slod_labels out = {0};
	out.v = arena_alloc(a, (ls->n ? ls->n : 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	for (size_t i = 0; i < ls->n; i++) {
		bool in = in_list(ls->v[i].name, m->labels, m->n_labels);
		if (m->on ? in : (!in && strcmp(ls->v[i].name, SLOD_METRIC_NAME) != 0))
			out.v[out.n++] = ls->v[i];
	}
	return out;
}

static const char *fmt_ls(arena *a, const slod_labels *ls)
{
	buf b;
	buf_init(&b, 0);
	labels_format(ls, &b);
	const char *s = arena_strdup(a, b.data ? b.data : "{}");
	buf_deinit(&b);
	return s ? s : "";
}

/* Prometheus's resultMetric for vector/vector operations. */
static slod_labels result_metric(ev_ctx *c, const slod_labels *l, const slod_labels *r, promql_binop op,
				 const promql_vector_matching *m)
{
	slod_labels out = {0};
	out.v = arena_alloc(c->sa, (l->n + m->n_include + 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	for (size_t i = 0; i < l->n; i++) {
		const char *n = l->v[i].name;
		if (is_arith(op) && promql__is_metadata_label(n))
			continue;
		if (m->card == PROMQL_CARD_ONE_TO_ONE) {
			bool in = in_list(n, m->labels, m->n_labels);
			if (m->on ? !in : in)
				continue;
		}
		if (in_list(n, m->include, m->n_include))
			continue; /* set from the other side below */
		out.v[out.n++] = l->v[i];
	}
	for (size_t k = 0; k < m->n_include; k++) {
		const char *v = labels_get(r, m->include[k]);
		if (v && *v)
			out.v[out.n++] = (slod_label){m->include[k], v};
	}
	labels_sort(&out);
	return out;
}

static int push(ev_ctx *c, ev_vector *o, size_t *cap, ev_sample s)
{
	if (o->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		ev_sample *ns = arena_alloc(c->sa, nc * sizeof *ns);
		if (!ns)
			return promql__oom(c);
		if (o->n)
			memcpy(ns, o->s, o->n * sizeof *ns);
		o->s = ns;
		*cap = nc;
	}
	o->s[o->n++] = s;
	return 0;
}

static int vector_vector(ev_ctx *c, const promql_node *n, ev_vector *L, ev_vector *R, ev_value *out)
{
	const promql_vector_matching *m = n->binary.matching;
	promql_binop op = n->binary.op;
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.n = 0;
	out->vec.s = NULL;
	size_t cap = 0;
	const char **names = m ? m->labels : NULL;
	size_t nn = m ? m->n_labels : 0;
	bool on = m ? m->on : false;

	uint64_t *lsig = arena_alloc(c->sa, (L->n + 1) * sizeof *lsig);
	uint64_t *rsig = arena_alloc(c->sa, (R->n + 1) * sizeof *rsig);
	if (!lsig || !rsig)
		return promql__oom(c);
	for (size_t i = 0; i < L->n; i++)
		lsig[i] = promql__signature(&L->s[i].ls, on, names, nn);
	for (size_t i = 0; i < R->n; i++)
		rsig[i] = promql__signature(&R->s[i].ls, on, names, nn);

	if (op == PROMQL_OP_AND || op == PROMQL_OP_UNLESS) {
		if (op == PROMQL_OP_AND && (L->n == 0 || R->n == 0))
			return 0;
		if (op == PROMQL_OP_UNLESS && (L->n == 0 || R->n == 0)) {
			out->vec = *L;
			return 0;
		}
		sigtab t;
		if (sig_init(c, &t, R->n) < 0)
			return -1;
		for (size_t i = 0; i < R->n; i++)
			*sig_slot(&t, rsig[i]) = 1;
		for (size_t i = 0; i < L->n; i++) {
			bool present = *sig_slot(&t, lsig[i]) != 0;
			if (present == (op == PROMQL_OP_AND) && push(c, &out->vec, &cap, L->s[i]) < 0)
				return -1;
		}
		return 0;
	}
	if (op == PROMQL_OP_OR) {
		if (L->n == 0) {
			out->vec = *R;
			return 0;
		}
		if (R->n == 0) {
			out->vec = *L;
			return 0;
		}
		sigtab t;
		if (sig_init(c, &t, L->n) < 0)
			return -1;
		for (size_t i = 0; i < L->n; i++) {
			*sig_slot(&t, lsig[i]) = 1;
			if (push(c, &out->vec, &cap, L->s[i]) < 0)
				return -1;
		}
		for (size_t i = 0; i < R->n; i++)
			if (!*sig_slot(&t, rsig[i]) && push(c, &out->vec, &cap, R->s[i]) < 0)
				return -1;
		return 0;
	}

	if (L->n == 0 || R->n == 0)
		return 0;
	bool swap = m->card == PROMQL_CARD_ONE_TO_MANY;
	ev_vector *lhs = swap ? R : L, *rhs = swap ? L : R;
	uint64_t *lhsig = swap ? rsig : lsig, *rhsig = swap ? lsig : rsig;
	sigtab t;
	if (sig_init(c, &t, rhs->n) < 0)
		return -1;
	for (size_t i = 0; i < rhs->n; i++) {
		int32_t *slot = sig_slot(&t, rhsig[i]);
		if (*slot) {
			const ev_sample *dup = &rhs->s[*slot - 1];
			slod_labels ml = match_labels(c->sa, &rhs->s[i].ls, m);
			const char *d1 = fmt_ls(c->sa, &rhs->s[i].ls), *d2 = fmt_ls(c->sa, &dup->ls);
			if (strcmp(d1, d2) > 0) {
				const char *x = d1;
				d1 = d2;
				d2 = x;
			}
			return promql__errorf(c,
					      "found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
					      fmt_ls(c->sa, &ml), swap ? "left" : "right", d1, d2);
		}
		*slot = (int32_t)i + 1;
	}
	/* matched signatures: for one-to-one a set of sigs; otherwise a set of (sig, output hash) */
	sigtab matched;
	if (sig_init(c, &matched, lhs->n) < 0)
		return -1;
	for (size_t i = 0; i < lhs->n; i++) {
		int32_t ri = *sig_slot(&t, lhsig[i]);
		if (!ri)
			continue;
		const ev_sample *ls = &lhs->s[i], *rs = &rhs->s[ri - 1];
		double fl = ls->v, fr = rs->v;
		if (swap) {
			double x = fl;
			fl = fr;
			fr = x;
		}
		bool keep;
		double v = elem(op, fl, fr, &keep);
		if (n->binary.return_bool) {
			v = keep ? 1.0 : 0.0;
		}
		slod_labels metric = result_metric(c, &ls->ls, &rs->ls, op, m);
		if (!metric.v)
			return promql__oom(c);
		if (m->card == PROMQL_CARD_ONE_TO_ONE) {
			int32_t *slot = sig_slot(&matched, lhsig[i]);
			if (*slot)
				return promql__errorf(c, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
			*slot = 1;
		} else {
			uint64_t key = lhsig[i] * 0x9e3779b97f4a7c15ULL ^ labels_hash(&metric);
			int32_t *slot = sig_slot(&matched, key);
			if (*slot)
				return promql__errorf(c, "multiple matches for labels: grouping labels must ensure unique matches");
			*slot = 1;
		}
		if (!keep && !n->binary.return_bool)
			continue;
		if (push(c, &out->vec, &cap, (ev_sample){metric, v, ls->t, n->binary.return_bool}) < 0)
			return -1;
	}
	return 0;
}

int promql__eval_binary(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	ev_value l, r;
	if (promql__eval(c, n->binary.lhs, t, &l) < 0)
		return -1;
	if (promql__eval(c, n->binary.rhs, t, &r) < 0)
		return -1;
	promql_binop op = n->binary.op;
	if (l.type == PROMQL_TYPE_SCALAR && r.type == PROMQL_TYPE_SCALAR) {
		bool keep;
		double v = elem(op, l.scalar, r.scalar, &keep);
		if (promql_binop_is_comparison(op))
			v = keep ? 1.0 : 0.0;
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = v;
		return 0;
	}
	if (l.type == PROMQL_TYPE_VECTOR && r.type == PROMQL_TYPE_VECTOR)
		return vector_vector(c, n, &l.vec, &r.vec, out);
	/* vector/scalar */
	bool swap = l.type == PROMQL_TYPE_SCALAR;
	ev_vector *vec = swap ? &r.vec : &l.vec;
	double s = swap ? l.scalar : r.scalar;
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.s = arena_alloc(c->sa, (vec->n ? vec->n : 1) * sizeof(ev_sample));
	out->vec.n = 0;
	if (!out->vec.s)
		return promql__oom(c);
	bool cmp = promql_binop_is_comparison(op);
	for (size_t i = 0; i < vec->n; i++) {
		double lf = vec->s[i].v, rf = s;
		if (swap) {
			lf = s;
			rf = vec->s[i].v;
		}
		bool keep;
		double v = elem(op, lf, rf, &keep);
		if (cmp && swap)
			v = rf;
		if (n->binary.return_bool) {
			v = keep ? 1.0 : 0.0;
			keep = true;
		}
		if (!keep)
			continue;
		ev_sample o = vec->s[i];
		o.v = v;
		if (is_arith(op) || n->binary.return_bool)
			o.drop_name = true;
		out->vec.s[out->vec.n++] = o;
	}
	return 0;
}
