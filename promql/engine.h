/*
 * engine.h — the PromQL evaluator (the engine half of the promql module; parsing is in promql.h).
 *
 * An engine holds only immutable options; it is safe to share between threads and queries. A query
 * (instant or range) reads a tsdb through one querier, evaluates with Prometheus 3.x semantics
 * (lookback delta, left-open range windows, staleness, delayed __name__ removal, subquery step
 * alignment, extrapolated rate, vector matching, ...) and returns an owned promql_result that holds
 * everything (series, labels, strings, messages) in one arena, released by promql_result_free().
 *
 * Errors are not return codes of the query functions: a query always returns a result (NULL only
 * when memory for the result itself cannot be obtained); result->err_type says whether it failed
 * and result->err holds Prometheus's message. Error types mirror the HTTP API's errorType values:
 * bad_data (parse errors, invalid range query), execution (evaluation errors, too many samples),
 * timeout, canceled.
 *
 * Costs: a range function over a plain selector (rate(x[5m]), ...) reads its series one at a
 * time, as Prometheus does: in an instant query each series' window is read and dropped; in a
 * range query each series' samples for the whole query are read once and every step's window
 * slides over them, the outputs kept as rows; an instant-vector selector of a range query is
 * resolved the same way (one value per step and series). Selectors inside subqueries are read
 * once per query for their whole time range and decoded once; windows slide over the arrays. A subquery whose
 * windows overlap from step to step is evaluated once over the whole range, and step-invariant
 * subtrees (@) once per query. opts.max_samples bounds one series' window (streamed selectors),
 * the samples loaded for the other selectors, a step's values and a range function's outputs.
 */
#ifndef SLOD_PROMQL_ENGINE_H
#define SLOD_PROMQL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "tsdb/tsdb.h"
#include "util/clock.h"
#include "util/labels.h"
#include "util/log.h"

#define PROMQL_DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define PROMQL_DEFAULT_MAX_SAMPLES 50000000
#define PROMQL_DEFAULT_TIMEOUT_MS (2 * 60 * 1000)
#define PROMQL_DEFAULT_EVAL_INTERVAL_MS (60 * 1000)
#define PROMQL_MAX_POINTS_PER_SERIES 11000

typedef struct promql_engine_opts {
	int64_t lookback_delta_ms;        /* 0: PROMQL_DEFAULT_LOOKBACK_MS */
	size_t max_samples;               /* 0: PROMQL_DEFAULT_MAX_SAMPLES */
	int64_t timeout_ms;               /* 0: PROMQL_DEFAULT_TIMEOUT_MS; <0: no timeout */
	int64_t default_eval_interval_ms; /* subquery step when none is written, in instant and range
	                                     queries alike (Prometheus's global evaluation_interval); 0: 1m */
	slod_clock clock;                 /* measures the timeout; now_ms == NULL: monotonic clock */
	bool no_experimental_functions;   /* reject experimental functions at parse time */
	bool enable_duration_expressions; /* parse `foo[step()*2]` etc. (promql-duration-expr) */
	bool enable_extended_range_selectors; /* `foo[5m] anchored`, `smoothed` (experimental) */
	bool enable_type_and_unit_labels; /* rate()/increase() check __type__ instead of the name suffix */
	slod_logger logger;
} promql_engine_opts;

typedef struct promql_engine promql_engine;

/* Fills defaults (all the zero values above). */
void promql_engine_opts_default(promql_engine_opts *o);
/* Creates an engine; opts may be NULL (defaults). Returns NULL on OOM. */
promql_engine *promql_engine_new(const promql_engine_opts *opts);
void promql_engine_free(promql_engine *e);

typedef enum promql_result_type {
	PROMQL_RESULT_NONE = 0, /* failed query */
	PROMQL_RESULT_SCALAR,
	PROMQL_RESULT_VECTOR,
	PROMQL_RESULT_MATRIX,
	PROMQL_RESULT_STRING,
} promql_result_type;

typedef enum promql_errtype {
	PROMQL_ERRTYPE_NONE = 0,
	PROMQL_ERRTYPE_BAD_DATA,         /* "bad_data": parse error, invalid query parameters */
	PROMQL_ERRTYPE_EXECUTION,        /* "execution": evaluation error */
	PROMQL_ERRTYPE_TIMEOUT,          /* "timeout" */
	PROMQL_ERRTYPE_CANCELED,         /* "canceled" */
	PROMQL_ERRTYPE_TOO_MANY_SAMPLES, /* reported as "execution" by the HTTP API */
	PROMQL_ERRTYPE_INTERNAL,         /* out of memory, storage failure */
} promql_errtype;

/* "bad_data", "execution", "timeout", "canceled", "execution", "internal". */
const char *promql_errtype_name(promql_errtype t);

typedef struct promql_point {
	int64_t t;
	double v;
} promql_point;

typedef struct promql_series {
	slod_labels labels;   /* canonical; strings live in the result arena */
	promql_point *points; /* vector result: exactly one point (t = evaluation time) */
	size_t n_points;
} promql_series;

typedef struct promql_result_internal promql_result_internal;

typedef struct promql_result {
	promql_result_type type;
	promql_errtype err_type;   /* PROMQL_ERRTYPE_NONE on success */
	const char *err;           /* error message (Prometheus's wording) or NULL */
	double scalar;             /* PROMQL_RESULT_SCALAR */
	int64_t t;                 /* evaluation time of an instant query */
	const char *string;        /* PROMQL_RESULT_STRING (may contain NULs: string_len) */
	size_t string_len;
	promql_series *series;     /* VECTOR (in evaluation order) or MATRIX (sorted by labels) */
	size_t n_series;
	const char **warnings;     /* "PromQL warning: ... (1:5)" as Prometheus prints annotations */
	size_t n_warnings;
	const char **infos;        /* "PromQL info: ..." */
	size_t n_infos;
	uint64_t samples_loaded;   /* statistics: samples read from storage */
	promql_result_internal *priv;
} promql_result;

/* Per-query options; NULL means all defaults. */
typedef struct promql_query_opts {
	int64_t lookback_delta_ms;     /* 0: the engine's */
	int64_t timeout_ms;            /* > 0: the query's timeout if shorter than the engine's */
	const volatile int *cancel;    /* if not NULL, a non-zero value cancels the query */
} promql_query_opts;

/* Parses q and evaluates it at t (ms). Never NULL unless out of memory. */
promql_result *promql_query_instant(promql_engine *e, tsdb *db, const char *q, int64_t t,
				    const promql_query_opts *qo);
/* Parses q and evaluates it at start, start+step, ..., <= end. The expression must be a scalar or
 * an instant vector; the result is a matrix sorted by labels (at most
 * PROMQL_MAX_POINTS_PER_SERIES steps, else a bad_data error as Prometheus's API returns). */
promql_result *promql_query_range(promql_engine *e, tsdb *db, const char *q, int64_t start, int64_t end,
				  int64_t step, const promql_query_opts *qo);
/* Evaluates an already-parsed tree (borrowed; must outlive the call). step == 0 means an instant
 * query at start (end is ignored); otherwise a range query as above. query_text, if not NULL, is
 * the text the node positions refer to (for annotation positions). */
promql_result *promql_eval(promql_engine *e, tsdb *db, const promql_node *root, const char *query_text,
			   int64_t start, int64_t end, int64_t step, const promql_query_opts *qo);
/* Frees the result and everything it references. NULL is a no-op. */
void promql_result_free(promql_result *r);

#endif
