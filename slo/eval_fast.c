/*
 * eval_fast.c — incremental, exact evaluation of an SLO's long recording rules.
 *
 * Why: a Sloth SLO's rules read rate(x[3d]), rate(x[1d]), ... and the period rule
 * sum_over_time(slo:sli_error:ratio_rate5m[30d]) every 30 s; a plain evaluator decodes every
 * sample of those windows each time (≈ 200,000 samples per SLO per cycle). Here each window is
 * computed from per-bucket summaries kept across cycles plus a few raw samples at the edges, so a
 * cycle costs O(window / bucket) additions and O(1) sample decoding per series — with the same
 * result the evaluator gives, not an approximation.
 *
 * Supported shape: an events SLI whose error and total queries are both `sum(rate(SEL[{{.window}}]))`
 * (no grouping, offset or @). Its recording rules slo:sli_error:ratio_rate<w> for w >= min_window
 * are taken out of the group handed to the rules manager and recorded here; so is the period rule
 * (Sloth: sum_over_time / count_over_time of the 5m ratio). Other SLIs stay with the rules manager.
 *
 * Data layout: f__sel is one selector (the error counters, the total counters, the recorded 5m
 * ratio) with the state of every series it matches, sorted by ref. A series keeps a ring of nb
 * bucket summaries; bucket j covers ((j−1)·B, j·B] and lives in slot j mod nb. Counter buckets hold
 * first/last sample, sample count and the counter-reset correction inside the bucket, plus
 * cumulative sums (since `base`) of counts and corrections; gauge buckets hold cumulative sums of
 * values, counts and NaNs. So the full buckets of any window join in O(1): differences of two
 * cumulative entries (plus a short scan for the first and last non-empty bucket). `final` is the
 * newest summarised bucket: slots for (max(final − nb, base − 1), final] are valid. Buckets newer
 * than final (the last R = 1 buckets and the current one) are read raw every cycle, so samples
 * arriving up to B late are still counted.
 *
 * Window (t − w, t] = raw (t − w, fs·B − B] + buckets fs..final + raw (final·B, t]. Joining
 * pieces in time order reproduces Prometheus's rate exactly: result = last − first + Σ values
 * before each drop, extrapolated with the first/last timestamps and the sample count by
 * promql_extrapolate() (promql/extrapolate.h), the function the engine applies to the raw samples.
 *
 * Costs per cycle and series: one tsdb select per selector, ≤ 6 small raw reads (one chunk each),
 * O(1) per window for the full buckets, and once per bucket the summary of the newly completed
 * bucket. Memory: 56 bytes × (3d/B + 4) per counter series (≈ 49 KB at 5m), 16 bytes ×
 * (period/B + 4) per recorded ratio series (≈ 138 KB for 30d). Cumulative sums of corrections and
 * values differ from sequential sums by rounding only (relative 1e-13 or better for ratios).
 *
 * Bounded rebuilds: a (re)build summarises a series' whole ring (3 days of counters, 30 days of
 * the recorded ratio) from stored samples. Raw reads never span more than `slice` buckets
 * (slo__fast_set_rebuild_slice; the engine's rebuild_slice_ms, default one day): the ring is
 * summarised slice by slice, oldest first, and a window's raw pieces are joined slice by slice, so
 * at most one slice of one series' samples is decoded at a time. Buckets are independent and
 * samples are visited in the same time order, so the summaries are bit-identical to a single read.
 * The sample scratch buffer is released after an evaluation when it grew past F_BUF_KEEP samples
 * (a rebuild), so between cycles a series costs its summaries only, not a decoded period
 * (before: a 30-day buffer, 1.4 MB at 30 s scrapes, stayed allocated for every SLO).
 */
#include "slo/eval_fast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/extrapolate.h"
#include "promql/promql.h"
#include "slo/slo_int.h"
#include "util/fmt.h"

#define F_RAW_BUCKETS 1
#define F_MAX_RULES 16
#define F_BUF_KEEP 1024 /* samples of scratch kept between evaluations (16 KiB) */

typedef struct f__cb { /* counter bucket */
	int64_t t_first, t_last;
	double v_first, v_last, corr;  /* corr: reset correction between samples of this bucket */
	double cum_corr;               /* Σ over buckets base..j of corr + the reset correction
					  between the bucket's first sample and the previous sample */
	uint32_t n, cum_n;             /* samples in the bucket; Σ over base..j */
} f__cb;

typedef struct f__gb { /* gauge bucket: cumulative over base..j only */
	double cum_sum;                /* Σ of the finite values */
	uint32_t cum_n, cum_nan;       /* Σ of sample counts; of NaN values */
} f__gb;

typedef struct f__ser {
	tsdb_ref ref;
	int64_t final;  /* newest summarised bucket; INT64_MIN: none */
	int64_t base;   /* oldest bucket of the cumulative sums (set by a rebuild) */
	double prev_v;  /* the last sample summarised (counters: for the next reset check) */
	bool has_prev;
	void *ring;     /* nb f__cb or f__gb */
	bool seen;
} f__ser;

typedef struct f__sel {
	bool gauge;
	promql_expr *expr;         /* owns the matchers of a parsed selector (NULL for gauges) */
	const tsdb_matcher *m;
	size_t nm;
	int64_t nb;
	f__ser *s;
	size_t n, cap;
} f__sel;

typedef struct f__rule {
	bool period;
	int64_t w_ms;
	slod_labels labels;        /* __name__ + rule labels, canonical, owned (labels_dup) */
	bool written;              /* the last cycle staged a number */
} f__rule;

typedef struct f__acc { /* a window being joined */
	size_t n;
	int64_t t_first, t_last;
	double v_first, v_last, corr;
	double sum;
} f__acc;

struct slo__fast {
	int64_t B, min_w, period_ms, max_w;
	f__sel err, tot, rec;
	tsdb_matcher rec_m[4];
	char *rec_str[4];
	f__rule rules[F_MAX_RULES];
	size_t n_rules;
	tsdb_sample *buf;
	size_t cap;
	int64_t slice;             /* raw reads span at most this many buckets (<= 0: no limit) */
	size_t peak_read;          /* most samples one raw read returned (held at once) */
};

static int64_t floor_div64(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool is_stale(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b == TSDB_STALE_NAN_BITS;
}

static const promql_node *unparen(const promql_node *n)
{
	while (n && n->kind == PROMQL_NODE_PAREN)
		n = n->paren.expr;
	return n;
}

/* Parses q (a rendered SLI query) and checks it is sum(rate(SEL[w])). */
static int parse_sel(const char *q, f__sel *out)
{
	promql_expr *e = NULL;
	promql_error perr;
	if (promql_parse(q, strlen(q), NULL, &e, &perr) != 0)
		return -1;
	const promql_node *n = unparen(e->root);
	if (!n || n->kind != PROMQL_NODE_AGGREGATE || n->aggregate.op != PROMQL_AGG_SUM || n->aggregate.n_grouping ||
	    n->aggregate.without || n->aggregate.param)
		goto no;
	n = unparen(n->aggregate.expr);
	if (!n || n->kind != PROMQL_NODE_CALL || n->call.func->id != PROMQL_FN_RATE || n->call.n_args != 1)
		goto no;
	n = n->call.args[0];
	if (!n || n->kind != PROMQL_NODE_MATRIX_SELECTOR)
		goto no;
	const promql_vector_selector *vs = &n->matrix.vs->vs;
	if (vs->offset_ms || vs->at.kind != PROMQL_AT_NONE || vs->anchored || vs->smoothed || !vs->n_matchers)
		goto no;
	out->expr = e;
	out->m = vs->matchers;
	out->nm = vs->n_matchers;
	return 0;
no:
	promql_expr_free(e);
	return -1;
}

static void sel_free(f__sel *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->s[i].ring);
	free(s->s);
	promql_expr_free(s->expr);
	memset(s, 0, sizeof(*s));
}

void slo__fast_free(slo__fast *f)
{
	if (!f)
		return;
	sel_free(&f->err);
	sel_free(&f->tot);
	sel_free(&f->rec);
	for (size_t i = 0; i < 4; i++)
		free(f->rec_str[i]);
	for (size_t i = 0; i < f->n_rules; i++)
		labels_free_dup(&f->rules[i].labels);
	free(f->buf);
	free(f);
}

slo__fast *slo__fast_new(const slo_spec *sp, int64_t bucket_ms, int64_t min_window_ms, int64_t period_ms,
			 const char *period_src)
{
	if (sp->sli_kind != SLO_SLI_EVENTS || bucket_ms <= 0 || period_ms % bucket_ms ||
	    min_window_ms < (F_RAW_BUCKETS + 3) * bucket_ms)
		return NULL;
	slo__fast *f = calloc(1, sizeof(*f));
	arena a;
	arena_init(&a, 0);
	if (!f)
		goto fail;
	f->B = bucket_ms;
	f->min_w = min_window_ms;
	f->period_ms = period_ms;
	const char *qe = slo__query_render(&a, sp->error_query.text, "5m", NULL);
	const char *qt = slo__query_render(&a, sp->total_query.text, "5m", NULL);
	if (!qe || !qt || parse_sel(qe, &f->err) != 0 || parse_sel(qt, &f->tot) != 0)
		goto fail;
	f->rec.gauge = true;
	const char *names[4] = {SLOD_METRIC_NAME, "sloth_id", "sloth_service", "sloth_slo"};
	const char *vals[4] = {period_src, sp->id, sp->service, sp->name};
	for (size_t i = 0; i < 4; i++) {
		if (!vals[i] || !(f->rec_str[i] = strdup(vals[i])))
			goto fail;
		f->rec_m[i] = (tsdb_matcher){.type = TSDB_MATCH_EQ, .name = names[i], .value = f->rec_str[i]};
	}
	f->rec.m = f->rec_m;
	f->rec.nm = 4;
	f->rec.nb = period_ms / bucket_ms + F_RAW_BUCKETS + 3;
	arena_deinit(&a);
	return f;
fail:
	arena_deinit(&a);
	slo__fast_free(f);
	return NULL;
}

int slo__fast_take_rules(slo__fast *f, const rules_group_def *g, arena *a, rules_group_def *out)
{
	*out = *g;
	rules_rule_def *keep = arena_calloc(a, g->n_rules ? g->n_rules : 1, sizeof(*keep));
	if (!keep)
		return -1;
	size_t nk = 0;
	int taken = 0;
	char per[32];
	slo__dur(per, sizeof per, f->period_ms);
	for (size_t i = 0; i < g->n_rules; i++) {
		const rules_rule_def *r = &g->rules[i];
		const char *pfx = "slo:sli_error:ratio_rate";
		int64_t w = 0;
		bool period = false, take = false;
		if (r->kind == RULES_RECORD && strncmp(r->name, pfx, strlen(pfx)) == 0) {
			const char *ws = r->name + strlen(pfx);
			if (strcmp(ws, per) == 0) {
				period = take = true;
			} else if (slod_parse_duration_ms(ws, strlen(ws), &w) == 0 && w >= f->min_w && w < f->period_ms) {
				take = true;
			}
		}
		if (take && f->n_rules < F_MAX_RULES) {
			f__rule *fr = &f->rules[f->n_rules];
			slod_label *lv = arena_calloc(a, r->labels.n + 1, sizeof(slod_label));
			if (!lv)
				return -1;
			slod_labels ls = {lv, 0};
			lv[ls.n++] = (slod_label){SLOD_METRIC_NAME, r->name};
			for (size_t k = 0; k < r->labels.n; k++)
				if (strcmp(r->labels.v[k].name, SLOD_METRIC_NAME) != 0 && r->labels.v[k].value[0])
					lv[ls.n++] = r->labels.v[k];
			labels_sort(&ls);
			if (labels_dup(&fr->labels, &ls) != 0)
				return -1;
			fr->period = period;
			fr->w_ms = period ? f->period_ms : w;
			if (!period && w > f->max_w)
				f->max_w = w;
			f->n_rules++;
			taken++;
			continue;
		}
		keep[nk++] = *r;
	}
	f->err.nb = f->tot.nb = f->max_w / f->B + F_RAW_BUCKETS + 3;
	out->rules = keep;
	out->n_rules = nk;
	return taken;
}

int64_t slo__fast_horizon(const slo__fast *f, int64_t now, bool period)
{
	return now - (period ? f->period_ms : f->max_w) - 2 * f->B;
}

/* ---- series state ---------------------------------------------------------------------------- */

static f__ser *ser_get(f__sel *s, tsdb_ref ref)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->s[mid].ref == ref)
			return &s->s[mid];
		if (s->s[mid].ref < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		f__ser *nv = realloc(s->s, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		s->s = nv;
		s->cap = cap;
	}
	size_t bsz = s->gauge ? sizeof(f__gb) : sizeof(f__cb);
	void *ring = calloc((size_t)s->nb, bsz);
	if (!ring)
		return NULL;
	memmove(&s->s[lo + 1], &s->s[lo], (s->n - lo) * sizeof(f__ser));
	s->s[lo] = (f__ser){.ref = ref, .final = INT64_MIN, .ring = ring};
	s->n++;
	return &s->s[lo];
}

static void acc_sample(f__acc *a, int64_t t, double v)
{
	if (a->n == 0) {
		a->t_first = t;
		a->v_first = v;
	} else if (v < a->v_last) {
		a->corr += a->v_last;
	}
	a->t_last = t;
	a->v_last = v;
	a->sum += v;
	a->n++;
}

static void acc_cbucket(f__acc *a, const f__cb *b)
{
	if (b->n == 0)
		return;
	if (a->n == 0) {
		a->t_first = b->t_first;
		a->v_first = b->v_first;
	} else if (b->v_first < a->v_last) {
		a->corr += a->v_last;
	}
	a->corr += b->corr;
	a->t_last = b->t_last;
	a->v_last = b->v_last;
	a->n += (size_t)b->n;
}

/* Reads the non-stale samples of ref in (lo, hi] into f->buf. Returns the count (0 on errors).
 * Callers keep hi − lo within one slice (raw_slice_end). */
static long raw(slo__fast *f, tsdb_querier *q, tsdb_ref ref, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return 0;
	long k = tsdb_querier_samples(q, ref, lo + 1, hi, &f->buf, &f->cap);
	if (k <= 0)
		return 0;
	if ((size_t)k > f->peak_read)
		f->peak_read = (size_t)k;
	long m = 0;
	for (long i = 0; i < k; i++)
		if (!is_stale(f->buf[i].v))
			f->buf[m++] = f->buf[i];
	return m;
}

static int64_t slot_of(const f__sel *s, int64_t j)
{
	return ((j % s->nb) + s->nb) % s->nb;
}

/* The end of the raw read that starts after lo and must not pass hi: at most one slice on. */
static int64_t raw_slice_end(const slo__fast *f, int64_t lo, int64_t hi)
{
	if (f->slice <= 0 || hi - lo <= f->slice * f->B)
		return hi;
	return lo + f->slice * f->B;
}

/* Joins the samples of ref in (lo, hi] into a in time order, one slice at a time. */
static void raw_acc(slo__fast *f, tsdb_querier *q, tsdb_ref ref, int64_t lo, int64_t hi, f__acc *a)
{
	while (lo < hi) {
		int64_t e = raw_slice_end(f, lo, hi);
		long k = raw(f, q, ref, lo, e);
		for (long i = 0; i < k; i++)
			acc_sample(a, f->buf[i].t, f->buf[i].v);
		lo = e;
	}
}

/* Adds the sample (t, v) to its own bucket's values if that bucket is in [from, jf]. */
static void bucket_add(const slo__fast *f, const f__sel *s, f__ser *x, int64_t from, int64_t jf, int64_t t, double v)
{
	int64_t j = floor_div64(t - 1, f->B) + 1;
	if (j < from || j > jf)
		return;
	if (s->gauge) {
		f__gb *b = &((f__gb *)x->ring)[slot_of(s, j)];
		if (isnan(v))
			b->cum_nan++;
		else
			b->cum_sum += v;
		b->cum_n++;
	} else {
		f__cb *b = &((f__cb *)x->ring)[slot_of(s, j)];
		if (b->n == 0) {
			b->t_first = t;
			b->v_first = v;
		} else if (v < b->v_last) {
			b->corr += b->v_last;
		}
		b->t_last = t;
		b->v_last = v;
		b->n++;
	}
}

/* Summarises the buckets (final, jf] of series x (all of the ring when it is new or too old). */
static void ser_advance(slo__fast *f, f__sel *s, f__ser *x, tsdb_querier *q, int64_t jf)
{
	int64_t from = x->final == INT64_MIN ? jf - s->nb + 1 : x->final + 1;
	bool rebuild = x->final == INT64_MIN || from < jf - s->nb + 1;
	if (rebuild) {
		from = jf - s->nb + 1;
		x->base = from;
		x->has_prev = false;
	}
	if (from > jf)
		return;
	for (int64_t j = from; j <= jf; j++) {
		if (s->gauge)
			((f__gb *)x->ring)[slot_of(s, j)] = (f__gb){0};
		else
			((f__cb *)x->ring)[slot_of(s, j)] = (f__cb){0};
	}
	/* per-bucket own values first (gauges: in the cum fields), a slice of buckets per read ... */
	for (int64_t lo = (from - 1) * f->B; lo < jf * f->B;) {
		int64_t hi = raw_slice_end(f, lo, jf * f->B);
		long k = raw(f, q, x->ref, lo, hi);
		lo = hi;
		for (long i = 0; i < k; i++)
			bucket_add(f, s, x, from, jf, f->buf[i].t, f->buf[i].v);
	}
	/* ... then the cumulative sums, in bucket order */
	for (int64_t j = from; j <= jf; j++) {
		bool first = j == x->base;
		if (s->gauge) {
			f__gb *b = &((f__gb *)x->ring)[slot_of(s, j)];
			if (!first) {
				const f__gb *p = &((f__gb *)x->ring)[slot_of(s, j - 1)];
				b->cum_sum += p->cum_sum;
				b->cum_n += p->cum_n;
				b->cum_nan += p->cum_nan;
			}
		} else {
			f__cb *b = &((f__cb *)x->ring)[slot_of(s, j)];
			double c = b->corr;
			if (b->n && x->has_prev && b->v_first < x->prev_v)
				c += x->prev_v;
			if (b->n) {
				x->prev_v = b->v_last;
				x->has_prev = true;
			}
			b->cum_corr = c;
			b->cum_n = b->n;
			if (!first) {
				const f__cb *p = &((f__cb *)x->ring)[slot_of(s, j - 1)];
				b->cum_corr += p->cum_corr;
				b->cum_n += p->cum_n;
			}
		}
	}
	x->final = jf;
}

/* Forgets the summaries of x from bucket j0 on (see slo__fast_invalidate). */
static void ser_rollback(const f__sel *s, f__ser *x, int64_t j0)
{
	if (x->final == INT64_MIN || j0 > x->final)
		return;
	if (j0 <= x->base || j0 <= x->final - s->nb + 1) {
		x->final = INT64_MIN; /* older than the ring: rebuild */
		return;
	}
	x->final = j0 - 1;
	if (s->gauge)
		return;
	/* the reset check of the next summarised sample compares with the newest sample kept */
	x->has_prev = false;
	for (int64_t j = x->final; j >= x->base && j > x->final - s->nb + 1; j--) {
		const f__cb *b = &((const f__cb *)x->ring)[slot_of(s, j)];
		if (b->n) {
			x->prev_v = b->v_last;
			x->has_prev = true;
			break;
		}
	}
}

void slo__fast_invalidate(slo__fast *f, int64_t t_min)
{
	if (t_min == INT64_MAX)
		return;
	int64_t j0 = floor_div64(t_min - 1, f->B) + 1; /* bucket ((j0 − 1)·B, j0·B] holds t_min */
	f__sel *sels[3] = {&f->err, &f->tot, &f->rec};
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < sels[k]->n; i++)
			ser_rollback(sels[k], &sels[k]->s[i], j0);
}

/* Joins the window (t − w, t] of series x into a. */
static void ser_window(slo__fast *f, const f__sel *s, const f__ser *x, tsdb_querier *q, int64_t t, int64_t w, f__acc *a)
{
	int64_t lo = t - w, B = f->B;
	int64_t fs = floor_div64(lo, B) + 1; /* first bucket wholly inside: starts at >= lo */
	if (lo % B != 0)
		fs++;
	if (fs < x->base)
		fs = x->base;
	int64_t fe = x->final;
	if (x->final == INT64_MIN || fs > fe || fs <= fe - s->nb + 1) {
		/* no usable buckets (should not happen for fast windows): all raw */
		raw_acc(f, q, x->ref, lo, t, a);
		return;
	}
	raw_acc(f, q, x->ref, lo, (fs - 1) * B, a);
	bool before = fs > x->base; /* is bucket fs − 1 in the cumulative sums? */
	if (s->gauge) {
		const f__gb *e = &((const f__gb *)x->ring)[slot_of(s, fe)];
		const f__gb *p = before ? &((const f__gb *)x->ring)[slot_of(s, fs - 1)] : NULL;
		uint32_t nan = e->cum_nan - (p ? p->cum_nan : 0);
		a->sum += nan ? (double)NAN : e->cum_sum - (p ? p->cum_sum : 0);
		a->n += e->cum_n - (p ? p->cum_n : 0);
	} else {
		const f__cb *ring = x->ring;
		uint32_t n = ring[slot_of(s, fe)].cum_n - (before ? ring[slot_of(s, fs - 1)].cum_n : 0);
		if (n) {
			int64_t jf1 = fs, jl = fe;
			while (ring[slot_of(s, jf1)].n == 0)
				jf1++;
			while (ring[slot_of(s, jl)].n == 0)
				jl--;
			const f__cb *bf = &ring[slot_of(s, jf1)], *bl = &ring[slot_of(s, jl)];
			f__cb sup = {.t_first = bf->t_first,
				     .v_first = bf->v_first,
				     .t_last = bl->t_last,
				     .v_last = bl->v_last,
				     .corr = bf->corr + (bl->cum_corr - bf->cum_corr),
				     .n = n};
			acc_cbucket(a, &sup);
		}
	}
	raw_acc(f, q, x->ref, fe * B, t, a);
}

/* Prometheus's extrapolated rate of a joined counter window (promql_extrapolate, as the engine
 * computes it over the raw samples). */
static bool acc_rate(const f__acc *a, int64_t range_end, int64_t range_ms, double *out)
{
	if (a->n < 2)
		return false;
	promql_extrap_in in = {.t_first = a->t_first,
			       .t_last = a->t_last,
			       .v_first = a->v_first,
			       .delta = (a->v_last - a->v_first) + a->corr,
			       .n = a->n,
			       .range_start = range_end - range_ms,
			       .range_end = range_end,
			       .is_counter = true,
			       .is_rate = true};
	*out = promql_extrapolate(&in);
	return true;
}

/* Selects the selector's series, drops vanished ones, and summarises new buckets. */
static int sel_refresh(slo__fast *f, f__sel *s, tsdb_querier *q, int64_t jf)
{
	tsdb_series *ss;
	size_t n;
	if (tsdb_querier_select(q, s->m, s->nm, &ss, &n) != 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		s->s[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		f__ser *x = ser_get(s, ss[i].ref);
		if (!x)
			return -1;
		x->seen = true;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->s[i].seen) {
			free(s->s[i].ring);
			continue;
		}
		s->s[k++] = s->s[i];
	}
	s->n = k;
	for (size_t i = 0; i < s->n; i++)
		ser_advance(f, s, &s->s[i], q, jf);
	return 0;
}

/* sum(rate(sel[w])) at t: false when no series has two samples in the window. */
static bool sum_rate(slo__fast *f, const f__sel *s, tsdb_querier *q, int64_t t, int64_t w, double *out)
{
	bool any = false;
	double sum = 0;
	for (size_t i = 0; i < s->n; i++) {
		f__acc a = {0};
		ser_window(f, s, &s->s[i], q, t, w, &a);
		double r;
		if (acc_rate(&a, t, w, &r)) {
			sum += r;
			any = true;
		}
	}
	*out = sum;
	return any;
}

static double stale_nan(void)
{
	uint64_t bits = TSDB_STALE_NAN_BITS;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static int fast_eval(slo__fast *f, tsdb_querier *qc, tsdb_querier *qp, tsdb_appender *app, int64_t now)
{
	int64_t jf = floor_div64(now, f->B) - F_RAW_BUCKETS;
	bool have_counters = false, have_period = false;
	for (size_t i = 0; i < f->n_rules; i++) {
		have_counters |= !f->rules[i].period;
		have_period |= f->rules[i].period;
	}
	if (have_counters && (sel_refresh(f, &f->err, qc, jf) != 0 || sel_refresh(f, &f->tot, qc, jf) != 0))
		return -1;
	if (have_period && sel_refresh(f, &f->rec, qp, jf) != 0)
		return -1;
	int staged = 0;
	for (size_t i = 0; i < f->n_rules; i++) {
		f__rule *r = &f->rules[i];
		bool ok = false;
		double v = 0;
		if (r->period) {
			double sum = 0;
			size_t cnt = 0;
			for (size_t k = 0; k < f->rec.n; k++) {
				f__acc a = {0};
				ser_window(f, &f->rec, &f->rec.s[k], qp, now, r->w_ms, &a);
				sum += a.sum;
				cnt += a.n;
			}
			if (cnt) {
				v = sum / (double)cnt;
				ok = true;
			}
		} else {
			double e, t;
			if (sum_rate(f, &f->err, qc, now, r->w_ms, &e) && sum_rate(f, &f->tot, qc, now, r->w_ms, &t)) {
				v = e / t;
				ok = true;
			}
		}
		if (ok) {
			if (tsdb_appender_add(app, &r->labels, now, v, NULL) >= 0)
				staged++;
			r->written = true;
		} else if (r->written) {
			tsdb_appender_add(app, &r->labels, now, stale_nan(), NULL);
			r->written = false;
			staged++;
		}
	}
	return staged;
}

int slo__fast_eval(slo__fast *f, tsdb_querier *qc, tsdb_querier *qp, tsdb_appender *app, int64_t now)
{
	int rc = fast_eval(f, qc, qp, app, now);
	if (f->cap > F_BUF_KEEP) { /* a rebuild (or a burst of late samples) grew it: do not keep it */
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
	return rc;
}

void slo__fast_set_rebuild_slice(slo__fast *f, int64_t buckets)
{
	f->slice = buckets > 0 ? buckets : 0;
}

void slo__fast_stats(const slo__fast *f, size_t *peak_read, size_t *scratch_bytes, size_t *state_bytes)
{
	size_t st = sizeof(*f);
	const f__sel *sels[3] = {&f->err, &f->tot, &f->rec};
	for (size_t k = 0; k < 3; k++) {
		size_t bsz = sels[k]->gauge ? sizeof(f__gb) : sizeof(f__cb);
		st += sels[k]->cap * sizeof(f__ser) + sels[k]->n * (size_t)sels[k]->nb * bsz;
	}
	*peak_read = f->peak_read;
	*scratch_bytes = f->cap * sizeof(tsdb_sample);
	*state_bytes = st;
}
