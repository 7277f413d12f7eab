/*
 * engine.c — the PromQL evaluator's core: query entry points, selector loading, the per-step
 * evaluation of selectors and subqueries, step-invariant caching, annotations and result
 * assembly. Functions, aggregations and binary operators are in functions.c, aggregate.c and
 * binop.c.
 *
 * Evaluation: before evaluating, a pre-pass (prep) walks the tree with the interval of evaluation
 * times each node will see ([start, end] of the query, widened by subquery ranges and shifted by
 * offsets, pinned by @) and records for every selector the time range it needs
 * (ev_selcache.mint/maxt), and for every subquery its outer times (ev_subrange). One querier
 * covering all of them is opened; on first use a selector selects its series once and decodes
 * each series' samples once into the query arena. Each step then searches those arrays (binary
 * search, or a forward gallop from the previous step's position):
 *   - instant selector at t: the newest sample in (t - lookback, t] unless it is a stale marker
 *     (`smoothed`: the value interpolated at t from neighbours within the lookback);
 *   - range selector at t: samples in (t - range, t], stale markers removed at load time
 *     (`anchored`/`smoothed`: the window also reaches back, and forward, by the lookback);
 *   - subquery at t: the inner expression at every multiple of the step in (t - range, t]. When
 *     the windows of consecutive outer steps overlap, the inner expression is evaluated once
 *     for the whole query range (in a scratch arena per inner step) and windows are sliced out
 *     of that, as Prometheus does; otherwise per outer step.
 * In a range query, step-invariant subtrees (an @-pinned selector or subquery and what depends
 * only on such) are evaluated once and their value (copied to the query arena) reused.
 * A range query evaluates the tree per step in the step arena (reset each step) and appends
 * each output sample to its result series (found by label hash, __name__/__type__/__unit__ removed
 * where the sample asks for it); the result is sorted by labels. Where the pre-pass allows, nodes
 * are resolved for all steps at once instead ("rows"): instant selectors (build_sel_rows), range
 * functions over plain selectors (functions.c build_rows; rate/increase/delta in raterows.c, also
 * for instant queries, with series in parallel), and aggregations over such rows (aggregate.c
 * rowagg, which consumes the rows one series at a time through an ev_row_sink).
 *
 * Costs: loading is O(samples in range); a step costs O(series * log samples) per selector
 * (amortised O(series) when steps move forward) plus the operators' own costs. Memory: query
 * arena = loaded samples + subquery caches + result; step arena = one step's intermediate values.
 */
#include "promql/engine.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/engine_int.h"
#include "promql/promql.h"
#include "util/arena.h"
#include "util/fmt.h"

struct promql_engine {
	promql_engine_opts o;
};

struct promql_result_internal {
	arena a;
};

void promql_engine_opts_default(promql_engine_opts *o)
{
	memset(o, 0, sizeof *o);
}

promql_engine *promql_engine_new(const promql_engine_opts *opts)
{
	promql_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	if (opts)
		e->o = *opts;
	if (e->o.lookback_delta_ms <= 0)
		e->o.lookback_delta_ms = PROMQL_DEFAULT_LOOKBACK_MS;
	if (e->o.max_samples == 0)
		e->o.max_samples = PROMQL_DEFAULT_MAX_SAMPLES;
	if (e->o.timeout_ms == 0)
		e->o.timeout_ms = PROMQL_DEFAULT_TIMEOUT_MS;
	if (e->o.default_eval_interval_ms <= 0)
		e->o.default_eval_interval_ms = PROMQL_DEFAULT_EVAL_INTERVAL_MS;
	return e;
}

void promql_engine_free(promql_engine *e)
{
	free(e);
}

const char *promql_errtype_name(promql_errtype t)
{
	switch (t) {
	case PROMQL_ERRTYPE_NONE: return "";
	case PROMQL_ERRTYPE_BAD_DATA: return "bad_data";
	case PROMQL_ERRTYPE_EXECUTION: return "execution";
	case PROMQL_ERRTYPE_TIMEOUT: return "timeout";
	case PROMQL_ERRTYPE_CANCELED: return "canceled";
	case PROMQL_ERRTYPE_TOO_MANY_SAMPLES: return "execution";
	case PROMQL_ERRTYPE_INTERNAL: return "internal";
	}
	return "internal";
}

/* ---- errors and annotations ---- */

int promql__errorf(ev_ctx *c, const char *fmt, ...)
{
	if (c->errtype == PROMQL_ERRTYPE_NONE) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof c->err, fmt, ap);
		va_end(ap);
		c->errtype = PROMQL_ERRTYPE_EXECUTION;
	}
	return -1;
}

int promql__oom(ev_ctx *c)
{
	if (c->errtype == PROMQL_ERRTYPE_NONE) {
		snprintf(c->err, sizeof c->err, "query processing ran out of memory");
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
	}
	return -1;
}

int promql__account(ev_ctx *c, size_t n)
{
	c->cur_samples += n;
	if (c->cur_samples > c->max_samples) {
		if (c->errtype == PROMQL_ERRTYPE_NONE) {
			snprintf(c->err, sizeof c->err,
				 "query processing would load too many samples into memory in query execution");
			c->errtype = PROMQL_ERRTYPE_TOO_MANY_SAMPLES;
		}
		return -1;
	}
	return 0;
}

/* Annotations are keyed by their text without the position, as Prometheus keys them (its map key
 * is the message before the query is attached): a repeated annotation replaces the earlier one,
 * so the position of the last occurrence is reported. */
static void add_anno(ev_ctx *c, ev_annos *l, const char *prefix, const promql_node *pos, const char *fmt,
		     va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	char key[1100], full[1200];
	snprintf(key, sizeof key, "%s%s", prefix, msg);
	if (pos && c->query) {
		unsigned line = 1, col = 1;
		for (uint32_t i = 0; i < pos->pos.start && c->query[i]; i++) {
			if (c->query[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		snprintf(full, sizeof full, "%s (%u:%u)", key, line, col);
	} else {
		snprintf(full, sizeof full, "%s", key);
	}
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->key[i], key) != 0)
			continue;
		if (strcmp(l->full[i], full) != 0) {
			const char *s = arena_strdup(c->qa, full);
			if (s)
				l->full[i] = s;
		}
		return;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		const char **nf = arena_alloc(c->qa, nc * sizeof *nf);
		const char **nk = arena_alloc(c->qa, nc * sizeof *nk);
		if (!nf || !nk)
			return;
		if (l->n) {
			memcpy(nf, l->full, l->n * sizeof *nf);
			memcpy(nk, l->key, l->n * sizeof *nk);
		}
		l->full = nf;
		l->key = nk;
		l->cap = nc;
	}
	const char *f = arena_strdup(c->qa, full), *k = arena_strdup(c->qa, key);
	if (f && k) {
		l->full[l->n] = f;
		l->key[l->n++] = k;
	}
}

void promql__warnf(ev_ctx *c, const promql_node *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_anno(c, &c->warn, "PromQL warning: ", pos, fmt, ap);
	va_end(ap);
}

void promql__infof(ev_ctx *c, const promql_node *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_anno(c, &c->info, "PromQL info: ", pos, fmt, ap);
	va_end(ap);
}

void promql__mono_info(ev_ctx *c, const promql_node *pos, const char *metric, int64_t t, double min_bucket,
		       double max_bucket, double max_diff)
{
	if (!metric)
		metric = "";
	for (size_t i = 0; i < c->n_mono; i++) {
		ev_mono *m = &c->mono[i];
		if (strcmp(m->metric, metric) != 0)
			continue;
		if (t < m->min_ts)
			m->min_ts = t;
		if (t > m->max_ts)
			m->max_ts = t;
		if (min_bucket < m->min_bucket)
			m->min_bucket = min_bucket;
		if (max_bucket > m->max_bucket)
			m->max_bucket = max_bucket;
		if (max_diff > m->max_diff)
			m->max_diff = max_diff;
		m->count++;
		return;
	}
	if (c->n_mono == c->cap_mono) {
		size_t nc = c->cap_mono ? c->cap_mono * 2 : 4;
		ev_mono *nm = arena_alloc(c->qa, nc * sizeof *nm);
		if (!nm)
			return;
		if (c->n_mono)
			memcpy(nm, c->mono, c->n_mono * sizeof *nm);
		c->mono = nm;
		c->cap_mono = nc;
	}
	const char *mc = arena_strdup(c->qa, metric);
	if (!mc)
		return;
	c->mono[c->n_mono++] = (ev_mono){mc, pos, t, t, min_bucket, max_bucket, max_diff, 0};
}

static void rfc3339_sec(char *out, size_t cap, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	if (ms < 0 && ms % 1000)
		s--;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Turns the merged monotonicity records into info annotations (Prometheus's wording). */
static void flush_mono(ev_ctx *c)
{
	for (size_t i = 0; i < c->n_mono; i++) {
		const ev_mono *m = &c->mono[i];
		char b1[FMT_FLOAT_MAX], b2[FMT_FLOAT_MAX], t1[32], t2[32];
		fmt_float_go(b1, m->min_bucket, 'g');
		fmt_float_go(b2, m->max_bucket, 'g');
		rfc3339_sec(t1, sizeof t1, m->min_ts);
		rfc3339_sec(t2, sizeof t2, m->max_ts);
		char name[600] = "";
		if (m->metric[0])
			snprintf(name, sizeof name, " for metric name \"%.500s\"", m->metric);
		promql__infof(c, m->pos,
			      "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)%s, from buckets %s to %s, with a max diff of %.2g, over %d samples from %s to %s",
			      name, b1, b2, m->max_diff, m->count + 1, t1, t2);
	}
	c->n_mono = 0;
}

uint8_t promql__counter_name(const slod_labels *ls)
{
	const char *name = labels_get(ls, SLOD_METRIC_NAME);
	if (!name || !*name)
		return 1;
	static const char *const suf[] = {"_total", "_sum", "_count", "_bucket"};
	size_t n = strlen(name);
	for (size_t i = 0; i < 4; i++) {
		size_t sl = strlen(suf[i]);
		if (n >= sl && memcmp(name + n - sl, suf[i], sl) == 0)
			return 1;
	}
	return 2;
}

void *promql__cache_get(ev_ctx *c, const promql_node *n)
{
	for (size_t i = 0; i < c->n_cache; i++)
		if (c->cache_node[i] == n)
			return c->cache_val[i];
	return NULL;
}

int promql__cache_put(ev_ctx *c, const promql_node *n, void *v)
{
	if (c->n_cache == c->cap_cache) {
		size_t nc = c->cap_cache ? c->cap_cache * 2 : 8;
		const promql_node **nn = arena_alloc(c->qa, nc * sizeof *nn);
		void **nv = arena_alloc(c->qa, nc * sizeof *nv);
		if (!nn || !nv)
			return promql__oom(c);
		if (c->n_cache) {
			memcpy(nn, c->cache_node, c->n_cache * sizeof *nn);
			memcpy(nv, c->cache_val, c->n_cache * sizeof *nv);
		}
		c->cache_node = nn;
		c->cache_val = nv;
		c->cap_cache = nc;
	}
	c->cache_node[c->n_cache] = n;
	c->cache_val[c->n_cache++] = v;
	return 0;
}

/* ---- label helpers ---- */

slod_labels promql__labels_without(arena *a, const slod_labels *ls, const char *name)
{
	slod_labels out = {0};
	out.v = arena_alloc(a, (ls->n ? ls->n : 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) != 0)
			out.v[out.n++] = ls->v[i];
	return out;
}

slod_labels promql__labels_drop_metadata(arena *a, const slod_labels *ls)
{
	slod_labels out = {0};
	out.v = arena_alloc(a, (ls->n ? ls->n : 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	for (size_t i = 0; i < ls->n; i++)
		if (!promql__is_metadata_label(ls->v[i].name))
			out.v[out.n++] = ls->v[i];
	return out;
}

slod_labels promql__labels_set(arena *a, const slod_labels *ls, const char *name, const char *value)
{
	slod_labels out = {0};
	out.v = arena_alloc(a, (ls->n + 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	bool done = !value || !*value;
	for (size_t i = 0; i < ls->n; i++) {
		int cmp = strcmp(ls->v[i].name, name);
		if (cmp == 0)
			continue;
		if (cmp > 0 && !done) {
			out.v[out.n++] = (slod_label){name, value};
			done = true;
		}
		out.v[out.n++] = ls->v[i];
	}
	if (!done)
		out.v[out.n++] = (slod_label){name, value};
	return out;
}

static bool name_in(const char *n, const char **names, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (strcmp(n, names[i]) == 0)
			return true;
	return false;
}

/* 64-bit hash of a byte string: 8-byte words folded with multiply-xorshift (wyhash-style
 * mixing); good dispersion for grouping keys, much cheaper than a streaming hash state. */
static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
	const uint64_t k = 0x9E3779B97F4A7C15ULL;
	uint64_t h = 0x243F6A8885A308D3ULL ^ (n * k);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h ^= w * 0xBF58476D1CE4E5B9ULL;
		h = (h ^ (h >> 31)) * k;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h ^= (w ^ n) * 0x94D049BB133111EBULL;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	return h;
}

/* Serialises the selected labels (name 0xff value 0xff ...) into b (cap bytes); returns the
 * length needed (may exceed cap: then b holds a prefix). */
static size_t sig_bytes(const slod_labels *ls, bool on, const char **names, size_t n, unsigned char *b, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < ls->n; i++) {
		const char *ln = ls->v[i].name;
		bool in = name_in(ln, names, n);
		if (on ? !in : (in || strcmp(ln, SLOD_METRIC_NAME) == 0))
			continue;
		for (const char *p = ln; *p; p++, o++)
			if (o < cap)
				b[o] = (unsigned char)*p;
		if (o < cap)
			b[o] = 0xff;
		o++;
		for (const char *p = ls->v[i].value; *p; p++, o++)
			if (o < cap)
				b[o] = (unsigned char)*p;
		if (o < cap)
			b[o] = 0xff;
		o++;
	}
	return o;
}

uint64_t promql__signature(const slod_labels *ls, bool on, const char **names, size_t n)
{
	unsigned char stackb[512];
	size_t need = sig_bytes(ls, on, names, n, stackb, sizeof stackb);
	if (need <= sizeof stackb)
		return hash_bytes(stackb, need);
	unsigned char *b = malloc(need);
	if (!b)
		return 0;
	sig_bytes(ls, on, names, n, b, need);
	uint64_t h = hash_bytes(b, need);
	free(b);
	return h;
}

/* ---- selector ranges (pre-pass) ---- */

/* Evaluation times, steps and the lookback stay within +-EV_MAX_ABS_MS (2^61 ms, ~73 million
 * years), so t +- step, lookback, offsets and ranges (each at most ~292y, the parser's duration
 * bound) never overflow int64. promql_eval rejects start/end/step/lookback beyond it; an @
 * timestamp (the parser allows the whole int64 range, as Prometheus) is clamped to it. */
#define EV_MAX_ABS_MS (INT64_C(1) << 61)

static int64_t resolve_at(const ev_ctx *c, const promql_at *at)
{
	switch (at->kind) {
	case PROMQL_AT_START: return c->start;
	case PROMQL_AT_END: return c->end;
	default:
		return at->ts_ms > EV_MAX_ABS_MS ? EV_MAX_ABS_MS : at->ts_ms < -EV_MAX_ABS_MS ? -EV_MAX_ABS_MS : at->ts_ms;
	}
}

static int add_sel(ev_ctx *c, const promql_node *vs, bool for_range, int64_t mint, int64_t maxt)
{
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].node == vs) {
			if (mint < c->sel[i].mint)
				c->sel[i].mint = mint;
			if (maxt > c->sel[i].maxt)
				c->sel[i].maxt = maxt;
			return 0;
		}
	if (c->n_sel == c->cap_sel) {
		size_t nc = c->cap_sel ? c->cap_sel * 2 : 8;
		ev_selcache *ns = arena_alloc(c->qa, nc * sizeof *ns);
		if (!ns)
			return promql__oom(c);
		if (c->n_sel)
			memcpy(ns, c->sel, c->n_sel * sizeof *ns);
		c->sel = ns;
		c->cap_sel = nc;
	}
	ev_selcache *s = &c->sel[c->n_sel++];
	memset(s, 0, sizeof *s);
	s->node = vs;
	s->for_range = for_range;
	s->mint = mint;
	s->maxt = maxt;
	return 0;
}

static ev_selcache *find_sel(ev_ctx *c, const promql_node *vs);
static int check_deadline(ev_ctx *c);
static int64_t sub_first(int64_t ts, int64_t range, int64_t step);

static int add_rowcall(ev_ctx *c, const promql_node *call, const promql_node *msel, size_t mi, int64_t gs,
		       int64_t ge, int64_t gstep)
{
	for (size_t i = 0; i < c->n_rows; i++)
		if (c->rows[i].node == call)
			return 0;
	if (c->n_rows == c->cap_rows) {
		size_t nc = c->cap_rows ? c->cap_rows * 2 : 4;
		ev_rowcall *nr = arena_alloc(c->qa, nc * sizeof *nr);
		if (!nr)
			return promql__oom(c);
		if (c->n_rows)
			memcpy(nr, c->rows, c->n_rows * sizeof *nr);
		c->rows = nr;
		c->cap_rows = nc;
	}
	memset(&c->rows[c->n_rows], 0, sizeof c->rows[0]);
	c->rows[c->n_rows].node = call;
	c->rows[c->n_rows].msel = msel;
	c->rows[c->n_rows].g_start = gs;
	c->rows[c->n_rows].g_end = ge;
	c->rows[c->n_rows].g_step = gstep;
	c->rows[c->n_rows++].mi = mi;
	return 0;
}

/* Records the outer evaluation times [lo, hi] (every `step`) of a subquery node. */
static int add_subrange(ev_ctx *c, const promql_node *n, int64_t lo, int64_t hi, int64_t step)
{
	for (size_t i = 0; i < c->n_subr; i++)
		if (c->subr[i].node == n) {
			/* evaluated under several outer ranges (not possible in a tree, but be safe) */
			if (lo < c->subr[i].lo)
				c->subr[i].lo = lo;
			if (hi > c->subr[i].hi)
				c->subr[i].hi = hi;
			c->subr[i].step = 0;
			return 0;
		}
	if (c->n_subr == c->cap_subr) {
		size_t nc = c->cap_subr ? c->cap_subr * 2 : 4;
		ev_subrange *ns = arena_alloc(c->qa, nc * sizeof *ns);
		if (!ns)
			return promql__oom(c);
		if (c->n_subr)
			memcpy(ns, c->subr, c->n_subr * sizeof *ns);
		c->subr = ns;
		c->cap_subr = nc;
	}
	c->subr[c->n_subr++] = (ev_subrange){n, lo, hi, step, NULL};
	return 0;
}

static int prep(ev_ctx *c, const promql_node *n, int64_t lo, int64_t hi, int64_t step)
{
	if (!n)
		return 0;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		return 0;
	case PROMQL_NODE_VECTOR_SELECTOR: {
		int64_t a = lo, b = hi;
		if (n->vs.at.kind != PROMQL_AT_NONE)
			a = b = resolve_at(c, &n->vs.at);
		a -= n->vs.offset_ms;
		b -= n->vs.offset_ms;
		if (n->vs.smoothed) /* interpolates between neighbours up to lookback after t */
			return add_sel(c, n, true, a - c->lookback + 1, b + c->lookback);
		if (add_sel(c, n, false, a - c->lookback + 1, b) < 0)
			return -1;
		if (c->grid_ok && lo < hi && step > 0 && n->vs.at.kind == PROMQL_AT_NONE) {
			ev_selcache *sc = find_sel(c, n);
			sc->rows = true;
			sc->stream = true;
			sc->g_start = lo;
			sc->g_end = hi;
			sc->g_step = step;
		}
		return 0;
	}
	case PROMQL_NODE_MATRIX_SELECTOR: {
		const promql_node *vs = n->matrix.vs;
		int64_t a = lo, b = hi;
		if (vs->vs.at.kind != PROMQL_AT_NONE)
			a = b = resolve_at(c, &vs->vs.at);
		a -= vs->vs.offset_ms;
		b -= vs->vs.offset_ms;
		/* anchored and smoothed windows reach back (and smoothed forward) by the lookback */
		int64_t back = vs->vs.anchored || vs->vs.smoothed ? c->lookback : 0;
		int64_t fwd = vs->vs.smoothed ? c->lookback : 0;
		return add_sel(c, vs, true, a - n->matrix.range_ms - back + 1, b + fwd);
	}
	case PROMQL_NODE_SUBQUERY: {
		int64_t a = lo, b = hi;
		if (n->subquery.at.kind != PROMQL_AT_NONE)
			a = b = resolve_at(c, &n->subquery.at);
		if (add_subrange(c, n, lo, hi, n->subquery.at.kind != PROMQL_AT_NONE ? 0 : step) < 0)
			return -1;
		a -= n->subquery.offset_ms;
		b -= n->subquery.offset_ms;
		int64_t sstep = n->subquery.step_ms > 0 ? n->subquery.step_ms : c->interval;
		/* the inner expression is evaluated only at multiples of sstep in [gs, b]; rows over that
		 * grid pay off when it is evaluated once or its windows overlap from step to step */
		int64_t gs = sub_first(a, n->subquery.range_ms, sstep);
		bool saved = c->grid_ok;
		c->grid_ok = a == b || (step > 0 && step <= n->subquery.range_ms + sstep);
		int rc = prep(c, n->subquery.expr, gs, b, sstep);
		c->grid_ok = saved;
		return rc;
	}
	case PROMQL_NODE_UNARY:
		return prep(c, n->unary.expr, lo, hi, step);
	case PROMQL_NODE_PAREN:
		return prep(c, n->paren.expr, lo, hi, step);
	case PROMQL_NODE_BINARY:
		if (prep(c, n->binary.lhs, lo, hi, step) < 0)
			return -1;
		return prep(c, n->binary.rhs, lo, hi, step);
	case PROMQL_NODE_AGGREGATE:
		if (prep(c, n->aggregate.param, lo, hi, step) < 0)
			return -1;
		return prep(c, n->aggregate.expr, lo, hi, step);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->call.n_args; i++) {
			if (prep(c, n->call.args[i], lo, hi, step) < 0)
				return -1;
			/* an instant query's range function reads its selector one series at a time, like
			 * Prometheus, so memory holds one series' window instead of all of them */
			const promql_node *a = n->call.args[i];
			while (a->kind == PROMQL_NODE_PAREN)
				a = a->paren.expr;
			if (a->kind == PROMQL_NODE_MATRIX_SELECTOR && c->start == c->end && lo == hi &&
			    n->call.func->id != PROMQL_FN_INFO) {
				ev_selcache *sc = find_sel(c, a->matrix.vs);
				if (sc)
					sc->stream = true;
			}
			/* in a range query, a top-level range function over a plain selector runs series by
			 * series over all steps at once; rate/increase/delta do so in instant queries too
			 * (one step), for raterows.c's parallel series */
			promql_func_id fid = n->call.func->id;
			bool rate_fn = (fid == PROMQL_FN_RATE || fid == PROMQL_FN_INCREASE || fid == PROMQL_FN_DELTA) &&
				       a->kind == PROMQL_NODE_MATRIX_SELECTOR && !a->matrix.vs->vs.anchored &&
				       !a->matrix.vs->vs.smoothed;
			if (a->kind == PROMQL_NODE_MATRIX_SELECTOR && c->grid_ok && (lo < hi || rate_fn) && step > 0 &&
			    a->matrix.vs->vs.at.kind == PROMQL_AT_NONE && fid != PROMQL_FN_INFO &&
			    fid != PROMQL_FN_ABSENT_OVER_TIME) {
				ev_selcache *sc = find_sel(c, a->matrix.vs);
				if (sc && add_rowcall(c, n, a, i, lo, hi, step) == 0)
					sc->stream = true;
			}
		}
		if (n->call.func->id == PROMQL_FN_INFO && n->call.n_args >= 1) {
			/* info() selects its info series at the times (and @/offset) of its first argument's
			 * first selector */
			promql_at at = {0};
			int64_t off = 0;
			promql__info_at_offset(n->call.args[0], &at, &off);
			int64_t a = lo, b = hi;
			if (at.kind != PROMQL_AT_NONE)
				a = b = resolve_at(c, &at);
			tsdb_matcher *m;
			size_t nm;
			if (promql__info_matchers(c->qa, n, &m, &nm) < 0)
				return promql__oom(c);
			if (add_sel(c, n, false, a - off - c->lookback + 1, b - off) < 0)
				return -1;
			ev_selcache *sc = find_sel(c, n);
			sc->m = m;
			sc->nm = nm;
		}
		return 0;
	}
	return 0;
}

static int load_sel(ev_ctx *c, ev_selcache *s)
{
	if (s->loaded)
		return 0;
	s->loaded = true;
	if (!c->q)
		return 0;
	tsdb_series *series = NULL;
	size_t ns = 0;
	int rc = s->m ? tsdb_querier_select(c->q, s->m, s->nm, &series, &ns)
		      : tsdb_querier_select(c->q, s->node->vs.matchers, s->node->vs.n_matchers, &series, &ns);
	if (rc < 0) {
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
		snprintf(c->err, sizeof c->err, "expanding series: storage error %d", rc);
		return -1;
	}
	s->ls = arena_alloc(c->qa, (ns ? ns : 1) * sizeof *s->ls);
	s->pts = arena_alloc(c->qa, (ns ? ns : 1) * sizeof *s->pts);
	s->npts = arena_alloc(c->qa, (ns ? ns : 1) * sizeof *s->npts);
	s->counter_name = arena_calloc(c->qa, ns ? ns : 1, 1);
	s->hint_lo = arena_calloc(c->qa, ns ? ns : 1, sizeof *s->hint_lo);
	s->hint_hi = arena_calloc(c->qa, ns ? ns : 1, sizeof *s->hint_hi);
	if (!s->ls || !s->pts || !s->npts || !s->counter_name || !s->hint_lo || !s->hint_hi)
		return promql__oom(c);
	if (s->stream) {
		s->refs = arena_alloc(c->qa, (ns ? ns : 1) * sizeof *s->refs);
		if (!s->refs)
			return promql__oom(c);
		for (size_t i = 0; i < ns; i++) {
			s->ls[i] = *series[i].labels;
			s->refs[i] = series[i].ref;
			s->pts[i] = NULL;
			s->npts[i] = 0;
		}
		s->n = ns;
		return 0;
	}
	tsdb_sample *sbuf = NULL;
	size_t cap = 0;
	int ret = -1;
	s->n = 0;
	for (size_t i = 0; i < ns; i++) {
		if ((i & 1023) == 1023 && check_deadline(c) < 0)
			goto out;
		long got = tsdb_querier_samples(c->q, series[i].ref, s->mint, s->maxt, &sbuf, &cap);
		if (got < 0) {
			c->errtype = PROMQL_ERRTYPE_INTERNAL;
			snprintf(c->err, sizeof c->err, "reading samples: storage error %ld", got);
			goto out;
		}
		size_t keep = s->for_range ? promql__drop_stale(sbuf, (size_t)got) : (size_t)got;
		if (keep == 0)
			continue;
		c->samples_loaded += keep;
		if (c->samples_loaded > c->max_samples) {
			c->errtype = PROMQL_ERRTYPE_TOO_MANY_SAMPLES;
			snprintf(c->err, sizeof c->err,
				 "query processing would load too many samples into memory in query execution");
			goto out;
		}
		tsdb_sample *p = arena_alloc(c->qa, keep * sizeof *p);
		if (!p) {
			promql__oom(c);
			goto out;
		}
		memcpy(p, sbuf, keep * sizeof *p);
		s->ls[s->n] = *series[i].labels;
		s->pts[s->n] = p;
		s->npts[s->n] = keep;
		s->n++;
	}
	ret = 0;
out:
	free(sbuf);
	return ret;
}

static ev_selcache *find_sel(ev_ctx *c, const promql_node *vs)
{
	for (size_t i = 0; i < c->n_sel; i++)
		if (c->sel[i].node == vs)
			return &c->sel[i];
	return NULL;
}

ev_selcache *promql__sel(ev_ctx *c, const promql_node *key)
{
	ev_selcache *s = find_sel(c, key);
	if (!s) {
		promql__errorf(c, "internal error: selector not prepared");
		return NULL;
	}
	if (load_sel(c, s) < 0)
		return NULL;
	return s;
}

int64_t promql__resolve_at(const ev_ctx *c, const promql_at *at)
{
	return resolve_at(c, at);
}

/* Index of the first sample with t > x. */
static size_t upper_bound(const tsdb_sample *p, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p[mid].t <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t promql__upper_bound(const tsdb_sample *p, size_t n, int64_t x)
{
	return upper_bound(p, n, x);
}

/* The same, starting from a previous answer *hint (steps usually move forward a little): gallops
 * forward from the hint, or falls back to a plain binary search when x moved backwards. */
static size_t upper_bound_hint(const tsdb_sample *p, size_t n, int64_t x, size_t *hint)
{
	size_t h = *hint;
	size_t r;
	if (h > n || (h > 0 && p[h - 1].t > x)) {
		r = upper_bound(p, n, x);
	} else {
		/* p[h-1].t <= x (or h == 0): the answer is >= h */
		size_t step = 1, lo = h;
		while (lo + step <= n && p[lo + step - 1].t <= x) {
			lo += step;
			step *= 2;
		}
		size_t hi = lo + step <= n ? lo + step : n;
		r = lo + upper_bound(p + lo, hi - lo, x);
	}
	*hint = r;
	return r;
}

int promql__check_deadline(ev_ctx *c)
{
	return check_deadline(c);
}

bool promql__expired(const ev_ctx *c)
{
	if (c->cancel && __atomic_load_n((const int *)c->cancel, __ATOMIC_RELAXED))
		return true;
	if (!c->deadline)
		return false;
	int64_t now = c->eng->o.clock.now_ms ? slod_clock_now(&c->eng->o.clock) : slod_monotonic_ms();
	return now > c->deadline;
}

static int check_deadline(ev_ctx *c)
{
	/* the flag is written by another thread (the HTTP server's watchdog or shutdown) */
	if (c->cancel && __atomic_load_n((const int *)c->cancel, __ATOMIC_RELAXED)) {
		c->errtype = PROMQL_ERRTYPE_CANCELED;
		snprintf(c->err, sizeof c->err, "query was canceled in expression evaluation");
		return -1;
	}
	if (c->deadline) {
		int64_t now = c->eng->o.clock.now_ms ? slod_clock_now(&c->eng->o.clock) : slod_monotonic_ms();
		if (now > c->deadline) {
			c->errtype = PROMQL_ERRTYPE_TIMEOUT;
			snprintf(c->err, sizeof c->err, "query timed out in expression evaluation");
			return -1;
		}
	}
	return 0;
}

/* Linear interpolation between two samples at time t (Prometheus's interpolate; with counter,
 * a decrease is taken as a reset from 0). */
double promql__interpolate(const tsdb_sample *p1, const tsdb_sample *p2, int64_t t, bool counter)
{
	double y1 = p1->v, y2 = p2->v;
	if (counter && y2 < y1)
		y1 = 0;
	return y1 + (y2 - y1) * (double)(t - p1->t) / (double)(p2->t - p1->t);
}

static int build_sel_rows(ev_ctx *c, ev_selcache *s, const promql_node *n, const ev_row_sink *sink);
static long read_series(ev_ctx *c, tsdb_ref ref, int64_t lo, int64_t hi, bool keep_stale);

static int eval_vector_selector(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	ev_selcache *s = find_sel(c, n);
	if (!s)
		return promql__errorf(c, "internal error: selector not prepared");
	if (load_sel(c, s) < 0)
		return -1;
	int64_t ts = (n->vs.at.kind != PROMQL_AT_NONE ? resolve_at(c, &n->vs.at) : t) - n->vs.offset_ms;
	out->type = PROMQL_TYPE_VECTOR;
	if (s->rows && t >= s->g_start && t <= s->g_end && (t - s->g_start) % s->g_step == 0) {
		if (!s->rows_built && build_sel_rows(c, s, n, NULL) < 0)
			return -1;
		if (s->rows_consumed)
			return promql__errorf(c, "internal error: selector rows already consumed");
		size_t st = (size_t)((t - s->g_start) / s->g_step);
		out->vec.s = arena_alloc(c->sa, (s->nrows ? s->nrows : 1) * sizeof(ev_sample));
		out->vec.n = 0;
		if (!out->vec.s)
			return promql__oom(c);
		for (size_t r = 0; r < s->nrows; r++)
			if (s->rp[r][st])
				out->vec.s[out->vec.n++] = (ev_sample){s->rls[r], s->rv[r][st], s->rt[r][st], false};
		return promql__account(c, out->vec.n);
	}
	out->vec.s = arena_alloc(c->sa, (s->n ? s->n : 1) * sizeof(ev_sample));
	out->vec.n = 0;
	if (!out->vec.s)
		return promql__oom(c);
	if (s->stream) {
		/* a rows-mode selector asked for a time off its grid (not expected): read each series'
		 * lookback window */
		for (size_t i = 0; i < s->n; i++) {
			long np = read_series(c, s->refs[i], ts - c->lookback, ts, true);
			if (np < 0)
				return -1;
			if (np == 0 || promql__is_stale(c->sbuf[np - 1].v))
				continue;
			out->vec.s[out->vec.n++] = (ev_sample){s->ls[i], c->sbuf[np - 1].v, c->sbuf[np - 1].t, false};
		}
		return promql__account(c, out->vec.n);
	}
	for (size_t i = 0; i < s->n; i++) {
		if (n->vs.smoothed) {
			/* samples in (ts - lookback, ts + lookback]: the value at ts, interpolated between the
			 * neighbours, or the last one before ts when none follows */
			const tsdb_sample *p = s->pts[i];
			size_t lo = upper_bound(p, s->npts[i], ts - c->lookback);
			size_t hi = upper_bound(p, s->npts[i], ts + c->lookback);
			size_t k = lo + upper_bound(p + lo, hi - lo, ts - 1); /* first with t >= ts */
			double v;
			if (k < hi && p[k].t == ts)
				v = p[k].v;
			else if (k > lo && k < hi)
				v = promql__interpolate(&p[k - 1], &p[k], ts, false);
			else if (k > lo)
				v = p[k - 1].v;
			else
				continue;
			out->vec.s[out->vec.n++] = (ev_sample){s->ls[i], v, ts, false};
			continue;
		}
		size_t k = upper_bound_hint(s->pts[i], s->npts[i], ts, &s->hint_hi[i]);
		if (k == 0)
			continue;
		const tsdb_sample *p = &s->pts[i][k - 1];
		if (p->t <= ts - c->lookback || promql__is_stale(p->v))
			continue;
		out->vec.s[out->vec.n++] = (ev_sample){s->ls[i], p->v, p->t, false};
	}
	return promql__account(c, out->vec.n);
}

/* Prometheus's extendFloats: the window's samples with the boundary values at mint and maxt
 * (interpolated when smoothed) added as points. Returns the count written to out (which has room
 * for n + 2), 0 when nothing lies after mint. */
static size_t extend_floats(const tsdb_sample *f, size_t n, int64_t mint, int64_t maxt, bool smoothed,
			    tsdb_sample *out)
{
	if (n == 0)
		return 0;
	size_t last = n - 1;
	size_t first = upper_bound(f, last, mint);
	first = first > 0 ? first - 1 : 0;
	if (smoothed)
		last = upper_bound(f, last, maxt - 1);
	if (f[last].t <= mint)
		return 0;
	double left = smoothed && f[first].t < mint ? promql__interpolate(&f[first], &f[first + 1], mint, false)
						    : f[first].v;
	double right = smoothed && last > 0 && f[last].t > maxt ? promql__interpolate(&f[last - 1], &f[last], maxt, false)
								: f[last].v;
	if (f[first].t <= mint)
		first++;
	long l = (long)last;
	if (f[last].t >= maxt)
		l--;
	size_t o = 0;
	out[o++] = (tsdb_sample){mint, left};
	for (long k = (long)first; k <= l; k++)
		out[o++] = f[k];
	out[o++] = (tsdb_sample){maxt, right};
	return o;
}

static int eval_matrix_selector(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	const promql_node *vs = n->matrix.vs;
	ev_selcache *s = find_sel(c, vs);
	if (!s)
		return promql__errorf(c, "internal error: selector not prepared");
	if (load_sel(c, s) < 0)
		return -1;
	int64_t ts = (vs->vs.at.kind != PROMQL_AT_NONE ? resolve_at(c, &vs->vs.at) : t) - vs->vs.offset_ms;
	int64_t range = n->matrix.range_ms;
	/* anchored/smoothed: the window also holds the samples up to lookback before (and, smoothed,
	 * after) it, for the boundary values */
	int64_t lo_t = ts - range, hi_t = ts;
	if (vs->vs.anchored || vs->vs.smoothed)
		lo_t -= c->lookback;
	if (vs->vs.smoothed)
		hi_t += c->lookback;
	bool extend = (vs->vs.anchored || vs->vs.smoothed) && c->root == n;
	out->type = PROMQL_TYPE_MATRIX;
	out->range_end = ts;
	out->range_ms = range;
	out->ext = vs->vs.smoothed ? 2 : vs->vs.anchored ? 1 : 0;
	out->mat.s = arena_alloc(c->sa, (s->n ? s->n : 1) * sizeof(ev_series));
	out->mat.n = 0;
	if (!out->mat.s)
		return promql__oom(c);
	size_t total = 0;
	if (s->stream && !extend) {
		for (size_t i = 0; i < s->n; i++) {
			if (!s->counter_name[i])
				s->counter_name[i] = promql__counter_name(&s->ls[i]);
			out->mat.s[out->mat.n++] = (ev_series){s->ls[i], NULL, 0, false, s->counter_name[i], s->refs[i]};
		}
		return 0;
	}
	for (size_t i = 0; i < s->n; i++) {
		size_t lo = upper_bound_hint(s->pts[i], s->npts[i], lo_t, &s->hint_lo[i]);
		size_t hi = upper_bound_hint(s->pts[i], s->npts[i], hi_t, &s->hint_hi[i]);
		if (hi <= lo)
			continue;
		if (!s->counter_name[i])
			s->counter_name[i] = promql__counter_name(&s->ls[i]);
		const tsdb_sample *pts = s->pts[i] + lo;
		size_t np = hi - lo;
		if (extend) {
			/* an anchored/smoothed range selector as the query result: Prometheus's extendFloats */
			tsdb_sample *e = arena_alloc(c->sa, (np + 2) * sizeof *e);
			if (!e)
				return promql__oom(c);
			np = extend_floats(pts, np, ts - range, ts, vs->vs.smoothed, e);
			if (np == 0)
				continue;
			pts = e;
		}
		out->mat.s[out->mat.n++] = (ev_series){s->ls[i], pts, np, false, s->counter_name[i], 0};
		total += np;
	}
	return promql__account(c, total);
}

static long read_series(ev_ctx *c, tsdb_ref ref, int64_t lo, int64_t hi, bool keep_stale)
{
	if (!c->q)
		return 0;
	long got = tsdb_querier_samples(c->q, ref, lo + 1, hi, &c->sbuf, &c->sbuf_cap);
	if (got < 0) {
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
		snprintf(c->err, sizeof c->err, "reading samples: storage error %ld", got);
		return -1;
	}
	size_t keep = keep_stale ? (size_t)got : promql__drop_stale(c->sbuf, (size_t)got);
	c->samples_loaded += keep;
	return (long)keep;
}

size_t promql__drop_stale(tsdb_sample *p, size_t n)
{
	size_t k = 0; /* compact only from the first stale marker on (usually none) */
	while (k < n && !promql__is_stale(p[k].v))
		k++;
	size_t keep = k;
	for (; k < n; k++)
		if (!promql__is_stale(p[k].v))
			p[keep++] = p[k];
	return keep;
}

long promql__read_series(ev_ctx *c, tsdb_ref ref, int64_t lo, int64_t hi)
{
	return read_series(c, ref, lo, hi, false);
}

/* Rows mode of an instant-vector selector: for each series, the sample visible at every step of
 * the query (newest in (ts - lookback, ts], not a stale marker). */
/* Resolves the selector at every step of its grid, one series at a time: rows kept in the query
 * arena, or, with a sink, handed to it from one reused buffer (the rows are then consumed). */
static int build_sel_rows(ev_ctx *c, ev_selcache *s, const promql_node *n, const ev_row_sink *sink)
{
	size_t nsteps = (size_t)((s->g_end - s->g_start) / s->g_step) + 1;
	int64_t off = n->vs.offset_ms;
	int ret = -1;
	double *sink_v = NULL;
	int64_t *sink_t = NULL;
	uint8_t *sink_p = NULL;
	if (sink) {
		sink_v = malloc(nsteps * sizeof *sink_v);
		sink_t = malloc(nsteps * sizeof *sink_t);
		sink_p = calloc(nsteps, 1);
		if (!sink_v || !sink_t || !sink_p)
			goto oom;
	} else {
		s->rls = arena_alloc(c->qa, (s->n ? s->n : 1) * sizeof *s->rls);
		s->rv = arena_alloc(c->qa, (s->n ? s->n : 1) * sizeof *s->rv);
		s->rt = arena_alloc(c->qa, (s->n ? s->n : 1) * sizeof *s->rt);
		s->rp = arena_alloc(c->qa, (s->n ? s->n : 1) * sizeof *s->rp);
		if (!s->rls || !s->rv || !s->rt || !s->rp)
			goto oom;
	}
	size_t total = 0;
	for (size_t i = 0; i < s->n; i++) {
		if ((i & 255) == 255 && check_deadline(c) < 0)
			goto out;
		long np = read_series(c, s->refs[i], s->g_start - off - c->lookback, s->g_end - off, true);
		if (np < 0)
			goto out;
		if (np == 0)
			continue;
		double *v = NULL;
		int64_t *tt = NULL;
		uint8_t *pr = NULL;
		size_t k = 0; /* samples[0..k) have t <= ts */
		for (size_t st = 0; st < nsteps; st++) {
			int64_t ts = s->g_start + (int64_t)st * s->g_step - off;
			while (k < (size_t)np && c->sbuf[k].t <= ts)
				k++;
			if (k == 0)
				continue;
			const tsdb_sample *p = &c->sbuf[k - 1];
			if (p->t <= ts - c->lookback || promql__is_stale(p->v))
				continue;
			if (!v) {
				v = sink ? sink_v : arena_alloc(c->qa, nsteps * sizeof *v);
				tt = sink ? sink_t : arena_alloc(c->qa, nsteps * sizeof *tt);
				pr = sink ? sink_p : arena_calloc(c->qa, nsteps, 1);
				if (!v || !tt || !pr)
					goto oom;
			}
			v[st] = p->v;
			tt[st] = p->t;
			pr[st] = 1;
			if (++total > c->max_samples) {
				promql__account(c, total);
				goto out;
			}
		}
		if (v && sink) {
			if (sink->fn(sink->ud, &s->ls[i], false, v, pr) < 0)
				goto out;
			memset(pr, 0, nsteps);
		} else if (v) {
			s->rls[s->nrows] = s->ls[i];
			s->rv[s->nrows] = v;
			s->rt[s->nrows] = tt;
			s->rp[s->nrows++] = pr;
		}
	}
	s->rows_built = true;
	s->rows_consumed = sink != NULL;
	ret = 0;
	goto out;
oom:
	promql__oom(c);
out:
	free(sink_v);
	free(sink_t);
	free(sink_p);
	return ret;
}

int promql__rows_each(ev_ctx *c, const promql_node *n, int64_t t, const ev_row_sink *sink, ev_grid *grid)
{
	while (n->kind == PROMQL_NODE_PAREN)
		n = n->paren.expr;
	if (n->kind == PROMQL_NODE_CALL)
		return promql__rowcall_each(c, n, t, sink, grid);
	if (n->kind != PROMQL_NODE_VECTOR_SELECTOR)
		return 0;
	ev_selcache *s = find_sel(c, n);
	if (!s || !s->rows || t < s->g_start || t > s->g_end || (t - s->g_start) % s->g_step != 0)
		return 0;
	if (s->rows_consumed)
		return promql__errorf(c, "internal error: selector rows already consumed");
	*grid = (ev_grid){s->g_start, s->g_step, (size_t)((s->g_end - s->g_start) / s->g_step) + 1};
	if (load_sel(c, s) < 0)
		return -1;
	if (!s->rows_built)
		return build_sel_rows(c, s, n, sink) < 0 ? -1 : 1;
	for (size_t r = 0; r < s->nrows; r++)
		if (sink->fn(sink->ud, &s->rls[r], false, s->rv[r], s->rp[r]) < 0)
			return -1;
	return 1;
}

long promql__stream(ev_ctx *c, const ev_value *mv, const ev_series *s, ev_series *out)
{
	int64_t lo_t = mv->range_end - mv->range_ms, hi_t = mv->range_end;
	if (mv->ext)
		lo_t -= c->lookback;
	if (mv->ext == 2)
		hi_t += c->lookback;
	long got = promql__read_series(c, s->ref, lo_t, hi_t);
	if (got < 0)
		return -1;
	size_t keep = (size_t)got;
	/* the peak is one series' window (plus the step's other values) */
	if (c->cur_samples + keep > c->max_samples)
		return promql__account(c, keep);
	*out = *s;
	out->pts = c->sbuf;
	out->n = keep;
	return (long)keep;
}

/* ---- label-keyed series collection (subqueries and range results) ---- */

typedef struct coll_series {
	slod_labels ls;
	bool drop_name;
	tsdb_sample *pts;
	size_t n, cap;
	uint64_t hash;
} coll_series;

typedef struct collector {
	arena *a;
	coll_series *s;
	size_t n, cap;
	int32_t *tab; /* open addressing: index+1 into s, 0 = empty */
	size_t tcap;
} collector;

static int coll_grow_tab(collector *co)
{
	size_t nc = co->tcap ? co->tcap * 2 : 64;
	int32_t *nt = arena_calloc(co->a, nc, sizeof *nt);
	if (!nt)
		return -1;
	for (size_t i = 0; i < co->n; i++) {
		size_t h = co->s[i].hash & (nc - 1);
		while (nt[h])
			h = (h + 1) & (nc - 1);
		nt[h] = (int32_t)i + 1;
	}
	co->tab = nt;
	co->tcap = nc;
	return 0;
}

/* Finds or creates the series for ls (copy_labels: deep-copy strings into co->a). */
static coll_series *coll_get(collector *co, const slod_labels *ls, bool drop_name, bool copy_labels)
{
	uint64_t h = labels_hash(ls) ^ (drop_name ? 0x9e3779b97f4a7c15ULL : 0);
	if ((co->n + 1) * 2 > co->tcap && coll_grow_tab(co) < 0)
		return NULL;
	size_t i = h & (co->tcap - 1);
	while (co->tab[i]) {
		coll_series *s = &co->s[co->tab[i] - 1];
		if (s->hash == h && s->drop_name == drop_name && labels_equal(&s->ls, ls))
			return s;
		i = (i + 1) & (co->tcap - 1);
	}
	if (co->n == co->cap) {
		size_t nc = co->cap ? co->cap * 2 : 16;
		coll_series *ns = arena_alloc(co->a, nc * sizeof *ns);
		if (!ns)
			return NULL;
		if (co->n)
			memcpy(ns, co->s, co->n * sizeof *ns);
		co->s = ns;
		co->cap = nc;
	}
	coll_series *s = &co->s[co->n];
	memset(s, 0, sizeof *s);
	s->hash = h;
	s->drop_name = drop_name;
	if (copy_labels) {
		s->ls.v = arena_alloc(co->a, (ls->n ? ls->n : 1) * sizeof(slod_label));
		if (!s->ls.v)
			return NULL;
		s->ls.n = ls->n;
		for (size_t k = 0; k < ls->n; k++) {
			s->ls.v[k].name = arena_strdup(co->a, ls->v[k].name);
			s->ls.v[k].value = arena_strdup(co->a, ls->v[k].value);
			if (!s->ls.v[k].name || !s->ls.v[k].value)
				return NULL;
		}
	} else {
		s->ls = *ls;
	}
	co->tab[i] = (int32_t)co->n + 1;
	co->n++;
	return s;
}

static int coll_push(collector *co, coll_series *s, int64_t t, double v)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4;
		tsdb_sample *np = arena_alloc(co->a, nc * sizeof *np);
		if (!np)
			return -1;
		if (s->n)
			memcpy(np, s->pts, s->n * sizeof *np);
		s->pts = np;
		s->cap = nc;
	}
	s->pts[s->n++] = (tsdb_sample){t, v};
	return 0;
}

/* First inner evaluation time of a subquery window ending at ts: the first multiple of step
 * strictly after ts - range (Go's truncating division, as Prometheus). */
static int64_t sub_first(int64_t ts, int64_t range, int64_t step)
{
	int64_t lo = ts - range;
	int64_t st = step * (lo / step);
	if (st <= lo)
		st += step;
	return st;
}

/* Evaluates the inner expression at st, st+step, ..., <= end into co (labels copied into co's
 * arena when copy). Each inner step runs in its own scratch arena when scratch is set. */
static int sub_collect(ev_ctx *c, const promql_node *n, int64_t st, int64_t end, int64_t step, collector *co,
		       bool copy, arena *scratch, size_t *total)
{
	arena *saved = c->sa;
	int rc = 0;
	for (int64_t it = st; it <= end; it += step) {
		if (scratch) {
			arena_reset(scratch);
			c->sa = scratch;
		}
		ev_value v;
		if (promql__eval(c, n->subquery.expr, it, &v) < 0) {
			rc = -1;
			break;
		}
		size_t nv = v.type == PROMQL_TYPE_SCALAR ? 1 : v.vec.n;
		for (size_t i = 0; i < nv; i++) {
			slod_labels empty = {0};
			const slod_labels *ls = v.type == PROMQL_TYPE_SCALAR ? &empty : &v.vec.s[i].ls;
			bool dn = v.type == PROMQL_TYPE_SCALAR ? false : v.vec.s[i].drop_name;
			double val = v.type == PROMQL_TYPE_SCALAR ? v.scalar : v.vec.s[i].v;
			coll_series *s = coll_get(co, ls, dn, copy);
			if (!s || coll_push(co, s, it, val) < 0) {
				rc = promql__oom(c);
				break;
			}
		}
		if (rc < 0)
			break;
		*total += nv;
		if (*total > c->max_samples) {
			c->sa = saved;
			return promql__account(c, *total);
		}
		if (check_deadline(c) < 0) {
			rc = -1;
			break;
		}
	}
	c->sa = saved;
	return rc;
}

typedef struct sub_cache {
	ev_series *s; /* all inner points over the query's whole range, labels in qa */
	size_t n;
} sub_cache;

/* Whole-range evaluation, once per query, when the subquery's windows overlap from one outer
 * step to the next (else evaluating every inner step of the whole range would waste work). */
static int sub_cache_build(ev_ctx *c, const promql_node *n, const ev_subrange *sr, int64_t step, sub_cache **out)
{
	int64_t off = n->subquery.offset_ms, range = n->subquery.range_ms;
	int64_t st = sub_first(sr->lo - off, range, step);
	int64_t end = sr->hi - off;
	collector co = {.a = c->qa};
	arena scratch;
	arena_init(&scratch, 0);
	size_t total = 0;
	int rc = sub_collect(c, n, st, end, step, &co, true, &scratch, &total);
	arena_deinit(&scratch);
	if (rc < 0)
		return -1;
	sub_cache *sc = arena_alloc(c->qa, sizeof *sc);
	if (!sc)
		return promql__oom(c);
	sc->s = arena_alloc(c->qa, (co.n ? co.n : 1) * sizeof *sc->s);
	if (!sc->s)
		return promql__oom(c);
	sc->n = co.n;
	for (size_t i = 0; i < co.n; i++)
		sc->s[i] = (ev_series){co.s[i].ls, co.s[i].pts, co.s[i].n, co.s[i].drop_name,
				       promql__counter_name(&co.s[i].ls), 0};
	*out = sc;
	return 0;
}

static int eval_subquery(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	int64_t ts = (n->subquery.at.kind != PROMQL_AT_NONE ? resolve_at(c, &n->subquery.at) : t) -
		     n->subquery.offset_ms;
	int64_t step = n->subquery.step_ms > 0 ? n->subquery.step_ms : c->interval;
	int64_t range = n->subquery.range_ms;
	out->type = PROMQL_TYPE_MATRIX;
	out->range_end = ts;
	out->range_ms = range;

	const ev_subrange *sr = NULL;
	for (size_t i = 0; i < c->n_subr; i++)
		if (c->subr[i].node == n)
			sr = &c->subr[i];
	bool cacheable = sr && sr->hi > sr->lo && sr->step > 0 && sr->step <= range + step &&
			 t >= sr->lo && t <= sr->hi;
	if (cacheable) {
		sub_cache *sc = sr->cache;
		if (!sc) {
			if (sub_cache_build(c, n, sr, step, &sc) < 0)
				return -1;
			((ev_subrange *)sr)->cache = sc;
		}
		out->mat.s = arena_alloc(c->sa, (sc->n ? sc->n : 1) * sizeof(ev_series));
		if (!out->mat.s)
			return promql__oom(c);
		out->mat.n = 0;
		size_t total = 0;
		for (size_t i = 0; i < sc->n; i++) {
			size_t lo = upper_bound(sc->s[i].pts, sc->s[i].n, ts - range);
			size_t hi = upper_bound(sc->s[i].pts, sc->s[i].n, ts);
			if (hi <= lo)
				continue;
			out->mat.s[out->mat.n++] = (ev_series){sc->s[i].ls, sc->s[i].pts + lo, hi - lo, sc->s[i].drop_name,
							       sc->s[i].counter_name, 0};
			total += hi - lo;
		}
		return promql__account(c, total);
	}

	/* per outer step: inner steps run in a scratch arena (their temporaries are dropped at once);
	 * the collected points and labels go to the step arena */
	collector co = {.a = c->sa};
	size_t total = 0;
	arena scratch;
	arena_init(&scratch, 0);
	int src = sub_collect(c, n, sub_first(ts, range, step), ts, step, &co, true, &scratch, &total);
	arena_deinit(&scratch);
	if (src < 0)
		return -1;
	out->mat.s = arena_alloc(c->sa, (co.n ? co.n : 1) * sizeof(ev_series));
	if (!out->mat.s)
		return promql__oom(c);
	out->mat.n = co.n;
	for (size_t i = 0; i < co.n; i++)
		out->mat.s[i] = (ev_series){co.s[i].ls, co.s[i].pts, co.s[i].n, co.s[i].drop_name, 0, 0};
	return promql__account(c, total);
}

/* ---- step-invariant subtrees ---- */

static const char *const at_unsafe_fns[] = {"days_in_month", "day_of_month", "day_of_week", "day_of_year", "end",
					    "hour", "minute", "month", "year", "predict_linear", "range", "start",
					    "step", "time", "timestamp"};

static int add_inv(ev_ctx *c, const promql_node *n)
{
	if (c->n_inv == c->cap_inv) {
		size_t nc = c->cap_inv ? c->cap_inv * 2 : 4;
		ev_invariant *ni = arena_alloc(c->qa, nc * sizeof *ni);
		if (!ni)
			return promql__oom(c);
		if (c->n_inv)
			memcpy(ni, c->inv, c->n_inv * sizeof *ni);
		c->inv = ni;
		c->cap_inv = nc;
	}
	memset(&c->inv[c->n_inv], 0, sizeof c->inv[0]);
	c->inv[c->n_inv++].node = n;
	return 0;
}

/* Whether n's value does not depend on the evaluation time (Prometheus's step invariance: an
 * @-pinned selector or subquery, literals, and operators/functions over only such inputs, except
 * time-dependent functions). The topmost invariant nodes that are not literals are recorded in
 * c->inv so that a range query evaluates them once. Returns 1, 0 or -1 (out of memory). */
static int mark_invariant(ev_ctx *c, const promql_node *n, bool record)
{
	if (!n)
		return 1;
	int inv = 0;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		return 1; /* cheap: never recorded */
	case PROMQL_NODE_VECTOR_SELECTOR:
		inv = n->vs.at.kind != PROMQL_AT_NONE;
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		inv = n->matrix.vs->vs.at.kind != PROMQL_AT_NONE;
		break;
	case PROMQL_NODE_SUBQUERY: {
		int in = mark_invariant(c, n->subquery.expr, record && n->subquery.at.kind == PROMQL_AT_NONE);
		if (in < 0)
			return -1;
		inv = n->subquery.at.kind != PROMQL_AT_NONE;
		break;
	}
	case PROMQL_NODE_UNARY:
	case PROMQL_NODE_PAREN: {
		const promql_node *ch = n->kind == PROMQL_NODE_UNARY ? n->unary.expr : n->paren.expr;
		inv = mark_invariant(c, ch, false);
		if (inv < 0)
			return -1;
		if (!inv && record)
			return mark_invariant(c, ch, true) < 0 ? -1 : 0;
		break;
	}
	case PROMQL_NODE_BINARY:
	case PROMQL_NODE_AGGREGATE:
	case PROMQL_NODE_CALL: {
		const promql_node *kids[64];
		size_t nk = 0;
		if (n->kind == PROMQL_NODE_BINARY) {
			kids[nk++] = n->binary.lhs;
			kids[nk++] = n->binary.rhs;
		} else if (n->kind == PROMQL_NODE_AGGREGATE) {
			kids[nk++] = n->aggregate.param;
			kids[nk++] = n->aggregate.expr;
		} else {
			for (size_t i = 0; i < n->call.n_args && nk < 64; i++)
				kids[nk++] = n->call.args[i];
			if (n->call.n_args > 64)
				return 0;
		}
		inv = 1;
		for (size_t i = 0; i < nk; i++) {
			int k = mark_invariant(c, kids[i], false);
			if (k < 0)
				return -1;
			inv = inv && k;
		}
		if (n->kind == PROMQL_NODE_CALL)
			for (size_t i = 0; i < sizeof at_unsafe_fns / sizeof at_unsafe_fns[0]; i++)
				if (strcmp(n->call.func->name, at_unsafe_fns[i]) == 0)
					inv = 0;
		if (!inv && record)
			for (size_t i = 0; i < nk; i++)
				if (mark_invariant(c, kids[i], true) < 0)
					return -1;
		break;
	}
	}
	if (inv && record && add_inv(c, n) < 0)
		return -1;
	return inv;
}

static int copy_labels_deep(arena *a, const slod_labels *in, slod_labels *out)
{
	out->v = arena_alloc(a, (in->n ? in->n : 1) * sizeof(slod_label));
	if (!out->v)
		return -1;
	out->n = in->n;
	for (size_t i = 0; i < in->n; i++) {
		out->v[i].name = arena_strdup(a, in->v[i].name);
		out->v[i].value = arena_strdup(a, in->v[i].value);
		if (!out->v[i].name || !out->v[i].value)
			return -1;
	}
	return 0;
}

/* Copies a step's value into the query arena so that it outlives the step. */
static int copy_value(ev_ctx *c, const ev_value *in, ev_value *out)
{
	*out = *in;
	if (in->type == PROMQL_TYPE_VECTOR) {
		out->vec.s = arena_alloc(c->qa, (in->vec.n ? in->vec.n : 1) * sizeof(ev_sample));
		if (!out->vec.s)
			return promql__oom(c);
		for (size_t i = 0; i < in->vec.n; i++) {
			out->vec.s[i] = in->vec.s[i];
			if (copy_labels_deep(c->qa, &in->vec.s[i].ls, &out->vec.s[i].ls) < 0)
				return promql__oom(c);
		}
	} else if (in->type == PROMQL_TYPE_MATRIX) {
		out->mat.s = arena_alloc(c->qa, (in->mat.n ? in->mat.n : 1) * sizeof(ev_series));
		if (!out->mat.s)
			return promql__oom(c);
		for (size_t i = 0; i < in->mat.n; i++) {
			ev_series *d = &out->mat.s[i];
			*d = in->mat.s[i];
			tsdb_sample *p = arena_alloc(c->qa, (d->n ? d->n : 1) * sizeof *p);
			if (!p || copy_labels_deep(c->qa, &in->mat.s[i].ls, &d->ls) < 0)
				return promql__oom(c);
			memcpy(p, in->mat.s[i].pts, d->n * sizeof *p);
			d->pts = p;
		}
	}
	return 0;
}

static int eval_node(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out);

int promql__eval(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	if (c->n_inv) {
		for (size_t i = 0; i < c->n_inv; i++) {
			ev_invariant *iv = &c->inv[i];
			if (iv->node != n)
				continue;
			if (!iv->done) {
				ev_value v;
				if (eval_node(c, n, t, &v) < 0 || copy_value(c, &v, &iv->val) < 0)
					return -1;
				iv->done = true;
			}
			*out = iv->val;
			return 0;
		}
	}
	return eval_node(c, n, t, out);
}

static int eval_node(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	memset(out, 0, sizeof *out);
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = n->number.value;
		return 0;
	case PROMQL_NODE_STRING:
		out->type = PROMQL_TYPE_STRING;
		out->str = n->string.value;
		out->str_len = n->string.len;
		return 0;
	case PROMQL_NODE_PAREN:
		return promql__eval(c, n->paren.expr, t, out);
	case PROMQL_NODE_UNARY: {
		if (promql__eval(c, n->unary.expr, t, out) < 0)
			return -1;
		if (n->unary.op != PROMQL_OP_SUB)
			return 0;
		if (out->type == PROMQL_TYPE_SCALAR) {
			out->scalar = -out->scalar;
			return 0;
		}
		ev_sample *ns = arena_alloc(c->sa, (out->vec.n ? out->vec.n : 1) * sizeof *ns);
		if (!ns)
			return promql__oom(c);
		for (size_t i = 0; i < out->vec.n; i++) {
			ns[i] = out->vec.s[i];
			ns[i].v = -ns[i].v;
			ns[i].drop_name = true;
		}
		out->vec.s = ns;
		return 0;
	}
	case PROMQL_NODE_VECTOR_SELECTOR:
		return eval_vector_selector(c, n, t, out);
	case PROMQL_NODE_MATRIX_SELECTOR:
		return eval_matrix_selector(c, n, t, out);
	case PROMQL_NODE_SUBQUERY:
		return eval_subquery(c, n, t, out);
	case PROMQL_NODE_BINARY:
		return promql__eval_binary(c, n, t, out);
	case PROMQL_NODE_AGGREGATE:
		return promql__eval_aggregate(c, n, t, out);
	case PROMQL_NODE_CALL:
		return promql__eval_call(c, n, t, out);
	}
	return promql__errorf(c, "unknown node kind");
}

/* ---- results ---- */

static promql_result *result_new(void)
{
	promql_result *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->priv = calloc(1, sizeof *r->priv);
	if (!r->priv) {
		free(r);
		return NULL;
	}
	arena_init(&r->priv->a, 0);
	return r;
}

void promql_result_free(promql_result *r)
{
	if (!r)
		return;
	if (r->priv) {
		arena_deinit(&r->priv->a);
		free(r->priv);
	}
	free(r);
}

static promql_result *result_error(promql_result *r, promql_errtype t, const char *msg)
{
	r->type = PROMQL_RESULT_NONE;
	r->err_type = t;
	r->err = arena_strdup(&r->priv->a, msg);
	if (!r->err)
		r->err = "out of memory";
	return r;
}

static int copy_labels(arena *a, const slod_labels *in, slod_labels *out, bool drop_name)
{
	out->v = arena_alloc(a, (in->n ? in->n : 1) * sizeof(slod_label));
	if (!out->v)
		return -1;
	out->n = 0;
	for (size_t i = 0; i < in->n; i++) {
		if (drop_name && promql__is_metadata_label(in->v[i].name))
			continue;
		slod_label *l = &out->v[out->n++];
		l->name = arena_strdup(a, in->v[i].name);
		l->value = arena_strdup(a, in->v[i].value);
		if (!l->name || !l->value)
			return -1;
	}
	return 0;
}

static int cmp_series(const void *a, const void *b)
{
	return labels_cmp(&((const promql_series *)a)->labels, &((const promql_series *)b)->labels);
}

static void copy_anno_list(arena *a, const ev_annos *l, const char ***out, size_t *n)
{
	if (!l->n)
		return;
	*out = arena_alloc(a, l->n * sizeof **out);
	if (!*out)
		return;
	for (size_t i = 0; i < l->n; i++)
		(*out)[i] = arena_strdup(a, l->full[i]);
	*n = l->n;
}

static void copy_annos(ev_ctx *c, promql_result *r)
{
	copy_anno_list(&r->priv->a, &c->warn, &r->warnings, &r->n_warnings);
	copy_anno_list(&r->priv->a, &c->info, &r->infos, &r->n_infos);
}

/* Checks for duplicate label sets in a vector after name removal. */
static bool vector_has_dup(const promql_series *s, size_t n)
{
	/* n is usually small; use sorting on a copy of indices for large n */
	if (n < 2)
		return false;
	promql_series *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return false;
	memcpy(tmp, s, n * sizeof *tmp);
	qsort(tmp, n, sizeof *tmp, cmp_series);
	bool dup = false;
	for (size_t i = 1; i < n && !dup; i++)
		dup = labels_equal(&tmp[i - 1].labels, &tmp[i].labels);
	free(tmp);
	return dup;
}

static int cmp_point_t(const void *a, const void *b)
{
	int64_t x = ((const promql_point *)a)->t, y = ((const promql_point *)b)->t;
	return (x > y) - (x < y);
}

/* Series sorted by labels that became equal once __name__ was dropped are merged, as Prometheus's
 * mergeSeriesWithSameLabelset does, when their timestamps do not overlap. Returns 0, or -1 with
 * r->n_series left non-zero on overlap (0 on OOM). */
static int merge_same_labels(arena *a, promql_result *r)
{
	size_t out = 0;
	for (size_t i = 0; i < r->n_series;) {
		size_t j = i + 1;
		size_t total = r->series[i].n_points;
		while (j < r->n_series && labels_equal(&r->series[i].labels, &r->series[j].labels))
			total += r->series[j++].n_points;
		promql_series m = r->series[i];
		if (j > i + 1) {
			m.points = arena_alloc(a, total * sizeof *m.points);
			if (!m.points) {
				r->n_series = 0;
				return -1;
			}
			m.n_points = 0;
			for (size_t k = i; k < j; k++) {
				memcpy(m.points + m.n_points, r->series[k].points, r->series[k].n_points * sizeof *m.points);
				m.n_points += r->series[k].n_points;
			}
			qsort(m.points, m.n_points, sizeof *m.points, cmp_point_t);
			for (size_t k = 1; k < m.n_points; k++)
				if (m.points[k].t == m.points[k - 1].t)
					return -1;
		}
		r->series[out++] = m;
		i = j;
	}
	r->n_series = out;
	return 0;
}

promql_result *promql_eval(promql_engine *e, tsdb *db, const promql_node *root, const char *query_text,
			   int64_t start, int64_t end, int64_t step, const promql_query_opts *qo)
{
	promql_result *r = result_new();
	if (!r)
		return NULL;
	bool is_range = step > 0;
	if (!is_range)
		end = start;
	r->t = start;
	if (start < -EV_MAX_ABS_MS || start > EV_MAX_ABS_MS || end < -EV_MAX_ABS_MS || end > EV_MAX_ABS_MS ||
	    step > EV_MAX_ABS_MS || (qo && qo->lookback_delta_ms > EV_MAX_ABS_MS))
		return result_error(r, PROMQL_ERRTYPE_BAD_DATA,
				    "time, step or lookback delta out of range (at most 2^61 ms from 1970)");
	if (is_range) {
		if (end < start)
			return result_error(r, PROMQL_ERRTYPE_BAD_DATA, "end timestamp must not be before start time");
		if (((uint64_t)end - (uint64_t)start) / (uint64_t)step > PROMQL_MAX_POINTS_PER_SERIES) /* exact */
			return result_error(r, PROMQL_ERRTYPE_BAD_DATA,
					    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
		if (root->type != PROMQL_TYPE_SCALAR && root->type != PROMQL_TYPE_VECTOR) {
			char msg[160];
			snprintf(msg, sizeof msg, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
				 promql_value_type_name(root->type));
			return result_error(r, PROMQL_ERRTYPE_BAD_DATA, msg);
		}
	}
	arena qa, sa;
	arena_init(&qa, 0);
	arena_init(&sa, 0);
	ev_ctx c;
	memset(&c, 0, sizeof c);
	c.eng = e;
	c.db = db;
	c.qa = &qa;
	c.sa = &sa;
	c.start = start;
	c.end = end;
	/* a subquery without a step uses the default evaluation interval in range queries too (as in
	 * Prometheus, whose noStepSubqueryIntervalFn ignores the query step) */
	c.interval = e->o.default_eval_interval_ms;
	c.qstep = is_range ? step : 0;
	c.lookback = qo && qo->lookback_delta_ms > 0 ? qo->lookback_delta_ms : e->o.lookback_delta_ms;
	c.max_samples = e->o.max_samples;
	c.type_unit = e->o.enable_type_and_unit_labels;
	c.cancel = qo ? qo->cancel : NULL;
	c.query = query_text;
	c.root = root;
	while (c.root->kind == PROMQL_NODE_PAREN)
		c.root = c.root->paren.expr;
	int64_t timeout = e->o.timeout_ms;
	if (qo && qo->timeout_ms > 0 && (timeout <= 0 || qo->timeout_ms < timeout))
		timeout = qo->timeout_ms;
	if (timeout > 0) {
		int64_t now = e->o.clock.now_ms ? slod_clock_now(&e->o.clock) : slod_monotonic_ms();
		c.deadline = now + timeout;
	}
	promql_errtype fail = PROMQL_ERRTYPE_NONE;

	c.grid_ok = true; /* the root is evaluated on the query's grid (one point when instant) */
	if (prep(&c, root, start, end, is_range ? step : c.interval) < 0)
		goto out;
	/* a range query evaluates step-invariant subtrees (e.g. `x @ end()`) once */
	if (is_range && end > start && mark_invariant(&c, root, true) < 0)
		goto out;
	if (c.n_sel && db) {
		int64_t mint = INT64_MAX, maxt = INT64_MIN;
		for (size_t i = 0; i < c.n_sel; i++) {
			if (c.sel[i].mint < mint)
				mint = c.sel[i].mint;
			if (c.sel[i].maxt > maxt)
				maxt = c.sel[i].maxt;
		}
		c.q = tsdb_querier_open(db, mint, maxt);
		if (!c.q) {
			promql__oom(&c);
			goto out;
		}
	}
	arena *ra = &r->priv->a;
	if (!is_range) {
		ev_value v;
		if (check_deadline(&c) < 0 || promql__eval(&c, root, start, &v) < 0)
			goto out;
		switch (v.type) {
		case PROMQL_TYPE_SCALAR:
			r->type = PROMQL_RESULT_SCALAR;
			r->scalar = v.scalar;
			break;
		case PROMQL_TYPE_STRING:
			r->type = PROMQL_RESULT_STRING;
			r->string = arena_strndup(ra, v.str, v.str_len);
			r->string_len = v.str_len;
			if (!r->string) {
				promql__oom(&c);
				goto out;
			}
			break;
		case PROMQL_TYPE_VECTOR:
			r->type = PROMQL_RESULT_VECTOR;
			r->series = arena_alloc(ra, (v.vec.n ? v.vec.n : 1) * sizeof *r->series);
			if (!r->series) {
				promql__oom(&c);
				goto out;
			}
			for (size_t i = 0; i < v.vec.n; i++) {
				promql_series *s = &r->series[i];
				s->points = arena_alloc(ra, sizeof *s->points);
				if (!s->points || copy_labels(ra, &v.vec.s[i].ls, &s->labels, v.vec.s[i].drop_name) < 0) {
					promql__oom(&c);
					goto out;
				}
				s->points[0] = (promql_point){start, v.vec.s[i].v};
				s->n_points = 1;
			}
			r->n_series = v.vec.n;
			if (vector_has_dup(r->series, r->n_series)) {
				promql__errorf(&c, "vector cannot contain metrics with the same labelset");
				goto out;
			}
			break;
		case PROMQL_TYPE_MATRIX: {
			r->type = PROMQL_RESULT_MATRIX;
			r->series = arena_alloc(ra, (v.mat.n ? v.mat.n : 1) * sizeof *r->series);
			if (!r->series) {
				promql__oom(&c);
				goto out;
			}
			for (size_t i = 0; i < v.mat.n; i++) {
				promql_series *s = &r->series[i];
				s->points = arena_alloc(ra, (v.mat.s[i].n ? v.mat.s[i].n : 1) * sizeof *s->points);
				if (!s->points || copy_labels(ra, &v.mat.s[i].ls, &s->labels, v.mat.s[i].drop_name) < 0) {
					promql__oom(&c);
					goto out;
				}
				for (size_t k = 0; k < v.mat.s[i].n; k++)
					s->points[k] = (promql_point){v.mat.s[i].pts[k].t, v.mat.s[i].pts[k].v};
				s->n_points = v.mat.s[i].n;
			}
			r->n_series = v.mat.n;
			qsort(r->series, r->n_series, sizeof *r->series, cmp_series);
			if (merge_same_labels(ra, r) < 0) {
				if (r->n_series)
					promql__errorf(&c, "vector cannot contain metrics with the same labelset");
				else
					promql__oom(&c);
				goto out;
			}
			break;
		}
		default:
			promql__errorf(&c, "unexpected result type");
			goto out;
		}
	} else {
		collector co = {.a = ra};
		for (int64_t t = start; t <= end; t += step) {
			arena_reset(&sa);
			c.cur_samples = 0;
			if (check_deadline(&c) < 0)
				goto out;
			ev_value v;
			if (promql__eval(&c, root, t, &v) < 0)
				goto out;
			if (v.type == PROMQL_TYPE_SCALAR) {
				slod_labels empty = {0};
				coll_series *s = coll_get(&co, &empty, false, true);
				if (!s || coll_push(&co, s, t, v.scalar) < 0) {
					promql__oom(&c);
					goto out;
				}
				continue;
			}
			for (size_t i = 0; i < v.vec.n; i++) {
				slod_labels ls = v.vec.s[i].ls;
				if (v.vec.s[i].drop_name) {
					ls = promql__labels_drop_metadata(&sa, &ls);
					if (!ls.v) { /* out of memory, not an empty label set */
						promql__oom(&c);
						goto out;
					}
				}
				coll_series *s = coll_get(&co, &ls, false, true);
				if (!s) {
					promql__oom(&c);
					goto out;
				}
				if (s->n && s->pts[s->n - 1].t == t) {
					promql__errorf(&c, "vector cannot contain metrics with the same labelset");
					goto out;
				}
				if (coll_push(&co, s, t, v.vec.s[i].v) < 0) {
					promql__oom(&c);
					goto out;
				}
			}
		}
		r->type = PROMQL_RESULT_MATRIX;
		r->series = arena_alloc(ra, (co.n ? co.n : 1) * sizeof *r->series);
		if (!r->series) {
			promql__oom(&c);
			goto out;
		}
		for (size_t i = 0; i < co.n; i++) {
			promql_series *s = &r->series[i];
			s->labels = co.s[i].ls;
			s->points = arena_alloc(ra, (co.s[i].n ? co.s[i].n : 1) * sizeof *s->points);
			if (!s->points) {
				promql__oom(&c);
				goto out;
			}
			for (size_t k = 0; k < co.s[i].n; k++)
				s->points[k] = (promql_point){co.s[i].pts[k].t, co.s[i].pts[k].v};
			s->n_points = co.s[i].n;
		}
		r->n_series = co.n;
		qsort(r->series, r->n_series, sizeof *r->series, cmp_series);
	}
out:
	flush_mono(&c);
	fail = c.errtype;
	r->samples_loaded = c.samples_loaded;
	copy_annos(&c, r);
	if (fail != PROMQL_ERRTYPE_NONE) {
		r->series = NULL;
		r->n_series = 0;
		result_error(r, fail, c.err);
	}
	if (c.q)
		tsdb_querier_close(c.q);
	free(c.sbuf);
	arena_deinit(&qa);
	arena_deinit(&sa);
	return r;
}

static promql_result *query(promql_engine *e, tsdb *db, const char *q, int64_t start, int64_t end, int64_t step,
			    const promql_query_opts *qo)
{
	promql_parse_options po = {0};
	po.no_experimental_functions = e->o.no_experimental_functions;
	po.enable_duration_expressions = e->o.enable_duration_expressions;
	po.enable_extended_range_selectors = e->o.enable_extended_range_selectors;
	promql_expr *ex = NULL;
	promql_error perr;
	memset(&perr, 0, sizeof perr);
	int rc = promql_parse(q, strlen(q), &po, &ex, &perr);
	if (rc < 0) {
		promql_result *r = result_new();
		if (!r)
			return NULL;
		if (rc == PROMQL_ERR_NOMEM) /* not the query's fault: 500, not 400 */
			return result_error(r, PROMQL_ERRTYPE_INTERNAL, "out of memory");
		return result_error(r, PROMQL_ERRTYPE_BAD_DATA, perr.text[0] ? perr.text : "parse error");
	}
	if (ex->duration_vars) {
		char derr[256];
		if (promql_resolve_durations(ex->root, step, (int64_t)((uint64_t)end - (uint64_t)start), derr, sizeof derr) < 0) {
			promql_expr_free(ex);
			promql_result *r = result_new();
			if (!r)
				return NULL;
			return result_error(r, PROMQL_ERRTYPE_BAD_DATA, derr);
		}
	}
	promql_result *r = promql_eval(e, db, ex->root, ex->query, start, end, step, qo);
	promql_expr_free(ex);
	return r;
}

promql_result *promql_query_instant(promql_engine *e, tsdb *db, const char *q, int64_t t, const promql_query_opts *qo)
{
	return query(e, db, q, t, t, 0, qo);
}

promql_result *promql_query_range(promql_engine *e, tsdb *db, const char *q, int64_t start, int64_t end, int64_t step,
				  const promql_query_opts *qo)
{
	if (step <= 0) {
		promql_result *r = result_new();
		if (!r)
			return NULL;
		return result_error(r, PROMQL_ERRTYPE_BAD_DATA,
				    "zero or negative query resolution step widths are not accepted. Try a positive integer");
	}
	return query(e, db, q, start, end, step, qo);
}
