/*
 * eval.c — the live SLO engine (see eval.h and docs/slo-eval.md).
 *
 * Compilation: every slo_group of the set goes through slo_generate() (plain Prometheus rule file
 * text, byte-identical to `slod generate`) and slo_rulefile_parse(); the resulting rule groups
 * (three per SLO: sli-recordings, meta-recordings, alerts) plus the caller's user groups are
 * handed to rules_manager_update() in one call, because the manager replaces its whole set.
 * Rule groups keep the SLO document's file name, so /api/v1/rules shows where they came from.
 * For sum(rate()) SLIs the long-window recording rules and the period rule are taken out of the
 * sli-recordings group and recorded by the engine itself, incrementally (eval_fast.c): same
 * values, a fraction of the cost.
 *
 * A cycle (slo_engine_evaluate, every interval from the engine's thread): fast-path rules are
 * recorded and committed; then, with a querier opened after that commit, each SLO's ring takes
 * the buckets that ended, the windows and the period rule are read back, alert states come from
 * one rules snapshot, and a new status snapshot is published.
 *
 * Data layout:
 *   slo_engine.slos[i]  one e__slo per SLO in load order: its spec, period, the distinct alert
 *                       windows sorted (at most 8), the alert tiers (≤ 4 conditions), the names of
 *                       its recorded series and alert group, the queries rendered with the bucket
 *                       width, the bucket ring of the exact method and its fast-path state.
 *   e__ring             n = period / bucket slots; slot (k mod n) holds bucket k, the interval
 *                       ((k−1)·B, k·B]: err[] and tot[] are the increases of the error and total
 *                       queries evaluated at k·B with window B, times scale_err/scale_tot from
 *                       the query's shape (sli_shape: rate × B, increase × 1; unknown: × 1 and
 *                       no event counts); for raw SLIs err[] holds the
 *                       error ratio and tot[] 1 (0 when the ratio had no value). sum_err/sum_tot
 *                       are the sums over the ring; `last` is the newest bucket number.
 *   slo_snapshot        immutable, refcounted, one arena: per-SLO status arrays. Strings point
 *                       into the engine's arena (stable for the engine's life).
 *
 * Late data: a tsdb write watch (tsdb_watch_take at the start of each cycle) gives the oldest
 * sample timestamp committed since the last cycle; rings whose evaluated buckets reach it get
 * dirty_from = that bucket and are recomputed oldest first within a per-cycle budget
 * (E_REPAIR_SLO_BUCKETS per SLO, E_REPAIR_CYCLE_BUCKETS in all); the fast path forgets its
 * summaries from there (slo__fast_invalidate).
 *
 * Calendar periods (slod extension): the ring spans the longest calendar period (7d/31d/92d) and
 * the budget is the sum of the buckets since the period began (ring_sum_from, O(slots) per cycle);
 * everything else uses the rolling equivalent the rules use.
 *
 * Invariants: ring sums equal the sum of their slots up to rounding; they are recomputed from the
 * slots every n slot updates, so drift stays bounded. Buckets are only ever evaluated once they
 * have ended (k·B ≤ now − bucket_delay). The published snapshot pointer is replaced under mu.
 *
 * Costs per cycle and SLO: the fast path (see eval_fast.c); one tsdb select + latest-sample read
 * per window (≤ 9), plus — once per
 * bucket width — two instant-sized range queries over B of raw samples (O(samples in B)). The
 * first cycle rebuilds each ring with two range queries per rebuild slice of the period
 * (O(samples in the period)). One rules_manager_snapshot() per cycle gives the alert states
 * (O(rules)).
 *
 * Start-up memory: the first evaluation rebuilds every SLO's ring and fast-path summaries from
 * history, one SLO after the other. Nothing of one SLO's rebuild outlives it but its ring and
 * summaries (the steady state): bucket range queries span at most one rebuild slice
 * (rebuild_slice_ms, default 1 day; each result is freed before the next query), the fast path's
 * raw reads likewise (eval_fast.c), and its sample buffer is released after the evaluation. The
 * per-fill arrays (ring_fill: 17 bytes per bucket) are at most one ring long, so the ring is left
 * unchanged when a query fails. So the start-up peak is the steady state plus one slice of one
 * SLO's series, whatever the number of SLOs (slo_engine_get_stats reports the bounds).
 */
#include "slo/eval.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/promql.h"
#include "slo/eval_fast.h"
#include "slo/rulefile.h"
#include "slo/slo_int.h"
#include "util/arena.h"
#include "util/buf.h"

#define E_MAX_WINDOWS 8
#define E_RANGE_CHUNK 10000 /* steps per range query (the engine allows 11,000) */
#define E_SPEC_MAX_BYTES (4u << 20)
#define E_HISTORY_MAX_BUCKETS 2000000
#define E_REPAIR_SLO_BUCKETS 2016      /* buckets recomputed per SLO per cycle (a week of 5m) */
#define E_REPAIR_CYCLE_BUCKETS 200000  /* ... and over all SLOs per cycle */

typedef struct e__ring {
	int64_t n;        /* slots */
	double *err, *tot;
	int64_t last;     /* newest bucket number; INT64_MIN when empty */
	double sum_err, sum_tot;
	int64_t updates;  /* slot updates since the sums were recomputed */
} e__ring;

typedef struct e__tier {
	const char *severity;
	int tier;         /* 0 page, 1 ticket */
	int64_t long_ms, short_ms;
	size_t long_i, short_i; /* indexes into windows */
	double factor, threshold;
} e__tier;

typedef struct e__slo {
	const slo_spec *spec;
	const slo_group *grp;
	slo_windows wins;         /* the SLO's alert windows (catalog + slod per-tier overrides) */
	int64_t period_ms;
	char period_s[24];
	double budget;    /* (100 − objective) / 100, as Sloth computes it */
	size_t n_win;
	int64_t win_ms[E_MAX_WINDOWS];
	char win_s[E_MAX_WINDOWS][24];
	char *win_rec[E_MAX_WINDOWS]; /* "slo:sli_error:ratio_rate5m" */
	char *period_rec;
	e__tier tiers[4];
	size_t n_tiers;
	const char *alert_name;
	char *alert_group;        /* "sloth-slo-alerts-<id>" */
	const char *file;         /* rule group file */
	char *source;
	const char *spec_text;    /* borrowed from the set, or in the arena */
	char *q_err, *q_tot, *q_ratio; /* rendered with the bucket width */
	char *q_tot_short;        /* total query with the shortest window (history request rate) */
	char *q_ratio_short;      /* the SLI ratio over the shortest window, from raw data (history) */
	char *q_period_rec;       /* max(slo:sli_error:ratio_rate<period>{sloth_id="..."}) */
	/* events SLIs: what one evaluation of the error/total query at a bucket's end means
	 * (sli_shape): scale_* turns it into the bucket's event count; counts is false when a
	 * query's shape is unknown (then scale 1 for both: the ratio assumes they share a shape) */
	double scale_err, scale_tot;
	bool counts;
	double short_per_s;       /* total query with the shortest window -> events per second */
	e__ring ring;
	slo__fast *fast;          /* incremental long windows (NULL: all rules with the manager) */
	int64_t fast_t;           /* timestamp of the last fast-path evaluation */
	int64_t dirty_from;       /* oldest ring bucket to recompute (late data); INT64_MAX: none */
} e__slo;

struct slo_engine {
	slo_engine_options o;
	arena a;                  /* names, queries, spec texts */
	e__slo *slos;
	size_t n_slos;
	slo_rulefile **rf;        /* one per slo_group */
	size_t n_rf;
	rules_group_def *groups;  /* every SLO rule group handed to the manager (fast rules removed) */
	size_t n_slo_groups, cap_groups;
	size_t n_fast_rules;
	size_t *by_group;         /* slo indexes sorted by alert_group (for the rules snapshot) */
	pthread_mutex_t mu;       /* guards cur and refcounts */
	pthread_mutex_t eval_mu;  /* serialises evaluations (rings) and rule hand-overs */
	slo_snapshot *cur;
	/* thread */
	pthread_t th;
	bool started, stop;
	pthread_cond_t cv;
	int64_t interval_ms;
	/* scratch for sample reads (under eval_mu) */
	tsdb_sample *sbuf;
	size_t scap;
	tsdb_watch *watch;        /* oldest sample written since the last cycle (NULL: none left) */
	size_t repair_next;       /* first SLO to repair next cycle (fairness under the budget) */
	int64_t slice_buckets;    /* history reads span at most this many buckets (0: no limit) */
	int64_t max_query_steps;  /* stats: most steps of one bucket range query */
};

typedef struct e__snap_priv {
	arena a;
	slo_engine *e;
} e__snap_priv;

const char *slo_eval_method_name(slo_eval_method m)
{
	return m == SLO_EVAL_SLOTH ? "sloth" : "exact";
}

int slo_eval_method_parse(const char *s, slo_eval_method *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "exact") == 0)
		*out = SLO_EVAL_EXACT;
	else if (strcmp(s, "sloth") == 0)
		*out = SLO_EVAL_SLOTH;
	else
		return -1;
	return 0;
}

static int64_t e_now(const slo_engine *e)
{
	return slod_clock_now(&e->o.clock);
}

static bool is_stale(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b == TSDB_STALE_NAN_BITS;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* A PromQL double-quoted string literal of s. */
static char *e_quote(arena *a, const char *s)
{
	buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '"');
	for (const char *p = s; *p && rc == 0; p++) {
		if (*p == '"' || *p == '\\')
			rc |= buf_putc(&b, '\\');
		if (*p == '\n')
			rc |= buf_puts(&b, "\\n");
		else
			rc |= buf_putc(&b, *p);
	}
	rc |= buf_putc(&b, '"');
	char *r = rc == 0 ? arena_strndup(a, b.data, b.len) : NULL;
	buf_deinit(&b);
	return r;
}

/* ---- spec text ------------------------------------------------------------------------------ */

/* The YAML document of file containing line (between "---" lines), or "" when unreadable. Only
 * used when the loader did not keep the document's text. */
static char *spec_text(arena *a, const char *file, uint32_t line)
{
	char *res = NULL;
	FILE *fp = file ? fopen(file, "rb") : NULL;
	if (!fp)
		return arena_strdup(a, "");
	buf b;
	buf_init(&b, E_SPEC_MAX_BYTES);
	char chunk[65536];
	size_t k;
	bool ok = true;
	while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (buf_append(&b, chunk, k) != 0) {
			ok = false;
			break;
		}
	fclose(fp);
	if (!ok || !b.data) {
		res = arena_strdup(a, "");
		goto out;
	}
	/* walk lines; a line starting with "---" starts a new document */
	const char *p = b.data, *end = b.data + b.len, *doc_start = b.data;
	uint32_t ln = 1;
	bool found = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		bool sep = (le - p) >= 3 && memcmp(p, "---", 3) == 0 &&
			   (le - p == 3 || p[3] == '\n' || p[3] == ' ' || p[3] == '\r' || p[3] == '\t');
		if (sep) {
			if (found) {
				end = p;
				break;
			}
			doc_start = le;
		} else if (ln == line || (line == 0 && ln == 1)) {
			found = true;
		}
		p = le;
		ln++;
	}
	res = arena_strndup(a, doc_start, (size_t)(end - doc_start));
out:
	buf_deinit(&b);
	return res;
}

/* ---- compilation ---------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- SLI shape -------------------------------------------------------------------------------- */

enum { E_SHAPE_RATE = SLO__SHAPE_RATE, E_SHAPE_COUNT = SLO__SHAPE_COUNT, E_SHAPE_OTHER = SLO__SHAPE_OTHER };

/* What the windowed terms of n are: a bit set of E_SHAPE_*; 0 when n has none (a constant such as
 * the vector(0) of `... or vector(0)`). rate/irate of a selector are per second; increase,
 * sum_over_time and count_over_time over exactly the window w are counts per window; sums,
 * sums of terms, set operations, filters and scaling by a constant keep the shape; anything else
 * that involves samples (a gauge, a product of windowed terms, max, a subquery, ...) is OTHER. */
static unsigned shape_walk(const promql_node *n, int64_t w)
{
	if (!n)
		return 0;
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		return 0;
	case PROMQL_NODE_PAREN:
		return shape_walk(n->paren.expr, w);
	case PROMQL_NODE_UNARY:
		return shape_walk(n->unary.expr, w);
	case PROMQL_NODE_AGGREGATE: {
		unsigned x = shape_walk(n->aggregate.expr, w);
		return n->aggregate.op == PROMQL_AGG_SUM || !x ? x : E_SHAPE_OTHER;
	}
	case PROMQL_NODE_BINARY: {
		unsigned l = shape_walk(n->binary.lhs, w), r = shape_walk(n->binary.rhs, w);
		switch (n->binary.op) {
		case PROMQL_OP_ADD:
		case PROMQL_OP_SUB:
		case PROMQL_OP_OR:
		case PROMQL_OP_AND:
		case PROMQL_OP_UNLESS:
			return l | r;
		case PROMQL_OP_MUL:
			return !l || !r ? l | r : E_SHAPE_OTHER;
		case PROMQL_OP_DIV:
			return !r ? l : E_SHAPE_OTHER;
		default: /* comparisons filter (bool: 0/1 values, not events), %, ^, atan2 */
			if (promql_binop_is_comparison(n->binary.op) && !n->binary.return_bool)
				return l | r;
			return l | r ? E_SHAPE_OTHER : 0;
		}
	}
	case PROMQL_NODE_CALL: {
		const promql_node *a0 = n->call.n_args ? n->call.args[0] : NULL;
		bool sel = a0 && a0->kind == PROMQL_NODE_MATRIX_SELECTOR;
		switch (n->call.func->id) {
		case PROMQL_FN_RATE:
		case PROMQL_FN_IRATE:
			return sel ? E_SHAPE_RATE : E_SHAPE_OTHER;
		case PROMQL_FN_INCREASE:
		case PROMQL_FN_SUM_OVER_TIME:
		case PROMQL_FN_COUNT_OVER_TIME:
			return sel && a0->matrix.range_ms == w ? E_SHAPE_COUNT : E_SHAPE_OTHER;
		case PROMQL_FN_LABEL_REPLACE:
		case PROMQL_FN_LABEL_JOIN:
		case PROMQL_FN_SORT:
		case PROMQL_FN_SORT_DESC:
		case PROMQL_FN_SORT_BY_LABEL:
		case PROMQL_FN_SORT_BY_LABEL_DESC:
			return shape_walk(a0, w);
		default: {
			unsigned x = 0;
			for (size_t i = 0; i < n->call.n_args; i++)
				x |= shape_walk(n->call.args[i], w);
			return x ? E_SHAPE_OTHER : 0;
		}
		}
	}
	default: /* selectors outside rate/increase/..., subqueries */
		return E_SHAPE_OTHER;
	}
}

/* The shape of a rendered SLI query whose windows are w: E_SHAPE_RATE (per second),
 * E_SHAPE_COUNT (events per window) or E_SHAPE_OTHER (unknown, also when it does not parse). */
unsigned slo__sli_shape(const char *q, int64_t w)
{
	promql_expr *x = NULL;
	promql_error perr;
	if (promql_parse(q, strlen(q), NULL, &x, &perr) != 0)
		return E_SHAPE_OTHER;
	unsigned sh = shape_walk(x->root, w);
	promql_expr_free(x);
	return sh == E_SHAPE_RATE || sh == E_SHAPE_COUNT ? sh : E_SHAPE_OTHER;
}

static int setup_slo(slo_engine *e, const slo_group *grp, const slo_spec *sp, e__slo *s, char *err, size_t errlen)
{
	arena *a = &e->a;
	s->spec = sp;
	s->grp = grp;
	s->period_ms = slo_spec_period_ms(sp, &e->o.gen);
	slo__dur(s->period_s, sizeof s->period_s, s->period_ms);
	if (slo_spec_windows(e->o.set, sp, &e->o.gen, &s->wins) != 0) {
		snprintf(err, errlen, "SLO %s: no alert windows for the %s period", sp->id, s->period_s);
		return -1;
	}
	const slo_windows *w = &s->wins;
	int64_t cal_ms = slo_calendar_max_ms(sp->calendar);
	if (cal_ms % e->o.bucket_ms != 0) {
		snprintf(err, errlen, "SLO %s: the bucket width does not divide a calendar %s", sp->id,
			 slo_calendar_name(sp->calendar));
		return -1;
	}
	if (s->period_ms % e->o.bucket_ms != 0) {
		snprintf(err, errlen, "SLO %s: the bucket width does not divide the %s period", sp->id, s->period_s);
		return -1;
	}
	s->budget = (100 - sp->objective) / 100;
	/* distinct windows, sorted (as the generator lists them) */
	int64_t ws[8] = {w->page_quick.short_ms, w->page_quick.long_ms,   w->page_slow.short_ms,
			 w->page_slow.long_ms,   w->ticket_quick.short_ms, w->ticket_quick.long_ms,
			 w->ticket_slow.short_ms, w->ticket_slow.long_ms};
	qsort(ws, 8, sizeof ws[0], cmp_i64);
	s->n_win = 0;
	for (size_t i = 0; i < 8; i++) {
		char d[24];
		slo__dur(d, sizeof d, ws[i]);
		bool dup = false;
		for (size_t j = 0; j < s->n_win; j++)
			if (strcmp(s->win_s[j], d) == 0)
				dup = true;
		if (dup)
			continue;
		s->win_ms[s->n_win] = ws[i];
		memcpy(s->win_s[s->n_win], d, sizeof d);
		s->win_rec[s->n_win] = arena_sprintf(a, "slo:sli_error:ratio_rate%s", d);
		if (!s->win_rec[s->n_win])
			return -1;
		s->n_win++;
	}
	s->period_rec = arena_sprintf(a, "slo:sli_error:ratio_rate%s", s->period_s);
	/* alert tiers */
	s->alert_name = sp->alerting.name ? sp->alerting.name : "";
	s->n_tiers = 0;
	for (int tier = 0; tier < 2 && !e->o.gen.disable_alerts; tier++) {
		const slo_alert_tier *t = tier == 0 ? &sp->alerting.page : &sp->alerting.ticket;
		if (t->disable)
			continue;
		const slo_window *cond[2] = {tier == 0 ? &w->page_quick : &w->ticket_quick,
					     tier == 0 ? &w->page_slow : &w->ticket_slow};
		for (int c = 0; c < 2; c++) {
			e__tier *x = &s->tiers[s->n_tiers++];
			x->severity = tier == 0 ? "page" : "ticket";
			x->tier = tier;
			x->long_ms = cond[c]->long_ms;
			x->short_ms = cond[c]->short_ms;
			x->factor = slo_window_burn_factor(s->period_ms, cond[c]);
			x->threshold = x->factor * s->budget;
			char ld[24], sd[24];
			slo__dur(ld, sizeof ld, x->long_ms);
			slo__dur(sd, sizeof sd, x->short_ms);
			for (size_t j = 0; j < s->n_win; j++) {
				if (strcmp(s->win_s[j], ld) == 0)
					x->long_i = j;
				if (strcmp(s->win_s[j], sd) == 0)
					x->short_i = j;
			}
		}
	}
	s->alert_group = arena_sprintf(a, "sloth-slo-alerts-%s", sp->id);
	s->file = grp->pos.file ? grp->pos.file : "slo";
	s->source = arena_sprintf(a, "%s:%u", sp->pos.file ? sp->pos.file : "", sp->pos.line);
	/* the set outlives the engine: its document text is borrowed, not copied once per SLO */
	s->spec_text = grp->text ? grp->text : spec_text(a, grp->pos.file, sp->pos.line ? sp->pos.line : grp->pos.line);
	/* queries */
	char bw[24];
	slo__dur(bw, sizeof bw, e->o.bucket_ms);
	const char *qid = e_quote(a, sp->id);
	if (!s->period_rec || !s->alert_group || !s->source || !s->spec_text || !qid)
		return -1;
	if (sp->sli_kind == SLO_SLI_EVENTS) {
		const char *qe = slo__query_render(a, sp->error_query.text, bw, NULL);
		const char *qt = slo__query_render(a, sp->total_query.text, bw, NULL);
		const char *qts = slo__query_render(a, sp->total_query.text, s->win_s[0], NULL);
		const char *qes = slo__query_render(a, sp->error_query.text, s->win_s[0], NULL);
		if (!qe || !qt || !qts || !qes)
			return -1;
		s->q_err = arena_sprintf(a, "sum(%s)", qe);
		s->q_tot = arena_sprintf(a, "sum(%s)", qt);
		s->q_tot_short = arena_sprintf(a, "sum(%s)", qts);
		s->q_ratio_short = arena_sprintf(a, "sum(%s)\n/\nsum(%s)", qes, qts);
		if (!s->q_err || !s->q_tot || !s->q_tot_short || !s->q_ratio_short)
			return -1;
		unsigned she = slo__sli_shape(s->q_err, e->o.bucket_ms), sht = slo__sli_shape(s->q_tot, e->o.bucket_ms);
		s->counts = she != E_SHAPE_OTHER && sht != E_SHAPE_OTHER;
		s->scale_err = s->counts && she == E_SHAPE_RATE ? (double)e->o.bucket_ms / 1000.0 : 1.0;
		s->scale_tot = s->counts && sht == E_SHAPE_RATE ? (double)e->o.bucket_ms / 1000.0 : 1.0;
		/* request rate in the history: the total query over the shortest window */
		unsigned shs = slo__sli_shape(s->q_tot_short, s->win_ms[0]);
		s->short_per_s = shs == E_SHAPE_RATE ? 1.0 : shs == E_SHAPE_COUNT ? 1000.0 / (double)s->win_ms[0] : NAN;
	} else {
		const char *qr = slo__query_render(a, sp->error_ratio_query.text, bw, NULL);
		const char *qrs = slo__query_render(a, sp->error_ratio_query.text, s->win_s[0], NULL);
		if (!qr || !qrs || !(s->q_ratio = arena_sprintf(a, "max(%s)", qr)) ||
		    !(s->q_ratio_short = arena_sprintf(a, "max(%s)", qrs)))
			return -1;
	}
	s->q_period_rec = arena_sprintf(a, "max(%s{sloth_id=%s})", s->period_rec, qid);
	if (!s->q_period_rec)
		return -1;
	/* ring */
	s->ring.n = (cal_ms ? cal_ms : s->period_ms) / e->o.bucket_ms;
	s->ring.err = calloc((size_t)s->ring.n, sizeof(double));
	s->ring.tot = calloc((size_t)s->ring.n, sizeof(double));
	s->ring.last = INT64_MIN;
	s->dirty_from = INT64_MAX;
	if (!s->ring.err || !s->ring.tot)
		return -1;
	return 0;
}

static int cmp_group_idx(const void *a, const void *b, void *ud)
{
	const slo_engine *e = ud;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(e->slos[x].alert_group, e->slos[y].alert_group);
	return c ? c : strcmp(e->slos[x].file, e->slos[y].file);
}

/* Appends the rule groups of one generated rule file to e->groups; for the SLOs [s0, s1) whose
 * SLI fits the fast path, their sli-recordings group loses the rules the engine computes itself.
 * Returns 0 or -1 (OOM). */
static int collect_groups(slo_engine *e, const slo_rulefile *rf, size_t s0, size_t s1)
{
	size_t n;
	const rules_group_def *gs = slo_rulefile_groups(rf, &n);
	if (e->n_slo_groups + n > e->cap_groups) {
		size_t cap = (e->n_slo_groups + n) * 2;
		rules_group_def *ng = realloc(e->groups, cap * sizeof(*ng));
		if (!ng)
			return -1;
		e->groups = ng;
		e->cap_groups = cap;
	}
	for (size_t i = 0; i < n; i++) {
		rules_group_def *out = &e->groups[e->n_slo_groups++];
		*out = gs[i];
		if (e->o.fast_min_window_ms < 0 || strncmp(gs[i].name, "sloth-slo-sli-recordings-", 25) != 0)
			continue;
		const char *id = gs[i].name + 25;
		for (size_t k = s0; k < s1; k++) {
			e__slo *s = &e->slos[k];
			if (strcmp(s->spec->id, id) != 0 || s->fast)
				continue;
			char src[24];
			slo__dur(src, sizeof src, s->wins.page_quick.short_ms);
			char rec[64];
			snprintf(rec, sizeof rec, "slo:sli_error:ratio_rate%s", src);
			s->fast = slo__fast_new(s->spec, e->o.bucket_ms, e->o.fast_min_window_ms, s->period_ms, rec);
			if (!s->fast)
				break;
			slo__fast_set_rebuild_slice(s->fast, e->slice_buckets);
			int taken = slo__fast_take_rules(s->fast, &gs[i], &e->a, out);
			if (taken < 0)
				return -1;
			if (taken == 0) {
				slo__fast_free(s->fast);
				s->fast = NULL;
			}
			e->n_fast_rules += (size_t)taken;
			break;
		}
	}
	return 0;
}

/* Hands SLO groups + user groups to the rules manager. Caller holds eval_mu (or is creating). */
static int hand_over(slo_engine *e, const rules_group_def *user, size_t n_user, char *err, size_t errlen)
{
	size_t total = n_user + e->n_slo_groups, k = e->n_slo_groups;
	rules_group_def *all = calloc(total ? total : 1, sizeof(*all));
	if (!all) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (k)
		memcpy(all, e->groups, k * sizeof(*all));
	if (n_user)
		memcpy(all + k, user, n_user * sizeof(*user));
	int rc = rules_manager_update(e->o.rules, all, total, err, errlen);
	free(all);
	return rc;
}

typedef rules_alert_state e__states[2]; /* page, ticket */
static slo_snapshot *build_snapshot(slo_engine *e, int64_t now, bool evaluated, const e__states *states,
				    const int64_t *sli_t);

int slo_engine_new(const slo_engine_options *o, slo_engine **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!o || !o->set || !o->rules || !o->db || !o->engine) {
		snprintf(err, errlen, "slo engine: set, rules, db and engine are required");
		return -1;
	}
	slo_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->o = *o;
	e->o.user_groups = NULL;
	e->o.n_user_groups = 0;
	e->o.gen.output_format = SLO_OUTPUT_PROMETHEUS;
	e->o.gen.disable_recordings = false;
	if (!e->o.clock.now_ms)
		e->o.clock = slod_clock_system();
	if (e->o.bucket_ms <= 0)
		e->o.bucket_ms = 5 * 60 * 1000;
	if (e->o.lookback_ms <= 0)
		e->o.lookback_ms = 5 * 60 * 1000;
	if (e->o.bucket_delay_ms == 0)
		e->o.bucket_delay_ms = 60 * 1000;
	else if (e->o.bucket_delay_ms < 0)
		e->o.bucket_delay_ms = 0;
	if (e->o.fast_min_window_ms == 0)
		e->o.fast_min_window_ms = 3600 * 1000;
	if (e->o.rebuild_slice_ms == 0)
		e->o.rebuild_slice_ms = 86400 * 1000;
	if (e->o.rebuild_slice_ms > 0 && e->o.rebuild_slice_ms <= INT64_MAX / 4) {
		e->slice_buckets = e->o.rebuild_slice_ms / e->o.bucket_ms + (e->o.rebuild_slice_ms % e->o.bucket_ms != 0);
		e->o.rebuild_slice_ms = e->slice_buckets * e->o.bucket_ms;
	} else {
		e->o.rebuild_slice_ms = 0;
	}
	arena_init(&e->a, 0);
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->eval_mu, NULL);
	pthread_cond_init(&e->cv, NULL);

	const slo_group *groups;
	size_t ng = slo_set_groups(o->set, &groups);
	size_t ns = 0;
	for (size_t i = 0; i < ng; i++)
		ns += groups[i].n_slos;
	e->slos = calloc(ns ? ns : 1, sizeof(*e->slos));
	e->rf = calloc(ng ? ng : 1, sizeof(*e->rf));
	e->by_group = calloc(ns ? ns : 1, sizeof(size_t));
	buf text;
	buf_init(&text, 0);
	if (!e->slos || !e->rf || !e->by_group) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ng; i++) {
		const slo_group *g = &groups[i];
		if (g->n_slos == 0)
			continue;
		for (size_t j = 0; j < g->n_slos; j++) {
			e__slo *s = &e->slos[e->n_slos];
			if (setup_slo(e, g, &g->slos[j], s, err, errlen) != 0) {
				if (!err[0])
					snprintf(err, errlen, "out of memory");
				e->n_slos++; /* so its ring is freed */
				goto fail;
			}
			e->n_slos++;
		}
		buf_reset(&text);
		if (slo_generate(o->set, g, &e->o.gen, &text, err, errlen) != 0)
			goto fail;
		const char *name = g->pos.file ? g->pos.file : "slo";
		if (slo_rulefile_parse(name, text.data ? text.data : "", text.len, &e->rf[e->n_rf], err, errlen) != 0)
			goto fail;
		if (collect_groups(e, e->rf[e->n_rf], e->n_slos - g->n_slos, e->n_slos) != 0) {
			e->n_rf++;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		e->n_rf++;
	}
	for (size_t i = 0; i < e->n_slos; i++)
		e->by_group[i] = i;
	qsort_r(e->by_group, e->n_slos, sizeof(size_t), cmp_group_idx, e);
	if (hand_over(e, o->user_groups, o->n_user_groups, err, errlen) != 0)
		goto fail;
	e->watch = tsdb_watch_new(o->db);
	if (!e->watch)
		slod_log(&e->o.logger, SLOD_LOG_WARN, "slo",
			 "no tsdb write watch left: samples written into the past after start are not counted in the exact budget");
	e->cur = build_snapshot(e, 0, false, NULL, NULL);
	if (!e->cur) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	buf_deinit(&text);
	*out = e;
	return 0;
fail:
	buf_deinit(&text);
	slo_engine_free(e);
	return -1;
}

static void *thread_main(void *ud);

void slo_engine_free(slo_engine *e)
{
	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->mu);
		e->stop = true;
		pthread_cond_broadcast(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->th, NULL);
	}
	if (e->cur)
		slo_snapshot_release(e->cur);
	for (size_t i = 0; i < e->n_slos; i++) {
		free(e->slos[i].ring.err);
		free(e->slos[i].ring.tot);
		slo__fast_free(e->slos[i].fast);
	}
	free(e->groups);
	for (size_t i = 0; i < e->n_rf; i++)
		slo_rulefile_free(e->rf[i]);
	free(e->rf);
	free(e->slos);
	free(e->by_group);
	free(e->sbuf);
	tsdb_watch_free(e->watch);
	arena_deinit(&e->a);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->eval_mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}

int slo_engine_set_user_groups(slo_engine *e, const rules_group_def *groups, size_t n, char *err, size_t errlen)
{
	pthread_mutex_lock(&e->eval_mu);
	int rc = hand_over(e, groups, n, err, errlen);
	pthread_mutex_unlock(&e->eval_mu);
	return rc;
}

size_t slo_engine_n_slos(const slo_engine *e)
{
	return e->n_slos;
}

size_t slo_engine_n_groups(const slo_engine *e)
{
	return e->n_slo_groups;
}

size_t slo_engine_n_fast_rules(const slo_engine *e)
{
	return e->n_fast_rules;
}

void slo_engine_get_stats(slo_engine *e, slo_engine_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->eval_mu);
	out->rebuild_slice_ms = e->o.rebuild_slice_ms;
	out->max_query_steps = e->max_query_steps;
	out->scratch_bytes = e->scap * sizeof(tsdb_sample);
	for (size_t i = 0; i < e->n_slos; i++) {
		const e__slo *s = &e->slos[i];
		out->state_bytes += (size_t)s->ring.n * 2 * sizeof(double);
		if (s->fast) {
			size_t peak, scratch, state;
			slo__fast_stats(s->fast, &peak, &scratch, &state);
			if (peak > out->max_read_samples)
				out->max_read_samples = peak;
			out->scratch_bytes += scratch;
			out->state_bytes += state;
		}
	}
	pthread_mutex_unlock(&e->eval_mu);
}

/* ---- bucket rings --------------------------------------------------------------------------- */

/* Runs q as range queries at t = first·B ... last·B (step B, chunked: at most one rebuild slice
 * and E_RANGE_CHUNK steps per query, so one query holds one slice of the selected series'
 * samples; every step is evaluated on its own, so the chunking does not change a value) and adds
 * every finite value of every series, times scale, into out[k − first]; has[k − first] is set
 * where a value existed; *max_steps (if not NULL) is raised to the longest query's steps. Returns
 * 0 or -1 (err set). */
static int range_sum(slo_engine *e, const char *q, int64_t first, int64_t last, int64_t B, double scale, double *out,
		     bool *has, int64_t *max_steps, char *err, size_t errlen)
{
	int64_t chunk = e->slice_buckets > 0 && e->slice_buckets < E_RANGE_CHUNK ? e->slice_buckets : E_RANGE_CHUNK;
	for (int64_t k0 = first; k0 <= last; k0 += chunk) {
		int64_t k1 = k0 + chunk - 1 < last ? k0 + chunk - 1 : last;
		if (max_steps && k1 - k0 + 1 > *max_steps)
			*max_steps = k1 - k0 + 1;
		promql_result *r = promql_query_range(e->o.engine, e->o.db, q, k0 * B, k1 * B, B, NULL);
		if (!r) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (r->err_type != PROMQL_ERRTYPE_NONE) {
			snprintf(err, errlen, "%s: %s", q, r->err ? r->err : "query failed");
			promql_result_free(r);
			return -1;
		}
		for (size_t i = 0; i < r->n_series; i++) {
			const promql_series *ps = &r->series[i];
			for (size_t j = 0; j < ps->n_points; j++) {
				double v = ps->points[j].v;
				int64_t k = floor_div(ps->points[j].t, B);
				if (k < k0 || k > k1 || !isfinite(v))
					continue;
				out[k - first] += v * scale;
				if (has)
					has[k - first] = true;
			}
		}
		promql_result_free(r);
	}
	return 0;
}

static void ring_resum(e__ring *r)
{
	double se = 0, st = 0;
	for (int64_t i = 0; i < r->n; i++) {
		se += r->err[i];
		st += r->tot[i];
	}
	r->sum_err = se;
	r->sum_tot = st;
	r->updates = 0;
}

/* Evaluates the buckets [first, last] of s's ring (clamped to the ring's span ending at
 * max(ring.last, last)) and stores them in their slots, keeping the sums. Returns 0 or -1 (a query
 * failed; the ring is unchanged). Cost: two range queries over the buckets' samples. */
static int ring_fill(slo_engine *e, e__slo *s, int64_t first, int64_t last)
{
	e__ring *r = &s->ring;
	int64_t top = r->last != INT64_MIN && r->last > last ? r->last : last;
	if (first < top - r->n + 1)
		first = top - r->n + 1;
	if (first > last)
		return 0;
	size_t cnt = (size_t)(last - first + 1);
	double *ve = calloc(cnt, sizeof(double)), *vt = calloc(cnt, sizeof(double));
	bool *has = calloc(cnt, sizeof(bool));
	char err[512];
	int rc = -1;
	int64_t B = e->o.bucket_ms;
	if (!ve || !vt || !has)
		goto out;
	if (s->q_ratio) {
		if (range_sum(e, s->q_ratio, first, last, B, 1.0, ve, has, &e->max_query_steps, err, sizeof err) != 0)
			goto qfail;
		for (size_t i = 0; i < cnt; i++)
			vt[i] = has[i] ? 1.0 : 0.0;
	} else {
		if (range_sum(e, s->q_err, first, last, B, s->scale_err, ve, NULL, &e->max_query_steps, err, sizeof err) != 0 ||
		    range_sum(e, s->q_tot, first, last, B, s->scale_tot, vt, NULL, &e->max_query_steps, err, sizeof err) != 0)
			goto qfail;
	}
	for (size_t i = 0; i < cnt; i++) {
		int64_t k = first + (int64_t)i;
		int64_t slot = ((k % r->n) + r->n) % r->n;
		r->sum_err += ve[i] - r->err[slot];
		r->sum_tot += vt[i] - r->tot[slot];
		r->err[slot] = ve[i];
		r->tot[slot] = vt[i];
	}
	r->updates += (int64_t)cnt;
	if (r->last == INT64_MIN || last > r->last) {
		/* slots between the old last and first (skipped: older than the new span) are stale */
		r->last = last;
	}
	if (r->updates >= r->n)
		ring_resum(r);
	rc = 0;
	goto out;
qfail:
	slod_log(&e->o.logger, SLOD_LOG_WARN, "slo", "SLO %s: bucket query failed: %s", s->spec->id, err);
out:
	free(ve);
	free(vt);
	free(has);
	return rc;
}

/* Sums the ring's buckets that lie at or after start_ms (bucket k covers ((k−1)·B, k·B]: those with
 * (k−1)·B >= start_ms, up to ring.last) into *se / *st (calendar periods). O(ring slots). */
static void ring_sum_from(const e__ring *r, int64_t start_ms, int64_t B, double *se, double *st)
{
	int64_t k0 = floor_div(start_ms, B) + 1, lo = r->last - r->n + 1;
	if (k0 < lo)
		k0 = lo;
	double a = 0, b = 0;
	for (int64_t k = k0; k <= r->last; k++) {
		int64_t slot = ((k % r->n) + r->n) % r->n;
		a += r->err[slot];
		b += r->tot[slot];
	}
	*se = a;
	*st = b;
}

/* Brings s's ring up to bucket `target` (first call: the whole period). Returns 0 or -1. */
static int ring_advance(slo_engine *e, e__slo *s, int64_t target)
{
	const e__ring *r = &s->ring;
	int64_t first = r->last == INT64_MIN ? target - r->n + 1 : r->last + 1;
	return ring_fill(e, s, first, target);
}

/* Late data: marks every ring that already evaluated buckets holding t_min (the oldest sample
 * committed since the last cycle) to recompute from there, and makes the fast path re-summarise. */
static void mark_late(slo_engine *e, int64_t t_min)
{
	if (t_min == INT64_MAX)
		return;
	int64_t k0 = floor_div(t_min - 1, e->o.bucket_ms) + 1; /* bucket ((k0 − 1)·B, k0·B] */
	for (size_t i = 0; i < e->n_slos; i++) {
		e__slo *s = &e->slos[i];
		if (s->fast)
			slo__fast_invalidate(s->fast, t_min);
		if (s->ring.last != INT64_MIN && k0 <= s->ring.last && k0 < s->dirty_from)
			s->dirty_from = k0;
	}
}

/* Recomputes dirty buckets oldest first: at most E_REPAIR_SLO_BUCKETS for s, fewer when *budget
 * (buckets left this cycle) is smaller. */
static void ring_repair(slo_engine *e, e__slo *s, int64_t *budget)
{
	e__ring *r = &s->ring;
	if (s->dirty_from == INT64_MAX || r->last == INT64_MIN || *budget <= 0)
		return;
	int64_t lo = s->dirty_from > r->last - r->n + 1 ? s->dirty_from : r->last - r->n + 1;
	int64_t n = E_REPAIR_SLO_BUCKETS < *budget ? E_REPAIR_SLO_BUCKETS : *budget;
	int64_t hi = lo + n - 1 < r->last ? lo + n - 1 : r->last;
	if (ring_fill(e, s, lo, hi) != 0)
		return; /* stays dirty; retried next cycle */
	*budget -= hi - lo + 1;
	s->dirty_from = hi < r->last ? hi + 1 : INT64_MAX;
}

/* ---- reading recorded series ---------------------------------------------------------------- */

/* The max over series of the latest non-stale sample of name{sloth_id=id} in [now − lookback, now].
 * Returns true with *v when one is a number (NaN, i.e. 0/0, counts as no data). */
static bool read_latest(slo_engine *e, tsdb_querier *q, const char *name, const char *id, int64_t now, double *v)
{
	tsdb_matcher m[2] = {{.type = TSDB_MATCH_EQ, .name = SLOD_METRIC_NAME, .value = name},
			     {.type = TSDB_MATCH_EQ, .name = "sloth_id", .value = id}};
	tsdb_series *ss;
	size_t n;
	if (tsdb_querier_select(q, m, 2, &ss, &n) != 0)
		return false;
	bool has = false;
	double best = 0;
	for (size_t i = 0; i < n; i++) {
		long k = tsdb_querier_samples(q, ss[i].ref, now - e->o.lookback_ms, now, &e->sbuf, &e->scap);
		if (k <= 0)
			continue;
		double x = e->sbuf[k - 1].v;
		if (is_stale(x) || isnan(x))
			continue;
		if (!has || x > best)
			best = x;
		has = true;
	}
	if (has)
		*v = best;
	return has;
}

/* ---- snapshots ------------------------------------------------------------------------------ */

static void snap_free(slo_snapshot *s)
{
	e__snap_priv *p = s->priv_;
	arena_deinit(&p->a);
	free(p);
	free(s);
}

static double nan_(void)
{
	return NAN;
}

static double exhaustion(double remaining, double burn, int64_t period_ms)
{
	if (!isfinite(remaining) || remaining <= 0 || !isfinite(burn) || burn <= 0)
		return nan_();
	return remaining * ((double)period_ms / 1000.0) / burn;
}

/* Finds the SLO index whose alert group is (name, file), or -1. */
static long find_by_group(const slo_engine *e, const char *name, const char *file)
{
	size_t lo = 0, hi = e->n_slos;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const e__slo *s = &e->slos[e->by_group[mid]];
		int c = strcmp(s->alert_group, name);
		if (c == 0)
			c = strcmp(s->file, file ? file : "");
		if (c == 0)
			return (long)e->by_group[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* From one rules snapshot: the state of each SLO's page and ticket rule (states[i]) and the time
 * its sli-recordings group last ran (sli_t[i], 0 if unknown). Returns 0 or -1 (OOM: all unknown). */
static int scan_rules(slo_engine *e, e__states *states, int64_t *sli_t)
{
	rules_snapshot rs = {0};
	if (rules_manager_snapshot(e->o.rules, &rs) != 0)
		return -1;
	char name[512];
	for (size_t g = 0; g < rs.n_groups; g++) {
		const rules_group_snap *gs = &rs.groups[g];
		bool sli = strncmp(gs->name, "sloth-slo-sli-recordings-", 25) == 0;
		if (!sli && strncmp(gs->name, "sloth-slo-alerts-", 17) != 0)
			continue;
		if (sli)
			snprintf(name, sizeof name, "sloth-slo-alerts-%s", gs->name + 25);
		long si = find_by_group(e, sli ? name : gs->name, gs->file);
		if (si < 0)
			continue;
		if (sli) {
			sli_t[si] = gs->last_eval_ms;
			continue;
		}
		for (size_t r = 0; r < gs->n_rules; r++) {
			const rules_rule_snap *rr = &gs->rules[r];
			if (rr->kind != RULES_ALERT)
				continue;
			const char *sev = labels_get(&rr->labels, "sloth_severity");
			int t = sev && strcmp(sev, "ticket") == 0 ? 1 : 0;
			states[si][t] = rr->state == RULES_ALERT_RESOLVED ? RULES_ALERT_INACTIVE : rr->state;
		}
	}
	rules_snapshot_free(&rs);
	return 0;
}

/* Builds a snapshot. With evaluated, advances rings and reads the recorded series at now (caller
 * holds eval_mu); states and sli_t come from scan_rules (NULL: unknown). Returns NULL on OOM. */
static slo_snapshot *build_snapshot(slo_engine *e, int64_t now, bool evaluated, const e__states *states,
				    const int64_t *sli_t)
{
	slo_snapshot *snap = calloc(1, sizeof(*snap));
	e__snap_priv *p = calloc(1, sizeof(*p));
	tsdb_querier *q = NULL;
	if (!snap || !p)
		goto fail;
	arena_init(&p->a, 0);
	p->e = e;
	snap->priv_ = p;
	snap->refs_ = 1;
	snap->evaluated_at_ms = evaluated ? now : 0;
	snap->n_slos = e->n_slos;
	snap->slos = arena_calloc(&p->a, e->n_slos ? e->n_slos : 1, sizeof(slo_status));
	if (!snap->slos)
		goto fail;
	if (evaluated) {
		q = tsdb_querier_open(e->o.db, now - e->o.lookback_ms, now);
	}
	int64_t target = floor_div(now - e->o.bucket_delay_ms, e->o.bucket_ms);
	if (evaluated && e->n_slos) {
		/* late data first (a bounded share per cycle, rotating between SLOs), then new buckets */
		int64_t budget = E_REPAIR_CYCLE_BUCKETS;
		size_t i0 = e->repair_next % e->n_slos;
		for (size_t k = 0; k < e->n_slos && budget > 0; k++) {
			e__slo *s = &e->slos[(i0 + k) % e->n_slos];
			ring_repair(e, s, &budget);
			if (s->dirty_from != INT64_MAX && budget <= 0)
				e->repair_next = (i0 + k) % e->n_slos;
		}
	}
	for (size_t i = 0; i < e->n_slos; i++) {
		e__slo *s = &e->slos[i];
		const slo_spec *sp = s->spec;
		slo_status *st = &snap->slos[i];
		st->spec = sp;
		st->id = sp->id;
		st->service = sp->service;
		st->name = sp->name;
		st->description = sp->description;
		st->source = s->source;
		st->spec_text = s->spec_text;
		st->objective = sp->objective;
		st->period_ms = s->period_ms;
		st->period = s->period_s;
		st->calendar = sp->calendar;
		st->timezone = sp->tz.name ? sp->tz.name : sp->calendar ? "UTC" : NULL;
		st->min_events = sp->min_events;
		st->evaluated_at_ms = !evaluated ? 0 : sli_t && sli_t[i] > 0 ? sli_t[i] : now;
		st->method = e->o.method;
		st->events = sp->sli_kind == SLO_SLI_EVENTS;
		st->budget_ratio = s->budget;
		st->error_events = st->total_events = nan_();
		st->exact_error_ratio = st->sloth_error_ratio = nan_();
		st->period_error_ratio = st->period_burn_rate = nan_();
		st->consumed = st->remaining = nan_();
		st->exhaustion_current_s = st->exhaustion_period_s = nan_();
		st->windows = arena_calloc(&p->a, s->n_win ? s->n_win : 1, sizeof(slo_window_status));
		st->alerts = arena_calloc(&p->a, s->n_tiers ? s->n_tiers : 1, sizeof(slo_alert_status));
		if (!st->windows || !st->alerts)
			goto fail;
		st->n_windows = s->n_win;
		for (size_t w = 0; w < s->n_win; w++) {
			slo_window_status *ws = &st->windows[w];
			ws->window = s->win_s[w];
			ws->ms = s->win_ms[w];
			ws->error_ratio = ws->burn_rate = nan_();
			double v;
			if (q && read_latest(e, q, s->win_rec[w], sp->id, now, &v)) {
				ws->has_data = true;
				ws->error_ratio = v;
				ws->burn_rate = v / s->budget;
			}
		}
		if (evaluated) {
			ring_advance(e, s, target);
			double v;
			if (q && read_latest(e, q, s->period_rec, sp->id, now, &v)) {
				st->sloth_has_data = true;
				st->sloth_error_ratio = v;
			}
			const e__ring *r = &s->ring;
			double se = r->sum_err, stt = r->sum_tot;
			if (sp->calendar != SLO_CAL_NONE && r->last != INT64_MIN) {
				st->period_start_ms = slo_calendar_start_ms(sp->calendar, &sp->tz, now);
				ring_sum_from(r, st->period_start_ms, e->o.bucket_ms, &se, &stt);
			}
			if (r->last != INT64_MIN && stt > 0) {
				st->exact_has_data = true;
				st->exact_error_ratio = se / stt;
				if (st->events && s->counts) {
					st->error_events = se;
					st->total_events = stt;
				}
			}
		}
		if (e->o.method == SLO_EVAL_SLOTH) {
			st->period_has_data = st->sloth_has_data;
			st->period_error_ratio = st->sloth_error_ratio;
		} else {
			st->period_has_data = st->exact_has_data;
			st->period_error_ratio = st->exact_error_ratio;
		}
		if (st->period_has_data) {
			st->period_burn_rate = st->period_error_ratio / s->budget;
			st->consumed = st->period_burn_rate;
			st->remaining = 1 - st->consumed;
			st->exhaustion_period_s = exhaustion(st->remaining, st->period_burn_rate, s->period_ms);
			if (s->n_win && st->windows[0].has_data)
				st->exhaustion_current_s = exhaustion(st->remaining, st->windows[0].burn_rate, s->period_ms);
		}
		st->n_alerts = s->n_tiers;
		for (size_t t = 0; t < s->n_tiers; t++) {
			const e__tier *x = &s->tiers[t];
			slo_alert_status *as = &st->alerts[t];
			as->severity = x->severity;
			as->name = s->alert_name;
			as->state = states ? states[i][x->tier] : RULES_ALERT_INACTIVE;
			as->long_window = s->win_s[x->long_i];
			as->short_window = s->win_s[x->short_i];
			as->long_ms = x->long_ms;
			as->short_ms = x->short_ms;
			as->factor = x->factor;
			as->threshold = x->threshold;
			as->long_burn = st->windows[x->long_i].burn_rate;
			as->short_burn = st->windows[x->short_i].burn_rate;
		}
	}
	if (q)
		tsdb_querier_close(q);
	return snap;
fail:
	if (q)
		tsdb_querier_close(q);
	if (p && snap && snap->priv_)
		snap_free(snap);
	else {
		free(p);
		free(snap);
	}
	return NULL;
}

/* Records every fast-path rule (one querier, one appender, one commit) at the time its SLO's
 * sli-recordings group last ran, so all windows of an SLO share one timestamp as in Prometheus
 * (now when unknown); an SLO whose group has not run since the last pass is skipped. */
static void fast_pass(slo_engine *e, int64_t now, const int64_t *sli_t)
{
	if (!e->n_fast_rules)
		return;
	int64_t hc = now, hp = now;
	for (size_t i = 0; i < e->n_slos; i++)
		if (e->slos[i].fast) {
			int64_t h = slo__fast_horizon(e->slos[i].fast, now, false);
			hc = h < hc ? h : hc;
			h = slo__fast_horizon(e->slos[i].fast, now, true);
			hp = h < hp ? h : hp;
		}
	tsdb_querier *q = tsdb_querier_open(e->o.db, hc, now), *qp = tsdb_querier_open(e->o.db, hp, now);
	tsdb_appender *app = tsdb_appender_new(e->o.db);
	if (app) /* recordings are recomputed: no fsync wait (process-crash safe still) */
		tsdb_appender_set_no_sync(app, true);
	if (!q || !qp || !app) {
		slod_log(&e->o.logger, SLOD_LOG_ERROR, "slo", "fast path: cannot open a querier or appender");
		goto out;
	}
	for (size_t i = 0; i < e->n_slos; i++) {
		e__slo *s = &e->slos[i];
		int64_t t = sli_t[i] > 0 && sli_t[i] <= now ? sli_t[i] : now;
		if (!s->fast || t <= s->fast_t)
			continue;
		if (slo__fast_eval(s->fast, q, qp, app, t) < 0)
			slod_log(&e->o.logger, SLOD_LOG_WARN, "slo", "SLO %s: fast path evaluation failed", s->spec->id);
		s->fast_t = t;
	}
	if (tsdb_appender_commit(app) != 0)
		slod_log(&e->o.logger, SLOD_LOG_ERROR, "slo", "fast path: cannot commit recorded samples");
out:
	if (app)
		tsdb_appender_free(app);
	if (q)
		tsdb_querier_close(q);
	if (qp)
		tsdb_querier_close(qp);
}

int slo_engine_evaluate(slo_engine *e)
{
	pthread_mutex_lock(&e->eval_mu);
	int64_t now = e_now(e);
	e__states *states = calloc(e->n_slos ? e->n_slos : 1, sizeof(*states));
	int64_t *sli_t = calloc(e->n_slos ? e->n_slos : 1, sizeof(int64_t));
	slo_snapshot *s = NULL;
	if (states && sli_t) {
		if (scan_rules(e, states, sli_t) != 0)
			slod_log(&e->o.logger, SLOD_LOG_WARN, "slo", "no rules snapshot (out of memory): alert states unknown");
		/* before any read of this cycle: everything committed after the take is either seen
		 * by this cycle's queries or reported by the next take */
		if (e->watch)
			mark_late(e, tsdb_watch_take(e->watch));
		fast_pass(e, now, sli_t);
		s = build_snapshot(e, now, true, states, sli_t);
	}
	free(states);
	free(sli_t);
	pthread_mutex_unlock(&e->eval_mu);
	if (!s)
		return -1;
	pthread_mutex_lock(&e->mu);
	slo_snapshot *old = e->cur;
	e->cur = s;
	pthread_mutex_unlock(&e->mu);
	slo_snapshot_release(old);
	return 0;
}

slo_snapshot *slo_engine_acquire(slo_engine *e)
{
	pthread_mutex_lock(&e->mu);
	slo_snapshot *s = e->cur;
	if (s)
		s->refs_++;
	pthread_mutex_unlock(&e->mu);
	return s;
}

void slo_snapshot_release(slo_snapshot *s)
{
	if (!s)
		return;
	e__snap_priv *p = s->priv_;
	slo_engine *e = p->e;
	pthread_mutex_lock(&e->mu);
	bool last = --s->refs_ == 0;
	pthread_mutex_unlock(&e->mu);
	if (last)
		snap_free(s);
}

const slo_status *slo_snapshot_find(const slo_snapshot *s, const char *id)
{
	for (size_t i = 0; s && id && i < s->n_slos; i++)
		if (strcmp(s->slos[i].id, id) == 0)
			return &s->slos[i];
	return NULL;
}

/* ---- thread --------------------------------------------------------------------------------- */

static void *thread_main(void *ud)
{
	slo_engine *e = ud;
	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		int64_t next = (now / e->interval_ms + 1) * e->interval_ms;
		ts.tv_sec = next / 1000;
		ts.tv_nsec = (long)(next % 1000) * 1000000;
		int rc = 0;
		while (!e->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		if (e->stop)
			break;
		pthread_mutex_unlock(&e->mu);
		if (slo_engine_evaluate(e) != 0)
			slod_log(&e->o.logger, SLOD_LOG_ERROR, "slo", "SLO evaluation failed (out of memory)");
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int slo_engine_start(slo_engine *e, int64_t interval_ms)
{
	if (e->started || interval_ms <= 0)
		return -1;
	e->interval_ms = interval_ms;
	if (pthread_create(&e->th, NULL, thread_main, e) != 0)
		return -1;
	e->started = true;
	return 0;
}

/* ---- history -------------------------------------------------------------------------------- */

/* Runs q as a range query and stores the first series' value at each step into out (NaN where
 * absent). Returns 0 or -1. */
static int range_points(slo_engine *e, const char *q, int64_t start, int64_t end, int64_t step, double *out,
			size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		out[i] = nan_();
	promql_result *r = promql_query_range(e->o.engine, e->o.db, q, start, end, step, NULL);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (r->err_type != PROMQL_ERRTYPE_NONE) {
		snprintf(err, errlen, "%s: %s", q, r->err ? r->err : "query failed");
		promql_result_free(r);
		return -1;
	}
	for (size_t i = 0; i < r->n_series && i < 1; i++)
		for (size_t j = 0; j < r->series[i].n_points; j++) {
			int64_t t = r->series[i].points[j].t;
			if (t < start || (t - start) % step)
				continue;
			size_t k = (size_t)((t - start) / step);
			if (k < n)
				out[k] = r->series[i].points[j].v;
		}
	promql_result_free(r);
	return 0;
}

int slo_engine_history(slo_engine *e, const char *id, int64_t start, int64_t end, int64_t step,
		       slo_history *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (step <= 0 || end < start) {
		snprintf(err, errlen, "invalid range: end before start or non-positive step");
		return SLO_ERR_ARG;
	}
	/* the engine evaluates within +-2^61 ms; within it end - start cannot overflow */
	if (start < -(INT64_C(1) << 61) || end > (INT64_C(1) << 61)) {
		snprintf(err, errlen, "invalid range: start or end out of range (at most 2^61 ms from 1970)");
		return SLO_ERR_ARG;
	}
	/* end >= start: the unsigned difference is exact even across the whole int64 range */
	if (((uint64_t)end - (uint64_t)start) / (uint64_t)step + 1 > SLO_HISTORY_MAX_POINTS) {
		snprintf(err, errlen,
			 "exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)",
			 SLO_HISTORY_MAX_POINTS);
		return SLO_ERR_ARG;
	}
	const e__slo *s = NULL;
	for (size_t i = 0; i < e->n_slos; i++)
		if (strcmp(e->slos[i].spec->id, id) == 0)
			s = &e->slos[i];
	if (!s) {
		snprintf(err, errlen, "unknown SLO %s", id);
		return SLO_ERR_INVALID;
	}
	size_t n = (size_t)((end - start) / step + 1);
	int rc = SLO_ERR_NOMEM;
	double *er = malloc(n * sizeof(double)), *rq = malloc(n * sizeof(double)), *per = malloc(n * sizeof(double));
	double *be = NULL, *bt = NULL;
	out->points = calloc(n, sizeof(slo_history_point));
	if (!er || !rq || !per || !out->points) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = -1;
	if (range_points(e, s->q_ratio_short, start, end, step, er, n, err, errlen) != 0)
		goto out;
	if (s->q_tot_short) {
		if (range_points(e, s->q_tot_short, start, end, step, rq, n, err, errlen) != 0)
			goto out;
	} else {
		for (size_t i = 0; i < n; i++)
			rq[i] = nan_();
	}
	if (e->o.method == SLO_EVAL_SLOTH) {
		if (range_points(e, s->q_period_rec, start, end, step, per, n, err, errlen) != 0)
			goto out;
	} else {
		/* buckets covering (start − period, end], then a sliding sum per point; a point at t
		 * uses the period the engine would use at t: ending at the newest bucket complete at
		 * t − bucket_delay (so the last point matches the live status) */
		int64_t B = e->o.bucket_ms, N = s->ring.n, D = e->o.bucket_delay_ms;
		int64_t k_end = floor_div(end - D, B), k_first = floor_div(start - D, B) - N + 1;
		int64_t nb = k_end - k_first + 1;
		if (nb > E_HISTORY_MAX_BUCKETS) {
			rc = SLO_ERR_ARG;
			snprintf(err, errlen, "the range needs too many budget buckets; shorten it");
			goto out;
		}
		be = calloc((size_t)nb + 1, sizeof(double));
		bt = calloc((size_t)nb + 1, sizeof(double));
		bool *has = calloc((size_t)nb, sizeof(bool));
		if (!be || !bt || !has) {
			free(has);
			rc = SLO_ERR_NOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		int qrc;
		if (s->q_ratio) {
			qrc = range_sum(e, s->q_ratio, k_first, k_end, B, 1.0, be, has, NULL, err, errlen);
			for (int64_t i = 0; i < nb; i++)
				bt[i] = has[i] ? 1.0 : 0.0;
		} else {
			qrc = range_sum(e, s->q_err, k_first, k_end, B, s->scale_err, be, NULL, NULL, err, errlen);
			if (qrc == 0)
				qrc = range_sum(e, s->q_tot, k_first, k_end, B, s->scale_tot, bt, NULL, NULL, err, errlen);
		}
		free(has);
		if (qrc != 0)
			goto out;
		/* prefix sums in place: P[i] = sum of buckets [0, i) */
		double ce = 0, ct = 0;
		for (int64_t i = 0; i <= nb; i++) {
			double xe = i < nb ? be[i] : 0, xt = i < nb ? bt[i] : 0;
			be[i] = ce;
			bt[i] = ct;
			ce += xe;
			ct += xt;
		}
		for (size_t i = 0; i < n; i++) {
			int64_t t = start + (int64_t)i * step;
			int64_t hi = floor_div(t - D, B) - k_first + 1; /* exclusive */
			int64_t lo = hi - N;
			if (s->spec->calendar != SLO_CAL_NONE) {
				/* calendar periods: the buckets since the period holding t began (as live) */
				int64_t k0 = floor_div(slo_calendar_start_ms(s->spec->calendar, &s->spec->tz, t), B) + 1;
				if (k0 - k_first > lo)
					lo = k0 - k_first;
				if (lo > hi)
					lo = hi;
			}
			if (lo < 0)
				lo = 0;
			double se = be[hi] - be[lo], st = bt[hi] - bt[lo];
			per[i] = st > 0 ? se / st : nan_();
		}
	}
	for (size_t i = 0; i < n; i++) {
		slo_history_point *pt = &out->points[i];
		pt->t = start + (int64_t)i * step;
		pt->error_ratio = er[i];
		pt->burn_rate = isnan(er[i]) ? nan_() : er[i] / s->budget;
		pt->request_rate = s->q_tot_short ? rq[i] * s->short_per_s : nan_();
		pt->budget_remaining = isnan(per[i]) ? nan_() : 1 - per[i] / s->budget;
	}
	out->n_points = n;
	out->step_ms = step;
	rc = 0;
out:
	free(er);
	free(rq);
	free(per);
	free(be);
	free(bt);
	if (rc != 0) {
		free(out->points);
		out->points = NULL;
		out->n_points = 0;
	}
	return rc;
}

void slo_history_free(slo_history *h)
{
	if (!h)
		return;
	free(h->points);
	h->points = NULL;
	h->n_points = 0;
}
