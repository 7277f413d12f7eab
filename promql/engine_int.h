/*
 * engine_int.h — internal types shared by the evaluator's files (engine.c, functions.c,
 * aggregate.c, binop.c). Not part of the public API.
 *
 * Evaluation model: the tree is evaluated once per step (promql__eval at time t). Values of one
 * step live in the step arena, which the range-query loop resets after copying the step's output
 * into the result; everything that outlives a step lives in the query arena: selectors' samples
 * (ev_selcache, loaded once per query), per-step rows of selectors and range functions resolved
 * series by series in range queries (ev_selcache rows, ev_rowcall), subquery caches
 * (ev_subrange) and step-invariant values (ev_invariant). Sample labels are borrowed from the
 * querier (tsdb interned strings, valid until it closes), the parse tree or the step arena; the
 * result copies them.
 *
 * Delayed __name__ removal (Prometheus 3): operations that would drop the metric name set
 * drop_name on a sample instead; the name (with __type__ and __unit__) is removed at the end of
 * the query (label_replace / label_join writing __name__ clear the flag).
 */
#ifndef SLOD_PROMQL_ENGINE_INT_H
#define SLOD_PROMQL_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"
#include "util/labels.h"

#include <string.h>

typedef struct ev_sample {
	slod_labels ls;
	double v;
	int64_t t;       /* timestamp of the underlying stored sample (for timestamp()) */
	bool drop_name;
} ev_sample;

typedef struct ev_vector {
	ev_sample *s;
	size_t n;
} ev_vector;

typedef struct ev_series {
	slod_labels ls;
	const tsdb_sample *pts; /* borrowed (selector cache) or step-arena owned */
	size_t n;
	bool drop_name;
	uint8_t counter_name; /* 0 unknown; 1 no name or a counter-like name; 2 a name that does not
	                         end in _total/_sum/_count/_bucket (rate/increase info) */
	tsdb_ref ref;         /* streamed series (pts NULL): read its window with promql__stream */
} ev_series;

typedef struct ev_matrix {
	ev_series *s;
	size_t n;
} ev_matrix;

typedef struct ev_value {
	promql_value_type type;
	double scalar;
	const char *str;
	size_t str_len;
	ev_vector vec;
	ev_matrix mat;
	int64_t range_end;  /* matrix: window is (range_end - range_ms, range_end] */
	int64_t range_ms;
	uint8_t ext;        /* matrix: 1 anchored, 2 smoothed (window extended by the lookback) */
} ev_value;

/* One selector's samples, loaded once per query. */
typedef struct ev_selcache {
	const promql_node *node; /* the vector selector node (or the info() call it serves) */
	const tsdb_matcher *m;   /* matchers to select with when not the node's own (info()) */
	size_t nm;
	bool for_range;          /* matrix selector: stale markers dropped */
	int64_t mint, maxt;      /* the time range the query needs from it */
	bool loaded;
	size_t n;
	slod_labels *ls;
	tsdb_sample **pts;
	size_t *npts;
	uint8_t *counter_name; /* per series, as ev_series.counter_name */
	bool stream;           /* instant query, argument of a range function: series selected once,
	                          samples read per series when the function needs them */
	tsdb_ref *refs;        /* stream: per series */
	/* rows mode: an instant-vector selector evaluated at every step of a range query is resolved
	 * series by series for all steps at once (one series' samples in memory, as Prometheus) */
	bool rows, rows_built, rows_consumed;
	int64_t g_start, g_end, g_step; /* rows: the grid of evaluation times */
	size_t nrows;
	slod_labels *rls;
	double **rv;           /* per row: value at each step */
	int64_t **rt;          /* per row: timestamp of the sample used at each step */
	uint8_t **rp;          /* per row: present at each step */
	size_t *hint_lo, *hint_hi; /* per series: last window bounds found (search hints) */
} ev_selcache;

typedef struct ev_annos {
	const char **full; /* "PromQL warning: msg (l:c)" */
	const char **key;  /* the same without the position */
	size_t n, cap;
} ev_annos;

/* A subquery's outer evaluation times (from the pre-pass) and its whole-range cache. */
typedef struct ev_subrange {
	const promql_node *node;
	int64_t lo, hi;     /* outer evaluation times */
	int64_t step;       /* outer step (0: unknown or @-pinned) */
	void *cache;        /* engine.c's sub_cache, built on first use */
} ev_subrange;

/* A range function over a plain selector in a range query, evaluated series by series for every
 * step at once (as Prometheus does), so that one series' samples are held at a time. */
typedef struct ev_rowcall {
	const promql_node *node;
	const promql_node *msel; /* its matrix selector argument */
	size_t mi;               /* that argument's index */
	int64_t g_start, g_end, g_step; /* the grid of evaluation times */
	bool built, consumed;    /* consumed: streamed to an aggregation instead of kept */
	size_t nsteps, nrows;
	slod_labels *ls;         /* per row */
	bool *drop;              /* per row: drop_name of the outputs */
	double **vals;           /* per row: nsteps values */
	uint8_t **present;       /* per row: nsteps flags */
} ev_rowcall;

/* Rows (ev_selcache rows or an ev_rowcall) handed one at a time to a consumer: labels, the
 * drop_name of the row's samples, and a value at each step k of the grid where present[k]. The
 * arrays are valid during the call only. fn returns 0, or -1 with the error set. */
typedef struct ev_row_sink {
	int (*fn)(void *ud, const slod_labels *ls, bool drop, const double *vals, const uint8_t *present);
	void *ud;
} ev_row_sink;

/* Evaluation times start + k * step, k < nsteps. */
typedef struct ev_grid {
	int64_t start, step;
	size_t nsteps;
} ev_grid;

/* An aggregation of rows in a range query (aggregate.c), computed for every step at once: the
 * group of each row is found once instead of at every step. val/flags are ngroups x nsteps. */
typedef struct ev_rowagg {
	const promql_node *node;
	bool failed;             /* not applicable: the node is evaluated step by step */
	int64_t g_start, g_end, g_step;
	size_t nsteps, ngroups;
	slod_labels *gls;        /* per group */
	double *val;             /* [g * nsteps + k] */
	uint8_t *flags;          /* [g * nsteps + k]: EV_ROWAGG_SEEN | EV_ROWAGG_DROP */
	int32_t *first;          /* [g * nsteps + k]: the group's first row at step k (output order) */
} ev_rowagg;

#define EV_ROWAGG_SEEN 1
#define EV_ROWAGG_DROP 2

/* A step-invariant subtree's value, computed on first use (values in qa). */
typedef struct ev_invariant {
	const promql_node *node;
	bool done;
	ev_value val;
} ev_invariant;

typedef struct ev_ctx {
	promql_engine *eng;
	tsdb *db;
	tsdb_querier *q;
	arena *qa;             /* query arena: selector caches, result */
	arena *sa;             /* step arena: reset between steps of a range query */
	int64_t start, end;    /* query range (instant: start == end) */
	int64_t interval;      /* step of subqueries written without one: the default evaluation interval */
	int64_t qstep;         /* query step (instant: 0) */
	int64_t lookback;
	bool type_unit;        /* type-and-unit-labels feature */
	size_t max_samples;
	size_t cur_samples;    /* samples held in the current step's values (approximate) */
	uint64_t samples_loaded;
	int64_t deadline;      /* monotonic ms, or 0 */
	const volatile int *cancel;
	const char *query;     /* for annotation positions; may be NULL */
	const promql_node *root; /* the evaluated tree, parentheses removed */
	ev_selcache *sel;
	size_t n_sel, cap_sel;
	/* annotations, deduplicated, strings in qa */
	ev_annos warn, info;
	/* per-node caches (compiled label_replace regexes), in qa */
	const promql_node **cache_node;
	void **cache_val;
	size_t n_cache, cap_cache;
	ev_subrange *subr;
	size_t n_subr, cap_subr;
	ev_invariant *inv;
	size_t n_inv, cap_inv;
	ev_rowcall *rows;
	size_t n_rows, cap_rows;
	ev_rowagg *raggs;
	size_t n_raggs, cap_raggs;
	bool grid_ok;          /* pre-pass: the current subtree is evaluated on a grid [lo, hi] every
	                          step, so rows may be built for it */
	tsdb_sample *sbuf;     /* streaming buffer (malloc'd, freed at the end of the query) */
	size_t sbuf_cap;
	/* histogram_quantile monotonicity fixes, merged per metric name as Prometheus merges them */
	struct ev_mono *mono;
	size_t n_mono, cap_mono;
	promql_errtype errtype;
	char err[1024];
} ev_ctx;

typedef struct ev_mono {
	const char *metric; /* in qa; "" when unknown */
	const promql_node *pos;
	int64_t min_ts, max_ts;
	double min_bucket, max_bucket, max_diff;
	int count;
} ev_mono;

/* Evaluates n at time t (ms) into *out (allocated in c->sa). Returns 0 or -1 (c->err set). */
int promql__eval(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out);
/* Sets the error (type execution unless already set) and returns -1. */
int promql__errorf(ev_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int promql__oom(ev_ctx *c);
/* Adds a warning/info annotation ("PromQL warning: <msg> (l:c)" with node's position). */
void promql__warnf(ev_ctx *c, const promql_node *pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void promql__infof(ev_ctx *c, const promql_node *pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a forced-monotonicity fix of histogram_quantile at time t (merged into one info). */
void promql__mono_info(ev_ctx *c, const promql_node *pos, const char *metric, int64_t t, double min_bucket,
		       double max_bucket, double max_diff);
/* -1 with the canceled/timeout error when the query's deadline passed or it was canceled. */
int promql__check_deadline(ev_ctx *c);
/* Whether the query's deadline passed or it was canceled, without touching c: callable from
 * worker threads. */
bool promql__expired(const ev_ctx *c);
/* Accounts n more samples held in this step; -1 with the too-many-samples error when over. */
int promql__account(ev_ctx *c, size_t n);

/* If n (parentheses removed) is evaluated from rows whose grid holds t (a rows-mode selector or
 * a series-by-series range function), sets *grid, then hands every row, in order, to sink and
 * returns 1; 0 when n is evaluated otherwise; -1 on error. Rows not built yet are computed one
 * at a time and not kept: n's rows are then consumed (its only parent is the caller). */
int promql__rows_each(ev_ctx *c, const promql_node *n, int64_t t, const ev_row_sink *sink, ev_grid *grid);
/* The call half of promql__rows_each (functions.c). */
int promql__rowcall_each(ev_ctx *c, const promql_node *n, int64_t t, const ev_row_sink *sink, ev_grid *grid);
/* rate/increase/delta of rowcall rc over its loaded selector sc, series in parallel
 * (raterows.c); rows to sink, or stored in rc. Returns 0 or -1 (c->err set). */
int promql__rate_rows(ev_ctx *c, ev_rowcall *rc, ev_selcache *sc, const ev_row_sink *sink);
/* rate()/increase() gave a value for series s of call n: the "might not be a counter" info. */
void promql__counter_info(ev_ctx *c, const promql_node *n, const ev_series *s);
int promql__eval_call(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out);
int promql__eval_aggregate(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out);
int promql__eval_binary(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out);

/* Label helpers (results in arena a). */
/* Copy of ls without the label name (no-op copy when absent). */
slod_labels promql__labels_without(arena *a, const slod_labels *ls, const char *name);
/* Copy of ls with name=value set (value "" deletes). */
slod_labels promql__labels_set(arena *a, const slod_labels *ls, const char *name, const char *value);
/* Hash of the labels selected by on/ignoring (ignoring always drops __name__). */
uint64_t promql__signature(const slod_labels *ls, bool on, const char **names, size_t n);
/* v is Prometheus's stale marker (the exact NaN bit pattern). */
static inline bool promql__is_stale(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b == TSDB_STALE_NAN_BITS;
}
/* __name__, __type__ or __unit__: the metadata labels Prometheus drops together when it drops the
 * metric name (schema.IsMetadataLabel). */
static inline bool promql__is_metadata_label(const char *n)
{
	return n[0] == '_' && n[1] == '_' &&
	       (strcmp(n, "__name__") == 0 || strcmp(n, "__type__") == 0 || strcmp(n, "__unit__") == 0);
}
/* Copy of ls (in a) without the metadata labels. */
slod_labels promql__labels_drop_metadata(arena *a, const slod_labels *ls);
/* 1 if ls has no __name__ or one ending in _total/_sum/_count/_bucket, else 2. */
uint8_t promql__counter_name(const slod_labels *ls);
double promql__interpolate(const tsdb_sample *p1, const tsdb_sample *p2, int64_t t, bool counter);
/* Index of the first sample with t > x (binary search). */
size_t promql__upper_bound(const tsdb_sample *p, size_t n, int64_t x);
/* The loaded selector registered for key by the pre-pass (NULL + error when missing). */
ev_selcache *promql__sel(ev_ctx *c, const promql_node *key);
int64_t promql__resolve_at(const ev_ctx *c, const promql_at *at);
/* info(): the @ and offset that apply to the first selector of expr (Prometheus's
 * infoSelectTimestampAndOffset); false when expr has no selector. */
bool promql__info_at_offset(const promql_node *expr, promql_at *at, int64_t *off);
/* info(): matchers selecting the info series (data-label matchers without __name__, plus the
 * effective name matchers), allocated in a. Returns 0 or -1. */
int promql__info_matchers(arena *a, const promql_node *call, tsdb_matcher **out, size_t *n);
/* info(): the effective __name__ matchers (in a); *n = 0 on OOM. */
tsdb_matcher *promql__info_name_matchers(arena *a, const promql_node *call, size_t *n);
bool promql__matcher_match(const tsdb_matcher *m, const char *v);
/* Reads the samples of a streamed series s (s->ref set, s->pts NULL) in the window of the matrix
 * value mv into c->sbuf and points *out at them. Returns the sample count (0: none) or -1. */
long promql__stream(ev_ctx *c, const ev_value *mv, const ev_series *s, ev_series *out);
/* Removes stale markers from p[0..n) in place, keeping order; returns the count left. */
size_t promql__drop_stale(tsdb_sample *p, size_t n);
/* Reads samples of ref in (lo, hi] into c->sbuf, stale markers dropped. Returns the count or -1. */
long promql__read_series(ev_ctx *c, tsdb_ref ref, int64_t lo, int64_t hi);
/* Per-node cache of one pointer (e.g. a compiled regex); NULL when absent. */
void *promql__cache_get(ev_ctx *c, const promql_node *n);
int promql__cache_put(ev_ctx *c, const promql_node *n, void *v);

/* Sorting helpers for quantiles and friends. */
double promql__quantile(double q, double *vals, size_t n); /* sorts vals */
/* Kahan summation step as Prometheus's kahansum.Inc. */
static inline double promql__kahan_inc(double inc, double sum, double *c)
{
	double t = sum + inc;
	if (t - t != 0 && t == t) /* +-Inf */
		*c = 0;
	else if ((sum < 0 ? -sum : sum) >= (inc < 0 ? -inc : inc))
		*c += (sum - t) + inc;
	else
		*c += (inc - t) + sum;
	return t;
}

#endif
