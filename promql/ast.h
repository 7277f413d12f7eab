/*
 * ast.h — the PromQL abstract syntax tree produced by promql_parse() (see promql.h).
 *
 * Layout: every node is one promql_node, a tagged union (kind selects the member of the anonymous
 * union). All nodes, strings, matcher arrays and grouping lists live in the arena of the
 * promql_expr that owns the tree; compiled regexes are freed when that arena is released. Nothing
 * in a tree is ever freed or mutated individually; the engine treats the tree as read-only.
 *
 * Invariants after a successful parse (the parser checks them, the engine may rely on them):
 *   - every node has type != PROMQL_TYPE_NONE and a byte range [pos.start, pos.end) into the query;
 *   - a vector selector has at least one matcher that does not match "" (except the
 *     label-selector argument of info(), where "{}" is allowed as in Prometheus);
 *     when a metric name was written before the braces (`foo{...}`), name != NULL and the matcher
 *     array ends with __name__="foo"; `{"foo"}` is just the matcher __name__="foo" (name NULL), as
 *     in Prometheus. The array is ready for tsdb_querier_select();
 *   - RE/NRE matchers carry a compiled, fully anchored regex in re/re_match;
 *   - a matrix selector wraps a vector selector; offset/@ of a matrix selector live in that vector
 *     selector (as in Prometheus);
 *   - binary: matching != NULL iff both operands are vector-typed (instant vectors); return_bool
 *     only with comparison operators; for and/or/unless the card is MANY_TO_MANY;
 *   - aggregate: param != NULL iff the op takes a parameter (topk, bottomk, quantile,
 *     count_values, limitk, limit_ratio);
 *   - call: n_args is within the descriptor's arity and every arg has the declared type.
 *
 * Times and durations are int64 milliseconds. Offsets may be negative.
 */
#ifndef SLOD_PROMQL_AST_H
#define SLOD_PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"

typedef enum promql_value_type {
	PROMQL_TYPE_NONE = 0,
	PROMQL_TYPE_SCALAR,
	PROMQL_TYPE_VECTOR, /* instant vector */
	PROMQL_TYPE_MATRIX, /* range vector */
	PROMQL_TYPE_STRING,
} promql_value_type;

/* "scalar", "instant vector", "range vector", "string" (Prometheus's DocumentedType wording). */
const char *promql_value_type_name(promql_value_type t);

typedef enum promql_node_kind {
	PROMQL_NODE_NUMBER,
	PROMQL_NODE_STRING,
	PROMQL_NODE_VECTOR_SELECTOR,
	PROMQL_NODE_MATRIX_SELECTOR,
	PROMQL_NODE_SUBQUERY,
	PROMQL_NODE_UNARY,
	PROMQL_NODE_BINARY,
	PROMQL_NODE_AGGREGATE,
	PROMQL_NODE_CALL,
	PROMQL_NODE_PAREN,
} promql_node_kind;

/* Byte offsets into the query text, end exclusive. */
typedef struct promql_pos_range {
	uint32_t start, end;
} promql_pos_range;

typedef enum promql_binop {
	PROMQL_OP_ADD, /* + (also unary) */
	PROMQL_OP_SUB, /* - (also unary) */
	PROMQL_OP_MUL,
	PROMQL_OP_DIV,
	PROMQL_OP_MOD,
	PROMQL_OP_POW,
	PROMQL_OP_ATAN2,
	PROMQL_OP_EQLC, /* == */
	PROMQL_OP_NEQ,  /* != */
	PROMQL_OP_LTE,  /* <= */
	PROMQL_OP_LSS,  /* <  */
	PROMQL_OP_GTE,  /* >= */
	PROMQL_OP_GTR,  /* >  */
	PROMQL_OP_AND,
	PROMQL_OP_OR,
	PROMQL_OP_UNLESS,
} promql_binop;

/* "+", "-", ..., "atan2", "==", ..., "and", "or", "unless". */
const char *promql_binop_name(promql_binop op);
bool promql_binop_is_comparison(promql_binop op);
bool promql_binop_is_set(promql_binop op); /* and, or, unless */

typedef enum promql_aggop {
	PROMQL_AGG_SUM,
	PROMQL_AGG_AVG,
	PROMQL_AGG_COUNT,
	PROMQL_AGG_MIN,
	PROMQL_AGG_MAX,
	PROMQL_AGG_GROUP,
	PROMQL_AGG_STDDEV,
	PROMQL_AGG_STDVAR,
	PROMQL_AGG_TOPK,
	PROMQL_AGG_BOTTOMK,
	PROMQL_AGG_COUNT_VALUES,
	PROMQL_AGG_QUANTILE,
	PROMQL_AGG_LIMITK,
	PROMQL_AGG_LIMIT_RATIO,
} promql_aggop;

/* The operator's PromQL keyword ("sum", "count_values", ...); a static string. */
const char *promql_aggop_name(promql_aggop op);
/* True for the aggregators that take a parameter (topk, bottomk, quantile, count_values, limitk,
 * limit_ratio). */
bool promql_aggop_has_param(promql_aggop op);

typedef enum promql_at_kind {
	PROMQL_AT_NONE = 0,
	PROMQL_AT_TIMESTAMP, /* @ <ts>: at.ts_ms */
	PROMQL_AT_START,     /* @ start() */
	PROMQL_AT_END,       /* @ end() */
} promql_at_kind;

typedef struct promql_at {
	promql_at_kind kind;
	int64_t ts_ms;
} promql_at;

typedef enum promql_card {
	PROMQL_CARD_ONE_TO_ONE,
	PROMQL_CARD_MANY_TO_ONE, /* group_left */
	PROMQL_CARD_ONE_TO_MANY, /* group_right */
	PROMQL_CARD_MANY_TO_MANY, /* and, or, unless */
} promql_card;

typedef struct promql_vector_matching {
	promql_card card;
	bool on;                     /* on(...) (true) or ignoring(...)/nothing (false) */
	const char **labels;         /* the on/ignoring list, as written */
	size_t n_labels;
	const char **include;        /* group_left/group_right extra labels */
	size_t n_include;
	/* experimental fill(v) / fill_left(v) / fill_right(v): the value a missing series on that
	 * side takes (Prometheus's --enable-feature=promql-binop-fill-modifiers) */
	bool fill_lhs_set, fill_rhs_set;
	double fill_lhs, fill_rhs;
} promql_vector_matching;

/* Function identifiers, one per entry of Prometheus 3.x's function list (stable and experimental).
 * The engine switches on promql_function.id. */
typedef enum promql_func_id {
	PROMQL_FN_ABS,
	PROMQL_FN_ABSENT,
	PROMQL_FN_ABSENT_OVER_TIME,
	PROMQL_FN_ACOS,
	PROMQL_FN_ACOSH,
	PROMQL_FN_ASIN,
	PROMQL_FN_ASINH,
	PROMQL_FN_ATAN,
	PROMQL_FN_ATANH,
	PROMQL_FN_AVG_OVER_TIME,
	PROMQL_FN_CEIL,
	PROMQL_FN_CHANGES,
	PROMQL_FN_CLAMP,
	PROMQL_FN_CLAMP_MAX,
	PROMQL_FN_CLAMP_MIN,
	PROMQL_FN_COS,
	PROMQL_FN_COSH,
	PROMQL_FN_COUNT_OVER_TIME,
	PROMQL_FN_DAYS_IN_MONTH,
	PROMQL_FN_DAY_OF_MONTH,
	PROMQL_FN_DAY_OF_WEEK,
	PROMQL_FN_DAY_OF_YEAR,
	PROMQL_FN_DEG,
	PROMQL_FN_DELTA,
	PROMQL_FN_DERIV,
	PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING,
	PROMQL_FN_EXP,
	PROMQL_FN_FIRST_OVER_TIME,
	PROMQL_FN_FLOOR,
	PROMQL_FN_HISTOGRAM_AVG,
	PROMQL_FN_HISTOGRAM_COUNT,
	PROMQL_FN_HISTOGRAM_FRACTION,
	PROMQL_FN_HISTOGRAM_QUANTILE,
	PROMQL_FN_HISTOGRAM_QUANTILES,
	PROMQL_FN_HISTOGRAM_STDDEV,
	PROMQL_FN_HISTOGRAM_STDVAR,
	PROMQL_FN_HISTOGRAM_SUM,
	PROMQL_FN_HOUR,
	PROMQL_FN_IDELTA,
	PROMQL_FN_INCREASE,
	PROMQL_FN_INFO,
	PROMQL_FN_IRATE,
	PROMQL_FN_LABEL_JOIN,
	PROMQL_FN_LABEL_REPLACE,
	PROMQL_FN_LAST_OVER_TIME,
	PROMQL_FN_LN,
	PROMQL_FN_LOG10,
	PROMQL_FN_LOG2,
	PROMQL_FN_MAD_OVER_TIME,
	PROMQL_FN_MAX_OVER_TIME,
	PROMQL_FN_MIN_OVER_TIME,
	PROMQL_FN_MINUTE,
	PROMQL_FN_MONTH,
	PROMQL_FN_PI,
	PROMQL_FN_PREDICT_LINEAR,
	PROMQL_FN_PRESENT_OVER_TIME,
	PROMQL_FN_QUANTILE_OVER_TIME,
	PROMQL_FN_RAD,
	PROMQL_FN_RATE,
	PROMQL_FN_RESETS,
	PROMQL_FN_ROUND,
	PROMQL_FN_SCALAR,
	PROMQL_FN_SGN,
	PROMQL_FN_SIN,
	PROMQL_FN_SINH,
	PROMQL_FN_SORT,
	PROMQL_FN_SORT_BY_LABEL,
	PROMQL_FN_SORT_BY_LABEL_DESC,
	PROMQL_FN_SORT_DESC,
	PROMQL_FN_SQRT,
	PROMQL_FN_START_TIMESTAMP,
	PROMQL_FN_STDDEV_OVER_TIME,
	PROMQL_FN_STDVAR_OVER_TIME,
	PROMQL_FN_SUM_OVER_TIME,
	PROMQL_FN_TAN,
	PROMQL_FN_TANH,
	PROMQL_FN_TIME,
	PROMQL_FN_TIMESTAMP,
	PROMQL_FN_TS_OF_FIRST_OVER_TIME,
	PROMQL_FN_TS_OF_LAST_OVER_TIME,
	PROMQL_FN_TS_OF_MAX_OVER_TIME,
	PROMQL_FN_TS_OF_MIN_OVER_TIME,
	PROMQL_FN_VECTOR,
	PROMQL_FN_YEAR,
	/* experimental scalar functions of the query's time range: start(), end(), step(), range()
	 * (= end - start), and min_of(a, b), max_of(a, b) on scalars */
	PROMQL_FN_END,
	PROMQL_FN_MAX_OF,
	PROMQL_FN_MIN_OF,
	PROMQL_FN_RANGE,
	PROMQL_FN_START,
	PROMQL_FN_STEP,
	PROMQL_FN__COUNT
} promql_func_id;

#define PROMQL_FN_MAX_ARGS 5

/* A function descriptor (static, immutable). Arity rules as in Prometheus, with n = n_arg_types:
 *   variadic == 0: exactly n args;
 *   variadic  > 0: between n - 1 and n - 1 + variadic args;
 *   variadic  < 0: n - 1 or more args.
 * Arguments past the declared list have the last declared type. Use promql_function_arity() and
 * promql_function_arg_type() rather than decoding this by hand. */
typedef struct promql_function {
	const char *name;
	promql_func_id id;
	promql_value_type arg_types[PROMQL_FN_MAX_ARGS];
	int n_arg_types;
	int variadic;
	promql_value_type return_type;
	bool experimental;
} promql_function;

/* Looks a function up by name (NULL if unknown). */
const promql_function *promql_function_lookup(const char *name, size_t len);
/* The descriptor for id (never NULL for id < PROMQL_FN__COUNT). */
const promql_function *promql_function_get(promql_func_id id);
/* Smallest and largest accepted arg count (*max = -1: unbounded). */
void promql_function_arity(const promql_function *f, int *min, int *max);
/* Declared type of argument i (the last declared type for trailing variadic args). */
promql_value_type promql_function_arg_type(const promql_function *f, int i);

/* Experimental duration expressions (Prometheus's --enable-feature=promql-duration-expr), used
 * for ranges, subquery steps and offsets: `foo[5m + 1m]`, `x offset (1h / 2)`, `y[step() * 2]`.
 * A tree of these is kept for printing; when it does not use step()/range() the parser also
 * folds it into the ordinary *_ms field. Otherwise that field is 0 and the engine must call
 * promql_resolve_durations() (promql.h) with the query's step and range first. */
typedef enum promql_dur_kind {
	PROMQL_DUR_NUMBER, /* value (seconds); duration: written as "5m" */
	PROMQL_DUR_STEP,   /* step() */
	PROMQL_DUR_RANGE,  /* range(): end - start of the query */
	PROMQL_DUR_MIN_OF, /* min_of(lhs, rhs) */
	PROMQL_DUR_MAX_OF, /* max_of(lhs, rhs) */
	PROMQL_DUR_UNARY,  /* op (ADD/SUB) rhs */
	PROMQL_DUR_BINARY, /* lhs op rhs, op in ADD SUB MUL DIV MOD POW */
} promql_dur_kind;

typedef struct promql_duration_expr promql_duration_expr;
struct promql_duration_expr {
	promql_dur_kind kind;
	promql_binop op;
	double value;
	bool duration;
	bool wrapped; /* written in parentheses */
	promql_duration_expr *lhs, *rhs;
	promql_pos_range pos;
	uint32_t height; /* 1 + the taller operand's height; <= the parse's max depth */
};

typedef struct promql_node promql_node;

typedef struct promql_vector_selector {
	const char *name;          /* metric name written before the braces, or NULL */
	tsdb_matcher *matchers;    /* all matchers incl. __name__=name; strings NUL-terminated */
	size_t n_matchers;
	int64_t offset_ms;         /* as written ("offset -5m" = -300000); 0 when absent */
	promql_duration_expr *offset_expr; /* offset written as a duration expression, or NULL */
	promql_at at;
	bool anchored, smoothed;   /* experimental extended range modifiers ("foo[5m] anchored") */
} promql_vector_selector;

struct promql_node {
	promql_node_kind kind;
	promql_value_type type;
	promql_pos_range pos;
	uint32_t height; /* 1 + the tallest child's height (leaves: 1); <= the parse's max depth */
	union {
		struct {
			double value;
			bool duration; /* written as a duration ("5m"): printed as one */
		} number;
		struct {
			const char *value; /* unescaped, NUL-terminated (may contain NULs: use len) */
			size_t len;
		} string;
		promql_vector_selector vs; /* PROMQL_NODE_VECTOR_SELECTOR */
		struct {
			promql_node *vs;   /* a PROMQL_NODE_VECTOR_SELECTOR node holding offset/@ */
			int64_t range_ms;  /* > 0 (0 only while range_expr awaits resolution) */
			promql_duration_expr *range_expr; /* or NULL */
		} matrix;
		struct {
			promql_node *expr;
			int64_t range_ms;  /* > 0 */
			int64_t step_ms;   /* 0 = the default evaluation interval */
			int64_t offset_ms;
			promql_at at;
			promql_duration_expr *range_expr, *step_expr, *offset_expr; /* or NULL */
		} subquery;
		struct {
			promql_binop op;   /* PROMQL_OP_ADD or PROMQL_OP_SUB */
			promql_node *expr;
		} unary;
		struct {
			promql_binop op;
			promql_node *lhs, *rhs;
			bool return_bool;
			promql_vector_matching *matching; /* NULL unless both sides are instant vectors */
		} binary;
		struct {
			promql_aggop op;
			promql_node *expr;
			promql_node *param;       /* NULL unless promql_aggop_has_param(op) */
			const char **grouping;    /* by/without labels as written */
			size_t n_grouping;
			bool without;
		} aggregate;
		struct {
			const promql_function *func;
			promql_node **args;
			size_t n_args;
		} call;
		struct {
			promql_node *expr;
		} paren;
	};
};

#endif
