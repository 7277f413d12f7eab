/*
 * internal.h — what the api module's files share: the server struct, the per-request context, the
 * route table and the reply helpers. Not a public header; only api/ sources and tests/api include it.
 *
 * A route is one handler function in its own file (api/h_<area>.c) plus one line in routes.c.
 * A handler reads its request through api_req (params, path parameters, body, headers) and answers
 * with exactly one reply helper (api__reply_json_begin/_end, api__reply_error, api__reply_text,
 * api__reply_empty). Everything it allocates for the request comes from r->arena, which is freed
 * when the request completes.
 */
#ifndef SLOD_API_INTERNAL_H
#define SLOD_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/json.h"
#include "ingest/ingest.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"
#include "util/buf.h"

struct MHD_Connection;
struct MHD_Daemon;

enum {
	API_GET = 1,
	API_POST = 2,
	API_HEAD = 4,
	API_PUT = 8,
	API_DELETE = 16,
	API_OTHER = 32,
};

/* Prometheus's error types and their HTTP codes (web/api/v1 semantics). */
typedef enum api_err_type {
	API_ERR_BAD_DATA,     /* 400 */
	API_ERR_EXECUTION,    /* 422 */
	API_ERR_CANCELED,     /* 503 */
	API_ERR_TIMEOUT,      /* 503 */
	API_ERR_INTERNAL,     /* 500 */
	API_ERR_NOT_FOUND,    /* 404 */
	API_ERR_UNAVAILABLE,  /* 503 */
} api_err_type;

typedef struct api_req api_req;
typedef void (*api_handler)(api_req *r);

#define API_MAX_PATH_PARAMS 2

/* Largest response body built in memory; past it a handler answers 500 "response too large". */
#define API_MAX_RESPONSE_BYTES ((size_t)1 << 30)

typedef struct api_route {
	unsigned methods;     /* API_GET | API_POST ... */
	const char *pattern;  /* "/api/v1/label/:name/values": ":x" matches one non-empty segment;
				 a trailing "*" matches any rest (e.g. "/ui/" + star) */
	api_handler fn;
	bool needs_backend;   /* answer 503 until the storage is ready */
} api_route;

extern const api_route api__routes[];
extern const size_t api__n_routes;

/* HTTP status codes counted per route in /metrics; the last slot counts everything else. */
#define API_N_CODES 14
extern const int api__codes[API_N_CODES];

/* Counters owned by one server instance. */
typedef struct api_metrics {
	_Atomic uint64_t *http;             /* [(n_routes + 1) * API_N_CODES]; last row: no route */
	_Atomic uint64_t *http_us;          /* [n_routes + 1]: microseconds spent, per route */
	_Atomic uint64_t rw_outcomes[8];    /* remote-write requests by ingest_outcome */
	_Atomic uint64_t import_outcomes[8];/* text imports by ingest_outcome */
	_Atomic uint64_t samples_stored;    /* committed through this server */
	_Atomic uint64_t rejected[8];       /* samples refused, by API_REJ_* reason */
	_Atomic uint64_t body_too_large;
	_Atomic uint64_t body_budget_exceeded;
	int64_t start_ms;
} api_metrics;

enum {
	API_REJ_INVALID_LABELS,
	API_REJ_LIMIT,
	API_REJ_OUT_OF_ORDER,
	API_REJ_TOO_OLD,
	API_REJ_DUPLICATE_TIMESTAMP,
	API_REJ_TOO_FAR_FUTURE,
	API_REJ_N,
};

#define API_INGEST_POOL 64
#define API_BODY_BUDGET_MIN ((size_t)256 * 1024 * 1024)

/* A query in flight (inflight.c): lives on the handler's stack while the engine runs. */
typedef struct api_inflight {
	struct api_inflight *next, *prev;
	volatile int cancel;        /* polled by the engine (promql_query_opts.cancel) */
	bool timed_out;             /* cancel was raised by the `timeout` parameter's deadline */
	int64_t deadline_ms;        /* monotonic; 0 = none */
} api_inflight;

struct api_server {
	struct MHD_Daemon *mhd;
	api_options opt;
	uint16_t port;
	atomic_bool ready;
	_Atomic int active;                /* requests between dispatch and queued answer */
	_Atomic size_t buffered;           /* bytes of request-body buffers (capacity) held now */
	size_t body_budget;                /* bound on buffered; past it bodies get 503 */
	api_backend backend;               /* valid once ready is true (release/acquire) */
	ingest_limits ingest_limits;       /* copy, set with the backend */
	pthread_mutex_t pool_lock;         /* guards pool/npool */
	ingest_ctx *pool[API_INGEST_POOL]; /* idle ingest contexts, reused across requests */
	size_t npool;
	api_metrics metrics;
	pthread_rwlock_t slo_lock;         /* readers: SLO handlers; writer: api_server_swap_slo */
	/* in-flight queries (inflight.c) */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	api_inflight *q_head;
	bool q_stop, q_shutting_down, q_started;
	pthread_t q_thread;
	struct promql_engine *engine;      /* from the backend, or owned (engine_owned) */
	bool engine_owned;
	char version[64];
	char revision[64];
};

typedef struct api_param {
	const char *name;
	const char *value;
} api_param;

#define API_MAX_REPLY_HEADERS 4

struct api_req {
	api_server *srv;
	const api_backend *be;            /* NULL until the server is ready */
	struct MHD_Connection *conn;      /* NULL in unit tests that call handlers directly */
	const api_route *route;
	size_t route_index;
	unsigned method;
	const char *path;
	const char *path_params[API_MAX_PATH_PARAMS];
	size_t n_path_params;
	arena arena;
	/* request body (bounded by max_body_bytes) */
	buf body;
	bool body_too_large;
	bool over_budget;                 /* the server-wide body budget was exhausted */
	size_t charged;                   /* body capacity counted in srv->buffered */
	/* GET query and form-encoded POST parameters, in arrival order (query first, then body) */
	api_param *params;
	size_t n_params, cap_params;
	bool params_oom;                  /* a query parameter could not be stored */
	const char *nul_param;            /* name of the first parameter holding a NUL byte (%00), or NULL */
	bool uri_cut;                     /* too many URL parameters: on_uri dropped them (answer 414) */
	/* response */
	int status;
	const char *content_type;
	/* extra response headers (names static, values copied; api__reply_header) */
	const char *hdr_name[API_MAX_REPLY_HEADERS];
	char hdr_value[API_MAX_REPLY_HEADERS][24];
	size_t n_hdr;
	buf out;
	bool replied;
	int64_t t0_us;
};

/* ---- request helpers (server.c, params.c) ---- */

/* Header value (case-insensitive name) or NULL. */
const char *api__header(api_req *r, const char *name);
/* First value of a parameter, or NULL. */
const char *api__param(api_req *r, const char *name);
/* All values of a parameter in order; *out is arena memory. Returns the count. */
size_t api__param_all(api_req *r, const char *name, const char ***out);
/* Adds one decoded parameter (strings copied into the arena). 0 or -1 (out of memory). A name or
 * value holding a NUL byte is stored (cut at the NUL) and recorded in r->nul_param. */
int api__param_add(api_req *r, const char *name, size_t nlen, const char *value, size_t vlen);
/* Parses application/x-www-form-urlencoded text (a=b&c=%20d+e) and adds each pair. Returns 0 or -1
 * when a %-escape is malformed or memory runs out. */
int api__form_parse(api_req *r, const char *s, size_t n);
/* Decodes %XX and '+' of s[0..n) into out (at least n+1 bytes); returns the length or -1. */
long api__url_decode(const char *s, size_t n, char *out, bool plus_is_space);
/* Matches path against a route pattern (":x" = one non-empty segment, at most
 * API_MAX_PATH_PARAMS; a trailing "*" = any rest). With params NULL it only tests the match; else
 * each ":x" segment is copied into a (NUL-terminated) and stored in params, *nparams set. Returns
 * true on a match; false on no match or when a copy cannot be allocated. */
bool api__route_match(const char *pattern, const char *path, arena *a, const char **params, size_t *nparams);
/* Splits "HOST:PORT" / "[v6]:PORT" / ":PORT" into host (empty = any) and port. 0 or -1. */
int api__split_hostport(const char *addr, char *host, size_t hostcap, uint16_t *port);
/* Parses a time parameter (unix seconds or RFC3339) or returns def when absent. 0, or -1 after
 * replying 400 with Prometheus's text: invalid parameter "start": Invalid time value for 'start':
 * cannot parse "x" to a valid timestamp. */
int api__param_time(api_req *r, const char *name, int64_t def, int64_t *out);

/* ---- in-flight queries (inflight.c) ---- */

/* Starts the watchdog thread. 0 or -1. */
int api__inflight_init(api_server *s);
/* Cancels every registered query and every one registered from now on. */
void api__inflight_shutdown(api_server *s);
/* Stops the watchdog (no query may be registered any more). */
void api__inflight_deinit(api_server *s);
/* Registers n (caller storage, must stay valid until remove) with a deadline timeout_ms from now
 * (0 = none); n->cancel is raised when it passes or on shutdown. */
void api__inflight_add(api_server *s, api_inflight *n, int64_t timeout_ms);
void api__inflight_remove(api_server *s, api_inflight *n);

/* ---- metadata selection (select.c) ---- */

/* Prometheus's default start/end for metadata queries (web/api/v1 minTime/maxTime), in ms. */
#define API_MIN_TIME_MS ((INT64_MIN / 1000 + 62135596801LL) * 1000)
#define API_MAX_TIME_MS ((INT64_MAX / 1000 - 62135596801LL) * 1000 + 999)

typedef struct api_match_set {
	tsdb_matcher *m;  /* arena memory */
	size_t n;
} api_match_set;

/* True if the matcher accepts the empty string (i.e. also matches series without the label). */
bool api__matcher_matches_empty(const tsdb_matcher *m);
/* Parses every match[] parameter. With none: 400 "no match[] parameter provided" when required,
 * else 0 with *n = 0. A set whose matchers all match "" is refused like Prometheus does. Returns 0,
 * or -1 after replying. */
int api__parse_match_sets(api_req *r, bool required, api_match_set **out, size_t *n);
/* start/end parameters with Prometheus's defaults. 0, or -1 after replying 400. */
int api__parse_range(api_req *r, int64_t *start, int64_t *end);
/* limit parameter: absent or 0 = no limit. 0, or -1 after replying 400. */
int api__parse_limit(api_req *r, size_t *limit);
/* Union of the series selected by each set, sorted by labels, without duplicates; *out lives in
 * the querier or the request arena. Returns 0 or a negative tsdb code. */
int api__select_union(api_req *r, tsdb_querier *q, const api_match_set *sets, size_t nsets, tsdb_series **out,
		      size_t *n);
/* Opens a querier over [mint, maxt] and selects the union of sets in it (api__select_union).
 * Returns the querier (the caller closes it), or NULL after replying 500 (cannot open) or 422
 * (selection failed). */
tsdb_querier *api__select_open(api_req *r, const api_match_set *sets, size_t nsets, int64_t mint, int64_t maxt,
			       tsdb_series **out, size_t *n);
/* Sorted, de-duplicated union of string arrays (pointers are kept, not copied). 0 or -1 (OOM). */
int api__strings_union(api_req *r, const char ***parts, const size_t *counts, size_t nparts, const char ***out,
		       size_t *n);

/* ---- replies (reply.c) ---- */

/* Starts {"status":"success","data": and returns the writer positioned for the data value. */
api_json *api__reply_json_begin(api_req *r, api_json *j);
/* Closes the envelope, with "warnings":[...] when nwarn > 0. */
void api__reply_json_end(api_req *r, api_json *j, const char *const *warnings, size_t nwarn);
/* {"status":"error","errorType":"...","error":"..."} with the type's HTTP code. */
void api__reply_error(api_req *r, api_err_type type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A text/plain one-line body (newline appended). */
void api__reply_text(api_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A body of the given content type (copied). */
void api__reply_raw(api_req *r, int status, const char *content_type, const char *body, size_t n);
/* No body (204 etc). */
void api__reply_empty(api_req *r, int status);
/* Adds a response header (name: a static string; value: copied, at most 23 bytes) to whatever reply
 * is sent; at most API_MAX_REPLY_HEADERS, later ones are dropped. */
void api__reply_header(api_req *r, const char *name, const char *value);
int api__err_status(api_err_type t);
const char *api__err_name(api_err_type t);

/* Runs the routing and handler for a fully read request (server.c); used by the MHD glue. */
void api__dispatch(api_req *r);
/* Index of the code slot for status in api__codes. */
size_t api__code_slot(int status);

/* Appends the ingest-related /metrics lines (remote-write outcomes; h_write.c). */
void api__metrics_ingest(api_req *r, buf *b);

/* ---- handlers: one per route, each in its own file ---- */
void api__h_healthy(api_req *r);          /* h_health.c */
void api__h_ready(api_req *r);            /* h_health.c */
void api__h_buildinfo(api_req *r);        /* h_status.c */
void api__h_status_tsdb(api_req *r);      /* h_status.c */
void api__h_metrics(api_req *r);          /* h_metrics.c */
void api__h_write(api_req *r);            /* h_write.c */
void api__h_import_text(api_req *r);      /* h_write.c */
void api__h_series(api_req *r);           /* h_series.c */
void api__h_labels(api_req *r);           /* h_series.c */
void api__h_label_values(api_req *r);     /* h_series.c */
void api__h_export(api_req *r);           /* h_export.c */
void api__h_ui(api_req *r);               /* h_ui.c: the embedded web page */
void api__h_query(api_req *r);            /* h_query.c */
void api__h_query_range(api_req *r);      /* h_query.c */
void api__h_metadata(api_req *r);         /* h_compat.c */
void api__h_format_query(api_req *r);
void api__h_parse_query(api_req *r);
void api__h_query_exemplars(api_req *r);  /* h_compat.c */
void api__h_rules(api_req *r);            /* h_rules.c */
void api__h_alerts(api_req *r);           /* h_rules.c */
void api__h_slos(api_req *r);             /* h_slos.c */
void api__h_slo(api_req *r);              /* h_slos.c */
void api__h_slo_history(api_req *r);      /* h_slos.c */
void api__h_notifications(api_req *r);    /* h_slos.c */
void api__h_reload(api_req *r);           /* h_health.c */
void api__h_federate(api_req *r);         /* h_federate.c */

#endif
