/*
 * aggregate.c — PromQL aggregation operators (sum, avg, count, min, max, group, stddev, stdvar,
 * quantile, topk, bottomk, count_values, limitk, limit_ratio) with by/without, per step, with
 * Prometheus 3.x's numerics: Kahan-compensated sum, avg that falls back to an incremental mean
 * when the sum overflows, Welford's stddev/stdvar, NaN handling in min/max/topk as engine.go.
 *
 * Layout: groups are found through an open addressing table keyed by the grouping hash (hash of
 * the by-labels, or of all labels minus the without-labels and __name__); each group keeps its
 * accumulator and, for topk/bottomk/limitk/limit_ratio/quantile, an array of samples. topk and
 * bottomk keep a binary heap of size k with Go's container/heap algorithm so that ties resolve
 * exactly as Prometheus. Cost: O(n) per step (O(n log k) for topk/bottomk, O(n log n) quantile).
 *
 * Rows (range queries, and instant rate/increase/delta): when the input is rows (a selector or
 * range function resolved for every step, engine_int.h), sum/avg/count/min/max/group/stddev/stdvar
 * run once for the whole grid (rowagg_*): each row's group is found once, the row is folded into
 * that group's per-step accumulators (agg_acc, the same code and order as the per-step path, so the
 * same doubles), and each step is then served from the finished values in the order Prometheus
 * would emit the groups at that step (first row seen). Memory: groups x steps accumulators.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine_int.h"
#include "promql/promql.h"
#include "util/fmt.h"

/* The running state of one group at one step for sum, avg, count, min, max, group, stddev and
 * stdvar (acc_first, acc_add, acc_result keep Prometheus's numerics). */
typedef struct agg_acc {
	bool seen, drop_name, incremental;
	double value, mean, kahan, count;
} agg_acc;

typedef struct group {
	slod_labels ls;
	agg_acc a;
	ev_sample *heap;
	size_t hn, hcap;
} group;

/* The aggregations computed by an agg_acc alone. */
static bool acc_op(promql_aggop op)
{
	switch (op) {
	case PROMQL_AGG_SUM:
	case PROMQL_AGG_AVG:
	case PROMQL_AGG_COUNT:
	case PROMQL_AGG_MIN:
	case PROMQL_AGG_MAX:
	case PROMQL_AGG_GROUP:
	case PROMQL_AGG_STDDEV:
	case PROMQL_AGG_STDVAR:
		return true;
	default:
		return false;
	}
}

/* The group's first sample f (drop: its drop_name). Inlined so that loops over rows specialise
 * it for a constant op. */
static inline __attribute__((always_inline)) void acc_first(agg_acc *a, promql_aggop op, double f, bool drop)
{
	a->seen = true;
	a->incremental = false;
	a->value = f;
	a->mean = f;
	a->count = 1;
	a->kahan = 0;
	a->drop_name = drop;
	if (op == PROMQL_AGG_STDDEV || op == PROMQL_AGG_STDVAR)
		a->value = (isnan(f) || isinf(f)) ? NAN : 0;
	else if (op == PROMQL_AGG_GROUP)
		a->value = 1;
}

/* Each further sample, in input order. */
static inline __attribute__((always_inline)) void acc_add(agg_acc *a, promql_aggop op, double f, bool drop)
{
	if (drop)
		a->drop_name = true;
	switch (op) {
	case PROMQL_AGG_SUM:
		a->value = promql__kahan_inc(f, a->value, &a->kahan);
		break;
	case PROMQL_AGG_AVG:
		a->count++;
		if (!a->incremental) {
			double kc = a->kahan;
			double nv = promql__kahan_inc(f, a->value, &kc);
			if (!isinf(nv)) {
				a->value = nv;
				a->kahan = kc;
				break;
			}
			a->incremental = true;
			a->mean = a->value / (a->count - 1);
			a->kahan /= a->count - 1;
		}
		{
			double q = (a->count - 1) / a->count;
			double kc = q * a->kahan;
			a->mean = promql__kahan_inc(f / a->count, q * a->mean, &kc);
			a->kahan = kc;
		}
		break;
	case PROMQL_AGG_MAX:
		if (a->value < f || isnan(a->value))
			a->value = f;
		break;
	case PROMQL_AGG_MIN:
		if (a->value > f || isnan(a->value))
			a->value = f;
		break;
	case PROMQL_AGG_COUNT:
		a->count++;
		break;
	case PROMQL_AGG_STDDEV:
	case PROMQL_AGG_STDVAR: {
		a->count++;
		double delta = f - a->mean;
		a->mean += delta / a->count;
		a->value += delta * (f - a->mean);
		break;
	}
	default: /* group */
		break;
	}
}

static double acc_result(const agg_acc *a, promql_aggop op)
{
	switch (op) {
	case PROMQL_AGG_AVG:
		return a->incremental ? a->mean + a->kahan : a->value / a->count + a->kahan / a->count;
	case PROMQL_AGG_COUNT:
		return a->count;
	case PROMQL_AGG_STDVAR:
		return a->value / a->count;
	case PROMQL_AGG_STDDEV:
		return sqrt(a->value / a->count);
	case PROMQL_AGG_SUM:
		return a->value + a->kahan;
	default:
		return a->value;
	}
}

static int heap_push_raw(ev_ctx *c, group *g, ev_sample s)
{
	if (g->hn == g->hcap) {
		size_t nc = g->hcap ? g->hcap * 2 : 8;
		ev_sample *nh = arena_alloc(c->sa, nc * sizeof *nh);
		if (!nh)
			return promql__oom(c);
		if (g->hn)
			memcpy(nh, g->heap, g->hn * sizeof *nh);
		g->heap = nh;
		g->hcap = nc;
	}
	g->heap[g->hn++] = s;
	return 0;
}

/* Heap order: reverse == false is vectorByValueHeap (NaN smallest, then ascending);
 * reverse == true is vectorByReverseValueHeap. */
static bool hless(const ev_sample *h, size_t i, size_t j, bool reverse)
{
	if (isnan(h[i].v))
		return true;
	return reverse ? h[i].v > h[j].v : h[i].v < h[j].v;
}

static void hswap(ev_sample *h, size_t i, size_t j)
{
	ev_sample x = h[i];
	h[i] = h[j];
	h[j] = x;
}

static void hup(ev_sample *h, size_t j, bool rev)
{
	while (j > 0) {
		size_t i = (j - 1) / 2;
		if (!hless(h, j, i, rev))
			break;
		hswap(h, i, j);
		j = i;
	}
}

static bool hdown(ev_sample *h, size_t i0, size_t n, bool rev)
{
	size_t i = i0;
	for (;;) {
		size_t j1 = 2 * i + 1;
		if (j1 >= n)
			break;
		size_t j = j1;
		if (j1 + 1 < n && hless(h, j1 + 1, j1, rev))
			j = j1 + 1;
		if (!hless(h, j, i, rev))
			break;
		hswap(h, i, j);
		i = j;
	}
	return i > i0;
}

static int heap_push(ev_ctx *c, group *g, ev_sample s, bool rev)
{
	if (heap_push_raw(c, g, s) < 0)
		return -1;
	hup(g->heap, g->hn - 1, rev);
	return 0;
}

static void heap_fix0(group *g, bool rev)
{
	if (!hdown(g->heap, 0, g->hn, rev))
		hup(g->heap, 0, rev);
}

static int cmp_desc(const void *a, const void *b)
{
	/* sort.Reverse(vectorByValueHeap): "less" is !Less; NaN sorts last */
	const ev_sample *x = a, *y = b;
	bool xn = isnan(x->v), yn = isnan(y->v);
	if (xn || yn)
		return xn - yn;
	return (x->v < y->v) - (x->v > y->v);
}

static int cmp_asc(const void *a, const void *b)
{
	const ev_sample *x = a, *y = b;
	bool xn = isnan(x->v), yn = isnan(y->v);
	if (xn || yn)
		return xn - yn;
	return (x->v > y->v) - (x->v < y->v);
}

static int cmp_dbl_nan_first(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	bool xn = isnan(x), yn = isnan(y);
	if (xn || yn)
		return yn - xn;
	return (x > y) - (x < y);
}

double promql__quantile(double q, double *vals, size_t n)
{
	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(vals, n, sizeof *vals, cmp_dbl_nan_first);
	double rank = q * (double)(n - 1);
	double lo = fmax(0, floor(rank));
	double hi = fmin((double)n - 1, lo + 1);
	double w = rank - floor(rank);
	return vals[(size_t)lo] * (1 - w) + vals[(size_t)hi] * w;
}

/* ---- XXH64 (seed 0) as Prometheus's labels.Hash uses for limit_ratio ---- */

static const uint64_t P1 = 11400714785074694791ULL, P2 = 14029467366897019727ULL, P3 = 1609587929392839161ULL,
		      P4 = 9650029242287828579ULL, P5 = 2870177450012600261ULL;

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}

static uint64_t xmerge(uint64_t acc, uint64_t v)
{
	acc ^= xround(0, v);
	return acc * P1 + P4;
}

static uint64_t xxh64(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint64_t h;
	if (len >= 32) {
		uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = (uint64_t)0 - P1;
		while (p + 32 <= end) {
			v1 = xround(v1, rd64(p));
			v2 = xround(v2, rd64(p + 8));
			v3 = xround(v3, rd64(p + 16));
			v4 = xround(v4, rd64(p + 24));
			p += 32;
		}
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
		h = xmerge(h, v1);
		h = xmerge(h, v2);
		h = xmerge(h, v3);
		h = xmerge(h, v4);
	} else {
		h = P5;
	}
	h += (uint64_t)len;
	while (p + 8 <= end) {
		h ^= xround(0, rd64(p));
		h = rotl(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= end) {
		h ^= (uint64_t)rd32(p) * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (*p) * P5;
		h = rotl(h, 11) * P1;
		p++;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

static uint64_t prom_labels_hash(const slod_labels *ls)
{
	size_t len = 0;
	for (size_t i = 0; i < ls->n; i++)
		len += strlen(ls->v[i].name) + strlen(ls->v[i].value) + 2;
	unsigned char stackb[1024];
	unsigned char *b = len <= sizeof stackb ? stackb : malloc(len);
	if (!b)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < ls->n; i++) {
		size_t nl = strlen(ls->v[i].name), vl = strlen(ls->v[i].value);
		memcpy(b + o, ls->v[i].name, nl);
		o += nl;
		b[o++] = 0xff;
		memcpy(b + o, ls->v[i].value, vl);
		o += vl;
		b[o++] = 0xff;
	}
	uint64_t h = xxh64(b, o);
	if (b != stackb)
		free(b);
	return h;
}

static bool ratio_keep(double r, const slod_labels *ls)
{
	double off = (double)prom_labels_hash(ls) / 18446744073709551615.0;
	return (r >= 0 && off < r) || (r < 0 && off >= 1.0 + r);
}

/* ---- grouping ---- */

static bool in_list(const char *n, const char **names, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (strcmp(n, names[i]) == 0)
			return true;
	return false;
}

static slod_labels grouping_labels(arena *a, const slod_labels *ls, bool without, const char **g, size_t ng)
{
	slod_labels out = {0};
	out.v = arena_alloc(a, (ls->n ? ls->n : 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	for (size_t i = 0; i < ls->n; i++) {
		bool in = in_list(ls->v[i].name, g, ng);
		if (without ? (!in && strcmp(ls->v[i].name, SLOD_METRIC_NAME) != 0) : in)
			out.v[out.n++] = ls->v[i];
	}
	return out;
}

typedef struct gtab {
	uint64_t *key;
	int32_t *val;
	size_t cap;
} gtab;

static int32_t *gslot(gtab *t, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 31)) & (t->cap - 1);
	while (t->val[i] && t->key[i] != key)
		i = (i + 1) & (t->cap - 1);
	t->key[i] = key;
	return &t->val[i];
}

/* Longest Go 'f' rendering of a double: "-0." + 323 zeros + 17 digits (5e-324), or 309 digits. */
#define FULL_F_MAX 400

/* Go strconv.FormatFloat(v, 'f', -1, 64), never switching to an exponent however large or small v
 * is (count_values's label value; fmt_float_go's 'f' falls back to 'e' past FMT_FLOAT_MAX). out
 * holds FULL_F_MAX bytes; returns the length. */
static size_t fmt_float_full(char *out, double v)
{
	char e[FMT_FLOAT_MAX];
	if (isnan(v) || isinf(v) || v == 0)
		return fmt_float_go(out, v, 'f');
	fmt_float_go(e, v, 'e'); /* [-]d[.ddd]e±XX, shortest round-trip digits */
	const char *p = e;
	size_t k = 0;
	if (*p == '-')
		out[k++] = *p++;
	char d[24];
	size_t nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p != '.' && nd < sizeof d - 1)
			d[nd++] = *p;
	d[nd] = '\0';
	int exp = *p == 'e' ? atoi(p + 1) : 0;
	if (exp < 0) {
		out[k++] = '0';
		out[k++] = '.';
		for (int i = -1; i > exp; i--)
			out[k++] = '0';
		memcpy(out + k, d, nd);
		k += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			out[k++] = (size_t)i < nd ? d[i] : '0';
		if ((size_t)exp + 1 < nd) {
			out[k++] = '.';
			memcpy(out + k, d + exp + 1, nd - (size_t)exp - 1);
			k += nd - (size_t)exp - 1;
		}
	}
	out[k] = '\0';
	return k;
}

static int count_values(ev_ctx *c, const promql_node *n, const ev_value *param, const ev_vector *in, ev_value *out)
{
	if (param->str_len == 0 || !slod_utf8_valid(param->str, param->str_len) || memchr(param->str, 0, param->str_len)) {
		buf b;
		buf_init(&b, 0);
		promql_quote(&b, param->str, param->str_len);
		promql__errorf(c, "invalid label name %s", b.data ? b.data : "\"\"");
		buf_deinit(&b);
		return -1;
	}
	const char *vl = arena_strndup(c->sa, param->str, param->str_len);
	/* grouping: by -> grouping + value label; without -> grouping */
	size_t ng = n->aggregate.n_grouping;
	const char **g = arena_alloc(c->sa, (ng + 1) * sizeof *g);
	if (!g || !vl)
		return promql__oom(c);
	memcpy(g, n->aggregate.grouping, ng * sizeof *g);
	if (!n->aggregate.without)
		g[ng++] = vl;
	gtab t;
	t.cap = 16;
	while (t.cap < in->n * 2 + 2)
		t.cap *= 2;
	t.key = arena_alloc(c->sa, t.cap * sizeof *t.key);
	t.val = arena_calloc(c->sa, t.cap, sizeof *t.val);
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.s = arena_alloc(c->sa, (in->n ? in->n : 1) * sizeof(ev_sample));
	out->vec.n = 0;
	if (!t.key || !t.val || !out->vec.s)
		return promql__oom(c);
	for (size_t i = 0; i < in->n; i++) {
		char num[FULL_F_MAX];
		fmt_float_full(num, in->s[i].v);
		const char *val = arena_strdup(c->sa, num);
		slod_labels m = promql__labels_set(c->sa, &in->s[i].ls, vl, val);
		if (!val || !m.v)
			return promql__oom(c);
		uint64_t key = n->aggregate.without ? promql__signature(&m, false, g, ng)
						    : promql__signature(&m, true, g, ng);
		int32_t *slot = gslot(&t, key);
		if (*slot) {
			out->vec.s[*slot - 1].v += 1;
			continue;
		}
		slod_labels gl = grouping_labels(c->sa, &m, n->aggregate.without, g, ng);
		if (!gl.v)
			return promql__oom(c);
		out->vec.s[out->vec.n] = (ev_sample){gl, 1, 0, false};
		*slot = (int32_t)++out->vec.n;
	}
	return 0;
}

/* ---- aggregation of rows, for every step at once ---- */

/* Group order at one step: Prometheus emits groups in the order their first sample appears in the
 * step's input; rowagg_build records that row (first[g * nsteps + k]). */
typedef struct rowagg_ord {
	int32_t first;
	int32_t g;
} rowagg_ord;

static int cmp_ord(const void *a, const void *b)
{
	const rowagg_ord *x = a, *y = b;
	return (x->first > y->first) - (x->first < y->first);
}

/* The aggregation's state while rows arrive: per group, an accumulator and the first row at
 * every step (arrays of nsteps, allocated when the group first appears). */
typedef struct rowagg_state {
	ev_ctx *c;
	const promql_node *n;
	const ev_grid *grid;
	gtab tab;              /* grouping hash -> group index + 1 (grown as groups appear) */
	size_t ngroups, capgroups;
	slod_labels *gls;      /* in qa */
	agg_acc **acc;         /* malloc'd */
	int32_t **first;       /* malloc'd */
	size_t nrows;
} rowagg_state;

static int gtab_grow(gtab *t)
{
	gtab nt = {malloc(t->cap * 2 * sizeof *t->key), calloc(t->cap * 2, sizeof *t->val), t->cap * 2};
	if (!nt.key || !nt.val) {
		free(nt.key);
		free(nt.val);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->val[i])
			*gslot(&nt, t->key[i]) = t->val[i];
	free(t->key);
	free(t->val);
	*t = nt;
	return 0;
}

/* The group of labels ls (created on first sight), or -1 on OOM. */
static long rowagg_group(rowagg_state *st, const slod_labels *ls)
{
	const promql_node *n = st->n;
	bool without = n->aggregate.without;
	uint64_t key = promql__signature(ls, !without, n->aggregate.grouping, n->aggregate.n_grouping);
	if (st->ngroups * 2 + 2 > st->tab.cap && gtab_grow(&st->tab) < 0)
		return -1;
	int32_t *slot = gslot(&st->tab, key);
	if (*slot)
		return *slot - 1;
	if (st->ngroups == st->capgroups) {
		size_t nc = st->capgroups ? st->capgroups * 2 : 16;
		slod_labels *gl = arena_alloc(st->c->qa, nc * sizeof *gl);
		agg_acc **na = realloc(st->acc, nc * sizeof *na);
		if (na)
			st->acc = na;
		int32_t **nf = realloc(st->first, nc * sizeof *nf);
		if (nf)
			st->first = nf;
		if (!gl || !na || !nf)
			return -1;
		if (st->ngroups)
			memcpy(gl, st->gls, st->ngroups * sizeof *gl);
		st->gls = gl;
		st->capgroups = nc;
	}
	size_t g = st->ngroups, ns = st->grid->nsteps;
	st->gls[g] = grouping_labels(st->c->qa, ls, without, n->aggregate.grouping, n->aggregate.n_grouping);
	st->acc[g] = calloc(ns, sizeof **st->acc);
	st->first[g] = malloc(ns * sizeof **st->first);
	st->ngroups++; /* counted before the checks so that the cleanup frees it */
	if (!st->gls[g].v || !st->acc[g] || !st->first[g])
		return -1;
	*slot = (int32_t)st->ngroups;
	return (long)g;
}

/* ev_row_sink: folds one row into its group's accumulators, in row order (the order the
 * per-step path sees the samples in, so every value is the same double). */
static int rowagg_row(void *ud, const slod_labels *ls, bool drop, const double *vals, const uint8_t *present)
{
	rowagg_state *st = ud;
	long g = rowagg_group(st, ls);
	if (g < 0)
		return promql__oom(st->c);
	promql_aggop op = st->n->aggregate.op;
	agg_acc *a = st->acc[g];
	int32_t *first = st->first[g];
	int32_t r = (int32_t)st->nrows++;
	size_t ns = st->grid->nsteps;
#define ROWAGG_FOLD(OP)                                                                              \
	for (size_t k = 0; k < ns; k++) {                                                            \
		if (!present[k])                                                                     \
			continue;                                                                    \
		if (a[k].seen) {                                                                     \
			acc_add(&a[k], OP, vals[k], drop);                                           \
		} else {                                                                             \
			acc_first(&a[k], OP, vals[k], drop);                                         \
			first[k] = r;                                                                \
		}                                                                                    \
	}
	switch (op) { /* one loop per common op, so that acc_add's switch folds away */
	case PROMQL_AGG_SUM: ROWAGG_FOLD(PROMQL_AGG_SUM) break;
	case PROMQL_AGG_AVG: ROWAGG_FOLD(PROMQL_AGG_AVG) break;
	case PROMQL_AGG_MAX: ROWAGG_FOLD(PROMQL_AGG_MAX) break;
	case PROMQL_AGG_MIN: ROWAGG_FOLD(PROMQL_AGG_MIN) break;
	case PROMQL_AGG_COUNT: ROWAGG_FOLD(PROMQL_AGG_COUNT) break;
	default: ROWAGG_FOLD(op) break;
	}
#undef ROWAGG_FOLD
	return 0;
}

/* Aggregates the rows of n's input (1), or returns 0 when the input is not rows, -1 on error. */
static int rowagg_build(ev_ctx *c, const promql_node *n, int64_t t, ev_rowagg *ra)
{
	ev_grid grid = {0};
	rowagg_state st = {.c = c, .n = n, .grid = &grid};
	st.tab.cap = 64;
	st.tab.key = malloc(st.tab.cap * sizeof *st.tab.key);
	st.tab.val = calloc(st.tab.cap, sizeof *st.tab.val);
	int rc = -1;
	if (!st.tab.key || !st.tab.val) {
		promql__oom(c);
		goto out;
	}
	ev_row_sink sink = {rowagg_row, &st};
	rc = promql__rows_each(c, n->aggregate.expr, t, &sink, &grid);
	if (rc <= 0)
		goto out;
	size_t ns = grid.nsteps, cells = st.ngroups * ns > 0 ? st.ngroups * ns : 1;
	ra->g_start = grid.start;
	ra->g_step = grid.step;
	ra->nsteps = ns;
	ra->g_end = grid.start + (int64_t)(ns - 1) * grid.step;
	ra->ngroups = st.ngroups;
	ra->gls = st.gls;
	ra->val = arena_alloc(c->qa, cells * sizeof *ra->val);
	ra->flags = arena_calloc(c->qa, cells, 1);
	ra->first = arena_alloc(c->qa, cells * sizeof *ra->first);
	if (!ra->val || !ra->flags || !ra->first) {
		rc = promql__oom(c);
		goto out;
	}
	for (size_t g = 0; g < st.ngroups; g++)
		for (size_t k = 0; k < ns; k++) {
			const agg_acc *a = &st.acc[g][k];
			if (!a->seen)
				continue;
			ra->val[g * ns + k] = acc_result(a, n->aggregate.op);
			ra->flags[g * ns + k] = EV_ROWAGG_SEEN | (a->drop_name ? EV_ROWAGG_DROP : 0);
			ra->first[g * ns + k] = st.first[g][k];
		}
out:
	for (size_t g = 0; g < st.ngroups; g++) {
		free(st.acc[g]);
		free(st.first[g]);
	}
	free(st.acc);
	free(st.first);
	free(st.tab.key);
	free(st.tab.val);
	return rc;
}

static ev_rowagg *rowagg_find(ev_ctx *c, const promql_node *n)
{
	for (size_t i = 0; i < c->n_raggs; i++)
		if (c->raggs[i].node == n)
			return &c->raggs[i];
	return NULL;
}

static ev_rowagg *rowagg_add(ev_ctx *c, const ev_rowagg *ra)
{
	if (c->n_raggs == c->cap_raggs) {
		size_t nc = c->cap_raggs ? c->cap_raggs * 2 : 4;
		ev_rowagg *na = arena_alloc(c->qa, nc * sizeof *na);
		if (!na)
			return NULL;
		if (c->n_raggs)
			memcpy(na, c->raggs, c->n_raggs * sizeof *na);
		c->raggs = na;
		c->cap_raggs = nc;
	}
	c->raggs[c->n_raggs] = *ra;
	return &c->raggs[c->n_raggs++];
}

/* Serves aggregation n at t from its rows aggregate, building it on first use. Returns 1 when
 * *out is the value, 0 when n is evaluated step by step (its input is not rows, or t is off the
 * grid), -1 on error. */
static int rowagg_serve(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	ev_rowagg *ra = rowagg_find(c, n);
	if (ra && ra->failed)
		return 0;
	if (!ra) {
		/* built into a local first: building may evaluate other aggregations (a range
		 * function's scalar argument), which add to c->raggs */
		ev_rowagg tmp = {.node = n};
		int r = rowagg_build(c, n, t, &tmp);
		if (r < 0)
			return -1;
		tmp.failed = r == 0;
		if (!(ra = rowagg_add(c, &tmp)))
			return promql__oom(c);
		if (ra->failed)
			return 0;
	}
	if (t < ra->g_start || t > ra->g_end || (t - ra->g_start) % ra->g_step != 0)
		return 0;
	size_t k = (size_t)((t - ra->g_start) / ra->g_step), ns = ra->nsteps;
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.n = 0;
	out->vec.s = arena_alloc(c->sa, (ra->ngroups ? ra->ngroups : 1) * sizeof(ev_sample));
	if (!out->vec.s)
		return promql__oom(c);
	/* groups in the order of their first row at this step; usually already group order */
	bool sorted = true;
	int32_t last = -1;
	for (size_t gr = 0; gr < ra->ngroups; gr++) {
		if (!(ra->flags[gr * ns + k] & EV_ROWAGG_SEEN))
			continue;
		if (ra->first[gr * ns + k] < last)
			sorted = false;
		last = ra->first[gr * ns + k];
		out->vec.s[out->vec.n++] = (ev_sample){ra->gls[gr], ra->val[gr * ns + k], t,
						       (ra->flags[gr * ns + k] & EV_ROWAGG_DROP) != 0};
	}
	if (sorted)
		return 1;
	rowagg_ord *ord = arena_alloc(c->sa, (out->vec.n ? out->vec.n : 1) * sizeof *ord);
	if (!ord)
		return promql__oom(c);
	size_t m = 0;
	for (size_t gr = 0; gr < ra->ngroups; gr++)
		if (ra->flags[gr * ns + k] & EV_ROWAGG_SEEN)
			ord[m++] = (rowagg_ord){ra->first[gr * ns + k], (int32_t)gr};
	qsort(ord, m, sizeof *ord, cmp_ord);
	for (size_t j = 0; j < m; j++) {
		size_t gr = (size_t)ord[j].g;
		out->vec.s[j] = (ev_sample){ra->gls[gr], ra->val[gr * ns + k], t, (ra->flags[gr * ns + k] & EV_ROWAGG_DROP) != 0};
	}
	return 1;
}

int promql__eval_aggregate(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	if (!n->aggregate.param && acc_op(n->aggregate.op)) {
		int r = rowagg_serve(c, n, t, out);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	promql_aggop op = n->aggregate.op;
	ev_value param = {0}, in;
	if (n->aggregate.param && promql__eval(c, n->aggregate.param, t, &param) < 0)
		return -1;
	if (promql__eval(c, n->aggregate.expr, t, &in) < 0)
		return -1;
	if (op == PROMQL_AGG_COUNT_VALUES)
		return count_values(c, n, &param, &in.vec, out);

	const char **g = n->aggregate.grouping;
	size_t ng = n->aggregate.n_grouping;
	bool without = n->aggregate.without;
	double p = param.scalar;
	int64_t k = 0;
	double ratio = 0;
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.n = 0;
	out->vec.s = NULL;

	switch (op) {
	case PROMQL_AGG_TOPK:
	case PROMQL_AGG_BOTTOMK:
	case PROMQL_AGG_LIMITK:
		if (isnan(p))
			return promql__errorf(c, "Parameter value is NaN");
		if (p <= -9.223372036854775808e18) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, p, 'g');
			return promql__errorf(c, "Scalar value %s underflows int64", b);
		}
		if (p >= 9.223372036854775807e18) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, p, 'g');
			return promql__errorf(c, "Scalar value %s overflows int64", b);
		}
		k = (int64_t)p;
		if ((size_t)(k > 0 ? k : 0) > in.vec.n)
			k = (int64_t)in.vec.n;
		if (k < 1)
			return 0;
		break;
	case PROMQL_AGG_LIMIT_RATIO:
		if (isnan(p))
			return promql__errorf(c, "Ratio value is NaN");
		if (p == 0)
			return 0;
		if (p > 1) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, p, 'g');
			promql__warnf(c, n->aggregate.param, "ratio value should be between -1 and 1, got %s, capping to 1", b);
			ratio = 1;
		} else if (p < -1) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, p, 'g');
			promql__warnf(c, n->aggregate.param, "ratio value should be between -1 and 1, got %s, capping to -1", b);
			ratio = -1;
		} else {
			ratio = p;
		}
		break;
	case PROMQL_AGG_QUANTILE:
		if (isnan(p) || p < 0 || p > 1) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, p, 'g');
			promql__warnf(c, n->aggregate.param, "quantile value should be between 0 and 1, got %s", b);
		}
		break;
	default:
		break;
	}

	size_t nin = in.vec.n;
	if (nin == 0)
		return 0;
	group *groups = arena_calloc(c->sa, nin, sizeof *groups);
	gtab tab;
	tab.cap = 16;
	while (tab.cap < nin * 2 + 2)
		tab.cap *= 2;
	tab.key = arena_alloc(c->sa, tab.cap * sizeof *tab.key);
	tab.val = arena_calloc(c->sa, tab.cap, sizeof *tab.val);
	if (!groups || !tab.key || !tab.val)
		return promql__oom(c);
	size_t ngroups = 0;
	bool is_k = op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_LIMITK ||
		    op == PROMQL_AGG_LIMIT_RATIO;
	bool rev = op == PROMQL_AGG_BOTTOMK;
	size_t groups_remaining = 0;
	bool limit_done = false;
	/* first pass: assign groups in input order (all groups, as Prometheus counts them up front) */
	int32_t *gi = arena_alloc(c->sa, nin * sizeof *gi);
	if (!gi)
		return promql__oom(c);
	for (size_t i = 0; i < nin; i++) {
		const slod_labels *ls = &in.vec.s[i].ls;
		uint64_t key = without ? promql__signature(ls, false, g, ng) : promql__signature(ls, true, g, ng);
		int32_t *slot = gslot(&tab, key);
		if (!*slot) {
			group *gr = &groups[ngroups];
			if (!is_k) {
				gr->ls = grouping_labels(c->sa, ls, without, g, ng);
				if (!gr->ls.v)
					return promql__oom(c);
			}
			*slot = (int32_t)++ngroups;
		}
		gi[i] = *slot - 1;
	}
	groups_remaining = ngroups;

	for (size_t i = 0; i < nin && !limit_done; i++) {
		const ev_sample *s = &in.vec.s[i];
		double f = s->v;
		group *gr = &groups[gi[i]];
		if (acc_op(op)) {
			if (!gr->a.seen)
				acc_first(&gr->a, op, f, s->drop_name);
			else
				acc_add(&gr->a, op, f, s->drop_name);
			continue;
		}
		if (!gr->a.seen) {
			gr->a.seen = true;
			gr->a.drop_name = s->drop_name;
			switch (op) {
			case PROMQL_AGG_QUANTILE:
				if (heap_push_raw(c, gr, *s) < 0)
					return -1;
				break;
			case PROMQL_AGG_TOPK:
			case PROMQL_AGG_BOTTOMK:
				if (heap_push(c, gr, *s, rev) < 0)
					return -1;
				break;
			case PROMQL_AGG_LIMITK:
				if (heap_push(c, gr, *s, false) < 0)
					return -1;
				if ((int64_t)gr->hn == k) {
					gr->a.incremental = true; /* complete */
					if (--groups_remaining == 0)
						limit_done = true;
				}
				break;
			case PROMQL_AGG_LIMIT_RATIO:
				if (ratio_keep(ratio, &s->ls) && heap_push(c, gr, *s, false) < 0)
					return -1;
				break;
			default:
				break;
			}
			continue;
		}
		if (s->drop_name)
			gr->a.drop_name = true;
		switch (op) {
		case PROMQL_AGG_QUANTILE:
			if (heap_push_raw(c, gr, *s) < 0)
				return -1;
			break;
		case PROMQL_AGG_TOPK:
		case PROMQL_AGG_BOTTOMK:
			if ((int64_t)gr->hn < k) {
				if (heap_push(c, gr, *s, rev) < 0)
					return -1;
			} else if ((rev ? gr->heap[0].v > f : gr->heap[0].v < f) || (isnan(gr->heap[0].v) && !isnan(f))) {
				gr->heap[0] = *s;
				if (k > 1)
					heap_fix0(gr, rev);
			}
			break;
		case PROMQL_AGG_LIMITK:
			if ((int64_t)gr->hn < k && heap_push(c, gr, *s, false) < 0)
				return -1;
			if ((int64_t)gr->hn == k && !gr->a.incremental) {
				gr->a.incremental = true; /* complete */
				if (--groups_remaining == 0)
					limit_done = true;
			}
			break;
		case PROMQL_AGG_LIMIT_RATIO:
			if (ratio_keep(ratio, &s->ls) && heap_push(c, gr, *s, false) < 0)
				return -1;
			break;
		default:
			break;
		}
	}

	size_t cap = is_k ? nin : ngroups;
	out->vec.s = arena_alloc(c->sa, (cap ? cap : 1) * sizeof(ev_sample));
	if (!out->vec.s)
		return promql__oom(c);
	for (size_t gi2 = 0; gi2 < ngroups; gi2++) {
		group *gr = &groups[gi2];
		if (!gr->a.seen)
			continue;
		if (is_k) {
			if (op == PROMQL_AGG_TOPK && gr->hn > 1)
				qsort(gr->heap, gr->hn, sizeof *gr->heap, cmp_desc);
			else if (op == PROMQL_AGG_BOTTOMK && gr->hn > 1)
				qsort(gr->heap, gr->hn, sizeof *gr->heap, cmp_asc);
			for (size_t j = 0; j < gr->hn; j++)
				out->vec.s[out->vec.n++] = gr->heap[j];
			continue;
		}
		double v;
		if (op == PROMQL_AGG_QUANTILE) {
			double *vals = arena_alloc(c->sa, gr->hn * sizeof *vals);
			if (!vals)
				return promql__oom(c);
			for (size_t j = 0; j < gr->hn; j++)
				vals[j] = gr->heap[j].v;
			v = promql__quantile(p, vals, gr->hn);
		} else {
			v = acc_result(&gr->a, op);
		}
		out->vec.s[out->vec.n++] = (ev_sample){gr->ls, v, t, gr->a.drop_name};
	}
	return 0;
}
